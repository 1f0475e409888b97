//! The complaint page's sections (`/kotak/{register_no}`), each rendered from one [`Case`]:
//! what `complaint_page` read for this officer.

use super::*;
use crate::register::outbox::OutboxStatus;
use crate::web::words;

/// Everything one officer's complaint page shows, read once.
pub(super) struct Case<'a> {
    pub st: &'a AppState,
    pub s: &'a WebSession,
    pub lang: Lang,
    pub now: i64,
    pub c: crate::register::Complaint,
    pub file: crate::register::CaseFile,
    pub officers: Vec<crate::register::officers::OfficerName>,
    pub units: Vec<String>,
    pub assignee_username: Option<String>,
    pub documents: Vec<crate::register::documents::Document>,
    pub invitation: Option<crate::register::letters::StoredLetter>,
    pub actions: Vec<crate::workflow::Action>,
    pub answer_letter: Option<crate::register::letters::StoredLetter>,
    pub panel: crate::register::workspace::Panel,
    pub notes: Vec<crate::register::workspace::Note>,
    pub canned_list: Vec<crate::register::workspace::CannedReply>,
    pub canned: Option<i64>,
    pub current_approvals: Vec<crate::register::clock::ApprovalRow>,
    pub reply_text: String,
    pub view: crate::register::identity::IdentityView,
    pub sees: bool,
    pub may_assign: bool,
    pub handover_waiting: bool,
    pub targets: Vec<(aduan_channel::ChannelKind, aduan_channel::Address)>,
    pub served: crate::presence::Served,
}

impl Case<'_> {
    /// The heading, a notice, status and clocks, the assignee and taking/assigning.
    pub(super) fn head(&self, notice: Option<&str>) -> Markup {
        let Case {
            st,
            s,
            c,
            officers,
            assignee_username,
            view,
            ..
        } = self;
        let lang = self.lang;
        let now = self.now;
        let may_assign = self.may_assign;
        let me = &s.officer;
        let shown = |t: &str| -> String { view.text(t).into_owned() };
        html! {
            h1 { (c.register_no) " — " (shown(&c.subject)) }
            @if let Some(n) = notice {
                p role="status" { (n) " "
                    a href=(format!("/kotak/berikutnya?dari={}", c.register_no)) { (lang.pick("Pengaduan berikutnya di antrean saya →", "Next complaint in my queue →")) } }
            }
            p { "Status: " strong { (words::status(c.status, lang)) }
                " · " (lang.pick("Batas waktu", "Due")) ": " (c.due_date)
                @if c.closed_at.is_none() && c.answered_at.is_none() && c.status != crate::workflow::Status::Incomplete {
                    @let (t, late) = words::time_left(&st.core.calendar, c.due_at, now, lang);
                    " (" span class=[late.then_some("late")] { (t) } ")"
                }
                @if let Some(d) = c.step_due_at.filter(|_| c.closed_at.is_none()) {
                    " · " (lang.pick("Batas langkah ini", "This step due")) ": " (fmt_time(st, d))
                }
                @if let Some(y) = c.calendar_gap.filter(|_| c.closed_at.is_none()) {
                    br; span.late { (lang.pick("Batas waktu ini dihitung tanpa daftar hari libur", "This due date was counted without a holiday list for"))
                        " " (y) " " (lang.pick("(hanya akhir pekan); akan dihitung ulang setelah daftarnya dipasang.", "(weekends only); it is counted again once the list is loaded.")) }
                }
                " · " (lang.pick("Petugas", "Assignee")) ": "
                @match officers.iter().find(|o| Some(o.username.as_str()) == assignee_username.as_deref()) {
                    Some(o) => strong { (o.display_name) },
                    None => (lang.pick("belum ada", "none yet")),
                }
            }
            @if !c.status.is_final() {
                div.assign {
                    @if assignee_username.as_deref() != Some(me.username.as_str()) {
                        form.inline method="post" action=(format!("/kotak/{}/ambil", c.register_no)) {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (lang.pick("Ambil", "Take it")) }
                        }
                        " "
                    }
                    @if may_assign {
                        form.inline method="post" action=(format!("/kotak/{}/tugaskan", c.register_no)) {
                            input type="hidden" name="csrf" value=(s.csrf);
                            select name="to" aria-label=(lang.pick("Tugaskan ke", "Assign to")) {
                                @for o in officers.iter() { option value=(o.username) selected[Some(o.username.as_str()) == assignee_username.as_deref()] { (o.display_name) } }
                            }
                            " "
                            button.plain type="submit" { (lang.pick("Tugaskan", "Assign")) }
                        }
                    }
                }
            }
        }
    }

    /// The conversation: every message with its delivery state, errors and files.
    pub(super) fn thread(&self) -> Markup {
        let Case {
            st,
            s,
            c,
            file,
            view,
            served,
            ..
        } = self;
        let lang = self.lang;
        let me = &s.officer;
        let shown = |t: &str| -> String { view.text(t).into_owned() };
        html! {
            h2 { (lang.pick("Percakapan", "Thread")) }
            @for m in &file.messages {
                article.msg {
                    p { strong { (if m.is_inbound() { lang.pick("Dari pengadu", "From the complainant") } else { lang.pick("Dari kantor", "From the office") }) }
                        " · " (words::channel_name(&m.channel, lang))
                        " · " (fmt_time(st, m.created_at))
                        @if let Some(o) = file.delivery_of(m.id) {
                            " · " span.delivery { (words::outbox(o.status, lang)) @if let Some(d) = &o.delivery { " / " (d) } }
                            @if o.status == OutboxStatus::Queued {
                                @if let Some(k) = m.channel.parse::<aduan_channel::ChannelKind>().ok().filter(|k| !served.is_live(*k)) {
                                    " · " span.waiting { (lang.pick("menunggu kanal", "waiting for channel")) " " (words::channel(k, lang)) }
                                    @if crate::web::OUTBOX_ROLES.contains(&me.role) {
                                        @for (path, label) in [("alihkan", lang.pick("Tampilkan di halaman lacak", "Show on the tracking page")), ("batal", lang.pick("Batalkan", "Withdraw"))] {
                                            " "
                                            form.inline method="post" action=(format!("/kotak/keluar/{}/{path}", o.id)) {
                                                input type="hidden" name="csrf" value=(s.csrf);
                                                input type="hidden" name="register_no" value=(c.register_no);
                                                button.plain type="submit" { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                            @if o.status == OutboxStatus::Failed {
                                " "
                                form.inline method="post" action=(format!("/kotak/keluar/{}/ulang", o.id)) {
                                    input type="hidden" name="csrf" value=(s.csrf);
                                    input type="hidden" name="register_no" value=(c.register_no);
                                    button type="submit" { (lang.pick("Kirim ulang", "Retry")) }
                                }
                            }
                        }
                    }
                    // The provider's or the parser's own words are technical (English): the admin
                    // sees them; every officer sees what happened.
                    @if let Some(e) = file.delivery_of(m.id).and_then(|o| o.last_error.as_ref()) {
                        p.err { (lang.pick("Pengiriman terakhir gagal; kanal akan mencoba lagi atau petugas dapat mengirim ulang.", "The last send failed; the channel retries, or an officer can send it again."))
                            @if me.role == crate::workflow::Role::Admin { br; small { code { (e) } } } }
                    }
                    @if let Some(e) = &m.parse_error {
                        p.err { (lang.pick("Pesan ini tidak terbaca sepenuhnya; sumber aslinya disimpan untuk diperiksa.", "This message could not be read entirely; its raw source is kept for checking."))
                            @if me.role == crate::workflow::Role::Admin { br; small { code { (e) } } } }
                    }
                    pre { (shown(&m.body)) }
                    @for a in file.attachments_of(m.id) {
                        @let url = format!("/kotak/lampiran/{}", a.id);
                        @match crate::web::api::previewable(&a.content_type) {
                            Some(ct) if ct.starts_with("image/") => {
                                figure.att {
                                    a href=(format!("{url}?tampil=1")) target="_blank" rel="noopener" {
                                        img.thumb src=(format!("{url}?tampil=1")) alt=(shown(&a.filename)) loading="lazy";
                                    }
                                    figcaption { (shown(&a.filename)) " · " (words::size(a.size, lang)) " · " a href=(url) { (lang.pick("unduh", "download")) } }
                                }
                            }
                            Some(_) => {
                                p.att { "📄 " a href=(format!("{url}?tampil=1")) target="_blank" rel="noopener" { (shown(&a.filename)) }
                                    " (PDF, " (words::size(a.size, lang)) ") · " a href=(url) { (lang.pick("unduh", "download")) } }
                            }
                            None => {
                                p.att { "📎 " a href=(url) { (shown(&a.filename)) } " (" (words::size(a.size, lang)) ")" }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The draft answer and the approvals it has.
    pub(super) fn draft(&self) -> Markup {
        let Case {
            st,
            c,
            current_approvals,
            view,
            ..
        } = self;
        let lang = self.lang;
        let shown = |t: &str| -> String { view.text(t).into_owned() };
        html! {
            @if let Some(d) = &c.draft_answer {
                h2 { (lang.pick("Konsep jawaban", "Draft answer")) }
                pre.draft { (shown(d)) }
                @if !current_approvals.is_empty() {
                    ul.approvals {
                        @for a in current_approvals.iter() {
                            li { (if a.kind == "sign" { lang.pick("Ditandatangani", "Signed") } else { lang.pick("Diparaf", "Initialled") })
                                " " (lang.pick("oleh", "by")) " " (a.officer) " (" (words::role(a.role, lang)) "), " (fmt_time(st, a.at)) }
                        }
                    }
                }
            }
        }
    }

    /// The internal notes and the form for a new one.
    pub(super) fn notes(&self) -> Markup {
        let Case {
            st,
            s,
            c,
            notes,
            view,
            ..
        } = self;
        let lang = self.lang;
        let shown = |t: &str| -> String { view.text(t).into_owned() };
        html! {
            h2 { (lang.pick("Catatan internal", "Internal notes")) }
            p { small { (lang.pick("Hanya untuk petugas: tidak pernah dikirim ke pengadu dan tidak tampil di halaman lacak.", "For officers only: never sent to the complainant, never on the tracking page.")) } }
            @for n in notes.iter() {
                div.note { p { strong { (n.officer) } " · " (fmt_time(st, n.created_at)) } pre { (shown(&n.body)) } }
            }
            form method="post" action=(format!("/kotak/{}/catatan", c.register_no)) {
                input type="hidden" name="csrf" value=(s.csrf);
                textarea name="body" rows="3" required maxlength="10000" aria-label=(lang.pick("Catatan internal baru", "New internal note")) {}
                br;
                button.plain type="submit" { (lang.pick("Simpan catatan", "Save note")) }
            }
        }
    }

    /// The procedure's actions this officer may take now.
    pub(super) fn actions(&self) -> Markup {
        let Case {
            s,
            c,
            officers,
            units,
            actions,
            ..
        } = self;
        let lang = self.lang;
        let sees = self.sees;
        html! {
            @if !actions.is_empty() {
                h2 { (lang.pick("Tindakan", "Actions")) }
                @for a in actions.iter().filter(|a| **a == crate::workflow::Action::RecordFieldReview) {
                    form method="post" enctype="multipart/form-data" action=(format!("/kotak/{}/bap?csrf={}", c.register_no, s.csrf)) {
                        input type="hidden" name="csrf" value=(s.csrf);
                        label { (lang.pick("Hasil peninjauan", "Review findings")) br; textarea name="note" rows="3" required {} } br;
                        label { (lang.pick("Berita acara (BAP)", "Report (BAP)")) " " input type="file" name="bap" required; }
                        " "
                        button type="submit" { (words::action(*a, lang)) }
                    }
                }
                @for a in actions.iter().filter(|a| **a != crate::workflow::Action::RecordFieldReview) {
                    form method="post" action=(format!("/kotak/{}/aksi", c.register_no)) {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="action" value=(a.as_str());
                        @if matches!(*a, crate::workflow::Action::DraftAnswer | crate::workflow::Action::Approve) {
                            input type="hidden" name="draft_version" value=(c.draft_version);
                        }
                        @if *a == crate::workflow::Action::DraftAnswer {
                            label { (lang.pick("Konsep jawaban", "Draft answer")) br;
                                // A reader who may not see the complainant starts a new draft: the
                                // redacted one would replace the real text.
                                textarea name="note" rows="10" required { @if sees { (c.draft_answer.as_deref().unwrap_or_default()) } } }
                            br;
                        } @else if *a == crate::workflow::Action::Approve && sees {
                            label { (lang.pick("Konsep yang disetujui (boleh diperbaiki)", "The draft approved (you may correct it)")) br;
                                textarea name="draft" rows="10" { (c.draft_answer.as_deref().unwrap_or_default()) } }
                            br;
                        } @else if a.needs_note() {
                            label { (words::note_label(*a, lang)) br;
                                textarea name="note" rows="3" required {} }
                            br;
                        }
                        @if *a == crate::workflow::Action::Dismiss {
                            select name="reason" aria-label=(lang.pick("Alasan", "Reason")) {
                                @for r in [crate::workflow::DismissReason::Spam, crate::workflow::DismissReason::Duplicate, crate::workflow::DismissReason::Robot] {
                                    option value=(r.as_str()) { (words::reason(r, lang)) }
                                }
                            }
                            " "
                            input name="into" placeholder=(lang.pick("Gabung ke nomor (duplikat)", "Merge into (duplicate)")) aria-label=(lang.pick("Gabung ke nomor register (duplikat)", "Merge into register number (duplicate)")) size="18";
                            " "
                        }
                        @if *a == crate::workflow::Action::Dispose && !units.is_empty() {
                            select name="unit" aria-label=(lang.pick("Unit", "Unit")) {
                                option value="" { (lang.pick("(tanpa unit)", "(no unit)")) }
                                @for u in units.iter() { option value=(u) { (u) } }
                            }
                            " "
                        }
                        @if *a == crate::workflow::Action::Dispose {
                            select name="assignee" aria-label=(lang.pick("Petugas", "Officer")) {
                                @if !units.is_empty() { option value="" { (lang.pick("(tanpa petugas)", "(no officer)")) } }
                                @for o in officers.iter() {
                                    option value=(o.username) { (o.display_name) }
                                }
                            }
                            " "
                        }
                        button type="submit" name="do" value=(a.as_str()) { (words::action(*a, lang)) }
                    }
                }
            }
        }
    }

    /// The disposition, a merge, the documents, the answer letter and its hand-over.
    pub(super) fn records(&self) -> Markup {
        let Case {
            s,
            c,
            documents,
            invitation,
            answer_letter,
            view,
            ..
        } = self;
        let lang = self.lang;
        let sees = self.sees;
        let handover_waiting = self.handover_waiting;
        let me = &s.officer;
        let shown = |t: &str| -> String { view.text(t).into_owned() };
        html! {
            @if c.unit.is_some() || c.instruction.is_some() {
                p { (lang.pick("Disposisi", "Disposition")) ": "
                    @if let Some(u) = &c.unit { strong { (u) } " — " }
                    (shown(c.instruction.as_deref().unwrap_or_default())) }
            }
            @if let Some(m) = &c.merged_into {
                p { (lang.pick("Digabung ke", "Merged into")) " " a href=(format!("/kotak/{m}")) { (m) } }
            }
            @if !documents.is_empty() || invitation.is_some() {
                h2 { (lang.pick("Dokumen", "Documents")) }
                @if let Some(l) = invitation.as_ref().filter(|_| sees) {
                    p { a href=(format!("/kotak/{}/surat/invitation", c.register_no)) { (lang.pick("Surat undangan", "Invitation letter")) " " (l.number) " (PDF)" } }
                }
                @for d in documents.iter() {
                    p { a href=(format!("/kotak/dokumen/{}", d.id)) { (shown(&d.filename)) } " (" (d.kind.to_uppercase()) ", " (d.size) " B)" }
                }
            }
            @if answer_letter.is_some() || handover_waiting || c.handed_over_to.is_some() {
                h2 { (lang.pick("Surat jawaban", "Answer letter")) }
                @if let Some(l) = &answer_letter {
                    p { @if sees { a href=(format!("/kotak/{}/surat/answer", c.register_no)) { (l.number) " (PDF)" } }
                        @else { (l.number) " " em { (lang.pick("(menyebut pengadu yang dirahasiakan)", "(names the confidential complainant)")) } }
                        " · " (lang.pick("ditandatangani", "signed by")) " " (l.signer) }
                }
                @if let Some(r) = &c.handed_over_to {
                    p { (lang.pick("Diserahkan di loket kepada", "Handed over at the counter to")) " " strong { (view.name(r)) } }
                }
                @if handover_waiting && crate::workflow::HANDOVER_ROLES.contains(&me.role) {
                    form method="post" action=(format!("/kotak/{}/serah", c.register_no)) {
                        input type="hidden" name="csrf" value=(s.csrf);
                        label { (lang.pick("Diterima oleh", "Received by")) " "
                            input name="recipient" required maxlength="120"; }
                        " "
                        button type="submit" { (lang.pick("Catat penyerahan", "Record hand-over")) }
                    }
                }
            }
        }
    }

    /// The reply box, naming where the reply goes.
    pub(super) fn reply(&self) -> Markup {
        let Case {
            s,
            c,
            canned_list,
            reply_text,
            view,
            targets,
            ..
        } = self;
        let lang = self.lang;
        let canned = self.canned;
        let shown = |t: &str| -> String { view.text(t).into_owned() };
        html! {
            // A reply is possible only on an open complaint, by a role that may write to the
            // complainant.
            @if !c.status.is_final() && crate::workflow::REPLY_ROLES.contains(&s.officer.role) {
                h2 id="balas" { (lang.pick("Balas", "Reply")) }
                p.targets { (lang.pick("Balasan dikirim melalui", "The reply goes through"))
                    @for (i, (kind, to)) in targets.iter().enumerate() {
                        (if i == 0 { " " } else { lang.pick(" dan ", " and ") })
                        strong { (words::channel(*kind, lang)) } " → "
                        @match kind {
                            aduan_channel::ChannelKind::Web => (lang.pick("halaman lacak", "the tracking page")),
                            aduan_channel::ChannelKind::Counter => (lang.pick("diserahkan di loket", "handed over at the counter")),
                            _ => (shown(&to.to_string())),
                        }
                    }
                }
                (canned_picker(lang, &c.register_no, canned_list, canned))
                form method="post" action=(format!("/kotak/{}/balas", c.register_no)) {
                    input type="hidden" name="csrf" value=(s.csrf);
                    textarea name="text" rows="6" required aria-label=(lang.pick("Isi balasan", "Reply text")) { (reply_text) }
                    br;
                    button type="submit" { (lang.pick("Kirim balasan", "Send reply")) }
                }
            }
        }
    }

    /// The complainant panel, through this officer's view.
    pub(super) fn complainant(&self) -> Markup {
        let Case { st, c, panel, .. } = self;
        let lang = self.lang;
        let sees = self.sees;
        html! {
            aside aria-label=(lang.pick("Pengadu", "Complainant")) {
                h2 { (lang.pick("Pengadu", "Complainant")) }
                @if sees {
                    p { strong { @if c.complainant_name.trim().is_empty() { (lang.pick("(tanpa nama)", "(no name)")) } @else { (c.complainant_name) } } }
                    @if c.confidential { p { em { (lang.pick("Identitas dirahasiakan: hanya loket dan pimpinan yang melihatnya.", "Identity confidential: only the front office and the heads see it.")) } } }
                } @else {
                    p { em { (lang.pick("Identitas dirahasiakan atas permintaan pengadu.", "Identity kept confidential at the complainant's request.")) } }
                }
                dl {
                    dt { (lang.pick("Kanal", "Channel")) }
                    dd { (words::channel(c.channel, lang)) @if let Some(m) = c.medium { " — " (words::medium(m, lang)) } }
                    @if sees {
                        dt { (lang.pick("Identitas terbukti", "Proven identity")) }
                        @if panel.identities.is_empty() { dd { (lang.pick("tidak ada (formulir atau loket)", "none (form or counter)")) } }
                        @for a in &panel.identities { dd { (words::address(a, lang)) } }
                        dt { (lang.pick("Kontak pengaduan ini", "Contacts of this complaint")) }
                        @if panel.contacts.is_empty() { dd { "—" } }
                        @for a in &panel.contacts { dd { (words::address(a, lang)) } }
                    }
                    dt { (lang.pick("Kode lacak", "Tracking code")) }
                    dd { code { (c.tracking_code) } }
                }
                @if sees {
                    h3 { (lang.pick("Pengaduan sebelumnya", "Earlier complaints")) " (" (panel.earlier_total) ")" }
                    @if panel.earlier.is_empty() { p { (lang.pick("Belum ada.", "None.")) } }
                    ul { @for e in &panel.earlier {
                        li { a href=(format!("/kotak/{}", e.register_no)) { (e.register_no) } " — " (e.subject) br;
                            small { (words::status(e.status, lang)) " · " (fmt_time(st, e.received_at)) } }
                    } }
                }
            }
        }
    }

    /// The audit trail in words.
    pub(super) fn audit(&self) -> Markup {
        let Case { st, file, view, .. } = self;
        let lang = self.lang;
        let shown = |t: &str| -> String { view.text(t).into_owned() };
        html! {
            h2 { (lang.pick("Jejak audit", "Audit trail")) }
            table { tbody {
                @for a in &file.audit {
                    tr {
                        td { (fmt_time(st, a.at)) }
                        td { (a.actor) }
                        td { (words::audit::title(&a.event, lang)) }
                        td { @if let Some(f) = &a.from_status { (words::status_name(f, lang)) }
                             @if let Some(t) = &a.to_status { " → " (words::status_name(t, lang)) } }
                        td { (shown(&words::audit::detail(&a.event, lang))) }
                    }
                }
            } }

        }
    }
}

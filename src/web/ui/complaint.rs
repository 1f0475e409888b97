//! One complaint (`/kotak/{register_no}`): the thread, attachments, audit trail, the SOP
//! actions the officer may take, the reply box; and the actions, replies and retries posted from it.

use super::outcome::*;
use super::*;
use crate::register::outbox::OutboxStatus;
use crate::web::words;

/// `GET /kotak/{register_no}`: the thread (outbound with delivery state and a retry button),
/// attachments, the audit trail, the actions the officer's role may take now, and the reply box
/// naming where the reply goes.
pub async fn complaint(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    axum::extract::Path(no): axum::extract::Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    let notice = q
        .get("pesan")
        .and_then(|c| Notice::parse(c))
        .map(|n| n.text(lang));
    let canned = q.get("balasan").and_then(|v| v.parse::<i64>().ok());
    match complaint_page(&st, &s, &no, lang, notice, canned).await {
        Ok(Some(m)) => html_response(StatusCode::OK, lang, m, vec![]),
        Ok(None) => html_response(
            StatusCode::NOT_FOUND,
            lang,
            page(lang, "404", Some(&s), html! { h1 { "404" } p { (no) } }),
            vec![],
        ),
        Err(e) => {
            tracing::error!(error = %e, "complaint page");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn complaint_page(
    st: &AppState,
    s: &WebSession,
    no: &str,
    lang: Lang,
    notice: Option<&str>,
    canned: Option<i64>,
) -> sqlx::Result<Option<Markup>> {
    let Some(c) = crate::register::complaint_by_no(&st.core.db.pool, no).await? else {
        return Ok(None);
    };
    let file = crate::register::case_file(&st.core.db, c.id).await?;
    let officers = crate::register::officers::active_names(&st.core.db).await?;
    let units = crate::register::units::names(&st.core.db).await?;
    let assignee_username = match c.assignee_id {
        Some(id) => crate::register::officers::username_of(&st.core.db, id).await?,
        None => None,
    };
    let documents = crate::register::documents::of(&st.core.db, c.id).await?;
    let invitation =
        crate::register::letters::latest(&st.core.db, c.id, crate::letter::LetterKind::Invitation)
            .await?;
    let actions = crate::workflow::available(&st.core, c.status, s.officer.role);
    let answer_letter =
        crate::register::letters::latest(&st.core.db, c.id, crate::letter::LetterKind::Answer)
            .await?;
    let db = &st.core.db;
    let me = &s.officer;
    let panel = crate::register::workspace::panel(db, &c).await?;
    let notes = crate::register::workspace::notes_of(db, c.id).await?;
    let canned_list = crate::register::workspace::canned_replies(db).await?;
    let approvals = {
        let mut conn = db.pool.acquire().await?;
        crate::register::clock::approvals_of(&mut conn, c.id).await?
    };
    let draft_hash = c
        .draft_answer
        .as_deref()
        .map(|d| crate::register::sha256_hex(d.as_bytes()));
    let current_approvals: Vec<_> = approvals
        .iter()
        .filter(|a| {
            a.draft_version == c.draft_version && Some(&a.draft_sha256) == draft_hash.as_ref()
        })
        .collect();
    let reply_text = canned
        .and_then(|id| canned_list.iter().find(|r| r.id == id))
        .map(|r| fill_canned(&r.body, &c, &st.core.settings.office_name))
        .unwrap_or_default();
    let now = now_ms();
    // Opened now: read up to here (the page shows the state before this visit).
    crate::register::workspace::mark_read(db, me.id, c.id, now).await?;
    // Everything about the complainant is read through the one view of this officer's role.
    let view = crate::workflow::identity_view(db, &c, me.role).await?;
    let sees = view.sees();
    let shown = |t: &str| -> String { view.text(t).into_owned() };
    let may_assign = crate::workflow::ASSIGN_ROLES.contains(&me.role);
    let handover_waiting = {
        let mut tx = st.core.db.begin().await?;
        let w = crate::register::outbox::handover_waiting(&mut tx, c.id).await?;
        tx.rollback().await?;
        w
    };
    // Where a reply goes: the complaint's channel and, for web and counter complaints, the
    // email addresses and phone numbers the complainant left (where those channels run).
    let (targets, served) = {
        let mut conn = st.core.db.pool.acquire().await?;
        (
            crate::register::reply_targets(&mut conn, &st.core, &c).await?,
            crate::presence::served(&mut conn, &st.core).await?,
        )
    };
    let body = html! {
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
                            @for o in &officers { option value=(o.username) selected[Some(o.username.as_str()) == assignee_username.as_deref()] { (o.display_name) } }
                        }
                        " "
                        button.plain type="submit" { (lang.pick("Tugaskan", "Assign")) }
                    }
                }
            }
        }
        div.case {
        div.work {
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
        @if let Some(d) = &c.draft_answer {
            h2 { (lang.pick("Konsep jawaban", "Draft answer")) }
            pre.draft { (shown(d)) }
            @if !current_approvals.is_empty() {
                ul.approvals {
                    @for a in &current_approvals {
                        li { (if a.kind == "sign" { lang.pick("Ditandatangani", "Signed") } else { lang.pick("Diparaf", "Initialled") })
                            " " (lang.pick("oleh", "by")) " " (a.officer) " (" (words::role(a.role, lang)) "), " (fmt_time(st, a.at)) }
                    }
                }
            }
        }
        h2 { (lang.pick("Catatan internal", "Internal notes")) }
        p { small { (lang.pick("Hanya untuk petugas: tidak pernah dikirim ke pengadu dan tidak tampil di halaman lacak.", "For officers only: never sent to the complainant, never on the tracking page.")) } }
        @for n in &notes {
            div.note { p { strong { (n.officer) } " · " (fmt_time(st, n.created_at)) } pre { (shown(&n.body)) } }
        }
        form method="post" action=(format!("/kotak/{}/catatan", c.register_no)) {
            input type="hidden" name="csrf" value=(s.csrf);
            textarea name="body" rows="3" required maxlength="10000" aria-label=(lang.pick("Catatan internal baru", "New internal note")) {}
            br;
            button.plain type="submit" { (lang.pick("Simpan catatan", "Save note")) }
        }
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
                            @for u in &units { option value=(u) { (u) } }
                        }
                        " "
                    }
                    @if *a == crate::workflow::Action::Dispose {
                        select name="assignee" aria-label=(lang.pick("Petugas", "Officer")) {
                            @if !units.is_empty() { option value="" { (lang.pick("(tanpa petugas)", "(no officer)")) } }
                            @for o in &officers {
                                option value=(o.username) { (o.display_name) }
                            }
                        }
                        " "
                    }
                    button type="submit" name="do" value=(a.as_str()) { (words::action(*a, lang)) }
                }
            }
        }
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
            @for d in &documents {
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
            (canned_picker(lang, &c.register_no, &canned_list, canned))
            form method="post" action=(format!("/kotak/{}/balas", c.register_no)) {
                input type="hidden" name="csrf" value=(s.csrf);
                textarea name="text" rows="6" required aria-label=(lang.pick("Isi balasan", "Reply text")) { (reply_text) }
                br;
                button type="submit" { (lang.pick("Kirim balasan", "Send reply")) }
            }
        }
        }
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
        h2 { (lang.pick("Jejak audit", "Audit trail")) }
        table { tbody {
            @for a in &file.audit {
                tr {
                    td { (fmt_time(st, a.at)) }
                    td { (a.actor) }
                    td { (words::audit(&a.action, lang)) }
                    td { @if let Some(f) = &a.from_status { (words::status_name(f, lang)) }
                         @if let Some(t) = &a.to_status { " → " (words::status_name(t, lang)) } }
                    td { (words::audit_note(&a.action, &shown(&a.note), lang)) }
                }
            }
        } }
    };
    Ok(Some(page(lang, &c.register_no, Some(s), body)))
}

#[derive(Deserialize)]
pub struct ActionForm {
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    reason: Option<crate::workflow::DismissReason>,
    #[serde(default)]
    into: Option<String>,
    /// `approve`: the approver's corrected draft.
    #[serde(default)]
    draft: Option<String>,
    /// `approve`, `draft_answer`: the version of the draft the page showed.
    #[serde(default)]
    draft_version: Option<i64>,
    /// `1` once the officer confirmed an action that writes to the complainant.
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /kotak/{register_no}/aksi`: one SOP action; the role is checked again by the workflow.
pub async fn action(
    State(st): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<ActionForm>,
) -> Response {
    let Ok(action) = serde_json::from_value::<crate::workflow::Action>(serde_json::Value::String(
        f.action.clone(),
    )) else {
        return html_response(
            StatusCode::BAD_REQUEST,
            lang,
            page(lang, "400", Some(&s), html! { p.err { "unknown action" } }),
            vec![],
        );
    };
    let into = f.into.clone().filter(|i| !i.trim().is_empty());
    let tells = action.tells_complainant() || into.is_some();
    if tells && f.confirm.as_deref() != Some("1") {
        // Never offer "Ya, kirim" for a move this role may not make from the complaint's step.
        let c = match crate::register::complaint_by_no(&st.core.db.pool, &no).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return action_error(
                    lang,
                    &s,
                    &no,
                    crate::workflow::ActionError::NotFound(no.clone()),
                )
            }
            Err(e) => return action_error(lang, &s, &no, e.into()),
        };
        if let Err(e) = crate::workflow::check_move(&st.core, c.status, s.officer.role, action) {
            return action_error(lang, &s, &no, e);
        }
        return confirm_page(&st, &s, lang, &no, action, &f.note, &f, into.as_deref()).await;
    }
    let req = crate::workflow::ActionRequest {
        action,
        note: f.note,
        assignee: f.assignee.filter(|a| !a.is_empty()),
        unit: f.unit.filter(|u| !u.is_empty()),
        reason: f.reason,
        into,
        draft: f.draft.filter(|d| !d.trim().is_empty()),
        draft_version: f.draft_version,
    };
    let done = crate::workflow::apply(&st.core, &s.officer, &no, &req, &[]).await;
    after_change(&st, lang, &s, &no, done, Notice::ActionDone)
}

/// The confirmation of an action that writes to the complainant: what goes, and where; the
/// same fields posted again with `confirm=1`, or back to the complaint.
#[allow(clippy::too_many_arguments)]
async fn confirm_page(
    st: &AppState,
    s: &WebSession,
    lang: Lang,
    no: &str,
    action: crate::workflow::Action,
    note: &str,
    f: &ActionForm,
    into: Option<&str>,
) -> Response {
    let targets = match crate::register::complaint_by_no(&st.core.db.pool, no).await {
        Ok(Some(c)) => match st.core.db.pool.acquire().await {
            Ok(mut conn) => crate::register::reply_targets(&mut conn, &st.core, &c)
                .await
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        },
        _ => Vec::new(),
    };
    let body = html! {
        h1 { (lang.pick("Konfirmasi", "Confirm")) ": " (words::action(action, lang)) }
        p { (lang.pick("Tindakan ini mengirim pesan kepada pengadu melalui", "This action writes to the complainant through"))
            @for (i, (kind, _)) in targets.iter().enumerate() {
                (if i == 0 { " " } else { ", " }) strong { (words::channel(*kind, lang)) }
            }
            "." }
        @if !note.trim().is_empty() { blockquote { pre { (note) } } }
        form method="post" action=(format!("/kotak/{no}/aksi")) {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="action" value=(action.as_str());
            input type="hidden" name="note" value=(note);
            @if let Some(a) = &f.assignee { input type="hidden" name="assignee" value=(a); }
            @if let Some(u) = &f.unit { input type="hidden" name="unit" value=(u); }
            @if let Some(r) = f.reason { input type="hidden" name="reason" value=(r.as_str()); }
            @if let Some(i) = into { input type="hidden" name="into" value=(i); }
            input type="hidden" name="confirm" value="1";
            button type="submit" { (lang.pick("Ya, kirim", "Yes, send")) }
            " "
            a href=(format!("/kotak/{no}")) { (lang.pick("Batal", "Cancel")) }
        }
    };
    html_response(StatusCode::OK, lang, page(lang, no, Some(s), body), vec![])
}

/// Back to the complaint with `notice` when the change was made (the outbox woken for what it
/// queued), else the reason on a page.
pub(super) fn after_change<T>(
    st: &AppState,
    lang: Lang,
    s: &WebSession,
    no: &str,
    done: Result<T, crate::workflow::ActionError>,
    notice: Notice,
) -> Response {
    match done {
        Ok(_) => {
            st.core.outbox_wake.notify_waiters();
            back(no, notice)
        }
        Err(e) => action_error(lang, s, no, e),
    }
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    text: String,
}

/// `POST /kotak/{register_no}/balas`.
pub async fn reply(
    State(st): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<ReplyForm>,
) -> Response {
    let done = crate::workflow::reply(&st.core, &s.officer, &no, &f.text, &[]).await;
    after_change(&st, lang, &s, &no, done, Notice::ReplyQueued)
}

/// `POST /kotak/{register_no}/bap` (multipart): the field review recorded with its report.
pub async fn record_field_review(
    State(st): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
    req: axum::extract::Request,
) -> Response {
    let (_, q, lang) = super::forms::request_head(&req);
    let Some(s) = req.extensions().get::<WebSession>().cloned() else {
        return forbidden(lang);
    };
    // Token (in the URL), role and step are checked before a byte of the upload is read.
    if !s.csrf_ok(q.get("csrf").map(String::as_str)) {
        return forbidden(lang);
    }
    let action = crate::workflow::Action::RecordFieldReview;
    match crate::register::complaint_by_no(&st.core.db.pool, &no).await {
        Ok(Some(c)) => {
            if let Err(e) = crate::workflow::check_move(&st.core, c.status, s.officer.role, action)
            {
                return action_error(lang, &s, &no, e);
            }
        }
        Ok(None) => {
            return action_error(
                lang,
                &s,
                &no,
                crate::workflow::ActionError::NotFound(no.clone()),
            )
        }
        Err(e) => return action_error(lang, &s, &no, e.into()),
    }
    let form = match crate::web::submission::read_form(&st, req).await {
        Ok(f) => f,
        Err(e) => return refusal(lang, &s, &no, e.status(), &e.for_form(lang)),
    };
    let field = |k: &str| form.fields[k].as_str().unwrap_or("").to_string();
    let req = crate::workflow::ActionRequest {
        action: crate::workflow::Action::RecordFieldReview,
        note: field("note"),
        assignee: None,
        unit: None,
        reason: None,
        into: None,
        draft: None,
        draft_version: None,
    };
    let done = crate::workflow::apply(&st.core, &s.officer, &no, &req, &form.files).await;
    after_change(&st, lang, &s, &no, done, Notice::ActionDone)
}

#[derive(Deserialize)]
pub struct HandoverForm {
    #[serde(default)]
    recipient: String,
}

/// `POST /kotak/{register_no}/serah`: the answer was handed over at the counter.
pub async fn handover(
    State(st): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<HandoverForm>,
) -> Response {
    let done = crate::workflow::record_handover(&st.core, &s.officer, &no, &f.recipient).await;
    after_change(&st, lang, &s, &no, done, Notice::HandedOver)
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    register_no: String,
}

/// `POST /kotak/keluar/{id}/ulang`: a failed reply back into the queue (roles: the route table).
pub async fn retry(
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    CsrfForm {
        session: s,
        lang: _,
        form: f,
    }: CsrfForm<RetryForm>,
) -> Response {
    match crate::outbox::retry_failed(&st.core, id, Some(s.officer.id), &s.officer.username).await {
        Ok(true) => {
            st.core.outbox_wake.notify_waiters();
            back(&f.register_no, Notice::Retried)
        }
        Ok(false) => back(&f.register_no, Notice::NothingToRetry),
        Err(e) => {
            tracing::error!(error = %e, "retry");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

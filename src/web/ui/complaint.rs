//! One complaint (`/kotak/{register_no}`): the thread, attachments, audit trail, the SOP
//! actions the officer may take, the reply box; and the actions, replies and retries posted from it.

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
    match complaint_page(&st, &s, &no, lang, notice).await {
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
) -> sqlx::Result<Option<Markup>> {
    let Some(c) = crate::register::complaint_by_no(&st.core.db.pool, no).await? else {
        return Ok(None);
    };
    let file = crate::register::case_file(&st.core.db, c.id).await?;
    let officers = crate::register::officers::active_names(&st.core.db).await?;
    let units = crate::register::units::names(&st.core.db).await?;
    let documents = crate::register::documents::of(&st.core.db, c.id).await?;
    let invitation =
        crate::register::letters::latest(&st.core.db, c.id, crate::letter::LetterKind::Invitation)
            .await?;
    let actions = crate::workflow::available(&st.core, c.status, s.officer.role);
    let answer_letter =
        crate::register::letters::latest(&st.core.db, c.id, crate::letter::LetterKind::Answer)
            .await?;
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
        h1 { (c.register_no) " — " (c.subject) }
        @if let Some(n) = notice { p role="status" { (n) } }
        p { (lang.pick("Kanal", "Channel")) ": " (words::channel(c.channel, lang)) " · Status: " strong { (words::status(c.status, lang)) }
            " · " (lang.pick("Batas waktu", "Due")) ": " (c.due_date)
            @if let Some(d) = c.step_due_at {
                " · " (lang.pick("Batas langkah ini", "This step due")) ": " (fmt_time(st, d))
            }
        }
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
                @if let Some(e) = file.delivery_of(m.id).and_then(|o| o.last_error.as_ref()) { p.err { (e) } }
                @if let Some(e) = &m.parse_error { p.err { (e) } }
                pre { (m.body) }
                @for a in file.attachments_of(m.id) {
                    p { a href=(format!("/kotak/lampiran/{}", a.id)) { (a.filename) }
                        " (" (a.size) " B)" }
                }
            }
        }
        @if !actions.is_empty() {
            h2 { (lang.pick("Tindakan", "Actions")) }
            @for a in actions.iter().filter(|a| **a == crate::workflow::Action::RecordFieldReview) {
                form method="post" enctype="multipart/form-data" action=(format!("/kotak/{}/bap", c.register_no)) {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input name="note" required placeholder=(lang.pick("Hasil peninjauan", "Review findings")); " "
                    label { (lang.pick("Berita acara (BAP)", "Report (BAP)")) " " input type="file" name="bap" required; }
                    " "
                    button type="submit" { (words::action(*a, lang)) }
                }
            }
            @for a in actions.iter().filter(|a| **a != crate::workflow::Action::RecordFieldReview) {
                form method="post" action=(format!("/kotak/{}/aksi", c.register_no)) {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="action" value=(a.as_str());
                    @if a.needs_note() { input name="note" required placeholder=(lang.pick("Catatan", "Note")); " " }
                    @if *a == crate::workflow::Action::Dismiss {
                        select name="reason" aria-label=(lang.pick("Alasan", "Reason")) {
                            @for r in [crate::workflow::DismissReason::Spam, crate::workflow::DismissReason::Duplicate, crate::workflow::DismissReason::Robot] {
                                option value=(r.as_str()) { (words::reason(r, lang)) }
                            }
                        }
                        " "
                        input name="into" placeholder=(lang.pick("Gabung ke nomor (duplikat)", "Merge into (duplicate)")) size="18";
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
                        select name="assignee" {
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
                (c.instruction.as_deref().unwrap_or_default()) }
        }
        @if let Some(m) = &c.merged_into {
            p { (lang.pick("Digabung ke", "Merged into")) " " a href=(format!("/kotak/{m}")) { (m) } }
        }
        @if !documents.is_empty() || invitation.is_some() {
            h2 { (lang.pick("Dokumen", "Documents")) }
            @if let Some(l) = &invitation {
                p { a href=(format!("/kotak/{}/surat/invitation", c.register_no)) { (lang.pick("Surat undangan", "Invitation letter")) " " (l.number) " (PDF)" } }
            }
            @for d in &documents {
                p { a href=(format!("/kotak/dokumen/{}", d.id)) { (d.filename) } " (" (d.kind.to_uppercase()) ", " (d.size) " B)" }
            }
        }
        @if answer_letter.is_some() || handover_waiting || c.handed_over_to.is_some() {
            h2 { (lang.pick("Surat jawaban", "Answer letter")) }
            @if let Some(l) = &answer_letter {
                p { a href=(format!("/kotak/{}/surat/answer", c.register_no)) { (l.number) " (PDF)" }
                    " · " (lang.pick("ditandatangani", "signed by")) " " (l.signer) }
            }
            @if let Some(r) = &c.handed_over_to {
                p { (lang.pick("Diserahkan di loket kepada", "Handed over at the counter to")) " " strong { (r) } }
            }
            @if handover_waiting {
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
            h2 { (lang.pick("Balas", "Reply")) }
            p.targets { (lang.pick("Balasan dikirim melalui", "The reply goes through"))
                @for (i, (kind, to)) in targets.iter().enumerate() {
                    (if i == 0 { " " } else { lang.pick(" dan ", " and ") })
                    strong { (words::channel(*kind, lang)) } " → "
                    @match kind {
                        aduan_channel::ChannelKind::Web => (lang.pick("halaman lacak", "the tracking page")),
                        aduan_channel::ChannelKind::Counter => (lang.pick("diserahkan di loket", "handed over at the counter")),
                        _ => (to.to_string()),
                    }
                }
            }
            form method="post" action=(format!("/kotak/{}/balas", c.register_no)) {
                input type="hidden" name="csrf" value=(s.csrf);
                textarea name="text" rows="4" required aria-label=(lang.pick("Isi balasan", "Reply text")) {}
                br;
                button type="submit" { (lang.pick("Kirim balasan", "Send reply")) }
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
                    td { (a.note) }
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
    /// `1` once the officer confirmed an action that writes to the complainant.
    #[serde(default)]
    confirm: Option<String>,
}

/// The notices a complaint page shows after an officer's post: a fixed set, named in the
/// redirect by code. A link cannot put other text on an officer's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    ActionDone,
    ReplyQueued,
    Retried,
    NothingToRetry,
    HandedOver,
}

impl Notice {
    const ALL: [Notice; 5] = [
        Notice::ActionDone,
        Notice::ReplyQueued,
        Notice::Retried,
        Notice::NothingToRetry,
        Notice::HandedOver,
    ];

    fn code(self) -> &'static str {
        match self {
            Notice::ActionDone => "tindakan",
            Notice::ReplyQueued => "balasan",
            Notice::Retried => "ulang",
            Notice::NothingToRetry => "tidak-ada",
            Notice::HandedOver => "diserahkan",
        }
    }

    fn parse(code: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.code() == code)
    }

    fn text(self, lang: Lang) -> &'static str {
        match self {
            Notice::ActionDone => lang.pick("Tindakan tercatat.", "Action recorded."),
            Notice::ReplyQueued => lang.pick("Balasan diantrekan.", "Reply queued."),
            Notice::Retried => lang.pick("Dikirim ulang.", "Queued again."),
            Notice::NothingToRetry => {
                lang.pick("Tidak ada yang dikirim ulang.", "Nothing to retry.")
            }
            Notice::HandedOver => lang.pick("Penyerahan tercatat.", "Hand-over recorded."),
        }
    }
}

fn back(no: &str, n: Notice) -> Response {
    let no: String = no
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Redirect::to(&format!("/kotak/{no}?pesan={}", n.code())).into_response()
}

/// Why an action was not taken, in the officer's language, with the way back to the complaint.
fn action_error(lang: Lang, s: &WebSession, no: &str, e: crate::workflow::ActionError) -> Response {
    use crate::workflow::ActionError as E;
    let code = match &e {
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Forbidden { .. } | E::NotYourApproval { .. } => StatusCode::FORBIDDEN,
        E::WrongStatus { .. } => StatusCode::CONFLICT,
        E::Invalid(_) => StatusCode::BAD_REQUEST,
        E::Db(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let text = match &e {
        E::NotFound(_) => lang
            .pick(
                "Pengaduan ini tidak ditemukan.",
                "This complaint was not found.",
            )
            .to_string(),
        E::Forbidden { role, .. } => format!(
            "{} {}.",
            lang.pick("Tindakan ini bukan wewenang", "This action is not for the"),
            words::role(*role, lang)
        ),
        E::NotYourApproval { waiting_for, .. } => format!(
            "{} {}.",
            lang.pick(
                "Konsep ini menunggu paraf atau tanda tangan",
                "This draft waits for the initial or signature of the"
            ),
            words::role(*waiting_for, lang)
        ),
        E::WrongStatus { status, .. } => format!(
            "{} \u{201c}{}\u{201d}. {}",
            lang.pick(
                "Pengaduan ini sudah berubah dan kini berstatus",
                "This complaint has changed and is now"
            ),
            words::status(*status, lang),
            lang.pick(
                "Buka kembali halamannya untuk melihat tindakan yang tersedia.",
                "Open its page again to see the actions available."
            )
        ),
        E::Invalid(detail) => format!(
            "{} ({detail})",
            lang.pick(
                "Isian belum lengkap atau tidak sesuai.",
                "Something is missing or does not fit."
            )
        ),
        E::Db(_) => lang
            .pick(
                "Register sedang tidak dapat dihubungi; coba lagi sebentar lagi.",
                "The register cannot be reached; try again in a moment.",
            )
            .to_string(),
    };
    let no: String = no
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    html_response(
        code,
        lang,
        page(
            lang,
            "aduan",
            Some(s),
            html! {
                p.err role="alert" { (text) }
                p { a href=(format!("/kotak/{no}")) { (lang.pick("Kembali ke pengaduan", "Back to the complaint")) } }
            },
        ),
        vec![],
    )
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
        return confirm_page(&st, &s, lang, &no, action, &f.note, &f, into.as_deref()).await;
    }
    let req = crate::workflow::ActionRequest {
        action,
        note: f.note,
        assignee: f.assignee.filter(|a| !a.is_empty()),
        unit: f.unit.filter(|u| !u.is_empty()),
        reason: f.reason,
        into,
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
fn after_change<T>(
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
    let lang = page_lang(req.headers(), &HashMap::new());
    let Some(s) = req.extensions().get::<WebSession>().cloned() else {
        return forbidden(lang);
    };
    let form = match crate::web::submission::read_form(&st, req).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let field = |k: &str| form.fields[k].as_str().unwrap_or("").to_string();
    if !s.csrf_ok(Some(&field("csrf"))) {
        return forbidden(lang);
    }
    let req = crate::workflow::ActionRequest {
        action: crate::workflow::Action::RecordFieldReview,
        note: field("note"),
        assignee: None,
        unit: None,
        reason: None,
        into: None,
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

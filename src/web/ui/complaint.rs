//! One complaint (`/kotak/{register_no}`): the thread, attachments, audit trail, the SOP
//! actions the officer may take, the reply box; and the actions, replies and retries posted from it.

use super::case::Case;
use super::outcome::*;
use super::*;
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
    let current_approvals = current_approvals.into_iter().cloned().collect();
    let case = Case {
        st,
        s,
        lang,
        now,
        file,
        officers,
        units,
        assignee_username,
        documents,
        invitation,
        actions,
        answer_letter,
        panel,
        notes,
        canned_list,
        canned,
        current_approvals,
        reply_text,
        sees,
        view,
        may_assign,
        handover_waiting,
        targets,
        served,
        c,
    };
    let body = html! {
        (case.head(notice))
        div.case {
            div.work {
                (case.thread())
                (case.draft())
                (case.notes())
                (case.actions())
                (case.records())
                (case.reply())
            }
            (case.complainant())
        }
        (case.audit())
    };
    Ok(Some(page(lang, &case.c.register_no, Some(s), body)))
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
    match crate::outbox::retry_failed(&st.core, id, s.officer.actor()).await {
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

//! The officer's desk beside the SOP actions: taking and assigning complaints (one or many),
//! internal notes, "next in my queue", and the canned replies the admin keeps.

use super::*;

/// What a bulk form may ask for each selected complaint (`do`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bulk {
    Take,
    Assign,
    Verify,
    Dismiss(crate::workflow::DismissReason),
}

impl Bulk {
    fn parse(v: &str) -> Option<Bulk> {
        use crate::workflow::DismissReason as R;
        Some(match v {
            "ambil" => Bulk::Take,
            "tugaskan" => Bulk::Assign,
            "verify" => Bulk::Verify,
            "spam" => Bulk::Dismiss(R::Spam),
            "duplicate" => Bulk::Dismiss(R::Duplicate),
            _ => return None,
        })
    }
}

/// One complaint of a bulk form, through the same checks as on its own page.
async fn bulk_one(
    st: &AppState,
    s: &WebSession,
    what: Bulk,
    to: &str,
    no: &str,
) -> Result<(), crate::workflow::ActionError> {
    use crate::workflow::{Action, ActionRequest};
    let act = |action, reason| ActionRequest {
        action,
        note: String::new(),
        assignee: None,
        unit: None,
        reason,
        into: None,
        draft: None,
        draft_version: None,
    };
    match what {
        Bulk::Take => crate::workflow::assign(&st.core, &s.officer, no, None)
            .await
            .map(drop),
        Bulk::Assign => crate::workflow::assign(&st.core, &s.officer, no, Some(to))
            .await
            .map(drop),
        Bulk::Verify => {
            crate::workflow::apply(&st.core, &s.officer, no, &act(Action::Verify, None), &[])
                .await
                .map(drop)
        }
        Bulk::Dismiss(r) => crate::workflow::apply(
            &st.core,
            &s.officer,
            no,
            &act(Action::Dismiss, Some(r)),
            &[],
        )
        .await
        .map(drop),
    }
}

/// The most complaints one bulk form may change.
pub const BULK_MAX: usize = 100;

/// `POST /kotak/massal`: one action on every selected complaint (`no`, repeated), each through
/// the same role and step checks as on its own page; a page says what was done and what was
/// refused, and why.
pub async fn bulk(
    State(st): State<AppState>,
    CsrfForm {
        session: s,
        lang,
        form,
    }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let field = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let Some(what) = Bulk::parse(field("do")) else {
        return html_response(
            StatusCode::BAD_REQUEST,
            lang,
            page(
                lang,
                "400",
                Some(&s),
                html! { p.err role="alert" { (lang.pick("Tindakan massal tidak dikenal.", "Unknown bulk action.")) } },
            ),
            vec![],
        );
    };
    let to = field("to").to_string();
    // Each selected number once, in the order given, at most BULK_MAX (the inbox shows 50).
    let mut nos: Vec<&str> = Vec::new();
    for (_, v) in form.iter().filter(|(k, _)| k == "no") {
        if !nos.contains(&v.as_str()) && nos.len() < BULK_MAX {
            nos.push(v.as_str());
        }
    }
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for no in &nos {
        match bulk_one(&st, &s, what, &to, no).await {
            Ok(()) => done.push(no.to_string()),
            Err(e) => refused.push((no.to_string(), outcome::error_text(lang, &e).1)),
        }
    }
    st.core.outbox_wake.notify_waiters();
    let body = html! {
        h1 { (lang.pick("Tindakan massal", "Bulk action")) }
        @if nos.is_empty() {
            p.err role="alert" { (lang.pick("Tidak ada pengaduan yang dipilih.", "No complaint was selected.")) }
        }
        @if !done.is_empty() {
            p role="status" { (done.len()) " " (lang.pick("pengaduan berhasil", "complaints done")) ": "
                @for (i, no) in done.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href=(format!("/kotak/{no}")) { (no) }
                }
            }
        }
        @if !refused.is_empty() {
            h2 { (lang.pick("Tidak dijalankan", "Not done")) }
            ul { @for (no, why) in &refused { li { a href=(format!("/kotak/{no}")) { (no) } ": " (why) } } }
        }
        p { a href="/kotak" { (lang.pick("Kembali ke kotak masuk", "Back to the inbox")) } }
    };
    html_response(
        if done.is_empty() && !nos.is_empty() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        },
        lang,
        page(
            lang,
            lang.pick("Tindakan massal", "Bulk action"),
            Some(&s),
            body,
        ),
        vec![],
    )
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    to: String,
}

/// `POST /kotak/{register_no}/ambil`: the officer takes the complaint.
pub async fn take(
    State(st): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
    CsrfForm {
        session: s, lang, ..
    }: CsrfForm<NoFields>,
) -> Response {
    let done = crate::workflow::assign(&st.core, &s.officer, &no, None).await;
    complaint::after_change(&st, lang, &s, &no, done, outcome::Notice::Assigned)
}

/// `POST /kotak/{register_no}/tugaskan`: assigned to another officer (`to`).
pub async fn assign(
    State(st): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<AssignForm>,
) -> Response {
    let done = crate::workflow::assign(&st.core, &s.officer, &no, Some(&f.to)).await;
    complaint::after_change(&st, lang, &s, &no, done, outcome::Notice::Assigned)
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

/// `POST /kotak/{register_no}/catatan`: an internal note.
pub async fn note(
    State(st): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<NoteForm>,
) -> Response {
    let done = crate::workflow::add_note(&st.core, &s.officer, &no, &f.body).await;
    complaint::after_change(&st, lang, &s, &no, done, outcome::Notice::Noted)
}

/// `GET /kotak/berikutnya?dari=…`: the next complaint of the officer's queue (nearest due
/// first) other than the one they come from; the queue when it is empty.
pub async fn next(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let from = q.get("dari").cloned().unwrap_or_default();
    let mut query = HashMap::new();
    query.insert("antrian".to_string(), "saya".to_string());
    query.insert("urut".to_string(), "batas".to_string());
    let filter = inbox_filter(&st.core, &query, Some(&s.officer), now_ms());
    let listing = crate::register::list_complaints(
        &st.core.db,
        &filter,
        crate::register::Page {
            number: 1,
            size: 2,
            order: crate::register::Order::Due,
            ..Default::default()
        },
    )
    .await;
    match listing {
        Ok(l) => match l.items.iter().find(|x| x.complaint.register_no != from) {
            Some(x) => Redirect::to(&format!("/kotak/{}", x.complaint.register_no)).into_response(),
            None => Redirect::to("/kotak?antrian=saya").into_response(),
        },
        Err(e) => {
            tracing::error!(error = %e, "next complaint");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// A canned reply's text for one complaint: `{nama}` (the complainant's name, or "Bapak/Ibu"),
/// `{nomor}` (the register number), `{batas}` (the due date), `{kantor}` (the office).
pub fn fill_canned(text: &str, c: &crate::register::Complaint, office: &str) -> String {
    let name = if c.complainant_name.trim().is_empty() {
        "Bapak/Ibu"
    } else {
        c.complainant_name.trim()
    };
    text.replace("{nama}", name)
        .replace("{nomor}", &c.register_no)
        .replace("{batas}", &c.due_date)
        .replace("{kantor}", office)
}

/// `GET /kotak/template-balasan` (admin): the office's canned replies, with the form to add
/// or change one and to withdraw one.
pub async fn canned_page(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    canned_view(&st, &s, lang, q.contains_key("tersimpan")).await
}

async fn canned_view(st: &AppState, s: &WebSession, lang: Lang, saved: bool) -> Response {
    let list = match crate::register::workspace::canned_replies(&st.core.db).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "canned replies");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let title = lang.pick("Template balasan", "Canned replies");
    let body = html! {
        h1 { (title) }
        @if saved { p role="status" { (lang.pick("Tersimpan.", "Saved.")) } }
        p { (lang.pick("Isian yang diganti saat dipakai:", "Placeholders filled when used:"))
            " " code { "{nama}" } ", " code { "{nomor}" } ", " code { "{batas}" } ", " code { "{kantor}" } }
        @for r in &list {
            section {
                h2 { (r.title) }
                pre.draft { (r.body) }
                form method="post" action="/kotak/template-balasan" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="title" value=(r.title);
                    input type="hidden" name="remove" value="1";
                    button.plain type="submit" { (lang.pick("Tarik", "Withdraw")) }
                }
            }
        }
        h2 { (lang.pick("Tambah atau ubah", "Add or change")) }
        form method="post" action="/kotak/template-balasan" {
            input type="hidden" name="csrf" value=(s.csrf);
            p { label { (lang.pick("Judul", "Title")) br; input name="title" required maxlength="120"; } }
            p { label { (lang.pick("Isi", "Text")) br; textarea name="body" rows="8" required {} } }
            button type="submit" { (lang.pick("Simpan", "Save")) }
        }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, title, Some(s), body),
        vec![],
    )
}

#[derive(Deserialize)]
pub struct CannedForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    remove: Option<String>,
}

/// `POST /kotak/template-balasan` (admin): saves (by title) or withdraws a canned reply.
pub async fn canned_save(
    State(st): State<AppState>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<CannedForm>,
) -> Response {
    let now = st.core.clock.now().timestamp_millis();
    let title = f.title.trim();
    let bad = title.is_empty()
        || title.chars().count() > 120
        || (f.remove.is_none()
            && (f.body.trim().is_empty()
                || f.body.chars().count() > crate::workflow::NOTE_MAX_CHARS));
    if bad {
        return html_response(
            StatusCode::BAD_REQUEST,
            lang,
            page(
                lang,
                "400",
                Some(&s),
                html! {
                    p.err role="alert" { (lang.pick("Judul (1–120 huruf) dan isi wajib diisi.", "A title (1–120 characters) and a text are required.")) }
                    p { a href="/kotak/template-balasan" { (lang.pick("Kembali", "Back")) } }
                },
            ),
            vec![],
        );
    }
    let done = if f.remove.is_some() {
        crate::register::workspace::remove_canned(&st.core.db, title, now)
            .await
            .map(drop)
    } else {
        crate::register::workspace::save_canned(&st.core.db, title, f.body.trim(), now).await
    };
    match done {
        Ok(()) => {
            tracing::info!(officer = %s.officer.username, "canned replies changed");
            Redirect::to("/kotak/template-balasan?tersimpan=1").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "canned replies");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The canned-reply picker of the reply box: a GET form (works without a script) that
/// reloads the page with the chosen text filled in.
pub(super) fn canned_picker(
    lang: Lang,
    no: &str,
    list: &[crate::register::workspace::CannedReply],
    chosen: Option<i64>,
) -> Markup {
    html! {
        @if !list.is_empty() {
            form method="get" action=(format!("/kotak/{no}#balas")) {
                label { (lang.pick("Template balasan", "Canned reply")) " "
                    select name="balasan" {
                        @for r in list { option value=(r.id) selected[chosen == Some(r.id)] { (r.title) } }
                    }
                }
                " "
                button.plain type="submit" { (lang.pick("Pakai", "Use")) }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct UnservedForm {
    #[serde(default)]
    register_no: String,
    /// `1` once the officer confirmed.
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /kotak/keluar/{id}/alihkan` and `/batal`: a reply waiting for a channel no daemon
/// runs is published on the tracking page instead, or withdrawn — each after a confirmation
/// that says what happens, in words.
async fn unserved(
    st: &AppState,
    id: i64,
    s: &WebSession,
    lang: Lang,
    f: UnservedForm,
    what: crate::outbox::Unserved,
) -> Response {
    use crate::outbox::Unserved;
    let (path, question, yes, notice) = match what {
        Unserved::ToTrackingPage => (
            "alihkan",
            lang.pick(
                "Balasan ini menunggu kanal yang tidak dijalankan server mana pun. Tampilkan di halaman lacak sebagai gantinya? Pengadu membacanya dengan nomor register dan kode pelacakan.",
                "This reply waits for a channel no server runs. Show it on the tracking page instead? The complainant reads it with the register number and tracking code.",
            ),
            lang.pick("Ya, tampilkan di halaman lacak", "Yes, show it on the tracking page"),
            outcome::Notice::Rerouted,
        ),
        Unserved::Cancel => (
            "batal",
            lang.pick(
                "Batalkan pengiriman balasan ini? Balasan tidak akan dikirim; tercatat di jejak audit.",
                "Withdraw this reply? It will not be sent; the audit trail records it.",
            ),
            lang.pick("Ya, batalkan", "Yes, withdraw it"),
            outcome::Notice::Cancelled,
        ),
    };
    if f.confirm.as_deref() != Some("1") {
        let no = f.register_no.clone();
        let body = html! {
            h1 { (lang.pick("Konfirmasi", "Confirm")) }
            p { (question) }
            form method="post" action=(format!("/kotak/keluar/{id}/{path}")) {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="register_no" value=(no);
                input type="hidden" name="confirm" value="1";
                button type="submit" { (yes) }
                " "
                a href=(format!("/kotak/{no}")) { (lang.pick("Batal", "Cancel")) }
            }
        };
        return html_response(StatusCode::OK, lang, page(lang, &no, Some(s), body), vec![]);
    }
    match crate::outbox::settle_unserved(&st.core, id, what, s.officer.actor()).await {
        Ok(true) => outcome::back(&f.register_no, notice),
        Ok(false) => outcome::back(&f.register_no, outcome::Notice::NothingToRetry),
        Err(e) => {
            tracing::error!(error = %e, "reroute or withdraw a reply");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `POST /kotak/keluar/{id}/alihkan` (roles: the route table).
pub async fn reroute(
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<UnservedForm>,
) -> Response {
    unserved(
        &st,
        id,
        &s,
        lang,
        f,
        crate::outbox::Unserved::ToTrackingPage,
    )
    .await
}

/// `POST /kotak/keluar/{id}/batal` (roles: the route table).
pub async fn withdraw(
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<UnservedForm>,
) -> Response {
    unserved(&st, id, &s, lang, f, crate::outbox::Unserved::Cancel).await
}

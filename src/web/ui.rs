//! The officers' web pages, server-rendered (maud escapes every value): login, logout,
//! password change and the unified inbox. Bahasa Indonesia by default, English with `?lang=en`
//! (remembered in a cookie). Works without JavaScript.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use sqlx::Row;

use super::session::{self, WebSession};
use super::AppState;
use crate::db::now_ms;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

impl Lang {
    fn of(headers: &HeaderMap, q: &HashMap<String, String>) -> Lang {
        let v = q
            .get("lang")
            .map(String::as_str)
            .or_else(|| session::cookie(headers, "aduan_lang"));
        if v == Some("en") {
            Lang::En
        } else {
            Lang::Id
        }
    }
    fn t(self, id: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Id => id,
            Lang::En => en,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330}\
header{background:#0b4f6c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\
header a,header button{color:#fff}main{padding:1rem;max-width:80rem;margin:auto}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}\
.overdue{background:#fde2e1}.err{color:#a40000}form.inline{display:inline}\
input,select,button{font:inherit;padding:.3rem}@media(max-width:40rem){td:nth-child(n+5),th:nth-child(n+5){display:none}}";

fn page(lang: Lang, title: &str, who: Option<&WebSession>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — aduan" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "aduan" }
                    @if let Some(s) = who {
                        a href="/kotak" { (lang.t("Kotak masuk", "Inbox")) }
                        a href="/kotak/dasbor" { (lang.t("Dasbor", "Dashboard")) }
                        a href="/kotak/rekap" { (lang.t("Rekap", "Recap")) }
                        @if matches!(s.officer.role, crate::workflow::Role::FrontOffice | crate::workflow::Role::Admin) {
                            a href="/kotak/loket" { (lang.t("Loket", "Counter")) }
                        }
                        span { (s.officer.display_name) " (" (s.officer.role.as_str()) ")" }
                        form.inline method="post" action="/keluar" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (lang.t("Keluar", "Log out")) }
                        }
                    }
                    a href="?lang=id" { "ID" } a href="?lang=en" { "EN" }
                }
                main { (body) }
            }
        }
    }
}

fn html_response(code: StatusCode, lang: Lang, m: Markup, extra: Vec<String>) -> Response {
    let mut r = (code, m.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        "text/html; charset=utf-8".parse().unwrap(),
    );
    h.insert("x-frame-options", "DENY".parse().unwrap());
    h.insert(
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
            .parse()
            .unwrap(),
    );
    h.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
    for c in extra {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    if let Ok(v) = format!("aduan_lang={}; Path=/; SameSite=Lax", lang.code()).parse() {
        h.append(header::SET_COOKIE, v);
    }
    r
}

fn login_form(lang: Lang, csrf: &str, error: Option<&str>) -> Markup {
    page(
        lang,
        lang.t("Masuk", "Log in"),
        None,
        html! {
            h1 { (lang.t("Masuk petugas", "Officer login")) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form method="post" action="/masuk" {
                input type="hidden" name="csrf" value=(csrf);
                p { label { (lang.t("Nama pengguna", "User name")) br; input name="username" autocomplete="username" required; } }
                p { label { (lang.t("Kata sandi", "Password")) br; input type="password" name="password" autocomplete="current-password" required; } }
                button type="submit" { (lang.t("Masuk", "Log in")) }
            }
        },
    )
}

/// `GET /masuk`.
pub async fn login_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers, &q);
    if let Ok(Some(_)) = session::from_headers(&st.core, &headers).await {
        return Redirect::to("/kotak").into_response();
    }
    let csrf = session::token();
    let cookie = session::set_cookie(
        &st.core,
        session::LOGIN_COOKIE,
        &csrf,
        Some(std::time::Duration::from_secs(3600)),
    );
    html_response(
        StatusCode::OK,
        lang,
        login_form(lang, &csrf, None),
        vec![cookie],
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /masuk`: the form's token must match its cookie (login CSRF); failures are throttled.
pub async fn login_submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
    req: axum::extract::Request,
) -> Response {
    let headers = req.headers().clone();
    let lang = Lang::of(&headers, &q);
    // The double-submit cookie is checked before the body is read: a stranger without the
    // login page's cookie costs nothing but this.
    let expected = session::cookie(&headers, session::LOGIN_COOKIE)
        .unwrap_or("")
        .to_string();
    if expected.is_empty() {
        return forbidden(lang);
    }
    if super::declares_more_than(&headers, super::LOGIN_BODY_LIMIT) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let Ok(Form(f)) = Form::<LoginForm>::from_request(req, &st).await else {
        return forbidden(lang);
    };
    if !crate::register::ct_eq(&expected, &f.csrf) {
        return forbidden(lang);
    }
    let client = super::api::client_ip(&st, peer, &headers).to_string();
    match session::login(
        &st.core,
        &st.login_slots,
        f.username.trim(),
        &f.password,
        &client,
    )
    .await
    {
        Ok((sid, _csrf)) => {
            let mut r = Redirect::to("/kotak").into_response();
            let c = session::set_cookie(&st.core, session::COOKIE, &sid, Some(session::LIFETIME));
            r.headers_mut()
                .append(header::SET_COOKIE, c.parse().unwrap());
            r
        }
        Err(e) => {
            let (code, msg) = match e {
                session::LoginError::Wrong => (
                    StatusCode::UNAUTHORIZED,
                    lang.t(
                        "Nama pengguna atau kata sandi salah.",
                        "Wrong user name or password.",
                    ),
                ),
                session::LoginError::Throttled => (
                    StatusCode::TOO_MANY_REQUESTS,
                    lang.t(
                        "Terlalu banyak percobaan gagal. Coba lagi 15 menit lagi.",
                        "Too many failed attempts. Try again in 15 minutes.",
                    ),
                ),
                session::LoginError::Busy => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang.t(
                        "Terlalu banyak percobaan masuk bersamaan. Coba lagi sebentar lagi.",
                        "Too many logins at once. Try again shortly.",
                    ),
                ),
                session::LoginError::Db(e) => {
                    tracing::error!(error = %e, "login");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        lang.t(
                            "Register tidak dapat dihubungi.",
                            "The register is unavailable.",
                        ),
                    )
                }
            };
            html_response(code, lang, login_form(lang, &expected, Some(msg)), vec![])
        }
    }
}

fn forbidden(lang: Lang) -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        lang,
        page(
            lang,
            "403",
            None,
            html! { h1 { "403" } p { (lang.t("Formulir kedaluwarsa atau tidak sah; muat ulang halaman.", "The form expired or is not valid; reload the page.")) } },
        ),
        vec![],
    )
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /keluar`.
pub async fn logout(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !s.csrf_ok(Some(&f.csrf)) {
        return forbidden(Lang::of(&headers, &HashMap::new()));
    }
    if let Err(e) = session::logout(&st.core, &s).await {
        tracing::error!(error = %e, "logout");
    }
    let mut r = Redirect::to("/masuk").into_response();
    let c = session::set_cookie(&st.core, session::COOKIE, "", None);
    r.headers_mut()
        .append(header::SET_COOKIE, c.parse().unwrap());
    r
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// `POST /akun/sandi`: needs the current password; other sessions end.
pub async fn change_password(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let lang = Lang::of(&headers, &HashMap::new());
    if !s.csrf_ok(Some(&f.csrf)) {
        return forbidden(lang);
    }
    let client = super::api::client_ip(&st, peer, &headers).to_string();
    let msg = match session::login(
        &st.core,
        &st.login_slots,
        &s.officer.username,
        &f.current,
        &client,
    )
    .await
    {
        Err(_) => Err(lang.t(
            "Kata sandi sekarang salah.",
            "The current password is wrong.",
        )),
        Ok((sid, _)) => {
            // The check made a session of its own: drop it again.
            let _ = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(crate::register::sha256_hex(sid.as_bytes()))
                .execute(&st.core.db.write)
                .await;
            match session::set_password(&st.core.db, &s.officer.username, &f.new).await {
                Ok(()) => Ok(()),
                Err(_) => Err(lang.t(
                    "Kata sandi baru minimal 10 karakter.",
                    "The new password needs at least 10 characters.",
                )),
            }
        }
    };
    match msg {
        Ok(()) => Redirect::to("/masuk").into_response(),
        Err(m) => html_response(
            StatusCode::BAD_REQUEST,
            lang,
            page(
                lang,
                "aduan",
                Some(&s),
                html! { p.err role="alert" { (m) } a href="/kotak" { "←" } },
            ),
            vec![],
        ),
    }
}

/// The inbox page's rows: the most recently registered first, 50, filtered by `channel`, `status` and full-text `q`.
/// Public for the benchmark (`aduan bench inbox`).
pub async fn inbox_rows(
    core: &crate::state::Core,
    q: &HashMap<String, String>,
    me: Option<&crate::workflow::Officer>,
) -> sqlx::Result<Vec<sqlx::any::AnyRow>> {
    use crate::db::Backend;
    use crate::register::Bind;
    const COLUMNS: &str = "c.register_no, c.channel, c.subject, c.status, c.received_at, \
         c.due_date, c.due_at, c.is_open, c.answered_at, p.name AS complainant, \
         o.display_name AS assignee";
    const JOINS: &str = "JOIN complainants p ON p.id = c.complainant_id \
         LEFT JOIN officers o ON o.id = c.assignee_id";
    let mut sql = String::from("1 = 1");
    let mut binds: Vec<Bind> = Vec::new();
    let mut searched = false;
    // SQLite: a search drives the query from FTS5, which hands out its matches newest first
    // and stops after the page (an `IN (…)` of all matches costs 130 ms for a word in every
    // one of 1M complaints, this 28 ms). CROSS JOIN keeps that loop order.
    let mut from = "complaints c".to_string();
    let mut order = "c.id";
    if let Some(ch) = q.get("channel").filter(|v| !v.is_empty()) {
        binds.push(Bind::S(ch.clone()));
        sql.push_str(&format!(" AND c.channel = ${}", binds.len()));
    }
    if let Some(status) = q.get("status").filter(|v| !v.is_empty()) {
        binds.push(Bind::S(status.clone()));
        sql.push_str(&format!(" AND c.status = ${}", binds.len()));
    }
    if let Some((cond, value)) = q
        .get("q")
        .and_then(|v| crate::register::text_search(core.db.backend, binds.len() + 1, v))
    {
        binds.push(Bind::S(value));
        searched = true;
        if core.db.backend == Backend::Sqlite {
            from = format!(
                "(SELECT rowid AS id FROM complaints_fts WHERE complaints_fts MATCH ${} \
                 ORDER BY rowid DESC) f CROSS JOIN complaints c ON c.id = f.id",
                binds.len()
            );
            order = "f.id";
        } else {
            sql.push_str(" AND ");
            sql.push_str(&cond);
        }
    }
    if q.get("overdue").is_some_and(|v| v == "1") {
        sql.push_str(" AND ");
        sql.push_str(&crate::register::overdue_sql(&now_ms().to_string()));
    }
    if let Some(me) = me {
        if let Some(a) = q.get("assignee").filter(|v| !v.is_empty()) {
            let id = if a == "me" {
                me.id.to_string()
            } else {
                String::new()
            };
            if id.is_empty() {
                binds.push(Bind::S(a.clone()));
                sql.push_str(&format!(
                    " AND c.assignee_id = (SELECT id FROM officers WHERE username = ${})",
                    binds.len()
                ));
            } else {
                sql.push_str(&format!(" AND c.assignee_id = {id}"));
            }
        }
        // "My queue": what the officer's role can act on now, or what is assigned to them.
        if q.get("antrian").is_some_and(|v| v == "saya") {
            let statuses: Vec<&str> = crate::workflow::Action::ALL
                .into_iter()
                .filter(|a| a.allowed(me.role))
                .flat_map(|a| a.transition().0.iter().copied())
                .collect();
            let list: Vec<String> = crate::workflow::STATUSES
                .iter()
                .filter(|s| statuses.contains(s))
                .map(|s| format!("'{s}'"))
                .collect();
            let in_list = if list.is_empty() {
                "''".to_string()
            } else {
                list.join(", ")
            };
            sql.push_str(&format!(
                " AND c.is_open = 1 AND (c.status IN ({in_list}) OR c.assignee_id = {})",
                me.id
            ));
        }
    }
    let page: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let offset = usize::try_from((page - 1) * 50).unwrap_or(0);
    let pool = &core.db.pool;
    if searched && core.db.backend == Backend::Postgres {
        if let Some(ids) =
            crate::register::few_matches(pool, q.get("q").map_or("", |v| v), &sql, &binds).await?
        {
            // One row more than a page tells whether there is a next one.
            let page_ids: Vec<String> = ids
                .iter()
                .skip(offset)
                .take(51)
                .map(i64::to_string)
                .collect();
            if page_ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT {COLUMNS} FROM complaints c {JOINS} WHERE c.id IN ({}) ORDER BY c.id DESC",
                page_ids.join(", ")
            );
            return sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await;
        }
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM {from} {JOINS} WHERE {sql} ORDER BY {order} DESC LIMIT 51 OFFSET {offset}"
    );
    crate::register::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &binds)
        .fetch_all(pool)
        .await
}

/// `GET /kotak`: every channel in one list, newest first; filters by channel, status and text.
pub async fn inbox(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers, &q);
    let now = now_ms();
    let mut rows = match inbox_rows(&st.core, &q, Some(&s.officer)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "inbox");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let has_next = rows.len() > 50;
    rows.truncate(50);
    let page_no: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let link = |page: i64| {
        let mut parts: Vec<String> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect();
        parts.sort();
        parts.push(format!("page={page}"));
        format!("/kotak?{}", parts.join("&"))
    };
    let sel = |k: &str| q.get(k).cloned().unwrap_or_default();
    let body = html! {
        h1 { (lang.t("Kotak masuk", "Inbox")) }
        form method="get" action="/kotak" {
            select name="channel" aria-label="channel" {
                option value="" { (lang.t("Semua kanal", "All channels")) }
                @for k in aduan_channel::ChannelKind::iter() {
                    option value=(k.as_str()) selected[sel("channel") == k.as_str()] { (k.as_str()) }
                }
            }
            " "
            select name="status" aria-label="status" {
                option value="" { (lang.t("Semua status", "All statuses")) }
                @for s in crate::workflow::STATUSES {
                    option value=(s) selected[sel("status") == *s] { (s) }
                }
            }
            " "
            input type="search" name="q" value=(sel("q")) placeholder=(lang.t("Cari…", "Search…"));
            " "
            label { input type="checkbox" name="overdue" value="1" checked[sel("overdue") == "1"]; (lang.t(" terlambat", " overdue")) }
            " "
            label { input type="checkbox" name="assignee" value="me" checked[sel("assignee") == "me"]; (lang.t(" ditugaskan ke saya", " assigned to me")) }
            " "
            button type="submit" { (lang.t("Saring", "Filter")) }
            " "
            a href="/kotak?antrian=saya" { (lang.t("Antrean saya", "My queue")) }
        }
        table {
            thead { tr {
                th { (lang.t("Kanal", "Channel")) } th { (lang.t("Nomor register", "Register no.")) }
                th { (lang.t("Pengadu", "Complainant")) } th { (lang.t("Perihal", "Subject")) }
                th { "Status" } th { (lang.t("Petugas", "Assignee")) } th { (lang.t("Diterima", "Received")) }
                th { (lang.t("Batas waktu", "Due")) }
            } }
            tbody {
                @for r in &rows {
                    @let open: i64 = r.try_get("is_open").unwrap_or(0);
                    @let answered: Option<i64> = r.try_get("answered_at").unwrap_or(None);
                    @let due_at: i64 = r.try_get("due_at").unwrap_or(i64::MAX);
                    @let overdue = crate::register::is_overdue(open == 1, answered.is_some(), due_at, now);
                    @let no = r.try_get::<String, _>("register_no").unwrap_or_default();
                    tr class=[overdue.then_some("overdue")] {
                        td { (r.try_get::<String, _>("channel").unwrap_or_default()) }
                        td { a href=(format!("/kotak/{no}")) { (no) } }
                        td { (r.try_get::<String, _>("complainant").unwrap_or_default()) }
                        td { (r.try_get::<String, _>("subject").unwrap_or_default()) }
                        td { (r.try_get::<String, _>("status").unwrap_or_default()) }
                        td { (r.try_get::<Option<String>, _>("assignee").unwrap_or(None).unwrap_or_default()) }
                        td { (fmt_time(&st, r.try_get("received_at").unwrap_or(0))) }
                        td { (r.try_get::<String, _>("due_date").unwrap_or_default()) @if overdue { " ⚠" } }
                    }
                }
            }
        }
        p.pages {
            @if page_no > 1 { a rel="prev" href=(link(page_no - 1)) { "← " (lang.t("Sebelumnya", "Previous")) } " " }
            (lang.t("Halaman", "Page")) " " (page_no)
            @if has_next { " " a rel="next" href=(link(page_no + 1)) { (lang.t("Berikutnya", "Next")) " →" } }
        }
        details {
            summary { (lang.t("Ganti kata sandi", "Change password")) }
            form method="post" action="/akun/sandi" {
                input type="hidden" name="csrf" value=(s.csrf);
                p { label { (lang.t("Kata sandi sekarang", "Current password")) br; input type="password" name="current" autocomplete="current-password" required; } }
                p { label { (lang.t("Kata sandi baru (min. 10)", "New password (min. 10)")) br; input type="password" name="new" autocomplete="new-password" minlength="10" required; } }
                button type="submit" { (lang.t("Simpan", "Save")) }
            }
        }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, lang.t("Kotak masuk", "Inbox"), Some(&s), body),
        vec![],
    )
}

fn fmt_time(st: &AppState, ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&st.core.settings.offset)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

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
    let lang = Lang::of(&headers, &q);
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
    let msgs = sqlx::query(
        "SELECT m.id, m.direction, m.channel, m.sender, m.subject, m.body, m.created_at, m.parse_error, \
         o.id AS outbox_id, o.status AS out_status, o.delivery, o.last_error \
         FROM messages m LEFT JOIN outbox o ON o.message_id = m.id \
         WHERE m.complaint_id = $1 ORDER BY m.id",
    )
    .bind(c.id)
    .fetch_all(&st.core.db.pool)
    .await?;
    let atts = sqlx::query(
        "SELECT a.id, a.message_id, a.filename, a.size FROM attachments a \
         JOIN messages m ON m.id = a.message_id WHERE m.complaint_id = $1 ORDER BY a.id",
    )
    .bind(c.id)
    .fetch_all(&st.core.db.pool)
    .await?;
    let audit = sqlx::query(
        "SELECT actor, action, from_status, to_status, note, at FROM audit WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(c.id)
    .fetch_all(&st.core.db.pool)
    .await?;
    let officers = sqlx::query(
        "SELECT username, display_name FROM officers WHERE active = 1 ORDER BY username",
    )
    .fetch_all(&st.core.db.pool)
    .await?;
    let actions: Vec<crate::workflow::Action> = crate::workflow::Action::ALL
        .into_iter()
        .filter(|a| a.allowed(s.officer.role) && a.transition().0.contains(&c.status.as_str()))
        .collect();
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
        p { (lang.t("Kanal", "Channel")) ": " (c.channel) " · Status: " strong { (c.status) }
            " · " (lang.t("Batas waktu", "Due")) ": " (c.due_date) }
        h2 { (lang.t("Percakapan", "Thread")) }
        @for m in &msgs {
            @let id: i64 = m.try_get("id").unwrap_or(0);
            @let dir: String = m.try_get("direction").unwrap_or_default();
            article.msg {
                p { strong { (if dir == "in" { lang.t("Masuk", "In") } else { lang.t("Keluar", "Out") }) }
                    " · " (m.try_get::<String, _>("channel").unwrap_or_default())
                    " · " (fmt_time(st, m.try_get("created_at").unwrap_or(0)))
                    @if let Ok(Some(st_)) = m.try_get::<Option<String>, _>("out_status") {
                        @let ch_kind = m.try_get::<String, _>("channel").ok().and_then(|c| c.parse::<aduan_channel::ChannelKind>().ok());
                        " · " span.delivery { (st_) @if let Ok(Some(d)) = m.try_get::<Option<String>, _>("delivery") { " / " (d) } }
                        @if st_ == "queued" {
                            @if let Some(k) = ch_kind.filter(|k| !served.is_live(*k)) {
                                " · " span.waiting { (lang.t("menunggu kanal", "waiting for channel")) " " (k.as_str()) }
                            }
                        }
                        @if st_ == "failed" {
                            @let oid: i64 = m.try_get("outbox_id").unwrap_or(0);
                            " "
                            form.inline method="post" action=(format!("/kotak/keluar/{oid}/ulang")) {
                                input type="hidden" name="csrf" value=(s.csrf);
                                input type="hidden" name="register_no" value=(c.register_no);
                                button type="submit" { (lang.t("Kirim ulang", "Retry")) }
                            }
                        }
                    }
                }
                @if let Ok(Some(e)) = m.try_get::<Option<String>, _>("last_error") { p.err { (e) } }
                @if let Ok(Some(e)) = m.try_get::<Option<String>, _>("parse_error") { p.err { (e) } }
                pre style="white-space:pre-wrap" { (m.try_get::<String, _>("body").unwrap_or_default()) }
                @for a in atts.iter().filter(|a| a.try_get::<i64, _>("message_id").ok() == Some(id)) {
                    p { a href=(format!("/kotak/lampiran/{}", a.try_get::<i64, _>("id").unwrap_or(0))) {
                        (a.try_get::<String, _>("filename").unwrap_or_default()) }
                        " (" (a.try_get::<i64, _>("size").unwrap_or(0)) " B)" }
                }
            }
        }
        @if !actions.is_empty() {
            h2 { (lang.t("Tindakan", "Actions")) }
            @for a in &actions {
                form method="post" action=(format!("/kotak/{}/aksi", c.register_no)) {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="action" value=(a.as_str());
                    @if a.needs_note() { input name="note" required placeholder=(lang.t("Catatan", "Note")); " " }
                    @if *a == crate::workflow::Action::Dispose {
                        select name="assignee" {
                            @for o in &officers {
                                option value=(o.try_get::<String, _>("username").unwrap_or_default()) {
                                    (o.try_get::<String, _>("display_name").unwrap_or_default()) }
                            }
                        }
                        " "
                    }
                    button type="submit" name="do" value=(a.as_str()) { (a.as_str()) }
                }
            }
        }
        h2 { (lang.t("Balas", "Reply")) }
        p.targets { (lang.t("Balasan dikirim melalui", "The reply goes through"))
            @for (i, (kind, to)) in targets.iter().enumerate() {
                (if i == 0 { " " } else { lang.t(" dan ", " and ") })
                strong { (kind.as_str()) } " → "
                @match kind {
                    aduan_channel::ChannelKind::Web => (lang.t("halaman lacak", "the tracking page")),
                    aduan_channel::ChannelKind::Counter => (lang.t("diserahkan di loket", "handed over at the counter")),
                    _ => (to.to_string()),
                }
            }
        }
        form method="post" action=(format!("/kotak/{}/balas", c.register_no)) {
            input type="hidden" name="csrf" value=(s.csrf);
            textarea name="text" rows="4" cols="60" required {}
            br;
            button type="submit" { (lang.t("Kirim balasan", "Send reply")) }
        }
        h2 { (lang.t("Jejak audit", "Audit trail")) }
        table { tbody {
            @for a in &audit {
                tr {
                    td { (fmt_time(st, a.try_get("at").unwrap_or(0))) }
                    td { (a.try_get::<String, _>("actor").unwrap_or_default()) }
                    td { (a.try_get::<String, _>("action").unwrap_or_default()) }
                    td { (a.try_get::<Option<String>, _>("from_status").unwrap_or(None).unwrap_or_default())
                         " → " (a.try_get::<Option<String>, _>("to_status").unwrap_or(None).unwrap_or_default()) }
                    td { (a.try_get::<String, _>("note").unwrap_or_default()) }
                }
            }
        } }
    };
    Ok(Some(page(lang, &c.register_no, Some(s), body)))
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    assignee: Option<String>,
}

/// The notices a complaint page shows after an officer's post: a fixed set, named in the
/// redirect by code. A link cannot put other text on an officer's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    ActionDone,
    ReplyQueued,
    Retried,
    NothingToRetry,
}

impl Notice {
    const ALL: [Notice; 4] = [
        Notice::ActionDone,
        Notice::ReplyQueued,
        Notice::Retried,
        Notice::NothingToRetry,
    ];

    fn code(self) -> &'static str {
        match self {
            Notice::ActionDone => "tindakan",
            Notice::ReplyQueued => "balasan",
            Notice::Retried => "ulang",
            Notice::NothingToRetry => "tidak-ada",
        }
    }

    fn parse(code: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.code() == code)
    }

    fn text(self, lang: Lang) -> &'static str {
        match self {
            Notice::ActionDone => lang.t("Tindakan tercatat.", "Action recorded."),
            Notice::ReplyQueued => lang.t("Balasan diantrekan.", "Reply queued."),
            Notice::Retried => lang.t("Dikirim ulang.", "Queued again."),
            Notice::NothingToRetry => lang.t("Tidak ada yang dikirim ulang.", "Nothing to retry."),
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

fn action_error(lang: Lang, s: &WebSession, e: crate::workflow::ActionError) -> Response {
    use crate::workflow::ActionError as E;
    let code = match &e {
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Forbidden { .. } => StatusCode::FORBIDDEN,
        E::WrongStatus { .. } => StatusCode::CONFLICT,
        E::Invalid(_) => StatusCode::BAD_REQUEST,
        E::Db(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    html_response(
        code,
        lang,
        page(
            lang,
            "aduan",
            Some(s),
            html! { p.err role="alert" { (e.to_string()) } },
        ),
        vec![],
    )
}

/// `POST /kotak/{register_no}/aksi`: one SOP action; the role is checked again by the workflow.
pub async fn action(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    axum::extract::Path(no): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(f): Form<ActionForm>,
) -> Response {
    let lang = Lang::of(&headers, &HashMap::new());
    if !s.csrf_ok(Some(&f.csrf)) {
        return forbidden(lang);
    }
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
    let req = crate::workflow::ActionRequest {
        action,
        note: f.note,
        assignee: f.assignee.filter(|a| !a.is_empty()),
    };
    match crate::workflow::apply(&st.core, &s.officer, &no, &req).await {
        Ok(_) => {
            st.core.outbox_wake.notify_waiters();
            back(&no, Notice::ActionDone)
        }
        Err(e) => action_error(lang, &s, e),
    }
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /kotak/{register_no}/balas`.
pub async fn reply(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    axum::extract::Path(no): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(f): Form<ReplyForm>,
) -> Response {
    let lang = Lang::of(&headers, &HashMap::new());
    if !s.csrf_ok(Some(&f.csrf)) {
        return forbidden(lang);
    }
    match crate::workflow::reply(&st.core, &s.officer, &no, &f.text, &[]).await {
        Ok(_) => {
            st.core.outbox_wake.notify_waiters();
            back(&no, Notice::ReplyQueued)
        }
        Err(e) => action_error(lang, &s, e),
    }
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    register_no: String,
}

/// `POST /kotak/keluar/{id}/ulang`: a failed reply back into the queue (roles: the route table).
pub async fn retry(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    headers: HeaderMap,
    Form(f): Form<RetryForm>,
) -> Response {
    let lang = Lang::of(&headers, &HashMap::new());
    if !s.csrf_ok(Some(&f.csrf)) {
        return forbidden(lang);
    }
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

/// The fields the public and the counter form share.
fn complaint_fields(lang: Lang, name: &str, body: &str, file: &str) -> Markup {
    html! {
        p { label { (name) br; input name="name" maxlength="200"; } }
        p { label { "Email" br; input type="email" name="email" maxlength="254"; } }
        p { label { (lang.t("Nomor HP", "Mobile number")) br; input type="tel" name="phone" maxlength="32"; } }
        p { label { (lang.t("Perihal", "Subject")) br; input name="subject" maxlength="300"; } }
        p { label { (body) br; textarea name="body" rows="8" cols="60" required {} } }
        p { label { (file) br; input type="file" name="file"; } }
    }
}

/// The public complaint form's double-submit CSRF cookie.
const FORM_COOKIE: &str = "aduan_form";

fn complaint_form(st: &AppState, lang: Lang, token: &str, error: Option<&str>) -> Markup {
    page(
        lang,
        lang.t("Sampaikan pengaduan", "Submit a complaint"),
        None,
        html! {
            h1 { (lang.t("Sampaikan pengaduan", "Submit a complaint")) " — " (st.core.settings.office_name) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            // The token rides in the URL too, so it is checked before the body is read.
            form method="post" action=(format!("/aduan?t={token}&lang={}", lang.code())) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="lang" value=(lang.code());
                (complaint_fields(
                    lang,
                    lang.t("Nama (boleh dikosongkan)", "Name (optional)"),
                    lang.t("Isi pengaduan", "Your complaint"),
                    lang.t("Lampiran", "Attachment"),
                ))
                button type="submit" { (lang.t("Kirim", "Send")) }
            }
        },
    )
}

/// `GET /aduan`: the public complaint form (the web channel).
pub async fn public_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers, &q);
    let token = session::token();
    let c = session::set_cookie(
        &st.core,
        FORM_COOKIE,
        &token,
        Some(std::time::Duration::from_secs(4 * 3600)),
    );
    html_response(
        StatusCode::OK,
        lang,
        complaint_form(&st, lang, &token, None),
        vec![c],
    )
}

/// `POST /aduan`: registers the complaint and shows the receipt (register number and tracking
/// code); errors re-show the form with the reason.
pub async fn public_submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> Response {
    let headers = req.headers().clone();
    let q: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|Query(q)| q)
        .unwrap_or_default();
    let lang = Lang::of(&headers, &q);
    // Cookie and URL token are compared before anything of the body is read; the rate limit
    // and the upload slot come next (in `submit_form`), then the body is streamed.
    let Some(token) = session::cookie(&headers, FORM_COOKIE).map(str::to_string) else {
        return forbidden(lang);
    };
    if !q
        .get("t")
        .is_some_and(|t| crate::register::ct_eq(t, &token))
    {
        return forbidden(lang);
    }
    match super::api::submit_form(&st, peer, req, &token).await {
        Ok(c) => {
            let track = st.core.settings.track_url(&c.register_no);
            let body = html! {
                h1 { (lang.t("Pengaduan diterima", "Complaint received")) }
                p { (lang.t("Nomor register", "Register number")) ": " strong #register_no { (c.register_no) } }
                p { (lang.t("Kode pelacakan", "Tracking code")) ": " strong #tracking_code { (c.tracking_code) } }
                p { (lang.t("Simpan keduanya untuk melacak pengaduan Anda:", "Keep both to track your complaint:")) " "
                    a href=(format!("{track}?code={}", c.tracking_code)) { (track) } }
            };
            html_response(
                StatusCode::OK,
                lang,
                page(lang, &c.register_no, None, body),
                vec![],
            )
        }
        Err(e) => {
            let code = e.status();
            html_response(
                code,
                lang,
                complaint_form(&st, lang, &token, Some(&e.to_string())),
                vec![],
            )
        }
    }
}

/// The counter page: the intake form, and (with the LAPOR! channel on) linking a LAPOR! report
/// a citizen brings by its tracking id.
fn counter_form(lang: Lang, s: &WebSession, lapor: bool, error: Option<&str>) -> Markup {
    let media = [
        ("walk_in", "Datang langsung", "Walk-in"),
        ("telephone", "Telepon", "Telephone"),
        ("letter", "Surat", "Letter"),
        ("fax", "Faksimile", "Fax"),
        ("complaint_box", "Kotak pengaduan", "Complaint box"),
    ];
    page(
        lang,
        lang.t("Loket pengaduan", "Counter intake"),
        Some(s),
        html! {
            h1 { (lang.t("Loket pengaduan", "Counter intake")) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            @let form_token = session::token();
            form method="post" action=(format!("/kotak/loket?csrf={}&form={form_token}", s.csrf)) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="form" value=(form_token);
                p { label { (lang.t("Cara penyampaian", "Medium")) br;
                    select name="medium" { @for (v, id, en) in media { option value=(v) { (lang.t(id, en)) } } } } }
                (complaint_fields(
                    lang,
                    lang.t("Nama", "Name"),
                    lang.t("Isi pengaduan", "Complaint"),
                    lang.t("Lampiran (pindaian surat, foto)", "Attachment (scanned letter, photo)"),
                ))
                button type="submit" { (lang.t("Daftarkan", "Register")) }
            }
            @if lapor {
                h2 { (lang.t("Tautkan laporan LAPOR!", "Link a LAPOR! report")) }
                form method="post" action="/kotak/loket/lapor" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    p { label { (lang.t("Nomor tracking LAPOR!", "LAPOR! tracking id")) br;
                        input name="tracking_id" required pattern="[A-Za-z0-9-]{1,64}" inputmode="latin"; } }
                    button type="submit" { (lang.t("Tautkan", "Link")) }
                }
            }
        },
    )
}

fn lapor_on(st: &AppState) -> bool {
    st.core
        .channels
        .is_configured(aduan_channel::ChannelKind::Lapor)
}

/// `GET /kotak/loket`: the front office's intake form.
pub async fn counter_page(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers, &q);
    let form = counter_form(lang, &s, lapor_on(&st), None);
    html_response(StatusCode::OK, lang, form, vec![])
}

#[derive(Deserialize)]
pub struct LaporLinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tracking_id: String,
}

/// `POST /kotak/loket/lapor`: links a LAPOR! report and opens its complaint (the one already
/// linked when the report was linked before).
pub async fn counter_lapor_submit(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Form(f): Form<LaporLinkForm>,
) -> Response {
    let lang = Lang::of(&headers, &HashMap::new());
    if !s.csrf_ok(Some(&f.csrf)) {
        return forbidden(lang);
    }
    let linked = match super::api::lapor_link_message(&st, &s.officer, &f.tracking_id).await {
        Ok(msg) => super::api::submit_as_officer(&st, &s.officer, msg).await,
        Err(e) => Err(e),
    };
    match linked {
        Ok(c) => Redirect::to(&format!("/kotak/{}", c.register_no)).into_response(),
        Err(e) => {
            let form = counter_form(lang, &s, lapor_on(&st), Some(&e.to_string()));
            html_response(e.status(), lang, form, vec![])
        }
    }
}

/// `POST /kotak/loket`: registers the complaint and opens its page.
pub async fn counter_submit(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    req: axum::extract::Request,
) -> Response {
    let headers = req.headers().clone();
    let q: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|Query(q)| q)
        .unwrap_or_default();
    let lang = Lang::of(&headers, &q);
    // The CSRF token rides in the URL, checked before the body is streamed.
    if !s.csrf_ok(q.get("csrf").map(String::as_str)) {
        return forbidden(lang);
    }
    let form_token = q.get("form").cloned().unwrap_or_default();
    match super::api::submit_counter_form(&st, &s.officer, req, &form_token).await {
        Ok(c) => Redirect::to(&format!("/kotak/{}", c.register_no)).into_response(),
        Err(e) => html_response(
            e.status(),
            lang,
            counter_form(lang, &s, lapor_on(&st), Some(&e.to_string())),
            vec![],
        ),
    }
}

fn period_of(st: &AppState, q: &HashMap<String, String>) -> Option<crate::recap::Period> {
    match q.get("periode").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(p) => crate::recap::Period::parse(p),
        None => {
            let today = crate::sla::local_date(chrono::Utc::now(), st.core.settings.offset);
            crate::recap::Period::month(
                chrono::Datelike::year(&today),
                chrono::Datelike::month(&today),
            )
        }
    }
}

/// `GET /kotak/rekap?periode=2026-11` (or a day, `2026-11-22`): the printable recap.
pub async fn recap_page(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers, &q);
    let Some(p) = period_of(&st, &q) else {
        return html_response(
            StatusCode::BAD_REQUEST,
            lang,
            page(
                lang,
                "400",
                Some(&s),
                html! {
                p.err { (lang.t("Periode: YYYY-MM atau YYYY-MM-DD", "Period: YYYY-MM or YYYY-MM-DD")) } },
            ),
            vec![],
        );
    };
    let r = match crate::recap::compute(&st.core, p).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "recap");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let h = |v: Option<f64>| v.map(|h| format!("{h:.1}")).unwrap_or_else(|| "-".into());
    let body = html! {
        h1 { (lang.t("Rekapitulasi pengaduan", "Complaint recap")) " " (p.label()) }
        p { (st.core.settings.office_name) }
        form method="get" action="/kotak/rekap" {
            input name="periode" value=(p.label()) placeholder="2026-11 / 2026-11-22";
            " " button type="submit" { (lang.t("Tampilkan", "Show")) }
            " " a href=(format!("/kotak/rekap.csv?periode={}", p.label())) { "CSV" }
        }
        table #recap {
            tr { th { (lang.t("Diterima", "Received")) } td #received { (r.received) } }
            tr { th { (lang.t("Dijawab", "Answered")) } td #answered { (r.answered) } }
            tr { th { (lang.t("Dijawab tepat waktu", "Answered in time")) } td #in_time { (r.answered_in_time) } }
            tr { th { (lang.t("Dijawab terlambat", "Answered late")) } td #late { (r.answered_late) } }
            tr { th { (lang.t("Terbuka melewati batas", "Open and overdue")) } td #overdue { (r.overdue_open) } }
            tr { th { (lang.t("Median waktu jawab (jam)", "Median time to answer (h)")) } td #median { (h(r.median_hours)) } }
            tr { th { (lang.t("P90 waktu jawab (jam)", "P90 time to answer (h)")) } td #p90 { (h(r.p90_hours)) } }
        }
        h2 { (lang.t("Per kanal", "Per channel")) }
        (PreEscaped(crate::recap::svg(&r)))
        table { @for (k, v) in &r.by_channel { tr { th { (k) } td data-channel=(k) { (v) } } } }
        h2 { (lang.t("Per status", "Per status")) }
        table { @for (k, v) in &r.by_status { tr { th { (k) } td data-status=(k) { (v) } } } }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, &p.label(), Some(&s), body),
        vec![],
    )
}

/// `GET /kotak/rekap.csv?periode=…`.
pub async fn recap_csv(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(p) = period_of(&st, &q) else {
        return (StatusCode::BAD_REQUEST, "periode: YYYY-MM or YYYY-MM-DD").into_response();
    };
    match crate::recap::compute(&st.core, p).await {
        Ok(r) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"rekap-{}.csv\"", p.label()),
                ),
            ],
            crate::recap::csv(&p, &r),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "recap csv");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `GET /kotak/dasbor`: open complaints by channel and status, the overdue list, and each
/// channel's health (adapter state, last message received, oldest waiting reply, gauges).
pub async fn dashboard(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers, &q);
    let now = now_ms();
    let pool = &st.core.db.pool;
    let counts = sqlx::query(
        "SELECT channel, status, COUNT(*) AS n FROM complaints WHERE is_open = 1 GROUP BY channel, status ORDER BY channel, status",
    )
    .fetch_all(pool)
    .await;
    let overdue = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT register_no, channel, subject, due_date FROM complaints c \
         WHERE {} ORDER BY due_at LIMIT 50",
        crate::register::overdue_sql("$1")
    )))
    .bind(now)
    .fetch_all(pool)
    .await;
    let last_in = sqlx::query(
        "SELECT channel, MAX(created_at) AS at FROM messages WHERE direction = 'in' GROUP BY channel",
    )
    .fetch_all(pool)
    .await;
    let waiting = sqlx::query(
        "SELECT channel, MIN(created_at) AS at, COUNT(*) AS n FROM outbox WHERE status <> 'sent' AND status <> 'failed' GROUP BY channel",
    )
    .fetch_all(pool)
    .await;
    let (Ok(counts), Ok(overdue), Ok(last_in), Ok(waiting)) = (counts, overdue, last_in, waiting)
    else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let by = |rows: &[sqlx::any::AnyRow], ch: &str, col: &str| -> Option<i64> {
        rows.iter()
            .find(|r| r.try_get::<String, _>("channel").ok().as_deref() == Some(ch))
            .and_then(|r| r.try_get::<Option<i64>, _>(col).ok().flatten())
    };
    let mut health = Vec::new();
    for (kind, ch) in st.core.channels.iter() {
        health.push((kind.as_str(), ch.health().await, ch.gauges()));
    }
    let unserved = match st.core.db.pool.acquire().await {
        Ok(mut conn) => crate::presence::waiting_unserved(&mut conn, &st.core)
            .await
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let body = html! {
        h1 { (lang.t("Dasbor", "Dashboard")) }
        h2 { (lang.t("Pengaduan terbuka", "Open complaints")) }
        table #open_counts {
            tr { th { (lang.t("Kanal", "Channel")) } th { "Status" } th { (lang.t("Jumlah", "Count")) } }
            @for r in &counts {
                tr { td { (r.try_get::<String, _>("channel").unwrap_or_default()) }
                     td { (r.try_get::<String, _>("status").unwrap_or_default()) }
                     td { (r.try_get::<i64, _>("n").unwrap_or(0)) } }
            }
        }
        h2 { (lang.t("Melewati batas waktu", "Overdue")) " (" (overdue.len()) ")" }
        table #overdue {
            @for r in &overdue {
                @let no = r.try_get::<String, _>("register_no").unwrap_or_default();
                tr.overdue { td { a href=(format!("/kotak/{no}")) { (no) } }
                     td { (r.try_get::<String, _>("channel").unwrap_or_default()) }
                     td { (r.try_get::<String, _>("subject").unwrap_or_default()) }
                     td { (r.try_get::<String, _>("due_date").unwrap_or_default()) } }
            }
        }
        @if !unserved.is_empty() {
            h2 { (lang.t("Balasan menunggu kanal yang tidak berjalan", "Replies waiting for a channel no daemon runs")) }
            ul #unserved {
                @for (k, n) in &unserved {
                    li.err data-channel=(k.as_str()) { (lang.t("menunggu kanal", "waiting for channel")) " " (k.as_str()) ": " (n) }
                }
            }
        }
        h2 { (lang.t("Kesehatan kanal", "Channel health")) }
        table #health {
            tr { th { (lang.t("Kanal", "Channel")) } th { "" } th { (lang.t("Pesan masuk terakhir", "Last message in")) }
                 th { (lang.t("Balasan menunggu (tertua)", "Replies waiting (oldest)")) } th { (lang.t("Ukuran", "Gauges")) } }
            @for (kind, h, gauges) in &health {
                tr data-channel=(kind) {
                    td { (kind) }
                    td { @if h.ready { "✔ " } @else { span.err { "✘ " } } (h.detail) }
                    td { @if let Some(t) = by(&last_in, kind, "at") { (fmt_time(&st, t)) } @else { "-" } }
                    td { @if let Some(n) = by(&waiting, kind, "n") {
                            (n) " (" (((now - by(&waiting, kind, "at").unwrap_or(now)) / 60_000)) " " (lang.t("menit", "min")) ")"
                         } @else { "0" } }
                    td { @for g in gauges {
                            (g.name) @for (k, v) in &g.labels { " " (k) "=" (v) } ": " (g.value) br;
                         } }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, lang.t("Dasbor", "Dashboard"), Some(&s), body),
        vec![],
    )
}

/// Percent-encodes a query value.
fn url_encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

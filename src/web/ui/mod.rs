//! The officers' web pages and the public form, server-rendered (maud escapes every value),
//! one module per page: `auth` (login, logout, password), `inbox`, `complaint`, `forms` (public
//! form, counter), `reports` (recap, dashboard); the layout, the language and the form
//! extractor here. Bahasa Indonesia by default, English with `?lang=en` (remembered in a
//! cookie). Works without JavaScript.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use super::session::{self, WebSession};
use super::AppState;
use crate::db::now_ms;

mod auth;
mod complaint;
mod forms;
mod inbox;
mod reports;

pub use auth::*;
pub use complaint::*;
pub use forms::*;
pub use inbox::*;
pub use reports::*;

pub use aduan_channel::Lang;

/// The page language: `?lang=` first, then the `aduan_lang` cookie; Bahasa Indonesia unless
/// either says `en`.
fn page_lang(headers: &HeaderMap, q: &HashMap<String, String>) -> Lang {
    let v = q
        .get("lang")
        .cloned()
        .or_else(|| session::cookie(headers, "aduan_lang"));
    if v.as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::Id
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330}\
header{background:#0b4f6c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\
header a{color:#fff}header button.logout{background:#fff;color:#0b4f6c;border:1px solid #fff;border-radius:3px;cursor:pointer}\
main{padding:1rem;max-width:80rem;margin:auto;overflow-wrap:anywhere}\
.msg pre{font-family:inherit;white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0 1rem}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}\
.overdue{background:#fde2e1}.err{color:#a40000}form.inline{display:inline}\
input,select,button,textarea{font:inherit;padding:.3rem}textarea{width:100%;max-width:48rem;box-sizing:border-box}@media(max-width:40rem){td:nth-child(n+5),th:nth-child(n+5){display:none}}\
@media print{header,form{display:none}main{max-width:none;padding:0}}";

fn page(lang: Lang, title: &str, who: Option<&WebSession>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
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
                        a href="/kotak" { (lang.pick("Kotak masuk", "Inbox")) }
                        a href="/kotak/dasbor" { (lang.pick("Dasbor", "Dashboard")) }
                        a href="/kotak/rekap" { (lang.pick("Rekap", "Recap")) }
                        @if matches!(s.officer.role, crate::workflow::Role::FrontOffice | crate::workflow::Role::Admin) {
                            a href="/kotak/loket" { (lang.pick("Loket", "Counter")) }
                        }
                        span { (s.officer.display_name) " (" (crate::web::words::role(s.officer.role, lang)) ")" }
                        form.inline method="post" action="/keluar" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button.logout type="submit" { (lang.pick("Log keluar", "Log out")) }
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
    let remembered = axum_extra::extract::cookie::Cookie::build(("aduan_lang", lang.as_str()))
        .path("/")
        .same_site(axum_extra::extract::cookie::SameSite::Lax)
        .build();
    if let Ok(v) = remembered.to_string().parse() {
        h.append(header::SET_COOKIE, v);
    }
    r
}

fn forbidden(lang: Lang) -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        lang,
        page(
            lang,
            "403",
            None,
            html! { h1 { "403" } p { (lang.pick("Formulir kedaluwarsa atau tidak sah; muat ulang halaman.", "The form expired or is not valid; reload the page.")) } },
        ),
        vec![],
    )
}

/// A form an officer posted from a page of their session, its CSRF token (`csrf`) checked
/// before a field is looked at: the handler gets the session, the page language and the
/// fields. A wrong or missing token is answered with the "form expired" page (403). The one
/// check every officer form goes through.
pub struct CsrfForm<T> {
    pub session: WebSession,
    pub lang: Lang,
    pub form: T,
}

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, st: &AppState) -> Result<Self, Response> {
        #[derive(Deserialize)]
        struct Token {
            #[serde(default)]
            csrf: String,
        }
        let lang = page_lang(req.headers(), &HashMap::new());
        let Some(session) = req.extensions().get::<WebSession>().cloned() else {
            return Err(forbidden(lang));
        };
        // The body limit is the route's (`OFFICER_BODY_LIMIT`).
        let body = axum::body::Bytes::from_request(req, st)
            .await
            .map_err(|_| forbidden(lang))?;
        let token: Token = serde_urlencoded::from_bytes(&body).map_err(|_| forbidden(lang))?;
        if !session.csrf_ok(Some(&token.csrf)) {
            return Err(forbidden(lang));
        }
        let Ok(form) = serde_urlencoded::from_bytes::<T>(&body) else {
            return Err(html_response(
                StatusCode::BAD_REQUEST,
                lang,
                page(
                    lang,
                    "400",
                    Some(&session),
                    html! { p.err role="alert" { (lang.pick("Isian formulir tidak terbaca.", "The form could not be read.")) } },
                ),
                vec![],
            ));
        };
        Ok(CsrfForm {
            session,
            lang,
            form,
        })
    }
}

/// A form with no fields but its token (log-out).
#[derive(Deserialize)]
pub struct NoFields {}

fn fmt_time(st: &AppState, ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&st.core.settings.offset)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
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

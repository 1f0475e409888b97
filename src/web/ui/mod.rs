//! The officers' web pages and the public form, server-rendered (maud escapes every value),
//! one module per page: `auth` (login, logout, password), `inbox`, `complaint`, `forms` (public
//! form, counter), `reports` (recap, dashboard); the layout, the language and the form
//! extractor here. Bahasa Indonesia by default, English with `?lang=en` (remembered in a
//! cookie). Works without JavaScript.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use super::session::{self, WebSession};
use super::AppState;
use crate::db::now_ms;

mod account;
mod auth;
mod case;
mod complaint;
mod desk;
mod forms;
mod inbox;
mod outcome;
mod reports;

pub use account::*;
pub use auth::*;
pub use complaint::*;
pub use desk::*;
pub use forms::*;
pub use inbox::*;
pub use reports::*;

pub use aduan_channel::Lang;

/// The page language: `?lang=` first, then the `aduan_lang` cookie; Bahasa Indonesia unless
/// either says `en`.
pub(crate) fn page_lang(headers: &HeaderMap, q: &HashMap<String, String>) -> Lang {
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

/// The pages' stylesheet, a file of its own (`style.css`), inlined in each page.
const STYLE: &str = include_str!("style.css");

fn page(lang: Lang, title: &str, who: Option<&WebSession>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title {
                    @if let Some(n) = who.and_then(|s| s.new_count).filter(|n| *n > 0) { "(" (new_count_text(n)) ") " }
                    (title) " — aduan"
                }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#isi" { (lang.pick("Langsung ke isi", "Skip to content")) }
                header {
                    strong { "aduan" }
                    @if let Some(s) = who {
                        a href="/kotak" { (lang.pick("Kotak masuk", "Inbox"))
                            @if let Some(n) = s.new_count.filter(|n| *n > 0) {
                                " " span.badge title=(lang.pick("pengaduan baru belum dibuka", "new complaints not opened")) { (new_count_text(n)) " " (lang.pick("baru", "new")) }
                            }
                        }
                        a href="/kotak/dasbor" { (lang.pick("Dasbor", "Dashboard")) }
                        a href="/kotak/rekap" { (lang.pick("Rekap", "Recap")) }
                        @if s.officer.role == crate::workflow::Role::Admin {
                            a href="/kotak/template-balasan" { (lang.pick("Template balasan", "Canned replies")) }
                        }
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
                main id="isi" { (body) }
            }
        }
    }
}

/// The policy of every page: nothing from elsewhere; inline styles; the pages' own scripts
/// by hash (no other script runs); fetches only to this origin (the inbox's refresh).
static PAGE_CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine;
    use sha2::Digest;
    let hashes: Vec<String> = SCRIPTS
        .iter()
        .map(|js| {
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(js))
            )
        })
        .collect();
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; script-src {}; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        hashes.join(" ")
    )
});

/// Every script a page may carry (each allowed by its hash in [`PAGE_CSP`]).
const SCRIPTS: &[&str] = &[inbox::INBOX_JS];

/// A page's script: one of [`SCRIPTS`], inline.
fn script(js: &'static str) -> Markup {
    debug_assert!(SCRIPTS.contains(&js));
    html! { script { (PreEscaped(js)) } }
}

/// The new count as the navigation says it ("99+" from the cap).
fn new_count_text(n: i64) -> String {
    if n >= crate::register::workspace::NEW_COUNT_CAP {
        format!("{}+", crate::register::workspace::NEW_COUNT_CAP - 1)
    } else {
        n.to_string()
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
        HeaderValue::from_str(&PAGE_CSP).unwrap_or(HeaderValue::from_static("default-src 'none'")),
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

/// A page the officer's role may not open: said in their language, with the way to the inbox.
pub fn not_for_role(headers: &HeaderMap, s: &WebSession) -> Response {
    let lang = page_lang(headers, &HashMap::new());
    html_response(
        StatusCode::FORBIDDEN,
        lang,
        page(
            lang,
            "403",
            Some(s),
            html! {
                p.err role="alert" { (lang.pick("Halaman ini bukan untuk", "This page is not for the")) " " (crate::web::words::role(s.officer.role, lang)) "." }
                p { a href="/kotak" { (lang.pick("Ke kotak masuk", "To the inbox")) } }
            },
        ),
        vec![],
    )
}

/// A 403 page saying, in words, what the officer may not open and why.
pub fn refused(lang: Lang, why: &str) -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        lang,
        page(
            lang,
            "403",
            None,
            html! {
                p.err role="alert" { (why) }
                p { a href="/kotak" { (lang.pick("Ke kotak masuk", "To the inbox")) } }
            },
        ),
        vec![],
    )
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

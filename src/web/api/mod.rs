//! Handlers of the JSON API, by resource: `complaints`, `public` (tracking), `hooks` (provider
//! calls), `outbox`; health, readiness, metrics and the officer's own record here. Submissions
//! are read and registered by `web::submission`, shared with the pages.

use std::collections::HashMap;
use std::net::SocketAddr;

use aduan_channel::ChannelKind;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::submission::*;
use super::{client_ip, ApiError, AppState};
use crate::db::now_ms;
use crate::intake;
use crate::register::identity::IdentityView;
use crate::register::{self, ct_eq, Complaint};
use crate::workflow::{self, ActionRequest, Officer};

mod complaints;
mod files;
mod hooks;
mod outbox;
mod public;

pub use complaints::*;
pub use files::*;
pub use hooks::*;
pub use outbox::*;
pub use public::*;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The officer a file or answer is served to: the bearer token's (API) or the web session's
/// (pages), for the handlers both share.
pub struct Reader {
    pub officer: Officer,
    /// Whether the request came from an officer page (refusals in words, not JSON).
    pub page: bool,
}

impl Reader {
    /// A refusal of something this officer's role may not see: a page in the officer's
    /// language, or the API's JSON error.
    pub fn refuse(&self, headers: &HeaderMap, id: &str, en: &str) -> Response {
        if self.page {
            let lang = super::ui::page_lang(headers, &HashMap::new());
            super::ui::refused(lang, lang.pick(id, en))
        } else {
            ApiError::Forbidden(en.to_string()).into_response()
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        if let Some(o) = parts.extensions.get::<Officer>() {
            return Ok(Reader {
                officer: o.clone(),
                page: false,
            });
        }
        match parts.extensions.get::<super::session::WebSession>() {
            Some(s) => Ok(Reader {
                officer: s.officer.clone(),
                page: true,
            }),
            None => Err(ApiError::Unauthorized),
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the register and every channel are ready, else 503. Strangers get
/// the verdict only; the details (which channel, which error) go to officers (a bearer token or
/// a web session) and to loopback callers when no proxy forwards.
pub async fn readyz(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    // The register's answer and the caller's standing are asked for together, each for at
    // most REGISTER_ANSWER: a hanging database makes this a quick 503, not a hang.
    let answer = crate::metrics::REGISTER_ANSWER;
    let (pinged, details) = tokio::join!(
        tokio::time::timeout(answer, st.core.db.ping()),
        tokio::time::timeout(answer, may_see_details(&st, peer, &headers)),
    );
    let db_ok = matches!(pinged, Ok(Ok(())));
    let mut channels = serde_json::Map::new();
    let mut all_ready = db_ok;
    for (kind, ch) in st.core.channels.iter() {
        let h = st.core.channels.health_of(*kind, ch).await;
        all_ready &= h.ready;
        channels.insert(
            kind.to_string(),
            json!({ "ready": h.ready, "detail": h.detail }),
        );
    }
    let code = if all_ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !details.unwrap_or(false) {
        return (code, Json(json!({ "ready": all_ready }))).into_response();
    }
    // Replies queued for a channel that no daemon on this register runs now: they wait.
    let mut waiting = serde_json::Map::new();
    let unserved = async {
        let mut conn = st.core.db.pool.acquire().await?;
        crate::presence::waiting_unserved(&mut conn, &st.core).await
    };
    if db_ok {
        if let Ok(Ok(w)) = tokio::time::timeout(answer, unserved).await {
            for (k, n) in w {
                waiting.insert(k.to_string(), json!(n));
            }
        }
    }
    // The working calendar: a gap does not make the daemon unready (it still takes
    // complaints), but its due dates would count weekends only.
    let cal = crate::workflow::calendar::status(&st.core.calendar, st.core.clock.now());
    let calendar = json!({
        "covered_years": cal.covered,
        "gap_year": cal.gap,
        "to_confirm": cal.to_confirm.iter().map(|(d, n)| json!({ "date": d.to_string(), "name": n })).collect::<Vec<_>>(),
    });
    (
        code,
        Json(json!({ "ready": all_ready, "register": { "ready": db_ok, "backend": st.core.db.backend.as_str() },
                     "channels": channels, "waiting_for_channel": waiting, "calendar": calendar })),
    )
        .into_response()
}

/// Whether a caller may see operational details: an officer, or a loopback caller that no
/// proxy stands in for.
async fn may_see_details(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    if peer.ip().is_loopback() && !st.trust_forwarded_for {
        return true;
    }
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        if matches!(
            super::officer_by_token(&st.core, t.trim()).await,
            Ok(Some(_))
        ) {
            return true;
        }
    }
    matches!(
        super::session::from_headers(&st.core, headers).await,
        Ok(Some(_))
    )
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    let body = crate::metrics::render(&st.core).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// A numeric id from the path; anything else is a JSON 404 like an unknown id.
fn parse_id(id: &str, what: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("{what} {id} not found")))
}

pub fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub async fn me(Extension(officer): Extension<Officer>) -> Json<Officer> {
    Json(officer)
}

/// `GET /api/v1/officers` (admin).
pub async fn officers(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    let rows = crate::officers::list(&st.core.db).await?;
    Ok(Json(json!({ "items": rows })))
}

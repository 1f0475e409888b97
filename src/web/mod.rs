//! HTTP: the public complaint API (the web channel) and tracking, the officer API, health and
//! metrics. Only this module knows axum.
//!
//! Authorization is decided in one place: [`ROUTES`] lists every route with the roles that may
//! call it, and the [`authorize`] middleware checks the bearer token and role of every request
//! against it before any handler runs. A route missing from the table is refused (fail closed).

mod api;
mod error;
mod pages;
mod ratelimit;
pub mod server;
pub mod session;
mod submission;
pub mod ui;
pub mod words;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::set_header::SetResponseHeaderLayer;

pub use api::ms_to_rfc3339;
pub use error::ApiError;

use crate::state::Shared;
use crate::workflow::Officer;

/// A rating form is a tracking code, a digit and a language.
pub(crate) const RATE_BODY_LIMIT: usize = 1024;

mod routes;
pub use routes::{Access, RouteSpec, ROUTES};
pub(crate) use routes::{FILE_ROUTES, OUTBOX_ROLES};

#[derive(Clone)]
pub struct AppState {
    pub core: Shared,
    /// Public submissions per client address.
    pub limiter: Arc<ratelimit::Limiter>,
    /// Public tracking look-ups per client address.
    pub track_limiter: Arc<ratelimit::Limiter>,
    pub max_body_bytes: usize,
    pub trust_forwarded_for: bool,
    pub trusted_proxy_hops: usize,
    /// Password checks (argon2, ~19 MiB each) on a bounded set of threads.
    pub login_slots: Arc<session::PasswordChecker>,
    /// Complaint submissions whose bodies are being read at once.
    pub upload_slots: Arc<tokio::sync::Semaphore>,
    /// The register's key for login form tokens, read once.
    pub login_key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
}

impl AppState {
    /// The key that signs login form tokens (the register's `login_csrf` secret).
    pub async fn login_key(&self) -> sqlx::Result<Vec<u8>> {
        self.login_key
            .get_or_try_init(|| async {
                let hex_key =
                    crate::register::sessions::secret(&self.core.db, "login_csrf").await?;
                Ok::<_, sqlx::Error>(hex::decode(hex_key).unwrap_or_default())
            })
            .await
            .cloned()
    }
}

/// Whether a request declares (`Content-Length`) a body far over `limit`: refused before a byte
/// of it is read. A body a little over the limit is read up to the limit and then refused, so
/// the client, still sending, gets the answer instead of a reset connection; either way no
/// more than `limit` bytes are ever held.
pub fn declares_more_than(headers: &axum::http::HeaderMap, limit: usize) -> bool {
    const SLACK: u64 = 1024 * 1024;
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64 + SLACK)
}

/// The client's address: the peer, or — behind `trusted_proxy_hops` proxies of the office's
/// own — the `X-Forwarded-For` entry the outermost of them appended (that many from the
/// right). Entries further left are whatever the client sent and are never trusted.
pub(crate) fn client_ip(
    st: &AppState,
    peer: std::net::SocketAddr,
    headers: &axum::http::HeaderMap,
) -> std::net::IpAddr {
    if st.trust_forwarded_for {
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        if let Some(ip) = entries
            .len()
            .checked_sub(st.trusted_proxy_hops.max(1))
            .and_then(|i| entries[i].parse().ok())
        {
            return ip;
        }
    }
    peer.ip()
}

/// Body limits of the routes that are not complaint submissions.
pub const LOGIN_BODY_LIMIT: usize = 4 * 1024;
pub const OFFICER_BODY_LIMIT: usize = 1024 * 1024;

pub fn router(core: Shared, web: &crate::config::WebConfig) -> Router {
    let state = AppState {
        core,
        limiter: Arc::new(ratelimit::Limiter::new(web.submit_rate_per_minute)),
        track_limiter: Arc::new(ratelimit::Limiter::new(web.track_rate_per_minute)),
        max_body_bytes: web.max_body_bytes,
        trust_forwarded_for: web.trust_forwarded_for,
        trusted_proxy_hops: web.trusted_proxy_hops,
        login_slots: Arc::new(session::PasswordChecker::new(
            std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
        )),
        upload_slots: Arc::new(tokio::sync::Semaphore::new(web.max_concurrent_uploads)),
        login_key: Arc::new(tokio::sync::OnceCell::new()),
    };
    // Complaint submissions may carry files; their handlers check the rate limit (and the form
    // cookie) first, wait for an upload slot, then stream the body to its limit.
    let upload = DefaultBodyLimit::max(web.max_body_bytes);
    let r = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route(
            "/api/v1/complaints",
            post(api::submit).get(api::list).layer(upload),
        )
        .route("/api/v1/track/{register_no}", get(api::track))
        .route("/lacak/{register_no}", get(pages::track_page))
        .route("/", get(root))
        .route("/lacak/{register_no}/surat", get(pages::track_letter))
        .route(
            "/lacak/{register_no}/nilai",
            get(pages::rate_page)
                .post(pages::rate_page)
                .layer(DefaultBodyLimit::max(RATE_BODY_LIMIT)),
        )
        .route("/kotak/{register_no}/surat/{kind}", get(api::letter))
        .route("/kotak/{register_no}/serah", post(ui::handover))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/complaints/{register_no}", get(api::show))
        .route(
            "/api/v1/complaints/{register_no}/actions",
            post(api::action).layer(upload),
        )
        .route("/api/v1/documents/{id}", get(api::document))
        .route("/api/v1/units", get(api::units))
        .route("/kotak/dokumen/{id}", get(api::document))
        .route(
            "/kotak/{register_no}/bap",
            post(ui::record_field_review).layer(upload),
        )
        .route(
            "/api/v1/complaints/{register_no}/replies",
            post(api::reply).layer(upload),
        )
        .route(
            "/api/v1/complaints/{register_no}/handover",
            post(api::handover),
        )
        .route(
            "/api/v1/complaints/{register_no}/letters/{kind}",
            get(api::letter),
        )
        .route("/api/v1/attachments/{id}", get(api::attachment))
        .route("/api/v1/counter", post(api::counter).layer(upload))
        .route("/api/v1/lapor", post(api::lapor_link))
        .route("/hooks/{channel}", get(api::webhook).post(api::webhook))
        .route(
            "/aduan",
            get(ui::public_form).post(ui::public_submit).layer(upload),
        )
        .route(
            "/masuk",
            get(ui::login_page)
                .post(ui::login_submit)
                .layer(DefaultBodyLimit::max(LOGIN_BODY_LIMIT)),
        )
        .route("/keluar", post(ui::logout))
        .route("/akun/sandi", post(ui::change_password))
        .route("/akun/pemberitahuan", post(ui::notify_prefs))
        .route("/akun/pemberitahuan/kode", post(ui::notify_confirm))
        .route("/kotak", get(ui::inbox))
        .route(
            "/kotak/loket",
            get(ui::counter_page).post(ui::counter_submit).layer(upload),
        )
        .route("/kotak/loket/lapor", post(ui::counter_lapor_submit))
        .route("/kotak/dasbor", get(ui::dashboard))
        .route("/kotak/rekap", get(ui::recap_page))
        .route("/kotak/rekap.csv", get(ui::recap_csv))
        .route("/kotak/massal", post(ui::bulk))
        .route("/kotak/berikutnya", get(ui::next))
        .route(
            "/kotak/template-balasan",
            get(ui::canned_page).post(ui::canned_save),
        )
        .route("/kotak/{register_no}/ambil", post(ui::take))
        .route("/kotak/{register_no}/tugaskan", post(ui::assign))
        .route("/kotak/{register_no}/catatan", post(ui::note))
        .route("/kotak/{register_no}", get(ui::complaint))
        .route("/kotak/{register_no}/aksi", post(ui::action))
        .route("/kotak/{register_no}/balas", post(ui::reply))
        .route("/kotak/keluar/{id}/ulang", post(ui::retry))
        .route("/kotak/keluar/{id}/alihkan", post(ui::reroute))
        .route("/kotak/keluar/{id}/batal", post(ui::withdraw))
        .route("/kotak/lampiran/{id}", get(api::attachment))
        .route("/api/v1/outbox", get(api::outbox_list))
        .route("/api/v1/outbox/{id}/retry", post(api::outbox_retry))
        .route("/api/v1/officers", get(api::officers))
        .fallback(api::not_found);
    r.layer(middleware::from_fn_with_state(state.clone(), authorize))
        .layer(DefaultBodyLimit::max(OFFICER_BODY_LIMIT))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            std::time::Duration::from_secs(web.body_idle_timeout_secs),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(web.request_timeout_secs),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        // Every answer: never framed, never sniffed, no referrer to other sites.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// `GET /`: an officer with a session goes to the inbox, everyone else to the public
/// complaint form.
async fn root(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    match session::from_headers(&st.core, &headers).await {
        Ok(Some(_)) => axum::response::Redirect::to("/kotak").into_response(),
        _ => axum::response::Redirect::to("/aduan").into_response(),
    }
}

/// Counts every request and how long its answer took (`/metrics`).
async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    st.core.metrics.http_request();
    let r = next.run(req).await;
    st.core.metrics.http_duration(started.elapsed());
    r
}

/// Finds the route spec for a request.
pub fn spec_for(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method.as_str())
}

async fn authorize(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
    else {
        return next.run(req).await; // the fallback: 404
    };
    let roles = match spec_for(req.method(), &path).map(|s| s.access) {
        Some(Access::Public) => return next.run(req).await,
        Some(Access::Officers(roles)) => roles,
        Some(Access::Session(roles)) => {
            return match session::from_headers(&st.core, req.headers()).await {
                Ok(Some(mut s)) if roles.contains(&s.officer.role) => {
                    // Pages show the new count; files, exports and redirects need none.
                    if req.method() == Method::GET && !FILE_ROUTES.contains(&path.as_str()) {
                        s.new_count =
                            crate::register::workspace::new_count(&st.core.db, s.officer.id)
                                .await
                                .ok();
                    }
                    req.extensions_mut().insert(s);
                    next.run(req).await
                }
                Ok(Some(s)) => ui::not_for_role(req.headers(), &s),
                Ok(None) => axum::response::Redirect::to("/masuk").into_response(),
                Err(e) => ApiError::Unexpected(e.into()).into_response(),
            };
        }
        None if req.method() == Method::HEAD || req.method() == Method::OPTIONS => {
            return ApiError::MethodNotAllowed.into_response()
        }
        // A route without a table entry: refuse rather than guess.
        None => return ApiError::MethodNotAllowed.into_response(),
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return ApiError::Unauthorized.into_response();
    };
    let officer = match officer_by_token(&st.core, token).await {
        Ok(Some(o)) => o,
        Ok(None) => return ApiError::Unauthorized.into_response(),
        Err(e) => return ApiError::Unexpected(e.into()).into_response(),
    };
    if !roles.contains(&officer.role) {
        return ApiError::Forbidden(format!(
            "role {} may not call {} {path}",
            officer.role,
            req.method()
        ))
        .into_response();
    }
    req.extensions_mut().insert(officer);
    next.run(req).await
}

/// The active officer holding this token (tokens are stored as sha256 digests).
pub async fn officer_by_token(core: &Shared, token: &str) -> sqlx::Result<Option<Officer>> {
    crate::register::officers::active_by_token(&core.db, token).await
}

/// Serves until `shutdown` is cancelled, then lets in-flight requests finish; connections are
/// capped and timed (see [`server`]).
pub async fn serve(
    listener: TcpListener,
    core: Shared,
    web: &crate::config::WebConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let metrics_core = core.clone();
    let app = router(core, web);
    server::serve(
        listener,
        app,
        server::Limits::from_config(web),
        Arc::new(move |e| metrics_core.metrics.connection(e)),
        shutdown,
    )
    .await
}

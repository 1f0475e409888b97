//! Handlers of the JSON API.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use aduan_channel::{
    normalize_email, normalize_phone, Address, Attachment, ChannelKind, CounterMedium, Disposition,
    InboundMessage,
};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::{ApiError, AppState};
use crate::db::{now_ms, opt_str};
use crate::intake;
use crate::register::{self, ct_eq, Bind, Complaint, COMPLAINT_COLUMNS};
use crate::workflow::{self, ActionRequest, Officer};

type ApiResult<T> = Result<T, ApiError>;

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
    let db_ok = st.core.db.ping().await.is_ok();
    let mut channels = serde_json::Map::new();
    let mut all_ready = db_ok;
    for (kind, ch) in st.core.channels.iter() {
        let h = ch.health().await;
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
    if !may_see_details(&st, peer, &headers).await {
        return (code, Json(json!({ "ready": all_ready }))).into_response();
    }
    // Replies queued for a channel that no daemon on this register runs now: they wait.
    let mut waiting = serde_json::Map::new();
    if let Ok(mut conn) = st.core.db.pool.acquire().await {
        if let Ok(w) = crate::presence::waiting_unserved(&mut conn, &st.core).await {
            for (k, n) in w {
                waiting.insert(k.to_string(), json!(n));
            }
        }
    }
    (
        code,
        Json(json!({ "ready": all_ready, "register": { "ready": db_ok, "backend": st.core.db.backend.as_str() },
                     "channels": channels, "waiting_for_channel": waiting })),
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

/// What a complainant (web) or the front office (counter) fills in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    body: String,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterSubmission {
    medium: CounterMedium,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    body: String,
    #[serde(default)]
    lang: Option<String>,
}

fn limit_len(field: &str, v: &Option<String>, max: usize) -> ApiResult<Option<String>> {
    let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match v {
        Some(s) if s.chars().count() > max => Err(ApiError::Validation(format!(
            "`{field}` is longer than {max} characters"
        ))),
        // Single-line fields: a line break in a name or subject would put the submitter's
        // text on lines of its own in an official message.
        Some(s)
            if s.chars()
                .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}') =>
        {
            Err(ApiError::Validation(format!(
                "`{field}` must be a single line without control characters"
            )))
        }
        other => Ok(other.map(str::to_string)),
    }
}

/// Validates a submission into an inbound message (external id still to be set).
fn to_inbound(
    st: &AppState,
    channel: ChannelKind,
    s: Submission,
    attachments: Vec<Attachment>,
) -> ApiResult<InboundMessage> {
    let body = s.body.trim();
    if body.is_empty() {
        return Err(ApiError::Validation("`body` must not be empty".into()));
    }
    let max = st.core.settings.max_text_chars;
    if body.chars().count() > max {
        return Err(ApiError::Validation(format!(
            "`body` is longer than {max} characters"
        )));
    }
    let name = limit_len("name", &s.name, 100)?;
    let subject = limit_len("subject", &s.subject, 300)?;
    let email = match limit_len("email", &s.email, 254)? {
        Some(e) => Some(normalize_email(&e).ok_or_else(|| {
            ApiError::Validation(format!("`email` is not an email address: {e}"))
        })?),
        None => None,
    };
    let phone = match limit_len("phone", &s.phone, 32)? {
        Some(p) => Some(normalize_phone(&p).ok_or_else(|| {
            ApiError::Validation(format!(
                "`phone` is not a phone number: {p} (e.g. 0812-3456-7890)"
            ))
        })?),
        None => None,
    };
    let lang = match s.lang.as_deref() {
        None | Some("") => None,
        Some(l @ ("id" | "en")) => Some(l.to_string()),
        Some(l) => {
            return Err(ApiError::Validation(format!(
                "`lang` must be `id` or `en`, not `{l}`"
            )))
        }
    };
    let contacts: Vec<Address> = email
        .map(Address::Email)
        .into_iter()
        .chain(phone.map(Address::Phone))
        .collect();
    // A typed address proves nothing: it is a contact of this complaint, never its sender.
    let mut msg = InboundMessage::new(channel, String::new(), Address::None, body);
    msg.contacts = contacts;
    msg.display_name = name;
    msg.subject = subject;
    msg.lang = lang;
    msg.attachments = attachments;
    Ok(msg)
}

/// The idempotency key of a submission. With an `Idempotency-Key` header it is the key plus a
/// digest of the content, so a retry of the same form lands once while a guessed key never
/// returns someone else's register number and tracking code.
fn external_id(headers: &HeaderMap, prefix: &str, msg: &InboundMessage) -> ApiResult<String> {
    match headers.get("idempotency-key") {
        Some(v) => {
            let k = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("Idempotency-Key must be ASCII".into()))?;
            if k.is_empty() || k.len() > 200 {
                return Err(ApiError::BadRequest(
                    "Idempotency-Key must be 1-200 characters".into(),
                ));
            }
            let mut content = format!(
                "{}\n{}\n{}\n{}",
                msg.sender.to_key(),
                msg.display_name.as_deref().unwrap_or(""),
                msg.subject.as_deref().unwrap_or(""),
                msg.text
            );
            for c in &msg.contacts {
                content.push_str(&c.to_key());
            }
            for a in &msg.attachments {
                content.push_str(&register::sha256_hex(&a.data));
            }
            let digest = register::sha256_hex(content.as_bytes());
            Ok(format!("{prefix}-key:{k}:{}", &digest[..16]))
        }
        None => Ok(format!(
            "{prefix}-{}-{}",
            now_ms(),
            register::tracking_code()
        )),
    }
}

/// The client's address: the peer, or — behind `trusted_proxy_hops` proxies of the office's
/// own — the `X-Forwarded-For` entry the outermost of them appended (that many from the
/// right). Entries further left are whatever the client sent and are never trusted.
pub(super) fn client_ip(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
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

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// How long a submission waits for an upload slot before it is answered 503.
const UPLOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A submission's body as read: the JSON value of its fields, its attachments, and the upload
/// slot it holds until it is registered (dropped with it).
struct Form {
    fields: Value,
    files: Vec<Attachment>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// Reads the JSON or multipart body of a submission. At most `web.max_concurrent_uploads`
/// submissions are read and registered at once (the caller keeps the slot until the register
/// has its files); a multipart body is streamed field by field, each file up to
/// `intake.max_attachment_bytes` and each text field up to what a complaint text may hold, so a
/// request never holds more than its limits.
async fn read_form(st: &AppState, req: Request) -> ApiResult<Form> {
    if super::declares_more_than(req.headers(), st.max_body_bytes) {
        return Err(ApiError::TooLarge(format!(
            "request body is over the {}-byte limit",
            st.max_body_bytes
        )));
    }
    let slot = tokio::time::timeout(UPLOAD_WAIT, st.upload_slots.clone().acquire_owned())
        .await
        .map_err(|_| ApiError::Busy)?
        .map_err(|_| ApiError::Busy)?;
    if is_multipart(req.headers()) {
        let mut mp = Multipart::from_request(req, st)
            .await
            .map_err(|e| ApiError::BadRequest(format!("bad multipart body: {e}")))?;
        let mut fields = serde_json::Map::new();
        let mut files = Vec::new();
        let max_file = st.core.settings.max_attachment_bytes;
        let max_text = st.core.settings.max_text_chars.saturating_mul(4) + 1024;
        loop {
            let mut field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e)),
            };
            let name = field.name().unwrap_or("").to_string();
            let filename = field.file_name().map(str::to_string);
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let max = if filename.is_some() {
                max_file
            } else {
                max_text
            };
            let mut data = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if data.len() + chunk.len() > max {
                    return Err(ApiError::TooLarge(match &filename {
                        Some(f) => format!("attachment `{f}` is over the {max}-byte limit"),
                        None => format!("field `{name}` is over the {max}-byte limit"),
                    }));
                }
                data.extend_from_slice(&chunk);
            }
            match filename {
                // A file input left empty sends a part with no name and no content.
                Some(f) if f.is_empty() && data.is_empty() => {}
                Some(filename) => files.push(Attachment {
                    filename,
                    content_type,
                    data,
                }),
                None => {
                    let text = String::from_utf8(data).map_err(|_| {
                        ApiError::BadRequest(format!("field `{name}` is not UTF-8 text"))
                    })?;
                    fields.insert(name, Value::String(text));
                }
            }
        }
        Ok(Form {
            fields: Value::Object(fields),
            files,
            _slot: slot,
        })
    } else {
        let bytes = Bytes::from_request(req, st).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(format!(
                    "request body is over the {}-byte limit",
                    st.max_body_bytes
                ))
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
        Ok(Form {
            fields: v,
            files: Vec::new(),
            _slot: slot,
        })
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!("request body is too large: {}", e.body_text()))
    } else {
        ApiError::BadRequest(format!("bad multipart body: {}", e.body_text()))
    }
}

fn parse_fields<T: serde::de::DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_json::from_value(v).map_err(|e| ApiError::Validation(e.to_string()))
}

async fn register_submission(
    st: &AppState,
    msg: InboundMessage,
    officer: Option<&Officer>,
) -> ApiResult<Response> {
    let committed = intake::submit_as(&st.core, msg, officer.map(|o| (o.id, o.username.as_str())))
        .await
        .map_err(|e| match e {
            intake::IntakeError::Db(e) => ApiError::from(e),
        })?;
    // The complaint is committed: whatever happens now, the answer is a success with its
    // number and code. Status and due date are read back best-effort.
    let c = register::complaint_by_no(&st.core.db.pool, &committed.register_no)
        .await
        .ok()
        .flatten();
    let code = if committed.disposition == Disposition::Duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        code,
        Json(json!({
            "register_no": committed.register_no,
            "tracking_code": committed.tracking_code,
            "status": c.as_ref().map(|c| c.status.as_str()),
            "due_date": c.as_ref().map(|c| c.due_date.as_str()),
            "track_url": st.core.settings.track_url(&committed.register_no),
        })),
    )
        .into_response())
}

/// An HTML form's fields as a submission: its tokens (`csrf`, `form`) removed and fields left
/// empty treated as absent.
fn drop_form_controls(fields: &mut Value) {
    if let Some(o) = fields.as_object_mut() {
        o.remove("csrf");
        o.remove("form");
        o.retain(|_, v| !v.as_str().is_some_and(str::is_empty));
    }
}

/// A counter submission as an inbound message (external id still to be set).
fn counter_inbound(
    st: &AppState,
    sub: CounterSubmission,
    files: Vec<Attachment>,
) -> ApiResult<InboundMessage> {
    let mut msg = to_inbound(
        st,
        ChannelKind::Counter,
        Submission {
            name: sub.name,
            email: sub.email,
            phone: sub.phone,
            subject: sub.subject,
            body: sub.body,
            lang: sub.lang,
        },
        files,
    )?;
    msg.medium = Some(sub.medium);
    Ok(msg)
}

/// The public HTML form's submission (multipart, with its `csrf` field already checked by the
/// page handler): rate-limited like the API; the form token doubles as idempotency key, so a
/// double click registers once.
pub(super) async fn submit_form(
    st: &AppState,
    peer: SocketAddr,
    req: Request,
    form_token: &str,
) -> ApiResult<aduan_channel::Committed> {
    if !st.core.channels.is_configured(ChannelKind::Web) {
        return Err(ApiError::NotFound("the web channel is disabled".into()));
    }
    let mut headers = req.headers().clone();
    if !st.limiter.check(client_ip(st, peer, &headers)) {
        st.core.metrics.http_rejected();
        return Err(ApiError::RateLimited);
    }
    let Form {
        mut fields,
        files,
        _slot,
    } = read_form(st, req).await?;
    drop_form_controls(&mut fields);
    let sub: Submission = parse_fields(fields)?;
    let mut msg = to_inbound(st, ChannelKind::Web, sub, files)?;
    if let Ok(v) = HeaderValue::from_str(form_token) {
        headers.insert("idempotency-key", v);
    }
    msg.external_id = external_id(&headers, "web", &msg)?;
    intake::submit(&st.core, msg).await.map_err(|e| match e {
        intake::IntakeError::Db(e) => ApiError::from(e),
    })
}

/// The counter page's submission (session and CSRF checked by the page handler).
pub(super) async fn submit_counter_form(
    st: &AppState,
    officer: &Officer,
    req: Request,
    form_token: &str,
) -> ApiResult<aduan_channel::Committed> {
    if !st.core.channels.is_configured(ChannelKind::Counter) {
        return Err(ApiError::NotFound("the counter channel is disabled".into()));
    }
    let mut headers = req.headers().clone();
    let Form {
        mut fields,
        files,
        _slot,
    } = read_form(st, req).await?;
    drop_form_controls(&mut fields);
    let mut msg = counter_inbound(st, parse_fields(fields)?, files)?;
    if let Ok(v) = HeaderValue::from_str(form_token) {
        headers.insert("idempotency-key", v);
    }
    msg.external_id = external_id(&headers, "counter", &msg)?;
    submit_as_officer(st, officer, msg).await
}

/// `POST /api/v1/complaints`: the web channel.
pub async fn submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> ApiResult<Response> {
    if !st.core.channels.is_configured(ChannelKind::Web) {
        return Err(ApiError::NotFound("the web channel is disabled".into()));
    }
    let headers = req.headers().clone();
    if !st.limiter.check(client_ip(&st, peer, &headers)) {
        st.core.metrics.http_rejected();
        return Err(ApiError::RateLimited);
    }
    let Form {
        fields,
        files,
        _slot,
    } = read_form(&st, req).await?;
    let sub: Submission = parse_fields(fields)?;
    let mut msg = to_inbound(&st, ChannelKind::Web, sub, files)?;
    msg.external_id = external_id(&headers, "web", &msg)?;
    register_submission(&st, msg, None).await
}

/// `POST /api/v1/counter`: the front office types in a complaint.
pub async fn counter(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    req: Request,
) -> ApiResult<Response> {
    if !st.core.channels.is_configured(ChannelKind::Counter) {
        return Err(ApiError::NotFound("the counter channel is disabled".into()));
    }
    let headers = req.headers().clone();
    let Form {
        fields,
        files,
        _slot,
    } = read_form(&st, req).await?;
    let mut msg = counter_inbound(&st, parse_fields(fields)?, files)?;
    msg.external_id = external_id(&headers, "counter", &msg)?;
    register_submission(&st, msg, Some(&officer)).await
}

/// `GET|POST /hooks/{channel}`: a provider's call (a webhook push, a verification handshake).
/// The channel judges the head (method, headers, query) before a byte of the body is read, and
/// sets the body limit; a push is answered 200 only after what it carried is committed, so the
/// provider delivers again whatever failed.
pub async fn webhook(
    State(st): State<AppState>,
    Path(channel): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    use aduan_channel::{WebhookError, WebhookHead, WebhookReply, WebhookRequest};
    let kind: ChannelKind = channel
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no channel `{channel}`")))?;
    let ch = st
        .core
        .channels
        .get(kind)
        .ok_or_else(|| ApiError::NotFound(format!("the {kind} channel is not configured")))?
        .clone();
    let not_supported = || ApiError::NotFound(format!("the {kind} channel takes no webhook"));
    let refused = |e: WebhookError| match e {
        WebhookError::NotSupported => not_supported(),
        WebhookError::BadSignature => ApiError::BadSignature(e.to_string()),
        WebhookError::BadRequest(e) => ApiError::BadRequest(e),
        WebhookError::Unauthorized => ApiError::Forbidden(e.to_string()),
        WebhookError::Unavailable(e) => {
            tracing::warn!(channel = %kind, error = %e, "webhook call not committed");
            ApiError::Unavailable
        }
    };
    let (parts, body) = req.into_parts();
    let head = WebhookHead {
        method: &parts.method,
        headers: &parts.headers,
        query: parts.uri.query(),
    };
    ch.webhook_authorized(&head).map_err(refused)?;
    let limit = ch.webhook_body_limit();
    let too_large = || ApiError::TooLarge(format!("webhook body over {limit} bytes"));
    if super::declares_more_than(&parts.headers, limit) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let sink = intake::sink(&st.core);
    match ch
        .webhook(&sink, WebhookRequest { head, body: &body })
        .await
        .map_err(refused)?
    {
        WebhookReply::Accepted => Ok((StatusCode::OK, Json(json!({"ok": true}))).into_response()),
        WebhookReply::Text(t) => Ok((
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            t,
        )
            .into_response()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaporLink {
    tracking_id: String,
}

/// `POST /api/v1/lapor` `{"tracking_id": …}`: links a LAPOR! report to the register (a new
/// complaint on the `lapor` channel that the LAPOR! adapter then keeps in sync). Linking the
/// same report again answers 200 with the same register number.
pub async fn lapor_link(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    req: Request,
) -> ApiResult<Response> {
    let Form { fields, .. } = read_form(&st, req).await?;
    let body: LaporLink = parse_fields(fields)?;
    let msg = lapor_link_message(&st, &officer, &body.tracking_id).await?;
    register_submission(&st, msg, Some(&officer)).await
}

/// The message that links LAPOR! report `tracking_id`, or why it cannot be linked: LAPOR! is
/// asked first whether it knows the report, so a mistyped id is refused now rather than
/// polled in vain.
pub(super) async fn lapor_link_message(
    st: &AppState,
    officer: &Officer,
    tracking_id: &str,
) -> ApiResult<InboundMessage> {
    let Some(ch) = st.core.channels.get(ChannelKind::Lapor) else {
        return Err(ApiError::NotFound(
            "the LAPOR! channel is not configured ([channels.lapor])".into(),
        ));
    };
    let id = tracking_id.trim();
    ch.link(id, &officer.username).await.map_err(|e| match e {
        aduan_channel::LinkError::NotSupported => {
            ApiError::NotFound(format!("the {} channel links no reports", ch.kind()))
        }
        aduan_channel::LinkError::Invalid(e) => ApiError::BadRequest(format!("tracking_id: {e}")),
        aduan_channel::LinkError::Unknown(e) => ApiError::Validation(format!(
            "LAPOR! does not know report {id} ({e}); check the tracking id"
        )),
        aduan_channel::LinkError::Unavailable(e) => {
            tracing::warn!(report = %id, error = %e, "LAPOR! not reachable to verify a link");
            ApiError::Busy
        }
    })
}

/// Registers what an officer entered (counter form, LAPOR! link) under their name.
pub(super) async fn submit_as_officer(
    st: &AppState,
    officer: &Officer,
    msg: InboundMessage,
) -> ApiResult<aduan_channel::Committed> {
    intake::submit_as(&st.core, msg, Some((officer.id, officer.username.as_str())))
        .await
        .map_err(|e| match e {
            intake::IntakeError::Db(e) => ApiError::from(e),
        })
}

#[derive(Deserialize)]
pub struct TrackQuery {
    code: Option<String>,
}

/// What the public may see of a complaint: status, dates and published replies.
pub struct PublicStatus {
    pub register_no: String,
    pub status: String,
    pub status_text: String,
    pub received_at: String,
    pub due_date: String,
    pub overdue: bool,
    /// (time, text) of each reply published on the tracking page.
    pub replies: Vec<(String, String)>,
}

/// The public status of a complaint, for whoever holds its register number and tracking code;
/// `None` when they do not match (the same answer as for a number that does not exist).
pub async fn public_status(
    st: &AppState,
    register_no: &str,
    code: &str,
) -> ApiResult<Option<PublicStatus>> {
    let Some(c) =
        register::complaint_by_no(&st.core.db.pool, &register_no.trim().to_ascii_uppercase())
            .await?
    else {
        return Ok(None);
    };
    if !ct_eq(&c.tracking_code, &code.trim().to_ascii_uppercase()) {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT m.created_at, m.body FROM messages m JOIN outbox o ON o.message_id = m.id \
         WHERE m.complaint_id = $1 AND m.public = 1 AND o.status = 'sent' ORDER BY m.id",
    )
    .bind(c.id)
    .fetch_all(&st.core.db.pool)
    .await?;
    let replies = rows
        .iter()
        .map(|r| {
            (
                ms_to_rfc3339(r.try_get("created_at").unwrap_or(0)),
                r.try_get::<String, _>("body").unwrap_or_default(),
            )
        })
        .collect();
    Ok(Some(PublicStatus {
        status_text: st.core.templates.status_text(&c.lang, &c.status),
        received_at: ms_to_rfc3339(c.received_at),
        overdue: is_overdue(&c, now_ms()),
        register_no: c.register_no,
        status: c.status,
        due_date: c.due_date,
        replies,
    }))
}

/// Open, unanswered and past its due date.
pub fn is_overdue(c: &Complaint, now: i64) -> bool {
    register::is_overdue(
        c.closed_at.is_none(),
        c.answered_at.is_some(),
        c.due_at,
        now,
    )
}

/// `GET /api/v1/track/{register_no}?code=…`: status for whoever holds both.
pub async fn track(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(register_no): Path<String>,
    Query(q): Query<TrackQuery>,
) -> ApiResult<Json<Value>> {
    if !st.track_limiter.check(client_ip(&st, peer, &headers)) {
        st.core.metrics.http_rejected();
        return Err(ApiError::RateLimited);
    }
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the tracking code is required: ?code=…".into()))?;
    let s = public_status(&st, &register_no, &code)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound("no complaint with this register number and tracking code".into())
        })?;
    let replies: Vec<Value> = s
        .replies
        .iter()
        .map(|(at, text)| json!({ "at": at, "text": text }))
        .collect();
    Ok(Json(json!({
        "register_no": s.register_no,
        "status": s.status,
        "status_text": s.status_text,
        "received_at": s.received_at,
        "due_date": s.due_date,
        "overdue": s.overdue,
        "replies": replies,
    })))
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

fn complaint_json(c: &Complaint, now: i64) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("overdue".into(), json!(is_overdue(c, now)));
        m.insert("received".into(), json!(ms_to_rfc3339(c.received_at)));
    }
    v
}

/// `GET /api/v1/complaints`: filters `status`, `channel`, `overdue`, `assignee`, `q`;
/// pagination `page` (from 1) and `per_page` (1-200).
pub async fn list(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<Bind> = Vec::new();
    let mut search_q = String::new(); // the words searched for, if any
    let mut page = 1i64;
    let mut per_page = 50i64;
    let now = now_ms();
    for (k, v) in &params {
        let mut add = |cond: &str, b: Bind| {
            binds.push(b);
            conds.push(cond.replace("$?", &format!("${}", binds.len())));
        };
        match k.as_str() {
            "status" => {
                if !workflow::STATUSES.contains(&v.as_str()) {
                    return Err(ApiError::Validation(format!("unknown status `{v}` (one of {})", workflow::STATUSES.join(", "))));
                }
                add("c.status = $?", Bind::S(v.clone()));
            }
            "channel" => {
                let ch: ChannelKind = v.parse().map_err(|e: aduan_channel::UnknownChannel| ApiError::Validation(e.to_string()))?;
                add("c.channel = $?", Bind::S(ch.as_str().into()));
            }
            "overdue" => match v.as_str() {
                "true" | "1" => add(&register::overdue_sql("$?"), Bind::I(now)),
                "false" | "0" => add(&format!("NOT {}", register::overdue_sql("$?")), Bind::I(now)),
                _ => return Err(ApiError::Validation("`overdue` must be true or false".into())),
            },
            "assignee" => {
                if v == "me" {
                    add("c.assignee_id = $?", Bind::I(officer.id));
                } else {
                    add("c.assignee_id = (SELECT id FROM officers WHERE username = $?)", Bind::S(v.clone()));
                }
            }
            "q" => {
                if let Some((cond, value)) = register::text_search(st.core.db.backend, 0, v) {
                    add(&cond.replace("$0", "$?"), Bind::S(value));
                    search_q = v.clone();
                }
            }
            "page" => {
                page = v.parse().ok().filter(|p| (1..=1_000_000).contains(p)).ok_or_else(|| ApiError::Validation("`page` must be a number from 1 to 1000000".into()))?
            }
            "per_page" => {
                per_page = v
                    .parse()
                    .ok()
                    .filter(|p| (1..=200).contains(p))
                    .ok_or_else(|| ApiError::Validation("`per_page` must be a number from 1 to 200".into()))?
            }
            other => {
                return Err(ApiError::Validation(format!(
                    "unknown parameter `{other}` (status, channel, overdue, assignee, q, page, per_page)"
                )))
            }
        }
    }
    let where_ = if conds.is_empty() {
        "1 = 1".to_string()
    } else {
        conds.join(" AND ")
    };
    let pool = &st.core.db.pool;
    let offset = (page - 1) * per_page;
    let select = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints c JOIN complainants p ON p.id = c.complainant_id"
    );
    let order = format!("ORDER BY c.received_at DESC, c.id DESC LIMIT {per_page} OFFSET {offset}");
    // A search PostgreSQL can answer from its GIN index alone (see `register::few_matches`).
    let few = if !search_q.is_empty() && st.core.db.backend == crate::db::Backend::Postgres {
        register::few_matches(pool, &search_q, &where_, &binds).await?
    } else {
        None
    };
    let (total, rows) = match few {
        Some(ids) if ids.is_empty() => (0, Vec::new()),
        Some(ids) => {
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            let sql = format!("{select} WHERE c.id IN ({}) {order}", list.join(", "));
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?;
            (ids.len() as i64, rows)
        }
        None => {
            let count_sql = format!("SELECT COUNT(*) AS n FROM complaints c WHERE {where_}");
            let list_sql = format!("{select} WHERE {where_} {order}");
            let total: i64 =
                register::bind_all(sqlx::query(sqlx::AssertSqlSafe(count_sql)), &binds)
                    .fetch_one(pool)
                    .await?
                    .try_get("n")?;
            let rows = register::bind_all(sqlx::query(sqlx::AssertSqlSafe(list_sql)), &binds)
                .fetch_all(pool)
                .await?;
            (total, rows)
        }
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| Complaint::from_row(r).map(|c| complaint_json(&c, now)))
        .collect::<Result<_, _>>()?;
    Ok(Json(
        json!({ "page": page, "per_page": per_page, "total": total, "items": items }),
    ))
}

/// `GET /api/v1/complaints/{register_no}`: the whole thread, attachments, audit and outbox.
pub async fn show(
    State(st): State<AppState>,
    Path(register_no): Path<String>,
) -> ApiResult<Json<Value>> {
    let pool = &st.core.db.pool;
    let c = register::complaint_by_no(pool, &register_no)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("complaint {register_no} not found")))?;
    let msgs = sqlx::query(
        "SELECT id, direction, channel, sender, subject, body, raw_sha256, provider_message_id, \
         auto_generated, parse_error, created_at FROM messages WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(c.id)
    .fetch_all(pool)
    .await?;
    let atts = sqlx::query(
        "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256 FROM attachments a \
         JOIN messages m ON m.id = a.message_id WHERE m.complaint_id = $1 ORDER BY a.id",
    )
    .bind(c.id)
    .fetch_all(pool)
    .await?;
    let outbox = sqlx::query(
        "SELECT id, message_id, channel, recipient, kind, status, attempts, last_error, receipt, delivery, \
         created_at, sent_at, next_attempt_at FROM outbox WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(c.id)
    .fetch_all(pool)
    .await?;
    let audit = sqlx::query(
        "SELECT actor, action, from_status, to_status, note, at FROM audit WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(c.id)
    .fetch_all(pool)
    .await?;
    let mut thread = Vec::new();
    for m in &msgs {
        let id: i64 = m.try_get("id")?;
        let attachments: Vec<Value> = atts
            .iter()
            .filter(|a| a.try_get::<i64, _>("message_id").ok() == Some(id))
            .map(|a| {
                json!({
                    "id": a.try_get::<i64, _>("id").unwrap_or_default(),
                    "filename": a.try_get::<String, _>("filename").unwrap_or_default(),
                    "content_type": a.try_get::<String, _>("content_type").unwrap_or_default(),
                    "size": a.try_get::<i64, _>("size").unwrap_or_default(),
                    "sha256": a.try_get::<String, _>("sha256").unwrap_or_default(),
                })
            })
            .collect();
        let delivery = outbox
            .iter()
            .find(|o| o.try_get::<i64, _>("message_id").ok() == Some(id))
            .map(|o| {
                json!({
                    "outbox_id": o.try_get::<i64, _>("id").unwrap_or_default(),
                    "status": o.try_get::<String, _>("status").unwrap_or_default(),
                    "delivery": opt_str(o, "delivery"),
                })
            });
        thread.push(json!({
            "id": id,
            "direction": m.try_get::<String, _>("direction")?,
            "channel": m.try_get::<String, _>("channel")?,
            "from_or_to": m.try_get::<String, _>("sender")?,
            "subject": m.try_get::<String, _>("subject")?,
            "body": m.try_get::<String, _>("body")?,
            "raw_sha256": opt_str(m, "raw_sha256"),
            "provider_message_id": opt_str(m, "provider_message_id"),
            "auto_generated": m.try_get::<i64, _>("auto_generated")? != 0,
            "parse_error": opt_str(m, "parse_error"),
            "at": ms_to_rfc3339(m.try_get("created_at")?),
            "attachments": attachments,
            "outbox": delivery,
        }));
    }
    let outbox: Vec<Value> = outbox.iter().map(outbox_json).collect();
    let audit: Vec<Value> = audit
        .iter()
        .map(|a| {
            json!({
                "actor": a.try_get::<String, _>("actor").unwrap_or_default(),
                "action": a.try_get::<String, _>("action").unwrap_or_default(),
                "from": opt_str(a, "from_status"),
                "to": opt_str(a, "to_status"),
                "note": a.try_get::<String, _>("note").unwrap_or_default(),
                "at": ms_to_rfc3339(a.try_get("at").unwrap_or(0)),
            })
        })
        .collect();
    let mut body = complaint_json(&c, now_ms());
    if let Value::Object(m) = &mut body {
        m.insert("tracking_code".into(), json!(c.tracking_code));
        m.insert("thread".into(), Value::Array(thread));
        m.insert("outbox".into(), Value::Array(outbox));
        m.insert("audit".into(), Value::Array(audit));
    }
    Ok(Json(body))
}

fn outbox_json(o: &sqlx::any::AnyRow) -> Value {
    json!({
        "id": o.try_get::<i64, _>("id").unwrap_or_default(),
        "channel": o.try_get::<String, _>("channel").unwrap_or_default(),
        "recipient": o.try_get::<String, _>("recipient").unwrap_or_default(),
        "kind": o.try_get::<String, _>("kind").unwrap_or_default(),
        "status": o.try_get::<String, _>("status").unwrap_or_default(),
        "attempts": o.try_get::<i64, _>("attempts").unwrap_or_default(),
        "last_error": opt_str(o, "last_error"),
        "receipt": opt_str(o, "receipt"),
        "delivery": opt_str(o, "delivery"),
        "created_at": ms_to_rfc3339(o.try_get("created_at").unwrap_or(0)),
        "sent_at": o.try_get::<Option<i64>, _>("sent_at").ok().flatten().map(ms_to_rfc3339),
        "next_attempt_at": ms_to_rfc3339(o.try_get("next_attempt_at").unwrap_or(0)),
    })
}

/// `POST /api/v1/complaints/{register_no}/actions`.
pub async fn action(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(register_no): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: ActionRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::Validation(format!(
            "{e} (actions: {})",
            workflow::Action::ALL
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let c = workflow::apply(&st.core, &officer, &register_no, &req).await?;
    Ok(Json(complaint_json(&c, now_ms())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    text: String,
}

/// `POST /api/v1/complaints/{register_no}/replies`: JSON `{"text": …}` or multipart with files.
pub async fn reply(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(register_no): Path<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Form {
        fields,
        files,
        _slot,
    } = read_form(&st, req).await?;
    let body: ReplyBody = parse_fields(fields)?;
    let ids = workflow::reply(&st.core, &officer, &register_no, &body.text, &files).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": ids }))))
}

/// `GET /api/v1/attachments/{id}`: served as a download with an inert content type.
pub async fn attachment(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "attachment")?;
    let row = sqlx::query(
        "SELECT a.filename, a.content_type, b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&st.core.db.pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("attachment {id} not found")))?;
    let filename: String = row.try_get("filename")?;
    let ct: String = row.try_get("content_type")?;
    let data: Vec<u8> = row.try_get("data")?;
    let safe_ct = match ct.to_ascii_lowercase().as_str() {
        c @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp" | "application/pdf"
        | "audio/ogg" | "audio/mpeg") => c.to_string(),
        c if c.starts_with("text/plain") => "text/plain; charset=utf-8".into(),
        _ => "application/octet-stream".into(),
    };
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&safe_ct)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(resp)
}

/// `GET /api/v1/outbox?status=failed`.
pub async fn outbox_list(
    State(st): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let status = params.get("status").map(String::as_str).unwrap_or("failed");
    if !matches!(status, "queued" | "sending" | "sent" | "failed") {
        return Err(ApiError::Validation(
            "`status` must be queued, sending, sent or failed".into(),
        ));
    }
    let rows = sqlx::query(
        "SELECT o.id, o.channel, o.recipient, o.kind, o.status, o.attempts, o.last_error, o.receipt, o.delivery, \
         o.created_at, o.sent_at, o.next_attempt_at, c.register_no FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
         WHERE o.status = $1 ORDER BY o.id DESC LIMIT 500",
    )
    .bind(status)
    .fetch_all(&st.core.db.pool)
    .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = outbox_json(r);
            v["register_no"] = json!(r.try_get::<String, _>("register_no").unwrap_or_default());
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `POST /api/v1/outbox/{id}/retry`: a failed row back into the queue.
pub async fn outbox_retry(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "outbox row")?;
    if crate::outbox::retry_failed(&st.core, id, Some(officer.id), &officer.username).await? {
        Ok(Json(json!({ "retried": id })))
    } else {
        Err(ApiError::Conflict(format!(
            "outbox row {id} does not exist or has not failed"
        )))
    }
}

/// `GET /api/v1/officers` (admin).
pub async fn officers(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    let rows = crate::officers::list(&st.core.db).await?;
    Ok(Json(json!({ "items": rows })))
}

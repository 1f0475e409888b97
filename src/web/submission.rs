//! Complaint submissions shared by the JSON API and the web pages: reading a form (JSON,
//! urlencoded or multipart, streamed to its limit while holding an upload slot), checking and
//! normalizing its fields, turning it into an `InboundMessage`, and registering it (as the
//! public or as an officer). The handlers of both only choose what to answer.

use std::net::SocketAddr;

use aduan_channel::{
    normalize_email, normalize_phone, Address, Attachment, ChannelKind, CounterMedium, Disposition,
    InboundMessage, Lang,
};
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::ApiResult;
use super::{client_ip, ApiError, AppState};
use crate::db::now_ms;
use crate::intake;
use crate::register::{self};
use crate::workflow::Officer;

/// What a complainant (web) or the front office (counter) fills in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submission {
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
    /// *Rahasia*: keep the complainant's identity to the front office and the heads
    /// (`true`, or a form's checkbox `on`/`1`).
    #[serde(default, deserialize_with = "flag")]
    confidential: bool,
}

/// A yes/no field: a JSON boolean, or a form's `on`, `1`, `true` (anything else is no).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Text(t) => matches!(t.trim(), "on" | "1" | "true" | "ya"),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CounterSubmission {
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
    #[serde(default, deserialize_with = "flag")]
    confidential: bool,
}

pub(crate) fn limit_len(field: &str, v: &Option<String>, max: usize) -> ApiResult<Option<String>> {
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
pub(crate) fn to_inbound(
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
        Some(l) => Some(l.parse::<Lang>().map_err(|_| {
            ApiError::Validation(format!("`lang` must be `id` or `en`, not `{l}`"))
        })?),
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
    msg.confidential = s.confidential;
    Ok(msg)
}

/// The idempotency key of a submission. With an `Idempotency-Key` header it is the key plus a
/// digest of the content, so a retry of the same form lands once while a guessed key never
/// returns someone else's register number and tracking code.
pub(crate) fn external_id(
    headers: &HeaderMap,
    prefix: &str,
    msg: &InboundMessage,
) -> ApiResult<String> {
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

pub(crate) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Text fields a submission form may have besides its files (name, contacts, subject, text,
/// medium, language, flags and the form's tokens, with room to spare).
const MAX_FORM_FIELDS: usize = 32;

/// How long a submission waits for an upload slot before it is answered 503.
pub(crate) const UPLOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A submission's body as read: the JSON value of its fields, its attachments, and the upload
/// slot it holds until it is registered (dropped with it).
pub(crate) struct Form {
    pub(crate) fields: Value,
    pub(crate) files: Vec<Attachment>,
    pub(crate) _slot: tokio::sync::OwnedSemaphorePermit,
}

/// Reads the JSON or multipart body of a submission. At most `web.max_concurrent_uploads`
/// submissions are read and registered at once (the caller keeps the slot until the register
/// has its files); a multipart body is streamed field by field, each file up to
/// `intake.max_attachment_bytes` and each text field up to what a complaint text may hold, so a
/// request never holds more than its limits.
pub(crate) async fn read_form(st: &AppState, req: Request) -> ApiResult<Form> {
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
        let max_files = st.core.settings.max_attachments;
        let max_text = st.core.settings.max_text_chars.saturating_mul(4) + 1024;
        let mut parts = 0usize;
        loop {
            let mut field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e)),
            };
            // Every part counts (a form has a dozen fields); files count against their own
            // limit. Nothing is registered from a refused body.
            parts += 1;
            if parts > max_files + MAX_FORM_FIELDS {
                return Err(ApiError::TooManyFiles { max: max_files });
            }
            if field.file_name().is_some_and(|f| !f.is_empty()) && files.len() >= max_files {
                return Err(ApiError::TooManyFiles { max: max_files });
            }
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

pub(crate) fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!("request body is too large: {}", e.body_text()))
    } else {
        ApiError::BadRequest(format!("bad multipart body: {}", e.body_text()))
    }
}

pub(crate) fn parse_fields<T: serde::de::DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_json::from_value(v).map_err(|e| ApiError::Validation(e.to_string()))
}

pub(crate) async fn register_submission(
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
pub(crate) fn drop_form_controls(fields: &mut Value) {
    if let Some(o) = fields.as_object_mut() {
        o.remove("csrf");
        o.remove("form");
        o.retain(|_, v| !v.as_str().is_some_and(str::is_empty));
    }
}

/// A counter submission as an inbound message (external id still to be set).
pub(crate) fn counter_inbound(
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
            confidential: sub.confidential,
        },
        files,
    )?;
    msg.medium = Some(sub.medium);
    Ok(msg)
}

/// The public HTML form's submission (multipart, with its `csrf` field already checked by the
/// page handler): rate-limited like the API; the form token doubles as idempotency key, so a
/// double click registers once.
pub(crate) async fn submit_form(
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
pub(crate) async fn submit_counter_form(
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

/// The message that links LAPOR! report `tracking_id`, or why it cannot be linked: LAPOR! is
/// asked first whether it knows the report, so a mistyped id is refused now rather than
/// polled in vain.
pub(crate) async fn lapor_link_message(
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
pub(crate) async fn submit_as_officer(
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

//! A local fake of the WhatsApp Cloud API (Graph API) speaking its documented wire format:
//! `POST /{version}/{phone-number-id}/messages` (text, document, template) answering
//! `{"messaging_product", "contacts", "messages": [{"id": "wamid…"}]}`, `POST …/media`
//! (multipart upload), `GET /{version}/{media-id}` (the media URL, `file_size`, `mime_type`)
//! and the download itself, `GET /{version}/{phone-number-id}`; errors as Meta's error object
//! (`error.code`, `error.message`, `error.error_data.details`, `fbtrace_id`) scripted per
//! test; every call checked for the bearer token. It signs webhook bodies like Meta does.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

pub const PHONE_ID: &str = "1098765432";
pub const TOKEN: &str = "EAAGuji0123456789token";
pub const APP_SECRET: &str = "rahasia-aplikasi-uji";
pub const VERIFY_TOKEN: &str = "verifikasi-aduan-1";
pub const VERSION: &str = "v21.0";

/// A media file the fake serves: (mime type, bytes, declared size override, URL override).
#[derive(Clone, Default)]
pub struct FakeMedia {
    pub mime: String,
    pub data: Vec<u8>,
    pub declared_size: Option<u64>,
    pub url: Option<String>,
}

#[derive(Default)]
pub struct GraphState {
    /// Every accepted `messages` body, in order.
    pub sent: Vec<Value>,
    /// Every refused `messages` body with the error code given.
    pub refused: Vec<(i64, Value)>,
    /// Answers to the next `messages` calls: (HTTP status, error code). Empty: success.
    pub send_errors: VecDeque<(u16, i64)>,
    /// Uploaded files: (file name, size).
    pub uploads: Vec<(String, usize)>,
    pub media: HashMap<String, FakeMedia>,
    /// `GET /{media-id}` calls and downloads served.
    pub media_lookups: usize,
    pub downloads: usize,
    /// Calls that came without the right bearer token.
    pub unauthorized: usize,
    /// Meta revoked the token: every call, even with it, answers 401 with code 190.
    pub revoked: bool,
    /// The last number given to a sent message or upload (`wamid.OUT0004`).
    pub next: u64,
}

#[derive(Clone)]
pub struct FakeGraph {
    pub url: String,
    pub state: Arc<Mutex<GraphState>>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

type S = Arc<Mutex<GraphState>>;

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let state: S = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/{version}/{id}", get(lookup))
            .route("/{version}/{id}/messages", post(messages))
            .route("/{version}/{id}/media", post(upload))
            .route("/download/{id}", get(download))
            .with_state((state.clone(), url.clone()));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeGraph {
            url,
            state,
            _task: Arc::new(task),
        }
    }

    pub fn add_media(&self, id: &str, mime: &str, data: &[u8]) {
        self.state.lock().unwrap().media.insert(
            id.into(),
            FakeMedia {
                mime: mime.into(),
                data: data.to_vec(),
                ..Default::default()
            },
        );
    }

    pub fn sent(&self) -> Vec<Value> {
        self.state.lock().unwrap().sent.clone()
    }

    /// The daemon's environment for this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("API_URL", self.url.as_str()),
            ("API_VERSION", VERSION),
            ("PHONE_NUMBER_ID", PHONE_ID),
            ("ACCESS_TOKEN", TOKEN),
            ("APP_SECRET", APP_SECRET),
            ("VERIFY_TOKEN", VERIFY_TOKEN),
        ]
        .into_iter()
        .map(|(k, v)| (format!("ADUAN_CHANNELS__WHATSAPP__{k}"), v.to_string()))
        .collect()
    }
}

/// `X-Hub-Signature-256` of a body, as Meta computes it with the app secret.
pub fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook notification carrying `messages` from one sender and/or `statuses`.
pub fn notification(wa_id: &str, name: &str, messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": PHONE_ID},
    });
    if !messages.is_empty() {
        value["contacts"] = json!([{"profile": {"name": name}, "wa_id": wa_id}]);
        value["messages"] = Value::Array(messages);
    }
    if !statuses.is_empty() {
        value["statuses"] = Value::Array(statuses);
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1029384756",
        "changes": [{"field": "messages", "value": value}]}]})
}

/// One inbound message of `kind` with its type object (`{"body": …}` for text).
pub fn message(from: &str, id: &str, ts: i64, kind: &str, body: Value) -> Value {
    let mut m = json!({"from": from, "id": id, "timestamp": ts.to_string(), "type": kind});
    m[kind] = body;
    m
}

pub fn text(from: &str, id: &str, ts: i64, body: &str) -> Value {
    message(from, id, ts, "text", json!({ "body": body }))
}

/// A status notification for a message we sent.
pub fn status(id: &str, status: &str, recipient: &str, error: Option<i64>) -> Value {
    let mut s =
        json!({"id": id, "status": status, "timestamp": "1795000000", "recipient_id": recipient});
    if let Some(code) = error {
        s["errors"] = json!([{"code": code, "title": error_title(code),
            "error_data": {"details": "details from the fake"}}]);
    }
    s
}

fn error_title(code: i64) -> &'static str {
    match code {
        131047 => "Re-engagement message",
        130429 => "Rate limit hit",
        131056 => "(Business Account, Consumer Account) pair rate limit hit",
        131026 => "Message undeliverable",
        190 => "Invalid OAuth access token",
        _ => "Error",
    }
}

fn error_body(code: i64) -> Value {
    json!({"error": {"message": format!("({code}) {}", error_title(code)), "type": "OAuthException",
        "code": code, "error_data": {"messaging_product": "whatsapp", "details": format!("{} (fake)", error_title(code))},
        "fbtrace_id": "AazFakeTrace"}})
}

/// The 401 Meta answers a call without the right token, or `None` when the token is right.
fn unauthorized(st: &S, h: &HeaderMap) -> Option<Response> {
    let ok = !st.lock().unwrap().revoked
        && h.get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    if ok {
        return None;
    }
    st.lock().unwrap().unauthorized += 1;
    Some((StatusCode::UNAUTHORIZED, Json(error_body(190))).into_response())
}

async fn lookup(
    State((st, base)): State<(S, String)>,
    Path((_v, id)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    if id == PHONE_ID {
        return Json(
            json!({"verified_name": "DPMPTSP Uji", "display_phone_number": "+62 811-0000-0000",
            "id": PHONE_ID, "quality_rating": "GREEN"}),
        )
        .into_response();
    }
    let mut s = st.lock().unwrap();
    s.media_lookups += 1;
    let Some(m) = s.media.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, Json(error_body(100))).into_response();
    };
    Json(json!({"messaging_product": "whatsapp",
        "url": m.url.clone().unwrap_or_else(|| format!("{base}/download/{id}")),
        "mime_type": m.mime, "sha256": "fake", "file_size": m.declared_size.unwrap_or(m.data.len() as u64).to_string(),
        "id": id}))
    .into_response()
}

async fn download(
    State((st, _)): State<(S, String)>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    let mut s = st.lock().unwrap();
    let Some(m) = s.media.get(&id).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    s.downloads += 1;
    ([("content-type", m.mime)], m.data).into_response()
}

async fn messages(
    State((st, _)): State<(S, String)>,
    Path((_v, id)): Path<(String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if id != PHONE_ID || v["messaging_product"] != "whatsapp" || v["to"].as_str().is_none() {
        return (StatusCode::BAD_REQUEST, Json(error_body(100))).into_response();
    }
    let mut s = st.lock().unwrap();
    if let Some((status, code)) = s.send_errors.pop_front() {
        s.refused.push((code, v));
        return (
            StatusCode::from_u16(status).unwrap(),
            Json(error_body(code)),
        )
            .into_response();
    }
    s.next += 1;
    let wamid = format!("wamid.OUT{:04}", s.next);
    let to = v["to"].clone();
    s.sent.push(v);
    Json(
        json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid}]}),
    )
    .into_response()
}

async fn upload(State((st, _)): State<(S, String)>, h: HeaderMap, mut mp: Multipart) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    let mut product = None;
    let mut file = None;
    while let Ok(Some(f)) = mp.next_field().await {
        match f.name() {
            Some("messaging_product") => product = f.text().await.ok(),
            Some("file") => {
                let name = f.file_name().unwrap_or("").to_string();
                file = f.bytes().await.ok().map(|b| (name, b.len()));
            }
            _ => {}
        }
    }
    let (Some("whatsapp"), Some(file)) = (product.as_deref(), file) else {
        return (StatusCode::BAD_REQUEST, Json(error_body(100))).into_response();
    };
    let mut s = st.lock().unwrap();
    s.uploads.push(file);
    s.next += 1;
    Json(json!({"id": format!("media-up-{}", s.next)})).into_response()
}

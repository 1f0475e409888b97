//! A local fake of the Telegram Bot API speaking its real wire format: `getMe`, `getUpdates`
//! with long-poll timeouts and offset confirmation, `sendMessage`, `sendDocument` (multipart),
//! `getFile` and file downloads, and error bodies (`error_code`, `description`,
//! `parameters.retry_after`) scripted per test.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

pub const TOKEN: &str = "123456:TESTTOKENabcdefghijklmnopqrstuv";

#[derive(Default)]
pub struct BotState {
    /// Pending updates (JSON without `update_id`) with their ids.
    updates: Vec<(i64, Value)>,
    next_update: i64,
    /// `offset` of every `getUpdates` call, in order.
    pub offsets: Vec<i64>,
    /// Every `sendMessage` / `sendDocument` accepted: (method, chat_id, text or file name,
    /// reply_to message id).
    pub sent: Vec<(String, i64, String, Option<i64>)>,
    /// Answers to the next send calls: (HTTP status, body). Empty: success.
    pub send_errors: VecDeque<(u16, Value)>,
    /// The `reply_markup` of every accepted `sendMessage` that had one: (chat, markup).
    pub markups: Vec<(i64, Value)>,
    /// Chats that blocked the bot.
    pub blocked: Vec<i64>,
    /// The webhook set by `setWebhook`: (url, secret_token); `deleteWebhook` clears it.
    pub webhook: Option<(String, String)>,
    /// Files by `file_id`: (path, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
    next_message: i64,
}

#[derive(Clone)]
pub struct FakeBot {
    pub url: String,
    pub state: Arc<Mutex<BotState>>,
    notify: Arc<Notify>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

type S = (Arc<Mutex<BotState>>, Arc<Notify>);

impl FakeBot {
    pub async fn start() -> FakeBot {
        let state = Arc::new(Mutex::new(BotState {
            next_update: 1000,
            next_message: 500,
            ..Default::default()
        }));
        let notify = Arc::new(Notify::new());
        let app = Router::new()
            .route("/{bot}/{method}", post(method).get(method))
            .route("/file/{bot}/{*path}", get(file))
            .with_state((state.clone(), notify.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeBot {
            url,
            state,
            notify,
            _task: Arc::new(task),
        }
    }

    /// Queues an update (`{"message": {...}}` or `{"edited_message": …}`); returns its id.
    pub fn push(&self, update: Value) -> i64 {
        let id = {
            let mut s = self.state.lock().unwrap();
            s.next_update += 1;
            let id = s.next_update;
            s.updates.push((id, update));
            id
        };
        self.notify.notify_waiters();
        id
    }

    pub fn add_file(&self, id: &str, path: &str, data: &[u8]) {
        self.state
            .lock()
            .unwrap()
            .files
            .push((id.into(), path.into(), data.to_vec()));
    }

    pub fn sent(&self) -> Vec<(String, i64, String, Option<i64>)> {
        self.state.lock().unwrap().sent.clone()
    }

    /// Updates still unconfirmed (no `getUpdates` with a higher offset yet).
    pub fn unconfirmed(&self) -> usize {
        self.state.lock().unwrap().updates.len()
    }
}

/// A private-chat text message from user `chat` (the user id equals the chat id).
pub fn text_update(chat: i64, message_id: i64, text: &str) -> Value {
    json!({"message": message(chat, message_id, json!({"text": text}))})
}

pub fn message(chat: i64, message_id: i64, extra: Value) -> Value {
    let mut m = json!({
        "message_id": message_id,
        "date": 1_795_000_000 + message_id,
        "from": {"id": chat, "is_bot": false, "first_name": "Warga", "last_name": format!("{chat}"), "language_code": "id"},
        "chat": {"id": chat, "type": "private", "first_name": "Warga"},
    });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn err(code: u16, description: &str, extra: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = extra {
        body["parameters"] = p;
    }
    (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
}

async fn method(
    State((state, notify)): State<S>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return err(401, "Unauthorized", None);
    }
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let params: Value = if multipart {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    // Method names are case-insensitive in the Bot API (teloxide sends `GetUpdates`).
    let method = method.to_ascii_lowercase();
    match method.as_str() {
        "getme" => ok(
            json!({"id": 123456, "is_bot": true, "first_name": "Aduan", "username": "aduan_test_bot"}),
        ),
        "getupdates" => {
            let offset = params["offset"].as_i64().unwrap_or(0);
            let timeout = params["timeout"].as_u64().unwrap_or(0);
            let limit = params["limit"].as_u64().unwrap_or(100) as usize;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            loop {
                let waiter = notify.notified();
                {
                    let mut s = state.lock().unwrap();
                    s.offsets.push(offset);
                    // An offset confirms every update below it.
                    s.updates.retain(|(id, _)| *id >= offset);
                    let batch: Vec<Value> = s
                        .updates
                        .iter()
                        .take(limit)
                        .map(|(id, u)| {
                            let mut u = u.clone();
                            u["update_id"] = json!(id);
                            u
                        })
                        .collect();
                    if !batch.is_empty() {
                        return ok(Value::Array(batch));
                    }
                }
                if tokio::time::timeout_at(deadline, waiter).await.is_err() {
                    return ok(json!([]));
                }
            }
        }
        "setwebhook" => {
            // teloxide sends it as multipart (it may carry a certificate file).
            let form = String::from_utf8_lossy(&body).to_string();
            let get = |k: &str| {
                params[k]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| field(&form, k))
                    .unwrap_or_default()
            };
            let (url, secret) = (get("url"), get("secret_token"));
            state.lock().unwrap().webhook = Some((url, secret));
            ok(json!(true))
        }
        "deletewebhook" => {
            state.lock().unwrap().webhook = None;
            ok(json!(true))
        }
        "getfile" => {
            let id = params["file_id"].as_str().unwrap_or("");
            let s = state.lock().unwrap();
            match s.files.iter().find(|(f, _, _)| f == id) {
                Some((f, path, data)) => ok(
                    json!({"file_id": f, "file_unique_id": format!("u{f}"), "file_size": data.len(), "file_path": path}),
                ),
                None => err(400, "Bad Request: invalid file_id", None),
            }
        }
        "sendmessage" | "senddocument" => {
            let (chat, what, reply) = if multipart {
                let text = String::from_utf8_lossy(&body).to_string();
                let chat = field(&text, "chat_id")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let name = text
                    .split("filename=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or("")
                    .to_string();
                (chat, name, None)
            } else {
                (
                    params["chat_id"].as_i64().unwrap_or(0),
                    params["text"].as_str().unwrap_or("").to_string(),
                    params["reply_parameters"]["message_id"].as_i64(),
                )
            };
            let mut s = state.lock().unwrap();
            if s.blocked.contains(&chat) {
                return err(403, "Forbidden: bot was blocked by the user", None);
            }
            if let Some((code, body)) = s.send_errors.pop_front() {
                return (StatusCode::from_u16(code).unwrap(), Json(body)).into_response();
            }
            s.next_message += 1;
            let id = s.next_message;
            s.sent.push((method.clone(), chat, what.clone(), reply));
            if !params["reply_markup"].is_null() {
                s.markups.push((chat, params["reply_markup"].clone()));
            }
            ok(json!({
                "message_id": id,
                "date": 1_795_000_000,
                "chat": {"id": chat, "type": "private", "first_name": "Warga"},
                "from": {"id": 123456, "is_bot": true, "first_name": "Aduan"},
                "text": what,
            }))
        }
        _ => err(404, "Not Found: method not found", None),
    }
}

/// A plain form field of a multipart body.
fn field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let after = body.split(&marker).nth(1)?;
    let value = after.split("\r\n\r\n").nth(1)?;
    Some(value.split("\r\n").next()?.trim().to_string())
}

async fn file(State((state, _)): State<S>, Path((bot, path)): Path<(String, String)>) -> Response {
    if bot != format!("bot{TOKEN}") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let s = state.lock().unwrap();
    match s.files.iter().find(|(_, p, _)| *p == path) {
        Some((_, _, data)) => data.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

//! A local fake of the SP4N-LAPOR! v3 API in the shapes known from public integrations:
//! `auth: Bearer …` + `token` headers, report detail with status logs and disposition logs,
//! paginated follow-ups with `next_page_url`, multipart `followup/add`, error bodies with
//! `message`, follow-up files (on the API, which wants the credentials, or on a "public"
//! path that records whether credentials were sent); plus scripted trouble: a follow-up
//! accepted but its answer lost, slow answers, a file failing with 503 a number of times.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub const SECRET: &str = "rahasia-lapor";
pub const TOKEN: &str = "3f6c2a9e-0b1d-4c8e-9a7f-5e2d1c0b9a88";
const PAGE: usize = 2;

#[derive(Default)]
pub struct LaporState {
    /// Report id → (status name, status log notes, data logs, follow-ups).
    pub reports: BTreeMap<String, Report>,
    /// Every accepted `followup/add`: (complaint id, content, file names).
    pub posted: Vec<(String, String, Vec<String>)>,
    /// The next `followup/add` is stored, but answered with 502 (the answer "lost").
    pub lose_next_answer: bool,
    /// Seconds every GET waits before answering.
    pub delay_secs: u64,
    /// Files served at `/files/{name}` (credentials required) and `/public/{name}`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Per file name: how many more requests fail with 503.
    pub file_failures: BTreeMap<String, u32>,
    /// Requests for `/public/…` that carried LAPOR!'s credentials.
    pub public_with_credentials: u32,
    /// Every file request: (name, answered status).
    pub file_requests: Vec<(String, u16)>,
    /// `next_page_url` as an absolute URL on this origin (another host's, say).
    pub next_page_origin: Option<String>,
    /// The report detail answers with a redirect to this origin.
    pub redirect_report_to: Option<String>,
    /// `/files/…` answers with a redirect to this origin.
    pub redirect_files_to: Option<String>,
    /// Reports that answer 404 (unknown tracking id) although listed.
    pub missing: Vec<String>,
    next_id: u64,
}

#[derive(Default, Clone)]
pub struct Report {
    pub status: String,
    pub notes: Vec<String>,
    pub logs: Vec<Value>,
    pub followups: Vec<Value>,
}

#[derive(Clone)]
pub struct FakeLapor {
    pub url: String,
    pub state: Arc<Mutex<LaporState>>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

impl FakeLapor {
    pub async fn start() -> FakeLapor {
        let state = Arc::new(Mutex::new(LaporState {
            next_id: 9000,
            files: BTreeMap::from([("a.jpg".to_string(), b"\xff\xd8\xff\xe0 foto".to_vec())]),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/complaints/{id}/complaint", get(report))
            .route("/complaints/{id}/followups", get(followups))
            .route("/complaints/followup/add", post(add))
            .route("/complaints/institution", get(list))
            .route("/files/{name}", get(api_file))
            .route("/public/{name}", get(public_file))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeLapor {
            url,
            state,
            _task: Arc::new(task),
        }
    }

    pub fn add_report(&self, id: &str, status: &str) {
        self.state.lock().unwrap().reports.insert(
            id.into(),
            Report {
                status: status.into(),
                notes: vec!["Laporan diterima".into()],
                ..Default::default()
            },
        );
    }

    /// A follow-up from another party (`id` None: one without an id, keyed by hash), with the
    /// photo `files/a.jpg`.
    pub fn followup(&self, report: &str, id: Option<u64>, from: &str, content: &str) {
        let a = json!({"path": "files/a.jpg", "file_name": "a.jpg", "extension": "jpg"});
        self.followup_with(report, id, from, content, vec![a]);
    }

    /// A follow-up with the given `attachments` entries.
    pub fn followup_with(
        &self,
        report: &str,
        id: Option<u64>,
        from: &str,
        content: &str,
        attachments: Vec<Value>,
    ) {
        let mut f = json!({
            "created_at": "16-11-2026 10:15:00",
            "institution_from_name": from,
            "institution_to_name": "Dinas Contoh",
            "template_code": null,
            "template_content": null,
            "content": content,
            "attachments": attachments,
            "some_new_field": {"ignored": true},
        });
        if let Some(id) = id {
            f["id"] = json!(id);
        }
        self.state
            .lock()
            .unwrap()
            .reports
            .get_mut(report)
            .unwrap()
            .followups
            .push(f);
    }

    pub fn set_status(&self, report: &str, status: &str, note: &str) {
        let mut s = self.state.lock().unwrap();
        let r = s.reports.get_mut(report).unwrap();
        r.status = status.into();
        r.notes.push(note.into());
    }

    pub fn posted(&self) -> Vec<(String, String, Vec<String>)> {
        self.state.lock().unwrap().posted.clone()
    }
}

async fn api_file(
    State(state): State<Arc<Mutex<LaporState>>>,
    Path(name): Path<String>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized: invalid token");
    }
    if let Some(o) = state.lock().unwrap().redirect_files_to.clone() {
        return redirect(&format!("{o}/files/{name}"));
    }
    serve_file(&state, name)
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [("location", to.to_string())], "").into_response()
}

/// Another host that records every request and whether it carried LAPOR!'s credentials.
#[derive(Clone)]
pub struct Trap {
    pub url: String,
    /// (path, carried credentials)
    pub seen: Arc<Mutex<Vec<(String, bool)>>>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

impl Trap {
    pub async fn start() -> Trap {
        let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let s2 = seen.clone();
        let app = Router::new().fallback(move |uri: axum::http::Uri, h: HeaderMap| {
            let seen = s2.clone();
            async move {
                let creds = h.contains_key("auth") || h.contains_key("token");
                seen.lock().unwrap().push((uri.to_string(), creds));
                Json(json!({"status": true, "results": {"data": [], "next_page_url": null}}))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Trap {
            url,
            seen,
            _task: Arc::new(task),
        }
    }

    pub fn with_credentials(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, c)| *c)
            .map(|(p, _)| p.clone())
            .collect()
    }
}

async fn public_file(
    State(state): State<Arc<Mutex<LaporState>>>,
    Path(name): Path<String>,
    h: HeaderMap,
) -> Response {
    if h.contains_key("auth") || h.contains_key("token") {
        state.lock().unwrap().public_with_credentials += 1;
    }
    serve_file(&state, name)
}

fn serve_file(state: &Arc<Mutex<LaporState>>, name: String) -> Response {
    let mut s = state.lock().unwrap();
    let (code, r) = if let Some(n) = s.file_failures.get_mut(&name).filter(|n| **n > 0) {
        *n -= 1;
        (503, error(StatusCode::SERVICE_UNAVAILABLE, "sedang sibuk"))
    } else if let Some(data) = s.files.get(&name) {
        (200, data.clone().into_response())
    } else {
        (404, error(StatusCode::NOT_FOUND, "berkas tidak ditemukan"))
    };
    s.file_requests.push((name, code));
    r
}

fn authorized(h: &HeaderMap) -> bool {
    h.get("auth").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {SECRET}"))
        && h.get("token").and_then(|v| v.to_str().ok()) == Some(TOKEN)
}

fn error(code: StatusCode, message: &str) -> Response {
    (code, Json(json!({"status": false, "message": message}))).into_response()
}

async fn delay(state: &Arc<Mutex<LaporState>>) {
    let d = state.lock().unwrap().delay_secs;
    if d > 0 {
        tokio::time::sleep(Duration::from_secs(d)).await;
    }
}

async fn report(
    State(state): State<Arc<Mutex<LaporState>>>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized: invalid token");
    }
    delay(&state).await;
    let s = state.lock().unwrap();
    if let Some(o) = &s.redirect_report_to {
        return redirect(&format!("{o}/complaints/{id}/complaint"));
    }
    let Some(r) = s.reports.get(&id).filter(|_| !s.missing.contains(&id)) else {
        return error(StatusCode::NOT_FOUND, "Laporan tidak ditemukan");
    };
    Json(json!({"status": true, "results": {
        "data": {
            "tracking_id": id,
            "title": "Jalan rusak di Jl. Merdeka",
            "content": "Jalan berlubang sejak sebulan, membahayakan pengendara.",
            "status_code": r.notes.len(),
            "status_name": r.status,
            "disposition_id": 77,
            "disposition_name": "Dinas Contoh",
            "status_logs": r.notes.iter().map(|n| json!({"note": n, "timestamp": "16-11-2026 09:00:00"})).collect::<Vec<_>>(),
        },
        "data_logs": r.logs,
    }}))
    .into_response()
}

#[derive(serde::Deserialize)]
struct PageQ {
    page: Option<usize>,
}

async fn followups(
    State(state): State<Arc<Mutex<LaporState>>>,
    Path(id): Path<String>,
    Query(q): Query<PageQ>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized: invalid token");
    }
    delay(&state).await;
    let s = state.lock().unwrap();
    let Some(r) = s.reports.get(&id) else {
        return error(StatusCode::NOT_FOUND, "Laporan tidak ditemukan");
    };
    let page = q.page.unwrap_or(1).max(1);
    let items: Vec<Value> = r
        .followups
        .iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .cloned()
        .collect();
    let next = (page * PAGE < r.followups.len()).then(|| match &s.next_page_origin {
        Some(o) => format!("{o}/complaints/{id}/followups?page={}", page + 1),
        None => format!("complaints/{id}/followups?page={}", page + 1),
    });
    Json(json!({"status": true, "results": {"data": items, "next_page_url": next, "current_page": page}}))
        .into_response()
}

async fn add(State(state): State<Arc<Mutex<LaporState>>>, h: HeaderMap, body: Bytes) -> Response {
    if !authorized(&h) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized: invalid token");
    }
    let text = String::from_utf8_lossy(&body).to_string();
    let field = |name: &str| -> String {
        let marker = format!("name=\"{name}\"");
        text.split(&marker)
            .nth(1)
            .and_then(|a| a.split("\r\n\r\n").nth(1))
            .and_then(|v| v.split("\r\n--").next())
            .unwrap_or("")
            .to_string()
    };
    let complaint = field("complaint_id");
    let content = field("content");
    if field("user_id").is_empty() || field("institution_from_id").is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "user_id wajib diisi");
    }
    let files: Vec<String> = text
        .split("filename=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next().map(str::to_string))
        .collect();
    let mut s = state.lock().unwrap();
    if !s.reports.contains_key(&complaint) {
        return error(StatusCode::NOT_FOUND, "Laporan tidak ditemukan");
    }
    s.next_id += 1;
    let id = s.next_id;
    let ours = json!({
        "id": id,
        "created_at": "16-11-2026 11:00:00",
        "institution_from_name": "Dinas Contoh",
        "institution_to_name": "Pelapor",
        "content": content,
        "attachments": [],
    });
    s.reports.get_mut(&complaint).unwrap().followups.push(ours);
    s.posted.push((complaint, content, files));
    if std::mem::take(&mut s.lose_next_answer) {
        return error(StatusCode::BAD_GATEWAY, "upstream timeout");
    }
    Json(json!({"status": true, "message": "Tindak lanjut berhasil ditambahkan", "results": {"id": id}}))
        .into_response()
}

/// A list endpoint of the kind offices with the real documentation configure: every report,
/// one per page.
async fn list(
    State(state): State<Arc<Mutex<LaporState>>>,
    Query(q): Query<PageQ>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized: invalid token");
    }
    let s = state.lock().unwrap();
    let ids: Vec<&String> = s.reports.keys().collect();
    let page = q.page.unwrap_or(1).max(1);
    let items: Vec<Value> = ids
        .iter()
        .skip(page - 1)
        .take(1)
        .map(|id| json!({"id": id, "title": "x"}))
        .collect();
    let next = (page < ids.len()).then(|| format!("complaints/institution?page={}", page + 1));
    Json(json!({"results": {"data": items, "next_page_url": next}})).into_response()
}

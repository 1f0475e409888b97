//! Test helpers: a fresh register per test on SQLite or PostgreSQL, an in-process daemon on
//! port 0, officers with tokens, and a real `aduan` binary for crash tests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aduan::config::{self, Config};
use aduan::daemon::Running;
use aduan::db::{Backend, ConnectOptions, Db};
use aduan::register::testing::FreshDb;
use aduan::state::{Core, Shared};
use aduan::workflow::Role;

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn pg_server() -> String {
    std::env::var("ADUAN_TEST_POSTGRES").unwrap_or_else(|_| PG_DEFAULT.to_string())
}

/// Whether PostgreSQL tests can run. Off CI a missing server skips them (with a note); under
/// `CI=true` a missing server fails the test.
pub async fn postgres_available() -> bool {
    let ok = match tokio::time::timeout(
        Duration::from_secs(5),
        Db::connect(
            &pg_server(),
            &ConnectOptions {
                max_connections: 1,
                connect_timeout: Duration::from_secs(3),
                ..Default::default()
            },
        ),
    )
    .await
    {
        Ok(Ok(db)) => {
            db.close().await;
            true
        }
        _ => false,
    };
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("CI=true but PostgreSQL is not reachable at {}", pg_server());
        }
        eprintln!(
            "SKIP: PostgreSQL not reachable at {}; PostgreSQL tests skipped",
            pg_server()
        );
    }
    ok
}

/// A fresh database of the backend; `None` when PostgreSQL is unavailable off CI.
pub async fn fresh(backend: Backend) -> Option<FreshDb> {
    match backend {
        Backend::Sqlite => Some(FreshDb::create(None, "t").await.expect("sqlite temp db")),
        Backend::Postgres => {
            if !postgres_available().await {
                return None;
            }
            Some(
                FreshDb::create(Some(&pg_server()), "t")
                    .await
                    .expect("create postgres db"),
            )
        }
    }
}

/// The embedded default config with test-friendly overrides.
pub fn test_config(db_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("ADUAN_DATABASE_URL".into(), db_url.into());
    env.insert("ADUAN_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE".into(), "0".into());
    env.insert("ADUAN_OUTBOX__POLL_INTERVAL_MS".into(), "50".into());
    env.insert("ADUAN_OUTBOX__BACKOFF_BASE_MS".into(), "20".into());
    env.insert("ADUAN_DATABASE__SQLITE_SYNCHRONOUS".into(), "normal".into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let (cfg, _, _) = config::load(None, &env).into_result().expect("test config");
    cfg
}

pub async fn open_core(cfg: &Config) -> Shared {
    Core::open(cfg, None).await.expect("open register")
}

/// Opens the register with extra channels installed (adapters built in the tests).
pub async fn open_core_with(cfg: &Config, extra: Vec<Arc<dyn aduan_channel::Channel>>) -> Shared {
    let core = open_core(cfg).await;
    let mut core = Arc::try_unwrap(core).ok().expect("sole owner");
    for ch in extra {
        core.channels.insert(ch);
    }
    Arc::new(core)
}

pub struct App {
    pub base: String,
    pub core: Shared,
    pub http: reqwest::Client,
    pub running: Option<Running>,
    pub db: Option<FreshDb>,
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Submits the public form; returns (register number, tracking code).
    pub async fn submit(&self, form: serde_json::Value) -> (String, String) {
        let r = self
            .http
            .post(self.url("/api/v1/complaints"))
            .json(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        let v: serde_json::Value = r.json().await.unwrap();
        (
            v["register_no"].as_str().unwrap().to_string(),
            v["tracking_code"].as_str().unwrap().to_string(),
        )
    }

    /// Submits a multipart form (fields and files) to the API; asserts it was registered and
    /// returns (register number, tracking code).
    pub async fn submit_multipart(&self, form: reqwest::multipart::Form) -> (String, String) {
        let r = self
            .http
            .post(self.url("/api/v1/complaints"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        let v: serde_json::Value = r.json().await.unwrap();
        (
            v["register_no"].as_str().unwrap().to_string(),
            v["tracking_code"].as_str().unwrap().to_string(),
        )
    }

    /// An officer's JSON reply to a complaint; asserts it was queued (202).
    pub async fn reply(&self, token: &str, register_no: &str, text: &str) {
        let r = self
            .http
            .post(self.url(&format!("/api/v1/complaints/{register_no}/replies")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            reqwest::StatusCode::ACCEPTED,
            "reply to {register_no}"
        );
    }

    pub async fn officer(&self, username: &str, role: Role) -> String {
        aduan::officers::add(&self.core.db, username, "", role)
            .await
            .expect("add officer")
    }

    /// [`App::officer`] who can also log in to the web pages with [`PASSWORD`].
    pub async fn web_officer(&self, username: &str, role: Role) -> String {
        let token = self.officer(username, role).await;
        aduan::web::session::set_password(&self.core.db, username, PASSWORD)
            .await
            .expect("set password");
        token
    }

    /// Stops the daemon and drops its database.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop(Duration::from_secs(5)).await;
        }
        if let Some(db) = self.db.take() {
            db.drop_db().await;
        }
    }
}

/// Starts the daemon in-process on a fresh database; `None` if the backend is unavailable.
/// The password [`App::web_officer`] gives.
pub const PASSWORD: &str = "rahasia-panjang-1";

pub async fn spawn_app(backend: Backend, extra: &[(&str, &str)]) -> Option<App> {
    let db = fresh(backend).await?;
    let cfg = test_config(&db.url, extra);
    let core = open_core(&cfg).await;
    Some(start(core, &cfg, Some(db)).await)
}

pub async fn start(core: Shared, cfg: &Config, db: Option<FreshDb>) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = aduan::daemon::start(core.clone(), cfg, listener).unwrap();
    App {
        base: format!("http://{}", running.addr),
        core,
        http: reqwest::Client::new(),
        running: Some(running),
        db,
    }
}

/// Runs `$body` (an async fn taking a `Backend`) once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(aduan::db::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(aduan::db::Backend::Postgres).await
            }
        }
    };
}

/// Polls `f` until it returns true or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn scalar(db: &Db, sql: &'static str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// `SELECT COUNT(*) …` as a number.
/// The register number of the first complaint registered.
pub async fn first_register_no(app: &App) -> String {
    use sqlx::Row;
    sqlx::query("SELECT register_no FROM complaints ORDER BY id LIMIT 1")
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

pub async fn count(app: &App, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

/// Waits until `sql` counts `want`; on timeout fails with the count and `/readyz`.
pub async fn wait_count(app: &App, sql: &str, want: i64, secs: u64) {
    let ok = eventually(secs, || async { count(app, sql).await == want }).await;
    if !ok {
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        panic!(
            "`{sql}` = {} after {secs}s, want {want}; readyz: {}",
            count(app, sql).await,
            r.text().await.unwrap()
        );
    }
}

/// Starts the daemon on `db_url` with the test config plus `env` overrides.
pub async fn start_with_env(db_url: &str, env: &[(String, String)]) -> App {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let cfg = test_config(db_url, &pairs);
    let core = open_core(&cfg).await;
    start(core, &cfg, None).await
}

#[path = "../support/daemon.rs"]
mod daemon;
pub use daemon::RealDaemon;

/// The newest migration this build ships (the schema a fresh register has).
pub fn latest_schema() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count() as i64
}

/// The text a PDF reader extracts from every page of `pdf`.
pub fn pdf_text(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("text")
}

/// An officer's action with files (multipart): `fields` as text parts, `files` as
/// (file name, content type, bytes).
pub async fn action_with_files(
    app: &App,
    token: &str,
    no: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (name, ct, data) in files {
        let part = reqwest::multipart::Part::bytes(data.to_vec())
            .file_name(name.to_string())
            .mime_str(ct)
            .unwrap();
        form = form.part("bap", part);
    }
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/actions")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (
        r.status(),
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// A running office with one officer of every role (named after the role), for walking
/// complaints through the API.
pub struct Office {
    pub app: App,
    pub tokens: std::collections::HashMap<Role, String>,
}

impl Office {
    /// An office on `backend` with the configuration overrides `env`.
    pub async fn start(backend: Backend, env: &[(&str, &str)]) -> Option<Office> {
        let app = spawn_app(backend, env).await?;
        let mut tokens = std::collections::HashMap::new();
        for r in Role::ALL {
            tokens.insert(r, app.officer(r.as_str(), r).await);
        }
        Some(Office { app, tokens })
    }

    /// `POST path` with a JSON body as an officer of `role`.
    pub async fn post(
        &self,
        role: Role,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let r = self
            .app
            .http
            .post(self.app.url(path))
            .bearer_auth(&self.tokens[&role])
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            r.status(),
            r.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// An action on complaint `no` as an officer of `role`.
    pub async fn act(
        &self,
        role: Role,
        no: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.post(role, &format!("/api/v1/complaints/{no}/actions"), body)
            .await
    }

    /// The complaint as the API shows it to an administrator.
    pub async fn get(&self, no: &str) -> serde_json::Value {
        self.app
            .http
            .get(self.app.url(&format!("/api/v1/complaints/{no}")))
            .bearer_auth(&self.tokens[&Role::Admin])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The complaint's letter of `kind` (`answer`, `invitation`) as a PDF.
    pub async fn letter(&self, no: &str, kind: &str) -> Vec<u8> {
        let r = self
            .app
            .http
            .get(
                self.app
                    .url(&format!("/api/v1/complaints/{no}/letters/{kind}")),
            )
            .bearer_auth(&self.tokens[&Role::FrontOffice])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            reqwest::StatusCode::OK,
            "{no} has its {kind} letter"
        );
        assert_eq!(r.headers()["content-type"], "application/pdf");
        r.bytes().await.unwrap().to_vec()
    }
}

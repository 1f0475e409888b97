//! The real `aduan` binary under a burst of concurrent submissions, killed with SIGKILL and
//! restarted: every submission that got a 201 is in the register exactly once.

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aduan::db::{Backend, ConnectOptions, Db};
use serde_json::{json, Value};
use sqlx::Row;
use tokio::process::{Child, Command};

use crate::both;
use crate::helpers::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn spawn_daemon(db_url: &str, port: u16, data_dir: &std::path::Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_aduan"))
        .arg("serve")
        .env("ADUAN_DATABASE_URL", db_url)
        .env("ADUAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("ADUAN_DATA_DIR", data_dir)
        .env("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "0")
        .env("ADUAN_OUTBOX__LEASE_SECS", "5")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn aduan");
    let ok = eventually(30, || async {
        reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(ok, "daemon did not become ready");
    child
}

async fn kill9_loses_nothing(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let data_dir =
        std::env::temp_dir().join(format!("aduan-crash-{}", aduan::register::tracking_code()));
    let port = free_port();
    let mut child = spawn_daemon(&db.url, port, &data_dir).await;
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..8 {
        let (http, acked) = (http.clone(), acked.clone());
        clients.spawn(async move {
            for i in 0.. {
                let key = format!("c{c}-{i}");
                let r = http
                    .post(format!("http://127.0.0.1:{port}/api/v1/complaints"))
                    .header("idempotency-key", &key)
                    .json(&submission(&key))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => return,
                        };
                        acked
                            .lock()
                            .unwrap()
                            .push((key, v["register_no"].as_str().unwrap().to_string()));
                    }
                    Ok(_) => {}
                    Err(_) => return, // the daemon is gone
                }
            }
        });
    }
    // Let the burst run, then SIGKILL mid-flight.
    assert!(
        eventually(30, || async { acked.lock().unwrap().len() >= 300 }).await,
        "burst too slow"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    while clients.join_next().await.is_some() {}
    let acked = acked.lock().unwrap().clone();
    // Restart: the register opens, and every acknowledged submission is there exactly once.
    let mut child = spawn_daemon(&db.url, port, &data_dir).await;
    let reg = Db::connect(
        &db.url,
        &ConnectOptions {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for (key, no) in &acked {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(c.register_no) AS no FROM messages m JOIN complaints c ON c.id = m.complaint_id WHERE m.channel = 'web' AND m.external_id LIKE $1")
            .bind(format!("web-key:{key}:%"))
            .fetch_one(&reg.pool)
            .await
            .unwrap();
        assert_eq!(row.try_get::<i64, _>("n").unwrap(), 1, "{key}");
        assert_eq!(&row.try_get::<String, _>("no").unwrap(), no, "{key}");
    }
    let distinct: HashSet<&String> = acked.iter().map(|(_, n)| n).collect();
    assert_eq!(distinct.len(), acked.len(), "register numbers are unique");
    // Every complaint has exactly one receipt queued, none lost in the crash.
    let orphans = scalar(&reg, "SELECT COUNT(*) FROM complaints c WHERE (SELECT COUNT(*) FROM outbox o WHERE o.complaint_id = c.id AND o.kind = 'receipt') <> 1").await;
    assert_eq!(orphans, 0);
    // After the restart the outbox drains what the crash left.
    assert!(
        eventually(30, || async {
            scalar(&reg, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'").await == 0
        })
        .await
    );
    // Resubmitting an acknowledged key does not register it again.
    let (key, no) = &acked[0];
    let r = http
        .post(format!("http://127.0.0.1:{port}/api/v1/complaints"))
        .header("idempotency-key", key)
        .json(&submission(key))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["register_no"]
            .as_str()
            .unwrap(),
        no
    );
    // SIGTERM: a clean stop within the deadline.
    let pid = child.id().unwrap() as i32;
    unsafe_kill(pid, 15);
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    reg.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(data_dir);
}
both!(kill9_loses_nothing);

/// The form a client posts for `key` (`c{client}-{i}`): distinct sender per submission.
fn submission(key: &str) -> Value {
    json!({"body": format!("aduan {key}"), "email": format!("w{key}@example.id")})
}

fn unsafe_kill(pid: i32, sig: i32) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

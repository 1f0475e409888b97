//! Operations an office meets in its first month: commands that find (and never create) the
//! register, unknown configuration keys, logs for the journal, a restore right after a clean
//! stop, and `/metrics` answering while the database hangs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aduan::db::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both;
use crate::helpers::*;

/// `aduan ARGS` in `dir` with `env`, no configuration named: (exit code, stdout, stderr).
fn aduan_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    assert!(
        !Path::new(aduan::cli::INSTALLED_CONFIG).exists(),
        "an installed aduan's configuration would be these commands' default"
    );
    let mut c = Command::new(env!("CARGO_BIN_EXE_aduan"));
    c.current_dir(dir)
        .args(args)
        .env_remove("ADUAN_CONFIG")
        .env_remove("ADUAN_DATA_DIR")
        .env_remove("ADUAN_DATABASE_URL")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run aduan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "aduan-ops-{name}-{}",
        aduan::register::tracking_code()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Without a configuration, a command that reads or changes a register finds none and says
/// so; it creates nothing (no `./data/aduan.db`, no empty backup, exit code not 0).
#[test]
fn commands_never_create_a_register() {
    let dir = scratch("nocreate");
    for args in [
        &["backup", "salinan.backup"][..],
        &["complaints", "list"],
        &["officer", "list"],
        &["report", "daily"],
    ] {
        let (code, out, err) = aduan_in(&dir, args, &[]);
        assert_ne!(code, 0, "{args:?}: {out}{err}");
        assert!(
            err.contains("there is no register at SQLite")
                && err.contains("nothing was created")
                && err.contains("--config"),
            "{args:?}: {err}"
        );
        assert!(!dir.join("data").exists(), "{args:?} created a register");
        assert!(!dir.join("salinan.backup").exists());
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A named configuration brings the environment file beside it (as the systemd unit reads it):
/// `NAME.toml` with `NAME.env`. Every command says which register it uses.
#[test]
fn the_env_file_beside_the_config_names_the_register() {
    let dir = scratch("envfile");
    let cfg = dir.join("binjai.toml");
    std::fs::write(&cfg, "[office]\nname = \"DPMPTSP Binjai\"\n").unwrap();
    let data = dir.join("kantor-binjai");
    std::fs::write(
        dir.join("binjai.env"),
        format!("# secrets\nADUAN_DATA_DIR=\"{}\"\n", data.display()),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let (code, out, err) = aduan_in(&dir, &["--config", c, "migrate"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let db = data.join("aduan.db");
    assert!(db.is_file(), "{err}");
    assert!(
        err.contains(&format!("register: SQLite {}", db.display())) && err.contains(c),
        "{err}"
    );
    let backup = dir.join("b.backup");
    let (code, out, err) = aduan_in(
        &dir,
        &["--config", c, "backup", backup.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("it holds 0 complaints") && err.contains(&db.display().to_string()),
        "{out}{err}"
    );
    // A variable already set wins over the file, as over systemd's EnvironmentFile=.
    let other = dir.join("lain");
    let (code, _, err) = aduan_in(
        &dir,
        &["--config", c, "complaints", "list"],
        &[("ADUAN_DATA_DIR", other.to_str().unwrap())],
    );
    assert_ne!(code, 0);
    assert!(err.contains(&other.display().to_string()), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A mistyped key: `check-config` names the nearest key and the file to correct; `serve`
/// refuses to start on it unless told to ignore unknown keys. The warning reaches a log that is
/// not a terminal (the journal, a file) without colour codes.
#[test]
fn unknown_keys_are_named_and_refused_by_serve() {
    let dir = scratch("typo");
    let cfg = dir.join("aduan.toml");
    std::fs::write(
        &cfg,
        "[office]\nname = \"X\"\n[outbox]\ngive_up_after_sec = 60\n[web]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let (code, out, _) = aduan_in(&dir, &["--config", c, "check-config"], &[]);
    assert_eq!(code, 0, "a warning, not an error: {out}");
    assert!(
        out.contains("outbox.give_up_after_sec")
            && out.contains("did you mean `outbox.give_up_after_secs`")
            && out.contains(c),
        "{out}"
    );
    let env = [
        ("ADUAN_DATA_DIR", dir.to_str().unwrap()),
        ("ADUAN_DATABASE_URL", "postgres://aduan@127.0.0.1:1/aduan"),
        ("ADUAN_DATABASE__CONNECT_TIMEOUT_SECS", "1"),
    ];
    let (code, _, err) = aduan_in(&dir, &["--config", c, "serve"], &env);
    assert_ne!(code, 0);
    assert!(
        err.contains("keys aduan does not know: outbox.give_up_after_sec")
            && err.contains("--allow-unknown-keys"),
        "{err}"
    );
    // Allowed: past the configuration, on to the (unreachable) register.
    for journal in [None, Some("8:12345")] {
        let mut env = env.to_vec();
        env.extend(journal.map(|j| ("JOURNAL_STREAM", j)));
        let (code, _, err) = aduan_in(
            &dir,
            &["--config", c, "serve", "--allow-unknown-keys"],
            &env,
        );
        assert_ne!(code, 0);
        assert!(
            !err.contains("does not know") && err.contains("give_up_after_sec"),
            "{err}"
        );
        assert!(!err.contains('\u{1b}'), "colour codes in a log: {err:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A clean stop (SIGTERM) leaves no live heartbeat: a restore right after it goes ahead, while
/// a running daemon still refuses it.
async fn restore_right_after_a_clean_stop(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let daemon = RealDaemon::spawn(&db.url, &[]).await;
    let register = aduan::db::Db::connect(&db.url, &Default::default())
        .await
        .unwrap();
    assert!(
        eventually(10, || async {
            scalar(&register, "SELECT COUNT(*) FROM channel_presence").await > 0
        })
        .await
    );
    let dir = scratch(&format!("stop-{}", backend.as_str()));
    let file = dir.join("a.backup");
    aduan::backup::backup(&register, &db.url, &file)
        .await
        .unwrap();
    let err = aduan::backup::restore(&db.url, &file, 15)
        .await
        .unwrap_err();
    assert!(
        matches!(err, aduan::backup::BackupError::Running { .. }),
        "{err}"
    );
    register.close().await;
    let status = daemon.terminate().await;
    assert!(status.success(), "{status:?}");
    aduan::backup::restore(&db.url, &file, 15)
        .await
        .expect("a restore right after a clean stop");
    let _ = std::fs::remove_dir_all(dir);
    db.drop_db().await;
}
both!(restore_right_after_a_clean_stop);

/// A TCP proxy to PostgreSQL that can be frozen: bytes stop flowing both ways, connections
/// stay open (a database that hangs, not one that refuses).
struct StallingProxy {
    port: u16,
    frozen: Arc<AtomicBool>,
}

impl StallingProxy {
    async fn start(upstream: String) -> StallingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let f = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, f.clone()));
                tokio::spawn(pump(sr, cw, f.clone()));
            }
        });
        StallingProxy { port, frozen }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while frozen.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// PostgreSQL hangs: `/metrics` still answers within 3 s, with `aduan_register_up 0`, and
/// `/readyz` says 503 as fast (a scraper's default timeout is 10 s, the pool's wait too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_while_postgres_hangs() {
    let Some(db) = fresh(Backend::Postgres).await else {
        return;
    };
    let url = url::Url::parse(&db.url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = StallingProxy::start(upstream).await;
    let mut through = url.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(proxy.port)).unwrap();
    let app = start_with_env(through.as_str(), &[]).await;
    let get = |path: &'static str| {
        let (http, u) = (app.http.clone(), app.url(path));
        async move {
            let t = Instant::now();
            let r = tokio::time::timeout(Duration::from_secs(10), http.get(u).send())
                .await
                .expect("an answer within 10 s")
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap(), t.elapsed())
        }
    };
    let (_, body, _) = get("/metrics").await;
    assert!(body.contains("aduan_register_up 1"), "{body}");
    proxy.frozen.store(true, Ordering::Relaxed);
    let (code, body, took) = get("/metrics").await;
    assert_eq!(code, 200);
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(body.contains("aduan_register_up 0"), "{body}");
    let (code, _, took) = get("/readyz").await;
    assert_eq!(code, 503);
    assert!(took < Duration::from_secs(3), "{took:?}");
    proxy.frozen.store(false, Ordering::Relaxed);
    assert!(
        eventually(20, || {
            let g = get("/metrics");
            async move { g.await.1.contains("aduan_register_up 1") }
        })
        .await,
        "the register is up again once the database answers"
    );
    if let Some(r) = app.running {
        tokio::time::timeout(Duration::from_secs(30), r.stop(Duration::from_secs(5)))
            .await
            .ok();
    }
    db.drop_db().await;
}

/// Started by a unit (`STATE_DIRECTORY` set), a SQLite register outside the unit's state
/// directory is refused in words that name the key to set and the file, before anything opens.
#[test]
fn a_register_outside_the_units_state_directory_is_refused() {
    let dir = scratch("statedir");
    let cfg = dir.join("binjai.toml");
    std::fs::write(
        &cfg,
        "[office]\nname = \"Binjai\"\n[web]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let state = dir.join("state-binjai");
    let (code, _, err) = aduan_in(
        &dir,
        &["--config", cfg.to_str().unwrap(), "serve"],
        &[
            ("STATE_DIRECTORY", state.to_str().unwrap()),
            ("ADUAN_DATA_DIR", dir.join("other").to_str().unwrap()),
        ],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("StateDirectory")
            && err.contains(&format!("[data] dir = \"{}\"", state.display()))
            && err.contains(cfg.to_str().unwrap()),
        "{err}"
    );
    assert!(!dir.join("other").exists(), "nothing was created");
    let _ = std::fs::remove_dir_all(dir);
}

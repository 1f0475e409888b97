//! The binary's commands and its start-up errors: broken config, unreachable database.

use std::process::Command;
use std::time::{Duration, Instant};

fn aduan(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aduan"));
    c.args(args)
        .env_remove("ADUAN_CONFIG")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run aduan");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "aduan-cli-{}-{}",
        name,
        aduan::register::tracking_code()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn check_config_reports_every_problem() {
    let (code, out) = aduan(&["check-config"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok"), "{out}");
    let dir = tmp("cfg");
    let f = dir.join("aduan.toml");
    std::fs::write(&f, "[office]\nname = \"X\"\nutc_offset = \"Jakarta\"\nsla_working_days = 0\nholiday_files = [\"missing.toml\"]\n[web]\nlisten = \"localhost\"\n[database]\nurl = \"mysql://x\"\n[outbox]\ngive_up_after_secs = 0\n[shiny]\nx = 1\n").unwrap();
    let (code, out) = aduan(&["check-config", "--config", f.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{out}");
    for key in [
        "office.utc_offset",
        "office.sla_working_days",
        "office.holiday_files",
        "web.listen",
        "database.url",
        "outbox.give_up_after_secs",
    ] {
        assert!(
            out.contains(&format!("error: {key}")),
            "missing {key}: {out}"
        );
    }
    assert!(out.contains("warning: shiny"), "{out}");
    assert!(out.contains("6 problem(s)"), "{out}");
    // Syntax errors name the line; serve refuses to start on a bad config.
    std::fs::write(&f, "[office]\nname = \"X\"\nregister_prefix = ADU\n").unwrap();
    let (code, out) = aduan(&["serve", "--config", f.to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert!(
        out.contains("line 3") && out.contains("not valid TOML"),
        "{out}"
    );
    // Wrong type from the environment.
    let (code, out) = aduan(&["check-config"], &[("ADUAN_OUTBOX__WORKERS", "many")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("workers"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unreachable_database_is_a_clear_error() {
    let start = Instant::now();
    let (code, out) = aduan(
        &["serve"],
        &[
            (
                "ADUAN_DATABASE_URL",
                "postgres://aduan:s3cret@127.0.0.1:1/aduan",
            ),
            ("ADUAN_DATABASE__CONNECT_TIMEOUT_SECS", "2"),
            ("ADUAN_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_ne!(code, 0);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(
        out.contains("cannot connect to the postgres database"),
        "{out}"
    );
    assert!(!out.contains("s3cret"), "password leaked: {out}");
    assert!(!out.contains("panicked"), "{out}");
    // A data dir that cannot be created.
    let (code, out) = aduan(&["migrate"], &[("ADUAN_DATA_DIR", "/proc/aduan-nope")]);
    assert_ne!(code, 0);
    assert!(
        out.contains("data directory") || out.contains("cannot connect"),
        "{out}"
    );
}

#[test]
fn officer_and_complaint_commands() {
    let dir = tmp("officer");
    let env = [("ADUAN_DATA_DIR", dir.to_str().unwrap())];
    let (code, out) = aduan(&["migrate"], &env);
    assert_eq!(code, 0, "{out}");
    let (code, out) = aduan(
        &[
            "officer",
            "add",
            "siti",
            "--role",
            "front_office",
            "--name",
            "Siti",
        ],
        &env,
    );
    assert_eq!(code, 0, "{out}");
    let token = out
        .lines()
        .find(|l| l.starts_with("adn_"))
        .expect("token printed")
        .to_string();
    assert_eq!(token.len(), 68);
    let (code, out) = aduan(&["officer", "add", "siti", "--role", "front_office"], &env);
    assert_ne!(code, 0);
    assert!(out.contains("already exists"), "{out}");
    let (code, out) = aduan(&["officer", "add", "budi", "--role", "kadis"], &env);
    assert_ne!(code, 0);
    assert!(out.contains("unknown role"), "{out}");
    let (_, out) = aduan(&["officer", "list"], &env);
    assert!(
        out.contains("siti") && out.contains("front_office") && out.contains("active"),
        "{out}"
    );
    assert!(!out.contains(&token), "tokens are never listed");
    let (code, out) = aduan(&["officer", "token", "siti"], &env);
    assert_eq!(code, 0, "{out}");
    let rotated = out
        .lines()
        .find(|l| l.starts_with("adn_"))
        .expect("new token")
        .to_string();
    assert_ne!(rotated, token);
    let (code, out) = aduan(&["officer", "token", "nobody"], &env);
    assert_ne!(code, 0);
    assert!(out.contains("no officer"), "{out}");
    let (code, _) = aduan(&["officer", "disable", "siti"], &env);
    assert_eq!(code, 0);
    let (_, out) = aduan(&["officer", "list"], &env);
    assert!(out.contains("disabled"), "{out}");
    let (code, out) = aduan(&["complaints", "show", "ADU-2026-000001"], &env);
    assert_ne!(code, 0);
    assert!(out.contains("not found"), "{out}");
    let (code, out) = aduan(&["reply", "ADU-2026-000001", "halo", "--as", "siti"], &env);
    assert_ne!(code, 0, "a disabled officer cannot reply: {out}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Logs carry no whole email address or phone number, and JSON logs are JSON.
#[test]
fn logs_mask_personal_addresses() {
    let dir = tmp("logs");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_aduan"))
        .arg("serve")
        .env_remove("ADUAN_CONFIG")
        .env("ADUAN_DATA_DIR", &dir)
        .env("ADUAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("ADUAN_TELEMETRY__FORMAT", "json")
        .env("ADUAN_NOT_A_SETTING", "1")
        .env("RUST_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("http://127.0.0.1:{port}/api/v1/complaints");
        let ok = crate::helpers::eventually(30, || async {
            reqwest::Client::new()
                .post(&url)
                .json(&serde_json::json!({"email": "budi.santoso@example.id", "phone": "0812-3456-7890", "body": "x"}))
                .send()
                .await
                .is_ok_and(|r| r.status() == 201)
        })
        .await;
        assert!(ok);
        tokio::time::sleep(Duration::from_millis(300)).await;
    });
    let _ = Command::new("kill")
        .arg("-15")
        .arg(child.id().to_string())
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        !log.contains("budi.santoso") && !log.contains("81234567890"),
        "{log}"
    );
    assert!(
        log.contains("b***@e***.go.id") || log.contains("b***@e***.id"),
        "{log}"
    );
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{log}"
    );
    assert!(
        log.contains("ADUAN_NOT_A_SETTING"),
        "unknown env warned: {log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `officer add --password-stdin` and `officer password` set argon2id web passwords; a short one
/// is refused with the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_passwords_from_stdin() {
    use std::io::Write;
    let db = crate::helpers::fresh(aduan::db::Backend::Sqlite)
        .await
        .unwrap();
    let run = |args: &[&str], input: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aduan"))
            .args(args)
            .env_remove("ADUAN_CONFIG")
            .env("ADUAN_DATABASE_URL", &db.url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = run(&["officer", "list"], "");
    assert!(!ok && out.contains("there is no register"), "{out}");
    let (ok, out) = run(&["migrate"], "");
    assert!(ok, "{out}");
    let (ok, out) = run(
        &[
            "officer",
            "add",
            "siti",
            "--role",
            "front_office",
            "--password-stdin",
        ],
        "pendek\n",
    );
    assert!(!ok && out.contains("at least 10 characters"), "{out}");
    let (ok, out) = run(
        &[
            "officer",
            "add",
            "siti",
            "--role",
            "front_office",
            "--password-stdin",
        ],
        "rahasia-panjang-1\n",
    );
    assert!(ok && out.contains("web password set"), "{out}");
    let (ok, out) = run(&["officer", "password", "siti"], "rahasia-panjang-2\n");
    assert!(ok, "{out}");
    let (ok, _) = run(&["officer", "password", "nobody"], "rahasia-panjang-2\n");
    assert!(!ok);
    let cfg = crate::helpers::test_config(&db.url, &[]);
    let core = crate::helpers::open_core(&cfg).await;
    let hash: String = sqlx::Row::try_get(
        &sqlx::query("SELECT password_hash FROM officers WHERE username = 'siti'")
            .fetch_one(&core.db.pool)
            .await
            .unwrap(),
        0,
    )
    .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    core.db.close().await;
    db.drop_db().await;
}

/// `aduan backup FILE`, `aduan backup --verify FILE`, `aduan migrate --dry-run` and
/// `aduan restore FILE` from the command line (SQLite).
#[test]
fn backup_verify_and_restore_commands() {
    let dir = tmp("backup");
    let data = dir.join("data");
    let env = [("ADUAN_DATA_DIR", data.to_str().unwrap())];
    let (code, out) = aduan(&["migrate", "--dry-run"], &env);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("0004 trust") && out.contains("0006 backups"),
        "{out}"
    );
    let (code, out) = aduan(&["migrate"], &env);
    assert_eq!(code, 0, "{out}");
    let file = dir.join("nightly.aduan");
    let (code, out) = aduan(&["backup", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("backup written"), "{out}");
    let (code, out) = aduan(&["backup", file.to_str().unwrap()], &env);
    assert_ne!(code, 0, "a backup never overwrites: {out}");
    let (code, out) = aduan(&["backup", "--verify", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("a whole backup")
            && out.contains(&format!("schema {:04}", crate::helpers::latest_schema())),
        "{out}"
    );
    let junk = dir.join("junk.aduan");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (code, out) = aduan(&["backup", "--verify", junk.to_str().unwrap()], &env);
    assert_ne!(code, 0);
    assert!(out.contains("not a usable backup"), "{out}");
    let (code, out) = aduan(&["restore", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Under systemd (`Type=notify`): `READY=1` once the register is migrated and the listener is
/// up, `WATCHDOG=1` at half the `WatchdogSec` interval while the register answers, `STOPPING=1`
/// on SIGTERM; the start-up line names the form, inbox and metrics URLs, without a timestamp
/// of its own when logging to the journal.
#[test]
fn systemd_notify_and_watchdog() {
    let dir = tmp("notify");
    let sock_path = dir.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_aduan"))
        .arg("serve")
        .env_remove("ADUAN_CONFIG")
        .env("ADUAN_DATA_DIR", dir.join("data"))
        .env("ADUAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "1000000")
        .env("JOURNAL_STREAM", "8:1234")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let mut seen = Vec::new();
    let started = Instant::now();
    while !(seen.iter().any(|s: &String| s == "READY=1") && seen.iter().any(|s| s == "WATCHDOG=1"))
        && started.elapsed() < Duration::from_secs(20)
    {
        if let Ok(n) = sock.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("READY=1"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|s| s == "WATCHDOG=1"), "{seen:?}");
    // Ready means ready: the listener answers.
    let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    assert!(ok);
    let _ = Command::new("kill")
        .arg("-15")
        .arg(child.id().to_string())
        .status();
    let mut stopping = false;
    while let Ok(n) = sock.recv(&mut buf) {
        if &buf[..n] == b"STOPPING=1" {
            stopping = true;
            break;
        }
    }
    assert!(stopping);
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("/aduan") && log.contains("/kotak") && log.contains("/metrics"),
        "{log}"
    );
    let first = log.lines().next().unwrap_or("");
    assert!(
        !first.starts_with("20"),
        "journal lines carry no timestamp: {first}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The systemd units in `contrib/systemd/` pass `systemd-analyze verify` (with `ExecStart`
/// pointed at the binary under test, as the package installs it at /usr/bin/aduan).
#[test]
fn systemd_units_verify() {
    let analyze = std::path::Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        eprintln!("SKIP: systemd-analyze not installed");
        return;
    }
    let dir = tmp("units");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/systemd");
    let bin = env!("CARGO_BIN_EXE_aduan");
    for (from, to) in [
        ("aduan.service", "aduan.service"),
        ("aduan@.service", "aduan@binjai.service"),
        ("aduan-backup.service", "aduan-backup.service"),
        ("aduan-backup.timer", "aduan-backup.timer"),
    ] {
        let text = std::fs::read_to_string(format!("{src}/{from}"))
            .unwrap()
            .replace("/usr/bin/aduan", bin);
        std::fs::write(dir.join(to), text).unwrap();
    }
    let out = Command::new(analyze)
        .current_dir(&dir)
        .args([
            "verify",
            "aduan.service",
            "aduan@binjai.service",
            "aduan-backup.service",
            "aduan-backup.timer",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
    // The hardening rates "OK" or better (systemd's exposure scale: below 5.0).
    let out = Command::new(analyze)
        .current_dir(&dir)
        .args(["security", "--offline=true", "aduan.service"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let level: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for aduan.service: ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level: {text}"));
    assert!(level < 5.0, "exposure {level}: {text}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `aduan setup`: checks the configuration, prepares the register, creates the first
/// administrator from a password on standard input; a second run changes nothing; a short
/// password creates nobody.
#[test]
fn setup_creates_the_first_admin_once() {
    use std::io::Write;
    let dir = tmp("setup");
    let run = |input: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aduan"))
            .args(["setup", "--password-stdin"])
            .env_remove("ADUAN_CONFIG")
            .env("ADUAN_DATA_DIR", dir.join("data"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = run("pendek\n");
    assert!(!ok && out.contains("at least 10 characters"), "{out}");
    let (ok, out) = run("rahasia-panjang-sekali\n");
    assert!(ok, "{out}");
    assert!(
        out.contains("configuration ok") && out.contains("administrator admin created"),
        "{out}"
    );
    let (ok, out) = run("lain-lagi-panjang-sekali\n");
    assert!(ok && out.contains("exists already"), "{out}");
    let (code, out) = aduan(
        &["officer", "list"],
        &[("ADUAN_DATA_DIR", dir.join("data").to_str().unwrap())],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("admin") && out.matches("admin").count() >= 2,
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The packaged configuration (`packaging/aduan.toml`, installed as /etc/aduan/aduan.toml) is
/// the documented default with the installed data directory, and is valid.
#[test]
fn packaged_config_is_the_default_with_installed_paths() {
    let root = env!("CARGO_MANIFEST_DIR");
    let default = std::fs::read_to_string(format!("{root}/config/aduan.toml")).unwrap();
    let packaged = std::fs::read_to_string(format!("{root}/packaging/aduan.toml")).unwrap();
    assert_eq!(
        packaged,
        default.replace("dir = \"./data\"", "dir = \"/var/lib/aduan\""),
        "regenerate: sed 's|^dir = \"./data\"$|dir = \"/var/lib/aduan\"|' config/aduan.toml > packaging/aduan.toml"
    );
    let (code, out) = aduan(
        &[
            "check-config",
            "--config",
            &format!("{root}/packaging/aduan.toml"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
}

/// Several offices on one server (`aduan@binjai`, `aduan@madiun`): one daemon each, with its own
/// configuration, data directory and port; a complaint to one office is in its register only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_offices_on_one_server() {
    let root = tmp("offices");
    let mut daemons = Vec::new();
    for (office, prefix) in [("binjai", "BJI"), ("madiun", "MDN")] {
        let dir = root.join(office);
        let url = format!("sqlite://{}/aduan.db", dir.display());
        let d = crate::helpers::RealDaemon::spawn(
            &url,
            &[
                ("ADUAN_OFFICE__REGISTER_PREFIX", prefix),
                ("ADUAN_OFFICE__NAME", office),
                ("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "0"),
            ],
        )
        .await;
        daemons.push((office, prefix, url, d));
    }
    let http = reqwest::Client::new();
    for (office, prefix, _, d) in &daemons {
        let v: serde_json::Value = http
            .post(d.url("/api/v1/complaints"))
            .json(&serde_json::json!({"body": format!("aduan untuk {office}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            v["register_no"].as_str().unwrap().starts_with(prefix),
            "{v}"
        );
    }
    for (office, _, url, d) in daemons {
        let db = aduan::db::Db::connect(&url, &Default::default())
            .await
            .unwrap();
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM messages WHERE direction = 'in'")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(bodies, vec![format!("aduan untuk {office}")]);
        db.close().await;
        d.stop().await;
    }
    let _ = std::fs::remove_dir_all(root);
}

/// A procedure or office hours that cannot work are refused by name; `sla procedure` prints the
/// one in force and `sla recompute` runs over the register.
#[test]
fn procedure_and_hours_are_checked_and_shown() {
    let dir = tmp("proc");
    let bad = dir.join("ours.toml");
    std::fs::write(
        &bad,
        "name = \"ours\"\ncompletion_deadline = \"14 days\"\n[[step]]\nstatus = \"registered\"\nrole = \"front_office\"\nnext = { verified = [\"section_head\"] }\n[[step]]\nstatus = \"verified\"\nrole = \"kabid\"\n",
    )
    .unwrap();
    let f = dir.join("aduan.toml");
    std::fs::write(
        &f,
        format!(
            "[office]\nname = \"X\"\nhours = \"16:00-08:00\"\nprocedure = \"{}\"\n",
            bad.display()
        ),
    )
    .unwrap();
    let (code, out) = aduan(&["check-config", "--config", f.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("error: office.hours") && out.contains("closes before it opens"),
        "{out}"
    );
    assert!(
        out.contains("error: office.procedure") && out.contains("kabid"),
        "{out}"
    );
    // A shipped profile by name; the procedure is printed with its chain.
    let (code, out) = aduan(
        &["sla", "procedure"],
        &[
            ("ADUAN_OFFICE__PROCEDURE", "lapor"),
            ("ADUAN_DATA_DIR", dir.to_str().unwrap()),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("LAPOR! (SOP 004)"), "{out}");
    assert!(out.contains("3. sign by head_of_office"), "{out}");
    assert!(
        !dir.join("aduan.db").exists(),
        "showing the procedure needs no register"
    );
    let (code, out) = aduan(&["migrate"], &[("ADUAN_DATA_DIR", dir.to_str().unwrap())]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = aduan(
        &["sla", "recompute"],
        &[("ADUAN_DATA_DIR", dir.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("0 open complaint(s) recomputed, 0 changed"),
        "{out}"
    );
}

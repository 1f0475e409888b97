//! Upgrades: the register of every released version (fixtures under `tests/fixtures/`, made by
//! `make_release_fixtures` below when a version is released) opens with today's migrations and
//! keeps every complaint; a register newer than this aduan is refused, untouched.

use aduan::db::Backend;
use aduan_channel::{Address, ChannelKind, CounterMedium, InboundMessage, Intent};
use sqlx::Row;

use crate::both;
use crate::helpers::*;
use crate::testchannel::ScriptedChannel;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Complaints from every channel, a thread, a reply and a workflow step.
async fn fill(core: &aduan::state::Shared) {
    use aduan::intake::submit;
    let mut web = InboundMessage::new(
        ChannelKind::Web,
        "web-1",
        Address::None,
        "Izin belum terbit",
    );
    web.display_name = Some("Ani".into());
    web.contacts = vec![
        Address::Email("ani@example.id".into()),
        Address::Phone("+6281234500001".into()),
    ];
    let mut counter = InboundMessage::new(
        ChannelKind::Counter,
        "counter-1",
        Address::None,
        "Surat keberatan",
    );
    counter.medium = Some(CounterMedium::Letter);
    let mut mail = InboundMessage::new(
        ChannelKind::Email,
        "<m1@example.id>",
        Address::Email("budi@example.id".into()),
        "Jalan rusak di depan kantor camat",
    );
    mail.subject = Some("Jalan rusak".into());
    mail.hints.message_id = Some("<m1@example.id>".into());
    let sms = InboundMessage::new(
        ChannelKind::Sms,
        "sms:m1:1",
        Address::Phone("+6281234500002".into()),
        "Lampu jalan padam",
    );
    let mut tg = InboundMessage::new(
        ChannelKind::Telegram,
        "tg:1:1",
        Address::TelegramChat(777),
        "Antrean loket lama",
    );
    tg.hints.conversation = Some("777".into());
    let lapor = aduan_lapor::link_message("5312345", "siti");
    let mut status = InboundMessage::new(
        ChannelKind::Sms,
        "sms:m1:2",
        Address::Phone("+6281234500002".into()),
        "STATUS",
    );
    for m in [web, counter, mail, sms, tg, lapor] {
        submit(core, m).await.unwrap();
    }
    let no: String = sqlx::query("SELECT register_no FROM complaints WHERE channel = 'sms'")
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    status.intent = Intent::StatusQuery {
        register_no: no.clone(),
    };
    submit(core, status).await.unwrap();
    aduan::officers::add(&core.db, "siti", "Siti", aduan::workflow::Role::SectionHead)
        .await
        .unwrap();
    let officer = aduan::workflow::Officer {
        id: 1,
        username: "siti".into(),
        display_name: "Siti".into(),
        role: aduan::workflow::Role::SectionHead,
    };
    aduan::workflow::reply(core, &officer, &no, "Sedang kami perbaiki", &[])
        .await
        .unwrap();
}

async fn channels_core(db_url: &str) -> aduan::state::Shared {
    let cfg = test_config(db_url, &[]);
    open_core_with(
        &cfg,
        vec![
            ScriptedChannel::new(ChannelKind::Email, vec![]),
            ScriptedChannel::new(ChannelKind::Sms, vec![]),
            ScriptedChannel::new(ChannelKind::Telegram, vec![]),
            ScriptedChannel::new(ChannelKind::Lapor, vec![]),
        ],
    )
    .await
}

/// Writes the fixtures of the version in `Cargo.toml` (run when releasing):
/// `cargo nextest run -E 'test(make_release_fixtures)' --run-ignored only`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes tests/fixtures/<version>/ when a version is released"]
async fn make_release_fixtures() {
    let dir = format!("{FIXTURES}/{}", env!("CARGO_PKG_VERSION"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = fresh(Backend::Sqlite).await.unwrap();
    let core = channels_core(&db.url).await;
    fill(&core).await;
    let file = format!("{dir}/aduan.db");
    let _ = std::fs::remove_file(&file);
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{file}'")))
        .execute(&core.db.write)
        .await
        .unwrap();
    core.db.close().await;
    let pg = fresh(Backend::Postgres).await.unwrap();
    let core = channels_core(&pg.url).await;
    fill(&core).await;
    core.db.close().await;
    let out = std::process::Command::new("pg_dump")
        .args(["--no-owner", "--no-privileges", "--format=plain", &pg.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(format!("{dir}/aduan.sql"), out.stdout).unwrap();
    pg.drop_db().await;
}

/// Every released register (every channel; `tests/fixtures/<version>/`) opens with today's
/// migrations; nothing is lost and it takes new complaints.
async fn upgrade_from_every_release(backend: Backend) {
    let mut versions: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    assert!(
        versions.len() >= 2 && versions.contains(&"0.1.0".to_string()),
        "{versions:?}"
    );
    assert!(
        versions.contains(&env!("CARGO_PKG_VERSION").to_string()),
        "no fixtures of this version ({}): run make_release_fixtures when releasing",
        env!("CARGO_PKG_VERSION")
    );
    for v in versions {
        upgrade_from(&v, backend).await;
    }
}
both!(upgrade_from_every_release);

async fn upgrade_from(version: &str, backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    match backend {
        Backend::Sqlite => {
            let path = db
                .url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            std::fs::copy(format!("{FIXTURES}/{version}/aduan.db"), &path).unwrap();
        }
        Backend::Postgres => {
            let out = std::process::Command::new("psql")
                .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
                .arg(format!("{FIXTURES}/{version}/aduan.sql"))
                .arg(&db.url)
                .output()
                .expect("psql (postgresql-client)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let core = channels_core(&db.url).await;
    let per_channel: Vec<(String, i64)> =
        sqlx::query("SELECT channel, COUNT(*) FROM complaints GROUP BY channel ORDER BY channel")
            .fetch_all(&core.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
            .collect();
    let names: Vec<&str> = per_channel.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        names,
        ["counter", "email", "lapor", "sms", "telegram", "web"],
        "{version}: {per_channel:?}"
    );
    assert!(scalar(&core.db, "SELECT COUNT(*) FROM outbox WHERE kind = 'reply'").await >= 1);
    assert_eq!(
        scalar(&core.db, "SELECT COUNT(*) FROM complaint_contacts").await,
        2
    );
    assert!(core.db.pending_migrations().await.unwrap().is_empty());
    // The old English notes became events when the register opened: none is left unread,
    // none kept as mere text, and the counter's entry says how the complaint came.
    assert_eq!(
        scalar(&core.db, "SELECT COUNT(*) FROM audit WHERE fields IS NULL").await,
        0
    );
    use aduan::register::audit::AuditEvent;
    let mut events = Vec::new();
    for name in ["register", "reply"] {
        events.extend(aduan::register::audit::named(&core.db, name).await.unwrap());
    }
    assert!(events.len() >= 7, "{version}: {events:?}");
    assert!(
        events
            .iter()
            .all(|a| !matches!(a.event, AuditEvent::Legacy { .. })),
        "{version}: {events:?}"
    );
    assert!(events.iter().any(|a| a.event
        == AuditEvent::Registered {
            channel: ChannelKind::Counter,
            medium: Some(CounterMedium::Letter),
            flagged: None,
        }));
    assert!(events
        .iter()
        .any(|a| a.event == AuditEvent::Reply { messages: 1 }));
    let c = aduan::intake::submit(
        &core,
        InboundMessage::new(
            ChannelKind::Sms,
            "sms:after-upgrade",
            Address::Phone("+6281234500009".into()),
            "setelah pembaruan",
        ),
    )
    .await
    .unwrap();
    assert!(c.register_no.starts_with("ADU-"));
    core.db.close().await;
    db.drop_db().await;
}

/// A register with a migration this aduan does not know is refused with a clear message, and
/// nothing in it is changed.
async fn newer_schema_is_refused(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let core = open_core(&cfg).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', true, $1, 0)",
    )
    .bind(vec![0u8; 48])
    .execute(&core.db.write)
    .await
    .unwrap();
    core.db.close().await;
    let err = aduan::state::Core::open(&cfg, None)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("newer than this aduan knows") && err.contains("9999"),
        "{err}"
    );
    db.drop_db().await;
}
both!(newer_schema_is_refused);

/// Backups while the register is busy: 2,000 complaints are submitted while `backup` runs; the
/// restored copy holds every complaint that had committed when the backup started, and
/// `verify` passes. A corrupted file is refused with a clear error and the live register is
/// untouched; a running daemon refuses a restore.
async fn backup_while_busy_and_restore(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let core = channels_core(&db.url).await;
    let dir = std::env::temp_dir().join(format!(
        "aduan-backup-{}-{}",
        backend.as_str(),
        aduan::register::tracking_code()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("aduan.backup");
    let submitted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writers = {
        let (core, submitted) = (core.clone(), submitted.clone());
        tokio::spawn(async move {
            let mut set = tokio::task::JoinSet::new();
            for w in 0..4 {
                let (core, submitted) = (core.clone(), submitted.clone());
                set.spawn(async move {
                    for i in 0..500 {
                        let m = InboundMessage::new(
                            ChannelKind::Sms,
                            format!("sms:b:{w}:{i}"),
                            Address::Phone(format!("+62812{w:02}{i:06}")),
                            format!("aduan {w}/{i}"),
                        );
                        let c = aduan::intake::submit(&core, m).await.unwrap();
                        submitted.lock().unwrap().push(c.register_no);
                    }
                });
            }
            while set.join_next().await.is_some() {}
        })
    };
    // Let some land, then back up while the rest keep coming.
    while submitted.lock().unwrap().len() < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before: Vec<String> = submitted.lock().unwrap().clone();
    let copy = aduan::backup::backup(&core.db, &db.url, &file)
        .await
        .unwrap();
    writers.await.unwrap();
    assert_eq!(submitted.lock().unwrap().len(), 2000);
    // What `backup` says the copy holds is what a later verify reads: the copy's own count
    // (taken while writers ran on), not the live register's after it.
    let s = aduan::backup::verify(&file, backend).await.unwrap();
    assert_eq!(s, copy);
    assert!(s.complaints >= before.len() as i64, "{s}");
    assert!(s.complaints < 2000 + 6, "{s}");
    assert_eq!(s.schema, latest_schema());
    assert!(s.messages >= s.complaints && s.attachments == 0, "{s}");
    let recorded = scalar(
        &core.db,
        "SELECT complaints FROM backup_runs ORDER BY at DESC LIMIT 1",
    )
    .await;
    assert_eq!(recorded, s.complaints);
    // Restore into a new register (a new server) and find every complaint committed before.
    let target = fresh(backend).await.unwrap();
    if backend == Backend::Sqlite {
        // The restored file replaces the target's register file.
        let c = aduan::state::Core::open(&test_config(&target.url, &[]), None)
            .await
            .unwrap();
        c.db.close().await;
    }
    let target_file = aduan::db::sqlite_file(&target.url);
    if backend == Backend::Sqlite {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    aduan::backup::restore(&target.url, &file, 15)
        .await
        .unwrap();
    if backend == Backend::Sqlite {
        // The restored register keeps the mode (and owner) of the file it replaced.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let restored = aduan::db::Db::connect(&target.url, &Default::default())
        .await
        .unwrap();
    let nos: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT register_no FROM complaints")
            .fetch_all(&restored.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let missing: Vec<&String> = before.iter().filter(|n| !nos.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "{} committed complaints missing",
        missing.len()
    );
    restored.close().await;
    // A backup cut in half, or with 4 KiB overwritten in its middle, does not verify.
    let bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    let half = dir.join("separuh.backup");
    std::fs::write(&half, &bytes[..n / 2]).unwrap();
    let err = aduan::backup::verify(&half, backend).await.unwrap_err();
    assert!(
        matches!(err, aduan::backup::BackupError::Unusable { .. }),
        "{err}"
    );
    let bad = dir.join("rusak.backup");
    let mut bytes = bytes;
    for b in &mut bytes[n / 2..n / 2 + 4096.min(n / 3)] {
        *b ^= 0x5a;
    }
    std::fs::write(&bad, &bytes).unwrap();
    let err = aduan::backup::verify(&bad, backend).await.unwrap_err();
    assert!(
        matches!(err, aduan::backup::BackupError::Unusable { .. }),
        "{err}"
    );
    // Restoring it: a clear error, the live register untouched.
    let live_before = scalar(&core.db, "SELECT COUNT(*) FROM complaints").await;
    let err = aduan::backup::restore(&db.url, &bad, 15).await.unwrap_err();
    assert!(
        matches!(err, aduan::backup::BackupError::Unusable { .. }),
        "{err}"
    );
    assert_eq!(
        scalar(&core.db, "SELECT COUNT(*) FROM complaints").await,
        live_before
    );
    // A daemon heartbeat on the register: restore refused.
    aduan::presence::beat(&core, "test-daemon").await.unwrap();
    let err = aduan::backup::restore(&db.url, &file, 15)
        .await
        .unwrap_err();
    assert!(
        matches!(err, aduan::backup::BackupError::Running { .. }),
        "{err}"
    );
    core.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    target.drop_db().await;
    db.drop_db().await;
}
both!(backup_while_busy_and_restore);

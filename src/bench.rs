//! The measurements recorded in BENCHMARKS.md that need the register from inside (run by the
//! dev-only `aduan-bench` binary, not shipped), and the fresh databases tests and benches use.
//!
//! `aduan-bench intake` pushes N new complaints through the whole intake path (dedup, threading,
//! complainant, register number, complaint, thread entry, audit, receipt queued) and, in the
//! same run on a fresh database of the same backend, inserts the same rows with plain
//! one-transaction-per-message statements — the raw rate intake is compared with.
//! `aduan-bench idle-rss` starts `aduan serve` with the default config and reads its RSS.

use std::time::{Duration, Instant};

use aduan_channel::{Address, ChannelKind, InboundMessage, ThreadingHints};

use crate::config;
use crate::db::{now_ms, ConnectOptions, Db};
use crate::state::Core;

pub struct IntakeResult {
    pub backend: &'static str,
    pub raw_per_sec: f64,
    pub intake_per_sec: f64,
}

/// The registers a channel benchmark runs on: SQLite, and PostgreSQL (`ADUAN_TEST_POSTGRES`,
/// default the local server) when it answers.
pub async fn backends() -> Vec<(&'static str, Option<String>)> {
    let mut backends: Vec<(&str, Option<String>)> = vec![("sqlite", None)];
    let pg = std::env::var("ADUAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect("127.0.0.1:5432"),
    )
    .await
    .is_ok_and(|r| r.is_ok())
    {
        backends.push(("postgres", Some(pg)));
    }
    backends
}

/// A fresh database for a bench or test: a SQLite file in a temp dir, or a new PostgreSQL
/// database on the given server. Dropped with [`FreshDb::drop_db`].
pub struct FreshDb {
    pub url: String,
    admin: Option<(String, String)>,
    dir: Option<std::path::PathBuf>,
}

impl FreshDb {
    pub async fn create(postgres: Option<&str>, tag: &str) -> anyhow::Result<FreshDb> {
        let name = format!(
            "aduan_{tag}_{}",
            crate::register::tracking_code().to_lowercase()
        );
        match postgres {
            Some(server) => {
                let admin = Db::connect(
                    server,
                    &ConnectOptions {
                        max_connections: 1,
                        ..Default::default()
                    },
                )
                .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin.pool)
                    .await?;
                admin.close().await;
                let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
                Ok(FreshDb {
                    url: format!("{base}/{name}"),
                    admin: Some((server.to_string(), name)),
                    dir: None,
                })
            }
            None => {
                let dir = std::env::temp_dir().join(name);
                std::fs::create_dir_all(&dir)?;
                Ok(FreshDb {
                    url: format!("sqlite://{}/aduan.db", dir.display()),
                    admin: None,
                    dir: Some(dir),
                })
            }
        }
    }

    pub async fn drop_db(self) {
        if let Some((server, name)) = self.admin {
            if let Ok(admin) = Db::connect(
                &server,
                &ConnectOptions {
                    max_connections: 1,
                    ..Default::default()
                },
            )
            .await
            {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&admin.pool)
                .await;
                admin.close().await;
            }
        }
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn bench_message(i: usize) -> InboundMessage {
    let mut m = InboundMessage::new(
        ChannelKind::Sms,
        format!("bench-{i}"),
        Address::Phone(format!("+62812{:08}", i)),
        format!("Jalan di depan kantor kelurahan rusak parah sejak bulan lalu, mohon ditindaklanjuti. No {i}"),
    );
    m.display_name = Some(format!("Warga {i}"));
    m.hints = ThreadingHints::default();
    m
}

async fn open(
    url: &str,
    full: bool,
    cfg_path: Option<&std::path::Path>,
) -> anyhow::Result<std::sync::Arc<Core>> {
    let db = Db::connect(
        url,
        &ConnectOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
            sqlite_synchronous_full: full,
            ..Default::default()
        },
    )
    .await?;
    db.migrate().await?;
    let (mut cfg, base, _) = config::load(cfg_path, &Default::default()).into_result()?;
    cfg.intake.ack_limit_per_hour = 5;
    let mut core = Core::with_db(&cfg, base.as_deref(), db)?;
    // The bench submits SMS: an SMS adapter must exist for receipts to be queued.
    if let Some(c) = std::sync::Arc::get_mut(&mut core) {
        c.channels.insert(std::sync::Arc::new(NullSms));
    }
    Ok(core)
}

/// Stands in for the SMS adapter so receipts are queued as they would be; never sends.
struct NullSms;

#[async_trait::async_trait]
impl aduan_channel::Channel for NullSms {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }
    async fn receive(
        &self,
        _: aduan_channel::ChannelContext,
    ) -> Result<(), aduan_channel::ReceiveError> {
        Ok(())
    }
    async fn send(
        &self,
        _: &aduan_channel::OutboundMessage,
    ) -> Result<aduan_channel::SendReceipt, aduan_channel::SendError> {
        Err(aduan_channel::SendError::transient(
            "bench channel does not send",
        ))
    }
    async fn health(&self) -> aduan_channel::Health {
        aduan_channel::Health::ok("bench")
    }
}

/// The raw rate: the same rows intake writes for a new complaint, one transaction per message,
/// no lookups.
async fn raw_inserts(db: &Db, n: usize, concurrency: usize) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let db = db.clone();
        set.spawn(async move {
            let mut i = w;
            while i < n {
                let m = bench_message(i);
                let now = now_ms();
                let mut tx = db.begin().await?;
                let pid: i64 = sqlx::Row::try_get(&sqlx::query("INSERT INTO complainants (name, created_at) VALUES ($1, $2) RETURNING id").bind(m.display_name.clone().unwrap_or_default()).bind(now).fetch_one(&mut *tx).await?, "id")?;
                sqlx::query("INSERT INTO complainant_addresses (address, complainant_id) VALUES ($1, $2)").bind(m.sender.to_key()).bind(pid).execute(&mut *tx).await?;
                let cid: i64 = sqlx::Row::try_get(&sqlx::query("INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, reply_to, subject, status, lang, received_at, due_date, due_at, updated_at, search_text) VALUES ($1, 'CODE', $2, 'sms', $3, 'subject', 'registered', 'id', $4, '2026-12-01', $4, $4, $5) RETURNING id").bind(format!("RAW-2026-{i:06}")).bind(pid).bind(m.sender.to_key()).bind(now).bind(m.text.to_lowercase()).fetch_one(&mut *tx).await?, "id")?;
                sqlx::query("INSERT INTO messages (complaint_id, direction, channel, external_id, sender, body, created_at) VALUES ($1, 'in', 'sms', $2, $3, $4, $5)").bind(cid).bind(&m.external_id).bind(m.sender.to_key()).bind(&m.text).bind(now).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO audit (complaint_id, actor, action, note, at) VALUES ($1, 'system', 'register', 'via sms', $2)").bind(cid).bind(now).execute(&mut *tx).await?;
                let mid: i64 = sqlx::Row::try_get(&sqlx::query("INSERT INTO messages (complaint_id, direction, channel, sender, body, provider_message_id, created_at) VALUES ($1, 'out', 'sms', $2, 'receipt', $3, $4) RETURNING id").bind(cid).bind(m.sender.to_key()).bind(format!("<{i}@bench>")).bind(now).fetch_one(&mut *tx).await?, "id")?;
                sqlx::query("INSERT INTO outbox (complaint_id, message_id, channel, recipient, kind, subject, body, provider_msg_id, status, next_attempt_at, created_at) VALUES ($1, $2, 'sms', $3, 'receipt', 's', 'receipt', $4, 'queued', $5, $5)").bind(cid).bind(mid).bind(m.sender.to_key()).bind(format!("<{i}@bench>")).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                i += concurrency;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(start.elapsed())
}

pub async fn intake(
    postgres: Option<&str>,
    n: usize,
    concurrency: usize,
    full: bool,
    cfg_path: Option<&std::path::Path>,
) -> anyhow::Result<IntakeResult> {
    let raw_db = FreshDb::create(postgres, "bench_raw").await?;
    let intake_db = FreshDb::create(postgres, "bench_intake").await?;
    let result = async {
        let raw_core = open(&raw_db.url, full, cfg_path).await?;
        let core = open(&intake_db.url, full, cfg_path).await?;
        let backend = core.db.backend.as_str();
        let raw = raw_inserts(&raw_core.db, n, concurrency).await?;
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for w in 0..concurrency {
            let core = core.clone();
            set.spawn(async move {
                let mut i = w;
                while i < n {
                    crate::intake::submit(&core, bench_message(i)).await?;
                    i += concurrency;
                }
                Ok::<_, anyhow::Error>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        let took = start.elapsed();
        let queued: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'receipt'")
                .fetch_one(&core.db.pool)
                .await?,
            "n",
        )?;
        anyhow::ensure!(
            queued as usize == n,
            "intake queued {queued} receipts for {n} messages"
        );
        raw_core.db.close().await;
        core.db.close().await;
        Ok::<_, anyhow::Error>(IntakeResult {
            backend,
            raw_per_sec: n as f64 / raw.as_secs_f64(),
            intake_per_sec: n as f64 / took.as_secs_f64(),
        })
    }
    .await;
    raw_db.drop_db().await;
    intake_db.drop_db().await;
    result
}

/// Starts `aduan serve` (the `aduan` binary beside this one) on the default config with a temp data dir and a free
/// port, waits until it answers and settles, and returns its VmRSS in KiB.
pub async fn idle_rss(settle_secs: u64) -> anyhow::Result<u64> {
    let exe = std::env::current_exe()?.with_file_name("aduan");
    anyhow::ensure!(
        exe.exists(),
        "{} not found: build it first (cargo build --release)",
        exe.display()
    );
    let dir = std::env::temp_dir().join(format!("aduan-rss-{}", std::process::id()));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut child = tokio::process::Command::new(exe)
        .arg("serve")
        .env("ADUAN_DATA_DIR", &dir)
        .env("ADUAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or_else(|| anyhow::anyhow!("no pid"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "aduan serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(settle_secs)).await;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(kb)
}

const WORDS: &[&str] = &[
    "jalan",
    "rusak",
    "lampu",
    "padam",
    "antrian",
    "lama",
    "izin",
    "usaha",
    "petugas",
    "ramah",
    "sampah",
    "menumpuk",
    "air",
    "mati",
    "banjir",
    "selokan",
    "parkir",
    "liar",
    "pungutan",
    "biaya",
    "sertifikat",
    "tanah",
    "ktp",
    "akta",
    "kelahiran",
    "puskesmas",
    "obat",
    "sekolah",
    "guru",
    "bantuan",
    "sosial",
    "pasar",
    "trotoar",
    "pohon",
    "tumbang",
    "listrik",
    "bising",
    "macet",
    "terminal",
    "angkot",
    "pelayanan",
    "loket",
    "berkas",
    "hilang",
    "tagihan",
];

/// Seeds `n` complaints with bulk inserts (not through intake: the figure is about reading).
/// Complaint `k` (0-based, id order) is `BEN-2026-{k:07}` and its text ends in "nomor {k}".
pub async fn seed(core: &Core, n: usize) -> anyhow::Result<()> {
    let statuses = [
        ("registered", 30),
        ("verified", 20),
        ("disposed", 15),
        ("answered", 20),
        ("closed", 15),
    ];
    let channels = ["web", "sms", "email", "telegram", "counter", "lapor"];
    let now = now_ms();
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let people = (n / 3).max(1);
    for chunk in (0..people).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from("INSERT INTO complainants (name, created_at) VALUES ");
        for (i, p) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("('Warga {p}', {now})"));
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&core.db.write)
            .await?;
    }
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let mut sql = String::from(
            "INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, reply_to, subject, \
             status, is_open, lang, received_at, due_date, due_at, answered_at, updated_at, search_text, \
             confidential, identity_text, identity_indexed) VALUES ",
        );
        for i in 0..batch {
            let k = done + i;
            let r = next();
            let mut pick = (r % 100) as i32;
            let status = statuses
                .iter()
                .find(|(_, w)| {
                    pick -= w;
                    pick < 0
                })
                .map(|(s, _)| *s)
                .unwrap_or("registered");
            let channel = channels[(r >> 8) as usize % channels.len()];
            let received = now - ((r >> 16) % (365 * 86_400_000)) as i64;
            let w: Vec<&str> = (0..8)
                .map(|j| WORDS[((r >> (20 + j * 5)) as usize) % WORDS.len()])
                .collect();
            let subject = format!("{} {}", w[0], w[1]);
            let text = format!(
                "{} {} di {} {} {} {} nomor {k}",
                subject, w[2], w[3], w[4], w[5], w[6]
            );
            let open = !matches!(status, "closed");
            let answered = if matches!(status, "answered" | "closed") {
                (received + 3 * 86_400_000).to_string()
            } else {
                "NULL".into()
            };
            if i > 0 {
                sql.push(',');
            }
            // One in fifty confidential: its complainant's name indexed apart (one word no
            // complaint's text has).
            let confidential = k % 50 == 0;
            let identity = if confidential { "rahasiawan" } else { "" };
            sql.push_str(&format!(
                "('BEN-2026-{k:07}', 'CODE{k}', {}, '{channel}', '', '{subject}', '{status}', {}, 'id', {received}, '2026-12-01', {}, {answered}, {received}, '{}', {}, '{identity}', 1)",
                1 + (k % people),
                open as i64,
                received + 7 * 86_400_000,
                text,
                confidential as i64
            ));
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&core.db.write)
            .await?;
        done += batch;
    }
    if core.db.backend == crate::db::Backend::Postgres {
        sqlx::query(
            "UPDATE complaints SET text_tsv = to_tsvector('simple', search_text) \
             WHERE confidential = 1",
        )
        .execute(&core.db.write)
        .await?;
    }
    sqlx::query("ANALYZE").execute(&core.db.write).await?;
    Ok(())
}

pub async fn inbox(
    postgres: Option<&str>,
    n: usize,
    reps: usize,
    cfg_path: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let fresh = FreshDb::create(postgres, "inbox").await?;
    let mut env = std::collections::BTreeMap::new();
    env.insert("ADUAN_DATABASE_URL".to_string(), fresh.url.clone());
    let (cfg, _, _) = config::load(cfg_path, &env).into_result()?;
    let core = Core::open(&cfg, None).await?;
    let t = Instant::now();
    seed(&core, n).await?;
    println!(
        "backend={} complaints={n} seeded in {:.1?}",
        core.db.backend.as_str(),
        t.elapsed()
    );
    // The officer whose page it is: their read marks on some of the newest complaints, a unit
    // with members (the "my queue" conditions read it).
    crate::register::officers::add(
        &core.db,
        "bench_fo",
        "Bench",
        crate::workflow::Role::FrontOffice,
    )
    .await?;
    let me = crate::register::officers::active_by_username(&core.db, "bench_fo")
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench officer missing"))?;
    crate::register::units::add(&core.db, "Bench Unit", 0).await?;
    crate::register::workspace::add_member(&core.db, "Bench Unit", "bench_fo").await?;
    let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM complaints")
        .fetch_one(&core.db.pool)
        .await?;
    for id in (newest - 2000..=newest).step_by(10) {
        crate::register::workspace::mark_read(&core.db, me.id, id, 0).await?;
    }
    // The technical team: searches that never match a confidential complainant's name.
    crate::register::officers::add(
        &core.db,
        "bench_tt",
        "Bench",
        crate::workflow::Role::TechnicalTeam,
    )
    .await?;
    let tech = crate::register::officers::active_by_username(&core.db, "bench_tt")
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench officer missing"))?;
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("inbox, newest 50", vec![]),
        ("my queue", vec![("antrian", "saya")]),
        ("open, nearest due first", vec![("urut", "batas")]),
        (
            "my queue, nearest due",
            vec![("antrian", "saya"), ("urut", "batas")],
        ),
        ("status=verified", vec![("status", "verified")]),
        ("channel=sms", vec![("channel", "sms")]),
        ("search one common word", vec![("q", "jalan")]),
        ("search two words", vec![("q", "lampu padam")]),
        ("search rare (a number prefix)", vec![("q", "nomor 4242")]),
        ("search word in every one", vec![("q", "nomor")]),
        ("search one number", vec![("q", "4242")]),
        (
            "search common word, page 20",
            vec![("q", "jalan"), ("page", "20")],
        ),
        (
            "search + status",
            vec![("q", "banjir"), ("status", "registered")],
        ),
        ("tech: search one common word", vec![("q", "jalan")]),
        ("tech: search word in every one", vec![("q", "nomor")]),
        ("tech: search rare number", vec![("q", "nomor 4242")]),
        (
            "tech: search a confidential name",
            vec![("q", "rahasiawan")],
        ),
    ];
    for (name, params) in cases {
        let reader = if name.starts_with("tech:") {
            &tech
        } else {
            &me
        };
        let q: std::collections::HashMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut times = Vec::with_capacity(reps);
        let mut rows = 0;
        for _ in 0..reps {
            // The page's data: the rows with the officer's read marks and the capped count,
            // the navigation's new count, each row's deadline in working days.
            let t = Instant::now();
            let listing = crate::web::ui::inbox_rows(&core, &q, Some(reader)).await?;
            let new = crate::register::workspace::new_count(&core.db, reader.id).await?;
            let now = crate::db::now_ms();
            let mut unread = 0;
            for l in &listing.items {
                let c = &l.complaint;
                std::hint::black_box(crate::web::words::time_left(
                    &core.calendar,
                    c.due_at,
                    now,
                    aduan_channel::Lang::Id,
                ));
                unread += crate::register::workspace::is_unread(l.seen_at, c.updated_at) as usize;
            }
            std::hint::black_box((new, unread, listing.total));
            rows = listing.items.len();
            times.push(t.elapsed());
        }
        times.sort();
        let p =
            |x: f64| times[((x * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "  {name:<30} rows={rows:<3} p50={:.1?} p95={:.1?} max={:.1?}",
            p(0.5),
            p(0.95),
            times[times.len() - 1]
        );
    }
    // The baseline of the search cases: the page's rows alone, no count, no read marks.
    for word in ["nomor", "jalan"] {
        let f = crate::register::ComplaintFilter {
            text: Some(word.to_string()),
            now: crate::db::now_ms(),
            ..Default::default()
        };
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            let page = crate::register::Page {
                number: 1,
                size: 50,
                ..Default::default()
            };
            std::hint::black_box(crate::register::list_complaints(&core.db, &f, page).await?);
            times.push(t.elapsed());
        }
        times.sort();
        let p =
            |x: f64| times[((x * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "  rows only, search {word:<14} rows=50  p50={:.1?} p95={:.1?}",
            p(0.5),
            p(0.95)
        );
    }
    core.db.close().await;
    fresh.drop_db().await;
    Ok(())
}

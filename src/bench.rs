//! The measurements recorded in BENCHMARKS.md that need the daemon from inside (run by the
//! dev-only `aduan-bench` binary, built with `--features bench-tools`, not shipped). Fresh
//! databases, seeding and the raw baseline are `register::testing`.
//!
//! `aduan-bench intake` pushes N new complaints through the whole intake path (dedup, threading,
//! complainant, register number, complaint, thread entry, audit, receipt queued) and, in the
//! same run on a fresh database of the same backend, inserts the same rows with plain
//! one-transaction-per-message statements — the raw rate intake is compared with.
//! `aduan-bench idle-rss` starts `aduan serve` with the default config and reads its RSS.

use std::time::{Duration, Instant};

use aduan_channel::ChannelKind;

use crate::config;
use crate::db::{ConnectOptions, Db};
use crate::register::testing::{bench_message, raw_inserts, scalar, seed, FreshDb};
use crate::state::Core;

pub struct IntakeResult {
    pub backend: &'static str,
    pub raw_per_sec: f64,
    pub intake_per_sec: f64,
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
        let queued = scalar(
            &core.db,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'",
        )
        .await?;
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

/// The officers the inbox benchmark reads as: a front-office officer with read marks and a
/// unit, and a technical-team member (whose searches never match a confidential name).
async fn bench_officers(
    core: &Core,
) -> anyhow::Result<(crate::workflow::Officer, crate::workflow::Officer)> {
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
    let newest = scalar(&core.db, "SELECT MAX(id) FROM complaints").await?;
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
    Ok((me, tech))
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
    seed(&core.db, n).await?;
    println!(
        "backend={} complaints={n} seeded in {:.1?}",
        core.db.backend.as_str(),
        t.elapsed()
    );
    let (me, tech) = bench_officers(&core).await?;
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

//! WhatsApp benchmark (`cargo bench --bench whatsapp`): 3,000 signed webhook deliveries —
//! 1,000 numbers × 3 text messages (one complaint and two follow-ups each) — POSTed one after
//! another over one keep-alive connection to `/hooks/whatsapp` of the real daemon (release
//! build), each answered 200 only after its commit; receipts go out meanwhile to the local
//! fake Graph API. A fresh register per round: SQLite, then PostgreSQL when reachable. Figures
//! go to BENCHMARKS.md beside the Telegram figure.

use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../tests/support/daemon.rs"]
mod daemon;
#[allow(dead_code)]
#[path = "../tests/it/fakegraph.rs"]
mod fakegraph;

use fakegraph::{notification, sign, text, FakeGraph};

const NUMBERS: u64 = 1000;
const PER_NUMBER: u64 = 3;

async fn run_one(server: Option<&str>) -> anyhow::Result<(Duration, usize, u64)> {
    let g = FakeGraph::start().await;
    let fresh = aduan::register::testing::FreshDb::create(server, "bench").await?;
    let env: Vec<(String, String)> = g.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let d = daemon::RealDaemon::spawn(&fresh.url, &env).await;
    let now = chrono::Utc::now().timestamp();
    let mut bodies = Vec::new();
    for round in 0..PER_NUMBER {
        for n in 0..NUMBERS {
            let wa = format!("62812{:08}", 10_000_000 + n);
            let p = notification(
                &wa,
                "Warga",
                vec![text(
                    &wa,
                    &format!("wamid.B{n}-{round}"),
                    now,
                    &format!("Pengaduan {n}: lampu jalan padam di gang {n}, pesan {round}"),
                )],
                vec![],
            );
            let body = serde_json::to_vec(&p)?;
            bodies.push((sign(&body), body));
        }
    }
    let http = reqwest::Client::new();
    let url = d.url("/hooks/whatsapp");
    let start = Instant::now();
    for (sig, body) in &bodies {
        let r = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sig)
            .body(body.clone())
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "delivery answered {}", r.status());
    }
    let dt = start.elapsed();
    let rss = d.status_kib("VmHWM");
    d.stop().await;
    fresh.drop_db().await;
    Ok((dt, bodies.len(), rss))
}

async fn run() -> anyhow::Result<()> {
    for (name, server) in aduan::register::testing::backends().await {
        for round in 1..=2 {
            let (dt, n, rss) = run_one(server.as_deref()).await?;
            println!(
                "{name} round {round}: {n} deliveries ({NUMBERS} complaints + {} follow-ups, receipts sent) in {dt:.2?} = {:.0} deliveries/s, daemon peak RSS {} MiB",
                n as u64 - NUMBERS,
                n as f64 / dt.as_secs_f64(),
                rss / 1024
            );
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}

//! Telegram benchmark (`cargo bench --bench telegram`): 3,000 updates (1,000 chats × 3 text
//! messages: one complaint and two follow-ups each) served by the local fake Bot API in
//! `getUpdates` batches of 100, registered through the real channel into a fresh register
//! (SQLite, then PostgreSQL when reachable). Figures go to BENCHMARKS.md.

use std::time::{Duration, Instant};

use aduan_channel::{ChannelContext, ChannelKind};

#[allow(dead_code)]
#[path = "../tests/it/fakebot.rs"]
mod fakebot;

use fakebot::{text_update, FakeBot, TOKEN};

const CHATS: i64 = 1000;
const PER_CHAT: i64 = 3;

async fn run_one(server: Option<&str>) -> anyhow::Result<(Duration, usize)> {
    let bot = FakeBot::start().await;
    let mut last = 0;
    for round in 0..PER_CHAT {
        for chat in 0..CHATS {
            last = bot.push(text_update(
                10_000 + chat,
                round + 1,
                &format!("Pengaduan {chat}: lampu jalan padam di gang {chat}, pesan {round}"),
            ));
        }
    }
    let fresh = aduan::register::testing::FreshDb::create(server, "bench").await?;
    let mut env = std::collections::BTreeMap::new();
    env.insert("ADUAN_DATABASE_URL".to_string(), fresh.url.clone());
    env.insert("ADUAN_CHANNELS__TELEGRAM__TOKEN".into(), TOKEN.into());
    env.insert("ADUAN_CHANNELS__TELEGRAM__API_URL".into(), bot.url.clone());
    let (cfg, _, _) = aduan::config::load(None, &env).into_result()?;
    let core = aduan::state::Core::open(&cfg, None).await?;
    let ch = core
        .channels
        .get(ChannelKind::Telegram)
        .expect("telegram")
        .clone();
    let sink = aduan::intake::sink(&core);
    let ctx = ChannelContext::new(sink.clone(), tokio_util::sync::CancellationToken::new());
    let stop = ctx.shutdown.clone();
    let done = (last + 1).to_string();
    let start = Instant::now();
    let task = tokio::spawn(async move { ch.receive(ctx).await });
    loop {
        let c = sink.load_cursor(ChannelKind::Telegram, "offset").await?;
        if c.as_deref() == Some(done.as_str()) {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(600),
            "stalled at {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dt = start.elapsed();
    stop.cancel();
    let _ = task.await;
    let n = (CHATS * PER_CHAT) as usize;
    core.db.close().await;
    fresh.drop_db().await;
    Ok((dt, n))
}

async fn run() -> anyhow::Result<()> {
    for (name, server) in aduan::register::testing::backends().await {
        for round in 1..=2 {
            let (dt, n) = run_one(server.as_deref()).await?;
            println!(
                "{name} round {round}: {n} updates ({CHATS} complaints + {} follow-ups, receipts queued) in {dt:.2?} = {:.0} updates/s",
                n as i64 - CHATS,
                n as f64 / dt.as_secs_f64()
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

//! Email benchmark (`cargo bench --bench email`): a backlog of 2,000 varied messages in a
//! private Dovecot, drained by the email channel into a fresh register (SQLite, then PostgreSQL
//! when reachable), beside a plain UID FETCH of the same mailbox by the same IMAP client with no
//! processing, in the same run. Needs Dovecot and aiosmtpd (`scripts/ensure-mail-servers`).
//! Figures go to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aduan_channel::{ChannelContext, ChannelKind};
use futures_util::StreamExt;
use sqlx::Row;

#[allow(dead_code)]
#[path = "../tests/it/mailservers.rs"]
mod mailservers;

use mailservers::{varied, Dovecot, SmtpSink, OFFICE, PASSWORD, USER};

const N: usize = 2000;
const BATCH: u32 = 100;

/// What the channel fetches, without registering anything: sizes, then bodies in batches.
async fn plain_fetch(dv: &Dovecot) -> anyhow::Result<(Duration, usize)> {
    let start = Instant::now();
    let mut s = aduan_email::imap::connect(&dv.imap_config("INBOX"), None).await?;
    s.select("INBOX").await?;
    let mut uids = Vec::new();
    {
        let mut st = s.uid_fetch("1:*", "(UID RFC822.SIZE)").await?;
        while let Some(f) = st.next().await {
            uids.extend(f?.uid);
        }
    }
    let mut bytes = 0;
    for chunk in uids.chunks(BATCH as usize) {
        let set = aduan_email::imap::uid_set(chunk);
        let mut st = s.uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])").await?;
        while let Some(f) = st.next().await {
            bytes += f?.body().map_or(0, |b| b.len());
        }
    }
    let dt = start.elapsed();
    s.logout().await.ok();
    anyhow::ensure!(uids.len() == N, "fetched {} of {N}", uids.len());
    Ok((dt, bytes))
}

async fn drain(dv: &Dovecot, smtp: &SmtpSink, db_url: &str) -> anyhow::Result<Duration> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("ADUAN_DATABASE_URL".into(), db_url.into());
    for (k, v) in [
        ("ADDRESS", OFFICE.to_string()),
        ("IMAP__HOST", "127.0.0.1".into()),
        ("IMAP__PORT", dv.port.to_string()),
        ("IMAP__SECURITY", "plain".into()),
        ("IMAP__USERNAME", USER.into()),
        ("IMAP__PASSWORD", PASSWORD.into()),
        ("IMAP__BATCH", BATCH.to_string()),
        ("SMTP__HOST", "127.0.0.1".into()),
        ("SMTP__PORT", smtp.port.to_string()),
        ("SMTP__SECURITY", "plain".into()),
    ] {
        env.insert(format!("ADUAN_CHANNELS__EMAIL__{k}"), v);
    }
    let (cfg, _, _) = aduan::config::load(None, &env).into_result()?;
    let core = aduan::state::Core::open(&cfg, None).await?;
    let ch = core
        .channels
        .get(ChannelKind::Email)
        .expect("email")
        .clone();
    let ctx = ChannelContext::new(
        aduan::intake::sink(&core),
        tokio_util::sync::CancellationToken::new(),
    );
    let stop = ctx.shutdown.clone();
    let start = Instant::now();
    let task = tokio::spawn(async move { ch.receive(ctx).await });
    loop {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM messages WHERE direction = 'in'")
            .fetch_one(&core.db.pool)
            .await?
            .try_get(0)?;
        if n as usize >= N {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(600),
            "drain stalled at {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dt = start.elapsed();
    stop.cancel();
    let _ = task.await;
    let receipts: i64 = sqlx::query("SELECT COUNT(*) FROM outbox")
        .fetch_one(&core.db.pool)
        .await?
        .try_get(0)?;
    anyhow::ensure!(receipts as usize == N, "{receipts} receipts queued");
    core.db.close().await;
    Ok(dt)
}

/// The channel alone: the same sync (sizes, bodies, MIME parsing, loop and bounce checks,
/// `\Seen` flags, cursor) into an in-memory sink instead of the register.
async fn channel_only(dv: &Dovecot, smtp: &SmtpSink) -> anyhow::Result<Duration> {
    let cfg: aduan_email::Config = toml::from_str(&format!(
        "address = \"{OFFICE}\"\n[imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\
         username = \"{USER}\"\npassword = \"{PASSWORD}\"\nbatch = {BATCH}\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n",
        dv.port, smtp.port
    ))?;
    let ch = std::sync::Arc::new(aduan_email::EmailChannel::new(cfg).map_err(anyhow::Error::msg)?);
    let (ctx, sink) = ChannelContext::new_test();
    let stop = ctx.shutdown.clone();
    let start = Instant::now();
    let c2 = ch.clone();
    let task = tokio::spawn(async move { aduan_channel::Channel::receive(&*c2, ctx).await });
    let key = aduan_email::imap::cursor_key(&ch.config().imap);
    let done = format!(":{N}");
    loop {
        let c = aduan_channel::InboundSink::load_cursor(&*sink, ChannelKind::Email, &key).await?;
        if c.is_some_and(|c| c.ends_with(&done)) {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(120),
            "channel-only drain stalled"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let dt = start.elapsed();
    stop.cancel();
    let _ = task.await;
    anyhow::ensure!(
        sink.messages().len() == N,
        "channel-only: not all registered"
    );
    Ok(dt)
}

async fn run() -> anyhow::Result<()> {
    let (Some(dv), Some(smtp)) = (Dovecot::start().await, SmtpSink::start().await) else {
        anyhow::bail!("Dovecot and aiosmtpd are needed: scripts/ensure-mail-servers");
    };
    let raws: Vec<Vec<u8>> = (0..N).map(varied).collect();
    dv.append("INBOX", &raws).await;
    let total: usize = raws.iter().map(|r| r.len()).sum();
    println!(
        "mailbox: {N} messages, {} KiB (plain, HTML-only, QP alternative, ISO-8859-1 base64, PDF attachment)",
        total / 1024
    );
    for round in 1..=2 {
        let (f, _) = plain_fetch(&dv).await?;
        let c = channel_only(&dv, &smtp).await?;
        let fr = N as f64 / f.as_secs_f64();
        let cr = N as f64 / c.as_secs_f64();
        println!(
            "channel only (in-memory sink) round {round}: plain UID FETCH {f:.2?} = {fr:.0} msg/s; \
             channel drain {c:.2?} = {cr:.0} msg/s; ratio {:.2}x",
            cr / fr
        );
    }
    let mut backends = vec![("sqlite", None)];
    if std::env::var("ADUAN_BENCH_POSTGRES").is_ok_and(|v| v != "0") || pg_reachable().await {
        backends.push(("postgres", Some(aduan_pg())));
    }
    for (name, server) in backends {
        for round in 1..=2 {
            let fresh =
                aduan::register::testing::FreshDb::create(server.as_deref(), "bench").await?;
            let (f, bytes) = plain_fetch(&dv).await?;
            let d = drain(&dv, &smtp, &fresh.url).await?;
            let fr = N as f64 / f.as_secs_f64();
            let dr = N as f64 / d.as_secs_f64();
            println!(
                "{name} round {round}: plain UID FETCH {N} msgs ({} KiB) in {f:.2?} = {fr:.0} msg/s; \
                 drain into the register in {d:.2?} = {dr:.0} msg/s; ratio {:.2}x",
                bytes / 1024,
                dr / fr
            );
            fresh.drop_db().await;
        }
    }
    Ok(())
}

fn aduan_pg() -> String {
    std::env::var("ADUAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn pg_reachable() -> bool {
    tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect("127.0.0.1:5432"),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}

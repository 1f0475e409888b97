//! SMS benchmarks (`cargo bench --bench sms`): PDU decode and encode throughput, and draining
//! 200 stored messages (single, multipart, UCS-2) from the pty modem simulator into a fresh
//! SQLite register — wall time and AT commands used. Figures go to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aduan_channel::ChannelContext;
use aduan_sms::pdu::{decode_hex, encode_submit, SubmitOptions};
use aduan_sms::sim::{deliver_pdus, ModemSim};
use sqlx::Row;

fn codec() {
    let texts = [
        "Jalan rusak di RT 03, mohon segera diperbaiki.".to_string(),
        "Izin usaha saya belum terbit sejak tiga minggu. ".repeat(5),
        "Pelayanan ramah 😀 terima kasih".to_string(),
    ];
    let mut pdus = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        pdus.extend(deliver_pdus("+6281234567890", t, i as u8));
    }
    let n = 200_000;
    let start = Instant::now();
    let mut chars = 0usize;
    for i in 0..n {
        if let Ok(aduan_sms::pdu::Pdu::Deliver(d)) = decode_hex(&pdus[i % pdus.len()], true) {
            chars += d.text().len();
        }
    }
    let dt = start.elapsed();
    println!(
        "pdu_decode: {n} PDUs in {dt:?} = {:.0} PDUs/s ({chars} bytes of text)",
        n as f64 / dt.as_secs_f64()
    );
    let start = Instant::now();
    let mut parts = 0usize;
    let m = 100_000;
    for i in 0..m {
        parts += encode_submit(
            "+6281234567890",
            &texts[i % texts.len()],
            &SubmitOptions::default(),
        )
        .unwrap()
        .len();
    }
    let dt = start.elapsed();
    println!(
        "pdu_encode: {m} texts ({parts} PDUs) in {dt:?} = {:.0} texts/s",
        m as f64 / dt.as_secs_f64()
    );
}

async fn drain() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("aduan-bench-sms-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sim = ModemSim::start(&dir, "ttyUSB0")?;
    sim.set_capacity(500); // modem (ME) storage, larger than a SIM's
                           // 200 messages: 120 single GSM, 40 UCS-2, 40 two-part multipart (80 PDUs).
    let mut expected = 0;
    for i in 0..200u32 {
        let from = format!("+62812{:08}", i);
        let text = match i % 5 {
            0..=2 => format!("Aduan nomor {i}: lampu jalan mati di gang {i}."),
            3 => format!("Aduan {i} 😀 pelayanan lambat"),
            _ => {
                format!("Aduan panjang {i}: ").repeat(1)
                    + &"antrian loket sangat panjang dan lambat. ".repeat(5)
            }
        };
        for p in deliver_pdus(&from, &text, (i % 250) as u8) {
            sim.store(&p);
        }
        expected += 1;
    }
    let stored = sim.inbox_len();
    let db_dir = dir.join("db");
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert(
        "ADUAN_DATABASE_URL".into(),
        format!("sqlite://{}/aduan.db", db_dir.display()),
    );
    env.insert("ADUAN_INTAKE__ACK_LIMIT_PER_HOUR".into(), "0".into());
    env.insert("ADUAN_CHANNELS__SMS__POLL_SECS".into(), "3600".into());
    env.insert(
        "ADUAN_CHANNELS__SMS__MODEMS".into(),
        format!("[{{ name = \"m1\", port = \"{}\" }}]", sim.path().display()),
    );
    let (cfg, _, _) = aduan::config::load(None, &env).into_result()?;
    let core = aduan::state::Core::open(&cfg, None).await?;
    let ch = core
        .channels
        .get(aduan_channel::ChannelKind::Sms)
        .expect("sms channel")
        .clone();
    let ctx = ChannelContext::new(
        aduan::intake::sink(&core),
        tokio_util::sync::CancellationToken::new(),
    );
    let stop = ctx.shutdown.clone();
    let before = sim.commands().len();
    let start = Instant::now();
    let task = tokio::spawn(async move { ch.receive(ctx).await });
    loop {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM complaints")
            .fetch_one(&core.db.pool)
            .await?
            .try_get(0)?;
        if n as usize >= expected && sim.inbox_len() == 0 {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(300),
            "drain stalled at {n}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dt = start.elapsed();
    let commands = sim.commands().len() - before;
    stop.cancel();
    let _ = task.await;
    println!(
        "drain: {expected} messages ({stored} stored PDUs) into the register in {dt:?} = {:.0} msg/s, {commands} AT commands (init and health included)",
        expected as f64 / dt.as_secs_f64()
    );
    core.db.close().await;
    drop(sim);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    codec();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(drain())
}

//! Outbox invariants on both databases: retries with backoff, parking as failed, an officer's
//! retry, lease expiry and fencing, and two dispatchers never sending one row twice.

use std::sync::Arc;
use std::time::Duration;

use aduan::db::{now_ms, Backend};
use aduan::outbox::{dispatch_one, Outcome};
use aduan::register::audit::Actor;
use aduan_channel::{Address, ChannelKind, InboundMessage};
use sqlx::Row;

use crate::both;
use crate::helpers::*;
use crate::testchannel::{ScriptedChannel, Step};

fn mail(i: usize) -> InboundMessage {
    let mut m = InboundMessage::new(
        ChannelKind::Email,
        format!("m{i}"),
        Address::Email(format!("warga{i}@example.id")),
        "aduan",
    );
    m.subject = Some("Aduan".into());
    m
}

/// Makes every queued row due now (skipping the backoff wait in tests).
async fn make_due(core: &aduan::state::Core) {
    sqlx::query("UPDATE outbox SET next_attempt_at = 0 WHERE status = 'queued'")
        .execute(&core.db.pool)
        .await
        .unwrap();
}

async fn row(core: &aduan::state::Core, id: i64) -> (String, i64, Option<String>, i64) {
    let r = sqlx::query(
        "SELECT status, attempts, last_error, next_attempt_at FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&core.db.pool)
    .await
    .unwrap();
    (
        r.try_get(0).unwrap(),
        r.try_get(1).unwrap(),
        r.try_get(2).unwrap(),
        r.try_get(3).unwrap(),
    )
}

async fn transient_errors_back_off_then_succeed(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[("ADUAN_OUTBOX__BACKOFF_BASE_MS", "1000")]);
    let ch = ScriptedChannel::new(
        ChannelKind::Email,
        vec![Step::Transient, Step::Transient, Step::Ok],
    );
    let core = open_core_with(&cfg, vec![ch.clone()]).await;
    aduan::intake::submit(&core, mail(1)).await.unwrap();
    let mut delays = Vec::new();
    for _ in 0..2 {
        let before = now_ms();
        match dispatch_one(&core, "a").await.unwrap() {
            Outcome::RetryAt { outbox_id, at } => {
                let (status, _, err, next) = row(&core, outbox_id).await;
                assert_eq!(status, "queued");
                assert_eq!(err.as_deref(), Some("421 try later"));
                assert_eq!(next, at);
                delays.push(at - before);
                // Not due yet: nothing to claim.
                assert_eq!(dispatch_one(&core, "a").await.unwrap(), Outcome::Empty);
                make_due(&core).await;
            }
            other => panic!("expected a retry, got {other:?}"),
        }
    }
    // Attempt 1 waits 0.5-1 s, attempt 2 waits 1-2 s (exponential, with jitter).
    assert!((450..=1100).contains(&delays[0]), "{delays:?}");
    assert!((950..=2100).contains(&delays[1]), "{delays:?}");
    let Outcome::Sent { outbox_id } = dispatch_one(&core, "a").await.unwrap() else {
        panic!("not sent")
    };
    let (status, attempts, err, _) = row(&core, outbox_id).await;
    assert_eq!((status.as_str(), attempts, err), ("sent", 3, None));
    assert_eq!(ch.sent().len(), 1);
    // The Message-ID is the same on every attempt.
    let sent = &ch.sent()[0];
    let id: String = sqlx::query("SELECT provider_msg_id FROM outbox WHERE id = $1")
        .bind(outbox_id)
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(sent.message_id, id);
    assert!(sent.automatic);
    assert_eq!(sent.to, Address::Email("warga1@example.id".into()));
    core.db.close().await;
    db.drop_db().await;
}
both!(transient_errors_back_off_then_succeed);

async fn retry_after_is_honoured(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let ch = ScriptedChannel::new(
        ChannelKind::Email,
        vec![Step::RetryAfter(Duration::from_secs(30))],
    );
    let core = open_core_with(&cfg, vec![ch]).await;
    aduan::intake::submit(&core, mail(1)).await.unwrap();
    let before = now_ms();
    let Outcome::RetryAt { at, .. } = dispatch_one(&core, "a").await.unwrap() else {
        panic!()
    };
    assert!(at - before >= 30_000, "{}", at - before);
    core.db.close().await;
    db.drop_db().await;
}
both!(retry_after_is_honoured);

async fn failures_park_and_officer_retry(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[("ADUAN_OUTBOX__MAX_ATTEMPTS", "3")]);
    let ch = ScriptedChannel::new(
        ChannelKind::Email,
        vec![
            Step::Permanent,
            Step::Transient,
            Step::Transient,
            Step::Transient,
        ],
    );
    let core = open_core_with(&cfg, vec![ch.clone()]).await;
    aduan::intake::submit(&core, mail(1)).await.unwrap();
    aduan::intake::submit(&core, mail(2)).await.unwrap();
    // Row 1: permanent on the first attempt.
    let Outcome::Failed { outbox_id: first } = dispatch_one(&core, "a").await.unwrap() else {
        panic!()
    };
    let (status, attempts, err, _) = row(&core, first).await;
    assert_eq!(
        (status.as_str(), attempts, err.as_deref()),
        ("failed", 1, Some("550 no such user"))
    );
    // Row 2: transient three times = max_attempts, then parked.
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.push(dispatch_one(&core, "a").await.unwrap());
        make_due(&core).await;
    }
    assert!(matches!(outcomes[0], Outcome::RetryAt { .. }));
    assert!(matches!(outcomes[1], Outcome::RetryAt { .. }));
    let Outcome::Failed { outbox_id: second } = outcomes[2] else {
        panic!("{outcomes:?}")
    };
    let (status, attempts, err, _) = row(&core, second).await;
    assert_eq!((status.as_str(), attempts), ("failed", 3));
    assert!(err.unwrap().contains("gave up after 3 attempts"));
    assert_eq!(
        dispatch_one(&core, "a").await.unwrap(),
        Outcome::Empty,
        "failed rows stay parked"
    );
    assert_eq!(
        scalar(
            &core.db,
            "SELECT COUNT(*) FROM audit WHERE action = 'send_failed'"
        )
        .await,
        2
    );
    // An officer retries one: it goes out once.
    assert!(aduan::outbox::retry_failed(&core, second, Actor::Cli)
        .await
        .unwrap());
    assert!(
        !aduan::outbox::retry_failed(&core, second, Actor::Cli)
            .await
            .unwrap(),
        "only failed rows can be retried"
    );
    assert_eq!(
        dispatch_one(&core, "a").await.unwrap(),
        Outcome::Sent { outbox_id: second }
    );
    assert_eq!(ch.sent().len(), 1);
    core.db.close().await;
    db.drop_db().await;
}
both!(failures_park_and_officer_retry);

async fn expired_lease_is_reclaimed_and_fenced(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let gate = Arc::new(tokio::sync::Notify::new());
    let ch = ScriptedChannel::new(ChannelKind::Email, vec![Step::Hold(gate.clone()), Step::Ok]);
    let core = open_core_with(&cfg, vec![ch.clone()]).await;
    // Daemon B: its own process state (and send budget) on the same register.
    let core_b = open_core_with(&cfg, vec![ch.clone()]).await;
    aduan::intake::submit(&core, mail(1)).await.unwrap();
    // Daemon A claims the row and hangs in send.
    let a = {
        let core = core.clone();
        tokio::spawn(async move { dispatch_one(&core, "daemon-a").await.unwrap() })
    };
    assert!(eventually(5, || async { ch.calls.lock().unwrap().len() == 1 }).await);
    assert_eq!(
        dispatch_one(&core_b, "daemon-b").await.unwrap(),
        Outcome::Empty,
        "a leased row is not claimed"
    );
    // A's lease runs out (A is presumed dead): B takes the row over and sends it.
    sqlx::query("UPDATE outbox SET next_attempt_at = 0, lease_until = 0")
        .execute(&core.db.pool)
        .await
        .unwrap();
    let Outcome::Sent { outbox_id } = dispatch_one(&core_b, "daemon-b").await.unwrap() else {
        panic!()
    };
    // A wakes up: its result is not recorded over B's.
    gate.notify_one();
    assert_eq!(a.await.unwrap(), Outcome::LeaseLost { outbox_id });
    let r = sqlx::query("SELECT status, receipt FROM outbox WHERE id = $1")
        .bind(outbox_id)
        .fetch_one(&core.db.pool)
        .await
        .unwrap();
    assert_eq!(r.try_get::<String, _>(0).unwrap(), "sent");
    core_b.db.close().await;
    core.db.close().await;
    db.drop_db().await;
}
both!(expired_lease_is_reclaimed_and_fenced);

/// Two daemons (two pools, two dispatchers with two workers each) drain 2,000 rows from one
/// register: every row sent, none claimed twice.
async fn two_dispatchers_never_send_twice(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let daemon_a = open_core(&cfg).await;
    let daemon_b = open_core(&cfg).await;
    // 2,000 web complaints: 2,000 receipt rows for the web channel.
    let mut set = tokio::task::JoinSet::new();
    for w in 0..4 {
        let core = daemon_a.clone();
        set.spawn(async move {
            for i in (w..2000).step_by(4) {
                let m =
                    InboundMessage::new(ChannelKind::Web, format!("w{i}"), Address::None, "aduan");
                aduan::intake::submit(&core, m).await.unwrap();
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    assert_eq!(
        scalar(
            &daemon_a.db,
            "SELECT COUNT(*) FROM outbox WHERE status = 'queued'"
        )
        .await,
        2000
    );
    let token = tokio_util::sync::CancellationToken::new();
    let mut workers = tokio::task::JoinSet::new();
    for (name, core) in [("a", &daemon_a), ("b", &daemon_b)] {
        for w in 0..2 {
            workers.spawn(aduan::outbox::run(
                core.clone(),
                format!("{name}{w}"),
                token.clone(),
            ));
        }
    }
    let drained = eventually(120, || async {
        scalar(
            &daemon_a.db,
            "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'",
        )
        .await
            == 0
    })
    .await;
    token.cancel();
    while workers.join_next().await.is_some() {}
    assert!(drained, "outbox not drained");
    assert_eq!(
        scalar(
            &daemon_a.db,
            "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 1"
        )
        .await,
        2000
    );
    let (a, b) = (
        daemon_a.metrics.send_attempts(),
        daemon_b.metrics.send_attempts(),
    );
    assert_eq!(a + b, 2000, "send called {a} + {b} times for 2000 rows");
    assert!(a > 0 && b > 0, "both daemons worked: {a} / {b}");
    daemon_a.db.close().await;
    daemon_b.db.close().await;
    db.drop_db().await;
}
both!(two_dispatchers_never_send_twice);

/// Status reports and bounces land on the outbox row they name, never as a new complaint.
async fn delivery_reports_update_the_row(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let ch = ScriptedChannel::new(ChannelKind::Email, vec![]);
    let core = open_core_with(&cfg, vec![ch.clone()]).await;
    let sink = aduan::intake::sink(&core);
    aduan::intake::submit(&core, mail(1)).await.unwrap();
    aduan::intake::submit(&core, mail(2)).await.unwrap();
    let Outcome::Sent { outbox_id: first } = dispatch_one(&core, "a").await.unwrap() else {
        panic!()
    };
    let Outcome::Sent { outbox_id: second } = dispatch_one(&core, "a").await.unwrap() else {
        panic!()
    };
    use aduan_channel::{DeliveryReport, DeliveryState};
    // By the provider's receipt (an SMS message reference, say).
    let ok = sink
        .delivery_report(DeliveryReport::new(
            ChannelKind::Email,
            format!("email:{first}"),
            DeliveryState::Delivered,
            String::new(),
        ))
        .await
        .unwrap();
    assert!(ok);
    // By our own Message-ID (a bounce quoting it).
    let mid = ch
        .sent()
        .iter()
        .find(|m| m.outbox_id == second)
        .unwrap()
        .message_id
        .clone();
    let ok = sink
        .delivery_report(DeliveryReport::new(
            ChannelKind::Email,
            mid,
            DeliveryState::Failed,
            "550 5.1.1 user unknown",
        ))
        .await
        .unwrap();
    assert!(ok);
    let unknown = sink
        .delivery_report(DeliveryReport::new(
            ChannelKind::Email,
            "<nope@x>",
            DeliveryState::Failed,
            String::new(),
        ))
        .await
        .unwrap();
    assert!(!unknown);
    let d = |id: i64| {
        let pool = core.db.pool.clone();
        async move {
            let r = sqlx::query("SELECT o.delivery, c.flagged FROM outbox o JOIN complaints c ON c.id = o.complaint_id WHERE o.id = $1").bind(id).fetch_one(&pool).await.unwrap();
            (
                r.try_get::<Option<String>, _>(0).unwrap(),
                r.try_get::<Option<String>, _>(1).unwrap(),
            )
        }
    };
    assert_eq!(d(first).await, (Some("delivered".into()), None));
    let (state, flag) = d(second).await;
    assert_eq!(state.as_deref(), Some("failed"));
    assert!(flag.unwrap().contains("550 5.1.1"));
    assert_eq!(
        scalar(&core.db, "SELECT COUNT(*) FROM complaints").await,
        2,
        "no complaint opened"
    );
    assert_eq!(
        scalar(
            &core.db,
            "SELECT COUNT(*) FROM audit WHERE action = 'delivery_report'"
        )
        .await,
        2
    );
    core.db.close().await;
    db.drop_db().await;
}
both!(delivery_reports_update_the_row);

/// A daemon claims only rows of channels it runs: another daemon's modem or mailbox rows wait
/// for that daemon instead of failing here.
async fn rows_of_channels_not_run_here_are_left_alone(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let with_email =
        open_core_with(&cfg, vec![ScriptedChannel::new(ChannelKind::Email, vec![])]).await;
    let web_only = open_core(&cfg).await;
    aduan::intake::submit(&with_email, mail(1)).await.unwrap();
    assert_eq!(
        dispatch_one(&web_only, "web-only").await.unwrap(),
        Outcome::Empty
    );
    let (status, attempts, _, _) = row(&with_email, 1).await;
    assert_eq!((status.as_str(), attempts), ("queued", 0));
    assert!(matches!(
        dispatch_one(&with_email, "mail").await.unwrap(),
        Outcome::Sent { .. }
    ));
    with_email.db.close().await;
    web_only.db.close().await;
    db.drop_db().await;
}
both!(rows_of_channels_not_run_here_are_left_alone);

/// Issue 22, item 9: one channel whose sends hang holds at most its budget of workers (two
/// workers: one), so the other channels' replies keep flowing meanwhile.
async fn a_hanging_channel_does_not_hold_every_worker(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[("ADUAN_OUTBOX__WORKERS", "2")]);
    let gate = Arc::new(tokio::sync::Notify::new());
    let hanging = ScriptedChannel::new(
        ChannelKind::Telegram,
        vec![Step::Hold(gate.clone()), Step::Hold(gate.clone())],
    );
    let flowing = ScriptedChannel::new(ChannelKind::Email, vec![]);
    let core = open_core_with(&cfg, vec![hanging.clone(), flowing.clone()]).await;
    // Two Telegram complaints first (their receipts hang), then three by email.
    for i in 0..2 {
        let mut m = InboundMessage::new(
            ChannelKind::Telegram,
            format!("tg{i}"),
            Address::TelegramChat(5000 + i),
            "aduan lewat Telegram",
        );
        m.hints.conversation = Some((5000 + i).to_string());
        aduan::intake::submit(&core, m).await.unwrap();
    }
    for i in 0..3 {
        aduan::intake::submit(&core, mail(i)).await.unwrap();
    }
    let app = start(core, &cfg, Some(db)).await;
    // While both Telegram receipts would hang, the email ones are sent.
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND status = 'sent'",
        3,
        15,
    )
    .await;
    assert_eq!(hanging.sent().len(), 0);
    assert_eq!(
        hanging.calls.lock().unwrap().len(),
        1,
        "one worker waits on the hanging channel, not both"
    );
    gate.notify_waiters();
    gate.notify_waiters();
    app.stop().await;
}
both!(a_hanging_channel_does_not_hold_every_worker);

/// Issue 22, item 8: a reply waiting for a channel no daemon runs (an SMS complaint's receipt,
/// the modem gone) is the officer's to settle, in words: shown on the tracking page instead
/// (after a confirmation), or withdrawn (audited); and a channel no daemon has run for a week
/// is forgotten.
async fn unserved_replies_are_rerouted_or_withdrawn(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    // A daemon ran the modem an hour ago and is gone.
    sqlx::query(
        "INSERT INTO channel_presence (channel, daemon, seen_at) VALUES ('sms', 'gone', $1)",
    )
    .bind(now_ms() - 3_600_000)
    .execute(&app.core.db.pool)
    .await
    .unwrap();
    let c = aduan::intake::submit(
        &app.core,
        InboundMessage::new(
            ChannelKind::Sms,
            "s1",
            Address::Phone("+6281211112222".into()),
            "Jalan rusak",
        ),
    )
    .await
    .unwrap();
    let no = c.register_no.clone();
    let token = app
        .officer("kasi", aduan::workflow::Role::SectionHead)
        .await;
    app.reply(&token, &no, "Petugas sudah kami tugaskan.").await;
    let receipt: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE channel = 'sms'")
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap();
    app.web_officer("siti", aduan::workflow::Role::FrontOffice)
        .await;
    let mut fo = crate::ui::Browser::new(&app);
    fo.login("siti", PASSWORD).await;
    let p = fo.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(p.body.contains("menunggu kanal") && p.body.contains("Tampilkan di halaman lacak"));
    let csrf = crate::ui::Browser::csrf(&p);
    let path = format!("/kotak/keluar/{receipt}/alihkan");
    let ask = fo
        .go("POST", &path, &[("csrf", &csrf), ("register_no", &no)])
        .await;
    assert_eq!(ask.status, reqwest::StatusCode::OK);
    assert!(
        ask.body.contains("Ya, tampilkan di halaman lacak"),
        "a confirmation first"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE channel = 'sms'").await,
        1
    );
    let done = fo
        .go(
            "POST",
            &path,
            &[("csrf", &csrf), ("register_no", &no), ("confirm", "1")],
        )
        .await;
    assert_eq!(done.status, reqwest::StatusCode::SEE_OTHER);
    wait_count(
        &app,
        &format!("SELECT COUNT(*) FROM outbox WHERE id = {receipt} AND channel = 'web' AND status = 'sent'"),
        1,
        10,
    )
    .await;
    let track = app
        .http
        .get(app.url(&format!("/lacak/{no}?code={}", c.tracking_code)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        track.contains("Petugas sudah kami tugaskan."),
        "published: {track}"
    );
    // Another waiting reply, withdrawn.
    app.reply(&token, &no, "Sedang kami periksa.").await;
    let reply: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE channel = 'sms'")
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap();
    let r = fo
        .go(
            "POST",
            &format!("/kotak/keluar/{reply}/batal"),
            &[("csrf", &csrf), ("register_no", &no), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM outbox WHERE id = {reply} AND status = 'failed'")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit WHERE action IN ('reroute_send', 'cancel_send')"
        )
        .await,
        2
    );
    let p = fo.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(
        p.body.contains("Dialihkan ke halaman lacak") && p.body.contains("Pengiriman dibatalkan")
    );
    // Presence: a channel no daemon ran for a week is forgotten, a recent one kept.
    let now = now_ms();
    sqlx::query("DELETE FROM channel_presence")
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    for (ch, at) in [("sms", now - 8 * 86_400_000), ("email", now - 60_000)] {
        sqlx::query(
            "INSERT INTO channel_presence (channel, daemon, seen_at) VALUES ($1, 'old', $2)",
        )
        .bind(ch)
        .bind(at)
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    }
    let gone = aduan::register::presence::forget_stale(&app.core.db, now)
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM channel_presence WHERE channel = 'email'"
        )
        .await,
        1
    );
    app.stop().await;
}
both!(unserved_replies_are_rerouted_or_withdrawn);

/// Issue 22, item 9: a reply is retried through transient failures for a time
/// (`give_up_after_secs`), not a count of attempts, then parked; when its channel comes back
/// (down, then ready) the parked reply goes out by itself.
async fn parked_replies_go_when_the_channel_is_back(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(
        &db.url,
        &[
            ("ADUAN_OUTBOX__GIVE_UP_AFTER_SECS", "1"),
            ("ADUAN_OUTBOX__BACKOFF_BASE_MS", "300"),
            ("ADUAN_OUTBOX__HEARTBEAT_SECS", "1"),
        ],
    );
    let ch = ScriptedChannel::new(ChannelKind::Email, vec![Step::Transient; 4]);
    ch.healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    let core = open_core_with(&cfg, vec![ch.clone()]).await;
    aduan::intake::submit(&core, mail(7)).await.unwrap();
    let app = start(core, &cfg, Some(db)).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND parked = 1",
        1,
        15,
    )
    .await;
    assert!(ch.sent().is_empty());
    // The channel is back: the parked reply goes by itself.
    ch.healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        1,
        20,
    )
    .await;
    assert_eq!(ch.sent().len(), 1);
    app.stop().await;
}
both!(parked_replies_go_when_the_channel_is_back);

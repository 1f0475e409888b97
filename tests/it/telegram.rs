//! The Telegram channel in the daemon against a local fake Bot API server: messages of every
//! kind → one complaint per chat, receipts and replies to the chat, `/status`, `/start`, a
//! restart without reprocessing, flood control and a blocked bot.

use std::time::Duration;

use aduan::db::Backend;
use aduan::workflow::Role;
use serde_json::json;

use crate::both;
use crate::fakebot::{message, text_update, FakeBot, TOKEN};
use crate::helpers::*;

fn tg_env(bot: &FakeBot) -> Vec<(String, String)> {
    vec![
        ("ADUAN_CHANNELS__TELEGRAM__TOKEN".into(), TOKEN.into()),
        ("ADUAN_CHANNELS__TELEGRAM__API_URL".into(), bot.url.clone()),
        (
            "ADUAN_CHANNELS__TELEGRAM__POLL_TIMEOUT_SECS".into(),
            "2".into(),
        ),
    ]
}

async fn start_tg(db_url: &str, bot: &FakeBot, extra: &[(&str, &str)]) -> App {
    let mut env = tg_env(bot);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    start_with_env(db_url, &env).await
}

async fn wait_sent(
    bot: &FakeBot,
    want: usize,
    secs: u64,
) -> Vec<(String, i64, String, Option<i64>)> {
    let ok = eventually(secs, || async { bot.sent().len() >= want }).await;
    let s = bot.sent();
    assert!(ok, "{} sent after {secs}s, want {want}: {s:?}", s.len());
    s
}

/// Text, a follow-up, a photo with caption, a document, the sender's own contact, an edit,
/// `/status`, `/start` and an officer's long reply.
async fn telegram_end_to_end(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let bot = FakeBot::start().await;
    bot.add_file(
        "photo-big",
        "photos/file_1.jpg",
        b"\xff\xd8\xff\xe0 JPEG foto",
    );
    bot.add_file("doc-1", "documents/file_2.pdf", b"%PDF-1.4 surat");
    let app = start_tg(&db.url, &bot, &[]).await;
    let chat = 7001;
    bot.push(text_update(
        chat,
        5,
        "Jalan di depan rumah saya berlubang besar.",
    ));
    wait_count(
        &app,
        "SELECT COUNT(*) FROM complaints WHERE channel = 'telegram'",
        1,
        20,
    )
    .await;
    let no = first_register_no(&app).await;
    let sent = wait_sent(&bot, 1, 20).await;
    assert_eq!(sent[0].0, "sendmessage");
    assert_eq!(sent[0].1, chat);
    assert!(
        sent[0].2.contains(&no),
        "receipt names the register number: {}",
        sent[0].2
    );
    assert_eq!(
        sent[0].3,
        Some(5),
        "the receipt answers the complainant's message"
    );

    // Follow-ups in the same chat join the open complaint: caption + photo, document, own
    // contact, an edit of the first message.
    bot.push(json!({"message": message(chat, 6, json!({"caption": "Ini fotonya", "photo": [
        {"file_id": "photo-small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 10},
        {"file_id": "photo-big", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 18}]}))}));
    bot.push(json!({"message": message(chat, 7, json!({"document": {"file_id": "doc-1", "file_unique_id": "d", "file_name": "surat.pdf", "mime_type": "application/pdf", "file_size": 14}}))}));
    bot.push(json!({"message": message(chat, 8, json!({"contact": {"phone_number": "6281234567890", "first_name": "Warga", "user_id": chat}}))}));
    let mut edited = message(
        chat,
        5,
        json!({"text": "Jalan di depan rumah saya berlubang besar dan dalam.", "edit_date": 1_795_000_100}),
    );
    edited["date"] = json!(1_795_000_005);
    bot.push(json!({"edited_message": edited}));
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE direction = 'in'",
        5,
        20,
    )
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 WHERE a.filename = 'foto-6.jpg' AND a.size = 14").await,
        1,
        "the largest photo size was downloaded"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments WHERE filename = 'surat.pdf' AND content_type = 'application/pdf'").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaint_contacts WHERE address = 'phone:+6281234567890'"
        )
        .await,
        1,
        "the shared own number is a contact of the chat's complaint"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complainant_addresses WHERE address = 'phone:+6281234567890'"
        )
        .await,
        0,
        "and never an identity"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE '[pesan diubah]%dalam.'"
        )
        .await,
        1
    );

    // /status from the complainant: answered with the status; /start: greeting, no complaint.
    bot.push(text_update(
        chat,
        9,
        &format!("/status {}", no.to_lowercase()),
    ));
    bot.push(text_update(8002, 1, "/start"));
    let sent = wait_sent(&bot, 3, 20).await;
    assert!(
        sent.iter()
            .any(|s| s.1 == chat && s.2.contains(&no) && s.3 == Some(9)),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|s| s.1 == 8002 && s.2.contains("Selamat datang")),
        "{sent:?}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);

    // An officer's reply longer than 4,096 characters: two messages, both to the chat.
    let fo = app.officer("fo", Role::FrontOffice).await;
    let long = "Petugas kami sudah meninjau lokasi dan menjadwalkan perbaikan. ".repeat(80);
    app.reply(&fo, &no, &long).await;
    let sent = wait_sent(&bot, 5, 20).await;
    let parts: Vec<_> = sent[3..].iter().filter(|s| s.1 == chat).collect();
    assert_eq!(parts.len(), 2, "{sent:?}");
    assert!(parts.iter().all(|p| p.2.encode_utf16().count() <= 4096));
    assert!(parts[0].2.contains("Petugas kami") && parts[1].2.contains("Petugas kami"));
    app.stop().await;
    db.drop_db().await;
}
both!(telegram_end_to_end);

/// Stopped and started again: the next poll continues after the last committed update; nothing
/// is registered twice and nothing is left unconfirmed.
async fn telegram_restart_without_reprocessing(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let bot = FakeBot::start().await;
    let app = start_tg(&db.url, &bot, &[]).await;
    let mut last = 0;
    for i in 0..5 {
        last = bot.push(text_update(9000 + i, 1, &format!("Pengaduan nomor {i}")));
    }
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 5, 20).await;
    app.stop().await;
    let first_last = last;
    let polls_before = bot.state.lock().unwrap().offsets.len();
    for i in 5..8 {
        last = bot.push(text_update(9000 + i, 1, &format!("Pengaduan nomor {i}")));
    }
    let app = start_tg(&db.url, &bot, &[]).await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 8, 20).await;
    assert!(eventually(10, || async { bot.unconfirmed() == 0 }).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        8
    );
    let offsets = bot.state.lock().unwrap().offsets.clone();
    assert_eq!(
        offsets[polls_before],
        first_last + 1,
        "the first poll after the restart starts after the last committed update"
    );
    assert_eq!(*offsets.last().unwrap(), last + 1);
    let cursor: String = {
        use sqlx::Row;
        sqlx::query("SELECT value FROM channel_cursors WHERE channel = 'telegram'")
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    assert_eq!(cursor, (last + 1).to_string());
    app.stop().await;
    db.drop_db().await;
}
both!(telegram_restart_without_reprocessing);

/// `429` with `parameters.retry_after`: the outbox waits that long, then sends once. A user who
/// blocked the bot: the reply fails permanently after one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_flood_control_and_blocked_user() {
    let db = fresh(Backend::Sqlite).await.unwrap();
    let bot = FakeBot::start().await;
    bot.state.lock().unwrap().send_errors.push_back((
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 2", "parameters": {"retry_after": 2}}),
    ));
    let app = start_tg(&db.url, &bot, &[]).await;
    let t0 = std::time::Instant::now();
    bot.push(text_update(7100, 1, "Antrian panjang"));
    let sent = wait_sent(&bot, 1, 20).await;
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "retry_after honoured"
    );
    assert_eq!(sent.len(), 1);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 2",
        1,
        10,
    )
    .await;

    bot.state.lock().unwrap().blocked.push(7200);
    bot.push(text_update(7200, 1, "Pelayanan lambat"));
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = 1 AND last_error LIKE '%blocked%'",
        1,
        20,
    )
    .await;
    app.stop().await;
    db.drop_db().await;
}

/// Webhook mode: the channel registers the webhook with its secret; `POST /hooks/telegram`
/// registers an update (once, however often Telegram delivers it) and refuses a wrong secret.
async fn telegram_webhook(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let bot = FakeBot::start().await;
    let secret = "rahasia_webhook-1";
    let app = start_tg(
        &db.url,
        &bot,
        &[
            (
                "ADUAN_CHANNELS__TELEGRAM__WEBHOOK_URL",
                "https://aduan.example.go.id/hooks/telegram",
            ),
            ("ADUAN_CHANNELS__TELEGRAM__WEBHOOK_SECRET", secret),
        ],
    )
    .await;
    let set = eventually(10, || async { bot.state.lock().unwrap().webhook.is_some() }).await;
    assert!(set, "setWebhook called");
    assert_eq!(
        bot.state.lock().unwrap().webhook.clone().unwrap(),
        (
            "https://aduan.example.go.id/hooks/telegram".to_string(),
            secret.to_string()
        )
    );
    let mut update = text_update(7300, 1, "Sampah menumpuk di pasar.");
    update["update_id"] = json!(555);
    let post = |secret: &'static str| {
        let app = &app;
        let update = update.clone();
        async move {
            app.http
                .post(app.url("/hooks/telegram"))
                .header("X-Telegram-Bot-Api-Secret-Token", secret)
                .json(&update)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post("salah").await, 403);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 0);
    assert_eq!(post("rahasia_webhook-1").await, 200);
    assert_eq!(
        post("rahasia_webhook-1").await,
        200,
        "a redelivery is answered 200 too"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        1
    );
    wait_sent(&bot, 1, 20).await;
    assert!(
        bot.state.lock().unwrap().offsets.is_empty(),
        "no getUpdates in webhook mode"
    );
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("webhook"));
    app.stop().await;
    db.drop_db().await;
}
both!(telegram_webhook);

/// Trust finding 13: a photo Telegram will not give (`400 invalid file_id`) does not block the
/// updates behind it: its message is registered with a note, and the next update follows.
async fn telegram_bad_file_does_not_block(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let bot = FakeBot::start().await;
    let chat = 7001;
    bot.push(
        json!({"message": message(chat, 1, json!({"caption": "foto hilang", "photo": [
            {"file_id": "gone", "file_unique_id": "ug", "width": 90, "height": 90, "file_size": 10}
        ]}))}),
    );
    bot.push(text_update(7002, 2, "pesan sesudahnya"));
    let app = start_tg(&db.url, &bot, &[]).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE direction = 'in'",
        2,
        20,
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE 'foto hilang%' AND parse_error LIKE '%invalid file_id%'"
        )
        .await,
        1
    );
    assert!(eventually(10, || async { bot.unconfirmed() == 0 }).await);
    app.stop().await;
    db.drop_db().await;
}
both!(telegram_bad_file_does_not_block);

/// The Telegram channel on its own (long polling `bot` with a 1 s timeout) into `ctx`'s sink.
fn receive_alone(
    bot: &FakeBot,
    ctx: &aduan_channel::ChannelContext,
) -> tokio::task::JoinHandle<Result<(), aduan_channel::ReceiveError>> {
    use aduan_channel::Channel;
    let cfg: aduan_telegram::Config = toml::from_str(&format!(
        "token = \"{TOKEN}\"\napi_url = \"{}\"\npoll_timeout_secs = 1",
        bot.url
    ))
    .unwrap();
    let ch = aduan_telegram::TelegramChannel::new(cfg).unwrap();
    let ctx = ctx.clone();
    tokio::spawn(async move { ch.receive(ctx).await })
}

/// Trust finding 13: an update the register refuses — as it is, without files and even raw —
/// is not skipped: the offset stays before it until a copy is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_refused_update_keeps_the_offset() {
    use aduan_channel::ChannelContext;
    let bot = FakeBot::start().await;
    let id = bot.push(text_update(7100, 1, "ditolak dulu"));
    let (ctx, sink) = ChannelContext::new_test();
    sink.reject_next(3);
    let run = receive_alone(&bot, &ctx);
    // First round: all three copies refused — nothing registered, so the next getUpdates asks
    // for that update again.
    assert!(
        eventually(10, || async {
            bot.state.lock().unwrap().offsets.len() >= 2
        })
        .await
    );
    let offsets = bot.state.lock().unwrap().offsets.clone();
    assert!(
        offsets[1] <= id,
        "the offset moved past a refused update: {offsets:?}"
    );
    // Then the register takes it.
    assert!(
        eventually(10, || async {
            sink.messages().iter().any(|m| m.text == "ditolak dulu")
        })
        .await
    );
    assert!(eventually(10, || async { bot.unconfirmed() == 0 }).await);
    ctx.shutdown.cancel();
    let _ = run.await;
}

/// Trust finding 13: an update that stores its offset on its own (a sticker, ignored) moves the
/// offset only once that is stored — a failed write means the update is asked for again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_offset_moves_only_once_stored() {
    use aduan_channel::{ChannelContext, InboundSink};
    let bot = FakeBot::start().await;
    let id = bot.push(json!({"message": message(7200, 1, json!({"sticker": {
        "file_id": "st", "file_unique_id": "u", "width": 512, "height": 512,
        "is_animated": false, "is_video": false, "type": "regular"}}))}));
    let (ctx, sink) = ChannelContext::new_test();
    sink.fail_cursors(1);
    let run = receive_alone(&bot, &ctx);
    assert!(
        eventually(15, || async {
            bot.state.lock().unwrap().offsets.len() >= 3
        })
        .await
    );
    let offsets = bot.state.lock().unwrap().offsets.clone();
    assert!(
        offsets[1] <= id,
        "the offset moved past an update whose cursor was not stored: {offsets:?}"
    );
    assert_eq!(
        sink.load_cursor(aduan_channel::ChannelKind::Telegram, "offset")
            .await
            .unwrap(),
        Some((id + 1).to_string())
    );
    ctx.shutdown.cancel();
    let _ = run.await;
}

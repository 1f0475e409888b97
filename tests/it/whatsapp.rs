//! The WhatsApp channel in the daemon against a local fake Graph API: Meta's verification
//! handshake, signed webhook calls of every message kind into one complaint, redeliveries
//! registered once (also across a restart), statuses as delivery reports, `STATUS` only to the
//! complainant's own number, the 24-hour window and its template, rate limits, permanent
//! errors, and the media cap and host rule.

use aduan::db::Backend;
use aduan::workflow::Role;
use serde_json::{json, Value};

use crate::both;
use crate::fakegraph::*;
use crate::helpers::*;

const CITIZEN: &str = "6281234567890";

async fn start_wa(db_url: &str, g: &FakeGraph, extra: &[(&str, &str)]) -> App {
    let mut env = g.env();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    start_with_env(db_url, &env).await
}

/// POSTs a notification to `/hooks/whatsapp`, signed like Meta unless `sig` says otherwise.
async fn deliver(app: &App, payload: &Value, sig: Option<&str>) -> u16 {
    let body = serde_json::to_vec(payload).unwrap();
    let mut r = app
        .http
        .post(app.url("/hooks/whatsapp"))
        .header("content-type", "application/json");
    match sig {
        None => r = r.header("x-hub-signature-256", sign(&body)),
        Some("") => {}
        Some(s) => r = r.header("x-hub-signature-256", s),
    }
    r.body(body).send().await.unwrap().status().as_u16()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn wait_sent(g: &FakeGraph, want: usize) -> Vec<Value> {
    let ok = eventually(20, || async { g.sent().len() >= want }).await;
    let s = g.sent();
    assert!(ok, "{} sent, want {want}: {s:#?}", s.len());
    s
}

/// The handshake, signatures, every message kind, a redelivery, statuses, `STATUS`, and an
/// officer's reply inside the window.
async fn whatsapp_end_to_end(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let g = FakeGraph::start().await;
    g.add_media("m-img", "image/jpeg", b"\xff\xd8\xff\xe0 JPEG foto jalan");
    g.add_media("m-doc", "application/pdf", b"%PDF-1.4 surat kuasa");
    g.add_media("m-aud", "audio/ogg; codecs=opus", b"OggS suara warga");
    let app = start_wa(&db.url, &g, &[]).await;

    // Meta's verification handshake: the challenge back for the right token only.
    let hs = |token: &str| {
        app.http.get(app.url(&format!(
            "/hooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        )))
    };
    let r = hs(VERIFY_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    assert_eq!(hs("salah").send().await.unwrap().status(), 403);

    // Unsigned or wrongly signed: 401, nothing registered.
    let first = notification(
        CITIZEN,
        "Siti Aminah",
        vec![text(
            CITIZEN,
            "wamid.IN1",
            now(),
            "Lampu jalan di Jl. Merdeka padam sejak seminggu.",
        )],
        vec![],
    );
    assert_eq!(deliver(&app, &first, Some("")).await, 401);
    assert_eq!(deliver(&app, &first, Some("sha256=00ff")).await, 401);
    let mut tampered = first.clone();
    tampered["entry"][0]["id"] = json!("other");
    let body = serde_json::to_vec(&first).unwrap();
    let r = app
        .http
        .post(app.url("/hooks/whatsapp"))
        .header("x-hub-signature-256", sign(&body))
        .json(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a signature of another body");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 0);

    // Signed: registered, answered 200; a redelivery is 200 and registered once.
    assert_eq!(deliver(&app, &first, None).await, 200);
    assert_eq!(deliver(&app, &first, None).await, 200);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE channel = 'whatsapp'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complainant_addresses WHERE address = 'phone:+6281234567890'"
        )
        .await,
        1,
        "the number is the complainant's identity, in the same form as SMS"
    );
    let no = first_register_no(&app).await;
    let sent = wait_sent(&g, 1).await;
    assert_eq!(sent[0]["to"], CITIZEN);
    assert_eq!(sent[0]["type"], "text", "inside the window: free text");
    assert_eq!(sent[0]["context"]["message_id"], "wamid.IN1");
    assert!(
        sent[0]["text"]["body"].as_str().unwrap().contains(&no),
        "{}",
        sent[0]
    );

    // Every other kind joins the same complaint.
    let t = now();
    let kinds = notification(
        CITIZEN,
        "Siti Aminah",
        vec![
            message(
                CITIZEN,
                "wamid.IN2",
                t,
                "image",
                json!({"caption": "Ini fotonya", "mime_type": "image/jpeg", "sha256": "x", "id": "m-img"}),
            ),
            message(
                CITIZEN,
                "wamid.IN3",
                t,
                "document",
                json!({"filename": "surat.pdf", "mime_type": "application/pdf", "sha256": "x", "id": "m-doc"}),
            ),
            message(
                CITIZEN,
                "wamid.IN4",
                t,
                "audio",
                json!({"mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": "m-aud", "voice": true}),
            ),
            message(
                CITIZEN,
                "wamid.IN5",
                t,
                "location",
                json!({"latitude": -7.6298, "longitude": 111.5239, "name": "Pasar Besar", "address": "Jl. Merdeka"}),
            ),
            message(
                CITIZEN,
                "wamid.IN6",
                t,
                "contacts",
                json!([{"name": {"formatted_name": "Pak RT Budi"}, "phones": [{"phone": "+62 812-1111-2222", "type": "CELL"}]}]),
            ),
        ],
        vec![],
    );
    assert_eq!(deliver(&app, &kinds, None).await, 200);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        6
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 3);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM attachments WHERE filename = 'surat.pdf' AND content_type = 'application/pdf' AND size = 20").await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM messages WHERE body LIKE '%-7.6298, 111.5239%' AND body LIKE '%Pasar Besar%'").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE '%Pak RT Budi%'"
        )
        .await,
        1
    );
    // A redelivery of a media message downloads nothing again.
    let downloads = g.state.lock().unwrap().downloads;
    assert_eq!(downloads, 3);
    assert_eq!(deliver(&app, &kinds, None).await, 200);
    assert_eq!(g.state.lock().unwrap().downloads, 3);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        6
    );

    // Statuses of the receipt: delivered, then read; a failure of an unknown message is
    // harmless.
    let receipt_id = "wamid.OUT0001";
    let st = notification(
        CITIZEN,
        "",
        vec![],
        vec![status(receipt_id, "delivered", CITIZEN, None)],
    );
    assert_eq!(deliver(&app, &st, None).await, 200);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE receipt = 'wamid.OUT0001' AND delivery = 'delivered'").await, 1);
    let st = notification(
        CITIZEN,
        "",
        vec![],
        vec![status("wamid.NOPE", "failed", CITIZEN, Some(131026))],
    );
    assert_eq!(deliver(&app, &st, None).await, 200);

    // STATUS from the complainant's number: answered there; from a stranger: not.
    let q = notification(
        CITIZEN,
        "Siti",
        vec![text(CITIZEN, "wamid.IN7", now(), &format!("status {no}"))],
        vec![],
    );
    assert_eq!(deliver(&app, &q, None).await, 200);
    let stranger = "6289876543210";
    let q2 = notification(
        stranger,
        "X",
        vec![text(stranger, "wamid.X1", now(), &format!("STATUS {no}"))],
        vec![],
    );
    assert_eq!(deliver(&app, &q2, None).await, 200);
    let sent = wait_sent(&g, 2).await;
    assert!(
        sent.iter().any(|s| s["to"] == CITIZEN
            && s["context"]["message_id"] == "wamid.IN7"
            && s["text"]["body"].as_str().unwrap().contains(&no)),
        "{sent:#?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        g.sent().iter().all(|s| s["to"] != stranger),
        "{:#?}",
        g.sent()
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM complaints").await,
        1,
        "STATUS opens nothing"
    );

    // An officer's reply: text to the number, answering the citizen's last message.
    let fo = app.officer("fo", Role::FrontOffice).await;
    app.reply(
        &fo,
        &no,
        "Petugas kami akan memperbaiki lampu jalan besok pagi.",
    )
    .await;
    let ok = eventually(20, || async {
        g.sent().iter().any(|s| {
            s["text"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("besok pagi"))
        })
    })
    .await;
    assert!(ok, "{:#?}", g.sent());
    let reply = g
        .sent()
        .into_iter()
        .find(|s| {
            s["text"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("besok pagi"))
        })
        .unwrap();
    assert_eq!(reply["to"], CITIZEN);
    assert_eq!(reply["type"], "text");
    assert_eq!(g.state.lock().unwrap().unauthorized, 0);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("whatsapp"));
    app.stop().await;
    db.drop_db().await;
}
both!(whatsapp_end_to_end);

/// The 24-hour rule: a citizen who wrote 30 hours ago gets the template (register number and
/// the text as parameters); WhatsApp's 131047 switches a reply to the template; a rate limit
/// is retried; 131026 fails the reply with WhatsApp's words.
async fn whatsapp_window_and_errors(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let g = FakeGraph::start().await;
    let app = start_wa(&db.url, &g, &[]).await;
    let old = now() - 30 * 3600;
    let m = notification(
        CITIZEN,
        "Budi",
        vec![text(
            CITIZEN,
            "wamid.OLD",
            old,
            "Sampah tidak diangkut di RT 03.\nSudah dua minggu.",
        )],
        vec![],
    );
    assert_eq!(deliver(&app, &m, None).await, 200);
    let no = first_register_no(&app).await;
    let sent = wait_sent(&g, 1).await;
    assert_eq!(
        sent[0]["type"], "template",
        "outside the window: {:#}",
        sent[0]
    );
    assert_eq!(sent[0]["template"]["name"], "aduan_balasan");
    assert_eq!(sent[0]["template"]["language"]["code"], "id");
    let params = &sent[0]["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], no.as_str());
    let p1 = params[1]["text"].as_str().unwrap();
    assert!(
        !p1.contains('\n') && p1.contains(&no),
        "one line, the receipt's text: {p1}"
    );

    // The citizen writes now: the window is open, but WhatsApp says 131047 → the template.
    let m = notification(
        CITIZEN,
        "Budi",
        vec![text(CITIZEN, "wamid.NEW", now(), "Mohon ditindaklanjuti.")],
        vec![],
    );
    assert_eq!(deliver(&app, &m, None).await, 200);
    let fo = app.officer("fo", Role::FrontOffice).await;
    g.state.lock().unwrap().send_errors.push_back((400, 131047));
    app.reply(&fo, &no, "Truk sampah dijadwalkan hari Kamis.")
        .await;
    let ok = eventually(20, || async {
        g.sent()
            .iter()
            .any(|s| s["type"] == "template" && s.to_string().contains("Kamis"))
    })
    .await;
    assert!(ok, "{:#?}", g.sent());
    assert_eq!(g.state.lock().unwrap().refused[0].0, 131047);
    assert_eq!(g.state.lock().unwrap().refused[0].1["type"], "text");

    // A fresh message reopens the window; a rate limit is retried, then sent as text.
    let m = notification(
        CITIZEN,
        "Budi",
        vec![text(CITIZEN, "wamid.NEW2", now(), "Terima kasih.")],
        vec![],
    );
    assert_eq!(deliver(&app, &m, None).await, 200);
    g.state.lock().unwrap().send_errors.push_back((400, 130429));
    app.reply(&fo, &no, "Balasan setelah batas laju.").await;
    wait_count(&app, "SELECT COUNT(*) FROM outbox WHERE body LIKE '%batas laju%' AND status = 'sent' AND attempts = 2", 1, 20).await;
    assert!(g
        .sent()
        .iter()
        .any(|s| s["type"] == "text" && s.to_string().contains("batas laju")));

    // Undeliverable: failed after one attempt, with WhatsApp's words.
    g.state.lock().unwrap().send_errors.push_back((400, 131026));
    app.reply(&fo, &no, "Balasan yang tak terkirim.").await;
    wait_count(&app, "SELECT COUNT(*) FROM outbox WHERE body LIKE '%tak terkirim%' AND status = 'failed' AND attempts = 1 AND last_error LIKE '%131026%undeliverable%'", 1, 20).await;

    // A failed status naming 131047 closes the window for that number: the next reply goes as
    // the template without trying text first.
    let st = notification(
        CITIZEN,
        "",
        vec![],
        vec![status("wamid.OUT0002", "failed", CITIZEN, Some(131047))],
    );
    assert_eq!(deliver(&app, &st, None).await, 200);
    let refused_before = g.state.lock().unwrap().refused.len();
    app.reply(&fo, &no, "Balasan sesudah jendela tertutup.")
        .await;
    let ok = eventually(20, || async {
        g.sent()
            .iter()
            .any(|s| s["type"] == "template" && s.to_string().contains("jendela tertutup"))
    })
    .await;
    assert!(ok, "{:#?}", g.sent());
    assert_eq!(g.state.lock().unwrap().refused.len(), refused_before);
    app.stop().await;
    db.drop_db().await;
}
both!(whatsapp_window_and_errors);

/// Media over the cap is not downloaded, media on a host the token may not go to is not
/// fetched; both messages are registered and flagged. A redelivery after a restart (the
/// daemon gone between commit and answer) is registered once and acknowledged once.
async fn whatsapp_media_and_restart(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let g = FakeGraph::start().await;
    g.add_media("m-big", "video/mp4", b"small body, big declared size");
    g.state
        .lock()
        .unwrap()
        .media
        .get_mut("m-big")
        .unwrap()
        .declared_size = Some(50 * 1024 * 1024);
    g.add_media("m-far", "image/jpeg", b"\xff\xd8 elsewhere");
    g.state.lock().unwrap().media.get_mut("m-far").unwrap().url =
        Some("https://files.example.net/m-far".into());
    let app = start_wa(
        &db.url,
        &g,
        &[("ADUAN_CHANNELS__WHATSAPP__MAX_MEDIA_BYTES", "1048576")],
    )
    .await;
    let t = now();
    let m = notification(
        CITIZEN,
        "Ani",
        vec![
            message(
                CITIZEN,
                "wamid.V1",
                t,
                "video",
                json!({"mime_type": "video/mp4", "id": "m-big", "caption": "Video banjir"}),
            ),
            message(
                CITIZEN,
                "wamid.V2",
                t,
                "image",
                json!({"mime_type": "image/jpeg", "id": "m-far"}),
            ),
        ],
        vec![],
    );
    assert_eq!(deliver(&app, &m, None).await, 200);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        2
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE parse_error LIKE '%over the limit%'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM messages WHERE parse_error LIKE '%files.example.net%not an allowed media host%'").await, 1);
    assert_eq!(g.state.lock().unwrap().downloads, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body = 'Video banjir'"
        )
        .await,
        1
    );

    // Redelivery across a restart.
    let again = notification(
        CITIZEN,
        "Ani",
        vec![text(CITIZEN, "wamid.R1", now(), "Air masuk rumah warga.")],
        vec![],
    );
    assert_eq!(deliver(&app, &again, None).await, 200);
    wait_sent(&g, 1).await;
    app.stop().await;
    let app = start_wa(&db.url, &g, &[]).await;
    assert_eq!(deliver(&app, &again, None).await, 200);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE external_id = 'wamid.R1'"
        )
        .await,
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(g.sent().len(), 1, "one receipt: {:#?}", g.sent());
    app.stop().await;
    db.drop_db().await;
}
both!(whatsapp_media_and_restart);

/// Issue 22, item 7: the 24-hour window only moves forward — a late old message (sent two days
/// ago, delivered now) and a redelivery leave the number's window where the newest message put
/// it, in the register (read by a daemon after a restart): the reply goes as text, no template.
async fn whatsapp_window_never_moves_back(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let g = FakeGraph::start().await;
    let app = start_wa(&db.url, &g, &[]).await;
    let t = now();
    let newest = notification(
        CITIZEN,
        "Ani",
        vec![text(CITIZEN, "wamid.W1", t, "Lampu jalan mati")],
        vec![],
    );
    assert_eq!(deliver(&app, &newest, None).await, 200);
    let old = notification(
        CITIZEN,
        "Ani",
        vec![text(
            CITIZEN,
            "wamid.W0",
            t - 2 * 86_400,
            "pesan lama yang terlambat",
        )],
        vec![],
    );
    assert_eq!(deliver(&app, &old, None).await, 200);
    assert_eq!(deliver(&app, &newest, None).await, 200, "a redelivery");
    let stored: String = sqlx::query_scalar(
        "SELECT value FROM channel_cursors WHERE channel = 'whatsapp' AND key LIKE 'window:%'",
    )
    .fetch_one(&app.core.db.pool)
    .await
    .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(&stored)
        .unwrap()
        .timestamp();
    assert_eq!(at, t, "the window moved back to {stored}");
    // A daemon started afresh reads the window from the register: the reply is text.
    let url = db.url.clone();
    app.stop().await;
    let app = start_wa(&url, &g, &[]).await;
    let no = first_register_no(&app).await;
    let token = app
        .officer("kasi", aduan::workflow::Role::SectionHead)
        .await;
    app.reply(&token, &no, "Petugas menuju lokasi.").await;
    assert!(
        eventually(20, || async {
            g.sent()
                .iter()
                .any(|m| m.to_string().contains("Petugas menuju lokasi"))
        })
        .await,
        "{:?}",
        g.sent()
    );
    assert!(
        g.sent().iter().all(|m| m["type"] != "template"),
        "sent as a template: {:?}",
        g.sent()
    );
    app.stop().await;
    db.drop_db().await;
}
both!(whatsapp_window_never_moves_back);

async fn wa_ready(app: &App) -> (u16, String) {
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    (
        s,
        v["channels"]["whatsapp"]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Issue 22, items 12 and 13: a token Meta refuses (401, code 190) — at start and while
/// running — makes replies wait with their attempts untouched (never `failed` for it), and
/// `/readyz` names it at once; when the token works again the waiting reply goes out and the
/// channel is healthy at once, without waiting for the five-minute check.
async fn whatsapp_refused_token_waits(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let g = FakeGraph::start().await;
    g.state.lock().unwrap().revoked = true;
    let app = start_wa(
        &db.url,
        &g,
        &[
            ("ADUAN_CHANNELS__WHATSAPP__TOKEN_WAIT_SECS", "1"),
            ("ADUAN_OUTBOX__MAX_ATTEMPTS", "3"),
        ],
    )
    .await;
    assert!(
        eventually(10, || async {
            let (s, d) = wa_ready(&app).await;
            s == 503 && d.contains("access token was refused")
        })
        .await,
        "{:?}",
        wa_ready(&app).await
    );
    let m = notification(
        CITIZEN,
        "Ani",
        vec![text(CITIZEN, "wamid.T1", now(), "Jalan berlubang")],
        vec![],
    );
    assert_eq!(deliver(&app, &m, None).await, 200);
    // Longer than three attempts would have taken: the receipt waits, not failed.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'failed'").await,
        0,
        "a refused token failed the reply"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts = 0"
        )
        .await,
        1
    );
    // The token works again: the receipt goes, the channel is healthy at once.
    g.state.lock().unwrap().revoked = false;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        1,
        15,
    )
    .await;
    assert_eq!(wa_ready(&app).await.0, 200, "{:?}", wa_ready(&app).await);
    // Refused while running: `/readyz` says so from the first refused send.
    g.state.lock().unwrap().revoked = true;
    let no = first_register_no(&app).await;
    let token = app
        .officer("kasi", aduan::workflow::Role::SectionHead)
        .await;
    app.reply(&token, &no, "Petugas menuju lokasi.").await;
    assert!(
        eventually(10, || async {
            let (s, d) = wa_ready(&app).await;
            s == 503 && d.contains("access token was refused")
        })
        .await
    );
    g.state.lock().unwrap().revoked = false;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        2,
        15,
    )
    .await;
    app.stop().await;
    db.drop_db().await;
}
both!(whatsapp_refused_token_waits);

/// Issue 22, item 14: a delivery status names the message it is about — a reply sent as text
/// and then a document (its file) is one outbox row with two WhatsApp ids; a `failed` status
/// for the document is recorded on that reply and flags the complaint.
async fn whatsapp_status_of_a_reply_s_second_message(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let g = FakeGraph::start().await;
    let app = start_wa(&db.url, &g, &[]).await;
    let m = notification(
        CITIZEN,
        "Ani",
        vec![text(CITIZEN, "wamid.S1", now(), "Izin belum terbit")],
        vec![],
    );
    assert_eq!(deliver(&app, &m, None).await, 200);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        1,
        15,
    )
    .await;
    let no = first_register_no(&app).await;
    let token = app.officer("kasi", Role::SectionHead).await;
    let form = reqwest::multipart::Form::new()
        .text("text", "Terlampir surat keterangan.")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 surat".to_vec())
                .file_name("surat.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/replies")))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        2,
        15,
    )
    .await;
    // The document is the last message the fake numbered.
    let sent = g.sent();
    assert_eq!(sent.last().unwrap()["type"], "document", "{sent:?}");
    let doc_id = format!("wamid.OUT{:04}", g.state.lock().unwrap().next);
    let failed = notification(
        CITIZEN,
        "Ani",
        vec![],
        vec![status(&doc_id, "failed", CITIZEN, Some(131026))],
    );
    assert_eq!(deliver(&app, &failed, None).await, 200);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE delivery = 'failed' AND body LIKE '%surat keterangan%'",
        1,
        10,
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE flagged LIKE 'reply not delivered%'"
        )
        .await,
        1
    );
    app.stop().await;
    db.drop_db().await;
}
both!(whatsapp_status_of_a_reply_s_second_message);

//! The trust issue's findings, each reproduced as a test that failed before its fix (see
//! SECURITY.md for the guarantee each one proves). Register findings run on both databases.

use std::sync::Arc;

use aduan::db::Backend;
use aduan::intake::submit;
use aduan::workflow::Role;
use aduan_channel::{Address, ChannelKind, Disposition, InboundMessage, Intent};
use chrono::{TimeZone, Utc};
use serde_json::json;
use sqlx::Row;

use crate::both;
use crate::helpers::*;
use crate::intake::{email, sms};
use crate::testchannel::ScriptedChannel;

mod approvals;
mod confidential;
mod email_auth;
mod holes;
mod merges;
mod verdicts;

struct Rig {
    app: App,
    email: Arc<ScriptedChannel>,
    sms: Arc<ScriptedChannel>,
}

/// The daemon over HTTP with scripted email, SMS and Telegram adapters, so replies and
/// receipts to every kind of address are queued and "sent".
async fn rig(backend: Backend, extra: &[(&str, &str)]) -> Option<Rig> {
    let db = fresh(backend).await?;
    let cfg = test_config(&db.url, extra);
    let email = ScriptedChannel::new(ChannelKind::Email, vec![]);
    let sms = ScriptedChannel::new(ChannelKind::Sms, vec![]);
    let tg = ScriptedChannel::new(ChannelKind::Telegram, vec![]);
    let core = open_core_with(&cfg, vec![email.clone(), sms.clone(), tg]).await;
    let app = start(core, &cfg, Some(db)).await;
    Some(Rig { app, email, sms })
}

fn telegram(ext: &str, chat: i64, text: &str) -> InboundMessage {
    let mut m = InboundMessage::new(
        ChannelKind::Telegram,
        ext,
        Address::TelegramChat(chat),
        text,
    );
    m.hints.conversation = Some(chat.to_string());
    m
}

/// Waits until every queued message was handed to its (scripted) channel.
async fn all_sent(app: &App) {
    wait_count(
        app,
        "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'",
        0,
        15,
    )
    .await;
}

async fn status_of(app: &App, no: &str) -> String {
    sqlx::query("SELECT status FROM complaints WHERE register_no = $1")
        .bind(no)
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn flag_of(app: &App, no: &str) -> String {
    sqlx::query("SELECT flagged FROM complaints WHERE register_no = $1")
        .bind(no)
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap()
        .try_get::<Option<String>, _>(0)
        .unwrap()
        .unwrap_or_default()
}

/// Finding 1: a stranger who types the victim's phone into the web form must not receive the
/// victim's answers, and a planted phone must not make an SMS `STATUS` count as the owner's.
async fn address_hijack(backend: Backend) {
    let Some(Rig {
        app,
        email,
        sms: sms_ch,
    }) = rig(backend, &[]).await
    else {
        return;
    };
    let (victim, _) = app
        .submit(json!({"name": "Korban", "email": "korban@example.id",
                        "phone": "0812-1111-2222", "body": "Ada pungli di loket 3"}))
        .await;
    let (stranger, _) = app
        .submit(json!({"name": "Orang", "email": "penyerang@example.id",
                        "phone": "0812-1111-2222", "body": "halo"}))
        .await;
    assert_ne!(victim, stranger);
    let token = app.officer("kasi", Role::SectionHead).await;
    app.reply(&token, &victim, "Petugas yang bersangkutan sudah diperiksa")
        .await;
    all_sent(&app).await;
    let to_attacker: Vec<String> = email
        .sent()
        .into_iter()
        .filter(|m| m.to == Address::Email("penyerang@example.id".into()))
        .map(|m| m.text)
        .collect();
    assert!(!to_attacker.is_empty(), "the stranger's own receipt");
    assert!(
        to_attacker
            .iter()
            .all(|t| !t.contains("diperiksa") && !t.contains(&victim)),
        "the victim's answer reached the stranger: {to_attacker:?}"
    );
    // The victim's answer went to the victim's own contacts (and the tracking page) only.
    let rows = sqlx::query(
        "SELECT o.recipient FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
         WHERE c.register_no = $1 AND o.kind = 'reply' ORDER BY o.recipient",
    )
    .bind(&victim)
    .fetch_all(&app.core.db.pool)
    .await
    .unwrap();
    let recipients: Vec<String> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
    assert_eq!(
        recipients,
        vec!["", "email:korban@example.id", "phone:+6281211112222"]
    );
    assert!(sms_ch
        .sent()
        .iter()
        .any(|m| m.text.contains("diperiksa") && m.to == Address::Phone("+6281211112222".into())));
    // Typed addresses are never identities.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM complainant_addresses").await,
        0
    );
    // An SMS STATUS from the typed phone is not the owner asking.
    let mut q = sms("m1:1", "+6281211112222", &format!("STATUS {victim}"));
    q.intent = Intent::StatusQuery {
        register_no: victim.clone(),
    };
    submit(&app.core, q).await.unwrap();
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE kind = 'status'").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit WHERE action = 'status_query_refused'"
        )
        .await,
        1
    );
    app.stop().await;
}
both!(address_hijack);

/// Finding 2: a message from another sender naming a register number opens its own complaint,
/// flagged for the officer; it gets its own receipt and leaves the named complaint alone. The
/// owner's own messages, and replies to a message we sent, still thread.
async fn threading_by_number_from_a_stranger(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, &[]).await else {
        return;
    };
    let core = &app.core;
    let a = submit(core, sms("m1:1", "+6281200000001", "Jalan rusak"))
        .await
        .unwrap();
    sqlx::query("UPDATE complaints SET status = 'incomplete' WHERE register_no = $1")
        .bind(&a.register_no)
        .execute(&core.db.pool)
        .await
        .unwrap();
    let strangers = [
        sms("m1:2", "+6281299999999", &format!("info {}", a.register_no)),
        email(
            "e1",
            "lain@example.id",
            &format!("Re: [{}]", a.register_no),
            "saya juga",
        ),
        telegram("tg:1", 777, &format!("/cek {}", a.register_no)),
    ];
    for m in strangers {
        let from = m.sender.to_key();
        let r = submit(core, m).await.unwrap();
        assert_eq!(r.disposition, Disposition::Created, "{from}");
        assert_ne!(r.register_no, a.register_no);
        assert!(
            flag_of(&app, &r.register_no)
                .await
                .contains(&format!("mentions {}", a.register_no)),
            "{from}"
        );
        let receipts = count(
            &app,
            &format!("SELECT COUNT(*) FROM outbox WHERE kind = 'receipt' AND recipient = '{from}'"),
        )
        .await;
        assert_eq!(receipts, 1, "{from} gets a receipt of its own");
    }
    assert_eq!(status_of(&app, &a.register_no).await, "incomplete");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM messages m JOIN complaints c ON c.id = m.complaint_id \
                 WHERE c.register_no = '{}' AND m.direction = 'in'",
                a.register_no
            )
        )
        .await,
        1
    );
    // The owner's own SMS joins and answers the request to complete.
    let own = submit(
        core,
        sms(
            "m1:3",
            "+6281200000001",
            &format!("{} fotonya", a.register_no),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        (own.disposition, own.register_no.as_str()),
        (Disposition::Threaded, a.register_no.as_str())
    );
    assert_eq!(status_of(&app, &a.register_no).await, "registered");
    // Email: a reply to a message we sent threads, from whatever address; a reference to the
    // complainant's own inbound Message-ID does not, from another address.
    let b = submit(core, email("e2", "budi@example.id", "Izin", "isi"))
        .await
        .unwrap();
    let receipt_id: String = sqlx::query(
        "SELECT o.provider_msg_id FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
         WHERE c.register_no = $1 AND o.kind = 'receipt'",
    )
    .bind(&b.register_no)
    .fetch_one(&core.db.pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    let mut m = email(
        "e3",
        "budi.kantor@example.id",
        "Re: Tanda terima",
        "balasan",
    );
    m.hints.references = vec![receipt_id];
    assert_eq!(
        submit(core, m).await.unwrap().register_no,
        b.register_no,
        "a reply to our own message threads"
    );
    let mut m = email("e4", "orang@example.id", "Re: Izin", "ikut");
    m.hints.references = vec!["<e2@mail.example>".into()];
    let r = submit(core, m).await.unwrap();
    assert_eq!(r.disposition, Disposition::Created);
    let mut m = email("e5", "budi@example.id", "Re: Izin", "lagi");
    m.hints.references = vec!["<e2@mail.example>".into()];
    assert_eq!(submit(core, m).await.unwrap().register_no, b.register_no);
    // A text naming thousands of numbers costs ten look-ups, and its flag lists ten.
    let many: String = (1..=2000).map(|i| format!("ADU-2026-{i:06} ")).collect();
    let r = submit(core, sms("m1:many", "+6281299990000", &many))
        .await
        .unwrap();
    assert_eq!(r.disposition, Disposition::Created);
    let flag = flag_of(&app, &r.register_no).await;
    assert_eq!(flag.matches("ADU-2026-").count(), 10, "{flag}");
    // A Telegram chat joins only its own complaint.
    let t = submit(core, telegram("tg:2", 555, "halo")).await.unwrap();
    let t2 = submit(core, telegram("tg:3", 555, "lanjut")).await.unwrap();
    assert_eq!(
        (t2.disposition, t2.register_no.as_str()),
        (Disposition::Threaded, t.register_no.as_str())
    );
    app.stop().await;
}
both!(threading_by_number_from_a_stranger);

/// Finding 3: an email's `Reply-To` is not an identity and receives nothing; the `From` is the
/// complainant.
async fn email_reply_to_is_not_an_identity(backend: Backend) {
    let Some(Rig {
        app, email: mail, ..
    }) = rig(backend, &[]).await
    else {
        return;
    };
    let raw = b"From: Budi <budi@example.id>\r\nReply-To: penyerang@example.id\r\n\
        Message-ID: <rt1@example.id>\r\nSubject: Izin usaha\r\n\r\nIzin saya belum terbit.\r\n";
    let parsed = aduan_email::mime::parse(raw, "pengaduan@dinas.example.go.id", None);
    let r = submit(&app.core, parsed.msg).await.unwrap();
    assert_eq!(r.disposition, Disposition::Created);
    let ids: Vec<String> = sqlx::query("SELECT address FROM complainant_addresses")
        .fetch_all(&app.core.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert_eq!(ids, vec!["email:budi@example.id"]);
    let token = app.officer("kasi", Role::SectionHead).await;
    app.reply(&token, &r.register_no, "Sudah kami teruskan")
        .await;
    all_sent(&app).await;
    let to: Vec<Address> = mail.sent().into_iter().map(|m| m.to).collect();
    assert_eq!(
        to,
        vec![
            Address::Email("budi@example.id".into()),
            Address::Email("budi@example.id".into())
        ]
    );
    // A mail whose From is a stranger but whose Reply-To is Budi is not Budi.
    let raw = format!(
        "From: x@attacker.example\r\nReply-To: budi@example.id\r\nMessage-ID: <rt2@a>\r\n\
         Subject: Re: [{}]\r\n\r\nganti alamat\r\n",
        r.register_no
    );
    let parsed = aduan_email::mime::parse(raw.as_bytes(), "pengaduan@dinas.example.go.id", None);
    let s = submit(&app.core, parsed.msg).await.unwrap();
    assert_eq!(s.disposition, Disposition::Created);
    app.stop().await;
}
both!(email_reply_to_is_not_an_identity);

/// Finding 8: single-line fields refuse control characters; what goes to a typed address
/// carries no free text of the submitter's but the name; receipts per typed address stay
/// limited.
async fn receipts_to_typed_addresses_carry_no_free_text(backend: Backend) {
    let Some(Rig {
        app, email: mail, ..
    }) = rig(backend, &[("ADUAN_INTAKE__ACK_LIMIT_PER_HOUR", "3")]).await
    else {
        return;
    };
    for (field, value) in [
        ("name", "Budi\r\nTransfer Rp 5 juta ke rekening 123"),
        ("subject", "Izin\nSegera hubungi 0812"),
        ("name", "Budi\u{2028}baris baru"),
    ] {
        let mut form = json!({"email": "target@example.id", "body": "isi"});
        form[field] = json!(value);
        let r = app
            .http
            .post(app.url("/api/v1/complaints"))
            .json(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{field}: {value:?}");
    }
    for i in 0..5 {
        app.submit(json!({"name": "Budi", "email": "target@example.id",
                          "subject": "Hadiah! klik http://phish.example",
                          "body": format!("Hadiah menanti {i}")}))
            .await;
    }
    all_sent(&app).await;
    let sent = mail.sent();
    assert_eq!(sent.len(), 3, "receipts to one typed address are limited");
    for m in &sent {
        assert!(m.text.contains("Budi"));
        for leak in ["phish", "Hadiah"] {
            assert!(
                !m.subject.contains(leak) && !m.text.contains(leak),
                "{leak}: {} / {}",
                m.subject,
                m.text
            );
        }
    }
    // An officer's reply to a typed address does not echo the submitter's subject either.
    let no: String = sqlx::query("SELECT register_no FROM complaints ORDER BY id LIMIT 1")
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let token = app.officer("kasi", Role::SectionHead).await;
    app.reply(&token, &no, "Terima kasih").await;
    all_sent(&app).await;
    let last = mail.sent().pop().unwrap();
    assert!(last.text.contains("Terima kasih"));
    assert!(!last.subject.contains("phish"), "{}", last.subject);
    app.stop().await;
}
both!(receipts_to_typed_addresses_carry_no_free_text);

/// Finding 20: the register number's year is the office-local year of registration; the
/// source's clock is kept as "sent at".
async fn register_year_is_the_year_of_registration(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, &[]).await else {
        return;
    };
    let core = &app.core;
    // 1 January 2027, 00:05 WIB: a backlog from New Year's Eve is drained.
    core.clock
        .set(Some(Utc.with_ymd_and_hms(2026, 12, 31, 17, 5, 0).unwrap()));
    let mut m = sms("m1:1", "+6281200000001", "malam tahun baru");
    let sent = Utc.with_ymd_and_hms(2026, 12, 31, 16, 59, 0).unwrap();
    m.received_at = sent;
    let r = submit(core, m).await.unwrap();
    assert_eq!(r.register_no, "ADU-2027-000001");
    // A two-year-old SMS is numbered in the year it is registered.
    let mut m = sms("m1:2", "+6281200000002", "lama sekali");
    m.received_at = Utc.with_ymd_and_hms(2024, 6, 1, 3, 0, 0).unwrap();
    assert_eq!(
        submit(core, m).await.unwrap().register_no,
        "ADU-2027-000002"
    );
    let row = sqlx::query("SELECT sent_at, received_at FROM complaints WHERE register_no = $1")
        .bind(&r.register_no)
        .fetch_one(&core.db.pool)
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), sent.timestamp_millis());
    assert_eq!(
        row.try_get::<i64, _>(1).unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 31, 17, 5, 0)
            .unwrap()
            .timestamp_millis()
    );
    core.clock.set(None);
    app.stop().await;
}
both!(register_year_is_the_year_of_registration);

/// Finding 17: a subject or name of megabytes, a Message-ID of kilobytes and a long
/// conversation are stored (capped, noted) alike on both databases instead of being refused
/// by PostgreSQL's index and tsvector limits (which stalled the mailbox on one UID).
async fn oversized_fields_are_capped_alike(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, &[]).await else {
        return;
    };
    let core = &app.core;
    let mut m = email("big1", "budi@example.id", "", "isi");
    m.subject = Some("Jalan rusak ".repeat(200_000));
    m.display_name = Some("Budi ".repeat(200_000));
    m.hints.message_id = Some(format!("<{}@example.id>", "x".repeat(3000)));
    m.hints.references = vec![format!("<{}@example.id>", "y".repeat(3000))];
    m.external_id = format!("ext-{}", "z".repeat(3000));
    m.attachments.push(aduan_channel::Attachment {
        filename: format!("{}.pdf", "n".repeat(100_000)),
        content_type: format!("application/{}", "x".repeat(100_000)),
        data: b"%PDF-1.4".to_vec(),
    });
    let r = submit(core, m.clone()).await.unwrap();
    assert_eq!(r.disposition, Disposition::Created);
    // The same message again is recognized (its long key is kept as a digest).
    assert_eq!(
        submit(core, m).await.unwrap().disposition,
        Disposition::Duplicate
    );
    let row = sqlx::query(
        "SELECT length(c.subject), length(p.name), c.flagged FROM complaints c \
         JOIN complainants p ON p.id = c.complainant_id WHERE c.register_no = $1",
    )
    .bind(&r.register_no)
    .fetch_one(&core.db.pool)
    .await
    .unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), 1000);
    assert_eq!(row.try_get::<i64, _>(1).unwrap(), 200);
    let flag: String = row.try_get(2).unwrap();
    assert!(flag.contains("subject longer than 1000"), "{flag}");
    assert!(flag.contains("message id longer than"), "{flag}");
    assert!(flag.contains("attachment name longer than 255"), "{flag}");
    let att = sqlx::query("SELECT length(filename), content_type FROM attachments")
        .fetch_one(&core.db.pool)
        .await
        .unwrap();
    assert_eq!(att.try_get::<i64, _>(0).unwrap(), 255);
    assert_eq!(
        att.try_get::<String, _>(1).unwrap(),
        "application/octet-stream"
    );
    // A long conversation: follow-ups of distinct words beyond the search text's cap.
    let mut words = 0u64;
    for i in 0..120 {
        let text: String = (0..250)
            .map(|_| {
                words += 1;
                format!("kata{words:07x} ")
            })
            .collect();
        let mut f = email(&format!("f{i}"), "budi@example.id", "", &text);
        f.subject = Some(format!("Re: [{}]", r.register_no));
        let t = submit(core, f).await.unwrap();
        assert_eq!(t.disposition, Disposition::Threaded, "follow-up {i}");
    }
    let len: i64 = sqlx::query("SELECT length(search_text) FROM complaints WHERE register_no = $1")
        .bind(&r.register_no)
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!((200_000..205_000).contains(&len), "search text {len}");
    app.stop().await;
}
both!(oversized_fields_are_capped_alike);

/// Finding 19 (delivery reports): an SMS reference repeats every 256 messages; a late report
/// names its recipient and submission time, and marks only that reply — not the newest row
/// with the same reference.
async fn late_sms_report_marks_the_right_reply(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, &[]).await else {
        return;
    };
    let core = &app.core;
    let old = submit(core, sms("m1:1", "+6281200000001", "lama"))
        .await
        .unwrap();
    let new = submit(core, sms("m1:2", "+6281200000002", "baru"))
        .await
        .unwrap();
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        2,
        10,
    )
    .await;
    let hour = 3_600_000i64;
    let now = aduan::db::now_ms();
    for (no, sent_at) in [(&old.register_no, now - 30 * hour), (&new.register_no, now)] {
        sqlx::query(
            "UPDATE outbox SET receipt = 'm1:7', sent_at = $2 WHERE complaint_id = \
             (SELECT id FROM complaints WHERE register_no = $1)",
        )
        .bind(no)
        .bind(sent_at)
        .execute(&core.db.pool)
        .await
        .unwrap();
    }
    let mut report = aduan_channel::DeliveryReport::new(
        ChannelKind::Sms,
        "m1:7",
        aduan_channel::DeliveryState::Failed,
        "TP-ST 0x41",
    );
    report.recipient = Some(Address::Phone("+6281200000001".into()));
    report.submitted_at = chrono::DateTime::from_timestamp_millis(now - 30 * hour + 5_000);
    assert!(aduan::intake::delivery_report(core, &report).await.unwrap());
    let delivery = |no: String| {
        let pool = core.db.pool.clone();
        async move {
            sqlx::query(
                "SELECT o.delivery FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
                 WHERE c.register_no = $1",
            )
            .bind(no)
            .fetch_one(&pool)
            .await
            .unwrap()
            .try_get::<Option<String>, _>(0)
            .unwrap()
        }
    };
    assert_eq!(
        delivery(old.register_no.clone()).await.as_deref(),
        Some("failed")
    );
    assert_eq!(delivery(new.register_no.clone()).await, None);
    assert!(flag_of(&app, &old.register_no)
        .await
        .contains("not delivered"));
    assert_eq!(flag_of(&app, &new.register_no).await, "");
    // A report whose time matches no reply of that reference marks nothing.
    report.submitted_at = chrono::DateTime::from_timestamp_millis(now - 100 * hour);
    assert!(!aduan::intake::delivery_report(core, &report).await.unwrap());
    app.stop().await;
}
both!(late_sms_report_marks_the_right_reply);

/// Finding 18: where a reply can go does not depend on the daemon that took the request.
/// Three daemons share one register — one runs only the web form and the counter, one email,
/// one SMS. A web complaint taken by the web-only daemon gets its email and SMS receipts, an
/// officer's reply through it is emailed and texted; with the email daemon gone the email row
/// waits, visibly (readiness details, dashboard, complaint page), and goes out when an email
/// daemon returns.
async fn three_daemons_one_web_only(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let hb = ("ADUAN_OUTBOX__HEARTBEAT_SECS", "1");
    let only = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![
            hb,
            ("ADUAN_CHANNELS__WEB__ENABLED", "false"),
            ("ADUAN_CHANNELS__COUNTER__ENABLED", "false"),
        ];
        v.extend_from_slice(extra);
        v
    };
    let cfg_w = test_config(&db.url, &[hb]);
    let w = start(open_core(&cfg_w).await, &cfg_w, None).await;
    let cfg_e = test_config(&db.url, &only(&[]));
    let mail = ScriptedChannel::new(ChannelKind::Email, vec![]);
    let e = start(
        open_core_with(&cfg_e, vec![mail.clone()]).await,
        &cfg_e,
        None,
    )
    .await;
    let sms_ch = ScriptedChannel::new(ChannelKind::Sms, vec![]);
    let s = start(
        open_core_with(&cfg_e, vec![sms_ch.clone()]).await,
        &cfg_e,
        None,
    )
    .await;
    assert!(!w.core.channels.is_configured(ChannelKind::Email));
    wait_count(&w, "SELECT COUNT(*) FROM channel_presence", 4, 10).await;
    let (no, _) = w
        .submit(
            json!({"name": "Ani", "email": "ani@example.id", "phone": "0812-5555-0001",
                        "body": "Izin belum terbit"}),
        )
        .await;
    assert!(
        eventually(10, || async {
            mail.sent().len() == 1 && sms_ch.sent().len() == 1
        })
        .await,
        "receipts by email and SMS through the daemons that run them"
    );
    let token = w.web_officer("kasi", Role::SectionHead).await;
    w.reply(&token, &no, "Sedang kami proses").await;
    assert!(
        eventually(10, || async {
            mail.sent().len() == 2 && sms_ch.sent().len() == 2
        })
        .await,
        "the reply went by email and SMS too"
    );
    // The email daemon stops; its presence expires; a reply for email waits, visibly.
    e.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    w.reply(&token, &no, "Mohon ditunggu").await;
    assert!(eventually(10, || async { sms_ch.sent().len() == 3 }).await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        count(
            &w,
            "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND status = 'queued'"
        )
        .await,
        1,
        "never dropped: queued for email"
    );
    let ready: serde_json::Value = w
        .http
        .get(w.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["waiting_for_channel"]["email"], json!(1), "{ready}");
    let mut b = crate::ui::Browser::new(&w);
    b.login("kasi", PASSWORD).await;
    let page = b.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(page.body.contains("menunggu kanal Surel"), "{}", page.body);
    let dash = b.go("GET", "/kotak/dasbor", &[]).await;
    assert!(dash.body.contains("id=\"unserved\""), "{}", dash.body);
    // An email daemon comes back: the waiting reply goes out.
    let mail2 = ScriptedChannel::new(ChannelKind::Email, vec![]);
    let e2 = start(
        open_core_with(&cfg_e, vec![mail2.clone()]).await,
        &cfg_e,
        None,
    )
    .await;
    assert!(eventually(10, || async { mail2.sent().len() == 1 }).await);
    assert!(mail2.sent()[0].text.contains("Mohon ditunggu"));
    for d in [w, s, e2] {
        d.stop().await;
    }
    db.drop_db().await;
}
both!(three_daemons_one_web_only);

/// Finding 19 (races under PostgreSQL's READ COMMITTED): a message threaded onto a complaint
/// that is being closed at that moment never leaves it `registered` but closed; two first
/// messages of one conversation at the same time open one complaint, not two.
async fn races_on_thread_and_conversation(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, &[]).await else {
        return;
    };
    let core = app.core.clone();
    // 1. Twelve first messages of one Telegram chat at once.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..12 {
        let core = core.clone();
        set.spawn(async move {
            submit(
                &core,
                telegram(&format!("tg:race:{i}"), 4242, &format!("pesan {i}")),
            )
            .await
            .unwrap()
            .register_no
        });
    }
    let mut nos = std::collections::BTreeSet::new();
    while let Some(n) = set.join_next().await {
        nos.insert(n.unwrap());
    }
    assert_eq!(nos.len(), 1, "one conversation opened {nos:?}");
    // 2. The complainant answers a request to complete while an officer closes it.
    let a = submit(&core, sms("m1:r1", "+6281200000042", "jalan rusak"))
        .await
        .unwrap();
    sqlx::query("UPDATE complaints SET status = 'incomplete' WHERE register_no = $1")
        .bind(&a.register_no)
        .execute(&core.db.pool)
        .await
        .unwrap();
    let mut close = core.db.begin().await.unwrap();
    sqlx::query("UPDATE complaints SET status = 'closed', is_open = 0 WHERE register_no = $1")
        .bind(&a.register_no)
        .execute(&mut *close)
        .await
        .unwrap();
    let answer = {
        let core = core.clone();
        let no = a.register_no.clone();
        tokio::spawn(async move {
            submit(
                &core,
                sms("m1:r2", "+6281200000042", &format!("{no} ini fotonya")),
            )
            .await
            .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    close.commit().await.unwrap();
    let r = answer.await.unwrap();
    assert_ne!(
        r.register_no, a.register_no,
        "a message for a complaint closed meanwhile opens a new one"
    );
    assert_eq!(status_of(&app, &a.register_no).await, "closed");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE is_open = 0 \
             AND status NOT IN ('closed', 'rejected', 'forwarded')"
        )
        .await,
        0
    );
    app.stop().await;
}
both!(races_on_thread_and_conversation);

/// Finding 19 (search): diacritics are folded alike on both databases — "cafe" finds "café",
/// "café" finds "cafe", "sudirman" finds "Sudirmán".
async fn search_folds_diacritics_alike(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, &[]).await else {
        return;
    };
    submit(
        &app.core,
        sms("m1:s1", "+6281200000051", "Café di Jl. Sudirmán tutup"),
    )
    .await
    .unwrap();
    submit(&app.core, sms("m1:s2", "+6281200000052", "Cafe lain buka"))
        .await
        .unwrap();
    let token = app.officer("kasi", Role::SectionHead).await;
    for (q, want) in [("cafe", 2), ("café", 2), ("sudirman", 1), ("SUDIRMÁN", 1)] {
        let v: serde_json::Value = app
            .http
            .get(app.url("/api/v1/complaints"))
            .query(&[("q", q)])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), want, "{q}: {v}");
    }
    app.stop().await;
}
both!(search_folds_diacritics_alike);

//! The email channel in the daemon, against a real Dovecot and a real SMTP receiver: mail in →
//! complaint → receipt out, threaded; replies join; robots and bounces get no answer; restarts
//! of the daemon, of Dovecot and of the SMTP server lose and duplicate nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aduan::db::Backend;
use aduan::workflow::Role;
use mail_parser::MessageParser;

use crate::both;
use crate::helpers::*;
use crate::mailservers::{crlf, varied, Dovecot, SmtpSink, OFFICE, PASSWORD, USER};

/// Config overrides for the email channel against the test servers.
pub fn email_env(dv: &Dovecot, smtp: &SmtpSink, mailbox: &str) -> Vec<(String, String)> {
    let v = |k: &str, val: String| (format!("ADUAN_CHANNELS__EMAIL__{k}"), val);
    vec![
        v("ADDRESS", OFFICE.into()),
        v("DISPLAY_NAME", "Layanan Pengaduan".into()),
        v("MAX_MESSAGE_BYTES", "65536".into()),
        v("IMAP__HOST", "127.0.0.1".into()),
        v("IMAP__PORT", dv.port.to_string()),
        v("IMAP__SECURITY", "plain".into()),
        v("IMAP__USERNAME", USER.into()),
        v("IMAP__PASSWORD", PASSWORD.into()),
        v("IMAP__MAILBOX", mailbox.into()),
        v("IMAP__IDLE_SECS", "60".into()),
        v("IMAP__TIMEOUT_SECS", "10".into()),
        v("SMTP__HOST", "127.0.0.1".into()),
        v("SMTP__PORT", smtp.port.to_string()),
        v("SMTP__SECURITY", "plain".into()),
        v("SMTP__USERNAME", USER.into()),
        v("SMTP__PASSWORD", PASSWORD.into()),
        v("SMTP__TIMEOUT_SECS", "5".into()),
    ]
}

pub async fn servers() -> Option<(Dovecot, SmtpSink)> {
    let dv = Dovecot::start().await?;
    let smtp = SmtpSink::start().await?;
    Some((dv, smtp))
}

/// A received message's headers of interest.
#[derive(Debug, Clone)]
pub struct Sent {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub auto_submitted: Option<String>,
    pub text: String,
    /// (file name, contents)
    pub attachments: Vec<(String, Vec<u8>)>,
}

pub fn sent(smtp: &SmtpSink) -> Vec<Sent> {
    smtp.messages()
        .iter()
        .map(|raw| {
            let m = MessageParser::default()
                .parse(raw)
                .expect("parse sent mail");
            let ids = |v: &mail_parser::HeaderValue| -> Vec<String> {
                match (v.as_text_list(), v.as_text()) {
                    (Some(l), _) => l.iter().map(|x| format!("<{x}>")).collect(),
                    (None, Some(t)) => vec![format!("<{t}>")],
                    _ => vec![],
                }
            };
            Sent {
                to: m
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or("")
                    .to_string(),
                subject: m.subject().unwrap_or("").to_string(),
                message_id: format!("<{}>", m.message_id().unwrap_or("")),
                in_reply_to: ids(m.in_reply_to()).pop(),
                references: ids(m.references()),
                auto_submitted: m.header_raw("Auto-Submitted").map(|s| s.trim().to_string()),
                text: m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                attachments: m
                    .attachments()
                    .map(|a| {
                        use mail_parser::MimeHeaders;
                        (
                            a.attachment_name().unwrap_or("").to_string(),
                            a.contents().to_vec(),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

async fn wait_sent(smtp: &SmtpSink, want: usize, secs: u64) -> Vec<Sent> {
    let ok = eventually(secs, || async { smtp.messages().len() >= want }).await;
    let s = sent(smtp);
    assert!(ok, "{} mails sent after {secs}s, want {want}", s.len());
    s
}

/// 200 varied messages → 200 complaints and 200 threaded receipts; the complainant's answer to
/// a receipt joins its complaint; an officer's reply arrives with the whole References chain.
async fn email_intake_receipts_and_threading(backend: Backend) {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(backend).await else {
        return;
    };
    let n = 200;
    let raws: Vec<Vec<u8>> = (0..n).map(varied).collect();
    dv.append("INBOX", &raws).await;
    let app = start_with_env(&db.url, &email_env(&dv, &smtp, "INBOX")).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM complaints WHERE channel = 'email'",
        n as i64,
        120,
    )
    .await;
    let receipts = wait_sent(&smtp, n, 120).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent(&smtp).len(), n, "one receipt per complaint, no more");
    // Every message is marked processed only after commit — and all were committed.
    assert!(
        eventually(10, || async { dv.unseen("INBOX").await.is_empty() }).await,
        "messages left unseen: {:?}",
        dv.unseen("INBOX").await
    );

    let nos: BTreeMap<String, String> = sqlx_rows(
        &app,
        "SELECT m.provider_message_id, c.register_no FROM messages m JOIN complaints c ON c.id = m.complaint_id \
         WHERE m.direction = 'in'",
    )
    .await;
    let mut seen = BTreeSet::new();
    for r in &receipts {
        let i: usize =
            r.to.trim_start_matches("warga")
                .split('@')
                .next()
                .unwrap()
                .parse()
                .unwrap();
        let orig = format!("<m{i}.x@example.com>");
        assert_eq!(r.in_reply_to.as_deref(), Some(orig.as_str()), "{r:?}");
        assert_eq!(r.references, vec![orig.clone()]);
        assert_eq!(r.auto_submitted.as_deref(), Some("auto-replied"));
        let no = &nos[&orig];
        assert!(
            r.subject.contains(&format!("[{no}]")),
            "{} / {no}",
            r.subject
        );
        assert!(r.text.contains(no.as_str()));
        assert!(seen.insert(i), "two receipts for message {i}");
    }
    // Text as the complainant wrote it, whatever the encoding.
    let body = |i: usize| {
        let app = &app;
        async move {
            let rows: BTreeMap<String, String> = sqlx_rows(
                app,
                &format!("SELECT external_id, body FROM messages WHERE provider_message_id = '<m{i}.x@example.com>'"),
            )
            .await;
            rows.into_values().next().unwrap()
        }
    };
    assert!(body(0).await.contains("rusak parah — mohon"));
    let html = body(1).await;
    assert!(
        html.contains("Lampu jalan nomor 1 padam") && !html.contains("<p>"),
        "{html}"
    );
    assert!(body(2).await.contains("petugas tidak ada – mohon"));
    assert!(
        body(3).await.contains("menunggu 2½ jam"),
        "{}",
        body(3).await
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM attachments WHERE filename LIKE 'bukti-%.pdf' AND content_type = 'application/pdf'").await,
        (n / 5) as i64
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE subject = 'Lampu padam 6'"
        )
        .await,
        1
    );

    // The complainant answers the receipt (Re: prefix, quoted history): it joins the complaint.
    let r0 = receipts
        .iter()
        .find(|r| r.to == "warga0@example.com")
        .unwrap();
    let no0 = nos["<m0.x@example.com>"].clone();
    let answer = crlf(&format!(
        "From: Warga 0 <warga0@example.com>\nTo: {OFFICE}\nSubject: Balas: {}\nMessage-ID: <a0.x@example.com>\n\
         In-Reply-To: {}\nReferences: <m0.x@example.com> {}\n\nLokasinya di depan SD Negeri 3.\n\n\
         Pada Sen, 16 Nov 2026, Layanan Pengaduan <{OFFICE}> menulis:\n> Pengaduan Anda telah kami terima.\n",
        r0.subject, r0.message_id, r0.message_id
    ));
    dv.append("INBOX", &[answer]).await;
    wait_count(
        &app,
        &format!("SELECT COUNT(*) FROM messages m JOIN complaints c ON c.id = m.complaint_id WHERE c.register_no = '{no0}' AND m.direction = 'in'"),
        2,
        30,
    )
    .await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM complaints").await,
        n as i64
    );
    let joined: BTreeMap<String, String> = sqlx_rows(
        &app,
        "SELECT external_id, body FROM messages WHERE provider_message_id = '<a0.x@example.com>'",
    )
    .await;
    assert_eq!(
        joined.values().next().unwrap(),
        "Lokasinya di depan SD Negeri 3."
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent(&smtp).len(), n, "a follow-up gets no second receipt");

    // A mail with no reply headers but the register number in the subject, behind a German
    // client's prefix, joins too.
    let no1 = nos["<m1.x@example.com>"].clone();
    dv.append(
        "INBOX",
        &[crlf(&format!(
            "From: warga1@example.com\nTo: {OFFICE}\nSubject: AW: [{no1}] Lampu padam 1\n\
             Message-ID: <s1.x@example.com>\n\nMasih padam sampai hari ini.\n"
        ))],
    )
    .await;
    wait_count(
        &app,
        &format!("SELECT COUNT(*) FROM messages m JOIN complaints c ON c.id = m.complaint_id WHERE c.register_no = '{no1}' AND m.direction = 'in'"),
        2,
        30,
    )
    .await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM complaints").await,
        n as i64
    );

    // An officer's reply, with a file, goes out threaded on the whole conversation.
    let fo = app.officer("fo", Role::FrontOffice).await;
    let form = reqwest::multipart::Form::new()
        .text("text", "Petugas akan meninjau lokasi besok.")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 jadwal".to_vec())
                .file_name("jadwal.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no0}/replies")))
        .bearer_auth(&fo)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let all = wait_sent(&smtp, n + 1, 30).await;
    let reply = all
        .iter()
        .find(|s| s.text.contains("meninjau lokasi"))
        .expect("reply sent");
    assert_eq!(reply.to, "warga0@example.com");
    assert_eq!(reply.in_reply_to.as_deref(), Some("<a0.x@example.com>"));
    assert_eq!(
        reply.references,
        vec![
            "<m0.x@example.com>".to_string(),
            r0.message_id.clone(),
            "<a0.x@example.com>".into()
        ]
    );
    assert!(reply.subject.contains(&format!("[{no0}]")));
    assert_eq!(
        reply.auto_submitted, None,
        "an officer's answer is not automatic"
    );
    assert_eq!(
        reply.attachments,
        vec![("jadwal.pdf".to_string(), b"%PDF-1.4 jadwal".to_vec())]
    );
    app.stop().await;
    db.drop_db().await;
}
both!(email_intake_receipts_and_threading);

/// Rows of two text columns as a map.
pub async fn sqlx_rows(app: &App, sql: &str) -> BTreeMap<String, String> {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&app.core.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<Option<String>, _>(0)
                    .unwrap()
                    .unwrap_or_default(),
                r.try_get::<Option<String>, _>(1)
                    .unwrap()
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// An out-of-office answer, a mailing-list message and a bounce of our receipt: all registered
/// or recorded, none acknowledged; the bounce marks the receipt's delivery failed. A reply to an
/// address the SMTP server refuses with 5xx fails at once, without retries.
async fn email_robots_bounces_and_refusals(backend: Backend) {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(backend).await else {
        return;
    };
    dv.append("INBOX", &[varied(0)]).await;
    let app = start_with_env(&db.url, &email_env(&dv, &smtp, "INBOX")).await;
    let receipt = wait_sent(&smtp, 1, 60).await.remove(0);
    let ooo = crlf(&format!(
        "From: warga0@example.com\nTo: {OFFICE}\nSubject: Otomatis: {}\nAuto-Submitted: auto-replied\n\
         Message-ID: <ooo@example.com>\nIn-Reply-To: {}\n\nSaya sedang cuti sampai 1 Desember.\n",
        receipt.subject, receipt.message_id
    ));
    let list = crlf(&format!(
        "From: buletin@example.org\nTo: {OFFICE}\nSubject: Buletin mingguan\nList-Id: <buletin.example.org>\n\
         Precedence: list\nMessage-ID: <news@example.org>\n\nBerita minggu ini.\n"
    ));
    let bounce = crlf(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\nTo: {OFFICE}\n\
         Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\nMessage-ID: <dsn@mx.example.com>\n\
         MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.com.\n\
         --b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n\
         Final-Recipient: rfc822; warga0@example.com\nAction: failed\nStatus: 5.2.2\n\
         Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n\n--b\nContent-Type: text/rfc822-headers\n\n\
         From: {OFFICE}\nTo: warga0@example.com\nMessage-ID: {}\nSubject: {}\n\n--b--\n",
        receipt.message_id, receipt.subject
    ));
    dv.append("INBOX", &[ooo, list, bounce]).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE delivery = 'failed'",
        1,
        30,
    )
    .await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE direction = 'in'",
        3,
        30,
    )
    .await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM complaints").await,
        2,
        "original + bulletin"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE auto_generated = 1"
        )
        .await,
        1,
        "the bulletin is registered as auto-generated"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE auto_generated = 1 AND direction = 'in'"
        )
        .await,
        2,
        "out-of-office joins the complaint, marked automatic"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE flagged LIKE '%mailbox full%'"
        )
        .await,
        1
    );
    assert!(eventually(10, || async { dv.unseen("INBOX").await.is_empty() }).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sent(&smtp).len(), 1, "no receipt to a robot, no loop");

    // 550 from the SMTP server: permanent, parked as failed after one attempt.
    let no: String = sqlx_rows(
        &app,
        "SELECT register_no, register_no FROM complaints WHERE auto_generated = 0",
    )
    .await
    .into_keys()
    .next()
    .unwrap();
    sqlx::query(
        "UPDATE complaints SET reply_to = 'email:tolak@example.com' WHERE register_no = $1",
    )
    .bind(&no)
    .execute(&app.core.db.pool)
    .await
    .unwrap();
    let fo = app.officer("fo", Role::FrontOffice).await;
    app.reply(&fo, &no, "Jawaban").await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = 1 AND last_error LIKE '%550%'",
        1,
        30,
    )
    .await;
    app.stop().await;
    db.drop_db().await;
}
both!(email_robots_bounces_and_refusals);

/// The daemon stopped in the middle of a sync and started again: every message registered
/// once, every receipt sent once.
async fn email_restart_mid_sync(backend: Backend) {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(backend).await else {
        return;
    };
    let n = 150;
    let raws: Vec<Vec<u8>> = (0..n).map(varied).collect();
    dv.append("INBOX", &raws).await;
    let mut env = email_env(&dv, &smtp, "INBOX");
    env.push(("ADUAN_CHANNELS__EMAIL__IMAP__BATCH".into(), "7".into()));
    let app = start_with_env(&db.url, &env).await;
    assert!(
        eventually(60, || async {
            count(&app, "SELECT COUNT(*) FROM complaints").await >= 20
        })
        .await
    );
    app.stop().await;
    let part = smtp.messages().len();
    let app = start_with_env(&db.url, &env).await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", n as i64, 120).await;
    wait_sent(&smtp, n, 120).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = sent(&smtp);
    let distinct: BTreeSet<_> = all.iter().map(|s| s.in_reply_to.clone()).collect();
    assert_eq!(
        all.len(),
        n,
        "{part} sent before the restart; total must be {n}"
    );
    assert_eq!(distinct.len(), n);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        n as i64
    );
    app.stop().await;
    db.drop_db().await;
}
both!(email_restart_mid_sync);

/// UIDVALIDITY changes (the folder recreated with the same mail plus one new message, as after
/// a server migration): the resync registers only the new one and sends one new receipt.
async fn email_uidvalidity_change(backend: Backend) {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(backend).await else {
        return;
    };
    let raws: Vec<Vec<u8>> = (0..5).map(varied).collect();
    dv.append("Aduan", &raws).await;
    let env = email_env(&dv, &smtp, "Aduan");
    let app = start_with_env(&db.url, &env).await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 5, 60).await;
    wait_sent(&smtp, 5, 60).await;
    let before = sqlx_rows(&app, "SELECT key, value FROM channel_cursors").await;
    app.stop().await;
    {
        let mut s = dv.session().await;
        s.delete("Aduan").await.unwrap();
        s.logout().await.ok();
    }
    let mut again = raws.clone();
    again.push(varied(5));
    dv.append("Aduan", &again).await;
    let app = start_with_env(&db.url, &env).await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 6, 60).await;
    wait_sent(&smtp, 6, 60).await;
    assert!(eventually(10, || async { dv.unseen("Aduan").await.is_empty() }).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sent(&smtp).len(), 6);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        6
    );
    let after = sqlx_rows(&app, "SELECT key, value FROM channel_cursors").await;
    assert_ne!(before, after, "the cursor moved to the new UIDVALIDITY");
    app.stop().await;
    db.drop_db().await;
}
both!(email_uidvalidity_change);

/// Dovecot restarted while the daemon IDLEs: the daemon reconnects and registers new mail.
/// The SMTP server down: the receipt waits and is delivered exactly once when it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_server_restarts() {
    let Some((mut dv, mut smtp)) = servers().await else {
        return;
    };
    let db = fresh(Backend::Sqlite).await.unwrap();
    let app = start_with_env(&db.url, &email_env(&dv, &smtp, "INBOX")).await;
    dv.append("INBOX", &[varied(0)]).await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 1, 30).await;
    wait_sent(&smtp, 1, 30).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // in IDLE now
    dv.restart().await;
    smtp.stop().await;
    dv.append("INBOX", &[varied(1)]).await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 2, 60).await;
    assert!(
        eventually(20, || async {
            count(
                &app,
                // last_error is written after the failed send returned, so the channel has
                // recorded the SMTP failure by then (attempts counts from the claim).
                "SELECT COUNT(*) FROM outbox WHERE status <> 'sent' AND last_error IS NOT NULL",
            )
            .await
                == 1
        })
        .await,
        "the receipt is retried while SMTP is down"
    );
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503, "SMTP failing shows in readiness");
    smtp.spawn().await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
        2,
        60,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = sent(&smtp);
    assert_eq!(
        all.len(),
        2,
        "the second receipt sent once, after SMTP returned"
    );
    assert_ne!(all[0].in_reply_to, all[1].in_reply_to);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
    db.drop_db().await;
}

/// A malformed message, an oversize one, one without a sender and one with NULs in its encoded
/// headers (which PostgreSQL refuses in text) among good ones: stored raw and flagged where
/// needed, the rest registered, nothing stalls.
async fn email_bad_messages_do_not_stall(backend: Backend) {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(backend).await else {
        return;
    };
    let garbage = b"\x00\xff\xfe garbage without headers \x80\x81\r\n\r\n\xc3\x28".to_vec();
    let big = crlf(&format!(
        "From: besar@example.com\nTo: {OFFICE}\nSubject: Lampiran besar\nMessage-ID: <big@example.com>\n\n{}\n",
        "x".repeat(100_000)
    ));
    let no_from =
        crlf("To: pengaduan@dinas.example.go.id\nSubject: Tanpa pengirim\n\nIsi pengaduan.\n");
    let nul = crlf(&format!(
        "From: =?utf-8?B?{}?= <nul@example.com>\nTo: {OFFICE}\nSubject: =?utf-8?B?{}?=\n\
         Message-ID: <nul@example.com>\n\nIsi biasa.\n",
        crate::mailservers::b64(b"Bu\0di"),
        crate::mailservers::b64(b"Keluhan\0 jalan")
    ));
    // A multipart message whose body has no parts (seen from broken mailers).
    let empty_multipart = crlf(&format!(
        "From: kosong@example.com\nTo: {OFFICE}\nSubject: Kosong\nMessage-ID: <empty@example.com>\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"zz\"\n\n"
    ));
    dv.append(
        "INBOX",
        &[
            varied(0),
            garbage,
            big,
            no_from,
            nul,
            empty_multipart,
            varied(1),
        ],
    )
    .await;
    let app = start_with_env(&db.url, &email_env(&dv, &smtp, "INBOX")).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE direction = 'in'",
        7,
        60,
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE flagged IS NOT NULL"
        )
        .await,
        4
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM attachments").await,
        0,
        "an empty multipart body is no attachment"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE subject = 'Kosong' AND flagged LIKE '%no text%'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE flagged LIKE '%exceeds max_message_bytes%'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE raw_sha256 IS NOT NULL AND parse_error LIKE '%not a MIME message%'").await,
        1,
        "the garbage is kept raw"
    );
    // Receipts only where there is an address: the good ones, the oversize and the empty one;
    // none queued for the sender-less mail.
    wait_sent(&smtp, 5, 30).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE recipient = ''").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE subject = 'Keluhan jalan'"
        )
        .await,
        1,
        "NULs are dropped, the message kept"
    );
    assert!(eventually(10, || async { dv.unseen("INBOX").await.is_empty() }).await);
    app.stop().await;
    db.drop_db().await;
}
both!(email_bad_messages_do_not_stall);

/// Trust finding 15: a mail the register refuses as it is and without its attachments is
/// registered raw and flagged — not left unread behind a cursor that moved past it. (PostgreSQL
/// is where a register refuses values — SQLSTATE class 22 — so that is where it is staged.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_refused_twice_is_registered_raw() {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(Backend::Postgres).await else {
        return;
    };
    let app = start_with_env(&db.url, &email_env(&dv, &smtp, "Refused")).await;
    for q in [
        "CREATE FUNCTION refuse_tolak() RETURNS trigger AS $$ BEGIN \
         IF NEW.subject LIKE '%TOLAK%' THEN RAISE EXCEPTION 'value refused' USING ERRCODE = '22023'; END IF; \
         RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_tolak BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_tolak()",
    ] {
        sqlx::query(q).execute(&app.core.db.write).await.unwrap();
    }
    let refused = crlf(&format!(
        "From: warga@example.com\nTo: {OFFICE}\nSubject: TOLAK ini\nMessage-ID: <tolak@example.com>\n\n\
         Isi yang ditolak register.\n"
    ));
    dv.append("Refused", &[refused, varied(3)]).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE direction = 'in'",
        2,
        60,
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE 'Isi yang ditolak%' \
             AND raw_sha256 IS NOT NULL AND parse_error LIKE '%refused this message twice%'"
        )
        .await,
        1
    );
    assert!(eventually(10, || async { dv.unseen("Refused").await.is_empty() }).await);
    app.stop().await;
    db.drop_db().await;
}

/// Implicit TLS and STARTTLS against Dovecot's certificate (trusted through `ca_file`); without
/// that CA the connection is refused and readiness says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_tls_and_starttls() {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    for (i, (sec, port, ca)) in [
        ("tls", dv.tls_port, true),
        ("starttls", dv.port, true),
        ("tls", dv.tls_port, false),
    ]
    .into_iter()
    .enumerate()
    {
        let db = fresh(Backend::Sqlite).await.unwrap();
        let mut env = email_env(&dv, &smtp, &format!("Tls{i}"));
        env.retain(|(k, _)| !k.contains("IMAP__SECURITY") && !k.contains("IMAP__PORT"));
        env.push(("ADUAN_CHANNELS__EMAIL__IMAP__SECURITY".into(), sec.into()));
        env.push(("ADUAN_CHANNELS__EMAIL__IMAP__PORT".into(), port.to_string()));
        env.push((
            "ADUAN_CHANNELS__EMAIL__IMAP__HOST".into(),
            "localhost".into(),
        ));
        if ca {
            env.push(("ADUAN_CHANNELS__EMAIL__IMAP__CA_FILE".into(), dv.ca_file()));
        }
        dv.append(&format!("Tls{i}"), &[varied(i)]).await;
        let app = start_with_env(&db.url, &env).await;
        if ca {
            let ok = eventually(30, || async {
                count(&app, "SELECT COUNT(*) FROM complaints").await == 1
            })
            .await;
            let r = app.http.get(app.url("/readyz")).send().await.unwrap();
            assert!(ok, "{sec}: nothing registered; {}", r.text().await.unwrap());
        } else {
            let ok = eventually(15, || async {
                let r = app.http.get(app.url("/readyz")).send().await.unwrap();
                r.status() == 503 && r.text().await.unwrap().contains("certificate")
            })
            .await;
            assert!(ok, "an untrusted certificate is refused and reported");
            assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 0);
        }
        app.stop().await;
        db.drop_db().await;
    }
}

/// A server without IDLE: the channel polls every `poll_secs` and says so in `/readyz`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_polls_without_idle() {
    let Some(dv) = Dovecot::start_with("imap_capability = IMAP4rev1 LITERAL+ UIDPLUS MOVE").await
    else {
        return;
    };
    let Some(smtp) = SmtpSink::start().await else {
        return;
    };
    let db = fresh(Backend::Sqlite).await.unwrap();
    let mut env = email_env(&dv, &smtp, "INBOX");
    env.push(("ADUAN_CHANNELS__EMAIL__IMAP__POLL_SECS".into(), "1".into()));
    let app = start_with_env(&db.url, &env).await;
    let ok = eventually(15, || async {
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        r.text().await.unwrap().contains("polling")
    })
    .await;
    assert!(ok, "the session reports polling");
    dv.append("INBOX", &[varied(0), varied(1)]).await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 2, 15).await;
    app.stop().await;
    db.drop_db().await;
}

/// Issue 22, item 11: the same mail delivered twice — to two of the office's aliases (To and
/// Cc), so the copies differ in `Delivered-To` and `Received` — registers once with one
/// receipt; a different mail reusing the Message-ID (a broken mailer) is still its own.
async fn email_alias_copies_register_once(backend: Backend) {
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(backend).await else {
        return;
    };
    let copy = |alias: &str, body: &str| {
        crate::mailservers::crlf(&format!(
            "Delivered-To: {alias}@example.go.id\r\nReceived: by mx.example.go.id for <{alias}@example.go.id>\r\n\
             From: Ani <ani.warga@example.com>\r\nTo: pengaduan@example.go.id\r\nCc: kepala@example.go.id\r\n\
             Subject: Trotoar rusak\r\nMessage-ID: <alias-1@example.com>\r\n\
             Date: Wed, 02 Dec 2026 09:00:00 +0700\r\n\r\n{body}\r\n"
        ))
    };
    dv.append(
        "INBOX",
        &[
            copy("pengaduan", "Trotoar di depan pasar rusak."),
            copy("kepala", "Trotoar di depan pasar rusak."),
            copy("pengaduan", "Isi lain dengan Message-ID yang sama."),
        ],
    )
    .await;
    let app = start_with_env(&db.url, &email_env(&dv, &smtp, "INBOX")).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE direction = 'in'",
        2,
        60,
    )
    .await;
    assert!(eventually(20, || async { dv.unseen("INBOX").await.is_empty() }).await);
    wait_sent(&smtp, 2, 60).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        2,
        "the alias copy registered again"
    );
    assert_eq!(sent(&smtp).len(), 2, "one receipt per distinct mail");
    app.stop().await;
    db.drop_db().await;
}
both!(email_alias_copies_register_once);

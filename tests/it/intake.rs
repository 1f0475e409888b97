//! Intake invariants on both databases: dedup (also across a restart), threading, receipts,
//! loop safety, limits, SLA due dates, register numbers.

use std::sync::Arc;

use aduan::db::Backend;
use aduan::intake::submit;
use aduan_channel::{Address, Attachment, ChannelKind, Disposition, InboundMessage};
use chrono::{TimeZone, Utc};
use sqlx::Row;

use crate::both;
use crate::helpers::*;
use crate::testchannel::ScriptedChannel;

pub(crate) fn sms(ext: &str, from: &str, text: &str) -> InboundMessage {
    InboundMessage::new(ChannelKind::Sms, ext, Address::Phone(from.into()), text)
}

pub(crate) fn email(ext: &str, from: &str, subject: &str, text: &str) -> InboundMessage {
    let mut m = InboundMessage::new(ChannelKind::Email, ext, Address::Email(from.into()), text);
    m.subject = Some(subject.into());
    m.hints.message_id = Some(format!("<{ext}@mail.example>"));
    m
}

/// A register with SMS and email adapters present (scripted), so receipts are queued for them.
async fn setup(
    backend: Backend,
    extra: &[(&str, &str)],
) -> Option<(
    aduan::state::Shared,
    aduan::register::testing::FreshDb,
    aduan::config::Config,
)> {
    let db = fresh(backend).await?;
    let cfg = test_config(&db.url, extra);
    let core = open_core_with(
        &cfg,
        vec![
            ScriptedChannel::new(ChannelKind::Sms, vec![]),
            ScriptedChannel::new(ChannelKind::Email, vec![]),
        ],
    )
    .await;
    Some((core, db, cfg))
}

async fn count(core: &aduan::state::Core, sql: &'static str) -> i64 {
    scalar(&core.db, sql).await
}

async fn dedup_across_restart(backend: Backend) {
    let Some((core, db, cfg)) = setup(backend, &[]).await else {
        return;
    };
    let m = sms("modem1:17", "+6281234567890", "Jalan rusak di RT 03");
    let first = submit(&core, m.clone()).await.unwrap();
    assert_eq!(first.disposition, Disposition::Created);
    let again = submit(&core, m.clone()).await.unwrap();
    assert_eq!(again.disposition, Disposition::Duplicate);
    assert_eq!(again.register_no, first.register_no);
    core.db.close().await;
    drop(core);
    // The daemon restarts and the modem lists the same message again.
    let core = open_core_with(&cfg, vec![ScriptedChannel::new(ChannelKind::Sms, vec![])]).await;
    let after = submit(&core, m).await.unwrap();
    assert_eq!(after.disposition, Disposition::Duplicate);
    assert_eq!(after.register_no, first.register_no);
    assert_eq!(count(&core, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(
        count(
            &core,
            "SELECT COUNT(*) FROM messages WHERE direction = 'in'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&core, "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'").await,
        1
    );
    core.db.close().await;
    db.drop_db().await;
}
both!(dedup_across_restart);

async fn concurrent_duplicates_register_once(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[]).await else {
        return;
    };
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let core = core.clone();
        set.spawn(async move {
            submit(&core, sms("same", "+6281111111111", "sama"))
                .await
                .unwrap()
        });
    }
    let mut created = 0;
    let mut numbers = std::collections::HashSet::new();
    while let Some(r) = set.join_next().await {
        let c = r.unwrap();
        created += (c.disposition == Disposition::Created) as usize;
        numbers.insert(c.register_no);
    }
    assert_eq!(created, 1);
    assert_eq!(numbers.len(), 1);
    assert_eq!(count(&core, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(count(&core, "SELECT COUNT(*) FROM outbox").await, 1);
    core.db.close().await;
    db.drop_db().await;
}
both!(concurrent_duplicates_register_once);

async fn threading(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[]).await else {
        return;
    };
    // 1. Register number in the subject, whatever the reply prefix.
    let a = submit(
        &core,
        email(
            "a1",
            "budi@example.id",
            "Izin belum terbit",
            "Sudah 3 minggu",
        ),
    )
    .await
    .unwrap();
    for (i, prefix) in ["Re:", "RE:", "Balas:", "Bls:", "AW:", "Fwd:"]
        .iter()
        .enumerate()
    {
        let subject = format!("{prefix} [{}] Izin belum terbit", a.register_no);
        let r = submit(
            &core,
            email(&format!("a-re{i}"), "budi@example.id", &subject, "tambahan"),
        )
        .await
        .unwrap();
        assert_eq!(r.disposition, Disposition::Threaded, "{prefix}");
        assert_eq!(r.register_no, a.register_no);
    }
    // 2. In-Reply-To naming our receipt's Message-ID, without the number anywhere.
    let receipt_id: String = sqlx::query(
        "SELECT provider_msg_id FROM outbox WHERE kind = 'receipt' ORDER BY id LIMIT 1",
    )
    .fetch_one(&core.db.pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    let mut m = email("a2", "budi@example.id", "terima kasih", "lampiran menyusul");
    m.hints.references = vec!["<unknown@x>".into(), receipt_id];
    assert_eq!(submit(&core, m).await.unwrap().register_no, a.register_no);
    // 3. References naming the complainant's own first message.
    let mut m = email("a3", "budi@example.id", "lagi", "x");
    m.hints.references = vec!["<a1@mail.example>".into()];
    assert_eq!(submit(&core, m).await.unwrap().register_no, a.register_no);
    // 4. The number in the text of an SMS from another sender does not join (the proven
    //    sender is not the complaint's): a complaint of its own, flagged as mentioning it.
    let r = submit(
        &core,
        sms(
            "s1",
            "+6281234567890",
            &format!("mohon info {} kapan selesai", a.register_no.to_lowercase()),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.disposition, Disposition::Created);
    assert_ne!(r.register_no, a.register_no);
    // 5. Same conversation (Telegram chat).
    let mut t1 = InboundMessage::new(
        ChannelKind::Telegram,
        "tg:1",
        Address::TelegramChat(42),
        "halo",
    );
    t1.hints.conversation = Some("42".into());
    let c1 = submit(&core, t1).await.unwrap();
    let mut t2 = InboundMessage::new(
        ChannelKind::Telegram,
        "tg:2",
        Address::TelegramChat(42),
        "lanjutan",
    );
    t2.hints.conversation = Some("42".into());
    assert_eq!(submit(&core, t2).await.unwrap().register_no, c1.register_no);
    // 6. Unrelated messages open their own complaints; receipts only for new complaints.
    let b = submit(&core, email("b1", "ani@example.id", "Lain", "lain"))
        .await
        .unwrap();
    assert_ne!(b.register_no, a.register_no);
    assert_eq!(
        count(
            &core,
            "SELECT COUNT(*) FROM messages WHERE direction = 'in'"
        )
        .await,
        13
    );
    assert_eq!(count(&core, "SELECT COUNT(*) FROM complaints").await, 4);
    // Telegram is not configured here, so only email and SMS receipts are queued.
    assert_eq!(
        count(&core, "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'").await,
        3
    );
    // 7. A closed complaint is not reopened by its number: a new complaint starts.
    sqlx::query("UPDATE complaints SET status = 'closed', is_open = 0 WHERE register_no = $1")
        .bind(&a.register_no)
        .execute(&core.db.pool)
        .await
        .unwrap();
    let n = submit(
        &core,
        email(
            "a9",
            "budi@example.id",
            &format!("Re: [{}]", a.register_no),
            "lagi",
        ),
    )
    .await
    .unwrap();
    assert_eq!(n.disposition, Disposition::Created);
    assert_ne!(n.register_no, a.register_no);
    core.db.close().await;
    db.drop_db().await;
}
both!(threading);

async fn receipts_carry_thread_headers(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[]).await else {
        return;
    };
    let a = submit(&core, email("h1", "budi@example.id", "Izin", "isi"))
        .await
        .unwrap();
    let row = sqlx::query("SELECT channel, recipient, subject, body, refs, automatic FROM outbox WHERE kind = 'receipt'")
        .fetch_one(&core.db.pool)
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>("channel").unwrap(), "email");
    assert_eq!(
        row.try_get::<String, _>("recipient").unwrap(),
        "email:budi@example.id"
    );
    assert!(row
        .try_get::<String, _>("subject")
        .unwrap()
        .contains(&a.register_no));
    assert!(row
        .try_get::<String, _>("body")
        .unwrap()
        .contains(&a.tracking_code));
    assert_eq!(
        row.try_get::<String, _>("refs").unwrap(),
        r#"["<h1@mail.example>"]"#
    );
    assert_eq!(row.try_get::<i64, _>("automatic").unwrap(), 1);
    core.db.close().await;
    db.drop_db().await;
}
both!(receipts_carry_thread_headers);

async fn auto_generated_never_acknowledged_and_acks_rate_limited(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[("ADUAN_INTAKE__ACK_LIMIT_PER_HOUR", "2")]).await
    else {
        return;
    };
    let mut ooo = email(
        "ooo",
        "budi@example.id",
        "Out of office",
        "Saya sedang cuti",
    );
    ooo.auto_generated = true;
    let r = submit(&core, ooo).await.unwrap();
    assert_eq!(
        r.disposition,
        Disposition::Created,
        "auto-generated mail is still registered"
    );
    assert_eq!(count(&core, "SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(
        count(
            &core,
            "SELECT COUNT(*) FROM audit WHERE action = 'ack_suppressed'"
        )
        .await,
        1
    );
    // One sender, four new complaints: two receipts, then silence.
    for i in 0..4 {
        submit(
            &core,
            sms(
                &format!("flood{i}"),
                "+6289999999999",
                &format!("aduan {i}"),
            ),
        )
        .await
        .unwrap();
    }
    assert_eq!(count(&core, "SELECT COUNT(*) FROM complaints").await, 5);
    assert_eq!(
        count(
            &core,
            "SELECT COUNT(*) FROM outbox WHERE recipient = 'phone:+6289999999999'"
        )
        .await,
        2
    );
    // Another sender is not affected.
    submit(&core, sms("other", "+6281000000000", "x"))
        .await
        .unwrap();
    assert_eq!(count(&core, "SELECT COUNT(*) FROM outbox").await, 3);
    core.db.close().await;
    db.drop_db().await;
}
both!(auto_generated_never_acknowledged_and_acks_rate_limited);

async fn attachments_content_addressed_and_limited(backend: Backend) {
    let Some((core, db, _)) =
        setup(backend, &[("ADUAN_INTAKE__MAX_ATTACHMENT_BYTES", "1000")]).await
    else {
        return;
    };
    let photo = Attachment {
        filename: "../../etc/passwd.jpg".into(),
        content_type: "image/jpeg".into(),
        data: vec![7u8; 600],
    };
    let mut m1 = email("f1", "budi@example.id", "Foto", "lihat lampiran");
    m1.attachments = vec![
        photo.clone(),
        Attachment {
            filename: "besar.pdf".into(),
            content_type: "application/pdf".into(),
            data: vec![1u8; 5000],
        },
    ];
    let r1 = submit(&core, m1).await.unwrap();
    let mut m2 = email("f2", "ani@example.id", "Foto sama", "lampiran yang sama");
    m2.attachments = vec![photo];
    submit(&core, m2).await.unwrap();
    assert_eq!(count(&core, "SELECT COUNT(*) FROM attachments").await, 2);
    assert_eq!(
        count(&core, "SELECT COUNT(*) FROM blobs").await,
        1,
        "same bytes stored once"
    );
    let flagged: Option<String> =
        sqlx::query("SELECT flagged FROM complaints WHERE register_no = $1")
            .bind(&r1.register_no)
            .fetch_one(&core.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
    let flagged = flagged.expect("oversize attachment flags the complaint");
    assert!(
        flagged.contains("besar.pdf") && flagged.contains("5000"),
        "{flagged}"
    );
    // The sender's file name is kept for display only; storage is by sha256.
    let sha: String = sqlx::query("SELECT sha256 FROM attachments LIMIT 1")
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(sha, aduan::register::sha256_hex(&[7u8; 600]));
    core.db.close().await;
    db.drop_db().await;
}
both!(attachments_content_addressed_and_limited);

async fn broken_source_is_registered_raw_and_flagged(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[]).await else {
        return;
    };
    let mut m = email("bad", "x@example.id", "", "");
    m.raw = Some(b"\xff\xfe not mime at all".to_vec());
    m.parse_error = Some("no header section".into());
    let r = submit(&core, m).await.unwrap();
    let row = sqlx::query("SELECT c.flagged, m.raw_sha256, m.parse_error FROM complaints c JOIN messages m ON m.complaint_id = c.id WHERE c.register_no = $1")
        .bind(&r.register_no)
        .fetch_one(&core.db.pool)
        .await
        .unwrap();
    assert!(row
        .try_get::<Option<String>, _>("flagged")
        .unwrap()
        .unwrap()
        .contains("no header section"));
    assert!(row
        .try_get::<Option<String>, _>("parse_error")
        .unwrap()
        .is_some());
    let sha: String = row
        .try_get::<Option<String>, _>("raw_sha256")
        .unwrap()
        .unwrap();
    let raw: Vec<u8> = sqlx::query("SELECT data FROM blobs WHERE sha256 = $1")
        .bind(&sha)
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(raw, b"\xff\xfe not mime at all");
    core.db.close().await;
    db.drop_db().await;
}
both!(broken_source_is_registered_raw_and_flagged);

async fn sla_due_dates_and_register_numbers(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[]).await else {
        return;
    };
    // Registered (the register's clock) Tuesday 17 March 2026, 10:00 WIB: Nyepi, Idul Fitri
    // and cuti bersama follow.
    let m = sms("sla1", "+6281200000001", "x");
    core.clock
        .set(Some(Utc.with_ymd_and_hms(2026, 3, 17, 3, 0, 0).unwrap()));
    let r = submit(&core, m).await.unwrap();
    let due: String = sqlx::query("SELECT due_date FROM complaints WHERE register_no = $1")
        .bind(&r.register_no)
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(due, "2026-04-02");
    // Tuesday 12 May 2026 → 7 working days skipping Kenaikan (14th) and its cuti bersama (15th).
    let m = sms("sla2", "+6281200000002", "x");
    core.clock
        .set(Some(Utc.with_ymd_and_hms(2026, 5, 12, 2, 0, 0).unwrap()));
    let r2 = submit(&core, m).await.unwrap();
    let due: String = sqlx::query("SELECT due_date FROM complaints WHERE register_no = $1")
        .bind(&r2.register_no)
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(due, "2026-05-25");
    assert_eq!(r.register_no, "ADU-2026-000001");
    assert_eq!(r2.register_no, "ADU-2026-000002");
    // 31 Dec 2025 23:30 WIB is still 2025 in the office: its own sequence.
    let m = sms("y2025", "+6281200000003", "x");
    core.clock
        .set(Some(Utc.with_ymd_and_hms(2025, 12, 31, 16, 30, 0).unwrap()));
    assert_eq!(
        submit(&core, m).await.unwrap().register_no,
        "ADU-2025-000001"
    );
    core.clock.set(None);
    // Concurrent intake never hands out a number twice.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let core = Arc::clone(&core);
        set.spawn(async move {
            submit(
                &core,
                sms(&format!("c{i}"), &format!("+62813000000{i:02}"), "x"),
            )
            .await
            .unwrap()
            .register_no
        });
    }
    let mut nos = Vec::new();
    while let Some(n) = set.join_next().await {
        nos.push(n.unwrap());
    }
    nos.sort();
    nos.dedup();
    assert_eq!(nos.len(), 20);
    assert_eq!(
        count(&core, "SELECT COUNT(DISTINCT register_no) FROM complaints").await,
        23
    );
    // A source clock years ahead (a modem's SMSC time) does not date the register.
    let mut m = sms("future", "+6281200000004", "x");
    m.received_at = Utc::now() + chrono::Duration::days(3650);
    let f = submit(&core, m).await.unwrap();
    let this_year = (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y")
        .to_string();
    assert!(
        f.register_no.starts_with(&format!("ADU-{this_year}-")),
        "{}",
        f.register_no
    );
    let flag: Option<String> = sqlx::query("SELECT flagged FROM complaints WHERE register_no = $1")
        .bind(&f.register_no)
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(flag.unwrap().contains("in the future"));
    core.db.close().await;
    db.drop_db().await;
}
both!(sla_due_dates_and_register_numbers);

async fn cursors_persist(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[]).await else {
        return;
    };
    let sink = aduan::intake::sink(&core);
    assert_eq!(
        sink.load_cursor(ChannelKind::Email, "INBOX").await.unwrap(),
        None
    );
    sink.store_cursor(ChannelKind::Email, "INBOX", "1700000000:41")
        .await
        .unwrap();
    sink.store_cursor(ChannelKind::Email, "INBOX", "1700000000:42")
        .await
        .unwrap();
    assert_eq!(
        sink.load_cursor(ChannelKind::Email, "INBOX")
            .await
            .unwrap()
            .as_deref(),
        Some("1700000000:42")
    );
    assert_eq!(
        sink.load_cursor(ChannelKind::Telegram, "INBOX")
            .await
            .unwrap(),
        None
    );
    core.db.close().await;
    db.drop_db().await;
}
both!(cursors_persist);

/// A cursor sent with a message is committed with it: on a new message, on a duplicate (the
/// source re-delivered it; the cursor still moves on) and on a status query.
async fn cursor_rides_with_the_message(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[]).await else {
        return;
    };
    let sink = aduan::intake::sink(&core);
    let offset = || async {
        sink.load_cursor(ChannelKind::Sms, "offset")
            .await
            .unwrap()
            .unwrap_or_default()
    };
    let mut m = sms("u:10", "+6281234567890", "Jalan rusak");
    m.cursor = Some(("offset".into(), "11".into()));
    let c = submit(&core, m.clone()).await.unwrap();
    assert_eq!(c.disposition, Disposition::Created);
    assert_eq!(offset().await, "11");
    m.cursor = Some(("offset".into(), "12".into()));
    let again = submit(&core, m).await.unwrap();
    assert_eq!(again.disposition, Disposition::Duplicate);
    assert_eq!(
        offset().await,
        "12",
        "a duplicate still moves the cursor on"
    );
    let mut q = sms("u:12", "+6289999999999", "STATUS");
    q.intent = aduan_channel::Intent::StatusQuery {
        register_no: c.register_no.clone(),
    };
    q.cursor = Some(("offset".into(), "13".into()));
    submit(&core, q).await.unwrap();
    assert_eq!(offset().await, "13", "a refused status query too");
    // Without a cursor nothing is written.
    submit(&core, sms("u:13", "+6281234567890", "Tambahan"))
        .await
        .unwrap();
    assert_eq!(offset().await, "13");
    core.db.close().await;
    db.drop_db().await;
}
both!(cursor_rides_with_the_message);

/// A web complaint that left an email address and phone number is answered on the tracking
/// page and, where those channels run, by email and SMS too; the prefix is the office's.
async fn web_replies_also_go_to_contacts(backend: Backend) {
    let Some((core, db, _)) = setup(backend, &[("ADUAN_OFFICE__REGISTER_PREFIX", "PGD")]).await
    else {
        return;
    };
    let mut m = InboundMessage::new(ChannelKind::Web, "w1", Address::None, "Izin lama");
    m.contacts = vec![
        Address::Email("ani@example.id".into()),
        Address::Phone("+6281234500000".into()),
    ];
    let r = submit(&core, m).await.unwrap();
    assert!(r.register_no.starts_with("PGD-20"), "{}", r.register_no);
    let rows = sqlx::query(
        "SELECT channel, recipient FROM outbox WHERE kind = 'receipt' ORDER BY channel",
    )
    .fetch_all(&core.db.pool)
    .await
    .unwrap();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("email".to_string(), "email:ani@example.id".to_string()),
            ("sms".to_string(), "phone:+6281234500000".to_string()),
            ("web".to_string(), String::new()),
        ]
    );
    // A register number of the configured prefix is recognized; the typed phone is no
    // identity, so its SMS opens a complaint of its own that names this one.
    let t = submit(
        &core,
        sms(
            "s2",
            "+6281234500000",
            &format!("status {}?", r.register_no),
        ),
    )
    .await
    .unwrap();
    assert_eq!(t.disposition, Disposition::Created);
    let flag: String = sqlx::query("SELECT flagged FROM complaints WHERE register_no = $1")
        .bind(&t.register_no)
        .fetch_one(&core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(
        flag.contains(&format!("mentions {}", r.register_no)),
        "{flag}"
    );
    core.db.close().await;
    db.drop_db().await;
}
both!(web_replies_also_go_to_contacts);

/// Two first messages from one new sender at once: one complainant, not two.
async fn concurrent_new_sender_is_one_complainant(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let core = open_core_with(&cfg, vec![ScriptedChannel::new(ChannelKind::Email, vec![])]).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..6 {
        let core = core.clone();
        set.spawn(async move {
            let mut m = InboundMessage::new(
                ChannelKind::Email,
                format!("n{i}"),
                Address::Email("baru@example.id".into()),
                "aduan",
            );
            m.subject = Some(format!("Aduan {i}"));
            aduan::intake::submit(&core, m).await.unwrap()
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    assert_eq!(scalar(&core.db, "SELECT COUNT(*) FROM complaints").await, 6);
    assert_eq!(
        scalar(
            &core.db,
            "SELECT COUNT(DISTINCT complainant_id) FROM complaints"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(&core.db, "SELECT COUNT(*) FROM complainants").await,
        1
    );
    core.db.close().await;
    db.drop_db().await;
}
both!(concurrent_new_sender_is_one_complainant);

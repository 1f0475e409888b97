//! The SMS channel in the daemon, against the pseudo-terminal modem simulator: SMS in →
//! complaint → receipt SMS; a multipart message straddling a restart; an officer's long reply
//! in parts with a delivery report; the port unplugged and back.

use std::time::Duration;

use aduan::db::Backend;
use aduan::workflow::Role;
use aduan_sms::pdu::{decode_submit, from_hex, Submit, UserData};
use aduan_sms::sim::{deliver_pdus, ModemSim};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;

/// Every SMS the modem sent, parts joined: (to, text).
pub(crate) fn sent_texts(sim: &ModemSim) -> Vec<(String, String)> {
    // Join parts per concatenation reference.
    let subs: Vec<Submit> = sim
        .sent()
        .iter()
        .map(|h| decode_submit(&from_hex(h).unwrap()).unwrap())
        .collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < subs.len() {
        let n = subs[i].concat.map_or(1, |c| c.total as usize);
        let parts: Vec<UserData> = subs[i..(i + n).min(subs.len())]
            .iter()
            .map(|s| s.user_data.clone())
            .collect();
        out.push((
            subs[i].to.value.clone(),
            UserData::join(&parts).unwrap().text(),
        ));
        i += n;
    }
    out
}

/// The register number of the one complaint in the register.
async fn only_register_no(app: &App) -> String {
    use sqlx::Row;
    sqlx::query("SELECT register_no FROM complaints")
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn start_with_modem(db_url: &str, port: &str) -> App {
    let cfg = test_config(
        db_url,
        &[
            ("ADUAN_CHANNELS__SMS__POLL_SECS", "1"),
            ("ADUAN_CHANNELS__SMS__COMMAND_TIMEOUT_SECS", "2"),
            (
                "ADUAN_CHANNELS__SMS__MODEMS",
                &format!("[{{ name = \"modem1\", port = \"{port}\" }}]"),
            ),
        ],
    );
    let core = open_core(&cfg).await;
    start(core, &cfg, None).await
}

async fn sms_end_to_end(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let dir =
        std::env::temp_dir().join(format!("aduan-it-sms-{}", aduan::register::tracking_code()));
    std::fs::create_dir_all(&dir).unwrap();
    let sim = ModemSim::start(&dir, "ttyUSB0").unwrap();
    let port = sim.path().to_str().unwrap().to_string();
    sim.store(
        &deliver_pdus(
            "081234567890",
            "Lampu jalan di Jl. Merdeka mati sejak seminggu.",
            0,
        )[0],
    );
    // Part 1 of 2 of a long message arrives before the first start…
    let long = "Pelayanan perizinan di loket lambat sekali, antrian sampai sore. ".repeat(4);
    let parts = deliver_pdus("+6289876543210", &long, 17);
    assert_eq!(parts.len(), 2);
    sim.store(&parts[0]);
    let app = start_with_modem(&db.url, &port).await;
    let count = |app: &App| {
        let db = app.core.db.clone();
        async move { scalar(&db, "SELECT COUNT(*) FROM complaints").await }
    };
    assert!(
        eventually(15, || async {
            count(&app).await == 1 && sim.inbox_len() == 0
        })
        .await,
        "first SMS registered, part 1 held"
    );
    // The receipt goes back by SMS to the same number, with the register number.
    let no = only_register_no(&app).await;
    assert!(
        eventually(15, || async {
            sent_texts(&sim)
                .iter()
                .any(|(to, t)| to == "+6281234567890" && t.contains(&no))
        })
        .await,
        "{:?}",
        sent_texts(&sim)
    );
    // STATUS by SMS from the complainant: answered with the status, no complaint opened; from
    // someone else: no answer.
    sim.deliver(
        &deliver_pdus(
            "+6281234567890",
            &format!("status {}", no.to_lowercase()),
            0,
        )[0],
    );
    assert!(
        eventually(15, || async {
            sent_texts(&sim)
                .iter()
                .any(|(to, t)| to == "+6281234567890" && t.contains("diterima dan dicatat"))
        })
        .await,
        "{:?}",
        sent_texts(&sim)
    );
    sim.deliver(&deliver_pdus("+6280000000001", &format!("STATUS {no}"), 0)[0]);
    assert!(
        eventually(15, || async {
            scalar(
                &app.core.db,
                "SELECT COUNT(*) FROM audit WHERE action = 'status_query_refused'",
            )
            .await
                == 1
        })
        .await
    );
    assert_eq!(count(&app).await, 1, "status queries open no complaint");
    assert!(!sent_texts(&sim)
        .iter()
        .any(|(to, _)| to == "+6280000000001"));
    // …the daemon restarts, then part 2 arrives: one complaint with the whole text.
    app.stop().await;
    sim.store(&parts[1]);
    let app = start_with_modem(&db.url, &port).await;
    assert!(eventually(15, || async { count(&app).await == 2 }).await);
    let body: String = {
        use sqlx::Row;
        sqlx::query("SELECT m.body FROM messages m JOIN complaints c ON c.id = m.complaint_id WHERE c.reply_to = 'phone:+6289876543210' AND m.direction = 'in'")
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    assert_eq!(body, long);
    // An officer's long reply goes out in parts, to the same number, and its delivery report
    // marks the row delivered.
    sim.report_after_send(Some(0));
    let fo = app.officer("fo", Role::FrontOffice).await;
    let reply = "Terima kasih atas laporan Anda. Petugas kami akan memeriksa lampu jalan tersebut besok pagi dan memperbaikinya. ".repeat(2);
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/replies")))
        .bearer_auth(&fo)
        .json(&json!({"text": reply}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(
        eventually(15, || async {
            sent_texts(&sim)
                .iter()
                .any(|(to, t)| to == "+6281234567890" && t.contains("memperbaikinya"))
        })
        .await
    );
    let delivered =
        || async {
            let d: Value = app
                .http
                .get(app.url(&format!("/api/v1/complaints/{no}")))
                .bearer_auth(&fo)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            d["outbox"].as_array().unwrap().iter().any(|o| {
                o["kind"] == "reply" && o["status"] == "sent" && o["delivery"] == "delivered"
            })
        };
    assert!(eventually(15, delivered).await);
    // Readiness shows the modem; unplugged, it says so; plugged back, intake resumes.
    let ready: Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["channels"]["sms"]["ready"], true, "{ready}");
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("aduan_sms_modem_up{modem=\"modem1\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aduan_sms_signal_dbm{modem=\"modem1\"} -73"),
        "{metrics}"
    );
    sim.unplug();
    assert!(
        eventually(15, || async {
            app.http
                .get(app.url("/readyz"))
                .send()
                .await
                .unwrap()
                .status()
                == 503
        })
        .await
    );
    sim.plug().unwrap();
    sim.store(&deliver_pdus("+6281111111111", "Setelah modem dicabut", 0)[0]);
    assert!(
        eventually(20, || async {
            count(&app).await == 3 && sim.inbox_len() == 0
        })
        .await
    );
    // Nothing registered twice along the way: 3 complaints and the status query.
    assert_eq!(
        scalar(
            &app.core.db,
            "SELECT COUNT(*) FROM messages WHERE direction = 'in'"
        )
        .await,
        4
    );
    app.stop().await;
    db.drop_db().await;
    drop(sim);
    let _ = std::fs::remove_dir_all(dir);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
both!(sms_end_to_end);

/// Two modems: a reply goes out through the modem its complaint came in on, through the other
/// one while that modem is unplugged. A multipart message missing a part is registered as
/// partial after the timeout, and the late part joins the same complaint.
async fn sms_two_modems_and_partial(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "aduan-it-sms2-{}",
        aduan::register::tracking_code()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let a = ModemSim::start(&dir, "ttyUSB0").unwrap();
    let b = ModemSim::start(&dir, "ttyUSB1").unwrap();
    let modems = format!(
        "[{{ name = \"a\", port = \"{}\" }}, {{ name = \"b\", port = \"{}\" }}]",
        a.path().display(),
        b.path().display()
    );
    let cfg = test_config(
        &db.url,
        &[
            ("ADUAN_CHANNELS__SMS__POLL_SECS", "1"),
            ("ADUAN_CHANNELS__SMS__COMMAND_TIMEOUT_SECS", "2"),
            ("ADUAN_CHANNELS__SMS__PARTIAL_TIMEOUT_SECS", "1"),
            ("ADUAN_CHANNELS__SMS__MODEMS", &modems),
        ],
    );
    let app = start(open_core(&cfg).await, &cfg, None).await;
    // In on modem b: the receipt leaves through b.
    b.deliver(&deliver_pdus("+6281234500001", "Trotoar rusak", 0)[0]);
    assert!(eventually(15, || async { !b.sent().is_empty() }).await);
    assert!(a.sent().is_empty(), "modem a sent nothing");
    let no = only_register_no(&app).await;
    // b unplugged: an officer's reply goes through a.
    b.unplug();
    let fo = app.officer("fo", Role::FrontOffice).await;
    assert!(
        eventually(15, || async {
            let r: Value = app
                .http
                .get(app.url("/readyz"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["channels"]["sms"]["detail"]
                .as_str()
                .is_some_and(|d| !d.contains("b:"))
        })
        .await
    );
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/replies")))
        .bearer_auth(&fo)
        .json(&json!({"text": "Sedang kami periksa."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(
        eventually(15, || async {
            sent_texts(&a)
                .iter()
                .any(|(to, t)| to == "+6281234500001" && t.contains("Sedang kami periksa"))
        })
        .await
    );
    // Part 1 of 2 only: registered as partial after the timeout, flagged.
    let long = "Saluran air tersumbat di depan pasar, bau dan banjir setiap hujan. ".repeat(4);
    let parts = deliver_pdus("+6281234500002", &long, 33);
    a.deliver(&parts[0]);
    let flagged = || async {
        scalar(&app.core.db, "SELECT COUNT(*) FROM complaints WHERE reply_to = 'phone:+6281234500002' AND flagged LIKE '%partial%'").await == 1
    };
    assert!(eventually(15, flagged).await);
    // The late part joins that complaint.
    a.deliver(&parts[1]);
    assert!(eventually(15, || async { scalar(&app.core.db, "SELECT COUNT(*) FROM messages m JOIN complaints c ON c.id = m.complaint_id WHERE c.reply_to = 'phone:+6281234500002' AND m.direction = 'in'").await == 2 }).await);
    assert_eq!(
        scalar(&app.core.db, "SELECT COUNT(*) FROM complaints").await,
        2
    );
    app.stop().await;
    db.drop_db().await;
    drop((a, b));
    let _ = std::fs::remove_dir_all(dir);
}
both!(sms_two_modems_and_partial);

/// Issue 22, item 5: a long SMS's conversation lives only as long as its parts may still come:
/// a later, unrelated long SMS from the same number reusing the concatenation reference (they
/// cycle through 0–255) opens its own complaint with its own receipt, after the first one's
/// partial timeout.
async fn sms_reused_reference_is_a_new_message(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "aduan-it-smsref-{}",
        aduan::register::tracking_code()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let sim = ModemSim::start(&dir, "ttyUSB0").unwrap();
    let port = sim.path().to_str().unwrap().to_string();
    let cfg = test_config(
        &db.url,
        &[
            ("ADUAN_CHANNELS__SMS__POLL_SECS", "1"),
            ("ADUAN_CHANNELS__SMS__COMMAND_TIMEOUT_SECS", "2"),
            ("ADUAN_CHANNELS__SMS__PARTIAL_TIMEOUT_SECS", "2"),
            (
                "ADUAN_CHANNELS__SMS__MODEMS",
                &format!("[{{ name = \"modem1\", port = \"{port}\" }}]"),
            ),
        ],
    );
    let app = start(open_core(&cfg).await, &cfg, Some(db)).await;
    let from = "081234567893";
    let first = format!(
        "Jalan rusak di RT 3. {}",
        "Mohon segera diperbaiki. ".repeat(8)
    );
    for p in deliver_pdus(from, &first, 9) {
        sim.deliver(&p);
    }
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 1, 20).await;
    // Past twice the partial timeout (while late parts may still join), another long SMS
    // with the same reference.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = format!(
        "Lampu padam di pasar. {}",
        "Sudah seminggu gelap. ".repeat(9)
    );
    for p in deliver_pdus(from, &second, 9) {
        sim.deliver(&p);
    }
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 2, 20).await;
    assert!(
        eventually(20, || async {
            sent_texts(&sim)
                .iter()
                .filter(|(_, t)| t.contains("ADU-"))
                .count()
                == 2
        })
        .await,
        "a receipt for each: {:?}",
        sent_texts(&sim)
    );
    app.stop().await;
}
both!(sms_reused_reference_is_a_new_message);

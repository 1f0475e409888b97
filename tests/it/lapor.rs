//! The LAPOR! channel in the daemon against a local fake LAPOR! API: an officer links a report,
//! its text, status changes and others' follow-ups (paginated) enter the thread once each, an
//! officer's answer goes out as a follow-up — once, even when LAPOR!'s answer is lost — and
//! authentication errors and timeouts show in readiness.

use std::time::Duration;

use aduan::db::Backend;
use aduan::workflow::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::fakelapor::{FakeLapor, SECRET, TOKEN};
use crate::helpers::*;
use crate::ui::Browser;

fn lapor_env(l: &FakeLapor, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("BASE_URL", l.url.as_str()),
        ("SECRET", SECRET),
        ("TOKEN", TOKEN),
        ("USER_ID", "12"),
        ("INSTITUTION_ID", "34"),
        ("INSTITUTION_NAME", "Dinas Contoh"),
        ("POLL_SECS", "1"),
        ("TIMEOUT_SECS", "5"),
    ]
    .iter()
    .map(|(k, v)| (format!("ADUAN_CHANNELS__LAPOR__{k}"), v.to_string()))
    .collect();
    for (k, val) in extra {
        v.retain(|(kk, _)| !kk.ends_with(&format!("__{k}")));
        v.push((format!("ADUAN_CHANNELS__LAPOR__{k}"), val.to_string()));
    }
    v
}

async fn link(app: &App, token: &str, id: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/lapor"))
        .bearer_auth(token)
        .json(&json!({ "tracking_id": id }))
        .send()
        .await
        .unwrap()
}

async fn lapor_link_sync_and_answer(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let fake = FakeLapor::start().await;
    fake.add_report("5312345", "Belum Terverifikasi");
    fake.followup(
        "5312345",
        Some(1),
        "Pelapor",
        "Mohon segera ditangani, sudah ada korban.",
    );
    fake.followup(
        "5312345",
        None,
        "Admin LAPOR!",
        "Laporan diteruskan ke instansi terkait.",
    );
    fake.followup("5312345", Some(3), "Dinas Contoh", "Sedang kami pelajari.");
    let app = start_with_env(&db.url, &lapor_env(&fake, &[])).await;
    let fo = app.officer("fo", Role::FrontOffice).await;

    let r = link(&app, &fo, "5312345").await;
    assert_eq!(r.status(), 201);
    let no = r.json::<serde_json::Value>().await.unwrap()["register_no"]
        .as_str()
        .unwrap()
        .to_string();
    let again = link(&app, &fo, "5312345").await;
    assert_eq!(again.status(), 200, "linking twice is the same complaint");
    assert_eq!(link(&app, &fo, "53 12345; x").await.status(), 400);

    // Link + report text + status + two follow-ups from others (one without an id, on page 2
    // of the pagination is ours and skipped).
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE channel = 'lapor' AND direction = 'in'",
        5,
        20,
    )
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox").await,
        0,
        "no receipt is posted to LAPOR!"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE 'Status LAPOR!: Belum Terverifikasi%'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE 'Mohon segera ditangani%a.jpg%'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE 'Sedang kami pelajari%'"
        )
        .await,
        0
    );

    // A status change is mirrored once; polls repeat without duplicating anything.
    fake.set_status("5312345", "Dalam Proses", "Diverifikasi admin");
    wait_count(&app, "SELECT COUNT(*) FROM messages WHERE body LIKE 'Status LAPOR!: Dalam Proses%Diverifikasi admin'", 1, 20).await;
    let mirrored = aduan::register::audit::named(&app.core.db, "message_received")
        .await
        .unwrap()
        .into_iter()
        .filter(|a| {
            matches!(&a.event, aduan::register::audit::AuditEvent::MessageReceived {
            lapor: Some(line), ..
        } if line.contains("Status LAPOR!: Dalam Proses"))
        })
        .count();
    assert_eq!(mirrored, 1, "the status change is in the audit trail");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        6
    );

    // The officer's answer goes out as a follow-up with our reference line.
    app.reply(&fo, &no, "Perbaikan dijadwalkan minggu depan.")
        .await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE channel = 'lapor' AND status = 'sent'",
        1,
        20,
    )
    .await;
    let posted = fake.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].0, "5312345");
    assert!(posted[0].1.contains("Perbaikan dijadwalkan minggu depan."));
    assert!(posted[0].1.contains(&format!("Ref. aduan {no}/")));
    // Our own follow-up, now listed by LAPOR!, is not registered as an inbound message.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'").await,
        6
    );
    app.stop().await;
    db.drop_db().await;
}
both!(lapor_link_sync_and_answer);

/// LAPOR! stores a follow-up but the answer is lost (502): the retry finds it and does not post
/// it again.
async fn lapor_lost_answer_is_not_posted_twice(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let fake = FakeLapor::start().await;
    fake.add_report("777", "Dalam Proses");
    let app = start_with_env(&db.url, &lapor_env(&fake, &[])).await;
    let fo = app.officer("fo", Role::FrontOffice).await;
    let no = link(&app, &fo, "777")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["register_no"]
        .as_str()
        .unwrap()
        .to_string();
    fake.state.lock().unwrap().lose_next_answer = true;
    app.reply(&fo, &no, "Sudah diperbaiki.").await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 2",
        1,
        30,
    )
    .await;
    assert_eq!(
        fake.posted().len(),
        1,
        "posted once although the first answer was lost"
    );
    app.stop().await;
    db.drop_db().await;
}
both!(lapor_lost_answer_is_not_posted_twice);

/// A wrong secret and a LAPOR! slower than `timeout_secs`: readiness names the problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapor_errors_show_in_readiness() {
    let db = fresh(Backend::Sqlite).await.unwrap();
    let fake = FakeLapor::start().await;
    fake.add_report("1", "Belum Terverifikasi");
    let app = start_with_env(&db.url, &lapor_env(&fake, &[("SECRET", "salah")])).await;
    let fo = app.officer("fo", Role::FrontOffice).await;
    // Linking asks LAPOR!, which refuses the credentials: not now, nothing registered.
    assert_eq!(link(&app, &fo, "1").await.status(), 503);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 0);
    aduan::intake::submit(&app.core, aduan_lapor::link_message("1", "test"))
        .await
        .unwrap();
    let ok = eventually(15, || async {
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        r.status() == 503 && r.text().await.unwrap().contains("invalid token")
    })
    .await;
    assert!(ok, "LAPOR!'s error message is shown");
    app.stop().await;

    fake.state.lock().unwrap().delay_secs = 3;
    let app = start_with_env(&db.url, &lapor_env(&fake, &[("TIMEOUT_SECS", "1")])).await;
    let ok = eventually(15, || async {
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        r.status() == 503 && r.text().await.unwrap().contains("LAPOR! unreachable")
    })
    .await;
    assert!(ok, "a timeout is reported");
    app.stop().await;
    db.drop_db().await;
}

/// A LAPOR! notification mail reaching the email channel links the report it names; the
/// LAPOR! channel then syncs it. The mail itself is registered, never answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapor_notification_mail_links_the_report() {
    let Some((dv, smtp)) = crate::email::servers().await else {
        return;
    };
    let db = fresh(Backend::Sqlite).await.unwrap();
    let fake = FakeLapor::start().await;
    fake.add_report("5319999", "Terverifikasi");
    let mut env = lapor_env(&fake, &[]);
    env.extend(crate::email::email_env(&dv, &smtp, "INBOX"));
    let app = start_with_env(&db.url, &env).await;
    dv.append(
        "INBOX",
        &[crate::mailservers::crlf(&format!(
            "From: LAPOR! <noreply@lapor.go.id>\nTo: {}\nSubject: Laporan #5319999 didisposisikan ke instansi Anda\n\
             Message-ID: <n1@lapor.go.id>\nAuto-Submitted: auto-generated\n\nSilakan tindak lanjuti laporan #5319999.\n",
            crate::mailservers::OFFICE
        ))],
    )
    .await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM complaints WHERE channel = 'lapor' AND conversation = '5319999'",
        1,
        30,
    )
    .await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE body LIKE 'Status LAPOR!: Terverifikasi%'",
        1,
        20,
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE channel = 'email'"
        )
        .await,
        1
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(smtp.messages().is_empty(), "no receipt to LAPOR!'s robot");
    app.stop().await;
    db.drop_db().await;
}

/// Files of others' follow-ups and of disposition log entries come into the register: LAPOR!'s credentials go only to the
/// API's own origin; a missing or oversize file stays a link and its message is flagged; a file
/// failing for a while holds its follow-up back (not the entries before it) until it comes,
/// and then it is registered once; files of follow-ups already registered are not fetched again.
async fn lapor_followup_files(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let fake = FakeLapor::start().await;
    fake.add_report("7001", "Dalam Proses");
    {
        let mut s = fake.state.lock().unwrap();
        s.files.insert("b.pdf".into(), b"%PDF-1.4 surat".to_vec());
        s.files.insert("besar.jpg".into(), vec![0u8; 5000]);
        s.files.insert("c.png".into(), b"\x89PNG foto".to_vec());
        s.file_failures.insert("c.png".into(), 2);
        s.files
            .insert("d.pdf".into(), b"%PDF-1.4 disposisi".to_vec());
        s.reports.get_mut("7001").unwrap().logs.push(json!({
            "id": 55, "date": "16-11-2026 09:30:00", "content": "Disposisi ke Bidang Jalan",
            "institution_from_name": "Admin LAPOR!", "institution_to_name": "Dinas Contoh",
            "attachments": [{"path": "files/d.pdf", "file_name": "d.pdf"}],
        }));
    }
    // The same server under another origin (`localhost` instead of `127.0.0.1`).
    let port = fake.url.rsplit(':').next().unwrap();
    let elsewhere = format!("http://localhost:{port}/public/b.pdf");
    fake.followup_with(
        "7001",
        Some(1),
        "Pelapor",
        "Foto dan surat terlampir.",
        vec![
            json!({"path": "files/a.jpg", "file_name": "a.jpg", "extension": "jpg"}),
            json!({"path": elsewhere, "file_name": "b.pdf", "extension": "pdf"}),
            json!({"path": "files/hilang.jpg", "file_name": "hilang.jpg"}),
            json!({"path": "files/besar.jpg", "file_name": "besar.jpg"}),
        ],
    );
    fake.followup_with(
        "7001",
        Some(2),
        "Pelapor",
        "Satu foto lagi.",
        vec![json!({"path": "/files/c.png", "file_name": "c.png"})],
    );
    let env = lapor_env(&fake, &[("MAX_FILE_BYTES", "1000")]);
    let app = start_with_env(&db.url, &env).await;
    let fo = app.officer("fo", Role::FrontOffice).await;
    assert_eq!(link(&app, &fo, "7001").await.status(), 201);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE body LIKE 'Satu foto lagi.%'",
        1,
        30,
    )
    .await;
    let files = |like: &'static str| {
        let pool = app.core.db.pool.clone();
        async move {
            let sql = format!(
                "SELECT a.filename || ' ' || a.content_type || ' ' || a.size FROM attachments a \
                 JOIN messages m ON m.id = a.message_id WHERE m.body LIKE '{like}' ORDER BY a.id"
            );
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        files("Foto dan surat%").await,
        ["a.jpg image/jpeg 9", "b.pdf application/pdf 14"],
        "the photo from the API (with credentials) and the letter from elsewhere"
    );
    assert_eq!(files("Satu foto lagi.%").await, ["c.png image/png 9"]);
    assert_eq!(
        files("%Disposisi ke Bidang Jalan%").await,
        ["d.pdf application/pdf 18"],
        "files of disposition log entries too"
    );
    let flag: String =
        sqlx::query_scalar("SELECT parse_error FROM messages WHERE body LIKE 'Foto dan surat%'")
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap();
    assert!(
        flag.contains("`hilang.jpg` not downloaded") && flag.contains("`besar.jpg` not downloaded"),
        "{flag}"
    );
    let body: String =
        sqlx::query_scalar("SELECT body FROM messages WHERE body LIKE 'Foto dan surat%'")
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap();
    assert!(
        body.contains("[lampiran: hilang.jpg — files/hilang.jpg]"),
        "links kept"
    );
    // More polls: nothing twice, no file fetched again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE 'Foto dan surat%' OR body LIKE 'Satu foto lagi.%'"
        )
        .await,
        2
    );
    let (with_credentials, requests) = {
        let s = fake.state.lock().unwrap();
        (s.public_with_credentials, s.file_requests.clone())
    };
    assert_eq!(with_credentials, 0, "no credentials to another origin");
    let tries = |name: &str| -> Vec<u16> {
        requests
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .collect()
    };
    assert_eq!(tries("c.png"), [503, 503, 200]);
    assert_eq!(tries("a.jpg"), [200], "fetched once");
    assert_eq!(tries("b.pdf"), [200]);
    assert_eq!(tries("d.pdf"), [200]);
    app.stop().await;
    db.drop_db().await;
}
both!(lapor_followup_files);

async fn link_form(b: &mut Browser, csrf: &str, id: &str) -> crate::ui::Page {
    b.go(
        "POST",
        "/kotak/loket/lapor",
        &[("csrf", csrf), ("tracking_id", id)],
    )
    .await
}

/// The counter page links a report a citizen brings by its LAPOR! tracking id: CSRF and role
/// checked, a bad id refused with the reason, the same report linked twice is one complaint,
/// and the linked complaint fills from LAPOR!.
async fn lapor_link_from_the_counter_page(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let fake = FakeLapor::start().await;
    fake.add_report("5312345", "Belum Terverifikasi");
    let app = start_with_env(&db.url, &lapor_env(&fake, &[])).await;
    for (u, role) in [("siti", Role::FrontOffice), ("teknis", Role::TechnicalTeam)] {
        app.web_officer(u, role).await;
    }
    let mut tech = Browser::new(&app);
    tech.login("teknis", "rahasia-panjang-1").await;
    let p = tech.go("GET", "/kotak", &[]).await;
    let r = tech
        .go(
            "POST",
            "/kotak/loket/lapor",
            &[("csrf", &Browser::csrf(&p)), ("tracking_id", "5312345")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not a counter role");

    let mut b = Browser::new(&app);
    b.login("siti", "rahasia-panjang-1").await;
    let p = b.go("GET", "/kotak/loket", &[]).await;
    assert!(
        p.body.contains("action=\"/kotak/loket/lapor\""),
        "{}",
        p.body
    );
    let csrf = Browser::csrf(&p);
    let wrong = "x".repeat(64);
    assert_eq!(
        link_form(&mut b, &wrong, "5312345").await.status,
        StatusCode::FORBIDDEN
    );
    let bad = link_form(&mut b, &csrf, "53 12; x").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("tracking_id: use the LAPOR! tracking id"),
        "{}",
        bad.body
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 0);

    let r = link_form(&mut b, &csrf, "5312345").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = r.location.unwrap();
    assert!(loc.starts_with("/kotak/ADU-"), "{loc}");
    let again = link_form(&mut b, &csrf, " 5312345 ").await;
    assert_eq!(
        again.location.as_deref(),
        Some(loc.as_str()),
        "one complaint per report"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE channel = 'lapor'"
        )
        .await,
        1
    );
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE body LIKE 'Status LAPOR!: Belum Terverifikasi%'",
        1,
        20,
    )
    .await;
    let page = b.go("GET", &loc, &[]).await;
    assert!(page.body.contains("5312345") && page.body.contains("siti"));
    app.stop().await;
    db.drop_db().await;
}
both!(lapor_link_from_the_counter_page);

/// With `list_path` configured, the institution's reports are linked without an officer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapor_list_endpoint_links_reports() {
    let db = fresh(Backend::Sqlite).await.unwrap();
    let fake = FakeLapor::start().await;
    fake.add_report("4001", "Belum Terverifikasi");
    fake.add_report("4002", "Dalam Proses");
    let env = lapor_env(&fake, &[("LIST_PATH", "complaints/institution?page=1")]);
    let app = start_with_env(&db.url, &env).await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM complaints WHERE channel = 'lapor'",
        2,
        20,
    )
    .await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE body LIKE 'Status LAPOR!%'",
        2,
        20,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM complaints").await,
        2,
        "relisting links nothing twice"
    );
    app.stop().await;
    db.drop_db().await;
}

/// Trust finding 11: LAPOR!'s secret and token go only to `base_url`'s origin. An absolute
/// `next_page_url` on another host is asked of the configured origin; a redirect of a file or
/// of the report detail is not followed; a file on another origin is fetched without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapor_credentials_only_to_its_origin() {
    let db = fresh(Backend::Sqlite).await.unwrap();
    let trap = crate::fakelapor::Trap::start().await;
    let fake = FakeLapor::start().await;
    fake.add_report("5312345", "Proses");
    for i in 1..=3 {
        fake.followup_with(
            "5312345",
            Some(i),
            "Pelapor",
            &format!("tambahan {i}"),
            vec![],
        );
    }
    fake.state.lock().unwrap().next_page_origin = Some(trap.url.clone());
    let app = start_with_env(&db.url, &lapor_env(&fake, &[])).await;
    let fo = app.officer("fo", Role::FrontOffice).await;
    assert_eq!(link(&app, &fo, "5312345").await.status(), 201);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE body LIKE 'tambahan %'",
        3,
        20,
    )
    .await;
    // A file whose download redirects elsewhere, and a file on another origin.
    fake.state.lock().unwrap().redirect_files_to = Some(trap.url.clone());
    let other = format!("{}/public/foto.jpg", trap.url);
    fake.followup_with(
        "5312345",
        Some(4),
        "Pelapor",
        "dua foto",
        vec![
            json!({"path": "files/a.jpg", "file_name": "a.jpg"}),
            json!({"path": other, "file_name": "foto.jpg"}),
        ],
    );
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE body LIKE 'dua foto%'",
        1,
        20,
    )
    .await;
    let flag: String = sqlx::Row::try_get(
        &sqlx::query("SELECT parse_error FROM messages WHERE body LIKE 'dua foto%'")
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap(),
        0,
    )
    .unwrap();
    assert!(
        flag.contains("a.jpg"),
        "the redirected file is kept as a link: {flag}"
    );
    // The report detail redirects elsewhere: not followed, the report is reported failing.
    fake.state.lock().unwrap().redirect_report_to = Some(trap.url.clone());
    assert!(
        eventually(20, || async {
            let r: serde_json::Value = app
                .http
                .get(app.url("/readyz"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["channels"]["lapor"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("5312345") && d.contains("302"))
        })
        .await
    );
    assert!(
        trap.with_credentials().is_empty(),
        "credentials reached another host: {:?}",
        trap.with_credentials()
    );
    let seen: Vec<String> = trap
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    assert!(
        seen.iter().any(|p| p == "/public/foto.jpg"),
        "the other origin's file was fetched (without credentials): {seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|p| p.contains("followups") || p.contains("complaint")),
        "API calls went to another host: {seen:?}"
    );
    app.stop().await;
    db.drop_db().await;
}

/// Trust finding 16: a linked report LAPOR! no longer knows (404) is flagged on its complaint
/// and skipped — reports linked after it are still read; a tracking id LAPOR! does not know
/// is refused when an officer links it.
async fn lapor_one_bad_report_does_not_stop_the_others(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let fake = FakeLapor::start().await;
    fake.add_report("5300001", "Proses");
    fake.add_report("5300002", "Proses");
    fake.followup_with(
        "5300002",
        Some(1),
        "Pelapor",
        "laporan kedua dibaca",
        vec![],
    );
    let app = start_with_env(&db.url, &lapor_env(&fake, &[])).await;
    let fo = app.officer("fo", Role::FrontOffice).await;
    let r = link(&app, &fo, "5399999").await;
    assert_eq!(r.status(), 422, "an unknown tracking id is refused");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("does not know report 5399999"));
    assert_eq!(link(&app, &fo, "5300001").await.status(), 201);
    fake.state.lock().unwrap().missing.push("5300001".into());
    assert_eq!(link(&app, &fo, "5300002").await.status(), 201);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM messages WHERE body = 'laporan kedua dibaca'",
        1,
        20,
    )
    .await;
    wait_count(
        &app,
        "SELECT COUNT(*) FROM complaints WHERE conversation = '5300001' AND flagged LIKE '%LAPOR! report 5300001%'",
        1,
        20,
    )
    .await;
    // Flagged once, not on every poll.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE external_id LIKE '5300001:error:%'"
        )
        .await,
        1
    );
    app.stop().await;
    db.drop_db().await;
}
both!(lapor_one_bad_report_does_not_stop_the_others);

/// Trust finding 16: an entry the register refuses is registered raw and flagged, not retried
/// on every poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapor_refused_entry_is_registered_raw() {
    use aduan_channel::{Channel, InboundSink};
    let fake = FakeLapor::start().await;
    fake.add_report("5300003", "Proses");
    let cfg: aduan_lapor::Config = toml::from_str(&format!(
        "base_url = \"{}\"\nsecret = \"{SECRET}\"\ntoken = \"{TOKEN}\"\nuser_id = 1\n\
         institution_id = \"2\"\npoll_secs = 1",
        fake.url
    ))
    .unwrap();
    let ch = std::sync::Arc::new(aduan_lapor::LaporChannel::new(cfg).unwrap());
    let (ctx, sink) = aduan_channel::ChannelContext::new_test();
    sink.submit(aduan_lapor::link_message("5300003", "test"))
        .await
        .unwrap();
    sink.reject_next(1);
    let run = tokio::spawn({
        let (ch, ctx) = (ch.clone(), ctx.clone());
        async move { ch.receive(ctx).await }
    });
    assert!(
        eventually(10, || async {
            sink.messages()
                .iter()
                .any(|m| m.external_id == "5300003:content" && m.parse_error.is_some())
        })
        .await,
        "the refused entry was registered raw and flagged"
    );
    ctx.shutdown.cancel();
    let _ = run.await;
}

/// Trust finding 19: a LAPOR! notification mail and the link it makes are one transaction —
/// when the link cannot be registered, neither is the mail (so the mailbox offers it again),
/// and once the register takes it, both are there.
async fn lapor_notification_link_is_atomic_with_the_mail(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let fake = FakeLapor::start().await;
    fake.add_report("5312399", "Proses");
    let app = start_with_env(&db.url, &lapor_env(&fake, &[])).await;
    let (add, drop) = match backend {
        Backend::Sqlite => (
            vec!["CREATE TRIGGER no_lapor BEFORE INSERT ON complaints WHEN NEW.channel = 'lapor' \
                  BEGIN SELECT RAISE(ABORT, 'link refused'); END"],
            vec!["DROP TRIGGER no_lapor"],
        ),
        Backend::Postgres => (
            vec![
                "CREATE FUNCTION no_lapor() RETURNS trigger AS $$ BEGIN \
                 IF NEW.channel = 'lapor' THEN RAISE EXCEPTION 'link refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER no_lapor BEFORE INSERT ON complaints FOR EACH ROW EXECUTE FUNCTION no_lapor()",
            ],
            vec!["DROP TRIGGER no_lapor ON complaints", "DROP FUNCTION no_lapor()"],
        ),
    };
    for q in &add {
        sqlx::query(sqlx::AssertSqlSafe(*q))
            .execute(&app.core.db.write)
            .await
            .unwrap();
    }
    let mut mail = aduan_channel::InboundMessage::new(
        aduan_channel::ChannelKind::Email,
        "<notif-1@lapor.go.id>",
        aduan_channel::Address::Email("noreply@lapor.go.id".into()),
        "Laporan baru dengan ID Laporan 5312399 telah didisposisikan ke instansi Anda.",
    );
    mail.subject = Some("Disposisi laporan #5312399".into());
    mail.auto_generated = true;
    assert!(aduan::intake::submit(&app.core, mail.clone())
        .await
        .is_err());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM messages").await, 0);
    for q in &drop {
        sqlx::query(sqlx::AssertSqlSafe(*q))
            .execute(&app.core.db.write)
            .await
            .unwrap();
    }
    let c = aduan::intake::submit(&app.core, mail).await.unwrap();
    assert_eq!(c.disposition, aduan_channel::Disposition::Created);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE channel = 'lapor' AND conversation = '5312399'"
        )
        .await,
        1
    );
    app.stop().await;
    db.drop_db().await;
}
both!(lapor_notification_link_is_atomic_with_the_mail);

/// Issue 22, items 2 and 3: the answer marker is a whole token — follow-ups marked rows 10 to
/// 200 (`…/170` among them, in the format posted before the brackets) do not pass for the new
/// reply's row, which is posted; a citizen's follow-up quoting "Ref. aduan …" in their own
/// words is registered, with the institution's name configured and without it.
async fn lapor_markers_are_whole_tokens(backend: Backend) {
    for institution in ["Dinas Contoh", ""] {
        let Some(db) = fresh(backend).await else {
            return;
        };
        let fake = FakeLapor::start().await;
        fake.add_report("888", "Dalam Proses");
        let app = start_with_env(
            &db.url,
            &lapor_env(&fake, &[("INSTITUTION_NAME", institution)]),
        )
        .await;
        let fo = app.officer("fo", Role::FrontOffice).await;
        let no = link(&app, &fo, "888")
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()["register_no"]
            .as_str()
            .unwrap()
            .to_string();
        // Our earlier posts: rows 10, 20, … 200 (the reply's row is one of 1–20).
        for row in (10..=200).step_by(10) {
            fake.followup(
                "888",
                Some(9000 + row),
                "Dinas Contoh",
                &format!("Jawaban lama\n\nRef. aduan {no}/{row}"),
            );
        }
        // A citizen quoting our marker in their own words.
        fake.followup(
            "888",
            Some(9999),
            "Budi Warga",
            &format!("Saya membaca \"Ref. aduan {no}/17\" tetapi jalan masih rusak."),
        );
        wait_count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE '%jalan masih rusak%'",
            1,
            30,
        )
        .await;
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM messages WHERE body LIKE 'Jawaban lama%'"
            )
            .await,
            0,
            "our own posts are not registered"
        );
        app.reply(&fo, &no, "Perbaikan dijadwalkan pekan depan.")
            .await;
        wait_count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
            1,
            30,
        )
        .await;
        let posted = fake.posted();
        assert!(
            posted.iter().any(|p| p.1.contains("Perbaikan dijadwalkan")),
            "the reply is posted although `…/{{row}}0` markers exist ({institution:?}): {posted:?}"
        );
        app.stop().await;
        db.drop_db().await;
    }
}
both!(lapor_markers_are_whole_tokens);

//! The officers' workspace (issue 11): the complainant panel, internal notes, taking and
//! assigning, units with members and "my queue", bulk actions, unread markers and the new
//! count, working-day deadlines and the due-date order, canned replies, the approver's edit,
//! confidential complaints, attachment previews and the tracking page's steps — on both
//! databases, through the pages an officer uses.

use aduan::db::Backend;
use aduan::workflow::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::{count, spawn_app, App, Office, PASSWORD};
use crate::ui::Browser;

/// An officer with a web login.
async fn officer(app: &App, name: &str, role: Role) -> Browser {
    app.web_officer(name, role).await;
    let mut b = Browser::new(app);
    b.login(name, PASSWORD).await;
    b
}

/// A web login for an officer who exists already (the [`Office`]'s).
async fn login_as(app: &App, name: &str) -> Browser {
    aduan::web::session::set_password(&app.core.db, name, PASSWORD)
        .await
        .unwrap();
    let mut b = Browser::new(app);
    b.login(name, PASSWORD).await;
    b
}

/// The user name of a complaint's assignee ("" when none).
async fn assignee(app: &App, no: &str) -> String {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE((SELECT o.username FROM complaints c JOIN officers o \
         ON o.id = c.assignee_id WHERE c.register_no = '{no}'), '')"
    )))
    .fetch_one(&app.core.db.pool)
    .await
    .unwrap()
}

/// The CSRF token of an officer's session (read from the inbox).
async fn csrf(b: &mut Browser) -> String {
    let p = b.go("GET", "/kotak", &[]).await;
    Browser::csrf(&p)
}

/// An SMS complaint from `phone` through the register's intake (the channel proves the number).
async fn sms(app: &App, ext: &str, phone: &str, text: &str) -> String {
    let c = aduan::intake::submit(&app.core, crate::intake::sms(ext, phone, text))
        .await
        .unwrap();
    c.register_no
}

async fn panel_notes_and_what_never_leaves(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let first = sms(
        &app,
        "s1",
        "+6281200000001",
        "Lampu jalan padam di Jl. Mawar",
    )
    .await;
    let second = sms(
        &app,
        "s2",
        "+6281200000001",
        "Selokan tersumbat di Jl. Melati",
    )
    .await;
    let (web, code) = app
        .submit(json!({"name": "Ani", "email": "ani@example.id", "body": "Jalan berlubang"}))
        .await;
    let mut b = officer(&app, "siti", Role::FrontOffice).await;
    // A second SMS from the same (proven) number: the panel shows the number and the first.
    let p = b.go("GET", &format!("/kotak/{second}"), &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    let aside = &p.body[p.body.find("<aside").expect("panel")..];
    assert!(aside.contains("+6281200000001"), "identity in the panel");
    assert!(
        aside.contains(&format!("/kotak/{first}")),
        "earlier complaint linked"
    );
    assert!(aside.contains("Pengaduan sebelumnya (1)"));
    // A web complaint: its typed email is a contact of this complaint, not an identity.
    let p = b.go("GET", &format!("/kotak/{web}"), &[]).await;
    let aside = &p.body[p.body.find("<aside").expect("panel")..];
    assert!(aside.contains("tidak ada (formulir atau loket)"));
    assert!(aside.contains("ani@example.id"));
    assert!(aside.contains("Pengaduan sebelumnya (0)"));
    // An internal note: on the officer's page, marked as such ...
    let token = Browser::csrf(&p);
    let secret = "Pengadu ini kerabat kepala seksi, hati-hati";
    let r = b
        .go(
            "POST",
            &format!("/kotak/{web}/catatan"),
            &[("csrf", &token), ("body", secret)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = b.go("GET", &format!("/kotak/{web}"), &[]).await;
    assert!(p.body.contains(secret));
    assert!(p.body.contains("Catatan internal"));
    // ... and nowhere the complainant can see: the reply and every outbound message, the
    // tracking page.
    app.reply(
        &app.officer("api", Role::FrontOffice).await,
        &web,
        "Terima kasih, segera kami tindak lanjuti.",
    )
    .await;
    let leaked = count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE body LIKE '%kerabat kepala seksi%'",
    )
    .await
        + count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE '%kerabat kepala seksi%'",
        )
        .await;
    assert_eq!(leaked, 0);
    let track = app
        .http
        .get(app.url(&format!("/lacak/{web}?code={code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(track.contains("Langkah penanganan"));
    assert!(!track.contains("kerabat"), "a note on the tracking page");
    // An empty note is refused in words, and the note count stays.
    let r = b
        .go(
            "POST",
            &format!("/kotak/{web}/catatan"),
            &[("csrf", &token), ("body", "   ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Isian belum lengkap"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notes").await, 1);
    app.stop().await;
}
both!(panel_notes_and_what_never_leaves);

async fn take_units_and_my_queue(backend: Backend) {
    let Some(o) = Office::start(backend, &[]).await else {
        return;
    };
    let app = &o.app;
    let (a, _) = app.submit(json!({"body": "Air PDAM keruh"})).await;
    let (b_no, _) = app.submit(json!({"body": "Sampah menumpuk"})).await;
    let mut ani = officer(app, "ani", Role::FrontOffice).await;
    let mut budi = officer(app, "budi", Role::FrontOffice).await;
    // Both complaints wait for the front office: in both officers' queues.
    for b in [&mut ani, &mut budi] {
        let p = b.go("GET", "/kotak?antrian=saya", &[]).await;
        assert!(p.body.contains(&a) && p.body.contains(&b_no));
    }
    // Ani takes one: it is hers, no longer Budi's.
    let t = csrf(&mut ani).await;
    let r = ani
        .go("POST", &format!("/kotak/{a}/ambil"), &[("csrf", &t)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(assignee(app, &a).await, "ani");
    let p = budi.go("GET", "/kotak?antrian=saya", &[]).await;
    assert!(!p.body.contains(&format!("/kotak/{a}\"")), "taken by Ani");
    assert!(p.body.contains(&b_no));
    let p = ani.go("GET", "/kotak?antrian=saya", &[]).await;
    assert!(p.body.contains(&a));
    // A unit with members: disposed to it, the complaint is in its member's queue and not in
    // another technical officer's.
    aduan::register::units::add(&app.core.db, "Tim Air", 0)
        .await
        .unwrap();
    assert!(
        aduan::register::workspace::add_member(&app.core.db, "Tim Air", "technical_team")
            .await
            .unwrap()
    );
    assert!(
        !aduan::register::workspace::add_member(&app.core.db, "Tim Tidak Ada", "ani")
            .await
            .unwrap()
    );
    o.act(Role::SectionHead, &b_no, json!({"action": "verify"}))
        .await;
    let (s, _) = o
        .act(
            Role::DivisionHead,
            &b_no,
            json!({"action": "dispose", "note": "segera", "unit": "Tim Air"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut member = login_as(app, "technical_team").await;
    let mut other = officer(app, "tono", Role::TechnicalTeam).await;
    aduan::register::units::add(&app.core.db, "Tim Jalan", 0)
        .await
        .unwrap();
    aduan::register::workspace::add_member(&app.core.db, "Tim Jalan", "tono")
        .await
        .unwrap();
    let p = member.go("GET", "/kotak?antrian=saya", &[]).await;
    assert!(p.body.contains(&b_no), "in the unit member's queue");
    let p = other.go("GET", "/kotak?antrian=saya", &[]).await;
    assert!(!p.body.contains(&b_no), "not in another unit's queue");
    let units = aduan::register::workspace::units_with_members(&app.core.db)
        .await
        .unwrap();
    assert_eq!(
        units,
        vec![
            ("Tim Air".to_string(), vec!["technical_team".to_string()]),
            ("Tim Jalan".to_string(), vec!["tono".to_string()]),
        ]
    );
    // Assigning to someone else is for the front office and the heads, not the technical team.
    let t = csrf(&mut other).await;
    let r = other
        .go(
            "POST",
            &format!("/kotak/{b_no}/tugaskan"),
            &[("csrf", &t), ("to", "ani")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("bukan wewenang tim teknis"));
    // "Next in my queue" leads to another complaint of the queue.
    let r = ani
        .go("GET", &format!("/kotak/berikutnya?dari={a}"), &[])
        .await;
    // Ani's queue holds only the one she came from: back to the queue.
    assert_eq!(r.location.as_deref(), Some("/kotak?antrian=saya"));
    let (c, _) = app.submit(json!({"body": "Trotoar rusak"})).await;
    let r = ani
        .go("GET", &format!("/kotak/berikutnya?dari={a}"), &[])
        .await;
    assert_eq!(r.location, Some(format!("/kotak/{c}")));
    o.app.stop().await;
}
both!(take_units_and_my_queue);

async fn bulk_dismiss_and_assign(backend: Backend) {
    let Some(o) = Office::start(backend, &[]).await else {
        return;
    };
    let app = &o.app;
    let (s1, _) = app
        .submit(json!({"body": "MENANGKAN HADIAH 100 JUTA klik"}))
        .await;
    let (s2, _) = app
        .submit(json!({"body": "PINJAMAN CEPAT tanpa agunan"}))
        .await;
    let (real, _) = app
        .submit(json!({"body": "Jalan di depan sekolah rusak"}))
        .await;
    let mut b = officer(app, "siti", Role::FrontOffice).await;
    let t = csrf(&mut b).await;
    let p = b
        .go(
            "POST",
            "/kotak/massal",
            &[("csrf", &t), ("do", "spam"), ("no", &s1), ("no", &s2)],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("2 pengaduan berhasil"));
    for no in [&s1, &s2] {
        assert_eq!(o.get(no).await["status"], "dismissed");
    }
    assert_eq!(o.get(&real).await["status"], "registered");
    // Again on a closed one and an open one: the closed is refused with its reason, in words.
    let p = b
        .go(
            "POST",
            "/kotak/massal",
            &[
                ("csrf", &t),
                ("do", "tugaskan"),
                ("to", "siti"),
                ("no", &s1),
                ("no", &real),
            ],
        )
        .await;
    assert!(p.body.contains("1 pengaduan berhasil"), "{}", p.body);
    assert!(p.body.contains("Tidak dijalankan"));
    assert!(
        p.body.contains("diabaikan"),
        "the refused one's status in words"
    );
    assert_eq!(assignee(app, &real).await, "siti");
    // A role that may not dismiss gets every row refused.
    let mut tech = officer(app, "tono", Role::TechnicalTeam).await;
    let t2 = csrf(&mut tech).await;
    let (s3, _) = app.submit(json!({"body": "promo pulsa"})).await;
    let p = tech
        .go(
            "POST",
            "/kotak/massal",
            &[("csrf", &t2), ("do", "spam"), ("no", &s3)],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert_eq!(o.get(&s3).await["status"], "registered");
    // An unknown bulk action is refused as a whole, in words.
    let p = b
        .go(
            "POST",
            "/kotak/massal",
            &[("csrf", &t), ("do", "close"), ("no", &real)],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("Tindakan massal tidak dikenal"));
    assert_eq!(o.get(&real).await["status"], "registered");
    // A forged form (no token) changes nothing.
    let p = b
        .go("POST", "/kotak/massal", &[("do", "spam"), ("no", &real)])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(o.get(&real).await["status"], "registered");
    o.app.stop().await;
}
both!(bulk_dismiss_and_assign);

async fn unread_new_count_and_deadlines(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let (a, _) = app.submit(json!({"body": "Pengaduan pertama"})).await;
    let (b_no, _) = app.submit(json!({"body": "Pengaduan kedua"})).await;
    let mut b = officer(&app, "siti", Role::FrontOffice).await;
    let p = b.go("GET", "/kotak", &[]).await;
    assert!(
        p.body.contains("<title>(2) Kotak masuk"),
        "new count in the title"
    );
    assert!(p.body.contains("2 baru"), "new count in the navigation");
    assert_eq!(p.body.matches("class=\"unread\"").count(), 2);
    assert!(p.body.contains("2 pengaduan"), "result count");
    assert!(p.body.contains("hari kerja"), "deadline in working days");
    // Opened: no longer unread, no longer new.
    b.go("GET", &format!("/kotak/{a}"), &[]).await;
    let p = b.go("GET", "/kotak", &[]).await;
    assert!(p.body.contains("<title>(1) Kotak masuk"));
    assert_eq!(p.body.matches("class=\"unread\"").count(), 1);
    // A new message on the opened complaint makes it unread again (for this officer).
    let changed = aduan::db::now_ms() + 1000;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE complaints SET updated_at = {changed} WHERE register_no = '{a}'"
    )))
    .execute(&app.core.db.write)
    .await
    .unwrap();
    let p = b.go("GET", "/kotak", &[]).await;
    assert_eq!(p.body.matches("class=\"unread\"").count(), 2);
    // Nearest due first: make the second due earlier than the first.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE complaints SET due_at = due_at - 86400000 WHERE register_no = '{b_no}'"
    )))
    .execute(&app.core.db.write)
    .await
    .unwrap();
    let p = b.go("GET", "/kotak?urut=batas", &[]).await;
    let (ia, ib) = (p.body.find(&a).unwrap(), p.body.find(&b_no).unwrap());
    assert!(ib < ia, "the nearest due date first");
    let p = b.go("GET", "/kotak", &[]).await;
    let (ia, ib) = (p.body.find(&a).unwrap(), p.body.find(&b_no).unwrap());
    assert!(ib < ia, "newest first ({b_no} is newer)");
    // Overdue: "terlambat … hari kerja".
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE complaints SET due_at = due_at - 2592000000 WHERE register_no = '{a}'"
    )))
    .execute(&app.core.db.write)
    .await
    .unwrap();
    let p = b.go("GET", "/kotak", &[]).await;
    assert!(p.body.contains("terlambat "), "{}", p.body);
    app.stop().await;
}
both!(unread_new_count_and_deadlines);

async fn canned_reply_and_the_approvers_edit(backend: Backend) {
    let Some(o) = Office::start(backend, &[("ADUAN_OFFICE__PROCEDURE", "binjai")]).await else {
        return;
    };
    let app = &o.app;
    let (no, _) = app
        .submit(json!({"name": "Ani", "email": "ani@example.id", "body": "Izin usaha lama"}))
        .await;
    // The admin keeps a canned reply; an officer picks it: the placeholders are filled.
    let mut admin = officer(app, "admin1", Role::Admin).await;
    let t = csrf(&mut admin).await;
    let r = admin
        .go(
            "POST",
            "/kotak/template-balasan",
            &[
                ("csrf", &t),
                ("title", "Sedang diproses"),
                (
                    "body",
                    "Yth. {nama}, pengaduan {nomor} sedang kami proses, paling lambat {batas}.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let list = aduan::register::workspace::canned_replies(&app.core.db)
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let mut fo = officer(app, "siti", Role::FrontOffice).await;
    let p = fo
        .go("GET", &format!("/kotak/{no}?balasan={}", list[0].id), &[])
        .await;
    let due = o.get(&no).await["due_date"].as_str().unwrap().to_string();
    let want = format!("Yth. Ani, pengaduan {no} sedang kami proses, paling lambat {due}.");
    assert!(p.body.contains(&want), "filled canned reply");
    // A non-admin cannot change them.
    let t2 = Browser::csrf(&p);
    let r = fo
        .go(
            "POST",
            "/kotak/template-balasan",
            &[("csrf", &t2), ("title", "x"), ("body", "y")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The head of office corrects the draft while signing: the division head's initial
    // carries over, the edited text is what the complainant receives.
    use Role::*;
    for (role, body) in [
        (SectionHead, json!({"action": "verify"})),
        (
            DivisionHead,
            json!({"action": "dispose", "note": "selesaikan", "assignee": "section_head"}),
        ),
        (
            SectionHead,
            json!({"action": "draft_answer", "note": "Izin sudah terbit."}),
        ),
        (DivisionHead, json!({"action": "approve"})),
    ] {
        let (s, v) = o.act(role, &no, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let mut head = login_as(app, "head_of_office").await;
    let p = head.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(p.body.contains("name=\"draft\""), "the approver's editor");
    assert!(
        p.body.contains("Diparaf oleh division_head"),
        "the approval so far"
    );
    let t3 = Browser::csrf(&p);
    let edited =
        "Izin usaha Saudari sudah terbit pada 20 November 2026 dan dapat diambil di loket.";
    let r = head
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[("csrf", &t3), ("action", "approve"), ("draft", edited)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let c = o.get(&no).await;
    assert_eq!(c["status"], "answer_approved");
    assert_eq!(c["draft_answer"], edited);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM audit WHERE action = 'draft_edited'"
        )
        .await,
        1
    );
    let (s, v) = o
        .act(FrontOffice, &no, json!({"action": "send_answer"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        count(
            app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'answer' AND body LIKE '%dapat diambil di loket%'"
        )
        .await
            >= 1
    );
    // `draft` with any other action is refused.
    let (s, _) = o
        .act(FrontOffice, &no, json!({"action": "close", "draft": "x"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    o.app.stop().await;
}
both!(canned_reply_and_the_approvers_edit);

async fn confidential_identity_previews_and_steps(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9cc\xf8\xcf\xc0\0\0\x03\x01\x01\0\xc9\xfe\x92\xef\0\0\0\0IEND\xaeB`\x82";
    let form = reqwest::multipart::Form::new()
        .text("name", "Wati Rahasia")
        .text("phone", "081234500077")
        .text("body", "Pungutan liar di kantor kelurahan")
        .text("confidential", "1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(png.to_vec())
                .file_name("bukti.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (no, code) = app.submit_multipart(form).await;
    // The technical team does not see who complained; the front office does.
    let mut tech = officer(&app, "tono", Role::TechnicalTeam).await;
    let p = tech.go("GET", "/kotak", &[]).await;
    assert!(!p.body.contains("Wati Rahasia") && p.body.contains("rahasia"));
    let p = tech.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(!p.body.contains("Wati Rahasia"));
    assert!(!p.body.contains("+6281234500077"));
    assert!(p.body.contains("Identitas dirahasiakan"));
    // Nor through the API.
    let token = app.officer("tono_api", Role::TechnicalTeam).await;
    let v: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/v1/complaints/{no}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = v.to_string();
    assert!(
        !text.contains("Wati Rahasia") && !text.contains("6281234500077"),
        "{text}"
    );
    assert_eq!(v["confidential"], true);
    let mut fo = officer(&app, "siti", Role::FrontOffice).await;
    let p = fo.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(p.body.contains("Wati Rahasia") && p.body.contains("+6281234500077"));
    // The photo shows as a thumbnail served inline under a sandbox; the size is for people.
    assert!(p.body.contains("class=\"thumb\""), "thumbnail");
    assert!(p.body.contains(&format!("{} B", png.len())) || p.body.contains(" KB"));
    let id = count(&app, "SELECT MIN(id) FROM attachments").await;
    let r = fo
        .go("GET", &format!("/kotak/lampiran/{id}?tampil=1"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.as_bytes().starts_with(b"\x89PNG") || r.body.starts_with('\u{fffd}'));
    let r2 = Browser::new(&app)
        .go("GET", &format!("/kotak/lampiran/{id}?tampil=1"), &[])
        .await;
    assert_eq!(
        r2.status,
        StatusCode::SEE_OTHER,
        "a stranger gets no attachment"
    );
    assert_eq!(r2.location.as_deref(), Some("/masuk"));
    // The tracking page: the steps done and to come, in words.
    let track = app
        .http
        .get(app.url(&format!("/lacak/{no}?code={code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(track.contains("Diterima dan didaftarkan"));
    assert!(
        track.contains("(selesai)")
            && track.contains("(sedang berjalan)")
            && track.contains("(berikutnya)")
    );
    app.stop().await;
}
both!(confidential_identity_previews_and_steps);

/// Officers' notices through the real channels: email to the SMTP receiver, Telegram to the
/// fake Bot API. Each notice once; never for a complaint outside the officer's queue; nothing
/// for an officer who did not opt in; the heads' digest once a day from 07:00; never in the
/// complaint's thread.
async fn officer_notices_by_email_and_telegram(backend: Backend) {
    use aduan::workflow::notices::sweep;
    use aduan::workflow::{available, Status};
    let Some((dv, smtp)) = crate::email::servers().await else {
        return;
    };
    let Some(db) = crate::helpers::fresh(backend).await else {
        return;
    };
    let bot = crate::fakebot::FakeBot::start().await;
    let mut env = crate::email::email_env(&dv, &smtp, "INBOX");
    env.extend([
        (
            "ADUAN_CHANNELS__TELEGRAM__TOKEN".to_string(),
            crate::fakebot::TOKEN.to_string(),
        ),
        (
            "ADUAN_CHANNELS__TELEGRAM__API_URL".to_string(),
            bot.url.clone(),
        ),
        (
            "ADUAN_CHANNELS__TELEGRAM__POLL_TIMEOUT_SECS".to_string(),
            "2".to_string(),
        ),
    ]);
    let app = crate::helpers::start_with_env(&db.url, &env).await;
    // 06:00 in the office (UTC+7) tomorrow: before the digest hour.
    let tz = app.core.settings.offset;
    let day = chrono::Utc::now().with_timezone(&tz).date_naive() + chrono::Days::new(1);
    let at = |h: u32| {
        day.and_hms_opt(h, 0, 0)
            .unwrap()
            .and_local_timezone(tz)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    app.core.clock.set(Some(at(6)));
    let now = app.core.clock.now().timestamp_millis();
    // Ani (front office) opts in through her page; the head of office by Telegram; Tono of
    // the technical team by email; Budi (front office) does not.
    let mut ani = officer(&app, "ani", Role::FrontOffice).await;
    let t = csrf(&mut ani).await;
    let r = ani
        .go(
            "POST",
            "/akun/pemberitahuan",
            &[
                ("csrf", &t),
                ("email", "Ani@Kantor.go.id"),
                ("telegram", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location.as_deref().unwrap().contains("pesan=kode"));
    let bad = ani
        .go(
            "POST",
            "/akun/pemberitahuan",
            &[("csrf", &t), ("email", "bukan-email"), ("telegram", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The address is hers only once she types the code it received (a wrong code first).
    let code_mail = || {
        crate::email::sent(&smtp)
            .into_iter()
            .find(|m| m.to == "ani@kantor.go.id" && m.subject.contains("Kode konfirmasi"))
    };
    assert!(crate::helpers::eventually(30, || async { code_mail().is_some() }).await);
    let text = code_mail().unwrap().text;
    let code: String = text
        .split_whitespace()
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .expect("a six-digit code")
        .to_string();
    assert!(aduan::register::notices::prefs(&app.core.db, 1)
        .await
        .is_ok());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = ani
        .go(
            "POST",
            "/akun/pemberitahuan/kode",
            &[("csrf", &t), ("code", wrong)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ani
        .go(
            "POST",
            "/akun/pemberitahuan/kode",
            &[("csrf", &t), ("code", &code)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.officer("kepala", Role::HeadOfOffice).await;
    app.officer("tono", Role::TechnicalTeam).await;
    app.officer("budi", Role::FrontOffice).await;
    let id = |name: &'static str| {
        let app = &app;
        async move {
            aduan::register::officers::active_by_username(&app.core.db, name)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let kepala = id("kepala").await;
    let tono = id("tono").await;
    aduan::register::notices::set_prefs(&app.core.db, kepala.id, None, Some("777"), now)
        .await
        .unwrap();
    aduan::register::notices::set_prefs(
        &app.core.db,
        tono.id,
        Some("tono@kantor.go.id"),
        None,
        now,
    )
    .await
    .unwrap();
    let (no, _) = app
        .submit(json!({"body": "Lampu jalan padam sejak seminggu"}))
        .await;
    let new_for = |r: Role| !available(&app.core, Status::Registered, r).is_empty();
    assert!(new_for(Role::FrontOffice) && !new_for(Role::TechnicalTeam));
    let n = sweep(&app.core).await.unwrap();
    let head_new = usize::from(new_for(Role::HeadOfOffice));
    assert_eq!(
        n,
        1 + head_new,
        "Ani (and the head if the head acts on new complaints)"
    );
    assert_eq!(sweep(&app.core).await.unwrap(), 0, "each notice once");
    // Tono is assigned: told once, by email.
    let fo = id("budi").await;
    aduan::workflow::assign(&app.core, &fo, &no, Some("tono"))
        .await
        .unwrap();
    assert_eq!(sweep(&app.core).await.unwrap(), 1);
    // The head's digest from 07:00, once.
    app.core.clock.set(Some(at(8)));
    assert_eq!(sweep(&app.core).await.unwrap(), 1);
    assert_eq!(sweep(&app.core).await.unwrap(), 0);
    let mails = |to: &'static str| {
        let smtp = &smtp;
        move || {
            crate::email::sent(smtp)
                .into_iter()
                .filter(|m| m.to == to && !m.subject.contains("Kode konfirmasi"))
                .collect::<Vec<_>>()
        }
    };
    assert!(
        crate::helpers::eventually(30, || async {
            mails("ani@kantor.go.id")().len() == 1 && mails("tono@kantor.go.id")().len() == 1
        })
        .await,
        "{:?}",
        crate::email::sent(&smtp)
            .iter()
            .map(|m| (&m.to, &m.subject))
            .collect::<Vec<_>>()
    );
    let a = &mails("ani@kantor.go.id")()[0];
    assert!(a.subject.contains(&no) && a.subject.contains("Pengaduan baru"));
    assert!(a.text.contains("Lampu jalan padam") && a.text.contains(&format!("/kotak/{no}")));
    assert!(mails("tono@kantor.go.id")()[0]
        .subject
        .contains("ditugaskan kepada Anda"));
    assert!(
        crate::helpers::eventually(30, || async {
            bot.sent().iter().filter(|s| s.1 == 777).count() == 1 + head_new
        })
        .await,
        "{:?}",
        bot.sent()
    );
    let digest = bot.sent().into_iter().rfind(|s| s.1 == 777).unwrap();
    assert!(
        digest.2.contains("Ringkasan harian") && digest.2.contains("Baru (24 jam terakhir): 1")
    );
    // Overdue: both Tono (assigned) and Ani (her role's step, assigned to another role) are
    // told once; Budi never.
    app.core.clock.set(Some(at(8) + chrono::Duration::days(40)));
    let n = sweep(&app.core).await.unwrap();
    // (A new day: the head's digest again.)
    assert_eq!(n, 2 + 1, "overdue for Ani and Tono, the next digest");
    assert_eq!(sweep(&app.core).await.unwrap(), 0);
    assert!(
        crate::helpers::eventually(30, || async { crate::email::sent(&smtp).len() == 4 + 1 }).await,
        "four notices and Ani's code"
    );
    assert!(crate::email::sent(&smtp)
        .iter()
        .all(|m| !m.to.contains("budi")));
    // Notices are not part of the complaint's thread.
    let thread = count(
        &app,
        "SELECT COUNT(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM outbox o \
         WHERE o.message_id = m.id AND o.kind = 'officer_notice')",
    )
    .await;
    let p = ani.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert_eq!(
        p.body.matches("<article class=\"msg\">").count() as i64,
        thread
    );
    assert!(!p.body.contains("Pengaduan baru di antrean Anda"));
    // A confidential complaint's subject never leaves in a notice.
    app.submit(json!({"name": "Wati", "subject": "Pungli petugas loket", "body": "Diminta uang", "confidential": true}))
        .await;
    let secret_no: String =
        sqlx::query_scalar("SELECT register_no FROM complaints WHERE confidential = 1")
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap();
    sweep(&app.core).await.unwrap();
    assert!(
        crate::helpers::eventually(30, || async {
            mails("ani@kantor.go.id")()
                .iter()
                .any(|m| m.subject.contains(&secret_no))
        })
        .await
    );
    for m in mails("ani@kantor.go.id")() {
        assert!(
            !m.text.contains("Pungli") && !m.subject.contains("Pungli"),
            "{}",
            m.text
        );
    }
    app.core.clock.set(None);
    app.stop().await;
    db.drop_db().await;
}
both!(officer_notices_by_email_and_telegram);

/// A form sent without choosing a file (the browser sends an empty part with an empty file
/// name) registers no attachment.
async fn a_form_without_a_file_has_no_attachment(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let form = reqwest::multipart::Form::new()
        .text("body", "Tanpa lampiran")
        .part(
            "file",
            reqwest::multipart::Part::bytes(Vec::new())
                .file_name("")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    app.submit_multipart(form).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 0);
    app.stop().await;
}
both!(a_form_without_a_file_has_no_attachment);

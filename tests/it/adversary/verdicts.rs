//! Issue 21, items 8, 10, 12, 13 and 17: the verdict means what it says — one 30-day window
//! for every channel and the web page; an email verdict only as a reply to our question; the
//! verdict recorded on the complaint whose question it answers; concurrent verdicts audited
//! as they were kept; typed contacts asked through the coded link only; and letters to typed
//! addresses quoting nothing the submitter wrote.

use std::collections::HashMap;

use aduan::db::Backend;
use aduan::workflow::Role;
use aduan_channel::InboundMessage;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;

use super::{all_sent, rig, Rig};
use crate::both;
use crate::helpers::*;
use crate::intake::email;

const MADIUN: &[(&str, &str)] = &[("ADUAN_OFFICE__PROCEDURE", "madiun")];

/// One officer of every role on `app`.
pub(super) async fn officers(app: &App) -> HashMap<Role, String> {
    let mut t = HashMap::new();
    for r in Role::ALL {
        t.insert(r, app.officer(&format!("vv_{}", r.as_str()), r).await);
    }
    t
}

/// Takes complaint `no` through the Madiun procedure to its close (the question asked).
pub(super) async fn answer_and_close(app: &App, t: &HashMap<Role, String>, no: &str) {
    for (role, body) in [
        (Role::SectionHead, json!({"action": "verify"})),
        (
            Role::DivisionHead,
            json!({"action": "dispose", "note": "tindak lanjuti", "assignee": "vv_technical_team"}),
        ),
        (
            Role::TechnicalTeam,
            json!({"action": "draft_answer", "note": "Sudah kami tindak lanjuti."}),
        ),
        (Role::FrontOffice, json!({"action": "send_answer"})),
        (Role::FrontOffice, json!({"action": "close"})),
    ] {
        let r = app
            .http
            .post(app.url(&format!("/api/v1/complaints/{no}/actions")))
            .bearer_auth(&t[&role])
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{body}");
    }
}

async fn rating(app: &App, no: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT rating FROM complaints WHERE register_no = $1")
        .bind(no)
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap()
}

/// The Message-ID of the verdict's question to complaint `no` on `channel`.
async fn question_id(app: &App, no: &str, channel: &str) -> String {
    sqlx::query_scalar(
        "SELECT m.provider_message_id FROM outbox o JOIN messages m ON m.id = o.message_id \
         JOIN complaints c ON c.id = o.complaint_id \
         WHERE c.register_no = $1 AND o.kind = 'rating_request' AND o.channel = $2",
    )
    .bind(no)
    .bind(channel)
    .fetch_one(&app.core.db.pool)
    .await
    .unwrap()
}

fn reply(ext: &str, from: &str, text: &str, in_reply_to: Option<&str>) -> InboundMessage {
    let mut m = email(ext, from, "Re: Penilaian", text);
    m.hints.references = in_reply_to.map(|r| vec![r.to_string()]).unwrap_or_default();
    m
}

/// Items 8 and 13: a complainant with two closed complaints answers the first question: the
/// verdict lands on the first (its `In-Reply-To`), not on the one asked last; the second's own
/// answer still counts. An email digit without a reference to our question is no verdict
/// (anyone can write a `From`).
async fn a_verdict_lands_on_the_complaint_it_answers(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, MADIUN).await else {
        return;
    };
    let t = officers(&app).await;
    let who = "ani@warga.id";
    let first = aduan::intake::submit(&app.core, email("a1@x", who, "Lampu", "Lampu jalan mati"))
        .await
        .unwrap()
        .register_no;
    answer_and_close(&app, &t, &first).await;
    let second = aduan::intake::submit(&app.core, email("a2@x", who, "Got", "Got tersumbat"))
        .await
        .unwrap()
        .register_no;
    answer_and_close(&app, &t, &second).await;
    all_sent(&app).await;
    // A bare digit with no reference: not a verdict by email.
    aduan::intake::submit(&app.core, reply("r0@x", who, "2", None))
        .await
        .unwrap();
    assert_eq!(
        (rating(&app, &first).await, rating(&app, &second).await),
        (None, None)
    );
    let q1 = question_id(&app, &first, "email").await;
    let c = aduan::intake::submit(&app.core, reply("r1@x", who, "4", Some(&q1)))
        .await
        .unwrap();
    assert_eq!(c.register_no, first);
    assert_eq!(rating(&app, &first).await, Some(4));
    assert_eq!(
        rating(&app, &second).await,
        None,
        "the verdict went to the last asked"
    );
    let q2 = question_id(&app, &second, "email").await;
    aduan::intake::submit(&app.core, reply("r2@x", who, "1", Some(&q2)))
        .await
        .unwrap();
    assert_eq!(rating(&app, &second).await, Some(1));
    // A stranger quoting our question's id is no one's verdict.
    aduan::intake::submit(&app.core, reply("r3@x", "lain@warga.id", "1", Some(&q1)))
        .await
        .unwrap();
    assert_eq!(rating(&app, &first).await, Some(4));
    app.stop().await;
}
both!(a_verdict_lands_on_the_complaint_it_answers);

/// Items 8 and 10: the web page keeps the channels' 30-day window; four verdicts posted at
/// once record one, and every `rate_again` note names the verdict that was kept.
async fn web_verdicts_window_and_concurrency(backend: Backend) {
    let Some(app) = spawn_app(backend, MADIUN).await else {
        return;
    };
    let t = officers(&app).await;
    let start: DateTime<Utc> = Utc::now();
    app.core.clock.set(Some(start));
    let (late, late_code) = app.submit(json!({"body": "Trotoar rusak"})).await;
    let (now_no, code) = app.submit(json!({"body": "Pohon tumbang"})).await;
    answer_and_close(&app, &t, &late).await;
    answer_and_close(&app, &t, &now_no).await;
    let rate = |no: String, code: String, r: &'static str| {
        let http = app.http.clone();
        let url = app.url(&format!("/lacak/{no}/nilai"));
        async move {
            let r = http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("code={code}&rating={r}"))
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (a, b, c, d) = tokio::join!(
        rate(now_no.clone(), code.clone(), "1"),
        rate(now_no.clone(), code.clone(), "2"),
        rate(now_no.clone(), code.clone(), "3"),
        rate(now_no.clone(), code.clone(), "4"),
    );
    for (s, _) in [&a, &b, &c, &d] {
        assert_eq!(*s, StatusCode::OK);
    }
    let kept = rating(&app, &now_no).await.expect("one verdict");
    let notes = aduan::register::audit::named(&app.core.db, "rate_again")
        .await
        .unwrap();
    // Those that read the complaint after the first commit show the verdict and record
    // nothing; the others wrote, were refused and say which verdict stands.
    assert!((1..=3).contains(&notes.len()), "{notes:?}");
    for n in &notes {
        assert!(
            matches!(n.event, aduan::register::audit::AuditEvent::RatedAgain { first, .. } if first == kept),
            "{n:?} (kept {kept})"
        );
    }
    // 31 days after the question: the page says rating has closed; nothing is recorded.
    app.core.clock.set(Some(start + Duration::days(31)));
    let (s, body) = rate(late.clone(), late_code.clone(), "4").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("sudah ditutup"), "{body}");
    assert_eq!(rating(&app, &late).await, None);
    let track = app
        .http
        .get(app.url(&format!("/lacak/{late}?code={late_code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !track.contains("name=\"rating\""),
        "the form after the window"
    );
    app.stop().await;
}
both!(web_verdicts_window_and_concurrency);

/// Items 12 and 17: a web complaint's typed email and phone get the question as the coded link
/// only (nothing asks them to reply with a digit), and the answer letter that reaches them
/// quotes nothing the submitter wrote; a counter complaint's letter keeps the subject the
/// officer recorded.
async fn typed_contacts_get_the_link_and_the_office_words(backend: Backend) {
    let Some(Rig {
        app,
        email: mail,
        sms,
    }) = rig(backend, MADIUN).await
    else {
        return;
    };
    let t = officers(&app).await;
    let (no, _) = app
        .submit(
            json!({"name": "Budi", "email": "korban@contoh.id", "phone": "081299990001",
            "subject": "TRANSFER Rp 5 juta ke rekening 123", "body": "Isi pengaduan"}),
        )
        .await;
    answer_and_close(&app, &t, &no).await;
    all_sent(&app).await;
    let questions: Vec<String> = mail
        .sent()
        .iter()
        .map(|m| m.text.clone())
        .chain(sms.sent().iter().map(|m| m.text.clone()))
        .filter(|t| t.contains("/nilai?code="))
        .collect();
    assert_eq!(questions.len(), 2, "email and SMS contacts are asked");
    for q in &questions {
        assert!(
            !q.contains("Balas"),
            "a typed contact is told to reply: {q}"
        );
    }
    let letter = mail
        .sent()
        .iter()
        .find_map(|m| m.attachments.first().cloned())
        .expect("the answer letter goes to the typed email");
    let text = pdf_text(&letter.data);
    assert!(text.contains(&no) && !text.contains("TRANSFER"), "{text}");
    // The counter: the officer recorded the subject; the letter quotes it.
    let r = app
        .http
        .post(app.url("/api/v1/counter"))
        .bearer_auth(&t[&Role::FrontOffice])
        .json(&json!({"medium": "walk_in", "name": "Siti", "subject": "Izin reklame", "body": "Belum terbit"}))
        .send()
        .await
        .unwrap();
    let counter = r.json::<serde_json::Value>().await.unwrap()["register_no"]
        .as_str()
        .unwrap()
        .to_string();
    answer_and_close(&app, &t, &counter).await;
    let pdf: Vec<u8> = app
        .http
        .get(app.url(&format!("/api/v1/complaints/{counter}/letters/answer")))
        .bearer_auth(&t[&Role::FrontOffice])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert!(pdf_text(&pdf).contains("Izin reklame"));
    app.stop().await;
}
both!(typed_contacts_get_the_link_and_the_office_words);

//! The citizen's verdict (SKM scale 1–4), on both databases: asked once when an officer closes
//! the complaint; answered by SMS (the modem simulator), Telegram (the fake Bot API, with its
//! buttons) and the web page; the first answer stands; the recap's index per channel and month.

use std::collections::HashMap;

use aduan::db::Backend;
use aduan::workflow::Role;
use aduan_sms::sim::{deliver_pdus, ModemSim};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::fakebot::{text_update, FakeBot, TOKEN};
use crate::helpers::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Officers of every role; the complaint `no` taken through the Madiun procedure to its close.
pub(crate) async fn answer_and_close(app: &App, no: &str) {
    let mut tokens = HashMap::new();
    for r in Role::ALL {
        let name = format!("v_{}", r.as_str());
        let exists = count(
            app,
            &format!("SELECT COUNT(*) FROM officers WHERE username = '{name}'"),
        )
        .await;
        if exists == 0 {
            tokens.insert(r, app.officer(&name, r).await);
        }
    }
    if tokens.is_empty() {
        panic!("answer_and_close runs once per app");
    }
    for (role, body) in [
        (Role::SectionHead, json!({"action": "verify"})),
        (
            Role::DivisionHead,
            json!({"action": "dispose", "note": "tindak lanjuti", "assignee": "v_technical_team"}),
        ),
        (
            Role::TechnicalTeam,
            json!({"action": "draft_answer", "note": "Jalan sudah diperbaiki."}),
        ),
        (Role::FrontOffice, json!({"action": "send_answer"})),
        (Role::FrontOffice, json!({"action": "close"})),
    ] {
        let r = app
            .http
            .post(app.url(&format!("/api/v1/complaints/{no}/actions")))
            .bearer_auth(&tokens[&role])
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{body}");
    }
}

async fn rating_of(app: &App, no: &str) -> (Option<i64>, Option<String>) {
    use sqlx::Row;
    let r = sqlx::query("SELECT rating, rating_channel FROM complaints WHERE register_no = $1")
        .bind(no)
        .fetch_one(&app.core.db.pool)
        .await
        .unwrap();
    (r.try_get(0).unwrap(), r.try_get(1).unwrap())
}

async fn verdict_by_sms(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "aduan-it-verdict-{}",
        aduan::register::tracking_code()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let sim = ModemSim::start(&dir, "ttyUSB0").unwrap();
    let port = sim.path().to_str().unwrap().to_string();
    let cfg = test_config(
        &db.url,
        &[
            ("ADUAN_OFFICE__PROCEDURE", "madiun"),
            ("ADUAN_CHANNELS__SMS__POLL_SECS", "1"),
            ("ADUAN_CHANNELS__SMS__COMMAND_TIMEOUT_SECS", "2"),
            (
                "ADUAN_CHANNELS__SMS__MODEMS",
                &format!("[{{ name = \"modem1\", port = \"{port}\" }}]"),
            ),
        ],
    );
    let app = start(open_core(&cfg).await, &cfg, Some(db)).await;
    let phone = "+6281234567890";
    sim.deliver(&deliver_pdus(phone, "Jalan di RT 3 berlubang besar.", 0)[0]);
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 1, 15).await;
    let no = first_register_no(&app).await;
    // A bare digit before any question is an ordinary message (an SMS without a register
    // number is a complaint of its own), not a verdict.
    sim.deliver(&deliver_pdus(phone, "3", 0)[0]);
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 2, 15).await;
    assert_eq!(rating_of(&app, &no).await, (None, None));
    answer_and_close(&app, &no).await;
    // The question comes by SMS, to the complainant's number, naming the scale.
    assert!(
        eventually(20, || async {
            crate::sms::sent_texts(&sim).iter().any(|(to, t)| {
                to == phone
                    && t.contains(&no)
                    && t.contains("1 = tidak baik")
                    && t.contains("4 = sangat baik")
            })
        })
        .await,
        "{:?}",
        crate::sms::sent_texts(&sim)
    );
    sim.deliver(&deliver_pdus(phone, "4", 0)[0]);
    assert!(
        eventually(15, || async { rating_of(&app, &no).await.0.is_some() }).await,
        "the SMS verdict is registered"
    );
    assert_eq!(rating_of(&app, &no).await, (Some(4), Some("sms".into())));
    // A second answer is kept in the thread and the audit trail, not counted.
    sim.deliver(&deliver_pdus(phone, "1 tidak baik", 0)[0]);
    wait_count(
        &app,
        "SELECT COUNT(*) FROM audit WHERE action = 'rate_again'",
        1,
        15,
    )
    .await;
    assert_eq!(rating_of(&app, &no).await.0, Some(4));
    // The verdicts opened no complaint; both are in the first one's thread.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 2);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM messages m JOIN complaints c ON c.id = m.complaint_id WHERE c.register_no = '{no}' AND m.direction = 'in'")
        )
        .await,
        3
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit WHERE action = 'rate'").await,
        1
    );
    // The question was asked once.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'rating_request'"
        )
        .await,
        1
    );
    app.stop().await;
}
both!(verdict_by_sms);

async fn verdict_by_telegram_buttons(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let bot = FakeBot::start().await;
    let cfg = test_config(
        &db.url,
        &[
            ("ADUAN_OFFICE__PROCEDURE", "madiun"),
            ("ADUAN_CHANNELS__TELEGRAM__TOKEN", TOKEN),
            ("ADUAN_CHANNELS__TELEGRAM__API_URL", &bot.url),
            ("ADUAN_CHANNELS__TELEGRAM__POLL_TIMEOUT_SECS", "2"),
        ],
    );
    let app = start(open_core(&cfg).await, &cfg, Some(db)).await;
    let chat = 7101;
    bot.push(text_update(
        chat,
        5,
        "Sampah di pasar tidak diangkut seminggu.",
    ));
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 1, 15).await;
    let no = first_register_no(&app).await;
    answer_and_close(&app, &no).await;
    // The question with the scale as a one-time keyboard of four buttons.
    assert!(
        eventually(20, || async {
            !bot.state.lock().unwrap().markups.is_empty()
        })
        .await,
        "{:?}",
        bot.sent()
    );
    let (to, markup) = bot.state.lock().unwrap().markups[0].clone();
    assert_eq!(to, chat);
    let buttons: Vec<String> = markup["keyboard"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        buttons,
        ["1 tidak baik", "2 kurang baik", "3 baik", "4 sangat baik"]
    );
    assert_eq!(markup["one_time_keyboard"], true);
    assert!(bot
        .sent()
        .iter()
        .any(|(_, c, t, _)| *c == chat && t.contains(&no) && t.contains("Balas")));
    // The answer went with its letter as a document.
    let letter = format!("surat-jawaban-{no}.pdf");
    assert!(
        bot.sent()
            .iter()
            .any(|(m, c, name, _)| m == "senddocument" && *c == chat && *name == letter),
        "{:?}",
        bot.sent()
    );
    // Tapping "3 baik" sends the button's text back.
    bot.push(text_update(chat, 9, "3 baik"));
    assert!(eventually(15, || async { rating_of(&app, &no).await.0.is_some() }).await);
    assert_eq!(
        rating_of(&app, &no).await,
        (Some(3), Some("telegram".into()))
    );
    bot.push(text_update(chat, 10, "4 sangat baik"));
    wait_count(
        &app,
        "SELECT COUNT(*) FROM audit WHERE action = 'rate_again'",
        1,
        15,
    )
    .await;
    assert_eq!(rating_of(&app, &no).await.0, Some(3));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    app.stop().await;
}
both!(verdict_by_telegram_buttons);

async fn verdict_on_the_web_and_the_recap_index(backend: Backend) {
    let Some(app) = spawn_app(backend, &[("ADUAN_OFFICE__PROCEDURE", "madiun")]).await else {
        return;
    };
    app.core.clock.set(Some(at("2026-12-02T03:00:00Z")));
    let (no, code) = app
        .submit(json!({"name": "Ani", "body": "Trotoar rusak"}))
        .await;
    let page = |path: String| {
        let http = app.http.clone();
        let url = app.url(&path);
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // Open complaint: not yet to be rated.
    let (s, _) = page(format!("/lacak/{no}/nilai?code={code}")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    answer_and_close(&app, &no).await;
    // The tracking page and the link in the question show the one question.
    let (_, track) = page(format!("/lacak/{no}?code={code}")).await;
    assert!(track.contains("name=\"rating\" value=\"4\""), "{track}");
    let (s, form) = page(format!("/lacak/{no}/nilai?code={code}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form.contains("Bagaimana penanganan pengaduan Anda?"),
        "{form}"
    );
    let rate = |rating: &str, code: &str| {
        let http = app.http.clone();
        let url = app.url(&format!("/lacak/{no}/nilai"));
        let body = format!("code={code}&rating={rating}");
        async move {
            let r = http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // A wrong code: nothing recorded, the same answer as an unknown number.
    assert_eq!(rate("1", "WRONG1").await.0, StatusCode::NOT_FOUND);
    assert_eq!(rate("9", &code).await.0, StatusCode::BAD_REQUEST);
    let (s, body) = rate("3", &code).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("penilaian Anda tercatat"), "{body}");
    assert_eq!(rating_of(&app, &no).await, (Some(3), Some("web".into())));
    // Once: a second answer shows the first.
    let (_, body) = rate("1", &code).await;
    assert!(body.contains("Penilaian Anda: 3 (baik)"), "{body}");
    assert_eq!(rating_of(&app, &no).await.0, Some(3));
    // The recap: index 3 × 25 = 75.00, grade C, one respondent, web and all channels.
    let p = aduan::recap::Period::month(2026, 12).unwrap();
    let r = aduan::recap::compute(&app.core, p).await.unwrap();
    let csv = aduan::recap::csv(&p, &r);
    for line in [
        "skm_index,2026-12 web,75.00",
        "skm_grade,2026-12 web,C",
        "skm_respondents,2026-12 web,1",
        "skm_index,2026-12 semua,75.00",
    ] {
        assert!(csv.contains(line), "{line} in {csv}");
    }
    app.stop().await;
}
both!(verdict_on_the_web_and_the_recap_index);

/// By email: the answer carries the signed letter as a PDF, and the question links to the
/// one-question page with the tracking code.
async fn email_answer_carries_the_letter_and_links_the_question(backend: Backend) {
    use crate::email::{email_env, sent, servers};
    use crate::mailservers::crlf;
    let Some((dv, smtp)) = servers().await else {
        return;
    };
    let Some(db) = fresh(backend).await else {
        return;
    };
    let mut env = email_env(&dv, &smtp, "INBOX");
    env.push(("ADUAN_OFFICE__PROCEDURE".into(), "madiun".into()));
    env.push(("ADUAN_LETTER__SIGNER_NAME".into(), "Ir. Hartono".into()));
    let app = start_with_env(&db.url, &env).await;
    dv.append(
        "INBOX",
        &[crlf(
            "From: Warga <warga.surat@example.com>\r\nTo: pengaduan@example.go.id\r\n\
             Subject: Saluran air tersumbat\r\nMessage-ID: <v1@example.com>\r\n\
             Date: Wed, 02 Dec 2026 09:00:00 +0700\r\n\r\nSaluran di depan rumah tersumbat.\r\n",
        )],
    )
    .await;
    wait_count(&app, "SELECT COUNT(*) FROM complaints", 1, 60).await;
    let no = first_register_no(&app).await;
    answer_and_close(&app, &no).await;
    assert!(
        eventually(60, || async {
            sent(&smtp).iter().any(|m| m.subject.contains("Penilaian"))
        })
        .await,
        "the question is mailed"
    );
    let mails = sent(&smtp);
    let answer = mails
        .iter()
        .find(|m| m.text.contains("Jalan sudah diperbaiki."))
        .expect("the answer mail");
    assert_eq!(answer.to, "warga.surat@example.com");
    let (name, pdf) = answer.attachments.first().expect("the letter attached");
    assert_eq!(name, &format!("surat-jawaban-{no}.pdf"));
    let text = pdf_text(pdf);
    assert!(
        text.contains("500.16/1/PENGADUAN/") && text.contains("Ir. Hartono") && text.contains(&no),
        "{text}"
    );
    let question = mails
        .iter()
        .find(|m| m.subject.contains("Penilaian"))
        .unwrap();
    let link = question
        .text
        .split_whitespace()
        .find(|w| w.contains("/nilai?code="))
        .expect("the rating link")
        .to_string();
    let path = &link[link.find("/lacak/").unwrap()..];
    let r = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("name=\"rating\""));
    app.stop().await;
}
both!(email_answer_carries_the_letter_and_links_the_question);

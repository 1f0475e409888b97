//! The answer letter and the answer's arrival, on both databases: letter numbers in one
//! gap-free sequence per year; `answered_at` only when the answer reached the complainant —
//! the tracking page published it, or the counter recorded the hand-over and to whom; the
//! letter offered on the tracking page to whoever holds the tracking code.

use aduan::db::Backend;
use aduan::workflow::Role;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::*;

/// An office on the Madiun procedure (verify, dispose, draft, send: no signatures to wait for).
async fn office(backend: Backend) -> Option<Office> {
    Office::start(
        backend,
        &[
            ("ADUAN_OFFICE__PROCEDURE", "madiun"),
            (
                "ADUAN_LETTER__ANSWER_NUMBER",
                "500.16/{seq}/DPMPTSP/{month}/{year}",
            ),
            ("ADUAN_LETTER__SIGNER_NAME", "Ir. Hartono"),
        ],
    )
    .await
}

/// Takes a registered complaint to its sent answer.
async fn answer(o: &Office, no: &str) {
    for (role, body) in [
        (Role::SectionHead, json!({"action": "verify"})),
        (
            Role::DivisionHead,
            json!({"action": "dispose", "note": "tindak lanjuti", "assignee": "technical_team"}),
        ),
        (
            Role::TechnicalTeam,
            json!({"action": "draft_answer", "note": "Izin Saudara sudah terbit."}),
        ),
        (Role::FrontOffice, json!({"action": "send_answer"})),
    ] {
        let (s, v) = o.act(role, no, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

async fn letter_text(o: &Office, no: &str) -> String {
    pdf_text(&o.letter(no, "answer").await)
}

async fn counter(o: &Office, name: &str) -> String {
    let (s, v) = o
        .post(
            Role::FrontOffice,
            "/api/v1/counter",
            json!({"medium": "walk_in", "name": name, "subject": "IMB", "body": "Permohonan IMB saya hilang"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    v["register_no"].as_str().unwrap().to_string()
}
fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn letters_are_numbered_per_year_without_gaps(backend: Backend) {
    let Some(o) = office(backend).await else {
        return;
    };
    o.app.core.clock.set(Some(at("2026-12-30T03:00:00Z")));
    let (a, _) = o.app.submit(json!({"name": "Ani", "body": "satu"})).await;
    let (b, _) = o.app.submit(json!({"name": "Budi", "body": "dua"})).await;
    answer(&o, &a).await;
    // A refused send (nothing drafted) takes no number.
    let (c, _) = o.app.submit(json!({"name": "Citra", "body": "tiga"})).await;
    let (s, _) = o
        .post(
            Role::SectionHead,
            &format!("/api/v1/complaints/{c}/actions"),
            json!({"action": "send_answer"}),
        )
        .await;
    assert_ne!(s, StatusCode::OK);
    answer(&o, &b).await;
    assert!(letter_text(&o, &a)
        .await
        .contains("500.16/1/DPMPTSP/XII/2026"));
    assert!(letter_text(&o, &b)
        .await
        .contains("500.16/2/DPMPTSP/XII/2026"));
    // The new year starts the sequence again.
    o.app.core.clock.set(Some(at("2027-01-04T03:00:00Z")));
    answer(&o, &c).await;
    let text = letter_text(&o, &c).await;
    assert!(text.contains("500.16/1/DPMPTSP/I/2027"), "{text}");
    assert!(text.contains("Ir. Hartono") && text.contains(&c), "{text}");
    let numbers = count(
        &o.app,
        "SELECT COUNT(DISTINCT number) FROM letters WHERE kind = 'answer'",
    )
    .await;
    assert_eq!(numbers, 3);
    // Each send is in the audit trail with its number.
    let letters = aduan::register::audit::named(&o.app.core.db, "letter")
        .await
        .unwrap();
    let answers = letters.iter().filter(|a| {
        matches!(&a.event, aduan::register::audit::AuditEvent::Letter {
            kind: aduan::register::domain::LetterKind::Answer, number, ..
        } if number.starts_with("500.16/"))
    });
    assert_eq!(answers.count(), 3, "{letters:?}");
    o.app.stop().await;
}
both!(letters_are_numbered_per_year_without_gaps);

async fn the_counter_answer_counts_from_its_hand_over(backend: Backend) {
    let Some(o) = office(backend).await else {
        return;
    };
    o.app.core.clock.set(Some(at("2026-12-01T03:00:00Z")));
    let no = counter(&o, "Pak Darto").await;
    // Nothing to hand over before the answer exists.
    let handover = format!("/api/v1/complaints/{no}/handover");
    let (s, _) = o
        .post(
            Role::FrontOffice,
            &handover,
            json!({"recipient": "Pak Darto"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    answer(&o, &no).await;
    // The answer lies ready at the counter: sent there, but the complaint is not answered.
    wait_count(
        &o.app,
        &format!(
            "SELECT COUNT(*) FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
             WHERE c.register_no = '{no}' AND o.kind = 'answer' AND o.status = 'sent'"
        ),
        1,
        10,
    )
    .await;
    let c = o.get(&no).await;
    assert!(c["answered_at"].is_null(), "{c}");
    // Past its due date without a hand-over, it is overdue.
    o.app.core.clock.set(Some(at("2026-12-31T03:00:00Z")));
    assert_eq!(o.get(&no).await["overdue"], true);
    // Only the counter's officers (and the admin) record it — not the technical team, not the
    // heads; a blank name is refused.
    for role in [Role::TechnicalTeam, Role::SectionHead, Role::DivisionHead] {
        let (s, _) = o
            .post(role, &handover, json!({"recipient": "Pak Darto"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role:?}");
    }
    let (s, _) = o
        .post(Role::FrontOffice, &handover, json!({"recipient": "  "}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = o
        .post(
            Role::FrontOffice,
            &handover,
            json!({"recipient": "Siti (istri pengadu)"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["handed_over_to"], "Siti (istri pengadu)");
    assert_eq!(
        v["answered_at"].as_i64(),
        Some(at("2026-12-31T03:00:00Z").timestamp_millis())
    );
    assert_eq!(v["overdue"], false);
    // Once.
    let (s, _) = o
        .post(
            Role::FrontOffice,
            &handover,
            json!({"recipient": "Orang lain"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let handed = aduan::register::audit::named(&o.app.core.db, "hand_over")
        .await
        .unwrap();
    assert_eq!(handed.len(), 1);
    assert_eq!(
        handed[0].event,
        aduan::register::audit::AuditEvent::HandOver {
            recipient: "Siti (istri pengadu)".into()
        }
    );
    // The recap counts it answered, and late (due 2026-12-10).
    let recap = aduan::recap::compute(&o.app.core, aduan::recap::Period::month(2026, 12).unwrap())
        .await
        .unwrap();
    assert_eq!((recap.answered, recap.answered_late), (1, 1));
    o.app.stop().await;
}
both!(the_counter_answer_counts_from_its_hand_over);

async fn the_tracking_page_offers_the_letter_to_the_code_holder(backend: Backend) {
    let Some(o) = office(backend).await else {
        return;
    };
    let (no, code) = o.app.submit(json!({"name": "Ani", "body": "satu"})).await;
    answer(&o, &no).await;
    // The web answer is published at once: answered.
    assert!(
        eventually(10, || async { !o.get(&no).await["answered_at"].is_null() }).await,
        "the published answer sets answered_at"
    );
    let page = o
        .app
        .http
        .get(o.app.url(&format!("/lacak/{no}?code={code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("/lacak/{no}/surat?code={code}");
    assert!(page.contains(&link), "{page}");
    let r = o.app.http.get(o.app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let text = pdf_text(&r.bytes().await.unwrap());
    assert!(
        text.contains(&no) && text.contains("Izin Saudara sudah terbit."),
        "{text}"
    );
    // Without the right code: the same 404 as for a number that does not exist.
    for bad in [
        format!("/lacak/{no}/surat?code=WRONG1"),
        format!("/lacak/{no}/surat"),
        format!("/lacak/ADU-2026-999999/surat?code={code}"),
    ] {
        let r = o.app.http.get(o.app.url(&bad)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    o.app.stop().await;
}
both!(the_tracking_page_offers_the_letter_to_the_code_holder);

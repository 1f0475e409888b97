//! The HTTP API on both databases: role checks on every route, the public form and tracking,
//! bad input, the SOP workflow end to end, counter intake, replies and attachments.

use aduan::db::Backend;
use aduan::web::{Access, ROUTES};
use aduan::workflow::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;

fn concrete(path: &str) -> String {
    path.replace("{register_no}", "ADU-2026-000001")
        .replace("{id}", "1")
}

/// Walks the route table: no token → 401; a wrong role → 403; an allowed role passes the gate.
async fn role_checks_on_every_route(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, app.officer(role.as_str(), role).await));
    }
    let mut officer_routes = 0;
    for r in ROUTES {
        let Access::Officers(allowed) = r.access else {
            continue;
        };
        officer_routes += 1;
        let url = app.url(&concrete(r.path));
        let req = |token: Option<&str>| {
            let mut b = app
                .http
                .request(r.method.parse().unwrap(), &url)
                .header("content-type", "application/json")
                .body("{}");
            if let Some(t) = token {
                b = b.bearer_auth(t);
            }
            b
        };
        assert_eq!(
            req(None).send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{} {} without token",
            r.method,
            r.path
        );
        assert_eq!(
            req(Some("adn_not_a_token")).send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{} {} bad token",
            r.method,
            r.path
        );
        for (role, token) in &tokens {
            let status = req(Some(token)).send().await.unwrap().status();
            if allowed.contains(role) {
                assert!(
                    status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{} {} as {role}: {status}",
                    r.method,
                    r.path
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {} as {role}",
                    r.method,
                    r.path
                );
            }
        }
    }
    assert!(officer_routes >= 10);
    // A disabled officer's token stops working.
    aduan::officers::disable(&app.core.db, "admin")
        .await
        .unwrap();
    let admin = &tokens.iter().find(|(r, _)| *r == Role::Admin).unwrap().1;
    let s = app
        .http
        .get(app.url("/api/v1/complaints"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
both!(role_checks_on_every_route);

async fn public_submission_and_tracking(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let r = app
        .http
        .post(app.url("/api/v1/complaints"))
        .json(&json!({"name": "Budi", "email": "Budi@Example.id", "phone": "0812-3456-7890", "subject": "Izin", "body": "Izin usaha belum terbit", "lang": "en"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let no = v["register_no"].as_str().unwrap().to_string();
    let code = v["tracking_code"].as_str().unwrap().to_string();
    assert!(no.starts_with("ADU-20"), "{no}");
    assert_eq!(code.len(), 10);
    // The receipt is published on the tracking page (the web channel's way to reply).
    let track = |c: String| {
        let (app, no) = (&app, no.clone());
        async move {
            app.http
                .get(app.url(&format!("/api/v1/track/{no}")))
                .query(&[("code", c)])
                .send()
                .await
                .unwrap()
        }
    };
    assert!(
        eventually(5, || async {
            track(code.clone()).await.json::<Value>().await.unwrap()["replies"]
                .as_array()
                .is_some_and(|a| a.len() == 1)
        })
        .await
    );
    let t: Value = track(code.clone()).await.json().await.unwrap();
    assert_eq!(t["status"], "registered");
    assert_eq!(t["status_text"], "received and registered");
    assert!(t["replies"][0]["text"].as_str().unwrap().contains(&no));
    // Only status and replies: no contact data on the public page.
    let body = t.to_string();
    assert!(
        !body.contains("budi@example.id") && !body.contains("6281234567890"),
        "{body}"
    );
    // Lower-case code works; a wrong or missing code says nothing.
    assert_eq!(track(code.to_lowercase()).await.status(), StatusCode::OK);
    assert_eq!(
        track("AAAAAAAAAA".into()).await.status(),
        StatusCode::NOT_FOUND
    );
    let none = app
        .http
        .get(app.url(&format!("/api/v1/track/{no}")))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    let other = app
        .http
        .get(app.url("/api/v1/track/ADU-2026-999999"))
        .query(&[("code", &code)])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    // Email and phone are the complaint's contacts, normalized; never identities.
    let n = scalar(&app.core.db, "SELECT COUNT(*) FROM complaint_contacts WHERE address IN ('email:budi@example.id', 'phone:+6281234567890')").await;
    assert_eq!(n, 2);
    assert_eq!(
        scalar(&app.core.db, "SELECT COUNT(*) FROM complainant_addresses").await,
        0
    );
    // An Idempotency-Key makes a retried submission land once.
    let send = || {
        app.http
            .post(app.url("/api/v1/complaints"))
            .header("idempotency-key", "form-123")
            .json(&json!({"body": "sekali saja"}))
            .send()
    };
    let a = send().await.unwrap();
    let b = send().await.unwrap();
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::CREATED, StatusCode::OK)
    );
    assert_eq!(
        a.json::<Value>().await.unwrap()["register_no"],
        b.json::<Value>().await.unwrap()["register_no"]
    );
    assert_eq!(
        scalar(&app.core.db, "SELECT COUNT(*) FROM complaints").await,
        2
    );
    // The same key with other content, or a register number typed into the public form, never
    // hands out another complaint's tracking code.
    let r = app
        .http
        .post(app.url("/api/v1/complaints"))
        .header("idempotency-key", "form-123")
        .json(&json!({"body": "tebakan"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_ne!(v["register_no"].as_str().unwrap(), no);
    let r = app
        .http
        .post(app.url("/api/v1/complaints"))
        .json(&json!({"subject": format!("Re: [{no}]"), "body": format!("status {no}?")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_ne!(v["register_no"].as_str().unwrap(), no);
    assert_ne!(v["tracking_code"].as_str().unwrap(), code);
    app.stop().await;
}
both!(public_submission_and_tracking);

async fn bad_input_is_refused_clearly_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(
        backend,
        &[
            ("ADUAN_WEB__MAX_BODY_BYTES", "65536"),
            ("ADUAN_INTAKE__MAX_ATTACHMENT_BYTES", "1024"),
        ],
    )
    .await
    else {
        return;
    };
    let post = |body: reqwest::Body, ct: &str| {
        app.http
            .post(app.url("/api/v1/complaints"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases: Vec<(reqwest::Body, &str, StatusCode, &str)> = vec![
        (
            "{\"body\": \"x\"".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            "[1,2]".into(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid type",
        ),
        (
            "{\"body\": \"x\", \"admin\": true}".into(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `admin`",
        ),
        (
            "{\"name\": \"x\"}".into(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field `body`",
        ),
        (
            "{\"body\": \"   \"}".into(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`body` must not be empty",
        ),
        (
            "{\"body\": \"x\", \"email\": \"not-an-email\"}".into(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`email`",
        ),
        (
            "{\"body\": \"x\", \"phone\": \"12ab\"}".into(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`phone`",
        ),
        (
            "{\"body\": \"x\", \"lang\": \"fr\"}".into(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`lang`",
        ),
        (
            format!("{{\"body\": \"{}\"}}", "a".repeat(70_000)).into(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "limit",
        ),
        (
            "\u{0}\u{1}binary".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
    ];
    for (body, ct, status, needle) in cases {
        let r = post(body, ct).await.unwrap();
        assert_eq!(r.status(), status, "{needle}");
        let v: Value = r
            .json()
            .await
            .unwrap_or_else(|_| panic!("JSON error body for {needle}"));
        assert!(
            v["error"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    // An attachment over the limit: 413 naming the file, nothing registered.
    let form = reqwest::multipart::Form::new()
        .text("body", "lihat foto")
        .part(
            "foto",
            reqwest::multipart::Part::bytes(vec![0u8; 2048])
                .file_name("jalan.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let r = app
        .http
        .post(app.url("/api/v1/complaints"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("jalan.jpg"));
    // An unknown multipart field is refused like an unknown JSON field.
    let form = reqwest::multipart::Form::new()
        .text("body", "x")
        .text("role", "admin");
    let r = app
        .http
        .post(app.url("/api/v1/complaints"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        scalar(&app.core.db, "SELECT COUNT(*) FROM complaints").await,
        0
    );
    // Unknown routes, ids and list parameters: JSON errors too.
    let admin0 = app.officer("root0", Role::Admin).await;
    let r = app
        .http
        .get(app.url("/api/v1/attachments/abc"))
        .bearer_auth(&admin0)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("abc"));
    let r = app
        .http
        .delete(app.url("/api/v1/complaints"))
        .bearer_auth(&admin0)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.json::<Value>().await.is_ok());
    assert_eq!(
        app.http
            .get(app.url("/api/v1/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let admin = app.officer("root", Role::Admin).await;
    let r = app
        .http
        .get(app.url("/api/v1/complaints?colour=red"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .http
        .get(app.url("/api/v1/complaints?status=lost"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}
both!(bad_input_is_refused_clearly_and_stores_nothing);

async fn rate_limit_per_client(backend: Backend) {
    let Some(app) = spawn_app(backend, &[("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "2")]).await else {
        return;
    };
    let mut statuses = Vec::new();
    for i in 0..3 {
        let r = app
            .http
            .post(app.url("/api/v1/complaints"))
            .json(&json!({"body": format!("aduan {i}")}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert_eq!(
        statuses,
        vec![
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(
        scalar(&app.core.db, "SELECT COUNT(*) FROM complaints").await,
        2
    );
    app.stop().await;
}
both!(rate_limit_per_client);

async fn post_action(app: &App, token: &str, no: &str, body: Value) -> (StatusCode, Value) {
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/actions")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// The SOP from counter intake to closing, through the API, with the audit trail.
async fn sop_workflow_end_to_end(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let fo = app.officer("fo", Role::FrontOffice).await;
    let kasi = app.officer("kasi", Role::SectionHead).await;
    let tim = app.officer("tim", Role::TechnicalTeam).await;
    let kabid = app.officer("kabid", Role::DivisionHead).await;
    let sekretaris = app.officer("sekretaris", Role::Secretary).await;
    let kadis = app.officer("kadis", Role::HeadOfOffice).await;
    // Walk-in complaint typed in at the counter.
    let r = app
        .http
        .post(app.url("/api/v1/counter"))
        .bearer_auth(&fo)
        .json(&json!({"medium": "walk_in", "name": "Ibu Sari", "subject": "IMB", "body": "Permohonan IMB saya hilang"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let no = r.json::<Value>().await.unwrap()["register_no"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = app
        .http
        .post(app.url("/api/v1/counter"))
        .bearer_auth(&fo)
        .json(&json!({"medium": "pigeon", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Wrong role, wrong order, missing note: refused with reasons.
    assert_eq!(
        post_action(&app, &fo, &no, json!({"action": "verify"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_action(&app, &kasi, &no, json!({"action": "approve"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_action(&app, &kabid, &no, json!({"action": "approve"}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        post_action(&app, &kasi, &no, json!({"action": "fly"}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post_action(&app, &kasi, "ADU-1999-000001", json!({"action": "verify"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = post_action(&app, &kasi, &no, json!({"action": "verify"})).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("verified"))
    );
    assert_eq!(
        post_action(
            &app,
            &kabid,
            &no,
            json!({"action": "dispose", "note": "tinjau"})
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "assignee required"
    );
    let (s, v) = post_action(
        &app,
        &kabid,
        &no,
        json!({"action": "dispose", "note": "mohon ditinjau", "assignee": "tim"}),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("disposed"))
    );
    assert_eq!(
        post_action(&app, &tim, &no, json!({"action": "record_field_review"}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "note required"
    );
    // The review's report (BAP) is required, as a file.
    let (s, v) = post_action(
        &app,
        &tim,
        &no,
        json!({"action": "record_field_review", "note": "berkas ditemukan"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"].as_str().unwrap_or("").contains("BAP"), "{v}");
    let bap = b"%PDF-1.4 berita acara peninjauan";
    let (s, v) = action_with_files(
        &app,
        &tim,
        &no,
        &[
            ("action", "record_field_review"),
            ("note", "berkas ditemukan"),
        ],
        &[("bap-ADU.pdf", "application/pdf", bap)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Kept as the complaint's document, never sent.
    let d: Value = app
        .http
        .get(app.url(&format!("/api/v1/complaints/{no}")))
        .bearer_auth(&kasi)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["documents"][0]["kind"], "bap");
    assert_eq!(d["documents"][0]["filename"], "bap-ADU.pdf");
    let got = app
        .http
        .get(app.url(&format!("/api/v1/documents/{}", d["documents"][0]["id"])))
        .bearer_auth(&kasi)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], bap);
    // Files go only with the BAP.
    let (s, _) = action_with_files(
        &app,
        &kasi,
        &no,
        &[("action", "draft_answer"), ("note", "x")],
        &[("x.pdf", "application/pdf", b"%PDF")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // My queue.
    let q: Value = app
        .http
        .get(app.url("/api/v1/complaints?assignee=me"))
        .bearer_auth(&tim)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 1);
    assert_eq!(post_action(&app, &kasi, &no, json!({"action": "draft_answer", "note": "Berkas IMB Ibu sudah ditemukan dan dapat diambil di loket 5."})).await.0, StatusCode::OK);
    // Kabid initials, Sekretaris initials, Kadis signs.
    for approver in [&kabid, &sekretaris, &kadis] {
        assert_eq!(
            post_action(&app, approver, &no, json!({"action": "approve"}))
                .await
                .0,
            StatusCode::OK
        );
    }
    let (s, v) = post_action(&app, &fo, &no, json!({"action": "send_answer"})).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("answered"))
    );
    assert_eq!(
        post_action(&app, &fo, &no, json!({"action": "close"}))
            .await
            .0,
        StatusCode::OK
    );
    // The answer went out through the counter channel, and everything is in the audit trail.
    let detail = || {
        let (app, no, fo) = (&app, no.clone(), fo.clone());
        async move {
            app.http
                .get(app.url(&format!("/api/v1/complaints/{no}")))
                .bearer_auth(&fo)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert!(
        eventually(5, || async {
            detail().await["outbox"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["kind"] == "answer" && o["status"] == "sent")
        })
        .await
    );
    let d = detail().await;
    assert_eq!(d["status"], "closed");
    assert_eq!(d["medium"], "walk_in");
    let actions: Vec<&str> = d["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "register",
            "verify",
            "dispose",
            "record_field_review",
            "draft_answer",
            "approve",
            "approve",
            "approve",
            "send_answer",
            "letter",
            "close"
        ]
    );
    assert_eq!(d["audit"][0]["actor"], "fo");
    let answer = d["thread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "out" && m["body"].as_str().unwrap().contains("loket 5"))
        .expect("answer in thread");
    assert_eq!(answer["channel"], "counter");
    // Closed: no more actions.
    assert_eq!(
        post_action(&app, &kasi, &no, json!({"action": "verify"}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    app.stop().await;
}
both!(sop_workflow_end_to_end);

async fn return_incomplete_and_replies(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let fo = app.officer("fo", Role::FrontOffice).await;
    let tim = app.officer("tim", Role::TechnicalTeam).await;
    let (no, code) = app.submit(json!({"body": "Izin saya"})).await;
    let (s, v) = post_action(
        &app,
        &fo,
        &no,
        json!({"action": "return_incomplete", "note": "Mohon lampirkan KTP dan nomor berkas."}),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("incomplete"))
    );
    // A reply by an officer, through the originating channel (web: the tracking page).
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/replies")))
        .bearer_auth(&fo)
        .json(&json!({"text": "Terima kasih, kami tunggu."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/replies")))
        .bearer_auth(&tim)
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/replies")))
        .bearer_auth(&fo)
        .json(&json!({"text": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let track = || {
        app.http
            .get(app.url(&format!("/api/v1/track/{no}")))
            .query(&[("code", &code)])
            .send()
    };
    assert!(
        eventually(5, || async {
            track().await.unwrap().json::<Value>().await.unwrap()["replies"]
                .as_array()
                .unwrap()
                .len()
                == 3
        })
        .await
    );
    let t: Value = track().await.unwrap().json().await.unwrap();
    assert_eq!(t["status"], "incomplete");
    assert!(t["replies"][1]["text"].as_str().unwrap().contains("KTP"));
    assert!(t["replies"][2]["text"]
        .as_str()
        .unwrap()
        .contains("kami tunggu"));
    app.stop().await;
}
both!(return_incomplete_and_replies);

async fn attachments_and_list_filters(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let kasi = app.officer("kasi", Role::SectionHead).await;
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("body", "Jalan berlubang di Jl. Merdeka")
        .text("subject", "Jalan rusak")
        .part(
            "a",
            reqwest::multipart::Part::bytes(html.clone())
                .file_name("bukti\".html")
                .mime_str("text/html")
                .unwrap(),
        )
        .part(
            "b",
            reqwest::multipart::Part::bytes(vec![0x89, b'P', b'N', b'G'])
                .file_name("foto jalan.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let r = app
        .http
        .post(app.url("/api/v1/complaints"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let no = r.json::<Value>().await.unwrap()["register_no"]
        .as_str()
        .unwrap()
        .to_string();
    app.http
        .post(app.url("/api/v1/complaints"))
        .json(&json!({"body": "Pelayanan lambat", "subject": "Antrian"}))
        .send()
        .await
        .unwrap();
    let d: Value = app
        .http
        .get(app.url(&format!("/api/v1/complaints/{no}")))
        .bearer_auth(&kasi)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let atts = d["thread"][0]["attachments"].as_array().unwrap().clone();
    assert_eq!(atts.len(), 2);
    // Served as downloads with an inert type: stored HTML never renders.
    let a = app
        .http
        .get(app.url(&format!("/api/v1/attachments/{}", atts[0]["id"])))
        .bearer_auth(&kasi)
        .send()
        .await
        .unwrap();
    assert_eq!(a.headers()["content-type"], "application/octet-stream");
    assert_eq!(a.headers()["x-content-type-options"], "nosniff");
    let cd = a.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("attachment;") && !cd.contains("bukti\".html"),
        "{cd}"
    );
    assert_eq!(a.bytes().await.unwrap().to_vec(), html);
    let b = app
        .http
        .get(app.url(&format!("/api/v1/attachments/{}", atts[1]["id"])))
        .bearer_auth(&kasi)
        .send()
        .await
        .unwrap();
    assert_eq!(b.headers()["content-type"], "image/png");
    // Filters and search.
    let list = |q: &str| {
        let url = app.url(&format!("/api/v1/complaints?{q}"));
        let (app, kasi) = (&app, kasi.clone());
        async move {
            app.http
                .get(url)
                .bearer_auth(kasi)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(list("").await["total"], 2);
    assert_eq!(list("q=merdeka").await["total"], 1);
    assert_eq!(
        list("q=MERDEKA").await["items"][0]["register_no"],
        no.as_str()
    );
    assert_eq!(list("q=100%25").await["total"], 0);
    assert_eq!(list("channel=web&status=registered").await["total"], 2);
    assert_eq!(list("channel=sms").await["total"], 0);
    assert_eq!(list("overdue=true").await["total"], 0);
    let page = list("per_page=1&page=2").await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    // Make one overdue.
    sqlx::query("UPDATE complaints SET due_at = 1 WHERE register_no = $1")
        .bind(&no)
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    assert_eq!(
        list("overdue=true").await["items"][0]["register_no"],
        no.as_str()
    );
    app.stop().await;
}
both!(attachments_and_list_filters);

/// One definition of "overdue": a complaint past its due time that was answered (and is still
/// open) is overdue nowhere — not in the API, the inbox, the dashboard, nor `/metrics`.
async fn overdue_is_one_definition(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let kasi = app.officer("kasi", Role::SectionHead).await;
    let (late, _) = app
        .submit(json!({"body": "Izin usaha belum terbit", "email": "a@example.com"}))
        .await;
    let (answered, _) = app
        .submit(json!({"body": "Jalan rusak di depan kantor", "email": "b@example.com"}))
        .await;
    sqlx::query("UPDATE complaints SET due_at = 1")
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE complaints SET answered_at = 2 WHERE register_no = $1")
        .bind(&answered)
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    let listed: Value = app
        .http
        .get(app.url("/api/v1/complaints?overdue=true"))
        .bearer_auth(&kasi)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["register_no"], late.as_str());
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
        metrics.lines().any(|l| l == "aduan_complaints_overdue 1"),
        "{metrics}"
    );
    let recap = aduan::recap::compute(
        &app.core,
        aduan::recap::Period::parse(&chrono::Utc::now().format("%Y-%m").to_string()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(recap.overdue_open, 1);
    app.stop().await;
}
both!(overdue_is_one_definition);

/// The register's stored names are read back as the domain's types on both databases: a
/// counter complaint's medium, status, language and channel, and its flags; a name the domain
/// does not know is an error naming its column, never a silent default.
async fn stored_names_decode_into_the_domain(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let (no, _) = app
        .submit(json!({"body": "Jalan rusak", "email": "a@example.com", "lang": "en"}))
        .await;
    sqlx::query("UPDATE complaints SET medium = 'telephone', status = 'answer_drafted' WHERE register_no = $1")
        .bind(&no)
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    let c = aduan::register::complaint_by_no(&app.core.db.pool, &no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, aduan::workflow::Status::AnswerDrafted);
    assert_eq!(c.medium, Some(aduan_channel::CounterMedium::Telephone));
    assert_eq!(c.lang, aduan_channel::Lang::En);
    assert_eq!(c.channel, aduan_channel::ChannelKind::Web);
    assert!(!c.auto_generated);
    sqlx::query("UPDATE complaints SET status = 'done' WHERE register_no = $1")
        .bind(&no)
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    let e = aduan::register::complaint_by_no(&app.core.db.pool, &no)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("status") && e.contains("`done`"), "{e}");
}
both!(stored_names_decode_into_the_domain);

async fn health_ready_metrics(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let h = app.http.get(app.url("/healthz")).send().await.unwrap();
    for (name, want) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        assert_eq!(h.headers()[name], want, "{name} on every answer");
    }
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let r: Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ready"], true);
    app.http
        .post(app.url("/api/v1/complaints"))
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert!(
        eventually(5, || async {
            let m = app
                .http
                .get(app.url("/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            m.contains("aduan_intake_messages_total{channel=\"web\",outcome=\"created\"} 1")
                && m.contains("aduan_outbox_sends_total{channel=\"web\",result=\"sent\"} 1")
                && m.contains("aduan_complaints_open 1")
        })
        .await
    );
    // With the register gone, readiness says so.
    app.core.db.close().await;
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = app
        .http
        .post(app.url("/api/v1/complaints"))
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a submission that cannot be stored is not acknowledged"
    );
    app.stop().await;
}
both!(health_ready_metrics);

/// The tracking page receipts link to: a code form, then status and replies, all escaped.
async fn tracking_page_is_inert_html(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let fo = app.officer("fo", Role::FrontOffice).await;
    let (no, code) = app
        .submit(json!({"body": "<script>alert(1)</script>"}))
        .await;
    // The receipt (published on the page) links to the page.
    let receipt_links = || async {
        let t: Value = app
            .http
            .get(app.url(&format!("/api/v1/track/{no}")))
            .query(&[("code", &code)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        t["replies"][0]["text"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("/lacak/{no}")))
    };
    assert!(eventually(5, receipt_links).await);
    let evil = "<img src=x onerror=alert(1)> & \"quotes\"";
    let r = app
        .http
        .post(app.url(&format!("/api/v1/complaints/{no}/replies")))
        .bearer_auth(&fo)
        .json(&json!({"text": evil}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let page = |q: String| {
        let url = app.url(&format!("/lacak/{no}{q}"));
        let http = app.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let form = page(String::new()).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert!(form.text().await.unwrap().contains("name=\"code\""));
    assert!(
        eventually(5, || async {
            page(format!("?code={code}"))
                .await
                .text()
                .await
                .unwrap()
                .contains("onerror")
        })
        .await
    );
    let html = page(format!("?code={code}")).await.text().await.unwrap();
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;"),
        "{html}"
    );
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "{html}"
    );
    assert!(html.contains("diterima dan dicatat"), "{html}");
    let en = page(format!("?code={code}&lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(en.contains("Track a complaint"));
    let wrong = page("?code=XXXXXXXXXX".into()).await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    assert!(wrong.text().await.unwrap().contains("tidak cocok"));
    let injected = app
        .http
        .get(app.url("/lacak/%3Cscript%3E"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!injected.contains("<script>"), "{injected}");
    app.stop().await;
}
both!(tracking_page_is_inert_html);

/// Two officers sending the same approved answer at once: one wins, the answer goes out once.
async fn concurrent_actions_apply_once(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let kasi = app.officer("kasi", Role::SectionHead).await;
    let kabid = app.officer("kabid", Role::DivisionHead).await;
    let fo = app.officer("fo", Role::FrontOffice).await;
    let sekretaris = app.officer("sekretaris", Role::Secretary).await;
    let kadis = app.officer("kadis", Role::HeadOfOffice).await;
    let (no, _) = app.submit(json!({"body": "x"})).await;
    for (token, body) in [
        (&kasi, json!({"action": "verify"})),
        (&kasi, json!({"action": "draft_answer", "note": "Jawaban"})),
        (&kabid, json!({"action": "approve"})),
        (&sekretaris, json!({"action": "approve"})),
        (&kadis, json!({"action": "approve"})),
    ] {
        assert_eq!(post_action(&app, token, &no, body).await.0, StatusCode::OK);
    }
    let (a, b) = tokio::join!(
        post_action(&app, &fo, &no, json!({"action": "send_answer"})),
        post_action(&app, &kasi, &no, json!({"action": "send_answer"})),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let answers = scalar(
        &app.core.db,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'answer'",
    )
    .await;
    assert_eq!(answers, 1);
    app.stop().await;
}
both!(concurrent_actions_apply_once);

/// A rotated token replaces the old one at once.
async fn rotated_token_replaces_old(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let old = app.officer("siti", Role::FrontOffice).await;
    let new = aduan::officers::rotate_token(&app.core.db, "siti")
        .await
        .unwrap();
    let me = |t: String| {
        let (http, url) = (app.http.clone(), app.url("/api/v1/me"));
        async move { http.get(url).bearer_auth(t).send().await.unwrap().status() }
    };
    assert_eq!(me(old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(new).await, StatusCode::OK);
    app.stop().await;
}
both!(rotated_token_replaces_old);

/// `/metrics` passes `promtool check metrics` (exposition and naming lint): counters are
/// counters ending in `_total`, gauges have help, the request-duration histogram is whole.
/// With channels that export their own values (SMS via the simulator is not needed: the
/// built-in ones and the web channel's traffic suffice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool() {
    let promtool = std::path::Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but promtool is missing (scripts/ensure-promtool)");
        }
        eprintln!("SKIP: promtool not installed");
        return;
    }
    let Some(app) = spawn_app(Backend::Sqlite, &[]).await else {
        return;
    };
    app.submit(json!({"body": "lampu jalan mati"})).await;
    let _ = app.http.get(app.url("/healthz")).send().await.unwrap();
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("aduan_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert!(text.contains("# TYPE aduan_outbox_send_attempts_total counter"));
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("aduan_channel_up{channel=\"web\"} 1"));
    // The example alert rules in contrib/ are valid.
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/prometheus/aduan-alerts.yml"
    );
    let out = std::process::Command::new(promtool)
        .args(["check", "rules", rules])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
}

/// Every metric the Grafana dashboard and the alert rules in `contrib/` use is one aduan
/// exports (listed in the README's metrics catalogue), and the dashboard is valid JSON.
#[test]
fn contrib_uses_exported_metrics() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let dashboard = std::fs::read_to_string(format!("{root}/contrib/grafana/aduan.json")).unwrap();
    let _: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard JSON");
    let rules =
        std::fs::read_to_string(format!("{root}/contrib/prometheus/aduan-alerts.yml")).unwrap();
    for text in [&dashboard, &rules] {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("aduan_") {
            let name: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            rest = &rest[i + name.len()..];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name);
            assert!(
                readme.contains(&format!("`{base}`")),
                "{base} is used in contrib/ but not in the README's metrics catalogue"
            );
        }
    }
}

/// The README's metrics table and what aduan exports are the same list: every metric `/metrics`
/// renders (and every gauge a channel crate reports) has its row, and every row names a metric
/// that exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_metrics_table_is_the_exported_list() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let app = spawn_app(Backend::Sqlite, &[]).await.unwrap();
    // The backup gauge appears once a backup was taken.
    let dir = std::env::temp_dir().join(format!(
        "aduan-metrics-{}",
        aduan::register::tracking_code()
    ));
    let url = app.db.as_ref().unwrap().url.clone();
    aduan::backup::backup(&app.core.db, &url, &dir.join("a.backup"))
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    app.stop().await;
    let mut exported: std::collections::BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    // Channels' own gauges (SMS modems, IMAP, Telegram, LAPOR!) are named in their crates.
    for krate in ["sms", "email", "telegram", "lapor", "whatsapp"] {
        let mut stack = vec![std::path::PathBuf::from(format!(
            "{root}/channels/{krate}/src"
        ))];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                if p.is_dir() {
                    stack.push(p);
                } else if name.ends_with(".rs") && name != "config.rs" && name != "tests.rs" {
                    let src = std::fs::read_to_string(&p).unwrap();
                    for part in src.split('"').skip(1).step_by(2) {
                        if part.starts_with("aduan_")
                            && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        {
                            exported.insert(part.to_string());
                        }
                    }
                }
            }
        }
    }
    assert!(exported.len() > 25, "{exported:?}");
    let section = readme
        .split("## Metrics")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Metrics section");
    let mut listed = std::collections::BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `aduan_")) {
        let first = row.split('|').nth(1).unwrap();
        for name in first.split('`').skip(1).step_by(2) {
            listed.insert(name.to_string());
        }
    }
    let missing: Vec<_> = exported.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "exported but not in the README's table: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "in the README's table but not exported: {stale:?}"
    );
}

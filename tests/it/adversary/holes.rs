//! Issue 21, items 4–7: the edge holes a stranger or an officer of another role could use —
//! a public post of thousands of files, a confirmation page offered to a role that may not
//! make the move, a login form accepting a cookie and token someone else made up, and an
//! officer upload read before its token was checked.

use std::time::Duration;

use aduan::db::Backend;
use aduan::workflow::Role;
use aduan_channel::Attachment;
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::*;
use crate::intake::email;
use crate::ui::Browser;

fn files_form(n: usize) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().text("body", "Banyak lampiran");
    for i in 0..n {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(vec![b'x'])
                .file_name(format!("f{i}.txt"))
                .mime_str("text/plain")
                .unwrap(),
        );
    }
    form
}

/// Item 4: a submission carries at most `intake.max_attachments` files (20), on the API, the
/// public form and the counter: 21 files or 20,000 one-byte files are refused whole (413, in
/// words on the form) with nothing stored; a mail with 25 files keeps 20 and is flagged.
async fn attachments_per_submission_are_bounded(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    for n in [21, 20_000] {
        let r = app
            .http
            .post(app.url("/api/v1/complaints"))
            .multipart(files_form(n))
            .send()
            .await;
        // The refusal may come while the client still sends (then the connection is cut).
        if let Ok(r) = r {
            assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{n} files");
            let v: serde_json::Value = r.json().await.unwrap();
            assert!(v["error"].as_str().unwrap().contains("at most 20"), "{v}");
        } else {
            assert!(n > 21, "21 files are answered");
        }
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 0);
    app.submit_multipart(files_form(20)).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 20);
    // The public form says it in Indonesian and keeps nothing.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(app.url("/aduan")).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("aduan_form="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    let i = html.find("/aduan?t=").unwrap();
    let action: String = html[i..].chars().take_while(|c| *c != '"').collect();
    let action = action.replace("&amp;", "&");
    let r = http
        .post(app.url(&action))
        .header("cookie", cookie)
        .multipart(files_form(21))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = r.text().await.unwrap();
    assert!(body.contains("maksimal 20 berkas"), "{body}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    // Another channel's message keeps the first 20 and is flagged.
    let mut m = email("many@x", "many@contoh.id", "Foto", "Banyak foto");
    m.attachments = (0..25)
        .map(|i| Attachment {
            filename: format!("foto{i}.jpg"),
            content_type: "image/jpeg".into(),
            data: vec![i as u8; 3],
        })
        .collect();
    let c = aduan::intake::submit(&app.core, m).await.unwrap();
    let flagged: Option<String> =
        sqlx::query_scalar("SELECT flagged FROM complaints WHERE register_no = $1")
            .bind(&c.register_no)
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap();
    assert!(flagged.unwrap_or_default().contains("25 attachments"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 40);
    app.stop().await;
}
both!(attachments_per_submission_are_bounded);

/// Item 5: the technical team forging `close` (or `send_answer`) on a new complaint is not
/// shown "Ya, kirim": the refusal says, in words, whose move it is; the front office still
/// gets the confirmation for its own move.
async fn no_confirmation_for_a_forbidden_move(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let (no, _) = app.submit(json!({"body": "Jalan rusak"})).await;
    app.web_officer("tono", Role::TechnicalTeam).await;
    let mut tech = Browser::new(&app);
    tech.login("tono", PASSWORD).await;
    let p = tech.go("GET", "/kotak", &[]).await;
    let csrf = Browser::csrf(&p);
    for action in ["close", "send_answer", "return_incomplete"] {
        let r = tech
            .go(
                "POST",
                &format!("/kotak/{no}/aksi"),
                &[("csrf", &csrf), ("action", action), ("note", "palsu")],
            )
            .await;
        assert!(
            r.status == StatusCode::FORBIDDEN || r.status == StatusCode::CONFLICT,
            "{action}: {}",
            r.status
        );
        assert!(!r.body.contains("Ya, kirim"), "{action}");
        assert!(
            r.body.contains("bukan wewenang") || r.body.contains("kini berstatus"),
            "{action}: {}",
            r.body
        );
    }
    app.web_officer("siti", Role::FrontOffice).await;
    let mut fo = Browser::new(&app);
    fo.login("siti", PASSWORD).await;
    let p = fo.go("GET", "/kotak", &[]).await;
    let csrf = Browser::csrf(&p);
    let r = fo
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[
                ("csrf", &csrf),
                ("action", "return_incomplete"),
                ("note", "Lengkapi KTP"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Ya, kirim"));
    app.stop().await;
}
both!(no_confirmation_for_a_forbidden_move);

/// Item 6: the login form takes only a token this register signed, from our own origin: a
/// made-up cookie and token pair, a real pair posted from a sibling site, or one from another
/// origin get no session; behind HTTPS the cookie is `__Host-` (no sibling host can set it).
async fn login_csrf_is_bound(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    app.web_officer("siti", Role::FrontOffice).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |cookie: String, csrf: String, extra: Vec<(&'static str, &'static str)>| {
        let http = http.clone();
        let url = app.url("/masuk");
        async move {
            let mut b = http.post(url).header("cookie", cookie).form(&[
                ("csrf", csrf.as_str()),
                ("username", "siti"),
                ("password", PASSWORD),
            ]);
            for (k, v) in extra {
                b = b.header(k, v);
            }
            let r = b.send().await.unwrap();
            let session = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .any(|v| v.to_str().unwrap().starts_with("aduan_session="));
            (r.status(), session)
        }
    };
    let made_up = "a".repeat(64);
    let (s, session) = post(format!("aduan_login={made_up}"), made_up.clone(), vec![]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(!session, "a made-up pair logs in");
    // A real pair: the page's cookie and field.
    let real = || async {
        let p = http.get(app.url("/masuk")).send().await.unwrap();
        let c = p
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("aduan_login="))
            .unwrap();
        let cookie = c.split(';').next().unwrap().to_string();
        let body = p.text().await.unwrap();
        (cookie, Browser::csrf_of(&body))
    };
    let (cookie, csrf) = real().await;
    let (s, session) = post(
        cookie.clone(),
        csrf.clone(),
        vec![("sec-fetch-site", "same-site")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(!session);
    let (s, _) = post(
        cookie.clone(),
        csrf.clone(),
        vec![("origin", "http://kantor-lain.contoh.id")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A pair whose mac does not match.
    let last = if csrf.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &csrf[..csrf.len() - 1]);
    let (s, _) = post(format!("aduan_login={forged}"), forged, vec![]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, session) = post(cookie, csrf, vec![("sec-fetch-site", "same-origin")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(session, "the real pair logs in");
    app.stop().await;
    // Behind HTTPS: a `__Host-` cookie, Secure.
    let Some(app) = spawn_app(
        backend,
        &[("ADUAN_OFFICE__PUBLIC_URL", "https://aduan.contoh.id")],
    )
    .await
    else {
        return;
    };
    let p = app.http.get(app.url("/masuk")).send().await.unwrap();
    let c = p
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.contains("aduan_login="))
        .unwrap();
    assert!(
        c.starts_with("__Host-aduan_login=") && c.contains("Secure") && c.contains("Path=/"),
        "{c}"
    );
    assert!(!c.contains("Domain"), "{c}");
    app.stop().await;
}
both!(login_csrf_is_bound);

/// Item 7: an officer upload (`/kotak/{no}/bap`, up to 25 MiB) is refused on its token and
/// role before its body is read: 20 parallel forged 20 MiB uploads leave the real daemon's
/// peak memory where it was.
async fn officer_uploads_checked_before_read(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    {
        let cfg = test_config(&db.url, &[]);
        let core = open_core(&cfg).await;
        aduan::officers::add(&core.db, "tono", "", Role::TechnicalTeam)
            .await
            .unwrap();
        aduan::web::session::set_password(&core.db, "tono", PASSWORD)
            .await
            .unwrap();
        core.db.close().await;
    }
    let d = RealDaemon::spawn(
        &db.url,
        &[
            ("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "0"),
            ("ADUAN_WEB__MAX_BODY_BYTES", "26214400"),
            ("ADUAN_INTAKE__MAX_ATTACHMENT_BYTES", "26214400"),
        ],
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let r = http
        .post(d.url("/api/v1/complaints"))
        .json(&json!({"body": "Tinjau jalan"}))
        .send()
        .await
        .unwrap();
    let no = r.json::<serde_json::Value>().await.unwrap()["register_no"]
        .as_str()
        .unwrap()
        .to_string();
    // Log in as the technical team.
    let p = http.get(d.url("/masuk")).send().await.unwrap();
    let login_cookie = p
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("aduan_login="))
        .unwrap();
    let login_cookie = login_cookie.split(';').next().unwrap().to_string();
    let csrf = Browser::csrf_of(&p.text().await.unwrap());
    let r = http
        .post(d.url("/masuk"))
        .header("cookie", &login_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "tono"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("aduan_session="))
        .expect("logged in");
    let session = session.split(';').next().unwrap().to_string();
    let big = vec![b'x'; 20 * 1024 * 1024];
    let before = d.status_kib("VmHWM");
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (http, url, cookie, big) = (
            http.clone(),
            d.url(&format!("/kotak/{no}/bap?csrf={}", "0".repeat(64))),
            session.clone(),
            big.clone(),
        );
        set.spawn(async move {
            let form = reqwest::multipart::Form::new()
                .text("csrf", "0".repeat(64))
                .text("note", format!("palsu {i}"))
                .part(
                    "bap",
                    reqwest::multipart::Part::bytes(big)
                        .file_name("bap.pdf")
                        .mime_str("application/pdf")
                        .unwrap(),
                );
            http.post(url)
                .header("cookie", cookie)
                .multipart(form)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    let mut codes = Vec::new();
    while let Some(c) = set.join_next().await {
        codes.push(c.unwrap());
    }
    let peak = d.status_kib("VmHWM");
    eprintln!(
        "EDGE 20 forged 20 MiB officer uploads: peak {before} → {peak} KiB, answers {codes:?}"
    );
    assert!(codes.iter().all(|c| matches!(c, 403 | 0)), "{codes:?}");
    assert!(
        peak < before + 16 * 1024,
        "forged uploads were read: peak {before} → {peak} KiB"
    );
    d.stop().await;
    db.drop_db().await;
}
both!(officer_uploads_checked_before_read);

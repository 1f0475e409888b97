//! The officers' web pages over HTTP: login with argon2 passwords and login CSRF, session
//! cookies, CSRF on every form, logout, password change, throttling, the inbox with complaints
//! of several channels rendered inert, and every page route sending strangers to the login.

use std::collections::BTreeMap;

use aduan::db::Backend;
use aduan::web::{Access, ROUTES};
use aduan::workflow::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::*;

/// A browser without JavaScript: keeps cookies, does not follow redirects.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Browser {
    pub(crate) fn new(app: &App) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: BTreeMap::new(),
        }
    }

    pub(crate) async fn go(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let mut b = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            b = b.header("cookie", c.join("; "));
        }
        if method == "POST" {
            b = b.form(form);
        }
        let r = b.send().await.unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let set_cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let kv = c.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        Page {
            status,
            location,
            set_cookies,
            body: r.text().await.unwrap(),
        }
    }

    /// `GET path` as this browser, the answer's status, headers and bytes (files too).
    pub(crate) async fn fetch(
        &self,
        path: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let c: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", c.join("; "))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        (status, headers, r.bytes().await.unwrap().to_vec())
    }

    /// The hidden `csrf` field of the page.
    pub(crate) fn csrf(page: &Page) -> String {
        Self::csrf_of(&page.body)
    }

    /// The hidden `csrf` field of a page's HTML (the login form's is longer than 64).
    pub(crate) fn csrf_of(body: &str) -> String {
        let i = body.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
        body[i..].chars().take_while(|c| *c != '"').collect()
    }

    pub(crate) async fn login(&mut self, user: &str, password: &str) -> Page {
        let p = self.go("GET", "/masuk", &[]).await;
        let csrf = Self::csrf(&p);
        self.go(
            "POST",
            "/masuk",
            &[("csrf", &csrf), ("username", user), ("password", password)],
        )
        .await
    }
}

async fn web_sessions_and_csrf(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let fo = app.web_officer("siti", Role::FrontOffice).await;
    // Complaints from two channels, one with markup in it.
    app.submit(
        json!({"name": "<img src=x onerror=alert(1)>", "email": "budi@example.id",
        "subject": "<script>alert('xss')</script>", "body": "Izin belum terbit"}),
    )
    .await;
    let r = app
        .http
        .post(app.url("/api/v1/counter"))
        .bearer_auth(&fo)
        .json(&json!({"name": "Ani", "subject": "Antrian loket", "body": "Lama sekali", "medium": "walk_in"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let mut b = Browser::new(&app);
    // Strangers are sent to the login page from every page route.
    for r in ROUTES {
        if let Access::Session(_) = r.access {
            let p = b.go(r.method, r.path, &[]).await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{} {}", r.method, r.path);
            assert_eq!(
                p.location.as_deref(),
                Some("/masuk"),
                "{} {}",
                r.method,
                r.path
            );
        }
    }
    // The login form refuses a post without its CSRF token.
    let p = b
        .go(
            "POST",
            "/masuk",
            &[("username", "siti"), ("password", "rahasia-panjang-1")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = b.login("siti", "salah-sekali").await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("salah"));
    let p = b.login("siti", "rahasia-panjang-1").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/kotak"));
    let sc = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("aduan_session="))
        .unwrap();
    assert!(
        sc.contains("HttpOnly") && sc.contains("SameSite=Lax"),
        "{sc}"
    );

    // The inbox: both channels, markup inert.
    let p = b.go("GET", "/kotak", &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains(">Web<") && p.body.contains(">Loket<"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("&lt;script&gt;alert('xss')&lt;/script&gt;")
            || p.body
                .contains("&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;")
    );
    assert!(!p.body.contains("<script>alert"));
    assert!(!p.body.contains("<img src=x"));
    let p = b.go("GET", "/kotak?channel=counter", &[]).await;
    assert!(p.body.contains("Antrian loket") && !p.body.contains("alert("));
    let p = b.go("GET", "/kotak?q=antrian&lang=en", &[]).await;
    assert!(p.body.contains("Antrian loket") && p.body.contains("Inbox"));

    // Forms need the session's CSRF token.
    let csrf = Browser::csrf(&p);
    assert_eq!(
        b.go("POST", "/keluar", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.go("POST", "/keluar", &[("csrf", &"0".repeat(64))])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.go(
            "POST",
            "/akun/sandi",
            &[
                ("current", "rahasia-panjang-1"),
                ("new", "baru-panjang-sekali")
            ]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // Password change: the current one is required; afterwards every session ends.
    let p = b
        .go(
            "POST",
            "/akun/sandi",
            &[
                ("csrf", &csrf),
                ("current", "salah-sekali"),
                ("new", "baru-panjang-sekali"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    let p = b
        .go(
            "POST",
            "/akun/sandi",
            &[
                ("csrf", &csrf),
                ("current", "rahasia-panjang-1"),
                ("new", "baru-panjang-sekali"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        b.go("GET", "/kotak", &[]).await.status,
        StatusCode::SEE_OTHER,
        "old session ended"
    );
    assert_eq!(
        b.login("siti", "rahasia-panjang-1").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.login("siti", "baru-panjang-sekali").await.status,
        StatusCode::SEE_OTHER
    );
    // Logout ends the session.
    let p = b.go("GET", "/kotak", &[]).await;
    let csrf = Browser::csrf(&p);
    let p = b.go("POST", "/keluar", &[("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/masuk"));
    assert_eq!(
        b.go("GET", "/kotak", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM sessions").await,
        0,
        "no session left behind"
    );

    // Failed logins are throttled per user name and address, even with the right password
    // then; a success forgives the officer's own failures.
    for _ in 0..5 {
        assert_eq!(
            b.login("siti", "salah-sekali").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let p = b.login("siti", "baru-panjang-sekali").await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    // The guesser locked only their own tries at this name: another name is still checked.
    assert_eq!(
        b.login("nobody", "whatever-else").await.status,
        StatusCode::UNAUTHORIZED
    );
    // `aduan officer unlock siti` ends it at once.
    assert!(
        aduan::web::session::unlock(&app.core.db, "siti")
            .await
            .unwrap()
            >= 5
    );
    assert_eq!(
        b.login("siti", "baru-panjang-sekali").await.status,
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}
both!(web_sessions_and_csrf);

/// The complaint page: thread, reply target, only the actions the role may take now; an action
/// the role may not take is refused even when posted by hand; replies are queued; CSRF checked.
async fn web_complaint_page(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    // An email adapter runs too, so the reply to a web complaint also goes to its email.
    let cfg = test_config(&db.url, &[]);
    let email = crate::testchannel::ScriptedChannel::new(aduan_channel::ChannelKind::Email, vec![]);
    let core = open_core_with(&cfg, vec![email]).await;
    let app = start(core, &cfg, Some(db)).await;
    app.web_officer("siti", Role::FrontOffice).await;
    let (no, _) = app
        .submit(
            json!({"name": "Budi", "email": "budi@example.id", "subject": "Izin usaha",
            "body": "Izin <b>belum</b> terbit"}),
        )
        .await;
    let mut b = Browser::new(&app);
    assert_eq!(
        b.login("siti", "rahasia-panjang-1").await.status,
        StatusCode::SEE_OTHER
    );
    let p = b.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("Izin &lt;b&gt;belum&lt;/b&gt; terbit"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(
            "Balasan dikirim melalui <strong>Web</strong> → halaman lacak dan <strong>Surel</strong> → email:"
        ),
        "the reply targets are named: {}",
        p.body
    );
    // The reply line names the channels with masked addresses; the complainant panel shows
    // this complaint's contacts in full (officer pages only).
    let panel = &p.body[p.body.find("<aside").expect("complainant panel")..];
    assert!(panel.contains("budi@example.id"), "contact in the panel");
    assert!(p.body.contains("value=\"return_incomplete\""));
    assert!(
        !p.body.contains("value=\"approve\""),
        "front office sees no approve button"
    );
    assert!(!p.body.contains("value=\"verify\""));
    let csrf = Browser::csrf(&p);
    let p = b
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[("csrf", &csrf), ("action", "approve")],
        )
        .await;
    assert_eq!(
        p.status,
        StatusCode::FORBIDDEN,
        "posting approve anyway is refused"
    );
    let p = b
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[("action", "return_incomplete"), ("note", "KTP?")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "no CSRF token");
    let p = b
        .go(
            "POST",
            &format!("/kotak/{no}/balas"),
            &[("csrf", &csrf), ("text", "Sedang kami proses.")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = b.go("GET", p.location.as_deref().unwrap(), &[]).await;
    assert!(p.body.contains("Sedang kami proses."));
    assert!(p.body.contains("Balasan diantrekan"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE kind = 'reply' AND (channel = 'web' OR (channel = 'email' AND recipient = 'email:budi@example.id'))").await,
        2,
        "the reply goes where the page said"
    );
    // An action that writes to the complainant is confirmed first: nothing happens yet.
    let p = b
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[
                ("csrf", &csrf),
                ("action", "return_incomplete"),
                ("note", "Mohon lampirkan KTP"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("Ya, kirim") && p.body.contains("Mohon lampirkan KTP"),
        "{}",
        p.body
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE status = 'incomplete'"
        )
        .await,
        0
    );
    let p = b
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[
                ("csrf", &csrf),
                ("action", "return_incomplete"),
                ("note", "Mohon lampirkan KTP"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE status = 'incomplete'"
        )
        .await,
        1
    );
    // A stale click (the complaint moved on): said in Indonesian, with the way back.
    let p = b
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[
                ("csrf", &csrf),
                ("action", "return_incomplete"),
                ("note", "Mohon lampirkan KTP"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(
        p.body.contains("sudah berubah dan kini berstatus")
            && p.body.contains("dikembalikan untuk dilengkapi")
            && p.body.contains(&format!("href=\"/kotak/{no}\"")),
        "{}",
        p.body
    );
    assert!(
        !p.body.contains("cannot"),
        "no developer English: {}",
        p.body
    );
    assert_eq!(
        b.go("GET", "/kotak/ADU-1999-000001", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}
both!(web_complaint_page);

/// The public complaint page: a form with an attachment gives a receipt page with register
/// number and tracking code; a double submission registers once; no form token, no complaint.
async fn web_public_form(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let mut b = Browser::new(&app);
    let p = b.go("GET", "/aduan", &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    let csrf = Browser::csrf(&p);
    let form = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("lang", "id")
            .text("name", "Budi")
            .text("email", "")
            .text("phone", "0812-3456-7890")
            .text("subject", "Trotoar rusak")
            .text("body", "Trotoar di depan kantor camat rusak.")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"\x89PNG foto".to_vec())
                    .file_name("foto.png")
                    .mime_str("image/png")
                    .unwrap(),
            )
    };
    let cookie = format!("aduan_form={}", b.cookies["aduan_form"]);
    let post = |t: &str, f: reqwest::multipart::Form, cookie: Option<String>| {
        let mut r = b.http.post(format!("{}/aduan?t={t}", b.base)).multipart(f);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.send()
    };
    let r = post(&csrf, form(&csrf), Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let no: String = {
        let i = body.find("id=\"register_no\">").unwrap() + 17;
        body[i..].split('<').next().unwrap().to_string()
    };
    assert!(no.starts_with("ADU-"), "{body}");
    assert!(body.contains("id=\"tracking_code\""));
    let again = post(&csrf, form(&csrf), Some(cookie.clone()))
        .await
        .unwrap();
    assert!(
        again.text().await.unwrap().contains(&no),
        "a double submission shows the same receipt"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM attachments WHERE filename = 'foto.png'"
        )
        .await,
        1
    );
    assert_eq!(
        post(&csrf, form(&csrf), None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&"0".repeat(64), form(&"0".repeat(64)), Some(cookie.clone()))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let bad = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("body", " ");
    let r = post(&csrf, bad, Some(cookie)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("body"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, 1);
    app.stop().await;
}
both!(web_public_form);

/// The counter page: the front office registers a letter with a scan and lands on its page;
/// roles without counter duty are refused.
async fn web_counter_page(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    for (u, role) in [("siti", Role::FrontOffice), ("teknis", Role::TechnicalTeam)] {
        app.web_officer(u, role).await;
    }
    let mut tech = Browser::new(&app);
    tech.login("teknis", "rahasia-panjang-1").await;
    assert_eq!(
        tech.go("GET", "/kotak/loket", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let mut b = Browser::new(&app);
    b.login("siti", "rahasia-panjang-1").await;
    let p = b.go("GET", "/kotak/loket", &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    let csrf = Browser::csrf(&p);
    assert!(
        !p.body.contains("/kotak/loket/lapor"),
        "no LAPOR! link form without the LAPOR! channel"
    );
    let r = b
        .go(
            "POST",
            "/kotak/loket/lapor",
            &[("csrf", &csrf), ("tracking_id", "5312345")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("[channels.lapor]"), "{}", r.body);
    let form = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("form", "f".repeat(32))
            .text("medium", "letter")
            .text("name", "Pak RT 03")
            .text("email", "")
            .text("subject", "Surat keberatan")
            .text("body", "Keberatan atas penutupan jalan.")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"%PDF-1.4 surat".to_vec())
                    .file_name("surat.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            )
    };
    let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let send = |c: &str, f: reqwest::multipart::Form| {
        b.http
            .post(format!(
                "{}/kotak/loket?csrf={c}&form={}",
                b.base,
                "f".repeat(32)
            ))
            .header("cookie", cookies.join("; "))
            .multipart(f)
            .send()
    };
    assert_eq!(
        send("x", form("x")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = send(&csrf, form(&csrf)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/kotak/ADU-"), "{loc}");
    let r2 = send(&csrf, form(&csrf)).await.unwrap();
    assert_eq!(
        r2.headers()["location"].to_str().unwrap(),
        loc,
        "the same form registers once"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM complaints WHERE channel = 'counter'"
        )
        .await,
        1
    );
    let by_siti = aduan::register::audit::named(&app.core.db, "register")
        .await
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.actor == "siti"
                && a.event
                    == aduan::register::audit::AuditEvent::Registered {
                        channel: aduan_channel::ChannelKind::Counter,
                        medium: Some(aduan_channel::CounterMedium::Letter),
                        flagged: None,
                    }
        })
        .count();
    assert_eq!(by_siti, 1);
    let p = b.go("GET", &loc, &[]).await;
    assert!(p.body.contains("surat.pdf") && p.body.contains("Keberatan atas penutupan jalan."));
    app.stop().await;
}
both!(web_counter_page);

/// The recap page and CSV: numbers that match the register.
async fn web_recap_matches_the_register(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let fo = app.web_officer("siti", Role::FrontOffice).await;
    let mut nos = Vec::new();
    for i in 0..3 {
        nos.push(
            app.submit(json!({"body": format!("Pengaduan web {i}")}))
                .await
                .0,
        );
    }
    for i in 0..2 {
        let r = app
            .http
            .post(app.url("/api/v1/counter"))
            .bearer_auth(&fo)
            .json(&json!({"body": format!("Pengaduan loket {i}"), "medium": "telephone"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // Answered in 2 h within the standard; answered in 30 h after the due time; open and past
    // due; the rest open and not yet due.
    let h = 3_600_000i64;
    for (no, sql) in [
        (&nos[0], "UPDATE complaints SET answered_at = received_at + 2 * $2, due_at = received_at + 100 * $2 WHERE register_no = $1"),
        (&nos[1], "UPDATE complaints SET answered_at = received_at + 30 * $2, due_at = received_at + $2 WHERE register_no = $1"),
        (&nos[2], "UPDATE complaints SET due_at = received_at - $2 WHERE register_no = $1"),
    ] {
        sqlx::query(sql).bind(no).bind(h).execute(&app.core.db.pool).await.unwrap();
    }
    let today = aduan::sla::local_date(chrono::Utc::now(), app.core.settings.offset);
    let month = today.format("%Y-%m").to_string();
    let mut b = Browser::new(&app);
    b.login("siti", "rahasia-panjang-1").await;
    let p = b
        .go("GET", &format!("/kotak/rekap?periode={month}"), &[])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    for (id, want) in [
        ("received", "5"),
        ("answered", "2"),
        ("in_time", "1"),
        ("late", "1"),
        ("overdue", "1"),
        ("median", "2.0"),
        ("p90", "30.0"),
    ] {
        assert!(
            p.body.contains(&format!("id=\"{id}\">{want}<")),
            "{id} = {want}: {}",
            p.body
        );
    }
    assert!(
        p.body.contains("data-channel=\"web\">3<")
            && p.body.contains("data-channel=\"counter\">2<")
    );
    assert!(p.body.contains("<svg"));
    let day = b
        .go(
            "GET",
            &format!("/kotak/rekap?periode={}", today.format("%Y-%m-%d")),
            &[],
        )
        .await;
    assert!(day.body.contains("id=\"received\">5<"));
    let other = b.go("GET", "/kotak/rekap?periode=2001-01", &[]).await;
    assert!(other.body.contains("id=\"received\">0<"));
    assert_eq!(
        b.go("GET", "/kotak/rekap?periode=kemarin", &[])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let csv = b
        .go("GET", &format!("/kotak/rekap.csv?periode={month}"), &[])
        .await;
    assert!(csv.body.starts_with("section,key,value\n"));
    assert!(csv.body.contains("total,received,5\n") && csv.body.contains("sla,answered_late,1\n"));
    assert!(csv.body.contains("channel,counter,2\n"));
    app.stop().await;
}
both!(web_recap_matches_the_register);

/// The dashboard: open complaints by channel and status, the overdue list, channel health.
async fn web_dashboard(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    app.web_officer("kepala", Role::HeadOfOffice).await;
    let (late, _) = app
        .submit(json!({"subject": "Terlambat <i>x</i>", "body": "a"}))
        .await;
    app.submit(json!({"body": "b"})).await;
    sqlx::query("UPDATE complaints SET due_at = received_at - 1000 WHERE register_no = $1")
        .bind(&late)
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    let mut b = Browser::new(&app);
    b.login("kepala", "rahasia-panjang-1").await;
    let p = b.go("GET", "/kotak/dasbor", &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("<td>Web</td><td>terdaftar</td><td>2</td>"),
        "{}",
        p.body
    );
    assert!(p.body.contains(&format!("href=\"/kotak/{late}\"")));
    assert!(p.body.contains("Terlambat &lt;i&gt;x&lt;/i&gt;"));
    assert!(p.body.contains("(1)"), "one overdue");
    // The channel's state in words; the adapter's technical detail only for the admin.
    assert!(p.body.contains("data-channel=\"web\"") && p.body.contains("✔ berjalan"));
    assert!(!p.body.contains("tracking page"));
    app.web_officer("admin1", Role::Admin).await;
    let mut admin = Browser::new(&app);
    admin.login("admin1", "rahasia-panjang-1").await;
    let p = admin.go("GET", "/kotak/dasbor", &[]).await;
    assert!(p.body.contains("tracking page") && p.body.contains("Rincian teknis"));
    app.stop().await;
}
both!(web_dashboard);

/// Search with many matches and with few (on PostgreSQL the two take different plans, see
/// `register::few_matches`): the inbox pages and the API totals agree with a plain scan of
/// the register either way.
async fn search_many_and_few_matches(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let n = aduan::register::FEW_MATCHES + 500;
    aduan::register::testing::seed(&app.core.db, n)
        .await
        .unwrap();
    // A word the statistics do not know yet (the seed ran ANALYZE before it was added).
    sqlx::query("UPDATE complaints SET search_text = search_text || ' zebra' WHERE id % 20 = 0")
        .execute(&app.core.db.write)
        .await
        .unwrap();
    let fo = app.officer("siti", Role::FrontOffice).await;
    let inbox = |q: &[(&str, &str)]| {
        let q: std::collections::HashMap<String, String> = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let core = app.core.clone();
        // The page's 50, and the next page's first when there is a next page.
        async move {
            let page = aduan::web::ui::inbox_rows(&core, &q, None).await.unwrap();
            let mut nos: Vec<String> = page
                .items
                .iter()
                .map(|l| l.complaint.register_no.clone())
                .collect();
            if page.has_next {
                let mut next_q = q.clone();
                let n: i64 = q.get("page").map_or(1, |p| p.parse().unwrap());
                next_q.insert("page".into(), (n + 1).to_string());
                let next = aduan::web::ui::inbox_rows(&core, &next_q, None)
                    .await
                    .unwrap();
                nos.push(next.items[0].complaint.register_no.clone());
            }
            nos
        }
    };
    let oracle = |cond: &str| {
        let sql = format!("SELECT register_no FROM complaints WHERE {cond} ORDER BY id DESC");
        let pool = app.core.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    let total = |q: &'static str| {
        let app = &app;
        let fo = fo.clone();
        async move {
            let v: serde_json::Value = app
                .http
                .get(app.url("/api/v1/complaints"))
                .query(&[("q", q), ("per_page", "200")])
                .bearer_auth(&fo)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                v["total"].as_i64().unwrap(),
                v["items"].as_array().unwrap().len(),
            )
        }
    };
    // "nomor" is in every complaint: more than FEW_MATCHES.
    let all = oracle("1 = 1").await;
    assert_eq!(all.len(), n);
    assert_eq!(inbox(&[("q", "nomor")]).await, all[..51]);
    assert_eq!(inbox(&[("q", "nomor"), ("page", "3")]).await, all[100..151]);
    assert_eq!(total("nomor").await, (n as i64, 200));
    // The inbox counts a search up to its cap (then says "more than"), on the first pages
    // (one walk of the matches) and beyond them (a count of its own).
    for page in ["1", "6"] {
        let q: std::collections::HashMap<String, String> = [("q", "nomor"), ("page", page)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let l = aduan::web::ui::inbox_rows(&app.core, &q, None)
            .await
            .unwrap();
        assert_eq!(
            l.total,
            Some(aduan::web::ui::SEARCH_COUNT_CAP + 1),
            "page {page}"
        );
        assert_eq!(l.items.len(), 50);
    }
    // "nomor 17…": k = 17, 170–179, 1700–1799.
    let some = oracle("search_text LIKE '% nomor 17%'").await;
    assert_eq!(some.len(), 111);
    assert_eq!(inbox(&[("q", "nomor 17")]).await, some[..51]);
    assert_eq!(
        inbox(&[("q", "Nomor 17"), ("page", "3")]).await,
        some[100..]
    );
    assert!(inbox(&[("q", "nomor 17"), ("page", "4")]).await.is_empty());
    assert_eq!(total("nomor 17").await, (111, 111));
    // The rare word: every 20th complaint.
    let few = oracle("search_text LIKE '% zebra'").await;
    assert_eq!(few.len(), n / 20);
    assert_eq!(inbox(&[("q", "zebra")]).await, few[..51]);
    assert_eq!(
        inbox(&[("q", "nomor zebra"), ("page", "3")]).await,
        few[100..]
    );
    assert!(inbox(&[("q", "zebra"), ("page", "4")]).await.is_empty());
    assert_eq!(total("zebra").await, (few.len() as i64, few.len()));
    // With other filters.
    let sms = oracle("channel = 'sms' AND search_text LIKE '% zebra'").await;
    assert!(!sms.is_empty() && sms.len() < 51);
    assert_eq!(inbox(&[("q", "zebra"), ("channel", "sms")]).await, sms);
    let sms_all = oracle("channel = 'sms'").await;
    assert_eq!(
        inbox(&[("q", "nomor"), ("channel", "sms")]).await,
        sms_all[..51]
    );
    if backend == Backend::Postgres {
        // The two plans are both taken: a rare word through the GIN bitmap, common words not.
        let few = |q: &'static str| {
            let core = app.core.clone();
            async move {
                let f = aduan::register::ComplaintFilter {
                    text: Some(q.to_string()),
                    ..Default::default()
                };
                aduan::register::few_matches(&core.db, q, &f)
                    .await
                    .unwrap()
                    .map(|ids| ids.len())
            }
        };
        assert_eq!(few("zebra").await, Some(n / 20));
        assert_eq!(few("nomor zeb").await, Some(n / 20), "a rare prefix");
        assert_eq!(few("nomor 170").await, Some(11), "170, 1700–1709");
        assert_eq!(few("nomor").await, None, "a word in every complaint");
        assert_eq!(
            few("nomor 17").await,
            None,
            "a short prefix stands for many"
        );
        assert_eq!(few("nomor 99999").await, Some(0));
    }
    // Nothing matches.
    assert!(inbox(&[("q", "nomor 99999")]).await.is_empty());
    assert_eq!(total("nomor 99999").await, (0, 0));
    app.stop().await;
}
both!(search_many_and_few_matches);

/// Full-text search (FTS5 / PostgreSQL tsvector): word prefixes, every word required, query
/// syntax inert, and text added later by a follow-up is found.
async fn full_text_search(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    let fo = app.officer("siti", Role::FrontOffice).await;
    let (a, _) = app
        .submit(json!({"subject": "Jalan rusak", "body": "Lubang besar di Jalan Merdeka"}))
        .await;
    app.submit(json!({"subject": "Lampu jalan", "body": "Lampu padam di gang Melati"}))
        .await;
    let find = |q: &'static str| {
        let app = &app;
        let fo = fo.clone();
        async move {
            let v: serde_json::Value = app
                .http
                .get(app.url("/api/v1/complaints"))
                .query(&[("q", q)])
                .bearer_auth(&fo)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["total"].as_i64().unwrap()
        }
    };
    assert_eq!(find("jalan").await, 2);
    assert_eq!(find("JALAN merdeka").await, 1, "every word must occur");
    assert_eq!(find("merd").await, 1, "word prefixes match");
    assert_eq!(find("erdeka").await, 0, "not inside words");
    assert_eq!(
        find("\"merdeka\" OR NOT *").await,
        0,
        "query syntax is inert"
    );
    assert_eq!(find("%").await, 2, "no word: no text condition");
    // A follow-up by counter intake naming the register number extends the searchable text.
    let r = app
        .http
        .post(app.url("/api/v1/counter"))
        .bearer_auth(&fo)
        .json(&json!({"body": format!("Tambahan untuk {a}: dekat sekolah Tunas"), "medium": "telephone"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(find("tunas").await, 1);
    app.stop().await;
}
both!(full_text_search);

/// Inbox paging, the overdue and "assigned to me" filters, and each role's queue.
async fn web_inbox_filters_and_queues(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    app.web_officer("teknis", Role::TechnicalTeam).await;
    for i in 0..55 {
        app.submit(json!({"subject": format!("Nomor {i:02}"), "body": "x"}))
            .await;
    }
    // One verified and assigned to the technical team member, one verified unassigned, one
    // overdue.
    sqlx::query("UPDATE complaints SET status = 'verified', assignee_id = (SELECT id FROM officers WHERE username = 'teknis') WHERE subject = 'Nomor 01'")
        .execute(&app.core.db.pool).await.unwrap();
    sqlx::query("UPDATE complaints SET status = 'verified' WHERE subject = 'Nomor 02'")
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE complaints SET due_at = received_at - 1000 WHERE subject = 'Nomor 03'")
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    let mut b = Browser::new(&app);
    b.login("teknis", "rahasia-panjang-1").await;
    let rows = |p: &Page| p.body.matches("data-href=\"/kotak/ADU-").count();
    let p1 = b.go("GET", "/kotak", &[]).await;
    assert_eq!(rows(&p1), 50);
    assert!(p1.body.contains("Nomor 54") && !p1.body.contains("Nomor 04<"));
    assert!(p1.body.contains("rel=\"next\" href=\"/kotak?page=2\""));
    let p2 = b.go("GET", "/kotak?page=2", &[]).await;
    assert_eq!(rows(&p2), 5);
    assert!(p2.body.contains("Nomor 00") && !p2.body.contains("rel=\"next\""));
    let od = b.go("GET", "/kotak?overdue=1", &[]).await;
    assert_eq!(rows(&od), 1);
    assert!(od.body.contains("Nomor 03"));
    let mine = b.go("GET", "/kotak?assignee=me", &[]).await;
    assert_eq!(rows(&mine), 1);
    assert!(mine.body.contains("Nomor 01"));
    // The technical team acts on verified and disposed complaints: two here.
    let q = b.go("GET", "/kotak?antrian=saya", &[]).await;
    assert_eq!(rows(&q), 2, "{}", q.body);
    assert!(q.body.contains("Nomor 01") && q.body.contains("Nomor 02"));
    app.stop().await;
}
both!(web_inbox_filters_and_queues);

/// The visible text of a page: tags, styles and scripts out.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    for block in ["<style", "<script"] {
        while let Some(i) = rest.find(block) {
            let end = rest[i..]
                .find(&format!("</{}>", &block[1..]))
                .map_or(rest.len(), |e| i + e);
            out.push_str(&rest[..i]);
            rest = &rest[end..];
        }
        out.push_str(rest);
        let taken = std::mem::take(&mut out);
        rest = Box::leak(taken.into_boxed_str());
    }
    let mut text = String::new();
    let mut in_tag = false;
    for ch in rest.chars() {
        match ch {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// No status, action, role or send-state code reaches an officer's page in Indonesian: the
/// inbox, a closed complaint with letter, verdict and audit trail, an open one with every
/// action an administrator may take, the dashboard and the recap.
async fn no_code_names_on_officer_pages(backend: Backend) {
    let Some(app) = spawn_app(backend, &[("ADUAN_OFFICE__PROCEDURE", "madiun")]).await else {
        return;
    };
    app.web_officer("siti", Role::Admin).await;
    let (open, _) = app
        .submit(json!({"name": "Ani", "body": "Jalan rusak"}))
        .await;
    let (done, _) = app
        .submit(json!({"name": "Budi", "body": "Lampu mati"}))
        .await;
    crate::verdict::answer_and_close(&app, &done).await;
    let mut codes: Vec<&str> = Vec::new();
    codes.extend(aduan::workflow::Status::iter().map(|s| s.as_str()));
    codes.extend(aduan::workflow::Action::iter().map(|a| a.as_str()));
    codes.extend(Role::ALL.iter().map(|r| r.as_str()));
    codes.extend(["queued", "sending", "sent", "failed"]);
    // The register's own audit notes, in English in the register, are in words on the page.
    codes.extend([
        "outbox", "via", "signed", "handed", "flagged", "passed", "merged", "answered", "draft",
        "letter",
    ]);
    let mut b = Browser::new(&app);
    b.login("siti", "rahasia-panjang-1").await;
    let month = aduan::sla::local_date(chrono::Utc::now(), app.core.settings.offset)
        .format("%Y-%m")
        .to_string();
    for path in [
        "/kotak".to_string(),
        format!("/kotak/{open}"),
        format!("/kotak/{done}"),
        "/kotak/dasbor".to_string(),
        format!("/kotak/rekap?periode={month}"),
        "/kotak/loket".to_string(),
        "/kotak/template-balasan".to_string(),
        "/kotak?antrian=saya&urut=batas".to_string(),
    ] {
        let p = b.go("GET", &path, &[]).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        let text = visible_text(&p.body);
        let words: Vec<&str> = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        for code in &codes {
            assert!(
                !words.contains(code),
                "`{code}` shows on {path}: {}",
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }
    app.stop().await;
}
both!(no_code_names_on_officer_pages);

/// The root URL: the public form for a stranger, the inbox for an officer with a session.
async fn the_root_leads_somewhere_useful(backend: Backend) {
    let Some(app) = spawn_app(backend, &[]).await else {
        return;
    };
    app.web_officer("siti", Role::FrontOffice).await;
    let mut b = Browser::new(&app);
    let p = b.go("GET", "/", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/aduan"));
    b.login("siti", "rahasia-panjang-1").await;
    let p = b.go("GET", "/", &[]).await;
    assert_eq!(p.location.as_deref(), Some("/kotak"));
    app.stop().await;
}
both!(the_root_leads_somewhere_useful);

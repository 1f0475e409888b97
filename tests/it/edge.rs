//! The public edge under abuse (trust issue, findings 4–7, 9, 10), against the real `aduan`
//! binary over real sockets; memory is the daemon's own VmRSS / VmHWM (peak). The figures each
//! test prints (`EDGE …`) are what BENCHMARKS.md records.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use aduan::db::Backend;
use aduan::workflow::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::both;
use crate::helpers::*;

/// A connection to the daemon from a chosen loopback address (127.0.0.0/8 is all loopback).
async fn connect_from(to: SocketAddr, from: IpAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(from, 0))?;
    s.connect(to).await
}

/// The status code of the first response on `s`, if one arrives within `wait`; `Some(0)` when
/// the server closed the connection without answering.
async fn status_within(s: &mut TcpStream, wait: Duration) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let n = match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Err(_)) | Ok(Ok(0)) => {
                return Some(parse_status(&buf).unwrap_or(0));
            }
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(code) = parse_status(&buf) {
            return Some(code);
        }
    }
}

fn parse_status(buf: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(buf).ok()?.split("\r\n").next()?;
    if !buf.windows(2).any(|w| w == b"\r\n") {
        return None;
    }
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether the server closed `s` within `wait` (reads return end of file or an error).
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Err(_)) | Ok(Ok(0)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

fn cookie_of(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_string()
}

fn hidden_csrf(body: &str) -> String {
    let i = body.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    body[i..].chars().take_while(|c| *c != '"').collect()
}

/// A client that follows no redirects and opens a new connection per request (the daemon
/// closes a connection whose body it refused unread, so a pooled one may be gone).
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A register with officer `siti` (web password [`PASSWORD`]); returns her API token.
async fn register_with_officer(db_url: &str) -> String {
    let cfg = test_config(db_url, &[]);
    let core = open_core(&cfg).await;
    let token = aduan::officers::add(&core.db, "siti", "", Role::FrontOffice)
        .await
        .unwrap();
    aduan::web::session::set_password(&core.db, "siti", PASSWORD)
        .await
        .unwrap();
    core.db.close().await;
    token
}

/// Finding 4: 60 parallel wrong passwords get five password checks between them (the attempt
/// is recorded before the check), the right password after them gets no session, and 60
/// parallel checks of different names from different (forwarded) addresses run two at a time:
/// peak memory stays bounded and `/healthz` answers.
async fn login_burst(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    register_with_officer(&db.url).await;
    let d = RealDaemon::spawn(
        &db.url,
        &[
            ("ADUAN_WEB__TRUST_FORWARDED_FOR", "true"),
            ("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "0"),
        ],
    )
    .await;
    let http = no_redirects();
    let page = http.get(d.url("/masuk")).send().await.unwrap();
    let cookie = format!("aduan_login={}", cookie_of(&page, "aduan_login"));
    let csrf = hidden_csrf(&page.text().await.unwrap());
    let rss_before = d.status_kib("VmRSS");
    let login = |user: String, pw: &'static str, from: String| {
        let (http, url, cookie, csrf) =
            (http.clone(), d.url("/masuk"), cookie.clone(), csrf.clone());
        async move {
            http.post(url)
                .header("cookie", cookie)
                .header("x-forwarded-for", from)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", &user),
                    ("password", pw),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    // 1. One guesser, one name, 59 wrong passwords at once; then the right one.
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..59 {
        set.spawn(login(
            "siti".into(),
            "salah-sekali-ini",
            "203.0.113.9".into(),
        ));
    }
    let mut codes = Vec::new();
    while let Some(c) = set.join_next().await {
        codes.push(c.unwrap());
    }
    let checked = codes.iter().filter(|c| **c == 401).count();
    let refused = codes.iter().filter(|c| **c == 429).count();
    assert!(checked <= 5, "{checked} passwords checked: {codes:?}");
    assert_eq!(checked + refused, 59, "{codes:?}");
    assert_eq!(
        login("siti".into(), PASSWORD, "203.0.113.9".into()).await,
        429,
        "the right password after the burst gets no session"
    );
    let burst1 = started.elapsed();
    let peak1 = d.status_kib("VmHWM");
    // 2. Sixty different names from sixty addresses: every one is checked, two at a time.
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..60 {
        set.spawn(login(
            format!("nama{i}"),
            "salah-sekali-ini",
            format!("198.51.100.{i}"),
        ));
    }
    let probe = async {
        let mut worst = Duration::ZERO;
        for _ in 0..5 {
            let t = d
                .healthz_time()
                .await
                .expect("/healthz answers during the burst");
            worst = worst.max(t);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        worst
    };
    let worst_health = probe.await;
    let mut codes = Vec::new();
    while let Some(c) = set.join_next().await {
        codes.push(c.unwrap());
    }
    assert!(codes.iter().all(|c| *c == 401 || *c == 503), "{codes:?}");
    let checked2 = codes.iter().filter(|c| **c == 401).count();
    assert!(checked2 >= 30, "only {checked2} of 60 checked: {codes:?}");
    let burst2 = started.elapsed();
    let peak = d.status_kib("VmHWM");
    eprintln!(
        "EDGE login burst ({}): RSS before {} KiB, peak after one guesser {peak1} KiB, peak {} KiB; 59 wrong + 1 right from one \
         address in {:?} ({checked} checked); 60 names from 60 addresses in {:?} ({checked2} \
         checked, the rest busy); /healthz worst {:?}",
        backend.as_str(),
        rss_before,
        peak,
        burst1,
        burst2,
        worst_health
    );
    assert!(peak < 300 * 1024, "peak RSS {peak} KiB");
    assert!(worst_health < Duration::from_secs(1), "{worst_health:?}");
    let sessions = {
        let core = open_core(&test_config(&db.url, &[])).await;
        let n = scalar(&core.db, "SELECT COUNT(*) FROM sessions").await;
        core.db.close().await;
        n
    };
    assert_eq!(sessions, 0);
    d.stop().await;
    db.drop_db().await;
}
both!(login_burst);

/// Finding 5: the login form, webhooks and the public form answer a stranger before reading the
/// body (a 10 MiB body is never waited for); 40 parallel oversize uploads are streamed to their
/// limit a few at a time, so the daemon's peak memory stays bounded and `/healthz` answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bodies_are_checked_before_they_are_read() {
    let db = fresh(Backend::Sqlite).await.unwrap();
    let d = RealDaemon::spawn(
        &db.url,
        &[
            ("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "0"),
            ("ADUAN_INTAKE__MAX_ATTACHMENT_BYTES", "8388608"),
        ],
    )
    .await;
    let to = d.addr();
    let local: IpAddr = [127, 0, 0, 1].into();
    // Headers promising 10 MiB, and no body: the answer must come without it.
    for (path, extra, want) in [
        ("/masuk", "", 403),
        // A made-up login cookie is refused on its signature, before the length.
        ("/masuk", "Cookie: aduan_login=abc\r\n", 403),
        ("/hooks/telegram", "", 404),
        ("/hooks/nothing", "", 404),
        ("/aduan", "", 403),
        ("/aduan?t=abc", "Cookie: aduan_form=abd\r\n", 403),
    ] {
        let mut s = connect_from(to, local).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 10485760\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let code = status_within(&mut s, Duration::from_secs(3)).await;
        assert_eq!(code, Some(want), "{path} {extra}");
    }
    // The login form's body is capped at 4 KiB even with the cookie.
    let http = no_redirects();
    let page = http.get(d.url("/masuk")).send().await.unwrap();
    let cookie = format!("aduan_login={}", cookie_of(&page, "aduan_login"));
    let r = http
        .post(d.url("/masuk"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={}", "a".repeat(64 * 1024)))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 413 || r.status() == 403, "{}", r.status());

    // 40 parallel uploads of 12 MiB files against an 8 MiB file limit.
    let page = http.get(d.url("/aduan")).send().await.unwrap();
    let form_cookie = format!("aduan_form={}", cookie_of(&page, "aduan_form"));
    let token = hidden_csrf(&page.text().await.unwrap());
    let big = vec![b'x'; 12 * 1024 * 1024];
    let rss_before = d.status_kib("VmRSS");
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (http, url, cookie, token, big) = (
            http.clone(),
            d.url(&format!("/aduan?t={token}")),
            form_cookie.clone(),
            token.clone(),
            big.clone(),
        );
        set.spawn(async move {
            let form = reqwest::multipart::Form::new()
                .text("csrf", token)
                .text("body", format!("lampiran besar {i}"))
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(big)
                        .file_name("besar.bin")
                        .mime_str("application/octet-stream")
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
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        let t = d
            .healthz_time()
            .await
            .expect("/healthz answers under uploads");
        worst = worst.max(t);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut codes = Vec::new();
    while let Some(c) = set.join_next().await {
        codes.push(c.unwrap());
    }
    let took = started.elapsed();
    let peak = d.status_kib("VmHWM");
    eprintln!(
        "EDGE 40 parallel 12 MiB uploads: RSS before {rss_before} KiB, peak {peak} KiB, \
         {took:?}, /healthz worst {worst:?}, answers {:?}",
        {
            let mut c = codes.clone();
            c.sort();
            c.dedup();
            c
        }
    );
    // Refused (too large), busy, or the connection dropped mid-upload by the refusal.
    assert!(
        codes.iter().all(|c| matches!(c, 413 | 503 | 0)),
        "{codes:?}"
    );
    assert!(peak < 300 * 1024, "peak RSS {peak} KiB");
    assert!(worst < Duration::from_secs(1), "{worst:?}");
    // A normal upload still goes through.
    let page = http.get(d.url("/aduan")).send().await.unwrap();
    let form_cookie = format!("aduan_form={}", cookie_of(&page, "aduan_form"));
    let token = hidden_csrf(&page.text().await.unwrap());
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.clone())
        .text("body", "foto jalan")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![7u8; 300_000])
                .file_name("foto.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let r = http
        .post(d.url(&format!("/aduan?t={token}")))
        .header("cookie", form_cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    d.stop().await;
    db.drop_db().await;
}

/// Finding 6: idle connections beyond the per-address cap are closed at once, slowloris
/// headers, idle kept-alive connections and trickled bodies are cut off by their timeouts,
/// and `/healthz` keeps answering from another address throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_are_capped_and_timed_out() {
    aduan::web::server::raise_fd_limit();
    let db = fresh(Backend::Sqlite).await.unwrap();
    let d = RealDaemon::spawn(
        &db.url,
        &[
            ("ADUAN_WEB__HEADER_TIMEOUT_SECS", "2"),
            ("ADUAN_WEB__BODY_IDLE_TIMEOUT_SECS", "2"),
            ("ADUAN_WEB__MAX_CONNECTIONS_PER_ADDRESS", "50"),
            ("ADUAN_WEB__MAX_CONNECTIONS", "400"),
            ("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "0"),
        ],
    )
    .await;
    let to = d.addr();
    let fds_before = d.open_fds();
    // 1. 2,000 idle connections from one address: 50 are held, the rest closed at once.
    let attacker: IpAddr = [127, 0, 0, 2].into();
    let mut idle = Vec::new();
    for _ in 0..2000 {
        if let Ok(s) = connect_from(to, attacker).await {
            idle.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds_held = d.open_fds();
    let health = d.healthz_time().await.expect("/healthz answers");
    let mut open = 0;
    for s in idle.iter_mut() {
        if !closed_within(s, Duration::from_millis(5)).await {
            open += 1;
        }
    }
    eprintln!(
        "EDGE 2000 idle connections from one address: {open} held open (cap 50), daemon fds \
         {fds_before} -> {fds_held}, /healthz {health:?}"
    );
    assert!(open <= 50, "{open} idle connections held");
    assert!(fds_held < fds_before + 80, "{fds_before} -> {fds_held}");
    assert!(health < Duration::from_secs(1));
    // ...and those 50 are closed by the header timeout.
    let mut still = 0;
    for s in idle.iter_mut() {
        if !closed_within(s, Duration::from_secs(4)).await {
            still += 1;
        }
    }
    assert_eq!(still, 0, "idle connections outlived the header timeout");
    drop(idle);
    // 2. Slowloris: headers trickled a byte at a time are cut off.
    let slow: IpAddr = [127, 0, 0, 3].into();
    let mut s = connect_from(to, slow).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut cut = false;
    for _ in 0..20 {
        if s.write_all(b"X").await.is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut s, Duration::from_millis(500)).await {
            cut = true;
            break;
        }
    }
    assert!(
        cut,
        "trickled headers kept the connection {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // 3. A kept-alive connection that sends no next request is closed.
    let mut s = connect_from(to, slow).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        status_within(&mut s, Duration::from_secs(2)).await,
        Some(200)
    );
    assert!(
        closed_within(&mut s, Duration::from_secs(5)).await,
        "idle keep-alive connection not closed"
    );
    // 4. A body that stops arriving is cut off.
    let mut s = connect_from(to, slow).await.unwrap();
    s.write_all(
        b"POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 1000\r\n\r\n{\"body\": \"",
    )
    .await
    .unwrap();
    let code = status_within(&mut s, Duration::from_secs(6)).await;
    assert!(
        matches!(code, Some(408) | Some(400) | Some(0)),
        "a stalled body got {code:?}"
    );
    assert!(d.healthz_time().await.is_some());
    d.stop().await;
    db.drop_db().await;
}

/// Finding 7: behind a proxy the client address is the entry the proxy appended; entries a
/// client adds in front do not reset its limits. Finding 9: strangers see readiness only.
/// Finding 10: a huge page number, tracking look-ups beyond the limit, and a crafted notice.
async fn forwarded_for_readiness_and_bounds(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let token = register_with_officer(&db.url).await;
    let d = RealDaemon::spawn(
        &db.url,
        &[
            ("ADUAN_WEB__TRUST_FORWARDED_FOR", "true"),
            ("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "2"),
            ("ADUAN_WEB__TRACK_RATE_PER_MINUTE", "5"),
        ],
    )
    .await;
    let http = no_redirects();
    let mut codes = Vec::new();
    for i in 0..4 {
        let r = http
            .post(d.url("/api/v1/complaints"))
            .header("x-forwarded-for", format!("10.9.9.{i}, 203.0.113.50"))
            .json(&serde_json::json!({"body": format!("aduan {i}")}))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes, vec![201, 201, 429, 429], "rotating the left entry");
    let r = http
        .post(d.url("/api/v1/complaints"))
        .header("x-forwarded-for", "203.0.113.51")
        .json(&serde_json::json!({"body": "lain"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "another client is not limited");
    // Readiness: a stranger (through the proxy) learns the verdict only.
    let v: serde_json::Value = http
        .get(d.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, serde_json::json!({"ready": true}));
    let v: serde_json::Value = http
        .get(d.url("/readyz"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        v["channels"].is_object() && v["register"].is_object(),
        "{v}"
    );
    // A page number that would overflow the offset is refused, not a 500.
    let r = http
        .get(d.url("/api/v1/complaints?page=9223372036854775807"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // Tracking look-ups are limited per client.
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r = http
            .get(d.url("/api/v1/track/ADU-2026-000001?code=AAAAAAAAAA"))
            .header("x-forwarded-for", "203.0.113.60")
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes[..5], [404; 5]);
    assert_eq!(codes[5..], [429, 429]);
    let r = http
        .get(d.url("/lacak/ADU-2026-000001?code=AAAAAAAAAA"))
        .header("x-forwarded-for", "203.0.113.60")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // A crafted notice link shows nothing; a known notice its fixed text.
    let page = http.get(d.url("/masuk")).send().await.unwrap();
    let cookie = format!("aduan_login={}", cookie_of(&page, "aduan_login"));
    let csrf = hidden_csrf(&page.text().await.unwrap());
    let r = http
        .post(d.url("/masuk"))
        .header("cookie", &cookie)
        .header("x-forwarded-for", "203.0.113.70")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "siti"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = format!("aduan_session={}", cookie_of(&r, "aduan_session"));
    let no: String = {
        let core = open_core(&test_config(&db.url, &[])).await;
        let no = sqlx::Row::try_get(
            &sqlx::query("SELECT register_no FROM complaints ORDER BY id LIMIT 1")
                .fetch_one(&core.db.pool)
                .await
                .unwrap(),
            0,
        )
        .unwrap();
        core.db.close().await;
        no
    };
    let crafted = "Sistem: akun Anda diblokir, hubungi 0812-0000-0000";
    let body = http
        .get(d.url(&format!(
            "/kotak/{no}?msg={}&pesan={}",
            crafted.replace(' ', "%20"),
            crafted.replace(' ', "%20")
        )))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("diblokir"), "crafted notice shown");
    let body = http
        .get(d.url(&format!("/kotak/{no}?pesan=balasan")))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Balasan diantrekan."));
    d.stop().await;
    db.drop_db().await;
}
both!(forwarded_for_readiness_and_bounds);

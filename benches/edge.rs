//! The public edge under abuse (`cargo bench --bench edge`), measured on the real daemon
//! (release build) with a fresh SQLite register per scenario: peak RSS (VmHWM) under a login
//! burst and under 40 parallel large uploads, `/healthz` latency meanwhile, and how many idle
//! connections the daemon holds at its caps. Figures go to BENCHMARKS.md.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::TcpSocket;

#[allow(dead_code)]
#[path = "../tests/support/daemon.rs"]
mod daemon;

use daemon::RealDaemon;

const PASSWORD: &str = "rahasia-panjang-1";

fn db_url(tag: &str) -> String {
    let dir = std::env::temp_dir().join(format!("aduan-bench-edge-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}/aduan.db", dir.display())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string()
}

fn csrf(body: &str) -> String {
    let i = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    body[i..].chars().take_while(|c| *c != '"').collect()
}

/// Samples `/healthz` every 100 ms until `stop`; returns the worst latency and failures.
async fn probe(d: &RealDaemon, stop: tokio::sync::watch::Receiver<bool>) -> (Duration, usize) {
    let (mut worst, mut failed) = (Duration::ZERO, 0);
    while !*stop.borrow() {
        match d.healthz_time().await {
            Some(t) => worst = worst.max(t),
            None => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (worst, failed)
}

async fn login_burst() {
    let url = db_url("login");
    {
        let mut env = std::collections::BTreeMap::new();
        env.insert("ADUAN_DATABASE_URL".to_string(), url.clone());
        let (cfg, _, _) = aduan::config::load(None, &env).into_result().unwrap();
        let core = aduan::state::Core::open(&cfg, None).await.unwrap();
        aduan::officers::add(&core.db, "siti", "", aduan::workflow::Role::FrontOffice)
            .await
            .unwrap();
        aduan::web::session::set_password(&core.db, "siti", PASSWORD)
            .await
            .unwrap();
        core.db.close().await;
    }
    let d = RealDaemon::spawn(&url, &[("ADUAN_WEB__TRUST_FORWARDED_FOR", "true")]).await;
    let http = client();
    let page = http.get(d.url("/masuk")).send().await.unwrap();
    let c = format!("aduan_login={}", cookie(&page, "aduan_login"));
    let token = csrf(&page.text().await.unwrap());
    let idle = d.status_kib("VmRSS");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let health = {
        let d = &d;
        async move { probe(d, rx).await }
    };
    let burst = async {
        let t = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..120 {
            // 60 guesses at one name from one address, then 60 names from 60 addresses.
            let (user, from) = if i < 60 {
                ("siti".to_string(), "203.0.113.9".to_string())
            } else {
                (format!("nama{i}"), format!("198.51.100.{i}"))
            };
            let (http, url, c, token) = (http.clone(), d.url("/masuk"), c.clone(), token.clone());
            set.spawn(async move {
                http.post(url)
                    .header("cookie", c)
                    .header("x-forwarded-for", from)
                    .form(&[
                        ("csrf", token.as_str()),
                        ("username", &user),
                        ("password", "salah-sekali-ini"),
                    ])
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
        let took = t.elapsed();
        let _ = tx.send(true);
        (codes, took)
    };
    let ((codes, took), (worst, failed)) = tokio::join!(burst, health);
    let n = |c: u16| codes.iter().filter(|x| **x == c).count();
    println!(
        "login burst, 120 parallel wrong logins (60 at one name from one address, 60 names from 60 \
         addresses): {took:?}; checked {} (401), throttled {} (429), busy {} (503); RSS idle {} MiB, \
         peak {} MiB; /healthz worst {worst:?}, {failed} failed",
        n(401),
        n(429),
        n(503),
        idle / 1024,
        d.status_kib("VmHWM") / 1024
    );
    d.stop().await;
}

async fn uploads(file_mib: usize, label: &str) {
    let d = RealDaemon::spawn(
        &db_url(label),
        &[("ADUAN_WEB__SUBMIT_RATE_PER_MINUTE", "0")],
    )
    .await;
    let http = client();
    let page = http.get(d.url("/aduan")).send().await.unwrap();
    let c = format!("aduan_form={}", cookie(&page, "aduan_form"));
    let token = csrf(&page.text().await.unwrap());
    let idle = d.status_kib("VmRSS");
    let data = vec![b'x'; file_mib * 1024 * 1024];
    let (tx, rx) = tokio::sync::watch::channel(false);
    let health = {
        let d = &d;
        async move { probe(d, rx).await }
    };
    let burst = async {
        let t = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..40 {
            let (http, url, c, token) = (
                http.clone(),
                d.url(&format!("/aduan?t={token}")),
                c.clone(),
                token.clone(),
            );
            let mut data = data.clone();
            data[0] = i as u8; // distinct files
            set.spawn(async move {
                let form = reqwest::multipart::Form::new()
                    .text("csrf", token)
                    .text("body", format!("lampiran {i}"))
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(data).file_name("scan.pdf"),
                    );
                http.post(url)
                    .header("cookie", c)
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
        let took = t.elapsed();
        let _ = tx.send(true);
        (codes, took)
    };
    let ((codes, took), (worst, failed)) = tokio::join!(burst, health);
    let mut kinds: Vec<(u16, usize)> = Vec::new();
    for c in &codes {
        match kinds.iter_mut().find(|(k, _)| k == c) {
            Some(e) => e.1 += 1,
            None => kinds.push((*c, 1)),
        }
    }
    kinds.sort();
    println!(
        "40 parallel uploads of {file_mib} MiB ({label}): {took:?}; answers {kinds:?} (0 = connection \
         closed by a refusal); RSS idle {} MiB, peak {} MiB; /healthz worst {worst:?}, {failed} failed",
        idle / 1024,
        d.status_kib("VmHWM") / 1024
    );
    d.stop().await;
}

async fn connect_from(to: SocketAddr, from: IpAddr) -> Option<tokio::net::TcpStream> {
    let s = TcpSocket::new_v4().ok()?;
    s.bind(SocketAddr::new(from, 0)).ok()?;
    s.connect(to).await.ok()
}

/// Whether the peer closed `s` (a read returns end of file or an error within `wait`).
async fn closed(s: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut b = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

async fn idle_connections() {
    aduan::web::server::raise_fd_limit();
    let d = RealDaemon::spawn(&db_url("idle"), &[]).await;
    let to = d.addr();
    let fds = d.open_fds();
    // One address, 5,000 idle connections.
    let mut held = Vec::new();
    for _ in 0..5000 {
        if let Some(s) = connect_from(to, [127, 0, 0, 2].into()).await {
            held.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut open = 0;
    for s in held.iter_mut() {
        if !closed(s, Duration::from_millis(2)).await {
            open += 1;
        }
    }
    let h1 = d.healthz_time().await;
    println!(
        "5,000 idle connections from one address: {open} held (cap 64 per address), daemon fds \
         {fds} -> {}, RSS {} MiB; /healthz from another address {h1:?}",
        d.open_fds(),
        d.status_kib("VmRSS") / 1024
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Many addresses: 40 × 64 idle connections against the global cap of 1,024.
    let mut held = Vec::new();
    for a in 10..50u8 {
        for _ in 0..64 {
            if let Some(s) = connect_from(to, [127, 0, 1, a].into()).await {
                held.push(s);
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut open = 0;
    for s in held.iter_mut() {
        if !closed(s, Duration::from_millis(2)).await {
            open += 1;
        }
    }
    let h2 = d.healthz_time().await;
    let t = Instant::now();
    let mut still = open;
    while still > 0 && t.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        still = 0;
        for s in held.iter_mut() {
            if !closed(s, Duration::from_millis(1)).await {
                still += 1;
            }
        }
    }
    let h3 = d.healthz_time().await;
    println!(
        "2,560 idle connections from 40 addresses: {open} held (global cap 1,024), RSS {} MiB; \
         /healthz while full {h2:?}; all closed by the header timeout after {:?}; /healthz then {h3:?}",
        d.status_kib("VmRSS") / 1024,
        t.elapsed()
    );
    d.stop().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        login_burst().await;
        uploads(12, "over the 10 MiB file limit").await;
        uploads(5, "accepted").await;
        idle_connections().await;
    });
}

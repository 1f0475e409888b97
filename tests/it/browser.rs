//! End-to-end in headless Chromium (Debian `chromium` + `chromedriver`, WebDriver over HTTP):
//! log in, see complaints of two channels with hostile markup inert, open one, reply and see it
//! queued, and a recap whose numbers match the register. A failing run leaves a screenshot in
//! `target/screenshots/`.

use std::path::Path;
use std::process::Stdio;

use aduan::db::Backend;
use aduan::workflow::Role;
use futures_util::FutureExt;
use serde_json::{json, Value};
use tokio::process::Command;

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    _child: tokio::process::Child,
    _profile: std::path::PathBuf,
}

impl Driver {
    pub(crate) async fn start() -> Option<Driver> {
        if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("CI=true but chromium/chromedriver are not installed (scripts/test installs them)");
            }
            eprintln!("SKIP: chromium or chromedriver missing; browser tests skipped");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let ready = eventually(20, || async {
            http.get(format!("{base}/status")).send().await.is_ok()
        })
        .await;
        assert!(ready, "chromedriver did not start");
        let profile =
            std::env::temp_dir().join(format!("aduan-chromium-{}-{port}", std::process::id()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display())
            ]}
        }}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Some(Driver {
            http,
            base,
            session,
            _child: child,
            _profile: profile,
        })
    }

    pub(crate) async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let r = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let v: Value = r.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url })).await;
    }
    pub(crate) async fn url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }
    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .or_else(|| v["ELEMENT"].as_str())
            .unwrap_or_else(|| panic!("no element `{css}`: {v}"))
            .to_string()
    }
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        self.wait_ready().await;
        let el = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            json!({ "text": text }),
        )
        .await;
    }
    /// Clicks through the DOM once the page has loaded (a WebDriver click can land while the
    /// previous navigation is still settling).
    pub(crate) async fn click(&self, css: &str) {
        self.wait_ready().await;
        self.find(css).await;
        let js = format!(
            "document.querySelector({}).click(); return true;",
            serde_json::to_string(css).unwrap()
        );
        self.script(&js).await;
    }
    pub(crate) async fn wait_ready(&self) {
        let ok = eventually(10, || async {
            self.script("return document.readyState").await == json!("complete")
        })
        .await;
        assert!(ok, "page did not finish loading");
    }
    pub(crate) async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd("GET", &format!("/element/{el}/text"), Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }
    pub(crate) async fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", json!({"script": js, "args": []}))
            .await
    }
    /// Waits (up to 10 s) for the page to reach a URL ending in `suffix`: a click returns before
    /// the navigation it starts has finished.
    pub(crate) async fn wait_url(&self, suffix: &str) {
        let ok = eventually(10, || async { self.url().await.ends_with(suffix) }).await;
        assert!(ok, "still at {} waiting for …{suffix}", self.url().await);
    }
    /// Waits (up to 10 s) for the page source to contain `text`; returns the source.
    pub(crate) async fn wait_text(&self, text: &str) -> String {
        let ok = eventually(10, || async { self.source().await.contains(text) }).await;
        let src = self.source().await;
        assert!(ok, "no `{text}` in {src}");
        src
    }
    pub(crate) async fn source(&self) -> String {
        self.cmd("GET", "/source", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }
    pub(crate) async fn screenshot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", Value::Null).await;
        if let Some(b64) = v.as_str() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), unbase64(b64));
            eprintln!("screenshot saved to {}/{name}.png", dir.display());
        }
    }
    pub(crate) async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_officer_day() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite, &[]).await.unwrap();
    let fo = app.web_officer("siti", Role::FrontOffice).await;
    let (web_no, _) = app
        .submit(
            json!({"name": "<img src=x onerror=\"document.title='pwned'\">",
            "subject": "<script>document.title='pwned'</script>Izin usaha",
            "body": "Izin belum terbit <img src=x onerror=\"document.title='pwned'\">"}),
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

    let scenario = async {
        // Without a session the inbox sends the browser to the login page.
        driver.goto(&app.url("/kotak")).await;
        driver.wait_url("/masuk").await;
        driver.type_into("input[name=username]", "siti").await;
        driver
            .type_into("input[name=password]", "rahasia-panjang-1")
            .await;
        driver.click("button[type=submit]").await;
        assert!(
            driver.url().await.ends_with("/kotak"),
            "{}",
            driver.url().await
        );
        let src = driver.source().await;
        assert!(src.contains(">Web<") && src.contains(">Loket<"));
        assert!(src.contains("Antrian loket"));
        // The hostile markup stayed text: no script ran, no handler fired.
        // (The title counts the two new complaints.)
        assert_eq!(
            driver.script("return document.title").await,
            json!("(2) Kotak masuk — aduan")
        );
        // The inbox's own script is the only one (allowed by its hash).
        assert_eq!(
            driver
                .script("return document.querySelectorAll('main img, main script').length")
                .await,
            json!(1)
        );
        // Open the web complaint and reply.
        driver.click(&format!("a[href='/kotak/{web_no}']")).await;
        driver.wait_url(&format!("/kotak/{web_no}")).await;
        driver.wait_text("textarea").await;
        assert_eq!(
            driver
                .script("return document.querySelectorAll('main img, main script').length")
                .await,
            json!(0)
        );
        driver
            .type_into("textarea[name=text]", "Berkas Anda sedang kami periksa.")
            .await;
        driver
            .click("form[action$='/balas'] button[type=submit]")
            .await;
        let src = driver.source().await;
        assert!(src.contains("Balasan diantrekan"), "{src}");
        assert!(src.contains("Berkas Anda sedang kami periksa."));
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM outbox WHERE kind = 'reply'").await,
            1,
            "the reply is queued"
        );
        // The recap agrees with the register.
        let month = aduan::sla::local_date(chrono::Utc::now(), app.core.settings.offset)
            .format("%Y-%m")
            .to_string();
        driver
            .goto(&app.url(&format!("/kotak/rekap?periode={month}")))
            .await;
        let received = driver.text("#received").await;
        assert_eq!(
            received,
            count(&app, "SELECT COUNT(*) FROM complaints")
                .await
                .to_string()
        );
        assert_eq!(driver.text("td[data-channel=counter]").await, "1");
        assert_eq!(driver.text("td[data-channel=web]").await, "1");
    };
    let outcome = std::panic::AssertUnwindSafe(scenario).catch_unwind().await;
    if outcome.is_err() {
        driver.screenshot("browser_officer_day").await;
    }
    driver.quit().await;
    app.stop().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

/// A citizen on a phone (390 px) and on a desktop (1,280 px): the tracking page offers the
/// answer letter and the one question, nothing overflows, a tap records the verdict; the
/// officer's complaint page shows the letter, the disposition and the step clock at both widths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_verdict_and_letter_at_both_widths() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite, &[("ADUAN_OFFICE__PROCEDURE", "madiun")])
        .await
        .unwrap();
    app.web_officer("siti", Role::FrontOffice).await;
    let (no, code) = app
        .submit(json!({"name": "Ani", "subject": "Trotoar rusak", "body": "Trotoar di depan pasar rusak parah."}))
        .await;
    crate::verdict::answer_and_close(&app, &no).await;
    let overflow = "return document.documentElement.scrollWidth - window.innerWidth";
    let scenario = async {
        for width in [1280, 390] {
            driver
                .cmd(
                    "POST",
                    "/window/rect",
                    json!({"width": width, "height": 900}),
                )
                .await;
            driver
                .goto(&app.url(&format!("/lacak/{no}?code={code}")))
                .await;
            driver.wait_text("name=\"rating\"").await;
            let src = driver.source().await;
            assert!(
                src.contains("Surat jawaban") && src.contains("(PDF)"),
                "{src}"
            );
            assert!(
                driver.script(overflow).await.as_i64().unwrap_or(1) <= 0,
                "the tracking page fits {width} px"
            );
            driver.screenshot(&format!("verdict_track_{width}")).await;
        }
        // At 390 px: tap "4 — sangat baik".
        driver.click("button[name=rating][value='4']").await;
        driver.wait_text("penilaian Anda tercatat").await;
        assert!(driver.script(overflow).await.as_i64().unwrap_or(1) <= 0);
        assert_eq!(
            count(&app, "SELECT rating FROM complaints").await,
            4,
            "the tap is the verdict"
        );
        // The officer's page at both widths.
        driver.goto(&app.url("/masuk")).await;
        driver.type_into("input[name=username]", "siti").await;
        driver
            .type_into("input[name=password]", "rahasia-panjang-1")
            .await;
        driver.click("button[type=submit]").await;
        for width in [1280, 390] {
            driver
                .cmd(
                    "POST",
                    "/window/rect",
                    json!({"width": width, "height": 900}),
                )
                .await;
            driver.goto(&app.url(&format!("/kotak/{no}"))).await;
            driver.wait_text("<h1").await;
            let src = driver.source().await;
            assert!(
                src.contains("/surat/answer") && src.contains("Disposisi"),
                "{src}"
            );
            // Closed: no reply box.
            assert!(
                !src.contains("/balas\""),
                "no reply box on a closed complaint"
            );
            assert!(
                driver.script(overflow).await.as_i64().unwrap_or(1) <= 0,
                "the complaint page fits {width} px"
            );
            driver.screenshot(&format!("verdict_officer_{width}")).await;
        }
        // The log-out button reads at WCAG AA (4.5:1), from the rendered colours.
        let ratio = driver
            .script(
                "const b = document.querySelector('header button.logout');\
                 const cs = getComputedStyle(b);\
                 const rgb = s => s.match(/[0-9.]+/g).slice(0, 3).map(Number);\
                 const lum = c => { const [r, g, bl] = c.map(v => { v /= 255; \
                   return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); \
                   return 0.2126 * r + 0.7152 * g + 0.0722 * bl; };\
                 const a = lum(rgb(cs.color)), c = lum(rgb(cs.backgroundColor));\
                 return (Math.max(a, c) + 0.05) / (Math.min(a, c) + 0.05);",
            )
            .await
            .as_f64()
            .unwrap();
        assert!(ratio >= 4.5, "log-out button contrast {ratio:.2}:1");
        assert!(driver.source().await.contains("Log keluar"));
    };
    let outcome = std::panic::AssertUnwindSafe(scenario).catch_unwind().await;
    if outcome.is_err() {
        driver.screenshot("browser_verdict_and_letter").await;
    }
    driver.quit().await;
    app.stop().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

/// Standard base64 (the WebDriver screenshot) to bytes.
fn unbase64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

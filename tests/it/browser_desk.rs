//! The officers' workspace in headless Chromium, on both databases: a front-office officer's
//! day (the new-complaint count, taking a complaint, the complainant panel, a photo preview, a
//! canned reply, an internal note, bulk-dismissing two spam complaints, the keyboard), the
//! division head disposing to a unit, the head of office signing an edited draft; every page
//! at 1,280 and 390 px without sideways scrolling; every button's contrast from the rendered
//! colours. Screenshots go to `target/screenshots/` (the README's are copied from there).

use aduan::db::Backend;
use aduan::workflow::Role;
use futures_util::FutureExt;
use serde_json::json;

use crate::both;
use crate::browser::Driver;
use crate::helpers::*;

/// The lowest contrast ratio of every visible button and link-styled control on the page,
/// computed from the rendered colours (a transparent background is the nearest painted
/// ancestor's), with the offending control's text.
const MIN_BUTTON_CONTRAST: &str = "\
const rgba = s => { const v = s.match(/[0-9.]+/g).map(Number); return v.length === 3 ? [...v, 1] : v; };\
const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; \
  return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); \
  return 0.2126 * r + 0.7152 * g + 0.0722 * b; };\
const bg = el => { for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor); \
  if (c[3] > 0) return c; } return [255, 255, 255, 1]; };\
let worst = [99, ''];\
for (const b of document.querySelectorAll('button, input[type=submit]')) {\
  if (!b.offsetParent) continue;\
  const f = lum(rgba(getComputedStyle(b).color)), k = lum(bg(b));\
  const r = (Math.max(f, k) + 0.05) / (Math.min(f, k) + 0.05);\
  if (r < worst[0]) worst = [r, b.textContent.trim()];\
}\
return worst;";

const OVERFLOW: &str = "return document.documentElement.scrollWidth";

/// Every visible form control without a label (a `<label>`, or `aria-label`), by name.
const UNLABELLED: &str = "return [...document.querySelectorAll('input, select, textarea')]\
  .filter(e => e.type !== 'hidden' && e.offsetParent && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))\
  .map(e => e.name);";

async fn check_page(driver: &Driver, name: &str) {
    for width in [1280, 390] {
        driver
            .cmd(
                "POST",
                "/window/rect",
                json!({"width": width, "height": 900}),
            )
            .await;
        driver.wait_ready().await;
        let sw = driver.script(OVERFLOW).await.as_i64().unwrap_or(9999);
        let inner = driver
            .script("return window.innerWidth")
            .await
            .as_i64()
            .unwrap_or(0);
        assert!(
            sw <= inner.max(width),
            "{name} scrolls sideways at {width} px ({sw} > {inner})"
        );
        assert_eq!(
            driver.script(UNLABELLED).await,
            json!([]),
            "{name}: controls without a label"
        );
        let landmarks = driver
            .script("return !!document.querySelector('header') && !!document.querySelector('main')")
            .await;
        assert_eq!(landmarks, json!(true), "{name}: header and main landmarks");
        let worst = driver.script(MIN_BUTTON_CONTRAST).await;
        let ratio = worst[0].as_f64().unwrap_or(0.0);
        assert!(
            ratio >= 4.5,
            "{name}: button `{}` contrast {ratio:.2}:1",
            worst[1]
        );
        driver.screenshot(&format!("{name}_{width}")).await;
    }
    driver
        .cmd(
            "POST",
            "/window/rect",
            json!({"width": 1280, "height": 900}),
        )
        .await;
}

async fn login(driver: &Driver, app: &App, user: &str) {
    driver.goto(&app.url("/masuk")).await;
    driver.type_into("input[name=username]", user).await;
    driver.type_into("input[name=password]", PASSWORD).await;
    driver.click("button[type=submit]").await;
    driver.wait_url("/kotak").await;
}

async fn logout(driver: &Driver) {
    driver.click("header button.logout").await;
    driver.wait_url("/masuk").await;
}

/// A 240×160 PNG standing in for a phone photo (grey road, a dark hole, a yellow line).
fn photo() -> Vec<u8> {
    let (w, h) = (240u32, 160u32);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as i32 - 120, y as i32 - 95);
            let rgb = if dx * dx / 4 + dy * dy < 900 {
                [40, 36, 30]
            } else if (70..78).contains(&y) && x % 40 < 24 {
                [230, 190, 40]
            } else if y < 40 {
                [150, 190, 225]
            } else {
                [120 + (x % 7) as u8, 120, 118]
            };
            px.extend_from_slice(&rgb);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&px).unwrap();
    out
}

async fn browser_workspace_day(backend: Backend) {
    let Some(app) = spawn_app(backend, &[("ADUAN_OFFICE__PROCEDURE", "binjai")]).await else {
        return;
    };
    let Some(driver) = Driver::start().await else {
        app.stop().await;
        return;
    };
    for (name, role) in [
        ("siti", Role::FrontOffice),
        ("kabid", Role::DivisionHead),
        ("kepala", Role::HeadOfOffice),
    ] {
        app.web_officer(name, role).await;
    }
    let kasi = app.officer("kasi", Role::SectionHead).await;
    app.officer("tono", Role::TechnicalTeam).await;
    aduan::register::units::add(&app.core.db, "Tim Jalan", 0)
        .await
        .unwrap();
    aduan::register::workspace::add_member(&app.core.db, "Tim Jalan", "tono")
        .await
        .unwrap();
    aduan::register::workspace::save_canned(
        &app.core.db,
        "Sedang ditindaklanjuti",
        "Yth. {nama}, pengaduan {nomor} sedang kami tindak lanjuti.",
        0,
    )
    .await
    .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("name", "Ani Lestari")
        .text("phone", "081234500011")
        .text("subject", "Jalan berlubang")
        .text(
            "body",
            "Jalan di depan SD 3 berlubang besar, berbahaya bagi anak-anak.",
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(photo())
                .file_name("lubang.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (no, _) = app.submit_multipart(form).await;
    let (spam1, _) = app.submit(json!({"body": "MENANG UNDIAN 100 JUTA"})).await;
    let (spam2, _) = app
        .submit(json!({"body": "PINJAMAN ONLINE CEPAT CAIR"}))
        .await;
    let scenario = async {
        // The front office's morning: three new complaints announced.
        login(&driver, &app, "siti").await;
        let title = driver.script("return document.title").await;
        assert_eq!(title, json!("(3) Kotak masuk — aduan"));
        assert!(driver.source().await.contains("3 baru"));
        check_page(&driver, "inbox").await;
        // The keyboard: the first row is selected on load; j moves, Enter opens.
        let sel = "return [...document.querySelectorAll('#baris tr')].findIndex(r => r.classList.contains('sel'))";
        assert_eq!(driver.script(sel).await, json!(0));
        let key = |k: &'static str| {
            json!({"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": k}, {"type": "keyUp", "value": k}]}]})
        };
        driver.cmd("POST", "/actions", key("j")).await;
        assert_eq!(driver.script(sel).await, json!(1));
        driver.cmd("POST", "/actions", key("k")).await;
        assert_eq!(driver.script(sel).await, json!(0));
        // Open the photo complaint by its row (the whole row is a link).
        driver
            .click(&format!("tr[data-href='/kotak/{no}'] td.subj"))
            .await;
        driver.wait_url(&format!("/kotak/{no}")).await;
        let src = driver.wait_text("<aside").await;
        assert!(src.contains("Ani Lestari") && src.contains("+6281234500011"));
        // The photo is shown inline.
        let thumb = "const i = document.querySelector('img.thumb'); return i && i.complete && i.naturalWidth";
        let shown = eventually(10, || async { driver.script(thumb).await == json!(240) }).await;
        assert!(
            shown,
            "the photo's thumbnail rendered: {}",
            driver.script(thumb).await
        );
        // Take it.
        driver.click("form[action$='/ambil'] button").await;
        driver.wait_text("Petugas tercatat").await;
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM complaints c JOIN officers o ON o.id = c.assignee_id WHERE c.register_no = '{no}' AND o.username = 'siti'")).await,
            1
        );
        // A canned reply, picked, edited, sent.
        driver.click("form[action*='#balas'] button").await;
        driver.wait_text("sedang kami tindak lanjuti").await;
        let text = driver
            .script("return document.querySelector('textarea[name=text]').value")
            .await;
        assert_eq!(
            text,
            json!(format!(
                "Yth. Ani Lestari, pengaduan {no} sedang kami tindak lanjuti."
            ))
        );
        driver
            .script(
                "document.querySelector('textarea[name=text]').value += ' Terima kasih.'; return 1",
            )
            .await;
        driver.click("form[action$='/balas'] button").await;
        driver.wait_text("Balasan diantrekan").await;
        // An internal note.
        driver
            .type_into("textarea[name=body]", "Lokasi dekat sekolah: prioritas.")
            .await;
        driver.click("form[action$='/catatan'] button").await;
        driver.wait_text("Catatan internal tersimpan").await;
        assert!(driver
            .source()
            .await
            .contains("Lokasi dekat sekolah: prioritas."));
        check_page(&driver, "complaint").await;
        // Bulk: the two spam complaints dismissed at once.
        driver.goto(&app.url("/kotak")).await;
        driver
            .click(&format!("input[name=no][value='{spam1}']"))
            .await;
        driver
            .click(&format!("input[name=no][value='{spam2}']"))
            .await;
        driver
            .script("document.querySelector('select[name=do]').value = 'spam'; return 1")
            .await;
        driver.click("#massal fieldset button").await;
        driver.wait_text("2 pengaduan berhasil").await;
        logout(&driver).await;
        // The note never reaches the complainant.
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM outbox WHERE body LIKE '%prioritas%'"
            )
            .await,
            0
        );
        // The section head verifies (API); the division head disposes to the unit.
        let r = app
            .http
            .post(app.url(&format!("/api/v1/complaints/{no}/actions")))
            .bearer_auth(&kasi)
            .json(&json!({"action": "verify"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        login(&driver, &app, "kabid").await;
        driver.goto(&app.url(&format!("/kotak/{no}"))).await;
        driver.wait_text("value=\"dispose\"").await;
        driver
            .script("document.querySelector('select[name=unit]').value = 'Tim Jalan'; return 1")
            .await;
        driver
            .type_into(
                "form[action$='/aksi'] textarea[name=note]",
                "Perbaiki minggu ini.",
            )
            .await;
        driver.click("button[value=dispose]").await;
        driver.wait_text("Tindakan tercatat").await;
        assert!(driver.source().await.contains("Tim Jalan"));
        logout(&driver).await;
        // The section head drafts (API), the division head initials (API); the head of office
        // corrects the draft and signs it in the browser.
        let act = |token: String, body: serde_json::Value| {
            let app = &app;
            let no = no.clone();
            async move {
                let r = app
                    .http
                    .post(app.url(&format!("/api/v1/complaints/{no}/actions")))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), reqwest::StatusCode::OK, "{body}");
            }
        };
        let kabid = aduan::register::officers::rotate_token(&app.core.db, "kabid")
            .await
            .unwrap();
        act(
            kasi.clone(),
            json!({"action": "draft_answer", "note": "Jalan akan diperbaiki."}),
        )
        .await;
        act(kabid, json!({"action": "approve"})).await;
        login(&driver, &app, "kepala").await;
        driver.goto(&app.url(&format!("/kotak/{no}"))).await;
        driver.wait_text("name=\"draft\"").await;
        assert!(driver.source().await.contains("Diparaf oleh kabid"));
        driver
            .script("document.querySelector('textarea[name=draft]').value = 'Jalan di depan SD 3 diperbaiki Tim Jalan pada pekan ini.'; return 1")
            .await;
        driver.click("button[value=approve]").await;
        driver.wait_text("Tindakan tercatat").await;
        let src = driver.source().await;
        assert!(src.contains("diperbaiki Tim Jalan pada pekan ini"));
        assert!(src.contains("Ditandatangani oleh kepala"));
        check_page(&driver, "complaint_head").await;
        driver.goto(&app.url("/kotak/dasbor")).await;
        check_page(&driver, "dashboard").await;
        logout(&driver).await;
        driver.goto(&app.url("/aduan")).await;
        driver
            .wait_text("Apa yang terjadi setelah Anda mengirim")
            .await;
        check_page(&driver, "public_form").await;
    };
    let outcome = std::panic::AssertUnwindSafe(scenario).catch_unwind().await;
    if outcome.is_err() {
        driver
            .screenshot(&format!("browser_workspace_day_{backend:?}"))
            .await;
    }
    driver.quit().await;
    app.stop().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
both!(browser_workspace_day);

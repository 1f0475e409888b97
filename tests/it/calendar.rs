//! Issue 22, item 1: the working calendar for 2027 — the SKB's holidays and *cuti bersama*
//! ship and are in force by default; due dates at the turn of the year and at a 2027 holiday
//! count them; the calendar's coverage and any gap show on `/readyz`, the dashboard, the
//! complaint page and `/metrics`; a register upgraded from a 2026-only calendar has its due
//! dates counted again at start. On both databases.

use aduan::db::Backend;
use aduan::workflow::Role;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;

use crate::both;
use crate::helpers::*;
use crate::ui::Browser;

/// An instant given in WIB (`2026-12-31 23:59`).
fn wib(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .unwrap()
        .and_local_timezone(chrono::FixedOffset::east_opt(7 * 3600).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

async fn due(o: &Office, at: &str) -> (String, Option<i64>) {
    o.app.core.clock.set(Some(wib(at)));
    let (no, _) = o
        .app
        .submit(json!({"body": format!("diterima {at}")}))
        .await;
    let c = o.get(&no).await;
    (
        c["due_date"].as_str().unwrap().to_string(),
        c["calendar_gap"].as_i64(),
    )
}

/// The default configuration: 31 December 2026 at 23:59 WIB starts the clock on Monday
/// 4 January (1 January is a holiday) and skips Isra Mikraj on 5 January: due Thursday
/// 14 January. Received on Nyepi 2027 (Monday 8 March), the week of Lebaran and its collective
/// leave are skipped, then the Thursday and Good Friday of Easter: due Monday 29 March.
async fn due_dates_across_2027(backend: Backend) {
    let Some(o) = Office::start(backend, &[]).await else {
        return;
    };
    assert_eq!(
        due(&o, "2026-12-31 23:59").await,
        ("2027-01-14".into(), None)
    );
    assert_eq!(
        due(&o, "2027-03-08 09:00").await,
        ("2027-03-29".into(), None)
    );
    // The calendar as an officer reads it: covered, no gap, the isbat's dates to confirm.
    let r: serde_json::Value = o
        .app
        .http
        .get(o.app.url("/readyz"))
        .bearer_auth(&o.tokens[&Role::Admin])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["calendar"]["covered_years"], json!([2026, 2027]), "{r}");
    assert_eq!(r["calendar"]["gap_year"], serde_json::Value::Null);
    let metrics = o
        .app
        .http
        .get(o.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\naduan_calendar_gap_year 0\n"),
        "{metrics}"
    );
    assert!(metrics.contains("\naduan_calendar_last_covered_year 2027\n"));
    o.app.core.clock.set(None);
    o.app.stop().await;
}
both!(due_dates_across_2027);

/// An office still configured as before (only the 2026 list, the shipped ones off) in
/// December 2026: the gap shows on `/readyz`, `/metrics`, the dashboard and the complaint's
/// page; the same register opened with the shipped lists counts the due dates again at start
/// (`recompute_covered_gaps`, what `aduan serve` runs), once.
async fn a_missing_year_shows_and_an_upgrade_recounts(backend: Backend) {
    let Some(o) = Office::start(
        backend,
        &[
            ("ADUAN_OFFICE__NATIONAL_HOLIDAYS", "false"),
            ("ADUAN_OFFICE__HOLIDAY_FILES", "[\"holidays-id-2026.toml\"]"),
        ],
    )
    .await
    else {
        return;
    };
    let (due_date, gap) = due(&o, "2026-12-30 10:00").await;
    assert_eq!((due_date.as_str(), gap), ("2027-01-08", Some(2027)));
    let r: serde_json::Value = o
        .app
        .http
        .get(o.app.url("/readyz"))
        .bearer_auth(&o.tokens[&Role::Admin])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["calendar"]["gap_year"], 2027, "{r}");
    let metrics = o
        .app
        .http
        .get(o.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("\naduan_calendar_gap_year 2027\n"));
    aduan::web::session::set_password(&o.app.core.db, "front_office", PASSWORD)
        .await
        .unwrap();
    let mut fo = Browser::new(&o.app);
    fo.login("front_office", PASSWORD).await;
    let p = fo.go("GET", "/kotak/dasbor", &[]).await;
    assert!(
        p.body
            .contains("Belum ada daftar hari libur untuk tahun 2027"),
        "{}",
        p.body
    );
    let no = first_register_no(&o.app).await;
    let p = fo.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(p.body.contains("dihitung tanpa daftar hari libur 2027"));
    // The upgrade: the same register with the shipped lists.
    let cfg = test_config(&o.app.db.as_ref().unwrap().url, &[]);
    let core2 = open_core(&cfg).await;
    core2.clock.set(Some(wib("2026-12-31 09:00")));
    assert_eq!(
        aduan::workflow::calendar::recompute_covered_gaps(&core2)
            .await
            .unwrap(),
        1
    );
    let c = o.get(&no).await;
    // Day 0 the 30th; 31 December, then 4, 6, 7, 8, 11 and 12 January (1 and 5 January off).
    assert_eq!(
        (c["due_date"].as_str(), c["calendar_gap"].as_i64()),
        (Some("2027-01-12"), None)
    );
    assert_eq!(
        aduan::workflow::calendar::recompute_covered_gaps(&core2)
            .await
            .unwrap(),
        0,
        "nothing left to count again"
    );
    core2.db.close().await;
    o.app.core.clock.set(None);
    o.app.stop().await;
}
both!(a_missing_year_shows_and_an_upgrade_recounts);

//! Whether the working calendar covers the time the clocks count in: the years with a holiday
//! list, the first year within [`HORIZON_DAYS`] that has none (its due dates would count
//! weekends only: Lebaran and *cuti bersama* as working days), and the listed days still to be
//! confirmed (Idul Fitri and Idul Adha wait for the isbat). Shown on `/readyz`, the dashboard
//! and `/metrics`, and logged once a day by the clock sweep while there is a gap.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::sla::Calendar;

/// How far ahead a missing list is a gap: a complaint registered now may be due this far on.
pub const HORIZON_DAYS: u64 = 60;

/// The calendar as the clocks need it at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarStatus {
    /// Years a holiday list covers.
    pub covered: Vec<i32>,
    /// The first year from today to [`HORIZON_DAYS`] ahead that no list covers.
    pub gap: Option<i32>,
    /// Listed holidays from today on, this year and next, that wait for a decision.
    pub to_confirm: Vec<(NaiveDate, String)>,
}

/// The calendar's status at `now` (office time).
pub fn status(cal: &Calendar, now: DateTime<Utc>) -> CalendarStatus {
    let today = cal.local_date(now);
    let horizon = today + chrono::Days::new(HORIZON_DAYS);
    let gap = (today.year()..=horizon.year()).find(|y| !cal.covers_year(*y));
    let to_confirm = [today.year(), today.year() + 1]
        .into_iter()
        .flat_map(|y| cal.to_confirm(y))
        .filter(|(d, _)| *d >= today)
        .map(|(d, n)| (d, n.to_string()))
        .collect();
    CalendarStatus {
        covered: cal.covered_years(),
        gap,
        to_confirm,
    }
}

/// When the calendar now covers a year that open complaints' due dates were counted without
/// (a new list shipped with an upgrade, or added by the office), counts them again — the
/// yearly `aduan sla recompute`, done at start. Returns how many changed.
pub async fn recompute_covered_gaps(core: &crate::state::Core) -> anyhow::Result<usize> {
    let gaps = crate::register::clock::open_gap_years(&core.db).await?;
    if !gaps
        .iter()
        .any(|y| i32::try_from(*y).is_ok_and(|y| core.calendar.covers_year(y)))
    {
        return Ok(0);
    }
    let r = super::clock::recompute(core).await?;
    tracing::info!(
        open = r.open,
        changed = r.changed,
        "due dates counted again: a holiday list now covers a year they had none for"
    );
    Ok(r.changed)
}

/// Logs the gap once per office-local day (`last`: the day it last did).
pub fn log_gap_daily(cal: &Calendar, now: DateTime<Utc>, last: &mut Option<NaiveDate>) {
    let today = cal.local_date(now);
    if *last == Some(today) {
        return;
    }
    *last = Some(today);
    let s = status(cal, now);
    if let Some(year) = s.gap {
        tracing::warn!(
            year,
            covered = ?s.covered,
            "no holiday list covers {year}: due dates in it count weekends only; add the year's \
             list (office.holiday_files) and run `aduan sla recompute`"
        );
    }
    for (d, name) in s.to_confirm.iter().take(3) {
        tracing::info!(date = %d, name, "a listed holiday still waits for the isbat");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(lists: &[&str]) -> Calendar {
        let mut c = Calendar::default();
        for l in lists {
            c.add_list(l).unwrap();
        }
        c
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_shipped_lists_cover_2026_and_2027() {
        let lists: Vec<&str> = crate::config::EMBEDDED_HOLIDAYS
            .iter()
            .map(|(_, t)| *t)
            .collect();
        let c = cal(&lists);
        // 31 December 2026, 23:59 WIB: 2027 is covered, no gap.
        let s = status(&c, at("2026-12-31T16:59:00Z"));
        assert_eq!(s.covered, vec![2026, 2027]);
        assert_eq!(s.gap, None);
        // Idul Fitri and Idul Adha 1448 wait for the isbat.
        let days: Vec<String> = s.to_confirm.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(days, ["2027-03-10", "2027-03-11", "2027-05-17"]);
        // From early November 2027 the missing 2028 list is a gap.
        assert_eq!(status(&c, at("2027-10-01T00:00:00Z")).gap, None);
        assert_eq!(status(&c, at("2027-11-15T00:00:00Z")).gap, Some(2028));
        // Only 2026 shipped (the old default): the end of 2026 shows the gap.
        let only_2026 = cal(&lists[..1]);
        assert_eq!(
            status(&only_2026, at("2026-12-05T00:00:00Z")).gap,
            Some(2027)
        );
    }

    /// The 2027 list as the SKB has it: 18 holidays (Isra Mikraj twice) and 8 collective-leave
    /// days; Lebaran's week is off.
    #[test]
    fn the_2027_list_is_the_skbs() {
        let text = crate::config::EMBEDDED_HOLIDAYS
            .iter()
            .find(|(n, _)| *n == "holidays-id-2027.toml")
            .unwrap()
            .1;
        assert_eq!(text.matches("[[holiday]]").count(), 18);
        assert_eq!(text.matches("[[cuti_bersama]]").count(), 8);
        let c = cal(&[text]);
        for d in [
            "2027-03-08",
            "2027-03-09",
            "2027-03-10",
            "2027-03-11",
            "2027-03-12",
            "2027-03-15",
        ] {
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
            assert!(!c.is_working_day(d), "{d}");
        }
        let tue = NaiveDate::from_ymd_opt(2027, 3, 16).unwrap();
        assert!(c.is_working_day(tue));
    }
}

//! Working-day arithmetic for service standards (*baku mutu*): weekends, national holidays and
//! *cuti bersama* are not working days.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};
use serde::Deserialize;

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    off_days: BTreeSet<NaiveDate>,
    /// Years a holiday list covers; a due date outside them is computed with weekends only.
    years: BTreeSet<i32>,
}

#[derive(Deserialize)]
struct HolidayFile {
    year: Option<i32>,
    #[serde(default)]
    holiday: Vec<Day>,
    #[serde(default)]
    cuti_bersama: Vec<Day>,
}

#[derive(Deserialize)]
struct Day {
    date: String,
    #[allow(dead_code)]
    name: Option<String>,
}

impl Calendar {
    /// Adds a holiday list in the shipped TOML format (`[[holiday]]`, `[[cuti_bersama]]`).
    pub fn add_list(&mut self, toml_text: &str) -> Result<(), String> {
        let f: HolidayFile = toml::from_str(toml_text).map_err(|e| e.message().to_string())?;
        if let Some(y) = f.year {
            self.years.insert(y);
        }
        for d in f.holiday.iter().chain(&f.cuti_bersama) {
            let date = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d")
                .map_err(|_| format!("`{}` is not a YYYY-MM-DD date", d.date))?;
            self.years.insert(date.year());
            self.off_days.insert(date);
        }
        Ok(())
    }

    pub fn add_day(&mut self, date: NaiveDate) {
        self.off_days.insert(date);
    }

    pub fn covers_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.off_days.contains(&d)
    }

    /// The date `n` working days after `start`: the day of receipt does not count, the first
    /// working day after it is day 1. `n = 0` gives `start` itself.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            let Some(next) = d.succ_opt() else { return d };
            d = next;
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days from `from` (exclusive) to `to` (inclusive); 0 when `to <= from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            let Some(next) = d.succ_opt() else { break };
            d = next;
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }

    /// Due date and the instant it ends (end of that day in office time) for a complaint
    /// received at `at`.
    pub fn due(
        &self,
        at: DateTime<Utc>,
        days: u32,
        offset: FixedOffset,
    ) -> (NaiveDate, DateTime<Utc>) {
        let due = self.add_working_days(local_date(at, offset), days);
        // The last instant of the due day in office time (saturating at the calendar's end).
        let end = due
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|d| offset.from_local_datetime(&d).single())
            .map(|d| d.with_timezone(&Utc) - Duration::milliseconds(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        (due, end)
    }
}

/// The office-local date of an instant (saturating at the ends of the calendar).
pub fn local_date(at: DateTime<Utc>, offset: FixedOffset) -> NaiveDate {
    at.naive_utc()
        .checked_add_signed(Duration::seconds(offset.local_minus_utc() as i64))
        .map(|d| d.date())
        .unwrap_or_else(|| at.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calendar {
        let mut c = Calendar::default();
        c.add_list(include_str!("../config/holidays-id-2026.toml"))
            .unwrap();
        c
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn shipped_list_has_17_holidays_and_8_cuti_bersama() {
        let c = cal();
        assert_eq!(c.off_days.len(), 25);
        assert!(c.covers_year(2026));
        assert!(!c.covers_year(2027));
    }

    #[test]
    fn weekends_are_skipped() {
        let c = Calendar::default();
        // Monday 2026-11-23 + 7 working days = Wednesday 2026-12-02.
        assert_eq!(c.add_working_days(d("2026-11-23"), 7), d("2026-12-02"));
        // Received on Saturday: Monday is day 1.
        assert_eq!(c.add_working_days(d("2026-11-21"), 1), d("2026-11-23"));
        assert_eq!(c.add_working_days(d("2026-11-20"), 1), d("2026-11-23"));
        assert_eq!(c.add_working_days(d("2026-11-20"), 0), d("2026-11-20"));
    }

    #[test]
    fn lebaran_2026_holidays_and_cuti_bersama_are_skipped() {
        let c = cal();
        // Received Tue 17 Mar 2026. Off: 18 (cuti Nyepi), 19 (Nyepi), 20 (cuti), 21-22 (Idul
        // Fitri, weekend anyway), 23, 24 (cuti). Working: 25 W, 26 Th, 27 F, 30 M, 31 T, 1 Apr W,
        // 2 Apr Th → 7th working day is 2 Apr.
        assert_eq!(c.add_working_days(d("2026-03-17"), 7), d("2026-04-02"));
        // Christmas: Wed 23 Dec + 2 → 24 (cuti), 25 (holiday), 26-27 weekend → 28, 29.
        assert_eq!(c.add_working_days(d("2026-12-23"), 2), d("2026-12-29"));
        // Without the list the same dates fall in the holidays.
        assert_eq!(
            Calendar::default().add_working_days(d("2026-03-17"), 7),
            d("2026-03-26")
        );
    }

    #[test]
    fn due_instant_is_end_of_day_in_office_time() {
        let c = cal();
        let wib = FixedOffset::east_opt(7 * 3600).unwrap();
        // 2026-11-22 20:00 UTC is Monday 23 Nov 03:00 WIB: counted from Monday.
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 20, 0, 0).unwrap();
        let (due, end) = c.due(at, 7, wib);
        assert_eq!(due, d("2026-12-02"));
        assert_eq!(
            end,
            Utc.with_ymd_and_hms(2026, 12, 2, 16, 59, 59).unwrap() + Duration::milliseconds(999)
        );
        assert_eq!(c.working_days_between(d("2026-11-23"), due), 7);
        // The end of the calendar saturates instead of panicking.
        let (due, end) = c.due(DateTime::<Utc>::MAX_UTC, 7, wib);
        assert_eq!(due, NaiveDate::MAX);
        assert_eq!(end, DateTime::<Utc>::MAX_UTC);
    }
}

//! Working time for service standards (*baku mutu*): office hours on working days, where
//! weekends, national holidays and *cuti bersama* are not working days.
//!
//! Every clock in aduan is computed here, in one way:
//! - a clock **starts** at the instant of its event if that falls inside office hours, otherwise
//!   at the opening of the next working period (a complaint received at 20:00, on a Saturday or
//!   on a holiday counts from the next opening, so it gets the same time as one received at
//!   08:00 that day);
//! - a standard in **minutes or hours** is working time added from the start across working
//!   periods (1 hour started at 15:30 ends at 08:30 the next working day);
//! - a standard in **working days** ends at the close of the N-th working day after the start's
//!   day (the start's own day is day 0, as the seeds count);
//! - a standard in **days** (a citizen's deadline) ends at the end of the N-th calendar day;
//! - a **pause** (waiting for the citizen) extends a deadline by the working time it lasted.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use serde::Deserialize;

/// How far any clock looks ahead before giving up (a broken calendar never loops forever).
const MAX_DAYS: u32 = 20 * 366;

/// A service standard: how long a step or the whole complaint may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    /// Working minutes (`15 min`, `2 h`).
    Minutes(u32),
    /// Working days (`7 working days`), ending at the close of the last one.
    WorkingDays(u32),
    /// Calendar days (`14 days`), ending at midnight office time after the last one.
    Days(u32),
}

impl fmt::Display for Standard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Standard::Minutes(m) if m % 60 == 0 && m > 0 => write!(f, "{} h", m / 60),
            Standard::Minutes(m) => write!(f, "{m} min"),
            Standard::WorkingDays(1) => f.write_str("1 working day"),
            Standard::WorkingDays(n) => write!(f, "{n} working days"),
            Standard::Days(1) => f.write_str("1 day"),
            Standard::Days(n) => write!(f, "{n} days"),
        }
    }
}

impl FromStr for Standard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a service standard (write e.g. `15 min`, `2 h`, `3 working days`, `14 days`)"
            )
        };
        let s2 = s.trim();
        let split = s2.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u32 = s2[..split].parse().map_err(|_| bad())?;
        let unit = s2[split..].trim().to_ascii_lowercase();
        let std = match unit.as_str() {
            "min" | "mins" | "minute" | "minutes" | "menit" => Standard::Minutes(n),
            "h" | "hour" | "hours" | "jam" => Standard::Minutes(n.checked_mul(60).ok_or_else(bad)?),
            "working day" | "working days" | "wd" | "hari kerja" => Standard::WorkingDays(n),
            "day" | "days" | "d" | "hari" => Standard::Days(n),
            _ => return Err(bad()),
        };
        let too_long = match std {
            Standard::Minutes(m) => m > 60 * 24 * 366,
            Standard::WorkingDays(d) | Standard::Days(d) => d > 366,
        };
        if too_long {
            return Err(format!("`{s}` is longer than a year"));
        }
        Ok(std)
    }
}

impl<'de> Deserialize<'de> for Standard {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Office hours: the daily working period and the weekdays it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeHours {
    pub open: NaiveTime,
    pub close: NaiveTime,
    /// Working weekdays, Monday first.
    pub weekdays: [bool; 7],
}

impl Default for OfficeHours {
    /// 08:00–16:00, Monday to Friday.
    fn default() -> Self {
        OfficeHours {
            open: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            close: NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default(),
            weekdays: [true, true, true, true, true, false, false],
        }
    }
}

impl OfficeHours {
    /// Parses `"08:00-16:00"` and weekday names (`mon`…`sun`).
    pub fn parse(hours: &str, days: &[String]) -> Result<OfficeHours, String> {
        let (a, b) = hours
            .split_once('-')
            .ok_or_else(|| format!("`{hours}` is not a period like `08:00-16:00`"))?;
        let t = |x: &str| {
            NaiveTime::parse_from_str(x.trim(), "%H:%M")
                .map_err(|_| format!("`{}` is not a time like `08:00`", x.trim()))
        };
        let (open, close) = (t(a)?, t(b)?);
        if close <= open {
            return Err(format!("`{hours}` closes before it opens"));
        }
        let mut weekdays = [false; 7];
        for d in days {
            let w = d.parse::<Weekday>().map_err(|_| {
                format!("`{d}` is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
            })?;
            weekdays[w.num_days_from_monday() as usize] = true;
        }
        if !weekdays.contains(&true) {
            return Err("no working weekday".into());
        }
        Ok(OfficeHours {
            open,
            close,
            weekdays,
        })
    }

    pub fn works_on(&self, w: Weekday) -> bool {
        self.weekdays[w.num_days_from_monday() as usize]
    }

    fn day_length(&self) -> Duration {
        self.close - self.open
    }
}

#[derive(Debug, Clone)]
pub struct Calendar {
    off_days: BTreeSet<NaiveDate>,
    /// Years a holiday list covers; a due date outside them is computed with weekends only.
    years: BTreeSet<i32>,
    /// Listed days still to be confirmed (a holiday that waits for the isbat), with its name.
    to_confirm: std::collections::BTreeMap<NaiveDate, String>,
    offset: FixedOffset,
    hours: OfficeHours,
}

impl Default for Calendar {
    /// No holidays, WIB, 08:00–16:00 Monday to Friday.
    fn default() -> Self {
        Calendar::new(
            FixedOffset::east_opt(7 * 3600).expect("+07:00 is a valid offset"),
            OfficeHours::default(),
        )
    }
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
    name: Option<String>,
    /// The date waits for a decision still to come (the isbat of Idul Fitri and Idul Adha).
    #[serde(default)]
    confirm: bool,
}

impl Calendar {
    pub fn new(offset: FixedOffset, hours: OfficeHours) -> Calendar {
        Calendar {
            off_days: BTreeSet::new(),
            years: BTreeSet::new(),
            to_confirm: Default::default(),
            offset,
            hours,
        }
    }

    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    pub fn hours(&self) -> &OfficeHours {
        &self.hours
    }

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
            if d.confirm {
                self.to_confirm
                    .insert(date, d.name.clone().unwrap_or_default());
            }
        }
        Ok(())
    }

    pub fn add_day(&mut self, date: NaiveDate) {
        self.off_days.insert(date);
    }

    /// A listed day the office works after all (the isbat moved a holiday).
    pub fn remove_day(&mut self, date: NaiveDate) {
        self.off_days.remove(&date);
        self.to_confirm.remove(&date);
    }

    pub fn covers_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The years holiday lists cover.
    pub fn covered_years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    /// Listed holidays of `year` that wait for a decision still to come, with their names.
    pub fn to_confirm(&self, year: i32) -> Vec<(NaiveDate, &str)> {
        self.to_confirm
            .iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(d, n)| (*d, n.as_str()))
            .collect()
    }

    /// The first year between two instants (office time) no holiday list covers: due dates in
    /// it count weekends only and are flagged until a list is added and `aduan sla recompute`
    /// runs.
    pub fn uncovered_year(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<i32> {
        let (a, b) = (self.local_date(from).year(), self.local_date(to).year());
        (a..=b.max(a)).find(|y| !self.covers_year(*y))
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.hours.works_on(d.weekday()) && !self.off_days.contains(&d)
    }

    /// The date `n` working days after `start`: `start` itself is day 0, the first working day
    /// after it is day 1.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        let mut looked = 0;
        while left > 0 && looked < MAX_DAYS {
            let Some(next) = d.succ_opt() else { return d };
            d = next;
            looked += 1;
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

    /// The office-local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        local_date(at, self.offset)
    }

    /// The instant a local time of a local date is (saturating at the calendar's end).
    fn instant(&self, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        self.offset
            .from_local_datetime(&d.and_time(t))
            .single()
            .map(|x| x.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Opening and closing instants of a date's working period.
    fn period(&self, d: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.instant(d, self.hours.open),
            self.instant(d, self.hours.close),
        )
    }

    /// Where a clock started by an event at `at` starts: `at` inside office hours, else the
    /// opening of the next working period.
    pub fn work_start(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut d = self.local_date(at);
        for _ in 0..MAX_DAYS {
            if self.is_working_day(d) {
                let (open, close) = self.period(d);
                if at < close {
                    return at.max(open);
                }
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// Adds working time to an instant: the instant `amount` of office hours after `at`'s start.
    pub fn add_working_time(&self, at: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut s = self.work_start(at);
        let mut left = amount.max(Duration::zero());
        for _ in 0..MAX_DAYS {
            if s == DateTime::<Utc>::MAX_UTC {
                return s;
            }
            let (_, close) = self.period(self.local_date(s));
            let avail = close - s;
            if left <= avail {
                return s + left;
            }
            left -= avail;
            s = self.work_start(close);
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// Working time between two instants (office hours of working days inside `[from, to)`).
    pub fn working_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        let mut d = self.local_date(from);
        let last = self.local_date(to);
        let mut looked = 0;
        while d <= last && looked < MAX_DAYS {
            if self.is_working_day(d) {
                let (open, close) = self.period(d);
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += b - a;
                }
            }
            looked += 1;
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        total
    }

    /// Working days as working time (one day is the length of the office's period).
    pub fn working_days_as_time(&self, n: i64) -> Duration {
        self.hours.day_length() * n as i32
    }

    /// When a clock of standard `std` started by an event at `at` runs out.
    pub fn deadline(&self, at: DateTime<Utc>, std: Standard) -> DateTime<Utc> {
        match std {
            Standard::Minutes(m) => self.add_working_time(at, Duration::minutes(m as i64)),
            Standard::WorkingDays(n) => {
                let start = self.work_start(at);
                if start == DateTime::<Utc>::MAX_UTC {
                    return start;
                }
                let due = self.add_working_days(self.local_date(start), n);
                self.period(due).1
            }
            Standard::Days(n) => {
                let due = self
                    .local_date(at)
                    .checked_add_days(chrono::Days::new(n as u64 + 1))
                    .unwrap_or(NaiveDate::MAX);
                self.instant(due, NaiveTime::MIN)
            }
        }
    }

    /// A deadline `std` after `start`, moved on by the working time of each pause (a pause
    /// still running counts up to `now`).
    pub fn deadline_with_pauses(
        &self,
        start: DateTime<Utc>,
        std: Standard,
        pauses: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let paused: Duration = pauses
            .iter()
            .map(|(a, b)| self.working_time(*a, b.unwrap_or(now)))
            .sum();
        let due = self.deadline(start, std);
        if paused.is_zero() {
            due
        } else {
            self.add_working_time(due, paused)
        }
    }

    /// Working time left until `due` (negative when it has passed), for "sisa"/"terlambat".
    pub fn working_time_left(&self, now: DateTime<Utc>, due: DateTime<Utc>) -> Duration {
        if now <= due {
            self.working_time(now, due)
        } else {
            -self.working_time(due, now)
        }
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

    /// An instant given in WIB.
    fn wib(s: &str) -> DateTime<Utc> {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_local_timezone(FixedOffset::east_opt(7 * 3600).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }

    fn wd(n: u32) -> Standard {
        Standard::WorkingDays(n)
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
        assert_eq!(
            Calendar::default().add_working_days(d("2026-03-17"), 7),
            d("2026-03-26")
        );
    }

    #[test]
    fn working_days_end_at_the_close_of_the_last_one() {
        let c = cal();
        assert_eq!(
            c.deadline(wib("2026-11-23 10:00"), wd(7)),
            wib("2026-12-02 16:00")
        );
        assert_eq!(c.local_date(wib("2026-12-02 16:00")), d("2026-12-02"));
        // The end of the calendar saturates instead of panicking or looping.
        assert_eq!(
            c.deadline(DateTime::<Utc>::MAX_UTC, wd(7)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            c.add_working_time(DateTime::<Utc>::MAX_UTC, Duration::hours(1)),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn receipt_after_hours_counts_from_the_next_working_period() {
        let c = cal();
        let monday_8 = c.deadline(wib("2026-11-23 08:00"), wd(7));
        // Before opening on Monday: the same clock as 08:00.
        assert_eq!(c.deadline(wib("2026-11-23 06:30"), wd(7)), monday_8);
        // Saturday, Sunday night: from Monday's opening, not shorter than a Monday receipt.
        assert_eq!(c.deadline(wib("2026-11-21 11:00"), wd(7)), monday_8);
        assert_eq!(c.deadline(wib("2026-11-22 23:50"), wd(7)), monday_8);
        // Friday evening as well.
        assert_eq!(c.deadline(wib("2026-11-20 16:00"), wd(7)), monday_8);
        // Monday 20:00 counts from Tuesday.
        assert_eq!(
            c.deadline(wib("2026-11-23 20:00"), wd(7)),
            wib("2026-12-03 16:00")
        );
        // A holiday (Christmas, Fri 25 Dec 2026) counts from Monday 28.
        assert_eq!(
            c.work_start(wib("2026-12-25 09:00")),
            wib("2026-12-28 08:00")
        );
        assert_eq!(
            c.work_start(wib("2026-12-23 15:59")),
            wib("2026-12-23 15:59")
        );
    }

    #[test]
    fn minutes_and_hours_are_working_time() {
        let c = cal();
        let h = |n: u32| Standard::Minutes(n * 60);
        assert_eq!(
            c.deadline(wib("2026-11-23 10:00"), h(1)),
            wib("2026-11-23 11:00")
        );
        // 1 hour from 15:30: half an hour today, half an hour at the next opening.
        assert_eq!(
            c.deadline(wib("2026-11-23 15:30"), h(1)),
            wib("2026-11-24 08:30")
        );
        // Across a weekend and Christmas (24 cuti, 25 holiday): Wed 23 Dec 15:00 + 2 h.
        assert_eq!(
            c.deadline(wib("2026-12-23 15:00"), h(2)),
            wib("2026-12-28 09:00")
        );
        // 15 minutes received at night: from the opening.
        assert_eq!(
            c.deadline(wib("2026-11-23 22:00"), Standard::Minutes(15)),
            wib("2026-11-24 08:15")
        );
        // A whole day's hours from the opening end at the close.
        assert_eq!(
            c.deadline(wib("2026-11-23 08:00"), h(8)),
            wib("2026-11-23 16:00")
        );
        assert_eq!(
            c.working_time(wib("2026-11-20 15:00"), wib("2026-11-23 09:00")),
            Duration::hours(2)
        );
        assert_eq!(
            c.working_time_left(wib("2026-11-23 10:00"), wib("2026-11-20 15:00")),
            -Duration::hours(3)
        );
    }

    #[test]
    fn calendar_days_end_at_midnight() {
        let c = cal();
        assert_eq!(
            c.deadline(wib("2026-11-23 10:00"), Standard::Days(14)),
            wib("2026-12-08 00:00")
        );
    }

    #[test]
    fn a_pause_moves_the_deadline_by_its_working_time() {
        let c = cal();
        let start = wib("2026-11-23 10:00");
        // Paused Tue 10:00 → Thu 10:00: two working days of office hours.
        let pauses = [(wib("2026-11-24 10:00"), Some(wib("2026-11-26 10:00")))];
        assert_eq!(
            c.deadline_with_pauses(start, wd(7), &pauses, wib("2026-11-30 10:00")),
            wib("2026-12-04 16:00")
        );
        // A pause over the weekend only costs its working hours (Fri 15:00 → Mon 09:00 = 2 h).
        let pauses = [(wib("2026-11-27 15:00"), Some(wib("2026-11-30 09:00")))];
        assert_eq!(
            c.deadline_with_pauses(start, wd(7), &pauses, wib("2026-11-30 10:00")),
            wib("2026-12-03 10:00")
        );
    }

    #[test]
    fn the_2027_example_of_the_issue() {
        // Received Mon 2026-12-28: with weekends only in 2027 it is due Wed 2027-01-06, and the
        // window crosses a year no list covers.
        let mut c = cal();
        let at = wib("2026-12-28 10:00");
        assert_eq!(c.local_date(c.deadline(at, wd(7))), d("2027-01-06"));
        assert_eq!(c.uncovered_year(at, c.deadline(at, wd(7))), Some(2027));
        // Once a 2027 list with New Year's Day is added: Thursday 2027-01-07.
        c.add_list(
            "year = 2027\n[[holiday]]\ndate = \"2027-01-01\"\nname = \"Tahun Baru 2027 Masehi\"\n",
        )
        .unwrap();
        assert_eq!(c.local_date(c.deadline(at, wd(7))), d("2027-01-07"));
        assert_eq!(c.uncovered_year(at, c.deadline(at, wd(7))), None);
    }

    #[test]
    fn office_hours_and_standards_parse() {
        let h = OfficeHours::parse("07:30-15:30", &["mon".into(), "sat".into()]).unwrap();
        assert_eq!(h.day_length(), Duration::hours(8));
        assert!(h.works_on(Weekday::Sat) && !h.works_on(Weekday::Tue));
        assert!(OfficeHours::parse("16:00-08:00", &["mon".into()]).is_err());
        assert!(OfficeHours::parse("8-16", &["mon".into()]).is_err());
        assert!(OfficeHours::parse("08:00-16:00", &["funday".into()]).is_err());
        assert!(OfficeHours::parse("08:00-16:00", &[]).is_err());
        for (s, v) in [
            ("15 min", Standard::Minutes(15)),
            ("2 h", Standard::Minutes(120)),
            ("1 working day", wd(1)),
            ("3 working days", wd(3)),
            ("14 days", Standard::Days(14)),
        ] {
            assert_eq!(s.parse::<Standard>().unwrap(), v);
            assert_eq!(v.to_string(), s);
        }
        assert_eq!("1 jam".parse::<Standard>().unwrap(), Standard::Minutes(60));
        assert_eq!("5 hari kerja".parse::<Standard>().unwrap(), wd(5));
        for bad in ["", "min", "3 weeks", "-1 h", "400 days", "99999999999 min"] {
            assert!(bad.parse::<Standard>().is_err(), "{bad}");
        }
    }
}

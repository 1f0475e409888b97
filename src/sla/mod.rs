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
mod tests;

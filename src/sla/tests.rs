use super::*;

fn cal() -> Calendar {
    let mut c = Calendar::default();
    c.add_list(include_str!("../../config/holidays-id-2026.toml"))
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

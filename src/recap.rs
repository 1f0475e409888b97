//! *Rekapitulasi*: what the register received in a day or a month (office-local), per channel
//! and per status, how many were answered within the service standard, how many are overdue,
//! and the median and 90th percentile time to answer. Rendered as a printable page with an SVG
//! chart, as CSV, and by `aduan report daily|monthly`.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone};

use crate::state::Core;

/// A period in office-local days: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub monthly: bool,
}

impl Period {
    pub fn day(d: NaiveDate) -> Period {
        Period {
            from: d,
            to: d.succ_opt().unwrap_or(d),
            monthly: false,
        }
    }

    pub fn month(year: i32, month: u32) -> Option<Period> {
        let from = NaiveDate::from_ymd_opt(year, month, 1)?;
        let to = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        Some(Period {
            from,
            to,
            monthly: true,
        })
    }

    /// `2026-11-22` (a day) or `2026-11` (a month).
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(Period::day(d));
        }
        let (y, m) = s.split_once('-')?;
        Period::month(y.parse().ok()?, m.parse().ok()?)
    }

    pub fn label(&self) -> String {
        if self.monthly {
            format!("{:04}-{:02}", self.from.year(), self.from.month())
        } else {
            self.from.format("%Y-%m-%d").to_string()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recap {
    pub received: i64,
    pub by_channel: BTreeMap<String, i64>,
    pub by_status: BTreeMap<String, i64>,
    pub answered: i64,
    pub answered_in_time: i64,
    pub answered_late: i64,
    /// Open, unanswered and past the due time now.
    pub overdue_open: i64,
    /// Hours from receipt to answer.
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    /// Each step of the procedure: its stays, against the step's standard.
    pub steps: Vec<StepFigure>,
    /// The citizens' verdicts given in the period, per month and channel, then per month for
    /// all channels (`channel` = `semua`).
    pub satisfaction: Vec<Satisfaction>,
}

/// The survey's figure for the complaint-handling element (*Survei Kepuasan Masyarakat*):
/// the mean verdict × 25, its grade, and how many answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Satisfaction {
    /// `2026-12`, of the verdict's date in office time.
    pub month: String,
    /// The complaint's channel, or `semua` for all.
    pub channel: String,
    pub respondents: i64,
    pub index: f64,
    pub grade: char,
}

/// The verdicts grouped per month and channel, then per month.
pub fn satisfaction(
    verdicts: &[crate::register::verdicts::Verdict],
    offset: chrono::FixedOffset,
) -> Vec<Satisfaction> {
    use crate::workflow::verdict::{grade, index};
    let mut groups: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for v in verdicts {
        let month = chrono::DateTime::from_timestamp_millis(v.rated_at)
            .map(|t| t.with_timezone(&offset).format("%Y-%m").to_string())
            .unwrap_or_default();
        for channel in [v.channel.clone(), ALL_CHANNELS.to_string()] {
            let g = groups.entry((month.clone(), channel)).or_default();
            g.0 += 1;
            g.1 += v.rating;
        }
    }
    groups
        .into_iter()
        .map(|((month, channel), (n, sum))| {
            let idx = index(sum as f64 / n as f64);
            Satisfaction {
                month,
                channel,
                respondents: n,
                index: (idx * 100.0).round() / 100.0,
                grade: grade(idx),
            }
        })
        .collect()
}

/// One step's time taken against its standard (*baku mutu*), over the stays of the
/// complaints received in the period: a stay ends when the complaint moves on (an approval
/// ends one stay in `answer_drafted` and starts the next stage's).
#[derive(Debug, Clone, PartialEq)]
pub struct StepFigure {
    pub status: crate::workflow::Status,
    /// The step's standard as the procedure writes it (`-` when it has none).
    pub standard: String,
    /// Finished stays, and those of them within the standard and over it.
    pub stays: i64,
    pub within: i64,
    pub over: i64,
    /// Stays still running now, and those of them already past the standard.
    pub running: i64,
    pub running_over: i64,
    /// Median working time of the finished stays, in minutes.
    pub median_minutes: Option<f64>,
}

/// The per-step figures from the status changes (each complaint's in order).
pub fn steps(
    core: &Core,
    changes: &[crate::register::reports::StepChange],
    now: i64,
) -> Vec<StepFigure> {
    use crate::workflow::{clock, Status};
    let cal = &core.calendar;
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    #[derive(Default)]
    struct Tally {
        stays: i64,
        within: i64,
        over: i64,
        running: i64,
        running_over: i64,
        minutes: Vec<f64>,
    }
    let mut acc: BTreeMap<Status, Tally> = BTreeMap::new();
    let mut i = 0;
    while i < changes.len() {
        let id = changes[i].complaint_id;
        let mut approvals = 0usize;
        let mut j = i;
        while j < changes.len() && changes[j].complaint_id == id {
            let c = &changes[j];
            let Ok(status) = c.to_status.parse::<Status>() else {
                j += 1;
                continue;
            };
            match c.action.as_str() {
                "approve" if status == Status::AnswerDrafted => approvals += 1,
                _ => approvals = 0,
            }
            if !status.is_final() {
                let std = clock::step_standard(core, status, approvals);
                let end = changes
                    .get(j + 1)
                    .filter(|n| n.complaint_id == id)
                    .map(|n| n.at);
                let e = acc.entry(status).or_default();
                let deadline = std.map(|s| cal.deadline(at(c.at), s).timestamp_millis());
                match end {
                    Some(end) => {
                        e.stays += 1;
                        match deadline {
                            Some(d) if end <= d => e.within += 1,
                            Some(_) => e.over += 1,
                            None => {}
                        }
                        let worked = cal.working_time(at(c.at), at(end));
                        e.minutes.push(worked.num_seconds() as f64 / 60.0);
                    }
                    None => {
                        e.running += 1;
                        if deadline.is_some_and(|d| now > d) {
                            e.running_over += 1;
                        }
                    }
                }
            }
            j += 1;
        }
        i = j;
    }
    acc.into_iter()
        .map(|(status, mut t)| {
            t.minutes.sort_by(|a, b| a.total_cmp(b));
            StepFigure {
                status,
                standard: clock::step_standard(core, status, 0)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                stays: t.stays,
                within: t.within,
                over: t.over,
                running: t.running,
                running_over: t.running_over,
                median_minutes: percentile(&t.minutes, 50.0),
            }
        })
        .collect()
}

/// The `channel` of the all-channels row.
pub const ALL_CHANNELS: &str = "semua";

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

pub async fn compute(core: &Core, p: Period) -> sqlx::Result<Recap> {
    let off = core.settings.offset;
    let ms = |d: NaiveDate| {
        off.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    };
    let rows = crate::register::reports::received_between(&core.db, ms(p.from), ms(p.to)).await?;
    let now = core.clock.now().timestamp_millis();
    let mut r = Recap::default();
    let mut hours = Vec::new();
    for row in &rows {
        r.received += 1;
        *r.by_channel.entry(row.channel.clone()).or_default() += 1;
        *r.by_status.entry(row.status.to_string()).or_default() += 1;
        let (due, received) = (row.due_at, row.received_at);
        match row.answered_at {
            Some(a) => {
                r.answered += 1;
                if a <= due {
                    r.answered_in_time += 1;
                } else {
                    r.answered_late += 1;
                }
                hours.push((a - received).max(0) as f64 / 3_600_000.0);
            }
            None => {
                if crate::register::is_overdue(row.is_open == 1, false, row.status, due, now) {
                    r.overdue_open += 1;
                }
            }
        }
    }
    hours.sort_by(|a, b| a.total_cmp(b));
    r.median_hours = percentile(&hours, 50.0);
    r.p90_hours = percentile(&hours, 90.0);
    let changes =
        crate::register::reports::step_changes_between(&core.db, ms(p.from), ms(p.to)).await?;
    r.steps = steps(core, &changes, now);
    let verdicts = crate::register::verdicts::given_between(&core.db, ms(p.from), ms(p.to)).await?;
    r.satisfaction = satisfaction(&verdicts, off);
    Ok(r)
}

fn hours(h: Option<f64>) -> String {
    h.map(|h| format!("{h:.1}")).unwrap_or_else(|| "-".into())
}

/// `section,key,value` lines.
pub fn csv(p: &Period, r: &Recap) -> String {
    let mut out = String::from("section,key,value\n");
    let mut line = |s: &str, k: &str, v: String| out.push_str(&format!("{s},{k},{v}\n"));
    line("period", "label", p.label());
    line("total", "received", r.received.to_string());
    for (k, v) in &r.by_channel {
        line("channel", k, v.to_string());
    }
    for (k, v) in &r.by_status {
        line("status", k, v.to_string());
    }
    line("sla", "answered", r.answered.to_string());
    line("sla", "answered_in_time", r.answered_in_time.to_string());
    line("sla", "answered_late", r.answered_late.to_string());
    line("sla", "overdue_open", r.overdue_open.to_string());
    line("time_to_answer_hours", "median", hours(r.median_hours));
    line("time_to_answer_hours", "p90", hours(r.p90_hours));
    for x in &r.steps {
        let k = x.status.as_str();
        line("step_standard", k, x.standard.clone());
        line("step_stays", k, x.stays.to_string());
        line("step_within_standard", k, x.within.to_string());
        line("step_over_standard", k, x.over.to_string());
        line("step_running", k, x.running.to_string());
        line("step_running_over_standard", k, x.running_over.to_string());
        line(
            "step_median_working_minutes",
            k,
            x.median_minutes
                .map(|m| format!("{m:.0}"))
                .unwrap_or_else(|| "-".into()),
        );
    }
    for x in &r.satisfaction {
        let k = format!("{} {}", x.month, x.channel);
        line("skm_index", &k, format!("{:.2}", x.index));
        line("skm_grade", &k, x.grade.to_string());
        line("skm_respondents", &k, x.respondents.to_string());
    }
    out
}

/// Plain text for the terminal.
pub fn text(p: &Period, r: &Recap) -> String {
    let mut out = format!("Rekapitulasi {}\nreceived: {}\n", p.label(), r.received);
    for (k, v) in &r.by_channel {
        out.push_str(&format!("  channel {k}: {v}\n"));
    }
    for (k, v) in &r.by_status {
        out.push_str(&format!("  status {k}: {v}\n"));
    }
    out.push_str(&format!(
        "answered: {} (in time {}, late {}); open and overdue: {}\ntime to answer: median {} h, p90 {} h\n",
        r.answered,
        r.answered_in_time,
        r.answered_late,
        r.overdue_open,
        hours(r.median_hours),
        hours(r.p90_hours)
    ));
    for x in &r.steps {
        out.push_str(&format!(
            "step {}: standard {}, {} done ({} within, {} over), {} running ({} over), median {} working min\n",
            x.status,
            x.standard,
            x.stays,
            x.within,
            x.over,
            x.running,
            x.running_over,
            x.median_minutes
                .map(|m| format!("{m:.0}"))
                .unwrap_or_else(|| "-".into())
        ));
    }
    for x in &r.satisfaction {
        out.push_str(&format!(
            "SKM (penanganan pengaduan) {} {}: index {:.2} ({}), {} respondents\n",
            x.month, x.channel, x.index, x.grade, x.respondents
        ));
    }
    out
}

/// A bar chart of complaints per channel: plain SVG, no external assets, values escaped.
pub fn svg(r: &Recap) -> String {
    let max = r.by_channel.values().copied().max().unwrap_or(0).max(1) as f64;
    let bar_h = 22;
    let h = 10 + r.by_channel.len() as i32 * (bar_h + 8);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"480\" height=\"{h}\" role=\"img\" aria-label=\"per channel\">"
    );
    for (i, (k, v)) in r.by_channel.iter().enumerate() {
        let y = 10 + i as i32 * (bar_h + 8);
        let w = (*v as f64 / max * 300.0).round().max(1.0);
        s.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"90\" y=\"{y}\" width=\"{w}\" height=\"{bar_h}\" fill=\"#0b4f6c\"/><text x=\"{}\" y=\"{}\" font-size=\"13\">{v}</text>",
            y + 16,
            maud::html! { (k) }.into_string(),
            96.0 + w,
            y + 16
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_percentiles() {
        let p = Period::parse("2026-11").unwrap();
        assert_eq!(p.from.to_string(), "2026-11-01");
        assert_eq!(p.to.to_string(), "2026-12-01");
        assert_eq!(
            Period::parse("2026-12").unwrap().to.to_string(),
            "2027-01-01"
        );
        let d = Period::parse("2026-11-22").unwrap();
        assert_eq!((d.to - d.from).num_days(), 1);
        assert!(Period::parse("2026-13").is_none());
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn satisfaction_matches_the_hand_computed_fixture() {
        use crate::register::verdicts::Verdict;
        let wib = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
        // 2026-12-01 00:30 WIB is still November in UTC: the office's month counts.
        let dec1 = 1_796_059_800_000; // 2026-11-30T17:30:00Z
        let jan = 1_798_779_600_000; // 2027-01-01T05:00:00Z
        let v = |channel: &str, rating: i64, rated_at: i64| Verdict {
            channel: channel.into(),
            rating,
            rated_at,
        };
        let verdicts = [
            v("sms", 4, dec1),
            v("sms", 4, dec1),
            v("sms", 3, dec1),
            v("web", 3, dec1),
            v("web", 2, dec1),
            v("telegram", 4, dec1),
            v("telegram", 3, dec1),
            v("telegram", 3, dec1),
            v("telegram", 3, dec1),
            v("sms", 1, jan),
        ];
        let got: Vec<(String, String, i64, f64, char)> = satisfaction(&verdicts, wib)
            .into_iter()
            .map(|s| (s.month, s.channel, s.respondents, s.index, s.grade))
            .collect();
        let row = |m: &str, c: &str, n, i, g| (m.to_string(), c.to_string(), n, i, g);
        assert_eq!(
            got,
            [
                // 29 / 9 = 3.2222… × 25 = 80.56: B.
                row("2026-12", "semua", 9, 80.56, 'B'),
                // 11 / 3 = 3.6667 × 25 = 91.67: A.
                row("2026-12", "sms", 3, 91.67, 'A'),
                // 13 / 4 = 3.25 × 25 = 81.25: B.
                row("2026-12", "telegram", 4, 81.25, 'B'),
                // 5 / 2 = 2.5 × 25 = 62.50: D.
                row("2026-12", "web", 2, 62.5, 'D'),
                row("2027-01", "semua", 1, 25.0, 'D'),
                row("2027-01", "sms", 1, 25.0, 'D'),
            ]
        );
    }

    #[test]
    fn svg_escapes_names() {
        let mut r = Recap::default();
        r.by_channel.insert("<x>".into(), 3);
        let s = svg(&r);
        assert!(s.contains("&lt;x&gt;") && !s.contains("<x>"));
    }
}

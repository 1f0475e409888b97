//! The procedure's clocks: a step clock per step (its service standard from the office's
//! procedure) and the whole-complaint clock (`office.sla_working_days`, started by the complete
//! file, paused while waiting for the citizen), both in working time (`sla.rs`).
//!
//! [`run`] sweeps them once a minute: a returned file past the citizen's completion deadline is
//! closed with notice; a step past its standard is escalated once (audit trail, `/metrics`).
//! [`recompute`] (`aduan sla recompute`) recomputes open complaints after a holiday list was
//! added or the procedure changed.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::register::{self, clock::WholeClock};
use crate::sla::Standard;
use crate::state::Core;
use crate::workflow::Status;

pub(crate) fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The whole clock of a complaint whose complete file dates from `started_at`.
pub fn whole(core: &Core, started_at: i64, pauses: &[(i64, Option<i64>)], now: i64) -> WholeClock {
    let cal = &core.calendar;
    let std = Standard::WorkingDays(core.settings.sla_days);
    let pauses: Vec<_> = pauses
        .iter()
        .map(|(a, b)| (instant(*a), b.map(instant)))
        .collect();
    let start = instant(started_at);
    let due = cal.deadline_with_pauses(start, std, &pauses, instant(now));
    WholeClock {
        started_at,
        due_at: millis(due),
        due_date: cal.local_date(due).format("%Y-%m-%d").to_string(),
        calendar_gap: cal.uncovered_year(start, due).map(i64::from),
    }
}

/// The standard of the step a complaint enters: the step's own, the next approval's in the
/// chain (`approvals_done` given), the completion deadline while waiting for the citizen.
pub fn step_standard(core: &Core, status: Status, approvals_done: usize) -> Option<Standard> {
    let p = &core.procedure;
    if status.is_final() {
        return None;
    }
    if status == Status::Incomplete {
        return Some(p.completion_deadline);
    }
    let step = p.step(status)?;
    if status == Status::AnswerDrafted {
        if let Some(a) = step.approvals.get(approvals_done) {
            return a.standard.or(step.standard);
        }
    }
    step.standard
}

/// When the step a complaint enters at `at` runs out.
pub fn step_due(core: &Core, status: Status, approvals_done: usize, at: i64) -> Option<i64> {
    step_standard(core, status, approvals_done)
        .map(|std| millis(core.calendar.deadline(instant(at), std)))
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub closed: usize,
    pub escalated: usize,
}

/// Closes returned files past the completion deadline and escalates steps past their standard.
pub async fn sweep(core: &Core) -> anyhow::Result<Sweep> {
    let now = core.clock.now().timestamp_millis();
    let mut done = Sweep::default();
    loop {
        let due = register::clock::steps_past_due(&core.db, now, 200).await?;
        if due.is_empty() {
            break;
        }
        let n = due.len();
        let before = done;
        for d in due {
            if d.status == Status::Incomplete {
                if super::close_expired(core, &d, now).await? {
                    done.closed += 1;
                }
            } else if super::escalate(core, &d).await? {
                done.escalated += 1;
            }
        }
        // A short batch was the last; a full one where nothing moved (another daemon took
        // them, or they changed meanwhile) would come back the same: the next minute retries.
        if n < 200 || done == before {
            break;
        }
    }
    Ok(done)
}

/// Sweeps once a minute until shutdown.
pub async fn run(core: std::sync::Arc<Core>, shutdown: CancellationToken) {
    let mut calendar_checked = None;
    loop {
        super::calendar::log_gap_daily(&core.calendar, core.clock.now(), &mut calendar_checked);
        match sweep(&core).await {
            Ok(s) if s != Sweep::default() => {
                tracing::info!(closed = s.closed, escalated = s.escalated, "clock sweep")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "clock sweep failed; retrying in a minute"),
        }
        if let Err(e) = super::notices::sweep(&core).await {
            tracing::warn!(error = %e, "officer notices failed; retrying in a minute");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(StdDuration::from_secs(60)) => {}
        }
    }
}

/// What `aduan sla recompute` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recomputed {
    pub open: usize,
    pub changed: usize,
    /// Open complaints whose window still reaches a year without a holiday list.
    pub gaps: usize,
}

/// Recomputes the clocks of every open complaint with the current calendar and procedure.
pub async fn recompute(core: &Core) -> anyhow::Result<Recomputed> {
    let now = core.clock.now().timestamp_millis();
    let mut out = Recomputed::default();
    let mut after = 0;
    loop {
        let batch = register::clock::open_clocks(&core.db, after, 500).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let mut tx = core.db.begin().await?;
        for c in &batch {
            out.open += 1;
            let pauses = register::clock::pauses_since(&mut tx, c.id, c.clock_started_at).await?;
            let w = whole(core, c.clock_started_at, &pauses, now);
            let approvals = match &c.draft_answer {
                Some(d) if c.status == Status::AnswerDrafted => {
                    let hash = register::sha256_hex(d.as_bytes());
                    register::clock::approvals_done(&mut tx, c.id, c.draft_version, &hash).await?
                        as usize
                }
                _ => 0,
            };
            let step_due = c
                .step_started_at
                .and_then(|at| step_due(core, c.status, approvals, at));
            let old = (c.due_at, &c.due_date, c.calendar_gap, c.step_due_at);
            if old != (w.due_at, &w.due_date, w.calendar_gap, step_due) {
                out.changed += 1;
                register::clock::set_whole_clock(&mut tx, c.id, &w).await?;
                if step_due != c.step_due_at {
                    register::clock::set_step_due(&mut tx, c.id, None, step_due).await?;
                }
            }
            if w.calendar_gap.is_some() {
                out.gaps += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(out)
}

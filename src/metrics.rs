//! Counters for `/metrics` (Prometheus text format). Gauges that the register knows better
//! (queue depth, open and overdue complaints) are read from it at scrape time.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use aduan_channel::Disposition;
use sqlx::Row;

use crate::db::now_ms;
use crate::state::Core;

#[derive(Default)]
pub struct Metrics {
    intake_created: AtomicU64,
    intake_threaded: AtomicU64,
    intake_duplicate: AtomicU64,
    intake_errors: AtomicU64,
    acks_suppressed: AtomicU64,
    send_attempts: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    http_requests: AtomicU64,
    http_rejected: AtomicU64,
}

impl Metrics {
    pub fn intake(&self, d: Disposition) {
        match d {
            Disposition::Created => &self.intake_created,
            Disposition::Threaded => &self.intake_threaded,
            Disposition::Duplicate => &self.intake_duplicate,
        }
        .fetch_add(1, Relaxed);
    }
    pub fn intake_error(&self) {
        self.intake_errors.fetch_add(1, Relaxed);
    }
    pub fn ack_suppressed(&self) {
        self.acks_suppressed.fetch_add(1, Relaxed);
    }
    pub fn send_attempt(&self) {
        self.send_attempts.fetch_add(1, Relaxed);
    }
    pub fn sent(&self) {
        self.sent.fetch_add(1, Relaxed);
    }
    pub fn retried(&self) {
        self.retried.fetch_add(1, Relaxed);
    }
    pub fn failed(&self) {
        self.failed.fetch_add(1, Relaxed);
    }
    pub fn http_request(&self) {
        self.http_requests.fetch_add(1, Relaxed);
    }
    pub fn http_rejected(&self) {
        self.http_rejected.fetch_add(1, Relaxed);
    }
    pub fn send_attempts(&self) -> u64 {
        self.send_attempts.load(Relaxed)
    }
}

/// Renders all metrics.
pub async fn render(core: &Core) -> String {
    let m = &core.metrics;
    let mut out = String::with_capacity(2048);
    let counter = |out: &mut String, name: &str, help: &str, rows: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (labels, v) in rows {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {v}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {v}");
            }
        }
    };
    counter(
        &mut out,
        "aduan_intake_messages_total",
        "Inbound messages by what the register did with them.",
        &[
            ("outcome=\"created\"", m.intake_created.load(Relaxed)),
            ("outcome=\"threaded\"", m.intake_threaded.load(Relaxed)),
            ("outcome=\"duplicate\"", m.intake_duplicate.load(Relaxed)),
            ("outcome=\"error\"", m.intake_errors.load(Relaxed)),
        ],
    );
    counter(
        &mut out,
        "aduan_acks_suppressed_total",
        "Receipts not sent because of the per-sender rate limit.",
        &[("", m.acks_suppressed.load(Relaxed))],
    );
    counter(
        &mut out,
        "aduan_outbox_send_attempts_total",
        "Calls to a channel's send.",
        &[("", m.send_attempts.load(Relaxed))],
    );
    counter(
        &mut out,
        "aduan_outbox_results_total",
        "Outbox send results.",
        &[
            ("result=\"sent\"", m.sent.load(Relaxed)),
            ("result=\"retry\"", m.retried.load(Relaxed)),
            ("result=\"failed\"", m.failed.load(Relaxed)),
        ],
    );
    counter(
        &mut out,
        "aduan_http_requests_total",
        "HTTP requests served.",
        &[("", m.http_requests.load(Relaxed))],
    );
    counter(
        &mut out,
        "aduan_http_rate_limited_total",
        "Public submissions refused by the rate limit.",
        &[("", m.http_rejected.load(Relaxed))],
    );

    let now = now_ms();
    let gauges = async {
        let q = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')) AS pending, \
               (SELECT COUNT(*) FROM outbox WHERE status = 'failed') AS failed, \
               (SELECT MIN(created_at) FROM outbox WHERE status IN ('queued', 'sending')) AS oldest, \
               (SELECT COUNT(*) FROM complaints WHERE is_open = 1) AS open, \
               (SELECT COUNT(*) FROM complaints WHERE is_open = 1 AND due_at < $1) AS overdue",
        )
        .bind(now)
        .fetch_one(&core.db.pool)
        .await?;
        Ok::<_, sqlx::Error>((
            q.try_get::<i64, _>("pending")?,
            q.try_get::<i64, _>("failed")?,
            q.try_get::<Option<i64>, _>("oldest")?,
            q.try_get::<i64, _>("open")?,
            q.try_get::<i64, _>("overdue")?,
        ))
    };
    let up = match gauges.await {
        Ok((pending, failed, oldest, open, overdue)) => {
            let age = oldest
                .map(|o| (now - o).max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            let _ = writeln!(
                out,
                "# TYPE aduan_outbox_pending gauge\naduan_outbox_pending {pending}"
            );
            let _ = writeln!(
                out,
                "# TYPE aduan_outbox_failed gauge\naduan_outbox_failed {failed}"
            );
            let _ = writeln!(out, "# TYPE aduan_outbox_oldest_pending_seconds gauge\naduan_outbox_oldest_pending_seconds {age}");
            let _ = writeln!(
                out,
                "# TYPE aduan_complaints_open gauge\naduan_complaints_open {open}"
            );
            let _ = writeln!(
                out,
                "# TYPE aduan_complaints_overdue gauge\naduan_complaints_overdue {overdue}"
            );
            1
        }
        Err(_) => 0,
    };
    let _ = writeln!(
        out,
        "# TYPE aduan_register_up gauge\naduan_register_up {up}"
    );
    out
}

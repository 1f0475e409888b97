//! Counters for `/metrics` (Prometheus text format). Gauges that the register knows better
//! (queue depth, open and overdue complaints) are read from it at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use aduan_channel::{ChannelKind, Disposition};

use crate::db::now_ms;
use crate::state::Core;

const INTAKE_OUTCOMES: [&str; 4] = ["created", "threaded", "duplicate", "error"];
const SEND_RESULTS: [&str; 3] = ["sent", "retry", "failed"];
/// Upper bounds (seconds) of the request-duration histogram's buckets.
const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One channel's counters: intake outcomes and send results.
#[derive(Default)]
struct ChannelCounters {
    intake: [AtomicU64; 4],
    send_attempts: AtomicU64,
    sends: [AtomicU64; 3],
}

/// Counters since start: per channel (keyed by kind, made for every kind there is) and for the
/// HTTP server.
pub struct Metrics {
    channels: BTreeMap<ChannelKind, ChannelCounters>,
    /// Request durations: a count per bucket (the last is +Inf), and the sum in microseconds.
    durations: [AtomicU64; DURATION_BUCKETS.len() + 1],
    duration_sum_us: AtomicU64,
    acks_suppressed: AtomicU64,
    escalations: AtomicU64,
    auto_closed: AtomicU64,
    http_requests: AtomicU64,
    http_rejected: AtomicU64,
    connections_open: AtomicU64,
    connections_refused: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            channels: ChannelKind::iter()
                .map(|k| (k, ChannelCounters::default()))
                .collect(),
            durations: Default::default(),
            duration_sum_us: Default::default(),
            acks_suppressed: Default::default(),
            escalations: Default::default(),
            auto_closed: Default::default(),
            http_requests: Default::default(),
            http_rejected: Default::default(),
            connections_open: Default::default(),
            connections_refused: Default::default(),
        }
    }
}

impl Metrics {
    fn channel(&self, ch: ChannelKind) -> Option<&ChannelCounters> {
        self.channels.get(&ch)
    }
    pub fn intake(&self, ch: ChannelKind, d: Disposition) {
        let i = match d {
            Disposition::Created => 0,
            Disposition::Threaded => 1,
            Disposition::Duplicate => 2,
        };
        if let Some(c) = self.channel(ch) {
            c.intake[i].fetch_add(1, Relaxed);
        }
    }
    pub fn intake_error(&self, ch: ChannelKind) {
        if let Some(c) = self.channel(ch) {
            c.intake[3].fetch_add(1, Relaxed);
        }
    }
    pub fn ack_suppressed(&self) {
        self.acks_suppressed.fetch_add(1, Relaxed);
    }
    /// A step passed its service standard (escalated once).
    pub fn escalated(&self) {
        self.escalations.fetch_add(1, Relaxed);
    }
    /// A returned file was closed at its completion deadline.
    pub fn auto_closed(&self) {
        self.auto_closed.fetch_add(1, Relaxed);
    }
    pub fn send_attempt(&self, ch: ChannelKind) {
        if let Some(c) = self.channel(ch) {
            c.send_attempts.fetch_add(1, Relaxed);
        }
    }
    pub fn sent(&self, ch: ChannelKind) {
        self.send_result(ch, 0);
    }
    pub fn retried(&self, ch: ChannelKind) {
        self.send_result(ch, 1);
    }
    pub fn failed(&self, ch: ChannelKind) {
        self.send_result(ch, 2);
    }
    fn send_result(&self, ch: ChannelKind, i: usize) {
        if let Some(c) = self.channel(ch) {
            c.sends[i].fetch_add(1, Relaxed);
        }
    }
    /// One HTTP request served in `d`.
    pub fn http_duration(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        let i = DURATION_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(DURATION_BUCKETS.len());
        self.durations[i].fetch_add(1, Relaxed);
        self.duration_sum_us
            .fetch_add(d.as_micros().min(u64::MAX as u128) as u64, Relaxed);
    }
    pub fn http_request(&self) {
        self.http_requests.fetch_add(1, Relaxed);
    }
    pub fn http_rejected(&self) {
        self.http_rejected.fetch_add(1, Relaxed);
    }
    /// A listener event: connections open now, and refused at a cap.
    pub fn connection(&self, e: crate::web::server::ConnEvent) {
        use crate::web::server::ConnEvent::*;
        match e {
            Opened => self.connections_open.fetch_add(1, Relaxed),
            Closed => self.connections_open.fetch_sub(1, Relaxed),
            RefusedFull | RefusedAddress => self.connections_refused.fetch_add(1, Relaxed),
        };
    }
    pub fn connections_open(&self) -> u64 {
        self.connections_open.load(Relaxed)
    }
    /// Calls to channels' `send`, all channels.
    pub fn send_attempts(&self) -> u64 {
        self.channels
            .values()
            .map(|c| c.send_attempts.load(Relaxed))
            .sum()
    }
}

/// A counter family with a `channel` label and one more label taking `names`.
fn table<const N: usize>(
    out: &mut String,
    m: &Metrics,
    name: &str,
    help: &str,
    label: &str,
    pick: impl Fn(&ChannelCounters) -> &[AtomicU64; N],
    names: &[&str; N],
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (ch, c) in &m.channels {
        for (n, v) in names.iter().zip(pick(c)) {
            let v = v.load(Relaxed);
            let _ = writeln!(out, "{name}{{channel=\"{ch}\",{label}=\"{n}\"}} {v}");
        }
    }
}

/// Renders all metrics.
/// How long `/metrics` and `/readyz` wait for the register: a hanging database is reported
/// (`aduan_register_up 0`, 503) well within a scraper's timeout instead of hanging with it.
pub const REGISTER_ANSWER: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn render(core: &Core) -> String {
    let mut out = String::with_capacity(2048);
    traffic(&core.metrics, &mut out);
    register_gauges(core, &mut out).await;
    channels(core, &mut out).await;
    out
}

/// Intake, sends and the HTTP edge: this daemon's counters and the request histogram.
fn traffic(m: &Metrics, out: &mut String) {
    let counter = |out: &mut String, name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    };
    table(
        out,
        m,
        "aduan_intake_messages_total",
        "Inbound messages by channel and what the register did with them.",
        "outcome",
        |c| &c.intake,
        &INTAKE_OUTCOMES,
    );
    let _ = writeln!(
        out,
        "# HELP aduan_outbox_send_attempts_total Calls to a channel's send, by channel.\n\
         # TYPE aduan_outbox_send_attempts_total counter"
    );
    for (ch, c) in &m.channels {
        let _ = writeln!(
            out,
            "aduan_outbox_send_attempts_total{{channel=\"{ch}\"}} {}",
            c.send_attempts.load(Relaxed)
        );
    }
    table(
        out,
        m,
        "aduan_outbox_sends_total",
        "Outcomes of sends by channel: sent, retry (transient failure), failed (parked).",
        "result",
        |c| &c.sends,
        &SEND_RESULTS,
    );
    counter(
        out,
        "aduan_acks_suppressed_total",
        "Receipts not sent because of the per-sender rate limit.",
        m.acks_suppressed.load(Relaxed),
    );
    counter(
        out,
        "aduan_step_escalations_total",
        "Steps that passed their service standard (each escalated once to its owner and superior).",
        m.escalations.load(Relaxed),
    );
    counter(
        out,
        "aduan_incomplete_closed_total",
        "Returned complaints closed because the citizen did not complete them in time.",
        m.auto_closed.load(Relaxed),
    );
    counter(
        out,
        "aduan_http_requests_total",
        "HTTP requests served.",
        m.http_requests.load(Relaxed),
    );
    counter(
        out,
        "aduan_http_rate_limited_total",
        "Public requests refused by a rate limit or a busy slot.",
        m.http_rejected.load(Relaxed),
    );
    counter(
        out,
        "aduan_http_connections_refused_total",
        "Connections closed at once because a connection cap was reached.",
        m.connections_refused.load(Relaxed),
    );
    let _ = writeln!(
        out,
        "# HELP aduan_http_connections_open Open HTTP connections.\n\
         # TYPE aduan_http_connections_open gauge\naduan_http_connections_open {}",
        m.connections_open()
    );
    let _ = writeln!(
        out,
        "# HELP aduan_http_request_duration_seconds Time to answer an HTTP request.\n\
         # TYPE aduan_http_request_duration_seconds histogram"
    );
    let mut cumulative = 0;
    for (i, b) in DURATION_BUCKETS.iter().enumerate() {
        cumulative += m.durations[i].load(Relaxed);
        let _ = writeln!(
            out,
            "aduan_http_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
        );
    }
    cumulative += m.durations[DURATION_BUCKETS.len()].load(Relaxed);
    let _ = writeln!(
        out,
        "aduan_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n\
         aduan_http_request_duration_seconds_sum {}\n\
         aduan_http_request_duration_seconds_count {cumulative}",
        m.duration_sum_us.load(Relaxed) as f64 / 1e6
    );
}

/// What the register holds (within [`REGISTER_ANSWER`]), the calendar, and whether the
/// register answered.
async fn register_gauges(core: &Core, out: &mut String) {
    let now = now_ms();
    let gauges = async {
        let g = crate::register::reports::gauges(&core.db, now).await?;
        Ok::<_, sqlx::Error>((
            g.pending,
            g.failed,
            g.oldest,
            g.open,
            g.overdue,
            g.last_backup,
        ))
    };
    let up = match tokio::time::timeout(REGISTER_ANSWER, gauges)
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
    {
        Ok((pending, failed, oldest, open, overdue, last_backup)) => {
            if let Some(t) = last_backup {
                let _ = writeln!(
                    out,
                    "# HELP aduan_backup_last_success_timestamp_seconds When `aduan backup` last \
                     finished a copy of this register (Unix time).\n\
                     # TYPE aduan_backup_last_success_timestamp_seconds gauge\n\
                     aduan_backup_last_success_timestamp_seconds {}",
                    t / 1000
                );
            }
            let age = oldest
                .map(|o| (now - o).max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            let _ = writeln!(
                out,
                "# HELP aduan_outbox_pending Outbox rows waiting to be sent (queued or being sent).\n# TYPE aduan_outbox_pending gauge\naduan_outbox_pending {pending}"
            );
            let _ = writeln!(
                out,
                "# HELP aduan_outbox_failed Outbox rows parked as failed, waiting for an officer.\n# TYPE aduan_outbox_failed gauge\naduan_outbox_failed {failed}"
            );
            let _ = writeln!(out, "# HELP aduan_outbox_oldest_pending_seconds Age of the oldest outbox row waiting to be sent.\n# TYPE aduan_outbox_oldest_pending_seconds gauge\naduan_outbox_oldest_pending_seconds {age}");
            let _ = writeln!(
                out,
                "# HELP aduan_complaints_open Open complaints.\n# TYPE aduan_complaints_open gauge\naduan_complaints_open {open}"
            );
            let _ = writeln!(
                out,
                "# HELP aduan_complaints_overdue Open complaints not answered yet and past their due time.\n# TYPE aduan_complaints_overdue gauge\naduan_complaints_overdue {overdue}"
            );
            1
        }
        Err(_) => 0,
    };
    let cal = crate::workflow::calendar::status(&core.calendar, core.clock.now());
    let _ = writeln!(
        out,
        "# HELP aduan_calendar_gap_year The first year within the next {} days that no holiday \
         list covers (its due dates would count weekends only); 0 when every one is covered.\n\
         # TYPE aduan_calendar_gap_year gauge\naduan_calendar_gap_year {}",
        crate::workflow::calendar::HORIZON_DAYS,
        cal.gap.unwrap_or(0)
    );
    let _ = writeln!(
        out,
        "# HELP aduan_calendar_last_covered_year The last year a holiday list covers.\n\
         # TYPE aduan_calendar_last_covered_year gauge\naduan_calendar_last_covered_year {}",
        cal.covered.last().copied().unwrap_or(0)
    );
    let _ = writeln!(
        out,
        "# HELP aduan_register_up Whether the register answered this scrape (1) or not (0).\n# TYPE aduan_register_up gauge\naduan_register_up {up}"
    );
}

/// Each channel this daemon runs: ready or not, and its own values.
async fn channels(core: &Core, out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP aduan_channel_up Whether a channel this daemon runs is ready (1) or not (0).\n\
         # TYPE aduan_channel_up gauge"
    );
    for (kind, ch) in core.channels.iter() {
        let up = core.channels.health_of(*kind, ch).await.ready as u8;
        let _ = writeln!(out, "aduan_channel_up{{channel=\"{kind}\"}} {up}");
    }
    let mut helped = std::collections::HashSet::new();
    for (_, ch) in core.channels.iter() {
        for g in ch.gauges() {
            if helped.insert(g.name) {
                // A channel's value named `…_total` counts up (a counter); any other is a gauge.
                let kind = if g.name.ends_with("_total") {
                    "counter"
                } else {
                    "gauge"
                };
                let _ = writeln!(
                    out,
                    "# HELP {} {}\n# TYPE {} {kind}",
                    g.name, g.help, g.name
                );
            }
            let labels: Vec<String> = g
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace(['"', '\\', '\n'], "_")))
                .collect();
            let _ = writeln!(out, "{}{{{}}} {}", g.name, labels.join(","), g.value);
        }
    }
}

//! What the register reports: the dashboard's counts and lists, the recap's rows, the gauges
//! of `/metrics`. "Overdue" is [`super::is_overdue`] everywhere.

use crate::db::Db;
use crate::domain::Status;

/// Open complaints of one channel in one status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenCount {
    pub channel: String,
    pub status: String,
    pub n: i64,
}

/// An overdue complaint as the dashboard lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueRow {
    pub register_no: String,
    pub channel: String,
    pub subject: String,
    pub due_date: String,
    #[sqlx(try_from = "crate::db::IntFlag")]
    pub confidential: bool,
}

/// One channel's traffic: its last inbound message, its replies still to send.
#[derive(Debug, Clone, Default)]
pub struct ChannelTraffic {
    pub last_in: Option<i64>,
    pub waiting: i64,
    pub oldest_waiting: Option<i64>,
}

/// The dashboard's figures.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub open: Vec<OpenCount>,
    /// The 50 most overdue.
    pub overdue: Vec<OverdueRow>,
    last_in: Vec<(String, Option<i64>)>,
    waiting: Vec<(String, Option<i64>, i64)>,
}

impl Dashboard {
    /// The traffic of the channel named `channel`.
    pub fn traffic(&self, channel: &str) -> ChannelTraffic {
        let last_in = self
            .last_in
            .iter()
            .find(|(c, _)| c == channel)
            .and_then(|(_, at)| *at);
        let (oldest_waiting, waiting) = self
            .waiting
            .iter()
            .find(|(c, _, _)| c == channel)
            .map(|(_, at, n)| (*at, *n))
            .unwrap_or_default();
        ChannelTraffic {
            last_in,
            waiting,
            oldest_waiting,
        }
    }
}

pub async fn dashboard(db: &Db, now: i64) -> sqlx::Result<Dashboard> {
    let pool = &db.pool;
    let open = sqlx::query_as(
        "SELECT channel, status, COUNT(*) AS n FROM complaints WHERE is_open = 1 \
         GROUP BY channel, status ORDER BY channel, status",
    )
    .fetch_all(pool)
    .await?;
    let overdue = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT register_no, channel, subject, due_date, confidential FROM complaints c \
         WHERE {} ORDER BY due_at LIMIT 50",
        super::overdue_sql("$1")
    )))
    .bind(now)
    .fetch_all(pool)
    .await?;
    let last_in = sqlx::query_as(
        "SELECT channel, MAX(created_at) AS at FROM messages WHERE direction = 'in' GROUP BY channel",
    )
    .fetch_all(pool)
    .await?;
    let waiting = sqlx::query_as(
        "SELECT channel, MIN(created_at) AS at, COUNT(*) AS n FROM outbox \
         WHERE status <> 'sent' AND status <> 'failed' GROUP BY channel",
    )
    .fetch_all(pool)
    .await?;
    Ok(Dashboard {
        open,
        overdue,
        last_in,
        waiting,
    })
}

/// A complaint as the recap counts it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecapRow {
    pub channel: String,
    #[sqlx(try_from = "crate::db::Name<Status>")]
    pub status: Status,
    pub is_open: i64,
    pub due_at: i64,
    pub received_at: i64,
    pub answered_at: Option<i64>,
}

/// The complaints received in `[from, to)` (Unix ms).
pub async fn received_between(db: &Db, from: i64, to: i64) -> sqlx::Result<Vec<RecapRow>> {
    sqlx::query_as(
        "SELECT channel, status, is_open, due_at, received_at, answered_at FROM complaints \
         WHERE received_at >= $1 AND received_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await
}

/// One status change of a complaint (the audit trail's record of it).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepChange {
    pub complaint_id: i64,
    pub action: String,
    pub to_status: String,
    pub at: i64,
}

/// The status changes of the complaints received in `[from, to)`, per complaint in order.
pub async fn step_changes_between(db: &Db, from: i64, to: i64) -> sqlx::Result<Vec<StepChange>> {
    sqlx::query_as(
        "SELECT a.complaint_id, a.action, a.to_status, \
         CASE WHEN a.action = 'register' THEN c.received_at ELSE a.at END AS at FROM audit a \
         JOIN complaints c ON c.id = a.complaint_id \
         WHERE c.received_at >= $1 AND c.received_at < $2 AND a.to_status IS NOT NULL \
         ORDER BY a.complaint_id, a.id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await
}

/// The register's gauges for `/metrics`, read in one query.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Gauges {
    /// Outbox rows queued or being sent.
    pub pending: i64,
    pub failed: i64,
    /// When the oldest pending row was queued.
    pub oldest: Option<i64>,
    pub open: i64,
    pub overdue: i64,
    pub last_backup: Option<i64>,
}

pub async fn gauges(db: &Db, now: i64) -> sqlx::Result<Gauges> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT \
           (SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')) AS pending, \
           (SELECT COUNT(*) FROM outbox WHERE status = 'failed') AS failed, \
           (SELECT MIN(created_at) FROM outbox WHERE status IN ('queued', 'sending')) AS oldest, \
           (SELECT COUNT(*) FROM complaints WHERE is_open = 1) AS open, \
           (SELECT COUNT(*) FROM complaints c WHERE {overdue}) AS overdue, \
           (SELECT MAX(at) FROM backup_runs) AS last_backup",
        overdue = super::overdue_sql("$1")
    )))
    .bind(now)
    .fetch_one(&db.pool)
    .await
}

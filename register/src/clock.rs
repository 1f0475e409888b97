//! The register's side of the clocks and the chain of approval: pauses while waiting for the
//! citizen, the whole clock's start and due date, approvals bound to a draft's hash, and the
//! sweeps over step deadlines.

use sqlx::Row;

use crate::db::{Db, Tx};
use crate::domain::{Role, Status};

/// A complaint's whole clock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeClock {
    pub started_at: i64,
    pub due_at: i64,
    pub due_date: String,
    pub calendar_gap: Option<i64>,
}

/// Starts a pause (the complaint was returned to the citizen from `from`).
pub async fn pause(tx: &mut Tx, complaint_id: i64, at: i64, from: Status) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO clock_pauses (complaint_id, paused_at, from_status) VALUES ($1, $2, $3)",
    )
    .bind(complaint_id)
    .bind(at)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends the running pause; returns the status the complaint was returned from.
pub async fn resume(tx: &mut Tx, complaint_id: i64, at: i64) -> sqlx::Result<Option<Status>> {
    let from: Option<String> = sqlx::query_scalar(
        "SELECT from_status FROM clock_pauses WHERE complaint_id = $1 AND resumed_at IS NULL",
    )
    .bind(complaint_id)
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE clock_pauses SET resumed_at = $2 WHERE complaint_id = $1 AND resumed_at IS NULL",
    )
    .bind(complaint_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(from.and_then(|s| s.parse().ok()))
}

/// The pauses of a complaint's whole clock that began at or after `since`.
pub async fn pauses_since(
    conn: &mut sqlx::AnyConnection,
    complaint_id: i64,
    since: i64,
) -> sqlx::Result<Vec<(i64, Option<i64>)>> {
    let rows = sqlx::query(
        "SELECT paused_at, resumed_at FROM clock_pauses WHERE complaint_id = $1 AND paused_at >= $2 \
         ORDER BY paused_at",
    )
    .bind(complaint_id)
    .bind(since)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Stores the whole clock.
pub async fn set_whole_clock(
    conn: &mut sqlx::AnyConnection,
    complaint_id: i64,
    w: &WholeClock,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE complaints SET clock_started_at = $2, due_at = $3, due_date = $4, calendar_gap = $5 \
         WHERE id = $1",
    )
    .bind(complaint_id)
    .bind(w.started_at)
    .bind(w.due_at)
    .bind(&w.due_date)
    .bind(w.calendar_gap)
    .execute(conn)
    .await?;
    Ok(())
}

/// The whole clock's start of a complaint.
pub async fn clock_started_at(tx: &mut Tx, complaint_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(clock_started_at, received_at) FROM complaints WHERE id = $1",
    )
    .bind(complaint_id)
    .fetch_one(&mut **tx)
    .await
}

/// Sets the step clock without a status change (an approval moved the chain on).
pub async fn set_step_due(
    conn: &mut sqlx::AnyConnection,
    complaint_id: i64,
    started_at: Option<i64>,
    due_at: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE complaints SET step_started_at = COALESCE($2, step_started_at), step_due_at = $3, \
         step_escalated = 0 WHERE id = $1",
    )
    .bind(complaint_id)
    .bind(started_at)
    .bind(due_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One approval given.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ApprovalRow {
    pub draft_version: i64,
    pub draft_sha256: String,
    pub stage: i64,
    #[sqlx(try_from = "crate::db::Name<Role>")]
    pub role: Role,
    pub kind: String,
    pub officer: String,
    pub at: i64,
}

/// How many stages of the chain one version of a draft (its number and hash) has passed.
pub async fn approvals_done(
    tx: &mut Tx,
    complaint_id: i64,
    draft_version: i64,
    draft_sha256: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM approvals WHERE complaint_id = $1 AND draft_version = $2 \
         AND draft_sha256 = $3",
    )
    .bind(complaint_id)
    .bind(draft_version)
    .bind(draft_sha256)
    .fetch_one(&mut **tx)
    .await
}

/// One approval to record.
#[derive(Debug, Clone)]
pub struct NewApproval<'a> {
    pub complaint_id: i64,
    pub draft_version: i64,
    pub draft_sha256: &'a str,
    pub stage: i64,
    pub role: Role,
    pub kind: &'a str,
    pub officer_id: i64,
    pub at: i64,
}

/// Records an approval; `false` when another officer recorded this stage first.
pub async fn record_approval(tx: &mut Tx, a: &NewApproval<'_>) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "INSERT INTO approvals (complaint_id, draft_sha256, stage, role, kind, officer_id, at, \
         draft_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (complaint_id, draft_version, draft_sha256, stage) DO NOTHING",
    )
    .bind(a.complaint_id)
    .bind(a.draft_sha256)
    .bind(a.stage)
    .bind(a.role.as_str())
    .bind(a.kind)
    .bind(a.officer_id)
    .bind(a.at)
    .bind(a.draft_version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Carries the approvals of one version of a draft over to its corrected next version (an
/// approver edited it before approving).
pub async fn carry_approvals(
    tx: &mut Tx,
    complaint_id: i64,
    from: (i64, &str),
    to: (i64, &str),
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO approvals (complaint_id, draft_version, draft_sha256, stage, role, kind, \
         officer_id, at) \
         SELECT complaint_id, $4, $5, stage, role, kind, officer_id, at FROM approvals \
         WHERE complaint_id = $1 AND draft_version = $2 AND draft_sha256 = $3 \
         ON CONFLICT (complaint_id, draft_version, draft_sha256, stage) DO NOTHING",
    )
    .bind(complaint_id)
    .bind(from.0)
    .bind(from.1)
    .bind(to.0)
    .bind(to.1)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every approval of a complaint, oldest first (any draft version).
pub async fn approvals_of(
    conn: &mut sqlx::AnyConnection,
    complaint_id: i64,
) -> sqlx::Result<Vec<ApprovalRow>> {
    sqlx::query_as(
        "SELECT a.draft_version, a.draft_sha256, a.stage, a.role, a.kind, o.username AS officer, a.at \
         FROM approvals a JOIN officers o ON o.id = a.officer_id WHERE a.complaint_id = $1 \
         ORDER BY a.id",
    )
    .bind(complaint_id)
    .fetch_all(conn)
    .await
}

/// An open complaint whose step clock has run out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueStep {
    pub id: i64,
    pub register_no: String,
    #[sqlx(try_from = "crate::db::Name<Status>")]
    pub status: Status,
    pub step_due_at: i64,
}

/// Open complaints past their step deadline and not escalated yet (oldest deadline first).
pub async fn steps_past_due(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<DueStep>> {
    sqlx::query_as(
        "SELECT id, register_no, status, step_due_at FROM complaints \
         WHERE is_open = 1 AND step_due_at < $1 AND step_escalated = 0 \
         ORDER BY step_due_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Marks a step escalated; `false` if another daemon did, or the step changed meanwhile.
pub async fn mark_escalated(tx: &mut Tx, id: i64, step_due_at: i64) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE complaints SET step_escalated = 1 WHERE id = $1 AND step_due_at = $2 \
         AND step_escalated = 0",
    )
    .bind(id)
    .bind(step_due_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// An open complaint's clocks, for `aduan sla recompute`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenClock {
    pub id: i64,
    #[sqlx(try_from = "crate::db::Name<Status>")]
    pub status: Status,
    pub clock_started_at: i64,
    pub step_started_at: Option<i64>,
    pub due_at: i64,
    pub due_date: String,
    pub step_due_at: Option<i64>,
    pub calendar_gap: Option<i64>,
    pub draft_answer: Option<String>,
    pub draft_version: i64,
}

/// The years open complaints' due dates were counted without a holiday list for.
pub async fn open_gap_years(db: &Db) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT DISTINCT calendar_gap FROM complaints WHERE is_open = 1 AND calendar_gap IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await
}

/// The clocks of open complaints with an id above `after`, a batch at a time.
pub async fn open_clocks(db: &Db, after: i64, limit: i64) -> sqlx::Result<Vec<OpenClock>> {
    sqlx::query_as(
        "SELECT id, status, COALESCE(clock_started_at, received_at) AS clock_started_at, \
         step_started_at, due_at, due_date, step_due_at, calendar_gap, draft_answer, draft_version \
         FROM complaints WHERE is_open = 1 AND id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

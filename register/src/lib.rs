//! aduan's register: complaints, their threads, attachments, outbox rows, the audit trail,
//! officers and the office's records — the SQL, the typed rows, and the domain they are made of
//! (`domain`: statuses, roles, actions). Plain functions over a transaction the caller gives;
//! every write of one logical step happens in one transaction. This crate knows nothing of the
//! daemon above it (Cargo refuses the cycle): policy is passed in as values.

use aduan_channel::{Address, Attachment, ChannelKind, CounterMedium, Lang};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{IntFlag, OptName, Tx};
use crate::domain::Status;

pub mod audit;
pub mod backup;
mod case;
pub mod clock;
pub mod db;
pub mod documents;
pub mod domain;
pub mod identity;
pub mod intake;
pub mod letters;
pub mod notices;
pub mod officers;
pub mod outbox;
pub mod presence;
mod query;
pub mod reports;
mod search;
pub mod sessions;
pub mod testing;
pub mod units;
pub mod verdicts;
pub mod workspace;
pub use case::*;
pub use query::*;
pub use search::{fold, text_search, MAX_SEARCH_CHARS};
use search::{fts_match, search_words, text_query};

/// Unambiguous characters for tracking codes (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

pub fn tracking_code() -> String {
    let mut rng = rand::rng();
    (0..10)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// "Overdue", the one definition every view uses (inbox, dashboard, API, CLI, recap,
/// `/metrics`): open, not answered yet, not waiting for the citizen (the whole clock is paused
/// then), and past its due time.
pub fn is_overdue(is_open: bool, answered: bool, status: Status, due_at: i64, now: i64) -> bool {
    is_open && !answered && status != Status::Incomplete && due_at < now
}

/// [`is_overdue`] in SQL over `complaints` aliased `c`: the condition around the time.
const OVERDUE_SQL: (&str, &str) = (
    "(c.is_open = 1 AND c.answered_at IS NULL AND c.status <> 'incomplete' AND c.due_at < ",
    ")",
);

/// [`is_overdue`] in SQL, with the current time at `now` (a placeholder such as `$1`).
pub fn overdue_sql(now: &str) -> String {
    format!("{}{now}{}", OVERDUE_SQL.0, OVERDUE_SQL.1)
}

/// [`is_overdue`] pushed onto a query being built, the time bound.
fn overdue_sql_bound(qb: &mut QueryBuilder, now: i64) {
    qb.push(OVERDUE_SQL.0).push_bind(now).push(OVERDUE_SQL.1);
}

/// Constant-time string comparison (tracking codes, tokens): `subtle`, through
/// [`aduan_channel::ct_eq`].
pub fn ct_eq(a: &str, b: &str) -> bool {
    aduan_channel::ct_eq(a.as_bytes(), b.as_bytes())
}

/// Takes the next number of the year's sequence: `ADU-2026-000042`.
pub async fn next_register_no(tx: &mut Tx, prefix: &str, year: i32) -> sqlx::Result<String> {
    let n = letters::next_seq(tx, prefix, year).await?;
    Ok(format!("{prefix}-{year}-{n:06}"))
}

/// Stores content-addressed data once; returns its sha256.
pub async fn store_blob(tx: &mut Tx, data: &[u8]) -> sqlx::Result<String> {
    let sha = sha256_hex(data);
    sqlx::query("INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
        .bind(&sha)
        .bind(data.len() as i64)
        .bind(data.to_vec())
        .execute(&mut **tx)
        .await?;
    Ok(sha)
}

pub async fn store_attachments(
    tx: &mut Tx,
    message_id: i64,
    atts: &[Attachment],
) -> sqlx::Result<()> {
    for a in atts {
        let sha = store_blob(tx, &a.data).await?;
        sqlx::query(
            "INSERT INTO attachments (message_id, filename, content_type, size, sha256) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(message_id)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(a.data.len() as i64)
        .bind(sha)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A complaint as the register holds it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Complaint {
    pub id: i64,
    pub register_no: String,
    #[serde(skip)]
    pub tracking_code: String,
    pub complainant_id: i64,
    pub complainant_name: String,
    #[sqlx(try_from = "crate::db::Name<ChannelKind>")]
    pub channel: ChannelKind,
    #[sqlx(try_from = "OptName<CounterMedium>")]
    pub medium: Option<CounterMedium>,
    /// Masked in JSON output only where the caller masks it; officers see the address.
    pub reply_to: String,
    pub subject: String,
    #[sqlx(try_from = "crate::db::Name<Status>")]
    pub status: Status,
    pub assignee_id: Option<i64>,
    #[sqlx(try_from = "crate::db::Name<Lang>")]
    pub lang: Lang,
    #[sqlx(try_from = "IntFlag")]
    pub auto_generated: bool,
    pub flagged: Option<String>,
    pub draft_answer: Option<String>,
    /// The draft's version: every new draft or correction is the next one, and approvals
    /// belong to one version.
    pub draft_version: i64,
    pub received_at: i64,
    pub due_date: String,
    pub due_at: i64,
    pub answered_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
    /// The step clock: when the current step began and when its standard runs out.
    pub step_started_at: Option<i64>,
    pub step_due_at: Option<i64>,
    /// A year the whole clock's window reaches that no holiday list covers.
    pub calendar_gap: Option<i64>,
    /// Why it was closed without an answer.
    #[sqlx(try_from = "OptName<crate::domain::CloseReason>")]
    pub close_reason: Option<crate::domain::CloseReason>,
    /// Who received the answer at the counter.
    pub handed_over_to: Option<String>,
    /// The citizen's verdict on the handling, 1–4 (SKM scale).
    pub rating: Option<i64>,
    /// When the verdict was asked (a verdict counts within `workflow::verdict::WINDOW_MS`).
    pub rating_asked_at: Option<i64>,
    /// The unit (section or team) it was disposed to, and the instruction given.
    pub unit: Option<String>,
    pub instruction: Option<String>,
    /// The original a duplicate was merged into.
    pub merged_into: Option<String>,
    /// *Rahasia*: the complainant's identity is shown only to the front office, the heads
    /// and the admin.
    #[sqlx(try_from = "IntFlag")]
    pub confidential: bool,
}

pub const COMPLAINT_COLUMNS: &str = "c.id, c.register_no, c.tracking_code, c.complainant_id, \
     p.name AS complainant_name, c.channel, c.medium, c.reply_to, c.subject, c.status, \
     c.assignee_id, c.lang, c.auto_generated, c.flagged, c.draft_answer, c.draft_version, c.received_at, \
     c.due_date, c.due_at, c.answered_at, c.closed_at, c.updated_at, c.step_started_at, \
     c.step_due_at, c.calendar_gap, c.close_reason, c.handed_over_to, c.rating, c.rating_asked_at, \
     (SELECT u.name FROM units u WHERE u.id = c.unit_id) AS unit, c.instruction, c.merged_into, \
     c.confidential";

impl Complaint {
    pub fn channel_kind(&self) -> Option<ChannelKind> {
        Some(self.channel)
    }
}

/// A complaint moved by an officer's action.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    pub from: Status,
    pub to: Status,
    pub assignee_id: Option<i64>,
    pub draft_answer: Option<&'a str>,
    /// The draft's version after the change ([`Complaint::draft_version`]).
    pub draft_version: i64,
    /// When the step entered runs out (its standard from the procedure).
    pub step_due_at: Option<i64>,
    pub close_reason: Option<crate::domain::CloseReason>,
    pub now: i64,
}

/// Applies `change` if the complaint is still in `change.from` (false when another officer
/// moved it first); a final status closes it.
pub async fn change_status(tx: &mut Tx, id: i64, change: &StatusChange<'_>) -> sqlx::Result<bool> {
    let open = !change.to.is_final();
    let n = sqlx::query(
        "UPDATE complaints SET status = $2, is_open = $3, assignee_id = $4, draft_answer = $5, \
         closed_at = CASE WHEN $3 = 0 THEN $6 ELSE closed_at END, updated_at = $6, \
         step_started_at = $6, step_due_at = $8, step_escalated = 0, \
         close_reason = COALESCE($9, close_reason), draft_version = $10 \
         WHERE id = $1 AND status = $7",
    )
    .bind(id)
    .bind(change.to.as_str())
    .bind(open as i64)
    .bind(change.assignee_id)
    .bind(change.draft_answer)
    .bind(change.now)
    .bind(change.from.as_str())
    .bind(change.step_due_at)
    .bind(change.close_reason.map(|r| r.as_str()))
    .bind(change.draft_version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Moves the thread of duplicate `from` to its original `into` (its messages with their
/// files; replies to them then thread onto the original) and records the merge.
pub async fn merge_thread(tx: &mut Tx, from: i64, into: i64, into_no: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE messages SET complaint_id = $2 WHERE complaint_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE complaints SET merged_into = $2 WHERE id = $1")
        .bind(from)
        .bind(into_no)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Locks the rows of the complaints `register_nos` in id order (several complaints in one
/// action: a merge), so two actions locking the same pair never wait for each other crosswise.
pub async fn lock_in_order(tx: &mut Tx, register_nos: &[&str]) -> sqlx::Result<()> {
    let mut ids = Vec::with_capacity(register_nos.len());
    for no in register_nos {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM complaints WHERE register_no = $1")
                .bind(*no)
                .fetch_optional(&mut **tx)
                .await?;
        ids.extend(id);
    }
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        sqlx::query("UPDATE complaints SET updated_at = updated_at WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Whether any of these complainants has a proven identity (an address a channel proved).
pub async fn has_identity(tx: &mut Tx, complainant_ids: &[i64]) -> sqlx::Result<bool> {
    for id in complainant_ids {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM complainant_addresses WHERE complainant_id = $1",
        )
        .bind(*id)
        .fetch_one(&mut **tx)
        .await?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A complaint read for a change: its row is locked first (`UPDATE` takes the row lock on
/// PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes writers), so actions on one
/// complaint run one after another and each sees the last one's result.
pub async fn complaint_for_update(
    tx: &mut Tx,
    register_no: &str,
) -> sqlx::Result<Option<Complaint>> {
    sqlx::query("UPDATE complaints SET updated_at = updated_at WHERE register_no = $1")
        .bind(register_no)
        .execute(&mut **tx)
        .await?;
    complaint_by_no(&mut **tx, register_no).await
}

pub async fn complaint_by_no<'e, E>(ex: E, register_no: &str) -> sqlx::Result<Option<Complaint>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints c JOIN complainants p ON p.id = c.complainant_id \
         WHERE c.register_no = $1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(register_no)
        .fetch_optional(ex)
        .await
}

pub async fn complaint_by_id(tx: &mut Tx, id: i64) -> sqlx::Result<Complaint> {
    let sql = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints c JOIN complainants p ON p.id = c.complainant_id \
         WHERE c.id = $1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// The contacts given with one complaint (typed into the form, shared in a message).
pub async fn complaint_contacts(
    conn: &mut sqlx::AnyConnection,
    complaint_id: i64,
) -> sqlx::Result<Vec<Address>> {
    let rows = sqlx::query(
        "SELECT address FROM complaint_contacts WHERE complaint_id = $1 ORDER BY address",
    )
    .bind(complaint_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("address").ok())
        .map(|k| Address::from_key(&k))
        .filter(|a| !a.is_none())
        .collect())
}

/// Stores an adapter cursor that only moves forward: the greater of the stored value and
/// `value`, compared as text (fixed-width times).
pub async fn store_cursor_forward<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    channel: ChannelKind,
    key: &str,
    value: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO channel_cursors (channel, key, value, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel, key) DO UPDATE SET \
           value = CASE WHEN excluded.value > channel_cursors.value THEN excluded.value \
                   ELSE channel_cursors.value END, \
           updated_at = excluded.updated_at",
    )
    .bind(channel.as_str())
    .bind(key)
    .bind(value)
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Stores an adapter cursor (upsert).
pub async fn store_cursor<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    channel: ChannelKind,
    key: &str,
    value: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO channel_cursors (channel, key, value, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(channel.as_str())
    .bind(key)
    .bind(value)
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_codes_are_unambiguous_and_distinct() {
        let a = tracking_code();
        let b = tracking_code();
        assert_eq!(a.len(), 10);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| CODE_ALPHABET.contains(&c)));
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq("ABC", "ABC"));
        assert!(!ct_eq("ABC", "ABD"));
        assert!(!ct_eq("ABC", "AB"));
    }
}

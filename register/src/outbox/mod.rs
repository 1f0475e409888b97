//! The outbox rows: claiming a due one under a lease, recording each outcome fenced on the
//! lease, an officer's retry, and the rows officers list. The dispatcher's decisions (what to
//! retry, when) are in the daemon (`aduan::outbox`); only the SQL is here.

use aduan_channel::{Attachment, ChannelKind};
use serde::Serialize;
use sqlx::Row;

use crate::db::{Backend, Db, Tx};
use crate::domain::OutboxKind;

/// Where an outbox row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumIter, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its time (first attempt or a retry).
    Queued,
    /// Claimed by a daemon, under a lease.
    Sending,
    Sent,
    /// Parked for an officer.
    Failed,
}

aduan_channel::closed_set!(OutboxStatus, "outbox status");

/// A row claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub complaint_id: i64,
    pub message_id: i64,
    #[sqlx(try_from = "crate::db::Name<ChannelKind>")]
    pub channel: ChannelKind,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub provider_msg_id: String,
    /// The Message-IDs the reply refers to (stored as a JSON array).
    #[sqlx(try_from = "crate::db::JsonList")]
    pub refs: Vec<String>,
    /// An automatic message (receipt, status answer).
    #[sqlx(try_from = "crate::db::IntFlag")]
    pub automatic: bool,
    pub attempts: i64,
    /// What the message is.
    #[sqlx(try_from = "crate::db::Name<OutboxKind>")]
    pub kind: OutboxKind,
    /// Since when the row has been trying: queued, or last put back in the queue.
    pub waiting_since: i64,
}

/// An outbox row as officers see it (the complaint page, the API).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: i64,
    pub channel: String,
    pub recipient: String,
    #[sqlx(try_from = "crate::db::Name<OutboxKind>")]
    pub kind: OutboxKind,
    #[sqlx(try_from = "crate::db::Name<OutboxStatus>")]
    pub status: OutboxStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub receipt: Option<String>,
    pub delivery: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub next_attempt_at: i64,
    /// Set where the listing joins the complaint.
    #[sqlx(default)]
    pub register_no: Option<String>,
}

const OUTBOX_COLUMNS: &str = "o.id, o.message_id, o.channel, o.recipient, o.kind, o.status, \
     o.attempts, o.last_error, o.receipt, o.delivery, o.created_at, o.sent_at, o.next_attempt_at";

/// Claims the next due row of one of `channels` for `owner` until `lease_until`: PostgreSQL
/// locks the candidate with `FOR UPDATE SKIP LOCKED`; SQLite, with one writer, needs only the
/// conditional `UPDATE … RETURNING`. The lease end is the row's next attempt time, so a row
/// whose daemon died becomes due again when the lease runs out.
pub async fn claim(
    db: &Db,
    owner: &str,
    channels: &[ChannelKind],
    now: i64,
    lease_until: i64,
) -> sqlx::Result<Option<Claimed>> {
    if channels.is_empty() {
        return Ok(None);
    }
    let lock = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // The names are our own enum's, never input.
    let channels = channels
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2, \
         next_attempt_at = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM outbox WHERE status IN ('queued', 'sending') \
                     AND next_attempt_at <= $3 AND channel IN ({channels}) \
                     ORDER BY next_attempt_at, id LIMIT 1 {lock}) \
         AND status IN ('queued', 'sending') AND next_attempt_at <= $3 \
         RETURNING id, complaint_id, message_id, channel, recipient, subject, body, \
         provider_msg_id, refs, automatic, attempts, kind, \
         COALESCE(retrying_since, created_at) AS waiting_since"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&db.write)
        .await
}

/// Records a send; false when `owner`'s lease was lost meanwhile. When the row is the
/// answer and the provider accepted it (`answered_at`, the register's time: every channel but
/// the counter, where the answer is only ready for hand-over), the complaint is answered then —
/// the first accepted
/// answer counts; a queued, failing or parked one does not.
pub async fn mark_sent(
    db: &Db,
    row: &Claimed,
    owner: &str,
    receipt: &aduan_channel::SendReceipt,
    answered_at: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE outbox SET status = 'sent', receipt = $3, sent_at = $4, lease_owner = NULL, \
         lease_until = NULL, last_error = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
    )
    .bind(row.id)
    .bind(owner)
    .bind(&receipt.provider_id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    for also in receipt.also.iter().filter(|a| **a != receipt.provider_id) {
        sqlx::query(
            "INSERT INTO outbox_receipts (outbox_id, channel, provider_id) VALUES ($1, $2, $3) \
             ON CONFLICT (outbox_id, provider_id) DO NOTHING",
        )
        .bind(row.id)
        .bind(row.channel.as_str())
        .bind(also)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(at) = answered_at {
        set_answered(&mut tx, row.complaint_id, at).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The complaint's answer reached the complainant at `now` (kept if an earlier one did).
pub async fn set_answered(tx: &mut Tx, complaint_id: i64, now: i64) -> sqlx::Result<bool> {
    let n =
        sqlx::query("UPDATE complaints SET answered_at = $2 WHERE id = $1 AND answered_at IS NULL")
            .bind(complaint_id)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(n == 1)
}

/// Queues the row again for `at` with the error; false when the lease was lost.
pub async fn mark_retry(db: &Db, id: i64, owner: &str, at: i64, error: &str) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE outbox SET status = 'queued', next_attempt_at = $3, last_error = $4, \
         lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
    )
    .bind(id)
    .bind(owner)
    .bind(at)
    .bind(error)
    .execute(&db.write)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Queues the row again for `at` without counting the attempt it was claimed for (its channel
/// could not send at all); false when the lease was lost.
pub async fn mark_waiting(
    db: &Db,
    id: i64,
    owner: &str,
    at: i64,
    error: &str,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE outbox SET status = 'queued', next_attempt_at = $3, last_error = $4, \
         attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
         lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
    )
    .bind(id)
    .bind(owner)
    .bind(at)
    .bind(error)
    .execute(&db.write)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Parks the row as failed, in the caller's transaction (with its audit entry); false when the
/// lease was lost.
pub async fn mark_failed(
    tx: &mut Tx,
    id: i64,
    owner: &str,
    error: &str,
    parked: bool,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE outbox SET status = 'failed', last_error = $3, lease_owner = NULL, \
         lease_until = NULL, parked = $4 WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
    )
    .bind(id)
    .bind(owner)
    .bind(error)
    .bind(parked as i64)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Sends again the replies of `channel` parked after failing for a while (not refused for
/// good), once the channel is back; how many.
pub async fn drain_parked(db: &Db, channel: ChannelKind, now: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET status = 'queued', attempts = 0, parked = 0, next_attempt_at = $2, \
         retrying_since = $2 WHERE status = 'failed' AND parked = 1 AND channel = $1",
    )
    .bind(channel.as_str())
    .bind(now)
    .execute(&db.write)
    .await?
    .rows_affected())
}

/// Puts a failed row back in the queue, due `now`; its complaint's id, or `None` when the row
/// is not failed.
pub async fn requeue_failed(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $2, last_error = NULL, \
         parked = 0, retrying_since = $2 WHERE id = $1 AND status = 'failed' RETURNING complaint_id",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get("complaint_id")).transpose()
}

/// The files of an outbound message, in order.
pub async fn message_attachments(db: &Db, message_id: i64) -> sqlx::Result<Vec<Attachment>> {
    #[derive(sqlx::FromRow)]
    struct File {
        filename: String,
        content_type: String,
        data: Vec<u8>,
    }
    let files: Vec<File> = sqlx::query_as(
        "SELECT a.filename, a.content_type, b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 \
         WHERE a.message_id = $1 ORDER BY a.id",
    )
    .bind(message_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(files
        .into_iter()
        .map(|f| Attachment {
            filename: f.filename,
            content_type: f.content_type,
            data: f.data,
        })
        .collect())
}

/// A complaint's register number by id (the dispatcher's log field).
pub async fn register_no_of(db: &Db, complaint_id: i64) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT register_no FROM complaints WHERE id = $1")
        .bind(complaint_id)
        .fetch_one(&db.pool)
        .await
}

/// The newest 500 rows in `status`, with their complaints' register numbers.
pub async fn outbox_by_status(db: &Db, status: OutboxStatus) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLUMNS}, c.register_no FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
         WHERE o.status = $1 ORDER BY o.id DESC LIMIT 500"
    )))
    .bind(status.as_str())
    .fetch_all(&db.pool)
    .await
}

/// A complaint's outbox rows, oldest first.
pub async fn outbox_of(db: &Db, complaint_id: i64) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox o WHERE o.complaint_id = $1 \
         AND o.kind <> 'officer_notice' ORDER BY o.id"
    )))
    .bind(complaint_id)
    .fetch_all(&db.pool)
    .await
}

/// Whether the complaint's answer lies ready at the counter, not yet handed over.
pub async fn handover_waiting(tx: &mut Tx, complaint_id: i64) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
         WHERE o.complaint_id = $1 AND o.channel = 'counter' AND o.kind = 'answer' \
         AND o.status = 'sent' AND c.handed_over_at IS NULL",
    )
    .bind(complaint_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// The answer was handed over at the counter: to whom and when; answered then (unless another
/// channel delivered it first).
pub async fn record_handover(
    tx: &mut Tx,
    complaint_id: i64,
    recipient: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE complaints SET handed_over_to = $2, handed_over_at = $3 WHERE id = $1")
        .bind(complaint_id)
        .bind(recipient)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    set_answered(tx, complaint_id, now).await?;
    Ok(())
}

/// A complaint's reply language.
pub async fn lang_of(db: &Db, complaint_id: i64) -> sqlx::Result<aduan_channel::Lang> {
    let s: String = sqlx::query_scalar("SELECT lang FROM complaints WHERE id = $1")
        .bind(complaint_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(s.parse().unwrap_or_default())
}

/// An unsent reply (queued or failed) sent to the tracking page instead of its channel (which
/// no daemon runs): the row becomes the web channel's, its message public; the complaint's
/// id, or `None` when the row is not waiting.
pub async fn reroute_to_page(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<Option<i64>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE outbox SET channel = 'web', recipient = '', status = 'queued', attempts = 0, \
         next_attempt_at = $2, last_error = NULL, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND status IN ('queued', 'failed') RETURNING complaint_id, message_id",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((cid, mid)) = row else {
        return Ok(None);
    };
    sqlx::query("UPDATE messages SET channel = 'web', sender = '', public = 1 WHERE id = $1")
        .bind(mid)
        .execute(&mut **tx)
        .await?;
    Ok(Some(cid))
}

/// An unsent reply (queued) an officer withdraws: parked as failed with the officer's words;
/// the complaint's id, or `None` when the row is not waiting.
pub async fn cancel_waiting(tx: &mut Tx, id: i64, why: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE outbox SET status = 'failed', last_error = $2, lease_owner = NULL, \
         lease_until = NULL WHERE id = $1 AND status = 'queued' RETURNING complaint_id",
    )
    .bind(id)
    .bind(why)
    .fetch_optional(&mut **tx)
    .await
}

mod delivery;
mod queue;
pub use delivery::record_delivery;
pub use queue::{queue, thread_refs, Queued};

//! Queuing a rendered outbound message: its thread entry, files and outbox row.

use aduan_channel::{Attachment, ChannelKind};
use sqlx::Row;

use crate::db::Tx;

/// The provider ids of complaint `complaint_id`'s thread through `channel`, oldest first (what
/// a reply through it answers: mail's `References`).
pub async fn thread_refs(
    tx: &mut Tx,
    complaint_id: i64,
    channel: ChannelKind,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT provider_message_id FROM messages WHERE complaint_id = $1 AND channel = $2 \
         AND provider_message_id IS NOT NULL ORDER BY id",
    )
    .bind(complaint_id)
    .bind(channel.as_str())
    .fetch_all(&mut **tx)
    .await
}

/// One outbound message as the caller rendered it.
pub struct Queued<'a> {
    pub complaint_id: i64,
    pub channel: ChannelKind,
    /// The recipient's address key.
    pub recipient: String,
    pub kind: crate::domain::OutboxKind,
    pub subject: &'a str,
    pub body: &'a str,
    /// Our own message id (mail's Message-ID).
    pub provider_msg_id: &'a str,
    /// The provider ids it answers.
    pub refs: &'a [String],
    pub automatic: bool,
    pub attachments: &'a [Attachment],
    pub at: i64,
}

/// Queues `q`: its thread entry (public on the tracking page when through the web), its
/// attachments, and its outbox row; the row's id.
pub async fn queue(tx: &mut Tx, q: &Queued<'_>) -> sqlx::Result<i64> {
    let message_id: i64 = sqlx::query(
        "INSERT INTO messages (complaint_id, direction, channel, sender, subject, body, \
         provider_message_id, auto_generated, public, created_at) \
         VALUES ($1, 'out', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(q.complaint_id)
    .bind(q.channel.as_str())
    .bind(&q.recipient)
    .bind(q.subject)
    .bind(q.body)
    .bind(q.provider_msg_id)
    .bind(q.automatic as i64)
    .bind((q.channel == ChannelKind::Web) as i64)
    .bind(q.at)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    if !q.attachments.is_empty() {
        crate::store_attachments(tx, message_id, q.attachments).await?;
    }
    sqlx::query(
        "INSERT INTO outbox (complaint_id, message_id, channel, recipient, kind, subject, body, \
         provider_msg_id, refs, automatic, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $11) RETURNING id",
    )
    .bind(q.complaint_id)
    .bind(message_id)
    .bind(q.channel.as_str())
    .bind(&q.recipient)
    .bind(q.kind.as_str())
    .bind(q.subject)
    .bind(q.body)
    .bind(q.provider_msg_id)
    .bind(serde_json::to_string(q.refs).unwrap_or_else(|_| "[]".into()))
    .bind(q.automatic as i64)
    .bind(q.at)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")
}

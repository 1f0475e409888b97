//! A complaint's whole file as officers read it: its messages, their attachments, the outbox
//! rows of its replies and its audit trail. One read for the complaint page and the API.

use super::outbox::{outbox_of, OutboxRow};
use crate::db::Db;

/// One message of a thread, inbound or outbound.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    /// `in` or `out`.
    pub direction: String,
    pub channel: String,
    /// The sender of an inbound message, the recipient of an outbound one.
    pub sender: String,
    pub subject: String,
    pub body: String,
    pub raw_sha256: Option<String>,
    pub provider_message_id: Option<String>,
    /// A bounce, an auto-reply or an operator message.
    #[sqlx(try_from = "crate::db::IntFlag")]
    pub auto_generated: bool,
    pub parse_error: Option<String>,
    pub created_at: i64,
}

impl MessageRow {
    pub fn is_inbound(&self) -> bool {
        self.direction == "in"
    }
}

/// An attachment's description (its bytes stay in `blobs`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub message_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// Everything the register holds on one complaint, each part oldest first.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub messages: Vec<MessageRow>,
    pub attachments: Vec<AttachmentRow>,
    pub outbox: Vec<OutboxRow>,
    pub audit: Vec<crate::audit::AuditRow>,
}

impl CaseFile {
    /// The attachments of one message.
    pub fn attachments_of(&self, message_id: i64) -> impl Iterator<Item = &AttachmentRow> {
        self.attachments
            .iter()
            .filter(move |a| a.message_id == message_id)
    }

    /// The outbox row that sends one outbound message.
    pub fn delivery_of(&self, message_id: i64) -> Option<&OutboxRow> {
        self.outbox.iter().find(|o| o.message_id == message_id)
    }
}

/// Reads a complaint's whole file.
pub async fn case_file(db: &Db, complaint_id: i64) -> sqlx::Result<CaseFile> {
    let pool = &db.pool;
    let messages = sqlx::query_as(
        "SELECT id, direction, channel, sender, subject, body, raw_sha256, provider_message_id, \
         auto_generated, parse_error, created_at FROM messages m WHERE complaint_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id AND o.kind = 'officer_notice') \
         ORDER BY id",
    )
    .bind(complaint_id)
    .fetch_all(pool)
    .await?;
    let attachments = sqlx::query_as(
        "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256 FROM attachments a \
         JOIN messages m ON m.id = a.message_id WHERE m.complaint_id = $1 ORDER BY a.id",
    )
    .bind(complaint_id)
    .fetch_all(pool)
    .await?;
    let audit = crate::audit::of(pool, complaint_id).await?;
    Ok(CaseFile {
        messages,
        attachments,
        outbox: outbox_of(db, complaint_id).await?,
        audit,
    })
}

/// The replies published on the tracking page: public outbound messages that were sent, as
/// (time, text), oldest first.
pub async fn published_replies(db: &Db, complaint_id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT m.created_at, m.body FROM messages m JOIN outbox o ON o.message_id = m.id \
         WHERE m.complaint_id = $1 AND m.public = 1 AND o.status = 'sent' ORDER BY m.id",
    )
    .bind(complaint_id)
    .fetch_all(&db.pool)
    .await
}

/// One attachment with its bytes, by id.
pub async fn attachment_file(db: &Db, id: i64) -> sqlx::Result<Option<StoredFile>> {
    #[derive(sqlx::FromRow)]
    struct File {
        register_no: String,
        direction: String,
        filename: String,
        content_type: String,
        data: Vec<u8>,
    }
    let file: Option<File> = sqlx::query_as(
        "SELECT c.register_no, m.direction, a.filename, a.content_type, b.data FROM attachments a \
         JOIN blobs b ON b.sha256 = a.sha256 JOIN messages m ON m.id = a.message_id \
         JOIN complaints c ON c.id = m.complaint_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(file.map(|f| StoredFile {
        register_no: f.register_no,
        outbound: f.direction == "out",
        file: aduan_channel::Attachment {
            filename: f.filename,
            content_type: f.content_type,
            data: f.data,
        },
    }))
}

/// A stored file with the complaint it belongs to.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub register_no: String,
    /// Sent by the office (an answer's letter), not received.
    pub outbound: bool,
    pub file: aduan_channel::Attachment,
}

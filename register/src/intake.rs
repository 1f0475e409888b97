//! The statements of intake: what the register stores of an inbound message, told by the
//! intake policy above it (`aduan::intake`: what threads, what is a duplicate, the clocks, the
//! receipt) inside the one transaction that policy gives.

use aduan_channel::ChannelKind;
use sqlx::Row;

use crate::db::{opt_str, Backend, Db, Tx};
use crate::{Complaint, COMPLAINT_COLUMNS, MAX_SEARCH_CHARS};

/// An inbound thread entry as stored.
pub struct Inbound<'a> {
    pub channel: ChannelKind,
    pub external_id: &'a str,
    /// The sender's address key (empty when none).
    pub sender: String,
    pub subject: &'a str,
    pub body: &'a str,
    pub raw_sha256: Option<String>,
    pub provider_message_id: Option<&'a str>,
    pub auto_generated: bool,
    /// Why the message is flagged (kept on the entry).
    pub parse_error: Option<&'a str>,
    pub created_at: i64,
}

/// Stores an inbound thread entry of complaint `complaint_id`; its id.
pub async fn insert_inbound(tx: &mut Tx, complaint_id: i64, m: &Inbound<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO messages (complaint_id, direction, channel, external_id, sender, subject, body, \
         raw_sha256, provider_message_id, auto_generated, parse_error, created_at) \
         VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(complaint_id)
    .bind(m.channel.as_str())
    .bind(m.external_id)
    .bind(&m.sender)
    .bind(m.subject)
    .bind(m.body)
    .bind(m.raw_sha256.clone())
    .bind(m.provider_message_id)
    .bind(m.auto_generated as i64)
    .bind(m.parse_error)
    .bind(m.created_at)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")
}

/// What the register already knows of a message: the complaint it was registered on before
/// (register number, tracking code), and the complainant whose identity its sender is.
pub struct Known {
    pub duplicate: Option<(String, String)>,
    pub complainant: Option<i64>,
}

/// The same mail delivered again (to another alias, with other `Received` lines): its
/// Message-ID, sender key and text, and how far back to look.
pub struct Redelivery<'a> {
    pub message_id: &'a str,
    pub sender: String,
    pub body: &'a str,
    pub since: i64,
}

/// One look-up: (channel, external id) registered before, else a redelivery of the same mail;
/// and the complainant of `identity`.
pub async fn known(
    tx: &mut Tx,
    channel: ChannelKind,
    external_id: &str,
    identity: &str,
    redelivery: Option<Redelivery<'_>>,
) -> sqlx::Result<Known> {
    let r = sqlx::query(
        "SELECT \
           (SELECT c.register_no || ' ' || c.tracking_code FROM messages m \
            JOIN complaints c ON c.id = m.complaint_id WHERE m.channel = $1 AND m.external_id = $2) AS dup, \
           (SELECT complainant_id FROM complainant_addresses WHERE address = $3) AS complainant_id",
    )
    .bind(channel.as_str())
    .bind(external_id)
    .bind(identity)
    .fetch_one(&mut **tx)
    .await?;
    let mut duplicate = opt_str(&r, "dup");
    if let (None, Some(again)) = (&duplicate, redelivery) {
        duplicate = sqlx::query_scalar(
            "SELECT c.register_no || ' ' || c.tracking_code FROM messages m \
             JOIN complaints c ON c.id = m.complaint_id WHERE m.channel = $1 \
             AND m.provider_message_id = $2 AND m.direction = 'in' AND m.sender = $3 \
             AND m.body = $4 AND m.created_at >= $5 ORDER BY m.id LIMIT 1",
        )
        .bind(channel.as_str())
        .bind(again.message_id)
        .bind(&again.sender)
        .bind(again.body)
        .bind(again.since)
        .fetch_optional(&mut **tx)
        .await?;
    }
    Ok(Known {
        duplicate: duplicate.and_then(|d| {
            d.split_once(' ')
                .map(|(no, code)| (no.to_string(), code.to_string()))
        }),
        complainant: r.try_get("complainant_id")?,
    })
}

/// Gives complainant `id` the name `name` if it has none yet.
pub async fn name_complainant(tx: &mut Tx, id: i64, name: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE complainants SET name = $2 WHERE id = $1 AND name = ''")
        .bind(id)
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A new complainant, linked to `identity` when there is one. A concurrent intake that linked
/// the identity first makes this a unique violation (the caller retries and finds that one).
pub async fn new_complainant(
    tx: &mut Tx,
    name: &str,
    identity: Option<&str>,
    now: i64,
) -> sqlx::Result<i64> {
    let id: i64 =
        sqlx::query("INSERT INTO complainants (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?
            .try_get("id")?;
    if let Some(identity) = identity {
        sqlx::query("INSERT INTO complainant_addresses (address, complainant_id) VALUES ($1, $2)")
            .bind(identity)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// Where a message may join an open complaint, in the order tried: reply headers naming a
/// message we sent (or one this sender sent), register numbers of this complainant's, the
/// channel's conversation of this complainant's.
pub struct Threading<'a> {
    pub channel: ChannelKind,
    pub references: &'a [String],
    /// The proven sender's identity key; `None`: numbers and conversations join nothing.
    pub identity: Option<&'a str>,
    pub register_numbers: &'a [String],
    pub conversation: Option<&'a str>,
    pub complainant_id: i64,
}

/// The open complaint `t` names, if any. On PostgreSQL the complaint found is locked
/// (`FOR UPDATE`), so a concurrent close either happens first or waits; a first message of a
/// conversation takes a transaction lock on that conversation, so two of them cannot both open
/// a complaint.
pub async fn open_complaint_for(
    tx: &mut Tx,
    backend: Backend,
    t: &Threading<'_>,
) -> sqlx::Result<Option<Complaint>> {
    let ch = t.channel.as_str();
    let pg = backend == Backend::Postgres;
    let lock = if pg { " FOR UPDATE OF c" } else { "" };
    let base = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints c JOIN complainants p ON p.id = c.complainant_id \
         WHERE c.is_open = 1 AND "
    );
    let one = |row: Option<sqlx::any::AnyRow>| -> sqlx::Result<Option<Complaint>> {
        row.map(|r| <Complaint as sqlx::FromRow<sqlx::any::AnyRow>>::from_row(&r))
            .transpose()
    };
    let sender = t.identity.unwrap_or_default();
    for r in t.references.iter().rev() {
        let sql = format!(
            "{base} c.id = (SELECT complaint_id FROM messages WHERE channel = $1 AND provider_message_id = $2 \
             AND (direction = 'out' OR (sender = $3 AND sender <> '')) ORDER BY id LIMIT 1){lock}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ch)
            .bind(r)
            .bind(sender)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(c) = one(row)? {
            return Ok(Some(c));
        }
    }
    if t.identity.is_none() {
        return Ok(None);
    }
    for no in t.register_numbers {
        let sql = format!("{base} c.register_no = $1 AND c.complainant_id = $2{lock}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(no)
            .bind(t.complainant_id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(c) = one(row)? {
            return Ok(Some(c));
        }
    }
    if let Some(conv) = t.conversation {
        if pg {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("conversation:{ch}:{conv}"))
                .execute(&mut **tx)
                .await?;
        }
        let sql = format!(
            "{base} c.channel = $1 AND c.conversation = $2 AND c.complainant_id = $3 \
             ORDER BY c.id DESC LIMIT 1{lock}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ch)
            .bind(conv)
            .bind(t.complainant_id)
            .fetch_optional(&mut **tx)
            .await?;
        return one(row);
    }
    Ok(None)
}

/// What a new complaint's row holds beyond [`Complaint`]: its conversation, search text and
/// the source's own time.
pub struct NewComplaint<'a> {
    pub complaint: &'a Complaint,
    pub conversation: Option<&'a str>,
    pub search_text: String,
    pub sent_at: i64,
}

/// Inserts a new complaint (status, clocks and number as decided by the caller); its id.
pub async fn insert_complaint(tx: &mut Tx, n: &NewComplaint<'_>) -> sqlx::Result<i64> {
    let c = n.complaint;
    sqlx::query(
        "INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, medium, reply_to, \
         conversation, subject, status, is_open, lang, auto_generated, flagged, received_at, due_date, \
         due_at, updated_at, search_text, sent_at, step_started_at, step_due_at, clock_started_at, \
         calendar_gap, confidential) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $13, $21, $22) \
         RETURNING id",
    )
    .bind(&c.register_no)
    .bind(&c.tracking_code)
    .bind(c.complainant_id)
    .bind(c.channel.as_str())
    .bind(c.medium.map(|m| m.as_str()))
    .bind(&c.reply_to)
    .bind(n.conversation)
    .bind(&c.subject)
    .bind(c.status.as_str())
    .bind(c.lang.as_str())
    .bind(c.auto_generated as i64)
    .bind(c.flagged.clone())
    .bind(c.received_at)
    .bind(&c.due_date)
    .bind(c.due_at)
    .bind(c.updated_at)
    .bind(&n.search_text)
    .bind(n.sent_at)
    .bind(c.step_started_at)
    .bind(c.step_due_at)
    .bind(c.calendar_gap)
    .bind(i64::from(c.confidential))
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")
}

/// Keeps the contacts (address keys) given with complaint `complaint_id`.
pub async fn add_contacts(tx: &mut Tx, complaint_id: i64, contacts: &[String]) -> sqlx::Result<()> {
    for k in contacts {
        sqlx::query(
            "INSERT INTO complaint_contacts (complaint_id, address) VALUES ($1, $2) \
             ON CONFLICT (complaint_id, address) DO NOTHING",
        )
        .bind(complaint_id)
        .bind(k)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A follow-up joined complaint `id`: back to `registered` when `reopen`, the flag kept when
/// `flag`, the search text extended by `fragment` (up to a cap that keeps PostgreSQL's tsvector
/// within its limit; a confidential complaint's is re-indexed apart).
pub async fn follow_up(
    tx: &mut Tx,
    id: i64,
    reopen: bool,
    flag: Option<&str>,
    fragment: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE complaints SET status = CASE WHEN $2 = 1 THEN 'registered' ELSE status END, \
         flagged = COALESCE($3, flagged), \
         search_text = CASE WHEN confidential = 0 AND length(search_text) < {MAX_SEARCH_CHARS} \
           THEN search_text || ' ' || $4 ELSE search_text END, updated_at = $5 \
         WHERE id = $1"
    )))
    .bind(id)
    .bind(reopen as i64)
    .bind(flag)
    .bind(fragment)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Receipts queued for `recipient` (an address key) since `since`.
pub async fn receipts_since(tx: &mut Tx, recipient: &str, since: i64) -> sqlx::Result<i64> {
    sqlx::query(
        "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND kind = 'receipt' AND created_at > $2",
    )
    .bind(recipient)
    .bind(since)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)
}

/// A channel's stored cursor `key`.
pub async fn cursor(db: &Db, channel: ChannelKind, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM channel_cursors WHERE channel = $1 AND key = $2")
        .bind(channel.as_str())
        .bind(key)
        .fetch_optional(&db.pool)
        .await
}

/// Whether (channel, external id) is registered.
pub async fn is_registered(db: &Db, channel: ChannelKind, external_id: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM messages WHERE channel = $1 AND external_id = $2")
            .bind(channel.as_str())
            .bind(external_id)
            .fetch_optional(&db.pool)
            .await?
            .is_some(),
    )
}

/// The conversations of a channel's open complaints, oldest first.
pub async fn open_conversations(db: &Db, channel: ChannelKind) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT conversation FROM complaints WHERE channel = $1 AND is_open = 1 \
         AND conversation IS NOT NULL AND conversation <> '' GROUP BY conversation ORDER BY MIN(id)",
    )
    .bind(channel.as_str())
    .fetch_all(&db.pool)
    .await
}

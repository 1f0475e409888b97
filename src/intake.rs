//! The intake pipeline: one inbound message, one transaction. Dedup on (channel, external_id);
//! thread onto an open complaint when a hint matches; otherwise open a complaint with a
//! register number and a working-day due date and queue its receipt. The caller (an adapter,
//! through [`RegisterSink`]) learns the outcome only after commit.

use std::sync::Arc;

use aduan_channel::{
    Address, Attachment, ChannelKind, Committed, Disposition, InboundMessage, InboundSink,
    SinkError,
};
use async_trait::async_trait;
use chrono::Datelike;
use sqlx::Row;
use tracing::{info, warn, Instrument};

use crate::db::{is_unique_violation, now_ms, Tx};
use crate::register::{self, Outgoing};
use crate::state::{Core, Shared};
use crate::templates::Kind;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Finds register numbers (`PREFIX-YYYY-NNNNNN`) in text, case-insensitively, in order.
pub fn find_register_numbers(prefix: &str, text: &str) -> Vec<String> {
    let upper = text.to_ascii_uppercase();
    let needle = format!("{prefix}-");
    let bytes = upper.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = upper[from..].find(&needle) {
        let start = from + pos;
        from = start + needle.len();
        // Not glued to a preceding word character.
        if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &bytes[from..];
        let digits = |s: &[u8], n: usize| s.len() >= n && s[..n].iter().all(u8::is_ascii_digit);
        if digits(rest, 4) && rest.get(4) == Some(&b'-') && digits(&rest[5..], 6) {
            let end = 11;
            if rest.get(end).is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let no = format!(
                "{prefix}-{}",
                std::str::from_utf8(&rest[..end]).unwrap_or("")
            );
            if !out.contains(&no) {
                out.push(no);
            }
        }
    }
    out
}

/// Truncates to `max` characters on a char boundary.
fn truncate_chars(s: &str, max: usize) -> (&str, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (&s[..i], true),
        None => (s, false),
    }
}

/// Registers one inbound message. Retries on a concurrent insert of the same key.
pub async fn submit(core: &Core, msg: InboundMessage) -> Result<Committed, IntakeError> {
    submit_as(core, msg, None).await
}

/// [`submit`], with the officer who typed the message in (counter intake) named in the audit.
pub async fn submit_as(
    core: &Core,
    msg: InboundMessage,
    officer: Option<(i64, &str)>,
) -> Result<Committed, IntakeError> {
    let span = tracing::info_span!(
        "intake",
        channel = %msg.channel,
        external_id = %msg.external_id,
        from = %msg.sender,
        register_no = tracing::field::Empty,
    );
    async move {
        let prepared = Prepared::new(core, msg);
        let mut last = None;
        for _ in 0..3 {
            match try_submit(core, &prepared, officer).await {
                Ok(c) => {
                    tracing::Span::current().record("register_no", c.register_no.as_str());
                    core.metrics.intake(c.disposition);
                    if c.disposition != Disposition::Duplicate {
                        core.outbox_wake.notify_waiters();
                        info!(disposition = ?c.disposition, "registered");
                    }
                    return Ok(c);
                }
                Err(e) if is_unique_violation(&e) => {
                    last = Some(e);
                    continue;
                }
                Err(e) => {
                    core.metrics.intake_error();
                    warn!(error = %e, "intake failed");
                    return Err(e.into());
                }
            }
        }
        core.metrics.intake_error();
        Err(last.expect("loop ran").into())
    }
    .instrument(span)
    .await
}

/// The message with limits applied, computed once outside the transaction.
struct Prepared {
    msg: InboundMessage,
    attachments: Vec<Attachment>,
    text: String,
    notes: Vec<String>,
    reg_numbers: Vec<String>,
}

impl Prepared {
    fn new(core: &Core, mut msg: InboundMessage) -> Prepared {
        let s = &core.settings;
        let mut notes = Vec::new();
        if let Some(e) = msg.parse_error.take() {
            notes.push(format!("source could not be fully parsed: {e}"));
        }
        let mut attachments = Vec::new();
        for a in std::mem::take(&mut msg.attachments) {
            if a.data.len() > s.max_attachment_bytes {
                notes.push(format!(
                    "attachment `{}` ({} bytes) exceeds the {}-byte limit and was not stored",
                    a.filename,
                    a.data.len(),
                    s.max_attachment_bytes
                ));
            } else {
                attachments.push(a);
            }
        }
        let (t, cut) = truncate_chars(&msg.text, s.max_text_chars);
        let text = t.to_string();
        if cut {
            notes.push(format!(
                "text longer than {} characters was cut; the raw source keeps all of it",
                s.max_text_chars
            ));
            if msg.raw.is_none() {
                msg.raw = Some(msg.text.clone().into_bytes());
            }
        }
        let mut reg_numbers = Vec::new();
        if let Some(sub) = &msg.subject {
            reg_numbers.extend(find_register_numbers(&s.register_prefix, sub));
        }
        for n in find_register_numbers(&s.register_prefix, &text) {
            if !reg_numbers.contains(&n) {
                reg_numbers.push(n);
            }
        }
        Prepared {
            msg,
            attachments,
            text,
            notes,
            reg_numbers,
        }
    }

    fn flag(&self) -> Option<String> {
        (!self.notes.is_empty()).then(|| self.notes.join("; "))
    }
}

async fn try_submit(
    core: &Core,
    p: &Prepared,
    officer: Option<(i64, &str)>,
) -> sqlx::Result<Committed> {
    let msg = &p.msg;
    let mut tx = core.db.begin().await?;
    // 1. Dedup.
    if let Some(r) = sqlx::query(
        "SELECT c.register_no, c.tracking_code FROM messages m JOIN complaints c ON c.id = m.complaint_id \
         WHERE m.channel = $1 AND m.external_id = $2",
    )
    .bind(msg.channel.as_str())
    .bind(&msg.external_id)
    .fetch_optional(&mut *tx)
    .await?
    {
        tx.rollback().await?;
        return Ok(Committed {
            register_no: r.try_get("register_no")?,
            tracking_code: r.try_get("tracking_code")?,
            disposition: Disposition::Duplicate,
        });
    }
    // 2. Threading.
    let now = now_ms();
    let complainant_id = resolve_complainant(&mut tx, msg, now).await?;
    let (complaint_id, disposition) = match find_thread(core, &mut tx, p).await? {
        Some(id) => (id, Disposition::Threaded),
        None => (
            create_complaint(core, &mut tx, p, complainant_id, now).await?,
            Disposition::Created,
        ),
    };
    // 3. The thread entry, its attachments and raw source.
    let raw_sha = match &msg.raw {
        Some(raw) => Some(register::store_blob(&mut tx, raw).await?),
        None => None,
    };
    let mrow = sqlx::query(
        "INSERT INTO messages (complaint_id, direction, channel, external_id, sender, subject, body, \
         raw_sha256, provider_message_id, auto_generated, parse_error, created_at) \
         VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(complaint_id)
    .bind(msg.channel.as_str())
    .bind(&msg.external_id)
    .bind(msg.sender.to_key())
    .bind(msg.subject.clone().unwrap_or_default())
    .bind(&p.text)
    .bind(raw_sha)
    .bind(msg.hints.message_id.clone())
    .bind(msg.auto_generated as i64)
    .bind(p.flag())
    .bind(msg.received_at.timestamp_millis())
    .fetch_one(&mut *tx)
    .await?;
    let message_id: i64 = mrow.try_get("id")?;
    register::store_attachments(&mut tx, message_id, &p.attachments).await?;
    if let Some(mid) = &msg.hints.message_id {
        sqlx::query(
            "INSERT INTO message_refs (channel, ref, complaint_id) VALUES ($1, $2, $3) \
             ON CONFLICT (channel, ref) DO NOTHING",
        )
        .bind(msg.channel.as_str())
        .bind(mid)
        .bind(complaint_id)
        .execute(&mut *tx)
        .await?;
    }
    let c = register::complaint_by_id(&mut tx, complaint_id).await?;
    match disposition {
        Disposition::Created => {
            let (oid, actor) = officer.map_or((None, "system"), |(id, name)| (Some(id), name));
            let via = match msg.medium {
                Some(m) => format!("via {} ({})", msg.channel, m.as_str()),
                None => format!("via {}", msg.channel),
            };
            register::audit(
                &mut tx,
                Some(c.id),
                oid,
                actor,
                "register",
                None,
                Some("registered"),
                &via,
            )
            .await?;
            if let Some(f) = p.flag() {
                register::audit(&mut tx, Some(c.id), None, "system", "flag", None, None, &f)
                    .await?;
            }
            maybe_acknowledge(core, &mut tx, &c, msg).await?;
        }
        Disposition::Threaded => {
            let mut to = None;
            if c.status == "incomplete" && !msg.auto_generated {
                // The complainant answered the request to complete: back to the front office.
                sqlx::query(
                    "UPDATE complaints SET status = 'registered', updated_at = $2 WHERE id = $1",
                )
                .bind(c.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                to = Some("registered");
            }
            let mut note = format!("message via {}", msg.channel);
            if let Some(f) = p.flag() {
                note.push_str("; ");
                note.push_str(&f);
                sqlx::query("UPDATE complaints SET flagged = $2 WHERE id = $1")
                    .bind(c.id)
                    .bind(&f)
                    .execute(&mut *tx)
                    .await?;
            }
            register::audit(
                &mut tx,
                Some(c.id),
                None,
                "system",
                "message_received",
                to.map(|_| c.status.as_str()),
                to,
                &note,
            )
            .await?;
            // Keep the search text current with follow-ups.
            sqlx::query("UPDATE complaints SET search_text = search_text || ' ' || $2, updated_at = $3 WHERE id = $1")
                .bind(c.id)
                .bind(search_fragment(&p.text))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        Disposition::Duplicate => unreachable!("handled above"),
    }
    tx.commit().await?;
    Ok(Committed {
        register_no: c.register_no,
        tracking_code: c.tracking_code,
        disposition,
    })
}

fn search_fragment(text: &str) -> String {
    truncate_chars(text, 2000).0.to_lowercase()
}

/// The complainant this sender is known as, linking every address the message carries.
async fn resolve_complainant(tx: &mut Tx, msg: &InboundMessage, now: i64) -> sqlx::Result<i64> {
    let keys: Vec<String> = std::iter::once(&msg.sender)
        .chain(&msg.contacts)
        .filter(|a| !a.is_none())
        .map(Address::to_key)
        .collect();
    let mut found = None;
    for k in &keys {
        if let Some(r) =
            sqlx::query("SELECT complainant_id FROM complainant_addresses WHERE address = $1")
                .bind(k)
                .fetch_optional(&mut **tx)
                .await?
        {
            found = Some(r.try_get::<i64, _>("complainant_id")?);
            break;
        }
    }
    let name = msg.display_name.clone().unwrap_or_default();
    let id = match found {
        Some(id) => {
            if !name.is_empty() {
                sqlx::query("UPDATE complainants SET name = $2 WHERE id = $1 AND name = ''")
                    .bind(id)
                    .bind(&name)
                    .execute(&mut **tx)
                    .await?;
            }
            id
        }
        None => {
            sqlx::query("INSERT INTO complainants (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(&name)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?
                .try_get("id")?
        }
    };
    for k in &keys {
        sqlx::query(
            "INSERT INTO complainant_addresses (address, complainant_id) VALUES ($1, $2) \
             ON CONFLICT (address) DO NOTHING",
        )
        .bind(k)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// An open complaint this message belongs to: by reply headers, by a register number in the
/// subject or text, or by the channel's conversation.
async fn find_thread(core: &Core, tx: &mut Tx, p: &Prepared) -> sqlx::Result<Option<i64>> {
    let msg = &p.msg;
    let ch = msg.channel.as_str();
    for r in msg.hints.references.iter().rev() {
        if let Some(row) = sqlx::query(
            "SELECT c.id FROM message_refs r JOIN complaints c ON c.id = r.complaint_id \
             WHERE r.channel = $1 AND r.ref = $2 AND c.is_open = 1",
        )
        .bind(ch)
        .bind(r)
        .fetch_optional(&mut **tx)
        .await?
        {
            return Ok(Some(row.try_get("id")?));
        }
    }
    for no in &p.reg_numbers {
        if let Some(row) =
            sqlx::query("SELECT id FROM complaints WHERE register_no = $1 AND is_open = 1")
                .bind(no)
                .fetch_optional(&mut **tx)
                .await?
        {
            return Ok(Some(row.try_get("id")?));
        }
    }
    if let Some(conv) = &msg.hints.conversation {
        if let Some(row) = sqlx::query(
            "SELECT id FROM complaints WHERE channel = $1 AND conversation = $2 AND is_open = 1 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(ch)
        .bind(conv)
        .fetch_optional(&mut **tx)
        .await?
        {
            return Ok(Some(row.try_get("id")?));
        }
    }
    let _ = core;
    Ok(None)
}

async fn create_complaint(
    core: &Core,
    tx: &mut Tx,
    p: &Prepared,
    complainant_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    let s = &core.settings;
    let msg = &p.msg;
    let local = msg.received_at.with_timezone(&s.offset);
    let register_no = register::next_register_no(tx, &s.register_prefix, local.year()).await?;
    let (due_date, due_at) = core.calendar.due(msg.received_at, s.sla_days, s.offset);
    let subject = msg
        .subject
        .clone()
        .filter(|x| !x.trim().is_empty())
        .unwrap_or_else(|| first_line(&p.text));
    let lang = msg
        .lang
        .clone()
        .filter(|l| l == "id" || l == "en")
        .unwrap_or_else(|| s.language.clone());
    let search = format!(
        "{} {} {} {}",
        register_no.to_lowercase(),
        subject.to_lowercase(),
        msg.display_name.clone().unwrap_or_default().to_lowercase(),
        search_fragment(&p.text)
    );
    let row = sqlx::query(
        "INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, medium, reply_to, \
         conversation, subject, status, is_open, lang, auto_generated, flagged, received_at, due_date, \
         due_at, updated_at, search_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'registered', 1, $9, $10, $11, $12, $13, $14, $15, $16) \
         RETURNING id",
    )
    .bind(&register_no)
    .bind(register::tracking_code())
    .bind(complainant_id)
    .bind(msg.channel.as_str())
    .bind(msg.medium.map(|m| m.as_str().to_string()))
    .bind(msg.sender.to_key())
    .bind(msg.hints.conversation.clone())
    .bind(subject)
    .bind(lang)
    .bind(msg.auto_generated as i64)
    .bind(p.flag())
    .bind(msg.received_at.timestamp_millis())
    .bind(due_date.format("%Y-%m-%d").to_string())
    .bind(due_at.timestamp_millis())
    .bind(now)
    .bind(search)
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("id")
}

pub fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    truncate_chars(line, 120).0.to_string()
}

/// Queues the receipt unless the message is auto-generated or the sender had too many.
async fn maybe_acknowledge(
    core: &Core,
    tx: &mut Tx,
    c: &register::Complaint,
    msg: &InboundMessage,
) -> sqlx::Result<()> {
    if msg.auto_generated {
        register::audit(
            tx,
            Some(c.id),
            None,
            "system",
            "ack_suppressed",
            None,
            None,
            "auto-generated message: no receipt",
        )
        .await?;
        return Ok(());
    }
    let targets = register::reply_targets(tx, core, c).await?;
    let mut allowed = Vec::with_capacity(targets.len());
    for (kind, addr) in targets {
        if !core.channels.is_configured(kind) {
            continue;
        }
        if !addr.is_none() && !ack_allowed(core, tx, &addr).await? {
            register::audit(
                tx,
                Some(c.id),
                None,
                "system",
                "ack_suppressed",
                None,
                None,
                &format!("receipt rate limit for {addr} reached"),
            )
            .await?;
            core.metrics.ack_suppressed();
            continue;
        }
        allowed.push((kind, addr));
    }
    if allowed.is_empty() {
        return Ok(());
    }
    register::enqueue(
        tx,
        core,
        c,
        &Outgoing {
            kind: Kind::Receipt,
            text: "",
            subject: "",
            automatic: true,
            attachments: &[],
        },
        &allowed,
    )
    .await?;
    Ok(())
}

async fn ack_allowed(core: &Core, tx: &mut Tx, addr: &Address) -> sqlx::Result<bool> {
    let limit = core.settings.ack_limit_per_hour;
    if limit == 0 {
        return Ok(true);
    }
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM outbox WHERE recipient = $1 AND kind = 'receipt' AND created_at > $2",
    )
    .bind(addr.to_key())
    .bind(now_ms() - 3_600_000)
    .fetch_one(&mut **tx)
    .await?;
    let n: i64 = row.try_get("n")?;
    Ok(n < limit as i64)
}

/// The sink adapters submit to: the register.
pub struct RegisterSink(pub Shared);

#[async_trait]
impl InboundSink for RegisterSink {
    async fn submit(&self, msg: InboundMessage) -> Result<Committed, SinkError> {
        submit(&self.0, msg)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn load_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
    ) -> Result<Option<String>, SinkError> {
        let row = sqlx::query("SELECT value FROM channel_cursors WHERE channel = $1 AND key = $2")
            .bind(channel.as_str())
            .bind(key)
            .fetch_optional(&self.0.db.pool)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))?;
        row.map(|r| r.try_get::<String, _>("value"))
            .transpose()
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn store_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
        value: &str,
    ) -> Result<(), SinkError> {
        sqlx::query(
            "INSERT INTO channel_cursors (channel, key, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(channel.as_str())
        .bind(key)
        .bind(value)
        .bind(now_ms())
        .execute(&self.0.db.pool)
        .await
        .map(|_| ())
        .map_err(|e| SinkError::Unavailable(e.to_string()))
    }
}

pub fn sink(core: &Shared) -> Arc<dyn InboundSink> {
    Arc::new(RegisterSink(core.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_register_numbers_anywhere() {
        assert_eq!(
            find_register_numbers("ADU", "Re: [ADU-2026-000042] jalan rusak"),
            vec!["ADU-2026-000042"]
        );
        assert_eq!(
            find_register_numbers("ADU", "bls adu-2026-000042 dan ADU-2025-000001."),
            vec!["ADU-2026-000042", "ADU-2025-000001"]
        );
        assert!(find_register_numbers("ADU", "XADU-2026-000042").is_empty());
        assert!(find_register_numbers("ADU", "ADU-2026-0000421").is_empty());
        assert!(find_register_numbers("ADU", "ADU-26-000042").is_empty());
        assert!(find_register_numbers("ADU", "ADU-2026-00004").is_empty());
        assert!(find_register_numbers("ADU", "ADU-").is_empty());
    }

    #[test]
    fn first_line_skips_blank_lines() {
        assert_eq!(first_line("\n\n  Jalan rusak \nlagi"), "Jalan rusak");
        assert_eq!(first_line(""), "");
    }
}

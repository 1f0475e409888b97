//! The intake pipeline: one inbound message, one transaction. Dedup on (channel, external_id);
//! thread onto an open complaint when a hint matches; otherwise open a complaint with a
//! register number and a working-day due date and queue its receipt. The caller (an adapter,
//! through [`RegisterSink`]) learns the outcome only after commit.

use std::sync::Arc;

use aduan_channel::{
    Attachment, ChannelKind, Committed, DeliveryReport, Disposition, InboundMessage, InboundSink,
    Intent, SinkError,
};
use async_trait::async_trait;
use chrono::Datelike;
use sqlx::Row;
use tracing::{info, warn, Instrument};

use crate::db::{is_unique_violation, now_ms, opt_str, Tx};
use crate::register::{self, Complaint, Outgoing, COMPLAINT_COLUMNS};
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
    // Addresses are masked by `Address`'s `Display`.
    let contacts = msg
        .contacts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let span = tracing::info_span!(
        "intake",
        channel = %msg.channel,
        external_id = %msg.external_id,
        from = %msg.sender,
        contacts = %contacts,
        register_no = tracing::field::Empty,
    );
    let channel = msg.channel;
    // A message that announces another channel's conversation (a LAPOR! notification mail)
    // links it in the message's own transaction: both or neither, so a failed link is retried
    // with the message.
    let announced = core
        .channels
        .iter()
        .filter(|(kind, _)| **kind != channel)
        .find_map(|(_, ch)| ch.link_announced(&msg));
    let r = async move {
        let prepared = Prepared::new(core, msg);
        let link = announced.map(|m| Prepared::new(core, m));
        let mut last = None;
        for _ in 0..3 {
            match try_submit(core, &prepared, link.as_ref(), officer).await {
                Ok(c) => {
                    tracing::Span::current().record("register_no", c.register_no.as_str());
                    core.metrics.intake(channel, c.disposition);
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
                    core.metrics.intake_error(channel);
                    warn!(error = %e, "intake failed");
                    return Err(e.into());
                }
            }
        }
        core.metrics.intake_error(channel);
        Err(last.expect("loop ran").into())
    }
    .instrument(span)
    .await;
    r
}

/// Removes NUL characters from every text field: PostgreSQL refuses them in `TEXT`, and no
/// complainant means one (a broken encoded-word, a binary file name).
fn strip_nuls(msg: &mut InboundMessage) {
    fn fix(s: &mut String) {
        if s.contains('\0') {
            s.retain(|c| c != '\0');
        }
    }
    fix(&mut msg.external_id);
    fix(&mut msg.text);
    for s in msg
        .subject
        .iter_mut()
        .chain(msg.display_name.iter_mut())
        .chain(msg.lang.iter_mut())
        .chain(msg.parse_error.iter_mut())
        .chain(msg.hints.message_id.iter_mut())
        .chain(msg.hints.conversation.iter_mut())
        .chain(msg.hints.references.iter_mut())
    {
        fix(s);
    }
    for a in &mut msg.attachments {
        fix(&mut a.filename);
        fix(&mut a.content_type);
    }
}

/// Longest provider message id (`Message-ID`, `References` entry) kept: RFC 5322's line limit.
/// Longer ones are dropped: they would exceed PostgreSQL's B-tree row limit.
const MAX_MESSAGE_ID_BYTES: usize = 998;
/// Most `References` entries a message may thread by (the newest are kept).
const MAX_REFERENCES: usize = 100;
/// Longest `external_id` kept as it is; a longer one is replaced by its digest (still unique).
const MAX_EXTERNAL_ID_BYTES: usize = 500;
/// Register numbers a message may name that are looked up for threading (and listed in its
/// flag): a text naming thousands would otherwise cost a query each.
const MAX_MENTIONS: usize = 10;
/// Longest subject and display name kept (characters).
const MAX_SUBJECT_CHARS: usize = 1_000;
const MAX_NAME_CHARS: usize = 200;
/// The search text of a complaint stops growing past this many characters (PostgreSQL's
/// tsvector holds at most 1 MB; follow-ups beyond it stay in the thread, unsearched).
const MAX_SEARCH_CHARS: i64 = 200_000;

/// The message with limits applied, computed once outside the transaction.
struct Prepared {
    msg: InboundMessage,
    attachments: Vec<Attachment>,
    text: String,
    notes: Vec<String>,
    reg_numbers: Vec<String>,
    /// The sender's address in register form when the channel proves it: the complainant's
    /// identity. `None` for the web form and the counter.
    identity: Option<String>,
    /// The contacts given with this message, in register form, without the identity.
    contacts: Vec<String>,
}

impl Prepared {
    fn new(core: &Core, mut msg: InboundMessage) -> Prepared {
        let s = &core.settings;
        strip_nuls(&mut msg);
        let mut notes = Vec::new();
        if let Some(e) = msg.parse_error.take() {
            notes.push(format!("source could not be fully parsed: {e}"));
        }
        cap_fields(&mut msg, &mut notes);
        // A clock in the future (a modem's wrong SMSC time) is kept as "sent at" and noted;
        // the register dates everything by its own clock.
        let now = core.clock.now();
        if msg.received_at > now + chrono::Duration::days(1) {
            notes.push(format!(
                "source time {} is in the future; registered at receipt time",
                msg.received_at.to_rfc3339()
            ));
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
        // LAPOR! entries are written by third parties and belong to their report (the
        // conversation) only: a number in them is never a threading hint.
        let mut reg_numbers = Vec::new();
        if msg.channel != ChannelKind::Lapor {
            let subject = msg.subject.as_deref().unwrap_or("");
            for n in find_register_numbers(&s.register_prefix, subject)
                .into_iter()
                .chain(find_register_numbers(&s.register_prefix, &text))
            {
                if !reg_numbers.contains(&n) && reg_numbers.len() < MAX_MENTIONS {
                    reg_numbers.push(n);
                }
            }
        }
        let identity =
            Some(msg.sender.to_key()).filter(|k| !k.is_empty() && msg.channel.proves_sender());
        let mut contacts: Vec<String> = Vec::new();
        for a in &msg.contacts {
            let k = a.to_key();
            if !k.is_empty() && Some(&k) != identity.as_ref() && !contacts.contains(&k) {
                contacts.push(k);
            }
        }
        Prepared {
            msg,
            attachments,
            text,
            notes,
            reg_numbers,
            identity,
            contacts,
        }
    }
}

/// Caps the fields the register indexes or searches, so that a huge subject, name or
/// Message-ID is stored (shortened, noted) the same way on SQLite and PostgreSQL instead of
/// being refused by one of them.
fn cap_fields(msg: &mut InboundMessage, notes: &mut Vec<String>) {
    if msg.external_id.len() > MAX_EXTERNAL_ID_BYTES {
        msg.external_id = format!(
            "sha256:{}",
            register::sha256_hex(msg.external_id.as_bytes())
        );
    }
    for (field, v, max) in [
        ("subject", &mut msg.subject, MAX_SUBJECT_CHARS),
        ("sender name", &mut msg.display_name, MAX_NAME_CHARS),
    ] {
        if let Some(x) = v.as_mut() {
            let (t, cut) = truncate_chars(x, max);
            if cut {
                *x = t.to_string();
                notes.push(format!("{field} longer than {max} characters was cut"));
            }
        }
    }
    if msg
        .hints
        .message_id
        .as_ref()
        .is_some_and(|m| m.len() > MAX_MESSAGE_ID_BYTES)
    {
        msg.hints.message_id = None;
        notes.push(format!(
            "message id longer than {MAX_MESSAGE_ID_BYTES} bytes was not kept"
        ));
    }
    let refs = &mut msg.hints.references;
    let before = refs.len();
    refs.retain(|r| r.len() <= MAX_MESSAGE_ID_BYTES);
    if refs.len() > MAX_REFERENCES {
        refs.drain(..refs.len() - MAX_REFERENCES);
    }
    if refs.len() < before {
        notes.push(format!(
            "{} over-long or surplus reply references were not kept",
            before - refs.len()
        ));
    }
    if let Some(c) = msg
        .hints
        .conversation
        .as_mut()
        .filter(|c| c.len() > MAX_MESSAGE_ID_BYTES)
    {
        *c = format!("sha256:{}", register::sha256_hex(c.as_bytes()));
    }
}

fn join_notes(notes: &[String]) -> Option<String> {
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// One transaction: the message, and the LAPOR! link it carries (a notification mail).
async fn try_submit(
    core: &Core,
    p: &Prepared,
    link: Option<&Prepared>,
    officer: Option<(i64, &str)>,
) -> sqlx::Result<Committed> {
    let now = now_ms();
    let mut tx = core.db.begin().await?;
    let c = register_in(core, &mut tx, p, officer, now).await?;
    if let Some(l) = link.filter(|_| c.disposition != Disposition::Duplicate) {
        let linked = register_in(core, &mut tx, l, None, now).await?;
        info!(register_no = %linked.register_no, "LAPOR! report linked from a notification mail");
    }
    tx.commit().await?;
    Ok(c)
}

/// Registers one message in the caller's transaction.
async fn register_in(
    core: &Core,
    tx: &mut Tx,
    p: &Prepared,
    officer: Option<(i64, &str)>,
    now: i64,
) -> sqlx::Result<Committed> {
    let msg = &p.msg;
    // 1. One look-up: was it registered before, and who is the proven sender.
    let found = lookup(tx, p).await?;
    if let Some((key, value)) = &msg.cursor {
        register::store_cursor(&mut **tx, msg.channel, key, value, now).await?;
    }
    if let Some((register_no, tracking_code)) = found.duplicate {
        return Ok(Committed {
            register_no,
            tracking_code,
            disposition: Disposition::Duplicate,
        });
    }
    if let Intent::StatusQuery { register_no } = &msg.intent {
        return status_query(core, tx, p, found.complainant, register_no, now).await;
    }
    // 2. The complainant: the one this proven identity belongs to, else a new one.
    let complainant_id = resolve_complainant(tx, p, found.complainant, now).await?;
    // 3. Thread onto an open complaint of this complainant, or open one.
    let thread = find_thread(core, tx, p, complainant_id).await?;
    let mut notes = p.notes.clone();
    let mentioned: Vec<&str> = p
        .reg_numbers
        .iter()
        .map(String::as_str)
        .filter(|n| thread.as_ref().is_none_or(|c| c.register_no != *n))
        .collect();
    if thread.is_none() && !mentioned.is_empty() {
        notes.push(format!(
            "mentions {} (not joined: another sender's, closed or unknown complaint)",
            mentioned.join(", ")
        ));
    }
    let flag = join_notes(&notes);
    let disposition = if thread.is_some() {
        Disposition::Threaded
    } else {
        Disposition::Created
    };
    let c = match thread {
        Some(c) => c,
        None => create_complaint(core, tx, p, complainant_id, flag.clone(), now).await?,
    };
    // 4. The thread entry, its attachments, raw source and the contacts it gave.
    let raw_sha = match &msg.raw {
        Some(raw) => Some(register::store_blob(tx, raw).await?),
        None => None,
    };
    let mrow = sqlx::query(
        "INSERT INTO messages (complaint_id, direction, channel, external_id, sender, subject, body, \
         raw_sha256, provider_message_id, auto_generated, parse_error, created_at) \
         VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(c.id)
    .bind(msg.channel.as_str())
    .bind(&msg.external_id)
    .bind(msg.sender.to_key())
    .bind(msg.subject.clone().unwrap_or_default())
    .bind(&p.text)
    .bind(raw_sha)
    .bind(msg.hints.message_id.clone())
    .bind(msg.auto_generated as i64)
    .bind(flag.clone())
    .bind(msg.received_at.timestamp_millis())
    .fetch_one(&mut **tx)
    .await?;
    if !p.attachments.is_empty() {
        let message_id: i64 = mrow.try_get("id")?;
        register::store_attachments(tx, message_id, &p.attachments).await?;
    }
    for k in &p.contacts {
        sqlx::query(
            "INSERT INTO complaint_contacts (complaint_id, address) VALUES ($1, $2) \
             ON CONFLICT (complaint_id, address) DO NOTHING",
        )
        .bind(c.id)
        .bind(k)
        .execute(&mut **tx)
        .await?;
    }
    match disposition {
        Disposition::Created => {
            let (oid, actor) = officer.map_or((None, "system"), |(id, name)| (Some(id), name));
            let mut note = match msg.medium {
                Some(m) => format!("via {} ({})", msg.channel, m.as_str()),
                None => format!("via {}", msg.channel),
            };
            if let Some(f) = &flag {
                note.push_str("; flagged: ");
                note.push_str(f);
            }
            register::audit(
                tx,
                Some(c.id),
                oid,
                actor,
                "register",
                None,
                Some("registered"),
                &note,
            )
            .await?;
            acknowledge(core, tx, &c, p, now).await?;
        }
        Disposition::Threaded => {
            let reopened = c.status == "incomplete" && !msg.auto_generated;
            // The complainant answered the request to complete: back to the front office.
            // A flag from this message is kept; follow-ups extend the search text (up to a
            // cap that keeps PostgreSQL's tsvector within its limit).
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE complaints SET status = CASE WHEN $2 = 1 THEN 'registered' ELSE status END, \
                 flagged = COALESCE($3, flagged), \
                 search_text = CASE WHEN length(search_text) < {MAX_SEARCH_CHARS} \
                   THEN search_text || ' ' || $4 ELSE search_text END, updated_at = $5 \
                 WHERE id = $1"
            )))
            .bind(c.id)
            .bind(reopened as i64)
            .bind(flag.clone())
            .bind(search_fragment(&p.text))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let mut note = format!("message via {}", msg.channel);
            // LAPOR!'s status changes and dispositions belong in the audit trail itself.
            if msg.channel == ChannelKind::Lapor {
                note.push_str(": ");
                note.push_str(&first_line(&p.text));
            }
            if let Some(f) = &flag {
                note.push_str("; flagged: ");
                note.push_str(f);
            }
            let (from, to) = if reopened {
                (Some(c.status.as_str()), Some("registered"))
            } else {
                (None, None)
            };
            register::audit(
                tx,
                Some(c.id),
                None,
                "system",
                "message_received",
                from,
                to,
                &note,
            )
            .await?;
        }
        Disposition::Duplicate => unreachable!("returned above"),
    }
    Ok(Committed {
        register_no: c.register_no,
        tracking_code: c.tracking_code,
        disposition,
    })
}

/// Answers a status query with the complaint's status, through the channel it came by, when
/// the sender is that complaint's complainant; the query joins the complaint's thread. Anyone
/// else gets no answer (a register number alone reveals nothing), only an audit entry.
async fn status_query(
    core: &Core,
    tx: &mut Tx,
    p: &Prepared,
    sender_complainant: Option<i64>,
    register_no: &str,
    now: i64,
) -> sqlx::Result<Committed> {
    let msg = &p.msg;
    let no = register_no.trim().to_ascii_uppercase();
    let c = register::complaint_by_no(&mut **tx, &no).await?;
    // Only the complaint's proven sender is its owner; a typed contact never is.
    let owner = matches!((&c, sender_complainant), (Some(c), Some(id)) if c.complainant_id == id);
    let Some(c) = c.filter(|_| owner) else {
        let note = format!("status of {no} asked by {} via {}: not answered (unknown number or not the complainant)", msg.sender, msg.channel);
        register::audit(
            tx,
            None,
            None,
            "system",
            "status_query_refused",
            None,
            None,
            &note,
        )
        .await?;
        return Ok(Committed {
            register_no: String::new(),
            tracking_code: String::new(),
            disposition: Disposition::Duplicate,
        });
    };
    sqlx::query(
        "INSERT INTO messages (complaint_id, direction, channel, external_id, sender, subject, body, \
         provider_message_id, created_at) VALUES ($1, 'in', $2, $3, $4, '', $5, $6, $7)",
    )
    .bind(c.id)
    .bind(msg.channel.as_str())
    .bind(&msg.external_id)
    .bind(msg.sender.to_key())
    .bind(&p.text)
    .bind(msg.hints.message_id.clone())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    register::audit(
        tx,
        Some(c.id),
        None,
        "system",
        "status_query",
        None,
        None,
        &format!("answered via {}", msg.channel),
    )
    .await?;
    if core.channels.is_configured(msg.channel) {
        let refs: Vec<String> = msg.hints.message_id.iter().cloned().collect();
        register::enqueue(
            tx,
            core,
            &c,
            &Outgoing {
                kind: Kind::Status,
                text: "",
                subject: "",
                automatic: true,
                attachments: &[],
            },
            &[(msg.channel, msg.sender.clone())],
            Some(&refs),
        )
        .await?;
    }
    Ok(Committed {
        register_no: c.register_no,
        tracking_code: c.tracking_code,
        disposition: Disposition::Threaded,
    })
}

fn search_fragment(text: &str) -> String {
    register::fold(truncate_chars(text, 2000).0)
}

struct Lookup {
    duplicate: Option<(String, String)>,
    /// The complainant whose identity the proven sender is.
    complainant: Option<i64>,
}

async fn lookup(tx: &mut Tx, p: &Prepared) -> sqlx::Result<Lookup> {
    let msg = &p.msg;
    let r = sqlx::query(
        "SELECT \
           (SELECT c.register_no || ' ' || c.tracking_code FROM messages m \
            JOIN complaints c ON c.id = m.complaint_id WHERE m.channel = $1 AND m.external_id = $2) AS dup, \
           (SELECT complainant_id FROM complainant_addresses WHERE address = $3) AS complainant_id",
    )
    .bind(msg.channel.as_str())
    .bind(&msg.external_id)
    .bind(p.identity.clone().unwrap_or_default())
    .fetch_one(&mut **tx)
    .await?;
    let duplicate = opt_str(&r, "dup").and_then(|d| {
        d.split_once(' ')
            .map(|(no, code)| (no.to_string(), code.to_string()))
    });
    Ok(Lookup {
        duplicate,
        complainant: r.try_get("complainant_id")?,
    })
}

/// The complainant whose identity the message's proven sender is, or a new one (linked to that
/// identity). Messages without a proven sender (web form, counter) get a complainant of their
/// own: what they typed is never matched against anyone.
async fn resolve_complainant(
    tx: &mut Tx,
    p: &Prepared,
    known: Option<i64>,
    now: i64,
) -> sqlx::Result<i64> {
    let name = p.msg.display_name.clone().unwrap_or_default();
    if let Some(id) = known {
        if !name.is_empty() {
            sqlx::query("UPDATE complainants SET name = $2 WHERE id = $1 AND name = ''")
                .bind(id)
                .bind(&name)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(id);
    }
    let id: i64 =
        sqlx::query("INSERT INTO complainants (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(&name)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?
            .try_get("id")?;
    let Some(identity) = &p.identity else {
        return Ok(id);
    };
    // A concurrent intake that linked this identity first makes the insert a unique
    // violation: the whole message is retried and then finds that complainant.
    sqlx::query("INSERT INTO complainant_addresses (address, complainant_id) VALUES ($1, $2)")
        .bind(identity)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// An open complaint this message belongs to: by reply headers naming a message we sent (or
/// one this sender sent), by a register number in the subject or text, or by the channel's
/// conversation (in that order). Numbers and conversations join only a complaint of the same
/// proven complainant; a message without a proven sender joins nothing by them.
///
/// On PostgreSQL the complaint found is locked (`FOR UPDATE`), so a concurrent close either
/// happens first (and the message opens a new complaint) or waits for this one; a first
/// message of a conversation takes a transaction lock on that conversation, so two of them
/// cannot both open a complaint.
async fn find_thread(
    core: &Core,
    tx: &mut Tx,
    p: &Prepared,
    complainant_id: i64,
) -> sqlx::Result<Option<Complaint>> {
    let msg = &p.msg;
    let ch = msg.channel.as_str();
    let pg = core.db.backend == crate::db::Backend::Postgres;
    let lock = if pg { " FOR UPDATE OF c" } else { "" };
    let base = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints c JOIN complainants p ON p.id = c.complainant_id \
         WHERE c.is_open = 1 AND "
    );
    let sender = p.identity.clone().unwrap_or_default();
    for r in msg.hints.references.iter().rev() {
        let sql = format!(
            "{base} c.id = (SELECT complaint_id FROM messages WHERE channel = $1 AND provider_message_id = $2 \
             AND (direction = 'out' OR (sender = $3 AND sender <> '')) ORDER BY id LIMIT 1){lock}"
        );
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ch)
            .bind(r)
            .bind(&sender)
            .fetch_optional(&mut **tx)
            .await?
        {
            return Complaint::from_row(&row).map(Some);
        }
    }
    if p.identity.is_none() {
        return Ok(None);
    }
    for no in &p.reg_numbers {
        let sql = format!("{base} c.register_no = $1 AND c.complainant_id = $2{lock}");
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(no)
            .bind(complainant_id)
            .fetch_optional(&mut **tx)
            .await?
        {
            return Complaint::from_row(&row).map(Some);
        }
    }
    if let Some(conv) = &msg.hints.conversation {
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
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ch)
            .bind(conv)
            .bind(complainant_id)
            .fetch_optional(&mut **tx)
            .await?
        {
            return Complaint::from_row(&row).map(Some);
        }
    }
    Ok(None)
}

async fn create_complaint(
    core: &Core,
    tx: &mut Tx,
    p: &Prepared,
    complainant_id: i64,
    flagged: Option<String>,
    now: i64,
) -> sqlx::Result<Complaint> {
    let s = &core.settings;
    let msg = &p.msg;
    // The register's own clock dates the complaint (number year, due date); the source's clock
    // (a modem's SMSC time, a mail's Date) is kept as `sent_at`.
    let registered = core.clock.now();
    let year = crate::sla::local_date(registered, s.offset).year();
    let register_no = register::next_register_no(tx, &s.register_prefix, year).await?;
    let (due_date, due_at) = core.calendar.due(registered, s.sla_days, s.offset);
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
    let name = msg.display_name.clone().unwrap_or_default();
    let search = format!(
        "{} {} {} {}",
        register_no.to_lowercase(),
        register::fold(&subject),
        register::fold(&name),
        search_fragment(&p.text)
    );
    let mut c = Complaint {
        id: 0,
        register_no,
        tracking_code: register::tracking_code(),
        complainant_id,
        complainant_name: name,
        channel: msg.channel.as_str().to_string(),
        medium: msg.medium.map(|m| m.as_str().to_string()),
        reply_to: msg.sender.to_key(),
        subject,
        status: "registered".into(),
        assignee_id: None,
        lang,
        auto_generated: msg.auto_generated,
        flagged,
        draft_answer: None,
        received_at: registered.timestamp_millis(),
        due_date: due_date.format("%Y-%m-%d").to_string(),
        due_at: due_at.timestamp_millis(),
        answered_at: None,
        closed_at: None,
        updated_at: now,
    };
    let row = sqlx::query(
        "INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, medium, reply_to, \
         conversation, subject, status, is_open, lang, auto_generated, flagged, received_at, due_date, \
         due_at, updated_at, search_text, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         RETURNING id",
    )
    .bind(&c.register_no)
    .bind(&c.tracking_code)
    .bind(complainant_id)
    .bind(&c.channel)
    .bind(c.medium.clone())
    .bind(&c.reply_to)
    .bind(msg.hints.conversation.clone())
    .bind(&c.subject)
    .bind(&c.status)
    .bind(&c.lang)
    .bind(c.auto_generated as i64)
    .bind(c.flagged.clone())
    .bind(c.received_at)
    .bind(&c.due_date)
    .bind(c.due_at)
    .bind(now)
    .bind(search)
    .bind(msg.received_at.timestamp_millis())
    .fetch_one(&mut **tx)
    .await?;
    c.id = row.try_get("id")?;
    Ok(c)
}

pub fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    truncate_chars(line, 120).0.to_string()
}

/// Queues the receipt of a new complaint: through its own channel to its sender, and for web
/// and counter complaints to the contacts given with it. Nothing is queued for an
/// auto-generated message, nor to an address that already had `ack_limit_per_hour` receipts
/// in the last hour (a typed address included: the form cannot make the office flood anyone).
async fn acknowledge(
    core: &Core,
    tx: &mut Tx,
    c: &Complaint,
    p: &Prepared,
    now: i64,
) -> sqlx::Result<()> {
    let msg = &p.msg;
    if msg.auto_generated {
        return ack_suppressed(core, tx, c, "auto-generated message: no receipt").await;
    }
    let own = msg.channel;
    let mut targets = Vec::new();
    // A proving channel needs the sender's address (mail without a usable From gets none);
    // web and counter answer on the tracking page and at the counter.
    if core.channels.is_configured(own) && (!msg.sender.is_none() || !own.proves_sender()) {
        targets.push((own, msg.sender.clone()));
    }
    if matches!(own, ChannelKind::Web | ChannelKind::Counter) {
        let served = crate::presence::served(tx, core).await?;
        targets.extend(register::contact_targets(
            &served,
            p.contacts
                .iter()
                .map(|k| aduan_channel::Address::from_key(k)),
        ));
    }
    let limit = core.settings.ack_limit_per_hour as i64;
    let mut allowed = Vec::with_capacity(targets.len());
    for (ch, to) in targets {
        if limit > 0 && !to.is_none() {
            let sent: i64 = sqlx::query(
                "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND kind = 'receipt' AND created_at > $2",
            )
            .bind(to.to_key())
            .bind(now - 3_600_000)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
            if sent >= limit {
                let why = format!("receipt rate limit for {to} reached");
                ack_suppressed(core, tx, c, &why).await?;
                continue;
            }
        }
        allowed.push((ch, to));
    }
    if allowed.is_empty() {
        return Ok(());
    }
    let refs: Vec<String> = msg.hints.message_id.iter().cloned().collect();
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
        Some(&refs),
    )
    .await?;
    Ok(())
}

async fn ack_suppressed(core: &Core, tx: &mut Tx, c: &Complaint, why: &str) -> sqlx::Result<()> {
    register::audit(
        tx,
        Some(c.id),
        None,
        "system",
        "ack_suppressed",
        None,
        None,
        why,
    )
    .await?;
    core.metrics.ack_suppressed();
    Ok(())
}

/// The sink adapters submit to: the register.
pub struct RegisterSink(pub Shared);

#[async_trait]
impl InboundSink for RegisterSink {
    async fn submit(&self, msg: InboundMessage) -> Result<Committed, SinkError> {
        submit(&self.0, msg).await.map_err(|IntakeError::Db(e)| {
            // A value the database refuses (SQLSTATE class 22, data exception; class 54, a
            // program limit such as an index row or tsvector too large) will be refused on
            // every retry: the adapter must store the message another way, not wait.
            let data = matches!(&e, sqlx::Error::Database(d)
                if d.code().is_some_and(|c| c.starts_with("22") || c.starts_with("54")));
            if data {
                SinkError::Rejected(e.to_string())
            } else {
                SinkError::Unavailable(e.to_string())
            }
        })
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
        register::store_cursor(&self.0.db.write, channel, key, value, now_ms())
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn delivery_report(&self, report: DeliveryReport) -> Result<bool, SinkError> {
        delivery_report(&self.0, &report)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn is_registered(
        &self,
        channel: ChannelKind,
        external_id: &str,
    ) -> Result<bool, SinkError> {
        sqlx::query("SELECT 1 FROM messages WHERE channel = $1 AND external_id = $2")
            .bind(channel.as_str())
            .bind(external_id)
            .fetch_optional(&self.0.db.pool)
            .await
            .map(|r| r.is_some())
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn open_conversations(&self, channel: ChannelKind) -> Result<Vec<String>, SinkError> {
        let rows = sqlx::query(
            "SELECT conversation FROM complaints WHERE channel = $1 AND is_open = 1 \
             AND conversation IS NOT NULL AND conversation <> '' GROUP BY conversation ORDER BY MIN(id)",
        )
        .bind(channel.as_str())
        .fetch_all(&self.0.db.pool)
        .await
        .map_err(|e| SinkError::Unavailable(e.to_string()))?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("conversation"))
            .collect::<Result<_, _>>()
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }
}

/// How far from the provider's acceptance time (SMS TP-SCTS) a reported message may have been
/// sent; without that time, how old it may be.
const REPORT_WINDOW_MS: i64 = 24 * 3_600_000;
const REPORT_MAX_AGE_MS: i64 = 3 * 24 * 3_600_000;

/// Records a delivery report on the outbox row it names, with an audit entry; a failure is
/// flagged on the complaint for an officer. The row is found by the provider's receipt — for a
/// report that names its recipient and time (SMS), only a row to that recipient sent about
/// then, since SMS references wrap at 256 — else by our own message id. Both look-ups use an
/// index (`outbox_by_receipt`, `outbox_by_provider_msg_id`).
pub async fn delivery_report(core: &Core, r: &DeliveryReport) -> sqlx::Result<bool> {
    let mut tx = core.db.begin().await?;
    let (from, to) = match r.submitted_at {
        Some(t) => (
            t.timestamp_millis() - REPORT_WINDOW_MS,
            t.timestamp_millis() + REPORT_WINDOW_MS,
        ),
        None if r.recipient.is_some() => (now_ms() - REPORT_MAX_AGE_MS, i64::MAX),
        None => (i64::MIN, i64::MAX),
    };
    let by_receipt = sqlx::query(
        "SELECT id, complaint_id FROM outbox WHERE channel = $1 AND receipt = $2 \
         AND ($3 = '' OR recipient = $3) AND COALESCE(sent_at, created_at) BETWEEN $4 AND $5 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(r.channel.as_str())
    .bind(&r.provider_ref)
    .bind(r.recipient.as_ref().map(|a| a.to_key()).unwrap_or_default())
    .bind(from)
    .bind(to)
    .fetch_optional(&mut *tx)
    .await?;
    let row =
        match by_receipt {
            Some(row) => Some(row),
            None => sqlx::query(
                "SELECT id, complaint_id FROM outbox WHERE channel = $1 AND provider_msg_id = $2 \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(r.channel.as_str())
            .bind(&r.provider_ref)
            .fetch_optional(&mut *tx)
            .await?,
        };
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(false);
    };
    let (id, cid): (i64, i64) = (row.try_get("id")?, row.try_get("complaint_id")?);
    sqlx::query(
        "UPDATE outbox SET delivery = $2, last_error = CASE WHEN $2 = 'failed' THEN $3 ELSE last_error END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(r.state.as_str())
    .bind(&r.detail)
    .execute(&mut *tx)
    .await?;
    let note = format!(
        "outbox {id} via {}: {} {}",
        r.channel,
        r.state.as_str(),
        r.detail
    );
    register::audit(
        &mut tx,
        Some(cid),
        None,
        "system",
        "delivery_report",
        None,
        None,
        note.trim(),
    )
    .await?;
    if r.state == aduan_channel::DeliveryState::Failed {
        sqlx::query("UPDATE complaints SET flagged = $2 WHERE id = $1")
            .bind(cid)
            .bind(format!(
                "reply not delivered via {}: {}",
                r.channel, r.detail
            ))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
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

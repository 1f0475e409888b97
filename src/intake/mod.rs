//! The intake policy above the register: one inbound message, one transaction. Dedup on (channel, external_id);
//! thread onto an open complaint when a hint matches; otherwise open a complaint with a
//! register number and a working-day due date and queue its receipt. The caller (an adapter,
//! through [`RegisterSink`]) learns the outcome only after commit. What is decided here (a
//! duplicate, the thread, the clocks, the receipt) the register stores through
//! `register::intake`'s statements.

use std::sync::Arc;

use aduan_channel::{
    Attachment, ChannelKind, Committed, DeliveryReport, Disposition, InboundMessage, InboundSink,
    Intent, SinkError,
};
use async_trait::async_trait;
use chrono::Datelike;
use tracing::{info, warn, Instrument};

use crate::db::{is_unique_violation, now_ms, Tx};
use crate::register::audit::{self, Actor, AuditEvent, Entry, Suppressed};
use crate::register::{self, Complaint, Outgoing};
use crate::state::{Core, Shared};
use crate::templates::Kind;
use crate::workflow::Status;

mod prepare;
mod sink;
mod thread;

use prepare::*;
pub use sink::*;
use thread::*;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
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
    // One clock for the whole intake: the register's (a test may fix it).
    let now = core.clock.now().timestamp_millis();
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
        if msg.cursor_keeps_greatest {
            register::store_cursor_forward(&mut **tx, msg.channel, key, value, now).await?;
        } else {
            register::store_cursor(&mut **tx, msg.channel, key, value, now).await?;
        }
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
    // A rating reply (a bare 1–4) from a complainant whose verdict was asked: the verdict, on
    // the complaint whose question it answers — the one its reply headers name (email
    // `In-Reply-To`, Telegram's reply target), else (not by email, whose `From` anyone can
    // write) the one asked last.
    if let (Some(who), Some(rating)) = (found.complainant, crate::workflow::verdict::parse(&p.text))
    {
        if !msg.auto_generated && p.attachments.is_empty() {
            let at = now;
            let since = at - crate::workflow::verdict::WINDOW_MS;
            let refs = &msg.hints.references;
            let mut asked =
                register::verdicts::asked_by_reply(tx, msg.channel, refs, who, since).await?;
            if asked.is_none() && msg.channel != ChannelKind::Email {
                asked = register::verdicts::asked_of(tx, who, since).await?;
            }
            if let Some(no) = asked {
                return verdict_reply(tx, p, &no, rating, at).await;
            }
        }
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
    let message_id = register::intake::insert_inbound(
        tx,
        c.id,
        &register::intake::Inbound {
            channel: msg.channel,
            external_id: &msg.external_id,
            sender: msg.sender.to_key(),
            subject: msg.subject.as_deref().unwrap_or_default(),
            body: &p.text,
            raw_sha256: raw_sha,
            provider_message_id: msg.hints.message_id.as_deref(),
            auto_generated: msg.auto_generated,
            parse_error: flag.as_deref(),
            created_at: msg.received_at.timestamp_millis(),
        },
    )
    .await?;
    if !p.attachments.is_empty() {
        register::store_attachments(tx, message_id, &p.attachments).await?;
    }
    register::intake::add_contacts(tx, c.id, &p.contacts).await?;
    // A confidential complaint is indexed with its complainant's name apart (the roles that
    // may not see who complained search only the rest).
    if c.confidential {
        register::identity::index(tx, &c).await?;
    }
    match disposition {
        Disposition::Created => opened(core, tx, &c, p, officer, flag.as_deref(), now).await?,
        Disposition::Threaded => joined(core, tx, &c, p, flag.as_deref(), now).await?,
        Disposition::Duplicate => unreachable!("returned above"),
    }
    Ok(Committed {
        register_no: c.register_no,
        tracking_code: c.tracking_code,
        disposition,
    })
}

/// A new complaint's audit entry (who typed it in at the counter, if anyone) and its receipt.
async fn opened(
    core: &Core,
    tx: &mut Tx,
    c: &Complaint,
    p: &Prepared,
    officer: Option<(i64, &str)>,
    flag: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let msg = &p.msg;
    let by = officer.map_or(Actor::System, |(id, username)| Actor::Officer {
        id,
        username,
    });
    let event = AuditEvent::Registered {
        channel: msg.channel,
        medium: msg.medium,
        flagged: flag.map(str::to_string),
    };
    let entry = Entry::new(Some(c.id), by, event, now).moving(None, Some(Status::Registered));
    audit::write(tx, &entry).await?;
    acknowledge(core, tx, c, p, now).await
}

/// A follow-up joined complaint `c`: its flag and search text, a returned file back to the
/// front office with its clocks running again, the audit entry.
async fn joined(
    core: &Core,
    tx: &mut Tx,
    c: &Complaint,
    p: &Prepared,
    flag: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let msg = &p.msg;
    let reopened = c.status == Status::Incomplete && !msg.auto_generated;
    // The complainant answered the request to complete: back to the front office.
    // A flag from this message is kept; follow-ups extend the search text (up to a
    // cap that keeps PostgreSQL's tsvector within its limit).
    register::intake::follow_up(tx, c.id, reopened, flag, &search_fragment(&p.text), now).await?;
    if reopened {
        // The file comes back to be checked: the whole clock runs on, the first
        // step's clock starts again.
        let at = now;
        crate::workflow::resume_whole_clock(core, tx, c.id, at, false).await?;
        let due = crate::workflow::clock::step_due(core, Status::Registered, 0, at);
        register::clock::set_step_due(tx, c.id, Some(at), due).await?;
    }
    let event = AuditEvent::MessageReceived {
        channel: msg.channel,
        // LAPOR!'s status changes and dispositions belong in the audit trail itself.
        lapor: (msg.channel == ChannelKind::Lapor).then(|| first_line(&p.text)),
        flagged: flag.map(str::to_string),
    };
    let mut entry = Entry::new(Some(c.id), Actor::System, event, now);
    if reopened {
        entry = entry.moving(Some(c.status), Some(Status::Registered));
    }
    audit::write(tx, &entry).await?;
    Ok(())
}

pub fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    truncate_chars(line, 120).0.to_string()
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

//! Inside the transaction: the complainant (by the proven identity only), the complaint a
//! message joins (reply headers, its sender's own numbers and conversations) or opens, status
//! queries, and the receipt.

use super::*;

/// Answers a status query with the complaint's status, through the channel it came by, when
/// the sender is that complaint's complainant; the query joins the complaint's thread. Anyone
/// else gets no answer (a register number alone reveals nothing), only an audit entry.
pub(super) async fn status_query(
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
        let event = AuditEvent::StatusQueryRefused {
            register_no: no.to_string(),
            channel: msg.channel,
        };
        audit::write(tx, &Entry::new(None, Actor::System, event, now)).await?;
        return Ok(Committed {
            register_no: String::new(),
            tracking_code: String::new(),
            disposition: Disposition::Duplicate,
        });
    };
    thread_entry(tx, c.id, p, now).await?;
    let event = AuditEvent::StatusQuery {
        channel: msg.channel,
    };
    audit::write(tx, &Entry::new(Some(c.id), Actor::System, event, now)).await?;
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

/// A rating reply: kept in the thread of the complaint whose verdict was asked, and recorded
/// as its verdict unless one is (the first stands). No receipt: the citizen answered us.
pub(super) async fn verdict_reply(
    tx: &mut Tx,
    p: &Prepared,
    register_no: &str,
    rating: i64,
    now: i64,
) -> sqlx::Result<Committed> {
    let msg = &p.msg;
    let Some(c) = register::complaint_by_no(&mut **tx, register_no).await? else {
        return Err(sqlx::Error::RowNotFound);
    };
    thread_entry(tx, c.id, p, msg.received_at.timestamp_millis()).await?;
    crate::workflow::verdict::record(tx, &c, rating, msg.channel, now).await?;
    Ok(Committed {
        register_no: c.register_no,
        tracking_code: c.tracking_code,
        disposition: Disposition::Threaded,
    })
}

/// A short inbound message (a status query, a verdict) kept in complaint `complaint_id`'s
/// thread at `at`.
async fn thread_entry(tx: &mut Tx, complaint_id: i64, p: &Prepared, at: i64) -> sqlx::Result<()> {
    let msg = &p.msg;
    register::intake::insert_inbound(
        tx,
        complaint_id,
        &register::intake::Inbound {
            channel: msg.channel,
            external_id: &msg.external_id,
            sender: msg.sender.to_key(),
            subject: "",
            body: &p.text,
            raw_sha256: None,
            provider_message_id: msg.hints.message_id.as_deref(),
            auto_generated: false,
            parse_error: None,
            created_at: at,
        },
    )
    .await?;
    Ok(())
}

/// How long the same mail (Message-ID, sender, text) delivered again counts as a duplicate.
const ALIAS_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

/// Was the message registered before (or, for mail, the same mail delivered again through
/// another alias within a week: it differs in its raw bytes but not in its Message-ID, sender
/// and text), and whose identity is its proven sender.
pub(super) async fn lookup(tx: &mut Tx, p: &Prepared) -> sqlx::Result<register::intake::Known> {
    let msg = &p.msg;
    let redelivery = match (msg.channel, msg.hints.message_id.as_deref()) {
        (ChannelKind::Email, Some(mid)) => Some(register::intake::Redelivery {
            message_id: mid,
            sender: msg.sender.to_key(),
            body: &p.text,
            since: msg.received_at.timestamp_millis() - ALIAS_WINDOW_MS,
        }),
        _ => None,
    };
    register::intake::known(
        tx,
        msg.channel,
        &msg.external_id,
        p.identity.as_deref().unwrap_or_default(),
        redelivery,
    )
    .await
}

/// The complainant whose identity the message's proven sender is, or a new one (linked to that
/// identity). Messages without a proven sender (web form, counter) get a complainant of their
/// own: what they typed is never matched against anyone.
pub(super) async fn resolve_complainant(
    tx: &mut Tx,
    p: &Prepared,
    known: Option<i64>,
    now: i64,
) -> sqlx::Result<i64> {
    let name = p.msg.display_name.clone().unwrap_or_default();
    if let Some(id) = known {
        if !name.is_empty() {
            register::intake::name_complainant(tx, id, &name).await?;
        }
        return Ok(id);
    }
    register::intake::new_complainant(tx, &name, p.identity.as_deref(), now).await
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
pub(super) async fn find_thread(
    core: &Core,
    tx: &mut Tx,
    p: &Prepared,
    complainant_id: i64,
) -> sqlx::Result<Option<Complaint>> {
    let msg = &p.msg;
    // A sender the channel failed to prove joins nothing, not even by reply headers (a
    // forger who learnt one of our Message-IDs would reopen or extend the thread).
    if msg.sender_unproven.is_some() {
        return Ok(None);
    }
    register::intake::open_complaint_for(
        tx,
        core.db.backend,
        &register::intake::Threading {
            channel: msg.channel,
            references: &msg.hints.references,
            identity: p.identity.as_deref(),
            register_numbers: &p.reg_numbers,
            conversation: msg.hints.conversation.as_deref(),
            complainant_id,
        },
    )
    .await
}

pub(super) async fn create_complaint(
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
    let registered = crate::workflow::clock::instant(now);
    let year = crate::sla::local_date(registered, s.offset).year();
    let register_no = register::next_register_no(tx, &s.register_prefix, year).await?;
    let registered_ms = registered.timestamp_millis();
    let whole = crate::workflow::clock::whole(core, registered_ms, &[], registered_ms);
    let step_due_at = crate::workflow::clock::step_due(core, Status::Registered, 0, registered_ms);
    let subject = msg
        .subject
        .clone()
        .filter(|x| !x.trim().is_empty())
        .unwrap_or_else(|| first_line(&p.text));
    let lang = msg.lang.unwrap_or(s.language);
    let name = msg.display_name.clone().unwrap_or_default();
    // A confidential complaint's text is indexed once its contacts are stored
    // (`register::identity::index`), with the name apart.
    let search = if msg.confidential {
        register_no.to_lowercase()
    } else {
        format!(
            "{} {} {} {}",
            register_no.to_lowercase(),
            register::fold(&subject),
            register::fold(&name),
            search_fragment(&p.text)
        )
    };
    let mut c = Complaint {
        id: 0,
        register_no,
        tracking_code: register::tracking_code(),
        complainant_id,
        complainant_name: name,
        channel: msg.channel,
        medium: msg.medium,
        reply_to: msg.sender.to_key(),
        subject,
        status: Status::Registered,
        assignee_id: None,
        lang,
        auto_generated: msg.auto_generated,
        flagged,
        draft_answer: None,
        draft_version: 0,
        received_at: registered_ms,
        due_date: whole.due_date,
        due_at: whole.due_at,
        answered_at: None,
        closed_at: None,
        updated_at: now,
        step_started_at: Some(registered_ms),
        step_due_at,
        calendar_gap: whole.calendar_gap,
        close_reason: None,
        handed_over_to: None,
        rating: None,
        rating_asked_at: None,
        unit: None,
        instruction: None,
        merged_into: None,
        confidential: msg.confidential,
    };
    c.id = register::intake::insert_complaint(
        tx,
        &register::intake::NewComplaint {
            complaint: &c,
            conversation: msg.hints.conversation.as_deref(),
            search_text: search,
            sent_at: msg.received_at.timestamp_millis(),
        },
    )
    .await?;
    Ok(c)
}

/// Queues the receipt of a new complaint: through its own channel to its sender, and for web
/// and counter complaints to the contacts given with it. Nothing is queued for an
/// auto-generated message, nor to an address that already had `ack_limit_per_hour` receipts
/// in the last hour (a typed address included: the form cannot make the office flood anyone).
pub(super) async fn acknowledge(
    core: &Core,
    tx: &mut Tx,
    c: &Complaint,
    p: &Prepared,
    now: i64,
) -> sqlx::Result<()> {
    let msg = &p.msg;
    if msg.auto_generated {
        return ack_suppressed(core, tx, c, Suppressed::AutoGenerated, now).await;
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
            let sent = register::intake::receipts_since(tx, &to.to_key(), now - 3_600_000).await?;
            if sent >= limit {
                ack_suppressed(core, tx, c, Suppressed::RateLimit, now).await?;
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

pub(super) async fn ack_suppressed(
    core: &Core,
    tx: &mut Tx,
    c: &Complaint,
    why: Suppressed,
    now: i64,
) -> sqlx::Result<()> {
    let event = AuditEvent::AckSuppressed { why };
    audit::write(tx, &Entry::new(Some(c.id), Actor::System, event, now)).await?;
    core.metrics.ack_suppressed();
    Ok(())
}

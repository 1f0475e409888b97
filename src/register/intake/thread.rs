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
    thread_entry(tx, c.id, p, now).await?;
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
    sqlx::query(
        "INSERT INTO messages (complaint_id, direction, channel, external_id, sender, subject, body, \
         provider_message_id, created_at) VALUES ($1, 'in', $2, $3, $4, '', $5, $6, $7)",
    )
    .bind(complaint_id)
    .bind(msg.channel.as_str())
    .bind(&msg.external_id)
    .bind(msg.sender.to_key())
    .bind(&p.text)
    .bind(msg.hints.message_id.clone())
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) struct Lookup {
    pub(super) duplicate: Option<(String, String)>,
    /// The complainant whose identity the proven sender is.
    pub(super) complainant: Option<i64>,
}

/// How long the same mail (Message-ID, sender, text) delivered again counts as a duplicate.
const ALIAS_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

pub(super) async fn lookup(tx: &mut Tx, p: &Prepared) -> sqlx::Result<Lookup> {
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
    let mut duplicate = opt_str(&r, "dup");
    // The same mail delivered twice — to two of the office's aliases (To and Cc), or again with
    // other `Received` lines — differs in its raw bytes but not in its Message-ID, sender and
    // text: within a week, it is the message registered before.
    if let (None, ChannelKind::Email, Some(mid)) =
        (&duplicate, msg.channel, msg.hints.message_id.as_deref())
    {
        duplicate = sqlx::query_scalar(
            "SELECT c.register_no || ' ' || c.tracking_code FROM messages m \
             JOIN complaints c ON c.id = m.complaint_id WHERE m.channel = 'email' \
             AND m.provider_message_id = $1 AND m.direction = 'in' AND m.sender = $2 \
             AND m.body = $3 AND m.created_at >= $4 ORDER BY m.id LIMIT 1",
        )
        .bind(mid)
        .bind(msg.sender.to_key())
        .bind(&p.text)
        .bind(msg.received_at.timestamp_millis() - ALIAS_WINDOW_MS)
        .fetch_optional(&mut **tx)
        .await?;
    }
    let duplicate = duplicate.and_then(|d| {
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
pub(super) async fn resolve_complainant(
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
            return <Complaint as sqlx::FromRow<sqlx::any::AnyRow>>::from_row(&row).map(Some);
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
            return <Complaint as sqlx::FromRow<sqlx::any::AnyRow>>::from_row(&row).map(Some);
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
            return <Complaint as sqlx::FromRow<sqlx::any::AnyRow>>::from_row(&row).map(Some);
        }
    }
    Ok(None)
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
    let registered = core.clock.now();
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
    let row = sqlx::query(
        "INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, medium, reply_to, \
         conversation, subject, status, is_open, lang, auto_generated, flagged, received_at, due_date, \
         due_at, updated_at, search_text, sent_at, step_started_at, step_due_at, clock_started_at, \
         calendar_gap, confidential) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $13, $19, $13, $20, $21) \
         RETURNING id",
    )
    .bind(&c.register_no)
    .bind(&c.tracking_code)
    .bind(complainant_id)
    .bind(c.channel.as_str())
    .bind(c.medium.map(|m| m.as_str()))
    .bind(&c.reply_to)
    .bind(msg.hints.conversation.clone())
    .bind(&c.subject)
    .bind(c.status.as_str())
    .bind(c.lang.as_str())
    .bind(c.auto_generated as i64)
    .bind(c.flagged.clone())
    .bind(c.received_at)
    .bind(&c.due_date)
    .bind(c.due_at)
    .bind(now)
    .bind(search)
    .bind(msg.received_at.timestamp_millis())
    .bind(c.step_due_at)
    .bind(c.calendar_gap)
    .bind(i64::from(c.confidential))
    .fetch_one(&mut **tx)
    .await?;
    c.id = row.try_get("id")?;
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

pub(super) async fn ack_suppressed(
    core: &Core,
    tx: &mut Tx,
    c: &Complaint,
    why: &str,
) -> sqlx::Result<()> {
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

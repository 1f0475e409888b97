//! What an action or a clock does besides moving the status: the whole clock resumed, the
//! office's letters issued, the complainant told, an incomplete file closed when its time ran
//! out, a late step escalated.

use super::*;
use crate::db::now_ms;

/// Ends the wait for the citizen: the pause closes and, unless the complaint ends, the whole
/// clock runs on — afresh from `now` when the file was returned at its first check (the clock
/// starts with the complete file), else moved by the working time it waited.
pub(crate) async fn resume_whole_clock(
    core: &Core,
    tx: &mut crate::db::Tx,
    complaint_id: i64,
    now: i64,
    ends: bool,
) -> sqlx::Result<()> {
    let from = register::clock::resume(tx, complaint_id, now).await?;
    if ends {
        return Ok(());
    }
    let start = if from == Some(Status::Registered) {
        now
    } else {
        register::clock::clock_started_at(tx, complaint_id).await?
    };
    let pauses = register::clock::pauses_since(tx, complaint_id, start).await?;
    let w = clock::whole(core, start, &pauses, now);
    register::clock::set_whole_clock(tx, complaint_id, &w).await
}

/// Numbers and renders one of the office's letters for complaint `c`, keeps it in the
/// register, and returns its number and the PDF to send.
pub(crate) async fn issue_letter(
    core: &Core,
    tx: &mut crate::db::Tx,
    c: &Complaint,
    kind: LetterKind,
    body: &str,
    now: i64,
) -> sqlx::Result<(String, aduan_channel::Attachment)> {
    let offset = core.settings.offset;
    let date = crate::sla::local_date(clock::instant(now), offset);
    let year = date.year();
    let seq = register::letters::next_letter_seq(tx, year).await?;
    let head = &core.letterhead;
    let format = match kind {
        LetterKind::Answer => &head.config.answer_number,
        LetterKind::Invitation => &head.config.invitation_number,
    };
    let number = crate::letter::format_number(format, seq, date);
    let to = if c.complainant_name.trim().is_empty() {
        "Saudara Pengadu"
    } else {
        c.complainant_name.as_str()
    };
    let pdf = head.render(&Letter {
        kind,
        number: &number,
        date,
        register_no: &c.register_no,
        to,
        // A web complaint's letter also reaches addresses anyone could type into the form:
        // it quotes nothing the submitter wrote but the name.
        subject: (c.channel != aduan_channel::ChannelKind::Web).then_some(c.subject.as_str()),
        received: crate::sla::local_date(clock::instant(c.received_at), offset),
        channel: c.channel.words(aduan_channel::Lang::Id),
        body,
    });
    register::letters::record(
        tx,
        &register::letters::NewLetter {
            complaint_id: c.id,
            kind,
            year,
            seq,
            number: &number,
            pdf: &pdf,
            signer: &head.signer(),
            at: now,
        },
    )
    .await?;
    let file = aduan_channel::Attachment {
        filename: kind.filename(&c.register_no),
        content_type: "application/pdf".into(),
        data: pdf,
    };
    Ok((number, file))
}

/// Queues a message of `kind` to the complainant through the reply targets.
pub(super) async fn tell_complainant(
    core: &Core,
    tx: &mut crate::db::Tx,
    c: &Complaint,
    kind: Kind,
    text: &str,
    attachments: &[aduan_channel::Attachment],
) -> sqlx::Result<()> {
    let targets = register::reply_targets(tx, core, c).await?;
    register::enqueue(
        tx,
        core,
        c,
        &Outgoing {
            kind,
            text,
            subject: "",
            automatic: false,
            attachments,
        },
        &targets,
        None,
    )
    .await?;
    Ok(())
}

/// Closes a returned file whose completion deadline passed, with notice to the complainant
/// (the clock sweep; `false` if it was completed or closed meanwhile).
pub(crate) async fn close_expired(
    core: &Core,
    d: &register::clock::DueStep,
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = core.db.begin().await?;
    let Some(c) = register::complaint_for_update(&mut tx, &d.register_no).await? else {
        return Ok(false);
    };
    if c.status != Status::Incomplete || c.step_due_at != Some(d.step_due_at) {
        return Ok(false);
    }
    let changed = register::change_status(
        &mut tx,
        c.id,
        &register::StatusChange {
            from: c.status,
            to: Status::Closed,
            assignee_id: c.assignee_id,
            draft_answer: c.draft_answer.as_deref(),
            draft_version: c.draft_version,
            step_due_at: None,
            close_reason: Some(crate::register::domain::CloseReason::NotCompleted),
            now,
        },
    )
    .await?;
    if !changed {
        return Ok(false);
    }
    register::clock::resume(&mut tx, c.id, now).await?;
    let deadline = core.procedure.completion_deadline;
    let event = AuditEvent::ClosedIncomplete {
        within: deadline.to_string(),
    };
    let entry = Entry::new(Some(c.id), Actor::System, event, now)
        .moving(Some(Status::Incomplete), Some(Status::Closed));
    audit::write(&mut tx, &entry).await?;
    let updated = register::complaint_by_id(&mut tx, c.id).await?;
    tell_complainant(core, &mut tx, &updated, Kind::ClosedIncomplete, "", &[]).await?;
    tx.commit().await?;
    core.metrics.auto_closed();
    core.outbox_wake.notify_waiters();
    Ok(true)
}

/// Records that a step passed its standard: once, in the audit trail and `/metrics`, naming
/// the step's owner and the owner's superior (officer notifications build on this).
pub(crate) async fn escalate(core: &Core, d: &register::clock::DueStep) -> sqlx::Result<bool> {
    let mut tx = core.db.begin().await?;
    if !register::clock::mark_escalated(&mut tx, d.id, d.step_due_at).await? {
        return Ok(false);
    }
    let owner = core.procedure.step(d.status).map(|s| s.role);
    let event = AuditEvent::Escalated {
        step: d.status,
        owner,
        superior: owner.and_then(Role::superior),
    };
    let entry = Entry::new(Some(d.id), Actor::System, event, now_ms()).moving(Some(d.status), None);
    audit::write(&mut tx, &entry).await?;
    tx.commit().await?;
    core.metrics.escalated();
    Ok(true)
}

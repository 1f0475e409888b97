//! An officer's desk work on a complaint that does not move it through the procedure: the
//! counter hand-over, assigning and taking, internal notes, replies.

use super::*;

/// Records that the answer was handed over at the counter to `recipient` (the complainant or
/// whom they sent): the complaint is answered now. Only an answer the counter holds ready can
/// be handed over, and only once.
pub async fn record_handover(
    core: &Core,
    officer: &Officer,
    register_no: &str,
    recipient: &str,
) -> Result<Complaint, ActionError> {
    if !HANDOVER_ROLES.contains(&officer.role) {
        return Err(ActionError::Forbidden {
            role: officer.role,
            action: "hand_over",
        });
    }
    let recipient = recipient.split_whitespace().collect::<Vec<_>>().join(" ");
    if recipient.is_empty() || recipient.chars().count() > 120 {
        return Err(ActionError::Invalid(
            "`recipient`: the name of who received the answer (1–120 characters)".into(),
        ));
    }
    let now = core.clock.now().timestamp_millis();
    let mut tx = core.db.begin().await?;
    let c = register::complaint_for_update(&mut tx, register_no)
        .await?
        .ok_or_else(|| ActionError::NotFound(register_no.to_string()))?;
    if !register::outbox::handover_waiting(&mut tx, c.id).await? {
        return Err(ActionError::Invalid(
            "there is no answer waiting at the counter for this complaint, or it was handed \
             over already"
                .into(),
        ));
    }
    register::outbox::record_handover(&mut tx, c.id, &recipient, now).await?;
    let event = AuditEvent::HandOver {
        recipient: recipient.clone(),
    };
    audit::write(
        &mut tx,
        &Entry::new(Some(c.id), officer.actor(), event, now),
    )
    .await?;
    let updated = register::complaint_by_id(&mut tx, c.id).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Roles that may assign a complaint to another officer (taking one for oneself is open to
/// every role that acts on it).
pub const ASSIGN_ROLES: &[Role] = &[
    Role::FrontOffice,
    Role::SectionHead,
    Role::DivisionHead,
    Role::HeadOfOffice,
    Role::Admin,
];

/// Assigns an open complaint without moving it: to `to` (a user name), or with `None` to the
/// officer themself (*Ambil*). Taking needs a role that acts on the complaint's step, or
/// membership of the unit it was disposed to; assigning others needs one of [`ASSIGN_ROLES`].
pub async fn assign(
    core: &Core,
    officer: &Officer,
    register_no: &str,
    to: Option<&str>,
) -> Result<Complaint, ActionError> {
    let to = to
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != officer.username);
    if to.is_some() && !ASSIGN_ROLES.contains(&officer.role) {
        return Err(ActionError::Forbidden {
            role: officer.role,
            action: "assign",
        });
    }
    let now = core.clock.now().timestamp_millis();
    let mut tx = core.db.begin().await?;
    let c = register::complaint_for_update(&mut tx, register_no)
        .await?
        .ok_or_else(|| ActionError::NotFound(register_no.to_string()))?;
    if c.status.is_final() {
        return Err(wrong_status(core, Action::Dispose, c.status));
    }
    let target = match to {
        Some(who) => register::officers::active_id(&mut tx, who)
            .await?
            .ok_or_else(|| ActionError::Invalid(format!("no active officer `{who}`")))?,
        None => {
            let acts = !available(core, c.status, officer.role).is_empty();
            let in_unit = register::workspace::in_unit_of(&mut tx, officer.id, c.id).await?;
            if !acts && !in_unit && !ASSIGN_ROLES.contains(&officer.role) {
                return Err(ActionError::Forbidden {
                    role: officer.role,
                    action: "take",
                });
            }
            officer.id
        }
    };
    register::workspace::assign(&mut tx, c.id, Some(target), now).await?;
    let event = match to {
        Some(to) => AuditEvent::Assign { to: to.to_string() },
        None => AuditEvent::Take,
    };
    audit::write(
        &mut tx,
        &Entry::new(Some(c.id), officer.actor(), event, now),
    )
    .await?;
    let updated = register::complaint_by_id(&mut tx, c.id).await?;
    tx.commit().await?;
    Ok(updated)
}

/// The longest internal note, in characters.
pub const NOTE_MAX_CHARS: usize = 10_000;

/// Adds an internal note: kept with the complaint for officers, never sent, never published.
pub async fn add_note(
    core: &Core,
    officer: &Officer,
    register_no: &str,
    body: &str,
) -> Result<(), ActionError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > NOTE_MAX_CHARS {
        return Err(ActionError::Invalid(format!(
            "`body`: the note's text (1–{NOTE_MAX_CHARS} characters)"
        )));
    }
    let now = core.clock.now().timestamp_millis();
    let mut tx = core.db.begin().await?;
    let c = register::complaint_by_no(&mut *tx, register_no)
        .await?
        .ok_or_else(|| ActionError::NotFound(register_no.to_string()))?;
    register::workspace::add_note(&mut tx, c.id, officer.id, body, now).await?;
    let entry = Entry::new(Some(c.id), officer.actor(), AuditEvent::Note, now);
    audit::write(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Queues a free-form reply to the complainant through the originating channel.
pub async fn reply(
    core: &Core,
    officer: &Officer,
    register_no: &str,
    text: &str,
    attachments: &[aduan_channel::Attachment],
) -> Result<Vec<i64>, ActionError> {
    if !REPLY_ROLES.contains(&officer.role) {
        return Err(ActionError::Forbidden {
            role: officer.role,
            action: "reply",
        });
    }
    if text.trim().is_empty() {
        return Err(ActionError::Invalid("`text` must not be empty".into()));
    }
    let mut tx = core.db.begin().await?;
    let c = register::complaint_by_no(&mut *tx, register_no)
        .await?
        .ok_or_else(|| ActionError::NotFound(register_no.to_string()))?;
    let targets = register::reply_targets(&mut tx, core, &c).await?;
    let ids = register::enqueue(
        &mut tx,
        core,
        &c,
        &Outgoing {
            kind: Kind::Reply,
            text: text.trim(),
            subject: "",
            automatic: false,
            attachments,
        },
        &targets,
        None,
    )
    .await?;
    let event = AuditEvent::Reply {
        messages: ids.len(),
    };
    let now = core.clock.now().timestamp_millis();
    audit::write(
        &mut tx,
        &Entry::new(Some(c.id), officer.actor(), event, now),
    )
    .await?;
    tx.commit().await?;
    core.outbox_wake.notify_waiters();
    Ok(ids)
}

/// Roles that may write to a complainant directly.
/// Roles that record the counter hand-over of an answer: the front office (the counter's
/// officers, seeds 000–004) and the admin.
pub const HANDOVER_ROLES: &[Role] = &[Role::FrontOffice, Role::Admin];

pub const REPLY_ROLES: &[Role] = &[
    Role::FrontOffice,
    Role::SectionHead,
    Role::DivisionHead,
    Role::Admin,
];

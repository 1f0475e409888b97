//! The SOP as a state machine: statuses, the actions that move a complaint between them, and
//! the role allowed to take each. Every action writes the audit trail in the same transaction
//! as its effect; actions that tell the complainant something queue it in the outbox there too.

use serde::Deserialize;

use chrono::Datelike;

use crate::letter::{Letter, LetterKind};
use crate::register::{self, Complaint, Outgoing};
use crate::state::Core;
use crate::templates::Kind;

pub mod calendar;
pub mod clock;
mod identity;
pub use identity::{role_sees_identity, sees_identity, view as identity_view, IDENTITY_ROLES};
pub mod notices;
pub mod procedure;
pub mod verdict;

pub use procedure::Procedure;

pub use crate::register::domain::{Action, DismissReason, Officer, Role, Status};

/// What an officer asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: Action,
    /// The reason, disposition note, review report, answer text or forwarding target.
    #[serde(default)]
    pub note: String,
    /// `dispose`: the officer (username) the complaint is assigned to.
    #[serde(default)]
    pub assignee: Option<String>,
    /// `dispose`: the unit (section or team, by name) the complaint goes to; with or
    /// without an officer. The note is the instruction.
    #[serde(default)]
    pub unit: Option<String>,
    /// `dismiss`: spam, duplicate or robot.
    #[serde(default)]
    pub reason: Option<DismissReason>,
    /// `dismiss` as `duplicate`: the original's register number. The thread moves over and
    /// the sender is told the original's number (without it, dismissal is silent).
    #[serde(default)]
    pub into: Option<String>,
    /// `approve`: the approver's corrected text of the draft. It replaces the draft; the
    /// approvals already given carry over to it (the approver answers for the change, and the
    /// audit trail keeps both versions' hashes).
    #[serde(default)]
    pub draft: Option<String>,
    /// `approve`, `draft_answer`: the version of the draft the officer read
    /// ([`Complaint::draft_version`]); refused when another officer saved a newer one since.
    #[serde(default)]
    pub draft_version: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("complaint {0} not found")]
    NotFound(String),
    #[error("role {role} may not {action}")]
    Forbidden { role: Role, action: &'static str },
    #[error("the next approval of this draft is the {waiting_for}'s, not the {role}'s")]
    NotYourApproval { role: Role, waiting_for: Role },
    #[error("cannot {action} a complaint that is {status} (allowed from: {allowed})")]
    WrongStatus {
        action: &'static str,
        status: Status,
        allowed: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// The officer read version `read` of the draft; version `current` was saved since.
    #[error("the draft changed since it was read (version {read}, now {current}); read it again")]
    StaleDraft { read: i64, current: i64 },
    /// The answer's draft has passed `done` of the `of` approvals its chain needs.
    #[error("the draft has {done} of the {of} approvals it needs; it cannot be sent")]
    Unapproved { done: usize, of: usize },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

fn wrong_status(core: &Core, action: Action, status: Status) -> ActionError {
    ActionError::WrongStatus {
        action: action.as_str(),
        status,
        allowed: core
            .procedure
            .from_statuses(action.target())
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The actions an officer of `role` may take on a complaint in `status` under the office's
/// procedure (approval: whether the chain waits for this role is checked when it is taken).
pub fn available(core: &Core, status: Status, role: Role) -> Vec<Action> {
    let p = &core.procedure;
    Action::iter()
        .filter(|a| {
            let to = a.target();
            if *a == Action::Approve {
                // Approvals are personal: an administrator signs for no one.
                return p.moves_from(status).contains(&to)
                    && p.approvals().iter().any(|x| x.role == role);
            }
            p.permit(status, to, role) == procedure::Permit::Allowed
        })
        .collect()
}

/// Whether an officer of `role` may take `action` on a complaint now in `status`, as
/// [`apply`] would judge role and step (a page checks it before it offers a confirmation).
pub fn check_move(
    core: &Core,
    status: Status,
    role: Role,
    action: Action,
) -> Result<(), ActionError> {
    if available(core, status, role).contains(&action) {
        Ok(())
    } else if core.procedure.role_may_ever(action.target(), role) {
        // The role makes this move, but not from the complaint's step.
        Err(wrong_status(core, action, status))
    } else {
        Err(ActionError::Forbidden {
            role,
            action: action.as_str(),
        })
    }
}

/// Applies an action: checks role and step against the office's procedure, changes the
/// complaint and its clocks, writes the audit trail and queues what the complainant must be
/// told, in one transaction.
pub async fn apply(
    core: &Core,
    officer: &Officer,
    register_no: &str,
    req: &ActionRequest,
    files: &[aduan_channel::Attachment],
) -> Result<Complaint, ActionError> {
    let action = req.action;
    let merge_into = req
        .into
        .as_deref()
        .map(|n| n.trim().to_ascii_uppercase())
        .filter(|n| !n.is_empty());
    if req.draft.is_some() && action != Action::Approve {
        return Err(ActionError::Invalid(
            "`draft` (the corrected text) goes with approve".into(),
        ));
    }
    if merge_into.is_some()
        && (action != Action::Dismiss || req.reason != Some(DismissReason::Duplicate))
    {
        return Err(ActionError::Invalid(
            "`into` (the original) goes with dismiss as a duplicate".into(),
        ));
    }
    let proc = &core.procedure;
    if !proc.role_may_ever(action.target(), officer.role) {
        return Err(ActionError::Forbidden {
            role: officer.role,
            action: action.as_str(),
        });
    }
    if action == Action::RecordFieldReview && files.is_empty() {
        return Err(ActionError::Invalid(
            "the field review's report (BAP) must be attached to record_field_review".into(),
        ));
    }
    if action != Action::RecordFieldReview && !files.is_empty() {
        return Err(ActionError::Invalid(format!(
            "{} takes no files (only record_field_review: the BAP)",
            action.as_str()
        )));
    }
    let note = req.note.trim();
    if action.needs_note() && note.is_empty() {
        return Err(ActionError::Invalid(format!(
            "`note` is required to {}",
            action.as_str()
        )));
    }
    if action == Action::Dismiss && req.reason.is_none() {
        return Err(ActionError::Invalid(
            "`reason` (spam, duplicate or robot) is required to dismiss".into(),
        ));
    }
    let now = core.clock.now().timestamp_millis();
    let mut tx = core.db.begin().await?;
    // A merge locks both complaints first, in id order: two officers merging A into B and B
    // into A at once wait for each other, and the second finds its original closed.
    if let Some(into) = &merge_into {
        register::lock_in_order(&mut tx, &[register_no, into]).await?;
    }
    // Takes the complaint's row lock first: actions on one complaint run one after another.
    let c = register::complaint_for_update(&mut tx, register_no)
        .await?
        .ok_or_else(|| ActionError::NotFound(register_no.to_string()))?;
    let mut to = action.target();
    // A form shows one version of the draft: approving or redrafting another (a newer one
    // saved meanwhile) would undo it.
    if let Some(read) = req.draft_version {
        if read != c.draft_version && matches!(action, Action::Approve | Action::DraftAnswer) {
            return Err(ActionError::StaleDraft {
                read,
                current: c.draft_version,
            });
        }
    }
    let mut draft_version = if action == Action::DraftAnswer {
        c.draft_version + 1
    } else {
        c.draft_version
    };
    // Approvals: the next stage of the chain, bound to the draft's version and hash.
    let mut approval = None;
    let mut edited_draft: Option<String> = None;
    if action == Action::Approve {
        if !proc.moves_from(c.status).contains(&to) {
            return Err(wrong_status(core, action, c.status));
        }
        let draft = c.draft_answer.clone().unwrap_or_default();
        let hash = register::sha256_hex(draft.as_bytes());
        let done =
            register::clock::approvals_done(&mut tx, c.id, c.draft_version, &hash).await? as usize;
        let chain = proc.approvals();
        if let Some(stage) = chain.get(done) {
            if officer.role != stage.role {
                return Err(ActionError::NotYourApproval {
                    role: officer.role,
                    waiting_for: stage.role,
                });
            }
        }
        // The approver's correction: a new version, the chain so far carried over to it.
        let edited = req
            .draft
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty() && *d != draft.trim());
        let (_, hash) = match edited {
            Some(new) => {
                let new_hash = register::sha256_hex(new.as_bytes());
                draft_version = c.draft_version + 1;
                register::clock::carry_approvals(
                    &mut tx,
                    c.id,
                    (c.draft_version, &hash),
                    (draft_version, &new_hash),
                )
                .await?;
                register::audit_at(
                    &mut tx,
                    Some(c.id),
                    Some(officer.id),
                    &officer.username,
                    "draft_edited",
                    None,
                    None,
                    &format!(
                        "draft sha256:{} replaced by sha256:{} before approval",
                        &hash[..16],
                        &new_hash[..16]
                    ),
                    now,
                )
                .await?;
                edited_draft = Some(new.to_string());
                (new.to_string(), new_hash)
            }
            None => (draft, hash),
        };
        let Some(stage) = chain.get(done) else {
            return Err(wrong_status(core, action, c.status));
        };
        if officer.role != stage.role {
            return Err(ActionError::NotYourApproval {
                role: officer.role,
                waiting_for: stage.role,
            });
        }
        let recorded = register::clock::record_approval(
            &mut tx,
            &register::clock::NewApproval {
                complaint_id: c.id,
                draft_version,
                draft_sha256: &hash,
                stage: done as i64,
                role: stage.role,
                kind: stage.kind.as_str(),
                officer_id: officer.id,
                at: now,
            },
        )
        .await?;
        if !recorded {
            return Err(wrong_status(core, action, c.status));
        }
        if done + 1 < chain.len() {
            to = Status::AnswerDrafted;
        }
        approval = Some((done + 1, stage.kind, hash));
    } else {
        match proc.permit(c.status, to, officer.role) {
            procedure::Permit::Allowed => {}
            procedure::Permit::WrongRole => {
                return Err(ActionError::Forbidden {
                    role: officer.role,
                    action: action.as_str(),
                });
            }
            procedure::Permit::NotFromHere => return Err(wrong_status(core, action, c.status)),
        }
    }
    let mut assignee_id = c.assignee_id;
    let mut unit = None;
    if action == Action::Dispose {
        let who = req.assignee.as_deref().filter(|a| !a.trim().is_empty());
        let to_unit = req.unit.as_deref().filter(|u| !u.trim().is_empty());
        if who.is_none() && to_unit.is_none() {
            return Err(ActionError::Invalid(
                "dispose to a `unit` (section or team) or an `assignee` (an officer's username)"
                    .into(),
            ));
        }
        if let Some(who) = who {
            let id = register::officers::active_id(&mut tx, who)
                .await?
                .ok_or_else(|| ActionError::Invalid(format!("no active officer `{who}`")))?;
            assignee_id = Some(id);
        }
        if let Some(name) = to_unit {
            let id = register::units::active_id(&mut tx, name)
                .await?
                .ok_or_else(|| ActionError::Invalid(format!("no active unit `{name}`")))?;
            unit = Some((id, name.trim().to_string()));
        }
    }
    // A merge: the original must be another complaint, still open.
    let original = match &merge_into {
        None => None,
        Some(no) if *no == c.register_no => {
            return Err(ActionError::Invalid(
                "a complaint cannot be merged into itself".into(),
            ))
        }
        Some(no) => match register::complaint_by_no(&mut *tx, no).await? {
            Some(o) if o.confidential != c.confidential => {
                return Err(ActionError::Invalid(format!(
                    "{no} and {} differ in confidentiality: a confidential complaint is never \
                     merged with another kind",
                    c.register_no
                )))
            }
            Some(o)
                if o.complainant_id != c.complainant_id
                    && register::has_identity(&mut tx, &[o.complainant_id, c.complainant_id])
                        .await? =>
            {
                return Err(ActionError::Invalid(format!(
                    "{no} is another complainant's: a duplicate is merged only into its own \
                     complainant's complaint"
                )))
            }
            Some(o) if !o.status.is_final() => Some(o),
            Some(_) => {
                return Err(ActionError::Invalid(format!(
                    "{no} is closed: merge into an open original"
                )))
            }
            None => return Err(ActionError::Invalid(format!("no complaint {no}"))),
        },
    };
    let draft = if action == Action::DraftAnswer {
        Some(note.to_string())
    } else if edited_draft.is_some() {
        edited_draft
    } else {
        c.draft_answer.clone()
    };
    if action == Action::SendAnswer && draft.as_deref().unwrap_or("").is_empty() {
        return Err(ActionError::Invalid(
            "there is no approved answer to send".into(),
        ));
    }
    // What is sent is what the whole chain approved: checked here, in the sending
    // transaction, whatever the procedure's moves allow.
    if action == Action::SendAnswer && !proc.approvals().is_empty() {
        let hash = register::sha256_hex(draft.as_deref().unwrap_or("").as_bytes());
        let done =
            register::clock::approvals_done(&mut tx, c.id, c.draft_version, &hash).await? as usize;
        if done < proc.approvals().len() {
            return Err(ActionError::Unapproved {
                done,
                of: proc.approvals().len(),
            });
        }
    }
    let approvals_done = approval.as_ref().map_or(0, |a| a.0);
    let changed = register::change_status(
        &mut tx,
        c.id,
        &register::StatusChange {
            from: c.status,
            to,
            assignee_id,
            draft_answer: draft.as_deref(),
            draft_version,
            step_due_at: clock::step_due(core, to, approvals_done, now),
            close_reason: req.reason.map(DismissReason::as_str),
            now,
        },
    )
    .await?;
    // Another officer moved it between our read and this write: theirs stands.
    if !changed {
        let now_status = register::complaint_by_no(&mut *tx, register_no)
            .await?
            .map(|c| c.status)
            .ok_or_else(|| ActionError::NotFound(register_no.to_string()))?;
        return Err(wrong_status(core, action, now_status));
    }
    // The whole clock: paused while waiting for the citizen; a file returned at its first
    // check starts it afresh when complete.
    if to == Status::Incomplete && c.status != Status::Incomplete {
        register::clock::pause(&mut tx, c.id, now, c.status).await?;
    }
    if c.status == Status::Incomplete && to != Status::Incomplete {
        resume_whole_clock(core, &mut tx, c.id, now, to.is_final()).await?;
    }
    if let Some((unit_id, _)) = &unit {
        register::units::dispose_to(&mut tx, c.id, *unit_id, note).await?;
    } else if action == Action::Dispose {
        register::units::dispose_to_officer(&mut tx, c.id, note).await?;
    }
    if action == Action::RecordFieldReview {
        for f in files {
            register::documents::add(&mut tx, c.id, "bap", f, officer.id, now).await?;
        }
    }
    if let Some(o) = &original {
        register::merge_thread(&mut tx, c.id, o.id, &o.register_no).await?;
        register::audit(
            &mut tx,
            Some(o.id),
            Some(officer.id),
            &officer.username,
            "merged_in",
            None,
            None,
            &format!("the thread of duplicate {} moved here", c.register_no),
        )
        .await?;
    }
    let audit_note = match (action, &req.assignee, req.reason, &approval) {
        (Action::Dispose, a, _, _) => {
            let to: Vec<String> = [unit.as_ref().map(|u| format!("unit {}", u.1)), a.clone()]
                .into_iter()
                .flatten()
                .collect();
            format!("to {}: {note}", to.join(" and "))
        }
        (Action::Dismiss, _, _, _) if original.is_some() => format!(
            "duplicate merged into {}",
            original
                .as_ref()
                .map(|o| o.register_no.as_str())
                .unwrap_or("")
        ),
        (Action::RecordFieldReview, _, _, _) => format!(
            "{note} (BAP: {})",
            files
                .iter()
                .map(|f| f.filename.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Action::Dismiss, _, Some(r), _) if note.is_empty() => r.as_str().to_string(),
        (Action::Dismiss, _, Some(r), _) => format!("{}: {note}", r.as_str()),
        (Action::Approve, _, _, Some((n, kind, hash))) => {
            format!(
                "{} {n}/{} of draft sha256:{}",
                kind.as_str(),
                proc.approvals().len(),
                &hash[..16]
            )
        }
        _ => note.to_string(),
    };
    register::audit_at(
        &mut tx,
        Some(c.id),
        Some(officer.id),
        &officer.username,
        action.as_str(),
        Some(c.status.as_str()),
        Some(to.as_str()),
        &audit_note,
        now,
    )
    .await?;
    let tell = match action {
        Action::ReturnIncomplete => Some((Kind::RequestComplete, note.to_string())),
        Action::DecideFieldReview => Some((Kind::Invitation, note.to_string())),
        Action::Dismiss => original
            .as_ref()
            .map(|o| (Kind::Merged, o.register_no.clone())),
        Action::SendAnswer => Some((Kind::Answer, draft.unwrap_or_default())),
        Action::Reject => Some((Kind::Rejected, note.to_string())),
        Action::Forward => Some((Kind::Forwarded, note.to_string())),
        _ => None,
    };
    let updated = register::complaint_by_id(&mut tx, c.id).await?;
    // The answer (seed 004 #8–9) and the field review's invitation (003 #4) go as numbered,
    // signed letters.
    let letter_kind = match action {
        Action::SendAnswer => Some(LetterKind::Answer),
        Action::DecideFieldReview => Some(LetterKind::Invitation),
        _ => None,
    };
    let mut letters = Vec::new();
    if let Some(kind) = letter_kind {
        let text = tell.as_ref().map(|t| t.1.as_str()).unwrap_or("");
        let (number, file) = issue_letter(core, &mut tx, &updated, kind, text, now).await?;
        register::audit(
            &mut tx,
            Some(c.id),
            Some(officer.id),
            &officer.username,
            "letter",
            None,
            None,
            &format!(
                "{} letter {number} signed by {}",
                kind.as_str(),
                core.letterhead.signer()
            ),
        )
        .await?;
        letters.push(file);
    }
    if let Some((kind, text)) = tell {
        tell_complainant(core, &mut tx, &updated, kind, &text, &letters).await?;
    }
    // Closed after its answer: the citizen's verdict is asked, once.
    if action == Action::Close && verdict::asked_on_close(&c) {
        verdict::ask(core, &mut tx, &updated, now).await?;
    }
    let updated = register::complaint_by_id(&mut tx, c.id).await?;
    tx.commit().await?;
    core.outbox_wake.notify_waiters();
    Ok(updated)
}

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
async fn tell_complainant(
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
            close_reason: Some("not_completed"),
            now,
        },
    )
    .await?;
    if !changed {
        return Ok(false);
    }
    register::clock::resume(&mut tx, c.id, now).await?;
    let deadline = core.procedure.completion_deadline;
    register::audit_at(
        &mut tx,
        Some(c.id),
        None,
        "system",
        "close",
        Some(Status::Incomplete.as_str()),
        Some(Status::Closed.as_str()),
        &format!("not completed within {deadline}"),
        now,
    )
    .await?;
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
    let note = match owner {
        Some(o) => match o.superior() {
            Some(sup) => format!(
                "step `{}` passed its standard: owner {o}, superior {sup}",
                d.status
            ),
            None => format!("step `{}` passed its standard: owner {o}", d.status),
        },
        None => format!("step `{}` passed its standard", d.status),
    };
    register::audit(
        &mut tx,
        Some(d.id),
        None,
        "system",
        "escalate",
        Some(d.status.as_str()),
        None,
        &note,
    )
    .await?;
    tx.commit().await?;
    core.metrics.escalated();
    Ok(true)
}

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
    register::audit(
        &mut tx,
        Some(c.id),
        Some(officer.id),
        &officer.username,
        "hand_over",
        None,
        None,
        &format!("answer handed over to {recipient}"),
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
    register::audit_at(
        &mut tx,
        Some(c.id),
        Some(officer.id),
        &officer.username,
        if to.is_some() { "assign" } else { "take" },
        None,
        None,
        to.unwrap_or(&officer.username),
        now,
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
    register::audit_at(
        &mut tx,
        Some(c.id),
        Some(officer.id),
        &officer.username,
        "note",
        None,
        None,
        "",
        now,
    )
    .await?;
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
    register::audit(
        &mut tx,
        Some(c.id),
        Some(officer.id),
        &officer.username,
        "reply",
        None,
        None,
        &format!("{} outbox row(s)", ids.len()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for s in Status::iter() {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Status::AnswerDrafted.as_str(), "answer_drafted");
        assert!("done".parse::<Status>().is_err());
        let finals: Vec<_> = Status::iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            [
                Status::Closed,
                Status::Rejected,
                Status::Forwarded,
                Status::Dismissed
            ]
        );
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert!("kadis".parse::<Role>().is_err());
    }

    #[test]
    fn every_status_but_the_first_has_one_action_leading_to_it() {
        for s in Status::iter().filter(|s| *s != Status::Registered) {
            let n = Action::iter().filter(|a| a.target() == s).count();
            assert_eq!(n, 1, "{s}");
        }
        assert_eq!(Action::to(Status::Registered), Some(Action::Complete));
    }

    #[test]
    fn escalation_goes_up_the_chain_to_the_head() {
        let mut r = Role::FrontOffice;
        let mut seen = vec![r];
        while let Some(up) = r.superior() {
            r = up;
            seen.push(r);
        }
        assert_eq!(
            seen,
            [
                Role::FrontOffice,
                Role::SectionHead,
                Role::DivisionHead,
                Role::Secretary,
                Role::HeadOfOffice
            ]
        );
    }
}

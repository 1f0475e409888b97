//! The SOP as a state machine: statuses, the actions that move a complaint between them, and
//! the role allowed to take each. Every action writes the audit trail in the same transaction
//! as its effect; actions that tell the complainant something queue it in the outbox there too.

use serde::Deserialize;

use chrono::Datelike;

use crate::letter::{Letter, LetterKind};
use crate::register::audit::{self, Actor, AuditEvent, Entry};
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

mod desk;
pub use desk::*;
mod effects;
use effects::tell_complainant;
pub(crate) use effects::{close_expired, escalate, issue_letter, resume_whole_clock};

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
                let event = AuditEvent::DraftEdited {
                    before: format!("sha256:{}", &hash[..16]),
                    after: format!("sha256:{}", &new_hash[..16]),
                };
                let entry = Entry::new(Some(c.id), officer.actor(), event, now);
                audit::write(&mut tx, &entry).await?;
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
            close_reason: req.reason.map(Into::into),
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
        let event = AuditEvent::MergedIn {
            duplicate: c.register_no.clone(),
        };
        audit::write(
            &mut tx,
            &Entry::new(Some(o.id), officer.actor(), event, now),
        )
        .await?;
    }
    let event = match (action, req.reason, &approval) {
        (Action::Dispose, _, _) => AuditEvent::Disposed {
            unit: unit.as_ref().map(|u| u.1.clone()),
            assignee: req.assignee.clone().filter(|a| !a.trim().is_empty()),
            instruction: note.to_string(),
        },
        (Action::Dismiss, Some(reason), _) => AuditEvent::Dismissed {
            reason,
            note: note.to_string(),
            into: original.as_ref().map(|o| o.register_no.clone()),
        },
        (Action::RecordFieldReview, _, _) => AuditEvent::FieldReviewRecorded {
            findings: note.to_string(),
            bap: files.iter().map(|f| f.filename.clone()).collect(),
        },
        (Action::Approve, _, Some((n, kind, hash))) => AuditEvent::Approved {
            kind: *kind,
            stage: *n,
            of: proc.approvals().len(),
            draft: format!("sha256:{}", &hash[..16]),
        },
        _ => AuditEvent::Step {
            action,
            note: note.to_string(),
        },
    };
    let entry =
        Entry::new(Some(c.id), officer.actor(), event, now).moving(Some(c.status), Some(to));
    audit::write(&mut tx, &entry).await?;
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
        let event = AuditEvent::Letter {
            kind,
            number,
            signer: core.letterhead.signer().to_string(),
        };
        audit::write(
            &mut tx,
            &Entry::new(Some(c.id), officer.actor(), event, now),
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

//! The SOP as a state machine: statuses, the actions that move a complaint between them, and
//! the role allowed to take each. Every action writes the audit trail in the same transaction
//! as its effect; actions that tell the complainant something queue it in the outbox there too.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::db::now_ms;
use crate::register::{self, Complaint, Outgoing};
use crate::state::Core;
use crate::templates::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    FrontOffice,
    SectionHead,
    TechnicalTeam,
    DivisionHead,
    HeadOfOffice,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::FrontOffice,
        Role::SectionHead,
        Role::TechnicalTeam,
        Role::DivisionHead,
        Role::HeadOfOffice,
        Role::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::FrontOffice => "front_office",
            Role::SectionHead => "section_head",
            Role::TechnicalTeam => "technical_team",
            Role::DivisionHead => "division_head",
            Role::HeadOfOffice => "head_of_office",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role `{s}` (front_office, section_head, technical_team, division_head, head_of_office, admin)")
            })
    }
}

/// The statuses a complaint moves through, as stored in the register (`snake_case`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    Registered,
    Incomplete,
    Verified,
    Disposed,
    FieldReviewed,
    AnswerDrafted,
    AnswerApproved,
    Answered,
    Closed,
    Rejected,
    Forwarded,
}

impl Status {
    /// Every status, in the order of the procedure.
    pub fn iter() -> impl Iterator<Item = Status> + Clone {
        <Status as strum::IntoEnumIterator>::iter()
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the complaint is no longer open (new messages open a new complaint).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Rejected | Status::Forwarded)
    }

    /// The stored names, for messages that list them.
    pub fn names() -> String {
        Status::iter()
            .map(Status::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = aduan_channel::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::iter().find(|v| v.as_str() == s).ok_or_else(|| {
            aduan_channel::UnknownValue::new("status", s, Status::iter().map(Status::as_str))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Return as incomplete: asks the complainant to complete it, via the originating channel.
    ReturnIncomplete,
    Verify,
    /// *Disposisi*: assign to an officer with a note.
    Dispose,
    RecordFieldReview,
    DraftAnswer,
    Approve,
    SendAnswer,
    Close,
    Reject,
    Forward,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::ReturnIncomplete,
        Action::Verify,
        Action::Dispose,
        Action::RecordFieldReview,
        Action::DraftAnswer,
        Action::Approve,
        Action::SendAnswer,
        Action::Close,
        Action::Reject,
        Action::Forward,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ReturnIncomplete => "return_incomplete",
            Action::Verify => "verify",
            Action::Dispose => "dispose",
            Action::RecordFieldReview => "record_field_review",
            Action::DraftAnswer => "draft_answer",
            Action::Approve => "approve",
            Action::SendAnswer => "send_answer",
            Action::Close => "close",
            Action::Reject => "reject",
            Action::Forward => "forward",
        }
    }

    /// Roles allowed to take the action (admin may take every action).
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::ReturnIncomplete => &[FrontOffice, SectionHead, Admin],
            Action::Verify => &[SectionHead, Admin],
            Action::Dispose => &[DivisionHead, SectionHead, Admin],
            Action::RecordFieldReview => &[TechnicalTeam, Admin],
            Action::DraftAnswer => &[SectionHead, Admin],
            Action::Approve => &[DivisionHead, HeadOfOffice, Admin],
            Action::SendAnswer => &[FrontOffice, SectionHead, Admin],
            Action::Close => &[FrontOffice, SectionHead, HeadOfOffice, Admin],
            Action::Reject => &[SectionHead, DivisionHead, Admin],
            Action::Forward => &[SectionHead, DivisionHead, Admin],
        }
    }

    pub fn allowed(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// Statuses the action may be taken from, and the status it leads to.
    pub fn transition(self) -> (&'static [Status], Status) {
        use Status::*;
        match self {
            Action::ReturnIncomplete => (&[Registered, Verified], Incomplete),
            Action::Verify => (&[Registered], Verified),
            Action::Dispose => (&[Verified, FieldReviewed, Disposed], Disposed),
            Action::RecordFieldReview => (&[Verified, Disposed], FieldReviewed),
            Action::DraftAnswer => (
                &[Verified, Disposed, FieldReviewed, AnswerDrafted],
                AnswerDrafted,
            ),
            Action::Approve => (&[AnswerDrafted], AnswerApproved),
            Action::SendAnswer => (&[AnswerApproved], Answered),
            Action::Close => (&[Answered, Incomplete], Closed),
            Action::Reject => (&[Registered, Incomplete, Verified, Disposed], Rejected),
            Action::Forward => (&[Registered, Verified, Disposed], Forwarded),
        }
    }

    /// The statuses [`Action::transition`] allows it from, named.
    fn allowed_from(self) -> String {
        self.transition()
            .0
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Actions that need a note (the reason, the disposition, the review, the answer).
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            Action::ReturnIncomplete
                | Action::Dispose
                | Action::RecordFieldReview
                | Action::DraftAnswer
                | Action::Reject
                | Action::Forward
        )
    }
}

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
}

/// The officer taking an action.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Officer {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[sqlx(try_from = "crate::db::Name<Role>")]
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("complaint {0} not found")]
    NotFound(String),
    #[error("role {role} may not {action}")]
    Forbidden { role: Role, action: &'static str },
    #[error("cannot {action} a complaint that is {status} (allowed from: {allowed})")]
    WrongStatus {
        action: &'static str,
        status: Status,
        allowed: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Applies an action: checks role and status, changes the complaint, writes the audit trail and
/// queues what the complainant must be told, in one transaction.
pub async fn apply(
    core: &Core,
    officer: &Officer,
    register_no: &str,
    req: &ActionRequest,
) -> Result<Complaint, ActionError> {
    let action = req.action;
    if !action.allowed(officer.role) {
        return Err(ActionError::Forbidden {
            role: officer.role,
            action: action.as_str(),
        });
    }
    let note = req.note.trim();
    if action.needs_note() && note.is_empty() {
        return Err(ActionError::Invalid(format!(
            "`note` is required to {}",
            action.as_str()
        )));
    }
    let mut tx = core.db.begin().await?;
    let c = register::complaint_by_no(&mut *tx, register_no)
        .await?
        .ok_or_else(|| ActionError::NotFound(register_no.to_string()))?;
    let (from, to) = action.transition();
    if !from.contains(&c.status) {
        return Err(ActionError::WrongStatus {
            action: action.as_str(),
            status: c.status,
            allowed: action.allowed_from(),
        });
    }
    let now = now_ms();
    let mut assignee_id = c.assignee_id;
    if action == Action::Dispose {
        let who = req.assignee.as_deref().ok_or_else(|| {
            ActionError::Invalid("`assignee` (an officer's username) is required to dispose".into())
        })?;
        let id = register::officers::active_id(&mut tx, who)
            .await?
            .ok_or_else(|| ActionError::Invalid(format!("no active officer `{who}`")))?;
        assignee_id = Some(id);
    }
    let draft = if action == Action::DraftAnswer {
        Some(note.to_string())
    } else {
        c.draft_answer.clone()
    };
    if action == Action::SendAnswer && draft.as_deref().unwrap_or("").is_empty() {
        return Err(ActionError::Invalid(
            "there is no approved answer to send".into(),
        ));
    }
    let changed = register::change_status(
        &mut tx,
        c.id,
        &register::StatusChange {
            from: c.status,
            to,
            assignee_id,
            draft_answer: draft.as_deref(),
            answered: action == Action::SendAnswer,
            now,
        },
    )
    .await?;
    // Another officer moved it between our read and this write: theirs stands.
    if !changed {
        let Some(now_status) = register::complaint_by_no(&mut *tx, register_no)
            .await?
            .map(|c| c.status)
        else {
            return Err(ActionError::NotFound(register_no.to_string()));
        };
        return Err(ActionError::WrongStatus {
            action: action.as_str(),
            status: now_status,
            allowed: action.allowed_from(),
        });
    }
    let audit_note = match (action, &req.assignee) {
        (Action::Dispose, Some(a)) => format!("to {a}: {note}"),
        _ => note.to_string(),
    };
    register::audit(
        &mut tx,
        Some(c.id),
        Some(officer.id),
        &officer.username,
        action.as_str(),
        Some(c.status.as_str()),
        Some(to.as_str()),
        &audit_note,
    )
    .await?;
    let tell = match action {
        Action::ReturnIncomplete => Some((Kind::RequestComplete, note.to_string())),
        Action::SendAnswer => Some((Kind::Answer, draft.unwrap_or_default())),
        Action::Reject => Some((Kind::Rejected, note.to_string())),
        Action::Forward => Some((Kind::Forwarded, note.to_string())),
        _ => None,
    };
    let mut updated = register::complaint_by_id(&mut tx, c.id).await?;
    if let Some((kind, text)) = tell {
        let targets = register::reply_targets(&mut tx, core, &updated).await?;
        register::enqueue(
            &mut tx,
            core,
            &updated,
            &Outgoing {
                kind,
                text: &text,
                subject: "",
                automatic: false,
                attachments: &[],
            },
            &targets,
            None,
        )
        .await?;
        updated = register::complaint_by_id(&mut tx, c.id).await?;
    }
    tx.commit().await?;
    core.outbox_wake.notify_waiters();
    Ok(updated)
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
    fn every_action_leads_somewhere_known_from_known_statuses() {
        for a in Action::ALL {
            let (from, _) = a.transition();
            for f in from {
                assert!(!f.is_final(), "{a:?} leaves a final status {f}");
            }
            assert!(a.allowed(Role::Admin), "admin may {a:?}");
        }
    }

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
            [Status::Closed, Status::Rejected, Status::Forwarded]
        );
    }

    #[test]
    fn sop_roles() {
        assert!(Action::Verify.allowed(Role::SectionHead));
        assert!(!Action::Verify.allowed(Role::FrontOffice));
        assert!(Action::Approve.allowed(Role::DivisionHead));
        assert!(!Action::Approve.allowed(Role::SectionHead));
        assert!(!Action::Approve.allowed(Role::FrontOffice));
        assert!(Action::RecordFieldReview.allowed(Role::TechnicalTeam));
        assert!(!Action::RecordFieldReview.allowed(Role::SectionHead));
        assert_eq!(
            "head_of_office".parse::<Role>().unwrap(),
            Role::HeadOfOffice
        );
        assert!("kadis".parse::<Role>().is_err());
    }

    #[test]
    fn the_whole_sop_path_is_reachable() {
        let path = [
            Action::Verify,
            Action::Dispose,
            Action::RecordFieldReview,
            Action::DraftAnswer,
            Action::Approve,
            Action::SendAnswer,
            Action::Close,
        ];
        let mut status = Status::Registered;
        for a in path {
            let (from, to) = a.transition();
            assert!(from.contains(&status), "{a:?} from {status}");
            status = to;
        }
        assert_eq!(status, Status::Closed);
    }
}

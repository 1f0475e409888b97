//! The domain the register stores, at the bottom of every layer: a complaint's statuses, the
//! officers' roles and actions, why a complaint is dismissed, the office's letters. Each is a
//! closed set with one stored name per value (`snake_case`, through strum and serde).

use serde::{Deserialize, Serialize};

/// The office roles of the SOP tables (SOP.md), and the administrator.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    FrontOffice,
    SectionHead,
    TechnicalTeam,
    DivisionHead,
    /// *Sekretaris*: initials the answer after the division head (seed 004).
    Secretary,
    HeadOfOffice,
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::FrontOffice,
        Role::SectionHead,
        Role::TechnicalTeam,
        Role::DivisionHead,
        Role::Secretary,
        Role::HeadOfOffice,
        Role::Admin,
    ];

    /// The next role up the chain (escalation goes to a step's owner and this role).
    pub fn superior(self) -> Option<Role> {
        match self {
            Role::FrontOffice | Role::TechnicalTeam => Some(Role::SectionHead),
            Role::SectionHead => Some(Role::DivisionHead),
            Role::DivisionHead => Some(Role::Secretary),
            Role::Secretary => Some(Role::HeadOfOffice),
            Role::HeadOfOffice | Role::Admin => None,
        }
    }
}

aduan_channel::closed_set!(Role, "role");

/// The statuses a complaint moves through, as stored in the register (`snake_case`): the steps
/// of the seeds' procedures (which of them an office uses is its procedure,
/// `aduan::workflow::Procedure`) and the ends.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// Received and registered; the file's completeness and truth are checked.
    Registered,
    /// Returned to the complainant to complete: the whole clock is paused.
    Incomplete,
    /// Verified (*verifikasi*).
    Verified,
    /// A field review was decided; the parties are invited and the review held (003 #3–5).
    FieldReview,
    /// The field review's report (BAP) is recorded.
    FieldReviewed,
    /// The study and proposed solution (*telaahan*, 003 #6, 004 #4) is written.
    Studied,
    /// Disposition given (*disposisi*).
    Disposed,
    /// The answer is drafted and goes through the chain of approval.
    AnswerDrafted,
    /// Approved and signed: ready to go to the complainant.
    AnswerApproved,
    Answered,
    Closed,
    Rejected,
    Forwarded,
    /// Closed without writing to the sender: spam, a duplicate, a robot.
    Dismissed,
}

impl Status {
    /// Whether the complaint is no longer open (new messages open a new complaint).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Closed | Status::Rejected | Status::Forwarded | Status::Dismissed
        )
    }

    /// The stored names, for messages that list them.
    pub fn names() -> String {
        Status::iter()
            .map(Status::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

aduan_channel::closed_set!(Status, "status");

/// What officers do to a complaint. Each action leads to one status; where it may be taken
/// from and by whom is the office's procedure (`aduan::workflow::Procedure`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Return as incomplete: asks the complainant to complete it, via the originating channel.
    ReturnIncomplete,
    /// The returned file is complete again: the whole clock runs on.
    Complete,
    Verify,
    /// Decide that a field review is needed (*peninjauan lapangan*).
    DecideFieldReview,
    RecordFieldReview,
    /// Write the study and proposed solution (*telaahan*).
    Study,
    /// *Disposisi*: assign to an officer with an instruction.
    Dispose,
    DraftAnswer,
    /// Initial (*paraf*) or sign the draft, as the next approval of the chain.
    Approve,
    SendAnswer,
    Close,
    Reject,
    Forward,
    /// Close as spam, duplicate or robot, without writing to the sender.
    Dismiss,
}

impl Action {
    /// The status the action leads to.
    pub fn target(self) -> Status {
        match self {
            Action::ReturnIncomplete => Status::Incomplete,
            Action::Complete => Status::Registered,
            Action::Verify => Status::Verified,
            Action::DecideFieldReview => Status::FieldReview,
            Action::RecordFieldReview => Status::FieldReviewed,
            Action::Study => Status::Studied,
            Action::Dispose => Status::Disposed,
            Action::DraftAnswer => Status::AnswerDrafted,
            Action::Approve => Status::AnswerApproved,
            Action::SendAnswer => Status::Answered,
            Action::Close => Status::Closed,
            Action::Reject => Status::Rejected,
            Action::Forward => Status::Forwarded,
            Action::Dismiss => Status::Dismissed,
        }
    }

    /// The action that leads to a status.
    pub fn to(s: Status) -> Option<Action> {
        Action::iter().find(|a| a.target() == s)
    }

    /// Actions that write to the complainant (closing asks for the verdict): officer pages
    /// confirm them first.
    pub fn tells_complainant(self) -> bool {
        matches!(
            self,
            Action::ReturnIncomplete
                | Action::DecideFieldReview
                | Action::SendAnswer
                | Action::Close
                | Action::Reject
                | Action::Forward
        )
    }

    /// Actions that need a note (the reason, the disposition, the review, the answer).
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            Action::ReturnIncomplete
                | Action::DecideFieldReview
                | Action::RecordFieldReview
                | Action::Study
                | Action::Dispose
                | Action::DraftAnswer
                | Action::Reject
                | Action::Forward
        )
    }
}

aduan_channel::closed_set!(Action, "action");

/// Why a complaint was dismissed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DismissReason {
    Spam,
    Duplicate,
    Robot,
}

aduan_channel::closed_set!(DismissReason, "reason");

/// Why a complaint was closed without an answer: dismissed (as spam, a duplicate, a robot's),
/// or returned and not completed in time. Stored by name in `complaints.close_reason`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CloseReason {
    Spam,
    Duplicate,
    Robot,
    /// Returned to the complainant, who did not complete it within the time given.
    NotCompleted,
}

aduan_channel::closed_set!(CloseReason, "close reason");

impl From<DismissReason> for CloseReason {
    fn from(r: DismissReason) -> CloseReason {
        match r {
            DismissReason::Spam => CloseReason::Spam,
            DismissReason::Duplicate => CloseReason::Duplicate,
            DismissReason::Robot => CloseReason::Robot,
        }
    }
}

/// What an outbound message is: the template it was written from, or an officer's notice.
/// Stored by name in `outbox.kind`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OutboxKind {
    Receipt,
    RequestComplete,
    Answer,
    Reply,
    Status,
    Rejected,
    Forwarded,
    ClosedIncomplete,
    RatingRequest,
    RatingLink,
    Invitation,
    Merged,
    /// A notice to an officer (assigned, due, overdue, the heads' digest): a hidden message of
    /// the complaint, never in its thread.
    OfficerNotice,
}

aduan_channel::closed_set!(OutboxKind, "outbox kind");

/// The officer taking an action.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Officer {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[sqlx(try_from = "crate::db::Name<Role>")]
    pub role: Role,
}

impl Officer {
    /// The officer as the audit trail names them.
    pub fn actor(&self) -> crate::audit::Actor<'_> {
        crate::audit::Actor::Officer {
            id: self.id,
            username: &self.username,
        }
    }
}

/// How an approver approves a draft.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ApprovalKind {
    /// *Paraf*: checked and initialled.
    Initial,
    /// Signed: the last approval, which numbers the answer letter.
    Sign,
}

aduan_channel::closed_set!(ApprovalKind, "approval kind");

/// What a letter is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LetterKind {
    /// The answer to the complaint (*surat jawaban*).
    Answer,
    /// The invitation of the parties to the field review (*undangan peninjauan lapangan*).
    Invitation,
}

impl LetterKind {
    /// The letter's subject line (*hal*).
    pub fn subject(self, register_no: &str) -> String {
        match self {
            LetterKind::Answer => format!("Jawaban atas Pengaduan Nomor {register_no}"),
            LetterKind::Invitation => {
                format!("Undangan Peninjauan Lapangan Pengaduan Nomor {register_no}")
            }
        }
    }

    /// The file name the letter is sent and offered under.
    pub fn filename(self, register_no: &str) -> String {
        match self {
            LetterKind::Answer => format!("surat-jawaban-{register_no}.pdf"),
            LetterKind::Invitation => format!("undangan-peninjauan-{register_no}.pdf"),
        }
    }
}

aduan_channel::closed_set!(LetterKind, "letter kind");

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

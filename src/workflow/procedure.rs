//! An office's procedure as configuration: the steps a complaint waits in, who owns each step
//! and its service standard, which moves lead out of it and which roles may make each move, and
//! the chain of approval an answer goes through.
//!
//! The steps are the seeds' vocabulary ([`Status`]: the code knows what each one means — a
//! field review needs its report, an approval binds to the draft, a signature numbers the
//! letter); a profile picks the ones its office uses and sets roles, standards and order.
//! Shipped profiles (`config/procedures/`): `default` (the union in SOP.md), `binjai` (seed
//! 001), `madiun` (002, online), `pagar_alam` (003, with field review) and `lapor` (004).
//! `office.procedure` names one of them or a TOML file of the same shape.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde::Deserialize;

use super::{Action, Role, Status};
use crate::sla::Standard;

/// The procedures shipped inside the binary, by name.
pub const PROFILES: &[(&str, &str)] = &[
    (
        "default",
        include_str!("../../config/procedures/default.toml"),
    ),
    (
        "binjai",
        include_str!("../../config/procedures/binjai.toml"),
    ),
    (
        "madiun",
        include_str!("../../config/procedures/madiun.toml"),
    ),
    (
        "pagar_alam",
        include_str!("../../config/procedures/pagar_alam.toml"),
    ),
    ("lapor", include_str!("../../config/procedures/lapor.toml")),
];

pub use crate::register::domain::ApprovalKind;

/// One approval of the chain: who gives it, and how long they have.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub role: Role,
    pub kind: ApprovalKind,
    pub standard: Option<Standard>,
}

/// A step: a status a complaint waits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub status: Status,
    /// Who works the step: its clock is theirs, escalation goes to them and their superior.
    pub role: Role,
    /// Its service standard; `None` for a step without one.
    pub standard: Option<Standard>,
    /// The moves out of it, each with the roles that may make it (admins may make every move).
    pub next: Vec<(Status, Vec<Role>)>,
    /// The chain of approval (the `answer_drafted` step only): the last approval moves the
    /// complaint to `answer_approved`.
    pub approvals: Vec<Approval>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    pub name: String,
    /// How long a citizen has to complete a returned file; then it closes with notice.
    pub completion_deadline: Standard,
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcedureFile {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    source: String,
    completion_deadline: Standard,
    step: Vec<StepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    status: String,
    role: Role,
    standard: Option<Standard>,
    #[serde(default)]
    next: BTreeMap<String, Vec<Role>>,
    #[serde(default)]
    approval: Vec<Approval>,
}

/// Whether a role may make a move now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    Allowed,
    /// The move exists from this step, but not for this role.
    WrongRole,
    /// The move does not lead out of this step.
    NotFromHere,
}

impl Procedure {
    /// A shipped profile by name, or a TOML file (relative to `base_dir`).
    pub fn load(name: &str, base_dir: Option<&Path>) -> Result<Procedure, String> {
        let text = match PROFILES.iter().find(|(n, _)| *n == name) {
            Some((_, t)) => t.to_string(),
            None => {
                let p = Path::new(name);
                let p = match base_dir {
                    Some(b) if p.is_relative() => b.join(p),
                    _ => p.to_path_buf(),
                };
                std::fs::read_to_string(&p).map_err(|e| {
                    format!(
                        "`{name}` is neither a shipped procedure ({}) nor a readable file: {e}",
                        PROFILES.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
                    )
                })?
            }
        };
        let p = Procedure::parse(&text)?;
        let problems = p.problems();
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The shipped default (the union in SOP.md).
    pub fn default_profile() -> Procedure {
        Procedure::parse(PROFILES[0].1).expect("the shipped default procedure parses")
    }

    /// Reads the TOML shape (without the reachability checks of [`Procedure::problems`]).
    pub fn parse(text: &str) -> Result<Procedure, String> {
        let f: ProcedureFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let status = |s: &str| s.parse::<Status>().map_err(|e| e.to_string());
        let mut steps = Vec::new();
        for s in f.step {
            let mut next = Vec::new();
            for (to, roles) in s.next {
                next.push((status(&to)?, roles));
            }
            steps.push(Step {
                status: status(&s.status)?,
                role: s.role,
                standard: s.standard,
                next,
                approvals: s.approval,
            });
        }
        Ok(Procedure {
            name: f.name,
            completion_deadline: f.completion_deadline,
            steps,
        })
    }

    /// What is wrong with the procedure: every problem, in words an operator can act on.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut seen = BTreeSet::new();
        for s in &self.steps {
            if !seen.insert(s.status.as_str()) {
                p.push(format!("step `{}` is defined twice", s.status));
            }
            if s.status.is_final() {
                p.push(format!(
                    "`{}` ends a complaint and cannot be a step; list it under a step's `next`",
                    s.status
                ));
            }
            if !s.approvals.is_empty() && s.status != Status::AnswerDrafted {
                p.push(format!(
                    "step `{}` has approvals; only `answer_drafted` may",
                    s.status
                ));
            }
            if s.approvals.iter().any(|a| a.role == Role::Admin) {
                p.push(format!(
                    "step `{}`: an approval must belong to an office role, not `admin`",
                    s.status
                ));
            }
            let sign = s
                .approvals
                .iter()
                .position(|a| a.kind == ApprovalKind::Sign);
            if sign.is_some_and(|i| i + 1 != s.approvals.len()) {
                p.push("the signature must be the last approval".into());
            }
            for (to, roles) in &s.next {
                if roles.is_empty() {
                    p.push(format!(
                        "step `{}`: the move to `{to}` has no role",
                        s.status
                    ));
                }
                if !to.is_final() && self.step(*to).is_none() {
                    p.push(format!(
                        "step `{}` leads to `{to}`, which is not a step of this procedure",
                        s.status
                    ));
                }
                if *to == Status::AnswerApproved {
                    p.push(format!(
                        "step `{}`: `answer_approved` is reached through the approvals of `answer_drafted`, not listed in `next`",
                        s.status
                    ));
                }
                if Action::to(*to).is_none() {
                    p.push(format!("no action leads to `{to}`"));
                }
            }
            if s.status == Status::Incomplete && !s.next.iter().any(|(t, _)| *t == Status::Closed) {
                p.push(
                    "step `incomplete` must lead to `closed` (the completion deadline closes it)"
                        .into(),
                );
            }
        }
        if self.step(Status::Registered).is_none() {
            p.push(
                "the procedure needs the step `registered` (where every complaint starts)".into(),
            );
        }
        if !self.approvals().is_empty() && self.step(Status::AnswerApproved).is_none() {
            p.push("`answer_drafted` has approvals, so `answer_approved` must be a step".into());
        }
        // With a chain of approval, the answer leaves only once the chain approved it.
        if !self.approvals().is_empty() {
            for s in &self.steps {
                if s.status != Status::AnswerApproved
                    && s.next.iter().any(|(t, _)| *t == Status::Answered)
                {
                    p.push(format!(
                        "step `{}` sends the answer around the approvals of `answer_drafted`: \
                         only `answer_approved` may lead to `answered`",
                        s.status
                    ));
                }
            }
        }
        // Every step reachable from `registered`; from every step, an end.
        let reach = self.reachable_from(Status::Registered);
        for s in &self.steps {
            if !reach.contains(&s.status) {
                p.push(format!(
                    "step `{}` cannot be reached from `registered`",
                    s.status
                ));
            }
            if !self.reachable_from(s.status).iter().any(|x| x.is_final()) {
                p.push(format!(
                    "from step `{}` no complaint can ever end",
                    s.status
                ));
            }
        }
        if !reach.iter().any(|s| *s == Status::Answered) {
            p.push("no path from `registered` leads to `answered`".into());
        }
        p
    }

    /// The statuses reachable from `from` (itself included).
    fn reachable_from(&self, from: Status) -> BTreeSet<Status> {
        let mut seen = BTreeSet::from([from]);
        let mut todo = VecDeque::from([from]);
        while let Some(s) = todo.pop_front() {
            for to in self.moves_from(s) {
                if seen.insert(to) {
                    todo.push_back(to);
                }
            }
        }
        seen
    }

    /// Where a complaint can go from a status.
    pub fn moves_from(&self, s: Status) -> Vec<Status> {
        let Some(step) = self.step(s) else {
            return Vec::new();
        };
        let mut v: Vec<Status> = step.next.iter().map(|(t, _)| *t).collect();
        if !step.approvals.is_empty() {
            v.push(Status::AnswerApproved);
        }
        v
    }

    pub fn step(&self, s: Status) -> Option<&Step> {
        self.steps.iter().find(|x| x.status == s)
    }

    /// Whether `role` may move a complaint from `from` to `to` (approvals: see
    /// [`Procedure::approval_stage`]).
    pub fn permit(&self, from: Status, to: Status, role: Role) -> Permit {
        let Some(roles) = self
            .step(from)
            .and_then(|s| s.next.iter().find(|(t, _)| *t == to))
            .map(|(_, r)| r)
        else {
            return Permit::NotFromHere;
        };
        if role == Role::Admin || roles.contains(&role) {
            Permit::Allowed
        } else {
            Permit::WrongRole
        }
    }

    /// Whether `role` may move a complaint to `to` from any step (to tell "never yours" from
    /// "not now").
    pub fn role_may_ever(&self, to: Status, role: Role) -> bool {
        role == Role::Admin
            || self.steps.iter().any(|s| {
                s.next
                    .iter()
                    .any(|(t, roles)| *t == to && roles.contains(&role))
                    || (to == Status::AnswerApproved && s.approvals.iter().any(|a| a.role == role))
            })
    }

    /// The statuses an action may be taken from in this procedure.
    pub fn from_statuses(&self, to: Status) -> Vec<Status> {
        self.steps
            .iter()
            .filter(|s| self.moves_from(s.status).contains(&to))
            .map(|s| s.status)
            .collect()
    }

    /// The approval chain of the answer.
    pub fn approvals(&self) -> &[Approval] {
        self.step(Status::AnswerDrafted)
            .map(|s| s.approvals.as_slice())
            .unwrap_or(&[])
    }

    /// The procedure as text (`aduan sla procedure`).
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{}\ncompletion deadline for returned files: {}\n",
            self.name, self.completion_deadline
        );
        for s in &self.steps {
            let std = match (s.status, s.standard) {
                (Status::Incomplete, _) => format!("the citizen's {}", self.completion_deadline),
                (_, Some(x)) => x.to_string(),
                (_, None) => "no standard".to_string(),
            };
            let _ = writeln!(out, "\n{} — {} ({std})", s.status, s.role);
            for (to, roles) in &s.next {
                let roles: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
                let _ = writeln!(out, "  → {to}: {}", roles.join(", "));
            }
            for (i, a) in s.approvals.iter().enumerate() {
                let std = a
                    .standard
                    .map_or("the step's".to_string(), |x| x.to_string());
                let _ = writeln!(
                    out,
                    "  {}. {} by {} ({std})",
                    i + 1,
                    a.kind.as_str(),
                    a.role
                );
            }
        }
        out
    }

    /// Every role the procedure names.
    pub fn roles(&self) -> BTreeSet<Role> {
        let mut r = BTreeSet::new();
        for s in &self.steps {
            r.insert(s.role);
            for (_, roles) in &s.next {
                r.extend(roles.iter().copied());
            }
            r.extend(s.approvals.iter().map(|a| a.role));
        }
        r.remove(&Role::Admin);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_is_valid() {
        for (name, text) in PROFILES {
            let p = Procedure::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.problems(), Vec::<String>::new(), "{name}");
            assert!(Procedure::load(name, None).is_ok());
        }
    }

    #[test]
    fn problems_are_found_and_named() {
        let bad = r#"
name = "broken"
completion_deadline = "14 days"
[[step]]
status = "registered"
role = "front_office"
next = { verified = ["section_head"], closed = [] }
[[step]]
status = "verified"
role = "section_head"
next = { field_reviewed = ["technical_team"] }
[[step]]
status = "studied"
role = "section_head"
next = { closed = ["section_head"] }
[[step]]
status = "closed"
role = "section_head"
"#;
        let p = Procedure::parse(bad).unwrap().problems();
        let all = p.join("\n");
        for want in [
            "the move to `closed` has no role",
            "leads to `field_reviewed`, which is not a step",
            "step `studied` cannot be reached from `registered`",
            "`closed` ends a complaint and cannot be a step",
            "no path from `registered` leads to `answered`",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        // Unknown roles and statuses are refused by name.
        let e = Procedure::parse(&bad.replace("\"technical_team\"", "\"kadis\"")).unwrap_err();
        assert!(e.contains("kadis"), "{e}");
        let e = Procedure::parse(&bad.replace("\"studied\"", "\"pondered\"")).unwrap_err();
        assert!(e.contains("pondered"), "{e}");
        assert!(Procedure::load("nowhere", None)
            .unwrap_err()
            .contains("pagar_alam"));
    }

    /// A procedure with a chain of approval that also lets a drafted answer be sent is
    /// refused: the answer would leave around its approvals.
    #[test]
    fn an_answer_cannot_be_sent_around_the_approvals() {
        let lapor = include_str!("../../config/procedures/lapor.toml");
        assert!(Procedure::parse(lapor).unwrap().problems().is_empty());
        let around = lapor.replacen(
            "answer_drafted = [\"section_head\", \"division_head\", \"secretary\", \"head_of_office\"]",
            "answer_drafted = [\"section_head\", \"division_head\", \"secretary\", \"head_of_office\"]\nanswered = [\"front_office\"]",
            1,
        );
        assert_ne!(around, lapor);
        let all = Procedure::parse(&around).unwrap().problems().join("\n");
        assert!(
            all.contains("step `answer_drafted` sends the answer around the approvals"),
            "{all}"
        );
    }

    #[test]
    fn default_profile_moves_and_roles() {
        let p = Procedure::default_profile();
        use Role::*;
        use Status::*;
        assert_eq!(p.permit(Registered, Verified, SectionHead), Permit::Allowed);
        assert_eq!(
            p.permit(Registered, Verified, FrontOffice),
            Permit::WrongRole
        );
        assert_eq!(p.permit(Registered, Verified, Admin), Permit::Allowed);
        assert_eq!(
            p.permit(Registered, Answered, SectionHead),
            Permit::NotFromHere
        );
        assert_eq!(p.permit(Verified, Disposed, HeadOfOffice), Permit::Allowed);
        assert!(p.role_may_ever(AnswerApproved, Secretary));
        assert!(!p.role_may_ever(AnswerApproved, FrontOffice));
        let chain: Vec<_> = p.approvals().iter().map(|a| (a.role, a.kind)).collect();
        assert_eq!(
            chain,
            [
                (DivisionHead, ApprovalKind::Initial),
                (Secretary, ApprovalKind::Initial),
                (HeadOfOffice, ApprovalKind::Sign)
            ]
        );
    }
}

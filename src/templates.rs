//! Reply templates (receipt, request to complete, answer, status…) in Bahasa Indonesia and
//! English. The shipped ones are embedded; `office.templates_dir` overrides them per file.

use std::collections::HashMap;
use std::path::Path;

use aduan_channel::Lang;
use serde::Deserialize;

use crate::register::domain::OutboxKind;
use crate::workflow::Status;

const ID: &str = include_str!("../config/templates/id.toml");
const EN: &str = include_str!("../config/templates/en.toml");

/// The templates an office writes its messages from (each an [`OutboxKind`] when queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Kind {
    Receipt,
    RequestComplete,
    Answer,
    Reply,
    Status,
    Rejected,
    Forwarded,
    /// A returned file was not completed in time: the complaint is closed.
    ClosedIncomplete,
    /// After closure: the citizen's verdict on the handling, 1–4.
    RatingRequest,
    /// The same question to an address typed into a form: only the coded link (a reply from
    /// an address that is no identity cannot be the verdict).
    RatingLink,
    /// The field review's invitation (the letter attached); `{text}`: when and where.
    Invitation,
    /// A duplicate was merged into its original; `{text}`: the original's register number.
    Merged,
}

aduan_channel::closed_set!(Kind, "template");

impl From<Kind> for OutboxKind {
    fn from(k: Kind) -> OutboxKind {
        match k {
            Kind::Receipt => OutboxKind::Receipt,
            Kind::RequestComplete => OutboxKind::RequestComplete,
            Kind::Answer => OutboxKind::Answer,
            Kind::Reply => OutboxKind::Reply,
            Kind::Status => OutboxKind::Status,
            Kind::Rejected => OutboxKind::Rejected,
            Kind::Forwarded => OutboxKind::Forwarded,
            Kind::ClosedIncomplete => OutboxKind::ClosedIncomplete,
            Kind::RatingRequest => OutboxKind::RatingRequest,
            Kind::RatingLink => OutboxKind::RatingLink,
            Kind::Invitation => OutboxKind::Invitation,
            Kind::Merged => OutboxKind::Merged,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Template {
    subject: String,
    body: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Set {
    receipt: Template,
    request_complete: Template,
    answer: Template,
    reply: Template,
    status: Template,
    rejected: Template,
    forwarded: Template,
    /// Newer than some offices' template files: the shipped one stands in when missing.
    closed_incomplete: Option<Template>,
    rating_request: Option<Template>,
    rating_link: Option<Template>,
    invitation: Option<Template>,
    merged: Option<Template>,
    /// Status words; missing ones are taken from the shipped file.
    statuses: HashMap<Status, String>,
}

impl Set {
    fn get(&self, k: Kind) -> &Template {
        match k {
            Kind::Receipt => &self.receipt,
            Kind::RequestComplete => &self.request_complete,
            Kind::Answer => &self.answer,
            Kind::Reply => &self.reply,
            Kind::Status => &self.status,
            Kind::Rejected => &self.rejected,
            Kind::Forwarded => &self.forwarded,
            Kind::ClosedIncomplete => self.closed_incomplete.as_ref().unwrap_or(&self.forwarded),
            Kind::RatingRequest => self.rating_request.as_ref().unwrap_or(&self.status),
            Kind::RatingLink => self.rating_link.as_ref().unwrap_or(&self.status),
            Kind::Invitation => self.invitation.as_ref().unwrap_or(&self.reply),
            Kind::Merged => self.merged.as_ref().unwrap_or(&self.reply),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Templates {
    id: Set,
    en: Set,
}

/// The values a template may use.
#[derive(Debug, Default)]
pub struct Vars<'a> {
    pub office: &'a str,
    pub name: &'a str,
    pub register_no: &'a str,
    pub tracking_code: &'a str,
    pub due_date: &'a str,
    pub status: &'a str,
    pub text: &'a str,
    pub track_url: &'a str,
    /// The one-question rating page (with the tracking code).
    pub rate_url: &'a str,
    pub subject: &'a str,
}

impl Templates {
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let read = |name: &str, builtin: &str| -> Result<Set, String> {
            let parse = |text: &str| {
                toml::from_str::<Set>(text)
                    .map_err(|e| format!("templates {name}: {}", e.message()))
            };
            let shipped = parse(builtin)?;
            let mut set = match dir.map(|d| d.join(name)) {
                Some(p) if p.exists() => parse(
                    &std::fs::read_to_string(&p)
                        .map_err(|e| format!("cannot read {}: {e}", p.display()))?,
                )?,
                _ => return Ok(shipped),
            };
            // An office's older file lacks what was added since: the shipped words stand in.
            if set.closed_incomplete.is_none() {
                set.closed_incomplete = shipped.closed_incomplete;
            }
            if set.rating_request.is_none() {
                set.rating_request = shipped.rating_request;
            }
            if set.rating_link.is_none() {
                set.rating_link = shipped.rating_link;
            }
            if set.invitation.is_none() {
                set.invitation = shipped.invitation;
            }
            if set.merged.is_none() {
                set.merged = shipped.merged;
            }
            for (k, v) in shipped.statuses {
                set.statuses.entry(k).or_insert(v);
            }
            Ok(set)
        };
        Ok(Templates {
            id: read("id.toml", ID)?,
            en: read("en.toml", EN)?,
        })
    }

    pub fn builtin() -> Templates {
        Templates::load(None).expect("shipped templates parse")
    }

    fn set(&self, lang: Lang) -> &Set {
        match lang {
            Lang::Id => &self.id,
            Lang::En => &self.en,
        }
    }

    /// Renders a template: (subject, body).
    pub fn render(&self, lang: Lang, kind: Kind, v: &Vars<'_>) -> (String, String) {
        let t = self.set(lang).get(kind);
        (fill(&t.subject, v), fill(t.body.trim_end(), v))
    }

    /// A status in words for complainants.
    pub fn status_text(&self, lang: Lang, status: Status) -> String {
        self.set(lang)
            .statuses
            .get(&status)
            .cloned()
            .unwrap_or_else(|| status.to_string())
    }
}

fn fill(t: &str, v: &Vars<'_>) -> String {
    let name = if v.name.trim().is_empty() {
        "Bapak/Ibu"
    } else {
        v.name
    };
    // One pass, so a value that itself contains `{…}` is never expanded again.
    let mut out = String::with_capacity(t.len() + 64);
    let mut rest = t;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let key = &after[..end];
                let val = match key {
                    "office" => Some(v.office),
                    "name" => Some(name),
                    "register_no" => Some(v.register_no),
                    "tracking_code" => Some(v.tracking_code),
                    "due_date" => Some(v.due_date),
                    "status" => Some(v.status),
                    "text" => Some(v.text),
                    "track_url" => Some(v.track_url),
                    "rate_url" => Some(v.rate_url),
                    "subject" => Some(v.subject),
                    _ => None,
                };
                match val {
                    Some(val) => out.push_str(val),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_in_both_languages_carries_the_register_number() {
        let t = Templates::builtin();
        let v = Vars {
            office: "DPMPTSP",
            register_no: "ADU-2026-000042",
            tracking_code: "K7QX2M9P",
            text: "{register_no} stays literal",
            ..Default::default()
        };
        for lang in [Lang::Id, Lang::En] {
            let (s, b) = t.render(lang, Kind::Receipt, &v);
            assert!(s.contains("[ADU-2026-000042]"), "{s}");
            assert!(b.contains("K7QX2M9P"), "{b}");
        }
        let (_, b) = t.render(Lang::Id, Kind::Answer, &v);
        assert!(b.contains("{register_no} stays literal"), "{b}");
        assert!(b.starts_with("Yth. Bapak/Ibu"), "{b}");
        assert_eq!(t.status_text(Lang::Id, Status::Closed), "selesai");
        assert_eq!(t.status_text(Lang::En, Status::Closed), "closed");
    }

    #[test]
    fn every_status_has_words_in_both_shipped_languages() {
        let t = Templates::builtin();
        for lang in [Lang::Id, Lang::En] {
            for s in Status::iter() {
                assert!(t.set(lang).statuses.contains_key(&s), "{lang} {s}");
            }
            assert!(t.set(lang).closed_incomplete.is_some(), "{lang}");
        }
        let bad = ID.replace("[statuses]", "[statuses]\nfinished = \"x\"");
        assert!(
            toml::from_str::<Set>(&bad).is_err(),
            "an unknown status is refused"
        );
    }
}

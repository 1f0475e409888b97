//! The citizen's verdict on how the complaint was handled: the complaint-handling element of
//! the public satisfaction survey (*Survei Kepuasan Masyarakat*, PermenPANRB 14/2017), on its
//! scale 1 tidak baik, 2 kurang baik, 3 baik, 4 sangat baik.
//!
//! Asked once, when an officer closes the complaint, through the channels it is answered by
//! (SMS and WhatsApp "balas 1–4", Telegram buttons, an email link to a one-question page, the
//! tracking page). **The first answer stands**: a later one is kept in the thread and the
//! audit trail, never counted, so a verdict cannot be changed by whoever holds the phone later.

use aduan_channel::{ChannelKind, Lang};

use crate::db::Tx;
use crate::register::audit::{self, Actor, AuditEvent, Entry};
use crate::register::{self, Complaint, Outgoing};
use crate::state::Core;
use crate::templates::Kind;

/// A rating reply counts within this long after the question.
pub const WINDOW_MS: i64 = 30 * 24 * 3_600_000;

/// The scale's words, 1 to 4.
const WORDS_ID: [&str; 4] = ["tidak baik", "kurang baik", "baik", "sangat baik"];
const WORDS_EN: [&str; 4] = ["not good", "fair", "good", "very good"];

/// A rating's words (`3` → `baik`).
pub fn words(rating: i64, lang: Lang) -> &'static str {
    let i = (rating.clamp(1, 4) - 1) as usize;
    lang.pick(WORDS_ID, WORDS_EN)[i]
}

/// The answers as buttons: `1 tidak baik` … `4 sangat baik`.
pub fn choices(lang: Lang) -> Vec<String> {
    (1..=4).map(|n| format!("{n} {}", words(n, lang))).collect()
}

/// A reply that is a rating: one digit 1–4, alone or followed by its words in either language
/// (`4`, `4.`, `3 baik`, `4 - sangat baik`). Anything else is a message, not a rating.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim().to_lowercase();
    let mut chars = t.chars();
    let d = chars.next()?.to_digit(10)? as i64;
    if !(1..=4).contains(&d) {
        return None;
    }
    let rest = chars
        .as_str()
        .trim_matches(|c: char| c.is_whitespace() || ".,:;=-–—)!".contains(c));
    let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    let known = WORDS_ID.iter().chain(WORDS_EN.iter()).any(|w| *w == rest);
    (rest.is_empty() || known).then_some(d)
}

/// The survey's index of a mean score: × 25.
pub fn index(mean: f64) -> f64 {
    mean * 25.0
}

/// The survey's grade of an index: A 88.31–100, B 76.61–88.30, C 65.00–76.60, D 25.00–64.99
/// (compared at two decimals, as the survey writes it).
pub fn grade(index: f64) -> char {
    let x = (index * 100.0).round() / 100.0;
    if x >= 88.31 {
        'A'
    } else if x >= 76.61 {
        'B'
    } else if x >= 65.00 {
        'C'
    } else {
        'D'
    }
}

/// Whether closing `before` (the complaint as it stood) asks the verdict: its answer went out
/// (sent, or handed over at the counter). A complaint closed without an answer — a returned
/// file never completed, closed by hand — is not asked and not in the survey; nor are
/// rejected, forwarded or dismissed ones (they are not closed).
pub fn asked_on_close(before: &Complaint) -> bool {
    before.status == crate::workflow::Status::Answered || before.answered_at.is_some()
}

/// Whether the complaint's verdict was asked (closed after its answer, [`asked_on_close`]).
pub fn rateable(c: &Complaint) -> bool {
    c.status == crate::workflow::Status::Closed
        && c.close_reason.is_none()
        && c.rating_asked_at.is_some()
}

/// Whether a verdict may be given now: the one rule for every channel and the web page — the
/// question was asked, within [`WINDOW_MS`].
pub fn open(c: &Complaint, now: i64) -> bool {
    rateable(c) && c.rating_asked_at.is_some_and(|at| now - at <= WINDOW_MS)
}

/// Asks the complainant for the verdict, in the transaction that closes the complaint: through
/// every reply target but the counter (which cannot carry a question; the tracking page and
/// the counter officer can) and LAPOR! (whose own system asks its users for their rating).
///
/// Typed contacts of web and counter complaints get the coded link only (`rating_link`): a
/// reply from an address that is no identity could not be told from a new complaint.
pub(crate) async fn ask(core: &Core, tx: &mut Tx, c: &Complaint, now: i64) -> sqlx::Result<()> {
    let targets: Vec<_> = register::reply_targets(tx, core, c)
        .await?
        .into_iter()
        .filter(|(k, _)| !matches!(k, ChannelKind::Counter | ChannelKind::Lapor))
        .collect();
    if !targets.is_empty() {
        register::enqueue(
            tx,
            core,
            c,
            &Outgoing {
                kind: Kind::RatingRequest,
                text: "",
                subject: "",
                automatic: true,
                attachments: &[],
            },
            &targets,
            None,
        )
        .await?;
    }
    register::verdicts::asked(tx, c.id, now).await
}

/// Records a verdict unless one is recorded already; `false` then (the first stands). The
/// audit trail has either.
pub async fn record(
    tx: &mut Tx,
    c: &Complaint,
    rating: i64,
    channel: ChannelKind,
    now: i64,
) -> sqlx::Result<bool> {
    use register::verdicts::Recorded;
    let recorded = register::verdicts::record(tx, c.id, rating, channel, now).await?;
    let kept = recorded == Recorded::Kept;
    let event = match recorded {
        Recorded::Kept => AuditEvent::Rated { rating, channel },
        Recorded::FirstStands(first) => AuditEvent::RatedAgain {
            rating,
            channel,
            first,
        },
    };
    let entry = Entry::new(Some(c.id), Actor::Complainant, event, now);
    audit::write(tx, &entry).await?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_a_digit_alone_or_with_its_words() {
        for (t, want) in [
            ("4", Some(4)),
            (" 1 ", Some(1)),
            ("3.", Some(3)),
            ("4 sangat baik", Some(4)),
            ("4 - Sangat  Baik", Some(4)),
            ("2 fair", Some(2)),
            ("5", None),
            ("0", None),
            ("1 lampu jalan mati di gang 3", None),
            ("12", None),
            ("empat", None),
            ("", None),
        ] {
            assert_eq!(parse(t), want, "{t:?}");
        }
        assert_eq!(choices(Lang::Id)[3], "4 sangat baik");
        for c in choices(Lang::Id).iter().chain(choices(Lang::En).iter()) {
            assert!(parse(c).is_some(), "a button's text is a rating: {c}");
        }
    }

    #[test]
    fn index_and_grades_follow_the_survey() {
        assert_eq!(index(3.0), 75.0);
        assert_eq!(index(4.0), 100.0);
        for (i, g) in [
            (100.0, 'A'),
            (88.31, 'A'),
            (88.30, 'B'),
            (76.61, 'B'),
            (76.60, 'C'),
            (65.0, 'C'),
            (64.99, 'D'),
            (25.0, 'D'),
        ] {
            assert_eq!(grade(i), g, "{i}");
        }
        // 3.5325 × 25 = 88.3125 → 88.31: A.
        assert_eq!(grade(index(3.5325)), 'A');
    }
}

//! The one translation table of the officer pages: every status, action, role, channel, send
//! state and audit entry in words, in Bahasa Indonesia or English. The matches are exhaustive,
//! so a new variant does not compile until it has its words; names read back from the register
//! that are no longer known show as a neutral word, never as the code.

use aduan_channel::{ChannelKind, Lang};

use crate::register::outbox::OutboxStatus;
use crate::workflow::{Action, DismissReason, Role, Status};

pub mod audit;

/// A status in words.
pub fn status(s: Status, lang: Lang) -> &'static str {
    let (id, en) = match s {
        Status::Registered => ("terdaftar", "registered"),
        Status::Incomplete => ("dikembalikan untuk dilengkapi", "returned to complete"),
        Status::Verified => ("terverifikasi", "verified"),
        Status::FieldReview => ("peninjauan lapangan", "field review"),
        Status::FieldReviewed => ("sudah ditinjau", "field review done"),
        Status::Studied => ("telaahan selesai", "studied"),
        Status::Disposed => ("didisposisikan", "disposed"),
        Status::AnswerDrafted => ("konsep jawaban", "answer drafted"),
        Status::AnswerApproved => ("jawaban disetujui", "answer approved"),
        Status::Answered => ("dijawab", "answered"),
        Status::Closed => ("selesai", "closed"),
        Status::Rejected => ("ditolak", "rejected"),
        Status::Forwarded => ("diteruskan", "forwarded"),
        Status::Dismissed => ("diabaikan", "dismissed"),
    };
    lang.pick(id, en)
}

/// An action, as its button says it.
pub fn action(a: Action, lang: Lang) -> &'static str {
    let (id, en) = match a {
        Action::ReturnIncomplete => ("Kembalikan untuk dilengkapi", "Return to complete"),
        Action::Complete => ("Berkas lengkap", "File complete"),
        Action::Verify => ("Verifikasi", "Verify"),
        Action::DecideFieldReview => ("Putuskan peninjauan lapangan", "Decide a field review"),
        Action::RecordFieldReview => ("Catat hasil peninjauan", "Record the field review"),
        Action::Study => ("Catat telaahan", "Record the study"),
        Action::Dispose => ("Disposisikan", "Dispose"),
        Action::DraftAnswer => ("Susun konsep jawaban", "Draft the answer"),
        Action::Approve => ("Paraf / tanda tangani", "Initial / sign"),
        Action::SendAnswer => ("Kirim jawaban", "Send the answer"),
        Action::Close => ("Selesaikan", "Close"),
        Action::Reject => ("Tolak", "Reject"),
        Action::Forward => ("Teruskan", "Forward"),
        Action::Dismiss => ("Abaikan", "Dismiss"),
    };
    lang.pick(id, en)
}

/// What an action's note is, as its field's label says.
pub fn note_label(a: Action, lang: Lang) -> &'static str {
    let (id, en) = match a {
        Action::ReturnIncomplete => (
            "Yang perlu dilengkapi pengadu",
            "What the complainant must complete",
        ),
        Action::DecideFieldReview => (
            "Undangan peninjauan (waktu, tempat, pihak)",
            "Invitation (time, place, parties)",
        ),
        Action::RecordFieldReview => ("Hasil peninjauan", "Review findings"),
        Action::Study => (
            "Telaahan dan usulan penyelesaian",
            "Study and proposed solution",
        ),
        Action::Dispose => ("Instruksi disposisi", "Disposition instruction"),
        Action::DraftAnswer => ("Konsep jawaban", "Draft answer"),
        Action::Reject => ("Alasan penolakan", "Reason for rejecting"),
        Action::Forward => (
            "Diteruskan ke (instansi) dan alasannya",
            "Forwarded to (agency) and why",
        ),
        _ => ("Catatan", "Note"),
    };
    lang.pick(id, en)
}

/// A role in words.
pub fn role(r: Role, lang: Lang) -> &'static str {
    let (id, en) = match r {
        Role::FrontOffice => ("petugas loket", "front office"),
        Role::SectionHead => ("kepala seksi", "section head"),
        Role::TechnicalTeam => ("tim teknis", "technical team"),
        Role::DivisionHead => ("kepala bidang", "division head"),
        Role::Secretary => ("sekretaris", "secretary"),
        Role::HeadOfOffice => ("kepala dinas", "head of office"),
        Role::Admin => ("administrator", "administrator"),
    };
    lang.pick(id, en)
}

/// A channel's name on the officer pages (the one table is `ChannelKind::label`/`words`).
pub fn channel(k: ChannelKind, lang: Lang) -> &'static str {
    k.label(lang)
}

/// Where an outgoing message is.
pub fn outbox(s: OutboxStatus, lang: Lang) -> &'static str {
    let (id, en) = match s {
        OutboxStatus::Queued => ("dalam antrean", "queued"),
        OutboxStatus::Sending => ("sedang dikirim", "sending"),
        OutboxStatus::Sent => ("terkirim", "sent"),
        OutboxStatus::Failed => ("gagal", "failed"),
    };
    lang.pick(id, en)
}

/// Why a complaint was dismissed.
pub fn reason(r: DismissReason, lang: Lang) -> &'static str {
    let (id, en) = match r {
        DismissReason::Spam => ("spam", "spam"),
        DismissReason::Duplicate => ("duplikat", "duplicate"),
        DismissReason::Robot => ("pesan otomatis", "automatic message"),
    };
    lang.pick(id, en)
}

/// A stored status name in words (an unknown one as a neutral word).
pub fn status_name(name: &str, lang: Lang) -> &'static str {
    name.parse::<Status>()
        .map(|s| status(s, lang))
        .unwrap_or_else(|_| lang.pick("(tidak dikenal)", "(unknown)"))
}

/// A stored channel name in words.
pub fn channel_name(name: &str, lang: Lang) -> &'static str {
    name.parse::<ChannelKind>()
        .map(|k| channel(k, lang))
        .unwrap_or_else(|_| lang.pick("(kanal tidak dikenal)", "(unknown channel)"))
}

/// How a complaint reached the counter.
pub fn medium(m: aduan_channel::CounterMedium, lang: Lang) -> &'static str {
    use aduan_channel::CounterMedium as M;
    let (id, en) = match m {
        M::WalkIn => ("Datang langsung", "Walk-in"),
        M::Telephone => ("Telepon", "Telephone"),
        M::Letter => ("Surat", "Letter"),
        M::Fax => ("Faksimile", "Fax"),
        M::ComplaintBox => ("Kotak pengaduan", "Complaint box"),
    };
    lang.pick(id, en)
}

/// An address as officers read it (unmasked: officer pages only).
pub fn address(a: &aduan_channel::Address, lang: Lang) -> String {
    use aduan_channel::Address as A;
    match a {
        A::Email(e) => e.clone(),
        A::Phone(p) => p.clone(),
        A::TelegramChat(c) => format!("{} {c}", lang.pick("obrolan Telegram", "Telegram chat")),
        A::Lapor(l) => format!("SP4N-LAPOR! {l}"),
        A::None => lang.pick("(tanpa alamat)", "(no address)").to_string(),
    }
}

/// Where a step of the tracking page stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Done,
    Now,
    ToCome,
}

/// The steps of a complaint as the tracking page tells the citizen: done, under way and to
/// come, in plain words (the office's inner steps are folded into what a citizen recognizes).
pub fn public_steps(s: Status, lang: Lang) -> Vec<(&'static str, Step)> {
    let steps = [
        lang.pick("Diterima dan didaftarkan", "Received and registered"),
        if s == Status::Incomplete {
            lang.pick(
                "Diperiksa kelengkapannya — menunggu kelengkapan dari Anda",
                "Checked for completeness — waiting for you to complete it",
            )
        } else {
            lang.pick("Diperiksa kelengkapannya", "Checked for completeness")
        },
        lang.pick(
            "Ditindaklanjuti oleh unit yang berwenang",
            "Followed up by the responsible unit",
        ),
        lang.pick(
            "Jawaban disusun dan disetujui pimpinan",
            "Answer drafted and approved by the head",
        ),
        lang.pick("Jawaban dikirim kepada Anda", "Answer sent to you"),
        lang.pick("Selesai", "Closed"),
    ];
    let ended = match s {
        Status::Rejected => Some(lang.pick(
            "Ditolak — alasannya dikirim kepada Anda",
            "Rejected — the reason was sent to you",
        )),
        Status::Forwarded => Some(lang.pick(
            "Diteruskan ke instansi yang berwenang",
            "Forwarded to the competent agency",
        )),
        Status::Dismissed => {
            Some(lang.pick("Ditutup tanpa tindak lanjut", "Closed without follow-up"))
        }
        _ => None,
    };
    if let Some(end) = ended {
        return vec![
            (steps[0], Step::Done),
            (steps[1], Step::Done),
            (end, Step::Done),
        ];
    }
    let now = match s {
        Status::Registered | Status::Incomplete => 1,
        Status::Verified
        | Status::FieldReview
        | Status::FieldReviewed
        | Status::Studied
        | Status::Disposed => 2,
        Status::AnswerDrafted | Status::AnswerApproved => 3,
        Status::Answered => 5,
        _ => steps.len(),
    };
    steps
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = match i.cmp(&now) {
                std::cmp::Ordering::Less => Step::Done,
                std::cmp::Ordering::Equal => Step::Now,
                std::cmp::Ordering::Greater => Step::ToCome,
            };
            (*t, at)
        })
        .collect()
}

/// A date as people write it: `10 Maret 2027`, `10 March 2027`.
pub fn date(d: chrono::NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Id => crate::letter::date_id(d),
        Lang::En => d.format("%-d %B %Y").to_string(),
    }
}

/// How a complaint stands against a deadline, in working days of the office calendar:
/// "sisa 3 hari kerja", "batas hari ini", "terlambat 2 hari kerja". `true` when it has passed.
pub fn time_left(cal: &crate::sla::Calendar, due_at: i64, now: i64, lang: Lang) -> (String, bool) {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| cal.local_date(t))
            .unwrap_or_default()
    };
    let (today, due) = (at(now), at(due_at));
    if now <= due_at {
        let n = cal.working_days_between(today, due);
        let text = if n == 0 {
            lang.pick("batas hari ini", "due today").to_string()
        } else {
            format!(
                "{} {n} {}",
                lang.pick("sisa", ""),
                lang.pick(
                    "hari kerja",
                    if n == 1 {
                        "working day left"
                    } else {
                        "working days left"
                    }
                )
            )
            .trim()
            .to_string()
        };
        (text, false)
    } else {
        let n = cal.working_days_between(due, today);
        let text = if n == 0 {
            lang.pick("lewat batas hari ini", "past due today")
                .to_string()
        } else {
            format!(
                "{} {n} {}",
                lang.pick("terlambat", ""),
                lang.pick(
                    "hari kerja",
                    if n == 1 {
                        "working day late"
                    } else {
                        "working days late"
                    }
                )
            )
            .trim()
            .to_string()
        };
        (text, true)
    }
}

/// A file size for people: "820 B", "14 KB", "2,3 MB" (the decimal comma in Indonesian).
pub fn size(bytes: i64, lang: Lang) -> String {
    let b = bytes.max(0) as f64;
    let (v, unit) = if b < 1024.0 {
        return format!("{bytes} B");
    } else if b < 1024.0 * 1024.0 {
        (b / 1024.0, "KB")
    } else {
        (b / (1024.0 * 1024.0), "MB")
    };
    let s = if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    let s = if lang == Lang::Id {
        s.replace('.', ",")
    } else {
        s
    };
    format!("{s} {unit}")
}

#[cfg(test)]
mod tests;

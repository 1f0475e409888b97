//! The one translation table of the officer pages: every status, action, role, channel, send
//! state and audit entry in words, in Bahasa Indonesia or English. The matches are exhaustive,
//! so a new variant does not compile until it has its words; names read back from the register
//! that are no longer known show as a neutral word, never as the code.

use aduan_channel::{ChannelKind, Lang};

use crate::register::outbox::OutboxStatus;
use crate::workflow::{Action, DismissReason, Role, Status};

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

/// An audit entry's note as the officer reads it. Officers' own notes are theirs, shown as
/// written; the register's own notes (stored in English, for the log and the API) are put in
/// the page's language by their known shapes, and a flag's or a provider's technical detail
/// is left to the English page and the API.
pub fn audit_note(action: &str, note: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return note.to_string();
    }
    let (status_words, role_words, reason_words, medium_words) = (status, role, reason, medium);
    let ch = |c: &str| channel_name(c.trim(), lang).to_string();
    // "…; flagged: <detail>" on intake entries.
    let (note, flagged) = match note.split_once("; flagged: ") {
        Some((n, _)) => (n, "; ditandai untuk diperiksa petugas"),
        None => (note, ""),
    };
    // "outbox 12 via email: …"
    let outbox = |rest: &str| -> Option<(String, String, String)> {
        let rest = rest.strip_prefix("outbox ")?;
        let (id, rest) = rest.split_once(" via ")?;
        let (channel, tail) = rest.split_once(':').unwrap_or((rest, ""));
        Some((id.to_string(), ch(channel), tail.trim().to_string()))
    };
    let said = match action {
        "register" | "message_received" => {
            let body = note
                .strip_prefix("message via ")
                .or_else(|| note.strip_prefix("via "));
            match body {
                Some(rest) => {
                    let (channel, extra) = rest.split_once([' ', ':']).unwrap_or((rest, ""));
                    let extra = extra.trim().trim_start_matches(':').trim();
                    let medium = extra
                        .strip_prefix('(')
                        .and_then(|m| m.strip_suffix(')'))
                        .and_then(|m| m.parse::<aduan_channel::CounterMedium>().ok());
                    match (medium, extra.is_empty()) {
                        (Some(m), _) => {
                            format!("lewat {} ({})", ch(channel), medium_words(m, lang))
                        }
                        (None, true) => format!("lewat {}", ch(channel)),
                        (None, false) => format!("lewat {}: {extra}", ch(channel)),
                    }
                }
                None => note.to_string(),
            }
        }
        "status_query" => note
            .strip_prefix("answered via ")
            .map(|c| format!("dijawab lewat {}", ch(c)))
            .unwrap_or_default(),
        "send_failed" => outbox(note)
            .map(|(id, c, _)| format!("pesan keluar {id} lewat {c} gagal dikirim"))
            .unwrap_or_default(),
        "delivery_report" => outbox(note)
            .map(|(id, c, tail)| {
                let state = tail.split_whitespace().next().unwrap_or("");
                let state = match state {
                    "delivered" => "sampai",
                    "failed" => "gagal sampai",
                    "read" => "dibaca",
                    "sent" | "accepted" => "diterima penyedia",
                    _ => "laporan penyedia",
                };
                format!("pesan keluar {id} lewat {c}: {state}")
            })
            .unwrap_or_default(),
        "retry_send" => note
            .strip_prefix("outbox ")
            .map(|id| format!("pesan keluar {id}"))
            .unwrap_or_default(),
        "reply" => note
            .split_once(' ')
            .map(|(n, _)| format!("{n} pesan keluar"))
            .unwrap_or_default(),
        "hand_over" => note
            .strip_prefix("answer handed over to ")
            .map(|r| format!("jawaban diserahkan kepada {r}"))
            .unwrap_or_default(),
        "letter" => {
            let (kind, rest) = note.split_once(" letter ").unwrap_or(("", note));
            let (number, signer) = rest.split_once(" signed by ").unwrap_or((rest, ""));
            let kind = if kind == "invitation" {
                "surat undangan"
            } else {
                "surat jawaban"
            };
            format!("{kind} {number} ditandatangani {signer}")
        }
        "merged_in" => note
            .strip_prefix("the thread of duplicate ")
            .and_then(|r| r.strip_suffix(" moved here"))
            .map(|no| format!("percakapan duplikat {no} dipindahkan ke sini"))
            .unwrap_or_default(),
        "draft_edited" => note
            .strip_prefix("draft ")
            .and_then(|r| r.strip_suffix(" before approval"))
            .and_then(|r| r.split_once(" replaced by "))
            .map(|(a, b)| format!("konsep {a} diganti {b} sebelum disetujui"))
            .unwrap_or_default(),
        "approve" => {
            let (kind, rest) = note.split_once(' ').unwrap_or((note, ""));
            let rest = rest.replace(" of draft ", " atas konsep ");
            match kind {
                "initial" => format!("paraf {rest}"),
                "sign" => format!("tanda tangan {rest}"),
                _ => note.to_string(),
            }
        }
        "dispose" => match note.strip_prefix("to ") {
            Some(rest) => {
                let (to, instruction) = rest.split_once(": ").unwrap_or((rest, ""));
                let to = to.replace(" and ", " dan ");
                format!("kepada {to}: {instruction}")
            }
            None => note.to_string(),
        },
        "dismiss" => {
            if let Some(no) = note.strip_prefix("duplicate merged into ") {
                format!("duplikat digabung ke {no}")
            } else {
                let (code, rest) = note.split_once(": ").unwrap_or((note, ""));
                let reason =
                    <DismissReason as strum::IntoEnumIterator>::iter().find(|r| r.as_str() == code);
                match (reason, rest.is_empty()) {
                    (Some(r), true) => reason_words(r, lang).to_string(),
                    (Some(r), false) => format!("{}: {rest}", reason_words(r, lang)),
                    (None, _) => note.to_string(),
                }
            }
        }
        "escalate" => {
            // "step `verified` passed its standard: owner section_head, superior division_head"
            let status = note
                .split('`')
                .nth(1)
                .and_then(|s| s.parse::<Status>().ok());
            let role_of = |key: &str| {
                note.split(key)
                    .nth(1)
                    .and_then(|r| r.split(',').next())
                    .and_then(|r| Role::ALL.into_iter().find(|x| x.as_str() == r.trim()))
            };
            let mut out = match status {
                Some(s) => format!(
                    "langkah \u{201c}{}\u{201d} melewati baku mutu",
                    status_words(s, lang)
                ),
                None => "langkah melewati baku mutu".to_string(),
            };
            if let Some(o) = role_of("owner ") {
                out.push_str(&format!("; pemilik: {}", role_words(o, lang)));
            }
            if let Some(sup) = role_of("superior ") {
                out.push_str(&format!("; atasan: {}", role_words(sup, lang)));
            }
            out
        }
        "close" if note.starts_with("not completed within ") => format!(
            "tidak dilengkapi dalam {}",
            note.trim_start_matches("not completed within ")
        ),
        "rate" => note.replace(" via ", " lewat "),
        "rate_again" => {
            let n = note.split_whitespace().next().unwrap_or("");
            format!("{n} — tidak dihitung: penilaian pertama yang berlaku")
        }
        "ack_suppressed" => {
            "tanda terima tidak dikirim (pesan otomatis atau batas per alamat)".to_string()
        }
        // The officer's own words.
        _ => note.to_string(),
    };
    format!("{said}{flagged}")
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

/// An audit entry's kind in words: an officer's action, or what the system recorded.
pub fn audit(name: &str, lang: Lang) -> &'static str {
    if let Some(a) = Action::iter().find(|a| a.as_str() == name) {
        return action(a, lang);
    }
    let (id, en) = match name {
        "register" => ("Didaftarkan", "Registered"),
        "message_received" => ("Pesan masuk", "Message received"),
        "reply" => ("Balasan", "Reply"),
        "letter" => ("Surat diterbitkan", "Letter issued"),
        "hand_over" => ("Diserahkan di loket", "Handed over at the counter"),
        "merged_in" => ("Duplikat digabungkan", "Duplicate merged in"),
        "escalate" => ("Melewati baku mutu", "Past its standard"),
        "rate" => ("Penilaian pengadu", "Complainant's rating"),
        "rate_again" => (
            "Penilaian ulang (tidak dihitung)",
            "Rated again (not counted)",
        ),
        "send_failed" => ("Pengiriman gagal", "Sending failed"),
        "retry_send" => ("Kirim ulang", "Sent again"),
        "reroute_send" => ("Dialihkan ke halaman lacak", "Moved to the tracking page"),
        "cancel_send" => ("Pengiriman dibatalkan", "Sending withdrawn"),
        "status_query" => ("Tanya status", "Status asked"),
        "status_query_refused" => ("Tanya status ditolak", "Status query refused"),
        "take" => ("Diambil petugas", "Taken"),
        "assign" => ("Ditugaskan", "Assigned"),
        "note" => ("Catatan internal", "Internal note"),
        "draft_edited" => ("Konsep diubah penyetuju", "Draft edited by the approver"),
        _ => ("Catatan sistem", "System entry"),
    };
    lang.pick(id, en)
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

//! The audit trail in words: each [`AuditEvent`] as a title (what happened) and a detail (its
//! facts), in Bahasa Indonesia or English. Exhaustive: a new event does not compile until it
//! has its words. Officers' own notes are theirs, shown as written; a provider's technical
//! detail (a bounce, a modem's error) is left to the English page and the API.

use aduan_channel::{DeliveryState, Lang};

use super::{action, medium, reason, role, status};
use crate::register::audit::{AuditEvent, OfficerChange, Suppressed};
use crate::register::domain::{Action, ApprovalKind, LetterKind};

/// What happened, as the trail's title column says it.
pub fn title(e: &AuditEvent, lang: Lang) -> &'static str {
    use AuditEvent as E;
    let (id, en) = match e {
        E::Step { action: a, .. } => return action(*a, lang),
        E::Disposed { .. } => return action(Action::Dispose, lang),
        E::Dismissed { .. } => return action(Action::Dismiss, lang),
        E::FieldReviewRecorded { .. } => return action(Action::RecordFieldReview, lang),
        E::Approved { .. } => return action(Action::Approve, lang),
        E::Registered { .. } => ("Didaftarkan", "Registered"),
        E::MessageReceived { .. } => ("Pesan masuk", "Message received"),
        E::StatusQuery { .. } => ("Tanya status", "Status asked"),
        E::StatusQueryRefused { .. } => ("Tanya status ditolak", "Status query refused"),
        E::AckSuppressed { .. } => ("Tanda terima tidak dikirim", "Receipt not sent"),
        E::SendFailed { .. } => ("Pengiriman gagal", "Sending failed"),
        E::RetrySend { .. } => ("Kirim ulang", "Sent again"),
        E::RerouteSend { .. } => ("Dialihkan ke halaman lacak", "Moved to the tracking page"),
        E::CancelSend { .. } => ("Pengiriman dibatalkan", "Sending withdrawn"),
        E::DeliveryReport { .. } => ("Laporan pengiriman", "Delivery report"),
        E::Reply { .. } => ("Balasan", "Reply"),
        E::Note => ("Catatan internal", "Internal note"),
        E::Take => ("Diambil petugas", "Taken"),
        E::Assign { .. } => ("Ditugaskan", "Assigned"),
        E::HandOver { .. } => ("Diserahkan di loket", "Handed over at the counter"),
        E::Letter { .. } => ("Surat diterbitkan", "Letter issued"),
        E::MergedIn { .. } => ("Duplikat digabungkan", "Duplicate merged in"),
        E::DraftEdited { .. } => ("Konsep diubah penyetuju", "Draft edited by the approver"),
        E::Escalated { .. } => ("Melewati baku mutu", "Past its standard"),
        E::ClosedIncomplete { .. } => ("Ditutup: tidak dilengkapi", "Closed: not completed"),
        E::Rated { .. } => ("Penilaian pengadu", "Complainant's rating"),
        E::RatedAgain { .. } => (
            "Penilaian ulang (tidak dihitung)",
            "Rated again (not counted)",
        ),
        E::OfficerAdded { .. } => ("Petugas ditambahkan", "Officer added"),
        E::OfficerChanged {
            what: OfficerChange::Disabled,
            ..
        } => ("Petugas dinonaktifkan", "Officer disabled"),
        E::OfficerChanged {
            what: OfficerChange::TokenRotated,
            ..
        } => ("Token petugas diganti", "Officer's token replaced"),
        E::Legacy { .. } => ("Catatan sistem", "System entry"),
    };
    lang.pick(id, en)
}

/// The entry's facts in a sentence (empty when the title says it all).
pub fn detail(e: &AuditEvent, lang: Lang) -> String {
    use AuditEvent as E;
    let id = lang == Lang::Id;
    let pick = |i: String, e: String| if id { i } else { e };
    let via = |c: aduan_channel::ChannelKind| {
        pick(
            format!("lewat {}", c.label(lang)),
            format!("via {}", c.label(lang)),
        )
    };
    let flag = |f: &Option<String>| match f {
        None => String::new(),
        Some(_) if id => "; ditandai untuk diperiksa petugas".into(),
        Some(why) => format!("; flagged: {why}"),
    };
    let out = |n: i64| pick(format!("pesan keluar {n}"), format!("outbox {n}"));
    match e {
        E::Registered {
            channel,
            medium: m,
            flagged,
        } => match m {
            Some(m) => format!("{} ({}){}", via(*channel), medium(*m, lang), flag(flagged)),
            None => format!("{}{}", via(*channel), flag(flagged)),
        },
        E::MessageReceived {
            channel,
            lapor,
            flagged,
        } => match lapor {
            Some(line) => format!("{}: {line}{}", via(*channel), flag(flagged)),
            None => format!("{}{}", via(*channel), flag(flagged)),
        },
        E::StatusQuery { channel } => pick(
            format!("dijawab {}", via(*channel)),
            format!("answered {}", via(*channel)),
        ),
        E::StatusQueryRefused {
            register_no,
            channel,
        } => pick(
            format!(
                "{register_no} {}: bukan pengadunya, tidak dijawab",
                via(*channel)
            ),
            format!(
                "{register_no} {}: not its complainant, not answered",
                via(*channel)
            ),
        ),
        E::AckSuppressed { why } => match why {
            Suppressed::AutoGenerated => lang
                .pick("pesan otomatis", "an automatic message")
                .to_string(),
            Suppressed::RateLimit => lang
                .pick(
                    "batas tanda terima per alamat tercapai",
                    "the address's receipt limit was reached",
                )
                .to_string(),
        },
        E::SendFailed {
            outbox_id,
            channel,
            detail,
        } => pick(
            format!("{} {} gagal dikirim", out(*outbox_id), via(*channel)),
            format!("{} {}: {detail}", out(*outbox_id), via(*channel)),
        ),
        E::RetrySend { outbox_id } | E::RerouteSend { outbox_id } | E::CancelSend { outbox_id } => {
            out(*outbox_id)
        }
        E::DeliveryReport {
            outbox_id,
            channel,
            state,
            detail,
        } => {
            let s = match state {
                DeliveryState::Delivered => lang.pick("sampai", "delivered"),
                DeliveryState::Failed => lang.pick("gagal sampai", "failed"),
            };
            let tail = if id || detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            };
            format!("{} {}: {s}{tail}", out(*outbox_id), via(*channel))
        }
        E::Reply { messages } => pick(
            format!("{messages} pesan keluar"),
            format!("{messages} outgoing message(s)"),
        ),
        E::Note | E::Take => String::new(),
        E::Assign { to } => pick(format!("kepada {to}"), format!("to {to}")),
        E::HandOver { recipient } => pick(
            format!("jawaban diserahkan kepada {recipient}"),
            format!("answer handed over to {recipient}"),
        ),
        E::Letter {
            kind,
            number,
            signer,
        } => {
            let k = match kind {
                LetterKind::Answer => lang.pick("surat jawaban", "answer letter"),
                LetterKind::Invitation => lang.pick("surat undangan", "invitation"),
            };
            pick(
                format!("{k} {number} ditandatangani {signer}"),
                format!("{k} {number} signed by {signer}"),
            )
        }
        E::MergedIn { duplicate } => pick(
            format!("percakapan duplikat {duplicate} dipindahkan ke sini"),
            format!("the thread of duplicate {duplicate} moved here"),
        ),
        E::DraftEdited { before, after } => pick(
            format!("konsep {before} diganti {after} sebelum disetujui"),
            format!("draft {before} replaced by {after} before approval"),
        ),
        E::Escalated {
            step,
            owner,
            superior,
        } => {
            let mut s = pick(
                format!(
                    "langkah \u{201c}{}\u{201d} melewati baku mutu",
                    status(*step, lang)
                ),
                format!(
                    "step \u{201c}{}\u{201d} passed its standard",
                    status(*step, lang)
                ),
            );
            if let Some(o) = owner {
                s.push_str(&format!(
                    "; {}: {}",
                    lang.pick("pemilik", "owner"),
                    role(*o, lang)
                ));
            }
            if let Some(o) = superior {
                s.push_str(&format!(
                    "; {}: {}",
                    lang.pick("atasan", "superior"),
                    role(*o, lang)
                ));
            }
            s
        }
        E::ClosedIncomplete { within } => pick(
            format!("tidak dilengkapi dalam {within}"),
            format!("not completed within {within}"),
        ),
        E::Rated { rating, channel } => format!(
            "{rating} ({}) {}",
            crate::workflow::verdict::words(*rating, lang),
            via(*channel)
        ),
        E::RatedAgain {
            rating,
            channel,
            first,
        } => pick(
            format!(
                "{rating} {} — tidak dihitung: penilaian pertama ({first}) yang berlaku",
                via(*channel)
            ),
            format!(
                "{rating} {} — not counted: the first verdict ({first}) stands",
                via(*channel)
            ),
        ),
        E::Step { note, .. } => note.clone(),
        E::Disposed {
            unit,
            assignee,
            instruction,
        } => {
            let to: Vec<String> = [unit.as_ref().map(|u| format!("unit {u}")), assignee.clone()]
                .into_iter()
                .flatten()
                .collect();
            let and = lang.pick(" dan ", " and ");
            pick(
                format!("kepada {}: {instruction}", to.join(and)),
                format!("to {}: {instruction}", to.join(and)),
            )
        }
        E::Dismissed {
            reason: r,
            note,
            into,
        } => match (into, note.is_empty()) {
            (Some(no), _) => pick(
                format!("duplikat digabung ke {no}"),
                format!("duplicate merged into {no}"),
            ),
            (None, true) => reason(*r, lang).to_string(),
            (None, false) => format!("{}: {note}", reason(*r, lang)),
        },
        E::FieldReviewRecorded { findings, bap } => {
            format!("{findings} (BAP: {})", bap.join(", "))
        }
        E::Approved {
            kind,
            stage,
            of,
            draft,
        } => {
            let k = match kind {
                ApprovalKind::Initial => lang.pick("paraf", "initial"),
                ApprovalKind::Sign => lang.pick("tanda tangan", "signature"),
            };
            pick(
                format!("{k} {stage}/{of} atas konsep {draft}"),
                format!("{k} {stage}/{of} of draft {draft}"),
            )
        }
        E::OfficerAdded { username, role: r } => {
            format!("{username} ({})", role(*r, lang))
        }
        E::OfficerChanged { username, .. } => username.clone(),
        E::Legacy { note } => note.clone(),
    }
}

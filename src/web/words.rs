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

/// A channel's name on the officer pages.
pub fn channel(k: ChannelKind, lang: Lang) -> &'static str {
    let (id, en) = match k {
        ChannelKind::Email => ("Surel", "Email"),
        ChannelKind::Sms => ("SMS", "SMS"),
        ChannelKind::Telegram => ("Telegram", "Telegram"),
        ChannelKind::Lapor => ("LAPOR!", "LAPOR!"),
        ChannelKind::Web => ("Web", "Web"),
        ChannelKind::Counter => ("Loket", "Counter"),
        ChannelKind::Whatsapp => ("WhatsApp", "WhatsApp"),
    };
    lang.pick(id, en)
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
        "status_query" => ("Tanya status", "Status asked"),
        "status_query_refused" => ("Tanya status ditolak", "Status query refused"),
        _ => ("Catatan sistem", "System entry"),
    };
    lang.pick(id, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No word of the table is the code it translates (in Indonesian), and no two statuses or
    /// actions read the same.
    #[test]
    fn words_are_not_codes_and_are_distinct() {
        let statuses: Vec<&str> = Status::iter().map(|s| status(s, Lang::Id)).collect();
        for s in Status::iter() {
            assert_ne!(status(s, Lang::Id), s.as_str());
        }
        let mut sorted = statuses.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), statuses.len());
        for a in Action::iter() {
            assert!(!action(a, Lang::Id).contains('_'));
            assert_eq!(audit(a.as_str(), Lang::Id), action(a, Lang::Id));
        }
        for r in Role::ALL {
            assert!(!role(r, Lang::Id).contains('_'));
        }
        assert_eq!(status_name("answer_drafted", Lang::Id), "konsep jawaban");
        assert_eq!(status_name("gone", Lang::Id), "(tidak dikenal)");
        assert_eq!(audit("something_new", Lang::Id), "Catatan sistem");
    }
}

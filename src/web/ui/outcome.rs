//! What an officer's post on a complaint leads to: back to the complaint with a notice from a
//! fixed set, or a refusal in the officer's language with the way back.

use super::*;
use crate::web::words;

/// The notices a complaint page shows after an officer's post: a fixed set, named in the
/// redirect by code. A link cannot put other text on an officer's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Notice {
    ActionDone,
    ReplyQueued,
    Retried,
    NothingToRetry,
    HandedOver,
    Assigned,
    Noted,
    Rerouted,
    Cancelled,
}

impl Notice {
    const ALL: [Notice; 9] = [
        Notice::ActionDone,
        Notice::ReplyQueued,
        Notice::Retried,
        Notice::NothingToRetry,
        Notice::HandedOver,
        Notice::Assigned,
        Notice::Noted,
        Notice::Rerouted,
        Notice::Cancelled,
    ];

    pub(super) fn code(self) -> &'static str {
        match self {
            Notice::ActionDone => "tindakan",
            Notice::ReplyQueued => "balasan",
            Notice::Retried => "ulang",
            Notice::NothingToRetry => "tidak-ada",
            Notice::HandedOver => "diserahkan",
            Notice::Assigned => "ditugaskan",
            Notice::Noted => "catatan",
            Notice::Rerouted => "dialihkan",
            Notice::Cancelled => "dibatalkan",
        }
    }

    pub(super) fn parse(code: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.code() == code)
    }

    pub(super) fn text(self, lang: Lang) -> &'static str {
        match self {
            Notice::ActionDone => lang.pick("Tindakan tercatat.", "Action recorded."),
            Notice::ReplyQueued => lang.pick("Balasan diantrekan.", "Reply queued."),
            Notice::Retried => lang.pick("Dikirim ulang.", "Queued again."),
            Notice::NothingToRetry => {
                lang.pick("Tidak ada yang dikirim ulang.", "Nothing to retry.")
            }
            Notice::HandedOver => lang.pick("Penyerahan tercatat.", "Hand-over recorded."),
            Notice::Assigned => lang.pick("Petugas tercatat.", "Assignee recorded."),
            Notice::Noted => lang.pick("Catatan internal tersimpan.", "Internal note saved."),
            Notice::Rerouted => lang.pick(
                "Balasan dialihkan ke halaman lacak: pengadu membacanya dengan kode pelacakan.",
                "The reply moved to the tracking page: the complainant reads it with the tracking code.",
            ),
            Notice::Cancelled => lang.pick("Pengiriman dibatalkan.", "Sending withdrawn."),
        }
    }
}

pub(super) fn back(no: &str, n: Notice) -> Response {
    let no: String = no
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Redirect::to(&format!("/kotak/{no}?pesan={}", n.code())).into_response()
}

/// Why an action was not taken, in the officer's language, and the answer's status code.
pub(super) fn error_text(lang: Lang, e: &crate::workflow::ActionError) -> (StatusCode, String) {
    use crate::workflow::ActionError as E;
    let code = match e {
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Forbidden { .. } | E::NotYourApproval { .. } => StatusCode::FORBIDDEN,
        E::WrongStatus { .. } | E::StaleDraft { .. } | E::Unapproved { .. } => StatusCode::CONFLICT,
        E::Invalid(_) => StatusCode::BAD_REQUEST,
        E::Db(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let text = match e {
        E::NotFound(_) => lang
            .pick(
                "Pengaduan ini tidak ditemukan.",
                "This complaint was not found.",
            )
            .to_string(),
        E::Forbidden { role, .. } => format!(
            "{} {}.",
            lang.pick("Tindakan ini bukan wewenang", "This action is not for the"),
            words::role(*role, lang)
        ),
        E::NotYourApproval { waiting_for, .. } => format!(
            "{} {}.",
            lang.pick(
                "Konsep ini menunggu paraf atau tanda tangan",
                "This draft waits for the initial or signature of the"
            ),
            words::role(*waiting_for, lang)
        ),
        E::WrongStatus { status, .. } => format!(
            "{} \u{201c}{}\u{201d}. {}",
            lang.pick(
                "Pengaduan ini sudah berubah dan kini berstatus",
                "This complaint has changed and is now"
            ),
            words::status(*status, lang),
            lang.pick(
                "Buka kembali halamannya untuk melihat tindakan yang tersedia.",
                "Open its page again to see the actions available."
            )
        ),
        // The detail is the API's (English) wording: English pages show it, Indonesian ones
        // say what to check.
        E::Invalid(detail) => match lang {
            Lang::En => format!("Something is missing or does not fit ({detail})."),
            Lang::Id => "Isian belum lengkap atau tidak sesuai. Periksa catatan, petugas atau \
                         unit yang dipilih, lampiran, dan nomor register yang diketik."
                .to_string(),
        },
        E::StaleDraft { .. } => lang
            .pick(
                "Konsep jawaban sudah diubah petugas lain sejak halaman ini dibuka; tidak ada \
                 yang berubah. Buka kembali pengaduan untuk membaca konsep terbaru.",
                "Another officer changed the draft since this page was opened; nothing was \
                 changed. Open the complaint again to read the latest draft.",
            )
            .to_string(),
        E::Unapproved { done, of } => format!(
            "{} ({done}/{of}).",
            lang.pick(
                "Konsep jawaban ini belum diparaf dan ditandatangani lengkap, jadi belum dapat dikirim",
                "This draft has not passed every initial and signature yet, so it cannot be sent"
            )
        ),
        E::Db(_) => lang
            .pick(
                "Register sedang tidak dapat dihubungi; coba lagi sebentar lagi.",
                "The register cannot be reached; try again in a moment.",
            )
            .to_string(),
    };
    (code, text)
}

/// Why an action was not taken, in the officer's language, with the way back to the complaint.
pub(super) fn action_error(
    lang: Lang,
    s: &WebSession,
    no: &str,
    e: crate::workflow::ActionError,
) -> Response {
    let (code, text) = error_text(lang, &e);
    refusal(lang, s, no, code, &text)
}

/// A refusal in words with the way back to the complaint.
pub(super) fn refusal(
    lang: Lang,
    s: &WebSession,
    no: &str,
    code: StatusCode,
    text: &str,
) -> Response {
    let no: String = no
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    html_response(
        code,
        lang,
        page(
            lang,
            "aduan",
            Some(s),
            html! {
                p.err role="alert" { (text) }
                p { a href=(format!("/kotak/{no}")) { (lang.pick("Kembali ke pengaduan", "Back to the complaint")) } }
            },
        ),
        vec![],
    )
}

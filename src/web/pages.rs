//! The public tracking page (`/lacak/{register_no}`) that receipts link to: a form for the
//! tracking code, then the status, due date and published replies. Server-rendered, no script,
//! every value escaped.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use crate::web::api::{public_status, tracked_complaint, PublicStatus};

#[derive(Deserialize)]
pub struct TrackPageQuery {
    code: Option<String>,
    lang: Option<String>,
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

struct Words {
    lang: aduan_channel::Lang,
    title: &'static str,
    code: &'static str,
    show: &'static str,
    status: &'static str,
    received: &'static str,
    due: &'static str,
    overdue: &'static str,
    replies: &'static str,
    none: &'static str,
    not_found: &'static str,
    letter: &'static str,
    rate: &'static str,
    rate_question: &'static str,
    rated: &'static str,
    thanks: &'static str,
    not_rateable: &'static str,
    rating_closed: &'static str,
    steps: &'static str,
}

const ID: Words = Words {
    lang: aduan_channel::Lang::Id,
    title: "Lacak pengaduan",
    code: "Kode pelacakan",
    show: "Tampilkan",
    status: "Status",
    received: "Diterima",
    due: "Batas waktu",
    overdue: "melewati batas waktu",
    replies: "Balasan",
    none: "Belum ada balasan.",
    not_found: "Nomor register dan kode pelacakan tidak cocok.",
    letter: "Surat jawaban",
    rate: "Beri penilaian",
    rate_question: "Bagaimana penanganan pengaduan Anda?",
    rated: "Penilaian Anda",
    thanks: "Terima kasih, penilaian Anda tercatat.",
    not_rateable: "Pengaduan ini belum dapat dinilai: penilaian dibuka setelah pengaduan selesai.",
    rating_closed: "Penilaian pengaduan ini sudah ditutup: penilaian diterima dalam 30 hari setelah pengaduan selesai.",
    steps: "Langkah penanganan",
};

const EN: Words = Words {
    lang: aduan_channel::Lang::En,
    title: "Track a complaint",
    code: "Tracking code",
    show: "Show",
    status: "Status",
    received: "Received",
    due: "Due",
    overdue: "overdue",
    replies: "Replies",
    none: "No replies yet.",
    not_found: "Register number and tracking code do not match.",
    letter: "Answer letter",
    rate: "Rate the handling",
    rate_question: "How was your complaint handled?",
    rated: "Your rating",
    thanks: "Thank you, your rating is recorded.",
    not_rateable: "This complaint cannot be rated yet: rating opens when it is closed.",
    rating_closed:
        "Rating this complaint has closed: ratings are taken within 30 days of its closing.",
    steps: "Handling steps",
};

pub async fn track_page(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(register_no): Path<String>,
    Query(q): Query<TrackPageQuery>,
) -> Response {
    // Look-ups (a code given) count against the per-address limit; the bare form does not.
    if q.code.as_deref().is_some_and(|c| !c.is_empty())
        && !st
            .track_limiter
            .check(super::client_ip(&st, peer, &headers))
    {
        st.core.metrics.http_rejected();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "Terlalu banyak permintaan; coba lagi dalam satu menit. / Too many requests; try again in a minute.",
        )
            .into_response();
    }
    let lang = q
        .lang
        .as_deref()
        .and_then(|l| l.parse::<aduan_channel::Lang>().ok())
        .unwrap_or(st.core.settings.language);
    let w = lang.pick(&ID, &EN);
    let no = esc(&register_no);
    let form = format!(
        "<form method=\"get\"><label>{} <input name=\"code\" autocomplete=\"off\" required></label>\
         <input type=\"hidden\" name=\"lang\" value=\"{}\"> <button>{}</button></form>",
        w.code,
        lang.as_str(),
        w.show
    );
    let (status, body) = match q.code.as_deref().filter(|c| !c.is_empty()) {
        None => (StatusCode::OK, form),
        Some(code) => match public_status(&st, &register_no, code).await {
            Ok(Some(s)) => (StatusCode::OK, render_status(w, &s, code)),
            Ok(None) => (
                StatusCode::NOT_FOUND,
                format!("<p class=\"err\">{}</p>{form}", w.not_found),
            ),
            Err(e) => return e.into_response(),
        },
    };
    html_page(lang, w.title, &no, status, &body)
}

/// A public page: the title with the register number, then `body` (already escaped).
fn html_page(
    lang: aduan_channel::Lang,
    title: &str,
    no: &str,
    status: StatusCode,
    body: &str,
) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} {no}</title><style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}\
         .err{{color:#a00}}blockquote{{white-space:pre-wrap;border-left:3px solid #ccc;margin:0 0 1rem;padding-left:1rem}}\
         .rate button{{font-size:1.1rem;margin:.25rem;padding:.5rem .75rem}}\
         ol.steps{{list-style:none;padding:0}}.steps li{{margin:.3rem 0}}.steps .now{{font-weight:700}}.steps .next{{color:#555}}</style>\
         </head><body><h1>{title} <code>{no}</code></h1>{body}</body></html>",
        lang.as_str(),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

/// The one question: four buttons, 1 to 4, posted with the tracking code.
fn rating_form(w: &Words, register_no: &str, code: &str) -> String {
    let mut out = format!(
        "<form class=\"rate\" method=\"post\" action=\"/lacak/{}/nilai\"><p>{}</p>\
         <input type=\"hidden\" name=\"code\" value=\"{}\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\">",
        esc(register_no),
        w.rate_question,
        esc(code),
        w.lang.as_str()
    );
    for n in 1..=4 {
        out.push_str(&format!(
            "<button name=\"rating\" value=\"{n}\">{n} — {}</button>",
            crate::workflow::verdict::words(n, w.lang)
        ));
    }
    out.push_str("</form>");
    out
}

/// The per-address limit of look-ups with a tracking code: `Some(429)` when it is spent.
fn over_limit(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    if st.track_limiter.check(super::client_ip(st, peer, headers)) {
        return None;
    }
    st.core.metrics.http_rejected();
    Some(too_many())
}

fn too_many() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        "Terlalu banyak permintaan; coba lagi dalam satu menit. / Too many requests; try again in a minute.",
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct RateForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    lang: Option<String>,
}

/// `GET /lacak/{register_no}/nilai?code=…` (the link in the question) and `POST` with
/// `code` and `rating`: the citizen's verdict from the web, for whoever holds the tracking
/// code; the first answer stands.
pub async fn rate_page(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(register_no): Path<String>,
    method: axum::http::Method,
    Query(q): Query<TrackPageQuery>,
    req: axum::extract::Request,
) -> Response {
    // The limit first; the (small, capped) body only after it.
    if let Some(refused) = over_limit(&st, peer, &headers) {
        return refused;
    }
    let form: RateForm = if method == axum::http::Method::POST {
        let body = match axum::body::to_bytes(req.into_body(), super::RATE_BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "too large").into_response(),
        };
        match serde_urlencoded::from_bytes(&body) {
            Ok(f) => f,
            Err(_) => return (StatusCode::BAD_REQUEST, "bad form").into_response(),
        }
    } else {
        RateForm {
            code: q.code.unwrap_or_default(),
            rating: String::new(),
            lang: q.lang,
        }
    };
    let lang = form
        .lang
        .as_deref()
        .and_then(|l| l.parse::<aduan_channel::Lang>().ok())
        .unwrap_or(st.core.settings.language);
    let w = lang.pick(&ID, &EN);
    let no = esc(&register_no);
    let c = match tracked_complaint(&st, &register_no, &form.code).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let body = format!("<p class=\"err\">{}</p>", w.not_found);
            return html_page(lang, w.rate, &no, StatusCode::NOT_FOUND, &body);
        }
        Err(e) => return e.into_response(),
    };
    let verdict = crate::workflow::verdict::parse(&form.rating);
    let (status, body) = match (c.rating, verdict) {
        (Some(r), _) => (
            StatusCode::OK,
            format!(
                "<p>{}: {r} ({})</p>",
                w.rated,
                crate::workflow::verdict::words(r, lang)
            ),
        ),
        (None, _) if !crate::workflow::verdict::rateable(&c) => {
            (StatusCode::CONFLICT, format!("<p>{}</p>", w.not_rateable))
        }
        // The one window every channel keeps.
        (None, _)
            if !crate::workflow::verdict::open(&c, st.core.clock.now().timestamp_millis()) =>
        {
            (StatusCode::CONFLICT, format!("<p>{}</p>", w.rating_closed))
        }
        (None, None) if method == axum::http::Method::POST => (
            StatusCode::BAD_REQUEST,
            format!(
                "<p class=\"err\">1–4</p>{}",
                rating_form(w, &c.register_no, &form.code)
            ),
        ),
        (None, None) => (StatusCode::OK, rating_form(w, &c.register_no, &form.code)),
        (None, Some(r)) => {
            let now = st.core.clock.now().timestamp_millis();
            let done = async {
                let mut tx = st.core.db.begin().await?;
                let kept = crate::workflow::verdict::record(
                    &mut tx,
                    &c,
                    r,
                    aduan_channel::ChannelKind::Web,
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok::<bool, sqlx::Error>(kept)
            }
            .await;
            match done {
                Ok(_) => (StatusCode::OK, format!("<p>{}</p>", w.thanks)),
                Err(e) => return crate::web::ApiError::from(e).into_response(),
            }
        }
    };
    html_page(lang, w.rate, &no, status, &body)
}

fn render_status(w: &Words, s: &PublicStatus, code: &str) -> String {
    let mut out = format!(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}{}</dd></dl>",
        w.status,
        esc(&s.status_text),
        w.received,
        esc(&s.received_at),
        w.due,
        esc(&s.due_date),
        if s.overdue {
            format!(" ({})", w.overdue)
        } else {
            String::new()
        },
    );
    out.push_str(&format!("<h2>{}</h2><ol class=\"steps\">", w.steps));
    for (text, at) in crate::web::words::public_steps(s.status, w.lang) {
        use crate::web::words::Step;
        let (mark, class, said) = match at {
            Step::Done => ("✓", "done", w.lang.pick("selesai", "done")),
            Step::Now => ("►", "now", w.lang.pick("sedang berjalan", "under way")),
            Step::ToCome => ("○", "next", w.lang.pick("berikutnya", "to come")),
        };
        out.push_str(&format!(
            "<li class=\"{class}\"><span aria-hidden=\"true\">{mark}</span> {} <small>({said})</small></li>",
            esc(text)
        ));
    }
    out.push_str("</ol>");
    if let Some(number) = &s.letter {
        out.push_str(&format!(
            "<p>{}: <a href=\"/lacak/{}/surat?code={}\">{} (PDF)</a></p>",
            w.letter,
            esc(&s.register_no),
            esc(&urlencoding(code)),
            esc(number)
        ));
    }
    match s.rating {
        Some(r) => out.push_str(&format!(
            "<p>{}: {r} ({})</p>",
            w.rated,
            crate::workflow::verdict::words(r, w.lang)
        )),
        None if s.rateable => out.push_str(&rating_form(w, &s.register_no, code)),
        None => {}
    }
    out.push_str(&format!("<h2>{}</h2>", w.replies));
    if s.replies.is_empty() {
        out.push_str(&format!("<p>{}</p>", w.none));
    }
    for (at, text) in &s.replies {
        out.push_str(&format!(
            "<p><small>{}</small></p><blockquote>{}</blockquote>",
            esc(at),
            esc(text)
        ));
    }
    out
}

/// Percent-encodes a query value (tracking codes are letters and digits; anything else typed
/// is kept harmless).
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `GET /lacak/{register_no}/surat?code=…`: the answer letter, for whoever holds the register
/// number and tracking code (the same limit as the tracking page).
pub async fn track_letter(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(register_no): Path<String>,
    Query(q): Query<TrackPageQuery>,
) -> Response {
    if let Some(refused) = over_limit(&st, peer, &headers) {
        return refused;
    }
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            "Surat tidak ditemukan. / No such letter.",
        )
            .into_response()
    };
    let code = q.code.unwrap_or_default();
    let c = match tracked_complaint(&st, &register_no, &code).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return e.into_response(),
    };
    let kind = crate::letter::LetterKind::Answer;
    match crate::register::letters::latest(&st.core.db, c.id, kind).await {
        Ok(Some(l)) => crate::web::api::download(aduan_channel::Attachment {
            filename: kind.filename(&c.register_no),
            content_type: "application/pdf".into(),
            data: l.pdf,
        }),
        Ok(None) => not_found(),
        Err(e) => crate::web::ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }
}

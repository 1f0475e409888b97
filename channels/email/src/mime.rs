//! One raw RFC 5322 message → one [`InboundMessage`]: sender, subject, readable text (HTML
//! converted when there is no plain part, quoted history of a reply left out), attachments,
//! threading headers, and whether a robot sent it. Never panics and never fails: what cannot
//! be read is stored raw and flagged.

use aduan_channel::{normalize_email, Address, Attachment, ChannelKind, InboundMessage};
use chrono::{DateTime, Utc};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// What one raw message turned out to be.
#[derive(Debug)]
pub struct Parsed {
    pub msg: InboundMessage,
    /// A delivery failure notice naming one of our messages: (our `Message-ID`, the reason).
    pub bounce_of: Option<(String, String)>,
}

/// `<id>`: message ids are compared and stored with their angle brackets.
pub fn bracketed(id: &str) -> String {
    let t = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{t}>")
}

/// The channel-scoped idempotency key: the `Message-ID` plus a hash of the whole message, so
/// a mailbox resynced after a UIDVALIDITY change registers nothing twice, while two different
/// messages that share a Message-ID (broken mailers) are both kept.
pub fn external_id(raw: &[u8], message_id: Option<&str>) -> String {
    let h = hex::encode(&Sha256::digest(raw)[..12]);
    match message_id {
        Some(id) if !id.trim().is_empty() && id.len() <= 200 => format!("{}#{h}", bracketed(id)),
        _ => format!("sha256:{h}"),
    }
}

/// Parses `raw`. `own_address` is the office's address (mail from it is a loop);
/// `received_at` is when the server got it (IMAP INTERNALDATE), else the `Date` header is used.
pub fn parse(raw: &[u8], own_address: &str, received_at: Option<DateTime<Utc>>) -> Parsed {
    let Some(m) = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
    else {
        let mut msg = InboundMessage::new(
            ChannelKind::Email,
            external_id(raw, None),
            Address::None,
            String::from_utf8_lossy(&raw[..raw.len().min(4000)]).into_owned(),
        );
        msg.raw = Some(raw.to_vec());
        msg.parse_error = Some("not a MIME message: no header could be read".into());
        msg.received_at = received_at.unwrap_or_else(Utc::now);
        return Parsed {
            msg,
            bounce_of: None,
        };
    };
    let mut problems: Vec<String> = Vec::new();

    let from = m.from().and_then(|a| a.first());
    let from_addr = from.and_then(|a| a.address()).and_then(normalize_email);
    let reply_to = m
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .and_then(normalize_email);
    // The identity is the From address. A Reply-To is whatever the sender typed: it is kept as
    // a contact of this complaint for the officer, and never receives anything.
    let sender = match &from_addr {
        Some(f) => Address::Email(f.clone()),
        None => {
            problems.push("no usable From address; no reply can be sent".into());
            Address::None
        }
    };
    let mut contacts = Vec::new();
    if let Some(r) = reply_to.filter(|r| Some(r) != from_addr.as_ref()) {
        contacts.push(Address::Email(r));
    }

    let message_id = m.message_id().map(bracketed);
    let mut references: Vec<String> = Vec::new();
    for v in [m.references(), m.in_reply_to()] {
        let ids: Vec<&str> = match (v.as_text_list(), v.as_text()) {
            (Some(list), _) => list.iter().map(|c| c.as_ref()).collect(),
            (None, Some(t)) => t.split_whitespace().collect(),
            _ => Vec::new(),
        };
        for id in ids {
            let b = bracketed(id);
            references.retain(|r| r != &b);
            references.push(b);
        }
    }

    let is_reply = !references.is_empty();
    let mut text = body_text(&m);
    if is_reply {
        text = strip_quoted(&text);
    }
    let files = attachments(&m);
    let is_multipart = m
        .content_type()
        .is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"));
    if text.trim().is_empty() && is_multipart {
        if let Some(t) = broken_multipart_text(&m) {
            problems.push("a multipart message without parts; its body is kept as text".into());
            text = t;
        }
    }
    if text.trim().is_empty() && files.is_empty() {
        problems.push("the message has no text".into());
    }

    let auto = auto_generated(&m, own_address, from_addr.as_deref());
    let bounce_of = if auto.is_some() { bounce(&m) } else { None };

    let mut msg = InboundMessage::new(
        ChannelKind::Email,
        external_id(raw, message_id.as_deref()),
        sender,
        text,
    );
    msg.display_name = from
        .and_then(|a| a.name())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    msg.contacts = contacts;
    msg.subject = m
        .subject()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    msg.attachments = files;
    msg.received_at = received_at
        .or_else(|| {
            m.date()
                .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0))
        })
        .unwrap_or_else(Utc::now);
    msg.hints.message_id = message_id;
    msg.hints.references = references;
    msg.auto_generated = auto.is_some();
    msg.raw = Some(raw.to_vec());
    if !problems.is_empty() {
        msg.parse_error = Some(problems.join("; "));
    }
    if let Some(lang) = m.header_raw("Content-Language") {
        if lang.trim().to_ascii_lowercase().starts_with("en") {
            msg.lang = Some("en".into());
        }
    }
    Parsed { msg, bounce_of }
}

/// Every text body part, HTML converted to text where a part has no plain alternative.
fn body_text(m: &Message<'_>) -> String {
    let mut out = String::new();
    for i in 0..m.text_body_count() {
        if let Some(t) = m.body_text(i) {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(t.trim_end());
        }
    }
    if out.trim().is_empty() {
        if let Some(h) = m.body_html(0) {
            out = mail_parser::decoders::html::html_to_text(&h);
        }
    }
    // Normalize line endings and drop NULs a database would refuse.
    out.replace("\r\n", "\n").replace('\0', "")
}

fn attachments(m: &Message<'_>) -> Vec<Attachment> {
    let mut out = Vec::new();
    for (i, part) in m.attachments().enumerate() {
        let ct = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(s) => format!("{}/{}", c.ctype(), s),
                None => c.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        // A multipart container is never a file: a "multipart" message whose body has no parts
        // shows up here as one (its text is taken by `broken_multipart_text`).
        if ct.starts_with("multipart/") {
            continue;
        }
        let nested = matches!(part.body, PartType::Message(_));
        let filename = part
            .attachment_name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                part.message()
                    .and_then(|n| n.subject())
                    .map(|s| format!("{}.eml", sanitize(s)))
            })
            .unwrap_or_else(|| {
                let ext = if nested { "eml" } else { extension_for(&ct) };
                format!("lampiran-{}.{ext}", i + 1)
            });
        out.push(Attachment {
            filename,
            content_type: if nested { "message/rfc822".into() } else { ct },
            data: part.contents().to_vec(),
        });
    }
    out
}

/// The body of a multipart message that has no parts (no boundary, or nothing between them),
/// as text: kept for the officer instead of a nameless "attachment".
fn broken_multipart_text(m: &Message<'_>) -> Option<String> {
    m.attachments()
        .filter(|p| {
            p.content_type()
                .is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"))
        })
        .map(|p| String::from_utf8_lossy(p.contents()).trim().to_string())
        .find(|t| !t.is_empty())
}

fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let t = t.trim();
    if t.is_empty() {
        "pesan".into()
    } else {
        t.to_string()
    }
}

fn extension_for(ct: &str) -> &'static str {
    match ct {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        _ => "bin",
    }
}

/// Why a robot sent this message, if one did: RFC 3834 `Auto-Submitted`, `Precedence`,
/// mailing lists, bounces, vacation responders, or mail from the office's own address.
pub fn auto_generated(m: &Message<'_>, own_address: &str, from: Option<&str>) -> Option<String> {
    let h = |name: &str| m.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if let Some(v) = h("Auto-Submitted") {
        if !v.is_empty() && !v.starts_with("no") {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = h("Precedence") {
        if ["bulk", "junk", "list", "auto_reply"]
            .iter()
            .any(|p| v.starts_with(p))
        {
            return Some(format!("Precedence: {v}"));
        }
    }
    for name in [
        "List-Id",
        "List-Unsubscribe",
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Response-Suppress",
        "X-Autogenerated",
        "Feedback-ID",
    ] {
        if m.header_raw(name).is_some() {
            return Some(format!("{name} header"));
        }
    }
    if let Some(rp) = m.header_raw("Return-Path") {
        let rp = rp.trim();
        if rp == "<>" || rp.is_empty() {
            return Some("empty Return-Path".into());
        }
    }
    if let Some(f) = from {
        let local = f.split('@').next().unwrap_or("");
        if [
            "mailer-daemon",
            "postmaster",
            "noreply",
            "no-reply",
            "donotreply",
        ]
        .iter()
        .any(|l| local.eq_ignore_ascii_case(l))
        {
            return Some(format!("sent by {local}"));
        }
        if f.eq_ignore_ascii_case(own_address) {
            return Some("sent from the office's own address".into());
        }
    }
    if m.root_part().content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    }) {
        return Some("multipart/report (delivery or read notice)".into());
    }
    None
}

/// A delivery failure notice (RFC 3464, or a classic bounce with the original attached):
/// the `Message-ID` of the message that failed and the reason. Delays are not failures.
fn bounce(m: &Message<'_>) -> Option<(String, String)> {
    let mut original: Option<String> = None;
    let mut status = String::new();
    let mut failed = false;
    let mut delayed = false;
    for part in m.parts.iter() {
        let Some(ct) = part.content_type() else {
            if let PartType::Message(n) = &part.body {
                original = original.or_else(|| n.message_id().map(bracketed));
            }
            continue;
        };
        let full = format!(
            "{}/{}",
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase()
        );
        match full.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                let body = String::from_utf8_lossy(part.contents());
                for line in body.lines() {
                    let l = line.trim();
                    let lower = l.to_ascii_lowercase();
                    if let Some(a) = lower.strip_prefix("action:") {
                        let a = a.trim();
                        failed |= a.starts_with("failed");
                        delayed |= a.starts_with("delayed");
                    }
                    if lower.starts_with("status:") || lower.starts_with("diagnostic-code:") {
                        if !status.is_empty() {
                            status.push_str("; ");
                        }
                        status.push_str(l);
                    }
                }
            }
            "message/rfc822" | "message/global" => {
                if let PartType::Message(n) = &part.body {
                    original = original.or_else(|| n.message_id().map(bracketed));
                }
            }
            "text/rfc822-headers" | "message/rfc822-headers" | "text/rfc822-header" => {
                let body = part.contents();
                if let Some(h) = MessageParser::default().parse_headers(body) {
                    original = original.or_else(|| h.message_id().map(bracketed));
                }
            }
            _ => {}
        }
    }
    let report = m.root_part().content_type().is_some_and(|c| {
        c.subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if report && (delayed && !failed) {
        return None;
    }
    if !report {
        // A classic bounce: the original quoted as text; look for its Message-ID line.
        let body = body_text(m);
        if original.is_none() {
            original = body.lines().find_map(|l| {
                let t = l.trim();
                t.len()
                    .gt(&11)
                    .then(|| t.split_at(11))
                    .filter(|(k, _)| k.eq_ignore_ascii_case("message-id:"))
                    .map(|(_, v)| bracketed(v.trim()))
            });
        }
        status = body
            .lines()
            .take(6)
            .collect::<Vec<_>>()
            .join(" ")
            .trim()
            .to_string();
    }
    let id = original?;
    if status.is_empty() {
        status = m.subject().unwrap_or("delivery failed").to_string();
    }
    status.truncate(status.floor_char_boundary(500));
    Some((id, status))
}

/// The new part of a reply: the quoted history below an attribution line (`On … wrote:`,
/// `Pada … menulis:`, Outlook's `-----Original Message-----` / `From:`+`Sent:` block) and a
/// trailing block of `>` lines are cut. Inline answers between quotes are kept. Never returns
/// an empty text for a non-empty one.
pub fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut cut = lines.len();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        let lower = t.to_lowercase();
        let next = lines
            .get(i + 1)
            .map(|n| n.trim().to_lowercase())
            .unwrap_or_default();
        let attribution_end =
            |s: &str| s.ends_with("wrote:") || s.ends_with("menulis:") || s.ends_with("schrieb:");
        let starts_attr = lower.starts_with("on ") || lower.starts_with("pada ");
        let is_attr = (starts_attr && attribution_end(&lower))
            || (starts_attr && attribution_end(&next) && !next.starts_with('>'));
        let separator = {
            let inner = lower.trim_matches('-').trim();
            (lower.starts_with("-----")
                && [
                    "original message",
                    "pesan asli",
                    "pesan awal",
                    "pesan semula",
                ]
                .contains(&inner))
                || (lower.starts_with("_____") && {
                    let n = next.as_str();
                    n.starts_with("from:") || n.starts_with("dari:")
                })
        };
        let outlook = (lower.starts_with("from:") || lower.starts_with("dari:"))
            && ["sent:", "date:", "dikirim:", "tanggal:"]
                .iter()
                .any(|p| next.starts_with(p))
            && i > 0;
        if is_attr || separator || outlook {
            cut = i;
            break;
        }
    }
    let mut kept: Vec<&str> = lines[..cut].to_vec();
    // A trailing block of quoted lines (blank lines inside it included).
    while let Some(last) = kept.last() {
        let t = last.trim_start();
        if t.is_empty() || t.starts_with('>') {
            kept.pop();
        } else {
            break;
        }
    }
    let out = kept.join("\n").trim_end().to_string();
    if out.trim().is_empty() {
        text.trim_end().to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "pengaduan@dinas.go.id";

    fn p(raw: &str) -> Parsed {
        parse(raw.replace('\n', "\r\n").as_bytes(), OWN, None)
    }

    #[test]
    fn plain_message() {
        let r = p(
            "From: Budi Santoso <Budi@Example.com>\nTo: pengaduan@dinas.go.id\n\
                   Subject: Izin usaha belum terbit\nMessage-ID: <abc@example.com>\n\
                   Date: Mon, 16 Nov 2026 09:00:00 +0700\n\nSudah tiga minggu.\n",
        );
        let m = r.msg;
        assert_eq!(m.sender, Address::Email("budi@example.com".into()));
        assert_eq!(m.display_name.as_deref(), Some("Budi Santoso"));
        assert_eq!(m.subject.as_deref(), Some("Izin usaha belum terbit"));
        assert_eq!(m.text, "Sudah tiga minggu.");
        assert_eq!(m.hints.message_id.as_deref(), Some("<abc@example.com>"));
        assert!(m.external_id.starts_with("<abc@example.com>#"));
        assert!(!m.auto_generated);
        assert!(m.parse_error.is_none());
        let want = DateTime::parse_from_rfc2822("Mon, 16 Nov 2026 09:00:00 +0700").unwrap();
        assert_eq!(m.received_at, want.with_timezone(&Utc));
    }

    #[test]
    fn html_only_quoted_printable_latin1() {
        let r = p("From: a@example.com\nSubject: =?iso-8859-1?Q?Pengaduan_caf=E9?=\n\
                   MIME-Version: 1.0\nContent-Type: text/html; charset=iso-8859-1\n\
                   Content-Transfer-Encoding: quoted-printable\n\n\
                   <html><body><p>Jalan rusak di depan caf=E9.</p><p>Mohon <b>segera</b></p></body></html>\n");
        assert_eq!(r.msg.subject.as_deref(), Some("Pengaduan café"));
        assert!(
            r.msg.text.contains("Jalan rusak di depan café."),
            "{}",
            r.msg.text
        );
        assert!(r.msg.text.contains("segera"));
        assert!(!r.msg.text.contains("<p>"));
    }

    #[test]
    fn alternative_prefers_plain_and_keeps_attachments() {
        let r = p("From: a@example.com\nSubject: x\nMIME-Version: 1.0\n\
            Content-Type: multipart/mixed; boundary=\"m\"\n\n--m\n\
            Content-Type: multipart/alternative; boundary=\"a\"\n\n--a\n\
            Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n\
            VGVyaW1hIGthc2loLCBwZWxheWFuYW4gbGFtYmF0Lg==\n--a\n\
            Content-Type: text/html\n\n<p>HTML version</p>\n--a--\n--m\n\
            Content-Type: application/pdf; name=\"=?utf-8?B?c3VyYXQucGRm?=\"\n\
            Content-Disposition: attachment\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQ=\n--m--\n");
        assert_eq!(r.msg.text, "Terima kasih, pelayanan lambat.");
        assert_eq!(r.msg.attachments.len(), 1);
        let a = &r.msg.attachments[0];
        assert_eq!(a.filename, "surat.pdf");
        assert_eq!(a.content_type, "application/pdf");
        assert_eq!(a.data, b"%PDF-1.4");
    }

    /// Trust finding 15: a multipart message with no parts is no junk attachment; it is
    /// flagged, and a body without boundaries is kept as text.
    #[test]
    fn empty_multipart_is_flagged_not_an_attachment() {
        let head =
            "From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary=\"b\"\n\n";
        let r = p(head);
        assert!(r.msg.attachments.is_empty());
        assert_eq!(
            r.msg.parse_error.as_deref(),
            Some("the message has no text")
        );
        let r = p(&format!("{head}Jalan rusak, tanpa batas bagian\n"));
        assert!(r.msg.attachments.is_empty());
        assert_eq!(r.msg.text, "Jalan rusak, tanpa batas bagian");
        assert!(r.msg.parse_error.unwrap().contains("without parts"));
    }

    #[test]
    fn identity_is_from_and_reply_to_only_a_contact() {
        let r = p(
            "From: Budi <budi@example.id>\nReply-To: other@attacker.example\n\
            Subject: x\n\nisi\n",
        );
        assert_eq!(r.msg.sender, Address::Email("budi@example.id".into()));
        assert_eq!(
            r.msg.contacts,
            vec![Address::Email("other@attacker.example".into())]
        );
        let r = p("Reply-To: other@attacker.example\nSubject: x\n\nisi\n");
        assert_eq!(
            r.msg.sender,
            Address::None,
            "Reply-To never stands in for From"
        );
    }

    #[test]
    fn reply_threads_and_drops_quoted_history() {
        let r = p("From: a@example.com\nSubject: Re: [ADU-2026-000042] Tanda terima\n\
            In-Reply-To: <r2@aduan>\nReferences: <m1@example.com> <r2@aduan>\n\n\
            Ini tambahan datanya.\n\nOn Mon, 16 Nov 2026 at 09:00, Layanan <pengaduan@dinas.go.id> wrote:\n\
            > Pengaduan Anda telah kami terima.\n");
        assert_eq!(
            r.msg.hints.references,
            vec!["<m1@example.com>", "<r2@aduan>"]
        );
        assert_eq!(r.msg.text, "Ini tambahan datanya.");
    }

    #[test]
    fn quote_stripping_variants() {
        assert_eq!(
            strip_quoted(
                "Baik.\n\nPada Sen, 16 Nov 2026 pukul 09.00 Layanan <x@y.id>\nmenulis:\n> lama"
            ),
            "Baik."
        );
        assert_eq!(
            strip_quoted("Oke\n-----Original Message-----\nFrom: x\nSent: y\n\nold"),
            "Oke"
        );
        assert_eq!(
            strip_quoted("Siap\nDari: Layanan\nDikirim: Senin\nold"),
            "Siap"
        );
        assert_eq!(
            strip_quoted("> q1\njawab 1\n> q2\njawab 2\n\n> sig"),
            "> q1\njawab 1\n> q2\njawab 2"
        );
        assert_eq!(strip_quoted("> hanya kutipan"), "> hanya kutipan");
    }

    #[test]
    fn robots_are_recognized() {
        for h in [
            "Auto-Submitted: auto-replied",
            "Precedence: bulk",
            "List-Id: <warga.lists.example>",
            "X-Autoreply: yes",
            "X-Auto-Response-Suppress: All",
            "Return-Path: <>",
        ] {
            let r = p(&format!(
                "From: a@example.com\n{h}\nSubject: Out of office\n\nSaya cuti.\n"
            ));
            assert!(r.msg.auto_generated, "{h}");
        }
        let r = p("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered\n\nx\n");
        assert!(r.msg.auto_generated);
        let r = p("From: pengaduan@dinas.go.id\nSubject: loop\n\nx\n");
        assert!(r.msg.auto_generated);
        let r = p("From: a@example.com\nAuto-Submitted: no\nSubject: human\n\nx\n");
        assert!(!r.msg.auto_generated);
    }

    #[test]
    fn dsn_names_our_message() {
        let r = p("From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\n\
            Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n\
            MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
            --b\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n--b\n\
            Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n\
            Final-Recipient: rfc822; nobody@example.com\nAction: failed\nStatus: 5.1.1\n\
            Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--b\n\
            Content-Type: text/rfc822-headers\n\nFrom: pengaduan@dinas.go.id\n\
            Message-ID: <1.abc.adu-2026-000001@aduan.localhost>\nSubject: [ADU-2026-000001] x\n\n--b--\n");
        let (id, why) = r.bounce_of.expect("bounce");
        assert_eq!(id, "<1.abc.adu-2026-000001@aduan.localhost>");
        assert!(why.contains("5.1.1"), "{why}");
        assert!(r.msg.auto_generated);
    }

    #[test]
    fn delayed_dsn_is_not_a_failure() {
        let r = p("From: MAILER-DAEMON@mx.example.com\nSubject: Delayed\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
            --b\nContent-Type: message/delivery-status\n\nAction: delayed\nStatus: 4.4.1\n\n--b\n\
            Content-Type: text/rfc822-headers\n\nMessage-ID: <x@aduan>\n\n--b--\n");
        assert!(r.bounce_of.is_none());
        assert!(r.msg.auto_generated);
    }

    #[test]
    fn garbage_is_kept_raw_and_flagged() {
        let raw = [0xffu8, 0xfe, 0, 1, 2, b'\n', b'\n', 0x80];
        let r = parse(&raw, OWN, None);
        assert!(r.msg.parse_error.is_some());
        assert_eq!(r.msg.raw.as_deref(), Some(&raw[..]));
        let r = p("Subject: tanpa pengirim\n\nisi\n");
        assert!(r.msg.parse_error.as_deref().unwrap().contains("From"));
        assert_eq!(r.msg.sender, Address::None);
    }

    #[test]
    fn inline_image_is_kept_as_an_attachment() {
        let r = p(
            "From: a@example.com\nSubject: Foto\nContent-Type: multipart/related; boundary=r\n\n\
            --r\nContent-Type: text/html\n\n<p>Lihat foto <img src=\"cid:foto1\"></p>\n--r\n\
            Content-Type: image/png\nContent-ID: <foto1>\nContent-Disposition: inline\n\
            Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--r--\n",
        );
        assert!(r.msg.text.contains("Lihat foto"), "{}", r.msg.text);
        assert_eq!(r.msg.attachments.len(), 1);
        assert_eq!(r.msg.attachments[0].content_type, "image/png");
        assert_eq!(r.msg.attachments[0].filename, "lampiran-1.png");
        assert_eq!(r.msg.attachments[0].data, b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn attached_message_is_an_eml_attachment() {
        let r = p(
            "From: a@example.com\nSubject: Fwd\nContent-Type: multipart/mixed; boundary=z\n\n\
            --z\nContent-Type: text/plain\n\nlihat lampiran\n--z\nContent-Type: message/rfc822\n\n\
            From: b@example.com\nSubject: Surat lama\n\nisi lama\n--z--\n",
        );
        assert_eq!(r.msg.text, "lihat lampiran");
        assert_eq!(r.msg.attachments.len(), 1);
        assert_eq!(r.msg.attachments[0].content_type, "message/rfc822");
        assert_eq!(r.msg.attachments[0].filename, "Surat lama.eml");
    }

    /// Real-shaped messages with bytes replaced, inserted and cut at random, and random bytes:
    /// intake never panics and always yields a message it can register (run longer in CI).
    const SEEDS: [&str; 4] = [
        "From: Budi <budi@example.id>\r\nTo: p@x\r\nSubject: =?utf-8?Q?Jalan_rusak?=\r\nMessage-ID: <a@b>\r\nIn-Reply-To: <r@aduan>\r\n\r\nIsi.\r\n\r\nPada Sen, 1 Des 2026 Layanan menulis:\r\n> lama\r\n",
        "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=E9</p>\r\n--z\r\nContent-Type: application/pdf; name=\"=?utf-8?B?c3VyYXQucGRm?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--z--\r\n",
        "From: MAILER-DAEMON@x\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n--r\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <1.x.adu-2026-000001@aduan>\r\n\r\nx\r\n--r--\r\n",
        "From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: dalam\r\n\r\nisi\r\n",
    ];

    proptest::proptest! {
        #[test]
        fn fuzz_mime_intake(
            seed in 0..SEEDS.len(),
            edits in proptest::collection::vec((0usize..400, proptest::num::u8::ANY, 0u8..3), 0..12),
            cut in proptest::option::of(0usize..400),
        ) {
            let mut raw = SEEDS[seed].as_bytes().to_vec();
            for (pos, byte, op) in edits {
                let i = pos % (raw.len() + 1);
                match op {
                    0 if i < raw.len() => raw[i] = byte,
                    1 => raw.insert(i, byte),
                    _ if i < raw.len() => { raw.remove(i); }
                    _ => {}
                }
            }
            if let Some(c) = cut {
                raw.truncate(c.min(raw.len()));
            }
            let r = parse(&raw, OWN, None);
            proptest::prop_assert!(!r.msg.external_id.is_empty());
            proptest::prop_assert!(r.msg.raw.is_some());
        }

        #[test]
        fn fuzz_mime_random_bytes(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let r = parse(&raw, OWN, None);
            proptest::prop_assert!(!r.msg.external_id.is_empty());
        }
    }

    #[test]
    fn never_panics_on_prefixes_of_a_message() {
        let raw = "From: a@example.com\r\nSubject: =?utf-8?B?SXp?=\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nabc=9\r\n--z--\r\n";
        for n in 0..raw.len() {
            let _ = parse(&raw.as_bytes()[..n], OWN, None);
        }
    }
}

//! One raw RFC 5322 message → one [`InboundMessage`]: sender, subject, readable text (HTML
//! converted when there is no plain part, quoted history of a reply left out), attachments,
//! threading headers, and whether a robot sent it. Never panics and never fails: what cannot
//! be read is stored raw and flagged.

use aduan_channel::{normalize_email, Address, Attachment, ChannelKind, InboundMessage, Lang};
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
    msg.sender_unproven = crate::auth::sender_failure(&m, raw);
    msg.auto_generated = auto.is_some();
    msg.raw = Some(raw.to_vec());
    if !problems.is_empty() {
        msg.parse_error = Some(problems.join("; "));
    }
    if let Some(Lang::En) = m.header_raw("Content-Language").map(Lang::from_tag) {
        msg.lang = Some(Lang::En);
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
mod tests;

//! Before the transaction: a message checked, capped and prepared (text, attachments, the
//! proven identity and the contacts, the register numbers it names).

use super::*;

/// Finds register numbers (`PREFIX-YYYY-NNNNNN`) in text, case-insensitively, in order.
pub fn find_register_numbers(prefix: &str, text: &str) -> Vec<String> {
    let upper = text.to_ascii_uppercase();
    let needle = format!("{prefix}-");
    let bytes = upper.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = upper[from..].find(&needle) {
        let start = from + pos;
        from = start + needle.len();
        // Not glued to a preceding word character.
        if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &bytes[from..];
        let digits = |s: &[u8], n: usize| s.len() >= n && s[..n].iter().all(u8::is_ascii_digit);
        if digits(rest, 4) && rest.get(4) == Some(&b'-') && digits(&rest[5..], 6) {
            let end = 11;
            if rest.get(end).is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let no = format!(
                "{prefix}-{}",
                std::str::from_utf8(&rest[..end]).unwrap_or("")
            );
            if !out.contains(&no) {
                out.push(no);
            }
        }
    }
    out
}

/// Removes NUL characters from every text field: PostgreSQL refuses them in `TEXT`, and no
/// complainant means one (a broken encoded-word, a binary file name).
pub(super) fn strip_nuls(msg: &mut InboundMessage) {
    fn fix(s: &mut String) {
        if s.contains('\0') {
            s.retain(|c| c != '\0');
        }
    }
    fix(&mut msg.external_id);
    fix(&mut msg.text);
    for s in msg
        .subject
        .iter_mut()
        .chain(msg.display_name.iter_mut())
        .chain(msg.parse_error.iter_mut())
        .chain(msg.hints.message_id.iter_mut())
        .chain(msg.hints.conversation.iter_mut())
        .chain(msg.hints.references.iter_mut())
    {
        fix(s);
    }
    for a in &mut msg.attachments {
        fix(&mut a.filename);
        fix(&mut a.content_type);
    }
}

/// Longest provider message id (`Message-ID`, `References` entry) kept: RFC 5322's line limit.
/// Longer ones are dropped: they would exceed PostgreSQL's B-tree row limit.
pub(super) const MAX_MESSAGE_ID_BYTES: usize = 998;

/// Most `References` entries a message may thread by (the newest are kept).
pub(super) const MAX_REFERENCES: usize = 100;

/// Longest `external_id` kept as it is; a longer one is replaced by its digest (still unique).
pub(super) const MAX_EXTERNAL_ID_BYTES: usize = 500;

/// Register numbers a message may name that are looked up for threading (and listed in its
/// flag): a text naming thousands would otherwise cost a query each.
pub(super) const MAX_MENTIONS: usize = 10;

/// Longest subject and display name kept (characters).
pub(super) const MAX_SUBJECT_CHARS: usize = 1_000;

pub(super) const MAX_NAME_CHARS: usize = 200;
/// An attachment's name as officers see it, characters; its type, bytes.
pub(super) const MAX_FILENAME_CHARS: usize = 255;
pub(super) const MAX_CONTENT_TYPE_BYTES: usize = 127;

/// The message with limits applied, computed once outside the transaction.
pub(super) struct Prepared {
    pub(super) msg: InboundMessage,
    pub(super) attachments: Vec<Attachment>,
    pub(super) text: String,
    pub(super) notes: Vec<String>,
    pub(super) reg_numbers: Vec<String>,
    /// The sender's address in register form when the channel proves it: the complainant's
    /// identity. `None` for the web form and the counter.
    pub(super) identity: Option<String>,
    /// The contacts given with this message, in register form, without the identity.
    pub(super) contacts: Vec<String>,
}

impl Prepared {
    pub(super) fn new(core: &Core, mut msg: InboundMessage) -> Prepared {
        let s = &core.settings;
        strip_nuls(&mut msg);
        let mut notes = Vec::new();
        if let Some(e) = msg.parse_error.take() {
            notes.push(format!("source could not be fully parsed: {e}"));
        }
        cap_fields(&mut msg, &mut notes);
        // A clock in the future (a modem's wrong SMSC time) is kept as "sent at" and noted;
        // the register dates everything by its own clock.
        let now = core.clock.now();
        if msg.received_at > now + chrono::Duration::days(1) {
            notes.push(format!(
                "source time {} is in the future; registered at receipt time",
                msg.received_at.to_rfc3339()
            ));
        }
        let mut attachments = Vec::new();
        let all = std::mem::take(&mut msg.attachments);
        if all.len() > s.max_attachments {
            notes.push(format!(
                "{} attachments; only the first {} were stored (the raw source keeps all)",
                all.len(),
                s.max_attachments
            ));
        }
        for a in all.into_iter().take(s.max_attachments) {
            if a.data.len() > s.max_attachment_bytes {
                notes.push(format!(
                    "attachment `{}` ({} bytes) exceeds the {}-byte limit and was not stored",
                    a.filename,
                    a.data.len(),
                    s.max_attachment_bytes
                ));
            } else {
                attachments.push(a);
            }
        }
        let (t, cut) = truncate_chars(&msg.text, s.max_text_chars);
        let text = t.to_string();
        if cut {
            notes.push(format!(
                "text longer than {} characters was cut; the raw source keeps all of it",
                s.max_text_chars
            ));
            if msg.raw.is_none() {
                msg.raw = Some(msg.text.clone().into_bytes());
            }
        }
        // LAPOR! entries are written by third parties and belong to their report (the
        // conversation) only: a number in them is never a threading hint.
        let mut reg_numbers = Vec::new();
        if msg.channel != ChannelKind::Lapor {
            let subject = msg.subject.as_deref().unwrap_or("");
            for n in find_register_numbers(&s.register_prefix, subject)
                .into_iter()
                .chain(find_register_numbers(&s.register_prefix, &text))
            {
                if !reg_numbers.contains(&n) && reg_numbers.len() < MAX_MENTIONS {
                    reg_numbers.push(n);
                }
            }
        }
        // A sender the channel failed to prove this time (an email failing DMARC at the
        // office's server) is no identity: it finds no complainant, joins nothing by number.
        if let Some(why) = &msg.sender_unproven {
            notes.push(format!("sender not proven ({why}): registered on its own"));
        }
        let identity = Some(msg.sender.to_key()).filter(|k| {
            !k.is_empty() && msg.channel.proves_sender() && msg.sender_unproven.is_none()
        });
        let mut contacts: Vec<String> = Vec::new();
        for a in &msg.contacts {
            let k = a.to_key();
            if !k.is_empty() && Some(&k) != identity.as_ref() && !contacts.contains(&k) {
                contacts.push(k);
            }
        }
        Prepared {
            msg,
            attachments,
            text,
            notes,
            reg_numbers,
            identity,
            contacts,
        }
    }
}

/// Caps the fields the register indexes or searches, so that a huge subject, name or
/// Message-ID is stored (shortened, noted) the same way on SQLite and PostgreSQL instead of
/// being refused by one of them.
pub(super) fn cap_fields(msg: &mut InboundMessage, notes: &mut Vec<String>) {
    if msg.external_id.len() > MAX_EXTERNAL_ID_BYTES {
        msg.external_id = format!(
            "sha256:{}",
            register::sha256_hex(msg.external_id.as_bytes())
        );
    }
    for (field, v, max) in [
        ("subject", &mut msg.subject, MAX_SUBJECT_CHARS),
        ("sender name", &mut msg.display_name, MAX_NAME_CHARS),
    ] {
        if let Some(x) = v.as_mut() {
            let (t, cut) = truncate_chars(x, max);
            if cut {
                *x = t.to_string();
                notes.push(format!("{field} longer than {max} characters was cut"));
            }
        }
    }
    for a in &mut msg.attachments {
        let (t, cut) = truncate_chars(&a.filename, MAX_FILENAME_CHARS);
        if cut {
            a.filename = t.to_string();
            notes.push(format!(
                "an attachment name longer than {MAX_FILENAME_CHARS} characters was cut"
            ));
        }
        if a.content_type.len() > MAX_CONTENT_TYPE_BYTES {
            a.content_type = "application/octet-stream".into();
        }
    }
    if msg
        .hints
        .message_id
        .as_ref()
        .is_some_and(|m| m.len() > MAX_MESSAGE_ID_BYTES)
    {
        msg.hints.message_id = None;
        notes.push(format!(
            "message id longer than {MAX_MESSAGE_ID_BYTES} bytes was not kept"
        ));
    }
    let refs = &mut msg.hints.references;
    let before = refs.len();
    refs.retain(|r| r.len() <= MAX_MESSAGE_ID_BYTES);
    if refs.len() > MAX_REFERENCES {
        refs.drain(..refs.len() - MAX_REFERENCES);
    }
    if refs.len() < before {
        notes.push(format!(
            "{} over-long or surplus reply references were not kept",
            before - refs.len()
        ));
    }
    if let Some(c) = msg
        .hints
        .conversation
        .as_mut()
        .filter(|c| c.len() > MAX_MESSAGE_ID_BYTES)
    {
        *c = format!("sha256:{}", register::sha256_hex(c.as_bytes()));
    }
}

pub(super) fn search_fragment(text: &str) -> String {
    register::fold(truncate_chars(text, 2000).0)
}

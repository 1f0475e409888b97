//! One Telegram update → what the channel does with it: a message for the register (text,
//! caption, photo, document, voice, location, contact, edits), a command to answer, or nothing.
//! Pure: files are named here and fetched by the channel.

use aduan_channel::{normalize_phone, Address, ChannelKind, InboundMessage, Intent, Lang};
use teloxide::types::{FileId, Message, Update, UpdateKind};

/// A file the message carries, to fetch through `getFile` (or note, when too large).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub id: FileId,
    pub size: u32,
    pub filename: String,
    pub content_type: String,
}

#[derive(Debug)]
pub enum Action {
    /// Register this message (after fetching `files`).
    Register {
        msg: Box<InboundMessage>,
        files: Vec<FileRef>,
    },
    /// `/start` or `/bantuan`: answer with the greeting / help in the sender's language.
    Help { chat: i64, lang: Lang, start: bool },
    /// Not for us: a group message, a service message, an update kind we do not handle.
    Ignore(&'static str),
}

/// `chat:message`: Telegram message ids are per chat.
pub fn message_key(chat: i64, message: i32) -> String {
    format!("{chat}:{message}")
}

pub fn convert(u: &Update, allow_groups: bool) -> Action {
    let (m, edited) = match &u.kind {
        UpdateKind::Message(m) => (m, false),
        UpdateKind::EditedMessage(m) => (m, true),
        _ => return Action::Ignore("update kind not handled"),
    };
    if !m.chat.is_private() && !allow_groups {
        return Action::Ignore("group chat");
    }
    let chat = m.chat.id.0;
    let lang = m
        .from
        .as_ref()
        .and_then(|f| f.language_code.as_deref())
        .map(Lang::from_tag)
        .unwrap_or_default();
    let text = m.text().or(m.caption()).unwrap_or("").trim().to_string();
    if !edited {
        if let Some(cmd) = command(&text) {
            match cmd.0.as_str() {
                "start" => {
                    return Action::Help {
                        chat,
                        lang,
                        start: true,
                    }
                }
                "bantuan" | "help" => {
                    return Action::Help {
                        chat,
                        lang,
                        start: false,
                    }
                }
                "status" => {
                    let no = cmd.1.trim().to_ascii_uppercase();
                    if no.is_empty() {
                        return Action::Help {
                            chat,
                            lang,
                            start: false,
                        };
                    }
                    let mut msg = base(m, chat, lang, edited);
                    msg.text = text.clone();
                    msg.intent = Intent::StatusQuery { register_no: no };
                    return Action::Register {
                        msg: Box::new(msg),
                        files: Vec::new(),
                    };
                }
                _ => {}
            }
        }
    }
    let mut msg = base(m, chat, lang, edited);
    let mut parts: Vec<String> = Vec::new();
    if edited {
        parts.push(match lang {
            Lang::Id => "[pesan diubah]".into(),
            Lang::En => "[edited message]".into(),
        });
    }
    if !text.is_empty() {
        parts.push(text);
    }
    let files = files_of(m, lang, &mut parts);
    shared_place_and_contact(m, lang, &mut parts, &mut msg.contacts);
    if parts.is_empty() && files.is_empty() {
        return Action::Ignore("nothing a complaint can hold (sticker, service message)");
    }
    msg.text = parts.join("\n");
    Action::Register {
        msg: Box::new(msg),
        files,
    }
}

/// The files a message carries (the largest photo, a document, a voice message — which is
/// also named in the text), to be downloaded.
fn files_of(m: &Message, lang: Lang, parts: &mut Vec<String>) -> Vec<FileRef> {
    let mut files = Vec::new();
    if let Some(p) = m
        .photo()
        .and_then(|ps| ps.iter().max_by_key(|p| p.width * p.height))
    {
        files.push(FileRef {
            id: p.file.id.clone(),
            size: p.file.size,
            filename: format!("foto-{}.jpg", m.id.0),
            content_type: "image/jpeg".into(),
        });
    }
    if let Some(d) = m.document() {
        files.push(FileRef {
            id: d.file.id.clone(),
            size: d.file.size,
            filename: d
                .file_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("dokumen-{}", m.id.0)),
            content_type: d
                .mime_type
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_else(|| "application/octet-stream".into()),
        });
    }
    if let Some(v) = m.voice() {
        parts.push(match lang {
            Lang::Id => format!("[pesan suara, {} detik]", v.duration.seconds()),
            Lang::En => format!("[voice message, {} s]", v.duration.seconds()),
        });
        files.push(FileRef {
            id: v.file.id.clone(),
            size: v.file.size,
            filename: format!("suara-{}.ogg", m.id.0),
            content_type: v
                .mime_type
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_else(|| "audio/ogg".into()),
        });
    }
    files
}

/// A shared location (as a map link) and a shared contact card; the sender's own number is
/// kept as a contact of this complaint, never as an identity.
fn shared_place_and_contact(
    m: &Message,
    lang: Lang,
    parts: &mut Vec<String>,
    contacts: &mut Vec<Address>,
) {
    if let Some(l) = m.location() {
        parts.push(format!(
            "{}: {:.6}, {:.6} (https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6})",
            match lang {
                Lang::Id => "Lokasi",
                Lang::En => "Location",
            },
            l.latitude,
            l.longitude,
            l.latitude,
            l.longitude
        ));
    }
    if let Some(c) = m.contact() {
        let name = [Some(c.first_name.as_str()), c.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        parts.push(format!(
            "{}: {name} {}",
            match lang {
                Lang::Id => "Kontak",
                Lang::En => "Contact",
            },
            c.phone_number
        ));
        // The sender's own number (not a third party's card) is kept as a contact of this
        // complaint for the officer; it is never an identity of the complainant.
        let own = match (c.user_id, m.from.as_ref()) {
            (Some(cu), Some(f)) => cu == f.id,
            _ => false,
        };
        if own {
            let p = c.phone_number.trim();
            let p = if p.starts_with('+') {
                p.to_string()
            } else {
                format!("+{p}")
            };
            if let Some(n) = normalize_phone(&p) {
                contacts.push(Address::Phone(n));
            }
        }
    }
}

fn base(m: &Message, chat: i64, lang: Lang, edited: bool) -> InboundMessage {
    let key = message_key(chat, m.id.0);
    let external_id = match (edited, m.edit_date()) {
        (true, Some(d)) => format!("{key}:edit:{}", d.timestamp()),
        (true, None) => format!("{key}:edit"),
        _ => key.clone(),
    };
    let mut msg = InboundMessage::new(
        ChannelKind::Telegram,
        external_id,
        Address::TelegramChat(chat),
        String::new(),
    );
    msg.display_name = m
        .from
        .as_ref()
        .map(|f| f.full_name())
        .filter(|n| !n.trim().is_empty());
    msg.received_at = match (edited, m.edit_date()) {
        (true, Some(d)) => *d,
        _ => m.date,
    };
    msg.hints.conversation = Some(chat.to_string());
    if !edited {
        msg.hints.message_id = Some(key);
    }
    if let Some(r) = m.reply_to_message() {
        msg.hints.references = vec![message_key(chat, r.id.0)];
    }
    if lang == Lang::En {
        msg.lang = Some(Lang::En);
    }
    msg
}

/// `/cmd args` (also `/cmd@botname args`) → (cmd lowercased, args).
pub fn command(text: &str) -> Option<(String, String)> {
    let rest = text.strip_prefix('/')?;
    let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let cmd = head.split('@').next().unwrap_or("").to_ascii_lowercase();
    if cmd.is_empty() || !cmd.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((cmd, args.trim().to_string()))
}

/// The greeting (`/start`) or help (`/bantuan`).
pub fn help_text(lang: Lang, start: bool, office: &str) -> String {
    match (lang, start) {
        (Lang::Id, true) => format!(
            "Selamat datang di layanan pengaduan {office}.\n\nTuliskan pengaduan Anda dalam satu \
             pesan: apa yang terjadi, di mana dan kapan. Foto atau dokumen boleh dilampirkan. \
             Anda akan menerima nomor register sebagai tanda terima.\n\n{}",
            help_text(Lang::Id, false, office)
        ),
        (Lang::Id, false) => "Perintah:\n/status ADU-2026-000042 — status pengaduan Anda\n\
             /bantuan — bantuan ini\n\nPesan berikutnya di obrolan ini ditambahkan ke pengaduan \
             Anda yang masih terbuka."
            .into(),
        (Lang::En, true) => format!(
            "Welcome to the complaint service of {office}.\n\nWrite your complaint in one \
             message: what happened, where and when. Photos or documents may be attached. You \
             will receive a register number as a receipt.\n\n{}",
            help_text(Lang::En, false, office)
        ),
        (Lang::En, false) => "Commands:\n/status ADU-2026-000042 — the status of your complaint\n\
             /help — this help\n\nFurther messages in this chat are added to your open complaint."
            .into(),
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// A real-shaped update whose fields are replaced, dropped or added at random: the reader
    /// (teloxide's types, then `convert`) must take whatever decodes without panicking.
    fn mutated_update() -> impl Strategy<Value = Value> {
        let base = json!({"update_id": 10, "message": {
            "message_id": 5, "date": 1_795_000_000,
            "from": {"id": 111, "is_bot": false, "first_name": "Budi", "language_code": "id"},
            "chat": {"id": 111, "type": "private", "first_name": "Budi"},
            "text": "/status ADU-2026-000042",
            "caption": "foto",
            "photo": [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1, "file_size": 3}],
            "document": {"file_id": "d", "file_unique_id": "e", "file_name": "x.pdf", "file_size": 9},
            "contact": {"phone_number": "+6281234567890", "first_name": "B", "user_id": 111},
            "location": {"latitude": -6.2, "longitude": 106.8}
        }});
        let paths: Vec<Vec<&'static str>> = vec![
            vec!["message", "text"],
            vec!["message", "caption"],
            vec!["message", "from", "id"],
            vec!["message", "chat", "id"],
            vec!["message", "chat", "type"],
            vec!["message", "photo"],
            vec!["message", "document", "file_size"],
            vec!["message", "contact", "phone_number"],
            vec!["message", "contact", "user_id"],
            vec!["message", "location", "latitude"],
            vec!["message", "date"],
            vec!["message", "from", "language_code"],
            vec!["message"],
        ];
        let values = prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            "\\PC{0,80}".prop_map(Value::String),
            Just(json!([])),
            Just(json!({})),
            Just(json!("private")),
            Just(json!("group")),
            Just(json!("/start")),
            Just(json!("/status")),
            Just(json!("STATUS adu 2026 9999999999")),
        ];
        proptest::collection::vec((0..paths.len(), values, any::<bool>()), 0..6).prop_map(
            move |edits| {
                let mut v = base.clone();
                for (i, val, remove) in edits {
                    let path = &paths[i];
                    let (last, parents) = path.split_last().unwrap();
                    let mut cur = Some(&mut v);
                    for p in parents {
                        cur = cur.and_then(|c| c.get_mut(*p));
                    }
                    if let Some(o) = cur.and_then(|c| c.as_object_mut()) {
                        if remove {
                            o.remove(*last);
                        } else {
                            o.insert(last.to_string(), val);
                        }
                    }
                }
                v
            },
        )
    }

    proptest! {
        /// Telegram updates of any shape: decoded or refused, never a panic (longer in CI).
        #[test]
        fn fuzz_telegram_update_reader(v in mutated_update(), groups in any::<bool>()) {
            if let Ok(u) = serde_json::from_value::<Update>(v) {
                let _ = convert(&u, groups);
            }
        }

        #[test]
        fn fuzz_telegram_commands(t in "\\PC{0,60}") {
            let _ = command(&t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Update {
        serde_json::from_str(json).unwrap()
    }

    const FROM: &str = r#""from":{"id":111,"is_bot":false,"first_name":"Budi","last_name":"Santoso","language_code":"id"}"#;
    const CHAT: &str = r#""chat":{"id":111,"type":"private","first_name":"Budi"}"#;

    fn msg(extra: &str) -> String {
        format!(
            r#"{{"update_id":10,"message":{{"message_id":5,"date":1795000000,{FROM},{CHAT},{extra}}}}}"#
        )
    }

    #[test]
    fn text_message() {
        let Action::Register { msg, files } =
            convert(&update(&msg(r#""text":"Jalan rusak""#)), false)
        else {
            panic!()
        };
        assert_eq!(msg.external_id, "111:5");
        assert_eq!(msg.sender, Address::TelegramChat(111));
        assert_eq!(msg.text, "Jalan rusak");
        assert_eq!(msg.display_name.as_deref(), Some("Budi Santoso"));
        assert_eq!(msg.hints.conversation.as_deref(), Some("111"));
        assert_eq!(msg.hints.message_id.as_deref(), Some("111:5"));
        assert!(files.is_empty());
    }

    #[test]
    fn photo_with_caption_takes_the_largest_size() {
        let Action::Register { msg, files } = convert(
            &update(&msg(
                r#""caption":"Lubang","photo":[{"file_id":"s","file_unique_id":"s1","width":90,"height":90,"file_size":100},{"file_id":"l","file_unique_id":"l1","width":1280,"height":960,"file_size":90000}]"#,
            )),
            false,
        ) else {
            panic!()
        };
        assert_eq!(msg.text, "Lubang");
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].id.0, "l");
        assert_eq!(files[0].size, 90000);
    }

    #[test]
    fn own_contact_links_the_phone_a_third_party_card_does_not() {
        let own =
            msg(r#""contact":{"phone_number":"6281234567890","first_name":"Budi","user_id":111}"#);
        let Action::Register { msg: m, .. } = convert(&update(&own), false) else {
            panic!()
        };
        assert_eq!(m.contacts, vec![Address::Phone("+6281234567890".into())]);
        let other =
            msg(r#""contact":{"phone_number":"+6281111111111","first_name":"Ani","user_id":222}"#);
        let Action::Register { msg: m, .. } = convert(&update(&other), false) else {
            panic!()
        };
        assert!(m.contacts.is_empty());
        assert!(m.text.contains("+6281111111111"));
    }

    #[test]
    fn edits_have_their_own_key_and_join_by_conversation() {
        let u = format!(
            r#"{{"update_id":11,"edited_message":{{"message_id":5,"date":1795000000,"edit_date":1795000100,{FROM},{CHAT},"text":"Jalan rusak parah"}}}}"#
        );
        let Action::Register { msg, .. } = convert(&update(&u), false) else {
            panic!()
        };
        assert_eq!(msg.external_id, "111:5:edit:1795000100");
        assert!(msg.text.starts_with("[pesan diubah]\nJalan rusak parah"));
        assert_eq!(msg.hints.message_id, None);
    }

    #[test]
    fn commands() {
        assert!(matches!(
            convert(&update(&msg(r#""text":"/start""#)), false),
            Action::Help {
                start: true,
                lang: Lang::Id,
                ..
            }
        ));
        assert!(matches!(
            convert(&update(&msg(r#""text":"/bantuan@aduan_bot""#)), false),
            Action::Help { start: false, .. }
        ));
        let Action::Register { msg, .. } =
            convert(&update(&msg(r#""text":"/status adu-2026-000042""#)), false)
        else {
            panic!()
        };
        assert_eq!(
            msg.intent,
            Intent::StatusQuery {
                register_no: "ADU-2026-000042".into()
            }
        );
        assert_eq!(
            command("/status@bot  X "),
            Some(("status".into(), "X".into()))
        );
        assert_eq!(command("/ hi"), None);
    }

    #[test]
    fn groups_location_and_stickers() {
        let g = r#"{"update_id":12,"message":{"message_id":6,"date":1795000000,"chat":{"id":-100,"type":"group","title":"RT"},"text":"halo"}}"#;
        assert!(matches!(convert(&update(g), false), Action::Ignore(_)));
        assert!(matches!(convert(&update(g), true), Action::Register { .. }));
        let Action::Register { msg, .. } = convert(
            &update(&msg(
                r#""location":{"latitude":-6.2,"longitude":106.816666}"#,
            )),
            false,
        ) else {
            panic!()
        };
        assert!(msg.text.contains("-6.200000, 106.816666"), "{}", msg.text);
        let s = msg_sticker();
        assert!(matches!(convert(&update(&s), false), Action::Ignore(_)));
    }

    fn msg_sticker() -> String {
        msg(
            r#""sticker":{"file_id":"st","file_unique_id":"st1","type":"regular","width":512,"height":512,"is_animated":false,"is_video":false}"#,
        )
    }
}

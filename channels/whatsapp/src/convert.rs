//! The Cloud API's webhook payload (`whatsapp_business_account` → `entry[]` → `changes[]` →
//! `value` with `messages[]`, `contacts[]` and `statuses[]`) read tolerantly: every field
//! optional, unknown ones ignored, a message of a type we do not know kept with its raw JSON.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// A file a message refers to by media id; fetched separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    pub id: String,
    pub mime_type: String,
    pub filename: String,
}

/// One citizen's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// `wamid.…`: the idempotency key.
    pub id: String,
    /// The sender's WhatsApp id: the phone number's digits without `+`.
    pub from: String,
    pub name: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub kind: String,
    pub text: String,
    pub media: Option<MediaRef>,
    /// The message this one answers (`context.id`).
    pub context: Option<String>,
    /// Set for a type we cannot read: kept raw and flagged.
    pub unsupported: Option<String>,
    pub raw: Value,
}

/// What WhatsApp says of a message we sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub id: String,
    /// `sent`, `delivered`, `read`, `failed` (others are kept as given).
    pub status: String,
    pub recipient: Option<String>,
    /// `(code, title and details)` of each error of a failed message.
    pub errors: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Message(Box<Incoming>),
    Status(Status),
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    let secs: i64 = s(v, &["timestamp"])?.parse().ok()?;
    Utc.timestamp_opt(secs, 0).single()
}

/// The events of one webhook body, in order. An error only when the body is not an object.
pub fn parse(body: &Value) -> Result<Vec<Event>, String> {
    if !body.is_object() {
        return Err("not a JSON object".into());
    }
    let mut out = Vec::new();
    for entry in arr(body, "entry") {
        for change in arr(entry, "changes") {
            let Some(value) = change.get("value") else {
                continue;
            };
            let names: Vec<(String, String)> = arr(value, "contacts")
                .iter()
                .filter_map(|c| Some((s(c, &["wa_id"])?, s(c, &["profile", "name"])?)))
                .collect();
            for m in arr(value, "messages") {
                if let Some(i) = incoming(m, &names) {
                    out.push(Event::Message(Box::new(i)));
                }
            }
            for st in arr(value, "statuses") {
                let Some(id) = s(st, &["id"]) else { continue };
                out.push(Event::Status(Status {
                    id,
                    status: s(st, &["status"]).unwrap_or_default(),
                    recipient: s(st, &["recipient_id"]),
                    errors: arr(st, "errors")
                        .iter()
                        .map(|e| {
                            let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
                            let title = s(e, &["title"]).or_else(|| s(e, &["message"]));
                            let details = s(e, &["error_data", "details"]);
                            let text = [title, details]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(": ");
                            (code, text)
                        })
                        .collect(),
                }));
            }
        }
    }
    Ok(out)
}

/// One message, or `None` for what is no message to the office (a reaction) or has no id.
fn incoming(m: &Value, names: &[(String, String)]) -> Option<Incoming> {
    let id = s(m, &["id"])?;
    let from = s(m, &["from"])?;
    let kind = s(m, &["type"]).unwrap_or_else(|| "unknown".into());
    let mut text = String::new();
    let mut media = None;
    let mut unsupported = None;
    let media_of = |key: &str, default_name: String| -> Option<MediaRef> {
        let o = m.get(key)?;
        let mime = s(o, &["mime_type"]).unwrap_or_else(|| "application/octet-stream".into());
        Some(MediaRef {
            id: s(o, &["id"])?,
            filename: s(o, &["filename"])
                .unwrap_or_else(|| format!("{default_name}.{}", extension(&mime))),
            mime_type: mime,
        })
    };
    let short = id
        .rsplit('.')
        .next()
        .unwrap_or(&id)
        .chars()
        .take(12)
        .collect::<String>();
    match kind.as_str() {
        "text" => text = s(m, &["text", "body"]).unwrap_or_default(),
        "image" | "document" | "audio" | "video" | "sticker" => {
            text = s(m, &[kind.as_str(), "caption"]).unwrap_or_default();
            let label = match kind.as_str() {
                "image" => "foto",
                "audio" => "suara",
                "video" => "video",
                "sticker" => "stiker",
                _ => "dokumen",
            };
            media = media_of(&kind, format!("{label}-{short}"));
            if media.is_none() {
                unsupported = Some(format!("{kind} message without a media id"));
            }
        }
        "location" => {
            let l = m.get("location").cloned().unwrap_or_default();
            let (lat, lon) = (s(&l, &["latitude"]), s(&l, &["longitude"]));
            let place = [s(&l, &["name"]), s(&l, &["address"])]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            text = match (lat, lon) {
                (Some(a), Some(b)) => format!(
                    "Lokasi: {place}{}{a}, {b} https://www.openstreetmap.org/?mlat={a}&mlon={b}",
                    if place.is_empty() { "" } else { " — " }
                ),
                _ => format!("Lokasi: {place}"),
            };
        }
        "contacts" => {
            let cards: Vec<String> = arr(m, "contacts")
                .iter()
                .map(|c| {
                    let phones: Vec<String> = arr(c, "phones")
                        .iter()
                        .filter_map(|p| s(p, &["phone"]).or_else(|| s(p, &["wa_id"])))
                        .collect();
                    format!(
                        "{} {}",
                        s(c, &["name", "formatted_name"]).unwrap_or_default(),
                        phones.join(", ")
                    )
                    .trim()
                    .to_string()
                })
                .collect();
            text = format!("Kontak: {}", cards.join("; "));
        }
        "button" => text = s(m, &["button", "text"]).unwrap_or_default(),
        "interactive" => {
            text = s(m, &["interactive", "button_reply", "title"])
                .or_else(|| s(m, &["interactive", "list_reply", "title"]))
                .unwrap_or_default()
        }
        // A reaction to one of our messages is no message to the office.
        "reaction" => return None,
        other => {
            unsupported = Some(format!("unsupported WhatsApp message type `{other}`"));
        }
    }
    Some(Incoming {
        name: names
            .iter()
            .find(|(w, _)| *w == from)
            .map(|(_, n)| n.clone()),
        timestamp: time(m),
        context: s(m, &["context", "id"]),
        id,
        from,
        kind,
        text,
        media,
        unsupported,
        raw: m.clone(),
    })
}

fn extension(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or("").trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "video/mp4" => "mp4",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shape of Meta's documented "text message received" and "status: failed"
    /// notifications (field names and nesting as delivered).
    #[test]
    fn reads_messages_and_statuses() {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1029384756",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
              "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1098765432"},
              "contacts": [{"profile": {"name": "Siti"}, "wa_id": "6281234567890"}],
              "messages": [
                {"from": "6281234567890", "id": "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjA", "timestamp": "1795000000", "type": "text", "text": {"body": "Lampu jalan padam"}},
                {"from": "6281234567890", "id": "wamid.B", "timestamp": "1795000001", "type": "image", "image": {"caption": "fotonya", "mime_type": "image/jpeg", "sha256": "x", "id": "555"}},
                {"from": "6281234567890", "id": "wamid.C", "timestamp": "1795000002", "type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}},
                {"from": "6281234567890", "id": "wamid.D", "timestamp": "1795000003", "type": "location", "location": {"latitude": -6.2, "longitude": 106.8, "name": "Kantor"}},
                {"from": "6281234567890", "id": "wamid.E", "timestamp": "1795000004", "type": "unsupported", "errors": [{"code": 131051}]}
              ]}}, {"field": "messages", "value": {"statuses": [
                {"id": "wamid.OUT", "status": "failed", "timestamp": "1795000005", "recipient_id": "6281234567890",
                 "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "more than 24 hours"}}]}]}}]}]});
        let ev = parse(&body).unwrap();
        assert_eq!(ev.len(), 5, "{ev:?}");
        let Event::Message(m) = &ev[0] else { panic!() };
        assert_eq!(
            (m.from.as_str(), m.name.as_deref()),
            ("6281234567890", Some("Siti"))
        );
        assert_eq!(m.text, "Lampu jalan padam");
        assert_eq!(m.timestamp.unwrap().timestamp(), 1_795_000_000);
        let Event::Message(m) = &ev[1] else { panic!() };
        assert_eq!(m.media.as_ref().unwrap().id, "555");
        assert!(m.media.as_ref().unwrap().filename.ends_with(".jpg"));
        let Event::Message(m) = &ev[2] else { panic!() };
        assert!(
            m.text.contains("-6.2, 106.8") && m.text.contains("Kantor"),
            "{}",
            m.text
        );
        let Event::Message(m) = &ev[3] else { panic!() };
        assert!(m.unsupported.is_some());
        let Event::Status(st) = &ev[4] else { panic!() };
        assert_eq!(st.status, "failed");
        assert_eq!(st.errors[0].0, 131047);
        assert!(st.errors[0].1.contains("Re-engagement"));
    }

    proptest::proptest! {
        #[test]
        fn fuzz_whatsapp_payloads_never_panic(s in "\\PC{0,200}") {
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                let _ = parse(&v);
            }
            let v = json!({"entry": [{"changes": [{"value": {"messages": [{"id": s.clone(), "from": s.clone(), "type": s.clone(), "timestamp": s}]}}]}]});
            let _ = parse(&v);
        }
    }
}

//! Reassembly of concatenated messages (UDH IEI 0x00/0x08), apart from IO and storage: parts
//! arrive in any order, possibly twice; a message is complete when every part is in; after a
//! timeout an incomplete one is given up as *partial* (its missing parts named), and a part that
//! arrives later is handed on alone, marked late. The state serializes to a string so the
//! channel can keep it in the register across restarts.

use std::collections::BTreeMap;

use crate::pdu::UserData;

/// Which message a part belongs to: the sender and the concatenation reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub sender: String,
    pub reference: u16,
    pub total: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    parts: BTreeMap<u8, UserData>,
    /// Unix ms of the first part.
    first_seen: i64,
    /// Storage ids (modem indexes) of the parts, for deleting them once registered.
    ids: Vec<String>,
}

/// A message ready to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub key: Key,
    pub text: String,
    /// Part numbers that never arrived (empty when complete).
    pub missing: Vec<u8>,
    /// Storage ids of every part it was built from.
    pub ids: Vec<String>,
    pub first_seen: i64,
}

impl Assembled {
    pub fn is_partial(&self) -> bool {
        !self.missing.is_empty()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reassembler {
    pending: BTreeMap<Key, Pending>,
    /// Messages registered lately: key → (first part's time, registered at). A part of one
    /// that arrives within the partial timeout after it went in joins its conversation; a
    /// later message reusing the key (references cycle through 0–255) is a new one.
    recent: BTreeMap<Key, (i64, i64)>,
}

impl Reassembler {
    /// Adds one part (1-based `seq` of `key.total`). Returns the whole message when this part
    /// completes it; the message stays held until [`Reassembler::remove`] (call it once the
    /// message is committed, so a crash in between loses nothing). A part number outside
    /// 1..=total, or a repeat, changes nothing.
    pub fn add(
        &mut self,
        key: Key,
        seq: u8,
        data: UserData,
        id: String,
        now: i64,
    ) -> Option<Assembled> {
        if seq == 0 || seq > key.total {
            return None;
        }
        // A late part of a message registered lately keeps that message's first time (so
        // its conversation); otherwise the key starts afresh.
        let first_seen = self.recent.get(&key).map_or(now, |(first, _)| *first);
        let p = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            parts: BTreeMap::new(),
            first_seen,
            ids: Vec::new(),
        });
        if !p.ids.contains(&id) {
            p.ids.push(id);
        }
        p.parts.entry(seq).or_insert(data);
        (p.parts.len() == key.total as usize).then(|| assemble(key, p.clone()))
    }

    /// Messages to register now: the complete ones, and those whose first part is older than
    /// `timeout_ms` (as partial). They stay held until removed.
    pub fn ready(&self, now: i64, timeout_ms: i64) -> Vec<Assembled> {
        self.pending
            .iter()
            .filter(|(k, p)| p.parts.len() == k.total as usize || now - p.first_seen >= timeout_ms)
            .map(|(k, p)| assemble(k.clone(), p.clone()))
            .collect()
    }

    /// Whether part `seq` of `key` from storage `id` collides with a different part held
    /// under the same key: another message from the same sender reusing the reference while
    /// the first is incomplete. Such a part is not merged (the texts would mix); the caller
    /// registers it on its own. The same slot listed again, or the same part delivered
    /// twice, is no collision.
    pub fn conflicts(&self, key: &Key, seq: u8, data: &UserData, id: &str) -> bool {
        self.pending.get(key).is_some_and(|p| {
            !p.ids.iter().any(|i| i == id) && p.parts.get(&seq).is_some_and(|d| d != data)
        })
    }

    /// Forgets a message once it is registered (`now`: when), remembering its first time
    /// for late parts until [`Reassembler::expire`] drops it.
    pub fn remove(&mut self, key: &Key, now: i64) {
        if let Some(p) = self.pending.remove(key) {
            self.recent.insert(key.clone(), (p.first_seen, now));
        }
    }

    /// Drops what was registered more than `timeout_ms` ago: a key reused after that starts a
    /// new message and a new conversation.
    pub fn expire(&mut self, now: i64, timeout_ms: i64) {
        self.recent.retain(|_, (_, at)| now - *at < timeout_ms);
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// A line-based text form for keeping the state in the register.
    pub fn serialize(&self) -> String {
        let mut out = String::new();
        for (k, (first, at)) in &self.recent {
            out.push_str(&format!(
                "R\t{}\t{}\t{}\t{first}\t{at}\n",
                hex(k.sender.as_bytes()),
                k.reference,
                k.total
            ));
        }
        for (k, p) in &self.pending {
            for (seq, data) in &p.parts {
                let (kind, bytes) = match data {
                    UserData::Septets(b) => ('s', b),
                    UserData::Octets(b) => ('o', b),
                    UserData::Ucs2(b) => ('u', b),
                };
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    hex(k.sender.as_bytes()),
                    k.reference,
                    k.total,
                    seq,
                    kind,
                    hex(bytes),
                    p.first_seen,
                    p.ids.join(",")
                ));
            }
        }
        out
    }

    /// Reads [`Reassembler::serialize`] output; lines that do not parse are skipped.
    pub fn deserialize(s: &str) -> Reassembler {
        let mut r = Reassembler::default();
        for line in s.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if f.first() == Some(&"R") {
                let recent = (|| {
                    let key = Key {
                        sender: String::from_utf8(unhex(f.get(1)?)?).ok()?,
                        reference: f.get(2)?.parse().ok()?,
                        total: f.get(3)?.parse().ok()?,
                    };
                    Some((key, f.get(4)?.parse().ok()?, f.get(5)?.parse().ok()?))
                })();
                if let Some((key, first, at)) = recent {
                    r.recent.insert(key, (first, at));
                }
                continue;
            }
            let parsed = (|| {
                let sender = String::from_utf8(unhex(f.first()?)?).ok()?;
                let key = Key {
                    sender,
                    reference: f.get(1)?.parse().ok()?,
                    total: f.get(2)?.parse().ok()?,
                };
                let seq: u8 = f.get(3)?.parse().ok()?;
                let bytes = unhex(f.get(5)?)?;
                let data = match *f.get(4)? {
                    "s" => UserData::Septets(bytes),
                    "o" => UserData::Octets(bytes),
                    "u" => UserData::Ucs2(bytes),
                    _ => return None,
                };
                let first_seen: i64 = f.get(6)?.parse().ok()?;
                let ids: Vec<String> = f
                    .get(7)?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                Some((key, seq, data, first_seen, ids))
            })();
            if let Some((key, seq, data, first_seen, ids)) = parsed {
                if seq == 0 || seq > key.total {
                    continue;
                }
                let p = r.pending.entry(key).or_insert_with(|| Pending {
                    parts: BTreeMap::new(),
                    first_seen,
                    ids: Vec::new(),
                });
                p.first_seen = p.first_seen.min(first_seen);
                for id in ids {
                    if !p.ids.contains(&id) {
                        p.ids.push(id);
                    }
                }
                p.parts.insert(seq, data);
            }
        }
        r
    }
}

fn assemble(key: Key, p: Pending) -> Assembled {
    let missing: Vec<u8> = (1..=key.total)
        .filter(|s| !p.parts.contains_key(s))
        .collect();
    let parts: Vec<UserData> = p.parts.into_values().collect();
    let text = match UserData::join(&parts) {
        Some(joined) => joined.text(),
        // Parts in different alphabets: decode each on its own.
        None => parts.iter().map(UserData::text).collect(),
    };
    Assembled {
        key,
        text,
        missing,
        ids: p.ids,
        first_seen: p.first_seen,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdu::{decode, from_hex, Pdu};

    fn key(total: u8) -> Key {
        Key {
            sender: "+6281234567890".into(),
            reference: 7,
            total,
        }
    }

    fn ucs(s: &str) -> UserData {
        UserData::Ucs2(s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect())
    }

    #[test]
    fn completes_in_any_order_and_ignores_repeats() {
        let mut r = Reassembler::default();
        assert_eq!(r.add(key(3), 3, ucs("ga"), "3".into(), 0), None);
        assert_eq!(r.add(key(3), 1, ucs("Sa"), "1".into(), 1), None);
        assert_eq!(
            r.add(key(3), 1, ucs("XX"), "1".into(), 2),
            None,
            "a repeat changes nothing"
        );
        assert_eq!(
            r.add(key(3), 9, ucs("XX"), "9".into(), 2),
            None,
            "out of range"
        );
        let done = r.add(key(3), 2, ucs("tu"), "2".into(), 3).unwrap();
        assert_eq!(done.text, "Satuga");
        assert!(!done.is_partial());
        assert_eq!(done.ids, vec!["3", "1", "2"]);
        // Held until registered: still ready after a crash and restart.
        let r2 = Reassembler::deserialize(&r.serialize());
        assert_eq!(r2.ready(3, 60_000), vec![done.clone()]);
        r.remove(&done.key, 4);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn surrogate_pair_split_across_parts_joins() {
        let bytes: Vec<u8> = "a😀b"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        let (p1, p2) = bytes.split_at(4); // "a" + high surrogate | low surrogate + "b"
        let mut r = Reassembler::default();
        r.add(key(2), 1, UserData::Ucs2(p1.to_vec()), "1".into(), 0);
        let done = r
            .add(key(2), 2, UserData::Ucs2(p2.to_vec()), "2".into(), 0)
            .unwrap();
        assert_eq!(done.text, "a😀b");
    }

    #[test]
    fn timeout_gives_partial_and_state_survives_a_restart() {
        let mut r = Reassembler::default();
        r.add(key(3), 1, ucs("Jalan "), "1".into(), 1_000);
        r.add(
            Key {
                reference: 8,
                ..key(2)
            },
            2,
            UserData::Septets(vec![0x41]),
            "5".into(),
            5_000,
        );
        // Restart: the state comes back from its serialized form.
        let mut r = Reassembler::deserialize(&r.serialize());
        assert_eq!(r.pending(), 2);
        r.add(key(3), 3, ucs("rusak"), "3".into(), 2_000);
        assert!(r.ready(50_000, 60_000).is_empty());
        let expired = r.ready(61_000, 60_000);
        r.remove(&expired[0].key, 10_000);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].text, "Jalan rusak");
        assert_eq!(expired[0].missing, vec![2]);
        assert!(expired[0].is_partial());
        assert_eq!(r.pending(), 1);
        assert_eq!(
            Reassembler::deserialize("garbage\nmore\tgarbage\n").pending(),
            0
        );
    }

    #[test]
    fn real_multipart_pdus_reassemble() {
        let text = format!(
            "{} {}",
            "Pelayanan izin usaha sangat lambat.".repeat(6),
            "Mohon ditindaklanjuti 😀"
        );
        let parts = crate::sim::deliver_pdus("+6281234567890", &text, 99);
        assert!(parts.len() >= 3);
        let mut r = Reassembler::default();
        let mut done = None;
        for (i, p) in parts.iter().enumerate().rev() {
            let d = from_hex(p).unwrap();
            let Pdu::Deliver(dl) = decode(&d, true).unwrap() else {
                panic!()
            };
            let c = dl.concat.unwrap();
            let k = Key {
                sender: dl.sender.value.clone(),
                reference: c.reference,
                total: c.total,
            };
            done = r.add(k, c.seq, dl.user_data, i.to_string(), 0).or(done);
        }
        assert_eq!(done.unwrap().text, text);
    }

    /// A second message from the same sender reusing reference and part count while the first
    /// is incomplete collides and is kept apart; a part of a registered message arriving
    /// within the timeout keeps its first time (its conversation); after it, the key is new.
    #[test]
    fn collisions_and_reused_references() {
        let mut r = Reassembler::default();
        r.add(key(2), 1, ucs("Jalan "), "1".into(), 1_000);
        assert!(
            r.conflicts(&key(2), 1, &ucs("Lampu "), "5"),
            "another text, another slot"
        );
        assert!(
            !r.conflicts(&key(2), 1, &ucs("Jalan "), "5"),
            "the same part again"
        );
        assert!(
            !r.conflicts(&key(2), 1, &ucs("Lampu "), "1"),
            "the same slot listed again"
        );
        assert!(
            !r.conflicts(&key(2), 2, &ucs("rusak"), "2"),
            "the missing part"
        );
        // Registered as partial at 10 s; its part 2 comes at 12 s: the same first time.
        r.remove(&key(2), 10_000);
        r.add(key(2), 2, ucs("rusak"), "2".into(), 12_000);
        assert_eq!(r.ready(12_000, 5_000)[0].first_seen, 1_000);
        r.remove(&key(2), 12_000);
        // Survives a restart.
        let mut back = Reassembler::deserialize(&r.serialize());
        assert_eq!(back, r);
        // An hour later the reference is reused: a new message with its own time.
        back.expire(3_612_000, 3_600_000);
        back.add(key(2), 1, ucs("Halo "), "7".into(), 3_612_000);
        assert_eq!(back.ready(3_612_000, 0)[0].first_seen, 3_612_000);
    }
}

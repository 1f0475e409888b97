//! The keys a configuration may have (read from the embedded default, where every key is
//! written or shown commented out) and the nearest one to a key aduan does not know.

use super::DEFAULT_CONFIG;

pub(super) const UNKNOWN_KEY: &str = "unknown key, ignored";
pub(super) const UNKNOWN_SECTION: &str = "unknown section, ignored";

/// Every `section.key` of the embedded default configuration, commented ones included.
fn known_keys() -> Vec<String> {
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in DEFAULT_CONFIG.lines() {
        let l = line.trim_start_matches('#').trim();
        if let Some(h) = l.strip_prefix('[') {
            let h = h.trim_start_matches('[');
            if let Some(end) = h.find(']') {
                section = h[..end].to_string();
            }
            continue;
        }
        let Some((k, _)) = l.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if !section.is_empty()
            && !k.is_empty()
            && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            keys.push(format!("{section}.{k}"));
        }
    }
    keys
}

/// The key a mistyped `key` most likely meant (`web.listn` → `web.listen`), if one is close.
pub(super) fn nearest(key: &str, sections: &[&str]) -> Option<String> {
    // Array positions (`channels.sms.modems.0.prt`) are not part of a key's name.
    let parts: Vec<&str> = key
        .split('.')
        .filter(|p| !p.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let (leaf, parent) = parts.split_last()?;
    let close = |a: &str, b: &str| {
        let d = distance(a, b);
        (d <= (a.chars().count() / 3).max(2)).then_some(d)
    };
    if parent.is_empty() {
        return sections
            .iter()
            .filter_map(|s| close(leaf, s).map(|d| (d, s.to_string())))
            .min()
            .map(|(_, s)| s);
    }
    let parent = parent.join(".");
    let known = known_keys();
    let siblings = known
        .iter()
        .filter_map(|k| k.rsplit_once('.'))
        .filter(|(p, _)| *p == parent)
        .filter_map(|(p, k)| close(leaf, k).map(|d| (d, format!("{p}.{k}"))))
        .min();
    siblings
        .or_else(|| {
            // A key under a mistyped or wrong section: the closest full key.
            let full = parts.join(".");
            known
                .iter()
                .filter_map(|k| close(&full, k).map(|d| (d, k.clone())))
                .min()
        })
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key() {
        let s = &["office", "web", "channels"];
        assert_eq!(nearest("web.listn", s).as_deref(), Some("web.listen"));
        assert_eq!(
            nearest("outbox.give_up_after_sec", s).as_deref(),
            Some("outbox.give_up_after_secs")
        );
        assert_eq!(
            nearest("channels.sms.modems.0.prt", s).as_deref(),
            Some("channels.sms.modems.port")
        );
        assert_eq!(
            nearest("channels.email.imap.hots", s).as_deref(),
            Some("channels.email.imap.host")
        );
        assert_eq!(nearest("ofice", s).as_deref(), Some("office"));
        assert_eq!(nearest("web.completely_different", s), None);
    }

    #[test]
    fn every_section_of_the_default_has_keys() {
        let keys = known_keys();
        for section in [
            "office",
            "web",
            "outbox",
            "channels.email.imap",
            "channels.whatsapp",
        ] {
            assert!(
                keys.iter().any(|k| k.starts_with(&format!("{section}."))),
                "{section}"
            );
        }
    }
}

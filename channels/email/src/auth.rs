//! What the office's own mail server says of a message's sender (`Authentication-Results`,
//! RFC 8601). Pure: header text in, a verdict out.
//!
//! Only the topmost `Authentication-Results` counts: the one the last hop — the office's
//! receiving server — added above everything the sender wrote. A sender can forge results
//! below it, never above. aduan uses it in one direction only: a reported failure takes away
//! the identity a `From` would give; a pass (or no header) changes nothing.

use mail_parser::Message;

/// Why the receiving server's results say the `From` is not proven (DMARC failed; or, without
/// a DMARC result, SPF failed and no DKIM signature passed), `None` otherwise.
pub fn sender_failure(m: &Message<'_>, raw: &[u8]) -> Option<String> {
    let h = m.headers().iter().find(|h| {
        h.name
            .as_str()
            .eq_ignore_ascii_case("Authentication-Results")
    })?;
    let value = raw.get(h.offset_start as usize..h.offset_end as usize)?;
    judge(&String::from_utf8_lossy(value))
}

/// [`sender_failure`] of one header value.
pub fn judge(value: &str) -> Option<String> {
    let text = without_comments(&value.to_ascii_lowercase());
    let result = |method: &str| -> Option<String> {
        // Each `method=result …` stands between semicolons (after the authserv-id, which
        // Microsoft 365 leaves out).
        text.split(';').find_map(|part| {
            let (m, rest) = part.trim().split_once('=')?;
            (m.trim() == method).then(|| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        })
    };
    let dmarc = result("dmarc");
    let spf = result("spf");
    let dkim_pass = text.split(';').any(|p| {
        p.trim()
            .strip_prefix("dkim=")
            .is_some_and(|r| r.starts_with("pass"))
    });
    match dmarc.as_deref() {
        Some("fail") => Some("the receiving server reports dmarc=fail".into()),
        Some("pass") => None,
        _ if spf.as_deref() == Some("fail") && !dkim_pass => {
            Some("the receiving server reports spf=fail and no dkim=pass".into())
        }
        _ => None,
    }
}

/// `text` with parenthesized comments removed (they may hold `;` or `=`).
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes of the header as Gmail, Microsoft 365, Postfix with OpenDMARC and rspamd write it.
    #[test]
    fn results_as_servers_write_them() {
        for (header, fails) in [
            ("mx.google.com; dkim=pass header.i=@contoh.id; spf=pass smtp.mailfrom=contoh.id; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=contoh.id", false),
            ("mx.google.com; spf=fail (google.com: domain of x@contoh.id does not designate 1.2.3.4 as permitted sender) smtp.mailfrom=x@contoh.id; dmarc=fail (p=REJECT sp=REJECT dis=REJECT) header.from=contoh.id", true),
            ("spf=fail (sender IP is 1.2.3.4) smtp.mailfrom=contoh.id; dkim=none (message not signed) header.d=none;dmarc=fail action=none header.from=contoh.id;compauth=fail reason=000", true),
            ("mail.kantor.go.id; dmarc=fail (p=quarantine dis=none) header.from=contoh.id", true),
            ("mail.kantor.go.id; spf=fail smtp.mailfrom=contoh.id; dkim=none", true),
            ("mail.kantor.go.id; spf=fail smtp.mailfrom=contoh.id; dkim=pass header.d=contoh.id", false),
            ("mail.kantor.go.id; spf=softfail smtp.mailfrom=contoh.id", false),
            ("mail.kantor.go.id; none", false),
            ("", false),
            ("mail.kantor.go.id (comment; dmarc=fail); spf=pass", false),
        ] {
            assert_eq!(judge(header).is_some(), fails, "{header}");
        }
    }
}

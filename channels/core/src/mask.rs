//! Masking of personal addresses for logs: phone numbers and emails never appear whole.

use std::fmt;

/// Masks an email address, phone number or chat id so it can be logged.
///
/// `budi.santoso@example.go.id` → `b***@e***.go.id`, `+6281234567890` → `+6281******890`.
pub fn mask_address(s: &str) -> String {
    if let Some((local, domain)) = s.split_once('@') {
        let first = local.chars().next().map(String::from).unwrap_or_default();
        let (host, rest) = match domain.split_once('.') {
            Some((h, r)) => (h, format!(".{r}")),
            None => (domain, String::new()),
        };
        let h = host.chars().next().map(String::from).unwrap_or_default();
        return format!("{first}***@{h}***{rest}");
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n <= 4 {
        return "*".repeat(n);
    }
    let keep_head = if chars[0] == '+' {
        5.min(n / 2)
    } else {
        3.min(n / 3)
    };
    let keep_tail = 3.min((n - keep_head) / 2);
    let mut out: String = chars[..keep_head].iter().collect();
    out.push_str(&"*".repeat(n - keep_head - keep_tail));
    out.extend(&chars[n - keep_tail..]);
    out
}

/// A wrapper that displays its content masked: `tracing::info!(to = %Masked(&addr))`.
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_address(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_email_and_phone() {
        assert_eq!(
            mask_address("budi.santoso@example.go.id"),
            "b***@e***.go.id"
        );
        assert_eq!(mask_address("+6281234567890"), "+6281******890");
        assert_eq!(mask_address("081234567890"), "081******890");
        assert_eq!(mask_address("123"), "***");
        assert_eq!(mask_address(""), "");
        assert_eq!(mask_address("@"), "***@***");
    }
}

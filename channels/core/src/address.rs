//! Normalizing the addresses complainants type: phone numbers to E.164, emails to lower case.

/// Normalizes a phone number to E.164 with the `phonenumber` crate, Indonesia as the home
/// region: `0812-3456-7890`, `62812…` and `+62 812…` all become `+628123456789…`; numbers with
/// another country code keep it when written with `+`. Returns `None` for anything that is not
/// a plausible number.
pub fn normalize_phone(input: &str) -> Option<String> {
    let s = input.trim();
    if s.is_empty()
        || s.len() > 32
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || " -().+".contains(c))
    {
        return None;
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    // "62812…" is how many phones show an Indonesian number without the plus.
    let candidate = if !s.starts_with('+') && digits.starts_with("62") {
        format!("+{digits}")
    } else {
        s.to_string()
    };
    let n = phonenumber::parse(Some(phonenumber::country::Id::ID), &candidate).ok()?;
    let e164 = n.format().mode(phonenumber::Mode::E164).to_string();
    let len = e164.trim_start_matches('+').len();
    (e164.starts_with('+') && (8..=15).contains(&len)).then_some(e164)
}

/// A light syntactic check of an email address; returns it lower-cased.
pub fn normalize_email(input: &str) -> Option<String> {
    let s = input.trim();
    if s.len() > 254
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return None;
    }
    let (local, domain) = s.rsplit_once('@')?;
    if local.is_empty()
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return None;
    }
    Some(s.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_numbers_are_one_number() {
        for n in [
            "081234567890",
            "6281234567890",
            "+6281234567890",
            "+62 812-3456-7890",
            "(0812) 3456 7890",
        ] {
            assert_eq!(normalize_phone(n).as_deref(), Some("+6281234567890"), "{n}");
        }
        assert_eq!(
            normalize_phone("+60123456789").as_deref(),
            Some("+60123456789")
        );
        for bad in [
            "",
            "12345",
            "abc",
            "0812x",
            "+0812345678",
            "0812345678901234567",
        ] {
            assert_eq!(normalize_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Budi@Example.go.id ").as_deref(),
            Some("budi@example.go.id")
        );
        for bad in [
            "", "budi", "budi@", "@x.id", "a b@x.id", "a@x", "a@.x.id", "a@x..id", "<a@x.id>",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }
}

//! Pieces every channel's configuration uses: secrets that never print, values that may come
//! from the environment as numbers, and the loopback test for "plain only on this host".

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A password, token or key: deserialized from a string (or a number, as an all-digit value
/// from the environment arrives), never printed — not even by `Debug`.
/// Held in a `secrecy::SecretString` (zeroed when dropped); read only through
/// [`Secret::expose`]. The one secret type of aduan: channel crates and the daemon's own
/// config (`database.url`) use it alike.
#[derive(Clone, Deserialize)]
#[serde(from = "StringOrNumber")]
pub struct Secret(secrecy::SecretString);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(secrecy::SecretString::from(s.into()))
    }
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl Default for Secret {
    fn default() -> Secret {
        Secret::new("")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        crate::ct_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    S(String),
    I(i64),
}

impl From<StringOrNumber> for Secret {
    fn from(v: StringOrNumber) -> Secret {
        Secret::new(string_of(v))
    }
}

fn string_of(v: StringOrNumber) -> String {
    match v {
        StringOrNumber::S(s) => s,
        StringOrNumber::I(i) => i.to_string(),
    }
}

/// `#[serde(deserialize_with = "aduan_channel::config::string_or_number")]`: an id that may be
/// written as a number (`institution_id = 678`, or from the environment).
pub fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    StringOrNumber::deserialize(d).map(string_of)
}

/// `localhost`, `127.0.0.1`, `::1` (brackets allowed): a server on this host.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct C {
        s: Secret,
        #[serde(deserialize_with = "string_or_number")]
        id: String,
    }

    #[test]
    fn secrets_and_ids() {
        let c: C = serde_json::from_str(r#"{"s": 123456, "id": 678}"#).unwrap();
        assert_eq!(c.s.expose(), "123456");
        assert_eq!(c.id, "678");
        assert_eq!(format!("{:?}", c.s), "\"***\"");
        let c: C = serde_json::from_str(r#"{"s": "x", "id": "LAP-1"}"#).unwrap();
        assert_eq!((c.s.expose(), c.id.as_str()), ("x", "LAP-1"));
        assert!(
            is_loopback_host("127.0.0.1")
                && is_loopback_host("[::1]")
                && is_loopback_host("localhost")
        );
        assert!(!is_loopback_host("mail.example.go.id") && !is_loopback_host("10.0.0.1"));
    }
}

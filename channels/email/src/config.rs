//! `[channels.email]`: one mailbox read over IMAP, replies sent over SMTP.

use aduan_channel::Problem;
use serde::Deserialize;

pub use aduan_channel::Secret;

/// `[channels.email]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The office's complaint address: `From` of every reply, and never a complainant.
    pub address: String,
    /// Display name in `From` (`Layanan Pengaduan DPMPTSP`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// `Reply-To` of replies, when answers should go elsewhere than `address`.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Largest message fetched whole, bytes. A larger one is registered from its headers,
    /// flagged, and left in the mailbox for an officer.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: u32,
    pub imap: ImapConfig,
    pub smtp: SmtpConfig,
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Tls,
    /// Plain connect, then `STARTTLS` (IMAP 143, SMTP 587); refused if the server lacks it.
    Starttls,
    /// No encryption at all. Only for a server on the same host (tests, a local relay); must
    /// be chosen explicitly.
    Plain,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::Plain => "plain",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    /// Default: 993 for `tls`, 143 otherwise.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "default_security")]
    pub security: Security,
    pub username: String,
    /// Better from the environment: `ADUAN_CHANNELS__EMAIL__IMAP__PASSWORD`.
    #[serde(default)]
    pub password: Secret,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// Move registered messages to this folder; when unset they are flagged `\Seen` and stay.
    #[serde(default)]
    pub move_to: Option<String>,
    /// Seconds before IDLE is re-issued (servers drop idlers after 30 minutes).
    #[serde(default = "default_idle")]
    pub idle_secs: u64,
    /// Seconds between polls when the server has no IDLE.
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// Messages fetched per round trip.
    #[serde(default = "default_batch")]
    pub batch: u32,
    /// Bytes fetched per round trip at most (a batch holds its messages in memory until they
    /// are registered): a message larger than this is fetched on its own.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: u64,
    /// A PEM file with the CA (or self-signed certificate) the server's certificate chains to,
    /// besides the public web roots.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Seconds a single command may take before the connection is dropped and reopened.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 465 for `tls`, 587 for `starttls`, 25 for `plain`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "default_security")]
    pub security: Security,
    /// Empty: no authentication (a relay that trusts this host).
    #[serde(default)]
    pub username: String,
    /// Better from the environment: `ADUAN_CHANNELS__EMAIL__SMTP__PASSWORD`.
    #[serde(default)]
    pub password: Secret,
    /// Pooled connections kept open.
    #[serde(default = "default_pool")]
    pub pool_size: u32,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default)]
    pub ca_file: Option<String>,
}

impl ImapConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 993,
            _ => 143,
        })
    }
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::Plain => 25,
        })
    }
}

fn default_max_message() -> u32 {
    25 * 1024 * 1024
}
fn default_security() -> Security {
    Security::Tls
}
fn default_mailbox() -> String {
    "INBOX".into()
}
fn default_idle() -> u64 {
    25 * 60
}
fn default_poll() -> u64 {
    60
}
fn default_batch() -> u32 {
    100
}
fn default_batch_bytes() -> u64 {
    32 * 1024 * 1024
}
fn default_timeout() -> u64 {
    60
}
fn default_pool() -> u32 {
    4
}

impl Config {
    /// Everything wrong with the section, as (key, message) pairs.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let k = |s: &str| format!("channels.email.{s}");
        if !valid_address(&self.address) {
            p.push(Problem::new(k("address"), "is not an email address"));
        }
        if let Some(r) = &self.reply_to {
            if !valid_address(r) {
                p.push(Problem::new(k("reply_to"), "is not an email address"));
            }
        }
        if self.max_message_bytes < 64 * 1024 {
            p.push(Problem::new(k("max_message_bytes"), "is below 64 KiB"));
        }
        for (name, host, sec, user, pass) in [
            (
                "imap",
                &self.imap.host,
                self.imap.security,
                &self.imap.username,
                &self.imap.password,
            ),
            (
                "smtp",
                &self.smtp.host,
                self.smtp.security,
                &self.smtp.username,
                &self.smtp.password,
            ),
        ] {
            if host.trim().is_empty() {
                p.push(Problem::new(k(&format!("{name}.host")), "is empty"));
            }
            if sec == Security::Plain && !aduan_channel::is_loopback_host(host) {
                p.push(Problem::new(
                    k(&format!("{name}.security")),
                    format!(
                        "`plain` sends the password unencrypted; allowed only to a server on this \
                         host, not `{host}` (use `tls` or `starttls`)"
                    ),
                ));
            }
            if name == "imap" && user.is_empty() {
                p.push(Problem::new(k("imap.username"), "is empty"));
            }
            if (name == "imap" || !user.is_empty()) && pass.expose().is_empty() {
                p.push(Problem::new(
                    k(&format!("{name}.password")),
                    format!(
                        "is empty (set ADUAN_CHANNELS__EMAIL__{}__PASSWORD)",
                        name.to_uppercase()
                    ),
                ));
            }
        }
        if self.imap.mailbox.trim().is_empty() {
            p.push(Problem::new(k("imap.mailbox"), "is empty"));
        }
        if self.imap.move_to.as_deref() == Some(self.imap.mailbox.as_str()) {
            p.push(Problem::new(
                k("imap.move_to"),
                "is the mailbox itself; use another folder or leave it unset",
            ));
        }
        if !(60..=29 * 60).contains(&self.imap.idle_secs) {
            p.push(Problem::new(
                k("imap.idle_secs"),
                "must be 60..=1740 (RFC 2177)",
            ));
        }
        if self.imap.poll_secs == 0 {
            p.push(Problem::new(k("imap.poll_secs"), "must be positive"));
        }
        if self.imap.batch_bytes < 1024 * 1024 {
            p.push(Problem::new(
                k("imap.batch_bytes"),
                "must be at least 1048576",
            ));
        }
        if !(1..=1000).contains(&self.imap.batch) {
            p.push(Problem::new(k("imap.batch"), "must be 1..=1000"));
        }
        if self.imap.timeout_secs == 0 || self.smtp.timeout_secs == 0 {
            p.push(Problem::new(k("*.timeout_secs"), "must be positive"));
        }
        if self.smtp.pool_size == 0 {
            p.push(Problem::new(k("smtp.pool_size"), "must be positive"));
        }
        for (key, f) in [
            ("imap.ca_file", &self.imap.ca_file),
            ("smtp.ca_file", &self.smtp.ca_file),
        ] {
            if let Some(f) = f {
                if let Err(e) = crate::tls::load_ca(f) {
                    p.push(Problem::new(k(key), e));
                }
            }
        }
        p
    }
}

/// `local@domain` with no spaces or angle brackets: enough to catch a typo in the config.
pub fn valid_address(a: &str) -> bool {
    match a.split_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !a.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == ',')
                && !d.contains('@')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Config {
        toml::from_str(s).unwrap()
    }

    const OK: &str = r#"
        address = "pengaduan@dinas.go.id"
        [imap]
        host = "imap.dinas.go.id"
        username = "pengaduan"
        password = "rahasia"
        [smtp]
        host = "smtp.dinas.go.id"
        security = "starttls"
    "#;

    #[test]
    fn defaults_are_secure() {
        let c = parse(OK);
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.imap.security, Security::Tls);
        assert_eq!(c.imap.port(), 993);
        assert_eq!(c.smtp.port(), 587);
        assert_eq!(c.imap.mailbox, "INBOX");
        assert!(!format!("{c:?}").contains("rahasia"));
    }

    #[test]
    fn plain_only_to_loopback_and_passwords_required() {
        let c = parse(
            &OK.replace(
                "host = \"imap.dinas.go.id\"",
                "host = \"imap.dinas.go.id\"\nsecurity = \"plain\"",
            )
            .replace("password = \"rahasia\"", ""),
        );
        let keys: Vec<String> = c.problems().into_iter().map(|p| p.key).collect();
        assert!(
            keys.contains(&"channels.email.imap.security".into()),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"channels.email.imap.password".into()),
            "{keys:?}"
        );
        let c = parse(&OK.replace("imap.dinas.go.id", "127.0.0.1").replace(
            "username = \"pengaduan\"",
            "username = \"pengaduan\"\nsecurity = \"plain\"",
        ));
        assert!(c.problems().is_empty(), "{:?}", c.problems());
    }

    #[test]
    fn numeric_password_and_bad_values() {
        let c = parse(&OK.replace("\"rahasia\"", "123456"));
        assert_eq!(c.imap.password.expose(), "123456");
        let c = parse(&OK.replace("pengaduan@dinas.go.id", "pengaduan at dinas"));
        assert_eq!(c.problems()[0].key, "channels.email.address");
        assert!(toml::from_str::<Config>(&OK.replace("[smtp]", "[smtp]\nsecuirty = 1")).is_err());
    }

    #[test]
    fn addresses() {
        assert!(valid_address("a.b@c.go.id"));
        for bad in ["a", "@c.id", "a@c", "a b@c.id", "<a@c.id>", "a@b@c.id"] {
            assert!(!valid_address(bad), "{bad}");
        }
    }
}

//! Configuration: one TOML file (the embedded `config/aduan.toml` by default), every key
//! overridable from the environment, validated at start with every problem reported at once.
//!
//! Environment overrides: `ADUAN_<SECTION>__<KEY>` (double underscore between levels, e.g.
//! `ADUAN_OUTBOX__MAX_ATTEMPTS=5`, `ADUAN_CHANNELS__WEB__ENABLED=false`), plus the short forms
//! `ADUAN_DATABASE_URL`, `ADUAN_LISTEN`, `ADUAN_DATA_DIR`. `ADUAN_CONFIG` names the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aduan_channel::{ChannelKind, ChannelSpec, Lang};
use chrono::{FixedOffset, NaiveDate};
use serde::Deserialize;

mod keys;
mod load;
mod validate;

pub use load::*;
pub use validate::*;

/// The default configuration, embedded so `aduan serve` runs with no file at all.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/aduan.toml");

/// Holiday lists shipped with aduan, usable by file name without the file on disk.
pub const EMBEDDED_HOLIDAYS: &[(&str, &str)] = &[
    (
        "holidays-id-2026.toml",
        include_str!("../../config/holidays-id-2026.toml"),
    ),
    (
        "holidays-id-2027.toml",
        include_str!("../../config/holidays-id-2027.toml"),
    ),
];

/// Secrets (`database.url`) are the one `Secret` of aduan: never printed, read through
/// `expose`.
pub use aduan_channel::Secret;

#[derive(Debug, Clone)]
pub struct Config {
    pub office: OfficeConfig,
    pub data: DataConfig,
    pub database: DatabaseConfig,
    pub web: WebConfig,
    pub intake: IntakeConfig,
    pub outbox: OutboxConfig,
    pub telemetry: TelemetryConfig,
    pub shutdown: ShutdownConfig,
    pub letter: LetterConfig,
    pub channels: ChannelsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OfficeConfig {
    /// The office's name, used in replies.
    pub name: String,
    /// Register number prefix: `ADU` gives `ADU-2026-000042`.
    pub register_prefix: String,
    /// The office's offset from UTC (`+07:00` WIB, `+08:00` WITA, `+09:00` WIT).
    pub utc_offset: String,
    /// Default reply language: `id` or `en`.
    pub language: Lang,
    /// Service standard (*baku mutu*) for a whole complaint, in working days, counted from the
    /// complete file.
    pub sla_working_days: u32,
    /// Office hours, `HH:MM-HH:MM` in office time: clocks run only inside them.
    pub hours: String,
    /// The weekdays the office works (`mon` … `sun`).
    pub working_weekdays: Vec<String>,
    /// The procedure: a shipped profile (`default`, `binjai`, `madiun`, `pagar_alam`, `lapor`)
    /// or a TOML file of the same shape, relative to the config file.
    pub procedure: String,
    /// The national holiday lists aduan ships (every year it has one: [`EMBEDDED_HOLIDAYS`])
    /// are in force; `false` leaves only the office's own lists.
    pub national_holidays: bool,
    /// Further holiday lists (TOML with `[[holiday]]` and `[[cuti_bersama]]`), relative to the
    /// config file; a shipped list's name (`holidays-id-2027.toml`) reads the built-in one.
    pub holiday_files: Vec<String>,
    /// Further non-working days (regional holidays), `YYYY-MM-DD`.
    pub extra_holidays: Vec<String>,
    /// Listed days the office works after all (a holiday the isbat moved), `YYYY-MM-DD`.
    pub working_dates: Vec<String>,
    /// Domain part of the Message-IDs aduan generates.
    pub message_id_domain: String,
    /// Public base URL of the tracking page, used in receipts.
    pub public_url: String,
    /// Directory with `id.toml`/`en.toml` reply templates overriding the shipped ones.
    pub templates_dir: Option<String>,
}

impl Default for OfficeConfig {
    fn default() -> Self {
        OfficeConfig {
            // Required: an empty name is a configuration problem (see `validate`).
            name: String::new(),
            register_prefix: "ADU".into(),
            utc_offset: "+07:00".into(),
            language: Lang::Id,
            sla_working_days: 7,
            hours: "08:00-16:00".into(),
            working_weekdays: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            procedure: "default".into(),
            national_holidays: true,
            holiday_files: Vec::new(),
            extra_holidays: Vec::new(),
            working_dates: Vec::new(),
            message_id_domain: "aduan.localhost".into(),
            public_url: "http://127.0.0.1:8080".into(),
            templates_dir: None,
        }
    }
}

/// The office's letters (`src/letter.rs`): their numbers, letterhead and signer.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LetterConfig {
    /// The answer letter's number: `{seq}` the year's sequence (shared by all letters),
    /// `{year}`, `{month}` in Roman numerals.
    pub answer_number: String,
    /// The field review invitation's number, same placeholders.
    pub invitation_number: String,
    /// Lines above the office's name (`PEMERINTAH KOTA …`).
    pub letterhead: Vec<String>,
    /// The office's address and contacts, one line each.
    pub address: String,
    /// Where letters are dated (`Binjai, 3 Desember 2026`).
    pub city: String,
    /// A PNG or JPEG logo, relative to the config file.
    pub logo: Option<String>,
    /// Who signs: title (`Kepala Dinas …`), name, rank (*pangkat/golongan*) and NIP.
    pub signer_title: String,
    pub signer_name: String,
    pub signer_rank: String,
    pub signer_nip: String,
}

impl Default for LetterConfig {
    fn default() -> Self {
        LetterConfig {
            answer_number: "500.16/{seq}/PENGADUAN/{year}".into(),
            invitation_number: "005/{seq}/PENGADUAN/{year}".into(),
            letterhead: Vec::new(),
            address: String::new(),
            city: String::new(),
            logo: None,
            signer_title: String::new(),
            signer_name: String::new(),
            signer_rank: String::new(),
            signer_nip: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DataConfig {
    /// Where the embedded SQLite register lives.
    pub dir: PathBuf,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: PathBuf::from("./data"),
        }
    }
}

/// SQLite `synchronous`: `full` (every commit survives power loss; the default) or `normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

/// How logs are written: `text` or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://path/aduan.db` or `postgres://user@host/db`. Empty: SQLite under the data dir.
    pub url: Secret,
    pub max_connections: u32,
    /// SQLite `synchronous`: `full` (every commit survives power loss; the default) or `normal`.
    pub sqlite_synchronous: Synchronous,
    /// Seconds to wait for a connection at start before giving up with an error.
    pub connect_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: Secret::default(),
            max_connections: 8,
            sqlite_synchronous: Synchronous::Full,
            connect_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebConfig {
    pub listen: std::net::SocketAddr,
    /// Public submissions per client address per minute; `0` turns the limit off.
    pub submit_rate_per_minute: u32,
    /// Public tracking look-ups per client address per minute; `0` turns the limit off.
    pub track_rate_per_minute: u32,
    /// Largest request body of a complaint submission (JSON or multipart, attachments
    /// included), bytes. Other routes have small fixed limits (login 4 KiB, webhooks the channel's (64 KiB; WhatsApp 1 MiB),
    /// officer forms 1 MiB).
    pub max_body_bytes: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How many proxies of yours append to `X-Forwarded-For`: the client address is the entry
    /// the outermost of them appended (this many from the right).
    pub trusted_proxy_hops: usize,
    /// Open connections at most; further ones are closed at once.
    pub max_connections: usize,
    /// Open connections from one client address at most (not applied with
    /// `trust_forwarded_for`, where every connection comes from the proxy).
    pub max_connections_per_address: usize,
    /// Seconds a client has to send a request's headers, also on an idle kept-alive connection
    /// (which is then closed).
    pub header_timeout_secs: u64,
    /// Seconds a request body may pause between two pieces.
    pub body_idle_timeout_secs: u64,
    /// Seconds a whole request may take, body included (answered 408 after).
    pub request_timeout_secs: u64,
    /// Complaint submissions whose bodies are read at the same time; others wait for a slot
    /// (up to 10 s, then 503). Bounds memory under many parallel uploads.
    pub max_concurrent_uploads: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            submit_rate_per_minute: 10,
            track_rate_per_minute: 30,
            max_body_bytes: 25 * 1024 * 1024,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            max_connections: 1024,
            max_connections_per_address: 64,
            header_timeout_secs: 10,
            body_idle_timeout_secs: 20,
            request_timeout_secs: 300,
            max_concurrent_uploads: 4,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct IntakeConfig {
    /// Largest single attachment, bytes. Larger ones are refused with a clear error.
    pub max_attachment_bytes: usize,
    /// Most files one message or submission may carry. A web or counter submission with more
    /// is refused (413) with nothing stored; a message from another channel keeps the first
    /// ones and is flagged.
    pub max_attachments: usize,
    /// Automatic acknowledgements to one sender per hour; further ones are registered silently.
    pub ack_limit_per_hour: u32,
    /// Longest complaint text kept, characters.
    pub max_text_chars: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            max_attachment_bytes: 10 * 1024 * 1024,
            max_attachments: 20,
            ack_limit_per_hour: 5,
            max_text_chars: 50_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OutboxConfig {
    /// How often an idle dispatcher looks for due rows, milliseconds.
    pub poll_interval_ms: u64,
    /// How long a claimed row is ours; longer than any send can take.
    pub lease_secs: u64,
    /// Attempts before a transiently failing row is parked as `failed` (0: no limit; the
    /// time cap below decides).
    pub max_attempts: u32,
    /// How long a reply keeps being retried through transient failures before it is parked
    /// as `failed`, seconds. A parked reply goes out by itself when its channel comes back.
    pub give_up_after_secs: u64,
    /// First retry delay, milliseconds; doubles each attempt, with jitter.
    pub backoff_base_ms: u64,
    /// Longest retry delay, seconds.
    pub backoff_max_secs: u64,
    /// Concurrent sends.
    pub workers: usize,
    /// Concurrent sends through one channel (0: `workers − 1`, at least 1), so a channel whose
    /// sends hang never holds every worker: the others' replies keep flowing.
    pub channel_workers: usize,
    /// How often a daemon tells the register which channels it runs, seconds. A channel not
    /// heard of for three of these counts as not running (its replies wait, visibly).
    pub heartbeat_secs: u64,
}

impl OutboxConfig {
    /// The sends one channel may have at once ([`OutboxConfig::channel_workers`]).
    pub fn channel_budget(&self) -> usize {
        match self.channel_workers {
            0 => self.workers.saturating_sub(1).max(1),
            n => n.min(self.workers.max(1)),
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            heartbeat_secs: 15,
            poll_interval_ms: 1000,
            lease_secs: 120,
            max_attempts: 0,
            give_up_after_secs: 86_400,
            backoff_base_ms: 5000,
            backoff_max_secs: 3600,
            workers: 2,
            channel_workers: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TelemetryConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter (`info`, `aduan=debug,sqlx=warn`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ShutdownConfig {
    /// Seconds in-flight work gets to finish after SIGTERM/SIGINT.
    pub deadline_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig { deadline_secs: 10 }
    }
}

/// One channel's section, `[channels.NAME]`: the channel crate's own config type. Adding a
/// channel is one arm here (and its variant in `ChannelKind`); nothing else in the daemon
/// names a channel's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelConfig {
    /// The public form and API; on unless `enabled = false`.
    Web(crate::channels::WebConfig),
    /// The front-office counter; on unless `enabled = false`.
    Counter(crate::channels::CounterConfig),
    /// GSM modems (`[channels.sms]` with `[[channels.sms.modems]]`).
    Sms(aduan_sms::Config),
    /// One IMAP mailbox and an SMTP server.
    Email(aduan_email::Config),
    /// A Telegram bot.
    Telegram(aduan_telegram::Config),
    /// SP4N-LAPOR!.
    Lapor(aduan_lapor::Config),
    /// A WhatsApp Business number on the Cloud API.
    Whatsapp(aduan_whatsapp::Config),
}

impl ChannelConfig {
    /// What the daemon asks of every channel's config: its kind, its problems, its adapter.
    pub fn spec(&self) -> &dyn ChannelSpec {
        match self {
            ChannelConfig::Web(c) => c,
            ChannelConfig::Counter(c) => c,
            ChannelConfig::Sms(c) => c,
            ChannelConfig::Email(c) => c,
            ChannelConfig::Telegram(c) => c,
            ChannelConfig::Lapor(c) => c,
            ChannelConfig::Whatsapp(c) => c,
        }
    }
}

/// `[channels]`: the sections present, by kind. The built-in `web` and `counter` are on when
/// absent; every other channel is off unless its section is there.
#[derive(Debug, Clone)]
pub struct ChannelsConfig(BTreeMap<ChannelKind, ChannelConfig>);

impl Default for ChannelsConfig {
    fn default() -> Self {
        ChannelsConfig::from_sections(Vec::new())
    }
}

impl ChannelsConfig {
    fn from_sections(sections: Vec<ChannelConfig>) -> ChannelsConfig {
        let mut map: BTreeMap<ChannelKind, ChannelConfig> =
            sections.into_iter().map(|c| (c.spec().kind(), c)).collect();
        map.entry(ChannelKind::Web)
            .or_insert_with(|| ChannelConfig::Web(Default::default()));
        map.entry(ChannelKind::Counter)
            .or_insert_with(|| ChannelConfig::Counter(Default::default()));
        ChannelsConfig(map)
    }

    /// The section of a kind, when present (enabled or not).
    pub fn get(&self, kind: ChannelKind) -> Option<&ChannelConfig> {
        self.0.get(&kind)
    }

    /// The sections of the channels that are on.
    pub fn enabled(&self) -> impl Iterator<Item = &ChannelConfig> {
        self.0.values().filter(|c| c.spec().enabled())
    }

    pub fn is_enabled(&self, kind: ChannelKind) -> bool {
        self.get(kind).is_some_and(|c| c.spec().enabled())
    }
}

/// One thing wrong with a configuration: the key, what is wrong, and how to fix it (the one
/// type the channels' checks use too).
pub use aduan_channel::Problem;

/// What loading produced: the config (when it parsed), errors and warnings.
#[derive(Debug, Default)]
pub struct Loaded {
    pub config: Option<Config>,
    pub source: String,
    pub base_dir: Option<PathBuf>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// The keys (and sections, and `ADUAN_*` variables) not understood, also among `warnings`.
    pub unknown: Vec<String>,
}

impl Loaded {
    pub fn into_result(self) -> Result<(Config, Option<PathBuf>, Vec<Problem>), ConfigError> {
        match (self.config, self.errors.is_empty()) {
            (Some(c), true) => Ok((c, self.base_dir, self.warnings)),
            _ => Err(ConfigError {
                origin: self.source,
                problems: self.errors,
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub origin: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "configuration {} has {} problem(s):",
            self.origin,
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

fn problem(key: &str, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem::with_fix(key, message, fix)
}

impl Config {
    /// The database URL, with the SQLite default under the data directory filled in.
    pub fn database_url(&self) -> String {
        let url = self.database.url.expose();
        if url.is_empty() {
            let dir = self.data.dir.as_path();
            format!("sqlite://{}", dir.join("aduan.db").display())
        } else {
            url.to_string()
        }
    }

    pub fn offset(&self) -> FixedOffset {
        parse_offset(&self.office.utc_offset)
            .unwrap_or_else(|| FixedOffset::east_opt(7 * 3600).unwrap())
    }
}

/// The process environment as a map, for [`load`].
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("ADUAN_"))
        .collect()
}

#[cfg(test)]
mod tests;

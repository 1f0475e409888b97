//! Configuration: one TOML file (the embedded `config/aduan.toml` by default), every key
//! overridable from the environment, validated at start with every problem reported at once.
//!
//! Environment overrides: `ADUAN_<SECTION>__<KEY>` (double underscore between levels, e.g.
//! `ADUAN_OUTBOX__MAX_ATTEMPTS=5`, `ADUAN_CHANNELS__WEB__ENABLED=false`), plus the short forms
//! `ADUAN_DATABASE_URL`, `ADUAN_LISTEN`, `ADUAN_DATA_DIR`. `ADUAN_CONFIG` names the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aduan_channel::{ChannelKind, ChannelSpec};
use chrono::{FixedOffset, NaiveDate};
use serde::Deserialize;

/// The default configuration, embedded so `aduan serve` runs with no file at all.
pub const DEFAULT_CONFIG: &str = include_str!("../config/aduan.toml");
/// Holiday lists shipped with aduan, usable by file name without the file on disk.
pub const EMBEDDED_HOLIDAYS: &[(&str, &str)] = &[(
    "holidays-id-2026.toml",
    include_str!("../config/holidays-id-2026.toml"),
)];

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

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
    pub language: String,
    /// Service standard (*baku mutu*) for a whole complaint, in working days.
    pub sla_working_days: u32,
    /// Holiday lists (TOML with `[[holiday]]` and `[[cuti_bersama]]`), relative to the config
    /// file; the shipped `holidays-id-2026.toml` is always available by name.
    pub holiday_files: Vec<String>,
    /// Further non-working days (regional holidays), `YYYY-MM-DD`.
    pub extra_holidays: Vec<String>,
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
            language: "id".into(),
            sla_working_days: 7,
            holiday_files: Vec::new(),
            extra_holidays: Vec::new(),
            message_id_domain: "aduan.localhost".into(),
            public_url: "http://127.0.0.1:8080".into(),
            templates_dir: None,
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
    /// included), bytes. Other routes have small fixed limits (login 4 KiB, webhooks 64 KiB,
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
    /// Automatic acknowledgements to one sender per hour; further ones are registered silently.
    pub ack_limit_per_hour: u32,
    /// Longest complaint text kept, characters.
    pub max_text_chars: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            max_attachment_bytes: 10 * 1024 * 1024,
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
    /// Attempts before a transiently failing row is parked as `failed`.
    pub max_attempts: u32,
    /// First retry delay, milliseconds; doubles each attempt, with jitter.
    pub backoff_base_ms: u64,
    /// Longest retry delay, seconds.
    pub backoff_max_secs: u64,
    /// Concurrent sends.
    pub workers: usize,
    /// How often a daemon tells the register which channels it runs, seconds. A channel not
    /// heard of for three of these counts as not running (its replies wait, visibly).
    pub heartbeat_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            heartbeat_secs: 15,
            poll_interval_ms: 1000,
            lease_secs: 120,
            max_attempts: 10,
            backoff_base_ms: 5000,
            backoff_max_secs: 3600,
            workers: 2,
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

/// One thing wrong with a configuration: the key, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.key, self.message, self.fix)
    }
}

/// What loading produced: the config (when it parsed), errors and warnings.
#[derive(Debug, Default)]
pub struct Loaded {
    pub config: Option<Config>,
    pub source: String,
    pub base_dir: Option<PathBuf>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
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

/// Loads the configuration: the file named by `path` (or `ADUAN_CONFIG`), else the embedded
/// default; then the environment overrides in `env`; then validation.
pub fn load(path: Option<&Path>, env: &BTreeMap<String, String>) -> Loaded {
    let mut out = Loaded::default();
    let path = path
        .map(Path::to_path_buf)
        .or_else(|| env.get("ADUAN_CONFIG").map(PathBuf::from));
    let text = match &path {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => {
                out.source = p.display().to_string();
                out.base_dir = p.parent().map(Path::to_path_buf);
                t
            }
            Err(e) => {
                out.source = p.display().to_string();
                out.errors.push(Problem {
                    key: "ADUAN_CONFIG".into(),
                    message: format!("cannot read {}: {e}", p.display()),
                    fix: "point --config or ADUAN_CONFIG at a readable TOML file, or unset it \
                          to use the embedded default"
                        .into(),
                });
                return out;
            }
        },
        None => {
            out.source = "(embedded default config/aduan.toml)".into();
            DEFAULT_CONFIG.to_string()
        }
    };
    load_text(out, &text, env)
}

/// [`load`] of a configuration text already read (`out` names its source).
pub fn load_text(mut out: Loaded, text: &str, env: &BTreeMap<String, String>) -> Loaded {
    let mut value: toml::Value = match toml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.errors.push(Problem {
                key: e
                    .span()
                    .map(|s| format!("line {}", line_of(text, s.start)))
                    .unwrap_or_else(|| "(file)".into()),
                message: format!("not valid TOML: {}", e.message()),
                fix: "correct the TOML syntax".into(),
            });
            return out;
        }
    };
    apply_env(&mut value, env, &mut out.warnings);
    let Some(root) = value.as_table() else {
        return out;
    };
    for k in root.keys() {
        if !SECTIONS.contains(&k.as_str()) {
            out.warnings.push(Problem {
                key: k.clone(),
                message: "unknown section, ignored".into(),
                fix: format!("sections are: {}", SECTIONS.join(", ")),
            });
        }
    }
    // Each section on its own, so a mistake in one does not hide those in the others.
    let (errors, warnings) = (&mut out.errors, &mut out.warnings);
    let office = section(root, "office", errors, warnings);
    let data = section(root, "data", errors, warnings);
    let database = section(root, "database", errors, warnings);
    let web = section(root, "web", errors, warnings);
    let intake = section(root, "intake", errors, warnings);
    let outbox = section(root, "outbox", errors, warnings);
    let telemetry = section(root, "telemetry", errors, warnings);
    let shutdown = section(root, "shutdown", errors, warnings);
    let channels = channels_section(root, errors, warnings);
    // Sections that failed stand in with their defaults, so the others are still validated.
    let failed: Vec<String> = out
        .errors
        .iter()
        .map(|p| p.key.split('.').next().unwrap_or("").to_string())
        .collect();
    let cfg = Config {
        office: office.unwrap_or_default(),
        data: data.unwrap_or_default(),
        database: database.unwrap_or_default(),
        web: web.unwrap_or_default(),
        intake: intake.unwrap_or_default(),
        outbox: outbox.unwrap_or_default(),
        telemetry: telemetry.unwrap_or_default(),
        shutdown: shutdown.unwrap_or_default(),
        channels: channels.unwrap_or_default(),
    };
    let semantic = validate(&cfg, out.base_dir.as_deref());
    out.errors.extend(semantic.into_iter().filter(|p| {
        !failed
            .iter()
            .any(|f| p.key.split('.').next() == Some(f.as_str()))
    }));
    if failed.is_empty() {
        out.config = Some(cfg);
    }
    // Reported by key, so an operator reads each section's problems together.
    out.errors.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

const SECTIONS: &[&str] = &[
    "office",
    "data",
    "database",
    "web",
    "intake",
    "outbox",
    "telemetry",
    "shutdown",
    "channels",
];

/// Deserializes one top-level section, naming the exact key of a type error and warning about
/// unknown keys. A missing section is an empty one (its defaults).
fn section<T: serde::de::DeserializeOwned>(
    root: &toml::Table,
    name: &str,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<T> {
    let v = root
        .get(name)
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    section_value(v, name, errors, warnings)
}

/// `[channels]`: each `[channels.NAME]` on its own as that channel's [`ChannelConfig`], so a
/// mistake in one channel does not hide those in the others.
fn channels_section(
    root: &toml::Table,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<ChannelsConfig> {
    let table = match root.get("channels") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => {
            errors.push(problem(
                "channels",
                "must be a table of channel sections",
                "write each channel as [channels.NAME]",
            ));
            return None;
        }
    };
    let mut sections = Vec::new();
    let mut ok = true;
    for (name, v) in table {
        if name.parse::<ChannelKind>().is_err() {
            errors.push(problem(
                &format!("channels.{name}"),
                "is not a channel aduan knows",
                format!(
                    "channels are: {}",
                    ChannelKind::iter()
                        .map(ChannelKind::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            ok = false;
            continue;
        }
        let one = toml::Value::Table(toml::Table::from_iter([(name, v)]));
        match section_value::<ChannelConfig>(one, "channels", errors, warnings) {
            Some(c) => sections.push(c),
            None => ok = false,
        }
    }
    ok.then(|| ChannelsConfig::from_sections(sections))
}

/// [`section`] of a value already taken out of the tree.
fn section_value<T: serde::de::DeserializeOwned>(
    v: toml::Value,
    name: &str,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let mut note = |p: serde_ignored::Path<'_>| unknown.push(format!("{name}.{p}"));
    let de = serde_ignored::Deserializer::new(v, &mut note);
    let result: Result<T, _> = serde_path_to_error::deserialize(de);
    for k in unknown {
        warnings.push(Problem {
            key: k,
            message: "unknown key, ignored".into(),
            fix: "remove it or check its spelling against config/aduan.toml".into(),
        });
    }
    match result {
        Ok(t) => Some(t),
        Err(e) => {
            let path = e.path().to_string();
            let key = if path == "." || path.is_empty() {
                name.to_string()
            } else {
                format!("{name}.{path}")
            };
            errors.push(Problem {
                key,
                message: e.into_inner().to_string(),
                fix: "give the key a value of the documented type (see config/aduan.toml)".into(),
            });
            None
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Applies `ADUAN_*` environment overrides to the parsed TOML tree.
fn apply_env(value: &mut toml::Value, env: &BTreeMap<String, String>, warnings: &mut Vec<Problem>) {
    for (k, v) in env {
        let Some(rest) = k.strip_prefix("ADUAN_") else {
            continue;
        };
        let path: Vec<String> = match rest {
            "CONFIG" => continue,
            "DATABASE_URL" => vec!["database".into(), "url".into()],
            "LISTEN" => vec!["web".into(), "listen".into()],
            "DATA_DIR" => vec!["data".into(), "dir".into()],
            _ if rest.contains("__") => rest.split("__").map(|s| s.to_lowercase()).collect(),
            _ => {
                warnings.push(Problem {
                    key: k.clone(),
                    message: "environment variable not understood, ignored".into(),
                    fix: "use ADUAN_<SECTION>__<KEY>, e.g. ADUAN_OUTBOX__MAX_ATTEMPTS".into(),
                });
                continue;
            }
        };
        set_path(value, &path, env_value(v));
    }
}

/// An environment value as TOML: integers, floats, booleans and arrays as such, else a string.
fn env_value(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(b) = v.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if v.starts_with('[') {
        if let Ok(t) = toml::from_str::<toml::Table>(&format!("v = {v}")) {
            if let Some(a) = t.get("v") {
                return a.clone();
            }
        }
    }
    toml::Value::String(v.to_string())
}

fn set_path(value: &mut toml::Value, path: &[String], v: toml::Value) {
    let mut cur = value;
    for (i, seg) in path.iter().enumerate() {
        let Some(table) = cur.as_table_mut() else {
            return;
        };
        if i == path.len() - 1 {
            // Keep strings where the file has strings (an all-digit password stays a string).
            let v = match (table.get(seg), v) {
                (Some(toml::Value::String(_)), toml::Value::Integer(n)) => {
                    toml::Value::String(n.to_string())
                }
                (Some(toml::Value::String(_)), toml::Value::Boolean(b)) => {
                    toml::Value::String(b.to_string())
                }
                (_, v) => v,
            };
            table.insert(seg.clone(), v);
            return;
        }
        cur = table
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
}

fn problem(key: &str, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        key: key.into(),
        message: message.into(),
        fix: fix.into(),
    }
}

/// Semantic checks: every problem at once.
pub fn validate(cfg: &Config, base_dir: Option<&Path>) -> Vec<Problem> {
    let mut p = Vec::new();
    if cfg.office.name.trim().is_empty() {
        p.push(problem("office.name", "is empty", "set the office's name"));
    }
    let prefix = &cfg.office.register_prefix;
    if prefix.is_empty()
        || prefix.len() > 12
        || !prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        p.push(problem(
            "office.register_prefix",
            format!("`{prefix}` is not 1-12 upper-case letters or digits"),
            "use something like `ADU`",
        ));
    }
    if parse_offset(&cfg.office.utc_offset).is_none() {
        p.push(problem(
            "office.utc_offset",
            format!("`{}` is not an offset", cfg.office.utc_offset),
            "use `+07:00` (WIB), `+08:00` (WITA) or `+09:00` (WIT)",
        ));
    }
    if !matches!(cfg.office.language.as_str(), "id" | "en") {
        p.push(problem(
            "office.language",
            format!("`{}` is not supported", cfg.office.language),
            "use `id` or `en`",
        ));
    }
    if cfg.office.sla_working_days == 0 || cfg.office.sla_working_days > 365 {
        p.push(problem(
            "office.sla_working_days",
            "must be between 1 and 365",
            "the SOP standard is 7",
        ));
    }
    for f in &cfg.office.holiday_files {
        if let Err(e) = read_holiday_file(f, base_dir) {
            p.push(problem(
                "office.holiday_files",
                e,
                "name a readable holiday list",
            ));
        }
    }
    for d in &cfg.office.extra_holidays {
        if NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            p.push(problem(
                "office.extra_holidays",
                format!("`{d}` is not a date"),
                "write dates as YYYY-MM-DD",
            ));
        }
    }
    if let Some(dir) = &cfg.office.templates_dir {
        let d = resolve(dir, base_dir);
        if !d.is_dir() {
            p.push(problem(
                "office.templates_dir",
                format!("{} is not a directory", d.display()),
                "point it at a directory holding id.toml and en.toml, or remove it",
            ));
        }
    }
    let url = cfg.database.url.expose();
    if !(url.is_empty()
        || url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        p.push(problem(
            "database.url",
            "is neither sqlite: nor postgres://",
            "use sqlite://path/aduan.db or postgres://user@host/db, or leave empty for SQLite \
             under data.dir",
        ));
    }
    if cfg.database.max_connections == 0 {
        p.push(problem(
            "database.max_connections",
            "must be at least 1",
            "use 8",
        ));
    }
    for (key, v, fix) in [
        (
            "web.trusted_proxy_hops",
            cfg.web.trusted_proxy_hops as u64,
            "use 1 (one reverse proxy)",
        ),
        (
            "web.max_connections",
            cfg.web.max_connections as u64,
            "use 1024",
        ),
        (
            "web.max_connections_per_address",
            cfg.web.max_connections_per_address as u64,
            "use 64",
        ),
        (
            "web.header_timeout_secs",
            cfg.web.header_timeout_secs,
            "use 10",
        ),
        (
            "web.body_idle_timeout_secs",
            cfg.web.body_idle_timeout_secs,
            "use 20",
        ),
        (
            "web.request_timeout_secs",
            cfg.web.request_timeout_secs,
            "use 300",
        ),
        (
            "web.max_concurrent_uploads",
            cfg.web.max_concurrent_uploads as u64,
            "use 4",
        ),
    ] {
        if v == 0 {
            p.push(problem(key, "must be at least 1", fix));
        }
    }
    if cfg.web.max_body_bytes < 1024 {
        p.push(problem(
            "web.max_body_bytes",
            "is below 1 KiB",
            "use at least 1048576",
        ));
    }
    if cfg.intake.max_attachment_bytes == 0 {
        p.push(problem(
            "intake.max_attachment_bytes",
            "must be positive",
            "use 10485760",
        ));
    }
    if cfg.outbox.max_attempts == 0 {
        p.push(problem(
            "outbox.max_attempts",
            "must be at least 1",
            "use 10",
        ));
    }
    if cfg.outbox.heartbeat_secs == 0 {
        p.push(problem(
            "outbox.heartbeat_secs",
            "must be at least 1",
            "use 15",
        ));
    }
    if cfg.outbox.workers == 0 {
        p.push(problem("outbox.workers", "must be at least 1", "use 2"));
    }
    if cfg.outbox.lease_secs < 5 {
        p.push(problem(
            "outbox.lease_secs",
            "is shorter than a send can take",
            "use 120",
        ));
    }
    if cfg.outbox.poll_interval_ms == 0 {
        p.push(problem(
            "outbox.poll_interval_ms",
            "must be positive",
            "use 1000",
        ));
    }
    for c in cfg.channels.enabled() {
        let name = c.spec().kind().as_str();
        for problem in c.spec().problems() {
            p.push(Problem {
                key: problem.key,
                message: problem.message,
                fix: format!("see the [channels.{name}] example in config/aduan.toml"),
            });
        }
    }
    if tracing_subscriber::EnvFilter::try_new(&cfg.telemetry.level).is_err() {
        p.push(problem(
            "telemetry.level",
            format!("`{}` is not a tracing filter", cfg.telemetry.level),
            "use `info` or e.g. `aduan=debug,sqlx=warn`",
        ));
    }
    p
}

pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

pub fn resolve(p: &str, base_dir: Option<&Path>) -> PathBuf {
    let path = PathBuf::from(p);
    match base_dir {
        Some(b) if path.is_relative() => b.join(path),
        _ => path,
    }
}

/// Reads a holiday list by path, falling back to the lists shipped inside the binary.
pub fn read_holiday_file(name: &str, base_dir: Option<&Path>) -> Result<String, String> {
    let path = resolve(name, base_dir);
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(t),
        Err(e) => {
            let file = Path::new(name).file_name().and_then(|f| f.to_str());
            EMBEDDED_HOLIDAYS
                .iter()
                .find(|(n, _)| Some(*n) == file)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| format!("cannot read {}: {e}", path.display()))
        }
    }
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
mod tests {
    use super::*;

    /// The config loader takes any text and any environment: every problem is reported,
    /// nothing panics (run longer in CI). Inputs are the shipped config with lines dropped,
    /// duplicated and values replaced, plus overrides of real keys with arbitrary values.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const KEYS: [&str; 12] = [
            "ADUAN_WEB__MAX_CONNECTIONS",
            "ADUAN_WEB__TRUSTED_PROXY_HOPS",
            "ADUAN_WEB__LISTEN",
            "ADUAN_OFFICE__UTC_OFFSET",
            "ADUAN_OFFICE__SLA_WORKING_DAYS",
            "ADUAN_INTAKE__MAX_ATTACHMENT_BYTES",
            "ADUAN_OUTBOX__HEARTBEAT_SECS",
            "ADUAN_DATABASE_URL",
            "ADUAN_CHANNELS__SMS__MODEMS",
            "ADUAN_CHANNELS__TELEGRAM__TOKEN",
            "ADUAN_CHANNELS__LAPOR__BASE_URL",
            "ADUAN_NOT__A_KEY",
        ];

        proptest! {
            #[test]
            fn fuzz_config_loader(
                edits in proptest::collection::vec((0usize..400, 0u8..3, "\\PC{0,30}"), 0..8),
                env in proptest::collection::vec((0usize..KEYS.len(), "\\PC{0,30}"), 0..6),
            ) {
                let mut lines: Vec<String> = DEFAULT_CONFIG.lines().map(str::to_string).collect();
                for (pos, op, text) in edits {
                    let i = pos % lines.len().max(1);
                    match op {
                        0 => { lines.remove(i.min(lines.len().saturating_sub(1))); }
                        1 => lines.insert(i, text),
                        _ => {
                            if let Some((k, _)) = lines[i].clone().split_once('=') {
                                lines[i] = format!("{k}= {text}");
                            }
                        }
                    }
                    if lines.is_empty() {
                        lines.push(String::new());
                    }
                }
                let env: BTreeMap<String, String> =
                    env.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect();
                let loaded = load_text(Loaded::default(), &lines.join("\n"), &env);
                let _ = loaded.into_result();
            }
        }
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embedded_default_is_valid() {
        let l = load(None, &BTreeMap::new());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let c = l.config.unwrap();
        assert_eq!(c.web.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url().starts_with("sqlite://"));
    }

    /// The commented channel examples in the embedded config, uncommented, are valid as shipped
    /// (passwords from the environment).
    #[test]
    fn commented_channel_examples_are_valid() {
        let mut text = String::new();
        let mut on = false;
        for line in DEFAULT_CONFIG.lines() {
            if line.starts_with("# [channels.") || line.starts_with("# [[channels.") {
                on = true;
            }
            match line.strip_prefix("# ") {
                Some(l) if on => text.push_str(l),
                _ => {
                    on = false;
                    text.push_str(line);
                }
            }
            text.push('\n');
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let path = dir.join("aduan.toml");
        std::fs::write(&path, &text).unwrap();
        std::fs::write(dir.join("holidays-id-2026.toml"), EMBEDDED_HOLIDAYS[0].1).unwrap();
        let l = load(
            Some(&path),
            &env(&[
                ("ADUAN_CHANNELS__EMAIL__IMAP__PASSWORD", "123456"),
                ("ADUAN_CHANNELS__EMAIL__SMTP__PASSWORD", "x"),
                (
                    "ADUAN_CHANNELS__TELEGRAM__TOKEN",
                    "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
                ),
                ("ADUAN_CHANNELS__TELEGRAM__WEBHOOK_SECRET", "w_s-1"),
                ("ADUAN_CHANNELS__LAPOR__SECRET", "s"),
                ("ADUAN_CHANNELS__LAPOR__TOKEN", "3f6c2a9e-0b1d"),
                ("ADUAN_CHANNELS__WHATSAPP__ACCESS_TOKEN", "EAAG"),
                ("ADUAN_CHANNELS__WHATSAPP__APP_SECRET", "s"),
                ("ADUAN_CHANNELS__WHATSAPP__VERIFY_TOKEN", "v"),
            ]),
        );
        // The example's CA file does not exist here: that, and only that, is reported.
        let keys: Vec<&str> = l.errors.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["channels.email.imap.ca_file"], "{:?}", l.errors);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let c = l.config.unwrap();
        let ch = |k| c.channels.get(k).expect("example section");
        let ChannelConfig::Email(email) = ch(ChannelKind::Email) else {
            panic!("email example")
        };
        assert_eq!(email.imap.password.0, "123456");
        assert_eq!(email.imap.move_to.as_deref(), Some("Terdaftar"));
        let ChannelConfig::Sms(sms) = ch(ChannelKind::Sms) else {
            panic!("sms example")
        };
        assert_eq!(sms.modems.len(), 1);
        let ChannelConfig::Telegram(tg) = ch(ChannelKind::Telegram) else {
            panic!("telegram example")
        };
        assert_eq!(tg.poll_timeout_secs, 30);
        let ChannelConfig::Lapor(lapor) = ch(ChannelKind::Lapor) else {
            panic!("lapor example")
        };
        assert_eq!(lapor.institution_id, "678");
        assert_eq!(
            lapor.list_path.as_deref(),
            Some("complaints/institution?page=1")
        );
        let ChannelConfig::Whatsapp(wa) = ch(ChannelKind::Whatsapp) else {
            panic!("whatsapp example")
        };
        assert_eq!(wa.phone_number_id, "1098765432");
        assert_eq!(wa.template_params, ["register_no", "text"]);
        // Every channel has an example: none can be added without one.
        for k in ChannelKind::iter() {
            assert!(c.channels.get(k).is_some(), "no [channels.{k}] example");
        }
    }

    #[test]
    fn env_overrides_win() {
        let l = load(
            None,
            &env(&[
                ("ADUAN_DATABASE_URL", "postgres://x@127.0.0.1/db"),
                ("ADUAN_LISTEN", "127.0.0.1:9999"),
                ("ADUAN_DATA_DIR", "/tmp/aduan-x"),
                ("ADUAN_OUTBOX__MAX_ATTEMPTS", "3"),
                ("ADUAN_OFFICE__REGISTER_PREFIX", "PGD"),
            ]),
        );
        let c = l.config.unwrap();
        assert_eq!(c.database_url(), "postgres://x@127.0.0.1/db");
        assert_eq!(c.web.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(c.data.dir, Path::new("/tmp/aduan-x"));
        assert_eq!(c.outbox.max_attempts, 3);
        assert_eq!(c.office.register_prefix, "PGD");
    }

    #[test]
    fn every_problem_reported_at_once_and_unknown_keys_warned() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let f = dir.join("bad.toml");
        std::fs::write(
            &f,
            r#"
[office]
name = ""
register_prefix = "adu-"
utc_offset = "WIB"
colour = "blue"
[web]
listen = "nowhere"
[outbox]
workers = 0
"#,
        )
        .unwrap();
        let l = load(Some(&f), &env(&[("ADUAN_BOGUS", "1")]));
        let keys: Vec<&str> = l.errors.iter().map(|p| p.key.as_str()).collect();
        for k in [
            "office.name",
            "office.register_prefix",
            "office.utc_offset",
            "web.listen",
            "outbox.workers",
        ] {
            assert!(keys.contains(&k), "missing {k} in {keys:?}");
        }
        let w: Vec<&str> = l.warnings.iter().map(|p| p.key.as_str()).collect();
        assert!(w.contains(&"office.colour"), "{w:?}");
        assert!(w.contains(&"ADUAN_BOGUS"), "{w:?}");
        assert!(l.into_result().is_err());
    }

    #[test]
    fn type_errors_name_the_key_and_do_not_hide_other_problems() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let f = dir.join("types.toml");
        std::fs::write(
            &f,
            "[office]\nname = \"X\"\nsla_working_days = \"seven\"\n[outbox]\nworkers = -1\n[web]\nlisten = \"nowhere\"\n",
        )
        .unwrap();
        let l = load(Some(&f), &BTreeMap::new());
        let keys: Vec<&str> = l.errors.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["office.sla_working_days", "outbox.workers", "web.listen"],
            "{:?}",
            l.errors
        );
        assert!(l.config.is_none());
    }

    #[test]
    fn broken_toml_names_the_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let f = dir.join("broken.toml");
        std::fs::write(&f, "[office]\nname = \"x\"\nsla_working_days = = 3\n").unwrap();
        let l = load(Some(&f), &BTreeMap::new());
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].key, "line 3", "{:?}", l.errors);
        let missing = load(Some(&dir.join("nope.toml")), &BTreeMap::new());
        assert!(missing.errors[0].message.contains("cannot read"));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("postgres://u:hunter2@h/db");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

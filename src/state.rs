//! The daemon's shared state: register, settings derived from config, templates, calendar,
//! channels, metrics. Built once at start and handed to every part; no globals.

use std::path::Path;
use std::sync::Arc;

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, Utc};
use tokio::sync::Notify;

use crate::channels::Channels;
use crate::config::{self, Config};
use crate::db::{ConnectOptions, Db};
use crate::metrics::Metrics;
use crate::sla::Calendar;
use crate::templates::Templates;

/// Settings the register logic needs, resolved from [`Config`] once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub office_name: String,
    pub register_prefix: String,
    pub offset: FixedOffset,
    pub language: aduan_channel::Lang,
    pub sla_days: u32,
    pub message_id_domain: String,
    pub public_url: String,
    pub max_attachment_bytes: usize,
    pub max_attachments: usize,
    pub max_text_chars: usize,
    pub ack_limit_per_hour: u32,
    pub outbox: config::OutboxConfig,
}

impl Settings {
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            office_name: c.office.name.clone(),
            register_prefix: c.office.register_prefix.clone(),
            offset: c.offset(),
            language: c.office.language,
            sla_days: c.office.sla_working_days,
            message_id_domain: c.office.message_id_domain.clone(),
            public_url: c.office.public_url.trim_end_matches('/').to_string(),
            max_attachment_bytes: c.intake.max_attachment_bytes,
            max_attachments: c.intake.max_attachments,
            max_text_chars: c.intake.max_text_chars,
            ack_limit_per_hour: c.intake.ack_limit_per_hour,
            outbox: c.outbox.clone(),
        }
    }

    pub fn track_url(&self, register_no: &str) -> String {
        format!("{}/lacak/{}", self.public_url, register_no)
    }

    /// The one-question rating page, opened with the tracking code.
    pub fn rate_url(&self, register_no: &str, tracking_code: &str) -> String {
        format!(
            "{}/lacak/{}/nilai?code={}",
            self.public_url, register_no, tracking_code
        )
    }
}

/// The register's clock: the real time, or a fixed time a test sets. Registration (the register
/// number's year, `received_at`, the due date) reads it, never the source's clock.
#[derive(Debug, Default)]
pub struct Clock {
    fixed_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self.fixed_ms.load(Ordering::Relaxed) {
            0 => Utc::now(),
            ms => DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now),
        }
    }

    /// Fixes the time (tests); `None` returns to the real time.
    pub fn set(&self, t: Option<DateTime<Utc>>) {
        self.fixed_ms
            .store(t.map_or(0, |t| t.timestamp_millis()), Ordering::Relaxed);
    }
}

pub struct Core {
    pub db: Db,
    pub clock: Clock,
    pub settings: Settings,
    pub calendar: Calendar,
    /// The office's procedure: steps, roles, standards, the chain of approval.
    pub procedure: crate::workflow::Procedure,
    /// The letterhead and signer of the office's letters.
    pub letterhead: crate::letter::Letterhead,
    pub templates: Templates,
    pub channels: Channels,
    pub metrics: Metrics,
    /// Woken when a row enters the outbox, so a local dispatcher sends without waiting a poll.
    pub outbox_wake: Notify,
}

pub type Shared = Arc<Core>;

impl Core {
    /// Builds the calendar from the config's holiday lists and extra days.
    pub fn calendar_from(c: &Config, base_dir: Option<&Path>) -> anyhow::Result<Calendar> {
        let hours = crate::sla::OfficeHours::parse(&c.office.hours, &c.office.working_weekdays)
            .map_err(|e| anyhow::anyhow!("office.hours: {e}"))?;
        let mut cal = Calendar::new(c.offset(), hours);
        if c.office.national_holidays {
            for (name, text) in config::EMBEDDED_HOLIDAYS {
                cal.add_list(text)
                    .map_err(|e| anyhow::anyhow!("shipped holiday list {name}: {e}"))?;
            }
        }
        for f in &c.office.holiday_files {
            let text = config::read_holiday_file(f, base_dir).map_err(anyhow::Error::msg)?;
            cal.add_list(&text)
                .map_err(|e| anyhow::anyhow!("office.holiday_files {f}: {e}"))?;
        }
        for d in &c.office.extra_holidays {
            let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")?;
            cal.add_day(d);
        }
        for d in &c.office.working_dates {
            let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")?;
            cal.remove_day(d);
        }
        Ok(cal)
    }

    /// Connects to the configured register and applies its migrations.
    pub async fn connect(c: &Config) -> anyhow::Result<Db> {
        let db = Core::connect_only(c).await?;
        db.migrate().await?;
        let n = crate::register::audit::upgrade_legacy(&db).await?;
        if n > 0 {
            tracing::info!(
                entries = n,
                "audit entries of an older register read into events"
            );
        }
        let n = crate::register::identity::reindex(&db).await?;
        if n > 0 {
            tracing::info!(
                complaints = n,
                "confidential complaints indexed with their names apart"
            );
        }
        Ok(db)
    }

    /// Connects to the configured register without migrating it.
    pub async fn connect_only(c: &Config) -> anyhow::Result<Db> {
        let db = Db::connect(
            &c.database_url(),
            &ConnectOptions {
                max_connections: c.database.max_connections,
                connect_timeout: std::time::Duration::from_secs(c.database.connect_timeout_secs),
                sqlite_synchronous_full: c.database.sqlite_synchronous == config::Synchronous::Full,
                ..Default::default()
            },
        )
        .await?;
        Ok(db)
    }

    /// Connects (and migrates) the register and builds the state for `c`.
    pub async fn open(c: &Config, base_dir: Option<&Path>) -> anyhow::Result<Shared> {
        Core::with_db(c, base_dir, Core::connect(c).await?)
    }

    pub fn with_db(c: &Config, base_dir: Option<&Path>, db: Db) -> anyhow::Result<Shared> {
        let templates = Templates::load(
            c.office
                .templates_dir
                .as_deref()
                .map(|d| config::resolve(d, base_dir))
                .as_deref(),
        )
        .map_err(anyhow::Error::msg)?;
        Ok(Arc::new(Core {
            db,
            clock: Clock::default(),
            settings: Settings::from_config(c),
            calendar: Core::calendar_from(c, base_dir)?,
            procedure: crate::workflow::Procedure::load(&c.office.procedure, base_dir)
                .map_err(|e| anyhow::anyhow!("office.procedure: {e}"))?,
            letterhead: crate::letter::Letterhead::load(&c.office.name, &c.letter, base_dir)
                .map_err(|e| anyhow::anyhow!("letter.logo: {e}"))?,
            templates,
            channels: Channels::from_config(c),
            metrics: Metrics::default(),
            outbox_wake: Notify::new(),
        }))
    }
}

//! Semantic checks of a loaded configuration: every problem at once, each with its key and fix.

use super::*;

/// Semantic checks: every problem at once.
pub fn validate(cfg: &Config, base_dir: Option<&Path>) -> Vec<Problem> {
    let mut p = Vec::new();
    office(cfg, base_dir, &mut p);
    storage_and_web(cfg, &mut p);
    outbox_channels_and_logs(cfg, &mut p);
    p
}

/// `[office]` and `[letter]`: name, numbering, time zone, standards, hours, procedure, holidays, templates, letter numbers and logo.
fn office(cfg: &Config, base_dir: Option<&Path>, p: &mut Vec<Problem>) {
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
    if cfg.office.sla_working_days == 0 || cfg.office.sla_working_days > 365 {
        p.push(problem(
            "office.sla_working_days",
            "must be between 1 and 365",
            "the SOP standard is 7",
        ));
    }
    if let Err(e) = crate::sla::OfficeHours::parse(&cfg.office.hours, &cfg.office.working_weekdays)
    {
        p.push(problem(
            "office.hours",
            e,
            "write office hours like `08:00-16:00` and weekdays like `[\"mon\", \"tue\"]`",
        ));
    }
    if let Err(e) = crate::workflow::Procedure::load(&cfg.office.procedure, base_dir) {
        p.push(problem(
            "office.procedure",
            e,
            "name a shipped procedure (default, binjai, madiun, pagar_alam, lapor) or fix the file",
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
    for (key, dates) in [
        ("office.extra_holidays", &cfg.office.extra_holidays),
        ("office.working_dates", &cfg.office.working_dates),
    ] {
        for d in dates {
            if NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                p.push(problem(
                    key,
                    format!("`{d}` is not a date"),
                    "write dates as YYYY-MM-DD",
                ));
            }
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
    for (key, format) in [
        ("letter.answer_number", &cfg.letter.answer_number),
        ("letter.invitation_number", &cfg.letter.invitation_number),
    ] {
        if let Err(e) = crate::letter::check_number_format(format) {
            p.push(problem(
                key,
                e,
                "write the office's format with {seq} and {year}, e.g. 500.16/{seq}/DPMPTSP/{year}",
            ));
        }
    }
    if let Err(e) = crate::letter::Letterhead::load(&cfg.office.name, &cfg.letter, base_dir) {
        p.push(problem(
            "letter.logo",
            e,
            "point it at a PNG or JPEG file, or remove it",
        ));
    }
}

/// `[database]`, `[web]` and `[intake]`: the register's URL and pool, the public edge's limits.
fn storage_and_web(cfg: &Config, p: &mut Vec<Problem>) {
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
    if !(1..=1000).contains(&cfg.intake.max_attachments) {
        p.push(problem(
            "intake.max_attachments",
            "must be from 1 to 1000",
            "use 20",
        ));
    }
    if cfg.intake.max_attachment_bytes == 0 {
        p.push(problem(
            "intake.max_attachment_bytes",
            "must be positive",
            "use 10485760",
        ));
    }
}

/// `[outbox]`, each enabled channel's own checks, and `[telemetry]`.
fn outbox_channels_and_logs(cfg: &Config, p: &mut Vec<Problem>) {
    if cfg.outbox.give_up_after_secs == 0 {
        p.push(problem(
            "outbox.give_up_after_secs",
            "must be positive: a reply would be parked at its first transient failure",
            "use 86400 (a day)",
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
            let fix = if problem.fix.is_empty() {
                format!("see the [channels.{name}] example in config/aduan.toml")
            } else {
                problem.fix.clone()
            };
            p.push(Problem { fix, ..problem });
        }
    }
    if tracing_subscriber::EnvFilter::try_new(&cfg.telemetry.level).is_err() {
        p.push(problem(
            "telemetry.level",
            format!("`{}` is not a tracing filter", cfg.telemetry.level),
            "use `info` or e.g. `aduan=debug,sqlx=warn`",
        ));
    }
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

//! `aduan serve`: the daemon in the foreground, with systemd's readiness and watchdog.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::Datelike;

use super::{config_source, load_config_for_serve, register_place};
use crate::state::Core;

pub(super) async fn serve(
    path: Option<&Path>,
    allow_unknown_keys: bool,
) -> anyhow::Result<ExitCode> {
    let (cfg, base) = load_config_for_serve(path, allow_unknown_keys)?;
    check_state_directory(&cfg, path)?;
    // Into the log (JSON lines stay JSON), not beside it.
    tracing::info!(
        register = %register_place(&cfg),
        configuration = %config_source(path),
        "opening the register"
    );
    let listener = tokio::net::TcpListener::bind(&cfg.web.listen)
        .await
        .with_context(|| format!("cannot listen on {} (web.listen)", cfg.web.listen))?;
    let core = Core::open(&cfg, base.as_deref()).await?;
    crate::workflow::calendar::recompute_covered_gaps(&core).await?;
    let year = crate::sla::local_date(chrono::Utc::now(), core.settings.offset).year();
    if !core.calendar.covers_year(year) {
        tracing::warn!(
            year,
            "no holiday list covers this year: due dates skip weekends only (office.holiday_files)"
        );
    }
    let public = core.settings.public_url.clone();
    let db = core.db.clone();
    let running = crate::daemon::start(core, &cfg, listener)?;
    tracing::info!(
        listen = %running.addr,
        form = %format!("{public}/aduan"),
        inbox = %format!("{public}/kotak"),
        metrics = %format!("http://{}/metrics", running.addr),
        "aduan is serving"
    );
    crate::systemd::notify("READY=1");
    let stopped = running.shutdown.clone();
    let watchdog = async {
        // Pings only while the register answers and the daemon's loops run.
        let Some(every) = crate::systemd::watchdog_interval() else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(every / 2).await;
            if !stopped.is_cancelled() && db.ping().await.is_ok() {
                crate::systemd::notify("WATCHDOG=1");
            }
        }
    };
    tokio::select! {
        _ = crate::daemon::signal() => tracing::info!("signal received, shutting down"),
        _ = stopped.cancelled() => {}
        _ = watchdog => {}
    }
    crate::systemd::notify("STOPPING=1");
    running
        .stop(Duration::from_secs(cfg.shutdown.deadline_secs))
        .await;
    Ok(ExitCode::SUCCESS)
}

/// Under systemd, a SQLite register belongs in the unit's `StateDirectory` (the only place the
/// sandbox lets it write): an office's configuration that still names another office's folder
/// is refused in words instead of failing on a read-only database in a restart loop.
fn check_state_directory(cfg: &crate::config::Config, path: Option<&Path>) -> anyhow::Result<()> {
    let Some(state) = std::env::var_os("STATE_DIRECTORY") else {
        return Ok(());
    };
    let url = cfg.database_url();
    if crate::db::Backend::of_url(&url) != crate::db::Backend::Sqlite {
        return Ok(());
    }
    let file = crate::db::sqlite_file(&url);
    let file = std::path::absolute(&file).unwrap_or(file);
    let dirs: Vec<std::path::PathBuf> = std::env::split_paths(&state).collect();
    if dirs.iter().any(|d| file.starts_with(d)) {
        return Ok(());
    }
    let dir = dirs
        .first()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    anyhow::bail!(
        "this service keeps its register in {dir} (its StateDirectory), but the configuration \
         names {}: set `[data] dir = \"{dir}\"` in {}",
        file.display(),
        config_source(path)
    )
}

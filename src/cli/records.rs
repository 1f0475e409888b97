//! Commands that read or change the register's records: `backup`, `restore`, `migrate`,
//! `complaints`, `reply`, `lapor-link`, `sla`, `report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::args::{ComplaintsCmd, ReportCmd, SlaCmd};
use super::{announce, existing, load_config, open_existing};
use crate::state::Core;
use crate::workflow::Officer;
use aduan_channel::ChannelKind;

/// `backup FILE`: a copy of the register, read back whole; `--verify`: only the reading.
pub(super) async fn backup(
    path: Option<&Path>,
    file: PathBuf,
    verify: bool,
) -> anyhow::Result<ExitCode> {
    let (cfg, _) = load_config(path)?;
    if verify {
        let backend = crate::db::Backend::of_url(&cfg.database_url());
        let s = crate::backup::verify(&file, backend).await?;
        println!("{}: a whole backup: {s}", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let db = existing(&cfg, path).await?;
    let copy = crate::backup::backup(&db, &cfg.database_url(), &file).await;
    db.close().await;
    println!("backup written to {}: it holds {}", file.display(), copy?);
    Ok(ExitCode::SUCCESS)
}

/// `restore FILE`: the register replaced by a verified backup (created on a new server).
pub(super) async fn restore(path: Option<&Path>, file: PathBuf) -> anyhow::Result<ExitCode> {
    let (cfg, _) = load_config(path)?;
    announce(&cfg, path);
    crate::backup::restore(&cfg.database_url(), &file, cfg.outbox.heartbeat_secs).await?;
    println!("register restored from {}", file.display());
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn migrate(path: Option<&Path>, dry_run: bool) -> anyhow::Result<ExitCode> {
    let (cfg, _) = load_config(path)?;
    announce(&cfg, path);
    if !dry_run {
        let db = Core::connect(&cfg).await?;
        println!("register migrated ({})", db.backend.as_str());
        db.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let db = Core::connect_only(&cfg).await?;
    let known = db.known_migrations().last().map_or(0, |(v, _)| *v);
    let applied = db.applied_migrations().await?;
    if let Some(found) = applied.iter().copied().max().filter(|f| *f > known) {
        anyhow::bail!(crate::db::DbError::SchemaTooNew { found, known });
    }
    let pending = db.pending_migrations().await?;
    if pending.is_empty() {
        println!(
            "the register ({}) is up to date: {} migrations applied",
            db.backend.as_str(),
            applied.len()
        );
    } else {
        println!("would run on the register ({}):", db.backend.as_str());
        for (v, d) in pending {
            println!("  {v:04} {d}");
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn complaints(
    path: Option<&Path>,
    cmd: ComplaintsCmd,
) -> anyhow::Result<ExitCode> {
    let (cfg, _) = load_config(path)?;
    let db = existing(&cfg, path).await?;
    match cmd {
        ComplaintsCmd::List {
            status,
            channel,
            overdue,
            limit,
        } => {
            let filter = crate::register::ComplaintFilter {
                channel: channel.as_deref().map(str::parse).transpose()?,
                status,
                overdue: overdue.then_some(true),
                now: crate::db::now_ms(),
                ..Default::default()
            };
            let page = crate::register::Page {
                number: 1,
                size: limit.clamp(1, 1000),
                ..Default::default()
            };
            let listing = crate::register::list_complaints(&db, &filter, page).await?;
            for l in listing.items {
                let c = l.complaint;
                println!(
                    "{:<18} {:<8} {:<16} due {} {}",
                    c.register_no, c.channel, c.status, c.due_date, c.subject
                );
            }
        }
        ComplaintsCmd::Show { register_no } => {
            let c = crate::register::complaint_by_no(&db.pool, &register_no)
                .await?
                .with_context(|| format!("complaint {register_no} not found"))?;
            println!("{}", serde_json::to_string_pretty(&c)?);
            let file = crate::register::case_file(&db, c.id).await?;
            for m in &file.messages {
                println!(
                    "--- {} {} {} {}\n{}",
                    crate::web::ms_to_rfc3339(m.created_at),
                    m.direction,
                    m.channel,
                    m.subject,
                    m.body
                );
            }
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn reply(
    path: Option<&Path>,
    register_no: String,
    text: String,
    as_officer: String,
) -> anyhow::Result<ExitCode> {
    let (cfg, base) = load_config(path)?;
    let core = open_existing(&cfg, base.as_deref(), path).await?;
    let officer = active_officer(&core, &as_officer).await?;
    let ids = crate::workflow::reply(&core, &officer, &register_no, &text, &[]).await?;
    println!("reply queued: outbox {ids:?}");
    core.db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn lapor_link(
    path: Option<&Path>,
    tracking_id: String,
    as_officer: String,
) -> anyhow::Result<ExitCode> {
    let (cfg, base) = load_config(path)?;
    let Some(lapor) = cfg.channels.get(ChannelKind::Lapor) else {
        anyhow::bail!("the LAPOR! channel is not configured ([channels.lapor])");
    };
    let ch = lapor
        .spec()
        .build(&crate::channels::build_context(&cfg))
        .map_err(anyhow::Error::msg)?;
    let core = open_existing(&cfg, base.as_deref(), path).await?;
    let officer = active_officer(&core, &as_officer).await?;
    let link = ch
        .link(&tracking_id, &officer.username)
        .await
        .map_err(|e| anyhow::anyhow!("LAPOR! report {tracking_id} cannot be linked: {e}"))?;
    let c = crate::intake::submit_as(&core, link, Some((officer.id, officer.username.as_str())))
        .await?;
    println!("{} ({:?})", c.register_no, c.disposition);
    core.db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn sla(path: Option<&Path>, cmd: SlaCmd) -> anyhow::Result<ExitCode> {
    let (cfg, base) = load_config(path)?;
    if let SlaCmd::Procedure = cmd {
        // The configured procedure alone: no register needed.
        let procedure = crate::workflow::Procedure::load(&cfg.office.procedure, base.as_deref())
            .map_err(|e| anyhow::anyhow!("office.procedure: {e}"))?;
        print!("{}", procedure.describe());
        return Ok(ExitCode::SUCCESS);
    }
    let core = open_existing(&cfg, base.as_deref(), path).await?;
    match cmd {
        SlaCmd::Recompute => {
            let r = crate::workflow::clock::recompute(&core).await?;
            println!(
                "{} open complaint(s) recomputed, {} changed",
                r.open, r.changed
            );
            if r.gaps > 0 {
                println!(
                    "warning: {} still reach a year no holiday list covers (office.holiday_files)",
                    r.gaps
                );
            }
        }
        SlaCmd::Procedure => unreachable!("answered above"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn report(
    path: Option<&Path>,
    cmd: ReportCmd,
    csv: bool,
) -> anyhow::Result<ExitCode> {
    let (cfg, base) = load_config(path)?;
    let core = open_existing(&cfg, base.as_deref(), path).await?;
    let today = crate::sla::local_date(chrono::Utc::now(), core.settings.offset);
    let period = match cmd {
        ReportCmd::Daily { date } => match date {
            Some(d) => crate::recap::Period::parse(&d)
                .filter(|p| !p.monthly)
                .with_context(|| format!("`{d}` is not a date (YYYY-MM-DD)"))?,
            None => crate::recap::Period::day(today),
        },
        ReportCmd::Monthly { month } => match month {
            Some(m) => crate::recap::Period::parse(&m)
                .filter(|p| p.monthly)
                .with_context(|| format!("`{m}` is not a month (YYYY-MM)"))?,
            None => {
                use chrono::Datelike;
                crate::recap::Period::month(today.year(), today.month()).context("this month")?
            }
        },
    };
    let r = crate::recap::compute(&core, period).await?;
    if csv {
        print!("{}", crate::recap::csv(&period, &r));
    } else {
        print!("{}", crate::recap::text(&period, &r));
    }
    core.db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// An active officer by username, for commands run on an officer's behalf.
async fn active_officer(core: &Core, username: &str) -> anyhow::Result<Officer> {
    crate::register::officers::active_by_username(&core.db, username)
        .await?
        .with_context(|| format!("no active officer `{username}`"))
}

//! The command line: `aduan serve|migrate|check-config|officer|complaints|reply|bench`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::Datelike;
use clap::Parser;

use crate::config::{self, Config};
use crate::state::Core;
use crate::workflow::{Officer, Role};
use aduan_channel::ChannelKind;

mod args;
pub use args::Cli;
use args::*;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve) {
        // A command whose output is cut short (`aduan complaints list | head`) ends quietly,
        // as command-line tools do, instead of panicking on the closed pipe. The daemon keeps
        // SIGPIPE ignored: a client that hangs up is an error to handle, not a signal.
        // SAFETY: restoring a signal's default disposition before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
    let loaded = config::load(path, &config::process_env());
    let warnings = loaded.warnings.clone();
    let (cfg, base, _) = loaded.into_result()?;
    crate::telemetry::init(
        cfg.telemetry.format == config::LogFormat::Json,
        &cfg.telemetry.level,
    );
    for w in warnings {
        tracing::warn!(key = %w.key, "{} ({})", w.message, w.fix);
    }
    Ok((cfg, base))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = cli.config.as_deref();
    match cli.command {
        Command::Setup {
            admin,
            password_stdin,
        } => {
            let loaded = config::load(path, &config::process_env());
            for w in &loaded.warnings {
                println!("warning: {w}");
            }
            let source = loaded.source.clone();
            let (cfg, _, _) = loaded.into_result()?;
            println!("{source}: configuration ok");
            let db = Core::connect(&cfg).await?;
            println!(
                "register ready ({}, {} migrations)",
                db.backend.as_str(),
                db.applied_migrations().await?.len()
            );
            let existing = crate::officers::list(&db).await?;
            if let Some(a) = existing.iter().find(|o| o.role == Role::Admin && o.active) {
                println!(
                    "an administrator exists already ({}); nothing to do",
                    a.username
                );
                db.close().await;
                return Ok(ExitCode::SUCCESS);
            }
            let pw = if password_stdin {
                read_password_line()?
            } else {
                let first = ask_password(&format!("Password for {admin}: "))?;
                let again = ask_password("Again: ")?;
                anyhow::ensure!(
                    first == again,
                    "the two passwords differ; nothing was created"
                );
                first
            };
            if let Some(p) = crate::web::session::password_problem(&pw) {
                anyhow::bail!("the password needs {p}; nothing was created");
            }
            let token = crate::officers::add(&db, &admin, "Administrator", Role::Admin).await?;
            crate::web::session::set_password(&db, &admin, &pw).await?;
            db.close().await;
            println!(
                "administrator {admin} created. Log in at {}/masuk",
                cfg.office.public_url.trim_end_matches('/')
            );
            println!("API token (shown once, keep it secret): {token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => {
            let l = config::load(path, &config::process_env());
            for w in &l.warnings {
                println!("warning: {w}");
            }
            for e in &l.errors {
                println!("error: {e}");
            }
            if l.errors.is_empty() {
                println!("{}: ok", l.source);
                Ok(ExitCode::SUCCESS)
            } else {
                println!("{}: {} problem(s)", l.source, l.errors.len());
                Ok(ExitCode::from(2))
            }
        }
        Command::Serve => {
            let (cfg, base) = load_config(path)?;
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
        Command::Backup { file, verify } => {
            let (cfg, _) = load_config(path)?;
            if verify {
                let backend = if cfg.database_url().starts_with("sqlite:") {
                    crate::db::Backend::Sqlite
                } else {
                    crate::db::Backend::Postgres
                };
                match crate::backup::verify(&file, backend).await? {
                    Some(s) => println!("{}: a whole backup: {s}", file.display()),
                    None => println!("{}: a readable PostgreSQL backup", file.display()),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let db = Core::connect(&cfg).await?;
            crate::backup::backup(&db, &cfg.database_url(), &file).await?;
            let s = crate::backup::summary(&db).await?;
            db.close().await;
            println!(
                "backup written to {} (the register held {s})",
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let (cfg, _) = load_config(path)?;
            crate::backup::restore(&cfg.database_url(), &file, cfg.outbox.heartbeat_secs).await?;
            println!("register restored from {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { dry_run: true } => {
            let (cfg, _) = load_config(path)?;
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
        Command::Migrate { dry_run: false } => {
            let (cfg, _) = load_config(path)?;
            let db = Core::connect(&cfg).await?;
            println!("register migrated ({})", db.backend.as_str());
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Officer { cmd } => {
            let (cfg, _) = load_config(path)?;
            let db = Core::connect(&cfg).await?;
            match cmd {
                OfficerCmd::Add {
                    username,
                    role,
                    name,
                    password_stdin,
                } => {
                    let role: Role = role.parse().map_err(anyhow::Error::msg)?;
                    let password = if password_stdin {
                        let pw = read_password_line()?;
                        if let Some(p) = crate::web::session::password_problem(&pw) {
                            anyhow::bail!("the password needs {p}");
                        }
                        Some(pw)
                    } else {
                        None
                    };
                    let token = crate::officers::add(&db, &username, &name, role).await?;
                    if let Some(pw) = password {
                        crate::web::session::set_password(&db, &username, &pw).await?;
                        println!("web password set");
                    }
                    println!("officer {username} ({role}) added. API token (shown once, keep it secret):");
                    println!("{token}");
                }
                OfficerCmd::List => {
                    for o in crate::officers::list(&db).await? {
                        println!(
                            "{:<20} {:<16} {:<8} {}",
                            o.username,
                            o.role,
                            if o.active { "active" } else { "disabled" },
                            o.display_name
                        );
                    }
                }
                OfficerCmd::Password { username } => {
                    let pw = read_password_line()?;
                    crate::web::session::set_password(&db, &username, &pw).await?;
                    println!("password set for {username}");
                }
                OfficerCmd::Token { username } => {
                    let token = crate::officers::rotate_token(&db, &username).await?;
                    println!(
                        "new API token for {username} (shown once; the old one no longer works):"
                    );
                    println!("{token}");
                }
                OfficerCmd::Disable { username } => {
                    crate::officers::disable(&db, &username).await?;
                    println!("officer {username} disabled");
                }
                OfficerCmd::Unlock { username } => {
                    let n = crate::web::session::unlock(&db, &username).await?;
                    println!("{username} may log in again ({n} recent attempts forgotten)");
                }
            }
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Complaints { cmd } => {
            let (cfg, _) = load_config(path)?;
            let db = Core::connect(&cfg).await?;
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
        Command::Reply {
            register_no,
            text,
            as_officer,
        } => {
            let (cfg, base) = load_config(path)?;
            let core = Core::open(&cfg, base.as_deref()).await?;
            let officer = active_officer(&core, &as_officer).await?;
            let ids = crate::workflow::reply(&core, &officer, &register_no, &text, &[]).await?;
            println!("reply queued: outbox {ids:?}");
            core.db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::LaporLink {
            tracking_id,
            as_officer,
        } => {
            let (cfg, base) = load_config(path)?;
            let Some(lapor) = cfg.channels.get(ChannelKind::Lapor) else {
                anyhow::bail!("the LAPOR! channel is not configured ([channels.lapor])");
            };
            let ch = lapor
                .spec()
                .build(&crate::channels::build_context(&cfg))
                .map_err(anyhow::Error::msg)?;
            let core = Core::open(&cfg, base.as_deref()).await?;
            let officer = active_officer(&core, &as_officer).await?;
            let link = ch
                .link(&tracking_id, &officer.username)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("LAPOR! report {tracking_id} cannot be linked: {e}")
                })?;
            let c = crate::intake::submit_as(
                &core,
                link,
                Some((officer.id, officer.username.as_str())),
            )
            .await?;
            println!("{} ({:?})", c.register_no, c.disposition);
            core.db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Unit { cmd } => {
            let (cfg, _) = load_config(path)?;
            let db = Core::connect(&cfg).await?;
            match cmd {
                UnitCmd::Add { name } => {
                    let name = name.trim();
                    if name.is_empty() || name.chars().count() > 80 {
                        anyhow::bail!("a unit's name is 1-80 characters");
                    }
                    if crate::register::units::add(&db, name, crate::db::now_ms()).await? {
                        println!("unit `{name}` added");
                    } else {
                        println!("unit `{name}` exists already");
                    }
                }
                UnitCmd::List => {
                    for (unit, members) in
                        crate::register::workspace::units_with_members(&db).await?
                    {
                        println!("{unit}: {}", members.join(", "));
                    }
                }
                UnitCmd::Join { unit, username } => {
                    if !crate::register::workspace::add_member(&db, &unit, &username).await? {
                        anyhow::bail!("no active unit `{unit}` or no active officer `{username}`");
                    }
                    println!("{username} is a member of `{unit}`");
                }
                UnitCmd::Leave { unit, username } => {
                    if crate::register::workspace::remove_member(&db, &unit, &username).await? {
                        println!("{username} left `{unit}`");
                    } else {
                        println!("{username} was not a member of `{unit}`");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sla { cmd } => {
            let (cfg, base) = load_config(path)?;
            let core = Core::open(&cfg, base.as_deref()).await?;
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
                SlaCmd::Procedure => print!("{}", core.procedure.describe()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { cmd, csv } => {
            let (cfg, base) = load_config(path)?;
            let core = Core::open(&cfg, base.as_deref()).await?;
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
                        crate::recap::Period::month(today.year(), today.month())
                            .context("this month")?
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
    }
}

/// An active officer by username, for commands run on an officer's behalf.
async fn active_officer(core: &Core, username: &str) -> anyhow::Result<Officer> {
    crate::register::officers::active_by_username(&core.db, username)
        .await?
        .with_context(|| format!("no active officer `{username}`"))
}

/// One line of standard input, without its line ending.
/// Asks for a password on the terminal without echoing it.
fn ask_password(prompt: &str) -> anyhow::Result<String> {
    use std::io::Write;
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios calls on standard input with a struct they fill; restored below.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let tty = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    if tty {
        let mut quiet = term;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let line = read_password_line();
    if tty {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
        eprintln!();
    }
    line
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

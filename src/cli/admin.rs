//! Commands that manage people and units: `setup`, `officer`, `unit`.

use std::path::Path;
use std::process::ExitCode;

use super::args::{OfficerCmd, UnitCmd};
use super::{announce, existing};
use crate::config;
use crate::state::Core;
use crate::workflow::Role;

/// First run: the register prepared (created when missing) and the first administrator.
pub(super) async fn setup(
    path: Option<&Path>,
    admin: String,
    password_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let loaded = config::load(path, &config::process_env());
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    let source = loaded.source.clone();
    let (cfg, _, _) = loaded.into_result()?;
    println!("{source}: configuration ok");
    announce(&cfg, path);
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

pub(super) async fn officer(path: Option<&Path>, cmd: OfficerCmd) -> anyhow::Result<ExitCode> {
    let (cfg, _) = super::load_config(path)?;
    let db = existing(&cfg, path).await?;
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
            println!("new API token for {username} (shown once; the old one no longer works):");
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

pub(super) async fn unit(path: Option<&Path>, cmd: UnitCmd) -> anyhow::Result<ExitCode> {
    let (cfg, _) = super::load_config(path)?;
    let db = existing(&cfg, path).await?;
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
            for (unit, members) in crate::register::workspace::units_with_members(&db).await? {
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

/// One line of standard input, without its line ending.
fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

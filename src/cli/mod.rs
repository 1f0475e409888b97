//! The command line: `aduan serve|setup|migrate|check-config|backup|restore|officer|unit|
//! complaints|reply|lapor-link|sla|report`.
//!
//! Which configuration: `--config`, else `ADUAN_CONFIG`, else the installed
//! [`INSTALLED_CONFIG`] when it exists, else the embedded default. The environment file beside
//! it (`/etc/aduan/env` for `aduan.toml`, `/etc/aduan/NAME.env` for `NAME.toml`, as the systemd
//! units read them) is read too, so a command run by hand sees the register the service sees.
//! Every command that touches a register says which one on standard error; only `setup`,
//! `migrate`, `serve` and `restore` may create one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::config::{self, Config};
use crate::db::{Backend, Db};
use crate::state::{Core, Shared};

mod admin;
mod args;
mod records;
mod serve;
pub use args::Cli;
use args::*;

/// The configuration a package installs; the default when it exists.
pub const INSTALLED_CONFIG: &str = "/etc/aduan/aduan.toml";

pub fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        // A command whose output is cut short (`aduan complaints list | head`) ends quietly,
        // as command-line tools do, instead of panicking on the closed pipe. The daemon keeps
        // SIGPIPE ignored: a client that hangs up is an error to handle, not a signal.
        // SAFETY: restoring a signal's default disposition before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    cli.config = config_path(cli.config.take(), Path::new(INSTALLED_CONFIG));
    if let Some(p) = &cli.config {
        if let Err(e) = load_env_file(p) {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
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

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = cli.config.as_deref();
    match cli.command {
        Command::Setup {
            admin,
            password_stdin,
        } => admin::setup(path, admin, password_stdin).await,
        Command::CheckConfig => Ok(check_config(path)),
        Command::Serve { allow_unknown_keys } => serve::serve(path, allow_unknown_keys).await,
        Command::Backup { file, verify } => records::backup(path, file, verify).await,
        Command::Restore { file } => records::restore(path, file).await,
        Command::Migrate { dry_run } => records::migrate(path, dry_run).await,
        Command::Officer { cmd } => admin::officer(path, cmd).await,
        Command::Unit { cmd } => admin::unit(path, cmd).await,
        Command::Complaints { cmd } => records::complaints(path, cmd).await,
        Command::Reply {
            register_no,
            text,
            as_officer,
        } => records::reply(path, register_no, text, as_officer).await,
        Command::LaporLink {
            tracking_id,
            as_officer,
        } => records::lapor_link(path, tracking_id, as_officer).await,
        Command::Sla { cmd } => records::sla(path, cmd).await,
        Command::Report { cmd, csv } => records::report(path, cmd, csv).await,
    }
}

/// `--config`, else `ADUAN_CONFIG`, else `installed` when it exists (else the embedded default).
fn config_path(given: Option<PathBuf>, installed: &Path) -> Option<PathBuf> {
    given
        .or_else(|| std::env::var_os("ADUAN_CONFIG").map(PathBuf::from))
        .or_else(|| installed.exists().then(|| installed.to_path_buf()))
}

/// The environment file the systemd units read beside `config`: `DIR/env` for `aduan.toml`,
/// `DIR/NAME.env` for `NAME.toml`.
pub fn env_file_of(config: &Path) -> Option<PathBuf> {
    let dir = config.parent()?;
    let stem = config.file_stem()?.to_str()?;
    Some(if stem == "aduan" {
        dir.join("env")
    } else {
        dir.join(format!("{stem}.env"))
    })
}

/// Reads `config`'s environment file (when there is one) into this process's environment;
/// variables already set win, as they would over systemd's `EnvironmentFile=`.
fn load_env_file(config: &Path) -> anyhow::Result<()> {
    let Some(file) = env_file_of(config) else {
        return Ok(());
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => anyhow::bail!(
            "cannot read {} ({e}): run the command as the service's user \
             (`runuser -u aduan -- aduan …`) or as root",
            file.display()
        ),
    };
    for (k, v) in parse_env_file(&text) {
        if std::env::var_os(&k).is_none() {
            // Called from `main` before the runtime or any other thread starts.
            std::env::set_var(k, v);
        }
    }
    Ok(())
}

/// `KEY=value` lines as systemd's `EnvironmentFile=` reads them: comments and blank lines
/// skipped, `export ` allowed, one pair of surrounding quotes removed.
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let (k, v) = (k.trim(), v.trim());
            let valid = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let v = ['"', '\'']
                .iter()
                .find_map(|q| v.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)))
                .unwrap_or(v);
            valid.then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn check_config(path: Option<&Path>) -> ExitCode {
    let l = config::load(path, &config::process_env());
    for w in &l.warnings {
        println!("warning: {w}");
    }
    for e in &l.errors {
        println!("error: {e}");
    }
    if l.errors.is_empty() {
        println!("{}: ok", l.source);
        ExitCode::SUCCESS
    } else {
        println!("{}: {} problem(s)", l.source, l.errors.len());
        ExitCode::from(2)
    }
}

fn load_config(path: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
    let (cfg, base, _) = load(path)?;
    Ok((cfg, base))
}

/// [`load_config`] for `serve`: a key the configuration does not know refuses the start (a
/// typo would leave its setting at the default, silently) unless `allow_unknown`.
fn load_config_for_serve(
    path: Option<&Path>,
    allow_unknown: bool,
) -> anyhow::Result<(Config, Option<PathBuf>)> {
    let (cfg, base, unknown) = load(path)?;
    if !unknown.is_empty() && !allow_unknown {
        anyhow::bail!(
            "the configuration has keys aduan does not know: {}. Correct them (see `aduan \
             check-config`), or start with --allow-unknown-keys to ignore them",
            unknown.join(", ")
        );
    }
    Ok((cfg, base))
}

fn load(path: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>, Vec<String>)> {
    let loaded = config::load(path, &config::process_env());
    let warnings = loaded.warnings.clone();
    let unknown = loaded.unknown.clone();
    let (cfg, base, _) = loaded.into_result()?;
    crate::telemetry::init(
        cfg.telemetry.format == config::LogFormat::Json,
        &cfg.telemetry.level,
    );
    for w in warnings {
        tracing::warn!(key = %w.key, "{} ({})", w.message, w.fix);
    }
    Ok((cfg, base, unknown))
}

/// Where the register of `cfg` is, in words (no password).
pub fn register_place(cfg: &Config) -> String {
    let url = cfg.database_url();
    match Backend::of_url(&url) {
        Backend::Sqlite => {
            let file = crate::db::sqlite_file(&url);
            let file = std::path::absolute(&file).unwrap_or(file);
            format!("SQLite {}", file.display())
        }
        Backend::Postgres => format!("PostgreSQL {}", crate::db::redact_url(&url)),
    }
}

/// Says on standard error which register a command uses and from which configuration.
fn announce(cfg: &Config, path: Option<&Path>) {
    eprintln!(
        "register: {} (configuration: {})",
        register_place(cfg),
        config_source(path)
    );
}

fn config_source(path: Option<&Path>) -> String {
    path.map_or_else(
        || "the embedded default configuration".to_string(),
        |p| p.display().to_string(),
    )
}

/// The register of `cfg`, which must exist: a command that reads or changes records never
/// creates one (an empty register in the wrong folder would answer "nothing" and exit 0).
async fn existing(cfg: &Config, path: Option<&Path>) -> anyhow::Result<Db> {
    announce(cfg, path);
    let missing = || {
        let hint = match path {
            Some(p) => format!("check `database`/`data.dir` in {}", p.display()),
            None => format!(
                "no configuration was named and {INSTALLED_CONFIG} does not exist: name the \
                 register's with --config or ADUAN_CONFIG"
            ),
        };
        anyhow::anyhow!(
            "there is no register at {} ({hint}); nothing was created. `aduan setup` creates \
             a new register",
            register_place(cfg)
        )
    };
    let url = cfg.database_url();
    if Backend::of_url(&url) == Backend::Sqlite && !crate::db::sqlite_file(&url).is_file() {
        return Err(missing());
    }
    let db = Core::connect_only(cfg).await?;
    if db.applied_migrations().await?.is_empty() {
        db.close().await;
        return Err(missing());
    }
    db.close().await;
    Core::connect(cfg).await
}

/// [`existing`] with the daemon's state around it.
async fn open_existing(
    cfg: &Config,
    base: Option<&Path>,
    path: Option<&Path>,
) -> anyhow::Result<Shared> {
    let db = existing(cfg, path).await?;
    Core::with_db(cfg, base, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_config_is_the_default_only_when_it_exists() {
        let dir = std::env::temp_dir().join(format!("aduan-cfgpath-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let installed = dir.join("aduan.toml");
        if std::env::var_os("ADUAN_CONFIG").is_none() {
            assert_eq!(config_path(None, &installed), None);
            std::fs::write(&installed, "").unwrap();
            assert_eq!(config_path(None, &installed), Some(installed.clone()));
        }
        let given = PathBuf::from("/x/y.toml");
        assert_eq!(config_path(Some(given.clone()), &installed), Some(given));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn env_files_sit_beside_their_config() {
        assert_eq!(
            env_file_of(Path::new("/etc/aduan/aduan.toml")),
            Some(PathBuf::from("/etc/aduan/env"))
        );
        assert_eq!(
            env_file_of(Path::new("/etc/aduan/binjai.toml")),
            Some(PathBuf::from("/etc/aduan/binjai.env"))
        );
        let parsed = parse_env_file(
            "# secrets\nADUAN_DATABASE_URL=postgres://a:b@h/d\n\nexport X_Y=\"kutip\"\n\
             bad line\nZ='satu dua'\n",
        );
        assert_eq!(
            parsed,
            [
                ("ADUAN_DATABASE_URL".into(), "postgres://a:b@h/d".into()),
                ("X_Y".into(), "kutip".into()),
                ("Z".into(), "satu dua".into()),
            ]
        );
    }
}

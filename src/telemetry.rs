//! Logging, set up in one place. Text or JSON; `RUST_LOG` overrides the configured filter.
//! Personal addresses are masked where they are logged (see `aduan_channel::mask_address`).
//! Libraries that log through the `log` crate (rustls, async-imap, reqwest, mio-serial) are
//! forwarded into the same subscriber (`tracing-log`) and filtered alike.

use tracing_subscriber::EnvFilter;

/// Colour only for a person at a terminal: never into the journal, a file or a pipe (and not
/// when `NO_COLOR` is set).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
        && !crate::systemd::logs_to_journal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(json: bool, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour())
        .with_writer(std::io::stderr);
    // Under systemd the journal stamps every line itself.
    let _ = match (json, crate::systemd::logs_to_journal()) {
        (true, _) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        (false, true) => builder.with_target(false).without_time().try_init(),
        (false, false) => builder.with_target(false).try_init(),
    };
}

//! `aduan serve`: the HTTP server, the outbox dispatchers and the channel receive loops, all
//! tracked under one cancellation token and waited for with a deadline on shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use aduan_channel::ChannelContext;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::state::Shared;

/// A running daemon.
pub struct Running {
    pub addr: SocketAddr,
    pub core: Shared,
    pub shutdown: CancellationToken,
    tracker: TaskTracker,
    /// This daemon's name in the register (heartbeats, leases).
    owner: String,
}

/// A lease owner id unique to this process.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!(
        "{}-{}-{}",
        host.trim(),
        std::process::id(),
        crate::register::tracking_code()
    )
}

/// Starts every part of the daemon on `listener`.
pub fn start(core: Shared, cfg: &Config, listener: TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    if let Some(n) = crate::web::server::raise_fd_limit() {
        if (n as usize) < cfg.web.max_connections + 256 {
            tracing::warn!(
                open_files = n,
                max_connections = cfg.web.max_connections,
                "the open-file limit is close to web.max_connections; raise LimitNOFILE"
            );
        }
    }
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    {
        let (core, web, token) = (core.clone(), cfg.web.clone(), shutdown.clone());
        tracker.spawn(async move {
            if let Err(e) = crate::web::serve(listener, core, &web, token.clone()).await {
                error!(error = %e, "http server stopped");
                token.cancel();
            }
        });
    }
    let owner = owner_id();
    tracker.spawn(crate::presence::run(
        core.clone(),
        owner.clone(),
        shutdown.clone(),
    ));
    tracker.spawn(crate::workflow::clock::run(core.clone(), shutdown.clone()));
    tracker.spawn(crate::outbox::drain_when_back(
        core.clone(),
        shutdown.clone(),
    ));
    for i in 0..cfg.outbox.workers {
        tracker.spawn(crate::outbox::run(
            core.clone(),
            format!("{owner}-{i}"),
            shutdown.clone(),
        ));
    }
    let ctx = ChannelContext::new(crate::intake::sink(&core), shutdown.clone());
    for (kind, ch) in core.channels.iter() {
        tracker.spawn(supervise(core.clone(), *kind, ch.clone(), ctx.clone()));
    }
    tracker.close();
    info!(%addr, backend = core.db.backend.as_str(), "aduan is serving");
    Ok(Running {
        addr,
        core,
        shutdown,
        tracker,
        owner,
    })
}

/// The first wait before a stopped receive loop is started again; it doubles up to
/// [`RESTART_MAX`] while the loop keeps stopping, and starts over once it ran a minute.
pub const RESTART_FIRST: Duration = Duration::from_secs(1);
pub const RESTART_MAX: Duration = Duration::from_secs(300);

/// Runs a channel's receive loop until shutdown: a loop that returns an error, ends on its
/// own or panics is logged, marked down (its health says why, `/readyz` and `/metrics` with
/// it) and started again after a backoff. A loop that never stops is never touched.
async fn supervise(
    core: Shared,
    kind: aduan_channel::ChannelKind,
    ch: std::sync::Arc<dyn aduan_channel::Channel>,
    ctx: ChannelContext,
) {
    let mut backoff = RESTART_FIRST;
    loop {
        let started = tokio::time::Instant::now();
        let run = {
            let (ch, ctx) = (ch.clone(), ctx.clone());
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        let why = match run.await {
            Ok(Ok(())) if ctx.shutdown.is_cancelled() => return,
            Ok(Ok(())) => "the receive loop ended".to_string(),
            Ok(Err(e)) => format!("the receive loop stopped: {e}"),
            Err(e) if e.is_panic() => "the receive loop panicked".to_string(),
            Err(e) => format!("the receive loop was cancelled: {e}"),
        };
        if ctx.shutdown.is_cancelled() {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = RESTART_FIRST;
        }
        error!(channel = %kind, restart_in = ?backoff, "{why}; restarting");
        core.channels.set_receive_down(
            kind,
            Some(format!("{why}; restarting in {}s", backoff.as_secs())),
        );
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        core.channels.set_receive_down(kind, None);
        backoff = (backoff * 2).min(RESTART_MAX);
    }
}

impl Running {
    /// Stops intake and sending, waits for in-flight work up to `deadline`, says in the
    /// register that this daemon stopped (its heartbeats aged), closes the pool.
    pub async fn stop(self, deadline: Duration) {
        self.shutdown.cancel();
        let finished = tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .is_ok();
        if !finished {
            warn!(
                ?deadline,
                "shutdown deadline passed with work still running"
            );
        }
        let heartbeat = self.core.settings.outbox.heartbeat_secs;
        let aged = tokio::time::timeout(
            Duration::from_secs(5),
            crate::presence::stopped(&self.core.db, &self.owner, heartbeat),
        )
        .await;
        if !matches!(aged, Ok(Ok(_))) {
            warn!(
                "this daemon's heartbeat could not be cleared; a restore waits until it is stale"
            );
        }
        self.core.db.close().await;
        info!("stopped");
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

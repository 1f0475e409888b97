//! Which channels the daemons on a register run. Each daemon refreshes a row per channel it
//! runs (`channel_presence`); reply targets come from these rows, not from the configuration
//! of whichever daemon took the request, so a web-only daemon still queues email replies for
//! the daemon that runs email — and a reply for a channel nobody runs now waits, visibly.

use std::collections::BTreeSet;
use std::time::Duration;

use aduan_channel::ChannelKind;
use tokio_util::sync::CancellationToken;

use crate::db::now_ms;
use crate::state::Core;

/// What the register knows of the channels: every channel some daemon has run (`known`), and
/// those one ran within three heartbeats (`live`). This daemon's own channels are both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    pub known: BTreeSet<ChannelKind>,
    pub live: BTreeSet<ChannelKind>,
}

impl Served {
    pub fn is_known(&self, k: ChannelKind) -> bool {
        self.known.contains(&k)
    }
    pub fn is_live(&self, k: ChannelKind) -> bool {
        self.live.contains(&k)
    }
}

/// Reads the presence rows (plus this daemon's own channels).
pub async fn served(conn: &mut sqlx::AnyConnection, core: &Core) -> sqlx::Result<Served> {
    let ttl = 3 * core.settings.outbox.heartbeat_secs as i64 * 1000;
    let mut s = Served::default();
    for (k, _) in core.channels.iter() {
        s.known.insert(*k);
        s.live.insert(*k);
    }
    let now = now_ms();
    for (kind, seen_at) in aduan_register::presence::seen(conn).await? {
        s.known.insert(kind);
        if now - seen_at <= ttl {
            s.live.insert(kind);
        }
    }
    Ok(s)
}

/// Refreshes this daemon's rows.
pub async fn beat(core: &Core, daemon: &str) -> sqlx::Result<()> {
    let channels: Vec<ChannelKind> = core.channels.iter().map(|(k, _)| *k).collect();
    aduan_register::presence::beat(&core.db, &channels, daemon, now_ms()).await
}

/// A clean stop: this daemon's heartbeat rows are aged past every liveness window at once
/// (a restore need not wait for them to go stale), while their channels stay known — their
/// replies wait, visibly, for a daemon to serve them again.
pub async fn stopped(db: &crate::db::Db, daemon: &str, heartbeat_secs: u64) -> sqlx::Result<u64> {
    let aged = now_ms() - (3 * heartbeat_secs as i64 + 60).max(3600) * 1000;
    aduan_register::presence::age(db, daemon, aged).await
}

/// How long a channel no daemon runs any more stays known (its replies wait, visibly, for it
/// to come back); after that it is forgotten: typed contacts are no longer queued for it.
pub const FORGET_AFTER_MS: i64 = 7 * 24 * 3_600_000;

/// Forgets channels no daemon has run for [`FORGET_AFTER_MS`].
pub async fn forget_stale(db: &crate::db::Db, now: i64) -> sqlx::Result<u64> {
    aduan_register::presence::forget_before(db, now - FORGET_AFTER_MS).await
}

/// Beats every `outbox.heartbeat_secs` until shutdown.
pub async fn run(core: crate::state::Shared, daemon: String, shutdown: CancellationToken) {
    let every = Duration::from_secs(core.settings.outbox.heartbeat_secs.max(1));
    loop {
        if let Err(e) = beat(&core, &daemon).await {
            tracing::warn!(error = %e, "channel heartbeat not recorded");
        }
        match forget_stale(&core.db, now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(channels = n, "channels no daemon ran for a week forgotten"),
            Err(e) => tracing::warn!(error = %e, "stale channel presence not removed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Replies queued for channels the register knows but no daemon runs now: (channel, rows).
pub async fn waiting_unserved(
    conn: &mut sqlx::AnyConnection,
    core: &Core,
) -> sqlx::Result<Vec<(ChannelKind, i64)>> {
    let served = served(conn, core).await?;
    let mut out = aduan_register::presence::waiting_per_channel(conn).await?;
    out.retain(|(k, _)| !served.is_live(*k));
    Ok(out)
}

//! The channels this daemon runs: built by an exhaustive match over the configured kinds, then
//! looked up by kind when the outbox sends and when the receive loops start.
//!
//! Built in: `web` (public submission over HTTP; replies are published on the tracking page)
//! and `counter` (front-office intake; replies are handed over at the counter). The email, SMS,
//! Telegram and LAPOR! adapters live in their own crates under `channels/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use aduan_channel::{
    BuildContext, BuildError, Channel, ChannelContext, ChannelKind, ChannelSpec, Health,
    OutboundMessage, Problem, ReceiveError, SendError, SendReceipt,
};
use async_trait::async_trait;
use serde::Deserialize;

use crate::config::Config;

#[derive(Clone, Default)]
pub struct Channels {
    map: BTreeMap<ChannelKind, Arc<dyn Channel>>,
    /// Channels whose receive loop stopped and waits to be restarted (by the daemon's
    /// supervisor), with why: their health reads "down" meanwhile, whatever the adapter says.
    receive_down: Arc<std::sync::Mutex<BTreeMap<ChannelKind, String>>>,
    /// Sends under way in this daemon, per channel (the outbox's budget per channel).
    in_flight: Arc<std::sync::Mutex<BTreeMap<ChannelKind, usize>>>,
    /// Taken while a worker picks its channels, claims a row and counts its send, so two
    /// workers cannot both see room in a channel that has room for one.
    claiming: Arc<tokio::sync::Mutex<()>>,
}

/// One send under way through a channel; the channel's count goes down when it is dropped.
pub struct SendSlot {
    kind: ChannelKind,
    in_flight: Arc<std::sync::Mutex<BTreeMap<ChannelKind, usize>>>,
}

impl Drop for SendSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.in_flight.lock() {
            if let Some(n) = m.get_mut(&self.kind) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

/// What every channel is told when it is built.
pub fn build_context(c: &Config) -> BuildContext {
    BuildContext {
        office_name: c.office.name.clone(),
    }
}

impl Channels {
    /// Builds every enabled channel of the configuration. `config::validate` has checked them;
    /// a channel that still fails to build is logged and left out, not fatal.
    pub fn from_config(c: &Config) -> Channels {
        let ctx = build_context(c);
        let mut ch = Channels::default();
        for section in c.channels.enabled() {
            let spec = section.spec();
            match spec.build(&ctx) {
                Ok(built) => ch.insert(built),
                Err(e) => {
                    tracing::error!(channel = %spec.kind(), error = %e, "channel not started")
                }
            }
        }
        ch
    }

    /// Installs (or replaces) the adapter for a kind.
    pub fn insert(&mut self, ch: Arc<dyn Channel>) {
        self.map.insert(ch.kind(), ch);
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn Channel>> {
        self.map.get(&kind)
    }

    /// A channel's health as officers and `/metrics` see it: the adapter's own, unless its
    /// receive loop is stopped and waiting to be restarted.
    pub async fn health_of(&self, kind: ChannelKind, ch: &Arc<dyn Channel>) -> Health {
        let down = self
            .receive_down
            .lock()
            .ok()
            .and_then(|d| d.get(&kind).cloned());
        match down {
            Some(why) => Health::down(why),
            None => ch.health().await,
        }
    }

    /// Held while one worker chooses and claims (see the field).
    pub async fn claiming(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.claiming.lock().await
    }

    /// The channels this daemon runs that have fewer than `budget` sends under way.
    pub fn with_room(&self, budget: usize) -> Vec<ChannelKind> {
        let busy = self.in_flight.lock().map(|m| m.clone()).unwrap_or_default();
        self.map
            .keys()
            .filter(|k| busy.get(k).copied().unwrap_or(0) < budget)
            .copied()
            .collect()
    }

    /// Counts a send through `kind` until the slot is dropped.
    pub fn start_send(&self, kind: ChannelKind) -> SendSlot {
        if let Ok(mut m) = self.in_flight.lock() {
            *m.entry(kind).or_insert(0) += 1;
        }
        SendSlot {
            kind,
            in_flight: self.in_flight.clone(),
        }
    }

    /// Records that `kind`'s receive loop stopped (`Some(why)`) or runs again (`None`).
    pub fn set_receive_down(&self, kind: ChannelKind, why: Option<String>) {
        if let Ok(mut d) = self.receive_down.lock() {
            match why {
                Some(w) => {
                    d.insert(kind, w);
                }
                None => {
                    d.remove(&kind);
                }
            }
        }
    }

    pub fn is_configured(&self, kind: ChannelKind) -> bool {
        self.map.contains_key(&kind)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ChannelKind, &Arc<dyn Channel>)> {
        self.map.iter()
    }
}

/// `[channels.web]`: the public form and API.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    pub enabled: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig { enabled: true }
    }
}

impl ChannelSpec for WebConfig {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Web
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
    fn build(&self, _ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        Ok(Arc::new(WebChannel))
    }
}

/// `[channels.counter]`: the front-office counter.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CounterConfig {
    pub enabled: bool,
}

impl Default for CounterConfig {
    fn default() -> Self {
        CounterConfig { enabled: true }
    }
}

impl ChannelSpec for CounterConfig {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Counter
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
    fn build(&self, _ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        Ok(Arc::new(CounterChannel))
    }
}

/// Public web submission. Inbound arrives through the HTTP API, so `receive` has nothing to do;
/// `send` publishes the reply on the public tracking page (the outbox row becoming `sent` is
/// what makes it visible there).
pub struct WebChannel;

#[async_trait]
impl Channel for WebChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Web
    }
    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        // Submissions come through the HTTP routes: nothing to receive but shutdown.
        ctx.shutdown.cancelled().await;
        Ok(())
    }
    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        Ok(SendReceipt::new(format!("web:{}", msg.outbox_id)))
    }
    async fn health(&self) -> Health {
        Health::ok("tracking page")
    }
}

/// Front-office intake. A reply is printed or read out at the counter, so sending records it as
/// ready for hand-over.
pub struct CounterChannel;

#[async_trait]
impl Channel for CounterChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Counter
    }
    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        // Submissions come through the HTTP routes: nothing to receive but shutdown.
        ctx.shutdown.cancelled().await;
        Ok(())
    }
    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        Ok(SendReceipt::new(format!("counter:{}", msg.outbox_id)))
    }
    async fn health(&self) -> Health {
        Health::ok("front office")
    }
}

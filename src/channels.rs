//! The channels this daemon runs: built by an exhaustive match over the configured kinds, then
//! looked up by kind when the outbox sends and when the receive loops start.
//!
//! Built in: `web` (public submission over HTTP; replies are published on the tracking page)
//! and `counter` (front-office intake; replies are handed over at the counter). The email, SMS,
//! Telegram and LAPOR! adapters live in their own crates under `channels/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use aduan_channel::{
    Channel, ChannelContext, ChannelKind, Health, OutboundMessage, ReceiveError, SendError,
    SendReceipt,
};
use async_trait::async_trait;

use crate::config::Config;

#[derive(Clone, Default)]
pub struct Channels {
    map: BTreeMap<ChannelKind, Arc<dyn Channel>>,
}

impl Channels {
    pub fn from_config(c: &Config) -> Channels {
        let mut ch = Channels::default();
        for kind in ChannelKind::ALL {
            let built: Option<Arc<dyn Channel>> = match kind {
                ChannelKind::Web => c.channels.web.enabled.then(|| Arc::new(WebChannel) as _),
                ChannelKind::Counter => c
                    .channels
                    .counter
                    .enabled
                    .then(|| Arc::new(CounterChannel) as _),
                ChannelKind::Sms => c.channels.sms.clone().and_then(|cfg| {
                    // `config::validate` has checked it; a failure here is logged, not fatal.
                    aduan_sms::SmsChannel::new(cfg)
                        .map(|ch| Arc::new(ch) as _)
                        .map_err(|e| tracing::error!(error = %e, "SMS channel not started"))
                        .ok()
                }),
                ChannelKind::Email => c.channels.email.clone().and_then(|cfg| {
                    aduan_email::EmailChannel::new(cfg)
                        .map(|ch| Arc::new(ch) as _)
                        .map_err(|e| tracing::error!(error = %e, "email channel not started"))
                        .ok()
                }),
                ChannelKind::Telegram => c.channels.telegram.clone().and_then(|mut cfg| {
                    cfg.office_name.get_or_insert_with(|| c.office.name.clone());
                    aduan_telegram::TelegramChannel::new(cfg)
                        .map(|ch| Arc::new(ch) as _)
                        .map_err(|e| tracing::error!(error = %e, "Telegram channel not started"))
                        .ok()
                }),
                ChannelKind::Lapor => c.channels.lapor.clone().and_then(|cfg| {
                    aduan_lapor::LaporChannel::new(cfg)
                        .map(|ch| Arc::new(ch) as _)
                        .map_err(|e| tracing::error!(error = %e, "LAPOR! channel not started"))
                        .ok()
                }),
            };
            if let Some(b) = built {
                ch.map.insert(kind, b);
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

    pub fn is_configured(&self, kind: ChannelKind) -> bool {
        self.map.contains_key(&kind)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ChannelKind, &Arc<dyn Channel>)> {
        self.map.iter()
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
    async fn receive(&self, _ctx: ChannelContext) -> Result<(), ReceiveError> {
        Ok(())
    }
    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        Ok(SendReceipt {
            provider_id: format!("web:{}", msg.outbox_id),
        })
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
    async fn receive(&self, _ctx: ChannelContext) -> Result<(), ReceiveError> {
        Ok(())
    }
    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        Ok(SendReceipt {
            provider_id: format!("counter:{}", msg.outbox_id),
        })
    }
    async fn health(&self) -> Health {
        Health::ok("front office")
    }
}

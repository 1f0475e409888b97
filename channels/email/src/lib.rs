//! `aduan-email`: the email channel.
//!
//! Inbound: one IMAP mailbox, synced from the register's cursor (UIDVALIDITY:UID) and then
//! watched with IDLE (or polled), each message parsed by [`mime::parse`] and committed before it
//! is flagged or moved. Outbound: SMTP through a pooled lettre transport ([`smtp::Smtp`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aduan_channel::{BuildContext, BuildError, ChannelSpec, Problem};
use aduan_channel::{
    Channel, ChannelContext, ChannelKind, Gauge, Health, OutboundMessage, ReceiveError, SendError,
    SendReceipt,
};
use async_trait::async_trait;
use tracing::warn;

pub mod auth;
pub mod config;
mod conn;
pub mod imap;
pub mod mime;
pub mod smtp;
pub mod tls;

pub use config::{Config, Security};

impl ChannelSpec for Config {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }
    fn problems(&self) -> Vec<Problem> {
        Config::problems(self)
    }
    fn build(&self, _ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        Ok(Arc::new(EmailChannel::new(self.clone())?))
    }
}

pub struct EmailChannel {
    cfg: Config,
    smtp: smtp::Smtp,
    tls: Option<tokio_rustls::TlsConnector>,
    state: Mutex<State>,
}

struct State {
    imap: Result<String, String>,
    smtp_error: Option<String>,
    last_uid: u32,
    sessions: u64,
}

impl EmailChannel {
    pub fn new(cfg: Config) -> Result<EmailChannel, String> {
        if let Some(p) = cfg.problems().into_iter().next() {
            return Err(p.to_string());
        }
        let tls = match cfg.imap.security {
            Security::Plain => None,
            _ => Some(tls::connector(cfg.imap.ca_file.as_deref())?),
        };
        Ok(EmailChannel {
            smtp: smtp::Smtp::new(&cfg)?,
            tls,
            state: Mutex::new(State {
                imap: Err("not connected yet".into()),
                smtp_error: None,
                last_uid: 0,
                sessions: 0,
            }),
            cfg,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl imap::Observer for EmailChannel {
    fn connected(&self, detail: String) {
        let mut s = self.state();
        s.imap = Ok(detail);
        s.sessions += 1;
    }
    fn registered(&self, uid: u32) {
        self.state().last_uid = uid;
    }
}

#[async_trait]
impl Channel for EmailChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    /// Sessions one after another; after an error the next waits 1 s, doubling to 60 s, and
    /// the wait starts over once a session got as far as selecting the mailbox.
    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        let mut delay = Duration::from_secs(1);
        while !ctx.shutdown.is_cancelled() {
            let before = self.state().sessions;
            match imap::run_session(&self.cfg, self.tls.as_ref(), &ctx, self).await {
                Ok(()) => break,
                Err(e) => {
                    if self.state().sessions != before {
                        delay = Duration::from_secs(1);
                    }
                    warn!(error = %e, retry_in = ?delay, "IMAP session ended");
                    self.state().imap = Err(e.to_string());
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = ctx.shutdown.cancelled() => break,
            }
            delay = (delay * 2).min(Duration::from_secs(60));
        }
        Ok(())
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        let r = self.smtp.send(msg).await;
        self.state().smtp_error = match &r {
            Err(SendError::Transient { message, .. }) => Some(message.clone()),
            _ => None,
        };
        r
    }

    async fn health(&self) -> Health {
        let s = self.state();
        match (&s.imap, &s.smtp_error) {
            (Ok(d), None) => Health::ok(format!("IMAP {d}; SMTP ok")),
            (Ok(d), Some(e)) => Health::down(format!("IMAP {d}; SMTP failing: {e}")),
            (Err(e), _) => Health::down(format!("IMAP: {e}")),
        }
    }

    fn gauges(&self) -> Vec<Gauge> {
        let s = self.state();
        vec![
            Gauge {
                name: "aduan_email_imap_connected",
                help: "1 while an IMAP session is open",
                labels: vec![],
                value: s.imap.is_ok() as u8 as f64,
            },
            Gauge {
                name: "aduan_email_last_uid",
                help: "UID of the last registered message",
                labels: vec![],
                value: s.last_uid as f64,
            },
        ]
    }
}

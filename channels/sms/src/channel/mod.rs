//! The SMS channel: one supervised task per modem. Each task opens its port, initializes the
//! modem, registers what the SIM holds (deleting a message only after the register committed
//! it), reacts to `+CMTI` and status reports, polls, sends replies, and reopens the port with
//! backoff — resetting the modem after repeated failures — when it stops answering.

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use aduan_channel::parse_status_command;
use aduan_channel::{
    normalize_phone, Address, Channel, ChannelContext, ChannelKind, DeliveryReport, DeliveryState,
    Gauge, Health, InboundMessage, Intent, OutboundMessage, ReceiveError, SendError, SendReceipt,
    SinkError, ThreadingHints,
};
use aduan_channel::{BuildContext, BuildError, ChannelSpec, Problem};
use async_trait::async_trait;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use crate::at;
use crate::engine::{open_port, AtEngine, AtError, Event};
use crate::pdu::{self, NumberKind, Pdu, ReportOutcome, SubmitOptions};
use crate::reassembly::{Key, Reassembler};

mod config;
mod modem;
mod sim;
#[cfg(test)]
mod tests;

pub use config::{Config, ModemConfig};
use modem::ModemTask;

/// What a modem task is doing, for `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct ModemHealth {
    pub connected: bool,
    pub registered: bool,
    pub signal_dbm: Option<i32>,
    pub storage: Option<(u32, u32)>,
    pub last_error: Option<String>,
    /// `AT+CMGD` refusals since start (the scan goes on past them).
    pub delete_failures: u64,
    /// SIM slots whose message was registered but could not be deleted in
    /// [`STUCK_AFTER`] scans in a row: for the admin to check the SIM.
    pub stuck_slots: Vec<u32>,
}

/// Failed deletes of one slot in a row after which it is reported as stuck.
pub const STUCK_AFTER: u32 = 3;

struct SendRequest {
    msg: OutboundMessage,
    reply: oneshot::Sender<Result<SendReceipt, SendError>>,
}

struct ModemHandle {
    cfg: ModemConfig,
    health: Arc<Mutex<ModemHealth>>,
    tx: mpsc::Sender<SendRequest>,
    rx: Mutex<Option<mpsc::Receiver<SendRequest>>>,
}

pub struct SmsChannel {
    cfg: Config,
    modems: Vec<ModemHandle>,
}

impl SmsChannel {
    pub fn new(cfg: Config) -> Result<SmsChannel, String> {
        if let Some(p) = cfg.problems().into_iter().next() {
            return Err(p.to_string());
        }
        let modems = cfg
            .modems
            .iter()
            .map(|m| {
                let (tx, rx) = mpsc::channel(64);
                ModemHandle {
                    cfg: m.clone(),
                    health: Arc::default(),
                    tx,
                    rx: Mutex::new(Some(rx)),
                }
            })
            .collect();
        Ok(SmsChannel { cfg, modems })
    }

    /// The modem a reply should use: the one named in the thread, if connected, else the first
    /// connected one, else the first.
    fn pick(&self, msg: &OutboundMessage) -> Option<&ModemHandle> {
        let origin = msg.references.iter().rev().find_map(|r| {
            r.strip_prefix("sms:")?
                .split(':')
                .next()
                .map(str::to_string)
        });
        let connected = |m: &&ModemHandle| m.health.lock().map(|h| h.connected).unwrap_or(false);
        origin
            .and_then(|o| {
                self.modems
                    .iter()
                    .find(|m| m.cfg.name == o)
                    .filter(connected)
            })
            .or_else(|| self.modems.iter().find(connected))
            .or_else(|| self.modems.first())
    }

    pub fn modem_health(&self) -> Vec<(String, ModemHealth)> {
        self.modems
            .iter()
            .map(|m| {
                (
                    m.cfg.name.clone(),
                    m.health.lock().map(|h| h.clone()).unwrap_or_default(),
                )
            })
            .collect()
    }
}

#[async_trait]
impl Channel for SmsChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        let mut set = tokio::task::JoinSet::new();
        for m in &self.modems {
            let Some(rx) = m.rx.lock().ok().and_then(|mut r| r.take()) else {
                continue;
            };
            let task = ModemTask {
                cfg: m.cfg.clone(),
                shared: self.cfg.clone(),
                health: m.health.clone(),
                ctx: ctx.clone(),
                rx,
                reassembly: Reassembler::default(),
                reference: 0,
                pending_reports: Vec::new(),
                delete_tries: Default::default(),
            };
            set.spawn(task.run());
        }
        while set.join_next().await.is_some() {}
        Ok(())
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        let Address::Phone(_) = &msg.to else {
            return Err(SendError::permanent(format!(
                "SMS needs a phone number, not {}",
                msg.to
            )));
        };
        let m = self
            .pick(msg)
            .ok_or_else(|| SendError::transient("no modem configured"))?;
        let (reply, rx) = oneshot::channel();
        m.tx.try_send(SendRequest {
            msg: msg.clone(),
            reply,
        })
        .map_err(|_| SendError::transient(format!("modem {} is busy", m.cfg.name)))?;
        rx.await.unwrap_or_else(|_| {
            Err(SendError::transient(format!(
                "modem {} is not running",
                m.cfg.name
            )))
        })
    }

    fn gauges(&self) -> Vec<Gauge> {
        let mut g = Vec::new();
        for (name, h) in self.modem_health() {
            let mut add = |n: &'static str, help: &'static str, v: f64| {
                g.push(Gauge {
                    name: n,
                    help,
                    labels: vec![("modem", name.clone())],
                    value: v,
                })
            };
            add(
                "aduan_sms_modem_up",
                "The modem answers AT commands.",
                h.connected as u8 as f64,
            );
            add(
                "aduan_sms_modem_registered",
                "The modem is registered on the network.",
                h.registered as u8 as f64,
            );
            if let Some(s) = h.signal_dbm {
                add("aduan_sms_signal_dbm", "Signal strength, dBm.", s as f64);
            }
            add(
                "aduan_sms_stuck_slots",
                "SIM slots whose registered message the modem refused to delete, scan after scan.",
                h.stuck_slots.len() as f64,
            );
            if let Some((used, total)) = h.storage {
                add(
                    "aduan_sms_storage_used",
                    "Messages on the SIM.",
                    used as f64,
                );
                add(
                    "aduan_sms_storage_capacity",
                    "Message slots on the SIM.",
                    total as f64,
                );
            }
        }
        g
    }

    async fn health(&self) -> Health {
        let all = self.modem_health();
        let up: Vec<String> = all
            .iter()
            .filter(|(_, h)| h.connected)
            .map(|(n, h)| {
                let full = match h.storage {
                    Some((u, t)) if t > 0 && u >= t => ", SIM storage full",
                    _ => "",
                };
                let stuck = if h.stuck_slots.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", SIM slots {:?} cannot be deleted (messages registered; check the SIM)",
                        h.stuck_slots
                    )
                };
                format!(
                    "{n}: {} dBm{full}{stuck}",
                    h.signal_dbm.map_or("?".into(), |s| s.to_string())
                )
            })
            .collect();
        if up.is_empty() {
            let why: Vec<String> = all
                .iter()
                .map(|(n, h)| {
                    format!(
                        "{n}: {}",
                        h.last_error.clone().unwrap_or_else(|| "starting".into())
                    )
                })
                .collect();
            Health::down(why.join("; "))
        } else {
            Health::ok(up.join("; "))
        }
    }
}

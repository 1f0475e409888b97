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

/// `[channels.sms]`: GSM modems on serial ports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The modems (`[[channels.sms.modems]]`). A reply goes out through the modem its
    /// complaint came in on while that one is healthy, else through another.
    pub modems: Vec<ModemConfig>,
    /// Seconds between inbox polls and health checks (besides `+CMTI`).
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// Seconds an incomplete multipart message waits for its missing parts before it is
    /// registered as partial (a late part then joins it).
    #[serde(default = "default_partial")]
    pub partial_timeout_secs: u64,
    /// Ask the network for delivery reports.
    #[serde(default = "yes")]
    pub status_reports: bool,
    /// Validity of sent messages, hours (1-24).
    #[serde(default = "default_validity")]
    pub validity_hours: u8,
    /// Seconds a single AT command may take.
    #[serde(default = "default_cmd_timeout")]
    pub command_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModemConfig {
    /// A short name, used in logs, metrics and thread references (`modem1`).
    pub name: String,
    /// The serial port (`/dev/ttyUSB0`, `/dev/serial/by-id/…`).
    pub port: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// SIM PIN, if the SIM asks for one (better from the environment:
    /// `ADUAN_CHANNELS__SMS__MODEMS` cannot hold it, so keep the SIM unlocked or the file private).
    /// Never printed (not even by `Debug`); a refused PIN stops the modem after one try.
    #[serde(default)]
    pub pin: Option<aduan_channel::Secret>,
}

fn default_poll() -> u64 {
    30
}
fn default_partial() -> u64 {
    3600
}
fn yes() -> bool {
    true
}
fn default_validity() -> u8 {
    24
}
fn default_cmd_timeout() -> u64 {
    10
}
fn default_baud() -> u32 {
    115_200
}

impl Config {
    /// Every problem, as (key, message).
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if self.modems.is_empty() {
            p.push(Problem::new("channels.sms.modems", "no modem configured"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, m) in self.modems.iter().enumerate() {
            if m.name.is_empty()
                || !m
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                p.push(Problem::new(
                    format!("channels.sms.modems[{i}].name"),
                    "use letters, digits, - or _",
                ));
            }
            if !names.insert(m.name.clone()) {
                p.push(Problem::new(
                    format!("channels.sms.modems[{i}].name"),
                    format!("`{}` is used twice", m.name),
                ));
            }
            if m.port.trim().is_empty() {
                p.push(Problem::new(
                    format!("channels.sms.modems[{i}].port"),
                    "is empty",
                ));
            }
        }
        if !(1..=24).contains(&self.validity_hours) {
            p.push(Problem::new(
                "channels.sms.validity_hours",
                "must be 1 to 24",
            ));
        }
        if self.poll_secs == 0 || self.command_timeout_secs == 0 {
            p.push(Problem::new(
                "channels.sms.poll_secs",
                "intervals must be positive",
            ));
        }
        p
    }
}

impl ChannelSpec for Config {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }
    fn problems(&self) -> Vec<Problem> {
        Config::problems(self)
    }
    fn build(&self, _ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        Ok(Arc::new(SmsChannel::new(self.clone())?))
    }
}

/// What a modem task is doing, for `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct ModemHealth {
    pub connected: bool,
    pub registered: bool,
    pub signal_dbm: Option<i32>,
    pub storage: Option<(u32, u32)>,
    pub last_error: Option<String>,
}

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
                format!(
                    "{n}: {} dBm{full}",
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

struct ModemTask {
    cfg: ModemConfig,
    shared: Config,
    health: Arc<Mutex<ModemHealth>>,
    ctx: ChannelContext,
    rx: mpsc::Receiver<SendRequest>,
    reassembly: Reassembler,
    reference: u8,
    /// Status reports (+CDS) the register could not take yet.
    pending_reports: Vec<pdu::StatusReport>,
}

/// Why a session with the modem ended.
enum Stop {
    Shutdown,
    Link(AtError),
}

impl ModemTask {
    fn cursor_key(&self) -> String {
        format!("reassembly:{}", self.cfg.name)
    }

    fn set_health(&self, f: impl FnOnce(&mut ModemHealth)) {
        if let Ok(mut h) = self.health.lock() {
            f(&mut h);
        }
    }

    async fn run(mut self) {
        if let Ok(Some(s)) = self
            .ctx
            .sink
            .load_cursor(ChannelKind::Sms, &self.cursor_key())
            .await
        {
            self.reassembly = Reassembler::deserialize(&s);
        }
        let mut backoff = Duration::from_millis(500);
        let mut failures = 0u32;
        while !self.ctx.shutdown.is_cancelled() {
            let port = match open_port(&self.cfg.port, self.cfg.baud) {
                Ok(p) => p,
                Err(e) => {
                    self.set_health(|h| {
                        h.connected = false;
                        h.last_error = Some(e.to_string());
                    });
                    self.fail_waiting_sends(&e);
                    if self.sleep(backoff).await {
                        break;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
            let mut engine = AtEngine::new(port);
            match self.session(&mut engine, failures >= 3).await {
                Stop::Shutdown => break,
                Stop::Link(AtError::Fatal(why)) => {
                    error!(modem = %self.cfg.name, "{why}");
                    self.set_health(|h| {
                        h.connected = false;
                        h.last_error = Some(why.clone());
                    });
                    drop(engine);
                    // Stopped until restarted; replies for it fail now and go another way.
                    loop {
                        self.fail_waiting_sends(&AtError::Fatal(why.clone()));
                        if self.sleep(Duration::from_millis(500)).await {
                            break;
                        }
                    }
                    break;
                }
                Stop::Link(e) => {
                    failures += 1;
                    // Replies waiting for this modem fail now (transient), not after the backoff.
                    self.fail_waiting_sends(&e);
                    warn!(modem = %self.cfg.name, error = %e, failures, "modem link failed; reopening");
                    self.set_health(|h| {
                        h.connected = false;
                        h.last_error = Some(e.to_string());
                    });
                    drop(engine);
                    if self.sleep(backoff).await {
                        break;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
            if self.health.lock().map(|h| h.connected).unwrap_or(false) {
                backoff = Duration::from_millis(500);
                failures = 0;
            }
        }
        self.set_health(|h| h.connected = false);
    }

    /// Sleeps unless shutdown comes first (then returns true).
    async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.ctx.shutdown.cancelled() => true,
            _ = tokio::time::sleep(d) => false,
        }
    }

    fn fail_waiting_sends(&mut self, e: &AtError) {
        while let Ok(req) = self.rx.try_recv() {
            let _ = req.reply.send(Err(SendError::transient(format!(
                "modem {}: {e}",
                self.cfg.name
            ))));
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.shared.command_timeout_secs)
    }

    async fn init<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        &self,
        m: &mut AtEngine<IO>,
        reset: bool,
    ) -> Result<(), AtError> {
        let t = self.timeout();
        if reset {
            info!(modem = %self.cfg.name, "resetting the modem after repeated failures");
            let _ = m.command("AT+CFUN=1,1", t).await;
        }
        m.command("AT", t).await?;
        m.command("ATE0", t).await?;
        m.command("AT+CMEE=1", t).await?;
        let pin = m.command("AT+CPIN?", t).await?;
        if pin.iter().any(|l| l.contains("SIM PUK")) {
            return Err(AtError::Fatal(format!(
                "the SIM of modem {} is locked and asks for its PUK; unlock it in a phone, then restart aduan",
                self.cfg.name
            )));
        }
        if pin.iter().any(|l| l.contains("SIM PIN")) {
            match &self.cfg.pin {
                // One try only: each refused PIN brings the SIM nearer to its PUK lock, so a
                // refusal stops this modem instead of being retried on every reconnect.
                Some(p) => match m.command(&format!("AT+CPIN=\"{}\"", p.expose()), t).await {
                    Ok(_) => {}
                    Err(e) if e.is_link_failure() => return Err(e),
                    Err(e) => {
                        return Err(AtError::Fatal(format!(
                            "the SIM of modem {} refused the configured PIN ({e}); the modem is stopped \
                             so the SIM is not locked — fix channels.sms.modems.pin and restart aduan",
                            self.cfg.name
                        )))
                    }
                },
                None => {
                    return Err(AtError::Fatal(format!(
                        "the SIM of modem {} asks for a PIN; set channels.sms.modems.pin and restart aduan",
                        self.cfg.name
                    )))
                }
            }
        }
        // PDU mode: text mode loses data.
        m.command("AT+CMGF=0", t).await?;
        m.command("AT+CPMS=\"SM\",\"SM\",\"SM\"", t).await?;
        // New messages announced with +CMTI (stored), status reports routed with +CDS.
        m.command("AT+CNMI=2,1,0,1,0", t).await?;
        Ok(())
    }

    async fn check_health<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        &self,
        m: &mut AtEngine<IO>,
    ) -> Result<(), AtError> {
        let t = self.timeout();
        let csq = m.command("AT+CSQ", t).await?;
        let creg = m.command("AT+CREG?", t).await?;
        let cpms = m.command("AT+CPMS?", t).await.unwrap_or_default();
        let signal = csq.iter().find_map(|l| at::csq_dbm(l));
        let registered = creg
            .iter()
            .find_map(|l| at::creg_registered(l))
            .unwrap_or(false);
        let storage = cpms.iter().find_map(|l| at::cpms_usage(l));
        if let Some((used, total)) = storage.filter(|(u, t)| *t > 0 && u >= t) {
            // New messages wait at the service centre until slots free up; each scan frees the
            // slots of what the register committed.
            warn!(modem = %self.cfg.name, used, total, "SIM storage full");
        }
        self.set_health(|h| {
            h.connected = true;
            h.signal_dbm = signal;
            h.registered = registered;
            h.storage = storage;
            h.last_error = None;
        });
        Ok(())
    }

    async fn session<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        &mut self,
        m: &mut AtEngine<IO>,
        reset: bool,
    ) -> Stop {
        if let Err(e) = self.init(m, reset).await {
            return Stop::Link(e);
        }
        if let Err(e) = self.check_health(m).await {
            return Stop::Link(e);
        }
        info!(modem = %self.cfg.name, port = %self.cfg.port, "modem ready");
        let poll = Duration::from_secs(self.shared.poll_secs);
        let mut next_poll = tokio::time::Instant::now();
        loop {
            if self.ctx.shutdown.is_cancelled() {
                return Stop::Shutdown;
            }
            if tokio::time::Instant::now() >= next_poll {
                if let Err(e) = self.scan(m).await {
                    if e.is_link_failure() {
                        return Stop::Link(e);
                    }
                    warn!(modem = %self.cfg.name, error = %e, "inbox scan failed");
                }
                if let Err(e) = self.check_health(m).await {
                    return Stop::Link(e);
                }
                next_poll = tokio::time::Instant::now() + poll;
            }
            while let Ok(req) = self.rx.try_recv() {
                // The outbox gave up waiting (and will retry): sending now would send twice.
                if req.reply.is_closed() {
                    continue;
                }
                let result = self.send(m, &req.msg).await;
                let link = match &result {
                    Err(SendError::Transient { message, .. }) if message.starts_with("link:") => {
                        Some(message.clone())
                    }
                    _ => None,
                };
                let _ = req.reply.send(result);
                if let Some(l) = link {
                    return Stop::Link(AtError::Error(l));
                }
            }
            match m.next_event(Duration::from_millis(200)).await {
                Ok(None) => {}
                Ok(Some(Event::NewMessage { .. } | Event::NewReport { .. })) => {
                    next_poll = tokio::time::Instant::now()
                }
                Ok(Some(Event::Report(hex) | Event::Message(hex))) => {
                    if let Ok(Pdu::StatusReport(r)) =
                        pdu::decode_hex(&hex, true).or_else(|_| pdu::decode_hex(&hex, false))
                    {
                        // A routed report is not on the SIM: kept in memory if not recorded.
                        if !self.report(&r).await {
                            self.keep_report(r);
                        }
                    } else {
                        // A routed message: the stored copy is read by the next scan.
                        next_poll = tokio::time::Instant::now();
                    }
                }
                Ok(Some(_)) => {}
                Err(e) if e.is_link_failure() => return Stop::Link(e),
                Err(e) => {
                    warn!(modem = %self.cfg.name, error = %e, "modem said something unexpected")
                }
            }
        }
    }

    /// Records a status report; true when done (or nothing to record). A stored report that
    /// the register could not take stays on the SIM; a routed one is kept in memory
    /// ([`ModemTask::keep_report`]); both are tried again at the next scan.
    async fn report(&self, r: &pdu::StatusReport) -> bool {
        let state = match r.outcome() {
            ReportOutcome::Delivered => DeliveryState::Delivered,
            ReportOutcome::Failed => DeliveryState::Failed,
            ReportOutcome::Pending => return true,
        };
        let mut report = DeliveryReport::new(
            ChannelKind::Sms,
            format!("{}:{}", self.cfg.name, r.reference),
            state,
            format!("TP-ST {:#04x}", r.status),
        );
        report.recipient = match r.recipient.kind {
            NumberKind::International | NumberKind::National => {
                normalize_phone(&r.recipient.value).map(Address::Phone)
            }
            _ => None,
        };
        report.submitted_at = r.timestamp.map(|t| t.with_timezone(&chrono::Utc));
        match self.ctx.sink.delivery_report(report).await {
            Ok(_) => true,
            Err(e) => {
                warn!(modem = %self.cfg.name, error = %e, "status report not recorded; kept for the next scan");
                false
            }
        }
    }

    fn keep_report(&mut self, r: pdu::StatusReport) {
        if self.pending_reports.len() < 1000 {
            self.pending_reports.push(r);
        }
    }

    /// Lists the SIM, registers what it holds, deletes what the register committed.
    async fn scan<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        &mut self,
        m: &mut AtEngine<IO>,
    ) -> Result<(), AtError> {
        let t = self.timeout();
        let stored = m.list_all(t).await?;
        for s in stored {
            let bytes = pdu::from_hex(&s.pdu).unwrap_or_default();
            match pdu::decode(&bytes, true) {
                Ok(Pdu::StatusReport(r)) => {
                    // Deleted only once recorded (or matching nothing we sent).
                    if self.report(&r).await {
                        m.delete(s.index, t).await?;
                    }
                }
                Ok(Pdu::Deliver(d)) if d.is_machine_message() => {
                    // WAP push, MMS notification, binary data: registered for the record,
                    // automatic (never answered), each part on its own with its raw PDU.
                    let mut msg = self.inbound(
                        &d,
                        &d.machine_summary(),
                        &hex::encode(Sha256::digest(s.pdu.as_bytes())),
                    );
                    msg.auto_generated = true;
                    msg.intent = Intent::Message;
                    msg.raw = Some(s.pdu.as_bytes().to_vec());
                    if self.submit(msg, &s.pdu).await {
                        m.delete(s.index, t).await?;
                    }
                }
                Ok(Pdu::Deliver(d)) => {
                    if let Some(c) = d.concat {
                        let key = Key {
                            sender: d.sender.value.clone(),
                            reference: c.reference,
                            total: c.total,
                        };
                        let now = chrono::Utc::now().timestamp_millis();
                        self.reassembly.add(
                            key,
                            c.seq,
                            d.user_data.clone(),
                            s.index.to_string(),
                            now,
                        );
                        // The part is safe in the register before it leaves the SIM.
                        if self.save_reassembly().await {
                            m.delete(s.index, t).await?;
                        }
                    } else {
                        let body = &bytes[1 + bytes.first().copied().unwrap_or(0) as usize..];
                        let msg = self.inbound(&d, &d.text(), &hex::encode(Sha256::digest(body)));
                        if self.submit(msg, &s.pdu).await {
                            m.delete(s.index, t).await?;
                        }
                    }
                }
                Err(e) => {
                    // Stored raw and flagged for an officer; the SIM slot is freed after commit.
                    let mut msg = InboundMessage::new(
                        ChannelKind::Sms,
                        format!("raw:{}", hex::encode(Sha256::digest(s.pdu.as_bytes()))),
                        Address::None,
                        "",
                    );
                    msg.raw = Some(s.pdu.as_bytes().to_vec());
                    msg.parse_error =
                        Some(format!("undecodable PDU at SIM index {}: {e}", s.index));
                    msg.auto_generated = true;
                    if self.submit(msg, &s.pdu).await {
                        m.delete(s.index, t).await?;
                    }
                }
            }
        }
        // Status reports that arrived as +CDS while the register was down.
        let pending = std::mem::take(&mut self.pending_reports);
        for r in pending {
            if !self.report(&r).await {
                self.keep_report(r);
            }
        }
        // Complete multipart messages, and incomplete ones past their time (as partial): each
        // forgotten only after the register committed it. The conversation key lets a part that
        // arrives after its message went in as partial join the same complaint.
        let now = chrono::Utc::now().timestamp_millis();
        let ready = self
            .reassembly
            .ready(now, (self.shared.partial_timeout_secs * 1000) as i64);
        for a in ready {
            let k = &a.key;
            let sender = pdu::Address {
                kind: if k.sender.starts_with('+') {
                    NumberKind::International
                } else {
                    NumberKind::National
                },
                value: k.sender.clone(),
            };
            let mut msg = self.inbound_from(
                &sender,
                &a.text,
                &format!("{}:{}:{}:{}", k.sender, k.reference, k.total, a.first_seen),
            );
            msg.hints.conversation =
                Some(format!("concat:{}:{}:{}", k.sender, k.reference, k.total));
            if a.is_partial() {
                let missing: Vec<String> = a.missing.iter().map(u8::to_string).collect();
                msg.parse_error = Some(format!(
                    "partial multipart SMS: part(s) {} of {} never arrived",
                    missing.join(", "),
                    k.total
                ));
            }
            if self.submit(msg, &a.text).await {
                self.reassembly.remove(&a.key);
                self.save_reassembly().await;
            }
        }
        Ok(())
    }

    async fn save_reassembly(&self) -> bool {
        self.ctx
            .sink
            .store_cursor(
                ChannelKind::Sms,
                &self.cursor_key(),
                &self.reassembly.serialize(),
            )
            .await
            .is_ok()
    }

    fn inbound(&self, d: &pdu::Deliver, text: &str, id: &str) -> InboundMessage {
        let mut m = self.inbound_from(&d.sender, text, id);
        if let Some(t) = d.timestamp {
            m.received_at = t.with_timezone(&chrono::Utc);
        }
        m
    }

    fn inbound_from(&self, sender: &pdu::Address, text: &str, id: &str) -> InboundMessage {
        let phone = match sender.kind {
            NumberKind::International | NumberKind::National => normalize_phone(&sender.value),
            _ => None,
        };
        let service = sender.is_service_sender() || phone.is_none();
        let address = phone.map(Address::Phone).unwrap_or(Address::None);
        let mut m = InboundMessage::new(ChannelKind::Sms, format!("sms:{id}"), address, text);
        if service {
            m.display_name = Some(sender.value.clone());
            m.auto_generated = true;
        } else if let Some(register_no) = parse_status_command(text) {
            m.intent = Intent::StatusQuery { register_no };
        }
        m.hints = ThreadingHints {
            references: Vec::new(),
            message_id: Some(format!("sms:{}:{id}", self.cfg.name)),
            conversation: None,
        };
        m
    }

    /// Registers a message; true once committed (then it may leave the SIM). A message the
    /// register refuses is registered once more as its raw source (`raw`: the PDU, or the
    /// joined text), flagged with the reason, so it neither stays on the SIM forever nor holds
    /// up the ones behind it; only an unavailable register keeps it there for the next scan.
    async fn submit(&self, msg: InboundMessage, raw: &str) -> bool {
        let fallback = {
            let mut f = InboundMessage::new(
                ChannelKind::Sms,
                format!("raw:{}", hex::encode(Sha256::digest(raw.as_bytes()))),
                msg.sender.clone(),
                msg.text.chars().take(1000).collect::<String>(),
            );
            f.raw = Some(raw.as_bytes().to_vec());
            f.auto_generated = msg.auto_generated;
            f.received_at = msg.received_at;
            f.hints.message_id = msg.hints.message_id.clone();
            f
        };
        match self.ctx.sink.submit(msg).await {
            Ok(_) => true,
            Err(SinkError::Unavailable(e)) => {
                warn!(modem = %self.cfg.name, error = %e, "register unavailable; the message stays on the SIM");
                false
            }
            Err(SinkError::Rejected(e)) => {
                warn!(modem = %self.cfg.name, error = %e, "register refused a message; registering it raw");
                let mut f = fallback;
                f.parse_error = Some(format!("the register refused this SMS as it was: {e}"));
                match self.ctx.sink.submit(f).await {
                    Ok(_) => true,
                    Err(e) => {
                        warn!(modem = %self.cfg.name, error = %e, "raw copy not registered; the message stays on the SIM");
                        false
                    }
                }
            }
        }
    }

    async fn send<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        &mut self,
        m: &mut AtEngine<IO>,
        msg: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        let Address::Phone(to) = &msg.to else {
            return Err(SendError::permanent("not a phone number"));
        };
        self.reference = self.reference.wrapping_add(1);
        let vp = (self.shared.validity_hours.clamp(1, 24) as u16 * 60 / 5 - 1).min(143) as u8;
        let opts = SubmitOptions {
            status_report: self.shared.status_reports,
            validity: Some(vp),
            reference: self.reference,
        };
        let parts = pdu::encode_submit(to, &msg.text, &opts)
            .map_err(|e| SendError::permanent(e.to_string()))?;
        let mut last = 0;
        for p in &parts {
            last = m
                .send_pdu(p, self.timeout() * 3)
                .await
                .map_err(|e| match &e {
                    AtError::Cms { code: Some(c), .. } if !at::cms_transient(*c) => {
                        SendError::permanent(e.to_string())
                    }
                    e if e.is_link_failure() => SendError::transient(format!("link: {e}")),
                    e => SendError::transient(e.to_string()),
                })?;
        }
        info!(modem = %self.cfg.name, parts = parts.len(), "SMS sent");
        Ok(SendReceipt {
            provider_id: format!("{}:{last}", self.cfg.name),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_commands() {
        for t in [
            "STATUS ADU-2026-000042",
            "status adu-2026-000042",
            " Status:  ADU-2026-000042 ",
            "STATUS ADU 2026 42",
            "status adu2026000042",
        ] {
            assert_eq!(
                parse_status_command(t).as_deref(),
                Some("ADU-2026-000042"),
                "{t}"
            );
        }
        for t in [
            "STATUS",
            "status saya bagaimana?",
            "Statusnya ADU-2026-000042",
            "STATUS ADU-26-42",
            "STATUS ADU-2026-0000421",
            "Jalan rusak",
        ] {
            assert_eq!(parse_status_command(t), None, "{t}");
        }
    }

    #[test]
    fn config_problems() {
        let c: Config = toml_like(vec![("a", "/dev/ttyUSB0"), ("a", "")]);
        let p = c.problems();
        assert!(
            p.iter().any(|p| p.key == "channels.sms.modems[1].name"),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.key == "channels.sms.modems[1].port"),
            "{p:?}"
        );
        assert!(SmsChannel::new(c).is_err());
        assert!(SmsChannel::new(toml_like(vec![("m1", "/dev/ttyUSB0")])).is_ok());
    }

    fn toml_like(modems: Vec<(&str, &str)>) -> Config {
        Config {
            modems: modems
                .into_iter()
                .map(|(n, p)| ModemConfig {
                    name: n.into(),
                    port: p.into(),
                    baud: 115200,
                    pin: None,
                })
                .collect(),
            poll_secs: 30,
            partial_timeout_secs: 3600,
            status_reports: true,
            validity_hours: 24,
            command_timeout_secs: 10,
        }
    }
}

#[cfg(test)]
mod sim_tests {
    use std::time::Duration;

    use aduan_channel::ChannelContext;

    use super::*;
    use crate::sim::{deliver_pdus, Fault, ModemSim};

    fn config(port: &str) -> Config {
        Config {
            modems: vec![ModemConfig {
                name: "m1".into(),
                port: port.into(),
                baud: 115200,
                pin: None,
            }],
            poll_secs: 1,
            partial_timeout_secs: 3600,
            status_reports: true,
            validity_hours: 24,
            command_timeout_secs: 2,
        }
    }

    async fn until(secs: u64, f: impl Fn() -> bool) -> bool {
        let end = tokio::time::Instant::now() + Duration::from_secs(secs);
        while tokio::time::Instant::now() < end {
            if f() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        f()
    }

    fn outbound(to: &str, text: &str) -> OutboundMessage {
        OutboundMessage {
            outbox_id: 1,
            channel: ChannelKind::Sms,
            to: Address::Phone(to.into()),
            register_no: "ADU-2026-000001".into(),
            subject: String::new(),
            text: text.into(),
            attachments: Vec::new(),
            message_id: "<x@y>".into(),
            references: vec!["sms:m1:abc".into()],
            automatic: true,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn receives_sends_and_survives_an_unplug() {
        let dir = std::env::temp_dir().join(format!("aduan-smsch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyUSB0").unwrap();
        // On the SIM before start: a plain SMS, a 2-part message (parts out of order), a
        // broken PDU and an operator promotion.
        sim.store(&deliver_pdus("+6281234567890", "Jalan rusak di RT 03", 0)[0]);
        let long = "Izin usaha saya belum terbit sejak tiga minggu. ".repeat(5);
        let parts = deliver_pdus("081298765432", &long, 9);
        assert_eq!(parts.len(), 2);
        sim.store(&parts[1]);
        sim.store(&parts[0]);
        sim.store("0004FFFF");
        sim.store(&crate::pdu::to_hex(&{
            let name = crate::gsm7::pack(&crate::gsm7::encode("TSEL").unwrap(), 0);
            let mut p = vec![0x00, 0x04, 7, 0xD0];
            p.extend_from_slice(&name);
            p.extend_from_slice(&[
                0x00, 0x00, 0x62, 0x11, 0x22, 0x31, 0x40, 0x00, 0x82, 0x02, 0xC8, 0x34,
            ]);
            p
        }));
        let ch = Arc::new(SmsChannel::new(config(sim.path().to_str().unwrap())).unwrap());
        let (ctx, sink) = ChannelContext::new_test();
        let shutdown = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        assert!(
            until(10, || sink.messages().len() == 4 && sim.inbox_len() == 0).await,
            "{:?} / inbox {}",
            sink.messages(),
            sim.inbox_len()
        );
        let msgs = sink.messages();
        let plain = msgs
            .iter()
            .find(|m| m.text == "Jalan rusak di RT 03")
            .expect("plain SMS");
        assert_eq!(plain.sender, Address::Phone("+6281234567890".into()));
        assert!(!plain.auto_generated);
        let joined = msgs
            .iter()
            .find(|m| m.text == long)
            .expect("multipart joined");
        assert_eq!(
            joined.sender,
            Address::Phone("+6281298765432".into()),
            "national number normalized"
        );
        let broken = msgs
            .iter()
            .find(|m| m.parse_error.is_some() && m.raw.is_some())
            .expect("broken PDU kept raw");
        assert!(broken.auto_generated);
        let promo = msgs
            .iter()
            .find(|m| m.display_name.as_deref() == Some("TSEL"))
            .expect("promotion");
        assert!(promo.auto_generated);
        assert!(ch.health().await.ready);
        // A new arrival is announced with +CMTI and registered at once.
        sim.deliver(&deliver_pdus("+6281234567890", "tambahan", 0)[0]);
        assert!(until(5, || sink.messages().len() == 5).await);
        // Sending: a long reply in parts, a status report back.
        sim.report_after_send(Some(0));
        let reply = "Terima kasih, pengaduan Anda ADU-2026-000001 kami proses. ".repeat(4);
        let receipt = ch.send(&outbound("+6281234567890", &reply)).await.unwrap();
        let sent: Vec<crate::pdu::Submit> = sim
            .sent()
            .iter()
            .map(|h| crate::pdu::decode_submit(&crate::pdu::from_hex(h).unwrap()).unwrap())
            .collect();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].to.value, "+6281234567890");
        let text = crate::pdu::UserData::join(
            &sent.iter().map(|s| s.user_data.clone()).collect::<Vec<_>>(),
        )
        .unwrap()
        .text();
        assert_eq!(text, reply);
        assert!(receipt.provider_id.starts_with("m1:"));
        assert!(
            until(5, || sink
                .reports()
                .iter()
                .any(|r| r.provider_ref == receipt.provider_id
                    && r.state == DeliveryState::Delivered))
            .await,
            "{:?}",
            sink.reports()
        );
        // Refusals: a permanent +CMS error, a transient one.
        sim.set_fault(Fault::Answer {
            prefix: "AT+CMGS".into(),
            line: "+CMS ERROR: 21".into(),
            times: 1,
        });
        assert!(matches!(
            ch.send(&outbound("+6281234567890", "x")).await,
            Err(SendError::Permanent(_))
        ));
        sim.set_fault(Fault::Answer {
            prefix: "AT+CMGS".into(),
            line: "+CMS ERROR: 331".into(),
            times: 1,
        });
        assert!(matches!(
            ch.send(&outbound("+6281234567890", "x")).await,
            Err(SendError::Transient { .. })
        ));
        // Unplugged: health goes down; messages that arrive meanwhile wait on the SIM; plugged
        // in again, they are registered, once.
        sim.unplug();
        assert!(until(10, || !ch.modem_health()[0].1.connected).await);
        assert!(!ch.health().await.ready);
        sim.plug().unwrap();
        sim.store(&deliver_pdus("+6281234567890", "setelah cabut", 0)[0]);
        assert!(
            until(15, || sink
                .messages()
                .iter()
                .any(|m| m.text == "setelah cabut"))
            .await
        );
        assert!(
            until(5, || ch.modem_health()[0].1.connected
                && sim.inbox_len() == 0)
            .await
        );
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops on shutdown")
            .unwrap()
            .unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod supervisor_tests {
    use std::time::Duration;

    use aduan_channel::ChannelContext;

    use super::*;
    use crate::sim::{Fault, ModemSim};

    /// One modem `m1` on the simulator's port, polled every second, with short timeouts.
    fn one_modem(sim: &ModemSim, pin: Option<aduan_channel::Secret>) -> Config {
        Config {
            modems: vec![ModemConfig {
                name: "m1".into(),
                port: sim.path().to_str().unwrap().into(),
                baud: 9600,
                pin,
            }],
            poll_secs: 1,
            partial_timeout_secs: 3600,
            status_reports: true,
            validity_hours: 24,
            command_timeout_secs: 1,
        }
    }

    /// Trust finding 12: a SIM that refuses the configured PIN gets that PIN once — not on every
    /// reconnect, which would lock it with its PUK — and the modem stops, saying why without the
    /// PIN. The right PIN unlocks it and the modem serves.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_pin_stops_the_modem_after_one_try() {
        let dir = std::env::temp_dir().join(format!("aduan-smspin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (pin, good) in [("9876", false), ("1234", true)] {
            let sim = ModemSim::start(&dir, &format!("ttyPIN{pin}")).unwrap();
            sim.require_pin("1234");
            let cfg = one_modem(&sim, Some(aduan_channel::Secret(pin.into())));
            let ch = Arc::new(SmsChannel::new(cfg).unwrap());
            let (ctx, _sink) = ChannelContext::new_test();
            let stop = ctx.shutdown.clone();
            let task = {
                let ch = ch.clone();
                tokio::spawn(async move { ch.receive(ctx).await })
            };
            tokio::time::sleep(Duration::from_secs(4)).await;
            let tries = sim
                .commands()
                .iter()
                .filter(|c| c.to_ascii_uppercase().starts_with("AT+CPIN="))
                .count();
            let health = ch.health().await;
            if good {
                assert!(health.ready, "{}", health.detail);
                assert_eq!(tries, 1);
            } else {
                assert_eq!(tries, 1, "a refused PIN was tried again");
                assert_eq!(sim.pin_tries(), 2);
                assert!(!health.ready);
                assert!(
                    health.detail.contains("refused the configured PIN"),
                    "{}",
                    health.detail
                );
                assert!(!health.detail.contains(pin), "{}", health.detail);
            }
            stop.cancel();
            task.await.unwrap().unwrap();
        }
    }

    /// Trust finding 14: what the register cannot take now stays on the SIM, and nothing stalls
    /// the messages behind it: a status report not recorded stays until it is; a message the
    /// register refuses is registered raw and flagged (then deleted); a PDU whose header is
    /// longer than its user data is stored raw and flagged, not registered empty; a WAP push
    /// (MMS notification) is registered as automatic with a summary, never answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_on_the_sim_is_lost_or_stalls() {
        let dir = std::env::temp_dir().join(format!("aduan-smsraw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyRAW").unwrap();
        let text = crate::sim::deliver_pdus("+6281234567890", "Jalan rusak", 0).remove(0);
        let bad_udh = "00440B912618325476F8000062112231400082020500030102 01".replace(' ', "");
        let wap = "00440B912618325476F80004621122314000822C0605040B8423F00106226170706C69636174696F6E2F766E642E7761702E6D6D732D6D657373616765008C82";
        let report = "0006070B912618325476F8621122314000826211223140108200";
        for p in [text.as_str(), bad_udh.as_str(), wap, report] {
            sim.store(p);
        }
        let cfg = one_modem(&sim, None);
        let ch = Arc::new(SmsChannel::new(cfg).unwrap());
        let (ctx, sink) = ChannelContext::new_test();
        sink.reject_next(1);
        sink.fail_reports(1);
        let stop = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < end
            && (sim.inbox_len() > 0 || sink.reports().is_empty())
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            sim.inbox_len(),
            0,
            "everything left the SIM once registered"
        );
        assert_eq!(
            sink.reports().len(),
            1,
            "the report was recorded at the next scan"
        );
        let msgs = sink.messages();
        let refused = msgs
            .iter()
            .find(|m| m.external_id.starts_with("raw:") && m.text.contains("Jalan rusak"))
            .expect("the refused SMS registered raw");
        assert!(refused.parse_error.as_deref().unwrap().contains("refused"));
        assert_eq!(refused.sender, Address::Phone("+6281234567890".into()));
        let garbage = msgs
            .iter()
            .find(|m| m.raw.as_deref() == Some(bad_udh.as_bytes()))
            .expect("the broken PDU stored raw");
        assert!(
            garbage
                .parse_error
                .as_deref()
                .unwrap()
                .contains("longer than the user data"),
            "{:?}",
            garbage.parse_error
        );
        let push = msgs
            .iter()
            .find(|m| m.text.contains("WAP push"))
            .expect("the WAP push registered");
        assert!(push.auto_generated, "a machine message is never answered");
        assert!(push.raw.is_some());
        stop.cancel();
        task.await.unwrap().unwrap();
    }

    /// A modem that answers garbage is reopened with backoff, reset after three failures in a
    /// row, and back in service when it behaves again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn garbage_leads_to_reopen_and_reset() {
        let dir = std::env::temp_dir().join(format!("aduan-smssup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyUSB1").unwrap();
        let cfg = one_modem(&sim, None);
        let ch = Arc::new(SmsChannel::new(cfg).unwrap());
        let (ctx, _sink) = ChannelContext::new_test();
        let stop = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        let up = |ch: &SmsChannel| ch.modem_health()[0].1.connected;
        let wait = |secs: u64, want: bool| {
            let ch = ch.clone();
            async move {
                let end = tokio::time::Instant::now() + Duration::from_secs(secs);
                while tokio::time::Instant::now() < end {
                    if up(&ch) == want {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                false
            }
        };
        assert!(wait(10, true).await);
        let gauges = ch.gauges();
        assert!(
            gauges
                .iter()
                .any(|g| g.name == "aduan_sms_signal_dbm" && g.value == -73.0),
            "{gauges:?}"
        );
        sim.set_fault(Fault::Garbage);
        assert!(
            wait(10, false).await,
            "garbage takes the modem out of service"
        );
        // Three failed sessions in a row, then the modem is reset.
        let end = tokio::time::Instant::now() + Duration::from_secs(30);
        while sim.resets() == 0 && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            sim.resets() >= 1,
            "AT+CFUN=1,1 after repeated failures: {:?}",
            sim.commands().iter().rev().take(5).collect::<Vec<_>>()
        );
        // The reset cleared the hang (as it does on a real modem): back in service by itself.
        assert!(wait(15, true).await, "back in service");
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}

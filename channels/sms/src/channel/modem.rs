//! One modem's supervised task: open the port, initialize, scan the SIM (deleting a message
//! only after the register committed it), react to URCs, poll, send, and reopen with backoff
//! (resetting the modem after repeated failures).

use super::*;

pub(super) struct ModemTask {
    pub(super) cfg: ModemConfig,
    pub(super) shared: Config,
    pub(super) health: Arc<Mutex<ModemHealth>>,
    pub(super) ctx: ChannelContext,
    pub(super) rx: mpsc::Receiver<SendRequest>,
    pub(super) reassembly: Reassembler,
    pub(super) reference: u8,
    /// Status reports (+CDS) the register could not take yet.
    pub(super) pending_reports: Vec<pdu::StatusReport>,
    /// Failed deletes in a row per SIM slot.
    pub(super) delete_tries: std::collections::BTreeMap<u32, u32>,
}

/// How long a status report that matches no reply yet is tried again (its reply's receipt may
/// not be committed yet); older unmatched reports are someone else's and are let go.
const UNMATCHED_REPORT_RETRY_SECS: i64 = 600;

/// Why a session with the modem ended.
pub(super) enum Stop {
    Shutdown,
    Link(AtError),
}

impl ModemTask {
    pub(super) fn cursor_key(&self) -> String {
        format!("reassembly:{}", self.cfg.name)
    }

    pub(super) fn set_health(&self, f: impl FnOnce(&mut ModemHealth)) {
        if let Ok(mut h) = self.health.lock() {
            f(&mut h);
        }
    }

    pub(super) async fn run(mut self) {
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
    pub(super) async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.ctx.shutdown.cancelled() => true,
            _ = tokio::time::sleep(d) => false,
        }
    }

    pub(super) fn fail_waiting_sends(&mut self, e: &AtError) {
        while let Ok(req) = self.rx.try_recv() {
            let _ = req.reply.send(Err(SendError::transient(format!(
                "modem {}: {e}",
                self.cfg.name
            ))));
        }
    }

    pub(super) fn timeout(&self) -> Duration {
        Duration::from_secs(self.shared.command_timeout_secs)
    }

    pub(super) async fn init<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
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

    pub(super) async fn check_health<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
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

    pub(super) async fn session<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
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
    pub(super) async fn report(&self, r: &pdu::StatusReport) -> bool {
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
        let submitted = report.submitted_at;
        match self.ctx.sink.delivery_report(report).await {
            Ok(true) => true,
            // No reply matches yet: the report may have overtaken the send's own bookkeeping
            // (a long SMS's first part reported while its last is still going out). Tried
            // again at the next scans while the message is recent; after that it is not ours.
            Ok(false) => submitted.is_none_or(|t| {
                (chrono::Utc::now() - t).num_seconds().abs() > UNMATCHED_REPORT_RETRY_SECS
            }),
            Err(e) => {
                warn!(modem = %self.cfg.name, error = %e, "status report not recorded; kept for the next scan");
                false
            }
        }
    }

    pub(super) fn keep_report(&mut self, r: pdu::StatusReport) {
        if self.pending_reports.len() < 1000 {
            self.pending_reports.push(r);
        }
    }

    /// Frees a SIM slot whose message the register committed. A refusal (`+CMS ERROR`) is
    /// logged and counted and the scan goes on — the next scan tries again (the register knows
    /// the message); a slot refused [`STUCK_AFTER`] times in a row is reported in the modem's
    /// health for the admin. Only a failing link ends the session.
    async fn free_slot<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        &mut self,
        m: &mut AtEngine<IO>,
        index: u32,
        t: Duration,
    ) -> Result<(), AtError> {
        match m.delete(index, t).await {
            Ok(()) => {
                if self.delete_tries.remove(&index).is_some() {
                    self.set_health(|h| h.stuck_slots.retain(|s| *s != index));
                }
                Ok(())
            }
            Err(e) if e.is_link_failure() || matches!(e, AtError::Fatal(_)) => Err(e),
            Err(e) => {
                let tries = self.delete_tries.entry(index).or_insert(0);
                *tries += 1;
                let stuck = *tries >= STUCK_AFTER;
                warn!(modem = %self.cfg.name, index, tries = *tries, error = %e,
                      "SIM slot not deleted (its message is registered); the scan goes on");
                self.set_health(|h| {
                    h.delete_failures += 1;
                    if stuck && !h.stuck_slots.contains(&index) {
                        h.stuck_slots.push(index);
                    }
                });
                Ok(())
            }
        }
    }

    /// Lists the SIM, registers what it holds, deletes what the register committed.
    pub(super) async fn scan<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
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
                        self.free_slot(m, s.index, t).await?;
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
                        self.free_slot(m, s.index, t).await?;
                    }
                }
                Ok(Pdu::Deliver(d)) => {
                    if let Some(c) = d.concat {
                        let key = Key {
                            sender: d.sender.value.clone(),
                            reference: c.reference,
                            total: c.total,
                        };
                        let id = s.index.to_string();
                        if self.reassembly.conflicts(&key, c.seq, &d.user_data, &id) {
                            // Another message reusing the reference: registered on its own
                            // (never merged, never dropped), then it may leave the SIM.
                            let mut msg = self.inbound(
                                &d,
                                &d.text(),
                                &hex::encode(Sha256::digest(s.pdu.as_bytes())),
                            );
                            msg.raw = Some(s.pdu.as_bytes().to_vec());
                            msg.parse_error = Some(format!(
                                "part {} of {} (reference {}) collides with another message \
                                 held under the same reference: registered on its own",
                                c.seq, c.total, c.reference
                            ));
                            if self.submit(msg, &s.pdu).await {
                                self.free_slot(m, s.index, t).await?;
                            }
                            continue;
                        }
                        let now = chrono::Utc::now().timestamp_millis();
                        self.reassembly
                            .add(key, c.seq, d.user_data.clone(), id, now);
                        // The part is safe in the register before it leaves the SIM.
                        if self.save_reassembly().await {
                            self.free_slot(m, s.index, t).await?;
                        }
                    } else {
                        let body = &bytes[1 + bytes.first().copied().unwrap_or(0) as usize..];
                        let msg = self.inbound(&d, &d.text(), &hex::encode(Sha256::digest(body)));
                        if self.submit(msg, &s.pdu).await {
                            self.free_slot(m, s.index, t).await?;
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
                        self.free_slot(m, s.index, t).await?;
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
        let timeout = (self.shared.partial_timeout_secs * 1000) as i64;
        // A late part may join its registered message for twice the partial timeout; a
        // message reusing the reference after that is a new one.
        self.reassembly.expire(now, 2 * timeout);
        let ready = self.reassembly.ready(now, timeout);
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
            // A partial message names the parts it holds: a late part of it (the same first
            // time) is another message of the same conversation, not a duplicate.
            let held = if a.is_partial() {
                let have: Vec<String> = (1..=k.total)
                    .filter(|s| !a.missing.contains(s))
                    .map(|s| s.to_string())
                    .collect();
                format!(":p{}", have.join("."))
            } else {
                String::new()
            };
            let mut msg = self.inbound_from(
                &sender,
                &a.text,
                &format!(
                    "{}:{}:{}:{}{held}",
                    k.sender, k.reference, k.total, a.first_seen
                ),
            );
            // The conversation of this message only (its first part's time): a late part
            // joins it, a later message reusing the reference does not.
            msg.hints.conversation = Some(format!(
                "concat:{}:{}:{}:{}",
                k.sender, k.reference, k.total, a.first_seen
            ));
            if a.is_partial() {
                let missing: Vec<String> = a.missing.iter().map(u8::to_string).collect();
                msg.parse_error = Some(format!(
                    "partial multipart SMS: part(s) {} of {} never arrived",
                    missing.join(", "),
                    k.total
                ));
            }
            if self.submit(msg, &a.text).await {
                self.reassembly.remove(&a.key, now);
                self.save_reassembly().await;
            }
        }
        Ok(())
    }

    pub(super) async fn save_reassembly(&self) -> bool {
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

    pub(super) fn inbound(&self, d: &pdu::Deliver, text: &str, id: &str) -> InboundMessage {
        let mut m = self.inbound_from(&d.sender, text, id);
        if let Some(t) = d.timestamp {
            m.received_at = t.with_timezone(&chrono::Utc);
        }
        m
    }

    pub(super) fn inbound_from(
        &self,
        sender: &pdu::Address,
        text: &str,
        id: &str,
    ) -> InboundMessage {
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
    pub(super) async fn submit(&self, msg: InboundMessage, raw: &str) -> bool {
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

    pub(super) async fn send<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
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
        let mut refs = Vec::with_capacity(parts.len());
        for p in &parts {
            let mr = m
                .send_pdu(p, self.timeout() * 3)
                .await
                .map_err(|e| match &e {
                    AtError::Cms { code: Some(c), .. } if !at::cms_transient(*c) => {
                        SendError::permanent(e.to_string())
                    }
                    e if e.is_link_failure() => SendError::transient(format!("link: {e}")),
                    e => SendError::transient(e.to_string()),
                })?;
            refs.push(format!("{}:{mr}", self.cfg.name));
        }
        info!(modem = %self.cfg.name, parts = parts.len(), "SMS sent");
        // The last part's reference is the receipt (as before); every other part's status
        // report names this reply too.
        let last = refs.pop().unwrap_or_else(|| format!("{}:0", self.cfg.name));
        Ok(SendReceipt {
            provider_id: last,
            also: refs,
        })
    }
}

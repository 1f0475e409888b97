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

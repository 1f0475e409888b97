//! The SIM side of a modem's task: scanning what the SIM holds, registering it (joining
//! multipart messages, keeping refused ones raw), recording status reports, and deleting a
//! slot only after the register committed its message.

use super::*;

/// How long a status report that matches no reply yet is tried again (its reply's receipt may
/// not be committed yet); older unmatched reports are someone else's and are let go.
const UNMATCHED_REPORT_RETRY_SECS: i64 = 600;

impl ModemTask {
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
        self.register_joined().await;
        Ok(())
    }

    /// Registers the multipart messages that are complete, and incomplete ones past their time
    /// (as partial), each forgotten only after the register committed it.
    async fn register_joined(&mut self) {
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
}

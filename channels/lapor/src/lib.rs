//! `aduan-lapor`: the SP4N-LAPOR! channel.
//!
//! LAPOR! has no public webhook and no public list of an institution's reports, so a report
//! enters the register when an officer links its tracking id (the daemon's API/CLI register a
//! link message on this channel), or through a configurable list endpoint. The receive loop then
//! polls every linked report whose complaint is open: the report's text, status changes, log
//! entries and follow-ups from others become thread messages (each once: keyed by its id or a
//! hash). An officer's answer goes out as a follow-up; because LAPOR! has no idempotency key,
//! every send first re-reads the follow-ups and skips the post when ours (recognized by its
//! reference line) is already there.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aduan_channel::{
    Address, Channel, ChannelContext, ChannelKind, Gauge, Health, InboundMessage, OutboundMessage,
    ReceiveError, Secret, SendError, SendReceipt, SinkError,
};
use aduan_channel::{BuildContext, BuildError, ChannelSpec, Problem};
use async_trait::async_trait;
use serde::Deserialize;
use tracing::{debug, warn};

pub mod api;
mod config;
pub use config::*;

use api::{Api, ApiError};

/// A content type for a file LAPOR! names, by its extension (what the register serves is
/// still limited to a safe list).
fn content_type_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xls") => "application/vnd.ms-excel",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

pub struct LaporChannel {
    cfg: Config,
    api: Api,
    state: Mutex<State>,
}

struct State {
    health: Result<String, String>,
    polls: u64,
    /// Entries the register refused even raw (external ids): not retried in this run.
    refused: std::collections::HashSet<String>,
}

impl LaporChannel {
    pub fn new(cfg: Config) -> Result<LaporChannel, String> {
        let api = Api::new(
            &cfg.base_url,
            &cfg.auth_header,
            cfg.secret.expose(),
            cfg.token.expose(),
            Duration::from_secs(cfg.timeout_secs),
            parse_offset(&cfg.utc_offset).unwrap_or(7 * 3600),
        )?;
        Ok(LaporChannel {
            cfg,
            api,
            state: Mutex::new(State {
                health: Err("not polled yet".into()),
                polls: 0,
                refused: Default::default(),
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn message(&self, id: &str, key: String, text: String) -> InboundMessage {
        let mut m = InboundMessage::new(
            ChannelKind::Lapor,
            format!("{id}:{key}"),
            Address::Lapor(id.to_string()),
            text,
        );
        m.hints.conversation = Some(id.to_string());
        // Never acknowledged: LAPOR! is not a conversation with a person we answer by receipt.
        m.auto_generated = true;
        m
    }

    /// A follow-up we posted: from our institution when its name is configured (then only
    /// that), else one whose last line is our marker. A citizen quoting our answer ("Ref.
    /// aduan …" inside their words) is theirs, and registered.
    fn is_ours(&self, f: &api::Followup) -> bool {
        match self
            .cfg
            .institution_name
            .as_deref()
            .filter(|n| !n.is_empty())
        {
            Some(n) => f.from.eq_ignore_ascii_case(n),
            None => config::ends_with_a_reference(&f.content),
        }
    }

    /// Registers one entry; `Ok(true)` when it is new. An entry the register refuses is
    /// registered once more as raw text without its files, flagged with the reason; refused
    /// again (never seen), it is logged and skipped for the rest of this run rather than
    /// retried on every poll.
    async fn submit(
        &self,
        ctx: &ChannelContext,
        id: &str,
        m: InboundMessage,
    ) -> Result<bool, SyncError> {
        let key = m.external_id.clone();
        if self.state().refused.contains(&key) {
            return Ok(false);
        }
        let fallback = {
            let mut f = self.message(
                id,
                key.trim_start_matches(&format!("{id}:")).to_string(),
                m.text.chars().take(4000).collect(),
            );
            f.raw = Some(m.text.clone().into_bytes());
            f.received_at = m.received_at;
            f
        };
        match ctx.sink.submit(m).await {
            Ok(c) => Ok(c.disposition != aduan_channel::Disposition::Duplicate),
            Err(SinkError::Unavailable(e)) => Err(SyncError::Register(e)),
            Err(SinkError::Rejected(e)) => {
                warn!(report = id, error = %e, "LAPOR! entry refused; registering it raw");
                let mut f = fallback;
                f.parse_error = Some(format!("the register refused this entry as it was: {e}"));
                match ctx.sink.submit(f).await {
                    Ok(c) => Ok(c.disposition != aduan_channel::Disposition::Duplicate),
                    Err(SinkError::Unavailable(e)) => Err(SyncError::Register(e)),
                    Err(SinkError::Rejected(e)) => {
                        warn!(report = id, error = %e, "LAPOR! entry refused even raw; skipped");
                        self.state().refused.insert(key);
                        Ok(false)
                    }
                }
            }
        }
    }

    /// One report: what is new becomes thread messages, in order; an error stops at the entry
    /// that could not be taken (the next poll goes on from there, the rest being duplicates).
    async fn sync_report(&self, ctx: &ChannelContext, id: &str) -> Result<usize, SyncError> {
        let report = self.api.report(id).await.map_err(SyncError::Api)?;
        let mut msgs = Vec::new();
        if let Some(content) = &report.content {
            let mut m = self.message(id, "content".into(), content.clone());
            m.subject = report.title.clone();
            msgs.push(m);
        }
        if let Some(status) = &report.status_name {
            let mut t = format!("Status LAPOR!: {status}");
            if let Some(d) = &report.disposition {
                t.push_str(&format!(" (disposisi: {d})"));
            }
            if let Some(n) = &report.last_note {
                t.push_str(&format!("\n{n}"));
            }
            msgs.push(self.message(id, format!("status:{}:{status}", report.status_logs), t));
        }
        let mut n = 0;
        for m in msgs {
            n += self.submit(ctx, id, m).await? as usize;
        }
        for log in &report.logs {
            let entry = self.entry_message(ctx, id, &log.key, &log.text, &log.attachments);
            if let Some(m) = entry.await? {
                n += self.submit(ctx, id, m).await? as usize;
            }
        }
        for f in self.api.followups(id).await.map_err(SyncError::Api)? {
            if self.is_ours(&f) {
                continue;
            }
            let key = f.key();
            let entry = self.entry_message(ctx, id, &key, &f.content, &f.attachments);
            if let Some(mut m) = entry.await? {
                m.display_name = Some(f.from.clone()).filter(|s| !s.is_empty());
                if let Some(t) = f.created_at {
                    m.received_at = t;
                }
                n += self.submit(ctx, id, m).await? as usize;
            }
        }
        Ok(n)
    }

    /// A log entry or follow-up with files, unless it is registered already (`None`: then its
    /// files are not fetched again). Files are downloaded within `max_file_bytes`; one that
    /// cannot be had now (network, 5xx) is an error, so the entry is taken at a later poll;
    /// one that will never come (4xx, too large) stays a link and the entry is flagged.
    async fn entry_message(
        &self,
        ctx: &ChannelContext,
        id: &str,
        key: &str,
        text: &str,
        attachments: &[(String, String)],
    ) -> Result<Option<InboundMessage>, SyncError> {
        let known = ctx
            .sink
            .is_registered(ChannelKind::Lapor, &format!("{id}:{key}"))
            .await;
        if known.map_err(|e| SyncError::Register(e.to_string()))? {
            return Ok(None);
        }
        let mut text = text.to_string();
        let mut files = Vec::new();
        let mut notes = Vec::new();
        for (name, path) in attachments {
            text.push_str(&format!("\n[lampiran: {name} — {path}]"));
            if self.cfg.max_file_bytes == 0 {
                continue;
            }
            match self.api.download(path, self.cfg.max_file_bytes).await {
                Ok(data) => files.push(aduan_channel::Attachment {
                    filename: name.clone(),
                    content_type: content_type_of(name).into(),
                    data,
                }),
                Err(ApiError::Transient(e)) => {
                    return Err(SyncError::Api(ApiError::Transient(format!("{name}: {e}"))))
                }
                Err(ApiError::Permanent(e) | ApiError::Auth(e)) => {
                    notes.push(format!("`{name}` not downloaded ({e}); kept as a link"))
                }
            }
        }
        let mut m = self.message(id, key.to_string(), text);
        m.attachments = files;
        if !notes.is_empty() {
            m.parse_error = Some(notes.join("; "));
        }
        Ok(Some(m))
    }

    /// One poll: the list endpoint (when configured), then every open linked report. A
    /// report that fails (unknown id, LAPOR! error, a file that cannot be had now) is noted
    /// and skipped — the reports after it are still read; only the register being down ends
    /// the poll. A report LAPOR! does not know (404) is flagged on its complaint once.
    async fn poll(&self, ctx: &ChannelContext) -> Result<Polled, String> {
        if let Some(path) = &self.cfg.list_path {
            for id in self.api.list(path).await.map_err(|e| e.to_string())? {
                if valid_tracking_id(&id) {
                    ctx.sink
                        .submit(link_message(&id, "list"))
                        .await
                        .map_err(|e| format!("register: {e}"))?;
                }
            }
        }
        let ids = ctx
            .sink
            .open_conversations(ChannelKind::Lapor)
            .await
            .map_err(|e| format!("register: {e}"))?;
        let mut polled = Polled::default();
        let total = ids.len();
        for id in ids {
            if ctx.shutdown.is_cancelled() {
                break;
            }
            match self.sync_report(ctx, &id).await {
                Ok(n) => polled.new += n,
                Err(SyncError::Register(e)) => return Err(format!("register: {e}")),
                // Credentials refused: every report would fail alike; the channel is down.
                Err(SyncError::Api(ApiError::Auth(e))) => return Err(e),
                Err(SyncError::Api(e)) => {
                    warn!(report = %id, error = %e, "LAPOR! report not synced");
                    if let ApiError::Permanent(msg) = &e {
                        // Once per report and kind of error: the officer sees it on the complaint.
                        let mut m = self.message(
                            &id,
                            format!("error:{}", msg.split(':').next().unwrap_or("error")),
                            format!("LAPOR! tidak dapat membaca laporan {id}: {msg}"),
                        );
                        m.parse_error = Some(format!("LAPOR! report {id}: {msg}"));
                        if let Err(SinkError::Unavailable(e)) = ctx.sink.submit(m).await {
                            return Err(format!("register: {e}"));
                        }
                    }
                    polled.failing.push(format!("{id}: {e}"));
                }
            }
        }
        // Not one report could be read: LAPOR! itself is down (or unreachable) for us.
        if total > 0 && polled.failing.len() == total {
            return Err(polled.failing.join("; "));
        }
        Ok(polled)
    }

    /// Whether LAPOR! knows a report: asked before an officer's link is registered, so a
    /// mistyped tracking id is refused with a clear error instead of being polled forever.
    pub async fn verify(&self, id: &str) -> Result<(), aduan_channel::LinkError> {
        match self.api.report(id).await {
            Ok(_) => Ok(()),
            Err(ApiError::Permanent(e)) => Err(aduan_channel::LinkError::Unknown(e)),
            Err(ApiError::Transient(e) | ApiError::Auth(e)) => {
                Err(aduan_channel::LinkError::Unavailable(e))
            }
        }
    }
}

/// What went wrong with one report.
enum SyncError {
    /// LAPOR! (or a file) said no or could not be reached: this report only.
    Api(ApiError),
    /// The register is unavailable: the whole poll stops.
    Register(String),
}

/// The outcome of one poll.
#[derive(Default)]
struct Polled {
    new: usize,
    /// Reports that could not be synced, with the reason.
    failing: Vec<String>,
}

#[async_trait]
impl Channel for LaporChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Lapor
    }

    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        let every = Duration::from_secs(self.cfg.poll_secs);
        while !ctx.shutdown.is_cancelled() {
            match self.poll(&ctx).await {
                Ok(p) => {
                    debug!(new = p.new, failing = p.failing.len(), "LAPOR! poll");
                    let mut s = self.state();
                    s.health = if p.failing.is_empty() {
                        Ok("polling".into())
                    } else {
                        Ok(format!(
                            "polling; {} report(s) failing: {}",
                            p.failing.len(),
                            p.failing.join("; ")
                        ))
                    };
                    s.polls += 1;
                }
                Err(e) => {
                    warn!(error = %e, "LAPOR! poll failed");
                    self.state().health = Err(e);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = ctx.shutdown.cancelled() => break,
            }
        }
        Ok(())
    }

    async fn link(
        &self,
        conversation: &str,
        linked_by: &str,
    ) -> Result<InboundMessage, aduan_channel::LinkError> {
        let id = conversation.trim();
        if !valid_tracking_id(id) {
            return Err(aduan_channel::LinkError::Invalid(
                "use the LAPOR! tracking id (letters, digits, `-`)".into(),
            ));
        }
        self.verify(id).await?;
        Ok(link_message(id, linked_by))
    }

    fn link_announced(&self, msg: &InboundMessage) -> Option<InboundMessage> {
        if msg.channel != ChannelKind::Email {
            return None;
        }
        let Address::Email(from) = &msg.sender else {
            return None;
        };
        if !self.cfg.is_notification_sender(from) {
            return None;
        }
        let id = msg
            .subject
            .as_deref()
            .and_then(tracking_id_in)
            .or_else(|| tracking_id_in(&msg.text))?;
        Some(link_message(&id, "notification mail"))
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        let Address::Lapor(id) = &msg.to else {
            return Err(SendError::permanent(format!(
                "not a LAPOR! report: {}",
                msg.to
            )));
        };
        let map = |e: ApiError| match e {
            // Refused credentials are the office's to fix; the reply waits for that.
            ApiError::Transient(m) | ApiError::Auth(m) => SendError::transient(m),
            ApiError::Permanent(m) => SendError::permanent(m),
        };
        let marker = reference(&msg.register_no, msg.outbox_id);
        // No idempotency key at LAPOR!: a follow-up accepted although its answer was lost must
        // not be posted twice.
        let existing = self.api.followups(id).await.map_err(map)?;
        if let Some(f) = existing
            .iter()
            .find(|f| config::has_reference(&f.content, &msg.register_no, msg.outbox_id))
        {
            return Ok(SendReceipt::new(format!(
                "lapor:{id}:{}",
                f.id.clone().unwrap_or_else(|| "posted".into())
            )));
        }
        let content = format!("{}\n\n{marker}", msg.text.trim_end());
        let fields = [
            ("user_id", self.cfg.user_id.clone()),
            ("institution_from_id", self.cfg.institution_id.clone()),
            ("institution_to_id", self.cfg.institution_to_id.clone()),
            ("complaint_id", id.clone()),
            ("info_disposition", String::new()),
            ("template_code", self.cfg.template_code.clone()),
            ("rating", String::new()),
            ("is_secret", "0".into()),
            ("content", content),
        ];
        let files: Vec<(String, String, Vec<u8>)> = msg
            .attachments
            .iter()
            .map(|a| (a.filename.clone(), a.content_type.clone(), a.data.clone()))
            .collect();
        let v = self.api.add_followup(&fields, &files).await.map_err(map)?;
        let pid = api::text(&v, &["results", "id"])
            .or_else(|| api::text(&v, &["results", "data", "id"]))
            .unwrap_or_else(|| "posted".into());
        Ok(SendReceipt::new(format!("lapor:{id}:{pid}")))
    }

    async fn health(&self) -> Health {
        match &self.state().health {
            Ok(d) => Health::ok(d.clone()),
            Err(e) => Health::down(e.clone()),
        }
    }

    fn gauges(&self) -> Vec<Gauge> {
        vec![Gauge {
            name: "aduan_lapor_polls_total",
            help: "Completed polls of the linked LAPOR! reports",
            labels: vec![],
            value: self.state().polls as f64,
        }]
    }
}

#[cfg(test)]
mod tests;

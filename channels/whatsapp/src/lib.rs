//! WhatsApp Business (Cloud API) channel of aduan.
//!
//! Inbound: Meta calls the daemon's `POST /hooks/whatsapp` with messages and delivery
//! statuses, signed with the app secret (`X-Hub-Signature-256`); the channel verifies the
//! signature over the exact body, registers every message (media fetched through
//! `GET /{media-id}` with the token, to the API or a configured media host only, capped) and
//! answers 200 only after the register committed them. A redelivery is the same `wamid` and is
//! registered once. `GET /hooks/whatsapp` answers Meta's verification handshake.
//!
//! Outbound: `POST /{phone-number-id}/messages`. Inside the 24-hour customer-service window
//! (the citizen's last message, kept in the register with the message) replies go as text
//! and documents; outside it, or when WhatsApp answers 131047, as the approved template that
//! carries the register number (and the reply on one line) and invites the citizen to answer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aduan_channel::{
    normalize_phone, parse_status_command, Address, Attachment, BuildContext, BuildError, Channel,
    ChannelContext, ChannelKind, ChannelSpec, DeliveryReport, DeliveryState, Health,
    InboundMessage, InboundSink, Intent, OutboundMessage, Problem, ReceiveError, SendError,
    SendReceipt, WebhookError, WebhookHead, WebhookReply, WebhookRequest,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use tracing::{info, warn};

pub mod api;
pub mod config;
pub mod convert;

pub use config::Config;

use api::{Api, ApiError, MediaError};
use convert::{Event, Incoming};

/// How long after the citizen's last message free-form replies are allowed.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// Safety margin: a reply this close to the window's end goes as a template.
const WINDOW_MARGIN: chrono::Duration = chrono::Duration::minutes(5);
/// Longest text of one message, in characters.
pub const MAX_TEXT: usize = 4096;
/// Longest template parameter we send, in characters.
const MAX_PARAM: usize = 900;
/// The largest webhook body read (Meta batches at most a few hundred updates).
const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// Numbers whose last message (or closed window) this daemon keeps in memory at most.
const MAX_REMEMBERED: usize = 10_000;

/// The register cursor that holds when a number last wrote.
fn window_key(e164: &str) -> String {
    format!("window:{e164}")
}

impl ChannelSpec for Config {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Whatsapp
    }
    fn problems(&self) -> Vec<Problem> {
        Config::problems(self)
    }
    fn build(&self, _ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        Ok(Arc::new(WhatsappChannel::new(self.clone())?))
    }
}

pub struct WhatsappChannel {
    cfg: Config,
    api: Api,
    /// The register, known once `receive` started: where the window of a number is read.
    sink: OnceLock<Arc<dyn InboundSink>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    health: Option<Result<String, String>>,
    /// When each number last wrote, as seen by this daemon.
    windows: HashMap<String, DateTime<Utc>>,
    /// Numbers WhatsApp said are outside the window (131047) since they last wrote.
    closed: HashSet<String>,
}

impl WhatsappChannel {
    pub fn new(cfg: Config) -> Result<WhatsappChannel, String> {
        if let Some(p) = cfg.problems().into_iter().next() {
            return Err(p.to_string());
        }
        Ok(WhatsappChannel {
            api: Api::new(&cfg)?,
            cfg,
            sink: OnceLock::new(),
            state: Mutex::default(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `sig` (`sha256=<hex>`) is the app secret's HMAC-SHA256 of `body`.
    pub fn signature_valid(&self, sig: &str, body: &[u8]) -> bool {
        let Some(given) = sig
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h.trim()).ok())
        else {
            return false;
        };
        let Ok(mut mac) =
            Hmac::<sha2::Sha256>::new_from_slice(self.cfg.app_secret.expose().as_bytes())
        else {
            return false;
        };
        mac.update(body);
        aduan_channel::ct_eq(&mac.finalize().into_bytes(), &given)
    }

    /// Whether a free-form message to this number is inside its customer-service window.
    async fn window_open(&self, e164: &str) -> bool {
        let now = Utc::now();
        let known = {
            let st = self.state();
            if st.closed.contains(e164) {
                return false;
            }
            st.windows.get(e164).copied()
        };
        let last = match known {
            Some(t) => Some(t),
            None => match self.sink.get() {
                Some(sink) => sink
                    .load_cursor(ChannelKind::Whatsapp, &window_key(e164))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                    .map(|t| t.with_timezone(&Utc)),
                None => None,
            },
        };
        last.is_some_and(|t| now < t + WINDOW - WINDOW_MARGIN)
    }

    /// Text in parts of at most [`MAX_TEXT`] characters (the first answering the citizen's
    /// message), then each attachment as a document. The first message's id is the receipt;
    /// every other message's id is named with it.
    async fn send_free(&self, to: &str, msg: &OutboundMessage) -> Result<SendReceipt, ApiError> {
        let context = msg
            .references
            .iter()
            .rev()
            .find(|r| r.starts_with("wamid."))
            .map(String::as_str);
        let mut ids = Vec::new();
        let chars: Vec<char> = msg.text.chars().collect();
        for (i, part) in chars.chunks(MAX_TEXT).enumerate() {
            let body: String = part.iter().collect();
            let ctx = if i == 0 { context } else { None };
            ids.push(self.api.send(&api::text_message(to, &body, ctx)).await?);
        }
        for a in &msg.attachments {
            let media = self.api.upload(a).await?;
            ids.push(
                self.api
                    .send(&api::document_message(to, &media, &a.filename))
                    .await?,
            );
        }
        if ids.is_empty() {
            return Err(ApiError::Permanent(
                "nothing to send: no text, no file".into(),
            ));
        }
        let first = ids.remove(0);
        Ok(SendReceipt {
            provider_id: first,
            also: ids,
        })
    }

    /// The approved template, with the register number and/or the reply as parameters.
    async fn send_template(
        &self,
        to: &str,
        msg: &OutboundMessage,
    ) -> Result<SendReceipt, ApiError> {
        let params: Vec<String> = self
            .cfg
            .template_params
            .iter()
            .map(|p| match p.as_str() {
                "register_no" => msg.register_no.clone(),
                _ => api::template_param(&msg.text, MAX_PARAM),
            })
            .collect();
        self.api
            .send(&api::template_message(
                to,
                &self.cfg.template_name,
                &self.cfg.template_language,
                &params,
            ))
            .await
            .map(SendReceipt::new)
    }

    /// One message of a webhook call, committed (or the call fails and Meta redelivers).
    async fn register(&self, sink: &Arc<dyn InboundSink>, m: Incoming) -> Result<(), WebhookError> {
        let e164 = normalize_phone(&format!("+{}", m.from));
        let sender = Address::Phone(e164.clone().unwrap_or_else(|| format!("+{}", m.from)));
        let mut msg = InboundMessage::new(ChannelKind::Whatsapp, &m.id, sender, m.text.clone());
        msg.display_name = m.name.clone();
        if let Some(t) = m.timestamp {
            msg.received_at = t;
        }
        msg.hints.message_id = Some(m.id.clone());
        msg.hints.references = m.context.iter().cloned().collect();
        msg.hints.conversation = Some(format!("+{}", m.from));
        msg.raw = serde_json::to_vec(&m.raw).ok();
        let mut problems: Vec<String> = m.unsupported.iter().cloned().collect();
        if e164.is_none() {
            problems.push(format!(
                "sender `{}` is not a plausible phone number",
                m.from
            ));
        }
        if m.kind == "text" {
            if let Some(no) = parse_status_command(&m.text) {
                msg.intent = Intent::StatusQuery { register_no: no };
            }
        }
        let when = m.timestamp.unwrap_or_else(Utc::now).min(Utc::now());
        if let Some(e) = &e164 {
            // Fixed-width UTC, kept at its greatest: a redelivered or late older message
            // never closes a window a newer one opened.
            msg.cursor = Some((window_key(e), when.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
            msg.cursor_keeps_greatest = true;
        }
        // Media: only for a message not registered yet (a redelivery needs no download).
        if let Some(media) = &m.media {
            let known = sink
                .is_registered(ChannelKind::Whatsapp, &m.id)
                .await
                .map_err(|e| WebhookError::Unavailable(e.to_string()))?;
            if !known {
                match self.api.media(&media.id, self.cfg.max_media_bytes).await {
                    Ok(got) => {
                        self.api_answered();
                        msg.attachments.push(Attachment {
                            filename: media.filename.clone(),
                            content_type: got.mime_type.unwrap_or_else(|| media.mime_type.clone()),
                            data: got.data,
                        })
                    }
                    Err(MediaError::TooLarge(n)) => problems.push(format!(
                        "file {} ({n} bytes) is over the limit of {} bytes: not downloaded",
                        media.filename, self.cfg.max_media_bytes
                    )),
                    Err(MediaError::Refused(why)) => {
                        problems.push(format!("file {} not downloaded: {why}", media.filename))
                    }
                    Err(MediaError::Transient(why)) => {
                        return Err(WebhookError::Unavailable(why));
                    }
                }
            }
        }
        if !problems.is_empty() {
            msg.parse_error = Some(problems.join("; "));
        }
        // Refused as it is: without its files, then as the raw message only.
        match aduan_channel::submit_keeping_raw(sink.as_ref(), msg, None).await {
            Ok(Some(_)) => self.saw(e164.as_deref(), when),
            // Nothing the register takes: answering an error would only make Meta redeliver
            // it for days. Logged for the operator.
            Ok(None) => {
                warn!(id = %m.id, "WhatsApp message refused by the register even raw; dropped")
            }
            Err(e) => return Err(WebhookError::Unavailable(e.to_string())),
        }
        Ok(())
    }

    /// The API answered a call: healthy again if a check or a refusal said otherwise.
    fn api_answered(&self) {
        let mut st = self.state();
        if !matches!(st.health, Some(Ok(_))) {
            st.health = Some(Ok(format!(
                "API reachable (number {})",
                self.cfg.phone_number_id
            )));
        }
    }

    /// WhatsApp said this number is outside its window (131047).
    fn close(&self, e164: &str) {
        let mut st = self.state();
        if st.closed.len() >= MAX_REMEMBERED {
            // Forgetting only costs a refused text (131047) before the template.
            st.closed.clear();
        }
        st.closed.insert(e164.to_string());
    }

    /// A number wrote at `when`: its window is open from then.
    fn saw(&self, e164: Option<&str>, when: DateTime<Utc>) {
        if let Some(e) = e164 {
            let mut st = self.state();
            // Bounded: numbers whose window has passed are read from the register again.
            if st.windows.len() >= MAX_REMEMBERED {
                let cutoff = Utc::now() - WINDOW;
                st.windows.retain(|_, t| *t > cutoff);
            }
            st.closed.remove(e);
            let w = st.windows.entry(e.to_string()).or_insert(when);
            *w = (*w).max(when);
        }
    }

    async fn status(
        &self,
        sink: &Arc<dyn InboundSink>,
        s: convert::Status,
    ) -> Result<(), WebhookError> {
        let state = match s.status.as_str() {
            "delivered" | "read" => DeliveryState::Delivered,
            "failed" => DeliveryState::Failed,
            _ => return Ok(()),
        };
        let recipient = s
            .recipient
            .as_deref()
            .and_then(|r| normalize_phone(&format!("+{r}")));
        if s.errors.iter().any(|(c, _)| *c == 131047) {
            if let Some(r) = &recipient {
                self.close(r);
            }
        }
        let detail = if s.errors.is_empty() {
            s.status.clone()
        } else {
            s.errors
                .iter()
                .map(|(c, t)| format!("WhatsApp {c}: {t}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut report = DeliveryReport::new(ChannelKind::Whatsapp, &s.id, state, detail);
        report.recipient = recipient.map(Address::Phone);
        sink.delivery_report(report)
            .await
            .map(|_| ())
            .map_err(|e| WebhookError::Unavailable(e.to_string()))
    }
}

/// A send's error as the outbox reads it; a refused token makes the reply wait
/// (`token_wait`) without an attempt counted.
fn send_error(e: ApiError, token_wait: Duration) -> SendError {
    match e {
        ApiError::Transient(m) | ApiError::Reengage(m) => SendError::transient(m),
        ApiError::Permanent(m) => SendError::permanent(m),
        ApiError::Auth(m) => SendError::Unavailable {
            message: m,
            retry_after: token_wait,
        },
    }
}

#[async_trait]
impl Channel for WhatsappChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Whatsapp
    }

    /// Messages arrive by webhook; this loop keeps the register at hand (for the window) and
    /// checks the access token every five minutes for `/readyz`.
    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        let _ = self.sink.set(ctx.sink.clone());
        loop {
            let h = self.api.check().await.map_err(|e| e.to_string());
            match &h {
                Ok(n) => info!(number = %n, "WhatsApp API reachable"),
                Err(e) => warn!(error = %e, "WhatsApp API check failed"),
            }
            self.state().health = Some(h);
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            }
        }
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        let Address::Phone(e164) = &msg.to else {
            return Err(SendError::permanent(format!(
                "not a phone number: {}",
                msg.to
            )));
        };
        let to = e164.trim_start_matches('+');
        let sent = if self.window_open(e164).await {
            match self.send_free(to, msg).await {
                Err(ApiError::Reengage(why)) => {
                    info!(to = %msg.to, reason = %why, "outside the window: sending the template");
                    self.close(e164);
                    self.send_template(to, msg).await
                }
                other => other,
            }
        } else {
            self.send_template(to, msg).await
        };
        // What a send learns of the API is its health at once: a refused token says so on
        // `/readyz` now, an accepted message says the API is back.
        match &sent {
            Ok(_) => self.api_answered(),
            Err(ApiError::Auth(why)) => self.state().health = Some(Err(why.clone())),
            Err(_) => {}
        }
        let wait = Duration::from_secs(self.cfg.token_wait_secs.max(1));
        sent.map_err(|e| send_error(e, wait))
    }

    async fn health(&self) -> Health {
        match &self.state().health {
            Some(Ok(n)) => Health::ok(format!("WhatsApp {n}")),
            Some(Err(e)) => Health::down(e.clone()),
            None => Health::down("not checked yet"),
        }
    }

    fn webhook_body_limit(&self) -> usize {
        WEBHOOK_BODY_LIMIT
    }

    fn webhook_authorized(&self, head: &WebhookHead<'_>) -> Result<(), WebhookError> {
        use aduan_channel::http::Method;
        if head.method == Method::GET {
            let token = head.query_param("hub.verify_token").unwrap_or_default();
            let ok = head.query_param("hub.mode").as_deref() == Some("subscribe")
                && aduan_channel::ct_eq(
                    token.as_bytes(),
                    self.cfg.verify_token.expose().as_bytes(),
                );
            return if ok {
                Ok(())
            } else {
                Err(WebhookError::Unauthorized)
            };
        }
        if head.method != Method::POST {
            return Err(WebhookError::NotSupported);
        }
        match head.header("x-hub-signature-256") {
            Some(s) if s.starts_with("sha256=") => Ok(()),
            _ => Err(WebhookError::BadSignature),
        }
    }

    async fn webhook(
        &self,
        sink: &Arc<dyn InboundSink>,
        req: WebhookRequest<'_>,
    ) -> Result<WebhookReply, WebhookError> {
        self.webhook_authorized(&req.head)?;
        if req.head.method == aduan_channel::http::Method::GET {
            let challenge = req
                .head
                .query_param("hub.challenge")
                .ok_or_else(|| WebhookError::BadRequest("hub.challenge missing".into()))?;
            info!("WhatsApp webhook verified");
            return Ok(WebhookReply::Text(challenge));
        }
        let sig = req.head.header("x-hub-signature-256").unwrap_or("");
        if !self.signature_valid(sig, req.body) {
            return Err(WebhookError::BadSignature);
        }
        let v: serde_json::Value = serde_json::from_slice(req.body)
            .map_err(|e| WebhookError::BadRequest(format!("not JSON: {e}")))?;
        for ev in convert::parse(&v).map_err(WebhookError::BadRequest)? {
            match ev {
                Event::Message(m) => self.register(sink, *m).await?,
                Event::Status(s) => self.status(sink, s).await?,
            }
        }
        Ok(WebhookReply::Accepted)
    }
}

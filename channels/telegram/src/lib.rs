//! `aduan-telegram`: the Telegram channel (teloxide, Bot API long polling).
//!
//! The update offset lives in the register's channel cursor and advances only after every
//! update of a batch was committed (or deliberately ignored), so a restart neither re-processes
//! nor loses an update: Telegram re-delivers whatever was not confirmed by the next `getUpdates`
//! offset. Replies go to the chat the complaint came from, split at 4,096 characters, as a reply
//! to the complainant's last message; attachments as documents.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aduan_channel::{
    Address, Attachment, Channel, ChannelContext, ChannelKind, Gauge, Health, InboundMessage,
    InboundSink, OutboundMessage, ReceiveError, Secret, SendError, SendReceipt, WebhookError,
    WebhookHead, WebhookReply, WebhookRequest,
};
use aduan_channel::{BuildContext, BuildError, ChannelSpec, Problem};
use async_trait::async_trait;
use serde::Deserialize;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{
    InputFile, KeyboardButton, KeyboardMarkup, MessageId, ReplyMarkup, ReplyParameters,
};
use teloxide::{ApiError, RequestError};
use tracing::{debug, info, warn};

pub mod convert;

use convert::{Action, FileRef};

/// `[channels.telegram]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The bot token from @BotFather. Better from the environment:
    /// `ADUAN_CHANNELS__TELEGRAM__TOKEN`.
    #[serde(default)]
    pub token: Secret,
    /// The Bot API server (a local `telegram-bot-api` server, or a test double).
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Long-poll timeout of `getUpdates`, seconds.
    #[serde(default = "default_poll")]
    pub poll_timeout_secs: u64,
    /// Register messages from group chats too (off: only private chats).
    #[serde(default)]
    pub allow_groups: bool,
    /// Largest file downloaded, bytes (the Bot API serves at most 20 MB).
    #[serde(default = "default_max_file")]
    pub max_file_bytes: u32,
    /// The office name in `/start`.
    #[serde(default)]
    pub office_name: Option<String>,
    /// Receive by webhook instead of long polling: the public HTTPS address that reaches this
    /// daemon's `POST /hooks/telegram` (through the office's reverse proxy).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The secret Telegram sends with every webhook call (`ADUAN_CHANNELS__TELEGRAM__WEBHOOK_SECRET`;
    /// 1-256 of `A-Z a-z 0-9 _ -`). Required with `webhook_url`.
    #[serde(default)]
    pub webhook_secret: Secret,
}

fn default_api_url() -> String {
    "https://api.telegram.org".into()
}
fn default_poll() -> u64 {
    30
}
fn default_max_file() -> u32 {
    20 * 1024 * 1024
}

impl Config {
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let t = &self.token.expose();
        let valid = t
            .split_once(':')
            .is_some_and(|(id, rest)| id.parse::<u64>().is_ok() && rest.len() >= 20);
        if !valid {
            p.push(Problem::new(
                "channels.telegram.token",
                "missing or not a bot token (`123456:ABC…`; set ADUAN_CHANNELS__TELEGRAM__TOKEN)",
            ));
        }
        match url::Url::parse(&self.api_url) {
            Ok(u)
                if u.scheme() == "https"
                    || u.host_str().is_some_and(aduan_channel::is_loopback_host) => {}
            Ok(_) => p.push(Problem::new(
                "channels.telegram.api_url",
                "must be https (http only for a server on this host)",
            )),
            Err(e) => p.push(Problem::new("channels.telegram.api_url", e.to_string())),
        }
        if let Some(w) = &self.webhook_url {
            if !url::Url::parse(w).is_ok_and(|u| u.scheme() == "https") {
                p.push(Problem::new(
                    "channels.telegram.webhook_url",
                    "must be an https URL (Telegram calls only https webhooks)",
                ));
            }
            let sec = &self.webhook_secret.expose();
            if sec.is_empty()
                || sec.len() > 256
                || !sec
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                p.push(Problem::new(
                    "channels.telegram.webhook_secret",
                    "required with webhook_url: 1-256 of A-Z a-z 0-9 _ - (set \
                     ADUAN_CHANNELS__TELEGRAM__WEBHOOK_SECRET)",
                ));
            }
        }
        if !(1..=50).contains(&self.poll_timeout_secs) {
            p.push(Problem::new(
                "channels.telegram.poll_timeout_secs",
                "must be 1..=50",
            ));
        }
        p
    }
}

impl ChannelSpec for Config {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }
    fn problems(&self) -> Vec<Problem> {
        Config::problems(self)
    }
    fn build(&self, ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        let mut cfg = self.clone();
        cfg.office_name
            .get_or_insert_with(|| ctx.office_name.clone());
        Ok(Arc::new(TelegramChannel::new(cfg)?))
    }
}

/// The cursor key of the update offset.
pub const CURSOR: &str = "offset";

/// Longest text of one `sendMessage`, in UTF-16 code units as Telegram counts.
pub const MAX_TEXT: usize = 4096;

pub struct TelegramChannel {
    cfg: Config,
    bot: Bot,
    state: Mutex<State>,
}

struct State {
    health: Result<String, String>,
    updates: u64,
    /// Failed file fetches per update id (see [`MAX_FILE_TRIES`]).
    file_tries: std::collections::HashMap<i32, u32>,
}

/// How often a file that fails transiently is tried before its message is registered without
/// it.
const MAX_FILE_TRIES: u32 = 5;

/// Why a file could not be fetched.
enum FileError {
    /// Will not work (bad or gone file id, file too big for the Bot API).
    Permanent(String),
    /// May work later (network, 5xx, flood control).
    Transient(String),
}

impl TelegramChannel {
    pub fn new(cfg: Config) -> Result<TelegramChannel, String> {
        let url = url::Url::parse(&cfg.api_url).map_err(|e| format!("api_url: {e}"))?;
        // The HTTP timeout outlasts the long poll.
        let client = teloxide::net::default_reqwest_settings()
            .timeout(Duration::from_secs(cfg.poll_timeout_secs + 15))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let bot = Bot::with_client(cfg.token.expose().to_string(), client).set_api_url(url);
        Ok(TelegramChannel {
            cfg,
            bot,
            state: Mutex::new(State {
                health: Err("not connected yet".into()),
                updates: 0,
                file_tries: Default::default(),
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Downloads what fits the limit; names what does not. A file Telegram will never give
    /// (`400 invalid file_id`, gone, too big for the Bot API) is named in a note and the message
    /// goes on without it; only a failure that may pass (network, 5xx, flood control) is an
    /// error — and after [`MAX_FILE_TRIES`] of those for one update the message is registered
    /// without the file, so one file never holds up the updates behind it.
    async fn fetch_files(
        &self,
        update: i32,
        msg: &mut InboundMessage,
        files: Vec<FileRef>,
    ) -> Result<(), String> {
        let mut notes = Vec::new();
        let give_up = {
            let mut st = self.state();
            let tries = st.file_tries.entry(update).or_insert(0);
            *tries += 1;
            *tries > MAX_FILE_TRIES
        };
        for f in files {
            if f.size > self.cfg.max_file_bytes {
                notes.push(format!(
                    "file `{}` ({} bytes) exceeds max_file_bytes and was not downloaded",
                    f.filename, f.size
                ));
                continue;
            }
            match self.download(&f).await {
                Ok(data) => msg.attachments.push(Attachment {
                    filename: f.filename,
                    content_type: f.content_type,
                    data,
                }),
                Err(FileError::Permanent(e)) => notes.push(format!(
                    "file `{}` could not be had from Telegram ({e}); not downloaded",
                    f.filename
                )),
                Err(FileError::Transient(e)) if give_up => notes.push(format!(
                    "file `{}` failed {MAX_FILE_TRIES} times ({e}); registered without it",
                    f.filename
                )),
                Err(FileError::Transient(e)) => return Err(e),
            }
        }
        self.state().file_tries.remove(&update);
        if !notes.is_empty() {
            msg.parse_error = Some(notes.join("; "));
        }
        Ok(())
    }

    async fn download(&self, f: &FileRef) -> Result<Vec<u8>, FileError> {
        let file = self.bot.get_file(f.id.clone()).await.map_err(|e| match e {
            RequestError::Api(e) => FileError::Permanent(format!("getFile: {e}")),
            e => FileError::Transient(format!("getFile: {e}")),
        })?;
        let mut data: Vec<u8> = Vec::with_capacity((file.meta.size as usize).min(1 << 20));
        self.bot
            .download_file(&file.path, &mut data)
            .await
            .map_err(|e| {
                let text = format!("file download: {e}");
                match &e {
                    teloxide::DownloadError::Network(n)
                        if n.status().is_some_and(|s| s.is_client_error()) =>
                    {
                        FileError::Permanent(text)
                    }
                    _ => FileError::Transient(text),
                }
            })?;
        Ok(data)
    }

    /// Registers one update (or answers the command it is). Errors mean "not committed".
    /// Returns whether the polling offset past this update was committed with it.
    async fn handle_update(
        &self,
        sink: &Arc<dyn InboundSink>,
        u: &teloxide::types::Update,
    ) -> Result<bool, String> {
        match convert::convert(u, self.cfg.allow_groups) {
            Action::Ignore(why) => debug!(update = u.id.0, why, "update ignored"),
            Action::Help { chat, lang, start } => {
                let office = self.cfg.office_name.as_deref().unwrap_or("kantor ini");
                // A lost greeting is not worth stopping the queue for.
                if let Err(e) = self
                    .bot
                    .send_message(ChatId(chat), convert::help_text(lang, start, office))
                    .await
                {
                    warn!(error = %e, "could not answer a command");
                }
            }
            Action::Register { mut msg, files } => {
                // The file API unreachable: the whole update is retried later.
                self.fetch_files(u.id.0 as i32, &mut msg, files).await?;
                // The next offset rides in the message's own transaction.
                msg.cursor = Some((CURSOR.to_string(), (u.id.0 as i64 + 1).to_string()));
                // Refused as it is: without its files, then as the raw update. Only a
                // committed copy moves the offset past it; a register that is down keeps it.
                let raw = serde_json::to_vec(u).ok();
                return match aduan_channel::submit_keeping_raw(sink.as_ref(), *msg, raw).await {
                    Ok(Some(c)) => {
                        debug!(register_no = %c.register_no, disposition = ?c.disposition, "telegram message registered");
                        Ok(true)
                    }
                    Ok(None) => Err(format!(
                        "update {} refused by the register even raw",
                        u.id.0
                    )),
                    Err(e) => Err(format!("register: {e}")),
                };
            }
        }
        Ok(false)
    }

    /// Webhook mode: registers the webhook (retrying with backoff), then waits for shutdown;
    /// updates arrive through [`Channel::webhook`].
    async fn run_webhook(&self, ctx: &ChannelContext, url: &str) {
        let mut delay = Duration::from_secs(1);
        loop {
            let parsed = match url::Url::parse(url) {
                Ok(u) => u,
                Err(e) => {
                    self.state().health = Err(format!("webhook_url: {e}"));
                    break;
                }
            };
            let r = self
                .bot
                .set_webhook(parsed)
                .secret_token(self.cfg.webhook_secret.expose().to_string())
                .await;
            match r {
                Ok(_) => {
                    info!("Telegram webhook registered");
                    self.state().health = Ok("webhook".into());
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "setWebhook failed");
                    self.state().health = Err(format!("setWebhook: {e}"));
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = ctx.shutdown.cancelled() => return,
                    }
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
        ctx.shutdown.cancelled().await;
    }

    /// One `getUpdates` round: handle every update, then store the next offset.
    async fn poll_once(&self, ctx: &ChannelContext, offset: &mut i32) -> Result<(), String> {
        let updates = self
            .bot
            .get_updates()
            .offset(*offset)
            .timeout(self.cfg.poll_timeout_secs as u32)
            .limit(100)
            .await
            .map_err(|e| format!("getUpdates: {e}"))?;
        self.state().health = Ok("polling".into());
        if updates.is_empty() {
            return Ok(());
        }
        for u in &updates {
            let stored = self.handle_update(&ctx.sink, u).await?;
            // Advance past this update only now that it is committed (commands and ignored
            // updates store the offset on their own, and move on only once that is stored).
            let next = u.id.0 as i32 + 1;
            if !stored {
                ctx.sink
                    .store_cursor(ChannelKind::Telegram, CURSOR, &next.to_string())
                    .await
                    .map_err(|e| format!("register: {e}"))?;
            }
            *offset = next;
            self.state().updates += 1;
        }
        Ok(())
    }

    fn classify(e: RequestError) -> SendError {
        match e {
            RequestError::RetryAfter(s) => SendError::Transient {
                message: format!("Telegram flood control: retry after {}s", s.seconds()),
                retry_after: Some(s.duration()),
            },
            RequestError::Network(e) => SendError::transient(format!("network: {e}")),
            RequestError::Io(e) => SendError::transient(format!("I/O: {e}")),
            RequestError::InvalidJson { raw, .. } => SendError::transient(format!(
                "unreadable answer from the Bot API: {}",
                raw.chars().take(200).collect::<String>()
            )),
            RequestError::Api(ApiError::Unknown(d)) => {
                let lower = d.to_ascii_lowercase();
                if lower.starts_with("bad request") || lower.starts_with("forbidden") {
                    SendError::permanent(d)
                } else {
                    // 5xx and whatever else the API says without a known meaning.
                    SendError::transient(d)
                }
            }
            RequestError::Api(e) => SendError::permanent(e.to_string()),
            RequestError::MigrateToChatId(c) => {
                SendError::permanent(format!("the group moved to chat {}", c.0))
            }
        }
    }
}

/// Splits text into pieces of at most `max` UTF-16 units, at a line break or space when one is
/// near, never inside a character.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut units = 0;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > max {
                end = i;
                break;
            }
            units += c.len_utf16();
        }
        if end < rest.len() {
            let window = &rest[..end];
            let cut = window
                .rfind('\n')
                .filter(|&i| i > end / 2)
                .or_else(|| window.rfind(' ').filter(|&i| i > end / 2))
                .map(|i| i + 1)
                .unwrap_or(end);
            end = cut;
        }
        out.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    out
}

#[async_trait]
impl Channel for TelegramChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        if let Some(url) = self.cfg.webhook_url.clone() {
            self.run_webhook(&ctx, &url).await;
            return Ok(());
        }
        // A webhook left from an earlier configuration would make getUpdates fail.
        if let Err(e) = self.bot.delete_webhook().await {
            debug!(error = %e, "deleteWebhook");
        }
        let mut delay = Duration::from_secs(1);
        let mut offset: Option<i32> = None;
        while !ctx.shutdown.is_cancelled() {
            if offset.is_none() {
                match ctx.sink.load_cursor(ChannelKind::Telegram, CURSOR).await {
                    Ok(v) => offset = Some(v.and_then(|v| v.parse().ok()).unwrap_or(0)),
                    Err(e) => self.state().health = Err(format!("register: {e}")),
                }
            }
            let r = match offset.as_mut() {
                Some(o) => tokio::select! {
                    r = self.poll_once(&ctx, o) => r,
                    _ = ctx.shutdown.cancelled() => break,
                },
                None => Err("cursor not readable".into()),
            };
            match r {
                Ok(()) => delay = Duration::from_secs(1),
                Err(e) => {
                    warn!(error = %e, retry_in = ?delay, "Telegram polling failed");
                    self.state().health = Err(e);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = ctx.shutdown.cancelled() => break,
                    }
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
        info!("Telegram polling stopped");
        Ok(())
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        let Address::TelegramChat(chat) = msg.to else {
            return Err(SendError::permanent(format!(
                "not a Telegram chat: {}",
                msg.to
            )));
        };
        // Reply to the complainant's latest message in this chat (`chat:message`).
        let reply_to = msg.references.iter().rev().find_map(|r| {
            let (c, m) = r.split_once(':')?;
            (c.parse::<i64>().ok()? == chat).then_some(())?;
            m.parse::<i32>().ok()
        });
        let mut ids = Vec::new();
        let parts = split_text(&msg.text, MAX_TEXT);
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.into_iter().enumerate() {
            let mut req = self.bot.send_message(ChatId(chat), part);
            if let Some(m) = reply_to {
                req = req.reply_parameters(
                    ReplyParameters::new(MessageId(m)).allow_sending_without_reply(),
                );
            }
            // The choices as a one-time keyboard: a tap sends the button's text back.
            if i == last && !msg.choices.is_empty() {
                let row: Vec<KeyboardButton> =
                    msg.choices.iter().map(KeyboardButton::new).collect();
                req = req.reply_markup(ReplyMarkup::Keyboard(
                    KeyboardMarkup::new(vec![row])
                        .resize_keyboard()
                        .one_time_keyboard(),
                ));
            }
            let sent = req.await.map_err(Self::classify)?;
            ids.push(sent.id.0.to_string());
        }
        for a in &msg.attachments {
            let sent = self
                .bot
                .send_document(
                    ChatId(chat),
                    InputFile::memory(a.data.clone()).file_name(a.filename.clone()),
                )
                .await
                .map_err(Self::classify)?;
            ids.push(sent.id.0.to_string());
        }
        Ok(SendReceipt {
            provider_id: format!("{chat}:{}", ids.join(",")),
            also: ids.iter().map(|id| format!("{chat}:{id}")).collect(),
        })
    }

    fn webhook_authorized(&self, head: &WebhookHead<'_>) -> Result<(), WebhookError> {
        let expected = &self.cfg.webhook_secret.expose();
        let given = head.header("x-telegram-bot-api-secret-token").unwrap_or("");
        if self.cfg.webhook_url.is_none()
            || expected.is_empty()
            || head.method != aduan_channel::http::Method::POST
            || !aduan_channel::ct_eq(given.as_bytes(), expected.as_bytes())
        {
            return Err(WebhookError::Unauthorized);
        }
        Ok(())
    }

    async fn webhook(
        &self,
        sink: &Arc<dyn InboundSink>,
        req: WebhookRequest<'_>,
    ) -> Result<WebhookReply, WebhookError> {
        self.webhook_authorized(&req.head)?;
        let u: teloxide::types::Update = serde_json::from_slice(req.body)
            .map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        self.handle_update(sink, &u)
            .await
            .map_err(WebhookError::Unavailable)?;
        // (The offset cursor a registered update carries is unused in webhook mode.)
        self.state().updates += 1;
        Ok(WebhookReply::Accepted)
    }

    async fn health(&self) -> Health {
        match &self.state().health {
            Ok(d) => Health::ok(d.clone()),
            Err(e) => Health::down(e.clone()),
        }
    }

    fn gauges(&self) -> Vec<Gauge> {
        let s = self.state();
        vec![Gauge {
            name: "aduan_telegram_updates_total",
            help: "Updates handled since start",
            labels: vec![],
            value: s.updates as f64,
        }]
    }
}

#[cfg(test)]
mod tests;

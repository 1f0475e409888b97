//! `aduan-channel`: what every channel adapter of aduan implements.
//!
//! A channel knows its protocol and nothing of the register. It turns what arrives into
//! [`InboundMessage`]s and hands each to the [`InboundSink`] of its [`ChannelContext`]; the sink
//! answers only after the message is durably committed, and only then may the adapter
//! acknowledge its source (IMAP flag, `AT+CMGD`, Telegram offset, LAPOR! cursor).
//! Replies come back as [`OutboundMessage`]s through [`Channel::send`], which returns a
//! provider receipt or a [`SendError`] that says whether a retry can help.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

mod address;
pub mod config;
mod mask;
mod spec;
pub use address::{normalize_email, normalize_phone};
pub use config::{is_loopback_host, Secret};
pub use http;
pub use mask::{mask_address, Masked};
pub use spec::{BuildContext, BuildError, ChannelSpec, Problem};

/// Every channel aduan knows. A closed set: adding a channel is adding a variant here and an
/// arm in the daemon's `ChannelConfig`; every list of kinds ([`ChannelKind::iter`], the names,
/// parsing) derives from this enum, so none can be forgotten.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    strum::EnumIter,
    strum::EnumCount,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Sms,
    Telegram,
    Lapor,
    Web,
    Counter,
    Whatsapp,
}

impl ChannelKind {
    /// Every kind, in declaration order.
    pub fn iter() -> impl Iterator<Item = ChannelKind> + Clone {
        <ChannelKind as strum::IntoEnumIterator>::iter()
    }

    /// How many kinds there are.
    pub const COUNT: usize = <ChannelKind as strum::EnumCount>::COUNT;

    /// Whether the channel proves who sent a message: an SMS sender number, a Telegram chat,
    /// an email `From`, a LAPOR! report. Only such a sender is a complainant's *identity*;
    /// addresses typed into the web form or at the counter are contacts of one complaint.
    pub fn proves_sender(self) -> bool {
        match self {
            ChannelKind::Email
            | ChannelKind::Sms
            | ChannelKind::Telegram
            | ChannelKind::Lapor
            | ChannelKind::Whatsapp => true,
            ChannelKind::Web | ChannelKind::Counter => false,
        }
    }

    /// The name in config sections, URLs, the register and metrics labels.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelKind {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelKind::iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownChannel(s.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown channel `{0}` (known: {known})", known = ChannelKind::iter().map(ChannelKind::as_str).collect::<Vec<_>>().join(", "))]
pub struct UnknownChannel(pub String);

/// How a complaint reached the front office when it was typed in at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterMedium {
    /// *datang langsung*: the complainant came to the counter.
    WalkIn,
    Telephone,
    /// *surat*: a paper letter.
    Letter,
    Fax,
    /// *kotak pengaduan*: a slip from the complaint box.
    ComplaintBox,
}

impl CounterMedium {
    pub fn as_str(self) -> &'static str {
        match self {
            CounterMedium::WalkIn => "walk_in",
            CounterMedium::Telephone => "telephone",
            CounterMedium::Letter => "letter",
            CounterMedium::Fax => "fax",
            CounterMedium::ComplaintBox => "complaint_box",
        }
    }
}

/// Where a message came from or goes to, in the form its channel uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Address {
    Email(String),
    /// E.164, with the leading `+`.
    Phone(String),
    /// A Telegram chat id.
    TelegramChat(i64),
    /// A LAPOR! tracking id.
    Lapor(String),
    /// No electronic address (counter walk-ins without contact data, web without contact).
    None,
}

impl Address {
    /// The form stored in the register: `email:…`, `phone:…`, `telegram:…`, `lapor:…`, or "".
    pub fn to_key(&self) -> String {
        match self {
            Address::Email(e) => format!("email:{}", e.to_lowercase()),
            Address::Phone(p) => format!("phone:{p}"),
            Address::TelegramChat(c) => format!("telegram:{c}"),
            Address::Lapor(l) => format!("lapor:{l}"),
            Address::None => String::new(),
        }
    }

    pub fn from_key(key: &str) -> Address {
        match key.split_once(':') {
            Some(("email", v)) => Address::Email(v.to_string()),
            Some(("phone", v)) => Address::Phone(v.to_string()),
            Some(("telegram", v)) => v
                .parse()
                .map(Address::TelegramChat)
                .unwrap_or(Address::None),
            Some(("lapor", v)) => Address::Lapor(v.to_string()),
            _ => Address::None,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Address::None)
    }
}

impl fmt::Display for Address {
    /// Masked: safe to log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Email(e) => write!(f, "email:{}", mask_address(e)),
            Address::Phone(p) => write!(f, "phone:{}", mask_address(p)),
            Address::TelegramChat(c) => write!(f, "telegram:{}", mask_address(&c.to_string())),
            Address::Lapor(l) => write!(f, "lapor:{l}"),
            Address::None => f.write_str("none"),
        }
    }
}

/// A file that came with a message or goes with a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The name the sender gave; shown to officers, never used as a storage path.
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// What an adapter knows that may tie a message to an earlier complaint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadingHints {
    /// Provider message ids this message answers (email `In-Reply-To` and `References`).
    pub references: Vec<String>,
    /// This message's own provider id (email `Message-ID`), recorded so replies can thread.
    pub message_id: Option<String>,
    /// A conversation the channel keeps open (Telegram chat, LAPOR! complaint id): a message in
    /// the same conversation joins that conversation's open complaint.
    pub conversation: Option<String>,
}

/// One message as it arrived, normalized by its adapter.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub channel: ChannelKind,
    /// Channel-scoped idempotency key: the same source message always has the same id.
    pub external_id: String,
    pub sender: Address,
    pub display_name: Option<String>,
    /// Further contact data given with this message (a web form's email and phone, a Telegram
    /// user's shared own number, an email's `Reply-To`). They become contacts of the one
    /// complaint the message opens or joins — never an identity, never used to find a
    /// complainant. Replies of web and counter complaints also go to them.
    pub contacts: Vec<Address>,
    pub subject: Option<String>,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub received_at: DateTime<Utc>,
    pub hints: ThreadingHints,
    /// Bounces, out-of-office, `Auto-Submitted`, `Precedence: bulk`, operator promotions:
    /// registered, never acknowledged.
    pub auto_generated: bool,
    /// Counter intake only: how the complaint reached the office.
    pub medium: Option<CounterMedium>,
    /// Preferred language of replies (`id` or `en`), when the channel knows it.
    pub lang: Option<String>,
    /// The raw source (a whole MIME message, a PDU), kept content-addressed for officers.
    pub raw: Option<Vec<u8>>,
    /// Set by an adapter that could not fully parse the source: the message is registered and
    /// flagged for an officer rather than dropped.
    pub parse_error: Option<String>,
    /// What the sender asks for: a complaint (the default) or a command the channel recognized.
    pub intent: Intent,
    /// An adapter cursor `(key, value)` stored in the same transaction as the message (the
    /// Telegram offset past this update): committed together, so it can neither be lost nor
    /// run ahead of the message, and it costs no commit of its own.
    pub cursor: Option<(String, String)>,
}

/// What an inbound message asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Intent {
    /// A complaint, or a message about one.
    #[default]
    Message,
    /// "What is the status of this complaint?" (`STATUS ADU-2026-000042` by SMS, `/status …`
    /// on Telegram). Answered with the status to a sender known as its complainant; never
    /// opens a complaint.
    StatusQuery { register_no: String },
}

impl InboundMessage {
    /// A plain message with the required fields; the rest default to empty.
    pub fn new(
        channel: ChannelKind,
        external_id: impl Into<String>,
        sender: Address,
        text: impl Into<String>,
    ) -> Self {
        InboundMessage {
            channel,
            external_id: external_id.into(),
            sender,
            display_name: None,
            contacts: Vec::new(),
            subject: None,
            text: text.into(),
            attachments: Vec::new(),
            received_at: Utc::now(),
            hints: ThreadingHints::default(),
            auto_generated: false,
            medium: None,
            lang: None,
            raw: None,
            parse_error: None,
            intent: Intent::Message,
            cursor: None,
        }
    }
}

/// What the register did with an inbound message. Returned only after commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub register_no: String,
    pub tracking_code: String,
    pub disposition: Disposition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A new complaint was opened.
    Created,
    /// The message joined an existing complaint.
    Threaded,
    /// The same (channel, external_id) was registered before; nothing changed.
    Duplicate,
}

/// Why the sink did not commit. The adapter must not acknowledge its source.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The message itself is unacceptable (for example an attachment over the size limit that
    /// could not be stored); the adapter should store it another way or flag it.
    #[error("message rejected: {0}")]
    Rejected(String),
    /// The register could not commit now (database down, shutting down); retry later.
    #[error("register unavailable: {0}")]
    Unavailable(String),
}

/// A channel's way to the register. Implemented by the daemon; adapters see only this.
#[async_trait]
pub trait InboundSink: Send + Sync {
    /// Registers the message in one transaction and returns after commit.
    async fn submit(&self, msg: InboundMessage) -> Result<Committed, SinkError>;
    /// Reads a persisted adapter cursor (IMAP UIDVALIDITY/UID, Telegram offset…).
    async fn load_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
    ) -> Result<Option<String>, SinkError>;
    /// Persists an adapter cursor.
    async fn store_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
        value: &str,
    ) -> Result<(), SinkError>;
    /// Records what the provider later said about a message we sent (an SMS status report, a
    /// bounce of one of our mails). `provider_ref` is the provider id from the send receipt or
    /// our own message id. Returns whether an outbox row matched.
    async fn delivery_report(&self, report: DeliveryReport) -> Result<bool, SinkError>;
    /// The conversations (`ThreadingHints::conversation`) of this channel's complaints that are
    /// still open, oldest first: what a polling adapter (LAPOR!) must keep watching.
    async fn open_conversations(&self, channel: ChannelKind) -> Result<Vec<String>, SinkError>;
    /// Whether a message with this `external_id` is registered already: lets an adapter skip
    /// costly work (downloading files) for an entry it sees again on every poll.
    async fn is_registered(
        &self,
        channel: ChannelKind,
        external_id: &str,
    ) -> Result<bool, SinkError>;
}

/// What became of a sent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub channel: ChannelKind,
    pub provider_ref: String,
    pub state: DeliveryState,
    /// The provider's words (status code, bounce reason), for officers.
    pub detail: String,
    /// Who the reported message went to, when the report says (an SMS status report does):
    /// a reference that repeats (SMS TP-MR wraps at 256) then matches only that recipient's.
    pub recipient: Option<Address>,
    /// When the provider accepted the reported message, by its clock (SMS TP-SCTS): the
    /// reference matches only a message sent about then.
    pub submitted_at: Option<DateTime<Utc>>,
}

impl DeliveryReport {
    /// A report naming the message by `provider_ref` alone (a bounce quoting our Message-ID).
    pub fn new(
        channel: ChannelKind,
        provider_ref: impl Into<String>,
        state: DeliveryState,
        detail: impl Into<String>,
    ) -> DeliveryReport {
        DeliveryReport {
            channel,
            provider_ref: provider_ref.into(),
            state,
            detail: detail.into(),
            recipient: None,
            submitted_at: None,
        }
    }
}

/// Everything an adapter's receive loop gets from the daemon: no globals.
#[derive(Clone)]
pub struct ChannelContext {
    pub sink: Arc<dyn InboundSink>,
    pub shutdown: CancellationToken,
}

impl ChannelContext {
    pub fn new(sink: Arc<dyn InboundSink>, shutdown: CancellationToken) -> Self {
        ChannelContext { sink, shutdown }
    }

    /// A context whose sink keeps messages in memory, for adapter tests.
    pub fn new_test() -> (Self, Arc<MemorySink>) {
        let sink = Arc::new(MemorySink::default());
        (
            ChannelContext::new(sink.clone(), CancellationToken::new()),
            sink,
        )
    }
}

/// An in-memory sink for adapter tests: dedups on (channel, external_id) like the register.
#[derive(Default)]
pub struct MemorySink {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    messages: Vec<InboundMessage>,
    cursors: Vec<(ChannelKind, String, String)>,
    reports: Vec<DeliveryReport>,
    fail_next: usize,
    reject_next: usize,
    fail_reports: usize,
    fail_cursors: usize,
}

impl MemorySink {
    pub fn messages(&self) -> Vec<InboundMessage> {
        self.state.lock().unwrap().messages.clone()
    }
    pub fn reports(&self) -> Vec<DeliveryReport> {
        self.state.lock().unwrap().reports.clone()
    }
    /// The next `n` submits fail with [`SinkError::Unavailable`].
    pub fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }
    /// The next `n` cursor writes fail with [`SinkError::Unavailable`].
    pub fn fail_cursors(&self, n: usize) {
        self.state.lock().unwrap().fail_cursors = n;
    }
    /// The next `n` delivery reports fail with [`SinkError::Unavailable`].
    pub fn fail_reports(&self, n: usize) {
        self.state.lock().unwrap().fail_reports = n;
    }
    /// The next `n` submits are refused with [`SinkError::Rejected`] (what a register does
    /// with a value its database cannot hold).
    pub fn reject_next(&self, n: usize) {
        self.state.lock().unwrap().reject_next = n;
    }
}

#[async_trait]
impl InboundSink for MemorySink {
    async fn submit(&self, msg: InboundMessage) -> Result<Committed, SinkError> {
        let mut st = self.state.lock().unwrap();
        if st.fail_next > 0 {
            st.fail_next -= 1;
            return Err(SinkError::Unavailable("test failure".into()));
        }
        if st.reject_next > 0 {
            st.reject_next -= 1;
            return Err(SinkError::Rejected("test refusal".into()));
        }
        let dup = st
            .messages
            .iter()
            .position(|m| m.channel == msg.channel && m.external_id == msg.external_id);
        let n = dup.unwrap_or(st.messages.len()) + 1;
        let disposition = if dup.is_some() {
            Disposition::Duplicate
        } else {
            st.messages.push(msg);
            Disposition::Created
        };
        Ok(Committed {
            register_no: format!("TEST-{n:06}"),
            tracking_code: format!("T{n}"),
            disposition,
        })
    }

    async fn load_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
    ) -> Result<Option<String>, SinkError> {
        let st = self.state.lock().unwrap();
        Ok(st
            .cursors
            .iter()
            .find(|(c, k, _)| *c == channel && k == key)
            .map(|(_, _, v)| v.clone()))
    }

    async fn store_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
        value: &str,
    ) -> Result<(), SinkError> {
        let mut st = self.state.lock().unwrap();
        if st.fail_cursors > 0 {
            st.fail_cursors -= 1;
            return Err(SinkError::Unavailable("test failure".into()));
        }
        st.cursors.retain(|(c, k, _)| !(*c == channel && k == key));
        st.cursors
            .push((channel, key.to_string(), value.to_string()));
        Ok(())
    }

    async fn delivery_report(&self, report: DeliveryReport) -> Result<bool, SinkError> {
        let mut st = self.state.lock().unwrap();
        if st.fail_reports > 0 {
            st.fail_reports -= 1;
            return Err(SinkError::Unavailable("test failure".into()));
        }
        st.reports.push(report);
        drop(st);
        Ok(true)
    }

    async fn is_registered(
        &self,
        channel: ChannelKind,
        external_id: &str,
    ) -> Result<bool, SinkError> {
        let st = self.state.lock().unwrap();
        Ok(st
            .messages
            .iter()
            .any(|m| m.channel == channel && m.external_id == external_id))
    }

    async fn open_conversations(&self, channel: ChannelKind) -> Result<Vec<String>, SinkError> {
        let st = self.state.lock().unwrap();
        let mut out: Vec<String> = Vec::new();
        for m in st.messages.iter().filter(|m| m.channel == channel) {
            if let Some(c) = &m.hints.conversation {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        Ok(out)
    }
}

/// A reply, receipt or status message on its way to a complainant.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    /// The outbox row: stable across retries.
    pub outbox_id: i64,
    pub channel: ChannelKind,
    pub to: Address,
    pub register_no: String,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// Our own provider message id for this row, the same on every retry (email `Message-ID`).
    pub message_id: String,
    /// Provider ids this reply answers, oldest first (email `References`; the last is
    /// `In-Reply-To`; a Telegram message id to reply to).
    pub references: Vec<String>,
    /// Automatic messages (receipts, status answers) carry `Auto-Submitted: auto-replied`.
    pub automatic: bool,
}

/// What the provider said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// SMTP Message-ID, SMS message reference, Telegram message id, LAPOR! response id.
    pub provider_id: String,
}

/// Why a send failed, typed so the outbox decides retries without reading strings.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Might work later: network down, SMTP 4xx, Telegram 429/5xx, modem busy.
    #[error("transient: {message}")]
    Transient {
        message: String,
        /// The provider asked to wait this long (Telegram `retry_after`).
        retry_after: Option<std::time::Duration>,
    },
    /// Will never work: SMTP 5xx, bot blocked, invalid number.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        SendError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        SendError::Permanent(message.into())
    }
}

/// How an adapter is doing, for `/readyz` and the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub ready: bool,
    pub detail: String,
}

impl Health {
    pub fn ok(detail: impl Into<String>) -> Self {
        Health {
            ready: true,
            detail: detail.into(),
        }
    }
    pub fn down(detail: impl Into<String>) -> Self {
        Health {
            ready: false,
            detail: detail.into(),
        }
    }
}

/// The trait every channel adapter implements.
#[async_trait]
pub trait Channel: Send + Sync {
    fn kind(&self) -> ChannelKind;

    /// The receive loop: reads the source, submits each message to `ctx.sink`, acknowledges the
    /// source only after the sink confirms, and returns when `ctx.shutdown` is cancelled.
    /// Channels without a source of their own (web, counter) return at once.
    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError>;

    /// Delivers one message. Must be safe to call again for the same `outbox_id` after a
    /// transient failure or a crash (same `message_id`).
    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError>;

    async fn health(&self) -> Health;

    /// Channel-specific gauges for `/metrics` (a modem's signal, say).
    fn gauges(&self) -> Vec<Gauge> {
        Vec::new()
    }

    /// The message that links a conversation an officer names (a LAPOR! report by its
    /// tracking id) to the register, once the provider says it knows it: a mistyped id is
    /// refused with a clear error instead of being polled forever. Channels without links keep
    /// the default.
    async fn link(
        &self,
        _conversation: &str,
        _linked_by: &str,
    ) -> Result<InboundMessage, LinkError> {
        Err(LinkError::NotSupported)
    }

    /// A conversation of this channel that a message of *another* channel announces (a
    /// LAPOR! notification mail naming its report), as the message that links it. The intake
    /// registers the link in the announcing message's own transaction. Most channels keep the
    /// default.
    fn link_announced(&self, _msg: &InboundMessage) -> Option<InboundMessage> {
        None
    }

    /// The largest webhook body this channel accepts; the HTTP server reads no more.
    fn webhook_body_limit(&self) -> usize {
        DEFAULT_WEBHOOK_BODY_LIMIT
    }

    /// Whether a webhook call with this head (method, headers, query) may be read at all. The
    /// HTTP server asks before it reads the body, so a stranger's call costs nothing;
    /// [`Channel::webhook`] checks again with the body (a signature over it, say). Channels
    /// without webhooks keep the default.
    fn webhook_authorized(&self, _head: &WebhookHead<'_>) -> Result<(), WebhookError> {
        Err(WebhookError::NotSupported)
    }

    /// A call from the provider (a webhook push, or a `GET` verification handshake) that the
    /// daemon's HTTP server received for this channel. Returns only after what it carried is
    /// committed, so the provider retries whatever failed. Channels without webhooks keep the
    /// default.
    async fn webhook(
        &self,
        _sink: &Arc<dyn InboundSink>,
        _req: WebhookRequest<'_>,
    ) -> Result<WebhookReply, WebhookError> {
        Err(WebhookError::NotSupported)
    }
}

/// The body limit of a webhook call unless the channel says otherwise.
pub const DEFAULT_WEBHOOK_BODY_LIMIT: usize = 64 * 1024;

/// Why a conversation cannot be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("this channel links no conversations")]
    NotSupported,
    /// Not even the form of an id of this channel.
    #[error("{0}")]
    Invalid(String),
    /// The provider says it does not know it (or refuses it).
    #[error("{0}")]
    Unknown(String),
    /// The provider cannot be asked now.
    #[error("{0}")]
    Unavailable(String),
}

/// What the HTTP server knows of a webhook call before it reads the body.
#[derive(Debug, Clone, Copy)]
pub struct WebhookHead<'a> {
    pub method: &'a http::Method,
    pub headers: &'a http::HeaderMap,
    /// The raw query string, without the `?`.
    pub query: Option<&'a str>,
}

impl WebhookHead<'_> {
    /// A header's value, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url_query_param(self.query?, name)
    }
}

/// A webhook call as the HTTP server received it: its head and the body (at most
/// [`Channel::webhook_body_limit`] bytes; empty for a `GET`).
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub head: WebhookHead<'a>,
    pub body: &'a [u8],
}

/// What the HTTP server answers a webhook call that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookReply {
    /// Committed: `200 {"ok":true}`.
    Accepted,
    /// A verification handshake: `200` with this plain text (the provider's challenge).
    Text(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("this channel takes no webhook")]
    NotSupported,
    /// A shared secret that is wrong or missing: `403`.
    #[error("wrong or missing webhook secret")]
    Unauthorized,
    /// A signature over the body that does not verify: `401`.
    #[error("webhook signature missing or wrong")]
    BadSignature,
    #[error("unreadable webhook body: {0}")]
    BadRequest(String),
    /// Not committed; the provider should deliver it again.
    #[error("not registered now: {0}")]
    Unavailable(String),
}

/// `name`'s first value in a URL query string, percent- and `+`-decoded.
fn url_query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 2;
            }
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `STATUS ADU-2026-000042`, tolerant of case and spacing (`status adu 2026 42`,
/// `Status: ADU-2026-000042`) → the register number; anything else is not a command.
pub fn parse_status_command(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_uppercase();
    let rest = t.strip_prefix("STATUS")?;
    let rest = rest.trim_start_matches([' ', ':', '\t']);
    let prefix: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let tail = &rest[prefix.len()..];
    if prefix.is_empty()
        || !tail
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        return None;
    }
    let groups: Vec<&str> = tail.split(['-', ' ']).filter(|g| !g.is_empty()).collect();
    let (year, seq) = match groups.as_slice() {
        [y, s] => (*y, *s),
        [all] if all.len() >= 5 => all.split_at(4),
        _ => return None,
    };
    (year.len() == 4 && (1..=6).contains(&seq.len())).then(|| format!("{prefix}-{year}-{seq:0>6}"))
}

/// Compares two secrets in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// One Prometheus gauge sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A receive loop that stopped for good (bad configuration the adapter found at run time).
#[derive(Debug, thiserror::Error)]
#[error("{channel} receive loop stopped: {message}")]
pub struct ReceiveError {
    pub channel: ChannelKind,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_kind_round_trips() {
        assert_eq!(ChannelKind::iter().count(), ChannelKind::COUNT);
        for k in ChannelKind::iter() {
            assert_eq!(k.as_str().parse::<ChannelKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!("fax".parse::<ChannelKind>().is_err());
    }

    #[test]
    fn address_keys_round_trip() {
        for a in [
            Address::Email("Budi@Example.go.id".into()),
            Address::Phone("+6281234567890".into()),
            Address::TelegramChat(-100123),
            Address::Lapor("LAP-1".into()),
        ] {
            let back = Address::from_key(&a.to_key());
            match (&a, &back) {
                (Address::Email(x), Address::Email(y)) => assert_eq!(x.to_lowercase(), *y),
                _ => assert_eq!(a, back),
            }
        }
        assert_eq!(Address::from_key(""), Address::None);
    }

    #[test]
    fn address_display_is_masked() {
        let s = Address::Phone("+6281234567890".into()).to_string();
        assert!(!s.contains("1234567"), "{s}");
        let s = Address::Email("budi.santoso@example.go.id".into()).to_string();
        assert!(!s.contains("santoso"), "{s}");
    }

    #[test]
    fn query_params_decode() {
        let q = "hub.mode=subscribe&hub.verify_token=a%20b+c&hub.challenge=12%3&x=%E2%9C%93";
        assert_eq!(url_query_param(q, "hub.mode").as_deref(), Some("subscribe"));
        assert_eq!(
            url_query_param(q, "hub.verify_token").as_deref(),
            Some("a b c")
        );
        assert_eq!(url_query_param(q, "hub.challenge").as_deref(), Some("12%3"));
        assert_eq!(url_query_param(q, "x").as_deref(), Some("\u{2713}"));
        assert_eq!(url_query_param(q, "nope"), None);
        assert_eq!(url_query_param("%", "%"), Some(String::new()));
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }

    #[tokio::test]
    async fn memory_sink_dedups_and_fails_on_demand() {
        let (ctx, sink) = ChannelContext::new_test();
        let m = InboundMessage::new(ChannelKind::Sms, "a", Address::None, "x");
        let c1 = ctx.sink.submit(m.clone()).await.unwrap();
        let c2 = ctx.sink.submit(m.clone()).await.unwrap();
        assert_eq!(c1.disposition, Disposition::Created);
        assert_eq!(c2.disposition, Disposition::Duplicate);
        sink.fail_next(1);
        assert!(ctx.sink.submit(m).await.is_err());
        assert_eq!(sink.messages().len(), 1);
    }
}

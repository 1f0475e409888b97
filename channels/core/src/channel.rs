//! The [`Channel`] trait every adapter implements, its health, webhooks (head, request, reply,
//! errors) and links.

use super::*;

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
pub(crate) fn url_query_param(query: &str, name: &str) -> Option<String> {
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

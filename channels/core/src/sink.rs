//! The register as adapters see it ([`InboundSink`]), the context a receive loop gets, and an
//! in-memory sink for adapter tests.

use super::*;

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

/// Longest text of a message kept only as its raw source, characters.
const RAW_ONLY_TEXT_CHARS: usize = 1000;
/// Largest raw source kept with such a message, bytes.
const RAW_ONLY_BYTES: usize = 256 * 1024;

/// Submits `msg`, and if the register refuses it as it is ([`SinkError::Rejected`]), again
/// without its files, then as its raw source only (`raw`, else the message's own; its text cut
/// to 1,000 characters, the raw to 256 KiB) — each flagged with the reason — so that a source
/// message is registered rather than dropped. The channel, external id, sender, conversation
/// and cursor are kept. `Ok(None)`: refused even raw; `Err` only when the register is
/// unavailable (the adapter must not acknowledge the source).
pub async fn submit_keeping_raw(
    sink: &dyn InboundSink,
    msg: InboundMessage,
    raw: Option<Vec<u8>>,
) -> Result<Option<Committed>, SinkError> {
    let refused = match sink.submit(msg.clone()).await {
        Err(SinkError::Rejected(e)) => e,
        other => return other.map(Some),
    };
    let mut bare = msg.clone();
    bare.attachments.clear();
    bare.parse_error = Some(format!(
        "register refused the message ({refused}); registered without files"
    ));
    let mut raw_only = InboundMessage::new(
        msg.channel,
        msg.external_id.clone(),
        msg.sender.clone(),
        msg.text
            .chars()
            .take(RAW_ONLY_TEXT_CHARS)
            .collect::<String>(),
    );
    raw_only.hints.conversation = msg.hints.conversation.clone();
    raw_only.cursor = msg.cursor.clone();
    raw_only.raw = raw
        .or(msg.raw)
        .map(|r| r[..r.len().min(RAW_ONLY_BYTES)].to_vec());
    raw_only.parse_error = Some(format!(
        "register refused the message ({refused}); the raw source is kept"
    ));
    for attempt in [bare, raw_only] {
        match sink.submit(attempt).await {
            Err(SinkError::Rejected(e)) => {
                tracing::warn!(channel = %msg.channel, error = %e, "message refused by the register")
            }
            other => return other.map(Some),
        }
    }
    Ok(None)
}

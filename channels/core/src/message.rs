//! What flows through a channel: addresses, inbound messages (with their intent and
//! threading hints), delivery reports, outbound messages and why a send failed.

use super::*;

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
    /// Preferred language of replies, when the channel knows it.
    pub lang: Option<Lang>,
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
    /// The cursor only moves forward: the register keeps the greater of the stored and this
    /// value, compared as text (a fixed-width UTC time, `2026-12-05T08:00:00Z`), so a
    /// redelivered or late old message never moves it back.
    pub cursor_keeps_greatest: bool,
    /// The complainant asked to keep their identity confidential (*rahasia*, the web form and
    /// the counter): only the front office, the heads and the admin see who complained.
    pub confidential: bool,
    /// Why this message's sender is not proven although its channel usually proves it (an
    /// email whose receiving server reports a DMARC or SPF failure): the sender is then no
    /// identity — the message joins nothing by number, reopens nothing, gives no verdict.
    pub sender_unproven: Option<String>,
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
            cursor_keeps_greatest: false,
            confidential: false,
            sender_unproven: None,
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
    /// Answers the citizen may pick (the verdict's 1–4). The text already lists them; a
    /// channel with buttons (Telegram) may offer them as buttons whose text comes back as the
    /// citizen's reply.
    pub choices: Vec<String>,
}

/// What the provider said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// SMTP Message-ID, SMS message reference, Telegram message id, LAPOR! response id.
    pub provider_id: String,
    /// The provider's ids of every further message the send took (a long SMS's other parts,
    /// a reply's letter sent as a document after its text): a delivery report naming any of
    /// them is about this reply.
    pub also: Vec<String>,
}

impl SendReceipt {
    /// A receipt of one message.
    pub fn new(provider_id: impl Into<String>) -> SendReceipt {
        SendReceipt {
            provider_id: provider_id.into(),
            also: Vec::new(),
        }
    }
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
    /// The channel as a whole cannot send now — its credentials are refused — whatever the
    /// message: the row waits `retry_after` without an attempt counted, until the office
    /// fixes the channel (its health says what is wrong).
    #[error("channel unavailable: {message}")]
    Unavailable {
        message: String,
        retry_after: std::time::Duration,
    },
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

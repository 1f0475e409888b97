//! The channels aduan knows, and how a complaint reached the counter.

use super::*;

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

    /// The channel's name for people in a sentence (letters, replies: "melalui surat
    /// elektronik"), in `lang`.
    pub fn words(self, lang: Lang) -> &'static str {
        let (_, (id, en)) = self.names();
        lang.pick(id, en)
    }

    /// The channel's short name (officers' pages, columns, filters), in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        let ((id, en), _) = self.names();
        lang.pick(id, en)
    }

    /// The one table of the channels' names for people: (short, in a sentence), each
    /// (Indonesian, English).
    fn names(self) -> ((&'static str, &'static str), (&'static str, &'static str)) {
        match self {
            ChannelKind::Email => (("Surel", "Email"), ("surat elektronik", "email")),
            ChannelKind::Sms => (("SMS", "SMS"), ("SMS", "SMS")),
            ChannelKind::Telegram => (("Telegram", "Telegram"), ("Telegram", "Telegram")),
            ChannelKind::Lapor => (("LAPOR!", "LAPOR!"), ("SP4N-LAPOR!", "SP4N-LAPOR!")),
            ChannelKind::Web => (("Web", "Web"), ("laman pengaduan", "the complaint website")),
            ChannelKind::Counter => (
                ("Loket", "Counter"),
                ("loket pelayanan", "the front-office counter"),
            ),
            ChannelKind::Whatsapp => (("WhatsApp", "WhatsApp"), ("WhatsApp", "WhatsApp")),
        }
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
    /// Every medium, in declaration order.
    pub fn iter() -> impl Iterator<Item = CounterMedium> + Clone {
        <CounterMedium as strum::IntoEnumIterator>::iter()
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for CounterMedium {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CounterMedium {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CounterMedium::iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                UnknownValue::new(
                    "medium",
                    s,
                    CounterMedium::iter().map(CounterMedium::as_str),
                )
            })
    }
}

/// The language a complainant is answered in, and officer pages are shown in. One type for
/// the register, the templates, the channels and the pages; Bahasa Indonesia by default.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Lang {
    #[default]
    Id,
    En,
}

impl Lang {
    /// `id` or `en`, as stored and as in `?lang=`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The text for this language out of an Indonesian/English pair.
    pub fn pick<T>(self, id: T, en: T) -> T {
        match self {
            Lang::Id => id,
            Lang::En => en,
        }
    }

    /// A language tag as a client sends it (`en`, `en-US`, `id_ID`): English for any `en`
    /// tag, Bahasa Indonesia otherwise.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Id
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lang {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Lang as strum::IntoEnumIterator>::iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownValue::new("language", s, ["id", "en"]))
    }
}

/// A stored or typed value that names no variant of a closed set.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {what} `{value}` (one of {known})")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    /// The names the set knows, comma-separated.
    pub known: String,
}

impl UnknownValue {
    pub fn new<'a>(
        what: &'static str,
        value: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        UnknownValue {
            what,
            value: value.chars().take(64).collect(),
            known: known.into_iter().collect::<Vec<_>>().join(", "),
        }
    }
}

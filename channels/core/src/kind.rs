//! The channels aduan knows, and how a complaint reached the counter.

use super::*;

/// The shape every closed set of stored names shares, said once: `iter()` over its values,
/// `as_str()` (the stored name), `Display` as that name, and `FromStr` that names the set and
/// what it knows on a miss ([`UnknownValue`]). The enum derives `strum::EnumIter` and
/// `strum::IntoStaticStr` (`serialize_all = "snake_case"`).
#[macro_export]
macro_rules! closed_set {
    ($t:ty, $what:literal) => {
        impl $t {
            /// Every value, in declaration order.
            pub fn iter() -> impl Iterator<Item = $t> + Clone {
                <$t as $crate::strum::IntoEnumIterator>::iter()
            }

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $t {
            type Err = $crate::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::iter().find(|v| v.as_str() == s).ok_or_else(|| {
                    $crate::UnknownValue::new($what, s, <$t>::iter().map(<$t>::as_str))
                })
            }
        }
    };
}

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

closed_set!(ChannelKind, "channel");

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

closed_set!(CounterMedium, "medium");

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

closed_set!(Lang, "language");

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

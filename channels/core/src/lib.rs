//! `aduan-channel`: what every channel adapter of aduan implements.
//!
//! A channel knows its protocol and nothing of the register. It turns what arrives into
//! [`InboundMessage`]s and hands each to the [`InboundSink`] of its [`ChannelContext`]; the sink
//! answers only after the message is durably committed, and only then may the adapter
//! acknowledge its source (IMAP flag, `AT+CMGD`, Telegram offset, LAPOR! cursor).
//! Replies come back as [`OutboundMessage`]s through [`Channel::send`], which returns a
//! provider receipt or a [`SendError`] that says whether a retry can help.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

mod address;
mod channel;
pub mod config;
mod kind;
mod mask;
mod message;
mod sink;
mod spec;
pub use address::{normalize_email, normalize_phone};
pub use channel::*;
pub use config::{is_loopback_host, Secret};
pub use http;
pub use kind::*;
pub use mask::{mask_address, Masked};
pub use message::*;
pub use sink::*;
pub use spec::{BuildContext, BuildError, ChannelSpec, Problem};
#[doc(hidden)]
pub use strum;

/// Compares two secrets in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
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
    fn domain_values_round_trip_through_their_stored_names() {
        for m in CounterMedium::iter() {
            assert_eq!(m.as_str().parse::<CounterMedium>().unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        assert_eq!(CounterMedium::ComplaintBox.as_str(), "complaint_box");
        for l in [Lang::Id, Lang::En] {
            assert_eq!(l.as_str().parse::<Lang>().unwrap(), l);
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }
        assert_eq!(Lang::default(), Lang::Id);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag(" EN_gb"), Lang::En);
        assert_eq!(Lang::from_tag("id-ID"), Lang::Id);
        assert_eq!(Lang::from_tag("jv"), Lang::Id);
        let e = "jawa".parse::<Lang>().unwrap_err().to_string();
        assert_eq!(e, "unknown language `jawa` (one of id, en)");
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

    /// `closed_set!`: a miss names the set, the value and every stored name it knows.
    #[test]
    fn an_unknown_name_says_what_is_known() {
        let e = "fax".parse::<ChannelKind>().unwrap_err();
        assert_eq!(e.what, "channel");
        for k in ChannelKind::iter() {
            assert!(e.known.contains(k.as_str()), "{e}");
        }
        assert!(
            e.to_string()
                .starts_with("unknown channel `fax` (one of email, sms"),
            "{e}"
        );
        let e = "surat".parse::<CounterMedium>().unwrap_err();
        assert_eq!(
            (e.what, e.known.as_str()),
            ("medium", "walk_in, telephone, letter, fax, complaint_box")
        );
        assert_eq!(Lang::En.to_string(), "en");
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
    async fn refused_messages_are_kept_without_files_then_raw() {
        let (ctx, sink) = ChannelContext::new_test();
        let mut m = InboundMessage::new(ChannelKind::Sms, "r1", Address::None, "x".repeat(5000));
        m.attachments.push(Attachment {
            filename: "a.bin".into(),
            content_type: "application/octet-stream".into(),
            data: vec![1; 10],
        });
        m.hints.conversation = Some("c".into());
        m.cursor = Some(("k".into(), "v".into()));
        // Refused once: registered without its files, flagged.
        sink.reject_next(1);
        assert!(submit_keeping_raw(ctx.sink.as_ref(), m.clone(), None)
            .await
            .unwrap()
            .is_some());
        let got = sink.messages().pop().unwrap();
        assert!(got.attachments.is_empty() && got.text.len() == 5000);
        assert!(got.parse_error.unwrap().contains("without files"));
        // Refused twice: only the raw source, text cut, conversation and cursor kept.
        m.external_id = "r2".into();
        sink.reject_next(2);
        let raw = vec![7u8; 300 * 1024];
        assert!(submit_keeping_raw(ctx.sink.as_ref(), m.clone(), Some(raw))
            .await
            .unwrap()
            .is_some());
        let got = sink.messages().pop().unwrap();
        assert_eq!(got.text.chars().count(), 1000);
        assert_eq!(got.raw.unwrap().len(), 256 * 1024);
        assert_eq!(got.hints.conversation.as_deref(), Some("c"));
        assert_eq!(got.cursor, Some(("k".into(), "v".into())));
        assert!(got.parse_error.unwrap().contains("raw source is kept"));
        // Refused three times: nothing, said so; a register that is down is an error.
        m.external_id = "r3".into();
        sink.reject_next(3);
        assert!(submit_keeping_raw(ctx.sink.as_ref(), m.clone(), None)
            .await
            .unwrap()
            .is_none());
        sink.fail_next(1);
        assert!(submit_keeping_raw(ctx.sink.as_ref(), m, None)
            .await
            .is_err());
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

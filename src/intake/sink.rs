//! `RegisterSink`: the register as channel adapters see it (`InboundSink`), and delivery
//! reports matched to the replies they name.

use super::*;

/// The sink adapters submit to: the register.
pub struct RegisterSink(pub Shared);

#[async_trait]
impl InboundSink for RegisterSink {
    async fn submit(&self, msg: InboundMessage) -> Result<Committed, SinkError> {
        submit(&self.0, msg).await.map_err(|IntakeError::Db(e)| {
            // A value the database refuses (SQLSTATE class 22, data exception; class 54, a
            // program limit such as an index row or tsvector too large) will be refused on
            // every retry: the adapter must store the message another way, not wait.
            let data = matches!(&e, sqlx::Error::Database(d)
                if d.code().is_some_and(|c| c.starts_with("22") || c.starts_with("54")));
            if data {
                SinkError::Rejected(e.to_string())
            } else {
                SinkError::Unavailable(e.to_string())
            }
        })
    }

    async fn load_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
    ) -> Result<Option<String>, SinkError> {
        register::intake::cursor(&self.0.db, channel, key)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn store_cursor(
        &self,
        channel: ChannelKind,
        key: &str,
        value: &str,
    ) -> Result<(), SinkError> {
        register::store_cursor(&self.0.db.write, channel, key, value, now_ms())
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn delivery_report(&self, report: DeliveryReport) -> Result<bool, SinkError> {
        delivery_report(&self.0, &report)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn is_registered(
        &self,
        channel: ChannelKind,
        external_id: &str,
    ) -> Result<bool, SinkError> {
        register::intake::is_registered(&self.0.db, channel, external_id)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn open_conversations(&self, channel: ChannelKind) -> Result<Vec<String>, SinkError> {
        register::intake::open_conversations(&self.0.db, channel)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }
}

/// How far from the provider's acceptance time (SMS TP-SCTS) a reported message may have been
/// sent; without that time, how old it may be.
pub(super) const REPORT_WINDOW_MS: i64 = 24 * 3_600_000;

pub(super) const REPORT_MAX_AGE_MS: i64 = 3 * 24 * 3_600_000;

/// Records a delivery report on the outbox row it names, with an audit entry; a failure is
/// flagged on the complaint for an officer. The row is found by the provider's receipt — for a
/// report that names its recipient and time (SMS), only a row to that recipient sent about
/// then, since SMS references wrap at 256 — else by our own message id. Both look-ups use an
/// index (`outbox_by_receipt`, `outbox_by_provider_msg_id`).
pub async fn delivery_report(core: &Core, r: &DeliveryReport) -> sqlx::Result<bool> {
    let window = match r.submitted_at {
        Some(t) => (
            t.timestamp_millis() - REPORT_WINDOW_MS,
            t.timestamp_millis() + REPORT_WINDOW_MS,
        ),
        None if r.recipient.is_some() => (now_ms() - REPORT_MAX_AGE_MS, i64::MAX),
        None => (i64::MIN, i64::MAX),
    };
    register::outbox::record_delivery(&core.db, r, window).await
}

pub fn sink(core: &Shared) -> Arc<dyn InboundSink> {
    Arc::new(RegisterSink(core.clone()))
}

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
        let row = sqlx::query("SELECT value FROM channel_cursors WHERE channel = $1 AND key = $2")
            .bind(channel.as_str())
            .bind(key)
            .fetch_optional(&self.0.db.pool)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))?;
        row.map(|r| r.try_get::<String, _>("value"))
            .transpose()
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
        sqlx::query("SELECT 1 FROM messages WHERE channel = $1 AND external_id = $2")
            .bind(channel.as_str())
            .bind(external_id)
            .fetch_optional(&self.0.db.pool)
            .await
            .map(|r| r.is_some())
            .map_err(|e| SinkError::Unavailable(e.to_string()))
    }

    async fn open_conversations(&self, channel: ChannelKind) -> Result<Vec<String>, SinkError> {
        let rows = sqlx::query(
            "SELECT conversation FROM complaints WHERE channel = $1 AND is_open = 1 \
             AND conversation IS NOT NULL AND conversation <> '' GROUP BY conversation ORDER BY MIN(id)",
        )
        .bind(channel.as_str())
        .fetch_all(&self.0.db.pool)
        .await
        .map_err(|e| SinkError::Unavailable(e.to_string()))?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("conversation"))
            .collect::<Result<_, _>>()
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
    let mut tx = core.db.begin().await?;
    let (from, to) = match r.submitted_at {
        Some(t) => (
            t.timestamp_millis() - REPORT_WINDOW_MS,
            t.timestamp_millis() + REPORT_WINDOW_MS,
        ),
        None if r.recipient.is_some() => (now_ms() - REPORT_MAX_AGE_MS, i64::MAX),
        None => (i64::MIN, i64::MAX),
    };
    let by_receipt = sqlx::query(
        "SELECT id, complaint_id FROM outbox WHERE channel = $1 AND receipt = $2 \
         AND ($3 = '' OR recipient = $3) AND COALESCE(sent_at, created_at) BETWEEN $4 AND $5 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(r.channel.as_str())
    .bind(&r.provider_ref)
    .bind(r.recipient.as_ref().map(|a| a.to_key()).unwrap_or_default())
    .bind(from)
    .bind(to)
    .fetch_optional(&mut *tx)
    .await?;
    // Not the receipt: another message of a reply (a long SMS's part, the letter after the
    // text), under the same conditions.
    let by_other = match by_receipt {
        Some(_) => None,
        None => sqlx::query(
            "SELECT o.id, o.complaint_id FROM outbox_receipts x JOIN outbox o ON o.id = x.outbox_id \
             WHERE x.channel = $1 AND x.provider_id = $2 AND ($3 = '' OR o.recipient = $3) \
             AND COALESCE(o.sent_at, o.created_at) BETWEEN $4 AND $5 ORDER BY o.id DESC LIMIT 1",
        )
        .bind(r.channel.as_str())
        .bind(&r.provider_ref)
        .bind(r.recipient.as_ref().map(|a| a.to_key()).unwrap_or_default())
        .bind(from)
        .bind(to)
        .fetch_optional(&mut *tx)
        .await?,
    };
    let row =
        match by_receipt.or(by_other) {
            Some(row) => Some(row),
            None => sqlx::query(
                "SELECT id, complaint_id FROM outbox WHERE channel = $1 AND provider_msg_id = $2 \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(r.channel.as_str())
            .bind(&r.provider_ref)
            .fetch_optional(&mut *tx)
            .await?,
        };
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(false);
    };
    let (id, cid): (i64, i64) = (row.try_get("id")?, row.try_get("complaint_id")?);
    sqlx::query(
        "UPDATE outbox SET delivery = $2, last_error = CASE WHEN $2 = 'failed' THEN $3 ELSE last_error END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(r.state.as_str())
    .bind(&r.detail)
    .execute(&mut *tx)
    .await?;
    let note = format!(
        "outbox {id} via {}: {} {}",
        r.channel,
        r.state.as_str(),
        r.detail
    );
    register::audit(
        &mut tx,
        Some(cid),
        None,
        "system",
        "delivery_report",
        None,
        None,
        note.trim(),
    )
    .await?;
    if r.state == aduan_channel::DeliveryState::Failed {
        sqlx::query("UPDATE complaints SET flagged = $2 WHERE id = $1")
            .bind(cid)
            .bind(format!(
                "reply not delivered via {}: {}",
                r.channel, r.detail
            ))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub fn sink(core: &Shared) -> Arc<dyn InboundSink> {
    Arc::new(RegisterSink(core.clone()))
}

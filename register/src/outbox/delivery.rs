//! Delivery reports recorded on the outbox row they name.

use aduan_channel::DeliveryReport;
use sqlx::Row;

use crate::audit::{self, Actor, AuditEvent, Entry};
use crate::db::Db;

/// Records a delivery report on the outbox row it names, with an audit entry; a failure is
/// flagged on the complaint for an officer. The row is found by the provider's receipt — for a
/// report that names its recipient, only a row to that recipient sent within `(from, to)`,
/// since SMS references wrap — else by another message id of the reply (`outbox_receipts`),
/// else by our own message id. False: no row matches.
pub async fn record_delivery(
    db: &Db,
    r: &DeliveryReport,
    (from, to): (i64, i64),
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
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
    let event = AuditEvent::DeliveryReport {
        outbox_id: id,
        channel: r.channel,
        state: r.state,
        detail: r.detail.trim().to_string(),
    };
    audit::write(
        &mut tx,
        &Entry::new(Some(cid), Actor::System, event, crate::db::now_ms()),
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

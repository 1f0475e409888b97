//! The outbox for officers: failed and waiting replies, retry.

use super::*;
use crate::register::outbox::{OutboxRow, OutboxStatus};

pub(super) fn outbox_json(o: &OutboxRow) -> Value {
    let mut v = json!({
        "id": o.id,
        "channel": o.channel,
        "recipient": o.recipient,
        "kind": o.kind,
        "status": o.status,
        "attempts": o.attempts,
        "last_error": o.last_error,
        "receipt": o.receipt,
        "delivery": o.delivery,
        "created_at": ms_to_rfc3339(o.created_at),
        "sent_at": o.sent_at.map(ms_to_rfc3339),
        "next_attempt_at": ms_to_rfc3339(o.next_attempt_at),
    });
    if let (Some(no), Value::Object(m)) = (&o.register_no, &mut v) {
        m.insert("register_no".into(), json!(no));
    }
    v
}

/// `GET /api/v1/outbox?status=failed`.
pub async fn outbox_list(
    State(st): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let status: OutboxStatus = match params.get("status") {
        None => OutboxStatus::Failed,
        Some(s) => s.parse().map_err(|_| {
            ApiError::Validation("`status` must be queued, sending, sent or failed".into())
        })?,
    };
    let rows = register::outbox::outbox_by_status(&st.core.db, status).await?;
    let items: Vec<Value> = rows.iter().map(outbox_json).collect();
    Ok(Json(json!({ "items": items })))
}

/// `POST /api/v1/outbox/{id}/retry`: a failed row back into the queue.
pub async fn outbox_retry(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "outbox row")?;
    if crate::outbox::retry_failed(&st.core, id, officer.actor()).await? {
        Ok(Json(json!({ "retried": id })))
    } else {
        Err(ApiError::Conflict(format!(
            "outbox row {id} does not exist or has not failed"
        )))
    }
}

//! The outbox for officers: failed and waiting replies, retry.

use super::*;

pub(super) fn outbox_json(o: &sqlx::any::AnyRow) -> Value {
    json!({
        "id": o.try_get::<i64, _>("id").unwrap_or_default(),
        "channel": o.try_get::<String, _>("channel").unwrap_or_default(),
        "recipient": o.try_get::<String, _>("recipient").unwrap_or_default(),
        "kind": o.try_get::<String, _>("kind").unwrap_or_default(),
        "status": o.try_get::<String, _>("status").unwrap_or_default(),
        "attempts": o.try_get::<i64, _>("attempts").unwrap_or_default(),
        "last_error": opt_str(o, "last_error"),
        "receipt": opt_str(o, "receipt"),
        "delivery": opt_str(o, "delivery"),
        "created_at": ms_to_rfc3339(o.try_get("created_at").unwrap_or(0)),
        "sent_at": o.try_get::<Option<i64>, _>("sent_at").ok().flatten().map(ms_to_rfc3339),
        "next_attempt_at": ms_to_rfc3339(o.try_get("next_attempt_at").unwrap_or(0)),
    })
}

/// `GET /api/v1/outbox?status=failed`.
pub async fn outbox_list(
    State(st): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let status = params.get("status").map(String::as_str).unwrap_or("failed");
    if !matches!(status, "queued" | "sending" | "sent" | "failed") {
        return Err(ApiError::Validation(
            "`status` must be queued, sending, sent or failed".into(),
        ));
    }
    let rows = sqlx::query(
        "SELECT o.id, o.channel, o.recipient, o.kind, o.status, o.attempts, o.last_error, o.receipt, o.delivery, \
         o.created_at, o.sent_at, o.next_attempt_at, c.register_no FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
         WHERE o.status = $1 ORDER BY o.id DESC LIMIT 500",
    )
    .bind(status)
    .fetch_all(&st.core.db.pool)
    .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = outbox_json(r);
            v["register_no"] = json!(r.try_get::<String, _>("register_no").unwrap_or_default());
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `POST /api/v1/outbox/{id}/retry`: a failed row back into the queue.
pub async fn outbox_retry(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "outbox row")?;
    if crate::outbox::retry_failed(&st.core, id, Some(officer.id), &officer.username).await? {
        Ok(Json(json!({ "retried": id })))
    } else {
        Err(ApiError::Conflict(format!(
            "outbox row {id} does not exist or has not failed"
        )))
    }
}

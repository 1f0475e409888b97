//! Provider calls: webhooks and verification handshakes, judged by the channel.

use super::*;

/// `GET|POST /hooks/{channel}`: a provider's call (a webhook push, a verification handshake).
/// The channel judges the head (method, headers, query) before a byte of the body is read, and
/// sets the body limit; a push is answered 200 only after what it carried is committed, so the
/// provider delivers again whatever failed.
pub async fn webhook(
    State(st): State<AppState>,
    Path(channel): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    use aduan_channel::{WebhookError, WebhookHead, WebhookReply, WebhookRequest};
    let kind: ChannelKind = channel
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no channel `{channel}`")))?;
    let ch = st
        .core
        .channels
        .get(kind)
        .ok_or_else(|| ApiError::NotFound(format!("the {kind} channel is not configured")))?
        .clone();
    let not_supported = || ApiError::NotFound(format!("the {kind} channel takes no webhook"));
    let refused = |e: WebhookError| match e {
        WebhookError::NotSupported => not_supported(),
        WebhookError::BadSignature => ApiError::BadSignature(e.to_string()),
        WebhookError::BadRequest(e) => ApiError::BadRequest(e),
        WebhookError::Unauthorized => ApiError::Forbidden(e.to_string()),
        WebhookError::Unavailable(e) => {
            tracing::warn!(channel = %kind, error = %e, "webhook call not committed");
            ApiError::Unavailable
        }
    };
    let (parts, body) = req.into_parts();
    let head = WebhookHead {
        method: &parts.method,
        headers: &parts.headers,
        query: parts.uri.query(),
    };
    ch.webhook_authorized(&head).map_err(refused)?;
    let limit = ch.webhook_body_limit();
    let too_large = || ApiError::TooLarge(format!("webhook body over {limit} bytes"));
    if crate::web::declares_more_than(&parts.headers, limit) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let sink = intake::sink(&st.core);
    match ch
        .webhook(&sink, WebhookRequest { head, body: &body })
        .await
        .map_err(refused)?
    {
        WebhookReply::Accepted => Ok((StatusCode::OK, Json(json!({"ok": true}))).into_response()),
        WebhookReply::Text(t) => Ok((
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            t,
        )
            .into_response()),
    }
}

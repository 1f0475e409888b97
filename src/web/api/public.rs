//! What a citizen may see of their complaint with its tracking code.

use super::*;

#[derive(Deserialize)]
pub struct TrackQuery {
    code: Option<String>,
}

/// What the public may see of a complaint: status, dates and published replies.
pub struct PublicStatus {
    pub register_no: String,
    pub status: crate::workflow::Status,
    pub status_text: String,
    pub received_at: String,
    pub due_date: String,
    pub overdue: bool,
    /// (time, text) of each reply published on the tracking page.
    pub replies: Vec<(String, String)>,
    /// The answer letter's number, when one was issued (downloadable from the page).
    pub letter: Option<String>,
    /// The citizen's verdict, once given.
    pub rating: Option<i64>,
    /// Closed after its answer, so the verdict may be given.
    pub rateable: bool,
}

/// The public status of a complaint, for whoever holds its register number and tracking code;
/// `None` when they do not match (the same answer as for a number that does not exist).
pub async fn public_status(
    st: &AppState,
    register_no: &str,
    code: &str,
) -> ApiResult<Option<PublicStatus>> {
    let Some(c) = tracked_complaint(st, register_no, code).await? else {
        return Ok(None);
    };
    let letter = register::letters::latest(&st.core.db, c.id, crate::letter::LetterKind::Answer)
        .await?
        .map(|l| l.number);
    let replies = register::published_replies(&st.core.db, c.id)
        .await?
        .into_iter()
        .map(|(at, text)| (ms_to_rfc3339(at), text))
        .collect();
    Ok(Some(PublicStatus {
        rating: c.rating,
        rateable: crate::workflow::verdict::open(&c, st.core.clock.now().timestamp_millis()),
        status_text: st.core.templates.status_text(c.lang, c.status),
        received_at: ms_to_rfc3339(c.received_at),
        overdue: is_overdue(&c, now_ms()),
        register_no: c.register_no,
        status: c.status,
        due_date: c.due_date,
        replies,
        letter,
    }))
}

/// The complaint for whoever holds its register number and tracking code; `None` when they
/// do not match (the same answer as for a number that does not exist).
pub async fn tracked_complaint(
    st: &AppState,
    register_no: &str,
    code: &str,
) -> ApiResult<Option<register::Complaint>> {
    let Some(c) =
        register::complaint_by_no(&st.core.db.pool, &register_no.trim().to_ascii_uppercase())
            .await?
    else {
        return Ok(None);
    };
    if !ct_eq(&c.tracking_code, &code.trim().to_ascii_uppercase()) {
        return Ok(None);
    }
    Ok(Some(c))
}

/// `GET /api/v1/track/{register_no}?code=…`: status for whoever holds both.
pub async fn track(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(register_no): Path<String>,
    Query(q): Query<TrackQuery>,
) -> ApiResult<Json<Value>> {
    if !st.track_limiter.check(client_ip(&st, peer, &headers)) {
        st.core.metrics.http_rejected();
        return Err(ApiError::RateLimited);
    }
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the tracking code is required: ?code=…".into()))?;
    let s = public_status(&st, &register_no, &code)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound("no complaint with this register number and tracking code".into())
        })?;
    let replies: Vec<Value> = s
        .replies
        .iter()
        .map(|(at, text)| json!({ "at": at, "text": text }))
        .collect();
    Ok(Json(json!({
        "register_no": s.register_no,
        "status": s.status,
        "status_text": s.status_text,
        "received_at": s.received_at,
        "due_date": s.due_date,
        "overdue": s.overdue,
        "replies": replies,
        "letter": s.letter,
        "rating": s.rating,
    })))
}

//! Complaints over the API: submit (public), counter intake and LAPOR! links (officers), list,
//! show, actions, replies, attachments.

use super::*;

/// `POST /api/v1/complaints`: the web channel.
pub async fn submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> ApiResult<Response> {
    if !st.core.channels.is_configured(ChannelKind::Web) {
        return Err(ApiError::NotFound("the web channel is disabled".into()));
    }
    let headers = req.headers().clone();
    if !st.limiter.check(client_ip(&st, peer, &headers)) {
        st.core.metrics.http_rejected();
        return Err(ApiError::RateLimited);
    }
    let Form {
        fields,
        files,
        _slot,
    } = read_form(&st, req).await?;
    let sub: Submission = parse_fields(fields)?;
    let mut msg = to_inbound(&st, ChannelKind::Web, sub, files)?;
    msg.external_id = external_id(&headers, "web", &msg)?;
    register_submission(&st, msg, None).await
}

/// `POST /api/v1/counter`: the front office types in a complaint.
pub async fn counter(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    req: Request,
) -> ApiResult<Response> {
    if !st.core.channels.is_configured(ChannelKind::Counter) {
        return Err(ApiError::NotFound("the counter channel is disabled".into()));
    }
    let headers = req.headers().clone();
    let Form {
        fields,
        files,
        _slot,
    } = read_form(&st, req).await?;
    let mut msg = counter_inbound(&st, parse_fields(fields)?, files)?;
    msg.external_id = external_id(&headers, "counter", &msg)?;
    register_submission(&st, msg, Some(&officer)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaporLink {
    tracking_id: String,
}

/// `POST /api/v1/lapor` `{"tracking_id": …}`: links a LAPOR! report to the register (a new
/// complaint on the `lapor` channel that the LAPOR! adapter then keeps in sync). Linking the
/// same report again answers 200 with the same register number.
pub async fn lapor_link(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    req: Request,
) -> ApiResult<Response> {
    let Form { fields, .. } = read_form(&st, req).await?;
    let body: LaporLink = parse_fields(fields)?;
    let msg = lapor_link_message(&st, &officer, &body.tracking_id).await?;
    register_submission(&st, msg, Some(&officer)).await
}

/// Open, unanswered and past its due date.
pub fn is_overdue(c: &Complaint, now: i64) -> bool {
    register::is_overdue(
        c.closed_at.is_none(),
        c.answered_at.is_some(),
        c.status,
        c.due_at,
        now,
    )
}

/// A complaint as the API shows it to a reader whose view of the complainant is `view`
/// ([`workflow::identity_view`]): for a reader who may not see who complained, the name and
/// address are left out and every text goes through the view.
fn complaint_json(c: &Complaint, now: i64, view: &IdentityView) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        if !view.sees() {
            m.insert("subject".into(), json!(view.text(&c.subject)));
            for (k, t) in [
                ("draft_answer", &c.draft_answer),
                ("instruction", &c.instruction),
                ("flagged", &c.flagged),
            ] {
                if let Some(t) = t {
                    m.insert(k.into(), json!(view.text(t)));
                }
            }
            if let Some(r) = &c.handed_over_to {
                m.insert("handed_over_to".into(), json!(view.name(r)));
            }
            m.insert("complainant_name".into(), json!(""));
            m.insert("reply_to".into(), json!(""));
        }
        m.insert("overdue".into(), json!(is_overdue(c, now)));
        m.insert("received".into(), json!(ms_to_rfc3339(c.received_at)));
    }
    v
}

/// [`complaint_json`] for an officer of `role` (the view read from the register).
async fn complaint_for(st: &AppState, c: &Complaint, role: workflow::Role) -> ApiResult<Value> {
    let view = workflow::identity_view(&st.core.db, c, role).await?;
    Ok(complaint_json(
        c,
        st.core.clock.now().timestamp_millis(),
        &view,
    ))
}

/// `GET /api/v1/complaints`: filters `status`, `channel`, `overdue`, `assignee`, `q`;
/// pagination `page` (from 1) and `per_page` (1-200).
pub async fn list(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let now = st.core.clock.now().timestamp_millis();
    let mut f = register::ComplaintFilter {
        now,
        ..Default::default()
    };
    let mut page = 1i64;
    let mut per_page = 50i64;
    for (k, v) in &params {
        match k.as_str() {
            "status" => {
                f.status = Some(v.parse().map_err(|e: aduan_channel::UnknownValue| ApiError::Validation(e.to_string()))?);
            }
            "channel" => {
                f.channel = Some(v.parse().map_err(|e: aduan_channel::UnknownValue| ApiError::Validation(e.to_string()))?);
            }
            "overdue" => {
                f.overdue = Some(match v.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::Validation("`overdue` must be true or false".into())),
                })
            }
            "assignee" => {
                f.assignee = Some(if v == "me" {
                    register::Assignee::Id(officer.id)
                } else {
                    register::Assignee::Username(v.clone())
                });
            }
            "q" => {
                f.text = Some(v.clone());
                f.identity = workflow::role_sees_identity(officer.role);
            }
            "page" => {
                page = v.parse().ok().filter(|p| (1..=1_000_000).contains(p)).ok_or_else(|| ApiError::Validation("`page` must be a number from 1 to 1000000".into()))?
            }
            "per_page" => {
                per_page = v
                    .parse()
                    .ok()
                    .filter(|p| (1..=200).contains(p))
                    .ok_or_else(|| ApiError::Validation("`per_page` must be a number from 1 to 200".into()))?
            }
            other => {
                return Err(ApiError::Validation(format!(
                    "unknown parameter `{other}` (status, channel, overdue, assignee, q, page, per_page)"
                )))
            }
        }
    }
    let listing = register::list_complaints(
        &st.core.db,
        &f,
        register::Page {
            number: page,
            size: per_page,
            count: true,
            ..Default::default()
        },
    )
    .await?;
    let mut items: Vec<Value> = Vec::with_capacity(listing.items.len());
    for l in &listing.items {
        items.push(complaint_for(&st, &l.complaint, officer.role).await?);
    }
    Ok(Json(
        json!({ "page": page, "per_page": per_page, "total": listing.total.unwrap_or(0), "items": items }),
    ))
}

/// `GET /api/v1/complaints/{register_no}`: the whole thread, attachments, audit and outbox.
pub async fn show(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(register_no): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = register::complaint_by_no(&st.core.db.pool, &register_no)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("complaint {register_no} not found")))?;
    let view = workflow::identity_view(&st.core.db, &c, officer.role).await?;
    let sees = view.sees();
    let file = register::case_file(&st.core.db, c.id).await?;
    let notes: Vec<Value> = register::workspace::notes_of(&st.core.db, c.id)
        .await?
        .into_iter()
        .map(|n| {
            let mut v = serde_json::to_value(&n).unwrap_or(Value::Null);
            v["body"] = json!(view.text(&n.body));
            v
        })
        .collect();
    let shown = |t: &str| view.text(t).into_owned();
    let thread: Vec<Value> = file
        .messages
        .iter()
        .map(|m| {
            let attachments: Vec<Value> = file
                .attachments_of(m.id)
                .map(|a| {
                    json!({
                        "id": a.id,
                        "filename": shown(&a.filename),
                        "content_type": a.content_type,
                        "size": a.size,
                        "sha256": a.sha256,
                    })
                })
                .collect();
            let delivery = file
                .delivery_of(m.id)
                .map(|o| json!({ "outbox_id": o.id, "status": o.status, "delivery": o.delivery }));
            json!({
                "id": m.id,
                "direction": m.direction,
                "channel": m.channel,
                "from_or_to": if sees { m.sender.as_str() } else { "" },
                "subject": shown(&m.subject),
                "body": shown(&m.body),
                "raw_sha256": m.raw_sha256,
                "provider_message_id": m.provider_message_id,
                "auto_generated": m.auto_generated,
                "parse_error": m.parse_error,
                "at": ms_to_rfc3339(m.created_at),
                "attachments": attachments,
                "outbox": delivery,
            })
        })
        .collect();
    let outbox: Vec<Value> = file
        .outbox
        .iter()
        .map(outbox_json)
        .map(|mut o| {
            if !sees {
                o["recipient"] = json!("");
            }
            o
        })
        .collect();
    let audit: Vec<Value> = file
        .audit
        .iter()
        .map(|a| {
            json!({
                "actor": a.actor,
                "action": a.event.name(),
                "event": masked_event(&a.event, &shown),
                "from": a.from_status,
                "to": a.to_status,
                "note": shown(&crate::web::words::audit::detail(&a.event, aduan_channel::Lang::En)),
                "at": ms_to_rfc3339(a.at),
            })
        })
        .collect();
    let documents: Vec<Value> = register::documents::of(&st.core.db, c.id)
        .await?
        .into_iter()
        .map(|d| {
            let mut v = serde_json::to_value(&d).unwrap_or(Value::Null);
            v["filename"] = json!(shown(&d.filename));
            v
        })
        .collect();
    let mut letters = Vec::new();
    for kind in crate::letter::LetterKind::iter() {
        if let Some(l) = register::letters::latest(&st.core.db, c.id, kind).await? {
            letters.push(json!({
                "kind": kind.as_str(),
                "number": l.number,
                "signer": l.signer,
                "issued_at": ms_to_rfc3339(l.issued_at),
                "url": format!("/api/v1/complaints/{}/letters/{}", c.register_no, kind.as_str()),
            }));
        }
    }
    let mut body = complaint_json(&c, st.core.clock.now().timestamp_millis(), &view);
    if let Value::Object(m) = &mut body {
        m.insert("notes".into(), json!(notes));
        m.insert("tracking_code".into(), json!(c.tracking_code));
        m.insert("documents".into(), json!(documents));
        m.insert("letters".into(), Value::Array(letters));
        m.insert("thread".into(), Value::Array(thread));
        m.insert("outbox".into(), Value::Array(outbox));
        m.insert("audit".into(), Value::Array(audit));
    }
    Ok(Json(body))
}

/// `POST /api/v1/complaints/{register_no}/actions`.
pub async fn action(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(register_no): Path<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    // JSON, or multipart with files (the BAP of record_field_review).
    let Form {
        fields,
        files,
        _slot,
    } = read_form(&st, req).await?;
    let req: ActionRequest = serde_json::from_value(fields).map_err(|e| {
        ApiError::Validation(format!(
            "{e} (actions: {})",
            workflow::Action::iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let c = workflow::apply(&st.core, &officer, &register_no, &req, &files).await?;
    Ok(Json(complaint_for(&st, &c, officer.role).await?))
}

/// `GET /api/v1/units`: the units a complaint may be disposed to.
pub async fn units(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "units": register::units::names(&st.core.db).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    text: String,
}

/// `POST /api/v1/complaints/{register_no}/replies`: JSON `{"text": …}` or multipart with files.
pub async fn reply(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(register_no): Path<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Form {
        fields,
        files,
        _slot,
    } = read_form(&st, req).await?;
    let body: ReplyBody = parse_fields(fields)?;
    let ids = workflow::reply(&st.core, &officer, &register_no, &body.text, &files).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": ids }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoverBody {
    recipient: String,
}

/// `POST /api/v1/complaints/{register_no}/handover`: `{"recipient": …}` — the answer was
/// handed over at the counter.
pub async fn handover(
    State(st): State<AppState>,
    Extension(officer): Extension<Officer>,
    Path(register_no): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: HandoverBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::Validation(e.to_string()))?;
    let c = workflow::record_handover(&st.core, &officer, &register_no, &req.recipient).await?;
    Ok(Json(complaint_for(&st, &c, officer.role).await?))
}

/// An audit event's fields for the API, every text in them as the caller's role may see it
/// (a confidential complainant's name hidden).
fn masked_event(e: &crate::register::audit::AuditEvent, shown: &dyn Fn(&str) -> String) -> Value {
    fn walk(v: &mut Value, shown: &dyn Fn(&str) -> String) {
        match v {
            Value::String(s) => *s = shown(s),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, shown)),
            Value::Object(o) => o
                .iter_mut()
                .filter(|(k, _)| k.as_str() != "event")
                .for_each(|(_, x)| walk(x, shown)),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    walk(&mut v, shown);
    v
}

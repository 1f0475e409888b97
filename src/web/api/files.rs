//! Files over the API and the officer pages (shared handlers, the reader's role from a token
//! or a session): attachments, documents and letters — each as the reader may see it (a
//! confidential complaint's letters and sent files refused to roles that may not see the
//! complainant, file names redacted) — served inert, or previewed under a CSP.

use super::*;

/// `GET /api/v1/documents/{id}` and `/kotak/dokumen/{id}`: one of the office's documents of a
/// complaint (a BAP), its name as the reader may read it.
pub async fn document(
    State(st): State<AppState>,
    reader: Reader,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "document")?;
    let stored = register::documents::file(&st.core.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("document {id} not found")))?;
    let view = file_view(&st, &stored.register_no, &reader).await?;
    let mut file = stored.file;
    file.filename = view.text(&file.filename).into_owned();
    Ok(download(file))
}

/// How `reader` reads the complaint a file belongs to.
async fn file_view(st: &AppState, register_no: &str, reader: &Reader) -> ApiResult<IdentityView> {
    let c = register::complaint_by_no(&st.core.db.pool, register_no)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("complaint {register_no} not found")))?;
    Ok(workflow::identity_view(&st.core.db, &c, reader.officer.role).await?)
}

/// The refusal of a letter or a sent file of a confidential complaint to a role that may not
/// see its complainant (the letter is addressed to them by name).
fn names_the_complainant(reader: &Reader, headers: &HeaderMap) -> Response {
    reader.refuse(
        headers,
        "Surat ini ditujukan kepada pengadu yang identitasnya dirahasiakan; hanya loket dan \
         pimpinan yang dapat membukanya.",
        "This letter is addressed to a complainant whose identity is confidential; only the \
         front office and the heads may open it.",
    )
}

/// `GET /api/v1/attachments/{id}` and `/kotak/lampiran/{id}`: served as a download with an
/// inert content type (`?tampil=1`: previewed, [`show_inline`]). Of a confidential complaint,
/// a role that may not see the complainant gets the complainant's files with their names
/// redacted, never a file the office sent them (an answer's letter names them).
pub async fn attachment(
    State(st): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "attachment")?;
    let stored = register::attachment_file(&st.core.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("attachment {id} not found")))?;
    let view = file_view(&st, &stored.register_no, &reader).await?;
    if !view.sees() && stored.outbound {
        return Ok(names_the_complainant(&reader, &headers));
    }
    let mut file = stored.file;
    file.filename = view.text(&file.filename).into_owned();
    Ok(if q.get("tampil").is_some_and(|v| v == "1") {
        show_inline(file)
    } else {
        download(file)
    })
}

/// Whether a stored content type is shown in the browser by [`show_inline`] (images and PDFs; every
/// other type is only downloaded).
pub fn previewable(content_type: &str) -> Option<&'static str> {
    match content_type.to_ascii_lowercase().as_str() {
        "image/png" => Some("image/png"),
        "image/jpeg" | "image/jpg" => Some("image/jpeg"),
        "image/gif" => Some("image/gif"),
        "image/webp" => Some("image/webp"),
        "application/pdf" => Some("application/pdf"),
        _ => None,
    }
}

/// A file shown in the browser (`?tampil=1`): images and PDFs inline, under a policy that runs
/// nothing (images in a CSP sandbox as well; Chromium's PDF viewer refuses to open in a
/// sandboxed document, so a PDF gets `default-src 'none'` and `nosniff` without the sandbox
/// token). Any other type is downloaded as by [`download`].
pub fn show_inline(file: aduan_channel::Attachment) -> Response {
    let Some(ct) = previewable(&file.content_type) else {
        return download(file);
    };
    let mut resp = file.data.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if ct == "application/pdf" {
            "default-src 'none'; object-src 'none'; frame-ancestors 'none'"
        } else {
            "sandbox; default-src 'none'; frame-ancestors 'none'"
        }),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    resp
}

/// `GET /api/v1/complaints/{register_no}/letters/{kind}` (`answer`, `invitation`) and
/// `/kotak/{register_no}/surat/{kind}`: the complaint's letter as issued, for printing at the
/// counter. A confidential complaint's letters name its complainant: refused to the roles
/// that may not see them.
pub async fn letter(
    State(st): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    Path((register_no, kind)): Path<(String, String)>,
) -> ApiResult<Response> {
    let kind = crate::letter::LetterKind::iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| ApiError::NotFound(format!("no letter kind `{kind}`")))?;
    let c = register::complaint_by_no(&st.core.db.pool, &register_no)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("complaint {register_no} not found")))?;
    if !workflow::sees_identity(&c, reader.officer.role) {
        return Ok(names_the_complainant(&reader, &headers));
    }
    let l = register::letters::latest(&st.core.db, c.id, kind)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("{register_no} has no {} letter", kind.as_str()))
        })?;
    Ok(download(aduan_channel::Attachment {
        filename: kind.filename(&c.register_no),
        content_type: "application/pdf".into(),
        data: l.pdf,
    }))
}

/// A stored file served as a download with an inert content type.
pub fn download(file: aduan_channel::Attachment) -> Response {
    let aduan_channel::Attachment {
        filename,
        content_type: ct,
        data,
    } = file;
    let safe_ct = match ct.to_ascii_lowercase().as_str() {
        c @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp" | "application/pdf"
        | "audio/ogg" | "audio/mpeg") => c.to_string(),
        c if c.starts_with("text/plain") => "text/plain; charset=utf-8".into(),
        _ => "application/octet-stream".into(),
    };
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&safe_ct)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // (`X-Content-Type-Options: nosniff` is on every answer: `web::router`.)
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline preview's headers: images in a sandbox, PDFs inline without scripts, anything
    /// else only downloaded.
    #[test]
    fn previews_are_inline_only_for_images_and_pdfs() {
        let file = |ct: &str| aduan_channel::Attachment {
            filename: "x".into(),
            content_type: ct.into(),
            data: b"data".to_vec(),
        };
        let r = show_inline(file("image/png"));
        assert_eq!(r.headers()["content-disposition"], "inline");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox"));
        let r = show_inline(file("application/pdf"));
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
        let r = show_inline(file("text/html"));
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(previewable("image/svg+xml"), None, "SVG can carry scripts");
    }
}

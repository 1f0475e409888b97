//! The unified inbox (`/kotak`): filters, paging, each role's queue.

use super::*;
use crate::workflow::Status;

/// The filter the inbox page's query asks for: `channel`, `status`, full-text `q`, `overdue`,
/// `assignee` (`me` or a user name) and `antrian=saya` ("my queue": what the officer's role can
/// act on now, or what is assigned to them).
pub fn inbox_filter(
    core: &crate::state::Core,
    q: &HashMap<String, String>,
    me: Option<&crate::workflow::Officer>,
    now: i64,
) -> crate::register::ComplaintFilter {
    use crate::register::{Assignee, ComplaintFilter};
    let given = |k: &str| q.get(k).filter(|v| !v.is_empty());
    let mut f = ComplaintFilter {
        channel: given("channel").and_then(|c| c.parse().ok()),
        status: given("status").and_then(|s| s.parse().ok()),
        overdue: (q.get("overdue").map(String::as_str) == Some("1")).then_some(true),
        text: given("q").cloned(),
        now,
        ..Default::default()
    };
    if let Some(me) = me {
        f.assignee = given("assignee").map(|a| {
            if a == "me" {
                Assignee::Id(me.id)
            } else {
                Assignee::Username(a.clone())
            }
        });
        if q.get("antrian").is_some_and(|v| v == "saya") {
            let mine = Status::iter()
                .filter(|s| !crate::workflow::available(core, *s, me.role).is_empty())
                .collect();
            f.queue = Some((me.id, mine));
        }
    }
    f
}

/// The inbox page's rows: the most recently registered first, 50 a page (`page`), filtered as
/// [`inbox_filter`] says. Public for the benchmark (`aduan-bench inbox`).
pub async fn inbox_rows(
    core: &crate::state::Core,
    q: &HashMap<String, String>,
    me: Option<&crate::workflow::Officer>,
) -> sqlx::Result<crate::register::Listing> {
    let page = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    crate::register::list_complaints(
        &core.db,
        &inbox_filter(core, q, me, now_ms()),
        crate::register::Page {
            number: page,
            size: 50,
            count: false,
        },
    )
    .await
}

/// `GET /kotak`: every channel in one list, newest first; filters by channel, status and text.
pub async fn inbox(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    let now = now_ms();
    let listing = match inbox_rows(&st.core, &q, Some(&s.officer)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "inbox");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let has_next = listing.has_next;
    let page_no: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let link = |page: i64| {
        let mut parts: Vec<String> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect();
        parts.sort();
        parts.push(format!("page={page}"));
        format!("/kotak?{}", parts.join("&"))
    };
    let sel = |k: &str| q.get(k).cloned().unwrap_or_default();
    let body = html! {
        h1 { (lang.pick("Kotak masuk", "Inbox")) }
        form method="get" action="/kotak" {
            select name="channel" aria-label=(lang.pick("Kanal", "Channel")) {
                option value="" { (lang.pick("Semua kanal", "All channels")) }
                @for k in aduan_channel::ChannelKind::iter() {
                    option value=(k.as_str()) selected[sel("channel") == k.as_str()] { (crate::web::words::channel(k, lang)) }
                }
            }
            " "
            select name="status" aria-label="Status" {
                option value="" { (lang.pick("Semua status", "All statuses")) }
                @for s in Status::iter() {
                    option value=(s) selected[sel("status") == s.as_str()] { (crate::web::words::status(s, lang)) }
                }
            }
            " "
            input type="search" name="q" value=(sel("q")) placeholder=(lang.pick("Cari…", "Search…"));
            " "
            label { input type="checkbox" name="overdue" value="1" checked[sel("overdue") == "1"]; (lang.pick(" terlambat", " overdue")) }
            " "
            label { input type="checkbox" name="assignee" value="me" checked[sel("assignee") == "me"]; (lang.pick(" ditugaskan ke saya", " assigned to me")) }
            " "
            button type="submit" { (lang.pick("Saring", "Filter")) }
            " "
            a href="/kotak?antrian=saya" { (lang.pick("Antrean saya", "My queue")) }
        }
        table {
            thead { tr {
                th { (lang.pick("Kanal", "Channel")) } th { (lang.pick("Nomor register", "Register no.")) }
                th { (lang.pick("Pengadu", "Complainant")) } th { (lang.pick("Perihal", "Subject")) }
                th { "Status" } th { (lang.pick("Petugas", "Assignee")) } th { (lang.pick("Diterima", "Received")) }
                th { (lang.pick("Batas waktu", "Due")) }
                th { (lang.pick("Batas langkah", "Step due")) }
            } }
            tbody {
                @for l in &listing.items {
                    @let c = &l.complaint;
                    @let overdue = crate::register::is_overdue(c.closed_at.is_none(), c.answered_at.is_some(), c.status, c.due_at, now);
                    tr class=[overdue.then_some("overdue")] {
                        td { (crate::web::words::channel(c.channel, lang)) }
                        td { a href=(format!("/kotak/{}", c.register_no)) { (c.register_no) } }
                        td { (c.complainant_name) }
                        td { (c.subject) }
                        td { (crate::web::words::status(c.status, lang)) }
                        td { (l.assignee_name.as_deref().unwrap_or_default()) }
                        td { (fmt_time(&st, c.received_at)) }
                        td { (c.due_date) @if overdue { " ⚠" } }
                        td.step-due {
                            @if let Some(d) = c.step_due_at {
                                (fmt_time(&st, d)) @if d < now { " ⚠" }
                            }
                        }
                    }
                }
            }
        }
        p.pages {
            @if page_no > 1 { a rel="prev" href=(link(page_no - 1)) { "← " (lang.pick("Sebelumnya", "Previous")) } " " }
            (lang.pick("Halaman", "Page")) " " (page_no)
            @if has_next { " " a rel="next" href=(link(page_no + 1)) { (lang.pick("Berikutnya", "Next")) " →" } }
        }
        details {
            summary { (lang.pick("Ganti kata sandi", "Change password")) }
            form method="post" action="/akun/sandi" {
                input type="hidden" name="csrf" value=(s.csrf);
                p { label { (lang.pick("Kata sandi sekarang", "Current password")) br; input type="password" name="current" autocomplete="current-password" required; } }
                p { label { (lang.pick("Kata sandi baru (min. 10)", "New password (min. 10)")) br; input type="password" name="new" autocomplete="new-password" minlength="10" required; } }
                button type="submit" { (lang.pick("Simpan", "Save")) }
            }
        }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, lang.pick("Kotak masuk", "Inbox"), Some(&s), body),
        vec![],
    )
}

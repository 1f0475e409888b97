//! The unified inbox (`/kotak`): filters, paging, each role's queue.

use super::*;

/// The inbox page's rows: the most recently registered first, 50, filtered by `channel`, `status` and full-text `q`.
/// Public for the benchmark (`aduan bench inbox`).
pub async fn inbox_rows(
    core: &crate::state::Core,
    q: &HashMap<String, String>,
    me: Option<&crate::workflow::Officer>,
) -> sqlx::Result<Vec<sqlx::any::AnyRow>> {
    use crate::db::Backend;
    use crate::register::Bind;
    const COLUMNS: &str = "c.register_no, c.channel, c.subject, c.status, c.received_at, \
         c.due_date, c.due_at, c.is_open, c.answered_at, p.name AS complainant, \
         o.display_name AS assignee";
    const JOINS: &str = "JOIN complainants p ON p.id = c.complainant_id \
         LEFT JOIN officers o ON o.id = c.assignee_id";
    let mut sql = String::from("1 = 1");
    let mut binds: Vec<Bind> = Vec::new();
    let mut searched = false;
    // SQLite: a search drives the query from FTS5, which hands out its matches newest first
    // and stops after the page (an `IN (…)` of all matches costs 130 ms for a word in every
    // one of 1M complaints, this 28 ms). CROSS JOIN keeps that loop order.
    let mut from = "complaints c".to_string();
    let mut order = "c.id";
    if let Some(ch) = q.get("channel").filter(|v| !v.is_empty()) {
        binds.push(Bind::S(ch.clone()));
        sql.push_str(&format!(" AND c.channel = ${}", binds.len()));
    }
    if let Some(status) = q.get("status").filter(|v| !v.is_empty()) {
        binds.push(Bind::S(status.clone()));
        sql.push_str(&format!(" AND c.status = ${}", binds.len()));
    }
    if let Some((cond, value)) = q
        .get("q")
        .and_then(|v| crate::register::text_search(core.db.backend, binds.len() + 1, v))
    {
        binds.push(Bind::S(value));
        searched = true;
        if core.db.backend == Backend::Sqlite {
            from = format!(
                "(SELECT rowid AS id FROM complaints_fts WHERE complaints_fts MATCH ${} \
                 ORDER BY rowid DESC) f CROSS JOIN complaints c ON c.id = f.id",
                binds.len()
            );
            order = "f.id";
        } else {
            sql.push_str(" AND ");
            sql.push_str(&cond);
        }
    }
    if q.get("overdue").is_some_and(|v| v == "1") {
        sql.push_str(" AND ");
        sql.push_str(&crate::register::overdue_sql(&now_ms().to_string()));
    }
    if let Some(me) = me {
        if let Some(a) = q.get("assignee").filter(|v| !v.is_empty()) {
            let id = if a == "me" {
                me.id.to_string()
            } else {
                String::new()
            };
            if id.is_empty() {
                binds.push(Bind::S(a.clone()));
                sql.push_str(&format!(
                    " AND c.assignee_id = (SELECT id FROM officers WHERE username = ${})",
                    binds.len()
                ));
            } else {
                sql.push_str(&format!(" AND c.assignee_id = {id}"));
            }
        }
        // "My queue": what the officer's role can act on now, or what is assigned to them.
        if q.get("antrian").is_some_and(|v| v == "saya") {
            let statuses: Vec<&str> = crate::workflow::Action::ALL
                .into_iter()
                .filter(|a| a.allowed(me.role))
                .flat_map(|a| a.transition().0.iter().copied())
                .collect();
            let list: Vec<String> = crate::workflow::STATUSES
                .iter()
                .filter(|s| statuses.contains(s))
                .map(|s| format!("'{s}'"))
                .collect();
            let in_list = if list.is_empty() {
                "''".to_string()
            } else {
                list.join(", ")
            };
            sql.push_str(&format!(
                " AND c.is_open = 1 AND (c.status IN ({in_list}) OR c.assignee_id = {})",
                me.id
            ));
        }
    }
    let page: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let offset = usize::try_from((page - 1) * 50).unwrap_or(0);
    let pool = &core.db.pool;
    if searched && core.db.backend == Backend::Postgres {
        if let Some(ids) =
            crate::register::few_matches(pool, q.get("q").map_or("", |v| v), &sql, &binds).await?
        {
            // One row more than a page tells whether there is a next one.
            let page_ids: Vec<String> = ids
                .iter()
                .skip(offset)
                .take(51)
                .map(i64::to_string)
                .collect();
            if page_ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT {COLUMNS} FROM complaints c {JOINS} WHERE c.id IN ({}) ORDER BY c.id DESC",
                page_ids.join(", ")
            );
            return sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await;
        }
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM {from} {JOINS} WHERE {sql} ORDER BY {order} DESC LIMIT 51 OFFSET {offset}"
    );
    crate::register::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &binds)
        .fetch_all(pool)
        .await
}

/// `GET /kotak`: every channel in one list, newest first; filters by channel, status and text.
pub async fn inbox(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers, &q);
    let now = now_ms();
    let mut rows = match inbox_rows(&st.core, &q, Some(&s.officer)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "inbox");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let has_next = rows.len() > 50;
    rows.truncate(50);
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
        h1 { (lang.t("Kotak masuk", "Inbox")) }
        form method="get" action="/kotak" {
            select name="channel" aria-label="channel" {
                option value="" { (lang.t("Semua kanal", "All channels")) }
                @for k in aduan_channel::ChannelKind::iter() {
                    option value=(k.as_str()) selected[sel("channel") == k.as_str()] { (k.as_str()) }
                }
            }
            " "
            select name="status" aria-label="status" {
                option value="" { (lang.t("Semua status", "All statuses")) }
                @for s in crate::workflow::STATUSES {
                    option value=(s) selected[sel("status") == *s] { (s) }
                }
            }
            " "
            input type="search" name="q" value=(sel("q")) placeholder=(lang.t("Cari…", "Search…"));
            " "
            label { input type="checkbox" name="overdue" value="1" checked[sel("overdue") == "1"]; (lang.t(" terlambat", " overdue")) }
            " "
            label { input type="checkbox" name="assignee" value="me" checked[sel("assignee") == "me"]; (lang.t(" ditugaskan ke saya", " assigned to me")) }
            " "
            button type="submit" { (lang.t("Saring", "Filter")) }
            " "
            a href="/kotak?antrian=saya" { (lang.t("Antrean saya", "My queue")) }
        }
        table {
            thead { tr {
                th { (lang.t("Kanal", "Channel")) } th { (lang.t("Nomor register", "Register no.")) }
                th { (lang.t("Pengadu", "Complainant")) } th { (lang.t("Perihal", "Subject")) }
                th { "Status" } th { (lang.t("Petugas", "Assignee")) } th { (lang.t("Diterima", "Received")) }
                th { (lang.t("Batas waktu", "Due")) }
            } }
            tbody {
                @for r in &rows {
                    @let open: i64 = r.try_get("is_open").unwrap_or(0);
                    @let answered: Option<i64> = r.try_get("answered_at").unwrap_or(None);
                    @let due_at: i64 = r.try_get("due_at").unwrap_or(i64::MAX);
                    @let overdue = crate::register::is_overdue(open == 1, answered.is_some(), due_at, now);
                    @let no = r.try_get::<String, _>("register_no").unwrap_or_default();
                    tr class=[overdue.then_some("overdue")] {
                        td { (r.try_get::<String, _>("channel").unwrap_or_default()) }
                        td { a href=(format!("/kotak/{no}")) { (no) } }
                        td { (r.try_get::<String, _>("complainant").unwrap_or_default()) }
                        td { (r.try_get::<String, _>("subject").unwrap_or_default()) }
                        td { (r.try_get::<String, _>("status").unwrap_or_default()) }
                        td { (r.try_get::<Option<String>, _>("assignee").unwrap_or(None).unwrap_or_default()) }
                        td { (fmt_time(&st, r.try_get("received_at").unwrap_or(0))) }
                        td { (r.try_get::<String, _>("due_date").unwrap_or_default()) @if overdue { " ⚠" } }
                    }
                }
            }
        }
        p.pages {
            @if page_no > 1 { a rel="prev" href=(link(page_no - 1)) { "← " (lang.t("Sebelumnya", "Previous")) } " " }
            (lang.t("Halaman", "Page")) " " (page_no)
            @if has_next { " " a rel="next" href=(link(page_no + 1)) { (lang.t("Berikutnya", "Next")) " →" } }
        }
        details {
            summary { (lang.t("Ganti kata sandi", "Change password")) }
            form method="post" action="/akun/sandi" {
                input type="hidden" name="csrf" value=(s.csrf);
                p { label { (lang.t("Kata sandi sekarang", "Current password")) br; input type="password" name="current" autocomplete="current-password" required; } }
                p { label { (lang.t("Kata sandi baru (min. 10)", "New password (min. 10)")) br; input type="password" name="new" autocomplete="new-password" minlength="10" required; } }
                button type="submit" { (lang.t("Simpan", "Save")) }
            }
        }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, lang.t("Kotak masuk", "Inbox"), Some(&s), body),
        vec![],
    )
}

//! The one query over complaints: [`ComplaintFilter`] and [`list_complaints`], used by the
//! inbox page, the API and the CLI, built with `sqlx::QueryBuilder` (every value bound).
//!
//! Full-text searches keep the plans the inbox benchmark measured at 1M complaints: on SQLite
//! the FTS5 match drives the query (newest first, stopping after the page); on PostgreSQL a
//! search with a rare word is answered from the GIN index first ([`few_matches`]).

use aduan_channel::ChannelKind;

use crate::domain::Status;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Row};

use super::{overdue_sql_bound, search_words, text_query, Complaint, COMPLAINT_COLUMNS};
use crate::db::{Backend, Db};

/// A query being built with every value bound, numbered `$1…$n`: what `sqlx::QueryBuilder`
/// would be, but `QueryBuilder` writes `?` placeholders, which PostgreSQL refuses
/// (sqlx issue #3000), so the register builds its own.
pub struct QueryBuilder {
    sql: String,
    args: Vec<Arg>,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(i: i64) -> Arg {
        Arg::Int(i)
    }
}

impl QueryBuilder {
    pub fn new(sql: impl Into<String>) -> QueryBuilder {
        QueryBuilder {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text (never a value).
    pub fn push(&mut self, sql: impl AsRef<str>) -> &mut Self {
        self.sql.push_str(sql.as_ref());
        self
    }

    /// Appends a placeholder and binds `v` to it.
    pub fn push_bind(&mut self, v: impl Into<Arg>) -> &mut Self {
        self.args.push(v.into());
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }

    /// The query, its values bound.
    pub fn build(&self) -> sqlx::query::Query<'_, Any, AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }

    /// The query mapping rows to `T`.
    pub fn build_query_as<T>(&self) -> sqlx::query::QueryAs<'_, Any, T, AnyArguments>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(self.sql.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Whose complaints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// An officer by id.
    Id(i64),
    /// An officer by user name.
    Username(String),
}

/// Which complaints. Every field narrows; the default is all of them.
#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    pub channel: Option<ChannelKind>,
    pub status: Option<Status>,
    /// Overdue ([`super::is_overdue`]) or not.
    pub overdue: Option<bool>,
    pub assignee: Option<Assignee>,
    /// "My queue" ([`Queue`]).
    pub queue: Option<Queue>,
    /// Whose read marks the listing carries ([`Listed::seen_at`]).
    pub reader: Option<i64>,
    /// Full-text search (words; the last also as a prefix).
    pub text: Option<String>,
    /// Whether the search also matches confidential complaints' complainant names: only for
    /// a reader whose role sees them (`workflow::sees_identity`). Off by default.
    pub identity: bool,
    /// The register's time, for "overdue".
    pub now: i64,
}

/// An officer's own queue: open complaints that are
/// - assigned to them, or
/// - disposed to a unit they are a member of and assigned to no one, or
/// - in a status their role acts on (`statuses`), unless assigned to another officer of the
///   same role (then it is theirs) or disposed to a unit this officer is not in (officers who
///   are in no unit — heads, the front office — are not held back by units).
#[derive(Debug, Clone)]
pub struct Queue {
    pub officer_id: i64,
    pub role: crate::domain::Role,
    pub statuses: Vec<Status>,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// The most recently registered first.
    #[default]
    Newest,
    /// Open complaints only, the nearest due date first.
    Due,
}

/// Which page, in which order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    /// 1-based.
    pub number: i64,
    pub size: i64,
    /// Count every match too (costs a second query).
    pub count: bool,
    /// Stop counting after this many (the count then says "more than"): keeps the count cheap
    /// on a register of a million complaints.
    pub count_cap: Option<i64>,
    pub order: Order,
}

/// A complaint as lists show it: the complaint and its assignee's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    #[sqlx(flatten)]
    pub complaint: Complaint,
    pub assignee_name: Option<String>,
    /// When the filter's reader last opened it (`None`: never, or no reader asked).
    pub seen_at: Option<i64>,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Listing {
    pub items: Vec<Listed>,
    /// Every match, when the page asked for a count.
    pub total: Option<i64>,
    /// Whether a further page has matches.
    pub has_next: bool,
}

const FROM_JOINS: &str = "JOIN complainants p ON p.id = c.complainant_id \
     LEFT JOIN officers o ON o.id = c.assignee_id";

impl ComplaintFilter {
    fn search(&self) -> Option<&str> {
        self.text.as_deref().filter(|t| !search_words(t).is_empty())
    }

    /// ` AND …` for every condition but the SQLite full-text one (which drives the query).
    fn push_conditions(&self, qb: &mut QueryBuilder, backend: Backend, with_text: bool) {
        if let Some(ch) = self.channel {
            qb.push(" AND c.channel = ")
                .push_bind(ch.as_str().to_string());
        }
        if let Some(s) = self.status {
            qb.push(" AND c.status = ")
                .push_bind(s.as_str().to_string());
        }
        match self.overdue {
            Some(true) => {
                qb.push(" AND ");
                overdue_sql_bound(qb, self.now);
            }
            Some(false) => {
                qb.push(" AND NOT ");
                overdue_sql_bound(qb, self.now);
            }
            None => {}
        }
        match &self.assignee {
            Some(Assignee::Id(id)) => {
                qb.push(" AND c.assignee_id = ").push_bind(*id);
            }
            Some(Assignee::Username(u)) => {
                qb.push(" AND c.assignee_id = (SELECT id FROM officers WHERE username = ")
                    .push_bind(u.clone())
                    .push(")");
            }
            None => {}
        }
        if let Some(q) = &self.queue {
            let me = q.officer_id;
            let my_units = format!("(SELECT unit_id FROM unit_members WHERE officer_id = {me})");
            qb.push(format!(
                " AND c.is_open = 1 AND (c.assignee_id = {me} \
                 OR (c.assignee_id IS NULL AND c.unit_id IN {my_units})"
            ));
            if !q.statuses.is_empty() {
                qb.push(" OR (c.status IN (");
                for (i, s) in q.statuses.iter().enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    qb.push_bind(s.as_str().to_string());
                }
                qb.push(
                    ") AND (c.assignee_id IS NULL OR NOT EXISTS (SELECT 1 FROM officers x \
                     WHERE x.id = c.assignee_id AND x.role = ",
                )
                .push_bind(q.role.as_str().to_string())
                .push(format!(
                    ")) AND (c.unit_id IS NULL OR c.unit_id IN {my_units} \
                     OR NOT EXISTS (SELECT 1 FROM unit_members m WHERE m.officer_id = {me})))"
                ));
            }
            qb.push(")");
        }
        if with_text {
            if let Some(t) = self.search() {
                qb.push(" AND ");
                text_query(qb, backend, t, self.identity);
            }
        }
    }
}

/// The complaints `f` selects, newest first, one page.
pub async fn list_complaints(db: &Db, f: &ComplaintFilter, page: Page) -> sqlx::Result<Listing> {
    let backend = db.backend;
    let pool = &db.pool;
    let size = page.size.clamp(1, 1000);
    let offset = (page.number.max(1) - 1) * size;
    let columns =
        format!("{COMPLAINT_COLUMNS}, o.display_name AS assignee_name, r.seen_at AS seen_at");
    let joins = format!(
        "{FROM_JOINS} LEFT JOIN complaint_reads r ON r.complaint_id = c.id AND r.officer_id = {}",
        f.reader.unwrap_or(0)
    );
    let search = f.search();
    if let (Some(q), Backend::Postgres, Order::Newest) = (search, backend, page.order) {
        if let Some(ids) = few_matches(db, q, f).await? {
            let mut listing = page_of_ids(pool, &columns, &joins, &ids, offset, size).await?;
            listing.total = page.count.then_some(ids.len() as i64);
            return Ok(listing);
        }
    }
    // SQLite: a search drives the query from FTS5, which hands out its matches newest first
    // and stops after the page (an `IN (…)` of all matches costs 130 ms for a word in every
    // one of 1M complaints, this 28 ms). CROSS JOIN keeps that loop order.
    let fts = matches!((search, backend), (Some(_), Backend::Sqlite));
    // SQLite, a search whose count stops at a cap the page lies within: one walk of the
    // matches, newest first, gives both the page's ids and the capped count (FTS5 builds a
    // prefix term's list once per query: twice would cost 2 × 35 ms for a word in every one of
    // 1M complaints).
    if let (true, Some(q), Order::Newest, Some(cap)) = (fts, search, page.order, page.count_cap) {
        if page.count && offset + size <= cap {
            let mut qb = QueryBuilder::new(
                "SELECT c.id FROM (SELECT rowid AS id FROM complaints_fts \
                 WHERE complaints_fts MATCH ",
            );
            qb.push_bind(super::fts_match(q, f.identity))
                .push(" ORDER BY rowid DESC) f CROSS JOIN complaints c ON c.id = f.id WHERE 1 = 1");
            f.push_conditions(&mut qb, backend, false);
            qb.push(" ORDER BY f.id DESC");
            qb.push(format!(" LIMIT {}", cap + 1));
            let ids: Vec<i64> = qb
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?;
            let mut listing = page_of_ids(pool, &columns, &joins, &ids, offset, size).await?;
            listing.total = Some(ids.len() as i64);
            return Ok(listing);
        }
    }
    let mut qb = QueryBuilder::new(format!("SELECT {columns} FROM "));
    if let (true, Some(q)) = (fts, search) {
        qb.push("(SELECT rowid AS id FROM complaints_fts WHERE complaints_fts MATCH ")
            .push_bind(super::fts_match(q, f.identity))
            .push(" ORDER BY rowid DESC) f CROSS JOIN complaints c ON c.id = f.id ");
    } else {
        qb.push("complaints c ");
    }
    qb.push(&joins).push(" WHERE 1 = 1");
    f.push_conditions(&mut qb, backend, !fts);
    qb.push(match (page.order, fts) {
        (Order::Due, _) => " AND c.is_open = 1 ORDER BY c.due_at, c.id",
        (Order::Newest, true) => " ORDER BY f.id DESC",
        (Order::Newest, false) => " ORDER BY c.id DESC",
    })
    // Literal numbers (ours), so PostgreSQL plans for the real limit.
    .push(format!(" LIMIT {} OFFSET {offset}", size + 1));
    let mut items = qb.build_query_as::<Listed>().fetch_all(pool).await?;
    let has_next = items.len() as i64 > size;
    items.truncate(size as usize);
    let total = if page.count && offset == 0 && !has_next {
        // The whole result is on this first page.
        Some(items.len() as i64)
    } else if page.count {
        // Counted the way the page was read (on SQLite a search driven from FTS5), and stopped
        // after the cap: "more than 1,000" costs what 1,001 matches cost.
        let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 AS one FROM ");
        if let (true, Some(q)) = (fts, search) {
            // As the page reads them: newest first, so the cap stops the walk.
            qb.push("(SELECT rowid AS id FROM complaints_fts WHERE complaints_fts MATCH ")
                .push_bind(super::fts_match(q, f.identity))
                .push(" ORDER BY rowid DESC) f CROSS JOIN complaints c ON c.id = f.id");
        } else {
            qb.push("complaints c");
        }
        qb.push(" WHERE 1 = 1");
        f.push_conditions(&mut qb, backend, !fts);
        if page.order == Order::Due {
            qb.push(" AND c.is_open = 1");
        }
        if let Some(cap) = page.count_cap {
            // PostgreSQL: in the page's order, so the planner takes the page's plan (walking
            // the index, stopping at the cap) instead of a common word's bitmap of 170k–1M
            // rows. SQLite keeps its own plan (its OR-of-indexes for "my queue" is 300 times
            // faster than the walk when the queue is small).
            if backend == Backend::Postgres {
                qb.push(match page.order {
                    Order::Due => " ORDER BY c.due_at, c.id",
                    Order::Newest => " ORDER BY c.id DESC",
                });
            }
            qb.push(format!(" LIMIT {}", cap.max(0) + 1));
        }
        qb.push(") counted");
        Some(qb.build().fetch_one(pool).await?.try_get::<i64, _>(0)?)
    } else {
        None
    };
    Ok(Listing {
        items,
        total,
        has_next,
    })
}

/// One page of complaints from the ids of every match (newest first): the rows of
/// `ids[offset..offset + size]`, and whether more follow. `total` is the caller's.
async fn page_of_ids(
    pool: &sqlx::AnyPool,
    columns: &str,
    joins: &str,
    ids: &[i64],
    offset: i64,
    size: i64,
) -> sqlx::Result<Listing> {
    let page_ids: Vec<String> = ids
        .iter()
        .skip(offset as usize)
        .take(size as usize)
        .map(i64::to_string)
        .collect();
    let mut items = Vec::new();
    if !page_ids.is_empty() {
        // The ids are the register's own integers, never input.
        let mut qb = QueryBuilder::new(format!(
            "SELECT {columns} FROM complaints c {joins} WHERE c.id IN ("
        ));
        qb.push(page_ids.join(", ")).push(") ORDER BY c.id DESC");
        items = qb.build_query_as::<Listed>().fetch_all(pool).await?;
    }
    Ok(Listing {
        items,
        total: None,
        has_next: ids.len() as i64 > offset + size,
    })
}

/// How many matches of a search still count as "few" (see [`few_matches`]).
pub const FEW_MATCHES: usize = 2_000;

/// PostgreSQL only: the ids of the complaints `f` selects, newest first, when its search has a
/// rare word and at most [`FEW_MATCHES`] complaints match; `None` otherwise (then the usual
/// query runs).
///
/// Why: for "the newest 50 that match", the planner walks the id index backwards and tests
/// each row whenever it believes matches are common — and for a word missing from its
/// statistics (a number, a name) it guesses 0.5–2 % of the table. When the true matches are
/// few and old, that walk reads most of the table (235 ms at 1M complaints). A word missing
/// from the statistics' most common elements is rare, so here the GIN index answers first,
/// through a bitmap scan that stops after `FEW_MATCHES + 1` rows. Searches made only of common
/// words keep the usual plan.
pub async fn few_matches(db: &Db, q: &str, f: &ComplaintFilter) -> sqlx::Result<Option<Vec<i64>>> {
    let pool = &db.pool;
    let mut words = search_words(q);
    let Some(last) = words.pop() else {
        return Ok(None);
    };
    // A short prefix stands for many words: never "rare".
    let prefix = if last.chars().count() >= 3 {
        last
    } else {
        String::new()
    };
    let rare: bool = sqlx::query_scalar(
        "SELECT COALESCE(( \
           SELECT NOT (string_to_array($1, ' ') <@ m) \
             OR ($2 <> '' AND NOT EXISTS (SELECT 1 FROM unnest(m) e WHERE starts_with(e, $2))) \
           FROM (SELECT most_common_elems::text::text[] AS m FROM pg_stats \
                 WHERE schemaname = current_schema() AND tablename = 'complaints' \
                 AND attname = 'search_tsv') s), true)",
    )
    .bind(words.join(" "))
    .bind(prefix)
    .fetch_one(pool)
    .await?;
    if !rare {
        return Ok(None);
    }
    let mut tx = pool.begin().await?;
    // Scoped to this transaction: only bitmap scans (GIN, and B-trees combined with it).
    sqlx::query(
        "SELECT set_config('enable_seqscan', 'off', true), \
         set_config('enable_indexscan', 'off', true)",
    )
    .execute(&mut *tx)
    .await?;
    let mut qb = QueryBuilder::new("SELECT c.id FROM complaints c WHERE 1 = 1");
    f.push_conditions(&mut qb, Backend::Postgres, true);
    qb.push(format!(" LIMIT {}", FEW_MATCHES + 1));
    let rows: Vec<AnyRow> = qb.build().fetch_all(&mut *tx).await?;
    tx.rollback().await?;
    if rows.len() > FEW_MATCHES {
        return Ok(None);
    }
    let mut ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<sqlx::Result<Vec<i64>>>()?;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    Ok(Some(ids))
}

//! The officers' workspace in the register: internal notes, canned replies (*template
//! balasan*), what each officer has opened (unread markers), units' members, taking and
//! assigning, and the complainant panel (proven identity, this complaint's contacts, earlier
//! complaints).

use aduan_channel::Address;

use super::Complaint;
use crate::db::{Db, Tx};
use crate::domain::Status;

/// An internal note: the office's words on a complaint, never sent, never published.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Note {
    pub id: i64,
    /// The writer's display name.
    pub officer: String,
    pub body: String,
    pub created_at: i64,
}

/// Adds an internal note.
pub async fn add_note(
    tx: &mut Tx,
    complaint_id: i64,
    officer_id: i64,
    body: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notes (complaint_id, officer_id, body, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(complaint_id)
    .bind(officer_id)
    .bind(body)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A complaint's internal notes, oldest first.
pub async fn notes_of(db: &Db, complaint_id: i64) -> sqlx::Result<Vec<Note>> {
    sqlx::query_as(
        "SELECT n.id, o.display_name AS officer, n.body, n.created_at FROM notes n \
         JOIN officers o ON o.id = n.officer_id WHERE n.complaint_id = $1 ORDER BY n.id",
    )
    .bind(complaint_id)
    .fetch_all(&db.pool)
    .await
}

/// A canned reply (*template balasan*): a title and a text with placeholders.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct CannedReply {
    pub id: i64,
    pub title: String,
    pub body: String,
}

/// Adds a canned reply, or replaces the text of the one with that title (made active again).
pub async fn save_canned(db: &Db, title: &str, body: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO canned_replies (title, body, active, created_at, updated_at) \
         VALUES ($1, $2, 1, $3, $3) ON CONFLICT (title) DO UPDATE SET body = excluded.body, \
         active = 1, updated_at = excluded.updated_at",
    )
    .bind(title.trim())
    .bind(body)
    .bind(now)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Withdraws a canned reply by title; `false` when there is no active one of that title.
pub async fn remove_canned(db: &Db, title: &str, now: i64) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE canned_replies SET active = 0, updated_at = $2 WHERE title = $1 AND active = 1",
    )
    .bind(title.trim())
    .bind(now)
    .execute(&db.write)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The active canned replies, by title.
pub async fn canned_replies(db: &Db) -> sqlx::Result<Vec<CannedReply>> {
    sqlx::query_as("SELECT id, title, body FROM canned_replies WHERE active = 1 ORDER BY title")
        .fetch_all(&db.pool)
        .await
}

/// Records that an officer opened a complaint now.
pub async fn mark_read(db: &Db, officer_id: i64, complaint_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO complaint_reads (officer_id, complaint_id, seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT (officer_id, complaint_id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(officer_id)
    .bind(complaint_id)
    .bind(now)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// The most the "new" count counts (pages then say "99+").
pub const NEW_COUNT_CAP: i64 = 100;

/// How many complaints wait for their first check (registered, open) that this officer has
/// never opened: the "new" count of the navigation and the page title, stopping at
/// [`NEW_COUNT_CAP`] (a backlog of thousands costs what a hundred cost).
pub async fn new_count(db: &Db, officer_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 AS one FROM complaints c \
         WHERE c.status = 'registered' AND c.is_open = 1 \
         AND NOT EXISTS (SELECT 1 FROM complaint_reads r \
                         WHERE r.complaint_id = c.id AND r.officer_id = $1) LIMIT 100) capped",
    )
    .bind(officer_id)
    .fetch_one(&db.pool)
    .await
}

/// Whether a complaint changed since the officer last opened it (or was never opened).
pub fn is_unread(seen_at: Option<i64>, updated_at: i64) -> bool {
    seen_at.is_none_or(|s| s < updated_at)
}

/// Makes an officer a member of a unit; `Ok(false)` when either is unknown or inactive.
pub async fn add_member(db: &Db, unit: &str, username: &str) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "INSERT INTO unit_members (unit_id, officer_id) \
         SELECT u.id, o.id FROM units u, officers o \
         WHERE u.name = $1 AND u.active = 1 AND o.username = $2 AND o.active = 1 \
         ON CONFLICT (unit_id, officer_id) DO NOTHING",
    )
    .bind(unit.trim())
    .bind(username.trim())
    .execute(&db.write)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(true);
    }
    // Already a member counts as done.
    let already: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM unit_members m JOIN units u ON u.id = m.unit_id \
         JOIN officers o ON o.id = m.officer_id WHERE u.name = $1 AND o.username = $2",
    )
    .bind(unit.trim())
    .bind(username.trim())
    .fetch_one(&db.pool)
    .await?;
    Ok(already > 0)
}

/// Removes an officer from a unit; `false` when they were not a member.
pub async fn remove_member(db: &Db, unit: &str, username: &str) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "DELETE FROM unit_members WHERE unit_id = (SELECT id FROM units WHERE name = $1) \
         AND officer_id = (SELECT id FROM officers WHERE username = $2)",
    )
    .bind(unit.trim())
    .bind(username.trim())
    .execute(&db.write)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The names of the active units an officer is a member of.
pub async fn units_of(db: &Db, officer_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT u.name FROM units u JOIN unit_members m ON m.unit_id = u.id \
         WHERE m.officer_id = $1 AND u.active = 1 ORDER BY u.name",
    )
    .bind(officer_id)
    .fetch_all(&db.pool)
    .await
}

/// Whether an officer is a member of the unit a complaint was disposed to.
pub async fn in_unit_of(tx: &mut Tx, officer_id: i64, complaint_id: i64) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM complaints c JOIN unit_members m ON m.unit_id = c.unit_id \
         WHERE c.id = $1 AND m.officer_id = $2",
    )
    .bind(complaint_id)
    .bind(officer_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Every active unit with its members' user names, by unit name.
pub async fn units_with_members(db: &Db) -> sqlx::Result<Vec<(String, Vec<String>)>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT u.name, o.username FROM units u \
         LEFT JOIN unit_members m ON m.unit_id = u.id \
         LEFT JOIN officers o ON o.id = m.officer_id AND o.active = 1 \
         WHERE u.active = 1 ORDER BY u.name, o.username",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (unit, member) in rows {
        if out.last().is_none_or(|(u, _)| *u != unit) {
            out.push((unit, Vec::new()));
        }
        if let (Some(m), Some(last)) = (member, out.last_mut()) {
            last.1.push(m);
        }
    }
    Ok(out)
}

/// Sets (or clears) a complaint's assignee without moving its status; `false` when the
/// complaint is closed.
pub async fn assign(
    tx: &mut Tx,
    complaint_id: i64,
    officer_id: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE complaints SET assignee_id = $2, updated_at = $3 WHERE id = $1 AND is_open = 1",
    )
    .bind(complaint_id)
    .bind(officer_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// An earlier complaint of the same complainant.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Earlier {
    pub register_no: String,
    pub subject: String,
    #[sqlx(try_from = "crate::db::Name<Status>")]
    pub status: Status,
    pub received_at: i64,
}

/// Who complained, as the complaint page's panel shows it.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// The addresses a channel proved for this complainant (their identity).
    pub identities: Vec<Address>,
    /// The contacts given with this one complaint (typed into a form, shared in a message).
    pub contacts: Vec<Address>,
    /// The complainant's other complaints, newest first (at most [`EARLIER_SHOWN`]).
    pub earlier: Vec<Earlier>,
    /// How many other complaints there are in all.
    pub earlier_total: i64,
}

/// How many earlier complaints the panel lists.
pub const EARLIER_SHOWN: i64 = 10;

/// The complainant panel of one complaint. Earlier complaints are those of the same
/// complainant record, which only a proven identity joins (see SECURITY.md): web and counter
/// complaints stand alone.
pub async fn panel(db: &Db, c: &Complaint) -> sqlx::Result<Panel> {
    let mut conn = db.pool.acquire().await?;
    let identities: Vec<String> = sqlx::query_scalar(
        "SELECT address FROM complainant_addresses WHERE complainant_id = $1 ORDER BY address",
    )
    .bind(c.complainant_id)
    .fetch_all(&mut *conn)
    .await?;
    let contacts = super::complaint_contacts(&mut conn, c.id).await?;
    let earlier = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT register_no, subject, status, received_at FROM complaints \
         WHERE complainant_id = $1 AND id <> $2 ORDER BY id DESC LIMIT {EARLIER_SHOWN}"
    )))
    .bind(c.complainant_id)
    .bind(c.id)
    .fetch_all(&mut *conn)
    .await?;
    let earlier_total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM complaints WHERE complainant_id = $1 AND id <> $2",
    )
    .bind(c.complainant_id)
    .bind(c.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Panel {
        identities: identities
            .iter()
            .map(|k| Address::from_key(k))
            .filter(|a| !a.is_none())
            .collect(),
        contacts,
        earlier,
        earlier_total,
    })
}

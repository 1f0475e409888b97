//! Officer accounts and their API tokens. A token is shown once when made; the register keeps
//! only its sha256 digest.

use rand::RngCore;
use serde::Serialize;

use crate::audit::{self, Actor, AuditEvent, Entry, OfficerChange};
use crate::db::{now_ms, Db, Tx};
use crate::domain::{Officer, Role};
use crate::sha256_hex;

#[derive(Debug, Serialize)]
pub struct OfficerRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
}

#[derive(sqlx::FromRow)]
struct Stored {
    id: i64,
    username: String,
    display_name: String,
    #[sqlx(try_from = "crate::db::Name<Role>")]
    role: Role,
    #[sqlx(try_from = "crate::db::IntFlag")]
    active: bool,
}

/// An officer's name as lists show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfficerName {
    pub username: String,
    pub display_name: String,
}

const OFFICER_COLUMNS: &str = "id, username, display_name, role";

#[derive(Debug, thiserror::Error)]
pub enum OfficerError {
    #[error("username must be 1-64 characters of a-z, 0-9, `.`, `_` or `-`")]
    BadUsername,
    #[error("officer `{0}` already exists")]
    Exists(String),
    #[error("no officer `{0}`")]
    NotFound(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("adn_{}", hex::encode(b))
}

/// Adds an officer; returns the new API token (shown once).
pub async fn add(
    db: &Db,
    username: &str,
    display_name: &str,
    role: Role,
) -> Result<String, OfficerError> {
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    {
        return Err(OfficerError::BadUsername);
    }
    let token = new_token();
    let mut tx = db.begin().await?;
    let res = sqlx::query(
        "INSERT INTO officers (username, display_name, role, token_hash, active, created_at) VALUES ($1, $2, $3, $4, 1, $5)",
    )
    .bind(username)
    .bind(if display_name.is_empty() { username } else { display_name })
    .bind(role.as_str())
    .bind(sha256_hex(token.as_bytes()))
    .bind(now_ms())
    .execute(&mut *tx)
    .await;
    match res {
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(OfficerError::Exists(username.into()))
        }
        other => other?,
    };
    let event = AuditEvent::OfficerAdded {
        username: username.into(),
        role,
    };
    audit::write(&mut tx, &Entry::new(None, Actor::Cli, event, now_ms())).await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn list(db: &Db) -> Result<Vec<OfficerRow>, sqlx::Error> {
    let rows: Vec<Stored> = sqlx::query_as(
        "SELECT id, username, display_name, role, active FROM officers ORDER BY username",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OfficerRow {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            active: r.active,
        })
        .collect())
}

/// The active officers, by user name (the disposition list).
pub async fn active_names(db: &Db) -> sqlx::Result<Vec<OfficerName>> {
    sqlx::query_as("SELECT username, display_name FROM officers WHERE active = 1 ORDER BY username")
        .fetch_all(&db.pool)
        .await
}

/// An officer's user name by id.
pub async fn username_of(db: &Db, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT username FROM officers WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// The active officer with this user name.
pub async fn active_by_username(db: &Db, username: &str) -> sqlx::Result<Option<Officer>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFICER_COLUMNS} FROM officers WHERE username = $1 AND active = 1"
    )))
    .bind(username)
    .fetch_optional(&db.pool)
    .await
}

/// The id of the active officer with this user name, read in `tx` (a disposition).
pub async fn active_id(tx: &mut Tx, username: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM officers WHERE username = $1 AND active = 1")
        .bind(username)
        .fetch_optional(&mut **tx)
        .await
}

/// The active officer holding this API token (tokens are stored as sha256 digests).
pub async fn active_by_token(db: &Db, token: &str) -> sqlx::Result<Option<Officer>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFICER_COLUMNS} FROM officers WHERE token_hash = $1 AND active = 1"
    )))
    .bind(sha256_hex(token.as_bytes()))
    .fetch_optional(&db.pool)
    .await
}

/// Gives an officer a new API token (shown once); the old one stops working at once.
pub async fn rotate_token(db: &Db, username: &str) -> Result<String, OfficerError> {
    let token = new_token();
    let sql = "UPDATE officers SET token_hash = $2 WHERE username = $1";
    update_one(
        db,
        username,
        sql,
        Some(sha256_hex(token.as_bytes())),
        OfficerChange::TokenRotated,
    )
    .await?;
    Ok(token)
}

/// Disables an officer: the token stops working at once.
pub async fn disable(db: &Db, username: &str) -> Result<(), OfficerError> {
    let sql = "UPDATE officers SET active = 0 WHERE username = $1";
    update_one(db, username, sql, None, OfficerChange::Disabled).await
}

/// Runs `sql` (`$1` = username, `$2` = `arg`) on one officer, with its audit entry.
async fn update_one(
    db: &Db,
    username: &str,
    sql: &'static str,
    arg: Option<String>,
    what: OfficerChange,
) -> Result<(), OfficerError> {
    let mut tx = db.begin().await?;
    let mut q = sqlx::query(sql).bind(username);
    if let Some(a) = arg {
        q = q.bind(a);
    }
    if q.execute(&mut *tx).await?.rows_affected() == 0 {
        return Err(OfficerError::NotFound(username.into()));
    }
    let event = AuditEvent::OfficerChanged {
        username: username.into(),
        what,
    };
    audit::write(&mut tx, &Entry::new(None, Actor::Cli, event, now_ms())).await?;
    tx.commit().await?;
    Ok(())
}

//! Officers' web sessions and the login throttle, as the register stores them. The rules
//! (limits, lifetimes, password checks) are in `crate::web::session`; only the SQL is here.

use crate::db::{Backend, Db};
use crate::domain::Officer;

/// Records one login attempt under every key, unless a key already holds `max` attempts since
/// `since`: true when recorded, false when throttled. Atomic across parallel attempts and
/// daemons: SQLite serializes writers; PostgreSQL takes a transaction lock shared by all.
/// Attempts older than `since` are forgotten in the same transaction.
pub async fn record_attempt(
    db: &Db,
    keys: &[(String, i64)],
    now: i64,
    since: i64,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(4242001)")
            .execute(&mut *tx)
            .await?;
    }
    for (k, max) in keys {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at > $2")
                .bind(k)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
        if n >= *max {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    for (k, _) in keys {
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
            .bind(k)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(since)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// An active officer's id and stored password hash (none until a password is set).
pub async fn password_of(db: &Db, username: &str) -> sqlx::Result<Option<(i64, Option<String>)>> {
    sqlx::query_as("SELECT id, password_hash FROM officers WHERE username = $1 AND active = 1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await
}

/// A new session after a right password, in one transaction: the attempts under `forgive`
/// (every attempt of those keys) and `forgive_one` (the attempt at `now` only) are dropped,
/// expired sessions are deleted, and the session is stored by its id's digest.
#[allow(clippy::too_many_arguments)]
pub async fn open_session(
    db: &Db,
    officer_id: i64,
    id_hash: &str,
    csrf: &str,
    now: i64,
    expires_at: i64,
    forgive: [&str; 2],
    forgive_one: &str,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM login_failures WHERE key = $1 OR key = $2 OR (key = $3 AND at = $4)")
        .bind(forgive[0])
        .bind(forgive[1])
        .bind(forgive_one)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, officer_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(officer_id)
    .bind(csrf)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Forgets a user name's login attempts, under its own key and from every address. Returns how
/// many were.
pub async fn forget_attempts(db: &Db, username: &str) -> sqlx::Result<u64> {
    let user = username.to_lowercase();
    let like = user
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let r = sqlx::query("DELETE FROM login_failures WHERE key = $1 OR key LIKE $2 ESCAPE '\\'")
        .bind(format!("user:{user}"))
        .bind(format!("pair:{like}@%"))
        .execute(&db.write)
        .await?;
    Ok(r.rows_affected())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    officer: Officer,
    csrf: String,
}

/// The active officer of an unexpired session, and its CSRF token.
pub async fn session(db: &Db, id_hash: &str, now: i64) -> sqlx::Result<Option<(Officer, String)>> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT o.id, o.username, o.display_name, o.role, s.csrf FROM sessions s \
         JOIN officers o ON o.id = s.officer_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND o.active = 1",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| (r.officer, r.csrf)))
}

pub async fn end_session(db: &Db, id_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&db.write)
        .await
        .map(|_| ())
}

/// Stores an officer's new password hash and ends every session of theirs; false when there is
/// no such officer.
pub async fn set_password_hash(db: &Db, username: &str, hash: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let n = sqlx::query("UPDATE officers SET password_hash = $2 WHERE username = $1")
        .bind(username)
        .bind(hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "DELETE FROM sessions WHERE officer_id = (SELECT id FROM officers WHERE username = $1)",
    )
    .bind(username)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The register's secret `name` (64 hex characters), made once by whichever daemon asks
/// first and then the same for every daemon on the register.
pub async fn secret(db: &Db, name: &str) -> sqlx::Result<String> {
    let fresh = {
        use rand::Rng;
        let bytes: [u8; 32] = rand::rng().random();
        hex::encode(bytes)
    };
    sqlx::query(
        "INSERT INTO register_secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(fresh)
    .bind(crate::db::now_ms())
    .execute(&db.pool)
    .await?;
    sqlx::query_scalar("SELECT value FROM register_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await
}

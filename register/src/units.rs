//! Units — the sections and teams a complaint is disposed to (*disposisi*) — and the
//! disposition's instruction.

use crate::db::{Db, Tx};

/// An active unit's id by name (case as written, surrounding space ignored).
pub async fn active_id(tx: &mut Tx, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM units WHERE name = $1 AND active = 1")
        .bind(name.trim())
        .fetch_optional(&mut **tx)
        .await
}

/// Adds a unit; `false` when one of that name exists.
pub async fn add(db: &Db, name: &str, now: i64) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "INSERT INTO units (name, active, created_at) VALUES ($1, 1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name.trim())
    .bind(now)
    .execute(&db.write)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The active units' names, sorted.
pub async fn names(db: &Db) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM units WHERE active = 1 ORDER BY name")
        .fetch_all(&db.pool)
        .await
}

/// The complaint goes to `unit_id` with `instruction`.
pub async fn dispose_to(
    tx: &mut Tx,
    complaint_id: i64,
    unit_id: i64,
    instruction: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE complaints SET unit_id = $2, instruction = $3 WHERE id = $1")
        .bind(complaint_id)
        .bind(unit_id)
        .bind(instruction)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The complaint goes to an officer alone, with `instruction` (no unit).
pub async fn dispose_to_officer(
    tx: &mut Tx,
    complaint_id: i64,
    instruction: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE complaints SET unit_id = NULL, instruction = $2 WHERE id = $1")
        .bind(complaint_id)
        .bind(instruction)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

//! The statements of channel presence (`channel_presence`): each daemon's heartbeat row per
//! channel it runs. What counts as live, and when a channel is forgotten, is the daemon's
//! (`aduan::presence`).

use aduan_channel::ChannelKind;
use sqlx::Row;

use crate::db::Db;

/// Every channel some daemon ran, with when it was last seen (unknown names skipped).
pub async fn seen(conn: &mut sqlx::AnyConnection) -> sqlx::Result<Vec<(ChannelKind, i64)>> {
    let rows = sqlx::query("SELECT channel, seen_at FROM channel_presence")
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let Ok(kind) = r.try_get::<String, _>("channel")?.parse::<ChannelKind>() {
            out.push((kind, r.try_get("seen_at")?));
        }
    }
    Ok(out)
}

/// Daemon `daemon` runs `channels`, seen at `now`.
pub async fn beat(db: &Db, channels: &[ChannelKind], daemon: &str, now: i64) -> sqlx::Result<()> {
    for k in channels {
        sqlx::query(
            "INSERT INTO channel_presence (channel, daemon, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (channel) DO UPDATE SET daemon = excluded.daemon, seen_at = excluded.seen_at",
        )
        .bind(k.as_str())
        .bind(daemon)
        .bind(now)
        .execute(&db.write)
        .await?;
    }
    Ok(())
}

/// Dates daemon `daemon`'s rows back to `at` (where they are newer); how many.
pub async fn age(db: &Db, daemon: &str, at: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("UPDATE channel_presence SET seen_at = $1 WHERE daemon = $2 AND seen_at > $1")
            .bind(at)
            .bind(daemon)
            .execute(&db.write)
            .await?
            .rows_affected(),
    )
}

/// Removes the rows last seen before `before`; how many.
pub async fn forget_before(db: &Db, before: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM channel_presence WHERE seen_at < $1")
            .bind(before)
            .execute(&db.write)
            .await?
            .rows_affected(),
    )
}

/// Outbox rows waiting to be sent, per channel.
pub async fn waiting_per_channel(
    conn: &mut sqlx::AnyConnection,
) -> sqlx::Result<Vec<(ChannelKind, i64)>> {
    let rows = sqlx::query(
        "SELECT channel, COUNT(*) AS n FROM outbox WHERE status IN ('queued', 'sending') \
         GROUP BY channel ORDER BY channel",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(k) = r.try_get::<String, _>("channel")?.parse::<ChannelKind>() {
            out.push((k, r.try_get("n")?));
        }
    }
    Ok(out)
}

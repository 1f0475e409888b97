//! The citizen's verdict as the register keeps it (`workflow::verdict` decides): when it was
//! asked, the first answer, and the survey's figures.

use aduan_channel::ChannelKind;

use crate::db::{Db, Tx};

/// The question went out.
pub async fn asked(tx: &mut Tx, complaint_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE complaints SET rating_asked_at = $2 WHERE id = $1")
        .bind(complaint_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What became of a verdict given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// It is the complaint's verdict.
    Kept,
    /// A verdict was recorded before (this one, read after the write): it stands.
    FirstStands(i64),
}

/// Records the verdict unless one is recorded; otherwise says which verdict stands, as the
/// register holds it after this write (a verdict given at the same moment by another request
/// is the one read here, never a value read before).
pub async fn record(
    tx: &mut Tx,
    complaint_id: i64,
    rating: i64,
    channel: ChannelKind,
    now: i64,
) -> sqlx::Result<Recorded> {
    let n = sqlx::query(
        "UPDATE complaints SET rating = $2, rated_at = $3, rating_channel = $4 \
         WHERE id = $1 AND rating IS NULL",
    )
    .bind(complaint_id)
    .bind(rating)
    .bind(now)
    .bind(channel.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(Recorded::Kept);
    }
    let first: Option<i64> = sqlx::query_scalar("SELECT rating FROM complaints WHERE id = $1")
        .bind(complaint_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Recorded::FirstStands(first.unwrap_or_default()))
}

/// The complaint of `complainant_id` whose question a reply answers: the one whose outbound
/// message (on `channel`) the reply names in `references` (email `In-Reply-To`/`References`,
/// Telegram's reply target), newest reference first, asked since `since`.
pub async fn asked_by_reply(
    tx: &mut Tx,
    channel: ChannelKind,
    references: &[String],
    complainant_id: i64,
    since: i64,
) -> sqlx::Result<Option<String>> {
    for r in references.iter().rev().take(20) {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT c.register_no FROM messages m JOIN complaints c ON c.id = m.complaint_id \
             WHERE m.channel = $1 AND m.provider_message_id = $2 AND m.direction = 'out' \
             AND c.complainant_id = $3 AND c.rating_asked_at IS NOT NULL \
             AND c.rating_asked_at >= $4 LIMIT 1",
        )
        .bind(channel.as_str())
        .bind(r)
        .bind(complainant_id)
        .bind(since)
        .fetch_optional(&mut **tx)
        .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The complaint of `complainant_id` whose verdict was asked last, since `since`.
pub async fn asked_of(
    tx: &mut Tx,
    complainant_id: i64,
    since: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT register_no FROM complaints WHERE complainant_id = $1 \
         AND rating_asked_at IS NOT NULL AND rating_asked_at >= $2 \
         ORDER BY rating_asked_at DESC, id DESC LIMIT 1",
    )
    .bind(complainant_id)
    .bind(since)
    .fetch_optional(&mut **tx)
    .await
}

/// One verdict, for the survey's figures.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Verdict {
    pub channel: String,
    pub rating: i64,
    pub rated_at: i64,
}

/// The verdicts given in `[from, to)`.
pub async fn given_between(db: &Db, from: i64, to: i64) -> sqlx::Result<Vec<Verdict>> {
    sqlx::query_as(
        "SELECT channel, rating, rated_at FROM complaints \
         WHERE rating IS NOT NULL AND rated_at >= $1 AND rated_at < $2 ORDER BY rated_at",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await
}

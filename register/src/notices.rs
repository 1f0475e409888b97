//! Officers' own notifications in the register: who asked for them and where, the ledger that
//! makes each notice once, and the notice queued through the outbox (a hidden message of the
//! complaint it is about: never in the thread, never published, never threaded into).

use aduan_channel::{Address, ChannelKind};

use crate::db::{Db, Tx};
use crate::domain::Role;

/// An officer who asked for notifications.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subscriber {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[sqlx(try_from = "crate::db::Name<Role>")]
    pub role: Role,
    pub notify_email: Option<String>,
    pub notify_telegram: Option<String>,
    /// Nothing registered before this is announced as new.
    pub notify_since: i64,
}

impl Subscriber {
    /// Where this officer's notices go.
    pub fn targets(&self) -> Vec<(ChannelKind, Address)> {
        let mut out = Vec::new();
        if let Some(e) = self.notify_email.as_deref().filter(|e| !e.is_empty()) {
            out.push((ChannelKind::Email, Address::Email(e.to_string())));
        }
        if let Some(chat) = self
            .notify_telegram
            .as_deref()
            .and_then(|t| t.trim().parse::<i64>().ok())
        {
            out.push((ChannelKind::Telegram, Address::TelegramChat(chat)));
        }
        out
    }
}

/// The active officers with a notification address.
pub async fn subscribers(db: &Db) -> sqlx::Result<Vec<Subscriber>> {
    sqlx::query_as(
        "SELECT id, username, display_name, role, notify_email, notify_telegram, \
         COALESCE(notify_since, 0) AS notify_since FROM officers \
         WHERE active = 1 AND (notify_email IS NOT NULL OR notify_telegram IS NOT NULL) ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
}

/// An officer's notification addresses: the confirmed ones (notices go there) and those
/// waiting for their code.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Prefs {
    pub email: Option<String>,
    pub telegram: Option<String>,
    pub pending_email: Option<String>,
    pub pending_telegram: Option<String>,
}

/// An officer's notification addresses.
pub async fn prefs(db: &Db, officer_id: i64) -> sqlx::Result<Prefs> {
    sqlx::query_as(
        "SELECT notify_email AS email, notify_telegram AS telegram, \
         notify_pending_email AS pending_email, notify_pending_telegram AS pending_telegram \
         FROM officers WHERE id = $1",
    )
    .bind(officer_id)
    .fetch_one(&db.pool)
    .await
}

/// How many wrong codes void a pending address.
pub const MAX_CODE_TRIES: i64 = 5;

/// New addresses waiting for the code sent to them (its sha256), until `expires`.
pub async fn set_pending(
    db: &Db,
    officer_id: i64,
    email: Option<&str>,
    telegram: Option<&str>,
    code_sha256: &str,
    expires: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE officers SET notify_pending_email = $2, notify_pending_telegram = $3, \
         notify_code_sha256 = $4, notify_code_expires = $5, notify_code_tries = 0 WHERE id = $1",
    )
    .bind(officer_id)
    .bind(email)
    .bind(telegram)
    .bind(code_sha256)
    .bind(expires)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// What a typed code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The waiting addresses are the officer's notification addresses now.
    Confirmed,
    Wrong,
    /// Expired, or too many wrong codes: the waiting addresses are dropped.
    Expired,
    NothingWaiting,
}

/// Confirms the waiting addresses with `code_sha256` (one transaction; wrong tries counted).
pub async fn confirm(
    db: &Db,
    officer_id: i64,
    code_sha256: &str,
    now: i64,
) -> sqlx::Result<Confirmation> {
    let mut tx = db.begin().await?;
    let row: Option<(Option<String>, Option<i64>, i64)> = sqlx::query_as(
        "SELECT notify_code_sha256, notify_code_expires, notify_code_tries FROM officers \
         WHERE id = $1 AND (notify_pending_email IS NOT NULL OR notify_pending_telegram IS NOT NULL)",
    )
    .bind(officer_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((Some(want), Some(expires), tries)) = row else {
        return Ok(Confirmation::NothingWaiting);
    };
    let clear = "notify_pending_email = NULL, notify_pending_telegram = NULL, \
                 notify_code_sha256 = NULL, notify_code_expires = NULL, notify_code_tries = 0";
    let outcome = if expires < now || tries >= MAX_CODE_TRIES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE officers SET {clear} WHERE id = $1"
        )))
        .bind(officer_id)
        .execute(&mut *tx)
        .await?;
        Confirmation::Expired
    } else if super::ct_eq(&want, code_sha256) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE officers SET notify_email = COALESCE(notify_pending_email, notify_email), \
             notify_telegram = COALESCE(notify_pending_telegram, notify_telegram), \
             notify_since = COALESCE(notify_since, $2), {clear} WHERE id = $1"
        )))
        .bind(officer_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Confirmation::Confirmed
    } else {
        sqlx::query("UPDATE officers SET notify_code_tries = notify_code_tries + 1 WHERE id = $1")
            .bind(officer_id)
            .execute(&mut *tx)
            .await?;
        Confirmation::Wrong
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Sets an officer's notification addresses (`None`: off). Turning them on starts the
/// "since" clock: complaints registered before are not announced.
pub async fn set_prefs(
    db: &Db,
    officer_id: i64,
    email: Option<&str>,
    telegram: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let on = email.is_some() || telegram.is_some();
    sqlx::query(
        "UPDATE officers SET notify_email = $2, notify_telegram = $3, \
         notify_since = CASE WHEN $4 = 0 THEN NULL ELSE COALESCE(notify_since, $5) END WHERE id = $1",
    )
    .bind(officer_id)
    .bind(email)
    .bind(telegram)
    .bind(on as i64)
    .bind(now)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Records that `officer_id` is told `kind` about `complaint_id`; `false` when they were told
/// already (by this daemon or another).
pub async fn claim(
    tx: &mut Tx,
    officer_id: i64,
    complaint_id: i64,
    kind: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "INSERT INTO officer_notices (officer_id, complaint_id, kind, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (officer_id, complaint_id, kind) DO NOTHING",
    )
    .bind(officer_id)
    .bind(complaint_id)
    .bind(kind)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// What an officer was already told about these complaints, as (complaint id, kind): the
/// sweep skips them without opening a write transaction for each.
pub async fn told_about(
    db: &Db,
    officer_id: i64,
    complaint_ids: &[i64],
) -> sqlx::Result<std::collections::HashSet<(i64, String)>> {
    if complaint_ids.is_empty() {
        return Ok(Default::default());
    }
    // The ids are the register's own integers, never input.
    let list: Vec<String> = complaint_ids.iter().map(i64::to_string).collect();
    let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT complaint_id, kind FROM officer_notices WHERE officer_id = $1 \
         AND complaint_id IN ({})",
        list.join(", ")
    )))
    .bind(officer_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Whether an officer was given a notice of `kind` about any complaint (the daily digest).
pub async fn told(db: &Db, officer_id: i64, kind: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM officer_notices WHERE officer_id = $1 AND kind = $2",
    )
    .bind(officer_id)
    .bind(kind)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// Queues one notice to one address: a hidden message of the complaint and its outbox row
/// (due now by the wall clock, as every outbox row).
pub async fn enqueue(
    tx: &mut Tx,
    complaint_id: i64,
    channel: ChannelKind,
    to: &Address,
    subject: &str,
    body: &str,
    message_id_domain: &str,
) -> sqlx::Result<i64> {
    let now = crate::db::now_ms();
    let msg: i64 = sqlx::query_scalar(
        "INSERT INTO messages (complaint_id, direction, channel, sender, subject, body, \
         auto_generated, public, created_at) VALUES ($1, 'out', $2, $3, $4, $5, 1, 0, $6) RETURNING id",
    )
    .bind(complaint_id)
    .bind(channel.as_str())
    .bind(to.to_key())
    .bind(subject)
    .bind(body)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let provider_msg_id = format!(
        "<notice.{now}.{msg}.{}@{message_id_domain}>",
        super::tracking_code().to_lowercase()
    );
    sqlx::query_scalar(
        "INSERT INTO outbox (complaint_id, message_id, channel, recipient, kind, subject, body, \
         provider_msg_id, refs, automatic, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '[]', 1, 'queued', 0, $9, $9) RETURNING id",
    )
    .bind(complaint_id)
    .bind(msg)
    .bind(channel.as_str())
    .bind(to.to_key())
    .bind(crate::domain::OutboxKind::OfficerNotice.as_str())
    .bind(subject)
    .bind(body)
    .bind(provider_msg_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// The day's figures of the heads' digest.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct DigestCounts {
    /// Registered in the last day.
    pub new: i64,
    pub overdue: i64,
    pub due_tomorrow: i64,
    /// Drafts waiting for approval.
    pub waiting_approval: i64,
}

/// The digest's figures at `now` (`tomorrow`: the office-local date of tomorrow).
pub async fn digest_counts(db: &Db, now: i64, tomorrow: &str) -> sqlx::Result<DigestCounts> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT \
           (SELECT COUNT(*) FROM complaints WHERE received_at >= $1 - 86400000) AS new, \
           (SELECT COUNT(*) FROM complaints c WHERE {}) AS overdue, \
           (SELECT COUNT(*) FROM complaints WHERE is_open = 1 AND answered_at IS NULL \
              AND status <> 'incomplete' AND due_date = $2) AS due_tomorrow, \
           (SELECT COUNT(*) FROM complaints WHERE status = 'answer_drafted') AS waiting_approval",
        super::overdue_sql("$1")
    )))
    .bind(now)
    .bind(tomorrow)
    .fetch_one(&db.pool)
    .await
}

/// The overdue complaints the digest lists (most overdue first, at most `n`), as
/// (id, register number, subject, due date, confidential).
pub async fn most_overdue(
    db: &Db,
    now: i64,
    n: i64,
) -> sqlx::Result<Vec<(i64, String, String, String, bool)>> {
    let rows: Vec<(i64, String, String, String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.register_no, c.subject, c.due_date, c.confidential FROM complaints c \
         WHERE {} ORDER BY c.due_at, c.id LIMIT {n}",
            super::overdue_sql("$1")
        )))
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, no, subject, due, conf)| (id, no, subject, due, conf != 0))
        .collect())
}

/// The newest complaint's id (the digest's anchor when nothing is overdue).
pub async fn newest_id(db: &Db) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT MAX(id) FROM complaints")
        .fetch_one(&db.pool)
        .await
}

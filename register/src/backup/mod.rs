//! Backups of a live register and their restore. SQLite: `VACUUM INTO` — one consistent
//! snapshot taken through SQLite itself while the daemon keeps writing (never a `cp` of a WAL
//! database). PostgreSQL: `pg_dump --format=custom` (a consistent snapshot of one transaction)
//! and `pg_restore`. Attachments and raw sources live in the register, so a backup holds them.

use std::path::{Path, PathBuf};

use sqlx::Row;

use crate::db::{Backend, ConnectOptions, Db};

mod pg;
pub use pg::PgTarget;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already; choose a new file name (a backup never overwrites)")]
    Exists(PathBuf),
    #[error("{path} is not a usable backup: {why}")]
    Unusable { path: PathBuf, why: String },
    #[error(
        "a daemon is running on this register (channel heartbeat {age_secs} s ago): stop it \
         (`systemctl stop aduan`) before restoring; nothing was changed"
    )]
    Running { age_secs: i64 },
    #[error(
        "{} belongs to user {uid}; restore it as that user (e.g. `runuser -u aduan -- \
         aduan restore …`) or as root: {why}",
        path.display()
    )]
    Owner {
        path: PathBuf,
        uid: u32,
        why: std::io::Error,
    },
    #[error("{tool} failed: {message}")]
    Tool { tool: &'static str, message: String },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Register(#[from] crate::db::DbError),
}

/// What a backup holds (from `verify`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub complaints: i64,
    pub messages: i64,
    pub attachments: i64,
    pub blobs: i64,
    pub schema: i64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} complaints, {} messages, {} attachments ({} stored files), schema {:04}",
            self.complaints, self.messages, self.attachments, self.blobs, self.schema
        )
    }
}

/// Takes a consistent copy of the live register `db` (its URL `url`) into `file`, then reads
/// the copy back whole ([`verify`]): what it returns is what the copy holds.
pub async fn backup(db: &Db, url: &str, file: &Path) -> Result<Summary, BackupError> {
    if file.exists() {
        return Err(BackupError::Exists(file.to_path_buf()));
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match db.backend {
        Backend::Sqlite => {
            // Written under a temporary name, then renamed: a file with the backup's name is
            // always a whole backup.
            let tmp = file.with_extension("partial");
            let _ = std::fs::remove_file(&tmp);
            let quoted = tmp.display().to_string().replace('\'', "''");
            sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{quoted}'")))
                .execute(&db.pool)
                .await?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, file)?;
        }
        Backend::Postgres => {
            let target = PgTarget::parse(url);
            let mut cmd = target.command("pg_dump");
            cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(file)
                .arg("--dbname")
                .arg(&target.url);
            pg::run(cmd, "pg_dump")?;
            std::fs::File::open(file)?.sync_all()?;
        }
    }
    let copy = verify(file, db.backend).await?;
    // Recorded in the live register (not in the copy): /metrics reports the last one's age.
    sqlx::query("INSERT INTO backup_runs (at, file, complaints) VALUES ($1, $2, $3)")
        .bind(crate::db::now_ms())
        .bind(file.display().to_string())
        .bind(copy.complaints)
        .execute(&db.write)
        .await?;
    Ok(copy)
}

/// Checks a backup and says what it holds. SQLite: it opens, `PRAGMA integrity_check` passes,
/// every attachment's file is in it, and its schema is one this aduan knows. PostgreSQL: every
/// entry of the archive is read and decompressed through `pg_restore` (as a restore would),
/// the rows of each table counted, and every attachment's file found among the stored ones.
pub async fn verify(file: &Path, backend: Backend) -> Result<Summary, BackupError> {
    let unusable = |why: String| BackupError::Unusable {
        path: file.to_path_buf(),
        why,
    };
    if !file.is_file() {
        return Err(unusable("no such file".into()));
    }
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", file.display());
            let db = Db::connect(
                &url,
                &ConnectOptions {
                    max_connections: 1,
                    read_only: true,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| unusable(e.to_string()))?;
            let r = check_sqlite(&db).await.map_err(|e| unusable(e.to_string()));
            db.close().await;
            r?.map_err(|e| unusable(e.to_string()))
        }
        Backend::Postgres => {
            let path = file.to_path_buf();
            tokio::task::spawn_blocking(move || pg::summary(&path))
                .await
                .map_err(|e| unusable(e.to_string()))?
                .map_err(unusable)
        }
    }
}

async fn check_sqlite(db: &Db) -> sqlx::Result<Result<Summary, BackupError>> {
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db.pool)
        .await?;
    if ok != "ok" {
        return Ok(Err(BackupError::Tool {
            tool: "integrity_check",
            message: ok,
        }));
    }
    Ok(Ok(summary(db).await?))
}

/// What a register holds.
pub async fn summary(db: &Db) -> sqlx::Result<Summary> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM complaints) AS complaints, \
                (SELECT COUNT(*) FROM messages) AS messages, \
                (SELECT COUNT(*) FROM attachments) AS attachments, \
                (SELECT COUNT(*) FROM blobs) AS blobs, \
                (SELECT COUNT(*) FROM attachments a WHERE NOT EXISTS \
                   (SELECT 1 FROM blobs b WHERE b.sha256 = a.sha256)) AS orphans, \
                (SELECT MAX(version) FROM _sqlx_migrations) AS schema",
    )
    .fetch_one(&db.pool)
    .await?;
    let orphans: i64 = r.try_get("orphans")?;
    if orphans > 0 {
        return Err(sqlx::Error::Protocol(format!(
            "{orphans} attachments without their stored file"
        )));
    }
    Ok(Summary {
        complaints: r.try_get("complaints")?,
        messages: r.try_get("messages")?,
        attachments: r.try_get("attachments")?,
        blobs: r.try_get("blobs")?,
        schema: r.try_get::<Option<i64>, _>("schema")?.unwrap_or(0),
    })
}

/// Refuses while a daemon runs on the register (a channel heartbeat within three intervals).
pub async fn ensure_stopped(db: &Db, heartbeat_secs: u64) -> Result<(), BackupError> {
    let has_table = db.applied_migrations().await?.contains(&5);
    if !has_table {
        return Ok(());
    }
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seen_at) FROM channel_presence")
        .fetch_one(&db.pool)
        .await?;
    if let Some(t) = last {
        let age = (crate::db::now_ms() - t) / 1000;
        if age <= 3 * heartbeat_secs as i64 {
            return Err(BackupError::Running { age_secs: age });
        }
    }
    Ok(())
}

/// Restores `file` over the register at `url` (SQLite: the database file; PostgreSQL: the
/// database, objects replaced). The backup is verified first, and a running daemon refuses it:
/// a bad file or a live register is left untouched. A SQLite register keeps the owner and mode
/// of the file it replaces (a restore run as root leaves it the daemon's), or takes its
/// folder's owner when there was none.
pub async fn restore(url: &str, file: &Path, heartbeat_secs: u64) -> Result<(), BackupError> {
    let backend = Backend::of_url(url);
    verify(file, backend).await?;
    let sqlite_path = (backend == Backend::Sqlite).then(|| crate::db::sqlite_file(url));
    // A register that is not there yet (a new server) has no daemon to wait for; it is not
    // created just to be checked.
    if sqlite_path.as_ref().is_none_or(|p| p.exists()) {
        let db = Db::connect(
            url,
            &ConnectOptions {
                max_connections: 2,
                ..Default::default()
            },
        )
        .await?;
        let checked = ensure_stopped(&db, heartbeat_secs).await;
        db.close().await;
        checked?;
    }
    match sqlite_path {
        Some(path) => replace_file(file, &path)?,
        None => {
            let target = PgTarget::parse(url);
            let mut cmd = target.command("pg_restore");
            cmd.args([
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                &target.url,
            ])
            .arg(file);
            pg::run(cmd, "pg_restore")?;
        }
    }
    Ok(())
}

/// Puts a copy of `file` in place of `path` in one rename, with `path`'s owner and mode.
fn replace_file(file: &Path, path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let (uid, gid, mode) = match std::fs::metadata(path) {
        Ok(m) => (m.uid(), m.gid(), m.mode() & 0o7777),
        Err(_) => {
            let d = std::fs::metadata(dir)?;
            (d.uid(), d.gid(), 0o640)
        }
    };
    let tmp = path.with_extension("restoring");
    std::fs::copy(file, &tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    if let Err(e) = std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)) {
        // Only root may give a file away; anyone else restores their own register.
        let own = std::fs::metadata(&tmp)?;
        if own.uid() != uid || own.gid() != gid {
            let _ = std::fs::remove_file(&tmp);
            return Err(BackupError::Owner {
                path: path.to_path_buf(),
                uid,
                why: e,
            });
        }
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    for ext in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(path.with_extension(ext));
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

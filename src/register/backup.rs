//! Backups of a live register and their restore. SQLite: `VACUUM INTO` — one consistent
//! snapshot taken through SQLite itself while the daemon keeps writing (never a `cp` of a WAL
//! database). PostgreSQL: `pg_dump --format=custom` (a consistent snapshot of one transaction)
//! and `pg_restore`. Attachments and raw sources live in the register, so a backup holds them.

use std::path::{Path, PathBuf};

use sqlx::Row;

use crate::db::{Backend, ConnectOptions, Db};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Takes a consistent copy of the live register `db` (its URL `url`) into `file`.
pub async fn backup(db: &Db, url: &str, file: &Path) -> Result<(), BackupError> {
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
            run(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    &file.display().to_string(),
                    url,
                ],
            )?;
        }
    }
    // Recorded in the live register (not in the copy): /metrics reports the last one's age.
    let complaints: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM complaints")
        .fetch_one(&db.pool)
        .await?;
    sqlx::query("INSERT INTO backup_runs (at, file, complaints) VALUES ($1, $2, $3)")
        .bind(crate::db::now_ms())
        .bind(file.display().to_string())
        .bind(complaints)
        .execute(&db.write)
        .await?;
    Ok(())
}

/// Checks a backup: SQLite — it opens, `PRAGMA integrity_check` passes, every attachment's
/// file is in it, and its schema is one this aduan knows; PostgreSQL — `pg_restore` reads its
/// whole table of contents. Returns what it holds (counts for SQLite; for PostgreSQL the
/// counts are read after a restore).
pub async fn verify(file: &Path, backend: Backend) -> Result<Option<Summary>, BackupError> {
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
            let s = r?.map_err(|e| unusable(e.to_string()))?;
            Ok(Some(s))
        }
        Backend::Postgres => {
            let toc = run("pg_restore", &["--list", &file.display().to_string()])
                .map_err(|e| unusable(e.to_string()))?;
            if !toc.contains("TABLE DATA") || !toc.contains("complaints") {
                return Err(unusable("holds no register tables".into()));
            }
            Ok(None)
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
/// a bad file or a live register is left untouched.
pub async fn restore(url: &str, file: &Path, heartbeat_secs: u64) -> Result<(), BackupError> {
    let db = Db::connect(
        url,
        &ConnectOptions {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await?;
    let backend = db.backend;
    let checked = async {
        verify(file, backend).await?;
        ensure_stopped(&db, heartbeat_secs).await
    }
    .await;
    db.close().await;
    checked?;
    match backend {
        Backend::Sqlite => {
            let path = PathBuf::from(
                url.trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .split('?')
                    .next()
                    .unwrap_or(""),
            );
            let tmp = path.with_extension("restoring");
            std::fs::copy(file, &tmp)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            for ext in ["db-wal", "db-shm"] {
                let _ = std::fs::remove_file(path.with_extension(ext));
            }
            std::fs::rename(&tmp, &path)?;
        }
        Backend::Postgres => {
            run(
                "pg_restore",
                &[
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                    url,
                    &file.display().to_string(),
                ],
            )?;
        }
    }
    Ok(())
}

/// Runs a PostgreSQL client tool; its standard output, or why it failed.
fn run(tool: &'static str, args: &[&str]) -> Result<String, BackupError> {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| BackupError::Tool {
            tool,
            message: format!("cannot run it ({e}); install postgresql-client"),
        })?;
    if !out.status.success() {
        return Err(BackupError::Tool {
            tool,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

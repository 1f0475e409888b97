//! The register's database: SQLite (embedded default) or PostgreSQL (shared register), behind
//! one `sqlx::Any` pool. SQL is written once, with `$n` placeholders that both accept; the few
//! statements that differ are chosen by [`Backend`].

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The backend a register URL names (anything but `sqlite:` is PostgreSQL's).
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// The register's pools. `pool` serves reads; `write` serves transactions and other writes.
/// On PostgreSQL they are the same pool. On SQLite, which has one writer at a time, `write`
/// holds a single connection, so writers queue in the pool (first come, first served) instead
/// of polling SQLite's lock with sleeps; readers never wait for writers (WAL).
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub write: AnyPool,
    pub backend: Backend,
}

pub type Tx = Transaction<'static, Any>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database url must start with sqlite: or postgres://")]
    BadUrl,
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the {backend} database {url}: {source}")]
    Connect {
        backend: &'static str,
        url: String,
        source: sqlx::Error,
    },
    #[error("migrating the register failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the register's schema is newer than this aduan knows: it has migration {found}, this \
         version knows up to {known}. Run the aduan version that wrote it (or newer), or restore \
         a backup made by this version; nothing was changed"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Connection options that matter for the register.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    pub sqlite_synchronous_full: bool,
    /// SQLite: open the file read-only and leave its journal mode alone (checking a backup).
    pub read_only: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
            sqlite_synchronous_full: true,
            read_only: false,
        }
    }
}

/// The database file a `sqlite:` URL names.
pub fn sqlite_file(url: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(
        url.trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap_or(""),
    )
}

/// A URL safe to print: the password replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

impl Db {
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::BadUrl);
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:")
                .split('?')
                .next()
                .unwrap_or("")
                .to_string();
            if path != ":memory:" {
                if let Some(dir) = Path::new(&path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).map_err(|source| DbError::DataDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                if !url.contains('?') {
                    url.push_str(if opts.read_only {
                        "?mode=ro"
                    } else {
                        "?mode=rwc"
                    });
                }
            }
        }
        let sync = if opts.sqlite_synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        };
        let read_only = opts.read_only;
        let make = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .min_connections(0)
                .idle_timeout(Some(Duration::from_secs(300)))
                .acquire_timeout(opts.connect_timeout)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            let pragmas = if read_only {
                                "PRAGMA busy_timeout = 30000;".to_string()
                            } else {
                                format!(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
                                     PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;"
                                )
                            };
                            conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                        }
                        Ok(())
                    })
                })
        };
        let connect_err = |source| DbError::Connect {
            backend: backend.as_str(),
            url: redact_url(&url),
            source,
        };
        let pool = make(opts.max_connections)
            .connect(&url)
            .await
            .map_err(connect_err)?;
        let write = match backend {
            Backend::Postgres => pool.clone(),
            Backend::Sqlite => make(1).connect(&url).await.map_err(connect_err)?,
        };
        Ok(Db {
            pool,
            write,
            backend,
        })
    }

    /// Applies the migrations of this backend (idempotent; several daemons may race safely).
    pub async fn migrate(&self) -> Result<(), DbError> {
        // A register written by a newer aduan is refused before anything runs.
        let known = self.known_migrations().last().map_or(0, |(v, _)| *v);
        if let Some(found) = self.applied_migrations().await?.into_iter().max() {
            if found > known {
                return Err(DbError::SchemaTooNew { found, known });
            }
        }
        self.migrator().run(&self.write).await?;
        Ok(())
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
        }
    }

    /// The migrations this aduan knows: (version, description), in order.
    pub fn known_migrations(&self) -> Vec<(i64, String)> {
        self.migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    }

    /// The migrations the register has applied (none for a new one).
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, DbError> {
        let exists = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let n: i64 = sqlx::query_scalar(exists).fetch_one(&self.pool).await?;
        if n == 0 {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success = true ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// What `migrate` would run: the known migrations the register has not applied.
    pub async fn pending_migrations(&self) -> Result<Vec<(i64, String)>, DbError> {
        let applied = self.applied_migrations().await?;
        Ok(self
            .known_migrations()
            .into_iter()
            .filter(|(v, _)| !applied.contains(v))
            .collect())
    }

    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// concurrent writers wait on `busy_timeout` instead of failing on lock upgrade.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.write.begin().await,
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.write.close().await;
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Is this error a unique-constraint violation (a concurrent insert of the same key)?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation)
                || d.code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

/// Reads a column that may be NULL as an `Option`.
pub fn opt_str(row: &AnyRow, col: &str) -> Option<String> {
    use sqlx::Row;
    row.try_get::<Option<String>, _>(col).ok().flatten()
}

/// A yes/no column, stored as `0`/`1` on both databases (SQLite has no boolean): decodes as
/// a `bool` into rows (`#[sqlx(try_from = "IntFlag")]` on a `bool` field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntFlag(pub bool);

impl From<IntFlag> for bool {
    fn from(f: IntFlag) -> bool {
        f.0
    }
}

impl sqlx::Type<Any> for IntFlag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for IntFlag {
    fn decode(v: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(IntFlag(<i64 as sqlx::Decode<'r, Any>>::decode(v)? != 0))
    }
}

/// A column holding a JSON array of strings (an outbox row's references): decodes into a
/// `Vec<String>` (`#[sqlx(try_from = "JsonList")]`); anything else is a decode error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonList(pub Vec<String>);

impl From<JsonList> for Vec<String> {
    fn from(l: JsonList) -> Vec<String> {
        l.0
    }
}

impl sqlx::Type<Any> for JsonList {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for JsonList {
    fn decode(v: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <String as sqlx::Decode<'r, Any>>::decode(v)?;
        if text.is_empty() {
            return Ok(JsonList::default());
        }
        Ok(JsonList(serde_json::from_str(&text)?))
    }
}

/// A column holding the stored name of a closed set (a status, a channel, a language):
/// decodes by the type's `FromStr` (`#[sqlx(try_from = "Name<Status>")]` on a `Status`
/// field); a name the set does not know is a decode error naming the column and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<T>(pub T);

impl<T> sqlx::Type<Any> for Name<T> {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r, T> sqlx::Decode<'r, Any> for Name<T>
where
    T: std::str::FromStr,
    T::Err: Into<sqlx::error::BoxDynError>,
{
    fn decode(v: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <String as sqlx::Decode<'r, Any>>::decode(v)?;
        text.parse().map(Name).map_err(Into::into)
    }
}

/// `From<Name<T>>` for the domain's closed sets, so rows decode straight into them.
macro_rules! names {
    ($($t:ty),+) => {$(
        impl From<Name<$t>> for $t {
            fn from(n: Name<$t>) -> $t {
                n.0
            }
        }
    )+};
}

names!(
    aduan_channel::ChannelKind,
    aduan_channel::Lang,
    aduan_channel::CounterMedium,
    crate::domain::Status,
    crate::domain::Role,
    crate::domain::OutboxKind,
    crate::outbox::OutboxStatus
);

/// A nullable column holding the stored name of a closed set: decodes into an `Option` of it
/// (`#[sqlx(try_from = "OptName<T>")]` on an `Option<T>` field); an unknown name is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptName<T>(pub Option<T>);

impl<T> From<OptName<T>> for Option<T> {
    fn from(n: OptName<T>) -> Option<T> {
        n.0
    }
}

impl<T> sqlx::Type<Any> for OptName<T> {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r, T> sqlx::Decode<'r, Any> for OptName<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn decode(v: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match <Option<String> as sqlx::Decode<'r, Any>>::decode(v)? {
            None => Ok(OptName(None)),
            Some(s) => Ok(OptName(Some(s.parse()?))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
    }
}

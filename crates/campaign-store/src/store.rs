//! Opening a store: the URL, the connection pool, the schema.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Row};

use crate::error::{redact_url, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A campaigns store: a local copy of the sources' campaigns, kept fresh by
/// [`Store::sync_source`], with a change log and a run log.
///
/// Cheap to clone (a connection pool).
#[derive(Clone)]
pub struct Store {
    /// For readers and a sync's bookkeeping.
    pub(crate) pool: AnyPool,
    /// For the partitions a sync reads, one each for its whole read (its
    /// staging tables are the connection's): apart from [`Store::pool`], so
    /// that a sync of many partitions, or of slow providers, never leaves
    /// readers waiting for a connection.
    pub(crate) staging: AnyPool,
    backend: Backend,
    /// The database file, for SQLite.
    sqlite_path: Option<std::path::PathBuf>,
    /// The URL without credentials, for messages.
    label: String,
    /// Partition syncs that may hold a staging connection at once: a sync
    /// waits here as long as it takes rather than timing out on the pool.
    pub(crate) partition_slots: Arc<tokio::sync::Semaphore>,
    /// Held by a merge from its first write to its commit: this process's
    /// merges queue here and start the moment the last one commits, where
    /// SQLite's busy handler would poll for the lock with sleeps of up to
    /// 100 ms. Other processes still meet the database's own lock.
    pub(crate) writer: Arc<tokio::sync::Mutex<()>>,
    /// Partitions of this process's syncs that have not finished: the last
    /// to merge builds the indexes bulk writes suspended.
    pub(crate) partitions_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// How to connect outside the pool (a lease's connection). Holds the
    /// password: never printed.
    pub(crate) connect_options: Arc<AnyConnectOptions>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("url", &self.label)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `url`, creating it if missing, and brings its
    /// schema up to date (the migrations are embedded in the binary).
    ///
    /// - `sqlite://PATH` (or `sqlite:PATH`): an embedded file, created if
    ///   missing, in WAL mode with a busy timeout, so readers never wait
    ///   for a sync and two writers wait for each other.
    /// - `postgres://USER@HOST:PORT/DB` (or `postgresql://`): a server.
    ///
    /// # Errors
    /// [`StoreError::BadUrl`] for another scheme; [`StoreError::NotAStore`]
    /// for a file or database that holds something else (never reset);
    /// [`StoreError::NewerSchema`] for a store a newer version wrote;
    /// [`StoreError::Database`] when the database cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, true).await
    }

    /// Opens the store at `url` like [`Store::connect`], but never creates
    /// an SQLite file: for readers, a mistyped path is an error rather than
    /// a new, empty store.
    ///
    /// # Errors
    /// As [`Store::connect`], and [`StoreError::Missing`] for an SQLite
    /// file that does not exist.
    pub async fn connect_existing(url: &str) -> Result<Self, StoreError> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let label = redact_url(url);
        let (backend, url) = normalize(url, create).map_err(|why| StoreError::BadUrl {
            url: label.clone(),
            why,
        })?;
        if backend == Backend::Sqlite {
            let file = sqlite_file(&url);
            let missing = if create {
                // A missing directory is a mistyped path, not a reason to make one.
                let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
                dir.filter(|d| !d.is_dir())
                    .map(|d| format!("the directory {} does not exist", d.display()))
            } else {
                (!file.exists()).then(|| {
                    format!(
                        "the file {} does not exist (campaigns sync creates it)",
                        file.display()
                    )
                })
            };
            if let Some(why) = missing {
                return Err(StoreError::Missing { url: label, why });
            }
        }
        let options: AnyConnectOptions =
            url.parse().map_err(|e: sqlx::Error| StoreError::BadUrl {
                url: label.clone(),
                why: e.to_string(),
            })?;
        // A sync's merge of a large partition runs for seconds by design;
        // sqlx would warn on the terminal about every such statement. Its
        // statement log stays at debug level (`RUST_LOG=sqlx::query=debug`).
        let options = options.log_slow_statements(log::LevelFilter::Debug, SLOW_STATEMENT);
        // One connection first, outside the pool, so a file that is not a
        // database fails here at once (a pool would retry until it times out).
        let mut probe = AnyConnection::connect_with(&options)
            .await
            .map_err(|cause| StoreError::Database {
                what: format!("cannot open {label}"),
                cause,
            })?;
        if backend == Backend::Sqlite {
            probe
                .execute(sqlx::raw_sql(SQLITE_PRAGMAS))
                .await
                .map_err(|cause| not_a_store_or(cause, &label))?;
        }
        let _ = probe.close().await;
        let pool = connection_pool(backend, READER_CONNECTIONS)
            .connect_with(options.clone())
            .await
            .map_err(|cause| not_a_store_or(cause, &label))?;
        // Opened when a sync first reads: a store only read never opens one.
        let staging =
            connection_pool(backend, PARTITIONS_AT_ONCE).connect_lazy_with(options.clone());
        let sqlite_path = (backend == Backend::Sqlite).then(|| sqlite_file(&url));
        let store = Self {
            pool,
            staging,
            backend,
            sqlite_path,
            label,
            partition_slots: Arc::new(tokio::sync::Semaphore::new(PARTITIONS_AT_ONCE as usize)),
            writer: Arc::default(),
            partitions_in_flight: Arc::default(),
            connect_options: Arc::new(options),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Which database this store is in.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database file of an SQLite store.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.sqlite_path.as_deref()
    }

    /// The store's URL, without credentials.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Closes the connections (waiting for those in use).
    pub async fn close(&self) {
        tokio::join!(self.staging.close(), self.pool.close());
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Refuses a database that is not a store, or a store from a newer
    /// version, then applies the migrations it lacks.
    async fn migrate(&self) -> Result<(), StoreError> {
        let tables = self
            .tables()
            .await
            .map_err(|cause| not_a_store_or(cause, &self.label))?;
        let known = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        if !tables.is_empty() {
            if !tables.iter().any(|t| t == "_sqlx_migrations") {
                return Err(StoreError::NotAStore {
                    url: self.label.clone(),
                    why: format!(
                        "it holds other tables ({}) and no store schema",
                        tables.join(", ")
                    ),
                });
            }
            let found: Option<i64> = sqlx::query("SELECT MAX(version) FROM _sqlx_migrations")
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get(0))
                .map_err(StoreError::db("cannot read the schema version"))?;
            if let Some(found) = found.filter(|&found| found > known) {
                return Err(StoreError::NewerSchema {
                    url: self.label.clone(),
                    found,
                    known,
                });
            }
        }
        self.migrator().run(&self.pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(found) => StoreError::NewerSchema {
                url: self.label.clone(),
                found,
                known,
            },
            MigrateError::Execute(cause) => {
                StoreError::db(format!("cannot update the schema of {}", self.label))(cause)
            }
            other => StoreError::NotAStore {
                url: self.label.clone(),
                why: other.to_string(),
            },
        })
    }

    /// The user tables of the database.
    async fn tables(&self) -> Result<Vec<String>, sqlx::Error> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
                 ORDER BY tablename"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(|row| row.try_get::<String, _>(0)).collect()
    }
}

/// Statements slower than this are logged (at debug level) as slow.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// Connections for readers and a sync's bookkeeping. Idle ones cost nothing.
pub(crate) const READER_CONNECTIONS: u32 = 8;

/// Partitions read at once, each on a staging connection of its own: with 7,
/// a slow source's partition no longer waits for others to finish (a first
/// sync of 200,000 sandbox campaigns: 4.4-4.6 s, against 4.8-5.2 s with 3;
/// measured).
pub(crate) const PARTITIONS_AT_ONCE: u32 = 7;

/// A pool of at most `connections` to the store, each set up as a reader.
fn connection_pool(backend: Backend, connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                    settle(conn, SQLITE_READER_SETTINGS).await?;
                }
                Ok(())
            })
        })
}

/// WAL: readers never wait for a sync. The busy timeout: two writers wait
/// for each other instead of failing at once. The page size only takes on
/// a new file (before WAL mode writes its header): campaign rows and their
/// change entries run to a few KiB, and 4 KiB pages held one or two each.
/// The WAL's size limit: merges checkpoint beside the next one, so during
/// a sync the WAL cannot start over and grows by what the sync writes; once
/// it starts over it is cut back to 64 MiB (the last connection to close
/// removes it). Each connection of the pool then gets
/// [`SQLITE_READER_SETTINGS`].
const SQLITE_PRAGMAS: &str = "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 15000; \
     PRAGMA journal_size_limit = 67108864;";

/// A connection of the pool, as it reads: a page cache of 512 KiB rather
/// than SQLite's 2 MiB, as a listing reads pages on up to four connections
/// at once and the system caches the file anyway (a listing of 200,000
/// campaigns peaked at 20-24 MiB with it, 26-28 MiB with 1 MiB, 38-39 MiB
/// with 2 MiB; measured), and SQLite's default automatic checkpoint (once
/// the WAL passes 1,000 pages, at a commit).
pub(crate) const SQLITE_READER_SETTINGS: [&str; 2] = [
    "PRAGMA cache_size = -512",
    "PRAGMA wal_autocheckpoint = 1000",
];

/// A connection while it merges a partition, until it goes back to
/// [`SQLITE_READER_SETTINGS`]. The page cache is SQLite's default: index
/// upkeep lands on pages all over the table; with the reading cache a first
/// sync of 200,000 campaigns took a second longer, and with 64 MiB it took
/// longer still (more CPU time; measured). No checkpoint at the commit:
/// copying the commit's pages into the database file there would keep the
/// next merge waiting; the merge runs [`SQLITE_CHECKPOINT`] after it,
/// beside the next merge.
pub(crate) const SQLITE_MERGE_SETTINGS: [&str; 2] =
    ["PRAGMA cache_size = -2048", "PRAGMA wal_autocheckpoint = 0"];

/// Runs each of a connection's `settings` (pragmas without results).
pub(crate) async fn settle(
    conn: &mut AnyConnection,
    settings: [&str; 2],
) -> Result<(), sqlx::Error> {
    for setting in settings {
        sqlx::query(setting).execute(&mut *conn).await?;
    }
    Ok(())
}

/// What a merge runs after its commit: copies what the WAL holds into the
/// database file without waiting for readers or blocking writers (what it
/// cannot copy now is left to the next checkpoint).
pub(crate) const SQLITE_CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// The file of a normalized `sqlite://PATH?...` URL.
fn sqlite_file(url: &str) -> std::path::PathBuf {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    path.split('?').next().unwrap_or(path).into()
}

/// The backend and the URL sqlx gets for `url`.
fn normalize(url: &str, create: bool) -> Result<(Backend, String), String> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err("no file path".into());
        }
        // Create the file when missing (for writers only).
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("sqlite://{path}");
        if !path.contains("mode=") {
            url.push(separator);
            url.push_str(if create { "mode=rwc" } else { "mode=rw" });
        }
        return Ok((Backend::Sqlite, url));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    Err("the scheme must be sqlite or postgres".into())
}

/// `cause` as [`StoreError::NotAStore`] when SQLite says the file is not a
/// database, else as a database error opening `label`.
fn not_a_store_or(cause: sqlx::Error, label: &str) -> StoreError {
    if cause.to_string().contains("not a database") {
        StoreError::NotAStore {
            url: label.to_owned(),
            why: cause.to_string(),
        }
    } else {
        StoreError::Database {
            what: format!("cannot open {label}"),
            cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        let (backend, url) = normalize("sqlite://data/campaigns.db", true).unwrap();
        assert_eq!(backend, Backend::Sqlite);
        assert_eq!(url, "sqlite://data/campaigns.db?mode=rwc");
        assert_eq!(
            normalize("sqlite:/tmp/x.db", true).unwrap().1,
            "sqlite:///tmp/x.db?mode=rwc"
        );
        assert_eq!(
            normalize("postgres://u@h/db", true).unwrap().0,
            Backend::Postgres
        );
        assert!(normalize("mysql://h/db", true).is_err());
        assert!(normalize("sqlite://", true).is_err());
        assert_eq!(
            normalize("sqlite://c.db", false).unwrap().1,
            "sqlite://c.db?mode=rw"
        );
    }

    #[tokio::test]
    async fn readers_never_create_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("typo.db").display());
        let error = Store::connect_existing(&url).await.unwrap_err();
        assert!(matches!(error, StoreError::Missing { .. }), "{error}");
        assert!(!dir.path().join("typo.db").exists());
        let nowhere = format!("sqlite://{}", dir.path().join("no/such/dir/c.db").display());
        let error = Store::connect(&nowhere).await.unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
        Store::connect(&url).await.unwrap().close().await;
        Store::connect_existing(&url).await.unwrap().close().await;
    }
}

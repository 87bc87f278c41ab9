//! Who syncs a source now: one process at a time per source, so several
//! `campaigns sync --watch` processes (on one machine or many) split the
//! sources between them through the database itself.
//!
//! PostgreSQL: a session advisory lock, held on a connection of its own,
//! outside the pool (so leases never take the connections partitions and
//! readers need); a process that dies closes its connection, which
//! releases the lock.
//! SQLite (one machine): an exclusive lock on a file beside the database
//! (`<db>.sync-<source>.lock`), which the system releases when its process
//! dies, however it dies.

use sqlx::{AnyConnection, Connection, Row};
use std::fmt;

use crate::error::StoreError;
use crate::store::{Backend, Store};

/// The right to sync one source, until dropped or [`Lease::release`]d.
pub struct Lease {
    source: String,
    holder: String,
    inner: Held,
}

enum Held {
    /// The connection holding the advisory lock.
    Postgres(Option<AnyConnection>),
    /// The locked file (unlocked as it closes).
    Sqlite { _locked: std::fs::File },
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("source", &self.source)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// This process, as leases name it.
fn holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// The advisory lock key of `source` (one namespace for this program).
const LOCK_SQL: &str = "SELECT pg_try_advisory_lock(hashtextextended('campaigns-sync:' || $1, 0))";
const UNLOCK_SQL: &str = "SELECT pg_advisory_unlock(hashtextextended('campaigns-sync:' || $1, 0))";

impl Store {
    /// Takes the lease of `source`, or `None` when another process (or
    /// another task of this one) holds it.
    pub async fn try_lease(&self, source: &str) -> Result<Option<Lease>, StoreError> {
        let holder = format!("{}:{:x}", holder(), rand_token());
        match self.backend() {
            Backend::Postgres => {
                let mut conn = AnyConnection::connect_with(&self.connect_options)
                    .await
                    .map_err(StoreError::db("cannot lease a source"))?;
                let taken: bool = sqlx::query(LOCK_SQL)
                    .bind(source.to_owned())
                    .fetch_one(&mut conn)
                    .await
                    .and_then(|row| row.try_get(0))
                    .map_err(StoreError::db("cannot lease a source"))?;
                if !taken {
                    let _ = conn.close().await;
                    return Ok(None);
                }
                Ok(Some(Lease {
                    source: source.to_owned(),
                    holder,
                    inner: Held::Postgres(Some(conn)),
                }))
            }
            Backend::Sqlite => {
                let Some(path) = self.lock_path(source) else {
                    // No file to lock (an in-memory database): no one else can see it.
                    return Ok(None);
                };
                let lock_error = |e: std::io::Error| StoreError::Lock {
                    path: path.display().to_string(),
                    cause: e,
                };
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(lock_error)?;
                match file.try_lock() {
                    Ok(()) => {}
                    Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => return Err(lock_error(e)),
                }
                // Who holds it, for the message another process prints.
                use std::io::{Seek, Write};
                file.set_len(0)
                    .and_then(|()| file.rewind())
                    .and_then(|()| file.write_all(holder.as_bytes()))
                    .map_err(lock_error)?;
                Ok(Some(Lease {
                    source: source.to_owned(),
                    holder,
                    inner: Held::Sqlite { _locked: file },
                }))
            }
        }
    }

    /// The lock file of `source` beside an SQLite database.
    fn lock_path(&self, source: &str) -> Option<std::path::PathBuf> {
        let db = self.sqlite_path()?;
        let name: String = source.bytes().map(|b| format!("{b:02x}")).collect();
        let mut file = db.as_os_str().to_owned();
        file.push(format!(".sync-{name}.lock"));
        Some(file.into())
    }

    /// Who holds `source`'s lease, for messages ("another process" when
    /// the database does not say).
    pub async fn lease_holder(&self, source: &str) -> String {
        self.lock_path(source)
            .and_then(|path| std::fs::read_to_string(path).ok())
            .filter(|holder| !holder.trim().is_empty())
            .unwrap_or_else(|| "another process".into())
    }
}

impl Lease {
    /// Gives the lease back. Dropping it does too (a PostgreSQL lease's
    /// connection closes, which ends its session and the lock; a locked
    /// file unlocks as it closes); this also reports whether the database
    /// took the release.
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Held::Postgres(conn) = &mut self.inner {
            if let Some(mut conn) = conn.take() {
                sqlx::query(UNLOCK_SQL)
                    .bind(self.source.clone())
                    .execute(&mut conn)
                    .await
                    .map_err(StoreError::db("cannot release a lease"))?;
                // Closing alone would release it too; the unlock reports
                // whether the database took it.
                let _ = conn.close().await;
            }
        }
        // A file lock goes with its file, when `self` drops.
        Ok(())
    }
}

fn rand_token() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

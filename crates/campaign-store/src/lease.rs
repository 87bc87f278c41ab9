//! Who syncs a source now: one process at a time per source, so several
//! `campaigns sync --watch` processes (on one machine or many) split the
//! sources between them through the database itself.
//!
//! PostgreSQL: a session advisory lock, held on a connection of its own;
//! a process that dies closes its connection, which releases the lock.
//! SQLite (one machine): a row in `leases` with an expiry the holder renews;
//! a process that dies stops renewing, and its lease lapses.

use std::fmt;
use std::time::Duration;

use chrono::Utc;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};

use crate::error::StoreError;
use crate::rows::timestamp;
use crate::store::{Backend, Store};

/// How long an SQLite lease lasts without renewal.
const LEASE_TTL: Duration = Duration::from_secs(120);

/// The right to sync one source, until dropped or [`Lease::release`]d.
pub struct Lease {
    source: String,
    holder: String,
    inner: Held,
}

enum Held {
    /// The connection holding the advisory lock.
    Postgres(Option<PoolConnection<Any>>),
    /// The store, to renew and release the row.
    Sqlite(Store),
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
                let mut conn = self
                    .pool
                    .acquire()
                    .await
                    .map_err(StoreError::db("cannot lease a source"))?;
                let taken: bool = sqlx::query(LOCK_SQL)
                    .bind(source.to_owned())
                    .fetch_one(&mut *conn)
                    .await
                    .and_then(|row| row.try_get(0))
                    .map_err(StoreError::db("cannot lease a source"))?;
                Ok(taken.then(|| Lease {
                    source: source.to_owned(),
                    holder,
                    inner: Held::Postgres(Some(conn)),
                }))
            }
            Backend::Sqlite => {
                let now = Utc::now();
                let expires = now + LEASE_TTL;
                let taken = sqlx::query(
                    "INSERT INTO leases (source, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, \
                       expires_at = excluded.expires_at \
                     WHERE leases.expires_at < $4",
                )
                .bind(source.to_owned())
                .bind(holder.clone())
                .bind(timestamp(expires))
                .bind(timestamp(now))
                .execute(&self.pool)
                .await
                .map_err(StoreError::db("cannot lease a source"))?
                .rows_affected()
                    == 1;
                Ok(taken.then(|| Lease {
                    source: source.to_owned(),
                    holder,
                    inner: Held::Sqlite(self.clone()),
                }))
            }
        }
    }

    /// Who holds `source`'s lease, for messages ("another process" when
    /// the database does not say).
    pub async fn lease_holder(&self, source: &str) -> String {
        if self.backend() == Backend::Postgres {
            return "another process".into();
        }
        sqlx::query("SELECT holder FROM leases WHERE source = $1")
            .bind(source.to_owned())
            .fetch_optional(&self.pool)
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<String, _>(0).ok())
            .unwrap_or_else(|| "another process".into())
    }
}

impl Lease {
    /// Extends an SQLite lease (a PostgreSQL one lasts as long as its
    /// connection): called between partitions of a long sync.
    pub async fn renew(&self) -> Result<(), StoreError> {
        if let Held::Sqlite(store) = &self.inner {
            sqlx::query("UPDATE leases SET expires_at = $1 WHERE source = $2 AND holder = $3")
                .bind(timestamp(Utc::now() + LEASE_TTL))
                .bind(self.source.clone())
                .bind(self.holder.clone())
                .execute(&store.pool)
                .await
                .map_err(StoreError::db("cannot renew a lease"))?;
        }
        Ok(())
    }

    /// Gives the lease back.
    pub async fn release(mut self) -> Result<(), StoreError> {
        match &mut self.inner {
            Held::Postgres(conn) => {
                if let Some(mut conn) = conn.take() {
                    sqlx::query(UNLOCK_SQL)
                        .bind(self.source.clone())
                        .execute(&mut *conn)
                        .await
                        .map_err(StoreError::db("cannot release a lease"))?;
                }
            }
            Held::Sqlite(store) => {
                sqlx::query("DELETE FROM leases WHERE source = $1 AND holder = $2")
                    .bind(self.source.clone())
                    .bind(self.holder.clone())
                    .execute(&store.pool)
                    .await
                    .map_err(StoreError::db("cannot release a lease"))?;
            }
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Not released (an error, a cancelled sync): a PostgreSQL connection
        // still holding the lock is closed rather than reused, which frees
        // it; an SQLite row lapses at its expiry.
        if let Held::Postgres(Some(conn)) = &mut self.inner {
            conn.close_on_drop();
        }
    }
}

fn rand_token() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

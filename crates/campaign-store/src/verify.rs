//! Checking a store after a crash, a kill or a bug: the database's own
//! integrity check, and the change log against the rows it describes.

use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::store::{Backend, Store};

/// What [`Store::verify`] found; every count is 0 in a sound store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Verification {
    /// SQLite's `PRAGMA integrity_check` lines other than `ok`.
    pub integrity: Vec<String>,
    /// Change log entries: how many there are.
    pub changes: i64,
    /// Sequence numbers missing or repeated (the log is 1..=N, no gap).
    pub seq_gaps: i64,
    /// Campaign rows whose last change entry does not describe them: their
    /// JSON is not read from their last `added` or `updated` entry, or
    /// whether they are deleted differs.
    pub rows_unlike_their_log: i64,
    /// Campaigns in the log without a row.
    pub logged_without_row: i64,
    /// Entries that repeat what the one before for the same campaign said
    /// (added twice without a deletion between, deleted twice, updated
    /// before being added): a change logged more than once.
    pub repeated_changes: i64,
}

impl Verification {
    /// Whether nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.integrity.is_empty()
            && self.seq_gaps == 0
            && self.rows_unlike_their_log == 0
            && self.logged_without_row == 0
            && self.repeated_changes == 0
    }
}

impl Store {
    /// Checks the store: the database's integrity (SQLite), a change log
    /// without gaps or repeats, and every campaign row equal to what its
    /// last change entry says (so replaying the log gives the rows).
    pub async fn verify(&self) -> Result<Verification, StoreError> {
        let db = |what: &'static str| StoreError::db(format!("cannot verify: {what}"));
        let mut found = Verification::default();
        if self.backend() == Backend::Sqlite {
            for row in sqlx::query("PRAGMA integrity_check")
                .fetch_all(&self.pool)
                .await
                .map_err(db("integrity check"))?
            {
                let line: String = row.try_get(0).map_err(db("integrity check"))?;
                if line != "ok" {
                    found.integrity.push(line);
                }
            }
        }
        let count = |sql: &'static str, what: &'static str| async move {
            sqlx::query(sql)
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get::<i64, _>(0))
                .map_err(db(what))
        };
        found.changes = count("SELECT COUNT(*) FROM changes", "count").await?;
        let next: i64 = count(
            "SELECT next_seq FROM store_counters WHERE id = 1",
            "counters",
        )
        .await?;
        let distinct = count("SELECT COUNT(DISTINCT seq) FROM changes WHERE seq BETWEEN 1 AND (SELECT next_seq - 1 FROM store_counters)", "sequence").await?;
        found.seq_gaps = (next - 1 - distinct).abs() + (found.changes - distinct);
        // One pass over the log for each campaign's last entry and last
        // written one (a correlated lookup per row was quadratic: the log
        // has no index by campaign).
        found.rows_unlike_their_log = count(
            "WITH latest AS (SELECT source, native_id, MAX(seq) AS last_seq, \
                 MAX(CASE WHEN action <> 'deleted' THEN seq END) AS last_written \
               FROM changes GROUP BY source, native_id) \
             SELECT COUNT(*) FROM campaigns c \
             LEFT JOIN latest l ON l.source = c.source AND l.native_id = c.native_id \
             LEFT JOIN changes ch ON ch.seq = l.last_seq \
             WHERE ch.seq IS NULL \
               OR (CASE WHEN ch.action = 'deleted' THEN 1 ELSE 0 END) \
                 <> (CASE WHEN c.deleted_at IS NULL THEN 0 ELSE 1 END) \
               OR c.seq IS DISTINCT FROM l.last_written",
            "rows against the log",
        )
        .await?;
        found.logged_without_row = count(
            "SELECT COUNT(*) FROM (SELECT DISTINCT source, native_id FROM changes) l \
             WHERE NOT EXISTS (SELECT 1 FROM campaigns c \
               WHERE c.source = l.source AND c.native_id = l.native_id)",
            "log against the rows",
        )
        .await?;
        found.repeated_changes = count(
            "SELECT COUNT(*) FROM (SELECT action, LAG(action) OVER \
               (PARTITION BY source, native_id ORDER BY seq) AS previous FROM changes) t \
             WHERE (action = 'added' AND previous IS NOT NULL AND previous <> 'deleted') \
                OR (action <> 'added' AND (previous IS NULL OR previous = 'deleted'))",
            "repeats",
        )
        .await?;
        Ok(found)
    }
}

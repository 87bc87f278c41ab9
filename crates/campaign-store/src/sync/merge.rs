//! The write half of a sync: a staged partition compared with the store,
//! and its changes, change-log entries and run entry committed at once.

use std::sync::atomic::Ordering;

use chrono::Utc;
use sqlx::{Acquire, AnyConnection, Row};

use super::{PartitionReport, StateUpdate, REBUILDING_INDEXES};
use crate::error::StoreError;
use crate::rows::timestamp;
use crate::store::{
    settle, Backend, Store, SQLITE_CHECKPOINT, SQLITE_MERGE_SETTINGS, SQLITE_READER_SETTINGS,
};

/// A write of at least one row in this many of the campaigns table (as it
/// will be) drops its secondary indexes rather than keeping them up; the
/// last partition of the syncs running in this process to merge builds
/// them again, once, for every partition's rows. On SQLite (16 KiB pages),
/// keeping up the four indexes cost about 3.8 us a row written and building
/// them afresh 1.7 us a row of the table. A first sync of 200,000
/// campaigns in six partitions had kept them up through its last four
/// merges and built them twice: its inserts into `campaigns` took 1.5-2.0
/// s, 0.6-0.7 s with the indexes built once at the end (0.45-0.5 s;
/// measured by statement).
const REBUILD_SHARE: u64 = 2;

/// The change-log number of each staged row (aliased `s`) that is written,
/// counting from `$1`: the change log and the campaigns table number them
/// alike. In the order listed, the staging table's own, so no statement
/// sorts or reads it out of place.
const STAGED_SEQ: &str = "$1 + ROW_NUMBER() OVER (ORDER BY s.n) - 1";

/// The live campaigns of a partition (source `$source_at`, part `$part_at`)
/// that its staged full listing no longer holds (nor lists as just changed,
/// `sync_kept`), for a `WHERE` clause on
/// `campaigns` aliased `alias`: one condition for the deletions logged and
/// the rows marked, so the two cannot differ.
fn gone(alias: &str, source_at: usize, part_at: usize) -> String {
    format!(
        "{alias}.source = ${source_at} AND {alias}.part = ${part_at} \
         AND {alias}.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM sync_staging s \
         WHERE s.source = {alias}.source AND s.native_id = {alias}.native_id) \
         AND NOT EXISTS (SELECT 1 FROM sync_kept k WHERE k.native_id = {alias}.native_id)"
    )
}

/// One partition's sync in a run: what its run entry and changes name.
pub(super) struct PartRun<'a> {
    pub(super) run: i64,
    pub(super) source: &'a str,
    pub(super) part: &'a str,
    /// When its read began (stored form).
    pub(super) started: &'a str,
}

impl Store {
    /// Compares the staged partition with the store and writes the
    /// differences, the change log and the run entry in one transaction.
    pub(super) async fn merge(
        &self,
        conn: &mut AnyConnection,
        at: &PartRun<'_>,
        state: StateUpdate,
        report: &mut PartitionReport,
    ) -> Result<(), StoreError> {
        let source = at.source;
        let db = |what: &'static str| StoreError::db(format!("cannot save {source}: {what}"));
        let sqlite = self.backend() == Backend::Sqlite;
        // Rolled back when dropped: a crash or a cancelled sync leaves the
        // store as of the last commit. The settings change only once the
        // lock is held: a merge cancelled while it waits (a sync stopped)
        // leaves its connection as it was.
        let merged = async {
            let _writing = self.writer.lock().await;
            if sqlite {
                settle(conn, SQLITE_MERGE_SETTINGS)
                    .await
                    .map_err(db("settings"))?;
            }
            let mut tx = conn.begin().await.map_err(db("begin"))?;
            self.merge_in_transaction(&mut tx, at, state, report)
                .await?;
            tx.commit().await.map_err(db("commit"))
        }
        .await;
        if !sqlite {
            return merged;
        }
        // Outside the writer's lock, so the next merge runs meanwhile. A
        // checkpoint that cannot run now is left to the next one. The last
        // partition syncing in this process builds the indexes bulk writes
        // suspended meanwhile, on another connection (the others would
        // keep them up): a transaction of its own, so that the checkpoint
        // copies this merge into the database file while it runs. Should it
        // fail, the end of the source's sync tries again and reports it.
        if merged.is_ok() {
            let checkpoint = sqlx::query(SQLITE_CHECKPOINT).execute(&mut *conn);
            if self.last_partition_in_flight() {
                let (_, _) = tokio::join!(checkpoint, self.restore_suspended_indexes());
            } else {
                let _ = checkpoint.await;
            }
        }
        // Back to a reader's settings, failed merge or not: the pool lends
        // this connection out again. The merge's own failure is the one
        // reported.
        let reset = settle(conn, SQLITE_READER_SETTINGS)
            .await
            .map_err(db("settings"));
        merged.and(reset)
    }

    async fn merge_in_transaction(
        &self,
        conn: &mut AnyConnection,
        at: &PartRun<'_>,
        state: StateUpdate,
        report: &mut PartitionReport,
    ) -> Result<(), StoreError> {
        let PartRun {
            run, source, part, ..
        } = *at;
        let db = |what: &'static str| StoreError::db(format!("cannot save {source}: {what}"));
        // The first statement writes, so a SQLite transaction takes the
        // write lock at once (waiting out another writer) rather than
        // failing when it upgrades; on PostgreSQL it locks the counters
        // row, which keeps the change log without gaps.
        sqlx::query("UPDATE store_counters SET next_seq = next_seq WHERE id = 1")
            .execute(&mut *conn)
            .await
            .map_err(db("lock"))?;
        let mut next_seq: i64 = sqlx::query("SELECT next_seq FROM store_counters WHERE id = 1")
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(db("counters"))?;
        let now = timestamp(Utc::now());
        sqlx::query(
            "UPDATE sync_staging SET action = CASE \
               WHEN c.deleted_at IS NOT NULL THEN 'added' \
               WHEN c.content_hash = sync_staging.content_hash THEN 'unchanged' \
               ELSE 'updated' END \
             FROM campaigns c \
             WHERE c.source = sync_staging.source AND c.native_id = sync_staging.native_id",
        )
        .execute(&mut *conn)
        .await
        .map_err(db("compare"))?;
        for row in sqlx::query("SELECT action, COUNT(*) FROM sync_staging GROUP BY action")
            .fetch_all(&mut *conn)
            .await
            .map_err(db("count"))?
        {
            let action: String = row.try_get(0).map_err(db("count"))?;
            let count: i64 = row.try_get(1).map_err(db("count"))?;
            let count = u64::try_from(count).unwrap_or_default();
            match action.as_str() {
                "added" => report.added = count,
                "updated" => report.updated = count,
                _ => report.unchanged = count,
            }
        }
        let first_seq = next_seq;
        let written = sqlx::query(&format!(
            "INSERT INTO changes (seq, at, action, source, native_id, run, campaign) \
             SELECT {STAGED_SEQ}, $2, s.action, s.source, s.native_id, $3, j.campaign \
             FROM sync_staging s JOIN sync_staging_json j ON j.n = s.n \
             WHERE s.action <> 'unchanged'"
        ))
        .bind(first_seq)
        .bind(now.clone())
        .bind(run)
        .execute(&mut *conn)
        .await
        .map_err(db("change log"))?
        .rows_affected();
        next_seq += i64::try_from(written).unwrap_or(i64::MAX);
        // Deletes only from complete evidence: this partition read whole,
        // without a failure or a skipped record. Before the upsert: it only
        // touches campaigns not staged, and finds none in a new partition
        // (rather than all of it, one probe of the staging table each).
        if report.full && report.skipped == 0 {
            // The JSON comes from the row's last entry; a row without one
            // fails the insert (the column is NOT NULL) rather than being
            // deleted unlogged.
            let deleted = sqlx::query(&format!(
                "INSERT INTO changes (seq, at, action, source, native_id, run, campaign) \
                 SELECT $1 + ROW_NUMBER() OVER (ORDER BY c.native_id) - 1, $2, 'deleted', \
                   c.source, c.native_id, $3, \
                   (SELECT ch.campaign FROM changes ch WHERE ch.seq = c.seq) \
                 FROM campaigns c WHERE {}",
                gone("c", 4, 5)
            ))
            .bind(next_seq)
            .bind(now.clone())
            .bind(run)
            .bind(source.to_owned())
            .bind(part.to_owned())
            .execute(&mut *conn)
            .await
            .map_err(db("change log"))?
            .rows_affected();
            sqlx::query(&format!(
                "UPDATE campaigns AS c SET deleted_at = $1 WHERE {}",
                gone("c", 2, 3)
            ))
            .bind(now.clone())
            .bind(source.to_owned())
            .bind(part.to_owned())
            .execute(&mut *conn)
            .await
            .map_err(db("deletions"))?;
            report.deleted = deleted;
            next_seq += i64::try_from(deleted).unwrap_or(i64::MAX);
        }
        // A write that is large beside the table goes faster with the
        // secondary indexes built afresh after it than kept up row by row.
        self.suspend_indexes_for_bulk_write(conn, report.added, report.updated)
            .await
            .map_err(db("indexes"))?;
        // Each row points at the entry just logged for it (the same numbering).
        sqlx::query(&format!(
            "INSERT INTO campaigns (source, native_id, part, provider, name, channel, status, \
               priority, dialing_mode, created_at, updated_at, seq, content_hash, \
               first_seen_at, last_seen_at, deleted_at) \
             SELECT source, native_id, part, provider, name, channel, status, priority, \
               dialing_mode, created_at, updated_at, {STAGED_SEQ}, content_hash, $2, $2, NULL \
             FROM sync_staging s WHERE action <> 'unchanged' \
             ON CONFLICT (source, native_id) DO UPDATE SET part = excluded.part, \
               provider = excluded.provider, name = excluded.name, channel = excluded.channel, \
               status = excluded.status, priority = excluded.priority, \
               dialing_mode = excluded.dialing_mode, created_at = excluded.created_at, \
               updated_at = excluded.updated_at, seq = excluded.seq, \
               content_hash = excluded.content_hash, last_seen_at = excluded.last_seen_at, \
               deleted_at = NULL"
        ))
        .bind(first_seq)
        .bind(now.clone())
        .execute(&mut *conn)
        .await
        .map_err(db("campaigns"))?;
        // An unchanged campaign listed under another partition moves there,
        // quietly (its content did not change).
        sqlx::query(
            "UPDATE campaigns SET part = s.part FROM sync_staging s \
             WHERE campaigns.source = s.source AND campaigns.native_id = s.native_id \
               AND s.action = 'unchanged' AND campaigns.part <> s.part",
        )
        .execute(&mut *conn)
        .await
        .map_err(db("partitions"))?;
        sqlx::query("UPDATE store_counters SET next_seq = $1 WHERE id = 1")
            .bind(next_seq)
            .execute(&mut *conn)
            .await
            .map_err(db("counters"))?;
        let full_at = (report.full && report.skipped == 0).then(|| now.clone());
        let (sort_checked_at, sort_honoured) = state.sort_check.unzip();
        // The bookmark only moves forward; the last check of the sort
        // stands until another is made.
        sqlx::query(
            "INSERT INTO sync_state (source, part, last_full_at, bookmark, sort_checked_at, \
               sort_honoured) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (source, part) DO UPDATE SET \
               last_full_at = COALESCE(excluded.last_full_at, sync_state.last_full_at), \
               bookmark = CASE WHEN sync_state.bookmark IS NULL \
                 OR excluded.bookmark > sync_state.bookmark \
                 THEN excluded.bookmark ELSE sync_state.bookmark END, \
               sort_checked_at = COALESCE(excluded.sort_checked_at, sync_state.sort_checked_at), \
               sort_honoured = COALESCE(excluded.sort_honoured, sync_state.sort_honoured)",
        )
        .bind(source.to_owned())
        .bind(part.to_owned())
        .bind(full_at)
        .bind(state.bookmark)
        .bind(sort_checked_at)
        .bind(sort_honoured.map(i64::from))
        .execute(&mut *conn)
        .await
        .map_err(db("sync state"))?;
        self.log_run(conn, at, &now, report).await
    }

    /// Adds the partition's entry to the run log.
    pub(super) async fn log_run(
        &self,
        conn: &mut AnyConnection,
        at: &PartRun<'_>,
        finished: &str,
        report: &PartitionReport,
    ) -> Result<(), StoreError> {
        let PartRun {
            run,
            source,
            part,
            started,
        } = *at;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO runs (run, source, part, started_at, finished_at, full_listing, added, \
               updated, deleted, unchanged, skipped, requests, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(run)
        .bind(source.to_owned())
        .bind(part.to_owned())
        .bind(started.to_owned())
        .bind(finished.to_owned())
        .bind(i64::from(report.full))
        .bind(count(report.added))
        .bind(count(report.updated))
        .bind(count(report.deleted))
        .bind(count(report.unchanged))
        .bind(count(report.skipped))
        .bind(count(report.requests))
        .bind(report.error.as_ref().map(ToString::to_string))
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db(format!("cannot log the run of {source}")))?;
        Ok(())
    }

    /// On SQLite, when writing `added` new and `updated` changed rows is a
    /// large share of the campaigns table, drops its secondary indexes,
    /// listing them in `suspended_indexes` with the statements that make
    /// them again ([`Store::restore_suspended_indexes`]). The caller's transaction
    /// holds the drop and the listing, so a failure or a crash leaves both
    /// or neither, and readers see the indexes until it commits (WAL
    /// readers keep the last commit). PostgreSQL keeps its indexes:
    /// dropping one there locks readers out of the table until the commit.
    async fn suspend_indexes_for_bulk_write(
        &self,
        conn: &mut AnyConnection,
        added: u64,
        updated: u64,
    ) -> Result<(), sqlx::Error> {
        let writing = added + updated;
        if self.backend() != Backend::Sqlite || writing == 0 {
            return Ok(());
        }
        let stored: i64 = sqlx::query("SELECT COUNT(*) FROM campaigns")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        let after = u64::try_from(stored).unwrap_or_default() + added;
        if writing.saturating_mul(REBUILD_SHARE) < after {
            return Ok(());
        }
        // The definitions come from the schema itself (the primary key's
        // has none and stays), so this follows the migrations.
        let indexes = sqlx::query(
            "SELECT name, sql FROM sqlite_schema \
             WHERE type = 'index' AND tbl_name = 'campaigns' AND sql IS NOT NULL",
        )
        .fetch_all(&mut *conn)
        .await?;
        for index in indexes {
            let name: String = index.try_get(0)?;
            let sql: String = index.try_get(1)?;
            sqlx::query(
                "INSERT INTO suspended_indexes (name, sql) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET sql = excluded.sql",
            )
            .bind(name.clone())
            .bind(sql)
            .execute(&mut *conn)
            .await?;
            sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Makes again the indexes bulk writes suspended (SQLite only), unless
    /// some exist by now (another process made them), and empties the list:
    /// in a transaction of its own, in the writers' queue.
    pub(super) async fn restore_suspended_indexes(&self) -> Result<(), StoreError> {
        let db = || StoreError::db(REBUILDING_INDEXES);
        let _writing = self.writer.lock().await;
        let mut conn = self.pool.acquire().await.map_err(db())?;
        let mut tx = conn.begin().await.map_err(db())?;
        let suspended = sqlx::query(
            "SELECT sql FROM suspended_indexes s WHERE NOT EXISTS \
             (SELECT 1 FROM sqlite_schema i WHERE i.type = 'index' AND i.name = s.name)",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db())?;
        for index in suspended {
            let sql: String = index.try_get(0).map_err(db())?;
            sqlx::query(&sql).execute(&mut *tx).await.map_err(db())?;
        }
        sqlx::query("DELETE FROM suspended_indexes")
            .execute(&mut *tx)
            .await
            .map_err(db())?;
        tx.commit().await.map_err(db())
    }

    /// Whether the caller's partition is the only one syncing in this
    /// process.
    fn last_partition_in_flight(&self) -> bool {
        self.partitions_in_flight.load(Ordering::Relaxed) <= 1
    }
}

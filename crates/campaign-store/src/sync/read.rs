//! The read half of a sync: a partition walked into the connection's
//! staging table, outside the write transaction (the provider may be slow;
//! readers and other writers go on).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{
    walk_position_chunks, Campaign, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Page,
    PageToken, PositionChunk, SourceError, SourcePosition, WalkOptions,
};
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::StreamExt;
use sqlx::{Acquire, AnyConnection};
use tokio_util::task::AbortOnDropHandle;

use crate::error::StoreError;
use crate::rows::CampaignRow;
use crate::store::{Backend, Store};

/// Rows staged per `INSERT` statement (13 parameters each, 13,000 in all:
/// within SQLite's 32,766 and PostgreSQL's 65,535). Each statement is a
/// round trip to sqlx's SQLite thread: a first sync of 200,000 took
/// 4.11-4.36 s with 1,000 against 4.32-4.37 s with 100 (6 runs each, by
/// hand), for about 30 MiB more at its peak.
const STAGE_BATCH: usize = 1000;

/// Batches listed but not yet staged, at most: the listing runs ahead of
/// the staging by this much and no more.
const STAGED_AHEAD: usize = 2;

/// What reading a partition found.
#[derive(Debug, Default)]
pub(super) struct Read {
    /// The newest change listed.
    pub(super) newest: Option<DateTime<Utc>>,
    /// Records the source skipped (the listing is then incomplete).
    pub(super) skipped: u64,
    /// A failure of the source, which ends what the partition's sync writes.
    pub(super) error: Option<SourceError>,
    /// An incremental read found the provider's order broken: the source
    /// listed the rest from a local sort, of the changes only, so the read
    /// cannot stand for the partition whole. Nothing was staged.
    pub(super) order_broken: bool,
    /// A full read asked for a sort found the provider's order broken: the
    /// source listed the rest from a local sort (the listing is whole).
    pub(super) sorted_locally: bool,
    /// Pages asked of the source.
    pub(super) requests: u64,
}

impl Store {
    /// Walks `part` for `query` into the staging table, in one transaction
    /// on the staging table only (rolled back if this future is dropped).
    /// `incremental`: the query lists changes newest first since an
    /// instant, and relies on the provider's order to end early.
    pub(super) async fn read_partition(
        &self,
        conn: &mut AnyConnection,
        part: &Arc<dyn CampaignSource>,
        query: &CampaignQuery,
        incremental: bool,
    ) -> Result<Read, StoreError> {
        let part_key = part.partition().unwrap_or_default();
        let counted = Arc::new(Counted::new(Arc::clone(part), incremental));
        let walk = walk_position_chunks(
            Arc::clone(&counted) as Arc<dyn CampaignSource>,
            query.clone(),
            SourcePosition::default(),
        );
        let mut stage = conn.begin().await.map_err(StoreError::db("cannot stage"))?;
        // The listing is decoded while the batch before it is staged (on
        // the connection's own thread): a partition's read takes the longer
        // of the two, not their sum.
        let (batches, listed_rows) = tokio::sync::mpsc::channel(STAGED_AHEAD);
        let (listed, staged) = tokio::join!(list_batches(walk, incremental, batches), async {
            // Owned here, so that a failed write drops it and the listing,
            // its batches refused, stops rather than waits.
            let mut listed_rows = listed_rows;
            let mut first = 0i64;
            while let Some(batch) = listed_rows.recv().await {
                let rows = batch.len() as i64;
                self.stage(&mut stage, &part_key, first, batch).await?;
                first += rows;
            }
            Ok::<_, StoreError>(())
        });
        // A failed write stops the listing (its batches go nowhere) and is
        // the one reported.
        staged?;
        let mut read = listed?;
        read.requests = counted.requests();
        if read.order_broken {
            stage
                .rollback()
                .await
                .map_err(StoreError::db("cannot stage"))?;
            return Ok(read);
        }
        // The merge finds staged rows by id. Built once the rows are in (a
        // sort), not kept up insert by insert (a staged row's id lands
        // anywhere in it): a first sync's staging took a third less time.
        // Unique, so an id listed twice fails the partition here (and only
        // it: the source's other partitions go on).
        sqlx::query("CREATE UNIQUE INDEX sync_staging_key ON sync_staging (source, native_id)")
            .execute(&mut *stage)
            .await
            .map_err(StoreError::db("cannot stage"))?;
        stage
            .commit()
            .await
            .map_err(StoreError::db("cannot stage"))?;
        Ok(read)
    }

    /// A connection's staging tables, emptied and without the index
    /// [`Store::read_partition`] builds at its end: the rows, numbered `n` in
    /// the order listed, and their JSON apart under the same `n`. The
    /// merge's comparisons, counts and row writes then read only the small
    /// rows, and each statement reads the staging in `n` order, as written,
    /// so nothing large is read out of place (the JSON in the rows, read in
    /// id order, made the change log's insert most of a merge).
    pub(super) async fn prepare_staging(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let (collate, key) = match self.backend() {
            // The exact spelling of a rowid alias: rows stored in `n` order.
            Backend::Sqlite => ("", "INTEGER PRIMARY KEY"),
            Backend::Postgres => (" COLLATE \"C\"", "BIGINT PRIMARY KEY"),
        };
        for create in [
            format!(
                "CREATE TEMP TABLE IF NOT EXISTS sync_staging (n {key}, \
                 source TEXT{collate} NOT NULL, native_id TEXT{collate} NOT NULL, \
                 part TEXT{collate} NOT NULL, provider TEXT NOT NULL, \
                 name TEXT{collate} NOT NULL, channel TEXT NOT NULL, status TEXT, \
                 priority BIGINT, dialing_mode TEXT, created_at TEXT{collate}, \
                 updated_at TEXT{collate}, content_hash TEXT NOT NULL, \
                 action TEXT NOT NULL DEFAULT 'added')"
            ),
            format!(
                "CREATE TEMP TABLE IF NOT EXISTS sync_staging_json (n {key}, \
                 campaign TEXT NOT NULL)"
            ),
            format!(
                "CREATE TEMP TABLE IF NOT EXISTS sync_kept (native_id TEXT{collate} PRIMARY KEY)"
            ),
        ] {
            sqlx::query(&create)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::db("cannot create the staging table"))?;
        }
        // Named in the temporary schema: unqualified, a missing one would
        // be looked for in the store's own.
        let temp = match self.backend() {
            Backend::Sqlite => "temp",
            Backend::Postgres => "pg_temp",
        };
        sqlx::query(&format!("DROP INDEX IF EXISTS {temp}.sync_staging_key"))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("cannot empty the staging table"))?;
        for table in ["sync_staging", "sync_staging_json", "sync_kept"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *conn)
                .await
                .map_err(StoreError::db("cannot empty the staging table"))?;
        }
        Ok(())
    }

    /// Stages `rows`, numbered from `first`.
    async fn stage(
        &self,
        conn: &mut AnyConnection,
        part: &str,
        first: i64,
        rows: Vec<CampaignRow>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let numbered = self.backend() == Backend::Postgres;
        let insert_rows = format!(
            "INSERT INTO sync_staging (n, source, native_id, part, provider, name, channel, \
             status, priority, dialing_mode, created_at, updated_at, content_hash) VALUES {}",
            placeholders(rows.len(), 13, numbered)
        );
        let insert_json = format!(
            "INSERT INTO sync_staging_json (n, campaign) VALUES {}",
            placeholders(rows.len(), 2, numbered)
        );
        let mut rows_query = sqlx::query(&insert_rows);
        let mut json_query = sqlx::query(&insert_json);
        // Borrowed, not moved: sqlx's `Any` copies every owned string it
        // binds once more.
        for (n, row) in (first..).zip(&rows) {
            rows_query = rows_query
                .bind(n)
                .bind(row.source.as_str())
                .bind(row.native_id.as_str())
                .bind(part)
                .bind(row.provider.as_str())
                .bind(row.name.as_str())
                .bind(row.channel.as_str())
                .bind(row.status.as_deref())
                .bind(row.priority)
                .bind(row.dialing_mode.as_deref())
                .bind(row.created_at.as_deref())
                .bind(row.updated_at.as_deref())
                .bind(row.content_hash.as_str());
            json_query = json_query.bind(n).bind(row.campaign.as_str());
        }
        rows_query
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("cannot stage campaigns"))?;
        json_query
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("cannot stage campaigns"))?;
        Ok(())
    }

    /// Lists `part` for `changes` and records the ids listed in the
    /// connection's `sync_kept` table, which the merge never deletes: what
    /// was just listed exists. Returns the requests made and the source's
    /// failure, if any.
    pub(super) async fn keep_listed(
        &self,
        conn: &mut AnyConnection,
        part: &Arc<dyn CampaignSource>,
        changes: &CampaignQuery,
    ) -> Result<Read, StoreError> {
        let counted = Arc::new(Counted::new(Arc::clone(part), true));
        let mut walk = walk_position_chunks(
            Arc::clone(&counted) as Arc<dyn CampaignSource>,
            changes.clone(),
            SourcePosition::default(),
        );
        let mut read = Read::default();
        let mut ids = Vec::new();
        while let Some(chunk) = walk.next().await {
            for item in chunk.items {
                match item {
                    Ok(positioned) => ids.push(positioned.campaign.id.native),
                    Err(error) => read.error = Some(error),
                }
            }
        }
        read.requests = counted.requests();
        let numbered = self.backend() == Backend::Postgres;
        for batch in ids.chunks(STAGE_BATCH) {
            let sql = format!(
                "INSERT INTO sync_kept (native_id) VALUES {} ON CONFLICT DO NOTHING",
                placeholders(batch.len(), 1, numbered)
            );
            let mut insert = sqlx::query(&sql);
            for id in batch {
                insert = insert.bind(id.as_str());
            }
            insert
                .execute(&mut *conn)
                .await
                .map_err(StoreError::db("cannot stage campaigns"))?;
        }
        Ok(read)
    }
}

/// Lists `walk` as batches of rows sent to `batches`, and what it found.
/// Stops at an incremental read's broken order (nothing more is sent), or
/// when the batches' receiver is gone (staging failed).
async fn list_batches(
    mut walk: BoxStream<'static, PositionChunk>,
    incremental: bool,
    batches: tokio::sync::mpsc::Sender<Vec<CampaignRow>>,
) -> Result<Read, StoreError> {
    let mut read = Read::default();
    let mut batch = Vec::with_capacity(STAGE_BATCH);
    while let Some(chunk) = walk.next().await {
        if chunk.warnings.iter().any(|w| w.sorted_locally) {
            if incremental {
                read.order_broken = true;
                return Ok(read);
            }
            read.sorted_locally = true;
        }
        read.skipped += chunk
            .warnings
            .iter()
            .filter(|w| w.skipped.is_some())
            .count() as u64;
        for item in chunk.items {
            match item {
                Ok(positioned) => {
                    let campaign = positioned.campaign;
                    read.newest = read.newest.max(campaign.updated_at);
                    batch.push(CampaignRow::new(&campaign)?);
                }
                Err(error) => read.error = Some(error),
            }
            if batch.len() == STAGE_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STAGE_BATCH));
                if batches.send(full).await.is_err() {
                    return Ok(read);
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = batches.send(batch).await;
    }
    Ok(read)
}

/// `(?,?),(?,?)` for `rows` rows of `columns` values. SQLite gets plain
/// `?`: sqlx binds a numbered placeholder by looking its name up among all
/// of the statement's, which made a 1,300-placeholder INSERT cost time
/// quadratic in its size (most of a full sync, measured). PostgreSQL only
/// takes `$N`.
fn placeholders(rows: usize, columns: usize, numbered: bool) -> String {
    let mut sql = String::with_capacity(rows * columns * 4);
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 1..=columns {
            if column > 1 {
                sql.push(',');
            }
            if numbered {
                sql.push_str(&format!("${}", i * columns + column));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// A partition whose page requests are counted.
#[derive(Debug)]
struct Counted {
    inner: Arc<dyn CampaignSource>,
    requests: AtomicU64,
    /// Read newest change first until one older than the bookmark: pages
    /// are asked for one at a time, so none is asked for past that one.
    incremental: bool,
}

impl Counted {
    fn new(inner: Arc<dyn CampaignSource>, incremental: bool) -> Self {
        Self {
            inner,
            requests: AtomicU64::new(0),
            incremental,
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl CampaignSource for Counted {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn provider(&self) -> &str {
        self.inner.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn capabilities_at_provider(&self) -> bool {
        self.inner.capabilities_at_provider()
    }
    fn walk_options(&self) -> WalkOptions {
        let options = self.inner.walk_options();
        if self.incremental {
            // Pages read ahead would be requests past the end of what changed.
            WalkOptions {
                prefetch: 1,
                ..options
            }
        } else {
            options
        }
    }
    fn partition(&self) -> Option<String> {
        self.inner.partition()
    }

    fn lists_changes_cheaply(&self) -> bool {
        self.inner.lists_changes_cheaply()
    }

    fn token_after(&self, query: &CampaignQuery, campaign: &Campaign) -> Option<PageToken> {
        self.inner.token_after(query, campaign)
    }
    async fn fetch_page(
        &self,
        query: &CampaignQuery,
        token: Option<PageToken>,
    ) -> campaign_core::Result<Page> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        // On a task of its own: the page's decoding then runs beside the
        // partition's own work (its rows, its staging) rather than between
        // it (a first sync of 200,000: 3.87-4.20 s, 4.01-4.43 s awaited in
        // place; 5 runs each). Dropped with the walk, the fetch stops.
        let (inner, query) = (Arc::clone(&self.inner), query.clone());
        let fetch = AbortOnDropHandle::new(tokio::spawn(async move {
            inner.fetch_page(&query, token).await
        }));
        fetch.await.unwrap_or_else(|stopped| {
            Err(SourceError::new(
                ErrorKind::Protocol,
                self.inner.id(),
                "the page's request did not complete",
            )
            .with_cause(stopped))
        })
    }
}

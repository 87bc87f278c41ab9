//! Syncing sources into the store: each partition read whole, compared with
//! what is stored, and its changes committed at once with its run entry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use campaign_core::{
    walk_position_chunks, Campaign, CampaignQuery, CampaignSource, Capabilities, Page, PageToken,
    Sort, SortField, SourceError, SourcePosition, WalkOptions,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use sqlx::{Acquire, AnyConnection, Row};

use crate::error::StoreError;
use crate::rows::{parse_timestamp, timestamp, CampaignRow};
use crate::store::{Backend, Store};

mod merge;

use merge::PartRun;

/// Rows staged per `INSERT` statement (13 parameters each).
const STAGE_BATCH: usize = 100;

/// How long an incremental read looks back before the last change it saw
/// (campaigns changed at the same instant, or seen late, are read again).
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(5 * 60);
/// How old a partition's last complete listing may get before a sync reads
/// it whole again (incremental reads cannot see deletions).
pub const DEFAULT_FULL_REFRESH_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// How a sync reads its sources. Start from [`SyncOptions::default`] and set
/// the fields.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Campaigns per provider request; `None` leaves each source's default.
    pub page_size: Option<u32>,
    /// Read every partition whole, even where an incremental read would do.
    pub full: bool,
    /// See [`DEFAULT_OVERLAP`].
    pub overlap: Duration,
    /// See [`DEFAULT_FULL_REFRESH_EVERY`].
    pub full_refresh_every: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page_size: None,
            full: false,
            overlap: DEFAULT_OVERLAP,
            full_refresh_every: DEFAULT_FULL_REFRESH_EVERY,
        }
    }
}

/// What a partition's last syncs left: when it was last read whole, and
/// the newest change seen.
#[derive(Debug, Default)]
struct SyncState {
    last_full_at: Option<DateTime<Utc>>,
    bookmark: Option<DateTime<Utc>>,
}

/// What a sync did to one partition of a source (a CMS contact center, a
/// Kore channel, or a source read whole).
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct PartitionReport {
    /// The partition's label (`contact_center=7`); `None` for a source read whole.
    pub partition: Option<String>,
    /// Campaigns new to the store (or back after a deletion).
    pub added: u64,
    /// Campaigns whose fields or raw record changed.
    pub updated: u64,
    /// Campaigns gone from a complete listing of the partition.
    pub deleted: u64,
    /// Campaigns listed as stored: not written.
    pub unchanged: u64,
    /// Records the source skipped (reported as warnings): the listing was
    /// then incomplete, so nothing was deleted.
    pub skipped: u64,
    /// Pages requested from the source.
    pub requests: u64,
    /// Whether the partition was read whole (not incrementally).
    pub full: bool,
    /// Why the partition failed; then nothing of it was written.
    #[serde(serialize_with = "error_text")]
    pub error: Option<SourceError>,
}

/// What a sync did to one source: its partitions' counts summed.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct SourceReport {
    /// The source's name.
    pub source: String,
    /// Sum over the partitions.
    pub added: u64,
    /// Sum over the partitions.
    pub updated: u64,
    /// Sum over the partitions.
    pub deleted: u64,
    /// Sum over the partitions.
    pub unchanged: u64,
    /// Sum over the partitions.
    pub skipped: u64,
    /// Sum over the partitions.
    pub requests: u64,
    /// Whether every partition was read whole.
    pub full: bool,
    /// The partitions' failures, one line each; `None` when none failed.
    pub error: Option<String>,
    /// When another process was syncing this source: who (nothing was
    /// done; not a failure: several `sync --watch` processes split the
    /// sources this way).
    pub busy: Option<String>,
    /// Per partition.
    pub partitions: Vec<PartitionReport>,
}

impl SourceReport {
    /// Whether some partition failed.
    pub fn failed(&self) -> bool {
        self.partitions.iter().any(|p| p.error.is_some())
    }

    /// Whether every partition failed (nothing of the source was synced).
    pub fn failed_entirely(&self) -> bool {
        !self.partitions.is_empty() && self.partitions.iter().all(|p| p.error.is_some())
    }

    fn add(&mut self, part: PartitionReport) {
        self.added += part.added;
        self.updated += part.updated;
        self.deleted += part.deleted;
        self.unchanged += part.unchanged;
        self.skipped += part.skipped;
        self.requests += part.requests;
        self.full &= part.full;
        if let Some(error) = &part.error {
            let line = error.to_string();
            self.error = Some(match self.error.take() {
                Some(earlier) => format!("{earlier}; {line}"),
                None => line,
            });
        }
        self.partitions.push(part);
    }
}

fn error_text<S: serde::Serializer>(
    error: &Option<SourceError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match error {
        Some(error) => serializer.serialize_some(&error.to_string()),
        None => serializer.serialize_none(),
    }
}

impl Store {
    /// Starts a sync run and returns its number (for the run and change logs).
    pub async fn start_run(&self) -> Result<i64, StoreError> {
        sqlx::query(
            "UPDATE store_counters SET next_run = next_run + 1 WHERE id = 1 \
             RETURNING next_run - 1",
        )
        .fetch_one(&self.pool)
        .await
        .and_then(|row| row.try_get::<i64, _>(0))
        .map_err(StoreError::db("cannot start a sync run"))
    }

    /// Syncs `source` as part of run `run`: each of its partitions (or the
    /// source whole) is read completely, then compared with the store and
    /// its changes, change-log entries and run entry committed in one
    /// transaction. A partition that fails writes nothing but its run
    /// entry; one whose listing skipped records deletes nothing.
    ///
    /// # Errors
    /// Only store failures; a source's failures are in the report.
    pub async fn sync_source(
        &self,
        run: i64,
        source: Arc<dyn CampaignSource>,
        options: &SyncOptions,
    ) -> Result<SourceReport, StoreError> {
        let mut query = CampaignQuery::builder().unsorted();
        if let Some(size) = options.page_size {
            query = query.page_size(size);
        }
        let query = query.build().map_err(|e| StoreError::Corrupt {
            id: source.id().to_owned(),
            why: e.to_string(),
        })?;
        let parts = match source.partitions(&query) {
            parts if parts.is_empty() => vec![Arc::clone(&source)],
            parts => parts,
        };
        let mut report = SourceReport {
            source: source.id().to_owned(),
            full: true,
            ..SourceReport::default()
        };
        // Two syncs of one source never write at once.
        let Some(lease) = self.try_lease(source.id()).await? else {
            report.full = false;
            report.busy = Some(self.lease_holder(source.id()).await);
            return Ok(report);
        };
        let incremental_query = query
            .to_builder()
            .sort(Sort::desc(SortField::UpdatedAt))
            .build()
            .map_err(|e| StoreError::Corrupt {
                id: source.id().to_owned(),
                why: e.to_string(),
            })?;
        for part in parts {
            let state = self
                .sync_state(source.id(), &part.partition().unwrap_or_default())
                .await?;
            let since = incremental_since(&state, source.lists_changes_cheaply(), options);
            let query = match since {
                Some(_) => &incremental_query,
                None => &query,
            };
            let part = self
                .sync_partition(run, part, query, since, state.bookmark)
                .await?;
            report.add(part);
        }
        lease.release().await?;
        Ok(report)
    }

    async fn sync_state(&self, source: &str, part: &str) -> Result<SyncState, StoreError> {
        let row = sqlx::query(
            "SELECT last_full_at, bookmark FROM sync_state WHERE source = $1 AND part = $2",
        )
        .bind(source.to_owned())
        .bind(part.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("cannot read the sync state"))?;
        let Some(row) = row else {
            return Ok(SyncState::default());
        };
        let read = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
            let text: Option<String> = row
                .try_get(i)
                .map_err(StoreError::db("cannot read the sync state"))?;
            Ok(text.as_deref().and_then(parse_timestamp))
        };
        Ok(SyncState {
            last_full_at: read(0)?,
            bookmark: read(1)?,
        })
    }

    /// Reads one partition (whole, or `since` an instant: newest change
    /// first, stopping at the first older one) and saves what changed.
    async fn sync_partition(
        &self,
        run: i64,
        part: Arc<dyn CampaignSource>,
        query: &CampaignQuery,
        since: Option<DateTime<Utc>>,
        bookmark: Option<DateTime<Utc>>,
    ) -> Result<PartitionReport, StoreError> {
        let started = timestamp(Utc::now());
        let label = part.partition();
        let source_id = part.id().to_owned();
        let counted = Arc::new(Counted::new(part, since.is_some()));
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StoreError::db("cannot get a connection"))?;
        self.prepare_staging(&mut conn).await?;
        let mut report = PartitionReport {
            partition: label.clone(),
            full: since.is_none(),
            ..PartitionReport::default()
        };
        // The newest change seen: where the next incremental read starts.
        let mut newest = bookmark;
        // Read the whole partition into the staging table (outside the
        // write transaction: the provider may be slow, readers go on).
        let mut staged = Vec::with_capacity(STAGE_BATCH);
        let mut walk = walk_position_chunks(
            Arc::clone(&counted) as Arc<dyn CampaignSource>,
            query.clone(),
            SourcePosition::default(),
        );
        let part_key = label.clone().unwrap_or_default();
        // One transaction for the staged rows (the staging table only: no
        // lock on the store), rolled back if this future is dropped.
        let mut stage = conn.begin().await.map_err(StoreError::db("cannot stage"))?;
        'walk: while let Some(chunk) = walk.next().await {
            report.skipped += chunk
                .warnings
                .iter()
                .filter(|w| w.skipped.is_some())
                .count() as u64;
            if chunk.warnings.iter().any(|w| w.sorted_locally) {
                // The provider's order cannot be trusted to stop early: the
                // source read the rest whole, so this is a full listing.
                report.full = true;
            }
            for item in chunk.items {
                let campaign = match item {
                    Ok(positioned) => positioned.campaign,
                    Err(error) => {
                        report.error = Some(error);
                        continue;
                    }
                };
                if let (Some(since), false) = (since, report.full) {
                    // Newest change first: the first one older than the
                    // bookmark (less the overlap) ends what changed.
                    if campaign.updated_at.is_none_or(|at| at < since) {
                        break 'walk;
                    }
                }
                newest = newest.max(campaign.updated_at);
                staged.push(CampaignRow::new(&campaign)?);
                if staged.len() == STAGE_BATCH {
                    self.stage(&mut stage, &part_key, &staged).await?;
                    staged.clear();
                }
            }
        }
        drop(walk);
        self.stage(&mut stage, &part_key, &staged).await?;
        stage
            .commit()
            .await
            .map_err(StoreError::db("cannot stage"))?;
        report.requests = counted.requests();
        let finished = timestamp(Utc::now());
        let at = PartRun {
            run,
            source: &source_id,
            part: &part_key,
            started: &started,
        };
        if report.error.is_some() {
            self.log_run(&mut conn, &at, &finished, &report).await?;
            return Ok(report);
        }
        let bookmark = newest.map(timestamp);
        self.merge(&mut conn, &at, bookmark, &mut report).await?;
        Ok(report)
    }

    /// A connection's staging table, emptied.
    async fn prepare_staging(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let collate = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " COLLATE \"C\"",
        };
        let create = format!(
            "CREATE TEMP TABLE IF NOT EXISTS sync_staging (\
             source TEXT{collate} NOT NULL, native_id TEXT{collate} NOT NULL, \
             part TEXT{collate} NOT NULL, provider TEXT NOT NULL, name TEXT{collate} NOT NULL, \
             channel TEXT NOT NULL, status TEXT, priority BIGINT, dialing_mode TEXT, \
             created_at TEXT{collate}, updated_at TEXT{collate}, campaign TEXT NOT NULL, \
             content_hash TEXT NOT NULL, action TEXT NOT NULL DEFAULT 'added', \
             PRIMARY KEY (source, native_id))"
        );
        sqlx::query(&create)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("cannot create the staging table"))?;
        sqlx::query("DELETE FROM sync_staging")
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("cannot empty the staging table"))?;
        Ok(())
    }

    async fn stage(
        &self,
        conn: &mut AnyConnection,
        part: &str,
        rows: &[CampaignRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(
            "INSERT INTO sync_staging (source, native_id, part, provider, name, channel, status, \
             priority, dialing_mode, created_at, updated_at, campaign, content_hash) VALUES ",
        );
        // SQLite gets plain `?`: sqlx binds a numbered placeholder by
        // looking its name up among all of the statement's, which made a
        // 1,300-placeholder INSERT cost time quadratic in its size (most of
        // a full sync, measured). PostgreSQL only takes `$N`.
        let numbered = self.backend() == Backend::Postgres;
        for i in 0..rows.len() {
            let base = i * 13;
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for column in 1..=13 {
                if column > 1 {
                    sql.push(',');
                }
                if numbered {
                    sql.push_str(&format!("${}", base + column));
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        let mut insert = sqlx::query(&sql);
        for row in rows {
            insert = insert
                .bind(row.source.clone())
                .bind(row.native_id.clone())
                .bind(part.to_owned())
                .bind(row.provider.clone())
                .bind(row.name.clone())
                .bind(row.channel.clone())
                .bind(row.status.clone())
                .bind(row.priority)
                .bind(row.dialing_mode.clone())
                .bind(row.created_at.clone())
                .bind(row.updated_at.clone())
                .bind(row.campaign.clone())
                .bind(row.content_hash.clone());
        }
        insert
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db("cannot stage campaigns"))?;
        Ok(())
    }
}

/// Where an incremental read of a partition starts (its bookmark less the
/// overlap), or `None` when it must be read whole: the source cannot list
/// changes cheaply, `--full` was asked for, the partition was never read
/// whole or not for `full_refresh_every`, or nothing marks where to start.
fn incremental_since(
    state: &SyncState,
    cheap: bool,
    options: &SyncOptions,
) -> Option<DateTime<Utc>> {
    if options.full || !cheap {
        return None;
    }
    let refresh = chrono::TimeDelta::from_std(options.full_refresh_every).ok()?;
    let fresh = state
        .last_full_at
        .is_some_and(|at| Utc::now().signed_duration_since(at) < refresh);
    let overlap = chrono::TimeDelta::from_std(options.overlap).ok()?;
    fresh
        .then_some(state.bookmark)
        .flatten()
        .and_then(|bookmark| bookmark.checked_sub_signed(overlap))
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
        self.inner.fetch_page(query, token).await
    }
}

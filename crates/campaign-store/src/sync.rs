//! Syncing sources into the store: each partition read whole, compared with
//! what is stored, and its changes committed at once with its run entry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    CampaignQuery, CampaignQueryBuilder, CampaignSource, ErrorKind, Sort, SortField, SourceError,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use tokio_util::task::AbortOnDropHandle;

use crate::error::StoreError;
use crate::rows::{parse_timestamp, timestamp};
use crate::store::{Backend, Store};

mod merge;
mod read;

use merge::PartRun;

/// How long an incremental read looks back before the last read began (or
/// the newest change it saw, if later): it covers a provider clock behind
/// this machine's and changes that show late, and campaigns changed at the
/// boundary are read again.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(5 * 60);
/// How old a partition's last complete listing may get before a sync reads
/// it whole again (incremental reads cannot see deletions).
pub const DEFAULT_FULL_REFRESH_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// What a failed build of the indexes a bulk write suspended reports.
pub(super) const REBUILDING_INDEXES: &str = "cannot build the campaigns' indexes again";

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

/// What a partition's last syncs left: when it was last read whole, where
/// the next incremental read starts (less the overlap), and when a read
/// last checked the provider's sort, with what result.
#[derive(Debug, Default)]
struct SyncState {
    last_full_at: Option<DateTime<Utc>>,
    bookmark: Option<DateTime<Utc>>,
    sort_checked_at: Option<DateTime<Utc>>,
    sort_honoured: bool,
}

/// What a partition's sync changes in its sync state (stored forms).
pub(crate) struct StateUpdate {
    /// Where the next incremental read starts, less the overlap.
    pub(crate) bookmark: Option<String>,
    /// When the provider's sort was checked and whether it held.
    pub(crate) sort_check: Option<(String, bool)>,
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
        self.restore_indexes_if_idle().await?;
        // In the merges' queue: SQLite's busy handler alone could lose to
        // merges handing the lock on to each other.
        let _writing = self.writer.lock().await;
        sqlx::query(
            "UPDATE store_counters SET next_run = next_run + 1 WHERE id = 1 \
             RETURNING next_run - 1",
        )
        .fetch_one(&self.pool)
        .await
        .and_then(|row| row.try_get::<i64, _>(0))
        .map_err(StoreError::db("cannot start a sync run"))
    }

    /// Builds the indexes a bulk write suspended when no partition of this
    /// process is syncing: those of a sync that died (or was stopped) before
    /// its last merge, or whose last partitions failed.
    async fn restore_indexes_if_idle(&self) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite
            || self.partitions_in_flight.load(Ordering::Relaxed) > 0
        {
            return Ok(());
        }
        let db = StoreError::db(REBUILDING_INDEXES);
        let suspended: i64 = sqlx::query("SELECT COUNT(*) FROM suspended_indexes")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(db)?;
        if suspended == 0 {
            return Ok(());
        }
        self.restore_suspended_indexes().await
    }

    /// Syncs `source` as part of run `run`: each of its partitions (or the
    /// source whole) is read completely, then compared with the store and
    /// its changes, change-log entries and run entry committed in one
    /// transaction. A partition that fails writes nothing but its run
    /// entry; one whose listing skipped records deletes nothing.
    ///
    /// # Errors
    /// Only store failures before or after the partitions' syncs (the
    /// lease); a partition's failures, the store's included, are in the
    /// report, beside the other partitions' results.
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
        let newest_first = query.to_builder().sort(Sort::desc(SortField::UpdatedAt));
        let cheap = source.lists_changes_cheaply();
        // Partitions sync side by side, each on a task of its own so their
        // decoding shares the cores (at most `partition_slots` at once in
        // the store); each commits on its own. Dropping this future aborts
        // them, which rolls back what they had not committed.
        let tasks: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let label = part.partition();
                let store = self.clone();
                let in_flight = InFlight::new(&self.partitions_in_flight);
                let (whole, newest_first) = (query.clone(), newest_first.clone());
                let options = options.clone();
                let task = tokio::spawn(async move {
                    let _in_flight = in_flight;
                    store
                        .sync_partition(run, part, &whole, newest_first, cheap, &options)
                        .await
                });
                (label, AbortOnDropHandle::new(task))
            })
            .collect();
        // Every task is awaited, failed or not: a partition's failure, the
        // store's included, is that partition's, and the others go on.
        for (label, task) in tasks {
            let part = match task.await {
                Ok(Ok(part)) => part,
                Ok(Err(failed)) => PartitionReport {
                    partition: label,
                    error: Some(failed.to_source_error(source.id())),
                    ..PartitionReport::default()
                },
                Err(joined) => PartitionReport {
                    partition: label,
                    error: Some(
                        SourceError::new(
                            ErrorKind::Protocol,
                            source.id(),
                            "the partition's sync did not complete",
                        )
                        .with_cause(joined),
                    ),
                    ..PartitionReport::default()
                },
            };
            report.add(part);
        }
        // The last partition's merge built the suspended indexes again,
        // unless it failed.
        self.restore_indexes_if_idle().await?;
        lease.release().await?;
        Ok(report)
    }

    async fn sync_state(&self, source: &str, part: &str) -> Result<SyncState, StoreError> {
        let row = sqlx::query(
            "SELECT last_full_at, bookmark, sort_checked_at, sort_honoured FROM sync_state \
             WHERE source = $1 AND part = $2",
        )
        .bind(source.to_owned())
        .bind(part.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("cannot read the sync state"))?;
        let Some(row) = row else {
            return Ok(SyncState::default());
        };
        let db = StoreError::db("cannot read the sync state");
        let read = |i: usize| -> Result<Option<DateTime<Utc>>, sqlx::Error> {
            let text: Option<String> = row.try_get(i)?;
            Ok(text.as_deref().and_then(parse_timestamp))
        };
        let state = (|| {
            Ok(SyncState {
                last_full_at: read(0)?,
                bookmark: read(1)?,
                sort_checked_at: read(2)?,
                sort_honoured: row.try_get::<Option<i64>, _>(3)? == Some(1),
            })
        })();
        state.map_err(db)
    }

    /// Reads one partition (whole, or its changes newest first since the
    /// bookmark less the overlap) and saves what changed.
    async fn sync_partition(
        &self,
        run: i64,
        part: Arc<dyn CampaignSource>,
        whole: &CampaignQuery,
        newest_first: CampaignQueryBuilder,
        cheap: bool,
        options: &SyncOptions,
    ) -> Result<PartitionReport, StoreError> {
        // Never closed; waits for as long as other partitions read.
        let _slot = self.partition_slots.acquire().await.ok();
        let label = part.partition();
        let source_id = part.id().to_owned();
        let state = self
            .sync_state(&source_id, label.as_deref().unwrap_or_default())
            .await?;
        let build = |query: CampaignQueryBuilder| {
            query.build().map_err(|e| StoreError::Corrupt {
                id: source_id.clone(),
                why: e.to_string(),
            })
        };
        let incremental = plan_reading(&state, cheap, options)
            .map(|(since, sort_verified)| {
                let query = build(
                    newest_first
                        .clone()
                        .updated_from(since)
                        .sort_verified(sort_verified),
                )?;
                Ok::<_, StoreError>(Incremental {
                    query,
                    sort_verified,
                })
            })
            .transpose()?;
        // A source that lists its changes newest first is read whole in that
        // order too, so that every full read checks (and renews the verdict
        // on) the order incremental reads rely on, across every page: a
        // probe cannot (a server sorting each page alone passes one).
        let whole = if cheap {
            build(newest_first.clone())?
        } else {
            whole.clone()
        };
        let bookmark = state.bookmark;
        let started_at = Utc::now();
        let started = timestamp(started_at);
        let mut conn = self
            .staging
            .acquire()
            .await
            .map_err(StoreError::db("cannot get a connection"))?;
        self.prepare_staging(&mut conn).await?;
        let mut report = PartitionReport {
            partition: label.clone(),
            ..PartitionReport::default()
        };
        // What this read learnt of the provider's sort: (when, honoured).
        let mut sort_check = None;
        let mut read = None;
        if let Some(incremental) = incremental {
            let changes = self
                .read_partition(&mut conn, &part, &incremental.query, true)
                .await?;
            if changes.order_broken {
                // The provider's order cannot be trusted to end a read
                // early: this one, and those of the next day, read whole.
                sort_check = Some((started.clone(), false));
                report.requests = changes.requests;
            } else {
                if !incremental.sort_verified {
                    sort_check = Some((started.clone(), true));
                }
                read = Some(changes);
            }
        }
        report.full = read.is_none();
        let read = match read {
            Some(read) => read,
            None => {
                let mut read = self.read_partition(&mut conn, &part, &whole, false).await?;
                // `whole` is newest first exactly for a source that lists
                // changes cheaply.
                let read_newest_first = cheap && read.error.is_none();
                // What a whole read newest first found of the sort; an
                // incremental read's own finding stands.
                if read_newest_first && sort_check.is_none() {
                    sort_check = Some((started.clone(), !read.sorted_locally));
                }
                if read_newest_first && !read.sorted_locally {
                    // Pages by offset over an order that edits change: a
                    // campaign changed during the read moved to a page
                    // already read. Those listed as changed since the read
                    // began (less the overlap) are kept from deletion.
                    let since = less_overlap(started_at, options).unwrap_or(started_at);
                    let changed =
                        build(newest_first.clone().updated_from(since).sort_verified(true))?;
                    let kept = self.keep_listed(&mut conn, &part, &changed).await?;
                    read.requests += kept.requests;
                    read.error = kept.error;
                }
                read
            }
        };
        report.requests += read.requests;
        report.skipped = read.skipped;
        report.error = read.error;
        let finished = timestamp(Utc::now());
        let part_key = label.unwrap_or_default();
        let at = PartRun {
            run,
            source: &source_id,
            part: &part_key,
            started: &started,
        };
        if report.error.is_some() {
            let _writing = self.writer.lock().await;
            self.log_run(&mut conn, &at, &finished, &report).await?;
            return Ok(report);
        }
        // Every change made before the read began was seen (or is at most
        // the overlap older than that, for clocks that differ and changes
        // that show late), so the next read starts there, or at the newest
        // change seen if the provider's clock runs ahead. A run of campaigns
        // changed at one instant long ago is then not read again each time.
        let state = StateUpdate {
            bookmark: bookmark
                .max(read.newest)
                .max(Some(started_at))
                .map(timestamp),
            sort_check,
        };
        self.merge(&mut conn, &at, state, &mut report).await?;
        Ok(report)
    }
}

/// A partition counted in [`Store::partitions_in_flight`] until dropped
/// (its sync finished, failed, or was cancelled).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An incremental read of a partition.
struct Incremental {
    /// The changes newest first since the bookmark less the overlap.
    query: CampaignQuery,
    /// Whether a recent read found the provider honouring that sort.
    sort_verified: bool,
}

/// Where an incremental read of a partition starts (its bookmark less the
/// overlap) and whether the provider's sort was found honoured within
/// `full_refresh_every`; `None` when it must be read whole: the source
/// cannot list changes cheaply, `--full` was asked for, the partition was
/// never read whole or not for `full_refresh_every`, a read within that
/// time found the provider's order broken, or nothing marks where to start.
fn plan_reading(
    state: &SyncState,
    cheap: bool,
    options: &SyncOptions,
) -> Option<(DateTime<Utc>, bool)> {
    if options.full || !cheap {
        return None;
    }
    if !recent(state.last_full_at, options) || sort_found_broken(state, options) {
        return None;
    }
    let sort_checked = recent(state.sort_checked_at, options);
    let since = less_overlap(state.bookmark?, options)?;
    Some((since, sort_checked && state.sort_honoured))
}

/// `at` less the overlap (`None` if it cannot be told).
fn less_overlap(at: DateTime<Utc>, options: &SyncOptions) -> Option<DateTime<Utc>> {
    at.checked_sub_signed(chrono::TimeDelta::from_std(options.overlap).ok()?)
}

/// Whether `at` is within `full_refresh_every` of now.
fn recent(at: Option<DateTime<Utc>>, options: &SyncOptions) -> bool {
    let Ok(refresh) = chrono::TimeDelta::from_std(options.full_refresh_every) else {
        return false;
    };
    at.is_some_and(|at| Utc::now().signed_duration_since(at) < refresh)
}

/// Whether a read within `full_refresh_every` found the provider's sort
/// broken (the verdict stands that long).
fn sort_found_broken(state: &SyncState, options: &SyncOptions) -> bool {
    recent(state.sort_checked_at, options) && !state.sort_honoured
}

#[cfg(test)]
mod tests;

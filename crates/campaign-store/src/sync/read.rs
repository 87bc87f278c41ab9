//! The read half of a sync: a partition walked into the connection's
//! staging table, outside the write transaction (the provider may be slow;
//! readers and other writers go on).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{
    walk_position_chunks, Campaign, CampaignQuery, CampaignSource, Capabilities, Page, PageToken,
    SourceError, SourcePosition, WalkOptions,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sqlx::{Acquire, AnyConnection};

use crate::error::StoreError;
use crate::rows::CampaignRow;
use crate::store::{Backend, Store};

/// Rows staged per `INSERT` statement (13 parameters each).
const STAGE_BATCH: usize = 100;

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
        let mut read = Read::default();
        let mut staged = Vec::with_capacity(STAGE_BATCH);
        let mut walk = walk_position_chunks(
            Arc::clone(&counted) as Arc<dyn CampaignSource>,
            query.clone(),
            SourcePosition::default(),
        );
        let mut stage = conn.begin().await.map_err(StoreError::db("cannot stage"))?;
        while let Some(chunk) = walk.next().await {
            if incremental && chunk.warnings.iter().any(|w| w.sorted_locally) {
                read.order_broken = true;
                break;
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
                        staged.push(CampaignRow::new(&campaign)?);
                    }
                    Err(error) => read.error = Some(error),
                }
                if staged.len() == STAGE_BATCH {
                    self.stage(&mut stage, &part_key, &staged).await?;
                    staged.clear();
                }
            }
        }
        drop(walk);
        read.requests = counted.requests();
        if read.order_broken {
            stage
                .rollback()
                .await
                .map_err(StoreError::db("cannot stage"))?;
            return Ok(read);
        }
        self.stage(&mut stage, &part_key, &staged).await?;
        stage
            .commit()
            .await
            .map_err(StoreError::db("cannot stage"))?;
        Ok(read)
    }

    /// A connection's staging table, emptied.
    pub(super) async fn prepare_staging(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
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

//! Reading the store as a [`CampaignSource`]: filters and sort as SQL,
//! with the semantics of `CampaignQuery::matches` and `compare`. A sorted
//! listing reads the campaigns that have the sort's value, then those
//! without (last in either direction), each part from an index in its
//! order (see `statement.rs`).

use std::fmt;

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Filter, Page, PageToken,
    Result, SortDirection, SortField, SourceError, WalkOptions,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::rows::{parse_campaign, split_joined, timestamp};
use crate::store::Store;
use statement::{may_be_missing, Order, Sql};

mod statement;

/// Campaigns per page when the query sets no page size.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The largest page the store serves.
pub const MAX_PAGE_SIZE: u32 = 10_000;

const TOKEN_PREFIX: &str = "store1.";

/// The store as a source: its campaigns (of every synced source, or of one),
/// filtered and sorted in SQL, paged by key, so filters, sort, pages,
/// cursors and the aggregate work on it exactly as on live sources.
///
/// Campaign ids keep the source they were synced from (`cms:1`). Deleted
/// campaigns are hidden unless [`StoreSource::including_deleted`].
///
/// The name filter is left to the walker: its case folding is Unicode's,
/// which neither SQLite's nor PostgreSQL's `lower` reproduces exactly.
#[derive(Clone)]
pub struct StoreSource {
    store: Store,
    id: String,
    only: Option<String>,
    include_deleted: bool,
}

impl fmt::Debug for StoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSource")
            .field("id", &self.id)
            .field("store", &self.store)
            .field("only", &self.only)
            .field("include_deleted", &self.include_deleted)
            .finish()
    }
}

impl StoreSource {
    /// Every campaign of the store, as a source named `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            id: "store".into(),
            only: None,
            include_deleted: false,
        }
    }

    /// The campaigns synced from `source` only, as a source of that name.
    pub fn for_source(store: Store, source: impl Into<String>) -> Self {
        let source = source.into();
        Self {
            store,
            id: source.clone(),
            only: Some(source),
            include_deleted: false,
        }
    }

    /// Also lists campaigns deleted at their provider (with `deleted_at`
    /// in the store; the campaign as it last was).
    pub fn including_deleted(mut self, yes: bool) -> Self {
        self.include_deleted = yes;
        self
    }
}

/// Where a page ends, as its token records it.
#[derive(Debug, Serialize, Deserialize)]
struct Mark {
    /// The query's fingerprint, hex.
    q: String,
    /// The last campaign's sort key (`None`: it had none, or no sort). It
    /// also says which part of a sorted listing the page ended in: those
    /// with a value or those without (which follow them).
    #[serde(default)]
    k: Option<String>,
    /// The last campaign's source.
    s: String,
    /// The last campaign's native id.
    i: String,
}

/// A campaign's value of `field`, as stored.
fn sort_value(field: SortField, campaign: &Campaign) -> Option<String> {
    match field {
        SortField::Name => Some(campaign.name.clone()),
        SortField::CreatedAt => campaign.created_at.map(timestamp),
        SortField::UpdatedAt => campaign.updated_at.map(timestamp),
    }
}

/// The token of the listing of `query` that continues after `last`.
fn mark_after(query: &CampaignQuery, last: &Campaign) -> PageToken {
    let mark = Mark {
        q: format!("{:016x}", query.fingerprint()),
        k: query.sort().and_then(|s| sort_value(s.field, last)),
        s: last.id.source.to_string(),
        i: last.id.native.clone(),
    };
    // Serializing strings cannot fail.
    let json = serde_json::to_string(&mark).unwrap_or_default();
    PageToken::new(format!("{TOKEN_PREFIX}{json}"))
}

impl StoreSource {
    fn invalid(&self, why: &str) -> SourceError {
        SourceError::new(
            ErrorKind::InvalidCursor,
            &self.id,
            format!("page token not issued by this store for this query: {why}"),
        )
    }

    fn decode(&self, query: &CampaignQuery, token: &PageToken) -> Result<Mark> {
        let json = token
            .as_str()
            .strip_prefix(TOKEN_PREFIX)
            .ok_or_else(|| self.invalid("unknown format"))?;
        let mark: Mark =
            serde_json::from_str(json).map_err(|_| self.invalid("unreadable contents"))?;
        if mark.q != format!("{:016x}", query.fingerprint()) {
            return Err(self.invalid("it belongs to a different query"));
        }
        Ok(mark)
    }

    /// The campaigns `sql` selects, read as one row ([`joined`](crate::rows::joined)) and sorted
    /// again by the very key of the statement's `ORDER BY` (the stored text
    /// of the sort value, then the id), which the keyset marks are made of.
    async fn campaigns(&self, order: Order, sql: Sql) -> Result<Vec<Campaign>> {
        let sql = sql.one_row(self.store.backend());
        let row = sql.query().fetch_one(&self.store.pool).await.map_err(|e| {
            SourceError::new(ErrorKind::Transport, &self.id, "cannot read the store")
                .with_request(format!("SELECT campaigns from {}", self.store.label()))
                .with_cause(e)
        })?;
        let read = |e: sqlx::Error| {
            SourceError::new(ErrorKind::Decode, &self.id, "a stored row cannot be read")
                .with_cause(e)
        };
        let count: i64 = row.try_get(0).map_err(read)?;
        let joined: Option<String> = row.try_get(1).map_err(read)?;
        let mut campaigns = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for (index, json) in split_joined(joined.as_deref()).into_iter().enumerate() {
            let label = format!("#{} of a page of {}", index + 1, self.store.label());
            campaigns.push(parse_campaign(&label, json).map_err(|e| e.to_source_error(&self.id))?);
        }
        if campaigns.len() as i64 != count {
            return Err(SourceError::new(
                ErrorKind::Decode,
                &self.id,
                format!(
                    "a page of {count} stored campaigns read as {}",
                    campaigns.len()
                ),
            ));
        }
        match order {
            Order::Keyed(sort) => campaigns.sort_by_cached_key(|c| {
                let key = sort_value(sort.field, c);
                match sort.direction {
                    SortDirection::Asc => (key, None, c.id.clone()),
                    SortDirection::Desc => (None, Some(std::cmp::Reverse(key)), c.id.clone()),
                }
            }),
            Order::Id | Order::Tie(_) => campaigns.sort_by(|a, b| a.id.cmp(&b.id)),
        }
        Ok(campaigns)
    }

    /// The campaign `native` of the source `source`, read by its key; `None`
    /// when the store does not hold it (or holds it deleted and deleted
    /// campaigns are hidden), or it belongs to another source than the one
    /// this source is [limited to](StoreSource::for_source).
    ///
    /// # Errors
    /// The store cannot be read, or the stored row cannot be decoded.
    pub async fn campaign(&self, source: &str, native: &str) -> Result<Option<Campaign>> {
        if self.only.as_deref().is_some_and(|only| only != source) {
            return Ok(None);
        }
        let deleted = if self.include_deleted {
            ""
        } else {
            " AND c.deleted_at IS NULL"
        };
        let text = format!(
            "SELECT ch.campaign FROM campaigns c LEFT JOIN changes ch ON ch.seq = c.seq \
             WHERE c.source = $1 AND c.native_id = $2{deleted}"
        );
        let row = sqlx::query(&text)
            .bind(source)
            .bind(native)
            .fetch_optional(&self.store.pool)
            .await
            .map_err(|e| {
                SourceError::new(ErrorKind::Transport, &self.id, "cannot read the store")
                    .with_request(format!("SELECT campaign {source}:{native}"))
                    .with_cause(e)
            })?;
        let Some(row) = row else { return Ok(None) };
        let json: String = row.try_get(0).map_err(|e| {
            SourceError::new(ErrorKind::Decode, &self.id, "a stored row cannot be read")
                .with_cause(e)
        })?;
        parse_campaign(&format!("{source}:{native}"), &json)
            .map(Some)
            .map_err(|e| e.to_source_error(&self.id))
    }

    /// The next `limit` rows of `query` after `after`, in `compare`'s order:
    /// those with a sort value (by it, then by id), then those without (by
    /// id). Each part is one statement an index serves; the mark says which
    /// part it is in (a sort value or none). A descending sort first reads
    /// the rest of the mark's run of equal values.
    async fn next_rows(
        &self,
        query: &CampaignQuery,
        after: Option<&Mark>,
        limit: u32,
    ) -> Result<Vec<Campaign>> {
        let Some(sort) = query.sort() else {
            let sql = self.select(query, Order::Id, after, limit);
            return self.campaigns(Order::Id, sql).await;
        };
        let past_keyed = after.is_some_and(|mark| mark.k.is_none());
        let mut campaigns = Vec::new();
        if !past_keyed && sort.direction == SortDirection::Desc && after.is_some() {
            // The rest of the mark's run of equal values first: the keyed
            // statement of a descending sort starts past it.
            let order = Order::Tie(sort.field);
            let sql = self.select(query, order, after, limit);
            campaigns = self.campaigns(order, sql).await?;
        }
        let short = limit.saturating_sub(campaigns.len() as u32);
        if !past_keyed && short > 0 {
            let order = Order::Keyed(sort);
            let sql = self.select(query, order, after, short);
            campaigns.extend(self.campaigns(order, sql).await?);
        }
        let short = limit.saturating_sub(campaigns.len() as u32);
        if short > 0 && may_be_missing(sort.field) {
            let after = after.filter(|_| past_keyed);
            let order = Order::Tie(sort.field);
            let sql = self.select(query, order, after, short);
            campaigns.extend(self.campaigns(order, sql).await?);
        }
        Ok(campaigns)
    }
}

/// What the store applies in SQL: every filter but the name, every sort.
fn capabilities() -> Capabilities {
    Capabilities {
        filters: [
            Filter::Channel,
            Filter::Status,
            Filter::Priority,
            Filter::DialingMode,
            Filter::CreatedRange,
            Filter::UpdatedRange,
        ]
        .into(),
        sorts: SortField::ALL.into(),
        max_page_size: Some(MAX_PAGE_SIZE),
        server_paging: true,
    }
}

#[async_trait]
impl CampaignSource for StoreSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn provider(&self) -> &str {
        "store"
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn walk_options(&self) -> WalkOptions {
        // Pages follow the sort's key and then the primary key, past the
        // last row of the page before: no campaign comes twice.
        WalkOptions {
            ids_unique: true,
            ..WalkOptions::default()
        }
    }

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let after = token.as_ref().map(|t| self.decode(query, t)).transpose()?;
        let size = query
            .page_size()
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        // One more than the page, to know whether another follows.
        let mut items = self.next_rows(query, after.as_ref(), size + 1).await?;
        let more = items.len() > size as usize;
        items.truncate(size as usize);
        let next = match items.last() {
            Some(last) if more => Some(mark_after(query, last)),
            _ => None,
        };
        Ok(Page::new(items, next))
    }

    /// Every token is a keyset mark, so one can be made after any campaign.
    fn token_after(&self, query: &CampaignQuery, campaign: &Campaign) -> Option<PageToken> {
        Some(mark_after(query, campaign))
    }
}

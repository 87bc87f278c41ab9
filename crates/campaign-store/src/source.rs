//! Reading the store as a [`CampaignSource`]: filters and sort as SQL,
//! with the semantics of `CampaignQuery::matches` and `compare`.

use std::fmt;

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Filter, Page, PageToken,
    Result, SortDirection, SortField, SourceError,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::rows::{parse_campaign, timestamp};
use crate::store::Store;

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
    /// The last campaign's sort key (`None`: it had none, or no sort).
    #[serde(default)]
    k: Option<String>,
    s: String,
    i: String,
}

/// An SQL statement under construction, with its parameters in order.
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<Param>,
}

enum Param {
    Text(String),
    Int(i64),
}

impl Sql {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends a placeholder for `value`.
    fn param(&mut self, value: Param) {
        self.params.push(value);
        self.text.push_str(&format!("${}", self.params.len()));
    }

    fn list(&mut self, column: &str, values: Vec<Param>) {
        self.push(&format!(" AND {column} IN ("));
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(value);
        }
        self.push(")");
    }
}

/// The column a sort field lives in.
fn sort_column(field: SortField) -> &'static str {
    match field {
        SortField::Name => "name",
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
    }
}

/// A campaign's value of `field`, as stored.
fn sort_value(field: SortField, campaign: &Campaign) -> Option<String> {
    match field {
        SortField::Name => Some(campaign.name.clone()),
        SortField::CreatedAt => campaign.created_at.map(timestamp),
        SortField::UpdatedAt => campaign.updated_at.map(timestamp),
    }
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

    /// The statement for one page of `query` after `after`, `limit` rows.
    fn select(&self, query: &CampaignQuery, after: Option<&Mark>, limit: u32) -> Sql {
        let plan = capabilities().split(query);
        let pushed = &plan.pushdown;
        let mut sql = Sql::default();
        sql.push("SELECT source, native_id, campaign FROM campaigns WHERE 1 = 1");
        if !self.include_deleted {
            sql.push(" AND deleted_at IS NULL");
        }
        if let Some(source) = &self.only {
            sql.push(" AND source = ");
            sql.param(Param::Text(source.clone()));
        }
        let text = |values: Vec<String>| values.into_iter().map(Param::Text).collect();
        if !pushed.channels().is_empty() {
            let values = pushed
                .channels()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect();
            sql.list("channel", text(values));
        }
        if !pushed.statuses().is_empty() {
            let values = pushed
                .statuses()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect();
            sql.list("status", text(values));
        }
        if !pushed.priorities().is_empty() {
            let values = pushed
                .priorities()
                .iter()
                .map(|&p| Param::Int(i64::from(p)))
                .collect();
            sql.list("priority", values);
        }
        if !pushed.dialing_modes().is_empty() {
            let values = pushed
                .dialing_modes()
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect();
            sql.list("dialing_mode", text(values));
        }
        for (column, range) in [
            ("created_at", pushed.created()),
            ("updated_at", pushed.updated()),
        ] {
            if let Some(start) = range.start {
                sql.push(&format!(" AND {column} >= "));
                sql.param(Param::Text(timestamp(start)));
            }
            if let Some(end) = range.end {
                sql.push(&format!(" AND {column} < "));
                sql.param(Param::Text(timestamp(end)));
            }
        }
        let sort = query.sort();
        // The id breaks ties (and orders an unsorted query), as `compare` does.
        let id_after = |sql: &mut Sql, mark: &Mark| {
            sql.push("(source > ");
            sql.param(Param::Text(mark.s.clone()));
            sql.push(" OR (source = ");
            sql.param(Param::Text(mark.s.clone()));
            sql.push(" AND native_id > ");
            sql.param(Param::Text(mark.i.clone()));
            sql.push("))");
        };
        if let Some(mark) = after {
            sql.push(" AND ");
            match sort {
                None => id_after(&mut sql, mark),
                Some(sort) => {
                    let column = sort_column(sort.field);
                    let beyond = match sort.direction {
                        SortDirection::Asc => ">",
                        SortDirection::Desc => "<",
                    };
                    match &mark.k {
                        // Missing values sort last in either direction.
                        None => {
                            sql.push(&format!("{column} IS NULL AND "));
                            id_after(&mut sql, mark);
                        }
                        Some(key) => {
                            sql.push(&format!("({column} IS NULL OR {column} {beyond} "));
                            sql.param(Param::Text(key.clone()));
                            sql.push(&format!(" OR ({column} = "));
                            sql.param(Param::Text(key.clone()));
                            sql.push(" AND ");
                            id_after(&mut sql, mark);
                            sql.push("))");
                        }
                    }
                }
            }
        }
        sql.push(" ORDER BY ");
        if let Some(sort) = sort {
            let column = sort_column(sort.field);
            let direction = match sort.direction {
                SortDirection::Asc => "ASC",
                SortDirection::Desc => "DESC",
            };
            sql.push(&format!(
                "CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} {direction}, "
            ));
        }
        sql.push("source, native_id LIMIT ");
        sql.param(Param::Int(i64::from(limit)));
        sql
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

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let after = token.as_ref().map(|t| self.decode(query, t)).transpose()?;
        let size = query
            .page_size()
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        // One more than the page, to know whether another follows.
        let sql = self.select(query, after.as_ref(), size + 1);
        let mut select = sqlx::query(&sql.text);
        for param in sql.params {
            select = match param {
                Param::Text(text) => select.bind(text),
                Param::Int(n) => select.bind(n),
            };
        }
        let rows = select.fetch_all(&self.store.pool).await.map_err(|e| {
            SourceError::new(ErrorKind::Transport, &self.id, "cannot read the store")
                .with_request(format!("SELECT campaigns from {}", self.store.label()))
                .with_cause(e)
        })?;
        let more = rows.len() > size as usize;
        let mut items = Vec::with_capacity(rows.len().min(size as usize));
        for row in rows.iter().take(size as usize) {
            let read = |e: sqlx::Error| {
                SourceError::new(ErrorKind::Decode, &self.id, "a stored row cannot be read")
                    .with_cause(e)
            };
            let source: String = row.try_get(0).map_err(read)?;
            let native: String = row.try_get(1).map_err(read)?;
            let json: String = row.try_get(2).map_err(read)?;
            let campaign = parse_campaign(&format!("{source}:{native}"), &json)
                .map_err(|e| e.to_source_error(&self.id))?;
            items.push(campaign);
        }
        let next = match items.last() {
            Some(last) if more => {
                let mark = Mark {
                    q: format!("{:016x}", query.fingerprint()),
                    k: query.sort().and_then(|s| sort_value(s.field, last)),
                    s: last.id.source.to_string(),
                    i: last.id.native.clone(),
                };
                let json = serde_json::to_string(&mark).unwrap_or_default();
                Some(PageToken::new(format!("{TOKEN_PREFIX}{json}")))
            }
            _ => None,
        };
        Ok(Page::new(items, next))
    }
}

//! The change log: every `added`, `updated` and `deleted`, in `seq` order.

use std::fmt;

use campaign_core::Campaign;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::Row;

use crate::error::StoreError;
use crate::rows::{parse_campaign, parse_timestamp};
use crate::store::Store;

/// What happened to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// New to the store, or back after a deletion.
    Added,
    /// Its fields or raw record changed.
    Updated,
    /// Gone from a complete listing of its partition.
    Deleted,
}

impl Action {
    /// The action's name, as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Updated => "updated",
            Action::Deleted => "deleted",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "added" => Some(Action::Added),
            "updated" => Some(Action::Updated),
            "deleted" => Some(Action::Deleted),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// Position in the log: 1, 2, 3, ... without gaps.
    pub seq: i64,
    /// When the sync wrote it.
    pub at: DateTime<Utc>,
    /// What happened.
    pub action: Action,
    /// The campaign's id (`source:native`).
    pub id: String,
    /// The campaign's source.
    pub source: String,
    /// The campaign as it stands after the change (as it last was, for a
    /// deletion).
    pub campaign: Campaign,
}

/// One entry of the change log with its campaign as stored: the JSON the
/// sync wrote, checked to be JSON but not parsed. What passes entries on
/// (`campaigns changes`, `GET /v1/changes`) reads these, so it does not
/// parse and write each campaign again.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoredChange {
    /// Position in the log: 1, 2, 3, ... without gaps.
    pub seq: i64,
    /// When the sync wrote it.
    pub at: DateTime<Utc>,
    /// What happened.
    pub action: Action,
    /// The campaign's id (`source:native`).
    pub id: String,
    /// The campaign's source.
    pub source: String,
    /// The campaign as it stands after the change (as it last was, for a
    /// deletion): a [`Campaign`] as JSON.
    pub campaign: Box<RawValue>,
}

impl StoredChange {
    /// The entry with its campaign read.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the JSON is not a campaign.
    pub fn parse(self) -> Result<Change, StoreError> {
        Ok(Change {
            campaign: parse_campaign(&self.id, self.campaign.get())?,
            seq: self.seq,
            at: self.at,
            action: self.action,
            id: self.id,
            source: self.source,
        })
    }
}

/// Entries read by the first statement of a listing: a caller that wants a
/// few (`GET /v1/changes?limit=10`) reads few.
const FIRST_PAGE: i64 = 100;
/// Entries read by each later statement.
const PAGE: i64 = 1000;

impl Store {
    /// The change log after `since` (entries with `seq > since`), in order,
    /// of every source or only `source`, read a page at a time.
    pub fn changes(
        &self,
        since: i64,
        source: Option<&str>,
    ) -> BoxStream<'_, Result<Change, StoreError>> {
        self.stored_changes(since, source)
            .and_then(|change| async move { change.parse() })
            .boxed()
    }

    /// [`Store::changes`] with each campaign as stored (its JSON).
    ///
    /// Each page is one statement that seeks on `seq` and is read whole
    /// before its entries are handed on: SQLite's rows reach the async side
    /// one at a time through a channel, and a reader that does work between
    /// rows makes that a thread switch for each. Entries appended meanwhile
    /// are read too (their `seq` is greater).
    pub fn stored_changes(
        &self,
        since: i64,
        source: Option<&str>,
    ) -> BoxStream<'_, Result<StoredChange, StoreError>> {
        let source = source.map(str::to_owned);
        stream::try_unfold(Some((since, FIRST_PAGE)), move |next| {
            let source = source.clone();
            async move {
                let Some((after, size)) = next else {
                    return Ok(None);
                };
                let page = self.change_page(after, source.as_deref(), size).await?;
                let next = match page.last() {
                    Some(last) if page.len() as i64 == size => Some((last.seq, PAGE)),
                    _ => None,
                };
                Ok(Some((stream::iter(page.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .boxed()
    }

    /// Up to `size` entries after `after`, in order.
    async fn change_page(
        &self,
        after: i64,
        source: Option<&str>,
        size: i64,
    ) -> Result<Vec<StoredChange>, StoreError> {
        let query = match source {
            Some(source) => sqlx::query(
                "SELECT seq, at, action, source, native_id, campaign FROM changes \
                 WHERE seq > $1 AND source = $2 ORDER BY seq LIMIT $3",
            )
            .bind(after)
            .bind(source.to_owned()),
            None => sqlx::query(
                "SELECT seq, at, action, source, native_id, campaign FROM changes \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after),
        };
        let rows = query
            .bind(size)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("cannot read the change log"))?;
        rows.iter().map(stored_change).collect()
    }

    /// The newest `seq` of the change log (0 when it is empty).
    pub async fn last_seq(&self) -> Result<i64, StoreError> {
        sqlx::query("SELECT next_seq - 1 FROM store_counters WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(StoreError::db("cannot read the change log"))
    }
}

fn stored_change(row: &sqlx::any::AnyRow) -> Result<StoredChange, StoreError> {
    let read = |e: sqlx::Error| StoreError::db("cannot read the change log")(e);
    let seq: i64 = row.try_get(0).map_err(read)?;
    let at: String = row.try_get(1).map_err(read)?;
    let action: String = row.try_get(2).map_err(read)?;
    let source: String = row.try_get(3).map_err(read)?;
    let native: String = row.try_get(4).map_err(read)?;
    let json: String = row.try_get(5).map_err(read)?;
    let id = format!("{source}:{native}");
    let corrupt = |why: String| StoreError::Corrupt {
        id: id.clone(),
        why,
    };
    Ok(StoredChange {
        seq,
        at: parse_timestamp(&at).ok_or_else(|| corrupt(format!("change {seq}: time {at:?}")))?,
        action: Action::parse(&action)
            .ok_or_else(|| corrupt(format!("change {seq}: action {action:?}")))?,
        campaign: RawValue::from_string(json).map_err(|e| corrupt(format!("change {seq}: {e}")))?,
        id,
        source,
    })
}

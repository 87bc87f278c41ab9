//! The change log: every `added`, `updated` and `deleted`, in `seq` order.

use std::fmt;

use campaign_core::Campaign;
use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;
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

impl Store {
    /// The change log after `since` (entries with `seq > since`), in order,
    /// of every source or only `source`, streamed from the database.
    pub fn changes(
        &self,
        since: i64,
        source: Option<&str>,
    ) -> BoxStream<'_, Result<Change, StoreError>> {
        let query = match source {
            Some(source) => sqlx::query(
                "SELECT seq, at, action, source, native_id, campaign FROM changes \
                 WHERE seq > $1 AND source = $2 ORDER BY seq",
            )
            .bind(since)
            .bind(source.to_owned()),
            None => sqlx::query(
                "SELECT seq, at, action, source, native_id, campaign FROM changes \
                 WHERE seq > $1 ORDER BY seq",
            )
            .bind(since),
        };
        query
            .fetch(&self.pool)
            .map_err(|e| StoreError::db("cannot read the change log")(e))
            .and_then(|row| async move { change(&row) })
            .boxed()
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

fn change(row: &sqlx::any::AnyRow) -> Result<Change, StoreError> {
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
    Ok(Change {
        seq,
        at: parse_timestamp(&at).ok_or_else(|| corrupt(format!("change {seq}: time {at:?}")))?,
        action: Action::parse(&action)
            .ok_or_else(|| corrupt(format!("change {seq}: action {action:?}")))?,
        campaign: parse_campaign(&id, &json)?,
        id,
        source,
    })
}

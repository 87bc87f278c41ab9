//! The change log: every `added`, `updated` and `deleted`, in `seq` order.

use std::fmt;

use campaign_core::Campaign;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::Row;
use tokio_util::task::AbortOnDropHandle;

use crate::error::StoreError;
use crate::rows::{joined, parse_campaign, parse_timestamp, split_joined};
use crate::store::{Backend, Store};

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
    /// Each page is one statement that seeks on `seq`. The next page's
    /// statement runs (in a task of its own) while this page is decoded and
    /// handed on. Entries appended meanwhile are read too (their `seq` is
    /// greater).
    pub fn stored_changes(
        &self,
        since: i64,
        source: Option<&str>,
    ) -> BoxStream<'_, Result<StoredChange, StoreError>> {
        self.read_changes(since, source, None)
    }

    /// [`Store::stored_changes`], at most `limit` entries: no statement
    /// reads past them (a poll for the next ten entries reads ten, not a
    /// page ahead as well).
    pub fn stored_changes_up_to(
        &self,
        since: i64,
        source: Option<&str>,
        limit: usize,
    ) -> BoxStream<'_, Result<StoredChange, StoreError>> {
        self.read_changes(
            since,
            source,
            Some(i64::try_from(limit).unwrap_or(i64::MAX)),
        )
    }

    fn read_changes(
        &self,
        since: i64,
        source: Option<&str>,
        limit: Option<i64>,
    ) -> BoxStream<'_, Result<StoredChange, StoreError>> {
        let store = self.clone();
        let source = source.map(str::to_owned);
        let read = move |after: i64, size: i64| {
            let (store, source) = (store.clone(), source.clone());
            let task = async move { store.raw_page(after, source.as_deref(), size).await };
            (AbortOnDropHandle::new(tokio::spawn(task)), size)
        };
        // How many entries the next statement reads, `read` read so far.
        let next_size = move |read: i64, page: i64| match limit {
            Some(limit) => page.min(limit.saturating_sub(read)),
            None => page,
        };
        // The first read starts when the stream is first polled, inside
        // the caller's runtime.
        stream::try_unfold(Reading::Start(since), move |state| {
            let read = read.clone();
            async move {
                let (task, size, done) = match state {
                    Reading::Start(since) => match next_size(0, FIRST_PAGE) {
                        0 => return Ok(None),
                        size => {
                            let (task, size) = read(since, size);
                            (task, size, 0)
                        }
                    },
                    Reading::Next(task, size, done) => (task, size, done),
                    Reading::Done => return Ok(None),
                };
                let raw = task.await.map_err(|_| StoreError::Database {
                    what: "cannot read the change log".into(),
                    cause: sqlx::Error::WorkerCrashed,
                })??;
                let done = done + raw.count;
                let next = match (raw.last_seq, next_size(done, PAGE)) {
                    (Some(last), next) if raw.count == size && next > 0 => {
                        let (task, size) = read(last, next);
                        Reading::Next(task, size, done)
                    }
                    _ => Reading::Done,
                };
                let page = raw.decode()?;
                Ok(Some((stream::iter(page.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .boxed()
    }

    /// Up to `size` entries after `after`, in order, as one row: see
    /// [`RawPage`].
    async fn raw_page(
        &self,
        after: i64,
        source: Option<&str>,
        size: i64,
    ) -> Result<RawPage, StoreError> {
        // No ORDER BY in the aggregates (on SQLite it sorts the page again
        // in a temporary b-tree): `decode` puts the entries in order.
        let fields = match self.backend() {
            Backend::Sqlite => "json_group_array(json_array(seq, at, action, source, native_id))",
            Backend::Postgres => {
                "json_agg(json_build_array(seq, at, action, source, native_id))::text"
            }
        };
        let campaigns = joined(self.backend(), "campaign");
        let (only, limit) = match source {
            Some(_) => (" AND source = $2", "$3"),
            None => ("", "$2"),
        };
        let text = format!(
            "SELECT max(seq), count(*), {fields}, {campaigns} FROM (SELECT seq, at, action, \
             source, native_id, campaign FROM changes WHERE seq > $1{only} ORDER BY seq \
             LIMIT {limit}) AS page"
        );
        let mut query = sqlx::query(&text).bind(after);
        if let Some(source) = source {
            query = query.bind(source.to_owned());
        }
        let row = query
            .bind(size)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::db("cannot read the change log"))?;
        let read = |e: sqlx::Error| StoreError::db("cannot read the change log")(e);
        Ok(RawPage {
            after,
            last_seq: row.try_get(0).map_err(read)?,
            count: row.try_get(1).map_err(read)?,
            fields: row.try_get(2).map_err(read)?,
            campaigns: row.try_get(3).map_err(read)?,
        })
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

/// Where a reading of the change log stands.
enum Reading {
    /// Nothing read yet: start after this `seq`.
    Start(i64),
    /// The next page being read, the size asked for, and the entries read
    /// before it.
    Next(AbortOnDropHandle<Result<RawPage, StoreError>>, i64, i64),
    /// The last page was short: nothing more.
    Done,
}

/// A page of the change log as the database returns it: one row, not one
/// per entry (see [`joined`]), which is most of the speed of
/// `campaigns changes`.
struct RawPage {
    /// The `seq` the page starts after.
    after: i64,
    /// The page's last `seq` (`None`: empty page).
    last_seq: Option<i64>,
    /// Entries in the page.
    count: i64,
    /// The entries' other fields, as a JSON array of [`EntryFields`].
    fields: Option<String>,
    /// Their campaigns' JSON, [`joined`].
    campaigns: Option<String>,
}

impl RawPage {
    /// The page's entries, in `seq` order.
    fn decode(self) -> Result<Vec<StoredChange>, StoreError> {
        let corrupt = |why: String| StoreError::Corrupt {
            id: format!("change log after {}", self.after),
            why,
        };
        let fields: Vec<EntryFields> = match &self.fields {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| corrupt(format!("the entries' fields: {e}")))?,
            None => Vec::new(),
        };
        let parts = split_joined(self.campaigns.as_deref());
        if parts.len() != fields.len() || fields.len() as i64 != self.count {
            return Err(corrupt(format!(
                "{} entries, {} fields, {} campaigns",
                self.count,
                fields.len(),
                parts.len()
            )));
        }
        let mut page = fields
            .into_iter()
            .zip(parts)
            .map(|(entry, json)| stored_change(entry, json))
            .collect::<Result<Vec<_>, _>>()?;
        // Both aggregates read the rows in one pass, so each entry keeps its
        // campaign whatever order the database chose.
        if !page.is_sorted_by_key(|change| change.seq) {
            page.sort_by_key(|change| change.seq);
        }
        Ok(page)
    }
}

/// `seq`, `at`, `action`, `source`, `native_id` of one entry.
type EntryFields = (i64, String, String, String, String);

fn stored_change(fields: EntryFields, json: &str) -> Result<StoredChange, StoreError> {
    let (seq, at, action, source, native) = fields;
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
        campaign: RawValue::from_string(json.to_owned())
            .map_err(|e| corrupt(format!("change {seq}: {e}")))?,
        id,
        source,
    })
}

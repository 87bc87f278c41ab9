//! What to list: filters, sort and page size, with the one definition of
//! their semantics that every provider and the aggregate share.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Campaign, Channel, DialingMode, Status};

/// A half-open time interval: `start` inclusive, `end` exclusive; either end
/// may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TimeRange {
    /// Earliest instant included.
    pub start: Option<DateTime<Utc>>,
    /// First instant excluded.
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// True when neither end is set (the range filters nothing).
    pub fn is_unbounded(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    /// Whether a campaign's timestamp falls in the range. A missing
    /// timestamp never matches a bounded range.
    pub fn contains(&self, at: Option<DateTime<Utc>>) -> bool {
        if self.is_unbounded() {
            return true;
        }
        let Some(at) = at else { return false };
        self.start.is_none_or(|start| at >= start) && self.end.is_none_or(|end| at < end)
    }
}

/// A field a query can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    /// Campaign name (byte order of the UTF-8 text).
    Name,
    /// Creation time.
    CreatedAt,
    /// Last modification time.
    UpdatedAt,
}

impl SortField {
    /// Every sortable field.
    pub const ALL: [SortField; 3] = [SortField::Name, SortField::CreatedAt, SortField::UpdatedAt];

    /// The snake_case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Name => "name",
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A sort order: a field and a direction. Ties are always broken by
/// [`CampaignId`](crate::CampaignId) ascending, and campaigns missing the
/// field sort last in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sort {
    /// The field compared.
    pub field: SortField,
    /// The direction.
    pub direction: SortDirection,
}

impl Sort {
    /// Ascending by `field`.
    pub fn asc(field: SortField) -> Self {
        Self {
            field,
            direction: SortDirection::Asc,
        }
    }

    /// Descending by `field`.
    pub fn desc(field: SortField) -> Self {
        Self {
            field,
            direction: SortDirection::Desc,
        }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = match self.direction {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        };
        write!(f, "{}:{direction}", self.field.as_str())
    }
}

impl FromStr for Sort {
    type Err = QueryError;

    /// Parses `FIELD[:asc|desc]`, e.g. `created_at:desc` (direction defaults to asc).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (field, direction) = text.split_once(':').unwrap_or((text, "asc"));
        let field = SortField::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(field.trim()))
            .ok_or_else(|| {
                QueryError(format!(
                    "unknown sort field {field:?} (expected name, created_at or updated_at)"
                ))
            })?;
        let direction = match direction.trim().to_ascii_lowercase().as_str() {
            "asc" => SortDirection::Asc,
            "desc" => SortDirection::Desc,
            other => {
                return Err(QueryError(format!(
                    "unknown sort direction {other:?} (expected asc or desc)"
                )))
            }
        };
        Ok(Sort { field, direction })
    }
}

/// An invalid query (bad range, page size or sort spelling).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid query: {0}")]
pub struct QueryError(pub String);

/// What to list. Build with [`CampaignQuery::builder`]; an empty query lists
/// everything in source order.
///
/// Filters of different kinds combine with AND; values within one filter
/// combine with OR. A campaign without a field never matches a filter on it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CampaignQuery {
    channels: Vec<Channel>,
    statuses: Vec<Status>,
    priorities: Vec<u8>,
    dialing_modes: Vec<DialingMode>,
    created: TimeRange,
    updated: TimeRange,
    name_contains: Option<String>,
    sort: Option<Sort>,
    page_size: Option<u32>,
    /// A hint, not part of what is listed: see [`CampaignQuery::sort_verified`].
    #[serde(skip)]
    sort_verified: bool,
    /// A hint, not part of what is listed: see [`CampaignQuery::keeps_raw`].
    #[serde(skip)]
    drop_raw: bool,
    /// [`fingerprint`](CampaignQuery::fingerprint), once computed: sources
    /// stamp it on every page token and keyset mark they make.
    #[serde(skip)]
    fingerprint: Memo,
}

/// A computed fingerprint. Not part of the query's value: always equal, and
/// cleared by [`CampaignQueryBuilder::build`] since a builder may have
/// changed the query it was copied with.
#[derive(Clone, Default)]
struct Memo(std::sync::OnceLock<u64>);

impl PartialEq for Memo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Memo {}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}

impl CampaignQuery {
    /// A query that lists everything.
    pub fn all() -> Self {
        Self::default()
    }

    /// Starts building a query.
    pub fn builder() -> CampaignQueryBuilder {
        CampaignQueryBuilder::default()
    }

    /// A builder pre-filled with this query, to derive a variant.
    pub fn to_builder(&self) -> CampaignQueryBuilder {
        CampaignQueryBuilder {
            query: self.clone(),
        }
    }

    /// Channels accepted (empty: any).
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }
    /// Statuses accepted (empty: any).
    pub fn statuses(&self) -> &[Status] {
        &self.statuses
    }
    /// Priorities accepted (empty: any).
    pub fn priorities(&self) -> &[u8] {
        &self.priorities
    }
    /// Dialing modes accepted (empty: any).
    pub fn dialing_modes(&self) -> &[DialingMode] {
        &self.dialing_modes
    }
    /// Creation-time range.
    pub fn created(&self) -> TimeRange {
        self.created
    }
    /// Modification-time range.
    pub fn updated(&self) -> TimeRange {
        self.updated
    }
    /// Case-insensitive name substring.
    pub fn name_contains(&self) -> Option<&str> {
        self.name_contains.as_deref()
    }
    /// Sort order, if any.
    pub fn sort(&self) -> Option<Sort> {
        self.sort
    }
    /// Requested page size, if any.
    pub fn page_size(&self) -> Option<u32> {
        self.page_size
    }

    /// Whether the caller has seen the source's provider honour this sort
    /// recently (a sync that checked it within the day, say). Sources then
    /// skip the extra request that tells a server that sorts from one that
    /// only looks as if it did ([`crate::paging::sort_ignored`]); each
    /// page's order is still checked. Not part of the query's
    /// [`fingerprint`](Self::fingerprint): it changes how, not what.
    pub fn sort_verified(&self) -> bool {
        self.sort_verified
    }

    /// Whether the caller wants each campaign's original record in
    /// [`Campaign::raw`] (the default). When not, sources may leave it out,
    /// sparing its copy and its memory (a Genesys listing read whole for a
    /// local sort held about 2.7 KB of record a campaign); the listing is
    /// otherwise the same. Not part of the query's
    /// [`fingerprint`](Self::fingerprint): it changes what each campaign
    /// carries, not which campaigns are listed or in what order, so a cursor
    /// made with it resumes without it. A source that keeps campaigns
    /// between pages keys them on it too.
    pub fn keeps_raw(&self) -> bool {
        !self.drop_raw
    }

    /// Whether no campaign that sorts after `campaign` in this query's
    /// order can pass its range filter on the sort field, so a listing in
    /// that order can end here: sorted by a time newest first and already
    /// older than the range's start, or oldest first and at or past its
    /// end. Campaigns without the time sort last and match no range.
    pub fn beyond_sorted_range(&self, campaign: &Campaign) -> bool {
        let Some(Sort { field, direction }) = self.sort else {
            return false;
        };
        let (range, at) = match field {
            SortField::Name => return false,
            SortField::CreatedAt => (self.created, campaign.created_at),
            SortField::UpdatedAt => (self.updated, campaign.updated_at),
        };
        if range.is_unbounded() {
            return false;
        }
        let Some(at) = at else { return true };
        match direction {
            SortDirection::Desc => range.start.is_some_and(|start| at < start),
            SortDirection::Asc => range.end.is_some_and(|end| at >= end),
        }
    }

    /// True when the query has no filter at all (sort and page size aside).
    pub fn has_no_filter(&self) -> bool {
        self.channels.is_empty()
            && self.statuses.is_empty()
            && self.priorities.is_empty()
            && self.dialing_modes.is_empty()
            && self.created.is_unbounded()
            && self.updated.is_unbounded()
            && self.name_contains.is_none()
    }

    /// Whether `campaign` passes every filter of this query.
    pub fn matches(&self, campaign: &Campaign) -> bool {
        (self.channels.is_empty() || self.channels.contains(&campaign.channel))
            && (self.statuses.is_empty()
                || campaign
                    .status
                    .as_ref()
                    .is_some_and(|s| self.statuses.contains(s)))
            && (self.priorities.is_empty()
                || campaign
                    .priority
                    .is_some_and(|p| self.priorities.contains(&p)))
            && (self.dialing_modes.is_empty()
                || campaign
                    .dialing_mode
                    .as_ref()
                    .is_some_and(|m| self.dialing_modes.contains(m)))
            && self.created.contains(campaign.created_at)
            && self.updated.contains(campaign.updated_at)
            && self
                .name_contains
                .as_deref()
                .is_none_or(|needle| contains_ignore_case(&campaign.name, needle))
    }

    /// Orders two campaigns by this query's sort: missing values last in
    /// either direction, ties (and queries without a sort) by id ascending.
    #[inline]
    pub fn compare(&self, a: &Campaign, b: &Campaign) -> Ordering {
        self.compare_key(a, b).then_with(|| a.id.cmp(&b.id))
    }

    /// [`compare`](Self::compare) without the id: the order of the sort
    /// keys alone (`Equal` for every pair without a sort), which is all a
    /// provider that sorts promises (see [`crate::order_break`]).
    #[inline]
    pub fn compare_key(&self, a: &Campaign, b: &Campaign) -> Ordering {
        match self.sort {
            None => Ordering::Equal,
            Some(Sort { field, direction }) => {
                let ordering = match field {
                    SortField::Name => Some(a.name.cmp(&b.name)),
                    SortField::CreatedAt => compare_present(a.created_at, b.created_at),
                    SortField::UpdatedAt => compare_present(a.updated_at, b.updated_at),
                };
                match (ordering, direction) {
                    (Some(o), SortDirection::Asc) => o,
                    (Some(o), SortDirection::Desc) => o.reverse(),
                    (None, _) => missing_last(field, a, b),
                }
            }
        }
    }

    /// A stable 64-bit fingerprint of the filters and sort (not the page
    /// size), for cursors that must only resume the query that made them.
    pub fn fingerprint(&self) -> u64 {
        *self
            .fingerprint
            .0
            .get_or_init(|| self.compute_fingerprint())
    }

    fn compute_fingerprint(&self) -> u64 {
        let mut canonical = self.clone();
        canonical.page_size = None;
        canonical.channels.sort();
        canonical.channels.dedup();
        canonical.statuses.sort();
        canonical.statuses.dedup();
        canonical.priorities.sort_unstable();
        canonical.priorities.dedup();
        canonical.dialing_modes.sort();
        canonical.dialing_modes.dedup();
        let text = serde_json::to_string(&canonical).unwrap_or_default();
        crate::stable_checksum(text.as_bytes())
    }
}

/// Compares two timestamps when both are present; `None` when either is missing.
fn compare_present(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<Ordering> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

/// Puts a campaign missing the sort field after one that has it.
fn missing_last(field: SortField, a: &Campaign, b: &Campaign) -> Ordering {
    let has = |c: &Campaign| match field {
        SortField::Name => true,
        SortField::CreatedAt => c.created_at.is_some(),
        SortField::UpdatedAt => c.updated_at.is_some(),
    };
    // `true` (present) must sort first, so compare reversed.
    has(b).cmp(&has(a))
}

/// Case-insensitive substring test that avoids allocating for ASCII text.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Builds a [`CampaignQuery`]; [`build`](CampaignQueryBuilder::build) validates it.
#[derive(Debug, Clone, Default)]
pub struct CampaignQueryBuilder {
    query: CampaignQuery,
}

impl CampaignQueryBuilder {
    /// Accepts campaigns on `channel` (repeatable: any of them).
    pub fn channel(mut self, channel: Channel) -> Self {
        self.query.channels.push(channel);
        self
    }
    /// Accepts campaigns on any of `channels`.
    pub fn channels(mut self, channels: impl IntoIterator<Item = Channel>) -> Self {
        self.query.channels.extend(channels);
        self
    }
    /// Accepts campaigns with `status` (repeatable).
    pub fn status(mut self, status: Status) -> Self {
        self.query.statuses.push(status);
        self
    }
    /// Accepts campaigns with any of `statuses`.
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = Status>) -> Self {
        self.query.statuses.extend(statuses);
        self
    }
    /// Accepts campaigns with `priority` (repeatable).
    pub fn priority(mut self, priority: u8) -> Self {
        self.query.priorities.push(priority);
        self
    }
    /// Accepts campaigns with any of `priorities`.
    pub fn priorities(mut self, priorities: impl IntoIterator<Item = u8>) -> Self {
        self.query.priorities.extend(priorities);
        self
    }
    /// Accepts campaigns with dialing mode `mode` (repeatable).
    pub fn dialing_mode(mut self, mode: DialingMode) -> Self {
        self.query.dialing_modes.push(mode);
        self
    }
    /// Accepts campaigns with any of `modes`.
    pub fn dialing_modes(mut self, modes: impl IntoIterator<Item = DialingMode>) -> Self {
        self.query.dialing_modes.extend(modes);
        self
    }
    /// Only campaigns created at or after `start`.
    pub fn created_from(mut self, start: DateTime<Utc>) -> Self {
        self.query.created.start = Some(start);
        self
    }
    /// Only campaigns created before `end`.
    pub fn created_to(mut self, end: DateTime<Utc>) -> Self {
        self.query.created.end = Some(end);
        self
    }
    /// Only campaigns modified at or after `start`.
    pub fn updated_from(mut self, start: DateTime<Utc>) -> Self {
        self.query.updated.start = Some(start);
        self
    }
    /// Only campaigns modified before `end`.
    pub fn updated_to(mut self, end: DateTime<Utc>) -> Self {
        self.query.updated.end = Some(end);
        self
    }
    /// Only campaigns whose name contains `text`, ignoring case.
    pub fn name_contains(mut self, text: impl Into<String>) -> Self {
        self.query.name_contains = Some(text.into());
        self
    }
    /// Sorts by `sort` (ties by id).
    pub fn sort(mut self, sort: Sort) -> Self {
        self.query.sort = Some(sort);
        self
    }
    /// Removes any sort.
    pub fn unsorted(mut self) -> Self {
        self.query.sort = None;
        self
    }
    /// Asks for pages of `size` campaigns.
    pub fn page_size(mut self, size: u32) -> Self {
        self.query.page_size = Some(size);
        self
    }

    /// Marks the sort as one the caller has seen the provider honour; see
    /// [`CampaignQuery::sort_verified`].
    pub fn sort_verified(mut self, verified: bool) -> Self {
        self.query.sort_verified = verified;
        self
    }

    /// Whether sources should keep each campaign's original record; see
    /// [`CampaignQuery::keeps_raw`].
    pub fn keep_raw(mut self, keep: bool) -> Self {
        self.query.drop_raw = !keep;
        self
    }

    /// Checks the query: page size above zero, ranges not inverted.
    pub fn build(self) -> Result<CampaignQuery, QueryError> {
        let mut q = self.query;
        q.fingerprint = Memo::default();
        if q.page_size == Some(0) {
            return Err(QueryError("page size must be at least 1".into()));
        }
        for (label, range) in [("created", q.created), ("updated", q.updated)] {
            if let (Some(start), Some(end)) = (range.start, range.end) {
                if start > end {
                    return Err(QueryError(format!(
                        "{label} range starts ({start}) after it ends ({end})"
                    )));
                }
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CampaignId;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn campaign(native: &str, name: &str, created: Option<&str>) -> Campaign {
        let mut c = Campaign::new(CampaignId::new("s", native), "test", name, Channel::Voice);
        c.created_at = created.map(at);
        c
    }

    #[test]
    fn every_filter_matches_and_missing_fields_never_match() {
        let mut c = campaign("1", "Billing Reminder", Some("2025-12-04T00:00:00Z"));
        c.status = Some(Status::Ready);
        c.priority = Some(5);
        c.dialing_mode = Some(DialingMode::Preview);
        c.updated_at = Some(at("2025-12-05T00:00:00Z"));
        let q = |b: CampaignQueryBuilder| b.build().unwrap();
        assert!(q(CampaignQuery::builder()).matches(&c));
        assert!(q(CampaignQuery::builder()
            .channel(Channel::Voice)
            .channel(Channel::Sms))
        .matches(&c));
        assert!(!q(CampaignQuery::builder().channel(Channel::Sms)).matches(&c));
        assert!(q(CampaignQuery::builder().status(Status::Ready)).matches(&c));
        assert!(!q(CampaignQuery::builder().status(Status::Stopped)).matches(&c));
        assert!(q(CampaignQuery::builder().priorities([4, 5])).matches(&c));
        assert!(!q(CampaignQuery::builder().priority(1)).matches(&c));
        assert!(q(CampaignQuery::builder().dialing_mode(DialingMode::Preview)).matches(&c));
        assert!(!q(CampaignQuery::builder().dialing_mode(DialingMode::Progressive)).matches(&c));
        assert!(q(CampaignQuery::builder().name_contains("REMIND")).matches(&c));
        assert!(!q(CampaignQuery::builder().name_contains("renewal")).matches(&c));
        assert!(q(CampaignQuery::builder().updated_to(at("2025-12-06T00:00:00Z"))).matches(&c));

        let bare = campaign("2", "Bare", None);
        assert!(!q(CampaignQuery::builder().status(Status::Ready)).matches(&bare));
        assert!(!q(CampaignQuery::builder().priority(5)).matches(&bare));
        assert!(!q(CampaignQuery::builder().dialing_mode(DialingMode::Preview)).matches(&bare));
        assert!(
            !q(CampaignQuery::builder().created_from(at("2000-01-01T00:00:00Z"))).matches(&bare)
        );
        assert!(!q(CampaignQuery::builder().updated_to(at("2100-01-01T00:00:00Z"))).matches(&bare));
    }

    #[test]
    fn ranges_include_start_and_exclude_end() {
        let c = campaign("1", "x", Some("2025-12-04T00:00:00Z"));
        let from = |s| {
            CampaignQuery::builder()
                .created_from(at(s))
                .build()
                .unwrap()
        };
        let to = |s| CampaignQuery::builder().created_to(at(s)).build().unwrap();
        assert!(from("2025-12-04T00:00:00Z").matches(&c));
        assert!(!from("2025-12-04T00:00:00.001Z").matches(&c));
        assert!(!to("2025-12-04T00:00:00Z").matches(&c));
        assert!(to("2025-12-04T00:00:00.001Z").matches(&c));
    }

    #[test]
    fn unicode_names_match_case_insensitively() {
        let c = campaign("1", "Ünïcode Kampagne", None);
        let q = CampaignQuery::builder()
            .name_contains("üNÏ")
            .build()
            .unwrap();
        assert!(q.matches(&c));
    }

    #[test]
    fn compare_orders_by_field_then_id_with_missing_last() {
        let a = campaign("a", "Alpha", Some("2025-01-01T00:00:00Z"));
        let b = campaign("b", "Beta", Some("2025-02-01T00:00:00Z"));
        let b_tie = campaign("c", "Beta", Some("2025-02-01T00:00:00Z"));
        let none = campaign("0", "Zulu", None);
        let asc = CampaignQuery::builder()
            .sort(Sort::asc(SortField::CreatedAt))
            .build()
            .unwrap();
        let desc = CampaignQuery::builder()
            .sort(Sort::desc(SortField::CreatedAt))
            .build()
            .unwrap();
        let mut v = vec![none.clone(), b_tie.clone(), a.clone(), b.clone()];
        v.sort_by(|x, y| asc.compare(x, y));
        assert_eq!(ids(&v), ["a", "b", "c", "0"]);
        v.sort_by(|x, y| desc.compare(x, y));
        assert_eq!(
            ids(&v),
            ["b", "c", "a", "0"],
            "ties stay id-ascending when descending"
        );
        let by_name = CampaignQuery::builder()
            .sort(Sort::desc(SortField::Name))
            .build()
            .unwrap();
        v.sort_by(|x, y| by_name.compare(x, y));
        assert_eq!(ids(&v), ["0", "b", "c", "a"]);
        let unsorted = CampaignQuery::all();
        v.sort_by(|x, y| unsorted.compare(x, y));
        assert_eq!(ids(&v), ["0", "a", "b", "c"]);
    }

    fn ids(v: &[Campaign]) -> Vec<&str> {
        v.iter().map(|c| c.id.native.as_str()).collect()
    }

    #[test]
    fn builder_rejects_bad_values_and_sort_parses() {
        assert!(CampaignQuery::builder().page_size(0).build().is_err());
        assert!(CampaignQuery::builder()
            .created_from(at("2025-02-01T00:00:00Z"))
            .created_to(at("2025-01-01T00:00:00Z"))
            .build()
            .is_err());
        assert_eq!(
            "created_at:desc".parse::<Sort>().unwrap(),
            Sort::desc(SortField::CreatedAt)
        );
        assert_eq!("name".parse::<Sort>().unwrap(), Sort::asc(SortField::Name));
        assert!("size:asc".parse::<Sort>().is_err());
        assert!("name:up".parse::<Sort>().is_err());
        assert_eq!(
            Sort::desc(SortField::UpdatedAt).to_string(),
            "updated_at:desc"
        );
    }

    #[test]
    fn fingerprint_ignores_page_size_and_value_order() {
        let a = CampaignQuery::builder()
            .statuses([Status::Ready, Status::Paused])
            .page_size(5);
        let b = CampaignQuery::builder()
            .statuses([Status::Paused, Status::Ready])
            .page_size(9);
        assert_eq!(
            a.build().unwrap().fingerprint(),
            b.build().unwrap().fingerprint()
        );
        let c = CampaignQuery::builder()
            .status(Status::Ready)
            .build()
            .unwrap();
        assert_ne!(c.fingerprint(), CampaignQuery::all().fingerprint());
        let verified = c.to_builder().sort_verified(true).build().unwrap();
        assert!(verified.sort_verified() && !c.sort_verified());
        let rawless = c.to_builder().keep_raw(false).build().unwrap();
        assert!(c.keeps_raw() && !rawless.keeps_raw());
        assert_eq!(rawless.fingerprint(), c.fingerprint());
        assert!(!rawless.to_builder().build().unwrap().keeps_raw());
        assert_eq!(verified.fingerprint(), c.fingerprint());
    }

    #[test]
    fn a_sorted_listing_ends_past_the_range_on_its_sort_field() {
        let from = at("2025-12-01T00:00:00Z");
        let to = at("2025-12-10T00:00:00Z");
        let updated = |text: Option<&str>| {
            let mut c = campaign("1", "n", Some("2025-12-05T00:00:00Z"));
            c.updated_at = text.map(at);
            c
        };
        let query = |sort: Sort| {
            CampaignQuery::builder()
                .updated_from(from)
                .updated_to(to)
                .sort(sort)
                .build()
                .unwrap()
        };
        let newest_first = query(Sort::desc(SortField::UpdatedAt));
        assert!(!newest_first.beyond_sorted_range(&updated(Some("2025-12-01T00:00:00Z"))));
        assert!(newest_first.beyond_sorted_range(&updated(Some("2025-11-30T23:59:59Z"))));
        assert!(!newest_first.beyond_sorted_range(&updated(Some("2025-12-11T00:00:00Z"))));
        assert!(newest_first.beyond_sorted_range(&updated(None)));
        let oldest_first = query(Sort::asc(SortField::UpdatedAt));
        assert!(!oldest_first.beyond_sorted_range(&updated(Some("2025-11-01T00:00:00Z"))));
        assert!(!oldest_first.beyond_sorted_range(&updated(Some("2025-12-09T23:59:59Z"))));
        assert!(oldest_first.beyond_sorted_range(&updated(Some("2025-12-10T00:00:00Z"))));
        assert!(oldest_first.beyond_sorted_range(&updated(None)));
        // Another field's range, or no range, never ends a listing.
        for other in [
            query(Sort::desc(SortField::CreatedAt)),
            query(Sort::asc(SortField::Name)),
            CampaignQuery::builder()
                .sort(Sort::desc(SortField::UpdatedAt))
                .build()
                .unwrap(),
        ] {
            assert!(!other.beyond_sorted_range(&updated(None)), "{other:?}");
        }
    }

    #[test]
    fn a_derived_query_does_not_keep_the_fingerprint_it_was_copied_with() {
        let ready = CampaignQuery::builder()
            .status(Status::Ready)
            .build()
            .unwrap();
        let remembered = ready.fingerprint();
        let derived = ready.to_builder().status(Status::Paused).build().unwrap();
        assert_ne!(derived.fingerprint(), remembered);
        let fresh = CampaignQuery::builder()
            .statuses([Status::Ready, Status::Paused])
            .build()
            .unwrap();
        assert_eq!(derived.fingerprint(), fresh.fingerprint());
        assert_eq!(ready.clone().fingerprint(), remembered);
        assert_eq!(ready, ready.to_builder().build().unwrap());
    }
}

//! One download of every configured contact center, kept compact: the
//! response bodies as they arrived plus a small index per record, so memory
//! is about the size of the bodies rather than of decoded campaigns. Only
//! the records of a page being served are decoded again.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use campaign_core::{
    Campaign, CampaignQuery, ErrorKind, RecordIssues, Sort, SortDirection, SortField, SourceError,
    Warning,
};
use chrono::{DateTime, Utc};
use foldhash::fast::RandomState;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::normalize::{center_partition, center_request, decode_record, scan_records, WireRecord};

/// Sorted, filtered views kept per snapshot (one per recent query).
const MAX_VIEWS: usize = 8;

/// Where a record's text lies: which body, and its byte range there.
#[derive(Debug, Clone, Copy)]
struct Record {
    body: u32,
    start: u32,
    len: u32,
}

/// What a view keeps of a matching campaign: enough to order it and to
/// find its record, nothing else (40 bytes, no allocation unless sorted by name).
#[derive(Debug)]
struct Entry {
    key: Key,
    /// The native id's magnitude; see [`IntId`].
    mag: u64,
    /// Index into [`Snapshot::records`].
    record: u32,
    /// Whether the native id is negative.
    neg: bool,
}

/// The value of the query's sort field.
#[derive(Debug)]
enum Key {
    Unsorted,
    Name(Box<str>),
    Time(Option<DateTime<Utc>>),
}

impl Key {
    fn new(sort: Option<Sort>, campaign: &Campaign) -> Self {
        Self::of(
            sort,
            &campaign.name,
            campaign.created_at,
            campaign.updated_at,
        )
    }

    /// The key of a campaign with this name and these dates.
    fn of(
        sort: Option<Sort>,
        name: &str,
        created_at: Option<DateTime<Utc>>,
        updated_at: Option<DateTime<Utc>>,
    ) -> Self {
        match sort.map(|s| s.field) {
            None => Key::Unsorted,
            Some(SortField::Name) => Key::Name(name.into()),
            Some(SortField::CreatedAt) => Key::Time(created_at),
            Some(SortField::UpdatedAt) => Key::Time(updated_at),
        }
    }
}

/// `campaign`'s sort key in `query`'s view, if `query` keeps it.
fn view_key(query: &CampaignQuery, campaign: &Campaign) -> Option<Key> {
    query
        .matches(campaign)
        .then(|| Key::new(query.sort(), campaign))
}

/// [`view_key`] of records not normalized yet: a query without filters
/// needs only a record's name and dates, so the campaign is built only for a
/// query that filters (most of a scan's time was building and dropping it).
struct WireViewKey<'q> {
    query: &'q CampaignQuery,
    unfiltered: bool,
}

impl<'q> WireViewKey<'q> {
    fn new(query: &'q CampaignQuery) -> Self {
        Self {
            query,
            unfiltered: query.has_no_filter(),
        }
    }

    fn of(&self, record: WireRecord<'_>) -> Option<Key> {
        if self.unfiltered {
            let key = Key::of(
                self.query.sort(),
                record.name(),
                record.created_at(),
                record.updated_at(),
            );
            return Some(key);
        }
        view_key(self.query, &record.into_campaign(false))
    }
}

/// A native id as the decoder writes it (a decimal integer without leading
/// zeros, `FlexId` in `wire.rs`), held as a number that orders like its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct IntId {
    neg: bool,
    mag: u64,
}

impl IntId {
    /// `None` for text that is not a canonical integer.
    fn parse(text: &str) -> Option<Self> {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, text),
        };
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits.len() == 1 || !digits.starts_with('0'));
        canonical
            .then(|| digits.parse().ok())
            .flatten()
            .map(|mag| Self { neg, mag })
    }

    /// The order of the two ids' texts (`"10" < "9"`, `"-1" < "0"`), computed
    /// without writing them: `-` sorts before digits, and two digit strings
    /// compare like the numbers padded with zeros to the same length, the
    /// shorter first when those are equal.
    fn cmp_text(self, other: Self) -> Ordering {
        fn digits(n: u64) -> u32 {
            n.checked_ilog10().map_or(1, |l| l + 1)
        }
        match (self.neg, other.neg) {
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let (da, db) = (digits(self.mag), digits(other.mag));
        let width = da.max(db);
        let pad = |n: u64, d: u32| u128::from(n) * 10u128.pow(width - d);
        pad(self.mag, da).cmp(&pad(other.mag, db)).then(da.cmp(&db))
    }
}

impl fmt::Display for IntId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.neg {
            f.write_str("-")?;
        }
        write!(f, "{}", self.mag)
    }
}

impl Entry {
    fn new(key: Key, id: IntId, record: u32) -> Self {
        Self {
            key,
            mag: id.mag,
            record,
            neg: id.neg,
        }
    }

    fn id(&self) -> IntId {
        IntId {
            neg: self.neg,
            mag: self.mag,
        }
    }
}

fn int_id(source_id: &str, native: &str) -> Result<IntId, SourceError> {
    IntId::parse(native).ok_or_else(|| {
        SourceError::new(
            ErrorKind::Protocol,
            source_id,
            format!("campaign id {native:?} is not an integer"),
        )
    })
}

/// The last campaign of a page, as a page token describes it.
#[derive(Debug)]
pub(crate) struct Probe {
    key: Key,
    id: String,
}

impl Probe {
    pub(crate) fn new(sort: Option<Sort>, campaign: &Campaign) -> Self {
        Self {
            key: Key::new(sort, campaign),
            id: campaign.id.native.clone(),
        }
    }
}

/// [`CampaignQuery::compare`] of two sort keys, without the id: missing
/// values last in either direction.
fn compare_keys(sort: Option<Sort>, a: &Key, b: &Key) -> Ordering {
    let directed = |o: Ordering| match sort.map(|s| s.direction) {
        Some(SortDirection::Desc) => o.reverse(),
        _ => o,
    };
    match (a, b) {
        (Key::Name(x), Key::Name(y)) => directed(x.cmp(y)),
        (Key::Time(Some(x)), Key::Time(Some(y))) => directed(x.cmp(y)),
        // Present before missing, whatever the direction.
        (Key::Time(x), Key::Time(y)) => y.is_some().cmp(&x.is_some()),
        _ => Ordering::Equal,
    }
}

/// [`CampaignQuery::compare`] over entries of one source (so ids compare by
/// their native text): the sort key, then the id ascending.
fn compare(sort: Option<Sort>, a: &Entry, b: &Entry) -> Ordering {
    compare_keys(sort, &a.key, &b.key).then_with(|| a.id().cmp_text(b.id()))
}

/// The matching campaigns of a snapshot in one query's order.
pub(crate) struct View {
    sort: Option<Sort>,
    entries: Vec<Entry>,
}

impl View {
    fn new(query: &CampaignQuery) -> Self {
        Self {
            sort: query.sort(),
            entries: Vec::new(),
        }
    }

    fn push(&mut self, key: Key, id: IntId, record: u32) {
        self.entries.push(Entry::new(key, id, record));
    }

    fn finish(mut self) -> Self {
        let sort = self.sort;
        // Ids are unique in a snapshot, so the order is total. A stable sort
        // finds the sorted runs a download's scans hand over and only merges
        // them.
        self.entries.sort_by(|a, b| compare(sort, a, b));
        self.entries.shrink_to_fit();
        self
    }

    /// How many campaigns match.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The position of the first entry ordered after `last`.
    pub(crate) fn after(&self, last: &Probe) -> usize {
        // A token's id need not be one this source wrote.
        let last_id = IntId::parse(&last.id);
        self.entries.partition_point(|e| {
            compare_keys(self.sort, &e.key, &last.key)
                .then_with(|| match last_id {
                    Some(id) => e.id().cmp_text(id),
                    None => e.id().to_string().as_str().cmp(last.id.as_str()),
                })
                .is_le()
        })
    }

    /// Record indices of the entries in `range`.
    pub(crate) fn records(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = u32> + '_ {
        self.entries[range].iter().map(|e| e.record)
    }
}

/// Every campaign of every configured contact center, as one download saw them.
pub(crate) struct Snapshot {
    /// When the download started (what freshness is measured from).
    pub(crate) started: Instant,
    /// Each contact center's response body, with the center it was asked for.
    bodies: Vec<(i64, Bytes)>,
    /// Every kept record, in configuration order, each center's as sent.
    records: Vec<Record>,
    /// Records skipped and ids repeated, in configuration order.
    pub(crate) warnings: Vec<Warning>,
    /// `(query fingerprint, view)`, most recent last.
    views: Mutex<Vec<(u64, Arc<View>)>>,
}

impl Snapshot {
    /// Number of campaigns (after dropping repeated ids).
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Decodes record `index`, with `raw` if `keep_raw`.
    pub(crate) fn decode(
        &self,
        source_id: &Arc<str>,
        index: u32,
        keep_raw: bool,
    ) -> Result<Campaign, SourceError> {
        let record = self.records[index as usize];
        let (center, body) = &self.bodies[record.body as usize];
        let start = record.start as usize;
        // The scan checked the whole body as UTF-8 and the range as a record.
        let text = body
            .get(start..start + record.len as usize)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .ok_or_else(|| {
                SourceError::new(
                    ErrorKind::Protocol,
                    &**source_id,
                    "snapshot record out of range",
                )
                .with_request(center_request(*center))
            })?;
        decode_record(source_id, *center, text, index as usize, keep_raw)
    }

    /// The campaigns matching `query`, in its order, computed once per query.
    pub(crate) fn view(
        &self,
        source_id: &Arc<str>,
        query: &CampaignQuery,
    ) -> Result<Arc<View>, SourceError> {
        let key = query.fingerprint();
        if let Some(view) = self.cached(key) {
            return Ok(view);
        }
        let mut view = View::new(query);
        // `Builder::add` keeps the record count within `u32`.
        for index in 0..self.records.len() as u32 {
            let campaign = self.decode(source_id, index, false)?;
            if let Some(key) = view_key(query, &campaign) {
                view.push(key, int_id(source_id, &campaign.id.native)?, index);
            }
        }
        Ok(self.keep(key, view.finish()))
    }

    fn cached(&self, key: u64) -> Option<Arc<View>> {
        let views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        views
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| Arc::clone(v))
    }

    fn keep(&self, key: u64, view: View) -> Arc<View> {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        // Another page may have built the same view meanwhile.
        if let Some((_, existing)) = views.iter().find(|(k, _)| *k == key) {
            return Arc::clone(existing);
        }
        let view = Arc::new(view);
        if views.len() >= MAX_VIEWS {
            views.remove(0);
        }
        views.push((key, Arc::clone(&view)));
        view
    }
}

/// One contact center's body, checked and indexed on its own: each
/// record's place, id and (when the query being built keeps it) sort key.
/// This is the CPU-heavy part of a download: large bodies are scanned in
/// parallel (see `CmsSource::scan`), then added to the [`Builder`] in
/// configuration order, which drops repeated ids.
pub(crate) struct Scanned {
    center: i64,
    body: Bytes,
    /// Every record, in the order the body has them.
    records: Vec<ScannedRecord>,
    /// The view's entries of this body, already in the view's order (the
    /// scans run in parallel, the snapshot is built on one thread), each
    /// naming its record by its index in `records`.
    run: Vec<Entry>,
    /// The fingerprint of the query `run` was built for.
    query: Option<u64>,
    /// The records skipped, one warning each.
    warnings: Vec<Warning>,
}

struct ScannedRecord {
    start: u32,
    len: u32,
    id: IntId,
}

impl Scanned {
    /// Decodes every record of `body`, `center`'s response to `request`,
    /// keeping what the snapshot and `query`'s view need of each (`query`
    /// must be the one the [`Builder`] was made for). A record that is not
    /// a usable campaign is skipped with a warning, or (`strict`) fails the
    /// body. Gives up once `stop` is cancelled: nobody waits for the result
    /// any more.
    pub(crate) fn scan(
        source_id: &str,
        request: &str,
        center: i64,
        body: Bytes,
        query: Option<&CampaignQuery>,
        strict: bool,
        stop: &CancellationToken,
    ) -> Result<Self, SourceError> {
        if u32::try_from(body.len()).is_err() {
            return Err(too_large(source_id, request));
        }
        // About one record per 256 bytes in the samples and generated data.
        let mut records = Vec::with_capacity(body.len() / 256 + 1);
        let view_key = query.map(WireViewKey::new);
        let mut run = Vec::with_capacity(if query.is_some() {
            records.capacity()
        } else {
            0
        });
        let mut issues = RecordIssues::new(strict);
        scan_records(
            source_id,
            request,
            &body,
            Some(center),
            &mut issues,
            |range, record| {
                if stop.is_cancelled() {
                    return Err(SourceError::new(
                        ErrorKind::Decode,
                        source_id,
                        "decoding stopped: the listing was dropped",
                    )
                    .with_request(request));
                }
                // The decoder only lets integer ids through, so this is a
                // safeguard, not a path records take.
                let id = int_id(source_id, record.native()).map_err(|e| {
                    e.with_request(request)
                        .with_partition(center_partition(center))
                })?;
                // Both fit: the body's length was checked above, and a
                // record takes more than one byte.
                let index = records.len() as u32;
                records.push(ScannedRecord {
                    start: range.start as u32,
                    len: range.len() as u32,
                    id,
                });
                if let Some(key) = view_key.as_ref().and_then(|k| k.of(record)) {
                    run.push(Entry::new(key, id, index));
                }
                Ok(())
            },
        )?;
        let sort = query.and_then(CampaignQuery::sort);
        run.sort_unstable_by(|a, b| compare(sort, a, b));
        Ok(Self {
            center,
            body,
            records,
            run,
            query: query.map(CampaignQuery::fingerprint),
            warnings: issues.into_warnings(),
        })
    }
}

fn too_large(source_id: &str, request: &str) -> SourceError {
    SourceError::new(
        ErrorKind::Decode,
        source_id,
        "response body of 4 GiB or more; refused",
    )
    .with_request(request)
}

/// Builds a [`Snapshot`] from scanned bodies, dropping repeated ids and
/// (optionally) building the view of the query that asked for the
/// download from the keys the scans found.
pub(crate) struct Builder<'q> {
    started: Instant,
    bodies: Vec<(i64, Bytes)>,
    records: Vec<Record>,
    warnings: Vec<Warning>,
    /// Magnitudes of the ids seen so far, `[non-negative, negative]`: two
    /// sets of `u64` take half the memory of one of `IntId`s.
    seen: [HashSet<u64, RandomState>; 2],
    view: Option<(&'q CampaignQuery, View)>,
}

impl<'q> Builder<'q> {
    pub(crate) fn new(started: Instant, query: Option<&'q CampaignQuery>) -> Self {
        Self {
            started,
            bodies: Vec::new(),
            records: Vec::new(),
            warnings: Vec::new(),
            seen: Default::default(),
            view: query.map(|q| (q, View::new(q))),
        }
    }

    /// Adds a scanned body: its records whose ids were not seen before, in
    /// the order the CMS sent them.
    pub(crate) fn add(&mut self, source_id: &str, scanned: Scanned) -> Result<(), SourceError> {
        let center = scanned.center;
        // Indexes are `u32`: more than 4 billion bodies or records cannot be held anyway.
        let too_many = || {
            SourceError::new(
                ErrorKind::Decode,
                source_id,
                "more than 4 billion records or bodies in one snapshot; refused",
            )
            .with_request(center_request(center))
        };
        let body_index = u32::try_from(self.bodies.len()).map_err(|_| too_many())?;
        self.warnings.extend(scanned.warnings);
        self.seen[0].reserve(scanned.records.len());
        // Each scanned record's index in the snapshot, `DROPPED` if its id
        // was seen before.
        const DROPPED: u32 = u32::MAX;
        let mut placed = Vec::with_capacity(scanned.records.len());
        for record in scanned.records {
            let id = record.id;
            if !self.seen[usize::from(id.neg)].insert(id.mag) {
                self.warnings.push(
                    Warning::new(format!(
                        "campaign id {id} appeared again; kept its first record"
                    ))
                    .with_request(center_request(center))
                    .with_partition(center_partition(center)),
                );
                placed.push(DROPPED);
                continue;
            }
            let index = u32::try_from(self.records.len())
                .ok()
                .filter(|&i| i != DROPPED)
                .ok_or_else(too_many)?;
            self.records.push(Record {
                body: body_index,
                start: record.start,
                len: record.len,
            });
            placed.push(index);
        }
        if let Some((query, view)) = self.view.as_mut() {
            debug_assert_eq!(
                scanned.query,
                Some(query.fingerprint()),
                "scanned for the builder's query"
            );
            view.entries.reserve(scanned.run.len());
            for mut entry in scanned.run {
                let index = placed[entry.record as usize];
                if index != DROPPED {
                    entry.record = index;
                    view.entries.push(entry);
                }
            }
        }
        self.bodies.push((center, scanned.body));
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Snapshot {
        self.records.shrink_to_fit();
        let views = self
            .view
            .map(|(query, view)| (query.fingerprint(), Arc::new(view.finish())))
            .into_iter()
            .collect();
        Snapshot {
            started: self.started,
            bodies: self.bodies,
            records: self.records,
            warnings: self.warnings,
            views: Mutex::new(views),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::{CampaignId, Channel};

    const IDS: [&str; 12] = [
        "0",
        "9",
        "10",
        "100",
        "1001",
        "99",
        "-1",
        "-12",
        "-3",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
    ];

    #[test]
    fn integer_ids_order_like_their_text() {
        for a in IDS {
            let ia = IntId::parse(a).unwrap();
            assert_eq!(ia.to_string(), a);
            for b in IDS {
                let ib = IntId::parse(b).unwrap();
                assert_eq!(ia.cmp_text(ib), a.cmp(b), "{a} {b}");
            }
        }
        for text in [
            "",
            "-",
            "01",
            "+1",
            "1.0",
            "x",
            "-0x",
            "18446744073709551616",
        ] {
            assert_eq!(IntId::parse(text), None, "{text:?}");
        }
    }

    /// The compact order is exactly `CampaignQuery::compare`'s, for every
    /// sort, and a token's probe (any id text) lands where `compare` says.
    #[test]
    fn entry_order_matches_query_compare() {
        let names = ["", "Alpha", "alpha", "Beta", "Ärger", "Beta"];
        let times = [
            None,
            Some("2026-01-01T00:00:00Z"),
            Some("2026-01-01T00:00:00Z"),
            Some("2025-06-01T12:00:00.5Z"),
        ];
        let mut campaigns = Vec::new();
        for (i, name) in names.iter().enumerate() {
            for (j, created) in times.iter().enumerate() {
                let updated = times[(i + j) % times.len()];
                let id = IDS[(i * 7 + j * 5) % IDS.len()];
                let mut c = Campaign::new(CampaignId::new("cms", id), "cms", *name, Channel::Voice);
                c.created_at = created.map(|t| t.parse().unwrap());
                c.updated_at = updated.map(|t| t.parse().unwrap());
                campaigns.push(c);
            }
        }
        let mut sorts = vec![None];
        for field in [SortField::Name, SortField::CreatedAt, SortField::UpdatedAt] {
            sorts.push(Some(Sort::asc(field)));
            sorts.push(Some(Sort::desc(field)));
        }
        for sort in sorts {
            let mut builder = CampaignQuery::builder();
            if let Some(sort) = sort {
                builder = builder.sort(sort);
            }
            let query = builder.build().unwrap();
            let entry = |c: &Campaign| {
                Entry::new(Key::new(sort, c), int_id("cms", &c.id.native).unwrap(), 0)
            };
            for a in &campaigns {
                for b in &campaigns {
                    assert_eq!(
                        compare(sort, &entry(a), &entry(b)),
                        query.compare(a, b),
                        "{sort:?} {a:?} {b:?}"
                    );
                }
            }
            // Resuming after a probe, including ids this source never writes.
            let mut sorted = campaigns.clone();
            sorted.sort_by(|a, b| query.compare(a, b));
            let view = View {
                sort,
                entries: sorted.iter().map(entry).collect(),
            };
            let mut probes = campaigns.clone();
            for (k, text) in ["", "abc", "05", "-", "10"].iter().enumerate() {
                let mut p = campaigns[k * 3].clone();
                p.id.native = (*text).into();
                probes.push(p);
            }
            for p in &probes {
                let expected = sorted.partition_point(|c| query.compare(c, p).is_le());
                assert_eq!(view.after(&Probe::new(sort, p)), expected, "{sort:?} {p:?}");
            }
        }
    }

    #[test]
    fn a_scan_nobody_waits_for_stops() {
        let body = Bytes::from_static(br#"[{"campaignContextId":1},{"campaignContextId":2}]"#);
        let stopped = CancellationToken::new();
        stopped.cancel();
        let error = Scanned::scan("cms", "GET 1", 1, body, None, false, &stopped)
            .err()
            .expect("a stopped scan gives up");
        assert!(error.to_string().contains("decoding stopped"), "{error}");
    }

    #[test]
    fn repeated_ids_are_kept_once_across_bodies_and_signs() {
        let query = CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap();
        let mut builder = Builder::new(Instant::now(), Some(&query));
        let first = Bytes::from_static(br#"[{"campaignContextId":5,"campaignContextName":"b"}, {"campaignContextId":-5,"campaignContextName":"a"}]"#);
        let second = Bytes::from_static(
            br#"[ {"campaignContextId":"5"}, {"campaignContextId":6, "campaignContextName":"c"} ]"#,
        );
        for (center, body) in [(1, first), (2, second)] {
            let scanned = Scanned::scan(
                "cms",
                "GET",
                center,
                body,
                Some(&query),
                true,
                &CancellationToken::new(),
            )
            .unwrap();
            builder.add("cms", scanned).unwrap();
        }
        let snapshot = builder.finish();
        assert_eq!(snapshot.len(), 3);
        assert_eq!(snapshot.warnings.len(), 1, "{:?}", snapshot.warnings);
        assert_eq!(
            snapshot.warnings[0].to_string(),
            "contact_center=2: campaign id 5 appeared again; kept its first record \
             [request: GET campaigns contactCenterId=2]"
        );
        let view = snapshot.view(&"cms".into(), &query).unwrap();
        let names: Vec<String> = view
            .records(0..view.len())
            .map(|i| snapshot.decode(&"cms".into(), i, true).unwrap().name)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let c = snapshot.decode(&"cms".into(), 2, true).unwrap();
        assert_eq!(
            c.raw.as_ref().map(|r| r.get()),
            Some(r#"{"campaignContextId":6, "campaignContextName":"c"}"#)
        );
        assert_eq!(
            c.scope,
            campaign_core::Scope::ContactCenter {
                contact_center_id: 2,
                process_id: None
            }
        );
    }

    /// The view a download builds (keys read from the wire when the query
    /// has no filter, one sorted run per body, repeated ids dropped, runs
    /// merged) and the one built later for another query both list what
    /// decoding every body, dropping repeated ids and sorting by
    /// `CampaignQuery::compare` gives.
    #[test]
    fn views_list_the_decoded_campaigns_in_query_order() {
        let names = ["b", "a", "", "Ärger", "a"];
        let times = [
            "null",
            "\"2026-01-01T00:00:00Z\"",
            "1767225600000",
            "\"2025-06-01 12:00:00\"",
        ];
        let types = ["Voice Blast Campaign", "Chat", "Interaction Campaign"];
        let ids = ["7", "12", "-3", "100", "\"7\"", "5", "99", "12"];
        let bodies: Vec<Bytes> = (0..3)
            .map(|body| {
                let records: Vec<String> = (0..11)
                    .map(|i| {
                        let n = body * 11 + i;
                        format!(
                            r#"{{"campaignContextId":{},"campaignContextName":"{}","campaignContextType":"{}","dateAdded":{},"dateModified":{}}}"#,
                            if n % 4 == 0 { ids[(n / 4) % ids.len()].to_owned() } else { (n * 37 % 50).to_string() },
                            names[n % names.len()],
                            types[n % types.len()],
                            times[n % times.len()],
                            times[(n / 2) % times.len()],
                        )
                    })
                    .collect();
                Bytes::from(format!("[{}]", records.join(",")))
            })
            .collect();
        let mut queries = Vec::new();
        for sort in [SortField::Name, SortField::CreatedAt, SortField::UpdatedAt] {
            for sort in [Sort::asc(sort), Sort::desc(sort)] {
                queries.push(CampaignQuery::builder().sort(sort).build().unwrap());
                let voice = CampaignQuery::builder().sort(sort).channel(Channel::Voice);
                queries.push(voice.build().unwrap());
            }
        }
        queries.push(CampaignQuery::builder().unsorted().build().unwrap());
        let source: Arc<str> = "cms".into();
        let mut expected_all: Vec<Campaign> = Vec::new();
        let mut repeated = 0;
        for (center, body) in bodies.iter().enumerate() {
            let strict = &mut RecordIssues::new(true);
            for c in
                crate::normalize::decode_for_center("cms", "GET", body, Some(center as i64), strict)
                    .unwrap()
            {
                if expected_all.iter().any(|e| e.id == c.id) {
                    repeated += 1;
                } else {
                    expected_all.push(c);
                }
            }
        }
        assert!(
            repeated > 2,
            "the bodies repeat ids within and across bodies"
        );
        assert!(expected_all.iter().any(|c| c.id.native.starts_with('-')));
        let ids_of = |campaigns: &[Campaign]| -> Vec<String> {
            campaigns.iter().map(|c| c.id.native.clone()).collect()
        };
        for (q, query) in queries.iter().enumerate() {
            let mut builder = Builder::new(Instant::now(), Some(query));
            for (center, body) in bodies.iter().enumerate() {
                let never = CancellationToken::new();
                let scanned = Scanned::scan(
                    "cms",
                    "GET",
                    center as i64,
                    body.clone(),
                    Some(query),
                    true,
                    &never,
                );
                builder.add("cms", scanned.unwrap()).unwrap();
            }
            let snapshot = builder.finish();
            // The download's own view, then one built afterwards.
            let later = &queries[(q + 1) % queries.len()];
            for query in [query, later] {
                let view = snapshot.view(&source, query).unwrap();
                let listed: Vec<Campaign> = view
                    .records(0..view.len())
                    .map(|i| snapshot.decode(&source, i, true).unwrap())
                    .collect();
                let mut expected: Vec<Campaign> = expected_all
                    .iter()
                    .filter(|c| query.matches(c))
                    .cloned()
                    .collect();
                expected.sort_by(|a, b| query.compare(a, b));
                assert!(!expected.is_empty());
                assert_eq!(ids_of(&listed), ids_of(&expected), "{query:?}");
            }
            assert_eq!(snapshot.len(), expected_all.len());
            assert_eq!(snapshot.warnings.len(), repeated);
        }
    }
}

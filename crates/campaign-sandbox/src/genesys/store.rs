//! The Genesys emulator's campaigns and the cached, filtered and sorted
//! listing indexes.

use std::cmp::Ordering;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::query::{FilterType, NameFilter, Selection, SortKey};
use super::regex::Regex;
use super::wire::{EntityRef, GenesysWire};
use crate::ordering::{self, directed, missing_last, KeyOrder, SelectionCache};
use crate::wire::{parse_millis, to_raw};

/// A reference's id and name, kept for filters and drift inserts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct RefFields {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
}

impl RefFields {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl From<&EntityRef> for RefFields {
    fn from(r: &EntityRef) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
        }
    }
}

/// The fields of a served record that filters and sorts read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordFields {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    campaign_status: Option<String>,
    date_created: Option<String>,
    date_modified: Option<String>,
    contact_list: Option<RefFields>,
    queue: Option<RefFields>,
    edge_group: Option<RefFields>,
    call_analysis_response_set: Option<RefFields>,
    division: Option<RefFields>,
    #[serde(default)]
    dnc_lists: Vec<RefFields>,
}

/// One stored campaign: what the listing filters and sorts on, plus the
/// record's JSON exactly as it is served.
#[derive(Debug)]
pub(crate) struct GenesysRecord {
    pub(crate) id: Box<str>,
    pub(crate) name: Box<str>,
    pub(crate) status: Option<Box<str>>,
    pub(crate) created_ms: Option<i64>,
    pub(crate) modified_ms: Option<i64>,
    pub(crate) contact_list: Option<RefFields>,
    pub(crate) queue: Option<RefFields>,
    pub(crate) edge_group: Option<RefFields>,
    pub(crate) response_set: Option<RefFields>,
    pub(crate) division: Option<RefFields>,
    pub(crate) dnc_lists: Vec<RefFields>,
    pub(crate) json: Box<RawValue>,
}

impl GenesysRecord {
    /// Wraps a record given as JSON text (the samples), keeping it verbatim.
    pub(crate) fn from_json(json: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let f: RecordFields = serde_json::from_str(json.get())?;
        Ok(Self {
            id: f.id.into(),
            name: f.name.into(),
            status: f.campaign_status.map(Into::into),
            created_ms: f.date_created.as_deref().and_then(parse_millis),
            modified_ms: f.date_modified.as_deref().and_then(parse_millis),
            contact_list: f.contact_list,
            queue: f.queue,
            edge_group: f.edge_group,
            response_set: f.call_analysis_response_set,
            division: f.division,
            dnc_lists: f.dnc_lists,
            json,
        })
    }

    /// Serializes a wire record once and keeps its listing fields.
    pub(crate) fn from_wire(wire: &GenesysWire) -> Self {
        let refs = |r: &Option<EntityRef>| r.as_ref().map(RefFields::from);
        Self {
            id: wire.id.as_str().into(),
            name: wire.name.as_str().into(),
            status: wire.campaign_status.as_deref().map(Into::into),
            created_ms: wire.date_created.as_deref().and_then(parse_millis),
            modified_ms: wire.date_modified.as_deref().and_then(parse_millis),
            contact_list: refs(&wire.contact_list),
            queue: refs(&wire.queue),
            edge_group: refs(&wire.edge_group),
            response_set: refs(&wire.call_analysis_response_set),
            division: refs(&wire.division),
            dnc_lists: wire.dnc_lists.iter().map(RefFields::from).collect(),
            json: to_raw(wire),
        }
    }

    fn division_id(&self) -> Option<&str> {
        self.division.as_ref().and_then(RefFields::id)
    }
}

/// `name` matching per `filterType` (§2.3).
enum NameMatcher {
    Text {
        filter_type: FilterType,
        value: String,
        case_sensitive: bool,
    },
    Regex(Regex),
    /// A pattern that does not compile (validated earlier, so never in practice).
    Nothing,
}

impl NameMatcher {
    fn new(filter: &NameFilter) -> Self {
        match filter.filter_type {
            FilterType::RegEx => Regex::new(&filter.value, !filter.case_sensitive)
                .map_or(NameMatcher::Nothing, NameMatcher::Regex),
            filter_type => NameMatcher::Text {
                filter_type,
                value: if filter.case_sensitive {
                    filter.value.clone()
                } else {
                    filter.value.to_lowercase()
                },
                case_sensitive: filter.case_sensitive,
            },
        }
    }

    fn matches(&self, name: &str) -> bool {
        let (filter_type, value, case_sensitive) = match self {
            NameMatcher::Regex(regex) => return regex.is_match(name),
            NameMatcher::Nothing => return false,
            NameMatcher::Text {
                filter_type,
                value,
                case_sensitive,
            } => (*filter_type, value.as_str(), *case_sensitive),
        };
        let folded;
        let name = if case_sensitive {
            name
        } else {
            folded = name.to_lowercase();
            folded.as_str()
        };
        match filter_type {
            FilterType::Equals => name == value,
            FilterType::Prefix | FilterType::BeginsWith => name.starts_with(value),
            FilterType::EndsWith => name.ends_with(value),
            FilterType::Contains => name.contains(value),
            FilterType::LessThan => name < value,
            FilterType::LessThanEqualTo => name <= value,
            FilterType::GreaterThan => name > value,
            FilterType::GreaterThanEqualTo => name >= value,
            FilterType::RegEx => false,
        }
    }
}

fn ref_is(reference: &Option<RefFields>, wanted: &Option<String>) -> bool {
    match wanted {
        None => true,
        Some(id) => reference
            .as_ref()
            .and_then(RefFields::id)
            .is_some_and(|have| have == id),
    }
}

impl Selection {
    fn matches(&self, record: &GenesysRecord, name: Option<&NameMatcher>) -> bool {
        let any_of = |wanted: &[String], have: Option<&str>| {
            wanted.is_empty() || have.is_some_and(|h| wanted.iter().any(|w| w == h))
        };
        any_of(&self.ids, Some(&record.id))
            && any_of(&self.division_ids, record.division_id())
            && ref_is(&record.contact_list, &self.contact_list_id)
            && ref_is(&record.queue, &self.queue_id)
            && ref_is(&record.edge_group, &self.edge_group_id)
            && ref_is(&record.response_set, &self.response_set_id)
            && (self.dnc_list_ids.is_empty()
                || record
                    .dnc_lists
                    .iter()
                    .any(|list| any_of(&self.dnc_list_ids, list.id())))
            && name.is_none_or(|m| m.matches(&record.name))
    }

    fn compare(&self, a: &GenesysRecord, b: &GenesysRecord) -> Ordering {
        let order = match self.sort {
            SortKey::Name => directed(self.compare_names(&a.name, &b.name), self.descending),
            SortKey::DateCreated => missing_last(a.created_ms, b.created_ms, self.descending),
            SortKey::DateModified => missing_last(a.modified_ms, b.modified_ms, self.descending),
            SortKey::CampaignStatus => {
                missing_last(a.status.as_ref(), b.status.as_ref(), self.descending)
            }
        };
        order.then_with(|| directed(a.id.cmp(&b.id), self.ties_descending))
    }

    /// Names byte by byte, or case-folded when the server collates so.
    fn compare_names(&self, a: &str, b: &str) -> Ordering {
        fn folded(name: &str) -> impl Iterator<Item = char> + '_ {
            name.chars().flat_map(char::to_lowercase)
        }
        if self.name_order_folded {
            folded(a).cmp(folded(b))
        } else {
            a.cmp(b)
        }
    }
}

/// The keys a storage order must not follow to pass for unsorted.
const SORT_KEYS: [KeyOrder<GenesysRecord>; 3] = [
    |a, b| a.name.cmp(&b.name),
    |a, b| a.created_ms.cmp(&b.created_ms),
    |a, b| a.modified_ms.cmp(&b.modified_ms),
];

/// Shuffles `records` (seeded) until their order is no sort's, so a listing
/// in storage order ([`Fault::SortIgnored`](crate::Fault::SortIgnored)) is
/// visibly unsorted.
pub(crate) fn unsort(records: &mut [GenesysRecord], seed: u64) {
    ordering::unsort(records, seed, &SORT_KEYS);
}

/// Whether the OAuth client may view `record`'s division (`None`: every division).
fn visible_in(divisions: &Option<Vec<String>>, record: &GenesysRecord) -> bool {
    match divisions {
        None => true,
        Some(divisions) => record
            .division_id()
            .is_some_and(|id| divisions.iter().any(|d| d == id)),
    }
}

/// The campaigns, the divisions the OAuth client may view, and the listing
/// cache, which any data change clears.
#[derive(Debug, Default)]
pub(crate) struct GenesysStore {
    records: Vec<GenesysRecord>,
    /// `None`: every division (§1.3: the client's role grants the view
    /// permission in these divisions only).
    visible_divisions: Option<Vec<String>>,
    cache: SelectionCache<Selection>,
}

impl GenesysStore {
    pub(crate) fn new(records: Vec<GenesysRecord>, visible_divisions: Option<Vec<String>>) -> Self {
        Self {
            records,
            visible_divisions,
            cache: SelectionCache::default(),
        }
    }

    pub(crate) fn replace(&mut self, records: Vec<GenesysRecord>) {
        self.records = records;
        self.cache.clear();
    }

    pub(crate) fn add(&mut self, record: GenesysRecord) {
        self.records.push(record);
        self.cache.clear();
    }

    pub(crate) fn records(&self) -> &[GenesysRecord] {
        &self.records
    }

    /// Whether the client holds the view permission in any division.
    pub(crate) fn may_view(&self) -> bool {
        self.visible_divisions
            .as_ref()
            .is_none_or(|d| !d.is_empty())
    }

    /// The newest `dateCreated`, for drift inserts that must be newest.
    pub(crate) fn newest_created_ms(&self) -> Option<i64> {
        self.records.iter().filter_map(|r| r.created_ms).max()
    }

    /// Positions of the visible matching records in order, cached per selection.
    pub(crate) fn select(&mut self, selection: &Selection) -> Arc<[u32]> {
        let matcher = selection.name.as_ref().map(NameMatcher::new);
        let visible = &self.visible_divisions;
        self.cache.select(
            selection,
            &self.records,
            |record| visible_in(visible, record) && selection.matches(record, matcher.as_ref()),
            selection.storage_order,
            |a, b| selection.compare(a, b),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::query::{ListQuery, QueryOptions};
    use super::super::wire::paths;
    use super::*;

    fn looks_sorted(records: &[GenesysRecord]) -> bool {
        ordering::looks_sorted(records, &SORT_KEYS)
    }

    fn record(id: &str, name: &str, created: Option<i64>, division: &str) -> GenesysRecord {
        GenesysRecord::from_wire(&GenesysWire {
            id: id.to_owned(),
            name: name.to_owned(),
            date_created: created.map(crate::wire::iso_millis),
            division: Some(EntityRef::new(paths::DIVISIONS, division, division)),
            dnc_lists: vec![EntityRef::new(paths::DNC_LISTS, &format!("dnc-{id}"), "D")],
            ..GenesysWire::default()
        })
    }

    fn store() -> GenesysStore {
        GenesysStore::new(
            vec![
                record("b", "Beta", Some(10), "d1"),
                record("a", "Beta", Some(10), "d1"),
                record("c", "alpha", None, "d2"),
                record("d", "Gamma", Some(20), "d3"),
            ],
            None,
        )
    }

    fn select(store: &mut GenesysStore, raw: &str) -> Vec<u32> {
        let query = ListQuery::parse(Some(raw), QueryOptions::default()).unwrap();
        store.select(&query.selection).to_vec()
    }

    #[test]
    fn sorts_by_each_key_with_missing_last_and_id_ties() {
        let mut s = store();
        assert_eq!(
            select(&mut s, ""),
            [1, 0, 3, 2],
            "byte order: uppercase first"
        );
        assert_eq!(select(&mut s, "sortOrder=descending"), [2, 3, 1, 0]);
        assert_eq!(select(&mut s, "sortBy=dateCreated"), [1, 0, 3, 2]);
        assert_eq!(
            select(&mut s, "sortBy=dateCreated&sortOrder=descending"),
            [3, 1, 0, 2]
        );
        let mut reversed = ListQuery::parse(None, QueryOptions::default())
            .unwrap()
            .selection;
        reversed.ties_descending = true;
        assert_eq!(&*s.select(&reversed), [0, 1, 3, 2]);
        reversed.storage_order = true;
        assert_eq!(&*s.select(&reversed), [0, 1, 2, 3]);
        let folded = QueryOptions {
            name_order_folded: true,
            ..QueryOptions::default()
        };
        let query = ListQuery::parse(None, folded).unwrap();
        assert_eq!(
            &*s.select(&query.selection),
            [2, 1, 0, 3],
            "alpha, Beta, Gamma"
        );
    }

    #[test]
    fn filters_combine_and_names_match_per_filter_type() {
        let mut s = store();
        assert_eq!(select(&mut s, "name=BE"), [1, 0]);
        assert_eq!(select(&mut s, "name=a&filterType=EndsWith"), [1, 0, 3, 2]);
        assert_eq!(select(&mut s, "name=amm&filterType=Contains"), [3]);
        assert_eq!(select(&mut s, "name=beta&filterType=Equals"), [1, 0]);
        assert_eq!(select(&mut s, "name=beta&filterType=LessThan"), [2]);
        assert_eq!(
            select(&mut s, "name=beta&filterType=LessThanEqualTo"),
            [1, 0, 2]
        );
        assert_eq!(select(&mut s, "name=beta&filterType=GreaterThan"), [3]);
        assert_eq!(select(&mut s, "name=^(al|ga)&filterType=RegEx"), [3, 2]);
        assert_eq!(select(&mut s, "divisionId=d1,d3&id=a&id=d"), [1, 3]);
        assert_eq!(select(&mut s, "dncListIds=dnc-c,dnc-b"), [0, 2]);
        assert_eq!(select(&mut s, "contactListId=x"), Vec::<u32>::new());
        let mut sensitive = ListQuery::parse(Some("name=BE"), QueryOptions::default())
            .unwrap()
            .selection;
        if let Some(name) = sensitive.name.as_mut() {
            name.case_sensitive = true;
        }
        assert!(s.select(&sensitive).is_empty());
    }

    #[test]
    fn only_visible_divisions_list() {
        let mut s = store();
        s.visible_divisions = Some(vec!["d1".to_owned()]);
        assert!(s.may_view());
        assert_eq!(select(&mut s, ""), [1, 0]);
        s.visible_divisions = Some(Vec::new());
        assert!(!s.may_view());
    }

    #[test]
    fn unsort_leaves_no_key_monotone() {
        let mut records: Vec<GenesysRecord> = (0..5)
            .map(|i| {
                GenesysRecord::from_wire(&GenesysWire {
                    id: format!("id{i}"),
                    name: format!("n{i}"),
                    date_created: Some(crate::wire::iso_millis(i * 10)),
                    date_modified: Some(crate::wire::iso_millis(i * 10 + 5)),
                    ..GenesysWire::default()
                })
            })
            .collect();
        assert!(looks_sorted(&records));
        unsort(&mut records, 1);
        assert!(!looks_sorted(&records));
        let mut sample = super::super::data::genesys_sample().unwrap();
        unsort(&mut sample, 2);
        assert!(!looks_sorted(&sample));
    }
}

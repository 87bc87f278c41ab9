//! The Kore emulator's campaigns and the cached, sorted listing indexes.

use std::cmp::Ordering;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ordering::{self, directed, missing_last, KeyOrder, SelectionCache};
use crate::wire::{parse_millis, to_raw, KoreWire};

/// Kore's two campaign collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum KoreType {
    Voice,
    Sms,
}

/// One stored campaign: the fields the listing filters and sorts on, plus
/// the record's JSON exactly as it is served.
#[derive(Debug)]
pub(crate) struct KoreRecord {
    pub(crate) id: Box<str>,
    pub(crate) name: Box<str>,
    pub(crate) status: Option<Box<str>>,
    pub(crate) priority: Option<u8>,
    pub(crate) dialing_mode: Option<Box<str>>,
    pub(crate) created_ms: Option<i64>,
    pub(crate) updated_ms: Option<i64>,
    pub(crate) json: Box<RawValue>,
}

/// The fields of a served record that the listing needs.
#[derive(Deserialize)]
struct RecordFields {
    #[serde(rename = "_id")]
    voice_id: Option<String>,
    id: Option<String>,
    #[serde(default)]
    name: String,
    status: Option<String>,
    priority: Option<serde_json::Value>,
    #[serde(rename = "dialingMode")]
    dialing_mode: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: Option<String>,
    #[serde(rename = "updatedAt")]
    updated_at: Option<String>,
}

impl KoreRecord {
    /// Wraps a record given as JSON text (the spec samples), keeping it verbatim.
    pub(crate) fn from_json(json: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let fields: RecordFields = serde_json::from_str(json.get())?;
        let priority = match &fields.priority {
            Some(serde_json::Value::String(text)) => text.parse().ok(),
            Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
            _ => None,
        };
        Ok(Self {
            id: fields.voice_id.or(fields.id).unwrap_or_default().into(),
            name: fields.name.into(),
            status: fields.status.map(Into::into),
            priority,
            dialing_mode: fields.dialing_mode.map(Into::into),
            created_ms: fields.created_at.as_deref().and_then(parse_millis),
            updated_ms: fields.updated_at.as_deref().and_then(parse_millis),
            json,
        })
    }

    /// Serializes a wire record once and keeps its listing fields.
    pub(crate) fn from_wire(wire: &KoreWire) -> Self {
        let json = to_raw(wire);
        Self {
            id: wire
                .voice_id
                .as_deref()
                .or(wire.sms_id.as_deref())
                .unwrap_or_default()
                .into(),
            name: wire.name.as_str().into(),
            status: wire.status.as_deref().map(Into::into),
            priority: wire.priority.as_deref().and_then(|p| p.parse().ok()),
            dialing_mode: wire.dialing_mode.as_deref().map(Into::into),
            created_ms: wire.created_at.as_deref().and_then(parse_millis),
            updated_ms: wire.updated_at.as_deref().and_then(parse_millis),
            json,
        }
    }
}

/// A field the listing sorts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SortKey {
    Name,
    CreatedAt,
    UpdatedAt,
}

/// A validated listing request, minus paging: the cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Selection {
    pub(crate) kind: KoreType,
    /// Empty means no status filter.
    pub(crate) statuses: Vec<String>,
    pub(crate) priorities: Vec<u8>,
    pub(crate) dialing_modes: Vec<String>,
    /// Sort keys in request order; `true` means descending.
    pub(crate) sort: Vec<(SortKey, bool)>,
    /// Ties of every sort key go by id descending instead of ascending
    /// ([`Fault::TiesReversed`](crate::Fault::TiesReversed)).
    pub(crate) ties_descending: bool,
    /// Storage order, `sort` unused ([`Fault::SortIgnored`](crate::Fault::SortIgnored)).
    pub(crate) storage_order: bool,
}

impl Selection {
    fn matches(&self, record: &KoreRecord) -> bool {
        let status_ok = self.statuses.is_empty()
            || record
                .status
                .as_deref()
                .is_some_and(|s| self.statuses.iter().any(|f| f == s));
        let priority_ok = self.priorities.is_empty()
            || record
                .priority
                .is_some_and(|p| self.priorities.contains(&p));
        let mode_ok = self.dialing_modes.is_empty()
            || record
                .dialing_mode
                .as_deref()
                .is_some_and(|m| self.dialing_modes.iter().any(|f| f == m));
        status_ok && priority_ok && mode_ok
    }

    pub(crate) fn compare(&self, a: &KoreRecord, b: &KoreRecord) -> Ordering {
        for &(key, descending) in &self.sort {
            let order = match key {
                SortKey::Name => directed(a.name.cmp(&b.name), descending),
                SortKey::CreatedAt => missing_last(a.created_ms, b.created_ms, descending),
                SortKey::UpdatedAt => missing_last(a.updated_ms, b.updated_ms, descending),
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        directed(a.id.cmp(&b.id), self.ties_descending)
    }
}

/// The keys a storage order must not follow to pass for unsorted.
const SORT_KEYS: [KeyOrder<KoreRecord>; 3] = [
    |a, b| a.name.cmp(&b.name),
    |a, b| a.created_ms.cmp(&b.created_ms),
    |a, b| a.updated_ms.cmp(&b.updated_ms),
];

/// Shuffles `records` (seeded) until their order is no sort's, so a listing
/// in storage order ([`Fault::SortIgnored`](crate::Fault::SortIgnored)) is
/// visibly unsorted.
pub(crate) fn unsort(records: &mut [KoreRecord], seed: u64) {
    ordering::unsort(records, seed, &SORT_KEYS);
}

/// Both collections plus the listing cache, which any data change clears.
#[derive(Debug, Default)]
pub(crate) struct KoreStore {
    voice: Vec<KoreRecord>,
    sms: Vec<KoreRecord>,
    cache: SelectionCache<Selection>,
}

impl KoreStore {
    pub(crate) fn replace(&mut self, voice: Vec<KoreRecord>, sms: Vec<KoreRecord>) {
        self.voice = voice;
        self.sms = sms;
        self.cache.clear();
    }

    pub(crate) fn add(&mut self, kind: KoreType, records: impl IntoIterator<Item = KoreRecord>) {
        self.collection_mut(kind).extend(records);
        self.cache.clear();
    }

    pub(crate) fn collection(&self, kind: KoreType) -> &[KoreRecord] {
        match kind {
            KoreType::Voice => &self.voice,
            KoreType::Sms => &self.sms,
        }
    }

    fn collection_mut(&mut self, kind: KoreType) -> &mut Vec<KoreRecord> {
        match kind {
            KoreType::Voice => &mut self.voice,
            KoreType::Sms => &mut self.sms,
        }
    }

    /// Newest `createdAt` in a collection, for drift inserts that must sort first.
    pub(crate) fn newest_created_ms(&self, kind: KoreType) -> Option<i64> {
        self.collection(kind)
            .iter()
            .filter_map(|r| r.created_ms)
            .max()
    }

    /// Positions of the matching records in sorted order, cached per selection.
    pub(crate) fn select(&mut self, selection: &Selection) -> Arc<[u32]> {
        let records = match selection.kind {
            KoreType::Voice => &self.voice,
            KoreType::Sms => &self.sms,
        };
        self.cache.select(
            selection,
            records,
            |record| selection.matches(record),
            selection.storage_order,
            |a, b| selection.compare(a, b),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn looks_sorted(records: &[KoreRecord]) -> bool {
        ordering::looks_sorted(records, &SORT_KEYS)
    }

    fn record(id: &str, name: &str, created: Option<i64>) -> KoreRecord {
        KoreRecord::from_wire(&KoreWire {
            voice_id: Some(id.to_owned()),
            name: name.to_owned(),
            status: Some("Ready".to_owned()),
            priority: Some("3".to_owned()),
            created_at: created.map(crate::wire::iso_millis),
            ..KoreWire::default()
        })
    }

    fn selection(sort: Vec<(SortKey, bool)>) -> Selection {
        Selection {
            kind: KoreType::Voice,
            statuses: Vec::new(),
            priorities: Vec::new(),
            dialing_modes: Vec::new(),
            sort,
            ties_descending: false,
            storage_order: false,
        }
    }

    #[test]
    fn sorts_with_missing_last_and_id_tie_break_and_caches_until_change() {
        let mut store = KoreStore::default();
        store.replace(
            vec![
                record("b", "x", Some(10)),
                record("a", "x", Some(10)),
                record("c", "y", None),
                record("d", "z", Some(20)),
            ],
            Vec::new(),
        );
        let desc = selection(vec![(SortKey::CreatedAt, true)]);
        assert_eq!(&*store.select(&desc), &[3, 1, 0, 2]);
        let asc = selection(vec![(SortKey::CreatedAt, false)]);
        assert_eq!(&*store.select(&asc), &[1, 0, 3, 2]);
        let first = store.select(&desc);
        assert!(Arc::ptr_eq(&first, &store.select(&desc)));
        store.add(KoreType::Voice, [record("e", "w", Some(30))]);
        assert_eq!(&*store.select(&desc), &[4, 3, 1, 0, 2]);
        let mut reversed = desc.clone();
        reversed.ties_descending = true;
        assert_eq!(&*store.select(&reversed), &[4, 3, 0, 1, 2]);
        let mut storage = desc;
        storage.storage_order = true;
        assert_eq!(&*store.select(&storage), &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn unsort_leaves_no_key_monotone() {
        let mut sorted: Vec<KoreRecord> = (0..5)
            .map(|i| {
                KoreRecord::from_wire(&KoreWire {
                    voice_id: Some(format!("id{i}")),
                    name: format!("n{i}"),
                    created_at: Some(crate::wire::iso_millis(i * 10)),
                    updated_at: Some(crate::wire::iso_millis(i * 10 + 5)),
                    ..KoreWire::default()
                })
            })
            .collect();
        assert!(looks_sorted(&sorted));
        unsort(&mut sorted, 1);
        assert!(!looks_sorted(&sorted));
        let (mut voice, mut sms) = crate::data::kore_sample().unwrap();
        assert!(looks_sorted(&voice) && looks_sorted(&sms));
        unsort(&mut voice, 2);
        unsort(&mut sms, 2);
        assert!(!looks_sorted(&voice) && !looks_sorted(&sms));
        // Nothing to do, nothing to loop on.
        let mut two = vec![record("a", "a", Some(1)), record("b", "b", Some(2))];
        unsort(&mut two, 3);
        assert_eq!(&*two[0].id, "a");
        let mut same: Vec<KoreRecord> = (0..4).map(|i| record(&i.to_string(), "x", None)).collect();
        unsort(&mut same, 4);
        assert_eq!(same.len(), 4);
    }
}

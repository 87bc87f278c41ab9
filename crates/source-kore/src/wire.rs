//! The JSON shapes of `getAllCampaignDetails`, mirroring the spec's samples.
//!
//! Tolerant where the docs are loose: ids as `_id` (voice) or `id` (SMS),
//! priority as a string or a number, paging fields as numbers, numeric
//! strings or empty strings, lists as one entry or an array, and every
//! per-record block optional.
//!
//! Decoding is on the hot path of every page, so the loose fields are read by
//! hand-written visitors in one pass (an `#[serde(untagged)]` enum would
//! buffer each value into a generic tree first, as costly as a `Value`
//! parse), and strings borrow from the body wherever the normalized campaign
//! does not keep them.

use std::borrow::Cow;
use std::fmt;

use campaign_core::ListRef;
use campaign_http::{optional_str, RawRecords};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The response envelope.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) status: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) data: Option<Data<'a>>,
}

/// `data`: the results (kept unparsed, to keep each record verbatim) and paging.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Data<'a> {
    #[serde(default, borrow, deserialize_with = "records_or_null")]
    pub(crate) results: RawRecords<'a>,
    #[serde(default, deserialize_with = "loose_u64")]
    pub(crate) skip: Option<u64>,
    #[serde(default, deserialize_with = "loose_u64")]
    pub(crate) limit: Option<u64>,
    #[serde(default, deserialize_with = "loose_bool")]
    pub(crate) has_more: Option<bool>,
    #[serde(default, deserialize_with = "loose_u64")]
    pub(crate) total_pages: Option<u64>,
    #[serde(default, deserialize_with = "loose_u64")]
    pub(crate) total_results: Option<u64>,
}

/// `data.results`, where `null` is an empty page like a missing one.
fn records_or_null<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<RawRecords<'a>, D::Error> {
    Option::<RawRecords<'a>>::deserialize(d).map(Option::unwrap_or_default)
}

/// One of `data`'s counts on its own, read as [`Data`] reads it (for the
/// one-pass decoder, which walks `data` key by key).
#[derive(Debug, Deserialize)]
pub(crate) struct Count(#[serde(deserialize_with = "loose_u64")] pub(crate) Option<u64>);

/// `data.hasMore` on its own, read as [`Data`] reads it.
#[derive(Debug, Deserialize)]
pub(crate) struct Flag(#[serde(deserialize_with = "loose_bool")] pub(crate) Option<bool>);

/// One voice or SMS campaign record, its strings borrowed from the body
/// (owned only where the JSON escapes something).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    #[serde(rename = "_id", default, borrow, deserialize_with = "optional_str")]
    pub(crate) underscore_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) description: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) status: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "loose_priority")]
    pub(crate) priority: Option<u8>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) dialing_mode: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) created_at: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) updated_at: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) dnc_lists: Lists,
    #[serde(default)]
    pub(crate) contact_lists: Lists,
    #[serde(default)]
    pub(crate) schedule: Option<ScheduleWire>,
    #[serde(default, borrow)]
    pub(crate) message: Option<MessageWire<'a>>,
}

/// `contactLists` / `dncLists`: missing or `null` (none), one entry or an
/// array of entries, each a bare name (`"CL Dec 4"`) or an object
/// `{"id"?, "name"?}` (extra keys ignored; one with neither, or `null`
/// inside the array, names no list and is left out). Anything else (a
/// number, a boolean, a nested array) is a decode error.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Lists(pub(crate) Vec<ListRef>);

impl<'de> Deserialize<'de> for Lists {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListsVisitor)
    }
}

struct ListsVisitor;

impl<'de> Visitor<'de> for ListsVisitor {
    type Value = Lists;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list name, a list object or an array of them")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lists(vec![ListRef::named(v)]))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Lists(vec![ListRef::named(v)]))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(Lists(EntryVisitor.visit_map(map)?.into_iter().collect()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Two covers most campaigns without a regrow (serde_json gives no hint).
        let mut lists = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(16));
        while let Some(entry) = seq.next_element::<Entry>()? {
            lists.extend(entry.0);
        }
        Ok(Lists(lists))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lists::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lists::default())
    }
}

/// One list entry of an array: a name or an object (`None`: `null`, or
/// neither id nor name).
struct Entry(Option<ListRef>);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntryVisitor).map(Entry)
    }
}

struct EntryVisitor;

/// The keys of a list object.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum EntryKey {
    Id,
    Name,
    #[serde(other)]
    Other,
}

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Option<ListRef>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list name or a list object")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(ListRef::named(v)))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(ListRef::named(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut name): (Option<Option<String>>, Option<Option<String>>) = (None, None);
        while let Some(key) = map.next_key::<EntryKey>()? {
            match key {
                EntryKey::Id if id.is_some() => return Err(de::Error::duplicate_field("id")),
                EntryKey::Id => id = Some(map.next_value()?),
                EntryKey::Name if name.is_some() => return Err(de::Error::duplicate_field("name")),
                EntryKey::Name => name = Some(map.next_value()?),
                EntryKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match (name.flatten(), id.flatten()) {
            (Some(name), id) => Some(ListRef { name, id }),
            (None, Some(id)) => Some(ListRef {
                name: String::new(),
                id: Some(id),
            }),
            (None, None) => None,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScheduleWire {
    #[serde(default)]
    pub(crate) is_scheduling_enabled: Option<bool>,
    #[serde(default)]
    pub(crate) is_recurrence_enabled: Option<bool>,
}

/// `message` of simple SMS campaigns; `message.message` is base64.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageWire<'a> {
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) message: Option<Cow<'a, str>>,
}

/// The request body, fields in the samples' order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestBody<'a> {
    pub(crate) limit: u32,
    pub(crate) skip: u64,
    /// `None` is sent as `""`, which the spec allows.
    #[serde(serialize_with = "number_or_empty")]
    pub(crate) page: Option<u64>,
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sort_by: Option<SortBy>,
    #[serde(skip_serializing_if = "Filters::is_empty")]
    pub(crate) filters: Filters,
}

/// A number, or `""` for none (the spec's "a number or an empty string").
fn number_or_empty<S: serde::Serializer>(n: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => s.serialize_u64(*n),
        None => s.serialize_str(""),
    }
}

/// `sortBy`: the sorted field first, then (for a server that enforces the
/// spec's "`sortBy.name` must be included if any sort field is used")
/// `name` as a second key. Written by hand because key order is sort order
/// and a JSON map would sort its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortBy {
    pub(crate) field: &'static str,
    pub(crate) direction: &'static str,
    /// Add `"name": "asc"` after the field (never when the field is `name`).
    pub(crate) with_name: bool,
}

impl Serialize for SortBy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let with_name = self.with_name && self.field != "name";
        let mut map = serializer.serialize_map(Some(1 + usize::from(with_name)))?;
        map.serialize_entry(self.field, self.direction)?;
        if with_name {
            map.serialize_entry("name", "asc")?;
        }
        map.end()
    }
}

/// `filters`; only the set ones are sent.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filters {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) status: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) priority: Vec<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) dialing_mode: Vec<&'static str>,
}

impl Filters {
    fn is_empty(&self) -> bool {
        self.status.is_empty() && self.priority.is_empty() && self.dialing_mode.is_empty()
    }
}

/// A count given as a number, a numeric string or an empty string (none).
fn loose_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(LooseU64)
}

struct LooseU64;

impl<'de> Visitor<'de> for LooseU64 {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a count (a number, a numeric string or an empty string)")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| E::custom(format!("expected a count, got {v:?}")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A flag given as a boolean, `"true"`/`"false"` or an empty string (none).
fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(LooseBool)
}

struct LooseBool;

impl<'de> Visitor<'de> for LooseBool {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("hasMore as a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            Ok(None)
        } else if v.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if v.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Priority as `"5"`, `5` or `5.0`. Text or a number that is not a whole
/// 0..=255 is kept only in `raw` (no priority); a value of another type
/// (object, array, boolean) is a decode error.
fn loose_priority<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    d.deserialize_any(LoosePriority)
}

struct LoosePriority;

impl<'de> Visitor<'de> for LoosePriority {
    type Value = Option<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("priority as a string or number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(u8::try_from(v).ok())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u8::try_from(v).ok())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(whole_priority(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        // Every text a `u8` reads, an `f64` reads to the same whole number.
        Ok(v.trim().parse().ok().and_then(whole_priority))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A priority written as a float (`5.0`): only a whole number in 0..=255
/// is one; `2.5` is no priority level.
fn whole_priority(v: f64) -> Option<u8> {
    (v.fract() == 0.0 && (0.0..=255.0).contains(&v)).then_some(v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(json: &str) -> Result<Vec<ListRef>, serde_json::Error> {
        #[derive(Deserialize)]
        struct Holder {
            #[serde(default)]
            l: Lists,
        }
        serde_json::from_str::<Holder>(json).map(|h| h.l.0)
    }

    fn named_with_id(name: &str, id: &str) -> ListRef {
        ListRef {
            name: name.into(),
            id: Some(id.into()),
        }
    }

    #[test]
    fn lists_accept_every_documented_shape() {
        assert_eq!(lists("{}").unwrap(), []);
        assert_eq!(lists(r#"{"l":null}"#).unwrap(), []);
        assert_eq!(lists(r#"{"l":[]}"#).unwrap(), []);
        assert_eq!(lists(r#"{"l":"CL"}"#).unwrap(), [ListRef::named("CL")]);
        assert_eq!(
            lists(r#"{"l":"C\"L"}"#).unwrap(),
            [ListRef::named("C\"L")],
            "escaped text"
        );
        assert_eq!(
            lists(r#"{"l":["A","B"]}"#).unwrap(),
            [ListRef::named("A"), ListRef::named("B")]
        );
        assert_eq!(
            lists(r#"{"l":{"id":"cl-1","name":"DNC","extra":[1,{"x":2}]}}"#).unwrap(),
            [named_with_id("DNC", "cl-1")]
        );
        assert_eq!(
            lists(r#"{"l":["a",null]}"#).unwrap(),
            [ListRef::named("a")],
            "a null entry names no list"
        );
        assert_eq!(
            lists(r#"{"l":[{"name":"N","id":null},{"id":"only-id"},{},"bare",{"id":null,"name":null}]}"#)
                .unwrap(),
            [
                ListRef::named("N"),
                named_with_id("", "only-id"),
                ListRef::named("bare")
            ]
        );
    }

    #[test]
    fn lists_reject_other_types() {
        for json in [
            r#"{"l":5}"#,
            r#"{"l":true}"#,
            r#"{"l":[["nested"]]}"#,
            r#"{"l":[1]}"#,
            r#"{"l":{"id":7}}"#,
            r#"{"l":{"name":"a","name":"b"}}"#,
            r#"{"l":["unterminated}"#,
        ] {
            assert!(lists(json).is_err(), "{json}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Loose {
        #[serde(default, deserialize_with = "loose_priority")]
        p: Option<u8>,
        #[serde(default, deserialize_with = "loose_u64")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "loose_bool")]
        b: Option<bool>,
    }

    type Fields = (Option<u8>, Option<u64>, Option<bool>);

    fn loose(json: &str) -> Result<Fields, serde_json::Error> {
        serde_json::from_str::<Loose>(json).map(|l| (l.p, l.n, l.b))
    }

    #[test]
    fn priority_as_string_or_number() {
        let p = |json: &str| loose(&format!(r#"{{"p":{json}}}"#)).map(|l| l.0);
        assert_eq!(p(r#""5""#).unwrap(), Some(5));
        assert_eq!(p(r#"" 7 ""#).unwrap(), Some(7));
        assert_eq!(p("3").unwrap(), Some(3));
        assert_eq!(p("null").unwrap(), None);
        assert_eq!(loose("{}").unwrap().0, None);
        assert_eq!(p("5.0").unwrap(), Some(5), "a whole float");
        assert_eq!(p("5e0").unwrap(), Some(5));
        assert_eq!(p(r#""5.0""#).unwrap(), Some(5));
        // Kept only in `raw`: text or numbers that are no small integer.
        for kept in [
            r#""high""#,
            r#""""#,
            "256",
            "-1",
            "2.5",
            "255.5",
            "256.0",
            "-1.0",
            r#""300""#,
            r#""NaN""#,
        ] {
            assert_eq!(p(kept).unwrap(), None, "{kept}");
        }
        for wrong in ["true", "[5]", r#"{"value":5}"#] {
            let e = p(wrong).unwrap_err().to_string();
            assert!(e.contains("priority as a string or number"), "{e}");
        }
    }

    #[test]
    fn counts_and_flags_are_loose() {
        let n = |json: &str| loose(&format!(r#"{{"n":{json}}}"#)).map(|l| l.1);
        assert_eq!(n("50").unwrap(), Some(50));
        assert_eq!(n(r#""50""#).unwrap(), Some(50));
        assert_eq!(n(r#"" 50 ""#).unwrap(), Some(50));
        assert_eq!(n(r#""""#).unwrap(), None);
        assert_eq!(n(r#""  ""#).unwrap(), None);
        assert_eq!(n("null").unwrap(), None);
        for wrong in ["-1", "1.5", "true", r#""x""#, "[1]", "{}"] {
            assert!(n(wrong).is_err(), "{wrong}");
        }
        let b = |json: &str| loose(&format!(r#"{{"b":{json}}}"#)).map(|l| l.2);
        assert_eq!(b("true").unwrap(), Some(true));
        assert_eq!(b("false").unwrap(), Some(false));
        assert_eq!(b(r#""TRUE""#).unwrap(), Some(true));
        assert_eq!(b(r#""false""#).unwrap(), Some(false));
        assert_eq!(b(r#""""#).unwrap(), None);
        assert_eq!(b("null").unwrap(), None);
        for wrong in ["1", "0", r#""yes""#, "[]", "{}"] {
            assert!(b(wrong).is_err(), "{wrong}");
        }
    }
}

//! The JSON shapes of `getAllCampaignDetails`, mirroring the spec's samples.
//!
//! Tolerant where the docs are loose: ids as `_id` (voice) or `id` (SMS),
//! priority as a string or a number, paging fields as numbers, numeric
//! strings or empty strings, and every per-record block optional.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The response envelope.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default, borrow)]
    pub(crate) data: Option<Data<'a>>,
}

/// `data`: the results (kept unparsed, to keep each record verbatim) and paging.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Data<'a> {
    #[serde(default, borrow)]
    pub(crate) results: Vec<&'a RawValue>,
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

/// One voice or SMS campaign record.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    #[serde(rename = "_id", default)]
    pub(crate) underscore_id: Option<String>,
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default, deserialize_with = "loose_priority")]
    pub(crate) priority: Option<u8>,
    #[serde(default)]
    pub(crate) dialing_mode: Option<String>,
    #[serde(default)]
    pub(crate) created_at: Option<String>,
    #[serde(default)]
    pub(crate) updated_at: Option<String>,
    #[serde(default)]
    pub(crate) dnc_lists: Option<OneOrMany<ListEntry>>,
    #[serde(default)]
    pub(crate) contact_lists: Option<OneOrMany<ListEntry>>,
    #[serde(default)]
    pub(crate) schedule: Option<ScheduleWire>,
    #[serde(default)]
    pub(crate) message: Option<MessageWire>,
}

/// A list given as one object or as an array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// A list as a bare name (`contactLists`) or an object (`dncLists`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ListEntry {
    Name(String),
    Object {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        name: Option<String>,
    },
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
pub(crate) struct MessageWire {
    #[serde(default)]
    pub(crate) message: Option<String>,
}

/// The request body, fields in the samples' order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestBody<'a> {
    pub(crate) limit: u32,
    pub(crate) skip: u64,
    pub(crate) page: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_date: Option<String>,
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sort_by: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Filters::is_empty")]
    pub(crate) filters: Filters,
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

/// A JSON value as loosely typed as the docs describe it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Bool(bool),
    Unsigned(u64),
    Number(f64),
    Text(String),
}

/// A count given as a number, a numeric string or an empty string (none).
fn loose_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Loose>::deserialize(d)? {
        None => Ok(None),
        Some(Loose::Unsigned(n)) => Ok(Some(n)),
        Some(Loose::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Loose::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a count, got {t:?}"))),
        Some(Loose::Number(n)) => Err(de::Error::custom(format!("expected a count, got {n}"))),
        Some(Loose::Bool(b)) => Err(de::Error::custom(format!("expected a count, got {b}"))),
    }
}

/// A flag given as a boolean, `"true"`/`"false"` or an empty string (none).
fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Loose>::deserialize(d)? {
        None => Ok(None),
        Some(Loose::Bool(b)) => Ok(Some(b)),
        Some(Loose::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Loose::Text(t)) if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Loose::Text(t)) if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(de::Error::custom("expected hasMore to be a boolean")),
    }
}

/// Priority as `"5"` or `5`. Text that is not a small number is kept only in
/// `raw` (no priority); a value of another type (object, array, boolean) is
/// a decode error.
fn loose_priority<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None => Ok(None),
        Some(serde_json::Value::String(t)) => Ok(t.trim().parse().ok()),
        Some(serde_json::Value::Number(n)) => Ok(n.as_u64().and_then(|n| u8::try_from(n).ok())),
        Some(other) => Err(de::Error::custom(format!(
            "expected priority as a string or number, got {}",
            kind_of(&other)
        ))),
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

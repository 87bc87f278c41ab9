//! Parsing and validating a Kore listing request body.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::kore_store::{KoreType, Selection, SortKey};

/// Allowed `filters.status` values.
const STATUSES: [&str; 8] = [
    "Active",
    "Completed",
    "Ready",
    "Paused",
    "Preparing",
    "Stopped",
    "Scheduled",
    "Rescheduled",
];
/// Allowed `filters.dialingMode` values.
const DIALING_MODES: [&str; 2] = ["Progressive", "Preview"];

/// A validated listing request.
#[derive(Debug)]
pub(crate) struct ListRequest {
    pub(crate) selection: Selection,
    pub(crate) skip: Option<usize>,
    pub(crate) page: Option<usize>,
    pub(crate) limit: Option<usize>,
    /// `sortBy` names a sort field but not `name`, which the spec's
    /// `sortBy.name` row requires ([`Fault::SortNameRequired`](crate::Fault::SortNameRequired)).
    pub(crate) sort_lacks_name: bool,
}

/// A JSON object with its keys in document order (for `sortBy`, whose key
/// order is the sort order).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor)
    }
}

#[derive(Deserialize)]
struct SortOnly {
    #[serde(rename = "sortBy")]
    sort_by: Option<OrderedObject>,
}

/// `skip`/`page`/`limit`: a non-negative integer, an empty string, null or absent.
fn count(body: &Map<String, Value>, key: &str) -> Result<Option<usize>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{key} must be a non-negative integer")),
        Some(_) => Err(format!("{key} must be a number or an empty string")),
    }
}

/// Checks `startDate`/`endDate`: an ISO 8601 string, an empty string, null or absent.
fn check_date(body: &Map<String, Value>, key: &str) -> Result<(), String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(text)) if text.is_empty() => Ok(()),
        Some(Value::String(text)) => crate::wire::parse_millis(text)
            .map(|_| ())
            .ok_or_else(|| format!("{key} must be an ISO 8601 timestamp")),
        Some(_) => Err(format!("{key} must be an ISO 8601 timestamp string")),
    }
}

fn string_list(value: &Value, key: &str, allowed: &[&str]) -> Result<Vec<String>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(format!("filters.{key} must be an array")),
    };
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(text) if allowed.contains(&text) => Ok(text.to_owned()),
            _ => Err(format!(
                "filters.{key} values must be one of {}",
                allowed.join(", ")
            )),
        })
        .collect()
}

fn priorities(value: &Value) -> Result<Vec<u8>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err("filters.priority must be an array".to_owned()),
    };
    items
        .iter()
        .map(|item| {
            // Numbers per the spec; numeric strings too, as responses spell priority that way.
            let n = match item {
                Value::Number(n) => n.as_u64(),
                Value::String(text) => text.parse().ok(),
                _ => None,
            };
            n.and_then(|n| u8::try_from(n).ok())
                .filter(|n| (1..=5).contains(n))
                .ok_or_else(|| "filters.priority values must be 1, 2, 3, 4 or 5".to_owned())
        })
        .collect()
}

impl ListRequest {
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, String> {
        let body: Map<String, Value> =
            serde_json::from_slice(raw).map_err(|_| "body must be a JSON object".to_owned())?;
        let kind = match body.get("type").and_then(Value::as_str) {
            Some("voice") => KoreType::Voice,
            Some("sms") => KoreType::Sms,
            Some(_) => return Err("type must be \"voice\" or \"sms\"".to_owned()),
            None => return Err("type is required".to_owned()),
        };
        let skip = count(&body, "skip")?;
        let page = count(&body, "page")?;
        let limit = count(&body, "limit")?;
        if page == Some(0) {
            return Err("page must be at least 1".to_owned());
        }
        if limit == Some(0) {
            return Err("limit must be at least 1".to_owned());
        }
        // Validated but not applied: the spec says neither which timestamp the
        // window bounds nor whether it filters at all, and its own voice sample
        // (window Dec 1 to Dec 4) answers with campaigns created Dec 4 to Dec 8.
        check_date(&body, "startDate")?;
        check_date(&body, "endDate")?;
        let sort = match body.get("sortBy") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(_)) => {
                let sort_only: SortOnly = serde_json::from_slice(raw)
                    .map_err(|_| "sortBy must be an object".to_owned())?;
                let mut keys = Vec::new();
                for (name, direction) in sort_only.sort_by.map(|o| o.0).unwrap_or_default() {
                    let key = match name.as_str() {
                        "name" => SortKey::Name,
                        "createdAt" => SortKey::CreatedAt,
                        "updatedAt" => SortKey::UpdatedAt,
                        _ => {
                            return Err(
                                "sortBy keys must be name, createdAt or updatedAt".to_owned()
                            )
                        }
                    };
                    let descending = match direction.as_str() {
                        Some("asc") => false,
                        Some("desc") => true,
                        _ => return Err(format!("sortBy.{name} must be \"asc\" or \"desc\"")),
                    };
                    keys.push((key, descending));
                }
                keys
            }
            Some(_) => return Err("sortBy must be an object".to_owned()),
        };
        let sort_lacks_name =
            !sort.is_empty() && !sort.iter().any(|&(key, _)| key == SortKey::Name);
        let sort = if sort.is_empty() {
            vec![(SortKey::CreatedAt, true)]
        } else {
            sort
        };
        let (mut statuses, mut priority_filter, mut dialing_modes) =
            (Vec::new(), Vec::new(), Vec::new());
        match body.get("filters") {
            None | Some(Value::Null) => {}
            Some(Value::Object(filters)) => {
                for (key, value) in filters {
                    match key.as_str() {
                        "status" => statuses = string_list(value, "status", &STATUSES)?,
                        "priority" => priority_filter = priorities(value)?,
                        "dialingMode" => {
                            dialing_modes = string_list(value, "dialingMode", &DIALING_MODES)?;
                        }
                        _ => {
                            return Err(
                                "filters keys must be status, priority or dialingMode".to_owned()
                            )
                        }
                    }
                }
            }
            Some(_) => return Err("filters must be an object".to_owned()),
        }
        if kind == KoreType::Sms {
            // Documented as applying only to voice campaigns: ignored for SMS.
            dialing_modes.clear();
        }
        Ok(Self {
            selection: Selection {
                kind,
                statuses,
                priorities: priority_filter,
                dialing_modes,
                sort,
                ties_descending: false,
                storage_order: false,
            },
            skip,
            page,
            limit,
            sort_lacks_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_samples_and_keeps_sort_key_order() {
        let voice = ListRequest::parse(crate::samples::KORE_VOICE_REQUEST.as_bytes()).unwrap();
        assert_eq!(voice.selection.kind, KoreType::Voice);
        assert_eq!(voice.selection.priorities, vec![5]);
        assert_eq!(
            voice.selection.dialing_modes,
            vec!["Progressive", "Preview"]
        );
        assert_eq!(
            (voice.skip, voice.page, voice.limit),
            (Some(0), Some(1), Some(50))
        );
        let sms = ListRequest::parse(crate::samples::KORE_SMS_REQUEST.as_bytes()).unwrap();
        assert_eq!(sms.selection.kind, KoreType::Sms);
        let ordered = ListRequest::parse(
            br#"{"type":"sms","sortBy":{"updatedAt":"asc","name":"desc"},"skip":""}"#,
        )
        .unwrap();
        assert_eq!(
            ordered.selection.sort,
            vec![(SortKey::UpdatedAt, false), (SortKey::Name, true)]
        );
        assert_eq!(ordered.skip, None);
        assert!(!ordered.sort_lacks_name && voice.sort_lacks_name);
        for (body, lacks) in [
            (r#"{"type":"sms"}"#, false),
            (r#"{"type":"sms","sortBy":{}}"#, false),
            (r#"{"type":"sms","sortBy":{"updatedAt":"asc"}}"#, true),
            (r#"{"type":"sms","sortBy":{"name":"asc"}}"#, false),
        ] {
            assert_eq!(
                ListRequest::parse(body.as_bytes()).unwrap().sort_lacks_name,
                lacks,
                "{body}"
            );
        }
    }

    #[test]
    fn rejects_what_the_spec_does_not_allow() {
        for body in [
            r#"{}"#,
            r#"[]"#,
            r#"{"type":"chat"}"#,
            r#"{"type":"voice","skip":"1"}"#,
            r#"{"type":"voice","limit":-1}"#,
            r#"{"type":"voice","limit":0}"#,
            r#"{"type":"voice","page":0}"#,
            r#"{"type":"voice","startDate":"yesterday"}"#,
            r#"{"type":"voice","sortBy":{"priority":"asc"}}"#,
            r#"{"type":"voice","sortBy":{"name":"up"}}"#,
            r#"{"type":"voice","filters":{"status":["Running"]}}"#,
            r#"{"type":"voice","filters":{"priority":[6]}}"#,
            r#"{"type":"voice","filters":{"dialingMode":["Agentless"]}}"#,
            r#"{"type":"voice","filters":{"channel":["x"]}}"#,
        ] {
            assert!(ListRequest::parse(body.as_bytes()).is_err(), "{body}");
        }
    }
}

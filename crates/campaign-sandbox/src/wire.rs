//! The providers' record shapes, as the sandbox writes them.

use chrono::DateTime;
use serde::Serialize;
use serde_json::value::RawValue;

/// A CMS campaign record (`GET /configuration/hierarchyconfig/campaign`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CmsWire {
    pub(crate) campaign_context_id: i64,
    pub(crate) campaign_context_name: String,
    pub(crate) campaign_context_type: String,
    pub(crate) contact_center_id: i64,
    pub(crate) process_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) date_added: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) date_modified: Option<String>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub(crate) reference: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i64>,
}

/// A Kore.ai voice or SMS campaign record, fields in the samples' order.
/// Voice records carry `_id`, SMS records `id`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KoreWire {
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub(crate) voice_id: Option<String>,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dnc_lists: Option<KoreListWire>,
    /// A string on the wire ("5").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) priority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dialing_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<KoreMessageWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) experience_flow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) is_filters_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) schedule: Option<KoreScheduleWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) campaign_instance_id: Option<String>,
    #[serde(rename = "id", skip_serializing_if = "Option::is_none")]
    pub(crate) sms_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) total_messages_sent: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) campaign_instance_updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) campaign_execution_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) connection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) contact_lists: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) format: Option<String>,
}

/// Kore's `dncLists` object (voice carries `id` and `name`, SMS only `name`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct KoreListWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    pub(crate) name: String,
}

/// Kore's SMS `message` block; `message` is base64 text.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct KoreMessageWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) template_name: Option<String>,
    pub(crate) message: String,
    #[serde(rename = "templateId", skip_serializing_if = "Option::is_none")]
    pub(crate) template_id: Option<String>,
}

/// Kore's `schedule` block.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KoreScheduleWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) is_scheduling_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) is_recurrence_enabled: Option<bool>,
}

/// Serializes a sandbox-built record once, keeping the JSON text.
pub(crate) fn to_raw<T: Serialize>(record: &T) -> Box<RawValue> {
    // Wire structs hold only strings, numbers and booleans, which always serialize.
    serde_json::value::to_raw_value(record).expect("sandbox wire records always serialize")
}

/// Formats epoch milliseconds as ISO 8601 with milliseconds and `Z`, as both
/// providers do.
pub(crate) fn iso_millis(millis: i64) -> String {
    DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Parses an ISO 8601 / RFC 3339 timestamp into epoch milliseconds.
pub(crate) fn parse_millis(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.timestamp_millis())
}

/// Removes insignificant whitespace from JSON text, keeping key order (which
/// a parse into `serde_json::Value` would not guarantee).
pub(crate) fn minify_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_order() {
        let text = "{ \"b\" : \"a \\\" b\" ,\n \"a\": [1, 2] }";
        assert_eq!(minify_json(text), "{\"b\":\"a \\\" b\",\"a\":[1,2]}");
    }

    #[test]
    fn dates_round_trip_with_millis() {
        let text = "2025-12-08T09:17:21.090Z";
        let millis = parse_millis(text).unwrap();
        assert_eq!(iso_millis(millis), text);
        assert_eq!(parse_millis("not a date"), None);
    }
}

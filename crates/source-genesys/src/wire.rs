//! The JSON shapes of `GET /api/v2/outbound/campaigns` (spec §3, §4) and
//! of the Platform `ErrorBody` (§5.1), as serde DTOs.
//!
//! Absent and `null` are the same everywhere (Genesys omits null fields),
//! arrays may be missing instead of `[]` (§4.4, §8.7), and unknown fields
//! are ignored (Genesys adds fields without a version bump). Strings borrow
//! from the body where the JSON has no escapes.

use std::borrow::Cow;

use campaign_http::{optional_str, ProviderError, RawRecords};
use serde::Deserialize;
use serde_json::Value;

/// The `CampaignEntityListing` envelope, its entities kept unparsed so each
/// record is decoded (and kept in `raw`) on its own.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope<'a> {
    #[serde(default, borrow)]
    pub(crate) entities: Option<RawRecords<'a>>,
    #[serde(default)]
    pub(crate) page_size: Option<u64>,
    #[serde(default)]
    pub(crate) page_number: Option<u64>,
    #[serde(default)]
    pub(crate) total: Option<u64>,
    #[serde(default)]
    pub(crate) page_count: Option<u64>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) next_uri: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) self_uri: Option<Cow<'a, str>>,
}

/// A `DomainEntityRef`: `{id, name, selfUri}`, all optional (§4.2).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EntityRef<'a> {
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) name: Option<Cow<'a, str>>,
}

/// The fields of a `Campaign` (§4) this crate maps; the rest stays in `raw`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) date_created: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) date_modified: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) version: Option<i64>,
    #[serde(default, borrow)]
    pub(crate) contact_list: Option<EntityRef<'a>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) dialing_mode: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub(crate) campaign_status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) dnc_lists: Option<Vec<EntityRef<'a>>>,
    /// A JSON number (`int32` per the spec); any other type is an error.
    #[serde(default)]
    pub(crate) priority: Option<serde_json::Number>,
    #[serde(default, borrow)]
    pub(crate) division: Option<EntityRef<'a>>,
}

/// The `id` of a record that could not be decoded, if it holds a non-empty string.
pub(crate) fn readable_id(raw: &str) -> Option<String> {
    let value: Value = serde_json::from_str(raw).ok()?;
    match value.get("id")? {
        Value::String(id) if !id.trim().is_empty() => Some(id.clone()),
        _ => None,
    }
}

/// Reads an `ErrorBody` (§5.1): `code` (what to branch on) and `message`,
/// with `contextId` (the correlation id support asks for) appended. A
/// `too.many.requests…` code means "rate limited" whatever the HTTP status.
/// `None` for any other body (a gateway's HTML page, a listing).
pub(crate) fn parse_error_body(body: &[u8]) -> Option<ProviderError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let code = text("code");
    let mut message = text("message").map(str::to_owned);
    if code.is_none() && message.is_none() {
        return None;
    }
    if let Some(context) = text("contextId") {
        let base = message.take().unwrap_or_default();
        message = Some(
            format!("{base} (contextId {context})")
                .trim_start()
                .to_owned(),
        );
    }
    let rate_limited = code.is_some_and(|c| c.starts_with("too.many.requests"));
    Some(ProviderError {
        code: code.map(str::to_owned),
        message,
        rate_limited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_code_message_and_context() {
        let body =
            br#"{"message":"No authentication bearer token specified in authorization header.",
            "code":"authentication.required","status":401,"messageParams":{},
            "contextId":"6a1d9f0e-3c52-4a8e-9d7e-0b1f2c3d4e5f","details":[],"errors":[]}"#;
        let parsed = parse_error_body(body).unwrap();
        assert_eq!(parsed.code.as_deref(), Some("authentication.required"));
        assert_eq!(
            parsed.message.as_deref(),
            Some("No authentication bearer token specified in authorization header. (contextId 6a1d9f0e-3c52-4a8e-9d7e-0b1f2c3d4e5f)")
        );
        assert!(!parsed.rate_limited);
        let limited =
            parse_error_body(br#"{"code":"too.many.requests.retry.after","status":429}"#).unwrap();
        assert!(limited.rate_limited);
        for other in [
            &b"<html>502</html>"[..],
            b"{}",
            br#"{"entities":[],"total":0}"#,
            b"[1]",
        ] {
            assert_eq!(parse_error_body(other), None);
        }
    }

    #[test]
    fn records_tolerate_absent_and_null_and_refuse_wrong_types() {
        let record: Record<'_> = serde_json::from_str(
            r#"{"id":"a","name":null,"dncLists":null,"priority":3,"division":{"id":"d"},"extra":[1]}"#,
        )
        .unwrap();
        assert_eq!(record.id.as_deref(), Some("a"));
        assert!(record.name.is_none() && record.dnc_lists.is_none());
        assert_eq!(record.division.unwrap().id.as_deref(), Some("d"));
        for wrong in [
            r#"{"id":7}"#,
            r#"{"id":"a","name":7}"#,
            r#"{"id":"a","contactList":7}"#,
            r#"{"id":"a","priority":"5"}"#,
            r#"{"id":"a","dncLists":[null]}"#,
            r#"{"id":"a","version":1.5}"#,
        ] {
            assert!(
                serde_json::from_str::<Record<'_>>(wrong).is_err(),
                "{wrong}"
            );
        }
        assert_eq!(readable_id(r#"{"id":"x","name":7}"#).as_deref(), Some("x"));
        assert_eq!(readable_id(r#"{"id":" "}"#), None);
        assert_eq!(readable_id("5"), None);
    }
}

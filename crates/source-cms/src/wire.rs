//! The CMS JSON exactly as the spec documents it, read tolerantly: extra
//! fields are ignored, optional fields may be missing or `null`, integers may
//! arrive as numeric strings and timestamps as ISO 8601 text (with or without
//! an offset) or epoch milliseconds.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;

use campaign_http::{optional_str, parse_iso8601, ProviderError};

/// One record of `GET /configuration/hierarchyconfig/campaign`, its text
/// fields borrowed from the body (owned only where the JSON escapes
/// something), so a field the campaign does not keep costs no allocation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CmsCampaign<'a> {
    /// Unique campaign identifier (the native id).
    #[serde(default, deserialize_with = "flex_id")]
    pub campaign_context_id: Option<String>,
    /// Name of the campaign.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub campaign_context_name: Option<Cow<'a, str>>,
    /// Campaign type, e.g. `Interaction Campaign`.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub campaign_context_type: Option<Cow<'a, str>>,
    /// Parent contact center id.
    #[serde(default, deserialize_with = "flex_int")]
    pub contact_center_id: Option<i64>,
    /// Parent process id.
    #[serde(default, deserialize_with = "flex_int")]
    pub process_id: Option<i64>,
    /// Description of the campaign.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub description: Option<Cow<'a, str>>,
    /// Creation time.
    #[serde(default, deserialize_with = "flex_time")]
    pub date_added: Option<DateTime<Utc>>,
    /// Last modification time.
    #[serde(default, deserialize_with = "flex_time")]
    pub date_modified: Option<DateTime<Utc>>,
    /// Reference counter; not part of the model, kept in `raw` only.
    #[serde(default, rename = "ref", deserialize_with = "flex_int")]
    #[allow(dead_code)]
    pub reference: Option<i64>,
    /// Record version number.
    #[serde(default, deserialize_with = "flex_int")]
    pub version: Option<i64>,
}

/// Reads an error body: the documented `{statusCode, status, errorCode,
/// errorMessage}`, or the v2 envelope of the token endpoint,
/// `{response: {error_data: {code, message, description}}}`. A code may be
/// a string (as documented) or a number.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<ProviderError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |value: Option<&Value>| match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let (code, message) = match value.pointer("/response/error_data") {
        Some(data) => (
            text(data.get("code")),
            ["message", "description"]
                .iter()
                .find_map(|k| data.get(*k).and_then(Value::as_str))
                .map(str::to_owned),
        ),
        None => (
            text(value.get("errorCode")),
            ["errorMessage", "status"]
                .iter()
                .find_map(|k| value.get(*k).and_then(Value::as_str))
                .map(str::to_owned),
        ),
    };
    (code.is_some() || message.is_some()).then(|| ProviderError::new(code, message))
}

fn flex_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(FlexInt)
}

fn flex_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(FlexId)
}

fn flex_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    d.deserialize_any(FlexTime)
}

/// An integer, a numeric string, or `null`.
struct FlexInt;

impl<'de> Visitor<'de> for FlexInt {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer, a numeric string or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // `3.0` is an integer written by a lax serializer; `3.5` is not.
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v <= i64::MAX as f64 {
            Ok(Some(v as i64))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse()
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An id: an integer (or a string holding one), kept as text. The spec
/// types it Integer, so `"x"` is a wrong type, not an id.
struct FlexId;

impl<'de> Visitor<'de> for FlexId {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer id")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        FlexInt.visit_f64(v).map(|n| n.map(|n| n.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        FlexInt.visit_str(v).map(|n| n.map(|n| n.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An ISO 8601 timestamp, epoch milliseconds, or `null`/empty.
struct FlexTime;

impl<'de> Visitor<'de> for FlexTime {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ISO 8601 timestamp, epoch milliseconds or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        DateTime::from_timestamp_millis(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        parse_iso8601(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_in_both_documented_shapes() {
        let cms = br#"{"statusCode":404,"status":"Not Found","errorCode":"CONF-1001","errorMessage":"Object doesn't exist"}"#;
        assert_eq!(
            parse_error_body(cms),
            Some(ProviderError {
                code: Some("CONF-1001".into()),
                message: Some("Object doesn't exist".into()),
                rate_limited: false
            })
        );
        let v2 = br#"{"http_code":401,"response":{"code":401,"status":"failure","error_data":{"code":1010,"message":"Authentication failed"}}}"#;
        assert_eq!(
            parse_error_body(v2),
            Some(ProviderError {
                code: Some("1010".into()),
                message: Some("Authentication failed".into()),
                rate_limited: false
            })
        );
        // A numeric code, and a body with only a status, still say something.
        let numeric = br#"{"statusCode":500,"errorCode":1001,"errorMessage":"kaput"}"#;
        assert_eq!(
            parse_error_body(numeric),
            Some(ProviderError::new(
                Some("1001".into()),
                Some("kaput".into())
            ))
        );
        assert_eq!(
            parse_error_body(br#"{"statusCode":404,"status":"Not Found"}"#),
            Some(ProviderError::new(None, Some("Not Found".into())))
        );
        assert_eq!(parse_error_body(b"<html>oops</html>"), None);
        assert_eq!(parse_error_body(br#"{"other":1}"#), None);
        assert_eq!(parse_error_body(b"[]"), None);
    }

    #[test]
    fn timestamps_in_every_tolerated_shape() {
        let expected: DateTime<Utc> = "2026-03-24T12:28:52.354Z".parse().unwrap();
        for text in [
            "2026-03-24T12:28:52.354Z",
            "2026-03-24T12:28:52.354+00:00",
            "2026-03-24T12:28:52.354+0000",
            "2026-03-24T17:58:52.354+05:30",
            "2026-03-24T12:28:52.354",
            "2026-03-24 12:28:52.354",
            " 2026-03-24T12:28:52.354Z ",
        ] {
            assert_eq!(parse_iso8601(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_iso8601("2026-03-24"),
            Some("2026-03-24T00:00:00Z".parse().unwrap())
        );
        assert_eq!(parse_iso8601("yesterday"), None);
        // The fast path and chrono's parser agree wherever the fast one answers.
        for text in [
            "2026-03-24T12:28:52Z",
            "2026-03-24T12:28:52.3Z",
            "2026-03-24t12:28:52.123456789z",
            "2024-02-29T23:59:59.999Z",
            "0001-01-01T00:00:00Z",
        ] {
            let general = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(parse_iso8601(text), Some(general), "{text}");
        }
        // What the fast path declines (campaign-http tests which texts) is
        // left to chrono, which reads the extra fraction digits.
        assert_eq!(
            parse_iso8601("2026-03-24T12:28:52.1234567891Z"),
            DateTime::parse_from_rfc3339("2026-03-24T12:28:52.1234567891Z")
                .ok()
                .map(|t| t.with_timezone(&Utc))
        );

        assert_eq!(parse_iso8601("2026-13-40T00:00:00Z"), None);
    }

    #[test]
    fn numbers_ids_and_nulls_are_tolerated() {
        let record: CmsCampaign = serde_json::from_str(
            r#"{"campaignContextId":"17","contactCenterId":"3","processId":null,
                "version":2.0,"ref":"","dateAdded":1774355332354,"dateModified":null,
                "unknownField":{"nested":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(record.campaign_context_id.as_deref(), Some("17"));
        assert_eq!(record.contact_center_id, Some(3));
        assert_eq!(record.process_id, None);
        assert_eq!(record.version, Some(2));
        assert_eq!(record.reference, None);
        assert_eq!(
            record.date_added,
            Some("2026-03-24T12:28:52.354Z".parse().unwrap())
        );
        assert!(serde_json::from_str::<CmsCampaign>(r#"{"version":1.5}"#).is_err());
        assert!(serde_json::from_str::<CmsCampaign>(r#"{"processId":"x"}"#).is_err());
        assert!(serde_json::from_str::<CmsCampaign>(r#"{"dateAdded":"soon"}"#).is_err());
        assert!(serde_json::from_str::<CmsCampaign>(r#"{"campaignContextId":true}"#).is_err());
        assert!(serde_json::from_str::<CmsCampaign>(r#"{"campaignContextId":"x"}"#).is_err());
        let padded: CmsCampaign = serde_json::from_str(r#"{"campaignContextId":" 007 "}"#).unwrap();
        assert_eq!(padded.campaign_context_id.as_deref(), Some("7"));
    }
}

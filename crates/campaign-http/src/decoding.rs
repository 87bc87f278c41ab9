//! Decoding pieces every provider's wire format needs, written once.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// An array of records, each kept as its unparsed slice of the body: the
/// two-pass way to decode a page (delimit every record, then decode each
/// slice), which names a syntax error's place in the whole body.
/// [`JsonReader`](crate::JsonReader) does the same in one pass.
///
/// Filled with room for a typical page up front: growing the `Vec` by
/// doubling showed up as about 5% of a page's decode.
#[derive(Debug, Default)]
pub struct RawRecords<'a>(pub Vec<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for RawRecords<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(RawRecordsVisitor(std::marker::PhantomData))
    }
}

struct RawRecordsVisitor<'a>(std::marker::PhantomData<&'a RawValue>);

impl<'de: 'a, 'a> Visitor<'de> for RawRecordsVisitor<'a> {
    type Value = RawRecords<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0).max(64));
        while let Some(record) = seq.next_element::<&'de RawValue>()? {
            records.push(record);
        }
        Ok(RawRecords(records))
    }
}

/// Reads an optional string borrowing from the body where the JSON has no
/// escapes. For `#[serde(borrow, deserialize_with = "optional_str")]` on an
/// `Option<Cow<'a, str>>` field: serde borrows a `Cow` field only when it is
/// not wrapped, so a plain `Option<Cow<str>>` always allocates.
pub fn optional_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Option::<JsonStr<'de>>::deserialize(d).map(|s| s.map(|s| s.0))
}

/// A JSON string, borrowed from the text unless it contains escapes.
pub(crate) struct JsonStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(JsonStrVisitor)
    }
}

struct JsonStrVisitor;

impl<'de> Visitor<'de> for JsonStrVisitor {
    type Value = JsonStr<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(JsonStr(Cow::Borrowed(v)))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(JsonStr(Cow::Owned(v.to_owned())))
    }
}

/// Parses an RFC 3339 timestamp into UTC: the common shape through
/// [`parse_utc_fast`], anything else (offsets, leap seconds) through chrono,
/// whose error says what is wrong.
pub fn parse_rfc3339_utc(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_utc_fast(text) {
        Some(t) => Ok(t),
        None => DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)),
    }
}

/// Parses a timestamp in any ISO 8601 shape a provider may write, into
/// UTC: RFC 3339 first (the common case, fast), then an offset without a
/// colon (`+0000`) or without minutes (`+05`), a comma before the fraction,
/// no seconds, a space instead of `T`, the basic format
/// (`20260324T122852Z`), no offset at all (taken as UTC), or a bare date
/// (midnight UTC). `None` for anything else.
///
/// ```
/// use campaign_http::parse_iso8601;
///
/// let at = parse_iso8601("2026-03-24T12:28:52.354Z").unwrap();
/// assert_eq!(parse_iso8601("2026-03-24T17:58:52,354+0530"), Some(at));
/// assert_eq!(parse_iso8601("2026-03-24T12:28:52.354"), Some(at));
/// assert!(parse_iso8601("yesterday").is_none());
/// ```
pub fn parse_iso8601(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    parse_rfc3339_utc(text)
        .ok()
        .or_else(|| parse_iso8601_not_rfc3339(text))
}

/// [`parse_iso8601`]'s shapes other than RFC 3339 (`text` trimmed), for a
/// caller that already tried RFC 3339.
fn parse_iso8601_not_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    // chrono reads a fraction after `.` only, and `%#z` takes `+05`,
    // `+0500` and `+05:00` but not `Z`.
    let mut text = text.replace(',', ".");
    if text.ends_with(['Z', 'z']) {
        text.pop();
        text.push_str("+00:00");
    }
    const ZONED: [&str; 5] = [
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M%#z",
        "%Y-%m-%d %H:%M%#z",
        "%Y%m%dT%H%M%S%.f%#z",
    ];
    const LOCAL: [&str; 5] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y%m%dT%H%M%S%.f",
    ];
    ZONED
        .iter()
        .find_map(|format| DateTime::parse_from_str(&text, format).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            LOCAL
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(&text, format).ok())
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// An optional timestamp field of a record, named `field` in the error: a
/// missing or blank one is `None`, anything else must be ISO 8601
/// ([`parse_iso8601`]). The error is a record's skip reason, quoting only
/// the field's name.
///
/// ```
/// use campaign_http::optional_timestamp;
///
/// assert_eq!(optional_timestamp("createdAt", Some(" ")), Ok(None));
/// assert!(optional_timestamp("createdAt", Some("2026-01-05T10:00:59Z"))?.is_some());
/// let e = optional_timestamp("createdAt", Some("yesterday")).unwrap_err();
/// assert!(e.starts_with("`createdAt` is not an ISO 8601 timestamp"), "{e}");
/// # Ok::<(), String>(())
/// ```
pub fn optional_timestamp(
    field: &str,
    text: Option<&str>,
) -> Result<Option<DateTime<Utc>>, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => match parse_rfc3339_utc(text) {
            Ok(t) => Ok(Some(t)),
            Err(e) => parse_iso8601_not_rfc3339(text)
                .map(Some)
                .ok_or_else(|| format!("`{field}` is not an ISO 8601 timestamp ({e})")),
        },
    }
}

/// The common timestamp shape, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read
/// without chrono's general parser (providers run it for two fields of every
/// record). Any other shape (offsets, leap seconds, more than 9 fraction
/// digits) returns `None` for the caller's general parser, which gives the
/// same instant for the shapes accepted here ([`parse_rfc3339_utc`] does both).
pub fn parse_utc_fast(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
        || !matches!(b[b.len() - 1], b'Z' | b'z')
    {
        return None;
    }
    let second = digits(17..19)?;
    if second > 59 {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(20..b.len() - 1)? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)?;
    let time = date.and_hms_nano_opt(digits(11..13)?, digits(14..16)?, second, nanos)?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_timestamps_agree_with_rfc3339_or_decline() {
        for text in [
            "2026-03-24T12:28:52Z",
            "2026-03-24T12:28:52.3Z",
            "2025-12-08T09:17:21.090Z",
            "2026-03-24t12:28:52.123456789z",
            "2024-02-29T23:59:59.999Z",
            "0001-01-01T00:00:00Z",
        ] {
            let general = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(parse_utc_fast(text), Some(general), "{text}");
        }
        for text in [
            "2026-03-24T12:28:52.Z",
            "2026-03-24T12:28:52.1234567891Z",
            "2026-03-24T12:28:60Z",
            "2026-03-24T12:28:52+00:00",
            "2025-12-08T09:17:21.090+05:30",
            "2026-03-24 12:28:52Z",
            "2026-02-30T12:28:52Z",
            "2026-03-24T24:00:00Z",
            "2026-03-24T12:28:5xZ",
            "+2026-03-24T12:28:52Z",
            "2026-03-24T12:28:52.35Z\u{e9}",
        ] {
            assert_eq!(parse_utc_fast(text), None, "{text}");
        }
    }

    #[test]
    fn optional_strings_borrow_unless_escaped() {
        #[derive(serde::Deserialize)]
        struct Record<'a> {
            #[serde(default, borrow, deserialize_with = "optional_str")]
            name: Option<Cow<'a, str>>,
        }
        let plain: Record<'_> = serde_json::from_str(r#"{"name": "plain"}"#).unwrap();
        assert!(matches!(plain.name, Some(Cow::Borrowed("plain"))));
        let escaped: Record<'_> = serde_json::from_str(r#"{"name": "a\"b"}"#).unwrap();
        assert!(matches!(escaped.name.as_deref(), Some("a\"b")));
        assert!(matches!(escaped.name, Some(Cow::Owned(_))));
        let null: Record<'_> = serde_json::from_str(r#"{"name": null}"#).unwrap();
        assert_eq!(null.name, None);
        let missing: Record<'_> = serde_json::from_str("{}").unwrap();
        assert_eq!(missing.name, None);
        assert!(serde_json::from_str::<Record<'_>>(r#"{"name": 1}"#).is_err());
    }

    #[test]
    fn raw_records_keep_each_record_verbatim() {
        let body = r#"[{"a": 1}, {"b": [2, 3]} ,"x"]"#;
        let RawRecords(records) = serde_json::from_str(body).unwrap();
        let texts: Vec<&str> = records.iter().map(|r| r.get()).collect();
        assert_eq!(texts, [r#"{"a": 1}"#, r#"{"b": [2, 3]}"#, r#""x""#]);
        assert!(serde_json::from_str::<RawRecords<'_>>(r#"{"a": 1}"#).is_err());
    }

    #[test]
    fn iso_8601_in_the_shapes_providers_write() {
        let at: DateTime<Utc> = "2026-03-24T12:28:52Z".parse().unwrap();
        for text in [
            "2026-03-24T12:28:52Z",
            "2026-03-24T17:28:52+05",
            "2026-03-24T17:58:52+0530",
            "2026-03-24 12:28:52+00:00",
            "2026-03-24T12:28:52,000Z",
            "20260324T122852Z",
            "20260324T175852+0530",
            "2026-03-24T12:28:52",
        ] {
            assert_eq!(parse_iso8601(text), Some(at), "{text}");
        }
        let minute: DateTime<Utc> = "2026-03-24T12:28:00Z".parse().unwrap();
        assert_eq!(parse_iso8601("2026-03-24T12:28Z"), Some(minute));
        assert_eq!(parse_iso8601("2026-03-24T12:28"), Some(minute));
        assert_eq!(
            parse_iso8601("2026-03-24"),
            Some("2026-03-24T00:00:00Z".parse().unwrap())
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-40T00:00:00Z",
            "2026-03-24T25:00Z",
            "12:28",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
        assert_eq!(
            optional_timestamp("createdAt", Some("2025-12-08T09:17:21.090")),
            Ok(Some("2025-12-08T09:17:21.090Z".parse().unwrap()))
        );
    }
}

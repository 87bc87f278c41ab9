//! The one place Kore.ai's vocabulary becomes the normalized [`Campaign`].
//!
//! | Kore.ai field | Campaign field |
//! | --- | --- |
//! | `_id` (voice) or `id` (SMS), the first non-empty | `id.native` (a record without either is a decode error) |
//! | `name`, `description` | `name` (empty when absent), `description` |
//! | the request's `type` | `channel` |
//! | `status` (`Ready`, `Stopped`, ...) | `status`, case-insensitive, unknown kept as `Other` |
//! | `priority` (`"5"`, `5` or `5.0`) | `priority` (`None` when not a whole number 0..=255) |
//! | `dialingMode` | `dialing_mode`, unknown kept as `Other` |
//! | `createdAt`, `updatedAt` (ISO 8601) | `created_at`, `updated_at` (empty: none; malformed: decode error) |
//! | `contactLists` (names; `null` entries left out) | `contact_lists` |
//! | `dncLists` (one `{id?, name}` or an array) | `dnc_lists` |
//! | `schedule.isSchedulingEnabled` / `isRecurrenceEnabled` | `schedule` |
//! | `message.message` (base64, possibly cut off) | `message`: the text only where it decodes to UTF-8 |
//! | the account and stream of the source | `scope`: [`Scope::Account`] with masked labels |
//! | — | `version`: none (Kore.ai has no record version) |
//! | the whole record | `raw`, byte for byte |

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use campaign_core::{
    Campaign, CampaignId, Channel, DialingMode, ErrorKind, RawRecord, RecordIssues, Schedule,
    Scope, SourceError, Status,
};
use campaign_http::{decode_json, optional_timestamp, JsonReader};
use std::borrow::Cow;
use std::sync::Arc;

use crate::wire::{Count, Envelope, Flag, Record};
use crate::PROVIDER;

/// Standard base64 that accepts the message with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One decoded response page: the normalized campaigns and the paging fields
/// exactly as the server reported them (`None` where absent or empty).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KorePage {
    /// The campaigns, in the server's order, each with its record in `raw`.
    pub campaigns: Vec<Campaign>,
    /// `data.skip`.
    pub skip: Option<u64>,
    /// `data.limit`.
    pub limit: Option<u64>,
    /// `data.hasMore`.
    pub has_more: Option<bool>,
    /// `data.totalPages`.
    pub total_pages: Option<u64>,
    /// `data.totalResults`.
    pub total_results: Option<u64>,
}

/// Decodes one `getAllCampaignDetails` response body into normalized
/// campaigns of `channel` plus the paging fields.
///
/// `request` names the request in errors. Campaigns get [`Scope::Unscoped`];
/// a [`KoreSource`](crate::KoreSource) fills in its masked account scope.
/// Malformed bodies (HTML, truncated JSON, wrong field types, a record
/// without an id) yield a `Decode` error naming the source and request; a
/// body with `"status": "error"` yields a `BadRequest` with its message.
pub fn decode_page(
    source_id: &str,
    request: &str,
    channel: &Channel,
    body: &[u8],
) -> Result<KorePage, SourceError> {
    decode_page_with(
        source_id,
        request,
        channel,
        body,
        &mut RecordIssues::new(true),
    )
}

/// [`decode_page`], handing each record it cannot use (a field of the wrong
/// type, no `_id`/`id`, an unreadable timestamp) to `issues`, which skips
/// and reports it or, when strict, fails with it. A body that is not the
/// documented envelope still fails whole.
pub fn decode_page_with(
    source_id: &str,
    request: &str,
    channel: &Channel,
    body: &[u8],
    issues: &mut RecordIssues,
) -> Result<KorePage, SourceError> {
    decode_scoped(source_id, request, channel, &Scope::Unscoped, body, issues)
}

pub(crate) fn decode_scoped(
    source_id: &str,
    request: &str,
    channel: &Channel,
    scope: &Scope,
    body: &[u8],
    issues: &mut RecordIssues,
) -> Result<KorePage, SourceError> {
    // The one pass takes only bodies where every record is usable; the
    // careful pass decodes the rest record by record.
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| decode_in_one_pass(source_id, channel, scope, text))
        .map_or_else(
            || decode_or_explain(source_id, request, channel, scope, body, issues),
            Ok,
        )
}

/// Anything the one-pass decoder leaves to [`decode_or_explain`].
struct Unusual;

impl From<serde_json::Error> for Unusual {
    fn from(_: serde_json::Error) -> Self {
        Unusual
    }
}

/// Marks a key as read, refusing a second one (as the derived envelope does).
fn first_time(seen: &mut bool) -> Result<(), Unusual> {
    if std::mem::replace(seen, true) {
        Err(Unusual)
    } else {
        Ok(())
    }
}

/// The usual page in one pass: each record decoded straight from the body
/// and kept as the text it was read from (the envelope scan of
/// [`decode_or_explain`] was a fifth of the decode time). `None` for anything
/// else (an error status, a malformed body or record, a repeated key), which
/// [`decode_or_explain`] decodes or explains with the same result.
fn decode_in_one_pass(
    source_id: &str,
    channel: &Channel,
    scope: &Scope,
    text: &str,
) -> Option<KorePage> {
    let source: Arc<str> = source_id.into();
    let mut reader = JsonReader::new(text);
    let mut page = None;
    let (mut status, mut message) = (false, false);
    let read = reader.object(|key, r| -> Result<(), Unusual> {
        match key {
            "status" => {
                first_time(&mut status)?;
                let (status, _) = r.value::<Option<Cow<'_, str>>>()?;
                if status.is_some_and(|s| s.eq_ignore_ascii_case("error")) {
                    return Err(Unusual);
                }
            }
            "message" => {
                first_time(&mut message)?;
                r.value::<Option<Cow<'_, str>>>()?;
            }
            "data" => {
                if page.is_some() {
                    return Err(Unusual);
                }
                page = Some(read_data(&source, channel, scope, r)?);
            }
            _ => {
                r.skip()?;
            }
        }
        Ok(())
    });
    read.ok()?;
    reader.end().ok()?;
    page
}

/// `data`'s object, key by key, as the derived [`crate::wire::Data`] reads it.
fn read_data(
    source: &Arc<str>,
    channel: &Channel,
    scope: &Scope,
    reader: &mut JsonReader<'_>,
) -> Result<KorePage, Unusual> {
    let mut page = KorePage {
        campaigns: Vec::new(),
        skip: None,
        limit: None,
        has_more: None,
        total_pages: None,
        total_results: None,
    };
    let mut seen = [false; 6];
    reader.object(|key, r| -> Result<(), Unusual> {
        let (slot, count) = match key {
            "results" => {
                first_time(&mut seen[0])?;
                page.campaigns.reserve(64);
                return r.array(|r| -> Result<(), Unusual> {
                    let (record, raw) = r.value::<Record<'_>>()?;
                    let campaign =
                        normalize(source, channel, scope, record, raw).map_err(|_| Unusual)?;
                    page.campaigns.push(campaign);
                    Ok(())
                });
            }
            "hasMore" => {
                first_time(&mut seen[1])?;
                page.has_more = r.value::<Flag>()?.0 .0;
                return Ok(());
            }
            "skip" => (2, &mut page.skip),
            "limit" => (3, &mut page.limit),
            "totalPages" => (4, &mut page.total_pages),
            "totalResults" => (5, &mut page.total_results),
            _ => {
                r.skip()?;
                return Ok(());
            }
        };
        first_time(&mut seen[slot])?;
        *count = r.value::<Count>()?.0 .0;
        Ok(())
    })?;
    Ok(page)
}

/// Decodes through the derived envelope (each record delimited first, then
/// decoded from its slice), naming exactly what is wrong when that fails.
fn decode_or_explain(
    source_id: &str,
    request: &str,
    channel: &Channel,
    scope: &Scope,
    body: &[u8],
    issues: &mut RecordIssues,
) -> Result<KorePage, SourceError> {
    let envelope: Envelope<'_> = match std::str::from_utf8(body) {
        Ok(text) => parse_text(source_id, request, text)?,
        Err(_) => decode_json(source_id, request, body)?,
    };
    if envelope
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("error"))
    {
        let message = envelope.message.unwrap_or_default();
        return Err(SourceError::new(
            ErrorKind::BadRequest,
            source_id,
            format!("the provider answered status \"error\": {message}"),
        )
        .with_request(request));
    }
    let Some(data) = envelope.data else {
        return Err(SourceError::new(
            ErrorKind::Decode,
            source_id,
            "response has no `data` object",
        )
        .with_request(request));
    };
    let source: Arc<str> = source_id.into();
    let mut campaigns = Vec::with_capacity(data.results.0.len());
    for (index, raw) in data.results.0.into_iter().enumerate() {
        // The envelope pass only delimits the record; its typed view is read
        // from that slice, borrowing strings, and `raw` is the same slice copied once.
        let campaign = parse_text::<Record<'_>>(source_id, request, raw.get())
            .map_err(|e| e.with_context(format!("in data.results[{index}]")))
            .and_then(|record| {
                normalize(&source, channel, scope, record, raw.get()).map_err(|why| {
                    SourceError::new(
                        ErrorKind::Decode,
                        source_id,
                        format!("data.results[{index}]: {why}"),
                    )
                    .with_request(request)
                })
            });
        match campaign {
            Ok(campaign) => campaigns.push(campaign),
            Err(error) => issues.skip(index, readable_id(raw.get()), error)?,
        }
    }
    Ok(KorePage {
        campaigns,
        skip: data.skip,
        limit: data.limit,
        has_more: data.has_more,
        total_pages: data.total_pages,
        total_results: data.total_results,
    })
}

/// The `_id` or `id` of a record that could not be decoded, if it holds a
/// string or number.
fn readable_id(raw: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let readable = |key| match value.get(key)? {
        serde_json::Value::String(id) => Some(id.clone()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    };
    native_id(readable("_id"), readable("id"))
}

/// A record's id: `_id` (voice), else `id` (SMS), whichever is non-empty
/// first, so an empty `_id` next to a real `id` does not hide it.
fn native_id<S: AsRef<str>>(underscore_id: Option<S>, id: Option<S>) -> Option<S> {
    [underscore_id, id]
        .into_iter()
        .flatten()
        .find(|id| !id.as_ref().is_empty())
}

/// Parses text already known to be UTF-8 (the body checked once, or a
/// record's slice of it), so serde_json does not validate every string
/// again; a failure is reported exactly as [`decode_json`] reports it.
fn parse_text<'a, T: serde::Deserialize<'a>>(
    source_id: &str,
    request: &str,
    text: &'a str,
) -> Result<T, SourceError> {
    serde_json::from_str(text).or_else(|_| decode_json(source_id, request, text.as_bytes()))
}

fn normalize(
    source: &Arc<str>,
    channel: &Channel,
    scope: &Scope,
    record: Record<'_>,
    raw: &str,
) -> Result<Campaign, String> {
    let native = native_id(record.underscore_id, record.id)
        .ok_or("the record has neither `_id` nor `id`")?;
    let mut c = Campaign::new(
        CampaignId::new(Arc::clone(source), native.into_owned()),
        PROVIDER,
        record.name.map(Cow::into_owned).unwrap_or_default(),
        channel.clone(),
    );
    c.description = record.description.map(Cow::into_owned);
    c.status = record.status.as_deref().map(Status::parse);
    c.priority = record.priority;
    c.dialing_mode = record.dialing_mode.as_deref().map(DialingMode::parse);
    c.created_at = optional_timestamp("createdAt", record.created_at.as_deref())?;
    c.updated_at = optional_timestamp("updatedAt", record.updated_at.as_deref())?;
    c.contact_lists = record.contact_lists.0;
    c.dnc_lists = record.dnc_lists.0;
    c.schedule = record.schedule.map(|s| Schedule {
        scheduling_enabled: s.is_scheduling_enabled,
        recurrence_enabled: s.is_recurrence_enabled,
    });
    c.scope = scope.clone();
    c.message = record
        .message
        .and_then(|m| m.message)
        .and_then(|text| decode_message(&text));
    c.raw = Some(RawRecord::from_parsed(raw));
    Ok(c)
}

/// The SMS text, only where the base64 decodes to UTF-8 (the docs' samples
/// are cut off, so failing here would reject real pages).
fn decode_message(text: &str) -> Option<String> {
    let bytes = BASE64.decode(text.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_http::parse_utc_fast;
    use campaign_sandbox::samples::{KORE_SMS_RESPONSE, KORE_VOICE_RESPONSE};
    use campaign_testkit::mutation::{apply, edits};
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    fn one_pass(channel: &Channel, body: &[u8]) -> Option<KorePage> {
        let text = std::str::from_utf8(body).ok()?;
        decode_in_one_pass("k", channel, &Scope::Unscoped, text)
    }

    #[test]
    fn the_spec_samples_take_the_one_pass_path() {
        for (channel, sample) in [
            (Channel::Voice, KORE_VOICE_RESPONSE),
            (Channel::Sms, KORE_SMS_RESPONSE),
        ] {
            let fast = one_pass(&channel, sample.as_bytes()).expect("one pass");
            let careful = decode_or_explain(
                "k",
                "POST x",
                &channel,
                &Scope::Unscoped,
                sample.as_bytes(),
                &mut RecordIssues::new(true),
            );
            assert!(!fast.campaigns.is_empty());
            assert_eq!(Ok(fast), careful.map_err(|e| e.to_string()));
        }
        // Left to the careful decoder, which says what is wrong.
        for unusual in [
            r#"{"status": "error", "message": "bad", "data": {"results": []}}"#,
            r#"{"data": {"results": []}, "data": {"results": []}}"#,
            r#"{"data": {"skip": 1, "skip": 2}}"#,
            r#"{"data": null}"#,
            r#"{"data": {"results": [{"name": "no id"}]}}"#,
            r#"{"data": {"results": []}} x"#,
        ] {
            assert_eq!(
                one_pass(&Channel::Voice, unusual.as_bytes()),
                None,
                "{unusual}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Whatever the body, the one-pass decoder gives up or agrees with
        /// the derived one.
        #[test]
        fn one_pass_gives_up_or_agrees(sms in any::<bool>(), edits in edits()) {
            let (channel, sample) = if sms {
                (Channel::Sms, KORE_SMS_RESPONSE)
            } else {
                (Channel::Voice, KORE_VOICE_RESPONSE)
            };
            let body = apply(sample.as_bytes(), &edits);
            if let Some(fast) = one_pass(&channel, &body) {
                let strict = &mut RecordIssues::new(true);
                let careful = decode_or_explain("k", "POST x", &channel, &Scope::Unscoped, &body, strict);
                prop_assert_eq!(Ok(fast), careful.map_err(|e| e.to_string()));
            }
        }
    }

    #[test]
    fn fast_timestamps_agree_with_rfc3339() {
        for text in [
            "2025-12-08T09:17:21.090Z",
            "2025-12-08T09:17:21Z",
            "2025-12-08t09:17:21.123456789z",
            "2024-02-29T23:59:59.9Z",
        ] {
            let general = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(
                optional_timestamp("createdAt", Some(text)),
                Ok(Some(general))
            );
        }
        // Other shapes go to chrono: offsets are read there, the rest rejected.
        for text in [
            "2025-12-08T09:17:21.090+05:30",
            "2025-12-08T09:17:60Z",
            "2025-12-08T09:17:21.Z",
            "2025-02-30T09:17:21Z",
            "2025-12-08 09:17:21Z",
            "2025-12-08T09:17:2xZ",
        ] {
            assert_eq!(parse_utc_fast(text), None, "{text}");
            let general = DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .ok();
            assert_eq!(
                optional_timestamp("createdAt", Some(text)).ok().flatten(),
                general,
                "{text}"
            );
        }
        assert!(optional_timestamp("createdAt", Some("2025-02-30T09:17:21Z")).is_err());
        assert_eq!(optional_timestamp("createdAt", Some("  ")), Ok(None));
    }

    #[test]
    fn messages_decode_only_when_clean() {
        assert_eq!(
            decode_message("TWVzc2FnZSBmb3IgeW91ciB0YXJnZXRlZCBjdXN0b21lcg").as_deref(),
            Some("Message for your targeted customer")
        );
        assert_eq!(
            decode_message("TWVzc2FnZSBmb3IgeW91ciB0YXJnZXRlZCBjdXN0b21lcg%xxxxx"),
            None
        );
        assert_eq!(decode_message("/w=="), None, "not UTF-8");
    }

    #[test]
    fn loose_paging_fields_and_priorities() {
        let body = br#"{"status":"success","data":{"results":[{"id":"a","name":"n","priority":3},{"_id":"b","priority":"x"}],"skip":"","limit":"50","hasMore":"false","totalPages":"","totalResults":2}}"#;
        let page = decode_page("k", "POST x", &Channel::Sms, body).unwrap();
        assert_eq!(page.skip, None);
        assert_eq!(page.limit, Some(50));
        assert_eq!(page.has_more, Some(false));
        assert_eq!(page.total_results, Some(2));
        assert_eq!(page.campaigns[0].priority, Some(3));
        assert_eq!(page.campaigns[1].priority, None);
        assert_eq!(page.campaigns[1].id.native, "b");
        assert_eq!(page.campaigns[1].name, "");
    }

    #[test]
    fn malformed_records_are_decode_errors_naming_the_request() {
        let cases: [&[u8]; 6] = [
            br#"{"status":"success","data":{"results":[{"name":"no id"}]}}"#,
            br#"{"status":"success","data":{"results":[{"id":"a","priority":{"x":1}}]}}"#,
            br#"{"status":"success","data":{"results":[{"id":"a","createdAt":"yesterday"}]}}"#,
            br#"{"status":"success","data":{"results":{}}}"#,
            br#"{"status":"success"}"#,
            b"<html><body>Bad gateway</body></html>",
        ];
        for body in cases {
            let e = decode_page(
                "kore-main",
                "POST getAllCampaignDetails",
                &Channel::Voice,
                body,
            )
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
            assert_eq!(e.source_id(), "kore-main");
            assert_eq!(e.request(), Some("POST getAllCampaignDetails"));
        }
        let e = decode_page(
            "k",
            "r",
            &Channel::Voice,
            br#"{"status":"error","message":"Invalid type"}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadRequest);
        assert!(e.to_string().contains("Invalid type"));
    }

    /// Leniently, each bad record is skipped and reported (index, id,
    /// cause, request) and the page's other records are kept.
    #[test]
    fn bad_records_are_skipped_and_reported() {
        let body = br#"{"status":"success","data":{"results":[
            {"_id":"cd-1","name":"kept"},
            {"_id":"cd-2","priority":{"x":1}},
            {"name":"no id"},
            {"_id":"cd-4","createdAt":"yesterday"},
            {"_id":"cd-5","contactLists":7},
            {"_id":"cd-6","name":"kept too"}],"hasMore":false}}"#;
        let mut issues = RecordIssues::new(false);
        let page = decode_page_with("k", "POST x", &Channel::Voice, body, &mut issues).unwrap();
        let ids: Vec<&str> = page
            .campaigns
            .iter()
            .map(|c| c.id.native.as_str())
            .collect();
        assert_eq!(ids, ["cd-1", "cd-6"]);
        let skipped: Vec<(usize, Option<String>)> = issues
            .into_warnings()
            .into_iter()
            .map(|w| {
                assert_eq!(w.request.as_deref(), Some("POST x"));
                let s = w.skipped.unwrap();
                (s.index, s.id)
            })
            .collect();
        assert_eq!(
            skipped,
            [
                (1, Some("cd-2".to_owned())),
                (2, None),
                (3, Some("cd-4".to_owned())),
                (4, Some("cd-5".to_owned()))
            ]
        );
    }
}

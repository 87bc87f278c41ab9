//! The only place CMS vocabulary turns into the normalized model.

use campaign_core::{
    Campaign, CampaignId, Channel, DialingMode, ErrorKind, RawRecord, RecordIssues, Scope,
    SourceError,
};
use campaign_http::{decode_json, snippet, JsonReader, RawRecords};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::sync::Arc;

use crate::wire::CmsCampaign;
use crate::PROVIDER;

/// The channel of a record whose `campaignContextType` is missing or empty.
pub const UNKNOWN_TYPE: &str = "unknown";

/// Maps a `campaignContextType` to a channel and, where the type names one,
/// a dialing mode.
///
/// Words are compared case-insensitively, `_` and `-` count as spaces, runs
/// of spaces collapse and a trailing `Campaign` is optional:
///
/// | `campaignContextType`                      | channel       | dialing mode |
/// |--------------------------------------------|---------------|--------------|
/// | Interaction \[Campaign\]                   | `interaction` | none         |
/// | Chat \[Campaign\]                          | `chat`        | none         |
/// | Outbound Voice \[Campaign\]                | `voice`       | none (set per campaign in the CMS, not reported) |
/// | Parallel Predictive Voice \[Campaign\]     | `voice`       | `predictive` |
/// | Voice Blast \[Campaign\]                   | `voice`       | `agentless`  |
/// | Interactive Voice Application \[Campaign\] | `voice`       | `agentless` (an IVR answers, no agent) |
/// | anything else                              | `Other(text as sent, trimmed)` | none |
/// | missing or empty                           | `Other("unknown")` | none    |
pub fn campaign_type(text: &str) -> (Channel, Option<DialingMode>) {
    // The spellings the spec and servers use, without the word split.
    match text {
        "Interaction Campaign" => return (Channel::Interaction, None),
        "Chat Campaign" => return (Channel::Chat, None),
        "Outbound Voice Campaign" => return (Channel::Voice, None),
        "Parallel Predictive Voice Campaign" => {
            return (Channel::Voice, Some(DialingMode::Predictive))
        }
        "Voice Blast Campaign" | "Interactive Voice Application Campaign" => {
            return (Channel::Voice, Some(DialingMode::Agentless))
        }
        _ => {}
    }
    // Called for every record: words are compared in place (every word of
    // the table is ASCII, so ASCII case folding matches what lowercasing
    // would), without allocating; no entry has more than 4 words.
    let mut buf = [""; 4];
    let mut len = 0;
    for word in text
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
    {
        if len == buf.len() {
            return (Channel::Other(text.trim().to_owned()), None);
        }
        buf[len] = word;
        len += 1;
    }
    let mut words = &buf[..len];
    if let [rest @ .., last] = words {
        if last.eq_ignore_ascii_case("campaign") {
            words = rest;
        }
    }
    let is = |table: &[&str]| {
        words.len() == table.len()
            && words
                .iter()
                .zip(table)
                .all(|(w, t)| w.eq_ignore_ascii_case(t))
    };
    if words.is_empty() {
        (Channel::Other(UNKNOWN_TYPE.to_owned()), None)
    } else if is(&["interaction"]) {
        (Channel::Interaction, None)
    } else if is(&["chat"]) {
        (Channel::Chat, None)
    } else if is(&["outbound", "voice"]) {
        (Channel::Voice, None)
    } else if is(&["parallel", "predictive", "voice"]) {
        (Channel::Voice, Some(DialingMode::Predictive))
    } else if is(&["voice", "blast"]) || is(&["interactive", "voice", "application"]) {
        (Channel::Voice, Some(DialingMode::Agentless))
    } else {
        (Channel::Other(text.trim().to_owned()), None)
    }
}

/// Decodes a campaigns response body into normalized campaigns, each keeping
/// its original record in [`Campaign::raw`].
///
/// `request` names the request in errors (e.g. `GET campaigns contactCenterId=3`).
/// The body must be a JSON array of records; a record needs a
/// `campaignContextId`, every other field is optional. A malformed body or
/// record is a `Decode` error quoting a short snippet (strict: see
/// [`decode_campaigns_with`] to skip and report bad records instead).
pub fn decode_campaigns(
    source_id: &str,
    request: &str,
    body: &[u8],
) -> Result<Vec<Campaign>, SourceError> {
    decode_campaigns_with(source_id, request, body, &mut RecordIssues::new(true))
}

/// [`decode_campaigns`], handing each record it cannot use (a field of the
/// wrong type, no `campaignContextId`) to `issues`, which skips and reports
/// it or, when strict, fails with it. A body that is not a JSON array of
/// objects still fails whole.
pub fn decode_campaigns_with(
    source_id: &str,
    request: &str,
    body: &[u8],
    issues: &mut RecordIssues,
) -> Result<Vec<Campaign>, SourceError> {
    decode_for_center(source_id, request, body, None, issues)
}

/// [`decode_campaigns_with`], scoping records that omit `contactCenterId` to
/// `center` (the contact center the request asked for).
pub(crate) fn decode_for_center(
    source_id: &str,
    request: &str,
    body: &[u8],
    center: Option<i64>,
    issues: &mut RecordIssues,
) -> Result<Vec<Campaign>, SourceError> {
    // About one record per 256 bytes in the samples and generated pages;
    // growing by doubling moves every (large) campaign again.
    let mut campaigns = Vec::with_capacity(body.len() / 256 + 1);
    scan_records(source_id, request, body, center, issues, |_, record| {
        campaigns.push(record.into_campaign(true));
        Ok(())
    })?;
    Ok(campaigns)
}

/// The partition label of `center` (`contact_center=7`), as failures and
/// warnings name it.
pub(crate) fn center_partition(center: i64) -> String {
    format!("contact_center={center}")
}

/// One record as it was read, checked as decoding checks it (it has an id)
/// but not normalized yet: a caller that needs only its id and dates is
/// spared building the whole campaign.
pub(crate) struct WireRecord<'a> {
    source: &'a Arc<str>,
    native: String,
    record: CmsCampaign<'a>,
    /// The record's text.
    raw: &'a str,
    /// The contact center the request asked for.
    center: Option<i64>,
}

impl<'a> WireRecord<'a> {
    fn new(
        source: &'a Arc<str>,
        mut record: CmsCampaign<'a>,
        raw: &'a str,
        center: Option<i64>,
    ) -> Result<Self, RecordError> {
        let Some(native) = record.campaign_context_id.take() else {
            return Err(RecordError {
                message: "campaignContextId is missing".into(),
                raw: raw.to_owned(),
            });
        };
        Ok(Self {
            source,
            native,
            record,
            raw,
            center,
        })
    }

    /// The native id, as [`Campaign::id`] will hold it.
    pub(crate) fn native(&self) -> &str {
        &self.native
    }

    /// The name, as [`Campaign::name`] will hold it.
    pub(crate) fn name(&self) -> &str {
        self.record.campaign_context_name.as_deref().unwrap_or("")
    }

    /// [`Campaign::created_at`].
    pub(crate) fn created_at(&self) -> Option<DateTime<Utc>> {
        self.record.date_added
    }

    /// [`Campaign::updated_at`].
    pub(crate) fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.record.date_modified
    }

    /// The normalized campaign, keeping the record in `raw` if `keep_raw`.
    pub(crate) fn into_campaign(self, keep_raw: bool) -> Campaign {
        let Self {
            source,
            native,
            record,
            raw,
            center,
        } = self;
        let (channel, dialing_mode) =
            campaign_type(record.campaign_context_type.as_deref().unwrap_or(""));
        let name = record
            .campaign_context_name
            .map(Cow::into_owned)
            .unwrap_or_default();
        let mut campaign = Campaign::new(
            CampaignId::new(Arc::clone(source), native),
            PROVIDER,
            name,
            channel,
        );
        campaign.dialing_mode = dialing_mode;
        campaign.description = record.description.map(Cow::into_owned);
        campaign.created_at = record.date_added;
        campaign.updated_at = record.date_modified;
        campaign.version = record.version;
        campaign.scope = match record.contact_center_id.or(center) {
            Some(contact_center_id) => Scope::ContactCenter {
                contact_center_id,
                process_id: record.process_id,
            },
            None => Scope::Unscoped,
        };
        if keep_raw {
            campaign.raw = Some(RawRecord::from_parsed(raw));
        }
        campaign
    }
}

/// Why the one-pass walk of a body stopped.
enum Stop {
    /// The body or a record is not as documented; [`decode_carefully`] names it.
    Unusual,
    /// The caller's `each` failed.
    Caller(SourceError),
}

impl From<serde_json::Error> for Stop {
    fn from(_: serde_json::Error) -> Self {
        Stop::Unusual
    }
}

/// Checks every record of `body` and hands each one to `each` with its byte
/// range in `body`, in one pass: each record is decoded straight from the
/// body (delimiting the records first, then decoding each slice, was a
/// fifth of the decode time). A record that is well-formed JSON but not a
/// usable campaign goes to `issues` (skipped and reported, or the error
/// under strict mode). A body this cannot read is decoded again by
/// [`decode_carefully`], whose error names exactly what is wrong.
pub(crate) fn scan_records(
    source_id: &str,
    request: &str,
    body: &[u8],
    center: Option<i64>,
    issues: &mut RecordIssues,
    mut each: impl FnMut(std::ops::Range<usize>, WireRecord<'_>) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(explain(source_id, request, body, center));
    };
    let source: Arc<str> = source_id.into();
    let mut reader = JsonReader::new(text);
    let mut index = 0usize;
    let walked = reader
        .array(|r| {
            let at = index;
            index += 1;
            let before = r.clone();
            let wire = match r.value::<CmsCampaign<'_>>() {
                Ok((record, raw)) => WireRecord::new(&source, record, raw, center),
                Err(_) => {
                    // Well-formed but not a campaign (a field of the wrong
                    // type): read past it and say why. Broken JSON fails
                    // the body (`Stop::Unusual`).
                    *r = before;
                    let raw = r.skip()?;
                    Err(parse_record(raw)
                        .and_then(|record| WireRecord::new(&source, record, raw, center))
                        .err()
                        .unwrap_or_else(|| RecordError::unexplained(raw)))
                }
            };
            match wire {
                Ok(record) => {
                    // `raw` borrows from `text`, so its offset is its place in the body.
                    let start = record.raw.as_ptr() as usize - text.as_ptr() as usize;
                    each(start..start + record.raw.len(), record).map_err(Stop::Caller)
                }
                Err(why) => {
                    let id = readable_id(&why.raw);
                    let error = record_error(source_id, request, center, at, why);
                    issues.skip(at, id, error).map_err(Stop::Caller)
                }
            }
        })
        .and_then(|()| reader.end().map_err(Stop::from));
    match walked {
        Ok(()) => Ok(()),
        Err(Stop::Caller(e)) => Err(e),
        Err(Stop::Unusual) => Err(explain(source_id, request, body, center)),
    }
}

/// The `campaignContextId` of a record that could not be decoded, if it
/// holds a string or number.
fn readable_id(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct IdOnly {
        campaign_context_id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<IdOnly>(raw)
        .ok()?
        .campaign_context_id?
    {
        serde_json::Value::String(id) => Some(id),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The error [`decode_carefully`] gives for a body the one-pass walk refused.
fn explain(source_id: &str, request: &str, body: &[u8], center: Option<i64>) -> SourceError {
    // Only the body as a whole is in question here: the one-pass walk
    // handled its records' own problems already.
    match decode_carefully(
        source_id,
        request,
        body,
        center,
        &mut RecordIssues::new(false),
    ) {
        Err(e) => e,
        // Not expected (a property test holds the two decoders to agreeing).
        Ok(_) => SourceError::new(
            ErrorKind::Decode,
            source_id,
            "the body is JSON the one-pass decoder could not read",
        )
        .with_request(request),
    }
}

/// Decodes `body` the careful way: every record delimited first (a syntax
/// error names its place in the whole body), then decoded from its slice.
fn decode_carefully(
    source_id: &str,
    request: &str,
    body: &[u8],
    center: Option<i64>,
    issues: &mut RecordIssues,
) -> Result<Vec<Campaign>, SourceError> {
    let RawRecords(records) = decode_json(source_id, request, body)?;
    let source: Arc<str> = source_id.into();
    let mut campaigns = Vec::with_capacity(records.len());
    for (index, raw) in records.into_iter().enumerate() {
        match decode_text(&source, center, raw.get(), true) {
            Ok(campaign) => campaigns.push(campaign),
            Err(why) => {
                let id = readable_id(&why.raw);
                issues.skip(
                    index,
                    id,
                    record_error(source_id, request, center, index, why),
                )?;
            }
        }
    }
    Ok(campaigns)
}

/// The description of the request for `center`'s campaigns, as errors name it.
pub(crate) fn center_request(center: i64) -> String {
    format!("GET campaigns contactCenterId={center}")
}

/// Decodes one record of `center`'s body that [`scan_records`] delimited
/// (`text` is its range of the body), keeping it in `raw` if `keep_raw`;
/// `index` names it in errors.
pub(crate) fn decode_record(
    source: &Arc<str>,
    center: i64,
    text: &str,
    index: usize,
    keep_raw: bool,
) -> Result<Campaign, SourceError> {
    // The scan read `text` as one record, so it is decoded (and kept) as is.
    decode_text(source, Some(center), text, keep_raw)
        .map_err(|why| record_error(source, &center_request(center), Some(center), index, why))
}

/// Decodes one record's text, already delimited as one JSON value.
fn decode_text(
    source: &Arc<str>,
    center: Option<i64>,
    text: &str,
    keep_raw: bool,
) -> Result<Campaign, RecordError> {
    parse_record(text)
        .and_then(|record| WireRecord::new(source, record, text, center))
        .map(|record| record.into_campaign(keep_raw))
}

fn record_error(
    source_id: &str,
    request: &str,
    center: Option<i64>,
    index: usize,
    why: RecordError,
) -> SourceError {
    let RecordError { message, raw } = why;
    let error = SourceError::new(
        ErrorKind::Decode,
        source_id,
        format!(
            "record {index} is not a documented campaign ({message}); record starts: {:?}",
            snippet(raw.as_bytes())
        ),
    )
    .with_request(request);
    match center {
        Some(center) => error.with_partition(center_partition(center)),
        None => error,
    }
}

struct RecordError {
    message: String,
    raw: String,
}

impl RecordError {
    /// A record the decoder refused without saying why (not expected: the
    /// same text decodes the same way twice).
    fn unexplained(raw: &str) -> Self {
        Self {
            message: "not a campaign record".into(),
            raw: raw.to_owned(),
        }
    }
}

fn parse_record(text: &str) -> Result<CmsCampaign<'_>, RecordError> {
    serde_json::from_str(text).map_err(|e| RecordError {
        message: e.to_string(),
        raw: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::Warning;
    use campaign_sandbox::samples::CMS_RESPONSE;
    use campaign_testkit::mutation::{apply, edits};
    use proptest::prelude::*;

    type Decoded = Result<(Vec<Campaign>, Vec<Warning>), String>;

    /// Both decoders' answers (campaigns and skipped records), errors as text.
    fn both(body: &[u8]) -> [Decoded; 2] {
        let mut one_pass_issues = RecordIssues::new(false);
        let one_pass = decode_for_center("c", "GET x", body, Some(7), &mut one_pass_issues)
            .map(|c| (c, one_pass_issues.into_warnings()));
        let mut careful_issues = RecordIssues::new(false);
        let careful = decode_carefully("c", "GET x", body, Some(7), &mut careful_issues)
            .map(|c| (c, careful_issues.into_warnings()));
        [one_pass, careful].map(|r| r.map_err(|e| e.to_string()))
    }

    #[test]
    fn the_one_pass_decoder_agrees_on_the_sample_and_on_errors() {
        let [one_pass, careful] = both(CMS_RESPONSE.as_bytes());
        assert!(!one_pass.as_ref().unwrap().0.is_empty());
        assert_eq!(one_pass, careful);
        for bad in [
            "[{\"campaignContextId\": 1} {\"campaignContextId\": 2}]",
            "[{\"campaignContextId\": 1}] x",
            "[{\"campaignContextId\": 1}, {\"processId\": \"x\"}, ]",
            "<html>",
        ] {
            let [one_pass, careful] = both(bad.as_bytes());
            assert!(one_pass.is_err(), "{bad}");
            assert_eq!(one_pass, careful, "{bad}");
        }
        // Records that are JSON but not campaigns are skipped, the rest kept.
        for (bad, kept, skipped) in [
            (
                "[{\"campaignContextId\": 1}, {\"campaignContextName\": \"no id\"}]",
                1,
                1,
            ),
            ("[{\"campaignContextId\": {}}]", 0, 1),
            (
                "[{\"campaignContextId\": 1, \"processId\": \"x\"}, {\"campaignContextId\": 2}]",
                1,
                1,
            ),
        ] {
            let [one_pass, careful] = both(bad.as_bytes());
            let (campaigns, warnings) = one_pass.clone().unwrap();
            assert_eq!((campaigns.len(), warnings.len()), (kept, skipped), "{bad}");
            assert_eq!(one_pass, careful, "{bad}");
        }
        let not_utf8 = b"[{\"campaignContextId\": 1, \"description\": \"\xff\"}]";
        let [one_pass, careful] = both(not_utf8);
        assert!(one_pass.is_err());
        assert_eq!(one_pass, careful);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Whatever the body, the one-pass decoder gives what the careful
        /// one gives, campaigns or error.
        #[test]
        fn one_pass_agrees_with_the_careful_decoder(edits in edits()) {
            let [one_pass, careful] = both(&apply(CMS_RESPONSE.as_bytes(), &edits));
            prop_assert_eq!(one_pass, careful);
        }
    }

    #[test]
    fn type_table_matches_words_with_or_without_campaign() {
        let cases = [
            ("Interaction Campaign", Channel::Interaction, None),
            ("interaction", Channel::Interaction, None),
            ("CHAT CAMPAIGN", Channel::Chat, None),
            ("Outbound Voice Campaign", Channel::Voice, None),
            ("OUTBOUND_VOICE", Channel::Voice, None),
            (
                "Parallel Predictive Voice",
                Channel::Voice,
                Some(DialingMode::Predictive),
            ),
            (
                "parallel-predictive-voice-campaign",
                Channel::Voice,
                Some(DialingMode::Predictive),
            ),
            (
                "Voice  Blast Campaign",
                Channel::Voice,
                Some(DialingMode::Agentless),
            ),
            (
                "Interactive Voice Application Campaign",
                Channel::Voice,
                Some(DialingMode::Agentless),
            ),
            (
                " Email Campaign ",
                Channel::Other("Email Campaign".into()),
                None,
            ),
            ("Campaign", Channel::Other(UNKNOWN_TYPE.into()), None),
            ("", Channel::Other(UNKNOWN_TYPE.into()), None),
            ("Voice", Channel::Other("Voice".into()), None),
        ];
        for (text, channel, mode) in cases {
            assert_eq!(campaign_type(text), (channel, mode), "{text:?}");
        }
    }

    #[test]
    fn missing_contact_center_falls_back_to_the_requested_one() {
        let body = br#"[{"campaignContextId":5,"campaignContextName":"x"}]"#;
        let scoped =
            decode_for_center("cms", "GET", body, Some(9), &mut RecordIssues::new(true)).unwrap();
        assert_eq!(
            scoped[0].scope,
            Scope::ContactCenter {
                contact_center_id: 9,
                process_id: None
            }
        );
        let unscoped = decode_campaigns("cms", "GET", body).unwrap();
        assert_eq!(unscoped[0].scope, Scope::Unscoped);
        assert_eq!(unscoped[0].channel, Channel::Other(UNKNOWN_TYPE.into()));
        assert_eq!(unscoped[0].status, None);
        assert_eq!(unscoped[0].priority, None);
    }

    #[test]
    fn bodies_of_any_length_keep_every_record_verbatim() {
        let records: Vec<String> = (0..130)
            .map(|i| format!(r#"{{ "campaignContextId": {i}, "x": "caf\u00e9" }}"#))
            .collect();
        let body = format!("[{}]", records.join(" ,\n"));
        let campaigns = decode_campaigns("cms", "GET", body.as_bytes()).unwrap();
        assert_eq!(campaigns.len(), 130);
        for (campaign, record) in campaigns.iter().zip(&records) {
            assert_eq!(
                campaign.raw.as_ref().map(RawRecord::get),
                Some(record.as_str())
            );
        }
        assert_eq!(decode_campaigns("cms", "GET", b"[]").unwrap(), []);
        for body in [&b"{}"[..], b"[1,", b"[\"\xff\"]", b"null"] {
            let e = decode_campaigns("cms", "GET x", body).unwrap_err();
            assert_eq!((e.kind(), e.request()), (ErrorKind::Decode, Some("GET x")));
        }
    }

    /// Lenient decoding keeps the good records and reports each bad one
    /// with its request, partition, index, id and cause.
    #[test]
    fn bad_records_are_skipped_and_reported() {
        let body = br#"[{"campaignContextId":1},{"campaignContextId":17,"processId":"x"},{"campaignContextName":"no id"},{"campaignContextId":3}]"#;
        let mut issues = RecordIssues::new(false);
        let request = center_request(4);
        let kept = decode_for_center("cms", &request, body, Some(4), &mut issues).unwrap();
        let ids: Vec<&str> = kept.iter().map(|c| c.id.native.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
        let warnings = issues.into_warnings();
        assert_eq!(warnings.len(), 2);
        let first = &warnings[0];
        assert_eq!(first.request.as_deref(), Some(request.as_str()));
        assert_eq!(first.partition.as_deref(), Some("contact_center=4"));
        let skipped = first.skipped.as_ref().unwrap();
        assert_eq!((skipped.index, skipped.id.as_deref()), (1, Some("17")));
        assert!(first.message.contains("processId"), "{first}");
        let second = warnings[1].skipped.as_ref().unwrap();
        assert_eq!((second.index, second.id.as_deref()), (2, None));
        assert!(warnings[1].message.contains("campaignContextId is missing"));
    }

    #[test]
    fn bad_records_name_their_index_and_quote_a_snippet() {
        let body = br#"[{"campaignContextId":1},{"campaignContextName":"no id"}]"#;
        let e = decode_campaigns("cms", "GET campaigns contactCenterId=1", body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        let text = e.to_string();
        assert!(
            text.contains("record 1") && text.contains("campaignContextId is missing"),
            "{text}"
        );
        assert!(text.contains("no id"), "{text}");
        assert_eq!(e.request(), Some("GET campaigns contactCenterId=1"));
    }
}

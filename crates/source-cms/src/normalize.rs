//! The only place CMS vocabulary turns into the normalized model.

use campaign_core::{
    Campaign, CampaignId, Channel, DialingMode, ErrorKind, RawRecord, Scope, SourceError,
};
use campaign_http::{decode_json, snippet, RawRecords};
use serde_json::value::RawValue;
use std::borrow::Cow;

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
/// record is a `Decode` error quoting a short snippet.
pub fn decode_campaigns(
    source_id: &str,
    request: &str,
    body: &[u8],
) -> Result<Vec<Campaign>, SourceError> {
    decode_for_center(source_id, request, body, None)
}

/// [`decode_campaigns`], scoping records that omit `contactCenterId` to
/// `center` (the contact center the request asked for).
pub(crate) fn decode_for_center(
    source_id: &str,
    request: &str,
    body: &[u8],
    center: Option<i64>,
) -> Result<Vec<Campaign>, SourceError> {
    // The body is checked as UTF-8 once, so neither pass validates each
    // string again; the first pass only delimits the records.
    let RawRecords(records) = match std::str::from_utf8(body) {
        Ok(text) => {
            serde_json::from_str(text).or_else(|_| decode_json(source_id, request, body))?
        }
        Err(_) => decode_json(source_id, request, body)?,
    };
    // A plain loop into a sized Vec: collecting `Result`s would grow the Vec
    // step by step and move each (large) campaign more often.
    let mut campaigns = Vec::with_capacity(records.len());
    for (index, raw) in records.into_iter().enumerate() {
        let campaign = normalize(source_id, raw, center, true)
            .map_err(|why| record_error(source_id, request, index, why))?;
        campaigns.push(campaign);
    }
    Ok(campaigns)
}

/// Checks every record of `body` as [`decode_for_center`] does and hands
/// each one's byte range in `body` to `each`, with its campaign decoded
/// without `raw` (the range is what a snapshot keeps instead).
pub(crate) fn scan_records(
    source_id: &str,
    request: &str,
    body: &[u8],
    center: Option<i64>,
    mut each: impl FnMut(std::ops::Range<usize>, Campaign) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let Ok(text) = std::str::from_utf8(body) else {
        decode_json::<RawRecords>(source_id, request, body)?;
        // serde_json refuses invalid UTF-8 itself; this is a safety net.
        return Err(SourceError::new(
            ErrorKind::Decode,
            source_id,
            "the response body is not UTF-8",
        )
        .with_request(request));
    };
    let RawRecords(records) =
        serde_json::from_str(text).or_else(|_| decode_json(source_id, request, body))?;
    for (index, raw) in records.into_iter().enumerate() {
        let campaign = normalize(source_id, raw, center, false)
            .map_err(|why| record_error(source_id, request, index, why))?;
        // The raw value borrows from `text`, so its offset is its place in the body.
        let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        each(start..start + raw.get().len(), campaign)?;
    }
    Ok(())
}

/// The description of the request for `center`'s campaigns, as errors name it.
pub(crate) fn center_request(center: i64) -> String {
    format!("GET campaigns contactCenterId={center}")
}

/// Decodes one record of `center`'s body that [`scan_records`] delimited
/// (`text` is its range of the body), keeping it in `raw` if `keep_raw`;
/// `index` names it in errors.
pub(crate) fn decode_record(
    source_id: &str,
    center: i64,
    text: &str,
    index: usize,
    keep_raw: bool,
) -> Result<Campaign, SourceError> {
    let why = match serde_json::from_str::<&RawValue>(text) {
        Ok(raw) => match normalize(source_id, raw, Some(center), keep_raw) {
            Ok(campaign) => return Ok(campaign),
            Err(why) => why,
        },
        Err(e) => RecordError {
            message: e.to_string(),
            raw: text.to_owned(),
        },
    };
    Err(record_error(source_id, &center_request(center), index, why))
}

fn record_error(source_id: &str, request: &str, index: usize, why: RecordError) -> SourceError {
    let RecordError { message, raw } = why;
    SourceError::new(
        ErrorKind::Decode,
        source_id,
        format!(
            "record {index} is not a documented campaign ({message}); record starts: {:?}",
            snippet(raw.as_bytes())
        ),
    )
    .with_request(request)
}

struct RecordError {
    message: String,
    raw: String,
}

fn normalize(
    source_id: &str,
    raw: &RawValue,
    center: Option<i64>,
    keep_raw: bool,
) -> Result<Campaign, RecordError> {
    let fail = |message: String| RecordError {
        message,
        raw: raw.get().to_owned(),
    };
    let record: CmsCampaign<'_> = match serde_json::from_str(raw.get()) {
        Ok(record) => record,
        Err(e) => return Err(fail(e.to_string())),
    };
    let Some(native) = record.campaign_context_id else {
        return Err(fail("campaignContextId is missing".into()));
    };
    let (channel, dialing_mode) =
        campaign_type(record.campaign_context_type.as_deref().unwrap_or(""));
    let name = record
        .campaign_context_name
        .map(Cow::into_owned)
        .unwrap_or_default();
    let mut campaign = Campaign::new(CampaignId::new(source_id, native), PROVIDER, name, channel);
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
        campaign.raw = Some(RawRecord::new(raw.to_owned()));
    }
    Ok(campaign)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let scoped = decode_for_center("cms", "GET", body, Some(9)).unwrap();
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

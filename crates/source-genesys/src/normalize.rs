//! The one place Genesys Cloud's vocabulary becomes the normalized
//! [`Campaign`] (the mapping table is in the crate docs).

use std::borrow::Cow;
use std::sync::Arc;

use campaign_core::{
    Campaign, CampaignId, Channel, DialingMode, ErrorKind, ListRef, RawRecord, RecordIssues, Scope,
    SourceError, Status, Warning,
};
use campaign_http::{decode_json, optional_timestamp};

use crate::wire::{readable_id, EntityRef, Envelope, Record};
use crate::PROVIDER;

/// One decoded listing page: the normalized campaigns and the paging fields
/// exactly as the server reported them (`None` where absent).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct GenesysPage {
    /// The campaigns, in the server's order, each with its record in `raw`.
    pub campaigns: Vec<Campaign>,
    /// How many entities the page held, skipped ones included (what the
    /// server's paging counts).
    pub records: usize,
    /// `pageSize`.
    pub page_size: Option<u64>,
    /// `pageNumber`.
    pub page_number: Option<u64>,
    /// `total`.
    pub total: Option<u64>,
    /// `pageCount`.
    pub page_count: Option<u64>,
    /// `nextUri` (relative, `/api/v2/...`), absent on the last page.
    pub next_uri: Option<String>,
    /// Whether the page carried `selfUri`, i.e. links at all: only then does
    /// a missing `nextUri` say "last page".
    pub has_links: bool,
    /// Records kept but worth reporting: those without `dateCreated`.
    pub warnings: Vec<Warning>,
}

/// Decodes one listing body into normalized campaigns plus the paging
/// fields, strictly: the first record that is not a usable campaign (no
/// usable `id`, a field of the wrong type, an unreadable date) fails it
/// with a `Decode` error naming the source, `request` and the record.
pub fn decode_page(
    source_id: &str,
    request: &str,
    body: &[u8],
) -> Result<GenesysPage, SourceError> {
    decode_page_with(source_id, request, body, &mut RecordIssues::new(true))
}

/// [`decode_page`], handing each record it cannot use to `issues`, which
/// skips and reports it or, when strict, fails with it. A body that is not
/// the documented envelope still fails whole.
pub fn decode_page_with(
    source_id: &str,
    request: &str,
    body: &[u8],
    issues: &mut RecordIssues,
) -> Result<GenesysPage, SourceError> {
    let envelope: Envelope<'_> = decode_json(source_id, request, body)?;
    let source: Arc<str> = source_id.into();
    let records = envelope.entities.map(|e| e.0).unwrap_or_default();
    let mut page = GenesysPage {
        campaigns: Vec::with_capacity(records.len()),
        records: records.len(),
        page_size: envelope.page_size,
        page_number: envelope.page_number,
        total: envelope.total,
        page_count: envelope.page_count,
        next_uri: envelope.next_uri.map(Cow::into_owned),
        has_links: envelope.self_uri.is_some(),
        warnings: Vec::new(),
    };
    for (index, raw) in records.into_iter().enumerate() {
        let decoded = serde_json::from_str::<Record<'_>>(raw.get())
            .map_err(|e| format!("not a campaign object ({e})"))
            .and_then(|record| normalize(&source, record, raw.get()));
        match decoded {
            Ok(campaign) => {
                if campaign.created_at.is_none() {
                    // Read-only and server-set: its absence is an anomaly
                    // worth reporting, but the campaign is still usable.
                    page.warnings.push(
                        Warning::new(format!(
                            "record {index} (id {:?}) has no dateCreated; listed without a creation time",
                            campaign.id.native
                        ))
                        .with_request(request),
                    );
                }
                page.campaigns.push(campaign);
            }
            Err(why) => {
                let error = SourceError::new(
                    ErrorKind::Decode,
                    source_id,
                    format!("entities[{index}]: {why}"),
                )
                .with_request(request);
                issues.skip(index, readable_id(raw.get()), error)?;
            }
        }
    }
    Ok(page)
}

/// Genesys's `campaignStatus` as a normalized status: running is active,
/// finished is completed, every state that places no new calls is stopped;
/// anything else is kept verbatim.
pub fn campaign_status(text: &str) -> Status {
    const STOPPED: [&str; 5] = [
        "off",
        "stopping",
        "forced_off",
        "forced_stopping",
        "invalid",
    ];
    if text.eq_ignore_ascii_case("on") {
        Status::Active
    } else if text.eq_ignore_ascii_case("complete") {
        Status::Completed
    } else if STOPPED.iter().any(|s| text.eq_ignore_ascii_case(s)) {
        Status::Stopped
    } else {
        Status::Other(text.to_owned())
    }
}

fn list_ref(entity: EntityRef<'_>) -> Option<ListRef> {
    match (entity.name, entity.id) {
        (None, None) => None,
        (name, id) => Some(ListRef {
            name: name.map(Cow::into_owned).unwrap_or_default(),
            id: id.map(Cow::into_owned),
        }),
    }
}

fn normalize(source: &Arc<str>, record: Record<'_>, raw: &str) -> Result<Campaign, String> {
    let native = record
        .id
        .filter(|id| !id.trim().is_empty())
        .ok_or("the record has no usable `id`")?;
    let mut c = Campaign::new(
        CampaignId::new(Arc::clone(source), native.into_owned()),
        PROVIDER,
        record.name.map(Cow::into_owned).unwrap_or_default(),
        Channel::Voice,
    );
    c.status = record.campaign_status.as_deref().map(campaign_status);
    c.dialing_mode = record.dialing_mode.as_deref().map(DialingMode::parse);
    // 1 (lowest) to 5 (highest); anything else stays in `raw` only.
    c.priority = record
        .priority
        .and_then(|p| p.as_u64())
        .filter(|p| (1..=5).contains(p))
        .and_then(|p| u8::try_from(p).ok());
    c.created_at = optional_timestamp("dateCreated", record.date_created.as_deref())?;
    c.updated_at = optional_timestamp("dateModified", record.date_modified.as_deref())?;
    c.version = record.version;
    c.contact_lists = record.contact_list.and_then(list_ref).into_iter().collect();
    c.dnc_lists = record
        .dnc_lists
        .unwrap_or_default()
        .into_iter()
        .filter_map(list_ref)
        .collect();
    c.scope = match record.division {
        Some(EntityRef { id: Some(id), name }) if !id.trim().is_empty() => Scope::Account {
            account: id.as_ref().into(),
            stream: name.as_deref().unwrap_or_default().into(),
        },
        _ => Scope::Unscoped,
    };
    c.raw = Some(RawRecord::from_parsed(raw));
    Ok(c)
}

/// The division id of a campaign normalized here (its scope's account).
pub(crate) fn division_of(campaign: &Campaign) -> Option<&str> {
    match &campaign.scope {
        Scope::Account { account, .. } => Some(account),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_sandbox::samples::GENESYS_RESPONSE;

    #[test]
    fn the_spec_sample_decodes_into_exactly_its_campaigns() {
        let page = decode_page("g", "GET campaigns", GENESYS_RESPONSE.as_bytes()).unwrap();
        assert_eq!(
            (page.records, page.total, page.page_count),
            (3, Some(7), Some(3))
        );
        assert_eq!((page.page_size, page.page_number), (Some(3), Some(1)));
        assert!(page.has_links && page.next_uri.as_deref().unwrap().contains("pageNumber=2"));
        assert!(page.warnings.is_empty());
        let c = &page.campaigns;
        let ids: Vec<&str> = c.iter().map(|c| c.id.native.as_str()).collect();
        assert_eq!(
            ids,
            [
                "0b7c6a1e-5f2d-4c1a-9e3b-7d8f9a0b1c2d",
                "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
                "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
            ]
        );
        assert_eq!(c[0].name, "Collections - Agentless Reminder");
        assert_eq!(c[0].status, Some(Status::Stopped), "off");
        assert_eq!(c[1].status, Some(Status::Active), "on");
        assert_eq!(c[2].status, Some(Status::Stopped), "invalid");
        assert_eq!(c[0].dialing_mode, Some(DialingMode::Agentless));
        assert_eq!(c[1].dialing_mode, Some(DialingMode::Predictive));
        assert_eq!(c[2].dialing_mode, Some(DialingMode::Preview));
        assert_eq!(
            [c[0].priority, c[1].priority, c[2].priority],
            [Some(5), Some(3), Some(5)]
        );
        assert_eq!(c[0].version, Some(12));
        assert_eq!(
            c[0].created_at,
            Some("2025-09-14T08:02:11.127Z".parse().unwrap())
        );
        assert_eq!(
            c[1].updated_at,
            Some("2026-02-11T09:12:44.381Z".parse().unwrap())
        );
        assert_eq!(c[0].contact_lists[0].name, "Collections Q1");
        assert_eq!(c[0].dnc_lists.len(), 1);
        assert_eq!(
            c[0].dnc_lists[0].id.as_deref(),
            Some("9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d")
        );
        assert!(c[1].dnc_lists.is_empty());
        assert!(c
            .iter()
            .all(|c| c.channel == Channel::Voice && c.provider == PROVIDER));
        assert_eq!(
            c[2].scope,
            Scope::Account {
                account: "0f1e2d3c-4b5a-4968-8776-655443322110".into(),
                stream: "Retention".into()
            }
        );
        assert_eq!(
            division_of(&c[0]),
            Some("e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9")
        );
        let raw = c[2].raw.as_ref().unwrap().to_value();
        assert_eq!(raw["agentOwnedColumn"], "OwnerAgentId");
    }

    #[test]
    fn statuses_and_modes_map_and_unknown_values_are_kept() {
        for (text, status) in [
            ("on", Status::Active),
            ("complete", Status::Completed),
            ("off", Status::Stopped),
            ("stopping", Status::Stopped),
            ("forced_off", Status::Stopped),
            ("forced_stopping", Status::Stopped),
            ("invalid", Status::Stopped),
            ("ON", Status::Active),
            ("paused_by_rule", Status::Other("paused_by_rule".into())),
        ] {
            assert_eq!(campaign_status(text), status, "{text}");
        }
        for (text, mode) in [
            ("preview", DialingMode::Preview),
            ("progressive", DialingMode::Progressive),
            ("predictive", DialingMode::Predictive),
            ("agentless", DialingMode::Agentless),
            ("power", DialingMode::Other("power".into())),
            ("external", DialingMode::Other("external".into())),
        ] {
            assert_eq!(DialingMode::parse(text), mode, "{text}");
        }
    }

    #[test]
    fn bad_records_are_skipped_and_reported_and_strict_fails() {
        let body = br#"{"entities":[
            {"id":"c-1","name":"kept","dateCreated":"2025-01-01T00:00:00Z","priority":9},
            {"id":"c-2","name":7},
            {"name":"no id"},
            {"id":"c-4","dateCreated":"yesterday"},
            {"id":"c-5","contactList":7},
            5,
            {"id":"c-7","name":"no date"}],"pageSize":25,"pageNumber":1,"total":7,"pageCount":1}"#;
        let mut issues = RecordIssues::new(false);
        let page = decode_page_with("g", "GET x", body, &mut issues).unwrap();
        let ids: Vec<&str> = page
            .campaigns
            .iter()
            .map(|c| c.id.native.as_str())
            .collect();
        assert_eq!(ids, ["c-1", "c-7"]);
        assert_eq!(page.campaigns[0].priority, None, "out of range");
        assert_eq!(page.records, 7);
        assert!(!page.has_links && page.next_uri.is_none());
        let skipped: Vec<(usize, Option<String>)> = issues
            .into_warnings()
            .into_iter()
            .map(|w| {
                assert_eq!(w.request.as_deref(), Some("GET x"));
                let s = w.skipped.unwrap();
                (s.index, s.id)
            })
            .collect();
        let id = |s: &str| Some(s.to_owned());
        assert_eq!(
            skipped,
            [
                (1, id("c-2")),
                (2, None),
                (3, id("c-4")),
                (4, id("c-5")),
                (5, None)
            ]
        );
        assert_eq!(page.warnings.len(), 1);
        assert!(page.warnings[0]
            .message
            .contains("record 6 (id \"c-7\") has no dateCreated"));
        let e = decode_page("g", "GET x", body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.to_string().contains("record 1 (id \"c-2\")"), "{e}");
    }

    #[test]
    fn envelopes_may_omit_arrays_but_not_break_types() {
        let page = decode_page(
            "g",
            "r",
            br#"{"pageSize":25,"pageNumber":4,"total":3,"pageCount":1}"#,
        )
        .unwrap();
        assert_eq!((page.records, page.page_number), (0, Some(4)));
        let page = decode_page("g", "r", br#"{"entities":null}"#).unwrap();
        assert!(page.campaigns.is_empty());
        for bad in [
            &br#"{"entities":[],"total":"3"}"#[..],
            br#"{"entities":{}}"#,
            b"<html>Bad gateway</html>",
            br#"{"entities":["#,
        ] {
            let e = decode_page("g", "GET x", bad).unwrap_err();
            assert_eq!((e.kind(), e.request()), (ErrorKind::Decode, Some("GET x")));
        }
    }
}

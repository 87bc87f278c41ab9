//! The spec samples, and conversion of normalized campaigns into wire records.

use base64::Engine as _;
use campaign_core::{Campaign, Channel, DialingMode, Scope, Status};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::kore_store::{KoreRecord, KoreType};
use crate::wire::{
    iso_millis, minify_json, to_raw, CmsWire, KoreListWire, KoreMessageWire, KoreScheduleWire,
    KoreWire,
};

/// The documented sample requests and responses, verbatim from the specs.
///
/// Handy for tests of the provider clients: sending a sample request to the
/// sandbox's default data gives the answer described in the crate docs.
pub mod samples {
    /// The CMS "Get All Campaigns" sample response (contact center 1).
    pub const CMS_RESPONSE: &str = include_str!("../data/cms-sample-response.json");
    /// The Kore sample request body for voice campaigns.
    pub const KORE_VOICE_REQUEST: &str = include_str!("../data/kore-voice-sample-request.json");
    /// The Kore sample response for voice campaigns.
    pub const KORE_VOICE_RESPONSE: &str = include_str!("../data/kore-voice-sample-response.json");
    /// The Kore sample request body for SMS campaigns.
    pub const KORE_SMS_REQUEST: &str = include_str!("../data/kore-sms-sample-request.json");
    /// The Kore sample response for SMS campaigns.
    pub const KORE_SMS_RESPONSE: &str = include_str!("../data/kore-sms-sample-response.json");
    /// The Kore sample request for voice campaigns: the spec's curl command
    /// as printed, placeholders (`{{host}}`, `{{streamId}}`, `{{accountId}}`,
    /// `<token>`) included.
    pub const KORE_VOICE_CURL: &str = include_str!("../data/kore-voice-sample.curl");
    /// The Kore sample request for SMS campaigns: the spec's curl command as
    /// printed, placeholders included.
    pub const KORE_SMS_CURL: &str = include_str!("../data/kore-sms-sample.curl");
    /// The CMS sample request: the spec's curl command as printed,
    /// placeholders (`{Cms_Domain_Name}`, `{AuthToken}`) included.
    pub const CMS_CURL: &str = include_str!("../data/cms-sample.curl");
    /// The stream id of the Kore sample requests' `iid` header; with
    /// [`SandboxBuilder::kore_ids`](crate::SandboxBuilder::kore_ids) the
    /// sandbox accepts it.
    pub const KORE_STREAM_ID: &str = "st-0603182c-7ffb-53c3-b307-47ca14bxxxxx";
    /// The account id of the Kore sample requests' `accountid` header.
    pub const KORE_ACCOUNT_ID: &str = "67777ce93e25326494exxxxx";
    /// The Genesys sample response (§6 of the Genesys note): the first page
    /// of three, sorted by name, of the seven campaigns the sandbox holds by
    /// default.
    pub const GENESYS_RESPONSE: &str = include_str!("../data/genesys-sample-response.json");
    /// The request line of the Genesys sample response (§6), as printed:
    /// `GET /api/v2/outbound/campaigns?pageSize=3&pageNumber=1&sortBy=name&sortOrder=ascending`.
    /// The spec gives no headers with it; those of [`GENESYS_LIST_REQUEST`]
    /// (a bearer token, `Accept`) make it a complete request.
    pub const GENESYS_REQUEST: &str = include_str!("../data/genesys-sample-request.http");
    /// The Genesys request of §2 as printed (request line, `Host`,
    /// `Authorization: Bearer <token>`, `Accept`); the placeholders are the
    /// host and `<token>`.
    pub const GENESYS_LIST_REQUEST: &str = include_str!("../data/genesys-list-sample.http");
    /// The Genesys token request of §1.2 as printed; the placeholders are
    /// `https://login.<domain>` and `base64(<client_id>:<client_secret>)`.
    pub const GENESYS_TOKEN_REQUEST: &str = include_str!("../data/genesys-token-sample.http");
    /// The Genesys token response of §1.2 (its values are the spec's
    /// invented ones; the sandbox answers with the same keys and types).
    pub const GENESYS_TOKEN_RESPONSE: &str =
        include_str!("../data/genesys-token-sample-response.json");
    /// The sandbox's own four Genesys campaigns that, with the sample's
    /// three, make the seven the sample's `total` promises. They sort after
    /// the sample's three by name. Not from the spec.
    pub const GENESYS_EXTRA_CAMPAIGNS: &str =
        include_str!("../data/genesys-sample-extra-campaigns.json");
}

/// A CMS record ready to serve, with the contact center it belongs to.
#[derive(Debug)]
pub(crate) struct CmsRecord {
    pub(crate) contact_center_id: i64,
    pub(crate) campaign_context_id: Option<i64>,
    pub(crate) json: Box<RawValue>,
}

impl CmsRecord {
    pub(crate) fn from_wire(wire: &CmsWire) -> Self {
        Self {
            contact_center_id: wire.contact_center_id,
            campaign_context_id: Some(wire.campaign_context_id),
            json: to_raw(wire),
        }
    }
}

#[derive(Deserialize)]
struct CmsContactCenter {
    #[serde(rename = "contactCenterId")]
    contact_center_id: i64,
    #[serde(rename = "campaignContextId")]
    campaign_context_id: Option<i64>,
}

/// The CMS sample records, verbatim (minified, key order kept).
pub(crate) fn cms_sample() -> Result<Vec<CmsRecord>, serde_json::Error> {
    let records: Vec<Box<RawValue>> = serde_json::from_str(&minify_json(samples::CMS_RESPONSE))?;
    records
        .into_iter()
        .map(|json| {
            let center: CmsContactCenter = serde_json::from_str(json.get())?;
            Ok(CmsRecord {
                contact_center_id: center.contact_center_id,
                campaign_context_id: center.campaign_context_id,
                json,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct KoreSampleResponse {
    data: KoreSampleData,
}

#[derive(Deserialize)]
struct KoreSampleData {
    results: Vec<Box<RawValue>>,
}

/// The Kore sample records (voice, then SMS), verbatim.
pub(crate) fn kore_sample() -> Result<(Vec<KoreRecord>, Vec<KoreRecord>), serde_json::Error> {
    let records = |text: &str| -> Result<Vec<KoreRecord>, serde_json::Error> {
        let response: KoreSampleResponse = serde_json::from_str(&minify_json(text))?;
        response
            .data
            .results
            .into_iter()
            .map(KoreRecord::from_json)
            .collect()
    };
    Ok((
        records(samples::KORE_VOICE_RESPONSE)?,
        records(samples::KORE_SMS_RESPONSE)?,
    ))
}

/// Kore's capitalized spelling of a status.
pub(crate) fn kore_status(status: &Status) -> String {
    let known = match status {
        Status::Active => "Active",
        Status::Completed => "Completed",
        Status::Ready => "Ready",
        Status::Paused => "Paused",
        Status::Preparing => "Preparing",
        Status::Stopped => "Stopped",
        Status::Scheduled => "Scheduled",
        Status::Rescheduled => "Rescheduled",
        other => return other.as_str().to_owned(),
    };
    known.to_owned()
}

/// Kore's capitalized spelling of a dialing mode.
pub(crate) fn kore_dialing_mode(mode: &DialingMode) -> String {
    let known = match mode {
        DialingMode::Progressive => "Progressive",
        DialingMode::Preview => "Preview",
        DialingMode::Agentless => "Agentless",
        DialingMode::Predictive => "Predictive",
        other => return other.as_str().to_owned(),
    };
    known.to_owned()
}

/// The CMS `campaignContextType` for a channel (and voice dialing mode).
pub(crate) fn cms_campaign_type(channel: &Channel, dialing_mode: Option<&DialingMode>) -> String {
    match (channel, dialing_mode) {
        (Channel::Voice, Some(DialingMode::Predictive)) => "Parallel Predictive Voice Campaign",
        (Channel::Voice, Some(DialingMode::Agentless)) => "Voice Blast Campaign",
        (Channel::Voice, _) => "Outbound Voice Campaign",
        (Channel::Interaction, _) => "Interaction Campaign",
        (Channel::Chat, _) => "Chat Campaign",
        (Channel::Sms, _) => "SMS Campaign",
        (other, _) => return other.as_str().to_owned(),
    }
    .to_owned()
}

/// A normalized campaign as a CMS record; `None` when its native id is not
/// an integer (CMS ids are numbers, and the native id must survive a round
/// trip). Without a contact-center scope it goes to `default_center`.
pub(crate) fn cms_from_campaign(campaign: &Campaign, default_center: i64) -> Option<CmsRecord> {
    let (contact_center_id, process_id) = match &campaign.scope {
        Scope::ContactCenter {
            contact_center_id,
            process_id,
        } => (*contact_center_id, process_id.unwrap_or(1)),
        _ => (default_center, 1),
    };
    let campaign_context_id = campaign.id.native.parse().ok()?;
    Some(CmsRecord::from_wire(&CmsWire {
        campaign_context_id,
        campaign_context_name: campaign.name.clone(),
        campaign_context_type: cms_campaign_type(&campaign.channel, campaign.dialing_mode.as_ref()),
        contact_center_id,
        process_id,
        description: campaign.description.clone(),
        date_added: campaign
            .created_at
            .map(|at| iso_millis(at.timestamp_millis())),
        date_modified: campaign
            .updated_at
            .map(|at| iso_millis(at.timestamp_millis())),
        reference: Some(0),
        version: campaign.version,
    }))
}

/// A normalized campaign as a Kore record; `None` for channels Kore's
/// listing does not serve (anything but voice and SMS).
pub(crate) fn kore_from_campaign(campaign: &Campaign) -> Option<(KoreType, KoreRecord)> {
    let kind = match campaign.channel {
        Channel::Voice => KoreType::Voice,
        Channel::Sms => KoreType::Sms,
        _ => return None,
    };
    let native = campaign.id.native.clone();
    let voice = kind == KoreType::Voice;
    let wire = KoreWire {
        voice_id: voice.then(|| native.clone()),
        sms_id: (!voice).then_some(native),
        name: campaign.name.clone(),
        description: campaign.description.clone(),
        status: campaign.status.as_ref().map(kore_status),
        dnc_lists: campaign.dnc_lists.first().map(|list| KoreListWire {
            id: list.id.clone(),
            name: list.name.clone(),
        }),
        priority: campaign.priority.map(|p| p.to_string()),
        dialing_mode: campaign
            .dialing_mode
            .as_ref()
            .filter(|_| voice)
            .map(kore_dialing_mode),
        message: campaign
            .message
            .as_ref()
            .filter(|_| !voice)
            .map(|text| KoreMessageWire {
                template_name: None,
                message: base64::engine::general_purpose::STANDARD.encode(text),
                template_id: None,
            }),
        created_at: campaign
            .created_at
            .map(|at| iso_millis(at.timestamp_millis())),
        updated_at: campaign
            .updated_at
            .map(|at| iso_millis(at.timestamp_millis())),
        schedule: campaign.schedule.map(|s| KoreScheduleWire {
            is_scheduling_enabled: s.scheduling_enabled,
            is_recurrence_enabled: s.recurrence_enabled,
        }),
        contact_lists: (!campaign.contact_lists.is_empty()).then(|| {
            campaign
                .contact_lists
                .iter()
                .map(|l| l.name.clone())
                .collect()
        }),
        ..KoreWire::default()
    };
    Some((kind, KoreRecord::from_wire(&wire)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::{CampaignId, ListRef};

    #[test]
    fn samples_load_verbatim() {
        let cms = cms_sample().unwrap();
        assert_eq!(cms.len(), 1);
        assert_eq!(cms[0].contact_center_id, 1);
        assert!(cms[0].json.get().starts_with("{\"campaignContextId\":1,"));
        let (voice, sms) = kore_sample().unwrap();
        assert_eq!((voice.len(), sms.len()), (5, 7));
        assert_eq!(&*voice[0].id, "cd-c1b940c-7012-4e7d-98d9-4707177xxxxx");
        assert_eq!(voice[0].priority, Some(5));
        assert_eq!(&*sms[0].id, "cd-78d3f0a9-8f42-5d8c-af8d-d6a63eaxxxxx");
    }

    #[test]
    fn curl_samples_hold_the_request_bodies_and_ids() {
        for (curl, body) in [
            (samples::KORE_VOICE_CURL, samples::KORE_VOICE_REQUEST),
            (samples::KORE_SMS_CURL, samples::KORE_SMS_REQUEST),
        ] {
            assert!(curl.contains(&format!("--data '{body}'")));
            assert!(curl.contains(&format!("'iid: {}'", samples::KORE_STREAM_ID)));
            assert!(curl.contains(&format!("'accountid: {}'", samples::KORE_ACCOUNT_ID)));
        }
        assert!(samples::CMS_CURL.starts_with("curl -X 'GET'"));
    }

    #[test]
    fn cms_conversion_maps_type_scope_and_ids() {
        let mut c = Campaign::new(CampaignId::new("cms", "42"), "cms", "Blast", Channel::Voice);
        c.dialing_mode = Some(DialingMode::Agentless);
        c.scope = Scope::ContactCenter {
            contact_center_id: 7,
            process_id: Some(3),
        };
        c.created_at = Some("2026-01-02T03:04:05.006Z".parse().unwrap());
        let record = cms_from_campaign(&c, 1).unwrap();
        let value: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
        assert_eq!(record.contact_center_id, 7);
        assert_eq!(value["campaignContextId"], 42);
        assert_eq!(value["campaignContextType"], "Voice Blast Campaign");
        assert_eq!(value["processId"], 3);
        assert_eq!(value["dateAdded"], "2026-01-02T03:04:05.006Z");
        assert!(value.get("dateModified").is_none());
        let odd = Campaign::new(CampaignId::new("cms", "abc"), "cms", "x", Channel::Chat);
        assert!(cms_from_campaign(&odd, 1).is_none());
        let chat = Campaign::new(CampaignId::new("cms", "9"), "cms", "x", Channel::Chat);
        let value: serde_json::Value =
            serde_json::from_str(cms_from_campaign(&chat, 4).unwrap().json.get()).unwrap();
        assert_eq!(value["campaignContextType"], "Chat Campaign");
        assert_eq!(value["contactCenterId"], 4);
    }

    #[test]
    fn kore_conversion_splits_by_channel() {
        let mut voice = Campaign::new(CampaignId::new("k", "v1"), "kore", "V", Channel::Voice);
        voice.status = Some(Status::Ready);
        voice.priority = Some(4);
        voice.dialing_mode = Some(DialingMode::Preview);
        voice.dnc_lists = vec![ListRef::named("DNC")];
        let (kind, record) = kore_from_campaign(&voice).unwrap();
        assert_eq!(kind, KoreType::Voice);
        let value: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
        assert_eq!(value["_id"], "v1");
        assert_eq!(value["priority"], "4");
        assert_eq!(value["status"], "Ready");
        assert_eq!(value["dialingMode"], "Preview");
        assert_eq!(value["dncLists"]["name"], "DNC");
        let mut sms = Campaign::new(CampaignId::new("k", "s1"), "kore", "S", Channel::Sms);
        sms.message = Some("hi".into());
        let (kind, record) = kore_from_campaign(&sms).unwrap();
        assert_eq!(kind, KoreType::Sms);
        let value: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
        assert_eq!(value["id"], "s1");
        assert_eq!(value["message"]["message"], "aGk=");
        assert!(value.get("_id").is_none() && value.get("priority").is_none());
        let chat = Campaign::new(CampaignId::new("k", "c"), "kore", "C", Channel::Chat);
        assert!(kore_from_campaign(&chat).is_none());
    }
}

//! The Genesys sample data, and conversion of normalized campaigns into
//! Genesys wire records.

use campaign_core::{Campaign, Channel, DialingMode, ListRef, Status};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::store::GenesysRecord;
use super::wire::{paths, EntityRef, GenesysWire, PhoneColumn};
use crate::data::samples;
use crate::wire::{iso_millis, minify_json};

#[derive(Deserialize)]
struct SampleListing {
    entities: Vec<Box<RawValue>>,
}

/// The spec's three sample campaigns verbatim (§6), then the sandbox's four
/// that make up the seven the sample's `total` promises.
pub(crate) fn genesys_sample() -> Result<Vec<GenesysRecord>, serde_json::Error> {
    let listing: SampleListing = serde_json::from_str(&minify_json(samples::GENESYS_RESPONSE))?;
    let extra: Vec<Box<RawValue>> =
        serde_json::from_str(&minify_json(samples::GENESYS_EXTRA_CAMPAIGNS))?;
    listing
        .entities
        .into_iter()
        .chain(extra)
        .map(GenesysRecord::from_json)
        .collect()
}

/// A stable UUID-shaped id derived from `text` (FNV-1a), for lists that
/// arrive with a name only.
pub(crate) fn derived_id(text: &str) -> String {
    let hash = |seed: u64| {
        text.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
    };
    uuid_from(hash(0xcbf2_9ce4_8422_2325), hash(0x8422_2325_cbf2_9ce4))
}

/// Formats 128 bits as a version-4 UUID.
pub(crate) fn uuid_from(high: u64, low: u64) -> String {
    let high = (high & !0xF000) | 0x4000;
    let low = (low & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// The division every loaded campaign gets: the samples' `Home`.
pub(crate) const HOME_DIVISION: (&str, &str) = ("e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9", "Home");

/// Genesys's `campaignStatus` for a normalized status. Genesys has no
/// ready/paused/scheduled states, so every not-running state is `off`;
/// unknown values (e.g. `stopping`, `forced_off` from a Genesys source)
/// pass through as they are.
pub(crate) fn genesys_status(status: &Status) -> String {
    match status {
        Status::Active => "on",
        Status::Completed => "complete",
        Status::Ready
        | Status::Paused
        | Status::Preparing
        | Status::Stopped
        | Status::Scheduled
        | Status::Rescheduled => "off",
        other => return other.as_str().to_owned(),
    }
    .to_owned()
}

fn list_ref(path: &str, list: &ListRef) -> EntityRef {
    let id = list.id.clone().unwrap_or_else(|| derived_id(&list.name));
    EntityRef::new(path, &id, &list.name)
}

/// A normalized campaign as a Genesys record; `None` for anything but voice
/// (the endpoint lists dialer campaigns only). The native id, name, dates,
/// version, status, dialing mode, priority, first contact list and DNC lists
/// carry over; every campaign lands in the `Home` division, and the
/// references a real campaign of its dialing mode needs (queue, script,
/// edge group, response set) are derived from fixed sandbox names.
pub(crate) fn genesys_from_campaign(campaign: &Campaign) -> Option<GenesysRecord> {
    if campaign.channel != Channel::Voice {
        return None;
    }
    let id = campaign.id.native.clone();
    let mode = campaign.dialing_mode.as_ref().map(|m| match m {
        DialingMode::Other(raw) => raw.clone(),
        known => known.as_str().to_owned(),
    });
    let agentless = mode.as_deref() == Some("agentless");
    let preview = mode.as_deref() == Some("preview");
    let named = |path: &str, name: &str| EntityRef::new(path, &derived_id(name), name);
    let wire = GenesysWire {
        self_uri: format!("{}/{id}", paths::CAMPAIGNS),
        id,
        name: campaign.name.clone(),
        date_created: campaign
            .created_at
            .map(|at| iso_millis(at.timestamp_millis())),
        date_modified: campaign
            .updated_at
            .map(|at| iso_millis(at.timestamp_millis())),
        version: campaign
            .version
            .map_or(1, |v| i32::try_from(v).unwrap_or(i32::MAX)),
        contact_list: campaign
            .contact_lists
            .first()
            .map(|list| list_ref(paths::CONTACT_LISTS, list)),
        queue: (!agentless).then(|| named(paths::QUEUES, "Sandbox Queue")),
        script: (!agentless).then(|| named(paths::SCRIPTS, "Sandbox Script")),
        edge_group: (!preview).then(|| named(paths::EDGE_GROUPS, "Sandbox Edge Group")),
        call_analysis_response_set: (!preview)
            .then(|| named(paths::RESPONSE_SETS, "Sandbox Response Set")),
        dialing_mode: mode,
        campaign_status: campaign.status.as_ref().map(genesys_status),
        phone_columns: vec![PhoneColumn {
            column_name: "Phone".to_owned(),
            kind: "cell".to_owned(),
        }],
        dnc_lists: campaign
            .dnc_lists
            .iter()
            .map(|list| list_ref(paths::DNC_LISTS, list))
            .collect(),
        caller_name: "Sandbox".to_owned(),
        caller_address: "+13175550199".to_owned(),
        no_answer_timeout: 30,
        priority: campaign.priority.map_or(5, i32::from),
        division: Some(EntityRef::new(
            paths::DIVISIONS,
            HOME_DIVISION.0,
            HOME_DIVISION.1,
        )),
        ..GenesysWire::default()
    };
    Some(GenesysRecord::from_wire(&wire))
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::CampaignId;

    #[test]
    fn samples_load_verbatim_and_number_seven() {
        let records = genesys_sample().unwrap();
        assert_eq!(records.len(), 7);
        assert_eq!(&*records[0].id, "0b7c6a1e-5f2d-4c1a-9e3b-7d8f9a0b1c2d");
        assert!(records[1].json.get().contains("\"abandonRate\":3.0,"));
        let mut names: Vec<&str> = records.iter().map(|r| &*r.name).collect();
        names.sort_unstable();
        assert_eq!(
            &names[..3],
            [
                "Collections - Agentless Reminder",
                "Renewals - Predictive",
                "Retention - Preview"
            ],
            "the spec's three sort first by name"
        );
    }

    #[test]
    fn uuids_are_version_four_and_stable() {
        let id = derived_id("Internal DNC");
        assert_eq!(id, derived_id("Internal DNC"));
        assert_ne!(id, derived_id("Federal DNC"));
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn conversion_keeps_voice_only_and_maps_fields() {
        let mut c = Campaign::new(CampaignId::new("g", "g-1"), "genesys", "V", Channel::Voice);
        c.status = Some(Status::Paused);
        c.dialing_mode = Some(DialingMode::Agentless);
        c.priority = Some(2);
        c.dnc_lists = vec![ListRef::named("DNC")];
        c.contact_lists = vec![ListRef {
            name: "CL".to_owned(),
            id: Some("cl-1".to_owned()),
        }];
        c.created_at = Some("2026-01-02T03:04:05Z".parse().unwrap());
        let record = genesys_from_campaign(&c).unwrap();
        let v: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
        assert_eq!(v["id"], "g-1");
        assert_eq!(v["campaignStatus"], "off");
        assert_eq!(v["dialingMode"], "agentless");
        assert_eq!(v["priority"], 2);
        assert_eq!(v["dateCreated"], "2026-01-02T03:04:05.000Z");
        assert_eq!(v["contactList"]["id"], "cl-1");
        assert_eq!(v["dncLists"][0]["id"], derived_id("DNC"));
        assert!(v.get("queue").is_none() && v["edgeGroup"].is_object());
        assert_eq!(v["selfUri"], "/api/v2/outbound/campaigns/g-1");
        let mut other = c.clone();
        other.status = Some(Status::Other("forced_off".to_owned()));
        other.dialing_mode = Some(DialingMode::Other("power".to_owned()));
        let v: serde_json::Value =
            serde_json::from_str(genesys_from_campaign(&other).unwrap().json.get()).unwrap();
        assert_eq!(
            (v["campaignStatus"].as_str(), v["dialingMode"].as_str()),
            (Some("forced_off"), Some("power"))
        );
        let sms = Campaign::new(CampaignId::new("g", "s"), "genesys", "S", Channel::Sms);
        assert!(genesys_from_campaign(&sms).is_none());
    }
}

//! Deterministic, seeded campaigns that look like the providers' real data.

use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data::CmsRecord;
use crate::kore_store::{KoreRecord, KoreType};
use crate::wire::{iso_millis, CmsWire, KoreListWire, KoreMessageWire, KoreScheduleWire, KoreWire};

/// What [`SandboxBuilder::generated`](crate::SandboxBuilder::generated) adds
/// on top of (or instead of) the sample data.
///
/// The same value always produces the same campaigns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneratedData {
    /// Seeds every random choice.
    pub seed: u64,
    /// CMS contact centers to fill (each one exists afterwards, even when
    /// `cms_per_contact_center` is 0).
    pub cms_contact_centers: Vec<i64>,
    /// CMS campaigns per contact center.
    pub cms_per_contact_center: usize,
    /// Kore voice campaigns.
    pub kore_voice: usize,
    /// Kore SMS campaigns.
    pub kore_sms: usize,
}

/// 2026-03-24T12:28:52.354Z, the CMS sample's date: generated CMS dates fall
/// in the year before it.
const CMS_ANCHOR_MS: i64 = 1_774_355_332_354;
/// 2025-12-08T09:17:21.090Z, the newest Kore sample's date.
const KORE_ANCHOR_MS: i64 = 1_765_185_441_090;
pub(crate) const DAY_MS: i64 = 86_400_000;
/// Campaigns per tie group in generated Kore data.
const TIE_GROUP: usize = 3;

/// What generated campaigns are about, for every provider's names.
pub(crate) const TOPICS: [&str; 12] = [
    "Billing Reminder",
    "Service Renewal",
    "Payment Due",
    "Welcome Onboarding",
    "Customer Feedback",
    "Appointment Confirmation",
    "Loan Offer",
    "Card Activation",
    "Order Delivery",
    "Policy Renewal",
    "Win-Back",
    "Survey Follow-up",
];
const CITIES: [&str; 8] = [
    "Mumbai",
    "Delhi",
    "Pune",
    "Chennai",
    "Bengaluru",
    "Hyderabad",
    "Kolkata",
    "Jaipur",
];
const DEPARTMENTS: [&str; 6] = [
    "Sales",
    "Support",
    "Collections",
    "Retention",
    "Billing",
    "Onboarding",
];
const CONNECTIONS: [&str; 3] = ["Default Queue", "Priority Queue", "Overflow Queue"];
const CONTACT_LISTS: [&str; 4] = [
    "CL Only 2020 Dec 4",
    "Renewals Q1",
    "High Value Customers",
    "Lapsed Accounts",
];
const DNC_LISTS: [&str; 3] = ["DNC CL Dec 4", "testdnc", "Global DNC"];
const MESSAGES: [&str; 3] = [
    "Your bill is due soon. Pay now to avoid late fees.",
    "Thanks for joining us! Reply HELP for support.",
    "Your appointment is confirmed for tomorrow.",
];

/// (weight, value) tables: the documented values dominate.
const KORE_STATUSES: [(u32, &str); 8] = [
    (30, "Ready"),
    (20, "Active"),
    (15, "Completed"),
    (10, "Paused"),
    (10, "Stopped"),
    (7, "Scheduled"),
    (4, "Preparing"),
    (4, "Rescheduled"),
];
const DIALING_MODES: [(u32, &str); 4] = [
    (45, "Progressive"),
    (35, "Preview"),
    (10, "Agentless"),
    (10, "Predictive"),
];
const CMS_TYPES: [(u32, &str); 5] = [
    (50, "Interaction Campaign"),
    (20, "Outbound Voice Campaign"),
    (10, "Chat Campaign"),
    (10, "Parallel Predictive Voice Campaign"),
    (10, "Voice Blast Campaign"),
];

fn weighted<'a>(rng: &mut StdRng, table: &[(u32, &'a str)]) -> &'a str {
    let total: u32 = table.iter().map(|(w, _)| w).sum();
    let mut roll = rng.gen_range(0..total);
    for (weight, value) in table {
        if roll < *weight {
            return value;
        }
        roll -= weight;
    }
    table[0].1
}

fn pick<'a>(rng: &mut StdRng, values: &[&'a str]) -> &'a str {
    values[rng.gen_range(0..values.len())]
}

/// A Kore-style id: `cd-` and hex groups.
fn kore_id(rng: &mut StdRng, prefix: &str) -> String {
    let a: u32 = rng.gen();
    let b: u64 = rng.gen();
    format!(
        "{prefix}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a,
        (b >> 48) & 0xffff,
        (b >> 32) & 0xffff,
        (b >> 16) & 0xffff,
        rng.gen::<u64>() & 0xffff_ffff_ffff
    )
}

/// Generated CMS campaigns; ids start at 1001 so they never collide with the sample.
pub(crate) fn cms_campaigns(spec: &GeneratedData) -> Vec<CmsRecord> {
    let mut rng = StdRng::seed_from_u64(spec.seed ^ 0xC115_0000);
    let mut records =
        Vec::with_capacity(spec.cms_contact_centers.len() * spec.cms_per_contact_center);
    let mut next_id: i64 = 1001;
    for &center in &spec.cms_contact_centers {
        for _ in 0..spec.cms_per_contact_center {
            let added = CMS_ANCHOR_MS - rng.gen_range(0..365 * DAY_MS);
            let modified = (added + rng.gen_range(0..60 * DAY_MS)).min(CMS_ANCHOR_MS);
            let department = pick(&mut rng, &DEPARTMENTS);
            records.push(CmsRecord::from_wire(&CmsWire {
                campaign_context_id: next_id,
                campaign_context_name: format!(
                    "{} {department} Dept {next_id}",
                    pick(&mut rng, &CITIES)
                ),
                campaign_context_type: weighted(&mut rng, &CMS_TYPES).to_owned(),
                contact_center_id: center,
                process_id: rng.gen_range(1..=5),
                description: Some(format!("Campaign related to {department} Management")),
                date_added: Some(iso_millis(added)),
                date_modified: Some(iso_millis(modified)),
                reference: Some(rng.gen_range(0..3)),
                version: Some(rng.gen_range(0..5)),
            }));
            next_id += 1;
        }
    }
    records
}

/// One CMS campaign newer than everything, for the page-drift fault.
pub(crate) fn cms_drift_campaign(contact_center_id: i64, id: i64, now_ms: i64) -> CmsRecord {
    CmsRecord::from_wire(&CmsWire {
        campaign_context_id: id,
        campaign_context_name: format!("Drift Campaign {id}"),
        campaign_context_type: "Interaction Campaign".to_owned(),
        contact_center_id,
        process_id: 1,
        description: Some("Inserted by the page-drift fault".to_owned()),
        date_added: Some(iso_millis(now_ms)),
        date_modified: Some(iso_millis(now_ms)),
        reference: Some(0),
        version: Some(0),
    })
}

/// Generated Kore campaigns of one type. With `tie_every` above 0, each
/// `tie_every`-th campaign (at least every third) leads a tie group: the two
/// campaigns after it take its name, `createdAt` and `updatedAt`, so sorts
/// meet ties. Only those fields change, so the rest of the data and the
/// count stay as without ties.
pub(crate) fn kore_campaigns(
    spec: &GeneratedData,
    kind: KoreType,
    tie_every: usize,
) -> Vec<KoreRecord> {
    let (salt, count) = match kind {
        KoreType::Voice => (0x0A11_CE00, spec.kore_voice),
        KoreType::Sms => (0x05E5_0000, spec.kore_sms),
    };
    let every = if tie_every == 0 {
        0
    } else {
        tie_every.max(TIE_GROUP)
    };
    let mut rng = StdRng::seed_from_u64(spec.seed ^ salt);
    let mut leader: Option<KoreWire> = None;
    (0..count)
        .map(|n| {
            let mut wire = kore_wire(&mut rng, kind, n);
            if every > 0 {
                match (n % every, &leader) {
                    (0, _) => leader = Some(wire.clone()),
                    (k, Some(lead)) if k < TIE_GROUP => {
                        wire.name.clone_from(&lead.name);
                        wire.created_at.clone_from(&lead.created_at);
                        wire.updated_at.clone_from(&lead.updated_at);
                        wire.campaign_instance_updated_at
                            .clone_from(&lead.campaign_instance_updated_at);
                    }
                    _ => {}
                }
            }
            KoreRecord::from_wire(&wire)
        })
        .collect()
}

fn kore_wire(rng: &mut StdRng, kind: KoreType, n: usize) -> KoreWire {
    let topic = pick(rng, &TOPICS);
    let status = weighted(rng, &KORE_STATUSES);
    let created = KORE_ANCHOR_MS - rng.gen_range(0..365 * DAY_MS);
    let updated = (created + rng.gen_range(0..30 * DAY_MS)).min(KORE_ANCHOR_MS);
    let recurrence = rng.gen_bool(0.6).then(|| rng.gen_bool(0.2));
    let contact_lists = (0..rng.gen_range(1..=2))
        .map(|_| pick(rng, &CONTACT_LISTS).to_owned())
        .collect();
    let mut wire = KoreWire {
        status: Some(status.to_owned()),
        priority: Some(rng.gen_range(1..=5u8).to_string()),
        created_at: Some(iso_millis(created)),
        updated_at: Some(iso_millis(updated)),
        campaign_instance_updated_at: Some(iso_millis(updated)),
        schedule: Some(KoreScheduleWire {
            is_scheduling_enabled: Some(rng.gen_bool(0.2)),
            is_recurrence_enabled: recurrence,
        }),
        contact_lists: Some(contact_lists),
        ..KoreWire::default()
    };
    match kind {
        KoreType::Voice => {
            wire.voice_id = Some(kore_id(rng, "cd"));
            wire.name = format!("{topic} Voice Campaign{n}");
            wire.description = Some(format!(
                "Dialing campaign for {} customers.",
                topic.to_lowercase()
            ));
            wire.dnc_lists = rng.gen_bool(0.75).then(|| KoreListWire {
                id: Some(kore_id(rng, "cl")),
                name: pick(rng, &DNC_LISTS).to_owned(),
            });
            wire.dialing_mode = Some(weighted(rng, &DIALING_MODES).to_owned());
            wire.is_filters_enabled = Some(rng.gen_bool(0.2));
            wire.connection = Some(pick(rng, &CONNECTIONS).to_owned());
        }
        KoreType::Sms => {
            let advanced = rng.gen_bool(0.3);
            wire.sms_id = Some(kore_id(rng, "cd"));
            wire.name = format!("{topic} SMS Campaign{n}");
            wire.description = Some(format!(
                "Text campaign for {} customers.",
                topic.to_lowercase()
            ));
            wire.dnc_lists = rng.gen_bool(0.7).then(|| KoreListWire {
                id: None,
                name: pick(rng, &DNC_LISTS).to_owned(),
            });
            if advanced {
                wire.experience_flow = Some(kore_id(rng, "cf"));
            } else {
                let templated = rng.gen_bool(0.3);
                wire.message = Some(KoreMessageWire {
                    template_name: templated.then(|| "Welcome".to_owned()),
                    message: base64::engine::general_purpose::STANDARD.encode(pick(rng, &MESSAGES)),
                    template_id: templated.then(|| kore_id(rng, "cmt")),
                });
            }
            wire.campaign_instance_id = rng.gen_bool(0.2).then(|| kore_id(rng, "cid"));
            wire.total_messages_sent = Some(if matches!(status, "Active" | "Completed") {
                rng.gen_range(1..5000)
            } else {
                0
            });
            wire.campaign_execution_type = Some("NORMAL".to_owned());
            wire.format = Some(if advanced { "advanced" } else { "simple" }.to_owned());
        }
    }
    wire
}

/// One Kore campaign newer than everything, for the page-drift fault.
pub(crate) fn kore_drift_campaign(kind: KoreType, serial: u64, created_ms: i64) -> KoreRecord {
    let id = format!("cd-drift-{serial:08}");
    let at = iso_millis(created_ms);
    let voice = kind == KoreType::Voice;
    KoreRecord::from_wire(&KoreWire {
        voice_id: voice.then(|| id.clone()),
        sms_id: (!voice).then_some(id),
        name: format!("Drift Campaign {serial}"),
        status: Some("Ready".to_owned()),
        priority: Some("5".to_owned()),
        dialing_mode: voice.then(|| "Progressive".to_owned()),
        created_at: Some(at.clone()),
        updated_at: Some(at.clone()),
        campaign_instance_updated_at: Some(at),
        schedule: Some(KoreScheduleWire {
            is_scheduling_enabled: Some(false),
            is_recurrence_enabled: Some(false),
        }),
        ..KoreWire::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> GeneratedData {
        GeneratedData {
            seed,
            cms_contact_centers: vec![1, 2],
            cms_per_contact_center: 3,
            kore_voice: 50,
            kore_sms: 40,
        }
    }

    #[test]
    fn same_seed_same_data_and_different_seed_differs() {
        let a = kore_campaigns(&spec(7), KoreType::Voice, 0);
        let b = kore_campaigns(&spec(7), KoreType::Voice, 0);
        let c = kore_campaigns(&spec(8), KoreType::Voice, 0);
        assert_eq!(a.len(), 50);
        assert!(a.iter().zip(&b).all(|(x, y)| x.json.get() == y.json.get()));
        assert!(a.iter().zip(&c).any(|(x, y)| x.json.get() != y.json.get()));
        let cms = cms_campaigns(&spec(7));
        assert_eq!(cms.len(), 6);
        assert_eq!(cms.iter().filter(|r| r.contact_center_id == 2).count(), 3);
    }

    #[test]
    fn records_have_documented_shapes() {
        for record in kore_campaigns(&spec(1), KoreType::Voice, 10) {
            let v: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
            assert!(v["_id"].is_string() && v.get("id").is_none());
            assert!(v["priority"].is_string() && v["dialingMode"].is_string());
            assert!(record.priority.is_some_and(|p| (1..=5).contains(&p)));
            assert!(record.created_ms <= record.updated_ms);
        }
        for record in kore_campaigns(&spec(1), KoreType::Sms, 10) {
            let v: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
            assert!(v["id"].is_string() && v.get("_id").is_none());
            assert!(v.get("dialingMode").is_none());
            assert!(v.get("message").is_some() != v.get("experienceFlow").is_some());
        }
        for record in cms_campaigns(&spec(1)) {
            let v: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
            assert!(v["campaignContextId"].as_i64().is_some_and(|id| id > 1000));
            assert!(v["dateAdded"].as_str().is_some_and(|d| d.ends_with('Z')));
        }
    }

    #[test]
    fn tie_groups_share_name_and_dates_and_keep_the_rest() {
        let plain = kore_campaigns(&spec(3), KoreType::Sms, 0);
        let tied = kore_campaigns(&spec(3), KoreType::Sms, 10);
        assert_eq!((plain.len(), tied.len()), (40, 40));
        let key = |r: &KoreRecord| (r.name.clone(), r.created_ms, r.updated_ms);
        let mut groups = std::collections::HashMap::new();
        for record in &tied {
            *groups.entry(key(record)).or_insert(0) += 1;
        }
        let mut sizes: Vec<usize> = groups.into_values().filter(|&n| n > 1).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [3, 3, 3, 3], "groups at 0, 10, 20 and 30");
        for (n, (p, t)) in plain.iter().zip(&tied).enumerate() {
            assert_eq!(p.id, t.id);
            let tied_follower = n % 10 == 1 || n % 10 == 2;
            assert_eq!(key(p) == key(t), !tied_follower, "{n}");
            if tied_follower {
                assert_eq!(key(t), key(&tied[n - n % 10]));
            }
        }
        assert!(plain.iter().zip(&tied).all(|(p, t)| p.status == t.status));
        // Every second campaign: still groups of three, never overlapping.
        let dense = kore_campaigns(&spec(3), KoreType::Voice, 2);
        assert_eq!(dense[0].created_ms, dense[2].created_ms);
        assert_ne!(dense[2].created_ms, dense[3].created_ms);
    }
}

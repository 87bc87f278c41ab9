//! Seeded, realistic Genesys campaigns, and the page-drift insert.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::data::uuid_from;
use super::store::{GenesysRecord, RefFields};
use super::wire::{
    paths, ContactSort, Diagnostics, DynamicContactQueueing, DynamicLineBalancing, EntityRef,
    GenesysWire, PhoneColumn, RestErrorDetail, UserParam,
};
use crate::generate::{DAY_MS, TOPICS};
use crate::wire::iso_millis;

/// 2026-02-11T09:12:44.381Z, the newest date of the spec's sample:
/// generated dates fall in the year before it.
const ANCHOR_MS: i64 = 1_770_801_164_381;
/// Campaigns per tie group.
const TIE_GROUP: usize = 3;

/// (weight, value): every documented value appears, the common ones most (§4.3).
const DIALING_MODES: [(u32, &str); 6] = [
    (25, "preview"),
    (20, "progressive"),
    (20, "predictive"),
    (15, "power"),
    (15, "agentless"),
    (5, "external"),
];
const STATUSES: [(u32, &str); 7] = [
    (35, "off"),
    (30, "on"),
    (12, "complete"),
    (8, "invalid"),
    (5, "stopping"),
    (6, "forced_off"),
    (4, "forced_stopping"),
];
/// Divisions; the first three are the samples' (same ids), so filters by
/// division id work on either data set.
const DIVISIONS: [(&str, &str); 4] = [
    ("e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9", "Home"),
    ("0f1e2d3c-4b5a-4968-8776-655443322110", "Retention"),
    ("3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a", "Sales"),
    ("4e5f6a7b-8c9d-4e0f-8a1b-2c3d4e5f6a7c", "Collections"),
];
const CONTACT_LISTS: [&str; 10] = [
    "Collections Q1",
    "Renewals 2026",
    "At-risk customers",
    "Lapsed Accounts",
    "New Customers",
    "Survey Q1",
    "High Value Customers",
    "Card Activation List",
    "Past Due 30",
    "Past Due 60",
];
const DNC_LISTS: [&str; 4] = ["Internal DNC", "Federal DNC", "State DNC", "Litigator List"];
const QUEUES: [&str; 5] = [
    "Outbound Sales",
    "Customer Surveys",
    "Onboarding",
    "Collections Agents",
    "Retention Desk",
];
const SCRIPTS: [&str; 4] = [
    "Renewal Offer Script",
    "Survey Script",
    "Collections Script",
    "Default Outbound Script",
];
const EDGE_GROUPS: [&str; 2] = ["Primary Edge Group", "Secondary Edge Group"];
const SITES: [&str; 3] = ["Indianapolis", "Frankfurt", "Sydney"];
const RESPONSE_SETS: [&str; 2] = ["Transfer live voice to queue", "Leave voicemail"];
const AGENTLESS_RESPONSE_SET: &str = "Agentless - Play message";
const TIME_SETS: [&str; 2] = ["Weekdays 9-8 local", "Weekends 10-6 local"];
const RULE_SETS: [&str; 2] = ["Stop after 3 no-answers", "Skip wrong numbers"];
const PHONE_COLUMNS: [(&str, &str); 3] = [
    ("MobilePhone", "cell"),
    ("HomePhone", "home"),
    ("Phone1", "work"),
];
const SORT_FIELDS: [(&str, bool); 4] = [
    ("DueDate", false),
    ("Score", true),
    ("LastName", false),
    ("Balance", true),
];
const LANGUAGES: [&str; 4] = ["en-US", "en-GB", "es-US", "fr-CA"];
const DEPARTMENTS: [&str; 5] = ["Billing", "Renewals", "Care", "Sales", "Collections"];

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

fn pick<T: Copy>(rng: &mut StdRng, values: &[T]) -> T {
    values[rng.gen_range(0..values.len())]
}

fn uuid(rng: &mut StdRng) -> String {
    uuid_from(rng.gen(), rng.gen())
}

/// The reference pools of one generated data set: the same name always has
/// the same id, as in a real org.
struct Pools {
    contact_lists: Vec<EntityRef>,
    dnc_lists: Vec<EntityRef>,
    queues: Vec<EntityRef>,
    scripts: Vec<EntityRef>,
    edge_groups: Vec<EntityRef>,
    sites: Vec<EntityRef>,
    response_sets: Vec<EntityRef>,
    agentless_response_set: EntityRef,
    time_sets: Vec<EntityRef>,
    rule_sets: Vec<EntityRef>,
    divisions: Vec<EntityRef>,
}

impl Pools {
    fn new(rng: &mut StdRng) -> Self {
        let mut refs = |path: &str, names: &[&str]| -> Vec<EntityRef> {
            names
                .iter()
                .map(|name| EntityRef::new(path, &uuid(rng), name))
                .collect()
        };
        let response_sets = refs(paths::RESPONSE_SETS, &RESPONSE_SETS);
        Self {
            contact_lists: refs(paths::CONTACT_LISTS, &CONTACT_LISTS),
            dnc_lists: refs(paths::DNC_LISTS, &DNC_LISTS),
            queues: refs(paths::QUEUES, &QUEUES),
            scripts: refs(paths::SCRIPTS, &SCRIPTS),
            edge_groups: refs(paths::EDGE_GROUPS, &EDGE_GROUPS),
            sites: refs(paths::SITES, &SITES),
            agentless_response_set: refs(paths::RESPONSE_SETS, &[AGENTLESS_RESPONSE_SET]).remove(0),
            response_sets,
            time_sets: refs(paths::CALLABLE_TIME_SETS, &TIME_SETS),
            rule_sets: refs(paths::RULE_SETS, &RULE_SETS),
            divisions: DIVISIONS
                .iter()
                .map(|(id, name)| EntityRef::new(paths::DIVISIONS, id, name))
                .collect(),
        }
    }
}

fn pick_ref(rng: &mut StdRng, pool: &[EntityRef]) -> EntityRef {
    pool[rng.gen_range(0..pool.len())].clone()
}

/// Title case of a dialing mode, for names.
fn title(mode: &str) -> String {
    let mut chars = mode.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn campaign(rng: &mut StdRng, pools: &Pools, n: usize) -> GenesysWire {
    let mode = weighted(rng, &DIALING_MODES);
    let status = weighted(rng, &STATUSES);
    let (agentless, preview) = (mode == "agentless", mode == "preview");
    let paced = matches!(mode, "power" | "predictive" | "progressive");
    let created = ANCHOR_MS - rng.gen_range(0..365 * DAY_MS);
    let modified = (created + rng.gen_range(0..60 * DAY_MS)).min(ANCHOR_MS);
    let id = uuid(rng);
    let contact_list = pick_ref(rng, &pools.contact_lists);
    let columns = rng.gen_range(1..=PHONE_COLUMNS.len());
    let mut dnc_lists: Vec<EntityRef> = Vec::new();
    for _ in 0..rng.gen_range(0..=2) {
        let list = pick_ref(rng, &pools.dnc_lists);
        if !dnc_lists.contains(&list) {
            dnc_lists.push(list);
        }
    }
    let contact_sorts: Vec<ContactSort> = (0..rng.gen_range(0..=2))
        .map(|_| {
            let (field, numeric) = pick(rng, &SORT_FIELDS);
            ContactSort {
                field_name: field.to_owned(),
                direction: if rng.gen_bool(0.5) { "ASC" } else { "DESC" }.to_owned(),
                numeric,
            }
        })
        .collect();
    let errors = if status == "invalid" {
        vec![RestErrorDetail {
            // Invented, like the spec's: no real codes are known (§8.11).
            error: "contact.list.empty".to_owned(),
            details: Some("The contact list has no contacts.".to_owned()),
            user_params: vec![UserParam {
                key: "contactListId".to_owned(),
                value: contact_list.id.clone().unwrap_or_default(),
            }],
        }]
    } else {
        Vec::new()
    };
    let max_calls = (mode == "predictive" && rng.gen_bool(0.5)).then(|| rng.gen_range(2..=6));
    GenesysWire {
        self_uri: format!("{}/{id}", paths::CAMPAIGNS),
        id,
        name: format!("{} - {} {n}", pick(rng, &TOPICS), title(mode)),
        date_created: Some(iso_millis(created)),
        date_modified: Some(iso_millis(modified)),
        version: rng.gen_range(1..=40),
        queue: (!agentless).then(|| pick_ref(rng, &pools.queues)),
        dialing_mode: Some(mode.to_owned()),
        script: (!agentless).then(|| pick_ref(rng, &pools.scripts)),
        edge_group: (!preview && rng.gen_bool(0.8)).then(|| pick_ref(rng, &pools.edge_groups)),
        site: (!preview && rng.gen_bool(0.2)).then(|| pick_ref(rng, &pools.sites)),
        campaign_status: Some(status.to_owned()),
        phone_columns: PHONE_COLUMNS[..columns]
            .iter()
            .map(|(name, kind)| PhoneColumn {
                column_name: (*name).to_owned(),
                kind: (*kind).to_owned(),
            })
            .collect(),
        abandon_rate: paced.then(|| pick(rng, &[2.5, 3.0, 4.0, 5.0])),
        dnc_lists,
        callable_time_set: rng.gen_bool(0.6).then(|| pick_ref(rng, &pools.time_sets)),
        call_analysis_response_set: if agentless {
            Some(pools.agentless_response_set.clone())
        } else {
            (!preview).then(|| pick_ref(rng, &pools.response_sets))
        },
        errors,
        caller_name: format!("Acme {}", pick(rng, &DEPARTMENTS)),
        caller_address: format!("+1317555{:04}", rng.gen_range(0..10_000)),
        outbound_line_count: (!preview).then(|| rng.gen_range(5..=50)),
        rule_sets: if rng.gen_bool(0.3) {
            vec![pick_ref(rng, &pools.rule_sets)]
        } else {
            Vec::new()
        },
        skip_preview_disabled: preview && rng.gen_bool(0.3),
        preview_time_out_seconds: if preview {
            pick(rng, &[0, 30, 60, 120])
        } else {
            0
        },
        always_running: rng.gen_bool(0.2),
        contact_sort: (rng.gen_bool(0.1))
            .then(|| contact_sorts.first().cloned())
            .flatten(),
        contact_sorts,
        no_answer_timeout: pick(rng, &[30, 30, 30, 25, 35, 40]),
        call_analysis_language: (!preview).then(|| pick(rng, &LANGUAGES).to_owned()),
        priority: pick(rng, &[5, 5, 4, 3, 2, 1]),
        contact_list_filters: if rng.gen_bool(0.2) {
            vec![EntityRef::unnamed(paths::CONTACT_LIST_FILTERS, &uuid(rng))]
        } else {
            Vec::new()
        },
        contact_list: Some(contact_list),
        division: Some(pick_ref(rng, &pools.divisions)),
        agent_owned_column: (preview && rng.gen_bool(0.3)).then(|| "OwnerAgentId".to_owned()),
        dynamic_contact_queueing_settings: rng.gen_bool(0.2).then(|| DynamicContactQueueing {
            sort: rng.gen_bool(0.5),
            filter: rng.gen_bool(0.5),
        }),
        skill_columns: rng.gen_bool(0.15).then(|| vec!["Language".to_owned()]),
        preview_auto_end: preview.then(|| rng.gen_bool(0.3)),
        max_calls_per_agent: max_calls,
        max_calls_per_agent_decimal: max_calls.map(f64::from),
        callback_auto_answer: Some(rng.gen_bool(0.2)),
        dynamic_line_balancing_settings: rng.gen_bool(0.25).then(|| DynamicLineBalancing {
            enabled: true,
            relative_weight: rng.gen_range(1..=100),
        }),
        diagnostics_settings: (mode == "predictive" && rng.gen_bool(0.4)).then(|| Diagnostics {
            report_low_max_calls_per_agent_alert: rng.gen_bool(0.5),
        }),
    }
}

/// `count` generated campaigns. With `tie_every` above 0, each
/// `tie_every`-th campaign (at least every third) leads a tie group: the two
/// campaigns after it take its name, `dateCreated` and `dateModified`, so
/// sorts meet ties; nothing else changes.
pub(crate) fn genesys_campaigns(seed: u64, count: usize, tie_every: usize) -> Vec<GenesysRecord> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6E_5E55_0000);
    let pools = Pools::new(&mut rng);
    let every = if tie_every == 0 {
        0
    } else {
        tie_every.max(TIE_GROUP)
    };
    let mut leader: Option<GenesysWire> = None;
    (0..count)
        .map(|n| {
            let mut wire = campaign(&mut rng, &pools, n);
            if every > 0 {
                match (n % every, &leader) {
                    (0, _) => leader = Some(wire.clone()),
                    (k, Some(lead)) if k < TIE_GROUP => {
                        wire.name.clone_from(&lead.name);
                        wire.date_created.clone_from(&lead.date_created);
                        wire.date_modified.clone_from(&lead.date_modified);
                    }
                    _ => {}
                }
            }
            GenesysRecord::from_wire(&wire)
        })
        .collect()
}

fn from_fields(path: &str, fields: &RefFields) -> Option<EntityRef> {
    let id = fields.id.as_deref()?;
    Some(match &fields.name {
        Some(name) => EntityRef::new(path, id, name),
        None => EntityRef::unnamed(path, id),
    })
}

/// One campaign for the page-drift fault: created now (newest of all), named
/// to sort before every other name (`0 Drift Campaign N`), and sharing
/// `template`'s contact list, DNC lists, queue, edge group, response set and
/// division, so it passes the same id filters and is visible.
pub(crate) fn drift_campaign(
    template: Option<&GenesysRecord>,
    serial: u64,
    at_ms: i64,
) -> GenesysRecord {
    let id = uuid_from(0xD81F_7000_0000_0000 | serial, serial);
    let refs = |path: &str, r: Option<&RefFields>| r.and_then(|f| from_fields(path, f));
    let at = iso_millis(at_ms);
    let wire = GenesysWire {
        self_uri: format!("{}/{id}", paths::CAMPAIGNS),
        id,
        name: format!("0 Drift Campaign {serial:05}"),
        date_created: Some(at.clone()),
        date_modified: Some(at),
        version: 1,
        contact_list: refs(
            paths::CONTACT_LISTS,
            template.and_then(|t| t.contact_list.as_ref()),
        ),
        queue: refs(paths::QUEUES, template.and_then(|t| t.queue.as_ref())),
        dialing_mode: Some("progressive".to_owned()),
        edge_group: refs(
            paths::EDGE_GROUPS,
            template.and_then(|t| t.edge_group.as_ref()),
        ),
        campaign_status: Some("on".to_owned()),
        phone_columns: vec![PhoneColumn {
            column_name: "MobilePhone".to_owned(),
            kind: "cell".to_owned(),
        }],
        abandon_rate: Some(5.0),
        dnc_lists: template
            .map(|t| {
                t.dnc_lists
                    .iter()
                    .filter_map(|f| from_fields(paths::DNC_LISTS, f))
                    .collect()
            })
            .unwrap_or_default(),
        call_analysis_response_set: refs(
            paths::RESPONSE_SETS,
            template.and_then(|t| t.response_set.as_ref()),
        ),
        caller_name: "Acme Drift".to_owned(),
        caller_address: "+13175550177".to_owned(),
        no_answer_timeout: 30,
        priority: 5,
        division: refs(paths::DIVISIONS, template.and_then(|t| t.division.as_ref())),
        ..GenesysWire::default()
    };
    GenesysRecord::from_wire(&wire)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn same_seed_same_data_and_documented_values() {
        let a = genesys_campaigns(7, 200, 10);
        let b = genesys_campaigns(7, 200, 10);
        let c = genesys_campaigns(8, 200, 10);
        assert_eq!(a.len(), 200);
        assert!(a.iter().zip(&b).all(|(x, y)| x.json.get() == y.json.get()));
        assert!(a.iter().zip(&c).any(|(x, y)| x.json.get() != y.json.get()));
        let mut modes = HashMap::new();
        for record in &a {
            let v: serde_json::Value = serde_json::from_str(record.json.get()).unwrap();
            let mode = v["dialingMode"].as_str().unwrap().to_owned();
            assert!(DIALING_MODES.iter().any(|(_, m)| *m == mode));
            let status = v["campaignStatus"].as_str().unwrap();
            assert!(STATUSES.iter().any(|(_, s)| *s == status));
            assert_eq!(
                v["errors"].as_array().unwrap().is_empty(),
                status != "invalid"
            );
            assert_eq!(v.get("queue").is_none(), mode == "agentless");
            assert_eq!(
                v.get("callAnalysisResponseSet").is_none(),
                mode == "preview"
            );
            assert!(v["dateCreated"].as_str().unwrap().ends_with('Z'));
            assert!(record.created_ms <= record.modified_ms);
            assert!((1..=5).contains(&v["priority"].as_i64().unwrap()));
            assert!(v["selfUri"].as_str().unwrap().ends_with(&*record.id));
            *modes.entry(mode).or_insert(0) += 1;
        }
        assert_eq!(modes.len(), DIALING_MODES.len(), "{modes:?}");
    }

    #[test]
    fn tie_groups_share_name_and_dates_only() {
        let plain = genesys_campaigns(3, 40, 0);
        let tied = genesys_campaigns(3, 40, 10);
        let key = |r: &GenesysRecord| (r.name.clone(), r.created_ms, r.modified_ms);
        for (n, (p, t)) in plain.iter().zip(&tied).enumerate() {
            assert_eq!(p.id, t.id);
            let follower = n % 10 == 1 || n % 10 == 2;
            assert_eq!(key(p) == key(t), !follower, "{n}");
            if follower {
                assert_eq!(key(t), key(&tied[n - n % 10]));
            }
        }
    }

    #[test]
    fn drift_copies_the_template_refs() {
        let template = &genesys_campaigns(1, 1, 0)[0];
        let drift = drift_campaign(Some(template), 3, ANCHOR_MS + 1);
        assert_eq!(drift.contact_list, template.contact_list);
        assert_eq!(drift.division, template.division);
        assert_eq!(drift.dnc_lists, template.dnc_lists);
        assert!(&*drift.name < "A");
        let lone = drift_campaign(None, 4, 0);
        assert!(lone.division.is_none() && lone.json.get().contains("\"dncLists\":[]"));
    }
}

//! Genesys data: generated campaigns and campaigns loaded from the
//! normalized model.

mod common;

use std::collections::HashSet;

use campaign_core::{Campaign, CampaignId, Channel, DialingMode, ListRef, Status};
use campaign_sandbox::{GeneratedData, Sandbox};
use common::{genesys, genesys_ids, genesys_names};
use serde_json::Value;

fn seeded(seed: u64) -> GeneratedData {
    GeneratedData {
        seed,
        ..GeneratedData::default()
    }
}

async fn generated(seed: u64, count: usize) -> Sandbox {
    Sandbox::builder()
        .generated(seeded(seed))
        .genesys_generated(count)
        .start()
        .await
        .unwrap()
}

/// Every entity of the listing under `query`, walking pages of 100.
async fn walk(sb: &Sandbox, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let (status, body) = genesys(sb, &format!("{query}&pageSize=100&pageNumber={page}")).await;
        assert_eq!(status, 200, "{body}");
        let entities = body["entities"].as_array().unwrap().clone();
        if entities.is_empty() {
            break;
        }
        all.extend(entities);
        if body.get("nextUri").is_none() {
            break;
        }
    }
    all
}

async fn first_ids(sb: &Sandbox) -> Vec<String> {
    genesys_ids(&genesys(sb, "pageSize=20").await.1)
}

#[tokio::test]
async fn generated_data_is_seeded_realistic_and_walks_whole() {
    let sb = generated(5, 250).await;
    let all = walk(&sb, "sortBy=name").await;
    assert_eq!(all.len(), 250);
    let ids: HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 250, "no campaign twice, none missed");
    let names: Vec<&str> = all.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted by name");
    let ties = names.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(ties >= 25, "tie groups: {ties}");
    let mut statuses = HashSet::new();
    let mut modes = HashSet::new();
    let mut divisions = HashSet::new();
    for entity in &all {
        statuses.insert(entity["campaignStatus"].as_str().unwrap().to_owned());
        modes.insert(entity["dialingMode"].as_str().unwrap().to_owned());
        divisions.insert(entity["division"]["id"].as_str().unwrap().to_owned());
        for key in ["dateCreated", "dateModified"] {
            let date = entity[key].as_str().unwrap();
            assert!(date.len() == 24 && date.ends_with('Z'), "{date}");
        }
        assert!(entity["contactList"]["selfUri"]
            .as_str()
            .unwrap()
            .starts_with("/api/v2/outbound/contactlists/"));
    }
    assert_eq!(statuses.len(), 7, "{statuses:?}");
    assert_eq!(modes.len(), 6, "{modes:?}");
    assert_eq!(divisions.len(), 4);
    // Filters hold on generated data too.
    let home = walk(&sb, "divisionId=e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9").await;
    assert!(!home.is_empty() && home.len() < 250);
    assert!(home.iter().all(|e| e["division"]["name"] == "Home"));
    // Same seed, same data; another seed, other data.
    let twin = generated(5, 250).await;
    let other = generated(6, 250).await;
    assert_eq!(first_ids(&sb).await, first_ids(&twin).await);
    assert_ne!(first_ids(&sb).await, first_ids(&other).await);
    for sb in [sb, twin, other] {
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn generated_data_has_no_genesys_campaigns_unless_asked() {
    let sb = Sandbox::builder()
        .generated(seeded(1))
        .start()
        .await
        .unwrap();
    let (status, body) = genesys(&sb, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["total"].as_u64(), body["pageCount"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(body["entities"], Value::Array(Vec::new()));
    sb.shutdown().await;
}

#[tokio::test]
async fn loaded_campaigns_become_voice_records() {
    let sb = Sandbox::start_default().await.unwrap();
    let mut a = Campaign::new(
        CampaignId::new("g", "id-a"),
        "genesys",
        "Alpha",
        Channel::Voice,
    );
    a.status = Some(Status::Active);
    a.dialing_mode = Some(DialingMode::Predictive);
    a.created_at = Some("2026-03-01T10:00:00Z".parse().unwrap());
    a.updated_at = Some("2026-03-02T11:30:15.250Z".parse().unwrap());
    a.version = Some(4);
    a.priority = Some(3);
    a.contact_lists = vec![ListRef {
        name: "List".to_owned(),
        id: Some("cl-1".to_owned()),
    }];
    a.dnc_lists = vec![ListRef {
        name: "DNC".to_owned(),
        id: Some("dnc-1".to_owned()),
    }];
    let b = Campaign::new(
        CampaignId::new("g", "id-b"),
        "genesys",
        "Beta",
        Channel::Voice,
    );
    let sms = Campaign::new(
        CampaignId::new("g", "id-s"),
        "genesys",
        "Text",
        Channel::Sms,
    );
    let loaded = sb.genesys().load_campaigns(&[b.clone(), sms, a.clone()]);
    assert_eq!(loaded, [b, a]);
    let (_, body) = genesys(&sb, "").await;
    assert_eq!(genesys_names(&body), ["Alpha", "Beta"]);
    let alpha = &body["entities"][0];
    assert_eq!(alpha["id"], "id-a");
    assert_eq!(alpha["campaignStatus"], "on");
    assert_eq!(alpha["dialingMode"], "predictive");
    assert_eq!(alpha["dateCreated"], "2026-03-01T10:00:00.000Z");
    assert_eq!(alpha["dateModified"], "2026-03-02T11:30:15.250Z");
    assert_eq!(
        (alpha["version"].as_i64(), alpha["priority"].as_i64()),
        (Some(4), Some(3))
    );
    assert_eq!(alpha["division"]["name"], "Home");
    assert_eq!(alpha["selfUri"], "/api/v2/outbound/campaigns/id-a");
    assert_eq!(
        genesys_names(&genesys(&sb, "contactListId=cl-1").await.1),
        ["Alpha"]
    );
    assert_eq!(
        genesys_names(&genesys(&sb, "dncListIds=dnc-1").await.1),
        ["Alpha"]
    );
    let beta = &body["entities"][1];
    assert!(beta.get("campaignStatus").is_none() && beta.get("contactList").is_none());
    assert_eq!(beta["version"], 1);
    sb.shutdown().await;
}

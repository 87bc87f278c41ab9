//! Every fault, observed over real HTTP.

mod common;

use std::time::Duration;

use base64::Engine as _;
use campaign_core::{Campaign, CampaignId, Channel, Scope};
use campaign_sandbox::{Fault, RetryAfter, Sandbox, Server, KORE_RATE_LIMIT_MESSAGE};
use common::{client, cms, cms_request, ids, kore, kore_request};
use serde_json::{json, Value};

fn voice(skip: u64, limit: u64) -> Value {
    json!({"type": "voice", "skip": skip, "limit": limit})
}

#[tokio::test]
async fn status_rate_limit_and_html_faults_queue_in_order() {
    let sb = Sandbox::start_default().await.unwrap();
    sb.kore().inject(Fault::Status(503), Some(1));
    sb.kore()
        .inject(Fault::RateLimited(RetryAfter::Seconds(7)), Some(1));
    sb.kore().inject(
        Fault::RateLimited(RetryAfter::HttpDate(Duration::from_secs(30))),
        Some(1),
    );
    sb.kore()
        .inject(Fault::RateLimited(RetryAfter::None), Some(1));
    sb.kore().inject(Fault::HtmlError, Some(1));
    let send = || kore_request(&sb, &voice(0, 5)).send();
    let r = send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "error");
    let r = send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "7")
    );
    let r = send().await.unwrap();
    assert!(httpdate::parse_http_date(r.headers()["retry-after"].to_str().unwrap()).is_ok());
    let r = send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(!r.headers().contains_key("retry-after"));
    let r = send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(send().await.unwrap().status(), 200);
    // Faults stay on their server; `None` lasts until cleared.
    sb.cms().inject(Fault::Status(500), None);
    assert_eq!(send().await.unwrap().status(), 200);
    for _ in 0..2 {
        let r = cms_request(&sb, "?contactCenterId=1").send().await.unwrap();
        assert_eq!(r.status(), 500);
        assert_eq!(r.json::<Value>().await.unwrap()["statusCode"], 500);
    }
    sb.cms().clear_faults();
    assert_eq!(
        cms_request(&sb, "?contactCenterId=1")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn body_faults_truncate_retype_drip_drop_and_oversize() {
    let sb = Sandbox::start_default().await.unwrap();
    let send = || kore_request(&sb, &voice(0, 5)).send();
    sb.kore().inject(Fault::TruncatedJson, Some(1));
    let text = send().await.unwrap().text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    sb.kore().inject(Fault::WrongFieldType, Some(1));
    let body: Value = send().await.unwrap().json().await.unwrap();
    assert!(body["data"]["results"][0]["priority"].is_object());
    sb.kore()
        .inject(Fault::SlowDrip(Duration::from_millis(1)), Some(1));
    let r = send().await.unwrap();
    assert!(r.headers().get("content-length").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["totalResults"], 5);
    sb.kore().inject(Fault::DropConnection, Some(1));
    let dropped = match send().await {
        Ok(r) => r.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(dropped);
    sb.kore().inject(Fault::Oversized(300_000), Some(1));
    let text = send().await.unwrap().text().await.unwrap();
    assert!(text.len() >= 250_000);
    assert!(serde_json::from_str::<Value>(&text).is_ok());

    sb.cms().inject(Fault::WrongFieldType, Some(1));
    let body = cms(&sb, 1).await;
    assert_eq!(body[0]["campaignContextId"], "x");
    sb.cms().inject(Fault::Oversized(100_000), Some(1));
    let text = cms_request(&sb, "?contactCenterId=1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Vec<Value>>(&text).unwrap().len() > 100);
    sb.shutdown().await;
}

#[tokio::test]
async fn redirect_points_at_the_other_host_which_logs_what_it_gets() {
    let sb = Sandbox::start_default().await.unwrap();
    sb.cms().inject(Fault::RedirectOtherHost, Some(1));
    let r = cms_request(&sb, "?contactCenterId=1").send().await.unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let other = sb.other_host_url();
    assert!(location.starts_with(other.as_str()));
    assert!(location.ends_with("/configuration/hierarchyconfig/campaign?contactCenterId=1"));
    // A client that followed it with its credentials would show up here.
    client()
        .get(&location)
        .bearer_auth("leaked")
        .send()
        .await
        .unwrap();
    let seen = sb.other_host_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].server, Server::OtherHost);
    assert!(seen[0].had_credentials);
    assert_eq!(seen[0].header("authorization"), Some("***"));
    sb.shutdown().await;
}

#[tokio::test]
async fn paging_faults_drift_miscount_and_ignore_skip() {
    let sb = Sandbox::start_default().await.unwrap();
    let (_, first) = kore(&sb, voice(0, 2)).await;
    let (_, second) = kore(&sb, voice(2, 2)).await;
    let honest: Vec<String> = ids(&first).into_iter().chain(ids(&second)).collect();

    sb.kore().inject(Fault::PageDrift, Some(1));
    let (_, first) = kore(&sb, voice(0, 2)).await;
    let (_, second) = kore(&sb, voice(2, 2)).await;
    assert_eq!(ids(&first), honest[..2]);
    assert_eq!(
        ids(&second)[0],
        honest[1],
        "the insert shifted the next page"
    );
    assert_eq!(second["data"]["totalResults"], 6);

    sb.kore().inject(Fault::WrongTotalResults, Some(1));
    let (_, body) = kore(&sb, voice(0, 50)).await;
    assert_eq!(body["data"]["totalResults"], 16);
    assert_eq!(body["data"]["results"].as_array().unwrap().len(), 6);

    sb.kore().inject(Fault::IgnoreSkip, Some(1));
    let (_, skipped) = kore(&sb, voice(2, 2)).await;
    let (_, start) = kore(&sb, voice(0, 2)).await;
    assert_eq!(ids(&skipped), ids(&start));
    assert_eq!(skipped["data"]["skip"], 2);
    sb.shutdown().await;
}

/// CMS drift adds a campaign after the response is built, so the next
/// response of that contact center (and only that one) has it.
#[tokio::test]
async fn cms_drift_adds_a_campaign_to_the_next_response() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let sb = &sandbox;
    let campaigns = [(1, "10"), (2, "20")].map(|(center, id)| {
        let mut c = Campaign::new(CampaignId::new("cms", id), "cms", id, Channel::Chat);
        c.scope = Scope::ContactCenter {
            contact_center_id: center,
            process_id: None,
        };
        c
    });
    assert_eq!(sb.cms().load_campaigns(&campaigns).len(), 2);
    let (first, second) = (1, 2);
    let list = |center: i64| async move {
        cms(sb, center)
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["campaignContextId"].to_string())
            .collect::<Vec<_>>()
    };
    let (before, other) = (list(first).await, list(second).await);
    sb.cms().inject(Fault::PageDrift, Some(1));
    assert_eq!(list(first).await, before, "drift lands after this response");
    let after = list(first).await;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[..before.len()], before[..]);
    let added = &after[before.len()];
    assert!(
        !before.contains(added) && !other.contains(added),
        "a new id"
    );
    assert_eq!(list(second).await, other);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn request_log_masks_credentials_and_latency_is_settable() {
    let sb = Sandbox::builder()
        .latency(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    sb.kore().set_latency(Duration::ZERO);
    kore(&sb, json!({"type": "sms", "limit": 3})).await;
    assert_eq!(sb.kore().request_count(), 1);
    assert_eq!(sb.cms().request_count(), 0);
    let logged = &sb.kore().requests()[0];
    assert_eq!(logged.method, "POST");
    assert_eq!(
        logged.path,
        "/campaign/api/v2/public/***/campaign/getAllCampaignDetails"
    );
    assert_eq!(logged.query.as_deref(), Some("accountId=***"));
    for name in ["auth", "iid", "accountid"] {
        assert_eq!(logged.header(name), Some("***"));
    }
    let body: Value = serde_json::from_str(logged.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["limit"], 3);
    // A CMS token request: the account SID is a path segment.
    let c = sb.credentials();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        c.cms_api_key,
        c.cms_api_token.expose()
    ));
    let response = client()
        .post(format!(
            "{}v2/accounts/{}/configuration/basicauth",
            sb.cms_url(),
            c.cms_account_sid
        ))
        .header("Authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let token: Value = response.json().await.unwrap();
    let issued = token["response"]["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cms_logged = &sb.cms().requests()[0];
    assert_eq!(cms_logged.path, "/v2/accounts/***/configuration/basicauth");
    assert_eq!(cms_logged.header("authorization"), Some("***"));
    let mut logged_text = String::new();
    for request in sb.kore().requests().iter().chain(&sb.cms().requests()) {
        logged_text.push_str(&request.path);
        logged_text.push_str(request.query.as_deref().unwrap_or_default());
        for (name, value) in &request.headers {
            logged_text.push_str(&format!("{name}: {value}\n"));
        }
        logged_text.push_str(request.body.as_deref().unwrap_or_default());
    }
    let debug = format!(
        "{:?} {:?} {:?} {:?}",
        sb,
        sb.credentials(),
        sb.kore().requests(),
        sb.cms().requests()
    );
    for secret in [
        c.kore_jwt.expose(),
        c.kore_client_secret.expose(),
        c.cms_token.expose(),
        c.cms_api_key.as_str(),
        c.cms_api_token.expose(),
        &basic,
        &issued,
        &c.kore_account_id,
        &c.kore_stream_id,
        &c.kore_iid,
        &c.cms_account_sid,
    ] {
        assert!(!debug.contains(secret), "{debug}");
        assert!(!logged_text.contains(secret), "{logged_text}");
    }
    sb.kore().clear_requests();
    assert_eq!(sb.kore().request_count(), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_limit_message_comes_under_any_status_without_retry_after() {
    let sb = Sandbox::start_default().await.unwrap();
    let documented = json!({"status": "error", "message": KORE_RATE_LIMIT_MESSAGE});
    assert_eq!(
        KORE_RATE_LIMIT_MESSAGE,
        "You've exceeded the per-minute rate limit. Please wait for sometime before retrying."
    );
    let send = || kore_request(&sb, &voice(0, 5)).send();
    for (given, answered) in [(400, 400), (403, 403), (500, 500), (200, 200), (100, 500)] {
        sb.kore()
            .inject(Fault::RateLimitedWithStatus(given), Some(1));
        let r = send().await.unwrap();
        assert_eq!(r.status().as_u16(), answered, "{given}");
        assert!(!r.headers().contains_key("retry-after"));
        assert_eq!(r.json::<Value>().await.unwrap(), documented, "{given}");
    }
    assert_eq!(send().await.unwrap().status(), 200);
    // Until cleared, and ahead of authentication like every early fault.
    sb.kore().inject(Fault::RateLimitedWithStatus(200), None);
    for _ in 0..3 {
        let r = client().post(common::kore_url(&sb)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), documented);
    }
    sb.kore().clear_faults();
    assert_eq!(
        send().await.unwrap().json::<Value>().await.unwrap()["status"],
        "success"
    );

    sb.cms().inject(Fault::RateLimitedWithStatus(403), Some(1));
    let r = cms_request(&sb, "?contactCenterId=1").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(!r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["statusCode"].clone(), body["errorMessage"].clone()),
        (json!(403), json!("Too many requests"))
    );
    sb.shutdown().await;
}

/// The record minus one key, to compare the rest.
fn without(record: &Value, key: &str) -> Value {
    let mut record = record.clone();
    record.as_object_mut().unwrap().remove(key);
    record
}

#[tokio::test]
async fn bad_optional_field_malforms_one_field_and_keeps_the_id() {
    let sb = Sandbox::start_default().await.unwrap();
    for kind in ["voice", "sms"] {
        let body = json!({"type": kind, "limit": 3});
        let (_, honest) = kore(&sb, body.clone()).await;
        sb.kore().inject(Fault::BadOptionalField, Some(1));
        let (status, bent) = kore(&sb, body.clone()).await;
        assert_eq!(status, 200);
        let (first, was) = (&bent["data"]["results"][0], &honest["data"]["results"][0]);
        assert_eq!(first["contactLists"], 7);
        assert_eq!(ids(&bent), ids(&honest), "ids stay valid");
        assert_eq!(without(first, "contactLists"), without(was, "contactLists"));
        assert_eq!(bent["data"]["results"][1], honest["data"]["results"][1]);
        assert_eq!(without(&bent, "data"), without(&honest, "data"));
        assert_eq!(kore(&sb, body).await.1, honest, "one use only");
    }
    // Until cleared: every page of a walk; error bodies stay as they are.
    sb.kore().inject(Fault::BadOptionalField, None);
    for skip in [0, 2, 4] {
        let (_, page) = kore(&sb, voice(skip, 2)).await;
        assert_eq!(page["data"]["results"][0]["contactLists"], 7);
    }
    let (status, error) = kore(&sb, json!({"type": "fax"})).await;
    assert_eq!(status, 400);
    assert_eq!(error.as_object().unwrap().len(), 2, "{error}");
    sb.kore().load_campaigns(&[]);
    let (_, empty) = kore(&sb, voice(0, 5)).await;
    assert_eq!(empty["data"]["results"], json!([]));
    assert_eq!(empty["data"]["totalResults"], 0);

    let honest = cms(&sb, 1).await;
    sb.cms().inject(Fault::BadOptionalField, None);
    let bent = cms(&sb, 1).await;
    assert_eq!(bent[0]["processId"], "x");
    assert_eq!(bent[0]["campaignContextId"], honest[0]["campaignContextId"]);
    assert_eq!(
        without(&bent[0], "processId"),
        without(&honest[0], "processId")
    );
    let missing = cms_request(&sb, "?contactCenterId=99")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"statusCode": 404, "status": "Not Found", "errorCode": "CONF-1001", "errorMessage": "Object doesn't exist"})
    );
    sb.shutdown().await;
}

//! Every fault and the rate limit, on the Genesys emulator over real HTTP.

mod common;

use std::time::{Duration, Instant};

use campaign_sandbox::{Fault, RetryAfter, Sandbox, Server};
use common::{client, genesys, genesys_ids, genesys_names, genesys_request, genesys_token_request};
use serde_json::Value;

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn status_and_rate_limit_faults_answer_error_bodies() {
    let sb = Sandbox::start_default().await.unwrap();
    let g = sb.genesys();
    g.inject(Fault::Status(503), Some(1));
    g.inject(Fault::Status(418), Some(1));
    g.inject(Fault::RateLimited(RetryAfter::Seconds(7)), Some(1));
    g.inject(
        Fault::RateLimited(RetryAfter::HttpDate(Duration::from_secs(30))),
        Some(1),
    );
    g.inject(Fault::RateLimited(RetryAfter::None), Some(1));
    g.inject(Fault::RateLimitedResetHeader(5), Some(1));
    g.inject(Fault::RateLimitedWithStatus(403), Some(1));
    let send = || genesys_request(&sb, "pageSize=3").send();

    let r = send().await.unwrap();
    assert_eq!(r.status(), 503);
    let correlation = header(&r, "inin-correlation-id").unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["status"].as_u64()),
        (Some("service.unavailable"), Some(503))
    );
    assert_eq!(body["contextId"], correlation.as_str());
    let body: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(body["code"], "sandbox.status.418");

    let r = send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after"), Some("7"));
    assert_eq!(header(&r, "inin-ratelimit-reset"), Some("7"));
    assert_eq!(header(&r, "inin-ratelimit-allowed"), Some("300"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "too.many.requests");
    assert_eq!(
        body["limit"]["key"],
        "client.credentials.token.rate.per.minute"
    );
    assert_eq!(body["limit"]["value"], 300);

    let r = send().await.unwrap();
    assert!(httpdate::parse_http_date(header(&r, "retry-after").unwrap()).is_ok());
    assert_eq!(header(&r, "inin-ratelimit-reset"), None);
    let r = send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(
        (
            header(&r, "retry-after"),
            header(&r, "inin-ratelimit-reset")
        ),
        (None, None)
    );
    let r = send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(
        (
            header(&r, "retry-after"),
            header(&r, "inin-ratelimit-reset")
        ),
        (None, Some("5"))
    );
    let r = send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["status"].as_u64()),
        (Some("too.many.requests"), Some(403))
    );
    assert_eq!(send().await.unwrap().status(), 200);

    // The reset-header fault is a plain 429 elsewhere.
    sb.cms().inject(Fault::RateLimitedResetHeader(5), Some(1));
    let r = common::cms_request(&sb, "?contactCenterId=1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "retry-after")),
        (429, None)
    );
    sb.kore().inject(Fault::RateLimitedResetHeader(5), Some(1));
    let r = common::kore_request(&sb, &serde_json::json!({"type": "voice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "retry-after")),
        (429, None)
    );

    sb.genesys().set_failure_rate(1.0, 502);
    let body: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(body["code"], "sandbox.status.502");
    sb.genesys().clear_faults();
    assert_eq!(send().await.unwrap().status(), 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn transport_faults_break_the_answer() {
    let sb = Sandbox::start_default().await.unwrap();
    let g = sb.genesys();
    let full = genesys_request(&sb, "pageSize=3")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    g.inject(Fault::HtmlError, Some(1));
    let r = genesys_request(&sb, "pageSize=3").send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(header(&r, "content-type").unwrap().starts_with("text/html"));

    g.inject(Fault::TruncatedJson, Some(1));
    let text = genesys_request(&sb, "pageSize=3")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert!(full.starts_with(&text) && text.len() == full.len() / 2);

    g.inject(Fault::DropConnection, Some(1));
    // The break may show while reading the head or the body.
    let dropped = match genesys_request(&sb, "pageSize=3").send().await {
        Ok(r) => r.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(dropped);

    g.inject(Fault::SlowDrip(Duration::from_millis(2)), Some(1));
    let started = Instant::now();
    let text = genesys_request(&sb, "pageSize=3")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, full);
    assert!(started.elapsed() >= Duration::from_millis(2 * (full.len() as u64 / 16)));

    g.inject(Fault::Oversized(300_000), Some(1));
    let text = genesys_request(&sb, "")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.len() >= 250_000);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["total"].as_u64(),
        Some(body["entities"].as_array().unwrap().len() as u64)
    );

    g.inject(Fault::RedirectOtherHost, Some(1));
    let r = genesys_request(&sb, "pageSize=3&name=Re")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = header(&r, "location").unwrap();
    assert_eq!(
        location,
        format!(
            "{}api/v2/outbound/campaigns?pageSize=3&name=Re",
            sb.other_host_url()
        )
    );
    let followed = client().get(location).send().await.unwrap();
    assert_eq!(followed.status(), 200);
    let seen = sb.other_host_requests();
    assert_eq!(seen[0].server, Server::OtherHost);
    sb.shutdown().await;
}

#[tokio::test]
async fn body_faults_bend_the_json() {
    let sb = Sandbox::start_default().await.unwrap();
    let g = sb.genesys();
    g.inject(Fault::WrongFieldType, Some(2));
    let (_, body) = genesys(&sb, "pageSize=3").await;
    assert_eq!(body["entities"][0]["name"], 7);
    let (_, body) = genesys(&sb, "name=zzz").await;
    assert_eq!(body["total"], "0");

    g.inject(Fault::BadOptionalField, Some(1));
    let (_, body) = genesys(&sb, "pageSize=3").await;
    assert_eq!(body["entities"][0]["contactList"], 7);
    assert_eq!(
        body["entities"][0]["id"],
        "0b7c6a1e-5f2d-4c1a-9e3b-7d8f9a0b1c2d"
    );

    g.inject(Fault::OmitEmptyArrays, Some(2));
    let (_, body) = genesys(&sb, "pageSize=3").await;
    let first = &body["entities"][0];
    assert!(first.get("errors").is_none() && first.get("ruleSets").is_none());
    assert_eq!(first["dncLists"].as_array().unwrap().len(), 1);
    let (_, body) = genesys(&sb, "pageSize=3&pageNumber=9").await;
    assert!(body.get("entities").is_none());
    assert_eq!(body["total"], 7);

    // Error bodies stay as they are.
    g.inject(Fault::WrongFieldType, Some(1));
    let (status, body) = genesys(&sb, "sortOrder=up").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid.value"))
    );
    // The Kore-only sort rule has no effect here.
    g.inject(Fault::SortNameRequired, Some(1));
    assert_eq!(genesys(&sb, "sortBy=dateCreated").await.0, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn data_faults_change_the_listing() {
    let sb = Sandbox::start_default().await.unwrap();
    let g = sb.genesys();
    let sorted = genesys_names(&genesys(&sb, "").await.1);

    g.inject(Fault::SortIgnored, Some(2));
    let stored = genesys_names(&genesys(&sb, "").await.1);
    assert_ne!(stored, sorted, "storage order is no sort's");
    let mut again = stored.clone();
    again.sort();
    assert_eq!(again, sorted);
    assert_eq!(
        genesys_names(
            &genesys(&sb, "sortBy=dateCreated&sortOrder=descending")
                .await
                .1
        ),
        stored
    );

    g.inject(Fault::TiesReversed, Some(1));
    let (_, body) = genesys(&sb, "sortBy=dateCreated&pageSize=2").await;
    assert_eq!(
        genesys_names(&body),
        ["Win-Back - Predictive", "Renewals - Predictive"]
    );

    g.inject(Fault::WrongTotalResults, Some(1));
    let (_, body) = genesys(&sb, "pageSize=3&pageNumber=3").await;
    assert_eq!(
        (body["total"].as_u64(), body["pageCount"].as_u64()),
        (Some(17), Some(6))
    );
    assert_eq!(
        body["lastUri"],
        "/api/v2/outbound/campaigns?pageSize=3&pageNumber=6"
    );
    assert!(body.get("nextUri").is_none(), "nextUri stays truthful");

    g.inject(Fault::IgnoreSkip, Some(1));
    let (_, body) = genesys(&sb, "pageSize=3&pageNumber=2").await;
    assert_eq!(genesys_names(&body), sorted[..3]);
    assert_eq!(body["pageNumber"], 2);
    assert_eq!(
        body["previousUri"],
        "/api/v2/outbound/campaigns?pageSize=3&pageNumber=1"
    );

    // Page drift: each listing inserts a campaign that sorts first, in the
    // listing's filters, so page 2 repeats page 1's last campaign.
    g.inject(Fault::PageDrift, Some(1));
    let retention = "divisionId=0f1e2d3c-4b5a-4968-8776-655443322110&pageSize=2";
    let (_, first) = genesys(&sb, retention).await;
    let (_, second) = genesys(&sb, &format!("{retention}&pageNumber=2")).await;
    assert_eq!(first["total"], 3);
    assert_eq!(second["total"], 4);
    assert_eq!(genesys_ids(&first)[1], genesys_ids(&second)[0]);
    let (_, all) = genesys(&sb, "").await;
    assert_eq!(all["total"], 8);
    let drift = &all["entities"][0];
    assert_eq!(drift["name"], "0 Drift Campaign 00001");
    assert_eq!(
        drift["division"]["id"],
        "0f1e2d3c-4b5a-4968-8776-655443322110"
    );
    let (_, newest) = genesys(&sb, "sortBy=dateCreated&sortOrder=descending&pageSize=1").await;
    assert_eq!(newest["entities"][0]["id"], drift["id"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_counts_per_token_and_sends_its_headers() {
    let sb = Sandbox::start_default().await.unwrap();
    let r = genesys_request(&sb, "").send().await.unwrap();
    assert_eq!(header(&r, "inin-ratelimit-count"), None, "off by default");
    sb.shutdown().await;

    let sb = Sandbox::builder()
        .genesys_rate_limit(3)
        .start()
        .await
        .unwrap();
    for n in 1..=3 {
        let r = genesys_request(&sb, "").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "inin-ratelimit-count"),
            Some(n.to_string().as_str())
        );
        assert_eq!(header(&r, "inin-ratelimit-allowed"), Some("3"));
        let reset: u64 = header(&r, "inin-ratelimit-reset").unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset));
    }
    let r = genesys_request(&sb, "").send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(header(&r, "inin-ratelimit-count"), Some("3"));
    let correlation = header(&r, "inin-correlation-id").unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "too.many.requests");
    assert_eq!(body["contextId"], correlation.as_str());
    assert_eq!(body["limit"]["value"], 3);
    // Requests without a valid token are refused first and not counted.
    let anonymous = client()
        .get(format!("{}api/v2/outbound/campaigns", sb.genesys_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // Another token has its own window.
    let c = sb.credentials().clone();
    let basic = Some((
        c.genesys_client_id.as_str(),
        c.genesys_client_secret.expose(),
    ));
    let (_, token) =
        genesys_token_request(&sb, basic, &[("grant_type", "client_credentials")]).await;
    let other = client()
        .get(format!("{}api/v2/outbound/campaigns", sb.genesys_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            other.status().as_u16(),
            header(&other, "inin-ratelimit-count")
        ),
        (200, Some("1"))
    );
    // Validation errors are counted and carry the headers too.
    sb.genesys().expire_tokens();
    let (_, token) =
        genesys_token_request(&sb, basic, &[("grant_type", "client_credentials")]).await;
    let bad = client()
        .get(format!(
            "{}api/v2/outbound/campaigns?sortOrder=up",
            sb.genesys_url()
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (bad.status().as_u16(), header(&bad, "inin-ratelimit-count")),
        (400, Some("1"))
    );
    sb.shutdown().await;
}

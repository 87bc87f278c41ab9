//! End to end against the sandbox's CMS emulator: token endpoint, several
//! contact centers, paging, and injected faults.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Channel, ErrorKind, PageToken, Scope, Sort, SortField,
    SourceError,
};
use campaign_http::{HttpConfig, RetryPolicy};
use campaign_sandbox::{samples, Fault, GeneratedData, RetryAfter, Sandbox};
use futures::TryStreamExt;
use source_cms::{CmsBasicAuthToken, CmsConfig, CmsSource};

const SOURCE: &str = "cms-e2e";

fn http() -> HttpConfig {
    HttpConfig {
        retry: RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..HttpConfig::default()
    }
}

fn source_for(sandbox: &Sandbox, centers: Vec<i64>, http: HttpConfig) -> Arc<CmsSource> {
    configured(sandbox, centers, http, |_| {})
}

fn configured(
    sandbox: &Sandbox,
    centers: Vec<i64>,
    http: HttpConfig,
    adjust: impl FnOnce(&mut CmsConfig),
) -> Arc<CmsSource> {
    let creds = sandbox.credentials();
    let tokens = CmsBasicAuthToken::new(
        SOURCE,
        sandbox.cms_url().as_str(),
        creds.cms_account_sid.clone(),
        creds.cms_api_key.clone(),
        creds.cms_api_token.clone(),
        http.clone(),
    )
    .unwrap();
    let mut config = CmsConfig::new(SOURCE, sandbox.cms_url().to_string(), centers);
    config.http = http;
    adjust(&mut config);
    Arc::new(CmsSource::new(config, Arc::new(tokens)).unwrap())
}

fn source(sandbox: &Sandbox) -> Arc<CmsSource> {
    source_for(sandbox, sandbox.cms_contact_center_ids(), http())
}

async fn fetch_error(source: &CmsSource) -> SourceError {
    source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .expect_err("the fetch should fail")
}

fn campaign_requests(sandbox: &Sandbox) -> usize {
    sandbox
        .cms()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/hierarchyconfig/campaign"))
        .count()
}

fn token_requests(sandbox: &Sandbox) -> usize {
    sandbox
        .cms()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/configuration/basicauth"))
        .count()
}

#[tokio::test]
async fn the_sample_is_served_and_decoded_verbatim_with_a_token_from_the_endpoint() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox);
    let all: Vec<Campaign> = Arc::clone(&source)
        .stream(&CampaignQuery::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    let c = &all[0];
    assert_eq!(c.id.to_string(), "cms-e2e:1");
    assert_eq!(c.name, "Mumbai Sales Dept");
    assert_eq!(c.channel, Channel::Interaction);
    assert_eq!(
        c.scope,
        Scope::ContactCenter {
            contact_center_id: 1,
            process_id: Some(1)
        }
    );
    let sample: serde_json::Value = serde_json::from_str(samples::CMS_RESPONSE).unwrap();
    assert_eq!(c.raw.as_ref().unwrap().to_value(), sample[0]);
    assert_eq!(token_requests(&sandbox), 1);
    let request = sandbox
        .cms()
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/hierarchyconfig/campaign"))
        .unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.query.as_deref(), Some("contactCenterId=1"));
    assert!(request.had_credentials);
    assert_eq!(request.header("accept"), Some("application/json"));
}

/// Bodies over a mebibyte are decoded on the blocking pool, in parallel;
/// the listing must be the same as for small ones.
#[tokio::test]
async fn large_bodies_list_like_small_ones() {
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 11,
            cms_contact_centers: vec![1, 2],
            cms_per_contact_center: 4_000,
            ..GeneratedData::default()
        })
        .start()
        .await
        .unwrap();
    let source = source(&sandbox);
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap();
    let listed: Vec<Campaign> = Arc::clone(&source)
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    let mut expected = source.fetch_all().await.unwrap();
    assert_eq!(expected.len(), 8_000);
    expected.sort_by(|a, b| query.compare(a, b));
    assert_eq!(listed, expected);
    let per_body = expected
        .iter()
        .filter_map(|c| c.raw.as_ref())
        .map(|raw| raw.get().len())
        .sum::<usize>()
        / 2;
    assert!(
        per_body > 1 << 20,
        "bodies of about {per_body} bytes are too small to test"
    );
}

#[tokio::test]
async fn several_contact_centers_page_without_gaps_or_repeats() {
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 7,
            cms_contact_centers: vec![1, 2, 3],
            cms_per_contact_center: 40,
            ..GeneratedData::default()
        })
        .start()
        .await
        .unwrap();
    let centers = sandbox.cms_contact_center_ids();
    assert!(centers.len() >= 3);
    let source = source(&sandbox);
    let everything = source.fetch_all().await.unwrap();
    assert!(everything.len() >= 120, "{}", everything.len());
    let before = campaign_requests(&sandbox);

    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::UpdatedAt))
        .page_size(7)
        .build()
        .unwrap();
    let mut walked = Vec::new();
    let mut tokens = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = source.fetch_page(&query, token.clone()).await.unwrap();
        walked.extend(page.items);
        match page.next {
            Some(next) => {
                tokens.push(next.clone());
                token = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(
        campaign_requests(&sandbox) - before,
        centers.len(),
        "one download per center for the whole walk"
    );
    let ids: HashSet<_> = walked.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), walked.len(), "no repeats");
    assert_eq!(walked.len(), everything.len(), "no gaps");
    let mut sorted = everything.clone();
    sorted.sort_by(|a, b| query.compare(a, b));
    assert_eq!(walked, sorted);
    for c in &walked {
        assert!(
            matches!(c.scope, Scope::ContactCenter { contact_center_id, .. } if centers.contains(&contact_center_id)),
            "{:?}",
            c.scope
        );
    }
    // Resuming from a middle token continues exactly.
    let middle = tokens.len() / 2;
    let resumed = source
        .fetch_page(&query, Some(tokens[middle].clone()))
        .await
        .unwrap();
    let offset = (middle + 1) * 7;
    assert_eq!(resumed.items, walked[offset..offset + resumed.items.len()]);

    // Local filters follow CampaignQuery semantics through the stream.
    let voice = CampaignQuery::builder()
        .channel(Channel::Voice)
        .name_contains("renewal")
        .sort(Sort::asc(SortField::Name))
        .page_size(5)
        .build()
        .unwrap();
    let streamed: Vec<Campaign> = Arc::clone(&source)
        .stream(&voice)
        .try_collect()
        .await
        .unwrap();
    let mut expected: Vec<Campaign> = everything
        .into_iter()
        .filter(|c| voice.matches(c))
        .collect();
    expected.sort_by(|a, b| voice.compare(a, b));
    assert_eq!(streamed, expected);
}

#[tokio::test]
async fn a_page_drifting_server_does_not_disturb_a_walk() {
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 3,
            cms_contact_centers: vec![1],
            cms_per_contact_center: 20,
            ..GeneratedData::default()
        })
        .start()
        .await
        .unwrap();
    // Every listing request inserts a campaign newer than all others.
    sandbox.cms().inject(Fault::PageDrift, None);
    let source = source(&sandbox);
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(3)
        .build()
        .unwrap();
    let walked: Vec<Campaign> = Arc::clone(&source)
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    let ids: HashSet<_> = walked.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), walked.len());
    assert_eq!(
        walked.len(),
        20,
        "the walk sees the one download it started from"
    );
}

#[tokio::test]
async fn an_expired_token_is_renewed_after_a_401() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox);
    source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    sandbox.cms().expire_tokens();
    let page = source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(token_requests(&sandbox), 2);
}

#[tokio::test]
async fn an_unknown_contact_center_is_not_found_with_conf_1001() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let e = fetch_error(&source_for(&sandbox, vec![1, 999], http())).await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.code(), Some("CONF-1001"));
    assert_eq!(e.request(), Some("GET campaigns contactCenterId=999"));
}

#[tokio::test]
async fn documented_statuses_map_to_their_kinds() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox);
    let cases = [
        (400, ErrorKind::BadRequest),
        (401, ErrorKind::Unauthorized),
        (403, ErrorKind::Forbidden),
        (404, ErrorKind::NotFound),
        (500, ErrorKind::Server),
    ];
    for (status, kind) in cases {
        sandbox.cms().clear_faults();
        sandbox.cms().inject(Fault::Status(status), None);
        let e = fetch_error(&source).await;
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert_eq!(e.status(), Some(status));
        assert!(e.code().is_some(), "{e}");
        let secret = sandbox.credentials().cms_api_token.expose().to_owned();
        assert!(!format!("{e} {e:?}").contains(&secret));
    }
}

#[tokio::test]
async fn a_503_burst_and_a_429_with_retry_after_are_retried_to_success() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox);
    sandbox.cms().inject(Fault::Status(503), Some(3));
    assert_eq!(
        source
            .fetch_page(&CampaignQuery::all(), None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(campaign_requests(&sandbox), 4);

    sandbox
        .cms()
        .inject(Fault::RateLimited(RetryAfter::Seconds(0)), Some(1));
    assert_eq!(
        source
            .fetch_page(&CampaignQuery::all(), None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(campaign_requests(&sandbox), 6);

    sandbox.cms().inject(Fault::DropConnection, Some(1));
    assert_eq!(
        source
            .fetch_page(&CampaignQuery::all(), None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn retries_give_up_after_the_bound() {
    let sandbox = Sandbox::start_default().await.unwrap();
    sandbox.cms().inject(Fault::Status(503), None);
    let e = fetch_error(&source(&sandbox)).await;
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(e.to_string().contains("after 4 attempts"), "{e}");
    assert_eq!(campaign_requests(&sandbox), 4);

    sandbox.cms().clear_faults();
    sandbox
        .cms()
        .inject(Fault::RateLimited(RetryAfter::Seconds(86_400)), None);
    let e = fetch_error(&source(&sandbox)).await;
    assert_eq!(
        e.kind(),
        ErrorKind::RateLimited,
        "a day-long Retry-After fails fast"
    );
}

#[tokio::test]
async fn html_truncated_and_mistyped_bodies_are_typed_errors() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox);

    sandbox.cms().inject(Fault::HtmlError, None);
    let e = fetch_error(&source).await;
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(e.to_string().to_lowercase().contains("html"), "{e}");

    sandbox.cms().clear_faults();
    sandbox.cms().inject(Fault::TruncatedJson, None);
    let e = fetch_error(&source).await;
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert_eq!(e.request(), Some("GET campaigns contactCenterId=1"));
    assert!(e.to_string().contains("body starts"), "{e}");

    // A record with an unusable id is skipped and reported, never dropped
    // silently; a strict source fails on it instead.
    sandbox.cms().clear_faults();
    sandbox.cms().inject(Fault::WrongFieldType, None);
    let page = source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let skipped = page.warnings[0].skipped.as_ref().unwrap();
    assert_eq!((skipped.index, skipped.id.as_deref()), (0, Some("x")));
    let strict = configured(&sandbox, vec![1], http(), |c| c.strict = true);
    let e = fetch_error(&strict).await;
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert_eq!(e.request(), Some("GET campaigns contactCenterId=1"));
    assert!(e.to_string().contains("record starts"), "{e}");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let http = HttpConfig {
        max_body_bytes: 64 * 1024,
        ..http()
    };
    let source = source_for(&sandbox, vec![1], http);
    sandbox.cms().inject(Fault::Oversized(256 * 1024), None);
    let e = fetch_error(&source).await;
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.to_string().contains("exceeds the limit"), "{e}");
}

#[tokio::test]
async fn a_redirect_to_another_host_is_refused_without_sending_credentials() {
    let sandbox = Sandbox::start_default().await.unwrap();
    sandbox.cms().inject(Fault::RedirectOtherHost, None);
    let e = fetch_error(&source(&sandbox)).await;
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.to_string().contains("redirect"), "{e}");
    assert!(sandbox
        .other_host_requests()
        .iter()
        .all(|r| !r.had_credentials));
    assert!(sandbox.other_host_requests().is_empty());
}

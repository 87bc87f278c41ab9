//! The Genesys Cloud cases, and what the Genesys emulator's request log
//! shows about them (token renewals, the wait before a retry, the pages
//! asked for).

use std::time::Duration;

use campaign_core::ErrorKind;
use campaign_e2e::{Rig, GENESYS};
use campaign_sandbox::{Fault, LoggedRequest, RetryAfter};

use crate::cases::{case, Action, Case, Expect, Target};
use crate::check::Row;

/// The listing endpoint's path on the emulator.
const LISTING: &str = "/api/v2/outbound/campaigns";

pub fn cases() -> Vec<Case> {
    use Action::Inject;
    use Expect::{Fails, Recovered, Skips};
    use Target::Genesys;
    vec![
        case(
            "503 burst (2)",
            Genesys,
            Inject(Fault::Status(503), Some(2)),
            Recovered,
        ),
        case(
            "503 persistent",
            Genesys,
            Inject(Fault::Status(503), None),
            Fails(GENESYS, ErrorKind::Server),
        ),
        case(
            "429, Retry-After: 1 (seconds)",
            Genesys,
            Inject(Fault::RateLimited(RetryAfter::Seconds(1)), Some(1)),
            Recovered,
        ),
        case(
            "429, only inin-ratelimit-reset: 1 (no Retry-After), once",
            Genesys,
            Inject(Fault::RateLimitedResetHeader(1), Some(1)),
            Recovered,
        ),
        case(
            "429, Retry-After: 120 (over the 3 s cap)",
            Genesys,
            Inject(Fault::RateLimited(RetryAfter::Seconds(120)), None),
            Fails(GENESYS, ErrorKind::RateLimited),
        ),
        case(
            "HTML error page (502), persistent",
            Genesys,
            Inject(Fault::HtmlError, None),
            Fails(GENESYS, ErrorKind::Server),
        ),
        case(
            "truncated JSON",
            Genesys,
            Inject(Fault::TruncatedJson, None),
            Fails(GENESYS, ErrorKind::Decode),
        ),
        case(
            "wrong field type (name 7), once",
            Genesys,
            Inject(Fault::WrongFieldType, Some(1)),
            Skips(GENESYS, 1),
        ),
        case(
            "optional field of the wrong type (contactList 7), once",
            Genesys,
            Inject(Fault::BadOptionalField, Some(1)),
            Skips(GENESYS, 1),
        ),
        case(
            "empty arrays left out",
            Genesys,
            Inject(Fault::OmitEmptyArrays, None),
            Recovered,
        ),
        case(
            "30 MB body (limit 1 MiB)",
            Genesys,
            Inject(Fault::Oversized(30 * 1024 * 1024), None),
            Fails(GENESYS, ErrorKind::Decode),
        ),
        case(
            "slow drip past the 1 s timeout",
            Genesys,
            Inject(Fault::SlowDrip(Duration::from_millis(25)), None),
            Fails(GENESYS, ErrorKind::Timeout),
        ),
        case(
            "dropped connection (2)",
            Genesys,
            Inject(Fault::DropConnection, Some(2)),
            Recovered,
        ),
        case(
            "dropped connection, persistent",
            Genesys,
            Inject(Fault::DropConnection, None),
            Fails(GENESYS, ErrorKind::Transport),
        ),
        case(
            "redirect to another host",
            Genesys,
            Inject(Fault::RedirectOtherHost, None),
            Fails(GENESYS, ErrorKind::Transport),
        ),
        case(
            "revoked token (401)",
            Genesys,
            Action::ExpireTokens,
            Recovered,
        ),
        case(
            "ties in reverse id order",
            Genesys,
            Inject(Fault::TiesReversed, None),
            Recovered,
        )
        .by_name(),
        case(
            "sortBy ignored",
            Genesys,
            Inject(Fault::SortIgnored, None),
            Recovered,
        )
        .by_name(),
        case(
            "nextUri on every page, past the end too",
            Genesys,
            Inject(Fault::NextUriForever, None),
            Recovered,
        )
        .by_name(),
        case(
            "total and pageCount 10 too high",
            Genesys,
            Inject(Fault::WrongTotalResults, None),
            Recovered,
        ),
        case(
            "server ignores pageNumber",
            Genesys,
            Inject(Fault::IgnoreSkip, None),
            Fails(GENESYS, ErrorKind::Protocol),
        ),
        case(
            "server ignores pageNumber",
            Genesys,
            Inject(Fault::IgnoreSkip, None),
            Fails(GENESYS, ErrorKind::Protocol),
        )
        .by_name(),
        // No page drift row: source-genesys loses campaigns under it
        // (tests/genesys_findings.rs, docs/RELIABILITY.md).
    ]
}

fn listing_requests(rig: &Rig) -> Vec<LoggedRequest> {
    rig.sandbox
        .genesys()
        .requests()
        .into_iter()
        .filter(|r| r.path == LISTING)
        .collect()
}

fn query_value<'a>(request: &'a LoggedRequest, key: &str) -> Option<&'a str> {
    request
        .query
        .as_deref()?
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

/// The largest `pageNumber` asked for in pages of `size` (the sort probe,
/// a page of one, left out).
fn highest_page(requests: &[LoggedRequest], size: u32) -> u64 {
    requests
        .iter()
        .filter(|r| query_value(r, "pageSize") == Some(&size.to_string()))
        .filter_map(|r| query_value(r, "pageNumber")?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// What the request log says about a Genesys case, added to its row.
pub async fn observe(
    rig: &Rig,
    case: &Case,
    page_size: u32,
    campaigns: usize,
    row: &mut Row,
    problems: &mut Vec<String>,
) {
    if case.target != Target::Genesys {
        return;
    }
    let name = case.name;
    let requests = listing_requests(rig);
    match &case.action {
        Action::ExpireTokens => {
            let renewals = rig.genesys_token_requests();
            ensure!(
                problems,
                renewals == 1,
                "{name}: {renewals} token requests, 1 expected (one renewal after the 401s)"
            );
            row.outcome += &format!("; renewed with {renewals} token request(s)");
        }
        Action::Inject(Fault::RateLimitedResetHeader(reset), _) => {
            // The first listing request got the 429; its retry is the next
            // request for the same page.
            let first = requests.first();
            let retry = first.and_then(|first| {
                requests[1..]
                    .iter()
                    .find(|r| r.query == first.query)
                    .map(|r| r.at.duration_since(first.at).unwrap_or_default())
            });
            match retry {
                Some(wait) => {
                    let when = if wait >= Duration::from_secs(*reset) {
                        "after"
                    } else {
                        "before"
                    };
                    row.outcome += &format!(
                        "; retried {} ms later, {when} the {reset} s reset",
                        wait.as_millis()
                    );
                }
                None => problems.push(format!("{name}: no retry of the rate-limited request")),
            }
        }
        Action::Inject(Fault::NextUriForever, _) => {
            let pages = campaigns.div_ceil(page_size as usize) as u64;
            let highest = highest_page(&requests, page_size);
            ensure!(
                problems,
                highest <= pages,
                "{name}: asked for page {highest} of {pages}"
            );
            let last = last_page_links_on(rig, page_size, pages).await;
            ensure!(
                problems,
                last,
                "{name}: the emulator's last page has no nextUri: the fault did not act"
            );
            row.outcome += &format!(
                "; the last page links to a next one too; walk ended at page {highest} of {pages}"
            );
        }
        Action::Inject(Fault::WrongTotalResults, _) => {
            let pages = campaigns.div_ceil(page_size as usize) as u64;
            let highest = highest_page(&requests, page_size);
            row.outcome += &format!("; pages asked: up to {highest} ({pages} real)");
        }
        _ => {}
    }
}

/// Whether the emulator's page `page` (the last real one) carries `nextUri`,
/// asked directly with a token of the sandbox's OAuth client.
async fn last_page_links_on(rig: &Rig, size: u32, page: u64) -> bool {
    let sandbox = &rig.sandbox;
    let credentials = sandbox.credentials();
    let client = reqwest::Client::new();
    let answer = async {
        let token: serde_json::Value = client
            .post(format!("{}oauth/token", sandbox.genesys_login_url()))
            .basic_auth(
                &credentials.genesys_client_id,
                Some(credentials.genesys_client_secret.expose()),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await?
            .json()
            .await?;
        let token = token["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        client
            .get(format!(
                "{}api/v2/outbound/campaigns?pageSize={size}&pageNumber={page}&sortBy=name",
                sandbox.genesys_url()
            ))
            .bearer_auth(token)
            .send()
            .await?
            .json::<serde_json::Value>()
            .await
    };
    match answer.await {
        Ok(body) => {
            body["entities"].as_array().is_some_and(|e| !e.is_empty())
                && body["nextUri"].is_string()
        }
        Err(_) => false,
    }
}

//! A server that always sends `nextUri` and ignores `divisionId`: the walk
//! still ends at `pageCount`, and campaigns outside the configured
//! divisions are left out with a warning.

mod common;

use std::sync::Arc;

use campaign_core::{CampaignQuery, Secret};
use source_genesys::{GenesysConfig, GenesysCredentials, GenesysSource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Page `n` of a listing that claims 3 pages but links to a next page always.
fn page(n: u64) -> String {
    let campaign = |i: u64, division: &str| {
        format!(
            r#"{{"id":"c-{n}-{i}","name":"Campaign {n} {i}","dateCreated":"2026-01-0{n}T00:00:00.000Z","division":{{"id":"{division}","name":"D"}}}}"#
        )
    };
    format!(
        r#"{{"entities":[{},{}],"pageSize":2,"pageNumber":{n},"total":6,"pageCount":3,"selfUri":"/api/v2/outbound/campaigns?pageNumber={n}","nextUri":"/api/v2/outbound/campaigns?pageNumber={}"}}"#,
        campaign(1, "d-wanted"),
        campaign(2, if n == 2 { "d-other" } else { "d-wanted" }),
        n + 1
    )
}

/// Serves `page(pageNumber)` to every request, one per connection.
async fn serve() -> (String, Arc<std::sync::Mutex<Vec<u64>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let n = common::page_number(line.split(['?', ' ']).nth(2).unwrap_or_default())
                    .unwrap_or(1);
                seen.lock().unwrap().push(n);
                let body = page(n);
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, log)
}

#[tokio::test]
async fn next_uri_forever_stops_at_page_count_and_divisions_are_checked() {
    let (url, log) = serve().await;
    let mut config = GenesysConfig::new("stub", url).with_division_ids(["d-wanted"]);
    config.rate_limit = None;
    config.page_size = 2;
    let source =
        Arc::new(GenesysSource::new(config, GenesysCredentials::Token(Secret::new("t"))).unwrap());
    let (campaigns, warnings, error) = common::walk(&source, &CampaignQuery::all()).await;
    assert!(error.is_none(), "{error:?}");
    let ids: Vec<&str> = campaigns.iter().map(|c| c.id.native.as_str()).collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(!ids.contains(&"c-2-2"));
    assert!(
        warnings.iter().any(|w| w
            .message
            .contains("\"c-2-2\" is not in a configured division")),
        "{warnings:?}"
    );
    let mut pages = log.lock().unwrap().clone();
    pages.sort_unstable();
    assert_eq!(pages, [1, 2, 3], "never past pageCount");
}

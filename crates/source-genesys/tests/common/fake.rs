//! A scripted server for the answers the sandbox does not give: each
//! request gets the status and JSON body a closure picks for its target.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use campaign_core::Secret;
use source_genesys::{GenesysConfig, GenesysCredentials, GenesysSource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The request targets (path and query) a fake server received, in order.
pub type Targets = Arc<Mutex<Vec<String>>>;

/// Serves `answer(target)` (status, JSON body) to every request on
/// 127.0.0.1, one per connection; returns the base URL and the targets.
pub async fn serve<F>(answer: F) -> (String, Targets)
where
    F: Fn(&str) -> (u16, String) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let targets = Targets::default();
    let seen = Arc::clone(&targets);
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (seen, answer) = (Arc::clone(&seen), Arc::clone(&answer));
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let target = String::from_utf8_lossy(&request)
                    .split(' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push(target.clone());
                let (status, body) = answer(&target);
                let response = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, targets)
}

/// The query of a request target.
pub fn query(target: &str) -> &str {
    target.split_once('?').map_or("", |(_, query)| query)
}

/// A source named "stub" at `url` with a ready token, no client-side rate
/// limit and quick retries, after `change`.
pub fn source(url: &str, change: impl FnOnce(&mut GenesysConfig)) -> Arc<GenesysSource> {
    let mut config = GenesysConfig::new("stub", url);
    config.rate_limit = None;
    config.http.retry.initial_backoff = Duration::from_millis(10);
    config.http.retry.max_backoff = Duration::from_millis(50);
    change(&mut config);
    let token = GenesysCredentials::Token(Secret::new("fake-bearer-token"));
    Arc::new(GenesysSource::new(config, token).unwrap())
}

/// A campaign record with an id, a name and a creation time.
pub fn campaign(id: &str, name: &str) -> String {
    format!(r#"{{"id":"{id}","name":"{name}","dateCreated":"2026-01-05T10:00:00.000Z"}}"#)
}

/// An `ErrorBody` (spec §5.1).
pub fn error_body(status: u16, code: &str, message: &str) -> (u16, String) {
    let body = serde_json::json!({"message": message, "code": code, "status": status});
    (status, body.to_string())
}

//! The HTTP side of the service figures: a `campaigns serve` process,
//! loads of keep-alive clients, a bare axum handler to compare with, cursor
//! walks, and `/metrics` counters.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::http::header;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use tokio::time::Instant as TokioInstant;

use crate::figures::ms;
use crate::process::{CampaignsBin, Reaped, SandboxProcess};
use crate::store::campaigns;

type Res<T> = Result<T, String>;

/// A `campaigns serve` process and the address it listens on.
pub(crate) struct ServeProcess {
    _child: Reaped,
    pub(crate) base: String,
}

impl ServeProcess {
    /// `campaigns serve --listen 127.0.0.1:0 ARGS`, ready once it prints
    /// where it listens.
    pub(crate) fn start(bin: &CampaignsBin, sandbox: &SandboxProcess, args: &[&str]) -> Res<Self> {
        let mut command = campaigns(bin, Some(sandbox));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&sandbox.config)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start `campaigns serve`: {e}"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or("`campaigns serve` has no stderr")?;
        let child = Reaped(child);
        let mut lines = BufReader::new(stderr);
        let mut line = String::new();
        let base = loop {
            line.clear();
            let read = lines
                .read_line(&mut line)
                .map_err(|e| format!("cannot read `campaigns serve`'s stderr: {e}"))?;
            if read == 0 {
                return Err("`campaigns serve` exited before it listened".into());
            }
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split('/').next().unwrap_or_default();
                break format!("http://{addr}");
            }
        };
        // Keep draining, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while lines.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        Ok(Self {
            _child: child,
            base,
        })
    }
}

/// What a load of keep-alive clients measured.
#[derive(Debug, Default)]
pub(crate) struct Load {
    /// Latency of every answered request, sorted.
    pub(crate) latencies: Vec<Duration>,
    /// Non-200 answers and transport errors.
    pub(crate) errors: usize,
    /// The first error seen, for the row.
    pub(crate) first_error: Option<String>,
    /// Requests still unanswered when the window closed (dropped).
    pub(crate) unfinished: usize,
    pub(crate) window: Duration,
}

impl Load {
    pub(crate) fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64().max(1e-9)
    }

    pub(crate) fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    pub(crate) fn summary(&self) -> String {
        let mut text = format!(
            "{:.1} req/s ({} in {:.1} s), p50 {}, p99 {}, {} errors, {} unfinished at the end",
            self.throughput(),
            self.latencies.len(),
            self.window.as_secs_f64(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            self.errors,
            self.unfinished
        );
        if let Some(error) = &self.first_error {
            text.push_str(&format!(" (first error: {error})"));
        }
        text
    }
}

/// `clients` tasks, each with its own keep-alive connection, asking for
/// `url` again and again for `window`; a request still running at the end
/// is dropped and counted as unfinished.
pub(crate) async fn load(url: &str, clients: usize, window: Duration) -> Res<Load> {
    let url = url.to_owned();
    load_urls(clients, window, move |_, _| url.clone()).await
}

/// [`load`] with the URL of each request chosen by `url_of(client, n)`, n
/// counting that client's requests from 0.
pub(crate) async fn load_urls<F>(clients: usize, window: Duration, url_of: F) -> Res<Load>
where
    F: Fn(usize, usize) -> String + Clone + Send + 'static,
{
    let deadline = TokioInstant::now() + window;
    let mut tasks = Vec::new();
    for index in 0..clients {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let url_of = url_of.clone();
        tasks.push(tokio::spawn(async move {
            let mut load = Load::default();
            for n in 0.. {
                let url = url_of(index, n);
                let started = Instant::now();
                let request = async {
                    let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
                    let status = response.status();
                    let body = response.bytes().await.map_err(|e| e.to_string())?;
                    if status.is_success() {
                        Ok(())
                    } else {
                        let body = String::from_utf8_lossy(&body);
                        Err(format!(
                            "{status}: {}",
                            body.chars().take(200).collect::<String>()
                        ))
                    }
                };
                match tokio::time::timeout_at(deadline, request).await {
                    Err(_) => {
                        load.unfinished += 1;
                        break;
                    }
                    Ok(Ok(())) => load.latencies.push(started.elapsed()),
                    Ok(Err(error)) => {
                        load.errors += 1;
                        load.first_error.get_or_insert(error);
                    }
                }
                if TokioInstant::now() >= deadline {
                    break;
                }
            }
            load
        }));
    }
    let mut all = Load {
        window,
        ..Load::default()
    };
    for task in tasks {
        let one = task
            .await
            .map_err(|e| format!("a load client failed: {e}"))?;
        all.latencies.extend(one.latencies);
        all.errors += one.errors;
        all.unfinished += one.unfinished;
        if all.first_error.is_none() {
            all.first_error = one.first_error;
        }
    }
    all.latencies.sort_unstable();
    Ok(all)
}

/// A bare axum handler in this process answering `PATH` with `body`.
pub(crate) async fn bare_server(body: axum::body::Bytes) -> Res<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind the bare handler: {e}"))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| format!("no bound address: {e}"))?;
    let app = Router::new().route(
        "/v1/campaigns",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

pub(crate) async fn get_json(client: &reqwest::Client, url: &str) -> Res<Value> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

/// The sum of one counter's samples in `/metrics` (every label set).
pub(crate) async fn metric_sum(client: &reqwest::Client, base: &str, name: &str) -> Res<f64> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("GET /metrics: {e}"))?
        .text()
        .await
        .map_err(|e| format!("GET /metrics: {e}"))?;
    Ok(text
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// One cursor walk: pages of 50 from `query`, following `next_cursor`,
/// until the end or `deadline`.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub(crate) walked: usize,
    pub(crate) duplicates: usize,
    /// Duplicates whose `created_at` (the default sort's key) differed
    /// between the two sightings: the sync moved them behind the cursor.
    pub(crate) moved: usize,
    /// The first duplicate: its key and the pages it was on.
    pub(crate) first_duplicate: Option<String>,
    pub(crate) pages: usize,
    pub(crate) finished: bool,
    pub(crate) error: Option<String>,
}

impl Walk {
    pub(crate) fn text(&self) -> String {
        let end = match (&self.error, self.finished) {
            (Some(error), _) => format!("stopped by an error: {error}"),
            (None, true) => "to the end".to_owned(),
            (None, false) => "unfinished when the window closed".to_owned(),
        };
        format!(
            "{} duplicates ({} of them with a changed created_at) in {} campaigns walked \
             ({} pages, {end})",
            self.duplicates, self.moved, self.walked, self.pages
        ) + &self
            .first_duplicate
            .as_ref()
            .map(|first| format!("; first: {first}"))
            .unwrap_or_default()
    }
}

pub(crate) async fn walk(base: &str, query: &str, deadline: TokioInstant) -> Walk {
    let client = reqwest::Client::new();
    // Each campaign's `created_at` and page when first seen.
    let mut seen: HashMap<String, (Value, usize)> = HashMap::new();
    let mut result = Walk::default();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = match reqwest::Url::parse(&format!("{base}/v1/campaigns?limit=50{query}")) {
            Ok(url) => url,
            Err(e) => {
                result.error = Some(e.to_string());
                break;
            }
        };
        if let Some(cursor) = &cursor {
            url.query_pairs_mut().append_pair("cursor", cursor);
        }
        let url = url.to_string();
        let page = match tokio::time::timeout_at(deadline, get_json(&client, &url)).await {
            Err(_) => break,
            Ok(Err(error)) => {
                result.error = Some(error);
                break;
            }
            Ok(Ok(page)) => page,
        };
        result.pages += 1;
        for campaign in page["campaigns"].as_array().into_iter().flatten() {
            let key = format!("{}/{}", campaign["source"], campaign["id"]);
            let created = campaign["created_at"].clone();
            match seen.get(&key) {
                Some((first, page)) => {
                    result.duplicates += 1;
                    if *first != created {
                        result.moved += 1;
                    }
                    result.first_duplicate.get_or_insert_with(|| {
                        format!(
                            "{key} on pages {page} and {} (created_at {first} then {created})",
                            result.pages
                        )
                    });
                }
                None => {
                    seen.insert(key, (created, result.pages));
                }
            }
            result.walked += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                result.finished = true;
                break;
            }
        }
    }
    result
}

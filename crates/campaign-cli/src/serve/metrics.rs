//! `GET /metrics`: Prometheus text exposition through `prometheus-client`.
//!
//! - `campaigns_http_requests_total{route, status}` and
//!   `campaigns_http_request_duration_seconds{route, status}` (histogram);
//! - `campaigns_provider_requests_total{source}` and
//!   `campaigns_provider_retries_total{source}`: read at scrape time from
//!   the same counters `list`'s progress line uses ([`Progress`]), which
//!   count the HTTP layer's own events;
//! - `campaigns_sync_runs_total{source, outcome}` and
//!   `campaigns_sync_changes_total{source, action}`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::progress::Progress;
use campaign_store::SourceReport;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncRunLabels {
    source: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    source: String,
    action: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

/// The server's metrics; cheap to clone (shared counters).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<HttpLabels, Counter>,
    latency: Family<HttpLabels, Histogram>,
    sync_runs: Family<SyncRunLabels, Counter>,
    sync_changes: Family<ChangeLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The provider counters of [`Progress`], exposed at each scrape.
#[derive(Debug)]
struct ProviderCounters(Progress);

impl Collector for ProviderCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.0.snapshot();
        for (name, help, value) in [
            (
                "campaigns_provider_requests",
                "Requests the providers answered, by source",
                (|p: &crate::progress::SourceProgress| p.pages) as fn(&_) -> u64,
            ),
            (
                "campaigns_provider_retries",
                "Requests to the providers retried, by source",
                |p: &crate::progress::SourceProgress| p.retries,
            ),
        ] {
            let mut metric = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (source, progress) in &snapshot {
                let labels = SourceLabels {
                    source: source.clone(),
                };
                ConstCounter::new(value(progress)).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

impl Metrics {
    /// Metrics whose provider counters come from `progress`.
    pub fn new(progress: Progress) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<HttpLabels, Counter>::default();
        let latency = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 33 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let sync_runs = Family::<SyncRunLabels, Counter>::default();
        let sync_changes = Family::<ChangeLabels, Counter>::default();
        registry.register(
            "campaigns_http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "campaigns_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and status",
            latency.clone(),
        );
        registry.register(
            "campaigns_sync_runs",
            "Background syncs of a source, by outcome (ok, failed, busy)",
            sync_runs.clone(),
        );
        registry.register(
            "campaigns_sync_changes",
            "Changes the background syncs wrote, by source and action",
            sync_changes.clone(),
        );
        registry.register_collector(Box::new(ProviderCounters(progress)));
        Self {
            registry: Arc::new(Mutex::new(registry)),
            requests,
            latency,
            sync_runs,
            sync_changes,
        }
    }

    /// Counts one answered request.
    fn observe(&self, route: String, status: u16, seconds: f64) {
        let labels = HttpLabels { route, status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Counts one source's sync run and the changes it wrote.
    pub fn sync(&self, report: &SourceReport) {
        let outcome = if report.busy.is_some() {
            "busy"
        } else if report.failed() {
            "failed"
        } else {
            "ok"
        };
        let source = report.source.clone();
        self.sync_runs
            .get_or_create(&SyncRunLabels {
                source: source.clone(),
                outcome,
            })
            .inc();
        for (action, count) in [
            ("added", report.added),
            ("updated", report.updated),
            ("deleted", report.deleted),
        ] {
            self.sync_changes
                .get_or_create(&ChangeLabels {
                    source: source.clone(),
                    action,
                })
                .inc_by(count);
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

/// The middleware counting every request by its route's pattern (never the
/// raw path: ids would make the label set grow without bound).
pub(crate) async fn track(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_series() {
        let progress = Progress::default();
        progress.item("cms");
        let metrics = Metrics::new(progress);
        metrics.observe("/v1/campaigns".into(), 200, 0.01);
        let text = metrics.render();
        for series in [
            "campaigns_http_requests_total{route=\"/v1/campaigns\",status=\"200\"} 1",
            "campaigns_http_request_duration_seconds_bucket",
            "campaigns_provider_requests_total{source=\"cms\"} 0",
            "campaigns_provider_retries_total{source=\"cms\"} 0",
            "# TYPE campaigns_sync_runs counter",
            "# TYPE campaigns_sync_changes counter",
        ] {
            assert!(text.contains(series), "{series} in\n{text}");
        }
    }
}

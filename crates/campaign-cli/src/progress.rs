//! Live per-source progress on a terminal's stderr.
//!
//! Pages and retries are counted from the HTTP layer's own `tracing` events
//! (one "ok" per answered request, one "retrying" per retry), so progress
//! needs no hooks in the providers; items come from the aggregate's events.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use campaign_http::events;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// What one source has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceProgress {
    /// Requests answered.
    pub pages: u64,
    /// Retries made.
    pub retries: u64,
    /// Campaigns delivered.
    pub items: u64,
    /// `Some(true)` once done, `Some(false)` once failed.
    pub finished: Option<bool>,
}

/// Shared per-source counters, fed by [`ProgressLayer`] and the list loop.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    sources: Arc<Mutex<BTreeMap<String, SourceProgress>>>,
}

impl Progress {
    fn update(&self, source: &str, change: impl FnOnce(&mut SourceProgress)) {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        // Called for every campaign listed: the name is copied only the first time.
        match sources.get_mut(source) {
            Some(progress) => change(progress),
            None => change(sources.entry(source.to_owned()).or_default()),
        }
    }

    /// Counts one campaign from `source`.
    pub fn item(&self, source: &str) {
        self.update(source, |p| p.items += 1);
    }

    /// Marks `source` finished, successfully or not.
    pub fn finished(&self, source: &str, ok: bool) {
        self.update(source, |p| p.finished = Some(ok));
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> BTreeMap<String, SourceProgress> {
        self.sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// One status line: `cc-main: 3 pages, 120 items | kore: 2 pages, 1 retry, 40 items`.
    pub fn line(&self) -> String {
        let mut line = String::new();
        for (index, (source, p)) in self.snapshot().iter().enumerate() {
            if index > 0 {
                line.push_str(" | ");
            }
            let _ = write!(line, "{source}: {} pages", p.pages);
            if p.retries > 0 {
                let _ = write!(line, ", {} retries", p.retries);
            }
            let _ = write!(line, ", {} items", p.items);
            match p.finished {
                Some(true) => line.push_str(" (done)"),
                Some(false) => line.push_str(" (failed)"),
                None => {}
            }
        }
        line
    }

    /// A layer that counts the HTTP layer's events into these counters.
    pub fn layer(&self) -> ProgressLayer {
        ProgressLayer {
            progress: self.clone(),
        }
    }
}

/// Redraws the progress line on stderr at most every 100 ms.
#[derive(Debug)]
pub struct Ticker {
    progress: Progress,
    last: Option<Instant>,
    drawn: bool,
}

impl Ticker {
    /// A ticker over `progress`.
    pub fn new(progress: Progress) -> Self {
        Self {
            progress,
            last: None,
            drawn: false,
        }
    }

    /// Redraws if the last draw is old enough.
    pub fn tick(&mut self) {
        let due = self
            .last
            .is_none_or(|at| at.elapsed() >= Duration::from_millis(100));
        if due {
            self.last = Some(Instant::now());
            self.drawn = true;
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K{}", self.progress.line());
            let _ = stderr.flush();
        }
    }

    /// Erases the line so later output starts clean.
    pub fn clear(&mut self) {
        if self.drawn {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K");
            let _ = stderr.flush();
            self.drawn = false;
        }
    }
}

/// The `tracing` layer behind [`Progress::layer`].
#[derive(Debug)]
pub struct ProgressLayer {
    progress: Progress,
}

#[derive(Default)]
struct HttpEvent {
    source: Option<String>,
    message: Option<String>,
}

impl Visit for HttpEvent {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "source" => self.source = Some(value.to_owned()),
            "message" => self.message = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "source" => self.source = Some(format!("{value:?}")),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for ProgressLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("campaign_http") {
            return;
        }
        let mut fields = HttpEvent::default();
        event.record(&mut fields);
        let (Some(source), Some(message)) = (fields.source, fields.message) else {
            return;
        };
        match message.as_str() {
            events::OK => self.progress.update(&source, |p| p.pages += 1),
            events::RETRYING => self.progress.update(&source, |p| p.retries += 1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn http_events_count_pages_and_retries_per_source() {
        let progress = Progress::default();
        let subscriber = tracing_subscriber::registry().with(progress.layer());
        tracing::subscriber::with_default(subscriber, || {
            // Emitted under the HTTP crate's target, as campaign-http does.
            tracing::debug!(target: "campaign_http::client", source = %"cc-main", attempt = 1, "{}", events::RETRYING);
            tracing::debug!(target: "campaign_http::client", source = %"cc-main", bytes = 10, "{}", events::OK);
            tracing::debug!(target: "campaign_http::client", source = %"kore", "{}", events::OK);
            tracing::debug!(target: "elsewhere", source = %"kore", "{}", events::OK);
        });
        progress.item("kore");
        progress.finished("kore", true);
        let counts = progress.snapshot();
        assert_eq!(counts["cc-main"].pages, 1);
        assert_eq!(counts["cc-main"].retries, 1);
        assert_eq!(counts["kore"].pages, 1);
        assert_eq!(
            progress.line(),
            "cc-main: 1 pages, 1 retries, 0 items | kore: 1 pages, 1 items (done)"
        );
    }
}

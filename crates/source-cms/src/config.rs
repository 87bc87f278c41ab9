//! What a CMS source needs to know, with documented defaults.

use std::collections::BTreeSet;
use std::time::Duration;

use campaign_core::SourceError;
use campaign_http::{check_base_url, HttpConfig, Url};

/// Contact centers fetched at once when no other bound is set.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Campaigns per page when the query sets no page size.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// How long a downloaded listing serves the continuation pages of a walk.
pub const DEFAULT_SNAPSHOT_TTL: Duration = Duration::from_secs(30);

/// The largest contact-center listing accepted, in bytes: 256 MiB, about
/// 800,000 campaigns of the spec's sample size. The API sends a contact
/// center's whole list in one response (it does not page), so the shared
/// client's 16 MiB default would refuse every listing of a center above
/// about 55,000 campaigns, on every try.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// What a rate-limited answer without `Retry-After` waits before its retry:
/// the spec documents no rate limit, so no window to wait out either, and
/// the ordinary backoff (milliseconds) would only be refused again.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);

/// Settings of a [`CmsSource`](crate::CmsSource).
#[derive(Debug, Clone)]
pub struct CmsConfig {
    /// The source's name: the `source` part of every campaign id. Required, non-empty.
    pub source_id: String,
    /// The CMS base URL, e.g. `https://cms.x.cc.exotel.com:443`. `https` is
    /// required; plain `http` only for loopback hosts unless
    /// [`HttpConfig::allow_insecure_http`] is set.
    pub base_url: String,
    /// The contact centers this source lists; at least one, no duplicates, none negative.
    pub contact_center_ids: Vec<i64>,
    /// Contact centers fetched at once. Default [`DEFAULT_CONCURRENCY`]; must be at least 1.
    pub concurrency: usize,
    /// How long one download serves the following pages of a walk (page
    /// tokens), so N pages cost one download instead of N. A walk's first
    /// page always downloads afresh. Zero disables reuse. Default
    /// [`DEFAULT_SNAPSHOT_TTL`].
    pub snapshot_ttl: Duration,
    /// What a record that is not a usable campaign (a field of the wrong
    /// type, no id) does: `false` (the default) skips it and reports it as
    /// a page warning naming the contact center, the record's index and id
    /// and the cause, so the rest of its contact center is still listed;
    /// `true` fails that contact center's listing instead.
    pub strict: bool,
    /// Timeouts, retries, body limit, user agent. [`CmsConfig::new`] raises
    /// the body limit to [`DEFAULT_MAX_BODY_BYTES`]; an `HttpConfig` set
    /// afterwards brings its own.
    pub http: HttpConfig,
}

impl CmsConfig {
    /// A configuration with defaults for everything but the essentials.
    pub fn new(
        source_id: impl Into<String>,
        base_url: impl Into<String>,
        contact_center_ids: Vec<i64>,
    ) -> Self {
        Self {
            source_id: source_id.into(),
            base_url: base_url.into(),
            contact_center_ids,
            concurrency: DEFAULT_CONCURRENCY,
            snapshot_ttl: DEFAULT_SNAPSHOT_TTL,
            strict: false,
            http: HttpConfig {
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                ..HttpConfig::default()
            },
        }
    }

    /// Checks the configuration and returns the parsed base URL.
    pub(crate) fn validate(&self) -> Result<Url, SourceError> {
        let id = self.source_id.as_str();
        if id.trim().is_empty() {
            return Err(SourceError::config("cms", "source_id must not be empty"));
        }
        if id.chars().any(char::is_control) {
            return Err(SourceError::config(
                id.escape_debug().to_string(),
                "source_id must not contain control characters",
            ));
        }
        let url = check_base_url(id, &self.base_url, self.http.allow_insecure_http)?;
        if self.contact_center_ids.is_empty() {
            return Err(SourceError::config(
                id,
                "contact_center_ids must name at least one contact center",
            ));
        }
        let mut seen = BTreeSet::new();
        for &center in &self.contact_center_ids {
            if center < 0 {
                return Err(SourceError::config(
                    id,
                    format!("contact center id {center} is negative"),
                ));
            }
            if !seen.insert(center) {
                return Err(SourceError::config(
                    id,
                    format!("contact center id {center} is listed twice"),
                ));
            }
        }
        if self.concurrency == 0 {
            return Err(SourceError::config(id, "concurrency must be at least 1"));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::ErrorKind;

    #[test]
    fn invalid_settings_fail_before_any_request() {
        let ok = CmsConfig::new("cms", "https://cms.example.com", vec![1, 2]);
        assert!(ok.validate().is_ok());
        assert_eq!(ok.concurrency, DEFAULT_CONCURRENCY);
        let cases = [
            (
                CmsConfig::new("", "https://cms.example.com", vec![1]),
                "source_id",
            ),
            (
                CmsConfig::new("cms", "http://cms.example.com", vec![1]),
                "loopback",
            ),
            (
                CmsConfig::new("cms", "https://cms.example.com", vec![]),
                "at least one",
            ),
            (
                CmsConfig::new("cms", "https://cms.example.com", vec![1, 1]),
                "twice",
            ),
            (
                CmsConfig::new("cms", "https://cms.example.com", vec![-1]),
                "negative",
            ),
            (
                CmsConfig {
                    concurrency: 0,
                    ..CmsConfig::new("cms", "https://cms.example.com", vec![1])
                },
                "concurrency",
            ),
        ];
        for (config, expected) in cases {
            let e = config.validate().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains(expected), "{e}");
        }
        let mut insecure = CmsConfig::new("cms", "http://cms.example.com", vec![1]);
        insecure.http.allow_insecure_http = true;
        assert!(insecure.validate().is_ok());
        assert!(CmsConfig::new("cms", "http://127.0.0.1:9", vec![0])
            .validate()
            .is_ok());
    }
}

//! What a Kore.ai source needs to know, with documented defaults and the
//! checks that run before any request.

use std::fmt;

use campaign_core::{Channel, Secret, SourceError};
use campaign_http::header::HeaderValue;
use campaign_http::{check_base_url, check_paging, check_source_id, HttpConfig, Url};

/// Largest `limit` sent to the server. Kore.ai documents no maximum for this
/// endpoint; its sibling contacts API allows 1 to 100, so we stay inside that.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The page size when neither the config nor the query sets one (the samples' 50).
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A client-side request quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute.
    pub per_minute: u32,
    /// Requests that may go out at once before the quota spaces them.
    pub burst: u32,
}

impl RateLimit {
    /// The limiter for a provider quota of `quota` requests in any minute
    /// (Kore.ai's is 60 per account): a burst of `quota / 6` (at least 1)
    /// and the rest of the quota as the rate, so `burst + per_minute` is at
    /// most `quota`.
    ///
    /// Why: a token bucket lets its whole burst out at once and refills at
    /// `per_minute` meanwhile, so a 60-second window can hold the burst plus
    /// a minute's refill. Burst and rate each equal to the quota would send
    /// nearly twice the quota in the first minute and earn 429s. A sixth
    /// still lets a small walk start at once. A quota of 1 is one request
    /// every 60 s (the slowest rate the limiter has).
    pub fn for_quota(quota: u32) -> Self {
        let burst = (quota / 6).max(1);
        Self {
            per_minute: quota.saturating_sub(burst).max(1),
            burst,
        }
    }
}

impl Default for RateLimit {
    /// [`RateLimit::for_quota`] of Kore.ai's documented 60 requests per
    /// minute per account: a burst of 10, then 50 a minute.
    fn default() -> Self {
        Self::for_quota(60)
    }
}

/// Settings of one Kore.ai campaigns source.
///
/// Build with [`KoreConfig::new`] and adjust the public fields; everything is
/// checked by [`KoreSource::new`](crate::KoreSource::new).
#[derive(Clone)]
pub struct KoreConfig {
    /// The source's name (the `source` part of every campaign id).
    pub source_id: String,
    /// The host, e.g. `https://platform.kore.ai`. `https` is required; `http`
    /// only for loopback hosts unless `http.allow_insecure_http` is set.
    pub base_url: String,
    /// The `streamId` path segment (the bot / app stream). Also the `iid`
    /// header unless [`KoreConfig::iid`] is set, so kept out of Debug output.
    pub stream_id: String,
    /// The `accountId` (query parameter and header). Treated as a credential.
    pub account_id: Secret,
    /// The `iid` header; `None` sends the stream id (what the docs' samples do).
    pub iid: Option<Secret>,
    /// Channels this source lists: voice, sms or both. Default both.
    pub channels: Vec<Channel>,
    /// Campaigns per request when the query sets no page size. Default 50,
    /// at most [`MAX_PAGE_SIZE`].
    pub page_size: u32,
    /// Pages requested at once per channel once the first page tells the
    /// total. Default 4; 1 pages sequentially.
    pub prefetch: usize,
    /// The client-side quota every request of this source (prefetches
    /// included) waits for. Default [`RateLimit::default`] (Kore.ai's 60
    /// requests a minute, never more in any minute); `None` turns it off
    /// (for the sandbox and tests).
    pub rate_limit: Option<RateLimit>,
    /// What a record that is not a usable campaign (a field of the wrong
    /// type, no id) does: `false` (the default) skips it and reports it as
    /// a page warning naming the request, the record's index and id and the
    /// cause; `true` fails its page instead.
    pub strict: bool,
    /// Timeouts, retries, body limits and the insecure-http switch.
    pub http: HttpConfig,
}

impl fmt::Debug for KoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KoreConfig")
            .field("source_id", &self.source_id)
            .field("base_url", &self.base_url)
            .field("stream_id", &"[REDACTED]")
            .field("account_id", &self.account_id)
            .field("iid", &self.iid)
            .field("channels", &self.channels)
            .field("page_size", &self.page_size)
            .field("prefetch", &self.prefetch)
            .field("rate_limit", &self.rate_limit)
            .field("strict", &self.strict)
            .field("http", &self.http)
            .finish()
    }
}

impl KoreConfig {
    /// A config with every default: both channels, page size 50, prefetch 4,
    /// at most 60 requests in any minute, `iid` equal to the stream id.
    pub fn new(
        source_id: impl Into<String>,
        base_url: impl Into<String>,
        stream_id: impl Into<String>,
        account_id: impl Into<Secret>,
    ) -> Self {
        Self {
            source_id: source_id.into(),
            base_url: base_url.into(),
            stream_id: stream_id.into(),
            account_id: account_id.into(),
            iid: None,
            channels: vec![Channel::Voice, Channel::Sms],
            page_size: DEFAULT_PAGE_SIZE,
            prefetch: 4,
            rate_limit: Some(RateLimit::default()),
            strict: false,
            http: HttpConfig::default(),
        }
    }

    /// Checks every setting; nothing is sent before this passes.
    pub(crate) fn validate(&self) -> Result<Validated, SourceError> {
        let id = self.source_id.as_str();
        let fail = |message: String| Err(SourceError::config(id, message));
        check_source_id(crate::PROVIDER, id)?;
        let base_url = check_base_url(id, &self.base_url, self.http.allow_insecure_http)?;
        if self.stream_id.trim().is_empty() || self.stream_id.chars().any(char::is_control) {
            return fail(
                "stream_id must be non-empty without control characters (CR, LF, ...)".into(),
            );
        }
        let account = header_value(id, "account_id", &self.account_id)?;
        let iid_secret = self
            .iid
            .clone()
            .unwrap_or_else(|| Secret::new(self.stream_id.clone()));
        let iid = header_value(id, "iid", &iid_secret)?;
        let mut channels: Vec<Channel> = Vec::new();
        for channel in &self.channels {
            if !matches!(channel, Channel::Voice | Channel::Sms) {
                return fail(format!(
                    "channel {channel} is not listed by Kore.ai (use voice and/or sms)"
                ));
            }
            if !channels.contains(channel) {
                channels.push(channel.clone());
            }
        }
        if channels.is_empty() {
            return fail("channels must name voice, sms or both".into());
        }
        check_paging(id, self.page_size, MAX_PAGE_SIZE, self.prefetch)?;
        if let Some(limit) = self.rate_limit {
            if limit.per_minute == 0 || limit.burst == 0 {
                return fail("rate_limit per_minute and burst must be at least 1".into());
            }
        }
        Ok(Validated {
            base_url,
            account,
            iid,
            channels,
        })
    }
}

/// The parts of a config that checking turned into ready values.
#[derive(Debug)]
pub(crate) struct Validated {
    pub(crate) base_url: Url,
    pub(crate) account: HeaderValue,
    pub(crate) iid: HeaderValue,
    pub(crate) channels: Vec<Channel>,
}

/// A credential as a sensitive header value; CR, LF and other control
/// characters are refused so no header can be injected.
fn header_value(source_id: &str, what: &str, value: &Secret) -> Result<HeaderValue, SourceError> {
    let invalid = || {
        SourceError::config(
            source_id,
            format!(
                "{what} must be non-empty visible text without CR, LF or other control characters"
            ),
        )
    };
    if value.is_empty() || value.has_control_chars() {
        return Err(invalid());
    }
    let mut header = HeaderValue::from_str(value.expose()).map_err(|_| invalid())?;
    header.set_sensitive(true);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::ErrorKind;

    fn config() -> KoreConfig {
        KoreConfig::new("kore-main", "https://platform.kore.ai", "st-123", "acc-1")
    }

    #[test]
    fn defaults_pass_and_iid_defaults_to_stream() {
        let valid = config().validate().unwrap();
        assert_eq!(valid.iid.to_str().unwrap(), "st-123");
        assert!(valid.iid.is_sensitive() && valid.account.is_sensitive());
        assert_eq!(valid.channels, [Channel::Voice, Channel::Sms]);
    }

    #[test]
    fn control_characters_and_bad_values_are_config_errors() {
        type Change = Box<dyn Fn(&mut KoreConfig)>;
        let cases: Vec<Change> = vec![
            Box::new(|c| c.stream_id = "st\r\nx: y".into()),
            Box::new(|c| c.account_id = "acc\nx".into()),
            Box::new(|c| c.iid = Some("iid\r".into())),
            Box::new(|c| c.account_id = "".into()),
            Box::new(|c| c.channels = vec![Channel::Chat]),
            Box::new(|c| c.channels.clear()),
            Box::new(|c| c.page_size = 0),
            Box::new(|c| c.page_size = MAX_PAGE_SIZE + 1),
            Box::new(|c| c.prefetch = 0),
            Box::new(|c| c.base_url = "http://kore.example".into()),
            Box::new(|c| {
                c.rate_limit = Some(RateLimit {
                    per_minute: 0,
                    burst: 1,
                })
            }),
        ];
        for (i, change) in cases.iter().enumerate() {
            let mut c = config();
            change(&mut c);
            let error = c.validate().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config, "case {i}: {error}");
            let text = format!("{error} {error:?}");
            assert!(
                !text.contains("acc-1") && !text.contains("acc\nx"),
                "case {i}: {text}"
            );
        }
    }

    /// A token bucket lets out its burst at once and then one request per
    /// refill interval, so a closed 60-second window holds at most
    /// `burst + per_minute` requests: never more than the quota.
    #[test]
    fn no_minute_holds_more_than_the_quota() {
        assert_eq!(
            RateLimit::default(),
            RateLimit {
                per_minute: 50,
                burst: 10
            }
        );
        assert_eq!(RateLimit::for_quota(1), RateLimit::for_quota(2));
        for quota in 2..=100_000 {
            let limit = RateLimit::for_quota(quota);
            assert!(limit.burst >= 1 && limit.per_minute >= 1, "{quota}");
            assert!(
                limit.burst + limit.per_minute <= quota,
                "{quota}: {limit:?}"
            );
            assert!(limit.burst >= quota / 6, "{quota}: starts fast");
        }
        let limit = RateLimit::for_quota(u32::MAX);
        assert!(u64::from(limit.burst) + u64::from(limit.per_minute) <= u64::from(u32::MAX));
    }

    #[test]
    fn debug_shows_no_credential() {
        let mut c = config();
        c.iid = Some("iid-456".into());
        let shown = format!("{c:?}");
        for secret in ["st-123", "acc-1", "iid-456"] {
            assert!(!shown.contains(secret), "{secret}: {shown}");
        }
        assert!(shown.contains("kore-main"), "{shown}");
    }
}

//! The properties the fuzz targets (`fuzz/`) and the proptest suite
//! (`tests/properties.rs`) both check, written once. Each function panics
//! exactly when its property is broken, which is what both harnesses catch.

use std::path::Path;
use std::sync::Arc;

use campaign_aggregate::{Aggregator, Cursor};
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Channel, ErrorKind, SourceError,
};
use campaign_testkit::{fixture_campaigns, InMemorySource};

/// The spec's CMS sample response.
pub const CMS_SAMPLE: &str = campaign_sandbox::samples::CMS_RESPONSE;
/// The spec's Kore voice sample response.
pub const KORE_VOICE_SAMPLE: &str = campaign_sandbox::samples::KORE_VOICE_RESPONSE;
/// The spec's Kore SMS sample response.
pub const KORE_SMS_SAMPLE: &str = campaign_sandbox::samples::KORE_SMS_RESPONSE;
/// The README's example config file.
pub const CONFIG_SAMPLE: &str = include_str!("../data/campaigns.toml");

const REQUEST: &str = "fuzz request";

/// A decoder's error must be typed and name its source and request.
fn check_error(error: &SourceError, source_id: &str, kinds: &[ErrorKind]) {
    assert!(
        kinds.contains(&error.kind()),
        "unexpected error kind: {error}"
    );
    assert_eq!(error.source_id(), source_id, "{error}");
    assert_eq!(error.request(), Some(REQUEST), "{error}");
}

fn check_ids(campaigns: &[Campaign], source_id: &str) {
    for campaign in campaigns {
        assert_eq!(&*campaign.id.source, source_id);
    }
}

/// `source_cms::decode_campaigns` on any bytes: campaigns of this source, or
/// a `Decode` error naming source and request; never a panic.
pub fn cms_decode(body: &[u8]) {
    match source_cms::decode_campaigns("cms-fuzz", REQUEST, body) {
        Ok(campaigns) => check_ids(&campaigns, "cms-fuzz"),
        Err(error) => check_error(&error, "cms-fuzz", &[ErrorKind::Decode]),
    }
}

/// `source_kore::decode_page` on any bytes (the first byte picks the
/// channel): campaigns of this source, or a `Decode` / `BadRequest` error
/// naming source and request; never a panic.
pub fn kore_decode(data: &[u8]) {
    let (channel, body) = match data.split_first() {
        Some((b, rest)) if b % 2 == 1 => (Channel::Sms, rest),
        Some((_, rest)) => (Channel::Voice, rest),
        None => (Channel::Voice, data),
    };
    match source_kore::decode_page("kore-fuzz", REQUEST, &channel, body) {
        Ok(page) => check_ids(&page.campaigns, "kore-fuzz"),
        Err(error) => check_error(
            &error,
            "kore-fuzz",
            &[ErrorKind::Decode, ErrorKind::BadRequest],
        ),
    }
}

/// `campaign_cli::config::Config::parse` on any text: a config or an error,
/// never a panic. No variable is set, so `*_env` keys fail cleanly too.
pub fn config_parse(text: &str) {
    let parsed =
        campaign_cli::config::Config::parse(Path::new("fuzz.toml"), text, &|_name: &str| None);
    if let Err(error) = parsed {
        // Formatting must not panic either.
        let _ = (error.to_string(), format!("{error:?}"));
    }
}

/// An aggregate of two in-memory sources, and a runtime to page it, for the
/// cursor property.
#[derive(Debug)]
pub struct CursorRig {
    runtime: tokio::runtime::Runtime,
    aggregate: Aggregator,
    query: CampaignQuery,
}

impl CursorRig {
    /// Two sources of fixture campaigns, pages of 3, sorted by name.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        let source = |id: &str, page: usize| -> Arc<dyn CampaignSource> {
            Arc::new(InMemorySource::new(id, fixture_campaigns(id)).with_page_size(page))
        };
        let aggregate = Aggregator::builder("fuzz")
            .source(source("east", 2))
            .source(source("west", 5))
            .build()
            .expect("a valid aggregate");
        let query = CampaignQuery::builder()
            .sort(campaign_core::Sort::asc(campaign_core::SortField::Name))
            .page_size(3)
            .build()
            .expect("a valid query");
        Self {
            runtime,
            aggregate,
            query,
        }
    }

    /// Every cursor of a full walk: seeds for mutation.
    pub fn sample_cursors(&self) -> Vec<String> {
        self.runtime.block_on(async {
            let mut cursors = Vec::new();
            let mut cursor: Option<Cursor> = None;
            loop {
                let page = self
                    .aggregate
                    .page(&self.query, cursor.as_ref())
                    .await
                    .expect("in-memory pages do not fail");
                match page.next {
                    Some(next) => {
                        cursors.push(next.as_str().to_owned());
                        cursor = Some(next);
                    }
                    None => return cursors,
                }
            }
        })
    }

    /// `Cursor::parse` on any text, and the aggregate's `page` with whatever
    /// it accepts: an `InvalidCursor` error or a page of at most the page
    /// size, never a panic; pages read on from there never repeat an id.
    pub fn check(&self, text: &str) {
        let Ok(cursor) = Cursor::parse(text) else {
            return;
        };
        self.runtime.block_on(async {
            let mut cursor = Some(cursor);
            let mut seen: Vec<CampaignId> = Vec::new();
            // A forged-but-valid cursor may only resume; bound the walk.
            for _ in 0..32 {
                match self.aggregate.page(&self.query, cursor.as_ref()).await {
                    Ok(page) => {
                        assert!(page.items.len() <= 3, "page larger than its size");
                        for campaign in page.items {
                            assert!(!seen.contains(&campaign.id), "id repeated after a cursor");
                            seen.push(campaign.id);
                        }
                        match page.next {
                            Some(next) => cursor = Some(next),
                            None => return,
                        }
                    }
                    Err(error) => {
                        assert_eq!(error.kind(), ErrorKind::InvalidCursor, "{error}");
                        return;
                    }
                }
            }
        });
    }
}

impl Default for CursorRig {
    fn default() -> Self {
        Self::new()
    }
}

//! The provider abstraction: fetch one page, and stream them all.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::capabilities::Capabilities;
use crate::error::Result;
use crate::model::Campaign;
use crate::paginate::{walk_pages, walk_parts};
use crate::query::CampaignQuery;
use crate::warning::Warning;

/// An opaque position in a source's listing. Only the source that issued it
/// understands its contents; callers store and hand it back.
///
/// Cheap to clone (shared text), since positions are copied per item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageToken(Arc<str>);

impl PageToken {
    /// Wraps a source-defined position.
    pub fn new(token: impl Into<String>) -> Self {
        Self(Arc::from(token.into()))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for PageToken {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PageToken {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(PageToken::new)
    }
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of a source's listing.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Page {
    /// The campaigns, in query order. They satisfy the filters the source
    /// pushes down (see [`Capabilities`]); the rest is applied by the walker.
    pub items: Vec<Campaign>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageToken>,
    /// The provider's count of matching campaigns, where it reports one.
    pub total_hint: Option<u64>,
    /// A token that reads this same page again, for a page read without
    /// one (a walk's first page): a source that binds a walk's pages
    /// together (Kore's walk id, which keeps its re-reads consistent) sets
    /// it, and the walker then records positions inside this page with it
    /// rather than with "the first page", which would start a new walk.
    pub this_page: Option<PageToken>,
    /// Tokens of the pages after `next`, in order, when the source already
    /// knows them (e.g. from a total page count). The walker then fetches
    /// `next` and these concurrently, up to [`WalkOptions::prefetch`].
    pub following: Vec<PageToken>,
    /// Anomalies worth reporting that did not stop the listing (e.g. a total
    /// count that changed mid-walk, a record skipped because it could not be
    /// decoded), without secrets.
    ///
    /// The walker logs them at warn level and hands them on with the page
    /// ([`walk_position_chunks`](crate::walk_position_chunks)), so an
    /// aggregate reports each one to its consumer, tagged with this source's
    /// id, as the page arrives. [`CampaignSource::stream`] only logs them.
    pub warnings: Vec<Warning>,
}

impl Page {
    /// A page of `items` continuing at `next`.
    pub fn new(items: Vec<Campaign>, next: Option<PageToken>) -> Self {
        Self {
            items,
            next,
            ..Self::default()
        }
    }

    /// Sets the provider's total count.
    pub fn with_total_hint(mut self, total: u64) -> Self {
        self.total_hint = Some(total);
        self
    }

    /// Sets the token that reads this page again (see [`Page::this_page`]).
    pub fn with_this_page(mut self, token: PageToken) -> Self {
        self.this_page = Some(token);
        self
    }

    /// Sets the known tokens after `next`.
    pub fn with_following(mut self, following: Vec<PageToken>) -> Self {
        self.following = following;
        self
    }

    /// Adds a warning.
    pub fn with_warning(mut self, warning: impl Into<Warning>) -> Self {
        self.warnings.push(warning.into());
        self
    }
}

/// How [`CampaignSource::stream`] walks a source's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkOptions {
    /// Pages fetched at once when the source announces them in
    /// [`Page::following`]. 1 walks sequentially.
    pub prefetch: usize,
    /// Most pages one walk fetches before it stops with a `Protocol` error,
    /// so a server that never says "done" cannot loop forever.
    pub max_pages: usize,
    /// The source's pages follow a unique key, as a database's keyset pages
    /// do, so no id comes twice from unchanging data. The walker then keeps
    /// no set of the ids it yielded, and a walk's memory does not grow with
    /// its length (about 16 bytes a campaign otherwise); `max_pages` still
    /// bounds it. A row whose sort value changes while the walk runs can be
    /// met again at its new place, and is then listed twice, as a walk
    /// resumed from a cursor page by page would list it.
    pub ids_unique: bool,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            prefetch: 1,
            max_pages: 100_000,
            ids_unique: false,
        }
    }
}

/// A provider of campaigns: the one interface every consumer sees.
///
/// Implementors write [`fetch_page`](CampaignSource::fetch_page); the provided
/// [`stream`](CampaignSource::stream) walks every page lazily, applies the
/// filters the source does not push down, and drops repeated ids.
///
/// Object-safe: use it as `Arc<dyn CampaignSource>`.
#[async_trait]
pub trait CampaignSource: Send + Sync + fmt::Debug + 'static {
    /// This source's configured name (the `source` part of every [`crate::CampaignId`]).
    fn id(&self) -> &str;

    /// The provider kind: `"cms"`, `"kore"` or a plugin's name.
    fn provider(&self) -> &str;

    /// What the source applies at the provider.
    fn capabilities(&self) -> Capabilities;

    /// Whether the filters and sorts that [`capabilities`](Self::capabilities)
    /// claims run at the provider (`true`, the default) or inside this source
    /// on everything the provider sent (`false`: e.g. a provider without
    /// filters, sorting or paging whose source does all three itself, as the
    /// CMS source does). The walker trusts `capabilities` either way; this
    /// only changes what is reported as running where (an aggregate's
    /// `explain`, the CLI's `sources`). Wrappers should forward it.
    fn capabilities_at_provider(&self) -> bool {
        true
    }

    /// Fetches the page at `token` (the first page for `None`).
    ///
    /// Items come in `query`'s sort order across pages and satisfy every
    /// filter the capabilities claim to push down; filters not pushed down may
    /// be left to the caller (the walker applies them).
    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page>;

    /// How the provided stream walks pages (prefetch, page cap).
    fn walk_options(&self) -> WalkOptions {
        WalkOptions::default()
    }

    /// Independent, separately ordered parts of this source for `query` (each
    /// with this source's id) that an aggregate may walk as separate merge
    /// inputs, each with its own prefetch and its own position. Together they
    /// list exactly what this source lists, each in `query`'s order.
    ///
    /// Empty (the default) means: walk the source whole. A source whose
    /// `fetch_page` has to merge several request streams page by page (and
    /// so cannot announce [`Page::following`]) returns those streams here.
    /// The result must depend only on the source's configuration and
    /// `query`, so that positions recorded per part stay valid.
    fn partitions(&self, query: &CampaignQuery) -> Vec<Arc<dyn CampaignSource>> {
        let _ = query;
        Vec::new()
    }

    /// Whether the provider can list this source's campaigns newest change
    /// first (`updated_at` descending, sorted and paged at the provider) at
    /// little cost, so a sync may read only what changed since its last
    /// run. It asks for `updated_at` descending with an `updated_from`
    /// range: the walker ends the listing at the first page past the range
    /// ([`CampaignQuery::beyond_sorted_range`]); a source that holds
    /// campaigns back across pages ends it itself. The sort is still
    /// checked (see [`Warning::sorted_locally`](crate::Warning::sorted_locally)),
    /// with the extra request of a probe spared when the query is
    /// [`sort_verified`](CampaignQuery::sort_verified).
    /// `false` (the default) means every sync reads the source whole.
    fn lists_changes_cheaply(&self) -> bool {
        false
    }

    /// For one of another source's [`partitions`](CampaignSource::partitions):
    /// its label as `key=value` (`contact_center=7`, `channel=sms`). The
    /// walker stamps it on the part's errors and warnings that do not name a
    /// partition yet, so a failure says which part failed while the others
    /// go on. `None` (the default) for a source walked whole.
    fn partition(&self) -> Option<String> {
        None
    }

    /// A page token that continues `query`'s listing right after `campaign`,
    /// for a source whose tokens are keyset marks (the last item's sort key
    /// and id) rather than page numbers or provider cursors.
    ///
    /// An aggregate's cursor then records the position after the last
    /// campaign it handed out as such a token. Without one (`None`, the
    /// default) it records the page token plus the items of that page
    /// already handed out, which repeats or skips campaigns when the data
    /// inside that page changes between two requests. Wrappers should
    /// forward it.
    fn token_after(&self, query: &CampaignQuery, campaign: &Campaign) -> Option<PageToken> {
        let _ = (query, campaign);
        None
    }

    /// Every matching campaign, in query order, fetched lazily page by page;
    /// a source with [`partitions`](CampaignSource::partitions) is walked
    /// part by part, each with its own prefetch, merged in query order.
    ///
    /// An error is yielded once and ends the stream; for a partitioned
    /// source it ends only its part (naming it), and the other parts go on. The stream owns what it
    /// needs, so it outlives the borrow of `query`.
    ///
    /// Page [warnings](Page::warnings) cannot travel in a stream of
    /// `Result<Campaign>`: here they are only logged (at warn level, with the
    /// source id and page number). To receive them, walk with
    /// [`walk_position_chunks`](crate::walk_position_chunks) or list through
    /// an aggregate, whose pages and events carry them.
    fn stream(self: Arc<Self>, query: &CampaignQuery) -> BoxStream<'static, Result<Campaign>> {
        let parts = self.partitions(query);
        if parts.is_empty() {
            walk_pages(self, query.clone())
        } else {
            walk_parts(parts, query.clone())
        }
    }
}

/// A shared, type-erased source.
pub type DynCampaignSource = dyn CampaignSource;

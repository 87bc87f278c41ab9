//! The checks themselves. Each returns an [`Outcome`] whose failure message
//! names the query and shows expected against actual ids.

use std::collections::HashSet;
use std::sync::Arc;

use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, ErrorKind, Filter, Page, PageToken,
    SourceError,
};
use futures::StreamExt;

use super::diff::{
    check_query, compare, first_out_of_order, ids, leak_context, mask, show, token_text,
};
use super::queries::{describe, only, semantic_queries};
use super::{Check, Outcome, SourceFactory};

/// Failure lines shown per check before the rest are only counted.
const SHOWN_FAILURES: usize = 5;

/// One page as `fetch_page` returned it, before the walker touched it.
pub(crate) struct RawPage {
    pub(crate) token: Option<PageToken>,
    pub(crate) items: Vec<Campaign>,
    pub(crate) following: Vec<PageToken>,
}

/// State shared by the checks of one run.
pub(crate) struct Suite {
    factory: Arc<dyn SourceFactory>,
    /// `factory.expected()`, asked once: the walks consult it many times.
    expected: Vec<Campaign>,
    pub(super) page_sizes: Vec<u32>,
    streamed: Option<Vec<Campaign>>,
    /// Debug (and Display) texts of sources and errors seen, and page
    /// tokens handed out, with where they came from.
    printed: Vec<(String, String)>,
}

impl Suite {
    pub(crate) fn new(factory: Arc<dyn SourceFactory>, page_sizes: Vec<u32>) -> Self {
        Self {
            expected: factory.expected(),
            factory,
            page_sizes,
            streamed: None,
            printed: Vec::new(),
        }
    }

    pub(crate) async fn run(&mut self, check: Check) -> Outcome {
        let result = match check {
            Check::StreamAll => self.stream_all().await,
            Check::Paging => self.paging().await,
            Check::QuerySemantics => self.query_semantics().await,
            Check::Capabilities => self.capabilities().await,
            Check::BadCredential => return self.bad_credential().await,
            Check::DropStream => self.drop_stream().await,
            Check::SendSyncSecrets => self.send_sync_secrets().await,
            Check::RawHint => self.raw_hint().await,
        };
        match result {
            Ok(()) => Outcome::Passed,
            Err(message) => Outcome::Failed(message),
        }
    }

    pub(super) async fn source(&mut self) -> Arc<dyn CampaignSource> {
        let source = self.factory.source().await;
        self.remember_source("source()", &source);
        source
    }

    fn remember_source(&mut self, origin: &str, source: &Arc<dyn CampaignSource>) {
        self.printed
            .push((format!("Debug of {origin}"), format!("{source:?}")));
        self.printed
            .push((format!("pretty Debug of {origin}"), format!("{source:#?}")));
    }

    fn remember_error(&mut self, error: &SourceError) {
        let kind = error.kind();
        self.printed
            .push((format!("Debug of a {kind} error"), format!("{error:?}")));
        self.printed
            .push((format!("Display of a {kind} error"), error.to_string()));
    }

    /// Streams `query` to the end, remembering any error for the secrets check.
    async fn collect(
        &mut self,
        source: &Arc<dyn CampaignSource>,
        query: &CampaignQuery,
    ) -> Result<Vec<Campaign>, SourceError> {
        let mut stream = Arc::clone(source).stream(query);
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(campaign) => items.push(campaign),
                Err(error) => {
                    self.remember_error(&error);
                    return Err(error);
                }
            }
        }
        Ok(items)
    }

    /// What `stream(all)` returns, fetched once per run.
    async fn streamed(&mut self) -> Result<Vec<Campaign>, String> {
        if let Some(streamed) = &self.streamed {
            return Ok(streamed.clone());
        }
        let source = self.source().await;
        let streamed = self
            .collect(&source, &CampaignQuery::all())
            .await
            .map_err(|e| format!("stream(all) failed: {e}"))?;
        self.streamed = Some(streamed.clone());
        Ok(streamed)
    }

    /// The base the query semantics are evaluated over: what `stream(all)`
    /// returns (the source's own normalization of each field), plus the
    /// expected campaigns it lost, which still belong in every result.
    pub(super) async fn all(&mut self) -> Result<Vec<Campaign>, String> {
        let mut all = self.streamed().await?;
        let seen: HashSet<CampaignId> = all.iter().map(|c| c.id.clone()).collect();
        all.extend(
            self.expected
                .iter()
                .filter(|c| !seen.contains(&c.id))
                .cloned(),
        );
        Ok(all)
    }

    /// The page size the semantic checks use: the smallest above 1, so
    /// results cross page boundaries.
    pub(super) fn crossing_page_size(&self) -> Option<u32> {
        self.page_sizes.iter().copied().filter(|&n| n > 1).min()
    }

    /// One raw `fetch_page`, remembering its error and the tokens it hands out.
    pub(super) async fn fetch_one(
        &mut self,
        source: &Arc<dyn CampaignSource>,
        query: &CampaignQuery,
        token: Option<PageToken>,
    ) -> Result<Page, String> {
        match source.fetch_page(query, token.clone()).await {
            Ok(page) => {
                for issued in page.next.iter().chain(&page.following) {
                    self.printed
                        .push(("a page token".to_owned(), issued.as_str().to_owned()));
                }
                Ok(page)
            }
            Err(error) => {
                self.remember_error(&error);
                Err(format!(
                    "fetch_page for {} at token {} failed: {error}",
                    describe(query),
                    token_text(&token)
                ))
            }
        }
    }

    /// Follows `next` tokens from `from` to the last page, raw.
    pub(super) async fn walk_raw(
        &mut self,
        source: &Arc<dyn CampaignSource>,
        query: &CampaignQuery,
        from: Option<PageToken>,
    ) -> Result<Vec<RawPage>, String> {
        let limit = self.expected.len() * 2 + 10;
        let mut pages = Vec::new();
        let mut token = from;
        loop {
            if pages.len() >= limit {
                return Err(format!(
                    "fetch_page for {} still announced a next page after {limit} pages",
                    describe(query)
                ));
            }
            let page = self.fetch_one(source, query, token.clone()).await?;
            let next = page.next.clone();
            pages.push(RawPage {
                token,
                items: page.items,
                following: page.following,
            });
            match next {
                Some(next) => token = Some(next),
                None => return Ok(pages),
            }
        }
    }

    async fn stream_all(&mut self) -> Result<(), String> {
        let all = self.streamed().await?;
        let mut expected = ids(&self.expected);
        expected.sort();
        let mut actual = ids(&all);
        actual.sort();
        match compare(&expected, &actual) {
            None => Ok(()),
            Some(diff) => Err(format!(
                "stream(all) must yield every expected campaign exactly once (ids sorted):\n  {diff}"
            )),
        }
    }

    async fn query_semantics(&mut self) -> Result<(), String> {
        let all = self.all().await?;
        let source = self.source().await;
        let mut failures = Vec::new();
        for query in semantic_queries(self.crossing_page_size()) {
            let label = describe(&query);
            match self.collect(&source, &query).await {
                Err(error) => failures.push(format!("stream({label}) failed: {error}")),
                Ok(got) => {
                    if let Some(diff) = check_query(&query, &all, &got) {
                        failures.push(format!(
                            "stream({label}) differs from the query semantics:\n  {diff}"
                        ));
                    }
                }
            }
        }
        summarize(failures)
    }

    async fn capabilities(&mut self) -> Result<(), String> {
        let source = self.source().await;
        let caps = source.capabilities();
        let queries = semantic_queries(self.crossing_page_size());
        let mut failures = Vec::new();
        for filter in caps.filters.iter().copied() {
            for query in queries.iter().filter(|q| filter.is_set_in(q)) {
                let alone = only(filter, query);
                let pages = match self.walk_raw(&source, query, None).await {
                    Ok(pages) => pages,
                    Err(message) => {
                        failures.push(message);
                        continue;
                    }
                };
                let bad = pages
                    .iter()
                    .enumerate()
                    .flat_map(|(i, p)| p.items.iter().map(move |c| (i, c)))
                    .find(|(_, c)| !alone.matches(c));
                if let Some((index, campaign)) = bad {
                    failures.push(format!(
                        "the source claims to push down the {filter} filter, but fetch_page for \
                         {} returned {} on page {index} with {filter} = {}",
                        describe(query),
                        campaign.id,
                        field_value(filter, campaign)
                    ));
                }
            }
        }
        for field in caps.sorts.iter().copied() {
            for query in queries
                .iter()
                .filter(|q| q.has_no_filter() && q.sort().is_some_and(|s| s.field == field))
            {
                let pages = match self.walk_raw(&source, query, None).await {
                    Ok(pages) => pages,
                    Err(message) => {
                        failures.push(message);
                        continue;
                    }
                };
                let raw: Vec<&Campaign> = pages.iter().flat_map(|p| &p.items).collect();
                if let Some(pair) = first_out_of_order(query, &raw) {
                    failures.push(format!(
                        "the source claims to sort by {} at the provider, but fetch_page for {} \
                         returned {pair}; raw order: {}",
                        field.as_str(),
                        describe(query),
                        show(&raw.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
                    ));
                }
            }
        }
        if let Some(cap) = caps.max_page_size {
            let query = CampaignQuery::all();
            match self.walk_raw(&source, &query, None).await {
                Err(message) => failures.push(message),
                Ok(pages) => {
                    let over = pages
                        .iter()
                        .enumerate()
                        .find(|(_, p)| u32::try_from(p.items.len()).map_or(true, |n| n > cap));
                    if let Some((index, page)) = over {
                        failures.push(format!(
                            "the source declares max_page_size {cap}, but fetch_page for all \
                             returned {} campaigns on page {index} (token {})",
                            page.items.len(),
                            token_text(&page.token)
                        ));
                    }
                }
            }
        }
        summarize(failures)
    }

    async fn bad_credential(&mut self) -> Outcome {
        let Some(source) = self.factory.source_with_bad_credential().await else {
            return Outcome::Skipped("the factory has no bad-credential source".to_owned());
        };
        self.remember_source("source_with_bad_credential()", &source);
        let first = Arc::clone(&source)
            .stream(&CampaignQuery::all())
            .next()
            .await;
        match first {
            Some(Err(error)) => {
                self.remember_error(&error);
                if error.kind() == ErrorKind::Unauthorized {
                    Outcome::Passed
                } else {
                    Outcome::Failed(format!(
                        "with a bad credential stream(all) must fail with an unauthorized \
                         error first:\n  expected kind: unauthorized\n  actual kind:   {}\n  \
                         error: {error}",
                        error.kind()
                    ))
                }
            }
            Some(Ok(campaign)) => Outcome::Failed(format!(
                "with a bad credential stream(all) must fail with an unauthorized error \
                 first, but it yielded campaign {}",
                campaign.id
            )),
            None => Outcome::Failed(
                "with a bad credential stream(all) must fail with an unauthorized error \
                 first, but it ended empty"
                    .to_owned(),
            ),
        }
    }

    async fn drop_stream(&mut self) -> Result<(), String> {
        let all = self.all().await?;
        let source = self.source().await;
        let size = self.crossing_page_size();
        let mut builder = CampaignQuery::builder();
        if let Some(size) = size {
            builder = builder.page_size(size);
        }
        let query = builder.build().unwrap_or_default();
        let label = describe(&query);
        // Never polled, then dropped after crossing the first page boundary,
        // so prefetched fetches are cancelled in flight.
        drop(Arc::clone(&source).stream(&query));
        let mut stream = Arc::clone(&source).stream(&query);
        let take = size.map_or(1, |n| n as usize + 1);
        for _ in 0..take {
            match stream.next().await {
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    self.remember_error(&error);
                    return Err(format!(
                        "stream({label}) failed before it was dropped: {error}"
                    ));
                }
                None => break,
            }
        }
        drop(stream);
        let again = self
            .collect(&source, &query)
            .await
            .map_err(|e| format!("streaming {label} again after dropping a stream failed: {e}"))?;
        match check_query(&query, &all, &again) {
            None => Ok(()),
            Some(diff) => Err(format!(
                "streaming {label} again after dropping a stream mid-way gave different \
                 results:\n  {diff}"
            )),
        }
    }

    async fn send_sync_secrets(&mut self) -> Result<(), String> {
        fn require_send_sync<T: Send + Sync + ?Sized>() {}
        require_send_sync::<Arc<dyn CampaignSource>>();
        let source = self.source().await;
        // Provoke an error so its text is checked even if no other check saw one.
        let bogus = PageToken::new("conformance-invalid-token");
        if let Err(error) = source.fetch_page(&CampaignQuery::all(), Some(bogus)).await {
            self.remember_error(&error);
        }
        let secrets: Vec<String> = self
            .factory
            .secrets()
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let mut failures = Vec::new();
        for (origin, text) in &self.printed {
            for secret in &secrets {
                if text.contains(secret.as_str()) {
                    failures.push(format!(
                        "{origin} contains secret {}: {}",
                        mask(secret),
                        leak_context(text, secret)
                    ));
                }
            }
        }
        // Every source() call prints the same Debug; report each leak once.
        let mut reported = std::collections::HashSet::new();
        failures.retain(|f| reported.insert(f.clone()));
        summarize(failures)
    }
}

pub(super) fn summarize(failures: Vec<String>) -> Result<(), String> {
    if failures.is_empty() {
        return Ok(());
    }
    let mut text: Vec<String> = failures.iter().take(SHOWN_FAILURES).cloned().collect();
    if failures.len() > SHOWN_FAILURES {
        text.push(format!("... and {} more", failures.len() - SHOWN_FAILURES));
    }
    Err(text.join("\n"))
}

/// The campaign's value for `filter`, for messages.
fn field_value(filter: Filter, c: &Campaign) -> String {
    fn or_none<T: std::fmt::Display>(value: Option<T>) -> String {
        value.map_or_else(|| "none".to_owned(), |v| v.to_string())
    }
    match filter {
        Filter::Channel => c.channel.to_string(),
        Filter::Status => or_none(c.status.as_ref()),
        Filter::Priority => or_none(c.priority),
        Filter::DialingMode => or_none(c.dialing_mode.as_ref()),
        Filter::CreatedRange => or_none(c.created_at.map(|t| t.to_rfc3339())),
        Filter::UpdatedRange => or_none(c.updated_at.map(|t| t.to_rfc3339())),
        Filter::Name => format!("{:?}", c.name),
    }
}

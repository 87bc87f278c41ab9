//! The conformance suite: the reference source passes it, and planted bugs
//! are each reported by the right check with the difference shown.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Filter, Page,
    PageToken, Result, Secret, SourceError,
};
use campaign_testkit::{
    fixture_campaigns, Check, CheckResult, Conformance, ConformanceReport, InMemorySource, Outcome,
    SourceFactory,
};

const TOKEN: &str = "s3cr3t-conformance-token";

/// Hands the suite clones of an [`InMemorySource`].
struct MemoryFactory {
    source: InMemorySource,
    bad: Option<InMemorySource>,
}

impl MemoryFactory {
    /// A source requiring [`TOKEN`], and one presenting a wrong token.
    fn guarded(configure: impl Fn(InMemorySource) -> InMemorySource) -> Self {
        let base =
            configure(InMemorySource::new("mem", fixture_campaigns("mem"))).require_token(TOKEN);
        Self {
            source: base.clone().with_token(TOKEN),
            bad: Some(base.with_token("wrong-token")),
        }
    }
}

#[async_trait]
impl SourceFactory for MemoryFactory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        Arc::new(self.source.clone())
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        self.bad
            .clone()
            .map(|s| Arc::new(s) as Arc<dyn CampaignSource>)
    }

    fn expected(&self) -> Vec<Campaign> {
        self.source.campaigns().to_vec()
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.to_owned()]
    }
}

fn assert_all_passed(report: &ConformanceReport) {
    report.assert_passed();
    for result in &report.results {
        assert_eq!(result.outcome, Outcome::Passed, "{result}");
    }
    assert_eq!(report.results.len(), Check::ALL.len());
}

#[tokio::test]
async fn in_memory_source_passes_every_check() {
    let report = Conformance::new(MemoryFactory::guarded(|s| s)).run().await;
    assert_all_passed(&report);
}

#[tokio::test]
async fn in_memory_source_passes_with_local_filters_capped_pages_and_prefetch() {
    let factory = MemoryFactory::guarded(|s| {
        s.with_capabilities(Capabilities {
            filters: [Filter::Status, Filter::CreatedRange, Filter::Name].into(),
            sorts: [campaign_core::SortField::Name].into(),
            max_page_size: Some(5),
            server_paging: true,
        })
        .with_page_size(4)
        .with_prefetch(3)
    });
    let report = Conformance::new(factory).page_sizes([2, 5]).run().await;
    assert_all_passed(&report);
}

#[tokio::test]
async fn local_only_source_passes_and_skips_are_reported() {
    let factory = MemoryFactory {
        source: InMemorySource::new("mem", fixture_campaigns("mem"))
            .with_capabilities(Capabilities::local_only()),
        bad: None,
    };
    let report = Conformance::new(factory).skip(Check::Paging).run().await;
    report.assert_passed();
    let skipped = |check| match &report.result(check).unwrap().outcome {
        Outcome::Skipped(reason) => reason.clone(),
        other => panic!("{check} was {other:?}"),
    };
    assert!(skipped(Check::Paging).contains("caller"));
    assert!(skipped(Check::BadCredential).contains("no bad-credential source"));
    assert!(report.to_string().contains("SKIP paging"));
}

/// The bug planted in a [`Faulty`] source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `next` points one past the page end, skipping an item per boundary.
    SkipsItem,
    /// Every later page starts with the previous page's last item.
    RepeatsItem,
    /// Claims to push down the status filter but never applies it.
    IgnoresPushedStatus,
    /// Debug prints the access token.
    LeaksToken,
    /// A rejected credential comes back as `Forbidden`.
    ForbiddenOnBadCredential,
    /// Tokens name no position: the server keeps one cursor per session.
    SessionCursor,
    /// Descending sorts come back ascending.
    IgnoresSortDirection,
    /// Panics on name filters.
    PanicsOnName,
    /// Never answers a page after the first.
    HangsAfterFirstPage,
}

/// An offset-paging source with full capabilities and one planted bug.
struct Faulty {
    campaigns: Vec<Campaign>,
    fault: Fault,
    token: Secret,
    valid: bool,
    /// Where the session cursor stands ([`Fault::SessionCursor`]).
    cursor: AtomicUsize,
}

impl fmt::Debug for Faulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Faulty");
        s.field("fault", &self.fault);
        if self.fault == Fault::LeaksToken {
            s.field("token", &self.token.expose());
        } else {
            s.field("token", &self.token);
        }
        s.finish_non_exhaustive()
    }
}

const FAULTY_PAGE_SIZE: usize = 7;

#[async_trait]
impl CampaignSource for Faulty {
    fn id(&self) -> &str {
        "faulty"
    }

    fn provider(&self) -> &str {
        "faulty"
    }

    fn capabilities(&self) -> Capabilities {
        InMemorySource::full_capabilities()
    }

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        if !self.valid {
            let kind = match self.fault {
                Fault::ForbiddenOnBadCredential => ErrorKind::Forbidden,
                _ => ErrorKind::Unauthorized,
            };
            return Err(SourceError::new(kind, "faulty", "credential rejected"));
        }
        if self.fault == Fault::PanicsOnName && query.name_contains().is_some() {
            panic!("name filters are not implemented");
        }
        let mut applied = self.capabilities();
        if self.fault == Fault::IgnoresPushedStatus {
            applied.filters.remove(&Filter::Status);
        }
        let pushdown = applied.split(query).pushdown;
        let mut matching: Vec<&Campaign> = self
            .campaigns
            .iter()
            .filter(|c| pushdown.matches(c))
            .collect();
        // The ascending sort, used for every direction by IgnoresSortDirection.
        let order = match query.sort() {
            Some(sort) if self.fault == Fault::IgnoresSortDirection => {
                let asc = campaign_core::Sort::asc(sort.field);
                query.to_builder().unsorted().sort(asc).build().unwrap()
            }
            _ => query.clone(),
        };
        matching.sort_by(|a, b| order.compare(a, b));
        let len = matching.len();
        let offset = match (&token, self.fault) {
            (None, _) => 0,
            (Some(_), Fault::SessionCursor) => self.cursor.load(Ordering::SeqCst),
            (Some(t), _) => t.as_str().parse::<usize>().map_err(|_| {
                SourceError::new(ErrorKind::InvalidCursor, "faulty", "not an offset")
            })?,
        }
        .min(len);
        if self.fault == Fault::HangsAfterFirstPage && token.is_some() {
            futures::future::pending::<()>().await;
        }
        let size = query.page_size().map_or(FAULTY_PAGE_SIZE, |n| n as usize);
        let start = if self.fault == Fault::RepeatsItem {
            offset.saturating_sub(1)
        } else {
            offset
        };
        let end = (offset + size).min(len);
        self.cursor.store(end, Ordering::SeqCst);
        let items = matching[start..end].iter().map(|c| (*c).clone()).collect();
        let next = (end < len).then(|| match self.fault {
            Fault::SkipsItem => PageToken::new((end + 1).to_string()),
            Fault::SessionCursor => PageToken::new("more"),
            _ => PageToken::new(end.to_string()),
        });
        Ok(Page::new(items, next))
    }
}

struct FaultyFactory(Fault);

impl FaultyFactory {
    fn make(&self, valid: bool) -> Arc<dyn CampaignSource> {
        Arc::new(Faulty {
            campaigns: fixture_campaigns("faulty"),
            fault: self.0,
            token: Secret::new(TOKEN),
            valid,
            cursor: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl SourceFactory for FaultyFactory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        self.make(true)
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        Some(self.make(false))
    }

    fn expected(&self) -> Vec<Campaign> {
        fixture_campaigns("faulty")
    }

    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.to_owned()]
    }
}

async fn run(fault: Fault) -> ConformanceReport {
    Conformance::new(FaultyFactory(fault)).run().await
}

/// The failed result of `check`, after checking the report's failures are
/// exactly `failed`.
fn failure(report: &ConformanceReport, check: Check, failed: &[Check]) -> String {
    let got: Vec<Check> = report.failures().iter().map(|r| r.check).collect();
    assert_eq!(got, failed, "{report}");
    let result: &CheckResult = report.result(check).unwrap();
    let text = result.to_string();
    assert!(
        text.starts_with(&format!("FAIL {}: ", check.as_str())),
        "{text}"
    );
    assert!(text.contains(result.message().unwrap()));
    text
}

/// Fixture ids in id order (the order of an unsorted query).
fn sorted_ids() -> Vec<CampaignId> {
    let mut ids: Vec<CampaignId> = fixture_campaigns("faulty")
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_skipped_item_is_reported_missing() {
    let report = run(Fault::SkipsItem).await;
    let text = failure(
        &report,
        Check::StreamAll,
        &[
            Check::StreamAll,
            Check::Paging,
            Check::QuerySemantics,
            Check::DropStream,
        ],
    );
    // Pages of 7 starting at 0, 8, 16, 24, 32: the item after each page is lost.
    let ids = sorted_ids();
    let lost: Vec<String> = [7, 15, 23, 31, 39]
        .iter()
        .map(|&i| ids[i].to_string())
        .collect();
    assert!(
        text.contains(&format!("missing: [{}]", lost.join(", "))),
        "{text}"
    );
    let paging = report.result(Check::Paging).unwrap().to_string();
    // Half the items are lost at page size 1 (21 pages, the last empty);
    // expected counts all 40 although stream(all) lost some too.
    assert!(
        paging.contains("walking fetch_page for page_size=1 (residual filter applied) gave a gap")
            && paging.contains("expected (40)")
            && paging.contains("actual   (20)")
            && paging.contains("... and 11 more pages"),
        "{paging}"
    );
}

#[tokio::test]
async fn a_repeated_item_is_reported_with_both_pages() {
    let report = run(Fault::RepeatsItem).await;
    // stream() drops repeats, so only the raw walk sees the bug.
    let text = failure(&report, Check::Paging, &[Check::Paging]);
    let first = sorted_ids()[0].to_string();
    assert!(
        text.contains(&format!(
            "walking fetch_page for page_size=1: {first} on page 1 (token \"1\") repeats an \
             item of page 0 (token none)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("page 0 (token none): [{first}]")),
        "{text}"
    );
}

#[tokio::test]
async fn an_ignored_pushed_down_filter_is_reported_with_the_query() {
    let report = run(Fault::IgnoresPushedStatus).await;
    let text = failure(
        &report,
        Check::Capabilities,
        &[Check::Paging, Check::QuerySemantics, Check::Capabilities],
    );
    assert!(
        text.contains(
            "the source claims to push down the status filter, but fetch_page for \
             statuses=[active] page_size=3 returned"
        ),
        "{text}"
    );
    let semantics = report.result(Check::QuerySemantics).unwrap().to_string();
    assert!(
        semantics
            .contains("stream(statuses=[active] page_size=3) differs from the query semantics")
            && semantics.contains("unexpected: [faulty:"),
        "{semantics}"
    );
}

#[tokio::test]
async fn a_token_in_debug_is_reported_without_repeating_it() {
    let report = run(Fault::LeaksToken).await;
    let text = failure(&report, Check::SendSyncSecrets, &[Check::SendSyncSecrets]);
    assert!(
        text.contains("Debug of source() contains secret s3c… (24 chars)"),
        "{text}"
    );
    assert!(text.contains("token: \"<s3c… (24 chars)>\""), "{text}");
    assert!(
        !text.contains(TOKEN),
        "the report repeats the secret: {text}"
    );
}

#[tokio::test]
async fn a_bad_credential_of_the_wrong_kind_is_reported() {
    let report = run(Fault::ForbiddenOnBadCredential).await;
    let text = failure(&report, Check::BadCredential, &[Check::BadCredential]);
    assert!(text.contains("expected kind: unauthorized"), "{text}");
    assert!(text.contains("actual kind:   forbidden"), "{text}");
}

#[tokio::test]
async fn tokens_that_do_not_resume_are_reported() {
    let report = run(Fault::SessionCursor).await;
    let text = failure(&report, Check::Paging, &[Check::Paging]);
    let second = sorted_ids()[1].to_string();
    assert!(
        text.contains(
            "fetching page 1 of page_size=1 again from its token \"more\" gave a different page"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("missing: [{second}]")), "{text}");
}

#[tokio::test]
async fn a_wrong_sort_direction_names_the_first_out_of_order_pair() {
    let report = run(Fault::IgnoresSortDirection).await;
    let text = failure(
        &report,
        Check::QuerySemantics,
        &[Check::QuerySemantics, Check::Capabilities],
    );
    assert!(
        text.contains("first out-of-order pair for sort=created_at:desc:"),
        "{text}"
    );
    assert!(text.contains("order differs at position 0"), "{text}");
    let caps = report.result(Check::Capabilities).unwrap().to_string();
    assert!(
        caps.contains("claims to sort by name at the provider, but fetch_page for sort=name:desc page_size=3 returned"),
        "{caps}"
    );
}

#[tokio::test]
async fn a_panicking_source_fails_its_check_and_the_run_goes_on() {
    let report = run(Fault::PanicsOnName).await;
    let text = failure(
        &report,
        Check::QuerySemantics,
        &[Check::QuerySemantics, Check::Capabilities],
    );
    assert!(
        text.contains("the source panicked: name filters are not implemented"),
        "{text}"
    );
    assert_eq!(
        report.result(Check::SendSyncSecrets).unwrap().outcome,
        Outcome::Passed
    );
}

#[tokio::test]
async fn a_hanging_source_fails_instead_of_blocking() {
    let report = Conformance::new(FaultyFactory(Fault::HangsAfterFirstPage))
        .timeout(Duration::from_millis(100))
        .skip(Check::Capabilities)
        .skip(Check::QuerySemantics)
        .run()
        .await;
    let text = failure(
        &report,
        Check::StreamAll,
        &[
            Check::StreamAll,
            Check::Paging,
            Check::DropStream,
            Check::RawHint,
        ],
    );
    assert!(text.contains("did not finish within 100ms"), "{text}");
}

#[tokio::test]
#[should_panic(expected = "1 of 8 conformance checks failed:\nFAIL bad_credential")]
async fn assert_passed_lists_the_failures() {
    run(Fault::ForbiddenOnBadCredential).await.assert_passed();
}

//! A `Send` wrapper around `HttpClient::execute`.
//!
//! `campaign_http::HttpClient::execute` (at commit 7f70feb) keeps its attempt
//! counter and retry-budget flag in `std::cell::Cell`s that its retry
//! closures borrow across awaits, so its future is not `Send`, while
//! `CampaignSource::fetch_page` must be. Delete this module once
//! campaign-http keeps those in atomics (source-cms carries the same shim).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use campaign_core::SourceError;
use campaign_http::{ApiRequest, Auth, HttpClient};

/// [`HttpClient::execute`] as a `Send` future.
pub(crate) fn execute<'a>(
    client: &'a HttpClient,
    request: &'a ApiRequest,
    auth: Auth<'a>,
) -> impl Future<Output = Result<Bytes, SourceError>> + Send + 'a {
    AssertSend(Box::pin(client.execute(request, auth)))
}

struct AssertSend<F>(Pin<Box<F>>);

// SAFETY: the only non-`Send` state in `execute`'s future is shared
// references to `Cell`s owned by that same (boxed, pinned) future. None of
// them escapes it: moving the future to another thread moves the cells with
// it, and `poll(&mut self)` guarantees one thread touches them at a time.
// Everything else it holds is `Send` (`&HttpClient`, `&ApiRequest`, and
// `Auth`'s `Send + Sync` trait objects).
unsafe impl<F> Send for AssertSend<F> {}

impl<F: Future> Future for AssertSend<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

//! A `Send` wrapper for `HttpClient::execute`.
//!
//! `campaign_http::HttpClient::execute` (at commit 7f70feb) keeps its attempt
//! counter and budget flag in `std::cell::Cell`s that its retry closures
//! borrow, so its future is not `Send`, and `CampaignSource::fetch_page` /
//! `TokenProvider::token` must be. Remove this module once campaign-http uses
//! atomics there.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use campaign_core::SourceError;
use campaign_http::{ApiRequest, Auth, HttpClient};

/// Sends `request` through `client` (see [`HttpClient::execute`]), as a `Send` future.
pub(crate) fn execute<'a>(
    client: &'a HttpClient,
    request: &'a ApiRequest,
    auth: Auth<'a>,
) -> impl Future<Output = Result<Bytes, SourceError>> + Send + 'a {
    AssertSend(Box::pin(client.execute(request, auth)))
}

struct AssertSend<F>(Pin<Box<F>>);

// SAFETY: the only non-`Send` parts of `execute`'s future are references to
// `Cell`s that live inside that same future; no reference to them escapes it
// or is handed to another task or thread. Moving the whole future between
// threads moves the cells with it, and `poll` takes `&mut self`, so they are
// never touched from two threads at once. All arguments are `Sync` references
// (`HttpClient`, `ApiRequest`, and `Auth`'s `Send + Sync` trait objects).
unsafe impl<F> Send for AssertSend<F> {}

impl<F: Future> Future for AssertSend<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

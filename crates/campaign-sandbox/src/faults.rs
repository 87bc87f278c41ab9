//! Fault injection: what can go wrong, and how a response is bent to show it.

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures::stream::{self, StreamExt};

/// Something a provider's campaign endpoint does wrong on purpose.
///
/// Inject with [`ProviderControl::inject`](crate::ProviderControl::inject).
/// Faults apply only to the provider's campaign endpoint (never to the CMS
/// or Genesys token endpoints), one use per request, in injection order: the
/// first injected response fault that still has uses left shapes the
/// response. The data faults ([`Fault::PageDrift`], [`Fault::WrongTotalResults`],
/// [`Fault::IgnoreSkip`], [`Fault::NextUriForever`], [`Fault::SortNameRequired`],
/// [`Fault::TiesReversed`] and [`Fault::SortIgnored`]) apply alongside it: each listing request that
/// passes authentication and validation takes one use of every data fault
/// queued (on the CMS too, where only `PageDrift` has an effect). Injected
/// with `times` `None`, a fault lasts until cleared, e.g. for a whole walk.
///
/// Genesys answers errors in its `ErrorBody` shape (`message`, `code`,
/// `status`, `contextId`, ...), with the documented `code` for the status
/// (e.g. 503 `service.unavailable`; `sandbox.status.N` where the spec lists
/// none), and every answer carries `ININ-Correlation-Id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and the provider's error body (CMS:
    /// `statusCode`/`status`/`errorCode`/`errorMessage`; Kore:
    /// `{"status":"error","message":...}`; Genesys: `ErrorBody`), before
    /// authentication.
    Status(u16),
    /// Answer 429 with this `Retry-After` and the provider's error body (Kore:
    /// the documented per-minute rate-limit message; Genesys:
    /// `too.many.requests` with its `limit`, plus `inin-ratelimit-allowed`
    /// and `-count`, and `inin-ratelimit-reset` when `Retry-After` is in
    /// seconds).
    RateLimited(RetryAfter),
    /// Genesys: answer 429 `too.many.requests` without `Retry-After` but
    /// with `inin-ratelimit-reset: N`, the header the spec says to fall back
    /// on (§5.3). CMS and Kore, which have no such header: the same as
    /// `RateLimited(RetryAfter::None)`.
    RateLimitedResetHeader(u64),
    /// Answer with this status (any: 400, 403, 500, even 200) and the
    /// rate-limit error body, without `Retry-After`: the vendor documents
    /// Kore's rate-limit message but not which status carries it. Kore:
    /// `{"status":"error","message":`[`KORE_RATE_LIMIT_MESSAGE`](crate::KORE_RATE_LIMIT_MESSAGE)`}`;
    /// CMS: its error body with `errorMessage` `"Too many requests"`;
    /// Genesys: the `too.many.requests` body. A status below 200 (not a
    /// final response) or above 999 counts as 500.
    RateLimitedWithStatus(u16),
    /// Answer `502 Bad Gateway` with an HTML page, as a proxy would.
    HtmlError,
    /// Answer with the real JSON body cut in half.
    TruncatedJson,
    /// Answer with the real body, but one field has the wrong type (Kore: the
    /// first result's `priority` is an object, or `data.totalResults` is a
    /// string when there are no results; CMS: the first record's
    /// `campaignContextId` is the string `"x"`, or the body is an object
    /// instead of an array when there are no records; Genesys: the first
    /// entity's `name` is the number `7`, or `total` is a string when there
    /// are no entities).
    WrongFieldType,
    /// Answer with the real body, but one optional field of the first record
    /// is malformed while its id stays valid (Kore: the first result's
    /// `contactLists` is the number `7`; CMS: the first record's `processId`
    /// is the string `"x"`; Genesys: the first entity's `contactList` is the
    /// number `7`). A body without records, or an error body, is left alone.
    BadOptionalField,
    /// Genesys: leave out every empty array of the body (an empty page's
    /// `entities`, `dncLists: []`, `errors: []`, ...), which the spec says a
    /// client must accept (§2.3, §4.4, §8.7). Key order is not kept. No
    /// effect on the CMS and Kore.
    OmitEmptyArrays,
    /// Send the real body in 16-byte chunks, pausing this long before each.
    SlowDrip(Duration),
    /// Send a 200 status, a `Content-Length` of 1 MiB and the first bytes of a
    /// body, then close the connection.
    DropConnection,
    /// Answer 200 with a valid JSON body of at least this many bytes
    /// (streamed, without `Content-Length`).
    Oversized(usize),
    /// Answer `302 Found` with `Location:` the
    /// [other host](crate::Sandbox::other_host_url) plus the same path and query.
    RedirectOtherHost,
    /// After each listing request, insert one new campaign that is newer than
    /// every other (Kore: of the requested type; CMS: in the requested
    /// contact center), so offset paging sorted by `createdAt desc` drifts.
    /// Genesys: the campaign is also named to sort first by name
    /// (`0 Drift Campaign N`) and copies the references (contact list, DNC
    /// lists, queue, edge group, response set, division) of the listing's
    /// first match, so page-number paging by name drifts too.
    PageDrift,
    /// Kore: report `totalResults` 10 higher than the truth, and `totalPages`
    /// computed from that; `hasMore` stays truthful. Genesys: `total`,
    /// `pageCount` and `lastUri` likewise; `nextUri` stays truthful. No
    /// effect on the CMS, which does not page.
    WrongTotalResults,
    /// Kore: ignore `skip`/`page` and always serve the first page, while still
    /// echoing the requested offset in `skip` and reporting `hasMore` as if it
    /// had been honoured. Genesys: likewise serve page 1 whatever
    /// `pageNumber` says, with `pageNumber` and the links as if honoured. No
    /// effect on the CMS.
    IgnoreSkip,
    /// Genesys: send `nextUri` (to the page after) on every page, the last
    /// one and those past the end included, while `total`, `pageCount`,
    /// `lastUri` and the entities stay truthful: a client that follows
    /// `nextUri` alone never stops. No effect on the CMS and Kore.
    NextUriForever,
    /// Kore: enforce the spec's `sortBy.name` row ("must be included if any
    /// sort field is used"): a request whose `sortBy` has any key but not
    /// `name` gets 400 `{"status":"error","message":"sortBy.name must be
    /// included if any sort field is used"}`. With `name` among the keys (in
    /// any position), or without `sortBy`, it sorts as usual, by the keys in
    /// the order given. No effect on the CMS.
    SortNameRequired,
    /// Kore and Genesys: break ties of every sort key by id descending
    /// instead of ascending. No effect on the CMS.
    TiesReversed,
    /// Kore: accept and validate `sortBy` but ignore it, serving records in
    /// storage order (paging still honoured). Storage order is insertion
    /// order: for the sample and generated data a fixed seeded order that no
    /// sort gives; for [`ProviderControl::load_campaigns`](crate::ProviderControl::load_campaigns)
    /// the order given; page-drift inserts last. Overrides
    /// [`Fault::TiesReversed`]. Genesys: likewise ignores `sortBy` and
    /// `sortOrder` (filters and paging still honoured). No effect on the CMS.
    SortIgnored,
    /// Kore: page first, sort after: each page is cut from storage order (as
    /// under [`Fault::SortIgnored`]) and only its own records are sorted as
    /// asked, so every page looks sorted and the listing is not. A server
    /// built that way passes any check made inside one page. No effect on
    /// the CMS and Genesys.
    SortedPerPage,
}

/// The `Retry-After` header of [`Fault::RateLimited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <IMF-fixdate>`, this long after the response is made.
    HttpDate(Duration),
    /// No `Retry-After` header.
    None,
}

impl RetryAfter {
    pub(crate) fn header_value(&self) -> Option<String> {
        match self {
            RetryAfter::Seconds(secs) => Some(secs.to_string()),
            RetryAfter::HttpDate(after) => {
                Some(httpdate::fmt_http_date(SystemTime::now() + *after))
            }
            RetryAfter::None => None,
        }
    }
}

/// When in a request's life a fault acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultStage {
    /// Replaces the response before authentication or validation.
    Early,
    /// Bends the response the endpoint would have sent.
    Body,
    /// Changes how the listing is computed (Kore paging, data drift).
    Data,
}

impl Fault {
    pub(crate) fn stage(&self) -> FaultStage {
        match self {
            Fault::Status(_)
            | Fault::RateLimited(_)
            | Fault::RateLimitedWithStatus(_)
            | Fault::RateLimitedResetHeader(_)
            | Fault::HtmlError
            | Fault::DropConnection
            | Fault::Oversized(_)
            | Fault::RedirectOtherHost => FaultStage::Early,
            Fault::TruncatedJson
            | Fault::WrongFieldType
            | Fault::BadOptionalField
            | Fault::OmitEmptyArrays
            | Fault::SlowDrip(_) => FaultStage::Body,
            Fault::PageDrift
            | Fault::WrongTotalResults
            | Fault::IgnoreSkip
            | Fault::NextUriForever
            | Fault::SortNameRequired
            | Fault::TiesReversed
            | Fault::SortIgnored
            | Fault::SortedPerPage => FaultStage::Data,
        }
    }
}

/// The data-stage faults taken for one listing request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DataFaults {
    pub(crate) drift: bool,
    pub(crate) wrong_total: bool,
    pub(crate) ignore_skip: bool,
    pub(crate) next_uri_forever: bool,
    pub(crate) sort_name_required: bool,
    pub(crate) ties_reversed: bool,
    pub(crate) sort_ignored: bool,
    pub(crate) sorted_per_page: bool,
}

/// One injected fault and how many more requests it applies to.
#[derive(Debug)]
struct ActiveFault {
    fault: Fault,
    remaining: Option<usize>,
}

/// Random failures: a fraction of requests answered with one status.
#[derive(Debug)]
struct FailureRate {
    rate: f64,
    status: u16,
    // Seeded so a failing test run can be replayed.
    rng: rand::rngs::StdRng,
}

/// The faults active on one provider, in injection order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    active: Vec<ActiveFault>,
    failure_rate: Option<FailureRate>,
}

impl FaultQueue {
    pub(crate) fn inject(&mut self, fault: Fault, times: Option<usize>) {
        if times == Some(0) {
            return;
        }
        self.active.push(ActiveFault {
            fault,
            remaining: times,
        });
    }

    pub(crate) fn clear(&mut self) {
        self.active.clear();
        self.failure_rate = None;
    }

    pub(crate) fn set_failure_rate(&mut self, rate: f64, status: u16) {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self.failure_rate = (rate > 0.0).then(|| FailureRate {
            rate,
            status,
            rng: rand::SeedableRng::seed_from_u64(0x5eed),
        });
    }

    fn random_failure(&mut self) -> Option<Fault> {
        let failure = self.failure_rate.as_mut()?;
        rand::Rng::gen_bool(&mut failure.rng, failure.rate).then_some(Fault::Status(failure.status))
    }

    /// Takes (consumes one use of) the earliest active early- or body-stage fault.
    pub(crate) fn take_response_fault(&mut self) -> Option<Fault> {
        match self
            .active
            .iter()
            .position(|a| a.fault.stage() != FaultStage::Data)
        {
            Some(index) => Some(self.consume(index)),
            None => self.random_failure(),
        }
    }

    /// Takes one use of every active data-stage fault.
    pub(crate) fn take_data_faults(&mut self) -> DataFaults {
        let mut taken = DataFaults::default();
        let mut index = 0;
        while index < self.active.len() {
            if self.active[index].fault.stage() != FaultStage::Data {
                index += 1;
                continue;
            }
            let before = self.active.len();
            match self.consume(index) {
                Fault::PageDrift => taken.drift = true,
                Fault::WrongTotalResults => taken.wrong_total = true,
                Fault::IgnoreSkip => taken.ignore_skip = true,
                Fault::NextUriForever => taken.next_uri_forever = true,
                Fault::SortNameRequired => taken.sort_name_required = true,
                Fault::TiesReversed => taken.ties_reversed = true,
                Fault::SortIgnored => taken.sort_ignored = true,
                Fault::SortedPerPage => taken.sorted_per_page = true,
                _ => {}
            }
            if self.active.len() == before {
                index += 1;
            }
        }
        taken
    }

    fn consume(&mut self, index: usize) -> Fault {
        let entry = &mut self.active[index];
        match &mut entry.remaining {
            None => entry.fault.clone(),
            Some(left) if *left > 1 => {
                *left -= 1;
                entry.fault.clone()
            }
            Some(_) => self.active.remove(index).fault,
        }
    }
}

/// A JSON body with `status`, as both emulators answer.
pub(crate) fn json(status: StatusCode, body: impl Into<Body>) -> Response<Body> {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

/// `response` with a `Retry-After` of `retry_after`, when given.
pub(crate) fn with_retry_after(
    mut response: Response<Body>,
    retry_after: Option<String>,
) -> Response<Body> {
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// An HTML error page as a proxy would send it.
pub(crate) fn html_error(status: u16) -> Response<Body> {
    let code = status_code(status);
    let reason = code.canonical_reason().unwrap_or("Error");
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\
         <body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>\n"
    );
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(page))
        .unwrap_or_default()
}

/// `302 Found` to the same path and query on another host.
pub(crate) fn redirect(other_host_url: &str, path_and_query: &str) -> Response<Body> {
    let location = format!("{other_host_url}{path_and_query}");
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A 200 that promises a long body, sends its first bytes, then breaks the connection.
pub(crate) fn drop_connection(first_bytes: &'static str) -> Response<Body> {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(first_bytes.as_bytes())),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection dropped",
        )),
    ];
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "1048576")
        .body(Body::from_stream(stream::iter(chunks)))
        .unwrap_or_default()
}

/// A valid JSON body of about `bytes` bytes: `prefix`, `record` repeated with
/// commas, then `suffix` of the number of records (so a body can state its
/// own count); streamed so the sandbox never holds it in memory.
pub(crate) fn oversized(
    prefix: &'static str,
    record: String,
    suffix: impl FnOnce(usize) -> String,
    bytes: usize,
) -> Response<Body> {
    let record = Bytes::from(record);
    let count = (bytes / (record.len() + 1)).max(1);
    let suffix = suffix(count);
    let body = stream::iter(std::iter::once(Bytes::from_static(prefix.as_bytes())))
        .chain(stream::iter((0..count).map(move |i| {
            if i == 0 {
                record.clone()
            } else {
                let mut chunk = Vec::with_capacity(record.len() + 1);
                chunk.push(b',');
                chunk.extend_from_slice(&record);
                Bytes::from(chunk)
            }
        })))
        .chain(stream::iter(std::iter::once(Bytes::from(suffix))))
        .map(Ok::<Bytes, Infallible>);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_default()
}

/// Applies a body-stage fault to a finished response. `rewrite` is the
/// provider's JSON edit for [`Fault::WrongFieldType`] and
/// [`Fault::BadOptionalField`].
pub(crate) async fn bend_body(
    fault: &Fault,
    response: Response<Body>,
    rewrite: fn(&Fault, &mut serde_json::Value),
) -> Response<Body> {
    if matches!(fault, Fault::WrongFieldType | Fault::BadOptionalField) {
        return edit_json(response, |value| rewrite(fault, value)).await;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    match fault {
        Fault::TruncatedJson => {
            let cut = bytes.slice(..bytes.len() / 2);
            Response::from_parts(parts, Body::from(cut))
        }
        Fault::SlowDrip(chunk_delay) => {
            let delay = *chunk_delay;
            let chunks: Vec<Bytes> = bytes.chunks(16).map(Bytes::copy_from_slice).collect();
            let body = stream::iter(chunks).then(move |chunk| async move {
                tokio::time::sleep(delay).await;
                Ok::<Bytes, Infallible>(chunk)
            });
            Response::from_parts(parts, Body::from_stream(body))
        }
        _ => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// A finished response with its JSON body edited by `edit`; a body that is
/// not JSON is left as it is.
pub(crate) async fn edit_json(
    response: Response<Body>,
    edit: impl FnOnce(&mut serde_json::Value),
) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let edited = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut value) => {
            edit(&mut value);
            Bytes::from(value.to_string())
        }
        Err(_) => bytes,
    };
    Response::from_parts(parts, Body::from(edited))
}

/// A status code from a number, falling back to 500 for out-of-range values.
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The status of [`Fault::RateLimitedWithStatus`]: 1xx is no final response
/// (hyper would swap it for an empty 500), so it becomes 500 here, with the body.
pub(crate) fn final_status(status: u16) -> u16 {
    if (200..=999).contains(&status) {
        status
    } else {
        500
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_faults_apply_in_injection_order_and_run_out() {
        let mut queue = FaultQueue::default();
        queue.inject(Fault::Status(503), Some(2));
        queue.inject(Fault::TruncatedJson, Some(1));
        queue.inject(Fault::IgnoreSkip, None);
        assert_eq!(queue.take_response_fault(), Some(Fault::Status(503)));
        assert_eq!(queue.take_response_fault(), Some(Fault::Status(503)));
        assert_eq!(queue.take_response_fault(), Some(Fault::TruncatedJson));
        assert_eq!(queue.take_response_fault(), None);
        assert!(queue.take_data_faults().ignore_skip);
        assert!(queue.take_data_faults().ignore_skip);
        queue.clear();
        assert_eq!(queue.take_data_faults(), DataFaults::default());
    }

    #[test]
    fn a_failure_rate_fails_about_that_fraction_after_queued_faults() {
        let mut queue = FaultQueue::default();
        queue.inject(Fault::HtmlError, Some(1));
        queue.set_failure_rate(0.25, 502);
        assert_eq!(queue.take_response_fault(), Some(Fault::HtmlError));
        let failed = (0..4000)
            .filter(|_| queue.take_response_fault() == Some(Fault::Status(502)))
            .count();
        assert!((800..1200).contains(&failed), "{failed} of 4000");
        queue.clear();
        assert_eq!(queue.take_response_fault(), None);
        queue.set_failure_rate(f64::NAN, 500);
        assert_eq!(queue.take_response_fault(), None);
    }

    #[test]
    fn data_faults_combine_and_zero_times_is_a_no_op() {
        let mut queue = FaultQueue::default();
        queue.inject(Fault::Status(500), Some(0));
        queue.inject(Fault::PageDrift, Some(1));
        queue.inject(Fault::WrongTotalResults, Some(2));
        queue.inject(Fault::NextUriForever, Some(1));
        assert_eq!(queue.take_response_fault(), None);
        let first = queue.take_data_faults();
        assert!(first.drift && first.wrong_total && first.next_uri_forever);
        let second = queue.take_data_faults();
        assert!(!second.drift && second.wrong_total && !second.next_uri_forever);
        assert_eq!(queue.take_data_faults(), DataFaults::default());
        queue.inject(Fault::SortNameRequired, None);
        queue.inject(Fault::TiesReversed, Some(1));
        queue.inject(Fault::SortIgnored, Some(2));
        let sort = queue.take_data_faults();
        assert!(sort.sort_name_required && sort.ties_reversed && sort.sort_ignored);
        let sort = queue.take_data_faults();
        assert!(sort.sort_name_required && !sort.ties_reversed && sort.sort_ignored);
        for _ in 0..3 {
            let sort = queue.take_data_faults();
            assert!(sort.sort_name_required && !sort.sort_ignored);
        }
        assert_eq!(queue.take_response_fault(), None);
    }

    #[test]
    fn final_status_keeps_final_statuses_only() {
        for (given, used) in [
            (200, 200),
            (403, 403),
            (599, 599),
            (0, 500),
            (101, 500),
            (1000, 500),
        ] {
            assert_eq!(final_status(given), used);
        }
    }

    #[test]
    fn retry_after_formats_all_forms() {
        assert_eq!(RetryAfter::Seconds(7).header_value().as_deref(), Some("7"));
        assert_eq!(RetryAfter::None.header_value(), None);
        let date = RetryAfter::HttpDate(Duration::from_secs(30))
            .header_value()
            .unwrap();
        let parsed = httpdate::parse_http_date(&date).unwrap();
        assert!(parsed > SystemTime::now());
    }
}

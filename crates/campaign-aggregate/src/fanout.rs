//! Fan-out and merge: every source walked concurrently from its position,
//! merged into one stream of signals, cut off at the overall deadline.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{ready, Poll};
use std::time::Duration;

use campaign_core::{
    merge_sorted, walk_positions, CampaignQuery, CampaignSource, ErrorKind, Positioned, Result,
    SourceError, SourcePosition,
};
use futures::stream::{self, BoxStream, StreamExt};

use crate::limit::AbortOnDrop;

/// How one merge input (a source, or one part of a partitioned source) ended.
#[derive(Debug)]
pub(crate) enum SourceEnd {
    /// Part `part` of source `source` failed; it yields nothing more in this listing.
    Failed {
        source: usize,
        part: usize,
        error: SourceError,
    },
    /// Part `part` of source `source` ended cleanly.
    Done { source: usize, part: usize },
}

/// A campaign tagged with the source (and part of it) it came from, and the
/// position after it in that part.
#[derive(Debug)]
pub(crate) struct Tagged {
    pub(crate) source: usize,
    pub(crate) part: usize,
    pub(crate) positioned: Positioned,
}

/// What the merged listing reports, in order: the next campaign, or an
/// input's end. A `Result` because the merge passes errors through the
/// moment they arrive, so failures and ends are reported without waiting for
/// the order (and the common case, a campaign, needs no extra allocation).
pub(crate) type Signal = std::result::Result<Tagged, SourceEnd>;

/// One merge input: a source, or one part of a partitioned source
/// ([`CampaignSource::partitions`]), walked from `from`.
pub(crate) struct Start {
    pub(crate) source: usize,
    pub(crate) part: usize,
    pub(crate) walk: Arc<dyn CampaignSource>,
    pub(crate) from: SourcePosition,
}

/// One input's walk as merge input: its campaigns, then its failure or its end.
///
/// One hand-written layer rather than `map`/`chain`/`scan`: every layer
/// moves each ~400-byte campaign again, which is a visible part of a
/// listing's per-item cost.
fn input(
    source: usize,
    part: usize,
    mut walk: BoxStream<'static, Result<Positioned>>,
) -> BoxStream<'static, Signal> {
    let mut ended = false;
    stream::poll_fn(move |cx| {
        if ended {
            return Poll::Ready(None);
        }
        let signal = match ready!(walk.poll_next_unpin(cx)) {
            Some(Ok(positioned)) => Ok(Tagged {
                source,
                part,
                positioned,
            }),
            // The walker ends after an error: that input is failed, not done.
            Some(Err(error)) => {
                ended = true;
                Err(SourceEnd::Failed {
                    source,
                    part,
                    error,
                })
            }
            None => {
                ended = true;
                Err(SourceEnd::Done { source, part })
            }
        };
        Poll::Ready(Some(signal))
    })
    .boxed()
}

/// Most signals the read-ahead task hands over at once. Handing over chunks
/// rather than single signals wakes the consumer (and the pump) once per
/// chunk instead of once per campaign, which is most of the per-item cost of
/// a sorted listing over many sources.
const READ_AHEAD_CHUNK: usize = 64;

/// Runs `input` ahead of its consumer in its own task, holding about
/// `capacity` signals (in chunks of at most [`READ_AHEAD_CHUNK`], of what is
/// ready at once), so an input's next page is fetched while the merge still
/// works through the current one. Without this a sorted merge asks each
/// input for its next page only when it needs that input's head, one at a
/// time, and wall time grows with the number of sources.
///
/// At most `capacity` signals wait in the channel, plus one chunk in the
/// pump and one being consumed, so memory stays bounded per input.
///
/// The task starts on first poll (inside the runtime) and is aborted when the
/// stream is dropped. Outside a Tokio runtime the input is read in place.
fn read_ahead(input: BoxStream<'static, Signal>, capacity: usize) -> BoxStream<'static, Signal> {
    enum State {
        Idle(Option<BoxStream<'static, Signal>>),
        Inline(BoxStream<'static, Signal>),
        Pumping {
            rx: tokio::sync::mpsc::Receiver<Vec<Signal>>,
            chunk: std::vec::IntoIter<Signal>,
            _task: AbortOnDrop<()>,
        },
    }
    let chunk = capacity.clamp(1, READ_AHEAD_CHUNK);
    let chunks_buffered = (capacity / chunk).max(1);
    let mut state = State::Idle(Some(input));
    // One hand-written layer: the consumer side is on every campaign's path.
    stream::poll_fn(move |cx| loop {
        match &mut state {
            State::Idle(input) => {
                let Some(input) = input.take() else {
                    return Poll::Ready(None);
                };
                state = match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Signal>>(chunks_buffered);
                        let mut chunks = input.ready_chunks(chunk);
                        let task = runtime.spawn(async move {
                            while let Some(chunk) = chunks.next().await {
                                if tx.send(chunk).await.is_err() {
                                    return;
                                }
                            }
                        });
                        State::Pumping {
                            rx,
                            chunk: Vec::new().into_iter(),
                            _task: AbortOnDrop(task),
                        }
                    }
                    Err(_) => State::Inline(input),
                };
            }
            State::Inline(input) => return input.poll_next_unpin(cx),
            State::Pumping { rx, chunk, .. } => {
                if let Some(signal) = chunk.next() {
                    return Poll::Ready(Some(signal));
                }
                match ready!(rx.poll_recv(cx)) {
                    Some(next) => *chunk = next.into_iter(),
                    None => return Poll::Ready(None),
                }
            }
        }
    })
    .boxed()
}

/// Walks each start and merges them: a k-way merge by `query`'s order when it
/// sorts, arrival order otherwise. With `read_ahead_items`, each input runs
/// up to about that many campaigns ahead of the merge (whole listings);
/// without, inputs are read only on demand (pages, where every request
/// counts; announced pages are still prefetched by the walker).
pub(crate) fn merged(
    query: &CampaignQuery,
    starts: Vec<Start>,
    read_ahead_items: Option<usize>,
) -> BoxStream<'static, Signal> {
    let inputs: Vec<_> = starts
        .into_iter()
        .map(|start| {
            let walk = walk_positions(start.walk, query.clone(), start.from);
            let input = input(start.source, start.part, walk);
            match read_ahead_items {
                Some(capacity) => read_ahead(input, capacity),
                None => input,
            }
        })
        .collect();
    if query.sort().is_some() {
        let order = query.clone();
        merge_sorted(inputs, move |a: &Tagged, b: &Tagged| {
            order.compare(&a.positioned.campaign, &b.positioned.campaign)
        })
        .boxed()
    } else {
        stream::select_all(inputs).boxed()
    }
}

/// Ends `signals` at `limit` after the first poll, reporting every input
/// (`(source, part)`) still open then as a [`ErrorKind::Timeout`] failure.
pub(crate) fn with_deadline(
    signals: BoxStream<'static, Signal>,
    limit: Duration,
    source_ids: Arc<[String]>,
    open: Vec<(usize, usize)>,
) -> BoxStream<'static, Signal> {
    enum State {
        Running {
            signals: BoxStream<'static, Signal>,
            sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
            open: Vec<(usize, usize)>,
            // Carried in the state rather than cloned for every signal.
            source_ids: Arc<[String]>,
        },
        Expired(VecDeque<Signal>),
    }
    let start = State::Running {
        signals,
        sleep: None,
        open,
        source_ids,
    };
    stream::unfold(start, move |state| {
        async move {
            match state {
                State::Running {
                    mut signals,
                    sleep,
                    mut open,
                    source_ids,
                } => {
                    // Created on first poll, inside the runtime.
                    let mut sleep = sleep.unwrap_or_else(|| Box::pin(tokio::time::sleep(limit)));
                    tokio::select! {
                        biased;
                        () = &mut sleep => {
                            let mut late: VecDeque<Signal> = open
                                .iter()
                                .map(|&(source, part)| Err(SourceEnd::Failed {
                                    source,
                                    part,
                                    error: SourceError::new(
                                        ErrorKind::Timeout,
                                        source_ids[source].as_str(),
                                        format!("the aggregate's overall deadline of {limit:?} passed before this source finished"),
                                    ),
                                }))
                                .collect();
                            let first = late.pop_front()?;
                            Some((first, State::Expired(late)))
                        }
                        signal = signals.next() => {
                            let signal = signal?;
                            if let Err(SourceEnd::Failed { source, part, .. } | SourceEnd::Done { source, part }) = &signal {
                                let ended = (*source, *part);
                                open.retain(|input| *input != ended);
                            }
                            Some((signal, State::Running { signals, sleep: Some(sleep), open, source_ids }))
                        }
                    }
                }
                State::Expired(mut late) => {
                    let next = late.pop_front()?;
                    Some((next, State::Expired(late)))
                }
            }
        }
    })
    .boxed()
}

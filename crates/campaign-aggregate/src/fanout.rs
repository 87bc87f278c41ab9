//! Fan-out and merge: every source walked concurrently from its position,
//! merged into one stream of signals, cut off at the overall deadline.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{ready, Poll};
use std::time::Duration;

use campaign_core::{
    merge_sorted_chunks, walk_position_chunks, CampaignQuery, CampaignSource, ErrorKind, Merged,
    PositionChunk, Positioned, Result, SourceError, SourcePosition, Warning,
};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::Semaphore;
use tokio_util::task::AbortOnDropHandle;

/// What one merge input (a source, or one part of a partitioned source)
/// reports besides campaigns: how it ended, or a warning from one of its pages.
#[derive(Debug)]
pub(crate) enum SourceNote {
    /// Part `part` of source `source` failed; it yields nothing more in this listing.
    Failed {
        source: usize,
        part: usize,
        error: SourceError,
    },
    /// Part `part` of source `source` ended cleanly.
    Done { source: usize, part: usize },
    /// A page of source `source` carried this warning; the input goes on.
    Warned { source: usize, warning: Warning },
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
/// input's end or warning. A `Result` because the merge passes errors and
/// warnings through the moment it reaches them, so they are reported without
/// waiting for the order (and the common case, a campaign, needs no extra
/// allocation).
pub(crate) type Signal = std::result::Result<Tagged, SourceNote>;

/// One merge input: a source, or one part of a partitioned source
/// ([`CampaignSource::partitions`]), walked from `from`.
pub(crate) struct Start {
    pub(crate) source: usize,
    pub(crate) part: usize,
    pub(crate) walk: Arc<dyn CampaignSource>,
    pub(crate) from: SourcePosition,
}

/// Runs `input` ahead of its consumer in its own task, holding up to about
/// `items` campaigns of its pages (always at least one page), so an input's
/// next page is fetched while the merge still works through the current
/// one. Without this a sorted merge asks each input for its next page only
/// when it needs that input's head, one at a time, and wall time grows with
/// the number of sources.
///
/// Pages are handed over whole, which wakes the consumer (and the pump) once
/// per page rather than once per campaign. What waits is bounded by `items`
/// (counted through a semaphore, since pages differ in size), plus the page
/// in the pump, the one being merged and the walker's prefetch window, so
/// memory stays bounded per input whatever the provider's page size.
///
/// The task starts on first poll (inside the runtime) and is aborted when the
/// stream is dropped. Outside a Tokio runtime the input is read in place.
fn read_ahead(input: BoxStream<'static, Chunk>, items: usize) -> BoxStream<'static, Chunk> {
    enum State {
        Idle(Option<BoxStream<'static, Chunk>>),
        Inline(BoxStream<'static, Chunk>),
        Pumping {
            rx: tokio::sync::mpsc::UnboundedReceiver<Chunk>,
            room: Arc<Semaphore>,
            _task: AbortOnDropHandle<()>,
        },
    }
    let items = u32::try_from(items.max(1)).unwrap_or(u32::MAX);
    // The room a page takes; one larger than the whole room waits for all of it.
    let room_for = move |page: &Chunk| {
        u32::try_from(page.items.len())
            .unwrap_or(u32::MAX)
            .min(items)
    };
    let mut state = State::Idle(Some(input));
    stream::poll_fn(move |cx| loop {
        match &mut state {
            State::Idle(input) => {
                let Some(mut input) = input.take() else {
                    return Poll::Ready(None);
                };
                state = match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Chunk>();
                        let room = Arc::new(Semaphore::new(items as usize));
                        let pump_room = Arc::clone(&room);
                        let task = runtime.spawn(async move {
                            while let Some(page) = input.next().await {
                                let Ok(taken) = pump_room.acquire_many(room_for(&page)).await
                                else {
                                    return;
                                };
                                taken.forget();
                                if tx.send(page).is_err() {
                                    return;
                                }
                            }
                        });
                        State::Pumping {
                            rx,
                            room,
                            _task: AbortOnDropHandle::new(task),
                        }
                    }
                    Err(_) => State::Inline(input),
                };
            }
            State::Inline(input) => return input.poll_next_unpin(cx),
            State::Pumping { rx, room, .. } => {
                return Poll::Ready(ready!(rx.poll_recv(cx)).inspect(|page| {
                    room.add_permits(room_for(page) as usize);
                }));
            }
        }
    })
    .boxed()
}

/// One page of an input's walk: its campaigns (its error last if it
/// failed) and its warnings.
type Chunk = PositionChunk;

/// Walks each start and merges them: a k-way merge by `query`'s order when it
/// sorts, arrival order otherwise. With `read_ahead_items`, each input runs
/// up to about that many campaigns ahead of the merge (whole listings);
/// without, inputs are read only on demand (pages, where every request
/// counts; announced pages are still prefetched by the walker).
///
/// Inputs hand over whole pages and the merge says which input each
/// campaign came from, so no layer moves every campaign just to tag it. A
/// page's warnings come out when the merge reaches that page, before its
/// campaigns (sorted: once the input's earlier campaigns are out; unsorted:
/// as the page arrives).
pub(crate) fn merged(
    query: &CampaignQuery,
    starts: Vec<Start>,
    read_ahead_items: Option<usize>,
) -> BoxStream<'static, Signal> {
    let inputs: Vec<(usize, usize)> = starts.iter().map(|s| (s.source, s.part)).collect();
    let walks = starts.into_iter().map(|start| {
        let walk = walk_position_chunks(start.walk, query.clone(), start.from);
        match read_ahead_items {
            Some(items) => read_ahead(walk, items),
            None => walk,
        }
    });
    let events: BoxStream<'static, Merged<Positioned, SourceError, Warning>> =
        if query.sort().is_some() {
            let order = query.clone();
            merge_sorted_chunks(walks.collect(), move |a: &Positioned, b: &Positioned| {
                order.compare(&a.campaign, &b.campaign)
            })
            .boxed()
        } else {
            arrivals(walks)
        };
    signals(events, inputs)
}

/// The inputs' pages in arrival order, as the merge's events: each page's
/// warnings, its campaigns (and error), then the input's end. Pages, not
/// campaigns, go through `select_all`, which allocates for every element it
/// yields.
fn arrivals(
    walks: impl Iterator<Item = BoxStream<'static, Chunk>>,
) -> BoxStream<'static, Merged<Positioned, SourceError, Warning>> {
    let mut pages = stream::select_all(walks.enumerate().map(|(input, pages)| {
        pages
            .map(move |page| (input, Some(page)))
            .chain(stream::once(async move { (input, None) }))
            .boxed()
    }));
    // The arrived page: its warnings go out first, then its items; looked
    // at once per page, never per campaign.
    let mut warnings: (usize, std::vec::IntoIter<Warning>) = (0, Vec::new().into_iter());
    let mut current: Option<(usize, std::vec::IntoIter<Result<Positioned>>)> = None;
    stream::poll_fn(move |cx| loop {
        let (input, pending) = &mut warnings;
        if let Some(warning) = pending.next() {
            let input = *input;
            return Poll::Ready(Some(Merged::Warning { input, warning }));
        }
        if let Some((input, page)) = current.as_mut() {
            let input = *input;
            match page.next() {
                Some(Ok(item)) => return Poll::Ready(Some(Merged::Item { input, item })),
                Some(Err(error)) => return Poll::Ready(Some(Merged::Error { input, error })),
                None => current = None,
            }
        }
        match ready!(pages.poll_next_unpin(cx)) {
            Some((input, Some(page))) => {
                warnings = (input, page.warnings.into_iter());
                current = Some((input, page.items.into_iter()));
            }
            Some((input, None)) => return Poll::Ready(Some(Merged::Ended { input })),
            None => return Poll::Ready(None),
        }
    })
    .boxed()
}

/// The merge's events as signals: each input's index turned into its
/// source and part, and an input's end reported as done unless it failed.
fn signals(
    mut events: BoxStream<'static, Merged<Positioned, SourceError, Warning>>,
    inputs: Vec<(usize, usize)>,
) -> BoxStream<'static, Signal> {
    let mut failed = vec![false; inputs.len()];
    // One hand-written layer: it is on every campaign's path.
    stream::poll_fn(move |cx| loop {
        let Some(event) = ready!(events.poll_next_unpin(cx)) else {
            return Poll::Ready(None);
        };
        let signal = match event {
            Merged::Item { input, item } => {
                let (source, part) = inputs[input];
                Ok(Tagged {
                    source,
                    part,
                    positioned: item,
                })
            }
            Merged::Error { input, error } => {
                let (source, part) = inputs[input];
                failed[input] = true;
                Err(SourceNote::Failed {
                    source,
                    part,
                    error,
                })
            }
            Merged::Warning { input, warning } => Err(SourceNote::Warned {
                source: inputs[input].0,
                warning,
            }),
            // The walker yields nothing after an error (its last item), so an
            // input that failed ends right after: failed, not done.
            Merged::Ended { input } if failed[input] => continue,
            Merged::Ended { input } => {
                let (source, part) = inputs[input];
                Err(SourceNote::Done { source, part })
            }
        };
        return Poll::Ready(Some(signal));
    })
    .boxed()
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
                                .map(|&(source, part)| Err(SourceNote::Failed {
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
                            if let Err(SourceNote::Failed { source, part, .. } | SourceNote::Done { source, part }) = &signal {
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

//! Fan-out and merge: every source walked concurrently from its position,
//! merged into one stream of signals, cut off at the overall deadline.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    merge_sorted, walk_positions, CampaignQuery, CampaignSource, ErrorKind, Positioned, Result,
    SourceError, SourcePosition,
};
use futures::stream::{self, BoxStream, StreamExt};

/// How one source's walk ended.
#[derive(Debug)]
pub(crate) enum SourceEnd {
    /// Source `source` failed; it yields nothing more in this listing.
    Failed { source: usize, error: SourceError },
    /// Source `source` ended cleanly.
    Done { source: usize },
}

/// A campaign tagged with the source it came from, and the position after it.
#[derive(Debug)]
pub(crate) struct Tagged {
    pub(crate) source: usize,
    pub(crate) positioned: Positioned,
}

/// What the merged listing reports, in order: the next campaign, or a
/// source's end. A `Result` because the merge passes errors through the
/// moment they arrive, so failures and ends are reported without waiting for
/// the order (and the common case, a campaign, needs no extra allocation).
pub(crate) type Signal = std::result::Result<Tagged, SourceEnd>;

/// One source's walk as merge input: its campaigns, then its failure or its end.
fn input(
    source: usize,
    walk: BoxStream<'static, Result<Positioned>>,
) -> BoxStream<'static, Signal> {
    walk.map(move |item| match item {
        Ok(positioned) => Ok(Tagged { source, positioned }),
        Err(error) => Err(SourceEnd::Failed { source, error }),
    })
    .chain(stream::once(async move { Err(SourceEnd::Done { source }) }))
    .scan(false, |failed, item| {
        let item = match item {
            // The walker ends after an error: that source is failed, not done.
            Err(SourceEnd::Done { .. }) if *failed => None,
            Err(SourceEnd::Failed { .. }) => {
                *failed = true;
                Some(item)
            }
            other => Some(other),
        };
        futures::future::ready(item)
    })
    .boxed()
}

/// Runs `input` ahead of its consumer in its own task, holding at most
/// `capacity` signals, so a source's next page is fetched while the merge
/// still works through the current one. Without this a sorted merge asks
/// each source for its next page only when it needs that source's head, one
/// source at a time, and wall time grows with the number of sources.
///
/// The task starts on first poll (inside the runtime) and is aborted when the
/// stream is dropped. Outside a Tokio runtime the input is read in place.
fn read_ahead(input: BoxStream<'static, Signal>, capacity: usize) -> BoxStream<'static, Signal> {
    struct Pump {
        rx: tokio::sync::mpsc::Receiver<Signal>,
        _task: AbortOnDrop,
    }
    enum State {
        Idle(BoxStream<'static, Signal>),
        Inline(BoxStream<'static, Signal>),
        Pumping(Pump),
    }
    stream::unfold(State::Idle(input), move |state| async move {
        let state = match state {
            State::Idle(mut input) => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
                    let task = runtime.spawn(async move {
                        while let Some(signal) = input.next().await {
                            if tx.send(signal).await.is_err() {
                                return;
                            }
                        }
                    });
                    State::Pumping(Pump {
                        rx,
                        _task: AbortOnDrop(task),
                    })
                }
                Err(_) => State::Inline(input),
            },
            other => other,
        };
        match state {
            State::Pumping(mut pump) => {
                let signal = pump.rx.recv().await?;
                Some((signal, State::Pumping(pump)))
            }
            State::Inline(mut input) | State::Idle(mut input) => {
                let signal = input.next().await?;
                Some((signal, State::Inline(input)))
            }
        }
    })
    .boxed()
}

/// Aborts the read-ahead task when its stream is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Walks each `(index, source, position)` and merges them: a k-way merge by
/// `query`'s order when it sorts, arrival order otherwise. With
/// `read_ahead_items`, each source runs up to that many campaigns ahead of
/// the merge (whole listings); without, sources are read only on demand
/// (pages, where every request counts).
pub(crate) fn merged<S>(
    query: &CampaignQuery,
    starts: Vec<(usize, Arc<S>, SourcePosition)>,
    read_ahead_items: Option<usize>,
) -> BoxStream<'static, Signal>
where
    S: CampaignSource + ?Sized,
{
    let inputs: Vec<_> = starts
        .into_iter()
        .map(|(index, source, from)| {
            let input = input(index, walk_positions(source, query.clone(), from));
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

/// Ends `signals` at `limit` after the first poll, reporting every source
/// still open then as a [`ErrorKind::Timeout`] failure.
pub(crate) fn with_deadline(
    signals: BoxStream<'static, Signal>,
    limit: Duration,
    source_ids: Arc<[String]>,
    open: Vec<bool>,
) -> BoxStream<'static, Signal> {
    enum State {
        Running {
            signals: BoxStream<'static, Signal>,
            sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
            open: Vec<bool>,
        },
        Expired(VecDeque<Signal>),
    }
    let start = State::Running {
        signals,
        sleep: None,
        open,
    };
    stream::unfold(start, move |state| {
        let source_ids = Arc::clone(&source_ids);
        async move {
            match state {
                State::Running {
                    mut signals,
                    sleep,
                    mut open,
                } => {
                    // Created on first poll, inside the runtime.
                    let mut sleep = sleep.unwrap_or_else(|| Box::pin(tokio::time::sleep(limit)));
                    tokio::select! {
                        biased;
                        () = &mut sleep => {
                            let mut late: VecDeque<Signal> = open
                                .iter()
                                .enumerate()
                                .filter(|(_, is_open)| **is_open)
                                .map(|(source, _)| Err(SourceEnd::Failed {
                                    source,
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
                            if let Err(SourceEnd::Failed { source, .. } | SourceEnd::Done { source }) = &signal {
                                open[*source] = false;
                            }
                            Some((signal, State::Running { signals, sleep: Some(sleep), open }))
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

//! The one k-way ordered merge, shared by multi-channel sources and the aggregate.

use std::cmp::Ordering;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::stream::{BoxStream, Stream, StreamExt};

/// Merges streams that are each sorted by `compare` into one sorted stream.
///
/// Holds at most one item per input, so memory does not grow with the data.
/// An item is emitted only once every live input has a head, which is what
/// makes the output globally ordered. Errors pass through as soon as they
/// arrive and the input that produced one keeps being polled (it may end or
/// recover). Equal items come out in input order.
///
/// A loser tree picks the next item: after the first, each item costs one
/// comparison per tree level (`ceil(log2 k)` for `k` inputs), about half of
/// what a binary heap's pop and push take.
pub fn merge_sorted<'a, T, E, F>(
    inputs: Vec<BoxStream<'a, Result<T, E>>>,
    compare: F,
) -> MergeSorted<'a, T, E, F>
where
    F: Fn(&T, &T) -> Ordering,
{
    let inputs = inputs
        .into_iter()
        .map(|stream| ItemInput {
            stream: Some(stream),
            head: None,
        })
        .collect();
    MergeSorted(Merge::new(inputs, compare))
}

/// [`merge_sorted`] over inputs that arrive in chunks, such as
/// [`StreamExt::ready_chunks`] of a fallible stream or a page at a time.
///
/// The same order and ties, but each chunk is read where it lies: heads are
/// compared in their chunk and every item moves once, on its way out. That
/// matters when items are large and inputs are many (a sorted listing over
/// hundreds of sources), where moving each item through a per-item stream
/// layer costs more than comparing it. It holds one chunk per input (what
/// is left of it). An error passes through when the merge reaches it in its
/// chunk, i.e. once the items before it in that input are out; empty chunks
/// are skipped.
///
/// Each item and error comes with the index of the input it came from, and
/// each input's end is reported ([`Merged::Ended`], right after its last
/// item or error), so a caller can tell its inputs apart without wrapping
/// every item.
///
/// A chunk's [`warnings`](Chunk::warnings) come out ([`Merged::Warning`])
/// when the merge reaches that chunk, before its first item or error: they
/// take no part in the order, and a chunk without warnings costs nothing
/// extra (they are looked at once per chunk, never per item).
pub fn merge_sorted_chunks<'a, T, E, W, F>(
    inputs: Vec<BoxStream<'a, Chunk<T, E, W>>>,
    compare: F,
) -> MergeSortedChunks<'a, T, E, W, F>
where
    F: Fn(&T, &T) -> Ordering,
{
    let inputs = inputs
        .into_iter()
        .map(|stream| ChunkInput {
            stream: Some(stream),
            chunk: Vec::new().into_iter(),
            warnings: Vec::new().into_iter(),
            held: Vec::new(),
        })
        .collect();
    MergeSortedChunks(Merge::new(inputs, compare))
}

/// One chunk of a [`merge_sorted_chunks`] input (such as one page of a
/// walk): items and errors in order, and warnings that travel with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<T, E, W> {
    /// The items, in the input's order; an error passes through where it lies.
    pub items: Vec<Result<T, E>>,
    /// Notes about this chunk (rare; usually empty, which does not allocate),
    /// reported when the merge reaches the chunk.
    pub warnings: Vec<W>,
}

impl<T, E, W> Chunk<T, E, W> {
    /// A chunk of `items` without warnings.
    pub fn new(items: Vec<Result<T, E>>) -> Self {
        Self {
            items,
            warnings: Vec::new(),
        }
    }

    /// Sets the chunk's warnings.
    pub fn with_warnings(mut self, warnings: Vec<W>) -> Self {
        self.warnings = warnings;
        self
    }
}

impl<T, E, W> From<Vec<Result<T, E>>> for Chunk<T, E, W> {
    fn from(items: Vec<Result<T, E>>) -> Self {
        Self::new(items)
    }
}

/// The stream returned by [`merge_sorted`].
pub struct MergeSorted<'a, T, E, F>(Merge<ItemInput<'a, T, E>, F>);

/// The stream returned by [`merge_sorted_chunks`].
pub struct MergeSortedChunks<'a, T, E, W, F>(Merge<ChunkInput<'a, T, E, W>, F>);

/// What [`merge_sorted_chunks`] yields, each with the index of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged<T, E, W> {
    /// The next item in order.
    Item {
        /// The input it came from.
        input: usize,
        /// The item.
        item: T,
    },
    /// An error, passed through when the merge reached it.
    Error {
        /// The input it came from.
        input: usize,
        /// The error.
        error: E,
    },
    /// A warning carried by the input's chunk that the merge just reached
    /// (see [`Chunk::warnings`]).
    Warning {
        /// The input it came from.
        input: usize,
        /// The warning.
        warning: W,
    },
    /// The input has nothing more: its last item or error is out.
    Ended {
        /// The input that ended.
        input: usize,
    },
}

impl<T, E, F> std::fmt::Debug for MergeSorted<'_, T, E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.describe(f, "MergeSorted")
    }
}

impl<T, E, W, F> std::fmt::Debug for MergeSortedChunks<'_, T, E, W, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.describe(f, "MergeSortedChunks")
    }
}

impl<T, E, F> Stream for MergeSorted<'_, T, E, F>
where
    F: Fn(&T, &T) -> Ordering + Unpin,
    T: Unpin,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_emit(
            cx,
            |_, item| Ok(item),
            |_, error| Err(error),
            |_, never| match never {},
            |_| None,
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.buffered(), None)
    }
}

impl<T, E, W, F> Stream for MergeSortedChunks<'_, T, E, W, F>
where
    F: Fn(&T, &T) -> Ordering + Unpin,
    T: Unpin,
    E: Unpin,
    W: Unpin,
{
    type Item = Merged<T, E, W>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_emit(
            cx,
            |input, item| Merged::Item { input, item },
            |input, error| Merged::Error { input, error },
            |input, warning| Merged::Warning { input, warning },
            |input| Some(Merged::Ended { input }),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.buffered(), None)
    }
}

/// What polling an input for its head found.
enum Polled<E, W> {
    /// The input has a head.
    Head,
    /// The input ended.
    Ended,
    /// An error to pass through; the input may have more after it.
    Error(E),
    /// A warning to pass through; the input has more after it.
    Warning(W),
}

/// One merge input: a stream and the head (or heads) it has buffered.
trait Input {
    type Item;
    type Error;
    type Warning;

    /// Makes a head ready, or reports the input's end or its next error or warning.
    fn poll_head(&mut self, cx: &mut Context<'_>) -> Poll<Polled<Self::Error, Self::Warning>>;

    /// The head, if it has one (an ended input has none).
    fn head(&self) -> Option<&Self::Item>;

    /// Removes the head.
    fn take_head(&mut self) -> Option<Self::Item>;

    /// Items buffered.
    fn buffered(&self) -> usize;
}

struct ItemInput<'a, T, E> {
    stream: Option<BoxStream<'a, Result<T, E>>>,
    head: Option<T>,
}

impl<T, E> Input for ItemInput<'_, T, E> {
    type Item = T;
    type Error = E;
    type Warning = std::convert::Infallible;

    fn poll_head(&mut self, cx: &mut Context<'_>) -> Poll<Polled<E, Self::Warning>> {
        if self.head.is_some() {
            return Poll::Ready(Polled::Head);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(Polled::Ended);
        };
        Poll::Ready(match ready!(stream.poll_next_unpin(cx)) {
            Some(Ok(item)) => {
                self.head = Some(item);
                Polled::Head
            }
            Some(Err(error)) => Polled::Error(error),
            None => {
                self.stream = None;
                Polled::Ended
            }
        })
    }

    fn head(&self) -> Option<&T> {
        self.head.as_ref()
    }

    fn take_head(&mut self) -> Option<T> {
        self.head.take()
    }

    fn buffered(&self) -> usize {
        usize::from(self.head.is_some())
    }
}

struct ChunkInput<'a, T, E, W> {
    stream: Option<BoxStream<'a, Chunk<T, E, W>>>,
    /// The rest of the current chunk; its first item is the head.
    chunk: std::vec::IntoIter<Result<T, E>>,
    /// Warnings of the chunk just read, not yet passed on.
    warnings: std::vec::IntoIter<W>,
    /// The items of the chunk just read, held back until its warnings are
    /// out. Only looked at once `chunk` is empty, so the per-item path (a
    /// head at the front of `chunk`) never touches the warnings.
    held: Vec<Result<T, E>>,
}

impl<T, E, W> Input for ChunkInput<'_, T, E, W> {
    type Item = T;
    type Error = E;
    type Warning = W;

    fn poll_head(&mut self, cx: &mut Context<'_>) -> Poll<Polled<E, W>> {
        loop {
            match self.chunk.as_slice().first() {
                Some(Ok(_)) => return Poll::Ready(Polled::Head),
                Some(Err(_)) => {
                    if let Some(Err(error)) = self.chunk.next() {
                        return Poll::Ready(Polled::Error(error));
                    }
                }
                None => {
                    if let Some(warning) = self.warnings.next() {
                        return Poll::Ready(Polled::Warning(warning));
                    }
                    if !self.held.is_empty() {
                        self.chunk = std::mem::take(&mut self.held).into_iter();
                        continue;
                    }
                    let Some(stream) = self.stream.as_mut() else {
                        return Poll::Ready(Polled::Ended);
                    };
                    match ready!(stream.poll_next_unpin(cx)) {
                        Some(Chunk { items, warnings }) => {
                            self.warnings = warnings.into_iter();
                            self.held = items;
                        }
                        None => {
                            self.stream = None;
                            return Poll::Ready(Polled::Ended);
                        }
                    }
                }
            }
        }
    }

    fn head(&self) -> Option<&T> {
        match self.chunk.as_slice().first() {
            Some(Ok(item)) => Some(item),
            _ => None,
        }
    }

    fn take_head(&mut self) -> Option<T> {
        match self.chunk.as_slice().first() {
            Some(Ok(_)) => self.chunk.next().and_then(Result::ok),
            _ => None,
        }
    }

    fn buffered(&self) -> usize {
        self.chunk.len() + self.held.len()
    }
}

/// The k-way merge over any kind of [`Input`].
struct Merge<I, F> {
    inputs: Vec<I>,
    /// The loser tree, built once every input first has a head or has ended:
    /// `tree[0]` is the winning input, `tree[1..k]` the loser of the match at
    /// each internal node. Input `i` is leaf `k + i`; node `n`'s parent is `n / 2`.
    tree: Vec<usize>,
    /// Inputs that must produce a head (or end) before anything is emitted.
    needs_head: Vec<usize>,
    compare: F,
}

impl<I, F> Merge<I, F>
where
    I: Input,
    F: Fn(&I::Item, &I::Item) -> Ordering,
{
    fn new(inputs: Vec<I>, compare: F) -> Self {
        let needs_head = (0..inputs.len()).collect();
        Self {
            inputs,
            tree: Vec::new(),
            needs_head,
            compare,
        }
    }

    /// Whether input `a` goes before input `b`: an input without a head has
    /// ended and loses to every other; ties go to the lower input. (A chunk
    /// input whose chunk starts with an error has no head either, but it is
    /// still in `needs_head` then, so nothing is emitted until it is ranked.)
    fn beats(&self, a: usize, b: usize) -> bool {
        match (self.inputs[a].head(), self.inputs[b].head()) {
            (Some(x), Some(y)) => (self.compare)(x, y).then(a.cmp(&b)) == Ordering::Less,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => a < b,
        }
    }

    /// Plays the matches of the subtree under `node`; returns its winner.
    fn build(&mut self, node: usize) -> usize {
        let k = self.inputs.len();
        if node >= k {
            return node - k;
        }
        let left = self.build(2 * node);
        let right = self.build(2 * node + 1);
        let (winner, loser) = if self.beats(left, right) {
            (left, right)
        } else {
            (right, left)
        };
        self.tree[node] = loser;
        winner
    }

    /// Input `input` has a new head (or ended): replays its path to the root.
    fn replay(&mut self, input: usize) {
        let mut winner = input;
        let mut node = (self.inputs.len() + input) / 2;
        while node >= 1 {
            if self.beats(self.tree[node], winner) {
                std::mem::swap(&mut self.tree[node], &mut winner);
            }
            node /= 2;
        }
        self.tree[0] = winner;
    }

    fn rank(&mut self, input: usize) {
        if !self.tree.is_empty() {
            self.replay(input);
        }
    }

    /// The next item, error, warning or input end, built by `item`, `error`,
    /// `warning` or `ended` (which may decline to report an end) with the
    /// input's index. The builders let each caller construct its own output
    /// in place: an intermediate enum would move every (possibly large) item
    /// once more.
    #[inline]
    fn poll_emit<O>(
        &mut self,
        cx: &mut Context<'_>,
        item: impl FnOnce(usize, I::Item) -> O,
        error: impl FnOnce(usize, I::Error) -> O,
        warning: impl FnOnce(usize, I::Warning) -> O,
        ended: impl Fn(usize) -> Option<O>,
    ) -> Poll<Option<O>> {
        let mut i = 0;
        while i < self.needs_head.len() {
            let input = self.needs_head[i];
            match self.inputs[input].poll_head(cx) {
                Poll::Ready(Polled::Head) => {
                    self.needs_head.swap_remove(i);
                    self.rank(input);
                }
                Poll::Ready(Polled::Ended) => {
                    self.needs_head.swap_remove(i);
                    self.rank(input);
                    if let Some(end) = ended(input) {
                        return Poll::Ready(Some(end));
                    }
                }
                Poll::Ready(Polled::Error(e)) => return Poll::Ready(Some(error(input, e))),
                Poll::Ready(Polled::Warning(w)) => return Poll::Ready(Some(warning(input, w))),
                Poll::Pending => i += 1,
            }
        }
        if !self.needs_head.is_empty() {
            return Poll::Pending;
        }
        let k = self.inputs.len();
        if k == 0 {
            return Poll::Ready(None);
        }
        if self.tree.is_empty() {
            self.tree = vec![0; k];
            let winner = self.build(1);
            self.tree[0] = winner;
        }
        let winner = self.tree[0];
        match self.inputs[winner].take_head() {
            Some(head) => {
                self.needs_head.push(winner);
                Poll::Ready(Some(item(winner, head)))
            }
            None => Poll::Ready(None),
        }
    }
}

impl<I: Input, F> Merge<I, F> {
    fn buffered(&self) -> usize {
        self.inputs.iter().map(Input::buffered).sum()
    }

    fn describe(&self, f: &mut std::fmt::Formatter<'_>, name: &str) -> std::fmt::Result {
        f.debug_struct(name)
            .field("inputs", &self.inputs.len())
            .field("waiting", &self.needs_head.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::stream;
    use proptest::prelude::*;

    fn sorted_inputs(data: Vec<Vec<u32>>) -> Vec<BoxStream<'static, Result<u32, String>>> {
        data.into_iter()
            .map(|mut v| {
                v.sort_unstable();
                stream::iter(v.into_iter().map(Ok)).boxed()
            })
            .collect()
    }

    /// The items and errors of `merged`, in order, without the ends and warnings.
    fn results<T, E, W>(merged: Vec<Merged<T, E, W>>) -> Vec<Result<T, E>> {
        merged
            .into_iter()
            .filter_map(|m| match m {
                Merged::Item { item, .. } => Some(Ok(item)),
                Merged::Error { error, .. } => Some(Err(error)),
                Merged::Warning { .. } | Merged::Ended { .. } => None,
            })
            .collect()
    }

    type Chunks<T> = BoxStream<'static, Chunk<T, String, String>>;

    /// An input of chunks without warnings.
    fn chunks<T: Send + 'static>(chunks: Vec<Vec<Result<T, String>>>) -> Chunks<T> {
        stream::iter(chunks.into_iter().map(Chunk::from)).boxed()
    }

    #[test]
    fn merges_interleaved_inputs_with_ties() {
        let merged: Vec<_> = block_on(
            merge_sorted(
                sorted_inputs(vec![vec![1, 4, 7], vec![2, 4, 8], vec![], vec![0, 9]]),
                u32::cmp,
            )
            .collect::<Vec<_>>(),
        );
        let values: Vec<u32> = merged.into_iter().map(Result::unwrap).collect();
        assert_eq!(values, [0, 1, 2, 4, 4, 7, 8, 9]);
    }

    #[test]
    fn errors_pass_through_and_other_inputs_continue() {
        let failing = stream::iter(vec![Ok(3), Err("boom".to_string())]).boxed();
        let ok = stream::iter(vec![Ok(1), Ok(5)]).boxed();
        let out: Vec<_> = block_on(merge_sorted(vec![failing, ok], u32::cmp).collect());
        assert_eq!(out, [Ok(1), Ok(3), Err("boom".to_string()), Ok(5)]);
    }

    #[test]
    fn waits_for_a_pending_input_before_emitting() {
        use futures::channel::mpsc;
        use futures::task::noop_waker_ref;
        let (late, receiver) = mpsc::unbounded::<Result<u32, String>>();
        let ready = stream::iter(vec![Ok(2), Ok(3)]).boxed();
        let mut merged = merge_sorted(vec![ready, receiver.boxed()], u32::cmp);
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(
            merged.poll_next_unpin(&mut cx).is_pending(),
            "the late input may still bring a 1"
        );
        late.unbounded_send(Ok(1)).unwrap();
        drop(late);
        let rest: Vec<u32> = block_on(merged.collect::<Vec<_>>())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rest, [1, 2, 3]);

        let (late, receiver) = mpsc::unbounded::<Vec<Result<u32, String>>>();
        let ready = chunks(vec![vec![Ok(2), Ok(3)]]);
        let mut merged =
            merge_sorted_chunks(vec![ready, receiver.map(Chunk::from).boxed()], u32::cmp);
        assert!(merged.poll_next_unpin(&mut cx).is_pending());
        late.unbounded_send(vec![]).unwrap();
        assert!(
            merged.poll_next_unpin(&mut cx).is_pending(),
            "an empty chunk is no head"
        );
        late.unbounded_send(vec![Ok(1)]).unwrap();
        drop(late);
        let rest = results(block_on(merged.collect::<Vec<_>>()));
        assert_eq!(rest, [Ok(1), Ok(2), Ok(3)]);
    }

    #[test]
    fn ties_come_out_in_input_order() {
        type Tied = (u32, usize);
        let by_value = |a: &Tied, b: &Tied| a.0.cmp(&b.0);
        let expected: Vec<Tied> = (1..=2).flat_map(|v| (0..7).map(move |i| (v, i))).collect();
        let items: Vec<BoxStream<'static, Result<Tied, String>>> = (0..7)
            .map(|input| stream::iter(vec![Ok((1, input)), Ok((2, input))]).boxed())
            .collect();
        let out: Vec<Result<Tied, String>> = block_on(merge_sorted(items, by_value).collect());
        assert_eq!(out, expected.iter().copied().map(Ok).collect::<Vec<_>>());
        let inputs: Vec<Chunks<Tied>> = (0..7)
            .map(|input| chunks(vec![vec![Ok((1, input))], vec![Ok((2, input))]]))
            .collect();
        let out = results(block_on(
            merge_sorted_chunks(inputs, by_value).collect::<Vec<_>>(),
        ));
        assert_eq!(out, expected.into_iter().map(Ok).collect::<Vec<_>>());
    }

    /// Each input sorted, then cut into chunks of the sizes in `cuts`
    /// (cycled; a 0 makes an empty chunk).
    fn chunked_inputs(data: Vec<Vec<u32>>, cuts: &[usize]) -> Vec<Chunks<u32>> {
        cut(data, cuts)
            .into_iter()
            .map(|pieces| {
                chunks(
                    pieces
                        .into_iter()
                        .map(|piece| piece.into_iter().map(Ok).collect())
                        .collect(),
                )
            })
            .collect()
    }

    /// Each input sorted and cut into chunks as in [`chunked_inputs`].
    fn cut(data: Vec<Vec<u32>>, cuts: &[usize]) -> Vec<Vec<Vec<u32>>> {
        data.into_iter()
            .map(|mut v| {
                v.sort_unstable();
                let mut items = v.into_iter().peekable();
                let mut pieces = Vec::new();
                for &cut in cuts.iter().cycle() {
                    if items.peek().is_none() {
                        break;
                    }
                    pieces.push(items.by_ref().take(cut).collect::<Vec<_>>());
                }
                pieces
            })
            .collect()
    }

    #[test]
    fn warnings_come_out_when_their_chunk_is_reached() {
        let warned = |items: Vec<u32>, warnings: &[&str]| {
            Chunk::new(items.into_iter().map(Ok).collect())
                .with_warnings(warnings.iter().map(|w| w.to_string()).collect())
        };
        let a: Chunks<u32> = stream::iter(vec![
            warned(vec![1, 4], &["a0"]),
            warned(vec![], &["a1", "a1'"]),
            warned(vec![6], &[]),
        ])
        .boxed();
        let b: Chunks<u32> =
            stream::iter(vec![warned(vec![2, 3], &[]), warned(vec![5], &["b1"])]).boxed();
        let out: Vec<_> = block_on(merge_sorted_chunks(vec![a, b], u32::cmp).collect());
        let item = |input, item| Merged::Item { input, item };
        let warning = |input, warning: &str| Merged::Warning {
            input,
            warning: warning.to_string(),
        };
        assert_eq!(
            out,
            [
                warning(0, "a0"),
                item(0, 1),
                item(1, 2),
                item(1, 3),
                warning(1, "b1"),
                item(0, 4),
                warning(0, "a1"),
                warning(0, "a1'"),
                item(1, 5),
                Merged::Ended { input: 1 },
                item(0, 6),
                Merged::Ended { input: 0 },
            ]
        );
    }

    #[test]
    fn chunks_merge_with_errors_passing_through_where_they_lie() {
        let failing = chunks(vec![vec![Ok(3), Err("boom".to_string()), Ok(6)]]);
        let ok = chunks(vec![vec![], vec![Ok(1), Ok(5)], vec![Ok(7)]]);
        let only_errors = chunks(vec![vec![], vec![Err("first".to_string())], vec![]]);
        let out: Vec<_> =
            block_on(merge_sorted_chunks(vec![failing, ok, only_errors], u32::cmp).collect());
        let error = |input, error: &str| Merged::Error {
            input,
            error: error.to_string(),
        };
        let item = |input, item| Merged::Item { input, item };
        assert_eq!(
            out,
            [
                error(2, "first"),
                Merged::Ended { input: 2 },
                item(1, 1),
                item(0, 3),
                error(0, "boom"),
                item(1, 5),
                item(0, 6),
                Merged::Ended { input: 0 },
                item(1, 7),
                Merged::Ended { input: 1 },
            ]
        );
    }

    proptest! {
        #[test]
        fn chunked_merge_equals_item_merge(
            data in prop::collection::vec(prop::collection::vec(0u32..50, 0..20), 0..40),
            cuts in prop::collection::vec(0usize..6, 1..5),
        ) {
            prop_assume!(cuts.iter().any(|&cut| cut > 0));
            let by_items: Vec<u32> = block_on(merge_sorted(sorted_inputs(data.clone()), u32::cmp).collect::<Vec<_>>())
                .into_iter().map(Result::unwrap).collect();
            let by_chunks: Vec<u32> = results(block_on(merge_sorted_chunks(chunked_inputs(data, &cuts), u32::cmp).collect::<Vec<_>>()))
                .into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(by_chunks, by_items);
        }

        #[test]
        fn each_warning_comes_out_right_before_its_chunk(
            data in prop::collection::vec(prop::collection::vec(0u32..50, 0..20), 0..12),
            cuts in prop::collection::vec(0usize..6, 1..5),
        ) {
            prop_assume!(cuts.iter().any(|&cut| cut > 0));
            let pieces = cut(data.clone(), &cuts);
            // Every chunk warns with its input and index: "i:j".
            let inputs: Vec<Chunks<u32>> = pieces.iter().enumerate().map(|(i, chunks)| {
                let chunks: Vec<Chunk<u32, String, String>> = chunks.iter().enumerate().map(|(j, piece)| {
                    Chunk::new(piece.iter().copied().map(Ok).collect()).with_warnings(vec![format!("{i}:{j}")])
                }).collect();
                stream::iter(chunks).boxed()
            }).collect();
            let out = block_on(merge_sorted_chunks(inputs, u32::cmp).collect::<Vec<_>>());
            let by_items: Vec<u32> = block_on(merge_sorted(sorted_inputs(data), u32::cmp).collect::<Vec<_>>())
                .into_iter().map(Result::unwrap).collect();
            let merged: Vec<u32> = results(out.clone()).into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(merged, by_items, "warnings do not change the order");
            for (i, chunks) in pieces.iter().enumerate() {
                let mut expected: Vec<String> = Vec::new();
                for (j, piece) in chunks.iter().enumerate() {
                    expected.push(format!("w{i}:{j}"));
                    expected.extend(piece.iter().map(|v| v.to_string()));
                }
                expected.push("end".into());
                let seen: Vec<String> = out.iter().filter_map(|m| match m {
                    Merged::Item { input, item } if *input == i => Some(item.to_string()),
                    Merged::Warning { input, warning } if *input == i => Some(format!("w{warning}")),
                    Merged::Ended { input } if *input == i => Some("end".into()),
                    _ => None,
                }).collect();
                prop_assert_eq!(seen, expected);
            }
        }

        #[test]
        fn merge_equals_sorted_union(data in prop::collection::vec(prop::collection::vec(0u32..50, 0..20), 0..40)) {
            let mut expected: Vec<u32> = data.iter().flatten().copied().collect();
            expected.sort_unstable();
            let merged: Vec<u32> = block_on(merge_sorted(sorted_inputs(data), u32::cmp).collect::<Vec<_>>())
                .into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(merged, expected);
        }
    }
}

//! The one k-way ordered merge, shared by multi-channel sources and the aggregate.

use std::cmp::Ordering;
use std::pin::Pin;
use std::task::{Context, Poll};

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
    let n = inputs.len();
    MergeSorted {
        inputs: inputs.into_iter().map(Some).collect(),
        heads: (0..n).map(|_| None).collect(),
        tree: Vec::new(),
        needs_head: (0..n).collect(),
        compare,
    }
}

/// The stream returned by [`merge_sorted`].
pub struct MergeSorted<'a, T, E, F> {
    inputs: Vec<Option<BoxStream<'a, Result<T, E>>>>,
    heads: Vec<Option<T>>,
    /// The loser tree, built once every input first has a head or has ended:
    /// `tree[0]` is the winning input, `tree[1..k]` the loser of the match at
    /// each internal node. Input `i` is leaf `k + i`; node `n`'s parent is `n / 2`.
    tree: Vec<usize>,
    /// Inputs that must produce a head (or end) before anything is emitted.
    needs_head: Vec<usize>,
    compare: F,
}

impl<T, E, F> std::fmt::Debug for MergeSorted<'_, T, E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergeSorted")
            .field("inputs", &self.inputs.len())
            .field("ready", &self.heads.iter().filter(|h| h.is_some()).count())
            .field("waiting", &self.needs_head.len())
            .finish()
    }
}

impl<T, E, F> MergeSorted<'_, T, E, F>
where
    F: Fn(&T, &T) -> Ordering,
{
    /// Whether input `a` goes before input `b`: an input without a head has
    /// ended and loses to every other; ties go to the lower input.
    fn beats(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            (Some(x), Some(y)) => (self.compare)(x, y).then(a.cmp(&b)) == Ordering::Less,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => a < b,
        }
    }

    /// Plays the matches of the subtree under `node`; returns its winner.
    fn build(&mut self, node: usize) -> usize {
        let k = self.heads.len();
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
        let mut node = (self.heads.len() + input) / 2;
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
}

impl<T, E, F> Stream for MergeSorted<'_, T, E, F>
where
    F: Fn(&T, &T) -> Ordering + Unpin,
    T: Unpin,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut i = 0;
        while i < this.needs_head.len() {
            let input = this.needs_head[i];
            let Some(stream) = this.inputs[input].as_mut() else {
                this.needs_head.swap_remove(i);
                continue;
            };
            match stream.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(item))) => {
                    this.heads[input] = Some(item);
                    this.needs_head.swap_remove(i);
                    this.rank(input);
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => {
                    this.inputs[input] = None;
                    this.needs_head.swap_remove(i);
                    this.rank(input);
                }
                Poll::Pending => i += 1,
            }
        }
        if !this.needs_head.is_empty() {
            return Poll::Pending;
        }
        let k = this.heads.len();
        if k == 0 {
            return Poll::Ready(None);
        }
        if this.tree.is_empty() {
            this.tree = vec![0; k];
            let winner = this.build(1);
            this.tree[0] = winner;
        }
        let winner = this.tree[0];
        match this.heads[winner].take() {
            Some(item) => {
                this.needs_head.push(winner);
                Poll::Ready(Some(Ok(item)))
            }
            // The best input has ended, so every input has.
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.heads.iter().filter(|h| h.is_some()).count(), None)
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
    }

    #[test]
    fn ties_come_out_in_input_order() {
        let inputs: Vec<BoxStream<'static, Result<(u32, usize), String>>> = (0..7)
            .map(|input| stream::iter(vec![Ok((1, input)), Ok((2, input))]).boxed())
            .collect();
        let out: Vec<(u32, usize)> = block_on(
            merge_sorted(inputs, |a: &(u32, usize), b: &(u32, usize)| a.0.cmp(&b.0))
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .map(Result::unwrap)
        .collect();
        let expected: Vec<(u32, usize)> =
            (1..=2).flat_map(|v| (0..7).map(move |i| (v, i))).collect();
        assert_eq!(out, expected);
    }

    proptest! {
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

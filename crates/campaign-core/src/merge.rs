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
        heap: Vec::with_capacity(n),
        needs_head: (0..n).collect(),
        compare,
    }
}

/// The stream returned by [`merge_sorted`].
pub struct MergeSorted<'a, T, E, F> {
    inputs: Vec<Option<BoxStream<'a, Result<T, E>>>>,
    heads: Vec<Option<T>>,
    /// Indices of inputs holding a head, as a binary min-heap on their heads.
    heap: Vec<usize>,
    /// Inputs that must produce a head (or end) before anything is emitted.
    needs_head: Vec<usize>,
    compare: F,
}

impl<T, E, F> std::fmt::Debug for MergeSorted<'_, T, E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergeSorted")
            .field("inputs", &self.inputs.len())
            .field("ready", &self.heap.len())
            .field("waiting", &self.needs_head.len())
            .finish()
    }
}

impl<T, E, F> MergeSorted<'_, T, E, F>
where
    F: Fn(&T, &T) -> Ordering,
{
    fn less(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            (Some(x), Some(y)) => (self.compare)(x, y).then(a.cmp(&b)) == Ordering::Less,
            _ => a < b,
        }
    }

    fn push(&mut self, input: usize) {
        self.heap.push(input);
        let mut child = self.heap.len() - 1;
        while child > 0 {
            let parent = (child - 1) / 2;
            if !self.less(self.heap[child], self.heap[parent]) {
                break;
            }
            self.heap.swap(child, parent);
            child = parent;
        }
    }

    fn pop(&mut self) -> Option<usize> {
        let last = self.heap.len().checked_sub(1)?;
        self.heap.swap(0, last);
        let top = self.heap.pop();
        let len = self.heap.len();
        let mut parent = 0;
        loop {
            let (left, right) = (2 * parent + 1, 2 * parent + 2);
            let mut smallest = parent;
            if left < len && self.less(self.heap[left], self.heap[smallest]) {
                smallest = left;
            }
            if right < len && self.less(self.heap[right], self.heap[smallest]) {
                smallest = right;
            }
            if smallest == parent {
                break;
            }
            self.heap.swap(parent, smallest);
            parent = smallest;
        }
        top
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
                    this.push(input);
                    this.needs_head.swap_remove(i);
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => {
                    this.inputs[input] = None;
                    this.needs_head.swap_remove(i);
                }
                Poll::Pending => i += 1,
            }
        }
        if !this.needs_head.is_empty() {
            return Poll::Pending;
        }
        match this.pop() {
            Some(input) => {
                this.needs_head.push(input);
                Poll::Ready(this.heads[input].take().map(Ok))
            }
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.heap.len(), None)
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

    proptest! {
        #[test]
        fn merge_equals_sorted_union(data in prop::collection::vec(prop::collection::vec(0u32..50, 0..20), 0..8)) {
            let mut expected: Vec<u32> = data.iter().flatten().copied().collect();
            expected.sort_unstable();
            let merged: Vec<u32> = block_on(merge_sorted(sorted_inputs(data), u32::cmp).collect::<Vec<_>>())
                .into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(merged, expected);
        }
    }
}

//! Orderings the emulators share: a direction, missing keys last, and the
//! shuffle that makes a listing in storage order visibly unsorted.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// `order`, reversed for a descending sort.
pub(crate) fn directed(order: Ordering, descending: bool) -> Ordering {
    if descending {
        order.reverse()
    } else {
        order
    }
}

/// Records without the sort field come last in either direction.
pub(crate) fn missing_last<T: Ord>(a: Option<T>, b: Option<T>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => directed(a.cmp(&b), descending),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A sort key of a provider's records (name, a date, ...).
pub(crate) type KeyOrder<R> = fn(&R, &R) -> Ordering;

/// Whether `records` run monotonically (either way) by any of `keys`: then
/// storage order would pass for a sorted listing.
pub(crate) fn looks_sorted<R>(records: &[R], keys: &[KeyOrder<R>]) -> bool {
    keys.iter().any(|cmp| {
        let pairs = || records.windows(2).map(|w| cmp(&w[0], &w[1]));
        pairs().all(|o| o != Ordering::Greater) || pairs().all(|o| o != Ordering::Less)
    })
}

/// Shuffles `records` (seeded, so reproducibly) until their order is none of
/// `keys`' sorts, so a listing in storage order (`Fault::SortIgnored`) is
/// visibly unsorted. Kept as is when already so, or when no order can be
/// (fewer than three records, or a key equal everywhere).
pub(crate) fn unsort<R>(records: &mut [R], seed: u64, keys: &[KeyOrder<R>]) {
    if records.len() < 3 {
        return;
    }
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    // A random order of three or more distinct values is sorted with
    // probability at most 1/3 per key, so this rarely takes more than a few tries.
    for _ in 0..64 {
        if !looks_sorted(records, keys) {
            return;
        }
        rand::seq::SliceRandom::shuffle(records, &mut rng);
    }
}

/// At most this many distinct selections are cached at once.
const MAX_CACHED_SELECTIONS: usize = 64;

/// The positions of a listing's records, in the order it answers with, per
/// selection (a validated request minus paging), so paging through a large
/// listing filters and sorts once. Any data change must [`clear`](Self::clear) it.
#[derive(Debug)]
pub(crate) struct SelectionCache<S>(HashMap<S, Arc<[u32]>>);

impl<S> Default for SelectionCache<S> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<S: Hash + Eq + Clone> SelectionCache<S> {
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Positions in `records` of those `keep` accepts, sorted by `compare`
    /// unless the listing answers in `storage_order`, cached per `selection`.
    pub(crate) fn select<R>(
        &mut self,
        selection: &S,
        records: &[R],
        keep: impl Fn(&R) -> bool,
        storage_order: bool,
        compare: impl Fn(&R, &R) -> Ordering,
    ) -> Arc<[u32]> {
        if let Some(hit) = self.0.get(selection) {
            return Arc::clone(hit);
        }
        let mut positions: Vec<u32> = (0..records.len())
            .filter(|&i| keep(&records[i]))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        // Positions are collected in storage order, which is the answer when
        // the sort is ignored.
        if !storage_order {
            positions
                .sort_unstable_by(|&a, &b| compare(&records[a as usize], &records[b as usize]));
        }
        let positions: Arc<[u32]> = positions.into();
        if self.0.len() >= MAX_CACHED_SELECTIONS {
            self.0.clear();
        }
        self.0.insert(selection.clone(), Arc::clone(&positions));
        positions
    }
}

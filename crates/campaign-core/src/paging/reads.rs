//! Server pages read once, shared by every page that looks at them.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

use crate::error::Result;

/// How long a read serves the others that look at it, by default. Short,
/// since a new walk within it starts from the same read; long enough for a
/// rate-limited walk's prefetch window.
pub const DEFAULT_READ_TTL: Duration = Duration::from_secs(15);

type SharedRead<P> = Shared<BoxFuture<'static, Result<Arc<P>>>>;

/// Server pages being read or read recently, keyed by what makes two reads
/// the same (typically the walk, the query's fingerprint, the position and
/// the page size), so that each is requested once however many pages look
/// at it.
///
/// Single flight: a second caller of a read in flight waits for it instead
/// of sending its own. A failed read is not kept (the next caller reads
/// again), nor is one older than the TTL ([`DEFAULT_READ_TTL`]); the
/// oldest read makes room when `capacity` are kept.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use campaign_core::paging::PageReads;
///
/// # futures::executor::block_on(async {
/// let reads: PageReads<u64, Vec<u32>> = PageReads::new(8);
/// let sent = AtomicUsize::new(0);
/// for _ in 0..3 {
///     let page = reads
///         .read(7, || {
///             sent.fetch_add(1, Ordering::Relaxed);
///             async { Ok(vec![1, 2, 3]) }
///         })
///         .await?;
///     assert_eq!(*page, [1, 2, 3]);
/// }
/// assert_eq!(sent.load(Ordering::Relaxed), 1);
/// # Ok::<(), campaign_core::SourceError>(())
/// # }).unwrap();
/// ```
pub struct PageReads<K, P> {
    entries: Mutex<VecDeque<(K, Instant, SharedRead<P>)>>,
    capacity: usize,
    ttl: Duration,
}

impl<K, P> fmt::Debug for PageReads<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("PageReads")
            .field("kept", &kept)
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl<K: PartialEq, P: Send + Sync + 'static> PageReads<K, P> {
    /// Keeps up to `capacity` reads (at least 4) for [`DEFAULT_READ_TTL`].
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            capacity: capacity.max(4),
            ttl: DEFAULT_READ_TTL,
        }
    }

    /// Room for a walk with `prefetch` pages in flight (per partition): each
    /// page is read by itself and looked back at by the next, both within
    /// the prefetch window.
    pub fn for_prefetch(prefetch: usize) -> Self {
        Self::new(4 * prefetch + 8)
    }

    /// Keeps reads for `ttl` instead of [`DEFAULT_READ_TTL`].
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The read of `key`: the kept one unless it failed or expired; else
    /// `read()`, started now and kept.
    pub async fn read<F, Fut>(&self, key: K, read: F) -> Result<Arc<P>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<P>> + Send + 'static,
    {
        let shared = self.get_or_start(key, || read().map(|r| r.map(Arc::new)).boxed().shared());
        shared.await
    }

    /// The kept read of `key` if it has completed without failing, without
    /// waiting or starting one.
    pub fn ready(&self, key: &K) -> Option<Arc<P>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = self.ttl;
        entries
            .iter()
            .find(|(k, at, _)| k == key && at.elapsed() < ttl)
            .and_then(|(_, _, read)| read.peek().and_then(|r| r.as_ref().ok().cloned()))
    }

    /// Keeps `value` as the read of `key` (one computed rather than read).
    pub fn keep(&self, key: K, value: Arc<P>) {
        let ready = futures::future::ready(Ok(value)).boxed().shared();
        // Polled once so that `peek` (and so `ready`) sees it done.
        let _ = ready.clone().now_or_never();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _, _)| *k != key);
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((key, Instant::now(), ready));
    }

    /// Apart from [`read`](Self::read) so the lock is never held across an
    /// await.
    fn get_or_start(&self, key: K, start: impl FnOnce() -> SharedRead<P>) -> SharedRead<P> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = self.ttl;
        entries.retain(|(_, at, _)| at.elapsed() < ttl);
        if let Some(at) = entries.iter().position(|(k, _, _)| *k == key) {
            if !matches!(entries[at].2.peek(), Some(Err(_))) {
                return entries[at].2.clone();
            }
            entries.remove(at);
        }
        let fetch = start();
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((key, Instant::now(), fetch.clone()));
        fetch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, SourceError};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn reads_are_shared_failures_are_not_kept_and_old_ones_make_room() {
        let reads: PageReads<u32, u32> = PageReads::new(4);
        let sent = AtomicUsize::new(0);
        let read = |key: u32, fail: bool| {
            let reads = &reads;
            let sent = &sent;
            async move {
                reads
                    .read(key, || {
                        sent.fetch_add(1, Ordering::SeqCst);
                        async move {
                            if fail {
                                Err(SourceError::new(ErrorKind::Server, "s", "down"))
                            } else {
                                Ok(key * 10)
                            }
                        }
                    })
                    .await
            }
        };
        // Concurrent readers of one key share one read.
        let (a, b) = futures::join!(read(1, false), read(1, false));
        assert_eq!((*a.unwrap(), *b.unwrap()), (10, 10));
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        // A failure is returned, then read again.
        assert!(read(2, true).await.is_err());
        assert_eq!(*read(2, false).await.unwrap(), 20);
        assert_eq!(sent.load(Ordering::SeqCst), 3);
        // Four more keys push the first out.
        for key in 3..7 {
            read(key, false).await.unwrap();
        }
        read(1, false).await.unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 8);
    }

    #[tokio::test]
    async fn kept_values_are_ready_and_reads_only_once_done() {
        let reads: PageReads<u32, u32> = PageReads::new(4);
        assert!(reads.ready(&1).is_none());
        reads.keep(1, Arc::new(10));
        assert_eq!(reads.ready(&1).as_deref(), Some(&10));
        // Kept again: replaced, not doubled.
        reads.keep(1, Arc::new(11));
        assert_eq!(*reads.read(1, || async { Ok(0) }).await.unwrap(), 11);
        // A read in flight is not ready; a failed one never is.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let pending = reads.read(2, || async move {
            let _ = rx.await;
            Ok(20)
        });
        let (_, ready) = futures::join!(pending, async {
            let in_flight = reads.ready(&2);
            let _ = tx.send(());
            in_flight
        });
        assert!(ready.is_none());
        assert_eq!(reads.ready(&2).as_deref(), Some(&20));
        let _ = reads
            .read(3, || async {
                Err(SourceError::new(ErrorKind::Server, "s", "down"))
            })
            .await;
        assert!(reads.ready(&3).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn reads_expire_after_their_ttl() {
        let reads: PageReads<u32, u32> =
            PageReads::for_prefetch(1).with_ttl(Duration::from_secs(5));
        let sent = AtomicUsize::new(0);
        let read = || {
            reads.read(1, || {
                sent.fetch_add(1, Ordering::SeqCst);
                async { Ok(1) }
            })
        };
        read().await.unwrap();
        tokio::time::advance(Duration::from_secs(4)).await;
        read().await.unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        read().await.unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }
}

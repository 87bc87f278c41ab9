//! Identical live page requests in flight at once share one provider walk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::{BoxFuture, FutureExt, Shared};

use super::error::ApiError;

/// A walk's answer, awaited by every request sharing it.
type SharedAnswer<T> = Shared<BoxFuture<'static, Result<T, ApiError>>>;

/// The walks in flight, by request key (the normalized query, the cursor
/// and whether `raw` is kept): a request equal to one in flight waits for
/// that walk's answer `T` (cheap to clone: an `Arc` of the page) instead of
/// asking the providers again.
pub struct Coalescer<T> {
    inflight: Mutex<HashMap<String, SharedAnswer<T>>>,
}

impl<T> Default for Coalescer<T> {
    fn default() -> Self {
        Self {
            inflight: Mutex::default(),
        }
    }
}

impl<T> std::fmt::Debug for Coalescer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inflight.lock().map_or(0, |m| m.len());
        write!(f, "Coalescer({n} in flight)")
    }
}

impl<T: Clone + Send + Sync + 'static> Coalescer<T> {
    /// The answer of the walk for `key`: the one in flight, or `walk`
    /// started now. The walk runs as its own task, so it finishes (and
    /// leaves the map) even when every request waiting on it went away;
    /// a later request then starts afresh rather than reading a stale page.
    pub async fn run(
        self: &Arc<Self>,
        key: String,
        walk: impl FnOnce() -> BoxFuture<'static, Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let shared = {
            let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
            match inflight.get(&key) {
                Some(shared) => shared.clone(),
                None => {
                    let this = Arc::clone(self);
                    let task_key = key.clone();
                    let walk = walk();
                    // Spawned while the lock is held: the task's removal
                    // below cannot run before the entry is in.
                    let task = tokio::spawn(async move {
                        let answer = walk.await;
                        this.inflight
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .remove(&task_key);
                        answer
                    });
                    let shared = async move {
                        task.await.unwrap_or_else(|error| {
                            tracing::error!(%error, "a page walk did not finish");
                            Err(ApiError::internal())
                        })
                    }
                    .boxed()
                    .shared();
                    inflight.insert(key, shared.clone());
                    shared
                }
            }
        };
        shared.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn identical_requests_share_one_walk_and_later_ones_start_afresh() {
        let coalescer = Arc::new(Coalescer::default());
        let walks = Arc::new(AtomicUsize::new(0));
        let request = |key: &'static str| {
            let coalescer = Arc::clone(&coalescer);
            let walks = Arc::clone(&walks);
            async move {
                coalescer
                    .run(key.into(), move || {
                        async move {
                            walks.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Bytes::from(key))
                        }
                        .boxed()
                    })
                    .await
            }
        };
        let answers = futures::future::join_all((0..64).map(|_| request("a"))).await;
        assert!(answers.iter().all(|a| a.as_deref().ok() == Some(&b"a"[..])));
        assert_eq!(walks.load(Ordering::SeqCst), 1);
        let _ = request("b").await;
        let _ = request("a").await;
        assert_eq!(walks.load(Ordering::SeqCst), 3);
    }
}

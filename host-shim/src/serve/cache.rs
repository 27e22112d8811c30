//! The server's two memories: a bounded cache with a time to live, and singleflight (one piece
//! of work per key, however many requests ask for it at once).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// A map whose entries expire `ttl` after they were put in, holding at most `capacity` of
/// them (the oldest goes first). A zero `ttl` or `capacity` caches nothing.
pub struct Cache<K, V> {
    ttl: Duration,
    capacity: usize,
    state: Mutex<CacheState<K, V>>,
}

struct CacheState<K, V> {
    entries: HashMap<K, (Instant, V)>,
    /// Keys in the order they were put in; a key put in again is listed again, and only its
    /// newest listing removes it.
    order: VecDeque<(K, Instant)>,
}

impl<K: Clone + Eq + Hash, V: Clone> Cache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            state: Mutex::new(CacheState {
                entries: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// The value under `key`, unless it has expired.
    pub fn get(&self, key: &K) -> Option<V> {
        let state = self.state.lock().ok()?;
        let (stored, value) = state.entries.get(key)?;
        (stored.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Puts `value` under `key`, first dropping what has expired and, when full, the oldest.
    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        while let Some((oldest, stored)) = state.order.front().cloned() {
            let expired = now.duration_since(stored) >= self.ttl;
            if !expired && state.entries.len() < self.capacity {
                break;
            }
            state.order.pop_front();
            if state
                .entries
                .get(&oldest)
                .is_some_and(|(at, _)| *at == stored)
            {
                state.entries.remove(&oldest);
            }
        }
        state.order.push_back((key.clone(), now));
        state.entries.insert(key, (now, value));
    }

    /// How many entries are held (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |state| state.entries.len())
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Work in flight, by key: the first caller starts it, later callers wait for the same result.
pub struct Flights<K, V> {
    running: Arc<Mutex<HashMap<K, watch::Receiver<Option<V>>>>>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Self {
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// The outcome of waiting for a flight.
#[derive(Debug, PartialEq, Eq)]
pub enum Landed<V> {
    /// The work finished with this result.
    Done(V),
    /// The work ended without a result (its task panicked or was cancelled).
    Lost,
}

impl<K, V> Flights<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Joins the flight for `key`, starting `work` on the runtime if none is running. The work
    /// runs to its end even when every caller stops waiting (a deadline passed), so that
    /// whatever it learns is not thrown away; `finished` runs with its result before any
    /// waiter sees it (to fill a cache, so that no caller finds neither the flight nor the
    /// cache entry).
    pub fn join<F>(
        &self,
        key: &K,
        work: impl FnOnce() -> F,
        finished: impl FnOnce(&V) + Send + 'static,
    ) -> watch::Receiver<Option<V>>
    where
        F: Future<Output = V> + Send + 'static,
    {
        let Ok(mut running) = self.running.lock() else {
            // A poisoned map: run the work alone rather than not at all.
            let (sender, receiver) = watch::channel(None);
            let future = work();
            tokio::spawn(async move {
                let value = future.await;
                finished(&value);
                let _ = sender.send(Some(value));
            });
            return receiver;
        };
        if let Some(receiver) = running.get(key) {
            return receiver.clone();
        }
        let (sender, receiver) = watch::channel(None);
        running.insert(key.clone(), receiver.clone());
        drop(running);
        let future = work();
        let map = Arc::clone(&self.running);
        let key = key.clone();
        tokio::spawn(async move {
            let value = future.await;
            finished(&value);
            let _ = sender.send(Some(value));
            if let Ok(mut running) = map.lock() {
                running.remove(&key);
            }
        });
        receiver
    }

    /// How many flights are running.
    pub fn len(&self) -> usize {
        self.running.lock().map_or(0, |running| running.len())
    }

    /// Whether none is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Waits for a flight's result.
pub async fn landed<V: Clone>(mut receiver: watch::Receiver<Option<V>>) -> Landed<V> {
    match receiver.wait_for(Option::is_some).await {
        Ok(value) => value.clone().map_or(Landed::Lost, Landed::Done),
        Err(_) => Landed::Lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn entries_expire_and_the_oldest_goes_first() {
        let cache = Cache::new(Duration::from_secs(60), 2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("c", 3);
        assert_eq!(cache.get(&"a"), None, "the oldest made room");
        assert_eq!(cache.get(&"b"), Some(2));
        assert_eq!(cache.get(&"c"), Some(3));
        assert_eq!(cache.len(), 2);

        let short = Cache::new(Duration::from_millis(20), 10);
        short.insert("a", 1);
        assert_eq!(short.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(short.get(&"a"), None, "expired");
    }

    #[test]
    fn a_key_put_in_again_survives_its_old_listing() {
        let cache = Cache::new(Duration::from_secs(60), 2);
        cache.insert("a", 1);
        cache.insert("a", 2);
        cache.insert("b", 3);
        assert_eq!(cache.get(&"a"), Some(2));
        cache.insert("c", 4);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&"c"), Some(4));
    }

    #[test]
    fn zero_ttl_or_capacity_caches_nothing() {
        let none = Cache::new(Duration::ZERO, 10);
        none.insert("a", 1);
        assert!(none.is_empty());
        let none = Cache::new(Duration::from_secs(1), 0);
        none.insert("a", 1);
        assert_eq!(none.get(&"a"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_run() {
        let flights: Arc<Flights<&'static str, usize>> = Arc::new(Flights::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let mut waiting = Vec::new();
        for _ in 0..50 {
            let runs = Arc::clone(&runs);
            let finished = Arc::clone(&finished);
            let receiver = flights.join(
                &"image",
                || async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    runs.fetch_add(1, Ordering::SeqCst) + 7
                },
                move |_| {
                    finished.fetch_add(1, Ordering::SeqCst);
                },
            );
            waiting.push(tokio::spawn(landed(receiver)));
        }
        for waiter in waiting {
            assert_eq!(waiter.await.unwrap(), Landed::Done(7));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(finished.load(Ordering::SeqCst), 1);
        assert!(flights.is_empty(), "a landed flight is forgotten");
    }
}

//! A bounded, sharded map for the engine's and the modules' caches (the
//! people behind CURPs, a module's rendered documents).
//!
//! Sharded so that two requests rarely meet on a lock, and each lock is held
//! only for a lookup or an insert (never while a value is built). A full
//! shard is emptied: the bound is a bound on memory, not an LRU.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use crate::fnv::{Fnv, FnvMap};

const SHARDS: usize = 16;

type Shard<K, V> = Mutex<FnvMap<K, V>>;

pub struct Cache<K, V> {
    shards: [Shard<K, V>; SHARDS],
    per_shard: usize,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    /// A cache of about `capacity` values.
    pub fn new(capacity: usize) -> Cache<K, V> {
        Cache {
            shards: std::array::from_fn(|_| Mutex::new(FnvMap::default())),
            per_shard: (capacity / SHARDS).max(1),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard(key).get(key).cloned()
    }

    /// Values held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `value`, emptying the key's shard first when it is full.
    pub fn insert(&self, key: K, value: V) {
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard {
            shard.clear();
        }
        shard.insert(key, value);
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> MutexGuard<'_, FnvMap<K, V>> {
        let mut h = Fnv::default();
        key.hash(&mut h);
        let shard = &self.shards[h.finish() as usize % SHARDS];
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_found_by_borrowed_keys() {
        let cache: Cache<String, u32> = Cache::new(32);
        cache.insert("a".to_string(), 1);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("b"), None);
        for i in 0..1000 {
            cache.insert(format!("k{i}"), i);
        }
        let kept = cache.len();
        assert!(kept <= 32, "{kept} kept");
        assert_eq!(cache.get("k999"), Some(999), "the newest is kept");
    }

    /// Nothing is dropped before its shard is full.
    #[test]
    fn holds_every_value_until_its_shard_is_full() {
        let cache: Cache<u32, u32> = Cache::new(64 * SHARDS);
        assert!(cache.is_empty());
        assert_eq!(cache.len(), 0);
        for i in 0..100 {
            cache.insert(i, i * 2);
        }
        assert!(!cache.is_empty());
        assert_eq!(cache.len(), 100);
        assert!((0..100).all(|i| cache.get(&i) == Some(i * 2)));
    }
}

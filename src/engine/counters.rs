//! Rate counters: how many times a key was seen in its window.

use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use serde::Serialize;

use super::ledger::{Ledger, Share};
use crate::time::Timestamp;

/// The span a counter counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// A provider day (America/Mexico_City, UTC-6).
    Day,
    /// One second of sandbox time.
    Second,
    /// Until the counters are reset.
    Forever,
}

impl Window {
    fn slot(self, now: Timestamp) -> i64 {
        match self {
            Window::Day => now.mx_date().days_since_epoch(),
            Window::Second => now.micros().div_euclid(1_000_000),
            Window::Forever => 0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Counter {
    pub key: String,
    pub window: Window,
    pub count: u64,
    /// The limit the provider applies to this counter, if any.
    pub limit: Option<u64>,
    /// The provider day or second the count belongs to.
    pub since: String,
    #[serde(skip)]
    slot: i64,
    /// The window before this one and its count, kept so that a clock set
    /// back a window and forward again finds the count it left.
    #[serde(skip)]
    before: (i64, u64),
}

/// One namespace's counters.
pub struct Counters {
    // A std mutex: a lookup and an increment, never held across an await.
    map: Mutex<Map>,
}

/// Counters by key; counters whose window has passed are dropped when the
/// map reaches `prune_at`, so a long run over many CURPs stays bounded.
/// Hashed with a random key (SipHash): the keys come from clients (an API
/// ID, a CURP), and keys made to collide under an unkeyed hash made every
/// hit scan the others. Kept in the order made, so which counters a
/// pruning keeps is the same on every run of the same requests.
struct Map {
    by_key: IndexMap<String, Counter>,
    prune_at: usize,
    /// The map's part of the keys every namespace's counters may hold
    /// together.
    share: Share,
}

/// Keys kept before the first pruning.
const PRUNE_AT: usize = 65_536;

/// Counters kept at most. More than half of it live in one window is a
/// flood, not a test suite (a fresh API ID per request, or the clock frozen
/// so that nothing passes): when the map is full, the passed windows go
/// first, then the oldest counters hit once (the furthest from any limit),
/// then the oldest of any, down to half, so that memory stays bounded and
/// pruning rare.
const MAX_KEYS: usize = 2 * PRUNE_AT;

/// Keys every namespace's counters hold together at most, beyond each
/// one's first [`KEYS_KEPT_WHATEVER_ELSE`]: a key is up to about 1 KB (an
/// accuauth API ID of 256 bytes in it, kept twice), and 1,025 namespaces
/// at [`MAX_KEYS`] each would hold over a hundred gigabytes. Past it, a
/// namespace's counters are cut to half, as at their own bound.
const KEYS_IN_ALL: usize = 2 * MAX_KEYS;

/// Keys a namespace's counters hold whatever the others hold.
const KEYS_KEPT_WHATEVER_ELSE: usize = 128;

/// The ledger every namespace's counters share: one per sandbox.
pub fn ledger() -> Arc<Ledger> {
    Ledger::new(KEYS_IN_ALL, KEYS_KEPT_WHATEVER_ELSE, 64)
}

impl Counters {
    /// Counters holding no more keys than `share` of every namespace's
    /// lets them.
    pub fn new(share: Share) -> Counters {
        Counters {
            map: Mutex::new(Map {
                by_key: IndexMap::new(),
                prune_at: 0,
                share,
            }),
        }
    }

    /// Counts one more hit of `key` and returns the count in the current
    /// window, this hit included; counts nothing and returns 0 unless
    /// `current()` (asked under the lock [`Counters::clear`] takes: the
    /// request's namespace was not reset since it began).
    pub fn hit(
        &self,
        key: &str,
        window: Window,
        limit: Option<u64>,
        now: Timestamp,
        current: impl FnOnce() -> bool,
    ) -> u64 {
        let slot = window.slot(now);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if !current() {
            return 0;
        }
        // A known key is found without a copy of it.
        if let Some(c) = map.by_key.get_mut(key) {
            return c.bump(window, limit, slot, now);
        }
        if map.by_key.len() >= map.prune_at.max(PRUNE_AT) {
            map.prune(now, MAX_KEYS / 2);
            // Still full of live counters: wait for twice as many, up to
            // the most kept.
            map.prune_at = (map.by_key.len() * 2).clamp(PRUNE_AT, MAX_KEYS);
        }
        let len = map.by_key.len();
        if !map.share.fits(len + 1) {
            // Every namespace's counters together hold their most: these
            // go down to half, as at their own bound.
            map.prune(now, len / 2);
        }
        // The room a pruning freed goes back to the others.
        let len = map.by_key.len();
        map.share.settle(len + 1);
        let mut c = Counter {
            key: key.to_string(),
            window,
            count: 0,
            limit,
            since: String::new(),
            slot,
            before: (i64::MIN, 0),
        };
        let n = c.bump(window, limit, slot, now);
        map.by_key.insert(key.to_string(), c);
        n
    }

    /// Every counter still in its window.
    pub fn list(&self, now: Timestamp) -> Vec<Counter> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // A count is the current window's, or the one kept beside it when
        // the clock went back to that window (it is the count requests
        // there are held to).
        let mut live: Vec<Counter> = map
            .by_key
            .values()
            .filter_map(|c| {
                let current = c.window.slot(now);
                if c.slot == current {
                    return Some(c.clone());
                }
                (c.before.0 == current && c.before.1 > 0).then(|| Counter {
                    count: c.before.1,
                    since: since(c.window, now),
                    slot: current,
                    before: (c.slot, c.count),
                    ..c.clone()
                })
            })
            .collect();
        live.sort_by(|a, b| a.key.cmp(&b.key));
        live
    }

    pub fn clear(&self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.by_key = IndexMap::new();
        map.prune_at = 0;
        map.share.settle(0);
    }
}

impl Map {
    /// Drops the counters whose windows have passed, then down to `keep`:
    /// the oldest counters hit once first, then the oldest of any.
    fn prune(&mut self, now: Timestamp, keep: usize) {
        // Passed: both windows a counter keeps are behind the clock. A
        // window ahead of it (the clock set back) is still to come.
        self.by_key.retain(|_, c| {
            let current = c.window.slot(now);
            c.slot >= current || c.before.0 >= current
        });
        let mut excess = self.by_key.len().saturating_sub(keep);
        for once in [true, false] {
            self.by_key.retain(|_, c| {
                let drop = excess > 0 && (c.count <= 1 || !once);
                excess -= usize::from(drop);
                !drop
            });
        }
    }
}

/// The provider day or second `now` falls in, as a counter's `since`.
fn since(window: Window, now: Timestamp) -> String {
    match window {
        Window::Day => now.mx_date().to_string(),
        Window::Second | Window::Forever => now.to_mx_rfc3339_secs(),
    }
}

impl Counter {
    /// One more hit in the window `slot`; the count, this hit included.
    fn bump(&mut self, window: Window, limit: Option<u64>, slot: i64, now: Timestamp) -> u64 {
        if self.slot != slot || self.since.is_empty() {
            if self.slot != slot {
                // Another window: the one kept beside this comes back if
                // the clock went back to it, and this one is kept in its
                // place when it is next to the new one (a window skipped
                // over is no window before: two back starts afresh).
                let back = if self.before.0 == slot {
                    self.before.1
                } else {
                    0
                };
                self.before = if self.slot.abs_diff(slot) == 1 {
                    (self.slot, self.count)
                } else {
                    (i64::MIN, 0)
                };
                self.slot = slot;
                self.count = back;
            }
            self.since = since(window, now);
        }
        self.count += 1;
        self.limit = limit;
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Counters as large as their own bound lets them be.
    fn counters() -> Counters {
        Counters::new(Ledger::new(usize::MAX, 0, 1).share())
    }

    /// README, Limitations: "the counters 131,072 keys (live ones past
    /// that are cut to 65,536 …)", pruned once 65,536 are held.
    #[test]
    fn the_bounds_are_the_readmes() {
        assert_eq!((PRUNE_AT, MAX_KEYS), (65_536, 131_072));
    }

    #[test]
    fn day_window_rolls_at_mexico_midnight() {
        let c = counters();
        let t = Timestamp::parse_rfc3339("2024-03-01T23:59:00-06:00").unwrap();
        assert_eq!(c.hit("k", Window::Day, Some(2), t, || true), 1);
        assert_eq!(c.hit("k", Window::Day, Some(2), t, || true), 2);
        assert_eq!(c.list(t)[0].since, "2024-03-01");
        let next = t.plus(Duration::from_secs(120));
        assert!(c.list(next).is_empty());
        assert_eq!(c.hit("k", Window::Day, Some(2), next, || true), 1);
        c.clear();
        assert!(c.list(next).is_empty());
        // A request that raced a reset counts nothing.
        assert_eq!(c.hit("k", Window::Day, Some(2), next, || false), 0);
        assert!(c.list(next).is_empty());
    }

    #[test]
    fn a_clock_set_back_a_window_and_forward_again_finds_its_count() {
        let c = counters();
        let today = Timestamp::parse_rfc3339("2024-05-15T10:00:00-06:00").unwrap();
        let yesterday = Timestamp::parse_rfc3339("2024-05-14T23:00:00-06:00").unwrap();
        assert_eq!(c.hit("k", Window::Day, Some(2), today, || true), 1);
        assert_eq!(c.hit("k", Window::Day, Some(2), today, || true), 2);
        assert_eq!(c.hit("k", Window::Day, Some(2), yesterday, || true), 1);
        assert_eq!(c.list(yesterday)[0].since, "2024-05-14");
        assert_eq!(c.hit("k", Window::Day, Some(2), today, || true), 3);
        assert_eq!(c.list(today)[0].since, "2024-05-15");
        assert_eq!(c.hit("k", Window::Day, Some(2), yesterday, || true), 2);
        // Two windows back is a window of its own, counted afresh.
        let before = Timestamp::parse_rfc3339("2024-05-13T12:00:00-06:00").unwrap();
        assert_eq!(c.hit("k", Window::Day, Some(2), before, || true), 1);
    }

    #[test]
    fn passed_windows_are_dropped_when_the_map_is_full() {
        let c = counters();
        let t = Timestamp::parse_rfc3339("2024-03-01T12:00:00-06:00").unwrap();
        for i in 0..PRUNE_AT {
            c.hit(&format!("old{i}"), Window::Day, None, t, || true);
        }
        let tomorrow = t.plus(Duration::from_secs(86_400));
        c.hit("k", Window::Day, None, tomorrow, || true);
        let map = c.map.lock().unwrap();
        assert_eq!(map.by_key.len(), 1, "yesterday's counters were dropped");
        drop(map);
        // Live counters are kept however many there are.
        for i in 0..PRUNE_AT {
            c.hit(&format!("new{i}"), Window::Day, None, tomorrow, || true);
        }
        assert_eq!(c.hit("k", Window::Day, None, tomorrow, || true), 2);
        assert_eq!(c.list(tomorrow).len(), PRUNE_AT + 1);
        assert_eq!(c.list(tomorrow)[0].key, "k");
    }

    #[test]
    fn the_listing_shows_the_count_requests_are_held_to() {
        let c = counters();
        let day = |d: &str| Timestamp::parse_rfc3339(&format!("{d}T12:00:00-06:00")).unwrap();
        let (today, yesterday) = (day("2024-03-02"), day("2024-03-01"));
        c.hit("k", Window::Day, Some(2), today, || true);
        c.hit("k", Window::Day, Some(2), today, || true);
        c.hit("k", Window::Day, Some(2), yesterday, || true);
        // Back on today, before a hit: today's 2, not nothing.
        let listed = c.list(today);
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].count, listed[0].since.as_str()),
            (2, "2024-03-02")
        );
        assert_eq!(c.hit("k", Window::Day, Some(2), today, || true), 3);
    }

    #[test]
    fn a_window_skipped_over_is_not_the_one_before() {
        let c = counters();
        let day = |d: &str| Timestamp::parse_rfc3339(&format!("{d}T12:00:00-06:00")).unwrap();
        let hit = |t| c.hit("k", Window::Day, Some(2), t, || true);
        assert_eq!((hit(day("2024-03-01")), hit(day("2024-03-01"))), (1, 2));
        // Two days on and back: the first day starts afresh.
        assert_eq!(hit(day("2024-03-03")), 1);
        assert_eq!(hit(day("2024-03-01")), 1);
        // One day on and back: its count is where it was.
        assert_eq!(hit(day("2024-03-02")), 1);
        assert_eq!(hit(day("2024-03-01")), 2);
    }

    #[test]
    fn a_pruning_with_the_clock_set_back_keeps_the_days_ahead() {
        let c = counters();
        let today = Timestamp::parse_rfc3339("2024-03-01T12:00:00-06:00").unwrap();
        let yesterday = Timestamp::parse_rfc3339("2024-02-29T12:00:00-06:00").unwrap();
        c.hit("k", Window::Day, Some(2), today, || true);
        c.hit("k", Window::Day, Some(2), today, || true);
        // Set back a day: "k"'s today is ahead, and its yesterday comes back.
        c.hit("j", Window::Day, Some(2), yesterday, || true);
        c.hit("j", Window::Day, Some(2), today, || true);
        for i in 0..PRUNE_AT {
            c.hit(&format!("old{i}"), Window::Day, None, today, || true);
        }
        // The pruning runs on yesterday's clock.
        c.hit("new", Window::Day, None, yesterday, || true);
        assert_eq!(c.hit("k", Window::Day, Some(2), today, || true), 3);
        assert_eq!(c.hit("j", Window::Day, Some(2), yesterday, || true), 2);
    }

    /// README, Decisions: "a clock set back a day and forward again finds
    /// the day's count where it left it", a pruning on the clock forward
    /// again too: the day kept from before the clock went back is live.
    #[test]
    fn a_pruning_after_the_clock_comes_forward_keeps_the_days_count() {
        let c = counters();
        let today = Timestamp::parse_rfc3339("2024-03-01T12:00:00-06:00").unwrap();
        let yesterday = Timestamp::parse_rfc3339("2024-02-29T12:00:00-06:00").unwrap();
        c.hit("k", Window::Day, Some(2), today, || true);
        c.hit("k", Window::Day, Some(2), today, || true);
        c.hit("k", Window::Day, Some(2), yesterday, || true);
        for i in 0..PRUNE_AT {
            c.hit(&format!("old{i}"), Window::Day, None, today, || true);
        }
        assert_eq!(c.hit("k", Window::Day, Some(2), today, || true), 3);
    }

    #[test]
    fn a_flood_of_live_keys_stays_bounded() {
        let c = counters();
        let t = Timestamp::parse_rfc3339("2024-03-01T12:00:00-06:00").unwrap();
        for i in 0..2 * MAX_KEYS {
            // Counted after half the bound's keys: the keys kept are not
            // merely the oldest ones.
            if i == MAX_KEYS / 2 + 100 {
                for k in 0..20 {
                    c.hit(&format!("k{k}"), Window::Forever, Some(5), t, || true);
                    c.hit(&format!("k{k}"), Window::Forever, Some(5), t, || true);
                }
            }
            c.hit(&format!("flood{i}"), Window::Forever, None, t, || true);
            assert!(c.map.lock().unwrap().by_key.len() <= MAX_KEYS);
        }
        // The counters hit more than once outlived the keys hit once.
        for k in 0..20 {
            assert_eq!(
                c.hit(&format!("k{k}"), Window::Forever, Some(5), t, || true),
                3
            );
        }
    }

    #[test]
    fn a_flood_of_keys_hit_once_keeps_the_newest_half() {
        let c = counters();
        let t = Timestamp::parse_rfc3339("2024-03-01T12:00:00-06:00").unwrap();
        c.hit("twice", Window::Forever, None, t, || true);
        c.hit("twice", Window::Forever, None, t, || true);
        for i in 0..MAX_KEYS {
            c.hit(&format!("once{i}"), Window::Forever, None, t, || true);
        }
        let map = c.map.lock().unwrap();
        // The bound was reached with the last key: half of it was kept
        // (the counter hit twice and the newest hit once), then that key.
        assert_eq!(map.by_key.len(), MAX_KEYS / 2 + 1);
        assert!(map.by_key.contains_key("twice"));
        let oldest_kept = MAX_KEYS - 1 - (MAX_KEYS / 2 - 1);
        assert!(!map.by_key.contains_key(&format!("once{}", oldest_kept - 1)));
        assert!(map.by_key.contains_key(&format!("once{oldest_kept}")));
        assert!(map.by_key.contains_key(&format!("once{}", MAX_KEYS - 1)));
    }

    #[test]
    fn a_flood_of_keys_all_hit_twice_is_cut_to_half_the_bound() {
        let c = counters();
        let t = Timestamp::parse_rfc3339("2024-03-01T12:00:00-06:00").unwrap();
        let len = || c.map.lock().unwrap().by_key.len();
        let mut cuts = Vec::new();
        for i in 0..MAX_KEYS + 10 {
            let before = len();
            let key = format!("twice{i}");
            c.hit(&key, Window::Forever, None, t, || true);
            c.hit(&key, Window::Forever, None, t, || true);
            let after = len();
            assert!(after <= MAX_KEYS);
            if after < before {
                cuts.push(after);
            }
        }
        // Every counter is live and counted twice: half the bound is kept,
        // and the new key beside it.
        assert_eq!(cuts, [MAX_KEYS / 2 + 1]);
    }

    /// README, Limitations: "262,144 keys beyond each namespace's first
    /// 128".
    #[test]
    fn every_namespace_s_counters_together_are_bounded_too() {
        assert_eq!((KEYS_IN_ALL, KEYS_KEPT_WHATEVER_ELSE), (262_144, 128));
        let t = Timestamp::parse_rfc3339("2024-03-01T12:00:00-06:00").unwrap();
        // Room for 100 keys in all, 10 each whatever the others hold.
        let ledger = Ledger::new(100, 10, 1);
        let full = Counters::new(ledger.share());
        for i in 0..100 {
            full.hit(&format!("f{i}"), Window::Day, None, t, || true);
        }
        let len = |c: &Counters| c.map.lock().unwrap().by_key.len();
        assert_eq!(len(&full), 100, "the ledger's room, all of it");
        let other = Counters::new(ledger.share());
        // Its floor, then cut to half, the counter hit twice kept.
        other.hit("twice", Window::Day, Some(5), t, || true);
        other.hit("twice", Window::Day, Some(5), t, || true);
        for i in 0..10 {
            other.hit(&format!("o{i}"), Window::Day, None, t, || true);
        }
        assert_eq!(len(&other), 6, "5 of its 11, then the new key");
        assert_eq!(other.hit("twice", Window::Day, Some(5), t, || true), 3);
        // The room it no longer needs given back, but a chunk.
        assert_eq!(ledger.taken(), 100 + 7);
        // The full one cuts its own too.
        full.hit("f100", Window::Day, None, t, || true);
        assert_eq!(len(&full), 51);
        assert_eq!(ledger.taken(), 52 + 7);
        // The other takes the room left, up to the bound.
        for i in 10..52 {
            other.hit(&format!("o{i}"), Window::Day, None, t, || true);
        }
        assert_eq!(len(&other), 48);
        assert_eq!(ledger.taken(), 100);
        other.hit("o52", Window::Day, None, t, || true);
        assert_eq!(len(&other), 25);
        full.clear();
        drop(other);
        assert_eq!(ledger.taken(), 0);
    }
}

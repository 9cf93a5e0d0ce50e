//! Rate counters: how many times a key was seen in its window.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

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
}

/// One namespace's counters.
#[derive(Default)]
pub struct Counters {
    // A std mutex: a lookup and an increment, never held across an await.
    map: Mutex<BTreeMap<String, Counter>>,
}

impl Counters {
    /// Counts one more hit of `key` and returns the count in the current
    /// window, this hit included.
    pub fn hit(&self, key: &str, window: Window, limit: Option<u64>, now: Timestamp) -> u64 {
        let slot = window.slot(now);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // A known key costs no copy of it.
        if !map.contains_key(key) {
            map.insert(
                key.to_string(),
                Counter {
                    key: key.to_string(),
                    window,
                    count: 0,
                    limit,
                    since: String::new(),
                    slot,
                },
            );
        }
        let Some(c) = map.get_mut(key) else {
            return 0;
        };
        if c.slot != slot || c.count == 0 {
            c.slot = slot;
            c.count = 0;
            c.since = match window {
                Window::Day => now.mx_date().to_string(),
                Window::Second | Window::Forever => now.to_mx_rfc3339_secs(),
            };
        }
        c.count += 1;
        c.limit = limit;
        c.count
    }

    /// Every counter still in its window.
    pub fn list(&self, now: Timestamp) -> Vec<Counter> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.values()
            .filter(|c| c.slot == c.window.slot(now))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn day_window_rolls_at_mexico_midnight() {
        let c = Counters::default();
        let t = Timestamp::parse_rfc3339("2024-03-01T23:59:00-06:00").unwrap();
        assert_eq!(c.hit("k", Window::Day, Some(2), t), 1);
        assert_eq!(c.hit("k", Window::Day, Some(2), t), 2);
        assert_eq!(c.list(t)[0].since, "2024-03-01");
        let next = t.plus(Duration::from_secs(120));
        assert!(c.list(next).is_empty());
        assert_eq!(c.hit("k", Window::Day, Some(2), next), 1);
        c.clear();
        assert!(c.list(next).is_empty());
    }
}

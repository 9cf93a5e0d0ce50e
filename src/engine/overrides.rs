//! Overrides set through the admin API: "answer this provider (or this path
//! of it) with that scenario, for the next N requests or until cleared".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use super::latency::{Fault, Latency};

#[derive(Debug, Clone, Serialize)]
pub struct Override {
    pub id: u64,
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The method that narrows `path` (nss's history shares its query's
    /// path), as given, in capitals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The endpoints `path` and `method` name (their ids in the provider's
    /// file), those of them with the scenario: what a request is matched
    /// by, whichever of an endpoint's paths it came on. `None`: any.
    #[serde(skip)]
    pub endpoints: Option<Vec<String>>,
    pub scenario: String,
    /// How many requests it was set for; `None` is sticky.
    pub times: Option<u64>,
    /// How many of those are left.
    pub remaining: Option<u64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "display_opt"
    )]
    pub latency: Option<Latency>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "display_opt"
    )]
    pub fault: Option<Fault>,
}

fn display_opt<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// What a matching override decided for one request.
#[derive(Debug, Clone)]
pub struct Hit {
    pub scenario: String,
    pub latency: Option<Latency>,
    pub fault: Option<Fault>,
}

/// One namespace's overrides, newest first when matching.
#[derive(Default)]
pub struct Overrides {
    // A std mutex: a short scan of a handful of entries per request.
    inner: Mutex<Inner>,
    /// How many are set, kept beside the list so that a request finds
    /// "none" (nearly always) without taking the lock every worker shares.
    held: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    list: Vec<Override>,
    next_id: u64,
}

/// Overrides one namespace holds at most: each request looks through them.
pub const MAX_OVERRIDES: usize = 1000;

impl Overrides {
    /// Adds `o`; `None` when [`MAX_OVERRIDES`] are held already.
    pub fn add(&self, mut o: Override) -> Option<Override> {
        let mut inner = self.lock();
        if inner.list.len() >= MAX_OVERRIDES {
            return None;
        }
        inner.next_id += 1;
        o.id = inner.next_id;
        o.remaining = o.times;
        inner.list.push(o.clone());
        self.held.store(inner.list.len(), Ordering::SeqCst);
        Some(o)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the newest override that applies to this provider and endpoint
    /// (by its id) and whose scenario the endpoint has, spending one of its
    /// `times`.
    /// `current()` is asked under the lock [`Overrides::restart`] takes: an
    /// override is spent only by a request that began since the last reset.
    pub fn take(
        &self,
        provider: &str,
        endpoint: &str,
        has: impl Fn(&str) -> bool,
        current: impl FnOnce() -> bool,
    ) -> Option<Hit> {
        if self.held.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let mut inner = self.lock();
        if !current() {
            return None;
        }
        let idx = inner.list.iter().rposition(|o| {
            o.provider == provider
                && o.endpoints
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|id| id == endpoint))
                && has(&o.scenario)
        })?;
        let o = &mut inner.list[idx];
        let hit = Hit {
            scenario: o.scenario.clone(),
            latency: o.latency,
            fault: o.fault,
        };
        if let Some(left) = o.remaining.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                inner.list.remove(idx);
                self.held.store(inner.list.len(), Ordering::SeqCst);
            }
        }
        Some(hit)
    }

    pub fn list(&self) -> Vec<Override> {
        self.lock().list.clone()
    }

    /// Keeps the overrides `keep` accepts (which may update them) and
    /// returns the others.
    pub fn retain(&self, mut keep: impl FnMut(&mut Override) -> bool) -> Vec<Override> {
        let mut inner = self.lock();
        let mut gone = Vec::new();
        inner.list.retain_mut(|o| {
            let kept = keep(o);
            if !kept {
                gone.push(o.clone());
            }
            kept
        });
        self.held.store(inner.list.len(), Ordering::SeqCst);
        gone
    }

    /// Removes one; false when there was no such id.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.list.len();
        inner.list.retain(|o| o.id != id);
        self.held.store(inner.list.len(), Ordering::SeqCst);
        inner.list.len() != before
    }

    /// Removes every override; ids go on from the last one given.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.list.clear();
        self.held.store(0, Ordering::SeqCst);
    }

    /// Back to start, as a namespace reset puts it: none, and ids from 1.
    pub fn restart(&self) {
        let mut inner = self.lock();
        inner.list.clear();
        inner.next_id = 0;
        self.held.store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(provider: &str, endpoint: Option<&str>, scenario: &str, times: Option<u64>) -> Override {
        Override {
            id: 0,
            provider: provider.into(),
            path: endpoint.map(|e| format!("/{e}")),
            method: None,
            endpoints: endpoint.map(|e| vec![e.into()]),
            scenario: scenario.into(),
            times,
            remaining: None,
            latency: None,
            fault: None,
        }
    }

    #[test]
    fn times_run_out_and_newest_wins() {
        let ov = Overrides::default();
        ov.add(o("p", None, "a", None));
        ov.add(o("p", Some("x"), "b", Some(2)));
        let all = |_: &str| true;
        assert_eq!(ov.take("p", "x", all, || true).unwrap().scenario, "b");
        assert_eq!(ov.take("p", "x", all, || true).unwrap().scenario, "b");
        assert_eq!(ov.take("p", "x", all, || true).unwrap().scenario, "a");
        assert_eq!(ov.take("p", "y", all, || true).unwrap().scenario, "a");
        assert!(ov.take("q", "x", all, || true).is_none());
        assert!(ov.take("p", "x", |s| s != "a", || true).is_none());
        assert_eq!(ov.list().len(), 1);
        assert!(ov.remove(1));
        assert!(!ov.remove(1));
        assert!(ov.take("p", "x", all, || true).is_none(), "none left");
        ov.add(o("p", None, "c", Some(1)));
        // A request that raced a reset spends nothing.
        assert!(ov.take("p", "x", all, || false).is_none());
        assert_eq!(ov.take("p", "x", all, || true).unwrap().scenario, "c");
        assert!(ov.take("p", "x", all, || true).is_none(), "spent");
        ov.add(o("p", None, "d", None));
        ov.clear();
        assert!(ov.take("p", "x", all, || true).is_none(), "cleared");
    }

    /// `clear` empties and ids go on; `restart` empties and ids start over.
    #[test]
    fn clear_keeps_the_ids_going_and_restart_starts_them_again() {
        let ov = Overrides::default();
        let id = |ov: &Overrides| ov.add(o("p", None, "a", None)).unwrap().id;
        assert_eq!((id(&ov), id(&ov)), (1, 2));
        ov.clear();
        assert!(ov.list().is_empty());
        assert_eq!(id(&ov), 3);
        ov.restart();
        assert!(ov.list().is_empty());
        assert!(ov.take("p", "x", |_| true, || true).is_none(), "restarted");
        assert_eq!(id(&ov), 1);
    }

    #[test]
    fn retain_keeps_updates_and_returns_the_rest() {
        let ov = Overrides::default();
        ov.add(o("p", Some("x"), "a", None));
        ov.add(o("p", Some("y"), "b", None));
        let gone = ov.retain(|o| {
            o.endpoints = Some(vec!["z".into()]);
            o.scenario == "a"
        });
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].scenario, "b");
        assert_eq!(ov.take("p", "z", |_| true, || true).unwrap().scenario, "a");
        assert!(ov.take("p", "y", |_| true, || true).is_none());
    }
}

//! Overrides set through the admin API: "answer this provider (or this path
//! of it) with that scenario, for the next N requests or until cleared".

use std::mem::size_of;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use super::latency::{Fault, Latency};
use super::ledger::{Ledger, Refused, Share};

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
    set: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    list: Vec<Override>,
    next_id: u64,
    /// What `list` holds, in bytes ([`size`]).
    bytes: usize,
    /// Its part of what every namespace's overrides hold ([`ledger`]);
    /// none for a store on its own (the tests').
    share: Option<Share>,
}

/// Overrides one namespace holds at most: each request looks through them.
pub const MAX_OVERRIDES: usize = 1000;

/// What every namespace's overrides hold together, in bytes: 16 MB, beyond
/// 64 KB each namespace keeps (some two hundred overrides) whatever the
/// others hold, taken 4 KB at a time. An ordinary override is some 300
/// bytes, but its scenario's name and path are a user's file's, of any
/// length; and 1,025 namespaces of [`MAX_OVERRIDES`] each would hold
/// hundreds of MB of ordinary ones.
pub fn ledger() -> Arc<Ledger> {
    Ledger::new(MAX_BYTES_IN_ALL, KEPT_WHATEVER_ELSE, 4 << 10)
}

/// The bound of [`ledger`].
pub const MAX_BYTES_IN_ALL: usize = 16 << 20;
/// The floor of [`ledger`]: what a namespace's overrides may hold whatever
/// the others hold.
pub const KEPT_WHATEVER_ELSE: usize = 64 << 10;

/// What one override holds, in bytes: its own size and its strings'.
fn size(o: &Override) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
    let endpoints = o.endpoints.as_ref().map_or(0, |ids| {
        ids.capacity() * size_of::<String>() + ids.iter().map(String::capacity).sum::<usize>()
    });
    size_of::<Override>()
        + o.provider.capacity()
        + text(&o.path)
        + text(&o.method)
        + endpoints
        + o.scenario.capacity()
}

impl Inner {
    /// Gives back to the ledger what the list no longer needs, and says
    /// how many are set. A list down to under half its room frees the
    /// rest: the ledger counts the overrides, not the room a thousand once
    /// took.
    fn settle(&mut self, set: &AtomicUsize) {
        if self.list.capacity() > 2 * self.list.len().max(8) {
            self.list.shrink_to_fit();
        }
        if let Some(share) = self.share.as_mut() {
            share.settle(self.bytes);
        }
        set.store(self.list.len(), Ordering::SeqCst);
    }

    fn remove(&mut self, idx: usize) -> Override {
        let o = self.list.remove(idx);
        self.bytes -= size(&o);
        o
    }
}

impl Overrides {
    /// A namespace's overrides, counted in `share` of every namespace's.
    pub fn new(share: Share) -> Overrides {
        Overrides {
            inner: Mutex::new(Inner {
                share: Some(share),
                ..Inner::default()
            }),
            set: AtomicUsize::new(0),
        }
    }

    /// Adds `o`; refused when [`MAX_OVERRIDES`] are held already, or when
    /// this namespace holds more than its floor of every namespace's
    /// ([`ledger`]) and they hold their bound together.
    pub fn add(&self, mut o: Override) -> Result<Override, Refused> {
        let mut inner = self.lock();
        if inner.list.len() >= MAX_OVERRIDES {
            return Err(Refused::Own);
        }
        let bytes = inner.bytes + size(&o);
        if let Some(share) = inner.share.as_mut() {
            if !share.fits(bytes) {
                inner.settle(&self.set);
                return Err(Refused::InAll);
            }
        }
        inner.bytes = bytes;
        inner.next_id += 1;
        o.id = inner.next_id;
        o.remaining = o.times;
        // The one measured is the one kept: a clone's strings and list
        // may be smaller, and counted less when it goes.
        let created = o.clone();
        inner.list.push(o);
        inner.settle(&self.set);
        Ok(created)
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
        if self.set.load(Ordering::SeqCst) == 0 {
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
                inner.remove(idx);
                inner.settle(&self.set);
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
        // Those kept may have changed size (re-aimed at another path): held
        // whatever the bound, as a reload cannot refuse them.
        inner.bytes = inner.list.iter().map(size).sum();
        let bytes = inner.bytes;
        if let Some(share) = inner.share.as_mut() {
            share.hold(bytes);
        }
        inner.settle(&self.set);
        gone
    }

    /// Removes one; false when there was no such id.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let Some(idx) = inner.list.iter().position(|o| o.id == id) else {
            return false;
        };
        inner.remove(idx);
        inner.settle(&self.set);
        true
    }

    /// Removes every override; ids go on from the last one given.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.list = Vec::new();
        inner.bytes = 0;
        inner.settle(&self.set);
    }

    /// Back to start, as a namespace reset puts it: none, and ids from 1.
    pub fn restart(&self) {
        let mut inner = self.lock();
        inner.list = Vec::new();
        inner.bytes = 0;
        inner.next_id = 0;
        inner.settle(&self.set);
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
        ov.add(o("p", None, "a", None)).unwrap();
        ov.add(o("p", Some("x"), "b", Some(2))).unwrap();
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
        ov.add(o("p", None, "c", Some(1))).unwrap();
        // A request that raced a reset spends nothing.
        assert!(ov.take("p", "x", all, || false).is_none());
        assert_eq!(ov.take("p", "x", all, || true).unwrap().scenario, "c");
        assert!(ov.take("p", "x", all, || true).is_none(), "spent");
        ov.add(o("p", None, "d", None)).unwrap();
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

    /// Every namespace's overrides take from one ledger (README, Decisions:
    /// "What requests store is bounded across namespaces too"): past the
    /// bound, one past its floor is refused (nothing is let go on its
    /// own), and what goes is given back.
    #[test]
    fn past_the_bound_in_all_one_past_its_floor_is_refused() {
        let one = size(&o("p", Some("x"), "a", None));
        let l = Ledger::new(10 * one, 3 * one, 1);
        let (a, b) = (Overrides::new(l.share()), Overrides::new(l.share()));
        let add = |ov: &Overrides| ov.add(o("p", Some("x"), "a", Some(1))).map(|o| o.id);
        for _ in 0..10 {
            add(&a).unwrap();
        }
        assert_eq!(l.taken(), 10 * one);
        assert_eq!(add(&a), Err(Refused::InAll), "a is past its floor");
        assert_eq!((a.list().len(), l.taken()), (10, 10 * one), "nothing went");
        for _ in 0..3 {
            add(&b).unwrap();
        }
        assert_eq!(l.taken(), 13 * one, "b's floor, whatever a holds");
        assert_eq!(add(&b), Err(Refused::InAll));
        // Spent or deleted: given back (but for a byte, the chunk a store
        // keeps past what it holds).
        assert_eq!(a.take("p", "x", |_| true, || true).unwrap().scenario, "a");
        for id in 2..=5 {
            assert!(a.remove(id));
        }
        assert_eq!(l.taken(), 8 * one + 1);
        assert_eq!(add(&b), Ok(4), "room again");
        assert_eq!(add(&b), Err(Refused::InAll));
        // A reload that re-aims one at a longer path holds it, whatever
        // the bound.
        let longer = "/a-longer-path-than-any-before".to_string();
        let mut grown = 0;
        b.retain(|o| {
            if o.id == 1 {
                grown = longer.capacity() - o.path.as_ref().map_or(0, String::capacity);
                o.path = Some(longer.clone());
            }
            true
        });
        assert!(grown > 0);
        assert_eq!(l.taken(), 9 * one + 1 + grown);
        a.clear();
        b.restart();
        assert_eq!(l.taken(), 0, "all given back");
        // What goes is counted as it was taken, to the byte, however its
        // strings and list were allocated.
        let mut roomy = o("p", Some("x"), "a", None);
        let mut ids = Vec::with_capacity(8);
        ids.push(String::with_capacity(64) + "x");
        roomy.endpoints = Some(ids);
        let id = a.add(roomy).unwrap().id;
        assert!(a.remove(id));
        assert_eq!(l.taken(), 0, "given back whole");
        // Its own bound is said apart, first when both would refuse.
        let full = Ledger::new(MAX_OVERRIDES * one, 0, 1);
        let c = Overrides::new(full.share());
        for _ in 0..MAX_OVERRIDES {
            add(&c).unwrap();
        }
        assert_eq!(full.taken(), MAX_OVERRIDES * one, "the ledger full too");
        assert_eq!(add(&c), Err(Refused::Own));
        // A reload that drops some gives them back; and the list frees the
        // room it no longer needs, which the ledger does not count.
        c.retain(|o| o.id <= 10);
        assert_eq!(full.taken(), 10 * one + 1);
        assert!(c.lock().list.capacity() <= 20);
        c.clear();
        assert_eq!((full.taken(), c.lock().list.capacity()), (0, 0));
    }

    #[test]
    fn retain_keeps_updates_and_returns_the_rest() {
        let ov = Overrides::default();
        ov.add(o("p", Some("x"), "a", None)).unwrap();
        ov.add(o("p", Some("y"), "b", None)).unwrap();
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

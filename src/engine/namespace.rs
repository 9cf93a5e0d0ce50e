//! Runtime state, one set per namespace (`X-Sandbox-Namespace`), so that
//! parallel CI suites share a server without seeing each other.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use super::clock::{Clock, Start};
use super::counters::Counters;
use super::journal::Journal;
use super::ledger::Ledger;
use super::overrides::Overrides;
use super::timers::Timers;
use crate::time::Timestamp;

pub const DEFAULT_NAMESPACE: &str = "default";

/// More namespaces than this (`default` aside) is a runaway client, not a
/// test suite.
pub const MAX_NAMESPACES: usize = 1024;

/// Everything one namespace remembers.
pub struct Namespace {
    pub name: String,
    /// The sandbox's mark, which this namespace's webhooks carry
    /// ([`Namespaces::webhook_mark`]).
    pub webhook_mark: Arc<str>,
    /// Shared with the timers, which wait on it.
    pub clock: Arc<Clock>,
    /// Work due at a sandbox instant (retries, webhook attempts).
    pub timers: Timers,
    pub overrides: Overrides,
    pub counters: Counters,
    pub journal: Journal,
    /// Numbers the requests, so that ids derived from it replay with
    /// `--seed`: the count in the low [`SEQ_BITS`], above them the low bits
    /// of the generation it counts in ([`Namespace::next_seq`]).
    seq: AtomicU64,
    /// Which reset the namespace is at: even between resets, odd during
    /// one. A request reads it first ([`Namespace::begin`]) and stores
    /// anything (a journal entry, a count, a spent override, a module's
    /// state) only if it is unchanged, checked under the lock that the
    /// reset's clearing of that state takes: a request that raced a reset
    /// stores nothing after it.
    generation: AtomicU64,
    /// One reset at a time. A std mutex: a reset clears state under it
    /// without awaiting.
    resetting: Mutex<()>,
    /// Set when a reset frees the name ([`Namespaces::forget`]): a request
    /// that finds it so once it has begun looks the name up again, so that
    /// nothing lands in a namespace no one can read any more.
    retired: AtomicBool,
    // State a provider module keeps for itself (a history, verifications),
    // keyed by the provider's id. The engine only stores and resets it. A std
    // mutex: modules keep their sections short and never await inside.
    // A list: a module or two keep state, and a scan beats hashing the key.
    state: Mutex<Vec<(&'static str, Box<dyn Any + Send>)>>,
    /// This namespace, for timer tasks that outlive the request that
    /// scheduled them (weak, so that a task never keeps it alive).
    me: Weak<Namespace>,
}

impl Namespace {
    fn new(making: &Making, name: &str, me: Weak<Namespace>) -> Namespace {
        let clock = Arc::new(Clock::new(making.clock));
        Namespace {
            name: name.to_string(),
            webhook_mark: making.webhook_mark.clone(),
            timers: Timers::new(clock.clone()),
            clock,
            overrides: Overrides::new(making.override_bytes.share()),
            counters: Counters::new(making.counter_keys.share()),
            journal: Journal::new(making.journal_limit, making.journal_bytes.share()),
            seq: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            resetting: Mutex::new(()),
            retired: AtomicBool::new(false),
            state: Mutex::new(Vec::new()),
            me,
        }
    }

    /// A weak handle on this namespace, for work scheduled on its timers.
    pub fn weak(&self) -> Weak<Namespace> {
        self.me.clone()
    }

    /// Where a request (or an admin action) begins: the generation first,
    /// then the clock. A reset in progress is waited out (it only clears,
    /// a few microseconds), so that nothing begins half in the old state.
    pub fn begin(&self) -> Began {
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            if generation.is_multiple_of(2) {
                let now = self.clock.now();
                return Began { generation, now };
            }
            std::thread::yield_now();
        }
    }

    /// Whether a reset freed this namespace's name: it is no longer the one
    /// the name leads to.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::SeqCst)
    }

    /// Whether no reset came since `generation` ([`Namespace::begin`]).
    pub fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    /// The next request sequence number (1, 2, …) of a request that began
    /// in `generation`. One that began before a reset takes none of the
    /// numbers after it (the first request after a reset is number 1, as
    /// in a fresh sandbox): it gets one past the count, with the top bit
    /// set, which no current request gets (what it stores is dropped).
    pub fn next_seq(&self, generation: u64) -> u64 {
        let tag = seq_tag(generation);
        match self
            .seq
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                (v & !SEQ_MASK == tag).then_some(v + 1)
            }) {
            Ok(v) => (v & SEQ_MASK) + 1,
            Err(v) => ((v & SEQ_MASK) + 1) | 1 << 63,
        }
    }

    /// Runs `f` on the module state stored under `key`, creating it on first use.
    pub fn with_state<T: Default + Send + 'static, R>(
        &self,
        key: &'static str,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let mut list = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let at = match list.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                list.push((key, Box::new(T::default())));
                list.len() - 1
            }
        };
        let slot = &mut list[at].1;
        if !slot.is::<T>() {
            *slot = Box::new(T::default());
        }
        // The slot holds a T: it was just checked or replaced.
        let state = slot.downcast_mut::<T>().expect("state slot holds its type");
        f(state)
    }

    /// Timers, journal, counters, overrides, module state and clock back to start.
    pub fn reset(&self) {
        /// Ends the reset's odd generation, whatever happens in it.
        struct Done<'a>(&'a AtomicU64);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let _one = self.resetting.lock().unwrap_or_else(|p| p.into_inner());
        // Odd first: every store of a request that began before checks the
        // generation under the lock each clearing below takes, and so lands
        // before its clearing or not at all.
        self.generation.fetch_add(1, Ordering::SeqCst);
        let _done = Done(&self.generation);
        // Counted from 0 in the generation the reset ends in.
        let next = self.generation.load(Ordering::SeqCst) + 1;
        self.seq.store(seq_tag(next), Ordering::SeqCst);
        self.timers.clear();
        self.journal.restart();
        self.counters.clear();
        self.overrides.restart();
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.clock.reset();
    }
}

/// Bits of [`Namespace`]'s `seq` that count requests (2^48 of them
/// between two resets); the bits above hold the generation's low bits.
const SEQ_BITS: u32 = 48;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;

/// The generation's part of a `seq` value.
fn seq_tag(generation: u64) -> u64 {
    generation << SEQ_BITS
}

/// When a request began in its namespace ([`Namespace::begin`]).
#[derive(Clone, Copy, Debug)]
pub struct Began {
    /// The reset generation: what the request stores is kept only while it
    /// is current ([`Namespace::is_current`]).
    pub generation: u64,
    /// The request's one reading of the sandbox clock.
    pub now: Timestamp,
}

/// A namespace for the length of one request.
pub enum NsRef<'a> {
    Borrowed(&'a Arc<Namespace>),
    Owned(Arc<Namespace>),
}

impl std::ops::Deref for NsRef<'_> {
    type Target = Namespace;

    fn deref(&self) -> &Namespace {
        match self {
            NsRef::Borrowed(ns) => ns,
            NsRef::Owned(ns) => ns,
        }
    }
}

/// What every namespace of one sandbox is made with.
struct Making {
    clock: Start,
    journal_limit: usize,
    /// What every namespace's journals, counters and overrides hold
    /// together.
    journal_bytes: Arc<Ledger>,
    counter_keys: Arc<Ledger>,
    override_bytes: Arc<Ledger>,
    /// The value of [`crate::engine::WEBHOOK_HEADER`] on every webhook this
    /// sandbox sends: a webhook aimed back at the sandbox itself is told by
    /// it, and refused, rather than creating a verification whose webhook
    /// comes back in turn.
    webhook_mark: Arc<str>,
}

/// All namespaces: `default` made with them, when the server starts, and
/// every other on first use.
pub struct Namespaces {
    // Every request looks its namespace up: a read lock (shared, never
    // waits on another reader) for that; the write lock only to create one.
    map: RwLock<HashMap<String, Arc<Namespace>>>,
    /// `default`, which nearly every request uses, without the map (it is
    /// in the map too, for what lists or stops them all). Made at once, so
    /// that its clock starts with the server, as `--start-time` says.
    default: Arc<Namespace>,
    making: Making,
    /// Set at shutdown: a namespace made after it (by a request still in
    /// flight) starts with its timers stopped, as the others were.
    stopped: AtomicBool,
}

impl Namespaces {
    pub fn new(clock: Start, journal_limit: usize, webhook_mark: &str) -> Namespaces {
        let making = Making {
            clock,
            journal_limit,
            journal_bytes: super::journal::ledger(),
            counter_keys: super::counters::ledger(),
            override_bytes: super::overrides::ledger(),
            webhook_mark: webhook_mark.into(),
        };
        let default = Arc::new_cyclic(|me| Namespace::new(&making, DEFAULT_NAMESPACE, me.clone()));
        let map = HashMap::from([(DEFAULT_NAMESPACE.to_string(), default.clone())]);
        Namespaces {
            map: RwLock::new(map),
            default,
            making,
            stopped: AtomicBool::new(false),
        }
    }

    /// The value of [`crate::engine::WEBHOOK_HEADER`] on this sandbox's
    /// webhooks.
    pub fn webhook_mark(&self) -> &str {
        &self.making.webhook_mark
    }

    /// Stops every namespace's timers for good, and those of any namespace
    /// made from now on (shutdown: nothing is delivered after it).
    pub fn stop_timers(&self) {
        let map = self.map.write().unwrap_or_else(|p| p.into_inner());
        self.stopped.store(true, Ordering::SeqCst);
        for ns in map.values() {
            ns.timers.stop();
        }
    }

    /// [`Namespaces::get`], borrowing `default` instead of sharing it: a
    /// request then does not touch its reference count.
    pub fn lookup(&self, name: &str) -> Result<NsRef<'_>, String> {
        if name == DEFAULT_NAMESPACE {
            return Ok(NsRef::Borrowed(&self.default));
        }
        self.named(name).map(NsRef::Owned)
    }

    /// The namespace called `name`, or why it cannot be had.
    pub fn get(&self, name: &str) -> Result<Arc<Namespace>, String> {
        self.lookup(name).map(|ns| match ns {
            NsRef::Borrowed(ns) => ns.clone(),
            NsRef::Owned(ns) => ns,
        })
    }

    /// The namespace called `name` if one was made, else a blank one that is
    /// not kept: what reading a namespace sees, without the read making it
    /// (a namespace counts against [`MAX_NAMESPACES`] once a request or a
    /// change was made in it).
    pub fn existing_or_blank(&self, name: &str) -> Result<Arc<Namespace>, String> {
        check_name(name)?;
        // `default` too: it is in the map like any other.
        if let Some(ns) = self.map.read().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(ns.clone());
        }
        Ok(Arc::new_cyclic(|me| {
            Namespace::new(&self.making, name, me.clone())
        }))
    }

    fn named(&self, name: &str) -> Result<Arc<Namespace>, String> {
        check_name(name)?;
        if let Some(ns) = self.map.read().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(ns.clone());
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if let Some(ns) = map.get(name) {
            return Ok(ns.clone());
        }
        // `default` is always there, and counts against no one.
        if map.len() > MAX_NAMESPACES {
            return Err(format!(
                "too many namespaces (at most {MAX_NAMESPACES}); reuse one, or free one with POST /__admin/reset?namespace=NAME"
            ));
        }
        let ns = Arc::new_cyclic(|me| Namespace::new(&self.making, name, me.clone()));
        // Read under the write lock `stop_timers` takes: either it sees
        // this namespace in the map, or this sees the flag.
        if self.stopped.load(Ordering::SeqCst) {
            ns.timers.stop();
        }
        map.insert(name.to_string(), ns.clone());
        Ok(ns)
    }

    /// Frees the name of a namespace about to be reset: the next request
    /// that names it starts a new one. Called before the reset, so that a
    /// request that begins in the old one after the reset finds it retired
    /// (and one that began before has its stores dropped by the reset).
    /// `default` stays.
    pub fn forget(&self, name: &str) {
        if name != DEFAULT_NAMESPACE {
            let gone = self
                .map
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(name);
            if let Some(ns) = gone {
                ns.retired.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Every namespace made so far, by name: what lists them (a reload's dropped
    /// overrides) reads the same on every run.
    pub fn all(&self) -> Vec<Arc<Namespace>> {
        let mut all: Vec<Arc<Namespace>> = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

/// A namespace's name is 1 to 64 letters, digits, '-', '_' or '.'.
fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        let name = super::quoted(name);
        Err(format!(
            "namespace '{name}' is not valid: use 1 to 64 letters, digits, '-', '_' or '.'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Namespaces of a running clock, journals of 10 entries.
    fn namespaces() -> Namespaces {
        let start = Start {
            at: None,
            scale: 1.0,
        };
        Namespaces::new(start, 10, "0")
    }

    #[test]
    fn a_forgotten_namespace_is_retired_and_its_name_leads_to_a_new_one() {
        let all = namespaces();
        let old = all.get("team").unwrap();
        all.forget("team");
        old.reset();
        // A request that begins in the old one now finds it retired, and
        // looks the name up again: a new namespace.
        assert!(old.is_retired());
        let new = all.get("team").unwrap();
        assert!(!Arc::ptr_eq(&old, &new) && !new.is_retired());
        // `default` is reset in place, never retired.
        let default = all.get(DEFAULT_NAMESPACE).unwrap();
        all.forget(DEFAULT_NAMESPACE);
        assert!(!default.is_retired());
    }

    /// Every namespace's journal, counters and overrides take from the same
    /// ledgers
    /// (README, Decisions: "What requests store is bounded across
    /// namespaces too"), and give back what they took when reset.
    #[test]
    fn every_namespace_takes_from_the_same_ledgers() {
        use super::super::counters::Window;
        use super::super::journal::{Entry, Record};
        let all = namespaces();
        let taken = || {
            let m = &all.making;
            (
                m.journal_bytes.taken(),
                m.counter_keys.taken(),
                m.override_bytes.taken(),
            )
        };
        let use_it = |ns: &Namespace| {
            let headers = hyper::HeaderMap::new();
            let entry = Entry::new(Record {
                time: ns.clock.now(),
                provider: None,
                method: &hyper::Method::GET,
                path: "/",
                query: "",
                headers: &headers,
                body: b"",
                status: 404,
                scenario: None,
                selected_by: None,
                fault: None,
                curp: None,
            });
            ns.journal.record(entry, || true);
            ns.counters
                .hit("k", Window::Forever, None, ns.clock.now(), || true);
            ns.overrides
                .add(super::super::overrides::Override {
                    id: 0,
                    provider: "p".into(),
                    path: None,
                    method: None,
                    endpoints: None,
                    scenario: "s".into(),
                    times: None,
                    remaining: None,
                    latency: None,
                    fault: None,
                })
                .unwrap();
        };
        use_it(&all.get(DEFAULT_NAMESPACE).unwrap());
        let one = taken();
        assert!(one.0 > 0 && one.1 > 0 && one.2 > 0);
        // Only read: made blank, not kept, nothing taken.
        let _blank = all.existing_or_blank("read-only").unwrap();
        assert_eq!(taken(), one);
        let team = all.get("team").unwrap();
        use_it(&team);
        assert_eq!(
            taken(),
            (2 * one.0, 2 * one.1, 2 * one.2),
            "the same ledgers"
        );
        all.forget("team");
        team.reset();
        assert_eq!(taken(), one, "given back at the reset");
    }

    #[test]
    fn a_reset_ends_the_generation_of_every_request_begun_before_it() {
        let start = Start {
            at: Some(Timestamp::parse_rfc3339("2024-03-01T10:00:00-06:00").unwrap()),
            scale: 0.0,
        };
        let ns = Namespaces::new(start, 10, "0")
            .get(DEFAULT_NAMESPACE)
            .unwrap();
        ns.clock.advance(Duration::from_secs(86_400));
        let before = ns.begin();
        assert!(ns.is_current(before.generation));
        // Requests are numbered from 1, and from 1 again after a reset: a
        // seeded answer is the same in a fresh sandbox and a reset one.
        let g = before.generation;
        assert_eq!((ns.next_seq(g), ns.next_seq(g)), (1, 2));
        ns.reset();
        assert!(!ns.is_current(before.generation));
        // A request that began before the reset takes no number of the
        // new count, and gets none a current one gets.
        // It is one past the new count (none yet), with the top bit set.
        let stale = ns.next_seq(before.generation);
        assert_eq!(stale, 1 | 1 << 63, "{stale}");
        // A request after it begins in the new generation, on the clock
        // as it starts.
        let after = ns.begin();
        assert_eq!(ns.next_seq(after.generation), 1);
        assert!(ns.is_current(after.generation));
        assert_eq!(
            after.generation % 2,
            0,
            "a generation between resets is even"
        );
        assert_eq!(after.now, start.at.unwrap());
        assert_ne!(after.now, before.now);
    }
}

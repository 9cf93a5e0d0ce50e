//! What one kind of store holds across every namespace. Each store is
//! bounded on its own (a journal by `--journal-limit` entries, the counters
//! by their keys), but 1,025 namespaces each at its bound would hold tens
//! of gigabytes: a ledger bounds that kind of store in all of them
//! together. A store that is past the ledger's floor when the ledger is
//! full lets its own oldest go, as it does at its own bound (or, one set
//! through the admin API, refuses one more: nothing a test set goes on its
//! own), so that a namespace in use keeps what a test needs of it whatever
//! the others hold.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How much the stores of one kind hold together, in the ledger's unit
/// (bytes, keys), and how much they may.
#[derive(Debug)]
pub struct Ledger {
    /// What the stores may take together, beyond their floors.
    bound: usize,
    /// What each store may hold whatever the others hold.
    floor: usize,
    /// What a store takes at once: one that stays about its size (a full
    /// journal, an entry in and one out) then touches the count every
    /// worker shares only now and then.
    chunk: usize,
    taken: AtomicUsize,
}

/// Why a store set through the admin API, which lets nothing go on its
/// own, refused one more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its own bound (so many a namespace).
    Own,
    /// The ledger's: the stores of its kind in every namespace together.
    InAll,
}

/// One store's part of a [`Ledger`], given back when dropped.
#[derive(Debug)]
pub struct Share {
    ledger: Arc<Ledger>,
    taken: usize,
}

impl Ledger {
    pub fn new(bound: usize, floor: usize, chunk: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            bound,
            floor,
            chunk: chunk.max(1),
            taken: AtomicUsize::new(0),
        })
    }

    /// A share of nothing yet, for one store.
    pub fn share(self: &Arc<Ledger>) -> Share {
        Share {
            ledger: self.clone(),
            taken: 0,
        }
    }

    /// What the shares have taken together.
    #[cfg(test)]
    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
    }
}

impl Share {
    /// Whether the store may hold `held`: what it has taken covers it, or
    /// the ledger has room for the rest (taken whole chunks at a time).
    /// When it has not, the store keeps its floor: up to it is taken
    /// whatever the others hold, and the store then holds no more than
    /// what it has taken, letting its own oldest go or refusing the new.
    pub fn fits(&mut self, held: usize) -> bool {
        if held <= self.taken {
            return true;
        }
        let bound = self.ledger.bound;
        if self.take(held, |in_all| in_all <= bound) {
            return true;
        }
        self.take(held.min(self.ledger.floor), |_| true);
        held <= self.taken
    }

    /// Takes enough whole chunks to cover `held`, if `allowed` the count
    /// in all that makes; checked and added to in one step, so that stores
    /// taking at once never pass the bound together.
    fn take(&mut self, held: usize, allowed: impl Fn(usize) -> bool) -> bool {
        let Some(more) = held.checked_sub(self.taken).filter(|m| *m > 0) else {
            return true;
        };
        let more = more.div_ceil(self.ledger.chunk) * self.ledger.chunk;
        let took = self
            .ledger
            .taken
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                let in_all = t.saturating_add(more);
                allowed(in_all).then_some(in_all)
            })
            .is_ok();
        if took {
            self.taken += more;
        }
        took
    }

    /// Makes a store of `len` entries that now holds `held` fit its share:
    /// when the ledger has no room for it, `pop` lets the store's oldest
    /// entry go (and says what it held) until it fits, the newest kept
    /// whatever its size; then what it no longer needs goes back
    /// ([`Share::settle`]).
    pub fn fit(&mut self, held: &mut usize, mut len: usize, mut pop: impl FnMut() -> usize) {
        if !self.fits(*held) {
            while *held > self.taken && len > 1 {
                *held -= pop();
                len -= 1;
            }
        }
        self.settle(*held);
    }

    /// Takes what covers `held` whatever the bound, for a store that can
    /// neither refuse nor let go what it now holds (overrides a reload
    /// re-aimed at a longer path): the count stays true, past the bound
    /// by that much.
    pub fn hold(&mut self, held: usize) {
        self.take(held, |_| true);
        self.settle(held);
    }

    /// What the store may hold without asking the ledger again.
    #[cfg(test)]
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// Gives back what a store that now holds `held` has taken past the
    /// chunk `held` is in and one more (all of it when `held` is nothing):
    /// a store that shrank (its oldest let go, entries smaller than those
    /// before them, a clear) leaves the room to the others, and one that
    /// goes up and down about a chunk's edge (a full journal, an entry in
    /// and one out) neither takes nor gives back every time. Cheap when
    /// there is nothing to give back: a store settles after every change.
    pub fn settle(&mut self, held: usize) {
        let keep = match held {
            0 => 0,
            _ => (held.div_ceil(self.ledger.chunk) + 1) * self.ledger.chunk,
        };
        if let Some(spare) = self.taken.checked_sub(keep).filter(|s| *s > 0) {
            self.give_back(spare);
        }
    }

    fn give_back(&mut self, n: usize) {
        self.taken -= n;
        // Never below zero: a count that wrapped would have every store let
        // its oldest go at once.
        let _ = self
            .ledger
            .taken
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                debug_assert!(t >= n, "{n} given back of {t} taken");
                Some(t.saturating_sub(n))
            });
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.give_back(self.taken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_take_whole_chunks_up_to_the_bound() {
        let l = Ledger::new(100, 0, 10);
        let mut a = l.share();
        assert!(a.fits(1));
        assert_eq!((a.taken(), l.taken()), (10, 10), "a whole chunk");
        assert!(a.fits(10), "within what it took: the ledger is not asked");
        assert_eq!(l.taken(), 10);
        assert!(a.fits(95));
        assert_eq!(l.taken(), 100);
        let mut b = l.share();
        assert!(!b.fits(1), "the ledger is full");
        assert_eq!(b.taken(), 0, "and the floor is 0");
        drop(a);
        assert_eq!(l.taken(), 0, "a share dropped gives all back");
        assert!(b.fits(1));
    }

    #[test]
    fn the_floor_is_kept_whatever_the_others_hold() {
        let l = Ledger::new(100, 30, 10);
        let mut a = l.share();
        assert!(a.fits(100));
        let mut b = l.share();
        assert!(b.fits(25), "under the floor: taken past the bound");
        assert_eq!((b.taken(), l.taken()), (30, 130));
        assert!(!b.fits(31), "past the floor, the ledger full");
        assert_eq!(b.taken(), 30, "it keeps what it has");
        // One that jumps past its floor at once still gets the floor.
        let mut c = l.share();
        assert!(!c.fits(50));
        assert_eq!(c.taken(), 30);
        assert_eq!(l.taken(), 160);
    }

    #[test]
    fn settling_gives_back_all_but_the_chunk_held_and_one_more() {
        let l = Ledger::new(1_000, 0, 10);
        let mut a = l.share();
        assert!(a.fits(95));
        assert_eq!(a.taken(), 100);
        a.settle(41);
        assert_eq!((a.taken(), l.taken()), (60, 60));
        a.settle(50);
        assert_eq!(a.taken(), 60, "nothing spare");
        // About a chunk's edge: nothing taken or given back.
        assert!(a.fits(51));
        a.settle(49);
        assert!(a.fits(52));
        assert_eq!(l.taken(), 60);
        a.settle(0);
        assert_eq!((a.taken(), l.taken()), (0, 0));
    }

    #[test]
    fn a_hold_is_taken_whatever_the_bound() {
        let l = Ledger::new(100, 0, 10);
        let mut a = l.share();
        assert!(a.fits(100));
        let mut b = l.share();
        b.hold(25);
        assert_eq!((b.taken(), l.taken()), (30, 130), "past the bound");
        b.hold(5);
        assert_eq!(b.taken(), 20, "and settled: the chunk held and one more");
        drop(b);
        assert_eq!(l.taken(), 100);
    }

    #[test]
    fn stores_taking_at_once_never_pass_the_bound_together() {
        let l = Ledger::new(1_000, 0, 1);
        let took = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let l = l.clone();
                    s.spawn(move || {
                        let mut share = l.share();
                        let mut n = 0;
                        while n < 1_000 && share.fits(n + 1) {
                            n += 1;
                        }
                        // Kept until every worker is done.
                        (n, share)
                    })
                })
                .collect();
            let shares: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
            shares.iter().map(|(n, _)| n).sum::<usize>()
        });
        assert_eq!(took, 1_000);
        assert_eq!(l.taken(), 0, "every share given back");
    }
}

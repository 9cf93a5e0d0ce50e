//! A bound on the bytes of large answers being sent at once. An admin
//! listing is the text of a whole journal (tens of MB at the worst), held
//! until its client has read it: clients that ask for listings and never
//! read them would otherwise have the process hold gigabytes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes of answers being sent, and how many may be.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    taken: AtomicUsize,
}

/// Bytes of a [`Budget`], given back when dropped (when the answer's body
/// has been handed over whole, or its client left).
#[derive(Debug)]
pub struct Lease {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            taken: AtomicUsize::new(0),
        })
    }

    /// A lease of `bytes`, or `None` while the answers being sent hold too
    /// much of the budget for them. With nothing being sent one answer goes,
    /// whatever its size: a listing larger than the budget is still served,
    /// one at a time.
    pub fn lease(self: &Arc<Budget>, bytes: usize) -> Option<Lease> {
        let mut taken = self.taken.load(Ordering::Relaxed);
        loop {
            if taken != 0 && taken.saturating_add(bytes) > self.limit {
                return None;
            }
            match self.taken.compare_exchange_weak(
                taken,
                taken.saturating_add(bytes),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Lease {
                        budget: self.clone(),
                        bytes,
                    })
                }
                Err(now) => taken = now,
            }
        }
    }

    /// The bytes leased now.
    #[cfg(test)]
    fn taken(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.budget.taken.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_fit_the_limit_and_one_goes_whatever_its_size() {
        let b = Budget::new(100);
        let big = b.lease(1_000).expect("alone, any size goes");
        assert!(b.lease(1).is_none(), "the budget is held");
        drop(big);
        assert_eq!(b.taken(), 0);
        let a = b.lease(60).unwrap();
        assert!(b.lease(41).is_none());
        let c = b.lease(40).unwrap();
        assert_eq!(b.taken(), 100);
        drop(a);
        assert_eq!(b.taken(), 40);
        assert!(b.lease(60).is_some());
        drop(c);
        assert_eq!(b.taken(), 0);
    }
}

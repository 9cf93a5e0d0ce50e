//! The sandbox clock: real time by default, but settable, advanceable and
//! scalable, so that a test moves through a provider day or a 20-minute retry
//! without sleeping.

use std::sync::atomic::{fence, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::time::Timestamp;

/// One namespace's clock.
///
/// Every request reads it and almost nothing changes it, so it is read
/// without a lock: a sequence lock over three atomics (a reader retries
/// when a change was under way). A shared mutex here made every request
/// write the same cache line from every worker.
pub struct Clock {
    /// Odd while a change is being written.
    seq: AtomicU64,
    base_micros: AtomicI64,
    /// `base_real` as nanoseconds after [`epoch`].
    base_real_nanos: AtomicU64,
    scale_bits: AtomicU64,
    /// Changes one at a time (readers take no lock: the sequence above). A
    /// std mutex: a change is a few stores.
    writer: Mutex<()>,
    start: Start,
    /// Bumped on every set/advance/scale so that timers waiting on the clock
    /// re-read it.
    changed: watch::Sender<u64>,
}

/// Where a clock starts, and where `reset` puts it back.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// A fixed start instant, or `None` for the machine's time.
    pub at: Option<Timestamp>,
    pub scale: f64,
}

/// A change of the clock, as `POST /__admin/clock` asks for one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change {
    pub set: Option<Timestamp>,
    pub advance: Option<Duration>,
    pub scale: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct State {
    /// Sandbox time at `base_real`.
    base: Timestamp,
    base_real: Instant,
    scale: f64,
}

impl State {
    /// Sandbox time, which stops at the last instant RFC 3339 can write in
    /// the providers' offset rather than run into a five-digit year.
    fn now(&self) -> Timestamp {
        let real = self.base_real.elapsed().as_secs_f64() * self.scale;
        self.base
            .plus_on_clock(Duration::from_secs_f64(real.max(0.0)))
    }
}

/// The process's reference instant, which `base_real` is stored against.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Clock {
    pub fn new(start: Start) -> Clock {
        let clock = Clock {
            seq: AtomicU64::new(0),
            base_micros: AtomicI64::new(0),
            base_real_nanos: AtomicU64::new(0),
            scale_bits: AtomicU64::new(0),
            writer: Mutex::new(()),
            start,
            changed: watch::channel(0).0,
        };
        clock.store(Self::initial(start));
        clock
    }

    /// The state as last written.
    fn load(&self) -> State {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let state = State {
                base: Timestamp::from_micros(self.base_micros.load(Ordering::Relaxed)),
                base_real: epoch()
                    + Duration::from_nanos(self.base_real_nanos.load(Ordering::Relaxed)),
                scale: f64::from_bits(self.scale_bits.load(Ordering::Relaxed)),
            };
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return state;
            }
        }
    }

    /// Writes a new state; callers hold `writer`.
    fn store(&self, state: State) {
        let real = state
            .base_real
            .saturating_duration_since(epoch())
            .as_nanos();
        self.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.base_micros
            .store(state.base.micros(), Ordering::Relaxed);
        self.base_real_nanos
            .store(u64::try_from(real).unwrap_or(u64::MAX), Ordering::Relaxed);
        // `-0` is a stopped clock too, and reads back as `0`.
        let scale = if state.scale == 0.0 { 0.0 } else { state.scale };
        self.scale_bits.store(scale.to_bits(), Ordering::Relaxed);
        self.seq.fetch_add(1, Ordering::Release);
    }

    /// Changes the state with `f`, one change at a time, and tells the timers.
    fn change(&self, f: impl FnOnce(&mut State)) {
        {
            // The guard holds no data, so a poisoned lock is still a lock.
            let _one = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            let mut state = self.load();
            f(&mut state);
            self.store(state);
        }
        self.bump();
    }

    fn initial(start: Start) -> State {
        State {
            base: start.at.unwrap_or_else(Timestamp::system_now),
            base_real: Instant::now(),
            scale: start.scale,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.load().now()
    }

    pub fn scale(&self) -> f64 {
        self.load().scale
    }

    /// The unit tests' shorthand for an `advance` [`Change`].
    #[cfg(test)]
    pub fn advance(&self, by: Duration) {
        self.change(|s| {
            s.base = s.now().plus_on_clock(by);
            s.base_real = Instant::now();
        });
    }

    /// Sets, then advances, then rescales, as one change: a running clock
    /// does not move on between them (`{"set": T, "scale": 0}` stops it at
    /// T). A change that would take the clock out of years 0001–9999 is
    /// not made (false): checked on the clock it changes, under the lock
    /// that orders changes, so that of two moves that fit only alone the
    /// second is refused.
    pub fn apply(&self, c: Change) -> bool {
        let mut made = false;
        self.change(|s| {
            let now = c.set.unwrap_or_else(|| s.now());
            let to = now.plus(c.advance.unwrap_or_default());
            if !to.in_rfc3339_range() {
                return;
            }
            s.base = to;
            s.base_real = Instant::now();
            if let Some(scale) = c.scale {
                s.scale = scale;
            }
            made = true;
        });
        made
    }

    pub fn reset(&self) {
        let start = self.start;
        self.change(|s| *s = Self::initial(start));
    }

    /// The real time until sandbox time reaches `at`, or `None` when the
    /// clock is frozen (scale 0) and only an explicit change will get there.
    pub fn real_until(&self, at: Timestamp) -> Option<Duration> {
        let s = self.load();
        let left = at.since(s.now());
        if left.is_zero() {
            return Some(Duration::ZERO);
        }
        if s.scale <= 0.0 {
            return None;
        }
        Some(Duration::from_secs_f64(
            (left.as_secs_f64() / s.scale).min(1e9),
        ))
    }

    /// A receiver that wakes whenever the clock is changed by hand.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_clock_stops_at_the_last_writable_instant() {
        // Ten sandbox seconds ago. `Instant` may count from boot, so on a
        // host up less than ten seconds the subtraction would panic: there,
        // start now, let 10 ms pass and run the clock a thousand times faster.
        let now = Instant::now();
        let (base_real, scale) = match now.checked_sub(Duration::from_secs(10)) {
            Some(ten_seconds_ago) => (ten_seconds_ago, 1.0),
            None => {
                std::thread::sleep(Duration::from_millis(10));
                (now, 1000.0)
            }
        };
        let near_the_end = State {
            base: Timestamp::parse_rfc3339("9999-12-31T23:59:59-06:00").unwrap(),
            base_real,
            scale,
        };
        assert_eq!(near_the_end.now(), Timestamp::LAST_MX);
        assert_eq!(
            near_the_end.now().to_mx_rfc3339(),
            "9999-12-31T23:59:59.999999-06:00"
        );
        // Earlier on, time runs as it did.
        let earlier = State {
            base: Timestamp::parse_rfc3339("2024-03-01T10:00:00-06:00").unwrap(),
            ..near_the_end
        };
        assert!(earlier.now() >= earlier.base.plus(Duration::from_secs(10)));
    }

    #[test]
    fn frozen_clock_moves_only_by_hand() {
        let t0 = Timestamp::parse_rfc3339("2024-03-01T10:00:00-06:00").unwrap();
        let c = Clock::new(Start {
            at: Some(t0),
            scale: 0.0,
        });
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_secs(3600));
        assert_eq!(c.now().to_mx_rfc3339_secs(), "2024-03-01T11:00:00-06:00");
        assert_eq!(c.real_until(t0.plus(Duration::from_secs(7200))), None);
        assert_eq!(c.real_until(t0), Some(Duration::ZERO));
        c.reset();
        assert_eq!(c.now(), t0);
    }

    /// Of two moves that each fit alone, the second is refused, checked
    /// on the clock the first has moved (two admin clients at once): the
    /// clock stays where the first left it, its scale too.
    #[test]
    fn a_move_past_year_9999_is_refused_on_the_clock_as_moved() {
        let t0 = Timestamp::parse_rfc3339("9999-12-30T00:00:00-06:00").unwrap();
        let c = Clock::new(Start {
            at: Some(t0),
            scale: 0.0,
        });
        let a_day = |scale| Change {
            advance: Some(Duration::from_secs(86_400)),
            scale: Some(scale),
            ..Change::default()
        };
        assert!(c.apply(a_day(0.0)));
        assert!(!c.apply(a_day(2.0)));
        assert_eq!(c.now().to_mx_rfc3339_secs(), "9999-12-31T00:00:00-06:00");
        assert_eq!(c.scale(), 0.0);
    }

    #[test]
    fn scaled_clock_runs_faster() {
        let t0 = Timestamp::parse_rfc3339("2024-03-01T10:00:00-06:00").unwrap();
        let c = Clock::new(Start {
            at: Some(t0),
            scale: 60.0,
        });
        let wait = c.real_until(t0.plus(Duration::from_secs(60))).unwrap();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        let rx = c.subscribe();
        assert!(c.apply(Change {
            scale: Some(1.0),
            ..Change::default()
        }));
        assert!(rx.has_changed().unwrap());
    }

    #[test]
    fn a_stored_state_reads_back_whole() {
        let c = Clock::new(Start {
            at: None,
            scale: 1.0,
        });
        // Seconds after the process's reference instant, as a change by
        // hand stores it.
        let state = State {
            base: Timestamp::parse_rfc3339("2024-03-01T10:00:00-06:00").unwrap(),
            base_real: epoch() + Duration::from_secs(7),
            scale: 2.5,
        };
        c.store(state);
        let back = c.load();
        assert_eq!(back.base_real, state.base_real);
        assert_eq!(back.base.micros(), state.base.micros());
        assert_eq!(back.scale, state.scale);
    }

    #[test]
    fn readers_never_see_half_a_change() {
        // Two states that differ in every field: a torn read mixes them.
        let a = Timestamp::parse_rfc3339("2024-03-01T10:00:00-06:00").unwrap();
        let b = Timestamp::parse_rfc3339("2031-07-15T10:00:00-06:00").unwrap();
        let c = std::sync::Arc::new(Clock::new(Start {
            at: Some(a),
            scale: 0.0,
        }));
        let writer = {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..20_000 {
                    c.change(|s| {
                        let first = i % 2 == 0;
                        s.base = if first { b } else { a };
                        s.scale = if first { 2.0 } else { 0.0 };
                    });
                }
            })
        };
        for _ in 0..20_000 {
            let s = c.load();
            let consistent = (s.base == a && s.scale == 0.0) || (s.base == b && s.scale == 2.0);
            assert!(consistent, "{s:?}");
        }
        writer.join().unwrap();
    }
}

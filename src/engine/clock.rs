//! The sandbox clock: real time by default, but settable, advanceable and
//! scalable, so that a test moves through a provider day or a 20-minute retry
//! without sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::time::Timestamp;

/// One namespace's clock.
pub struct Clock {
    // A std mutex: every critical section is a few arithmetic operations and
    // never awaits, so a tokio mutex would only add overhead.
    state: Mutex<State>,
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

#[derive(Debug, Clone, Copy)]
struct State {
    /// Sandbox time at `base_real`.
    base: Timestamp,
    base_real: Instant,
    scale: f64,
}

impl State {
    fn now(&self) -> Timestamp {
        let real = self.base_real.elapsed().as_secs_f64() * self.scale;
        self.base.plus(Duration::from_secs_f64(real.max(0.0)))
    }
}

impl Clock {
    pub fn new(start: Start) -> Clock {
        Clock {
            state: Mutex::new(Self::initial(start)),
            start,
            changed: watch::channel(0).0,
        }
    }

    fn initial(start: Start) -> State {
        State {
            base: start.at.unwrap_or_else(Timestamp::system_now),
            base_real: Instant::now(),
            scale: start.scale,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain data that is never left half-written, so a
        // poisoned lock still holds a usable value.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Timestamp {
        self.lock().now()
    }

    pub fn scale(&self) -> f64 {
        self.lock().scale
    }

    pub fn set(&self, to: Timestamp) {
        {
            let mut s = self.lock();
            s.base = to;
            s.base_real = Instant::now();
        }
        self.bump();
    }

    pub fn advance(&self, by: Duration) {
        {
            let mut s = self.lock();
            s.base = s.now().plus(by);
            s.base_real = Instant::now();
        }
        self.bump();
    }

    pub fn set_scale(&self, scale: f64) {
        {
            let mut s = self.lock();
            s.base = s.now();
            s.base_real = Instant::now();
            s.scale = scale;
        }
        self.bump();
    }

    pub fn reset(&self) {
        *self.lock() = Self::initial(self.start);
        self.bump();
    }

    /// The real time until sandbox time reaches `at`, or `None` when the
    /// clock is frozen (scale 0) and only an explicit change will get there.
    pub fn real_until(&self, at: Timestamp) -> Option<Duration> {
        let s = self.lock();
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
        c.set_scale(1.0);
        assert!(rx.has_changed().unwrap());
    }
}

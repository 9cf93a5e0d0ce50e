//! Timers on a namespace's sandbox clock: work that falls due at a sandbox
//! instant (a retry 20 minutes later, a webhook attempt 15 minutes after the
//! last one) rather than after a real delay, so that a test reaches it by
//! moving the clock instead of sleeping.
//!
//! A driver task per namespace (spawned on the first [`Timers::schedule`],
//! ended with the namespace) waits in real time until the earliest timer is
//! due — or, on a frozen clock, until the clock is changed by hand — and
//! starts every due task on its own tokio task, so that a slow one never
//! holds up the others. The admin API moves the clock under a
//! [`Timers::hold`], which keeps the driver off, and then calls
//! [`Hold::run_due`], which runs what the move made due one instant after
//! the other and returns when none of it is due and nothing is running:
//! every consequence of the move has happened, in order, when its answer
//! arrives. What requests schedule while it runs is no consequence of the
//! move: it waits for the driver, so that traffic cannot keep a move from
//! ending.
//! [`Timers::clear`] (reset) drops what is pending and aborts what is
//! running; a task that is between two awaits when it is aborted tells by
//! its namespace's generation that its results no longer belong anywhere.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;

use super::clock::Clock;
use crate::time::Timestamp;

/// What a task returns when it is started.
pub type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A unit of work to start when its time comes.
pub type Task = Box<dyn FnOnce() -> TaskFuture + Send + 'static>;

/// A scheduled task, for [`Timers::cancel`]: its due time and number.
pub type TimerKey = (Timestamp, u64);

tokio::task_local! {
    /// Set while a timer's task runs: what it schedules is a follow-up of
    /// it, which a clock move runs when the move made it due too.
    static IN_TIMER: ();
}

/// One namespace's timers.
pub struct Timers {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<Clock>,
    // A std mutex: every critical section pushes, pops or counts, and none
    // awaits. Tasks are taken out of the queue under it and started after
    // it is released (see `Inner::start`).
    state: Mutex<State>,
    /// Wakes the driver when a timer is scheduled or the timers stop.
    wake: Notify,
    /// Signalled whenever a running task ends, so that `run_due` can wait
    /// for the tasks in flight without polling (a receiver sees a send as
    /// a change whatever the value: there is none).
    done: watch::Sender<()>,
}

/// A task started and not yet ended: when it was due, and its handle (none
/// yet while being started: see [`Inner::start`]).
struct Started {
    due: Timestamp,
    handle: Option<AbortHandle>,
}

/// A pending task.
struct Queued {
    task: Task,
    /// Scheduled by a timer's task, not by a request (see [`IN_TIMER`]).
    follow_up: bool,
}

#[derive(Default)]
struct State {
    /// Pending tasks by due time, then by scheduling order.
    queue: BTreeMap<TimerKey, Queued>,
    next_id: u64,
    driver: bool,
    stopped: bool,
    /// Holds taken ([`Timers::hold`]): while any is, the driver starts
    /// nothing, and only [`Hold::run_due`] does.
    held: u32,
    /// Tasks started and not yet ended.
    running: HashMap<u64, Started>,
    /// Work started at once by [`Timers::spawn`], not yet ended: aborted
    /// with the rest, but no part of what a clock move waits for.
    aside: HashMap<u64, Option<AbortHandle>>,
}

/// How [`Hold::run_due`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    /// Everything the move made due has happened, or was dropped by a
    /// reset (whose clock the move's client then reads).
    All,
    /// The timers stopped (shutdown) while the move waited for what it
    /// made due.
    Stopped,
}

impl Timers {
    pub fn new(clock: Arc<Clock>) -> Timers {
        Timers {
            inner: Arc::new(Inner {
                clock,
                state: Mutex::new(State::default()),
                wake: Notify::new(),
                done: watch::channel(()).0,
            }),
        }
    }

    /// Runs `task` when the sandbox clock reaches `at` (at once, at the next
    /// turn of the driver, when `at` has already passed); `None` once the
    /// timers have stopped.
    pub fn schedule(&self, at: Timestamp, task: Task) -> Option<TimerKey> {
        let follow_up = IN_TIMER.try_with(|_| ()).is_ok();
        let (key, start_driver) = {
            let mut s = self.inner.lock();
            if s.stopped {
                return None;
            }
            let key = (at, s.next_id);
            s.next_id += 1;
            s.queue.insert(key, Queued { task, follow_up });
            let start = !s.driver && tokio::runtime::Handle::try_current().is_ok();
            if start {
                s.driver = true;
            }
            (key, start)
        };
        if start_driver {
            tokio::spawn(drive(self.inner.clone()));
        } else {
            self.inner.wake.notify_one();
        }
        Some(key)
    }

    /// Drops a task that has not started (one that has is left alone).
    pub fn cancel(&self, key: TimerKey) {
        self.inner.lock().queue.remove(&key);
    }

    /// Runs `task` now on a task of its own that a reset or shutdown aborts,
    /// as it does the timers' tasks (a redelivery to a target that hangs
    /// holds up neither); `None` once the timers have stopped.
    pub fn spawn<T: Send + 'static>(
        &self,
        task: impl Future<Output = T> + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<T>> {
        let id = {
            let mut s = self.inner.lock();
            if s.stopped {
                return None;
            }
            let id = s.next_id;
            s.next_id += 1;
            s.aside.insert(id, None);
            id
        };
        // Spawned with the lock released, as in `Inner::start`.
        let guard = Aside {
            inner: self.inner.clone(),
            id,
        };
        let handle = tokio::spawn(async move {
            let _guard = guard;
            task.await
        });
        let abort = handle.abort_handle();
        let kept = match self.inner.lock().aside.get_mut(&id) {
            Some(slot) => {
                *slot = Some(abort.clone());
                true
            }
            None => false,
        };
        if !kept {
            // Cleared while it was started (or already ended): aborting an
            // ended task does nothing.
            abort.abort();
        }
        Some(handle)
    }

    /// Keeps the driver from starting tasks until the hold is dropped: a
    /// clock moved by hand under a hold has its consequences run by
    /// [`Hold::run_due`], in order, not all at once by the driver that the
    /// move wakes.
    pub fn hold(&self) -> Hold {
        let mut s = self.inner.lock();
        s.held += 1;
        Hold {
            inner: self.inner.clone(),
            scheduled_before: s.next_id,
        }
    }

    /// Drops every pending task and aborts the running ones (reset).
    pub fn clear(&self) {
        let running: Vec<AbortHandle> = {
            let mut s = self.inner.lock();
            s.queue.clear();
            let aside: Vec<AbortHandle> = s.aside.drain().filter_map(|(_, h)| h).collect();
            s.running
                .drain()
                .filter_map(|(_, r)| r.handle)
                .chain(aside)
                .collect()
        };
        // Aborted after the lock is released: an aborted task's guard takes it.
        for h in running {
            h.abort();
        }
        self.inner.done.send_replace(());
    }

    /// Clears everything and ends the driver for good (shutdown).
    pub fn stop(&self) {
        self.inner.lock().stopped = true;
        self.clear();
        self.inner.wake.notify_one();
    }

    /// Tasks waiting for their time.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.inner.lock().queue.len()
    }

    /// Tasks started and not yet ended.
    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.inner.lock().running.len()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is never left half-written, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts each of `due` ([`take_due`]) on a tokio task of its own. With
    /// the lock released: a runtime shutting down drops a future spawned on
    /// it at once, on the spawning thread, and the task's guard takes the
    /// lock. Each handle is kept once the task runs, unless a clear (or its
    /// own end) took its entry meanwhile: it is then aborted.
    fn start(self: &Arc<Self>, due: Vec<(u64, Task)>) {
        if due.is_empty() {
            return;
        }
        let started: Vec<(u64, AbortHandle)> = due
            .into_iter()
            .map(|(id, task)| {
                let guard = Running {
                    inner: self.clone(),
                    id,
                };
                let handle = tokio::spawn(IN_TIMER.scope((), async move {
                    let _guard = guard;
                    task().await;
                }));
                (id, handle.abort_handle())
            })
            .collect();
        let cleared: Vec<AbortHandle> = {
            let mut s = self.lock();
            started
                .into_iter()
                .filter_map(|(id, handle)| match s.running.get_mut(&id) {
                    Some(slot) => {
                        slot.handle = Some(handle);
                        None
                    }
                    None => Some(handle),
                })
                .collect()
        };
        // Aborting a task that has ended does nothing.
        for handle in cleared {
            handle.abort();
        }
    }
}

/// Takes every task due at or before `until` out of the queue, marked as
/// running (a clock move waits for it from now), for [`Inner::start`].
fn take_due(s: &mut State, until: Timestamp) -> Vec<(u64, Task)> {
    let mut due = Vec::new();
    while let Some(entry) = s.queue.first_entry() {
        if entry.key().0 > until {
            break;
        }
        let ((due_at, id), queued) = entry.remove_entry();
        s.running.insert(
            id,
            Started {
                due: due_at,
                handle: None,
            },
        );
        due.push((id, queued.task));
    }
    due
}

/// Takes the tasks a clock move made due at the earliest instant that has
/// any, up to `until` (see [`Hold::run_due`]), marked as running.
fn take_made_due(s: &mut State, until: Timestamp, scheduled_before: u64) -> Vec<(u64, Task)> {
    let made_due = |id: u64, q: &Queued| id < scheduled_before || q.follow_up;
    let first = s
        .queue
        .iter()
        .take_while(|((at, _), _)| *at <= until)
        .find(|((_, id), q)| made_due(*id, q))
        .map(|((at, _), _)| *at);
    let Some(first) = first else {
        return Vec::new();
    };
    let keys: Vec<TimerKey> = s
        .queue
        .range((first, 0)..=(first, u64::MAX))
        .filter(|((_, id), q)| made_due(*id, q))
        .map(|(key, _)| *key)
        .collect();
    let mut due = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(queued) = s.queue.remove(&key) {
            s.running.insert(
                key.1,
                Started {
                    due: key.0,
                    handle: None,
                },
            );
            due.push((key.1, queued.task));
        }
    }
    due
}

/// A hold on the driver ([`Timers::hold`]), released when dropped.
pub struct Hold {
    inner: Arc<Inner>,
    /// The number the next task scheduled after the hold was taken gets.
    scheduled_before: u64,
}

impl Hold {
    /// Runs what a clock move made due, one sandbox instant after the
    /// other: the tasks due at the earliest instant together, and the next
    /// instant's once they (and whatever was running) have ended, so that
    /// one move across several instants does what many small ones would,
    /// in the same order. Made due: due by `until` (the clock just after
    /// the move), and scheduled before the hold was taken or by a timer's
    /// task (a follow-up, which takes its place among the rest). Tasks
    /// that requests schedule meanwhile are left to the driver, once the
    /// hold is dropped: a clock that runs on, and requests that keep
    /// coming, cannot keep this from returning. Returns when none of what
    /// the move made due is waiting and none is running (a reset drops
    /// them all), or when the timers stop (shutdown) while it waits. (A
    /// move made once they have stopped finds nothing due: the shutdown
    /// dropped it all before, and the move is answered as made.)
    ///
    /// A later move that sets the clock back ends this one's work at the
    /// clock's new instant: what is past it is due no more, and a task
    /// running for a later instant (another move's) is not waited for.
    pub async fn run_due(&self, until: Timestamp) -> Ran {
        let inner = &self.inner;
        let mut done = inner.done.subscribe();
        // A move by hand while this one waits may set the clock back.
        let mut moved = inner.clock.subscribe();
        // Whether it has started or waited for anything.
        let mut waited = false;
        loop {
            done.borrow_and_update();
            moved.borrow_and_update();
            let until = until.min(inner.clock.now());
            let (due, busy) = {
                let mut s = inner.lock();
                if s.stopped {
                    return if waited { Ran::Stopped } else { Ran::All };
                }
                let due_by = |s: &State| s.running.values().any(|r| r.due <= until);
                let due = if due_by(&s) {
                    Vec::new()
                } else {
                    take_made_due(&mut s, until, self.scheduled_before)
                };
                (due, due_by(&s))
            };
            waited |= !due.is_empty() || busy;
            inner.start(due);
            if !busy {
                return Ran::All;
            }
            tokio::select! {
                ended = done.changed() => {
                    if ended.is_err() {
                        return Ran::All;
                    }
                }
                // A clock that is gone moves no more: wait for the tasks.
                Ok(()) = moved.changed() => {}
            }
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut s = self.inner.lock();
        s.held = s.held.saturating_sub(1);
        drop(s);
        self.inner.wake.notify_one();
    }
}

/// The driver ends with its namespace: a namespace reset and forgotten
/// leaves no task waiting on its clock for ever.
impl Drop for Timers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Marks a task as ended however it ends (finished, panicked, aborted).
struct Running {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.inner.lock().running.remove(&self.id);
        self.inner.done.send_replace(());
    }
}

/// Forgets a [`Timers::spawn`] task however it ends.
struct Aside {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for Aside {
    fn drop(&mut self) {
        self.inner.lock().aside.remove(&self.id);
    }
}

/// The driver: starts due tasks as the clock reaches them.
async fn drive(inner: Arc<Inner>) {
    let mut changed = inner.clock.subscribe();
    loop {
        changed.borrow_and_update();
        let (due, next) = {
            let mut s = inner.lock();
            if s.stopped {
                return;
            }
            if s.held > 0 {
                // A move by hand is being run by `run_due`; woken when the
                // hold is dropped.
                (Vec::new(), None)
            } else {
                let due = take_due(&mut s, inner.clock.now());
                (due, s.queue.first_key_value().map(|(k, _)| k.0))
            }
        };
        inner.start(due);
        // `None` twice over: nothing pending, or a frozen clock that only a
        // change by hand will move.
        match next.and_then(|at| inner.clock.real_until(at)) {
            Some(wait) => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = inner.wake.notified() => {}
                    r = changed.changed() => if r.is_err() { return },
                }
            }
            None => {
                tokio::select! {
                    () = inner.wake.notified() => {}
                    r = changed.changed() => if r.is_err() { return },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::clock::Start;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn frozen() -> Arc<Clock> {
        Arc::new(Clock::new(Start {
            at: Some(Timestamp::parse_rfc3339("2024-05-15T10:00:00-06:00").unwrap()),
            scale: 0.0,
        }))
    }

    fn counting(n: &Arc<AtomicU32>) -> Task {
        let n = n.clone();
        Box::new(move || {
            Box::pin(async move {
                n.fetch_add(1, Ordering::SeqCst);
            })
        })
    }

    /// A runtime that has shut down drops a task spawned on it at once, on
    /// the spawning thread, and the task's guard takes the timers' lock:
    /// spawned under that lock, this hung for good (the std mutex is not
    /// reentrant). Both ways of starting a task, from a thread of another
    /// runtime with the shut-down one entered.
    #[test]
    fn a_task_started_on_a_runtime_that_has_shut_down_holds_nothing() {
        let clock = frozen();
        let timers = Arc::new(Timers::new(clock.clone()));
        let ran = Arc::new(AtomicU32::new(0));
        // Outside a runtime: no driver, the task waits for `run_due`.
        assert!(timers.schedule(clock.now(), counting(&ran)).is_some());
        let gone = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let handle = gone.handle().clone();
        drop(gone);
        let (done, finished) = std::sync::mpsc::channel();
        let t = timers.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _in = handle.enter();
                t.hold().run_due(t.inner.clock.now()).await;
                let aside = t.spawn(async {}).expect("the timers have not stopped");
                assert!(aside.await.unwrap_err().is_cancelled());
            });
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(Duration::from_secs(10))
            .expect("starting a task on a runtime that has shut down hung");
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!((timers.pending(), timers.running()), (0, 0));
    }

    #[tokio::test]
    async fn due_tasks_run_when_the_clock_gets_there() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let n = Arc::new(AtomicU32::new(0));
        let t0 = clock.now();
        t.schedule(t0.plus(Duration::from_secs(60)), counting(&n));
        t.schedule(t0.plus(Duration::from_secs(120)), counting(&n));
        t.hold().run_due(clock.now()).await;
        assert_eq!(n.load(Ordering::SeqCst), 0);
        clock.advance(Duration::from_secs(90));
        t.hold().run_due(clock.now()).await;
        assert_eq!(n.load(Ordering::SeqCst), 1);
        assert_eq!(t.pending(), 1);
        clock.advance(Duration::from_secs(30));
        t.hold().run_due(clock.now()).await;
        assert_eq!(n.load(Ordering::SeqCst), 2);
        assert_eq!((t.pending(), t.running()), (0, 0));
    }

    #[tokio::test]
    async fn follow_ups_already_due_run_in_the_same_pass() {
        let clock = frozen();
        let t = Arc::new(Timers::new(clock.clone()));
        let n = Arc::new(AtomicU32::new(0));
        let t0 = clock.now();
        // Each run schedules the next 15 minutes after its own due time.
        fn chain(t: Arc<Timers>, n: Arc<AtomicU32>, at: Timestamp) -> Task {
            Box::new(move || {
                Box::pin(async move {
                    if n.fetch_add(1, Ordering::SeqCst) < 4 {
                        let next = at.plus(Duration::from_secs(900));
                        t.schedule(next, chain(t.clone(), n.clone(), next));
                    }
                })
            })
        }
        t.schedule(t0, chain(t.clone(), n.clone(), t0));
        clock.advance(Duration::from_secs(7200));
        t.hold().run_due(clock.now()).await;
        assert_eq!(n.load(Ordering::SeqCst), 5);
    }

    /// Timers with a counting task due `later` and a task that never ends,
    /// started by the driver.
    async fn one_waiting_one_running(
        clock: &Arc<Clock>,
        later: Duration,
    ) -> (Timers, Arc<AtomicU32>) {
        let t = Timers::new(clock.clone());
        let n = Arc::new(AtomicU32::new(0));
        t.schedule(clock.now().plus(later), counting(&n));
        t.schedule(
            clock.now(),
            Box::new(|| Box::pin(std::future::pending::<()>())),
        );
        assert!(turns_until(|| t.running() == 1).await);
        (t, n)
    }

    #[tokio::test]
    async fn clear_drops_pending_and_aborts_running() {
        let clock = frozen();
        let (t, n) = one_waiting_one_running(&clock, Duration::from_secs(5)).await;
        t.clear();
        clock.advance(Duration::from_secs(10));
        t.hold().run_due(clock.now()).await;
        assert_eq!(n.load(Ordering::SeqCst), 0);
        assert_eq!((t.pending(), t.running()), (0, 0));
    }

    #[tokio::test]
    async fn a_running_clock_fires_on_its_own() {
        let clock = Arc::new(Clock::new(Start {
            at: None,
            scale: 1000.0,
        }));
        let t = Timers::new(clock.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        t.schedule(
            clock.now().plus(Duration::from_secs(10)),
            Box::new(move || {
                Box::pin(async move {
                    let _ = tx.send(());
                })
            }),
        );
        // 10 s of sandbox time at 1000x is 10 ms of real time.
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("fired")
            .unwrap();
    }

    /// Yields until `done` holds, a bounded number of turns (no sleep: the
    /// driver needs only turns of the runtime, not time).
    /// Waits until `t` runs one task, `run` (a move) not returning first.
    async fn one_runs<F: std::future::Future + Unpin>(run: &mut F, t: &Timers) {
        tokio::select! {
            _ = run => panic!("returned with a task running"),
            () = async { assert!(turns_until(|| t.running() == 1).await) } => {}
        }
    }

    async fn turns_until(done: impl Fn() -> bool) -> bool {
        for _ in 0..1_000 {
            if done() {
                return true;
            }
            tokio::task::yield_now().await;
        }
        done()
    }

    #[tokio::test]
    async fn tasks_due_at_one_instant_all_run_and_a_cancelled_one_does_not() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let n = Arc::new(AtomicU32::new(0));
        let at = clock.now().plus(Duration::from_secs(60));
        t.schedule(at, counting(&n));
        let cancelled = t.schedule(at, counting(&n)).unwrap();
        t.schedule(at, counting(&n));
        assert_eq!(t.pending(), 3);
        t.cancel(cancelled);
        assert_eq!(t.pending(), 2);
        clock.advance(Duration::from_secs(60));
        t.hold().run_due(clock.now()).await;
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_hold_keeps_the_driver_off_until_it_is_dropped() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let n = Arc::new(AtomicU32::new(0));
        // Scheduled before the holds (the driver has had no turn yet): a
        // task scheduled under a hold is no consequence of the move.
        t.schedule(clock.now(), counting(&n));
        let hold = t.hold();
        let second = t.hold();
        assert!(!turns_until(|| n.load(Ordering::SeqCst) > 0).await);
        drop(second);
        assert!(
            !turns_until(|| n.load(Ordering::SeqCst) > 0).await,
            "one hold left"
        );
        // What is due runs under a hold when asked.
        t.hold().run_due(clock.now()).await;
        assert_eq!(n.load(Ordering::SeqCst), 1);
        t.schedule(clock.now(), counting(&n));
        drop(hold);
        assert!(turns_until(|| n.load(Ordering::SeqCst) == 2).await);
    }

    #[tokio::test]
    async fn run_due_waits_for_what_is_running() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let n = Arc::new(AtomicU32::new(0));
        let ended = n.clone();
        t.schedule(
            clock.now(),
            Box::new(move || {
                Box::pin(async move {
                    let _ = rx.await;
                    ended.fetch_add(1, Ordering::SeqCst);
                })
            }),
        );
        let hold = t.hold();
        let run = hold.run_due(clock.now());
        tokio::pin!(run);
        // Started, and not ended while its task waits.
        one_runs(&mut run, &t).await;
        tx.send(()).unwrap();
        assert_eq!(run.await, Ran::All);
        assert_eq!((n.load(Ordering::SeqCst), t.running()), (1, 0));
    }

    /// A reset while a move waits for a task it made due ends the move at
    /// once, as everything is then done; the shutdown too, telling it what
    /// it made due did not happen; a move after the shutdown waited for
    /// nothing.
    #[tokio::test]
    async fn run_due_ends_at_a_clear_and_tells_a_stop() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let clear: fn(&Timers) = Timers::clear;
        let stop: fn(&Timers) = Timers::stop;
        for (end, ran) in [(clear, Ran::All), (stop, Ran::Stopped)] {
            t.schedule(
                clock.now(),
                Box::new(|| Box::pin(std::future::pending::<()>())),
            );
            let hold = t.hold();
            let run = hold.run_due(clock.now());
            tokio::pin!(run);
            one_runs(&mut run, &t).await;
            end(&t);
            assert_eq!(run.await, ran);
        }
        // A move made once they have stopped waited for nothing: made.
        assert_eq!(t.hold().run_due(clock.now()).await, Ran::All);
    }

    /// A move that sets the clock back, made while a longer move runs a
    /// task due after the new instant, waits for nothing (nothing is due
    /// by its instant), and the longer move then stops: what is past the
    /// clock is due no more.
    #[tokio::test]
    async fn a_move_back_waits_for_nothing_later_and_ends_a_longer_move() {
        use super::super::clock::Change;
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let t0 = clock.now();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let n = Arc::new(AtomicU32::new(0));
        let ended = n.clone();
        t.schedule(
            t0.plus(Duration::from_secs(600)),
            Box::new(move || {
                Box::pin(async move {
                    let _ = rx.await;
                    ended.fetch_add(1, Ordering::SeqCst);
                })
            }),
        );
        t.schedule(t0.plus(Duration::from_secs(1200)), counting(&n));
        clock.advance(Duration::from_secs(3600));
        let long = t.hold();
        let run = long.run_due(clock.now());
        tokio::pin!(run);
        one_runs(&mut run, &t).await;
        clock.apply(Change {
            set: Some(t0),
            advance: None,
            scale: None,
        });
        let back = t.hold();
        let waited = tokio::time::timeout(Duration::from_secs(10), back.run_due(clock.now())).await;
        assert!(waited.is_ok(), "the move back waited for a task due later");
        drop(back);
        // The longer move ends too, its task still running: due after the
        // clock, it is no more the move's to wait for.
        let ended = tokio::time::timeout(Duration::from_secs(10), &mut run).await;
        assert!(
            ended.is_ok(),
            "the longer move waited for a task past the clock"
        );
        assert_eq!(t.running(), 1);
        tx.send(()).unwrap();
        assert!(turns_until(|| t.running() == 0).await);
        assert_eq!(n.load(Ordering::SeqCst), 1, "the task past the clock ran");
        assert_eq!((t.pending(), t.running()), (1, 0));
    }

    /// A task that takes a few turns of the runtime, then counts.
    fn slow(n: &Arc<AtomicU32>) -> Task {
        let n = n.clone();
        Box::new(move || {
            Box::pin(async move {
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                n.fetch_add(1, Ordering::SeqCst);
            })
        })
    }

    #[tokio::test]
    async fn what_requests_schedule_during_a_move_is_left_to_the_driver() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let (moved, traffic) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        t.schedule(clock.now().plus(Duration::from_secs(60)), slow(&moved));
        let hold = t.hold();
        clock.advance(Duration::from_secs(60));
        // A request schedules a task due at once on every turn while the
        // move runs: each was due at the move's instant too.
        let mut scheduled = 0;
        {
            let run = hold.run_due(clock.now());
            tokio::pin!(run);
            loop {
                tokio::select! {
                    biased;
                    _ = &mut run => break,
                    () = tokio::task::yield_now() => {
                        t.schedule(clock.now(), slow(&traffic));
                        scheduled += 1;
                        assert!(scheduled < 10_000, "the move never returned");
                    }
                }
            }
        }
        assert_eq!(moved.load(Ordering::SeqCst), 1);
        assert_eq!(traffic.load(Ordering::SeqCst), 0, "run by the move");
        drop(hold);
        assert!(turns_until(|| traffic.load(Ordering::SeqCst) == scheduled).await);
    }

    #[tokio::test]
    async fn spawned_work_is_aborted_by_clear_and_refused_once_stopped() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let handle = t.spawn(std::future::pending::<()>()).unwrap();
        let done = t.spawn(async { 7 }).unwrap();
        assert_eq!(done.await.unwrap(), 7);
        assert!(turns_until(|| t.inner.lock().aside.len() == 1).await);
        t.clear();
        assert!(handle.await.unwrap_err().is_cancelled());
        assert!(t.inner.lock().aside.is_empty());
        t.stop();
        assert!(t.spawn(async {}).is_none());
        let n = Arc::new(AtomicU32::new(0));
        assert!(t.schedule(clock.now(), counting(&n)).is_none());
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn scheduled_outside_a_runtime_it_waits_for_one() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let n = Arc::new(AtomicU32::new(0));
        assert!(t.schedule(clock.now(), counting(&n)).is_some());
        assert_eq!(t.pending(), 1);
        assert_eq!(Arc::strong_count(&t.inner), 1, "no driver");
    }

    #[tokio::test]
    async fn one_driver_a_namespace() {
        let clock = frozen();
        let t = Timers::new(clock.clone());
        let n = Arc::new(AtomicU32::new(0));
        let later = clock.now().plus(Duration::from_secs(60));
        t.schedule(later, counting(&n));
        t.schedule(later, counting(&n));
        tokio::task::yield_now().await;
        // The timers and the one driver hold the state.
        assert_eq!(Arc::strong_count(&t.inner), 2);
    }

    #[tokio::test]
    async fn dropped_timers_end_their_driver_and_their_tasks() {
        let clock = frozen();
        let (t, n) = one_waiting_one_running(&clock, Duration::from_secs(60)).await;
        let state = Arc::downgrade(&t.inner);
        drop(t);
        // The driver and the running task held the state; both are gone.
        assert!(turns_until(|| state.strong_count() == 0).await);
        clock.advance(Duration::from_secs(60));
        tokio::task::yield_now().await;
        assert_eq!(n.load(Ordering::SeqCst), 0);
    }
}

//! stderr: its lines made printable, and written by a thread of their own
//! while serving.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A line on stderr, `mxid-sandbox: ` and the line made [`printable`]: a
/// message that quotes a file's name or a value of it shows what it
/// quotes, on its own line.
pub fn warn(message: std::fmt::Arguments) {
    line(format!("mxid-sandbox: {}", printable(&message.to_string())));
}

/// `s` as text for a terminal: the control characters (C0, DEL, C1),
/// Unicode's line and paragraph separators and its bidirectional controls
/// written as escapes (`\n`, `\u{1b}`), so that text a client or a file
/// chose can neither end its line, nor move the text around it, nor drive
/// the terminal. Backslashes stay as they are: making it printable twice
/// changes nothing.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(escaped) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A line of stderr: written by the thread [`start`] runs once it
/// runs (while serving), directly before. A closed stderr (`serve 2>&1 |
/// head -1` once head is gone) loses the line, not the server:
/// `eprintln!` would panic.
pub fn line(line: String) {
    match STDERR.get() {
        Some(writer) => writer.send(line),
        None => {
            use std::io::Write as _;
            let _ = writeln!(io::stderr(), "{line}");
        }
    }
}

/// Lines waiting for stderr's thread; more are dropped and counted.
const STDERR_QUEUE: usize = 1024;

static STDERR: std::sync::OnceLock<StderrWriter> = std::sync::OnceLock::new();

/// stderr while serving. A reader that stops reading (a pipe nobody
/// empties) blocks a write once the pipe is full: the thread's, never a
/// worker's, so that `--log-requests` cannot stop the server. The lines
/// that do not fit in its queue meanwhile are counted, and the count goes
/// in the queue ahead of the next line that fits: where they were lost.
struct StderrWriter {
    queue: std::sync::mpsc::SyncSender<StderrJob>,
    dropped: AtomicU64,
    /// Set when the exit's wait is nearly over ([`StderrWriter::flush`]):
    /// the thread counts the lines still queued instead of writing them,
    /// so that the count is written before the process ends.
    abandon: Arc<AtomicBool>,
    /// When the thread began the job it is on ([`since_start`], plus one),
    /// 0 between jobs: a write that has not returned for a while is a
    /// pipe nobody empties.
    busy_since: Arc<AtomicU64>,
}

/// Milliseconds since the first call: the clock of `busy_since`.
fn since_start() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

enum StderrJob {
    /// A line, after the count of the lines lost before it (0: none).
    Line { lost: u64, line: String },
    /// Answered once the lines before it are written, or counted, and
    /// then the count of those lost (these, and the ones it carries).
    Flush {
        lost: u64,
        done: std::sync::mpsc::SyncSender<()>,
    },
}

impl StderrWriter {
    fn send(&self, line: String) {
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        if self.queue.try_send(StderrJob::Line { lost, line }).is_err() {
            self.dropped.fetch_add(lost + 1, Ordering::Relaxed);
        }
    }

    /// Queues `job`, waiting for room until `deadline`; the job back when
    /// it is not in.
    fn queue_within(
        &self,
        mut job: StderrJob,
        deadline: std::time::Instant,
    ) -> Result<(), StderrJob> {
        loop {
            match self.queue.try_send(job) {
                Ok(()) => return Ok(()),
                Err(std::sync::mpsc::TrySendError::Full(back)) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(back);
                    }
                    job = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(back)) => return Err(back),
            }
        }
    }

    /// Waits, at most `wait`, for the lines queued before to be written,
    /// without taking the count of lines lost (the next line carries it)
    /// or giving up on the queue as [`StderrWriter::flush`] does at exit.
    /// Not at all when the thread has been on one write for `wait` already:
    /// a storm of panics on a full pipe waits once, not once each.
    fn written_within(&self, wait: Duration) {
        let busy_since = self.busy_since.load(Ordering::Relaxed);
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        if busy_since != 0 && since_start() + 1 >= busy_since.saturating_add(wait_ms) {
            return;
        }
        let (done, written) = std::sync::mpsc::sync_channel(1);
        if self
            .queue
            .try_send(StderrJob::Flush { lost: 0, done })
            .is_ok()
        {
            let _ = written.recv_timeout(wait);
        }
    }

    /// [`flush`] with this writer. A reader slower than the lines queued
    /// (a pipe emptied a little at a time) would leave some unwritten at
    /// the deadline, and uncounted: the last quarter of the wait is kept
    /// for counting them instead, and writing the count.
    fn flush(&self, wait: Duration) {
        let now = std::time::Instant::now();
        let (counting, deadline) = (now + wait * 3 / 4, now + wait);
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        let (done, written) = std::sync::mpsc::sync_channel(1);
        let left =
            |until: std::time::Instant| until.saturating_duration_since(std::time::Instant::now());
        let mut job = StderrJob::Flush { lost, done };
        match self.queue_within(job, counting) {
            Ok(()) => {
                if written.recv_timeout(left(counting)).is_ok() {
                    return;
                }
                self.abandon.store(true, Ordering::Relaxed);
            }
            Err(back) => {
                self.abandon.store(true, Ordering::Relaxed);
                job = back;
                if self.queue_within(job, deadline).is_err() {
                    return;
                }
            }
        }
        let _ = written.recv_timeout(left(deadline));
    }
}

/// What stderr's thread does with one job: writes it to `out`, or once
/// `abandon` is set counts its lines in `skipped`, which the next flush
/// writes as one line.
fn run_job(job: StderrJob, out: &mut dyn Write, abandon: &AtomicBool, skipped: &mut u64) {
    match job {
        StderrJob::Line { lost, line } => {
            if abandon.load(Ordering::Relaxed) {
                *skipped += lost + 1;
                return;
            }
            if lost > 0 {
                write_line(out, dropped_line(lost));
            }
            write_line(out, line);
        }
        StderrJob::Flush { lost, done } => {
            let lost = std::mem::take(skipped) + lost;
            if lost > 0 {
                write_line(out, dropped_line(lost));
            }
            let _ = done.send(());
        }
    }
}

/// `line` and its line break in one write: a pipe's reader never finds
/// half a line (up to the pipe's atomic size, 4 KB on Linux).
fn write_line(out: &mut dyn Write, mut line: String) {
    line.push('\n');
    let _ = out.write_all(line.as_bytes());
}

fn dropped_line(lost: u64) -> String {
    format!("mxid-sandbox: {lost} lines of stderr dropped: it was not read")
}

/// Starts the thread that writes stderr's lines (once; without a thread
/// they are written directly, as before it starts).
pub fn start() {
    if STDERR.get().is_some() {
        return;
    }
    let (queue, jobs) = std::sync::mpsc::sync_channel(STDERR_QUEUE);
    let abandon = Arc::new(AtomicBool::new(false));
    let abandoned = abandon.clone();
    let busy_since = Arc::new(AtomicU64::new(0));
    let busy = busy_since.clone();
    let spawned = std::thread::Builder::new()
        .name("stderr".into())
        .stack_size(crate::server::SMALL_STACK)
        .spawn(move || {
            let mut skipped = 0;
            for job in jobs {
                busy.store(since_start() + 1, Ordering::Relaxed);
                run_job(job, &mut io::stderr().lock(), &abandoned, &mut skipped);
                busy.store(0, Ordering::Relaxed);
            }
        });
    if spawned.is_ok() {
        let _ = STDERR.set(StderrWriter {
            queue,
            dropped: AtomicU64::new(0),
            abandon,
            busy_since,
        });
        std::panic::set_hook(Box::new(report_panic));
    }
}

/// How long a panic of the main thread, which ends the process, waits for
/// its lines to be written (as long as the exit waits).
const PANIC_FLUSH: Duration = Duration::from_secs(1);

/// How long another thread's panic waits for its lines to be written: a
/// panic that aborts (one in a `Drop` while unwinding) ends the process as
/// the hook returns, and its reason would be lost in the queue. A moment,
/// not a wait on a pipe nobody empties.
const PANIC_WRITTEN: Duration = Duration::from_millis(100);

/// A panic's message, as Rust's own hook says it: `panic!`'s text, a
/// `&str` or a `String`; any other payload by its type. (Rust 1.91's
/// `payload_as_str`, past the crate's `rust-version`.)
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
}

/// The panic hook while stderr's thread runs: the panic said as the
/// default hook says it (the backtrace too, short or full, as
/// `RUST_BACKTRACE` asks), but through that thread. The default hook
/// writes from the panicking thread, a worker, which a pipe nobody empties
/// then blocks: a webhook attempt's panic, caught and retried (no thread
/// for the resolver), held its worker for good once a few backtraces had
/// filled the pipe. The message on one line, made [`printable`].
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let at = info
        .location()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    let message = panic_message(info.payload());
    let mut said = format!(
        "mxid-sandbox: thread '{}' panicked{at}: {}",
        printable(name),
        printable(message)
    );
    match std::env::var("RUST_BACKTRACE").as_deref() {
        Err(_) | Ok("0") => {}
        Ok(style) => {
            let backtrace = std::backtrace::Backtrace::force_capture();
            said.push_str(&match style {
                "full" => format!("\nstack backtrace:\n{backtrace:#}"),
                _ => format!("\nstack backtrace:\n{backtrace}"),
            });
        }
    }
    let Some(writer) = STDERR.get() else {
        return line(said);
    };
    match name {
        // stderr's own thread cannot wait for itself to write.
        "stderr" => write_line(&mut io::stderr().lock(), said),
        // The process ends: the line waits for room in the queue (a full
        // one kept the count of lines lost, not why the process ended),
        // then for the thread to write it.
        "main" => {
            let deadline = std::time::Instant::now() + PANIC_FLUSH;
            let lost = writer.dropped.swap(0, Ordering::Relaxed);
            let _ = writer.queue_within(StderrJob::Line { lost, line: said }, deadline);
            writer.flush(PANIC_FLUSH);
        }
        _ => {
            writer.send(said);
            writer.written_within(PANIC_WRITTEN);
        }
    }
}

/// Waits, at most `wait`, for stderr's thread to write the lines sent
/// before: the last lines before the process exits.
pub fn flush(wait: Duration) {
    if let Some(writer) = STDERR.get() {
        writer.flush(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    use super::{dropped_line, panic_message, run_job, StderrJob, StderrWriter};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::mpsc::{sync_channel, Receiver};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// A writer whose queue holds `room` jobs, `lost` lines counted as
    /// dropped, and the queue's other end.
    fn writer(room: usize, lost: u64) -> (StderrWriter, Receiver<StderrJob>) {
        let (queue, jobs) = sync_channel(room);
        let writer = StderrWriter {
            queue,
            dropped: AtomicU64::new(lost),
            abandon: Arc::new(AtomicBool::new(false)),
            busy_since: Arc::new(AtomicU64::new(0)),
        };
        (writer, jobs)
    }

    /// `panic!`'s text, of a literal (`&str`) or formatted (`String`),
    /// and any other payload (`panic_any`) by its type, as Rust's hook.
    #[test]
    fn a_panics_message_is_its_text() {
        // The process's hook is left as it is (the other tests run beside
        // this one); what it writes of these is the test's captured output.
        let caught = |f: fn()| std::panic::catch_unwind(f).unwrap_err();
        let literal = caught(|| panic!("a literal"));
        // Of a value known only when it runs (a constant is written into
        // the text as it compiles, a `&str`).
        let formatted = caught(|| panic!("formatted {}", std::hint::black_box(7)));
        let other = caught(|| std::panic::panic_any(7_u8));
        assert_eq!(panic_message(&*literal), "a literal");
        assert_eq!(panic_message(&*formatted), "formatted 7");
        assert_eq!(panic_message(&*other), "Box<dyn Any>");
    }

    /// A panic waits for its line to be written (a flush the thread
    /// answers), unless the thread has been on one write for as long as
    /// the wait: then it goes on at once, and queues nothing.
    #[test]
    fn a_panic_waits_for_its_line_unless_the_thread_is_stuck_on_a_write() {
        let (writer, jobs) = writer(4, 0);
        // The thread's part: answer the one flush queued.
        let answer = |jobs: Receiver<StderrJob>| {
            std::thread::spawn(move || {
                match jobs.recv().unwrap() {
                    StderrJob::Flush { lost: 0, done } => done.send(()).unwrap(),
                    _ => panic!("not a flush"),
                }
                jobs
            })
        };
        let thread = answer(jobs);
        writer.written_within(Duration::from_secs(60));
        let jobs = thread.join().unwrap();
        // On one job since the clock's start: longer than no time.
        writer.busy_since.store(1, Ordering::Relaxed);
        writer.written_within(Duration::ZERO);
        assert!(jobs.try_recv().is_err());
        // On one since now: shorter than a minute.
        writer
            .busy_since
            .store(super::since_start() + 1, Ordering::Relaxed);
        let thread = answer(jobs);
        writer.written_within(Duration::from_secs(60));
        thread.join().unwrap();
    }

    /// A line's job as the thread writes it.
    fn line(job: StderrJob) -> String {
        match job {
            StderrJob::Line { lost: 0, line } => line,
            StderrJob::Line { lost, line } => format!("{}\n{line}", dropped_line(lost)),
            StderrJob::Flush { .. } => panic!("a flush"),
        }
    }

    fn text(line: &str) -> StderrJob {
        StderrJob::Line {
            lost: 0,
            line: line.into(),
        }
    }

    /// One line lost is counted too, ahead of the next line that fits.
    #[test]
    fn a_single_dropped_line_is_counted_ahead_of_the_next_that_fits() {
        let (writer, jobs) = writer(1, 0);
        writer.send("a".into());
        // The queue is full: dropped, and counted.
        writer.send("b".into());
        assert_eq!(line(jobs.try_recv().unwrap()), "a");
        writer.send("c".into());
        assert_eq!(
            line(jobs.try_recv().unwrap()),
            "mxid-sandbox: 1 lines of stderr dropped: it was not read\nc"
        );
    }

    #[test]
    fn a_job_is_queued_when_there_is_room_or_room_is_made_before_the_deadline() {
        let (writer, jobs) = writer(1, 0);
        let far = Instant::now() + Duration::from_secs(60);
        assert!(writer.queue_within(text("a"), far).is_ok());
        // Full: in once the thread on the other end takes the first.
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let first = line(jobs.recv_timeout(Duration::from_secs(10)).unwrap());
            (
                first,
                line(jobs.recv_timeout(Duration::from_secs(10)).unwrap()),
            )
        });
        assert!(writer.queue_within(text("b"), far).is_ok());
        assert_eq!(reader.join().unwrap(), ("a".into(), "b".into()));
    }

    #[test]
    fn a_job_is_not_queued_past_the_deadline_or_with_no_one_to_read_it() {
        let (writer, jobs) = writer(1, 0);
        writer.send("a".into());
        let started = Instant::now();
        assert!(writer.queue_within(text("b"), started).is_err());
        assert!(writer
            .queue_within(text("b"), started + Duration::from_millis(5))
            .is_err());
        assert!(started.elapsed() >= Duration::from_millis(5));
        assert_eq!(line(jobs.try_recv().unwrap()), "a");
        assert!(jobs.try_recv().is_err());
        drop(jobs);
        let far = Instant::now() + Duration::from_secs(60);
        assert!(writer.queue_within(text("c"), far).is_err());
    }

    /// Takes the jobs of `jobs` on a thread of its own, after a pause that
    /// leaves a flush nothing to find unless it waits: the lines in order,
    /// and `"flush"` for a flush, written down before it is answered.
    fn take(jobs: Receiver<StderrJob>) -> Arc<Mutex<Vec<String>>> {
        let taken = Arc::new(Mutex::new(Vec::new()));
        let into = taken.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            for job in jobs {
                match job {
                    StderrJob::Line { .. } => into.lock().unwrap().push(line(job)),
                    StderrJob::Flush { lost, done } => {
                        if lost > 0 {
                            into.lock().unwrap().push(dropped_line(lost));
                        }
                        into.lock().unwrap().push("flush".into());
                        let _ = done.send(());
                    }
                }
            }
        });
        taken
    }

    #[test]
    fn a_flush_counts_the_lines_lost_last_and_waits_for_them_to_be_written() {
        for (lost, expected) in [
            (0, vec!["flush".to_string()]),
            (3, vec![dropped_line(3), "flush".into()]),
        ] {
            let (writer, jobs) = writer(4, lost);
            let taken = take(jobs);
            writer.flush(Duration::from_secs(10));
            assert_eq!(*taken.lock().unwrap(), expected, "{lost} lost");
            assert_eq!(writer.dropped.load(Ordering::Relaxed), 0);
        }
    }

    /// A reader that never reads holds a flush no longer than it is told,
    /// with lines lost or without.
    #[test]
    fn a_flush_gives_up_at_its_deadline() {
        for lost in [0, 3] {
            let (writer, jobs) = writer(1, 0);
            writer.send("a".into());
            writer.dropped.store(lost, Ordering::Relaxed);
            let started = Instant::now();
            writer.flush(Duration::from_millis(5));
            assert!(started.elapsed() >= Duration::from_millis(5));
            drop(writer);
            assert_eq!(jobs.into_iter().map(line).collect::<Vec<_>>(), ["a"]);
        }
    }

    /// A reader too slow for the lines queued at exit: those it has not
    /// taken by the last quarter of the wait are counted, and the count
    /// written, within the wait (every line written or counted).
    #[test]
    fn a_flush_counts_the_lines_a_slow_reader_has_not_taken_by_its_deadline() {
        struct Slow(Arc<Mutex<Vec<String>>>);
        impl std::io::Write for Slow {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::thread::sleep(Duration::from_millis(10));
                let text = String::from_utf8_lossy(buf);
                self.0.lock().unwrap().push(text.trim_end().to_string());
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (writer, jobs) = writer(1024, 0);
        let abandon = writer.abandon.clone();
        let written = Arc::new(Mutex::new(Vec::new()));
        let mut out = Slow(written.clone());
        std::thread::spawn(move || {
            let mut skipped = 0;
            for job in jobs {
                run_job(job, &mut out, &abandon, &mut skipped);
            }
        });
        for i in 0..300 {
            writer.send(format!("line {i}"));
        }
        let started = Instant::now();
        writer.flush(Duration::from_millis(400));
        assert!(started.elapsed() < Duration::from_millis(1000));
        let written = written.lock().unwrap().clone();
        let count = written.last().unwrap();
        let lost: usize = count
            .strip_prefix("mxid-sandbox: ")
            .and_then(|c| c.strip_suffix(" lines of stderr dropped: it was not read"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{written:?}"));
        let lines = written.len() - 1;
        assert!(lines > 0 && lost > 0, "{lines} written, {lost} counted");
        assert_eq!(lines + lost, 300);
        assert_eq!(written[lines - 1], format!("line {}", lines - 1));
    }

    /// A queue still full when the counting starts (the reader has not
    /// taken even the line it is writing): the flush waits for room, and
    /// the lines behind that one are counted, not written, once it does.
    #[test]
    fn a_flush_that_finds_the_queue_full_counts_what_is_behind_it() {
        struct Gated {
            entered: std::sync::mpsc::SyncSender<()>,
            gate: Receiver<()>,
            written: Arc<Mutex<Vec<String>>>,
        }
        impl std::io::Write for Gated {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.written.lock().unwrap().is_empty() {
                    let _ = self.entered.send(());
                    let _ = self.gate.recv();
                }
                let text = String::from_utf8_lossy(buf).trim_end().to_string();
                self.written.lock().unwrap().push(text);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (writer, jobs) = writer(16, 0);
        let (open, gate) = sync_channel(1);
        let (entered, writing) = sync_channel(1);
        let written = Arc::new(Mutex::new(Vec::new()));
        let mut out = Gated {
            entered,
            gate,
            written: written.clone(),
        };
        let abandon = writer.abandon.clone();
        let thread = std::thread::spawn(move || {
            let mut skipped = 0;
            for job in jobs {
                run_job(job, &mut out, &abandon, &mut skipped);
            }
        });
        for i in 0..300 {
            writer.send(format!("line {i}"));
        }
        // The thread holds the first line: the room it left is taken too.
        writing.recv_timeout(Duration::from_secs(10)).unwrap();
        for i in 300..310 {
            writer.send(format!("line {i}"));
        }
        // The first line is let through once the flush gives up writing
        // (or after the flush's wait, when it never does).
        let abandon = writer.abandon.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            while !abandon.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = open.send(());
        });
        writer.flush(Duration::from_secs(2));
        drop(writer);
        thread.join().unwrap();
        assert_eq!(
            *written.lock().unwrap(),
            ["line 0".to_string(), dropped_line(309)]
        );
    }

    /// A line written after lines were lost has their count written first,
    /// where they were lost (a reader that stopped, then read again).
    #[test]
    fn a_written_line_follows_the_count_of_the_lines_lost_before_it() {
        let abandon = AtomicBool::new(false);
        let (mut out, mut skipped) = (Vec::new(), 0);
        let line = StderrJob::Line {
            lost: 3,
            line: "x".into(),
        };
        run_job(line, &mut out, &abandon, &mut skipped);
        assert_eq!(String::from_utf8(out).unwrap(), dropped_line(3) + "\nx\n");
        assert_eq!(skipped, 0);
    }

    /// A line counted instead of written counts the lines lost before it.
    #[test]
    fn a_counted_line_counts_the_lines_lost_before_it() {
        let abandon = AtomicBool::new(true);
        let (mut out, mut skipped) = (Vec::new(), 0);
        let line = StderrJob::Line {
            lost: 5,
            line: "x".into(),
        };
        run_job(line, &mut out, &abandon, &mut skipped);
        assert!(out.is_empty());
        let (done, answered) = sync_channel(1);
        run_job(
            StderrJob::Flush { lost: 2, done },
            &mut out,
            &abandon,
            &mut skipped,
        );
        assert_eq!(String::from_utf8(out).unwrap(), dropped_line(8) + "\n");
        assert!(answered.try_recv().is_ok());
        assert_eq!(skipped, 0);
    }

    #[test]
    fn printable_escapes_what_would_end_a_line_or_drive_a_terminal() {
        assert!(matches!(
            printable("curpv5 POST /a/ñ -> 200"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(printable("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(
            printable("\u{1b}[2J\u{7f}\u{9b}"),
            "\\u{1b}[2J\\u{7f}\\u{9b}"
        );
        assert_eq!(
            printable("a\u{85}b\u{2028}c\u{2029}d"),
            "a\\u{85}b\\u{2028}c\\u{2029}d"
        );
        assert_eq!(
            printable("\u{202e}txt.exe\u{2066}"),
            "\\u{202e}txt.exe\\u{2066}"
        );
        assert_eq!(printable("a\u{61c}b"), "a\\u{61c}b");
        // Twice is once: backslashes stay.
        let once = printable("C:\\x\n").into_owned();
        assert_eq!(once, "C:\\x\\n");
        assert_eq!(printable(&once), once);
    }
}

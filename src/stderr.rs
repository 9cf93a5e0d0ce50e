//! stderr: its lines made printable, and written by a thread of their own
//! while serving.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
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
}

enum StderrJob {
    Line(String),
    /// Answered once the lines before it are written.
    Flush(std::sync::mpsc::SyncSender<()>),
}

impl StderrWriter {
    fn send(&self, line: String) {
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        let line = if lost > 0 {
            format!("{}\n{line}", dropped_line(lost))
        } else {
            line
        };
        if self.queue.try_send(StderrJob::Line(line)).is_err() {
            self.dropped.fetch_add(lost + 1, Ordering::Relaxed);
        }
    }

    /// Queues `job`, waiting for room until `deadline`: whether it is in.
    fn queue_within(&self, mut job: StderrJob, deadline: std::time::Instant) -> bool {
        loop {
            match self.queue.try_send(job) {
                Ok(()) => return true,
                Err(std::sync::mpsc::TrySendError::Full(back)) => {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    job = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return false,
            }
        }
    }

    /// [`flush`] with this writer.
    fn flush(&self, wait: Duration) {
        let deadline = std::time::Instant::now() + wait;
        // The lines lost since the last that fitted, counted last.
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 && !self.queue_within(StderrJob::Line(dropped_line(lost)), deadline) {
            return;
        }
        let (done, written) = std::sync::mpsc::sync_channel(1);
        if self.queue_within(StderrJob::Flush(done), deadline) {
            let _ =
                written.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()));
        }
    }
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
    let spawned = std::thread::Builder::new()
        .name("stderr".into())
        .stack_size(crate::server::SMALL_STACK)
        .spawn(move || {
            use std::io::Write as _;
            for job in jobs {
                match job {
                    StderrJob::Line(line) => {
                        let _ = writeln!(io::stderr().lock(), "{line}");
                    }
                    StderrJob::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
    if spawned.is_ok() {
        let _ = STDERR.set(StderrWriter {
            queue,
            dropped: AtomicU64::new(0),
        });
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

    use super::{dropped_line, StderrJob, StderrWriter};
    use std::sync::atomic::{AtomicU64, Ordering};
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
        };
        (writer, jobs)
    }

    fn line(job: StderrJob) -> String {
        match job {
            StderrJob::Line(l) => l,
            StderrJob::Flush(_) => panic!("a flush"),
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
        assert!(writer.queue_within(StderrJob::Line("a".into()), far));
        // Full: in once the thread on the other end takes the first.
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let first = line(jobs.recv_timeout(Duration::from_secs(10)).unwrap());
            (
                first,
                line(jobs.recv_timeout(Duration::from_secs(10)).unwrap()),
            )
        });
        assert!(writer.queue_within(StderrJob::Line("b".into()), far));
        assert_eq!(reader.join().unwrap(), ("a".into(), "b".into()));
    }

    #[test]
    fn a_job_is_not_queued_past_the_deadline_or_with_no_one_to_read_it() {
        let (writer, jobs) = writer(1, 0);
        writer.send("a".into());
        let started = Instant::now();
        assert!(!writer.queue_within(StderrJob::Line("b".into()), started));
        assert!(!writer.queue_within(
            StderrJob::Line("b".into()),
            started + Duration::from_millis(5)
        ));
        assert!(started.elapsed() >= Duration::from_millis(5));
        assert_eq!(line(jobs.try_recv().unwrap()), "a");
        assert!(jobs.try_recv().is_err());
        drop(jobs);
        let far = Instant::now() + Duration::from_secs(60);
        assert!(!writer.queue_within(StderrJob::Line("c".into()), far));
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
                    StderrJob::Line(l) => into.lock().unwrap().push(l),
                    StderrJob::Flush(done) => {
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

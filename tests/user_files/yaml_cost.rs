//! The cost of a user's YAML file to `mxid-sandbox check DIR`, against the
//! bounds README "The scenario files" documents ("its flow collections may
//! nest at most 128 deep ... brackets in a plain or block scalar, a quoted
//! one or a comment are text and count for nothing", "its aliases may
//! expand it to at most 8 MB of values or 262,144 of them"): the ways past
//! them found, now closed.
//!
//! Every run of `check` is bounded: killed once it has used a limit of
//! CPU time (read from /proc/PID/stat: a machine busy with other work, as
//! a CI runner is, slows the wall clock but not this), its peak RSS read
//! from /proc/PID/status (VmHWM) while it runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{temp_dir, RemovedOnDrop};

const BIN: &str = env!("CARGO_BIN_EXE_mxid-sandbox");

/// Nested brackets as README's own test counts them ("100,000 nested
/// brackets (minutes before) refused at once").
const DEEP: usize = 100_000;

/// What a run of `check` did.
#[derive(Debug)]
pub(super) struct Run {
    /// `Some(success)` if it ended within the limit.
    pub(super) ended: Option<bool>,
    /// The CPU time it used (user and system, every thread).
    pub(super) cpu: Duration,
    pub(super) peak_kb: u64,
    stderr: String,
}

/// A folder holding `files` (name, text), removed when the guard drops.
fn folder(tag: &str, files: &[(&str, String)]) -> (PathBuf, RemovedOnDrop) {
    let dir = temp_dir(&format!("yamlcost-{tag}"));
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    (dir.clone(), RemovedOnDrop(dir))
}

fn peak_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The CPU time process `pid` has used, user and system, every thread
/// (`utime` and `stime` of /proc/PID/stat, in Linux's 100 ticks a second).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command's `(name)`, the state first (field 3).
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// `check DIR`, killed once it has used `limit` of CPU time (or twenty
/// times `limit` of wall time, should it wait on something): whether it
/// ended, and how, the CPU time it used and its peak memory.
pub(super) fn check_bounded(dir: &Path, limit: Duration) -> Run {
    let log = dir.with_extension("stderr");
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MXID_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .args(["check", dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    let mut peak = 0;
    let mut cpu = Duration::ZERO;
    let ended = loop {
        if let Some(kb) = peak_kb(pid) {
            peak = peak.max(kb);
        }
        // Read before the wait reaps it (an exited child's stat holds its
        // whole CPU time until then).
        if let Some(t) = cpu_time(pid) {
            cpu = cpu.max(t);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st.success());
        }
        if cpu > limit || start.elapsed() > limit * 20 {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    Run {
        ended,
        cpu,
        peak_kb: peak,
        stderr: stderr.chars().take(400).collect(),
    }
}

/// A scenario file for curpv5 holding `text`, checked within `limit`.
fn check_curpv5(tag: &str, text: String, limit: Duration) -> Run {
    let (dir, _gone) = folder(tag, &[("curpv5.yaml", text)]);
    check_bounded(&dir, limit)
}

/// Asserts that `check` refused the file at once, for the depth.
fn assert_refused_quickly(run: &Run, what: &str) {
    assert!(
        run.ended.is_some(),
        "{what}: `check` still running after {:?} of CPU time (killed; peak {} KB): the flow-depth \
         bound was not applied",
        run.cpu,
        run.peak_kb
    );
    assert_eq!(run.ended, Some(false), "{what}: {run:?}");
    assert!(run.stderr.contains("deeper than 128"), "{what}: {run:?}");
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name),
    )
    .unwrap()
}

const LIMIT: Duration = Duration::from_secs(5);

// ===================================================================
// Ways that went past the flow-depth bound (crate::yaml::too_deep).
// README: "Before a user's file is parsed, its flow collections may nest
// at most 128 deep ... (the parser takes time that grows with the square
// of the depth: a 2 MB file of brackets ran for more than ten minutes ...)"
// and "100,000 nested brackets (minutes before) refused at once".
// ===================================================================

/// A quote at the start of a plain scalar's continuation line is text to
/// YAML ("foo 'bar"), and to the scan (it opened a quoted scalar there that
/// never closed, and hid every bracket after it).
#[test]
fn a_quote_on_a_plain_scalars_continuation_line_hides_nothing() {
    for quote in ['\'', '"'] {
        let text = format!("a: foo\n  {quote}bar\nb: {}\n", "[".repeat(DEEP));
        let run = check_curpv5("contq", text, LIMIT);
        assert_refused_quickly(&run, &format!("a continuation line opening with {quote}"));
    }
}

/// In a flow collection an anchor ends at `,` (`[&x, …]`: an anchored
/// empty entry, then the next), for the scan too (it read `&x,[[[[…` as one
/// anchor, up to the next whitespace).
#[test]
fn an_anchor_followed_by_a_comma_in_flow_hides_nothing() {
    let text = format!("a: [&x,{}\n", "[".repeat(DEEP));
    assert_refused_quickly(&check_curpv5("anchor", text, LIMIT), "[&x,[[[…");
}

/// The same with a tag: in flow context libyaml ends `!t` at the `,`, and
/// so does the scan.
#[test]
fn a_tag_followed_by_a_comma_in_flow_hides_nothing() {
    let text = format!("a: [!t,{}\n", "[".repeat(DEEP));
    assert_refused_quickly(&check_curpv5("tag", text, LIMIT), "[!t,[[[…");
}

/// What only looks like a quoted scalar's end, a comment or a plain
/// scalar hides no bracket after it: a backslash is no escape in a
/// single-quoted scalar (`'C:\'` ends there), a `#` after a non-space is
/// text (`[x#, …`), and a tag (`!!seq [[…`) starts no plain scalar. 129
/// levels after each are refused by the scan ("deeper than 128"), not
/// left to the parser.
#[test]
fn text_that_only_looks_like_it_hides_brackets_hides_nothing() {
    let deep = format!("{}1{}", "[".repeat(129), "]".repeat(129));
    for (what, text) in [
        (
            "a backslash in single quotes",
            format!("a: 'C:\\'\nb: {deep}\n"),
        ),
        ("# after a non-space in flow", format!("a: [x#, {deep}]\n")),
        ("a tag before the brackets", format!("a: !!seq {deep}\n")),
    ] {
        assert_refused_quickly(&check_curpv5("hidden", text, LIMIT), what);
    }
}

/// libyaml (YAML 1.1) ends a line at NEL (U+0085), LS (U+2028) and PS
/// (U+2029) as well, and so does the scan (split on `\n` only, a comment
/// ran on past them and hid the next "lines").
#[test]
fn unicode_line_breaks_end_a_comment_for_the_scan_too() {
    for brk in ['\u{2028}', '\u{0085}', '\u{2029}'] {
        let text = format!("# note{brk}b: {}\n", "[".repeat(DEEP));
        let run = check_curpv5("lsep", text, LIMIT);
        assert_refused_quickly(&run, &format!("a comment ended by U+{:04X}", brk as u32));
    }
}

/// The loader drops one byte-order mark; libyaml skips a BOM at any
/// line's start, and so does the scan (it read a second one as text that
/// started a plain scalar, the brackets after it part of that scalar).
#[test]
fn a_second_byte_order_mark_hides_nothing() {
    let text = format!("\u{feff}\u{feff}{}\n", "[".repeat(3 * DEEP));
    assert_refused_quickly(&check_curpv5("bom2", text, LIMIT), "two BOMs then [[[…");
}

/// README: flow collections may nest at most 128 deep "after a document's
/// `---` as anywhere": a collection on the line of a document start
/// marker (`--- [[[[…`, `--- &a [`, `--- !t [`, `--- {a: [[…`, after a
/// comment too) is counted, and refused at once for the bound, not handed
/// whole to the parser, which refuses it for serde's recursion limit only
/// after its own time (100,000 brackets: seconds, a 2 MB file minutes).
#[test]
fn brackets_after_a_document_start_marker_are_counted() {
    let deep = "[".repeat(DEEP);
    for text in [
        format!("--- {deep}\n"),
        format!("--- &a {deep}\n"),
        format!("--- !t {deep}\n"),
        format!("--- {{a: {deep}\n"),
        format!("# a comment\n--- {deep}\n"),
    ] {
        let what = text[..text.len().min(16)].to_string();
        assert_refused_quickly(&check_curpv5("docstart", text, LIMIT), &what);
    }
}

// ===================================================================
// Cost within the documented bounds.
// ===================================================================

/// `check_yaml`'s walk for `<<` and `.inf` writes a value's path out only
/// for its error: one 500 KB key (written `? key`, as a simple key is cut
/// at 1024 characters) over many values is not copied for each of them
/// (a 505 KB file took 14 s in a debug build when it was).
#[test]
fn a_long_key_over_many_values_is_not_copied_for_each() {
    let text = format!(
        "a: &a [{}0]\n? {}\n: [{}*a]\n",
        "0,".repeat(999),
        "k".repeat(500_000),
        "*a,".repeat(999)
    );
    assert!(text.len() < 600_000);
    let run = check_curpv5("longkey", text, LIMIT);
    assert!(
        run.ended.is_some(),
        "a 505 KB file: `check` still running after {:?} of CPU time (killed)",
        run.cpu
    );
}

/// The same without a single alias: a 900 KB file of one long key and
/// 200,000 numbers.
#[test]
fn a_long_key_over_many_values_is_cheap_without_aliases_too() {
    let text = format!("? {}\n: [{}0]\n", "k".repeat(500_000), "0,".repeat(200_000));
    assert!(text.len() < 1_000_000);
    let run = check_curpv5("longkey2", text, Duration::from_secs(4));
    assert!(
        run.ended.is_some(),
        "a 900 KB file without aliases: `check` still running after {:?} of CPU time (killed)",
        run.cpu
    );
}

/// Every shipped scenario file with one body of 490 aliases of a
/// 1000-entry mapping with 60-byte keys (within the bounds: about 980,000
/// values, 30 MB, within the first bounds): 80 KB a file, 412 KB in all,
/// took 28 s and 333 MB to check in a debug build (one such file alone:
/// 6.4 s, 207 MB). The bounds are a quarter of that now.
#[test]
fn aliases_in_every_file_cost_little() {
    let map = (0..1000)
        .map(|i| format!("k{i:059}: {i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let extra = format!("x: &a {{{map}}}, y: [{}*a]", "*a, ".repeat(489));
    let files: Vec<(String, String)> = crate::common::provider_ids()
        .iter()
        .map(|p| {
            let name = format!("{p}.yaml");
            let text = shipped(&name);
            let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
            let at = lines
                .iter()
                .position(|l| {
                    let t = l.trim_start();
                    t.starts_with("body: {") && t.ends_with('}')
                })
                .unwrap_or_else(|| panic!("{name}: no flow body"));
            let l = &lines[at];
            lines[at] = format!("{}, {extra}}}", &l[..l.len() - 1]);
            (name, lines.join("\n"))
        })
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let (dir, _gone) = folder("aliases", &files);
    let run = check_bounded(&dir, Duration::from_secs(8));
    assert!(
        run.ended.is_some() && run.peak_kb < 300 * 1024,
        "five files of 80 KB: {:?}, peak {} MB, {:?}",
        run.cpu,
        run.peak_kb / 1024,
        run.ended
    );
}

// ===================================================================
// A legitimate file the scan refused.
// README: "brackets in a plain or block scalar, a quoted one or a comment
// are text and count for nothing".
// ===================================================================

/// A plain scalar's continuation lines that start with a half-open range
/// (`[0, 10)`): text to YAML, and to the scan (each line's start was a
/// value's start to it, and each `[` a flow collection `)` never closed).
#[test]
fn brackets_at_the_start_of_a_plain_scalars_continuation_lines_are_text() {
    let old = "description: Tu Identidad CURPv5 — CURP validation against RENAPO\n";
    let base = shipped("curpv5.yaml");
    assert!(base.contains(old));
    let lines: String = (0..129)
        .map(|i| format!("  [{i}, {}) seconds\n", i + 1))
        .collect();
    let text = base.replace(old, &format!("{old}{lines}"));
    // YAML reads it as one description.
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert!(v["description"]
        .as_str()
        .unwrap()
        .contains("[128, 129) seconds"));
    let run = check_curpv5("fp", text, Duration::from_secs(20));
    assert_eq!(run.ended, Some(true), "{run:?}");
}

// ===================================================================
// Pinned.
// ===================================================================

/// README: "100,000 nested brackets (minutes before) refused at once".
#[test]
fn plain_deep_brackets_are_refused_at_once() {
    let run = check_curpv5("plain", format!("a: {}\n", "[".repeat(DEEP)), LIMIT);
    assert_refused_quickly(&run, "a: [[[…");
    let run = check_curpv5("plain2", format!("{}\n", "[".repeat(DEEP)), LIMIT);
    assert_refused_quickly(&run, "[[[… at the root");
}

/// README: "Before a user's file is parsed" the bounds hold, a fixture
/// file's too: a personas.yaml of 100,000 nested brackets, or an alias
/// bomb, is refused at once, in that file, naming the bound.
#[test]
fn a_fixture_file_past_the_bounds_is_refused_at_once() {
    let curp = "PXNE660720HMCXTN06";
    let big = "x".repeat(128 * 1024);
    let bomb = format!(
        "- curp: {curp}\n  names: &a \"{big}\"\n  first_surname: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n  second_surname: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n  sex: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    );
    let deep = format!("- curp: {curp}\n  names: {}\n", "[".repeat(DEEP));
    for (what, text, says) in [
        ("bomb", bomb, "262,144 values"),
        ("deep", deep, "deeper than 128"),
    ] {
        let (dir, _gone) = folder("fixture", &[("personas.yaml", text)]);
        let run = check_bounded(&dir, LIMIT);
        assert_eq!(run.ended, Some(false), "{what}: {run:?}");
        assert!(
            run.stderr.contains("personas.yaml:") && run.stderr.contains(says),
            "{what}: {run:?}"
        );
    }
}

/// One BOM is read past, and the brackets after it still count.
#[test]
fn brackets_after_one_byte_order_mark_are_refused_at_once() {
    let run = check_curpv5("bom1", format!("\u{feff}{}\n", "[".repeat(DEEP)), LIMIT);
    assert_refused_quickly(&run, "BOM then [[[…");
}

/// A lone CR ends a comment for the lexer too (the loader writes it as LF).
#[test]
fn a_cr_after_a_comment_does_not_hide_brackets() {
    let run = check_curpv5("cr", format!("# c\rb: {}\n", "[".repeat(DEEP)), LIMIT);
    assert_refused_quickly(&run, "# c CR b: [[[…");
}

/// One continuation line opening with a half-open range passes.
#[test]
fn one_range_on_a_continuation_line_passes() {
    let old = "description: Tu Identidad CURPv5 — CURP validation against RENAPO\n";
    let text = shipped("curpv5.yaml").replace(old, &format!("{old}  [0, 10) seconds\n"));
    let run = check_curpv5("one", text, Duration::from_secs(20));
    assert_eq!(run.ended, Some(true), "{run:?}");
}

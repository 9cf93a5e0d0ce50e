//! What the sandbox writes to stderr and stdout that carries text a client
//! or a user's file controls: the `--log-requests` line, `check`'s and
//! `serve`'s refusals, the `scenarios` catalog and the ready line. One
//! request or one file forges no second line, reaches the terminal with no
//! escape, and leaks no secret; a stderr nobody reads stops no request.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{provider_requests, temp_dir, RemovedOnDrop, Served};
use mxid_sandbox::stderr::printable;

const BIN: &str = env!("CARGO_BIN_EXE_mxid-sandbox");
const PATH: &str = "/api/curp/bycurp";
const CURP: &str = "PXNE660720HMCXTN06";
const ESC: u8 = 0x1b;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `serve --port 0 --time-scale 0 --log-requests ARGS`.
fn logging(args: &[&str]) -> Served {
    let mut all = vec!["--port", "0", "--time-scale", "0", "--log-requests"];
    all.extend_from_slice(args);
    Served::start(&all, &[])
}

/// Stops `served` (SIGTERM) and returns all it wrote to stderr.
async fn log_of(served: Served) -> String {
    served.terminate();
    let (status, log) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}: {log}");
    log
}

/// The `N` of every `mxid-sandbox: N lines of stderr dropped` line.
fn dropped_counts(log: &str) -> Vec<usize> {
    log.lines()
        .filter_map(|l| {
            l.strip_prefix("mxid-sandbox: ")?
                .strip_suffix(" lines of stderr dropped: it was not read")?
                .parse()
                .ok()
        })
        .collect()
}

/// Where `served` listens, `127.0.0.1:PORT`.
fn addr(served: &Served) -> String {
    served.addr().to_string()
}

/// Sends `raw` on a fresh connection and reads until the server closes it
/// (the request says `connection: close`): the status line.
async fn raw(addr: &str, raw: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(raw).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got).into_owned();
    text.lines().next().unwrap_or("").to_string()
}

/// A bycurp POST, as raw HTTP/1.1, to the raw request target `target`.
fn bycurp_to(target: &[u8]) -> Vec<u8> {
    let body = format!(r#"{{"curp":"{CURP}"}}"#);
    let mut req = b"POST ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(
        format!(
            " HTTP/1.1\r\nhost: x\r\napikey: k\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    req
}

/// A control character a log line should not carry raw: C0 (but the line's
/// own `\n`), DEL and C1 (U+0080–U+009F, which a terminal may read as
/// escapes: U+009B is CSI), and the Unicode line and paragraph separators
/// (U+0085 NEL, U+2028, U+2029) that log tools split lines on.
fn unsafe_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && (c.is_control() || c == '\u{2028}' || c == '\u{2029}'))
        .collect()
}

/// The lines of `text` as a Unicode-aware log tool reads them (Python's
/// `str.splitlines`, Unicode line breaks): split at `\n`, `\r`, VT, FF,
/// NEL, LS and PS.
fn unicode_lines(text: &str) -> Vec<&str> {
    text.split([
        '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
    ])
    .filter(|l| !l.is_empty())
    .collect()
}

/// `mxid-sandbox ARGS` (no `MXID_*` variable of the test's environment),
/// killed after 10 s: exit code, stdout and stderr as bytes.
fn run(args: &[&OsStr]) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let mut cmd = Command::new("timeout");
    cmd.arg("10").arg(BIN).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MXID_")) {
        cmd.env_remove(k);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (out.status.code(), out.stdout, out.stderr)
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// `check DIR`: exit code and stderr as bytes.
fn check(dir: &Path) -> (Option<i32>, Vec<u8>) {
    let (code, _, err) = run(&[os("check"), dir.as_os_str()]);
    (code, err)
}

/// An embedded scenario file with line `n` (1-based) replaced by `line`.
fn scenario_file_with(provider: &str, n: usize, line: &str) -> String {
    let path = format!("{}/scenarios/{provider}.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[n - 1] = line.to_string();
    lines.join("\n") + "\n"
}

/// The line number (1-based) of the first line of the embedded curpv5
/// scenario file that starts, after its indentation, with `start`.
fn curpv5_line(start: &str) -> usize {
    let path = format!("{}/scenarios/curpv5.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?}"))
        + 1
}

// ===========================================================================
// Text a client or a file chose stays on its line, as text.
// ===========================================================================

// README "Command line": `--log-requests` | "one line per request on
// stderr". HTTP lets a path carry UTF-8 (httparse and the `http` crate take
// bytes 0x80–0xFF there): U+0085 (NEL), U+2028 and U+2029 are line breaks
// to every Unicode-aware log tool (Python's `splitlines`, journald viewers,
// log shippers). Written as they came, one request would read as several
// log lines, the later ones the client's ("curpv5 POST ... FORGED1",
// spaces sent as U+00A0, which a terminal shows as spaces; `>` cannot be
// in a path, so the arrow is a `-`). They are written as escapes.
#[tokio::test]
async fn log_line_of_a_path_with_unicode_line_breaks_is_one_line() {
    let served = logging(&[]);
    let target = "/api/curp/bycurp\u{85}curpv5 POST /api/curp/bycurp - 200 FORGED1\u{2028}curpv5 POST /x - 200 FORGED2\u{2029}x";
    // The path carries no spaces: written with them, hyper refuses the line.
    let target = target.replace(' ', "\u{a0}");
    let status = raw(&addr(&served), &bycurp_to(target.as_bytes())).await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    let log = log_of(served).await;
    assert!(log.contains("FORGED1"), "the request is logged: {log:?}");
    let forged: Vec<&str> = unicode_lines(&log)
        .into_iter()
        .filter(|l| l.starts_with("curpv5\u{a0}POST"))
        .collect();
    assert!(
        forged.is_empty(),
        "one request read as {} more log lines by a Unicode-aware reader: {forged:?}\nlog: {log:?}",
        forged.len()
    );
}

// README "Command line": `--log-requests` | "one line per request on
// stderr": a line for an operator's terminal. A path's C1 control
// characters are written as escapes: U+009B is CSI, the 8-bit form of
// `ESC [`, so `/\u{9b}2J` is "clear screen" to a terminal that takes C1
// controls (xterm with its default `allowC1Printable: false` and UTF-8 C1
// decoding, and any 8-bit consumer).
#[tokio::test]
async fn log_line_carries_no_c1_control_character_from_the_path() {
    let served = logging(&[]);
    let target = "/api/curp/\u{9b}2J\u{9b}31mred\u{90}dcs\u{9d}0;title\u{9c}";
    let status = raw(&addr(&served), &bycurp_to(target.as_bytes())).await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    let log = log_of(served).await;
    assert!(log.contains("red"), "the request is logged: {log:?}");
    let bad = unsafe_chars(&log);
    assert!(
        bad.is_empty(),
        "control characters from the client's path reach stderr raw: {bad:?}\nlog: {log:?}"
    );
}

// The same over HTTP/2 (README Limitations: "HTTP/1.1, or HTTP/2 with
// prior knowledge"): the `:path` pseudo-header goes through the same `http`
// crate parse and the same log line.
#[tokio::test]
async fn http2_log_line_carries_no_c1_control_character_from_the_path() {
    let served = logging(&[]);
    let tcp = TcpStream::connect(addr(&served)).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut client = client.ready().await.unwrap();
    let req = hyper::Request::builder()
        .method("GET")
        .uri(
            format!(
                "http://{}/api/curp/h2\u{9b}2J\u{85}curpv5 GET /x - 200 FORGED",
                addr(&served)
            )
            .replace(' ', "\u{a0}"),
        )
        .body(())
        .unwrap();
    let (res, _) = client.send_request(req, true).unwrap();
    let res = tokio::time::timeout(Duration::from_secs(10), res)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), 404);
    drop(client);
    let log = log_of(served).await;
    assert!(
        log.contains("/api/curp/h2"),
        "the request is logged: {log:?}"
    );
    let bad = unsafe_chars(&log);
    assert!(
        bad.is_empty(),
        "control characters from an HTTP/2 :path reach stderr raw: {bad:?}\nlog: {log:?}"
    );
}

// README "Command line": `check DIR` "prints `file:line:column: field:
// message` and exits 1 on error" — lines an editor or a CI annotation
// parser reads. A YAML file whose NAME holds a newline is named with the
// newline written as `\n`: written as is, the name's second half would be
// a line of its own, here a forged error located in another file.
#[test]
fn check_names_a_file_whose_name_holds_a_newline_on_one_line() {
    let dir = temp_dir("logs-newline-name");
    let _gone = RemovedOnDrop(dir.clone());
    let name = "ab\ncurpv5.yaml:3:5: endpoints: FORGED.yaml";
    std::fs::write(dir.join(name), "provider: x\n").unwrap();
    let (code, err) = check(&dir);
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&err));
    let err = String::from_utf8_lossy(&err);
    let forged: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("curpv5.yaml:3:5:"))
        .collect();
    assert!(
        forged.is_empty(),
        "a file's name forged the error line(s) {forged:?}:\n{err}"
    );
}

// The same `check` output for a file whose name holds an escape sequence:
// no ESC byte reaches the terminal (the name is quoted twice: the path
// and the stem).
#[test]
fn check_writes_no_escape_byte_from_a_file_name() {
    let dir = temp_dir("logs-escape-name");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(dir.join("\u{1b}[2J\u{1b}[31mred.yaml"), "provider: x\n").unwrap();
    let (code, err) = check(&dir);
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&err));
    assert!(
        !err.contains(&ESC),
        "an ESC byte from a file name reaches stderr: {:?}",
        String::from_utf8_lossy(&err)
    );
}

// README, Command line: what the sandbox writes "quotes text a ... file
// chose (a path, a file's name ...)" with its control characters written
// as escapes. `check DIR`'s "ok" line names the folder too: a folder whose
// name holds a newline and an escape sequence is one line with no ESC.
#[test]
fn check_ok_line_names_its_folder_printably() {
    let parent = temp_dir("logs-ok-name");
    let _gone = RemovedOnDrop(parent.clone());
    let dir = parent.join("x\u{1b}[2J\nFORGED: ok");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/curpv5.yaml"),
        dir.join("curpv5.yaml"),
    )
    .unwrap();
    let (code, out, err) = run(&[os("check"), dir.as_os_str()]);
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&err));
    let out = String::from_utf8_lossy(&out);
    assert!(!out.contains('\u{1b}'), "an ESC reaches stdout: {out:?}");
    assert_eq!(out.lines().count(), 1, "{out:?}");
    assert!(out.contains("ok ("), "{out:?}");
}

// README "Command line": `check` "prints `file:line:column: field:
// message`"; "The scenario files": "unknown ... placeholders ... are
// refused with file, line and field". A VALUE of the file echoed in the
// message (a persona's `scenario`, a YAML double-quoted string with `\e`
// and `\n` escapes) is quoted with its escapes written out: no ESC, no
// forged `file:line:column:` line.
#[test]
fn check_writes_a_yaml_value_it_quotes_without_escapes_or_line_breaks() {
    let dir = temp_dir("logs-value");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(
        dir.join("personas.yaml"),
        format!("- curp: {CURP}\n  scenario: \"nope\\e[2J\\ncurpv5.yaml:9:9: status: FORGED\"\n"),
    )
    .unwrap();
    let (code, err) = check(&dir);
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&err));
    let text = String::from_utf8_lossy(&err);
    assert!(text.contains("nope"), "the error names the value: {text}");
    let forged: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("curpv5.yaml:9:9:"))
        .collect();
    assert!(
        !err.contains(&ESC) && forged.is_empty(),
        "a YAML value reaches stderr raw (ESC: {}, forged lines: {forged:?}): {text:?}",
        err.contains(&ESC)
    );
}

// `serve` refuses the same kind of file before it binds ("configuration
// refused: …", README: a file it cannot take "stops the server before it
// binds, exit 1"), and the message quotes the file's text the same way:
// here an unknown KEY written with a `\e` escape, echoed by serde's
// "unknown field".
#[test]
fn serve_refusal_writes_no_escape_byte_from_a_yaml_key() {
    let dir = temp_dir("logs-serve-key");
    let _gone = RemovedOnDrop(dir.clone());
    let n = curpv5_line("description: the CURP is valid");
    let indent = " ".repeat(8);
    std::fs::write(
        dir.join("curpv5.yaml"),
        scenario_file_with("curpv5", n, &format!("{indent}\"\\e[2Jdescripton\": x")),
    )
    .unwrap();
    let (code, _, err) = run(&[
        os("serve"),
        os("--port"),
        os("0"),
        os("--scenarios"),
        dir.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&err));
    let text = String::from_utf8_lossy(&err);
    assert!(text.contains("descripton"), "names the key: {text}");
    assert!(
        !err.contains(&ESC),
        "an ESC byte from a YAML key reaches stderr: {text:?}"
    );
}

// README "The scenario files": `description: one line, shown in the
// catalog`; README "Command line": `scenarios` prints "the scenario
// catalog" (one row per scenario, `provider method path name
// description`). `check` accepts a description with a newline (and an
// ESC), and the table writes it on one line, the newline and the escape as
// `\n` and `\u{1b}`: no second, forged row.
#[test]
fn scenarios_table_prints_one_row_per_scenario_whatever_the_description() {
    let dir = temp_dir("logs-description");
    let _gone = RemovedOnDrop(dir.clone());
    let n = curpv5_line("description: the CURP is valid");
    let indent = " ".repeat(8);
    std::fs::write(
        dir.join("curpv5.yaml"),
        scenario_file_with(
            "curpv5",
            n,
            &format!(
                "{indent}description: \"first line\\ncurpv5      POST     /api/curp/bycurp   forged   FORGED\\e[2J\""
            ),
        ),
    )
    .unwrap();
    let (code, err) = check(&dir);
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&err));
    let (code, table, err) = run(&[os("scenarios"), os("--scenarios"), dir.as_os_str()]);
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&err));
    let (_, json, _) = run(&[
        os("scenarios"),
        os("--scenarios"),
        dir.as_os_str(),
        os("--json"),
    ]);
    let rows = serde_json::from_slice::<Value>(&json).unwrap();
    let rows = rows.as_array().unwrap().len();
    let text = String::from_utf8_lossy(&table);
    let forged: Vec<&str> = text.lines().filter(|l| l.contains("FORGED")).collect();
    assert!(
        text.lines().count() == rows && !table.contains(&ESC),
        "check took the description, and the table prints {} lines for {rows} scenarios \
         (ESC raw: {}): {forged:?}",
        text.lines().count(),
        table.contains(&ESC)
    );
}

// ===========================================================================
// The rest of what is written, pinned.
// ===========================================================================

// README "The two commands": "The server prints one line to stdout when it is ready:
// `mxid-sandbox listening on http://127.0.0.1:8080`"; SPEC §8 "When ready
// it prints one line to stdout containing `listening on http://HOST:PORT`".
// With --log-requests and requests served, stdout holds that one line and
// nothing else (the request lines go to stderr), in that exact shape.
#[tokio::test]
async fn ready_line_is_the_only_stdout_line_and_has_a_stable_shape() {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--port",
            "0",
            "--log-requests",
            "--time-scale",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // The ready line, byte by byte (what follows stays in the pipe).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8];
        while let Ok(1) = std::io::Read::read(&mut stdout, &mut byte) {
            line.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        let _ = tx.send((line, stdout));
    });
    let (line, mut stdout) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let line = String::from_utf8(line).unwrap();
    let rest = line
        .strip_prefix("mxid-sandbox listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("ready line {line:?}"));
    let port = rest
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("one whole line: {line:?}"));
    assert!(
        port.parse::<u16>().is_ok_and(|p| p != 0),
        "the port ends the line: {line:?}"
    );
    let http = crate::common::Http::new(format!("http://127.0.0.1:{port}"));
    for _ in 0..3 {
        let r = http
            .post(
                PATH,
                &[("apikey", "k")],
                serde_json::json!({ "curp": CURP }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(http.get("/__admin/health", &[]).await.status, 200);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut more = Vec::new();
    std::io::Read::read_to_end(&mut stdout, &mut more).unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        more.is_empty(),
        "stdout after the ready line: {:?}",
        String::from_utf8_lossy(&more)
    );
    assert_eq!(
        err.lines().filter(|l| l.contains(PATH)).count(),
        3,
        "the request lines are on stderr: {err}"
    );
}

// The ready line names an IPv6 address as a URL does (`[::1]:PORT`), so a
// CI script that takes the URL from it can use it as is.
#[tokio::test]
async fn ready_line_brackets_an_ipv6_address() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    }
    let served = Served::start(&["--host", "::1", "--port", "0"], &[]);
    assert!(
        served
            .ready
            .starts_with("mxid-sandbox listening on http://[::1]:"),
        "{:?}",
        served.ready
    );
    assert_eq!(served.get("/__admin/health", &[]).await.status, 200);
}

// README, Command line: `--log-requests` writes "`WHO METHOD PATH -> STATUS
// SCENARIO`, then `by STEP` for a provider's scenario (WHO a provider's id,
// `admin` or `-`; no query, no header": each provider's request under its
// id, with its path, status, scenario and the step that chose it.
#[tokio::test]
async fn log_line_format_is_who_method_path_status_scenario() {
    let served = logging(&[]);
    for p in provider_requests(CURP) {
        let r = served.provider_post(&p, &[]).await;
        assert_eq!(r.status, 200, "{}: {}", p.1, r.text());
    }
    assert_eq!(
        served.get("/__admin/health?namespace=x", &[]).await.status,
        200
    );
    assert_eq!(served.get("/nowhere?q=1", &[]).await.status, 404);
    let log = log_of(served).await;
    let lines: Vec<&str> = log.lines().collect();
    for (provider, path, _, _) in provider_requests(CURP) {
        let want = format!("{provider} POST {path} -> 200 success by realistic");
        assert!(lines.contains(&want.as_str()), "{want}: {log}");
    }
    assert!(
        lines.contains(&"admin GET /__admin/health -> 200 -"),
        "{log}"
    );
    assert!(lines.contains(&"- GET /nowhere -> 404 not_found"), "{log}");
}

// README, Command line: `--log-requests` writes "then `fault NAME` when a
// fault answered instead": a request answered by a fault is not logged as
// the success its client never saw (a cut body, a reset connection).
#[tokio::test]
async fn a_faulted_answer_is_logged_with_its_fault() {
    let served = logging(&[]);
    let body = format!(r#"{{"curp":"{CURP}"}}"#);
    let cut = served
        .send(
            "POST",
            PATH,
            &[("apikey", "k"), ("x-sandbox-fault", "malformed_body")],
            body.clone(),
        )
        .await;
    assert_eq!(cut.status, 200);
    let mut reset = TcpStream::connect(addr(&served)).await.unwrap();
    reset
        .write_all(
            format!(
                "POST {PATH} HTTP/1.1\r\nhost: x\r\napikey: k\r\nx-sandbox-fault: connection_reset\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut rest = Vec::new();
    let _ = reset.read_to_end(&mut rest).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    let log = log_of(served).await;
    let lines: Vec<&str> = log.lines().collect();
    for fault in ["malformed_body", "connection_reset"] {
        let want = format!("curpv5 POST {PATH} -> 200 success by realistic fault {fault}");
        assert!(lines.contains(&want.as_str()), "{want}: {log}");
    }
}

// README, Command line and Admin API: the `--log-requests` line's `by STEP`
// and the journal's `selected_by` say which step of "How a scenario is
// chosen" answered: four requests answered `not_found` for four reasons
// (the header, an override, a persona, the realistic path) are told apart,
// and a missing credential is `auth`. The engine's own errors and the
// admin API have none.
#[tokio::test]
async fn the_log_and_the_journal_say_which_step_chose_the_scenario() {
    let served = logging(&[]);
    let body = |curp: &str| serde_json::json!({ "curp": curp });
    let key = ("apikey", "k");
    let header = served
        .post(
            PATH,
            &[key, ("x-sandbox-scenario", "not_found")],
            body(CURP),
        )
        .await;
    let set = served
        .admin_post(
            "/__admin/overrides",
            serde_json::json!({"provider": "curpv5", "scenario": "not_found", "times": 1}),
        )
        .await;
    assert_eq!(set.status, 201, "{}", set.text());
    let over = served.post(PATH, &[key], body(CURP)).await;
    let persona = served.post(PATH, &[key], body("GAPA950819HGTLRR07")).await;
    // Every rule but the check digit: RENAPO never issued it.
    let realistic = served.post(PATH, &[key], body("PXNE660720HMCXTN05")).await;
    let auth = served.post(PATH, &[], body(CURP)).await;
    for r in [&header, &over, &persona, &realistic] {
        assert_eq!((r.status, r.scenario()), (404, "not_found"), "{}", r.text());
    }
    assert_eq!(auth.scenario(), "missing_credentials");
    assert_eq!(served.get("/nowhere", &[]).await.status, 404);
    let journal = served.admin_get("/__admin/requests").await;
    let by: Vec<Value> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["selected_by"].clone())
        .collect();
    assert_eq!(
        by,
        ["header", "override", "persona", "realistic", "auth"]
            .map(Value::from)
            .into_iter()
            .chain([Value::Null])
            .collect::<Vec<_>>(),
        "{journal}"
    );
    let log = log_of(served).await;
    let lines: Vec<&str> = log.lines().collect();
    for step in ["header", "override", "persona", "realistic"] {
        let want = format!("curpv5 POST {PATH} -> 404 not_found by {step}");
        assert!(lines.contains(&want.as_str()), "{want}: {log}");
    }
    let want = format!("curpv5 POST {PATH} -> 401 missing_credentials by auth");
    assert!(lines.contains(&want.as_str()), "{want}: {log}");
    assert!(lines.contains(&"- GET /nowhere -> 404 not_found"), "{log}");
}

// README, Command line: with `--log-requests`, "each webhook attempt, as it
// ends: `webhook POST URL -> STATUS verification ID attempt N: OUTCOME`
// (STATUS `-` when the target did not answer, `(redeliver)` after N for the
// admin API's), the URL without its user info".
#[tokio::test]
async fn the_log_has_a_line_per_webhook_attempt_without_the_urls_password() {
    use crate::async_verification::{create, dead_url, set_webhook, Answer, Hook, KEY, NSS};
    let served = logging(&[]);
    let hook = Hook::start().await;
    hook.plan(&[Answer::Status(500)]);
    let with_password = hook.url.replacen("http://", "http://user:SECRET@", 1);
    set_webhook(&served, KEY, serde_json::json!({ "url": with_password })).await;
    let (dead, _held) = dead_url();
    set_webhook(&served, "other-key", serde_json::json!({ "url": dead })).await;
    let id = create(&served, NSS, KEY, serde_json::json!({ "curp": CURP })).await;
    let unanswered = create(
        &served,
        NSS,
        "other-key",
        serde_json::json!({ "curp": CURP }),
    )
    .await;
    served.advance("2s").await;
    let again = served
        .admin_post(
            &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(again.json()["outcome"], "delivered", "{}", again.text());
    let log = log_of(served).await;
    let lines: Vec<&str> = log.lines().collect();
    let url = &hook.url;
    for want in [
        format!("webhook POST {url} -> 500 verification {id} attempt 1: HTTP 500"),
        format!("webhook POST {url} -> 200 verification {id} attempt 2 (redeliver): delivered"),
    ] {
        assert!(lines.contains(&want.as_str()), "{want}: {log}");
    }
    let refused = format!("webhook POST {dead} -> - verification {unanswered} attempt 1: ");
    let refused: Vec<&&str> = lines.iter().filter(|l| l.starts_with(&refused)).collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(refused[0].contains("refused"), "{log}");
    assert!(!log.contains("SECRET"), "{log}");
    assert_eq!(
        hook.received()[0].header("authorization"),
        Some("Basic dXNlcjpTRUNSRVQ=")
    );
    // Without the flag, no line.
    let quiet = Served::start(&["--port", "0", "--time-scale", "0"], &[]);
    set_webhook(&quiet, KEY, serde_json::json!({ "url": hook.url })).await;
    create(&quiet, NSS, KEY, serde_json::json!({ "curp": CURP })).await;
    quiet.advance("2s").await;
    assert_eq!(hook.received().len(), 3);
    let log = log_of(quiet).await;
    assert!(!log.contains("webhook"), "{log}");
}

// README, Command line: "`serve` writes first, when the environment holds
// `MXID_*` variables, `mxid-sandbox: from the environment: VAR=value, …`
// (…the admin token's and the webhook URL's value `(hidden)`, any other
// cut at 256 bytes and made printable), then `; not read:` and each
// variable that is not". Without one, no such line.
#[tokio::test]
async fn serve_names_the_variables_it_read_and_those_it_did_not() {
    let long = format!("MXID_{}", "X".repeat(300));
    let served = Served::start(
        &["--port", "0", "--time-scale", "0", "--latency", "1ms"],
        &[
            ("MXID_SEED", "7"),
            ("MXID_ADMIN_TOKEN", "ADMINSECRET"),
            ("MXID_WEBHOOK_URL", "http://u:PASSWORD@127.0.0.1:9/hook"),
            ("MXID_START_TIME", "2025-01-01T00:00:00Z"),
            ("MXID_LATENCY", "2ms"),
            ("MXID_TIMESCALE", "60"),
            ("MXID_\u{1b}[31m", "1"),
            (&long, "1"),
        ],
    );
    let log = log_of(served).await;
    let cut = format!("MXID_{}… (305 bytes)", "X".repeat(251));
    assert_eq!(
        log.lines().next().unwrap_or_default(),
        format!(
            "mxid-sandbox: from the environment: MXID_SEED=7, \
             MXID_START_TIME=2025-01-01T00:00:00Z, MXID_WEBHOOK_URL=(hidden), \
             MXID_ADMIN_TOKEN=(hidden); not read: MXID_LATENCY (--latency given), \
             MXID_\\u{{1b}}[31m (no such variable), MXID_TIMESCALE (no such variable), \
             {cut} (no such variable)"
        ),
        "{log}"
    );
    assert!(
        !log.contains("SECRET") && !log.contains("PASSWORD"),
        "{log}"
    );
    let served = Served::start(&["--port", "0"], &[]);
    let log = log_of(served).await;
    assert!(!log.contains("from the environment"), "{log}");
    // 20 of no flag's are all listed; past 20, the rest are counted.
    let names: Vec<String> = (10..30).map(|i| format!("MXID_V{i}")).collect();
    let env: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let log = log_of(Served::start(&["--port", "0"], &env)).await;
    let first = log.lines().next().unwrap_or_default();
    assert!(first.ends_with("MXID_V29 (no such variable)"), "{first}");
    let names: Vec<String> = (10..35).map(|i| format!("MXID_V{i}")).collect();
    let env: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let log = log_of(Served::start(&["--port", "0"], &env)).await;
    let listed: Vec<String> = names[..20]
        .iter()
        .map(|n| format!("{n} (no such variable)"))
        .collect();
    assert_eq!(
        log.lines().next().unwrap_or_default(),
        format!(
            "mxid-sandbox: from the environment: none; not read: {}, 5 more of no flag's",
            listed.join(", ")
        ),
    );
}

// README, Command line: a write to stderr that fails "loses the line, not
// the server": a log file at its `ulimit -f` too (SIGXFSZ is ignored; it
// would kill the process).
#[tokio::test]
async fn a_log_file_at_its_size_limit_loses_lines_not_the_server() {
    let dir = temp_dir("fsize");
    std::fs::create_dir_all(&dir).unwrap();
    let _removed = RemovedOnDrop(dir.clone());
    let log = dir.join("log");
    let pre = format!("ulimit -f 1; exec 2>'{}'", log.display());
    let served = Served::start_under(&pre, &["--port", "0", "--log-requests"], &[]);
    let long = format!("/{}", "x".repeat(200));
    for _ in 0..20 {
        assert_eq!(served.get(&long, &[]).await.status, 404);
    }
    served.terminate();
    let (status, _) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    // Read once it has exited: stderr's thread writes the lines after
    // their answers, and the exit waits for it.
    let written = std::fs::metadata(&log).unwrap().len();
    assert!((100..=1024).contains(&written), "{written}");
}

// README, Command line: a command whose output cannot be written, for
// another reason than a closed pipe (a full disk), exits 1 naming it:
// the output is cut. `serve` says so of its ready line, and serves on.
#[test]
fn output_that_cannot_be_written_is_an_error_but_for_a_closed_pipe() {
    let sh = |script: &str| {
        Command::new("sh")
            .args(["-c", script])
            .arg(BIN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for script in [
        "exec \"$0\" scenarios >/dev/full",
        "exec \"$0\" curp random --n 3 >/dev/full",
    ] {
        let out = sh(script).wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{script}: {stderr}");
        assert_eq!(
            stderr,
            "mxid-sandbox: cannot write the output: No space left on device (os error 28)\n",
            "{script}"
        );
    }
    // A pipe closed by its reader (`| head`) ends the output quietly.
    let mut cut = Command::new(BIN)
        .args(["curp", "random", "--n", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(cut.stdout.take());
    let out = cut.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `serve` says its ready line was lost, and serves on.
    let mut served = sh("exec \"$0\" serve --port 0 --time-scale 0 >/dev/full");
    let stderr = served.stderr.take().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut line).unwrap();
    let port = line
        .strip_prefix("mxid-sandbox: cannot write the ready line (listening on http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("): No space left on device (os error 28)\n"))
        .unwrap_or_else(|| panic!("{line}"));
    let mut conn = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    std::io::Write::write_all(
        &mut conn,
        b"GET /__admin/clock HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    served.kill().unwrap();
    served.wait().unwrap();
}

// README, Command line: `serve --help` names each flag's variable, and shows
// the environment's value but for the admin token and the webhook URL (a
// secret, and a URL that may carry a password).
#[test]
fn help_shows_no_secret_from_the_environment() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .env("MXID_ADMIN_TOKEN", "ADMINSECRET")
        .env("MXID_WEBHOOK_URL", "http://u:PASSWORD@127.0.0.1:9/hook")
        .env("MXID_JOURNAL_LIMIT", "77")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{help}");
    assert!(help.contains("[env: MXID_ADMIN_TOKEN]"), "{help}");
    assert!(help.contains("[env: MXID_WEBHOOK_URL]"), "{help}");
    assert!(help.contains("MXID_JOURNAL_LIMIT=77"), "{help}");
    assert!(
        !help.contains("ADMINSECRET") && !help.contains("PASSWORD"),
        "{help}"
    );
}

// No secret is logged: the provider credentials (apikey, bearer token,
// AccuAuth's id and secret, a query's token), the admin token and the
// namespace never reach the request lines, whichever way the request ends
// (answered, refused for a bad namespace, refused by the admin token).
#[tokio::test]
async fn log_lines_carry_no_credential_token_or_query() {
    let served = logging(&["--admin-token", "ADMINSECRET"]);
    let body = serde_json::json!({ "curp": CURP });
    let r = served
        .post(PATH, &[("apikey", "APIKEYSECRET")], body.clone())
        .await;
    assert_eq!(r.status, 200);
    let r = served
        .post(
            "/curp/getData?token=QUERYSECRET",
            &[("authorization", "Bearer BEARERSECRET")],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = served
        .post(
            "/verify/id_check",
            &[("x-df-api-id", "IDSECRET"), ("x-df-api-secret", "DFSECRET")],
            serde_json::json!({ "id_number": CURP }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = served
        .post(
            PATH,
            &[
                ("apikey", "APIKEYSECRET"),
                ("x-sandbox-namespace", "NSSECRET!"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = served
        .get(
            "/__admin/requests?namespace=NSSECRET2",
            &[("authorization", "Bearer ADMINSECRET")],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = served
        .get(
            "/__admin/requests",
            &[("authorization", "Bearer WRONGADMINSECRET")],
        )
        .await;
    assert_eq!(r.status, 401);
    let log = log_of(served).await;
    assert!(log.lines().count() >= 6, "{log}");
    for secret in [
        "APIKEYSECRET",
        "QUERYSECRET",
        "BEARERSECRET",
        "IDSECRET",
        "DFSECRET",
        "NSSECRET",
        "ADMINSECRET",
    ] {
        assert!(!log.contains(secret), "{secret} logged: {log}");
    }
}

// A request head with a C0 control byte (an ESC) or bytes that are not
// UTF-8, in the path, the method or a header value, is refused by hyper
// (400) before the sandbox sees it: nothing reaches the log, raw or not.
#[tokio::test]
async fn control_and_non_utf8_bytes_in_a_request_head_never_reach_the_log() {
    let served = logging(&[]);
    let a = addr(&served);
    let heads: [&[u8]; 5] = [
        b"POST /x\x1b[2J HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"POST /x\xff\xfe HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"PO\x1bST /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"POST /x HTTP/1.1\r\nhost: x\r\napikey: k\x1b[2J\r\nconnection: close\r\n\r\n",
        b"POST /x\rFORGED HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ];
    for head in heads {
        let status = raw(&a, head).await;
        assert!(status.starts_with("HTTP/1.1 400"), "{status}");
    }
    // Then one logged request, so the log is known to be written.
    let r = served.get("/nowhere", &[]).await;
    assert_eq!(r.status, 404);
    let log = log_of(served).await;
    assert!(
        !log.contains('\u{1b}') && !log.contains("FORGED"),
        "{log:?}"
    );
    assert_eq!(log.lines().count(), 1, "{log:?}");
}

// A header value with obs-text bytes (0x80–0xFF, not UTF-8) reaches the
// sandbox but not the log: no header is written there.
#[tokio::test]
async fn an_obs_text_header_value_is_not_logged() {
    let served = logging(&[]);
    let mut req = b"POST /api/curp/bycurp HTTP/1.1\r\nhost: x\r\napikey: \xff\xfe\x9b2J\r\nx-sandbox-scenario: \xc2\x9b2J\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_vec();
    let status = raw(&addr(&served), &req).await;
    assert!(status.starts_with("HTTP/1.1 400"), "{status}");
    req.clear();
    let log = log_of(served).await;
    assert!(unsafe_chars(&log).is_empty(), "{log:?}");
    assert!(!log.contains('\u{fffd}'), "{log:?}");
}

// `scenarios --json` is valid JSON whatever a description holds (a newline,
// an ESC, quotes, U+2028): serde escapes it, and the rows round-trip.
#[test]
fn scenarios_json_is_valid_with_an_odd_description() {
    let dir = temp_dir("logs-json");
    let _gone = RemovedOnDrop(dir.clone());
    let n = curpv5_line("description: the CURP is valid");
    let indent = " ".repeat(8);
    let odd = "a\\nb\\e[2J\\\"q\\\"\\u2028\\\\";
    std::fs::write(
        dir.join("curpv5.yaml"),
        scenario_file_with("curpv5", n, &format!("{indent}description: \"{odd}\"")),
    )
    .unwrap();
    let (code, json, err) = run(&[
        os("scenarios"),
        os("--scenarios"),
        dir.as_os_str(),
        os("--json"),
    ]);
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&err));
    assert!(!json.contains(&ESC));
    let rows: Value = serde_json::from_slice(&json).unwrap();
    let success = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == "curpv5" && r["name"] == "success")
        .unwrap();
    assert_eq!(success["description"], "a\nb\u{1b}[2J\"q\"\u{2028}\\");
}

// A file whose name is not UTF-8 is named lossily (U+FFFD): `check`'s
// stderr is valid UTF-8.
#[test]
fn check_names_a_non_utf8_file_name_in_valid_utf8() {
    let dir = temp_dir("logs-non-utf8");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(
        dir.join(OsStr::from_bytes(b"bad\xff\xfe.yaml")),
        "provider: x\n",
    )
    .unwrap();
    let (code, err) = check(&dir);
    assert_eq!(code, Some(1));
    let text = String::from_utf8(err).expect("stderr is UTF-8");
    assert!(text.contains("bad\u{fffd}\u{fffd}"), "{text}");
}

// A credential no request can present is quoted with its escapes written
// out (`"SECRET\u{1b}[2J\nforged"`): the project's own way of naming a
// value with control characters, on one line and without a raw ESC.
#[test]
fn check_quotes_a_refused_credential_with_its_escapes_written_out() {
    let dir = temp_dir("logs-credential");
    let _gone = RemovedOnDrop(dir.clone());
    let path = format!("{}/fixtures/credentials.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap().replacen(
        "accept: [sandbox-apikey]",
        "accept: [\"SECRET\\e[2J\\ncurpv5.yaml:9:9: status: FORGED\"]",
        1,
    );
    std::fs::write(dir.join("credentials.yaml"), text).unwrap();
    let (code, err) = check(&dir);
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&err));
    let text = String::from_utf8_lossy(&err);
    assert!(text.contains("SECRET"), "{text}");
    assert!(!err.contains(&ESC), "{text:?}");
    assert!(
        !text.lines().any(|l| l.starts_with("curpv5.yaml:9:9:")),
        "{text:?}"
    );
}

// A refused `--admin-token` is not echoed (it is a secret, and the message
// says why without it), from the flag or from MXID_ADMIN_TOKEN.
#[test]
fn a_refused_admin_token_is_not_echoed() {
    let (code, out, err) = run(&[
        os("serve"),
        os("--port"),
        os("0"),
        os("--admin-token"),
        os("sec ret\u{1b}TOKEN"),
    ]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    let text = String::from_utf8_lossy(&err);
    assert!(text.contains("--admin-token"), "{text}");
    assert!(!text.contains("TOKEN") && !err.contains(&ESC), "{text}");
}

// A request whose head hyper refuses (a path over its URI limit: 414) is
// answered by hyper alone and gets no log line (README Limitations:
// "refused by hyper itself ... before the sandbox sees it").
#[tokio::test]
async fn a_uri_hyper_refuses_gets_no_log_line() {
    let served = logging(&[]);
    let long = format!("/{}", "a".repeat(100_000));
    let status = raw(&addr(&served), &bycurp_to(long.as_bytes())).await;
    assert!(status.starts_with("HTTP/1.1 414"), "{status}");
    assert_eq!(served.get("/nowhere", &[]).await.status, 404);
    let log = log_of(served).await;
    assert_eq!(log.lines().count(), 1, "{}", &log[..log.len().min(300)]);
}

// ===========================================================================
// Bounds: a log line's length, and a stderr nobody reads.
// ===========================================================================

// A log line's length is bounded as a journal entry's is (README Admin
// API: the journal keeps "2 KB of the method, path, query and CURP"): an
// extension method of 300 KB (hyper takes a request line up to its
// ~400 KB read buffer) is cut. (stderr goes to a file here: see the next
// test for a pipe.)
#[tokio::test]
async fn a_log_line_is_bounded_like_a_journal_entry() {
    let dir = temp_dir("logs-long");
    let _gone = RemovedOnDrop(dir.clone());
    let file = dir.join("stderr");
    let served = Served::start_under(
        &format!("exec 2>'{}'", file.display()),
        &["--port", "0", "--time-scale", "0", "--log-requests"],
        &[],
    );
    let method = "A".repeat(300_000);
    let head = format!("{method} /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let status = raw(&addr(&served), head.as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    served.terminate();
    let _ = served.exited_within(Duration::from_secs(10)).await;
    let log = std::fs::read_to_string(&file).unwrap();
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    assert!(longest <= 8 * 1024, "a log line of {longest} bytes");
    assert!(
        log.contains(" AAAA"),
        "the request is logged: {}",
        &log[..log.len().min(200)]
    );
}

// README, Command line: `--log-requests` writes "the method and path cut
// at 2 KB as the journal cuts them": a path whose 2,048th byte falls
// inside a character, and a 3,000-byte extension method, are logged as
// the journal lists them, to the byte.
#[tokio::test]
async fn the_log_cuts_method_and_path_exactly_as_the_journal_does() {
    let served = logging(&[]);
    let path = format!("/{}\u{e9}{}", "a".repeat(2046), "b".repeat(500));
    let method = "M".repeat(3000);
    for (m, p) in [("GET", path.as_str()), (method.as_str(), "/short")] {
        let head = format!("{m} {p} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let status = raw(&addr(&served), head.as_bytes()).await;
        assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    }
    let entries = served.admin_get("/__admin/requests").await;
    let entries = entries.as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["path"].as_str().unwrap().len(), 2047);
    assert_eq!(entries[1]["method"].as_str().unwrap().len(), 2048);
    let log = log_of(served).await;
    // The journal's read is logged too, as `admin`.
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("- ")).collect();
    let want: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "- {} {} -> 404 not_found",
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(lines, want);
}

// A stderr pipe whose reader is alive but not reading (a harness that
// pipes stderr and reads it only at the end, as `Served` does; a paused
// `less`) fills after 64 KB. The lines are written by a thread of their
// own, not by the workers: the server answers on, the lines that do not
// fit in its queue are dropped, and their count is written once the
// reader reads again.
#[tokio::test]
async fn a_stalled_stderr_reader_does_not_stop_the_server() {
    let served = logging(&[]);
    // 1,500 lines of 2 KB: the pipe's 64 KB and the thread's queue of
    // 1,024 lines fill.
    let long = format!("/{}", "a".repeat(4_000));
    for _ in 0..1_500 {
        assert_eq!(served.get(&long, &[]).await.status, 404);
    }
    let health =
        tokio::time::timeout(Duration::from_secs(3), served.get("/__admin/health", &[])).await;
    assert!(
        health.is_ok_and(|r| r.status == 200),
        "the admin API does not answer within 3 s once stderr's pipe is full"
    );
    let log = log_of(served).await;
    // Each run of lost lines is counted where it was lost.
    let counts = dropped_counts(&log);
    assert!(
        !counts.is_empty(),
        "no count of dropped lines in {} lines",
        log.lines().count()
    );
    // Every request, the 1,500 and the health check, is either written or
    // counted.
    let written = log.lines().filter(|l| l.contains(" GET /")).count();
    assert_eq!(written + counts.iter().sum::<usize>(), 1_501, "{counts:?}");
}

// README, Command line: "a reader that stops reading ... holds that thread
// once the pipe is full, never a request; the lines past its queue of
// 1,024 are dropped". A reader that stalls for 1,200 lines of 2 KB loses
// only what neither the pipe (64 KB) nor the queue holds: at least the
// queue's 1,024 lines are written once it reads again.
#[tokio::test]
async fn a_stalled_reader_gets_the_queues_1024_lines_when_it_reads_again() {
    let served = logging(&[]);
    let pad = "q".repeat(2_000);
    for n in 0..1_200 {
        assert_eq!(
            served.get(&format!("/q{n:05}/{pad}"), &[]).await.status,
            404
        );
    }
    served.terminate();
    let (status, log) = served.exited_within(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    let written = log.lines().filter(|l| l.contains(" GET /q")).count();
    let dropped: usize = dropped_counts(&log).iter().sum();
    assert!(
        dropped > 0,
        "nothing was dropped: the pipe and the queue did not fill"
    );
    assert_eq!(written + dropped, 1_200);
    assert!(
        written >= 1_024,
        "{written} lines written, {dropped} dropped: the queue kept fewer than 1,024"
    );
}

// A CONNECT's target is an authority, with no path: its log line writes
// `-` there, and keeps its five fields.
#[tokio::test]
async fn a_connect_request_is_logged_with_a_dash_for_its_path() {
    let served = logging(&[]);
    let status = raw(
        &addr(&served),
        b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    let log = log_of(served).await;
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["- CONNECT - -> 404 not_found"],
        "{log}"
    );
}

// `curp check` quotes its argument in its refusal ("invalid curp
// '{curp}': …") with its escapes written out: a CURP pasted from a
// spreadsheet or a CSV may carry anything.
#[test]
fn curp_check_echoes_no_escape_from_its_argument() {
    let (code, out, err) = run(&[os("curp"), os("check"), os("\u{1b}[2JPXNE660720HMCXTN0")]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert!(!err.contains(&ESC), "{:?}", String::from_utf8_lossy(&err));
}

// README, Command line (stderr): what it quotes of "a value or an argument
// the command line refuses" (a flag's value, an unknown argument or
// subcommand) is, "of a value, at most 256 bytes", its line breaks and
// controls written as escapes: a value from a templated CI variable
// (`MXID_PORT` holding a whole file) stays one short line. clap's own
// shape and exit code (2) are kept.
#[test]
fn a_refused_flag_value_or_argument_is_quoted_cut_and_printable() {
    let long = "7".repeat(600);
    let name = "z".repeat(5000);
    let cases: [(&[&str], &str); 11] = [
        (&["serve", "--port", "12\nab"], "'12\\nab'"),
        // A flag given twice (README, Command line: "clap's usage error").
        (
            &["serve", "--port", "1", "--port", "2"],
            "the argument '--port <PORT>' cannot be used multiple times",
        ),
        // An escape sequence, which clap alone would drop, leaving the rest
        // (the line break) raw.
        (&["serve", "--seed", "a\u{1b}[1mb\nc"], "'a\\u{1b}[1mb\\nc'"),
        (&["serve", "--bo\u{7f}gus"], "'--bo\\u{7f}gus'"),
        // A value that is one line break: clap's own lines stay lines.
        (&["serve", "--port", "\n"], "'\\n' for '--port <PORT>'"),
        (
            &["serve", "--port", &long],
            "… (600 bytes)' for '--port <PORT>'",
        ),
        (&["serve", "x\u{2028}\u{202e}y"], "'x\\u{2028}\\u{202e}y'"),
        (&["serve", "--strict-auth=o\u{85}n"], "'o\\u{85}n'"),
        // An unknown subcommand, at either level.
        (&["a\nb\rc"], "unrecognized subcommand 'a\\nb\\rc'"),
        (&["curp", "x\u{2028}y"], "'x\\u{2028}y'"),
        (&[&name], "… (5000 bytes)'"),
    ];
    for (args, shown) in cases {
        let args: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
        let (code, out, err) = run(&args);
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(
            err.lines().next().unwrap().contains(shown),
            "{args:?}: {err}"
        );
        assert!(
            err.ends_with('\n') && err.contains("\nFor more information"),
            "{args:?}: {err:?}"
        );
        assert!(unsafe_chars(&err).is_empty(), "{args:?}: {err:?}");
        assert!(err.len() < 600, "{args:?}: {err}");
    }
    // A tip repeats the argument in clap's own words: escaped and cut there
    // too, on one line.
    let long = format!("--{}", "z".repeat(5000));
    for (arg, tip) in [
        (
            "--a\nb",
            "tip: to pass '--a\\nb' as a value, use '-- --a\\nb'",
        ),
        (long.as_str(), "… (5002 bytes)' as a value, use '-- --zzz"),
    ] {
        let (code, _, err) = run(&[os("curp"), os("check"), os(arg)]);
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, Some(2), "{err}");
        assert!(err.lines().any(|l| l.contains(tip)), "{err}");
        assert!(err.lines().all(|l| l.len() < 700), "{err}");
        assert!(unsafe_chars(&err).is_empty(), "{err:?}");
    }
    // From the environment, as a CI file templates it.
    let out = Command::new(BIN)
        .args(["serve", "--port", "0"])
        .env_remove("MXID_PORT")
        .env("MXID_SEED", "1\n2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.lines().next().unwrap().contains("'1\\n2'"), "{err}");
}

// README, Command line (stderr): a value the `curp` tools refuse (a CURP, a
// birth date, a sex, a state) is repeated as every value is: at most 256
// bytes of it.
#[test]
fn the_curp_tools_repeat_at_most_256_bytes_of_a_value_they_refuse() {
    let long = "A".repeat(1000);
    let calc = |birth: &str, sex: &str, state: &str| {
        format!("curp calc --names ANA --first-surname LOPEZ --birth {birth} --sex {sex} --state {state}")
            .split(' ')
            .map(String::from)
            .collect::<Vec<_>>()
    };
    for args in [
        vec!["curp".to_string(), "person".into(), long.clone()],
        vec!["curp".to_string(), "check".into(), long.clone()],
        calc(&long, "M", "15"),
        calc("2000-01-01", &long, "15"),
        calc("2000-01-01", "M", &long),
    ] {
        let args: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
        let (code, out, err) = run(&args);
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, Some(1), "{err}");
        assert!(out.is_empty());
        assert!(err.contains("… (1000 bytes)"), "{err}");
        assert!(err.len() < 500, "{err}");
    }
}

// README, Command line (stderr): "its control characters (C0, DEL, C1),
// Unicode's line and paragraph separators and its bidirectional controls
// written as escapes". Unicode's bidirectional controls (property
// Bidi_Control, UAX #9 §2) are U+061C ARABIC LETTER MARK, U+200E, U+200F,
// U+202A–U+202E and U+2066–U+2069: every one, U+061C too (which a path,
// over HTTP/1.1 any UTF-8, brought into a `--log-requests` line raw).
#[test]
fn printable_escapes_every_bidi_control_character() {
    let bidi = [
        '\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
    ];
    let raw: Vec<String> = bidi
        .iter()
        .filter(|c| printable(&format!("a{c}b")).contains(**c))
        .map(|c| format!("U+{:04X}", *c as u32))
        .collect();
    assert!(raw.is_empty(), "left raw: {raw:?}");
}

// The same through the binary, each as the escape the README names
// (`\u{2028}`): a path's U+2028, U+0085 (NEL), U+009B (CSI), U+202E and
// U+061C (bidirectional controls) reach the `--log-requests` line as
// escapes, the rest of the line as sent.
#[tokio::test]
async fn log_line_writes_a_paths_separators_and_controls_as_escapes() {
    let served = logging(&[]);
    let path = "/x\u{2028}y\u{85}z\u{9b}w\u{202e}v\u{61c}u";
    let head = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let status = raw(&addr(&served), head.as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    let log = log_of(served).await;
    assert_eq!(
        log,
        "- GET /x\\u{2028}y\\u{85}z\\u{9b}w\\u{202e}v\\u{61c}u -> 404 not_found\n"
    );
}

// README, Command line: "the lines past its queue of 1,024 are dropped, and
// their count is written (`mxid-sandbox: N lines of stderr dropped: it was
// not read`) when the reader reads again". The count stands where they were
// lost only if it follows the lines queued before them: the thread writes
// it before the next queued line, so it lands ahead of the 1,024 lines that
// were logged BEFORE the loss, and the gap a reader sees (a jump in the
// request numbers) comes 1,024 lines after the line that announces it. A
// reader can neither place the loss nor tell which lines are missing.
#[tokio::test]
async fn the_dropped_count_stands_where_the_lines_were_lost() {
    let served = Served::start(&["--port", "0", "--time-scale", "0", "--log-requests"], &[]);
    // Numbered paths of 2 KB: the pipe's 64 KB and the queue fill.
    let pad = "a".repeat(2_000);
    for n in 0..1_500 {
        assert_eq!(
            served.get(&format!("/n{n:05}/{pad}"), &[]).await.status,
            404
        );
    }
    served.terminate();
    let (_, log) = served.exited_within(Duration::from_secs(20)).await;
    // Walk the log: a written line's number must follow the previous one
    // (plus what a count line said was lost in between).
    let mut expected = 0usize;
    let mut pending_drop = 0usize;
    let mut wrong = Vec::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("mxid-sandbox: ") {
            if let Some(n) = rest.strip_suffix(" lines of stderr dropped: it was not read") {
                pending_drop += n.parse::<usize>().unwrap();
            }
            continue;
        }
        let Some(n) = line
            .split(" /n")
            .nth(1)
            .and_then(|r| r.get(..5))
            .and_then(|d| d.parse::<usize>().ok())
        else {
            continue;
        };
        if n != expected + pending_drop && wrong.len() < 3 {
            wrong.push(format!(
                "request {n} written where {} was expected (next {expected}, {pending_drop} announced as dropped before it)",
                expected + pending_drop
            ));
        }
        expected = n + 1;
        pending_drop = 0;
    }
    assert!(
        log.contains("lines of stderr dropped"),
        "nothing was dropped: the test did not fill the pipe"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// `printable` keeps what is printable, is idempotent, and escapes what
// would end a line or drive a terminal.
#[test]
fn printable_basics() {
    assert_eq!(
        printable("curpv5 GET /a/ñ/日本 -> 200 ok"),
        "curpv5 GET /a/ñ/日本 -> 200 ok"
    );
    for s in [
        "a\nb",
        "\u{1b}[2J",
        "\u{85}",
        "\u{2028}",
        "\u{202e}x",
        "\t",
        "\u{7f}",
        "\u{9b}",
    ] {
        let p = printable(s).into_owned();
        assert!(
            !p.chars()
                .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{202e}'),
            "{s:?} -> {p:?}"
        );
        assert_eq!(printable(&p), p);
    }
}

// README, Command line: the lines before the ready line are written as
// they are made, and at exit the queued lines are written: a SIGTERM right
// after logged requests loses none of them, and the process exits promptly.
#[tokio::test]
async fn sigterm_right_after_logged_requests_keeps_every_line() {
    let served = Served::start(&["--port", "0", "--time-scale", "0", "--log-requests"], &[]);
    for n in 0..200 {
        assert_eq!(served.get(&format!("/t{n:04}"), &[]).await.status, 404);
    }
    served.terminate();
    let started = Instant::now();
    let (status, log) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let written = log.lines().filter(|l| l.contains(" GET /t")).count();
    assert_eq!(written, 200, "{log}");
}

// An exit while stderr's pipe is full and never read is bounded (the flush
// waits 1 s): SIGTERM ends the process though the writer thread is blocked.
#[tokio::test]
async fn exit_is_bounded_with_a_stderr_nobody_reads() {
    let mut served = Served::start(&["--port", "0", "--time-scale", "0", "--log-requests"], &[]);
    let pad = "b".repeat(2_000);
    for n in 0..200 {
        assert_eq!(served.get(&format!("/{n}/{pad}"), &[]).await.status, 404);
    }
    served.terminate();
    let st = served.status_within(Duration::from_secs(8));
    assert!(
        st.is_some(),
        "still running 8 s after SIGTERM with a full stderr pipe"
    );
}

/// `serve --log-requests` with `extra`, `n` logged 404s, then one bycurp
/// request delayed 5 s left in flight (journaled: decided and logged).
async fn logged_with_one_in_flight(
    extra: &[&str],
    n: usize,
) -> (
    Served,
    tokio::task::JoinHandle<Result<crate::common::Resp, String>>,
) {
    let mut args = vec!["--port", "0", "--time-scale", "0", "--log-requests"];
    args.extend_from_slice(extra);
    let served = Served::start(&args, &[]);
    for i in 0..n {
        assert_eq!(served.get(&format!("/s{i:04}"), &[]).await.status, 404);
    }
    let slow = served.send_in_background(
        "POST",
        "/api/curp/bycurp",
        &[
            ("apikey", "k"),
            ("content-type", "application/json"),
            ("x-sandbox-latency", "5s"),
        ],
        format!(r#"{{"curp":"{CURP}"}}"#),
    );
    // The n 404s and the delayed one, journaled.
    let started = Instant::now();
    while served
        .admin_get("/__admin/requests")
        .await
        .as_array()
        .map_or(0, Vec::len)
        < n + 1
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the delayed request never came in"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (served, slow)
}

// README, --shutdown-timeout: "then the connections still open are closed";
// the shutdown wait's line is written through stderr's thread, and the exit
// flushes it: every logged line and the wait's line are there, in order.
#[tokio::test]
async fn shutdown_wait_line_is_written_after_the_logged_lines() {
    let (served, _slow) = logged_with_one_in_flight(&["--shutdown-timeout", "300ms"], 100).await;
    served.terminate();
    let (status, log) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}: {log}");
    let lines: Vec<&str> = log.lines().collect();
    let wait = lines
        .iter()
        .position(|l| l.contains("shutdown wait of"))
        .unwrap_or_else(|| panic!("no shutdown wait line: {log}"));
    let last_logged = lines.iter().rposition(|l| l.contains(" GET /s")).unwrap();
    assert!(last_logged < wait, "{log}");
    assert_eq!(lines.iter().filter(|l| l.contains(" GET /s")).count(), 100);
}

// README, --shutdown-timeout: "a second SIGINT or SIGTERM during the wait,
// 250 ms or more after the first, ends the process at once, exit 1". The
// exit through `process::exit` flushes stderr's queue first: the logged
// lines and the second signal's line are all there.
#[tokio::test]
async fn second_signal_exit_writes_the_queued_lines() {
    let (served, _slow) = logged_with_one_in_flight(&["--shutdown-timeout", "30s"], 100).await;
    served.terminate();
    tokio::time::sleep(Duration::from_secs(1)).await;
    served.terminate();
    let (status, log) = served.exited_within(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert_eq!(
        log.lines().filter(|l| l.contains(" GET /s")).count(),
        100,
        "{log}"
    );
    assert!(
        log.lines().last().unwrap_or("").contains("second signal"),
        "{log}"
    );
}

// The same with stderr's pipe full when the second signal comes (100
// lines of 2 KB, a reader that reads only once the process is told to
// go): the exit waits for the queue (1 s at most), and the lines still
// queued and the second signal's own line reach the reader.
#[tokio::test]
async fn a_second_signal_with_stderrs_pipe_full_writes_every_queued_line() {
    let served = logging(&["--shutdown-timeout", "30s"]);
    let pad = "s".repeat(2_000);
    for n in 0..100 {
        assert_eq!(
            served.get(&format!("/s{n:04}/{pad}"), &[]).await.status,
            404
        );
    }
    let _slow = served.send_in_background(
        "POST",
        "/api/curp/bycurp",
        &[
            ("apikey", "k"),
            ("content-type", "application/json"),
            ("x-sandbox-latency", "5s"),
        ],
        format!(r#"{{"curp":"{CURP}"}}"#),
    );
    served.journaled(101).await;
    served.terminate();
    // README: the second signal counts 250 ms or more after the first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    served.terminate();
    let (status, log) = served.exited_within(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(1), "{}", &log[log.len().min(300)..]);
    assert!(dropped_counts(&log).is_empty(), "lines were dropped");
    assert_eq!(
        log.lines().filter(|l| l.contains(" GET /s")).count(),
        100,
        "queued lines lost at the second signal's exit"
    );
    assert!(
        log.lines().last().unwrap_or("").contains("second signal"),
        "the last line is not the second signal's: {:?}",
        log.lines().last()
    );
}

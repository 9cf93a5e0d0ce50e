//! The process against its operating system: stderr a broken pipe, file
//! descriptors run out, special files where the CLI takes files and
//! folders, signals, and an odd environment (time zone, locale, a deleted
//! working folder).

use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::BufReader;
use tokio::task::JoinHandle;

use super::clients::exchange;
use crate::async_verification::{Answer, Hook};
use crate::common::{temp_dir, RemovedOnDrop, Resp, Served};

const BIN: &str = env!("CARGO_BIN_EXE_mxid-sandbox");
const PATH: &str = "/api/curp/bycurp";
const KEY: (&str, &str) = ("apikey", "k");
const CURP: &str = "PXNE660720HMCXTN06";

/// `check ARGS`: its exit code and stderr. Killed after 10 s (`timeout`):
/// a check that reads a device forever fails, not hangs.
fn check(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = Command::new("timeout")
        .args(["10", BIN, "check"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `serve` on any port with a frozen clock and ARGS, under a limit of
/// `files` open files.
fn frozen_under(files: u32, args: &[&str]) -> Served {
    let mut all = vec!["--port", "0", "--time-scale", "0"];
    all.extend_from_slice(args);
    Served::start_under(&format!("ulimit -n {files}"), &all, &[])
}

/// A request delayed by `latency` that the server holds from here on.
async fn held(served: &Served, latency: &str) -> JoinHandle<Result<Resp, String>> {
    let held = served.send_in_background(
        "POST",
        PATH,
        &[KEY, ("x-sandbox-latency", latency)],
        format!(r#"{{"curp":"{CURP}"}}"#),
    );
    served.journaled(1).await;
    held
}

// SPEC §8: "SIGINT/SIGTERM shut it down gracefully." With stderr a pipe
// whose reader has gone (`serve 2>&1 | head -1`), the shutdown wait's line
// is lost, not turned into a panic (exit 101 while it was `eprintln!`).
#[tokio::test]
async fn sigterm_with_stderr_a_broken_pipe_is_a_graceful_exit_after_the_shutdown_wait() {
    let mut served = Served::start(&["--port", "0", "--shutdown-timeout", "100ms"], &[]);
    served.close_stderr();
    let _held = held(&served, "3s").await;
    served.terminate();
    let status = served
        .status_within(Duration::from_secs(2))
        .expect("exits within 2 s of SIGTERM with a 100 ms shutdown wait");
    assert!(status.success(), "{status:?} (101 is a panic)");
}

// SPEC §8: "Bad input never crashes it". Out of file descriptors with
// stderr a broken pipe, the failed accept's line is lost, and the server
// serves on once connections close (the first failed accept was a panic).
#[tokio::test]
async fn out_of_file_descriptors_with_stderr_a_broken_pipe_keeps_serving() {
    let mut served = Served::start_under("ulimit -n 64", &["--port", "0"], &[]);
    served.close_stderr();
    let addr = served.addr();
    let many: Vec<TcpStream> = (0..100)
        .map_while(|_| TcpStream::connect(addr).ok())
        .collect();
    // It did run out: its 64 descriptors are all taken.
    served.wait_open_files(|n| n >= 63);
    let died = served.status_within(Duration::from_millis(500));
    drop(many);
    assert!(died.is_none(), "died out of file descriptors: {died:?}");
    let r = served.post(PATH, &[KEY], json!({ "curp": CURP })).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// Out of file descriptors (stderr open): the server backs off, says so once
// for the run of failed accepts (not every 20 ms), and serves the waiting connections once
// some close. A webhook attempt that cannot open its socket is a failed
// attempt in the deliveries list, and the next one, 15 sandbox minutes
// later, is delivered.
#[tokio::test]
async fn out_of_file_descriptors_the_server_recovers_and_a_webhook_attempt_fails_cleanly() {
    let hook = Hook::start().await;
    let mut served = frozen_under(64, &["--webhook-url", &hook.url]);
    // Opened before the descriptors run out: the way in for what follows.
    let mut conn = BufReader::new(tokio::net::TcpStream::connect(served.addr()).await.unwrap());
    let call = |method: &str, path: &str, extra: &str, body: String| {
        format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             {extra}content-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let created = call(
        "POST",
        "/api/AsyncVerication/RfcByCurp",
        "apikey: k\r\n",
        format!(r#"{{"curp":"{CURP}","state":15}}"#),
    );
    assert_eq!(exchange(&mut conn, &created).await.status(), 200);
    let many: Vec<TcpStream> = (0..100)
        .map_while(|_| TcpStream::connect(served.addr()).ok())
        .collect();
    let failed = served.stderr_line();
    assert!(failed.contains("accept failed"), "{failed}");
    let advance = |by: &str| format!(r#"{{"advance":"{by}"}}"#);
    let moved = call("POST", "/__admin/clock", "", advance("3s"));
    assert_eq!(exchange(&mut conn, &moved).await.status(), 200);
    let listing = call("GET", "/__admin/webhooks/deliveries", "", String::new());
    let deliveries = exchange(&mut conn, &listing).await.json();
    assert_eq!(deliveries.as_array().unwrap().len(), 1, "{deliveries}");
    let outcome = deliveries[0]["outcome"].as_str().unwrap();
    assert!(outcome.contains("Too many open files"), "{outcome}");
    drop(many);
    // The server has seen them close, and holds descriptors to spare.
    served.wait_open_files(|n| n < 32);
    let moved = call("POST", "/__admin/clock", "", advance("15m"));
    assert_eq!(exchange(&mut conn, &moved).await.status(), 200);
    let deliveries = exchange(&mut conn, &listing).await.json();
    assert_eq!(deliveries[1]["outcome"], "delivered", "{deliveries}");
    let r = served.post(PATH, &[KEY], json!({ "curp": CURP })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stderr = served.kill();
    assert!(
        !stderr.contains("accept failed"),
        "one line for the run: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// README, Command line: `check DIR` "exits 1 on error"; a file the sandbox
// would not read is refused, not skipped for the embedded one. A scenario
// file that is a symlink loop or a dangling link was skipped: `check` said
// ok and `serve` answered with the embedded file.
#[test]
fn check_refuses_a_scenario_file_it_cannot_read() {
    let dir = temp_dir("env-symlink");
    let _gone = RemovedOnDrop(dir.clone());
    std::os::unix::fs::symlink("curpv5.yaml", dir.join("curpv5.yaml")).unwrap();
    std::os::unix::fs::symlink("gone.yaml", dir.join("nss.yaml")).unwrap();
    for (file, why) in [
        ("curpv5.yaml", "symbolic links"),
        ("nss.yaml", "No such file"),
    ] {
        let (code, err) = check(&[dir.as_os_str()]);
        assert_eq!(code, Some(1));
        assert!(err.contains(file) && err.contains(why), "{err}");
        std::fs::remove_file(dir.join(file)).unwrap();
    }
}

// Only regular files are read: a device where a scenario file goes is
// refused at once, not read forever (/dev/zero never ends).
#[test]
fn check_refuses_a_device_for_a_scenario_file() {
    let dir = temp_dir("env-device");
    let _gone = RemovedOnDrop(dir.clone());
    std::os::unix::fs::symlink("/dev/zero", dir.join("nss.yaml")).unwrap();
    let (code, err) = check(&[dir.as_os_str()]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("nss.yaml") && err.contains("not a regular file"),
        "{err}"
    );
}

// A FIFO where a scenario file goes held a reload's read (and its worker,
// and the definitions' lock) until someone wrote to it, and SIGTERM then
// never ended the process. The reload is refused with the file named, the
// previous files answer on, and SIGTERM ends the process as ever.
#[tokio::test]
async fn a_reload_refuses_a_fifo_and_the_server_goes_on() {
    let dir = temp_dir("env-fifo");
    let _gone = RemovedOnDrop(dir.clone());
    let mut served = Served::start(&["--port", "0", "--scenarios", dir.to_str().unwrap()], &[]);
    let fifo = dir.join("curpv5.yaml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        served.admin_post("/__admin/reload", json!({})),
    )
    .await
    .expect("a reload meeting a FIFO answers");
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        msg.contains("curpv5.yaml") && msg.contains("not a regular file"),
        "{msg}"
    );
    let r = served.post(PATH, &[KEY], json!({ "curp": CURP })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    served.terminate();
    let status = served.status_within(Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

// README, Command line (`--shutdown-timeout`): a second SIGINT or SIGTERM
// during the wait for requests in flight ends the process at once, with
// status 1 and a line saying why.
#[tokio::test]
async fn a_second_signal_ends_the_shutdown_wait() {
    let mut served = Served::start(&["--port", "0", "--shutdown-timeout", "60s"], &[]);
    let _held = held(&served, "60s").await;
    served.terminate();
    // Taken once the server stops listening: the next signal, 300 ms
    // after that, is not one with it however late the server took it.
    assert!(served.stops_listening_within(Duration::from_secs(5)));
    assert!(
        served.status_within(Duration::from_millis(300)).is_none(),
        "the first signal waits for the request in flight"
    );
    served.signal("INT");
    let (status, stderr) = served.exited_within(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("second signal"), "{stderr}");
}

/// `serve --port 0 ARGS`, which must refuse to start: its stderr.
fn refused(args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["10", BIN, "serve", "--port", "0"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "serve {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// A `--fixtures` or `--scenarios` path that is there but is no folder is
// not called missing (nor "Not a directory (os error 20)").
#[test]
fn a_folder_path_that_is_a_file_is_said_to_be_no_folder() {
    for flag in ["--fixtures", "--scenarios"] {
        let err = refused(&[flag, "/dev/null"]);
        assert!(
            err.contains("/dev/null: cannot read folder: not a folder"),
            "{flag}: {err}"
        );
    }
}

// README, Command line and async: a webhook URL is at most 2,048 bytes
// wherever it is given, `--webhook-url` and the fixtures' `webhooks:` as
// the admin API (every attempt lists its URL).
#[test]
fn a_webhook_url_over_2048_bytes_is_refused_by_the_flag_and_the_fixtures() {
    let long = format!("http://127.0.0.1:9/{}", "h".repeat(2049 - 19));
    assert_eq!(long.len(), 2049);
    let err = refused(&["--webhook-url", &long]);
    assert!(
        err.contains("a webhook URL of 2049 bytes: at most 2048"),
        "{err}"
    );
    let dir = temp_dir("long-webhook");
    let _gone = RemovedOnDrop(dir.clone());
    let credentials = include_str!("../../fixtures/credentials.yaml").replace(
        "  webhooks: {}",
        &format!("  webhooks: {{sandbox-apikey: \"{long}\"}}"),
    );
    std::fs::write(dir.join("credentials.yaml"), credentials).unwrap();
    let err = refused(&["--fixtures", dir.to_str().unwrap()]);
    assert!(
        err.contains("credentials.yaml") && err.contains("a webhook URL of 2049 bytes"),
        "{err}"
    );
}

// A terminal's Ctrl-C and a supervisor's SIGTERM reach the process
// together: one request to stop, which waits for the request in flight.
#[tokio::test]
async fn two_signals_together_are_one_request_to_stop() {
    let mut served = Served::start(&["--port", "0", "--shutdown-timeout", "60s"], &[]);
    let _held = held(&served, "60s").await;
    served.signals_together(&["INT", "TERM"]);
    assert!(
        served.status_within(Duration::from_millis(300)).is_none(),
        "two signals together waited for nothing"
    );
}

// README, The people behind the CURPs: "The same CURP gives the same person
// on every provider and every run"; SPEC §7: the clock is "RFC 3339 in
// UTC-6". A server run with TZ elsewhere, a Turkish locale, HOME unset, its
// working folder deleted and stdin closed answers byte for byte as one run
// plainly.
#[tokio::test]
async fn answers_do_not_depend_on_the_process_environment() {
    let args = [
        "--port",
        "0",
        "--time-scale",
        "0",
        "--start-time",
        "2024-05-15T10:00:00-06:00",
        "--seed",
        "7",
    ];
    let plain = Served::start(&args, &[]);
    let gone = temp_dir("env-cwd");
    let pre = format!(
        "unset HOME; cd '{0}' && rmdir '{0}'; exec 0<&-",
        gone.display()
    );
    let odd = Served::start_under(
        &pre,
        &args,
        &[
            ("TZ", "Pacific/Kiritimati"),
            ("LANG", "tr_TR.UTF-8"),
            ("LC_ALL", "tr_TR.UTF-8"),
        ],
    );
    let _gone = RemovedOnDrop(gone);
    let headers = [
        ("apikey", "k"),
        ("x-api-key", "k"),
        ("authorization", "Bearer k"),
        ("content-type", "application/json"),
    ];
    let calls: [(&str, &str, Value); 4] = [
        ("POST", PATH, json!({ "curp": CURP })),
        (
            "POST",
            "/api/v1/imss/nss",
            json!({ "curp": "ABCD570805HYNHLC52" }),
        ),
        (
            "POST",
            "/curp/getData",
            json!({ "curp": "iiii660720hmcxtn06" }),
        ),
        ("GET", "/__admin/clock", Value::Null),
    ];
    for (method, path, body) in calls {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let a = plain.send(method, path, &headers, body.clone()).await;
        let b = odd.send(method, path, &headers, body).await;
        assert_eq!((a.status, a.text()), (b.status, b.text()), "{path}");
    }
    let now = plain.admin_get("/__admin/clock").await["now"].to_string();
    assert!(
        now.contains("2024-05-15T10:00:00") && now.contains("-06:00"),
        "{now}"
    );
}

const RFC_BY_CURP: &str = "/api/AsyncVerication/RfcByCurp";

/// Creates `n` RfcByCurp verifications of `apikey`.
async fn verifications(served: &Served, apikey: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let body = json!({"curp": CURP, "state": 15});
        ids.push(crate::async_verification::create(served, RFC_BY_CURP, apikey, body).await);
    }
    ids
}

/// Points `apikey`'s webhooks at `url`.
async fn target(served: &Served, apikey: &str, url: &str) {
    let r = served
        .send(
            "PUT",
            &format!("/__admin/webhooks/{apikey}"),
            &[("content-type", "application/json")],
            json!({ "url": url }).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// README, async: "a target that hangs holds up no request". A clock move
// made 80 attempts due at once, to a target that never answers, under 64
// file descriptors: every attempt took one and held it for the webhook
// timeout, and no client could connect meanwhile. Attempts in flight are
// a quarter of the descriptors (16 here); a client connects as ever.
#[tokio::test]
async fn webhook_attempts_in_flight_leave_descriptors_for_clients() {
    let hang = Hook::start().await;
    hang.always(Answer::Hang);
    let served = frozen_under(64, &["--webhook-url", &hang.url]);
    verifications(&served, "k", 80).await;
    let _move = served.send_in_background(
        "POST",
        "/__admin/clock",
        &[("content-type", "application/json")],
        r#"{"advance":"3s"}"#,
    );
    hang.arrived(16).await;
    let fresh = crate::common::Http::new(served.base.clone());
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        fresh.post(PATH, &[KEY], json!({ "curp": CURP })),
    )
    .await
    .expect("a client connects while the attempts hang (10 s)");
    assert_eq!(r.status, 200, "{}", r.text());
}

// README, async: a target that hangs holds up no delivery due at the same
// sandbox instant. Under 48 file descriptors, attempts to a target that
// answers, due with 40 to one that hangs, failed unsent ("Too many open
// files") and were retried 15 sandbox minutes later. They wait for a free
// place now, and are delivered at their first attempt.
#[tokio::test]
async fn attempts_beside_a_hanging_target_are_delivered_at_their_first_try() {
    let hang = Hook::start().await;
    hang.always(Answer::Hang);
    let good = Hook::start().await;
    let dir = temp_dir("bulk-webhooks");
    let _gone = RemovedOnDrop(dir.clone());
    let async_yaml = mxid_sandbox::providers::all()
        .into_iter()
        .find(|m| m.id() == "async")
        .unwrap()
        .yaml()
        .replace("webhook_timeout: 10s", "webhook_timeout: 300ms");
    std::fs::write(dir.join("async.yaml"), async_yaml).unwrap();
    let served = frozen_under(48, &["--scenarios", dir.to_str().unwrap()]);
    target(&served, "slow", &hang.url).await;
    target(&served, "good", &good.url).await;
    let mut answered = Vec::new();
    for _ in 0..10 {
        verifications(&served, "slow", 4).await;
        answered.extend(verifications(&served, "good", 1).await);
    }
    served.advance("3s").await;
    let deliveries = served.admin_get("/__admin/webhooks/deliveries").await;
    for id in &answered {
        let first = deliveries
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["verificationId"] == id.as_str() && d["attempt"] == 1)
            .unwrap_or_else(|| panic!("no first attempt of {id}: {deliveries}"));
        assert_eq!(first["outcome"], "delivered", "{first}");
    }
}

/// Whether the tests run as root (who may run the server as another user).
fn root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `mxid-sandbox ARGS` as `nobody` (setpriv), killed after 10 s: its exit
/// code and stderr, or `None` when it cannot be run so (not root, no
/// setpriv).
fn as_nobody(args: &[&std::ffi::OsStr]) -> Option<(Option<i32>, String)> {
    if !root() {
        return None;
    }
    let out = Command::new("timeout")
        .args([
            "10",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
        ])
        .args(args)
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (!stderr.contains("setpriv:")).then_some((out.status.code(), stderr))
}

// README, Command line: a folder `serve` or `check` cannot read is refused
// with the reason (`cannot read folder: Permission denied`), naming the
// folder: one that can be listed but not entered (mode 644) is not two
// spellings of a file it does not hold, and one that cannot be listed (000)
// is not a folder without YAML files, and one inside a folder that cannot
// be searched is not missing. (Needs root to drop to `nobody`; skipped
// otherwise.)
#[test]
fn a_folder_that_cannot_be_entered_or_listed_is_refused_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let base = temp_dir("unreadable");
    let _gone = RemovedOnDrop(base.clone());
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A folder inside one that cannot be searched cannot be looked at: it
    // is there, and the reason is the same.
    let closed = base.join("closed");
    std::fs::create_dir_all(closed.join("fixtures")).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let inside = closed.join("fixtures");
    for mode in [0o644, 0o000, 0o755] {
        let dir = if mode == 0o755 {
            inside.clone()
        } else {
            base.join(format!("fixtures-{mode:o}"))
        };
        if mode != 0o755 {
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("personas.yaml"), "[]\n").unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let d = dir.as_os_str();
        let serve = [
            "serve".as_ref(),
            "--port".as_ref(),
            "0".as_ref(),
            "--fixtures".as_ref(),
            d,
        ];
        for args in [&serve[..], &["check".as_ref(), d][..]] {
            let Some((code, stderr)) = as_nobody(args) else {
                eprintln!("skipped: not root, or no setpriv");
                return;
            };
            assert_eq!(code, Some(1), "{args:?}: {stderr}");
            let why = format!("{}: cannot read folder: Permission denied", dir.display());
            assert!(stderr.contains(&why), "{args:?}: {stderr}");
        }
    }
}

// README, Command line (`--max-connections`): a connection is a
// descriptor, and the server raises its soft limit on open files to the
// hard one at start, so that a soft limit of 64 (1,024 on many machines)
// does not refuse clients long before `--max-connections`.
#[tokio::test]
async fn the_soft_limit_on_open_files_is_raised_to_the_hard_one() {
    let hard = hard_open_files();
    let wanted = 300;
    if hard < wanted + 64 {
        eprintln!("the hard limit on open files is {hard}: nothing to raise it to");
        return;
    }
    let served = Served::start_under("ulimit -Sn 64", &["--port", "0"], &[]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", served.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let soft_hard: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(soft_hard[0], soft_hard[1], "{line}");
    // Past 64, every connection is taken and answered.
    let addr = served.addr();
    let many: Vec<TcpStream> = (0..wanted)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    served.wait_open_files(|n| n >= wanted);
    let r = served.post(PATH, &[KEY], json!({ "curp": CURP })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    drop(many);
}

/// This process's hard limit on open files (what a child may raise its
/// soft one to).
fn hard_open_files() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .map_or(0, |hard| hard.parse().unwrap_or(usize::MAX))
}

// README, Robustness, The operating system: a small `RUST_MIN_STACK` in
// the environment sizes no thread of the server's (it sized tokio's
// workers: at 16 KB the first request overflowed one, and at 64 KB a JSON
// body nested as deep as serde_json reads aborted the server).
#[tokio::test]
async fn a_small_rust_min_stack_in_the_environment_crashes_nothing() {
    let served = Served::start(
        &["--port", "0", "--log-requests"],
        &[("RUST_MIN_STACK", "16384")],
    );
    let depth = 100_000;
    let deep = format!("{{\"curp\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let json = [KEY, ("content-type", "application/json")];
    let r = served.send("POST", PATH, &json, deep).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = served.post(PATH, &[KEY], json!({ "curp": CURP })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    served.terminate();
    let (status, log) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}: {log}");
    assert_eq!(log.lines().count(), 2, "{log}");
}

/// `serve --time-scale 0` run as user `uid` (setpriv), a user of its own:
/// its limit on processes (prlimit), the threads it starts with, counted on
/// a first run without a limit, is the user's, every process of it counted
/// (so one test a user). `env` its environment's. `None` (skipped) when not
/// root, or without setpriv or prlimit.
async fn with_no_thread_to_spare(uid: u32, env: &[(&str, &str)]) -> Option<Served> {
    let tools = ["setpriv", "prlimit"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !root() || !tools {
        eprintln!("skipped: not root, or no setpriv or prlimit");
        return None;
    }
    let args = ["--port", "0", "--time-scale", "0"];
    let nobody = format!("exec setpriv --reuid={uid} --regid={uid} --clear-groups");
    let first = Served::start_under(&format!(r#"{nobody} "$0" "$@""#), &args, env);
    let threads = first.memory_kb("Threads");
    first.terminate();
    let (status, _) = first.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    let pre = format!(r#"{nobody} prlimit --nproc={threads} "$0" "$@""#);
    let served = Served::start_under(&pre, &args, env);
    assert_eq!(served.memory_kb("Threads"), threads);
    Some(served)
}

/// `n` NssByCurp verifications of an apikey whose webhook goes to a host
/// name (`localhost`, looked up on a thread of the resolver's own).
async fn verifications_calling_back(served: &Served, n: usize) {
    let put = served
        .send(
            "PUT",
            "/__admin/webhooks/customer-key",
            &[("content-type", "application/json")],
            r#"{"url": "http://localhost:9/hook"}"#,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    for _ in 0..n {
        let made = served
            .post(
                "/api/AsyncVerication/NssByCurp",
                &[("apikey", "customer-key")],
                json!({ "curp": CURP }),
            )
            .await;
        assert_eq!(made.status, 200, "{}", made.text());
    }
}

/// The webhook attempts made, each of which failed.
async fn failed_attempts(served: &Served) -> usize {
    let deliveries = served.admin_get("/__admin/webhooks/deliveries").await;
    let outcomes = deliveries.as_array().unwrap();
    for d in outcomes {
        let outcome = d["outcome"].as_str().unwrap();
        assert!(outcome.starts_with("the attempt failed: "), "{deliveries}");
    }
    outcomes.len()
}

// README, Robustness, The operating system: where no thread can start (a
// container's limit on processes), a webhook attempt to a host name is a
// failed attempt, retried (the resolver's thread panicked, and the attempt
// stayed `sending` for ever), and a reload is refused with the reason (it
// panicked, and the admin client got no answer). Run as a user of its own
// whose limit is set, once the server has started, to the threads it has.
// (Needs root; skipped otherwise.)
#[tokio::test]
async fn with_no_thread_to_spare_a_webhook_attempt_fails_and_a_reload_is_refused() {
    let Some(served) = with_no_thread_to_spare(65533, &[("RUST_BACKTRACE", "0")]).await else {
        return;
    };
    verifications_calling_back(&served, 1).await;
    served.advance("2s").await;
    served.advance("15m").await;
    assert_eq!(failed_attempts(&served).await, 2);
    let reload = served.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(reload.status, 400, "{}", reload.text());
    assert!(
        reload
            .text()
            .contains("reload: cannot start a thread to read the files: "),
        "{}",
        reload.text()
    );
    served.terminate();
    let (status, _) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
}

// README, Robustness, What it writes: a panic is said on stderr through
// stderr's thread, as every other line is, so a pipe nobody empties holds
// that thread and not a worker. Forty webhook attempts panic (no thread for
// the resolver, as above), each with a backtrace (`RUST_BACKTRACE=1`),
// more than a pipe holds; the test reads nothing of stderr until the exit.
// The default hook wrote from the worker that panicked: the pipe full,
// that worker blocked for good, and the server with it.
#[tokio::test]
async fn a_panic_on_a_stderr_nobody_reads_holds_no_worker() {
    let Some(served) = with_no_thread_to_spare(65532, &[("RUST_BACKTRACE", "1")]).await else {
        return;
    };
    verifications_calling_back(&served, 40).await;
    served.advance("2s").await;
    for _ in 0..2 {
        assert_eq!(failed_attempts(&served).await, 40);
        let r = served.post(PATH, &[KEY], json!({ "curp": CURP })).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    served.terminate();
    let (status, log) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    let said = log
        .lines()
        .filter(|l| l.starts_with("mxid-sandbox: thread 'tokio-rt-worker' panicked at "))
        .count();
    assert_eq!(said, 40, "{log}");
    assert!(log.contains("stack backtrace:"), "{log}");
}

//! Where the server binds and how addresses appear: `--host` and `--port`
//! forms, the ready line, the public-address warning, bind failures, and
//! requests reaching it over IPv6 and IPv4-mapped addresses (Host header
//! forms, the journal, the connection cap, the header timeout, webhooks).
//! All through the real binary (`Served`).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Served;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mxid-sandbox");
const CURP: &str = "PXNE660720HMCXTN06";

/// `serve ARGS` run to its end (killed after 5 s by `timeout`): exit code,
/// stdout, stderr. For the invocations that must not start.
fn refused(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new("timeout");
    cmd.args(["5", BIN, "serve"]).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MXID_")) {
        cmd.env_remove(k);
    }
    let out = cmd
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sends `bytes` to `addr` and reads until the server closes (5 s at most).
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON body of a raw answer.
fn body_json(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// A bycurp POST over HTTP/1.1 with `host` as its Host line (none when
/// `None`), closing the connection.
fn bycurp_with_host(addr: SocketAddr, version: &str, host: Option<&str>) -> String {
    let body = format!(r#"{{"curp":"{CURP}"}}"#);
    let host_line = host.map_or(String::new(), |h| format!("Host: {h}\r\n"));
    raw(
        addr,
        format!(
            "POST /api/curp/bycurp {version}\r\n{host_line}apikey: k\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

/// The journal (`GET /__admin/requests`), read over `addr`.
fn journal(addr: SocketAddr) -> Vec<Value> {
    let answer = raw(
        addr,
        b"GET /__admin/requests HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    body_json(&answer).as_array().unwrap().clone()
}

/// Whether the server at `ours` is not reachable at `other`, another
/// address with its port. Another test's server may have been given the
/// same port on `other`'s address, so a connection there is not proof: a
/// request sent through it, with a path of its own, must not reach our
/// journal.
fn not_served_at(ours: SocketAddr, other: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&other, Duration::from_secs(2)) else {
        return true;
    };
    let marked = format!("/not-ours-{}", std::process::id());
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(
        format!("GET {marked} HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n").as_bytes(),
    );
    // Read to the end: whoever took it has answered, or closed.
    let _ = s.read_to_end(&mut Vec::new());
    journal(ours).iter().all(|e| e["path"] != marked.as_str())
}

/// A port free a moment ago, below the range the kernel gives to port 0
/// (Linux's `ip_local_port_range`): every other test's server binds port
/// 0, so none of them can be given it before the test binds it.
fn free_port() -> u16 {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let given_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let from = 10_000.min(given_from / 2);
    let span = given_from - from;
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let start = (std::process::id() + call * 97) % span;
    (0..span)
        .map(|i| u16::try_from(from + (start + i) % span).unwrap())
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below the kernel's range")
}

/// An address of this machine that is not the loopback, of the family of
/// `peer`, if it has one (the source address a datagram socket picks to
/// reach `peer`; nothing is sent).
fn non_loopback(peer: SocketAddr) -> Option<IpAddr> {
    let any = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(peer).ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// An IPv4 address of this machine that is not the loopback, if it has one.
fn non_loopback_v4() -> Option<std::net::Ipv4Addr> {
    match non_loopback(SocketAddr::from(([192, 0, 2, 200], 9)))? {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(_) => None,
    }
}

/// What `served` (started with `--log-requests`) wrote to stderr up to the
/// log line of a bycurp request sent now through `addr`: a warning written
/// at start comes before it, however stderr is buffered, and none is lost
/// to a kill.
fn stderr_up_to_a_request(served: &mut Served, addr: SocketAddr) -> String {
    let answer = bycurp_with_host(addr, "HTTP/1.1", Some("x"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{addr}: {answer}");
    let mut seen = String::new();
    loop {
        let line = served.stderr_line();
        seen.push_str(&line);
        if line.contains("/api/curp/bycurp") {
            return seen;
        }
    }
}

const WARNING: &str = "/__admin has no --admin-token";

// ===================================================================
// IPv6 forms of the loopback, and an IPv6 address in messages
// ===================================================================

// The issue behind the warning: "binding to 127.0.0.1 by default with a
// warning when bound to a public address without a token"; README,
// Robustness: "the default bind is 127.0.0.1, and binding to another
// address without a token prints a warning". The warning itself says the
// server is "reachable from other machines". `::ffff:127.0.0.1` is the
// IPv4 loopback written as an IPv6 address: a socket bound to it takes
// only 127.0.0.1's connections (checked below), and no warning says it is
// reachable from other machines (`Ipv6Addr::is_loopback` alone is false
// for a v4-mapped address).
#[test]
fn a_v4_mapped_loopback_host_is_not_called_reachable_from_other_machines() {
    let mut served = Served::start(
        &[
            "--host",
            "::ffff:127.0.0.1",
            "--port",
            "0",
            "--log-requests",
        ],
        &[],
    );
    let port = served.addr().port();
    // It is the loopback: served through 127.0.0.1 ...
    let stderr = stderr_up_to_a_request(&mut served, SocketAddr::from(([127, 0, 0, 1], port)));
    // ... and through no other address of the machine.
    if let Some(other) = non_loopback_v4() {
        let ours = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            not_served_at(ours, SocketAddr::from((other, port))),
            "reachable at {other}"
        );
    }
    assert!(
        !stderr.contains(WARNING),
        "a loopback bind warned of other machines: {stderr}"
    );
}

// The ready line and the warning write an IPv6 address bracketed
// (`http://[::]:P`, `bound to [::]:P`), as RFC 3986 writes a host and port;
// so does the bind failure: `cannot bind ::1:8080` would read as host
// `::1:8080`.
#[test]
fn a_bind_failure_on_an_ipv6_address_brackets_it() {
    let busy = TcpListener::bind("[::1]:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (code, stdout, stderr) = refused(&["--host", "::1", "--port", &port], &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");
    assert!(
        stderr.contains(&format!("[::1]:{port}")),
        "the address and port run together: {stderr}"
    );
}

// The sandbox writes its own IPv6 address bracketed (ready line
// `http://[::1]:P`, warning `bound to [::1]:P`); a developer who hands that
// form back (`--host [::1]`, as in a URL, or as nginx's `listen [::1]:80`
// takes it) binds that address: the brackets are not sent to DNS.
#[test]
fn a_bracketed_ipv6_host_binds_that_address() {
    let served = Served::start(&["--host", "[::1]", "--port", "0"], &[]);
    let addr = served.addr();
    assert!(
        served
            .ready
            .starts_with("mxid-sandbox listening on http://[::1]:"),
        "{}",
        served.ready
    );
    let answer = bycurp_with_host(addr, "HTTP/1.1", Some("x"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

// README, --host: "an IPv6 one as `::1` or, as the ready line writes it,
// `[::1]`": brackets hold an IPv6 address only. `[127.0.0.1]` or
// `[localhost]` is no host: exit 1, and nothing is bound.
#[test]
fn brackets_around_what_is_not_an_ipv6_address_bind_nothing() {
    for host in ["[127.0.0.1]", "[localhost]"] {
        let (code, stdout, stderr) = refused(&["--host", host, "--port", "0"], &[]);
        assert_eq!(code, Some(1), "--host {host}: {stdout}{stderr}");
        assert!(!stdout.contains("listening"), "--host {host}: {stdout}");
    }
}

// ===================================================================
// Hosts, ports and requests over IPv6
// ===================================================================

// README: "The server prints one line when it is ready: `mxid-sandbox
// listening on http://127.0.0.1:8080`"; SPEC §8: "containing `listening on
// http://HOST:PORT`". An IPv6 loopback bind names its address bracketed, as
// a URL must, serves there, warns of nothing, and the request's Host is
// journaled as the client sent it.
#[test]
fn ipv6_loopback_ready_line_is_a_bracketed_url_without_a_warning() {
    let mut served = Served::start(&["--host", "::1", "--port", "0", "--log-requests"], &[]);
    let addr = served.addr();
    assert!(
        served.ready.starts_with(&format!(
            "mxid-sandbox listening on http://[::1]:{}",
            addr.port()
        )),
        "{}",
        served.ready
    );
    let host = format!("[::1]:{}", addr.port());
    let answer = bycurp_with_host(addr, "HTTP/1.1", Some(&host));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let entries = journal(addr);
    assert_eq!(entries[0]["headers"]["host"], host.as_str(), "{entries:?}");
    // Not reachable through IPv4.
    assert!(not_served_at(
        addr,
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    ));
    let stderr = stderr_up_to_a_request(&mut served, addr);
    assert!(!stderr.contains("warning"), "{stderr}");
}

// The default and its spellings are loopback: no warning, and the ready
// line names the numeric address the name resolved to.
#[test]
fn loopback_spellings_warn_of_nothing() {
    for (host, shown) in [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
        ("127.1", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("0:0:0:0:0:0:0:1", "[::1]"),
    ] {
        let mut served = Served::start(&["--host", host, "--port", "0", "--log-requests"], &[]);
        assert!(
            served
                .ready
                .starts_with(&format!("mxid-sandbox listening on http://{shown}:")),
            "{host}: {}",
            served.ready
        );
        let addr = served.addr();
        let stderr = stderr_up_to_a_request(&mut served, addr);
        assert!(!stderr.contains("warning"), "{host}: {stderr}");
    }
}

// The warning: every wildcard spelling, IPv4 and IPv6, without a token;
// none with one (flag or environment). `::` is dual-stack: reached over
// IPv4 (a v4-mapped peer) and over IPv6.
#[test]
fn wildcard_binds_warn_without_a_token_and_serve_both_families() {
    for host in ["0.0.0.0", "0", "::"] {
        let mut served = Served::start(&["--host", host, "--port", "0", "--log-requests"], &[]);
        let port = served.addr().port();
        if host == "::" {
            assert!(
                served
                    .ready
                    .starts_with(&format!("mxid-sandbox listening on http://[::]:{port}")),
                "{}",
                served.ready
            );
            for addr in [
                SocketAddr::from(([127, 0, 0, 1], port)),
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
            ] {
                let answer = bycurp_with_host(addr, "HTTP/1.1", Some("x"));
                assert!(answer.starts_with("HTTP/1.1 200"), "{addr}: {answer}");
            }
        }
        let stderr = stderr_up_to_a_request(&mut served, SocketAddr::from(([127, 0, 0, 1], port)));
        let shown = if host == "::" {
            format!("bound to [::]:{port}")
        } else {
            format!("bound to 0.0.0.0:{port}")
        };
        assert!(
            stderr.contains(&shown) && stderr.contains(WARNING),
            "{host}: {stderr}"
        );
    }
    let mut served = Served::start(
        &[
            "--host",
            "::",
            "--port",
            "0",
            "--admin-token",
            "t",
            "--log-requests",
        ],
        &[],
    );
    let v4 = SocketAddr::from(([127, 0, 0, 1], served.addr().port()));
    let stderr = stderr_up_to_a_request(&mut served, v4);
    assert!(!stderr.contains("warning"), "{stderr}");
    let mut served = Served::start(
        &["--port", "0"],
        &[
            ("MXID_HOST", "::"),
            ("MXID_ADMIN_TOKEN", "t"),
            ("MXID_LOG_REQUESTS", "1"),
        ],
    );
    assert!(served.ready.contains("http://[::]:"), "{}", served.ready);
    let v4 = SocketAddr::from(([127, 0, 0, 1], served.addr().port()));
    let stderr = stderr_up_to_a_request(&mut served, v4);
    assert!(!stderr.contains("warning"), "{stderr}");
}

// README, --host: "any other than a loopback one (`::ffff:127.0.0.1` is
// one) without `--admin-token` prints a warning". Beside the wildcards,
// each of this machine's own addresses: IPv4, IPv4 written as IPv6, and
// IPv6, written plain and, as the ready line writes it, bracketed: warned
// of without a token and not with one. (A machine with none has nothing
// to check.)
#[test]
fn a_specific_non_loopback_address_warns_without_a_token_and_not_with_one() {
    let mut hosts: Vec<String> = Vec::new();
    let v6_peer = SocketAddr::from(("2001:db8::200".parse::<IpAddr>().unwrap(), 9));
    for ip in [non_loopback_v4().map(IpAddr::V4), non_loopback(v6_peer)]
        .into_iter()
        .flatten()
    {
        hosts.push(ip.to_string());
        match ip {
            IpAddr::V4(v4) => hosts.push(v4.to_ipv6_mapped().to_string()),
            IpAddr::V6(_) => hosts.push(format!("[{ip}]")),
        }
    }
    for host in &hosts {
        for token in [&[][..], &["--admin-token", "t"]] {
            let mut args = vec!["--host", host, "--port", "0", "--log-requests"];
            args.extend_from_slice(token);
            let mut served = Served::start(&args, &[]);
            let addr = served.addr();
            let stderr = stderr_up_to_a_request(&mut served, addr);
            assert_eq!(
                stderr.contains(WARNING),
                token.is_empty(),
                "{host} {token:?}: {stderr}"
            );
        }
    }
}

// README: "An empty `MXID_` variable is the same as an unset one";
// `--host` wins over `MXID_HOST`.
#[test]
fn mxid_host_empty_is_the_default_and_the_flag_wins() {
    let served = Served::start(&["--port", "0"], &[("MXID_HOST", "")]);
    assert!(
        served.ready.contains("http://127.0.0.1:"),
        "{}",
        served.ready
    );
    drop(served);
    let mut served = Served::start(
        &["--host", "::1", "--port", "0", "--log-requests"],
        &[("MXID_HOST", "0.0.0.0")],
    );
    assert!(served.ready.contains("http://[::1]:"), "{}", served.ready);
    let addr = served.addr();
    let stderr = stderr_up_to_a_request(&mut served, addr);
    assert!(!stderr.contains("warning"), "{stderr}");
    let served = Served::start(&["--port", "0"], &[("MXID_HOST", "::1")]);
    assert!(served.ready.contains("http://[::1]:"), "{}", served.ready);
}

// A host it cannot bind is a clear message and exit 1, never a panic
// (101) or a ready line: a name that does not resolve, an address no
// interface has; an empty one is named as `--host`'s value.
#[test]
fn an_unbindable_host_exits_1_with_the_reason() {
    for (host, why) in [
        ("no-such-host.invalid", "failed to lookup address"),
        ("203.0.113.7", "Cannot assign requested address"),
        ("2001:db8::7", "Cannot assign requested address"),
    ] {
        let (code, stdout, stderr) = refused(&["--host", host, "--port", "0"], &[]);
        assert_eq!(code, Some(1), "{host:?}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{host:?}: {stdout}");
        assert!(
            stderr.contains("cannot bind") && stderr.contains(why),
            "{host:?}: {stderr}"
        );
    }
    for host in ["", " "] {
        let (code, stdout, stderr) = refused(&["--host", host, "--port", "0"], &[]);
        assert_eq!((code, stdout.as_str()), (Some(1), ""), "{host:?}");
        assert!(
            stderr.contains("mxid-sandbox: --host: empty: name an address to bind"),
            "{host:?}: {stderr}"
        );
    }
}

// `--port` edges: 65535 binds; out of range and negative are usage errors
// (exit 2) naming the range; a leading zero or a plus sign is the number.
#[test]
fn port_edges() {
    let served = Served::start(&["--port", "65535"], &[]);
    assert!(served.ready.ends_with(":65535\n"), "{:?}", served.ready);
    drop(served);
    // A negative number is the flag's value, written either way: not an
    // "unexpected argument" of its own.
    for args in [&["--port=65536"][..], &["--port=-1"], &["--port", "-1"]] {
        let (code, _, stderr) = refused(args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("0..=65535"), "{args:?}: {stderr}");
    }
    let (code, _, stderr) = refused(&["--time-scale", "-1"], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--time-scale: must be a number from 0 to 1000000"),
        "{stderr}"
    );
    let (code, _, stderr) = refused(&[], &[("MXID_PORT", "65536")]);
    assert_eq!(code, Some(2), "{stderr}");
    let port = free_port();
    let served = Served::start(&["--port", &format!("0{port}")], &[]);
    assert!(
        served.ready.ends_with(&format!("127.0.0.1:{port}\n")),
        "{:?}",
        served.ready
    );
    drop(served);
    let port = free_port();
    let served = Served::start(&["--port", &format!("+{port}")], &[]);
    assert!(
        served.ready.ends_with(&format!("127.0.0.1:{port}\n")),
        "{:?}",
        served.ready
    );
}

// A port already in use: exit 1 with the OS's reason, no ready line, no
// panic; for a second sandbox on the same port too, and for a wildcard
// bind over a loopback listener and the reverse.
#[test]
fn a_port_in_use_is_exit_1_with_a_clear_message() {
    let first = Served::start(&["--port", "0"], &[]);
    let port = first.addr().port().to_string();
    for host in ["127.0.0.1", "0.0.0.0", "::"] {
        let (code, stdout, stderr) = refused(&["--host", host, "--port", &port], &[]);
        assert_eq!(code, Some(1), "{host}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{host}: {stdout}");
        assert!(
            stderr.contains(&format!("cannot bind {}", written(host, &port)))
                && stderr.contains("Address already in use"),
            "{host}: {stderr}"
        );
    }
    drop(first);
    let wild = Served::start(&["--host", "::", "--port", "0", "--admin-token", "t"], &[]);
    let port = wild.addr().port().to_string();
    let (code, _, stderr) = refused(&["--port", &port], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Address already in use"), "{stderr}");
}

// A privileged port as an ordinary user: "Permission denied", exit 1.
// (Needs root to drop to `nobody` with setpriv; skipped otherwise.)
#[test]
fn a_privileged_port_as_non_root_is_permission_denied() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let unprivileged_from =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok())
            .unwrap_or(1024);
    if !root || unprivileged_from <= 80 {
        eprintln!("skipped: not root, or port 80 is not privileged here");
        return;
    }
    let Ok(out) = Command::new("timeout")
        .args([
            "5",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args([BIN, "serve", "--port", "80"])
        .stdin(Stdio::null())
        .output()
    else {
        eprintln!("skipped: no setpriv");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("setpriv:") {
        eprintln!("skipped: {stderr}");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot bind 127.0.0.1:80") && stderr.contains("Permission denied"),
        "{stderr}"
    );
}

// Host header forms over IPv6 (and none at all over HTTP/1.0): every one
// is answered as ever, and the journal keeps it as sent. No answer of the
// sandbox is built from the Host (there is no absolute URL in one).
#[test]
fn host_header_forms_over_ipv6_are_answered_and_journaled_as_sent() {
    let served = Served::start(&["--host", "::", "--port", "0", "--admin-token", "t"], &[]);
    let port = served.addr().port();
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    let forms = [
        format!("[::1]:{port}"),
        "[::1]".to_string(),
        format!("LOCALHOST:{port}"),
        format!("localhost.:{port}"),
        format!("[::ffff:127.0.0.1]:{port}"),
    ];
    for host in &forms {
        let answer = bycurp_with_host(v6, "HTTP/1.1", Some(host));
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
        assert!(!answer.contains(host.as_str()), "{host}: {answer}");
    }
    let answer = bycurp_with_host(v6, "HTTP/1.0", None);
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let listing = raw(
        v6,
        b"GET /__admin/requests HTTP/1.1\r\nHost: [::1]\r\nauthorization: Bearer t\r\nconnection: close\r\n\r\n",
    );
    let entries = body_json(&listing);
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), forms.len() + 1, "{entries:?}");
    for (entry, host) in entries.iter().zip(&forms) {
        assert_eq!(entry["headers"]["host"], host.as_str(), "{entry}");
    }
    assert!(entries[forms.len()]["headers"].get("host").is_none());
}

// README: "--max-connections N ... more get a 503 and are closed", over
// IPv6 as over IPv4.
#[test]
fn the_connection_cap_refuses_over_ipv6() {
    let served = Served::start(
        &["--host", "::1", "--port", "0", "--max-connections", "1"],
        &[],
    );
    let addr = served.addr();
    // Holds the only slot: accepted (first: the accept queue is in order),
    // waiting for its request.
    let holder = TcpStream::connect(addr).unwrap();
    let answer = bycurp_with_host(addr, "HTTP/1.1", Some("[::1]"));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
    drop(holder);
    // The slot frees once the holder leaves.
    let started = Instant::now();
    loop {
        let answer = bycurp_with_host(addr, "HTTP/1.1", Some("[::1]"));
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{answer}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// README: "--header-timeout D: time a client has to send its request
// headers", over IPv6: a connection that sends nothing, or half a head, is
// closed without an answer.
#[test]
fn the_header_timeout_cuts_a_silent_ipv6_client() {
    let served = Served::start(
        &["--host", "::1", "--port", "0", "--header-timeout", "300ms"],
        &[],
    );
    let addr = served.addr();
    for sent in [
        &b""[..],
        b"POST /api/curp/bycurp HTTP/1.1\r\nHost: [::1]\r\n",
    ] {
        // Before the connection: the server's wait starts once it has
        // accepted it.
        let started = Instant::now();
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(sent).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "closed after {took:?}"
        );
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    }
}

// A webhook target at an IPv6 literal: accepted, delivered, listed with its
// URL as given, and called with a bracketed Host.
#[tokio::test]
async fn a_webhook_to_an_ipv6_literal_is_delivered_with_a_bracketed_host() {
    let target = TcpListener::bind("[::1]:0").unwrap();
    let port = target.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut c, _) = target.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") && c.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let body = br#"{"completed": true}"#;
        let _ = c.write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        let _ = c.write_all(body);
        let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
    });
    let url = format!("http://[::1]:{port}/hook");
    let served = Served::start(
        &[
            "--host",
            "::1",
            "--port",
            "0",
            "--time-scale",
            "0",
            "--webhook-url",
            &url,
        ],
        &[],
    );
    let r = served
        .post(
            "/api/AsyncVerication/RfcByCurp",
            &[("apikey", "k")],
            serde_json::json!({"curp": CURP, "state": 15}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    served.advance("5s").await;
    let head = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the target was called");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("host: [::1]:{port}\r\n")),
        "{head}"
    );
    let deliveries = served.admin_get("/__admin/webhooks/deliveries").await;
    assert_eq!(deliveries[0]["url"], url.as_str(), "{deliveries}");
    assert_eq!(deliveries[0]["outcome"], "delivered", "{deliveries}");
}

// A CI job that restarts the sandbox on its fixed port right after it
// served (the server closed `connection: close` requests first, so their
// sockets wait in TIME_WAIT on its side) binds again at once, over IPv4
// and IPv6 (SO_REUSEADDR).
#[test]
fn a_restart_on_the_same_port_binds_at_once_after_serving() {
    for host in ["127.0.0.1", "::1"] {
        let first = Served::start(&["--host", host, "--port", "0"], &[]);
        let addr = first.addr();
        for _ in 0..3 {
            let answer = bycurp_with_host(addr, "HTTP/1.1", Some("x"));
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        first.terminate();
        let mut first = first;
        assert!(first.status_within(Duration::from_secs(5)).is_some());
        let port = addr.port().to_string();
        let again = Served::start(&["--host", host, "--port", &port], &[]);
        let answer = bycurp_with_host(again.addr(), "HTTP/1.1", Some("x"));
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
}

// The ready line's URL is where a client reaches the server, for a
// wildcard bind too (`http://[::]:P`, `http://0.0.0.0:P`, which Linux
// connects to the loopback): what a CI job that reads it does.
#[tokio::test]
async fn the_ready_line_url_of_a_wildcard_bind_is_reachable_here() {
    for host in ["::", "0.0.0.0"] {
        let served = Served::start(&["--host", host, "--port", "0", "--admin-token", "t"], &[]);
        let r = served
            .get("/__admin/clock", &[("authorization", "Bearer t")])
            .await;
        assert_eq!(r.status, 200, "{}: {}", served.ready, r.text());
    }
}

/// `host:port` as the refusal writes it: an IPv6 address in brackets.
fn written(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

// README, --host: "an IPv6 one as `::1` or, as the ready line writes it,
// `[::1]`". A bind failure names the address bracketed.
#[test]
fn bind_error_brackets_an_ipv6_address() {
    let l = std::net::TcpListener::bind("[::1]:0");
    let Ok(l) = l else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let port = l.local_addr().unwrap().port().to_string();
    let out = crate::engine::run(&["serve", "--host", "[::1]", "--port", &port]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot bind [::1]:{port}")), "{err}");
}

// README, Command line (stderr): "of a value, at most 256 bytes": a host
// that cannot be bound (a 1,000-byte name from a templated MXID_HOST) is
// named by its first 256 bytes, exit 1.
#[test]
fn a_long_host_that_cannot_be_bound_is_cut_in_its_refusal() {
    let host = "a".repeat(1000);
    let (code, stdout, stderr) = refused(&["--host", &host, "--port", "0"], &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("cannot bind aaa"), "{stderr}");
    assert!(stderr.contains("… (1002 bytes)"), "{stderr}");
    assert!(stderr.len() < 600, "{stderr}");
}

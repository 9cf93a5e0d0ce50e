//! The server on a real socket: any bytes a client may write, HTTP/1.1 (one
//! request, pipelined ones, broken framing, `Expect: 100-continue`, bodies
//! over the limit) or HTTP/2 by prior knowledge (its preface, then any
//! frames), to the sandbox served in this process on 127.0.0.1, port 0.
//!
//! Besides "never panics" (a panic in any of the server's tasks aborts the
//! run), after every input:
//! - an answer to bytes that are not HTTP/2's preface is HTTP/1.1's (or
//!   1.0's, to an HTTP/1.0 request);
//! - the server still answers: `POST /__admin/reset` on a new connection
//!   is a 200 within 5 seconds (a connection the input left, or its
//!   requests, may hold nothing the next client needs). The reset also
//!   puts the `default` namespace back as it started (its overrides, its
//!   clock), so that what an input finds depends less on the inputs
//!   before it.
//!
//! `SERVER_DEBUG=1` prints each answer.
//!
//! Input: the bytes, written at once, then the connection's write side
//! shut. The answer is read until the server closes the connection, is
//! quiet for 50 ms after writing something, or 300 ms have passed; then the
//! connection is dropped.
#![no_main]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mxid_sandbox::config::Config;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const QUIET: Duration = Duration::from_millis(50);
const WAIT: Duration = Duration::from_millis(300);
const ALIVE_WITHIN: Duration = Duration::from_secs(5);

/// The served sandbox's address: a server on its own runtime and thread,
/// alive for the whole run.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        // Rust's own `main` ignores SIGPIPE before any code runs, so the
        // sandbox's binary never dies of a write to a connection its client
        // closed; libFuzzer's `main` is C's and does not.
        // SAFETY: SIG_IGN installs no handler; nothing in this process
        // counts on SIGPIPE's default.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a port");
                tx.send(listener.local_addr().expect("its address"))
                    .expect("the fuzzer waits for it");
                let config = Config {
                    // A connection the input leaves half-written is cut
                    // soon, so that they do not pile up to the cap.
                    header_timeout: Duration::from_secs(1),
                    body_limit: 4096,
                    ..Config::default()
                };
                mxid_sandbox::serve(listener, config, std::future::pending())
                    .await
                    .expect("the server runs");
            });
        });
        rx.recv().expect("the server's address")
    })
}

/// Writes `bytes` on a new connection and reads what comes back, as the
/// module's doc says.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    let _ = stream.set_nodelay(true);
    if stream.write_all(bytes).is_err() {
        return Vec::new();
    }
    // The client has said all it will: the server ends the connection
    // once it has answered what it read (a request it holds, a latency or
    // a `hang`, ends with the client that left).
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = WAIT.saturating_sub(start.elapsed());
        let wait = if got.is_empty() {
            left
        } else {
            left.min(QUIET)
        };
        if wait.is_zero() {
            break;
        }
        let _ = stream.set_read_timeout(Some(wait));
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// The server answers a new client's reset of `default`.
fn alive(addr: SocketAddr) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("the server still accepts");
    let _ = stream.set_read_timeout(Some(ALIVE_WITHIN));
    stream
        .write_all(
            b"POST /__admin/reset HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .expect("the reset is written");
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    assert!(
        got.starts_with(b"HTTP/1.1 200 "),
        "the server no longer answers a reset ({:?} after {:?}): {:?}",
        String::from_utf8_lossy(&got),
        start.elapsed(),
        got.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let addr = server();
    let answer = exchange(addr, data);
    if std::env::var_os("SERVER_DEBUG").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&answer));
    }
    if !data.starts_with(PREFACE) && !answer.is_empty() {
        assert!(
            answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
            "an answer that is not HTTP/1's: {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        );
    }
    alive(addr);
});

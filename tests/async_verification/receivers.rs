//! Webhook deliveries when the receiver misbehaves, and the webhook URL's
//! forms. Every receiver here is a raw tokio TcpListener, so the test
//! controls each byte. Sandbox time moves only through `POST
//! /__admin/clock`; the only real waits are bounded polls for real network
//! I/O.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{self, config, Sandbox};
use mxid_sandbox::Source;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RFC: &str = "/api/AsyncVerication/RfcByCurp";
const STATUS: &str = "/api/AsyncVerication/verificationStatus";
const EPN: &str = "PXNE660720HMCXTN06";
const COMPLETED: &str = r#"{"completed": true}"#;

// ---- the raw receiver ---------------------------------------------------------

/// One request as the receiver read it off the wire.
#[derive(Debug, Clone)]
struct Got {
    /// The request line.
    line: String,
    /// Header lines, as sent (name: value).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn headers_named(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .count()
    }
}

#[derive(Default)]
struct Log {
    got: Mutex<Vec<Got>>,
    /// Connections accepted.
    accepted: AtomicUsize,
    /// Connections the sandbox closed (the receiver read EOF or an error).
    peer_closed: AtomicUsize,
}

/// A raw TCP receiver: `handler` gets every accepted connection.
struct Rx {
    port: u16,
    /// `http://127.0.0.1:PORT/hook` (or the bound address).
    url: String,
    log: Arc<Log>,
}

impl Rx {
    async fn start<F, Fut>(handler: F) -> Rx
    where
        F: Fn(TcpStream, Arc<Log>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Rx::start_on("127.0.0.1:0", handler).await.unwrap()
    }

    async fn start_on<F, Fut>(addr: &str, handler: F) -> std::io::Result<Rx>
    where
        F: Fn(TcpStream, Arc<Log>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let log = Arc::new(Log::default());
        let shared = log.clone();
        let handler = Arc::new(handler);
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let h = handler.clone();
                let log = shared.clone();
                tokio::spawn(async move { h(s, log).await });
            }
        });
        Ok(Rx {
            port: local.port(),
            url: format!("http://{local}/hook"),
            log,
        })
    }

    fn got(&self) -> Vec<Got> {
        self.log.got.lock().unwrap().clone()
    }
}

/// Reads the request head (and, if `body`, its Content-Length body) and
/// logs it. `None` if the connection ended first.
async fn read_req(s: &mut TcpStream, log: &Log, body: bool) -> Option<Got> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let (line, headers, len) = common::parse_head(&buf[..head_end]);
    let mut rest = buf[head_end + 4..].to_vec();
    if body {
        while rest.len() < len {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
            }
        }
    }
    let got = Got {
        line,
        headers,
        body: rest,
    };
    log.got.lock().unwrap().push(got.clone());
    Some(got)
}

/// SO_LINGER 0: dropping the socket then sends a RST, not a FIN.
#[allow(deprecated)]
fn reset_on_drop(s: &TcpStream) {
    let _ = s.set_linger(Some(Duration::ZERO));
}

/// Reads until the peer closes (or errors); counts it.
async fn until_closed(mut s: TcpStream, log: &Log) {
    let mut sink = [0u8; 4096];
    loop {
        match s.read(&mut sink).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    log.peer_closed.fetch_add(1, Ordering::SeqCst);
}

fn ok_answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A receiver that reads the request, writes `bytes`, then holds the
/// connection until the sandbox closes it.
async fn answering(bytes: String) -> Rx {
    Rx::start(move |mut s, log| {
        let bytes = bytes.clone();
        async move {
            if read_req(&mut s, &log, true).await.is_none() {
                return;
            }
            let _ = s.write_all(bytes.as_bytes()).await;
            until_closed(s, &log).await;
        }
    })
    .await
}

// ---- sandbox helpers ----------------------------------------------------------

/// A sandbox whose async settings have these lines replaced (the folder is
/// removed when the returned guard drops).
async fn sandbox_with(replace: &[(&str, &str)]) -> (Sandbox, common::RemovedOnDrop) {
    let dir = common::temp_dir("receivers");
    let mut yaml = include_str!("../../scenarios/async.yaml").to_string();
    for (from, to) in replace {
        assert!(yaml.contains(from), "{from}");
        yaml = yaml.replace(from, to);
    }
    std::fs::write(dir.join("async.yaml"), yaml).unwrap();
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    (sb, common::RemovedOnDrop(dir))
}

async fn sandbox_timeout(t: &str) -> (Sandbox, common::RemovedOnDrop) {
    sandbox_with(&[("webhook_timeout: 10s", &format!("webhook_timeout: {t}"))]).await
}

async fn put_webhook(sb: &Sandbox, key: &str, body: Value) -> common::Resp {
    sb.send(
        "PUT",
        &format!("/__admin/webhooks/{key}"),
        &[("content-type", "application/json")],
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

async fn set_url(sb: &Sandbox, key: &str, url: &str) {
    let r = put_webhook(sb, key, json!({ "url": url })).await;
    assert_eq!(r.status, 200, "{url}: {}", r.text());
}

async fn create(sb: &Sandbox, key: &str) -> String {
    let r = sb
        .post(RFC, &[("apikey", key)], json!({"curp": EPN, "state": 9}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["verificationId"].as_str().unwrap().to_string()
}

async fn status_of(sb: &Sandbox, key: &str, id: &str) -> u64 {
    let r = sb
        .get(&format!("{STATUS}?verificationId={id}"), &[("apikey", key)])
        .await;
    r.json()["verificationStatus"].as_u64().unwrap()
}

async fn deliveries(sb: &Sandbox, id: &str) -> Vec<Value> {
    sb.admin_get(&format!("/__admin/webhooks/deliveries?verificationId={id}"))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// The one delivery attempt of `id`.
async fn only_attempt(sb: &Sandbox, id: &str) -> Value {
    let d = deliveries(sb, id).await;
    assert_eq!(d.len(), 1, "{d:#?}");
    d[0].clone()
}

/// A receiver that reads the request, answers 200 `{"completed": true}`
/// and holds the connection until the sandbox closes it.
async fn recording() -> Rx {
    answering(ok_answer("200 OK", COMPLETED)).await
}

async fn recording_on(addr: &str) -> std::io::Result<Rx> {
    Rx::start_on(addr, |mut s, log| async move {
        if read_req(&mut s, &log, true).await.is_none() {
            return;
        }
        let _ = s.write_all(ok_answer("200 OK", COMPLETED).as_bytes()).await;
        until_closed(s, &log).await;
    })
    .await
}

/// Waits (bounded, 3 s) until `f` holds.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < Duration::from_secs(3), "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `serve ARGS` run as a process: its exit status if it ended within 3 s
/// (killed otherwise: it bound and served).
fn serve_exit(args: &[&str]) -> Option<std::process::ExitStatus> {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mxid-sandbox"))
        .arg("serve")
        .args(["--port", "0"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Where `url` is taken as a webhook target: by the PUT, by `serve
/// --webhook-url` (it served), by a fixture file. Empty when all three
/// refuse it, as the one check they share does.
pub(super) async fn taken_anywhere(sb: &Sandbox, url: &str) -> Vec<String> {
    let mut taken = vec![];
    let r = put_webhook(sb, "k", json!({ "url": url })).await;
    if r.status != 400 {
        taken.push(format!("PUT: {} {}", r.status, r.text()));
    }
    let exit = serve_exit(&["--webhook-url", url]);
    if exit.map(|s| s.code()) != Some(Some(1)) {
        taken.push(format!("serve --webhook-url: {exit:?} (None: it served)"));
    }
    let dir = common::temp_dir("webhook-url-fixtures");
    let _gone = common::RemovedOnDrop(dir.clone());
    // A JSON string is a YAML double-quoted scalar.
    std::fs::write(
        dir.join("credentials.yaml"),
        format!("async:\n  webhooks:\n    k: {}\n", json!(url)),
    )
    .unwrap();
    if mxid_sandbox::engine::fixtures::Fixtures::load(&Source::Dir(dir.clone())).is_ok() {
        taken.push("a fixture file".to_string());
    }
    taken
}

// =============================================================================
// The webhook URL: its host, its port, its user info
// =============================================================================

// README, Command line: "a `--webhook-url` the sandbox could not call (not
// `http://` with a host: it has no TLS client) ... stops the server before it
// binds, exit 1"; README, Decisions (async): "A webhook URL must be `http://`
// with a host and a valid port ... checked at load (fixtures), by
// `--webhook-url` and by the PUT". `http://:PORT/x` has an EMPTY host (the
// `http` crate reads it as `Some("")`): refused by all three, where every
// attempt to it would fail with a DNS error.
#[tokio::test]
async fn a_webhook_url_with_an_empty_host_is_refused() {
    let sb = Sandbox::start().await;
    let taken = taken_anywhere(&sb, "http://:8080/hook").await;
    assert!(taken.is_empty(), "a URL with no host was taken: {taken:#?}");
}

// README, Decisions (async): "A webhook URL must be `http://` with a host and
// a valid port". RFC 3986 writes a port as digits only (`port = *DIGIT`),
// and curl refuses `:+80` ("Port number was not a decimal number"), where
// Rust's `u16::from_str` takes a leading `+`; text after an IPv6 literal
// (`http://[::1]x:PORT/`) is not a port either. Both are a 400, as
// `:8080abc` or `:0` are.
#[tokio::test]
async fn a_webhook_url_with_a_malformed_port_or_authority_is_refused() {
    let sb = Sandbox::start().await;
    let mut taken = Vec::new();
    for url in [
        "http://127.0.0.1:+8080/hook",
        "http://[::1]:+8080/hook",
        "http://[::1]x:8080/hook",
    ] {
        let r = put_webhook(&sb, "k", json!({ "url": url })).await;
        if r.status != 400 {
            taken.push(format!("{url}: {} {}", r.status, r.text()));
        }
    }
    // The same check as the PUT's: the ones it refuses.
    let r = put_webhook(&sb, "k", json!({"url": "http://127.0.0.1:8080abc/hook"})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(taken.is_empty(), "taken: {taken:#?}");
}

// README, Decisions (async): a webhook URL is "written in ASCII (`ñ` is
// `%C3%B1`: the URL is sent as written, and raw UTF-8 on a request line is
// what no client's URL library sends". The `http` crate's `Uri` takes it,
// and the attempt sent the raw bytes; refused by the PUT, the flag and the
// fixtures, the PUT saying how to write it. Written as the error says, the
// URL is taken, and so is a `%` before no two hex digits (sent as written,
// as curl sends it).
#[tokio::test]
async fn a_webhook_url_with_raw_non_ascii_is_refused() {
    let sb = Sandbox::start().await;
    for (url, needle) in [
        (
            "http://127.0.0.1:8080/señal",
            "'ñ': a URL writes it percent-encoded, as %C3%B1",
        ),
        ("http://josé:pw@127.0.0.1:8080/h", "as %C3%A9"),
        ("http://127.0.0.1:8080/h?q=€", "as %E2%82%AC"),
        // A host name is written as its punycode, not percent-encoded.
        (
            "http://méxico.test/h",
            "in its host: a host name is written in ASCII, as its punycode (xn--…)",
        ),
        ("http://jose:pw@méxico.test/h", "'é' in its host"),
    ] {
        let taken = taken_anywhere(&sb, url).await;
        assert!(taken.is_empty(), "{url} was taken: {taken:#?}");
        let r = put_webhook(&sb, "k", json!({ "url": url })).await;
        let e = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(e.contains(needle), "{url}: {e}");
    }
    for url in [
        "http://127.0.0.1:8080/se%C3%B1al",
        "http://127.0.0.1:8080/100%25",
        "http://127.0.0.1:8080/100%",
    ] {
        let r = put_webhook(&sb, "k", json!({ "url": url })).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text());
    }
}

// README, Command line: "A webhook URL may carry user info
// (`http://user:pw@host/hook`, percent-encoded): it is sent as
// `Authorization: Basic …`, as HTTP sends credentials". Percent-encoding
// stands for octets (RFC 3986 §2.1), and Basic credentials are the base64 of
// those octets (RFC 7617; curl sends `user:%F1` as `dXNlcjrx`). A password
// holding a Latin-1 `ñ` (`%F1`) sent as U+FFFD's UTF-8 bytes
// (`dXNlcjrvv70=`, "user:\u{FFFD}") would be a password no one set: the
// octets themselves are encoded.
#[tokio::test]
async fn basic_credentials_carry_the_urls_percent_encoded_octets() {
    let sb = Sandbox::start().await;
    let rx = recording().await;
    set_url(
        &sb,
        "k",
        &format!("http://user:%F1@127.0.0.1:{}/hook", rx.port),
    )
    .await;
    create(&sb, "k").await;
    sb.advance("2s").await;
    let got = rx.got();
    assert_eq!(got.len(), 1);
    // base64(b"user:\xF1")
    assert_eq!(got[0].header("authorization"), Some("Basic dXNlcjrx"));
}

// =============================================================================
// Receivers, status by status and connection by connection
// =============================================================================

// README, Webhooks: "Delivered means a 200 answer whose JSON body has
// `"completed": true` ... another status (a redirect is not followed;
// another 2xx is "HTTP N, not 200"), another body — is a failed attempt",
// as the document asks ("must response with status code 200"). Each status
// a receiver may answer with, byte for byte: a 200 with the body is
// delivered (after any 1xx), every other status is "HTTP N" with its
// status, and a redirect's Location gets nothing.
#[tokio::test]
async fn each_status_a_receiver_answers_is_recorded_as_documented() {
    let (sb, _dir) = sandbox_timeout("1s").await;
    let elsewhere = recording().await;
    let redirect = |line: &str| {
        format!(
            "HTTP/1.1 {line}\r\nLocation: {}\r\nContent-Length: {}\r\n\r\n{COMPLETED}",
            elsewhere.url,
            COMPLETED.len()
        )
    };
    let cases: Vec<(&str, String, &str, u64)> = vec![
        ("s200", ok_answer("200 OK", COMPLETED), "delivered", 200),
        ("s201", ok_answer("201 Created", COMPLETED), "HTTP 201, not 200", 201),
        ("s202", ok_answer("202 Accepted", COMPLETED), "HTTP 202, not 200", 202),
        ("s299", ok_answer("299 Odd", COMPLETED), "HTTP 299, not 200", 299),
        (
            "no-reason",
            format!("HTTP/1.1 200\r\nContent-Length: {}\r\n\r\n{COMPLETED}", COMPLETED.len()),
            "delivered",
            200,
        ),
        (
            "s100-then-200",
            format!("HTTP/1.1 100 Continue\r\n\r\n{}", ok_answer("200 OK", COMPLETED)),
            "delivered",
            200,
        ),
        (
            "two-1xx-then-200",
            format!(
                "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n{}",
                ok_answer("200 OK", COMPLETED)
            ),
            "delivered",
            200,
        ),
        (
            "s100-then-500",
            format!("HTTP/1.1 100 Continue\r\n\r\n{}", ok_answer("500 Err", COMPLETED)),
            "HTTP 500",
            500,
        ),
        ("s301", redirect("301 Moved Permanently"), "HTTP 301", 301),
        ("s302", redirect("302 Found"), "HTTP 302", 302),
        ("s303", redirect("303 See Other"), "HTTP 303", 303),
        ("s307", redirect("307 Temporary Redirect"), "HTTP 307", 307),
        ("s308", redirect("308 Permanent Redirect"), "HTTP 308", 308),
        ("s400", ok_answer("400 Bad Request", COMPLETED), "HTTP 400", 400),
        ("s404", ok_answer("404 Not Found", COMPLETED), "HTTP 404", 404),
        (
            "s429",
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".to_string(),
            "HTTP 429",
            429,
        ),
        ("s500", ok_answer("500 Internal", COMPLETED), "HTTP 500", 500),
        ("s503", ok_answer("503 Unavailable", COMPLETED), "HTTP 503", 503),
        ("s600", ok_answer("600 Odd", COMPLETED), "HTTP 600", 600),
        (
            "trailers",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n{:x}\r\n{COMPLETED}\r\n0\r\nX-T: 1\r\n\r\n",
                COMPLETED.len()
            ),
            "delivered",
            200,
        ),
        (
            "text-plain",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{COMPLETED}",
                COMPLETED.len()
            ),
            "delivered",
            200,
        ),
        ("whitespace", ok_answer("200 OK", " {\"completed\":true}\r\n"), "delivered", 200),
        (
            "bare-lf",
            format!("HTTP/1.1 200 OK\nContent-Length: {}\n\n{COMPLETED}", COMPLETED.len()),
            "delivered",
            200,
        ),
        // As the provider's .NET JSON readers read an answer: past a
        // byte-order mark, the key in any case, the last one written.
        ("pascal-case", ok_answer("200 OK", r#"{"Completed": true}"#), "delivered", 200),
        ("bom", ok_answer("200 OK", "\u{feff}{\"completed\": true}"), "delivered", 200),
        (
            "last-key",
            ok_answer("200 OK", r#"{"completed": true, "COMPLETED": false}"#),
            "HTTP 200 without {\"completed\": true}",
            200,
        ),
        (
            "last-of-three",
            ok_answer("200 OK", r#"{"completed": false, "Completed": true, "completed": false}"#),
            "HTTP 200 without {\"completed\": true}",
            200,
        ),
        (
            "last-of-three-true",
            ok_answer("200 OK", r#"{"completed": true, "Completed": false, "completed": true}"#),
            "delivered",
            200,
        ),
        (
            "trailing-garbage",
            ok_answer("200 OK", r#"{"completed": true} x"#),
            "HTTP 200 without {\"completed\": true}",
            200,
        ),
        (
            "in-an-array",
            ok_answer("200 OK", r#"[{"completed": true}]"#),
            "HTTP 200 without {\"completed\": true}",
            200,
        ),
        (
            "string-true",
            ok_answer("200 OK", r#"{"completed": "true"}"#),
            "HTTP 200 without {\"completed\": true}",
            200,
        ),
        (
            "false",
            ok_answer("200 OK", r#"{"completed": false}"#),
            "HTTP 200 without {\"completed\": true}",
            200,
        ),
    ];
    let mut rxs = Vec::new();
    let mut ids = Vec::new();
    for (name, bytes, _, _) in &cases {
        let rx = answering(bytes.clone()).await;
        set_url(&sb, name, &rx.url).await;
        ids.push(create(&sb, name).await);
        rxs.push(rx);
    }
    sb.advance("2s").await;
    for ((name, _, outcome, status), id) in cases.iter().zip(&ids) {
        let d = only_attempt(&sb, id).await;
        assert_eq!(d["outcome"], *outcome, "{name}: {d}");
        assert_eq!(d["status"], *status, "{name}: {d}");
        let want = if *outcome == "delivered" { 4 } else { 3 };
        assert_eq!(status_of(&sb, name, id).await, want, "{name}");
    }
    // No redirect was followed.
    assert!(elsewhere.got().is_empty());
    // Every receiver got one request; each connection was closed by the
    // sandbox once the attempt was over (none is left open).
    for ((name, ..), rx) in cases.iter().zip(&rxs) {
        assert_eq!(rx.got().len(), 1, "{name}");
        eventually(&format!("{name}: connection closed"), || {
            rx.log.peer_closed.load(Ordering::SeqCst) == 1
        })
        .await;
    }
}

// README, Webhooks: a failed attempt is "retried `webhook_retry_interval`
// later on the sandbox clock": a 429's Retry-After does not bring it forward.
#[tokio::test]
async fn a_429_retry_after_does_not_move_the_next_attempt() {
    let sb = Sandbox::start().await;
    let rx = answering(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".into(),
    )
    .await;
    set_url(&sb, "k", &rx.url).await;
    let id = create(&sb, "k").await;
    sb.advance("2s").await;
    sb.advance("10m").await;
    assert_eq!(rx.got().len(), 1);
    sb.advance("5m").await;
    assert_eq!(rx.got().len(), 2);
    let d = deliveries(&sb, &id).await;
    assert_eq!(d[1]["time"], "2024-05-15T10:15:02.000000-06:00");
    assert_eq!(d[1]["outcome"], "HTTP 429");
}

// README, Webhooks: "refused connection, no answer within `webhook_timeout`
// (or a body that does not come within it: listed with the answer's status)
// ... is a failed attempt"; "the first 64 KB of it are read". Connections
// that misbehave at the socket: each is one failed attempt with the outcome
// below, bounded by the 1 s timeout, and the sandbox closes every connection
// it gave up on (a receiver writing without end is cut off, no descriptor
// is left open).
#[tokio::test]
async fn misbehaving_connections_each_fail_once_within_the_timeout_and_are_closed() {
    let (sb, _dir) = sandbox_timeout("1s").await;
    type Case = (&'static str, Rx, &'static str, Option<u64>, bool);
    let mut cases: Vec<Case> = Vec::new();
    cases.push((
        "rst-after-request",
        Rx::start(|mut s, log| async move {
            if read_req(&mut s, &log, true).await.is_none() {
                return;
            }
            reset_on_drop(&s);
        })
        .await,
        "Connection reset by peer",
        None,
        false,
    ));
    cases.push((
        "rst-at-accept",
        Rx::start(|s, _log| async move {
            reset_on_drop(&s);
        })
        .await,
        "Connection reset by peer",
        None,
        false,
    ));
    cases.push((
        "fin-at-accept",
        Rx::start(|s, _log| async move { drop(s) }).await,
        "connection closed before message completed",
        None,
        false,
    ));
    cases.push((
        "silent",
        Rx::start(|mut s, log| async move {
            if read_req(&mut s, &log, true).await.is_some() {
                until_closed(s, &log).await;
            }
        })
        .await,
        "no answer within 1s",
        None,
        true,
    ));
    cases.push((
        "trickled-body",
        Rx::start(|mut s, log| async move {
            if read_req(&mut s, &log, true).await.is_none() {
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                COMPLETED.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            for b in COMPLETED.bytes() {
                if s.write_all(&[b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            until_closed(s, &log).await;
        })
        .await,
        "the answer's body did not come within 1s",
        Some(200),
        true,
    ));
    cases.push((
        "endless-1xx",
        Rx::start(|mut s, log| async move {
            if read_req(&mut s, &log, true).await.is_none() {
                return;
            }
            while s
                .write_all(b"HTTP/1.1 102 Processing\r\n\r\n")
                .await
                .is_ok()
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            log.peer_closed.fetch_add(1, Ordering::SeqCst);
        })
        .await,
        "no answer within 1s",
        None,
        true,
    ));
    cases.push((
        "endless-head",
        Rx::start(|mut s, log| async move {
            if read_req(&mut s, &log, true).await.is_none() {
                return;
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
            let line = format!("X-A: {}\r\n", "a".repeat(1000));
            while s.write_all(line.as_bytes()).await.is_ok() {}
            log.peer_closed.fetch_add(1, Ordering::SeqCst);
        })
        .await,
        "message head is too large",
        None,
        true,
    ));
    cases.push((
        "endless-body",
        Rx::start(|mut s, log| async move {
            if read_req(&mut s, &log, true).await.is_none() {
                return;
            }
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
                .await;
            let chunk = vec![b' '; 65536];
            while s.write_all(&chunk).await.is_ok() {}
            log.peer_closed.fetch_add(1, Ordering::SeqCst);
        })
        .await,
        "reading the answer failed: length limit exceeded",
        Some(200),
        true,
    ));
    cases.push((
        "500-endless-body",
        Rx::start(|mut s, log| async move {
            if read_req(&mut s, &log, true).await.is_none() {
                return;
            }
            let _ = s.write_all(b"HTTP/1.1 500 Oops\r\n\r\n").await;
            let chunk = vec![b'x'; 65536];
            while s.write_all(&chunk).await.is_ok() {}
            log.peer_closed.fetch_add(1, Ordering::SeqCst);
        })
        .await,
        "reading the answer failed: length limit exceeded",
        Some(500),
        true,
    ));
    cases.push((
        "http10-held-open",
        answering(format!("HTTP/1.0 200 OK\r\n\r\n{COMPLETED}")).await,
        "the answer's body did not come within 1s",
        Some(200),
        true,
    ));
    let mut ids = Vec::new();
    for (name, rx, ..) in &cases {
        set_url(&sb, name, &rx.url).await;
        ids.push(create(&sb, name).await);
    }
    let started = Instant::now();
    sb.advance("2s").await;
    // All at one instant: the move waits for the slowest (1 s), not the sum.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for ((name, rx, outcome, status, held), id) in cases.iter().zip(&ids) {
        let d = only_attempt(&sb, id).await;
        let got = d["outcome"].as_str().unwrap();
        assert!(got.contains(outcome), "{name}: {d}");
        assert_eq!(d["status"].as_u64(), *status, "{name}: {d}");
        assert_eq!(status_of(&sb, name, id).await, 3, "{name}");
        if *held {
            eventually(&format!("{name}: connection closed by the sandbox"), || {
                rx.log.peer_closed.load(Ordering::SeqCst) == 1
            })
            .await;
        }
    }
    // Each is retried 15 minutes later, once.
    sb.advance("15m").await;
    for ((name, ..), id) in cases.iter().zip(&ids) {
        assert_eq!(deliveries(&sb, id).await.len(), 2, "{name}");
    }
}

// A receiver that answers as soon as the request head is in, without reading
// the body (and closes), has answered: delivered.
#[tokio::test]
async fn an_answer_given_before_the_body_is_read_is_a_delivery() {
    let sb = Sandbox::start().await;
    let rx = Rx::start(|mut s, log| async move {
        if read_req(&mut s, &log, false).await.is_none() {
            return;
        }
        let _ = s.write_all(ok_answer("200 OK", COMPLETED).as_bytes()).await;
        let _ = s.shutdown().await;
    })
    .await;
    set_url(&sb, "k", &rx.url).await;
    let id = create(&sb, "k").await;
    sb.advance("2s").await;
    assert_eq!(only_attempt(&sb, &id).await["outcome"], "delivered");
    assert_eq!(status_of(&sb, "k", &id).await, 4);
}

// README, Webhooks: "The sandbox POSTs with headers `apikey` ... and
// `Content-Type: application/json`, and the status object as the body";
// seed 004's webhook "Headers": apikey (required), Content-Type
// application/json. The request on the wire: HTTP/1.1 POST, the URL's path
// and query as written (percent-encoding kept, a fragment not sent, `/` for
// a URL with no path), `Host` with the port (an IPv6 literal in brackets),
// an exact Content-Length and no chunking, one apikey header.
#[tokio::test]
async fn the_request_on_the_wire() {
    let sb = Sandbox::start().await;
    let rx = recording().await;
    let p = rx.port;
    let mut cases: Vec<(String, String, String)> = vec![
        (
            format!("http://127.0.0.1:{p}/hook"),
            "/hook".into(),
            format!("127.0.0.1:{p}"),
        ),
        (
            format!("http://127.0.0.1:{p}/a%20b/c%2Fd?x=1&y=%C3%B1&z=a+b"),
            "/a%20b/c%2Fd?x=1&y=%C3%B1&z=a+b".into(),
            format!("127.0.0.1:{p}"),
        ),
        (
            format!("http://127.0.0.1:{p}?only=query"),
            "/?only=query".into(),
            format!("127.0.0.1:{p}"),
        ),
        (
            format!("http://127.0.0.1:{p}/frag#part"),
            "/frag".into(),
            format!("127.0.0.1:{p}"),
        ),
        (
            format!("http://localhost:{p}/local"),
            "/local".into(),
            format!("localhost:{p}"),
        ),
        (
            format!("HTTP://127.0.0.1:{p}/Upper"),
            "/Upper".into(),
            format!("127.0.0.1:{p}"),
        ),
        (
            format!("http://127.0.0.1:{p}//two/./dots/../x"),
            "//two/./dots/../x".into(),
            format!("127.0.0.1:{p}"),
        ),
    ];
    let v6 = recording_on("[::1]:0").await.ok();
    if let Some(v6) = &v6 {
        cases.push((
            format!("http://[::1]:{}/v6", v6.port),
            "/v6".into(),
            format!("[::1]:{}", v6.port),
        ));
    }
    for (i, (url, ..)) in cases.iter().enumerate() {
        set_url(&sb, &format!("k{i}"), url).await;
        create(&sb, &format!("k{i}")).await;
    }
    sb.advance("2s").await;
    let mut got = rx.got();
    got.extend(v6.iter().flat_map(Rx::got));
    assert_eq!(got.len(), cases.len(), "{got:#?}");
    for (i, (url, target, host)) in cases.iter().enumerate() {
        let key = format!("k{i}");
        let g = got
            .iter()
            .find(|g| g.header("apikey") == Some(key.as_str()))
            .unwrap_or_else(|| panic!("{url}: nothing arrived"));
        assert_eq!(g.line, format!("POST {target} HTTP/1.1"), "{url}");
        assert_eq!(g.header("host"), Some(host.as_str()), "{url}");
        assert_eq!(g.headers_named("host"), 1, "{url}");
        assert_eq!(g.headers_named("apikey"), 1, "{url}");
        assert_eq!(g.header("content-type"), Some("application/json"), "{url}");
        assert_eq!(g.header("transfer-encoding"), None, "{url}");
        assert_eq!(g.header("authorization"), None, "{url}");
        assert_eq!(
            g.header("content-length"),
            Some(g.body.len().to_string().as_str()),
            "{url}"
        );
        let body: Value = serde_json::from_slice(&g.body).unwrap();
        assert_eq!(body["verificationStatus"], 3, "{url}");
        assert_eq!(body["verificationType"], 2, "{url}");
    }
    // The deliveries list the URL as written.
    let listed = sb.admin_get("/__admin/webhooks/deliveries").await;
    for (url, ..) in &cases {
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["url"] == url.as_str() && d["outcome"] == "delivered"),
            "{url}: {listed}"
        );
    }
}

// README, Command line: user info "is sent as `Authorization: Basic …`" —
// a password's own colons are kept (the first colon separates, RFC 7617),
// encoded `@` and `:` are decoded, and the Host carries no user info.
#[tokio::test]
async fn user_info_in_its_forms_becomes_basic_credentials() {
    let sb = Sandbox::start().await;
    let rx = recording().await;
    let p = rx.port;
    let cases = [
        (
            format!("http://user:pa:ss@127.0.0.1:{p}/a"),
            "Basic dXNlcjpwYTpzcw==",
        ), // user:pa:ss
        (
            format!("http://us%40er:p%3Aw@127.0.0.1:{p}/b"),
            "Basic dXNAZXI6cDp3",
        ), // us@er:p:w
        (format!("http://user:@127.0.0.1:{p}/c"), "Basic dXNlcjo="), // user:
        (format!("http://:pw@127.0.0.1:{p}/d"), "Basic OnB3"),       // :pw
        (
            format!("http://user:%C3%B1@127.0.0.1:{p}/e"),
            "Basic dXNlcjrDsQ==",
        ), // user:ñ (UTF-8)
    ];
    for (i, (url, _)) in cases.iter().enumerate() {
        set_url(&sb, &format!("k{i}"), url).await;
        create(&sb, &format!("k{i}")).await;
    }
    sb.advance("2s").await;
    let got = rx.got();
    for (i, (url, basic)) in cases.iter().enumerate() {
        let key = format!("k{i}");
        let g = got
            .iter()
            .find(|g| g.header("apikey") == Some(key.as_str()))
            .unwrap();
        assert_eq!(g.header("authorization"), Some(*basic), "{url}");
        assert_eq!(
            g.header("host"),
            Some(format!("127.0.0.1:{p}").as_str()),
            "{url}"
        );
    }
}

// README, Decisions: "A webhook URL must be `http://` with a host and a valid
// port": 1 to 65535, none meaning 80. Port 65535 is called with it in Host;
// no port, `:80` and an empty port (`host:/`) all go to 80 with a Host of the
// bare host (RFC 9110: the default port may be left out). 0, 00, 65536 and
// an overflowing number are refused.
#[tokio::test]
async fn default_and_extreme_ports() {
    let sb = Sandbox::start().await;
    for url in [
        "http://127.0.0.1:0/h",
        "http://127.0.0.1:00/h",
        "http://127.0.0.1:65536/h",
        "http://127.0.0.1:99999999999999999999/h",
        "http://127.0.0.1:-1/h",
    ] {
        let r = put_webhook(&sb, "k", json!({ "url": url })).await;
        assert_eq!(r.status, 400, "{url}: {}", r.text());
        assert!(
            r.text().contains("no valid port (1 to 65535)"),
            "{url}: {}",
            r.text()
        );
    }
    // Port 80 on a loopback address of its own, 65535 on 127.0.0.1: when free.
    if let Ok(rx) = recording_on("127.0.0.83:80").await {
        for (i, url) in [
            "http://127.0.0.83/a",
            "http://127.0.0.83:80/b",
            "http://127.0.0.83:/c",
        ]
        .iter()
        .enumerate()
        {
            set_url(&sb, &format!("p80-{i}"), url).await;
            create(&sb, &format!("p80-{i}")).await;
        }
        sb.advance("2s").await;
        let got = rx.got();
        assert_eq!(got.len(), 3, "{got:#?}");
        for g in &got {
            assert_eq!(g.header("host"), Some("127.0.0.83"), "{g:?}");
        }
    } else {
        eprintln!("127.0.0.83:80 not bindable here: that part skipped");
    }
    if let Ok(rx) = recording_on("127.0.0.1:65535").await {
        set_url(&sb, "max", "http://127.0.0.1:65535/max").await;
        create(&sb, "max").await;
        sb.advance("2s").await;
        let got = rx.got();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].header("host"), Some("127.0.0.1:65535"));
    } else {
        eprintln!("127.0.0.1:65535 busy: that part skipped");
    }
}

// README, settings: `webhook_attempts` "1 to 100 (with a `0s` interval they
// all fall due at once, and the clock move that reaches them answers when
// they are done)"; timeline: "webhook attempts spent → 4 Completed,
// undelivered".
#[tokio::test]
async fn with_a_zero_interval_every_attempt_is_spent_in_one_move() {
    let (sb, _dir) = sandbox_with(&[
        ("webhook_attempts: 5", "webhook_attempts: 7"),
        ("webhook_retry_interval: 15m", "webhook_retry_interval: 0s"),
    ])
    .await;
    let rx = answering(ok_answer("503 Busy", "{}")).await;
    set_url(&sb, "k", &rx.url).await;
    let id = create(&sb, "k").await;
    sb.advance("2s").await;
    let d = deliveries(&sb, &id).await;
    assert_eq!(d.len(), 7, "{d:#?}");
    for (i, e) in d.iter().enumerate() {
        assert_eq!(e["attempt"], i as u64 + 1);
        assert_eq!(e["time"], "2024-05-15T10:00:02.000000-06:00");
        assert_eq!(e["outcome"], "HTTP 503");
    }
    assert_eq!(rx.got().len(), 7);
    assert_eq!(status_of(&sb, "k", &id).await, 4);
    let v = &sb.admin_get("/__admin/verifications").await[0];
    assert_eq!(v["delivered"], false);
    assert_eq!(v["deliveryAttempts"], 7);
    assert_eq!(v["completedAt"], "2024-05-15T10:00:02.000000-06:00");
    sb.advance("1d").await;
    assert_eq!(rx.got().len(), 7);
}

/// A first attempt for apikey `k` to an admin target answering 500, then
/// that target removed: the verification's id, and the failing target.
async fn first_attempt_failed_then_removed(sb: &Sandbox) -> (String, Rx) {
    let failing = answering(ok_answer("500 Err", "{}")).await;
    set_url(sb, "k", &failing.url).await;
    let id = create(sb, "k").await;
    sb.advance("2s").await;
    assert_eq!(status_of(sb, "k", &id).await, 3);
    assert_eq!(sb.admin_delete("/__admin/webhooks/k").await.status, 200);
    (id, failing)
}

/// Asserts that the retry of `id`, after its first attempt to `failing`,
/// was delivered to `url`, and the verification completed.
async fn retried_and_delivered_to(sb: &Sandbox, id: &str, failing: &Rx, url: &str) {
    let d = deliveries(sb, id).await;
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[1]["url"], url);
    assert_eq!(d[1]["outcome"], "delivered");
    assert_eq!(status_of(sb, "k", id).await, 4);
    assert_eq!(failing.got().len(), 1);
}

// README, Webhooks: "The target is looked up at each attempt, so a `PUT`, a
// `DELETE` ... moves the next attempt"; the target is, first match wins, the
// admin PUT, the fixtures, `--webhook-url`; and the DELETE row: "with no
// other target for the apikey (a fixture's, `--webhook-url`)". Deleting the
// admin target of an apikey that `--webhook-url` also covers moves the next
// attempt to the flag's URL.
#[tokio::test]
async fn a_deleted_admin_target_falls_back_to_the_webhook_url_flag() {
    let fallback = recording().await;
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        webhook_url: Some(fallback.url.clone()),
        ..config()
    })
    .await;
    let (id, failing) = first_attempt_failed_then_removed(&sb).await;
    sb.advance("15m").await;
    retried_and_delivered_to(&sb, &id, &failing, &fallback.url).await;
    assert_eq!(fallback.got()[0].header("apikey"), Some("k"));
}

// The same with a fixture's target for the apikey (README, DELETE row: "no
// other target for the apikey (a fixture's, …)"): the next attempt goes to
// it.
#[tokio::test]
async fn a_deleted_admin_target_falls_back_to_a_fixtures_target() {
    let fallback = recording().await;
    // A JSON string is a YAML double-quoted scalar.
    let creds = format!("async:\n  webhooks:\n    k: {}\n", json!(fallback.url));
    let (dir, _gone) = common::folder("receivers-fixture-target", &[("credentials.yaml", &creds)]);
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let (id, failing) = first_attempt_failed_then_removed(&sb).await;
    sb.advance("15m").await;
    retried_and_delivered_to(&sb, &id, &failing, &fallback.url).await;
}

// README, DELETE row: the verification completes undelivered only with
// "none set again meanwhile": a target PUT again before the next attempt
// falls due takes it.
#[tokio::test]
async fn a_target_set_again_after_the_delete_takes_the_next_attempt() {
    let sb = Sandbox::start().await;
    let (id, failing) = first_attempt_failed_then_removed(&sb).await;
    sb.advance("5m").await;
    let again = recording().await;
    set_url(&sb, "k", &again.url).await;
    sb.advance("10m").await;
    retried_and_delivered_to(&sb, &id, &failing, &again.url).await;
}

// README, Webhooks: "Every attempt runs on its own task: a target that hangs
// holds up ... no delivery due at the same sandbox instant"; the deliveries
// are listed "in the order they were made, however fast their targets
// answer". Fifty verifications to one receiver that takes 400 ms per answer:
// sent together (the move takes about one answer's time, not fifty), all
// delivered, listed in creation order.
#[tokio::test]
async fn many_verifications_to_one_slow_receiver_go_out_together() {
    let (sb, _dir) = sandbox_timeout("2s").await;
    let rx = Rx::start(|mut s, log| async move {
        if read_req(&mut s, &log, true).await.is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        let _ = s.write_all(ok_answer("200 OK", COMPLETED).as_bytes()).await;
        until_closed(s, &log).await;
    })
    .await;
    set_url(&sb, "slow", &rx.url).await;
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(create(&sb, "slow").await);
    }
    let started = Instant::now();
    sb.advance("2s").await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let d = sb.admin_get("/__admin/webhooks/deliveries").await;
    let d = d.as_array().unwrap();
    assert!(d.iter().all(|e| e["outcome"] == "delivered"), "{d:#?}");
    let order: Vec<&str> = d
        .iter()
        .map(|e| e["verificationId"].as_str().unwrap())
        .collect();
    assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>());
}

// README, timeline: "3 Delivering while the webhook is pending"; Admin:
// outcome "`sending` (its target has not answered yet)". A receiver that
// reads the sandbox back while its own attempt is in flight (as a client
// fetching the status on a webhook does) is answered at once, and sees 3
// and `sending`.
#[tokio::test]
async fn a_receiver_reading_the_sandbox_during_its_attempt_sees_it_sending() {
    let sb = Sandbox::start().await;
    let base = sb.base.clone();
    let seen = Arc::new(Mutex::new(Vec::<(u64, String)>::new()));
    let seen_in = seen.clone();
    let rx = Rx::start(move |mut s, log| {
        let base = base.clone();
        let seen = seen_in.clone();
        async move {
            let Some(g) = read_req(&mut s, &log, true).await else {
                return;
            };
            let v: Value = serde_json::from_slice(&g.body).unwrap();
            let id = v["verificationId"].as_str().unwrap().to_string();
            let http = common::Http::new(base);
            let st = http
                .get(
                    &format!("{STATUS}?verificationId={id}"),
                    &[("apikey", "cb")],
                )
                .await
                .json()["verificationStatus"]
                .as_u64()
                .unwrap();
            let d = http.admin_get("/__admin/webhooks/deliveries").await;
            let outcome = d[0]["outcome"].as_str().unwrap().to_string();
            seen.lock().unwrap().push((st, outcome));
            let _ = s.write_all(ok_answer("200 OK", COMPLETED).as_bytes()).await;
            until_closed(s, &log).await;
        }
    })
    .await;
    set_url(&sb, "cb", &rx.url).await;
    let id = create(&sb, "cb").await;
    let started = Instant::now();
    sb.advance("2s").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(*seen.lock().unwrap(), [(3, "sending".to_string())]);
    assert_eq!(only_attempt(&sb, &id).await["outcome"], "delivered");
}

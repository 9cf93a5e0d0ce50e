//! async (seed 004) against the real server: creation and input checks,
//! the timeline on the sandbox clock, and webhook delivery to a port-0
//! receiver. Sandbox time only moves through `POST /__admin/clock`, which
//! answers once every consequence (status changes, delivery attempts) has
//! happened, so no test sleeps, and only an attempt whose admin client left
//! (which no call waits for) is polled for.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Response};
use hyper_util::rt::TokioIo;
use mxid_sandbox::Source;
use serde_json::{json, Value};

use crate::common::{config, Http, RemovedOnDrop, Resp, Sandbox, Served};

mod fidelity;
mod receivers;
mod running_clock;
mod webhook_urls;

const BASE: &str = "/api/AsyncVerication";
const INE: &str = "/api/AsyncVerication/IneNominalList";
pub(crate) const RFC: &str = "/api/AsyncVerication/RfcByCurp";
pub(crate) const NSS: &str = "/api/AsyncVerication/NssByCurp";
const STATUS: &str = "/api/AsyncVerication/verificationStatus";
/// Kiban's IMSS query (the nss provider), for the same person.
const IMSS_NSS: &str = "/api/v1/imss/nss";
pub(crate) const KEY: &str = "customer-key";
const EPN: &str = "PXNE660720HMCXTN06";

// ---- the webhook receiver ---------------------------------------------------

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Answer {
    /// 200 {"completed": true}
    Completed,
    /// 200 {"completed": true} in two frames with no length: sent chunked.
    Chunked,
    /// This status with {"code": "ERR", "message": "down"}.
    Status(u16),
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 `{"completed": true, "log": "xx…"}`, this many bytes in all.
    Padded(usize),
    /// Never answers.
    Hang,
    /// This status after this many real milliseconds: a 2xx with
    /// {"completed": true} (delivered, late, when a 200), any other with
    /// {"code": "ERR", "message": "down"}.
    Slow(u16, u64),
}

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    /// The path and query.
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct HookState {
    plan: VecDeque<Answer>,
    otherwise: Option<Answer>,
    received: Vec<Received>,
    /// A text, and how many requests must have arrived in all before a
    /// request whose body holds it is answered.
    hold: Option<(String, usize)>,
}

/// A response body in frames with no length: hyper sends it chunked.
struct Chunked(VecDeque<Bytes>);

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// A port-0 HTTP server that records every request and answers as told.
pub(crate) struct Hook {
    /// `http://host:port`, the server's root.
    pub(crate) root: String,
    /// `{root}/hook`.
    pub(crate) url: String,
    state: Arc<Mutex<HookState>>,
    /// How many requests have arrived, for the one test that must wait for
    /// an attempt it cannot see the end of (the target never answers).
    count: tokio::sync::watch::Receiver<usize>,
    /// How many connections to it have ended, for a test that must see an
    /// attempt dropped (the target never answers, so only the sandbox ends one).
    closed: tokio::sync::watch::Receiver<usize>,
}

impl Hook {
    pub(crate) async fn start() -> Hook {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(HookState::default()));
        let shared = state.clone();
        let (count_tx, count) = tokio::sync::watch::channel(0usize);
        let count_tx = Arc::new(count_tx);
        let (closed_tx, closed) = tokio::sync::watch::channel(0usize);
        let closed_tx = Arc::new(closed_tx);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                let count_tx = count_tx.clone();
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    let count_tx = count_tx.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let (answer, held) = {
                            let mut s = state.lock().unwrap();
                            let held = s
                                .hold
                                .as_ref()
                                .filter(|(text, _)| {
                                    String::from_utf8_lossy(&body).contains(text.as_str())
                                })
                                .map(|&(_, n)| n);
                            s.received.push(Received {
                                method: parts.method.to_string(),
                                target: parts
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.as_str().to_string())
                                    .unwrap_or_default(),
                                headers: parts.headers,
                                body,
                            });
                            let answer = s
                                .plan
                                .pop_front()
                                .or(s.otherwise)
                                .unwrap_or(Answer::Completed);
                            (answer, held)
                        };
                        count_tx.send_modify(|n| *n += 1);
                        if let Some(n) = held {
                            let mut count = count_tx.subscribe();
                            let _ = tokio::time::timeout(
                                Duration::from_secs(10),
                                count.wait_for(|c| *c >= n),
                            )
                            .await;
                        }
                        const COMPLETED: &str = r#"{"completed": true}"#;
                        let (status, body) = match answer {
                            Answer::Completed => (200, COMPLETED.to_string()),
                            Answer::Chunked => {
                                let (a, b) = COMPLETED.split_at(COMPLETED.len() / 2);
                                let frames = [a, b].map(|f| Bytes::from_static(f.as_bytes()));
                                let body = Either::Right(Chunked(frames.into()));
                                return Ok(Response::new(body));
                            }
                            Answer::Status(n) => (n, r#"{"code":"ERR","message":"down"}"#.into()),
                            Answer::Garbage => (200, "<html>not json".into()),
                            Answer::Padded(n) => {
                                let head = r#"{"completed": true, "log": ""#;
                                let pad = n.saturating_sub(head.len() + 2);
                                (200, format!("{head}{}\"}}", "x".repeat(pad)))
                            }
                            Answer::Hang => std::future::pending().await,
                            Answer::Slow(n, ms) => {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                                let body = if (200..300).contains(&n) {
                                    COMPLETED
                                } else {
                                    r#"{"code":"ERR","message":"down"}"#
                                };
                                (n, body.into())
                            }
                        };
                        let mut res = Response::new(Either::Left(Full::new(Bytes::from(body))));
                        *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(res)
                    }
                });
                let closed_tx = closed_tx.clone();
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                    closed_tx.send_modify(|n| *n += 1);
                });
            }
        });
        Hook {
            root: format!("http://{addr}"),
            url: format!("http://{addr}/hook"),
            state,
            count,
            closed,
        }
    }

    /// The next answers, in order; then `Completed` (or what `always` set).
    pub(crate) fn plan(&self, answers: &[Answer]) {
        self.state
            .lock()
            .unwrap()
            .plan
            .extend(answers.iter().copied());
    }

    pub(crate) fn always(&self, answer: Answer) {
        self.state.lock().unwrap().otherwise = Some(answer);
    }

    /// A request whose body holds `text` is answered only once `n`
    /// requests have arrived in all: a receiver slower on it than on the
    /// others.
    fn hold(&self, text: &str, n: usize) {
        self.state.lock().unwrap().hold = Some((text.to_string(), n));
    }

    /// Waits (bounded) until `n` requests have arrived.
    pub(crate) async fn arrived(&self, n: usize) {
        reached(&self.count, n, "the webhook arrived").await;
    }

    /// Waits (bounded) until `n` connections to it have ended.
    pub(crate) async fn closed(&self, n: usize) {
        reached(&self.closed, n, "the connection ended").await;
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

/// Waits until `counter` reaches `n`; panics with `what` after 10 s.
async fn reached(counter: &tokio::sync::watch::Receiver<usize>, n: usize, what: &str) {
    let mut counter = counter.clone();
    tokio::time::timeout(Duration::from_secs(10), counter.wait_for(|c| *c >= n))
        .await
        .expect(what)
        .unwrap();
}

/// A URL nothing listens on (connection refused), and the socket that
/// holds its port, bound and never listening, for as long as the test keeps
/// it: a port closed again could be taken by a test running beside this one.
pub(crate) fn dead_url() -> (String, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    (format!("http://{addr}/hook"), socket)
}

/// How a [`RawHook`] answers once it has read the request: bytes that
/// hyper's server would never write (not HTTP, cut short, a false length).
#[derive(Debug, Clone)]
enum Raw {
    /// Writes these bytes (none: never answers) and keeps the connection open.
    Hold(Vec<u8>),
    /// Writes these bytes, then closes.
    Close(Vec<u8>),
    /// Writes these bytes one at a time, `gap` apart, then closes.
    Drip(Vec<u8>, Duration),
    /// A chunked 200 head, then chunks without end.
    Endless,
}

/// A port-0 TCP webhook target that reads each request (its head and
/// Content-Length body) and answers as its [`Raw`] says.
struct RawHook {
    /// `http://host:port/hook`.
    url: String,
}

impl RawHook {
    async fn start(raw: Raw) -> RawHook {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let raw = raw.clone();
                tokio::spawn(async move {
                    if !read_request(&mut s).await {
                        return;
                    }
                    match raw {
                        Raw::Hold(bytes) => {
                            let _ = s.write_all(&bytes).await;
                            let _ = s.read_to_end(&mut Vec::new()).await;
                        }
                        Raw::Close(bytes) => {
                            let _ = s.write_all(&bytes).await;
                            let _ = s.shutdown().await;
                        }
                        Raw::Drip(bytes, gap) => {
                            for byte in bytes {
                                if s.write_all(&[byte]).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(gap).await;
                            }
                            let _ = s.shutdown().await;
                        }
                        Raw::Endless => {
                            let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                            let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
                            let _ = s.write_all(head).await;
                            while s.write_all(chunk.as_bytes()).await.is_ok() {}
                        }
                    }
                });
            }
        });
        RawHook {
            url: format!("http://{addr}/hook"),
        }
    }
}

/// Reads one request, its head and its Content-Length body: whether it
/// came whole before the connection ended.
async fn read_request(s: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut wanted = None;
    loop {
        if let Some(end) = wanted {
            if buf.len() >= end {
                return true;
            }
        } else if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            wanted = Some(at + 4 + len);
            continue;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

// ---- helpers ------------------------------------------------------------------

pub(crate) async fn create(sb: &Http, path: &str, key: &str, body: Value) -> String {
    let r = sb.post(path, &[("apikey", key)], body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b.as_object().unwrap().len(), 1, "{b}");
    let id = b["verificationId"].as_str().unwrap().to_string();
    assert_uuid_v4(&id);
    id
}

async fn create_forced(sb: &Sandbox, path: &str, scenario: &str, body: Value) -> String {
    let r = sb
        .post(
            path,
            &[("apikey", KEY), ("X-Sandbox-Scenario", scenario)],
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), scenario);
    r.json()["verificationId"].as_str().unwrap().to_string()
}

fn assert_uuid_v4(id: &str) {
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{id}"
    );
    assert!(id
        .chars()
        .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
    assert!(parts[2].starts_with('4'), "{id}");
    assert!("89ab".contains(&parts[3][..1]), "{id}");
}

async fn status(sb: &Sandbox, id: &str) -> Value {
    let r = sb
        .get(&format!("{STATUS}?verificationId={id}"), &[("apikey", KEY)])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

pub(crate) async fn status_code(sb: &Sandbox, id: &str) -> u64 {
    status(sb, id).await["verificationStatus"].as_u64().unwrap()
}

/// A sandbox whose `KEY` verifications are delivered to a fresh receiver
/// (answering 200 `{"completed": true}` until told otherwise).
pub(crate) async fn hooked() -> (Sandbox, Hook) {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    (sb, hook)
}

pub(crate) async fn set_webhook(sb: &Http, key: &str, body: Value) {
    let r = sb
        .send(
            "PUT",
            &format!("/__admin/webhooks/{key}"),
            &[("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn deliveries(sb: &Http) -> Vec<Value> {
    sb.admin_get("/__admin/webhooks/deliveries")
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// The deliveries once `n` attempts are listed and none is `sending`
/// (panics after 5 s): for attempts that no admin call waits for, their
/// admin client having left.
async fn settled(sb: &Sandbox, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let d = deliveries(sb).await;
        if d.len() >= n && d.iter().all(|d| d["outcome"] != "sending") {
            return d;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{n} attempts not settled within 5 s: {d:#?}"
        );
        tokio::task::yield_now().await;
    }
}

fn assert_error(r: &crate::common::Resp, http: u16, code: &str, message: &str) {
    assert_eq!(r.status, http, "{}", r.text());
    assert_eq!(r.json(), json!({"code": code, "message": message}));
}

/// A scenarios folder holding async.yaml with some `settings` lines replaced.
fn scenarios_with(tag: &str, replace: &[(&str, &str)]) -> PathBuf {
    let dir = crate::common::temp_dir(&format!("async-{tag}"));
    write_async_yaml(&dir, replace);
    dir
}

/// Writes the embedded async.yaml with `replace` applied into `dir`.
fn write_async_yaml(dir: &std::path::Path, replace: &[(&str, &str)]) {
    let mut yaml = include_str!("../scenarios/async.yaml").to_string();
    for (from, to) in replace {
        assert!(yaml.contains(from), "{from}");
        yaml = yaml.replace(from, to);
    }
    std::fs::write(dir.join("async.yaml"), yaml).unwrap();
}

/// A sandbox whose webhook timeout is `timeout`.
async fn start_with_timeout(tag: &str, timeout: &str) -> (Sandbox, PathBuf) {
    let dir = scenarios_with(
        tag,
        &[(
            "webhook_timeout: 10s",
            &format!("webhook_timeout: {timeout}"),
        )],
    );
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    (sb, dir)
}

/// The person the sandbox answers with for `curp` (embedded fixtures, seed 0).
fn person(curp: &str) -> mxid_sandbox::curp::Person {
    mxid_sandbox::engine::fixtures::Fixtures::load(&Source::Embedded)
        .unwrap()
        .domain
        .person(curp, 0)
}

// ---- creation and input checks -----------------------------------------------

#[tokio::test]
async fn the_seeds_example_requests_are_accepted_as_printed() {
    let sb = Sandbox::start().await;
    for body in [
        r#"{"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "03"}"#,
        r#"{"type": "D", "id": "115568150", "ocr": "4855115346145", "issueNumber": ""}"#,
        r#"{"type": "E", "id": "145591720", "ocr": "0535000172485", "issueNumber": ""}"#,
        r#"{"type": "G", "id": "204978519", "ocr": "092333274", "issueNumber": ""}"#,
    ] {
        let r = sb
            .send(
                "POST",
                INE,
                &[("apikey", KEY), ("Content-Type", "application/json")],
                body,
            )
            .await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
        assert_eq!(r.scenario(), "success");
    }
    // `"state": 01`, as the seed prints it.
    let r = sb
        .send(
            "POST",
            RFC,
            &[("apikey", KEY), ("Content-Type", "application/json")],
            "{\n  \"curp\": \"XAXA010101XXXXXX01\",\n  \"state\": 01\n}",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_uuid_v4(r.json()["verificationId"].as_str().unwrap());
    let r = sb
        .send(
            "POST",
            NSS,
            &[("apikey", KEY), ("Content-Type", "application/json")],
            "{\n  \"curp\": \"XAXA010101XXXXXX01\"\n}",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// Seed 004's header tables say `Content-Type | string | No |
// application/json`: a creation request with no Content-Type at all is
// accepted, and the status request as printed (a GET carrying
// `Content-Type: application/json` and no body) is answered.
#[tokio::test]
async fn seed_004_requests_without_content_type_and_status_get_with_it() {
    let sb = Sandbox::start().await;
    let mut ids = Vec::new();
    for (path, body) in [
        (
            INE,
            r#"{"type": "E", "id": "145591720", "ocr": "0535000172485", "issueNumber": ""}"#,
        ),
        (
            RFC,
            "{\n  \"curp\": \"XAXA010101XXXXXX01\",\n  \"state\": 01\n}",
        ),
        (NSS, "{\n  \"curp\": \"XAXA010101XXXXXX01\"\n}"),
    ] {
        let r = sb.send("POST", path, &[("apikey", KEY)], body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        ids.push(r.json()["verificationId"].as_str().unwrap().to_string());
    }
    sb.advance("2s").await;
    for (id, kind) in ids.iter().zip([1, 2, 3]) {
        let r = sb
            .send(
                "GET",
                &format!("{STATUS}?verificationId={id}"),
                &[("apikey", KEY), ("Content-Type", "application/json")],
                "",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let b = r.json();
        assert_eq!(b["verificationType"], kind);
        assert_eq!(b["verificationStatus"], 4);
        assert!(b["verification"].is_string(), "{b}");
    }
}

#[tokio::test]
async fn paths_header_names_and_form_bodies_are_taken_as_tu_identidad_takes_them() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            "/api/asyncverication/rfcbycurp",
            &[("ApiKey", KEY)],
            json!({"curp": EPN, "state": 9}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb
        .send(
            "POST",
            NSS,
            &[
                ("APIKEY", KEY),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!("curp={EPN}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb
        .send(
            "POST",
            RFC,
            &[
                ("apikey", KEY),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!("curp={EPN}&state=01"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Ids differ per request.
    let a = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let b = create(&sb, NSS, "other", json!({"curp": "NAZA650704MTLVCL05"})).await;
    assert_ne!(a, b);
}

#[tokio::test]
async fn ids_replay_with_the_seed() {
    let a = Sandbox::start().await;
    let b = Sandbox::start().await;
    let other_seed = Sandbox::start_with(mxid_sandbox::Config {
        seed: 1,
        ..config()
    })
    .await;
    let body = json!({"curp": EPN});
    let first = create(&a, NSS, KEY, body.clone()).await;
    assert_eq!(first, create(&b, NSS, KEY, body.clone()).await);
    assert_ne!(first, create(&other_seed, NSS, KEY, body).await);
}

#[tokio::test]
async fn missing_and_invalid_apikeys() {
    let sb = Sandbox::start().await;
    let denied = "Access Denied. ApiKey header not found.";
    let ine = json!({"type": "D", "id": "115568150", "ocr": "4855115346145"});
    let curp = json!({"curp": EPN, "state": 9});
    for (path, body, missing, invalid, invalid_message) in [
        (INE, &ine, "INENL003", "INENL003", denied),
        (RFC, &curp, "RFC002", "RFC003", "The apiKey is not valid."),
        (NSS, &curp, "NSS002", "NSS003", "The apiKey is not valid."),
    ] {
        let r = sb.post(path, &[], body.clone()).await;
        assert_error(&r, 401, missing, denied);
        assert_eq!(r.scenario(), "missing_credentials");
        let r = sb.post(path, &[("apikey", "  ")], body.clone()).await;
        assert_error(&r, 401, missing, denied);
        let r = sb
            .post(path, &[("ApiKey", "invalid-apikey")], body.clone())
            .await;
        assert_error(&r, 401, invalid, invalid_message);
        assert_eq!(r.scenario(), "invalid_credentials");
        let r = sb.post(path, &[("apikey", "llave-ñ")], body.clone()).await;
        assert_error(&r, 401, invalid, invalid_message);
    }
    let r = sb.get(&format!("{STATUS}?verificationId=x"), &[]).await;
    assert_error(&r, 401, "INENL003", denied);
    let r = sb
        .get(
            &format!("{STATUS}?verificationId=x"),
            &[("apikey", "invalid-apikey")],
        )
        .await;
    assert_error(&r, 401, "INENL003", denied);
}

#[tokio::test]
async fn strict_auth_takes_only_the_listed_apikey() {
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        strict_auth: true,
        ..config()
    })
    .await;
    let r = sb.post(NSS, &[("apikey", KEY)], json!({"curp": EPN})).await;
    assert_error(&r, 401, "NSS003", "The apiKey is not valid.");
    let r = sb
        .post(NSS, &[("apikey", "sandbox-apikey")], json!({"curp": EPN}))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn ine_input_checks() {
    let sb = Sandbox::start().await;
    let issue = ("INENL004", "Invalid issue number format.");
    let id = ("INENL005", "Invalid Id format.");
    let ocr = ("INENL006", "Invalid OCR format.");
    let kind = ("INENL007", "Invalid type.");
    for (body, (code, message), scenario) in [
        (
            json!({"id": "115568150", "ocr": "4855115346145"}),
            kind,
            "invalid_type",
        ),
        (
            json!({"type": "A", "id": "115568150", "ocr": "4855115346145"}),
            kind,
            "invalid_type",
        ),
        (
            json!({"type": "CD", "id": "115568150", "ocr": "4855115346145"}),
            kind,
            "invalid_type",
        ),
        (
            json!({"type": "D", "ocr": "4855115346145"}),
            id,
            "invalid_id",
        ),
        (
            json!({"type": "D", "id": "11556815", "ocr": "4855115346145"}),
            id,
            "invalid_id",
        ),
        (
            json!({"type": "D", "id": "11556815A", "ocr": "4855115346145"}),
            id,
            "invalid_id",
        ),
        (
            json!({"type": "D", "id": "TSVREL72100209M100", "ocr": "4855115346145"}),
            id,
            "invalid_id",
        ),
        (
            json!({"type": "C", "id": "115568150", "ocr": "3854006556540", "issueNumber": "03"}),
            id,
            "invalid_id",
        ),
        (
            json!({"type": "C", "id": "TSVREL72100209M10-", "ocr": "3854006556540", "issueNumber": "03"}),
            id,
            "invalid_id",
        ),
        (
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "38540065565", "issueNumber": "03"}),
            ocr,
            "invalid_ocr",
        ),
        (json!({"type": "D", "id": "115568150"}), ocr, "invalid_ocr"),
        (
            json!({"type": "D", "id": "115568150", "ocr": "48551153461"}),
            ocr,
            "invalid_ocr",
        ),
        (
            json!({"type": "H", "id": "115568150", "ocr": "48551153461A5"}),
            ocr,
            "invalid_ocr",
        ),
        (
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540"}),
            issue,
            "invalid_issue_number",
        ),
        (
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "3"}),
            issue,
            "invalid_issue_number",
        ),
        (
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "0A"}),
            issue,
            "invalid_issue_number",
        ),
        (
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": null}),
            issue,
            "invalid_issue_number",
        ),
    ] {
        let r = sb.post(INE, &[("apikey", KEY)], body.clone()).await;
        assert_error(&r, 400, code, message);
        assert_eq!(r.scenario(), scenario, "{body}");
    }
    // issueNumber is ignored for D–H, null or not; the type's case is not
    // checked; an OCR of 9 or 13 digits is taken for every type (INENL006).
    for body in [
        json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "092333274", "issueNumber": "03"}),
        json!({"type": "F", "id": "115568150", "ocr": "4855115346145", "issueNumber": null}),
        json!({"type": "h", "id": "115568150", "ocr": "485511534"}),
        json!({"type": "E", "id": "115568150", "ocr": "4855115346145", "issueNumber": "xx"}),
    ] {
        let r = sb.post(INE, &[("apikey", KEY)], body.clone()).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
    }
}

#[tokio::test]
async fn rfc_and_nss_input_checks() {
    let sb = Sandbox::start().await;
    let curp_msg = "The structure of the CURP is not correct";
    for (path, code) in [(RFC, "RFC006"), (NSS, "NSS006")] {
        for body in [
            json!({"state": 9}),
            json!({"curp": "", "state": 9}),
            json!({"curp": "PXNE660720HMCXTN0", "state": 9}),
            json!({"curp": "PXNE66072OHMCXTN06", "state": 9}),
            json!({"curp": 12, "state": 9}),
            // The pattern, but an impossible date and an unknown state.
            json!({"curp": "PXNE661320HMCXTN06", "state": 9}),
            json!({"curp": "PXNE660720HZZXTN06", "state": 9}),
        ] {
            let r = sb.post(path, &[("apikey", KEY)], body.clone()).await;
            assert_error(&r, 400, code, curp_msg);
            assert_eq!(r.scenario(), "invalid_format", "{body}");
        }
    }
    let state_msg = "The structure of the state is not correct";
    for state in [
        json!(0),
        json!(33),
        // State 1 were it cut to a byte.
        json!(257),
        json!("x"),
        json!(null),
        json!(-1),
        json!(1.5),
    ] {
        let r = sb
            .post(
                RFC,
                &[("apikey", KEY)],
                json!({"curp": EPN, "state": state}),
            )
            .await;
        assert_error(&r, 400, "RFC007", state_msg);
        assert_eq!(r.scenario(), "invalid_state");
    }
    let r = sb.post(RFC, &[("apikey", KEY)], json!({"curp": EPN})).await;
    assert_error(&r, 400, "RFC007", state_msg);
    for state in [json!(1), json!(32), json!("15")] {
        let r = sb
            .post(
                RFC,
                &[("apikey", KEY)],
                json!({"curp": EPN, "state": state}),
            )
            .await;
        assert_eq!(r.status, 200, "{state}");
    }
    // A lowercase CURP is read upper-cased, as every provider here does.
    let r = sb
        .post(NSS, &[("apikey", KEY)], json!({"curp": EPN.to_lowercase()}))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn engine_errors_are_in_the_code_message_shape() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(&format!("{BASE}/CurpByData"), &[("apikey", KEY)], json!({}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "NOT_FOUND");
    let r = sb.get(NSS, &[("apikey", KEY)]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["code"], "METHOD_NOT_ALLOWED");
    let r = sb
        .send(
            "POST",
            NSS,
            &[("apikey", KEY), ("content-type", "application/json")],
            "{\"curp\": ",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "BAD_REQUEST");
}

// ---- status ---------------------------------------------------------------------

#[tokio::test]
async fn a_verification_id_is_found_in_either_case() {
    // A GUID, which .NET parses in either case (and in the body of a POST).
    let sb = Sandbox::start().await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let upper = id.to_uppercase();
    assert_ne!(upper, id);
    assert_eq!(status(&sb, &upper).await["verificationId"], id.as_str());
    // In each form .NET's Guid.Parse reads: 32 digits, braces, parentheses
    // (braces percent-encoded in a query, as a client sends them).
    let digits = upper.replace('-', "");
    for form in [digits, format!("%7B{id}%7D"), format!("({id})")] {
        let got = status(&sb, &form).await;
        assert_eq!(got["verificationId"], id.as_str(), "{form}: {got}");
    }
    let r = sb
        .post(STATUS, &[("apikey", KEY)], json!({"verificationId": upper}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["verificationId"], id.as_str());
    // A GET's body is not read: the id is in its query or not given.
    let r = sb
        .send(
            "GET",
            STATUS,
            &[("apikey", KEY), ("content-type", "application/json")],
            json!({"verificationId": id}).to_string(),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.scenario(), "unknown_verification");
    // Braces or parentheses around what is not a GUID (shorter than one,
    // or as long but not hex) are not unwrapped: an unknown id, as sent.
    let not_hex = format!("{}x", &id[..35]);
    for (sent, said) in [
        ("%7Babc%7D", "{abc}"),
        ("(abc)", "(abc)"),
        ("%7Babcdef%7D", "{abcdef}"),
        (&*format!("%7B{not_hex}%7D"), &*format!("{{{not_hex}}}")),
    ] {
        let r = sb
            .get(
                &format!("{STATUS}?verificationId={sent}"),
                &[("apikey", KEY)],
            )
            .await;
        assert_eq!(r.status, 404, "{sent}: {}", r.text());
        assert_eq!(r.json()["code"], "INENL016", "{sent}: {}", r.text());
        let forced = sb
            .get(
                &format!("{STATUS}?verificationId={sent}"),
                &[("apikey", KEY), ("x-sandbox-scenario", "success")],
            )
            .await;
        assert_eq!(
            forced.json()["verificationId"],
            said,
            "{sent}: {}",
            forced.text()
        );
        let r = sb
            .admin_post(
                &format!("/__admin/webhooks/deliveries/{sent}/redeliver"),
                json!({}),
            )
            .await;
        assert_eq!(r.status, 404, "{sent}: {}", r.text());
        assert_eq!(
            r.json()["error"],
            format!("no verification '{said}' in this namespace"),
            "{sent}"
        );
        let listed = sb
            .admin_get(&format!(
                "/__admin/webhooks/deliveries?verificationId={sent}"
            ))
            .await;
        assert_eq!(listed, json!([]), "{sent}");
    }
}

#[tokio::test]
async fn status_errors_unknown_missing_and_another_companys_id() {
    let sb = Sandbox::start().await;
    let unknown = ("INENL016", "The register could not be found.");
    for q in [
        "?verificationId=5f1e6f0a-0000-4000-8000-000000000000",
        "?verificationId=",
        "",
    ] {
        let r = sb.get(&format!("{STATUS}{q}"), &[("apikey", KEY)]).await;
        assert_error(&r, 404, unknown.0, unknown.1);
        assert_eq!(r.scenario(), "unknown_verification");
    }
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let r = sb
        .get(
            &format!("{STATUS}?verificationId={id}"),
            &[("apikey", "another-company")],
        )
        .await;
    assert_error(
        &r,
        403,
        "INENL015",
        "Access denied the company could not be identified.",
    );
    assert_eq!(r.scenario(), "no_permission");
    // Another namespace does not see it either.
    let r = sb
        .get(
            &format!("{STATUS}?verificationId={id}"),
            &[("apikey", KEY), ("X-Sandbox-Namespace", "other-suite")],
        )
        .await;
    assert_eq!(r.status, 404);
    // POST with the same query is accepted, as are the query name's other cases.
    let r = sb
        .send(
            "POST",
            &format!("{STATUS}?verificationId={id}"),
            &[("apikey", KEY)],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["verificationId"], id.as_str());
    let r = sb
        .get(
            &format!("/api/asyncverication/verificationstatus?verificationid={id}"),
            &[("apikey", KEY)],
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_forced_status_without_a_verification_shows_a_completed_example() {
    let sb = Sandbox::start().await;
    let r = sb
        .get(
            &format!("{STATUS}?verificationId=abc"),
            &[("apikey", KEY), ("X-Sandbox-Scenario", "success")],
        )
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["verificationId"], "abc");
    assert_eq!(b["verificationType"], 2);
    assert_eq!(b["verificationStatus"], 4);
    let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
    assert_eq!(v, json!({"rfc": person("XAXA010101XXXXXX01").rfc}));
}

// ---- the timeline -----------------------------------------------------------------

#[tokio::test]
async fn processing_then_completed_with_the_persons_rfc_and_nss() {
    let sb = Sandbox::start().await;
    let rfc = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 15})).await;
    let nss = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let b = status(&sb, &rfc).await;
    assert_eq!(
        b,
        json!({"verificationId": rfc, "verificationType": 2, "verificationStatus": 1, "verification": null, "warnings": []})
    );
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "verificationId",
            "verificationType",
            "verificationStatus",
            "verification",
            "warnings"
        ]
    );
    sb.advance("1999ms").await;
    assert_eq!(status_code(&sb, &rfc).await, 1);
    sb.advance("1ms").await;
    // No webhook target for this apikey: completed as soon as the source answers.
    let b = status(&sb, &rfc).await;
    assert_eq!(b["verificationStatus"], 4);
    assert_eq!(b["warnings"], json!([]));
    // The person behind the CURP, the same one every provider answers with.
    let p = person(EPN);
    assert_eq!(
        b["verification"].as_str().unwrap(),
        format!("{{\"rfc\":\"{}\"}}", p.rfc)
    );
    assert_eq!(
        status(&sb, &nss).await["verification"].as_str().unwrap(),
        format!("{{\"nss\":\"{}\"}}", p.nss)
    );
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["verificationId"], rfc.as_str());
    assert_eq!(list[0]["status"], "Completed");
    assert_eq!(list[0]["scenario"], "success");
    assert_eq!(list[0]["apikey"], KEY);
    assert_eq!(list[0]["createdAt"], "2024-05-15T10:00:00.000000-06:00");
    assert_eq!(list[0]["completedAt"], "2024-05-15T10:00:02.000000-06:00");
    assert_eq!(list[0]["deliveryAttempts"], 0);
}

#[tokio::test]
async fn a_credential_that_votes_has_a_holder_of_age() {
    // The holder behind each credential is drawn from the request: across
    // many, none is a minor, whose credential would be issued in the future.
    let sb = Sandbox::start().await;
    let mut ids = Vec::new();
    for i in 0..40u32 {
        let id = format!("{:09}", 115_568_150 + i * 7_919);
        let body = json!({"type": "D", "id": id, "ocr": "4855115346145"});
        ids.push(create(&sb, INE, KEY, body).await);
    }
    sb.advance("2s").await;
    for id in ids {
        let v: Value =
            serde_json::from_str(status(&sb, &id).await["verification"].as_str().unwrap()).unwrap();
        let d = &v["data"];
        let year = |k: &str| d[k].as_str().unwrap().parse::<u16>().unwrap();
        assert!(year("registrationYear") <= 2025, "{d}");
        assert!(year("issueYear") <= 2025, "{d}");
        assert!(year("registrationYear") <= year("issueYear"), "{d}");
    }
}

/// async: `cannot_vote` (README, scenarios of the creation endpoints):
/// "`valid` true, `canVote` false, `data` as on `success`": the document's
/// two flags apart. The elector code is echoed in capitals, as `type` is,
/// however it was sent. A deceased holder's credential is off the register
/// there too, as on `success`.
#[tokio::test]
async fn cannot_vote_is_a_valid_credential_whose_holder_does_not_vote() {
    let sb = Sandbox::start().await;
    let body = json!({"type": "c", "id": "tsvrel72100209m100", "ocr": "3854006556540", "issueNumber": "03"});
    let id = create_forced(&sb, INE, "cannot_vote", body.clone()).await;
    let success = create_forced(&sb, INE, "success", body).await;
    sb.advance("2s").await;
    let verification = |b: Value| -> Value {
        assert_eq!(b["verificationStatus"], 4, "{b}");
        assert_eq!(b["warnings"], json!([]), "{b}");
        serde_json::from_str(b["verification"].as_str().unwrap()).unwrap()
    };
    let v = verification(status(&sb, &id).await);
    let s = verification(status(&sb, &success).await);
    assert_eq!((&v["valid"], &v["canVote"]), (&json!(true), &json!(false)));
    assert_eq!((&s["valid"], &s["canVote"]), (&json!(true), &json!(true)));
    assert_eq!(v["data"], s["data"], "the same credential's data");
    assert_eq!(v["data"]["type"], "C");
    assert_eq!(v["data"]["electorCode"], "TSVREL72100209M100");

    let dead = crate::curp_rules::domain()
        .person("MEGR380412MJCDRS07", 0)
        .ine;
    let body = json!({"type": "D", "id": dead.cic.to_string(), "ocr": dead.ocr.to_string()});
    let id = create_forced(&sb, INE, "cannot_vote", body).await;
    sb.advance("2s").await;
    assert_eq!(
        verification(status(&sb, &id).await),
        json!({"valid": false, "canVote": false, "data": null})
    );
}

#[tokio::test]
async fn ine_data_comes_from_the_request() {
    let sb = Sandbox::start().await;
    let c = create(
        &sb,
        INE,
        KEY,
        json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "03"}),
    )
    .await;
    let g = create(
        &sb,
        INE,
        KEY,
        json!({"type": "G", "id": "204978519", "ocr": "092333274", "issueNumber": ""}),
    )
    .await;
    sb.advance("2s").await;
    let b = status(&sb, &c).await;
    assert_eq!(b["verificationType"], 1);
    assert_eq!(b["verificationStatus"], 4);
    let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["canVote"], true);
    let d = &v["data"];
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "type",
            "electorCode",
            "cicNumber",
            "issueNumber",
            "issueYear",
            "registrationYear",
            "ocrNumber",
            "expDate"
        ]
    );
    assert_eq!(d["type"], "C");
    assert_eq!(d["electorCode"], "TSVREL72100209M100");
    assert_eq!(d["cicNumber"], "");
    assert_eq!(d["issueNumber"], "03");
    assert_eq!(d["ocrNumber"], "3854006556540");
    assert_eq!(d["issueYear"].as_str().unwrap().len(), 4);
    assert!(d["expDate"].as_str().unwrap().starts_with("31/12/"));

    let v: Value =
        serde_json::from_str(status(&sb, &g).await["verification"].as_str().unwrap()).unwrap();
    let d = &v["data"];
    assert_eq!(d["type"], "G");
    assert_eq!(d["cicNumber"], "204978519");
    assert_eq!(d["ocrNumber"], "092333274");
    assert_eq!(d["electorCode"].as_str().unwrap().len(), 18);

    // success forced on a request the checks refuse: the document's type C
    // example, not empty fields.
    let forced = create_forced(&sb, INE, "success", json!({})).await;
    sb.advance("2s").await;
    let v: Value =
        serde_json::from_str(status(&sb, &forced).await["verification"].as_str().unwrap()).unwrap();
    let d = &v["data"];
    assert_eq!(d["type"], "C");
    assert_eq!(d["electorCode"], "TSVREL72100209M100");
    assert_eq!(d["ocrNumber"], "3854006556540");
    assert_eq!(d["issueNumber"], "03");
}

/// Creates a type C IneNominalList verification for each elector code, with
/// `issue_number`, and completes them: each code with its `data`.
async fn type_c_data<'a>(
    sb: &Sandbox,
    codes: &[&'a str],
    issue_number: &str,
) -> Vec<(&'a str, Value)> {
    let mut ids = Vec::new();
    for &code in codes {
        let body =
            json!({"type": "C", "id": code, "ocr": "3854006556540", "issueNumber": issue_number});
        ids.push((code, create(sb, INE, KEY, body).await));
    }
    sb.advance("2s").await;
    let mut data = Vec::new();
    for (code, id) in ids {
        let b = status(sb, &id).await;
        assert_eq!(b["verificationStatus"], 4, "{b}");
        let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
        assert_eq!(v["data"]["issueNumber"], issue_number, "{code}: {v}");
        data.push((code, v["data"].clone()));
    }
    data
}

/// SPEC §4: "INE data consistent with that person"; README (The people
/// behind the CURPs / Decisions, Synthetic data): "INE registration at 18
/// or later". A type C request names the credential by its elector code,
/// which states the holder's birth date (positions 7-12, YYMMDD; the INE
/// example `TSVREL72100209M100` is someone born 1972-10-02). For a year 99
/// or 95 the holder can only be born in 19YY (born 20YY they could not be
/// registered, of age, by 2025), so the registration year reported is
/// 19YY + 18 or later: the years come from the holder the code names, not
/// from an unrelated person.
#[tokio::test]
async fn a_type_c_credential_is_not_registered_before_its_holder_came_of_age() {
    let sb = Sandbox::start().await;
    let codes = [
        "LOPZAN99123109M301",
        "GOPEJN95010109H200",
        "MRSNLS99061514M120",
        "HRLPJN95030309H001",
    ];
    let mut wrong = Vec::new();
    for (code, d) in type_c_data(&sb, &codes, "03").await {
        assert_eq!(d["electorCode"], code, "{d}");
        let born = 1900 + code[6..8].parse::<i32>().unwrap();
        let registered: i32 = d["registrationYear"].as_str().unwrap().parse().unwrap();
        if registered < born + 18 {
            wrong.push(format!(
                "{code} (born {born}): registrationYear {registered}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "INE registration before the holder the elector code names came of age: {wrong:?}"
    );
}

/// README (The people behind the CURPs): a credential that votes has an
/// adult holder. A type D or G request names the credential by its CIC, so
/// the holder is drawn from the credential's fields; the elector code
/// reported states their birth date (YYMMDD, positions 7-12). Synthetic
/// people are born 1930-2024, so YY 30-99 is 19YY and 00-29 is 20YY. Over
/// many credentials: no holder is under 18 in 2025, the holders differ
/// (not one fallback person for all), and the youngest voters, born in
/// 2007, are among them (of age in 2025, not a year later).
#[tokio::test]
async fn a_type_d_or_g_credential_has_a_holder_of_voting_age() {
    let sb = Sandbox::start().await;
    let mut ids = Vec::new();
    for n in 0..300u32 {
        let kind = if n % 2 == 0 { "D" } else { "G" };
        let cic = format!("{:09}", 204_978_519 + n * 7_919);
        let body = json!({"type": kind, "id": cic, "ocr": "092333274", "issueNumber": ""});
        ids.push(create(&sb, INE, KEY, body).await);
    }
    sb.advance("2s").await;
    let mut codes = std::collections::BTreeSet::new();
    let (mut minors, mut youngest) = (Vec::new(), 0);
    for id in ids {
        let b = status(&sb, &id).await;
        assert_eq!(b["verificationStatus"], 4, "{b}");
        let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
        let code = v["data"]["electorCode"].as_str().unwrap().to_string();
        let yy: i32 = code[6..8].parse().unwrap();
        let born = if yy >= 30 { 1900 + yy } else { 2000 + yy };
        if born + 18 > 2025 {
            minors.push(format!("{code} (born {born})"));
        }
        youngest += i32::from(born == 2007);
        codes.insert(code);
    }
    assert!(
        minors.is_empty(),
        "{} holders under 18, among them {:?}",
        minors.len(),
        &minors[..minors.len().min(5)]
    );
    assert!(
        codes.len() > 250,
        "{} holders for 300 credentials",
        codes.len()
    );
    assert!(youngest > 0, "no holder born in 2007 among 300 credentials");
}

/// README (The people behind the CURPs; Decisions, Synthetic data): "INE
/// registration at 18 or later, issue number 00 when the issue year is the
/// registration year" (src/curp/ine.rs pins `issue_number == "00"` iff
/// `issue_year == registration_year`). A type C request states its
/// `issueNumber`; when it is `00` (the first credential, issued when the
/// holder registered) the issue year reported is the registration year.
#[tokio::test]
async fn a_first_issue_credential_is_issued_the_year_it_was_registered() {
    let sb = Sandbox::start().await;
    let codes = [
        "LOPZAN99123109M301",
        "TSVREL72100209M100",
        "GOPEJN95010109H200",
    ];
    let mut wrong = Vec::new();
    for (code, d) in type_c_data(&sb, &codes, "00").await {
        assert_eq!(d["issueNumber"], "00", "{d}");
        if d["issueYear"] != d["registrationYear"] {
            wrong.push(format!(
                "{code}: issueNumber 00, issueYear {}, registrationYear {}",
                d["issueYear"], d["registrationYear"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

/// Type C IneNominalList verifications, one an (elector code, issue
/// number), completed: each request (`"CODE ISSUE"`) with its `data`.
async fn type_c_requests(sb: &Sandbox, requests: &[(&str, &str)]) -> Vec<(String, Value)> {
    let mut data = Vec::new();
    for &(code, issue) in requests {
        for (_, d) in type_c_data(sb, &[code], issue).await {
            data.push((format!("{code} {issue}"), d));
        }
    }
    data
}

fn year(d: &Value, field: &str) -> i32 {
    d[field].as_str().unwrap().parse().unwrap()
}

/// README, Decisions ("Synthetic data"): "issue number 00 when the issue
/// year is the registration year" (src/curp/ine.rs pins `issue_number ==
/// "00"` iff `issue_year == registration_year`), and "A type C
/// IneNominalList request states the elector code and the issue number: its
/// years agree with ... that issue number". An issue number 01 to 05 is a
/// replacement, issued after the registration year, even for a code that
/// states a birth in 02–07 (one of 07, of age only in 2025, is read as 1907).
#[tokio::test]
async fn a_replacement_credential_is_not_issued_the_year_of_registration() {
    let sb = Sandbox::start().await;
    let requests = [
        ("LOPZAN02011509M300", "01"),
        ("LOPZAN04011509M300", "02"),
        ("LOPZAN05051509M304", "01"),
        ("LOPZAN06021509M301", "01"),
        ("LOPZAN06041509M303", "02"),
        ("TSVREL07010109M100", "01"),
        ("TSVREL07123109M100", "03"),
        ("LOPZAN07061514M301", "05"),
    ];
    let mut wrong = Vec::new();
    for (what, d) in type_c_requests(&sb, &requests).await {
        let (reg, issue) = (year(&d, "registrationYear"), year(&d, "issueYear"));
        if issue <= reg {
            wrong.push(format!(
                "{what}: issueNumber {}, registrationYear {reg}, issueYear {issue}",
                d["issueNumber"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// README, Decisions ("Synthetic data"): a type C request's "years agree
/// with the birth date the code states (YYMMDD, in the century that makes
/// the holder of age)"; "an impossible date is clamped to the nearest real
/// one (991399 → 1999-12-31)"; "INE registration at 18 or later". An
/// elector code whose day or month is impossible (99-02-30, 99-13-31) still
/// states the year 1999, and the registration comes after that holder came
/// of age.
#[tokio::test]
async fn a_type_c_code_with_an_impossible_day_still_states_its_birth_year() {
    let sb = Sandbox::start().await;
    let requests = [
        ("LOPZAN99023009M301", "03"),
        ("LOPZAN99023009M301", "00"),
        ("LOPZAN99133109M301", "03"),
        ("GOPEJN95023109H200", "01"),
    ];
    let mut wrong = Vec::new();
    for (what, d) in type_c_requests(&sb, &requests).await {
        let born = 1900 + what[6..8].parse::<i32>().unwrap();
        let reg = year(&d, "registrationYear");
        if reg < born + 18 {
            wrong.push(format!("{what} (born {born}): registrationYear {reg}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "INE registration before the holder the elector code names came of age: {wrong:#?}"
    );
}

/// Seed 004 (IneNominalList result): `valid` "If the document is valid or
/// not as official identification", `expDate` "Effective date"; README
/// async: `success` answers `valid`/`canVote` true, "expiry ten years after
/// issue"; README INE rule: "registration at 18 or later". A type C first
/// credential (`issueNumber` 00) that is valid is still in force on the
/// sandbox clock (2024), whenever its holder was born: the document's own
/// elector code TSVREL72100209M100, a 1950-born and a 1908-born holder.
#[tokio::test]
async fn a_valid_first_credential_has_not_expired() {
    let sb = Sandbox::start().await;
    let requests = [
        ("TSVREL72100209M100", "00"),
        ("LOPZAN50011509M300", "00"),
        ("LOPZAN08011509M300", "00"),
    ];
    let mut wrong = Vec::new();
    for (what, d) in type_c_requests(&sb, &requests).await {
        let exp: i32 = d["expDate"].as_str().unwrap()[6..].parse().unwrap();
        if exp < 2024 {
            wrong.push(format!(
                "{what}: valid true, expDate {} (issueYear {})",
                d["expDate"], d["issueYear"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "valid as identification yet expired: {wrong:#?}"
    );
}

#[tokio::test]
async fn not_found_errors_complete_with_their_warning() {
    let sb = Sandbox::start().await;
    let curp = json!({"curp": EPN, "state": 9});
    let ine = json!({"type": "D", "id": "115568150", "ocr": "4855115346145"});
    let cases = [
        (
            RFC,
            "not_found",
            &curp,
            "RFC005",
            "CURP does not match with source",
        ),
        (
            RFC,
            "not_found2",
            &curp,
            "RFC008",
            "The information associated to the RFC was not found.",
        ),
        (
            NSS,
            "not_found",
            &curp,
            "NSS005",
            "CURP does not match with source.",
        ),
        (
            NSS,
            "attempts_exceeded",
            &curp,
            "NSS008",
            "The number of operations per period has been reached.",
        ),
    ];
    let mut ids = Vec::new();
    for (path, scenario, body, _, _) in cases {
        ids.push(create_forced(&sb, path, scenario, body.clone()).await);
    }
    let ine_invalid = create_forced(&sb, INE, "not_found", ine.clone()).await;
    for id in &ids {
        assert_eq!(status_code(&sb, id).await, 1);
    }
    sb.advance("2s").await;
    for (id, (_, scenario, _, code, message)) in ids.iter().zip(cases) {
        let b = status(&sb, id).await;
        assert_eq!(b["verificationStatus"], 4, "{scenario}");
        assert_eq!(b["verification"], Value::Null, "{scenario}");
        assert_eq!(b["warnings"], json!([{"code": code, "message": message}]));
    }
    let b = status(&sb, &ine_invalid).await;
    assert_eq!(b["warnings"], json!([]));
    let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
    assert_eq!(v, json!({"valid": false, "canVote": false, "data": null}));
}

#[tokio::test]
async fn a_curp_renapo_never_issued_is_not_found_at_the_source() {
    // Every rule but the check digit holds: accepted, and the source does
    // not find it (RFC005, NSS005) on the realistic path.
    let sb = Sandbox::start().await;
    let body = json!({"curp": "PXNE660720HMCXTN05", "state": 9});
    let mut ids = Vec::new();
    for path in [RFC, NSS] {
        let r = sb.post(path, &[("apikey", KEY)], body.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.scenario(), "not_found");
        ids.push(r.json()["verificationId"].as_str().unwrap().to_string());
    }
    sb.advance("2s").await;
    for (id, (code, message)) in ids.iter().zip([
        ("RFC005", "CURP does not match with source"),
        ("NSS005", "CURP does not match with source."),
    ]) {
        let b = status(&sb, id).await;
        assert_eq!(b["verificationStatus"], 4, "{code}");
        assert_eq!(b["warnings"], json!([{"code": code, "message": message}]));
    }
}

/// README async: someone under 16 in 2025 has no RFC ("the SAT registering
/// from 16"): RfcByCurp's realistic path completes with RFC008, and a
/// `success` forced for them states the SAT's generic RFC.
#[tokio::test]
async fn a_person_under_16_has_no_rfc_at_the_sat() {
    let sb = Sandbox::start().await;
    let body = json!({"curp": "TODR120505MPLRZGA1", "state": 21});
    let r = sb.post(RFC, &[("apikey", KEY)], body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "not_found2");
    let realistic = r.json()["verificationId"].as_str().unwrap().to_string();
    let forced = create_forced(&sb, RFC, "success", body).await;
    sb.advance("2s").await;
    let b = status(&sb, &realistic).await;
    assert_eq!(b["verification"], Value::Null, "{b}");
    assert_eq!(
        b["warnings"],
        json!([{"code": "RFC008", "message": "The information associated to the RFC was not found."}])
    );
    let b = status(&sb, &forced).await;
    assert_eq!(b["verification"], "{\"rfc\":\"XAXX010101000\"}", "{b}");
    // The input checks come first: a bad state is RFC007, at once.
    for body in [
        json!({"curp": "TODR120505MPLRZGA1", "state": 99}),
        json!({"curp": "TODR120505MPLRZGA1"}),
    ] {
        let r = sb.post(RFC, &[("apikey", KEY)], body).await;
        assert_eq!(
            (r.status, r.scenario()),
            (400, "invalid_state"),
            "{}",
            r.text()
        );
        assert_eq!(r.json()["code"], "RFC007");
    }
}

/// SPEC §4: "The same CURP gives the same person on every provider ... an
/// NSS ... consistent with that person". The persona `NAZA650704MTLVCL05`
/// (fixtures/personas.yaml) is a person IMSS has no NSS for: Kiban's IMSS
/// query answers NOT_FOUND "No se encontro un numero asociado al CURP", and
/// Tu Identidad's NssByCurp, asking the same IMSS for the same CURP,
/// completes without an NSS, with async's not-found warning NSS005 "CURP
/// does not match with source." (README async scenarios table).
#[tokio::test]
async fn a_person_without_an_nss_at_imss_has_none_on_async_either() {
    let sb = Sandbox::start().await;
    let curp = "NAZA650704MTLVCL05";
    let r = sb
        .post(IMSS_NSS, &[("x-api-key", KEY)], json!({"curp": curp}))
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["response"]["status"], "NOT_FOUND", "{b}");
    assert_eq!(
        b["response"]["message"],
        "No se encontro un numero asociado al CURP"
    );

    let id = create(&sb, NSS, KEY, json!({"curp": curp})).await;
    sb.advance("2s").await;
    let s = status(&sb, &id).await;
    assert_eq!(s["verificationStatus"], 4, "{s}");
    assert!(
        s["verification"].is_null(),
        "IMSS has no NSS for {curp} (nss provider), yet async NssByCurp delivers one: {s}"
    );
    assert_eq!(s["warnings"][0]["code"], "NSS005", "{s}");
}

/// README, Decisions ("Synthetic data"): someone not yet 16 in 2025 has no
/// NSS, and "a success forced for them states the document's example NSS"
/// (08189782793, seeds/000); README personas: "`nss: \"\"` is a person IMSS
/// has not registered", and a persona may name a scenario per provider.
/// With a user's personas file (`--fixtures`) that does not list the
/// document's example CURP, a forced success for a 2010-born CURP, or for a
/// user persona with `nss: ""` and `scenarios: {nss: success, async:
/// success}`, states the document's NSS on nss and on async NssByCurp alike.
#[tokio::test]
async fn a_forced_success_without_an_nss_states_the_documents_nss_with_a_users_personas() {
    const DOCUMENTED_NSS: &str = "08189782793";
    let dir = crate::common::temp_dir("personas-without-nss");
    std::fs::write(
        dir.join("personas.yaml"),
        format!("# a user's personas\n- curp: {EPN}\n  nss: \"\"\n  scenarios: {{nss: success, async: success}}\n"),
    )
    .unwrap();
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    // Born 2010-01-01: not yet 16 in 2025.
    let first17 = "LOPA100101MDFPRNA";
    let minor = format!(
        "{first17}{}",
        mxid_sandbox::curp::check_digit(first17).unwrap()
    );
    let mut wrong = Vec::new();
    for (who, forced) in [(minor.as_str(), true), (EPN, false)] {
        let mut h = vec![("x-api-key", KEY)];
        if forced {
            h.push(("X-Sandbox-Scenario", "success"));
        }
        let r = sb.post(IMSS_NSS, &h, json!({"curp": who})).await;
        assert_eq!(r.scenario(), "success", "{}", r.text());
        let nss = r.json()["response"]["nss"].clone();
        if nss != DOCUMENTED_NSS {
            wrong.push(format!("nss {who}: {nss}"));
        }
        let body = json!({"curp": who});
        let id = if forced {
            create_forced(&sb, NSS, "success", body).await
        } else {
            create(&sb, NSS, KEY, body).await
        };
        sb.advance("2s").await;
        let s = status(&sb, &id).await;
        let v = s["verification"].as_str().unwrap_or("null").to_string();
        if v != format!("{{\"nss\":\"{DOCUMENTED_NSS}\"}}") {
            wrong.push(format!("async NssByCurp {who}: {v}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        wrong.is_empty(),
        "a forced success for someone without an NSS does not state the document's {DOCUMENTED_NSS}: {wrong:#?}"
    );
}

#[tokio::test]
async fn an_unavailable_source_is_retried_at_20_and_40_minutes() {
    retried_at_20_and_40_minutes(
        "unavailable",
        [
            ("INENL001", "Unable to validate data with source."),
            ("RFC010", "SAT source unavailable."),
            ("NSS007", "IMSS source unavailable."),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_processing_error_is_retried_at_20_and_40_minutes() {
    // The document: the retry policy applies "when the source site is under
    // maintenance or a processing error has occurred".
    retried_at_20_and_40_minutes(
        "internal_error",
        [
            (
                "INENL002",
                "Something was wrong, we are working on the failure.",
            ),
            (
                "RFC004",
                "Something was wrong, we are working on the failure",
            ),
            (
                "NSS004",
                "Something was wrong, We are working on the failure",
            ),
        ],
    )
    .await;
}

/// Forces `scenario` on the three types (INE, RFC, NSS) and follows the
/// retries to the warning each completes with.
async fn retried_at_20_and_40_minutes(scenario: &str, warnings: [(&str, &str); 3]) {
    let (sb, hook) = hooked().await;
    let curp = json!({"curp": EPN, "state": 9});
    let ine = json!({"type": "D", "id": "115568150", "ocr": "4855115346145"});
    let cases = [
        (INE, &ine, warnings[0].0, warnings[0].1),
        (RFC, &curp, warnings[1].0, warnings[1].1),
        (NSS, &curp, warnings[2].0, warnings[2].1),
    ];
    let mut ids = Vec::new();
    for (path, body, _, _) in cases {
        ids.push(create_forced(&sb, path, scenario, body.clone()).await);
    }
    let all = |code: u64| {
        let ids = ids.clone();
        let sb = &sb;
        async move {
            for id in &ids {
                assert_eq!(status_code(sb, id).await, code);
            }
        }
    };
    all(1).await;
    sb.advance("2s").await;
    all(2).await;
    sb.advance("1199s").await;
    all(2).await;
    sb.advance("1s").await; // first retry, +20 min: still down
    all(2).await;
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["sourceTries"], 2);
    assert_eq!(list[0]["status"], "Retrying");
    assert!(hook.received().is_empty());
    sb.advance("1199s").await;
    all(2).await;
    sb.advance("1s").await; // second retry, +40 min: gives up, delivers the warning
    for (id, (_, _, code, message)) in ids.iter().zip(cases) {
        let b = status(&sb, id).await;
        assert_eq!(b["verificationStatus"], 4);
        assert_eq!(b["verification"], Value::Null);
        assert_eq!(b["warnings"], json!([{"code": code, "message": message}]));
    }
    let got = hook.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].json()["warnings"][0]["code"], warnings[1].0);
    assert_eq!(got[1].json()["verificationStatus"], 3);
    let d = deliveries(&sb).await;
    assert_eq!(d[0]["time"], "2024-05-15T10:40:02.000000-06:00");
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["sourceTries"], 3);
}

#[tokio::test]
async fn a_source_back_at_a_retry_answers_with_its_data() {
    // The document: "the second [retry], if necessary": the source may come
    // back at the first retry (+20 min) or the second (+40 min).
    let (sb, hook) = hooked().await;
    let body = json!({"curp": EPN, "state": 9});
    let first = create_forced(&sb, RFC, "recovers_on_retry", body.clone()).await;
    let second = create_forced(&sb, NSS, "recovers_on_second_retry", body).await;
    sb.advance("2s").await;
    for id in [&first, &second] {
        let b = status(&sb, id).await;
        assert_eq!(b["verificationStatus"], 2, "{b}");
        assert_eq!(b["verification"], Value::Null);
    }
    sb.advance("20m").await; // the first retry: one is back
    let b = status(&sb, &first).await;
    assert_eq!(b["verificationStatus"], 4, "{b}");
    assert_eq!(b["warnings"], json!([]));
    let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
    assert_eq!(v, json!({"rfc": person(EPN).rfc}));
    assert_eq!(status_code(&sb, &second).await, 2);
    sb.advance("20m").await; // the second retry: the other is back
    let b = status(&sb, &second).await;
    assert_eq!(b["verificationStatus"], 4, "{b}");
    let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
    assert_eq!(v, json!({"nss": person(EPN).nss}));
    let got = hook.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|h| h.json()["warnings"] == json!([])));
    let list = sb.admin_get("/__admin/verifications").await;
    let tries: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["sourceTries"])
        .collect();
    assert!(
        tries.contains(&&json!(2)) && tries.contains(&&json!(3)),
        "{list}"
    );
}

// README async: `settings.nss_per_curp_per_day` (2 by default) sets the
// daily limit, and `null` turns it off (no counter kept).
#[tokio::test]
async fn the_nss_daily_limit_is_a_setting_and_null_turns_it_off() {
    for (setting, allowed) in [("3", Some(3)), ("null", None)] {
        let dir = scenarios_with(
            &format!("nss-limit-{setting}"),
            &[(
                "nss_per_curp_per_day: 2",
                &format!("nss_per_curp_per_day: {setting}"),
            )],
        );
        let sb = Sandbox::start_with(mxid_sandbox::Config {
            scenarios: Source::Dir(dir.clone()),
            ..config()
        })
        .await;
        let mut scenarios = Vec::new();
        for _ in 0..5 {
            let r = sb.post(NSS, &[("apikey", KEY)], json!({"curp": EPN})).await;
            assert_eq!(r.status, 200, "{}", r.text());
            scenarios.push(r.scenario().to_string());
        }
        let over = scenarios
            .iter()
            .filter(|s| *s == "attempts_exceeded")
            .count();
        assert_eq!(over, 5 - allowed.unwrap_or(5), "{setting}: {scenarios:?}");
        let counters = sb.admin_get("/__admin/counters").await;
        match allowed {
            Some(limit) => assert_eq!(counters[0]["limit"], limit, "{counters}"),
            None => assert_eq!(counters, json!([])),
        }
        sb.stop().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn the_third_nss_request_for_a_curp_in_a_day_completes_with_nss008() {
    let sb = Sandbox::start().await;
    let body = json!({"curp": EPN});
    let first = create(&sb, NSS, KEY, body.clone()).await;
    let second = create(&sb, NSS, "another-key", body.clone()).await;
    let r = sb.post(NSS, &[("apikey", KEY)], body.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.scenario(), "attempts_exceeded");
    let third = r.json()["verificationId"].as_str().unwrap().to_string();
    // Another CURP has its own count; RfcByCurp is not counted.
    let other = create(&sb, NSS, KEY, json!({"curp": "HEGJ900515HDFRRN01"})).await;
    create(&sb, RFC, KEY, json!({"curp": EPN, "state": 1})).await;
    sb.advance("2s").await;
    assert_eq!(status(&sb, &first).await["warnings"], json!([]));
    let r = sb
        .get(
            &format!("{STATUS}?verificationId={second}"),
            &[("apikey", "another-key")],
        )
        .await;
    assert_eq!(r.json()["warnings"], json!([]));
    assert_eq!(status(&sb, &other).await["warnings"], json!([]));
    let b = status(&sb, &third).await;
    assert_eq!(b["verificationStatus"], 4);
    assert_eq!(b["verification"], Value::Null);
    assert_eq!(
        b["warnings"],
        json!([{"code": "NSS008", "message": "The number of operations per period has been reached."}])
    );
    let counters = sb.admin_get("/__admin/counters").await;
    let c = counters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == format!("async:NssByCurp:{EPN}"))
        .unwrap();
    assert_eq!(c["count"], 3);
    assert_eq!(c["limit"], 2);
    // The next provider day starts again (midnight UTC-6).
    sb.advance("14h").await;
    let r = sb.post(NSS, &[("apikey", KEY)], body).await;
    assert_eq!(r.scenario(), "success");
}

// ---- webhooks ------------------------------------------------------------------------

#[tokio::test]
async fn the_webhook_gets_the_documented_body_and_headers() {
    let (sb, hook) = hooked().await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("1s").await;
    assert!(hook.received().is_empty());
    sb.advance("1s").await;
    let got = hook.received();
    assert_eq!(got.len(), 1);
    let h = &got[0];
    assert_eq!(h.method, "POST");
    assert_eq!(h.target, "/hook");
    assert_eq!(h.header("apikey"), Some(KEY));
    assert_eq!(h.header("content-type"), Some("application/json"));
    // The sandbox's mark, by which it tells a webhook that comes back to it.
    let mark = h.header("x-sandbox-webhook").unwrap();
    assert!(mark.len() == 16 && mark.bytes().all(|b| b.is_ascii_hexdigit()));
    let body = h.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "verificationId",
            "verificationType",
            "verificationStatus",
            "verification",
            "warnings"
        ]
    );
    let status_now = status(&sb, &id).await;
    assert_eq!(
        body,
        json!({
            "verificationId": id,
            "verificationType": 3,
            "verificationStatus": 3,
            "verification": status_now["verification"],
            "warnings": [],
        })
    );
    assert!(body["verification"]
        .as_str()
        .unwrap()
        .starts_with("{\"nss\":\""));
    // Delivered: completed.
    assert_eq!(status_now["verificationStatus"], 4);
    let d = deliveries(&sb).await;
    assert_eq!(
        d,
        [json!({
            "verificationId": id,
            "attempt": 1,
            "time": "2024-05-15T10:00:02.000000-06:00",
            "url": hook.url,
            "outcome": "delivered",
            "status": 200,
            "trigger": "schedule",
        })]
    );
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["delivered"], true);
    assert_eq!(list[0]["deliveryAttempts"], 1);
    // Nothing more happens later.
    sb.advance("2h").await;
    assert_eq!(hook.received().len(), 1);
}

// Seed 004 prints the webhook's path as `~/`: a target URL that is the bare
// root (no path) gets the POST at `/`, a query string in the target URL is
// kept, and an answer of 200 `{"completed": true}` sent chunked is a
// delivery.
#[tokio::test]
async fn a_webhook_to_the_root_with_a_chunked_answer_is_delivered() {
    let hook = Hook::start().await;
    hook.always(Answer::Chunked);
    let sb = Sandbox::start().await;
    for (key, url) in [
        ("root-key", hook.root.clone()),
        ("query-key", format!("{}?tenant=7", hook.url)),
    ] {
        set_webhook(&sb, key, json!({ "url": url })).await;
        create(&sb, NSS, key, json!({"curp": EPN})).await;
    }
    sb.advance("2s").await;
    let targets: Vec<String> = hook.received().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/", "/hook?tenant=7"]);
    let attempts = deliveries(&sb).await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    for attempt in attempts {
        assert_eq!(attempt["outcome"], "delivered", "{attempt}");
    }
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    for v in list.as_array().unwrap() {
        assert_eq!(v["verificationStatus"], 4, "{v}");
        assert_eq!(v["delivered"], true, "{v}");
    }
}

#[tokio::test]
async fn the_apikey_header_sent_is_configurable() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    set_webhook(&sb, KEY, json!({"url": hook.url, "apikey": "hook-secret"})).await;
    create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    assert_eq!(hook.received()[0].header("apikey"), Some("hook-secret"));
    let list = sb.admin_get("/__admin/webhooks").await;
    assert_eq!(
        list,
        json!([{"apikey": KEY, "url": hook.url, "headerApikey": "hook-secret", "source": "admin"}])
    );
}

#[tokio::test]
async fn retries_are_15_minutes_apart_and_stop_at_5() {
    let (sb, hook) = hooked().await;
    hook.always(Answer::Status(500));
    let id = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    assert_eq!(hook.received().len(), 1);
    // Pending webhook: 3 Delivering, with the result already readable.
    let b = status(&sb, &id).await;
    assert_eq!(b["verificationStatus"], 3);
    assert!(b["verification"].is_string());
    sb.advance("899s").await;
    assert_eq!(hook.received().len(), 1);
    sb.advance("1s").await;
    assert_eq!(hook.received().len(), 2);
    assert_eq!(status_code(&sb, &id).await, 3);
    // The rest at once: every due attempt runs before the clock call returns.
    sb.advance("2h").await;
    let got = hook.received();
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|g| g.body == got[0].body));
    let d = deliveries(&sb).await;
    let times: Vec<&str> = d.iter().map(|d| d["time"].as_str().unwrap()).collect();
    assert_eq!(
        times,
        [
            "2024-05-15T10:00:02.000000-06:00",
            "2024-05-15T10:15:02.000000-06:00",
            "2024-05-15T10:30:02.000000-06:00",
            "2024-05-15T10:45:02.000000-06:00",
            "2024-05-15T11:00:02.000000-06:00",
        ]
    );
    for (i, d) in d.iter().enumerate() {
        assert_eq!(d["attempt"], i as u64 + 1);
        assert_eq!(d["outcome"], "HTTP 500");
        assert_eq!(d["status"], 500);
    }
    // Attempts spent: completed, undelivered, still queryable.
    let b = status(&sb, &id).await;
    assert_eq!(b["verificationStatus"], 4);
    assert!(b["verification"].is_string());
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["delivered"], false);
    assert_eq!(list[0]["deliveryAttempts"], 5);
    assert_eq!(list[0]["completedAt"], "2024-05-15T11:00:02.000000-06:00");
    sb.advance("1d").await;
    assert_eq!(hook.received().len(), 5);
}

#[tokio::test]
async fn success_after_two_failures() {
    let (sb, hook) = hooked().await;
    hook.plan(&[Answer::Status(503), Answer::Garbage]);
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    sb.advance("15m").await;
    assert_eq!(status_code(&sb, &id).await, 3);
    sb.advance("15m").await;
    assert_eq!(status_code(&sb, &id).await, 4);
    sb.advance("2h").await;
    assert_eq!(hook.received().len(), 3);
    let d = deliveries(&sb).await;
    let outcomes: Vec<&str> = d.iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        [
            "HTTP 503",
            "HTTP 200 without {\"completed\": true}",
            "delivered"
        ]
    );
    assert_eq!(d[2]["time"], "2024-05-15T10:30:02.000000-06:00");
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["delivered"], true);
    assert_eq!(list[0]["completedAt"], "2024-05-15T10:30:02.000000-06:00");
}

// README, async admin routes: after `DELETE /__admin/webhooks/{apikey}`,
// "a verification waiting for its next attempt to it reads 3 until that
// attempt falls due, and then, with no other target for the apikey … and
// none set again meanwhile, completes (4) undelivered, with no further
// attempt listed".
#[tokio::test]
async fn a_target_removed_between_attempts_completes_it_undelivered() {
    let (sb, hook) = hooked().await;
    hook.always(Answer::Status(500));
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    assert_eq!(status_code(&sb, &id).await, 3);
    let r = sb.admin_delete(&format!("/__admin/webhooks/{KEY}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(status_code(&sb, &id).await, 3, "right after the DELETE");
    sb.advance("899s").await;
    assert_eq!(status_code(&sb, &id).await, 3, "a second before the retry");
    // The retry finds no target: completed, undelivered, nothing more sent.
    sb.advance("1s").await;
    assert_eq!(status_code(&sb, &id).await, 4);
    sb.advance("3h").await;
    assert_eq!(hook.received().len(), 1);
    assert_eq!(deliveries(&sb).await.len(), 1);
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["delivered"], false, "{list}");
    // Removing it again: there is none.
    let r = sb.admin_delete(&format!("/__admin/webhooks/{KEY}")).await;
    assert_eq!(r.status, 404, "{}", r.text());
}

// README, async timeline: at `processing_delay` a verification goes "4
// Completed at once when the apikey has no webhook target": so it does
// when its target is removed before the first attempt, with no attempt
// listed.
#[tokio::test]
async fn a_target_removed_before_the_first_attempt_completes_it_with_none_listed() {
    let (sb, hook) = hooked().await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let r = sb.admin_delete(&format!("/__admin/webhooks/{KEY}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(status_code(&sb, &id).await, 1);
    sb.advance("2s").await;
    assert_eq!(status_code(&sb, &id).await, 4);
    assert_eq!(deliveries(&sb).await.len(), 0);
    assert_eq!(hook.received().len(), 0);
}

#[tokio::test]
async fn a_refused_connection_is_a_failed_attempt() {
    let sb = Sandbox::start().await;
    let (url, _port) = dead_url();
    set_webhook(&sb, KEY, json!({"url": url})).await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 1);
    assert!(d[0].get("status").is_none(), "{}", d[0]);
    let outcome = d[0]["outcome"].as_str().unwrap();
    assert!(outcome.to_lowercase().contains("connect"), "{outcome}");
    assert_eq!(status_code(&sb, &id).await, 3);
    // The target comes back: the next attempt gets through.
    let hook = Hook::start().await;
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    sb.advance("15m").await;
    assert_eq!(hook.received().len(), 1);
    assert_eq!(status_code(&sb, &id).await, 4);
}

// README, Webhooks: delivered means a 200 answer whose JSON body has
// `"completed": true`, of which "the first 64 KB … are read: a longer
// answer, or one that declares a longer `Content-Length`, is a failed
// attempt, \"length limit exceeded\"", retried
// `webhook_retry_interval` later.
#[tokio::test]
async fn an_answer_over_64_kb_is_a_failed_attempt() {
    const READ: usize = 64 * 1024;
    let (sb, hook) = hooked().await;
    hook.plan(&[Answer::Padded(READ + 1), Answer::Padded(READ)]);
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["status"], 200, "{}", d[0]);
    let outcome = d[0]["outcome"].as_str().unwrap();
    assert!(outcome.contains("length limit exceeded"), "{outcome}");
    assert_eq!(status_code(&sb, &id).await, 3);
    // 64 KB exactly is read whole: the retry is a delivery.
    sb.advance("15m").await;
    assert_eq!(deliveries(&sb).await[1]["outcome"], "delivered");
    assert_eq!(status_code(&sb, &id).await, 4);
}

// README, Webhooks: "a longer answer [than 64 KB] is a failed attempt,
// \"length limit exceeded\"": one that declares it fails as the head comes.
#[tokio::test]
async fn an_answer_declaring_more_than_64_kb_fails_at_once_as_length_limit_exceeded() {
    let sb = Sandbox::start().await;
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n{\"completed\": true}";
    let hook = RawHook::start(Raw::Hold(head.into())).await;
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let started = Instant::now();
    sb.advance("2s").await;
    // Not after the 10 s webhook_timeout waiting for bytes it would not read.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0]["outcome"],
        "reading the answer failed: length limit exceeded"
    );
    assert_eq!(d[0]["status"], 200, "{}", d[0]);
    assert_eq!(status_code(&sb, &id).await, 3);
}

#[tokio::test]
async fn a_receiver_that_never_answers_delays_nothing_else() {
    let (sb, dir) = start_with_timeout("hang", "3s").await;
    let slow = Hook::start().await;
    slow.always(Answer::Hang);
    let fast = Hook::start().await;
    set_webhook(&sb, "slow-customer", json!({"url": slow.url})).await;
    set_webhook(&sb, KEY, json!({"url": fast.url})).await;
    let stuck = create(&sb, NSS, "slow-customer", json!({"curp": EPN})).await;
    let quick = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;

    let started = Instant::now();
    let advance = advance_in_background(&sb, "2s");
    // While the slow target holds its attempt, requests are answered and the
    // other verification has already been delivered.
    let r = sb.get("/__admin/health", &[]).await;
    assert_eq!(r.status, 200);
    fast.arrived(1).await;
    assert!(
        !advance.is_finished(),
        "the fast target's webhook came only once the slow one's attempt ended"
    );
    let (status, returned) = advance.await.unwrap();
    assert_eq!(status, 200);
    // The clock call waited for the slow attempt to time out.
    assert!(
        returned - started >= Duration::from_secs(3),
        "{:?}",
        returned - started
    );
    assert_eq!(fast.received().len(), 1);
    assert_eq!(slow.received().len(), 1);
    assert_eq!(status_code(&sb, &quick).await, 4);
    let r = sb
        .get(
            &format!("{STATUS}?verificationId={stuck}"),
            &[("apikey", "slow-customer")],
        )
        .await;
    assert_eq!(r.json()["verificationStatus"], 3);
    let d = deliveries(&sb).await;
    let slow_attempt = d
        .iter()
        .find(|d| d["verificationId"] == stuck.as_str())
        .unwrap();
    assert_eq!(slow_attempt["outcome"], "no answer within 3s");
    sb.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

// README, Webhooks: delivered is a 200 answer whose JSON body says
// `"completed": true`; anything else is a failed attempt, none longer than
// `webhook_timeout`, retried later. Each hostile target's outcome, exactly.
#[tokio::test]
async fn hostile_targets_each_get_their_documented_outcome() {
    const COMPLETED: &str = r#"{"completed": true}"#;
    let (sb, dir) = start_with_timeout("hostile", "500ms").await;
    let _gone = RemovedOnDrop(dir);
    let ok = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{COMPLETED}",
        COMPLETED.len()
    );
    let bytes = |s: &str| s.as_bytes().to_vec();
    let mid_body = "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"compl";
    // With hyper's cause: "error reading a body from connection" alone
    // does not say what was wrong with it.
    let cut_body = "reading the answer failed: error reading a body from connection: \
                    end of file before message length reached";
    let bad_chunk = "reading the answer failed: error reading a body from connection: \
                     Invalid chunk size line: missing size digit";
    let too_long = "reading the answer failed: length limit exceeded";
    // (target, how it answers, outcome, status)
    let cases: Vec<(&str, Raw, &str, Option<u16>)> = vec![
        ("silent", Raw::Hold(vec![]), "no answer within 500ms", None),
        ("ok-held-open", Raw::Hold(bytes(&ok)), "delivered", Some(200)),
        (
            "read-to-eof",
            Raw::Close(bytes(&format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{COMPLETED}"
            ))),
            "delivered",
            Some(200),
        ),
        (
            "102-then-200",
            Raw::Hold(bytes(&format!("HTTP/1.1 102 Processing\r\n\r\n{ok}"))),
            "delivered",
            Some(200),
        ),
        (
            "103-then-200",
            Raw::Hold(bytes(&format!(
                "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n{ok}"
            ))),
            "delivered",
            Some(200),
        ),
        (
            "not-http",
            Raw::Close(bytes("hello, this is not http\r\n\r\n")),
            "client error (SendRequest): invalid HTTP version parsed",
            None,
        ),
        (
            "closed-mid-head",
            Raw::Close(bytes("HTTP/1.1 200 OK\r\nContent-Le")),
            "client error (SendRequest): connection closed before message completed",
            None,
        ),
        ("closed-mid-body", Raw::Close(bytes(mid_body)), cut_body, Some(200)),
        (
            "held-mid-body",
            Raw::Hold(bytes(mid_body)),
            "the answer's body did not come within 500ms",
            Some(200),
        ),
        (
            "bad-chunk",
            Raw::Close(bytes(&format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{COMPLETED}\r\n0\r\n\r\n"
            ))),
            bad_chunk,
            Some(200),
        ),
        (
            "declares-100-mb",
            Raw::Hold(bytes(&format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n{COMPLETED}"
            ))),
            too_long,
            Some(200),
        ),
        ("endless", Raw::Endless, too_long, Some(200)),
        (
            "drip-slow",
            Raw::Drip(bytes(&ok), Duration::from_millis(100)),
            "no answer within 500ms",
            None,
        ),
        (
            "redirect",
            Raw::Close(bytes(&format!(
                "HTTP/1.1 302 Found\r\nLocation: /other\r\nContent-Length: {}\r\n\r\n{COMPLETED}",
                COMPLETED.len()
            ))),
            "HTTP 302",
            Some(302),
        ),
        (
            "no-content",
            Raw::Close(bytes("HTTP/1.1 204 No Content\r\n\r\n")),
            "HTTP 204, not 200",
            Some(204),
        ),
    ];
    let mut ids = Vec::new();
    for (name, raw, _, _) in &cases {
        let hook = RawHook::start(raw.clone()).await;
        set_webhook(&sb, name, json!({"url": hook.url})).await;
        ids.push(create(&sb, RFC, name, json!({"curp": EPN, "state": 9})).await);
    }
    // All at one instant (that the move waits for the slowest, not the sum,
    // is a_receiver_that_never_answers_delays_nothing_else's to show).
    sb.advance("2s").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), cases.len(), "{d:#?}");
    for ((name, _, outcome, status), id) in cases.iter().zip(&ids) {
        let e = d
            .iter()
            .find(|e| e["verificationId"] == id.as_str())
            .unwrap();
        assert_eq!(e["outcome"], *outcome, "{name}: {e}");
        assert_eq!(
            e["status"].as_u64().map(|s| s as u16),
            *status,
            "{name}: {e}"
        );
    }
    // Each failed one is retried 15 minutes later, the delivered ones not.
    sb.advance("15m").await;
    let delivered = cases.iter().filter(|c| c.2 == "delivered").count();
    assert_eq!(deliveries(&sb).await.len(), 2 * cases.len() - delivered);
}

#[tokio::test]
async fn shutdown_is_not_held_by_a_hanging_target() {
    let sb = Sandbox::start().await;
    let slow = Hook::start().await;
    slow.always(Answer::Hang);
    set_webhook(&sb, KEY, json!({"url": slow.url})).await;
    create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    // Move the clock without waiting for the attempt (10 s timeout).
    // (Its answer is not awaited: the server stops under it.)
    let advance = advance_sent(&sb, "2s");
    // The attempt is out and will not be answered.
    slow.arrived(1).await;
    let started = Instant::now();
    sb.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    advance.abort();
}

// README, Webhooks: a hanging target holds up "no shutdown (shutdown, and a
// reset, drop attempts in flight, redeliveries too […])"; Decisions: "A
// redelivery is one attempt".
#[tokio::test]
async fn a_redelivery_to_a_hanging_target_does_not_hold_up_shutdown() {
    // A shutdown wait far past the bound below: held by the redelivery,
    // the stop would take the webhook's 10 s timeout.
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        shutdown_timeout: Duration::from_secs(30),
        ..config()
    })
    .await;
    // Completed with no target, then pointed at one that never answers.
    let id = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    assert_eq!(status_code(&sb, &id).await, 4);
    let slow = Hook::start().await;
    slow.always(Answer::Hang);
    set_webhook(&sb, KEY, json!({"url": slow.url})).await;
    let _redeliver = sb.send_in_background(
        "POST",
        &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
        &[],
        "",
    );
    slow.arrived(1).await;
    let started = Instant::now();
    assert!(
        sb.stop_within(Duration::from_secs(5)).await,
        "shutdown still waiting after {:?} for a redelivery to a hanging target",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_redeliver_route_sends_it_again_now() {
    let (sb, hook) = hooked().await;
    let id = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    let route = format!("/__admin/webhooks/deliveries/{id}/redeliver");
    // Nothing to deliver while processing.
    let r = sb.admin_post(&route, json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("1 Processing"));
    sb.advance("2s").await;
    sb.advance("30m").await;
    // The id in either case, as the status route takes it.
    let upper = format!(
        "/__admin/webhooks/deliveries/{}/redeliver",
        id.to_uppercase()
    );
    let r = sb.admin_post(&upper, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = sb
        .admin_get(&format!(
            "/__admin/webhooks/deliveries?verificationId={}",
            id.to_uppercase()
        ))
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(
        r.json(),
        json!({
            "verificationId": id,
            "attempt": 2,
            "time": "2024-05-15T10:30:02.000000-06:00",
            "url": hook.url,
            "outcome": "delivered",
            "status": 200,
            "trigger": "redeliver",
        })
    );
    let got = hook.received();
    assert_eq!(got.len(), 2);
    let again = got[1].json();
    assert_eq!(again["verificationId"], id.as_str());
    assert_eq!(again["verification"], got[0].json()["verification"]);
    assert_eq!(again["verificationStatus"], 4);
    assert_eq!(deliveries(&sb).await.len(), 2);
    // The route reads no body: whatever is sent is not refused.
    for body in ["null", "[]", "\"x\"", "{"] {
        let r = sb
            .send(
                "POST",
                &route,
                &[("content-type", "application/json")],
                body,
            )
            .await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
    }
    assert_eq!(hook.received().len(), 6);
    // Unknown id: 404; no result yet, or no target: 409, each saying which.
    let error = |r: &Resp| r.json()["error"].as_str().unwrap_or_default().to_string();
    let r = sb
        .admin_post("/__admin/webhooks/deliveries/NOPE/redeliver", json!({}))
        .await;
    assert_eq!(r.status, 404);
    // Named as sent (looked up in either case).
    assert_eq!(error(&r), "no verification 'NOPE' in this namespace");
    // `deliveries` is the listing's address, not an apikey a PUT or a
    // DELETE can name.
    for method in ["PUT", "DELETE"] {
        let r = sb
            .send(
                method,
                "/__admin/webhooks/deliveries",
                &[("content-type", "application/json")],
                json!({"url": hook.url}).to_string(),
            )
            .await;
        assert_eq!(r.status, 400, "{method}: {}", r.text());
        assert!(error(&r).contains("the deliveries listing"), "{}", r.text());
    }
    assert!(sb
        .admin_get("/__admin/webhooks")
        .await
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["apikey"] != "deliveries"));
    let waiting = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let r = sb
        .admin_post(
            &format!("/__admin/webhooks/deliveries/{waiting}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(
        error(&r).contains("has no result to deliver yet"),
        "{}",
        error(&r)
    );
    let other = create(&sb, NSS, "no-hook-customer", json!({"curp": EPN})).await;
    sb.advance("2s").await;
    let r = sb
        .admin_post(
            &format!("/__admin/webhooks/deliveries/{other}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(error(&r).contains("has no webhook target"), "{}", error(&r));
}

#[tokio::test]
async fn a_redelivery_that_gets_through_ends_the_retries() {
    let (sb, hook) = hooked().await;
    hook.plan(&[Answer::Status(500)]);
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    assert_eq!(status_code(&sb, &id).await, 3);
    let r = sb
        .admin_post(
            &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(r.json()["outcome"], "delivered");
    assert_eq!(status_code(&sb, &id).await, 4);
    sb.advance("2h").await;
    assert_eq!(hook.received().len(), 2);
}

#[tokio::test]
async fn the_webhook_url_flag_is_the_default_target() {
    let hook = Hook::start().await;
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        webhook_url: Some(hook.url.clone()),
        ..config()
    })
    .await;
    let other = Hook::start().await;
    set_webhook(&sb, "own-hook", json!({"url": other.url})).await;
    create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    create(&sb, NSS, "own-hook", json!({"curp": "NAZA650704MTLVCL05"})).await;
    sb.advance("2s").await;
    assert_eq!(hook.received().len(), 1);
    assert_eq!(hook.received()[0].header("apikey"), Some(KEY));
    assert_eq!(other.received().len(), 1);
    let list = sb.admin_get("/__admin/webhooks").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(
        list[1],
        json!({"apikey": "*", "url": hook.url, "headerApikey": "*", "source": "--webhook-url"})
    );
}

// README "Command line": "A webhook URL may carry user info
// (`http://user:pw@host/hook`, percent-encoded): it is sent as
// `Authorization: Basic …`, as HTTP sends credentials, and the request goes
// to the URL without it": its path and query as written, its Host the
// host and port alone, no header but the Authorization carrying the user
// info. Such a URL is taken, by the admin API as by `--webhook-url`, with
// its port or without (the port is read after the user info).
#[tokio::test]
async fn a_webhook_urls_user_info_is_sent_as_basic_credentials() {
    let hook = Hook::start().await;
    let with_user = hook.url.replacen("http://", "http://user:p%40ss@", 1) + "?q=1";
    // Set with the admin API.
    let sb = Sandbox::start().await;
    set_webhook(&sb, KEY, json!({ "url": with_user })).await;
    create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    // Given to the binary as `--webhook-url`.
    let served = Served::start(
        &[
            "--port",
            "0",
            "--time-scale",
            "0",
            "--webhook-url",
            &with_user,
        ],
        &[],
    );
    let r = served
        .post(NSS, &[("apikey", KEY)], json!({"curp": EPN}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    served.advance("2s").await;
    let got = hook.received();
    assert_eq!(got.len(), 2, "{got:#?}");
    let authority = hook.root.trim_start_matches("http://");
    for r in &got {
        assert_eq!(r.target, "/hook?q=1");
        // base64("user:p@ss")
        assert_eq!(r.header("authorization"), Some("Basic dXNlcjpwQHNz"));
        assert_eq!(r.header("apikey"), Some(KEY));
        // The user info is nowhere else: not in the Host, nor any header.
        assert_eq!(r.header("host"), Some(authority));
        assert!(
            r.headers
                .values()
                .all(|v| !String::from_utf8_lossy(v.as_bytes()).contains("user")),
            "{:?}",
            r.headers
        );
    }

    // Without its port (80), taken all the same.
    let no_port = "http://user:pw@127.0.0.1/hook";
    set_webhook(&sb, "no-port", json!({ "url": no_port })).await;
    let served = Served::start(&["--port", "0", "--webhook-url", no_port], &[]);
    assert!(
        served.ready.contains("listening on http://"),
        "{}",
        served.ready
    );
}

// README "Command line": user info in a webhook URL "is sent as
// `Authorization: Basic …`, as HTTP sends credentials": always `user:password`
// (RFC 7617), so a URL that names only a user (`http://token@host/hook`)
// sends `token:`, as curl does.
#[tokio::test]
async fn a_webhook_url_with_only_a_user_name_sends_basic_credentials_with_a_colon() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    let url = hook.url.replacen("http://", "http://token@", 1);
    set_webhook(&sb, KEY, json!({ "url": url })).await;
    create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    let got = hook.received();
    assert_eq!(got.len(), 1);
    // base64("token:")
    assert_eq!(
        got[0].header("authorization"),
        Some("Basic dG9rZW46"),
        "{:?}",
        got[0].headers
    );
}

#[tokio::test]
async fn webhooks_in_the_fixtures_are_used_and_listed() {
    let hook = Hook::start().await;
    let dir = crate::common::temp_dir("async-fixtures");
    let creds = format!(
        "{}\nasync:\n  reject:\n    invalid-apikey: invalid_credentials\n  webhooks:\n    fixture-key: {}\n",
        "# only async here", hook.url
    );
    std::fs::write(dir.join("credentials.yaml"), creds).unwrap();
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    create(&sb, NSS, "fixture-key", json!({"curp": EPN})).await;
    sb.advance("2s").await;
    assert_eq!(hook.received().len(), 1);
    assert_eq!(
        sb.admin_get("/__admin/webhooks").await,
        json!([{"apikey": "fixture-key", "url": hook.url, "headerApikey": "fixture-key", "source": "fixtures"}])
    );
    // A PUT without a body, or with one not a JSON object, says what to send.
    for (body, says) in [
        ("", "a webhook needs 'url'"),
        ("{}", "a webhook needs 'url'"),
        ("[1]", "send a JSON object as the body"),
    ] {
        let r = sb
            .send(
                "PUT",
                "/__admin/webhooks/fixture-key",
                &[("content-type", "application/json")],
                body,
            )
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(r.text().contains(says), "{body}: {}", r.text());
    }
    // One set through the admin API for the same apikey is the one listed.
    set_webhook(&sb, "fixture-key", json!({ "url": hook.url })).await;
    let listed = sb.admin_get("/__admin/webhooks").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["source"], "admin", "{listed}");
    sb.stop().await;
    // A webhook URL that cannot be called is refused at load.
    std::fs::write(
        dir.join("credentials.yaml"),
        "async:\n  webhooks:\n    k: https://example.com/hook\n",
    )
    .unwrap();
    let err = mxid_sandbox::engine::fixtures::Fixtures::load(&Source::Dir(dir.clone()))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("async.webhooks.k"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

// README, Webhooks: "The target is looked up at each attempt, so a `PUT`, a
// `DELETE` or a reload that changes a fixture's webhook moves the next
// attempt of a verification made before it." After a reload, the retry goes
// where `GET /__admin/webhooks` says the apikey's webhook now is.
#[tokio::test]
async fn a_reload_that_changes_a_fixture_webhook_moves_the_next_attempt() {
    let old = Hook::start().await;
    old.always(Answer::Status(500));
    let new = Hook::start().await;
    let dir = crate::common::temp_dir("reload-fixture-webhook");
    let write = |url: &str| {
        std::fs::write(
            dir.join("credentials.yaml"),
            format!("async:\n  webhooks:\n    fixture-key: {url}\n"),
        )
        .unwrap()
    };
    write(&old.url);
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let id = create(&sb, NSS, "fixture-key", json!({"curp": EPN})).await;
    sb.advance("2s").await;
    assert_eq!(old.received().len(), 1);
    write(&new.url);
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = sb.admin_get("/__admin/webhooks").await;
    assert_eq!(listed[0]["url"], new.url.as_str(), "{listed}");
    // The retry, 15 minutes later, goes to the new URL.
    sb.advance("15m").await;
    let d = deliveries(&sb).await;
    assert_eq!(d[1]["url"], new.url.as_str(), "{d:#?}");
    assert_eq!(
        new.received().len(),
        1,
        "the old URL got {}",
        old.received().len()
    );
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["verificationId"], id.as_str(), "{list}");
    assert_eq!(list[0]["verificationStatus"], 4, "{list}");
    sb.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

// README, Webhooks: after a reload removing a fixture's webhook, a waiting verification
// "completes (4) undelivered, with no further attempt listed", in every namespace.
#[tokio::test]
async fn a_reload_removing_a_fixture_webhook_completes_waiting_verifications_undelivered() {
    let hook = Hook::start().await;
    hook.always(Answer::Status(500));
    let dir = crate::common::temp_dir("reload-removed-webhook");
    let _gone = RemovedOnDrop(dir.clone());
    let credentials = dir.join("credentials.yaml");
    let with_hook = format!("async:\n  webhooks:\n    fixture-key: {}\n", hook.url);
    std::fs::write(&credentials, with_hook).unwrap();
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    for ns in ["default", "other"] {
        let headers = [("apikey", "fixture-key"), ("x-sandbox-namespace", ns)];
        let r = sb.post(NSS, &headers, json!({"curp": EPN})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        move_clock(
            &sb,
            &format!("/__admin/clock?namespace={ns}"),
            json!({"advance": "2s"}),
        )
        .await;
    }
    assert_eq!(hook.received().len(), 2);
    std::fs::write(&credentials, "async:\n  webhooks: {}\n").unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sb.admin_get("/__admin/webhooks").await, json!([]));
    for ns in ["default", "other"] {
        move_clock(
            &sb,
            &format!("/__admin/clock?namespace={ns}"),
            json!({"advance": "15m"}),
        )
        .await;
        let list = sb
            .admin_get(&format!("/__admin/verifications?namespace={ns}"))
            .await;
        assert_eq!(list[0]["verificationStatus"], 4, "{ns}: {list}");
        assert_eq!(list[0]["delivered"], false, "{ns}: {list}");
        let d = sb
            .admin_get(&format!("/__admin/webhooks/deliveries?namespace={ns}"))
            .await;
        assert_eq!(d.as_array().map(Vec::len), Some(1), "{ns}: {d}");
    }
    assert_eq!(hook.received().len(), 2);
    sb.stop().await;
}

#[tokio::test]
async fn webhook_admin_routes_check_their_input() {
    let sb = Sandbox::start().await;
    let put = |body: &'static str| {
        let sb = &sb;
        async move {
            sb.send(
                "PUT",
                "/__admin/webhooks/k",
                &[("content-type", "application/json")],
                body,
            )
            .await
        }
    };
    for (body, needle) in [
        (r#"{}"#, "'url'"),
        (r#"{"url": 5}"#, "'url'"),
        (r#"{"url": "https://example.com/hook"}"#, "http://"),
        (r#"{"url": "not a url"}"#, "not a URL"),
        (r#"{"url": "http://127.0.0.1:99999/h"}"#, "no valid port"),
        (r#"{"url": "http://127.0.0.1:0/h"}"#, "no valid port"),
        // Its own redeliver route would deliver to itself without end.
        (
            r#"{"url": "http://127.0.0.1:8080/__admin/webhooks/deliveries/x/redeliver"}"#,
            "admin route",
        ),
        (r#"{"url": "http://h/__ADMIN/health"}"#, "admin route"),
        (
            r#"{"url": "http://127.0.0.1:1/h", "apikey": "a\nb"}"#,
            "no control character",
        ),
        // What the receiver would read trimmed, or not as written.
        (
            r#"{"url": "http://127.0.0.1:1/h", "apikey": " k"}"#,
            "no space or tab around it",
        ),
        (
            r#"{"url": "http://127.0.0.1:1/h", "apikey": "clé"}"#,
            "ASCII",
        ),
        (
            r#"{"url": "http://127.0.0.1:1/h", "apikey": 3}"#,
            "'apikey'",
        ),
        (
            r#"{"url": "http://127.0.0.1:1/h", "secret": "x"}"#,
            "unknown field 'secret'",
        ),
        (r#"[1]"#, "JSON object"),
    ] {
        let r = put(body).await;
        assert_eq!(r.status, 400, "{body}");
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(e.contains(needle), "{body}: {e}");
    }
    assert_eq!(put(r#"{"url": "http://127.0.0.1:1/h"}"#).await.status, 200);
    assert_eq!(put(r#"{"url": "http://[::1]:65535/h"}"#).await.status, 200);
    let r = sb.admin_delete("/__admin/webhooks/k").await;
    assert_eq!(r.status, 200);
    let r = sb.admin_delete("/__admin/webhooks/k").await;
    assert_eq!(r.status, 404);
    // A known path under another method: 405 with Allow.
    let r = sb.admin_post("/__admin/verifications", json!({})).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    // Per namespace.
    set_webhook(&sb, "k", json!({"url": "http://127.0.0.1:1/h"})).await;
    assert_eq!(
        sb.admin_get("/__admin/webhooks?namespace=suite-b").await,
        json!([])
    );
    assert_eq!(sb.admin_count("/__admin/webhooks").await, 1);
}

// README, Decisions: "**Reading or clearing a namespace does not make it** …
// a provider request, an override, a clock change or a webhook registration
// makes it (one the admin API refuses, with a 400, does not)", and the
// 1,024-namespace cap (README, sandbox headers). A webhook PUT refused with
// 400 (a URL the sandbox cannot call) and a redelivery of an unknown id
// (404) take none of the 1,024 places.
#[tokio::test]
async fn refused_webhook_routes_take_no_namespace_place() {
    let sb = Sandbox::start().await;
    crate::admin::leave_two_namespace_places(&sb).await;
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/k?namespace=ghost-a",
            &[("content-type", "application/json")],
            r#"{"url": "https://example.com/hook"}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = sb
        .admin_post(
            "/__admin/webhooks/deliveries/nope/redeliver?namespace=ghost-b",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    crate::admin::two_namespaces_still_fit(&sb).await;
}

#[tokio::test]
async fn deliveries_filter_by_verification_and_namespaces_are_apart() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    let r = sb
        .send(
            "PUT",
            &format!("/__admin/webhooks/{KEY}?namespace=suite-b"),
            &[("content-type", "application/json")],
            serde_json::to_vec(&json!({"url": hook.url})).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let ns = [("apikey", KEY), ("X-Sandbox-Namespace", "suite-b")];
    let a = sb.post(NSS, &ns, json!({"curp": EPN})).await.json();
    let b = sb
        .post(NSS, &ns, json!({"curp": "NAZA650704MTLVCL05"}))
        .await
        .json();
    // The default namespace's clock does not move suite-b's.
    sb.advance("1h").await;
    assert!(hook.received().is_empty());
    let r = sb
        .admin_post("/__admin/clock?namespace=suite-b", json!({"advance": "2s"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(hook.received().len(), 2);
    let a_id = a["verificationId"].as_str().unwrap();
    let only_a = sb
        .admin_get(&format!(
            "/__admin/webhooks/deliveries?namespace=suite-b&verificationId={a_id}"
        ))
        .await;
    assert_eq!(only_a.as_array().unwrap().len(), 1);
    assert_eq!(only_a[0]["verificationId"], a_id);
    assert!(deliveries(&sb).await.is_empty());
    assert_eq!(sb.admin_get("/__admin/verifications").await, json!([]));
    let listed = sb
        .admin_get("/__admin/verifications?namespace=suite-b")
        .await;
    assert_eq!(listed[1]["verificationId"], b["verificationId"]);
}

#[tokio::test]
async fn reset_clears_verifications_deliveries_webhooks_and_pending_retries() {
    let (sb, hook) = hooked().await;
    hook.always(Answer::Status(500));
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let pending = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    assert_eq!(hook.received().len(), 2);
    let r = sb.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(sb.admin_get("/__admin/verifications").await, json!([]));
    assert!(deliveries(&sb).await.is_empty());
    assert_eq!(sb.admin_get("/__admin/webhooks").await, json!([]));
    let r = sb
        .get(&format!("{STATUS}?verificationId={id}"), &[("apikey", KEY)])
        .await;
    assert_eq!(r.status, 404);
    // The retries that were pending are gone.
    sb.advance("1d").await;
    assert_eq!(hook.received().len(), 2);
    // Ids replay from the start after a reset (the status query above was
    // request 1), so a new verification takes the id `pending` had; nothing
    // scheduled before the reset touches it.
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let again = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    assert_eq!(again, pending);
    assert_eq!(status_code(&sb, &again).await, 1);
    sb.advance("2s").await;
    assert_eq!(hook.received().len(), 3);
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["attempt"], 1);
    assert_eq!(status(&sb, &again).await["verificationType"], 3);
}

#[tokio::test]
async fn every_scenario_is_reachable_by_name() {
    let sb = Sandbox::start().await;
    let mine = sb.catalog_of("async").await;
    assert!(mine.len() >= 30, "{}", mine.len());
    for e in mine {
        let name = e["name"].as_str().unwrap();
        let path = e["path"].as_str().unwrap();
        let headers = [("apikey", KEY), ("X-Sandbox-Scenario", name)];
        let r = if e["method"] == "GET" {
            sb.get(&format!("{path}?verificationId=x"), &headers).await
        } else {
            sb.post(path, &headers, json!({})).await
        };
        assert_eq!(r.scenario(), name, "{path} {name}");
        let b = r.json();
        if r.status == 200 {
            assert!(b["verificationId"].is_string(), "{path} {name}: {b}");
        } else {
            assert!(b["code"].is_string() && b["message"].is_string(), "{b}");
            let expected = match r.status {
                401 => ["missing_credentials", "invalid_credentials"].contains(&name),
                403 => name == "no_permission",
                404 => name == "unknown_verification",
                400 => name.starts_with("invalid_"),
                _ => false,
            };
            assert!(expected, "{path} {name}: {}", r.status);
        }
    }
}

/// README, sandbox headers: a fault loses or cuts only the answer; the
/// request is run as without it, so a creation whose answer was lost
/// still made its verification and spent one of the CURP's two a day.
#[tokio::test]
async fn a_creation_whose_answer_a_fault_lost_still_counts() {
    let sb = Sandbox::start().await;
    let body = json!({ "curp": EPN });
    for fault in ["empty_response", "connection_reset"] {
        let lost = sb
            .send_in_background(
                "POST",
                NSS,
                &[("apikey", KEY), ("x-sandbox-fault", fault)],
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap();
        assert!(lost.is_err(), "{fault}: {lost:?}");
    }
    let listed = sb.admin_get("/__admin/verifications").await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let counters = sb.admin_get("/__admin/counters").await;
    assert_eq!(counters[0]["key"], format!("async:NssByCurp:{EPN}"));
    assert_eq!(counters[0]["count"], 2, "{counters}");
    // The client's retry is the third request of the day.
    let third = create(&sb, NSS, KEY, body).await;
    sb.advance("2s").await;
    assert_eq!(status(&sb, &third).await["warnings"][0]["code"], "NSS008");
}

#[tokio::test]
async fn an_override_picks_the_outcome_of_the_next_creation() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "async", "path": RFC, "scenario": "not_found2", "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let first = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    let second = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    assert_eq!(status(&sb, &first).await["warnings"][0]["code"], "RFC008");
    assert_eq!(status(&sb, &second).await["warnings"], json!([]));
}

/// A webhook aimed at the sandbox's own creation route, with every creation
/// forced to succeed, would create a verification whose webhook comes back
/// in turn, without end: the sandbox refuses its own webhook (508), so that
/// the attempt fails as one to a target that refuses it, and nothing is
/// created. The same header with another sandbox's mark is answered.
#[tokio::test]
async fn a_webhook_aimed_back_at_the_sandbox_is_refused_and_creates_nothing() {
    let (sb, hook) = hooked().await;
    let sticky = json!({"provider": "async", "scenario": "success"});
    assert_eq!(
        sb.admin_post("/__admin/overrides", sticky).await.status,
        201
    );
    // A webhook to a receiver first, for the sandbox's mark.
    create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    let mark = hook.received()[0]
        .header("x-sandbox-webhook")
        .unwrap()
        .to_string();
    let own_route = format!("http://{}{NSS}", sb.addr);
    set_webhook(&sb, KEY, json!({ "url": own_route })).await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    sb.advance("15m").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 3, "{d:?}");
    for (n, attempt) in d[1..].iter().enumerate() {
        assert_eq!(attempt["verificationId"], id.as_str());
        assert_eq!(attempt["attempt"], n + 1);
        assert_eq!(attempt["outcome"], "HTTP 508", "{attempt}");
        assert_eq!(attempt["status"], 508);
    }
    let listed = sb.admin_get("/__admin/verifications").await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    // Refused before any namespace: the journal holds the two creations.
    let journal = sb.admin_get("/__admin/requests").await;
    assert_eq!(journal.as_array().unwrap().len(), 2, "{journal}");

    // What the refusal says, to a request that carries the mark.
    let r = sb
        .post(
            NSS,
            &[("apikey", KEY), ("x-sandbox-webhook", &mark)],
            json!({}),
        )
        .await;
    assert_eq!(r.status, 508);
    assert_eq!(r.header("x-sandbox-scenario"), Some("sandbox_error"));
    assert_eq!(
        r.json(),
        json!({"error": format!(
            "POST {NSS} is a webhook this sandbox sent, come back to it: a webhook target must be the client's own endpoint, not one of the sandbox's routes"
        )})
    );
    // A namespace the request cannot have is refused first, as always.
    let r = sb
        .post(
            NSS,
            &[
                ("apikey", KEY),
                ("x-sandbox-webhook", &mark),
                ("x-sandbox-namespace", "a b"),
            ],
            json!({}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // A sandbox of another seed answers this one's webhook: no loop.
    let other = Sandbox::start_with(mxid_sandbox::Config {
        seed: 1,
        ..config()
    })
    .await;
    let r = other
        .post(
            NSS,
            &[("apikey", KEY), ("x-sandbox-webhook", &mark)],
            json!({"curp": EPN}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    other.stop().await;
    sb.stop().await;
}

// --- the clock moved by hand, resets, redeliveries, the provider day ---

/// POSTs `/__admin/clock` (default namespace unless `path` names one) with
/// `body`, expecting 200.
async fn move_clock(sb: &Sandbox, path: &str, body: Value) {
    let r = sb.admin_post(path, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// `PUT /__admin/webhooks/{KEY}?namespace=ns` to `url`.
pub(crate) async fn set_webhook_in(sb: &Sandbox, ns: &str, url: &str) {
    let r = sb
        .send(
            "PUT",
            &format!("/__admin/webhooks/{KEY}?namespace={ns}"),
            &[("content-type", "application/json")],
            serde_json::to_vec(&json!({ "url": url })).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Sends `POST /__admin/clock {"advance": by}` on a task of its own: its
/// answer (aborting the task is a client that leaves without it).
pub(crate) fn advance_sent(
    sb: &Sandbox,
    by: &str,
) -> tokio::task::JoinHandle<Result<Resp, String>> {
    sb.send_in_background(
        "POST",
        "/__admin/clock",
        &[("content-type", "application/json")],
        json!({ "advance": by }).to_string(),
    )
}

/// Starts `POST /__admin/clock {"advance": by}` without waiting for it:
/// its status, and when it answered.
fn advance_in_background(sb: &Sandbox, by: &str) -> tokio::task::JoinHandle<(u16, Instant)> {
    let sent = advance_sent(sb, by);
    tokio::spawn(async move {
        let r = sent.await.unwrap().expect("the clock call was answered");
        (r.status, Instant::now())
    })
}

// README, Decisions (async): `POST /__admin/clock` answers once the tasks
// the move made due have run; "What requests schedule while the move runs
// (a verification created meanwhile, its first step due at once on a
// frozen clock) runs as the clock gets there, after the answer, so that
// requests that keep coming, or a clock that runs on, cannot hold it."
#[tokio::test]
async fn a_clock_move_does_not_wait_for_what_requests_schedule_meanwhile() {
    let dir = scenarios_with(
        "move-traffic",
        &[("processing_delay: 2s", "processing_delay: 0s")],
    );
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        scenarios: Source::Dir(dir),
        ..config()
    })
    .await;
    let hook = Hook::start().await;
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    // A: the source is down, and answers at the first retry (+20 min).
    let a = create_forced(
        &sb,
        RFC,
        "recovers_on_retry",
        json!({"curp": EPN, "state": 15}),
    )
    .await;
    // A's attempt is answered once a second request has reached the
    // target: the one this test sends it. Any after those never is.
    hook.hold(&a, 2);
    hook.plan(&[Answer::Completed, Answer::Completed]);
    hook.always(Answer::Hang);
    let moved = advance_in_background(&sb, "20m");
    hook.arrived(1).await;
    // B, created while the move waits on A's attempt: due at once.
    let b = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 15})).await;
    let release = Http::new(hook.root.clone())
        .post("/release", &[], json!({}))
        .await;
    assert_eq!(release.status, 200);
    // B's attempt, whose target never answers, would hold the move for
    // its webhook_timeout (10 s).
    let (status, _) = tokio::time::timeout(Duration::from_secs(5), moved)
        .await
        .expect("the move waited for an attempt a request scheduled")
        .unwrap();
    assert_eq!(status, 200);
    // B's attempt is made all the same, once the move has answered.
    hook.arrived(3).await;
    let ids: Vec<Value> = hook
        .received()
        .iter()
        .map(|r| r.json()["verificationId"].clone())
        .collect();
    assert_eq!(ids, [json!(a), Value::Null, json!(b)]);
    sb.stop().await;
}

#[tokio::test]
async fn one_big_advance_delivers_in_sandbox_time_order() {
    let (sb, hook) = hooked().await;
    hook.always(Answer::Status(500));
    // A: delivered from 10:00:02, every 15 min. B: the source is back at
    // the second retry, so its first attempt is at 10:40:02.
    let a = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let b = create_forced(
        &sb,
        RFC,
        "recovers_on_second_retry",
        json!({"curp": EPN, "state": 9}),
    )
    .await;
    sb.advance("3h").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 10);
    let times: Vec<&str> = d.iter().map(|d| d["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    // The deliveries list is "oldest first", as three-hour-long small steps
    // of the clock would have made it.
    assert_eq!(times, sorted, "{d:#?}");
    // The receiver sees them in the same order: A's 10:15:02 retry before
    // B's 10:40:02 first attempt.
    let order: Vec<String> = hook
        .received()
        .iter()
        .map(|r| r.json()["verificationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order[..4], [a.clone(), a.clone(), a.clone(), b.clone()]);
}

// README, Admin API: `GET /__admin/webhooks/deliveries` lists "every
// attempt, oldest first (in the order they were made, however fast their
// targets answer)"; SPEC (users): a CI suite needs "deterministic output".
// Two verifications created one after the other at the same sandbox instant
// have their first attempts due at the same instant: the list gives them in
// the timeline's order (the first created first), even when the receiver
// answers the first one last.
// README, Webhooks: "A clock moved by hand (`POST /__admin/clock`) runs what
// it made due one instant after the other, … so an attempt due later waits
// for a hanging earlier one"; "The move and a redelivery run to their end on
// tasks of their own: an admin client that gives up waiting cuts neither
// short." The clock call's client leaves while A's first attempt hangs: every
// attempt of the three hours is still made in sandbox-time order.
#[tokio::test]
async fn a_clock_move_whose_client_leaves_still_runs_its_instants_in_order() {
    let (sb, dir) = start_with_timeout("clock-left", "200ms").await;
    let slow = Hook::start().await;
    slow.always(Answer::Hang);
    set_webhook(&sb, KEY, json!({"url": slow.url})).await;
    let failing = Hook::start().await;
    failing.always(Answer::Status(500));
    set_webhook(&sb, "other", json!({"url": failing.url})).await;
    // A: first attempt at 10:00:02, then every 15 min, each hanging 200 ms.
    create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    // B: the source is back at its second retry, first attempt at 10:40:02.
    let r = sb
        .post(
            RFC,
            &[
                ("apikey", "other"),
                ("X-Sandbox-Scenario", "recovers_on_second_retry"),
            ],
            json!({"curp": EPN, "state": 9}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let client = advance_sent(&sb, "3h");
    slow.arrived(1).await;
    client.abort();
    let d = settled(&sb, 10).await;
    let times: Vec<&str> = d.iter().map(|d| d["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times.len(), 10, "{d:#?}");
    assert_eq!(times, sorted, "attempts made out of sandbox-time order");
    sb.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn deliveries_due_at_one_instant_are_listed_in_the_timelines_order() {
    let (sb, hook) = hooked().await;
    let mut ids = Vec::new();
    for curp in ["FOXJ800101HDFLXN07", "LUMV521107MHGNCL04"] {
        ids.push(create(&sb, NSS, KEY, json!({ "curp": curp })).await);
    }
    // The receiver answers the first one only once the second has arrived.
    hook.hold(&ids[0], 2);
    sb.advance("2s").await;
    let listed: Vec<(String, String)> = deliveries(&sb)
        .await
        .iter()
        .map(|d| {
            (
                d["verificationId"].as_str().unwrap().to_string(),
                d["time"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let at = "2024-05-15T10:00:02.000000-06:00".to_string();
    assert_eq!(
        listed,
        vec![(ids[0].clone(), at.clone()), (ids[1].clone(), at)],
        "both attempts were due at the same instant, the first created first"
    );
}

// The same order from the binary, whose runtime has several threads: the
// attempts due at one instant start together, and the deliveries list still
// gives them in the timeline's order, the first created first.
#[tokio::test]
async fn the_binary_lists_attempts_due_at_one_instant_in_the_timelines_order() {
    let served = Served::start(&["--port", "0", "--time-scale", "0"], &[]);
    let hook = Hook::start().await;
    set_webhook(&served, KEY, json!({ "url": hook.url })).await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(create(&served, RFC, KEY, json!({"curp": EPN, "state": 9})).await);
    }
    served.advance("2s").await;
    let listed: Vec<String> = deliveries(&served)
        .await
        .iter()
        .map(|d| d["verificationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ids, "attempts due at 10:00:02, listed out of order");
}

#[tokio::test]
async fn a_clock_set_back_holds_pending_steps_until_reached_again_once() {
    let (sb, hook) = hooked().await;
    hook.always(Answer::Status(500));
    let a = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let b = create_forced(&sb, RFC, "unavailable", json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    assert_eq!(hook.received().len(), 1);
    assert_eq!(status_code(&sb, &b).await, 2);
    // Back an hour: nothing that was pending fires, however far it moves
    // short of the due times.
    let clock = "/__admin/clock";
    move_clock(&sb, clock, json!({"set": "2024-05-15T09:00:00-06:00"})).await;
    sb.advance("75m").await; // 10:15:00
    assert_eq!(hook.received().len(), 1);
    assert_eq!(status_code(&sb, &a).await, 3);
    sb.advance("2s").await; // 10:15:02: A's second attempt
    assert_eq!(hook.received().len(), 2);
    // Back again and forward past the same instants: nothing fires twice.
    move_clock(&sb, clock, json!({"set": "2024-05-15T10:00:00-06:00"})).await;
    move_clock(&sb, clock, json!({"set": "2024-05-15T10:20:02-06:00"})).await;
    assert_eq!(hook.received().len(), 2);
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[1]["sourceTries"], 2, "{list}");
    let d = deliveries(&sb).await;
    let times: Vec<&str> = d.iter().map(|d| d["time"].as_str().unwrap()).collect();
    assert_eq!(
        times,
        [
            "2024-05-15T10:00:02.000000-06:00",
            "2024-05-15T10:15:02.000000-06:00"
        ]
    );
    // The rest of the timeline at its own times.
    sb.advance("2h").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 10, "{d:#?}");
    assert_eq!(status_code(&sb, &a).await, 4);
    assert_eq!(status(&sb, &b).await["warnings"][0]["code"], "RFC010");
}

// README, Admin API: the clock stops at 9999-12-31T23:59:59.999999-06:00;
// SPEC §5: a verification goes on to 4 Completed, even one created in that last second.
#[tokio::test]
async fn a_verification_created_in_the_clocks_last_second_completes() {
    let sb = Sandbox::start().await;
    let clock = "/__admin/clock";
    move_clock(&sb, clock, json!({"set": "9999-12-31T23:59:59-06:00"})).await;
    let id = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 15})).await;
    // As far as the clock goes: short of the 2 s processing delay.
    move_clock(
        &sb,
        clock,
        json!({"set": "9999-12-31T23:59:59.999999-06:00"}),
    )
    .await;
    let b = status(&sb, &id).await;
    assert_eq!(b["verificationStatus"], 4, "{b}");
    assert_eq!(b["verification"], "{\"rfc\":\"PENX660720CV0\"}", "{b}");
}

#[tokio::test]
async fn a_reset_during_an_attempt_in_flight_records_nothing_after_it() {
    let (sb, dir) = start_with_timeout("audit-reset-inflight", "10s").await;
    let hook = Hook::start().await;
    hook.plan(&[Answer::Hang]);
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let old = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let started = Instant::now();
    let advance = advance_in_background(&sb, "2s");
    hook.arrived(1).await;
    let r = sb.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200);
    // The attempt is dropped with the namespace's timers: the clock call
    // that was waiting for it answers without waiting out the timeout.
    assert_eq!(advance.await.unwrap().0, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    // The fresh namespace replays the id; the old attempt touches nothing.
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let new = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    assert_eq!(new, old);
    assert_eq!(status_code(&sb, &new).await, 1);
    assert!(deliveries(&sb).await.is_empty());
    sb.advance("2s").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["attempt"], 1);
    assert_eq!(d[0]["outcome"], "delivered");
    assert_eq!(status_code(&sb, &new).await, 4);
    sb.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_reset_namespace_starts_afresh_without_its_old_retries() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    hook.always(Answer::Status(500));
    let ns = "audit-reset-ns";
    set_webhook_in(&sb, ns, &hook.url).await;
    let headers = [("apikey", KEY), ("X-Sandbox-Namespace", ns)];
    let old = sb.post(NSS, &headers, json!({"curp": EPN})).await.json();
    let clock = format!("/__admin/clock?namespace={ns}");
    move_clock(&sb, &clock, json!({"advance": "2s"})).await;
    assert_eq!(hook.received().len(), 1);
    let r = sb
        .admin_post(&format!("/__admin/reset?namespace={ns}"), json!({}))
        .await;
    assert_eq!(r.status, 200);
    set_webhook_in(&sb, ns, &hook.url).await;
    let new = sb.post(NSS, &headers, json!({"curp": EPN})).await.json();
    assert_eq!(new["verificationId"], old["verificationId"]);
    // The old chain's retries (10:15:02 on) never come; the new one runs
    // its own five attempts from 10:00:02.
    move_clock(&sb, &clock, json!({"advance": "3h"})).await;
    assert_eq!(hook.received().len(), 1 + 5);
    let d = sb
        .admin_get(&format!("/__admin/webhooks/deliveries?namespace={ns}"))
        .await;
    let attempts: Vec<u64> = d
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn resetting_a_namespace_leaves_no_timer_task_behind() {
    let sb = Sandbox::start().await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let headers = [("apikey", KEY), ("X-Sandbox-Namespace", "audit-leak")];
    let reset = "/__admin/reset?namespace=audit-leak";
    // One round first, so that the connections are open.
    sb.post(NSS, &headers, json!({"curp": EPN})).await;
    assert_eq!(sb.admin_post(reset, json!({})).await.status, 200);
    let before = metrics.num_alive_tasks();
    for _ in 0..30 {
        // A creation schedules the source query: the namespace's timers start.
        let r = sb.post(NSS, &headers, json!({"curp": EPN})).await;
        assert_eq!(r.status, 200);
        assert_eq!(sb.admin_post(reset, json!({})).await.status, 200);
    }
    let after = metrics.num_alive_tasks();
    assert!(
        after <= before + 5,
        "{before} tasks before 30 resets, {after} after"
    );
}

#[tokio::test]
async fn a_scale_change_wakes_the_waiting_timers() {
    let (sb, hook) = hooked().await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    // Frozen: nothing happens on its own. At 1000x, the 2 s of processing
    // are 2 ms of real time, and the timers notice the change.
    move_clock(&sb, "/__admin/clock", json!({"scale": 1000})).await;
    hook.arrived(1).await;
    move_clock(&sb, "/__admin/clock", json!({"scale": 0})).await;
    assert_eq!(status_code(&sb, &id).await, 4);
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["time"], "2024-05-15T10:00:02.000000-06:00");
}

#[tokio::test]
async fn a_target_changed_between_attempts_gets_the_next_one() {
    let sb = Sandbox::start().await;
    let first = Hook::start().await;
    first.always(Answer::Status(500));
    let second = Hook::start().await;
    set_webhook(&sb, KEY, json!({"url": first.url})).await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    set_webhook(&sb, KEY, json!({"url": second.url, "apikey": "rotated"})).await;
    sb.advance("15m").await;
    assert_eq!(first.received().len(), 1);
    let got = second.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("apikey"), Some("rotated"));
    assert_eq!(got[0].json()["verificationStatus"], 3);
    assert_eq!(status_code(&sb, &id).await, 4);
    let d = deliveries(&sb).await;
    assert_eq!(d[1]["url"], second.url.as_str());
    assert_eq!(d[1]["time"], "2024-05-15T10:15:02.000000-06:00");
}

#[tokio::test]
async fn failed_redeliveries_leave_the_scheduled_attempts_alone() {
    let (sb, hook) = hooked().await;
    hook.always(Answer::Status(500));
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    let route = format!("/__admin/webhooks/deliveries/{id}/redeliver");
    for _ in 0..3 {
        let r = sb.admin_post(&route, json!({})).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["outcome"], "HTTP 500");
    }
    sb.advance("3h").await;
    let d = deliveries(&sb).await;
    let scheduled: Vec<&str> = d
        .iter()
        .filter(|d| d["trigger"] == "schedule")
        .map(|d| d["time"].as_str().unwrap())
        .collect();
    assert_eq!(
        scheduled,
        [
            "2024-05-15T10:00:02.000000-06:00",
            "2024-05-15T10:15:02.000000-06:00",
            "2024-05-15T10:30:02.000000-06:00",
            "2024-05-15T10:45:02.000000-06:00",
            "2024-05-15T11:00:02.000000-06:00",
        ]
    );
    assert_eq!(hook.received().len(), 8);
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["delivered"], false);
    assert_eq!(list[0]["completedAt"], "2024-05-15T11:00:02.000000-06:00");
}

#[tokio::test]
async fn a_redelivery_during_an_attempt_in_flight_ends_the_retries() {
    let (sb, dir) = start_with_timeout("audit-redeliver-inflight", "200ms").await;
    let hook = Hook::start().await;
    hook.plan(&[Answer::Hang]);
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let advance = advance_in_background(&sb, "2s");
    hook.arrived(1).await;
    let r = sb
        .admin_post(
            &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["outcome"], "delivered");
    assert_eq!(status_code(&sb, &id).await, 4);
    // The scheduled attempt times out afterwards: no retry follows.
    assert_eq!(advance.await.unwrap().0, 200);
    sb.advance("3h").await;
    assert_eq!(hook.received().len(), 2);
    let list = sb.admin_get("/__admin/verifications").await;
    assert_eq!(list[0]["delivered"], true);
    assert_eq!(list[0]["verificationStatus"], 4);
    sb.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

// README, Webhooks: "The move and a redelivery run to their end on tasks of
// their own: an admin client that gives up waiting cuts neither short"; an
// attempt is `sending` only until its target answers or `webhook_timeout`
// passes. A redelivery whose client leaves before the answer is recorded
// with the outcome it came to.
#[tokio::test]
async fn a_redelivery_whose_admin_client_leaves_still_records_its_outcome() {
    let (sb, dir) = start_with_timeout("redeliver-left", "200ms").await;
    let hook = Hook::start().await;
    hook.plan(&[Answer::Status(500), Answer::Hang]);
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    sb.advance("2s").await;
    assert_eq!(hook.received().len(), 1);
    let client = sb.send_in_background(
        "POST",
        &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
        &[("content-type", "application/json")],
        "{}",
    );
    // The redelivery is out; its client leaves.
    hook.arrived(2).await;
    client.abort();
    let d = settled(&sb, 2).await;
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[1]["trigger"], "redeliver", "{d:#?}");
    assert_eq!(d[1]["outcome"], "no answer within 200ms", "{d:#?}");
    sb.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_nss_provider_day_runs_midnight_to_midnight_utc_minus_6() {
    let sb = Sandbox::start().await;
    let body = json!({"curp": EPN});
    let clock = "/__admin/clock";
    move_clock(&sb, clock, json!({"set": "2024-05-15T00:00:00-06:00"})).await;
    assert_eq!(
        sb.post(NSS, &[("apikey", KEY)], body.clone())
            .await
            .scenario(),
        "success"
    );
    // 18:00 UTC-6 is midnight UTC: the same provider day.
    move_clock(&sb, clock, json!({"set": "2024-05-15T18:00:01-06:00"})).await;
    assert_eq!(
        sb.post(NSS, &[("apikey", KEY)], body.clone())
            .await
            .scenario(),
        "success"
    );
    move_clock(
        &sb,
        clock,
        json!({"set": "2024-05-15T23:59:59.999999-06:00"}),
    )
    .await;
    let r = sb.post(NSS, &[("apikey", KEY)], body.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.scenario(), "attempts_exceeded");
    let third = r.json()["verificationId"].as_str().unwrap().to_string();
    // Processed after midnight, it still completes with NSS008.
    sb.advance("2s").await;
    let b = status(&sb, &third).await;
    assert_eq!(b["verificationStatus"], 4);
    assert_eq!(b["warnings"][0]["code"], "NSS008");
    // Midnight UTC-6 has passed: a new day.
    assert_eq!(
        sb.post(NSS, &[("apikey", KEY)], body).await.scenario(),
        "success"
    );
}

#[tokio::test]
async fn the_nss_day_count_survives_the_clock_going_back_and_forth() {
    let sb = Sandbox::start().await;
    let body = json!({"curp": EPN});
    let clock = "/__admin/clock";
    for _ in 0..2 {
        let r = sb.post(NSS, &[("apikey", KEY)], body.clone()).await;
        assert_eq!(r.scenario(), "success");
    }
    move_clock(&sb, clock, json!({"set": "2024-05-14T23:00:00-06:00"})).await;
    let r = sb.post(NSS, &[("apikey", KEY)], body.clone()).await;
    assert_eq!(r.scenario(), "success", "the day before had none");
    move_clock(&sb, clock, json!({"set": "2024-05-15T10:30:00-06:00"})).await;
    // The third request of 2024-05-15 for this CURP.
    let r = sb.post(NSS, &[("apikey", KEY)], body).await;
    assert_eq!(r.scenario(), "attempts_exceeded");
}

#[tokio::test]
async fn a_verification_is_unknown_in_another_namespace() {
    let sb = Sandbox::start().await;
    let id = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    let r = sb
        .get(
            &format!("{STATUS}?verificationId={id}"),
            &[("apikey", KEY), ("X-Sandbox-Namespace", "audit-elsewhere")],
        )
        .await;
    assert_error(&r, 404, "INENL016", "The register could not be found.");
    // Its own namespace still has it, for its own apikey only.
    assert_eq!(status_code(&sb, &id).await, 1);
    let r = sb
        .get(
            &format!("{STATUS}?verificationId={id}"),
            &[("apikey", "another-key")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "INENL015");
}

// `processing_delay: 0`: the source is asked before the creation is
// answered, so a status read right behind it (pipelined on the same
// connection, on a frozen clock, with no webhook target) is 4 Completed,
// not whatever the timers' task had done by then; a source that is down is
// 2 Retrying at once.
#[tokio::test]
async fn a_processing_delay_of_zero_answers_a_status_read_right_after_creation_alike() {
    use tokio::io::AsyncWriteExt;
    let dir = scenarios_with(
        "zero-delay",
        &[("processing_delay: 2s", "processing_delay: 0")],
    );
    let start = || {
        Sandbox::start_with(mxid_sandbox::Config {
            scenarios: Source::Dir(dir.clone()),
            ..config()
        })
    };
    // Two fresh sandboxes given the same requests give the same ids: the
    // first one's tells the id the second will give, so that its status
    // read can be sent with the creation.
    let first = start().await;
    let body = json!({ "curp": EPN, "state": 15 }).to_string();
    let mut ids = Vec::new();
    for scenario in ["success", "unavailable"] {
        let id = create_forced(&first, RFC, scenario, serde_json::from_str(&body).unwrap()).await;
        status(&first, &id).await;
        ids.push(id);
    }
    first.stop().await;
    let sb = start().await;
    let mut conn = tokio::net::TcpStream::connect(sb.addr).await.unwrap();
    for (scenario, (id, want)) in ["success", "unavailable"]
        .iter()
        .zip(ids.iter().zip([4, 2]))
    {
        let both = format!(
            "POST {RFC} HTTP/1.1\r\nhost: s\r\napikey: {KEY}\r\nx-sandbox-scenario: {scenario}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}\
             GET {STATUS}?verificationId={id} HTTP/1.1\r\nhost: s\r\napikey: {KEY}\r\n\r\n",
            body.len()
        );
        conn.write_all(both.as_bytes()).await.unwrap();
        let answers = read_answers(&mut conn, 2).await;
        assert_eq!(answers[0]["verificationId"], id.as_str(), "{answers:?}");
        assert_eq!(
            answers[1]["verificationStatus"], want,
            "{scenario}: {answers:?}"
        );
    }
    sb.stop().await;
}

/// Reads `n` HTTP/1.1 answers with a Content-Length from `conn`: their JSON
/// bodies.
async fn read_answers(conn: &mut tokio::net::TcpStream, n: usize) -> Vec<Value> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while out.len() < n {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text[..head_end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("a Content-Length");
            let end = head_end + 4 + length;
            if buf.len() >= end {
                out.push(serde_json::from_slice(&buf[head_end + 4..end]).unwrap());
                buf.drain(..end);
                continue;
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut chunk)).await;
        match read.expect("answers within 5 s").unwrap() {
            0 => panic!("closed after {} answers", out.len()),
            k => buf.extend_from_slice(&chunk[..k]),
        }
    }
    out
}

// README, Decisions: "Path parameters are percent-decoded (an nss execution
// id, an override id, a webhook's apikey), as query values and form fields
// are: `%34` is `4`, `%2F` a slash inside the segment, `+` stays `+`."
// An apikey with a `+` (as base64 keys have) is set, listed, used and
// removed as itself. (A mutant reading `+` as a space passed the suite.)
#[tokio::test]
async fn a_plus_in_a_webhooks_apikey_path_stays_a_plus() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    set_webhook(&sb, "key+one", json!({"url": hook.url})).await;
    let listed = sb.admin_get("/__admin/webhooks").await;
    let admin: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["source"] == "admin")
        .collect();
    assert_eq!(admin.len(), 1, "{listed}");
    assert_eq!(admin[0]["apikey"], "key+one", "{listed}");
    // The customer whose apikey is `key+one` is delivered to it.
    let r = sb
        .post(
            RFC,
            &[("apikey", "key+one")],
            json!({"curp": EPN, "state": 15}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    sb.advance("2s").await;
    let d = deliveries(&sb).await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["outcome"], "delivered", "{d:?}");
    let r = sb.admin_delete("/__admin/webhooks/key+one").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// README, async admin routes: redeliver "answers the attempt (404 unknown
// id, 409 no result yet or no target)"; Decisions: "Its 409 cases: no
// result yet (1 or 2), no target." A verification in 2 Retrying has no
// result. (A mutant refusing only 1 Processing passed the suite.)
#[tokio::test]
async fn a_retrying_verification_has_no_result_to_redeliver() {
    let (sb, _hook) = hooked().await;
    let id = create_forced(&sb, RFC, "unavailable", json!({"curp": EPN, "state": 15})).await;
    // The source is down: 2 Retrying until +20 min.
    sb.advance("2s").await;
    let s = sb
        .get(&format!("{STATUS}?verificationId={id}"), &[("apikey", KEY)])
        .await;
    assert_eq!(s.json()["verificationStatus"], 2, "{}", s.text());
    let r = sb
        .admin_post(
            &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(deliveries(&sb).await, Vec::<Value>::new());
}

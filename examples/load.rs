//! The load helper of `bench/run.sh` and `bench/soak.sh`, for what wrk
//! cannot do: ten thousand connections each holding one delayed request,
//! the error of injected latency, an exact count of requests, and the soak's
//! mix of good, bad, forced and faulty requests over every provider.
//!
//! A minimal HTTP/1.1 client over raw tokio sockets (keep-alive, bodies
//! with content-length, which is what the sandbox answers), so that the
//! client costs little and every connection error is seen as it is.
//!
//! ```text
//! load delayed ADDR N DELAY          N connections opened, then one request on each at once, delayed DELAY
//! load latency ADDR N DELAY_MS       N requests (4 at a time) asking DELAY_MS; error percentiles
//! load count ADDR N CONNS CURPS      N success-path requests over CONNS keep-alive connections
//! load soak ADDR N CONNS CURPS       N mixed requests over every registered provider
//! load fill ADDR N CONNS             N async verifications created (fills their bounded store)
//! load hold ADDR N SECS              N connections, one request each, all held open SECS
//! load ready RUNS PROGRAM ARGS…      time from spawn to the first line on stdout
//! ```
//! ADDR is `127.0.0.1:PORT`; CURPS a file with one CURP per line. Results are
//! printed as `key=value` pairs on one line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Every provider's credential header, sent on every request: each provider
/// reads its own and ignores the others.
const CREDENTIALS: &str = "apikey: bench-key\r\nx-api-key: bench-key\r\nauthorization: Bearer bench-token\r\nx-df-api-id: bench-id\r\nx-df-api-secret: bench-secret\r\n";

/// The success path of one provider: method, path (with `{CURP}`) and JSON
/// body (with `{CURP}`). The async provider's is its status read, filled in
/// at run time with a verification created first.
fn success_paths(registered: &[String]) -> Vec<(String, &'static str, String, String)> {
    let all = [
        ("curpv5", "POST", "/api/curp/bycurp", r#"{"curp":"{CURP}"}"#),
        (
            "validacurp",
            "POST",
            "/curp/getData",
            r#"{"curp":"{CURP}"}"#,
        ),
        (
            "accuauth",
            "POST",
            "/verify/id_check",
            r#"{"id_number":"{CURP}"}"#,
        ),
        ("nss", "POST", "/api/v1/imss/nss", r#"{"curp":"{CURP}"}"#),
    ];
    all.iter()
        .filter(|(id, ..)| registered.iter().any(|r| r == id))
        .map(|(id, m, p, b)| (id.to_string(), *m, p.to_string(), b.to_string()))
        .collect()
}

/// One request as bytes.
fn request(method: &str, path: &str, extra_headers: &str, body: &str, curp: &str) -> Vec<u8> {
    let body = body.replace("{CURP}", curp);
    let path = path.replace("{CURP}", curp);
    format!(
        "{method} {path} HTTP/1.1\r\nhost: sandbox\r\ncontent-type: application/json\r\n{CREDENTIALS}{extra_headers}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What came back for one request.
#[derive(Debug)]
struct Answer {
    status: u16,
    scenario: String,
    body: Vec<u8>,
}

/// A keep-alive connection to the sandbox.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            stream: None,
        }
    }

    /// Opens the connection if it is not open.
    async fn connect(&mut self) -> std::io::Result<()> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(BufReader::new(s));
        }
        Ok(())
    }

    /// Sends one request and reads its answer; on any error the connection
    /// is dropped (the next call opens a new one).
    async fn send(&mut self, req: &[u8]) -> std::io::Result<Answer> {
        self.connect().await?;
        let r = self.exchange(req).await;
        if r.is_err() {
            self.stream = None;
        }
        r
    }

    async fn exchange(&mut self, req: &[u8]) -> std::io::Result<Answer> {
        let s = self.stream.as_mut().expect("connected");
        s.get_mut().write_all(req).await?;
        let mut line = String::new();
        if s.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before answering",
            ));
        }
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0usize;
        let mut scenario = String::new();
        let mut close = false;
        loop {
            line.clear();
            if s.read_line(&mut line).await? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "closed in the headers",
                ));
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("x-sandbox-scenario") {
                    scenario = v.to_string();
                } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut body = vec![0; length];
        s.read_exact(&mut body).await?;
        if close {
            self.stream = None;
        }
        Ok(Answer {
            status,
            scenario,
            body,
        })
    }
}

fn read_curps(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let curps: Vec<String> = text
        .lines()
        .map(|l| l.trim().trim_matches(|c| c == '"' || c == ',').to_string())
        .filter(|l| l.len() == 18)
        .collect();
    assert!(!curps.is_empty(), "{path}: no CURPs");
    curps
}

/// One request on a fresh connection, closing after it.
async fn once(addr: &str, req: &[u8]) -> std::io::Result<Answer> {
    Conn::new(addr).send(req).await
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The providers the sandbox has, from its catalog.
async fn catalog(addr: &str) -> Vec<(String, String, String, String)> {
    let req = b"GET /__admin/scenarios HTTP/1.1\r\nhost: sandbox\r\nconnection: close\r\n\r\n";
    let answer = once(addr, req).await.expect("the catalog");
    let rows: Value = serde_json::from_slice(&answer.body).expect("catalog JSON");
    rows.as_array()
        .expect("catalog rows")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            // An endpoint that takes two methods lists both (`GET,POST`):
            // the first is sent.
            let method = s("method").split(',').next().unwrap_or("").to_string();
            (s("provider"), method, s("path"), s("name"))
        })
        .collect()
}

/// Creates one async verification and returns its status path, if the
/// async provider is there and answers as its document says.
async fn async_status_path(addr: &str, curp: &str) -> Option<String> {
    let req = request(
        "POST",
        "/api/AsyncVerication/NssByCurp",
        "",
        r#"{"curp":"{CURP}"}"#,
        curp,
    );
    let answer = once(addr, &req).await.ok()?;
    let v: Value = serde_json::from_slice(&answer.body).ok()?;
    let id = v["verificationId"].as_str()?;
    Some(format!(
        "/api/AsyncVerication/verificationStatus?verificationId={id}"
    ))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> &str {
        args.get(i).map(String::as_str).unwrap_or_else(|| {
            eprintln!("usage: load delayed|latency|count|soak|fill|hold ADDR …");
            std::process::exit(2)
        })
    };
    match arg(0) {
        "delayed" => delayed(arg(1), arg(2).parse().unwrap(), arg(3)).await,
        "latency" => latency(arg(1), arg(2).parse().unwrap(), arg(3).parse().unwrap()).await,
        "count" => {
            count(
                arg(1),
                arg(2).parse().unwrap(),
                arg(3).parse().unwrap(),
                arg(4),
            )
            .await
        }
        "soak" => {
            soak(
                arg(1),
                arg(2).parse().unwrap(),
                arg(3).parse().unwrap(),
                arg(4),
            )
            .await
        }
        "fill" => fill(arg(1), arg(2).parse().unwrap(), arg(3).parse().unwrap()).await,
        "hold" => hold(arg(1), arg(2).parse().unwrap(), arg(3).parse().unwrap()).await,
        "ready" => ready(arg(1).parse().unwrap(), &args[2..]),
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2)
        }
    }
}

/// N connections opened at once; when every one is open, each sends one
/// curpv5 request delayed by `delay`. Prints the time the connections took
/// to open (`connect_ms`), the wall time from the first request sent to the
/// last answer read (`wall_ms`: N concurrent requests, as a client pool
/// sends them), the two together (`total_ms`), when the last request went
/// out (`last_sent_ms`, the client's own share of the wall time) and how
/// long each request took, sent to answered (`each_p50_ms`, `each_max_ms`).
/// Connections are closed after the clock stops, as a pool keeps them:
/// twenty thousand closes on two CPUs would otherwise be timed as if they
/// were the server's delay.
async fn delayed(addr: &str, n: usize, delay: &str) {
    let req = Arc::new(request(
        "POST",
        "/api/curp/bycurp",
        &format!("x-sandbox-latency: {delay}\r\n"),
        r#"{"curp":"{CURP}"}"#,
        "PXNE660720HMCXTN06",
    ));
    let start = Instant::now();
    let open = Arc::new(tokio::sync::Barrier::new(n + 1));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (req, addr, open) = (req.clone(), addr.to_string(), open.clone());
            tokio::spawn(async move {
                let mut conn = Conn::new(&addr);
                let connected = conn.connect().await;
                open.wait().await;
                connected?;
                let sent = Instant::now();
                let status = conn.send(&req).await?.status;
                // The connection is kept, as a pool would keep it: closing
                // is not part of the request.
                Ok::<_, std::io::Error>((status, sent, Instant::now(), conn))
            })
        })
        .collect();
    open.wait().await;
    let connected = Instant::now();
    let mut ok = 0;
    let mut failed = 0;
    let mut first_error = String::new();
    let mut sent = Vec::with_capacity(n);
    let mut took = Vec::with_capacity(n);
    let mut kept = Vec::with_capacity(n);
    for t in tasks {
        let answer = t.await.unwrap();
        if let Ok((_, at, done, _)) = answer {
            sent.push((at - connected).as_secs_f64() * 1000.0);
            took.push((done - at).as_secs_f64() * 1000.0);
        }
        match answer.map(|(status, .., conn)| {
            kept.push(conn);
            status
        }) {
            Ok(200) => ok += 1,
            Ok(s) => {
                failed += 1;
                if first_error.is_empty() {
                    first_error = format!("status {s}");
                }
            }
            Err(e) => {
                failed += 1;
                if first_error.is_empty() {
                    first_error = e.to_string();
                }
            }
        }
    }
    let wall = connected.elapsed();
    drop(kept);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    sent.sort_by(f64::total_cmp);
    took.sort_by(f64::total_cmp);
    println!(
        "connect_ms={:.1} wall_ms={:.1} total_ms={:.1} last_sent_ms={:.1} each_p50_ms={:.1} each_max_ms={:.1} ok={ok} failed={failed} first_error={:?}",
        ms(connected - start),
        ms(wall),
        ms(start.elapsed()),
        percentile(&sent, 100.0),
        percentile(&took, 50.0),
        percentile(&took, 100.0),
        first_error
    );
}

/// N requests, 4 at a time on keep-alive connections, each asking for
/// `delay_ms`; the error (measured minus asked) at p50 and p99, and the
/// same for requests asking nothing (the floor).
async fn latency(addr: &str, n: usize, delay_ms: u64) {
    let measure = |delay: u64| {
        let addr = addr.to_string();
        async move {
            let extra = if delay > 0 {
                format!("x-sandbox-latency: {delay}ms\r\n")
            } else {
                String::new()
            };
            let req = Arc::new(request(
                "POST",
                "/api/curp/bycurp",
                &extra,
                r#"{"curp":"{CURP}"}"#,
                "PXNE660720HMCXTN06",
            ));
            let samples = Arc::new(Mutex::new(Vec::with_capacity(n)));
            let left = Arc::new(AtomicUsize::new(n));
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let (req, samples, left, addr) =
                        (req.clone(), samples.clone(), left.clone(), addr.clone());
                    tokio::spawn(async move {
                        let mut conn = Conn::new(&addr);
                        while left
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1))
                            .is_ok()
                        {
                            let t = Instant::now();
                            let a = conn.send(&req).await.expect("answer");
                            assert_eq!(a.status, 200);
                            let ms = t.elapsed().as_secs_f64() * 1000.0 - delay as f64;
                            samples.lock().unwrap().push(ms);
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await.unwrap();
            }
            let mut s = samples.lock().unwrap().clone();
            s.sort_by(f64::total_cmp);
            s
        }
    };
    let floor = measure(0).await;
    let errors = measure(delay_ms).await;
    println!(
        "asked_ms={delay_ms} n={n} err_p50_ms={:.3} err_p99_ms={:.3} err_max_ms={:.3} err_min_ms={:.3} floor_p50_ms={:.3} floor_p99_ms={:.3}",
        percentile(&errors, 50.0),
        percentile(&errors, 99.0),
        errors.last().copied().unwrap_or(f64::NAN),
        errors.first().copied().unwrap_or(f64::NAN),
        percentile(&floor, 50.0),
        percentile(&floor, 99.0),
    );
}

/// N success-path requests, round-robin over the registered providers and
/// the CURPs, over `conns` keep-alive connections.
async fn count(addr: &str, n: usize, conns: usize, curps: &str) {
    let curps = Arc::new(read_curps(curps));
    let providers: Vec<String> = {
        let mut p: Vec<String> = catalog(addr).await.into_iter().map(|r| r.0).collect();
        p.dedup();
        p
    };
    let mut paths = success_paths(&providers);
    if providers.iter().any(|p| p == "async") {
        if let Some(path) = async_status_path(addr, &curps[0]).await {
            paths.push(("async".into(), "GET", path, String::new()));
        }
    }
    let paths = Arc::new(paths);
    let next = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|_| {
            let (curps, paths, next, statuses, addr) = (
                curps.clone(),
                paths.clone(),
                next.clone(),
                statuses.clone(),
                addr.to_string(),
            );
            tokio::spawn(async move {
                let mut conn = Conn::new(&addr);
                let mut local = BTreeMap::<String, usize>::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let (id, method, path, body) = &paths[i % paths.len()];
                    let curp = &curps[(i / paths.len()) % curps.len()];
                    let key = match conn.send(&request(method, path, "", body, curp)).await {
                        Ok(a) => format!("{id}:{}", a.status),
                        Err(e) => format!("{id}:error:{}", e.kind()),
                    };
                    *local.entry(key).or_default() += 1;
                }
                let mut all = statuses.lock().unwrap();
                for (k, v) in local {
                    *all.entry(k).or_default() += v;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let statuses = statuses.lock().unwrap();
    let summary: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "requests={n} secs={:.2} {}",
        start.elapsed().as_secs_f64(),
        summary.join(" ")
    );
}

/// N async verifications created over `conns` connections: fills the
/// sandbox's bounded store of them (10,000 per namespace) so that a soak
/// after it measures growth, not a store filling. Does nothing when the
/// async provider is not registered.
async fn fill(addr: &str, n: usize, conns: usize) {
    let registered = catalog(addr).await.iter().any(|r| r.0 == "async");
    if !registered {
        println!("fill: async not registered, nothing to fill");
        return;
    }
    let req = Arc::new(request(
        "POST",
        "/api/AsyncVerication/NssByCurp",
        "",
        r#"{"curp":"{CURP}"}"#,
        "PXNE660720HMCXTN06",
    ));
    let next = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|_| {
            let (req, next, created, addr) =
                (req.clone(), next.clone(), created.clone(), addr.to_string());
            tokio::spawn(async move {
                let mut conn = Conn::new(&addr);
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    if matches!(conn.send(&req).await, Ok(a) if a.status / 100 == 2) {
                        created.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    println!(
        "fill: created={} of {n} secs={:.2}",
        created.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
}

/// What one soak request is, and so what answer is acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// The realistic path with a well-formed CURP.
    Success,
    /// A scenario forced by header: any status, but the scenario must be it.
    Forced,
    /// Malformed JSON, a missing field, a bad CURP, an unknown path.
    BadInput,
    /// A connection-level fault asked for by header.
    Fault,
}

/// N requests drawn from a mix over every provider the sandbox has:
/// 40 % success path, 30 % every scenario of every endpoint forced by
/// header (those that answer 5xx on purpose included), 20 % bad input,
/// 10 % faults. Counts outcomes; a 5xx that was not asked for, a wrong
/// scenario, or a broken connection that was not a fault is a failure.
async fn soak(addr: &str, n: usize, conns: usize, curps: &str) {
    let curps = Arc::new(read_curps(curps));
    let rows = catalog(addr).await;
    let mut providers: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    providers.dedup();
    let mut success = success_paths(&providers);
    if providers.iter().any(|p| p == "async") {
        if let Some(path) = async_status_path(addr, &curps[0]).await {
            success.push(("async".into(), "GET", path, String::new()));
        }
        success.push((
            "async".into(),
            "POST",
            "/api/AsyncVerication/NssByCurp".into(),
            r#"{"curp":"{CURP}"}"#.into(),
        ));
    }
    // Forced scenarios: every row of the catalog, path parameters filled.
    let forced: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|(p, m, path, name)| {
            let path = path.replace("{id}", "64ef68b8aee408847d35e44e");
            let path = if path.contains('{') {
                path.split('{').next().unwrap_or("/").to_string() + "x"
            } else {
                path
            };
            (p.clone(), m.clone(), path, name.clone())
        })
        .collect();
    let (success, forced) = (Arc::new(success), Arc::new(forced));
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|w| {
            let (curps, success, forced, next, outcomes, failures, addr) = (
                curps.clone(),
                success.clone(),
                forced.clone(),
                next.clone(),
                outcomes.clone(),
                failures.clone(),
                addr.to_string(),
            );
            tokio::spawn(async move {
                let mut conn = Conn::new(&addr);
                let mut local = BTreeMap::<String, usize>::new();
                let mut bad = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let curp = &curps[(i * 7 + w) % curps.len()];
                    let (s_id, s_method, s_path, s_body) = &success[i % success.len()];
                    let (kind, provider, req, expect_scenario) = match i % 10 {
                        0..=3 => (
                            Kind::Success,
                            s_id.clone(),
                            request(s_method, s_path, "", s_body, curp),
                            None,
                        ),
                        4..=6 => {
                            let (p, m, path, name) = &forced[(i / 10) % forced.len()];
                            let extra = format!("x-sandbox-scenario: {name}\r\n");
                            let body = r#"{"curp":"{CURP}","id_number":"{CURP}"}"#;
                            (
                                Kind::Forced,
                                p.clone(),
                                request(m, path, &extra, body, curp),
                                Some(name.clone()),
                            )
                        }
                        7 | 8 => {
                            let body = match (i / 10) % 5 {
                                0 => r#"{"curp": "#.to_string(),
                                1 => "{}".to_string(),
                                2 => r#"{"curp":"NOT-A-CURP","id_number":12}"#.to_string(),
                                3 => format!(r#"{{"curp":"{}"}}"#, &curp[..17]),
                                _ => "\u{0}\u{1}garbage".to_string(),
                            };
                            let path = if (i / 10) % 7 == 0 {
                                format!("{s_path}/nope")
                            } else {
                                s_path.clone()
                            };
                            (
                                Kind::BadInput,
                                s_id.clone(),
                                request("POST", &path, "", &body, curp),
                                None,
                            )
                        }
                        _ => {
                            let fault = ["connection_reset", "empty_response", "malformed_body"]
                                [(i / 10) % 3];
                            let extra = format!("x-sandbox-fault: {fault}\r\n");
                            (
                                Kind::Fault,
                                s_id.clone(),
                                request(s_method, s_path, &extra, s_body, curp),
                                None,
                            )
                        }
                    };
                    let result =
                        tokio::time::timeout(Duration::from_secs(10), conn.send(&req)).await;
                    let outcome = match result {
                        Err(_) => {
                            conn = Conn::new(&addr);
                            bad.push(format!("{provider} {kind:?}: no answer in 10 s"));
                            "timeout".to_string()
                        }
                        Ok(Err(e)) => {
                            if kind != Kind::Fault {
                                bad.push(format!("{provider} {kind:?}: connection error {e}"));
                            }
                            format!("conn_error:{:?}", e.kind())
                        }
                        Ok(Ok(a)) => {
                            let class = format!("{}xx", a.status / 100);
                            if let Some(name) = &expect_scenario {
                                if &a.scenario != name {
                                    bad.push(format!(
                                        "{provider} forced {name}: answered {} {}",
                                        a.status, a.scenario
                                    ));
                                }
                            } else if a.status >= 500 && kind != Kind::Fault {
                                bad.push(format!(
                                    "{provider} {kind:?}: unintended {} {} {}",
                                    a.status,
                                    a.scenario,
                                    String::from_utf8_lossy(&a.body)
                                ));
                            }
                            // The success path may meet a documented limit
                            // (a per-CURP counter answering its 4xx): that is
                            // the provider working, and counted as 4xx.
                            class
                        }
                    };
                    *local.entry(format!("{kind:?}:{outcome}")).or_default() += 1;
                }
                let mut all = outcomes.lock().unwrap();
                for (k, v) in local {
                    *all.entry(k).or_default() += v;
                }
                failures.lock().unwrap().extend(bad);
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let outcomes = outcomes.lock().unwrap();
    let failures = failures.lock().unwrap();
    let intended_5xx: usize = outcomes
        .iter()
        .filter(|(k, _)| k.starts_with("Forced:5xx"))
        .map(|(_, v)| v)
        .sum();
    println!(
        "requests={n} secs={:.2} providers={} forced_scenarios={} intended_5xx={intended_5xx} failures={}",
        start.elapsed().as_secs_f64(),
        providers.join(","),
        forced.len(),
        failures.len()
    );
    for (k, v) in outcomes.iter() {
        println!("  {k:<28} {v}");
    }
    let mut seen = BTreeMap::<&str, usize>::new();
    for f in failures.iter() {
        *seen.entry(f.as_str()).or_default() += 1;
    }
    for (f, count) in seen.iter().take(20) {
        println!("  FAIL x{count}: {f}");
    }
}

/// N connections, one request each (answered at once), then all held open
/// for `secs` while the caller reads the server's memory: the cost of N
/// served connections (compared against bare hyper's).
async fn hold(addr: &str, n: usize, secs: u64) {
    let req = Arc::new(request(
        "POST",
        "/api/curp/bycurp",
        "",
        r#"{"curp":"{CURP}"}"#,
        "PXNE660720HMCXTN06",
    ));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (req, addr) = (req.clone(), addr.to_string());
            tokio::spawn(async move {
                let mut conn = Conn::new(&addr);
                let ok = conn.send(&req).await.is_ok();
                (ok, conn)
            })
        })
        .collect();
    let mut held = Vec::with_capacity(n);
    let mut ok = 0;
    for t in tasks {
        let (answered, conn) = t.await.unwrap();
        ok += usize::from(answered);
        held.push(conn);
    }
    println!("held={ok}");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    drop(held);
}

/// Spawns PROGRAM ARGS… `runs` times; for each, the time until its first
/// line on stdout, then kills it. Prints the median and the worst.
fn ready(runs: usize, command: &[String]) {
    use std::io::BufRead;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let mut child = std::process::Command::new(&command[0])
            .args(&command[1..])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(line.contains("listening on"), "no ready line: {line:?}");
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "ready_median_ms={:.2} ready_max_ms={:.2} runs={runs}",
        percentile(&times, 50.0),
        times.last().unwrap()
    );
}

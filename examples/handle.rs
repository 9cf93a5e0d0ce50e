//! The engine's own cost per request, without a socket: builds each
//! provider's success-path request once, then times `Engine::handle` on it
//! (request parsing included, as the server does it). A quick, quiet
//! measure for work on the hot path; `bench/run.sh` is the real benchmark.
//!
//! Every `settings:` limit (those off by default too) is raised to a
//! billion, and async's `processing_delay` is 0s, as `bench/run.sh` serves
//! them: every counter counts, and the success path stays the success path.
//!
//! `cargo run --release --example handle -- [ITERATIONS] [PROVIDER]`
//!
//! `handle raised DIR` writes those scenario files into DIR and exits: the
//! folder `bench/run.sh` serves from, made by this one code.
//!
//! `NCURPS=N` cycles through N CURPs (default 1,000): the requests are
//! built ahead, so more CURPs also means colder copies of them.
//!
//! `COLD=BYTES` writes through a buffer that large before each request,
//! outside the timing: the caches as a request finds them when the CPU ran
//! other work in between (the kernel, the client), as at one connection.

use std::time::Instant;

use bytes::Bytes;
use hyper::{HeaderMap, Method, Uri};
use mxid_sandbox::config::{Config, Source};
use mxid_sandbox::engine::Engine;
use mxid_sandbox::request::Request;

const CREDENTIALS: [(&str, &str); 5] = [
    ("apikey", "bench-key"),
    ("x-api-key", "bench-key"),
    ("authorization", "Bearer bench-token"),
    ("x-df-api-id", "bench-id"),
    ("x-df-api-secret", "bench-secret"),
];

fn main() {
    if std::env::args().nth(1).as_deref() == Some("raised") {
        let dir = std::env::args().nth(2).expect("handle raised DIR");
        write_raised_limits(std::path::Path::new(&dir));
        return;
    }
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let only = std::env::args().nth(2);
    let dir = raised_limits();
    let config = Config {
        scenarios: Source::Dir(dir.clone()),
        ..Config::default()
    };
    let engine = Engine::new(config, mxid_sandbox::providers::all()).expect("scenarios load");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();

    let defs = engine.defs();
    let mut rng = seeded(1);
    let count: usize = std::env::var("NCURPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let curps: Vec<String> = (0..count)
        .map(|_| mxid_sandbox::curp::random_curp(&mut rng, &defs.fixtures.domain.names))
        .collect();
    let mut cold = vec![
        0u8;
        std::env::var("COLD")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    ];
    let registered: Vec<&str> = engine.modules().iter().map(|m| m.id()).collect();
    let mut cases: Vec<(&str, Method, String, &str)> = vec![
        (
            "curpv5",
            Method::POST,
            "/api/curp/bycurp".into(),
            r#"{"curp":"{CURP}"}"#,
        ),
        (
            "validacurp",
            Method::POST,
            "/curp/getData".into(),
            r#"{"curp":"{CURP}"}"#,
        ),
        (
            "accuauth",
            Method::POST,
            "/verify/id_check".into(),
            r#"{"id_number":"{CURP}"}"#,
        ),
        (
            "nss",
            Method::POST,
            "/api/v1/imss/nss".into(),
            r#"{"curp":"{CURP}"}"#,
        ),
    ];
    if let Some(path) = async_status_path(&engine) {
        cases.push(("async", Method::GET, path, ""));
    }
    for (id, method, path, body) in cases {
        if !registered.contains(&id) || only.as_deref().is_some_and(|o| o != id) {
            continue;
        }
        let requests: Vec<(Uri, HeaderMap, Bytes)> = curps
            .iter()
            .map(|curp| {
                let uri: Uri = path.parse().expect("path");
                (uri, headers(), Bytes::from(body.replace("{CURP}", curp)))
            })
            .collect();
        let handle = |i: usize| {
            let (uri, headers, body) = &requests[i % requests.len()];
            engine.handle(&Request::new(
                method.clone(),
                uri,
                headers.clone(),
                body.clone(),
            ))
        };
        // Every CURP once, untimed: the people behind them are built (and
        // cached) here, not in the loop.
        let reply = handle(0);
        (1..requests.len()).for_each(|i| drop(handle(i)));
        let ns = if cold.is_empty() {
            let start = Instant::now();
            for i in 0..iterations {
                std::hint::black_box(handle(i));
            }
            start.elapsed().as_nanos() as f64 / iterations as f64
        } else {
            let mut timed = std::time::Duration::ZERO;
            for i in 0..iterations {
                evict(&mut cold, i);
                let start = Instant::now();
                std::hint::black_box(handle(i));
                timed += start.elapsed();
            }
            timed.as_nanos() as f64 / iterations as f64
        };
        println!(
            "{id:<11} {:>7.0} ns/request  ({} {}, {} bytes)",
            ns,
            reply.status.as_u16(),
            reply.scenario.unwrap_or("-"),
            reply.body.len()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Writes a byte in every cache line of `buf`.
fn evict(buf: &mut [u8], round: usize) {
    for b in buf.iter_mut().step_by(64) {
        *b = b.wrapping_add(round as u8);
    }
    std::hint::black_box(buf);
}

fn seeded(i: u64) -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::seed_from_u64(i)
}

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", "application/json".parse().expect("value"));
    for (k, v) in CREDENTIALS {
        h.insert(k, v.parse().expect("value"));
    }
    h
}

/// The embedded scenario files with every `settings:` limit raised, in a
/// folder of this process's.
fn raised_limits() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mxid-handle-{}", std::process::id()));
    write_raised_limits(&dir);
    dir
}

/// Writes every provider's embedded scenario file into `dir`, its limits
/// raised.
fn write_raised_limits(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("the folder");
    for module in mxid_sandbox::providers::all() {
        let mut out = String::new();
        let mut in_settings = false;
        for line in module.yaml().lines() {
            if line.starts_with("settings:") {
                in_settings = true;
            } else if !line.starts_with(' ') && !line.starts_with('#') && !line.is_empty() {
                in_settings = false;
            }
            // Those off by default (`null`) too, as bench/run.sh raises
            // them: every counter counts. `webhook_attempts` is a count of
            // tries, not a limit (and at most 100): left as it is.
            let raised = in_settings
                && line.starts_with("  ")
                && !line.starts_with("   ")
                && !line.starts_with("  webhook_attempts:")
                && line.split_once(':').is_some_and(|(_, v)| {
                    let v = v.split('#').next().unwrap_or("").trim();
                    v == "null" || v.parse::<u64>().is_ok()
                });
            match line.split_once(':') {
                Some((k, _)) if raised => out.push_str(&format!("{k}: 1000000000\n")),
                // The status read measured is the completed answer, as in
                // bench/run.sh.
                Some((k, _)) if in_settings && k == "  processing_delay" => {
                    out.push_str(&format!("{k}: 0s\n"))
                }
                _ => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        std::fs::write(dir.join(format!("{}.yaml", module.id())), out).expect("write");
    }
}

/// Creates one verification and returns its status path.
fn async_status_path(engine: &Engine) -> Option<String> {
    let create: Uri = "/api/AsyncVerication/NssByCurp".parse().ok()?;
    let reply = engine.handle(&Request::new(
        Method::POST,
        &create,
        headers(),
        Bytes::from_static(br#"{"curp":"PXNE660720HMCXTN06"}"#),
    ));
    let body: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
    let id = body.get("verificationId")?.as_str()?;
    Some(format!(
        "/api/AsyncVerication/verificationStatus?verificationId={id}"
    ))
}

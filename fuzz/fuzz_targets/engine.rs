//! The whole engine as the server drives it, without the socket: any
//! sequence of requests (any method, path, query, headers and body) to the
//! providers' routes and the admin API, through `Engine::handle`,
//! `admin::handle` and the two 413 paths, on an engine that keeps its state
//! from one request to the next (overrides, the clock, namespaces, async
//! verifications and their timers, counters, the journal).
//!
//! Besides "never panics" (a panic in a timer task aborts too), every
//! answer is held to what the README promises of all of them:
//! - a body whose content type is JSON is JSON;
//! - no answer waits more than a latency can (`MAX_LATENCY`, 10 minutes);
//! - every provider answer names what answered (`X-Sandbox-Scenario`), a
//!   scenario or error the files write, or `sandbox_error`;
//! - the only provider answers that name `sandbox_error` are the 400s of a
//!   bad sandbox header: never the engine's own 500 for a scenario a
//!   provider chose and its file lacks, nor an engine error (404, 405, 413)
//!   its provider's `errors:` section does not write.
//!
//! - on the frozen engine, the same requests run again after the same
//!   resets get the same answers, byte for byte (the README's "runs
//!   replay"), but for the async admin listings of attempts and
//!   verifications, whose outcomes are the network's.
//!
//! Input: the first byte picks the engine (`% 4`: 0 as `serve` starts,
//! 1 `--strict-auth --strict-sandbox`, 2 `--admin-token fuzz-token`, 3 a
//! frozen clock with a 64-byte body limit and a two-entry journal); the rest
//! is requests, separated by a line `###`, each written as HTTP/1.1 writes
//! one: `METHOD TARGET` on the first line, `Name: value` lines, a blank line,
//! the body. A header line that is not a valid header is skipped, as is a
//! request whose method or target hyper would refuse. Anywhere in it,
//! `\x01` and the byte after it stand for a word of the embedded files (a
//! scenario or error name, a persona's CURP, a credential the fixtures
//! single out, a provider's path, a sandbox header's name or a fault's),
//! by number: one byte's mutation goes from one to another.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Method, StatusCode, Uri};
use libfuzzer_sys::fuzz_target;
use mxid_sandbox::config::Config;
use mxid_sandbox::engine::clock::Start;
use mxid_sandbox::engine::latency::MAX_LATENCY;
use mxid_sandbox::engine::{
    AnswerTiming, Engine, Reply, FAULT_HEADER, LATENCY_HEADER, NAMESPACE_HEADER, SCENARIO_HEADER,
};
use mxid_sandbox::request::Request;
use mxid_sandbox::time::Timestamp;
use mxid_sandbox::{admin, providers};

const ENGINES: usize = 4;
/// The engine whose clock stands still: its answers replay.
const FROZEN: usize = 3;
const TOKEN: &str = "fuzz-token";
/// At most this many requests an input: the state they build is kept.
const MAX_REQUESTS: usize = 16;

struct World {
    runtime: tokio::runtime::Runtime,
    engines: Vec<Engine>,
    /// `ENGINE_DEBUG=1`: each request and what answered, on stderr.
    debug: bool,
    /// Every name an answer may give in `X-Sandbox-Scenario`: the
    /// scenarios and errors the embedded files write, and the sandbox's
    /// own refusals'.
    names: Vec<String>,
    /// What `\x01` and a byte stand for in an input (see [`expand`]).
    words: Vec<String>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _guard = runtime.enter();
        let start = Timestamp::parse_rfc3339("2025-06-01T12:00:00-06:00").expect("start");
        let engines: Vec<Engine> = (0..ENGINES)
            .map(|which| {
                let mut config = Config {
                    clock: Start {
                        at: Some(start),
                        scale: 1.0,
                    },
                    ..Config::default()
                };
                match which {
                    1 => {
                        config.strict_auth = true;
                        config.strict_sandbox = true;
                    }
                    2 => config.admin_token = Some(TOKEN.into()),
                    3 => {
                        config.clock.scale = 0.0;
                        config.body_limit = 64;
                        config.journal_limit = 2;
                    }
                    _ => {}
                }
                Engine::new(config, providers::all()).expect("the embedded files load")
            })
            .collect();
        let debug = std::env::var_os("ENGINE_DEBUG").is_some();
        let defs = engines[0].defs();
        let names: Vec<String> = defs
            .providers
            .iter()
            .flat_map(|p| {
                let scenarios = p.endpoints.iter().flat_map(|e| e.scenarios.keys());
                p.errors.keys().chain(scenarios).cloned()
            })
            .chain(["sandbox_error".to_string()])
            .collect();
        let words = words(&defs, &names);
        if debug {
            for (i, word) in words.iter().enumerate() {
                eprintln!("\\x01\\x{i:02x}: {word}");
            }
        }
        World {
            runtime,
            engines,
            debug,
            names,
            words,
        }
    })
}

/// The words an input names by number, so that a mutation of one byte
/// goes from a scenario, a persona's CURP, a credential the fixtures
/// single out, a provider's path or a sandbox header to another one: the
/// names, in the embedded files' order, then the rest.
fn words(defs: &mxid_sandbox::engine::Defs, names: &[String]) -> Vec<String> {
    let fixtures = &defs.fixtures;
    let curps = fixtures.domain.personas.iter().map(|p| p.curp.clone());
    let credentials = fixtures
        .credentials
        .values()
        .flat_map(|c| c.accept.iter().chain(c.reject.keys()).cloned());
    let paths = defs
        .providers
        .iter()
        .flat_map(|p| p.endpoints.iter().flat_map(|e| e.paths.iter().cloned()));
    let fixed = [
        SCENARIO_HEADER,
        NAMESPACE_HEADER,
        LATENCY_HEADER,
        FAULT_HEADER,
        "hang",
        "connection_reset",
        "empty_response",
    ]
    .map(String::from);
    let mut out: Vec<String> = Vec::new();
    for word in names
        .iter()
        .cloned()
        .chain(curps)
        .chain(credentials)
        .chain(paths)
        .chain(fixed)
    {
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

/// The input with each `\x01` and the byte after it written out as the
/// word of that number (modulo their count).
fn expand(data: &[u8], words: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut bytes = data.iter();
    while let Some(&b) = bytes.next() {
        match (b, words.is_empty()) {
            (1, false) => {
                if let Some(&n) = bytes.next() {
                    out.extend_from_slice(words[usize::from(n) % words.len()].as_bytes());
                }
            }
            _ => out.push(b),
        }
    }
    out
}

/// One request of the input, as hyper would hand it over: `None` where
/// hyper would refuse it before the server saw it.
fn parse_request(text: &[u8]) -> Option<(Method, Uri, HeaderMap, Bytes)> {
    let (head, body) = match find(text, b"\n\n") {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => (text, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let first = lines.next()?;
    let space = first.iter().position(|b| *b == b' ')?;
    let method = Method::from_bytes(&first[..space]).ok()?;
    let uri: Uri = std::str::from_utf8(&first[space + 1..])
        .ok()?
        .parse()
        .ok()?;
    // hyper hands the server an origin-form target (or `*`, or an
    // authority for CONNECT); an absolute URI's path is what is routed.
    uri.path_and_query()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    Some((method, uri, headers, Bytes::copy_from_slice(body)))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The input's requests, split at every `\n###\n`.
fn requests(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while out.len() < MAX_REQUESTS {
        match find(data, b"\n###\n") {
            Some(i) => {
                out.push(&data[..i]);
                data = &data[i + 5..];
            }
            None => {
                out.push(data);
                break;
            }
        }
    }
    out
}

/// What the server does with a request once its body is read (or found
/// over the limit): `server::answer`, without the socket.
fn answer(world: &World, engine: &Engine, parsed: (Method, Uri, HeaderMap, Bytes)) -> Reply {
    let (method, uri, headers, body) = parsed;
    let too_large = body.len() > engine.config().body_limit;
    if too_large {
        let req = Request::new(method, &uri, headers, Bytes::new());
        return if admin::owns(&req.path) {
            admin::too_large(engine, &req)
        } else {
            engine.too_large(&req, AnswerTiming::AsAsked)
        };
    }
    let req = Request::new(method, &uri, headers, body);
    if admin::owns(&req.path) {
        world.runtime.block_on(admin::handle(engine, &req))
    } else {
        engine.handle(&req)
    }
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

/// What every answer is held to (the module's doc).
fn check(path: &str, reply: &Reply, names: &[String]) {
    let json = header(reply, CONTENT_TYPE.as_str()).is_some_and(|t| t.contains("json"));
    if json {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&reply.body) {
            panic!(
                "{path}: a JSON answer ({}) that is not JSON ({e}): {:?}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
    }
    assert!(
        reply.delay <= MAX_LATENCY,
        "{path}: a latency of {:?}, over the most any latency is",
        reply.delay
    );
    if admin::owns(path) {
        return;
    }
    let scenario = header(reply, SCENARIO_HEADER).unwrap_or_else(|| {
        panic!(
            "{path}: a provider answer ({}) names no scenario",
            reply.status
        )
    });
    assert!(
        names.iter().any(|n| n == scenario),
        "{path}: an answer ({}) names '{scenario}', which no scenario file writes",
        reply.status
    );
    // The engine's own 500 (a scenario a provider chose and its file
    // lacks) is marked so too: with the embedded files, never.
    if scenario == "sandbox_error" {
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: a sandbox answer that is not a refusal of a header: {:?}",
            String::from_utf8_lossy(&reply.body)
        );
    }
}

/// One answer as a client sees it: the request's method and path, then
/// the status, the scenario named and the body.
type Seen = (String, u16, String, Bytes);

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let world = world();
    let which = usize::from(which) % ENGINES;
    let engine = &world.engines[which];
    let rest = &expand(rest, &world.words);
    let first = run(world, engine, rest);
    if which != FROZEN {
        return;
    }
    // On a frozen clock, with its namespaces reset, the same requests get
    // the same answers: every draw is seeded by the namespace and the
    // request's number in it. (The async admin listings of attempts and
    // verifications are left out: an attempt's outcome is the network's.)
    let second = run(world, engine, rest);
    let replayed = |seen: &[Seen]| -> Vec<Seen> {
        seen.iter()
            .filter(|(what, ..)| {
                !what.contains(" /__admin/webhooks/deliveries")
                    && !what.contains(" /__admin/verifications")
            })
            .cloned()
            .collect()
    };
    let (first, second) = (replayed(&first), replayed(&second));
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(
            a, b,
            "the same requests, on a frozen clock, answered otherwise"
        );
    }
    assert_eq!(first.len(), second.len());
});

/// Runs the input's requests on `engine`, each checked, and gives what
/// each was answered.
fn run(world: &World, engine: &Engine, rest: &[u8]) -> Vec<Seen> {
    // Each input starts from a fresh `default` namespace (its ids, its
    // clock), and the other namespaces it names are reset after it: the
    // state an input builds is its own, so a finding replays.
    reset(world, engine, None);
    let mut named = Vec::new();
    let mut seen = Vec::new();
    for text in requests(rest) {
        let Some(parsed) = parse_request(text) else {
            continue;
        };
        named.extend(namespaces(&parsed.1, &parsed.2));
        let path = parsed.1.path().to_string();
        let method = parsed.0.clone();
        // The first value that is not blank, as the engine reads it (a
        // blank one is none; two that differ are a 400).
        let namespace = parsed
            .2
            .get_all(NAMESPACE_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .find(|v| !v.is_empty())
            .map(str::to_string);
        let reply = answer(world, engine, parsed);
        if world.debug {
            eprintln!(
                "{method} {path} -> {} [{}] {}",
                reply.status.as_u16(),
                header(&reply, SCENARIO_HEADER).unwrap_or("-"),
                String::from_utf8_lossy(&reply.body[..reply.body.len().min(160)])
            );
        }
        check(&path, &reply, &world.names);
        journaled(world, engine, &method, &path, namespace.as_deref(), &reply);
        seen.push((
            format!("{method} {path}"),
            reply.status.as_u16(),
            header(&reply, SCENARIO_HEADER).unwrap_or("-").to_string(),
            reply.body.clone(),
        ));
    }
    // The timers a request scheduled (an async verification's steps, a
    // webhook's attempts) run as far as they can without time passing: a
    // panic in one of them aborts too.
    world.runtime.block_on(async {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    });
    for name in named {
        reset(world, engine, Some(&name));
    }
    seen
}

/// A provider answer is the newest entry of its namespace's journal, with
/// its status and scenario (all but the sandbox's refusals of a bad sandbox
/// header, which have no namespace to be journaled in).
fn journaled(
    world: &World,
    engine: &Engine,
    method: &Method,
    path: &str,
    namespace: Option<&str>,
    reply: &Reply,
) {
    let scenario = header(reply, SCENARIO_HEADER).unwrap_or("-");
    if admin::owns(path) || scenario == "sandbox_error" {
        return;
    }
    let target = match namespace {
        Some(name) => format!("/__admin/requests?limit=1&namespace={name}"),
        None => "/__admin/requests?limit=1".to_string(),
    };
    let listed = admin_call(world, engine, Method::GET, &target)
        .expect("a namespace taken is a name a query can hold");
    let entries: serde_json::Value =
        serde_json::from_slice(&listed.body).expect("the journal is JSON");
    let newest = &entries[0];
    assert_eq!(
        (newest["status"].as_u64(), newest["scenario"].as_str()),
        (Some(u64::from(reply.status.as_u16())), Some(scenario)),
        "{method} {path}: the journal's newest entry is not this answer: {newest}"
    );
    if method.as_str().len() <= 2048 {
        assert_eq!(newest["method"].as_str(), Some(method.as_str()));
    }
}

/// `POST /__admin/reset` of a namespace (`None`: `default`), named as the
/// input named it (a query's value still percent-encoded). A name no
/// target can hold is none a namespace can have: none was made.
fn reset(world: &World, engine: &Engine, namespace: Option<&str>) {
    let target = match namespace {
        Some(name) => format!("/__admin/reset?namespace={name}"),
        None => "/__admin/reset".to_string(),
    };
    let _ = admin_call(world, engine, Method::POST, &target);
}

/// The admin API's answer to a request of the target's own (with the
/// token, for the engine that asks for one), or `None` for a target that
/// is not one.
fn admin_call(world: &World, engine: &Engine, method: Method, target: &str) -> Option<Reply> {
    let uri: Uri = target.parse().ok()?;
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("the token is ASCII");
    headers.insert(hyper::header::AUTHORIZATION, bearer);
    let req = Request::new(method, &uri, headers, Bytes::new());
    Some(world.runtime.block_on(admin::handle(engine, &req)))
}

/// The namespaces a request names, by header or by the admin API's
/// `namespace` parameter.
fn namespaces(uri: &Uri, headers: &HeaderMap) -> Vec<String> {
    let by_header = headers
        .get_all(NAMESPACE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let by_query = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.strip_prefix("namespace="));
    by_header
        .chain(by_query)
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

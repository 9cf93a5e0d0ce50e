//! Hang guards: input under every size limit that once cost the square of
//! its size. README (Robustness, Input made to cost): "every loop over what
//! a client or a user's file sends is linear".
//!
//! Speed is a benchmark's business, never a timed test's (these machines
//! are shared and noisy), so nothing here compares timings. Each test feeds
//! one input large enough that the quadratic code took at least twenty
//! times [`BOUND`] in a debug build, checks what the sandbox makes of it,
//! and fails only when that takes longer than the bound: when the cost
//! comes back. The linear code takes two seconds at most, most of them
//! well under one.

use std::hash::Hasher;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use super::{h2_bycurp, h2_connection, whole, CURPS};
use crate::common::{RemovedOnDrop, Sandbox, START};
use crate::user_files::{curpv5_dir, load, refused, shipped};
use hyper::Method;
use mxid_sandbox::engine::counters::{self, Counters, Window};
use mxid_sandbox::fnv::Fnv;
use mxid_sandbox::router::{Match, Router, Target};
use mxid_sandbox::time::Timestamp;
use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How long each input may take: the linear code takes a fifth of it at
/// most in a debug build, so a loaded machine leaves it room.
const BOUND: Duration = Duration::from_secs(10);

/// What `work` returns, worked out on a thread of its own, so that the
/// test fails after [`BOUND`] instead of waiting minutes for a quadratic
/// cost (the thread is left to finish on its own).
fn within<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || tx.send(work()));
    match rx.recv_timeout(BOUND) {
        Ok(done) => done,
        // `work` panicked: its own message says why.
        Err(RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: not done within {BOUND:?}, the quadratic cost is back")
        }
    }
}

// Guards `LoadError::from_yaml_in` (src/engine/model.rs): it found the line
// of a file's second document by reading, for each `---` line, every line
// before it again. 10,000 `---` lines took 26 s to refuse in a debug build,
// these 40,000 (160 KB) about 7 minutes, while serde_yaml_ng itself
// refuses them in milliseconds; `serve`, `check` and a reload all hung on
// such a file. SPEC §8: `check` "validates YAML and exits non-zero with
// file, line and field on error"; README: "Every file is validated at
// startup, on reload and by `check`".
#[test]
fn a_file_of_40_000_document_markers_is_refused_at_its_line_within_the_bound() {
    const MARKERS: usize = 40_000;
    let dir = curpv5_dir("cliff-documents", |s| {
        format!("{}{s}---\n", "---\n".repeat(MARKERS))
    });
    let _gone = RemovedOnDrop(dir.clone());
    // The second document is the one the closing `---` opens.
    let line = MARKERS + shipped("scenarios", "curpv5.yaml").lines().count() + 1;
    let err = within("refusing 40,000 `---` lines", move || {
        refused(load(&dir)).to_string()
    });
    assert!(
        err.contains(&format!("curpv5.yaml:{line}:1: ")) && err.contains("more than one document"),
        "{err}"
    );
}

// Guards `Request::sandbox_header_problem` (src/request.rs): it compared
// every copy of a sandbox header with every other, and HTTP/2 compresses a
// repeated header to a byte a copy, so a head of a few KB on the wire cost
// a worker the square of its copies: 7,000 (about what fits in the 408 KB
// head h2 takes) took 18 s in a debug build. A head of more than 100
// fields is now refused before it is read, over HTTP/2 as over HTTP/1.1
// (README, Limitations: "a bare 414 or 431"), so no client reaches the
// parser with that many: the parser is held to it directly, fourteen such
// requests (four minutes in all of the quadratic code). README: a sandbox
// header "written twice with two values (blank ones aside) is refused
// (400)"; these copies agree, so each is read without a problem.
#[test]
fn requests_of_7_000_copies_of_a_sandbox_header_are_read_within_the_bound() {
    const COPIES: usize = 7_000;
    const HEADS: usize = 14;
    within("fourteen requests of 7,000 copies", || {
        let uri: hyper::Uri = "/api/curp/bycurp".parse().unwrap();
        for _ in 0..HEADS {
            let mut headers = hyper::HeaderMap::new();
            for _ in 0..COPIES {
                headers.append(
                    "x-sandbox-scenario",
                    hyper::header::HeaderValue::from_static("success"),
                );
            }
            let req = mxid_sandbox::request::Request::new(
                Method::POST,
                &uri,
                headers,
                bytes::Bytes::new(),
            );
            assert_eq!(req.sandbox_header_problem(), None);
        }
    });
}

// The same heads over HTTP/2: a 431, each at once.
#[tokio::test]
async fn heads_of_7_000_copies_of_a_sandbox_header_are_refused_over_http2() {
    const COPIES: usize = 7_000;
    let sb = Sandbox::start().await;
    let mut send = h2_connection(sb.addr).await;
    let copies = [("x-sandbox-scenario", "success")].repeat(COPIES);
    for _ in 0..3 {
        send.ready().await.unwrap();
        let req = h2_bycurp(sb.addr, &copies, whole(CURPS[0]));
        let res = tokio::time::timeout(BOUND, send.send_request(req))
            .await
            .expect("answered")
            .unwrap();
        assert_eq!(res.status(), 431);
    }
}

/// `2^stages` accuauth counter keys for `curp`, each with an API ID of
/// letters and digits, that FNV-1a hashes alike in their low 20 bits, so
/// that a hash map of up to a million buckets puts them all in one probe
/// chain. FNV-1a's low bits after a byte depend on the low bits before it
/// alone (a multiplication carries upward only), so two texts that agree
/// there agree after any common suffix. Each stage draws random 4-letter
/// blocks until two agree after the keys so far (about a thousand draws: a
/// birthday search), and doubles the keys with them.
fn colliding_counter_keys(stages: u32, curp: &str) -> Vec<String> {
    let low_bits = |text: &str| {
        let mut h = Fnv::default();
        h.write(text.as_bytes());
        h.finish() & 0xf_ffff
    };
    let mut rng = StdRng::seed_from_u64(0);
    let mut keys = vec![String::from("accuauth:same_id:")];
    for _ in 0..stages {
        let mut seen = std::collections::HashMap::new();
        // The keys so far all hash as the first does.
        let (a, b) = loop {
            let block: String = (&mut rng)
                .sample_iter(Alphanumeric)
                .take(4)
                .map(char::from)
                .collect();
            match seen.insert(low_bits(&format!("{}{block}", keys[0])), block.clone()) {
                Some(other) if other != block => break (other, block),
                _ => {}
            }
        };
        keys = keys
            .into_iter()
            .flat_map(|k| [k.clone() + &a, k + &b])
            .collect();
    }
    keys.into_iter().map(|k| k + ":" + curp).collect()
}

// Guards `Counters` (src/engine/counters.rs): it was an unkeyed FnvMap, and
// its keys come from clients (accuauth's
// `accuauth:same_id:{X-DF-API-ID}:{id_number}`, src/providers/accuauth.rs),
// so keys made to collide made every hit scan the others, under the lock
// every counted request of the namespace takes. In a debug build 65,536 of
// them took 52 s to count once, and each further hit of the last one 0.7
// ms: with the 239,999 further hits here, three and a half minutes. Fed to the
// counters directly: that many requests would take longer than the bound
// however linear. src/fnv.rs: FnvMap is for keys with which "no client can
// fill one with keys made to collide"; README (Robustness): keys made to
// collide "do not make every hit scan the others".
#[test]
fn a_counter_among_65_536_keys_made_to_collide_is_hit_240_000_times_within_the_bound() {
    const HITS: u64 = 240_000;
    let keys = colliding_counter_keys(16, CURPS[0]);
    let last = keys.last().unwrap().clone();
    let listed = within("hitting colliding counter keys", move || {
        let counters = Counters::new(counters::ledger().share());
        let now = Timestamp::parse_rfc3339(START).unwrap();
        let hit = |key: &str| counters.hit(key, Window::Day, Some(10), now, || true);
        for key in &keys {
            assert_eq!(hit(key), 1);
        }
        for n in 2..=HITS {
            assert_eq!(hit(keys.last().unwrap()), n);
        }
        counters.list(now)
    });
    assert_eq!(listed.len(), 1 << 16);
    for c in listed {
        assert_eq!(c.count, if c.key == last { HITS } else { 1 }, "{}", c.key);
    }
}

// Guards `segments` (src/engine/template.rs): for each `{{` that opens no
// placeholder it searched the rest of the string for `}}` again. A string
// of 64,000 `{{` and one `}}` took 12 s to load in a debug build, 300,000
// (600 KB) about four and a half minutes. README: "Templates are
// compiled at load time into literal bytes and holes. Every file is
// validated at startup, on reload and by `check`".
#[test]
fn a_body_string_of_300_000_open_braces_loads_within_the_bound() {
    // Each `{{` before a `<`: text, not a placeholder written wrong.
    let braces = format!("{}}}}}", "{{<".repeat(300_000));
    let dir = curpv5_dir("cliff-braces", |s| {
        s.replacen(
            "    scenarios:\n",
            &format!(
                "    scenarios:\n      braces:\n        description: x\n        \
                 status: 200\n        body: {{text: \"{braces}\"}}\n"
            ),
            1,
        )
    });
    let _gone = RemovedOnDrop(dir.clone());
    let defs = within("loading a string of 300,000 `{{`", move || load(&dir));
    let defs = defs.unwrap_or_else(|e| panic!("{e}"));
    assert!(defs.providers[0].endpoints[0].scenario("braces").is_some());
}

// Guards `Router::build` (src/router.rs): it kept the paths it had listed
// in a list, searched again for each path and method. 35,000 paths took
// 12 s to build in a debug build, these 150,000 about four minutes. Given
// to nss's shipped definition directly: parsing a file of that many paths
// takes longer than the bound in a debug build, however linear. README:
// "Every file is validated at startup, on reload and by `check`".
#[test]
fn a_router_of_150_000_paths_is_built_within_the_bound() {
    const PATHS: usize = 150_000;
    let modules = mxid_sandbox::providers::all();
    let nss = modules.iter().find(|m| m.id() == "nss").unwrap();
    let mut def = mxid_sandbox::engine::parse_module(&**nss, "nss.yaml", nss.yaml()).unwrap();
    // nss tells case apart: each path goes into one router, not two.
    assert!(!def.case_insensitive);
    let endpoint = &mut def.endpoints[0];
    assert_eq!(endpoint.methods, [Method::POST]);
    // Of one length: each comparison of two reads them.
    let path = |i: usize| format!("/api/v1/imss/p{i:06}");
    endpoint.paths.extend((0..PATHS).map(path));
    let router = within("building a router of 150,000 paths", move || {
        Router::build(&[def]).unwrap_or_else(|e| panic!("{e}"))
    });
    let target = Target {
        provider: 0,
        endpoint: 0,
    };
    assert_eq!(
        router.find(&Method::POST, &path(PATHS - 1)),
        Match::Found {
            target,
            params: Vec::new()
        }
    );
}

// Guards `intern` (src/engine/model.rs), which every scenario a load
// compiles goes through: it searched a list of every name the process had
// kept, for each name. 37,500 names, interned twice as here, took 22 s in
// a debug build (a file of 20,000 scenarios, 6.3 s to load), these
// 120,000 about four minutes.
// Interned directly: a file of that many scenarios takes longer than the
// bound to parse in a debug build, however linear. The names stay for the
// life of the process, as a load's do (a few MB). README: "Every file is
// validated at startup, on reload and by `check`".
#[test]
fn interning_120_000_scenario_names_ends_within_the_bound() {
    use mxid_sandbox::engine::model::intern;
    // Names no other test interns.
    let names: Vec<String> = (0..120_000).map(|i| format!("cliff_{i}")).collect();
    let (names, first, again) = within("interning 120,000 names", move || {
        let first: Vec<&'static str> = names.iter().map(|n| intern(n)).collect();
        let again: Vec<&'static str> = names.iter().map(|n| intern(n)).collect();
        (names, first, again)
    });
    // Each name is kept once: interned again, it is the same copy.
    assert!(first.iter().zip(&names).all(|(kept, name)| kept == name));
    assert!(first
        .iter()
        .zip(&again)
        .all(|(a, b)| std::ptr::eq(a.as_ptr(), b.as_ptr())));
}

//! Replay: the same configuration sent the same requests answers the same,
//! byte for byte, on every run. A script drives every endpoint of every
//! provider, the async timeline and its webhooks, and the admin reads, and
//! the transcripts of two runs are compared line by line; the binary run
//! with a `--seed` answers it as the library with that seed does.

use serde_json::{json, Value};

use crate::async_verification::{Hook, Received};
use crate::common::{config, sorted_headers, Http, Resp, Sandbox, Served, ADMIN_READS, START};
use mxid_sandbox::Config;

const EPN: &str = "PXNE660720HMCXTN06";
const SYN_A: &str = "FOXJ800101HDFLXN07";
const SYN_B: &str = "LUMV521107MHGNCL04";
const SYN_C: &str = "ZABH811019HCCMRC03";
/// SYN_A with a wrong check digit.
const BAD_DIGIT: &str = "FOXJ800101HDFLXN08";
const ASYNC_KEY: &str = "customer-key";

/// What one actor (a sandbox, in process or the binary, and a namespace)
/// saw.
struct Actor<'a> {
    sb: &'a Http,
    /// The sandbox's address, written as a name in the transcript.
    addr: String,
    ns: Option<&'a str>,
    hook: &'a Hook,
    /// How many of the hook's requests are in the log already.
    seen: usize,
    log: Vec<String>,
    /// Ids learnt from answers, for later steps.
    nss_id: String,
    verifications: Vec<String>,
}

/// One request and its answer, the receiver's and the sandbox's addresses
/// written as names. The `Date` header is left out: it is the machine's, as
/// hyper writes it (README, Decisions), while the bodies carry sandbox time.
fn render(label: &str, r: &Resp, hook_root: &str, sb_addr: &str) -> String {
    format!(
        "{} -> {} {:?} {}",
        label.replace(hook_root, "HOOK"),
        r.status,
        sorted_headers(&r.headers, "date"),
        String::from_utf8_lossy(&r.body)
            .replace(hook_root, "HOOK")
            .replace(sb_addr, "SANDBOX")
    )
}

/// One webhook as the receiver got it; its `host` header (the receiver's
/// own port) left out.
fn render_webhook(r: &Received) -> String {
    format!(
        "WEBHOOK {} {} {:?} {}",
        r.method,
        r.target,
        sorted_headers(&r.headers, "host"),
        String::from_utf8_lossy(&r.body)
    )
}

impl<'a> Actor<'a> {
    fn new(sb: &'a Http, ns: Option<&'a str>, hook: &'a Hook) -> Actor<'a> {
        Actor {
            sb,
            addr: sb.base.trim_start_matches("http://").to_string(),
            ns,
            hook,
            // What an earlier actor on the same receiver saw is not ours.
            seen: hook.received().len(),
            log: Vec::new(),
            nss_id: String::new(),
            verifications: Vec::new(),
        }
    }

    fn q(&self) -> String {
        self.ns
            .map(|n| format!("namespace={n}"))
            .unwrap_or_default()
    }

    fn admin_path(&self, path: &str) -> String {
        let q = self.q();
        if q.is_empty() {
            path.to_string()
        } else if path.contains('?') {
            format!("{path}&{q}")
        } else {
            format!("{path}?{q}")
        }
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Resp {
        let mut h: Vec<(&str, &str)> = headers.to_vec();
        if let Some(ns) = self.ns {
            h.push(("X-Sandbox-Namespace", ns));
        }
        let r = self.sb.send(method, path, &h, body.to_string()).await;
        let shown = if body.len() > 200 {
            format!("<{} bytes>", body.len())
        } else {
            body.to_string()
        };
        let line = render(
            &format!("{method} {path} {headers:?} {shown}"),
            &r,
            &self.hook.root,
            &self.addr,
        );
        self.log.push(line);
        r
    }

    async fn json(&mut self, path: &str, headers: &[(&str, &str)], body: Value) -> Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.call("POST", path, &h, &body.to_string()).await
    }

    async fn admin(&mut self, method: &str, path: &str, body: &str) -> Resp {
        let p = self.admin_path(path);
        let r = self
            .sb
            .send(
                method,
                &p,
                &[("content-type", "application/json")],
                body.to_string(),
            )
            .await;
        assert!(r.status < 300, "{method} {p}: {} {}", r.status, r.text());
        let line = render(
            &format!("ADMIN {method} {path} {body}"),
            &r,
            &self.hook.root,
            &self.addr,
        );
        self.log.push(line);
        r
    }

    /// Asks async for the status of every verification made so far.
    async fn statuses(&mut self, method: &str) {
        for id in self.verifications.clone() {
            let path = format!("/api/AsyncVerication/verificationStatus?verificationId={id}");
            self.call(method, &path, &[("apikey", ASYNC_KEY)], "").await;
        }
    }

    /// The webhooks received since the last look, sorted: attempts due at
    /// one instant are sent at once (README), so they arrive in any order.
    fn hooks(&mut self) {
        let received = self.hook.received();
        let mut new: Vec<String> = received[self.seen..].iter().map(render_webhook).collect();
        self.seen = received.len();
        new.sort();
        self.log.extend(new);
    }

    /// Step `i` of the script; false when there is none.
    async fn step(&mut self, i: usize) -> bool {
        let curpv5 = [("apikey", "test-key")];
        let vc = [("Authorization", "Bearer tok")];
        let acc = [("X-DF-API-ID", "test-api-id"), ("X-DF-API-SECRET", "s")];
        let nss = [("x-api-key", "test-key")];
        let asy = [("apikey", ASYNC_KEY)];
        match i {
            0 => {
                let url = self.hook.url.clone();
                self.admin(
                    "PUT",
                    &format!("/__admin/webhooks/{ASYNC_KEY}"),
                    &json!({ "url": url }).to_string(),
                )
                .await;
            }
            1 => {
                for curp in [EPN, SYN_A, SYN_B, BAD_DIGIT, "nope"] {
                    self.json("/api/curp/bycurp", &curpv5, json!({ "curp": curp }))
                        .await;
                }
                self.json("/api/curp/bycurp", &curpv5, json!({})).await;
                for s in ["deceased", "renapo_01_06", "ccb_required", "timeout"] {
                    self.json(
                        "/api/curp/bycurp",
                        &[("apikey", "test-key"), ("X-Sandbox-Scenario", s)],
                        json!({ "curp": SYN_C }),
                    )
                    .await;
                }
            }
            2 => {
                for curp in [EPN, SYN_A, BAD_DIGIT, "XAXX010101XAXAXA00"] {
                    self.json("/curp/validateCurpStructure", &vc, json!({ "curp": curp }))
                        .await;
                    self.json("/curp/getData", &vc, json!({ "curp": curp }))
                        .await;
                    self.json(
                        "/api/v2/curp/getData",
                        &[],
                        json!({ "curp": curp, "token": "pruebas" }),
                    )
                    .await;
                }
                self.json(
                    "/curp/calculateCURP",
                    &vc,
                    json!({"names": "enrique", "lastName": "peña", "secondLastName": "nieto",
                           "birthday": "20", "birthMonth": "07", "yearBirth": "1966",
                           "gender": "H", "entity": "15"}),
                )
                .await;
                self.json("/curp/getEntities", &vc, json!({})).await;
                self.json(
                    "/curp/getData",
                    &[
                        ("Authorization", "Bearer tok"),
                        ("X-Sandbox-Scenario", "deceased"),
                    ],
                    json!({ "curp": SYN_B }),
                )
                .await;
            }
            3 => {
                for curp in [EPN, SYN_A, SYN_B, BAD_DIGIT, "nope", SYN_A] {
                    self.json("/verify/id_check", &acc, json!({ "id_number": curp }))
                        .await;
                }
                self.call(
                    "POST",
                    "/verify/id_check",
                    &[
                        ("X-DF-API-ID", "test-api-id"),
                        ("X-DF-API-SECRET", "s"),
                        ("content-type", "application/x-www-form-urlencoded"),
                    ],
                    &format!("id_number={SYN_C}"),
                )
                .await;
                for s in ["verify_failed", "deceased", "unavailable", "not_found"] {
                    self.json(
                        "/verify/id_check",
                        &[
                            ("X-DF-API-ID", "test-api-id"),
                            ("X-DF-API-SECRET", "s"),
                            ("X-Sandbox-Scenario", s),
                        ],
                        json!({ "id_number": SYN_C }),
                    )
                    .await;
                }
            }
            4 => {
                for curp in [
                    SYN_A,
                    SYN_A,
                    SYN_A,
                    EPN,
                    "ABCD570805HYNHLC52",
                    "NAZA650704MTLVCL05",
                    BAD_DIGIT,
                ] {
                    let r = self
                        .json("/api/v1/imss/nss", &nss, json!({ "curp": curp }))
                        .await;
                    if curp == SYN_A && self.nss_id.is_empty() {
                        self.nss_id = r.json()["id"].as_str().unwrap().to_string();
                    }
                }
                self.json(
                    "/api/v2/imss/nss?testCase=success",
                    &nss,
                    json!({ "curp": SYN_B }),
                )
                .await;
                self.json(
                    "/api/v1/imss/nss",
                    &[
                        ("x-api-key", "test-key"),
                        ("X-Sandbox-Scenario", "not_found"),
                    ],
                    json!({ "curp": SYN_C }),
                )
                .await;
            }
            5 => {
                self.admin("POST", "/__admin/clock", r#"{"advance": "90m"}"#)
                    .await;
                self.json("/api/v1/imss/nss", &nss, json!({ "curp": SYN_B }))
                    .await;
                let id = self.nss_id.clone();
                self.call("GET", &format!("/api/v1/imss/nss/{id}"), &nss, "")
                    .await;
                self.call("GET", "/api/v1/imss/nss?page=1&itemsPerPage=50", &nss, "")
                    .await;
                self.call("GET", "/api/v2/imss/nss/test_case", &nss, "")
                    .await;
            }
            6 => {
                let bodies = [
                    (
                        "/api/AsyncVerication/IneNominalList",
                        json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "03"}),
                    ),
                    (
                        "/api/AsyncVerication/IneNominalList",
                        json!({"type": "D", "id": "115568150", "ocr": "4855115346145"}),
                    ),
                    (
                        "/api/AsyncVerication/RfcByCurp",
                        json!({"curp": SYN_A, "state": 9}),
                    ),
                    ("/api/AsyncVerication/NssByCurp", json!({"curp": SYN_B})),
                    ("/api/AsyncVerication/NssByCurp", json!({"curp": EPN})),
                ];
                for (path, body) in bodies {
                    let r = self.json(path, &asy, body).await;
                    self.verifications
                        .push(r.json()["verificationId"].as_str().unwrap().to_string());
                    // One instant per verification: each one's attempts
                    // are due at instants of their own.
                    self.admin("POST", "/__admin/clock", r#"{"advance": "100ms"}"#)
                        .await;
                }
                let r = self
                    .json(
                        "/api/AsyncVerication/RfcByCurp",
                        &[("apikey", ASYNC_KEY), ("X-Sandbox-Scenario", "unavailable")],
                        json!({"curp": SYN_C, "state": 1}),
                    )
                    .await;
                self.verifications
                    .push(r.json()["verificationId"].as_str().unwrap().to_string());
                // A verification with no webhook target.
                self.json(
                    "/api/AsyncVerication/NssByCurp",
                    &[("apikey", "other-key")],
                    json!({"curp": SYN_C}),
                )
                .await;
                self.statuses("GET").await;
            }
            7 => {
                self.admin("POST", "/__admin/clock", r#"{"advance": "2s"}"#)
                    .await;
                self.hooks();
                self.statuses("GET").await;
            }
            8 => {
                self.admin("POST", "/__admin/clock", r#"{"advance": "45m"}"#)
                    .await;
                self.hooks();
                self.statuses("POST").await;
                let id = self.verifications[0].clone();
                self.admin(
                    "POST",
                    &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
                    "",
                )
                .await;
                self.hooks();
            }
            9 => {
                self.admin(
                    "POST",
                    "/__admin/overrides",
                    r#"{"provider": "accuauth", "scenario": "pending", "times": 1}"#,
                )
                .await;
                self.json("/verify/id_check", &acc, json!({ "id_number": SYN_B }))
                    .await;
                for path in ADMIN_READS {
                    self.admin("GET", path, "").await;
                }
            }
            10 => {
                // Each provider's own 404, 405 and unreadable body, then the
                // sandbox's 404.
                for (mistyped, path, auth, wrong_method) in [
                    (
                        "/api/curp/bycurpx",
                        "/api/curp/bycurp",
                        ("apikey", "k"),
                        "GET",
                    ),
                    (
                        "/curp/getDatax",
                        "/curp/getData",
                        ("Authorization", "Bearer t"),
                        "GET",
                    ),
                    (
                        "/api/v1/imss/nssx",
                        "/api/v1/imss/nss",
                        ("x-api-key", "k"),
                        "DELETE",
                    ),
                    (
                        "/api/AsyncVerication/Nss",
                        "/api/AsyncVerication/NssByCurp",
                        ("apikey", "k"),
                        "DELETE",
                    ),
                ] {
                    self.call("POST", mistyped, &[auth], "{}").await;
                    self.call(wrong_method, path, &[auth], "").await;
                    let json = ("content-type", "application/json");
                    self.call("POST", path, &[auth, json], "{nope").await;
                }
                // accuauth's, each with its request id, and its 413.
                let acc_json = [acc[0], acc[1], ("content-type", "application/json")];
                self.call("POST", "/verify/id_checkx", &acc, "{}").await;
                self.call("GET", "/verify/id_check", &acc, "").await;
                self.call("POST", "/verify/id_check", &acc_json, "{nope")
                    .await;
                let over = format!(r#"{{"id_number": "{}"}}"#, "x".repeat(1 << 20));
                self.call("POST", "/verify/id_check", &acc_json, &over)
                    .await;
                self.call("POST", "/nowhere", &[], "{}").await;
            }
            11 => {
                self.admin("GET", "/__admin/requests?limit=40", "").await;
            }
            _ => return false,
        }
        true
    }

    async fn run(mut self) -> Vec<String> {
        let mut i = 0;
        while self.step(i).await {
            i += 1;
        }
        self.log
    }
}

/// The script's transcript in each namespace, each on a fresh server of its
/// own.
async fn alone_in<const N: usize>(namespaces: [&str; N]) -> Vec<Vec<String>> {
    let mut alone = Vec::new();
    for ns in namespaces {
        let sb = Sandbox::start().await;
        let hook = Hook::start().await;
        alone.push(Actor::new(&sb, Some(ns), &hook).run().await);
    }
    alone
}

/// Asserts two transcripts are the same, showing the first line that differs.
#[track_caller]
fn same(what: &str, a: &[String], b: &[String]) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x, y, "{what}: line {i} differs");
    }
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
}

// SPEC (users): a CI suite needs "deterministic output, reset between
// tests"; README, Decisions: "everything else replays (same `--seed`, same
// clock, same requests)". Two sandboxes with the same `Config` sent the same
// requests (every endpoint of every provider, the async timeline and its
// webhooks, the admin reads) answer byte for byte the same (the `Date`
// header aside: it is the machine's), and after a reset the same requests
// replay what the fresh server answered.
#[tokio::test]
async fn two_sandboxes_with_the_same_config_answer_the_same_and_replay_after_a_reset() {
    let (sa, sb) = (Sandbox::start().await, Sandbox::start().await);
    let (ha, hb) = (Hook::start().await, Hook::start().await);
    let a = Actor::new(&sa, None, &ha).run().await;
    let b = Actor::new(&sb, None, &hb).run().await;
    same("default vs default", &a, &b);
    let r = sb.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200);
    let again = Actor::new(&sb, None, &hb).run().await;
    same("default after a reset vs a fresh server", &a, &again);
}

// SPEC §5: "All runtime state ... is kept per namespace ... so parallel CI
// suites can share one server". Two namespaces fed the same requests step
// by step, interleaved, answer each as it does alone on a server of its own
// (ids, people, PDFs, counters, histories, verifications, webhooks), and a
// named one reset replays it.
#[tokio::test]
async fn interleaved_namespaces_answer_each_as_alone_and_replay_after_a_reset() {
    let alone = alone_in(["a", "b"]).await;

    let sb = Sandbox::start().await;
    let (ha, hb) = (Hook::start().await, Hook::start().await);
    let mut a = Actor::new(&sb, Some("a"), &ha);
    let mut b = Actor::new(&sb, Some("b"), &hb);
    let mut i = 0;
    loop {
        let more_b = b.step(i).await;
        let more_a = a.step(i).await;
        if !more_a && !more_b {
            break;
        }
        i += 1;
    }
    same("a interleaved with b vs a alone", &alone[0], &a.log);
    same("b interleaved with a vs b alone", &alone[1], &b.log);

    let r = sb.admin_post("/__admin/reset?namespace=a", json!({})).await;
    assert_eq!(r.status, 200);
    let again = Actor::new(&sb, Some("a"), &ha).run().await;
    same("a after a reset vs a alone", &alone[0], &again);
}

// SPEC §5 ("parallel CI suites can share one server"): two suites running
// at once, each in its namespace, answer each as it does alone (not step by
// step, as above, but concurrently).
#[tokio::test]
async fn namespaces_run_at_once_answer_each_as_alone() {
    let alone = alone_in(["a", "b"]).await;
    let sb = Sandbox::start().await;
    let (ha, hb) = (Hook::start().await, Hook::start().await);
    let (a, b) = tokio::join!(
        Actor::new(&sb, Some("a"), &ha).run(),
        Actor::new(&sb, Some("b"), &hb).run()
    );
    same("a run at once with b vs a alone", &alone[0], &a);
    same("b run at once with a vs b alone", &alone[1], &b);
}

// README, `--seed N` / `MXID_SEED`: "seeds synthetic people and ids, so runs
// replay". The binary with `--seed 7`, or with `MXID_SEED=7`, answers the
// script as the library with seed 7 does; seed 8 answers otherwise.
#[tokio::test]
async fn the_binary_with_seed_7_answers_as_the_library_with_seed_7() {
    let library = Sandbox::start_with(Config {
        seed: 7,
        ..config()
    })
    .await;
    let hook = Hook::start().await;
    let expected = Actor::new(&library, None, &hook).run().await;
    let frozen = ["--port", "0", "--start-time", START, "--time-scale", "0"];
    for (flags, env) in [
        (vec!["--seed", "7"], vec![]),
        (vec![], vec![("MXID_SEED", "7")]),
    ] {
        let served = Served::start(&[&frozen[..], &flags].concat(), &env);
        let hook = Hook::start().await;
        same(
            &format!("the library with seed 7 vs the binary with {flags:?} {env:?}"),
            &expected,
            &Actor::new(&served, None, &hook).run().await,
        );
    }
    let other = Sandbox::start_with(Config {
        seed: 8,
        ..config()
    })
    .await;
    let hook = Hook::start().await;
    assert_ne!(expected, Actor::new(&other, None, &hook).run().await);
}

//! SPEC.md, the product contract, sentence by sentence: what no other
//! module checks (the test switch before an override, every provider's
//! error shape for every kind of bad input, the catalog, SIGINT, every
//! `MXID_*` variable, `serve --help` against the README's table, one
//! person on every provider).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{config, RemovedOnDrop, Resp, Sandbox, Served};
use crate::engine::{run, run_with_env};
use crate::user_files::curpv5_dir;
use mxid_sandbox::config::Source;
use mxid_sandbox::curp::{random_curp, Domain};
use mxid_sandbox::Config;

mod calendar;
mod decisions;
mod edges;
mod front;
mod people;

const CURPV5: &str = "/api/curp/bycurp";
const NSS: &str = "/api/v1/imss/nss";
const EPN: &str = "PXNE660720HMCXTN06";
/// seed 000's example CURP (a placeholder the loose nss check accepts).
const NSS_EXAMPLE: &str = "ABCD570805HYNHLC52";

// --- helpers -------------------------------------------------------------------

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

// --- SPEC §3: which scenario answers -------------------------------------------

// SPEC §3 "Which scenario answers a request, first match wins: 1. the
// `X-Sandbox-Scenario` header; 2. the provider's own test switch: `testCase`
// for `nss` (with its documented 400 for an unknown value), the `pruebas`
// token for `validacurp`; 3. an override set through the admin API (sticky,
// or for the next N requests)". Step 2 before step 3: a test case (by name
// or id, or an unknown one) and the `pruebas` token answer even with an
// override set, and do not spend a counted one; the header still comes
// before the test switch.
#[tokio::test]
async fn the_test_switch_comes_before_an_override_and_does_not_spend_it() {
    let sb = Sandbox::start().await;
    let k = ("x-api-key", "k");
    let body = json!({ "curp": NSS_EXAMPLE });
    let sticky = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "nss", "scenario": "unavailable"}),
        )
        .await;
    assert_eq!(sticky.status, 201, "{}", sticky.text());
    let counted = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "nss", "scenario": "subdelegation_validate", "times": 1}),
        )
        .await;
    assert_eq!(counted.status, 201, "{}", counted.text());

    for (query, scenario, status) in [
        ("?testCase=success", "success", 200),
        ("?testCaseId=64ef68e08bf1172df581a12c", "not_found", 200),
        ("?testCase=nope", "test_case_not_found", 400),
    ] {
        let r = sb.post(&format!("{NSS}{query}"), &[k], body.clone()).await;
        assert_eq!(
            (r.status, r.scenario()),
            (status, scenario),
            "{query}: {}",
            r.text()
        );
    }
    // The header beats the test switch.
    let r = sb
        .post(
            &format!("{NSS}?testCase=success"),
            &[k, ("x-sandbox-scenario", "not_found2")],
            body.clone(),
        )
        .await;
    assert_eq!(r.scenario(), "not_found2", "{}", r.text());
    // Nothing spent: the counted override still has its one request.
    let list = sb.admin_get("/__admin/overrides").await;
    let counted_id = counted.json()["id"].clone();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == counted_id)
        .cloned()
        .unwrap_or_else(|| panic!("the counted override is gone: {list}"));
    assert_eq!(entry["remaining"], 1, "{list}");
    // Without a test case, the overrides answer: newest first, then the sticky one.
    let r = sb.post(NSS, &[k], body.clone()).await;
    assert_eq!(r.scenario(), "subdelegation_validate", "{}", r.text());
    let r = sb.post(NSS, &[k], body.clone()).await;
    assert_eq!(r.scenario(), "unavailable", "{}", r.text());

    // validacurp: the `pruebas` token before a counted override.
    let o = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "validacurp", "scenario": "blocked", "times": 1}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text());
    let r = sb
        .post(
            "/curp/getData",
            &[("authorization", "Bearer pruebas")],
            json!({ "curp": EPN }),
        )
        .await;
    assert_eq!((r.status, r.scenario()), (200, "pruebas"), "{}", r.text());
    let r = sb
        .post(
            "/curp/getData",
            &[("authorization", "Bearer another-token")],
            json!({ "curp": EPN }),
        )
        .await;
    assert_eq!(r.scenario(), "blocked", "{}", r.text());
    assert_eq!(r.json()["code_error"], 1, "{}", r.text());
}

// --- SPEC §6: latency forms and a scenario's own fault ---------------------------

// SPEC §6 "Latency can be set globally (`--latency`), per provider, per
// scenario in YAML and per request (`X-Sandbox-Latency: 250ms`): fixed,
// uniform range or log-normal"; SPEC §3 "A scenario is a named outcome of
// one endpoint, described in YAML under `scenarios/`: the status, headers
// and body template, and optionally latency and a fault". The log-normal
// form by header (sigma 0: exactly its median) delays the answer; a
// scenario file's own `fault:` and `latency:` apply when that scenario
// answers, and the journal names the fault.
#[tokio::test]
async fn a_lognormal_header_latency_and_a_scenarios_own_fault_and_latency_apply() {
    let sb = Sandbox::start().await;
    let t = Instant::now();
    let r = sb
        .post(
            CURPV5,
            &[
                ("apikey", "k"),
                ("x-sandbox-latency", "lognormal(150ms, 0)"),
            ],
            json!({ "curp": EPN }),
        )
        .await;
    let took = t.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(2),
        "lognormal(150ms, 0) took {took:?}"
    );
    drop(sb);

    let dir = curpv5_dir("scenario-fault", |s| {
        s.replacen(
            "        data: {status: BD}\n",
            "        data: {status: BD}\n        latency: 150ms\n        fault: malformed_body\n",
            1,
        )
    });
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let t = Instant::now();
    let r = sb
        .post(
            CURPV5,
            &[("apikey", "k"), ("x-sandbox-scenario", "deceased")],
            json!({ "curp": EPN }),
        )
        .await;
    let took = t.elapsed();
    assert_eq!(r.status, 200);
    assert!(!r.body.is_empty());
    assert!(
        serde_json::from_slice::<Value>(&r.body).is_err(),
        "the scenario's fault cuts the body: {}",
        r.text()
    );
    assert!(
        took >= Duration::from_millis(150),
        "the scenario's latency: {took:?}"
    );
    let j = sb.admin_get("/__admin/requests?limit=1").await;
    assert_eq!(j[0]["scenario"], "deceased", "{j}");
    assert_eq!(j[0]["fault"], "malformed_body", "{j}");
    // Another scenario of the same file has neither.
    let r = sb
        .post(CURPV5, &[("apikey", "k")], json!({ "curp": EPN }))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["curp"], EPN);
}

// --- SPEC §8: bad input in the provider's own shape -----------------------------

/// One provider's way to be reached and its error shape.
struct Shape {
    provider: &'static str,
    path: &'static str,
    unknown: &'static str,
    wrong_method: &'static str,
    auth: Vec<(&'static str, &'static str)>,
    /// Whether `body` is in the provider's own error shape (for `status`
    /// and the engine error `kind`).
    check: fn(&Value, u16, &str) -> Result<(), String>,
}

fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            provider: "curpv5",
            path: CURPV5,
            unknown: "/api/curp/nothing",
            wrong_method: "GET",
            auth: vec![("apikey", "k")],
            check: |b, _, _| {
                (keys(b) == ["error", "message"] && b["error"].is_string())
                    .then_some(())
                    .ok_or_else(|| "not {error, message}".into())
            },
        },
        Shape {
            provider: "nss",
            path: NSS,
            unknown: "/api/v1/imss/nothing",
            wrong_method: "PUT",
            auth: vec![("x-api-key", "k")],
            check: |b, status, _| {
                let want = if status == 400 { "body" } else { "message" };
                (keys(b) == [want] && b[want].is_string())
                    .then_some(())
                    .ok_or_else(|| format!("not {{{want}}}"))
            },
        },
        Shape {
            provider: "accuauth",
            path: "/verify/id_check",
            unknown: "/verify/nothing",
            wrong_method: "GET",
            auth: vec![("x-df-api-id", "a"), ("x-df-api-secret", "s")],
            check: |b, _, _| {
                (keys(b) == ["status", "reason", "request_id"])
                    .then_some(())
                    .ok_or_else(|| "not {status, reason, request_id}".into())
            },
        },
        Shape {
            provider: "validacurp",
            path: "/curp/getData",
            unknown: "/curp/nothing",
            wrong_method: "GET",
            auth: vec![("authorization", "Bearer t")],
            check: |b, _, _| {
                (b["error"] == true
                    && b["code_error"].is_number()
                    && b["error_message"].is_string()
                    && b["msn"] == b["error_message"]
                    && b["response"].is_null())
                .then_some(())
                .ok_or_else(|| "not the validacurp envelope".into())
            },
        },
        Shape {
            provider: "async",
            path: "/api/AsyncVerication/NssByCurp",
            unknown: "/api/AsyncVerication/Nothing",
            wrong_method: "GET",
            auth: vec![("apikey", "k")],
            check: |b, _, _| {
                (keys(b) == ["code", "message"])
                    .then_some(())
                    .ok_or_else(|| "not {code, message}".into())
            },
        },
    ]
}

// SPEC §8 "Bad input never crashes it and never gets a bare 500: malformed
// JSON, wrong content type, huge bodies (limit, then 413), wrong method
// (405), unknown path (404) all get a clear JSON error in the provider's
// own error shape where the provider has one." Every provider, every kind
// of bad input; README "Sandbox request headers": every provider response
// carries `X-Sandbox-Scenario` (the engine's own errors name their kind).
#[tokio::test]
async fn every_kind_of_bad_input_gets_json_in_every_providers_own_shape() {
    let sb = Sandbox::start_with(Config {
        body_limit: 512,
        ..config()
    })
    .await;
    let mut wrong = Vec::new();
    let shapes = shapes();
    crate::common::assert_every_provider("SPEC §8 shapes", shapes.iter().map(|s| s.provider));
    for s in shapes {
        let with = |ct: &'static str| {
            let mut h = s.auth.clone();
            h.push(("content-type", ct));
            h
        };
        let cases: Vec<(&str, Resp, u16, &str)> = vec![
            (
                "malformed JSON",
                sb.send(
                    "POST",
                    s.path,
                    &with("application/json"),
                    "{\"curp\": \"PXNE",
                )
                .await,
                400,
                "malformed_body",
            ),
            (
                "wrong content type",
                sb.send(
                    "POST",
                    s.path,
                    &with("text/xml"),
                    "<curp>PXNE660720HMCXTN06</curp>",
                )
                .await,
                400,
                "",
            ),
            (
                "huge body",
                sb.send(
                    "POST",
                    s.path,
                    &with("application/json"),
                    format!(r#"{{"curp":"{EPN}","pad":"{}"}}"#, "x".repeat(4096)),
                )
                .await,
                413,
                "payload_too_large",
            ),
            (
                "wrong method",
                sb.send(s.wrong_method, s.path, &s.auth, "").await,
                405,
                "method_not_allowed",
            ),
            (
                "unknown path",
                sb.send("POST", s.unknown, &with("application/json"), "{}")
                    .await,
                404,
                "not_found",
            ),
        ];
        for (what, r, status, kind) in cases {
            let label = format!("{} {what}", s.provider);
            if r.status != status {
                wrong.push(format!(
                    "{label}: status {} not {status}: {}",
                    r.status,
                    r.text()
                ));
                continue;
            }
            let Ok(b) = serde_json::from_slice::<Value>(&r.body) else {
                wrong.push(format!("{label}: not JSON: {}", r.text()));
                continue;
            };
            if let Err(e) = (s.check)(&b, status, kind) {
                wrong.push(format!("{label}: {e}: {b}"));
            }
            let named = r.scenario();
            if named.is_empty() || (!kind.is_empty() && named != kind) {
                wrong.push(format!(
                    "{label}: X-Sandbox-Scenario '{named}', not '{kind}'"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- SPEC §7 / §8: the catalog --------------------------------------------------

// SPEC §7 "`GET /__admin/scenarios` | the catalog: a flat JSON array of
// {"provider","method","path","name","description"}, one per scenario of
// each endpoint"; SPEC §8 "`mxid-sandbox scenarios` lists the catalog";
// README reload answer `"scenarios": N`. The admin route and the command
// (`--json`) list the same rows, one per (endpoint, scenario): no row twice,
// every row with the five string keys, as many as the reload counts.
#[tokio::test]
async fn the_catalog_has_one_row_per_scenario_of_each_endpoint_and_the_command_prints_it() {
    let sb = Sandbox::start().await;
    let admin = sb.admin_get("/__admin/scenarios").await;
    let rows = admin.as_array().expect("a flat array");
    let mut seen = std::collections::BTreeSet::new();
    for r in rows {
        assert_eq!(
            keys(r),
            ["provider", "method", "path", "name", "description"],
            "{r}"
        );
        assert!(
            ["provider", "method", "path", "name", "description"]
                .iter()
                .all(|k| r[*k].is_string()),
            "{r}"
        );
        let key = format!(
            "{} {} {} {}",
            r["provider"], r["method"], r["path"], r["name"]
        );
        assert!(seen.insert(key.clone()), "listed twice: {key}");
    }
    let reload = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(reload.status, 200, "{}", reload.text());
    assert_eq!(reload.json()["scenarios"], rows.len());
    // Every provider of SPEC §1 is in it.
    for p in ["nss", "validacurp", "accuauth", "curpv5", "async"] {
        assert!(rows.iter().any(|r| r["provider"] == p), "{p}");
    }
    // An endpoint that takes two methods names both.
    let status = rows
        .iter()
        .find(|r| r["path"] == "/api/AsyncVerication/verificationStatus")
        .expect("verificationStatus is listed");
    assert_eq!(status["method"], "GET,POST", "{status}");
    assert!(rows
        .iter()
        .all(|r| r["path"] == status["path"] || !r["method"].as_str().unwrap().contains(',')));
    let out = run(&["scenarios", "--json"]);
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        &printed, &admin,
        "`scenarios --json` and /__admin/scenarios differ"
    );
}

// --- SPEC §8: running it ----------------------------------------------------------

// SPEC §8 "SIGINT/SIGTERM shut it down gracefully" (README: the shutdown
// waits `--shutdown-timeout` for requests in flight). SIGTERM is checked
// elsewhere; SIGINT (Ctrl-C in a terminal, the signal most CI runners send
// first) the same way: the request in flight gets its answer and the
// process exits with success.
#[tokio::test]
async fn sigint_shuts_it_down_gracefully() {
    let served = Served::start(&["--port", "0"], &[]);
    let in_flight = served.send_in_background(
        "POST",
        CURPV5,
        &[
            ("apikey", "k"),
            ("content-type", "application/json"),
            ("x-sandbox-latency", "500ms"),
        ],
        format!(r#"{{"curp":"{EPN}"}}"#),
    );
    served.journaled(1).await;
    served.signal("INT");
    let (status, stderr) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "exit after SIGINT: {status:?}: {stderr}");
    let r = in_flight
        .await
        .unwrap()
        .expect("the request in flight was answered");
    assert_eq!(r.status, 200);
}

// SPEC §8 "Invalid YAML never starts a half-configured server" and
// "`mxid-sandbox check DIR` validates YAML and exits non-zero with file,
// line and field on error": `serve` with a scenario folder (flag or
// `MXID_SCENARIOS`) holding an invalid file prints no ready line, exits
// non-zero, and names the file and line.
#[test]
fn serve_with_invalid_yaml_never_starts() {
    let dir = curpv5_dir("invalid-serve", |s| {
        s.replacen("        status: 504\n", "        status: lots\n", 1)
    });
    let _gone = RemovedOnDrop(dir.clone());
    let text = std::fs::read_to_string(dir.join("curpv5.yaml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("status: lots"))
        .unwrap()
        + 1;
    let d = dir.to_str().unwrap();
    for (args, env) in [
        (vec!["serve", "--port", "0", "--scenarios", d], vec![]),
        (vec!["serve", "--port", "0"], vec![("MXID_SCENARIOS", d)]),
    ] {
        let out = run_with_env(&args, &env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} {env:?}: {stderr}");
        assert!(!stdout.contains("listening"), "{stdout}");
        assert!(
            stderr.contains(&format!("curpv5.yaml:{line}:")),
            "{args:?} {env:?}: file and line {line}: {stderr}"
        );
    }
}

// SPEC §5 "Time comes from one sandbox clock that runs in real time by
// default"; README `--time-scale` default `1`, `--start-time` default now.
// The binary without either: the clock's scale is 1 and it reads the
// machine's time. README, Decisions: "A reset puts a namespace's clock
// ... back at `--start-time` and `--time-scale` (without `--start-time`, at
// the machine's time of the reset)": a clock set to 2030 and stopped reads
// the machine's time again, running, after a reset.
#[tokio::test]
async fn by_default_the_clock_runs_in_real_time() {
    let served = Served::start(&["--port", "0"], &[]);
    let machine_time = |c: &serde_json::Value| {
        assert_eq!(c["scale"], 1.0, "{c}");
        let now = c["now"].as_str().unwrap();
        assert!(now.ends_with("-06:00"), "{now}");
        let t = mxid_sandbox::time::Timestamp::parse_rfc3339(now).unwrap();
        let system = mxid_sandbox::time::Timestamp::system_now();
        let off = (t.micros() - system.micros()).abs();
        assert!(off < 5_000_000, "{now} is {off} µs from the machine's time");
    };
    machine_time(&served.admin_get("/__admin/clock").await);
    let r = served
        .admin_post(
            "/__admin/clock",
            json!({"set": "2030-01-01T00:00:00-06:00", "scale": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = served.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    machine_time(&served.admin_get("/__admin/clock").await);
}

// README "Command line" (the flags SPEC §5–§8 name: `--latency`,
// `--time-scale`, `--webhook-url`, `--port 0`, the journal bound…): "flags
// (each also read from the environment variable shown)". Each `MXID_*`
// variable of the table, without its flag, does what the flag does:
// MXID_HOST, MXID_PORT, MXID_START_TIME, MXID_TIME_SCALE, MXID_ADMIN_TOKEN,
// MXID_WEBHOOK_URL, MXID_JOURNAL_LIMIT, MXID_LATENCY, MXID_BODY_LIMIT,
// MXID_SHUTDOWN_TIMEOUT here; MXID_MAX_CONNECTIONS and MXID_HEADER_TIMEOUT
// in a second server.
#[tokio::test]
async fn every_serve_flag_is_read_from_its_environment_variable() {
    let auth = ("authorization", "Bearer tok123");
    let served = Served::start(
        &[],
        &[
            ("MXID_HOST", "127.0.0.1"),
            ("MXID_PORT", "0"),
            ("MXID_START_TIME", "2030-01-02T03:04:05-06:00"),
            ("MXID_TIME_SCALE", "0"),
            ("MXID_ADMIN_TOKEN", "tok123"),
            ("MXID_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
            ("MXID_JOURNAL_LIMIT", "2"),
            ("MXID_LATENCY", "200ms"),
            ("MXID_BODY_LIMIT", "300"),
            ("MXID_SHUTDOWN_TIMEOUT", "300ms"),
        ],
    );
    assert!(
        served.ready.contains("listening on http://127.0.0.1:") && !served.ready.contains(":8080"),
        "{}",
        served.ready
    );
    // MXID_ADMIN_TOKEN
    assert_eq!(served.get("/__admin/health", &[]).await.status, 401);
    // MXID_START_TIME, MXID_TIME_SCALE
    let c = served.get("/__admin/clock", &[auth]).await;
    assert_eq!(
        c.json(),
        json!({"now": "2030-01-02T03:04:05.000000-06:00", "scale": 0.0})
    );
    // MXID_WEBHOOK_URL
    let w = served.get("/__admin/webhooks", &[auth]).await.json();
    assert!(
        w.as_array()
            .unwrap()
            .iter()
            .any(|e| e["url"] == "http://127.0.0.1:9/hook" && e["source"] == "--webhook-url"),
        "{w}"
    );
    // MXID_LATENCY
    let t = Instant::now();
    let r = served
        .post(CURPV5, &[("apikey", "k")], json!({ "curp": EPN }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // MXID_JOURNAL_LIMIT
    for _ in 0..2 {
        served
            .post(CURPV5, &[("apikey", "k")], json!({ "curp": EPN }))
            .await;
    }
    let j = served.get("/__admin/requests", &[auth]).await.json();
    assert_eq!(j.as_array().unwrap().len(), 2, "{j}");
    // MXID_BODY_LIMIT
    let r = served
        .post(
            CURPV5,
            &[("apikey", "k")],
            json!({ "curp": EPN, "pad": "x".repeat(400) }),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    // MXID_SHUTDOWN_TIMEOUT: a request held 5 s does not hold the exit.
    let newest = j[1]["id"].as_u64().unwrap() + 1;
    let held = served.send_in_background(
        "POST",
        CURPV5,
        &[
            ("apikey", "k"),
            ("content-type", "application/json"),
            ("x-sandbox-latency", "5s"),
        ],
        format!(r#"{{"curp":"{EPN}"}}"#),
    );
    let started = Instant::now();
    loop {
        let j = served
            .get("/__admin/requests?limit=1", &[auth])
            .await
            .json();
        if j[0]["id"].as_u64() > Some(newest) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not journaled: {j}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served.terminate();
    let t = Instant::now();
    let (status, stderr) = served.exited_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?} {stderr}");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "exit took {:?} with MXID_SHUTDOWN_TIMEOUT=300ms",
        t.elapsed()
    );
    held.abort();

    // MXID_MAX_CONNECTIONS, MXID_HEADER_TIMEOUT
    let served = Served::start(
        &[],
        &[
            ("MXID_PORT", "0"),
            ("MXID_MAX_CONNECTIONS", "1"),
            ("MXID_HEADER_TIMEOUT", "300ms"),
        ],
    );
    let addr = served.addr();
    // Before the connection: the server's wait for its head starts once it
    // has accepted it, after this instant however busy the machine.
    let opened = Instant::now();
    let mut first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = second
        .write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut got)).await;
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.starts_with("HTTP/1.1 503"),
        "over MXID_MAX_CONNECTIONS=1: {got}"
    );
    // The silent first connection is cut at the header timeout.
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), first.read(&mut buf))
        .await
        .expect("cut off within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0);
    let waited = opened.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "cut after {waited:?} with MXID_HEADER_TIMEOUT=300ms"
    );
    // Its slot is free again (released as the cut connection's task ends).
    let started = Instant::now();
    while served.get("/__admin/health", &[]).await.status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the slot stays taken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// README "Command line", the `serve` table (flag | env | default): each
// flag reads its variable and has the default the table gives (`--port`'s
// 8080 is SPEC §8's "starts on 127.0.0.1:8080", which no test can bind);
// a flag whose default is "none", "off", "embedded" or "now" has none.
// `serve --help` states them as the binary takes them.
#[test]
fn serve_help_states_the_readme_tables_variables_and_defaults() {
    let out = run(&["serve", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = help.lines().collect();
    let block_of = |flag: &str| -> String {
        let at = lines
            .iter()
            .position(|l| {
                let t = l.trim_start();
                t.strip_prefix(flag)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
            .unwrap_or_else(|| panic!("{flag} is not in serve --help: {help}"));
        let mut block = lines[at].to_string();
        for l in &lines[at + 1..] {
            if l.trim_start().starts_with('-') {
                break;
            }
            block.push(' ');
            block.push_str(l.trim());
        }
        block
    };
    for (flag, env, default) in [
        ("--host", "MXID_HOST", Some("127.0.0.1")),
        ("--port", "MXID_PORT", Some("8080")),
        ("--scenarios", "MXID_SCENARIOS", None),
        ("--fixtures", "MXID_FIXTURES", None),
        ("--seed", "MXID_SEED", Some("0")),
        ("--strict-auth", "MXID_STRICT_AUTH", None),
        ("--strict-sandbox", "MXID_STRICT_SANDBOX", None),
        ("--latency", "MXID_LATENCY", None),
        ("--time-scale", "MXID_TIME_SCALE", Some("1")),
        ("--start-time", "MXID_START_TIME", None),
        ("--journal-limit", "MXID_JOURNAL_LIMIT", Some("1000")),
        ("--body-limit", "MXID_BODY_LIMIT", Some("1048576")),
        ("--webhook-url", "MXID_WEBHOOK_URL", None),
        ("--admin-token", "MXID_ADMIN_TOKEN", None),
        ("--max-connections", "MXID_MAX_CONNECTIONS", Some("10000")),
        ("--header-timeout", "MXID_HEADER_TIMEOUT", Some("10s")),
        ("--shutdown-timeout", "MXID_SHUTDOWN_TIMEOUT", Some("5s")),
        ("--log-requests", "MXID_LOG_REQUESTS", None),
    ] {
        let block = block_of(flag);
        // The secrets' values are not shown, even when set.
        let shown = if matches!(env, "MXID_WEBHOOK_URL" | "MXID_ADMIN_TOKEN") {
            format!("[env: {env}]")
        } else {
            format!("[env: {env}=")
        };
        assert!(block.contains(&shown), "{block}");
        match default {
            Some(d) => assert!(block.contains(&format!("[default: {d}]")), "{block}"),
            None => assert!(!block.contains("[default:"), "{block}"),
        }
    }
}

/// The README's `## TITLE` section, to the next `## `.
pub(crate) fn readme_section(title: &str) -> String {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    readme
        .split(&format!("\n## {title}\n"))
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("no section \"{title}\" in the README"))
        .to_string()
}

/// The README's subsection `### title` of `section`, up to the next one.
pub(crate) fn readme_subsection(section: &str, title: &str) -> String {
    section
        .split(&format!("\n### {title}\n"))
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .unwrap_or_else(|| panic!("no subsection \"{title}\" in the README"))
        .to_string()
}

/// The first ```sh block of `text`, without its fences.
pub(crate) fn sh_block(text: &str) -> &str {
    text.split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .unwrap_or_else(|| panic!("no sh block in {text}"))
}

/// Every command of the binary, each with its own `--help`.
pub(crate) const COMMANDS: [&[&str]; 9] = [
    &["serve"],
    &["scenarios"],
    &["check"],
    &["export"],
    &["curp"],
    &["curp", "check"],
    &["curp", "calc"],
    &["curp", "person"],
    &["curp", "random"],
];

// The brief: the README names every CLI flag. Each flag every command's
// `--help` lists is written in the README's "Command line" section (a
// flag of one command named for another would pass: the section is read
// as one text).
#[test]
fn the_readme_names_every_flag_of_every_command() {
    let section = readme_section("Command line");
    let section = section.as_str();
    let named = |flag: &str| {
        section.match_indices(flag).any(|(at, _)| {
            let after = section[at + flag.len()..].chars().next();
            !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    };
    let mut missing = Vec::new();
    let mut seen = 0;
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let out = run(&args);
        assert!(out.status.success(), "{command:?}");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        for line in help.lines() {
            let Some(at) = line.find("--") else { continue };
            let flag: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let option = line.trim_start().starts_with('-');
            if !option || flag == "--help" || flag.len() < 3 {
                continue;
            }
            seen += 1;
            if !named(&flag) {
                missing.push(format!("{} {flag}", command.join(" ")));
            }
        }
    }
    assert!(seen > 30, "{seen} flags read from --help");
    assert!(missing.is_empty(), "not in the README: {missing:?}");
}

// --- SPEC §4: the same person everywhere -----------------------------------------

/// The CURP domain as the server embeds it.
fn domain() -> Domain {
    crate::curp_rules::domain().clone()
}

/// A number as text or JSON number, as an integer.
fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if s.is_empty() => Some(0),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

// SPEC §4 "The same CURP gives the same person on every provider and every
// run (seeded by the CURP and `--seed`): names whose letters agree with the
// CURP, the birth date, sex and birth state that the CURP encodes, an NSS,
// an RFC and INE data consistent with that person, formatted as each
// provider formats them." For synthetic people: curpv5, validacurp getData
// and accuauth state the same names, birth date, sex, birth state, CURP
// status, proof document and registry data; calculateCURP gives the CURP
// back from the names they state; nss and async NssByCurp the same NSS,
// async RfcByCurp the person's RFC.
#[tokio::test]
async fn a_synthetic_person_is_the_same_on_every_provider() {
    let sb = Sandbox::start().await;
    let d = domain();
    let mut rng = StdRng::seed_from_u64(20_240_515);
    let entities = sb
        .post(
            "/curp/getEntities",
            &[("authorization", "Bearer t")],
            json!({}),
        )
        .await
        .json();
    let ine_of = |state: &str| -> Option<String> {
        entities["response"]["clave_entidad"]
            .as_array()?
            .iter()
            .find(|e| e["abreviatura_entidad"] == state)
            .and_then(|e| e["clave_entidad"].as_str().map(str::to_string))
    };
    let mut wrong = Vec::new();
    for _ in 0..20 {
        let curp = random_curp(&mut rng, &d.names);
        let p = d.person(&curp, 0);
        let c = sb
            .post(CURPV5, &[("apikey", "k")], json!({ "curp": curp }))
            .await
            .json();
        let v = sb
            .post(
                "/curp/getData",
                &[("authorization", "Bearer t")],
                json!({ "curp": curp }),
            )
            .await
            .json();
        let (va, ve) = (
            &v["response"]["Applicant"],
            &v["response"]["EvidentiaryDocument"],
        );
        let a = sb
            .post(
                "/verify/id_check",
                &[("x-df-api-id", "a"), ("x-df-api-secret", "s")],
                json!({ "id_number": curp }),
            )
            .await
            .json();
        let a = &a["result"];
        let mut diffs = Vec::new();
        let mut diff = |what: &str, got: Vec<Value>| {
            if got.windows(2).any(|w| w[0] != w[1]) {
                diffs.push(format!("{curp} {what}: {got:?}"));
            }
        };
        diff(
            "names",
            vec![
                c["firstName"].clone(),
                va["Names"].clone(),
                a["nombre"].clone(),
            ],
        );
        diff(
            "first surname",
            vec![
                c["lastName"].clone(),
                va["LastName"].clone(),
                a["apellidoPaterno"].clone(),
            ],
        );
        diff(
            "second surname",
            vec![
                c["secondLastName"].clone(),
                va["SecondLastName"].clone(),
                a["apellidoMaterno"].clone(),
            ],
        );
        diff(
            "CURP status",
            vec![
                c["curpStatus"].clone(),
                va["CurpStatusKey"].clone(),
                a["estatusCurp"].clone(),
                json!(p.status.as_str()),
            ],
        );
        diff(
            "proof document",
            vec![
                json!(int(&c["proofDocumentType"])),
                json!(int(&va["KeyEvidentiaryDocument"])),
                json!(int(&a["docProbatorio"])),
            ],
        );
        // The birth date, sex and state the CURP encodes.
        let (yy, mm, dd) = (&curp[4..6], &curp[6..8], &curp[8..10]);
        let century = if curp.as_bytes()[16].is_ascii_digit() {
            "19"
        } else {
            "20"
        };
        diff(
            "birth date",
            vec![
                c["birthDate"].clone(),
                a["fechaNacimiento"].clone(),
                json!(format!("{dd}/{mm}/{century}{yy}")),
            ],
        );
        diff(
            "birth date (validacurp)",
            vec![
                va["DateOfBirth"].clone(),
                json!(format!("{century}{yy}-{mm}-{dd}")),
            ],
        );
        let (g5, gv, ga) = match &curp[10..11] {
            "H" => ("M", "Hombre", "HOMBRE"),
            "M" => ("F", "Mujer", "MUJER"),
            _ => ("X", "No binario", "NO BINARIO"),
        };
        diff("sex (curpv5)", vec![c["gender"].clone(), json!(g5)]);
        diff("sex (validacurp)", vec![va["Gender"].clone(), json!(gv)]);
        diff("sex (accuauth)", vec![a["sexo"].clone(), json!(ga)]);
        diff(
            "birth state",
            vec![
                c["birthState"].clone(),
                va["CodeEntityBirth"].clone(),
                json!(&curp[11..13]),
            ],
        );
        let reg = &a["datosDocProbatorio"];
        diff(
            "registry year",
            vec![
                json!(int(&ve["YearRegistration"])),
                json!(int(&reg["anioReg"])),
            ],
        );
        diff(
            "act number",
            vec![
                json!(int(&ve["CertificateNumber"])),
                json!(int(&reg["numActa"])),
            ],
        );
        diff(
            "registry municipality code",
            vec![
                json!(int(&ve["KeyMunicipalityRegistration"])),
                json!(int(&reg["claveMunicipioRegistro"])),
            ],
        );
        diff(
            "registry entity",
            vec![
                json!(int(&ve["RegistrantNumber"])),
                json!(int(&reg["claveEntidadRegistro"])),
            ],
        );
        // calculateCURP from the names stated gives the CURP's 16 letters.
        if let Some(entity) = ine_of(&curp[11..13]) {
            let k = sb
                .post(
                    "/curp/calculateCURP",
                    &[("authorization", "Bearer t")],
                    json!({
                        "names": va["Names"], "lastName": va["LastName"],
                        "secondLastName": va["SecondLastName"],
                        "birthday": dd, "birthMonth": mm, "yearBirth": format!("{century}{yy}"),
                        "gender": &curp[10..11], "entity": entity,
                    }),
                )
                .await
                .json();
            let got = k["response"]["curp"].as_str().unwrap_or("");
            if va["SecondLastName"] != "" && got.get(..16) != Some(&curp[..16]) {
                wrong.push(format!("{curp} calculateCURP from the stated names: {k}"));
            }
        }
        // NSS: nss and async NssByCurp; RFC: async RfcByCurp.
        let n = sb
            .post(NSS, &[("x-api-key", "k")], json!({ "curp": curp }))
            .await
            .json();
        let nss_found = n["response"]["nss"].as_str().unwrap_or("").to_string();
        let mut ids = Vec::new();
        for (path, body) in [
            ("NssByCurp", json!({ "curp": curp })),
            ("RfcByCurp", json!({ "curp": curp, "state": 9 })),
        ] {
            let r = sb
                .post(
                    &format!("/api/AsyncVerication/{path}"),
                    &[("apikey", "k")],
                    body,
                )
                .await;
            ids.push(
                r.json()["verificationId"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        sb.advance("3s").await;
        let mut got = Vec::new();
        for id in &ids {
            let s = sb
                .get(
                    &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
                    &[("apikey", "k")],
                )
                .await
                .json();
            let v: Value = s["verification"]
                .as_str()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null);
            got.push(v);
        }
        let async_nss = got[0]["nss"].as_str().unwrap_or("").to_string();
        diff(
            "NSS",
            vec![json!(nss_found), json!(async_nss), json!(p.nss.as_str())],
        );
        diff("RFC", vec![got[1]["rfc"].clone(), json!(p.rfc.as_str())]);
        wrong.extend(diffs);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The async verification of `body` to IneNominalList, completed: its
/// `verification` read as JSON.
pub(crate) async fn ine_verification(sb: &Sandbox, body: Value) -> Value {
    let r = sb
        .post(
            "/api/AsyncVerication/IneNominalList",
            &[("apikey", "k")],
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["verificationId"].as_str().unwrap().to_string();
    sb.advance("3s").await;
    let st = sb
        .get(
            &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
            &[("apikey", "k")],
        )
        .await;
    assert_eq!(st.json()["verificationStatus"], 4, "{}", st.text());
    serde_json::from_str(st.json()["verification"].as_str().unwrap()).unwrap()
}

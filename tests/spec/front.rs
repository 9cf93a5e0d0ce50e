//! README's front sections (Command line, The people behind the CURPs,
//! Sandbox request headers, Admin API, The scenario files): the claims an
//! audit found no other test holding (each behaved as written; a change to
//! it would have passed the suite).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{CURPV5, EPN};
use crate::common::{config, Resp, Sandbox, Served};
use crate::engine::{run, run_with_env};
use mxid_sandbox::engine::latency::Latency;
use mxid_sandbox::Config;

// README, The people behind the CURPs: the persona table, each CURP's
// status as curpv5 answers it, and the homonym pair's RFCs.
#[tokio::test]
async fn the_persona_tables_statuses_and_rfcs_are_answered() {
    let sb = Sandbox::start().await;
    for (curp, status) in [
        ("MEGR380412MJCDRS07", "BD"),
        ("TALE710903HZSPRS06", "BSU"),
        ("QUBF850127HTSRLR07", "BAP"),
        ("SOCH790615MPLTVR04", "BDM"),
        ("AOCJ121008MNLRNMA3", "BDP"),
        ("VIOR690221HSLLCG00", "BJD"),
        ("HEGJ900515HDFRRN01", "AN"),
        ("HEGJ900515HDFRRN19", "AH"),
        ("EIVC881130MVZSLR02", "RCC"),
        ("RAZR811011HVZMPB01", "RCN"),
    ] {
        let r = sb
            .post(CURPV5, &[("apikey", "k")], json!({ "curp": curp }))
            .await;
        assert_eq!(r.status, 200, "{curp}: {}", r.text());
        assert_eq!(r.json()["curpStatus"], status, "{curp}");
    }
    let d = crate::curp_rules::domain();
    assert_eq!(
        d.person("HEGJ900515HDFRRN01", 0).rfc.as_str(),
        "HEGJ900515841"
    );
    assert_eq!(
        d.person("HEGJ900515HDFRRN19", 0).rfc.as_str(),
        "HEGJ900515R47"
    );
}

// README, The people behind the CURPs: "a CURP status (AN 90 %, RCN 6 %,
// RCC 4 % …)". 4,000 random people: each share within a few points.
#[test]
fn a_synthetic_persons_status_is_an_rcn_or_rcc_in_the_readmes_shares() {
    let d = crate::curp_rules::domain();
    let mut rng = StdRng::seed_from_u64(11);
    let mut counts: HashMap<String, usize> = HashMap::new();
    let n = 4_000;
    let mut drawn = 0;
    while drawn < n {
        let curp = mxid_sandbox::curp::random_curp(&mut rng, &d.names);
        // The differentiator may make a homonym (AH): not drawn.
        let status = d.person(&curp, 0).status.to_string();
        if status != "AH" {
            *counts.entry(status).or_default() += 1;
            drawn += 1;
        }
    }
    let share = |s: &str| counts.get(s).copied().unwrap_or(0) as f64 / n as f64;
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!((0.87..=0.93).contains(&share("AN")), "{counts:?}");
    assert!((0.04..=0.08).contains(&share("RCN")), "{counts:?}");
    assert!((0.025..=0.055).contains(&share("RCC")), "{counts:?}");
}

// README, Command line, `--latency`, and The scenario files: "A 413 whose
// body is left unread over HTTP/1.1 (past the drain, declared past it, or
// a client waiting for `100 Continue`) answers at once, without" the
// latency; "The admin API and the sandbox's own 400s for a mistyped
// sandbox header or scenario name answer at once." A 3 s `--latency`
// answers each of them in well under 3 s, and delays a provider answer.
#[tokio::test]
async fn refusals_before_the_answer_is_chosen_do_not_wait_out_the_latency() {
    let sb = Sandbox::start_with(Config {
        latency: Some("3s".parse::<Latency>().unwrap()),
        body_limit: 64,
        ..config()
    })
    .await;
    let quick = Duration::from_secs(2);
    let body = json!({ "curp": EPN });
    for (header, value) in [
        ("x-sandbox-scenario", "nope"),
        ("x-sandbox-latency", "soon"),
        ("x-sandbox-namespace", "a b"),
    ] {
        let t = Instant::now();
        let r = sb
            .post(CURPV5, &[("apikey", "k"), (header, value)], body.clone())
            .await;
        assert_eq!(r.status, 400, "{header}: {}", r.text());
        assert!(t.elapsed() < quick, "{header}: {:?}", t.elapsed());
    }
    for expect_continue in [false, true] {
        let mut socket = tokio::net::TcpStream::connect(sb.addr).await.unwrap();
        let head =
            format!(
            "POST {CURPV5} HTTP/1.1\r\nhost: x\r\napikey: k\r\ncontent-type: application/json\r\n\
             content-length: 10000000000\r\n{}connection: close\r\n\r\n",
            if expect_continue { "expect: 100-continue\r\n" } else { "" }
        );
        let t = Instant::now();
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0; 4096];
        let n = socket.read(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer[..n]);
        assert!(text.starts_with("HTTP/1.1 413"), "{text}");
        assert!(t.elapsed() < quick, "{expect_continue}: {:?}", t.elapsed());
    }
    let t = Instant::now();
    let r = sb.post(CURPV5, &[("apikey", "k")], body).await;
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_secs(3), "{:?}", t.elapsed());
}

// README, The scenario files: on the engine's own errors "a sandbox header
// that does not parse is passed over there: the error already answered is
// the request's first problem".
#[tokio::test]
async fn an_engine_error_passes_over_a_sandbox_header_it_cannot_read() {
    let sb = Sandbox::start().await;
    let r = sb.get("/nowhere", &[("x-sandbox-latency", "bogus")]).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json(), json!({"error": "no endpoint at GET /nowhere"}));
    let r = sb
        .get(CURPV5, &[("apikey", "k"), ("x-sandbox-fault", "bogus")])
        .await;
    assert_eq!(r.status, 405, "{}", r.text());
    assert_eq!(r.scenario(), "method_not_allowed");
}

// README, Command line, `--body-limit`: "larger request bodies get 413, on
// the admin API too (so `0` refuses every body: an override or a clock
// move with a body included)"; a route that needs no body still answers.
#[tokio::test]
async fn a_body_limit_of_0_refuses_every_body_the_admin_apis_too() {
    let sb = Sandbox::start_with(Config {
        body_limit: 0,
        ..config()
    })
    .await;
    let refused = json!({"error": "the request body is larger than 0 bytes"});
    for (path, body) in [
        ("/__admin/clock", json!({"advance": "1s"})),
        (
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "not_found"}),
        ),
    ] {
        let r = sb.admin_post(path, body).await;
        assert_eq!((r.status, r.json()), (413, refused.clone()), "{path}");
    }
    let r = sb
        .post(CURPV5, &[("apikey", "k")], json!({ "curp": EPN }))
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    let r = sb.send("POST", "/__admin/reset", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// README, Admin API, `GET /__admin/requests`: `curp` is "null for a request
// that states none: IneNominalList, …, verificationStatus, calculateCURP,
// getEntities", and "trimmed and upper-cased" where one is stated.
#[tokio::test]
async fn the_journal_states_no_curp_for_requests_that_state_none() {
    let sb = Sandbox::start().await;
    let bearer = ("authorization", "Bearer t");
    let calc = json!({
        "names": "enrique", "lastName": "peña", "secondLastName": "nieto",
        "birthday": "20", "birthMonth": "07", "yearBirth": "1966",
        "gender": "H", "entity": "15"
    });
    let r = sb.post("/curp/calculateCURP", &[bearer], calc).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb.post("/curp/getEntities", &[bearer], json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let status = "/api/AsyncVerication/verificationStatus?verificationId=x";
    let r = sb.get(status, &[("apikey", "k")]).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let padded = format!("  {}  ", EPN.to_lowercase());
    let r = sb
        .post(CURPV5, &[("apikey", "k")], json!({ "curp": padded }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let journal = sb.admin_get("/__admin/requests").await;
    let curps: Vec<(&str, &Value)> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), &e["curp"]))
        .collect();
    assert_eq!(
        curps,
        [
            ("/curp/calculateCURP", &Value::Null),
            ("/curp/getEntities", &Value::Null),
            ("/api/AsyncVerication/verificationStatus", &Value::Null),
            (CURPV5, &json!(EPN)),
        ]
    );
}

// README, Sandbox request headers: a namespace "is 1–64 letters, digits,
// `-`, `_` or `.`": 64 is taken (65 is refused elsewhere); README, Admin
// API: "at most 1,000 per namespace" overrides; Command line and The
// people behind the CURPs: 1,024 namespaces (1943, the NSS's first year,
// is held by a unit test of `src/curp/nss.rs`). The bounds the README writes as numbers, against the code's constants
// the other tests use.
#[tokio::test]
async fn the_readmes_numbers_are_the_bounds_the_code_keeps() {
    assert_eq!(mxid_sandbox::engine::overrides::MAX_OVERRIDES, 1_000);
    assert_eq!(mxid_sandbox::engine::namespace::MAX_NAMESPACES, 1_024);
    let sb = Sandbox::start().await;
    let name = "n".repeat(64);
    let r = sb
        .post(
            CURPV5,
            &[("apikey", "k"), ("x-sandbox-namespace", &name)],
            json!({ "curp": EPN }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// README, Command line, `--shutdown-timeout`: "other signals keep their
// default, so SIGHUP, as a closing terminal sends it, ends the process at
// once" (and one run under `nohup`, which ignores it, keeps serving). The
// server inherits this test's disposition of SIGHUP: under `nohup cargo
// test` it is ignored, and the server must go on.
#[tokio::test]
async fn sighup_keeps_the_disposition_the_server_was_given() {
    use std::os::unix::process::ExitStatusExt;
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .expect("SigIgn in /proc/self/status");
    let sighup_ignored = ignored & 1 != 0;
    let mut s = Served::start(&["--port", "0"], &[]);
    let r = s
        .post(CURPV5, &[("apikey", "k")], json!({ "curp": EPN }))
        .await;
    assert_eq!(r.status, 200);
    s.signal("HUP");
    if sighup_ignored {
        let r = s
            .post(CURPV5, &[("apikey", "k")], json!({ "curp": EPN }))
            .await;
        assert_eq!(r.status, 200, "served on after SIGHUP, ignored as given");
        s.kill();
        return;
    }
    let status = s
        .status_within(Duration::from_secs(10))
        .expect("ended within 10 s");
    assert_eq!(status.signal(), Some(1), "{status:?}");
}

// README, Command line: `scenarios` reads `MXID_SCENARIOS` too; `check`'s
// flags, "alone of all, read no `MXID_*` variable".
#[test]
fn scenarios_reads_mxid_scenarios_and_check_does_not() {
    let missing = [("MXID_SCENARIOS", "/no/such/scenarios")];
    let out = run_with_env(&["scenarios"], &missing);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/no/such/scenarios: cannot read folder: no such folder"),
        "{err}"
    );
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let out = run_with_env(&["check", fixtures], &missing);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("ok (fixture files, with the embedded scenario files"),
        "{text}"
    );
}

// README, Command line: "`mxid-sandbox --version`, and `--help` on every
// command"; `curp check` reads the CURP "as the providers read it, trimmed
// and upper-cased".
#[test]
fn version_help_on_every_command_and_a_padded_curp_to_check() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        concat!("mxid-sandbox ", env!("CARGO_PKG_VERSION"))
    );
    for command in super::COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{command:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: mxid-sandbox"),
            "{command:?}"
        );
    }
    let out = run(&["curp", "check", "  pxne660720hmcxtn06 "]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&v["curp"], &v["valid"]),
        (&json!(EPN), &json!(true)),
        "{v}"
    );
}

// The brief: the README names "every scenario name per provider". Each
// scenario the embedded files define (`mxid-sandbox scenarios --json`) is
// written in backticks in its provider's section of "Scenarios per
// provider".
#[test]
fn the_readme_names_every_scenario_in_its_providers_section() {
    let section = super::readme_section("Scenarios per provider");
    let out = run(&["scenarios", "--json"]);
    assert!(out.status.success());
    let catalog: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut missing = Vec::new();
    for e in &catalog {
        let (provider, name) = (e["provider"].as_str().unwrap(), e["name"].as_str().unwrap());
        let own = super::readme_subsection(&section, provider);
        if !own.contains(&format!("`{name}`")) {
            missing.push(format!("{provider}: {name} ({})", e["path"]));
        }
    }
    assert!(catalog.len() > 150, "{}", catalog.len());
    assert!(missing.is_empty(), "not in the README: {missing:#?}");
}

// README, "Try it": the block's requests, sent as written (to the test's
// sandbox instead of localhost:8080), answer as the comment under each
// shows them, `…` standing for any text and `ID` for the verification the
// creation before answered ("two seconds later" is the sandbox clock
// moved 2 s). Run again it answers the same; a third time nss has spent
// its two queries a day for the CURP, as the note under the block says,
// until the note's reset of the counters.
#[tokio::test]
async fn the_readmes_try_it_block_answers_as_written_and_again_after_its_reset() {
    let try_it = try_it_section();
    let steps = try_it_steps(&try_it);
    assert_eq!(steps.len(), 7, "{steps:#?}");
    let reset = Curl::parse(backticked(&try_it, "curl -s -X DELETE"));
    // The IneNominalList example's credential is the one its comment names
    // the holder of (the realistic path would take any well-formed one).
    let ine = steps
        .iter()
        .find(|s| s.curl.url.ends_with("/IneNominalList"))
        .expect("an IneNominalList example");
    let holder = ine
        .comment
        .split_whitespace()
        .find(|w| mxid_sandbox::curp::check_strict(w).is_ok())
        .unwrap_or_else(|| panic!("no CURP in {}", ine.comment));
    let person = crate::curp_rules::domain().person(holder, 0);
    let sent: Value = serde_json::from_str(&ine.curl.body).unwrap();
    assert_eq!(
        (&sent["id"], &sent["ocr"], &sent["issueNumber"]),
        (
            &json!(person.ine.elector_code.as_str()),
            &json!(person.ine.ocr.as_str()),
            &json!(person.ine.issue_number.as_str())
        ),
        "{holder}"
    );
    let sb = Sandbox::start().await;
    replay(&sb, &steps, &[]).await;
    replay(&sb, &steps, &[]).await;
    let nss = steps
        .iter()
        .find(|s| s.curl.url.contains("/imss/nss"))
        .unwrap();
    let third = nss.curl.send(&sb, "", &[]).await;
    assert_eq!(third.json()["status"], "SERVICE_ERROR", "{}", third.text());
    let r = reset.send(&sb, "", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    replay(&sb, &steps, &[]).await;
}

// README, "Try it": under --strict-auth only the credentials its prose
// lists are taken: the block with those in place of `any` answers as
// written, and with `any` a provider refuses it.
#[tokio::test]
async fn the_try_it_block_under_strict_auth_with_the_credentials_it_lists() {
    let try_it = try_it_section();
    let prose = try_it.split("```sh").next().unwrap();
    let listed: Vec<(String, String)> = prose
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| code.split_once(": "))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
        .collect();
    assert_eq!(listed.len(), 4, "{listed:?}");
    let sb = Sandbox::start_with(Config {
        strict_auth: true,
        ..config()
    })
    .await;
    let steps = try_it_steps(&try_it);
    let refused = steps[0].curl.send(&sb, "", &[]).await;
    assert_eq!(refused.status, 401, "{}", refused.text());
    replay(&sb, &steps, &listed).await;
}

// README, "Try it": "`not_found` is a 404 on curpv5 and a 400 on
// validacurp, but a 200 on nss (`NOT_FOUND` in its `response`) and
// accuauth (`result_code` 1), and async's creation answers 200 with an id
// whose verification completes as not found (RfcByCurp and NssByCurp with
// a warning, IneNominalList with `valid` false)"; on async's status read
// the name is a 400 listing `success`, `unknown_verification` and the
// credential ones.
#[tokio::test]
async fn not_found_is_an_http_error_on_two_providers_and_a_200_on_three() {
    let sb = Sandbox::start().await;
    let forced = [("x-sandbox-scenario", "not_found")];
    for p in crate::common::provider_requests(EPN) {
        let r = sb.provider_post(&p, &forced).await;
        assert_eq!(r.scenario(), "not_found", "{}: {}", p.0, r.text());
        let body = r.json();
        match p.0 {
            "curpv5" => assert_eq!(r.status, 404, "{}", r.text()),
            "validacurp" => assert_eq!(r.status, 400, "{}", r.text()),
            "nss" => assert_eq!(
                (r.status, &body["response"]["status"]),
                (200, &json!("NOT_FOUND"))
            ),
            "accuauth" => assert_eq!((r.status, &body["result_code"]), (200, &json!("1"))),
            _ => assert_eq!(r.status, 200, "{}: {}", p.0, r.text()),
        }
    }
    let person = crate::curp_rules::domain().person(EPN, 0);
    let mut created = Vec::new();
    for (endpoint, body) in [
        ("RfcByCurp", json!({"curp": EPN, "state": 15})),
        ("NssByCurp", json!({"curp": EPN})),
        (
            "IneNominalList",
            json!({"type": "C", "id": person.ine.elector_code.as_str(),
                   "ocr": person.ine.ocr.as_str(), "issueNumber": person.ine.issue_number.as_str()}),
        ),
    ] {
        let path = format!("/api/AsyncVerication/{endpoint}");
        let mut headers = vec![("apikey", "k")];
        headers.extend(forced);
        let r = sb.post(&path, &headers, body).await;
        assert_eq!(r.status, 200, "{endpoint}: {}", r.text());
        created.push((
            endpoint,
            r.json()["verificationId"].as_str().unwrap().to_string(),
        ));
    }
    sb.advance("2s").await;
    for (endpoint, id) in created {
        let r = sb
            .get(
                &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
                &[("apikey", "k")],
            )
            .await;
        let status = r.json();
        assert_eq!(status["verificationStatus"], 4, "{endpoint}: {status}");
        let warnings = status["warnings"].as_array().unwrap().len();
        if endpoint == "IneNominalList" {
            let data: Value =
                serde_json::from_str(status["verification"].as_str().unwrap()).unwrap();
            assert_eq!((&data["valid"], warnings), (&json!(false), 0), "{status}");
        } else {
            assert_eq!(
                (&status["verification"], warnings),
                (&Value::Null, 1),
                "{status}"
            );
        }
    }
    let r = sb
        .get(
            "/api/AsyncVerication/verificationStatus?verificationId=x",
            &[("apikey", "k"), ("x-sandbox-scenario", "not_found")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["valid_scenarios"],
        json!([
            "success",
            "unknown_verification",
            "no_permission",
            "missing_credentials",
            "invalid_credentials"
        ])
    );
}

// README, "In a CI job": its shell step, run by bash -e with the binary on
// the PATH and `run-the-tests` a stand-in suite. A suite that passes: exit
// 0, the server stopped. One that fails: its exit status, the request log
// printed. A server that cannot start: exit 1 with its reason, not a wait
// for ever.
#[test]
fn the_readmes_ci_step_runs_a_suite_around_the_server() {
    let ci = super::readme_subsection(&super::readme_section("The two commands"), "In a CI job");
    let step = super::sh_block(&ci);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_mxid-sandbox"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run_step = |suite: &str, env: &[(&str, &str)]| {
        let dir = crate::common::temp_dir("ci-step");
        // The stand-in suite notes the server's pid first: its port, free
        // once it has stopped, may be given to another test's server.
        let script =
            format!("run-the-tests() {{ echo \"$mxid_pid\" > mxid.pid; {suite}; }}\n{step}");
        let mut bash = std::process::Command::new("bash");
        bash.args(["-e", "-c", &script])
            .current_dir(&dir)
            .env("PATH", &path);
        let out = crate::engine::output_within_20s(bash, env, "the README's CI step");
        let url = std::fs::read_to_string(dir.join("mxid.out")).unwrap_or_default();
        let pid = std::fs::read_to_string(dir.join("mxid.pid")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        (out, (url, pid))
    };
    // The step has waited for it: the process is gone, not a zombie.
    let stopped = |(url, pid): &(String, String)| {
        assert!(url.contains("listening on http://127.0.0.1:"), "{url}");
        let pid = pid.trim();
        assert!(pid.parse::<u32>().is_ok(), "no pid noted: {pid:?}");
        !std::path::Path::new("/proc").join(pid).exists()
    };
    let curl = |scenario: &str| {
        format!(
            "curl -sf \"$MXID_URL/api/curp/bycurp\" -H 'apikey: k' -H 'X-Sandbox-Scenario: {scenario}' \
             -d '{{\"curp\":\"PXNE660720HMCXTN06\"}}' > /dev/null"
        )
    };

    let (out, server) = run_step(&curl("success"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.is_empty(),
        "a suite that passes prints no log: {stdout}"
    );
    assert!(stopped(&server), "the server still runs: {server:?}");

    let (out, server) = run_step(&curl("not_found"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(22),
        "curl -f's status for a 404: {out:?}"
    );
    assert!(
        stdout.contains("curpv5 POST /api/curp/bycurp -> 404 not_found by header"),
        "{stdout}"
    );
    assert!(stopped(&server), "the server still runs: {server:?}");

    // A server that stopped during the suite: the step still ends with the
    // suite's status and its log, not at the `kill` of a process gone.
    let suite = format!(
        "{} && kill \"$mxid_pid\" && wait \"$mxid_pid\"; return 3",
        curl("success")
    );
    let (out, server) = run_step(&suite, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        stdout.contains("curpv5 POST /api/curp/bycurp -> 200 success by header"),
        "{stdout}"
    );
    assert!(stopped(&server), "the server still runs: {server:?}");

    let (out, _) = run_step("true", &[("MXID_LATENCY", "11m")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout.contains("--latency: latency '11m'"), "{stdout}");
}

/// The README's "Try it" subsection.
fn try_it_section() -> String {
    super::readme_subsection(&super::readme_section("The two commands"), "Try it")
}

/// The text in backticks in `text` that starts with `start`.
fn backticked<'a>(text: &'a str, start: &str) -> &'a str {
    text.split('`')
        .skip(1)
        .step_by(2)
        .find(|code| code.starts_with(start))
        .unwrap_or_else(|| panic!("no `{start}…` in {text}"))
}

#[derive(Debug)]
struct TryStep {
    curl: Curl,
    /// The comment's answer: `…` any text, `ID` the verification's id.
    expected: String,
    /// The comment says to wait before the next request.
    then_wait: bool,
    /// The comment whole.
    comment: String,
}

/// Each `curl` line of the subsection's sh block, with the `#` comment
/// under it.
fn try_it_steps(try_it: &str) -> Vec<TryStep> {
    let lines: Vec<&str> = super::sh_block(try_it).lines().collect();
    let mut steps = Vec::new();
    for pair in lines.chunks(2) {
        let [command, comment] = pair else {
            panic!("a curl line without its comment: {pair:?}")
        };
        let comment = comment
            .strip_prefix("# ")
            .unwrap_or_else(|| panic!("not a comment: {comment}"));
        let expected = json_prefix(comment);
        steps.push(TryStep {
            curl: Curl::parse(command),
            expected: expected.to_string(),
            then_wait: comment[expected.len()..].contains("two seconds later"),
            comment: comment.to_string(),
        });
    }
    steps
}

/// The JSON object `comment` opens with, up to the brace that closes it
/// (the whole comment when it is cut short with `…`).
fn json_prefix(comment: &str) -> &str {
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    for (i, c) in comment.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return &comment[..=i];
                }
            }
            _ => {}
        }
    }
    comment
}

/// Whether `body` is `expected` with each `…` standing for any text.
fn matches_with_ellipses(expected: &str, body: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !body.starts_with(first) || (parts.len() > 1 && !body.ends_with(last)) {
        return false;
    }
    let mut rest = &body[first.len()..];
    for part in &parts[1..] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    parts.len() > 1 || rest.is_empty()
}

/// Sends the steps in order, each header named in `credentials` (lower
/// case) given that value instead of the block's.
async fn replay(sb: &Sandbox, steps: &[TryStep], credentials: &[(String, String)]) {
    let mut id = String::new();
    for step in steps {
        let r = step.curl.send(sb, &id, credentials).await;
        assert_eq!(r.status, 200, "{:?}: {}", step.curl, r.text());
        let body = r.text();
        if !step.curl.url.contains("verificationStatus") {
            if let Some(created) = r.json()["verificationId"].as_str() {
                id = created.to_string();
            }
        }
        let expected = step.expected.replace("\"ID\"", &format!("\"{id}\""));
        assert!(
            matches_with_ellipses(&expected, &body),
            "{:?}\n answered {body}\n the README shows {expected}",
            step.curl
        );
        if step.then_wait {
            sb.advance("2s").await;
        }
    }
}

/// A curl command line as the README writes them: `-s`, `-X METHOD`,
/// `-H 'NAME: VALUE'`, `-d 'BODY'` (a POST) and the URL.
#[derive(Debug)]
struct Curl {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Curl {
    fn parse(line: &str) -> Curl {
        let mut words = Vec::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ' ' => {}
                '\'' => words.push(chars.by_ref().take_while(|&c| c != '\'').collect()),
                _ => {
                    let mut word = String::from(c);
                    while let Some(&c) = chars.peek().filter(|&&c| c != ' ') {
                        word.push(c);
                        chars.next();
                    }
                    words.push(word);
                }
            }
        }
        let mut words = words.into_iter();
        assert_eq!(words.next().as_deref(), Some("curl"), "{line}");
        let mut curl = Curl {
            method: String::new(),
            url: String::new(),
            headers: Vec::new(),
            body: String::new(),
        };
        while let Some(word) = words.next() {
            match word.as_str() {
                "-s" => {}
                "-X" => curl.method = words.next().unwrap(),
                "-H" => {
                    let header = words.next().unwrap();
                    let (name, value) = header.split_once(": ").unwrap();
                    curl.headers.push((name.to_string(), value.to_string()));
                }
                "-d" => curl.body = words.next().unwrap(),
                url => {
                    let path = url.strip_prefix("localhost:8080").unwrap_or_else(|| {
                        panic!("{line}: {url} is not a flag of the README's nor its URL")
                    });
                    curl.url = path.to_string();
                }
            }
        }
        if curl.method.is_empty() {
            curl.method = if curl.body.is_empty() { "GET" } else { "POST" }.into();
        }
        curl
    }

    /// Sends it, `ID` in its URL or body replaced by `id`.
    async fn send(&self, sb: &Sandbox, id: &str, credentials: &[(String, String)]) -> Resp {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let listed = credentials
                    .iter()
                    .find(|(listed, _)| *listed == name.to_ascii_lowercase());
                match listed {
                    Some((_, listed)) if value.ends_with("any") => (name.as_str(), listed.as_str()),
                    _ => (name.as_str(), value.as_str()),
                }
            })
            .collect();
        let content_type = [("content-type", "application/x-www-form-urlencoded")];
        let mut all = headers;
        if !self.body.is_empty() {
            // curl's -d sends this content type; the providers read the
            // JSON in it.
            all.extend(content_type);
        }
        sb.send(
            &self.method,
            &self.url.replace("=ID", &format!("={id}")),
            &all,
            self.body.replace("\"ID\"", &format!("\"{id}\"")),
        )
        .await
    }
}

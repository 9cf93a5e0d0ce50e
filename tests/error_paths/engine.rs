// Error paths of the admin API, the CLI, the server and the engine that no
// other test exercises: each triggered through the real server or the real
// binary, its status, shape and message checked against the README.

use super::refused_with;
use crate::common::{config, temp_dir, RemovedOnDrop, Sandbox};
use crate::user_files::shipped;
use mxid_sandbox::engine::namespace::MAX_NAMESPACES;
use mxid_sandbox::Config;
use serde_json::{json, Value};

const CURP: &str = "PXNE660720HMCXTN06";
const BYCURP: &str = "/api/curp/bycurp";

fn error_of(v: &Value) -> String {
    v["error"].as_str().unwrap_or_default().to_string()
}

// --- admin API ---------------------------------------------------------------

// An error repeats what the request sent (a sandbox header's value, a
// namespace) cut at 256 bytes, as it does a path: a 16 KB header comes
// back as its first 256 bytes and its length, not whole.
#[tokio::test]
async fn a_sandbox_headers_long_value_is_cut_in_the_error_that_repeats_it() {
    let sb = Sandbox::start().await;
    let long = "z".repeat(16 * 1024);
    let body = json!({ "curp": CURP });
    for (header, value) in [
        ("x-sandbox-namespace", long.clone()),
        ("x-sandbox-scenario", long.clone()),
        ("x-sandbox-latency", long.clone()),
        ("x-sandbox-fault", long.clone()),
    ] {
        let r = sb
            .post(BYCURP, &[("apikey", "k"), (header, &value)], body.clone())
            .await;
        assert_eq!(r.status, 400, "{header}: {}", r.text());
        let text = r.text();
        assert!(text.len() < 2048, "{header}: {} bytes", text.len());
        assert!(text.contains("(16384 bytes)"), "{header}: {text}");
    }
    // A header sent twice with two long values: each is cut.
    let r = sb
        .send(
            "POST",
            BYCURP,
            &[
                ("apikey", "k"),
                ("content-type", "application/json"),
                ("x-sandbox-scenario", &long),
                ("x-sandbox-scenario", &"y".repeat(16 * 1024)),
            ],
            body.to_string(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().len() < 2048, "{} bytes", r.text().len());
}

// README, Admin API: `POST /__admin/overrides` takes `path`, "any of an
// endpoint's paths"; "bad input gets 400 `{"error": "…"}`". A path the
// provider does not have is refused, the error listing its paths, and
// nothing is added.
#[tokio::test]
async fn an_override_on_a_path_its_provider_lacks_is_400_listing_its_paths() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "path": "/api/curp/byname", "scenario": "not_found"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let e = error_of(&r.json());
    assert!(e.contains("/api/curp/byname") && e.contains(BYCURP), "{e}");
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
}

// README, Admin API: "bad input gets 400 `{"error": "…"}`. Every route takes
// `?namespace=NAME`"; a namespace name is "1–64 letters, digits, `-`, `_` or
// `.`". The async provider's own admin routes refuse a name it cannot have,
// and a webhook PUT whose body is not JSON, with the sandbox's 400.
#[tokio::test]
async fn a_providers_admin_route_refuses_a_bad_namespace_and_an_unreadable_body() {
    let sb = Sandbox::start().await;
    for path in [
        "/__admin/verifications?namespace=no%20spaces",
        "/__admin/webhooks?namespace=no%20spaces",
        "/__admin/webhooks/deliveries?namespace=no%20spaces",
    ] {
        let r = sb.get(path, &[]).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(
            error_of(&r.json()).contains("namespace"),
            "{path}: {}",
            r.text()
        );
    }
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/k",
            &[("content-type", "application/json")],
            r#"{"url": "http://127.0.0.1:1/h""#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!error_of(&r.json()).is_empty(), "{}", r.text());
    assert_eq!(sb.admin_get("/__admin/webhooks").await, json!([]));
}

// README, Sandbox request headers: namespaces are "created on first use, at
// most 1,024 at once besides `default`"; Decisions: "a provider request, an
// override, a clock change or a webhook registration makes it". At the cap,
// an override or a webhook registration in a new namespace is refused (400,
// saying how to free one), and nothing is stored.
#[tokio::test]
async fn at_the_namespace_cap_an_override_or_a_webhook_in_a_new_namespace_is_400() {
    let sb = Sandbox::start().await;
    // `default`, which takes no place, and 1,024 more.
    assert_eq!(
        sb.post(BYCURP, &[("apikey", "k")], json!({ "curp": CURP }))
            .await
            .status,
        200
    );
    for i in 0..MAX_NAMESPACES {
        let ns = format!("n{i}");
        let r = sb
            .post(
                BYCURP,
                &[("apikey", "k"), ("x-sandbox-namespace", &ns)],
                json!({ "curp": CURP }),
            )
            .await;
        assert_eq!(r.status, 200, "{ns}: {}", r.text());
    }
    let r = sb
        .admin_post(
            "/__admin/overrides?namespace=full",
            json!({"provider": "curpv5", "scenario": "not_found"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        error_of(&r.json()).contains("too many namespaces"),
        "{}",
        r.text()
    );
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/k?namespace=full",
            &[("content-type", "application/json")],
            r#"{"url": "http://127.0.0.1:1/h"}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        error_of(&r.json()).contains("too many namespaces"),
        "{}",
        r.text()
    );
    assert_eq!(
        sb.admin_get("/__admin/overrides?namespace=full").await,
        json!([])
    );
    assert_eq!(
        sb.admin_get("/__admin/webhooks?namespace=full").await,
        json!([])
    );
}

// --- engine errors -----------------------------------------------------------

// README, The scenario files: "The engine's own errors (404, 405, 413 and a
// body that cannot be read, in the provider's shape or, outside every
// provider, the sandbox's)"; README, Sandbox request headers: "the engine's
// own errors name their kind". A body over the limit on a path no provider
// owns gets the sandbox's 413 `{"error"}`, scenario `payload_too_large`,
// and is journaled.
#[tokio::test]
async fn a_body_over_the_limit_outside_every_provider_gets_the_sandboxs_413() {
    let sb = Sandbox::start_with(Config {
        body_limit: 64,
        ..config()
    })
    .await;
    let r = sb
        .send(
            "POST",
            "/elsewhere",
            &[("content-type", "application/json")],
            format!(r#"{{"pad": "{}"}}"#, "x".repeat(200)),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.scenario(), "payload_too_large");
    let b = r.json();
    assert_eq!(
        b,
        json!({"error": "the request body is larger than 64 bytes"}),
        "{b}"
    );
    let journal = sb.admin_get("/__admin/requests").await;
    assert_eq!(journal.as_array().map(Vec::len), Some(1), "{journal}");
    assert_eq!(journal[0]["status"], 413);
    assert_eq!(journal[0]["scenario"], "payload_too_large");
    // A path a few edits from an endpoint is that endpoint's provider's, as
    // its 404 is: async's `{code, message}` (the document spells the
    // endpoint `AsyncVerication`).
    let r = sb
        .send(
            "POST",
            "/api/AsyncVerification/NssByCurp",
            &[("content-type", "application/json")],
            format!(r#"{{"pad": "{}"}}"#, "x".repeat(200)),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.json().get("code").is_some(), "{}", r.text());
}

// --- command line ------------------------------------------------------------

// README, Command line: "A `--fixtures` or `--scenarios` folder that does not
// exist … stops the server before it binds, exit 1" (the fixtures case is
// tested; this is the scenarios one).
#[test]
fn serve_with_a_scenarios_folder_that_does_not_exist_exits_1() {
    refused_with(
        &["serve", "--port", "0", "--scenarios", "/no/such/scenarios"],
        &["configuration refused: --scenarios /no/such/scenarios: cannot read folder: no such folder"],
    );
}

// README, Command line: `--port` is the port to bind. One another process
// holds cannot be bound: the server says so and exits 1, rather than
// printing a ready line or hanging.
#[test]
fn serve_on_a_port_already_taken_exits_1_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let stderr = refused_with(
        &["serve", "--host", "127.0.0.1", "--port", &port],
        &[&format!("127.0.0.1:{port}")],
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(taken);
}

// README, Command line: `--header-timeout D` is a duration "more than 0";
// `--time-scale F` "at most 1,000,000". Each flag it could not honour is
// refused by name, exit 1 (the zero timeout and a negative scale are tested
// elsewhere; these are the other branches).
#[test]
fn serve_refuses_an_unreadable_header_timeout_and_a_scale_past_the_limit() {
    for (args, needle) in [
        (
            &["serve", "--port", "0", "--header-timeout", "soon"][..],
            "--header-timeout: 'soon' is not a duration",
        ),
        (
            &["serve", "--port", "0", "--time-scale", "1000001"][..],
            "--time-scale: must be a number from 0 to 1000000",
        ),
        (
            &["serve", "--port", "0", "--time-scale", "NaN"][..],
            "--time-scale: must be a number from 0 to 1000000",
        ),
        (
            &["serve", "--port", "0", "--time-scale", "inf"][..],
            "--time-scale: must be a number from 0 to 1000000",
        ),
    ] {
        refused_with(args, &[needle]);
    }
}

// README, Other commands: `check DIR` "exits 1 on error (and for a folder
// with neither, or with both …)". A folder holding a scenario file and a
// fixture file is refused, saying so.
#[test]
fn check_refuses_a_folder_holding_both_kinds_of_file() {
    let dir = temp_dir("hee-both");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(dir.join("curpv5.yaml"), shipped("scenarios", "curpv5.yaml")).unwrap();
    std::fs::write(dir.join("names.yaml"), shipped("fixtures", "names.yaml")).unwrap();
    refused_with(
        &["check", dir.to_str().unwrap()],
        &["holds both scenario and fixture files"],
    );
}

// README, Other commands: `check DIR` exits 1 "for a flag of `DIR`'s own
// kind, which would be ignored".
#[test]
fn check_refuses_a_flag_of_the_folders_own_kind() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (dir, flag, other) in [
        ("scenarios", "--scenarios", "--fixtures"),
        ("fixtures", "--fixtures", "--scenarios"),
    ] {
        let dir = format!("{root}/{dir}");
        refused_with(
            &["check", &dir, flag, "/no/such"],
            &[&format!("and {flag} gives"), other],
        );
    }
}

// README, Other commands: `check DIR` … "a misnamed file in a folder of the
// other kind is named as such"; README, The scenario files: a file must be
// named after its provider. A folder whose YAML files are named after no
// provider and no fixture is refused, naming its first file and both kinds'
// names (README audit: persona.yaml alone was read as a scenario file).
#[test]
fn check_names_a_file_named_after_no_provider_and_no_fixture() {
    let dir = temp_dir("hee-misnamed");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(dir.join("curp5.yaml"), shipped("scenarios", "curpv5.yaml")).unwrap();
    std::fs::write(dir.join("persona.yml"), "- curp: PXNE660720HMCXTN06\n").unwrap();
    let named = format!("named after {}", crate::common::provider_ids().join(", "));
    refused_with(
        &["check", dir.to_str().unwrap()],
        &[
            "curp5.yaml: no provider 'curp5' and no fixture file 'curp5'",
            &named,
            "fixture files are named credentials.yaml, catalogs.yaml, names.yaml, personas.yaml",
        ],
    );
    std::fs::remove_file(dir.join("curp5.yaml")).unwrap();
    refused_with(
        &["check", dir.to_str().unwrap()],
        &["persona.yml: no provider 'persona' and no fixture file 'persona'"],
    );
    // Served as scenarios, such a file is named as a scenario file (README,
    // The scenario files: "in a `--scenarios` folder one named after no
    // provider"), and one in another case is told so.
    let dir = temp_dir("hee-misnamed-scenarios");
    let _gone = RemovedOnDrop(dir.clone());
    let scenarios = ["serve", "--port", "0", "--scenarios", dir.to_str().unwrap()];
    for (file, said) in [
        (
            "curp5.yaml",
            format!("curp5.yaml: no provider 'curp5'; scenario files are {named}"),
        ),
        (
            "CURPV5.yaml",
            "CURPV5.yaml: write the name in lower case (curpv5.yaml): files are read by that name"
                .to_string(),
        ),
    ] {
        std::fs::write(dir.join(file), shipped("scenarios", "curpv5.yaml")).unwrap();
        refused_with(&scenarios, &["configuration refused: ", &said]);
        std::fs::remove_file(dir.join(file)).unwrap();
    }
}

// README, The scenario files: "bad statuses (… a 204 or 304 with a body,
// which HTTP would drop) … are refused with file, line and field".
#[test]
fn check_refuses_a_204_or_304_scenario_with_a_body() {
    for status in ["204", "304"] {
        let dir = temp_dir("hee-204");
        let _gone = RemovedOnDrop(dir.clone());
        let c = shipped("scenarios", "curpv5.yaml");
        let from = "        status: 503\n        body: {error: CURPSV006";
        assert!(c.contains(from));
        let text = c.replacen(
            from,
            &format!("        status: {status}\n        body: {{error: CURPSV006"),
            1,
        );
        std::fs::write(dir.join("curpv5.yaml"), &text).unwrap();
        let line = text
            .lines()
            .position(|l| {
                l == "        body: {error: CURPSV006, message: \"Service is not available.\"}"
            })
            .unwrap()
            + 1;
        refused_with(
            &["check", dir.to_str().unwrap()],
            &[
                &format!("curpv5.yaml:{line}:"),
                "endpoints.bycurp.scenarios.unavailable.body",
                &format!("a {status} "),
                "answer has no body (HTTP sends none)",
            ],
        );
    }
}

// README, The scenario files: "A path two endpoints claim is reported in
// the user's file, at that path, naming the other endpoint and its file".
// (The location is tested elsewhere; here, that the message names the
// other provider's endpoint and its file.)
#[test]
fn a_path_clash_names_the_other_provider() {
    let dir = temp_dir("hee-clash");
    let _gone = RemovedOnDrop(dir.clone());
    let c = shipped("scenarios", "curpv5.yaml");
    let from = "    method: POST\n    paths: [/api/curp/bycurp]";
    assert!(c.contains(from));
    let text = c.replacen(
        from,
        "    method: [POST, GET]\n    paths: [/api/curp/bycurp, \"/api/v1/imss/nss/{x}\"]",
        1,
    );
    std::fs::write(dir.join("curpv5.yaml"), &text).unwrap();
    refused_with(
        &["check", dir.to_str().unwrap()],
        &["curpv5.yaml", "nss", "nss.yaml"],
    );
}

// README, Other commands: "`--fixtures DIR` and `--scenarios DIR` … apply to
// all four [curp commands]: the people and scenarios as `serve` reads them,
// refused as `serve` refuses them." A scenarios folder that does not exist
// stops `curp check`, exit 1, naming it (and not blaming the embedded
// scenario files, which were not the ones read). A fixtures folder that
// cannot be read, with the scenarios embedded, is named by its flag alike, without the note about the embedded scenario
// files (which helps when a persona names a scenario they lack).
#[test]
fn curp_with_a_folder_that_does_not_exist_exits_1_naming_it() {
    for flag in ["--scenarios", "--fixtures"] {
        let stderr = refused_with(
            &["curp", flag, "/no/such/folder", "check", CURP],
            &[&format!(
                "mxid-sandbox: {flag} /no/such/folder: cannot read folder: no such folder"
            )],
        );
        assert!(
            !stderr.contains("read with the embedded scenario files"),
            "{stderr}"
        );
    }
}

// `check DIR --scenarios DIR2` (or `--fixtures`) names the companion folder
// it cannot read after its flag, as `serve` does.
#[test]
fn check_names_the_companion_folder_it_cannot_read_after_its_flag() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (dir, flag) in [("fixtures", "--scenarios"), ("scenarios", "--fixtures")] {
        let dir = format!("{root}/{dir}");
        refused_with(
            &["check", &dir, flag, "/no/such/folder"],
            &[&format!(
                "mxid-sandbox: {flag} /no/such/folder: cannot read folder: no such folder"
            )],
        );
    }
}

// A value the environment gave (`MXID_PORT` in a CI file) is refused
// naming the flag, as clap and the sandbox name flags, and saying which
// variable it came from: the flag is nowhere on the command line. A flag
// that is on it: the refusal says nothing of the variable it overrides,
// and the line of what the environment gave says the variable was not read.
#[test]
fn a_refused_value_from_the_environment_names_its_variable() {
    use crate::engine::run_with_env;
    let from_env = |var: &str| format!("the value is {var}'s, from the environment");
    // The command, the variable and its value, the exit code, what stderr says.
    type Case<'a> = (&'a [&'a str], (&'a str, &'a str), i32, &'a [&'a str]);
    let cases: [Case; 6] = [
        (
            &["serve"],
            ("MXID_PORT", "abc"),
            2,
            &["invalid value 'abc' for '--port <PORT>'", "tip: "],
        ),
        (
            &["curp", "person", CURP],
            ("MXID_SEED", "x"),
            2,
            &["'--seed <SEED>'"],
        ),
        (
            &["serve", "--port", "0"],
            ("MXID_LATENCY", "fast"),
            1,
            &["mxid-sandbox: --latency: latency 'fast'"],
        ),
        (
            &["serve", "--port", "0"],
            ("MXID_SCENARIOS", "/no/such/scenarios"),
            1,
            &["--scenarios /no/such/scenarios: cannot read folder: no such folder ("],
        ),
        (
            &["serve", "--port", "0"],
            ("MXID_HOST", " "),
            1,
            &["mxid-sandbox: --host: empty: name an address to bind"],
        ),
        (
            &["scenarios"],
            ("MXID_SCENARIOS", "/no/such/scenarios"),
            1,
            &["mxid-sandbox: --scenarios /no/such/scenarios: cannot read folder"],
        ),
    ];
    for (args, (var, value), code, needles) in cases {
        let out = run_with_env(args, &[(var, value)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{var}: {stderr}");
        for n in needles.iter().copied().chain([from_env(var).as_str()]) {
            assert!(stderr.contains(n), "{var}: no {n:?} in {stderr}");
        }
    }
    for args in [
        &["serve", "--port", "0", "--latency", "fast"][..],
        &["serve", "--port", "0", "--latency=fast"][..],
    ] {
        let out = run_with_env(args, &[("MXID_LATENCY", "fast")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("--latency: latency 'fast'"), "{stderr}");
        assert!(
            !stderr.contains(&from_env("MXID_LATENCY")),
            "{args:?}: {stderr}"
        );
        // The line of what the environment gave says it was not read.
        let first = stderr.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "mxid-sandbox: from the environment: none; not read: MXID_LATENCY (--latency given)",
            "{args:?}: {stderr}"
        );
    }
}

// README, Command line: "Either error about a value its `MXID_` variable
// gave … says so": clap's refusal of text that is not UTF-8 names no
// argument, so the variables that hold such text are named in a `tip:`.
#[test]
fn a_variable_that_is_not_utf8_is_named() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let run = |args: &[&OsStr], env: &[(&str, &[u8])]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mxid-sandbox"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MXID_")) {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, OsStr::from_bytes(v));
        }
        let out = cmd.args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let tip = |var: &str| format!("tip: the value of {var}, from the environment, is not UTF-8");
    let serve = ["serve".as_ref(), "--port".as_ref(), "0".as_ref()];
    let (code, stderr) = run(&serve, &[("MXID_SEED", b"\xff"), ("MXID_NOPE", b"\xff")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&tip("MXID_SEED")), "{stderr}");
    // A variable no flag reads is not where to look.
    assert!(!stderr.contains("MXID_NOPE"), "{stderr}");
    // Nor one whose flag the command line gives: the bad text is its own.
    let args = [
        "serve".as_ref(),
        "--seed".as_ref(),
        "1".as_ref(),
        "--host".as_ref(),
        OsStr::from_bytes(b"a\xff"),
    ];
    let (code, stderr) = run(&args, &[("MXID_SEED", b"\xff")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid UTF-8"), "{stderr}");
    assert!(!stderr.contains("tip:"), "{stderr}");
}

// README, The scenario files: "Every file is validated at startup, on reload
// and by `check` … refused with file, line and field". A path the router
// cannot take (two parameters in one segment, an unclosed one, a catch-all
// not at the end) is refused at the path, with the router's reason, not
// loaded or panicked on.
#[test]
fn a_path_the_router_cannot_take_is_refused_at_its_line() {
    for (bad, why) in [
        ("/api/curp/{a}{b}", "one parameter"),
        ("/api/curp/{x", "valid name"),
        ("/api/curp/{*rest}/x", "at the end"),
    ] {
        let dir = temp_dir("hee-route");
        let _gone = RemovedOnDrop(dir.clone());
        let c = shipped("scenarios", "curpv5.yaml");
        let from = "    paths: [/api/curp/bycurp]";
        assert!(c.contains(from));
        let text = c.replacen(
            from,
            &format!("    paths: [/api/curp/bycurp, \"{bad}\"]"),
            1,
        );
        std::fs::write(dir.join("curpv5.yaml"), &text).unwrap();
        let line = text.lines().position(|l| l.contains(bad)).unwrap() + 1;
        let stderr = refused_with(
            &["check", dir.to_str().unwrap()],
            &[
                &format!("curpv5.yaml:{line}:"),
                "endpoints.bycurp.paths",
                bad,
                why,
            ],
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

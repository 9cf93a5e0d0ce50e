//! The admin API (`/__admin`) against the real server: overrides, journal,
//! counters, clock, reset, reload, health, namespaces, the admin token.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};

use crate::common::{config, provider_requests, temp_dir, Resp, Sandbox, ADMIN_READS};

use mxid_sandbox::engine::clock::Start;
use mxid_sandbox::engine::latency::Latency;
use mxid_sandbox::engine::namespace::MAX_NAMESPACES;
use mxid_sandbox::time::Timestamp;
use mxid_sandbox::{Config, Source};

mod model;
mod namespace_life;

const PATH: &str = "/api/curp/bycurp";
const KEY: (&str, &str) = ("apikey", "test-key");
const CURP: &str = "PXNE660720HMCXTN06";
const OTHER_CURP: &str = "SOCH790615MPLTVR04";

async fn bycurp(sb: &Sandbox, curp: &str) -> Resp {
    sb.post(PATH, &[KEY], json!({ "curp": curp })).await
}

async fn bycurp_in(sb: &Sandbox, ns: &str, curp: &str) -> Resp {
    sb.post(
        PATH,
        &[KEY, ("x-sandbox-namespace", ns)],
        json!({ "curp": curp }),
    )
    .await
}

/// Asserts a 400 in the sandbox's shape whose message mentions `needle`.
fn assert_bad(r: &Resp, needle: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    let b = r.json();
    let msg = b["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {b}"));
    assert!(msg.contains(needle), "'{msg}' should mention '{needle}'");
}

fn ids(entries: &Value) -> Vec<u64> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn health() {
    let sb = Sandbox::start().await;
    assert_eq!(
        sb.admin_get("/__admin/health").await,
        json!({"status": "ok"})
    );
    // A trailing slash is the same route; two are not, as on provider
    // routes.
    assert_eq!(sb.get("/__admin/health/", &[]).await.status, 200);
    assert_eq!(sb.get("/__admin/health//", &[]).await.status, 404);
    // A DELETE takes none: `overrides/5/` is no route for it, so a GET
    // there is a 404, not a 405 offering a DELETE that would be a 404 too.
    assert_eq!(sb.get("/__admin/overrides/5", &[]).await.status, 405);
    let r = sb.get("/__admin/overrides/5/", &[]).await;
    assert_eq!(r.status, 404, "{:?} {}", r.headers.get("allow"), r.text());
}

// SPEC (admin API): "JSON in and out": every admin answer with a body,
// success or refusal, a listing, an engine route's or a module's, says it
// is JSON.
#[tokio::test]
async fn every_admin_answer_says_it_is_json() {
    let sb = Sandbox::start().await;
    let json_type = Some("application/json; charset=utf-8");
    for path in [
        "/__admin/health",
        "/__admin/scenarios",
        "/__admin/requests",
        "/__admin/counters",
        "/__admin/clock",
        "/__admin/overrides",
        "/__admin/verifications",
        "/__admin/webhooks",
        "/__admin/nothing",
        "/__admin/requests?bogus=1",
    ] {
        let r = sb.get(path, &[]).await;
        assert_eq!(
            r.header("content-type"),
            json_type,
            "GET {path}: {}",
            r.status
        );
    }
    for body in [
        json!({"provider": "curpv5", "scenario": "not_found"}),
        json!({"provider": "nope", "scenario": "x"}),
    ] {
        let r = sb.admin_post("/__admin/overrides", body).await;
        assert_eq!(r.header("content-type"), json_type, "POST {}", r.status);
    }
    let r = sb.send("PUT", "/__admin/health", &[], "").await;
    assert_eq!((r.status, r.header("content-type")), (405, json_type));
}

#[tokio::test]
async fn unknown_admin_route_is_404_and_wrong_method_405() {
    let sb = Sandbox::start().await;
    let r = sb.get("/__admin/nothing", &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());
    let r = sb.get("/__admin", &[]).await;
    assert_eq!(r.status, 404);

    let r = sb.send("PUT", "/__admin/health", &[], "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    // HEAD is GET without the body, on the engine's routes and a module's.
    for path in ["/__admin/health", "/__admin/verifications"] {
        let r = sb.send("HEAD", path, &[], "").await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.is_empty(), "{path}");
        assert!(r.header("content-length").is_some(), "{path}");
    }
    assert!(r.json()["error"].is_string());

    let r = sb.send("PATCH", "/__admin/overrides", &[], "").await;
    assert_eq!(r.status, 405);
    let allow = r.header("allow").unwrap();
    for m in ["GET", "POST", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
}

// README, Decisions: `HEAD` is served wherever `GET` is, "the same answer as
// a `GET` (whose body, if one is sent, is not read)": on the admin API too.
#[tokio::test]
async fn an_admin_head_or_get_does_not_read_a_body_sent_with_it() {
    let sb = Sandbox::start().await;
    for method in ["HEAD", "GET"] {
        for (path, ctype, body) in [
            ("/__admin/health", "application/json", "{not json"),
            ("/__admin/requests", "application/xml", "<a/>"),
        ] {
            let r = sb
                .send(method, path, &[("content-type", ctype)], body)
                .await;
            assert_eq!(
                r.status,
                200,
                "{method} {path} with a {ctype} body: the body is not read ({})",
                r.text()
            );
        }
    }
}

// The same for the routes a provider module adds to the admin API (the
// async service's webhooks): a GET, HEAD or DELETE does not read a body
// sent with it; a PUT's body that cannot be read is refused as such, not
// taken for an empty one.
#[tokio::test]
async fn a_modules_admin_route_reads_a_body_only_where_one_is_sent() {
    let sb = Sandbox::start().await;
    let garbage = [("content-type", "application/json")];
    for (method, path, status) in [
        ("GET", "/__admin/webhooks", 200),
        ("HEAD", "/__admin/webhooks/deliveries", 200),
        ("GET", "/__admin/verifications", 200),
        ("DELETE", "/__admin/webhooks/some-key", 404),
    ] {
        let r = sb.send(method, path, &garbage, "{not json").await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
    }
    let r = sb
        .send("PUT", "/__admin/webhooks/some-key", &garbage, "{not json")
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let why = r.json()["error"].as_str().unwrap().to_string();
    assert!(why.contains("not valid JSON"), "{why}");
}

#[tokio::test]
async fn scenario_catalog() {
    let sb = Sandbox::start().await;
    let catalog = sb.admin_get("/__admin/scenarios").await;
    let rows = catalog.as_array().unwrap();
    let success = rows
        .iter()
        .find(|r| r["provider"] == "curpv5" && r["name"] == "success")
        .expect("curpv5 success is listed");
    let mut k: Vec<&str> = success
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    assert_eq!(k, ["description", "method", "name", "path", "provider"]);
    assert_eq!(success["method"], "POST");
    assert_eq!(success["path"], PATH);
    assert!(!success["description"].as_str().unwrap().is_empty());
    for name in [
        "not_found",
        "deceased",
        "renapo_01_06",
        "missing_credentials",
    ] {
        assert!(rows.iter().any(|r| r["name"] == name), "{name}");
    }
}

#[tokio::test]
async fn admin_token() {
    let sb = Sandbox::start_with(Config {
        admin_token: Some("s3cret".into()),
        ..config()
    })
    .await;
    let r = sb.get("/__admin/health", &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.json()["error"].is_string());
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = sb
        .get("/__admin/health", &[("authorization", "Bearer wrong")])
        .await;
    assert_eq!(r.status, 401);
    let r = sb
        .get("/__admin/health", &[("authorization", "Bearer s3cret")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "ok"}));
    // The scheme in any case; the token exactly.
    let r = sb
        .get("/__admin/health", &[("authorization", "bearer s3cret")])
        .await;
    assert_eq!(r.status, 200);
    for wrong in ["Bearer S3CRET", "Basic s3cret", "Bearers3cret", "s3cret"] {
        let r = sb.get("/__admin/health", &[("authorization", wrong)]).await;
        assert_eq!(r.status, 401, "{wrong}");
    }
    // Provider routes do not need it.
    assert_eq!(bycurp(&sb, CURP).await.status, 200);
    // Nor a path that only begins like the admin API's: it is no admin
    // route, but an unknown path, answered and journaled as one.
    for path in ["/__adminx", "/__admin-x/health"] {
        let r = sb.get(path, &[]).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_eq!(r.json()["error"], format!("no endpoint at GET {path}"));
    }
    let journal = sb
        .get("/__admin/requests", &[("authorization", "Bearer s3cret")])
        .await
        .json();
    let paths: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/api/curp/bycurp", "/__adminx", "/__admin-x/health"]
    );
}

// --- admin requests over the body limit --------------------------------------

/// A sandbox with a 64-byte `--body-limit` (and `config`'s other settings).
pub async fn with_a_64_byte_body_limit(config: Config) -> Sandbox {
    Sandbox::start_with(Config {
        body_limit: 64,
        ..config
    })
    .await
}

/// `POST /__admin/overrides` with a body over a 64-byte `--body-limit`.
async fn add_override_over_64_bytes(sb: &Sandbox) -> Resp {
    let body = format!(
        r#"{{"provider": "curpv5", "scenario": "success", "pad": "{}"}}"#,
        "x".repeat(100)
    );
    sb.send(
        "POST",
        "/__admin/overrides",
        &[("content-type", "application/json")],
        body,
    )
    .await
}

// README, `--latency` row: "latency for every provider response, errors
// included (not the admin API's)"; README, "The scenario files": "The admin
// API and the sandbox's own 400s … answer at once"; README, Admin API: "any
// admin route, body over `--body-limit`": 413 "at once (not journaled, no
// latency)". The admin API's 413 does not wait the providers' `--latency`
// (20 s: far past any stall of a busy machine).
#[tokio::test]
async fn an_admin_request_over_the_body_limit_is_answered_at_once_not_after_the_global_latency() {
    let sb = with_a_64_byte_body_limit(Config {
        latency: Some("20s".parse().unwrap()),
        ..config()
    })
    .await;
    let started = Instant::now();
    let r = add_override_over_64_bytes(&sb).await;
    let took = started.elapsed();
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        took < Duration::from_secs(10),
        "the admin API's 413 waited the providers' --latency: {took:?}"
    );
}

// SPEC §7: the journal is what the integration called (the provider
// requests); `journal_records_and_filters` pins "Admin calls are not
// journaled", and README, Admin API, "any admin route, body over
// `--body-limit`": "(not journaled, …)". An admin call refused 413 is no
// exception.
#[tokio::test]
async fn an_admin_request_over_the_body_limit_is_not_journaled() {
    let sb = with_a_64_byte_body_limit(config()).await;
    let r = add_override_over_64_bytes(&sb).await;
    assert_eq!(r.status, 413, "{}", r.text());
    let journal = sb.admin_get("/__admin/requests").await;
    assert_eq!(journal, json!([]), "an admin call was journaled");
}

// README, `--admin-token` row: "`/__admin` then requires `Authorization:
// Bearer T` (…; otherwise 401 with `WWW-Authenticate: Bearer`)"; README,
// Admin API: "any admin route, body over `--body-limit`": "401 without the
// `--admin-token`, else 413". The token is checked before the body's size.
#[tokio::test]
async fn an_admin_request_without_the_token_is_401_even_with_a_body_over_the_limit() {
    let sb = with_a_64_byte_body_limit(Config {
        admin_token: Some("s3cret".into()),
        ..config()
    })
    .await;
    let r = add_override_over_64_bytes(&sb).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
}

// --- overrides ----------------------------------------------------------

#[tokio::test]
async fn override_sticky_then_cleared() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "unavailable"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let o = r.json();
    assert!(o["id"].is_u64());
    assert_eq!(o["provider"], "curpv5");
    assert_eq!(o["scenario"], "unavailable");
    assert_eq!(o["times"], Value::Null);
    for _ in 0..3 {
        let r = bycurp(&sb, CURP).await;
        assert_eq!(r.status, 503);
        assert_eq!(r.json()["error"], "CURPSV006");
        assert_eq!(r.scenario(), "unavailable");
    }
    let list = sb.admin_get("/__admin/overrides").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let r = sb.admin_delete("/__admin/overrides").await;
    assert_eq!(r.status, 200);
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
    assert_eq!(bycurp(&sb, CURP).await.status, 200);
}

#[tokio::test]
async fn override_times_run_out_then_realistic() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "deceased", "times": 2}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let o = r.json();
    assert_eq!(o["times"], 2);
    assert_eq!(o["remaining"], 2);

    let r = bycurp(&sb, CURP).await;
    assert_eq!(r.json()["curpStatus"], "BD");
    let list = sb.admin_get("/__admin/overrides").await;
    assert_eq!(list[0]["remaining"], 1);
    let r = bycurp(&sb, CURP).await;
    assert_eq!(r.scenario(), "deceased");
    // Used up: gone from the list, and the realistic path answers again.
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
    let r = bycurp(&sb, CURP).await;
    assert_eq!(r.scenario(), "success");
    let r = bycurp(&sb, "BAD").await;
    assert_eq!(r.scenario(), "invalid_format");
}

#[tokio::test]
async fn overrides_newest_first_and_delete_one() {
    let sb = Sandbox::start().await;
    let a = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "timeout"}),
        )
        .await
        .json();
    let b = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "internal_error"}),
        )
        .await
        .json();
    assert_ne!(a["id"], b["id"]);
    assert_eq!(bycurp(&sb, CURP).await.status, 500);
    let r = sb
        .admin_delete(&format!("/__admin/overrides/{}", b["id"]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(bycurp(&sb, CURP).await.status, 504);
    // Deleting it again, or an id that never was: 404.
    let r = sb
        .admin_delete(&format!("/__admin/overrides/{}", b["id"]))
        .await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());
    assert_eq!(sb.admin_delete("/__admin/overrides/abc").await.status, 404);
    // An id left empty is not "clear them all".
    let r = sb.admin_delete("/__admin/overrides/").await;
    assert_eq!(r.status, 404, "{}", r.text());
    let list = sb.admin_get("/__admin/overrides").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], a["id"]);
}

#[tokio::test]
async fn path_scoped_override() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "path": PATH, "scenario": "not_found", "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["path"], PATH);
    // The path is matched without regard to case, like the provider's routes.
    let r = sb
        .post("/api/Curp/byCurp", &[KEY], json!({ "curp": CURP }))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "CURPSV009");
    assert_eq!(bycurp(&sb, CURP).await.status, 200);

    // An override for a path the provider does not have is refused.
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "path": "/api/curp/byname", "scenario": "not_found"}),
        )
        .await;
    assert_bad(&r, "/api/curp/byname");
}

// An override's `path` is read as the router reads a request's: a trailing
// slash names the same endpoint, and a request sent with one is found by the
// journal's `path` filter without it.
#[tokio::test]
async fn an_overrides_path_and_the_journals_filter_forgive_a_trailing_slash() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "path": "/api/curp/bycurp/", "scenario": "not_found", "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["path"], "/api/curp/bycurp");
    let r = sb
        .post("/api/curp/bycurp/", &[KEY], json!({ "curp": CURP }))
        .await;
    assert_eq!(r.scenario(), "not_found", "{}", r.text());
    sb.journaled(1).await;
    let entries = sb
        .admin_get("/__admin/requests?path=/api/curp/bycurp")
        .await;
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["path"], "/api/curp/bycurp/");
}

// README, Admin API: an override's `path` "is any of an endpoint's paths and
// the override answers on all of them" (that endpoint's); SPEC §7 "answer
// that provider (or one path of it)". nss paths are case-sensitive, so
// `GET /api/v1/imss/nss/TEST_CASE` is an execution read on the `{id}` route
// (README nss table): an override scoped to the test-case route
// (`/api/v1/imss/nss/test_case`) neither answers it nor is spent by it.
#[tokio::test]
async fn a_path_scoped_override_is_not_spent_by_another_endpoint_of_the_provider() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "nss", "path": "/api/v1/imss/nss/test_case", "scenario": "invalid_credentials", "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // An execution id that happens to be spelled TEST_CASE: the {id} route.
    let r = sb
        .get("/api/v1/imss/nss/TEST_CASE", &[("x-api-key", "k")])
        .await;
    assert_eq!(r.scenario(), "unknown_id", "{} {}", r.status, r.text());
    // The override is still there for the test-case route.
    let left = sb.admin_get("/__admin/overrides").await;
    assert_eq!(left[0]["remaining"], 1, "{left}");
}

// README, Admin API: without `path` an override "answers on every endpoint
// of the provider that has the scenario, and a request to one that has not
// answers as if there were no override and spends none of its `times`".
#[tokio::test]
async fn a_provider_wide_override_skips_the_endpoints_without_its_scenario() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "validacurp", "scenario": "unavailable", "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let bearer = [("authorization", "Bearer any")];
    let body = json!({"curp": CURP});
    // validateCurpStructure has no `unavailable`: its own answer.
    let r = sb
        .post("/curp/validateCurpStructure", &bearer, body.clone())
        .await;
    assert_eq!((r.status, r.scenario()), (200, "success"), "{}", r.text());
    let left = sb.admin_get("/__admin/overrides").await;
    assert_eq!(left[0]["remaining"], 1, "{left}");
    // getData has: the override answers, once.
    let r = sb.post("/curp/getData", &bearer, body.clone()).await;
    assert_eq!(r.scenario(), "unavailable", "{}", r.text());
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
    let r = sb.post("/curp/getData", &bearer, body).await;
    assert_eq!(r.scenario(), "success", "{}", r.text());
}

// README, Admin API: "a path two endpoints share (nss's `POST
// /api/v1/imss/nss` and its `GET` history) names both, and the override
// answers on those of them that have the scenario, unless `method` ...
// names one". `missing_credentials` is a scenario of both: without a
// method, the history answers it too (it once fell to the query alone);
// with `GET`, only the history, and the query is its own.
#[tokio::test]
async fn an_override_on_a_shared_path_answers_on_both_endpoints_or_the_methods_one() {
    let sb = Sandbox::start().await;
    let nss = "/api/v1/imss/nss";
    let key = [("x-api-key", "k")];
    let history = || sb.get("/api/v2/imss/nss?page=1&itemsPerPage=5", &key);
    let query = || sb.post(nss, &key, json!({"curp": CURP}));
    let add = |body: Value| sb.admin_post("/__admin/overrides", body);
    let r = add(json!({"provider": "nss", "path": nss, "scenario": "missing_credentials"})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json().get("method").is_none(), "{}", r.text());
    assert_eq!(history().await.scenario(), "missing_credentials");
    assert_eq!(query().await.scenario(), "missing_credentials");
    // A reload that keeps both endpoints keeps the override on both.
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(history().await.scenario(), "missing_credentials");
    assert_eq!(query().await.scenario(), "missing_credentials");
    sb.admin_delete("/__admin/overrides").await;
    let r = add(
        json!({"provider": "nss", "path": nss, "method": "get", "scenario": "missing_credentials"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["method"], "GET", "{}", r.text());
    assert_eq!(sb.admin_get("/__admin/overrides").await[0]["method"], "GET");
    assert_eq!(history().await.scenario(), "missing_credentials");
    assert_eq!(query().await.scenario(), "success");
    // A HEAD names the GET endpoint that answers it.
    sb.admin_delete("/__admin/overrides").await;
    let r =
        add(json!({"provider": "nss", "path": nss, "method": "HEAD", "scenario": "page"})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["method"], "GET", "{}", r.text());
    // A method alone narrows a provider-wide override the same way.
    sb.admin_delete("/__admin/overrides").await;
    let r =
        add(json!({"provider": "nss", "method": "POST", "scenario": "missing_credentials"})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(history().await.scenario(), "page");
    assert_eq!(query().await.scenario(), "missing_credentials");
}

// The refusals of a path and a method: a method no endpoint at the path
// answers, a scenario none of the named endpoints has (naming the
// endpoints that have it, validacurp's `deceased` being getData's, not
// calculateCURP's), and a path the provider lacks (each path listed once).
#[tokio::test]
async fn an_override_for_a_method_or_scenario_the_path_lacks_is_400_saying_where_they_are() {
    let sb = Sandbox::start().await;
    let add = |body: Value| sb.admin_post("/__admin/overrides", body);
    let r = add(
        json!({"provider": "nss", "path": "/api/v1/imss/nss", "method": "PUT", "scenario": "page"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"],
        "nss has no 'PUT' endpoint at '/api/v1/imss/nss'; the methods there: POST, GET"
    );
    let r = add(json!({"provider": "nss", "path": "/api/v1/imss/nss", "method": "POST", "scenario": "page"})).await;
    assert_eq!(r.status, 400);
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        e.starts_with("unknown scenario 'page' for nss POST /api/v1/imss/nss; valid scenarios: "),
        "{e}"
    );
    assert!(
        e.ends_with(" ('page' is a scenario of GET /api/v1/imss/nss)"),
        "{e}"
    );
    let r = add(
        json!({"provider": "validacurp", "path": "/curp/calculateCURP", "scenario": "deceased"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains("for validacurp /curp/calculateCURP;"), "{e}");
    assert!(
        e.ends_with(" ('deceased' is a scenario of POST /curp/getData)"),
        "{e}"
    );
    assert!(r.json()["valid_scenarios"]
        .as_array()
        .is_some_and(|v| !v.contains(&json!("deceased"))));
    let r = add(json!({"provider": "nss", "path": "/api/v9/imss/nss", "scenario": "page"})).await;
    assert_eq!(r.status, 400);
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert_eq!(e.matches("/api/v1/imss/nss,").count(), 1, "{e}");
    // A method that is not a string.
    let r = add(json!({"provider": "nss", "method": 1, "scenario": "page"})).await;
    assert_eq!(
        r.json()["error"],
        "'method' must be a string such as \"GET\""
    );
    // Blank latency, fault and method are none, as blank headers are.
    let r = add(json!({"provider": "curpv5", "scenario": "success", "latency": "", "fault": " ", "method": ""})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    for k in ["latency", "fault", "method"] {
        assert!(r.json().get(k).is_none(), "{k}: {}", r.text());
    }
}

#[tokio::test]
async fn overrides_are_bounded_per_namespace() {
    // Every request looks through them.
    let sb = Sandbox::start().await;
    let max = mxid_sandbox::engine::overrides::MAX_OVERRIDES;
    let body = json!({"provider": "nss", "scenario": "not_found"});
    for _ in 0..max {
        assert_eq!(
            sb.admin_post("/__admin/overrides", body.clone())
                .await
                .status,
            201
        );
    }
    let r = sb.admin_post("/__admin/overrides", body.clone()).await;
    assert_bad(&r, "too many overrides");
    // Another namespace has its own; clearing makes room.
    let r = sb
        .admin_post("/__admin/overrides?namespace=other", body.clone())
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(sb.admin_delete("/__admin/overrides").await.status, 200);
    assert_eq!(sb.admin_post("/__admin/overrides", body).await.status, 201);
}

// README, Decisions ("What requests store is bounded across namespaces
// too"): the overrides of every namespace together hold at most 16 MB,
// beyond 64 KB each keeps whatever the others hold. An override holds its
// scenario's name, of any length in a user's file: 1,025 namespaces of
// 1,000 overrides of a 60 KB name would hold 60 GB.
#[tokio::test]
async fn the_overrides_of_every_namespace_together_are_bounded() {
    let name = "a".repeat(60_000);
    let yaml = include_str!("../scenarios/curpv5.yaml").replacen(
        "      active:\n",
        // An explicit key: YAML reads a plain one of at most 1,024
        // characters.
        &format!(
            "      ? {name}\n      :\n        description: long\n        status: 200\n        body: {{}}\n      active:\n"
        ),
        1,
    );
    let (sb, _gone) =
        crate::common::on_scenario_files("overrides-in-all", &[("curpv5.yaml", &yaml)]).await;
    let body = json!({"provider": "curpv5", "scenario": name});
    let add = |ns: &str| {
        let (sb, body) = (&sb, body.clone());
        let path = format!("/__admin/overrides?namespace={ns}");
        async move { sb.admin_post(&path, body).await }
    };
    // 16 MB of 60 KB each: some 280, fewer than a namespace's 1,000.
    let mut set = 0;
    let refused = loop {
        let r = add("a").await;
        if r.status != 201 {
            break r;
        }
        set += 1;
    };
    assert!((260..300).contains(&set), "{set} set");
    assert_eq!(refused.status, 507, "{}", refused.text());
    assert_eq!(
        refused.json()["error"],
        "no room for this override in what the overrides of every namespace may hold together (16 MB beyond the first 64 KB of each); delete some with DELETE /__admin/overrides, or free a namespace with POST /__admin/reset?namespace=NAME"
    );
    // Another namespace keeps its floor whatever a holds: one, not two.
    assert_eq!(add("b").await.status, 201);
    assert_eq!(add("b").await.status, 507);
    // Room comes back as a's go.
    assert_eq!(
        sb.admin_delete("/__admin/overrides?namespace=a")
            .await
            .status,
        200
    );
    assert_eq!(add("b").await.status, 201);
    assert_eq!(sb.admin_count("/__admin/overrides?namespace=b").await, 2);
}

#[tokio::test]
async fn an_override_on_any_of_an_endpoints_paths_answers_on_all_of_them() {
    // validacurp's methods are mounted twice (/curp/… and /api/v2/curp/…).
    let sb = Sandbox::start().await;
    let bearer = ("authorization", "Bearer t");
    let body = json!({ "curp": CURP });
    for given in ["/api/v2/curp/getData", "/curp/getData"] {
        let r = sb
            .admin_post(
                "/__admin/overrides",
                json!({"provider": "validacurp", "path": given, "scenario": "not_found", "times": 2}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["path"], "/curp/getData", "listed under the first");
        for path in ["/curp/getData", "/api/v2/curp/getData"] {
            let r = sb.post(path, &[bearer], body.clone()).await;
            assert_eq!(r.scenario(), "not_found", "{given} → {path}");
        }
        let r = sb.post("/curp/getData", &[bearer], body.clone()).await;
        assert_eq!(r.scenario(), "success", "spent");
    }
}

// README, Admin API: "`path` is any of an endpoint's paths and the override
// answers on all of them (listed under the first; a reload that keeps the
// endpoint's scenario keeps it on that endpoint, under its new first
// path)"; `POST /__admin/reload` keeps the overrides whose scenario the new
// files still have. An override on validacurp's getData survives a reload
// of a file that lists getData's two paths the other way round, is not in
// `dropped_overrides`, and still answers on both paths.
#[tokio::test]
async fn an_override_kept_by_a_reload_still_answers_on_all_of_its_endpoints_paths() {
    let original = include_str!("../scenarios/validacurp.yaml");
    let (sb, dir, file) = serving_a_file("reload-paths", "validacurp", original).await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "validacurp", "path": "/api/v2/curp/getData", "scenario": "not_found"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let swapped = original.replace(
        "paths: [/curp/getData, /api/v2/curp/getData]",
        "paths: [/api/v2/curp/getData, /curp/getData]",
    );
    assert_ne!(swapped, original);
    std::fs::write(&file, swapped).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["dropped_overrides"], json!([]), "kept");
    for path in ["/curp/getData", "/api/v2/curp/getData"] {
        let r = sb
            .post(
                path,
                &[("authorization", "Bearer t")],
                json!({ "curp": CURP }),
            )
            .await;
        assert_eq!(r.scenario(), "not_found", "{path}: {}", r.text());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// An override's `times` is a whole number however the client writes one
// (`2.0`, as a client holding numbers as doubles may), and its id in the
// path is written in digits alone, as `?limit=` is: `+1` is no id.
#[tokio::test]
async fn an_overrides_times_and_id_are_read_as_whole_numbers() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "not_found", "times": 2.0}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["times"], 2);
    let r = sb.admin_delete("/__admin/overrides/+1").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"], "no override with id '+1'");
    let r = sb.admin_delete("/__admin/overrides/01").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"deleted": 1}));
}

#[tokio::test]
async fn bad_override_bodies() {
    let sb = Sandbox::start().await;
    let cases = [
        (
            json!({"provider": "nope", "scenario": "success"}),
            "unknown provider",
        ),
        (
            json!({"provider": "curpv5", "scenario": "exploded"}),
            "unknown scenario",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "times": 0}),
            "times",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "times": -1}),
            "times",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "times": "2"}),
            "times",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "times": 1.5}),
            "times",
        ),
        // Past what a JavaScript client reads exactly (2^53 − 1).
        (
            json!({"provider": "curpv5", "scenario": "success", "times": 9007199254740992u64}),
            "a whole number from 1 to 9007199254740991",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "colour": "red"}),
            "colour",
        ),
        (json!({"provider": "curpv5"}), "scenario"),
        (json!({"scenario": "success"}), "provider"),
        (
            json!({"provider": "curpv5", "scenario": "success", "latency": "fast"}),
            "fast",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "fault": "explode"}),
            "explode",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "path": 3}),
            "path",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "latency": 250}),
            "'latency' must be a string",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "fault": true}),
            "'fault' must be a string such as \"hang\"",
        ),
        (
            json!({"provider": "curpv5", "scenario": "success", "fault": "reset"}),
            "valid faults: hang, connection_reset, empty_response, malformed_body",
        ),
        (json!([1, 2]), "JSON object"),
    ];
    for (body, needle) in cases {
        let r = sb.admin_post("/__admin/overrides", body.clone()).await;
        assert_bad(&r, needle);
    }
    // An unknown scenario lists the valid ones.
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "exploded"}),
        )
        .await;
    let valid = r.json()["valid_scenarios"].clone();
    assert!(valid.as_array().unwrap().iter().any(|v| v == "deceased"));
    // Not JSON at all.
    let r = sb
        .send(
            "POST",
            "/__admin/overrides",
            &[("content-type", "application/json")],
            "{nope",
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].is_string());
    // Nothing was added.
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
}

// README, Admin API: "JSON in and out". A form, or a body of a type no
// body is read in, is told to send a JSON object: not the providers'
// advice to send a form too, which the admin API would refuse next (QA
// probe). A module's route (async's webhook target) says the same.
#[tokio::test]
async fn an_admin_body_that_is_not_json_is_told_to_send_json_only() {
    let sb = Sandbox::start().await;
    let form = "provider=curpv5&scenario=timeout";
    let multipart =
        "--b\r\ncontent-disposition: form-data; name=\"advance\"\r\n\r\n1h\r\n--b--\r\n";
    let cases = [
        (
            "POST",
            "/__admin/overrides",
            "application/x-www-form-urlencoded",
            form,
            "the body is a form",
        ),
        (
            "POST",
            "/__admin/overrides",
            "text/plain",
            form,
            "unsupported content type 'text/plain'",
        ),
        (
            "POST",
            "/__admin/clock",
            "multipart/form-data; boundary=b",
            multipart,
            "the body is a form",
        ),
        (
            "POST",
            "/__admin/clock",
            "text/xml",
            "<advance>1h</advance>",
            "unsupported content type 'text/xml'",
        ),
        (
            "PUT",
            "/__admin/webhooks/k",
            "application/x-www-form-urlencoded",
            "url=http://127.0.0.1:9/h",
            "the body is a form",
        ),
        (
            "PUT",
            "/__admin/webhooks/k",
            "text/plain",
            "url=http://127.0.0.1:9/h",
            "unsupported content type 'text/plain'",
        ),
        // A form that could not be read is a form all the same: told to
        // send JSON, not what was wrong with the form (a charset or a
        // boundary to fix would be the wrong fix).
        (
            "POST",
            "/__admin/overrides",
            "application/x-www-form-urlencoded; charset=foo",
            form,
            "the body is a form",
        ),
        (
            "POST",
            "/__admin/clock",
            "multipart/form-data",
            multipart,
            "the body is a form",
        ),
        (
            "POST",
            "/__admin/clock",
            "multipart/form-data; boundary=zz",
            multipart,
            "the body is a form",
        ),
    ];
    for (method, path, content_type, body, says) in cases {
        let r = sb
            .send(method, path, &[("content-type", content_type)], body)
            .await;
        assert_eq!(r.status, 400, "{path} {content_type}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.starts_with(says), "{path} {content_type}: {error}");
        assert!(
            error.ends_with(
                "the admin API reads JSON: send a JSON object as the body (application/json)"
            ),
            "{path} {content_type}: {error}"
        );
        assert!(!error.contains("urlencoded"), "{path}: {error}");
    }
    // Nothing was made of them.
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
    assert_eq!(sb.admin_get("/__admin/webhooks").await, json!([]));
    // The same text/plain body on a provider route keeps the provider's
    // advice, where a form is read.
    let r = sb
        .send(
            "POST",
            "/api/curp/bycurp",
            &[("apikey", "k"), ("content-type", "text/plain")],
            "curp=PXNE660720HMCXTN06",
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("unsupported content type 'text/plain': send application/json, application/x-www-form-urlencoded or multipart/form-data"),
        "{}",
        r.text()
    );
}

// README, Admin API: an error repeats at most 256 bytes of what the
// request gave (a name, a field, a path, an id, a content type or coding),
// as the providers' do, so that a 10 KB name is not sent back whole.
#[tokio::test]
async fn an_admin_error_repeats_at_most_256_bytes_of_a_long_value() {
    let sb = Sandbox::start().await;
    let long = "x".repeat(10_000);
    let said = format!("'{}… (10000 bytes)'", "x".repeat(256));
    let bodies = [
        json!({"provider": long, "scenario": "success"}),
        json!({"provider": "curpv5", "scenario": long}),
        json!({"provider": "curpv5", "scenario": "success", "path": long}),
        json!({"provider": "curpv5", "scenario": "success", &long: 1}),
    ];
    for body in bodies {
        let r = sb.admin_post("/__admin/overrides", body).await;
        assert_eq!(r.status, 400, "{}", r.text());
        let error = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(&said), "{}", &error[..error.len().min(400)]);
        assert!(r.text().len() < 2_000, "{} bytes", r.text().len());
    }
    let r = sb.admin_delete(&format!("/__admin/overrides/{long}")).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains(&said), "{}", r.text().len());
    // A content type or coding the body is refused for, on the admin API
    // and on a provider.
    let refused_bodies = [
        (
            "/__admin/overrides",
            vec![("content-type", long.as_str())],
            "{}",
        ),
        (
            "/api/curp/bycurp",
            vec![
                ("apikey", "k"),
                ("content-type", "application/json"),
                ("content-encoding", long.as_str()),
            ],
            "zz",
        ),
    ];
    for (path, headers, body) in refused_bodies {
        let r = sb.send("POST", path, &headers, body).await;
        assert_eq!(r.status, 400, "{path}");
        assert!(r.text().contains(&said), "{path}: {}", r.text().len());
    }
    let redeliver = format!("/__admin/webhooks/deliveries/{long}/redeliver");
    let r = sb.admin_post(&redeliver, json!({})).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains(&said), "{}", r.text().len());
    let r = sb
        .get(&format!("/__admin/requests?limit=1&limit={long}"), &[])
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().len() < 2_000, "{} bytes", r.text().len());
}

// SPEC §7 / README, Admin API: an override's `path`, `times`, `latency` and
// `fault` are optional: each sent as null is absent (a null path: provider-wide).
#[tokio::test]
async fn an_overrides_optional_keys_sent_as_null_are_absent_path_included() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "deceased",
                   "times": null, "latency": null, "fault": null}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "deceased", "path": null}),
        )
        .await;
    assert_eq!(
        r.status,
        201,
        "an optional path sent as null is no path: {}",
        r.text()
    );
    assert!(
        r.json().get("path").is_none(),
        "provider-wide: {}",
        r.text()
    );
}

// README, Admin API: `POST /__admin/overrides` → "201 with the override",
// "`latency` and `fault` are strings, as in the headers"; `GET
// /__admin/overrides` lists them. A latency under a millisecond, which the
// parser takes (`0.5ms`) and the override applies, is stated as the same
// latency (`0.2ms..0.8ms` too), not rounded to whole milliseconds.
#[tokio::test]
async fn an_overrides_latency_is_listed_as_it_was_set() {
    let sb = Sandbox::start().await;
    for set in ["0.5ms", "0.2ms..0.8ms"] {
        let r = sb
            .admin_post(
                "/__admin/overrides",
                json!({"provider": "curpv5", "scenario": "success", "latency": set}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let listed = r.json()["latency"].as_str().unwrap().to_string();
        assert_eq!(
            listed.parse::<Latency>().ok(),
            set.parse::<Latency>().ok(),
            "set {set}, listed {listed}"
        );
    }
}

// --- journal -------------------------------------------------------------

#[tokio::test]
async fn journal_records_and_filters() {
    let sb = Sandbox::start().await;
    let sent = format!(r#"{{"curp": "{CURP}"}}"#);
    let r = sb
        .send(
            "POST",
            &format!("{PATH}?trace=1"),
            &[
                KEY,
                ("content-type", "application/json"),
                ("x-custom", "hello"),
            ],
            sent,
        )
        .await;
    assert_eq!(r.status, 200);
    bycurp(&sb, OTHER_CURP).await;
    sb.post("/api/Curp/ByCurp", &[KEY], json!({ "curp": CURP }))
        .await;
    sb.get("/nowhere", &[]).await;

    let all = sb.admin_get("/__admin/requests").await;
    let entries = all.as_array().unwrap();
    assert_eq!(entries.len(), 4, "{all}");
    // Oldest first.
    let id = ids(&all);
    assert!(id.windows(2).all(|w| w[0] < w[1]), "{id:?}");
    let first = &entries[0];
    let mut k: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    for key in [
        "body", "headers", "id", "method", "path", "provider", "query", "scenario", "status",
        "time",
    ] {
        assert!(k.contains(&key), "{key} missing from {k:?}");
    }
    assert_eq!(first["provider"], "curpv5");
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], PATH);
    assert_eq!(first["query"], "trace=1");
    assert_eq!(first["status"], 200);
    assert_eq!(first["scenario"], "success");
    assert_eq!(first["fault"], Value::Null);
    assert_eq!(first["time"], "2024-05-15T10:00:00.000000-06:00");
    assert_eq!(first["body"], json!({ "curp": CURP }));
    assert_eq!(first["headers"]["x-custom"], "hello");
    assert_eq!(first["headers"]["apikey"], "test-key");
    assert_eq!(entries[3]["provider"], Value::Null);
    assert_eq!(entries[3]["status"], 404);

    let by_provider = sb.admin_get("/__admin/requests?provider=curpv5").await;
    assert_eq!(by_provider.as_array().unwrap().len(), 3);
    let by_curp = sb
        .admin_get(&format!("/__admin/requests?curp={OTHER_CURP}"))
        .await;
    assert_eq!(ids(&by_curp), [id[1]]);
    // The CURP filter ignores case, as the providers read a CURP.
    let by_curp = sb
        .admin_get(&format!(
            "/__admin/requests?curp={}",
            OTHER_CURP.to_lowercase()
        ))
        .await;
    assert_eq!(ids(&by_curp), [id[1]]);
    // And spaces around it, as the journal keeps the CURP trimmed; a
    // blank one is no filter.
    let by_curp = sb
        .admin_get(&format!("/__admin/requests?curp=%20{OTHER_CURP}%20"))
        .await;
    assert_eq!(ids(&by_curp), [id[1]]);
    let blank = sb.admin_get("/__admin/requests?curp=%20").await;
    assert_eq!(ids(&blank), id);
    // The path filter ignores case, as the provider does.
    let by_path = sb
        .admin_get("/__admin/requests?path=/api/curp/bycurp")
        .await;
    assert_eq!(ids(&by_path), [id[0], id[1], id[2]]);
    // And a trailing slash, as the router does.
    let by_path = sb
        .admin_get("/__admin/requests?path=/API/curp/bycurp/")
        .await;
    assert_eq!(ids(&by_path), [id[0], id[1], id[2]]);
    let by_path = sb.admin_get("/__admin/requests?path=/nowhere").await;
    assert_eq!(ids(&by_path), [id[3]]);
    // `limit` keeps the newest N, still oldest first.
    let last2 = sb.admin_get("/__admin/requests?limit=2").await;
    assert_eq!(ids(&last2), [id[2], id[3]]);
    let combined = sb
        .admin_get(&format!(
            "/__admin/requests?provider=curpv5&curp={CURP}&limit=1"
        ))
        .await;
    assert_eq!(ids(&combined), [id[2]]);
    let r = sb.get("/__admin/requests?limit=many", &[]).await;
    assert_bad(&r, "limit");
    // Digits alone, as an override's id: no sign; a limit past any
    // number is the whole journal.
    let r = sb.get("/__admin/requests?limit=+2", &[]).await;
    assert_bad(&r, "limit");
    let all = sb
        .admin_get("/__admin/requests?limit=99999999999999999999999")
        .await;
    assert_eq!(ids(&all), id);
    let r = sb.get("/__admin/requests?limit=02", &[]).await;
    assert_eq!(ids(&r.json()), [id[2], id[3]]);
    // A misspelt filter or an unknown provider is refused, not answered
    // with the whole journal or nothing.
    let r = sb.get("/__admin/requests?provder=curpv5", &[]).await;
    assert_bad(&r, "provder");
    let r = sb.get("/__admin/requests?provider=curpv6", &[]).await;
    assert_bad(&r, "curpv6");
    // Admin calls are not journaled.
    assert_eq!(sb.admin_count("/__admin/requests").await, 4);

    let r = sb.admin_delete("/__admin/requests").await;
    assert_eq!(r.status, 200);
    assert_eq!(sb.admin_get("/__admin/requests").await, json!([]));
}

// README, Admin API: every admin route, a module's included, refuses a
// query parameter it does not read, as the journal's misspelt filter is:
// a misspelt `verificationId` would otherwise list every delivery, and a
// misspelt `namespace` act on `default`. `namespace` is read everywhere.
#[tokio::test]
async fn every_admin_route_refuses_a_parameter_it_does_not_read() {
    let sb = Sandbox::start().await;
    for (method, path, body) in [
        ("GET", "/__admin/health?x=1", ""),
        ("GET", "/__admin/counters?provder=nss", ""),
        ("DELETE", "/__admin/counters?namespce=a", ""),
        ("GET", "/__admin/overrides?scenario=success", ""),
        ("POST", "/__admin/clock?advance=1h", r#"{"advance": "1h"}"#),
        ("POST", "/__admin/reset?all=true", ""),
        ("GET", "/__admin/webhooks/deliveries?verificationid=x", ""),
        ("GET", "/__admin/verifications?status=3", ""),
        (
            "PUT",
            "/__admin/webhooks/k?url=x",
            r#"{"url": "http://127.0.0.1:9/"}"#,
        ),
    ] {
        let r = sb.send(method, path, &[], body).await;
        let parameter = path.split(['?', '=']).nth(1).unwrap();
        assert_bad(&r, &format!("unknown parameter '{parameter}'"));
        assert_bad(&r, "namespace");
    }
    let r = sb
        .send(
            "GET",
            "/__admin/webhooks/deliveries?verificationid=x",
            &[],
            "",
        )
        .await;
    assert_bad(&r, "the filters are verificationId, namespace");
    let r = sb.send("GET", "/__admin/counters?x=1", &[], "").await;
    assert_bad(&r, "this route reads only namespace");
    // Nothing was changed by the refused ones.
    assert_eq!(sb.admin_get("/__admin/webhooks").await, json!([]));
    // The parameters a route reads are taken, empty ones too.
    for path in [
        "/__admin/health?namespace=",
        "/__admin/counters?namespace=a",
        "/__admin/webhooks/deliveries?verificationId=&namespace=a",
        "/__admin/requests?provider=&path=&curp=&limit=&namespace=",
    ] {
        let r = sb.send("GET", path, &[], "").await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
}

// README, Admin API: the journal's `curp` filter reads a CURP "in any
// case": a CURP sent in lower case (every provider reads it so) is found by
// the filter in upper case as in lower case, on every provider.
#[tokio::test]
async fn the_curp_filter_finds_a_curp_sent_in_lower_case_on_every_provider() {
    let sb = Sandbox::start().await;
    let lower = CURP.to_lowercase();
    let mut wrong = Vec::new();
    for p in provider_requests(&lower) {
        let ns = format!("curp-{}", p.0);
        let r = sb.provider_post(&p, &[("x-sandbox-namespace", &ns)]).await;
        for filter in [CURP, lower.as_str()] {
            let found = sb
                .admin_count(&format!("/__admin/requests?namespace={ns}&curp={filter}"))
                .await;
            if found != 1 {
                wrong.push(format!(
                    "{} (answered {}): curp={filter} found {found}",
                    p.0, r.status
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README, Admin API: the journal's `path` filter reads a path "with letter
// case and one trailing slash aside, as an override's `path` is read: a
// request that nss, accuauth or validacurp, which read their paths in
// their case, answered 404 for its case is listed too". nss reads
// `/API/V1/IMSS/NSS` as no path of its own (its 404 `not_found`), and
// `?path=/api/v1/imss/nss` lists that request beside nss's own 200.
#[tokio::test]
async fn the_path_filter_lists_a_case_sensitive_providers_404_for_another_case() {
    let sb = Sandbox::start().await;
    let nss = [("x-api-key", "k")];
    let ok = sb
        .post("/api/v1/imss/nss", &nss, json!({ "curp": CURP }))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let upper = sb
        .post("/API/V1/IMSS/NSS", &nss, json!({ "curp": CURP }))
        .await;
    assert_eq!(upper.status, 404, "{}", upper.text());
    let found = sb
        .admin_get("/__admin/requests?path=/api/v1/imss/nss")
        .await;
    let listed: Vec<(&str, &Value)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), &e["status"]))
        .collect();
    assert_eq!(
        listed,
        [
            ("/api/v1/imss/nss", &json!(200)),
            ("/API/V1/IMSS/NSS", &json!(404))
        ]
    );
}

// README, Admin API: the journal route is printed as
// `GET /__admin/requests?provider=&path=&curp=&limit=`, and an empty filter
// is no filter (README, Decisions: "`?namespace=` with an empty value is
// none"): the route as printed, every filter left empty, answers the whole
// journal. An empty `?namespace=` beside the header is the header's
// namespace, as a blank header beside the query is the query's.
#[tokio::test]
async fn the_journal_route_as_printed_with_its_filters_left_empty_answers_the_journal() {
    let sb = Sandbox::start().await;
    let r = bycurp(&sb, CURP).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb
        .get("/__admin/requests?provider=&path=&curp=&limit=", &[])
        .await;
    assert_eq!(
        r.status,
        200,
        "the README's own journal route, as printed: {}",
        r.text()
    );
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.text());
    let r = sb
        .get(
            "/__admin/requests?namespace=",
            &[("x-sandbox-namespace", "other")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!([]), "the header's namespace, not default");
    let r = sb
        .get(
            "/__admin/requests?namespace=default",
            &[("x-sandbox-namespace", " ")],
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.text());
}

#[tokio::test]
async fn journal_is_bounded() {
    let sb = Sandbox::start_with(Config {
        journal_limit: 5,
        ..config()
    })
    .await;
    for i in 0..8 {
        let r = sb
            .post(
                PATH,
                &[KEY, ("x-n", &i.to_string())],
                json!({ "curp": CURP }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let all = sb.admin_get("/__admin/requests").await;
    let entries = all.as_array().unwrap();
    assert_eq!(entries.len(), 5);
    let kept: Vec<&str> = entries
        .iter()
        .map(|e| e["headers"]["x-n"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["3", "4", "5", "6", "7"], "the oldest are dropped");
}

/// Asserts that `kept`, what a journal entry kept of `sent`, is the start of
/// `sent`, cut between characters (no U+FFFD in place of a split one).
fn assert_cut_between_characters(kept: &str, sent: &str) {
    assert!(
        !kept.contains('\u{FFFD}'),
        "a replacement character: …{:?}",
        kept.chars().rev().take(3).collect::<String>()
    );
    assert!(
        sent.starts_with(kept),
        "the entry's text is not the start of the text sent"
    );
}

// README, Admin API, journal: "an entry keeps the first 16 KB of the body
// … each cut between characters"; SPEC §7 / README: the journal says what
// was called. A body whose 16 KB bound falls inside a multi-byte character
// is kept up to the character before it: text the client sent, nothing else.
#[tokio::test]
async fn the_journal_cut_of_a_long_body_never_splits_a_character() {
    let sb = Sandbox::start().await;
    // 37 ASCII bytes, then two-byte characters: the 16,384th byte is the
    // first half of one.
    let sent = format!(r#"{{"curp":"{CURP}","pad":"x{}"}}"#, "é".repeat(9000));
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/json")],
            sent.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let journal = sb.admin_get("/__admin/requests").await;
    let body = journal[0]["body"].as_str().expect("a cut body is its text");
    assert_cut_between_characters(body, &sent);
    assert!(body.len() > 16 * 1024 - 4, "{}", body.len());
}

// Same for the headers: README "an entry keeps the first 16 KB … of the
// headers, … each cut between characters". A header value the 16 KB bound
// falls inside a multi-byte character of is kept up to the character
// before it.
#[tokio::test]
async fn the_journal_cut_of_long_headers_never_splits_a_character() {
    let sb = Sandbox::start().await;
    // First header: 5 + 2 bytes of name and separators leave 16,377 bytes
    // of room; "ab" then two-byte characters puts the cut inside one.
    let value = format!("ab{}", "é".repeat(9000));
    let r = sb
        .send(
            "POST",
            PATH,
            &[
                ("x-big", value.as_str()),
                KEY,
                ("content-type", "application/json"),
            ],
            format!(r#"{{"curp":"{CURP}"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let journal = sb.admin_get("/__admin/requests").await;
    let kept = journal[0]["headers"]["x-big"]
        .as_str()
        .expect("x-big was journaled");
    assert_cut_between_characters(kept, &value);
}

// --- counters and clock ----------------------------------------------------

#[tokio::test]
async fn counters_read_and_clear() {
    let sb = Sandbox::start().await;
    // curpv5 counts nothing; nss counts queries per CURP per provider day.
    bycurp(&sb, CURP).await;
    assert_eq!(sb.admin_get("/__admin/counters").await, json!([]));
    let nss = |ns: &'static str| {
        let sb = &sb;
        async move {
            sb.post(
                "/api/v1/imss/nss",
                &[("x-api-key", "k"), ("x-sandbox-namespace", ns)],
                json!({ "curp": CURP }),
            )
            .await
        }
    };
    assert_eq!(nss("default").await.status, 200);
    let counters = sb.admin_get("/__admin/counters").await;
    let rows = counters.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{counters}");
    let c = &rows[0];
    assert!(c["key"].as_str().unwrap().contains(CURP), "{c}");
    assert_eq!(c["window"], "day");
    assert_eq!(c["count"], 1);
    assert_eq!(c["limit"], 2);
    assert_eq!(c["since"], "2024-05-15");
    nss("default").await;
    assert_eq!(sb.admin_get("/__admin/counters").await[0]["count"], 2);
    // Another namespace counts on its own.
    nss("other").await;
    assert_eq!(
        sb.admin_get("/__admin/counters?namespace=other").await[0]["count"],
        1
    );

    let r = sb.admin_delete("/__admin/counters").await;
    assert_eq!(r.status, 200);
    assert_eq!(sb.admin_get("/__admin/counters").await, json!([]));
    assert_eq!(sb.admin_count("/__admin/counters?namespace=other").await, 1);
    let r = sb.send("POST", "/__admin/counters", &[], "").await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn clock_read_set_advance_scale() {
    let sb = Sandbox::start().await;
    assert_eq!(
        sb.admin_get("/__admin/clock").await,
        json!({"now": "2024-05-15T10:00:00.000000-06:00", "scale": 0.0})
    );
    let r = sb
        .admin_post("/__admin/clock", json!({"advance": "1d"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["now"], "2024-05-16T10:00:00.000000-06:00");
    let r = sb
        .admin_post("/__admin/clock", json!({"advance": "90m"}))
        .await;
    assert_eq!(r.json()["now"], "2024-05-16T11:30:00.000000-06:00");
    // Parts add up: landing just before a retry.
    let r = sb
        .admin_post("/__admin/clock", json!({"advance": "19m58.5s"}))
        .await;
    assert_eq!(r.json()["now"], "2024-05-16T11:49:58.500000-06:00");
    // `set` takes any offset and answers in UTC-6.
    let r = sb
        .admin_post("/__admin/clock", json!({"set": "2025-01-01T12:00:00Z"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["now"], "2025-01-01T06:00:00.000000-06:00");
    // A date alone is its midnight in UTC-6.
    let r = sb
        .admin_post("/__admin/clock", json!({"set": "2025-03-04"}))
        .await;
    assert_eq!(r.json()["now"], "2025-03-04T00:00:00.000000-06:00");
    // set, then advance, in that order, in one call.
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"advance": "2s", "set": "2024-02-29T23:59:59-06:00"}),
        )
        .await;
    assert_eq!(r.json()["now"], "2024-03-01T00:00:01.000000-06:00");
    // The provider sees the sandbox clock.
    let b = bycurp(&sb, CURP).await.json();
    assert_eq!(b["validationDate"], "2024-03-01T00:00:01-06:00");

    // Scale: a huge speed makes the clock move between two reads without sleeping.
    let r = sb.admin_post("/__admin/clock", json!({"scale": 1e6})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["scale"], 1e6);
    let t1 = sb.admin_get("/__admin/clock").await["now"].clone();
    let t2 = sb.admin_get("/__admin/clock").await["now"].clone();
    assert_ne!(t1, t2, "a running clock moves");
    let r = sb.admin_post("/__admin/clock", json!({"scale": 0})).await;
    assert_eq!(r.json()["scale"], 0.0);
    // `-0` stops it too, and reads back as 0.
    let r = sb
        .admin_post("/__admin/clock", json!({"scale": -0.0}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let scale = sb.admin_get("/__admin/clock").await["scale"].as_f64();
    assert!(
        scale.is_some_and(|s| s == 0.0 && s.is_sign_positive()),
        "{scale:?}"
    );
    let t3 = sb.admin_get("/__admin/clock").await["now"].clone();
    let t4 = sb.admin_get("/__admin/clock").await["now"].clone();
    assert_eq!(t3, t4, "a frozen clock stays");
}

/// SPEC §1 (CI: "deterministic output ... controllable clock") and §7 /
/// README Admin API: `POST /__admin/clock` takes `{"set"}`, `{"advance"}`
/// and `{"scale"}`, "any of them, applied in that order", and answers with
/// the clock. All three apply at one instant: a test that sets the time and
/// freezes the clock in one call (`{"set": T, "scale": 0}`) gets a clock
/// stopped at T exactly, even from a clock running a million times fast
/// (no sandbox time passes between the changes); `{"set": T, "advance": D}`
/// lands on T + D.
#[tokio::test]
async fn setting_and_freezing_the_clock_in_one_call_stops_it_at_the_time_set() {
    let sb = Sandbox::start_with(Config {
        clock: mxid_sandbox::engine::clock::Start {
            scale: 1_000_000.0,
            ..config().clock
        },
        ..config()
    })
    .await;
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "2024-05-15T23:59:00-06:00", "scale": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        sb.admin_get("/__admin/clock").await,
        json!({"now": "2024-05-15T23:59:00.000000-06:00", "scale": 0.0})
    );

    // set and advance together land on set + advance.
    let r = sb
        .admin_post("/__admin/clock", json!({"scale": 1_000_000.0}))
        .await;
    assert_eq!(r.status, 200);
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "2024-05-16T06:00:00-06:00", "advance": "1m", "scale": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        sb.admin_get("/__admin/clock").await["now"],
        "2024-05-16T06:01:00.000000-06:00"
    );
}

// README Command line: `--start-time T` "start the sandbox clock at this
// RFC 3339 time" and `--time-scale F` its speed; README Decisions: `default`
// is made when the server starts, every other namespace when a request or
// a change first uses it, its clock starting then. So `default`'s clock,
// read before any request, has run since the server started (a million
// times fast: it has moved past T and moves between two reads), and a
// namespace first used later runs behind it. Every comparison holds
// whatever the machine's speed: a later start on the same scale reads
// earlier.
#[tokio::test]
async fn the_default_clock_runs_from_the_server_start_and_a_named_one_from_its_first_use() {
    let sb = Sandbox::start_with(Config {
        clock: Start {
            scale: 1_000_000.0,
            ..config().clock
        },
        ..config()
    })
    .await;
    let now = |path: &'static str| {
        let sb = &sb;
        async move {
            let c = sb.admin_get(path).await;
            assert_eq!(c["scale"], 1_000_000.0, "{c}");
            Timestamp::parse_rfc3339(c["now"].as_str().unwrap()).unwrap()
        }
    };
    let start = Timestamp::parse_rfc3339(crate::common::START).unwrap();
    let first = now("/__admin/clock").await;
    let second = now("/__admin/clock").await;
    assert!(start < first && first < second, "{first:?} {second:?}");
    // A namespace no request has used reads as one made now would: behind
    // `default`, which has run longer.
    let unused = now("/__admin/clock?namespace=later").await;
    let default = now("/__admin/clock").await;
    assert!(
        start <= unused && unused < default,
        "{unused:?} {default:?}"
    );
    // Its first request starts its clock, which runs from then on, still
    // behind `default`'s.
    assert_eq!(bycurp_in(&sb, "later", CURP).await.status, 200);
    let a = now("/__admin/clock?namespace=later").await;
    let b = now("/__admin/clock?namespace=later").await;
    let default = now("/__admin/clock").await;
    assert!(start < a && a < b && b < default, "{a:?} {b:?} {default:?}");
}

#[tokio::test]
async fn a_route_that_reads_a_body_refuses_none() {
    let sb = Sandbox::start().await;
    for path in ["/__admin/overrides", "/__admin/clock"] {
        let r = sb.send("POST", path, &[], Vec::new()).await;
        assert_bad(&r, "send a JSON object as the body");
    }
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
}

#[tokio::test]
async fn clock_bad_bodies() {
    let sb = Sandbox::start().await;
    for (body, needle) in [
        (json!({}), "advance"),
        (json!({"advance": "soon"}), "soon"),
        (json!({"advance": 5}), "advance"),
        (
            json!({"advance": "-1h"}),
            "'-1h' is not a duration such as 250ms, 2s, 20m, 24h, 1d or 1h30m: the clock advances only forward; send {\"set\": T} to put it back",
        ),
        (json!({"set": "yesterday"}), "yesterday"),
        (json!({"set": 12}), "set"),
        (json!({"scale": -1}), "scale"),
        (json!({"scale": "fast"}), "scale"),
        (json!({"rewind": "1h"}), "rewind"),
        (json!("1h"), "JSON object"),
        // RFC 3339 writes years 0001 to 9999 (in UTC-6).
        (json!({"set": "0000-01-01T00:00:00Z"}), "0001 to 9999"),
        (json!({"advance": "3000000d"}), "0001 to 9999"),
        (
            json!({"set": "9999-12-31T00:00:00-06:00", "advance": "1d"}),
            "0001 to 9999",
        ),
    ] {
        let r = sb.admin_post("/__admin/clock", body).await;
        assert_bad(&r, needle);
    }
    // A bad field anywhere changes nothing.
    let r = sb
        .admin_post("/__admin/clock", json!({"advance": "1d", "scale": -3}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        sb.admin_get("/__admin/clock").await["now"],
        "2024-05-15T10:00:00.000000-06:00"
    );
    // The last day of the range is fine.
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "9999-12-31T23:00:00-06:00", "scale": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["now"], "9999-12-31T23:00:00.000000-06:00");
}

// --- reset, namespaces ---------------------------------------------------------

#[tokio::test]
async fn reset_clears_one_namespace() {
    let sb = Sandbox::start().await;
    bycurp(&sb, CURP).await;
    sb.advance("3h").await;
    sb.admin_post(
        "/__admin/overrides",
        json!({"provider": "curpv5", "scenario": "timeout"}),
    )
    .await;
    bycurp_in(&sb, "other", CURP).await;

    let r = sb.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sb.admin_get("/__admin/requests").await, json!([]));
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
    assert_eq!(sb.admin_get("/__admin/counters").await, json!([]));
    assert_eq!(
        sb.admin_get("/__admin/clock").await["now"],
        "2024-05-15T10:00:00.000000-06:00"
    );
    assert_eq!(bycurp(&sb, CURP).await.status, 200);
    // The other namespace kept its journal.
    let other = sb.admin_get("/__admin/requests?namespace=other").await;
    assert_eq!(other.as_array().unwrap().len(), 1);
    // Reset without a body works too.
    let r = sb
        .send("POST", "/__admin/reset?namespace=other", &[], "")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        sb.admin_get("/__admin/requests?namespace=other").await,
        json!([])
    );
}

/// Gives namespace `ns` (`None`: the default one, named by no header or
/// parameter) a history of three requests and two overrides, resets it,
/// then makes one request and one override: the journal after that
/// request, and the override's id.
async fn first_ids_after_a_reset(sb: &Sandbox, ns: Option<&str>) -> (Value, Value) {
    let query = ns.map(|ns| format!("?namespace={ns}")).unwrap_or_default();
    let request = || async {
        let r = match ns {
            Some(ns) => bycurp_in(sb, ns, CURP).await,
            None => bycurp(sb, CURP).await,
        };
        assert_eq!(r.status, 200, "{}", r.text());
    };
    let add_override = || async {
        let r = sb
            .admin_post(
                &format!("/__admin/overrides{query}"),
                json!({"provider": "nss", "scenario": "success", "times": 1}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].clone()
    };
    for _ in 0..3 {
        request().await;
    }
    for _ in 0..2 {
        add_override().await;
    }
    let r = sb
        .admin_post(&format!("/__admin/reset{query}"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    request().await;
    let journal = sb.admin_get(&format!("/__admin/requests{query}")).await;
    (journal, add_override().await)
}

// SPEC §7: `POST /__admin/reset` puts "journal, counters, overrides,
// verifications and clock back to start"; SPEC's CI user needs
// "deterministic output, reset between tests". After a reset the first
// journal entry and the first override are id 1 again, in the `default`
// namespace (which is reset in place) as in a named one (which a reset
// forgets): what a test sees does not depend on the tests that ran before
// it on the same server.
#[tokio::test]
async fn a_reset_brings_the_default_namespaces_journal_and_override_ids_back_to_start() {
    let sb = Sandbox::start().await;
    let (journal, override_id) = first_ids_after_a_reset(&sb, None).await;
    let (named_journal, named_override) = first_ids_after_a_reset(&sb, Some("suite")).await;
    assert_eq!(named_journal[0]["id"], 1, "{named_journal}");
    assert_eq!(named_override, 1);

    assert_eq!(
        journal[0]["id"], 1,
        "the first journal entry after a reset of `default`: {journal}"
    );
    assert_eq!(
        override_id, 1,
        "the first override after a reset of `default`"
    );
}

#[tokio::test]
async fn namespaces_are_bounded_and_a_reset_frees_one() {
    let sb = Sandbox::start().await;
    make_named_namespaces(&sb, MAX_NAMESPACES).await;
    let r = bycurp_in(&sb, "one-too-many", CURP).await;
    assert_eq!(r.status, 400);
    let message = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("free one with POST /__admin/reset?namespace="),
        "{message}"
    );
    // Reading a namespace no request made does not make it: it reads
    // blank, full as the server is, and takes no place.
    for path in ADMIN_READS {
        let r = sb
            .send("GET", &format!("{path}?namespace=never-made"), &[], "")
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let r = sb
        .send("DELETE", "/__admin/requests?namespace=never-made", &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb
        .send(
            "DELETE",
            "/__admin/webhooks/k1?namespace=never-made",
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    // A change that stays still needs a place.
    let r = sb
        .send(
            "POST",
            "/__admin/clock?namespace=never-made",
            &[],
            r#"{"advance": "1m"}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // A reset frees its name: a new suite's namespace fits again.
    let r = sb
        .send("POST", "/__admin/reset?namespace=n7", &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(bycurp_in(&sb, "one-too-many", CURP).await.status, 200);
    // And the reset one starts afresh when it is named again (the cap
    // permitting: reset another first).
    sb.send("POST", "/__admin/reset?namespace=n8", &[], "")
        .await;
    let r = sb
        .send("GET", "/__admin/requests?namespace=n7", &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!([]));
}

// README, Decisions: "**Reading or clearing a namespace does not make it** …
// a provider request, an override, a clock change or a webhook registration
// makes it (one the admin API refuses, with a 400, does not)", and the
// 1,024 cap. An override the admin API refuses is no override, and a
// refused clock change no change: neither takes one of the 1,024 places.
#[tokio::test]
async fn a_refused_override_or_clock_change_takes_no_namespace_place() {
    let sb = Sandbox::start().await;
    leave_two_namespace_places(&sb).await;
    // Two refused changes in two fresh namespaces.
    let r = sb
        .admin_post(
            "/__admin/overrides?namespace=ghost-a",
            json!({"provider": "nope", "scenario": "success"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = sb
        .admin_post(
            "/__admin/clock?namespace=ghost-b",
            json!({"advance": "soon"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    two_namespaces_still_fit(&sb).await;
}

/// Uses `default` (which takes no place) and makes 1,022 named namespaces
/// with provider requests: two of the 1,024 places are left.
pub async fn leave_two_namespace_places(sb: &Sandbox) {
    assert_eq!(bycurp(sb, CURP).await.status, 200);
    make_named_namespaces(sb, MAX_NAMESPACES - 2).await;
}

/// Makes `n` named namespaces (`n0` …) with provider requests, never
/// touching `default`.
async fn make_named_namespaces(sb: &Sandbox, n: usize) {
    for i in 0..n {
        let ns = format!("n{i}");
        let r = bycurp_in(sb, &ns, CURP).await;
        assert_eq!(r.status, 200, "{ns}: {}", r.text());
    }
}

// README, Decisions: "**Reading or clearing a namespace does not make it**:
// an admin `GET` or `DELETE` (or a reset) of a namespace no request has used
// answers as a new one would … and takes none of the 1,024 places", and
// `default`, made when the server starts, takes none either: a health
// check, a read of the default journal or requests in `default` leave all
// 1,024 places to the suites.
#[tokio::test]
async fn reading_the_default_namespace_takes_no_namespace_place() {
    let sb = Sandbox::start().await;
    // A CI health check, then a look at the (default) journal and clock:
    // none of them is a provider request, an override, a clock change or a
    // webhook registration.
    assert_eq!(sb.admin_get("/__admin/health").await["status"], "ok");
    assert_eq!(sb.admin_get("/__admin/requests").await, json!([]));
    sb.admin_get("/__admin/clock").await;
    let r = sb.send("POST", "/__admin/reset", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(bycurp(&sb, CURP).await.status, 200);
    // Every one of the 1,024 places is still free for named suites.
    for i in 0..MAX_NAMESPACES {
        let r = bycurp_in(&sb, &format!("suite-{i}"), CURP).await;
        assert_eq!(
            r.status,
            200,
            "namespace #{} of {MAX_NAMESPACES} refused after using only `default`: {}",
            i + 1,
            r.text()
        );
    }
}

// README, Admin API: `GET /__admin/health` answers `{"status":"ok"}`,
// `GET /__admin/scenarios` the catalog, `POST /__admin/reload` re-reads the
// YAML: none of them is about a namespace's state. With 1,024 named
// namespaces in use (the documented maximum, reached without ever using
// `default`), all three still answer 200: a CI runner's health probe sees
// a healthy server.
#[tokio::test]
async fn health_catalog_and_reload_answer_at_the_namespace_cap() {
    let sb = Sandbox::start().await;
    make_named_namespaces(&sb, MAX_NAMESPACES).await;
    for (method, path) in [
        ("GET", "/__admin/health"),
        ("HEAD", "/__admin/health"),
        ("GET", "/__admin/scenarios"),
        ("POST", "/__admin/reload"),
    ] {
        let r = sb.send(method, path, &[], "").await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
    }
}

// README, Decisions: "an admin `GET` or `DELETE` (or a reset) of a
// namespace no request has used answers as a new one would (no entries, no
// counters, the clock at its start) and takes none of the 1,024 places".
// At the cap the never-used `default` (the one an admin call without
// `?namespace=` names, README Admin API; made with the server, outside the
// cap) reads, clears and resets blank, as a never-used named namespace does.
#[tokio::test]
async fn reading_the_unused_default_namespace_at_the_cap_answers_blank() {
    let sb = Sandbox::start().await;
    make_named_namespaces(&sb, MAX_NAMESPACES).await;
    // A never-used named namespace: blank, as documented.
    let r = sb
        .send("GET", "/__admin/requests?namespace=never-made", &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The never-used default one, implicit or named, reads the same.
    for (method, path) in [
        ("GET", "/__admin/requests"),
        ("GET", "/__admin/requests?namespace=default"),
        ("GET", "/__admin/overrides"),
        ("GET", "/__admin/counters"),
        ("GET", "/__admin/clock"),
        ("GET", "/__admin/verifications"),
        ("GET", "/__admin/webhooks"),
        ("GET", "/__admin/webhooks/deliveries"),
        ("DELETE", "/__admin/requests"),
        ("DELETE", "/__admin/overrides"),
        ("DELETE", "/__admin/counters"),
        ("POST", "/__admin/reset"),
    ] {
        let r = sb.send(method, path, &[], "").await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
    }
}

/// Asserts that two real suites still fit: the two places
/// [`leave_two_namespace_places`] left were not taken.
pub async fn two_namespaces_still_fit(sb: &Sandbox) {
    for ns in ["suite-a", "suite-b"] {
        let r = bycurp_in(sb, ns, CURP).await;
        assert_eq!(r.status, 200, "{ns}: {}", r.text());
    }
}

#[tokio::test]
async fn namespaces_are_independent() {
    let sb = Sandbox::start().await;
    // An override in `a` only.
    let r = sb
        .admin_post(
            "/__admin/overrides?namespace=a",
            json!({"provider": "curpv5", "scenario": "deceased"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(bycurp_in(&sb, "a", CURP).await.scenario(), "deceased");
    assert_eq!(bycurp_in(&sb, "b", CURP).await.scenario(), "success");
    assert_eq!(bycurp(&sb, CURP).await.scenario(), "success");
    assert_eq!(
        sb.admin_get("/__admin/overrides?namespace=b").await,
        json!([])
    );
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));

    // Journals: each sees only its own.
    bycurp_in(&sb, "b", OTHER_CURP).await;
    let a = sb.admin_get("/__admin/requests?namespace=a").await;
    let b = sb.admin_get("/__admin/requests?namespace=b").await;
    let d = sb.admin_get("/__admin/requests").await;
    assert_eq!(a.as_array().unwrap().len(), 1);
    assert_eq!(b.as_array().unwrap().len(), 2);
    assert_eq!(d.as_array().unwrap().len(), 1);
    assert_eq!(a[0]["scenario"], "deceased");
    assert_eq!(b[1]["curp"], OTHER_CURP);
    // The default namespace is `default`, by name too.
    assert_eq!(sb.admin_get("/__admin/requests?namespace=default").await, d);

    // Clocks.
    let r = sb
        .admin_post("/__admin/clock?namespace=a", json!({"advance": "1d"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        bycurp_in(&sb, "a", CURP).await.json()["validationDate"],
        "2024-05-16T10:00:00-06:00"
    );
    assert_eq!(
        bycurp_in(&sb, "b", CURP).await.json()["validationDate"],
        "2024-05-15T10:00:00-06:00"
    );

    // Reset of `a` leaves `b`.
    sb.admin_post("/__admin/reset?namespace=a", json!({})).await;
    assert_eq!(
        sb.admin_get("/__admin/requests?namespace=a").await,
        json!([])
    );
    assert_eq!(sb.admin_count("/__admin/requests?namespace=b").await, 3);
    assert_eq!(bycurp_in(&sb, "a", CURP).await.scenario(), "success");

    // A bad namespace name is refused on admin routes.
    let r = sb.get("/__admin/requests?namespace=no%20spaces", &[]).await;
    assert_bad(&r, "namespace");
}

// --- reload ------------------------------------------------------------------

/// A sandbox serving `text` as `{provider}.yaml` from a folder of its own,
/// which the test rewrites and reloads: the sandbox, the folder, the file.
async fn serving_a_file(tag: &str, provider: &str, text: &str) -> (Sandbox, PathBuf, PathBuf) {
    let dir = temp_dir(tag);
    let file = dir.join(format!("{provider}.yaml"));
    std::fs::write(&file, text).unwrap();
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    (sb, dir, file)
}

#[tokio::test]
async fn reload_keeps_the_old_set_on_bad_yaml() {
    let original = include_str!("../scenarios/curpv5.yaml");
    let (sb, dir, file) = serving_a_file("reload", "curpv5", original).await;
    assert_eq!(
        sb.post(
            PATH,
            &[KEY, ("x-sandbox-scenario", "deceased")],
            json!({"curp": CURP})
        )
        .await
        .status,
        200
    );

    // A field the model does not know, on a known line.
    let broken = original.replacen(
        "        status: 503\n        body: {error: CURPSV006",
        "        status: 503\n        colour: red\n        body: {error: CURPSV006",
        1,
    );
    assert_ne!(broken, original);
    let line = broken
        .lines()
        .position(|l| l.contains("colour: red"))
        .unwrap()
        + 1;
    std::fs::write(&file, &broken).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = r.json()["error"].as_str().unwrap().to_string();
    assert!(msg.contains("curpv5.yaml"), "{msg}");
    assert!(msg.contains(&format!(":{line}")), "line {line} in {msg}");
    assert!(msg.contains("colour"), "{msg}");
    // The old scenarios still answer.
    let r = sb
        .post(
            PATH,
            &[KEY, ("x-sandbox-scenario", "unavailable")],
            json!({"curp": CURP}),
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(bycurp(&sb, CURP).await.status, 200);

    // Not YAML at all.
    std::fs::write(&file, "provider: curpv5\nendpoints: [\n").unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("curpv5.yaml"));

    // Past the bounds a user's file meets before it is parsed (README, The
    // scenario files: flow collections nested "at most 128 deep", aliases
    // expanding it to at most "262,144 values"), as a reload reads it too:
    // refused at once, naming the bound, and the old scenarios answer on.
    let probe = |body: &str| {
        original.replacen(
            "      unavailable:\n",
            &format!("      probe:\n        description: x\n        status: 200\n        body:{body}\n      unavailable:\n"),
            1,
        )
    };
    let big = "x".repeat(128 * 1024);
    let bomb = probe(&format!(
        "\n          a: &a \"{big}\"\n          b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n          c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n          d: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]"
    ));
    let deep = probe(&format!(" {}", "[".repeat(100_000)));
    for (what, text, says) in [
        ("bomb", bomb, "262,144 values"),
        ("deep", deep, "deeper than 128"),
    ] {
        std::fs::write(&file, text).unwrap();
        let started = Instant::now();
        let r = sb.admin_post("/__admin/reload", json!({})).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{what}: {:?}",
            started.elapsed()
        );
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(r.text().contains(says), "{what}: {}", r.text());
        let forced = sb
            .post(
                PATH,
                &[KEY, ("x-sandbox-scenario", "probe")],
                json!({"curp": CURP}),
            )
            .await;
        assert_ne!(
            forced.scenario(),
            "probe",
            "{what}: the refused file was taken"
        );
        assert_eq!(bycurp(&sb, CURP).await.status, 200, "{what}");
    }

    // Fixed, with a new scenario: 200, and it answers.
    let fixed = original.replacen(
        "      unavailable:\n",
        "      brand_new:\n        description: added by the reload test\n        status: 418\n        body: {error: TEAPOT, message: \"short and stout\"}\n      unavailable:\n",
        1,
    );
    assert_ne!(fixed, original);
    std::fs::write(&file, &fixed).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb
        .post(
            PATH,
            &[KEY, ("x-sandbox-scenario", "brand_new")],
            json!({"curp": CURP}),
        )
        .await;
    assert_eq!(r.status, 418, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"error": "TEAPOT", "message": "short and stout"})
    );
    let catalog = sb.admin_get("/__admin/scenarios").await;
    assert!(catalog
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "brand_new"));

    // Overrides on brand_new (one in another namespace) and on a scenario
    // that stays; a reload without brand_new drops the first two and says so.
    let set = |ns: &'static str, scenario: &'static str| {
        let sb = &sb;
        async move {
            let r = sb
                .admin_post(
                    &format!("/__admin/overrides?namespace={ns}"),
                    json!({"provider": "curpv5", "scenario": scenario}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
    };
    set("default", "brand_new").await;
    set("suite-b", "brand_new").await;
    set("default", "unavailable").await;
    std::fs::write(&file, original).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let dropped = r.json()["dropped_overrides"].clone();
    let mut gone: Vec<(String, String)> = dropped
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["namespace"].as_str().unwrap().to_string(),
                d["override"]["scenario"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    gone.sort();
    assert_eq!(
        gone,
        [
            ("default".to_string(), "brand_new".to_string()),
            ("suite-b".to_string(), "brand_new".to_string())
        ]
    );
    let left = sb.admin_get("/__admin/overrides").await;
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["scenario"], "unavailable");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `POST /__admin/reload`'s `dropped_overrides` after an override in each of
/// eight namespaces lost its scenario (curpv5's `timeout`).
async fn dropped_by_a_reload() -> Value {
    let original = include_str!("../scenarios/curpv5.yaml");
    let (sb, dir, file) = serving_a_file("reload-order", "curpv5", original).await;
    for i in 0..8 {
        let r = sb
            .admin_post(
                &format!("/__admin/overrides?namespace=suite-{i}"),
                json!({"provider": "curpv5", "scenario": "timeout"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let without = original.replace(
        "      timeout:\n        description: \"CURPSV007 (504) — the source did not answer in time\"\n        status: 504\n        body: {error: CURPSV007, message: \"Service timed out.\"}\n",
        "",
    );
    assert_ne!(without, original);
    std::fs::write(&file, without).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let _ = std::fs::remove_dir_all(&dir);
    r.json()["dropped_overrides"].clone()
}

// SPEC (users): a CI suite needs "deterministic output"; README, Admin API:
// `POST /__admin/reload` answers `{"reloaded": true, "scenarios": N,
// "dropped_overrides": […]}`. Sandboxes with the same configuration, given
// the same overrides in the same namespaces and the same reload, list the
// dropped overrides in the same order.
#[tokio::test]
async fn a_reload_lists_the_dropped_overrides_in_the_same_order_on_every_run() {
    let first = dropped_by_a_reload().await;
    assert_eq!(first.as_array().map(Vec::len), Some(8), "{first}");
    let mut orders = vec![first.clone()];
    for _ in 0..2 {
        orders.push(dropped_by_a_reload().await);
    }
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["namespace"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        orders.iter().all(|o| o == &first),
        "the same reload listed the namespaces in different orders: {:?}",
        orders.iter().map(names).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn yml_files_load_as_yaml_files_do() {
    let dir = temp_dir("yml");
    let original = include_str!("../scenarios/curpv5.yaml");
    // A scenario only the .yml file has answers.
    let changed = original.replacen("  deceased:", "  deceased_yml:", 1);
    assert_ne!(changed, original);
    std::fs::write(dir.join("curpv5.yml"), &changed).unwrap();
    let config = Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    };
    let sb = Sandbox::start_with(config.clone()).await;
    let forced = |name: &'static str| [KEY, ("x-sandbox-scenario", name)];
    let r = sb
        .post(PATH, &forced("deceased_yml"), json!({"curp": CURP}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "deceased_yml");

    // Both spellings at once: neither is chosen behind the user's back.
    std::fs::write(dir.join("curpv5.yaml"), original).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = r.json()["error"].as_str().unwrap().to_string();
    assert!(msg.contains("curpv5.yml is there too"), "{msg}");

    // A broken .yml is refused with its own name and line, not skipped.
    std::fs::remove_file(dir.join("curpv5.yaml")).unwrap();
    let broken = changed.replacen("status: 200", "status: lots", 1);
    std::fs::write(dir.join("curpv5.yml"), &broken).unwrap();
    let err = mxid_sandbox::engine::load(&config, &mxid_sandbox::providers::all())
        .err()
        .expect("a broken curpv5.yml is refused");
    assert!(err.to_string().contains("curpv5.yml:"), "{err}");
    assert!(err.to_string().contains("lots"), "{err}");

    // A folder where the file should be cannot be read, and says so.
    std::fs::remove_file(dir.join("curpv5.yml")).unwrap();
    std::fs::create_dir(dir.join("nss.yaml")).unwrap();
    let err = mxid_sandbox::engine::load(&config, &mxid_sandbox::providers::all())
        .err()
        .expect("a folder named nss.yaml is refused");
    assert!(err.to_string().contains("nss.yaml: cannot read"), "{err}");
    // So does a file that is not UTF-8 text.
    std::fs::remove_dir(dir.join("nss.yaml")).unwrap();
    std::fs::write(dir.join("nss.yaml"), b"provider: nss\n\xff\xfe\n").unwrap();
    let err = mxid_sandbox::engine::load(&config, &mxid_sandbox::providers::all())
        .err()
        .expect("an nss.yaml that is not UTF-8 is refused");
    assert!(
        err.to_string()
            .ends_with("nss.yaml: cannot read: stream did not contain valid UTF-8"),
        "{err}"
    );
    std::fs::remove_file(dir.join("nss.yaml")).unwrap();

    // Fixtures likewise: a broken credentials.yml is read, not skipped.
    let fixtures = temp_dir("yml-fixtures");
    std::fs::write(fixtures.join("credentials.yml"), "curpv5: [\n").unwrap();
    let fixtures_config = Config {
        fixtures: Source::Dir(fixtures),
        ..mxid_sandbox::Config::default()
    };
    let err = mxid_sandbox::engine::load(&fixtures_config, &mxid_sandbox::providers::all())
        .err()
        .expect("a broken credentials.yml is refused");
    assert!(err.to_string().contains("credentials.yml"), "{err}");
}

// README admin table: `GET /__admin/clock` is `{"now", "scale": f}`; a
// start scale of -0 (`--time-scale=-0`) is a stopped clock and reads back
// as 0, at start and after a reset (which goes back to the start's scale).
#[tokio::test]
async fn a_start_scale_of_minus_zero_reads_back_as_zero_also_after_a_reset() {
    let mut cfg = config();
    cfg.clock = Start {
        scale: -0.0,
        ..cfg.clock
    };
    let sb = Sandbox::start_with(cfg).await;
    let positive_zero = |v: &Value| {
        v["scale"]
            .as_f64()
            .is_some_and(|s| s == 0.0 && s.is_sign_positive())
    };
    let c = sb.admin_get("/__admin/clock").await;
    assert!(positive_zero(&c), "{c}");
    let r = sb.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = sb.admin_get("/__admin/clock").await;
    assert!(positive_zero(&c), "{c}");
    sb.stop().await;
}

// An admin query parameter given twice with two values is refused, as a
// sandbox header sent twice is; the same value twice, or an empty one
// beside a value, is taken.
#[tokio::test]
async fn an_admin_parameter_given_twice_with_two_values_is_refused() {
    let sb = Sandbox::start().await;
    for path in [
        "/__admin/requests?namespace=a&namespace=b",
        "/__admin/requests?limit=1&provider=nss&limit=2",
        "/__admin/reset?namespace=a&namespace=b",
    ] {
        let method = if path.contains("reset") {
            "POST"
        } else {
            "GET"
        };
        let r = sb.send(method, path, &[], Bytes::new()).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        let said = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(
            said.ends_with("': give one") && said.contains("given twice"),
            "{path}: {said}"
        );
    }
    for path in [
        "/__admin/requests?namespace=a&namespace=a",
        "/__admin/requests?namespace=&namespace=a",
        "/__admin/requests?limit=2&limit=2",
    ] {
        let r = sb.send("GET", path, &[], Bytes::new()).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    sb.stop().await;
}

// README, "How a scenario is chosen" (step 3) and Admin API, the rows of
// `GET /__admin/overrides`, `GET /__admin/requests` and `POST
// /__admin/reset`, as a QA engineer reads them (QA probe): a sequence is
// posted last answer first; a spent override is no longer listed; an
// async override without `path` is spent by a status read; the journal's
// `path` is the path sent, its `body` the JSON value or else the text, a
// header written twice an array; a reset drops the webhook targets set
// through the admin API and keeps `--webhook-url`'s; a scenario name is
// read in its case.
#[tokio::test]
async fn the_readmes_qa_recipes_hold() {
    let sb = Sandbox::start_with(Config {
        webhook_url: Some("http://127.0.0.1:9/flag".into()),
        ..config()
    })
    .await;
    let curpv5 = |extra: &[(&'static str, &'static str)]| {
        let mut h = vec![("content-type", "application/json"), ("apikey", "k")];
        h.extend_from_slice(extra);
        h
    };
    let body = r#"{"curp":"PXNE660720HMCXTN06"}"#;
    for (scenario, times) in [("timeout", 1), ("unavailable", 1)] {
        let r = sb
            .admin_post(
                "/__admin/overrides",
                json!({"provider": "curpv5", "scenario": scenario, "times": times}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let overrides = sb.admin_get("/__admin/overrides").await;
    assert_eq!(
        overrides[0]["scenario"], "timeout",
        "oldest first: {overrides}"
    );
    assert_eq!(overrides[1]["remaining"], 1, "{overrides}");
    let mut answered = Vec::new();
    for _ in 0..3 {
        let r = sb
            .send("POST", "/api/curp/bycurp", &curpv5(&[]), body)
            .await;
        answered.push(
            r.header("x-sandbox-scenario")
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert_eq!(answered, ["unavailable", "timeout", "success"]);
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
    // A name is read in its case.
    let r = sb
        .send(
            "POST",
            "/api/curp/bycurp",
            &curpv5(&[("x-sandbox-scenario", "DECEASED")]),
            body,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["valid_scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == "deceased"));

    // An async override without `path` is spent by a status read.
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "async", "scenario": "success", "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = sb
        .send(
            "GET",
            "/api/AsyncVerication/verificationStatus?verificationId=abc",
            &[("apikey", "k")],
            "",
        )
        .await;
    assert_eq!(
        (r.status, r.header("x-sandbox-scenario")),
        (200, Some("success")),
        "{}",
        r.text()
    );
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));

    // The journal: the path sent, the body as read, a header twice.
    sb.admin_delete("/__admin/requests").await;
    for (path, content_type, sent) in [
        (
            "/curp/getData",
            "application/json",
            r#"{"curp":"A","curp":"PXNE660720HMCXTN06",}"#,
        ),
        (
            "/api/v2/curp/getData",
            "application/x-www-form-urlencoded",
            "curp=PXNE660720HMCXTN06",
        ),
    ] {
        let headers = [
            ("content-type", content_type),
            ("authorization", "Bearer t"),
            ("x-trace", "1"),
            ("x-trace", "2"),
        ];
        let r = sb.send("POST", path, &headers, sent).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let listed = sb.admin_get("/__admin/requests?path=/curp/getData").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["body"], json!({"curp": "PXNE660720HMCXTN06"}));
    assert_eq!(listed[0]["headers"]["x-trace"], json!(["1", "2"]));
    assert_eq!(listed[0]["headers"]["authorization"], "Bearer t");
    let listed = sb
        .admin_get("/__admin/requests?path=/api/v2/curp/getData")
        .await;
    assert_eq!(listed[0]["body"], "curp=PXNE660720HMCXTN06", "{listed}");

    // A reset drops the admin's webhook targets, not `--webhook-url`'s.
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/k",
            &[("content-type", "application/json")],
            r#"{"url":"http://127.0.0.1:9/hook"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sources = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["source"].as_str().unwrap().to_string())
            .collect()
    };
    let before = sources(sb.admin_get("/__admin/webhooks").await);
    assert!(before.contains(&"admin".to_string()), "{before:?}");
    sb.admin_post("/__admin/reset", json!({})).await;
    let after = sources(sb.admin_get("/__admin/webhooks").await);
    assert!(!after.contains(&"admin".to_string()), "{after:?}");
    assert!(!after.is_empty(), "--webhook-url's target stays");
}

// README, Decisions: "A mistyped path is told what it likely meant" — the
// admin API's too: an admin path a few edits away (the module's routes
// among them, a parameter filled with the request's segment), none when
// nothing is near (nor for `DELETE
// /__admin/overrides/`, which is not told to clear them all: see
// `deleting_overrides_with_a_trailing_slash_is_no_route_and_clears_nothing`).
#[tokio::test]
async fn a_mistyped_admin_path_is_told_the_route_it_likely_meant() {
    let sb = Sandbox::start().await;
    // Only a route of the request's method is offered, and none to a
    // DELETE: one that missed `overrides/{id}` or `requests` by a letter
    // is not told to clear them all.
    for (method, sent, meant) in [
        ("GET", "/__admin/overides", Some("/__admin/overrides")),
        ("GET", "/__admin/Requests", Some("/__admin/requests")),
        (
            "GET",
            "/__admin/verification",
            Some("/__admin/verifications"),
        ),
        ("GET", "/__admin/webhook", Some("/__admin/webhooks")),
        ("GET", "/__admin/everything", None),
        ("PUT", "/__admin/webhook/k1", Some("/__admin/webhooks/k1")),
        (
            "POST",
            "/__admin/webhooks/deliveries/v-7/redelivr",
            Some("/__admin/webhooks/deliveries/v-7/redeliver"),
        ),
        ("POST", "/__admin/scenario", None),
        ("DELETE", "/__admin/overrides1", None),
        ("DELETE", "/__admin/override/1", None),
        ("DELETE", "/__admin/requests/1", None),
    ] {
        let r = sb.send(method, sent, &[], "").await;
        assert_eq!(r.status, 404, "{method} {sent}: {}", r.text());
        let said = format!("no admin route {method} {sent}");
        let want = match meant {
            Some(p) => format!("{said}; did you mean {p}?"),
            None => said,
        };
        assert_eq!(r.json(), json!({ "error": want }), "{method} {sent}");
    }
    // A path over 1 KB is told nothing.
    for (n, told) in [(1024 - 17, true), (1025 - 17, false)] {
        let sent = format!("/__admin/webhook/{}", "k".repeat(n));
        let r = sb.send("PUT", &sent, &[], "").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.text().contains("did you mean"), told, "{n}");
    }
}

//! nss under `--strict-sandbox` and `--strict-auth`, from flags and from the environment.

use crate::common::*;
use serde_json::json;

const NSS: &str = "/api/v1/imss/nss";
const EXAMPLE: &str = "ABCD570805HYNHLC52";
const SYNTHETIC: &str = "GOMC850312HJCNRR05";
/// fixtures/personas.yaml: `scenario: not_found` for every provider.
const PERSONA_NOT_FOUND: &str = "GAPA950819HGTLRR07";

// README Decisions "nss: `--strict-sandbox`
// replaces only the realistic path (step 5): the X-Sandbox-Scenario header,
// overrides and personas still answer"; the format check comes first; a
// refused request is not counted and is journaled as test_case_not_found.
#[tokio::test]
async fn nss_strict_sandbox_keeps_header_override_persona_and_counts_nothing() {
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        strict_sandbox: true,
        ..config()
    })
    .await;
    let k = ("x-api-key", "k");
    let r = sb.post(NSS, &[k], json!({"curp": "nope"})).await;
    assert_eq!(
        (r.status, r.scenario()),
        (400, "invalid_format"),
        "{}",
        r.text()
    );
    let r = sb
        .post(
            NSS,
            &[k, ("X-Sandbox-Scenario", "success")],
            json!({"curp": SYNTHETIC}),
        )
        .await;
    assert_eq!((r.status, r.scenario()), (200, "success"), "{}", r.text());
    let r = sb.post(NSS, &[k], json!({"curp": PERSONA_NOT_FOUND})).await;
    assert_eq!((r.status, r.scenario()), (200, "not_found"), "{}", r.text());
    let o = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "nss", "path": NSS, "scenario": "unavailable", "times": 1}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text());
    let r = sb
        .post("/api/v2/imss/nss", &[k], json!({"curp": SYNTHETIC}))
        .await;
    assert_eq!(
        (r.status, r.scenario()),
        (200, "unavailable"),
        "{}",
        r.text()
    );
    for _ in 0..3 {
        let r = sb.post(NSS, &[k], json!({"curp": SYNTHETIC})).await;
        assert_eq!(
            (r.status, r.scenario()),
            (400, "test_case_not_found"),
            "{}",
            r.text()
        );
    }
    assert_eq!(sb.admin_get("/__admin/counters").await, json!([]));
    let j = sb.admin_get("/__admin/requests?provider=nss&limit=1").await;
    assert_eq!(j[0]["scenario"], "test_case_not_found", "{j}");
}

// README "How a scenario is chosen": first
// match wins *after the credential check*, so under --strict-auth a forced
// scenario or nss test case with an unlisted key is refused; both switches
// also read from MXID_STRICT_AUTH / MXID_STRICT_SANDBOX (README "Command line").
#[tokio::test]
async fn strict_flags_from_env_check_the_credential_before_header_and_test_case() {
    let s = Served::start(
        &["--port", "0"],
        &[("MXID_STRICT_AUTH", "yes"), ("MXID_STRICT_SANDBOX", "on")],
    );
    let listed = ("x-api-key", "sandbox-api-key");
    let other = ("x-api-key", "k");
    let r = s.post(NSS, &[listed], json!({"curp": SYNTHETIC})).await;
    assert_eq!(
        (r.status, r.scenario()),
        (400, "test_case_not_found"),
        "{}",
        r.text()
    );
    let r = s.post(NSS, &[other], json!({"curp": SYNTHETIC})).await;
    assert_eq!(
        (r.status, r.scenario()),
        (401, "invalid_credentials"),
        "{}",
        r.text()
    );
    let r = s
        .post(
            NSS,
            &[other, ("X-Sandbox-Scenario", "success")],
            json!({"curp": SYNTHETIC}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    let tc = format!("{NSS}?testCase=success");
    let r = s.post(&tc, &[other], json!({"curp": EXAMPLE})).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = s.post(&tc, &[listed], json!({"curp": EXAMPLE})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    s.kill();
}

//! Edges of the rules that a mutation of the code showed no test held:
//! which source wins when two apply, which check answers when two fail,
//! the defaults a user's file leaves in place, and values sent with spaces
//! around them.

use serde_json::{json, Value};

use crate::common::{config, temp_dir, RemovedOnDrop, Resp, Sandbox};
use mxid_sandbox::config::Source;
use mxid_sandbox::Config;

/// A sandbox serving the embedded `{provider}.yaml` edited by `edit` (each
/// text must be there) from a folder of its own.
async fn edited(provider: &str, edit: &[(&str, &str)]) -> (Sandbox, RemovedOnDrop) {
    let dir = temp_dir(&format!("edges-{provider}"));
    let embedded = mxid_sandbox::providers::all()
        .into_iter()
        .find(|m| m.id() == provider)
        .expect("a provider")
        .yaml()
        .to_string();
    let mut yaml = embedded;
    for (from, to) in edit {
        assert!(yaml.contains(from), "{from}");
        yaml = yaml.replacen(from, to, 1);
    }
    std::fs::write(dir.join(format!("{provider}.yaml")), yaml).unwrap();
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    (sb, RemovedOnDrop(dir))
}

// README, The scenario files: "a fault from the header, the override, then
// the scenario". Swapping the last two went unseen: no embedded scenario
// has a `fault:`.
#[tokio::test]
async fn a_fault_comes_from_the_header_then_the_override_then_the_scenario() {
    let (sb, _dir) = edited(
        "curpv5",
        &[(
            "with the person's own CURP status\n        status: 200\n",
            "with the person's own CURP status\n        status: 200\n        fault: empty_response\n",
        )],
    )
    .await;
    let body = r#"{"curp":"PXNE660720HMCXTN06"}"#;
    let send = |extra: Option<(&'static str, &'static str)>| {
        let mut headers = vec![("apikey", "k")];
        headers.extend(extra);
        sb.send_in_background("POST", "/api/curp/bycurp", &headers, body)
    };
    // Whatever the client makes of a fault, the journal names it.
    let _ = send(None).await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "success", "fault": "connection_reset"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let _ = send(None).await;
    let _ = send(Some(("x-sandbox-fault", "malformed_body"))).await;
    let faults: Vec<Value> = sb.admin_get("/__admin/requests").await.as_array().unwrap()[..3]
        .iter()
        .map(|e| e["fault"].clone())
        .collect();
    assert_eq!(
        faults,
        ["empty_response", "connection_reset", "malformed_body"]
    );
}

// README, accuauth's settings: `same_id_per_day` is 10 by default, "the
// 11th and later". A user's file that leaves the setting out keeps it.
#[tokio::test]
async fn accuauths_same_id_limit_is_10_when_a_users_file_leaves_it_out() {
    let (sb, _dir) = edited("accuauth", &[("  same_id_per_day: 10\n", "")]).await;
    let creds = [("X-DF-API-ID", "api"), ("X-DF-API-SECRET", "s")];
    let body = json!({"id_number": "PXNE660720HMCXTN06"});
    for _ in 0..10 {
        let r = sb.post("/verify/id_check", &creds, body.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = sb.post("/verify/id_check", &creds, body).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.scenario(), "attempts_exceeded");
}

// async RfcByCurp checks the CURP before the state: a request wrong in both
// gets the CURP's RFC006, as one wrong in the CURP alone does.
#[tokio::test]
async fn rfc_by_curp_answers_a_bad_curp_before_a_bad_state() {
    let sb = Sandbox::start().await;
    for body in [
        json!({"curp": "PXNE66072OHMCXTN06", "state": 99}),
        json!({"curp": "bad"}),
    ] {
        let r = sb
            .post("/api/AsyncVerication/RfcByCurp", &[("apikey", "k")], body)
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["code"], "RFC006", "{}", r.text());
    }
}

async fn calculate(sb: &Sandbox, change: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
    let mut body = crate::validacurp::calc_body();
    for (k, v) in change {
        body[*k] = json!(v);
    }
    sb.post("/curp/calculateCURP", headers, body).await
}

// validacurp seed 001 lists calculateCURP's format codes 408–416 in order,
// and the module checks in that order: a month out of range (413) answers
// before a two-digit year (414).
#[tokio::test]
async fn calculate_curp_answers_the_first_failing_check_in_the_tables_order() {
    let sb = Sandbox::start().await;
    let r = calculate(&sb, &[("birthMonth", "13"), ("yearBirth", "66")], &[]).await;
    assert_eq!(r.json()["code_error"], 413, "{}", r.text());
}

// calculateCURP reads its values trimmed: spaces around a day, a gender or
// a state give the CURP they would without them.
#[tokio::test]
async fn calculate_curp_reads_values_with_spaces_around_them() {
    let sb = Sandbox::start().await;
    let plain = calculate(&sb, &[], &[]).await.json();
    assert_eq!(plain["error"], false, "{plain}");
    let spaced = calculate(
        &sb,
        &[("birthday", " 20"), ("gender", "H "), ("entity", " 15 ")],
        &[],
    )
    .await
    .json();
    assert_eq!(
        spaced["response"]["curp"], plain["response"]["curp"],
        "{spaced}"
    );
}

// validacurp: a bearer token in the header wins; an empty one is none, and
// the body's token answers.
#[tokio::test]
async fn an_empty_bearer_token_leaves_the_bodys_token_to_answer() {
    let sb = Sandbox::start().await;
    let r = calculate(
        &sb,
        &[("token", "pruebas")],
        &[("authorization", "Bearer ")],
    )
    .await;
    assert_eq!(r.scenario(), "pruebas", "{}", r.text());
}

// nss: a test case's id or name with spaces around it (`%20`) picks it, as
// the CURP with spaces around it is read.
#[tokio::test]
async fn an_nss_test_case_is_picked_with_spaces_around_its_id_or_name() {
    let sb = Sandbox::start().await;
    let key = [("x-api-key", "k")];
    let cases = sb.get("/api/v1/imss/nss/test_case", &key).await.json();
    let first = &cases[0];
    let name = first["name"].as_str().unwrap();
    let id = first["id"].as_str().unwrap();
    for query in [
        format!("testCaseId=%20{id}%20"),
        format!("testCase={name}%20"),
    ] {
        let r = sb
            .post(
                &format!("/api/v2/imss/nss?{query}"),
                &key,
                json!({"curp": "ABCD570805HYNHLC52"}),
            )
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert_eq!(r.scenario(), name, "{query}");
    }
}

//! accuauth against seed 002 read letter by letter: what the other accuauth
//! tests do not pin (user scenarios stating the person, the counters' day
//! and what they count).

use serde_json::json;

use crate::common::{config, Resp, Sandbox};

const PATH: &str = "/verify/id_check";
const CREDS: [(&str, &str); 2] = [("X-DF-API-ID", "audit-api-id"), ("X-DF-API-SECRET", "s")];
const EPN: &str = "PXNE660720HMCXTN06";
/// A strictly valid CURP with no persona: a synthetic person.
const NAZA: &str = "NAZA650704MTLVCL05";

async fn check(sb: &Sandbox, id: &str) -> Resp {
    sb.post(PATH, &CREDS, json!({ "id_number": id })).await
}

async fn forced(sb: &Sandbox, scenario: &str, id: &str) -> Resp {
    let mut h = CREDS.to_vec();
    h.push(("X-Sandbox-Scenario", scenario));
    sb.post(PATH, &h, json!({ "id_number": id })).await
}

/// The embedded accuauth.yaml with `settings` replaced and `extra`
/// scenarios added to id_check, in a folder of its own.
fn scenarios_dir(tag: &str, settings: Option<&str>, extra: &str) -> std::path::PathBuf {
    let mut yaml = include_str!("../../scenarios/accuauth.yaml").to_string();
    if let Some(settings) = settings {
        let start = yaml.find("\nsettings:\n").unwrap() + 1;
        let end = start + yaml[start..].find("\nerrors:\n").unwrap() + 1;
        yaml = format!("{}settings:\n{settings}\n{}", &yaml[..start], &yaml[end..]);
    }
    if !extra.is_empty() {
        let at = yaml.find("      timeout:\n").unwrap();
        yaml.insert_str(at, extra);
    }
    let dir = crate::common::temp_dir(tag);
    std::fs::write(dir.join("accuauth.yaml"), yaml).unwrap();
    dir
}

async fn start_with(
    tag: &str,
    settings: Option<&str>,
    extra: &str,
) -> (Sandbox, crate::common::RemovedOnDrop) {
    let dir = scenarios_dir(tag, settings, extra);
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        scenarios: mxid_sandbox::config::Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    (sb, crate::common::RemovedOnDrop(dir))
}

// README, "The scenario files": "The engine fills `scenario` and `now`
// everywhere and `message` in the `errors:` entries; each module fills its
// own in its scenarios". `nombre`, `fecha_nacimiento` and `doc_probatorio`
// are accuauth's own placeholders (the load check takes them), but a
// scenario whose body does not also name `{{curp}}` gets them unfilled:
// observed `"nombre":null,"fecha":null,"doc":null` and an empty `X-Nombre`
// header (src/providers/accuauth.rs `vars` returns before the person when
// the body has no `curp` variable).
#[tokio::test]
async fn a_user_scenario_gets_the_persons_fields_without_naming_the_curp() {
    let extra = r#"      name_only:
        description: "the person's name and birth date, without the CURP"
        status: 200
        headers: {X-Nombre: "{{nombre}}"}
        body: {status: OK, nombre: "{{nombre}}", fecha: "{{fecha_nacimiento}}", doc: "{{doc_probatorio}}", request_id: "{{request_id}}"}
"#;
    let (sb, _gone) = start_with("name-only", None, extra).await;
    let r = forced(&sb, "name_only", EPN).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["nombre"], "ENRIQUE", "{b}");
    assert_eq!(b["fecha"], "20/07/1966", "{b}");
    assert_eq!(b["doc"], 1, "{b}");
    assert_eq!(r.header("x-nombre"), Some("ENRIQUE"));
}

// README, "The scenario files", the documented example of a scenario:
// `headers: {X-Any: "{{curp}}"}   # optional`, and "each module fills its
// own in its scenarios". An accuauth scenario with `{{curp}}` in a header
// only (its body without it) answers the header empty: observed `x-curp: `
// (the module looks for `curp` in the body alone).
#[tokio::test]
async fn a_user_scenarios_curp_header_is_filled_when_the_body_has_no_curp() {
    let extra = r#"      curp_header:
        description: "the CURP in a header, an empty body"
        status: 200
        headers: {X-Curp: "{{curp}}"}
        body: {status: OK, request_id: "{{request_id}}"}
"#;
    let (sb, _gone) = start_with("curp-header", None, extra).await;
    let r = forced(&sb, "curp_header", NAZA).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-curp"), Some(NAZA));
}

// SPEC §5 "Days are provider days (America/Mexico_City, UTC-6)"; README
// counters: `same_id_per_day` over a "provider day (UTC-6)". 18:30 in
// Mexico City is the next day in UTC and still the same provider day; past
// midnight UTC-6 the count starts again.
#[tokio::test]
async fn the_repeat_limit_runs_over_mexico_citys_day() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "2024-05-15T17:30:00-06:00"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for _ in 0..10 {
        assert_eq!(check(&sb, EPN).await.status, 200);
    }
    sb.advance("1h").await;
    let r = check(&sb, EPN).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["status"], "ABNORMAL_BEHAVIOURS_DETECTED");
    sb.advance("6h").await;
    let r = check(&sb, EPN).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["result_code"], "0");
}

// README Decisions (accuauth): the realistic path is "rate limit (before the
// ID is looked at ...), the missing argument, quota ...". "Only the realistic
// path counts; forced scenarios, overrides and personas that name a scenario
// do not". A missing id_number spends the second's request but not the
// quota; a forced scenario, an override and GAPA (a not-found persona)
// spend neither.
#[tokio::test]
async fn what_the_rate_and_the_quota_count() {
    let (sb, _gone) = start_with("rate-missing", Some("  requests_per_second: 1"), "").await;
    let r = sb.post(PATH, &CREDS, json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["status"], "INVALID_ARGUMENT");
    let r = check(&sb, EPN).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["status"], "RATE_LIMIT_EXCEEDED");
    drop(sb);

    let (sb, _gone) = start_with("quota-counts", Some("  quota: 1"), "").await;
    assert_eq!(sb.post(PATH, &CREDS, json!({})).await.status, 400);
    let r = check(&sb, "GAPA950819HGTLRR07").await;
    assert_eq!(r.json()["result_code"], "1", "{}", r.text());
    assert_eq!(forced(&sb, "success", EPN).await.status, 200);
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "accuauth", "scenario": "not_found", "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(check(&sb, EPN).await.json()["result_code"], "1");
    // The quota's one request, then over it.
    let r = check(&sb, EPN).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = check(&sb, NAZA).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["status"], "OUT_OF_QUOTA");
}

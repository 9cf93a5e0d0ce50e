//! Hostile values where requests are echoed: every endpoint × scenario of
//! the catalog (forced with `X-Sandbox-Scenario`) and the realistic path,
//! with quotes, backslashes, `</script>`, control characters, U+2028/U+2029,
//! non-BMP characters, escapes written as text, 64 KB strings and
//! non-strings where strings are expected — in JSON, urlencoded and
//! multipart bodies, query strings and path parameters. Every answer keeps
//! its status (5xx only when the scenario says so), says JSON and is JSON,
//! and an echoed value comes back as sent (or as its documented
//! normalization: a CURP trimmed and upper-cased, a verification id trimmed
//! and lower-cased). And every row's description against its answer: what
//! the catalog says a scenario answers, it answers.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::common::{assert_every_provider, Http, Resp, Sandbox};
use mxid_sandbox::config::Source;
use mxid_sandbox::curp::is_loose;

const JSON_TYPE: &str = "application/json; charset=utf-8";
const BOUNDARY: &str = "mxidEchoBoundary7MA4YWxkTrZu0gW";
/// The CURP curpv5 and validacurp render a forced scenario with when the
/// request has no usable one.
const EXAMPLE_CURP: &str = "PXNE660720HMCXTN06";
/// accuauth's: the persona of its document's example (a masked CURP).
const ACCUAUTH_EXAMPLE_CURP: &str = "RAZR811011HVZMPB01";
/// What a forced `success` on the status route states without a stored
/// verification or a usable id.
const ZERO_ID: &str = "00000000-0000-4000-8000-000000000000";
/// The most a request line may carry (hyper's limit is 64 KB for the whole
/// URI): the long value of a query string or a path.
const LONG_IN_URI: usize = 60 * 1024;

/// The hostile strings.
fn strings() -> Vec<String> {
    let controls: String = (0u8..0x20).chain([0x7f]).map(char::from).collect();
    vec![
        r#"quo"te"""#.into(),
        r"back\slash\".into(),
        "</script><script>alert(1)</script>".into(),
        controls,
        "\u{2028}line\u{2029}para\u{85}".into(),
        "😀𝄞𠜎 non-BMP".into(),
        r"\u0000\ud800\udfff\x00\xff%00%ff".into(),
        "\u{fffd}\u{feff}\u{ffff}\u{10ffff}".into(),
        "{{curp}} {{message}} ${x}".into(),
        "A".repeat(64 * 1024),
        String::new(),
        " \t\r\n ".into(),
        // Echoable: each is a CURP once trimmed and upper-cased.
        " abcd570805hynhlc52\u{2028}".into(),
        "\tpxne660720hmcxtn06\n".into(),
    ]
}

/// Values of every other JSON type, where strings are expected.
fn non_strings() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(1.5e300),
        json!(18446744073709551616.0),
        json!(true),
        json!(false),
        Value::Null,
        json!([]),
        json!({}),
        json!([EXAMPLE_CURP]),
        json!({"curp": EXAMPLE_CURP}),
    ]
}

/// What an endpoint reads from a request, and a body it takes as valid.
struct Spec {
    body_fields: &'static [&'static str],
    query_fields: &'static [&'static str],
    path_param: bool,
    good: Value,
}

fn spec(provider: &str, path: &str) -> Spec {
    let fields = |body_fields, query_fields, good| Spec {
        body_fields,
        query_fields,
        path_param: false,
        good,
    };
    match (provider, path) {
        ("curpv5", _) => fields(&["curp"], &[], json!({"curp": EXAMPLE_CURP})),
        ("validacurp", "/curp/calculateCURP") => fields(
            &crate::common::CALC_FIELDS,
            &["library"],
            json!({
                "names": "enrique", "lastName": "peña", "secondLastName": "nieto",
                "birthday": "20", "birthMonth": "07", "yearBirth": "1966",
                "gender": "H", "entity": "15"
            }),
        ),
        ("validacurp", "/curp/getEntities") => fields(&["extra"], &["library"], json!({})),
        ("validacurp", _) => fields(&["curp"], &["library"], json!({"curp": EXAMPLE_CURP})),
        ("accuauth", _) => fields(&["id_number"], &[], json!({"id_number": EXAMPLE_CURP})),
        ("nss", "/api/v1/imss/nss") => fields(
            &["curp"],
            &["testCase", "testCaseId"],
            json!({"curp": "ABCD570805HYNHLC52"}),
        ),
        ("nss", "/api/v1/imss/nss/{id}") => Spec {
            body_fields: &[],
            query_fields: &[],
            path_param: true,
            good: Value::Null,
        },
        ("nss", "/api/v1/imss/nss/test_case") => fields(&[], &["testCase"], Value::Null),
        ("nss", _) => fields(&[], &["page", "itemsPerPage"], Value::Null),
        ("async", "/api/AsyncVerication/IneNominalList") => fields(
            &["type", "id", "ocr", "issueNumber"],
            &[],
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "03"}),
        ),
        ("async", "/api/AsyncVerication/RfcByCurp") => fields(
            &["curp", "state"],
            &[],
            json!({"curp": EXAMPLE_CURP, "state": 15}),
        ),
        ("async", "/api/AsyncVerication/NssByCurp") => {
            fields(&["curp"], &[], json!({"curp": EXAMPLE_CURP}))
        }
        ("async", _) => fields(&["verificationId"], &["verificationId"], Value::Null),
        other => panic!("no request spec for {other:?}: a new endpoint in the catalog"),
    }
}

fn credentials(provider: &str) -> Vec<(&'static str, &'static str)> {
    match provider {
        "curpv5" | "async" => vec![("apikey", "echo-key")],
        "nss" => vec![("x-api-key", "echo-key")],
        "accuauth" => vec![("X-DF-API-ID", "echo-id"), ("X-DF-API-SECRET", "s")],
        "validacurp" => vec![("Authorization", "Bearer t")],
        other => panic!("no credentials for {other}"),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A field's value as a provider reads it as text: strings and numbers.
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text_of(v: &Value) -> String {
    as_text(v).unwrap_or_else(|| v.to_string())
}

fn urlencoded(body: &serde_json::Map<String, Value>) -> Vec<u8> {
    body.iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(&text_of(v))))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn multipart(body: &serde_json::Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in body {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n")
                .as_bytes(),
        );
        out.extend_from_slice(text_of(v).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// An echoed value a case checks, as the request carries it.
#[derive(Clone, Debug)]
enum Echo {
    None,
    /// The CURP field's text (`None`: absent or not text).
    Curp(Option<String>),
    /// The verification id's text.
    VerificationId(Option<String>),
}

#[derive(Clone, Debug)]
struct Case {
    label: String,
    provider: String,
    path: String,
    method: &'static str,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The forced scenario and its status; `None` on the realistic path.
    forced: Option<String>,
    status: Option<u16>,
    json_body: bool,
    echo: Echo,
}

/// Where each provider's answer states the CURP the request is about, and
/// the CURP it falls back to (`None`: the scenario's own document CURP).
fn curp_echo(provider: &str, path: &str) -> Option<(&'static str, Option<&'static str>)> {
    match (provider, path) {
        ("curpv5", _) => Some(("/curp", Some(EXAMPLE_CURP))),
        ("accuauth", _) => Some(("/result/curp", Some(ACCUAUTH_EXAMPLE_CURP))),
        ("validacurp", "/curp/getData") => Some(("/response/Applicant/CURP", Some(EXAMPLE_CURP))),
        ("nss", "/api/v1/imss/nss") => Some(("/request/curp", None)),
        _ => None,
    }
}

/// The CURP as every provider normalizes it (README: trimmed, upper-cased).
fn normalized_curp(sent: &str) -> String {
    sent.trim().to_ascii_uppercase()
}

fn check(case: &Case, r: &Resp) -> Result<(), String> {
    match case.status {
        Some(want) if r.status != want => {
            return Err(format!("status {} (forced scenario says {want})", r.status))
        }
        None if r.status >= 500 => {
            return Err(format!("status {} on the realistic path", r.status))
        }
        _ => {}
    }
    if let Some(name) = case.forced.as_deref().filter(|n| r.scenario() != *n) {
        return Err(format!("answered by {:?}, not {name}", r.scenario()));
    }
    if r.header("content-type") != Some(JSON_TYPE) {
        return Err(format!("content-type {:?}", r.header("content-type")));
    }
    if !case.json_body {
        return Ok(());
    }
    let body: Value = serde_json::from_slice(&r.body).map_err(|e| format!("not JSON ({e})"))?;
    if !(body.is_object() || body.is_array()) {
        return Err(format!("JSON {body} is neither an object nor a list"));
    }
    match &case.echo {
        Echo::None => {}
        Echo::Curp(sent) => {
            let Some((pointer, fallback)) = curp_echo(&case.provider, &case.path) else {
                return Ok(());
            };
            // The pruebas answer is static test data, not the person.
            let Some(echoed) = body.pointer(pointer).filter(|_| r.scenario() != "pruebas") else {
                return Ok(());
            };
            let usable = sent.as_deref().map(normalized_curp).filter(|c| is_loose(c));
            match (usable, fallback) {
                (Some(c), _) if echoed != &Value::String(c.clone()) => {
                    return Err(format!("CURP echoed as {echoed}, sent as {sent:?} ({c})"))
                }
                (None, Some(f)) if echoed != f => {
                    return Err(format!("CURP {echoed} for the unusable {sent:?}; want {f}"))
                }
                (None, None) if !echoed.as_str().is_some_and(is_loose) => {
                    return Err(format!("CURP {echoed} for the unusable {sent:?}"))
                }
                _ => {}
            }
        }
        Echo::VerificationId(sent) => {
            if r.scenario() == "success" {
                let want = sent
                    .as_deref()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| ZERO_ID.to_string());
                if body["verificationId"] != Value::String(want.clone()) {
                    return Err(format!(
                        "verificationId {:.200} for {:.200?}",
                        body["verificationId"], want
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Status and fault of every scenario, by provider, first path and name,
/// read from the embedded scenario files.
fn scenario_table() -> HashMap<(String, String, String), (u16, Option<&'static str>)> {
    let defs =
        mxid_sandbox::engine::load_scenarios(&Source::Embedded, &mxid_sandbox::providers::all())
            .expect("the embedded scenarios load");
    let mut out = HashMap::new();
    for p in &defs {
        for e in &p.endpoints {
            for (name, s) in &e.scenarios {
                out.insert(
                    (p.id.clone(), e.path().to_string(), name.clone()),
                    (s.status.as_u16(), s.fault.map(|f| f.name())),
                );
            }
        }
    }
    out
}

/// Whether the answer of a case (and its forced scenario) has a whole JSON
/// body, and whether it can be sent at all (faults that hang or cut the
/// connection are not).
fn fault_allows(fault: Option<&str>) -> Option<bool> {
    match fault {
        None => Some(true),
        Some("malformed_body") => Some(false),
        Some(_) => None,
    }
}

struct Builder {
    cases: Vec<Case>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        label: String,
        row: &Row,
        method: &'static str,
        uri: String,
        content_type: Option<&str>,
        header_auth: bool,
        body: Vec<u8>,
        echo: Echo,
    ) {
        // Without the header credential, validacurp reads the body's token.
        let mut headers: Vec<(String, String)> = credentials(&row.provider)
            .into_iter()
            .filter(|_| header_auth)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(ct) = content_type {
            headers.push(("content-type".into(), ct.into()));
        }
        if let Some(name) = &row.scenario {
            headers.push(("X-Sandbox-Scenario".into(), name.clone()));
        }
        self.cases.push(Case {
            label: format!(
                "{} {} {} [{}] {label}",
                row.provider,
                method,
                row.path,
                row.scenario.as_deref().unwrap_or("realistic")
            ),
            provider: row.provider.clone(),
            path: row.path.clone(),
            method,
            uri,
            headers,
            body,
            forced: row.scenario.clone(),
            status: row.status,
            json_body: row.json_body,
            echo,
        });
    }
}

/// One endpoint × scenario of the catalog, or an endpoint's realistic path.
struct Row {
    provider: String,
    method: &'static str,
    path: String,
    scenario: Option<String>,
    status: Option<u16>,
    json_body: bool,
    /// Its place in the catalog: which slice of the hostile values a forced
    /// scenario gets (the realistic path gets them all).
    index: usize,
}

/// The first of a catalog row's methods (`GET,POST`).
fn method_of(m: &str) -> &'static str {
    match m.split(',').next().unwrap_or(m) {
        "GET" => "GET",
        "POST" => "POST",
        other => panic!("catalog method {other}"),
    }
}

fn echo_for(row: &Row, field: &str, value: &Value) -> Echo {
    match field {
        "curp" | "id_number" => Echo::Curp(as_text(value)),
        "verificationId" if row.provider == "async" => Echo::VerificationId(as_text(value)),
        _ => Echo::None,
    }
}

/// The requests of one row: bodies with each field hostile in turn (the
/// others valid), query parameters, path parameters.
fn cases_of(b: &mut Builder, row: &Row, strings: &[String], non_strings: &[Value]) {
    let spec = spec(&row.provider, &row.path);
    let forced = row.scenario.is_some();
    // A forced scenario sends each of its values on one field and one
    // transport, chosen by its place in the catalog; the realistic path
    // sends every value on every field and transport.
    let picks = |n: usize, i: usize| -> Vec<usize> {
        if n == 0 {
            Vec::new()
        } else if forced {
            vec![(row.index + i) % n]
        } else {
            (0..n).collect()
        }
    };
    let values: Vec<Value> = strings
        .iter()
        .cloned()
        .map(Value::String)
        .chain(non_strings.iter().cloned())
        .collect();
    let body_methods: Vec<&'static str> = match (row.provider.as_str(), row.method) {
        // The status route takes its id in a POST body too.
        ("async", "GET") if !spec.body_fields.is_empty() => vec!["POST"],
        (_, "POST") => vec!["POST"],
        _ => vec![],
    };
    // A forced scenario gets a third of the values, a different third for
    // each scenario of an endpoint, and the 64 KB one now and then (it
    // costs milliseconds a request in a debug build).
    let long = strings.iter().position(|s| s.len() > 1024);
    let mine = |i: usize| {
        !forced
            || ((i + row.index).is_multiple_of(3)
                && (Some(i) != long || row.index.is_multiple_of(5)))
    };
    for method in body_methods {
        for (i, value) in values.iter().enumerate().filter(|(i, _)| mine(*i)) {
            for f in picks(spec.body_fields.len(), i) {
                let field = spec.body_fields[f];
                let mut body = spec.good.as_object().cloned().unwrap_or_default();
                body.insert(field.to_string(), value.clone());
                let echo = echo_for(row, field, value);
                let shown = format!("{field}={:.60}", value.to_string());
                let transports: Vec<usize> = if value.is_string() {
                    picks(3, i / 3)
                } else {
                    vec![0]
                };
                for t in transports {
                    let (ct, bytes, how) = match t {
                        0 => (
                            "application/json".to_string(),
                            serde_json::to_vec(&Value::Object(body.clone())).unwrap(),
                            "json",
                        ),
                        1 => (
                            "application/x-www-form-urlencoded".to_string(),
                            urlencoded(&body),
                            "urlencoded",
                        ),
                        _ => (
                            format!("multipart/form-data; boundary={BOUNDARY}"),
                            multipart(&body),
                            "multipart",
                        ),
                    };
                    b.push(
                        format!("{how} {shown}"),
                        row,
                        method,
                        row.path.clone(),
                        Some(&ct),
                        true,
                        bytes,
                        echo.clone(),
                    );
                }
            }
        }
        // validacurp's token in the body, without the header that would
        // win: the realistic path only (a hostile token is refused before
        // any scenario is chosen).
        if row.provider == "validacurp" && !forced {
            for s in strings {
                let mut body = spec.good.as_object().cloned().unwrap_or_default();
                body.insert("token".into(), Value::String(s.clone()));
                b.push(
                    format!("body token={:.60?}", s),
                    row,
                    method,
                    row.path.clone(),
                    Some("application/json"),
                    false,
                    serde_json::to_vec(&Value::Object(body)).unwrap(),
                    Echo::None,
                );
            }
        }
    }
    // Query parameters: percent-encoded, with a valid body where one is
    // taken; the long value within what a request line may carry.
    let in_uri = |s: &String| -> String {
        if s.len() > LONG_IN_URI {
            s[..LONG_IN_URI].to_string()
        } else {
            s.clone()
        }
    };
    let good_body = spec
        .good
        .as_object()
        .map(|o| serde_json::to_vec(o).unwrap())
        .unwrap_or_default();
    let ct = (!good_body.is_empty()).then_some("application/json");
    for (i, s) in strings.iter().enumerate() {
        for f in picks(spec.query_fields.len(), i)
            .into_iter()
            .filter(|_| mine(i))
        {
            let field = spec.query_fields[f];
            let s = in_uri(s);
            let echo = echo_for(row, field, &Value::String(s.clone()));
            b.push(
                format!("query {field}={:.60?}", s),
                row,
                row.method,
                format!("{}?{field}={}", row.path, pct(&s)),
                ct,
                true,
                good_body.clone(),
                echo,
            );
        }
        if spec.path_param && (!forced || i == row.index % strings.len()) {
            let s = in_uri(s);
            b.push(
                format!("path {:.60?}", s),
                row,
                row.method,
                row.path.replace("{id}", &pct(&s)),
                None,
                true,
                Vec::new(),
                Echo::None,
            );
        }
    }
    // Escapes that decode to no valid text, raw bytes that are not UTF-8:
    // percent-encoded in the query, where they are read as text (lossy).
    for field in spec.query_fields.iter().take(if forced { 1 } else { 2 }) {
        let raw = "%FF%C0%80%ED%A0%80%F4%90%80%80";
        let decoded =
            String::from_utf8_lossy(&[0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80])
                .into_owned();
        let echo = echo_for(row, field, &Value::String(decoded));
        b.push(
            format!("query {field}=<not UTF-8>"),
            row,
            row.method,
            format!("{}?{field}={raw}", row.path),
            ct,
            true,
            good_body.clone(),
            echo,
        );
    }
}

/// Runs the cases on `workers` tasks: the failures, each with its case.
async fn run(http: Arc<Http>, cases: Vec<Case>, workers: usize) -> Vec<String> {
    let per = cases.len().div_ceil(workers).max(1);
    let mut set = JoinSet::new();
    let mut cases = cases;
    while !cases.is_empty() {
        let chunk: Vec<Case> = cases.drain(..per.min(cases.len())).collect();
        let http = http.clone();
        set.spawn(async move {
            let mut failures = Vec::new();
            for case in chunk {
                let headers: Vec<(&str, &str)> = case
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let r = http
                    .send(case.method, &case.uri, &headers, case.body.clone())
                    .await;
                if let Err(why) = check(&case, &r) {
                    failures.push(format!(
                        "{}: {why}\n    answer {} {:.300}",
                        case.label,
                        r.status,
                        r.text()
                    ));
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = set.join_next().await {
        failures.extend(done.expect("a worker finished"));
    }
    failures
}

fn assert_none(failures: &[String], of: usize) {
    assert!(
        failures.is_empty(),
        "{} of {of} answers broke a promise; the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_scenario_answers_hostile_values_well_formed_and_echoes_them_as_sent() {
    let sb = Sandbox::start().await;
    let table = scenario_table();
    let catalog = sb.admin_get("/__admin/scenarios").await;
    let catalog = catalog.as_array().expect("the catalog is a list");
    let mut rows = Vec::new();
    let mut endpoints: Vec<(String, &'static str, String)> = Vec::new();
    for (index, entry) in catalog.iter().enumerate() {
        let text = |k: &str| entry[k].as_str().expect("catalog text").to_string();
        let (provider, path, name) = (text("provider"), text("path"), text("name"));
        let method = method_of(&text("method"));
        let (status, fault) = *table
            .get(&(provider.clone(), path.clone(), name.clone()))
            .unwrap_or_else(|| panic!("catalog row {entry} is in no scenario file"));
        let Some(json_body) = fault_allows(fault) else {
            continue;
        };
        if !endpoints
            .iter()
            .any(|(p, _, q)| *p == provider && *q == path)
        {
            endpoints.push((provider.clone(), method, path.clone()));
        }
        rows.push(Row {
            provider,
            method,
            path,
            scenario: Some(name),
            status: Some(status),
            json_body,
            index,
        });
    }
    for (provider, method, path) in endpoints {
        rows.push(Row {
            provider,
            method,
            path,
            scenario: None,
            status: None,
            json_body: true,
            index: 0,
        });
    }
    let (strings, non_strings) = (strings(), non_strings());
    let mut b = Builder { cases: Vec::new() };
    for row in &rows {
        let before = b.cases.len();
        cases_of(&mut b, row, &strings, &non_strings);
        assert!(
            b.cases.len() > before,
            "no request for {} {} {:?}",
            row.provider,
            row.path,
            row.scenario
        );
    }
    let n = b.cases.len();
    assert!(n > 1000, "only {n} cases");
    let failures = run(Arc::new(Http::new(sb.base.clone())), b.cases, 8).await;
    assert_none(&failures, n);
}

/// Where each provider's error shape says what went wrong, and whether a
/// body is in that shape.
fn error_message<'a>(provider: &str, body: &'a Value) -> Option<&'a str> {
    let (pointer, shaped) = match provider {
        "curpv5" => ("/message", body["error"].is_string()),
        "validacurp" => (
            "/msn",
            body["error"] == true && body["code_error"] == 0 && body["response"].is_null(),
        ),
        "accuauth" => (
            "/reason",
            body["status"].is_string()
                && body["request_id"]
                    .as_str()
                    .is_some_and(|id| id.len() == 35 && id.starts_with("TID")),
        ),
        // Kiban's gateway says `message`; its field-keyed 400 says `body`.
        "nss" => {
            return match body["body"].as_str() {
                Some(b) => b.strip_prefix("FORMAT_ERROR; "),
                None => body["message"].as_str(),
            }
        }
        "async" => ("/message", body["code"].is_string()),
        _ => return None,
    };
    shaped.then(|| body.pointer(pointer)?.as_str()).flatten()
}

/// JSON texts whose escapes or bytes decode to no valid text: each POST
/// endpoint answers its own 400 for them, forced scenario or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_whose_escapes_are_not_text_gets_the_providers_own_400() {
    let sb = Sandbox::start().await;
    let bodies: [&[u8]; 7] = [
        br#"{"f": "\ud800"}"#,
        br#"{"f": "\udc00\ud800"}"#,
        br#"{"f": "\ud83d\u0041"}"#,
        br#"{"f": "\x41"}"#,
        b"{\"f\": \"\xff\xfe\"}",
        b"{\"f\": \"\xc0\x80\xed\xa0\x80\"}",
        b"{\"f\": \"a\x01b\"}",
    ];
    let targets = [
        ("curpv5", "/api/curp/bycurp", "curp"),
        ("validacurp", "/curp/getData", "curp"),
        ("validacurp", "/api/v2/curp/calculateCURP", "names"),
        ("accuauth", "/verify/id_check", "id_number"),
        ("nss", "/api/v2/imss/nss", "curp"),
        ("async", "/api/AsyncVerication/IneNominalList", "ocr"),
        (
            "async",
            "/api/AsyncVerication/verificationStatus",
            "verificationId",
        ),
    ];
    assert_every_provider("the escape targets", targets.iter().map(|t| t.0));
    for (provider, path, field) in targets {
        for raw in bodies {
            let mut bytes = raw.to_vec();
            let at = raw.windows(3).position(|w| w == b"\"f\"").unwrap();
            bytes.splice(at..at + 3, format!("\"{field}\"").into_bytes());
            for forced in [None, Some("success")] {
                let mut headers = credentials(provider);
                headers.push(("content-type", "application/json"));
                if let Some(name) = forced {
                    headers.push(("X-Sandbox-Scenario", name));
                }
                let r = sb.send("POST", path, &headers, bytes.clone()).await;
                let shown = String::from_utf8_lossy(&bytes);
                assert_eq!(r.status, 400, "{provider} {path} {shown}: {}", r.text());
                assert_eq!(r.header("content-type"), Some(JSON_TYPE), "{path} {shown}");
                assert_eq!(r.scenario(), "malformed_body", "{path} {shown}");
                let message = error_message(provider, &r.json())
                    .unwrap_or_else(|| panic!("{path} {shown}: not in its shape: {}", r.text()))
                    .to_string();
                assert!(
                    message.contains("not valid JSON"),
                    "{path} {shown}: {message}"
                );
            }
        }
    }
}

/// What the engine's own errors repeat of the request — the path of a 404,
/// the content type it cannot read, a sandbox header it refuses — comes
/// back as sent inside well-formed JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_messages_repeat_hostile_paths_types_and_headers_as_sent() {
    let sb = Sandbox::start().await;
    let prefixes = [
        ("curpv5", "/api/curp/"),
        ("validacurp", "/api/v2/curp/"),
        ("accuauth", "/verify/"),
        ("nss", "/api/v1/imss/"),
        ("async", "/api/AsyncVerication/"),
    ];
    assert_every_provider("the hostile-path prefixes", prefixes.iter().map(|p| p.0));
    for (provider, prefix) in prefixes {
        for s in strings().iter().filter(|s| !s.trim().is_empty()) {
            let path = format!("{prefix}{}", pct(&s[..s.len().min(4096)]));
            let r = sb.send("POST", &path, &credentials(provider), "{}").await;
            assert_eq!(r.status, 404, "{path:.80}: {}", r.text());
            assert_eq!(r.header("content-type"), Some(JSON_TYPE));
            let body = r.json();
            let message = error_message(provider, &body)
                .unwrap_or_else(|| panic!("{path:.80}: not in its shape: {body}"));
            let shown = if path.len() <= 256 {
                format!("no endpoint at POST {path}")
            } else {
                format!(
                    "no endpoint at POST {}… ({} bytes)",
                    &path[..256],
                    path.len()
                )
            };
            assert!(message.starts_with(&shown), "{message:.400}");
        }
        // A content type the provider cannot read, named back to it.
        let odd = r#"Text/X-"Odd"\</script>"#;
        let mut headers = credentials(provider);
        headers.push(("content-type", odd));
        let path = match provider {
            "curpv5" => "/api/curp/bycurp",
            "validacurp" => "/curp/getData",
            "accuauth" => "/verify/id_check",
            "nss" => "/api/v1/imss/nss",
            "async" => "/api/AsyncVerication/NssByCurp",
            _ => unreachable!("{provider}: add its endpoint here"),
        };
        let r = sb.send("POST", path, &headers, "x").await;
        assert_eq!(r.status, 400, "{}", r.text());
        let body = r.json();
        let message = error_message(provider, &body)
            .unwrap_or_else(|| panic!("{path}: not in its shape: {body}"));
        assert!(
            message.contains(&format!("'{}'", odd.to_ascii_lowercase())),
            "{message}"
        );
    }
    // The sandbox's own headers, refused with what was sent.
    let hostile = r#"no"such\scenario</script>"#;
    for (header, expect) in [
        (
            "X-Sandbox-Scenario",
            format!("unknown scenario '{hostile}'"),
        ),
        ("X-Sandbox-Latency", format!("latency '{hostile}'")),
        ("X-Sandbox-Fault", format!("unknown fault '{hostile}'")),
        ("X-Sandbox-Namespace", format!("namespace '{hostile}'")),
    ] {
        let mut headers = credentials("curpv5");
        headers.push((header, hostile));
        let r = sb
            .post("/api/curp/bycurp", &headers, json!({"curp": EXAMPLE_CURP}))
            .await;
        assert_eq!(r.status, 400, "{header}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(JSON_TYPE));
        assert_eq!(r.scenario(), "sandbox_error");
        let error = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(&expect), "{header}: {error}");
    }
}

/// The echoed values a later answer states again: nss's history keeps
/// `request.curp` as answered, and async's INE result states the
/// credential's fields as sent (trimmed; the type upper-cased), numbers
/// and the documents' leading-zero integers read as the digits typed.
#[tokio::test]
async fn echoed_values_come_back_the_same_from_history_and_results() {
    let sb = Sandbox::start().await;
    let nss_key = [("x-api-key", "echo-key")];
    let mut ids = Vec::new();
    for (raw, content_type, want) in [
        (
            br#"{"Curp": " gomc850312hjcnrr05\u2028"}"#.to_vec(),
            "application/json",
            "GOMC850312HJCNRR05",
        ),
        (
            br#"{"curp": "\u0041BCD570805HYNHLC52"}"#.to_vec(),
            "application/json",
            "ABCD570805HYNHLC52",
        ),
        (
            b"curp=%09pxne660720hmcxtn06%0A".to_vec(),
            "application/x-www-form-urlencoded",
            EXAMPLE_CURP,
        ),
    ] {
        let mut headers = nss_key.to_vec();
        headers.push(("content-type", content_type));
        let r = sb.send("POST", "/api/v1/imss/nss", &headers, raw).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let answer = r.json();
        assert_eq!(answer["request"]["curp"], want, "{answer}");
        let id = answer["id"].as_str().unwrap().to_string();
        let kept = sb.get(&format!("/api/v1/imss/nss/{id}"), &nss_key).await;
        assert_eq!(kept.status, 200, "{}", kept.text());
        assert_eq!(kept.json(), answer, "the history keeps the answer as sent");
        ids.push(id);
    }
    let page = sb
        .get("/api/v1/imss/nss?page=1&itemsPerPage=10", &nss_key)
        .await
        .json();
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    ids.reverse();
    assert_eq!(listed, ids, "{page}");

    let key = [("apikey", "echo-key")];
    let ine = [
        (
            br#"{"type": "c", "id": " TSVREL72100209M100 ", "ocr": 3854006556540, "issueNumber": 03,}"#
                .to_vec(),
            "application/json".to_string(),
            json!({"type": "C", "electorCode": "TSVREL72100209M100", "cicNumber": "",
                   "issueNumber": "03", "ocrNumber": "3854006556540"}),
        ),
        (
            b"type=+e+&id=%E2%80%A8012345678&ocr=%09123456789".to_vec(),
            "application/x-www-form-urlencoded".to_string(),
            json!({"type": "E", "cicNumber": "012345678", "ocrNumber": "123456789"}),
        ),
        (
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nd\r\n\
                 --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n 987654321\r\n\
                 --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"ocr\"\r\n\r\n0000000000001\r\n\
                 --{BOUNDARY}--\r\n"
            )
            .into_bytes(),
            format!("multipart/form-data; boundary={BOUNDARY}"),
            json!({"type": "D", "cicNumber": "987654321", "ocrNumber": "0000000000001"}),
        ),
    ];
    let mut created = Vec::new();
    for (raw, content_type, want) in ine {
        let mut headers = key.to_vec();
        headers.push(("content-type", &content_type));
        let r = sb
            .send("POST", "/api/AsyncVerication/IneNominalList", &headers, raw)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.scenario(), "success", "{}", r.text());
        created.push((
            r.json()["verificationId"].as_str().unwrap().to_string(),
            want,
        ));
    }
    sb.advance("3s").await;
    for (id, want) in created {
        // The id read back in upper case and padded: GUIDs in either case.
        let query = format!("?verificationId=%20{}%09", id.to_ascii_uppercase());
        let r = sb
            .get(
                &format!("/api/AsyncVerication/verificationStatus{query}"),
                &key,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let status = r.json();
        assert_eq!(status["verificationId"], id.as_str());
        let result: Value = serde_json::from_str(
            status["verification"]
                .as_str()
                .unwrap_or_else(|| panic!("no result yet: {status}")),
        )
        .expect("the result is JSON text");
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&result["data"][k], v, "{k} in {result}");
        }
    }
}

/// A path parameter is percent-decoded as the rest of a URL is: an apikey
/// with characters a URL must escape (`/`, `|`, a space) is registered as
/// itself, and its verifications go to its webhook.
#[tokio::test]
async fn a_webhook_apikey_sent_percent_encoded_is_registered_decoded() {
    let sb = Sandbox::start().await;
    let apikey = "tenant/key|1 x";
    let r = sb
        .send(
            "PUT",
            &format!("/__admin/webhooks/{}", pct(apikey)),
            &[("content-type", "application/json")],
            r#"{"url": "http://127.0.0.1:1/hook"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["apikey"], apikey, "{}", r.text());
    assert_eq!(r.json()["headerApikey"], apikey, "{}", r.text());
    // The verification of that apikey is delivered to it (here: tried, as
    // nothing listens there), not completed as one without a target.
    let r = sb
        .post(
            "/api/AsyncVerication/NssByCurp",
            &[("apikey", apikey)],
            json!({"curp": EXAMPLE_CURP}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["verificationId"].as_str().unwrap().to_string();
    sb.advance("3s").await;
    let attempts = sb
        .admin_get(&format!("/__admin/webhooks/deliveries?verificationId={id}"))
        .await;
    assert_eq!(
        attempts.as_array().map(Vec::len),
        Some(1),
        "no delivery attempt to the apikey's webhook: {attempts}"
    );
    // One no client could send as its apikey header is refused, by a PUT
    // and by a DELETE alike.
    let routes = [
        ("PUT", r#"{"url": "http://127.0.0.1:1/hook"}"#),
        ("DELETE", ""),
    ];
    for ((method, body), bad) in routes
        .iter()
        .flat_map(|r| ["a%0Ab", "clave-%C3%B1", "%20", "%C3%A9"].map(|b| (*r, b)))
    {
        let r = sb
            .send(
                method,
                &format!("/__admin/webhooks/{bad}"),
                &[("content-type", "application/json")],
                body,
            )
            .await;
        assert_eq!(r.status, 400, "{method} {bad}: {}", r.text());
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("no client can send the apikey"),
            "{}",
            r.text()
        );
    }
}

/// The same for a provider's path parameter: nss's execution id with a
/// character percent-encoded (RFC 3986 §2.3: `%34` is `4`) names the same
/// execution.
#[tokio::test]
async fn an_execution_id_with_an_escaped_character_is_the_same_id() {
    let sb = Sandbox::start().await;
    let key = [("x-api-key", "echo-key")];
    let r = sb
        .post(
            "/api/v1/imss/nss?testCase=success",
            &key,
            json!({"curp": "ABCD570805HYNHLC52"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let (head, last) = id.split_at(id.len() - 1);
    let escaped = format!("{head}%{:02X}", last.as_bytes()[0]);
    let r = sb.get(&format!("/api/v1/imss/nss/{escaped}"), &key).await;
    assert_eq!(r.status, 200, "{escaped}: {}", r.text());
    assert_eq!(r.json()["id"], id.as_str());
}

// ---- the catalog's descriptions -------------------------------------------
//
// Each row of `GET /__admin/scenarios` says what its scenario answers (a
// status, a code, a CURP status, an async outcome); forced, it answers that.

fn good_body(provider: &str, path: &str) -> Option<Value> {
    Some(match (provider, path) {
        ("curpv5", _) => json!({"curp": EXAMPLE_CURP}),
        ("validacurp", p) if p.ends_with("calculateCURP") => json!({
            "names": "enrique", "lastName": "peña", "secondLastName": "nieto",
            "birthday": "20", "birthMonth": "07", "yearBirth": "1966",
            "gender": "H", "entity": "15"}),
        ("validacurp", p) if p.ends_with("getEntities") => json!({}),
        ("validacurp", _) => json!({"curp": EXAMPLE_CURP}),
        ("accuauth", _) => json!({"id_number": EXAMPLE_CURP}),
        ("nss", "/api/v1/imss/nss") => json!({"curp": EXAMPLE_CURP}),
        ("async", p) if p.ends_with("IneNominalList") => {
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "03"})
        }
        ("async", p) if p.ends_with("RfcByCurp") => json!({"curp": EXAMPLE_CURP, "state": 15}),
        ("async", p) if p.ends_with("NssByCurp") => json!({"curp": EXAMPLE_CURP}),
        _ => return None,
    })
}

async fn answer(sb: &Sandbox, row: &Value) -> (u16, Value) {
    let provider = row["provider"].as_str().unwrap();
    let method = row["method"].as_str().unwrap();
    let path = row["path"].as_str().unwrap();
    let name = row["name"].as_str().unwrap();
    let mut h = credentials(provider);
    h.push(("X-Sandbox-Scenario", name));
    let uri = match (provider, path) {
        ("nss", "/api/v1/imss/nss/{id}") => {
            "/api/v1/imss/nss/00000000-0000-4000-8000-000000000000".to_string()
        }
        ("nss", "/api/v1/imss/nss/test_case") => path.to_string(),
        ("nss", "/api/v1/imss/nss") if method == "GET" => {
            "/api/v1/imss/nss?page=1&itemsPerPage=10".into()
        }
        ("async", p) if p.to_ascii_lowercase().ends_with("verificationstatus") => {
            format!("{p}?verificationId=00000000-0000-4000-8000-000000000000")
        }
        _ => path.to_string(),
    };
    let r = if method == "POST" {
        sb.post(&uri, &h, good_body(provider, path).unwrap_or(json!({})))
            .await
    } else {
        sb.get(&uri, &h).await
    };
    let body = serde_json::from_slice(&r.body).unwrap_or(Value::String(r.text()));
    (r.status, body)
}

/// The first `X…` token of a description that looks like a code/status it
/// names, checked against the body.
fn expectations(provider: &str, desc: &str) -> Vec<(String, String)> {
    // (json pointer, expected text)
    let mut out = Vec::new();
    let word_after = |key: &str| -> Option<String> {
        desc.find(key).map(|i| {
            desc[i + key.len()..]
                .trim_start()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    match provider {
        "curpv5" => {
            if let Some(v) = word_after("curpStatus") {
                out.push(("/curpStatus".into(), v));
            }
            if let Some(v) = word_after("RENAPO answered") {
                out.push(("/renapoResponseCode".into(), v));
                let text = desc.split_once(": ").map(|x| x.1).unwrap_or("").to_string();
                out.push(("/renapoResponseDescription".into(), text));
            }
            if let Some(v) = word_after("CCB layer answered") {
                out.push(("/ccbResponseCode".into(), v));
                let text = desc.split_once(": ").map(|x| x.1).unwrap_or("").to_string();
                out.push(("/ccbResponseDescription".into(), text));
            }
            if desc.starts_with("CURPSV") {
                out.push(("/error".into(), desc[..9].to_string()));
            }
        }
        "validacurp" => {
            if let Some(v) = word_after("CurpStatusKey") {
                out.push(("/response/Applicant/CurpStatusKey".into(), v));
            }
            if let Some(v) = word_after("code") {
                if desc.starts_with("code") {
                    out.push(("/code_error".into(), v));
                }
            }
        }
        "accuauth" => {
            if let Some(v) = word_after("result_code") {
                out.push(("/result_code".into(), v));
            }
            if let Some(v) = word_after("estatusCurp") {
                out.push(("/result/estatusCurp".into(), v));
            }
            let first = desc.split_whitespace().next().unwrap_or("");
            if first.chars().all(|c| c.is_ascii_uppercase() || c == '_') && first.len() > 2 {
                out.push(("/status".into(), first.to_string()));
            }
        }
        "nss" => {
            if let Some(v) = word_after("status") {
                if desc.starts_with("status") {
                    out.push(("/status".into(), v));
                }
            }
            if let Some(v) = word_after("response") {
                if v.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !v.is_empty() {
                    out.push(("/response/status".into(), v));
                }
            }
        }
        _ => {}
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<absent>".into(),
        other => other.to_string(),
    }
}

/// Every row of `GET /__admin/scenarios` forced on its endpoint: the HTTP
/// status, code, status and field values its description names must be
/// what the answer carries.
#[tokio::test]
async fn every_catalog_description_matches_its_forced_answer() {
    let sb = Sandbox::start().await;
    let catalog = sb.admin_get("/__admin/scenarios").await;
    let mut mismatches = Vec::new();
    let mut checked = 0usize;
    for row in catalog.as_array().unwrap() {
        let provider = row["provider"].as_str().unwrap();
        let desc = row["description"].as_str().unwrap();
        let label = format!(
            "{} {} {} [{}]",
            provider,
            row["method"].as_str().unwrap(),
            row["path"].as_str().unwrap(),
            row["name"].as_str().unwrap()
        );
        let (st, body) = answer(&sb, row).await;
        // An HTTP status the description names: "(401)", "401 …", "200, …".
        let named_status = desc
            .split(|c: char| !c.is_ascii_digit())
            .filter(|t| t.len() == 3)
            .find(|t| {
                let n: u16 = t.parse().unwrap();
                (200..600).contains(&n)
                    && (desc.contains(&format!("({t})"))
                        || desc.starts_with(&format!("{t} "))
                        || desc.starts_with(&format!("{t},"))
                        || desc.starts_with(&format!("{t} —")))
            });
        if let Some(t) = named_status {
            if st.to_string() != t {
                mismatches.push(format!(
                    "{label}: description says HTTP {t}, answered {st}: {desc}"
                ));
            }
        }
        for (ptr, want) in expectations(provider, desc) {
            checked += 1;
            let got = text(body.pointer(&ptr).unwrap_or(&Value::Null));
            if got != want {
                mismatches.push(format!(
                    "{label}: {ptr} is {got:?}, description says {want:?}: {desc}"
                ));
            }
        }
        // Async creations: the final outcome after the clock runs on.
        if provider == "async" && st == 200 {
            if let Some(id) = body["verificationId"]
                .as_str()
                .filter(|_| row["method"] == "POST")
            {
                let id = id.to_string();
                let mut states = Vec::new();
                for step in ["1s", "2s", "20m", "20m", "20m", "2h"] {
                    sb.advance(step).await;
                    let r = sb
                        .get(
                            &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
                            &credentials("async"),
                        )
                        .await;
                    states.push(r.json());
                }
                let last = states.last().unwrap().clone();
                let retried = states.iter().any(|s| s["verificationStatus"] == 2);
                if desc.contains("2 Retrying") && !retried {
                    mismatches.push(format!("{label}: never 2 Retrying: {desc}"));
                }
                // states[2] is at +20m3s, states[3] at +40m3s.
                let done = |s: &Value| s["verificationStatus"].as_u64().unwrap_or(0) >= 3;
                if desc.contains("at the first retry (+20 min)") && !done(&states[2]) {
                    mismatches.push(format!("{label}: not answered at +20 min: {}", states[2]));
                }
                if desc.contains("second retry (+40 min)")
                    && (done(&states[2]) || !done(&states[3]))
                {
                    mismatches.push(format!(
                        "{label}: +20m {} / +40m {}",
                        states[2]["verificationStatus"], states[3]["verificationStatus"]
                    ));
                }
                if desc.contains("retried at +20 and +40 min")
                    && (done(&states[2]) || !done(&states[3]))
                {
                    mismatches.push(format!(
                        "{label}: +20m {} / +40m {}",
                        states[2]["verificationStatus"], states[3]["verificationStatus"]
                    ));
                }
                if last["verificationStatus"] != 4 {
                    mismatches.push(format!("{label}: not completed: {last}"));
                }
                if let Some(i) = desc.find("completes with ") {
                    let code: String = desc[i + 15..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    if code.chars().any(|c| c.is_ascii_digit())
                        && last["warnings"][0]["code"] != code.as_str()
                    {
                        mismatches.push(format!(
                            "{label}: completes with {}, description says {code}",
                            last["warnings"]
                        ));
                    }
                    if desc.contains("no data") && !last["verification"].is_null() {
                        mismatches.push(format!(
                            "{label}: data {} though description says no data",
                            last["verification"]
                        ));
                    }
                }
            }
        }
    }
    eprintln!("checked {checked} named values");
    assert!(checked > 100, "the checks ran: {checked}");
    assert!(
        mismatches.is_empty(),
        "{} catalog rows disagree with their answers:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

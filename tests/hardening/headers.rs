//! Response headers and framing of answers a user's scenario file shapes:
//! one `Allow` on a 405, `Content-Length` on every answer but a 204's, over
//! HTTP/1.1 and HTTP/2 alike; and no CORS header on any answer.

use std::path::Path;

use super::{h2_connection, h2_send};
use crate::common::*;
use bytes::Bytes;
use mxid_sandbox::config::Source;
use mxid_sandbox::Config;

const STATUS: &str = "/api/AsyncVerication/verificationStatus?verificationId=x";

/// One request with no body over HTTP/2 (prior knowledge), on a
/// connection of its own.
async fn h2(sb: &Sandbox, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut send = h2_connection(sb.addr).await;
    h2_send(&mut send, sb.addr, method, path, headers, Bytes::new()).await
}

/// A scenario folder holding the shipped `file` with `edit` applied.
fn folder(tag: &str, file: &str, edit: impl FnOnce(String) -> String) -> std::path::PathBuf {
    let yaml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file),
    )
    .unwrap();
    let dir = temp_dir(tag);
    std::fs::write(dir.join(file), edit(yaml)).unwrap();
    dir
}

/// async.yaml with two body-less scenarios on verificationStatus (a GET
/// route): `nocontent` (204) and `empty` (200).
fn async_with_bodyless(tag: &str) -> std::path::PathBuf {
    folder(tag, "async.yaml", |mut yaml| {
        let at = yaml.find("\n  verification_status:\n").unwrap();
        let list = "\n    scenarios:\n";
        let at = at + yaml[at..].find(list).unwrap() + list.len();
        yaml.insert_str(
            at,
            "      nocontent:\n        description: no body\n        status: 204\n      empty:\n        description: no body\n        status: 200\n",
        );
        yaml
    })
}

// README "The scenario files": a 405 "also gets the engine's Allow header
// (one written here is replaced)": taken at load, and not doubled.
#[tokio::test]
async fn a_405_whose_errors_entry_writes_allow_sends_one_allow_header() {
    let dir = folder("resphdr-allow", "curpv5.yaml", |yaml| {
        let entry = "  method_not_allowed:\n    description: the path exists under another method\n    status: 405\n";
        assert!(yaml.contains(entry));
        yaml.replacen(
            entry,
            &format!("{entry}    headers: {{Allow: \"GET\"}}\n"),
            1,
        )
    });
    let _gone = RemovedOnDrop(dir.clone());
    let config = Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    };
    if let Err(e) = mxid_sandbox::engine::load(&config, &mxid_sandbox::providers::all()) {
        panic!("an Allow in an errors entry is refused at load: {e}");
    }
    let sb = Sandbox::start_with(config).await;
    let h1 = sb.get("/api/curp/bycurp", &[("apikey", "k")]).await;
    let h2 = h2(&sb, "GET", "/api/curp/bycurp", &[("apikey", "k")]).await;
    for (proto, r) in [("HTTP/1.1", &h1), ("HTTP/2", &h2)] {
        assert_eq!(r.status, 405, "{proto}: {}", r.text());
        let allow: Vec<_> = r.headers.get_all("allow").iter().collect();
        assert_eq!(
            allow.len(),
            1,
            "{proto}: the 405 carries {} Allow fields: {allow:?}",
            allow.len()
        );
        assert_eq!(
            allow[0], "POST",
            "{proto}: Allow names what the endpoint takes"
        );
    }
}

// README Decisions: HEAD is GET without its body; a 204 states no
// Content-Length (RFC 9110 §8.6), for GET and HEAD alike.
#[tokio::test]
async fn head_of_a_204_scenario_has_no_content_length() {
    let dir = async_with_bodyless("resphdr-204");
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let headers = [("apikey", "k"), ("X-Sandbox-Scenario", "nocontent")];
    let get = sb.send("GET", STATUS, &headers, Bytes::new()).await;
    assert_eq!(get.status, 204);
    assert_eq!(get.header("content-length"), None, "the GET answer");
    let head1 = sb.send("HEAD", STATUS, &headers, Bytes::new()).await;
    let head2 = h2(&sb, "HEAD", STATUS, &headers).await;
    for (proto, r) in [("HTTP/1.1", &head1), ("HTTP/2", &head2)] {
        assert_eq!(r.status, 204, "{proto}");
        assert_eq!(
            r.header("content-length"),
            None,
            "{proto}: HEAD of a 204 states a Content-Length its GET does not (RFC 9110 §8.6 forbids it)"
        );
    }
}

// An empty answer states `content-length: 0` over HTTP/2 as over HTTP/1.1
// (README Decisions: HEAD's Content-Length, over HTTP/2 too).
#[tokio::test]
async fn an_empty_answer_states_content_length_0_over_http2_as_over_http11() {
    let dir = async_with_bodyless("resphdr-empty");
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let headers = [("apikey", "k"), ("X-Sandbox-Scenario", "empty")];
    let get1 = sb.send("GET", STATUS, &headers, Bytes::new()).await;
    let head2 = h2(&sb, "HEAD", STATUS, &headers).await;
    let get2 = h2(&sb, "GET", STATUS, &headers).await;
    assert_eq!((get1.status, head2.status, get2.status), (200, 200, 200));
    assert_eq!(get1.header("content-length"), Some("0"), "HTTP/1.1 GET");
    assert_eq!(head2.header("content-length"), Some("0"), "HTTP/2 HEAD");
    assert_eq!(
        get2.header("content-length"),
        Some("0"),
        "HTTP/2 GET: no Content-Length where HTTP/1.1 and the HEAD say 0; headers {:?}",
        get2.headers
    );
}

/// A browser's CORS preflight.
const PREFLIGHT: [(&str, &str); 3] = [
    ("origin", "http://localhost:3000"),
    ("access-control-request-method", "POST"),
    ("access-control-request-headers", "apikey, content-type"),
];

/// Whether `r` carries no `Access-Control-*` header.
fn no_cors_header(r: &Resp) -> bool {
    r.headers
        .keys()
        .all(|k| !k.as_str().starts_with("access-control-"))
}

/// `path` with each `{param}` written `x`: a request path that reaches it.
fn with_params_filled(path: &str) -> String {
    let mut filled = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                filled.push('x');
            }
            '}' => inside = false,
            _ if !inside => filled.push(c),
            _ => {}
        }
    }
    filled
}

// README, Decisions: "No CORS": "the sandbox sends no `Access-Control-*`
// header, and a browser's preflight (`OPTIONS`) gets the endpoint's 405
// with its `Allow`, in the provider's shape". On every path of the
// catalog, the preflight gets what another method the endpoint does not
// take (`PATCH`) gets: the 405, the same `Allow`, the same body (ids a
// provider draws per answer aside); and on the admin API its own 405.
#[tokio::test]
async fn a_browser_preflight_gets_the_405_and_no_cors_header() {
    let sb = Sandbox::start().await;
    let catalog = sb.admin_get("/__admin/scenarios").await;
    let mut paths: Vec<(String, String)> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["provider"].as_str().unwrap().to_string(),
                with_params_filled(r["path"].as_str().unwrap()),
            )
        })
        .collect();
    paths.sort();
    paths.dedup();
    assert!(paths.len() >= 10, "{paths:?}");
    // Ids a provider draws per answer (accuauth's request_id) aside.
    let masked = |r: &Resp, method: &str| {
        let mut v: serde_json::Value =
            serde_json::from_str(&r.text().replace(method, "METHOD")).unwrap();
        if let Some(o) = v.as_object_mut() {
            for (k, val) in o.iter_mut() {
                if k.to_lowercase().contains("id") {
                    *val = "ID".into();
                }
            }
        }
        v
    };
    let mut wrong = Vec::new();
    for (provider, path) in &paths {
        let pre = sb.send("OPTIONS", path, &PREFLIGHT, "").await;
        let other = sb.send("PATCH", path, &PREFLIGHT[..1], "").await;
        if (pre.status, other.status) != (405, 405) {
            wrong.push(format!(
                "{provider} {path}: OPTIONS {} PATCH {}",
                pre.status, other.status
            ));
            continue;
        }
        if pre.header("allow").is_none() || pre.header("allow") != other.header("allow") {
            wrong.push(format!(
                "{provider} {path}: Allow {:?} vs {:?}",
                pre.header("allow"),
                other.header("allow")
            ));
        }
        if !no_cors_header(&pre) || !no_cors_header(&other) {
            wrong.push(format!("{provider} {path}: {:?}", pre.headers));
        }
        let (a, b) = (masked(&pre, "OPTIONS"), masked(&other, "PATCH"));
        if a != b {
            wrong.push(format!("{provider} {path}: OPTIONS {a} vs PATCH {b}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let r = sb
        .send("OPTIONS", "/__admin/requests", &PREFLIGHT, "")
        .await;
    assert_eq!(
        (r.status, r.header("allow")),
        (405, Some("GET, DELETE, HEAD"))
    );
    assert!(no_cors_header(&r), "{:?}", r.headers);
    assert!(r.json().is_object(), "{}", r.text());
}

// README, Decisions: "the sandbox sends no `Access-Control-*` header":
// nor on the answers to a browser's requests (an `Origin` sent), a
// provider's success or its error, the admin API's or a 404.
#[tokio::test]
async fn no_answer_to_a_request_with_an_origin_carries_a_cors_header() {
    let sb = Sandbox::start().await;
    let origin = PREFLIGHT[0];
    let mut wrong = Vec::new();
    for p in provider_requests("PXNE660720HMCXTN06") {
        let (provider, path) = (p.0, p.1);
        for r in [
            sb.provider_post(&p, &[origin]).await,
            sb.send("POST", path, &[origin], "{").await,
        ] {
            if !no_cors_header(&r) {
                wrong.push(format!("{provider} {}: {:?}", r.status, r.headers));
            }
        }
    }
    for path in ["/__admin/health", "/__admin/requests", "/nowhere"] {
        let r = sb.get(path, &[origin]).await;
        if !no_cors_header(&r) {
            wrong.push(format!("{path}: {:?}", r.headers));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

//! Response headers and framing of answers a user's scenario file shapes:
//! one `Allow` on a 405, `Content-Length` on every answer but a 204's, over
//! HTTP/1.1 and HTTP/2 alike.

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

// README "The scenario files": a 405 "also gets an Allow header", the
// engine's: one written in the `errors:` entry is replaced, not doubled.
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
    if mxid_sandbox::engine::load(&config, &mxid_sandbox::providers::all()).is_err() {
        // Refused at load, as the other headers the server writes are: fine.
        return;
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

// README, Decisions: "No CORS": a browser's preflight gets the endpoint's
// 405 with its `Allow`, in the provider's shape, and no `Access-Control-*`
// header, on a provider's route as on the admin API's.
#[tokio::test]
async fn a_browser_preflight_gets_the_405_and_no_cors_header() {
    let sb = Sandbox::start().await;
    let preflight = [
        ("origin", "http://localhost:3000"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "apikey, content-type"),
    ];
    for (path, allow) in [
        ("/api/curp/bycurp", "POST"),
        ("/__admin/requests", "GET, DELETE, HEAD"),
    ] {
        let r = sb.send("OPTIONS", path, &preflight, "").await;
        assert_eq!((r.status, r.header("allow")), (405, Some(allow)), "{path}");
        assert!(
            r.headers
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")),
            "{path}: {:?}",
            r.headers
        );
        assert!(r.json().is_object(), "{path}: {}", r.text());
    }
}

//! The webhook URL a user gives (the PUT, `--webhook-url`, a fixture):
//! which forms the check takes, and the Basic credentials its user info
//! becomes, byte for byte as curl sends them (checked against curl 7.88).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{self, Sandbox};
use mxid_sandbox::engine::fixtures::check_webhook_url;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const RFC: &str = "/api/AsyncVerication/RfcByCurp";
const EPN: &str = "PXNE660720HMCXTN06";

/// A receiver on 127.0.0.1 that records each request's head lines and
/// answers 200 `{"completed": true}`.
struct Rx {
    port: u16,
    heads: Arc<Mutex<Vec<Vec<String>>>>,
}

impl Rx {
    async fn start() -> Rx {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let shared = heads.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let head = text.split("\r\n\r\n").next().unwrap_or_default();
                    shared
                        .lock()
                        .unwrap()
                        .push(head.split("\r\n").map(str::to_string).collect());
                    let body = r#"{"completed": true}"#;
                    let _ = s
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        Rx { port, heads }
    }

    /// The value of header `name` of the request whose apikey is `key`.
    fn header_of(&self, key: &str, name: &str) -> Option<Option<String>> {
        let heads = self.heads.lock().unwrap();
        let head = heads.iter().find(|h| {
            h.iter()
                .any(|l| l.to_ascii_lowercase() == format!("apikey: {}", key.to_ascii_lowercase()))
        })?;
        Some(head.iter().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        }))
    }
}

async fn put_webhook(sb: &Sandbox, key: &str, url: &str) -> common::Resp {
    sb.send(
        "PUT",
        &format!("/__admin/webhooks/{key}"),
        &[("content-type", "application/json")],
        serde_json::to_vec(&json!({ "url": url })).unwrap(),
    )
    .await
}

async fn create(sb: &Sandbox, key: &str) {
    let r = sb
        .post(RFC, &[("apikey", key)], json!({"curp": EPN, "state": 9}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// The Authorization header the receiver got for `url` (user info on the
/// receiver's own address), or `Err(PUT's answer)` if the PUT refused it.
async fn basic_sent_for(
    sb: &Sandbox,
    rx: &Rx,
    key: &str,
    user_info: &str,
) -> Result<Option<String>, String> {
    let url = format!("http://{user_info}@127.0.0.1:{}/hook", rx.port);
    let r = put_webhook(sb, key, &url).await;
    if r.status != 200 {
        return Err(format!("{} {}", r.status, r.text()));
    }
    create(sb, key).await;
    sb.advance("2s").await;
    let started = Instant::now();
    loop {
        if let Some(h) = rx.header_of(key, "authorization") {
            return Ok(h);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url}: no delivery"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Whether `authority` (after any user info) is an RFC 3986 host and port
/// an http client can connect to: a non-empty reg-name or IPv4 address, or
/// a bracketed IPv6 address (RFC 6874 zone allowed); a port of digits.
fn rfc3986_host_port(host_port: &str) -> bool {
    let (host, port) = if let Some(rest) = host_port.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        let addr = inside.split("%25").next().unwrap_or_default();
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        if after.is_empty() {
            return true;
        }
        match after.strip_prefix(':') {
            Some(p) => ("x", p),
            None => return false,
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (host_port, ""),
        }
    };
    let reg_name_char = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=%".contains(c);
    !host.is_empty() && host.chars().all(reg_name_char) && port.bytes().all(|b| b.is_ascii_digit())
}

// README, Decisions (async): "A webhook URL must be `http://` with a host
// (not an empty one, as `http://:8080/`) and a valid port". `http://[]:P/`
// is an empty host written in brackets: the `http` crate reads its host as
// `"[]"` (not empty), and every attempt would fail on DNS (the connector
// strips the brackets and looks up ""). Refused, as `http://:8080/` is.
#[tokio::test]
async fn an_empty_ipv6_literal_is_an_empty_host_and_is_refused() {
    let sb = Sandbox::start().await;
    for url in [
        "http://[]:8080/hook",
        "http://[]/hook",
        "http://u:p@[]:8080/hook",
    ] {
        let taken = super::receivers::taken_anywhere(&sb, url).await;
        assert!(taken.is_empty(), "{url} taken: {taken:#?}");
    }
}

// RFC 3986 §3.2.2: "IP-literal = "[" ( IPv6address / IPvFuture ) "]"" —
// brackets hold an IPv6 address, never a name or an IPv4 address; curl
// refuses `http://[127.0.0.1]:P/` (exit 3, "URL using bad/illegal format").
// README, Decisions: "brackets hold an IPv6 address, without a zone".
// `[127.0.0.1]`, `[example.com]`, `[:]`, `[::1%]` are refused (the first
// was delivered, the connector stripping the brackets, with a Host of
// `[127.0.0.1]:P` no server expects), and so is an address with a zone
// (`%25eth0`, RFC 6874), by the check the PUT, the flag and the fixtures
// share.
#[tokio::test]
async fn brackets_that_hold_no_ipv6_address_are_refused() {
    let sb = Sandbox::start().await;
    let mut taken = Vec::new();
    for url in [
        "http://[127.0.0.1]:8080/hook",
        "http://[example.com]/hook",
        "http://[:]/hook",
        "http://[::1%]/hook",
        "http://[zz]:80/hook",
        "http://[fe80::1%25eth0]:8080/hook",
        "http://[::1%25lo]/hook",
        "http://[fe80::1%eth0]/hook",
    ] {
        let r = put_webhook(&sb, "k", url).await;
        if r.status != 400 || check_webhook_url(url).is_ok() {
            taken.push(format!("{url}: {} {}", r.status, r.text()));
        }
    }
    assert!(taken.is_empty(), "taken: {taken:#?}");
}

// README, Command line: user info "is sent as `Authorization: Basic …`
// (the octets it encodes, UTF-8 or not, as curl sends them)". RFC 7617 §2:
// "a user-id containing a colon character is invalid"; the first colon of
// `user-pass` separates. `http://a%3Ab@host/` names the user `a:b` and no
// password; curl 7.88 sends `Basic YTpiOg==` ("a:b:"), and so does the
// sandbox: the first colon as written separates. (Decoding first made
// `Basic YTpi`, "a:b": user "a", password "b", credentials nobody wrote.)
#[tokio::test]
async fn an_encoded_colon_in_the_user_is_not_the_separator() {
    let sb = Sandbox::start().await;
    let rx = Rx::start().await;
    let got = basic_sent_for(&sb, &rx, "k1", "a%3Ab").await;
    let curl = format!("Basic {}", b64(b"a:b:"));
    assert_eq!(
        got,
        Ok(Some(curl.clone())),
        "http://a%3Ab@…: curl sends {curl:?} ({:?} would read as user \"a\", password \"b\")",
        format!("Basic {}", b64(b"a:b"))
    );
}

// README: user info is sent as Basic credentials, "the user and the
// password split at the first `:` as written", and the request goes "to
// the URL without it". The `http` crate takes a raw `@` inside user info
// (`http://a@b@host/`: user info `a@b`, host `host`); curl refuses that
// URL. The sandbox may refuse it too, but what it sends is never the user
// `a` and a URL still carrying `b@`: it is `Basic` of `a@b:`.
#[tokio::test]
async fn user_info_holding_a_raw_at_sign_is_never_split_at_its_first() {
    let sb = Sandbox::start().await;
    let rx = Rx::start().await;
    let got = basic_sent_for(&sb, &rx, "at1", "a@b").await;
    let want = format!("Basic {}", b64(b"a@b:"));
    let refused = got.as_ref().is_err_and(|e| e.starts_with("400 "));
    assert!(
        refused || got == Ok(Some(want.clone())),
        "http://a@b@…: sent {got:?}, not {want:?} or a 400"
    );
}

// RFC 7617 §2: "The user-id and password MUST NOT contain any control
// characters"; README, Command line: user info "sent as `Authorization:
// Basic …` (… a control character in either is refused, RFC 7617)". In
// the user or the password, C0 (`%00`, `%0A`, `%09`, `%1F`) or DEL
// (`%7F`: RFC 5234's CTL is %x00-1F / %x7F), it is refused at the PUT
// with a 400 that says why, where a NUL was sent inside the Basic
// credentials; curl 7.88 refuses such a URL too ("URL using bad/illegal
// format or missing URL", exit 3).
#[tokio::test]
async fn a_control_character_in_user_info_is_refused() {
    let sb = Sandbox::start().await;
    for ui in [
        "us%00er:pw",
        "user:p%0Aw",
        "user:%7F",
        "us%1Fer:pw",
        "user:%09",
        "%7F:pw",
    ] {
        let url = format!("http://{ui}@127.0.0.1:9/hook");
        let r = put_webhook(&sb, "k", &url).await;
        assert_eq!(r.status, 400, "{url}: {}", r.text());
        assert!(
            r.text().contains("control character"),
            "{url}: {}",
            r.text()
        );
    }
}

// Property (brief): a URL `check_webhook_url` accepts has, after its last
// '@', an RFC 3986 host and port: a non-empty host (reg-name, IPv4 or
// bracketed IPv6) and a port of digits. Shrinks to the smallest
// counterexample: `http://[]/`-like hosts, `[name]`. The user info before
// that '@' is not held to RFC 3986 here: `a@b@host` is taken, its user
// info sent as Basic `a@b:` as browsers send it (curl refuses that URL;
// see `user_info_holding_a_raw_at_sign_is_never_split_at_its_first`).
#[test]
fn property_accepted_webhook_urls_are_rfc3986_http_urls() {
    use proptest::prelude::*;
    let piece = prop_oneof![
        Just(String::new()),
        Just("a".to_string()),
        Just("host".to_string()),
        Just("127.0.0.1".to_string()),
        Just("::1".to_string()),
        Just("example.com".to_string()),
        Just(":".to_string()),
        Just("%25".to_string()),
        Just("@".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("8080".to_string()),
        Just("+80".to_string()),
        Just("x".to_string()),
    ];
    let authority = proptest::collection::vec(piece, 1..6).prop_map(|v| v.concat());
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 4000,
        failure_persistence: None,
        ..Default::default()
    });
    let result = runner.run(&authority, |auth| {
        let url = format!("http://{auth}/hook");
        if check_webhook_url(&url).is_ok() {
            let hp = auth.rsplit_once('@').map_or(auth.as_str(), |(_, hp)| hp);
            prop_assert!(
                rfc3986_host_port(hp),
                "accepted, not an RFC 3986 http URL: {url}"
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// curl 7.88's Basic credentials for a URL's raw user info: split at the
/// first raw ':' (RFC 3986 §3.2.1: "user:password"), each side
/// percent-decoded (a '%' not followed by two hex digits kept), joined by
/// one ':' — the password empty when there is none.
fn curl_basic(raw: &str) -> String {
    fn dec(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let h = (b[i + 1] as char).to_digit(16);
                let l = (b[i + 2] as char).to_digit(16);
                if let (Some(h), Some(l)) = (h, l) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        out
    }
    let (u, p) = raw.split_once(':').unwrap_or((raw, ""));
    let mut bytes = dec(u);
    bytes.push(b':');
    bytes.extend(dec(p));
    format!("Basic {}", b64(&bytes))
}

// Model-based property (README, Command line: user info "is sent as
// `Authorization: Basic …` (the octets it encodes, UTF-8 or not, as curl
// sends them)"): for user info drawn from letters, raw and encoded colons,
// `%40`, `%25`, a stray `%`, a Latin-1 octet and `%zz`, a URL the PUT
// takes is delivered with curl's credentials.
#[tokio::test]
async fn property_basic_credentials_are_curls_for_any_user_info() {
    use proptest::strategy::{Strategy, ValueTree};
    let pieces = proptest::sample::select(vec![
        "a", "b", ":", "%3A", "%3a", "%40", "%25", "%", "%F1", "%zz", "~",
    ]);
    let strategy = proptest::collection::vec(pieces, 1..5).prop_map(|v| v.concat());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut cases: Vec<String> = (0..60)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    cases.sort();
    cases.dedup();
    let sb = Sandbox::start().await;
    let rx = Rx::start().await;
    let mut keys = Vec::new();
    for (i, ui) in cases.iter().enumerate() {
        let key = format!("p{i}");
        let url = format!("http://{ui}@127.0.0.1:{}/hook", rx.port);
        if put_webhook(&sb, &key, &url).await.status == 200 {
            create(&sb, &key).await;
            keys.push((key, ui.clone()));
        }
    }
    assert!(keys.len() > 20, "the PUT refused most: {cases:?}");
    sb.advance("2s").await;
    let started = Instant::now();
    while rx.heads.lock().unwrap().len() < keys.len() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not every URL was delivered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let wrong: Vec<String> = keys
        .iter()
        .filter_map(|(key, ui)| {
            let got = rx.header_of(key, "authorization").flatten();
            let want = curl_basic(ui);
            (got.as_deref() != Some(want.as_str()))
                .then(|| format!("{ui}: sent {got:?}, curl sends {want}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README, Decisions: a webhook URL "must be `http://` with a host ... and a
// valid port". URLs a user would reasonably write are taken.
#[test]
fn reasonable_webhook_urls_are_accepted() {
    for url in [
        "http://host:80/",
        "http://[::1]/",
        "http://[::1]:/",
        "http://host:/",
        "http://[::FFFF:7F00:1]:8080/x",
        "http://user:p%5D@host/",
        "http://host/path?x=]",
        "http://user@[::1]:80/",
        "http://HOST:0080/",
        "HTTP://host/",
        "http://a:b:c@host/",
    ] {
        assert_eq!(check_webhook_url(url), Ok(()), "{url}");
    }
    for url in [
        "http://:8080/",
        "http://host:+80/",
        "http://[::1]x/",
        "http://[::1]:0/",
        "http://[::1]:65536/",
        "http://host:80:90/",
        "http://[::1]:8080:9/",
        "https://host/",
    ] {
        assert!(check_webhook_url(url).is_err(), "{url}");
    }
}

// README, Command line: user info "sent as `Authorization: Basic …` (the
// octets it encodes, UTF-8 or not, as curl sends them)" — checked against
// what curl 7.88.1 sends for the same URL: `%` not followed by two hex
// digits is itself, an empty user info (`@host`) and `:@` are `Basic
// Og==`, a user alone gets an empty password, uppercase and lowercase hex
// alike; a C1 control and U+2028 (RFC 7617's CTL is ASCII's) and an
// encoded space are sent as the octets they encode, an encoded colon (in
// lower case) in the user is no separator, and the first raw colon is; a
// `+` is a plus (user info is percent-decoded, not form-decoded).
#[tokio::test]
async fn basic_credentials_match_curl_for_edge_user_info() {
    let sb = Sandbox::start().await;
    let rx = Rx::start().await;
    let cases: [(&str, &[u8]); 12] = [
        ("user:%zz", b"user:%zz"),
        ("user:%4", b"user:%4"),
        ("", b":"),
        (":", b":"),
        ("user", b"user:"),
        ("u:%c3%B1", "u:ñ".as_bytes()),
        ("user:%C2%85", "user:\u{85}".as_bytes()),
        ("%E2%80%A8:x", "\u{2028}:x".as_bytes()),
        ("user:p%20w", b"user:p w"),
        ("u%3a:p", b"u::p"),
        ("a:b:c", b"a:b:c"),
        ("us+er:p+w", b"us+er:p+w"),
    ];
    for (i, (ui, want)) in cases.iter().enumerate() {
        let got = basic_sent_for(&sb, &rx, &format!("e{i}"), ui).await;
        assert_eq!(
            got,
            Ok(Some(format!("Basic {}", b64(want)))),
            "user info {ui:?}"
        );
    }
}

// RFC 3986 §3.1: "schemes are case-insensitive". `HTTP://` and `Http://`
// are http:// (the `http` crate reads them so since 1.6, and a client's
// URL library sends them), delivered as such; `HTTPS://` is https, which
// the sandbox has no client for, refused as `https://` is.
#[tokio::test]
async fn a_scheme_written_in_capitals_is_taken_and_delivered() {
    let sb = Sandbox::start().await;
    let rx = Rx::start().await;
    for (key, scheme) in [("caps", "HTTP"), ("mixed", "Http")] {
        let url = format!("{scheme}://127.0.0.1:{}/hook", rx.port);
        let r = put_webhook(&sb, key, &url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        create(&sb, key).await;
    }
    sb.advance("2s").await;
    for key in ["caps", "mixed"] {
        assert!(
            rx.header_of(key, "apikey").is_some(),
            "{key}: not delivered: {:#?}",
            sb.admin_get("/__admin/webhooks/deliveries").await
        );
    }
    for url in ["HTTPS://127.0.0.1:9/hook", "Https://127.0.0.1:9/hook"] {
        let r = put_webhook(&sb, "tls", url).await;
        assert_eq!(r.status, 400, "{url}: {}", r.text());
        assert!(r.text().contains("must be an http:// URL"), "{}", r.text());
    }
}

//! A client that gives up on a request (a timeout: it closes its
//! connection, resets it, or resets its HTTP/2 stream) and sends it again,
//! on every provider. What the abandoned request leaves behind (journal,
//! counters, overrides, provider state, connection slots), and what the
//! retry gets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{self, config, provider_requests, ProviderRequest, Sandbox};
use mxid_sandbox::Config;

const EPN: &str = "PXNE660720HMCXTN06";

/// Raw HTTP/1.1 POST text with a JSON body; `extra` are header lines.
fn raw(path: &str, headers: &[(&str, &str)], body: &str, extra: &str) -> String {
    let mut head =
        format!("POST {path} HTTP/1.1\r\nhost: sandbox\r\ncontent-type: application/json\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(extra);
    format!("{head}content-length: {}\r\n\r\n{body}", body.len())
}

/// The journal of a namespace.
async fn journal(sb: &Sandbox, ns: &str) -> Vec<Value> {
    sb.admin_get(&format!("/__admin/requests?namespace={ns}"))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// Waits (bounded, 5 s) until the namespace's journal has `n` entries: a
/// request is journaled when its answer is decided, before its delay.
async fn journaled_in(sb: &Sandbox, ns: &str, n: usize) {
    let started = Instant::now();
    while journal(sb, ns).await.len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{ns}: {n} entries not journaled within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Sends `req` on a connection of its own, waits until the namespace
/// journal has `n` entries (the answer is decided and held), then closes
/// the connection: the client gave up.
async fn send_and_give_up(sb: &Sandbox, req: &str, ns: &str, n: usize) {
    let mut c = TcpStream::connect(sb.addr).await.unwrap();
    c.write_all(req.as_bytes()).await.unwrap();
    journaled_in(sb, ns, n).await;
    drop(c);
}

/// A provider request through the common client, with a namespace.
async fn send_in(sb: &Sandbox, ns: &str, p: &ProviderRequest) -> common::Resp {
    sb.provider_post(p, &[("x-sandbox-namespace", ns)]).await
}

/// Sends `p` in namespace `ns` under 20 s of latency and gives up on it
/// once it is journaled, then sends it again: the retry's answer.
async fn abandon_delayed_then_retry(sb: &Sandbox, ns: &str, p: &ProviderRequest) -> common::Resp {
    let (_, path, creds, body) = p;
    let mut h: Vec<(&str, &str)> = creds.clone();
    h.push(("x-sandbox-namespace", ns));
    h.push(("x-sandbox-latency", "20s"));
    send_and_give_up(sb, &raw(path, &h, body, ""), ns, 1).await;
    send_in(sb, ns, p).await
}

/// Reads one HTTP/1.1 response's status line (empty when closed first).
async fn first_line(c: TcpStream, wait: Duration) -> String {
    let mut r = BufReader::new(c);
    let mut line = String::new();
    let _ = tokio::time::timeout(wait, r.read_line(&mut line)).await;
    line
}

/// Whether a new connection gets a 200 from `/__admin/health` within
/// `wait`, trying again while refused with the 503 of a full server.
async fn served_within(addr: SocketAddr, wait: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < wait {
        let mut c = TcpStream::connect(addr).await.unwrap();
        let _ = c
            .write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await;
        let line = first_line(c, Duration::from_millis(500)).await;
        if line.starts_with("HTTP/1.1 200") {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// A keep-alive connection that has been served once and is held open:
/// it takes one connection slot for the rest of the test.
async fn held_connection(addr: SocketAddr) -> TcpStream {
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    idle
}

/// An HTTP/2 connection of the `h2` crate (which lets a test reset a
/// stream), and the task driving it: its result is how the connection ended.
async fn h2_conn(
    addr: SocketAddr,
) -> (
    h2::client::SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    let task = tokio::spawn(conn);
    (client.ready().await.unwrap(), task)
}

fn h2_post(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> hyper::Request<()> {
    let mut req = hyper::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(()).unwrap()
}

/// A webhook receiver answering every POST 200 `{"completed": true}`; the
/// count of requests it got.
async fn webhook_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = r.read_exact(&mut body).await;
                seen.fetch_add(1, Ordering::SeqCst);
                let answer = r#"{"completed": true}"#;
                let _ = r
                    .get_mut()
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                            answer.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    (url, count)
}

// =====================================================================
// HTTP/2: streams given up on, and their siblings
// =====================================================================

/// A client whose requests time out (or whose batch is cancelled, as an
/// errgroup cancels its siblings on the first error) resets the HTTP/2
/// streams it has just sent. h2's "rapid reset" guard, at its default
/// `max_pending_accept_reset_streams` (20), answered the client's 21st
/// such reset with GOAWAY ENHANCE_YOUR_CALM and closed the connection at
/// once: the other streams of the connection, already journaled and
/// waiting out their latency, never got their answer. The guard allows as
/// many as a connection may have open now.
///
/// README, Robustness: "three hundred delayed streams on one connection
/// each get their answer"; "An HTTP/2 stream whose body stalls is reset on
/// its own, its siblings answered"; Limitations: "the connection's other
/// streams go on". SPEC §6: "hang until the client gives up" — a client
/// giving up on some requests should not cost it the others.
#[tokio::test]
async fn http2_cancelling_a_burst_of_just_sent_streams_spares_their_delayed_sibling() {
    let sb = Sandbox::start().await;
    let (mut client, conn) = h2_conn(sb.addr).await;
    let body = || Bytes::from(json!({ "curp": EPN }).to_string());
    // The sibling: delayed 300 ms, journaled (decided) before the burst.
    let (sibling, mut s) = client
        .send_request(
            h2_post(
                sb.addr,
                "/api/curp/bycurp",
                &[("apikey", "k"), ("x-sandbox-latency", "300ms")],
            ),
            false,
        )
        .unwrap();
    s.send_data(body(), true).unwrap();
    journaled_in(&sb, "default", 1).await;
    // 30 requests given up on as soon as they are sent.
    for i in 0..30 {
        client = client
            .ready()
            .await
            .unwrap_or_else(|e| panic!("connection gone at cancelled request {i}: {e:?}"));
        let (resp, mut s) = client
            .send_request(
                h2_post(
                    sb.addr,
                    "/api/curp/bycurp",
                    &[("apikey", "k"), ("x-sandbox-latency", "50ms")],
                ),
                false,
            )
            .unwrap_or_else(|e| panic!("cancelled request {i} not sent: {e:?}"));
        let _ = s.send_data(body(), true);
        s.send_reset(h2::Reason::CANCEL);
        drop(resp);
    }
    let answer = tokio::time::timeout(Duration::from_secs(5), sibling)
        .await
        .expect("the sibling was answered or failed within 5 s");
    let ended = if conn.is_finished() {
        format!("{:?}", conn.await)
    } else {
        "still open".into()
    };
    match answer {
        Ok(res) => assert_eq!(res.status(), 200),
        Err(e) => panic!(
            "the delayed sibling stream lost its answer ({e:?}) because the client \
             cancelled other streams; connection: {ended}"
        ),
    }
}

// =====================================================================
// Every provider: what an abandoned request leaves, what the retry gets
// =====================================================================

/// Every provider: a request under latency whose client leaves before the
/// answer is journaled as decided (its status, no fault: the journal is of
/// answers decided, README "oldest first in the order the answers were
/// decided"), it counts where the provider counts, and the retry is simply
/// the next request: the same answer, journaled after it.
#[tokio::test]
async fn an_abandoned_delayed_request_is_journaled_and_counted_and_the_retry_is_the_next_request() {
    let sb = Sandbox::start().await;
    for p in provider_requests(EPN) {
        let provider = p.0;
        let ns = format!("lat-{provider}");
        let retry = abandon_delayed_then_retry(&sb, &ns, &p).await;
        assert_eq!(retry.status, 200, "{provider}: {}", retry.text());
        assert_eq!(retry.scenario(), "success", "{provider}");
        let entries = journal(&sb, &ns).await;
        assert_eq!(entries.len(), 2, "{provider}: {entries:?}");
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e["id"], i + 1, "{provider}");
            assert_eq!(e["status"], 200, "{provider}");
            assert_eq!(e["scenario"], "success", "{provider}");
            assert_eq!(e["fault"], Value::Null, "{provider}");
        }
        let counters = sb
            .admin_get(&format!("/__admin/counters?namespace={ns}"))
            .await;
        let counts: Vec<(String, u64)> = counters
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_string(),
                    c["count"].as_u64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, u64)> = match provider {
            "nss" => vec![(format!("nss:curp:{EPN}"), 2)],
            "accuauth" => vec![(format!("accuauth:same_id:id:{EPN}"), 2)],
            "async" => vec![(format!("async:NssByCurp:{EPN}"), 2)],
            _ => vec![],
        };
        assert_eq!(counts, expected, "{provider}");
        let verifications = sb
            .admin_count(&format!("/__admin/verifications?namespace={ns}"))
            .await;
        assert_eq!(
            verifications,
            if provider == "async" { 2 } else { 0 },
            "{provider}"
        );
    }
}

/// README, Admin API: a request whose client left while its answer waited
/// out a latency is "counted where its provider counts …, as the provider
/// ran it: a client that retries after its own timeout spends one more".
/// The quotas are such counts, when set: validacurp's per token and
/// accuauth's per API ID. With a quota of 2, the abandoned request and the
/// retry spend it, and the next request is `out_of_quota`.
#[tokio::test]
async fn an_abandoned_request_spends_the_quotas_too() {
    let (dir, _gone) = common::folder(
        "retries-quota",
        &[
            (
                "validacurp.yaml",
                &include_str!("../../scenarios/validacurp.yaml").replacen(
                    "quota_per_token: null",
                    "quota_per_token: 2",
                    1,
                ),
            ),
            (
                "accuauth.yaml",
                &include_str!("../../scenarios/accuauth.yaml").replacen(
                    "  quota: null",
                    "  quota: 2",
                    1,
                ),
            ),
        ],
    );
    let sb = Sandbox::start_with(Config {
        scenarios: mxid_sandbox::Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    for p in provider_requests(EPN) {
        let provider = p.0;
        if !["validacurp", "accuauth"].contains(&provider) {
            continue;
        }
        let ns = format!("quota-{provider}");
        let retry = abandon_delayed_then_retry(&sb, &ns, &p).await;
        assert_eq!(retry.scenario(), "success", "{provider}: {}", retry.text());
        let next = send_in(&sb, &ns, &p).await;
        assert_eq!(
            next.scenario(),
            "out_of_quota",
            "{provider}: the abandoned request was not counted: {}",
            next.text()
        );
    }
}

/// nss counts 2 queries per CURP a day: a query the client gave up on
/// counts (Kiban ran it), so a client that retries twice after a timeout
/// meets `attempts_exceeded` on its second retry; the next provider day it
/// is served again.
#[tokio::test]
async fn nss_a_timed_out_query_counts_and_the_second_retry_is_attempts_exceeded() {
    let sb = Sandbox::start().await;
    let ns = "nss-retry";
    let body = json!({ "curp": EPN }).to_string();
    let req = raw(
        "/api/v1/imss/nss",
        &[
            ("x-api-key", "k"),
            ("x-sandbox-namespace", ns),
            ("x-sandbox-fault", "hang"),
        ],
        &body,
        "",
    );
    send_and_give_up(&sb, &req, ns, 1).await;
    let nss = &provider_requests(EPN)[1];
    let first = send_in(&sb, ns, nss).await;
    assert_eq!(first.json()["response"]["status"], "FOUND");
    let second = send_in(&sb, ns, nss).await;
    assert_eq!(second.scenario(), "attempts_exceeded");
    assert_eq!(second.json()["status"], "SERVICE_ERROR");
    let entries = journal(&sb, ns).await;
    assert_eq!(entries[0]["fault"], "hang");
    assert_eq!(entries[0]["status"], 200);
    // The hung query's execution is in the history: the retry can find it.
    let history = sb
        .get(
            "/api/v1/imss/nss?page=1&itemsPerPage=10",
            &[("x-api-key", "k"), ("x-sandbox-namespace", ns)],
        )
        .await;
    assert_eq!(history.json()["items"].as_array().unwrap().len(), 3);
    sb.admin_post(
        &format!("/__admin/clock?namespace={ns}"),
        json!({ "advance": "1d" }),
    )
    .await;
    let next_day = send_in(&sb, ns, nss).await;
    assert_eq!(next_day.scenario(), "success");
}

/// async: a creation whose client gave up (a `hang`) is still a
/// verification: it is processed on the sandbox clock and its webhook is
/// delivered, beside the retry's. The retry is a second verification with
/// an id of its own (the seed defines no idempotency key).
#[tokio::test]
async fn async_an_abandoned_creation_is_processed_and_delivered_beside_the_retry() {
    let sb = Sandbox::start().await;
    let (url, received) = webhook_receiver().await;
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/k",
            &[("content-type", "application/json")],
            json!({ "url": url }).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = json!({ "curp": EPN, "state": 15 }).to_string();
    let req = raw(
        "/api/AsyncVerication/RfcByCurp",
        &[("apikey", "k"), ("x-sandbox-fault", "hang")],
        &body,
        "",
    );
    send_and_give_up(&sb, &req, "default", 1).await;
    let retry = sb
        .post(
            "/api/AsyncVerication/RfcByCurp",
            &[("apikey", "k")],
            json!({ "curp": EPN, "state": 15 }),
        )
        .await;
    assert_eq!(retry.status, 200);
    let retry_id = retry.json()["verificationId"].as_str().unwrap().to_string();
    let verifications = sb.admin_get("/__admin/verifications").await;
    let ids: Vec<&str> = verifications
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["verificationId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{verifications}");
    assert!(ids.contains(&retry_id.as_str()));
    sb.advance("2s").await;
    let verifications = sb.admin_get("/__admin/verifications").await;
    for v in verifications.as_array().unwrap() {
        assert_eq!(v["delivered"], true, "{v}");
    }
    assert_eq!(received.load(Ordering::SeqCst), 2);
}

/// An override for the next request with a `hang` fault (the usual way to
/// test a client's timeout and retry): the abandoned request spends it, and
/// the retry takes the realistic path.
#[tokio::test]
async fn a_hang_override_is_spent_by_the_abandoned_request_and_the_retry_is_answered() {
    let sb = Sandbox::start().await;
    for p in provider_requests(EPN) {
        let (provider, path, creds, body) = &p;
        let ns = format!("ovr-{provider}");
        let r = sb
            .admin_post(
                &format!("/__admin/overrides?namespace={ns}"),
                json!({ "provider": provider, "path": path, "scenario": "success", "times": 1, "fault": "hang" }),
            )
            .await;
        assert_eq!(r.status, 201, "{provider}: {}", r.text());
        let mut h: Vec<(&str, &str)> = creds.clone();
        h.push(("x-sandbox-namespace", &ns));
        send_and_give_up(&sb, &raw(path, &h, body, ""), &ns, 1).await;
        let retry = send_in(&sb, &ns, &p).await;
        assert_eq!(retry.status, 200, "{provider}");
        let entries = journal(&sb, &ns).await;
        assert_eq!(entries[0]["fault"], "hang", "{provider}");
        assert_eq!(entries[1]["fault"], Value::Null, "{provider}");
        let overrides = sb
            .admin_get(&format!("/__admin/overrides?namespace={ns}"))
            .await;
        let left: u64 = overrides
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["remaining"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(left, 0, "{provider}: {overrides}");
    }
}

/// README, Robustness: "a client that leaves in the middle of its body (a
/// connection closed or reset, an HTTP/2 stream cancelled) is neither
/// answered nor journaled" — on every provider and for every framing
/// (content-length, chunked, a chunk cut short, `Expect: 100-continue`
/// with no body sent); nothing is counted and no verification is made, so
/// the retry is the first request.
#[tokio::test]
async fn leaving_mid_body_leaves_nothing_on_any_provider_and_the_retry_is_the_first() {
    let sb = Sandbox::start().await;
    for p in provider_requests(EPN) {
        let (provider, path, creds, body) = &p;
        let ns = format!("mid-{provider}");
        let mut head = format!("POST {path} HTTP/1.1\r\nhost: x\r\nx-sandbox-namespace: {ns}\r\ncontent-type: application/json\r\n");
        for (k, v) in creds {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let half = &body[..body.len() / 2];
        let framings = [
            format!("{head}content-length: {}\r\n\r\n{half}", body.len()),
            format!(
                "{head}transfer-encoding: chunked\r\n\r\n{:x}\r\n{half}\r\n",
                half.len()
            ),
            format!(
                "{head}transfer-encoding: chunked\r\n\r\n{:x}\r\n{half}",
                body.len()
            ),
            format!(
                "{head}expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
                body.len()
            ),
        ];
        for (i, req) in framings.iter().enumerate() {
            let mut c = TcpStream::connect(sb.addr).await.unwrap();
            c.write_all(req.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            if i % 2 == 1 {
                // A reset rather than a close.
                c.set_zero_linger().unwrap();
            }
            drop(c);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(journal(&sb, &ns).await, Vec::<Value>::new(), "{provider}");
        let retry = send_in(&sb, &ns, &p).await;
        assert_eq!(retry.status, 200, "{provider}");
        let entries = journal(&sb, &ns).await;
        assert_eq!(entries.len(), 1, "{provider}");
        assert_eq!(entries[0]["id"], 1, "{provider}");
        let counters = sb
            .admin_get(&format!("/__admin/counters?namespace={ns}"))
            .await;
        for c in counters.as_array().unwrap() {
            assert_eq!(c["count"], 1, "{provider}: {counters}");
        }
        let verifications = sb
            .admin_count(&format!("/__admin/verifications?namespace={ns}"))
            .await;
        assert_eq!(
            verifications,
            usize::from(*provider == "async"),
            "{provider}"
        );
    }
}

/// HTTP/2: a stream cancelled half-way through its body is not journaled,
/// and the retry on the same connection is answered and journaled once.
#[tokio::test]
async fn http2_a_stream_cancelled_mid_body_then_retried_on_the_same_connection() {
    let sb = Sandbox::start().await;
    let (client, _conn) = h2_conn(sb.addr).await;
    let mut client = client;
    let headers = [("x-api-key", "k")];
    let (resp, mut s) = client
        .send_request(h2_post(sb.addr, "/api/v1/imss/nss", &headers), false)
        .unwrap();
    s.send_data(Bytes::from_static(b"{\"curp\""), false)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.send_reset(h2::Reason::CANCEL);
    drop(resp);
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(sb.admin_count("/__admin/requests").await, 0);
    client = client.ready().await.unwrap();
    let (resp, mut s) = client
        .send_request(h2_post(sb.addr, "/api/v1/imss/nss", &headers), false)
        .unwrap();
    s.send_data(Bytes::from(json!({ "curp": EPN }).to_string()), true)
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(10), resp)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(sb.admin_count("/__admin/requests").await, 1);
    let counters = sb.admin_get("/__admin/counters").await;
    assert_eq!(counters[0]["count"], 1, "{counters}");
}

/// HTTP/2: a stream the client resets with NO_ERROR half-way through a body
/// of a declared `content-length` is the client gone too, not journaled
/// (hyper ends the body there as at its end, RFC 9113 §8.1 giving that
/// reset to a server that answers early: the request was run on the part
/// sent). Without a declared length nothing tells the cut from the end:
/// that request is run on what it sent (README, Limitations). It is sent
/// second, on the same connection, so that the first one's reset has been
/// read when it is journaled.
#[tokio::test]
async fn http2_a_stream_reset_with_no_error_short_of_its_content_length_is_not_journaled() {
    let sb = Sandbox::start().await;
    let (mut client, _conn) = h2_conn(sb.addr).await;
    let sent = Bytes::from_static(b"{\"curp\"");
    let declared = json!({ "curp": EPN }).to_string().len().to_string();
    for (path, length) in [
        ("/api/v1/imss/nss", Some(declared.as_str())),
        ("/api/curp/bycurp", None),
    ] {
        let mut req = h2_post(sb.addr, path, &[("x-api-key", "k"), ("apikey", "k")]);
        if let Some(length) = length {
            req.headers_mut()
                .insert("content-length", length.parse().unwrap());
        }
        client = client.ready().await.unwrap();
        let (resp, mut s) = client.send_request(req, false).unwrap();
        s.send_data(sent.clone(), false).unwrap();
        s.send_reset(h2::Reason::NO_ERROR);
        drop(resp);
    }
    sb.journaled(1).await;
    let journal = sb.admin_get("/__admin/requests").await;
    let entries = journal.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{journal}");
    assert_eq!(entries[0]["path"], "/api/curp/bycurp", "{journal}");
    assert_eq!(entries[0]["status"], 400, "{journal}");
}

/// HTTP/2: 150 streams held by `hang`, each given up on (RST_STREAM after
/// it was journaled): the connection serves a new stream at once, and with
/// no stream left in flight it is an idle connection again, closed at the
/// header timeout (the hung streams are not left counted in flight).
#[tokio::test]
async fn http2_hanging_streams_reset_by_the_client_leave_the_connection_idle() {
    const STREAMS: usize = 150;
    let sb = Sandbox::start_with(Config {
        header_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let (mut client, conn) = h2_conn(sb.addr).await;
    let mut streams = Vec::with_capacity(STREAMS);
    for _ in 0..STREAMS {
        client = client.ready().await.unwrap();
        let (resp, mut s) = client
            .send_request(
                h2_post(
                    sb.addr,
                    "/api/curp/bycurp",
                    &[("apikey", "k"), ("x-sandbox-fault", "hang")],
                ),
                false,
            )
            .unwrap();
        s.send_data(Bytes::from(json!({ "curp": EPN }).to_string()), true)
            .unwrap();
        streams.push((resp, s));
    }
    journaled_in(&sb, "default", STREAMS).await;
    for (resp, mut s) in streams {
        s.send_reset(h2::Reason::CANCEL);
        drop(resp);
    }
    // The connection's wait for a head starts once this request is
    // answered, so after this instant (the client's reading of the answer
    // may come later on a busy machine).
    let sent = Instant::now();
    client = client.ready().await.unwrap();
    let (resp, mut s) = client
        .send_request(
            h2_post(sb.addr, "/api/curp/bycurp", &[("apikey", "k")]),
            false,
        )
        .unwrap();
    s.send_data(Bytes::from(json!({ "curp": EPN }).to_string()), true)
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(10), resp)
        .await
        .expect("answered within 5 s")
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("the connection, idle once its hung streams were reset, was closed within 10 s")
        .unwrap()
        .ok();
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "closed before the header timeout: {:?}",
        sent.elapsed()
    );
    let journal = sb.admin_get("/__admin/requests").await;
    let entries = journal.as_array().unwrap();
    assert_eq!(entries.len(), STREAMS + 1);
    assert!(entries[..STREAMS].iter().all(|e| e["fault"] == "hang"));
}

/// A hang whose client leaves frees its connection slot however the client
/// framed its request and however it left: `connection: close` (as Go's
/// transport with keep-alives off sends it), HTTP/1.0, or a reset instead
/// of a close.
#[tokio::test]
async fn abandoned_hangs_free_their_slot_however_the_client_framed_or_left() {
    let sb = Sandbox::start_with(Config {
        max_connections: 3,
        ..config()
    })
    .await;
    let body = json!({ "curp": EPN }).to_string();
    let hang = [("x-api-key", "k"), ("x-sandbox-fault", "hang")];
    let cases = [
        ("connection: close", raw("/api/v1/imss/nss", &hang, &body, "connection: close\r\n"), false),
        ("keep-alive, reset", raw("/api/v1/imss/nss", &hang, &body, ""), true),
        (
            "HTTP/1.0",
            format!(
                "POST /api/v1/imss/nss HTTP/1.0\r\nhost: x\r\nx-api-key: k\r\nx-sandbox-fault: hang\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ),
            false,
        ),
    ];
    // Takes one of the three slots for the whole test.
    let _held = held_connection(sb.addr).await;
    for (n, (what, req, reset)) in cases.iter().enumerate() {
        let mut c = TcpStream::connect(sb.addr).await.unwrap();
        c.write_all(req.as_bytes()).await.unwrap();
        hangs_journaled(sb.addr, n + 1, what).await;
        let second = third_slot(sb.addr, what).await;
        if *reset {
            c.set_zero_linger().unwrap();
        }
        drop(c);
        assert!(
            served_within(sb.addr, Duration::from_secs(2)).await,
            "{what}: the slot of a hang whose client left was not freed"
        );
        drop(second);
    }
}

/// Many clients giving up on delayed requests on every provider: 200
/// abandoned requests leave every connection slot free again, and the
/// journal holds each of them once.
#[tokio::test]
async fn many_abandoned_delayed_requests_free_every_slot() {
    const SLOTS: usize = 8;
    let sb = Sandbox::start_with(Config {
        max_connections: SLOTS,
        ..config()
    })
    .await;
    let providers = provider_requests(EPN);
    for i in 0..200 {
        let (_, path, creds, body) = &providers[i % providers.len()];
        let mut h: Vec<(&str, &str)> = creds.clone();
        h.push(("x-sandbox-latency", "30s"));
        h.push(("x-sandbox-namespace", "many"));
        send_and_give_up(&sb, &raw(path, &h, body, ""), "many", i + 1).await;
    }
    // Every slot is free again, but the one the test's own (pooled)
    // admin client keeps.
    let started = Instant::now();
    let mut held = Vec::new();
    while held.len() < SLOTS - 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "only {} of {} slots freed",
            held.len(),
            SLOTS - 1
        );
        let mut c = TcpStream::connect(sb.addr).await.unwrap();
        c.write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(1), c.read(&mut buf))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        if buf[..n].starts_with(b"HTTP/1.1 200") {
            held.push(c);
        } else {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    drop(held);
    let entries = journal(&sb, "many").await;
    assert_eq!(entries.len(), 200);
    let ids: Vec<u64> = entries.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=200).collect::<Vec<u64>>());
}

/// No provider's document defines an idempotency key (the seeds name no
/// client request id: accuauth's `request_id`, nss's execution `id` and
/// async's `verificationId` are the provider's): a retry with the same body
/// is a new request, with ids of its own.
#[tokio::test]
async fn a_retry_with_the_same_body_is_a_new_request_with_new_ids() {
    let sb = Sandbox::start().await;
    let all = provider_requests(EPN);
    let id_of = |provider: &str, v: &Value| -> String {
        match provider {
            "nss" => v["id"].as_str().unwrap().to_string(),
            "accuauth" => v["request_id"].as_str().unwrap().to_string(),
            "async" => v["verificationId"].as_str().unwrap().to_string(),
            _ => unreachable!(),
        }
    };
    for p in all
        .iter()
        .filter(|p| ["nss", "accuauth", "async"].contains(&p.0))
    {
        let ns = format!("idem-{}", p.0);
        let a = send_in(&sb, &ns, p).await;
        let b = send_in(&sb, &ns, p).await;
        assert_eq!(a.status, 200);
        assert_eq!(b.status, 200);
        assert_ne!(id_of(p.0, &a.json()), id_of(p.0, &b.json()), "{}", p.0);
    }
}

/// A client's retry can undo a latency set by an override (or scenario,
/// provider file, `--latency`) with `X-Sandbox-Latency: 0`: the header is
/// first (README: "Latency is chosen, first match wins, from the
/// `X-Sandbox-Latency` header, the override, …").
#[tokio::test]
async fn the_retry_can_drop_an_overrides_latency_with_the_header() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({ "provider": "curpv5", "scenario": "success", "latency": "30s" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let req = raw(
        "/api/curp/bycurp",
        &[("apikey", "k")],
        &json!({ "curp": EPN }).to_string(),
        "",
    );
    send_and_give_up(&sb, &req, "default", 1).await;
    let started = Instant::now();
    let retry = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "k"), ("x-sandbox-latency", "0")],
            json!({ "curp": EPN }),
        )
        .await;
    assert_eq!(retry.status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// async with `processing_delay: 0`: the source answers before the
/// creation is answered (README, settings), and on a frozen clock the
/// webhook is sent then too: it reaches its target while the creation's
/// answer still waits out an injected latency. (README, Limitations, says
/// so "on a fast clock"; with a processing delay of 0 it is so on any
/// clock.) A client that gave up on the creation still gets the webhook,
/// with an id it never saw.
#[tokio::test]
async fn async_with_no_processing_delay_the_webhook_beats_a_delayed_creation_answer() {
    let dir = common::temp_dir("retry-async0");
    let _gone = common::RemovedOnDrop(dir.clone());
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/async.yaml"))
            .unwrap()
            .replace("processing_delay: 2s", "processing_delay: 0s");
    std::fs::write(dir.join("async.yaml"), text).unwrap();
    let sb = Sandbox::start_with(Config {
        scenarios: mxid_sandbox::Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let (url, received) = webhook_receiver().await;
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/k",
            &[("content-type", "application/json")],
            json!({ "url": url }).to_string(),
        )
        .await;
    assert_eq!(r.status, 200);
    let body = json!({ "curp": EPN, "state": 15 }).to_string();
    let req = raw(
        "/api/AsyncVerication/RfcByCurp",
        &[("apikey", "k"), ("x-sandbox-latency", "20s")],
        &body,
        "",
    );
    let mut c = TcpStream::connect(sb.addr).await.unwrap();
    c.write_all(req.as_bytes()).await.unwrap();
    let started = Instant::now();
    while received.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no webhook within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The client gives up on its creation: the verification is complete
    // and delivered all the same.
    drop(c);
    let v = sb.admin_get("/__admin/verifications").await;
    assert_eq!(v[0]["verificationStatus"], 4, "{v}");
    assert_eq!(v[0]["delivered"], true, "{v}");
}

/// A request abandoned mid-body makes no namespace (README: "a provider
/// request … makes it"; Robustness: such a request is "neither answered
/// nor journaled"): 1,030 of them in as many namespaces leave the 1,024
/// cap untouched.
#[tokio::test]
async fn requests_abandoned_mid_body_take_none_of_the_1024_namespaces() {
    let sb = Sandbox::start().await;
    for i in 0..1030 {
        let mut c = TcpStream::connect(sb.addr).await.unwrap();
        let head = format!(
            "POST /api/curp/bycurp HTTP/1.1\r\nhost: x\r\napikey: k\r\nx-sandbox-namespace: gone-{i}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"curp\""
        );
        c.write_all(head.as_bytes()).await.unwrap();
        drop(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "k"), ("x-sandbox-namespace", "after")],
            json!({ "curp": EPN }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(journal(&sb, "gone-7").await, Vec::<Value>::new());
}

/// A hang on a request with a large body (up to about the 1 MB limit: an
/// upload that times out) whose client leaves frees its slot: hyper's read
/// buffer is empty once the body is read, so the leaving is seen.
#[tokio::test]
async fn a_hang_on_a_large_body_whose_client_leaves_frees_its_slot() {
    let sb = Sandbox::start_with(Config {
        max_connections: 3,
        ..config()
    })
    .await;
    let _held = held_connection(sb.addr).await;
    for (n, size) in [100_000usize, 1_000_000].into_iter().enumerate() {
        let body = json!({ "curp": EPN, "pad": "x".repeat(size) }).to_string();
        let req = raw(
            "/api/curp/bycurp",
            &[("apikey", "k"), ("x-sandbox-fault", "hang")],
            &body,
            "",
        );
        let mut c = TcpStream::connect(sb.addr).await.unwrap();
        c.write_all(req.as_bytes()).await.unwrap();
        let what = format!("{size}");
        hangs_journaled(sb.addr, n + 1, &what).await;
        let second = third_slot(sb.addr, &what).await;
        drop(c);
        assert!(
            served_within(sb.addr, Duration::from_secs(2)).await,
            "{size}: the slot of a hang on a large body whose client left was not freed"
        );
        drop(second);
    }
}

/// Waits until the journal holds `n` requests held by a hang, read through
/// the third connection slot, on connections closed after each read.
async fn hangs_journaled(addr: SocketAddr, n: usize, what: &str) {
    let started = Instant::now();
    loop {
        let mut probe = TcpStream::connect(addr).await.unwrap();
        let _ = probe
            .write_all(b"GET /__admin/requests HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(1), probe.read_to_end(&mut out)).await;
        if String::from_utf8_lossy(&out)
            .matches("\"fault\":\"hang\"")
            .count()
            >= n
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: the hang was not journaled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The third connection slot, taken by a keep-alive connection that was
/// answered (retried while the probes' connections close).
async fn third_slot(addr: SocketAddr, what: &str) -> TcpStream {
    let started = Instant::now();
    loop {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let got = tokio::time::timeout(Duration::from_secs(1), c.read(&mut buf))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        if buf[..got].starts_with(b"HTTP/1.1 200") {
            return c;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: no third slot"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

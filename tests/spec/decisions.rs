//! README, Decisions: the claims an audit of the section found no other
//! test holding (each behaved as written; a change to it would have passed
//! the suite). One test per claim, the README quoted above it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ine_verification;
use super::{CURPV5, EPN, NSS};
use crate::common::{config, provider_requests, Sandbox};
use mxid_sandbox::Config;

/// A synthetic person (no persona), of age, born 1985.
const GOMC: &str = "GOMC850312HJCNRR05";

// README, Decisions: "The 413 for a body over the limit still comes first"
// (before the credential), and each provider's engine errors in its shape:
// curpv5 `{"error","message"}`, nss `{"message"}`, accuauth's envelope with
// a `request_id` that replays with `--seed` ("404, 405, 413, an unreadable
// body"), validacurp's envelope with `code_error: 0` ("404, 405 and 413
// would collide with codes 404, 405 and 413"), async `{"code":
// "PAYLOAD_TOO_LARGE", "message"}`.
#[tokio::test]
async fn a_body_over_the_limit_is_each_providers_413_before_its_credential() {
    let limited = || Config {
        body_limit: 64,
        ..config()
    };
    let (a, b) = (
        Sandbox::start_with(limited()).await,
        Sandbox::start_with(limited()).await,
    );
    let message = "the request body is larger than 64 bytes";
    let body = json!({ "curp": "x".repeat(200) }).to_string();
    for (provider, path, _, _) in provider_requests(EPN) {
        let headers = [("content-type", "application/json")];
        let r = a.send("POST", path, &headers, body.clone()).await;
        // The same requests, in the same order, to an identical sandbox.
        let again = b.send("POST", path, &headers, body.clone()).await;
        assert_eq!(r.status, 413, "{provider}: {}", r.text());
        assert_eq!(r.scenario(), "payload_too_large", "{provider}");
        let mut got = r.json();
        let expected = match provider {
            "curpv5" => json!({"error": "PAYLOAD_TOO_LARGE", "message": message}),
            "nss" => json!({ "message": message }),
            "accuauth" => {
                let id = got["request_id"].as_str().unwrap_or_default().to_string();
                let hex = id.strip_prefix("TID").unwrap_or_default();
                assert!(
                    hex.len() == 32 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                    "{id}"
                );
                assert_eq!(again.json()["request_id"], id.as_str(), "replayed");
                got.as_object_mut().unwrap().remove("request_id");
                json!({"status": "INVALID_ARGUMENT", "reason": message})
            }
            "validacurp" => json!({
                "error": true, "code_error": 0, "error_message": message,
                "msn": message, "response": null
            }),
            "async" => json!({"code": "PAYLOAD_TOO_LARGE", "message": message}),
            other => panic!("no 413 shape for {other}"),
        };
        assert_eq!(got, expected, "{provider}");
    }
}

// README, Decisions: "curpv5 and async (.NET) and nss (Go) take `curp` as
// `Curp` or `CURP` too; … of two keys that differ only in case the last one
// wins … (a key written twice in the same case is read where it first
// stands: `{"curp":X,"Curp":Y,"curp":""}` reads Y …). validacurp and
// accuauth read the names as documented."
#[tokio::test]
async fn a_curp_key_in_another_case_is_read_as_each_providers_decoder_reads_it() {
    let sb = Sandbox::start().await;
    let raw = |path: &'static str, key: (&'static str, &'static str), body: String| {
        let headers = [("content-type", "application/json"), key];
        let sb = &sb;
        async move { sb.send("POST", path, &headers, body).await }
    };
    let three = format!(r#"{{"curp": "{EPN}", "Curp": "{GOMC}", "curp": ""}}"#);
    let r = raw(CURPV5, ("apikey", "k"), three.clone()).await;
    assert_eq!(r.scenario(), "success", "{}", r.text());
    assert_eq!(r.json()["curp"], GOMC);
    let r = raw(NSS, ("x-api-key", "k"), three).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["request"]["curp"], GOMC);

    let r = raw(CURPV5, ("apikey", "k"), format!(r#"{{"CURP": "{GOMC}"}}"#)).await;
    assert_eq!(r.scenario(), "success", "{}", r.text());
    assert_eq!(r.json()["curp"], GOMC);
    for key in ["Curp", "CURP"] {
        let r = raw(
            "/api/AsyncVerication/NssByCurp",
            ("apikey", "k"),
            format!(r#"{{"{key}": "{GOMC}"}}"#),
        )
        .await;
        assert_eq!(r.status, 200, "{key}: {}", r.text());
        assert!(r.json()["verificationId"].is_string(), "{key}");
    }
    // accuauth reads `id_number` as documented: another case is no field.
    let r = sb
        .post(
            "/verify/id_check",
            &[("x-df-api-id", "id"), ("x-df-api-secret", "s")],
            json!({ "Id_Number": GOMC }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["status"], "INVALID_ARGUMENT");
    assert_eq!(r.json()["reason"], "argument 'id_number': not found");
}

// README, Decisions, "JSON by any of its names": a body is read as JSON when
// its content type is `application/json`, `text/json`, a structured `+json`
// type …
#[tokio::test]
async fn a_text_json_body_is_read_as_json() {
    let sb = Sandbox::start().await;
    let r = sb
        .send(
            "POST",
            CURPV5,
            &[("content-type", "text/json"), ("apikey", "k")],
            json!({ "curp": GOMC }).to_string(),
        )
        .await;
    assert_eq!(r.scenario(), "success", "{}", r.text());
    assert_eq!(r.json()["curp"], GOMC);
}

// README, Decisions: "Path parameters are percent-decoded (an nss execution
// id, an override id, a webhook's apikey) …: `%34` is `4`, `%2F` a slash
// inside the segment, `+` stays `+`."
#[tokio::test]
async fn an_override_id_and_a_webhook_apikey_are_percent_decoded() {
    let sb = Sandbox::start().await;
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/a%2Fb",
            &[("content-type", "application/json")],
            json!({"url": "http://127.0.0.1:9/hook"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["apikey"], "a/b");
    let listed = sb.admin_get("/__admin/webhooks").await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["apikey"] == "a/b"),
        "{listed}"
    );
    let o = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "not_found"}),
        )
        .await;
    assert_eq!(o.json()["id"], 1, "{}", o.text());
    let r = sb.admin_delete("/__admin/overrides/%31").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"deleted": 1}));
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
}

// README, Decisions: "`DELETE /__admin/overrides/` is no route (404, `no
// admin route DELETE /__admin/overrides/`), not a request to clear them
// all."
#[tokio::test]
async fn deleting_overrides_with_a_trailing_slash_is_no_route_and_clears_nothing() {
    let sb = Sandbox::start().await;
    let o = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "not_found"}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text());
    let r = sb.admin_delete("/__admin/overrides/").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"error": "no admin route DELETE /__admin/overrides/"})
    );
    assert_eq!(sb.admin_count("/__admin/overrides").await, 1);
}

// README, Decisions, nss: "a live execution's id is a MongoDB ObjectId …
// its first 8 hex digits are `createdAt`'s Unix seconds (… on a clock set
// before 1970-01-01T00:00:00Z they are `00000000`, and from
// 2106-02-07T06:28:15Z on `ffffffff`, the most 32 bits hold)".
#[tokio::test]
async fn an_nss_ids_seconds_stop_at_the_ends_of_32_bits() {
    let sb = Sandbox::start().await;
    for (at, prefix) in [
        ("1960-01-01T00:00:00-06:00", "00000000"),
        ("1969-12-31T17:59:59-06:00", "00000000"),
        ("1969-12-31T18:00:01-06:00", "00000001"),
        ("2106-02-07T00:28:14-06:00", "fffffffe"),
        ("2106-02-07T00:28:15-06:00", "ffffffff"),
        ("2200-01-01T00:00:00-06:00", "ffffffff"),
    ] {
        sb.set_clock(at).await;
        let r = sb
            .post(NSS, &[("x-api-key", "k")], json!({ "curp": GOMC }))
            .await;
        assert_eq!(r.status, 200, "{at}: {}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_string();
        assert_eq!(&id[..8], prefix, "{at}: {id}");
    }
}

// README, Decisions: "The `Date` header is the machine's, as hyper writes
// it … while the bodies carry sandbox time."
#[tokio::test]
async fn the_date_header_is_the_machines_whatever_the_sandbox_clock() {
    let sb = Sandbox::start().await;
    sb.set_clock("1969-07-20T15:17:40-06:00").await;
    let r = sb
        .post(CURPV5, &[("apikey", "k")], json!({ "curp": GOMC }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.json()["validationDate"]
            .as_str()
            .unwrap()
            .contains("1969"),
        "{}",
        r.text()
    );
    let date = r.header("date").expect("a Date header");
    let year: i32 = date.split_whitespace().nth(3).unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The machine's year, within one either side of a year's average length.
    let machine = 1970 + (now / 31_556_952) as i32;
    assert!((machine - 1..=machine + 1).contains(&year), "{date}");
}

// README, Decisions: "Latency is real time (a tokio timer), not sandbox
// time, counted from the request's arrival: the answer leaves `delay`
// after the request came in, however long reading it … took." A client
// that sends its body 1.5 s after its head, under a 2 s latency, is
// answered 2 s after the head, not 2 s after the body. (The client's wait
// is the slow client itself: no sandbox clock stands for it.)
#[tokio::test]
async fn latency_counts_from_the_requests_arrival_not_its_bodys_end() {
    let sb = Sandbox::start().await;
    let body = json!({ "curp": GOMC }).to_string();
    let mut socket = tokio::net::TcpStream::connect(sb.addr).await.unwrap();
    let head = format!(
        "POST {CURPV5} HTTP/1.1\r\nhost: x\r\napikey: k\r\ncontent-type: application/json\r\n\
         x-sandbox-latency: 2s\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let started = Instant::now();
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    socket.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Never early; and well short of the 3.5 s a delay counted from the
    // body's end would take (a busy machine may add up to a second).
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

// README, Decisions, "INE credentials": the credential is the holder's only
// if "the whole of it is theirs (elector code or CIC, OCR, and the issue
// number for type C: another issue number is not their credential in
// force, and gets a synthetic holder as any credential does)", whose years
// agree with that issue number (`00`: registered and issued the same year;
// another: issued after its registration).
#[tokio::test]
async fn a_type_c_credential_with_another_issue_number_is_not_the_holders() {
    let sb = Sandbox::start().await;
    let ine = crate::curp_rules::domain().person(GOMC, 0).ine;
    let theirs = ine.issue_number.to_string();
    let other = if theirs == "00" { "02" } else { "00" };
    let credential = |issue: &str| {
        json!({"type": "C", "id": ine.elector_code.to_string(),
               "ocr": ine.ocr.to_string(), "issueNumber": issue})
    };
    let years = |v: &Value| {
        let year = |k: &str| v["data"][k].as_str().unwrap().parse::<u16>().unwrap();
        (year("registrationYear"), year("issueYear"))
    };
    let v = ine_verification(&sb, credential(&theirs)).await;
    assert_eq!(years(&v), (ine.registration_year, ine.issue_year), "{v}");
    let v = ine_verification(&sb, credential(other)).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["data"]["issueNumber"], other, "{v}");
    let (registered, issued) = years(&v);
    assert_ne!(
        (registered, issued),
        (ine.registration_year, ine.issue_year)
    );
    assert_eq!(registered == issued, other == "00", "{v}");
}

// README, Decisions, "INE credentials": the credential is the holder's only
// if they are a voter. A foreigner (the persona on a migration document,
// nationality CHN) is on no voter register: the credential `curp person`
// prints for them is nobody's and gets a synthetic holder, whose elector
// code is another's. A deceased holder (the BD persona) is known to the INE
// and off its register: `valid` and `canVote` false, no data, as `outcome:
// invalid` answers. A living Mexican's credential is theirs.
#[tokio::test]
async fn a_foreigners_credential_is_nobodys_and_a_dead_holders_is_not_in_force() {
    let sb = Sandbox::start().await;
    let by_cic = |curp: &str| {
        let ine = crate::curp_rules::domain().person(curp, 0).ine;
        let body = json!({"type": "D", "id": ine.cic.to_string(), "ocr": ine.ocr.to_string()});
        (ine.elector_code.to_string(), body)
    };
    let (foreigners, body) = by_cic("WOXS030303MNENXFA6");
    let v = ine_verification(&sb, body).await;
    assert_eq!(
        (&v["valid"], &v["canVote"]),
        (&json!(true), &json!(true)),
        "{v}"
    );
    assert_ne!(v["data"]["electorCode"], foreigners.as_str(), "{v}");

    let (_, body) = by_cic("MEGR380412MJCDRS07");
    let v = ine_verification(&sb, body).await;
    assert_eq!(v, json!({"valid": false, "canVote": false, "data": null}));

    let (theirs, body) = by_cic(GOMC);
    let v = ine_verification(&sb, body).await;
    assert_eq!(v["data"]["electorCode"], theirs.as_str(), "{v}");
}

// README, Decisions: "A provider's header sent twice is read at its first
// value (`apikey`, …, `Authorization`, …, `Content-Type`)". validacurp's
// token: a good one first is served, a refused one first is refused;
// Content-Type: JSON first reads the JSON, text first refuses it.
#[tokio::test]
async fn a_providers_header_sent_twice_is_read_at_its_first_value() {
    let sb = Sandbox::start().await;
    let body = json!({ "curp": EPN }).to_string();
    for (first, second, scenario) in [
        ("Bearer test-token", "Bearer invalid-token", "success"),
        (
            "Bearer invalid-token",
            "Bearer test-token",
            "invalid_credentials",
        ),
    ] {
        let h = [
            ("content-type", "application/json"),
            ("authorization", first),
            ("authorization", second),
        ];
        let r = sb.send("POST", "/curp/getData", &h, body.clone()).await;
        assert_eq!(r.scenario(), scenario, "{first}: {}", r.text());
    }
    for (first, second, status) in [
        ("application/json", "text/xml", 200),
        ("text/xml", "application/json", 400),
    ] {
        let h = [
            ("apikey", "k"),
            ("content-type", first),
            ("content-type", second),
        ];
        let r = sb.send("POST", CURPV5, &h, body.clone()).await;
        assert_eq!(r.status, status, "{first}: {}", r.text());
    }
}

// README, Decisions: ids are seeded by "the request's sequence number
// (every provider request the namespace takes counts, a 401 or an unknown
// path's 404 too, journaled or not under `--journal-limit 0`; admin calls
// and the requests a sandbox header's 400 refuses do not ...)". nss's
// execution id after each kind of request before it, against a fresh
// server's first.
#[tokio::test]
async fn which_requests_move_the_sequence_that_seeds_ids() {
    let first_id = |before: &'static str, journal_limit: usize| async move {
        let sb = Sandbox::start_with(Config {
            journal_limit,
            ..config()
        })
        .await;
        match before {
            "401" => {
                sb.post(CURPV5, &[], json!({ "curp": EPN })).await;
            }
            "404" => {
                sb.post("/nothing", &[], json!({})).await;
            }
            "admin" => {
                sb.admin_get("/__admin/requests").await;
            }
            "sandbox 400" => {
                let r = sb
                    .post(
                        CURPV5,
                        &[("apikey", "k"), ("x-sandbox-scenario", "no_such")],
                        json!({ "curp": EPN }),
                    )
                    .await;
                assert_eq!(r.status, 400);
            }
            _ => {}
        }
        let r = sb
            .post(NSS, &[("x-api-key", "k")], json!({ "curp": EPN }))
            .await;
        r.json()["id"].as_str().unwrap().to_string()
    };
    let fresh = first_id("", 1000).await;
    assert_eq!(first_id("", 1000).await, fresh, "replayed");
    for (before, limit, moves) in [
        ("401", 1000, true),
        ("404", 1000, true),
        ("401", 0, true),
        ("admin", 1000, false),
        ("sandbox 400", 1000, false),
    ] {
        let id = first_id(before, limit).await;
        assert_eq!(
            id != fresh,
            moves,
            "{before} (journal limit {limit}): {id} / {fresh}"
        );
    }
}

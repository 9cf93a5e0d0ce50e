//! Arithmetic on numbers a user controls: the sandbox clock at both ends of
//! its range, the largest numbers the admin API and nss's paging take, and
//! limits of 0 and u64::MAX in `settings:`. They pin that the extremes
//! answer, in the right shape (a debug build panics on an overflow).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{config, temp_dir, RemovedOnDrop, Resp, Sandbox, Served};
use mxid_sandbox::{Config, Source};
use serde_json::{json, Value};

const EPN: &str = "PXNE660720HMCXTN06";
/// A strictly valid CURP of an adult no persona lists.
const SYNTHETIC: &str = "GOMC850312HJCNRR05";
const LAST: &str = "9999-12-31T23:59:59.999999-06:00";
const U64_MAX: &str = "18446744073709551615";

/// A scenario folder holding `provider.yaml`: the shipped file with the
/// given replacements.
fn scenario_dir(tag: &str, provider: &str, replace: &[(&str, &str)]) -> PathBuf {
    let file = format!("{provider}.yaml");
    let mut yaml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(&file),
    )
    .unwrap();
    for (from, to) in replace {
        assert!(yaml.contains(from), "{from}");
        yaml = yaml.replace(from, to);
    }
    let dir = temp_dir(tag);
    std::fs::write(dir.join(file), yaml).unwrap();
    dir
}

async fn with_scenarios(dir: &Path) -> Sandbox {
    Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.to_path_buf()),
        ..config()
    })
    .await
}

/// One request to every provider's main endpoints, and what it answered.
async fn every_provider(sb: &Sandbox) -> Vec<(&'static str, Resp)> {
    let bearer = [("authorization", "Bearer t")];
    let mut out = vec![
        (
            "curpv5",
            sb.post("/api/curp/bycurp", &[("apikey", "k")], json!({"curp": EPN}))
                .await,
        ),
        (
            "validacurp getData",
            sb.post("/curp/getData", &bearer, json!({"curp": EPN}))
                .await,
        ),
        (
            "validacurp calculateCURP",
            sb.post(
                "/curp/calculateCURP",
                &bearer,
                json!({"names": "enrique", "lastName": "peña", "secondLastName": "nieto",
                       "birthday": "20", "birthMonth": "07", "yearBirth": "1966",
                       "gender": "H", "entity": "15"}),
            )
            .await,
        ),
        (
            "accuauth",
            sb.post(
                "/verify/id_check",
                &[("X-DF-API-ID", "a"), ("X-DF-API-SECRET", "s")],
                json!({"id_number": EPN}),
            )
            .await,
        ),
        ("nss", nss_query(sb).await),
    ];
    for (path, body) in [
        ("RfcByCurp", json!({"curp": EPN, "state": 15})),
        ("NssByCurp", json!({"curp": EPN})),
        (
            "IneNominalList",
            json!({"type": "C", "id": "TSVREL72100209M100", "ocr": "3854006556540", "issueNumber": "03"}),
        ),
    ] {
        out.push((
            "async",
            sb.post(
                &format!("/api/AsyncVerication/{path}"),
                &[("apikey", "k")],
                body,
            )
            .await,
        ));
    }
    crate::common::assert_every_provider(
        "every_provider",
        out.iter()
            .map(|(what, _)| what.split(' ').next().unwrap_or(what)),
    );
    out
}

/// README, Admin API: "the clock stays within years 0001–9999 in UTC-6".
/// The first instant of that range is served like any other: every
/// provider answers (no panic on a negative Unix time, a date before the
/// epoch, a counter's day window), the async timeline runs there, and an
/// instant one microsecond earlier is refused with the admin API's 400.
#[tokio::test]
async fn the_clocks_first_instant_is_served_by_every_provider() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "0001-01-01T05:59:59.999999Z"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("0001 to 9999"));
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "0001-01-01T00:00:00-06:00"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let mut ids = Vec::new();
    for (what, r) in every_provider(&sb).await {
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        let b = r.json();
        if let Some(id) = b["verificationId"].as_str() {
            ids.push(id.to_string());
        }
        if what == "nss" {
            assert_eq!(b["createdAt"], "0001-01-01T00:00:00-06:00", "{b}");
            assert_eq!(b["status"], "SUCCESS", "{b}");
        }
    }
    assert_eq!(ids.len(), 3);
    sb.advance("2s").await;
    let all = sb.admin_get("/__admin/verifications").await;
    for v in all.as_array().unwrap() {
        assert_eq!(v["verificationStatus"], 4, "{v}");
        assert_eq!(v["completedAt"], "0001-01-01T00:00:02.000000-06:00", "{v}");
    }
    let counters = sb.admin_get("/__admin/counters").await;
    for c in counters.as_array().unwrap() {
        assert_eq!(c["since"], "0001-01-01", "{c}");
    }
    let journal = sb.admin_get("/__admin/requests").await;
    assert_eq!(journal.as_array().unwrap().len(), 8);
    assert_eq!(journal[0]["time"], "0001-01-01T00:00:00.000000-06:00");
}

/// README, Admin API: "a running clock stops at
/// 9999-12-31T23:59:59.999999-06:00"; SPEC §5: a verification goes on to 4
/// Completed, its webhook attempts (at most 5) spent. A clock running a
/// million times faster from ten seconds before the end reaches it on its
/// own: what falls due past the end falls due there, and runs.
#[tokio::test]
async fn a_running_clock_that_reaches_the_end_runs_what_falls_due_there() {
    let served = Served::start(
        &[
            "--port",
            "0",
            "--time-scale",
            "1000000",
            "--start-time",
            "9999-12-31T23:59:50-06:00",
        ],
        &[],
    );
    // A port held, never listening: every attempt is refused.
    let dead = tokio::net::TcpSocket::new_v4().unwrap();
    dead.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/hook", dead.local_addr().unwrap());
    let r = served
        .send(
            "PUT",
            "/__admin/webhooks/k",
            &[("content-type", "application/json")],
            serde_json::to_vec(&json!({ "url": url })).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = served
        .post(
            "/api/AsyncVerication/RfcByCurp",
            &[("apikey", "k")],
            json!({"curp": EPN, "state": 15}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let started = Instant::now();
    let v = loop {
        let all = served.admin_get("/__admin/verifications").await;
        let v = all[0].clone();
        if v["verificationStatus"] == 4 {
            break v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not completed within 5 s: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(v["deliveryAttempts"], 5, "{v}");
    assert_eq!(v["delivered"], false, "{v}");
    assert_eq!(v["completedAt"], LAST, "{v}");
    let d = served.admin_get("/__admin/webhooks/deliveries").await;
    let d = d.as_array().unwrap();
    assert_eq!(d.len(), 5, "{d:#?}");
    assert!(d.iter().all(|a| a["time"] == LAST), "{d:#?}");
    assert_eq!(
        served.admin_get("/__admin/clock").await,
        json!({"now": LAST, "scale": 1_000_000.0})
    );
}

/// SPEC §7 ("bad input gets 400 with {"error"}") and README (overrides'
/// `times`, the journal's `limit`, nss's paging): the largest whole number
/// each takes is taken without overflow, and one past it is a 400 in the
/// route's own shape, or for `limit` the whole journal: `times` up to
/// 2^53 − 1 (the most a JavaScript client reads exactly), `limit` and
/// nss's paging up to u64::MAX.
#[tokio::test]
async fn the_largest_whole_numbers_are_taken_without_overflow() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "timeout", "times": u64::MAX}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    const MAX_TIMES: u64 = (1 << 53) - 1;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "timeout", "times": MAX_TIMES}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["remaining"], json!(MAX_TIMES));
    let r = sb
        .post("/api/curp/bycurp", &[("apikey", "k")], json!({"curp": EPN}))
        .await;
    assert_eq!(r.status, 504);
    assert_eq!(
        sb.admin_get("/__admin/overrides").await[0]["remaining"],
        json!(MAX_TIMES - 1)
    );

    let all = sb
        .admin_get(&format!("/__admin/requests?limit={U64_MAX}"))
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let r = sb
        .get("/__admin/requests?limit=18446744073709551616", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().as_array().unwrap().len(), 1);

    for _ in 0..3 {
        let r = nss_query(&sb).await;
        assert_eq!(r.status, 200);
    }
    let sb = &sb;
    let page = |q: String| async move {
        sb.get(&format!("/api/v1/imss/nss?{q}"), &[("x-api-key", "k")])
            .await
    };
    let r = page(format!("page={U64_MAX}&itemsPerPage={U64_MAX}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"currentPage": u64::MAX, "hasNextPage": false, "items": []})
    );
    let r = page(format!("page=1&itemsPerPage={U64_MAX}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b: Value = r.json();
    assert_eq!(b["items"].as_array().unwrap().len(), 3);
    assert_eq!(b["hasNextPage"], false);
    let r = page("page=18446744073709551616&itemsPerPage=1".into()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"page": "FORMAT_ERROR; invalid page format"})
    );
}

/// README, nss: `settings.attempts_per_day` ("the next query that day gets
/// attempts_exceeded, whose message states the limit ... or the file's
/// number"). A limit of 0 refuses the first query and says 0; one of
/// u64::MAX is never reached and is listed as it is.
#[tokio::test]
async fn nss_daily_limits_of_zero_and_u64_max() {
    let zero = scenario_dir(
        "arith-nss-zero",
        "nss",
        &[("attempts_per_day: 2", "attempts_per_day: 0")],
    );
    let _gone = RemovedOnDrop(zero.clone());
    let sb = with_scenarios(&zero).await;
    let r = nss_query(&sb).await;
    assert_eq!(r.scenario(), "attempts_exceeded", "{}", r.text());
    assert!(r.json()["response"]["message"]
        .as_str()
        .unwrap()
        .contains("(0 operacion(es) cada 1 dia(s))"));
    sb.stop().await;

    let max = scenario_dir(
        "arith-nss-max",
        "nss",
        &[(
            "attempts_per_day: 2",
            &format!("attempts_per_day: {U64_MAX}"),
        )],
    );
    let _gone = RemovedOnDrop(max.clone());
    let sb = with_scenarios(&max).await;
    for _ in 0..3 {
        let r = nss_query(&sb).await;
        assert_eq!(r.scenario(), "success", "{}", r.text());
    }
    let c = sb.admin_get("/__admin/counters").await;
    assert_eq!(c[0]["count"], 3, "{c}");
    assert_eq!(c[0]["limit"], json!(u64::MAX), "{c}");
}

/// nss's documented query for the synthetic person.
async fn nss_query(sb: &Sandbox) -> Resp {
    sb.post(
        "/api/v1/imss/nss",
        &[("x-api-key", "k")],
        json!({"curp": SYNTHETIC}),
    )
    .await
}

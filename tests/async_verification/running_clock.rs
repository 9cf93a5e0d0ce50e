//! Everything time-driven when the sandbox clock runs on its own (a large
//! `--time-scale`) instead of being frozen and moved by hand: the async
//! timeline, clock changes under pending timers, daily counters at Mexico
//! City's midnight, per-namespace scales, real-time latency. Waits are
//! bounded polls on real events (a status change, a webhook at the
//! receiver), never sleeps standing in for sandbox time: at a scale of
//! 1,000,000 a sandbox minute is 60 real microseconds.

use std::time::{Duration, Instant};

use mxid_sandbox::engine::clock::Start;
use mxid_sandbox::time::Timestamp;
use mxid_sandbox::Config;
use serde_json::{json, Value};

use super::{Answer, Hook, EPN, KEY, NSS as NSS_ASYNC};
use crate::common::*;

const IMSS: &str = "/api/v1/imss/nss";

/// The test configuration with a clock that runs at `scale` from START.
fn running(scale: f64) -> Config {
    Config {
        clock: Start {
            at: Some(Timestamp::parse_rfc3339(START).unwrap()),
            scale,
        },
        ..config()
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Polls `f` until it gives `Some`, for at most `secs` real seconds.
async fn until<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---- helpers --------------------------------------------------------------------

/// A receiver answering `answer`, the default namespace's webhook target.
async fn hooked(sb: &Http, answer: Answer) -> Hook {
    let hook = Hook::start().await;
    hook.always(answer);
    put_webhook(sb, None, &hook.url).await;
    hook
}

async fn put_webhook(sb: &Http, ns: Option<&str>, url: &str) {
    let q = ns.map(|n| format!("?namespace={n}")).unwrap_or_default();
    let r = sb
        .send(
            "PUT",
            &format!("/__admin/webhooks/{KEY}{q}"),
            &[("content-type", "application/json")],
            serde_json::to_vec(&json!({ "url": url })).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn create_nss(sb: &Http, headers: &[(&str, &str)], curp: &str) -> String {
    let mut h = vec![("apikey", KEY)];
    h.extend_from_slice(headers);
    let r = sb.post(NSS_ASYNC, &h, json!({ "curp": curp })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["verificationId"].as_str().unwrap().to_string()
}

async fn verification(sb: &Http, ns: Option<&str>, id: &str) -> Value {
    let q = ns.map(|n| format!("?namespace={n}")).unwrap_or_default();
    let all = sb.admin_get(&format!("/__admin/verifications{q}")).await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|v| v["verificationId"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not listed: {all}"))
}

async fn deliveries(sb: &Http, ns: Option<&str>) -> Vec<Value> {
    let q = ns.map(|n| format!("?namespace={n}")).unwrap_or_default();
    sb.admin_get(&format!("/__admin/webhooks/deliveries{q}"))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// Waits (bounded) until the verification is 4 Completed; its listing.
async fn completed(sb: &Http, ns: Option<&str>, id: &str) -> Value {
    until(10, "completed", || async {
        let v = verification(sb, ns, id).await;
        (v["verificationStatus"] == 4).then_some(v)
    })
    .await
}

async fn clock(sb: &Http, ns: Option<&str>) -> Value {
    let q = ns.map(|n| format!("?namespace={n}")).unwrap_or_default();
    sb.admin_get(&format!("/__admin/clock{q}")).await
}

async fn clock_now(sb: &Http, ns: Option<&str>) -> Timestamp {
    ts(clock(sb, ns).await["now"].as_str().unwrap())
}

async fn move_clock(sb: &Http, ns: Option<&str>, body: Value) -> Value {
    let q = ns.map(|n| format!("?namespace={n}")).unwrap_or_default();
    let r = sb.admin_post(&format!("/__admin/clock{q}"), body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn t(v: &Value) -> Timestamp {
    ts(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
}

const MIN: u64 = 60;

fn plus(at: Timestamp, secs: u64) -> Timestamp {
    at.plus(Duration::from_secs(secs))
}

// ---- the async timeline on a running clock --------------------------------------

// SPEC §5 / README "The timeline": created → 1 Processing; + processing_delay
// (2 s) → 3 Delivering while the webhook is pending → 4 Completed once
// delivered. On a clock running at 1,000,000× the whole timeline happens by
// itself, with the documented sandbox times.
#[tokio::test]
async fn a_fast_clock_runs_the_timeline_to_a_delivered_webhook_by_itself() {
    let sb = Sandbox::start_with(running(1e6)).await;
    let hook = hooked(&sb, Answer::Completed).await;
    let id = create_nss(&sb, &[], EPN).await;
    let v = completed(&sb, None, &id).await;
    assert_eq!(v["delivered"], true, "{v}");
    let created = t(&v["createdAt"]);
    let d = deliveries(&sb, None).await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["outcome"], "delivered");
    assert_eq!(t(&d[0]["time"]), plus(created, 2), "{d:?}");
    assert_eq!(t(&v["completedAt"]), plus(created, 2), "{v}");
    let got = hook.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["verificationStatus"], 3);
    assert_eq!(got[0].json()["verificationId"], id.as_str());
}

// README "The timeline": "webhook attempts spent (5, 15 min apart) | 4
// Completed, undelivered"; Decisions: "an attempt's recorded `time` is the
// sandbox time it was due, and the next one is scheduled from it, so
// attempts are 15 minutes apart however far the clock jumps".
#[tokio::test]
async fn a_fast_clock_spends_the_five_attempts_fifteen_minutes_apart_by_itself() {
    let sb = Sandbox::start_with(running(1e6)).await;
    let hook = hooked(&sb, Answer::Status(500)).await;
    let id = create_nss(&sb, &[], EPN).await;
    let v = completed(&sb, None, &id).await;
    assert_eq!(v["delivered"], false, "{v}");
    assert_eq!(v["deliveryAttempts"], 5, "{v}");
    let created = t(&v["createdAt"]);
    let d = deliveries(&sb, None).await;
    let times: Vec<Timestamp> = d.iter().map(|d| t(&d["time"])).collect();
    let want: Vec<Timestamp> = (0..5).map(|k| plus(created, 2 + k * 15 * MIN)).collect();
    assert_eq!(times, want, "{d:?}");
    assert!(d.iter().all(|d| d["outcome"] == "HTTP 500"), "{d:?}");
    assert_eq!(hook.received().len(), 5);
    assert_eq!(t(&v["completedAt"]), want[4], "{v}");
}

// README "The timeline": source down → 2 Retrying, "asked again at +20 min
// and +40 min after it was first asked; then the source's warning is the
// answer" (NssByCurp `unavailable`: NSS007).
#[tokio::test]
async fn a_fast_clock_runs_the_source_retries_by_itself() {
    let sb = Sandbox::start_with(running(1e6)).await;
    let id = create_nss(&sb, &[("X-Sandbox-Scenario", "unavailable")], EPN).await;
    let v = completed(&sb, None, &id).await;
    assert_eq!(v["sourceTries"], 3, "{v}");
    assert_eq!(v["warnings"][0]["code"], "NSS007", "{v}");
    let created = t(&v["createdAt"]);
    assert_eq!(t(&v["completedAt"]), plus(created, 2 + 40 * MIN), "{v}");
}

// README admin table: `{"scale": f}` changes the clock's speed; "timers
// that fall due run" (SPEC §7). A clock so slow that the 2 s of processing
// would take years, then made fast: the pending step runs at the new speed.
#[tokio::test]
async fn speeding_up_a_very_slow_clock_brings_the_pending_step_forward() {
    let sb = Sandbox::start_with(running(1e-9)).await;
    let _hook = hooked(&sb, Answer::Completed).await;
    let id = create_nss(&sb, &[], EPN).await;
    assert_eq!(verification(&sb, None, &id).await["verificationStatus"], 1);
    move_clock(&sb, None, json!({"scale": 1e6})).await;
    let v = completed(&sb, None, &id).await;
    assert_eq!(v["delivered"], true, "{v}");
    let d = deliveries(&sb, None).await;
    assert_eq!(t(&d[0]["time"]), plus(t(&v["createdAt"]), 2), "{d:?}");
}

// README admin table: `{"set": T, "scale": f}` applied as one change. A
// running clock set back a day before a pending step: the step waits until
// the running clock reaches its instant again, and happens then.
#[tokio::test]
async fn a_running_clock_set_back_reaches_the_pending_step_again() {
    let sb = Sandbox::start().await;
    let hook = hooked(&sb, Answer::Completed).await;
    let id = create_nss(&sb, &[], EPN).await;
    // A day back at 1000×: 86 real seconds before the step is due again.
    move_clock(
        &sb,
        None,
        json!({"set": "2024-05-14T10:00:00-06:00", "scale": 1000}),
    )
    .await;
    assert_eq!(verification(&sb, None, &id).await["verificationStatus"], 1);
    assert!(hook.received().is_empty());
    move_clock(&sb, None, json!({"scale": 1e6})).await;
    let v = completed(&sb, None, &id).await;
    let d = deliveries(&sb, None).await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["time"], "2024-05-15T10:00:02.000000-06:00");
    assert_eq!(v["delivered"], true);
}

/// The provider day (UTC-6) of a sandbox instant, as `YYYY-MM-DD`.
fn mx_day(at: Timestamp) -> String {
    at.to_mx_rfc3339()[..10].to_string()
}

/// Sends `send` until three answers have come after midnight (bounded):
/// each answer with the sandbox time the journal gives its request.
async fn across_midnight<F, Fut>(sb: &Http, path: &str, mut send: F) -> Vec<(Timestamp, Resp)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Resp>,
{
    let started = Instant::now();
    let mut answers = Vec::new();
    let mut after = 0;
    while after < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "midnight not reached"
        );
        let r = send().await;
        let journal = sb
            .admin_get(&format!("/__admin/requests?path={path}&limit=1"))
            .await;
        let at = t(&journal[0]["time"]);
        if mx_day(at).as_str() > "2024-05-15" {
            after += 1;
        }
        answers.push((at, r));
    }
    answers
}

/// Whether each answer is the limit's (2 a day), as a per-day count says it
/// must be, with `before` requests already counted on 2024-05-15.
fn expected_by_day(times: &[Timestamp], before: usize) -> Vec<bool> {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    seen.insert("2024-05-15".into(), before);
    times
        .iter()
        .map(|at| {
            let n = seen.entry(mx_day(*at)).or_default();
            *n += 1;
            *n > 2
        })
        .collect()
}

// README nss: "Counter: `nss:curp:{CURP}`, queries of one CURP per provider
// day (UTC-6) … default 2 …; the next query that day gets
// `attempts_exceeded`". SPEC §5: "Days are provider days
// (America/Mexico_City, UTC-6)". With a running clock crossing midnight,
// each answer agrees with the day its request was made on.
#[tokio::test]
async fn nss_daily_counter_rolls_over_at_mexico_city_midnight_on_a_running_clock() {
    let sb = Sandbox::start().await;
    // The day's two first, on the frozen clock; then it runs into midnight.
    move_clock(&sb, None, json!({"set": "2024-05-15T23:59:59.900-06:00"})).await;
    for _ in 0..2 {
        let r = sb
            .post(IMSS, &[("x-api-key", "k")], json!({"curp": EPN}))
            .await;
        assert_eq!(r.scenario(), "success");
    }
    move_clock(&sb, None, json!({"scale": 10})).await;
    let answers = across_midnight(&sb, IMSS, || {
        sb.post(IMSS, &[("x-api-key", "k")], json!({"curp": EPN}))
    })
    .await;
    let times: Vec<Timestamp> = answers.iter().map(|(at, _)| *at).collect();
    let want = expected_by_day(&times, 2);
    for ((at, r), exceeded) in answers.iter().zip(want) {
        let b = r.json();
        let scenario = if exceeded {
            "attempts_exceeded"
        } else {
            "success"
        };
        assert_eq!(r.scenario(), scenario, "at {}: {b}", at.to_mx_rfc3339());
        assert_eq!(t(&b["createdAt"]), *at, "{b}");
    }
    // The counters list shows the new day's count.
    let counters = sb.admin_get("/__admin/counters").await;
    let c = &counters.as_array().unwrap()[0];
    assert_eq!(c["since"], "2024-05-16", "{counters}");
    assert_eq!(c["count"], 3, "{counters}");
}

// README async: "Counter: `async:NssByCurp:{CURP}`, NssByCurp requests per
// CURP per provider day … (default 2)"; "the third NssByCurp for a CURP in a
// provider day is accepted … and completes with the NSS008 warning". With a
// running clock crossing midnight, each verification's outcome agrees with
// the day it was created on.
#[tokio::test]
async fn async_nss_daily_counter_rolls_over_at_midnight_on_a_running_clock() {
    let sb = Sandbox::start().await;
    move_clock(&sb, None, json!({"set": "2024-05-15T23:59:59.900-06:00"})).await;
    for _ in 0..2 {
        create_nss(&sb, &[], EPN).await;
    }
    move_clock(&sb, None, json!({"scale": 10})).await;
    let answers = across_midnight(&sb, NSS_ASYNC, || {
        sb.post(NSS_ASYNC, &[("apikey", KEY)], json!({"curp": EPN}))
    })
    .await;
    let times: Vec<Timestamp> = answers.iter().map(|(at, _)| *at).collect();
    let want = expected_by_day(&times, 2);
    for ((at, r), exceeded) in answers.iter().zip(want) {
        let id = r.json()["verificationId"].as_str().unwrap().to_string();
        let v = verification(&sb, None, &id).await;
        assert_eq!(t(&v["createdAt"]), *at, "{v}");
        let scenario = if exceeded {
            "attempts_exceeded"
        } else {
            "success"
        };
        assert_eq!(v["scenario"], scenario, "at {}: {v}", at.to_mx_rfc3339());
    }
}

// README accuauth: `same_id_per_day` 10, "provider day (UTC-6)",
// `attempts_exceeded` "(the 11th and later)". On a running clock crossing
// midnight, the 11th of the old day is refused and the new day starts again.
#[tokio::test]
async fn accuauth_repeat_limit_rolls_over_at_midnight_on_a_running_clock() {
    let sb = Sandbox::start().await;
    let headers = [("X-DF-API-ID", "rt-id"), ("X-DF-API-SECRET", "s")];
    // Ten requests of the old day on the frozen clock first.
    move_clock(&sb, None, json!({"set": "2024-05-15T23:59:59.800-06:00"})).await;
    for _ in 0..10 {
        let r = sb
            .post("/verify/id_check", &headers, json!({"id_number": EPN}))
            .await;
        assert_eq!(r.scenario(), "success", "{}", r.text());
    }
    move_clock(&sb, None, json!({"scale": 5})).await;
    let answers = across_midnight(&sb, "/verify/id_check", || {
        sb.post("/verify/id_check", &headers, json!({"id_number": EPN}))
    })
    .await;
    for (at, r) in &answers {
        let old_day = mx_day(*at) == "2024-05-15";
        let scenario = if old_day {
            "attempts_exceeded"
        } else {
            "success"
        };
        assert_eq!(r.scenario(), scenario, "at {}", at.to_mx_rfc3339());
    }
}

// SPEC §5: "All runtime state (… clock, async verifications and their
// deliveries) is kept per namespace". Two namespaces, one running at
// 1,000,000×, the other frozen: the running one's verification completes
// on its own, the frozen one's stays 1 Processing until its own clock moves.
#[tokio::test]
async fn namespaces_run_their_clocks_at_their_own_scales_at_once() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    hook.always(Answer::Completed);
    put_webhook(&sb, Some("fast"), &hook.url).await;
    put_webhook(&sb, Some("slow"), &hook.url).await;
    move_clock(&sb, Some("fast"), json!({"scale": 1e6})).await;
    move_clock(&sb, Some("slow"), json!({"scale": 0.01})).await;
    let fast = create_nss(&sb, &[("X-Sandbox-Namespace", "fast")], EPN).await;
    let slow = create_nss(&sb, &[("X-Sandbox-Namespace", "slow")], EPN).await;
    let frozen = create_nss(&sb, &[], EPN).await;
    let v = completed(&sb, Some("fast"), &fast).await;
    assert_eq!(v["delivered"], true, "{v}");
    // The others have not moved on: 2 sandbox seconds at 0.01× are 200
    // real seconds; the default namespace is frozen.
    assert_eq!(
        verification(&sb, Some("slow"), &slow).await["verificationStatus"],
        1
    );
    assert_eq!(
        verification(&sb, None, &frozen).await["verificationStatus"],
        1
    );
    assert_eq!(
        clock(&sb, None).await["now"],
        "2024-05-15T10:00:00.000000-06:00"
    );
    assert_eq!(clock(&sb, Some("slow")).await["scale"], 0.01);
    let fast_now = clock_now(&sb, Some("fast")).await;
    assert!(
        fast_now > plus(ts(START), 2),
        "{}",
        fast_now.to_mx_rfc3339()
    );
    assert_eq!(hook.received().len(), 1);
    // Each namespace's deliveries are its own.
    assert_eq!(deliveries(&sb, Some("fast")).await.len(), 1);
    assert!(deliveries(&sb, Some("slow")).await.is_empty());
    assert!(deliveries(&sb, None).await.is_empty());
    // The frozen one moves when told.
    sb.advance("2s").await;
    assert_eq!(
        verification(&sb, None, &frozen).await["verificationStatus"],
        4
    );
    assert_eq!(
        hook.received().len(),
        1,
        "the default namespace has no webhook"
    );
}

// README Decisions: "**Latency** is real time (a tokio timer), not sandbox
// time, counted from the request's arrival". On a clock running at
// 1,000,000× (where 300 ms of sandbox time is 0.3 µs) a 300 ms latency
// still holds the answer 300 real milliseconds, from the header, an
// override and `--latency`.
#[tokio::test]
async fn injected_latency_is_real_time_under_a_fast_clock() {
    let sb = Sandbox::start_with(Config {
        latency: Some("300ms".parse().unwrap()),
        ..running(1e6)
    })
    .await;
    let body = json!({"curp": EPN});
    let started = Instant::now();
    let r = sb
        .post("/api/curp/bycurp", &[("apikey", "k")], body.clone())
        .await;
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "k"), ("X-Sandbox-Latency", "250ms")],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    let o = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "not_found", "latency": "200ms"}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text());
    let started = Instant::now();
    let r = sb.post("/api/curp/bycurp", &[("apikey", "k")], body).await;
    assert_eq!(r.scenario(), "not_found");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

/// A scenarios folder with the embedded async.yaml, `from` replaced by `to`.
fn async_yaml_with(tag: &str, edits: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = temp_dir(tag);
    super::write_async_yaml(&dir, edits);
    dir
}

// README async settings: `webhook_timeout` is the "real time an attempt
// waits for the target"; Decisions: attempts are recorded at "the sandbox
// time it was due, and the next one is scheduled from it, so attempts are
// 15 minutes apart however far the clock jumps". A silent target on a
// clock running at 1,000,000×: each wait of 150 real ms is days of sandbox
// time, and still the five attempts are listed 15 minutes apart, each
// failed for no answer within the timeout.
#[tokio::test]
async fn a_silent_target_times_out_in_real_time_on_a_fast_clock() {
    let dir = async_yaml_with(
        "rt-timeout",
        &[("webhook_timeout: 10s", "webhook_timeout: 150ms")],
    );
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        scenarios: mxid_sandbox::Source::Dir(dir),
        ..running(1e6)
    })
    .await;
    let hook = hooked(&sb, Answer::Hang).await;
    let started = Instant::now();
    let id = create_nss(&sb, &[], EPN).await;
    let v = completed(&sb, None, &id).await;
    assert!(
        started.elapsed() >= Duration::from_millis(5 * 150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(v["delivered"], false, "{v}");
    let created = t(&v["createdAt"]);
    let d = deliveries(&sb, None).await;
    let times: Vec<Timestamp> = d.iter().map(|d| t(&d["time"])).collect();
    let want: Vec<Timestamp> = (0..5).map(|k| plus(created, 2 + k * 15 * MIN)).collect();
    assert_eq!(times, want, "{d:?}");
    assert!(
        d.iter().all(|d| d["outcome"] == "no answer within 150ms"),
        "{d:?}"
    );
    assert_eq!(hook.received().len(), 5);
}

// README "The timeline": `POST /__admin/clock` "answers only once every
// status change and webhook attempt that the move made due has happened".
// A clock running at 1,000× to 1,000,000× is frozen mid-flight: when the answer
// arrives, every attempt due by the instant it stopped at has been made
// (and none after it), however far the running clock had got.
#[tokio::test]
async fn freezing_a_fast_clock_answers_with_everything_due_by_then_done() {
    for (round, scale) in [1e3, 1e4, 1e5, 3e5, 1e6].into_iter().enumerate() {
        let sb = Sandbox::start_with(running(scale)).await;
        let hook = Hook::start().await;
        hook.always(Answer::Status(503));
        put_webhook(&sb, None, &hook.url).await;
        let id = create_nss(&sb, &[], EPN).await;
        let frozen = t(&move_clock(&sb, None, json!({"scale": 0})).await["now"]);
        let v = verification(&sb, None, &id).await;
        let created = t(&v["createdAt"]);
        let due: Vec<Timestamp> = (0..5)
            .map(|k| plus(created, 2 + k * 15 * MIN))
            .filter(|at| *at <= frozen)
            .collect();
        let d = deliveries(&sb, None).await;
        let times: Vec<Timestamp> = d.iter().map(|d| t(&d["time"])).collect();
        assert_eq!(
            times,
            due,
            "round {round}, frozen at {}: {d:?}",
            frozen.to_mx_rfc3339()
        );
        assert!(d.iter().all(|d| d["outcome"] == "HTTP 503"), "{d:?}");
        let status = v["verificationStatus"].as_u64().unwrap();
        let want = match due.len() {
            0 => 1,
            5 => 4,
            _ => 3,
        };
        assert_eq!(status, want, "round {round}: {v}");
    }
}

// README admin table: "a running clock stops at
// `9999-12-31T23:59:59.999999-06:00`". Work due past it is due at that last
// instant (the timers' own words: "work due then would never fall due"):
// a verification created a second before the end, on a clock running at
// 1,000,000×, still runs its whole timeline, every step at the last instant.
#[tokio::test]
async fn at_the_end_of_time_a_running_clock_still_runs_the_timeline() {
    let sb = Sandbox::start().await;
    let _hook = hooked(&sb, Answer::Status(500)).await;
    move_clock(&sb, None, json!({"set": "9999-12-31T23:59:59-06:00"})).await;
    let id = create_nss(&sb, &[], EPN).await;
    let down = create_nss(&sb, &[("X-Sandbox-Scenario", "unavailable")], EPN).await;
    move_clock(&sb, None, json!({"scale": 1e6})).await;
    let v = completed(&sb, None, &id).await;
    let w = completed(&sb, None, &down).await;
    let last = "9999-12-31T23:59:59.999999-06:00";
    assert_eq!(clock(&sb, None).await["now"], last);
    assert_eq!(v["completedAt"], last, "{v}");
    assert_eq!(v["deliveryAttempts"], 5, "{v}");
    assert_eq!(w["sourceTries"], 3, "{w}");
    assert_eq!(w["completedAt"], last, "{w}");
    let d = deliveries(&sb, None).await;
    assert_eq!(d.len(), 10, "{d:?}");
    assert!(d.iter().all(|d| d["time"] == last), "{d:?}");
}

// README async: "Every attempt runs on its own task: a target that hangs
// holds up no request, no shutdown (shutdown, and a reset, drop attempts in
// flight…)". An attempt started by a running clock on its own (not by a
// clock move) to a target that never answers: the server still stops at
// once, and a reset drops it.
#[tokio::test]
async fn an_attempt_a_running_clock_started_holds_up_no_shutdown_nor_reset() {
    let sb = Sandbox::start_with(running(1e6)).await;
    let hook = hooked(&sb, Answer::Hang).await;
    create_nss(&sb, &[], EPN).await;
    until(5, "the attempt reached the target", || async {
        (!hook.received().is_empty()).then_some(())
    })
    .await;
    // A request is answered meanwhile, and a reset drops the attempt.
    let r = sb.get("/__admin/health", &[]).await;
    assert_eq!(r.status, 200);
    let started = Instant::now();
    let r = sb.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(deliveries(&sb, None).await.is_empty());
    // Again, and then a shutdown with it in flight.
    put_webhook(&sb, None, &hook.url).await;
    create_nss(&sb, &[], EPN).await;
    until(5, "the second attempt reached the target", || async {
        (hook.received().len() >= 2).then_some(())
    })
    .await;
    assert!(
        sb.stop_within(Duration::from_secs(5)).await,
        "the shutdown waited for the attempt"
    );
}

// README "The timeline": `POST /__admin/clock` "answers only once every
// status change and webhook attempt that the move made due has happened";
// README async: "an attempt due later waits for a hanging earlier one (at
// most `webhook_timeout`) before it is sent". A running clock has started
// the first attempt on its own, and its slow target is still answering it
// when the clock is moved an hour on and frozen: the answer comes once that
// attempt and every one the move made due are done, in order.
#[tokio::test]
async fn a_move_while_a_running_clocks_attempt_is_in_flight_waits_for_it_and_runs_the_rest() {
    let sb = Sandbox::start_with(running(1000.0)).await;
    let hook = hooked(&sb, Answer::Status(500)).await;
    // The first attempt is still being answered when the move comes, on a
    // busy machine too; the rest answer at once.
    hook.plan(&[Answer::Slow(500, 1500)]);
    let id = create_nss(&sb, &[], EPN).await;
    until(5, "the first attempt reached the target", || async {
        (!hook.received().is_empty()).then_some(())
    })
    .await;
    let frozen = t(&move_clock(&sb, None, json!({"advance": "1h", "scale": 0})).await["now"]);
    let v = verification(&sb, None, &id).await;
    let created = t(&v["createdAt"]);
    let due: Vec<Timestamp> = (0..5)
        .map(|k| plus(created, 2 + k * 15 * MIN))
        .filter(|at| *at <= frozen)
        .collect();
    assert!(due.len() >= 4, "frozen at {}", frozen.to_mx_rfc3339());
    let d = deliveries(&sb, None).await;
    let times: Vec<Timestamp> = d.iter().map(|d| t(&d["time"])).collect();
    assert_eq!(times, due, "{d:?}");
    assert!(d.iter().all(|d| d["outcome"] == "HTTP 500"), "{d:?}");
    assert_eq!(hook.received().len(), due.len());
}

// The same, set forward on a clock that runs (slowly: nothing else falls
// due on its own during the test): the attempts the set made due are made
// before the answer, 15 minutes apart from the first.
#[tokio::test]
async fn setting_a_running_clock_forward_runs_what_it_made_due_before_answering() {
    let sb = Sandbox::start_with(running(0.001)).await;
    let _hook = hooked(&sb, Answer::Status(500)).await;
    let id = create_nss(&sb, &[], EPN).await;
    let created = t(&verification(&sb, None, &id).await["createdAt"]);
    let r = move_clock(&sb, None, json!({"set": "2024-05-15T11:00:00-06:00"})).await;
    assert_eq!(r["scale"], 0.001);
    let d = deliveries(&sb, None).await;
    let times: Vec<Timestamp> = d.iter().map(|d| t(&d["time"])).collect();
    let want: Vec<Timestamp> = (0..4).map(|k| plus(created, 2 + k * 15 * MIN)).collect();
    assert_eq!(times, want, "{d:?}");
    assert_eq!(verification(&sb, None, &id).await["verificationStatus"], 3);
    move_clock(&sb, None, json!({"advance": "1h"})).await;
    let v = verification(&sb, None, &id).await;
    assert_eq!(v["verificationStatus"], 4, "{v}");
    assert_eq!(v["deliveryAttempts"], 5, "{v}");
}

#[tokio::test]
async fn nss_times_and_ids_agree_with_the_journal_on_a_fast_clock() {
    let sb = Sandbox::start_with(running(1e6)).await;
    for _ in 0..2 {
        let r = sb
            .post(IMSS, &[("x-api-key", "k")], json!({"curp": EPN}))
            .await;
        assert_eq!(r.scenario(), "success", "{}", r.text());
        let b = r.json();
        let journal = sb.admin_get("/__admin/requests?limit=1").await;
        let created = t(&b["createdAt"]);
        assert_eq!(created, t(&journal[0]["time"]), "{b}");
        let secs = created.micros().div_euclid(1_000_000);
        assert_eq!(
            &b["id"].as_str().unwrap()[..8],
            format!("{secs:08x}"),
            "{b}"
        );
        let span = t(&b["finishedAt"]).since(created);
        assert!((1500..=6000).contains(&span.as_millis()), "{b}");
        assert_eq!(
            b["duration"].as_u64().unwrap() as u128,
            span.as_millis(),
            "{b}"
        );
        let again = sb
            .get(
                &format!("{IMSS}/{}", b["id"].as_str().unwrap()),
                &[("x-api-key", "k")],
            )
            .await;
        assert_eq!(again.json(), b);
    }
}

// README Command line: `--time-scale F` (`MXID_TIME_SCALE`), "sandbox
// clock speed … 60 = a minute per second; at most 1,000,000";
// `--webhook-url URL` "default webhook target for every apikey". The binary
// as a developer runs it, its clock running fast from `--start-time`: the
// verification moves through its timeline and is delivered by itself,
// and the status route says 4 Completed.
#[tokio::test]
async fn the_binary_with_a_fast_time_scale_runs_the_timeline_by_itself() {
    let hook = Hook::start().await;
    hook.always(Answer::Completed);
    let served = Served::start(
        &[
            "--port",
            "0",
            "--start-time",
            START,
            "--webhook-url",
            &hook.url,
        ],
        &[("MXID_TIME_SCALE", "100000")],
    );
    let c = clock(&served, None).await;
    assert_eq!(c["scale"], 100000.0, "{c}");
    let id = create_nss(&served, &[], EPN).await;
    let status = until(10, "status 4", || async {
        let r = served
            .get(
                &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
                &[("apikey", KEY)],
            )
            .await;
        let b = r.json();
        (b["verificationStatus"] == 4).then_some(b)
    })
    .await;
    let nss = serde_json::from_str::<Value>(status["verification"].as_str().unwrap()).unwrap();
    assert!(
        nss["nss"].as_str().is_some_and(|n| n.len() == 11),
        "{status}"
    );
    let got = hook.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["verificationStatus"], 3);
    let d = deliveries(&served, None).await;
    let v = verification(&served, None, &id).await;
    assert_eq!(t(&d[0]["time"]), plus(t(&v["createdAt"]), 2), "{d:?}");
}

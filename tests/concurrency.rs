//! Many requests at once against one namespace's state: overrides with
//! `times`, the rate counters, the journal, nss's history, async
//! verifications, and admin changes (clock, reset) racing with requests;
//! admin changes racing each other and background work in `locks`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::common::{config, temp_dir, Http, RemovedOnDrop, Resp, Sandbox};
use mxid_sandbox::{Config, Source};

mod locks;

const CURPV5: &str = "/api/curp/bycurp";
const CURPV5_KEY: (&str, &str) = ("apikey", "test-key");
const ACCUAUTH: &str = "/verify/id_check";
const NSS: &str = "/api/v1/imss/nss";
const NSS_KEY: (&str, &str) = ("x-api-key", "test-key");
const ASYNC_NSS: &str = "/api/AsyncVerication/NssByCurp";
const ASYNC_KEY: (&str, &str) = ("apikey", "customer-key");
const EPN: &str = "PXNE660720HMCXTN06";

/// A valid CURP (RENAPO's strict rules) per `n`: a different birth day and
/// month for each, so that no two share a counter.
fn curp(n: usize) -> String {
    let month = n / 28 % 12 + 1;
    let day = n % 28 + 1;
    let year = 60 + n / (28 * 12) % 40;
    let first17 = format!("GOPA{year:02}{month:02}{day:02}HDFRRN0");
    let check = mxid_sandbox::curp::check_digit(&first17).expect("a check digit");
    format!("{first17}{check}")
}

/// Sends `n` requests at once (each on its own task) and returns the
/// answers in the order they were sent.
async fn burst(
    sb: &Sandbox,
    n: usize,
    request: impl Fn(usize) -> (String, Vec<(String, String)>, Value),
) -> Vec<Resp> {
    let mut set = JoinSet::new();
    for i in 0..n {
        let (path, headers, body) = request(i);
        let mut h: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        h.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let handle = sb.send_in_background("POST", &path, &h, serde_json::to_vec(&body).unwrap());
        set.spawn(async move { (i, handle.await) });
    }
    let mut out: Vec<Option<Resp>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, answer) = joined.expect("the task ran");
        let resp = answer
            .expect("the task ran")
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        out[i] = Some(resp);
    }
    out.into_iter().map(Option::unwrap).collect()
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// How many answers each scenario gave.
fn by_scenario(answers: &[Resp]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in answers {
        *out.entry(r.scenario().to_string()).or_insert(0) += 1;
    }
    out
}

fn ids(entries: &Value) -> Vec<u64> {
    entries
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["id"].as_u64().expect("an id"))
        .collect()
}

fn strictly_increasing(ids: &[u64]) -> bool {
    ids.windows(2).all(|w| w[0] < w[1])
}

// --- overrides -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_override_for_n_times_answers_exactly_n_of_many_racing_requests() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "scenario": "deceased", "times": 37}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let answers = burst(&sb, 200, |_| {
        (
            CURPV5.to_string(),
            headers(&[CURPV5_KEY]),
            json!({"curp": EPN}),
        )
    })
    .await;
    let counts = by_scenario(&answers);
    assert_eq!(counts.get("deceased"), Some(&37), "{counts:?}");
    assert_eq!(counts.get("success"), Some(&163), "{counts:?}");
    assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
    // The journal says the same.
    let journal = sb.admin_get("/__admin/requests?provider=curpv5").await;
    let forced = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["scenario"] == "deceased")
        .count();
    assert_eq!(forced, 37);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_counted_overrides_share_racing_requests_newest_first() {
    let sb = Sandbox::start().await;
    for (scenario, times) in [("deceased", 20), ("unused", 15)] {
        let r = sb
            .admin_post(
                "/__admin/overrides",
                json!({"provider": "curpv5", "scenario": scenario, "times": times}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let answers = burst(&sb, 100, |_| {
        (
            CURPV5.to_string(),
            headers(&[CURPV5_KEY]),
            json!({"curp": EPN}),
        )
    })
    .await;
    let counts = by_scenario(&answers);
    assert_eq!(counts.get("deceased"), Some(&20), "{counts:?}");
    assert_eq!(counts.get("unused"), Some(&15), "{counts:?}");
    assert_eq!(counts.get("success"), Some(&65), "{counts:?}");
}

// --- counters --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accuauth_lets_exactly_ten_of_many_racing_repeats_through() {
    let sb = Sandbox::start().await;
    let answers = burst(&sb, 60, |_| {
        (
            ACCUAUTH.to_string(),
            headers(&[("X-DF-API-ID", "racing-id"), ("X-DF-API-SECRET", "s")]),
            json!({"id_number": EPN}),
        )
    })
    .await;
    let counts = by_scenario(&answers);
    assert_eq!(counts.get("success"), Some(&10), "{counts:?}");
    assert_eq!(counts.get("attempts_exceeded"), Some(&50), "{counts:?}");
    let counters = sb.admin_get("/__admin/counters").await;
    let same = counters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == format!("accuauth:same_id:racing-id:{EPN}"))
        .cloned()
        .unwrap_or_else(|| panic!("{counters}"));
    assert_eq!(same["count"], 60, "{same}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nss_answers_exactly_two_of_many_racing_queries_for_one_curp() {
    let sb = Sandbox::start().await;
    let target = curp(7);
    let answers = burst(&sb, 40, |_| {
        (
            NSS.to_string(),
            headers(&[NSS_KEY]),
            json!({"curp": target}),
        )
    })
    .await;
    let counts = by_scenario(&answers);
    assert_eq!(counts.get("success"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("attempts_exceeded"), Some(&38), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_nss_by_curp_completes_exactly_two_of_many_racing_creations() {
    let sb = Sandbox::start().await;
    let answers = burst(&sb, 40, |_| {
        (
            ASYNC_NSS.to_string(),
            headers(&[ASYNC_KEY]),
            json!({"curp": EPN}),
        )
    })
    .await;
    let ids: BTreeSet<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["verificationId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 40, "every verification has its own id");
    let counts = by_scenario(&answers);
    assert_eq!(counts.get("success"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("attempts_exceeded"), Some(&38), "{counts:?}");
    sb.advance("2s").await;
    let list = sb.admin_get("/__admin/verifications").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 40);
    let listed: BTreeSet<String> = list
        .iter()
        .map(|v| v["verificationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ids);
    let with_nss = list
        .iter()
        .filter(|v| v["verificationStatus"] == 4 && v["verification"].is_string())
        .count();
    let nss008 = list
        .iter()
        .filter(|v| v["warnings"][0]["code"] == "NSS008")
        .count();
    assert_eq!((with_nss, nss008), (2, 38));
}

// --- journal ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_journal_keeps_every_racing_request_once_with_increasing_ids() {
    let sb = Sandbox::start().await;
    let answers = burst(&sb, 200, |i| {
        if i % 2 == 0 {
            (
                CURPV5.to_string(),
                headers(&[CURPV5_KEY]),
                json!({"curp": curp(i)}),
            )
        } else {
            (
                NSS.to_string(),
                headers(&[NSS_KEY]),
                json!({"curp": curp(i)}),
            )
        }
    })
    .await;
    assert!(answers.iter().all(|r| r.status == 200));
    let all = sb.admin_get("/__admin/requests").await;
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 200);
    assert!(strictly_increasing(&all_ids), "{all_ids:?}");
    assert_eq!(all_ids, (1..=200).collect::<Vec<u64>>());
    let curps: BTreeSet<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["curp"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(curps.len(), 200, "each request journaled once");
    // Filters split it without losing or repeating one.
    let curpv5 = ids(&sb.admin_get("/__admin/requests?provider=curpv5").await);
    let nss = ids(&sb.admin_get("/__admin/requests?provider=nss").await);
    assert_eq!((curpv5.len(), nss.len()), (100, 100));
    let mut merged: Vec<u64> = curpv5.iter().chain(&nss).copied().collect();
    merged.sort_unstable();
    assert_eq!(merged, all_ids);
    let last = ids(&sb.admin_get("/__admin/requests?provider=nss&limit=7").await);
    assert_eq!(last, nss[nss.len() - 7..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn journal_reads_racing_with_writes_see_a_consistent_tail() {
    let sb = Sandbox::start().await;
    let writers = {
        let mut set = JoinSet::new();
        for i in 0..150 {
            let h = sb.send_in_background(
                "POST",
                CURPV5,
                &[("content-type", "application/json"), CURPV5_KEY],
                serde_json::to_vec(&json!({"curp": curp(i)})).unwrap(),
            );
            set.spawn(h);
        }
        set
    };
    let mut previous_newest = 0;
    for _ in 0..20 {
        let tail = sb.admin_get("/__admin/requests?limit=10").await;
        let got = ids(&tail);
        assert!(got.len() <= 10, "{got:?}");
        assert!(strictly_increasing(&got), "{got:?}");
        if let Some(newest) = got.last() {
            assert!(
                *newest >= previous_newest,
                "{got:?} after {previous_newest}"
            );
            previous_newest = *newest;
        }
        let filtered = sb.admin_get("/__admin/requests?provider=nss&limit=5").await;
        assert_eq!(filtered, json!([]), "no nss request was sent");
    }
    let done = writers.join_all().await;
    assert_eq!(done.len(), 150);
    let all = ids(&sb.admin_get("/__admin/requests").await);
    assert_eq!(all, (1..=150).collect::<Vec<u64>>());
}

// --- nss history -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nss_history_keeps_every_racing_execution_once_newest_first() {
    let sb = Sandbox::start().await;
    let answers = burst(&sb, 100, |i| {
        (
            NSS.to_string(),
            headers(&[NSS_KEY]),
            json!({"curp": curp(i)}),
        )
    })
    .await;
    let answered: BTreeMap<String, Value> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text());
            let b = r.json();
            (b["id"].as_str().unwrap().to_string(), b)
        })
        .collect();
    assert_eq!(answered.len(), 100, "every execution has its own id");

    // Pages read while more executions race in: never more than asked,
    // never an id twice.
    let more = {
        let mut set = JoinSet::new();
        for i in 100..150 {
            set.spawn(sb.send_in_background(
                "POST",
                NSS,
                &[("content-type", "application/json"), NSS_KEY],
                serde_json::to_vec(&json!({"curp": curp(i)})).unwrap(),
            ));
        }
        set
    };
    for _ in 0..10 {
        let page = sb
            .get(&format!("{NSS}?page=1&itemsPerPage=25"), &[NSS_KEY])
            .await;
        assert_eq!(page.status, 200, "{}", page.text());
        let items = page.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 25);
        let distinct: BTreeSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(distinct.len(), 25);
    }
    for r in more.join_all().await {
        assert_eq!(r.unwrap().unwrap().status, 200);
    }

    // Every page together: each of the 150 once, newest first, and each
    // found by id as it was answered.
    let mut listed = Vec::new();
    for page in 1.. {
        let b = sb
            .get(&format!("{NSS}?page={page}&itemsPerPage=40"), &[NSS_KEY])
            .await
            .json();
        listed.extend(
            b["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        if b["hasNextPage"] == false {
            break;
        }
    }
    assert_eq!(listed.len(), 150);
    assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), 150);
    let journal = sb.admin_get("/__admin/requests?provider=nss").await;
    let queries = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "POST")
        .count();
    assert_eq!(queries, 150);
    for (id, body) in &answered {
        let r = sb.get(&format!("{NSS}/{id}"), &[NSS_KEY]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(&r.json(), body);
    }
}

// --- the person cache --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_for_many_curps_each_get_their_own_person() {
    // One sandbox answers them one at a time, another all at once (twice:
    // cold and hot cache): the answers are the same bytes.
    let calm = Sandbox::start().await;
    let mut expected = Vec::new();
    for i in 0..120 {
        let r = calm
            .post(CURPV5, &[CURPV5_KEY], json!({"curp": curp(i)}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["curp"], curp(i));
        expected.push(r.body);
    }
    let busy = Sandbox::start().await;
    for _ in 0..2 {
        let answers = burst(&busy, 240, |i| {
            (
                CURPV5.to_string(),
                headers(&[CURPV5_KEY]),
                json!({"curp": curp(i % 120)}),
            )
        })
        .await;
        for (i, r) in answers.iter().enumerate() {
            assert_eq!(r.body, expected[i % 120], "{}: {}", curp(i % 120), r.text());
        }
    }
}

// --- admin changes racing with requests ----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resets_reloads_clock_moves_and_overrides_racing_with_requests_break_nothing() {
    let sb = Sandbox::start().await;
    let mut set = JoinSet::new();
    let json_h = ("content-type", "application/json");
    for i in 0..240 {
        let ns = format!("ns{}", i % 3);
        let ns_h = ("x-sandbox-namespace", ns.as_str());
        let q = format!("?namespace={ns}");
        let (method, path, hs, body): (&str, String, Vec<(&str, &str)>, Value) = match i % 12 {
            0 => ("POST", format!("/__admin/reset{q}"), vec![], json!({})),
            1 => ("POST", "/__admin/reload".into(), vec![], json!({})),
            2 => (
                "POST",
                format!("/__admin/clock{q}"),
                vec![json_h],
                json!({"advance": "20m"}),
            ),
            3 => (
                "POST",
                format!("/__admin/overrides{q}"),
                vec![json_h],
                json!({"provider": "curpv5", "scenario": "deceased", "times": 3}),
            ),
            4 => (
                "DELETE",
                format!("/__admin/overrides{q}"),
                vec![],
                Value::Null,
            ),
            5 => (
                "POST",
                ASYNC_NSS.into(),
                vec![json_h, ASYNC_KEY, ns_h],
                json!({"curp": curp(i)}),
            ),
            6 => (
                "POST",
                NSS.into(),
                vec![json_h, NSS_KEY, ns_h],
                json!({"curp": EPN}),
            ),
            7 => (
                "POST",
                ACCUAUTH.into(),
                vec![json_h, ("X-DF-API-ID", "a"), ("X-DF-API-SECRET", "s"), ns_h],
                json!({"id_number": EPN}),
            ),
            8 => (
                "GET",
                format!("/__admin/requests{q}&limit=5"),
                vec![],
                Value::Null,
            ),
            9 => (
                "GET",
                format!("/__admin/verifications{q}"),
                vec![],
                Value::Null,
            ),
            10 => (
                "GET",
                format!("{NSS}?page=1&itemsPerPage=5"),
                vec![NSS_KEY, ns_h],
                Value::Null,
            ),
            _ => (
                "POST",
                CURPV5.into(),
                vec![json_h, CURPV5_KEY, ns_h],
                json!({"curp": curp(i)}),
            ),
        };
        let body = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        let h = sb.send_in_background(method, &path, &hs, body);
        set.spawn(async move { (method, path, h.await) });
    }
    while let Some(joined) = set.join_next().await {
        let (method, path, answer) = joined.unwrap();
        let r = answer
            .unwrap()
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            matches!(r.status, 200 | 201 | 400),
            "{method} {path}: {} {}",
            r.status,
            r.text()
        );
        if r.status == 400 {
            // Only accuauth's repeat limit refuses here.
            assert_eq!(r.scenario(), "attempts_exceeded", "{path}: {}", r.text());
        }
    }
    // Still serving, and each namespace still consistent.
    assert_eq!(sb.admin_get("/__admin/health").await["status"], "ok");
    for ns in ["ns0", "ns1", "ns2"] {
        let got = ids(&sb
            .admin_get(&format!("/__admin/requests?namespace={ns}"))
            .await);
        assert!(strictly_increasing(&got), "{ns}: {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_in_new_namespaces_stop_exactly_at_the_cap() {
    let sb = Sandbox::start().await;
    let answers = burst(&sb, 1100, |i| {
        (
            CURPV5.to_string(),
            headers(&[CURPV5_KEY, ("x-sandbox-namespace", &format!("cap-{i}"))]),
            json!({"curp": EPN}),
        )
    })
    .await;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let refused = answers
        .iter()
        .filter(|r| r.status == 400 && r.text().contains("too many namespaces"))
        .count();
    assert_eq!((ok, refused), (1024, 76));
}

// --- requests racing a reset or a reload ---------------------------------------------
//
// README, Robustness (Concurrency) and Decisions (async): "a request that
// raced a reset stores nothing after it". Each test runs a fixed number of
// rounds of requests with a reset (or a reload) among them: a broken
// invariant shows in most runs, not in every one.

/// `n` requests at once, the middle one `POST /__admin/reset` of the
/// default namespace: the answers, in the order they were sent.
async fn burst_with_a_reset(
    sb: &Sandbox,
    n: usize,
    request: impl Fn(usize) -> (String, Vec<(String, String)>, Value),
) -> Vec<Resp> {
    burst(sb, n, |i| {
        if i == n / 2 {
            ("/__admin/reset".into(), Vec::new(), json!({}))
        } else {
            request(i)
        }
    })
    .await
}

/// The clock as `GET /__admin/clock` writes it.
async fn now_as_written(sb: &Sandbox) -> Value {
    sb.admin_get("/__admin/clock").await["now"].clone()
}

// The journal after a reset holds only entries of the reset clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_that_raced_a_reset_leaves_no_journal_entry_after_it() {
    let sb = Sandbox::start().await;
    let start = now_as_written(&sb).await;
    for round in 0..10 {
        sb.advance("1d").await;
        let answers = burst_with_a_reset(&sb, 40, |i| {
            (
                CURPV5.into(),
                headers(&[CURPV5_KEY]),
                json!({"curp": curp(i + 40 * round)}),
            )
        })
        .await;
        for r in answers {
            assert!(r.status < 500, "{} {}", r.status, r.text());
        }
        for e in sb.admin_get("/__admin/requests").await.as_array().unwrap() {
            assert_eq!(
                e["time"], start,
                "round {round}: an entry from before the reset is in the journal after it: {e}"
            );
        }
    }
}

// A verification kept after a reset was created on the reset clock: 2 s
// later (its processing delay, no webhook target) it is completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verification_created_across_a_reset_is_not_left_a_day_in_the_future() {
    let sb = Sandbox::start().await;
    let start = now_as_written(&sb).await;
    for round in 0..30 {
        sb.advance("1d").await;
        let answers = burst_with_a_reset(&sb, 40, |i| {
            (
                ASYNC_NSS.into(),
                headers(&[ASYNC_KEY]),
                json!({"curp": curp(i + 40 * round)}),
            )
        })
        .await;
        for r in answers {
            assert!(r.status < 500, "{} {}", r.status, r.text());
        }
        sb.advance("2s").await;
        for v in sb
            .admin_get("/__admin/verifications")
            .await
            .as_array()
            .unwrap()
        {
            assert_eq!(
                (&v["createdAt"], &v["status"]),
                (&start, &json!("Completed")),
                "round {round}: 2 s after the reset (clock at START + 2 s): {v}"
            );
        }
        let r = sb.admin_post("/__admin/reset", json!({})).await;
        assert_eq!(r.status, 200);
    }
}

// nss's per-CURP counters and its history agree after a racing reset: a
// CURP counted in the fresh counters has its execution in the fresh history.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_racing_reset_nss_counters_and_history_agree() {
    let sb = Sandbox::start().await;
    for round in 0..40 {
        let answers = burst_with_a_reset(&sb, 40, |i| {
            (
                NSS.into(),
                headers(&[NSS_KEY]),
                json!({"curp": curp(i + 40 * round)}),
            )
        })
        .await;
        for r in answers {
            assert_eq!(r.status, 200, "{}", r.text());
        }
        let counted = sb
            .admin_get("/__admin/counters")
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["key"].as_str().unwrap().starts_with("nss:curp:"))
            .count();
        let history = sb
            .get(&format!("{NSS}?page=1&itemsPerPage=100"), &[NSS_KEY])
            .await;
        assert_eq!(history.status, 200, "{}", history.text());
        let kept = history.json()["items"].as_array().unwrap().len();
        assert_eq!(
            counted, kept,
            "round {round}: CURPs counted after the reset vs executions kept after it"
        );
        let r = sb.admin_post("/__admin/reset", json!({})).await;
        assert_eq!(r.status, 200);
    }
}

// README, Admin API: `POST /__admin/reset` removes the overrides; a
// verification kept after it was not answered by one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verification_kept_after_a_reset_was_not_chosen_by_an_override_it_removed() {
    let sb = Sandbox::start().await;
    for round in 0..40 {
        let r = sb
            .admin_post(
                "/__admin/overrides",
                json!({"provider": "async", "scenario": "not_found"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let answers = burst_with_a_reset(&sb, 40, |i| {
            (
                ASYNC_NSS.into(),
                headers(&[ASYNC_KEY]),
                json!({"curp": curp(i + 40 * round)}),
            )
        })
        .await;
        for r in answers {
            assert_eq!(r.status, 200, "{}", r.text());
        }
        assert_eq!(sb.admin_get("/__admin/overrides").await, json!([]));
        for v in sb
            .admin_get("/__admin/verifications")
            .await
            .as_array()
            .unwrap()
        {
            assert_eq!(
                v["scenario"], "success",
                "round {round}: kept after the reset, answered by the override it removed: {v}"
            );
        }
        let r = sb.admin_post("/__admin/reset", json!({})).await;
        assert_eq!(r.status, 200);
    }
}

/// Two of curpv5's scenarios that nothing else names, as written in
/// `scenarios/curpv5.yaml`.
const REMOVABLE: [(&str, &str); 2] = [
    (
        "renapo_05_01",
        r#"      renapo_05_01:
        description: "RENAPO answered 05-01: Error al procesar los parámetros de salida XML"
        status: 200
        body: *renapo
        data: {renapo: "05-01", renapo_description: "Error al procesar los parámetros de salida XML", ccb: CRCPR002, ccb_description: "Error al conectarse con el servicio de RENAPO"}
"#,
    ),
    (
        "ccb_required",
        r#"      ccb_required:
        description: "the CCB layer answered CRCPR003: El campo CURP es un parámetro requerido"
        status: 200
        body: *renapo
        data: {ccb: CRCPR003, ccb_description: "El campo CURP es un parámetro requerido"}
"#,
    ),
];

// README, Admin API, `POST /__admin/reload`: the overrides whose scenario
// the new files no longer have are removed, those added while it runs too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_override_added_while_a_reload_removes_its_scenario_is_dropped_too() {
    let dir = temp_dir("reload-race");
    let _gone = RemovedOnDrop(dir.clone());
    let full = include_str!("../scenarios/curpv5.yaml");
    // Files without one scenario, then without the other: each reload
    // removes the scenario the one before it brought back.
    let without: Vec<String> = REMOVABLE
        .iter()
        .map(|(_, text)| {
            assert!(full.contains(text));
            full.replace(text, "")
        })
        .collect();
    std::fs::write(dir.join("curpv5.yaml"), &without[0]).unwrap();
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    // Answered once the server has read the files, before they change.
    assert_eq!(sb.admin_get("/__admin/health").await["status"], "ok");
    for round in 1..=15 {
        let (removed, _) = REMOVABLE[round % 2];
        std::fs::write(dir.join("curpv5.yaml"), &without[round % 2]).unwrap();
        // Overrides for the scenario the reload removes, added all the while
        // it runs by 16 clients, each in a namespace of its own.
        let reload = sb.send_in_background("POST", "/__admin/reload", &[], "");
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut set = JoinSet::new();
        for c in 0..16 {
            let http = Http::new(sb.base.clone());
            let done = done.clone();
            set.spawn(async move {
                let body = json!({"provider": "curpv5", "scenario": removed});
                let path = format!("/__admin/overrides?namespace=c{c}");
                let mut added = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let r = http.admin_post(&path, body.clone()).await;
                    assert!(matches!(r.status, 201 | 400), "{} {}", r.status, r.text());
                    added += usize::from(r.status == 201);
                }
                added
            });
        }
        let r = reload.await.unwrap().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let added: Vec<usize> = set.join_all().await;
        for c in 0..16 {
            let listed = sb
                .admin_get(&format!("/__admin/overrides?namespace=c{c}"))
                .await;
            assert_eq!(
                listed,
                json!([]),
                "round {round} (added {added:?}): the files have no {removed}, yet these overrides stay in c{c}"
            );
            let r = sb
                .admin_delete(&format!("/__admin/overrides?namespace=c{c}"))
                .await;
            assert_eq!(r.status, 200);
        }
    }
}

// --- bugs ----------------------------------------------------------------------------

/// README (Admin API, `POST /__admin/clock`): the clock stays within years
/// 0001–9999 in UTC-6 (400 otherwise; a running clock stops at
/// 9999-12-31T23:59:59.999999-06:00). The range is checked against the
/// clock as read before the change, and the change applied to the clock as
/// it reads a moment later: on a running clock the two differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clock_change_on_a_running_clock_stays_within_year_9999() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post("/__admin/clock", json!({"scale": 1_000_000}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // 9999-12-31T23:59:59.999 is in range: the change is taken (200) …
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "9999-12-31T23:59:59-06:00", "advance": "999ms"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // … and the clock must still be written with a four-digit year.
    for now in [
        r.json()["now"].clone(),
        sb.admin_get("/__admin/clock").await["now"].clone(),
        sb.post(NSS, &[NSS_KEY], json!({"curp": EPN})).await.json()["createdAt"].clone(),
    ] {
        let now = now.as_str().unwrap().to_string();
        assert!(now.starts_with("9999-12-31T23:59:59."), "{now}");
    }
}

/// README (nss): `GET /api/v1/imss/nss/{id}` answers one past execution "as
/// it was answered", or 404. The route looks the id up twice, under two
/// separate locks (the realistic path picks `found`, then the values are
/// filled): an execution pushed out of the history in between is answered
/// `found` with the document's example execution, another id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_execution_read_while_it_is_pushed_out_is_itself_or_404() {
    let mut config = crate::common::config();
    config.journal_limit = 1;
    let sb = Sandbox::start_with(config).await;
    let started = std::time::Instant::now();
    let mut round = 0;
    // Probabilistic: about one read in a hundred meets the window; the loop
    // stops at the first or after 0.9 s.
    while started.elapsed() < std::time::Duration::from_millis(900) {
        round += 1;
        let kept = sb
            .post(NSS, &[NSS_KEY], json!({"curp": curp(2 * round)}))
            .await
            .json();
        let id = kept["id"].as_str().unwrap().to_string();
        let mut set = JoinSet::new();
        for j in 0..16 {
            let h = if j == 8 {
                // The next execution pushes `kept` out (the history keeps one).
                sb.send_in_background(
                    "POST",
                    NSS,
                    &[("content-type", "application/json"), NSS_KEY],
                    serde_json::to_vec(&json!({"curp": curp(2 * round + 1)})).unwrap(),
                )
            } else {
                sb.send_in_background("GET", &format!("{NSS}/{id}"), &[NSS_KEY], "")
            };
            set.spawn(async move { (j, h.await.unwrap().unwrap()) });
        }
        while let Some(joined) = set.join_next().await {
            let (j, r) = joined.unwrap();
            if j == 8 {
                continue;
            }
            match r.status {
                404 => {}
                200 => assert_eq!(r.json(), kept, "GET {id} answered another execution"),
                other => panic!("{other}: {}", r.text()),
            }
        }
    }
}

/// README (async): `verificationId` comes from the seeded generator and
/// restarts after a reset. `POST /__admin/reset` zeroes the request
/// sequence after clearing the verifications, and a creation that took its
/// sequence number before the reset stores its verification (and schedules
/// its source query) in the fresh namespace: a later creation is then given
/// the same id, and replaces the first client's verification.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creations_racing_a_reset_never_share_an_id_with_later_ones() {
    let sb = Sandbox::start().await;
    let started = std::time::Instant::now();
    // Probabilistic: a quarter of the rounds or so leave such a
    // verification; the loop stops at the first or after 0.9 s.
    while started.elapsed() < std::time::Duration::from_millis(900) {
        let mut set = JoinSet::new();
        for j in 0..20 {
            let h = if j == 10 {
                sb.send_in_background("POST", "/__admin/reset", &[], "")
            } else {
                sb.send_in_background(
                    "POST",
                    ASYNC_NSS,
                    &[("content-type", "application/json"), ASYNC_KEY],
                    serde_json::to_vec(&json!({"curp": curp(j)})).unwrap(),
                )
            };
            set.spawn(h);
        }
        for r in set.join_all().await {
            assert_eq!(r.unwrap().unwrap().status, 200);
        }
        let held: BTreeSet<String> = sb
            .admin_get("/__admin/verifications")
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["verificationId"].as_str().unwrap().to_string())
            .collect();
        for k in 0..20 {
            let r = sb
                .post(ASYNC_NSS, &[ASYNC_KEY], json!({"curp": curp(100 + k)}))
                .await;
            let id = r.json()["verificationId"].as_str().unwrap().to_string();
            assert!(
                !held.contains(&id),
                "a new verification was given the id {id} of one already held"
            );
        }
        let r = sb.admin_post("/__admin/reset", json!({})).await;
        assert_eq!(r.status, 200);
    }
}

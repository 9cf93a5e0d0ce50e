//! nss against seed 000 read letter by letter: what the other nss tests do
//! not pin (forced live executions, test cases in the history, how Kiban's
//! decoder reads keys and ids).

use serde_json::{json, Value};

use super::{keys, test_case, ENVELOPE, KEY, NOT_FOUND_CURP, PATH, PATH_V2, SYNTHETIC};
use crate::common::Sandbox;

// README Decisions (nss): a live execution has "a fresh id and the sandbox
// clock; `finishedAt` is 1.5–6 s later and `duration` that span in whole
// milliseconds, except that the scenarios whose example has a Go zero
// `finishedAt` (…`unavailable`) keep it, and those with `duration` 0
// (`attempts_exceeded`, `unavailable`) keep 0". Seed 000's subdelegation
// example has a real `finishedAt`; its unavailable example has
// `errorMessage` between `status` and `request` and no `response`.
#[tokio::test]
async fn forced_subdelegation_and_unavailable_are_live_executions_in_the_examples_shape() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            PATH_V2,
            &[KEY, ("x-sandbox-scenario", "subdelegation_validate")],
            json!({ "curp": SYNTHETIC }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(keys(&b), ENVELOPE);
    // 2024-05-15T10:00:00-06:00 is Unix 0x6644dc00.
    assert!(b["id"].as_str().unwrap().starts_with("6644dc00"), "{b}");
    assert_eq!(
        b["createdAt"], "2024-05-15T10:00:00-06:00",
        "Go writes no fraction on a whole second"
    );
    let finished = b["finishedAt"].as_str().unwrap();
    assert!(
        finished.starts_with("2024-05-15T10:00:0") && finished.ends_with("-06:00"),
        "{finished}"
    );
    let secs: f64 = finished[17..finished.len() - 6].parse().unwrap();
    let duration = b["duration"].as_u64().unwrap();
    assert_eq!(duration, (secs * 1000.0).floor() as u64, "{b}");
    assert!((1500..=6000).contains(&duration), "{b}");
    assert_eq!(b["status"], "SUCCESS");
    assert_eq!(b["request"], json!({ "curp": SYNTHETIC }));
    assert_eq!(
        b["response"],
        json!({"status": "INVALID", "message": "Tu solicitud requiere que acudas a la subdelegación."})
    );

    let r = sb
        .post(
            PATH,
            &[KEY, ("x-sandbox-scenario", "unavailable")],
            json!({ "curp": SYNTHETIC }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(
        keys(&b),
        [
            "id",
            "createdAt",
            "finishedAt",
            "duration",
            "status",
            "errorMessage",
            "request"
        ]
    );
    assert!(b["id"].as_str().unwrap().starts_with("6644dc00"), "{b}");
    assert_ne!(
        b["id"], "64f8f610385f8b15cbc07848",
        "not the canned test case"
    );
    assert_eq!(
        b["createdAt"], "2024-05-15T10:00:00-06:00",
        "Go writes no fraction on a whole second"
    );
    assert_eq!(b["finishedAt"], "0001-01-01T00:00:00Z");
    assert_eq!(b["duration"], 0);
    assert_eq!(b["status"], "SERVICE_ERROR");
    assert_eq!(
        b["errorMessage"],
        "Ocurrio un error al intentar obtener la informacion de la pagina, favor de volver a intentar"
    );
    assert_eq!(b["request"], json!({ "curp": SYNTHETIC }));
}

// README Decisions (nss): the history keeps every 200 envelope, "test cases
// included; an answer with an id already kept replaces it, as the test
// cases reuse the document's ids", and "The list is newest first". Seed 000
// prints the not_found and subdelegation examples under one id
// (`64f0d1278c07811576577e35`): answered in turn (v1 by name, v2 by id),
// they are one execution, the newest, listed once and at the top.
#[tokio::test]
async fn a_test_case_id_answered_again_is_one_execution_the_newest() {
    let sb = Sandbox::start().await;
    let r = test_case(&sb, PATH, "not_found", NOT_FOUND_CURP).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb.post(PATH, &[KEY], json!({ "curp": SYNTHETIC })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let live = r.json();
    let r = sb
        .post(
            &format!("{PATH_V2}?testCaseId=64ef697c16c07ae6b9b89ff5"),
            &[KEY],
            json!({ "curp": NOT_FOUND_CURP }),
        )
        .await;
    assert_eq!(r.scenario(), "subdelegation_validate", "{}", r.text());
    let subdelegation = r.json();
    assert_eq!(subdelegation["id"], "64f0d1278c07811576577e35");

    let r = sb
        .get(&format!("{PATH}/64f0d1278c07811576577e35"), &[KEY])
        .await;
    assert_eq!((r.status, r.json()), (200, subdelegation.clone()));

    let list = sb
        .get(&format!("{PATH_V2}?page=1&itemsPerPage=10"), &[KEY])
        .await;
    assert_eq!(list.status, 200, "{}", list.text());
    let without_request = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("request");
        v
    };
    assert_eq!(
        list.json(),
        json!({
            "currentPage": 1,
            "hasNextPage": false,
            "items": [without_request(&subdelegation), without_request(&live)]
        })
    );
}

/// Kiban's decoder is Go's: a key matches `curp` in any case, and every
/// matching key assigns the field, so the last one wins: `{"Curp": X,
/// "curp": ""}` is a request with an empty CURP (the 400), and the other
/// way round a request for X.
#[tokio::test]
async fn of_two_keys_differing_in_case_the_last_one_wins() {
    let sb = Sandbox::start().await;
    let send = |body: &'static str| sb.send("POST", PATH, &[KEY], body.as_bytes().to_vec());
    let r = send(r#"{"Curp": "ABCD570805HYNHLC52", "curp": ""}"#).await;
    assert_eq!(r.scenario(), "missing_field", "{}", r.text());
    let r = send(r#"{"curp": "", "CURP": "ABCD570805HYNHLC52"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["request"]["curp"], "ABCD570805HYNHLC52");
}

/// A test case's id and an execution's are ObjectIds in hex, which Kiban
/// parses in either case.
#[tokio::test]
async fn object_ids_are_read_in_either_case() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            &format!("{PATH}?testCaseId=64EF68E08BF1172DF581A12C"),
            &[KEY],
            json!({ "curp": SYNTHETIC }),
        )
        .await;
    assert_eq!(r.scenario(), "not_found", "{}", r.text());
    let live = sb.post(PATH, &[KEY], json!({ "curp": SYNTHETIC })).await;
    let id = live.json()["id"].as_str().unwrap().to_ascii_uppercase();
    let r = sb.get(&format!("{PATH}/{id}"), &[KEY]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"].as_str().unwrap().to_ascii_uppercase(), id);
}

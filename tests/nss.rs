//! nss (seed 000, Kiban — IMSS NSS by CURP) against the real server.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::{config, temp_dir, Resp, Sandbox, START};

mod fidelity;
mod strict;

const PATH: &str = "/api/v1/imss/nss";
const PATH_V2: &str = "/api/v2/imss/nss";
const KEY: (&str, &str) = ("x-api-key", "test-key");
const EXAMPLE: &str = "ABCD570805HYNHLC52";
const NOT_FOUND_CURP: &str = "NAZA650704MTLVCL05";
/// A real, strictly valid CURP that no persona lists.
const SYNTHETIC: &str = "GOMC850312HJCNRR05";
/// An execution's keys, in the examples' order.
const ENVELOPE: [&str; 7] = [
    "id",
    "createdAt",
    "finishedAt",
    "duration",
    "status",
    "request",
    "response",
];

const ATTEMPTS_MESSAGE: &str = "El número de operaciones por periodo ha sido alcanzada (2 operacion(es) cada 1 dia(s)), favor de intentar más tarde";

/// The six test cases as the document prints them (the stray `"` after the
/// attempts-exceeded message left out).
fn documented() -> Vec<(&'static str, Value)> {
    vec![
        (
            "success",
            json!({
                "id": "64f1058b902dd88975d011f4",
                "createdAt": "2023-08-31T15:26:35.872883-06:00",
                "finishedAt": "2023-08-31T15:26:52.443635-06:00",
                "duration": 16570,
                "status": "SUCCESS",
                "request": {"curp": "ABCD570805HYNHLC52"},
                "response": {"status": "FOUND", "nss": "08189782793"}
            }),
        ),
        (
            "not_found",
            json!({
                "id": "64f0d1278c07811576577e35",
                "createdAt": "2023-08-31T11:43:03.107933-06:00",
                "finishedAt": "0001-01-01T00:00:00Z",
                "duration": 23130,
                "status": "SUCCESS",
                "request": {"curp": "NAZA650704MTLVCL05"},
                "response": {"status": "NOT_FOUND", "message": "No se encontro un numero asociado al CURP"}
            }),
        ),
        (
            "not_found2",
            json!({
                "id": "64f0d1278c07811576577e35",
                "createdAt": "2023-08-31T11:43:03.107933-06:00",
                "finishedAt": "0001-01-01T00:00:00Z",
                "duration": 23130,
                "status": "SUCCESS",
                "request": {"curp": "NAZA650704MTLVCL05"},
                "response": {"status": "NOT_FOUND", "message": "No se localizo informacion en RENAPO con la CURP capturada."}
            }),
        ),
        (
            "attempts_exceeded",
            json!({
                "id": "64f8f50da6e92865602ba748",
                "createdAt": "2023-09-06T15:54:21.418582-06:00",
                "finishedAt": "0001-01-01T00:00:00Z",
                "duration": 0,
                "status": "SERVICE_ERROR",
                "request": {"curp": "ABCD570805HYNHLC52"},
                "response": {"status": "NOT_FOUND", "message": ATTEMPTS_MESSAGE}
            }),
        ),
        (
            "subdelegation_validate",
            json!({
                "id": "64f0d1278c07811576577e35",
                "createdAt": "2023-08-31T11:43:03.107933-06:00",
                "finishedAt": "2023-08-31T11:45:25.327846-06:00",
                "duration": 23130,
                "status": "SUCCESS",
                "request": {"curp": "NAZA650704MTLVCL05"},
                "response": {"status": "INVALID", "message": "Tu solicitud requiere que acudas a la subdelegación."}
            }),
        ),
        (
            "unavailable",
            json!({
                "id": "64f8f610385f8b15cbc07848",
                "createdAt": "2023-09-06T15:58:40.617047-06:00",
                "finishedAt": "0001-01-01T00:00:00Z",
                "duration": 0,
                "status": "SERVICE_ERROR",
                "errorMessage": "Ocurrio un error al intentar obtener la informacion de la pagina, favor de volver a intentar",
                "request": {"curp": "ABCD570805HYNHLC52"}
            }),
        ),
    ]
}

fn test_case_not_found() -> Value {
    json!({
        "testCase": "EMPTY_ERROR; test case not found",
        "testCaseId": "EMPTY_ERROR; test case not found with given id"
    })
}

/// `{base}?testCase={name}` for `curp`.
async fn test_case(sb: &Sandbox, base: &str, name: &str, curp: &str) -> Resp {
    sb.post(
        &format!("{base}?testCase={name}"),
        &[KEY],
        json!({ "curp": curp }),
    )
    .await
}

/// `?testCase=success` with the document's CURP answers the document's
/// success example.
async fn answers_the_documented_success(sb: &Sandbox) {
    let r = test_case(sb, PATH, "success", EXAMPLE).await;
    assert_eq!((r.status, r.json()), (200, documented()[0].1.clone()));
}

fn missing_curp() -> Value {
    json!({"curp": "REQUIRED_FIELD_ERROR; EMPTY_ERROR; can't be empty"})
}

fn invalid_curp() -> Value {
    json!({"curp": "FORMAT_ERROR; invalid curp format"})
}

/// The keys of a JSON object, in order.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// A query of `curp` at `path`, expected to answer 200.
async fn answer(sb: &Sandbox, path: &str, curp: &str) -> Resp {
    let r = sb.post(path, &[KEY], json!({ "curp": curp })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

async fn query(sb: &Sandbox, path: &str, curp: &str) -> Value {
    answer(sb, path, curp).await.json()
}

#[tokio::test]
async fn each_test_case_by_name_answers_exactly_as_documented() {
    let sb = Sandbox::start().await;
    for (name, expected) in documented() {
        let curp = expected["request"]["curp"].as_str().unwrap().to_string();
        for base in [PATH, PATH_V2] {
            let r = test_case(&sb, base, name, &curp).await;
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            assert_eq!(r.scenario(), name);
            let body = r.json();
            assert_eq!(body, expected, "{name}");
            // Key order as printed too.
            assert_eq!(keys(&body), keys(&expected), "{name}");
        }
    }
    // The request's CURP is echoed; everything else stays canned.
    let r = test_case(&sb, PATH, "success", SYNTHETIC).await;
    let mut expected = documented()[0].1.clone();
    expected["request"]["curp"] = json!(SYNTHETIC);
    assert_eq!(r.json(), expected);
}

#[tokio::test]
async fn test_cases_are_listed_and_answer_by_id() {
    let sb = Sandbox::start().await;
    for base in [PATH, PATH_V2] {
        let r = sb.get(&format!("{base}/test_case"), &[KEY]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let list = r.json();
        let list = list.as_array().unwrap();
        let names: Vec<&str> = list.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "success",
                "not_found",
                "not_found2",
                "attempts_exceeded",
                "subdelegation_validate",
                "unavailable"
            ]
        );
        assert_eq!(
            list[0],
            json!({
                "id": "64ef68b8aee408847d35e44e",
                "name": "success",
                "service": "imss",
                "subService": "nss",
                "origin": "api",
                "createdAt": "2023-08-30T10:05:12.123457-06:00",
                "modifiedAt": "2023-08-30T10:05:12.123457-06:00"
            })
        );
        let ids: BTreeSet<&str> = list.iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 6, "one id per test case");
        // README nss: the ids its table writes out, each in its place.
        let readme = [
            "64ef68b8aee408847d35e44e",
            "64ef68e08bf1172df581a12c",
            "64ef690e6655f305e147690d",
            "64ef694202a183b92efcba6e",
            "64ef697c16c07ae6b9b89ff5",
            "64ef69bcba691ba042bcedd9",
        ];
        let listed: Vec<&str> = list.iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(listed, readme);
        for t in list {
            assert_eq!(
                keys(t),
                [
                    "id",
                    "name",
                    "service",
                    "subService",
                    "origin",
                    "createdAt",
                    "modifiedAt"
                ]
            );
            let id = t["id"].as_str().unwrap();
            assert!(
                id.len() == 24
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
        }
    }

    let list = sb.get(&format!("{PATH}/test_case"), &[KEY]).await.json();
    for (t, (name, expected)) in list.as_array().unwrap().iter().zip(documented()) {
        assert_eq!(t["name"], name);
        let curp = expected["request"]["curp"].as_str().unwrap();
        let r = sb
            .post(
                &format!("{PATH_V2}?testCaseId={}", t["id"].as_str().unwrap()),
                &[KEY],
                json!({ "curp": curp }),
            )
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.scenario(), name);
        assert_eq!(r.json(), expected, "{name}");
    }
}

#[tokio::test]
async fn unknown_test_cases_get_the_documented_400() {
    let sb = Sandbox::start().await;
    for q in [
        "testCase=nope",
        "testCase=",
        "testCase=missing_field",
        "testCaseId=000000000000000000000000",
        "testCaseId=",
        // The id wins over the name when both come.
        "testCase=success&testCaseId=nope",
    ] {
        let r = sb
            .post(&format!("{PATH}?{q}"), &[KEY], json!({"curp": EXAMPLE}))
            .await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.json(), test_case_not_found(), "{q}");
        assert_eq!(r.scenario(), "test_case_not_found");
    }
}

// The document's 400s for a missing or malformed CURP come before the test
// case: Kiban's sandbox answers nothing without one, so they are answers to
// requests that carry one. Only a forced scenario (the header) answers
// whatever the body holds, echoing the document's CURP when the request has
// none of the CURP's form.
#[tokio::test]
async fn a_test_case_answers_after_the_documents_input_checks() {
    let sb = Sandbox::start().await;
    let cases = [
        (json!({}), missing_curp(), "missing_field"),
        (json!({"curp": ""}), missing_curp(), "missing_field"),
        (json!({"curp": null}), missing_curp(), "missing_field"),
        (json!({"curp": "ABC"}), invalid_curp(), "invalid_format"),
        (json!({"curp": 12345}), invalid_curp(), "invalid_format"),
    ];
    for (body, refusal, scenario) in &cases {
        for q in [
            "testCase=success",
            "testCase=unavailable",
            "testCase=nope",
            "testCaseId=64ef69bcba691ba042bcedd9",
        ] {
            let r = sb.post(&format!("{PATH}?{q}"), &[KEY], body.clone()).await;
            assert_eq!((r.status, r.json()), (400, refusal.clone()), "{q} {body}");
            assert_eq!(r.scenario(), *scenario, "{q} {body}");
        }
        let r = sb
            .post(
                PATH,
                &[KEY, ("X-Sandbox-Scenario", "success")],
                body.clone(),
            )
            .await;
        assert_eq!(r.status, 200, "forced {body}: {}", r.text());
        assert_eq!(
            r.json()["request"],
            json!({"curp": EXAMPLE}),
            "forced {body}"
        );
    }
    let r = sb
        .send("POST", &format!("{PATH_V2}?testCase=success"), &[KEY], "")
        .await;
    assert_eq!((r.status, r.json()), (400, missing_curp()), "empty");
    answers_the_documented_success(&sb).await;
}

#[tokio::test]
async fn curp_input_checks_come_first_on_the_realistic_path() {
    let sb = Sandbox::start().await;
    let path = PATH;
    for body in [json!({}), json!({"curp": ""}), json!({"curp": null})] {
        let r = sb.post(path, &[KEY], body.clone()).await;
        assert_eq!(r.status, 400, "{path} {body}");
        assert_eq!(r.json(), missing_curp(), "{path} {body}");
        assert_eq!(r.scenario(), "missing_field");
    }
    let r = sb.send("POST", path, &[KEY], "").await;
    assert_eq!((r.status, r.json()), (400, missing_curp()), "{path} empty");
    for body in [
        json!({"curp": "ABC"}),
        json!({"curp": "ABCD570805HYNHLC5"}),
        json!({"curp": "1BCD570805HYNHLC52"}),
        json!({"curp": "ABCD57A805HYNHLC52"}),
        json!({"curp": 12345}),
        json!({"curp": true}),
    ] {
        let r = sb.post(path, &[KEY], body.clone()).await;
        assert_eq!(r.status, 400, "{path} {body}");
        assert_eq!(r.json(), invalid_curp(), "{path} {body}");
        assert_eq!(r.scenario(), "invalid_format");
    }
    // Loose: the document's own placeholder passes, and so does a form body.
    let r = sb.post(PATH, &[KEY], json!({"curp": EXAMPLE})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/x-www-form-urlencoded")],
            format!("curp={SYNTHETIC}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn strict_sandbox_needs_a_test_case() {
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        strict_sandbox: true,
        ..config()
    })
    .await;
    for base in [PATH, PATH_V2] {
        let r = sb.post(base, &[KEY], json!({"curp": EXAMPLE})).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json(), test_case_not_found());
    }
    // The input checks still come first.
    let r = sb.post(PATH, &[KEY], json!({})).await;
    assert_eq!((r.status, r.json()), (400, missing_curp()));
    // Test cases answer as without the flag.
    answers_the_documented_success(&sb).await;
}

/// README nss: a live execution's times are written "as Go writes a
/// `time.Time` in JSON": the fraction without its trailing zeros. Forty
/// finishedAt times (a day apart, under the daily limit): none ends in a
/// zero, and some are shorter than six digits, as one in ten of Kiban's are.
#[tokio::test]
async fn finished_at_drops_the_fractions_trailing_zeros_as_go_writes_it() {
    let sb = Sandbox::start().await;
    let mut shorter = 0;
    for _ in 0..40 {
        let b = query(&sb, PATH, SYNTHETIC).await;
        let finished = b["finishedAt"].as_str().unwrap().to_string();
        let fraction = finished
            .strip_prefix(&finished[..19])
            .and_then(|t| t.strip_suffix("-06:00"))
            .unwrap_or_else(|| panic!("{finished}"));
        let digits = fraction.strip_prefix('.').unwrap_or(fraction);
        assert!(
            digits.len() <= 6
                && !digits.ends_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit()),
            "{finished}"
        );
        if digits.len() < 6 {
            shorter += 1;
        }
        sb.advance("1d").await;
    }
    assert!(shorter > 0, "no finishedAt of 40 had fewer than six digits");
}

/// Checks a live envelope: a fresh ObjectId, the sandbox clock, a duration
/// that agrees with the two times.
fn assert_live(body: &Value) {
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 24, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    // 2024-05-15T10:00:00-06:00 is Unix 1715788800 = 0x6644dc00.
    assert!(id.starts_with("6644dc00"), "{id}");
    assert_eq!(body["createdAt"], "2024-05-15T10:00:00-06:00");
}

#[tokio::test]
async fn realistic_path_answers_the_persons_nss() {
    let sb = Sandbox::start().await;
    let a = query(&sb, PATH, SYNTHETIC).await;
    assert_eq!(keys(&a), ENVELOPE);
    assert_live(&a);
    assert_eq!(a["status"], "SUCCESS");
    assert_eq!(a["request"], json!({"curp": SYNTHETIC}));
    assert_eq!(a["response"]["status"], "FOUND");
    assert_eq!(keys(&a["response"]), ["status", "nss"]);
    let nss = a["response"]["nss"].as_str().unwrap();
    assert!(
        nss.len() == 11 && nss.bytes().all(|b| b.is_ascii_digit()),
        "{nss}"
    );
    // finishedAt a few seconds after createdAt, and duration in ms to match.
    let finished = a["finishedAt"].as_str().unwrap();
    assert!(
        finished.starts_with("2024-05-15T10:00:0") && finished.ends_with("-06:00"),
        "{finished}"
    );
    let secs: f64 = finished[17..finished.len() - 6].parse().unwrap();
    let duration = a["duration"].as_u64().unwrap();
    assert_eq!(duration, (secs * 1000.0).floor() as u64, "{finished}");
    assert!((1000..=10_000).contains(&duration), "{duration}");

    // The same person on v2, with a new id.
    let b = query(&sb, PATH_V2, SYNTHETIC).await;
    assert_live(&b);
    assert_eq!(b["response"]["nss"], nss);
    assert_ne!(b["id"], a["id"]);

    // The origin and mock headers are accepted and change nothing.
    let r = sb
        .post(
            PATH,
            &[KEY, ("origin", "web"), ("mock", "true")],
            json!({"curp": "MEGR380412MJCDRS07"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["response"]["status"], "FOUND");

    // The field name is matched without regard to case, and lower case is read as upper.
    let r = sb
        .post(
            PATH,
            &[KEY],
            json!({"CURP": SYNTHETIC.to_ascii_lowercase()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["request"]["curp"], SYNTHETIC);
}

// README, Admin API: the clock stays within years 0001–9999, "which RFC 3339
// can write"; seed 000 prints microseconds and -06:00 (Go's RFC3339Nano: no
// trailing zeros, README nss): finishedAt too, at the end.
#[tokio::test]
async fn finished_at_stays_in_year_9999_at_the_end_of_the_clock() {
    let sb = Sandbox::start().await;
    sb.set_clock("9999-12-31T23:59:59.500000-06:00").await;
    let b = query(&sb, PATH, SYNTHETIC).await;
    assert_eq!(b["status"], "SUCCESS", "{b}");
    let created = b["createdAt"].as_str().unwrap();
    assert_eq!(created, "9999-12-31T23:59:59.5-06:00");
    let finished = b["finishedAt"].as_str().unwrap();
    let micros = finished
        .strip_prefix("9999-12-31T23:59:59.")
        .and_then(|t| t.strip_suffix("-06:00"));
    assert!(
        micros.is_some_and(|m| (1..=6).contains(&m.len())
            && m.bytes().all(|b| b.is_ascii_digit())
            && !m.ends_with('0')),
        "finishedAt {finished:?} is not an RFC 3339 time of year 9999 in Kiban's shape"
    );
    assert!(
        finished >= created,
        "finishedAt {finished} before createdAt {created}"
    );
}

/// README, Decisions ("Synthetic data"): "IMSS registration happens at age
/// 16–24" (and "an 11-digit NSS ... whose year digits agree with the birth
/// year"); the NSS is subdelegation (2), registration year (2), birth year
/// (2), sequence (4), check digit. For a child born in 2020 (or a persona
/// born in 2012) no NSS can have been registered at 16–24 by 2025, the year
/// the data is computed as of: the realistic answer is an NSS registered at
/// 16–24 or none (NOT_FOUND, "a person RENAPO knows without an NSS", README
/// nss), never one registered in 2025 at the age of 5 or 13.
#[tokio::test]
async fn an_nss_is_registered_at_16_to_24_or_not_at_all() {
    let sb = Sandbox::start().await;
    let mut wrong = Vec::new();
    for curp in ["LOPA200304MDFPRNA6", "AOCJ121008MNLRNMA3"] {
        let b = query(&sb, PATH, curp).await;
        if b["response"]["status"] != "FOUND" {
            continue;
        }
        let nss = b["response"]["nss"].as_str().unwrap().to_string();
        let born: i32 = 2000 + curp[4..6].parse::<i32>().unwrap();
        let reg_yy: i32 = nss[2..4].parse().unwrap();
        // The registration year at or after the birth year.
        let mut registered = born - born % 100 + reg_yy;
        if registered < born {
            registered += 100;
        }
        let age = registered - born;
        if !(16..=24).contains(&age) {
            wrong.push(format!(
                "{curp} (born {born}): NSS {nss} registered in {registered}, at {age}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[tokio::test]
async fn two_queries_per_curp_per_day() {
    let sb = Sandbox::start().await;
    for _ in 0..2 {
        let b = query(&sb, PATH, SYNTHETIC).await;
        assert_eq!(b["response"]["status"], "FOUND");
    }
    // v1 and v2 share the counter.
    let r = sb.post(PATH_V2, &[KEY], json!({"curp": SYNTHETIC})).await;
    assert_eq!(r.scenario(), "attempts_exceeded");
    let b = r.json();
    assert_live(&b);
    assert_eq!(keys(&b), ENVELOPE);
    assert_eq!(b["finishedAt"], "0001-01-01T00:00:00Z");
    assert_eq!(b["duration"], 0);
    assert_eq!(b["status"], "SERVICE_ERROR");
    assert_eq!(b["request"], json!({"curp": SYNTHETIC}));
    assert_eq!(
        b["response"],
        json!({"status": "NOT_FOUND", "message": ATTEMPTS_MESSAGE})
    );

    // Another CURP has its own count; test cases do not count.
    assert_eq!(
        query(&sb, PATH, EXAMPLE).await["response"]["status"],
        "FOUND"
    );
    for _ in 0..3 {
        let r = test_case(&sb, PATH, "success", EXAMPLE).await;
        assert_eq!(r.scenario(), "success");
    }
    assert_eq!(
        query(&sb, PATH, EXAMPLE).await["response"]["status"],
        "FOUND"
    );

    // The counter is visible to the admin API.
    let counters = sb.admin_get("/__admin/counters").await;
    let mine = counters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == format!("nss:curp:{SYNTHETIC}"))
        .unwrap_or_else(|| panic!("{counters}"));
    assert_eq!(mine["count"], 3);
    assert_eq!(mine["limit"], 2);
    assert_eq!(mine["since"], "2024-05-15");

    // The next provider day starts over.
    sb.advance("1d").await;
    let b = query(&sb, PATH, SYNTHETIC).await;
    assert_eq!(b["response"]["status"], "FOUND");
    assert_eq!(b["createdAt"], "2024-05-16T10:00:00-06:00");

    // And a counter reset starts over too.
    query(&sb, PATH, SYNTHETIC).await;
    assert_eq!(
        query(&sb, PATH, SYNTHETIC).await["response"]["status"],
        "NOT_FOUND"
    );
    assert_eq!(sb.admin_delete("/__admin/counters").await.status, 200);
    assert_eq!(
        query(&sb, PATH, SYNTHETIC).await["response"]["status"],
        "FOUND"
    );
}

// SPEC §5: "Days are provider days (America/Mexico_City, UTC-6)"; the nss
// limit (2 per CURP per day) rolls at 06:00Z, not at midnight UTC: 05:59Z
// and 06:01Z are two provider days, 05:59Z and the evening before are one.
// (tests/async_verification.rs pins the same for async NssByCurp.)
#[tokio::test]
async fn the_nss_limit_rolls_over_at_midnight_in_mexico_city() {
    let sb = Sandbox::start().await;
    let curp = "TALE710903HZSPRS06";
    // 2024-05-15 18:30 in Mexico City is already 2024-05-16 in UTC.
    sb.set_clock("2024-05-16T00:30:00Z").await;
    assert_eq!(answer(&sb, PATH, curp).await.scenario(), "success");
    sb.set_clock("2024-05-16T05:59:00Z").await;
    assert_eq!(answer(&sb, PATH, curp).await.scenario(), "success");
    // Still 23:59 on 2024-05-15 in Mexico City: the third of that day.
    assert_eq!(
        answer(&sb, PATH, curp).await.scenario(),
        "attempts_exceeded"
    );
    sb.set_clock("2024-05-16T06:01:00Z").await;
    assert_eq!(answer(&sb, PATH, curp).await.scenario(), "success");
    assert_eq!(answer(&sb, PATH, curp).await.scenario(), "success");
    assert_eq!(
        answer(&sb, PATH, curp).await.scenario(),
        "attempts_exceeded"
    );
}

#[tokio::test]
async fn the_daily_limit_comes_from_yaml() {
    let dir = crate::common::temp_dir("nss-limit");
    let yaml = include_str!("../scenarios/nss.yaml");
    assert!(yaml.contains("attempts_per_day: 2"));
    let run = |setting: &'static str| {
        let dir = dir.clone();
        async move {
            std::fs::write(
                dir.join("nss.yaml"),
                yaml.replace("attempts_per_day: 2", setting),
            )
            .unwrap();
            let sb = Sandbox::start_with(mxid_sandbox::Config {
                scenarios: mxid_sandbox::config::Source::Dir(dir),
                ..config()
            })
            .await;
            let mut answers = Vec::new();
            for _ in 0..4 {
                answers.push(query(&sb, PATH, SYNTHETIC).await);
            }
            answers
        }
    };
    let status =
        |answers: &[Value]| -> Vec<Value> { answers.iter().map(|a| a["status"].clone()).collect() };
    let three = run("attempts_per_day: 3").await;
    assert_eq!(
        status(&three),
        ["SUCCESS", "SUCCESS", "SUCCESS", "SERVICE_ERROR"]
    );
    // The message states the limit the file sets.
    assert_eq!(
        three[3]["response"]["message"],
        ATTEMPTS_MESSAGE.replace("(2 operacion(es)", "(3 operacion(es)")
    );
    assert_eq!(status(&run("attempts_per_day: null").await), ["SUCCESS"; 4]);
    let _ = std::fs::remove_dir_all(&dir);
}

// README, nss: "Test cases (Kiban's sandbox switch): `?testCase=NAME` or
// `?testCaseId=ID` answers exactly the document's example"; SPEC §3: each
// scenario answers "with the provider's own documented response". The
// document's attempts-exceeded example (seeds/000) says "(2 operacion(es)
// cada 1 dia(s))". The file's `attempts_per_day` is the sandbox's own
// counter for the realistic path (README: "the next query that day gets
// attempts_exceeded, whose message states the limit"): with
// `attempts_per_day: 5` (or 0) the canned test case still states the
// document's 2.
#[tokio::test]
async fn the_attempts_test_case_states_the_documents_limit_whatever_the_file_sets() {
    let yaml = include_str!("../scenarios/nss.yaml");
    let mut wrong = Vec::new();
    for setting in ["attempts_per_day: 5", "attempts_per_day: 0"] {
        let dir = temp_dir("nss-attempts");
        std::fs::write(
            dir.join("nss.yaml"),
            yaml.replace("attempts_per_day: 2", setting),
        )
        .unwrap();
        let sb = Sandbox::start_with(mxid_sandbox::Config {
            scenarios: mxid_sandbox::Source::Dir(dir.clone()),
            ..config()
        })
        .await;
        for query in [
            "testCase=attempts_exceeded",
            "testCaseId=64ef694202a183b92efcba6e",
        ] {
            let r = sb
                .post(&format!("{PATH}?{query}"), &[KEY], json!({"curp": EXAMPLE}))
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            let b = r.json();
            assert_eq!(b["id"], "64f8f50da6e92865602ba748", "{b}");
            if b["response"]["message"] != ATTEMPTS_MESSAGE {
                wrong.push(format!("{setting}, ?{query}: {}", b["response"]["message"]));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        wrong.is_empty(),
        "the test case is not the document's example: {wrong:#?}"
    );
}

#[tokio::test]
async fn documented_curps_answer_with_the_documents_data() {
    let sb = Sandbox::start().await;
    let b = query(&sb, PATH, EXAMPLE).await;
    assert_live(&b);
    assert_eq!(b["status"], "SUCCESS");
    assert_eq!(b["request"], json!({"curp": EXAMPLE}));
    assert_eq!(
        b["response"],
        json!({"status": "FOUND", "nss": "08189782793"})
    );

    let r = sb.post(PATH, &[KEY], json!({"curp": NOT_FOUND_CURP})).await;
    assert_eq!(r.scenario(), "not_found");
    let b = r.json();
    assert_live(&b);
    assert_eq!(b["status"], "SUCCESS");
    assert_eq!(b["finishedAt"], "0001-01-01T00:00:00Z");
    assert_eq!(b["request"], json!({"curp": NOT_FOUND_CURP}));
    assert_eq!(
        b["response"],
        json!({"status": "NOT_FOUND", "message": "No se encontro un numero asociado al CURP"})
    );
}

#[tokio::test]
async fn a_curp_renapo_never_issued_is_not_found_in_renapo() {
    // Past Kiban's loose format check, but a wrong check digit, an
    // impossible date or an unknown state: the document's `not_found2`.
    let sb = Sandbox::start().await;
    for curp in [
        "PXNE660720HMCXTN05",
        "PXNE661320HMCXTN06",
        "PXNE660720HZZXTN06",
    ] {
        let r = sb.post(PATH, &[KEY], json!({ "curp": curp })).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.scenario(), "not_found2", "{curp}");
        let b = r.json();
        assert_live(&b);
        assert_eq!(b["finishedAt"], "0001-01-01T00:00:00Z", "{curp}");
        assert_eq!(b["request"], json!({ "curp": curp }));
        assert_eq!(
            b["response"],
            json!({
                "status": "NOT_FOUND",
                "message": "No se localizo informacion en RENAPO con la CURP capturada."
            }),
            "{curp}"
        );
    }
}

#[tokio::test]
async fn history_by_id() {
    let sb = Sandbox::start().await;
    let live = query(&sb, PATH, SYNTHETIC).await;
    let id = live["id"].as_str().unwrap();
    for base in [PATH, PATH_V2] {
        let r = sb.get(&format!("{base}/{id}"), &[KEY]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.scenario(), "found");
        assert_eq!(r.json(), live);
    }
    // Test-case answers are executions too, under the document's ids.
    let r = test_case(&sb, PATH, "unavailable", SYNTHETIC).await;
    let unavailable = r.json();
    let r = sb
        .get(&format!("{PATH}/64f8f610385f8b15cbc07848"), &[KEY])
        .await;
    assert_eq!((r.status, r.json()), (200, unavailable));

    // 400s are not executions.
    sb.post(PATH, &[KEY], json!({})).await;
    let r = sb
        .get(&format!("{PATH}/000000000000000000000000"), &[KEY])
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"id": "NOT_FOUND_ERROR; query not found with given id"})
    );
    assert_eq!(r.scenario(), "unknown_id");

    // Another namespace has its own history.
    let r = sb
        .get(
            &format!("{PATH}/{id}"),
            &[KEY, ("x-sandbox-namespace", "other")],
        )
        .await;
    assert_eq!(r.status, 404);

    // A reset forgets it.
    assert_eq!(sb.admin_post("/__admin/reset", json!({})).await.status, 200);
    let r = sb.get(&format!("{PATH}/{id}"), &[KEY]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn history_in_pages_newest_first() {
    let sb = Sandbox::start().await;
    let empty = sb
        .get(&format!("{PATH}?page=1&itemsPerPage=10"), &[KEY])
        .await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_eq!(
        empty.json(),
        json!({"currentPage": 1, "hasNextPage": false, "items": []})
    );

    let mut answered = Vec::new();
    for curp in [SYNTHETIC, EXAMPLE, NOT_FOUND_CURP] {
        answered.push(query(&sb, PATH, curp).await);
    }
    // Reading an execution by its id does not make it newer.
    let first = answered[0]["id"].as_str().unwrap();
    let r = sb.get(&format!("{PATH}/{first}"), &[KEY]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let item = |i: usize| {
        let mut v = answered[i].clone();
        v.as_object_mut().unwrap().remove("request");
        v
    };
    let r = sb
        .get(&format!("{PATH}?page=1&itemsPerPage=2"), &[KEY])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "page");
    let b = r.json();
    assert_eq!(keys(&b), ["currentPage", "hasNextPage", "items"]);
    assert_eq!(
        b,
        json!({"currentPage": 1, "hasNextPage": true, "items": [item(2), item(1)]})
    );
    assert_eq!(
        keys(&b["items"][0]),
        [
            "id",
            "createdAt",
            "finishedAt",
            "duration",
            "status",
            "response"
        ]
    );
    let b = sb
        .get(&format!("{PATH_V2}?itemsPerPage=2&page=2"), &[KEY])
        .await
        .json();
    assert_eq!(
        b,
        json!({"currentPage": 2, "hasNextPage": false, "items": [item(0)]})
    );
    let b = sb
        .get(&format!("{PATH}?page=3&itemsPerPage=1"), &[KEY])
        .await
        .json();
    assert_eq!(
        b,
        json!({"currentPage": 3, "hasNextPage": false, "items": [item(0)]})
    );
    let b = sb
        .get(&format!("{PATH}?page=9&itemsPerPage=1"), &[KEY])
        .await
        .json();
    assert_eq!(
        b,
        json!({"currentPage": 9, "hasNextPage": false, "items": []})
    );
}

// README, Decisions (nss): the history keeps "at most `--journal-limit`"
// envelopes: none under `--journal-limit 0`, as the journal.
#[tokio::test]
async fn the_history_keeps_nothing_under_journal_limit_0() {
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        journal_limit: 0,
        ..config()
    })
    .await;
    let live = query(&sb, PATH, SYNTHETIC).await;
    let id = live["id"].as_str().unwrap();
    assert_eq!(sb.admin_get("/__admin/requests").await, json!([]));
    let list = sb
        .get(&format!("{PATH}?page=1&itemsPerPage=10"), &[KEY])
        .await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(
        list.json()["items"],
        json!([]),
        "--journal-limit 0: the history keeps nothing"
    );
    let one = sb.get(&format!("{PATH}/{id}"), &[KEY]).await;
    assert_eq!(one.status, 404, "{}", one.text());
}

#[tokio::test]
async fn paging_parameters_are_required_positive_integers() {
    let sb = Sandbox::start().await;
    let required = "REQUIRED_FIELD_ERROR; EMPTY_ERROR; can't be empty";
    for (q, expected) in [
        ("", json!({"page": required, "itemsPerPage": required})),
        ("?page=1", json!({"itemsPerPage": required})),
        ("?itemsPerPage=5&page=", json!({"page": required})),
        (
            "?page=0&itemsPerPage=5",
            json!({"page": "FORMAT_ERROR; invalid page format"}),
        ),
        (
            "?page=1&itemsPerPage=-3",
            json!({"itemsPerPage": "FORMAT_ERROR; invalid itemsPerPage format"}),
        ),
        (
            "?page=abc&itemsPerPage=1.5",
            json!({
                "page": "FORMAT_ERROR; invalid page format",
                "itemsPerPage": "FORMAT_ERROR; invalid itemsPerPage format"
            }),
        ),
    ] {
        let r = sb.get(&format!("{PATH}{q}"), &[KEY]).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.json(), expected, "{q}");
        assert_eq!(r.scenario(), "invalid_paging");
    }
    // Forced on good paging, the 400 names both fields.
    let r = sb
        .get(
            &format!("{PATH}?page=1&itemsPerPage=1"),
            &[KEY, ("x-sandbox-scenario", "invalid_paging")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({
            "page": "REQUIRED_FIELD_ERROR; EMPTY_ERROR; can't be empty",
            "itemsPerPage": "REQUIRED_FIELD_ERROR; EMPTY_ERROR; can't be empty"
        })
    );
}

#[tokio::test]
async fn every_endpoint_needs_the_api_key() {
    let sb = Sandbox::start().await;
    let unauthorized = json!({"message": "Unauthorized"});
    let routes = [
        ("POST", format!("{PATH}?testCase=success")),
        ("POST", PATH_V2.to_string()),
        ("GET", format!("{PATH}/test_case")),
        ("GET", format!("{PATH}/64f1058b902dd88975d011f4")),
        ("GET", format!("{PATH_V2}?page=1&itemsPerPage=1")),
    ];
    for (method, path) in &routes {
        let body = format!(r#"{{"curp": "{EXAMPLE}"}}"#);
        let ct = ("content-type", "application/json");
        let r = sb.send(method, path, &[ct], body.clone()).await;
        assert_eq!(r.status, 401, "{method} {path}");
        assert_eq!(r.json(), unauthorized);
        assert_eq!(r.scenario(), "missing_credentials");
        let r = sb
            .send(method, path, &[ct, ("x-api-key", "")], body.clone())
            .await;
        assert_eq!(r.status, 401, "{method} {path} empty key");
        let r = sb
            .send(
                method,
                path,
                &[ct, ("x-api-key", "invalid-api-key")],
                body.clone(),
            )
            .await;
        assert_eq!(r.status, 401, "{method} {path}");
        assert_eq!(r.json(), unauthorized);
        assert_eq!(r.scenario(), "invalid_credentials");
        let r = sb
            .send(method, path, &[ct, ("x-api-key", "llave-ñ")], body.clone())
            .await;
        assert_eq!(r.scenario(), "invalid_credentials", "{method} {path}");
        // Another header carrying the key is not the key.
        let r = sb.send(method, path, &[ct, ("apikey", "k")], body).await;
        assert_eq!(r.status, 401, "{method} {path}");
    }

    // Under --strict-auth only the listed key passes.
    let strict = Sandbox::start_with(mxid_sandbox::Config {
        strict_auth: true,
        ..config()
    })
    .await;
    let r = strict.post(PATH, &[KEY], json!({"curp": EXAMPLE})).await;
    assert_eq!((r.status, r.json()), (401, unauthorized));
    let r = strict
        .post(
            PATH,
            &[("x-api-key", "sandbox-api-key")],
            json!({"curp": EXAMPLE}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn engine_errors_in_kibans_shape() {
    let sb = Sandbox::start().await;
    let r = sb.get("/api/v1/imss/rfc", &[KEY]).await;
    assert_eq!(r.status, 404);
    assert_eq!(keys(&r.json()), ["message"]);
    let r = sb.send("DELETE", PATH, &[KEY], "").await;
    assert_eq!(r.status, 405);
    assert_eq!(keys(&r.json()), ["message"]);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/json")],
            "{curp: nope",
        )
        .await;
    assert_eq!(r.status, 400);
    let b = r.json();
    assert_eq!(keys(&b), ["body"]);
    assert!(
        b["body"].as_str().unwrap().starts_with("FORMAT_ERROR; "),
        "{b}"
    );
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/json")],
            vec![b' '; 2 * 1024 * 1024],
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(keys(&r.json()), ["message"]);
}

// README, Limitations: "Kiban's other services … are not here (their paths
// answer each provider's 404: Kiban's for anything under `/api/v1/` or
// `/api/v2/` but Valida CURP's `/api/v2/curp/`)". Kiban's path scheme is
// `/api/v{version}/{service}/{subservice}` (seeds/README.md, nss): another
// service beside `imss` gets Kiban's `{"message": …}` 404.
#[tokio::test]
async fn kibans_other_services_answer_kibans_404() {
    let sb = Sandbox::start().await;
    for path in ["/api/v1/sat/rfc", "/api/v2/sat/rfc"] {
        let r = sb.post(path, &[KEY], json!({ "curp": EXAMPLE })).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_eq!(keys(&r.json()), ["message"], "{path}: {}", r.text());
    }
    sb.stop().await;
}

/// Walks the catalog, forces every nss scenario on its endpoint, and checks
/// that the answers cover every status and message of the document.
#[tokio::test]
async fn the_catalog_covers_every_documented_answer() {
    let sb = Sandbox::start().await;
    let mine = sb.catalog_of("nss").await;
    assert!(mine.len() >= 19, "{}", mine.len());

    let mut http = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut response_statuses = BTreeSet::new();
    let mut messages = BTreeSet::new();
    let mut bodies = Vec::new();
    for e in mine {
        let name = e["name"].as_str().unwrap();
        let path = e["path"]
            .as_str()
            .unwrap()
            .replace("{id}", "64f1058b902dd88975d011f4");
        let method = e["method"].as_str().unwrap();
        let key = if name == "missing_credentials" {
            vec![]
        } else {
            vec![KEY]
        };
        let mut headers = vec![
            ("x-sandbox-scenario", name),
            ("content-type", "application/json"),
        ];
        headers.extend(key);
        let r = sb
            .send(
                method,
                &path,
                &headers,
                format!(r#"{{"curp": "{EXAMPLE}"}}"#),
            )
            .await;
        assert_eq!(r.scenario(), name, "{method} {path}");
        http.insert(r.status);
        let b = r.json();
        if let Some(s) = b.get("status").and_then(Value::as_str) {
            statuses.insert(s.to_string());
        }
        if let Some(resp) = b.get("response") {
            response_statuses.insert(resp["status"].as_str().unwrap().to_string());
            if let Some(m) = resp.get("message").and_then(Value::as_str) {
                messages.insert(m.to_string());
            }
        }
        if let Some(m) = b.get("errorMessage").and_then(Value::as_str) {
            messages.insert(m.to_string());
        }
        bodies.push(b);
    }
    assert!(
        http.is_superset(&BTreeSet::from([200, 400, 401, 404])),
        "{http:?}"
    );
    assert_eq!(
        statuses,
        BTreeSet::from(["SUCCESS".to_string(), "SERVICE_ERROR".to_string()])
    );
    assert_eq!(
        response_statuses,
        BTreeSet::from([
            "FOUND".to_string(),
            "NOT_FOUND".to_string(),
            "INVALID".to_string()
        ])
    );
    for (_, doc) in documented() {
        let m = doc["response"]["message"]
            .as_str()
            .or(doc["errorMessage"].as_str());
        if let Some(m) = m {
            assert!(messages.contains(m), "{m} not covered: {messages:?}");
        }
    }
    for doc in [
        missing_curp(),
        invalid_curp(),
        test_case_not_found(),
        json!({"message": "Unauthorized"}),
    ] {
        assert!(bodies.contains(&doc), "{doc} not covered");
    }
    // The NSS of the success example is there too.
    assert!(bodies.iter().any(|b| b["response"]["nss"] == "08189782793"));
}

// README Decisions, "Counters": the window before a counter's current one
// is kept, and two windows back starts afresh (nss: 2 a day, SPEC §5).
#[tokio::test]
async fn a_clock_set_two_windows_back_starts_the_count_afresh() {
    let sb = Sandbox::start().await;
    for _ in 0..2 {
        let r = sb.post(PATH, &[KEY], json!({ "curp": SYNTHETIC })).await;
        assert_eq!(r.scenario(), "success", "{}", r.text());
    }
    // Day D+2: a new window, two after D.
    sb.advance("2d").await;
    let r = sb.post(PATH, &[KEY], json!({ "curp": SYNTHETIC })).await;
    assert_eq!(r.scenario(), "success", "{}", r.text());
    // Back to day D: two windows back from D+2.
    let r = sb
        .admin_post("/__admin/clock", json!({ "set": START }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sb.post(PATH, &[KEY], json!({ "curp": SYNTHETIC })).await;
    let counters = sb.get("/__admin/counters", &[]).await.text();
    assert_eq!(
        (r.scenario(), r.json()["response"]["status"].clone()),
        ("success", json!("FOUND")),
        "day D seen again two windows after the counter's D+2 kept D's old count: {} (counters: {counters})",
        r.text()
    );
}

// README Decisions "Counters": a clock set back a day and forward again
// finds the day's count; `/__admin/counters` lists that count, which the
// third query is refused by.
#[tokio::test]
async fn the_counters_listing_shows_the_days_count_after_the_clock_went_back_and_forth() {
    let sb = Sandbox::start().await;
    assert_eq!(answer(&sb, PATH, SYNTHETIC).await.scenario(), "success");
    assert_eq!(answer(&sb, PATH, SYNTHETIC).await.scenario(), "success");
    sb.set_clock("2024-05-14T10:00:00-06:00").await;
    assert_eq!(answer(&sb, PATH, SYNTHETIC).await.scenario(), "success");
    sb.set_clock("2024-05-15T10:00:00-06:00").await;
    let listed = sb
        .admin_get("/__admin/counters")
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == format!("nss:curp:{SYNTHETIC}"))
        .cloned();
    // The count is there: the third query of the day is refused.
    assert_eq!(
        answer(&sb, PATH, SYNTHETIC).await.scenario(),
        "attempts_exceeded"
    );
    let listed = listed.unwrap_or_else(|| {
        panic!(
            "today's count of 2 is not listed at /__admin/counters, yet the third query is refused"
        )
    });
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["limit"], 2);
    assert_eq!(listed["since"], "2024-05-15");
}

/// README "Decisions", nss history: "`found` forced on an id no execution
/// has shows the document's success example", whole.
#[tokio::test]
async fn found_forced_on_an_unknown_id_is_the_documents_success_example() {
    let sb = Sandbox::start().await;
    let r = sb
        .get(
            &format!("{PATH}/000000000000000000000000"),
            &[("x-api-key", "k"), ("x-sandbox-scenario", "found")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), documented()[0].1, "{}", r.text());
}

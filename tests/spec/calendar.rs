//! Calendar and age boundaries across the five providers: the sandbox
//! clock where Mexico City's date is not UTC's, the CURP's century switch,
//! the year range a CURP can encode, and the INE credential years.

use crate::async_verification::{create, RFC};
use crate::common::Sandbox;
use base64::Engine as _;
use serde_json::{json, Value};

const EPN: &str = "PXNE660720HMCXTN06";

/// A verification's `verification` data, read from the admin listing.
fn data_of(v: &Value) -> Value {
    serde_json::from_str(v["verification"].as_str().expect("verification data")).unwrap()
}

// README, Decisions ("Synthetic data"): "A type C IneNominalList request
// states the elector code and the issue number: its years agree with the
// birth date the code states (…) and with that issue number (`00`: the
// first credential, registered and issued in the last ten years, so still
// in force; another: a replacement, issued after its registration and in
// the last ten years)". README, async input checks: for type C the `id` is
// "an 18-character alphanumeric elector code", so a code whose six date
// places are letters is accepted (200) — and then states no birth date.
//
// Such a code's holder is drawn, and with issue number `01` (a
// replacement) the drawn holder must have been of age a year earlier, or
// the replacement would be issued the year it was registered (as seed 0's
// GOLALOABCDEF09M008, M056 and M078 were: both years 2025).
#[tokio::test]
async fn a_type_c_replacement_is_issued_after_its_registration_whatever_the_code() {
    let sb = Sandbox::start().await;
    let mut sent = Vec::new();
    for i in 0..100u32 {
        let id = format!("GOLALOABCDEF09M{i:03}");
        let r = sb
            .post(
                "/api/AsyncVerication/IneNominalList",
                &[("apikey", "k")],
                json!({"type": "C", "id": id, "ocr": "3854006556540", "issueNumber": "01"}),
            )
            .await;
        assert_eq!(r.status, 200, "{id}: {}", r.text());
        sent.push(id);
    }
    sb.advance("3s").await;
    let all = sb.admin_get("/__admin/verifications").await;
    assert_eq!(all.as_array().unwrap().len(), sent.len(), "{all}");
    let mut wrong = Vec::new();
    for (v, id) in all.as_array().unwrap().iter().zip(&sent) {
        let d = &data_of(v)["data"];
        assert_eq!(d["electorCode"], id.as_str());
        assert_eq!(d["issueNumber"], "01");
        let reg: i32 = d["registrationYear"].as_str().unwrap().parse().unwrap();
        let issue: i32 = d["issueYear"].as_str().unwrap().parse().unwrap();
        if issue <= reg || !(2016..=2025).contains(&issue) {
            wrong.push(format!("{id}: registered {reg}, issued {issue}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "replacements (issue number 01) not issued after their registration:\n{}",
        wrong.join("\n")
    );
}

// SPEC §5 "Days are provider days (America/Mexico_City, UTC-6)"; SPEC §7
// `GET /__admin/clock` "now: RFC 3339 in UTC-6"; README Decisions: nss
// "its first 8 hex digits are `createdAt`'s Unix seconds", "`createdAt` is
// the sandbox clock"; curpv5 "`timeStamp` the base64 of the validation
// time's RFC 3339 text"; accuauth "`codigoValidacion` is `vc`, the sandbox
// time in epoch milliseconds"; the nss counter's provider day. At
// 2024-03-01T03:30:00.25Z it is still 29 February (a leap day) at 21:30 in
// Mexico City: every time every provider and the admin API state is that
// instant, in -06:00, and every day is the 29th.
#[tokio::test]
async fn every_time_stated_is_mexico_citys_on_a_leap_day_evening() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "2024-03-01T03:30:00.250Z", "scale": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let clock = sb.admin_get("/__admin/clock").await;
    assert_eq!(clock["now"], "2024-02-29T21:30:00.250000-06:00");

    // nss: createdAt, and the ObjectId's seconds (0x65e14bb8 = 1709263800).
    let n = sb
        .post(
            "/api/v1/imss/nss",
            &[("x-api-key", "k")],
            json!({"curp": EPN}),
        )
        .await
        .json();
    // As Go writes it: no trailing zeros (README nss).
    assert_eq!(n["createdAt"], "2024-02-29T21:30:00.25-06:00", "{n}");
    assert!(n["id"].as_str().unwrap().starts_with("65e14bb8"), "{n}");

    // curpv5: the validation date to the second, and its base64.
    let c = sb
        .post("/api/curp/bycurp", &[("apikey", "k")], json!({"curp": EPN}))
        .await
        .json();
    assert_eq!(c["validationDate"], "2024-02-29T21:30:00-06:00", "{c}");
    let stamp = base64::engine::general_purpose::STANDARD
        .decode(c["timeStamp"].as_str().unwrap())
        .unwrap();
    assert_eq!(stamp, b"2024-02-29T21:30:00-06:00");

    // accuauth: epoch milliseconds in the code, the local time in the PDF.
    let a = sb
        .post(
            "/verify/id_check",
            &[("x-df-api-id", "a"), ("x-df-api-secret", "s")],
            json!({"id_number": EPN}),
        )
        .await
        .json();
    let code = a["result"]["codigoValidacion"].as_str().unwrap();
    assert!(code.starts_with("vc1709263800250."), "{code}");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(a["result"]["documento"].as_str().unwrap())
        .unwrap();
    let at = pdf
        .windows(17)
        .position(|w| w == b"/CreationDate (D:")
        .expect("a creation date");
    assert_eq!(&pdf[at + 15..at + 37], b"D:20240229213000-06'00");

    // async: the record's times.
    create(&sb, RFC, "k", json!({"curp": EPN, "state": 15})).await;
    sb.advance("2s").await;
    let v = &sb.admin_get("/__admin/verifications").await[0];
    assert_eq!(v["createdAt"], "2024-02-29T21:30:00.250000-06:00", "{v}");
    assert_eq!(v["completedAt"], "2024-02-29T21:30:02.250000-06:00", "{v}");

    // The journal and the provider day of the counters.
    let journal = sb.admin_get("/__admin/requests").await;
    assert_eq!(journal[0]["time"], "2024-02-29T21:30:00.250000-06:00");
    let counters = sb.admin_get("/__admin/counters").await;
    let nss = counters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == format!("nss:curp:{EPN}"))
        .expect("the nss counter");
    assert_eq!(nss["since"], "2024-02-29", "{nss}");
}

// README, validacurp: `internal_error` (417) "from real input for a date
// that does not exist (`1966-02-30`) or a year a CURP cannot encode (before
// 1900, after 2099)"; seeds README: "Differentiator `0` for births before
// 2000, `A` from 2000". The edges of both: 1899 and 2100 refused, 1900 and
// 2099 calculated; 29 February of 1900 (no leap year) refused, of 2000 and
// 2024 calculated; the differentiator turns from 0 to A between 1999-12-31
// and 2000-01-01.
#[tokio::test]
async fn calculate_curp_at_the_edges_of_the_calendar_a_curp_encodes() {
    let sb = Sandbox::start().await;
    let calc = |d: &'static str, m: &'static str, y: &'static str| {
        let sb = &sb;
        async move {
            let r = sb
                .post(
                    "/curp/calculateCURP",
                    &[("authorization", "Bearer t")],
                    json!({"names": "ana", "lastName": "gomez", "secondLastName": "lopez",
                           "birthday": d, "birthMonth": m, "yearBirth": y,
                           "gender": "M", "entity": "09"}),
                )
                .await;
            (r.status, r.json())
        }
    };
    for (d, m, y, want) in [
        ("01", "01", "1900", "GOLA000101MDFMPN01"),
        ("31", "12", "1999", "GOLA991231MDFMPN05"),
        ("01", "01", "2000", "GOLA000101MDFMPNA1"),
        ("29", "02", "2000", "GOLA000229MDFMPNA8"),
        ("29", "02", "2024", "GOLA240229MDFMPNA8"),
        ("31", "12", "2099", "GOLA991231MDFMPNA5"),
    ] {
        let (status, b) = calc(d, m, y).await;
        assert_eq!(status, 200, "{d}/{m}/{y}: {b}");
        assert_eq!(b["response"]["curp"], want, "{d}/{m}/{y}");
    }
    for (d, m, y) in [
        ("31", "12", "1899"),
        ("01", "01", "2100"),
        ("29", "02", "1900"),
        ("29", "02", "2023"),
        ("31", "04", "2000"),
    ] {
        let (status, b) = calc(d, m, y).await;
        assert_eq!(status, 400, "{d}/{m}/{y}: {b}");
        assert_eq!(b["code_error"], 417, "{d}/{m}/{y}: {b}");
        assert!(b["response"]["error"].is_string(), "{b}");
    }
}

// README, Decisions ("Synthetic data"): a type C credential's years follow
// "the birth date the code states (YYMMDD, in the century that makes the
// holder of age …)"; `00` is "registered and issued in the last ten
// years", another number "a replacement, issued after its registration";
// `expDate` is "`31/12/YYYY` of the expiry year", ten years after issue.
// At the boundary of being of age by 2025: a code stating 07-12-31 with
// `00` is a first credential of 2025; with `01` the holder must have been
// of age a year before, so 1907 (registered long ago, reissued lately);
// 06-12-31 with `01` is registered in 2024 and reissued in 2025.
#[tokio::test]
async fn type_c_years_at_the_coming_of_age_boundary() {
    let sb = Sandbox::start().await;
    let cases = [
        ("GOLALO07123109M100", "00"),
        ("GOLALO07123109M100", "01"),
        ("GOLALO06123109M100", "01"),
    ];
    for (id, issue) in cases {
        let r = sb
            .post(
                "/api/AsyncVerication/IneNominalList",
                &[("apikey", "k")],
                json!({"type": "C", "id": id, "ocr": "3854006556540", "issueNumber": issue}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    sb.advance("2s").await;
    let all = sb.admin_get("/__admin/verifications").await;
    let years = |i: usize| {
        let d = data_of(&all[i])["data"].clone();
        let y = |k: &str| d[k].as_str().unwrap().parse::<i32>().unwrap();
        (
            y("registrationYear"),
            y("issueYear"),
            d["expDate"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(years(0), (2025, 2025, "31/12/2035".to_string()));
    let (reg, issue, exp) = years(1);
    assert!((1925..2016).contains(&reg), "born 1907: registered {reg}");
    assert!((2016..=2025).contains(&issue), "issued {issue}");
    assert_eq!(exp, format!("31/12/{}", issue + 10));
    assert_eq!(years(2), (2024, 2025, "31/12/2035".to_string()));
}

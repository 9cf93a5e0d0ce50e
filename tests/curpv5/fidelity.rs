//! curpv5 against seed 003 read letter by letter: what the other curpv5
//! tests do not pin (RENAPO's rules on the realistic path, gender X, the
//! born-abroad persona, the validation date's offset).

use base64::Engine as _;
use serde_json::json;

use crate::common::{Resp, Sandbox};

const PATH: &str = "/api/curp/bycurp";
const KEY: (&str, &str) = ("apikey", "audit-key");

async fn bycurp(sb: &Sandbox, curp: &str) -> Resp {
    sb.post(PATH, &[KEY], json!({ "curp": curp })).await
}

fn assert_error(r: &Resp, status: u16, code: &str, message: &str) {
    assert_eq!(r.status, status, "{code}: {}", r.text());
    assert_eq!(r.json(), json!({"error": code, "message": message}));
}

const CURPSV004: &str = "Invalid Format on CURP.";
const CURPSV009: &str =
    "The CURP does not exist in the RENAPO database or have problem to validate.";

// README "Scenarios per provider" / curpv5, realistic path: "a CURP that
// passes RENAPO's strict rules, or a persona → success; one that fails only
// its check digit → not_found (such a CURP cannot exist in RENAPO); anything
// else … → invalid_format"; Decisions, "CURP rules": check_strict refuses
// an inconvenient word. Pins the verdicts on real input (the existing tests
// force `not_found` by header only).
#[tokio::test]
async fn realistic_path_applies_renapo_rules_letter_by_letter() {
    let sb = Sandbox::start().await;
    // Only the check digit is wrong (06 is right): 404 CURPSV009.
    let r = bycurp(&sb, "PXNE660720HMCXTN07").await;
    assert_error(&r, 404, "CURPSV009", CURPSV009);
    assert_eq!(r.scenario(), "not_found");
    for (curp, why) in [
        ("BUEI900505HDFRPN05", "inconvenient word, right check digit"),
        ("PBNE660720HMCXTN07", "position 2 is neither a vowel nor X"),
        (
            "PXNE660720HMCATN06",
            "a vowel among the internal consonants",
        ),
        ("PXNE660720HMCXTN0A", "a letter where the check digit goes"),
        (
            "PELJ000229HDFRPN00",
            "29 Feb 1900 (digit differentiator: 1900s)",
        ),
        ("PELJ010229HDFRPNA7", "29 Feb 2001"),
    ] {
        let r = bycurp(&sb, curp).await;
        assert_error(&r, 400, "CURPSV004", CURPSV004);
        assert_eq!(r.scenario(), "invalid_format", "{curp}: {why}");
    }
    // 29 Feb 2000 (letter differentiator) exists: DD/MM/YYYY, 2000s.
    let r = bycurp(&sb, "PELJ000229HDFRPNA0").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["birthDate"], "29/02/2000");
}

// Seed 003, Response Fields: "gender | string | Gender (M - F - X)";
// seeds/README.md: "`gender` in CURPv5 answers is M, F or X". A CURP whose
// sex letter is X answers X (tests/curpv5.rs covers H and M only), for a
// synthetic person and for the async seed's placeholder persona, whose
// unknown state XX still answers a RENAPO code of the seed's table.
#[tokio::test]
async fn a_non_binary_curp_answers_gender_x() {
    let sb = Sandbox::start().await;
    let r = bycurp(&sb, "PELJ900505XMCRPN06").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["gender"], "X");
    assert_eq!(b["birthDate"], "05/05/1990");
    assert_eq!(b["birthState"], "MC");

    let r = bycurp(&sb, "XAXA010101XXXXXX01").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["gender"], "X");
    const RENAPO: [&str; 32] = [
        "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT", "GR", "HG", "JC", "MC",
        "MN", "MS", "NT", "NL", "OC", "PL", "QT", "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ",
        "YN", "ZS",
    ];
    assert!(
        RENAPO.contains(&b["birthState"].as_str().unwrap()),
        "{}",
        b["birthState"]
    );
}

// README persona table: "WOXS030303MNENXFA6 | born abroad (NE), one
// surname"; personas.yaml gives her proof type 3 (seed 003: "3.- Documento
// Migratorio") and nationality CHN. curpv5 states exactly that.
#[tokio::test]
async fn the_born_abroad_persona_as_curpv5_states_her() {
    let sb = Sandbox::start().await;
    let r = bycurp(&sb, "WOXS030303MNENXFA6").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["lastName"], "WONG");
    assert_eq!(b["secondLastName"], "");
    assert_eq!(b["firstName"], "SOFIA");
    assert_eq!(b["gender"], "F");
    assert_eq!(b["birthDate"], "03/03/2003");
    assert_eq!(b["birthState"], "NE");
    assert_eq!(b["nationalityCode"], "CHN");
    assert_eq!(b["proofDocumentType"], 3);
    assert_eq!(b["curpStatus"], "AN");
}

// SPEC §5 "Days are provider days (America/Mexico_City, UTC-6)"; README
// Decisions: "`timeStamp` the base64 of the validation time's RFC 3339
// text". A clock set in another offset, with a fraction of a second, is
// stated in -06:00 to the second, and timeStamp carries the same text.
#[tokio::test]
async fn validation_date_is_stated_in_utc_minus_6_to_the_second() {
    let sb = Sandbox::start().await;
    let r = sb
        .admin_post(
            "/__admin/clock",
            json!({"set": "2024-12-31T23:30:00.750Z", "scale": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = bycurp(&sb, "PXNE660720HMCXTN06").await.json();
    assert_eq!(b["validationDate"], "2024-12-31T17:30:00-06:00");
    let stamp = base64::engine::general_purpose::STANDARD
        .decode(b["timeStamp"].as_str().unwrap())
        .unwrap();
    assert_eq!(stamp, b"2024-12-31T17:30:00-06:00");
}

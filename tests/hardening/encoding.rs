//! Text encoding of inputs, across the five providers: how a CURP, a
//! credential, a name and a path parameter are read when they arrive
//! percent-encoded, escaped, with a byte-order mark, in another letter case,
//! surrounded by Unicode spaces or in a decomposed Unicode form.

use crate::common::{Headers, Resp, Sandbox};
use serde_json::{json, Value};

const EPN: &str = "PXNE660720HMCXTN06";

/// The five providers' CURP endpoints: path, credential headers, and the
/// body field that carries the CURP.
fn curp_endpoints() -> Vec<(&'static str, &'static str, Headers<'static>, &'static str)> {
    let endpoints = vec![
        ("curpv5", "/api/curp/bycurp", vec![("apikey", "k")], "curp"),
        ("nss", "/api/v1/imss/nss", vec![("x-api-key", "k")], "curp"),
        (
            "accuauth",
            "/verify/id_check",
            vec![("X-DF-API-ID", "k"), ("X-DF-API-SECRET", "s")],
            "id_number",
        ),
        (
            "validacurp",
            "/curp/getData",
            vec![("authorization", "Bearer t")],
            "curp",
        ),
        (
            "async",
            "/api/AsyncVerication/NssByCurp",
            vec![("apikey", "k")],
            "curp",
        ),
    ];
    crate::common::assert_every_provider("curp_endpoints", endpoints.iter().map(|e| e.0));
    endpoints
}

fn shown(r: &Resp) -> String {
    format!("{} {} {}", r.status, r.scenario(), r.text())
}

/// Pins that every provider reads the same encodings of one CURP alike: as
/// the README says, the CURP is "read upper-cased and trimmed"
/// (Decisions, nss; accuauth "Lower-case input is accepted and
/// upper-cased"), JSON escapes and percent-encoding decoded, a UTF-8
/// byte-order mark before JSON skipped (Decisions, "`curl -d '{…}'`"); and
/// what is not a CURP once read (a zero-width space, full-width letters, Ñ,
/// a NUL, double percent-encoding) is each provider's format error; a form
/// field whose bytes are not UTF-8 is each provider's 400 for a body it
/// cannot read (Decisions, "A form is read in the charset it names").
#[tokio::test]
async fn every_provider_reads_the_same_curp_encodings_alike() {
    let sb = Sandbox::start().await;
    let json_ct = "application/json";
    let form_ct = "application/x-www-form-urlencoded";
    // (what, content type, body with FIELD where the field name goes)
    let accepted: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "lower case",
            json_ct,
            br#"{"FIELD":"pxne660720hmcxtn06"}"#.to_vec(),
        ),
        (
            "Unicode spaces around",
            json_ct,
            "{\"FIELD\":\"\u{a0}\u{3000}\\tPXNE660720HMCXTN06\\n\u{85}\"}"
                .as_bytes()
                .to_vec(),
        ),
        (
            "a \\u escape",
            json_ct,
            br#"{"FIELD":"\u0050XNE660720HMCXTN06"}"#.to_vec(),
        ),
        (
            "a UTF-8 BOM before JSON",
            json_ct,
            b"\xEF\xBB\xBF{\"FIELD\":\"PXNE660720HMCXTN06\",}".to_vec(),
        ),
        (
            "a UTF-8 BOM before JSON labelled urlencoded",
            form_ct,
            b"\xEF\xBB\xBF{\"FIELD\":\"PXNE660720HMCXTN06\"}".to_vec(),
        ),
        (
            "a form with + and %XX",
            form_ct,
            b"FIELD=+%50XNE660720hmcxtn06+".to_vec(),
        ),
        (
            "a charset parameter and upper-case type",
            "APPLICATION/JSON; charset=utf-16",
            br#"{"FIELD":"PXNE660720HMCXTN06"}"#.to_vec(),
        ),
    ];
    let refused: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "a zero-width space",
            json_ct,
            "{\"FIELD\":\"\u{200b}PXNE660720HMCXTN06\"}"
                .as_bytes()
                .to_vec(),
        ),
        (
            "a BOM inside the string",
            json_ct,
            "{\"FIELD\":\"\u{feff}PXNE660720HMCXTN06\"}"
                .as_bytes()
                .to_vec(),
        ),
        (
            "full-width letters",
            json_ct,
            "{\"FIELD\":\"ＰＸＮＥ660720HMCXTN06\"}".as_bytes().to_vec(),
        ),
        (
            "an Ñ",
            json_ct,
            "{\"FIELD\":\"PÑNE660720HMCXTN06\"}".as_bytes().to_vec(),
        ),
        ("a NUL", form_ct, b"FIELD=PXNE660720%00HMCXTN06".to_vec()),
        (
            "double percent-encoding",
            form_ct,
            b"FIELD=%2550XNE660720HMCXTN06".to_vec(),
        ),
    ];
    for (provider, path, creds, field) in curp_endpoints() {
        for (accept, cases) in [(true, &accepted), (false, &refused)] {
            for (what, ct, body) in cases.iter() {
                let body = String::from_utf8_lossy(body).replace("FIELD", field);
                // The non-UTF-8 case is percent-encoded: lossy is harmless.
                let mut headers = creds.clone();
                headers.push(("content-type", ct));
                let r = sb.send("POST", path, &headers, body.into_bytes()).await;
                let answer: Value = r.json();
                let scenario = r.scenario();
                if accept {
                    assert_eq!(scenario, "success", "{provider} {what}: {}", shown(&r));
                    let echoed = match provider {
                        "curpv5" => answer["curp"].clone(),
                        "nss" => answer["request"]["curp"].clone(),
                        "accuauth" => answer["result"]["curp"].clone(),
                        "validacurp" => answer["response"]["Applicant"]["CURP"].clone(),
                        _ => json!(EPN),
                    };
                    assert_eq!(echoed, EPN, "{provider} {what}: {}", shown(&r));
                } else {
                    assert_eq!(
                        scenario,
                        "invalid_format",
                        "{provider} {what}: {}",
                        shown(&r)
                    );
                }
                sb.send("DELETE", "/__admin/counters", &[], "").await;
            }
        }
        let mut headers = creds.clone();
        headers.push(("content-type", form_ct));
        let body = format!("{field}=PXNE660720HMCXTN06%FF");
        let r = sb.send("POST", path, &headers, body).await;
        assert_eq!(
            (r.status, r.scenario()),
            (400, "malformed_body"),
            "{provider}: {}",
            shown(&r)
        );
        let says = format!("the form field '{field}' is not UTF-8 text");
        assert!(r.text().contains(&says), "{provider}: {}", shown(&r));
    }
}

// README, "How a scenario is chosen": "First match wins, after the
// credential check (a missing credential gets the provider's own "missing
// credential" error, …, one longer than 256 bytes or with a character past
// ASCII (a header's bytes past it included, and a Unicode space around it
// […]), which no provider issues, `invalid_credentials`)". (Also `src/request.rs`, `header_lossy`: "a
// credential sent with such bytes is a wrong credential, not a missing
// one".)
//
// HTTP strips only spaces and tabs from a header value: a credential
// framed by a Unicode space (NBSP, U+3000, U+0085) is not ASCII, so
// invalid on every provider — and validacurp's body token "\u00a0pruebas"
// is not the test token.
#[tokio::test]
async fn a_credential_with_a_non_ascii_space_around_it_is_invalid_not_accepted() {
    let sb = Sandbox::start().await;
    let nbsp_k = "\u{a0}k";
    let body = json!({"curp": EPN});
    let cases: Vec<(&str, &str, Headers, Value)> = vec![
        (
            "curpv5",
            "/api/curp/bycurp",
            vec![("ApiKey", nbsp_k)],
            body.clone(),
        ),
        (
            "nss",
            "/api/v1/imss/nss",
            vec![("x-api-key", nbsp_k)],
            body.clone(),
        ),
        (
            "accuauth",
            "/verify/id_check",
            vec![("X-DF-API-ID", nbsp_k), ("X-DF-API-SECRET", "s")],
            json!({"id_number": EPN}),
        ),
        (
            "validacurp header",
            "/curp/getData",
            vec![("authorization", "Bearer \u{a0}k")],
            body.clone(),
        ),
        (
            "validacurp header, the test token",
            "/curp/validateCurpStructure",
            vec![("authorization", "Bearer \u{a0}pruebas")],
            body.clone(),
        ),
        (
            "validacurp body token",
            "/curp/getData",
            vec![],
            json!({"curp": EPN, "token": "\u{3000}k"}),
        ),
        (
            "async",
            "/api/AsyncVerication/RfcByCurp",
            vec![("apikey", "k\u{85}")],
            json!({"curp": EPN, "state": 15}),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, path, headers, body) in cases {
        let r = sb.post(path, &headers, body).await;
        if r.scenario() != "invalid_credentials" {
            wrong.push(format!("{what}: {}", shown(&r)));
        }
    }
    assert!(
        wrong.is_empty(),
        "credentials with a character past ASCII were not refused as invalid:\n{}",
        wrong.join("\n")
    );
}

// README, "How a scenario is chosen" (the same sentence as above): a
// credential "with a character past ASCII (a header's bytes past it
// included) … `invalid_credentials`", as distinct from "a missing
// credential", which "gets the provider's own "missing credential" error";
// README, accuauth table: "`missing_credentials` | 401 UNAUTHORIZED (a
// header missing or empty)".
//
// A header whose whole value is a Unicode space is not empty, so not
// missing: invalid (curpv5 CURPSV002, async NSS003), and accuauth's
// X-DF-API-SECRET of one NBSP is a secret given.
#[tokio::test]
async fn a_credential_of_only_non_ascii_spaces_is_invalid_not_missing() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "\u{a0}")],
            json!({"curp": EPN}),
        )
        .await;
    let curpv5 = (r.scenario().to_string(), r.json()["error"].clone());
    let r = sb
        .post(
            "/api/AsyncVerication/NssByCurp",
            &[("apikey", "\u{3000}")],
            json!({"curp": EPN}),
        )
        .await;
    let nss_by_curp = (r.scenario().to_string(), r.json()["code"].clone());
    let r = sb
        .post(
            "/verify/id_check",
            &[("X-DF-API-ID", "k"), ("X-DF-API-SECRET", "\u{a0}")],
            json!({"id_number": EPN}),
        )
        .await;
    let accuauth_secret_missing = r.scenario() == "missing_credentials";
    assert_eq!(
        (curpv5, nss_by_curp, accuauth_secret_missing),
        (
            ("invalid_credentials".to_string(), json!("CURPSV002")),
            ("invalid_credentials".to_string(), json!("NSS003")),
            false
        )
    );
}

// README, Admin API table, `PUT /__admin/webhooks/{apikey}` / `DELETE …`:
// "one no client could send, not ASCII, with a space or tab around it
// (HTTP strips them) or with a control character other than a tab, is a
// 400". A tab inside one is a header's byte like any other.
#[tokio::test]
async fn a_webhook_apikey_with_a_space_or_tab_around_it_is_refused() {
    let sb = Sandbox::start().await;
    let r = sb
        .send(
            "PUT",
            "/__admin/webhooks/%09k",
            &[("content-type", "application/json")],
            r#"{"url":"http://127.0.0.1:9/hook"}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["error"].is_string(), "{}", r.text());
    for (path, status) in [
        ("/__admin/webhooks/%20k", 400),
        ("/__admin/webhooks/k%09", 400),
        ("/__admin/webhooks/k%09k", 200),
    ] {
        let r = sb
            .send(
                "PUT",
                path,
                &[("content-type", "application/json")],
                r#"{"url":"http://127.0.0.1:9/hook"}"#,
            )
            .await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
    }
}

// SPEC §4: "`calculateCURP` by the RENAPO algorithm (first internal vowel,
// MARIA/JOSE and particles skipped, Ñ as X, …)"; seed 001 prints
// `"lastName" : "peña"` … → `"curp":"PXNE660720HMCXTN06"`.
//
// The same names in Unicode's decomposed form (NFD, as macOS and iOS text
// input may produce: "n" + U+0303 for ñ, "I" + U+0301 for Í) calculate
// the same CURP as the precomposed text: the Ñ is X, MARÍA is skipped.
#[tokio::test]
async fn calculate_curp_reads_decomposed_accents_as_the_precomposed_letters() {
    let sb = Sandbox::start().await;
    let base = json!({
        "names": "enrique", "lastName": "peña", "secondLastName": "nieto",
        "birthday": "20", "birthMonth": "07", "yearBirth": "1966",
        "gender": "H", "entity": "15"
    });
    let calc = |field: &str, value: &str| {
        let mut b = base.clone();
        b[field] = json!(value);
        b
    };
    let mut got = Vec::new();
    for (field, nfc, nfd) in [
        ("lastName", "peña", "pen\u{303}a"),
        ("names", "MARÍA ENRIQUETA", "MARI\u{301}A ENRIQUETA"),
    ] {
        for value in [nfc, nfd] {
            let r = sb
                .post(
                    "/curp/calculateCURP",
                    &[("authorization", "Bearer t")],
                    calc(field, value),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            got.push((
                value.escape_unicode().to_string(),
                r.json()["response"]["curp"].clone(),
            ));
        }
    }
    let want: Vec<(String, Value)> = got.iter().map(|(v, _)| (v.clone(), json!(EPN))).collect();
    assert_eq!(got, want);
}

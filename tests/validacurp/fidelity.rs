//! validacurp against seed 001 read letter by letter: what the other
//! validacurp tests do not pin (what is not a trailing comma, which token
//! wins, the `pruebas` token, the personas).

use serde_json::{json, Value};

use crate::common::{Resp, Sandbox};

const BEARER: (&str, &str) = ("authorization", "Bearer audit-token");
const JSON: (&str, &str) = ("content-type", "application/json");

/// The document's static test payload ("Pruebas"), as the sandbox serves it.
fn pruebas_payload() -> Value {
    json!({
        "error": false, "code_error": 0, "error_message": "",
        "response": {
            "Applicant": {
                "CURP": "XAXX010101XAXAXA00", "Names": "Nombre de prueba",
                "LastName": "Apellido paterno de prueba",
                "SecondLastName": "Apellido materno de prueba",
                "GenderKey": "H", "Gender": "Hombre", "DateOfBirth": "01/01/1990",
                "Nacionality": "MEX", "CodeEntityBirth": "DF",
                "EntityBirth": "Ciudad de México", "KeyEvidentiaryDocument": 1,
                "EvidentiaryDocument": "Documento de pruebas", "CurpStatusKey": "XX",
                "StatusKey": "Estatus de prueba"
            },
            "EvidentiaryDocument": {
                "YearRegistration": 9999, "KeyIssuingEntity": 999,
                "KeyMunicipalityRegistration": 999, "MunicipalityRegistration": null,
                "Foja": 1, "FolioLetter": 0, "Book": null, "CertificateNumber": 985,
                "RegistrantNumber": 1, "RegistrationEntity": "México",
                "ForeignRegistrationNumber": "", "Volume": 0
            }
        }
    })
}

/// The envelope of the sandbox's own "not JSON" 400 (README, Decisions:
/// "The engine's own errors (non-JSON body, …) use the envelope with
/// `code_error: 0`").
#[track_caller]
fn assert_not_json(r: &Resp, body: &str) {
    let text: String = r.text().chars().take(160).collect();
    assert_eq!(
        r.status,
        400,
        "body {body:?} is not JSON, yet it was answered {} ({}): {text}…",
        r.status,
        r.scenario()
    );
    assert_eq!(
        r.scenario(),
        "malformed_body",
        "body {body:?}: {}",
        r.text()
    );
    let b = r.json();
    assert_eq!(b["error"], true);
    assert_eq!(b["code_error"], 0);
    assert_eq!(b["error_message"], b["msn"]);
}

// README, Decisions, "Example requests are accepted as printed": "Several
// documents print JSON with a trailing comma (`{"curp": "…",}`) or a number
// with a leading zero (`"state": 01`). Bodies are parsed strictly; when that
// fails, one more try forgives exactly those two flaws. … Anything else that
// is not JSON gets the provider's 400." seeds/README.md, validacurp (001):
// "Strict JSON parsing; a body that is not JSON gets 400 with the envelope
// and a clear message."
//
// A comma with no member before it (`{,}`, `[,]`) is not a trailing comma
// (a comma after the last element: `{,}` is a syntax error even where
// trailing commas are allowed, as in JSON5 or JavaScript, and `[,]` is an
// array with one hole there, not an empty one). Observed: the forgiving pass
// drops any comma followed by `}` or `]` (src/request.rs, `forgive`), so
// `{,}` reads as `{}`: getEntities answers 200 with the 32 entities, and
// `{"token": …, "a": {,}}` is accepted too.
#[tokio::test]
async fn a_comma_with_no_member_before_it_is_not_a_trailing_comma() {
    let sb = Sandbox::start().await;
    // The document's own flaw stays forgiven.
    let r = sb
        .send(
            "POST",
            "/curp/getEntities",
            &[JSON],
            "{\"token\": \"pruebas\",\n}",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for body in [
        "{,}",
        "{ , }",
        "[,]",
        "{\"token\": \"audit-token\", \"a\": {,}}",
    ] {
        let r = sb
            .send("POST", "/curp/getEntities", &[JSON, BEARER], body)
            .await;
        assert_not_json(&r, body);
    }
}

// README (validacurp): "The token is `Authorization: Bearer T` or `"token":
// T` in the body (JSON or form); the header wins when both are sent."
#[tokio::test]
async fn the_header_token_wins_over_the_body_token() {
    let sb = Sandbox::start().await;
    let curp = json!({"curp": "PXNE660720HMCXTN06"});
    // A rejected header token is not rescued by the test token in the body.
    let mut body = curp.clone();
    body["token"] = json!("pruebas");
    let r = sb
        .post(
            "/api/v2/curp/validateCurpStructure",
            &[("authorization", "Bearer suspended-token")],
            body,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["code_error"], 3, "{}", r.text());
    assert_eq!(r.scenario(), "suspended");
    // The test token in the header wins over a rejected one in the body
    // (in a form body too).
    let mut body = curp.clone();
    body["token"] = json!("blocked-token");
    let r = sb
        .post(
            "/curp/validateCurpStructure",
            &[("authorization", "Bearer pruebas")],
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["response"], json!({"valido": "pruebas"}));
    let r = sb
        .send(
            "POST",
            "/curp/getData",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", "Bearer pruebas"),
            ],
            "token=invalid-token&curp=PXNE660720HMCXTN06",
        )
        .await;
    assert_eq!(r.json(), pruebas_payload(), "{}", r.text());
}

// README, Decisions: "The test-mode section wins (SPEC §2): `pruebas` gets
// the static payload and `"valido": "pruebas"`, even without a `curp`".
#[tokio::test]
async fn pruebas_answers_without_a_curp() {
    let sb = Sandbox::start().await;
    let pruebas = ("authorization", "Bearer pruebas");
    for body in ["", "{}", "{\"curp\": null}", "{\"curp\": \"  \"}"] {
        let r = sb
            .send("POST", "/curp/getData", &[JSON, pruebas], body)
            .await;
        assert_eq!(r.status, 200, "{body:?}: {}", r.text());
        assert_eq!(r.scenario(), "pruebas");
        assert_eq!(r.json(), pruebas_payload(), "{body:?}");
        let r = sb
            .send(
                "POST",
                "/api/v2/curp/validateCurpStructure",
                &[JSON, pruebas],
                body,
            )
            .await;
        assert_eq!(r.status, 200, "{body:?}: {}", r.text());
        assert_eq!(
            r.json(),
            json!({"error": false, "code_error": 0, "error_message": null, "response": {"valido": "pruebas"}})
        );
    }
}

// README, "The people behind the CURPs": `MEGR380412MJCDRS07` is "BD,
// deceased", `GAPA950819HGTLRR07` "not found anywhere (`scenario:
// not_found`)"; validacurp: "`not_found` | getData | code 300, `response`
// `{"error": "La CURP no se encuentra en la base de datos"}`", and the status
// text comes from the document's "Claves del estatus" table.
#[tokio::test]
async fn personas_answer_get_data_with_their_status_or_their_scenario() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            "/curp/getData",
            &[BEARER],
            json!({"curp": "MEGR380412MJCDRS07"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = &r.json()["response"]["Applicant"];
    assert_eq!(a["CurpStatusKey"], "BD");
    assert_eq!(a["StatusKey"], "Baja por Defunción");
    assert_eq!(a["DateOfBirth"], "1938-04-12");
    assert_eq!(a["Gender"], "Mujer");

    let r = sb
        .post(
            "/api/v2/curp/getData",
            &[BEARER],
            json!({"curp": "GAPA950819HGTLRR07"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.scenario(), "not_found");
    assert_eq!(
        r.text(),
        serde_json::to_string(&json!({
            "error": true,
            "code_error": 300,
            "error_message": "Error de RENAPO. En la respuesta se especifica que tipo de error es.",
            "msn": "Error de RENAPO. En la respuesta se especifica que tipo de error es.",
            "response": {"error": "La CURP no se encuentra en la base de datos"}
        }))
        .unwrap()
    );
    // validateCurpStructure has no not-found answer: the persona's CURP is
    // judged by its structure, which is valid.
    let r = sb
        .post(
            "/curp/validateCurpStructure",
            &[BEARER],
            json!({"curp": "GAPA950819HGTLRR07"}),
        )
        .await;
    assert_eq!(
        r.json()["response"],
        json!({"valido": true}),
        "{}",
        r.text()
    );
}

//! curpv5 (seed 003) against the real server.

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{config, Resp, Sandbox};

mod fidelity;

const PATH: &str = "/api/curp/bycurp";
const KEY: (&str, &str) = ("apikey", "test-key");
const CURP: &str = "PXNE660720HMCXTN06";

/// Every response field of seed 003, in the document's order.
const FIELDS: [&str; 21] = [
    "isCURPValid",
    "curp",
    "lastName",
    "secondLastName",
    "firstName",
    "gender",
    "birthDate",
    "birthState",
    "nationalityCode",
    "proofDocumentType",
    "curpStatus",
    "inputDigest",
    "outputDigest",
    "timeStamp",
    "timeStampDigest",
    "validationDate",
    "ccbResponseCode",
    "ccbResponseDescription",
    "renapoResponseCode",
    "renapoResponseDescription",
    "warning",
];

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// A request for `CURP` answered with the scenario `name`.
async fn forced(sb: &Sandbox, name: &str) -> Resp {
    sb.post(
        PATH,
        &[KEY, ("x-sandbox-scenario", name)],
        json!({ "curp": CURP }),
    )
    .await
}

/// Asserts the error shape `{"error": code, "message": text}` and status.
fn assert_error(r: &Resp, status: u16, code: &str, message: &str) {
    assert_eq!(r.status, status, "{code}: {}", r.text());
    assert_eq!(r.json(), json!({"error": code, "message": message}));
}

#[tokio::test]
async fn success_has_every_documented_field() {
    let sb = Sandbox::start().await;
    let r = sb.post(PATH, &[KEY], json!({"curp": CURP})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "success");
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let b = r.json();
    assert_eq!(keys(&b), FIELDS);
    assert_eq!(b["isCURPValid"], true);
    assert_eq!(b["curp"], CURP);
    assert_eq!(b["lastName"], "PEÑA");
    assert_eq!(b["secondLastName"], "NIETO");
    assert_eq!(b["firstName"], "ENRIQUE");
    assert_eq!(b["gender"], "M");
    assert_eq!(b["birthDate"], "20/07/1966");
    assert_eq!(b["birthState"], "MC");
    assert_eq!(b["nationalityCode"], "MEX");
    assert!(
        b["proofDocumentType"].is_u64(),
        "{}",
        b["proofDocumentType"]
    );
    assert!(
        [1, 3, 4, 7].contains(&b["proofDocumentType"].as_u64().unwrap()),
        "documented proof types are 1, 3, 4, 7"
    );
    let status = b["curpStatus"].as_str().unwrap();
    assert!(
        ["AN", "AH", "RCN", "RCC", "BD", "BSU", "BAP", "BDM", "BDP", "BJD"].contains(&status),
        "{status}"
    );
    for digest in ["inputDigest", "outputDigest", "timeStampDigest"] {
        let d = b[digest].as_str().unwrap();
        assert_eq!(d.len(), 64, "{digest} is SHA-256 hex");
        assert!(d
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
    assert!(b["timeStamp"].is_string());
    assert_eq!(b["validationDate"], "2024-05-15T10:00:00-06:00");
    assert_eq!(b["ccbResponseCode"], "CRGEN000");
    assert_eq!(
        b["ccbResponseDescription"],
        "El proceso de validación se ha realizado exitosamente."
    );
    assert_eq!(b["renapoResponseCode"], "");
    assert_eq!(b["renapoResponseDescription"], "");
    assert_eq!(b["warning"], json!([]));
}

#[tokio::test]
async fn digests_and_timestamp() {
    let sb = Sandbox::start().await;
    let body = format!(r#"{{ "curp" : "{CURP}" }}"#);
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/json")],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    // inputDigest is the SHA-256 of exactly the bytes sent, spaces included.
    assert_eq!(b["inputDigest"], sha256_hex(body.as_bytes()));
    // timeStamp is base64 bytes of the validation date.
    let stamp = base64::engine::general_purpose::STANDARD
        .decode(b["timeStamp"].as_str().unwrap())
        .expect("timeStamp is base64");
    let validation_date = b["validationDate"].as_str().unwrap();
    assert_eq!(String::from_utf8(stamp).unwrap(), validation_date);
    assert_eq!(b["timeStampDigest"], sha256_hex(validation_date.as_bytes()));
    // outputDigest covers the person data stated (README decision).
    assert_eq!(b["outputDigest"], stated_digest(&b));
    // A RENAPO error states no person: its digest covers the blank fields.
    let renapo = sb
        .post(
            PATH,
            &[KEY, ("X-Sandbox-Scenario", "renapo_01_06")],
            json!({ "curp": CURP }),
        )
        .await
        .json();
    assert_eq!(renapo["outputDigest"], stated_digest(&renapo));
    assert_ne!(renapo["outputDigest"], b["outputDigest"]);

    // A different body gives a different input digest; the same CURP the
    // same output digest.
    let r2 = sb.post(PATH, &[KEY], json!({ "curp": CURP })).await;
    let b2 = r2.json();
    assert_ne!(b2["inputDigest"], b["inputDigest"]);
    assert_eq!(b2["outputDigest"], b["outputDigest"]);

    // The timestamp follows the sandbox clock.
    sb.advance("1h").await;
    let b3 = sb.post(PATH, &[KEY], json!({ "curp": CURP })).await.json();
    assert_eq!(b3["validationDate"], "2024-05-15T11:00:00-06:00");
    let stamp = base64::engine::general_purpose::STANDARD
        .decode(b3["timeStamp"].as_str().unwrap())
        .unwrap();
    assert_eq!(stamp, b"2024-05-15T11:00:00-06:00");
    // Its digest too (made once per second per worker, and made again here).
    assert_eq!(
        b3["timeStampDigest"],
        sha256_hex(b"2024-05-15T11:00:00-06:00")
    );
}

#[tokio::test]
async fn gender_maps_h_to_m_and_m_to_f() {
    let sb = Sandbox::start().await;
    for (curp, gender) in [
        ("PXNE660720HMCXTN06", "M"),
        ("SOCH790615MPLTVR04", "F"),
        ("GOMA850101MJCMRN06", "F"),
        ("LOPE900202HDFPRR02", "M"),
    ] {
        let r = sb.post(PATH, &[KEY], json!({ "curp": curp })).await;
        assert_eq!(r.status, 200, "{curp}: {}", r.text());
        let b = r.json();
        assert_eq!(b["gender"], gender, "{curp}");
        assert_eq!(b["curp"], curp);
    }
}

#[tokio::test]
async fn missing_apikey_is_curpsv001() {
    let sb = Sandbox::start().await;
    let r = sb.post(PATH, &[], json!({"curp": CURP})).await;
    assert_error(
        &r,
        401,
        "CURPSV001",
        "Access Denied. ApiKey header not found.",
    );
    assert_eq!(r.scenario(), "missing_credentials");
    // An empty key is no key.
    let r = sb
        .post(PATH, &[("apikey", "  ")], json!({"curp": CURP}))
        .await;
    assert_error(
        &r,
        401,
        "CURPSV001",
        "Access Denied. ApiKey header not found.",
    );
}

#[tokio::test]
async fn magic_invalid_apikey_is_curpsv002() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(PATH, &[("apikey", "invalid-apikey")], json!({"curp": CURP}))
        .await;
    assert_error(&r, 401, "CURPSV002", "Access Denied. Invalid ApiKey.");
    assert_eq!(r.scenario(), "invalid_credentials");
    // A key with bytes past ASCII is there, and no key anyone was given.
    let r = sb
        .post(PATH, &[("apikey", "clave-ñ")], json!({"curp": CURP}))
        .await;
    assert_error(&r, 401, "CURPSV002", "Access Denied. Invalid ApiKey.");
}

#[tokio::test]
async fn malformed_curp_is_curpsv004() {
    let sb = Sandbox::start().await;
    for bad in [
        "PXNE660720HMCXTN0",
        "12345",
        "PXNE660720ZMCXTN06",
        "PXNE66O720HMCXTN06",
    ] {
        let r = sb.post(PATH, &[KEY], json!({ "curp": bad })).await;
        assert_error(&r, 400, "CURPSV004", "Invalid Format on CURP.");
        assert_eq!(r.scenario(), "invalid_format");
    }
    // There, but not text: a format error, not a missing field.
    for bad in [
        json!(123),
        json!([CURP]),
        json!({"curp": CURP}),
        json!(true),
    ] {
        let r = sb.post(PATH, &[KEY], json!({ "curp": bad })).await;
        assert_error(&r, 400, "CURPSV004", "Invalid Format on CURP.");
    }
    // A persona is someone, even one that fails the rules (nss's placeholder).
    let r = sb
        .post(PATH, &[KEY], json!({ "curp": "ABCD570805HYNHLC52" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["curp"], "ABCD570805HYNHLC52");
    // Lower case is read as the CURP it spells.
    let r = sb
        .post(PATH, &[KEY], json!({ "curp": CURP.to_lowercase() }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["curp"], CURP);
}

#[tokio::test]
async fn missing_curp_is_curpsv005() {
    let sb = Sandbox::start().await;
    for body in [
        json!({}),
        json!({"curp": ""}),
        json!({"curp": null}),
        json!({"other": CURP}),
        // Blank: spaces, a tab, a no-break space.
        json!({"curp": "   "}),
        json!({"curp": "\t"}),
        json!({"curp": "\u{a0}"}),
    ] {
        let r = sb.post(PATH, &[KEY], body.clone()).await;
        assert_error(&r, 400, "CURPSV005", "Curp field is required.");
        assert_eq!(r.scenario(), "missing_field", "{body}");
    }
    // No body at all.
    let r = sb.send("POST", PATH, &[KEY], "").await;
    assert_error(&r, 400, "CURPSV005", "Curp field is required.");
}

#[tokio::test]
async fn every_error_code_by_scenario() {
    let sb = Sandbox::start().await;
    for (scenario, status, code, message) in [
        (
            "missing_credentials",
            401,
            "CURPSV001",
            "Access Denied. ApiKey header not found.",
        ),
        (
            "invalid_credentials",
            401,
            "CURPSV002",
            "Access Denied. Invalid ApiKey.",
        ),
        (
            "source_connection_error",
            503,
            "CURPSV003",
            "Source Service has a connection problem.",
        ),
        (
            "invalid_format",
            400,
            "CURPSV004",
            "Invalid Format on CURP.",
        ),
        ("missing_field", 400, "CURPSV005", "Curp field is required."),
        ("unavailable", 503, "CURPSV006", "Service is not available."),
        ("timeout", 504, "CURPSV007", "Service timed out."),
        ("internal_error", 500, "CURPSV008", "Internal server error."),
        (
            "not_found",
            404,
            "CURPSV009",
            "The CURP does not exist in the RENAPO database or have problem to validate.",
        ),
    ] {
        let r = forced(&sb, scenario).await;
        assert_error(&r, status, code, message);
        assert_eq!(r.scenario(), scenario);
    }
}

#[tokio::test]
async fn every_curp_status_by_scenario() {
    let sb = Sandbox::start().await;
    for (scenario, status) in crate::common::CURP_STATUSES {
        let r = forced(&sb, scenario).await;
        assert_eq!(r.status, 200, "{scenario}: {}", r.text());
        assert_eq!(r.scenario(), scenario);
        let b = r.json();
        assert_eq!(keys(&b), FIELDS, "{scenario}");
        assert_eq!(b["curpStatus"], status, "{scenario}");
        assert_eq!(b["isCURPValid"], true);
        assert_eq!(b["curp"], CURP);
        assert_eq!(b["ccbResponseCode"], "CRGEN000");
    }
}

#[tokio::test]
async fn every_renapo_code_by_scenario() {
    const OK: (&str, &str) = (
        "CRGEN000",
        "El proceso de validación se ha realizado exitosamente.",
    );
    const PATTERN: (&str, &str) = (
        "CRCPR001",
        "El campo CURP no cumple con el patrón de validación",
    );
    const CONNECT: (&str, &str) = ("CRCPR002", "Error al conectarse con el servicio de RENAPO");
    let sb = Sandbox::start().await;
    let table = [
        ("01-06", "La CURP no se encuentra en la base de datos", OK),
        ("01-08", "El documento probatorio está mal formado", OK),
        ("01-09", "La llave CURP no está bien formada", PATTERN),
        (
            "01-14",
            "No se pudo realizar su consulta, inténtelo nuevamente más tarde",
            CONNECT,
        ),
        ("01-15", "No se pudo desplegar los factores", OK),
        ("01-18", "Usuario no válido", OK),
        ("02-01", "Error al invocar al sistema de eCURP", CONNECT),
        ("02-02", "Error al invocar al sistema de eCURP", CONNECT),
        ("02-03", "Error al invocar al sistema de eCURP", CONNECT),
        (
            "03-01",
            "CURP No cumple con el formato especificado",
            PATTERN,
        ),
        (
            "04-01",
            "La conexión con LDAP no se ha podido establecer satisfactoriamente",
            CONNECT,
        ),
        (
            "05-01",
            "Error al procesar los parámetros de salida XML",
            CONNECT,
        ),
    ];
    for (code, description, (ccb, ccb_description)) in table {
        let scenario = format!("renapo_{}", code.replace('-', "_"));
        let r = forced(&sb, &scenario).await;
        assert_eq!(r.status, 200, "{scenario}: {}", r.text());
        assert_eq!(r.scenario(), scenario);
        let b = r.json();
        assert_eq!(keys(&b), FIELDS, "{scenario}");
        assert_eq!(b["isCURPValid"], false, "{scenario}");
        assert_eq!(b["curp"], CURP);
        assert_eq!(b["renapoResponseCode"], code);
        assert_eq!(b["renapoResponseDescription"], description);
        assert_eq!(b["ccbResponseCode"], ccb, "{scenario}");
        assert_eq!(b["ccbResponseDescription"], ccb_description, "{scenario}");
        assert_eq!(b["curpStatus"], "");
        assert_eq!(b["proofDocumentType"], 0);
    }
    // Every renapo_* scenario of the catalog is one of the seed's codes.
    let catalog = sb.admin_get("/__admin/scenarios").await;
    let renapo: Vec<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["provider"] == "curpv5")
        .filter_map(|s| s["name"].as_str())
        .filter(|n| n.starts_with("renapo_"))
        .collect();
    assert_eq!(renapo.len(), table.len(), "{renapo:?}");

    let r = forced(&sb, "ccb_required").await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["isCURPValid"], false);
    assert_eq!(b["ccbResponseCode"], "CRCPR003");
    assert_eq!(
        b["ccbResponseDescription"],
        "El campo CURP es un parámetro requerido"
    );
    // A CCB error without a RENAPO code states no person either.
    assert_eq!(b["curp"], CURP);
    assert_eq!(b["lastName"], "");
    assert_eq!(b["outputDigest"], stated_digest(&b));
}

#[tokio::test]
async fn apikey_header_in_any_case() {
    let sb = Sandbox::start().await;
    for name in ["apikey", "ApiKey", "APIKEY", "apiKey"] {
        let r = sb
            .post(PATH, &[(name, "some-key")], json!({ "curp": CURP }))
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let r = sb
            .post(PATH, &[(name, "invalid-apikey")], json!({ "curp": CURP }))
            .await;
        assert_error(&r, 401, "CURPSV002", "Access Denied. Invalid ApiKey.");
    }
}

// SPEC §2 / README curpv5: under --strict-auth only `sandbox-apikey` is
// taken (in any header case, as the seed's curl sends `ApiKey`); any other
// key is CURPSV002.
#[tokio::test]
async fn curpv5_strict_auth_takes_only_the_listed_apikey() {
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        strict_auth: true,
        ..config()
    })
    .await;
    let body = json!({ "curp": CURP });
    for name in ["apikey", "ApiKey"] {
        let r = sb
            .post(PATH, &[(name, "sandbox-apikey")], body.clone())
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let r = sb
            .post(PATH, &[(name, "_apiKeyValue_")], body.clone())
            .await;
        assert_error(&r, 401, "CURPSV002", "Access Denied. Invalid ApiKey.");
        assert_eq!(r.scenario(), "invalid_credentials");
    }
}

#[tokio::test]
async fn path_in_any_case() {
    let sb = Sandbox::start().await;
    for path in ["/api/Curp/byCurp", "/API/CURP/BYCURP", "/Api/curp/ByCurp"] {
        let r = sb.post(path, &[KEY], json!({ "curp": CURP })).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["curp"], CURP);
    }
}

#[tokio::test]
async fn form_bodies() {
    let sb = Sandbox::start().await;
    let body = format!("curp={CURP}");
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/x-www-form-urlencoded")],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["curp"], CURP);
    assert_eq!(b["inputDigest"], sha256_hex(body.as_bytes()));

    let multipart = format!(
        "--BoUnDaRy\r\nContent-Disposition: form-data; name=\"curp\"\r\n\r\n{CURP}\r\n--BoUnDaRy--\r\n"
    );
    let r = sb
        .send(
            "POST",
            PATH,
            &[
                KEY,
                ("content-type", "multipart/form-data; boundary=BoUnDaRy"),
            ],
            multipart,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["curp"], CURP);

    // The input checks apply to form bodies too.
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/x-www-form-urlencoded")],
            "curp=NOPE",
        )
        .await;
    assert_error(&r, 400, "CURPSV004", "Invalid Format on CURP.");
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/x-www-form-urlencoded")],
            "name=x",
        )
        .await;
    assert_error(&r, 400, "CURPSV005", "Curp field is required.");
}

#[tokio::test]
async fn the_documented_curl_example_as_printed() {
    let sb = Sandbox::start().await;
    // The seed's curl: `ApiKey`, JSON with a trailing comma.
    let body = format!("{{\n\"curp\": \"{CURP}\",\n}}");
    let r = sb
        .send(
            "POST",
            PATH,
            &[
                ("ApiKey", "_apiKeyValue_"),
                ("Content-Type", "application/json"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["curp"], CURP);
    assert_eq!(b["inputDigest"], sha256_hex(body.as_bytes()));
    // `curl -d` without a content type says urlencoded; JSON is still read.
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn provider_shaped_engine_errors() {
    let sb = Sandbox::start().await;
    // Malformed JSON.
    let r = sb
        .send(
            "POST",
            PATH,
            &[KEY, ("content-type", "application/json")],
            "{\"curp\": ",
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let b = r.json();
    assert_eq!(keys(&b), ["error", "message"]);
    assert_eq!(b["error"], "BAD_REQUEST");
    // Unknown path under the provider's prefix.
    let r = sb.post("/api/curp/byname", &[KEY], json!({})).await;
    assert_eq!(r.status, 404);
    let b = r.json();
    assert_eq!(keys(&b), ["error", "message"]);
    assert_eq!(b["error"], "NOT_FOUND");
    // Wrong method.
    let r = sb.get(PATH, &[KEY]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(r.json()["error"], "METHOD_NOT_ALLOWED");
}

/// SHA-256 of the person fields an answer states, as the README defines
/// outputDigest.
pub(crate) fn stated_digest(b: &Value) -> String {
    let text = |k: &str| match &b[k] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // `curp` … `curpStatus`: the person fields of the document's order.
    let stated = FIELDS[1..11]
        .iter()
        .map(|k| text(k))
        .collect::<Vec<_>>()
        .join("|");
    sha256_hex(stated.as_bytes())
}

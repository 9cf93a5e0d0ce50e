//! validacurp (seed 001, Valida CURP v2) against the real server.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::{config, on_scenario_files, RemovedOnDrop, Resp, Sandbox};

mod fidelity;

const METHODS: [&str; 4] = [
    "validateCurpStructure",
    "getData",
    "calculateCURP",
    "getEntities",
];
const TOKEN: &str = "test-token";
const BEARER: (&str, &str) = ("authorization", "Bearer test-token");
const EXAMPLE: &str = "PXNE660720HMCXTN06";
/// A real, strictly valid CURP that no persona lists.
const SYNTHETIC: &str = "GOMC850312HJCNRR05";

/// The document's calculateCURP request, as printed (trailing comma included).
const CALC_EXAMPLE: &str = r#"{
    "names" : "enrique",
	"lastName" : "peña",
	"secondLastName" : "nieto",
	"birthday" : "20",
	"birthMonth" : "07",
	"yearBirth" : "1966",
	"gender" : "H",
	"entity" : "15",
	"token" : "pruebas",
}"#;

/// The document's "Pruebas" getData answer, as printed.
const PRUEBAS_DATA: &str = r#"{
	"error":false,
	"code_error":0,
	"error_message":"",
	"response" : {
		"Applicant" : {
			"CURP":"XAXX010101XAXAXA00",
			"Names":"Nombre de prueba",
			"LastName":"Apellido paterno de prueba",
			"SecondLastName":"Apellido materno de prueba",
			"GenderKey":"H",
			"Gender":"Hombre",
			"DateOfBirth":"01\/01\/1990",
			"Nacionality":"MEX",
			"CodeEntityBirth":"DF",
			"EntityBirth":"Ciudad de México",
			"KeyEvidentiaryDocument":1,
			"EvidentiaryDocument":"Documento de pruebas",
			"CurpStatusKey":"XX",
			"StatusKey":"Estatus de prueba"
		},
		"EvidentiaryDocument" : {
			"YearRegistration":9999,
			"KeyIssuingEntity":999,
			"KeyMunicipalityRegistration":999,
			"MunicipalityRegistration":null,
			"Foja":1,
			"FolioLetter":0,
			"Book":null,
			"CertificateNumber":985,
			"RegistrantNumber":1,
			"RegistrationEntity":"México",
			"ForeignRegistrationNumber":"",
			"Volume":0
		}
	}
}"#;

/// The document's getData answer for PXNE660720HMCXTN06, as printed.
const EXAMPLE_DATA: &str = r#"{
	"error":false,
	"code_error":0,
	"error_message":"",
	"response": {
		"Applicant": {
			"CURP":"PXNE660720HMCXTN06",
			"Names":"ENRIQUE",
			"LastName":"PEÑA",
			"SecondLastName":"NIETO",
			"GenderKey":"H",
			"Gender":"Hombre",
			"DateOfBirth":"1966-07-20",
			"Nacionality":"MEX",
			"CodeEntityBirth":"",
			"EntityBirth":"",
			"KeyEvidentiaryDocument":1,
			"EvidentiaryDocument":"Acta de nacimiento",
			"CurpStatusKey":"RCN",
			"StatusKey":"Registro de cambio no afectando a CURP"
		},
		"EvidentiaryDocument": {
			"YearRegistration":1966,
			"KeyIssuingEntity":"",
			"KeyMunicipalityRegistration":14,
			"MunicipalityRegistration":"",
			"Foja":0,
			"FolioLetter":"",
			"Book":0,
			"CertificateNumber":985,
			"RegistrantNumber":15,
			"RegistrationEntity":"México",
			"ForeignRegistrationNumber":"",
			"Volume":0
		}
	}
}"#;

/// Every code of the document's error table, with its message as printed.
const CODES: [(u64, &str); 26] = [
    (
        1,
        "La IP/token ha sido bloqueada por que no cumple con nuestros términos y condiciones",
    ),
    (2, "El token del proyecto es inválido"),
    (
        3,
        "El proyecto se encuentra suspendido. Si cree que es un error favor de reportar a soporte",
    ),
    (
        4,
        "Se han agotado sus consultas. Favor de adquirir un nuevo paquete",
    ),
    (100, "No se recibió el curp a validar"),
    (101, "La estructura del curp es inválido"),
    (200, "Error de conexión a RENAPO."),
    (
        300,
        "Error de RENAPO. En la respuesta se especifica que tipo de error es.",
    ),
    (400, "No se recibieron los nombres"),
    (401, "No se recibió el apellido paterno"),
    (402, "No se recibió el apellido materno"),
    (403, "No se recibió el día de nacimiento"),
    (404, "No se recibió el mes de nacimiento"),
    (405, "No se recibió el año de nacimiento"),
    (406, "No se recibió el sexo de la persona"),
    (407, "No se recibió la entidad de nacimiento"),
    (408, "El día de nacimiento debe ser numérico"),
    (409, "El mes de nacimiento debe ser numérico"),
    (410, "El año de nacimiento debe ser numérico"),
    (411, "El día de nacimiento deben ser 2 dígitos"),
    (412, "El mes de nacimiento deben ser 2 dígitos"),
    (413, "El mes de nacimiento deben ser 2 dígitos"),
    (414, "El año de nacimiento deben ser 4 dígitos"),
    (415, "El sexo es incorrecto, debe ser H o M"),
    (416, "La clave de entidad es inválida"),
    (
        417,
        "Error inesperado. En la respuesta indica el tipo de error.",
    ),
];

/// The "Claves del estatus" table of the document.
const STATUSES: [(&str, &str); 10] = [
    ("AN", "Alta Normal"),
    ("AH", "Alta con Homonimia"),
    ("RCN", "Registro de Cambio No afectando a CURP"),
    ("RCC", "Registro de Cambio Afectando a CURP"),
    ("BD", "Baja por Defunción"),
    ("BSU", "Baja Sin Uso"),
    ("BAP", "Baja por Documento Apócrifo"),
    ("BDM", "Baja Administrativa"),
    ("BDP", "Baja por Adopción"),
    ("BJD", "Baja Judicial"),
];

fn message(code: u64) -> &'static str {
    CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, m)| *m)
        .unwrap_or_else(|| panic!("no documented code {code}"))
}

/// Sends a raw JSON text (as the document prints its examples).
async fn raw(sb: &Sandbox, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    sb.send("POST", path, &h, body.to_string()).await
}

/// calculateCURP's body for the document's example person, with a token.
pub(crate) fn calc_body() -> Value {
    json!({
        "names": "enrique",
        "lastName": "peña",
        "secondLastName": "nieto",
        "birthday": "20",
        "birthMonth": "07",
        "yearBirth": "1966",
        "gender": "H",
        "entity": "15",
        "token": TOKEN
    })
}

async fn calc(sb: &Sandbox, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Resp {
    let mut body = calc_body();
    change(body.as_object_mut().unwrap());
    sb.post("/curp/calculateCURP", &[], body).await
}

/// Asserts the documented error envelope: HTTP 400, `error: true`, the code,
/// its message in `error_message` and in `msn`.
#[track_caller]
fn assert_error(r: &Resp, code: u64) {
    assert_eq!(r.status, 400, "{}", r.text());
    let b = r.json();
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["error", "code_error", "error_message", "msn", "response"],
        "{b}"
    );
    assert_eq!(b["error"], true, "{b}");
    assert_eq!(b["code_error"], code, "{b}");
    assert_eq!(b["error_message"], message(code), "{b}");
    assert_eq!(b["msn"], message(code), "{b}");
}

/// getData for `curp`, with the Bearer token.
async fn get_data(sb: &Sandbox, curp: &str) -> Resp {
    sb.post("/curp/getData", &[BEARER], json!({ "curp": curp }))
        .await
}

#[tokio::test]
async fn the_documents_example_requests_give_the_documented_answers() {
    let sb = Sandbox::start().await;
    // Pruebas: getData with the pruebas token answers the static test person.
    let r = raw(
        &sb,
        "/curp/getData",
        &[],
        "{\n\t\"token\": \"pruebas\",\n\t\"curp\": \"PXNE660720HMCXTN06\",\n}",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "pruebas");
    // In the document's key order (a `Value` comparison would not see it):
    // the text byte for byte, but for the JSON escaping of `\/` and the
    // whitespace.
    let want: Value = serde_json::from_str(PRUEBAS_DATA).unwrap();
    assert_eq!(r.text(), serde_json::to_string(&want).unwrap());
    // The general example of "Estructura del JSON".
    let r = raw(
        &sb,
        "/curp/getData",
        &[],
        "{\n    \"token\": \"pruebas\",\n    \"curp\": \"XAXX010101XAXAXA00\",\n}",
    )
    .await;
    assert_eq!(
        r.json(),
        serde_json::from_str::<Value>(PRUEBAS_DATA).unwrap()
    );

    // getData with a real token: the document's example person, exactly.
    let r = raw(
        &sb,
        "/curp/getData",
        &[],
        "{\n    \"token\": \"real-token\",\n    \"curp\": \"PXNE660720HMCXTN06\",\n}",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "success");
    assert_eq!(r.text(), {
        // Same values and the same key order as the document.
        let v: Value = serde_json::from_str(EXAMPLE_DATA).unwrap();
        serde_json::to_string(&v).unwrap()
    });

    // validateCurpStructure, as printed, with a real token and with pruebas.
    let body = "{\n    \"token\": \"TOKEN\",\n    \"curp\": \"PXNE660720HMCXTN06\",\n}";
    let r = raw(
        &sb,
        "/curp/validateCurpStructure",
        &[],
        &body.replace("TOKEN", "real-token"),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"error": false, "code_error": 0, "error_message": null, "response": {"valido": true}})
    );
    let r = raw(
        &sb,
        "/curp/validateCurpStructure",
        &[],
        &body.replace("TOKEN", "pruebas"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"error": false, "code_error": 0, "error_message": null, "response": {"valido": "pruebas"}})
    );

    // calculateCURP, as printed (token pruebas in the body).
    let r = raw(&sb, "/curp/calculateCURP", &[], CALC_EXAMPLE).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"error": false, "code_error": 0, "error_message": null, "response": {"curp": "PXNE660720HMCXTN06"}})
    );
    // The same data with a real token is the same calculation.
    let r = raw(
        &sb,
        "/curp/calculateCURP",
        &[],
        &CALC_EXAMPLE.replace("pruebas", "real-token"),
    )
    .await;
    assert_eq!(r.scenario(), "success");
    assert_eq!(r.json()["response"]["curp"], EXAMPLE);
    // The two digits typed as a JSON number (`07`, not JSON strictly) are
    // the two digits the field asks for; `7` is one digit (412).
    for (month, expected) in [("07", None), ("7", Some(412))] {
        let body = CALC_EXAMPLE
            .replace("pruebas", "real-token")
            .replace(r#""07""#, month);
        assert_ne!(body, CALC_EXAMPLE.replace("pruebas", "real-token"));
        let r = raw(&sb, "/curp/calculateCURP", &[], &body).await;
        match expected {
            None => assert_eq!(r.json()["response"]["curp"], EXAMPLE, "{}", r.text()),
            Some(code) => assert_error(&r, code),
        }
    }

    // getEntities, "the JSON with only the token".
    let r = raw(&sb, "/curp/getEntities", &[], "{\"token\": \"pruebas\"}").await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["error"], false);
    assert_eq!(b["code_error"], 0);
    assert_eq!(b["error_message"], Value::Null);
    let list = b["response"]["clave_entidad"].as_array().unwrap();
    assert_eq!(
        list[..4],
        [
            json!({"clave_entidad": "01", "nombre_entidad": "AGUASCALIENTES", "abreviatura_entidad": "AS"}),
            json!({"clave_entidad": "02", "nombre_entidad": "BAJA CALIFORNIA", "abreviatura_entidad": "BC"}),
            json!({"clave_entidad": "03", "nombre_entidad": "BAJA CALIFORNIA SUR", "abreviatura_entidad": "BS"}),
            json!({"clave_entidad": "04", "nombre_entidad": "CAMPECHE", "abreviatura_entidad": "CC"}),
        ]
    );
}

#[tokio::test]
async fn every_method_answers_at_both_paths_with_either_token_placement() {
    let sb = Sandbox::start().await;
    for method in METHODS {
        for prefix in ["/curp/", "/api/v2/curp/"] {
            // The official clients add these query parameters; they are ignored.
            let path =
                format!("{prefix}{method}?library=python&library_version=1.1.0&api_version=2");
            let mut body = calc_body();
            body["curp"] = json!(EXAMPLE);
            // In the body (JSON).
            let a = sb.post(&path, &[], body.clone()).await;
            assert_eq!(a.status, 200, "{path}: {}", a.text());
            assert_eq!(a.scenario(), "success", "{path}");
            // In the Authorization header.
            body.as_object_mut().unwrap().remove("token");
            let b = sb.post(&path, &[BEARER], body.clone()).await;
            assert_eq!(b.status, 200, "{path}: {}", b.text());
            assert_eq!(a.json(), b.json(), "{path}");
            // In a form body.
            let form = format!(
                "token={TOKEN}&curp={EXAMPLE}&names=enrique&lastName=pe%C3%B1a&secondLastName=nieto&birthday=20&birthMonth=07&yearBirth=1966&gender=H&entity=15"
            );
            let c = sb
                .send(
                    "POST",
                    &path,
                    &[("content-type", "application/x-www-form-urlencoded")],
                    form,
                )
                .await;
            assert_eq!(c.status, 200, "{path}: {}", c.text());
            assert_eq!(a.json(), c.json(), "{path}");
        }
    }
    // The journal knows which provider and endpoint answered.
    let j = sb
        .admin_get("/__admin/requests?provider=validacurp&limit=1000")
        .await;
    assert_eq!(j.as_array().unwrap().len(), 24);
}

#[tokio::test]
async fn a_missing_token_is_code_2_on_every_method() {
    let sb = Sandbox::start().await;
    for method in METHODS {
        let path = format!("/curp/{method}");
        let r = sb.post(&path, &[], json!({"curp": EXAMPLE})).await;
        assert_error(&r, 2);
        assert_eq!(r.scenario(), "missing_credentials");
        assert_eq!(r.json()["response"], Value::Null);
        // An empty token and a non-Bearer header are missing too.
        let r = sb
            .post(
                &path,
                &[("authorization", "Basic abc")],
                json!({"curp": EXAMPLE, "token": " "}),
            )
            .await;
        assert_error(&r, 2);
        // No body at all.
        let r = sb.send("POST", &path, &[], "").await;
        assert_error(&r, 2);
    }
}

// README, validacurp: "`Authorization: Bearer T`"; RFC 9110 §11.1: an
// auth scheme is case-insensitive, so `bearer T` and `BEARER T` carry the
// token as `Bearer T` does (a refused token in that form is refused: the
// token was read).
#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let sb = &Sandbox::start().await;
    let validate = |auth: String| async move {
        let r = sb
            .post(
                "/curp/validateCurpStructure",
                &[("authorization", &auth)],
                json!({"curp": EXAMPLE}),
            )
            .await;
        (auth, r)
    };
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let (auth, r) = validate(format!("{scheme} {TOKEN}")).await;
        assert_eq!(
            r.json(),
            json!({"error": false, "code_error": 0, "error_message": null, "response": {"valido": true}}),
            "{auth}"
        );
        let (auth, r) = validate(format!("{scheme} invalid-token")).await;
        assert_eq!(r.scenario(), "invalid_credentials", "{auth}: {}", r.text());
    }
}

#[tokio::test]
async fn magic_tokens_give_codes_1_to_4_on_every_method() {
    let sb = Sandbox::start().await;
    for method in METHODS {
        let path = format!("/api/v2/curp/{method}");
        for (token, code, scenario) in [
            ("blocked-token", 1, "blocked"),
            ("invalid-token", 2, "invalid_credentials"),
            ("suspended-token", 3, "suspended"),
            ("out-of-quota-token", 4, "out_of_quota"),
            // Past ASCII: a token, and not one anyone was given.
            ("token-ñ", 2, "invalid_credentials"),
        ] {
            let r = sb
                .post(&path, &[], json!({"curp": EXAMPLE, "token": token}))
                .await;
            assert_error(&r, code);
            assert_eq!(r.scenario(), scenario);
            let auth = format!("Bearer {token}");
            let r = sb
                .post(
                    &path,
                    &[("authorization", auth.as_str())],
                    json!({"curp": EXAMPLE}),
                )
                .await;
            assert_error(&r, code);
        }
    }
}

#[tokio::test]
async fn strict_auth_takes_only_the_listed_tokens() {
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        strict_auth: true,
        ..config()
    })
    .await;
    let r = sb
        .post(
            "/curp/getEntities",
            &[("authorization", "Bearer someone-else")],
            json!({}),
        )
        .await;
    assert_error(&r, 2);
    assert_eq!(r.scenario(), "invalid_credentials");
    for token in ["pruebas", "sandbox-token"] {
        let r = sb
            .post("/curp/getEntities", &[], json!({ "token": token }))
            .await;
        assert_eq!(r.status, 200, "{token}: {}", r.text());
    }
}

#[tokio::test]
async fn pruebas_answers_on_every_method() {
    let sb = Sandbox::start().await;
    let pruebas = [("authorization", "Bearer pruebas")];
    // validateCurpStructure: the word "pruebas", whatever the CURP.
    for curp in [EXAMPLE, "NOT-A-CURP"] {
        let r = sb
            .post(
                "/curp/validateCurpStructure",
                &pruebas,
                json!({ "curp": curp }),
            )
            .await;
        assert_eq!(r.scenario(), "pruebas");
        assert_eq!(r.json()["response"], json!({"valido": "pruebas"}));
    }
    // getData: the static test person, whatever the CURP.
    let r = sb
        .post("/curp/getData", &pruebas, json!({ "curp": SYNTHETIC }))
        .await;
    assert_eq!(
        r.json(),
        serde_json::from_str::<Value>(PRUEBAS_DATA).unwrap()
    );
    // calculateCURP: the real calculation, with its input checks.
    let mut body = calc_body();
    body["token"] = json!("pruebas");
    body["names"] = json!("ana");
    let r = sb.post("/curp/calculateCURP", &[], body.clone()).await;
    assert_eq!(r.scenario(), "pruebas");
    assert_eq!(r.json()["response"]["curp"], expected_ana());
    body["gender"] = json!("F");
    let r = sb.post("/curp/calculateCURP", &[], body).await;
    assert_error(&r, 415);
    // getEntities: the same 32 entities.
    let r = sb.post("/curp/getEntities", &pruebas, json!({})).await;
    assert_eq!(r.scenario(), "pruebas");
    assert_eq!(
        r.json()["response"]["clave_entidad"]
            .as_array()
            .unwrap()
            .len(),
        32
    );
    // The header still wins over the test switch.
    let r = sb
        .post(
            "/curp/getData",
            &[pruebas[0], ("x-sandbox-scenario", "deceased")],
            json!({ "curp": EXAMPLE }),
        )
        .await;
    assert_eq!(r.json()["response"]["Applicant"]["CurpStatusKey"], "BD");
}

/// What the CURP domain calculates for ANA PEÑA NIETO, H, 1966-07-20, México.
fn expected_ana() -> String {
    let input = mxid_sandbox::curp::CalcInput {
        names: "ana".into(),
        first_surname: "peña".into(),
        second_surname: "nieto".into(),
        birth_date: mxid_sandbox::time::Date::new(1966, 7, 20).unwrap(),
        sex: mxid_sandbox::curp::Sex::H,
        state: "MC".into(),
    };
    mxid_sandbox::curp::calculate(&input).unwrap()
}

#[tokio::test]
async fn validate_curp_structure_applies_the_strict_rules() {
    let sb = Sandbox::start().await;
    let valido = |r: &Resp| {
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["response"]["valido"].clone()
    };
    for (curp, expected) in [
        (EXAMPLE, true),
        (SYNTHETIC, true),
        ("pxne660720hmcxtn06", true),
        ("NAZA650704MTLVCL05", true),
        // Wrong check digit, impossible date, unknown state, bad pattern.
        ("PXNE660720HMCXTN05", false),
        ("PXNE661320HMCXTN01", false),
        ("PXNE660720HZZXTN06", false),
        ("PXNE660720HMCXTN0", false),
        ("12345", false),
        // The document's placeholder fails the strict rules.
        ("XAXX010101XAXAXA00", false),
    ] {
        let r = sb
            .post(
                "/curp/validateCurpStructure",
                &[BEARER],
                json!({ "curp": curp }),
            )
            .await;
        assert_eq!(valido(&r), json!(expected), "{curp}");
        assert_eq!(
            r.scenario(),
            if expected {
                "success"
            } else {
                "invalid_structure"
            }
        );
    }
    // Code 100: no CURP (absent, null, blank, or neither text nor a number,
    // as calculateCURP's fields are read), on getData as well.
    for body in [
        json!({}),
        json!({"curp": null}),
        json!({"curp": "  "}),
        json!({"curp": [EXAMPLE]}),
        json!({"curp": {"curp": EXAMPLE}}),
        json!({"curp": true}),
    ] {
        for path in ["/curp/validateCurpStructure", "/curp/getData"] {
            let r = sb.post(path, &[BEARER], body.clone()).await;
            assert_error(&r, 100);
            assert_eq!(r.scenario(), "missing_field", "{path}: {body}");
        }
    }
    // A number is read as its text: a CURP it cannot be.
    let r = sb
        .post("/curp/getData", &[BEARER], json!({"curp": 12345}))
        .await;
    assert_error(&r, 101);
    let r = sb
        .post(
            "/curp/validateCurpStructure",
            &[BEARER],
            json!({"curp": 12345}),
        )
        .await;
    assert_eq!(valido(&r), json!(false));
    assert_eq!(r.scenario(), "invalid_structure");
    // Code 101 is listed for this method too: reachable by name.
    let r = sb
        .post(
            "/curp/validateCurpStructure",
            &[BEARER, ("x-sandbox-scenario", "invalid_format")],
            json!({ "curp": EXAMPLE }),
        )
        .await;
    assert_error(&r, 101);
}

#[tokio::test]
async fn get_data_answers_the_person_in_the_documented_shape() {
    let sb = Sandbox::start().await;
    let r = get_data(&sb, SYNTHETIC).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    let doc: Value = serde_json::from_str(EXAMPLE_DATA).unwrap();
    // The same keys in the same order, and the same JSON types, as the
    // document's example.
    assert_eq!(b["error"], false);
    assert_eq!(b["error_message"], "");
    for section in ["Applicant", "EvidentiaryDocument"] {
        let got = b["response"][section].as_object().unwrap();
        let want = doc["response"][section].as_object().unwrap();
        let gk: Vec<&String> = got.keys().collect();
        let wk: Vec<&String> = want.keys().collect();
        assert_eq!(gk, wk, "{section}");
        for (k, v) in want {
            assert_eq!(
                std::mem::discriminant(v),
                std::mem::discriminant(&got[k]),
                "{section}.{k}: {} vs {}",
                v,
                got[k]
            );
        }
    }
    let a = &b["response"]["Applicant"];
    assert_eq!(a["CURP"], SYNTHETIC);
    assert_eq!(a["GenderKey"], "H");
    assert_eq!(a["Gender"], "Hombre");
    assert_eq!(a["DateOfBirth"], "1985-03-12");
    assert_eq!(a["CodeEntityBirth"], "JC");
    assert_eq!(a["EntityBirth"], "Jalisco");
    // The same CURP gives the same person every time.
    let again = get_data(&sb, SYNTHETIC).await;
    assert_eq!(again.json(), b);

    // Women and status descriptions from the document's table.
    let r = get_data(&sb, "NAZA650704MTLVCL05").await;
    let a = &r.json()["response"]["Applicant"];
    assert_eq!(a["Gender"], "Mujer");
    let code = a["CurpStatusKey"].as_str().unwrap().to_string();
    let text = STATUSES.iter().find(|(c, _)| *c == code).unwrap().1;
    assert_eq!(a["StatusKey"], text);
    // RENAPO's third sex, X (non-binary), which a CURP may carry.
    let r = get_data(&sb, "RILA900504XDFSNL04").await;
    let a = &r.json()["response"]["Applicant"];
    assert_eq!(a["GenderKey"], "X");
    assert_eq!(a["Gender"], "No binario");

    // Code 100 without a CURP, 101 for a malformed one: the pattern, and
    // RENAPO's rules (an impossible date, an unknown state).
    let r = sb.post("/curp/getData", &[BEARER], json!({})).await;
    assert_error(&r, 100);
    for bad in [
        "PXNE660720",
        "PXNE660720HMCXTN0A",
        "1234567890ABCDEFGH",
        "PXNE661320HMCXTN01",
        "PXNE660720HZZXTN06",
    ] {
        let r = get_data(&sb, bad).await;
        assert_error(&r, 101);
        assert_eq!(r.scenario(), "invalid_format");
    }
    // Every rule but the check digit holds: RENAPO never issued it (300).
    let r = get_data(&sb, "PXNE660720HMCXTN05").await;
    assert_error(&r, 300);
    assert_eq!(r.scenario(), "not_found");
    // A persona that fails the rules (nss's placeholder) is someone.
    let r = get_data(&sb, "ABCD570805HYNHLC52").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["response"]["Applicant"]["CURP"],
        "ABCD570805HYNHLC52"
    );
}

#[tokio::test]
async fn the_documents_placeholder_answers_its_static_data_whatever_the_token() {
    let sb = Sandbox::start().await;
    let r = get_data(&sb, "XAXX010101XAXAXA00").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "pruebas");
    assert_eq!(
        r.json(),
        serde_json::from_str::<Value>(PRUEBAS_DATA).unwrap()
    );
}

#[tokio::test]
async fn get_data_status_and_renapo_scenarios() {
    let sb = Sandbox::start().await;
    let names = [
        "active",
        "homonymy",
        "changed_data",
        "changed_curp",
        "deceased",
        "unused",
        "apocryphal",
        "administrative_removal",
        "adoption",
        "judicial_removal",
    ];
    for (name, (code, text)) in names.iter().zip(STATUSES) {
        let r = sb
            .post(
                "/curp/getData",
                &[BEARER, ("x-sandbox-scenario", name)],
                json!({ "curp": EXAMPLE }),
            )
            .await;
        assert_eq!(r.status, 200, "{name}");
        let a = &r.json()["response"]["Applicant"];
        assert_eq!(a["CurpStatusKey"], code, "{name}");
        assert_eq!(a["StatusKey"], text, "{name}");
        assert_eq!(a["CURP"], EXAMPLE);
    }
    // Through an admin override as well, for the next request only.
    let o = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "validacurp", "path": "/curp/getData", "scenario": "deceased", "times": 1}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text());
    let r = get_data(&sb, SYNTHETIC).await;
    assert_eq!(r.json()["response"]["Applicant"]["CurpStatusKey"], "BD");
    assert_eq!(r.json()["response"]["Applicant"]["CURP"], SYNTHETIC);
    let r = get_data(&sb, SYNTHETIC).await;
    assert_eq!(r.scenario(), "success");

    // 200 and 300 by name; 300 says RENAPO's error in the response.
    let r = sb
        .post(
            "/curp/getData",
            &[BEARER, ("x-sandbox-scenario", "unavailable")],
            json!({ "curp": EXAMPLE }),
        )
        .await;
    assert_error(&r, 200);
    for (name, detail) in [
        ("not_found", "La CURP no se encuentra en la base de datos"),
        ("renapo_error", "Error al invocar al sistema de eCURP"),
    ] {
        let r = sb
            .post(
                "/curp/getData",
                &[BEARER, ("x-sandbox-scenario", name)],
                json!({ "curp": EXAMPLE }),
            )
            .await;
        assert_error(&r, 300);
        assert_eq!(r.json()["response"], json!({ "error": detail }));
    }
}

#[tokio::test]
async fn calculate_curp_checks_every_field_in_the_documents_order() {
    let sb = Sandbox::start().await;
    // 400–407: each field missing (absent, null or blank), in table order;
    // an earlier missing field wins over a later one.
    let fields = crate::common::CALC_FIELDS;
    for (i, field) in fields.iter().enumerate() {
        let code = 400 + i as u64;
        let r = calc(&sb, |b| {
            b.remove(*field);
        })
        .await;
        assert_error(&r, code);
        let r = calc(&sb, |b| {
            b.insert(field.to_string(), json!(""));
            b.remove("entity");
        })
        .await;
        assert_error(&r, code);
        let r = calc(&sb, |b| {
            b.insert(field.to_string(), Value::Null);
        })
        .await;
        assert_error(&r, code);
        // Blank is missing too.
        let r = calc(&sb, |b| {
            b.insert(field.to_string(), json!("  \t "));
        })
        .await;
        assert_error(&r, code);
    }
    // 408–410: not numeric.
    for (field, code) in [("birthday", 408), ("birthMonth", 409), ("yearBirth", 410)] {
        let r = calc(&sb, |b| {
            b.insert(field.into(), json!("2a"));
        })
        .await;
        assert_error(&r, code);
    }
    // 411–414: wrong length; 413 for two digits that are no month.
    for (field, value, code) in [
        ("birthday", "5", 411),
        ("birthday", "020", 411),
        ("birthMonth", "7", 412),
        ("birthMonth", "007", 412),
        ("birthMonth", "13", 413),
        ("birthMonth", "00", 413),
        ("yearBirth", "66", 414),
        ("yearBirth", "01966", 414),
    ] {
        let r = calc(&sb, |b| {
            b.insert(field.into(), json!(value));
        })
        .await;
        assert_error(&r, code);
    }
    // 415: sex other than H, M or X.
    for g in ["F", "HM", "1"] {
        let r = calc(&sb, |b| {
            b.insert("gender".into(), json!(g));
        })
        .await;
        assert_error(&r, 415);
    }
    // 416: not a two-digit INE code 01–32.
    for e in ["00", "33", "1", "015", "MC", "NE"] {
        let r = calc(&sb, |b| {
            b.insert("entity".into(), json!(e));
        })
        .await;
        assert_error(&r, 416);
        assert_eq!(r.scenario(), "invalid_entity");
    }
    // 417 from real input: a date that does not exist, a year a CURP cannot
    // encode; the response says which.
    let r = calc(&sb, |b| {
        b.insert("birthday".into(), json!("30"));
        b.insert("birthMonth".into(), json!("02"));
    })
    .await;
    assert_error(&r, 417);
    assert_eq!(
        r.json()["response"],
        json!({"error": "La fecha de nacimiento 1966-02-30 no existe"})
    );
    let r = calc(&sb, |b| {
        b.insert("yearBirth".into(), json!("1850"));
    })
    .await;
    assert_error(&r, 417);
    assert!(r.json()["response"]["error"]
        .as_str()
        .unwrap()
        .contains("1850"));
    let r = calc(&sb, |b| {
        b.insert("yearBirth".into(), json!("2100"));
    })
    .await;
    assert_error(&r, 417);
    assert_eq!(
        r.json()["response"],
        json!({"error": "El año de nacimiento 2100 está fuera del rango de la CURP (1900 a 2099)"})
    );
    // The year as typed: four digits.
    let r = calc(&sb, |b| {
        b.insert("yearBirth".into(), json!("0000"));
    })
    .await;
    assert_error(&r, 417);
    assert_eq!(
        r.json()["response"],
        json!({"error": "El año de nacimiento 0000 está fuera del rango de la CURP (1900 a 2099)"})
    );
    // 417 by name.
    let r = sb
        .post(
            "/curp/calculateCURP",
            &[("x-sandbox-scenario", "internal_error")],
            calc_body(),
        )
        .await;
    assert_error(&r, 417);
    assert_eq!(
        r.json()["response"],
        json!({"error": "No fue posible calcular el CURP"})
    );
}

#[tokio::test]
async fn calculate_curp_uses_the_curp_domain() {
    let sb = Sandbox::start().await;
    // Numbers are taken as their text; gender in lower case; X is accepted.
    let r = calc(&sb, |b| {
        b.insert("yearBirth".into(), json!(1966));
        b.insert("birthday".into(), json!(20));
        b.insert("gender".into(), json!("h"));
    })
    .await;
    assert_eq!(r.json()["response"]["curp"], EXAMPLE, "{}", r.text());
    let r = calc(&sb, |b| {
        b.insert("gender".into(), json!("X"));
    })
    .await;
    let curp = r.json()["response"]["curp"].as_str().unwrap().to_string();
    assert_eq!(&curp[10..11], "X");
    // Born from 2000: differentiator A, and a strictly valid CURP.
    let r = calc(&sb, |b| {
        b.insert("yearBirth".into(), json!("2005"));
        b.insert("entity".into(), json!("09"));
    })
    .await;
    let curp = r.json()["response"]["curp"].as_str().unwrap().to_string();
    assert_eq!(&curp[..16], "PXNE050720HDFXTN");
    assert_eq!(&curp[16..17], "A");
    assert!(mxid_sandbox::curp::check_strict(&curp).is_ok(), "{curp}");
    // What calculateCURP gives, getData knows and validateCurpStructure accepts.
    let r = sb
        .post(
            "/curp/validateCurpStructure",
            &[BEARER],
            json!({ "curp": curp }),
        )
        .await;
    assert_eq!(r.json()["response"]["valido"], true);
}

#[tokio::test]
async fn get_entities_lists_the_32_entities_of_the_catalog() {
    let sb = Sandbox::start().await;
    let r = sb.post("/curp/getEntities", &[BEARER], json!({})).await;
    assert_eq!(r.status, 200);
    let list = r.json()["response"]["clave_entidad"].clone();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 32);
    for (i, e) in list.iter().enumerate() {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["clave_entidad", "nombre_entidad", "abreviatura_entidad"]
        );
        assert_eq!(e["clave_entidad"], format!("{:02}", i + 1));
    }
    assert_eq!(
        list[8],
        json!({"clave_entidad": "09", "nombre_entidad": "CIUDAD DE MEXICO", "abreviatura_entidad": "DF"})
    );
    assert_eq!(
        list[14],
        json!({"clave_entidad": "15", "nombre_entidad": "MEXICO", "abreviatura_entidad": "MC"})
    );
    assert_eq!(list[31]["abreviatura_entidad"], "ZS");
}

/// A sandbox whose validacurp.yaml sets `quota_per_token: N`; the
/// folder's guard.
async fn with_a_quota(tag: &str, n: u32) -> (Sandbox, RemovedOnDrop) {
    let yaml = include_str!("../scenarios/validacurp.yaml");
    assert!(yaml.contains("quota_per_token: null"));
    let text = yaml.replace("quota_per_token: null", &format!("quota_per_token: {n}"));
    on_scenario_files(tag, &[("validacurp.yaml", &text)]).await
}

// README validacurp: the quota counts "every query that takes the
// realistic path": header scenarios, overrides and personas with a
// scenario do not count.
#[tokio::test]
async fn forced_answers_spend_no_quota() {
    let (sb, dir) = with_a_quota("validacurp-quota-forced", 1).await;
    let data = json!({ "curp": EXAMPLE });
    for scenario in ["deceased", "success"] {
        let r = sb
            .post(
                "/curp/getData",
                &[BEARER, ("x-sandbox-scenario", scenario)],
                data.clone(),
            )
            .await;
        assert_eq!(r.scenario(), scenario, "{}", r.text());
    }
    let o = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "validacurp", "scenario": "renapo_error", "times": 1}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text());
    let r = sb.post("/curp/getData", &[BEARER], data.clone()).await;
    assert_eq!(r.scenario(), "renapo_error");
    for _ in 0..2 {
        let r = sb
            .post(
                "/curp/getData",
                &[BEARER],
                json!({"curp": "GAPA950819HGTLRR07"}),
            )
            .await;
        assert_eq!(r.scenario(), "not_found", "{}", r.text());
    }
    // The quota of one is still whole: the first realistic query is served.
    let r = sb.post("/curp/getData", &[BEARER], data.clone()).await;
    assert_eq!(r.scenario(), "success", "{}", r.text());
    let r = sb.post("/curp/getData", &[BEARER], data).await;
    assert_eq!(r.scenario(), "out_of_quota");
    sb.stop().await;
    drop(dir);
}

#[tokio::test]
async fn the_quota_per_token_is_off_by_default_and_gives_code_4_when_spent() {
    // Off by default: many queries, no counter.
    let sb = Sandbox::start().await;
    for _ in 0..5 {
        let r = sb.post("/curp/getEntities", &[BEARER], json!({})).await;
        assert_eq!(r.status, 200);
    }
    let counters = sb.admin_get("/__admin/counters").await;
    assert!(counters
        .as_array()
        .unwrap()
        .iter()
        .all(|c| !c["key"].as_str().unwrap_or("").starts_with("validacurp")));
    sb.stop().await;

    // A quota of 2 through a scenario folder.
    let (sb, dir) = with_a_quota("validacurp-quota", 2).await;
    let data = json!({ "curp": EXAMPLE });
    for _ in 0..2 {
        let r = sb.post("/curp/getData", &[BEARER], data.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Every method spends the same quota.
    let r = sb.post("/curp/getEntities", &[BEARER], json!({})).await;
    assert_error(&r, 4);
    assert_eq!(r.scenario(), "out_of_quota");
    let r = sb
        .post("/api/v2/curp/getData", &[BEARER], data.clone())
        .await;
    assert_error(&r, 4);
    // Another token has its own quota; pruebas spends none.
    let r = sb
        .post(
            "/curp/getData",
            &[("authorization", "Bearer other-token")],
            data.clone(),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = sb
        .post("/curp/getEntities", &[], json!({"token": "pruebas"}))
        .await;
    assert_eq!(r.status, 200);
    // The document's placeholder CURP with a real token is a query like
    // any other: it spends the quota (then the static data no more).
    let third = ("authorization", "Bearer third-token");
    let placeholder = json!({ "curp": "XAXX010101XAXAXA00" });
    for _ in 0..2 {
        let r = sb
            .post("/curp/getData", &[third], placeholder.clone())
            .await;
        assert_eq!(r.scenario(), "pruebas", "{}", r.text());
    }
    let r = sb.post("/curp/getData", &[third], placeholder).await;
    assert_error(&r, 4);
    // Visible at /__admin/counters, and reset there; a day does not reset it.
    let counters = sb.admin_get("/__admin/counters").await;
    let mine = counters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == format!("validacurp:quota:{TOKEN}"))
        .cloned()
        .unwrap_or_else(|| panic!("{counters}"));
    assert_eq!(mine["count"], 4);
    assert_eq!(mine["limit"], 2);
    assert_eq!(mine["window"], "forever");
    sb.advance("2d").await;
    let r = sb.post("/curp/getData", &[BEARER], data.clone()).await;
    assert_error(&r, 4);
    assert_eq!(sb.admin_delete("/__admin/counters").await.status, 200);
    let r = sb.post("/curp/getData", &[BEARER], data).await;
    assert_eq!(r.status, 200);
    sb.stop().await;
    drop(dir);
}

#[tokio::test]
async fn engine_errors_come_in_the_envelope() {
    let sb = Sandbox::start().await;
    let envelope = |r: &Resp, status: u16| {
        assert_eq!(r.status, status, "{}", r.text());
        let b = r.json();
        assert_eq!(b["error"], true);
        assert_eq!(b["code_error"], 0);
        assert_eq!(b["error_message"], b["msn"]);
        assert_eq!(b["response"], Value::Null);
        b["error_message"].as_str().unwrap().to_string()
    };
    // A body that is not JSON.
    let r = raw(&sb, "/curp/getData", &[BEARER], "{curp: PXNE}").await;
    let m = envelope(&r, 400);
    assert!(m.contains("not valid JSON"), "{m}");
    // An unknown method under either prefix.
    for path in ["/curp/getDatos", "/api/v2/curp/nothing"] {
        let r = sb.post(path, &[BEARER], json!({})).await;
        let m = envelope(&r, 404);
        assert!(m.contains(path), "{m}");
    }
    // Every method is POST.
    let r = sb.get("/curp/getEntities", &[BEARER]).await;
    let m = envelope(&r, 405);
    assert!(m.contains("POST"), "{m}");
}

#[tokio::test]
async fn the_catalog_covers_every_documented_code_and_status() {
    let sb = Sandbox::start().await;
    let mine = sb.catalog_of("validacurp").await;
    let paths: BTreeSet<&str> = mine.iter().map(|s| s["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        METHODS
            .iter()
            .map(|m| format!("/curp/{m}"))
            .collect::<BTreeSet<_>>()
            .iter()
            .map(String::as_str)
            .collect()
    );
    let mut codes = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut valido = BTreeSet::new();
    for s in mine {
        let (path, name) = (s["path"].as_str().unwrap(), s["name"].as_str().unwrap());
        assert_eq!(s["method"], "POST");
        assert!(!s["description"].as_str().unwrap().is_empty());
        let mut body = calc_body();
        body["curp"] = json!(EXAMPLE);
        let r = sb
            .post(path, &[BEARER, ("x-sandbox-scenario", name)], body)
            .await;
        assert_eq!(r.scenario(), name);
        let b = r.json();
        let code = b["code_error"].as_u64().unwrap();
        if b["error"] == true {
            assert_error(&r, code);
            codes.insert(code);
        } else {
            assert_eq!(r.status, 200, "{path} {name}");
            if let Some(v) = b["response"].get("valido") {
                valido.insert(v.to_string());
            }
            if let Some(k) = b["response"]["Applicant"]["CurpStatusKey"].as_str() {
                statuses.insert(k.to_string());
            }
        }
    }
    let documented: BTreeSet<u64> = CODES.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, documented);
    let documented: BTreeSet<String> = STATUSES.iter().map(|(c, _)| c.to_string()).collect();
    // The test person's "XX" is in the document too.
    assert!(statuses.is_superset(&documented), "{statuses:?}");
    assert!(statuses.contains("XX"));
    assert_eq!(
        valido,
        ["\"pruebas\"", "false", "true"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}

// Seed 001 ("Estructura del JSON"): "Todos las claves dentro del JSON a
// enviar deben estár escritas como se muestra en la documentación". Keys in
// another case are not the documented keys: the token, the CURP and the
// calculateCURP fields are then not received (codes 2, 100, 401).
#[tokio::test]
async fn keys_in_another_case_are_not_the_documented_keys() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            "/curp/getData",
            &[],
            json!({"Token": "tok", "curp": "PXNE660720HMCXTN06"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["code_error"], 2, "{}", r.text());
    let r = sb
        .post(
            "/curp/getData",
            &[],
            json!({"token": "tok", "CURP": "PXNE660720HMCXTN06"}),
        )
        .await;
    assert_eq!(r.json()["code_error"], 100, "{}", r.text());
    let r = sb
        .post(
            "/curp/calculateCURP",
            &[],
            json!({
                "names": "enrique", "lastname": "peña", "secondLastName": "nieto",
                "birthday": "20", "birthMonth": "07", "yearBirth": "1966",
                "gender": "H", "entity": "15", "token": "tok"
            }),
        )
        .await;
    assert_eq!(r.json()["code_error"], 401, "{}", r.text());
    assert_eq!(
        r.json()["error_message"],
        "No se recibió el apellido paterno"
    );
}

// Error paths of the CURP domain, the request parser and the provider
// modules that no other test exercised: each triggered through the real
// server or the real binary, with its documented status, shape and message.

use crate::common::{config, curp_for, temp_dir, RemovedOnDrop, Sandbox};
use crate::engine::run;
use crate::user_files::shipped;
use mxid_sandbox::curp::Sex;
use mxid_sandbox::engine::namespace::MAX_NAMESPACES;
use mxid_sandbox::{Config, Source};
use serde_json::json;

// --- fixture loading: the catalogs' own checks ---------------------------------

// SPEC §8 / README "Command line": `check DIR` "prints `file:line:column:
// field: message` and exits 1 on error"; README "The fixture files": a
// user's `catalogs.yaml` is validated at load. Each semantic check of
// `Catalogs::validate` (INE order, RENAPO codes, a municipality per entity,
// 32 entities, born abroad NE, municipalities of known entities, codes
// listed once per section) is refused through the binary at the line of the
// value at fault, naming its field.
#[test]
fn each_catalog_check_is_refused_by_check_at_its_line_and_field() {
    let catalogs = shipped("fixtures", "catalogs.yaml");
    // (edit from, edit to, text of the line the error points at, field, message)
    let cases: [(&str, &str, &str, &str, &str); 12] = [
        (
            "  - { ine: \"02\", renapo: BC",
            "  - { ine: \"2\", renapo: BC",
            "{ ine: \"2\", renapo: BC",
            "entities[1].ine",
            "expected \"02\" (entities are listed in INE order), got \"2\"",
        ),
        (
            "renapo: BC,",
            "renapo: AS,",
            "{ ine: \"02\", renapo: AS",
            "entities[1].renapo",
            "renapo code \"AS\" is listed twice",
        ),
        (
            "renapo: BC,",
            "renapo: NE,",
            "{ ine: \"02\", renapo: NE",
            "entities[1].renapo",
            "unknown renapo code \"NE\"",
        ),
        (
            "  - { entity_ine: \"03\", code: \"003\", name: \"LA PAZ\" }",
            "  - { entity_ine: \"02\", code: \"003\", name: \"LA PAZ\" }",
            "municipalities:",
            "municipalities",
            "no municipality for entity \"03\"",
        ),
        (
            "  - { ine: \"32\", renapo: ZS",
            "#  - { ine: \"32\", renapo: ZS",
            "entities:",
            "entities",
            "expected 32 entities, got 31",
        ),
        (
            "born_abroad: { renapo: NE",
            "born_abroad: { renapo: MC",
            "born_abroad:",
            "born_abroad.renapo",
            "expected \"NE\", got \"MC\"",
        ),
        (
            "  - { entity_ine: \"01\", code: \"001\", name: \"AGUASCALIENTES\" }",
            "  - { entity_ine: \"01\", code: \"001\", name: \"AGUASCALIENTES\" }\n  - { entity_ine: \"40\", code: \"001\", name: \"X\" }",
            "{ entity_ine: \"40\"",
            "municipalities[1].entity_ine",
            "unknown entity \"40\"",
        ),
        (
            "  - { code: 3, name_es",
            "  - { code: 1, name_es",
            "{ code: 1, name_es: \"Documento Migratorio\"",
            "proof_documents[1]",
            "code \"1\" is listed twice",
        ),
        (
            "  - { id: 2, name: \"Baja California\" }",
            "  - { id: 1, name: \"Baja California\" }",
            "{ id: 1, name: \"Baja California\" }",
            "rfc_states[1]",
            "code \"1\" is listed twice",
        ),
        (
            "  - { code: CRCPR001,",
            "  - { code: CRGEN000,",
            "{ code: CRGEN000, es: \"El campo CURP",
            "ccb_codes[1]",
            "code \"CRGEN000\" is listed twice",
        ),
        (
            "  - { code: \"01-08\",",
            "  - { code: \"01-06\",",
            "{ code: \"01-06\", es: \"El documento",
            "renapo_codes[1]",
            "code \"01-06\" is listed twice",
        ),
        (
            "  - code: AH\n",
            "  - code: \"AN\"\n",
            "  - code: \"AN\"",
            "statuses[1]",
            "code \"AN\" is listed twice",
        ),
    ];
    let mut wrong = Vec::new();
    for (from, to, at, field, message) in cases {
        assert!(catalogs.contains(from), "{from}");
        let edited = catalogs.replacen(from, to, 1);
        let line = edited
            .lines()
            .position(|l| l.contains(at) && !l.trim_start().starts_with('#'))
            .unwrap_or_else(|| panic!("{at}"))
            + 1;
        let dir = temp_dir("hunt-catalogs");
        let _gone = RemovedOnDrop(dir.clone());
        std::fs::write(dir.join("catalogs.yaml"), &edited).unwrap();
        let out = run(&["check", dir.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let want = format!("catalogs.yaml:{line}:");
        let tail = format!(": {field}: {message}");
        if out.status.code() != Some(1) || !stderr.contains(&want) || !stderr.contains(&tail) {
            wrong.push(format!(
                "{to}: want exit 1 and {want}…{tail}; got {:?}: {stderr}",
                out.status.code()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- `curp` subcommands --------------------------------------------------------

// README "Command line": `curp calc … --birth YYYY-MM-DD …` — "a CURP by the
// RENAPO rules"; its refusals (calc.rs `CalcError`) are said and exit 1: no
// names, no first surname, a year a CURP cannot encode (two digits and a
// century bit: 1900–2099).
#[test]
fn curp_calc_refuses_what_no_curp_can_be_calculated_from() {
    let calc = |names: &str, first: &str, birth: &str| {
        let names = format!("--names={names}");
        let first = format!("--first-surname={first}");
        run(&[
            "curp", "calc", &names, &first, "--birth", birth, "--sex", "H", "--state", "15",
        ])
    };
    for (names, first, birth, message) in [
        ("", "peña", "1966-07-20", "the names are empty"),
        ("   ", "peña", "1966-07-20", "the names are empty"),
        ("enrique", "", "1966-07-20", "the first surname is empty"),
        (
            "enrique",
            "peña",
            "1850-07-20",
            "birth year 1850 is out of range: expected 1900 to 2099",
        ),
        (
            "enrique",
            "peña",
            "2100-01-01",
            "birth year 2100 is out of range: expected 1900 to 2099",
        ),
    ] {
        let out = calc(names, first, birth);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{names:?} {first:?} {birth}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains(message),
            "{names:?} {first:?} {birth}: {stderr}"
        );
    }
}

// README "Command line": `curp person CURP` — "exit 1 with the reason for a
// CURP RENAPO never issued"; README Decisions ("Synthetic data"): a CURP
// stating a birth after 2025 "was never issued … `curp person` refuses it".
// The reason names the birth year, not a rule the CURP passes.
#[test]
fn curp_person_refuses_a_birth_after_2025_naming_the_year() {
    let out = run(&["curp", "person", "PXNE660720HMCXTNA6"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(
            "no provider answers a person for PXNE660720HMCXTNA6 (born in 2066, after 2025, the year the data is as of): RENAPO never issued it"
        ),
        "{stderr}"
    );
}

// --- validacurp ------------------------------------------------------------------

/// validacurp's error envelope (README validacurp: HTTP 400, `error: true`,
/// the code, its message in `error_message` and in `msn`, `response: null`).
#[track_caller]
fn assert_validacurp_error(r: &crate::common::Resp, code: u64, message: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    let b = r.json();
    assert_eq!(
        b,
        json!({"error": true, "code_error": code, "error_message": message, "msn": message, "response": null})
    );
}

// README validacurp scenarios: `missing_names` … `missing_entity`, codes
// 400–407: "the first missing field (absent, null or blank, or neither text
// nor a number: a list, an object, a boolean)". Each field sent as a list,
// an object or a boolean gets its own missing code on the realistic path.
#[tokio::test]
async fn a_calculate_curp_field_that_is_neither_text_nor_a_number_is_missing() {
    let sb = Sandbox::start().await;
    let messages = [
        "No se recibieron los nombres",
        "No se recibió el apellido paterno",
        "No se recibió el apellido materno",
        "No se recibió el día de nacimiento",
        "No se recibió el mes de nacimiento",
        "No se recibió el año de nacimiento",
        "No se recibió el sexo de la persona",
        "No se recibió la entidad de nacimiento",
    ];
    let scenarios = [
        "missing_names",
        "missing_last_name",
        "missing_second_last_name",
        "missing_birthday",
        "missing_birth_month",
        "missing_year_birth",
        "missing_gender",
        "missing_entity",
    ];
    for (i, field) in crate::common::CALC_FIELDS.iter().enumerate() {
        for value in [json!(["20"]), json!({"v": "20"}), json!(true)] {
            let mut body = crate::validacurp::calc_body();
            body[*field] = value.clone();
            let r = sb
                .post(
                    "/curp/calculateCURP",
                    &[("authorization", "Bearer t")],
                    body,
                )
                .await;
            assert_validacurp_error(&r, 400 + i as u64, messages[i]);
            assert_eq!(r.scenario(), scenarios[i], "{field}: {value}");
        }
    }
}

// README Decisions: "**validacurp**: the quota is checked first on the
// realistic path (like an account-level gate), so a spent quota answers
// code 4 even to a request with bad input"; the `pruebas` token's requests
// spend no quota and keep their own input checks.
#[tokio::test]
async fn a_spent_validacurp_quota_answers_code_4_before_the_input_checks() {
    let dir = temp_dir("hunt-validacurp-quota");
    let _gone = RemovedOnDrop(dir.clone());
    let yaml = shipped("scenarios", "validacurp.yaml");
    assert!(yaml.contains("quota_per_token: null"));
    std::fs::write(
        dir.join("validacurp.yaml"),
        yaml.replace("quota_per_token: null", "quota_per_token: 0"),
    )
    .unwrap();
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let out_of_quota = "Se han agotado sus consultas. Favor de adquirir un nuevo paquete";
    let bearer = [("authorization", "Bearer t")];
    let mut no_names = crate::validacurp::calc_body();
    no_names.as_object_mut().unwrap().remove("names");
    for (path, body) in [
        ("/curp/calculateCURP", no_names.clone()),
        ("/curp/getData", json!({})),
        ("/curp/getData", json!({"curp": "PXNE660720HZZXTN06"})),
        ("/curp/validateCurpStructure", json!({})),
    ] {
        let r = sb.post(path, &bearer, body.clone()).await;
        assert_validacurp_error(&r, 4, out_of_quota);
        assert_eq!(r.scenario(), "out_of_quota", "{path} {body}");
    }
    // The test token is not counted: its input checks still answer.
    let r = sb
        .post(
            "/curp/calculateCURP",
            &[("authorization", "Bearer pruebas")],
            no_names,
        )
        .await;
    assert_validacurp_error(&r, 400, "No se recibieron los nombres");
}

// --- async -----------------------------------------------------------------------

// README Decisions ("Synthetic data"): "IMSS registration happens at age
// 16–24, so someone not yet 16 in 2025 has no NSS (nss answers not found,
// async NssByCurp NSS005 …)"; README async: the `not_found` outcome
// completes (4) with `verification` null and its warning NSS005. A
// synthetic CURP of someone born in 2012, on the realistic path.
#[tokio::test]
async fn nss_by_curp_for_someone_not_yet_16_completes_with_nss005() {
    let sb = Sandbox::start().await;
    let curp = curp_for("ana", "lopez", "ruiz", (2012, 3, 4), Sex::M, "MC");
    let r = sb
        .post(
            "/api/AsyncVerication/NssByCurp",
            &[("apikey", "k")],
            json!({ "curp": curp }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "not_found");
    let id = r.json()["verificationId"].as_str().unwrap().to_string();
    sb.advance("2s").await;
    let r = sb
        .get(
            &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
            &[("apikey", "k")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["verificationStatus"], 4, "{b}");
    assert_eq!(b["verificationType"], 3, "{b}");
    assert!(b["verification"].is_null(), "{b}");
    assert_eq!(
        b["warnings"],
        json!([{"code": "NSS005", "message": "CURP does not match with source."}])
    );
}

// README Sandbox request headers: at most 1,024 namespaces at once; README
// Decisions: "a provider request, an override, a clock change or a webhook
// registration makes it (one the admin API refuses, with a 400, does not)";
// README Admin API: "bad input gets 400 `{"error": "…"}`". A webhook PUT
// that would make a 1,025th namespace is refused with a 400 saying why,
// registers nothing, and one in a namespace already made still works.
#[tokio::test]
async fn a_webhook_put_that_would_make_one_namespace_too_many_is_refused() {
    let sb = Sandbox::start().await;
    for i in 0..MAX_NAMESPACES {
        let ns = format!("n{i}");
        let r = sb
            .post(
                "/api/curp/bycurp",
                &[("apikey", "k"), ("x-sandbox-namespace", &ns)],
                json!({"curp": "PXNE660720HMCXTN06"}),
            )
            .await;
        assert_eq!(r.status, 200, "{ns}: {}", r.text());
    }
    let put = |ns: &'static str| {
        let sb = &sb;
        async move {
            sb.send(
                "PUT",
                &format!("/__admin/webhooks/k?namespace={ns}"),
                &[("content-type", "application/json")],
                r#"{"url": "http://127.0.0.1:1/hook"}"#,
            )
            .await
        }
    };
    let r = put("one-too-many").await;
    assert_eq!(r.status, 400, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("too many namespaces"), "{error}");
    assert_eq!(
        sb.admin_get("/__admin/webhooks?namespace=one-too-many")
            .await,
        json!([])
    );
    let r = put("n0").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

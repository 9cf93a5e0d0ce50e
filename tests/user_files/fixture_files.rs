//! The user's fixture files (`--fixtures`): load-time refusals at their
//! line, a persona stated alike by every provider, reload, and the embedded
//! files beside a folder that has only some of them.

use std::path::Path;

use serde_json::{json, Value};

use super::{
    ask, bycurp, get_data, id_check, imss, serving_fixtures, text, verification, verified,
};
use super::{load_fixtures, refused, run};
use crate::common::{curp_for, folder, with_check_digit, Resp, Sandbox};
use mxid_sandbox::config::Source;
use mxid_sandbox::curp::{nss_check_digit, Sex};
use mxid_sandbox::{engine, providers, Config};

/// The crate's shipped file at `path`.
fn shipped_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

const CATALOGS: &str = include_str!("../../fixtures/catalogs.yaml");
const NAMES: &str = include_str!("../../fixtures/names.yaml");
const CREDENTIALS: &str = include_str!("../../fixtures/credentials.yaml");

// --- (a) load-time refusals ----------------------------------------------------

// A mistake in a user's `personas.yml`, `catalogs.yml` or `names.yml` (the
// README allows `.yml`) is reported in that file, with its folder, at load
// and by `check`.
#[test]
fn a_mistake_in_a_yml_fixture_file_names_that_file() {
    let cases = [
        (
            "personas.yml",
            "- curp: PXNE660720HMCXTN06\n  status: ZZ\n".to_string(),
        ),
        (
            "catalogs.yml",
            CATALOGS.replacen("renapo: MC", "renapo: MX", 1),
        ),
        (
            "names.yml",
            NAMES.replacen("male: [", "male: [\n  \"--\",", 1),
        ),
    ];
    let mut wrong = Vec::new();
    for (file, text) in cases {
        let (dir, _gone) = folder("yml", &[(file, &text)]);
        let err = refused(load_fixtures(&dir));
        if !err.file.ends_with(file) || err.line.is_none() {
            wrong.push(format!("{file}: reported as {err}"));
        }
        // And as `check` prints it.
        let out = run(&["check", dir.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let want = format!("{}:", dir.join(file).display());
        if out.status.code() != Some(1) || !stderr.contains(&want) {
            wrong.push(format!("check {file}: {stderr}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README "The fixture files" / SPEC §8 ("exits non-zero with file, line and
// field on error"): each refusal below is made at the line it is about.
#[test]
fn fixture_refusals_point_at_their_line() {
    let unknown_provider = format!("{CREDENTIALS}curpv6:\n  accept: [k]\n");
    let unknown_line = CREDENTIALS.lines().count() + 1;
    let cases: Vec<(&str, String, usize, &str)> = vec![
        // A 29th of February of a year that has none.
        (
            "personas.yaml",
            "- curp: PXNE660720HMCXTN06\n  birth_date: \"2001-02-29\"\n".into(),
            2,
            "[0].birth_date",
        ),
        (
            "personas.yaml",
            "- curp: PXNE660720HMCXTN06\n  birth_date: \"1900-02-29\"\n".into(),
            2,
            "[0].birth_date",
        ),
        // The second listing of a CURP is the mistake.
        (
            "personas.yaml",
            "- curp: PXNE660720HMCXTN06\n  status: AN\n- curp: PXNE660720HMCXTN06\n".into(),
            3,
            "[1].curp",
        ),
        // A birth state, a registry entity and a proof document the catalogs lack.
        (
            "personas.yaml",
            "- curp: PXNE660720HMCXTN06\n  birth_state: XX\n".into(),
            2,
            "[0].birth_state",
        ),
        (
            "personas.yaml",
            "- curp: PXNE660720HMCXTN06\n  registry: {entity_ine: \"33\"}\n".into(),
            2,
            "[0].registry.entity_ine",
        ),
        (
            "personas.yaml",
            "- curp: PXNE660720HMCXTN06\n  names: ENRIQUE\n  proof_document: 2\n".into(),
            3,
            "[0].proof_document",
        ),
        // A key written twice, at its second writing, with the list's index
        // as the path's start.
        (
            "personas.yaml",
            "- curp: PXNE660720HMCXTN06\n  registry:\n    year: 1966\n    year: 1967\n".into(),
            4,
            "[0].registry",
        ),
        // A credential for a provider there is not.
        ("credentials.yaml", unknown_provider, unknown_line, "curpv6"),
    ];
    let mut wrong = Vec::new();
    for (file, text, line, field) in cases {
        let (dir, _gone) = folder("refusal", &[(file, &text)]);
        match load_fixtures(&dir) {
            Ok(_) => wrong.push(format!("{file} accepted: {text}")),
            Err(e) => {
                if !e.file.ends_with(file)
                    || e.line != Some(line)
                    || e.field.as_deref() != Some(field)
                {
                    wrong.push(format!("{file}: want line {line} field {field}, got {e}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README, Admin API: an error repeats at most the first 256 bytes of a value
// it names, in a fixture file too, serde's own words included.
#[test]
fn a_fixture_error_repeats_at_most_256_bytes_of_a_value() {
    let long = "x".repeat(5_000);
    // A plain key is at most 1,024 characters (YAML).
    let key = "x".repeat(600);
    // A name needs a letter.
    let digits = "1".repeat(5_000);
    let cases: Vec<(&str, String)> = vec![
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  status: {long}\n"),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  nss: \"{long}\"\n"),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  proof_document: {long}\n"),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  registry: {{entity_name: {long}}}\n"),
        ),
        ("personas.yaml", format!("- curp: {long}\n")),
        (
            "names.yaml",
            format!("male: [JUAN]\nfemale: [\"{digits}\"]\nsurnames: [LOPEZ]\n"),
        ),
        ("credentials.yaml", format!("nss:\n  accept: {long}\n")),
        // Names the files give: a provider, a scenario, a credential.
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  provider_data: {{{key}: 1}}\n"),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  scenarios: {{{key}: success}}\n"),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  scenarios: {{nss: {long}}}\n"),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  scenario: {long}\n"),
        ),
        ("credentials.yaml", format!("{key}:\n  accept: [k]\n")),
        (
            "credentials.yaml",
            format!("nss:\n  reject: {{k: {long}}}\n"),
        ),
        (
            "credentials.yaml",
            format!("nss:\n  accept: [\"\\u0001{long}\"]\n"),
        ),
        (
            "credentials.yaml",
            format!("async:\n  webhooks: {{k: \"ftp://{}\"}}\n", &long[..1_500]),
        ),
        (
            "credentials.yaml",
            format!("async:\n  webhooks: {{k: \"http://[{}]/\"}}\n", &long[..1_500]),
        ),
        (
            "credentials.yaml",
            format!("async:\n  webhooks: {{k: \"http://h/__admin/{}\"}}\n", &long[..1_500]),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  provider_data: {{validacurp: {{{key}: {{}}}}}}\n"),
        ),
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  provider_data: {{validacurp: {{Applicant: {{{key}: x}}}}}}\n"),
        ),
        // A quote in a value ends nothing.
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  birth_date: 'a\"{long}'\n"),
        ),
        // Raw in serde's words: a backtick or a quote ends nothing.
        (
            "personas.yaml",
            format!("- curp: PXNE660720HMCXTN06\n  \"`{key}\": 1\n"),
        ),
    ];
    let mut wrong = Vec::new();
    for (file, text) in cases {
        let (dir, _gone) = folder("long", &[(file, &text)]);
        match load_fixtures(&dir) {
            Ok(_) => wrong.push(format!("{file} accepted: {}", &text[..80])),
            Err(e) => {
                let e = e.to_string();
                let whole = ["x", "1"].iter().any(|c| e.contains(&c.repeat(257)));
                if whole || !e.contains(" bytes)") || e.len() > 1_000 {
                    wrong.push(format!("{file}: {}", &e[..e.len().min(600)]));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// SPEC §8: "`mxid-sandbox check DIR` validates YAML and exits non-zero with
// file, line and field on error". An empty (or comment-only) fixture file is
// either read as empty or refused at a line.
#[test]
fn an_empty_fixture_file_loads_or_is_refused_at_a_line() {
    let mut wrong = Vec::new();
    for file in [
        "credentials.yaml",
        "catalogs.yaml",
        "names.yaml",
        "personas.yaml",
    ] {
        for text in ["", "# nothing yet\n"] {
            let (dir, _gone) = folder("empty", &[(file, text)]);
            if let Err(e) = load_fixtures(&dir) {
                if e.line.is_none() || !e.file.ends_with(file) {
                    wrong.push(format!("{file} {text:?}: {e}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- (b) what a user persona does ---------------------------------------------

const ELENA: (&str, &str, &str) = ("ELENA", "SALGADO", "IBARRA");

fn elena_curp() -> String {
    curp_for(ELENA.0, ELENA.1, ELENA.2, (1983, 9, 14), Sex::M, "CH")
}

fn elena_nss() -> String {
    let first10 = "3101834567";
    format!("{first10}{}", nss_check_digit(first10).unwrap())
}

const ELENA_RFC: &str = "SAIE830914QW3";

fn elena_yaml() -> String {
    format!(
        "- curp: {}\n  names: {}\n  first_surname: {}\n  second_surname: {}\n  sex: M\n  \
         birth_date: \"1983-09-14\"\n  birth_state: CH\n  nationality: MEX\n  status: RCC\n  \
         proof_document: 4\n  nss: \"{}\"\n  rfc: {ELENA_RFC}\n  registry:\n    entity_ine: \"08\"\n    \
         municipality_code: \"037\"\n    municipality_name: \"JUÁREZ\"\n    year: 1984\n    \
         act_number: \"01234\"\n    book: \"3\"\n    volume: \"2\"\n    page: \"45\"\n",
        elena_curp(),
        ELENA.0,
        ELENA.1,
        ELENA.2,
        elena_nss()
    )
}

// README "The people behind the CURPs": "The same CURP gives the same person
// on every provider"; `fixtures/personas.yaml` "overrides it for listed
// CURPs" (every field given wins, fixtures/personas.yaml's header). A user
// persona giving every field is stated alike by curpv5, validacurp getData,
// accuauth, nss, async NssByCurp and RfcByCurp, and `curp person`.
#[tokio::test]
async fn a_user_persona_is_stated_alike_by_every_provider() {
    let (dir, _gone) = folder("elena", &[("personas.yaml", &elena_yaml())]);
    let sb = serving_fixtures(&dir).await;
    let curp = elena_curp();
    let nss = elena_nss();
    let mut wrong = Vec::new();
    let mut expect = |who: &str, got: &Value, want: &[(&str, &str)]| {
        for (k, w) in want {
            let v = k.split('.').fold(got, |v, p| &v[p]);
            if text(v) != *w {
                wrong.push(format!("{who} {k}: {v} (want {w})"));
            }
        }
    };

    let c = bycurp(&sb, &curp).await.json();
    expect(
        "curpv5",
        &c,
        &[
            ("firstName", "ELENA"),
            ("lastName", "SALGADO"),
            ("secondLastName", "IBARRA"),
            ("gender", "F"),
            ("birthDate", "14/09/1983"),
            ("birthState", "CH"),
            ("nationalityCode", "MEX"),
            ("proofDocumentType", "4"),
            ("curpStatus", "RCC"),
        ],
    );
    let g = get_data(&sb, &curp).await.json();
    expect(
        "getData",
        &g["response"],
        &[
            ("Applicant.Names", "ELENA"),
            ("Applicant.LastName", "SALGADO"),
            ("Applicant.SecondLastName", "IBARRA"),
            ("Applicant.GenderKey", "M"),
            ("Applicant.Gender", "Mujer"),
            ("Applicant.DateOfBirth", "1983-09-14"),
            ("Applicant.CodeEntityBirth", "CH"),
            ("Applicant.EntityBirth", "Chihuahua"),
            ("Applicant.KeyEvidentiaryDocument", "4"),
            ("Applicant.EvidentiaryDocument", "Carta Naturalización"),
            ("Applicant.CurpStatusKey", "RCC"),
            ("Applicant.StatusKey", "Registro de Cambio Afectando a CURP"),
            ("EvidentiaryDocument.YearRegistration", "1984"),
            ("EvidentiaryDocument.KeyMunicipalityRegistration", "37"),
            ("EvidentiaryDocument.MunicipalityRegistration", "JUÁREZ"),
            ("EvidentiaryDocument.Foja", "45"),
            ("EvidentiaryDocument.Book", "3"),
            ("EvidentiaryDocument.Volume", "2"),
            ("EvidentiaryDocument.CertificateNumber", "1234"),
            ("EvidentiaryDocument.RegistrantNumber", "8"),
        ],
    );
    let a = id_check(&sb, &curp).await.json();
    expect(
        "accuauth",
        &a["result"],
        &[
            ("nombre", "ELENA"),
            ("apellidoPaterno", "SALGADO"),
            ("apellidoMaterno", "IBARRA"),
            ("sexo", "MUJER"),
            ("fechaNacimiento", "14/09/1983"),
            ("estadoNacimiento", "CHIHUAHUA"),
            ("docProbatorio", "4"),
            ("estatusCurp", "RCC"),
            ("datosDocProbatorio.claveEntidadRegistro", "08"),
            ("datosDocProbatorio.claveMunicipioRegistro", "037"),
            ("datosDocProbatorio.municipioRegistro", "JUÁREZ"),
            ("datosDocProbatorio.anioReg", "1984"),
            ("datosDocProbatorio.numActa", "01234"),
            ("datosDocProbatorio.libro", "3"),
            ("datosDocProbatorio.tomo", "2"),
            ("datosDocProbatorio.foja", "45"),
        ],
    );
    let n = imss(&sb, &curp, &[]).await.json();
    expect(
        "nss",
        &n,
        &[("response.status", "FOUND"), ("response.nss", &nss)],
    );
    let s = verified(&sb, "/api/AsyncVerication/NssByCurp", json!({"curp": curp})).await;
    expect("async NssByCurp", &verification(&s), &[("nss", &nss)]);
    let s = verified(
        &sb,
        "/api/AsyncVerication/RfcByCurp",
        json!({"curp": curp, "state": 8}),
    )
    .await;
    expect("async RfcByCurp", &verification(&s), &[("rfc", ELENA_RFC)]);
    sb.stop().await;

    let out = run(&["curp", "--fixtures", dir.to_str().unwrap(), "person", &curp]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    expect(
        "curp person",
        &p,
        &[
            ("names", "ELENA"),
            ("sex", "M"),
            ("birth_date", "1983-09-14"),
            ("birth_state", "CH"),
            ("status", "RCC"),
            ("proof_document", "4"),
            ("nss", &nss),
            ("rfc", ELENA_RFC),
            ("registry.municipality_code", "037"),
        ],
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README "Command line": `curp person CURP` — "the person every provider
// answers with …; exit 1 with the reason for … a persona they all answer not
// found (its `scenario`, or `scenarios` for every provider, a `not_found`
// one)". A persona whose `scenario` is `not_found2` is answered not found
// only by the providers that have such a scenario (nss, async RfcByCurp);
// curpv5, validacurp and accuauth have none and answer the person, so
// `curp person` must print that person.
#[tokio::test]
async fn curp_person_prints_a_persona_that_curpv5_answers_with_a_person() {
    let curp = curp_for("ROSA", "LUNA", "VEGA", (1970, 1, 2), Sex::M, "DF");
    let yaml = format!("- curp: {curp}\n  scenario: not_found2\n");
    let (dir, _gone) = folder("not-found2", &[("personas.yaml", &yaml)]);
    let sb = serving_fixtures(&dir).await;
    let c = bycurp(&sb, &curp).await;
    assert_eq!((c.status, c.scenario()), (200, "success"), "{}", c.text());
    let a = id_check(&sb, &curp).await;
    assert_eq!(a.scenario(), "success", "{}", a.text());
    let n = imss(&sb, &curp, &[]).await;
    assert_eq!(n.scenario(), "not_found2", "{}", n.text());
    sb.stop().await;

    let out = run(&["curp", "--fixtures", dir.to_str().unwrap(), "person", &curp]);
    assert!(
        out.status.success(),
        "curpv5 answers {} for {curp}, but `curp person` says: {}",
        c.json()["firstName"],
        String::from_utf8_lossy(&out.stderr)
    );
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["names"], c.json()["firstName"]);
}

// A persona's `provider_data` is refused where the provider reads none of
// it (curpv5, accuauth, nss and async read none; validacurp reads the
// document's `Applicant` and `EvidentiaryDocument` fields), at its line and
// field: a misspelled key would be dropped without a word.
#[test]
fn provider_data_a_provider_does_not_read_is_refused_at_its_key() {
    const CURP: &str = "PXNE660720HMCXTN06";
    let cases = [
        (
            "curpv5: {firstName: X}",
            "[0].provider_data.curpv5",
            "curpv5 reads no provider_data",
        ),
        (
            "accuauth: {result: {nombre: X}}",
            "[0].provider_data.accuauth",
            "accuauth reads no provider_data",
        ),
        (
            "validacurp: {Aplicant: {Names: X}}",
            "[0].provider_data.validacurp.Aplicant",
            "validacurp reads Applicant and EvidentiaryDocument, not 'Aplicant'",
        ),
        (
            "validacurp: {Applicant: {Nombres: X}}",
            "[0].provider_data.validacurp.Applicant.Nombres",
            "getData's Applicant has no field 'Nombres'",
        ),
        (
            "validacurp: {EvidentiaryDocument: 3}",
            "[0].provider_data.validacurp.EvidentiaryDocument",
            "expected a map of getData's EvidentiaryDocument fields",
        ),
        (
            "validacurp: [Applicant]",
            "[0].provider_data.validacurp",
            "expected a map of Applicant and EvidentiaryDocument",
        ),
    ];
    for (data, field, message) in cases {
        let yaml = format!("- curp: {CURP}\n  status: AN\n  provider_data:\n    {data}\n");
        let (dir, _gone) = folder("provider-data", &[("personas.yaml", &yaml)]);
        let e = refused(load_fixtures(&dir));
        assert_eq!(e.field.as_deref(), Some(field), "{data}: {e}");
        assert_eq!(e.line, Some(4), "{data}: {e}");
        assert!(e.message.ends_with(message), "{data}: {e}");
    }
    // In flow style, the column is the offending key's own.
    let yaml = format!(
        "- curp: {CURP}\n  status: AN\n  provider_data:\n    validacurp: {{Applicant: {{Nombres: X}}}}\n"
    );
    let (dir, _gone) = folder("provider-data", &[("personas.yaml", &yaml)]);
    let e = refused(load_fixtures(&dir));
    let column = "    validacurp: {Applicant: {".len() + 1;
    assert_eq!((e.line, e.column), (Some(4), Some(column)), "{e}");
    // In block style, the line is the offending key's own.
    let yaml = format!(
        "- curp: {CURP}\n  status: AN\n  provider_data:\n    validacurp:\n      Applicant:\n        Nombres: X\n"
    );
    let (dir, _gone) = folder("provider-data", &[("personas.yaml", &yaml)]);
    let e = refused(load_fixtures(&dir));
    assert_eq!(
        (e.field.as_deref(), e.line),
        (
            Some("[0].provider_data.validacurp.Applicant.Nombres"),
            Some(6)
        ),
        "{e}"
    );
    // What validacurp reads loads, and is answered.
    let yaml = format!(
        "- curp: {CURP}\n  provider_data:\n    validacurp: {{Applicant: {{Names: RAWVALUE}}, EvidentiaryDocument: {{Foja: \"77\"}}}}\n"
    );
    let (dir, _gone) = folder("provider-data", &[("personas.yaml", &yaml)]);
    load_fixtures(&dir).unwrap();
}

// README "The people behind the CURPs" ("an impossible date is clamped to the
// nearest real one", "Placeholder CURPs with an unknown state get a real
// state chosen from the CURP") and the realistic paths ("a persona is found
// even when it fails the rules", accuauth "unless it is a persona"): user
// personas whose CURP is no strictly valid one — a 29th of February of 2001,
// an unknown state — are found by every provider, stated alike; extreme
// persona birth dates answer without a 5xx.
#[tokio::test]
async fn personas_off_the_rules_are_found_and_stated_alike() {
    let feb29 = with_check_digit("GOLA010229MDFRPNA");
    let nowhere = with_check_digit("LOPJ800101HZZPRN0");
    let old = curp_for("JUAN", "PEREZ", "LOPEZ", (1950, 1, 1), Sex::H, "JC");
    let late = curp_for("ANA", "RUIZ", "SOTO", (1960, 6, 6), Sex::M, "SL");
    let yaml = format!(
        "- curp: {feb29}\n  status: AN\n- curp: {nowhere}\n  status: AN\n\
         - curp: {old}\n  birth_date: \"0001-01-01\"\n- curp: {late}\n  birth_date: \"9999-12-31\"\n"
    );
    let (dir, _gone) = folder("off-rules", &[("personas.yaml", &yaml)]);
    let sb = serving_fixtures(&dir).await;
    let mut wrong = Vec::new();
    for curp in [&feb29, &nowhere] {
        let c = bycurp(&sb, curp).await;
        let g = get_data(&sb, curp).await;
        let a = id_check(&sb, curp).await;
        let n = imss(&sb, curp, &[]).await;
        for (who, r) in [
            ("curpv5", &c),
            ("getData", &g),
            ("accuauth", &a),
            ("nss", &n),
        ] {
            if r.scenario() != "success" {
                wrong.push(format!("{who} {curp}: {} {}", r.scenario(), r.text()));
            }
        }
        let (c, g, a) = (c.json(), g.json(), a.json());
        let iso = text(&g["response"]["Applicant"]["DateOfBirth"]);
        let dmy: String = iso.split('-').rev().collect::<Vec<_>>().join("/");
        if text(&c["birthDate"]) != dmy || text(&a["result"]["fechaNacimiento"]) != dmy {
            wrong.push(format!(
                "{curp} birth date: curpv5 {}, getData {iso}, accuauth {}",
                c["birthDate"], a["result"]["fechaNacimiento"]
            ));
        }
        let state = text(&c["birthState"]);
        if text(&g["response"]["Applicant"]["CodeEntityBirth"]) != state || state.len() != 2 {
            wrong.push(format!(
                "{curp} state: curpv5 {state}, getData {}",
                g["response"]["Applicant"]["CodeEntityBirth"]
            ));
        }
        let out = run(&["curp", "--fixtures", dir.to_str().unwrap(), "person", curp]);
        let p: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if p["birth_date"] != iso.as_str() || p["birth_state"] != state.as_str() {
            wrong.push(format!("curp person {curp}: {p}"));
        }
    }
    if text(&get_data(&sb, &feb29).await.json()["response"]["Applicant"]["DateOfBirth"])
        != "2001-02-28"
    {
        wrong.push("2001-02-29 is not clamped to 2001-02-28".into());
    }
    for curp in [&old, &late] {
        let answers = [
            bycurp(&sb, curp).await,
            get_data(&sb, curp).await,
            id_check(&sb, curp).await,
            imss(&sb, curp, &[]).await,
        ];
        for r in answers {
            if r.status >= 500 {
                wrong.push(format!("{curp}: {} {}", r.status, r.text()));
            }
        }
        let s = verified(
            &sb,
            "/api/AsyncVerication/RfcByCurp",
            json!({"curp": curp, "state": 1}),
        )
        .await;
        if s["verificationStatus"] != 4 {
            wrong.push(format!("RfcByCurp {curp}: {s}"));
        }
    }
    sb.stop().await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- reload and the embedded files -------------------------------------------

// README Admin API, `POST /__admin/reload`: "re-read the YAML"; src/engine/
// people.rs: the people live "with the fixtures, so a reload starts it
// afresh". A reload picks up a changed persona (every provider, accuauth's
// PDF included), a new magic credential, a new names list; a deleted
// personas file brings the embedded personas back.
#[tokio::test]
async fn a_reload_picks_up_every_fixture_change() {
    let p = curp_for("PRIMO", "DIAZ", "MORA", (1975, 3, 3), Sex::H, "PL");
    let q = curp_for("GERARDO", "PEREZ", "LOPEZ", (1981, 4, 4), Sex::H, "PL");
    let persona =
        |names: &str, status: &str| format!("- curp: {p}\n  names: {names}\n  status: {status}\n");
    let (dir, _gone) = folder(
        "reload",
        &[
            ("personas.yaml", &persona("PRIMO", "AN")),
            ("credentials.yaml", CREDENTIALS),
        ],
    );
    let sb = serving_fixtures(&dir).await;
    assert_eq!(bycurp(&sb, &p).await.json()["firstName"], "PRIMO");
    assert_eq!(id_check(&sb, &p).await.json()["result"]["nombre"], "PRIMO");
    let before_q = bycurp(&sb, &q).await.json()["firstName"].clone();
    let revoked = ask(
        &sb,
        "/api/curp/bycurp",
        &[("apikey", "revoked-apikey")],
        "curp",
        &p,
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());

    std::fs::write(dir.join("personas.yaml"), persona("SEGUNDO", "BD")).unwrap();
    std::fs::write(
        dir.join("credentials.yaml"),
        CREDENTIALS.replacen(
            "    invalid-apikey: invalid_credentials\n",
            "    invalid-apikey: invalid_credentials\n    revoked-apikey: invalid_credentials\n",
            1,
        ),
    )
    .unwrap();
    // One name for GERARDO's letters (G, R): the synthetic person takes it.
    std::fs::write(
        dir.join("names.yaml"),
        "male: [GREGORIO]\nfemale: [MARIA]\nsurnames: [PEREZ, LOPEZ]\n",
    )
    .unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let mut wrong = Vec::new();
    let c = bycurp(&sb, &p).await.json();
    if (c["firstName"].clone(), c["curpStatus"].clone()) != (json!("SEGUNDO"), json!("BD")) {
        wrong.push(format!(
            "curpv5 after reload: {} {}",
            c["firstName"], c["curpStatus"]
        ));
    }
    let g = get_data(&sb, &p).await.json();
    if g["response"]["Applicant"]["Names"] != "SEGUNDO" {
        wrong.push(format!(
            "getData after reload: {}",
            g["response"]["Applicant"]
        ));
    }
    let a = id_check(&sb, &p).await.json();
    if a["result"]["nombre"] != "SEGUNDO" || a["result"]["estatusCurp"] != "BD" {
        wrong.push(format!("accuauth after reload: {}", a["result"]["nombre"]));
    }
    use base64::Engine as _;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(a["result"]["documento"].as_str().unwrap_or(""))
        .unwrap_or_default();
    let pdf = String::from_utf8_lossy(&pdf);
    if !pdf.contains("SEGUNDO") || pdf.contains("PRIMO") {
        wrong.push("accuauth's constancia after reload still states PRIMO".into());
    }
    let revoked = ask(
        &sb,
        "/api/curp/bycurp",
        &[("apikey", "revoked-apikey")],
        "curp",
        &p,
    )
    .await;
    if revoked.status != 401 {
        wrong.push(format!("revoked-apikey after reload: {}", revoked.status));
    }
    let after_q = bycurp(&sb, &q).await.json()["firstName"].clone();
    if after_q != "GREGORIO" {
        wrong.push(format!(
            "synthetic name after reload: {before_q} -> {after_q}"
        ));
    }

    // The user's personas gone: the embedded ones answer again.
    std::fs::remove_file(dir.join("personas.yaml")).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let epn = bycurp(&sb, "PXNE660720HMCXTN06").await.json();
    if epn["firstName"] != "ENRIQUE" || epn["curpStatus"] != "RCN" {
        wrong.push(format!("embedded persona after removal: {epn}"));
    }
    if bycurp(&sb, &p).await.json()["firstName"] == "SEGUNDO" {
        wrong.push("the removed persona still answers".into());
    }
    sb.stop().await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README Command line: `--fixtures DIR` gives "fixture files replacing the
// embedded ones of the same name": a folder with only `credentials.yaml`
// keeps the embedded personas, catalogs and names (the same people as
// without it), and its credentials replace the embedded ones wholly.
#[tokio::test]
async fn a_folder_with_only_credentials_keeps_the_embedded_people() {
    let (dir, _gone) = folder(
        "only-credentials",
        &[(
            "credentials.yaml",
            "curpv5:\n  reject:\n    mine: invalid_credentials\n",
        )],
    );
    let sb = serving_fixtures(&dir).await;
    let plain = Sandbox::start().await;
    let mut wrong = Vec::new();
    let synthetic = curp_for("GERARDO", "PEREZ", "LOPEZ", (1981, 4, 4), Sex::H, "PL");
    for curp in [
        "PXNE660720HMCXTN06",
        "GAPA950819HGTLRR07",
        "WOXS030303MNENXFA6",
        &synthetic,
    ] {
        let (a, b) = (bycurp(&sb, curp).await, bycurp(&plain, curp).await);
        let strip = |r: &Resp| {
            let mut v = r.json();
            for k in [
                "inputDigest",
                "timeStamp",
                "timeStampDigest",
                "validationDate",
            ] {
                v.as_object_mut().map(|o| o.remove(k));
            }
            (r.status, v)
        };
        if strip(&a) != strip(&b) {
            wrong.push(format!(
                "curpv5 {curp}: {} vs embedded {}",
                a.text(),
                b.text()
            ));
        }
        let (a, b) = (get_data(&sb, curp).await, get_data(&plain, curp).await);
        if a.text() != b.text() {
            wrong.push(format!(
                "getData {curp}: {} vs embedded {}",
                a.text(),
                b.text()
            ));
        }
    }
    let r = ask(
        &sb,
        "/api/curp/bycurp",
        &[("apikey", "mine")],
        "curp",
        &synthetic,
    )
    .await;
    if r.status != 401 {
        wrong.push(format!("the user's magic credential: {}", r.status));
    }
    // The embedded magic credentials are replaced with the file.
    let r = ask(
        &sb,
        "/api/curp/bycurp",
        &[("apikey", "invalid-apikey")],
        "curp",
        &synthetic,
    )
    .await;
    if r.status != 200 {
        wrong.push(format!(
            "embedded invalid-apikey still rejected: {}",
            r.status
        ));
    }
    plain.stop().await;
    sb.stop().await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README Command line ("replacing the embedded ones of the same name"): a
// folder with only `personas.yaml` replaces the embedded personas (the
// documents' examples become people like any other) and keeps the embedded
// credentials.
#[tokio::test]
async fn a_folder_with_only_personas_replaces_the_embedded_personas_only() {
    let (dir, _gone) = folder("only-personas", &[("personas.yaml", &elena_yaml())]);
    let sb = serving_fixtures(&dir).await;
    let mut wrong = Vec::new();
    let g = bycurp(&sb, "GAPA950819HGTLRR07").await;
    if g.status != 200 {
        wrong.push(format!(
            "GAPA is still the embedded not-found persona: {}",
            g.text()
        ));
    }
    let r = ask(
        &sb,
        "/api/curp/bycurp",
        &[("apikey", "invalid-apikey")],
        "curp",
        &elena_curp(),
    )
    .await;
    if r.status != 401 {
        wrong.push(format!("embedded invalid-apikey: {}", r.status));
    }
    // A placeholder that is no persona now: malformed (state YN, B in place 2).
    let a = id_check(&sb, "ABCD570805HYNHLC52").await;
    if a.scenario() != "invalid_id_number" {
        wrong.push(format!("ABCD570805HYNHLC52 on accuauth: {}", a.scenario()));
    }
    sb.stop().await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README "The people behind the CURPs": names "drawn from
// `fixtures/names.yaml` and chosen so that calculating the CURP from them
// gives back the CURP's first 16 characters (…; a name is composed when no
// listed one fits)". With a user's names list of awkward entries (particles
// only, one letter, apostrophes, Ñ, accents, MARIA/JOSE), that still holds.
#[test]
fn a_users_names_list_still_calculates_back_to_the_curp() {
    let names = "male: [JOSE, \"MA.\", \"J\", \"JOSÉ MARÍA\", ÑOÑO, \"D'ARTAGNAN\"]\n\
                 female: [MARIA, \"MA\", \"Ü\", \"MARÍA JOSÉ\"]\n\
                 surnames: [\"DE LA\", \"Y\", \"O'\", \"MC\", \"DEL\", \"ÑÚÑEZ\", \"VON DER\", \"X\", \"LAS\"]\n";
    let (dir, _gone) = folder("names-odd", &[("names.yaml", names)]);
    let user = load_fixtures(&dir).expect("the names load");
    let embedded = engine::load(&Config::default(), &providers::all()).unwrap();
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut wrong = Vec::new();
    for _ in 0..3000 {
        let curp = mxid_sandbox::curp::random_curp(&mut rng, &embedded.fixtures.domain.names);
        let p = user.fixtures.domain.person(&curp, 0);
        match mxid_sandbox::curp::calculate_first16(&p.calc_input()) {
            Ok(c) if c == curp[..16] => {}
            other => wrong.push(format!(
                "{curp}: {} / {} / {} -> {other:?}",
                p.names, p.first_surname, p.second_surname
            )),
        }
    }
    wrong.truncate(10);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Upper case without accents, as accuauth writes an entity's name.
fn plain_upper(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'Á' => 'A',
            'é' | 'É' => 'E',
            'í' | 'Í' => 'I',
            'ó' | 'Ó' => 'O',
            'ú' | 'Ú' => 'U',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

// SPEC §4: "The same CURP gives the same person on every provider". A
// persona's registration entity is one entity of the catalogs whichever
// half of it the persona writes: `entity_ine` alone takes the catalog's
// name, `entity_name` alone (in any case) its code, and the municipality is
// drawn in that entity. validacurp and accuauth state it alike.
#[tokio::test]
async fn a_personas_registry_entity_is_the_same_on_validacurp_and_accuauth() {
    let curp = curp_for("RAUL", "CANO", "RIOS", (1979, 5, 6), Sex::H, "CH");
    let other = curp_for("ANA", "CANO", "RIOS", (1981, 5, 6), Sex::M, "CH");
    let yaml = format!(
        "- curp: {curp}\n  registry: {{entity_ine: \"15\"}}\n\
         - curp: {other}\n  registry: {{entity_name: \"nuevo leon\"}}\n"
    );
    let (dir, _gone) = folder("registry-entity", &[("personas.yaml", &yaml)]);
    let sb = serving_fixtures(&dir).await;
    // The municipality codes the catalogs list for an entity.
    let municipalities = |ine: &str| -> Vec<String> {
        let key = format!("entity_ine: \"{ine}\", code: \"");
        CATALOGS
            .lines()
            .filter_map(|l| l.split_once(&key))
            .map(|(_, rest)| rest[..3].trim_start_matches('0').to_string())
            .collect()
    };
    for (curp, ine, name) in [(&curp, "15", "México"), (&other, "19", "Nuevo León")] {
        let g = get_data(&sb, curp).await.json();
        let doc = &g["response"]["EvidentiaryDocument"];
        let a = id_check(&sb, curp).await.json();
        let reg = &a["result"]["datosDocProbatorio"];
        assert_eq!(
            text(&doc["RegistrantNumber"]),
            ine.trim_start_matches('0'),
            "{doc}"
        );
        assert_eq!(reg["claveEntidadRegistro"], ine, "{reg}");
        assert_eq!(doc["RegistrationEntity"], name, "{doc}");
        assert_eq!(text(&reg["entidadRegistro"]), plain_upper(name), "{reg}");
        let municipality = text(&doc["KeyMunicipalityRegistration"]);
        let listed = municipalities(ine);
        assert!(
            !listed.is_empty(),
            "the catalogs list municipalities of {ine}"
        );
        assert!(
            listed.contains(&municipality.trim_start_matches('0').to_string()),
            "{curp}: municipality {municipality} is not one of entity {ine}'s: {listed:?}"
        );
    }
    sb.stop().await;
}

// A registry entity name the catalogs lack, or a name and a code that name
// two entities, is refused at its line.
#[test]
fn a_registry_entity_name_off_the_catalog_or_against_its_code_is_refused() {
    let cases = [
        (
            "{entity_name: Atlantis}",
            "unknown entity name \"Atlantis\"",
        ),
        (
            "{entity_ine: \"15\", entity_name: Jalisco}",
            "\"Jalisco\" is entity 14, not entity_ine 15: write one of the two",
        ),
    ];
    for (registry, message) in cases {
        let yaml = format!("- curp: PXNE660720HMCXTN06\n  status: AN\n  registry: {registry}\n");
        let (dir, _gone) = folder("registry-name", &[("personas.yaml", &yaml)]);
        let e = refused(load_fixtures(&dir));
        assert_eq!(e.field.as_deref(), Some("[0].registry.entity_name"), "{e}");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains(message), "{e}");
    }
}

// An error in an embedded file that a user's file causes (their catalogs
// drop a status an embedded persona uses) names the embedded file as such.
#[test]
fn an_error_in_an_embedded_file_says_it_is_the_embedded_one() {
    let catalogs = CATALOGS.replacen("code: BJD", "code: BJX", 1);
    assert_ne!(catalogs, CATALOGS, "the catalogs list BJD");
    let (dir, _gone) = folder("embedded-name", &[("catalogs.yaml", &catalogs)]);
    let e = refused(load_fixtures(&dir));
    assert_eq!(e.file, "embedded personas.yaml", "{e}");
    assert!(e.line.is_some(), "{e}");
}

// Catalogs without a status or proof document that synthetic people are
// given (validacurp would state an empty `StatusKey` or
// `EvidentiaryDocument` for them) are refused, naming what is missing.
#[test]
fn catalogs_must_list_what_synthetic_people_are_given() {
    for (from, to, field, message) in [
        (
            "code: RCN",
            "code: RCX",
            "statuses",
            "no status \"RCN\"; synthetic people are given [\"AN\", \"AH\", \"RCN\", \"RCC\"]",
        ),
        (
            "code: 7",
            "code: 9",
            "proof_documents",
            "no proof document 7; synthetic people are given [1, 3, 4, 7]",
        ),
    ] {
        let catalogs = CATALOGS.replacen(from, to, 1);
        assert_ne!(catalogs, CATALOGS, "the catalogs have {from}");
        let (dir, _gone) = folder("catalog-drawn", &[("catalogs.yaml", &catalogs)]);
        let e = refused(load_fixtures(&dir));
        assert!(e.file.ends_with("catalogs.yaml"), "{e}");
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert_eq!(e.message, message, "{e}");
        assert!(e.line.is_some(), "{e}");
    }
}

// A credential both accepted and rejected would, under `--strict-auth`, be
// taken and refused at once: it is refused at load.
#[test]
fn a_credential_both_accepted_and_rejected_is_refused() {
    let credentials = CREDENTIALS.replacen(
        "accept: [sandbox-apikey]",
        "accept: [sandbox-apikey, invalid-apikey]",
        1,
    );
    assert_ne!(credentials, CREDENTIALS, "curpv5 accepts sandbox-apikey");
    let (dir, _gone) = folder("accept-reject", &[("credentials.yaml", &credentials)]);
    let e = refused(load_fixtures(&dir));
    assert_eq!(
        e.field.as_deref(),
        Some("curpv5.reject.invalid-apikey"),
        "{e}"
    );
    assert_eq!(
        e.message,
        "'invalid-apikey' is listed under both accept and reject: list it once"
    );
    assert!(e.line.is_some(), "{e}");
}

// An error a user's scenario file causes in an embedded fixture file (their
// accuauth.yaml drops `expired_credentials`, which the embedded
// credentials.yaml rejects a credential with) names it `embedded
// credentials.yaml`, with or without a `--fixtures` folder.
#[test]
fn an_error_a_users_scenario_file_causes_in_the_embedded_credentials_names_it_embedded() {
    let accuauth = shipped_file("scenarios/accuauth.yaml");
    let block = "      expired_credentials:\n        description: \"KEY_EXPIRED (401) — the API ID has expired\"\n        status: 401\n        body: {status: KEY_EXPIRED, reason: \"Your API ID has expired\", request_id: \"{{request_id}}\"}\n";
    assert!(
        accuauth.contains(block),
        "the shipped accuauth.yaml has the block"
    );
    let edited = accuauth.replace(block, "");
    let (dir, _gone) = folder("review-embedded-cred", &[("accuauth.yaml", &edited)]);
    let (names_only, _gone2) = folder("review-names-only", &[("names.yaml", NAMES)]);
    let load = |fixtures: Source| {
        let config = Config {
            scenarios: Source::Dir(dir.clone()),
            fixtures,
            ..Config::default()
        };
        match engine::load(&config, &providers::all()) {
            Ok(_) => panic!("a reject naming a scenario accuauth lacks was accepted"),
            Err(e) => e,
        }
    };
    let with_fixtures = load(Source::Dir(names_only.clone()));
    assert_eq!(
        with_fixtures.file, "embedded credentials.yaml",
        "{with_fixtures}"
    );
    let scenarios_only = load(Source::Embedded);
    assert_eq!(
        scenarios_only.file, "embedded credentials.yaml",
        "the error the user's accuauth.yaml causes in the embedded credentials.yaml: {scenarios_only}"
    );
}

// README, "The people behind the CURPs": "`entity_name` alone (the
// catalog's name or upper-case name, in any letter case, with or without
// its accents) takes its code"
// and "validacurp states by its name and accuauth by its upper-case name".
// "Mexico" (the upper-case name MEXICO, in another case) and "MÉXICO" (the
// name México, upper-cased with its accent) are both entity 15, as is the
// name written decomposed; a pair naming entity 15 both ways is no
// disagreement.
#[tokio::test]
async fn a_registry_entity_name_in_any_letter_case_with_or_without_its_accent_is_its_entity() {
    let a = curp_for("RAUL", "CANO", "RIOS", (1979, 5, 6), Sex::H, "CH");
    let b = curp_for("ANA", "CANO", "RIOS", (1981, 5, 6), Sex::M, "CH");
    let c = curp_for("ANA", "LUNA", "RIOS", (1981, 5, 6), Sex::M, "DF");
    let d = curp_for("LUIS", "LUNA", "RIOS", (1983, 5, 6), Sex::H, "DF");
    // The last one decomposed: e and a combining acute.
    let yaml = format!(
        "- curp: {a}\n  registry: {{entity_name: \"Mexico\"}}\n\
         - curp: {b}\n  registry: {{entity_name: \"MÉXICO\"}}\n\
         - curp: {c}\n  registry: {{entity_ine: \"15\", entity_name: \"mexico\"}}\n\
         - curp: {d}\n  registry: {{entity_name: \"Me\\u0301xico\"}}\n"
    );
    let (dir, _gone) = folder("review-registry", &[("personas.yaml", &yaml)]);
    let sb = serving_fixtures(&dir).await;
    for curp in [&a, &b, &c, &d] {
        let g: Value = get_data(&sb, curp).await.json();
        let doc = &g["response"]["EvidentiaryDocument"];
        assert_eq!(doc["RegistrantNumber"], 15, "{curp}: {doc}");
        assert_eq!(doc["RegistrationEntity"], "México", "{curp}: {doc}");
        let r: Value = id_check(&sb, curp).await.json();
        let reg = &r["result"]["datosDocProbatorio"];
        assert_eq!(reg["claveEntidadRegistro"], "15", "{curp}: {reg}");
        assert_eq!(reg["entidadRegistro"], "MEXICO", "{curp}: {reg}");
    }
    sb.stop().await;
}

// A persona's municipality given by one half takes the other from the
// catalogs of its entity: a code its name, a name its code. A code is a
// number, kept as written (README audit: `87` got no name where they list
// `087`).
#[tokio::test]
async fn a_personas_municipality_code_or_name_takes_the_other_half_from_the_catalogs() {
    let by_code = curp_for("RAUL", "CANO", "RIOS", (1979, 5, 6), Sex::H, "MC");
    let by_name = curp_for("ANA", "CANO", "RIOS", (1981, 5, 6), Sex::M, "MC");
    let unpadded = curp_for("LUIS", "CANO", "RIOS", (1983, 5, 6), Sex::H, "MC");
    let unlisted = curp_for("EVA", "CANO", "RIOS", (1985, 5, 6), Sex::M, "MC");
    let yaml = format!(
        "- curp: {by_code}\n  registry: {{municipality_code: \"106\"}}\n\
         - curp: {by_name}\n  registry: {{municipality_name: \"toluca\"}}\n\
         - curp: {unpadded}\n  registry: {{municipality_code: \"33\"}}\n\
         - curp: {unlisted}\n  registry: {{municipality_code: \"0999\"}}\n"
    );
    assert!(CATALOGS.contains("{ entity_ine: \"15\", code: \"106\", name: \"TOLUCA\" }"));
    assert!(
        CATALOGS.contains("{ entity_ine: \"15\", code: \"033\", name: \"ECATEPEC DE MORELOS\" }")
    );
    assert!(!CATALOGS.contains("code: \"999\""));
    let (dir, _gone) = folder("registry-municipality", &[("personas.yaml", &yaml)]);
    let sb = serving_fixtures(&dir).await;
    for (curp, code, name) in [
        (&by_code, "106", "TOLUCA"),
        (&by_name, "106", "TOLUCA"),
        (&unpadded, "33", "ECATEPEC DE MORELOS"),
        (&unlisted, "0999", ""),
    ] {
        let a = id_check(&sb, curp).await.json();
        let reg = &a["result"]["datosDocProbatorio"];
        assert_eq!(reg["claveMunicipioRegistro"], code, "{curp}: {reg}");
        assert_eq!(reg["municipioRegistro"], name, "{curp}: {reg}");
    }
    sb.stop().await;
}

// `curp` reads people and scenarios as `serve` does: a persona naming a
// scenario only the user's scenario files define is refused without
// `--scenarios` (saying so), and with them is a person wherever a provider
// lacks that scenario.
#[test]
fn curp_person_reads_the_users_scenarios_given_scenarios() {
    let curp = curp_for("RAUL", "CANO", "RIOS", (1979, 5, 6), Sex::H, "CH");
    let personas = format!("- curp: {curp}\n  names: RAUL\n  scenario: not_found_mine\n");
    let (fixtures, _gone) = folder("curp-scenarios-fx", &[("personas.yaml", &personas)]);
    // nss.yaml with its `not_found` scenario copied as `not_found_mine`.
    let nss = shipped_file("scenarios/nss.yaml");
    let start = nss.find("      not_found:\n").expect("nss has not_found");
    let len = nss[start + 1..]
        .find("\n      not_found2:\n")
        .expect("not_found2 follows it")
        + 2;
    let copy = nss[start..start + len].replacen("not_found:", "not_found_mine:", 1);
    let nss = format!("{}{copy}{}", &nss[..start], &nss[start..]);
    let (scenarios, _gone2) = folder("curp-scenarios-sc", &[("nss.yaml", &nss)]);
    let (fixtures, scenarios) = (fixtures.to_str().unwrap(), scenarios.to_str().unwrap());

    let out = run(&["curp", "--fixtures", fixtures, "person", &curp]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("scenario 'not_found_mine' is not defined for any provider")
            && stderr.contains("--scenarios DIR reads yours"),
        "{stderr}"
    );
    let out = run(&[
        "curp",
        "--fixtures",
        fixtures,
        "--scenarios",
        scenarios,
        "person",
        &curp,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (p["curp"].as_str(), p["names"].as_str()),
        (Some(&*curp), Some("RAUL"))
    );
}

// Under `--strict-auth` a provider without an `accept` list would refuse
// every credential: such credentials are refused at load, naming it; without
// `--strict-auth` they load (any non-empty credential is taken).
#[test]
fn strict_auth_refuses_credentials_without_a_providers_accept_list() {
    let credentials = CREDENTIALS.replacen("  accept: [sandbox-apikey]\n", "", 1);
    assert_ne!(credentials, CREDENTIALS, "curpv5 accepts sandbox-apikey");
    let (dir, _gone) = folder("strict-accept", &[("credentials.yaml", &credentials)]);
    load_fixtures(&dir).unwrap();
    let config = Config {
        fixtures: Source::Dir(dir.clone()),
        strict_auth: true,
        ..Config::default()
    };
    let e = refused(engine::load(&config, &providers::all()));
    assert_eq!(e.field.as_deref(), Some("curpv5"), "{e}");
    assert_eq!(
        e.message,
        "curpv5 has no accept list: under --strict-auth it would refuse every credential"
    );
    assert!(e.line.is_some(), "the curpv5 block is there: {e}");
    // `check --strict-auth` refuses the folder so; `check` alone passes it.
    let dir_arg = dir.to_str().unwrap();
    let out = run(&["check", dir_arg, "--strict-auth"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("curpv5 has no accept list"), "{stderr}");
    assert!(run(&["check", dir_arg]).status.success());
    // The embedded credentials have one for every provider.
    let config = Config {
        strict_auth: true,
        ..Config::default()
    };
    engine::load(&config, &providers::all()).unwrap();
}

/// `line` with the quoted value of each key of `keys` replaced by a text
/// of its own (`ref-N`), unique in the file.
fn rewrite_quoted(line: &str, keys: &[&str], n: &mut usize) -> String {
    let mut out = line.to_string();
    for key in keys {
        let mark = format!("{key}: \"");
        if let Some(at) = out.find(&mark) {
            let start = at + mark.len();
            let end = start + out[start..].find('"').expect("a closing quote");
            *n += 1;
            out.replace_range(start..end, &format!("ref-{n}"));
        }
    }
    out
}

// README, The fixture files: the catalogs' other columns ("a status's
// `active`, its Spanish and English descriptions and accuauth's wording,
// the documents' names, the RENAPO and CCB tables") "are the seeds'
// reference, checked for duplicates and changing no answer". Every one of
// those texts rewritten, each provider answers as with the shipped file,
// byte for byte, for people of every status and a forced error.
#[tokio::test]
async fn the_catalogs_reference_columns_change_no_answer() {
    let mut n = 0;
    let reference = [
        "description_es",
        "description_en",
        "accuauth_status",
        "accuauth_description",
        "name_es",
        "name_en",
        "es",
        "en",
    ];
    let catalogs: String = CATALOGS
        .lines()
        .map(|line| rewrite_quoted(line, &reference, &mut n) + "\n")
        .collect();
    assert!(n > 40, "{n} texts rewritten");
    let (dir, _gone) = folder("reference-columns", &[("catalogs.yaml", &catalogs)]);
    let shipped = Sandbox::start_with(crate::common::config()).await;
    let rewritten = Sandbox::start_with(Config {
        fixtures: Source::Dir(dir.clone()),
        ..crate::common::config()
    })
    .await;
    let curps = [
        "PXNE660720HMCXTN06",
        "GOMC850312HJCNRR05",
        "HEGJ900515HDFRRN19",
        "EIVC881130MVZSLR02",
        "RAZR811011HVZMPB01",
        "MEGR380412MJCDRS07",
        "WOXS030303MNENXFA6",
    ];
    for curp in curps {
        for extra in [&[][..], &[("x-sandbox-scenario", "not_found")]] {
            for p in crate::common::provider_requests(curp) {
                let a = shipped.provider_post(&p, extra).await;
                let b = rewritten.provider_post(&p, extra).await;
                assert_eq!(
                    (a.status, a.text()),
                    (b.status, b.text()),
                    "{} {curp} {extra:?}",
                    p.0
                );
            }
        }
    }
}

// README, "The fixture files": an error the user's files cause in an
// embedded one names it `embedded …`. A user's catalogs without the BJD
// status (and personas of their own, none BJD) leave the embedded curpv5
// scenario that forces BJD wrong: refused naming `embedded
// scenarios/curpv5.yaml`, not a path a user may hold an exported copy at.
#[test]
fn a_status_the_users_catalogs_lack_names_the_embedded_scenario_file() {
    let block = "  - code: BJD\n    active: false\n";
    assert!(CATALOGS.contains(block));
    let from = CATALOGS.find(block).unwrap();
    let to = from + CATALOGS[from..].find("\n\n").unwrap() + 1;
    let catalogs = format!("{}{}", &CATALOGS[..from], &CATALOGS[to..]);
    let (dir, _gone) = folder(
        "no-bjd",
        &[
            ("catalogs.yaml", &catalogs),
            ("personas.yaml", "- curp: PXNE660720HMCXTN06\n"),
        ],
    );
    let e = refused(load_fixtures(&dir));
    assert_eq!(e.file, "embedded scenarios/curpv5.yaml", "{e}");
    assert!(e.message.starts_with("unknown status \"BJD\""), "{e}");
}

//! A user's own personas (`--fixtures DIR/personas.yaml`): each field a
//! persona may set, as every provider and `curp person` state it; what the
//! persona leaves out; placeholders; scenarios a provider lacks; no NSS;
//! malformed files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    bycurp, create, get_data, id_check, imss, run, serving_fixtures, status_of, text, verification,
    verified,
};
use crate::common::{curp_for, temp_dir, with_check_digit, RemovedOnDrop, Resp, Sandbox};
use mxid_sandbox::config::Source;
use mxid_sandbox::curp::{nss_check_digit, nss_is_valid, Sex};
use mxid_sandbox::engine::model::LoadError;
use mxid_sandbox::time::Date;
use mxid_sandbox::Config;
use serde_json::{json, Value};

// --- helpers -----------------------------------------------------------------

/// A fresh folder holding `personas.yaml` with `text`.
fn folder(tag: &str, personas: &str) -> (PathBuf, RemovedOnDrop) {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("personas.yaml"), personas).unwrap();
    (dir.clone(), RemovedOnDrop(dir))
}

fn load_personas(text: &str) -> Result<(), LoadError> {
    let (dir, _gone) = folder("hp-load", text);
    mxid_sandbox::engine::load(
        &Config {
            fixtures: Source::Dir(dir.clone()),
            ..Config::default()
        },
        &mxid_sandbox::providers::all(),
    )
    .map(|_| ())
}

fn nss_with_digit(first10: &str) -> String {
    format!("{first10}{}", nss_check_digit(first10).unwrap())
}

/// `curp --fixtures DIR person CURP`: the person, or stderr.
fn person_cli(dir: &Path, curp: &str) -> Result<Value, String> {
    let out = run(&["curp", "--fixtures", dir.to_str().unwrap(), "person", curp]);
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn structure(sb: &Sandbox, curp: &str) -> Resp {
    sb.post(
        "/curp/validateCurpStructure",
        &[("authorization", "Bearer t")],
        json!({ "curp": curp }),
    )
    .await
}

/// An RfcByCurp and an NssByCurp verification of `curp`: their ids.
async fn rfc_and_nss(sb: &Sandbox, curp: &str) -> (String, String) {
    (
        create(
            sb,
            "/api/AsyncVerication/RfcByCurp",
            json!({"curp": curp, "state": 8}),
            &[],
        )
        .await,
        create(
            sb,
            "/api/AsyncVerication/NssByCurp",
            json!({"curp": curp}),
            &[],
        )
        .await,
    )
}

/// Compares `got` at each dotted path with its wanted text; differences
/// go to `wrong`.
fn expect(wrong: &mut Vec<String>, who: &str, got: &Value, want: &[(&str, &str)]) {
    for (k, w) in want {
        let v = k.split('.').fold(got, |v, p| &v[p]);
        if text(v) != *w {
            wrong.push(format!("{who} {k}: {v} (want {w})"));
        }
    }
}

// --- every field -------------------------------------------------------------

// README "The people behind the CURPs": "`fixtures/personas.yaml` overrides
// it for listed CURPs" (its header: "Every field but `curp` is optional and
// wins over the synthetic person"), and the providers' own forms (Decisions:
// curpv5 gender M/F/X, DD/MM/YYYY, the RENAPO state code; validacurp
// Hombre/Mujer/No binario, YYYY-MM-DD, the registry as numbers; accuauth
// upper-case entity names, `paisNacimiento` the country of the nationality
// for someone born abroad, `NO BINARIO`; curpv5's `outputDigest` the SHA-256 of
// `curp|lastName|…|curpStatus`). One persona setting every field to a
// non-default value (sex X, born abroad, an inactive status, proof 7, a
// foreign nationality, a whole registry, NSS, RFC, INE data and validacurp
// provider_data) is stated in each provider's own form, and by `curp person`.
#[tokio::test]
async fn every_field_a_persona_sets_reaches_every_provider_in_its_own_form() {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    let curp = curp_for("ALEX", "ORTEGA", "LUNA", (1991, 4, 5), Sex::X, "NE");
    let nss = nss_with_digit("4110916789");
    let yaml = format!(
        "- curp: {curp}\n  names: ALEX\n  first_surname: ORTEGA\n  second_surname: LUNA\n  \
         sex: X\n  birth_date: \"1991-04-05\"\n  birth_state: NE\n  nationality: CHN\n  \
         status: BDM\n  proof_document: 7\n  nss: \"{nss}\"\n  rfc: OELA910405KP4\n  \
         registry:\n    entity_ine: \"30\"\n    municipality_code: \"108\"\n    \
         municipality_name: \"MINATITLÁN\"\n    year: 1992\n    act_number: \"00042\"\n    \
         book: \"7\"\n    volume: \"2\"\n    page: \"19\"\n  \
         ine: {{elector_code: ORLNAL91040587X001, cic: \"123456789\", ocr: \"1234567890123\", \
         issue_number: \"01\", issue_year: 2019, registration_year: 2010, expiry_year: 2029}}\n  \
         provider_data:\n    validacurp:\n      EvidentiaryDocument: {{KeyIssuingEntity: SRE, \
         ForeignRegistrationNumber: FR-77}}\n"
    );
    let (dir, _gone) = folder("hp-every-field", &yaml);
    let sb = serving_fixtures(&dir).await;
    let mut wrong = Vec::new();

    let c = bycurp(&sb, &curp).await;
    assert_eq!(c.status, 200, "{}", c.text());
    let c = c.json();
    expect(
        &mut wrong,
        "curpv5",
        &c,
        &[
            ("curp", &curp),
            ("firstName", "ALEX"),
            ("lastName", "ORTEGA"),
            ("secondLastName", "LUNA"),
            ("gender", "X"),
            ("birthDate", "05/04/1991"),
            ("birthState", "NE"),
            ("nationalityCode", "CHN"),
            ("proofDocumentType", "7"),
            ("curpStatus", "BDM"),
        ],
    );
    let stated = format!("{curp}|ORTEGA|LUNA|ALEX|X|05/04/1991|NE|CHN|7|BDM");
    let digest: String = Sha256::digest(stated.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expect(&mut wrong, "curpv5", &c, &[("outputDigest", &digest)]);

    let g = get_data(&sb, &curp).await.json();
    expect(
        &mut wrong,
        "getData",
        &g["response"],
        &[
            ("Applicant.CURP", &curp),
            ("Applicant.Names", "ALEX"),
            ("Applicant.LastName", "ORTEGA"),
            ("Applicant.SecondLastName", "LUNA"),
            ("Applicant.GenderKey", "X"),
            ("Applicant.Gender", "No binario"),
            ("Applicant.DateOfBirth", "1991-04-05"),
            ("Applicant.Nacionality", "CHN"),
            ("Applicant.CodeEntityBirth", "NE"),
            ("Applicant.EntityBirth", "Nacido en el extranjero"),
            ("Applicant.KeyEvidentiaryDocument", "7"),
            (
                "Applicant.EvidentiaryDocument",
                "Certificado de Nacionalidad Mexicana",
            ),
            ("Applicant.CurpStatusKey", "BDM"),
            ("Applicant.StatusKey", "Baja Administrativa"),
            ("EvidentiaryDocument.YearRegistration", "1992"),
            ("EvidentiaryDocument.KeyIssuingEntity", "SRE"),
            ("EvidentiaryDocument.KeyMunicipalityRegistration", "108"),
            ("EvidentiaryDocument.MunicipalityRegistration", "MINATITLÁN"),
            ("EvidentiaryDocument.Foja", "19"),
            ("EvidentiaryDocument.Book", "7"),
            ("EvidentiaryDocument.Volume", "2"),
            ("EvidentiaryDocument.CertificateNumber", "42"),
            ("EvidentiaryDocument.RegistrantNumber", "30"),
            ("EvidentiaryDocument.RegistrationEntity", "Veracruz"),
            ("EvidentiaryDocument.ForeignRegistrationNumber", "FR-77"),
        ],
    );

    let a = id_check(&sb, &curp).await.json();
    expect(
        &mut wrong,
        "accuauth",
        &a["result"],
        &[
            ("curp", &curp),
            ("nombre", "ALEX"),
            ("apellidoPaterno", "ORTEGA"),
            ("apellidoMaterno", "LUNA"),
            ("sexo", "NO BINARIO"),
            ("fechaNacimiento", "05/04/1991"),
            ("paisNacimiento", "CHINA"),
            ("estadoNacimiento", "NACIDO EN EL EXTRANJERO"),
            ("docProbatorio", "7"),
            ("estatusCurp", "BDM"),
            ("datosDocProbatorio.entidadRegistro", "VERACRUZ"),
            ("datosDocProbatorio.claveEntidadRegistro", "30"),
            ("datosDocProbatorio.claveMunicipioRegistro", "108"),
            ("datosDocProbatorio.municipioRegistro", "MINATITLÁN"),
            ("datosDocProbatorio.anioReg", "1992"),
            ("datosDocProbatorio.numActa", "00042"),
            ("datosDocProbatorio.libro", "7"),
            ("datosDocProbatorio.tomo", "2"),
            ("datosDocProbatorio.foja", "19"),
        ],
    );
    // The constancia states the same data (WinAnsi: compared on ASCII lines).
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(a["result"]["documento"].as_str().unwrap_or(""))
        .unwrap_or_default();
    let pdf = String::from_utf8_lossy(&pdf);
    for line in [
        "(Nombre\\(s\\): ALEX)",
        "(Sexo: NO BINARIO)",
        "(Fecha de nacimiento: 05/04/1991)",
        "(Entidad de nacimiento: NACIDO EN EL EXTRANJERO)",
        "(Documento probatorio: 7)",
        "(Estatus CURP: BDM)",
    ] {
        if !pdf.contains(line) {
            wrong.push(format!("accuauth documento lacks {line}"));
        }
    }

    let n = imss(&sb, &curp, &[]).await.json();
    expect(
        &mut wrong,
        "nss",
        &n,
        &[("response.status", "FOUND"), ("response.nss", &nss)],
    );
    let s = verified(&sb, "/api/AsyncVerication/NssByCurp", json!({"curp": curp})).await;
    expect(
        &mut wrong,
        "async NssByCurp",
        &verification(&s),
        &[("nss", &nss)],
    );
    let s = verified(
        &sb,
        "/api/AsyncVerication/RfcByCurp",
        json!({"curp": curp, "state": 30}),
    )
    .await;
    expect(
        &mut wrong,
        "async RfcByCurp",
        &verification(&s),
        &[("rfc", "OELA910405KP4")],
    );
    // Its credential, of either model, is answered with its own years and
    // codes; an earlier issue number is not the credential in force.
    let ine = "/api/AsyncVerication/IneNominalList";
    let theirs = [
        ("valid", "true"),
        ("data.electorCode", "ORLNAL91040587X001"),
        ("data.issueNumber", "01"),
        ("data.issueYear", "2019"),
        ("data.registrationYear", "2010"),
        ("data.expDate", "31/12/2029"),
    ];
    for body in [
        json!({"type": "C", "id": "orlnal91040587x001", "ocr": "1234567890123", "issueNumber": "01"}),
        json!({"type": "E", "id": "123456789", "ocr": "1234567890123"}),
    ] {
        // The elector code sent in lower case is echoed in capitals.
        let s = verified(&sb, ine, body.clone()).await;
        expect(&mut wrong, &format!("{body}"), &verification(&s), &theirs);
    }
    let older = json!({"type": "C", "id": "ORLNAL91040587X001", "ocr": "1234567890123", "issueNumber": "00"});
    let v = verification(&verified(&sb, ine, older).await);
    if v["data"]["registrationYear"] != v["data"]["issueYear"] {
        wrong.push(format!("issue number 00 is a first credential: {v}"));
    }
    sb.stop().await;

    match person_cli(&dir, &curp) {
        Err(e) => wrong.push(format!("curp person: {e}")),
        Ok(p) => expect(
            &mut wrong,
            "curp person",
            &p,
            &[
                ("names", "ALEX"),
                ("first_surname", "ORTEGA"),
                ("second_surname", "LUNA"),
                ("sex", "X"),
                ("birth_date", "1991-04-05"),
                ("birth_state", "NE"),
                ("nationality", "CHN"),
                ("status", "BDM"),
                ("proof_document", "7"),
                ("nss", &nss),
                ("rfc", "OELA910405KP4"),
                ("registry.entity_ine", "30"),
                ("registry.entity_name", "Veracruz"),
                ("registry.municipality_code", "108"),
                ("registry.municipality_name", "MINATITLÁN"),
                ("registry.year", "1992"),
                ("registry.act_number", "00042"),
                ("registry.book", "7"),
                ("registry.volume", "2"),
                ("registry.page", "19"),
                ("ine.elector_code", "ORLNAL91040587X001"),
                ("ine.cic", "123456789"),
                ("ine.ocr", "1234567890123"),
                ("ine.issue_number", "01"),
                ("ine.issue_year", "2019"),
                ("ine.registration_year", "2010"),
                ("ine.expiry_year", "2029"),
            ],
        ),
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- facts that disagree with the CURP, and what is derived from them -------

// README "The people behind the CURPs": personas.yaml "overrides it for
// listed CURPs", and the persona file's header: "Every field … wins over
// the synthetic person of that CURP … The RFC and INE data are derived from
// the persona's names unless given here"; the NSS's "year digits agree with
// the birth year", the RFC follows SAT's rules, the elector code states the
// birth date and state. The README does not refuse a persona whose birth
// date, sex, state and names disagree with its CURP: every provider states
// the persona's facts alike, and what the persona leaves out (RFC, NSS, INE
// code, registry) is derived from those facts, not from the CURP's.
#[tokio::test]
async fn a_persona_whose_facts_disagree_with_its_curp_is_stated_alike_and_derives_the_rest() {
    // The CURP says ELENA SALGADO IBARRA, a woman born 1983-09-14 in Chihuahua.
    let curp = curp_for("ELENA", "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    let yaml = format!(
        "- curp: {curp}\n  names: ZOILA\n  first_surname: QUIROGA\n  second_surname: URIBE\n  \
         sex: H\n  birth_date: \"1970-02-03\"\n  birth_state: YN\n"
    );
    let (dir, _gone) = folder("hp-disagree", &yaml);
    let sb = serving_fixtures(&dir).await;
    let mut wrong = Vec::new();
    let rfc =
        mxid_sandbox::curp::rfc::rfc("QUIROGA", "URIBE", "ZOILA", Date::new(1970, 2, 3).unwrap());

    expect(
        &mut wrong,
        "curpv5",
        &bycurp(&sb, &curp).await.json(),
        &[
            ("firstName", "ZOILA"),
            ("lastName", "QUIROGA"),
            ("gender", "M"),
            ("birthDate", "03/02/1970"),
            ("birthState", "YN"),
        ],
    );
    expect(
        &mut wrong,
        "getData",
        &get_data(&sb, &curp).await.json()["response"],
        &[
            ("Applicant.Names", "ZOILA"),
            ("Applicant.GenderKey", "H"),
            ("Applicant.DateOfBirth", "1970-02-03"),
            ("Applicant.CodeEntityBirth", "YN"),
            ("Applicant.EntityBirth", "Yucatán"),
            ("EvidentiaryDocument.RegistrantNumber", "31"),
        ],
    );
    expect(
        &mut wrong,
        "accuauth",
        &id_check(&sb, &curp).await.json()["result"],
        &[
            ("nombre", "ZOILA"),
            ("sexo", "HOMBRE"),
            ("fechaNacimiento", "03/02/1970"),
            ("estadoNacimiento", "YUCATAN"),
            ("datosDocProbatorio.claveEntidadRegistro", "31"),
        ],
    );
    let nss = text(&imss(&sb, &curp, &[]).await.json()["response"]["nss"]);
    if !nss_is_valid(&nss) || nss.get(4..6) != Some("70") {
        wrong.push(format!("nss {nss}: not valid or not of a birth in 1970"));
    }
    let s = verified(&sb, "/api/AsyncVerication/NssByCurp", json!({"curp": curp})).await;
    expect(
        &mut wrong,
        "async NssByCurp",
        &verification(&s),
        &[("nss", &nss)],
    );
    let s = verified(
        &sb,
        "/api/AsyncVerication/RfcByCurp",
        json!({"curp": curp, "state": 31}),
    )
    .await;
    expect(
        &mut wrong,
        "async RfcByCurp",
        &verification(&s),
        &[("rfc", &rfc)],
    );
    sb.stop().await;

    match person_cli(&dir, &curp) {
        Err(e) => wrong.push(format!("curp person: {e}")),
        Ok(p) => {
            expect(
                &mut wrong,
                "curp person",
                &p,
                &[
                    ("names", "ZOILA"),
                    ("sex", "H"),
                    ("birth_date", "1970-02-03"),
                    ("birth_state", "YN"),
                    ("nss", &nss),
                    ("rfc", &rfc),
                    ("registry.entity_ine", "31"),
                ],
            );
            // Elector code: QR UR ZL 700203 31 H ddd.
            let code = text(&p["ine"]["elector_code"]);
            if code.get(..14) != Some("QRURZL70020331") || code.get(14..15) != Some("H") {
                wrong.push(format!("curp person elector code {code}"));
            }
            let registered = p["ine"]["registration_year"].as_i64().unwrap_or(0);
            if registered < 1988 {
                wrong.push(format!("INE registration {registered}: before 18"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// README, "The people behind the CURPs": of a persona's `ine` years,
/// those it leaves out follow the ones it gives (issue number `00` when
/// issued the year of registration, expiry ten years after issue), as
/// `curp person` prints them. Each used to keep the synthetic person's.
#[test]
fn a_personas_partial_ine_data_is_completed_by_the_readme_rules() {
    let c = |n: &str| curp_for(n, "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    // Born 2007: 18 in 2025, the last year a credential is issued in.
    let young = |n: &str| curp_for(n, "SALGADO", "IBARRA", (2007, 6, 15), Sex::M, "CH");
    let cases = [
        (c("ELENA"), "{issue_year: 2016}"),
        (c("ROSA"), "{issue_number: \"00\"}"),
        (c("LUZ"), "{registration_year: 2018, issue_year: 2018}"),
        (
            c("ANA"),
            "{registration_year: 2010, issue_year: 2019, issue_number: \"02\"}",
        ),
        (young("JUANA"), "{issue_number: \"02\"}"),
        (young("SARA"), "{issue_year: 2025, issue_number: \"03\"}"),
    ];
    let yaml: String = cases
        .iter()
        .map(|(curp, ine)| format!("- curp: {curp}\n  ine: {ine}\n"))
        .collect();
    let (dir, _gone) = folder("hp-ine", &yaml);
    let mut wrong = Vec::new();
    for (curp, given) in &cases {
        let p = person_cli(&dir, curp).unwrap();
        let ine = &p["ine"];
        let (issue, registration, expiry) = (
            ine["issue_year"].as_i64().unwrap(),
            ine["registration_year"].as_i64().unwrap(),
            ine["expiry_year"].as_i64().unwrap(),
        );
        let number = text(&ine["issue_number"]);
        if expiry != issue + 10 {
            wrong.push(format!(
                "ine {given}: expiry_year {expiry}, not ten years after issue_year {issue}"
            ));
        }
        // The derived years keep the rules: no issue after 2025 (the
        // young ones' replacement is in 2025, the year they came of age),
        // no registration before 18. A replacement number the years cannot
        // hold (registered and issued the one year the holder was 18 in)
        // keeps its number.
        let born = p["birth_date"].as_str().unwrap()[..4]
            .parse::<i64>()
            .unwrap();
        if issue > 2025 || registration < born + 18 {
            wrong.push(format!(
                "ine {given}: registration_year {registration} and issue_year {issue} for someone born {born}"
            ));
        }
        if (number == "00") != (issue == registration) && born + 18 < 2025 {
            wrong.push(format!(
                "ine {given}: issue_number {number} with issue_year {issue} and registration_year {registration}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- CURPs that fail RENAPO's rules ------------------------------------------

// README: curpv5 "a CURP that passes RENAPO's strict rules, or a persona →
// `success`"; validacurp getData "a persona is found even when it fails the
// rules", validateCurpStructure still `{"valido": false}` for it; accuauth
// "→ `invalid_id_number`, unless it is a persona"; async "the document's
// placeholder …, is a persona and passes". User personas whose CURPs fail a
// rule other than those already tested (a wrong check digit, an
// inconvenient word, a consonant in place 2, a vowel in place 14) and one
// born in 2030 are found by all five providers, stated alike, and printed by
// `curp person`; the one born in 2030 has no NSS (not yet 16).
#[tokio::test]
async fn personas_whose_curp_fails_renapos_rules_are_one_person_everywhere() {
    let good = curp_for("ELENA", "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    let wrong_digit = format!("{}{}", &good[..17], (good.as_bytes()[17] - b'0' + 1) % 10);
    let born_2030 = with_check_digit("SAIE300914MCHLBLA");
    let curps = [
        wrong_digit,
        with_check_digit("BUEY830914HCHLBL0"),
        with_check_digit("SBIE830914MCHLBL0"),
        with_check_digit("SAIE830914MCHABL0"),
        born_2030.clone(),
    ];
    let yaml: String = curps
        .iter()
        .map(|c| format!("- curp: {c}\n  status: RCN\n"))
        .collect();
    let (dir, _gone) = folder("hp-rules", &yaml);
    let sb = serving_fixtures(&dir).await;
    let mut wrong = Vec::new();
    for curp in &curps {
        let adult = curp != &born_2030;
        let c = bycurp(&sb, curp).await;
        let g = get_data(&sb, curp).await;
        let a = id_check(&sb, curp).await;
        let n = imss(&sb, curp, &[]).await;
        for (who, r) in [("curpv5", &c), ("getData", &g), ("accuauth", &a)] {
            if r.scenario() != "success" {
                wrong.push(format!("{who} {curp}: {} {}", r.scenario(), r.text()));
            }
        }
        let want_nss = if adult { "success" } else { "not_found" };
        if n.scenario() != want_nss {
            wrong.push(format!("nss {curp}: {} (want {want_nss})", n.scenario()));
        }
        let valido = structure(&sb, curp).await.json()["response"]["valido"].clone();
        if valido != json!(!adult) {
            wrong.push(format!("validateCurpStructure {curp}: valido {valido}"));
        }
        let rfc = verified(
            &sb,
            "/api/AsyncVerication/RfcByCurp",
            json!({"curp": curp, "state": 8}),
        )
        .await;
        let nssv = verified(&sb, "/api/AsyncVerication/NssByCurp", json!({"curp": curp})).await;
        let p = match person_cli(&dir, curp) {
            Ok(p) => p,
            Err(e) => {
                wrong.push(format!("curp person {curp}: {e}"));
                continue;
            }
        };
        let (c, g, a) = (c.json(), g.json(), a.json());
        let names = [
            text(&c["firstName"]),
            text(&g["response"]["Applicant"]["Names"]),
            text(&a["result"]["nombre"]),
            text(&p["names"]),
        ];
        if names.iter().any(|n| n != &names[0]) || c["curpStatus"] != "RCN" {
            wrong.push(format!(
                "{curp}: names {names:?}, status {}",
                c["curpStatus"]
            ));
        }
        if adult && verification(&rfc)["rfc"] != p["rfc"] {
            wrong.push(format!("{curp}: RfcByCurp {rfc} vs person {}", p["rfc"]));
        }
        // Born in 2030: under 16, no RFC at the SAT.
        if !adult && (rfc["warnings"][0]["code"] != "RFC008" || p["rfc"] != "") {
            wrong.push(format!("{curp}: RfcByCurp {rfc}, person rfc {}", p["rfc"]));
        }
        if adult {
            if verification(&nssv)["nss"] != p["nss"] || n.json()["response"]["nss"] != p["nss"] {
                wrong.push(format!(
                    "{curp}: NssByCurp {nssv} / nss {} vs person {}",
                    n.text(),
                    p["nss"]
                ));
            }
        } else if nssv["warnings"][0]["code"] != "NSS005" || p["nss"] != "" {
            wrong.push(format!("{curp}: NssByCurp {nssv}, person nss {}", p["nss"]));
        }
    }
    sb.stop().await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- a scenario one provider lacks --------------------------------------------

// README "The people behind the CURPs": "A persona may name a scenario for
// every provider (`scenario`) or per provider (`scenarios: {nss:
// not_found}`)"; Command line, `curp person`: "a provider without it
// answers the persona with a person"; nss/accuauth: "personas that name a
// scenario do not count". A persona whose scenario only nss has
// (`subdelegation_validate`), only curpv5 (`renapo_01_06`), nss, accuauth
// and async NssByCurp but not RfcByCurp (`attempts_exceeded`), or async's
// timeline (`recovers_on_retry`, driven by the sandbox clock) gets it where
// it is defined and its person everywhere else, and `curp person` prints
// that person.
#[tokio::test]
async fn a_persona_scenario_a_provider_lacks_leaves_that_provider_answering_the_person() {
    let c = |n: &str| curp_for(n, "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    let (sub, renapo, exceeded, recovers) = (c("ELENA"), c("ROSA"), c("LUZ"), c("ANA"));
    let nss = nss_with_digit("3101834567");
    let yaml = format!(
        "- curp: {sub}\n  names: ELENA\n  scenario: subdelegation_validate\n\
         - curp: {renapo}\n  names: ROSA\n  scenario: renapo_01_06\n\
         - curp: {exceeded}\n  names: LUZ\n  scenario: attempts_exceeded\n\
         - curp: {recovers}\n  names: ANA\n  rfc: SAIA830914QW3\n  nss: \"{nss}\"\n  \
         scenarios: {{async: recovers_on_retry}}\n"
    );
    let (dir, _gone) = folder("hp-lacking", &yaml);
    let sb = serving_fixtures(&dir).await;
    let mut wrong = Vec::new();
    let answered = |wrong: &mut Vec<String>, who: &str, curp: &str, r: &Resp, scenario: &str| {
        if r.scenario() != scenario {
            wrong.push(format!(
                "{who} {curp}: {} {} (want {scenario})",
                r.scenario(),
                r.text()
            ));
        }
    };
    for (curp, name) in [(&sub, "ELENA"), (&renapo, "ROSA"), (&exceeded, "LUZ")] {
        let (c, g, a, n) = (
            bycurp(&sb, curp).await,
            get_data(&sb, curp).await,
            id_check(&sb, curp).await,
            imss(&sb, curp, &[]).await,
        );
        answered(&mut wrong, "getData", curp, &g, "success");
        if g.json()["response"]["Applicant"]["Names"] != name {
            wrong.push(format!("getData {curp}: {}", g.text()));
        }
        match name {
            "ELENA" => {
                answered(&mut wrong, "curpv5", curp, &c, "success");
                answered(&mut wrong, "accuauth", curp, &a, "success");
                answered(&mut wrong, "nss", curp, &n, "subdelegation_validate");
            }
            "ROSA" => {
                answered(&mut wrong, "curpv5", curp, &c, "renapo_01_06");
                answered(&mut wrong, "accuauth", curp, &a, "success");
                answered(&mut wrong, "nss", curp, &n, "success");
            }
            _ => {
                answered(&mut wrong, "curpv5", curp, &c, "success");
                answered(&mut wrong, "accuauth", curp, &a, "attempts_exceeded");
                answered(&mut wrong, "nss", curp, &n, "attempts_exceeded");
            }
        }
    }
    // The async verifications, created together, then the clock driven.
    let (rfc_sub, nss_sub) = rfc_and_nss(&sb, &sub).await;
    let (rfc_ex, nss_ex) = rfc_and_nss(&sb, &exceeded).await;
    let (rfc_rec, nss_rec) = rfc_and_nss(&sb, &recovers).await;
    sb.advance("2s").await;
    let person = |curp: &str| person_cli(&dir, curp).unwrap_or(Value::Null);
    let (p_sub, p_ex) = (person(&sub), person(&exceeded));
    let s = status_of(&sb, &rfc_sub).await;
    if verification(&s)["rfc"] != p_sub["rfc"] || p_sub["rfc"].is_null() {
        wrong.push(format!("RfcByCurp {sub}: {s} vs person {}", p_sub["rfc"]));
    }
    let s = status_of(&sb, &nss_sub).await;
    if verification(&s)["nss"] != p_sub["nss"] || p_sub["nss"].is_null() {
        wrong.push(format!("NssByCurp {sub}: {s} vs person {}", p_sub["nss"]));
    }
    let s = status_of(&sb, &rfc_ex).await;
    if verification(&s)["rfc"] != p_ex["rfc"] || p_ex["rfc"].is_null() {
        wrong.push(format!(
            "RfcByCurp {exceeded}: {s} vs person {}",
            p_ex["rfc"]
        ));
    }
    let s = status_of(&sb, &nss_ex).await;
    if s["warnings"][0]["code"] != "NSS008" {
        wrong.push(format!("NssByCurp {exceeded}: {s}"));
    }
    for id in [&rfc_rec, &nss_rec] {
        let s = status_of(&sb, id).await;
        if s["verificationStatus"] != 2 {
            wrong.push(format!("recovers_on_retry at +2 s: {s}"));
        }
    }
    sb.advance("20m").await;
    let s = status_of(&sb, &rfc_rec).await;
    if s["verificationStatus"] != 4 || verification(&s)["rfc"] != "SAIA830914QW3" {
        wrong.push(format!("recovers_on_retry RfcByCurp at +20 min: {s}"));
    }
    let s = status_of(&sb, &nss_rec).await;
    if s["verificationStatus"] != 4 || verification(&s)["nss"] != nss.as_str() {
        wrong.push(format!("recovers_on_retry NssByCurp at +20 min: {s}"));
    }
    // Only the realistic path counts: the persona's named scenarios do not.
    let counters = sb.admin_get("/__admin/counters").await.to_string();
    for curp in [&exceeded, &recovers] {
        if counters.contains(curp.as_str()) {
            wrong.push(format!("{curp} counted: {counters}"));
        }
    }
    sb.stop().await;
    for (curp, name) in [
        (&sub, "ELENA"),
        (&renapo, "ROSA"),
        (&exceeded, "LUZ"),
        (&recovers, "ANA"),
    ] {
        match person_cli(&dir, curp) {
            Ok(p) if p["names"] == name => {}
            other => wrong.push(format!("curp person {curp}: {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- no NSS at IMSS ------------------------------------------------------------

// README: "`nss: \"\"` is a person IMSS has not registered: the realistic
// paths of nss and async NssByCurp do not find one (after the daily
// counter)"; nss "`not_found` for a person RENAPO knows without an NSS (a
// persona with `nss: \"\"` …)"; Decisions: "a success forced for them states
// the document's example NSS, `08189782793`, whatever personas the fixtures
// list". A user's persona without NSS: nss not_found twice then
// attempts_exceeded; NssByCurp NSS005 twice then NSS008; a forced success
// states 08189782793 on both; RfcByCurp still finds the RFC; `curp person`
// prints `nss: ""`.
#[tokio::test]
async fn a_user_persona_without_nss_is_not_found_at_imss_after_the_counter() {
    let curp = curp_for("ELENA", "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    let yaml = format!("- curp: {curp}\n  names: ELENA\n  nss: \"\"\n  rfc: SAIE830914QW3\n");
    let (dir, _gone) = folder("hp-no-nss", &yaml);
    let sb = serving_fixtures(&dir).await;
    let mut wrong = Vec::new();
    for want in ["not_found", "not_found", "attempts_exceeded"] {
        let r = imss(&sb, &curp, &[]).await;
        if r.scenario() != want {
            wrong.push(format!("nss: {} {} (want {want})", r.scenario(), r.text()));
        }
    }
    let forced = imss(&sb, &curp, &[("X-Sandbox-Scenario", "success")])
        .await
        .json();
    if forced["response"]["nss"] != "08189782793" {
        wrong.push(format!("nss forced success: {forced}"));
    }
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            create(
                &sb,
                "/api/AsyncVerication/NssByCurp",
                json!({"curp": curp}),
                &[],
            )
            .await,
        );
    }
    let forced_id = create(
        &sb,
        "/api/AsyncVerication/NssByCurp",
        json!({"curp": curp}),
        &[("X-Sandbox-Scenario", "success")],
    )
    .await;
    let rfc_id = create(
        &sb,
        "/api/AsyncVerication/RfcByCurp",
        json!({"curp": curp, "state": 8}),
        &[],
    )
    .await;
    sb.advance("2s").await;
    for (id, want) in ids.iter().zip(["NSS005", "NSS005", "NSS008"]) {
        let s = status_of(&sb, id).await;
        if s["warnings"][0]["code"] != want || !s["verification"].is_null() {
            wrong.push(format!("NssByCurp (want {want}): {s}"));
        }
    }
    let s = status_of(&sb, &forced_id).await;
    if verification(&s)["nss"] != "08189782793" {
        wrong.push(format!("NssByCurp forced success: {s}"));
    }
    let s = status_of(&sb, &rfc_id).await;
    if verification(&s)["rfc"] != "SAIE830914QW3" {
        wrong.push(format!("RfcByCurp: {s}"));
    }
    sb.stop().await;
    match person_cli(&dir, &curp) {
        Ok(p) if p["nss"] == "" && p["names"] == "ELENA" => {}
        other => wrong.push(format!("curp person: {other:?}")),
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// --- malformed persona files ---------------------------------------------------

// SPEC §8: "Invalid YAML never starts a half-configured server; a reload
// with invalid YAML keeps the old configuration and says why", and `check`
// "exits non-zero with file, line and field on error"; README "The fixture
// files" / "The scenario files" (unknown fields, a key written twice, … are
// refused with file, line and field). Each malformed persona below is
// refused at load naming `personas.yaml`, its line and field (the index of
// the persona in the list); `serve` stops with exit 1 before its ready line,
// saying where; a reload keeps the people it had.
#[tokio::test]
async fn malformed_persona_files_are_refused_at_their_line_and_field() {
    const C: &str = "PXNE660720HMCXTN06";
    const D: &str = "NAZA650704MTLVCL05";
    let ok = format!("- curp: {D}\n  names: ADRIANA\n");
    let cases: Vec<(String, usize, &str)> = vec![
        (format!("- curp: {C}\n  sex: F\n"), 2, "[0].sex"),
        (
            format!("- curp: {C}\n  nss: \"0818978279\"\n"),
            2,
            "[0].nss",
        ),
        (
            format!("- curp: {C}\n  proof_document: 300\n"),
            2,
            "[0].proof_document",
        ),
        (
            format!("- curp: {C}\n  ine: {{issue_year: 70000}}\n"),
            2,
            "[0].ine.issue_year",
        ),
        (
            format!("- curp: {C}\n  ine: {{pin: \"1234\"}}\n"),
            2,
            "[0].ine",
        ),
        (
            format!("- curp: {C}\n  scenarios: {{nss: [a]}}\n"),
            2,
            "[0].scenarios.nss",
        ),
        (
            format!("- curp: {C}\n  scenarios: {{NSS: not_found}}\n"),
            2,
            "[0].scenarios.NSS",
        ),
        (
            format!("- curp: {C}\n  scenarios: {{nss: deceased}}\n"),
            2,
            "[0].scenarios.nss",
        ),
        (
            format!("- curp: {C}\n  scenario: no_such_scenario\n"),
            2,
            "[0].scenario",
        ),
        (
            format!("- curp: {C}\n  scenario: \" \"\n"),
            2,
            "[0].scenario",
        ),
        (format!("- curp: {C}\n  names: [A, B]\n"), 2, "[0].names"),
        (format!("- curp: {C}\n  names: A\n  names: B\n"), 3, "[0]"),
        (format!("{ok}- names: X\n"), 3, "[1]"),
        (format!("{ok}- curp: {C}\n  status: bd\n"), 4, "[1].status"),
        (
            format!("{ok}- curp: {C}\n  birth_state: mc\n"),
            4,
            "[1].birth_state",
        ),
        (format!("{ok}- curp: pxne660720hmcxtn06\n"), 3, "[1].curp"),
        (format!("{ok}- curp: {C}\n- curp: {C}\n"), 4, "[2].curp"),
        (
            format!("{ok}- curp: {C}\n  provider_data: {{nss: {{nss: \"1\"}}}}\n"),
            4,
            "[1].provider_data.nss",
        ),
        // INE codes in a form IneNominalList refuses: never presentable.
        (
            format!("- curp: {C}\n  ine: {{elector_code: ABC}}\n"),
            2,
            "[0].ine.elector_code",
        ),
        (
            format!("- curp: {C}\n  ine: {{cic: \"12345\"}}\n"),
            2,
            "[0].ine.cic",
        ),
        (
            format!("- curp: {C}\n  ine: {{ocr: \"12345\"}}\n"),
            2,
            "[0].ine.ocr",
        ),
    ];
    let mut wrong = Vec::new();
    let said = ": IneNominalList refuses it, so the credential could never be presented";
    if !load_personas(&format!("- curp: {C}\n  ine: {{cic: \"12345\"}}\n")).is_err_and(|e| {
        e.message
            .ends_with(&format!("\"12345\" is not 9 digits{said}"))
    }) {
        wrong.push("a CIC of 5 digits is not told it needs 9".into());
    }
    for (text, line, field) in &cases {
        match load_personas(text) {
            Ok(()) => wrong.push(format!("accepted: {text:?}")),
            Err(e) => {
                if !e.file.ends_with("personas.yaml")
                    || e.line != Some(*line)
                    || e.field.as_deref() != Some(*field)
                    || e.message.trim().is_empty()
                {
                    wrong.push(format!("{text:?}: want line {line} field {field}, got {e}"));
                }
            }
        }
    }

    // serve: refused before it binds, saying where.
    let bad = format!("{ok}- curp: {C}\n  sex: F\n");
    let (dir, _gone) = folder("hp-serve", &bad);
    let out = run(&["serve", "--port", "0", "--fixtures", dir.to_str().unwrap()]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if out.status.code() != Some(1)
        || stdout.contains("listening")
        || !stderr.contains("personas.yaml:4:")
        || !stderr.contains("[1].sex")
    {
        wrong.push(format!(
            "serve: {:?} {stdout:?} {stderr:?}",
            out.status.code()
        ));
    }

    // A reload of a malformed file keeps the people the server had.
    std::fs::write(dir.join("personas.yaml"), &ok).unwrap();
    let sb = serving_fixtures(&dir).await;
    let before = bycurp(&sb, D).await.json()["firstName"].clone();
    std::fs::write(dir.join("personas.yaml"), &bad).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    if r.status != 400 || !r.text().contains("personas.yaml:4:") {
        wrong.push(format!("reload: {} {}", r.status, r.text()));
    }
    let after = bycurp(&sb, D).await.json()["firstName"].clone();
    if before != "ADRIANA" || after != "ADRIANA" {
        wrong.push(format!(
            "people around the refused reload: {before} -> {after}"
        ));
    }
    let p = id_check(&sb, C).await.json();
    if p["result"]["sexo"] != "HOMBRE" {
        wrong.push(format!("half-loaded persona after the refused reload: {p}"));
    }
    sb.stop_within(Duration::from_secs(5)).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// README, Command line: `curp person` exits 1 for a persona every
/// provider answers not found, which asks a `not_found` scenario of every
/// endpoint that can answer not found. A persona whose scenario is
/// `not_found2` is answered with a person by async's NssByCurp, which lacks
/// it (RfcByCurp has it), so `curp person` prints the person.
#[tokio::test]
async fn curp_person_prints_a_persona_async_nss_by_curp_answers_with_a_person() {
    let curp = curp_for("ELENA", "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    let yaml = format!(
        "- curp: {curp}\n  names: ELENA\n  scenario: not_found2\n  \
         scenarios: {{curpv5: not_found, validacurp: not_found, accuauth: not_found}}\n"
    );
    let (dir, _gone) = folder("hp-found-nowhere", &yaml);
    let sb = serving_fixtures(&dir).await;
    let s = verified(&sb, "/api/AsyncVerication/NssByCurp", json!({"curp": curp})).await;
    let nss = verification(&s)["nss"].clone();
    assert!(
        s["verificationStatus"] == 4 && nss.is_string(),
        "NssByCurp answers the persona with a person: {s}"
    );
    // The others do answer it not found.
    assert_eq!(bycurp(&sb, &curp).await.scenario(), "not_found");
    assert_eq!(imss(&sb, &curp, &[]).await.scenario(), "not_found2");
    sb.stop().await;
    match person_cli(&dir, &curp) {
        Ok(p) => assert_eq!(p["nss"], nss, "{p}"),
        Err(e) => {
            panic!("async NssByCurp answers {curp} with the NSS {nss}, but `curp person` says: {e}")
        }
    }
}

// README "How a scenario is chosen", step 4 (a persona whose CURP matches),
// and async: the holder of an INE credential is "the person whose
// credential it is … a persona's". A persona that asks for `not_found` on
// async (or on every provider) is not found by IneNominalList either, when
// found by its credential: `valid` and `canVote` false, `data` null. The
// journal states no CURP for it: the request states none.
#[tokio::test]
async fn a_persona_found_by_its_credential_answers_its_scenario() {
    let every = curp_for("ROSA", "LOPEZ", "MARTINEZ", (1980, 2, 3), Sex::M, "DF");
    let only_async = curp_for("JUAN", "PEREZ", "GOMEZ", (1975, 6, 7), Sex::H, "JC");
    let ine = |code: &str, cic: &str| {
        format!(
            "  ine: {{elector_code: {code}, cic: \"{cic}\", ocr: \"1111111111111\", \
             issue_number: \"01\", issue_year: 2019, registration_year: 2010}}\n"
        )
    };
    let yaml = format!(
        "- curp: {every}\n  scenario: not_found\n{}- curp: {only_async}\n  scenarios: {{async: not_found}}\n{}",
        ine("LPMRRS80020309M001", "111111111"),
        ine("PRGMJN75060714H002", "222222222")
    );
    let (dir, _gone) = folder("hp-ine-scenario", &yaml);
    let sb = serving_fixtures(&dir).await;
    let path = "/api/AsyncVerication/IneNominalList";
    for body in [
        json!({"type": "C", "id": "LPMRRS80020309M001", "ocr": "1111111111111", "issueNumber": "01"}),
        json!({"type": "F", "id": "111111111", "ocr": "1111111111111"}),
        json!({"type": "c", "id": "prgmjn75060714h002", "ocr": "1111111111111", "issueNumber": "01"}),
        json!({"type": "D", "id": "222222222", "ocr": "1111111111111"}),
    ] {
        let s = verified(&sb, path, body.clone()).await;
        assert_eq!(s["verificationStatus"], 4, "{body}: {s}");
        assert_eq!(
            verification(&s),
            json!({"valid": false, "canVote": false, "data": null}),
            "{body}: {s}"
        );
    }
    // Another OCR is not their credential: found, as any credential is.
    let other = json!({"type": "D", "id": "222222222", "ocr": "1111111111112"});
    let v = verification(&verified(&sb, path, other).await);
    assert_eq!(v["valid"], true, "{v}");
    let journal = sb.admin_get("/__admin/requests").await;
    let ine_entries: Vec<&Value> = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == path)
        .collect();
    assert_eq!(ine_entries.len(), 5, "{journal:#}");
    assert!(
        ine_entries.iter().all(|e| e["curp"].is_null()),
        "{journal:#}"
    );
    sb.stop().await;
}

// README, personas: "two personas writing out one CIC or one elector code
// (in any letter case) are refused": a CIC is one credential's and an
// elector code one voter's, and IneNominalList answers one holder, whatever
// OCR goes with it (one left out is derived from the CURP, and two CURPs
// may derive one). Refused at load at the second one's code, naming the
// first; one OCR with two CICs is two credentials.
#[test]
fn two_personas_writing_one_ine_code_are_refused() {
    let a = curp_for("ROSA", "LOPEZ", "MARTINEZ", (1980, 2, 3), Sex::M, "DF");
    let b = curp_for("JUAN", "PEREZ", "GOMEZ", (1975, 6, 7), Sex::H, "JC");
    let two = |ine_a: &str, ine_b: &str| {
        format!("- curp: {a}\n  ine: {ine_a}\n- curp: {b}\n  ine: {ine_b}\n")
    };
    let cic = "[1].ine.cic";
    let code = "[1].ine.elector_code";
    for (text, refused) in [
        (
            two(
                "{cic: \"111111111\", ocr: \"2222222222222\"}",
                "{cic: \"111111111\", ocr: \"2222222222222\"}",
            ),
            Some(cic),
        ),
        (
            two(
                "{cic: \"111111111\", ocr: \"2222222222222\"}",
                "{cic: \"111111111\", ocr: \"3333333333333\"}",
            ),
            Some(cic),
        ),
        (
            two("{cic: \"111111111\"}", "{cic: \"111111111\"}"),
            Some(cic),
        ),
        (
            two(
                "{elector_code: LPMRRS80020309M001}",
                "{elector_code: lpmrrs80020309m001, issue_number: \"03\"}",
            ),
            Some(code),
        ),
        (
            two(
                "{cic: \"111111111\", ocr: \"2222222222222\"}",
                "{cic: \"999999999\", ocr: \"2222222222222\"}",
            ),
            None,
        ),
    ] {
        match (load_personas(&text), refused) {
            (Ok(()), None) => {}
            (Ok(()), Some(_)) => panic!("accepted: {text}"),
            (Err(e), None) => panic!("{text}: {e}"),
            (Err(e), Some(field)) => {
                assert_eq!(e.line, Some(4), "{e}");
                assert_eq!(e.field.as_deref(), Some(field), "{e}");
                assert!(e.message.contains(&a) && e.message.contains(&b), "{e}");
            }
        }
    }
}

// README, Decisions "INE credentials": a persona that writes a credential out
// wins it over a person (a persona among them) whose credential it is by
// derivation: IneNominalList answers the persona that gave it, with the
// years it gave.
#[tokio::test]
async fn a_persona_that_writes_a_credential_out_wins_it_over_one_that_derives_it() {
    let epn = "PXNE660720HMCXTN06";
    let other = curp_for("ANA", "TORRES", "GARCIA", (1980, 1, 1), Sex::M, "DF");
    let (dir, _gone) = folder("hp-ine-written", &format!("- curp: {epn}\n"));
    let derived = person_cli(&dir, epn).unwrap()["ine"].clone();
    let (code, cic, ocr, number) = (
        text(&derived["elector_code"]),
        text(&derived["cic"]),
        text(&derived["ocr"]),
        text(&derived["issue_number"]),
    );
    std::fs::write(
        dir.join("personas.yaml"),
        format!(
            "- curp: {epn}\n- curp: {other}\n  ine: {{elector_code: {code}, cic: \"{cic}\", ocr: \"{ocr}\", \
             issue_number: \"{number}\", registration_year: 1999, issue_year: 2021}}\n"
        ),
    )
    .unwrap();
    let sb = serving_fixtures(&dir).await;
    let path = "/api/AsyncVerication/IneNominalList";
    for body in [
        json!({"type": "C", "id": code, "ocr": ocr, "issueNumber": number}),
        json!({"type": "D", "id": cic, "ocr": ocr}),
    ] {
        let v = verification(&verified(&sb, path, body.clone()).await);
        assert_eq!(v["data"]["registrationYear"], "1999", "{body}: {v}");
        assert_eq!(v["data"]["issueYear"], "2021", "{body}: {v}");
    }
    sb.stop().await;
}

// README, "The people behind the CURPs": IneNominalList answers a
// credential for its holder when they are of `MEX` nationality. A persona
// that writes `nationality: mex` is Mexican on every provider: accuauth
// names the country MEXICO, and IneNominalList answers its own credential
// (it had taken the lower-case code for a foreigner's).
#[tokio::test]
async fn a_nationality_written_in_lower_case_is_mexican_everywhere() {
    let curp = curp_for("ELENA", "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    let (dir, _gone) = folder("hp-mex", &format!("- curp: {curp}\n  nationality: mex\n"));
    let ine = person_cli(&dir, &curp).unwrap()["ine"].clone();
    let sb = serving_fixtures(&dir).await;
    let country = id_check(&sb, &curp).await.json()["result"]["paisNacimiento"].clone();
    let body = json!({"type": "D", "id": ine["cic"], "ocr": ine["ocr"]});
    let v = verification(&verified(&sb, "/api/AsyncVerication/IneNominalList", body).await);
    sb.stop().await;
    assert_eq!(country, "MEXICO");
    assert_eq!(v["data"]["electorCode"], ine["elector_code"], "{v}");
}

// Persona probe: a mistake is told what to write, in the files' words: the
// codes a state or entity may be, a day that is not one, a number and its
// range (not Rust's `u16`), a mapping (not `struct RegistryPatch`).
#[test]
fn a_personas_mistakes_are_told_what_to_write() {
    const C: &str = "PXNE660720HMCXTN06";
    let cases = [
        (
            "birth_state: ne",
            "unknown renapo state code \"ne\"; the catalogs list AS, BC, ",
        ),
        (
            "registry: {entity_ine: \"9\"}",
            "unknown entity \"9\"; the catalogs' INE codes are 01, 02, ",
        ),
        (
            "birth_date: \"2007-02-30\"",
            "'2007-02-30' is no day of the calendar: 2007-02 has 28 days",
        ),
        (
            "registry: {year: \"1930\"}",
            "expected a whole number from 0 to 65535",
        ),
        (
            "proof_document: \"1\"",
            "expected a whole number from 0 to 255",
        ),
        ("registry: []", "expected a mapping"),
    ];
    let mut wrong = Vec::new();
    for (line, said) in cases {
        match load_personas(&format!("- curp: {C}\n  {line}\n")) {
            Err(e) if e.message.contains(said) => {}
            other => wrong.push(format!("{line}: {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README, "The people behind the CURPs": a foreigner's credential is
// nobody's "unless the persona writes its credential out": its elector
// code or CIC. A foreign persona that writes INE years alone still has a
// credential IneNominalList answers for a synthetic holder.
#[tokio::test]
async fn a_foreign_persona_writing_only_ine_years_holds_no_credential() {
    let curp = curp_for("ELENA", "SALGADO", "IBARRA", (1983, 9, 14), Sex::M, "CH");
    let yaml = format!("- curp: {curp}\n  nationality: USA\n  ine: {{issue_year: 2016}}\n");
    let (dir, _gone) = folder("hp-foreign-years", &yaml);
    let ine = person_cli(&dir, &curp).unwrap()["ine"].clone();
    let sb = serving_fixtures(&dir).await;
    let body = json!({"type": "D", "id": ine["cic"], "ocr": ine["ocr"]});
    let v = verification(&verified(&sb, "/api/AsyncVerication/IneNominalList", body).await);
    sb.stop().await;
    assert_eq!(v["valid"], true, "{v}");
    assert_ne!(v["data"]["electorCode"], ine["elector_code"], "{v}");
}

// README async: "`rfc: ""` is a person the SAT has not registered", and a
// `success` forced for such a person states the SAT's generic RFC. The
// verificationStatus `success` forced on an unknown id states the example
// CURP's RFC (`XAXA010101XXXXXX01`): generic too when the user's persona
// for that CURP has none.
#[tokio::test]
async fn a_forced_status_for_a_persona_without_an_rfc_states_the_generic_one() {
    let (dir, _gone) = folder("hp-no-rfc", "- curp: XAXA010101XXXXXX01\n  rfc: \"\"\n");
    let sb = serving_fixtures(&dir).await;
    let r = sb
        .send(
            "GET",
            "/api/AsyncVerication/verificationStatus?verificationId=00000000-0000-4000-8000-000000000001",
            &[("apikey", "ak"), ("x-sandbox-scenario", "success")],
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["verification"],
        "{\"rfc\":\"XAXX010101000\"}",
        "{}",
        r.text()
    );
    sb.stop().await;
}

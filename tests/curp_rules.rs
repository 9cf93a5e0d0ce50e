//! The CURP domain against the official rules and their published worked
//! examples: RENAPO's Instructivo Normativo para la Asignación de la CURP
//! (CURP letters, inconvenient words, differentiator, check digit), SAT's
//! "Algoritmo para generar el RFC con homoclave para personas físicas y
//! morales" (INFOMEX request 0610100135506: letters, homoclave, check digit)
//! and the IMSS NSS check digit, plus every CURP and NSS the provider
//! documents (`shared/seeds/`) print.
//!
//! Each rule is pinned to its published source.

use std::sync::OnceLock;

use mxid_sandbox::curp::{
    calculate, check_digit, check_strict, nss_check_digit, nss_is_valid, random_curp, rfc,
    rfc_check_digit, rfc_homoclave, rfc_is_valid, rfc_letters, CalcInput, Domain, Sex,
};
use mxid_sandbox::engine::fixtures::EMBEDDED;
use mxid_sandbox::time::Date;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use crate::common::{with_check_digit, Sandbox};

/// The CURP domain as the server embeds it.
pub(crate) fn domain() -> &'static Domain {
    static DOMAIN: OnceLock<Domain> = OnceLock::new();
    DOMAIN.get_or_init(|| {
        let file = |name: &str| {
            EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| *text)
                .unwrap_or_else(|| panic!("{name} is not embedded"))
        };
        Domain::from_yaml(
            file("catalogs.yaml"),
            file("names.yaml"),
            file("personas.yaml"),
        )
        .unwrap_or_else(|(f, e)| panic!("{f}: {e}"))
    })
}

fn date(y: i32, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn input(names: &str, first: &str, second: &str, birth: Date, sex: Sex, state: &str) -> CalcInput {
    CalcInput {
        names: names.into(),
        first_surname: first.into(),
        second_surname: second.into(),
        birth_date: birth,
        sex,
        state: state.into(),
    }
}

/// The first four letters for the Instructivo's examples (birth data fixed).
fn four(names: &str, first: &str, second: &str) -> String {
    let curp = calculate(&input(names, first, second, date(1980, 1, 1), Sex::H, "DF")).unwrap();
    curp[..4].to_string()
}

// --- The seeds ------------------------------------------------------------

/// Every CURP the documents print as real passes the strict check
/// (seeds 000, 001 and the seeds' README: PXNE660720HMCXTN06 and
/// NAZA650704MTLVCL05 are "real, valid CURPs").
#[test]
fn the_seeds_real_curps_pass_the_strict_check() {
    let d = check_strict("PXNE660720HMCXTN06").unwrap();
    assert_eq!(
        (d.birth_date, d.sex, d.state),
        (date(1966, 7, 20), Sex::H, "MC")
    );
    let d = check_strict("NAZA650704MTLVCL05").unwrap();
    assert_eq!(
        (d.birth_date, d.sex, d.state),
        (date(1965, 7, 4), Sex::M, "TL")
    );
}

/// Seed 000's success example answers NSS 08189782793: its IMSS check digit
/// holds.
#[test]
fn the_seeds_nss_passes_the_check_digit() {
    assert!(nss_is_valid("08189782793"));
    assert_eq!(nss_check_digit("0818978279"), Some('3'));
}

/// Seed 001's calculateCURP example: enrique / peña / nieto, 1966-07-20, H,
/// entity 15 (México) answers PXNE660720HMCXTN06; entity is the INE code.
#[test]
fn the_seeds_calculate_curp_example_is_reproduced() {
    let entity = domain().catalogs.entity_by_ine("15").unwrap();
    let i = input(
        "enrique",
        "peña",
        "nieto",
        date(1966, 7, 20),
        Sex::H,
        &entity.renapo,
    );
    assert_eq!(calculate(&i).unwrap(), "PXNE660720HMCXTN06");
}

/// The same through the server's calculateCURP, for a published CURP with a
/// compound-free name: Wikipedia's "Clave Única de Registro de Población"
/// example, Gloria Hernández García, woman, 1956-04-27, Veracruz (INE 30) →
/// HEGG560427MVZRRL04.
#[tokio::test]
async fn calculate_curp_reproduces_a_published_curp() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            "/curp/calculateCURP",
            &[("authorization", "Bearer test-token")],
            json!({
                "names": "Gloria",
                "lastName": "Hernández",
                "secondLastName": "García",
                "birthday": "27",
                "birthMonth": "04",
                "yearBirth": "1956",
                "gender": "M",
                "entity": "30",
            }),
        )
        .await;
    assert_eq!(
        r.json()["response"]["curp"],
        "HEGG560427MVZRRL04",
        "{}",
        r.text()
    );
}

// --- CURP: RENAPO's Instructivo -------------------------------------------

/// Published full CURPs with their names: Wikipedia's examples Gloria
/// Hernández García (HEGG560427MVZRRL04, en) and Luis Raúl Bello Mena
/// (BEML920313HMCLNS09, es),
/// curp-calculation's test (REMW940211HNLYTL01), López Obrador's public CURP.
#[test]
fn published_curps_are_reproduced_and_pass() {
    for (names, first, second, birth, sex, state, curp) in [
        (
            "GLORIA",
            "HERNÁNDEZ",
            "GARCÍA",
            date(1956, 4, 27),
            Sex::M,
            "VZ",
            "HEGG560427MVZRRL04",
        ),
        (
            "LUIS RAÚL",
            "BELLO",
            "MENA",
            date(1992, 3, 13),
            Sex::H,
            "MC",
            "BEML920313HMCLNS09",
        ),
        (
            "Walter",
            "Reyes",
            "Mata",
            date(1994, 2, 11),
            Sex::H,
            "NL",
            "REMW940211HNLYTL01",
        ),
        (
            "ANDRES MANUEL",
            "LOPEZ",
            "OBRADOR",
            date(1953, 11, 13),
            Sex::H,
            "TC",
            "LOOA531113HTCPBN07",
        ),
    ] {
        let i = input(names, first, second, birth, sex, state);
        assert_eq!(calculate(&i).unwrap(), curp, "{names} {first} {second}");
        assert!(check_strict(curp).is_ok(), "{curp}");
    }
}

/// The Instructivo's "criterios de excepción" examples (as transcribed in
/// axolotl13/Curp's README and the curp.js / Ruby `curp` test suites): Ñ
/// initial → X, MARIA skipped, compound name uses the first, D/AMICO → DX,
/// compound surname uses its first word, MC skipped, PEDRERO → PXDO, ICH →
/// IX, Ü → U, one surname → X.
#[test]
fn the_instructivo_examples() {
    assert_eq!(four("ALBERTO", "ÑANDO", "RODRIGUEZ"), "XARA");
    assert_eq!(four("MARIA LUISA", "PEREZ", "HERNANDEZ"), "PEHL");
    assert_eq!(four("LUIS ENRIQUE", "ROMERO", "PALAZUELOS"), "ROPL");
    assert_eq!(four("JUAN JOSE", "D/AMICO", "ALVAREZ"), "DXAJ");
    assert_eq!(four("ROCIO", "RIVA PALACIO", "CRUZ"), "RICR");
    assert_eq!(four("CARLOS", "MC GREGOR", "LOPEZ"), "GELC");
    assert_eq!(four("OFELIA", "PEDRERO", "DOMINGUEZ"), "PXDO");
    assert_eq!(four("ANDRES", "ICH", "RODRIGUEZ"), "IXRA");
    assert_eq!(four("JUAN", "ARGÜELLO", "RODRIGUEZ"), "AURJ");
    assert_eq!(four("JUAN", "PEREZ", ""), "PEXJ");
    let consonants = |names: &str, first: &str, second: &str| {
        let c = calculate(&input(names, first, second, date(1980, 1, 1), Sex::H, "DF")).unwrap();
        c[13..16].to_string()
    };
    assert_eq!(consonants("ALBERTO", "OÑATE", "RODRIGUEZ"), "XDL");
    assert_eq!(consonants("MA. DE LOS ANGELES", "MORENO", "SANCHEZ"), "RNN");
    assert_eq!(consonants("JUAN", "PEREZ", ""), "RXN");
    // MARIA / MA. / MA / JOSE / J. / J before another name give way to it
    // (Ruby `curp` gem's test of the rule), and stay when alone.
    for (names, expected) in [
        ("MARÍA VICTORIA", 'V'),
        ("JOSÉ MANUEL", 'M'),
        ("J MANUEL", 'M'),
        ("J. MANUEL", 'M'),
        ("MA VICTORIA", 'V'),
        ("MA. VICTORIA", 'V'),
        ("MARÍA", 'M'),
        ("JOSÉ", 'J'),
        ("J.", 'J'),
        ("MA.", 'M'),
    ] {
        assert_eq!(
            four(names, "PEREZ", "RODRIGUEZ").chars().nth(3),
            Some(expected),
            "{names}"
        );
    }
}

/// Anexo 2's inconvenient words: the second letter becomes X (PEÑA NIETO
/// ENRIQUE spells PENE → PXNE), and a CURP spelling one is never issued.
#[test]
fn inconvenient_words_take_an_x_in_position_two() {
    assert_eq!(four("ENRIQUE", "PEÑA", "NIETO"), "PXNE");
    assert_eq!(four("ANA", "CACERES", "CASTRO"), "CXCA");
    assert_eq!(four("RAUL", "MEDINA", "ARIAS"), "MXAR");
}

/// Position 17: a digit before 2000, a letter from 2000, and the strict
/// check reads the century from it; position 18: the 37-character
/// dictionary weighted 18..2, (10 - sum % 10) % 10.
#[test]
fn differentiator_and_check_digit() {
    let i = |y| input("JUAN", "PEREZ", "RODRIGUEZ", date(y, 12, 31), Sex::H, "DF");
    let c1999 = calculate(&i(1999)).unwrap();
    let c2000 = calculate(&input(
        "JUAN",
        "PEREZ",
        "RODRIGUEZ",
        date(2000, 1, 1),
        Sex::H,
        "DF",
    ))
    .unwrap();
    assert_eq!(&c1999[16..17], "0");
    assert_eq!(&c2000[16..17], "A");
    assert_eq!(check_strict(&c2000).unwrap().birth_date, date(2000, 1, 1));
    // Computed by hand with the dictionary 0-9 A-N Ñ O-Z (Ñ = 24).
    let dict = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";
    for c in [
        "PXNE660720HMCXTN06",
        "NAZA650704MTLVCL05",
        "HEGG560427MVZRRL04",
        c2000.as_str(),
    ] {
        let sum: usize = c
            .chars()
            .take(17)
            .enumerate()
            .map(|(i, ch)| dict.chars().position(|d| d == ch).unwrap() * (18 - i))
            .sum();
        let expected = char::from_digit(((10 - sum % 10) % 10) as u32, 10);
        assert_eq!(check_digit(&c[..17]), expected, "{c}");
    }
}

/// NE (born abroad) is a state code, and X (non-binary) a sex, for the
/// calculation and the strict check.
#[test]
fn born_abroad_and_non_binary() {
    let c = calculate(&input("SOFIA", "WONG", "", date(2003, 3, 3), Sex::X, "NE")).unwrap();
    assert_eq!(&c[..16], "WOXS030303XNENXF");
    let d = check_strict(&c).unwrap();
    assert_eq!((d.sex, d.state), (Sex::X, "NE"));
}

// --- RFC: SAT's algorithm -------------------------------------------------

/// SAT's worked example (homoclave and check digit sections): Emma Gómez
/// Díaz, 1956-12-31 → homoclave GR, check digit 8, GODE561231GR8.
#[test]
fn sat_worked_example() {
    assert_eq!(rfc_homoclave("GÓMEZ", "DÍAZ", "EMMA"), "GR");
    assert_eq!(rfc_check_digit("GODE561231GR"), Some('8'));
    assert_eq!(
        rfc::rfc("GÓMEZ", "DÍAZ", "EMMA", date(1956, 12, 31)),
        "GODE561231GR8"
    );
    assert!(rfc_is_valid("GODE561231GR8"));
    // Twelve characters are a company's length, not a person's.
    assert!(!rfc_is_valid("GODE561231GR"));
}

/// Full RFCs from josketres/rfc-facil's tests (check digits 6, 1 and A), and
/// its homoclave cases (Ñ = 40, & = 10, accents and Ü folded, particles kept
/// in the full name).
#[test]
fn rfc_facil_examples() {
    assert_eq!(
        rfc::rfc("Zarzosa", "de la Torre", "Josué", date(1987, 8, 5)),
        "ZATJ870805CK6"
    );
    assert_eq!(
        rfc::rfc("OROZCO", "GOMEZ", "ELIUD", date(1952, 7, 11)),
        "OOGE520711151"
    );
    assert_eq!(
        rfc::rfc("ANGEL", "CRUZ", "SATURNINA", date(1921, 11, 12)),
        "AECS211112JPA"
    );
    for (first, second, names, expected) in [
        ("Perez", "Garcia", "Juan", "LN"),
        ("Del real", "Anzures", "Jose Antonio", "N9"),
        ("Muñoz", "Ortega", "Juan", "T6"),
        ("Muñoz", "Muñoz", "Juan", "RZ"),
        ("Argüelles", "Ortega", "Jesus", "JF"),
        ("Perez&Gomez", "Garcia", "Juan", "2R"),
    ] {
        assert_eq!(rfc_homoclave(first, second, names), expected, "{first}");
    }
}

/// The letters of SAT's rules 1–6, 8, 9 and 10 for personas físicas, with
/// the algorithm document's own examples.
#[test]
fn sat_letter_rules() {
    for (names, first, second, expected) in [
        // Regla 1
        ("Juan", "Barrios", "Fernández", "BAFJ"),
        ("Eva", "Iriarte", "Méndez", "IIME"),
        // Regla 2
        ("Francisco", "Ortíz", "Pérez", "OIPF"),
        ("Gabriel", "Courturier", "Moreno", "COMG"),
        // Regla 3: Ch and Ll give their first letter
        ("Manuel", "Chávez", "González", "CAGM"),
        ("Felipe", "Camargo", "Llamas", "CALF"),
        // Regla 4: a first surname of one or two letters
        ("Alvaro", "de la O", "Lozano", "OLAL"),
        ("Ernesto", "Ek", "Rivera", "ERER"),
        // Regla 5: compound surnames
        ("Dolores", "San Martín", "Dávalos", "SADD"),
        ("Mario", "Sánchez de la Barquera", "Gómez", "SAGM"),
        ("Antonio", "Jiménez", "Ponce de León", "JIPA"),
        // Regla 6: MARIA and JOSE before another name
        ("Luz María", "Fernández", "Juárez", "FEJL"),
        ("José Antonio", "Camargo", "Hernández", "CAHA"),
        ("María Luisa", "Ramírez", "Sánchez", "RASL"),
        // Regla 7, where first vowel and second letter agree
        ("Juan", "Martínez", "", "MAJU"),
        ("Gerarda", "Zafra", "", "ZAGE"),
        // Regla 8: particles
        ("Carmen", "de la Peña", "Ramírez", "PERC"),
        ("Mario", "Sánchez", "de los Cobos", "SACM"),
        ("Roberto", "González", "y Durán", "GODR"),
        ("Juan", "del Valle", "Martínez", "VAMJ"),
        // Regla 9: the last letter becomes X
        ("Ingrid", "Bueno", "Ezquerra", "BUEX"),
        // Regla 10: special characters
        ("Roberto", "O'farril", "Carballo", "OACR"),
        ("Rubén", "D'angelo", "Fargo", "DAFR"),
        ("Luz Ma.", "Fernández", "Juárez", "FEJL"),
    ] {
        assert_eq!(
            rfc_letters(first, second, names),
            expected,
            "{names} {first} {second}"
        );
    }
}

/// SAT Regla 7: "En los casos en que la persona física tenga un solo
/// apellido, se conformará con la primera y segunda letras del apellido
/// paterno o materno … más la primera y segunda letras del nombre" — the
/// surname's second letter, not its first vowel (rfc-facil's
/// `firstTwoLettersOf` does the same). The served person is affected too.
#[test]
fn sat_rule_7_takes_the_surnames_first_two_letters() {
    assert_eq!(rfc_letters("FLORES", "", "JONATHAN"), "FLJO");
    assert_eq!(rfc_letters("CRUZ", "", "MARCO"), "CRMA");
    assert_eq!(rfc_letters("GRANADOS", "", "ANA"), "GRAN");
    assert_eq!(rfc_letters("EK", "", "ERNESTO"), "EKER");
    // The person behind FOXJ800101HDFLXN07 (seed 0) is JONATHAN FLORES.
    let p = domain().person("FOXJ800101HDFLXN07", 0);
    assert_eq!(
        (p.names.as_str(), p.first_surname.as_str()),
        ("JONATHAN", "FLORES")
    );
    assert_eq!(p.rfc, "FLJO800101BF5");
}

/// The homoclave exists to tell homonyms apart: SAT applies the algorithm
/// "a la base de datos del Padrón de Contribuyentes, con la finalidad de
/// identificar homonimias y evitar la duplicidad de registros" (preface of
/// the algorithm document), so two taxpayers never share an RFC. The
/// personas' homonym pair (two JUAN HERNANDEZ GARCIA, AN and AH) do.
#[test]
fn homonyms_do_not_share_an_rfc() {
    let a = domain().person("HEGJ900515HDFRRN01", 0);
    let b = domain().person("HEGJ900515HDFRRN19", 0);
    assert!(rfc_is_valid(&a.rfc) && rfc_is_valid(&b.rfc));
    assert_ne!(a.rfc, b.rfc);
}

/// The same for the synthetic homonyms (README, "The people behind the
/// CURPs": status AH "when the differentiator says so"), often built with
/// the first holder's very names: RfcByCurp answers each its own RFC.
#[tokio::test]
async fn rfc_by_curp_gives_a_synthetic_homonym_its_own_rfc() {
    let sb = Sandbox::start().await;
    let first = "TOFJ300825HBCRRC02";
    let homonym = with_check_digit("TOFJ300825HBCRRC1");
    assert_eq!(homonym, "TOFJ300825HBCRRC10");
    let apikey = ("apikey", "k");
    // RENAPO (curpv5) says they are two people, the second a homonym.
    let mut statuses = Vec::new();
    for c in [first, &homonym] {
        let r = sb
            .post("/api/curp/bycurp", &[apikey], json!({ "curp": c }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        statuses.push(r.json()["curpStatus"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses[1], "AH", "the differentiator 1 is a homonym");
    let mut ids = Vec::new();
    for c in [first, &homonym] {
        let r = sb
            .post(
                "/api/AsyncVerication/RfcByCurp",
                &[apikey],
                json!({"curp": c, "state": 9}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        ids.push(r.json()["verificationId"].as_str().unwrap().to_string());
    }
    sb.advance("2s").await;
    let mut rfcs = Vec::new();
    for id in ids {
        let path = format!("/api/AsyncVerication/verificationStatus?verificationId={id}");
        let b = sb.get(&path, &[apikey]).await.json();
        assert_eq!(b["verificationStatus"], 4, "{b}");
        let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
        let rfc = v["rfc"].as_str().unwrap().to_string();
        assert!(rfc_is_valid(&rfc), "{rfc}");
        rfcs.push(rfc);
    }
    assert_ne!(
        rfcs[0],
        rfcs[1],
        "two holders of {}… ({first} {}, {homonym} {}) share one RFC",
        &first[..16],
        statuses[0],
        statuses[1]
    );
}

/// The same across synthetic homonyms (`curp random --seed 1..=3`): a
/// CURP's later holder (differentiator 1 or B, status AH) has its own RFC.
#[test]
fn synthetic_homonyms_do_not_share_the_first_holders_rfc() {
    let mut shared = Vec::new();
    let mut total = 0;
    for seed in 1..=3u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..133 {
            let c = random_curp(&mut rng, &domain().names);
            let diff = if c.as_bytes()[16].is_ascii_digit() {
                "1"
            } else {
                "B"
            };
            let h = with_check_digit(&format!("{}{diff}", &c[..16]));
            let (p, q) = (domain().person(&c, 0), domain().person(&h, 0));
            assert_eq!(q.status, "AH", "{h}");
            // Under 16 in 2025: neither has an RFC (README, Synthetic data).
            if p.rfc.is_empty() {
                assert_eq!(q.rfc, "", "{h}");
                continue;
            }
            total += 1;
            if p.rfc == q.rfc {
                shared.push(format!("{c}/{h}: {}", p.rfc));
            }
        }
    }
    assert!(
        shared.is_empty(),
        "{} of {total} synthetic homonym pairs share an RFC, e.g. {:?}",
        shared.len(),
        &shared[..shared.len().min(5)]
    );
}

// --- NSS: the IMSS check digit --------------------------------------------

/// The IMSS check digit: digits weighted 1,2,1,2,… the digits of each
/// product summed, up to the next ten. Published example (scribd
/// "Estructura de RFC y NSS"): 92-91-90-8443 → 1.
#[test]
fn nss_check_digit_published_example() {
    assert_eq!(nss_check_digit("9291908443"), Some('1'));
    assert!(nss_is_valid("92919084431"));
    assert!(!nss_is_valid("92919084432"));
    // A product of two digits: 0·1 + 9·2=18→9 … the Luhn sum.
    assert_eq!(nss_check_digit("0909090909"), Some('5'));
}

/// README "Synthetic data": all years are computed as of 2025. A CURP that
/// passes every rule but states a birth after that year (a letter
/// differentiator is the 2000s: `…66…A6` is born in 2066) was never issued:
/// every provider answers it as it answers a wrong check digit, while the
/// structure alone still checks out.
#[tokio::test]
async fn a_curp_born_after_the_reference_year_was_never_issued() {
    let sb = Sandbox::start().await;
    let curp = "PXNE660720HMCXTNA6";
    assert!(check_strict(curp).is_ok());
    let bearer = [("Authorization", "Bearer any")];
    for (path, headers, body, scenario) in [
        (
            "/api/curp/bycurp",
            &[("apikey", "any")][..],
            json!({"curp": curp}),
            "not_found",
        ),
        (
            "/curp/getData",
            &bearer[..],
            json!({"curp": curp}),
            "not_found",
        ),
        (
            "/verify/id_check",
            &[("X-DF-API-ID", "a"), ("X-DF-API-SECRET", "s")][..],
            json!({"id_number": curp}),
            "invalid_id_number",
        ),
        (
            "/api/v1/imss/nss",
            &[("x-api-key", "any")][..],
            json!({"curp": curp}),
            "not_found2",
        ),
        (
            "/api/AsyncVerication/RfcByCurp",
            &[("apikey", "any")][..],
            json!({"curp": curp, "state": 9}),
            "not_found",
        ),
    ] {
        let r = sb.post(path, headers, body).await;
        assert_eq!(r.scenario(), scenario, "{path}: {}", r.text());
    }
    let r = sb
        .post(
            "/curp/validateCurpStructure",
            &bearer,
            json!({"curp": curp}),
        )
        .await;
    assert_eq!(r.json()["response"]["valido"], true, "{}", r.text());
}

// ---- the homoclave against an independent writing of SAT's algorithm ----

/// The homoclave's alphabet (SAT, Anexo II: 34 characters, no 0, no O).
const SAT_HOMOCLAVE: &str = "123456789ABCDEFGHIJKLMNPQRSTUVWXYZ";

/// SAT's homoclave written independently of the sandbox, from the
/// algorithm document (INFOMEX 0610100135506): each character of the full
/// name "PATERNO MATERNO NOMBRE" gets its two-digit value of Anexo I
/// (space 00, digits 00–09, & 10, A–I 11–19, J–R 21–29, S–Z 32–39, Ñ 40),
/// a 0 goes in front, the products of each two-digit pair by its second
/// digit are summed, the sum's last three digits are divided by 34, and
/// quotient and remainder are read in Anexo II.
fn sat_homoclave(full_name: &str) -> String {
    let mut digits = String::from("0");
    for c in full_name.chars() {
        let v = match c {
            ' ' => 0,
            '0'..='9' => c as u32 - '0' as u32,
            '&' => 10,
            'A'..='I' => 11 + c as u32 - 'A' as u32,
            'J'..='R' => 21 + c as u32 - 'J' as u32,
            'S'..='Z' => 32 + c as u32 - 'S' as u32,
            'Ñ' => 40,
            _ => panic!("{c} has no value in Anexo I"),
        };
        digits.push_str(&format!("{v:02}"));
    }
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = d.windows(2).map(|w| (w[0] * 10 + w[1]) * w[1]).sum();
    let n = (sum % 1000) as usize;
    let table: Vec<char> = SAT_HOMOCLAVE.chars().collect();
    [table[n / 34], table[n % 34]].iter().collect()
}

/// Where a homoclave sits in base 34 (Anexo II's order).
fn homoclave_index(h: &str) -> usize {
    let pos = |c: char| SAT_HOMOCLAVE.find(c).unwrap_or_else(|| panic!("{c}"));
    let c: Vec<char> = h.chars().collect();
    pos(c[0]) * 34 + pos(c[1])
}

/// The independent homoclave agrees with SAT's worked example (Emma Gómez
/// Díaz → GR), so the tests below compare against something checked.
#[test]
fn the_independent_homoclave_gives_the_sat_worked_example() {
    assert_eq!(sat_homoclave("GOMEZ DIAZ EMMA"), "GR");
    assert_eq!(rfc_homoclave("GÓMEZ", "DÍAZ", "EMMA"), "GR");
}

// SAT, Anexo I: the digits 0–9 have the values 00–09 in the homoclave's
// sum; other characters than letters, digits and & are dropped.
#[test]
fn a_digit_in_the_name_counts_in_the_homoclave() {
    assert_eq!(
        rfc_homoclave("PEREZ", "GARCIA", "JUAN 2"),
        sat_homoclave("PEREZ GARCIA JUAN 2")
    );
    assert_ne!(
        rfc_homoclave("PEREZ", "GARCIA", "JUAN 2"),
        rfc_homoclave("PEREZ", "GARCIA", "JUAN")
    );
}

// Anexo I: Ñ is 40 and & is 10; README (Decisions, RFC): "Ñ is kept";
// README's RfcByCurp example: PEÑA NIETO ENRIQUE → PENX660720CV0
// (homoclave CV).
#[test]
fn n_tilde_and_ampersand_count_in_the_homoclave_and_punctuation_does_not() {
    assert_eq!(rfc_homoclave("PEÑA", "NIETO", "ENRIQUE"), "CV");
    assert_eq!(sat_homoclave("PEÑA NIETO ENRIQUE"), "CV");
    assert_eq!(
        rfc_homoclave("SOL&LUNA", "IBAÑEZ", "ANA"),
        sat_homoclave("SOL&LUNA IBAÑEZ ANA")
    );
    // A dot or an apostrophe has no value: it is dropped, not read.
    assert_eq!(
        rfc_homoclave("O'FARRIL", "CARBALLO", "MA. LUISA"),
        sat_homoclave("OFARRIL CARBALLO MA LUISA")
    );
}

// README (Decisions, RFC): "one surname (paternal or maternal) gives its
// first two letters and the name's first two (SAT's rule 7: Juan Martínez
// → MAJU)"; SAT Regla 7: "la primera y segunda letras del apellido paterno
// o materno".
#[test]
fn a_maternal_surname_alone_gives_its_first_two_letters() {
    assert_eq!(rfc_letters("", "MARTINEZ", "JUAN"), "MAJU");
    assert_eq!(rfc_letters("", "ZAFRA", "GERARDA"), "ZAGE");
    // A paternal "surname" made only of punctuation is no surname either.
    assert_eq!(rfc_letters("-", "MARTINEZ", "JUAN"), "MAJU");
}

// SAT Regla 6: MARIA and JOSE are skipped before another name; a
// stray character after JOSE (dropped by the SAT, which reads only
// letters, digits and &) is no other name, so JOSE itself gives the
// letters, as a lone JOSE does (`rfc_letters("PEREZ", "HERNANDEZ",
// "JOSE")` is PEHJ in the unit tests).
#[test]
fn jose_followed_by_punctuation_alone_is_the_name() {
    assert_eq!(rfc_letters("PEREZ", "HERNANDEZ", "JOSE -"), "PEHJ");
    assert_eq!(rfc_letters("PEREZ", "HERNANDEZ", "MARIA ."), "PEHM");
    assert_eq!(rfc_letters("LOPEZ", "", "JOSE -"), "LOJO");
}

// SAT: the letters of an RFC are A–Z, Ñ or &. An RFC whose letters hold &
// passes; one with a digit among them does not, even with its check digit
// right.
#[test]
fn rfc_is_valid_takes_an_ampersand_but_no_digit_among_the_letters() {
    let with = |first12: &str| format!("{first12}{}", rfc_check_digit(first12).unwrap());
    assert!(rfc_is_valid(&with("&ERA800101AB")));
    assert!(rfc_is_valid(&with("ÑUÑE800101AB")));
    assert!(!rfc_is_valid(&with("1ERA800101AB")));
    assert!(!rfc_is_valid(&with("GOD1561231GR")));
    assert!(!rfc_is_valid(&with("GO E561231GR")));
}

// An RFC's YYMMDD must name a real day in 1900–1999 or 2000–2099 (2000
// makes 29 February of YY=00 possible); 29 February of YY=01 is in no
// century (1901, 2001: not leap years).
#[test]
fn rfc_is_valid_refuses_29_february_of_a_year_no_century_makes_leap() {
    let with = |first12: &str| format!("{first12}{}", rfc_check_digit(first12).unwrap());
    assert!(rfc_is_valid(&with("GODE000229GR")));
    assert!(rfc_is_valid(&with("GODE040229GR")));
    for yy in ["01", "10", "21", "99"] {
        let r = with(&format!("GODE{yy}0229GR"));
        assert!(!rfc_is_valid(&r), "{r}");
    }
    assert!(rfc_is_valid(&with("GODE010228GR")));
}

// README (Decisions, RFC): a synthetic homonym "gets, by its
// place, one of the 156 homoclaves the calculation never gives (it takes
// the first 1,000 of 34 × 34), so no holder of the same sixteen places,
// and no first holder anywhere, shares its RFC".
#[test]
fn a_later_holder_gets_a_homoclave_the_calculation_never_gives() {
    let birth = date(1930, 8, 25);
    let mut seen = std::collections::HashSet::new();
    for nth in 1..=156 {
        let r = rfc::rfc_of_holder("TORRES", "FERNANDEZ", "JACINTO", birth, nth);
        assert!(rfc_is_valid(&r), "{r}");
        let index = homoclave_index(&r[10..12]);
        assert!(
            (1000..1156).contains(&index),
            "holder {nth}: {r} has homoclave {} (index {index}), one a first holder can have",
            &r[10..12]
        );
        assert!(seen.insert(r[10..12].to_string()), "{r} given twice");
    }
    // Every computed homoclave is below 1000.
    for (p, m, n) in [
        ("GÓMEZ", "DÍAZ", "EMMA"),
        ("TORRES", "FERNANDEZ", "JACINTO"),
    ] {
        let first = rfc::rfc(p, m, n, birth);
        assert!(homoclave_index(&first[10..12]) < 1000, "{first}");
    }
}

/// The same through RfcByCurp: the holder of differentiator 2 (the third
/// holder) gets a homoclave no first holder can get.
#[tokio::test]
async fn rfc_by_curp_gives_the_third_holder_a_homoclave_past_the_computed_ones() {
    let sb = Sandbox::start().await;
    let apikey = ("apikey", "k");
    let curp = with_check_digit("TOFJ300825HBCRRC2");
    let r = sb
        .post(
            "/api/AsyncVerication/RfcByCurp",
            &[apikey],
            json!({"curp": curp, "state": 9}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["verificationId"].as_str().unwrap().to_string();
    sb.advance("2s").await;
    let path = format!("/api/AsyncVerication/verificationStatus?verificationId={id}");
    let b = sb.get(&path, &[apikey]).await.json();
    assert_eq!(b["verificationStatus"], 4, "{b}");
    let v: Value = serde_json::from_str(b["verification"].as_str().unwrap()).unwrap();
    let rfc = v["rfc"].as_str().unwrap();
    assert!(rfc_is_valid(rfc), "{rfc}");
    let index = homoclave_index(&rfc[10..12]);
    assert!(
        (1000..1156).contains(&index),
        "{curp}: {rfc} (index {index})"
    );
}

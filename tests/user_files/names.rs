//! User personas with unusual names (Ñ, accents, apostrophes, particles,
//! hyphens, long names, one surname, stray spaces), through every provider.

use mxid_sandbox::config::Source;
use mxid_sandbox::curp::{calculate, CalcInput, Sex};
use mxid_sandbox::time::Date;
use serde_json::{json, Value};

use crate::common::{config, Sandbox};

struct P {
    names: &'static str,
    first: &'static str,
    second: &'static str,
    birth: (i32, u8, u8),
    sex: Sex,
}

const LONG: &str = "MARIA DE LOS ANGELES GUADALUPE CONCEPCION ESPERANZA DOLORES MONTSERRAT FERNANDA ALEJANDRA VICTORIA ISABEL";

fn people() -> Vec<P> {
    vec![
        P {
            names: "José Ángel",
            first: "Núñez",
            second: "Ibáñez",
            birth: (1980, 2, 3),
            sex: Sex::H,
        },
        P {
            names: "SEAN",
            first: "O'BRIEN",
            second: "D’ANGELO",
            birth: (1975, 6, 7),
            sex: Sex::H,
        },
        P {
            names: "MARÍA JOSÉ",
            first: "DE LA CRUZ",
            second: "DEL VALLE",
            birth: (1990, 11, 12),
            sex: Sex::M,
        },
        P {
            names: "ANA-SOFÍA",
            first: "MC GREGOR",
            second: "PÉREZ-GÜEMES",
            birth: (1985, 1, 30),
            sex: Sex::M,
        },
        P {
            names: LONG,
            first: "FERNANDEZ DE CORDOBA Y SAAVEDRA DE LA TORRE",
            second: "GUTIERREZ",
            birth: (1970, 3, 4),
            sex: Sex::M,
        },
        P {
            names: "LUIS",
            first: "ÑANDÚ",
            second: "",
            birth: (1960, 8, 9),
            sex: Sex::H,
        },
        P {
            names: "  PEDRO  ",
            first: " LÓPEZ ",
            second: "  ROJAS",
            birth: (1999, 9, 9),
            sex: Sex::H,
        },
        P {
            names: "JUAN  CARLOS",
            first: "DE  LA  O",
            second: "ÚRIBE",
            birth: (1988, 12, 1),
            sex: Sex::H,
        },
        P {
            names: "ÉDGAR ÓSCAR",
            first: "ÁLVAREZ",
            second: "ÉBANO",
            birth: (1982, 4, 5),
            sex: Sex::H,
        },
    ]
}

fn curp_of(p: &P) -> String {
    calculate(&CalcInput {
        names: p.names.into(),
        first_surname: p.first.into(),
        second_surname: p.second.into(),
        birth_date: Date::new(p.birth.0, p.birth.1, p.birth.2).unwrap(),
        sex: p.sex,
        state: "MC".into(),
    })
    .unwrap()
}

fn personas_yaml(ps: &[P]) -> String {
    let mut out = String::new();
    for p in ps {
        out.push_str(&format!(
            "- curp: {}\n  names: {}\n  first_surname: {}\n  second_surname: {}\n  status: AN\n",
            curp_of(p),
            serde_json::to_string(p.names).unwrap(),
            serde_json::to_string(p.first).unwrap(),
            serde_json::to_string(p.second).unwrap(),
        ));
    }
    out
}

async fn with_personas() -> (Sandbox, crate::common::RemovedOnDrop) {
    let dir = crate::common::temp_dir("probe-names");
    std::fs::write(dir.join("personas.yaml"), personas_yaml(&people())).unwrap();
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    (sb, crate::common::RemovedOnDrop(dir))
}

/// The RFC letters SAT's rules give each persona (README Decisions, "RFC":
/// accents stripped, Ñ kept, particles and punctuation dropped, rule 7 for
/// one surname, MARIA/JOSE skipped before another name).
const RFC_LETTERS: [&str; 9] = [
    "NUIA", "OIDS", "CUVJ", "GEPA", "FEGA", "ÑALU", "LORP", "OUJU", "AAEE",
];

// A user persona's unusual names (Ñ,
// accents, ASCII and typographic apostrophes, hyphens, particles, 100+
// characters, one surname, stray and double spaces) are stated as written
// and identically by curpv5, validacurp getData and accuauth; curpv5's
// outputDigest is the SHA-256 of the UTF-8 stated fields; calculateCURP
// gives back the persona's CURP; async RfcByCurp follows SAT's rules.
#[tokio::test]
async fn unusual_persona_names_agree_across_providers() {
    let (sb, _g) = with_personas().await;
    let mut wrong = Vec::new();
    for (p, letters) in people().iter().zip(RFC_LETTERS) {
        let curp = curp_of(p);
        let want = [p.names, p.first, p.second];
        let c = sb
            .post(
                "/api/curp/bycurp",
                &[("apikey", "test-key")],
                json!({"curp": curp}),
            )
            .await
            .json();
        let got = [&c["firstName"], &c["lastName"], &c["secondLastName"]];
        if got.iter().zip(want).any(|(g, w)| *g != w) {
            wrong.push(format!("curpv5 {curp}: {got:?}"));
        }
        if c["outputDigest"] != crate::curpv5::stated_digest(&c) {
            wrong.push(format!("curpv5 outputDigest {curp}"));
        }
        let g = sb
            .post(
                "/curp/getData",
                &[("authorization", "Bearer test-token")],
                json!({"curp": curp}),
            )
            .await
            .json();
        let a = &g["response"]["Applicant"];
        let got = [&a["Names"], &a["LastName"], &a["SecondLastName"]];
        if got.iter().zip(want).any(|(g, w)| *g != w) {
            wrong.push(format!("getData {curp}: {got:?}"));
        }
        let r = sb
            .post(
                "/verify/id_check",
                &[("X-DF-API-ID", "test-api-id"), ("X-DF-API-SECRET", "s")],
                json!({"id_number": curp}),
            )
            .await
            .json();
        let a = &r["result"];
        let got = [&a["nombre"], &a["apellidoPaterno"], &a["apellidoMaterno"]];
        if got.iter().zip(want).any(|(g, w)| *g != w) {
            wrong.push(format!("accuauth {curp}: {got:?}"));
        }
        let sex = if p.sex == Sex::M { "M" } else { "H" };
        let k = sb
            .post(
                "/curp/calculateCURP",
                &[("authorization", "Bearer test-token")],
                json!({
            "names": p.names, "lastName": p.first, "secondLastName": p.second,
            "birthday": format!("{:02}", p.birth.2), "birthMonth": format!("{:02}", p.birth.1),
            "yearBirth": p.birth.0.to_string(), "gender": sex, "entity": "15"}),
            )
            .await
            .json();
        // One surname is code 402 by README (a blank field is missing).
        if !p.second.is_empty() && k["response"]["curp"] != curp.as_str() {
            wrong.push(format!("calculateCURP {curp}: {k}"));
        }
        let r = sb
            .post(
                "/api/AsyncVerication/RfcByCurp",
                &[("apikey", "customer-key")],
                json!({"curp": curp, "state": 15}),
            )
            .await;
        let id = r.json()["verificationId"]
            .as_str()
            .unwrap_or("")
            .to_string();
        sb.advance("10m").await;
        let s = sb
            .get(
                &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
                &[("apikey", "customer-key")],
            )
            .await
            .json();
        let v: Value = serde_json::from_str(s["verification"].as_str().unwrap_or("null")).unwrap();
        let rfc = v["rfc"].as_str().unwrap_or("");
        let yymmdd = format!("{:02}{:02}{:02}", p.birth.0 % 100, p.birth.1, p.birth.2);
        if !rfc.starts_with(&format!("{letters}{yymmdd}")) || !mxid_sandbox::curp::rfc_is_valid(rfc)
        {
            wrong.push(format!("RfcByCurp {curp}: {rfc}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

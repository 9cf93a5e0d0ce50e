//! SPEC §4: the same CURP gives the same person on every provider, on every
//! run, in every namespace, and as `curp person` prints it.

use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{domain, int};
use crate::common::{config, curp_for, Http, Sandbox, CURP_STATUSES};
use mxid_sandbox::curp::{check_digit, check_strict, random_curp, Domain, Sex, RENAPO_STATES};
use mxid_sandbox::time::Date;
use mxid_sandbox::Config;

const CURPV5: &str = "/api/curp/bycurp";
const GETDATA: &str = "/curp/getData";
const ID_CHECK: &str = "/verify/id_check";
const NSS: &str = "/api/v1/imss/nss";
const ASYNC: &str = "/api/AsyncVerication";

// --- helpers ----------------------------------------------------------------

/// `curp ARGS` of the binary for each CURP, run side by side (each bounded
/// by `crate::engine::run`): stdout as JSON, or the exit's stderr.
fn cli_all(args_of: &[Vec<String>]) -> Vec<Result<Value, String>> {
    let mut out = Vec::new();
    for chunk in args_of.chunks(16) {
        let outputs: Vec<std::process::Output> = std::thread::scope(|scope| {
            let runs: Vec<_> = chunk
                .iter()
                .map(|args| {
                    scope.spawn(move || {
                        let mut argv = vec!["curp"];
                        argv.extend(args.iter().map(String::as_str));
                        crate::engine::run(&argv)
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for o in outputs {
            out.push(if o.status.success() {
                serde_json::from_slice(&o.stdout)
                    .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
            } else {
                Err(String::from_utf8_lossy(&o.stderr).into_owned())
            });
        }
    }
    out
}

/// `curp person CURP --seed SEED` for each CURP.
fn cli_people(curps: &[String], seed: u64) -> Vec<Result<Value, String>> {
    let args: Vec<Vec<String>> = curps
        .iter()
        .map(|c| {
            vec![
                "person".into(),
                c.clone(),
                "--seed".into(),
                seed.to_string(),
            ]
        })
        .collect();
    cli_all(&args)
}

/// The same 16 places with another differentiator (a later holder).
fn with_differentiator(curp: &str, diff: char) -> String {
    let mut c = format!("{}{diff}", &curp[..16]);
    c.push(check_digit(&c).unwrap());
    c
}

/// Edge CURPs: born abroad, sex X, minors, the very old, 29 February,
/// names with Ñ and compound names, homonyms.
fn edge_curps() -> Vec<String> {
    use Sex::{H, M, X};
    let mut v = vec![
        // Born abroad.
        curp_for("JUAN", "PEREZ", "LOPEZ", (1985, 3, 12), H, "NE"),
        curp_for("ANA", "WONG", "", (1999, 8, 1), M, "NE"),
        curp_for("ALEX", "SMITH", "GARCIA", (2001, 1, 9), X, "NE"),
        curp_for("IÑAKI", "MUÑOZ", "", (2012, 4, 4), H, "NE"),
        // Sex X.
        curp_for("ALEX", "GARCIA", "RUIZ", (1995, 6, 1), X, "DF"),
        curp_for("CRUZ", "NUÑEZ", "PEÑA", (1961, 11, 30), X, "YN"),
        // Minors as of 2025: not yet 16, just 16, not yet 18, just 18.
        curp_for("SOFIA", "LOPEZ", "MARTINEZ", (2025, 12, 31), M, "JC"),
        curp_for("MATEO", "RAMIREZ", "SOTO", (2025, 1, 1), H, "NL"),
        curp_for("REGINA", "TORRES", "DIAZ", (2012, 5, 5), M, "PL"),
        curp_for("DIEGO", "FLORES", "CRUZ", (2010, 1, 1), H, "VZ"),
        curp_for("VALERIA", "ORTIZ", "LUNA", (2009, 12, 31), M, "SR"),
        curp_for("EMILIO", "VEGA", "RIOS", (2009, 1, 1), H, "CH"),
        curp_for("NADIA", "SILVA", "MORA", (2008, 6, 15), M, "TC"),
        curp_for("ANGEL", "LEON", "VERA", (2007, 12, 31), H, "QR"),
        curp_for("FATIMA", "NAVA", "SOSA", (2007, 1, 1), M, "BS"),
        // Born 1900–1930.
        curp_for("PORFIRIO", "DIAZ", "MORI", (1900, 1, 1), H, "OC"),
        curp_for("CARMEN", "SERDAN", "ALATRISTE", (1900, 12, 31), M, "PL"),
        curp_for("EMILIANO", "ZAPATA", "SALAZAR", (1915, 7, 4), H, "MS"),
        curp_for("FRIDA", "KAHLO", "CALDERON", (1929, 2, 28), M, "DF"),
        curp_for("JUAN", "RULFO", "VIZCAINO", (1930, 12, 31), H, "JC"),
        // 29 February.
        curp_for("MARIA", "GARCIA", "HERNANDEZ", (2000, 2, 29), M, "MC"),
        curp_for("JOSE", "LOPEZ", "PEREZ", (1996, 2, 29), H, "GT"),
        curp_for("LUIS", "REYES", "CRUZ", (1904, 2, 29), H, "ZS"),
        curp_for("ROSA", "MEDINA", "GARZA", (2024, 2, 29), M, "CL"),
        curp_for("ELENA", "SOTO", "PIÑA", (1960, 2, 29), M, "NT"),
        // Ñ, compound names, particles, accents.
        curp_for("IÑAKI", "PEÑA", "MUÑOZ", (1977, 9, 9), H, "HG"),
        curp_for("NUÑO", "ÑECO", "IBAÑEZ", (1988, 10, 10), H, "CS"),
        curp_for(
            "MARIA GUADALUPE",
            "DE LA CRUZ",
            "SANCHEZ",
            (1970, 5, 3),
            M,
            "GR",
        ),
        curp_for("JOSE LUIS", "DEL VALLE", "Y GOMEZ", (1983, 12, 12), H, "CM"),
        curp_for("ÁNGEL JESÚS", "GÓMEZ", "PÉREZ", (1991, 7, 7), H, "AS"),
        curp_for(
            "MA. DE LOS ANGELES",
            "VAN DER BERG",
            "O'CONNOR",
            (1975, 1, 20),
            M,
            "BC",
        ),
    ];
    // Homonyms: later holders of the same 16 places.
    let base = curp_for("JUAN", "HERNANDEZ", "GARCIA", (1980, 1, 1), H, "DF");
    v.push(with_differentiator(&base, '1'));
    v.push(with_differentiator(&base, '9'));
    let base = curp_for("SOFIA", "LOPEZ", "GARCIA", (2005, 5, 5), M, "DF");
    v.push(with_differentiator(&base, 'B'));
    v.push(with_differentiator(&base, 'Z'));
    v
}

/// Strictly valid random CURPs whose person has, `per` of each: Ñ, an
/// accent, two given names, a compound surname (DE LA CRUZ), one surname.
fn curps_with_special_names(d: &Domain, per: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(0x5EED_0A11);
    let kinds: [fn(&str, &str, &str) -> bool; 5] = [
        |n, a, b| format!("{n}{a}{b}").contains('Ñ'),
        |n, a, b| format!("{n}{a}{b}").chars().any(|c| "ÁÉÍÓÚÜ".contains(c)),
        |n, _, _| n.contains(' '),
        |_, a, b| a.contains(' ') || b.contains(' '),
        |_, _, b| b.is_empty(),
    ];
    let mut found: Vec<Vec<String>> = vec![Vec::new(); kinds.len()];
    for _ in 0..50_000 {
        if found.iter().all(|f| f.len() >= per) {
            break;
        }
        let c = if rng.random_bool(0.5) {
            random_curp(&mut rng, &d.names)
        } else {
            raw_curp(&mut rng)
        };
        let p = d.person(&c, 0);
        for (k, kind) in kinds.iter().enumerate() {
            if found[k].len() < per && kind(&p.names, &p.first_surname, &p.second_surname) {
                found[k].push(c.clone());
            }
        }
    }
    assert!(found.iter().all(|f| f.len() >= per), "{found:?}");
    found.concat()
}

/// A strictly valid CURP built place by place, not from names: letters no
/// name list covers (composed names, vowelless surnames, inconvenient
/// words), any year 1900–2025, any state, any differentiator.
fn raw_curp(rng: &mut StdRng) -> String {
    let letter = |rng: &mut StdRng| char::from(b'A' + rng.random_range(0..26u8));
    loop {
        let year = rng.random_range(1900..=2025);
        let month = rng.random_range(1..=12u8);
        let day = rng.random_range(1..=28u8);
        let vowel = ['A', 'E', 'I', 'O', 'U', 'X'][rng.random_range(0..6)];
        let diff = if year < 2000 {
            char::from(b'0' + rng.random_range(0..10u8))
        } else {
            letter(rng)
        };
        let sex = ['H', 'M', 'X'][rng.random_range(0..3)];
        let state = RENAPO_STATES[rng.random_range(0..RENAPO_STATES.len())];
        let mut c = format!(
            "{}{vowel}{}{}{:02}{month:02}{day:02}{sex}{state}{}{}{}{diff}",
            letter(rng),
            letter(rng),
            letter(rng),
            year % 100,
            letter(rng),
            letter(rng),
            letter(rng),
        );
        c.push(check_digit(&c).unwrap());
        if check_strict(&c).is_ok() {
            return c;
        }
    }
}

/// Everything one CURP is asked of the five providers.
#[derive(Debug)]
struct Answers {
    curpv5: (u16, Value),
    getdata: (u16, Value),
    accuauth: (u16, Value),
    nss: (u16, Value),
    nss_by_curp: String,
    rfc_by_curp: String,
}

/// Asks every provider about `curp` (sent as `sent`), in namespace `ns`.
async fn ask(http: &Http, curp_sent: &str, ns: &str) -> Answers {
    let nsh = ("x-sandbox-namespace", ns);
    let j = |r: crate::common::Resp| {
        let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        (r.status, v)
    };
    let curpv5 = j(http
        .post(
            CURPV5,
            &[("apikey", "k"), nsh],
            json!({ "curp": curp_sent }),
        )
        .await);
    let getdata = j(http
        .post(
            GETDATA,
            &[("authorization", "Bearer t"), nsh],
            json!({ "curp": curp_sent }),
        )
        .await);
    let accuauth = j(http
        .post(
            ID_CHECK,
            &[("x-df-api-id", "a"), ("x-df-api-secret", "s"), nsh],
            json!({ "id_number": curp_sent }),
        )
        .await);
    let nss = j(http
        .post(
            NSS,
            &[("x-api-key", "k"), nsh],
            json!({ "curp": curp_sent }),
        )
        .await);
    // The id, or the refusal (`HTTP 400 {…}`).
    let id = |(s, v): (u16, Value)| match v["verificationId"].as_str() {
        Some(id) if s == 200 => id.to_string(),
        _ => format!("HTTP {s} {v}"),
    };
    let nss_by_curp = id(j(http
        .post(
            &format!("{ASYNC}/NssByCurp"),
            &[("apikey", "k"), nsh],
            json!({ "curp": curp_sent }),
        )
        .await));
    let rfc_by_curp = id(j(http
        .post(
            &format!("{ASYNC}/RfcByCurp"),
            &[("apikey", "k"), nsh],
            json!({ "curp": curp_sent, "state": 9 }),
        )
        .await));
    Answers {
        curpv5,
        getdata,
        accuauth,
        nss,
        nss_by_curp,
        rfc_by_curp,
    }
}

/// A verification's status object, once the clock has moved.
async fn status(http: &Http, id: &str, ns: &str) -> Value {
    let r = http
        .get(
            &format!("{ASYNC}/verificationStatus?verificationId={id}"),
            &[("apikey", "k"), ("x-sandbox-namespace", ns)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn advance_ns(http: &Http, ns: &str, by: &str) {
    let r = http
        .admin_post(
            &format!("/__admin/clock?namespace={ns}"),
            json!({ "advance": by }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("<not a string>")
}

/// The text lines of accuauth's constancia (its PDF's `(…) Tj` strings,
/// WinAnsi read as Latin-1).
fn pdf_lines(b64: &str) -> Vec<String> {
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_default();
    let mut lines = Vec::new();
    let mut i = 0;
    while i < pdf.len() {
        if pdf[i] == b'(' {
            let mut text = String::new();
            i += 1;
            while i < pdf.len() && pdf[i] != b')' {
                if pdf[i] == b'\\' && i + 1 < pdf.len() {
                    i += 1;
                }
                text.push(char::from(pdf[i]));
                i += 1;
            }
            lines.push(text);
        }
        i += 1;
    }
    lines
}

/// Every fact the providers state of the CLI's person `p` that disagrees
/// with it.
fn disagreements(d: &Domain, p: &Value, a: &Answers, st: &(Value, Value)) -> Vec<String> {
    let curp = s(&p["curp"]).to_string();
    let mut out = Vec::new();
    let mut eq = |what: &str, got: Value, want: Value| {
        if got != want {
            out.push(format!("{curp} {what}: provider {got} / cli {want}"));
        }
    };
    let birth = Date::parse_iso(s(&p["birth_date"])).unwrap();
    let dmy = format!("{:02}/{:02}/{}", birth.day, birth.month, birth.year);
    let sex = s(&p["sex"]);
    let state = s(&p["birth_state"]);
    let entity = d.catalogs.entity_by_renapo(state);
    let reg = &p["registry"];
    let reg_entity = d.catalogs.entity_by_ine(s(&reg["entity_ine"]));
    let status = s(&p["status"]);
    let proof = p["proof_document"].as_u64().unwrap();
    let nationality = s(&p["nationality"]);
    let epn = curp == "PXNE660720HMCXTN06";

    // curpv5
    let (cs, c) = &a.curpv5;
    eq("curpv5 http status", json!(cs), json!(200));
    eq("curpv5 isCURPValid", c["isCURPValid"].clone(), json!(true));
    eq("curpv5 curp", c["curp"].clone(), json!(curp));
    eq(
        "curpv5 firstName",
        c["firstName"].clone(),
        p["names"].clone(),
    );
    eq(
        "curpv5 lastName",
        c["lastName"].clone(),
        p["first_surname"].clone(),
    );
    eq(
        "curpv5 secondLastName",
        c["secondLastName"].clone(),
        p["second_surname"].clone(),
    );
    let g5 = match sex {
        "H" => "M",
        "M" => "F",
        _ => "X",
    };
    eq("curpv5 gender", c["gender"].clone(), json!(g5));
    eq("curpv5 birthDate", c["birthDate"].clone(), json!(dmy));
    eq("curpv5 birthState", c["birthState"].clone(), json!(state));
    eq(
        "curpv5 nationalityCode",
        c["nationalityCode"].clone(),
        json!(nationality),
    );
    eq(
        "curpv5 proofDocumentType",
        c["proofDocumentType"].clone(),
        json!(proof),
    );
    eq("curpv5 curpStatus", c["curpStatus"].clone(), json!(status));
    // README Decisions, curpv5: `outputDigest` the SHA-256 of the person
    // data stated.
    let stated = [
        "curp",
        "lastName",
        "secondLastName",
        "firstName",
        "gender",
        "birthDate",
        "birthState",
        "nationalityCode",
    ]
    .iter()
    .map(|k| match &c[*k] {
        Value::String(x) => x.clone(),
        other => other.to_string(),
    })
    .chain([
        c["proofDocumentType"].to_string(),
        s(&c["curpStatus"]).to_string(),
    ])
    .collect::<Vec<_>>()
    .join("|");
    let digest: String = Sha256::digest(stated.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    eq(
        "curpv5 outputDigest",
        c["outputDigest"].clone(),
        json!(digest),
    );

    // validacurp getData (the placeholder XAXX… answers the static test
    // data, a documented decision).
    if curp != "XAXX010101XAXAXA00" {
        let (vs, v) = &a.getdata;
        eq("validacurp http status", json!(vs), json!(200));
        let va = &v["response"]["Applicant"];
        let ve = &v["response"]["EvidentiaryDocument"];
        eq("validacurp CURP", va["CURP"].clone(), json!(curp));
        eq("validacurp Names", va["Names"].clone(), p["names"].clone());
        eq(
            "validacurp LastName",
            va["LastName"].clone(),
            p["first_surname"].clone(),
        );
        eq(
            "validacurp SecondLastName",
            va["SecondLastName"].clone(),
            p["second_surname"].clone(),
        );
        eq("validacurp GenderKey", va["GenderKey"].clone(), json!(sex));
        let gv = match sex {
            "H" => "Hombre",
            "M" => "Mujer",
            _ => "No binario",
        };
        eq("validacurp Gender", va["Gender"].clone(), json!(gv));
        eq(
            "validacurp DateOfBirth",
            va["DateOfBirth"].clone(),
            p["birth_date"].clone(),
        );
        eq(
            "validacurp Nacionality",
            va["Nacionality"].clone(),
            json!(nationality),
        );
        if !epn {
            eq(
                "validacurp CodeEntityBirth",
                va["CodeEntityBirth"].clone(),
                json!(state),
            );
            eq(
                "validacurp EntityBirth",
                va["EntityBirth"].clone(),
                json!(entity.map(|e| e.name.as_str()).unwrap_or("?")),
            );
            eq(
                "validacurp StatusKey",
                va["StatusKey"].clone(),
                json!(d.catalogs.status(status).map(|x| x.validacurp.as_str())),
            );
        }
        eq(
            "validacurp KeyEvidentiaryDocument",
            va["KeyEvidentiaryDocument"].clone(),
            json!(proof),
        );
        eq(
            "validacurp EvidentiaryDocument",
            va["EvidentiaryDocument"].clone(),
            json!(d
                .catalogs
                .proof_document(proof as u8)
                .map(|x| x.validacurp.as_str())),
        );
        eq(
            "validacurp CurpStatusKey",
            va["CurpStatusKey"].clone(),
            json!(status),
        );
        eq(
            "validacurp YearRegistration",
            ve["YearRegistration"].clone(),
            json!(int(&reg["year"])),
        );
        eq(
            "validacurp KeyMunicipalityRegistration",
            ve["KeyMunicipalityRegistration"].clone(),
            json!(int(&reg["municipality_code"])),
        );
        eq(
            "validacurp MunicipalityRegistration",
            ve["MunicipalityRegistration"].clone(),
            reg["municipality_name"].clone(),
        );
        eq(
            "validacurp Foja",
            ve["Foja"].clone(),
            json!(int(&reg["page"])),
        );
        eq(
            "validacurp Book",
            ve["Book"].clone(),
            json!(int(&reg["book"])),
        );
        eq(
            "validacurp Volume",
            ve["Volume"].clone(),
            json!(int(&reg["volume"])),
        );
        eq(
            "validacurp CertificateNumber",
            ve["CertificateNumber"].clone(),
            json!(int(&reg["act_number"])),
        );
        eq(
            "validacurp RegistrantNumber",
            ve["RegistrantNumber"].clone(),
            json!(int(&reg["entity_ine"])),
        );
        for k in [
            "KeyIssuingEntity",
            "FolioLetter",
            "ForeignRegistrationNumber",
        ] {
            eq(&format!("validacurp {k}"), ve[k].clone(), json!(""));
        }
        eq(
            "validacurp RegistrationEntity",
            ve["RegistrationEntity"].clone(),
            reg["entity_name"].clone(),
        );
        eq(
            "registry entity name (cli) is the catalog's",
            reg["entity_name"].clone(),
            json!(reg_entity.map(|e| e.name.as_str())),
        );
    }

    // accuauth
    let (acs, ac) = &a.accuauth;
    eq("accuauth http status", json!(acs), json!(200));
    eq(
        "accuauth result_code",
        ac["result_code"].clone(),
        json!("0"),
    );
    let r = &ac["result"];
    eq("accuauth curp", r["curp"].clone(), json!(curp));
    eq("accuauth nombre", r["nombre"].clone(), p["names"].clone());
    eq(
        "accuauth apellidoPaterno",
        r["apellidoPaterno"].clone(),
        p["first_surname"].clone(),
    );
    eq(
        "accuauth apellidoMaterno",
        r["apellidoMaterno"].clone(),
        p["second_surname"].clone(),
    );
    let ga = match sex {
        "H" => "HOMBRE",
        "M" => "MUJER",
        _ => "NO BINARIO",
    };
    eq("accuauth sexo", r["sexo"].clone(), json!(ga));
    eq(
        "accuauth fechaNacimiento",
        r["fechaNacimiento"].clone(),
        json!(dmy),
    );
    // Decisions: someone born abroad has the country of their nationality
    // (the synthetic people's nine and the embedded personas' CHN, written
    // out here apart from the code's table), anyone else MEXICO.
    let pais = match (state, nationality) {
        ("NE", "MEX") => "MEXICO",
        ("NE", "USA") => "ESTADOS UNIDOS DE AMERICA",
        ("NE", "GTM") => "GUATEMALA",
        ("NE", "COL") => "COLOMBIA",
        ("NE", "VEN") => "VENEZUELA",
        ("NE", "ESP") => "ESPAÑA",
        ("NE", "ARG") => "ARGENTINA",
        ("NE", "CUB") => "CUBA",
        ("NE", "HND") => "HONDURAS",
        ("NE", "CHN") => "CHINA",
        ("NE", other) => panic!("a synthetic nationality no test names: {other}"),
        _ => "MEXICO",
    };
    eq(
        "accuauth paisNacimiento",
        r["paisNacimiento"].clone(),
        json!(pais),
    );
    eq(
        "accuauth estadoNacimiento",
        r["estadoNacimiento"].clone(),
        json!(entity.map(|e| e.upper.as_str()).unwrap_or("?")),
    );
    eq(
        "accuauth docProbatorio",
        r["docProbatorio"].clone(),
        json!(proof),
    );
    eq(
        "accuauth estatusCurp",
        r["estatusCurp"].clone(),
        json!(status),
    );
    let dp = &r["datosDocProbatorio"];
    eq(
        "accuauth entidadRegistro",
        dp["entidadRegistro"].clone(),
        json!(reg_entity.map(|e| e.upper.as_str()).unwrap_or("?")),
    );
    eq("accuauth tomo", dp["tomo"].clone(), reg["volume"].clone());
    eq(
        "accuauth claveMunicipioRegistro",
        dp["claveMunicipioRegistro"].clone(),
        reg["municipality_code"].clone(),
    );
    let year = reg["year"].as_u64().unwrap_or(0);
    eq(
        "accuauth anioReg",
        dp["anioReg"].clone(),
        json!(if year == 0 {
            String::new()
        } else {
            year.to_string()
        }),
    );
    eq(
        "accuauth claveEntidadRegistro",
        dp["claveEntidadRegistro"].clone(),
        reg["entity_ine"].clone(),
    );
    eq("accuauth foja", dp["foja"].clone(), reg["page"].clone());
    eq(
        "accuauth numActa",
        dp["numActa"].clone(),
        reg["act_number"].clone(),
    );
    eq("accuauth libro", dp["libro"].clone(), reg["book"].clone());
    eq(
        "accuauth municipioRegistro",
        dp["municipioRegistro"].clone(),
        json!(s(&reg["municipality_name"]).to_uppercase()),
    );
    // The constancia states the same person.
    let lines = pdf_lines(s(&r["documento"]));
    for (label, want) in [
        ("Clave: ", curp.clone()),
        ("Nombre(s): ", s(&p["names"]).to_string()),
        ("Primer apellido: ", s(&p["first_surname"]).to_string()),
        ("Segundo apellido: ", s(&p["second_surname"]).to_string()),
        ("Sexo: ", ga.to_string()),
        ("Fecha de nacimiento: ", dmy.clone()),
        ("Estatus CURP: ", status.to_string()),
        ("País de nacimiento: ", pais.to_string()),
        (
            "Entidad de nacimiento: ",
            entity.map(|e| e.upper.clone()).unwrap_or_default(),
        ),
        ("Documento probatorio: ", proof.to_string()),
        (
            "Código de validación: ",
            s(&r["codigoValidacion"]).to_string(),
        ),
        (
            "Registro: ",
            format!(
                "entidad {}, municipio {}, año {}, acta {}",
                [s(&reg["entity_ine"]), s(&dp["entidadRegistro"])]
                    .iter()
                    .filter(|x| !x.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" "),
                [
                    s(&reg["municipality_code"]).to_string(),
                    s(&reg["municipality_name"]).to_uppercase()
                ]
                .iter()
                .filter(|x| !x.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
                s(&dp["anioReg"]),
                s(&reg["act_number"]),
            ),
        ),
    ] {
        let got = lines
            .iter()
            .find(|l| l.starts_with(label))
            .map(|l| l[label.len()..].to_string());
        eq(
            &format!("accuauth documento {label:?}"),
            json!(got),
            json!(Some(want)),
        );
    }

    // nss and async NssByCurp
    let nss = s(&p["nss"]);
    let (ns, n) = &a.nss;
    eq("nss http status", json!(ns), json!(200));
    eq(
        "nss request.curp",
        n["request"]["curp"].clone(),
        json!(curp),
    );
    let (nss_v, nss_w) = (&st.0["verification"], &st.0["warnings"]);
    if nss.is_empty() {
        eq(
            "nss response.status",
            n["response"]["status"].clone(),
            json!("NOT_FOUND"),
        );
        eq("async NssByCurp verification", nss_v.clone(), Value::Null);
        eq(
            "async NssByCurp warning",
            nss_w[0]["code"].clone(),
            json!("NSS005"),
        );
    } else {
        eq(
            "nss response.status",
            n["response"]["status"].clone(),
            json!("FOUND"),
        );
        eq("nss nss", n["response"]["nss"].clone(), json!(nss));
        let v: Value = nss_v
            .as_str()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null);
        eq("async NssByCurp nss", v["nss"].clone(), json!(nss));
        eq("async NssByCurp warnings", nss_w.clone(), json!([]));
    }
    eq(
        "async NssByCurp status",
        st.0["verificationStatus"].clone(),
        json!(4),
    );
    // async RfcByCurp
    let v: Value = st.1["verification"]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    // Someone the SAT has not registered (under 16 in 2025): RFC008.
    if p["rfc"] == "" {
        eq(
            "async RfcByCurp rfc",
            st.1["verification"].clone(),
            Value::Null,
        );
        eq(
            "async RfcByCurp warning",
            st.1["warnings"][0]["code"].clone(),
            json!("RFC008"),
        );
    } else {
        eq("async RfcByCurp rfc", v["rfc"].clone(), p["rfc"].clone());
    }
    eq(
        "async RfcByCurp status",
        st.1["verificationStatus"].clone(),
        json!(4),
    );
    out
}

/// The CLI person's own documents agree with it: the NSS's birth-year
/// digits, the RFC's date, the elector code's date, state and sex, INE
/// registration at 18 or later, issue number 00 exactly when issued the
/// year of registration, expiry ten years after issue.
fn self_inconsistencies(d: &Domain, p: &Value) -> Vec<String> {
    let curp = s(&p["curp"]);
    let mut out = Vec::new();
    let birth = Date::parse_iso(s(&p["birth_date"])).unwrap();
    let yymmdd = format!(
        "{:02}{:02}{:02}",
        birth.year.rem_euclid(100),
        birth.month,
        birth.day
    );
    let nss = s(&p["nss"]);
    if birth.year + 16 > 2025 {
        if !nss.is_empty() {
            out.push(format!("{curp}: under 16 in 2025 with NSS {nss}"));
        }
    } else if nss.len() != 11 || nss[4..6] != yymmdd[..2] {
        out.push(format!("{curp}: NSS {nss} for a birth in {}", birth.year));
    } else {
        let registered: i32 = nss[2..4].parse().unwrap();
        let registered = (birth.year / 100) * 100 + registered;
        let registered = if registered < birth.year {
            registered + 100
        } else {
            registered
        };
        if registered < birth.year + 16 || registered > 2025 {
            out.push(format!(
                "{curp}: NSS {nss} registered in {registered}, born {}",
                birth.year
            ));
        }
    }
    let rfc = s(&p["rfc"]);
    if birth.year + 16 > 2025 {
        if !rfc.is_empty() {
            out.push(format!("{curp}: under 16 in 2025 with RFC {rfc}"));
        }
    } else if rfc.chars().count() != 13 || rfc.chars().skip(4).take(6).collect::<String>() != yymmdd
    {
        out.push(format!("{curp}: RFC {rfc} for {birth}"));
    }
    let ine = &p["ine"];
    let code = s(&ine["elector_code"]);
    let state = s(&p["birth_state"]);
    let state_ine = d
        .catalogs
        .entity_by_renapo(state)
        .map(|e| e.ine.as_str())
        .filter(|i| !i.is_empty())
        .unwrap_or("87");
    let cc: Vec<char> = code.chars().collect();
    let part = |a: usize, b: usize| cc.get(a..b).map(|x| x.iter().collect::<String>());
    if cc.len() != 18
        || part(6, 12).as_deref() != Some(&yymmdd)
        || part(12, 14).as_deref() != Some(state_ine)
        || part(14, 15).as_deref() != Some(s(&p["sex"]))
    {
        out.push(format!(
            "{curp}: elector code {code} for {birth}, state {state} ({state_ine}), sex {}",
            s(&p["sex"])
        ));
    }
    let (reg, issue, exp) = (
        ine["registration_year"].as_i64().unwrap(),
        ine["issue_year"].as_i64().unwrap(),
        ine["expiry_year"].as_i64().unwrap(),
    );
    if reg < i64::from(birth.year) + 18 || issue < reg || exp != issue + 10 {
        out.push(format!(
            "{curp}: INE registered {reg}, issued {issue}, expires {exp}, born {}",
            birth.year
        ));
    }
    if (s(&ine["issue_number"]) == "00") != (issue == reg) {
        out.push(format!(
            "{curp}: INE issue number {} issued {issue} registered {reg}",
            s(&ine["issue_number"])
        ));
    }
    out
}

/// The person `curp person CURP --seed SEED` prints (the same JSON: the
/// CLI serializes `Domain::person`; `curp_person_…` below checks the
/// binary itself), without a process per CURP.
fn lib_people(d: &Domain, curps: &[String], seed: u64) -> Vec<Result<Value, String>> {
    curps
        .iter()
        .map(|c| Ok(serde_json::to_value(d.person(&c.trim().to_ascii_uppercase(), seed)).unwrap()))
        .collect()
}

/// Asks every provider and the CLI about every CURP: the list of what
/// disagrees.
async fn compare_everywhere(
    sb: &Http,
    d: &Domain,
    curps: &[String],
    people: &[Result<Value, String>],
    ns: &str,
) -> Vec<String> {
    let mut answers = Vec::new();
    for c in curps {
        answers.push(ask(sb, c, ns).await);
    }
    advance_ns(sb, ns, "3s").await;
    let mut wrong = Vec::new();
    for ((c, p), a) in curps.iter().zip(people).zip(&answers) {
        let st = (
            status(sb, &a.nss_by_curp, ns).await,
            status(sb, &a.rfc_by_curp, ns).await,
        );
        match p {
            Ok(p) => {
                wrong.extend(disagreements(d, p, a, &st));
                // A persona's documented NSS or RFC is the document's.
                let fixed = d
                    .persona(&c.trim().to_uppercase())
                    .is_some_and(|x| x.nss.is_some() || x.rfc.is_some());
                if !fixed {
                    wrong.extend(self_inconsistencies(d, p));
                }
            }
            Err(e) => wrong.push(format!("{c}: curp person failed: {e}")),
        }
    }
    wrong
}

// --- the tests -------------------------------------------------------------------

// SPEC §4 "The same CURP gives the same person on every provider and every
// run (seeded by the CURP and `--seed`): names whose letters agree with the
// CURP, the birth date, sex and birth state that the CURP encodes, an NSS,
// an RFC and INE data consistent with that person, formatted as each
// provider formats them", with README "The people behind the CURPs" and
// Decisions (curpv5, accuauth, validacurp getData, "Synthetic data") for
// each provider's forms. The edge people: born abroad, sex X, minors as of
// 2025, born 1900–1930, 29 February, Ñ, accents, compound names and one
// surname, homonyms, letters no name list covers, and every persona the
// providers answer with a person.
#[tokio::test]
async fn every_provider_states_the_same_person() {
    let sb = Sandbox::start().await;
    let d = domain();
    let mut rng = StdRng::seed_from_u64(0xC0FFEE);
    let mut curps = edge_curps();
    curps.extend(curps_with_special_names(&d, 2));
    curps.extend((0..6).map(|_| random_curp(&mut rng, &d.names)));
    curps.extend((0..6).map(|_| raw_curp(&mut rng)));
    curps.extend(
        d.personas
            .iter()
            .filter(|p| p.scenario.is_none() && p.scenarios.is_empty())
            .map(|p| p.curp.clone()),
    );
    let people = lib_people(&d, &curps, 0);
    let wrong = compare_everywhere(&sb, &d, &curps, &people, "default").await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A few CURPs of every kind: the documents' people, a homonym persona, born
/// abroad, a minor, the placeholders, random ones.
fn sample_curps(d: &Domain) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(77);
    let mut v: Vec<String> = [
        "PXNE660720HMCXTN06",
        "ABCD570805HYNHLC52",
        "XAXA010101XXXXXX01",
        "NAZA650704MTLVCL05",
        "HEGJ900515HDFRRN19",
        "WOXS030303MNENXFA6",
        "AOCJ121008MNLRNMA3",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    let edges = edge_curps();
    v.extend([edges[2].clone(), edges[8].clone(), edges[16].clone()]);
    v.extend((0..2).map(|_| random_curp(&mut rng, &d.names)));
    v.extend((0..2).map(|_| raw_curp(&mut rng)));
    v
}

// README, Command line: `mxid-sandbox curp person CURP [--seed N]` prints
// "the person every provider answers with (names, NSS, RFC, INE data)",
// "the CURP read as the providers read it, trimmed and upper-cased";
// Decisions: nss "the value is read upper-cased and trimmed", accuauth
// "Lower-case input is accepted and upper-cased". The binary's person for
// CURPs of every kind, half of them written in lower case with white space
// around (to the providers and to the CLI alike), is what every provider
// states.
#[tokio::test]
async fn curp_person_prints_the_person_every_provider_states() {
    let sb = Sandbox::start().await;
    let d = domain();
    let edges = edge_curps();
    let mut curps = sample_curps(&d);
    curps.extend([1, 4, 5, 11, 15, 20, 26, 27].map(|i| edges[i].clone()));
    curps.extend(curps_with_special_names(&d, 1));
    let sent: Vec<String> = curps
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                format!("  {}\t", c.to_lowercase())
            } else {
                c.clone()
            }
        })
        .collect();
    let people = cli_people(&sent, 0);
    let wrong = compare_everywhere(&sb, &d, &sent, &people, "default").await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// SPEC §5 "All runtime state … is kept per namespace" and §4 "the same
// person on every provider": three namespaces (two of them with clocks
// years away) are told the same people.
#[tokio::test]
async fn every_namespace_is_told_the_same_people() {
    let sb = Sandbox::start().await;
    let d = domain();
    let curps = sample_curps(&d);
    // README Decisions, "Synthetic data": "All years are computed as of
    // 2025 (the domain never reads the clock)": a namespace whose clock is
    // years away is told the same people.
    for (ns, at) in [
        ("past", "1999-03-01T08:00:00-06:00"),
        ("future", "2031-12-31T23:59:58-06:00"),
    ] {
        let r = sb
            .admin_post(
                &format!("/__admin/clock?namespace={ns}"),
                json!({ "set": at }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let people = lib_people(&d, &curps, 0);
    for ns in ["alpha", "past", "future"] {
        let wrong = compare_everywhere(&sb, &d, &curps, &people, ns).await;
        assert!(wrong.is_empty(), "{ns}: {wrong:#?}");
    }
}

/// Every answer (status and raw body) to the same requests about `curps`:
/// the five providers, the clock moved, the async statuses.
async fn transcript(http: &Http, curps: &[String]) -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    let mut ids = Vec::new();
    for c in curps {
        for (path, headers, body) in [
            (
                CURPV5.to_string(),
                vec![("apikey", "k")],
                json!({ "curp": c }),
            ),
            (
                GETDATA.to_string(),
                vec![("authorization", "Bearer t")],
                json!({ "curp": c }),
            ),
            (
                ID_CHECK.to_string(),
                vec![("x-df-api-id", "a"), ("x-df-api-secret", "s")],
                json!({ "id_number": c }),
            ),
            (
                NSS.to_string(),
                vec![("x-api-key", "k")],
                json!({ "curp": c }),
            ),
            (
                format!("{ASYNC}/NssByCurp"),
                vec![("apikey", "k")],
                json!({ "curp": c }),
            ),
            (
                format!("{ASYNC}/RfcByCurp"),
                vec![("apikey", "k")],
                json!({ "curp": c, "state": 15 }),
            ),
        ] {
            let r = http.post(&path, &headers, body).await;
            if path.starts_with(ASYNC) {
                if let Some(id) = r.json()["verificationId"].as_str() {
                    ids.push(id.to_string());
                }
            }
            out.push((format!("{path} {c}"), r.status, r.text()));
        }
    }
    http.advance("3s").await;
    for id in ids {
        let r = http
            .get(
                &format!("{ASYNC}/verificationStatus?verificationId={id}"),
                &[("apikey", "k")],
            )
            .await;
        out.push((format!("status {id}"), r.status, r.text()));
    }
    out
}

fn first_difference(a: &[(String, u16, String)], b: &[(String, u16, String)]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} answers against {}", a.len(), b.len()));
    }
    a.iter()
        .zip(b)
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("{x:#?}\nagainst\n{y:#?}"))
}

// SPEC §4 "The same CURP gives the same person on every provider and every
// run (seeded by the CURP and `--seed`)"; README Decisions, "The `Date`
// header is the machine's": "everything else replays (same `--seed`, same
// clock, same requests)". Two servers started with the same seed and clock
// (one in this process, one the binary) answer the same requests byte for
// byte, and `curp person --seed` states the people they state.
#[tokio::test]
async fn two_starts_with_the_same_seed_answer_alike_and_as_the_cli() {
    let d = domain();
    let curps = sample_curps(&d);
    let seeded = Config {
        seed: 42,
        ..config()
    };
    let a = Sandbox::start_with(seeded).await;
    let first = transcript(&a, &curps).await;
    let served = crate::common::Served::start(
        &[
            "--port",
            "0",
            "--seed",
            "42",
            "--start-time",
            crate::common::START,
            "--time-scale",
            "0",
        ],
        &[],
    );
    let second = transcript(&served, &curps).await;
    if let Some(diff) = first_difference(&first, &second) {
        panic!("the two runs differ: {diff}");
    }
    // The people the seeded server states are `curp person --seed 42`'s.
    let people = cli_people(&curps, 42);
    let wrong = compare_everywhere(&a, &d, &curps, &people, "again").await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// SPEC §5 "Per-CURP rate counters as documented: `nss` and `async`
// NssByCurp allow 2 queries per CURP per day (the third gets
// `attempts_exceeded` / `NSS008`)", with README Decisions (nss: "the value
// is read upper-cased and trimmed"): one CURP written three ways is one
// CURP, counted once per query.
#[tokio::test]
async fn one_curp_written_three_ways_is_counted_as_one() {
    let sb = Sandbox::start().await;
    let ways = [
        "PXNE660720HMCXTN06",
        " pxne660720hmcxtn06 ",
        "Pxne660720HMCXTN06\n",
    ];
    let mut got = Vec::new();
    for w in ways {
        let r = sb
            .post(NSS, &[("x-api-key", "k")], json!({ "curp": w }))
            .await;
        got.push(r.scenario().to_string());
    }
    assert_eq!(got, ["success", "success", "attempts_exceeded"]);
    let mut ids = Vec::new();
    for w in ways {
        let r = sb
            .post(
                &format!("{ASYNC}/NssByCurp"),
                &[("apikey", "k")],
                json!({ "curp": w }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        ids.push(r.json()["verificationId"].as_str().unwrap().to_string());
    }
    sb.advance("3s").await;
    let mut warnings = Vec::new();
    for id in &ids {
        let st = status(&sb, id, "default").await;
        warnings.push(st["warnings"].clone());
    }
    assert_eq!(warnings[0], json!([]), "{warnings:?}");
    assert_eq!(warnings[1], json!([]), "{warnings:?}");
    assert_eq!(warnings[2][0]["code"], "NSS008", "{warnings:?}");
}

// README, async: "for the INE, `electorCode` (type C) or `cicNumber` (D–H),
// `ocrNumber` and (C) `issueNumber` echo the request … and the rest (years,
// the other code) is the holder's: the person whose credential it is, when
// the whole credential is theirs … and they are of age. That is the
// credential `curp person` prints for a CURP … or a persona's"; `expDate` is
// `31/12/YYYY` of the expiry year. The credentials `curp
// person` prints, sent to IneNominalList, are answered with that person's
// years and codes, for type C and for D–H (the same person on every
// provider). A minor's credential is nobody's: it is answered as any other
// credential is (see the next tests), valid, in force and of age.
#[tokio::test]
async fn the_cli_credentials_are_answered_by_ine_nominal_list() {
    let sb = Sandbox::start().await;
    let d = domain();
    let mut curps = sample_curps(&d);
    curps.extend(edge_curps().into_iter().step_by(3));
    curps.extend(d.personas.iter().map(|p| p.curp.clone()));
    let people = lib_people(&d, &curps, 0);
    let mut sent = Vec::new();
    for p in people.iter().flatten() {
        let ine = &p["ine"];
        for body in [
            json!({"type": "C", "id": ine["elector_code"], "ocr": ine["ocr"],
                   "issueNumber": ine["issue_number"]}),
            json!({"type": "D", "id": ine["cic"], "ocr": ine["ocr"], "issueNumber": ""}),
        ] {
            let r = sb
                .post(
                    &format!("{ASYNC}/IneNominalList"),
                    &[("apikey", "k")],
                    body.clone(),
                )
                .await;
            assert_eq!(r.status, 200, "{body}: {}", r.text());
            let id = r.json()["verificationId"].as_str().unwrap().to_string();
            sent.push((p.clone(), body, id));
        }
    }
    sb.advance("3s").await;
    let mut wrong = Vec::new();
    let mut held = 0;
    for (p, body, id) in &sent {
        let st = status(&sb, id, "default").await;
        let v: Value = st["verification"]
            .as_str()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null);
        let data = &v["data"];
        let mut bad = |what: &str| wrong.push(format!("{} {body}: {what}: {v}", p["curp"]));
        // A persona not found on async is not found by its credential
        // either (README, "How a scenario is chosen", step 4).
        // Nor is a deceased holder on the register.
        let persona = d.persona(s(&p["curp"]));
        let not_found = persona.and_then(|p| p.scenario_for("async")) == Some("not_found");
        if not_found || p["status"] == "BD" {
            if v != json!({"valid": false, "canVote": false, "data": null}) {
                bad("found, though its persona is not found on async or dead");
            }
            continue;
        }
        if v["valid"] != true || v["canVote"] != true {
            bad("not valid");
            continue;
        }
        let c = body["type"] == "C";
        let echo = if c {
            data["electorCode"] == body["id"]
                && data["issueNumber"] == body["issueNumber"]
                && data["cicNumber"] == ""
        } else {
            data["cicNumber"] == body["id"] && s(&data["electorCode"]).chars().count() == 18
        };
        if !echo || data["ocrNumber"] != body["ocr"] || data["type"] != body["type"] {
            bad("not echoed");
        }
        let year = |k: &str| s(&data[k]).parse::<i32>().unwrap_or(0);
        let (reg, issue) = (year("registrationYear"), year("issueYear"));
        if data["expDate"] != json!(format!("31/12/{}", issue + 10)) {
            bad("expDate");
        }
        if !(2016..=2025).contains(&issue) || reg > issue {
            bad("issued outside the last ten years, or before its registration");
        }
        // A minor's credential is nobody's, and a foreigner's: answered
        // for a synthetic holder.
        let born: i32 = s(&p["birth_date"])[..4].parse().unwrap();
        if born + 18 > 2025 || p["nationality"] != "MEX" {
            if !c && data["electorCode"] == p["ine"]["elector_code"] {
                bad("answered for its minor or foreign holder");
            }
            continue;
        }
        held += 1;
        let ine = &p["ine"];
        let theirs = json!({
            "electorCode": ine["elector_code"],
            "issueNumber": ine["issue_number"],
            "issueYear": ine["issue_year"].to_string(),
            "registrationYear": ine["registration_year"].to_string(),
            "expDate": format!("31/12/{}", ine["expiry_year"]),
        });
        let answered = json!({
            "electorCode": data["electorCode"],
            "issueNumber": data["issueNumber"],
            "issueYear": data["issueYear"],
            "registrationYear": data["registrationYear"],
            "expDate": data["expDate"],
        });
        if answered != theirs {
            bad(&format!("not the holder's credential {theirs}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(held > sent.len() / 2, "{held} of {}", sent.len());
}

// README, Decisions, "INE credentials": a credential "read back this way
// is the holder's only if" it is a person's; numbers made up elsewhere
// that read as a CURP RENAPO never issued (an impossible date) are
// nobody's, and get a synthetic holder, not the person of that CURP.
#[tokio::test]
async fn numbers_that_read_as_a_curp_never_issued_are_nobodys() {
    let sb = Sandbox::start().await;
    let d = domain();
    let first16 = "LOPA991399MDFPRN";
    let never = format!("{first16}0{}", check_digit(&format!("{first16}0")).unwrap());
    assert!(check_strict(&never).is_err());
    let (cic, ocr) = mxid_sandbox::curp::ine::numbers_of(&never, 0).unwrap();
    let theirs = d.person(&never, 0).ine.elector_code.to_string();
    let body = json!({"type": "E", "id": cic, "ocr": ocr});
    let v = super::ine_verification(&sb, body).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_ne!(v["data"]["electorCode"], theirs.as_str(), "{v}");
}

/// One credential is one holder however its letters are cased: an elector
/// code sent in lower case gets the years the upper-case one gets.
#[tokio::test]
async fn a_credential_in_lower_case_is_the_same_holder() {
    let sb = Sandbox::start().await;
    let code = "GMVLMR80070501M100";
    let mut ids = Vec::new();
    for id in [code.to_string(), code.to_ascii_lowercase()] {
        let body = json!({"type": "c", "id": id, "ocr": "1234567890123", "issueNumber": "01"});
        let r = sb
            .post(&format!("{ASYNC}/IneNominalList"), &[("apikey", "k")], body)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        ids.push(r.json()["verificationId"].as_str().unwrap().to_string());
    }
    sb.advance("3s").await;
    let mut years = Vec::new();
    for id in &ids {
        let st = status(&sb, id, "default").await;
        let v: Value = serde_json::from_str(st["verification"].as_str().unwrap()).unwrap();
        let data = &v["data"];
        years.push((data["registrationYear"].clone(), data["issueYear"].clone()));
    }
    assert_eq!(years[0], years[1]);
}

// README, scenarios of curpv5, accuauth and validacurp: `active` …
// `judicial_removal` answer "200, `curpStatus` AN … BJD" (`estatusCurp`,
// `CurpStatusKey`): the same person with that status, whether forced by
// header or by an admin override; the constancia states it too.
#[tokio::test]
async fn a_forced_status_changes_the_status_and_nothing_else() {
    let sb = Sandbox::start().await;
    let d = domain();
    let curps = sample_curps(&d);
    let people = lib_people(&d, &curps, 0);
    let mut wrong = Vec::new();
    for (i, (c, p)) in curps.iter().zip(&people).enumerate() {
        let p = p.as_ref().unwrap();
        let realistic = ask(&sb, c, "default").await;
        sb.advance("3s").await;
        let st = (
            status(&sb, &realistic.nss_by_curp, "default").await,
            status(&sb, &realistic.rfc_by_curp, "default").await,
        );
        let (scenario, code) = CURP_STATUSES[i % CURP_STATUSES.len()];
        let by_override = i % 2 == 1;
        let mut h: Vec<(&str, &str)> = Vec::new();
        if by_override {
            for provider in ["curpv5", "validacurp", "accuauth"] {
                let r = sb
                    .admin_post(
                        "/__admin/overrides",
                        json!({"provider": provider, "scenario": scenario, "times": 1}),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.text());
            }
        } else {
            h.push(("x-sandbox-scenario", scenario));
        }
        let j = |r: crate::common::Resp| (r.status, r.json());
        let mut hh = h.clone();
        hh.push(("apikey", "k"));
        let curpv5 = j(sb.post(CURPV5, &hh, json!({ "curp": c })).await);
        let mut hh = h.clone();
        hh.push(("authorization", "Bearer t"));
        let getdata = j(sb.post(GETDATA, &hh, json!({ "curp": c })).await);
        let mut hh = h.clone();
        hh.extend([("x-df-api-id", "forced"), ("x-df-api-secret", "s")]);
        let accuauth = j(sb.post(ID_CHECK, &hh, json!({ "id_number": c })).await);
        let forced = Answers {
            curpv5,
            getdata,
            accuauth,
            ..realistic
        };
        let mut p2 = p.clone();
        p2["status"] = json!(code);
        wrong.extend(
            disagreements(&d, &p2, &forced, &st)
                .into_iter()
                .map(|w| format!("{scenario} (override: {by_override}): {w}")),
        );
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README, The fixture files / Command line: `curp person` with `--fixtures
// DIR` states "the people … as `serve` reads them"; the person cache
// "Lives with the fixtures, so a reload starts it afresh" (src/engine/
// people.rs) and SPEC §7 `POST /__admin/reload` "re-read the YAML". A
// persona changed on disk and reloaded is the new person on every
// provider (the constancia included) and in the CLI.
#[tokio::test]
async fn a_reloaded_persona_is_the_new_person_everywhere() {
    let d = domain();
    let mut rng = StdRng::seed_from_u64(5150);
    let curp = random_curp(&mut rng, &d.names);
    let dir = crate::common::temp_dir("people-reload");
    let _gone = crate::common::RemovedOnDrop(dir.clone());
    let write = |names: &str, first: &str, second: &str| {
        std::fs::write(
            dir.join("personas.yaml"),
            format!(
                "- curp: {curp}\n  names: \"{names}\"\n  first_surname: \"{first}\"\n  second_surname: \"{second}\"\n  registry:\n    entity_name: \"nuevo león\"\n    municipality_name: \"San Nicolás de los Garza\"\n"
            ),
        )
        .unwrap();
    };
    write("JOSÉ ÑANDÚ", "DE LA PEÑA", "MUÑOZ Y GÓMEZ");
    let sb = Sandbox::start_with(Config {
        fixtures: mxid_sandbox::Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let fixtures = dir.to_str().unwrap().to_string();
    let cli = |c: &str| {
        cli_all(&[vec![
            "--fixtures".into(),
            fixtures.clone(),
            "person".into(),
            c.to_string(),
        ]])
        .remove(0)
        .unwrap()
    };
    let mut wrong = Vec::new();
    for (round, (names, first, second)) in [
        ("JOSÉ ÑANDÚ", "DE LA PEÑA", "MUÑOZ Y GÓMEZ"),
        ("MARÍA DEL CARMEN", "O'HIGGINS", ""),
    ]
    .into_iter()
    .enumerate()
    {
        if round > 0 {
            write(names, first, second);
            let r = sb.admin_post("/__admin/reload", json!({})).await;
            assert_eq!(r.status, 200, "{}", r.text());
        }
        let p = cli(&curp);
        assert_eq!(
            (
                s(&p["names"]),
                s(&p["first_surname"]),
                s(&p["second_surname"])
            ),
            (names, first, second),
            "{p}"
        );
        assert_eq!(p["registry"]["entity_ine"], "19", "{p}");
        let ns = format!("round{round}");
        let a = ask(&sb, &curp, &ns).await;
        advance_ns(&sb, &ns, "3s").await;
        let st = (
            status(&sb, &a.nss_by_curp, &ns).await,
            status(&sb, &a.rfc_by_curp, &ns).await,
        );
        wrong.extend(disagreements(&d, &p, &a, &st));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// README, Scenarios per provider (realistic paths) and Decisions,
// "Synthetic data", with Command line: `curp person` exits 1 "for a CURP
// RENAPO never issued (the providers answer it not found or malformed)".
// 29 February of a year that has none (1900, 2023), a wrong check digit,
// a birth after 2025: no provider states a person, and the CLI has none.
#[tokio::test]
async fn a_curp_no_one_holds_is_no_one_everywhere() {
    let fix = |c: &str| {
        let mut c = c[..17].to_string();
        c.push(check_digit(&c).unwrap());
        c
    };
    let valid = curp_for("LUIS", "REYES", "CRUZ", (1904, 2, 29), Sex::H, "ZS");
    let cases = [
        // 1900 is no leap year (a digit differentiator is the 1900s).
        (
            fix(&format!("{}000229{}", &valid[..4], &valid[10..])),
            "malformed",
        ),
        (
            fix(&format!("{}230229{}A0", &valid[..4], &valid[10..16])),
            "malformed",
        ),
        (
            format!(
                "{}{}",
                &valid[..17],
                if valid.ends_with('0') { '1' } else { '0' }
            ),
            "not issued",
        ),
        (
            fix(&format!("{}260101{}A0", &valid[..4], &valid[10..16])),
            "not issued",
        ),
    ];
    let sb = Sandbox::start().await;
    let curps: Vec<String> = cases.iter().map(|(c, _)| c.clone()).collect();
    let cli = cli_people(&curps, 0);
    let mut wrong = Vec::new();
    for ((c, kind), cli) in cases.iter().zip(&cli) {
        let malformed = *kind == "malformed";
        let a = ask(&sb, c, "default").await;
        let expect = [
            ("curpv5", a.curpv5.0, if malformed { 400 } else { 404 }),
            ("validacurp", a.getdata.0, 400),
            ("accuauth", a.accuauth.0, 200),
            ("nss", a.nss.0, 200),
        ];
        for (who, got, want) in expect {
            if got != want {
                wrong.push(format!("{c} ({kind}) {who}: HTTP {got}"));
            }
        }
        let code = a.getdata.1["code_error"].clone();
        if code != json!(if malformed { 101 } else { 300 }) {
            wrong.push(format!("{c} ({kind}) validacurp code {code}"));
        }
        if a.accuauth.1["result_code"] != "3" {
            wrong.push(format!("{c} ({kind}) accuauth {}", a.accuauth.1));
        }
        if a.nss.1["response"]["status"] != "NOT_FOUND" {
            wrong.push(format!("{c} ({kind}) nss {}", a.nss.1));
        }
        if cli.is_ok() {
            wrong.push(format!("{c} ({kind}) curp person: {cli:?}"));
        }
        if malformed {
            for (id, code) in [(&a.nss_by_curp, "NSS006"), (&a.rfc_by_curp, "RFC006")] {
                if !(id.starts_with("HTTP 400") && id.contains(code)) {
                    wrong.push(format!("{c} ({kind}) async: {id}"));
                }
            }
        } else {
            sb.advance("3s").await;
            for (id, code) in [(&a.nss_by_curp, "NSS005"), (&a.rfc_by_curp, "RFC005")] {
                let st = status(&sb, id, "default").await;
                if st["warnings"][0]["code"] != code || !st["verification"].is_null() {
                    wrong.push(format!("{c} ({kind}) async: {st}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

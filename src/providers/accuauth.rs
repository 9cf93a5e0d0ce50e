//! AccuAuth Mexico cloud API (seed 002): `POST /verify/id_check`.
//!
//! Credentials are two headers, `X-DF-API-ID` and `X-DF-API-SECRET`; the body
//! carries `id_number` as JSON, urlencoded or multipart form data (every
//! public AccuAuth client posts form data). Every answer carries
//! `request_id` (`TID` and 32 lowercase hex digits). Result codes 0, 1, 2, 3
//! and 5 (the seed has no 4) answer
//! HTTP 200 with `status: "OK"`; errors answer `{status, reason, request_id}`
//! with the HTTP code of the seed's error table.

use base64::Engine as _;
use hyper::header::HeaderName;
use rand::rngs::SmallRng;
use rand::Rng as _;

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::common::dmy;
use super::pdf;
use crate::curp::{self, Person, Renapo, Sex};
use crate::engine::cache::Cache;
use crate::engine::counters::Window;
use crate::engine::model::{self, Scenario};
use crate::engine::provider::{write_hex, Call, Provider};
use crate::engine::template::Vars;
use crate::fnv::Fnv;
use crate::request::{http_trim, Field, Request};

#[derive(Default)]
pub struct Accuauth {
    pdfs: PdfCache,
}

/// The CURP a scenario renders with when the request has no usable one:
/// the persona of the document's example (which masks its CURP).
const EXAMPLE_CURP: &str = "RAZR811011HVZMPB01";

/// The API ID header; the API secret header must come with it.
const API_ID: HeaderName = HeaderName::from_static("x-df-api-id");
const API_SECRET: HeaderName = HeaderName::from_static("x-df-api-secret");

/// The body field the document names.
const ID_NUMBER: &str = "id_number";

/// `settings:` keys of `scenarios/accuauth.yaml`, with their defaults.
const SAME_ID_PER_DAY: (&str, Option<u64>) = ("same_id_per_day", Some(10));
const REQUESTS_PER_SECOND: (&str, Option<u64>) = ("requests_per_second", None);
const QUOTA: (&str, Option<u64>) = ("quota", None);

impl Provider for Accuauth {
    fn id(&self) -> &'static str {
        "accuauth"
    }

    fn yaml(&self) -> &'static str {
        include_str!("../../scenarios/accuauth.yaml")
    }

    fn endpoints(&self) -> &'static [&'static str] {
        &["id_check"]
    }

    fn data_keys(&self) -> &'static [&'static str] {
        &["status"]
    }

    fn data_statuses(&self) -> &'static [&'static str] {
        &["status"]
    }

    fn variables(&self) -> &'static [&'static str] {
        &[
            "request_id",
            "codigo_validacion",
            "curp",
            "nombre",
            "apellido_paterno",
            "apellido_materno",
            "sexo",
            "fecha_nacimiento",
            "pais_nacimiento",
            "estado_nacimiento",
            "doc_probatorio",
            "entidad_registro",
            "tomo",
            "clave_municipio_registro",
            "anio_reg",
            "clave_entidad_registro",
            "foja",
            "num_acta",
            "libro",
            "municipio_registro",
            "estatus_curp",
            "documento",
        ]
    }

    fn required_scenarios(&self, _endpoint: &str) -> Vec<&'static str> {
        vec![
            "success",
            "not_found",
            "invalid_id_number",
            "missing_field",
            "invalid_format",
            "attempts_exceeded",
            "rate_limited",
            "out_of_quota",
        ]
    }

    fn check_settings(&self, settings: &model::SettingsMap) -> Result<(), model::SettingsError> {
        let limits = [SAME_ID_PER_DAY.0, REQUESTS_PER_SECOND.0, QUOTA.0];
        model::check_limits(settings, &limits, &[])
    }

    fn credential(&self, req: &Request) -> Option<String> {
        // Both headers are required; the API ID names the customer.
        // The engine trims the API ID and tells an empty one missing.
        let id = req.header_lossy(&API_ID)?;
        req.header_lossy(&API_SECRET)
            .filter(|s| !http_trim(s).is_empty())?;
        Some(id.into_owned())
    }

    fn curp(&self, _endpoint: &str, req: &Request) -> Option<String> {
        req.field(ID_NUMBER).text()
    }

    fn realistic(&self, call: &mut Call<'_>) -> Cow<'static, str> {
        let api_id = call.credential.as_deref().unwrap_or_default();
        // The gateway limits the request rate before it reads the body.
        if call.over_limit(REQUESTS_PER_SECOND, Window::Second, || {
            format!("accuauth:rate:{api_id}")
        }) {
            return "rate_limited".into();
        }
        // The argument missing is the gateway's INVALID_ARGUMENT; an array or
        // an object is there but not an ID number (a number arrives as text).
        let id_number = match call.curp.as_deref() {
            Some(id) => Some(id),
            None if matches!(call.req.field(ID_NUMBER), Field::Other(_)) => None,
            None => return "missing_field".into(),
        };
        // From here the request reaches the service, and every result code
        // is billable: the quota counts it.
        if call.over_limit(QUOTA, Window::Forever, || {
            format!("accuauth:quota:{api_id}")
        }) {
            return "out_of_quota".into();
        }
        // Without the CURP pattern: result code 2, "ID number format error".
        let Some(id_number) = id_number.filter(|id| curp::is_loose(id)) else {
            return "invalid_format".into();
        };
        if call.over_limit(SAME_ID_PER_DAY, Window::Day, || {
            format!("accuauth:same_id:{api_id}:{id_number}")
        }) {
            return "attempts_exceeded".into();
        }
        // The CURP pattern holds but RENAPO never issued it (a wrong check
        // digit, an impossible date, an unknown state, a birth after the
        // reference year): result code 3.
        if call.fixtures.domain.renapo(id_number) != Renapo::Found {
            return "invalid_id_number".into();
        }
        "success".into()
    }

    fn vars(&self, call: &mut Call<'_>, scenario: &Scenario, vars: &mut Vars) {
        vars.set_with("request_id", |out| {
            write_request_id(&mut call.rng("request_id"), out)
        });
        // Only the answers that state the person (the document's `result`,
        // or a user's scenario naming one of its values) need it and the PDF.
        if !scenario.uses(|v| v != "request_id" && self.variables().contains(&v)) {
            return;
        }
        let codigo = validation_code(call);
        let created = pdf_date(call);
        let person = call.person_or(EXAMPLE_CURP);
        let status = scenario
            .data_str("status")
            .unwrap_or(&person.status)
            .to_string();
        let stated = Stated::of(call, &person, status, codigo);
        let r = &person.registry;
        vars.set("codigo_validacion", stated.codigo.as_str())
            .set("curp", person.curp.as_str())
            .set("nombre", person.names.as_str())
            .set("apellido_paterno", person.first_surname.as_str())
            .set("apellido_materno", person.second_surname.as_str())
            .set("sexo", stated.sexo)
            .set("fecha_nacimiento", stated.fecha.as_str())
            .set("pais_nacimiento", stated.pais.as_str())
            .set("estado_nacimiento", stated.estado.as_str())
            .set("doc_probatorio", person.proof_document)
            .set("entidad_registro", stated.entidad_registro.as_str())
            .set("tomo", r.volume.as_str())
            .set("clave_municipio_registro", r.municipality_code.as_str())
            .set("anio_reg", anio(r.year))
            .set("clave_entidad_registro", r.entity_ine.as_str())
            .set("foja", r.page.as_str())
            .set("num_acta", r.act_number.as_str())
            .set("libro", r.book.as_str())
            .set(
                "municipio_registro",
                r.municipality_name.as_str().to_uppercase(),
            )
            .set("estatus_curp", stated.status.as_str())
            .set_with("documento", |out| {
                self.pdfs.write(&stated, &person, &created, out)
            });
    }

    fn error_variables(&self) -> &'static [&'static str] {
        &["request_id"]
    }

    fn error_vars(&self, _req: &Request, rng: &mut SmallRng, vars: &mut Vars) {
        vars.set_with("request_id", |out| write_request_id(rng, out));
    }
}

/// A `request_id` as the document prints them: `TID` and 32 hex digits.
fn write_request_id(rng: &mut SmallRng, out: &mut String) {
    out.push_str("TID");
    write_hex(rng, 32, out);
}

/// The upper-case name of a RENAPO state code (`VZ` → `VERACRUZ`, `NE` →
/// `NACIDO EN EL EXTRANJERO`), the code itself when the catalog lacks it.
fn state_name(call: &Call<'_>, renapo: &str) -> String {
    call.fixtures
        .domain
        .catalogs
        .entity_by_renapo(renapo)
        .map(|e| e.upper.clone())
        .unwrap_or_else(|| renapo.to_string())
}

/// The upper-case name of an INE entity code (`30` → `VERACRUZ`).
fn entity_name(call: &Call<'_>, ine: &str, fallback: &str) -> String {
    call.fixtures
        .domain
        .catalogs
        .entity_by_ine(ine)
        .map(|e| e.upper.clone())
        .unwrap_or_else(|| fallback.to_uppercase())
}

/// Nationality codes and the countries they name, written as the answer
/// writes places (`MEXICO`, as the document's example): upper case, without
/// accents. The synthetic people's nationalities, and those most common
/// among foreigners who live in Mexico.
const COUNTRIES: [(&str, &str); 35] = [
    ("MEX", "MEXICO"),
    ("USA", "ESTADOS UNIDOS DE AMERICA"),
    ("GTM", "GUATEMALA"),
    ("COL", "COLOMBIA"),
    ("VEN", "VENEZUELA"),
    ("ESP", "ESPAÑA"),
    ("ARG", "ARGENTINA"),
    ("CUB", "CUBA"),
    ("HND", "HONDURAS"),
    ("CAN", "CANADA"),
    ("SLV", "EL SALVADOR"),
    ("NIC", "NICARAGUA"),
    ("CRI", "COSTA RICA"),
    ("PAN", "PANAMA"),
    ("BLZ", "BELICE"),
    ("DOM", "REPUBLICA DOMINICANA"),
    ("HTI", "HAITI"),
    ("PER", "PERU"),
    ("ECU", "ECUADOR"),
    ("CHL", "CHILE"),
    ("BOL", "BOLIVIA"),
    ("PRY", "PARAGUAY"),
    ("URY", "URUGUAY"),
    ("BRA", "BRASIL"),
    ("CHN", "CHINA"),
    ("JPN", "JAPON"),
    ("KOR", "COREA DEL SUR"),
    ("IND", "INDIA"),
    ("FRA", "FRANCIA"),
    ("DEU", "ALEMANIA"),
    ("ITA", "ITALIA"),
    ("GBR", "REINO UNIDO"),
    ("PRT", "PORTUGAL"),
    ("RUS", "RUSIA"),
    ("PHL", "FILIPINAS"),
];

/// `paisNacimiento` of someone born abroad: RENAPO records no country of
/// birth for them, only a nationality, whose country is the closest fact
/// the person has. A code not in [`COUNTRIES`] (a persona's) is written as
/// it is.
fn country(nationality: &str) -> &str {
    COUNTRIES
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(nationality))
        .map_or(nationality, |(_, name)| name)
}

/// The person's data as the answer states it, shared by the JSON and the PDF.
struct Stated {
    codigo: String,
    status: String,
    sexo: &'static str,
    fecha: String,
    pais: String,
    estado: String,
    entidad_registro: String,
}

impl Stated {
    fn of(call: &Call<'_>, person: &Person, status: String, codigo: String) -> Stated {
        let sexo = match person.sex {
            Sex::H => "HOMBRE",
            Sex::M => "MUJER",
            Sex::X => "NO BINARIO",
        };
        let pais = if person.birth_state == "NE" {
            country(&person.nationality).to_string()
        } else {
            "MEXICO".to_string()
        };
        let r = &person.registry;
        Stated {
            codigo,
            status,
            sexo,
            fecha: dmy(person.birth_date),
            pais,
            estado: state_name(call, &person.birth_state),
            entidad_registro: entity_name(call, &r.entity_ine, &r.entity_name),
        }
    }

    /// The constancia: the CURP data in RENAPO's words, and a line saying
    /// the file is a sandbox's.
    fn page<'a>(&'a self, person: &Person, codigo: &str, created: &'a str) -> PageText<'a> {
        let r = &person.registry;
        let lines = vec![
            format!("Clave: {}", person.curp),
            format!("Nombre(s): {}", person.names),
            format!("Primer apellido: {}", person.first_surname),
            format!("Segundo apellido: {}", person.second_surname),
            format!("Sexo: {}", self.sexo),
            format!("Fecha de nacimiento: {}", self.fecha),
            format!("País de nacimiento: {}", self.pais),
            format!("Entidad de nacimiento: {}", self.estado),
            format!("Documento probatorio: {}", person.proof_document),
            registro(&[
                ("entidad", words(&[&r.entity_ine, &self.entidad_registro])),
                (
                    "municipio",
                    words(&[&r.municipality_code, &r.municipality_name.to_uppercase()]),
                ),
                ("año", anio(r.year)),
                ("acta", r.act_number.to_string()),
            ]),
            format!("Estatus CURP: {}", self.status),
            format!("Código de validación: {codigo}"),
            String::new(),
            "Documento generado por mxid-sandbox. Sin validez oficial.".to_string(),
        ];
        PageText { lines, created }
    }
}

/// Constancias already written, by person and CURP status, with the
/// validation code and the creation date blank (`pdf::Blanked`): an answer
/// fills in its own two values instead of writing and encoding the whole
/// file. Keyed by a hash of what the file was written for, which the entry
/// states again in full.
struct PdfCache {
    kept: Cache<u64, Arc<Kept>>,
}

impl Default for PdfCache {
    fn default() -> PdfCache {
        PdfCache {
            kept: Cache::new(PDFS),
        }
    }
}

/// One written constancia and what it was written for.
struct Kept {
    /// Held so the pointer compared against cannot be reused by another person.
    person: Arc<Person>,
    status: String,
    lengths: (usize, usize),
    blanked: Option<pdf::Blanked>,
}

/// Constancias kept, about 2.5 KB each.
const PDFS: usize = 4096;

impl PdfCache {
    /// Appends the base64 constancia of `stated` created at `created`.
    fn write(&self, stated: &Stated, person: &Arc<Person>, created: &str, out: &mut String) {
        let lengths = (stated.codigo.len(), created.len());
        let mut key = Fnv::default();
        (person.curp.as_str(), stated.status.as_str(), lengths).hash(&mut key);
        let key = key.finish();
        let same = |k: &Kept| {
            Arc::ptr_eq(&k.person, person) && k.status == stated.status && k.lengths == lengths
        };
        let found = self.kept.get(&key).filter(|k| same(k));
        let kept = found.unwrap_or_else(|| {
            // Blanks no person's data holds: `~` and `^` never occur in a name.
            let code_blank = "~".repeat(lengths.0);
            let date_blank = "^".repeat(lengths.1);
            let text = stated.page(person, &code_blank, &date_blank);
            let kept = Arc::new(Kept {
                person: person.clone(),
                status: stated.status.clone(),
                lengths,
                blanked: pdf::Blanked::new(&text.as_page(), &[&code_blank, &date_blank]),
            });
            self.kept.insert(key, kept.clone());
            kept
        });
        let filled = kept
            .blanked
            .as_ref()
            .is_some_and(|b| b.write_base64(&[&stated.codigo, created], out));
        if !filled {
            let text = stated.page(person, &stated.codigo, created);
            base64::engine::general_purpose::STANDARD
                .encode_string(pdf::one_page(&text.as_page()), out);
        }
    }
}

/// The text of the constancia, owned until the PDF is written.
struct PageText<'a> {
    lines: Vec<String>,
    created: &'a str,
}

impl PageText<'_> {
    fn as_page(&self) -> pdf::Page<'_> {
        pdf::Page {
            title: "Constancia de la Clave Única de Registro de Población",
            lines: &self.lines,
            created: self.created,
        }
    }
}

/// The non-empty parts, separated by spaces.
fn words(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The constancia's registry line: each part named, those a persona
/// leaves empty left out (`año , acta` read as a year gone missing).
fn registro(parts: &[(&str, String)]) -> String {
    let stated: Vec<String> = parts
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    format!("Registro: {}", stated.join(", "))
}

/// The registry year as text; empty when unknown.
fn anio(year: u16) -> String {
    if year == 0 {
        String::new()
    } else {
        year.to_string()
    }
}

/// `codigoValidacion`: `vc`, the validation time in epoch milliseconds and
/// eight random digits, as the document's masked example
/// (`vc16752xxxxx1.73xxxxxx`) reads.
fn validation_code(call: &Call<'_>) -> String {
    let mut rng = call.rng("codigo_validacion");
    let mut code = format!("vc{}.", call.now.micros().div_euclid(1000));
    code.extend((0..8).map(|_| char::from_digit(rng.random_range(0..10), 10).unwrap_or('0')));
    code
}

/// The sandbox time as a PDF date in Mexico's offset: `D:20240515100000-06'00'`.
fn pdf_date(call: &Call<'_>) -> String {
    // `2024-05-15T10:00:00-06:00` → digits of the date and time.
    let t = call.now.to_mx_rfc3339_secs();
    let mut date = String::with_capacity(24);
    date.push_str("D:");
    date.extend(t.chars().take(19).filter(char::is_ascii_digit));
    date.push_str("-06'00'");
    date
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nationality_is_written_as_its_country() {
        assert_eq!(country("MEX"), "MEXICO");
        assert_eq!(country("CUB"), "CUBA");
        assert_eq!(country("usa"), "ESTADOS UNIDOS DE AMERICA");
        // A code the table does not know, as written.
        assert_eq!(country("XKX"), "XKX");
        assert_eq!(country(""), "");
    }

    #[test]
    fn every_synthetic_nationality_names_a_country() {
        for code in crate::curp::person::FOREIGN_NATIONALITIES {
            assert_ne!(country(code), code, "{code}");
        }
        let codes: std::collections::HashSet<_> = COUNTRIES.iter().map(|(c, _)| c).collect();
        assert_eq!(codes.len(), COUNTRIES.len(), "a code listed twice");
    }
}

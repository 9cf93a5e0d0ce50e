//! Valida CURP (Multiservicios Web), API v2 (seed 001): `validateCurpStructure`,
//! `getData`, `calculateCURP` and `getEntities`, each at `/curp/{method}` and
//! `/api/v2/curp/{method}`.
//!
//! The token travels as `Authorization: Bearer T` or as `"token": T` in the
//! body. `pruebas` is the document's test token: static test data on
//! `getData` and `validateCurpStructure`, the real calculation on
//! `calculateCURP` (the document's own pruebas example answers the calculated
//! CURP). Every error of the document is HTTP 400 in its envelope, with
//! `msn` beside `error_message` because the official clients read `msn`
//! (the sandbox's own 404, 405 and 413 take the same envelope).

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::curp::{self, CalcInput, Renapo, Sex};
use crate::engine::counters::Window;
use crate::engine::model::{self, Scenario};
use crate::engine::provider::{Call, Provider};
use crate::engine::quoted;
use crate::engine::template::Vars;
use crate::request::{Field, Request};
use crate::time::Date;

pub struct ValidaCurp;

/// The document's test token.
const TEST_TOKEN: &str = "pruebas";

/// The CURP of the document's general example, whose answer it prints as
/// the static test data: getData answers it so whatever the token.
const PLACEHOLDER: &str = "XAXX010101XAXAXA00";

/// The CURP a scenario renders with when the request has no usable one: the
/// document's example person.
const EXAMPLE_CURP: &str = "PXNE660720HMCXTN06";

/// `settings` key: queries per token before code 4; absent or null is no quota.
const QUOTA_SETTING: &str = "quota_per_token";

/// calculateCURP's 417 texts for what its documented codes do not name (the
/// document prints none: the sandbox's own, in the document's Spanish).
fn no_such_date(year: &str, month: &str, day: &str) -> String {
    format!("La fecha de nacimiento {year}-{month}-{day} no existe")
}

/// [`no_such_date`]'s kin, for what the calculation itself refuses.
fn calculation_refused(e: &curp::CalcError) -> String {
    match e {
        // Four digits, as the year was typed (`0000`, not `0`).
        curp::CalcError::YearOutOfRange(y) => {
            format!("El año de nacimiento {y:04} está fuera del rango de la CURP (1900 a 2099)")
        }
        curp::CalcError::EmptyNames => "El nombre está vacío".into(),
        curp::CalcError::EmptyFirstSurname => "El primer apellido está vacío".into(),
        curp::CalcError::UnknownState(s) => format!("La entidad {s} no existe"),
    }
}

/// The `Applicant` object of `getData`, in document order: the document's
/// field name and the placeholder that fills it.
const APPLICANT: [(&str, &str); 14] = [
    ("CURP", "curp"),
    ("Names", "names"),
    ("LastName", "last_name"),
    ("SecondLastName", "second_last_name"),
    ("GenderKey", "gender_key"),
    ("Gender", "gender"),
    ("DateOfBirth", "date_of_birth"),
    ("Nacionality", "nacionality"),
    ("CodeEntityBirth", "code_entity_birth"),
    ("EntityBirth", "entity_birth"),
    ("KeyEvidentiaryDocument", "key_evidentiary_document"),
    ("EvidentiaryDocument", "evidentiary_document"),
    ("CurpStatusKey", "curp_status_key"),
    ("StatusKey", "status_key"),
];

/// The `EvidentiaryDocument` object of `getData`, in document order.
const EVIDENTIARY: [(&str, &str); 12] = [
    ("YearRegistration", "year_registration"),
    ("KeyIssuingEntity", "key_issuing_entity"),
    (
        "KeyMunicipalityRegistration",
        "key_municipality_registration",
    ),
    ("MunicipalityRegistration", "municipality_registration"),
    ("Foja", "foja"),
    ("FolioLetter", "folio_letter"),
    ("Book", "book"),
    ("CertificateNumber", "certificate_number"),
    ("RegistrantNumber", "registrant_number"),
    ("RegistrationEntity", "registration_entity"),
    ("ForeignRegistrationNumber", "foreign_registration_number"),
    ("Volume", "volume"),
];

/// The `calculateCURP` fields in the order of their "missing" codes 400–407,
/// with the scenario that answers each missing one.
const CALC_FIELDS: [(&str, &str); 8] = [
    ("names", "missing_names"),
    ("lastName", "missing_last_name"),
    ("secondLastName", "missing_second_last_name"),
    ("birthday", "missing_birthday"),
    ("birthMonth", "missing_birth_month"),
    ("yearBirth", "missing_year_birth"),
    ("gender", "missing_gender"),
    ("entity", "missing_entity"),
];

/// Why `calculateCURP` input gives no CURP: the scenario that answers, and
/// for code 417 the detail the response carries.
struct CalcRefusal {
    scenario: &'static str,
    detail: Option<String>,
}

impl CalcRefusal {
    fn code(scenario: &'static str) -> CalcRefusal {
        CalcRefusal {
            scenario,
            detail: None,
        }
    }

    fn unexpected(detail: String) -> CalcRefusal {
        CalcRefusal {
            scenario: "internal_error",
            detail: Some(detail),
        }
    }
}

impl Provider for ValidaCurp {
    fn id(&self) -> &'static str {
        "validacurp"
    }

    fn yaml(&self) -> &'static str {
        include_str!("../../scenarios/validacurp.yaml")
    }

    fn endpoints(&self) -> &'static [&'static str] {
        &[
            "validateCurpStructure",
            "getData",
            "calculateCURP",
            "getEntities",
        ]
    }

    fn check_provider_data(&self, data: &Value) -> Result<(), (String, String)> {
        let Value::Object(sections) = data else {
            return Err((
                String::new(),
                "expected a map of Applicant and EvidentiaryDocument".into(),
            ));
        };
        for (section, fields) in sections {
            let table = match section.as_str() {
                "Applicant" => &APPLICANT[..],
                "EvidentiaryDocument" => &EVIDENTIARY[..],
                _ => {
                    let message = format!(
                        "validacurp reads Applicant and EvidentiaryDocument, not '{}'",
                        quoted(section)
                    );
                    return Err((section.clone(), message));
                }
            };
            let Value::Object(fields) = fields else {
                let message = format!("expected a map of getData's {section} fields");
                return Err((section.clone(), message));
            };
            if let Some(field) = fields.keys().find(|f| !table.iter().any(|(n, _)| n == f)) {
                let message = format!("getData's {section} has no field '{}'", quoted(field));
                return Err((format!("{section}.{field}"), message));
            }
        }
        Ok(())
    }

    fn data_keys(&self) -> &'static [&'static str] {
        &["status", "detail"]
    }

    fn data_statuses(&self) -> &'static [&'static str] {
        &["status"]
    }

    fn variables(&self) -> &'static [&'static str] {
        &[
            "curp",
            "names",
            "last_name",
            "second_last_name",
            "gender_key",
            "gender",
            "date_of_birth",
            "nacionality",
            "code_entity_birth",
            "entity_birth",
            "key_evidentiary_document",
            "evidentiary_document",
            "curp_status_key",
            "status_key",
            "year_registration",
            "key_issuing_entity",
            "key_municipality_registration",
            "municipality_registration",
            "foja",
            "folio_letter",
            "book",
            "certificate_number",
            "registrant_number",
            "registration_entity",
            "foreign_registration_number",
            "volume",
            "entities",
            "detail",
        ]
    }

    fn required_scenarios(&self, endpoint: &str) -> Vec<&'static str> {
        let mut r = vec!["success", "pruebas", "out_of_quota"];
        match endpoint {
            "validateCurpStructure" => r.extend(["invalid_structure", "missing_field"]),
            "getData" => r.extend(["missing_field", "invalid_format", "not_found"]),
            "calculateCURP" => {
                r.extend(CALC_FIELDS.iter().map(|(_, s)| *s));
                r.extend([
                    "non_numeric_birthday",
                    "non_numeric_birth_month",
                    "non_numeric_year_birth",
                    "birthday_length",
                    "birth_month_length",
                    "birth_month_range",
                    "year_birth_length",
                    "invalid_gender",
                    "invalid_entity",
                    "internal_error",
                ]);
            }
            _ => {}
        }
        r
    }

    fn check_settings(&self, settings: &model::SettingsMap) -> Result<(), model::SettingsError> {
        model::check_limits(settings, &[QUOTA_SETTING], &[])
    }

    fn credential(&self, req: &Request) -> Option<String> {
        // The header first; a header that is not a Bearer token (nor one
        // that ends at the scheme) falls back to the body, where the
        // document's examples put it.
        req.bearer().or_else(|| req.field("token").text())
    }

    fn credential_in_body(&self) -> bool {
        true
    }

    fn curp(&self, endpoint: &str, req: &Request) -> Option<String> {
        match endpoint {
            "validateCurpStructure" | "getData" => req.field("curp").text(),
            _ => None,
        }
    }

    fn test_switch(&self, call: &mut Call<'_>) -> Option<Cow<'static, str>> {
        if call.credential.as_deref() != Some(TEST_TOKEN) {
            return None;
        }
        // In test mode the input checks of calculateCURP still apply: the
        // document's pruebas example is a real calculation.
        if call.endpoint_id() == "calculateCURP" {
            if let Err(refusal) = checked_calc_input(call) {
                return Some(refusal.into());
            }
        }
        Some("pruebas".into())
    }

    fn realistic(&self, call: &mut Call<'_>) -> Cow<'static, str> {
        if call.over_limit((QUOTA_SETTING, None), Window::Forever, || {
            let token = call.credential.as_deref().unwrap_or_default();
            format!("validacurp:quota:{token}")
        }) {
            return "out_of_quota".into();
        }
        match call.endpoint_id() {
            "validateCurpStructure" => match call.curp.as_deref() {
                None => "missing_field".into(),
                Some(c) if curp::check_strict(c).is_ok() => "success".into(),
                Some(_) => "invalid_structure".into(),
            },
            "getData" => match call.curp.as_deref() {
                None => "missing_field".into(),
                Some(PLACEHOLDER) => "pruebas".into(),
                Some(c) => match call.fixtures.domain.renapo(c) {
                    Renapo::Found => "success".into(),
                    // Code 300: RENAPO has no such CURP.
                    Renapo::NotIssued => "not_found".into(),
                    Renapo::Malformed => "invalid_format".into(),
                },
            },
            "calculateCURP" => match checked_calc_input(call) {
                Ok(()) => "success".into(),
                Err(scenario) => scenario.into(),
            },
            _ => "success".into(),
        }
    }

    fn vars(&self, call: &mut Call<'_>, scenario: &Scenario, vars: &mut Vars) {
        match call.endpoint_id() {
            "getData" => person_vars(call, scenario, vars),
            "calculateCURP" => {
                let checked = call.take_found::<Result<String, CalcRefusal>>();
                let (curp, detail) = match checked.unwrap_or_else(|| calc_input(call)) {
                    Ok(curp) => (Some(curp), None),
                    Err(refusal) => (None, refusal.detail),
                };
                vars.set("curp", curp.unwrap_or_else(|| EXAMPLE_CURP.to_string()));
                vars.set(
                    "detail",
                    detail
                        .or_else(|| scenario.data_str("detail").map(str::to_string))
                        .unwrap_or_default(),
                );
            }
            "getEntities" => {
                let entities: Vec<Value> = call
                    .fixtures
                    .domain
                    .catalogs
                    .entities
                    .iter()
                    .map(|e| {
                        json!({
                            "clave_entidad": e.ine,
                            "nombre_entidad": e.upper,
                            "abreviatura_entidad": e.renapo,
                        })
                    })
                    .collect();
                vars.set("entities", entities);
            }
            _ => {}
        }
    }
}

/// [`calc_input`] for the choice of a scenario: the refusal's scenario, and
/// the whole result kept for `vars` (the fields are read once).
fn checked_calc_input(call: &mut Call<'_>) -> Result<(), &'static str> {
    let checked = calc_input(call);
    let outcome = checked.as_ref().map(|_| ()).map_err(|r| r.scenario);
    call.keep_found(checked);
    outcome
}

/// Reads and checks the `calculateCURP` fields in the order of the
/// document's table: missing (400–407), not numeric (408–410), wrong length
/// (411–414, with 413 for two digits that are no month), sex (415), entity
/// (416); a date that does not exist or cannot be encoded is 417. The CURP
/// when every check passes.
fn calc_input(call: &Call<'_>) -> Result<String, CalcRefusal> {
    let req = call.req;
    let mut values: [String; CALC_FIELDS.len()] = Default::default();
    for ((name, missing), value) in CALC_FIELDS.iter().zip(&mut values) {
        match req.field(name) {
            f @ (Field::Str(_) | Field::Number(_)) if f.is_present() => {
                *value = f.text().unwrap_or_default().trim().to_string();
            }
            _ => return Err(CalcRefusal::code(missing)),
        }
    }
    let [names, last_name, second_last_name, day, month, year, gender, entity] = values;
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(&day) {
        return Err(CalcRefusal::code("non_numeric_birthday"));
    }
    if !numeric(&month) {
        return Err(CalcRefusal::code("non_numeric_birth_month"));
    }
    if !numeric(&year) {
        return Err(CalcRefusal::code("non_numeric_year_birth"));
    }
    if day.len() != 2 {
        return Err(CalcRefusal::code("birthday_length"));
    }
    if month.len() != 2 {
        return Err(CalcRefusal::code("birth_month_length"));
    }
    let month_n: u8 = month.parse().unwrap_or(0);
    if !(1..=12).contains(&month_n) {
        return Err(CalcRefusal::code("birth_month_range"));
    }
    if year.len() != 4 {
        return Err(CalcRefusal::code("year_birth_length"));
    }
    let sex = match gender.to_ascii_uppercase().as_str() {
        "H" => Sex::H,
        "M" => Sex::M,
        "X" => Sex::X,
        _ => return Err(CalcRefusal::code("invalid_gender")),
    };
    let state = match (
        entity.len(),
        call.fixtures.domain.catalogs.entity_by_ine(&entity),
    ) {
        (2, Some(e)) => e.renapo.clone(),
        _ => return Err(CalcRefusal::code("invalid_entity")),
    };
    let year_n: i32 = year.parse().unwrap_or(0);
    let day_n: u8 = day.parse().unwrap_or(0);
    let Some(birth_date) = Date::new(year_n, month_n, day_n) else {
        return Err(CalcRefusal::unexpected(no_such_date(&year, &month, &day)));
    };
    let input = CalcInput {
        names,
        first_surname: last_name,
        second_surname: second_last_name,
        birth_date,
        sex,
        state,
    };
    // The remaining refusal of the calculation is a year a CURP cannot
    // encode (it has two digits and a century bit); the others are checked
    // above, and answered in Spanish all the same should one get through.
    curp::calculate(&input).map_err(|e| CalcRefusal::unexpected(calculation_refused(&e)))
}

/// Fills the `Applicant` and `EvidentiaryDocument` of `getData` from the
/// person, then the persona's `provider_data.validacurp` (quirks of the
/// document's example that no rule gives), then a status the scenario forces.
fn person_vars(call: &mut Call<'_>, scenario: &Scenario, vars: &mut Vars) {
    let person = call.person_or(EXAMPLE_CURP);
    let catalogs = &call.fixtures.domain.catalogs;
    let status_text = |code: &str| {
        catalogs
            .status(code)
            .map(|s| s.validacurp.as_str())
            .unwrap_or_default()
    };
    let gender = match person.sex {
        Sex::H => "Hombre",
        Sex::M => "Mujer",
        Sex::X => "No binario",
    };
    let number = |s: &str| s.trim().parse::<u64>().unwrap_or(0);
    let reg = &person.registry;
    vars.set("curp", person.curp.as_str())
        .set("names", person.names.as_str())
        .set("last_name", person.first_surname.as_str())
        .set("second_last_name", person.second_surname.as_str())
        .set_with("gender_key", |out| out.push(person.sex.as_char()))
        .set("gender", gender)
        .set_with("date_of_birth", |out| {
            let _ = write!(out, "{}", person.birth_date);
        })
        .set("nacionality", person.nationality.as_str())
        .set("code_entity_birth", person.birth_state.as_str())
        .set(
            "entity_birth",
            catalogs
                .entity_by_renapo(&person.birth_state)
                .map(|e| e.name.as_str())
                .unwrap_or(""),
        )
        .set("key_evidentiary_document", person.proof_document)
        .set(
            "evidentiary_document",
            catalogs
                .proof_document(person.proof_document)
                .map(|d| d.validacurp.as_str())
                .unwrap_or(""),
        )
        .set("curp_status_key", person.status.as_str())
        .set("status_key", status_text(&person.status));
    // The registry as RENAPO numbers it: the registry entity's INE code is
    // the RegistrantNumber (15 for México in the document's example), the
    // act number the CertificateNumber; book, volume and page are 0 when the
    // registry has none.
    vars.set("year_registration", reg.year)
        .set("key_issuing_entity", "")
        .set(
            "key_municipality_registration",
            number(&reg.municipality_code),
        )
        .set("municipality_registration", reg.municipality_name.as_str())
        .set("foja", number(&reg.page))
        .set("folio_letter", "")
        .set("book", number(&reg.book))
        .set("certificate_number", number(&reg.act_number))
        .set("registrant_number", number(&reg.entity_ine))
        .set("registration_entity", reg.entity_name.as_str())
        .set("foreign_registration_number", "")
        .set("volume", number(&reg.volume));
    // A persona's own fields, by the document's names, over the synthetic
    // ones (a later `set` wins).
    if let Some(data) = call
        .fixtures
        .domain
        .persona(&person.curp)
        .and_then(|p| p.provider_data.get("validacurp"))
    {
        for (section, table) in [
            ("Applicant", &APPLICANT[..]),
            ("EvidentiaryDocument", &EVIDENTIARY[..]),
        ] {
            if let Some(Value::Object(fields)) = data.get(section) {
                for (field, var) in table {
                    if let Some(v) = fields.get(*field) {
                        vars.set(var, v.clone());
                    }
                }
            }
        }
    }
    if let Some(code) = scenario.data_str("status") {
        vars.set("curp_status_key", code)
            .set("status_key", status_text(code));
    }
    vars.set("detail", scenario.data_str("detail").unwrap_or(""));
}

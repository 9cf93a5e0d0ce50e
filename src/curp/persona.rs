//! Personas (`fixtures/personas.yaml`): listed CURPs whose data, or whose
//! answer, is fixed: the documents' example people and the edge cases
//! (deceased, homonymy, apocryphal, not found …).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Deserializer};

use super::calc::same_name;
use super::catalogs::{Catalogs, LoadError};
use super::ine::{self, Ine};
use super::person::{Person, Registry, REFERENCE_YEAR};
use super::{loose_error, Sex};
use crate::engine::quoted;
use crate::time::Date;
use crate::yaml::Parsed;

/// A partial person, merged over the synthetic person of its CURP: every
/// field given here wins.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    pub curp: String,
    pub names: Option<String>,
    pub first_surname: Option<String>,
    pub second_surname: Option<String>,
    pub sex: Option<Sex>,
    #[serde(default, deserialize_with = "opt_date")]
    pub birth_date: Option<Date>,
    pub birth_state: Option<String>,
    pub nationality: Option<String>,
    pub status: Option<String>,
    pub proof_document: Option<u8>,
    pub registry: Option<RegistryPatch>,
    pub nss: Option<String>,
    pub rfc: Option<String>,
    pub ine: Option<InePatch>,
    /// A scenario name every provider answers with for this CURP
    /// (`not_found`, …).
    pub scenario: Option<String>,
    /// A scenario per provider id, winning over `scenario`.
    #[serde(default)]
    pub scenarios: BTreeMap<String, String>,
    /// Raw values for one provider's response, by provider id.
    #[serde(default)]
    pub provider_data: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryPatch {
    pub entity_ine: Option<String>,
    pub entity_name: Option<String>,
    pub municipality_code: Option<String>,
    pub municipality_name: Option<String>,
    pub year: Option<u16>,
    pub act_number: Option<String>,
    pub book: Option<String>,
    pub volume: Option<String>,
    pub page: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InePatch {
    pub elector_code: Option<String>,
    pub cic: Option<String>,
    pub ocr: Option<String>,
    pub issue_number: Option<String>,
    pub issue_year: Option<u16>,
    pub registration_year: Option<u16>,
    pub expiry_year: Option<u16>,
}

fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    // Parsed in serde's visitor: an error names the `birth_date` line.
    Ok(Option::<Parsed<Date>>::deserialize(d)?.map(|p| p.0))
}

/// Whether `s` is ASCII digits only ("" included).
fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn set<T, V: Clone + Into<T>>(target: &mut T, value: &Option<V>) {
    if let Some(v) = value {
        *target = v.clone().into();
    }
}

/// A provider's id and, per endpoint, the names of the scenarios it
/// defines: what a persona's scenario is looked up in.
pub type ProviderScenarios = (String, Vec<Vec<String>>);

impl Persona {
    /// Whether every provider answers this persona not found: the scenario
    /// it asks of each is a `not_found…` one that every endpoint of the
    /// provider that can answer not found (the ones that look a person up)
    /// defines. An endpoint without that scenario answers the persona as
    /// anyone (selection skips a name the endpoint lacks), with a person.
    /// `scenarios`: every provider's id and each endpoint's scenario names.
    pub fn found_nowhere(&self, scenarios: &[ProviderScenarios]) -> bool {
        scenarios.iter().all(|(provider, endpoints)| {
            let Some(s) = self
                .scenario_for(provider)
                .filter(|s| s.starts_with("not_found"))
            else {
                return false;
            };
            let has = |names: &Vec<String>| names.iter().any(|n| n == s);
            let looks_up = |names: &&Vec<String>| names.iter().any(|n| n.starts_with("not_found"));
            endpoints.iter().any(has) && endpoints.iter().filter(looks_up).all(has)
        })
    }

    /// The scenario this persona asks of a provider, if any.
    pub fn scenario_for(&self, provider: &str) -> Option<&str> {
        self.scenarios
            .get(provider)
            .or(self.scenario.as_ref())
            .map(String::as_str)
    }

    pub(crate) fn apply_identity(
        &self,
        names: &mut String,
        first: &mut String,
        second: &mut String,
    ) {
        set(names, &self.names);
        set(first, &self.first_surname);
        set(second, &self.second_surname);
    }

    pub(crate) fn apply_documents(&self, p: &mut Person) {
        set(&mut p.nationality, &self.nationality);
        set(&mut p.status, &self.status);
        set(&mut p.proof_document, &self.proof_document);
        set(&mut p.nss, &self.nss);
        set(&mut p.rfc, &self.rfc);
        if let Some(r) = &self.registry {
            let t: &mut Registry = &mut p.registry;
            set(&mut t.entity_ine, &r.entity_ine);
            set(&mut t.entity_name, &r.entity_name);
            set(&mut t.municipality_code, &r.municipality_code);
            set(&mut t.municipality_name, &r.municipality_name);
            set(&mut t.year, &r.year);
            set(&mut t.act_number, &r.act_number);
            set(&mut t.book, &r.book);
            set(&mut t.volume, &r.volume);
            set(&mut t.page, &r.page);
        }
        if let Some(i) = &self.ine {
            let t = &mut p.ine;
            set(&mut t.elector_code, &i.elector_code);
            set(&mut t.cic, &i.cic);
            set(&mut t.ocr, &i.ocr);
            i.complete_years(t, p.birth_date.year);
        }
    }
}

impl InePatch {
    /// Sets the years and issue number given, and derives those left out
    /// from them by the credential's rules (the synthetic ones where the
    /// rules leave a choice): the first credential ("00") is issued the
    /// year of registration, a replacement after it, and a credential
    /// expires ten years after its issue.
    fn complete_years(&self, t: &mut Ine, birth_year: i32) {
        let (drawn_reg, drawn_issue) = (t.registration_year, t.issue_year);
        let year = |y: i32| u16::try_from(y.max(0)).unwrap_or(u16::MAX);
        // A derived year keeps the rules: registered at 18 and from 1991,
        // issued by the reference year (a minor's, the year they turn 18).
        let first = year(ine::FIRST_REGISTRATION_YEAR);
        let adult = year(birth_year + 18).max(first);
        let latest = year(REFERENCE_YEAR);
        let (reg, issue) = match self.issue_number.as_deref().map(|n| n == "00") {
            // The first credential: issued the year of registration; with
            // neither year given, the year the drawn credential was issued,
            // so that it is still in force (the drawn registration may be
            // more than ten years old).
            Some(true) => {
                let reg = self
                    .registration_year
                    .or(self.issue_year)
                    .unwrap_or(drawn_issue);
                (reg, self.issue_year.unwrap_or(reg))
            }
            // A replacement: issued after its registration, which is not
            // before the register began (a replacement of 1991 was
            // registered that year).
            Some(false) => {
                let reg = self.registration_year.unwrap_or(match self.issue_year {
                    Some(i) if drawn_reg >= i => i.saturating_sub(1).max(adult).min(i),
                    _ => drawn_reg,
                });
                let issue = drawn_issue.max(reg.saturating_add(1)).min(latest.max(reg));
                (reg, self.issue_year.unwrap_or(issue))
            }
            None => {
                let reg = self
                    .registration_year
                    .unwrap_or(self.issue_year.map_or(drawn_reg, |i| i.min(drawn_reg)));
                let issue = drawn_issue.max(reg).min(latest.max(reg));
                (reg, self.issue_year.unwrap_or(issue))
            }
        };
        t.registration_year = reg;
        t.issue_year = issue;
        match &self.issue_number {
            Some(n) => t.issue_number = n.as_str().into(),
            None if issue == reg => t.issue_number = "00".into(),
            None if t.issue_number == "00" => t.issue_number = "01".into(),
            // The drawn replacement's number stands.
            None => {}
        }
        t.expiry_year = self
            .expiry_year
            .unwrap_or(issue.saturating_add(ine::VALID_YEARS));
    }
}

/// Parses and validates the personas: each CURP well formed and listed
/// once, each code known to the catalogs.
pub(crate) fn load(text: &str, catalogs: &Catalogs) -> Result<Vec<Persona>, LoadError> {
    // A file of comments only is an empty list, not an error.
    let personas: Option<Vec<Persona>> = serde_yaml_ng::from_str(text)?;
    let personas = personas.unwrap_or_default();
    let mut seen = HashSet::new();
    // The INE codes personas write out: a CIC is one credential's and an
    // elector code one voter's, and IneNominalList finds one holder by
    // either (see `People::personas_holding`), whatever OCR goes with it
    // (one a persona leaves out is derived from its CURP, and two CURPs
    // may derive one).
    let mut codes: HashMap<(&str, String), &str> = HashMap::new();
    for (i, p) in personas.iter().enumerate() {
        let err = |value: &str, field: &str, message: String| {
            Err(LoadError::at_value(
                text,
                value,
                format!("[{i}].{field}"),
                format!("{}: {message}", quoted(&p.curp)),
            ))
        };
        if let Some(why) = loose_error(&p.curp) {
            return err(&p.curp, "curp", format!("not a CURP: {why}"));
        }
        if !seen.insert(p.curp.as_str()) {
            return err(&p.curp, "curp", "listed twice".into());
        }
        if let Some(s) = &p.status {
            if let Err(why) = catalogs.check_status(s) {
                return err(s, "status", why);
            }
        }
        if let Some(d) = p.proof_document {
            if catalogs.proof_document(d).is_none() {
                return err(
                    &p.curp,
                    "proof_document",
                    format!("unknown proof document {d}"),
                );
            }
        }
        if let Some(s) = &p.birth_state {
            if catalogs.entity_by_renapo(s).is_none() {
                let codes: Vec<&str> = (catalogs.entities.iter().chain([&catalogs.born_abroad]))
                    .map(|e| e.renapo.as_str())
                    .filter(|c| !c.is_empty())
                    .collect();
                return err(
                    s,
                    "birth_state",
                    format!(
                        "unknown renapo state code \"{}\"; the catalogs list {} (NE: born abroad)",
                        quoted(s),
                        codes.join(", ")
                    ),
                );
            }
        }
        if let Some(n) = &p.nss {
            // Empty: a person IMSS has not registered (no NSS to find).
            if !n.is_empty() && (n.len() != 11 || !digits(n)) {
                return err(
                    n,
                    "nss",
                    format!("\"{}\" is not 11 digits (or \"\": none)", quoted(n)),
                );
            }
        }
        // The registry numbers its municipalities, acts, books, volumes and
        // pages (validacurp states them as JSON numbers): digits, or "" for
        // none.
        if let Some(r) = &p.registry {
            // 19 digits always fit the 64 bits validacurp reads them into.
            let number = |v: &str| v.len() <= 19 && digits(v);
            for (field, value) in [
                ("municipality_code", &r.municipality_code),
                ("act_number", &r.act_number),
                ("book", &r.book),
                ("volume", &r.volume),
                ("page", &r.page),
            ] {
                if let Some(v) = value.as_deref().filter(|v| !number(v)) {
                    let field = format!("registry.{field}");
                    return err(
                        v,
                        &field,
                        format!(
                            "\"{}\" is not a number (at most 19 digits, or \"\": none)",
                            quoted(v)
                        ),
                    );
                }
            }
        }
        if let Some(n) = p.ine.as_ref().and_then(|i| i.issue_number.as_ref()) {
            if !(ine::ISSUE_NUMBER_FORM.fits)(n) {
                return err(
                    n,
                    "ine.issue_number",
                    format!(
                        "\"{}\" is not two digits (\"00\": the first credential)",
                        quoted(n)
                    ),
                );
            }
        }
        if let Some(ine) = &p.ine {
            // In the form IneNominalList takes in a request: a credential
            // written otherwise could never be presented.
            let forms = [
                ("elector_code", &ine.elector_code, ine::ELECTOR_CODE_FORM),
                ("cic", &ine.cic, ine::CIC_FORM),
                ("ocr", &ine.ocr, ine::OCR_FORM),
            ];
            for (field, value, form) in forms {
                if let Some(v) = value.as_deref().filter(|v| !(form.fits)(v)) {
                    return err(
                        v,
                        &format!("ine.{field}"),
                        format!(
                            "\"{}\" is not {}: IneNominalList refuses it, so the credential could never be presented",
                            quoted(v),
                            form.describes
                        ),
                    );
                }
            }
            let ids = [
                ("cic", "CIC", &ine.cic),
                ("elector_code", "elector code", &ine.elector_code),
            ];
            for (field, kind, id) in ids {
                let Some(id) = id else { continue };
                if let Some(other) = codes.insert((kind, id.to_ascii_uppercase()), &p.curp) {
                    return err(
                        id,
                        &format!("ine.{field}"),
                        format!(
                            "gives the INE {kind} of {}: it is one credential's, and IneNominalList answers one holder",
                            quoted(other)
                        ),
                    );
                }
            }
        }
        if p.scenario.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return err("scenario", "scenario", "empty scenario name".into());
        }
        if let Some((provider, s)) = p.scenarios.iter().find(|(_, s)| s.trim().is_empty()) {
            let field = format!("scenarios.{provider}");
            return err(
                provider,
                &field,
                format!("empty scenario name \"{}\"", quoted(s)),
            );
        }
    }
    let mut personas = personas;
    for (i, p) in personas.iter_mut().enumerate() {
        if let Some(r) = &mut p.registry {
            resolve_entity(r, catalogs).map_err(|(value, field, message)| {
                LoadError::at_value(
                    text,
                    &value,
                    format!("[{i}].{field}"),
                    format!("{}: {message}", quoted(&p.curp)),
                )
            })?;
        }
    }
    Ok(personas)
}

/// Makes a persona's registration entity one entity of the catalog, named
/// as the catalog names it: every provider states it by code or by name
/// (validacurp `RegistrantNumber` and `RegistrationEntity`, accuauth
/// `claveEntidadRegistro` and `entidadRegistro`), and the two must agree.
/// `entity_ine` alone takes its name; `entity_name` alone (the catalog's
/// name or upper-case name, in any case) takes its code. Errs with the
/// value, field and message of a code or name the catalog lacks, or a pair
/// that disagrees.
fn resolve_entity(
    r: &mut RegistryPatch,
    catalogs: &Catalogs,
) -> Result<(), (String, &'static str, String)> {
    let by_ine = match &r.entity_ine {
        Some(e) => match catalogs.entity_by_ine(e) {
            Some(entity) => Some(entity),
            None => {
                let codes: Vec<&str> = (catalogs.entities.iter())
                    .map(|e| e.ine.as_str())
                    .filter(|c| !c.is_empty())
                    .collect();
                let message = format!(
                    "unknown entity \"{}\"; the catalogs' INE codes are {}",
                    quoted(e),
                    codes.join(", ")
                );
                return Err((e.clone(), "registry.entity_ine", message));
            }
        },
        None => None,
    };
    let by_name = match &r.entity_name {
        Some(n) => {
            let found = catalogs
                .entities
                .iter()
                .find(|e| !e.ine.is_empty() && (same_name(&e.name, n) || same_name(&e.upper, n)));
            match found {
                Some(entity) => Some(entity),
                None => {
                    let message = format!(
                        "unknown entity name \"{}\": write a name of the catalogs' entities (such as \"México\") or only entity_ine",
                        quoted(n)
                    );
                    return Err((n.clone(), "registry.entity_name", message));
                }
            }
        }
        None => None,
    };
    let entity = match (by_ine, by_name) {
        (Some(a), Some(b)) if a.ine != b.ine => {
            let n = r.entity_name.clone().unwrap_or_default();
            let message = format!(
                "\"{}\" is entity {}, not entity_ine {}: write one of the two",
                quoted(&n),
                b.ine,
                a.ine
            );
            return Err((n, "registry.entity_name", message));
        }
        (Some(e), _) | (None, Some(e)) => e,
        (None, None) => return Ok(()),
    };
    r.entity_ine = Some(entity.ine.clone());
    r.entity_name = Some(entity.name.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{calculate_first16, check_strict, tests::domain};
    use super::*;

    // A derived issue year is not after the reference year, with an issue
    // number written or not (the drawn credential of a minor born 2010
    // is of 2028, the year they turn 18).
    #[test]
    fn a_derived_issue_year_is_not_after_2025() {
        let drawn = Ine {
            elector_code: "X".into(),
            cic: "1".into(),
            ocr: "1".into(),
            issue_number: "00".into(),
            issue_year: 2028,
            registration_year: 2028,
            expiry_year: 2038,
        };
        for number in [None, Some("02")] {
            let patch = InePatch {
                issue_number: number.map(str::to_string),
                registration_year: Some(2020),
                ..InePatch::default()
            };
            let mut t = drawn.clone();
            patch.complete_years(&mut t, 2010);
            assert_eq!(
                (t.registration_year, t.issue_year),
                (2020, 2025),
                "{number:?}"
            );
        }
    }

    #[test]
    fn ine_years_left_out_follow_the_given_ones() {
        let drawn = |number: &str, reg: u16, issue: u16| Ine {
            elector_code: "X".into(),
            cic: "1".into(),
            ocr: "1".into(),
            issue_number: number.into(),
            issue_year: issue,
            registration_year: reg,
            expiry_year: issue + 10,
        };
        let years = |patch: InePatch, t: Ine| {
            let mut t = t;
            patch.complete_years(&mut t, 1960);
            (
                t.issue_number.as_str().to_string(),
                t.registration_year,
                t.issue_year,
                t.expiry_year,
            )
        };
        let patch = |number: Option<&str>, reg, issue, expiry| InePatch {
            issue_number: number.map(str::to_string),
            registration_year: reg,
            issue_year: issue,
            expiry_year: expiry,
            ..InePatch::default()
        };
        let replaced = drawn("02", 2005, 2022);
        let first = drawn("00", 2020, 2020);
        // An issue year alone: the expiry follows it, the number the years.
        assert_eq!(
            years(patch(None, None, Some(2016), None), replaced.clone()),
            ("02".into(), 2005, 2016, 2026)
        );
        assert_eq!(
            years(patch(None, None, Some(2016), None), first.clone()),
            ("00".into(), 2016, 2016, 2026)
        );
        assert_eq!(
            years(patch(None, None, Some(2021), None), first.clone()),
            ("01".into(), 2020, 2021, 2031)
        );
        // "00": issued the year of registration; with no year given, the
        // drawn issue year, so that it is still in force (not 2005-2015).
        assert_eq!(
            years(patch(Some("00"), None, None, None), replaced.clone()),
            ("00".into(), 2022, 2022, 2032)
        );
        assert_eq!(
            years(patch(Some("00"), None, Some(2019), None), replaced.clone()),
            ("00".into(), 2019, 2019, 2029)
        );
        // Both years alike: the first credential.
        assert_eq!(
            years(patch(None, Some(2018), Some(2018), None), replaced.clone()),
            ("00".into(), 2018, 2018, 2028)
        );
        // A replacement: issued after its registration.
        assert_eq!(
            years(patch(Some("03"), None, None, None), first.clone()),
            ("03".into(), 2020, 2021, 2031)
        );
        assert_eq!(
            years(
                patch(Some("02"), Some(2010), Some(2019), None),
                first.clone()
            ),
            ("02".into(), 2010, 2019, 2029)
        );
        // A replacement's issue year alone: the drawn registration stands
        // when before it, else it is the year before.
        assert_eq!(
            years(patch(Some("02"), None, Some(2016), None), replaced.clone()),
            ("02".into(), 2005, 2016, 2026)
        );
        assert_eq!(
            years(patch(Some("02"), None, Some(2016), None), first.clone()),
            ("02".into(), 2015, 2016, 2026)
        );
        // Not before the register began: a replacement of 1991 was
        // registered that year.
        assert_eq!(
            years(patch(Some("01"), None, Some(1991), None), first),
            ("01".into(), 1991, 1991, 2001)
        );
        // What is given stays as given.
        assert_eq!(
            years(patch(None, None, None, Some(2040)), replaced),
            ("02".into(), 2005, 2022, 2040)
        );
    }

    #[test]
    fn personas_load() {
        let d = domain();
        assert!(d.personas.len() >= 14);
        let epn = d.persona("PXNE660720HMCXTN06").unwrap();
        assert_eq!(epn.status.as_deref(), Some("RCN"));
        let p = d.person("PXNE660720HMCXTN06", 42);
        assert_eq!(
            (
                p.names.as_str(),
                p.first_surname.as_str(),
                p.second_surname.as_str()
            ),
            ("ENRIQUE", "PEÑA", "NIETO")
        );
        assert_eq!(p.birth_date, Date::new(1966, 7, 20).unwrap());
        assert_eq!(p.proof_document, 1);
        assert_eq!(p.registry.year, 1966);
        assert_eq!(p.registry.municipality_code, "014");
        assert_eq!(p.registry.act_number, "00985");
        assert!(p.rfc.starts_with("PENX660720"), "{}", p.rfc);
        assert_eq!(d.person("ABCD570805HYNHLC52", 0).nss, "08189782793");
        // No NSS at IMSS: not found by the nss provider and by async.
        assert_eq!(d.person("NAZA650704MTLVCL05", 0).nss, "");
    }

    #[test]
    fn every_status_has_a_strictly_valid_persona() {
        let d = domain();
        for s in &d.catalogs.statuses {
            let p = d
                .personas
                .iter()
                .find(|p| p.status.as_deref() == Some(&s.code) && check_strict(&p.curp).is_ok());
            assert!(p.is_some(), "no persona with status {}", s.code);
        }
        assert!(d
            .personas
            .iter()
            .any(|p| p.scenario.as_deref() == Some("not_found")));
    }

    #[test]
    fn strictly_valid_personas_agree_with_their_curp() {
        let d = domain();
        for persona in d.personas.iter().filter(|p| check_strict(&p.curp).is_ok()) {
            let p = d.person(&persona.curp, 0);
            let input = p.calc_input();
            assert_eq!(
                calculate_first16(&input).unwrap(),
                persona.curp[..16],
                "{}",
                persona.curp
            );
        }
    }

    #[test]
    fn bad_personas_are_rejected_with_line_and_field() {
        let c = &domain().catalogs;
        let e = load("- curp: PXNE660720HMCXTN06\n  status: ZZ\n", c).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("[0].status")));
        let e = load("- curp: PXNE660720HMCXTN0\n", c).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("[0].curp"));
        let e = load(
            "- curp: PXNE660720HMCXTN06\n- curp: PXNE660720HMCXTN06\n",
            c,
        )
        .unwrap_err();
        assert!(e.message.contains("listed twice"), "{e}");
        let e = load("- curp: PXNE660720HMCXTN06\n  birth_date: 1966-13-01\n", c).unwrap_err();
        assert!(
            e.message
                .contains("is no day of the calendar: a month is 01 to 12"),
            "{e}"
        );
        // Reported at the value itself, by line and key.
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("[0].birth_date")),
            "{e}"
        );
        // The registry's numbers are digits (validacurp states them as
        // numbers), an issue number two.
        let e = load(
            "- curp: PXNE660720HMCXTN06\n  registry:\n    act_number: ABC\n",
            c,
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(3), Some("[0].registry.act_number")),
            "{e}"
        );
        assert!(e.message.contains("\"ABC\" is not a number"), "{e}");
        for (field, value) in [
            ("act_number", "99999999999999999999"),
            ("municipality_code", "ABC"),
        ] {
            let e = load(
                &format!("- curp: PXNE660720HMCXTN06\n  registry:\n    {field}: \"{value}\"\n"),
                c,
            )
            .unwrap_err();
            assert_eq!(
                e.field.as_deref(),
                Some(&*format!("[0].registry.{field}")),
                "{e}"
            );
        }
        let e = load(
            "- curp: PXNE660720HMCXTN06\n  ine:\n    issue_number: \"1\"\n",
            c,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("[0].ine.issue_number"), "{e}");
        load(
            "- curp: PXNE660720HMCXTN06\n  registry: {book: \"\", page: \"0012\"}\n  ine: {issue_number: \"03\"}\n",
            c,
        )
        .unwrap();
        let e = load("- curp: PXNE660720HMCXTN06\n  colour: red\n", c).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        assert!(load("# nothing yet\n", c).unwrap().is_empty());
        assert!(load("[]", c).unwrap().is_empty());
    }
}

//! The catalogs of the provider documents (`fixtures/catalogs.yaml`):
//! federal entities, CURP statuses, proof documents, RENAPO and CCB codes,
//! the RFC state catalog and registry municipalities.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::person::{DRAWN_PROOF_DOCUMENTS, DRAWN_STATUSES};
use super::RENAPO_STATES;
use crate::engine::quoted;

/// A YAML file that cannot be loaded, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The field path, such as `entities[3].renapo`, when known.
    pub field: Option<String>,
    pub message: String,
}

impl LoadError {
    /// An error found after parsing, at the value in the block its field
    /// names ([`crate::yaml::locate`]).
    pub(crate) fn at_value(text: &str, value: &str, field: String, message: String) -> LoadError {
        let at = crate::yaml::locate(text, &field, value);
        LoadError {
            line: at.map(|(line, _)| line),
            column: at.map(|(_, column)| column),
            field: Some(field),
            message,
        }
    }
}

impl From<serde_yaml_ng::Error> for LoadError {
    fn from(e: serde_yaml_ng::Error) -> LoadError {
        let (field, message) = crate::yaml::error_parts(&e);
        LoadError {
            line: e.location().map(|l| l.line()),
            column: e.location().map(|l| l.column()),
            field,
            message,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{}: ", quoted(field))?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// A federal entity, or the born-abroad pseudo-entity `NE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    /// INE code `01`..`32`; empty for `NE`, which has none.
    #[serde(default)]
    pub ine: String,
    /// RENAPO code, as in positions 12–13 of a CURP.
    pub renapo: String,
    /// As seed 003 spells it (`Ciudad de México`).
    pub name: String,
    /// As validacurp's getEntities spells it (`CIUDAD DE MEXICO`).
    pub upper: String,
}

/// A CURP status with every provider's wording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub code: String,
    pub active: bool,
    pub validacurp: String,
    pub description_es: String,
    pub description_en: String,
    pub accuauth_status: String,
    pub accuauth_description: String,
}

/// A type of proof document (documento probatorio).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofDocument {
    pub code: u8,
    pub name_es: String,
    pub name_en: String,
    pub validacurp: String,
}

/// A RENAPO or CCB response code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    pub code: String,
    pub es: String,
    pub en: String,
}

/// A state of the RFC state catalog of seed 004.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfcState {
    pub id: u8,
    pub name: String,
}

/// A municipality where a birth can be registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    pub entity_ine: String,
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogs {
    /// The 32 federal entities in INE order.
    pub entities: Vec<Entity>,
    pub born_abroad: Entity,
    pub statuses: Vec<Status>,
    pub proof_documents: Vec<ProofDocument>,
    pub renapo_codes: Vec<Code>,
    pub ccb_codes: Vec<Code>,
    pub rfc_states: Vec<RfcState>,
    pub municipalities: Vec<Municipality>,
}

impl Catalogs {
    pub fn from_yaml(text: &str) -> Result<Catalogs, LoadError> {
        let c: Catalogs = serde_yaml_ng::from_str(text)?;
        c.validate(text)?;
        Ok(c)
    }

    /// Checks what the code relies on: every RENAPO state of a CURP has an
    /// entity and a municipality, and no code is listed twice.
    fn validate(&self, text: &str) -> Result<(), LoadError> {
        let err = |value: &str, field: String, message: String| {
            Err(LoadError::at_value(text, value, field, message))
        };
        for (i, e) in self.entities.iter().enumerate() {
            let want = format!("{:02}", i + 1);
            if e.ine != want {
                return err(
                    &e.ine,
                    format!("entities[{i}].ine"),
                    format!(
                        "expected \"{want}\" (entities are listed in INE order), got \"{}\"",
                        quoted(&e.ine)
                    ),
                );
            }
            if !RENAPO_STATES.contains(&e.renapo.as_str()) || e.renapo == "NE" {
                return err(
                    &e.renapo,
                    format!("entities[{i}].renapo"),
                    format!("unknown renapo code \"{}\"", quoted(&e.renapo)),
                );
            }
            if self.entities[..i].iter().any(|o| o.renapo == e.renapo) {
                return err(
                    &e.renapo,
                    format!("entities[{i}].renapo"),
                    format!("renapo code \"{}\" is listed twice", quoted(&e.renapo)),
                );
            }
            if !self.municipalities.iter().any(|m| m.entity_ine == e.ine) {
                return err(
                    "municipalities:",
                    "municipalities".into(),
                    format!("no municipality for entity \"{}\"", quoted(&e.ine)),
                );
            }
        }
        if self.entities.len() != 32 {
            return err(
                "entities:",
                "entities".into(),
                format!("expected 32 entities, got {}", self.entities.len()),
            );
        }
        if self.born_abroad.renapo != "NE" {
            return err(
                "born_abroad",
                "born_abroad.renapo".into(),
                format!(
                    "expected \"NE\", got \"{}\"",
                    quoted(&self.born_abroad.renapo)
                ),
            );
        }
        for (i, m) in self.municipalities.iter().enumerate() {
            if self.entity_by_ine(&m.entity_ine).is_none() {
                return err(
                    &m.entity_ine,
                    format!("municipalities[{i}].entity_ine"),
                    format!("unknown entity \"{}\"", quoted(&m.entity_ine)),
                );
            }
        }
        unique(
            text,
            "statuses",
            self.statuses.iter().map(|s| s.code.clone()),
        )?;
        unique(
            text,
            "proof_documents",
            self.proof_documents.iter().map(|p| p.code.to_string()),
        )?;
        unique(
            text,
            "renapo_codes",
            self.renapo_codes.iter().map(|c| c.code.clone()),
        )?;
        unique(
            text,
            "ccb_codes",
            self.ccb_codes.iter().map(|c| c.code.clone()),
        )?;
        unique(
            text,
            "rfc_states",
            self.rfc_states.iter().map(|s| s.id.to_string()),
        )?;
        // What synthetic people are given must be there to state.
        if let Some(code) = DRAWN_STATUSES.iter().find(|c| self.status(c).is_none()) {
            return err(
                "statuses:",
                "statuses".into(),
                format!("no status \"{code}\"; synthetic people are given {DRAWN_STATUSES:?}"),
            );
        }
        if let Some(code) = DRAWN_PROOF_DOCUMENTS
            .iter()
            .find(|c| self.proof_document(**c).is_none())
        {
            return err(
                "proof_documents:",
                "proof_documents".into(),
                format!(
                    "no proof document {code}; synthetic people are given {DRAWN_PROOF_DOCUMENTS:?}"
                ),
            );
        }
        Ok(())
    }

    pub fn entity_by_ine(&self, ine: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.ine == ine)
    }

    /// The entity of a RENAPO code, `NE` included.
    pub fn entity_by_renapo(&self, renapo: &str) -> Option<&Entity> {
        if renapo == self.born_abroad.renapo {
            return Some(&self.born_abroad);
        }
        self.entities.iter().find(|e| e.renapo == renapo)
    }

    pub fn status(&self, code: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.code == code)
    }

    pub fn proof_document(&self, code: u8) -> Option<&ProofDocument> {
        self.proof_documents.iter().find(|p| p.code == code)
    }

    pub fn renapo_code(&self, code: &str) -> Option<&Code> {
        self.renapo_codes.iter().find(|c| c.code == code)
    }

    pub fn ccb_code(&self, code: &str) -> Option<&Code> {
        self.ccb_codes.iter().find(|c| c.code == code)
    }

    /// Whether the catalogs list `code` as a CURP status; if not, why,
    /// naming the ones they list.
    pub fn check_status(&self, code: &str) -> Result<(), String> {
        let codes = self.statuses.iter().map(|s| s.code.as_str());
        listed("status", code, codes)
    }

    /// As [`Catalogs::check_status`], for a RENAPO answer code.
    pub fn check_renapo_code(&self, code: &str) -> Result<(), String> {
        listed(
            "renapo code",
            code,
            self.renapo_codes.iter().map(|c| c.code.as_str()),
        )
    }

    /// As [`Catalogs::check_status`], for a CCB answer code.
    pub fn check_ccb_code(&self, code: &str) -> Result<(), String> {
        listed(
            "ccb code",
            code,
            self.ccb_codes.iter().map(|c| c.code.as_str()),
        )
    }

    pub fn rfc_state(&self, id: u8) -> Option<&RfcState> {
        self.rfc_states.iter().find(|s| s.id == id)
    }

    /// The registry municipalities of an entity, by INE code.
    pub fn municipalities_of<'a>(
        &'a self,
        entity_ine: &'a str,
    ) -> impl Iterator<Item = &'a Municipality> + 'a {
        self.municipalities
            .iter()
            .filter(move |m| m.entity_ine == entity_ine)
    }
}

fn unique(text: &str, section: &str, codes: impl Iterator<Item = String>) -> Result<(), LoadError> {
    let mut seen = HashSet::new();
    for (i, code) in codes.enumerate() {
        if !seen.insert(code.clone()) {
            return Err(LoadError::at_value(
                text,
                &code,
                format!("{section}[{i}]"),
                format!("code \"{}\" is listed twice", quoted(&code)),
            ));
        }
    }
    Ok(())
}

/// `code` among `codes`, or an error naming them: `unknown status "ZZ";
/// the catalogs list AN, AH, …`.
fn listed<'a>(
    what: &str,
    code: &str,
    mut codes: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), String> {
    if codes.clone().any(|c| c == code) {
        return Ok(());
    }
    let all: Vec<&str> = codes.by_ref().collect();
    Err(format!(
        "unknown {what} \"{}\"; the catalogs list {}",
        quoted(code),
        all.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogs() -> &'static Catalogs {
        &super::super::tests::domain().catalogs
    }

    #[test]
    fn all_entities_are_loaded() {
        let c = catalogs();
        assert_eq!(c.entities.len(), 32);
        let mex = c.entity_by_ine("15").unwrap();
        assert_eq!((mex.renapo.as_str(), mex.name.as_str()), ("MC", "México"));
        assert_eq!(c.entity_by_renapo("MC"), Some(mex));
        assert_eq!(c.entity_by_renapo("DF").unwrap().name, "Ciudad de México");
        assert_eq!(c.entity_by_renapo("DF").unwrap().upper, "CIUDAD DE MEXICO");
        assert_eq!(c.entity_by_ine("04").unwrap().upper, "CAMPECHE");
        assert_eq!(
            c.entity_by_renapo("NE").unwrap().name,
            "Nacido en el extranjero"
        );
        assert!(c.entity_by_ine("33").is_none());
        assert!(c.entity_by_ine("").is_none());
        for code in RENAPO_STATES {
            assert!(c.entity_by_renapo(code).is_some(), "{code}");
        }
    }

    #[test]
    fn all_statuses_are_loaded() {
        let c = catalogs();
        assert_eq!(c.statuses.len(), 10);
        let active: Vec<_> = c
            .statuses
            .iter()
            .filter(|s| s.active)
            .map(|s| s.code.as_str())
            .collect();
        assert_eq!(active, ["AN", "AH", "RCN", "RCC"]);
        let bd = c.status("BD").unwrap();
        assert_eq!(bd.description_en, "Deregistration due to death");
        assert_eq!(bd.validacurp, "Baja por Defunción");
        assert_eq!(bd.accuauth_description, "Unsubscribed because of deceased");
        assert!(c.status("XX").is_none());
    }

    #[test]
    fn all_codes_are_loaded() {
        let c = catalogs();
        assert_eq!(c.renapo_codes.len(), 12);
        assert_eq!(
            c.renapo_code("01-06").unwrap().es,
            "La CURP no se encuentra en la base de datos"
        );
        assert_eq!(
            c.renapo_code("05-01").unwrap().en,
            "Error processing XML output parameters"
        );
        assert_eq!(c.ccb_codes.len(), 4);
        assert_eq!(
            c.ccb_code("CRGEN000").unwrap().en,
            "The validation process has been successfully completed."
        );
        let docs: Vec<u8> = c.proof_documents.iter().map(|p| p.code).collect();
        assert_eq!(docs, [1, 3, 4, 7, 8]);
        assert_eq!(
            c.proof_document(1).unwrap().validacurp,
            "Acta de nacimiento"
        );
        assert_eq!(c.rfc_states.len(), 32);
        assert_eq!(c.rfc_state(15).unwrap().name, "Estado de México");
        assert!(c.rfc_state(33).is_none());
        assert_eq!(c.municipalities_of("30").count(), 2);
    }

    #[test]
    fn a_syntax_error_has_line_and_field() {
        let text = "entities:\n  - { ine: \"01\", renapo: AS, name: x }\n";
        let e = Catalogs::from_yaml(text).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.field.as_deref(), Some("entities[0]"));
        assert!(e.message.contains("missing field `upper`"), "{e}");
        assert!(e.to_string().starts_with("line 2: entities[0]: "), "{e}");
    }

    #[test]
    fn a_semantic_error_has_line_and_field() {
        let text = include_str!("../../fixtures/catalogs.yaml").replace("renapo: MC", "renapo: MX");
        let e = Catalogs::from_yaml(&text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("entities[14].renapo"));
        assert!(e.line.is_some());
        assert!(e.message.contains("unknown renapo code"), "{e}");
    }
}

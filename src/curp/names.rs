//! Mexican name lists (`fixtures/names.yaml`), indexed by the CURP letters
//! each name gives, so that a synthetic person can be given names that agree
//! with any CURP in one lookup.

use std::collections::HashMap;

use serde::Deserialize;

use super::calc::{name_letters, surname_letters};
use super::catalogs::LoadError;
use super::Sex;
use crate::engine::quoted;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    male: Vec<String>,
    female: Vec<String>,
    surnames: Vec<String>,
}

/// The name lists and their indexes.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub male: Vec<String>,
    pub female: Vec<String>,
    pub surnames: Vec<String>,
    /// Surnames by (initial, internal vowel, internal consonant): what a
    /// first surname gives to positions 1, 2 and 14.
    by_first: HashMap<(char, char, char), Vec<usize>>,
    /// Surnames by (initial, internal consonant): positions 3 and 15.
    by_second: HashMap<(char, char), Vec<usize>>,
    /// Names by (initial, internal consonant): positions 4 and 16.
    male_by_letters: HashMap<(char, char), Vec<usize>>,
    female_by_letters: HashMap<(char, char), Vec<usize>>,
}

impl Names {
    pub fn from_yaml(text: &str) -> Result<Names, LoadError> {
        let raw: Raw = serde_yaml_ng::from_str(text)?;
        for (list, words) in [
            ("male", &raw.male),
            ("female", &raw.female),
            ("surnames", &raw.surnames),
        ] {
            if words.is_empty() {
                return Err(LoadError::at_value(
                    text,
                    list,
                    list.into(),
                    "the list is empty".into(),
                ));
            }
            for (i, w) in words.iter().enumerate() {
                if !w.chars().any(char::is_alphabetic) {
                    return Err(LoadError::at_value(
                        text,
                        w,
                        format!("{list}[{i}]"),
                        format!("\"{}\" is not a name", quoted(w)),
                    ));
                }
            }
        }
        let mut names = Names {
            male: raw.male,
            female: raw.female,
            surnames: raw.surnames,
            ..Names::default()
        };
        for (i, s) in names.surnames.iter().enumerate() {
            let (a, v, c) = surname_letters(s);
            names.by_first.entry((a, v, c)).or_default().push(i);
            names.by_second.entry((a, c)).or_default().push(i);
        }
        for (i, n) in names.male.iter().enumerate() {
            names
                .male_by_letters
                .entry(name_letters(n))
                .or_default()
                .push(i);
        }
        for (i, n) in names.female.iter().enumerate() {
            names
                .female_by_letters
                .entry(name_letters(n))
                .or_default()
                .push(i);
        }
        Ok(names)
    }

    /// Surnames that give these letters as a first surname.
    pub(crate) fn first_surnames(&self, initial: char, vowel: char, consonant: char) -> Vec<&str> {
        self.by_first
            .get(&(initial, vowel, consonant))
            .map(|ix| ix.iter().map(|&i| self.surnames[i].as_str()).collect())
            .unwrap_or_default()
    }

    /// Surnames that give these letters as a second surname.
    pub(crate) fn second_surnames(&self, initial: char, consonant: char) -> Vec<&str> {
        self.by_second
            .get(&(initial, consonant))
            .map(|ix| ix.iter().map(|&i| self.surnames[i].as_str()).collect())
            .unwrap_or_default()
    }

    /// Names that give these letters, from the male list (H), the female
    /// list (M), or both (X).
    pub(crate) fn first_names(&self, sex: Sex, initial: char, consonant: char) -> Vec<&str> {
        let (male, female) = match sex {
            Sex::H => (true, false),
            Sex::M => (false, true),
            Sex::X => (true, true),
        };
        let mut out = Vec::new();
        if male {
            if let Some(ix) = self.male_by_letters.get(&(initial, consonant)) {
                out.extend(ix.iter().map(|&i| self.male[i].as_str()));
            }
        }
        if female {
            if let Some(ix) = self.female_by_letters.get(&(initial, consonant)) {
                out.extend(ix.iter().map(|&i| self.female[i].as_str()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_loaded_and_indexed() {
        let n = &super::super::tests::domain().names;
        assert!(n.male.len() >= 200 && n.female.len() >= 200 && n.surnames.len() >= 300);
        assert!(n.first_surnames('P', 'E', 'X').contains(&"PEÑA"));
        assert!(n.second_surnames('N', 'T').contains(&"NIETO"));
        assert!(n.first_names(Sex::H, 'E', 'N').contains(&"ENRIQUE"));
        assert!(!n.first_names(Sex::M, 'E', 'N').contains(&"ENRIQUE"));
        assert!(n.first_names(Sex::X, 'E', 'N').contains(&"ENRIQUE"));
        assert!(n.first_surnames('C', 'U', 'R').contains(&"DE LA CRUZ"));
    }

    #[test]
    fn bad_lists_are_rejected() {
        let e = Names::from_yaml("male: [JUAN]\nfemale: []\nsurnames: [LOPEZ]\n").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("female"));
        let e = Names::from_yaml("male: [JUAN]\nfemale: [ANA, \"--\"]\nsurnames: [LOPEZ]\n")
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("female[1]"));
        assert_eq!(e.line, Some(2));
        let e = Names::from_yaml("male: [JUAN]\nsurnames: [LOPEZ]\n").unwrap_err();
        assert!(e.message.contains("female"), "{e}");
    }
}

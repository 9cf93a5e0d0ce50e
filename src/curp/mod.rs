//! The CURP domain: parsing and the check digit (here), calculation by the
//! RENAPO rules (`calc`), the catalogs of the provider documents
//! (`catalogs`), Mexican name lists (`names`), the documents derived from a
//! person (`nss`, `rfc`, `ine`), the synthetic person (`person`), the
//! personas of `fixtures/personas.yaml` (`persona`) and the QA commands
//! (`cmd`). Nothing here does I/O or reads the clock: the server embeds the
//! YAML and passes it in, and every random choice is seeded (`curp random`
//! without `--seed` alone seeds from the operating system, to differ from
//! run to run).

pub mod calc;
pub mod catalogs;
pub mod cmd;
pub mod ine;
pub mod names;
pub mod nss;
pub mod person;
pub mod persona;
pub mod rfc;

use crate::fnv::FnvMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::time::Date;

pub use calc::{calculate, calculate_first16, CalcError, CalcInput};
pub use catalogs::{Catalogs, LoadError};
pub use ine::{elector_code, Ine};
pub use names::Names;
pub use nss::{nss_check_digit, nss_is_valid};
pub use person::{random_curp, Person, Registry};
pub use persona::{Persona, RegistryPatch};
pub use rfc::{rfc_check_digit, rfc_homoclave, rfc_is_valid, rfc_letters};

/// The RENAPO codes a CURP may carry in positions 12–13: the 32 federal
/// entities of the table in the CURPv5 document and `NE` for born abroad.
/// They are kept here as well as in `catalogs.yaml` so that the strict check
/// needs no loaded catalog.
pub const RENAPO_STATES: [&str; 33] = [
    "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT", "GR", "HG", "JC", "MC", "MN",
    "MS", "NT", "NL", "OC", "PL", "QT", "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS",
    "NE",
];

/// The check digit's dictionary: a character's value is its index.
#[cfg(test)]
const DICTIONARY: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";

/// Sex as a CURP writes it (position 11): H man, M woman, X non-binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    H,
    M,
    X,
}

impl Sex {
    fn from_char(c: char) -> Option<Sex> {
        match c {
            'H' => Some(Sex::H),
            'M' => Some(Sex::M),
            'X' => Some(Sex::X),
            _ => None,
        }
    }

    pub fn as_char(self) -> char {
        match self {
            Sex::H => 'H',
            Sex::M => 'M',
            Sex::X => 'X',
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

impl FromStr for Sex {
    type Err = String;

    fn from_str(s: &str) -> Result<Sex, String> {
        let mut chars = s.trim().chars();
        match (chars.next().map(|c| c.to_ascii_uppercase()), chars.next()) {
            (Some(c), None) => Sex::from_char(c).ok_or_else(|| bad_sex(s)),
            _ => Err(bad_sex(s)),
        }
    }
}

fn bad_sex(s: &str) -> String {
    format!("bad sex '{}': expected H, M or X", crate::engine::quoted(s))
}

/// Whether a string has the CURP format the providers check:
/// `^[A-Z]{4}[0-9]{6}[HMX][A-Z]{5}[A-Z0-9][0-9]$`. The documents'
/// placeholders (`ABCD570805HYNHLC52`, `XAXX010101XAXAXA00`,
/// `XAXA010101XXXXXX01`) pass it although they fail the strict rules.
pub fn is_loose(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 18 && b.iter().enumerate().all(|(i, &c)| fits(i, c))
}

/// Whether byte `c` fits place `i` (0-based) of the CURP format: what it
/// is, for [`loose_error`]; a byte past ASCII fits nowhere.
fn fits(i: usize, c: u8) -> bool {
    match place(i) {
        Place::Letter => c.is_ascii_uppercase(),
        Place::Digit => c.is_ascii_digit(),
        Place::Sex => matches!(c, b'H' | b'M' | b'X'),
        Place::LetterOrDigit => c.is_ascii_uppercase() || c.is_ascii_digit(),
    }
}

enum Place {
    Letter,
    Digit,
    Sex,
    LetterOrDigit,
}

/// What place `i` (0-based) of a CURP holds: letters, the birth date,
/// the sex, letters, the differentiator, the check digit.
fn place(i: usize) -> Place {
    match i {
        0..=3 | 11..=15 => Place::Letter,
        4..=9 | 17 => Place::Digit,
        10 => Place::Sex,
        _ => Place::LetterOrDigit,
    }
}

/// Why `s` does not have the CURP format [`is_loose`] checks: the first
/// character out of place, or the length.
pub fn loose_error(s: &str) -> Option<String> {
    if is_loose(s) {
        return None;
    }
    let n = s.chars().count();
    if n != 18 {
        return Some(format!(
            "{n} characters: a CURP has 18, like PXNE660720HMCXTN06"
        ));
    }
    let (i, c) = (s.chars().enumerate()).find(|&(i, c)| !fits(i, u8::try_from(c).unwrap_or(0)))?;
    let expected = match place(i) {
        Place::Letter => "a letter A-Z",
        Place::Digit => "a digit",
        Place::Sex => "H, M or X",
        Place::LetterOrDigit => "a letter A-Z or a digit",
    };
    let capitals = match c {
        'Ñ' | 'ñ' => " (a CURP writes Ñ as X)",
        c if c.is_ascii_lowercase() => " (a CURP is written in capitals)",
        _ => "",
    };
    Some(format!(
        "'{}' at position {}: expected {expected}{capitals}",
        crate::engine::quoted(&c.to_string()),
        i + 1
    ))
}

/// A character's place in RENAPO's check-digit dictionary
/// `0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ`, without scanning it: this runs
/// on every CURP every provider checks.
fn dictionary_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='N' => Some(c as u32 - 'A' as u32 + 10),
        'Ñ' => Some(24),
        'O'..='Z' => Some(c as u32 - 'O' as u32 + 25),
        _ => None,
    }
}

/// The check digit of the first 17 characters of a CURP: the dictionary
/// values weighted 18 down to 2, and `(10 - sum % 10) % 10`. `None` when the
/// input is not 17 dictionary characters.
pub fn check_digit(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut count = 0u32;
    for c in first17.chars() {
        let value = dictionary_value(c)?;
        count += 1;
        if count > 17 {
            return None;
        }
        sum += value * (19 - count);
    }
    if count != 17 {
        return None;
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// What a strictly valid CURP encodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub birth_date: Date,
    pub sex: Sex,
    /// RENAPO code of the birth state, `NE` for born abroad.
    pub state: &'static str,
}

/// Why a string is not a strictly valid CURP. Positions are 1-based, as the
/// Instructivo counts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseCurpError {
    WrongLength(usize),
    BadCharacter {
        position: usize,
        found: char,
        expected: &'static str,
    },
    NotVowel(char),
    BadSex(char),
    ImpossibleDate(String),
    UnknownState(String),
    InconvenientWord(String),
    WrongCheckDigit {
        expected: char,
        found: char,
    },
}

impl fmt::Display for ParseCurpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseCurpError::WrongLength(n) => {
                write!(f, "wrong length: expected 18 characters, got {n}")
            }
            ParseCurpError::BadCharacter {
                position,
                found,
                expected,
            } => write!(
                f,
                "bad character '{found}' at position {position}: expected {expected}"
            ),
            ParseCurpError::NotVowel(c) => {
                write!(f, "position 2 is not a vowel or X: got '{c}'")
            }
            ParseCurpError::BadSex(c) => {
                write!(f, "bad sex '{c}' at position 11: expected H, M or X")
            }
            ParseCurpError::ImpossibleDate(d) => write!(f, "impossible date {d}"),
            ParseCurpError::UnknownState(s) => write!(f, "unknown state code '{s}'"),
            ParseCurpError::InconvenientWord(w) => write!(
                f,
                "positions 1 to 4 spell the inconvenient word '{w}', which RENAPO writes with an X"
            ),
            ParseCurpError::WrongCheckDigit { expected, found } => {
                write!(f, "wrong check digit: expected {expected} got {found}")
            }
        }
    }
}

impl std::error::Error for ParseCurpError {}

fn is_consonant(c: char) -> bool {
    c.is_ascii_uppercase() && !matches!(c, 'A' | 'E' | 'I' | 'O' | 'U')
}

/// Checks a CURP by every rule RENAPO applies to its structure: the
/// character classes of each position, a vowel or X in position 2, a date
/// that exists (the century told by the differentiator: a digit before 2000,
/// a letter from 2000), a known birth-state code, no inconvenient word, and
/// the check digit.
pub fn check_strict(s: &str) -> Result<Decoded, ParseCurpError> {
    // Every request checks one: the characters go on the stack.
    let mut chars = ['\0'; 18];
    let mut len = 0;
    for c in s.chars() {
        if let Some(slot) = chars.get_mut(len) {
            *slot = c;
        }
        len += 1;
    }
    if len != 18 {
        return Err(ParseCurpError::WrongLength(len));
    }
    for (i, &c) in chars.iter().enumerate() {
        let (ok, expected) = match i {
            0..=3 | 11 | 12 => (c.is_ascii_uppercase(), "a letter"),
            4..=9 | 17 => (c.is_ascii_digit(), "a digit"),
            10 => (true, ""),
            13..=15 => (is_consonant(c), "a consonant"),
            _ => (
                c.is_ascii_uppercase() || c.is_ascii_digit(),
                "a letter or a digit",
            ),
        };
        if !ok {
            return Err(ParseCurpError::BadCharacter {
                position: i + 1,
                found: c,
                expected,
            });
        }
    }
    if !matches!(chars[1], 'A' | 'E' | 'I' | 'O' | 'U' | 'X') {
        return Err(ParseCurpError::NotVowel(chars[1]));
    }
    let sex = Sex::from_char(chars[10]).ok_or(ParseCurpError::BadSex(chars[10]))?;
    let digit = |i: usize| chars[i].to_digit(10).unwrap_or(0);
    let yy = digit(4) * 10 + digit(5);
    let century = if chars[16].is_ascii_digit() {
        1900
    } else {
        2000
    };
    let month = (digit(6) * 10 + digit(7)) as u8;
    let day = (digit(8) * 10 + digit(9)) as u8;
    let birth_date = Date::new(century + yy as i32, month, day)
        .ok_or_else(|| ParseCurpError::ImpossibleDate(chars[4..10].iter().collect()))?;
    // Every character is ASCII by now (the classes above are ASCII ones, and
    // position 11 was checked by `Sex::from_char`), so byte slices are safe.
    let code = &s[11..13];
    let Some(state) = renapo_state(code) else {
        return Err(ParseCurpError::UnknownState(code.to_string()));
    };
    let four = &s[0..4];
    if calc::is_inconvenient(four) {
        return Err(ParseCurpError::InconvenientWord(four.to_string()));
    }
    let expected = check_digit(&s[0..17]).unwrap_or('0');
    if expected != chars[17] {
        return Err(ParseCurpError::WrongCheckDigit {
            expected,
            found: chars[17],
        });
    }
    Ok(Decoded {
        birth_date,
        sex,
        state,
    })
}

/// The RENAPO state code `code` names, compared as two bytes: every CURP
/// every provider checks comes here, and a comparison of strings calls
/// `memcmp` for each of the 33 codes.
fn renapo_state(code: &str) -> Option<&'static str> {
    let pair = |s: &str| <[u8; 2]>::try_from(s.as_bytes()).ok();
    let want = pair(code)?;
    RENAPO_STATES.into_iter().find(|s| pair(s) == Some(want))
}

/// Everything the CURP domain loads from `fixtures/`: parsed once at
/// startup, immutable afterwards.
#[derive(Clone, Debug)]
pub struct Domain {
    pub catalogs: Catalogs,
    pub names: Names,
    pub personas: Vec<Persona>,
    /// Personas by CURP; a map because every provider request looks one up.
    index: FnvMap<String, usize>,
}

impl Domain {
    /// Loads the three YAML files; an error names the file it comes from.
    pub fn from_yaml(
        catalogs: &str,
        names: &str,
        personas: &str,
    ) -> Result<Domain, (String, LoadError)> {
        let catalogs_parsed =
            Catalogs::from_yaml(catalogs).map_err(|e| ("catalogs.yaml".to_string(), e))?;
        let names = Names::from_yaml(names).map_err(|e| ("names.yaml".to_string(), e))?;
        let personas = persona::load(personas, &catalogs_parsed)
            .map_err(|e| ("personas.yaml".to_string(), e))?;
        let index = personas
            .iter()
            .enumerate()
            .map(|(i, p)| (p.curp.clone(), i))
            .collect();
        Ok(Domain {
            catalogs: catalogs_parsed,
            names,
            personas,
            index,
        })
    }

    /// The persona listed for this CURP, if any.
    pub fn persona(&self, curp: &str) -> Option<&Persona> {
        self.index.get(curp).and_then(|&i| self.personas.get(i))
    }

    /// The person every provider answers with for this CURP: the persona's
    /// data merged over the synthetic person.
    pub fn person(&self, curp: &str, seed: u64) -> Person {
        person::build(curp, seed, &self.names, &self.catalogs, self.persona(curp))
    }

    /// What RENAPO makes of a CURP, for the providers that look one up.
    pub fn renapo(&self, curp: &str) -> Renapo {
        match check_strict(curp) {
            // Born after the year the domain's data is as of: not issued yet.
            Ok(d) if d.birth_date.year > person::REFERENCE_YEAR && self.persona(curp).is_none() => {
                Renapo::NotIssued
            }
            Ok(_) => Renapo::Found,
            // The documents' placeholders fail the rules, and are answered.
            Err(_) if self.persona(curp).is_some() => Renapo::Found,
            Err(ParseCurpError::WrongCheckDigit { .. }) => Renapo::NotIssued,
            Err(_) => Renapo::Malformed,
        }
    }

    /// Why no one holds `curp` by [`Domain::renapo`], in words; `None`
    /// when someone does.
    pub fn not_issued_why(&self, curp: &str) -> Option<String> {
        if self.renapo(curp) == Renapo::Found {
            return None;
        }
        Some(match check_strict(curp) {
            Err(e) => e.to_string(),
            Ok(d) => format!(
                "born in {}, after {}, the year the data is as of",
                d.birth_date.year,
                person::REFERENCE_YEAR
            ),
        })
    }
}

/// [`Domain::renapo`]'s verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renapo {
    /// It passes every rule and states a birth by
    /// [`person::REFERENCE_YEAR`], or it is a persona: someone is behind it.
    Found,
    /// It passes every rule but the check digit, or it states a birth after
    /// [`person::REFERENCE_YEAR`]: no registry issued it.
    NotIssued,
    /// It breaks a rule of the structure: the pattern, the date, the state,
    /// an inconvenient word.
    Malformed,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    #[test]
    fn a_string_out_of_the_curp_format_is_told_where() {
        for (s, why) in [
            ("PXNE660720HMCXTN06", None),
            (
                "xaxa010101xxxxxx01",
                Some("'x' at position 1: expected a letter A-Z (a CURP is written in capitals)"),
            ),
            (
                "PXNE66072OHMCXTN06",
                Some("'O' at position 10: expected a digit"),
            ),
            (
                "PXNE660720QMCXTN06",
                Some("'Q' at position 11: expected H, M or X"),
            ),
            (
                "PXNE660720HMCXT-06",
                Some("'-' at position 16: expected a letter A-Z"),
            ),
            (
                "PXNE660720HMCXTN0A",
                Some("'A' at position 18: expected a digit"),
            ),
            (
                "PXNE660720HMCXTN0",
                Some("17 characters: a CURP has 18, like PXNE660720HMCXTN06"),
            ),
            (
                "PÑNE660720HMCXTN06",
                Some("'Ñ' at position 2: expected a letter A-Z (a CURP writes Ñ as X)"),
            ),
            (
                "PEñA660720HMCXTN06",
                Some("'ñ' at position 3: expected a letter A-Z (a CURP writes Ñ as X)"),
            ),
        ] {
            assert_eq!(loose_error(s).as_deref(), why, "{s}");
        }
    }

    #[test]
    fn dictionary_values_follow_the_dictionary() {
        for (i, c) in DICTIONARY.chars().enumerate() {
            assert_eq!(dictionary_value(c), Some(i as u32), "{c}");
        }
        assert_eq!(dictionary_value('a'), None);
        assert_eq!(dictionary_value('-'), None);
    }

    #[test]
    fn renapo_finds_valid_curps_and_personas() {
        let d = domain();
        assert_eq!(d.renapo("PXNE660720HMCXTN06"), Renapo::Found);
        // The documents' placeholders are personas.
        for placeholder in [
            "ABCD570805HYNHLC52",
            "XAXX010101XAXAXA00",
            "XAXA010101XXXXXX01",
        ] {
            assert!(check_strict(placeholder).is_err());
            assert_eq!(d.renapo(placeholder), Renapo::Found, "{placeholder}");
        }
        assert_eq!(d.renapo("PXNE660720HMCXTN07"), Renapo::NotIssued);
        // Born in 2066 (a letter differentiator is the 2000s): the rules
        // pass, but no one born after the reference year has a CURP yet.
        assert!(check_strict("PXNE660720HMCXTNA6").is_ok());
        assert_eq!(d.renapo("PXNE660720HMCXTNA6"), Renapo::NotIssued);
        let born_2025 = format!(
            "PXNE250720HMCXTNA{}",
            check_digit("PXNE250720HMCXTNA").unwrap()
        );
        assert_eq!(d.renapo(&born_2025), Renapo::Found);
        for malformed in [
            "PXNE661320HMCXTN06",
            "PXNE660720HZZXTN06",
            "PXNE66072",
            "pxne660720hmcxtn06",
        ] {
            assert_eq!(d.renapo(malformed), Renapo::Malformed, "{malformed}");
        }
    }

    /// The fixtures as the server embeds them, loaded once for all tests.
    pub(crate) fn domain() -> &'static Domain {
        static DOMAIN: OnceLock<Domain> = OnceLock::new();
        DOMAIN.get_or_init(|| {
            Domain::from_yaml(
                include_str!("../../fixtures/catalogs.yaml"),
                include_str!("../../fixtures/names.yaml"),
                include_str!("../../fixtures/personas.yaml"),
            )
            .unwrap_or_else(|(file, e)| panic!("{file}: {e}"))
        })
    }

    #[test]
    fn loose_accepts_the_placeholders() {
        for c in [
            "ABCD570805HYNHLC52",
            "XAXX010101XAXAXA00",
            "XAXA010101XXXXXX01",
            "PXNE660720HMCXTN06",
        ] {
            assert!(is_loose(c), "{c}");
        }
        for c in [
            "",
            "PXNE660720HMCXTN0",
            "PXNE660720HMCXTN066",
            "pxne660720hmcxtn06",
            "PXNE660720ZMCXTN06",
            "PXNE66072OHMCXTN06",
            "PXNE660720HMCXTN0A",
            "PXNE660720HMC1TN06",
            "PÑNE660720HMCXTN06",
        ] {
            assert!(!is_loose(c), "{c}");
        }
    }

    #[test]
    fn check_digits_of_the_documents_examples() {
        for c in [
            "PXNE660720HMCXTN06",
            "LOOA531113HTCPBN07",
            "NAZA650704MTLVCL05",
        ] {
            assert_eq!(check_digit(&c[..17]), c.chars().nth(17), "{c}");
            assert!(check_strict(c).is_ok(), "{c}");
        }
        assert_eq!(check_digit("PXNE660720HMCXTN"), None);
        assert_eq!(check_digit("PXNE660720HMCXTN0X"), None);
        assert_eq!(check_digit("PXNE660720HMCXTN*"), None);
        // Ñ has its own value (24) between N and O.
        assert!(check_digit("ÑXNE660720HMCXTN0").is_some());
    }

    #[test]
    fn strict_decodes() {
        let d = check_strict("PXNE660720HMCXTN06").unwrap();
        assert_eq!(d.birth_date, Date::new(1966, 7, 20).unwrap());
        assert_eq!(d.sex, Sex::H);
        assert_eq!(d.state, "MC");
        let mut c = String::from("GOLA050228MDFRPNA");
        c.push(check_digit(&c).unwrap());
        let d = check_strict(&c).unwrap();
        assert_eq!(d.birth_date, Date::new(2005, 2, 28).unwrap());
        assert_eq!(d.sex, Sex::M);
    }

    fn with_digit(first17: &str) -> String {
        let mut c = first17.to_string();
        c.push(check_digit(first17).unwrap_or('0'));
        c
    }

    #[test]
    fn strict_rejects_each_rule_with_its_reason() {
        let e = |s: &str| check_strict(s).unwrap_err().to_string();
        assert_eq!(
            e("PXNE660720HMCXTN0"),
            "wrong length: expected 18 characters, got 17"
        );
        assert_eq!(
            e("PXNE66O720HMCXTN06"),
            "bad character 'O' at position 7: expected a digit"
        );
        assert_eq!(
            e("PXNE660720HMCATN06"),
            "bad character 'A' at position 14: expected a consonant"
        );
        assert_eq!(
            e(&with_digit("PBNE660720HMCXTN0")),
            "position 2 is not a vowel or X: got 'B'"
        );
        assert_eq!(
            e("PXNE660720ZMCXTN06"),
            "bad sex 'Z' at position 11: expected H, M or X"
        );
        assert_eq!(
            e(&with_digit("PXNE661320HMCXTN0")),
            "impossible date 661320"
        );
        // 2001 is not a leap year, 1900 is not either, 2000 is.
        assert_eq!(
            e(&with_digit("PXNE010229HMCXTNA")),
            "impossible date 010229"
        );
        assert_eq!(
            e(&with_digit("PXNE000229HMCXTN0")),
            "impossible date 000229"
        );
        assert!(check_strict(&with_digit("PXNE000229HMCXTNA")).is_ok());
        assert_eq!(
            e(&with_digit("PXNE660720HZZXTN0")),
            "unknown state code 'ZZ'"
        );
        assert!(e(&with_digit("PEDO660720HMCXTN0")).contains("inconvenient word 'PEDO'"));
        assert_eq!(
            e("PXNE660720HMCXTN05"),
            "wrong check digit: expected 6 got 5"
        );
        assert!(check_strict(&with_digit("PXNE660720HNEXTN0")).is_ok());
    }

    #[test]
    fn strict_rejects_the_placeholders() {
        assert!(check_strict("ABCD570805HYNHLC52").is_err());
        assert!(check_strict("XAXX010101XAXAXA00").is_err());
        assert!(check_strict("XAXA010101XXXXXX01").is_err());
    }

    #[test]
    fn sex_parses_and_prints() {
        assert_eq!("h".parse::<Sex>(), Ok(Sex::H));
        assert_eq!("X".parse::<Sex>(), Ok(Sex::X));
        assert!("F".parse::<Sex>().is_err());
        assert!("HM".parse::<Sex>().is_err());
        assert_eq!(Sex::M.to_string(), "M");
        assert_eq!(serde_json::to_string(&Sex::H).unwrap(), "\"H\"");
    }

    #[test]
    fn domain_loads_and_indexes_personas() {
        let d = domain();
        assert!(d.persona("PXNE660720HMCXTN06").is_some());
        assert!(d.persona("LOOA531113HTCPBN07").is_none());
        let p = d.person("PXNE660720HMCXTN06", 0);
        assert_eq!(p.names, "ENRIQUE");
        assert_eq!(p.status, "RCN");
    }
}

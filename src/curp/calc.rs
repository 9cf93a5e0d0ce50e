//! CURP calculation from personal data, by the rules of RENAPO's Instructivo
//! Normativo para la Asignación de la CURP.
//!
//! The same word-level helpers (initial, first internal vowel, first internal
//! consonant) serve the synthetic person, which picks names by the letters
//! they produce, so calculation and synthesis can never disagree.

use std::fmt;

use super::{check_digit, Sex};
use crate::time::Date;

/// The particles that are skipped in surnames and names (Instructivo, rule 2).
pub const PARTICLES: [&str; 19] = [
    "DA", "DAS", "DE", "DEL", "DER", "DI", "DIE", "DD", "EL", "LA", "LOS", "LAS", "LE", "LES",
    "MAC", "MC", "VAN", "VON", "Y",
];

/// First names skipped when another name follows: MARIA and JOSE and their
/// abbreviations, compared after accents are stripped.
pub const SKIPPED_FIRST_NAMES: [&str; 7] = ["MARIA", "MA.", "MA", "M.", "JOSE", "J.", "J"];

/// The 81 inconvenient words of Anexo 2 of the Instructivo Normativo: when the
/// first four letters spell one of them, the second letter becomes X.
const INCONVENIENT_WORDS: [&str; 81] = [
    "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COGI",
    "COJA", "COJE", "COJI", "COJO", "COLA", "CULO", "FALO", "FETO", "GETA", "GUEI", "GUEY", "JETA",
    "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KAKO", "KOGE", "KOGI", "KOJA", "KOJE", "KOJI",
    "KOJO", "KOLA", "KULO", "LILO", "LOCA", "LOCO", "LOKA", "LOKO", "MAME", "MAMO", "MEAR", "MEAS",
    "MEON", "MIAR", "MION", "MOCO", "MOKO", "MULA", "MULO", "NACA", "NACO", "PEDA", "PEDO", "PENE",
    "PIPI", "PITO", "POPO", "PUTA", "PUTO", "QULO", "RATA", "ROBA", "ROBE", "ROBO", "RUIN", "SENO",
    "TETA", "VACA", "VAGA", "VAGO", "VAKA", "VUEI", "VUEY", "WUEI", "WUEY",
];

/// Whether four letters spell one of RENAPO's inconvenient words.
pub fn is_inconvenient(four: &str) -> bool {
    // Every provider asks this of every CURP: the words as numbers, sorted
    // once and searched by halves (no hashing, no string comparison).
    static SORTED: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    let word = |s: &str| {
        <[u8; 4]>::try_from(s.as_bytes())
            .ok()
            .map(u32::from_be_bytes)
    };
    let Some(four) = word(four) else {
        return false;
    };
    SORTED
        .get_or_init(|| {
            let mut words: Vec<u32> = INCONVENIENT_WORDS.into_iter().filter_map(word).collect();
            words.sort_unstable();
            words
        })
        .binary_search(&four)
        .is_ok()
}

/// The personal data a CURP is calculated from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalcInput {
    pub names: String,
    pub first_surname: String,
    /// Empty when the person has only one surname.
    pub second_surname: String,
    pub birth_date: Date,
    pub sex: Sex,
    /// RENAPO code of the birth state (`NE` for born abroad).
    pub state: String,
}

/// Why personal data cannot give a CURP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalcError {
    EmptyNames,
    EmptyFirstSurname,
    UnknownState(String),
    /// A CURP encodes only two digits of the year and one century bit.
    YearOutOfRange(i32),
}

impl fmt::Display for CalcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalcError::EmptyNames => write!(f, "the names are empty"),
            CalcError::EmptyFirstSurname => write!(f, "the first surname is empty"),
            CalcError::UnknownState(s) => write!(f, "unknown state code '{s}'"),
            CalcError::YearOutOfRange(y) => {
                write!(f, "birth year {y} is out of range: expected 1900 to 2099")
            }
        }
    }
}

impl std::error::Error for CalcError {}

/// One character of a normalized word. Special characters are kept apart
/// from letters because the rules treat them differently from an X.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ch {
    /// `A`–`Z` or `Ñ`, accents stripped.
    Letter(char),
    /// `/ - . '`, digits and anything else that is not a letter.
    Special,
}

/// Upper-cases one character and strips its accent (Ü becomes U); Ñ stays.
pub(crate) fn fold(c: char) -> Ch {
    let up = match c {
        'a'..='z' => c.to_ascii_uppercase(),
        'A'..='Z' => c,
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' => 'A',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => 'O',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
        'ñ' | 'Ñ' => 'Ñ',
        'ç' | 'Ç' => 'C',
        _ => return Ch::Special,
    };
    Ch::Letter(up)
}

/// A word upper-cased with accents stripped, special characters kept as
/// they are, so that `MA.` can still be recognized as an abbreviation.
/// Text in Unicode's decomposed form (NFD: an accent as a combining mark
/// after its letter, as text copied from some PDFs or macOS file names
/// carries it) reads as the composed text: `N` and a combining tilde are
/// Ñ, and a letter with a mark `fold` knows no composed letter for is one
/// special character, as a composed `Ý` is.
pub(crate) fn fold_str(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    // Whether the last character already carries an accent: Unicode
    // composes one mark with a letter, not a second.
    let mut accented = false;
    for c in word.chars() {
        let letter = out
            .chars()
            .next_back()
            .filter(|&l| !accented && matches!(fold(l), Ch::Letter(_)));
        if let (Some(l), '\u{300}'..='\u{36f}') = (letter, c) {
            out.pop();
            out.push(match compose(l, c).map(fold) {
                Some(Ch::Letter(folded)) => folded,
                _ => c,
            });
            accented = true;
            continue;
        }
        out.push(match fold(c) {
            Ch::Letter(l) => l,
            Ch::Special => c,
        });
        accented = !c.is_ascii();
    }
    out
}

/// Whether two names are one as a person writes them: in any letter case,
/// with or without accents, composed or decomposed.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    fold_str(a.trim()) == fold_str(b.trim())
}

/// The combining marks of the accents `fold` strips, in the order of
/// [`compose`]'s rows: grave, acute, circumflex, tilde, diaeresis, cedilla.
const MARKS: [char; 6] = [
    '\u{300}', '\u{301}', '\u{302}', '\u{303}', '\u{308}', '\u{327}',
];

/// A folded letter and a combining mark after it, composed as Unicode
/// composes them (NFC), for the accented letters `fold` knows.
fn compose(letter: char, mark: char) -> Option<char> {
    let row = match letter {
        'A' => ['À', 'Á', 'Â', 'Ã', 'Ä', ' '],
        'E' => ['È', 'É', 'Ê', ' ', 'Ë', ' '],
        'I' => ['Ì', 'Í', 'Î', ' ', 'Ï', ' '],
        'O' => ['Ò', 'Ó', 'Ô', 'Õ', 'Ö', ' '],
        'U' => ['Ù', 'Ú', 'Û', ' ', 'Ü', ' '],
        'N' => [' ', ' ', ' ', 'Ñ', ' ', ' '],
        'C' => [' ', ' ', ' ', ' ', ' ', 'Ç'],
        _ => return None,
    };
    let i = MARKS.iter().position(|&m| m == mark)?;
    Some(row[i]).filter(|&c| c != ' ')
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'A' | 'E' | 'I' | 'O' | 'U')
}

/// The letter a character contributes to a CURP: Ñ and special characters
/// are written as X.
fn curp_letter(ch: Ch) -> char {
    match ch {
        Ch::Letter('Ñ') | Ch::Special => 'X',
        Ch::Letter(c) => c,
    }
}

/// The word of a surname or name field that the rules look at, if any.
/// Particles are skipped; a field made only of particles falls back to its
/// last word rather than to nothing, so no input is left without letters.
fn significant_words(field: &str) -> Vec<String> {
    let words: Vec<String> = field.split_whitespace().map(fold_str).collect();
    let kept: Vec<String> = words
        .iter()
        .filter(|w| !PARTICLES.contains(&w.as_str()))
        .cloned()
        .collect();
    if kept.is_empty() {
        words.last().cloned().into_iter().collect()
    } else {
        kept
    }
}

/// The word of a surname used for the CURP.
pub(crate) fn surname_word(field: &str) -> Option<Vec<Ch>> {
    significant_words(field)
        .first()
        .map(|w| w.chars().map(fold).collect())
}

/// The first name used for the CURP: MARIA and JOSE (and abbreviations) are
/// skipped when another name follows.
pub(crate) fn name_word(field: &str) -> Option<Vec<Ch>> {
    let words = significant_words(field);
    let chosen = match words.as_slice() {
        [first, second, ..] if SKIPPED_FIRST_NAMES.contains(&first.as_str()) => second,
        [first, ..] => first,
        [] => return None,
    };
    Some(chosen.chars().map(fold).collect())
}

/// Position 1 (or 3, 4): the initial, Ñ and special characters as X.
pub(crate) fn initial(word: &[Ch]) -> char {
    word.first().map_or('X', |&c| curp_letter(c))
}

/// Position 2: the first vowel after the initial; X when there is none, or
/// when a special character comes first (D/AMICO gives X).
pub(crate) fn internal_vowel(word: &[Ch]) -> char {
    for &ch in word.iter().skip(1) {
        match ch {
            Ch::Letter(c) if is_vowel(c) => return c,
            Ch::Special => return 'X',
            Ch::Letter(_) => {}
        }
    }
    'X'
}

/// Positions 14–16: the first consonant after the initial, Ñ and special
/// characters as X; X when there is none.
pub(crate) fn internal_consonant(word: &[Ch]) -> char {
    for &ch in word.iter().skip(1) {
        match ch {
            Ch::Letter(c) if is_vowel(c) => {}
            other => return curp_letter(other),
        }
    }
    'X'
}

/// The letters one field contributes: initial, internal vowel, internal
/// consonant. A missing field contributes X everywhere.
pub(crate) fn surname_letters(field: &str) -> (char, char, char) {
    match surname_word(field) {
        Some(w) => (initial(&w), internal_vowel(&w), internal_consonant(&w)),
        None => ('X', 'X', 'X'),
    }
}

pub(crate) fn name_letters(field: &str) -> (char, char) {
    match name_word(field) {
        Some(w) => (initial(&w), internal_consonant(&w)),
        None => ('X', 'X'),
    }
}

/// The first 16 characters of the CURP: everything but the differentiator
/// and the check digit.
pub fn calculate_first16(input: &CalcInput) -> Result<String, CalcError> {
    if input.names.trim().is_empty() {
        return Err(CalcError::EmptyNames);
    }
    if input.first_surname.trim().is_empty() {
        return Err(CalcError::EmptyFirstSurname);
    }
    if super::renapo_state(&input.state).is_none() {
        return Err(CalcError::UnknownState(input.state.clone()));
    }
    let year = input.birth_date.year;
    if !(1900..=2099).contains(&year) {
        return Err(CalcError::YearOutOfRange(year));
    }
    let (p0, p1, pc) = surname_letters(&input.first_surname);
    let (m0, _, mc) = surname_letters(&input.second_surname);
    let (n0, nc) = name_letters(&input.names);
    let mut four: String = [p0, p1, m0, n0].iter().collect();
    if is_inconvenient(&four) {
        four.replace_range(1..2, "X");
    }
    Ok(format!(
        "{four}{:02}{:02}{:02}{}{}{pc}{mc}{nc}",
        year % 100,
        input.birth_date.month,
        input.birth_date.day,
        input.sex,
        input.state
    ))
}

/// The full CURP: the first 16 characters, the differentiator of the first
/// person to get them (`0` before 2000, `A` from 2000) and the check digit.
pub fn calculate(input: &CalcInput) -> Result<String, CalcError> {
    let mut curp = calculate_first16(input)?;
    curp.push(if input.birth_date.year < 2000 {
        '0'
    } else {
        'A'
    });
    // The first 17 characters are all in the dictionary by construction;
    // '0' stands in only to keep this function free of panics.
    curp.push(check_digit(&curp).unwrap_or('0'));
    Ok(curp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(names: &str, first: &str, second: &str) -> CalcInput {
        CalcInput {
            names: names.into(),
            first_surname: first.into(),
            second_surname: second.into(),
            birth_date: Date::new(1980, 1, 1).unwrap(),
            sex: Sex::H,
            state: "DF".into(),
        }
    }

    fn four(names: &str, first: &str, second: &str) -> String {
        calculate_first16(&input(names, first, second)).unwrap()[..4].to_string()
    }

    fn consonants(names: &str, first: &str, second: &str) -> String {
        calculate_first16(&input(names, first, second)).unwrap()[13..16].to_string()
    }

    #[test]
    fn inconvenient_words_all_found_and_nothing_else() {
        for w in INCONVENIENT_WORDS {
            assert!(is_inconvenient(w), "{w}");
        }
        for w in ["PXNE", "BACA ", "BAC", "", "ZZZZ", "AAAA", "bACA", "BÁCA"] {
            assert!(!is_inconvenient(w), "{w}");
        }
    }

    #[test]
    fn there_are_81_distinct_inconvenient_words() {
        let set: std::collections::BTreeSet<_> = INCONVENIENT_WORDS.iter().collect();
        assert_eq!(set.len(), 81);
    }

    #[test]
    fn golden_initial_n_tilde_is_x() {
        assert_eq!(four("ALBERTO", "ÑANDO", "RODRIGUEZ"), "XARA");
    }

    #[test]
    fn a_decomposed_accent_reads_as_the_accented_letter() {
        // N + combining tilde is Ñ; an acute after its vowel is stripped,
        // so MARÍA is still skipped.
        assert_eq!(fold_str("pen\u{303}a"), "PEÑA");
        assert_eq!(fold_str("MARI\u{301}A"), "MARIA");
        assert_eq!(four("ALBERTO", "N\u{303}ANDO", "RODRIGUEZ"), "XARA");
        assert_eq!(four("MARI\u{301}A LUISA", "PEREZ", "HERNANDEZ"), "PEHL");
        assert_eq!(consonants("ENRIQUE", "PEN\u{303}A", "NIETO"), "XTN");
        // Every accented letter fold knows, decomposed, folds as composed.
        for (composed, decomposed) in [
            ("àáâãä", "a\u{300}a\u{301}a\u{302}a\u{303}a\u{308}"),
            ("ÈÉÊË", "E\u{300}E\u{301}E\u{302}E\u{308}"),
            ("ìíîï", "i\u{300}i\u{301}i\u{302}i\u{308}"),
            ("òóôõö", "o\u{300}o\u{301}o\u{302}o\u{303}o\u{308}"),
            ("ÙÚÛÜ", "U\u{300}U\u{301}U\u{302}U\u{308}"),
            ("ñÑçÇ", "n\u{303}N\u{303}c\u{327}C\u{327}"),
        ] {
            assert_eq!(fold_str(decomposed), fold_str(composed), "{composed}");
        }
        // A letter with a mark no known letter takes is one special
        // character, as the composed letter is (Ý, Ẽ, Ń are not in fold's
        // table); a second mark, or one with no letter before it, is a
        // special character of its own.
        for (decomposed, composed) in [("Y\u{301}", "Ý"), ("E\u{303}", "Ẽ"), ("N\u{301}", "Ń")]
        {
            let kinds = |s: &str| fold_str(s).chars().map(fold).collect::<Vec<Ch>>();
            assert_eq!(kinds(decomposed), [Ch::Special], "{decomposed}");
            assert_eq!(kinds(decomposed), kinds(composed), "{composed}");
        }
        assert_eq!(fold_str("N\u{301}\u{303}"), "\u{301}\u{303}");
        assert_eq!(fold_str("Ñ\u{303}"), "Ñ\u{303}");
        assert_eq!(fold_str("A\u{301}\u{303}"), "A\u{303}");
        assert_eq!(
            four("ALBERTO", "Y\u{301}EPEZ", "RODRIGUEZ"),
            four("ALBERTO", "ÝEPEZ", "RODRIGUEZ")
        );
        assert_eq!(fold_str("\u{301}A"), "\u{301}A");
        assert_eq!(four("ALBERTO", "\u{301}NANDO", "RODRIGUEZ"), "XARA");
    }

    #[test]
    fn golden_maria_is_skipped() {
        assert_eq!(four("MARIA LUISA", "PEREZ", "HERNANDEZ"), "PEHL");
    }

    #[test]
    fn golden_compound_name_uses_the_first() {
        assert_eq!(four("LUIS ENRIQUE", "ROMERO", "PALAZUELOS"), "ROPL");
    }

    #[test]
    fn golden_compound_surname_uses_its_first_word() {
        assert_eq!(four("ROCIO", "RIVA PALACIO", "CRUZ"), "RICR");
    }

    #[test]
    fn golden_particle_mc_is_skipped() {
        assert_eq!(four("CARLOS", "MC GREGOR", "LOPEZ"), "GELC");
    }

    #[test]
    fn golden_inconvenient_word() {
        assert_eq!(four("OFELIA", "PEDRERO", "DOMINGUEZ"), "PXDO");
    }

    #[test]
    fn golden_no_internal_vowel() {
        assert_eq!(four("ANDRES", "ICH", "RODRIGUEZ"), "IXRA");
    }

    #[test]
    fn golden_special_character() {
        assert_eq!(four("JUAN JOSE", "D/AMICO", "ALVAREZ"), "DXAJ");
    }

    #[test]
    fn golden_consonant_n_tilde_is_x() {
        assert_eq!(consonants("ALBERTO", "OÑATE", "RODRIGUEZ"), "XDL");
    }

    #[test]
    fn golden_ma_and_name_particles_are_skipped() {
        assert_eq!(consonants("MA. DE LOS ANGELES", "MORENO", "SANCHEZ"), "RNN");
    }

    #[test]
    fn golden_pena_nieto() {
        let i = CalcInput {
            names: "ENRIQUE".into(),
            first_surname: "PEÑA".into(),
            second_surname: "NIETO".into(),
            birth_date: Date::new(1966, 7, 20).unwrap(),
            sex: Sex::H,
            state: "MC".into(),
        };
        assert_eq!(calculate(&i).unwrap(), "PXNE660720HMCXTN06");
        assert_eq!(calculate_first16(&i).unwrap(), "PXNE660720HMCXTN");
    }

    #[test]
    fn golden_lopez_obrador() {
        let i = CalcInput {
            names: "ANDRES MANUEL".into(),
            first_surname: "LOPEZ".into(),
            second_surname: "OBRADOR".into(),
            birth_date: Date::new(1953, 11, 13).unwrap(),
            sex: Sex::H,
            state: "TC".into(),
        };
        assert_eq!(calculate(&i).unwrap(), "LOOA531113HTCPBN07");
    }

    #[test]
    fn accents_and_dieresis_are_stripped() {
        assert_eq!(four("ÁNGEL", "ÜRIBE", "ÉSPINO"), "UIEA");
        assert_eq!(four("josé luis", "güereca", "núñez"), "GUNL");
    }

    #[test]
    fn jose_and_abbreviations_are_skipped_only_before_another_name() {
        assert_eq!(four("JOSE", "LOPEZ", "PEREZ"), "LOPJ");
        assert_eq!(four("JOSÉ ANTONIO", "LOPEZ", "PEREZ"), "LOPA");
        assert_eq!(four("J. ANTONIO", "LOPEZ", "PEREZ"), "LOPA");
        assert_eq!(four("J ANTONIO", "LOPEZ", "PEREZ"), "LOPA");
        assert_eq!(four("MA ELENA", "LOPEZ", "PEREZ"), "LOPE");
        assert_eq!(four("M. ELENA", "LOPEZ", "PEREZ"), "LOPE");
        // A bare M is no abbreviation the Instructivo lists.
        assert_eq!(four("M ELENA", "LOPEZ", "PEREZ"), "LOPM");
        assert_eq!(four("MARÍA", "LOPEZ", "PEREZ"), "LOPM");
    }

    #[test]
    fn particles_are_skipped_in_every_field() {
        assert_eq!(four("JUAN", "DE LA CRUZ", "DEL VALLE"), "CUVJ");
        assert_eq!(four("JUAN", "VAN DER BERG", "Y ORTIZ"), "BEOJ");
        assert_eq!(four("JUAN", "MAC DONALD", "VON HAGEN"), "DOHJ");
        // A field of particles alone falls back to its last word.
        assert_eq!(four("Y", "DE LA", "LOPEZ"), "LALY");
    }

    #[test]
    fn missing_second_surname_is_x() {
        assert_eq!(four("JUAN", "LOPEZ", ""), "LOXJ");
        assert_eq!(consonants("JUAN", "LOPEZ", ""), "PXN");
    }

    #[test]
    fn no_internal_consonant_is_x() {
        assert_eq!(consonants("IA", "OLEA", "AU"), "LXX");
    }

    #[test]
    fn digits_and_specials_are_x() {
        assert_eq!(four("ANA", "L3ON", "O'HARA"), "LXOA");
        assert_eq!(consonants("ANA", "L3ON", "O'HARA"), "XXN");
        assert_eq!(four("ANA", "-PEREZ", "-"), "XEXA");
    }

    #[test]
    fn differentiator_depends_on_the_century() {
        let mut i = input("JUAN", "LOPEZ", "PEREZ");
        i.birth_date = Date::new(1999, 12, 31).unwrap();
        assert_eq!(&calculate(&i).unwrap()[16..17], "0");
        i.birth_date = Date::new(2000, 1, 1).unwrap();
        assert_eq!(&calculate(&i).unwrap()[16..17], "A");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            calculate(&input(" ", "LOPEZ", "")),
            Err(CalcError::EmptyNames)
        );
        assert_eq!(
            calculate(&input("ANA", "", "")),
            Err(CalcError::EmptyFirstSurname)
        );
        let mut i = input("ANA", "LOPEZ", "");
        i.state = "ZZ".into();
        assert_eq!(calculate(&i), Err(CalcError::UnknownState("ZZ".into())));
        i.state = "NE".into();
        assert!(calculate(&i).is_ok());
        i.birth_date = Date::new(1899, 1, 1).unwrap();
        assert_eq!(calculate(&i), Err(CalcError::YearOutOfRange(1899)));
    }

    #[test]
    fn every_calculated_curp_passes_the_strict_check() {
        let i = input("MARÍA JOSÉ", "ÑÚÑEZ", "D'ALESSIO");
        let curp = calculate(&i).unwrap();
        assert!(super::super::check_strict(&curp).is_ok(), "{curp}");
    }
}

//! The RFC of a persona física by the SAT rules: four letters from the
//! name, the birth date as YYMMDD, a two-character homoclave computed over
//! the full name, and a check digit.

use crate::time::Date;

use super::calc::{fold_str, PARTICLES, SKIPPED_FIRST_NAMES};

/// The SAT's inconvenient words (Anexo IV of the RFC instructivo): when the
/// four letters spell one of them, the last letter becomes X.
const SAT_INCONVENIENT_WORDS: [&str; 41] = [
    "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COJA", "COJE", "COJI",
    "COJO", "CULO", "FETO", "GUEY", "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KOGE", "KOJO",
    "KULO", "MAME", "MAMO", "MEAR", "MEAS", "MEON", "MION", "MOCO", "MULA", "PEDA", "PEDO", "PENE",
    "PUTA", "PUTO", "QULO", "RATA", "RUIN",
];

/// The homoclave's alphabet: 34 characters, no 0 and no O.
const HOMOCLAVE: &[u8; 34] = b"123456789ABCDEFGHIJKLMNPQRSTUVWXYZ";

/// Words of a field as the SAT reads them: upper case, accents stripped
/// (Ñ kept), characters other than letters, digits and & dropped.
fn clean_words(field: &str) -> Vec<String> {
    field
        .split_whitespace()
        .map(|w| {
            fold_str(w)
                .chars()
                .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == 'Ñ' || *c == '&')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The word of a field that gives letters: particles skipped (unless
/// nothing else is left).
fn significant(words: Vec<String>) -> Vec<String> {
    let kept: Vec<String> = words
        .iter()
        .filter(|w| !PARTICLES.contains(&w.as_str()))
        .cloned()
        .collect();
    if kept.is_empty() {
        words
    } else {
        kept
    }
}

fn first_name_word(names: &str) -> String {
    // MARIA and JOSE (and their abbreviations) are skipped before another
    // name, as in the CURP; the dot of MA. is compared before it is dropped.
    let raw: Vec<String> = names
        .split_whitespace()
        .map(fold_str)
        .filter(|w| !PARTICLES.contains(&w.as_str()))
        .collect();
    let skip = raw.len() > 1 && SKIPPED_FIRST_NAMES.contains(&raw[0].as_str());
    let cleaned = significant(clean_words(&raw.join(" ")));
    let index = usize::from(skip && cleaned.len() > 1);
    cleaned.get(index).cloned().unwrap_or_default()
}

/// The four letters of the RFC.
pub fn rfc_letters(first_surname: &str, second_surname: &str, names: &str) -> String {
    let p: Vec<char> = significant(clean_words(first_surname))
        .first()
        .map(|w| w.chars().collect())
        .unwrap_or_default();
    let m: Vec<char> = significant(clean_words(second_surname))
        .first()
        .map(|w| w.chars().collect())
        .unwrap_or_default();
    let n: Vec<char> = first_name_word(names).chars().collect();
    let at = |w: &[char], i: usize| w.get(i).copied().unwrap_or('X');
    let vowel = p
        .iter()
        .skip(1)
        .copied()
        .find(|c| matches!(c, 'A' | 'E' | 'I' | 'O' | 'U'))
        .unwrap_or('X');
    let single = match (p.is_empty(), m.is_empty()) {
        (false, true) => Some(&p),
        (true, false) => Some(&m),
        _ => None,
    };
    let letters: [char; 4] = if let Some(s) = single {
        // A single surname, paternal or maternal (SAT's rule 7): its first
        // two letters and the name's (Juan Martínez → MAJU).
        [at(s, 0), at(s, 1), at(&n, 0), at(&n, 1)]
    } else if p.len() <= 2 {
        // A first surname of one or two letters: initials of both surnames
        // and two letters of the name.
        [at(&p, 0), at(&m, 0), at(&n, 0), at(&n, 1)]
    } else {
        [at(&p, 0), vowel, at(&m, 0), at(&n, 0)]
    };
    let mut out: String = letters.iter().collect();
    if SAT_INCONVENIENT_WORDS.contains(&out.as_str()) {
        out.pop();
        out.push('X');
    }
    out
}

fn homoclave_value(c: char) -> Option<u32> {
    Some(match c {
        ' ' => 0,
        '0'..='9' => c.to_digit(10)?,
        '&' => 10,
        'A'..='I' => 11 + (c as u32 - 'A' as u32),
        'J'..='R' => 21 + (c as u32 - 'J' as u32),
        'S'..='Z' => 32 + (c as u32 - 'S' as u32),
        'Ñ' => 40,
        _ => return None,
    })
}

/// The two-character homoclave over the full name, written
/// "FIRST_SURNAME SECOND_SURNAME NAMES" as the SAT does.
pub fn rfc_homoclave(first_surname: &str, second_surname: &str, names: &str) -> String {
    homoclave_at(homoclave_index(first_surname, second_surname, names))
}

/// The homoclave written from its index, two places in base 34.
fn homoclave_at(index: usize) -> String {
    let (q, r) = (index / 34 % 34, index % 34);
    [HOMOCLAVE[q] as char, HOMOCLAVE[r] as char]
        .iter()
        .collect()
}

/// The computed homoclave's index (0–999): the last three digits of SAT's
/// sum over the full name.
fn homoclave_index(first_surname: &str, second_surname: &str, names: &str) -> usize {
    let full = [first_surname, second_surname, names]
        .iter()
        .flat_map(|f| clean_words(f))
        .collect::<Vec<_>>()
        .join(" ");
    let mut digits = vec![0u32];
    for c in full.chars() {
        if let Some(v) = homoclave_value(c) {
            digits.push(v / 10);
            digits.push(v % 10);
        }
    }
    let sum: u64 = digits
        .windows(2)
        .map(|w| u64::from(w[0] * 10 + w[1]) * u64::from(w[1]))
        .sum();
    (sum % 1000) as usize
}

fn check_value(c: char) -> Option<u32> {
    Some(match c {
        '0'..='9' => c.to_digit(10)?,
        'A'..='N' => 10 + (c as u32 - 'A' as u32),
        '&' => 24,
        'O'..='Z' => 25 + (c as u32 - 'O' as u32),
        ' ' => 37,
        'Ñ' => 38,
        _ => return None,
    })
}

/// The SAT check digit of the first 12 characters of an RFC (11 for a
/// persona moral, which the SAT pads with a leading space): values weighted
/// 13 down to 2, `11 - sum % 11`, 10 written as A and 11 as 0. `None` when a
/// character has no value or the length is wrong.
pub fn rfc_check_digit(first12: &str) -> Option<char> {
    let mut chars: Vec<char> = first12.chars().collect();
    if chars.len() == 11 {
        chars.insert(0, ' ');
    }
    if chars.len() != 12 {
        return None;
    }
    let mut sum = 0;
    for (i, &c) in chars.iter().enumerate() {
        sum += check_value(c)? * (13 - i as u32);
    }
    Some(match 11 - sum % 11 {
        11 => '0',
        10 => 'A',
        d => char::from_digit(d, 10)?,
    })
}

/// Whether a persona física RFC is well formed: four letters, a real date,
/// a homoclave and the right check digit.
pub fn rfc_is_valid(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() != 13 {
        return false;
    }
    let letters_ok = chars[..4]
        .iter()
        .all(|c| c.is_ascii_uppercase() || *c == 'Ñ' || *c == '&');
    let digits: Option<Vec<u32>> = chars[4..10].iter().map(|c| c.to_digit(10)).collect();
    let date_ok = digits.is_some_and(|d| {
        // Any century will do: YYMMDD must name a day in one of them, and
        // 2000 makes 29 February of YY=00 possible.
        let yy = (d[0] * 10 + d[1]) as i32;
        Date::new(
            2000 + yy,
            (d[2] * 10 + d[3]) as u8,
            (d[4] * 10 + d[5]) as u8,
        )
        .is_some()
    });
    let homoclave_ok = chars[10..12].iter().all(|c| c.is_ascii_alphanumeric());
    let first12: String = chars[..12].iter().collect();
    letters_ok && date_ok && homoclave_ok && rfc_check_digit(&first12) == Some(chars[12])
}

/// The RFC of a persona física.
pub fn rfc(first_surname: &str, second_surname: &str, names: &str, birth: Date) -> String {
    rfc_of_holder(first_surname, second_surname, names, birth, 0)
}

/// The RFC of the `nth` holder (0 the first) of a CURP's first sixteen
/// places. The SAT tells homonyms apart by the homoclave its register
/// assigns, which no calculation gives. The computed one takes the first
/// 1,000 of the 1,156 two-character homoclaves; a later holder gets one of
/// the rest by its place, so that it shares its RFC neither with any first
/// holder nor with another holder of its CURP, whatever their names.
pub fn rfc_of_holder(
    first_surname: &str,
    second_surname: &str,
    names: &str,
    birth: Date,
    nth: usize,
) -> String {
    let mut out = rfc_letters(first_surname, second_surname, names);
    out.push_str(&format!(
        "{:02}{:02}{:02}",
        birth.year.rem_euclid(100),
        birth.month,
        birth.day
    ));
    let index = match nth {
        0 => homoclave_index(first_surname, second_surname, names),
        n => 1000 + (n - 1) % 156,
    };
    out.push_str(&homoclave_at(index));
    let digit = rfc_check_digit(&out).unwrap_or('0');
    out.push(digit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn homonyms_get_homoclaves_of_their_own() {
        let birth = date(1930, 8, 25);
        let first = rfc("TORRES", "FERNANDEZ", "JACINTO", birth);
        let holders: Vec<String> = (0..36)
            .map(|nth| rfc_of_holder("TORRES", "FERNANDEZ", "JACINTO", birth, nth))
            .collect();
        assert_eq!(holders[0], first);
        for (i, r) in holders.iter().enumerate() {
            assert!(rfc_is_valid(r), "{r}");
            assert_eq!(&r[..10], &first[..10]);
            assert!(!holders[..i].contains(r), "{r} given twice");
        }
    }

    #[test]
    fn sat_example_emma_gomez_diaz() {
        assert_eq!(rfc_homoclave("GÓMEZ", "DÍAZ", "EMMA"), "GR");
        assert_eq!(rfc_check_digit("GODE561231GR"), Some('8'));
        assert_eq!(
            rfc("GÓMEZ", "DÍAZ", "EMMA", date(1956, 12, 31)),
            "GODE561231GR8"
        );
        assert!(rfc_is_valid("GODE561231GR8"));
        assert!(!rfc_is_valid("GODE561231GR9"));
        assert!(!rfc_is_valid("GODE561331GR8"));
    }

    #[test]
    fn letters_follow_the_sat_rules() {
        // The common case.
        assert_eq!(rfc_letters("LOPEZ", "OBRADOR", "ANDRES MANUEL"), "LOOA");
        // MARIA and JOSE are skipped before another name.
        assert_eq!(rfc_letters("PEREZ", "HERNANDEZ", "MARIA LUISA"), "PEHL");
        assert_eq!(rfc_letters("PEREZ", "HERNANDEZ", "MA. LUISA"), "PEHL");
        assert_eq!(rfc_letters("PEREZ", "HERNANDEZ", "JOSE"), "PEHJ");
        // Their abbreviations are the CURP's (M. and J. among them).
        assert_eq!(rfc_letters("LOPEZ", "RUIZ", "J. ANTONIO"), "LORA");
        assert_eq!(rfc_letters("TORRES", "LARA", "M. GUADALUPE"), "TOLG");
        // Particles are skipped, the CURP's list (DA and DER among them).
        assert_eq!(rfc_letters("DE LA CRUZ", "DEL VALLE", "JUAN"), "CUVJ");
        assert_eq!(rfc_letters("DA SILVA", "RUIZ", "ANA"), "SIRA");
        assert_eq!(rfc_letters("VAN DER BERG", "LOPEZ", "PEDRO"), "BELP");
        // No second surname: two letters of the name.
        assert_eq!(rfc_letters("LOPEZ", "", "JUAN"), "LOJU");
        // A first surname of one or two letters; of a compound one, its
        // first word.
        assert_eq!(rfc_letters("KU", "PECH", "ANA"), "KPAN");
        assert_eq!(rfc_letters("KU PECH", "CHAN", "ANA"), "KCAN");
        // SAT inconvenient words lose their last letter, not the second.
        assert_eq!(rfc_letters("PEÑA", "NIETO", "ENRIQUE"), "PENX");
        assert_eq!(rfc_letters("PEDRERO", "DOMINGUEZ", "OFELIA"), "PEDX");
    }

    #[test]
    fn check_digit_edge_values() {
        assert_eq!(
            rfc_check_digit("GODE561231G"),
            rfc_check_digit(" GODE561231G")
        );
        assert_eq!(rfc_check_digit("GODE561231"), None);
        assert_eq!(rfc_check_digit("GODE561231G*"), None);
        // Ñ and & have their own values.
        assert!(rfc_check_digit("ÑU&E561231GR").is_some());
    }

    #[test]
    fn peña_nieto_rfc_is_valid() {
        let r = rfc("PEÑA", "NIETO", "ENRIQUE", date(1966, 7, 20));
        assert!(r.starts_with("PENX660720"), "{r}");
        assert!(rfc_is_valid(&r), "{r}");
    }
}

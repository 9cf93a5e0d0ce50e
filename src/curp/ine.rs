//! The INE voter credential (credencial para votar): the 18-character
//! elector code, the 9-digit CIC, the 13-digit OCR and the years.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::calc::{initial, internal_consonant, surname_word};
use super::person::Text;
use super::{Sex, RENAPO_STATES};
use crate::time::Date;

/// A person's INE credential data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ine {
    pub elector_code: Text,
    pub cic: Text,
    pub ocr: Text,
    /// Which credential this is: "00" the first, each replacement adds one.
    pub issue_number: Text,
    pub issue_year: u16,
    pub registration_year: u16,
    pub expiry_year: u16,
}

/// Years a credential is valid from its issue.
pub const VALID_YEARS: u16 = 10;

/// The voter register was rebuilt from nothing in 1990–91, when the IFE
/// was founded: no credential states an earlier registration year.
pub const FIRST_REGISTRATION_YEAR: i32 = 1991;

/// The INE's two-digit code for a birth abroad in the elector code.
pub const BORN_ABROAD_INE: &str = "87";

/// The two letters a field gives the elector code: its initial and first
/// internal consonant (Ñ as X), XX when the field is missing.
fn two_letters(field: &str) -> String {
    match surname_word(field) {
        Some(w) => [initial(&w), internal_consonant(&w)].iter().collect(),
        None => "XX".into(),
    }
}

/// The elector code: two letters of each surname and of the first name,
/// YYMMDD, the INE code of the birth state, the sex and three digits.
pub fn elector_code(
    first_surname: &str,
    second_surname: &str,
    names: &str,
    birth: Date,
    state_ine: &str,
    sex: Sex,
    homonymy: u16,
) -> String {
    // The elector code reads the name as written: unlike the CURP, it does
    // not skip MARIA or JOSE, so only particles are skipped.
    format!(
        "{}{}{}{:02}{:02}{:02}{state_ine}{sex}{:03}",
        two_letters(first_surname),
        two_letters(second_surname),
        two_letters(names),
        birth.year.rem_euclid(100),
        birth.month,
        birth.day,
        homonymy % 1000
    )
}

/// A credential's form as IneNominalList reads it in a request, and its
/// words for the error: an elector code of 18 letters and digits (type
/// C's id), a CIC of 9 digits (the others'), an OCR of 13 digits (or 9, an
/// older credential's).
#[derive(Clone, Copy)]
pub struct Form {
    pub fits: fn(&str) -> bool,
    /// What fits, in the words of an error: "is not 9 digits".
    pub describes: &'static str,
}
pub const ELECTOR_CODE_FORM: Form = Form {
    fits: |s| s.len() == 18 && s.bytes().all(|b| b.is_ascii_alphanumeric()),
    describes: "18 letters and digits",
};
pub const CIC_FORM: Form = Form {
    fits: |s| digits_of(s, &[9]),
    describes: "9 digits",
};
pub const OCR_FORM: Form = Form {
    fits: |s| digits_of(s, &[9, 13]),
    describes: "13 digits (or 9)",
};
pub const ISSUE_NUMBER_FORM: Form = Form {
    fits: |s| digits_of(s, &[2]),
    describes: "two digits",
};

/// Whether `s` is digits alone, as many as one of `lengths`.
pub fn digits_of(s: &str, lengths: &[usize]) -> bool {
    lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// The identity an INE credential is generated for.
pub(crate) struct Holder<'a> {
    pub first_surname: &'a str,
    pub second_surname: &'a str,
    pub names: &'a str,
    pub birth: Date,
    /// INE code of the birth state; `87` for born abroad.
    pub state_ine: &'a str,
    pub sex: Sex,
}

fn year(y: i32) -> u16 {
    u16::try_from(y.clamp(0, i32::from(u16::MAX))).unwrap_or(0)
}

/// Credential data consistent with the holder: registered with the INE at
/// 18 or later, the current credential issued in the last ten years when
/// possible, valid for ten years. Someone who is not yet 18 in
/// `latest_year` gets the credential of their 18th birthday year. The CIC
/// and OCR are `numbers` (see [`numbers_of`]), drawn when there are none.
pub(crate) fn generate(
    rng: &mut impl Rng,
    h: &Holder<'_>,
    latest_year: i32,
    numbers: Option<(String, String)>,
) -> Ine {
    let (registration, issue) = years(rng, h.birth.year, latest_year, None);
    let issue_number = if issue == registration {
        0
    } else {
        *[1, 1, 1, 2, 2, 3, 4, 5]
            .get(rng.random_range(0..8))
            .unwrap_or(&1)
    };
    let homonymy = rng.random_range(0..=999);
    let (cic, ocr) = numbers.unwrap_or_else(|| {
        let cic = rng.random_range(100_000_000..=299_999_999u32);
        let section = rng.random_range(1..=5999u32);
        let rest = rng.random_range(0..=999_999_999u32);
        (cic.to_string(), format!("{section:04}{rest:09}"))
    });
    Ine {
        elector_code: elector_code(
            h.first_surname,
            h.second_surname,
            h.names,
            h.birth,
            h.state_ine,
            h.sex,
            homonymy,
        )
        .into(),
        cic: cic.into(),
        ocr: ocr.into(),
        issue_number: format!("{issue_number:02}").into(),
        issue_year: year(issue),
        registration_year: year(registration),
        expiry_year: year(issue + i32::from(VALID_YEARS)),
    }
}

/// The registration and issue years of a credential whose holder was born
/// in `birth_year`: registered at 18 or later, and not before
/// [`FIRST_REGISTRATION_YEAR`] (in `latest_year` at the
/// latest, unless only then of age), the credential issued in the last ten
/// years when possible. `first` is what the issue number says when it is
/// known: the first credential ("00") is issued the year of registration,
/// a replacement after it when there is a year for it.
pub(crate) fn years(
    rng: &mut impl Rng,
    birth_year: i32,
    latest_year: i32,
    first: Option<bool>,
) -> (i32, i32) {
    // Of age before the register began: registered when it began (on a
    // clock set before then, in `latest_year`).
    let adult = (birth_year + 18).max(FIRST_REGISTRATION_YEAR.min(latest_year));
    match first {
        // Unknown: registered at 18 to 30, the credential issued in the last
        // ten years when possible.
        None => {
            let registration = if adult >= latest_year {
                adult
            } else {
                adult + rng.random_range(0..=(latest_year - adult).min(12))
            };
            (
                registration,
                registration.max(latest_year - rng.random_range(0..=9)),
            )
        }
        // Of age only in the last year: registered and issued then.
        Some(_) if adult >= latest_year => (adult, adult),
        // A first credential still in force: registered (and issued) in
        // the last ten years, at 18 or later.
        Some(true) => {
            let registration = rng.random_range(adult.max(latest_year - 9)..=latest_year);
            (registration, registration)
        }
        // A replacement: registered before the last year, issued after.
        Some(false) => {
            let registration = adult + rng.random_range(0..=(latest_year - 1 - adult).min(12));
            let issue = rng.random_range((registration + 1).max(latest_year - 9)..=latest_year);
            (registration, issue)
        }
    }
}

/// The holder's birth date an elector code states (its YYMMDD, in the
/// century that makes the holder of age by `latest_year`, or by the year
/// before for a `replacement`, which is issued after the registration; an
/// impossible month or day clamped to the nearest real one, as a CURP's
/// is), if its six places are digits.
pub fn elector_birth(code: &str, latest_year: i32, replacement: bool) -> Option<Date> {
    let digits = code.get(6..12)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |i: usize| digits[i..i + 2].parse::<u8>().ok();
    let (yy, month, day) = (i32::from(n(0)?), n(2)?, n(4)?);
    let of_age_by = latest_year - i32::from(replacement);
    let year = if 2000 + yy + 18 <= of_age_by {
        2000 + yy
    } else {
        1900 + yy
    };
    let month = month.clamp(1, 12);
    Date::new(
        year,
        month,
        day.clamp(1, crate::time::days_in_month(year, month)),
    )
}

// ---- the CURP written in the credential's numbers -------------------------

/// OCRs the sandbox writes: a section from 0001 to 5999, then nine digits.
const OCR_SPACE: u128 = 5_999 * 1_000_000_000;
/// CICs the sandbox writes: from 100000000, 200 million of them.
const CIC_FIRST: u128 = 100_000_000;
const CIC_SPACE: u128 = 200_000_000;
/// The slopes of the two maps: prime to their spaces (a unit test says
/// so), so that each map is one to one.
const OCR_SLOPE: u128 = 2_718_281_828_459;
const CIC_SLOPE: u128 = 141_421_357;
/// A CURP's letters (positions 1–4 and 14–16) and differentiator as one
/// number: below 26⁷ × 36.
const LETTER_CODES: u128 = 26u128.pow(7) * 36;

/// The credential numbers (CIC, OCR) of the holder of `curp`, with the
/// CURP written in them: IneNominalList is asked with a credential (an
/// elector code or a CIC, and the OCR), never a CURP, and finds the person
/// every other provider states for that CURP by reading it back
/// ([`curp_in`]). The OCR carries the CURP's letters and differentiator,
/// the CIC its birth date, sex and state (which an elector code states
/// too), each through a one-to-one affine map offset by `seed`, so that
/// they read as numbers drawn at random. `None` for a CURP outside
/// RENAPO's alphabet (the documents' placeholders).
pub fn numbers_of(curp: &str, seed: u64) -> Option<(String, String)> {
    let c = curp.as_bytes();
    let identity = identity_code(c.get(4..10)?, *c.get(10)?, c.get(11..13)?)?;
    let letters = letter_code(c)?;
    let (ocr_offset, cic_offset) = offsets(seed);
    let ocr = (letters * OCR_SLOPE + ocr_offset) % OCR_SPACE;
    let cic = CIC_FIRST + (identity * CIC_SLOPE + cic_offset) % CIC_SPACE;
    let (section, rest) = (ocr / 1_000_000_000 + 1, ocr % 1_000_000_000);
    Some((cic.to_string(), format!("{section:04}{rest:09}")))
}

/// The CURP [`numbers_of`] wrote in a credential: `id` an elector code
/// (`elector`, type C: its birth date, state and sex) or a CIC, with the
/// credential's OCR; `state_of` turns the elector code's INE state code
/// into RENAPO's. Only a candidate: numbers made up elsewhere read as some
/// CURP too, so the caller compares the holder's own credential.
pub fn curp_in(
    elector: bool,
    id: &str,
    ocr: &str,
    seed: u64,
    state_of: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let (ocr_offset, cic_offset) = offsets(seed);
    let ocr = digits(ocr, 13)?;
    let section = ocr / 1_000_000_000;
    if !(1..=5_999).contains(&section) {
        return None;
    }
    let ocr = (section - 1) * 1_000_000_000 + ocr % 1_000_000_000;
    let letters = unmap(ocr, OCR_SLOPE, ocr_offset, OCR_SPACE);
    if letters >= LETTER_CODES {
        return None;
    }
    let (date, sex, state) = if elector {
        let code = id.to_ascii_uppercase();
        let state = state_of(code.get(12..14)?)?;
        (
            code.get(6..12)?.to_string(),
            *code.as_bytes().get(14)?,
            state,
        )
    } else {
        let cic = digits(id, 9)?.checked_sub(CIC_FIRST)?;
        if cic >= CIC_SPACE {
            return None;
        }
        let identity = unmap(cic, CIC_SLOPE, cic_offset, CIC_SPACE);
        let (rest, state) = (identity / 33, identity % 33);
        let (date, sex) = (rest / 3, rest % 3);
        if date >= 1_000_000 {
            return None;
        }
        let state = RENAPO_STATES[usize::try_from(state).ok()?].to_string();
        (
            format!("{date:06}"),
            b"HMX"[usize::try_from(sex).ok()?],
            state,
        )
    };
    // Positions 1–4, 14–16 and 17, last first.
    let mut n = letters;
    let differentiator = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[usize::try_from(n % 36).ok()?];
    n /= 36;
    let mut letter = [0u8; 7];
    for l in letter.iter_mut().rev() {
        *l = b'A' + u8::try_from(n % 26).ok()?;
        n /= 26;
    }
    let mut curp = String::with_capacity(18);
    curp.extend(letter[..4].iter().map(|&b| char::from(b)));
    curp.push_str(&date);
    curp.push(char::from(sex));
    curp.push_str(&state);
    curp.extend(letter[4..].iter().map(|&b| char::from(b)));
    curp.push(char::from(differentiator));
    let check = super::check_digit(&curp)?;
    curp.push(check);
    Some(curp)
}

/// Birth date (six digits), sex and state as one number below 10⁶ × 3 × 33.
fn identity_code(date: &[u8], sex: u8, state: &[u8]) -> Option<u128> {
    let date = digits(std::str::from_utf8(date).ok()?, 6)?;
    let sex = b"HMX".iter().position(|&b| b == sex)?;
    let state = RENAPO_STATES.iter().position(|s| s.as_bytes() == state)?;
    Some((date * 3 + sex as u128) * 33 + state as u128)
}

/// Positions 1–4 and 14–16 (A–Z) and the differentiator (0–9, A–Z) of a
/// CURP as one number below [`LETTER_CODES`].
fn letter_code(c: &[u8]) -> Option<u128> {
    let mut n = 0u128;
    for &b in c.get(0..4)?.iter().chain(c.get(13..16)?) {
        if !b.is_ascii_uppercase() {
            return None;
        }
        n = n * 26 + u128::from(b - b'A');
    }
    let d = *c.get(16)?;
    let d = match d {
        b'0'..=b'9' => d - b'0',
        b'A'..=b'Z' => d - b'A' + 10,
        _ => return None,
    };
    Some(n * 36 + u128::from(d))
}

/// `s` as a number when it is exactly `len` ASCII digits.
fn digits(s: &str, len: usize) -> Option<u128> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The two maps' offsets for `seed` (SplitMix64's finalizer).
fn offsets(seed: u64) -> (u128, u128) {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        u128::from(z ^ (z >> 31))
    };
    let a = mix(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
    let b = mix(a as u64);
    (a % OCR_SPACE, b % CIC_SPACE)
}

/// The `x` for which `(x × slope + offset) mod space` is `y`.
fn unmap(y: u128, slope: u128, offset: u128, space: u128) -> u128 {
    ((y + space - offset) % space * inverse(slope, space)) % space
}

/// The inverse of `a` modulo `m` (`a` prime to `m`), by Euclid.
fn inverse(a: u128, m: u128) -> u128 {
    let (mut r0, mut r1) = (
        i128::try_from(m).unwrap_or(0),
        i128::try_from(a % m).unwrap_or(0),
    );
    let (mut t0, mut t1) = (0i128, 1i128);
    while r1 != 0 {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (t0, t1) = (t1, t0 - q * t1);
    }
    u128::try_from(t0.rem_euclid(i128::try_from(m).unwrap_or(1))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn elector_code_shape() {
        let d = Date::new(1972, 10, 2).unwrap();
        let c = elector_code("TOSCANO", "VARGAS", "ELENA", d, "09", Sex::M, 100);
        assert_eq!(c, "TSVREL72100209M100");
        let c = elector_code("PEÑA", "", "MARIA DE LOS ANGELES", d, "87", Sex::M, 7);
        assert_eq!(c, "PXXXMR72100287M007");
    }

    /// README, Decisions: registration "not before 1991 (the voter register
    /// was rebuilt from nothing in 1990–91)": someone of age long before
    /// registers from 1991 on, and 1991 itself is drawn.
    #[test]
    fn the_register_begins_in_1991() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let drawn: Vec<i32> = (0..500)
            .map(|_| years(&mut rng, 1930, 2025, None).0)
            .collect();
        assert_eq!(drawn.iter().min(), Some(&1991));
        for first in [true, false] {
            let (reg, _) = years(&mut rng, 1930, 1995, Some(first));
            assert!(reg >= 1991, "{first}: {reg}");
        }
    }

    #[test]
    fn years_are_consistent() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for y in [1930, 1966, 1990, 2006, 2010, 2020] {
            let h = Holder {
                first_surname: "LOPEZ",
                second_surname: "PEREZ",
                names: "ANA",
                birth: Date::new(y, 3, 4).unwrap(),
                state_ine: "15",
                sex: Sex::M,
            };
            for _ in 0..50 {
                let i = generate(&mut rng, &h, 2025, None);
                assert_eq!(i.elector_code.chars().count(), 18);
                assert_eq!(i.cic.len(), 9);
                assert_eq!(i.ocr.len(), 13);
                assert!(i.registration_year as i32 >= y + 18);
                assert!(i.registration_year as i32 >= FIRST_REGISTRATION_YEAR);
                assert!(i.issue_year >= i.registration_year);
                assert_eq!(i.expiry_year, i.issue_year + 10);
                assert_eq!(i.issue_number == "00", i.issue_year == i.registration_year);
                assert!(i.issue_number.as_str() <= "05");
                // Nothing after the reference year, but for a holder only
                // then of age.
                assert!(i32::from(i.registration_year) <= 2025.max(y + 18));
                assert!(i32::from(i.issue_year) <= 2025.max(y + 18));
            }
            // Registered at 18 to 30 when the years allow it: not all at 18.
            if y + 30 <= 2025 {
                let late = (0..50)
                    .map(|_| years(&mut rng, y, 2025, None).0)
                    .filter(|&reg| reg > y + 19)
                    .count();
                assert!(late > 10, "{y}: {late} of 50 registered after 19");
            }
            // On a clock set before the register began, in the clock's year.
            assert_eq!(years(&mut rng, 1930, 1985, Some(true)), (1985, 1985));
            for first in [true, false] {
                for _ in 0..50 {
                    let (reg, issue) = years(&mut rng, y, 2025, Some(first));
                    assert!(reg >= y + 18 && issue >= reg && issue <= 2025.max(reg));
                    assert!(reg >= FIRST_REGISTRATION_YEAR, "{y} {first}: {reg}");
                    // A replacement comes after its registration whenever
                    // the holder was of age before the last year.
                    let later = issue > reg;
                    assert_eq!(later, !first && y + 18 < 2025, "{y} {first}: {reg} {issue}");
                    // Issued in the last ten years: still in force.
                    if y + 18 <= 2025 {
                        assert!(issue >= 2016, "{y} {first}: {issue}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_credential_numbers_give_back_their_curp() {
        fn gcd(a: u128, b: u128) -> u128 {
            if b == 0 {
                a
            } else {
                gcd(b, a % b)
            }
        }
        assert_eq!(gcd(OCR_SLOPE, OCR_SPACE), 1);
        assert_eq!(gcd(CIC_SLOPE, CIC_SPACE), 1);
        let state_of = |ine: &str| match ine {
            "15" => Some("MC".to_string()),
            "87" => Some("NE".to_string()),
            _ => None,
        };
        for first17 in [
            "PXNE660720HMCXTN0",
            "ZZZZ991231XNEZZZZ",
            "AAAA000101MMCAAAA",
            "WOXS030303MNENXFA",
        ] {
            let curp = &format!("{first17}{}", crate::curp::check_digit(first17).unwrap());
            for seed in [0, 1, u64::MAX] {
                let (cic, ocr) = numbers_of(curp, seed).unwrap();
                assert_eq!(cic.len(), 9, "{cic}");
                assert!(("100000000".."300000000").contains(&cic.as_str()), "{cic}");
                assert_eq!(ocr.len(), 13, "{ocr}");
                assert!(("0001".."6000").contains(&&ocr[..4]), "{ocr}");
                assert_eq!(
                    curp_in(false, &cic, &ocr, seed, state_of).as_ref(),
                    Some(curp)
                );
                // An elector code states the birth date, the state and the sex.
                let state = if &curp[11..13] == "NE" { "87" } else { "15" };
                let code = format!("XXXXXX{}{state}{}123", &curp[4..10], &curp[10..11]);
                assert_eq!(
                    curp_in(true, &code, &ocr, seed, state_of).as_ref(),
                    Some(curp)
                );
                // Another seed writes other numbers.
                assert_ne!(numbers_of(curp, seed ^ 1).unwrap(), (cic, ocr));
            }
        }
        // Numbers the sandbox does not write read as no CURP, or as one
        // whose holder's credential the caller then compares. The CICs
        // beside an OCR the sandbox writes, so that the CIC is what
        // refuses: below the first, the first past the last, one far past
        // it, and one whose identity is past the last birth date.
        let (_, written) = numbers_of("PXNE660720HMCXTN06", 0).unwrap();
        for cic in ["099999999", "300000000", "999999999", "100000002"] {
            assert_eq!(curp_in(false, cic, &written, 0, state_of), None, "{cic}");
        }
        for (cic, ocr) in [
            ("123456789", "6000000000000"),
            ("123456789", "0000123456789"),
            ("123456789", "123456789"),
            ("12345678x", "0001000000000"),
        ] {
            assert_eq!(curp_in(false, cic, ocr, 0, state_of), None, "{cic} {ocr}");
        }
        // The placeholders outside RENAPO's alphabet get no written numbers.
        assert_eq!(numbers_of("XAXA010101XXXXXX01", 0), None);
        assert_eq!(numbers_of("PXNE66072", 0), None);
    }

    #[test]
    fn an_elector_code_states_a_birth_date() {
        let d = |y, m, d| Date::new(y, m, d);
        for (code, replacement, born) in [
            ("TSVREL72100209M100", false, d(1972, 10, 2)),
            ("LOPZAN99123109M301", false, d(1999, 12, 31)),
            // Of age by 2025 only if born in 2007 or before.
            ("LOPZAN05010109M301", false, d(2005, 1, 1)),
            ("LOPZAN08010109M301", false, d(1908, 1, 1)),
            // Clamped, as a CURP's impossible date is.
            ("LOPZAN99133109M301", false, d(1999, 12, 31)),
            ("LOPZAN99023009M301", false, d(1999, 2, 28)),
            ("LOPZANABCDEF09M301", false, None),
            ("SHORT", false, None),
            // A replacement is issued after the registration: of age by 2024.
            ("LOPZAN07010109M301", false, d(2007, 1, 1)),
            ("LOPZAN07010109M301", true, d(1907, 1, 1)),
            ("LOPZAN06010109M301", true, d(2006, 1, 1)),
        ] {
            assert_eq!(elector_birth(code, 2025, replacement), born, "{code}");
        }
    }
}

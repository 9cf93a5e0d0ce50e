//! The INE voter credential (credencial para votar): the 18-character
//! elector code, the 9-digit CIC, the 13-digit OCR and the years.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::calc::{initial, internal_consonant, surname_word};
use super::person::Text;
use super::Sex;
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
/// `latest_year` gets the credential of their 18th birthday year.
pub(crate) fn generate(rng: &mut impl Rng, h: &Holder<'_>, latest_year: i32) -> Ine {
    let (registration, issue) = years(rng, h.birth.year, latest_year, None);
    let issue_number = if issue == registration {
        0
    } else {
        *[1, 1, 1, 2, 2, 3, 4, 5]
            .get(rng.random_range(0..8))
            .unwrap_or(&1)
    };
    let homonymy = rng.random_range(0..=999);
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
        cic: rng
            .random_range(100_000_000..=299_999_999u32)
            .to_string()
            .into(),
        ocr: format!(
            "{:04}{:09}",
            rng.random_range(1..=5999u32),
            rng.random_range(0..=999_999_999u32)
        )
        .into(),
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
                let i = generate(&mut rng, &h, 2025);
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

//! The IMSS social security number (NSS): 11 digits, namely the
//! subdelegation (2), the year of registration with IMSS (2), the birth year
//! (2), a sequence number (4) and a Luhn check digit over the first 10.

use rand::Rng;

/// The Luhn check digit of the first 10 digits, as IMSS computes it: every
/// second digit (from the second) doubled, the digits of the products
/// summed. `None` when the input is not 10 ASCII digits.
pub fn nss_check_digit(first10: &str) -> Option<char> {
    let b = first10.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let p = d * 2;
                p / 10 + p % 10
            } else {
                d
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Whether an NSS has 11 digits and a correct check digit.
pub fn nss_is_valid(s: &str) -> bool {
    s.len() == 11
        && s.is_char_boundary(10)
        && nss_check_digit(&s[..10]).is_some_and(|d| s.ends_with(d))
}

/// The year IMSS was founded: no NSS was issued before it.
const IMSS_FIRST_YEAR: i32 = 1943;

/// A plausible NSS for someone born in `birth_year`, registered with IMSS
/// between 16 and 24 years of age, or in `IMSS_FIRST_YEAR` if that age came
/// before it (never after `latest_year`); empty for someone not yet 16 in
/// `latest_year`, whom IMSS has not registered.
pub(crate) fn generate(rng: &mut impl Rng, birth_year: i32, latest_year: i32) -> String {
    // Drawn for everyone: the draws that follow (the INE data) do not
    // depend on the age.
    let subdelegation = rng.random_range(1..=99u32);
    let age = rng.random_range(16..=24);
    let sequence = rng.random_range(0..=9999u32);
    if birth_year + 16 > latest_year {
        return String::new();
    }
    let registered = (birth_year + age).max(IMSS_FIRST_YEAR).min(latest_year);
    let first10 = format!(
        "{subdelegation:02}{:02}{:02}{sequence:04}",
        registered.rem_euclid(100),
        birth_year.rem_euclid(100)
    );
    let digit = nss_check_digit(&first10).unwrap_or('0');
    format!("{first10}{digit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_documents_nss_is_valid() {
        assert!(nss_is_valid("08189782793"));
        assert!(!nss_is_valid("08189782794"));
        assert!(!nss_is_valid("0818978279"));
        assert!(!nss_is_valid("0818978279A"));
        assert!(!nss_is_valid("081897827ñ"));
        assert_eq!(nss_check_digit("0818978279"), Some('3'));
        assert_eq!(nss_check_digit("081897827"), None);
    }

    #[test]
    fn generated_years_agree_with_the_birth_year() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for birth in [1900, 1905, 1919, 1940, 1966, 1999, 2005, 2009] {
            let nss = generate(&mut rng, birth, 2025);
            assert!(nss_is_valid(&nss), "{nss}");
            assert_eq!(nss[4..6], format!("{:02}", birth % 100));
            let reg: i32 = nss[2..4].parse().unwrap();
            let reg_full = if reg >= birth % 100 {
                birth - birth % 100 + reg
            } else {
                birth - birth % 100 + 100 + reg
            };
            assert!((birth + 16..=2025).contains(&reg_full), "{nss}");
            // Registered by 24, or when IMSS began if that was later.
            assert!(reg_full >= IMSS_FIRST_YEAR, "{nss}");
            assert!(reg_full <= (birth + 24).max(IMSS_FIRST_YEAR), "{nss}");
        }
        // Not yet 16 in 2025: not registered.
        for birth in [2010, 2020, 2024, 2030] {
            assert_eq!(generate(&mut rng, birth, 2025), "");
        }
    }

    /// README, The people behind the CURPs: registered "not before 1943,
    /// when IMSS began": someone 24 before then is registered in 1943.
    #[test]
    fn imss_registers_from_1943() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20 {
            assert_eq!(&generate(&mut rng, 1910, 2025)[2..6], "4310");
        }
    }
}

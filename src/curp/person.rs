//! The synthetic person behind any well-formed CURP: deterministic in
//! (CURP, seed), with names whose letters give back the CURP, and an NSS,
//! RFC and INE credential consistent with them.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::calc::{
    calculate, is_inconvenient, name_letters, same_name, CalcInput, SKIPPED_FIRST_NAMES,
};
use super::catalogs::Catalogs;
use super::ine::{self, Holder, Ine, BORN_ABROAD_INE};
use super::names::Names;
use super::persona::{Persona, RegistryPatch};
use super::{nss, rfc, Sex, RENAPO_STATES};
use crate::time::{days_in_month, Date};

/// The year the synthetic documents are generated "as of". The domain never
/// reads the clock, so that the same CURP gives the same person on every
/// run; registration and issue years do not go past this one.
pub const REFERENCE_YEAR: i32 = 2025;

const VOWELS: [char; 5] = ['A', 'E', 'I', 'O', 'U'];

/// The proof document of a naturalized Mexican (carta de naturalización).
const NATURALIZATION_LETTER: u8 = 4;

/// A Mexican's nationality code.
pub const MEXICAN: &str = "MEX";

/// The CURP status of someone who died (baja por defunción).
pub const DECEASED: &str = "BD";

/// Nationalities drawn for holders of a migration document (type 3).
pub const FOREIGN_NATIONALITIES: [&str; 8] =
    ["USA", "GTM", "COL", "VEN", "ESP", "ARG", "CUB", "HND"];

/// A person's text fields: kept inside the person when short (nearly all
/// are), so that reading a person is reading one block of memory rather than
/// a score of allocations. Under load the person is cold by the time its
/// CURP comes back, and each separate string was a cache miss.
pub type Text = compact_str::CompactString;

/// A person as every provider describes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    pub curp: Text,
    pub names: Text,
    pub first_surname: Text,
    /// Empty when the person has only one surname.
    pub second_surname: Text,
    pub sex: Sex,
    #[serde(serialize_with = "iso_date")]
    pub birth_date: Date,
    /// RENAPO code of the birth state, `NE` for born abroad.
    pub birth_state: Text,
    pub nationality: Text,
    /// CURP status code (`AN`, `BD`, …).
    pub status: Text,
    /// Proof-document type (1, 3, 4, 7 or 8).
    pub proof_document: u8,
    pub registry: Registry,
    pub nss: Text,
    pub rfc: Text,
    pub ine: Ine,
}

impl Person {
    /// Whether the person is Mexican: the INE's voter register lists no
    /// one else (a foreigner on a migration document votes nowhere in
    /// Mexico).
    pub fn mexican(&self) -> bool {
        // In any case, as accuauth names the country of a persona's `mex`.
        self.nationality.eq_ignore_ascii_case(MEXICAN)
    }

    /// Whether RENAPO records the person as dead (status `BD`): the INE
    /// takes them off the voter register.
    pub fn deceased(&self) -> bool {
        &*self.status == DECEASED
    }

    /// The personal data the person's CURP is calculated from.
    pub fn calc_input(&self) -> CalcInput {
        CalcInput {
            names: self.names.to_string(),
            first_surname: self.first_surname.to_string(),
            second_surname: self.second_surname.to_string(),
            birth_date: self.birth_date,
            sex: self.sex,
            state: self.birth_state.to_string(),
        }
    }
}

/// Where the proof document (usually the birth certificate) was registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Registry {
    /// INE code `01`..`32` of the registry entity.
    pub entity_ine: Text,
    pub entity_name: Text,
    /// INEGI municipality code, three digits.
    pub municipality_code: Text,
    pub municipality_name: Text,
    pub year: u16,
    pub act_number: Text,
    /// Book, volume and page: empty for the electronic registries of recent
    /// decades, as the providers' examples show them.
    pub book: Text,
    pub volume: Text,
    pub page: Text,
}

pub(crate) fn iso_date<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// The random generator for a (CURP, seed) pair. SHA-256 keeps the mapping
/// stable across Rust releases, which std's hasher does not promise.
pub(crate) fn rng_for(curp: &str, seed: u64) -> StdRng {
    let mut h = Sha256::new();
    h.update(curp.as_bytes());
    h.update(b"\0");
    h.update(seed.to_le_bytes());
    StdRng::from_seed(h.finalize().into())
}

fn pick<'a, R: Rng>(rng: &mut R, items: &[&'a str]) -> Option<&'a str> {
    if items.is_empty() {
        None
    } else {
        Some(items[rng.random_range(0..items.len())])
    }
}

/// A word that gives `initial`, `vowel` as first internal vowel and
/// `consonant` as first internal consonant, for when no listed name fits.
/// An X consonant is written Ñ, which the rules read as X.
fn compose(
    rng: &mut impl Rng,
    initial: char,
    vowel: char,
    consonant: char,
    endings: &[&str],
) -> String {
    let c = if consonant == 'X' { 'Ñ' } else { consonant };
    let ending = pick(rng, endings).unwrap_or("A");
    format!("{initial}{vowel}{c}{ending}")
}

/// A first surname with no internal vowel (as ICH), for a CURP whose
/// position 2 is an X that no inconvenient word explains.
fn compose_vowelless(initial: char, consonant: char) -> String {
    match consonant {
        'X' => format!("{initial}ÑH"),
        'H' => format!("{initial}H"),
        c => format!("{initial}{c}H"),
    }
}

/// The identity part of a person: what the CURP encodes and the names.
struct Identity {
    names: String,
    first_surname: String,
    second_surname: String,
    sex: Sex,
    birth_date: Date,
    birth_state: String,
}

/// The birth date a CURP encodes, or the nearest real date when it encodes
/// an impossible one (month and day clamped).
fn lenient_date(chars: &[char]) -> Date {
    let d = |i: usize| chars.get(i).and_then(|c| c.to_digit(10)).unwrap_or(0);
    let century = if chars.get(16).is_some_and(char::is_ascii_digit) {
        1900
    } else {
        2000
    };
    let year = century + (d(4) * 10 + d(5)) as i32;
    let month = ((d(6) * 10 + d(7)) as u8).clamp(1, 12);
    let day = ((d(8) * 10 + d(9)) as u8).clamp(1, days_in_month(year, month));
    Date { year, month, day }
}

/// Names whose letters give positions 1–4 and 14–16 of the CURP.
fn choose_names(
    rng: &mut impl Rng,
    names: &Names,
    chars: &[char],
    sex: Sex,
) -> (String, String, String) {
    let at = |i: usize| chars.get(i).copied().unwrap_or('X');
    let (c0, c1, c2, c3) = (at(0), at(1), at(2), at(3));
    let (k14, k15, k16) = (at(13), at(14), at(15));
    let surname_endings = ["EZ", "ERA", "ANO", "ILLO", "ARES", "ON"];

    // Position 2 is an X either because the four letters spelled an
    // inconvenient word (the more common reason, so tried first) or because
    // the surname has no internal vowel.
    let first = if c1 == 'X' {
        let vowels: Vec<char> = VOWELS
            .iter()
            .copied()
            .filter(|&v| is_inconvenient(&[c0, v, c2, c3].iter().collect::<String>()))
            .collect();
        if vowels.is_empty() {
            pick(rng, &names.first_surnames(c0, 'X', k14))
                .map(String::from)
                .unwrap_or_else(|| compose_vowelless(c0, k14))
        } else {
            let v = vowels[rng.random_range(0..vowels.len())];
            pick(rng, &names.first_surnames(c0, v, k14))
                .map(String::from)
                .unwrap_or_else(|| compose(rng, c0, v, k14, &surname_endings))
        }
    } else {
        pick(rng, &names.first_surnames(c0, c1, k14))
            .map(String::from)
            .unwrap_or_else(|| compose(rng, c0, c1, k14, &surname_endings))
    };

    // X and X in positions 3 and 15 is how RENAPO writes a missing second
    // surname.
    let second = if c2 == 'X' && k15 == 'X' {
        String::new()
    } else {
        pick(rng, &names.second_surnames(c2, k15))
            .map(String::from)
            .unwrap_or_else(|| {
                let v = VOWELS[rng.random_range(0..VOWELS.len())];
                compose(rng, c2, v, k15, &surname_endings)
            })
    };

    // A made-up name, a second name, ends as the sex's names do (X: as the
    // female ones).
    let female = sex != Sex::H;
    let endings: &[&str] = if !female {
        &["O", "IN", "ELO"]
    } else {
        &["A", "INA", "ELA"]
    };
    let base = pick(rng, &names.first_names(sex, c3, k16))
        .map(String::from)
        .unwrap_or_else(|| {
            let v = VOWELS[rng.random_range(0..VOWELS.len())];
            compose(rng, c3, v, k16, endings)
        });
    // One person in four has a second name after the first, and one in
    // eight MARIA / JOSE before it, which the rules skip. Kept only when the
    // letters still agree.
    let decorated = match rng.random_range(0..8) {
        0 | 1 => {
            let pool = if female { &names.female } else { &names.male };
            let extra = pool
                .get(rng.random_range(0..pool.len().max(1)))
                .cloned()
                .unwrap_or_default();
            format!("{base} {extra}")
        }
        2 => format!("{} {base}", if female { "MARIA" } else { "JOSE" }),
        _ => base.clone(),
    };
    let given = if !SKIPPED_FIRST_NAMES.contains(&base.as_str())
        && name_letters(&decorated) == name_letters(&base)
    {
        decorated
    } else {
        base
    };
    (given, first, second)
}

/// The CURP statuses synthetic people are given ([`draw_status`]): the
/// catalogs must list them.
pub(crate) const DRAWN_STATUSES: [&str; 4] = ["AN", "AH", "RCN", "RCC"];

/// The proof documents synthetic people are given (birth certificate; born
/// abroad, also 3, 4 and 7): the catalogs must list them.
pub(crate) const DRAWN_PROOF_DOCUMENTS: [u8; 4] = [1, 3, 4, 7];

fn draw_status(rng: &mut impl Rng, differentiator: char) -> &'static str {
    // A differentiator other than the first one (0 or A) means the first
    // 16 positions were already taken: a homonym.
    if differentiator != '0' && differentiator != 'A' {
        return "AH";
    }
    match rng.random_range(0..100) {
        0..=89 => "AN",
        90..=95 => "RCN",
        _ => "RCC",
    }
}

/// The synthetic person for a CURP (any string passing `is_loose` gives a
/// sensible one; anything else still gives a person, never a panic), with
/// a persona's data, if any, merged over it. Identity
/// overrides are applied before the RFC and INE data are derived, so those
/// agree with the persona's names unless it gives them too.
pub(crate) fn build(
    curp: &str,
    seed: u64,
    names: &Names,
    catalogs: &Catalogs,
    persona: Option<&Persona>,
) -> Person {
    let mut rng = rng_for(curp, seed);
    let chars: Vec<char> = curp.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('X');

    let sex = match at(10) {
        'M' => Sex::M,
        'X' => Sex::X,
        _ => Sex::H,
    };
    let code: String = [at(11), at(12)].iter().collect();
    // An unknown state code (as in the documents' placeholders) gets a
    // state drawn at random rather than a made-up one.
    let birth_state = if RENAPO_STATES.contains(&code.as_str()) {
        code
    } else {
        let i = rng.random_range(0..catalogs.entities.len().max(1));
        catalogs
            .entities
            .get(i)
            .map_or_else(|| "DF".to_string(), |e| e.renapo.clone())
    };
    let (given, first, second) = choose_names(&mut rng, names, &chars, sex);
    let mut id = Identity {
        names: given,
        first_surname: first,
        second_surname: second,
        sex,
        birth_date: lenient_date(&chars),
        birth_state,
    };
    if let Some(p) = persona {
        p.apply_identity(&mut id.names, &mut id.first_surname, &mut id.second_surname);
        id.sex = p.sex.unwrap_or(id.sex);
        id.birth_date = p.birth_date.unwrap_or(id.birth_date);
        if let Some(s) = &p.birth_state {
            id.birth_state = s.clone();
        }
    }

    let status = draw_status(&mut rng, at(16)).to_string();
    let born_abroad = id.birth_state == "NE";
    let drawn = if born_abroad {
        [1, 1, 3, 3, 4, 7][rng.random_range(0..6)]
    } else {
        1
    };
    // A persona's proof document is the one the rest agrees with: a
    // migration document's holder is a foreigner, another's a Mexican.
    let proof_document = persona.and_then(|p| p.proof_document).unwrap_or(drawn);
    let nationality = if proof_document == 3 {
        FOREIGN_NATIONALITIES[rng.random_range(0..FOREIGN_NATIONALITIES.len())].to_string()
    } else {
        MEXICAN.to_string()
    };
    let registry = draw_registry(
        &mut rng,
        catalogs,
        &id,
        proof_document,
        persona.and_then(|p| p.registry.as_ref()),
    );
    let nss = nss::generate(&mut rng, id.birth_date.year, REFERENCE_YEAR);
    let state_ine = catalogs
        .entity_by_renapo(&id.birth_state)
        .map(|e| e.ine.as_str())
        .filter(|ine| !ine.is_empty())
        .unwrap_or(BORN_ABROAD_INE);
    let ine = ine::generate(
        &mut rng,
        &Holder {
            first_surname: &id.first_surname,
            second_surname: &id.second_surname,
            names: &id.names,
            birth: id.birth_date,
            state_ine,
            sex: id.sex,
        },
        REFERENCE_YEAR,
        ine::numbers_of(curp, seed),
    );
    // A differentiator past the first (0 before 2000, A after) is a later
    // holder of the same 16 positions: a homonym, whose RFC the SAT sets
    // apart.
    let differentiator = curp.as_bytes().get(16).copied().unwrap_or(b'0');
    let nth = match differentiator {
        b'0'..=b'9' => usize::from(differentiator - b'0'),
        b'A'..=b'Z' => usize::from(differentiator - b'A'),
        _ => 0,
    };
    // The SAT registers from 16 (with a CURP, to work), as IMSS does: a
    // younger person has no RFC to find.
    let rfc = if id.birth_date.year + 16 > REFERENCE_YEAR {
        String::new()
    } else {
        rfc::rfc_of_holder(
            &id.first_surname,
            &id.second_surname,
            &id.names,
            id.birth_date,
            nth,
        )
    };

    let mut person = Person {
        curp: curp.into(),
        names: id.names.into(),
        first_surname: id.first_surname.into(),
        second_surname: id.second_surname.into(),
        sex: id.sex,
        birth_date: id.birth_date,
        birth_state: id.birth_state.into(),
        nationality: nationality.into(),
        status: status.into(),
        proof_document,
        registry,
        nss: nss.into(),
        rfc: rfc.into(),
        ine,
    };
    if let Some(p) = persona {
        p.apply_documents(&mut person);
    }
    // A naturalized voter registered with the INE once Mexican: the letter
    // dates from that year at the latest (the INE years a persona writes
    // too), and not before the holder's birth, unless a persona writes the
    // letter's year.
    let letter_given = persona
        .and_then(|p| p.registry.as_ref())
        .is_some_and(|r| r.year.is_some());
    if person.proof_document == NATURALIZATION_LETTER && !letter_given {
        let born = u16::try_from(person.birth_date.year.max(0)).unwrap_or(u16::MAX);
        person.registry.year = (person.registry.year)
            .min(person.ine.registration_year)
            .max(born);
    }
    person
}

/// The registry of a birth; `given` is a persona's, whose entity (resolved
/// at load) and municipality the draw keeps, the other half of a
/// municipality taken from the catalogs (a name they lack leaves the code
/// empty, a code they lack the name).
fn draw_registry(
    rng: &mut impl Rng,
    catalogs: &Catalogs,
    id: &Identity,
    proof_document: u8,
    given: Option<&RegistryPatch>,
) -> Registry {
    let registered_in = given
        .and_then(|r| r.entity_ine.as_deref())
        .and_then(|ine| catalogs.entity_by_ine(ine));
    // Births abroad are registered in some Mexican entity too (consular
    // registrations are transcribed there), drawn at random.
    let entity = registered_in
        .or_else(|| catalogs.entity_by_renapo(&id.birth_state))
        .filter(|e| !e.ine.is_empty())
        .or_else(|| {
            catalogs
                .entities
                .get(rng.random_range(0..catalogs.entities.len().max(1)))
        });
    let (entity_ine, entity_name) =
        entity.map_or_else(Default::default, |e| (e.ine.clone(), e.name.clone()));
    let municipalities: Vec<_> = catalogs.municipalities_of(&entity_ine).collect();
    // Drawn whatever the persona gives, so that the draws after it are the
    // same for everyone.
    let drawn = (!municipalities.is_empty())
        .then(|| municipalities[rng.random_range(0..municipalities.len())]);
    let given_code = given.and_then(|r| r.municipality_code.as_deref());
    let given_name = given.and_then(|r| r.municipality_name.as_deref());
    let (municipality_code, municipality_name) = match (given_code, given_name) {
        // A code is a number: `87` is named as the catalogs' `087`.
        (Some(code), None) => {
            let listed = municipalities.iter().find(|m| same_number(&m.code, code));
            (
                code.to_string(),
                listed.map(|m| m.name.clone()).unwrap_or_default(),
            )
        }
        (None, Some(name)) => {
            let listed = municipalities.iter().find(|m| same_name(&m.name, name));
            (
                listed.map(|m| m.code.clone()).unwrap_or_default(),
                name.to_string(),
            )
        }
        (Some(code), Some(name)) => (code.to_string(), name.to_string()),
        (None, None) => drawn.map_or_else(
            || ("001".to_string(), String::new()),
            |m| (m.code.clone(), m.name.clone()),
        ),
    };
    // Most births are registered the same year, some one or a few later.
    let delay = match rng.random_range(0..100) {
        0..=79 => 0,
        80..=94 => 1,
        _ => rng.random_range(2..=6),
    };
    // The other proofs are issued later in life: a migration document
    // when its holder came to Mexico, a naturalization letter mostly to an
    // adult, a certificate of Mexican nationality whenever its holder (born
    // abroad to a Mexican) asked for one. Drawn for them alone, so that
    // everyone else's draws stay as they were.
    let after = match proof_document {
        3 => rng.random_range(0..=40),
        NATURALIZATION_LETTER => rng.random_range(18..=50),
        7 => rng.random_range(0..=30),
        _ => delay,
    };
    let birth = id.birth_date.year;
    let year = (birth + after).min(REFERENCE_YEAR.max(birth));
    let act_number = format!("{:05}", rng.random_range(1..=9999));
    // Registers kept on paper (book, volume, page) until 1990.
    let paper = if proof_document == 1 { birth } else { year } < 1990;
    let book = if paper {
        rng.random_range(1..=20).to_string()
    } else {
        String::new()
    };
    let volume = if paper {
        rng.random_range(1..=6).to_string()
    } else {
        String::new()
    };
    let page = if paper {
        rng.random_range(1..=300).to_string()
    } else {
        String::new()
    };
    Registry {
        entity_ine: entity_ine.into(),
        entity_name: entity_name.into(),
        municipality_code: municipality_code.into(),
        municipality_name: municipality_name.into(),
        year: u16::try_from(year.clamp(0, 9999)).unwrap_or(0),
        act_number: act_number.into(),
        book: book.into(),
        volume: volume.into(),
        page: page.into(),
    }
}

/// Whether two codes are one number (`087` and `87`), or failing that
/// (a catalog's code need not be digits) one text.
fn same_number(a: &str, b: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    a == b || (number(a) && number(b) && a.trim_start_matches('0') == b.trim_start_matches('0'))
}

/// Random but plausible personal data, for `curp random` and the tests.
pub fn random_input(rng: &mut impl Rng, names: &Names) -> CalcInput {
    let sex = match rng.random_range(0..100) {
        0..=48 => Sex::H,
        49..=97 => Sex::M,
        _ => Sex::X,
    };
    let pool = match sex {
        Sex::H => &names.male,
        Sex::M => &names.female,
        Sex::X if rng.random_bool(0.5) => &names.male,
        Sex::X => &names.female,
    };
    let one = |rng: &mut dyn rand::RngCore, list: &[String]| -> String {
        list.get(rng.random_range(0..list.len().max(1)))
            .cloned()
            .unwrap_or_else(|| "JUAN".into())
    };
    let mut given = one(rng, pool);
    if rng.random_bool(0.3) {
        given = format!("{given} {}", one(rng, pool));
    }
    let first_surname = one(rng, &names.surnames);
    let second_surname = if rng.random_bool(0.05) {
        String::new()
    } else {
        one(rng, &names.surnames)
    };
    let start = Date {
        year: 1930,
        month: 1,
        day: 1,
    }
    .days_since_epoch();
    let end = Date {
        year: 2024,
        month: 12,
        day: 31,
    }
    .days_since_epoch();
    let birth_date = Date::from_days_since_epoch(rng.random_range(start..=end));
    let state = if rng.random_bool(0.03) {
        "NE"
    } else {
        RENAPO_STATES[rng.random_range(0..32)]
    };
    CalcInput {
        names: given,
        first_surname,
        second_surname,
        birth_date,
        sex,
        state: state.to_string(),
    }
}

/// A valid random CURP, calculated from random personal data.
pub fn random_curp(rng: &mut impl Rng, names: &Names) -> String {
    // The lists are validated non-empty, so calculation cannot fail; the
    // fallback is the documents' own valid example.
    calculate(&random_input(rng, names)).unwrap_or_else(|_| "PXNE660720HMCXTN06".to_string())
}

#[cfg(test)]
mod tests {
    use super::super::rfc::rfc_is_valid;
    use super::super::{calculate_first16, check_digit, check_strict, is_loose, nss_is_valid};
    use super::*;
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest, ProptestConfig};

    fn domain() -> &'static super::super::Domain {
        super::super::tests::domain()
    }

    // A persona's proof document is the one the person agrees with: a
    // birth certificate makes someone born abroad Mexican, a migration
    // document a foreigner, whatever the draw would have been.
    #[test]
    fn a_personas_proof_document_decides_the_nationality() {
        let d = domain();
        let born_abroad: Vec<String> = (0..40u32)
            .map(|i| format!("PAWO63{:02}{:02}MNERNB0", 1 + i % 12, 1 + i % 28))
            .map(|first17| format!("{first17}{}", check_digit(&first17).unwrap()))
            .collect();
        let mut seen = [false; 2];
        for curp in &born_abroad {
            for (proof, mexican) in [(1u8, true), (3, false)] {
                let yaml = format!("- curp: {curp}\n  proof_document: {proof}\n");
                let personas = super::super::persona::load(&yaml, &d.catalogs).unwrap();
                let p = build(curp, 0, &d.names, &d.catalogs, personas.first());
                assert_eq!(p.proof_document, proof, "{p:?}");
                assert_eq!(p.mexican(), mexican, "{p:?}");
                let drawn = person(curp, 0);
                seen[usize::from(mexican)] |= drawn.mexican() != mexican;
            }
        }
        assert!(seen[0] && seen[1], "no draw was overruled: {seen:?}");
    }

    // A naturalization letter dates from the holder's INE registration at
    // the latest, the years a persona writes too; a letter's year the
    // persona writes stands.
    #[test]
    fn a_naturalization_letter_is_not_after_the_ine_registration() {
        let d = domain();
        let load = |yaml: &str| super::super::persona::load(yaml, &d.catalogs).unwrap();
        let curp = "TABA710313HNELRB02";
        let written = load(&format!(
            "- curp: {curp}\n  proof_document: 4\n  ine: {{registration_year: 1991}}\n"
        ));
        let p = build(curp, 0, &d.names, &d.catalogs, written.first());
        assert_eq!(p.ine.registration_year, 1991, "{p:?}");
        assert!(p.registry.year <= 1991, "{p:?}");
        let letter = load(&format!(
            "- curp: {curp}\n  proof_document: 4\n  registry: {{year: 2001}}\n  ine: {{registration_year: 1991}}\n"
        ));
        let p = build(curp, 0, &d.names, &d.catalogs, letter.first());
        assert_eq!(p.registry.year, 2001, "{p:?}");
        // Not before the holder's birth (1971), whatever INE year is written.
        for year in [1960, 0] {
            let early = load(&format!(
                "- curp: {curp}\n  proof_document: 4\n  ine: {{registration_year: {year}}}\n"
            ));
            let p = build(curp, 0, &d.names, &d.catalogs, early.first());
            assert_eq!(p.registry.year, 1971, "{p:?}");
        }
    }

    fn person(curp: &str, seed: u64) -> Person {
        let d = domain();
        build(curp, seed, &d.names, &d.catalogs, None)
    }

    /// An NSS registered at 16 or later with the birth year in it, or none
    /// for someone not yet 16 in the reference year.
    fn nss_fits(p: &Person) -> bool {
        if p.birth_date.year + 16 > REFERENCE_YEAR {
            return p.nss.is_empty();
        }
        nss_is_valid(&p.nss) && p.nss[4..6] == format!("{:02}", p.birth_date.year.rem_euclid(100))
    }

    /// A valid RFC, or none for someone not yet 16 in the reference year.
    fn rfc_fits(p: &Person) -> bool {
        if p.birth_date.year + 16 > REFERENCE_YEAR {
            return p.rfc.is_empty();
        }
        rfc_is_valid(&p.rfc)
    }

    /// Everything a synthetic person must satisfy for a strictly valid CURP.
    fn assert_consistent(curp: &str, p: &Person) {
        let decoded = check_strict(curp).unwrap();
        assert_eq!(
            calculate_first16(&p.calc_input()).unwrap(),
            curp[..16],
            "{p:?}"
        );
        let mut full = calculate_first16(&p.calc_input()).unwrap();
        full.push_str(&curp[16..17]);
        full.push(check_digit(&full).unwrap());
        assert_eq!(full, curp);
        assert_eq!(p.birth_date, decoded.birth_date);
        assert_eq!(p.sex, decoded.sex);
        assert_eq!(p.birth_state, decoded.state);
        assert!(nss_fits(p), "{}", p.nss);
        assert!(rfc_fits(p), "{}", p.rfc);
        assert_eq!(p.ine.elector_code.chars().count(), 18);
        assert!(p.ine.registration_year as i32 >= p.birth_date.year + 18);
        assert!(domain().catalogs.status(&p.status).is_some());
        assert!(domain().catalogs.proof_document(p.proof_document).is_some());
        assert!(domain()
            .catalogs
            .entity_by_ine(&p.registry.entity_ine)
            .is_some());
    }

    #[test]
    fn the_documents_example_round_trips() {
        let p = person("PXNE660720HMCXTN06", 0);
        assert_consistent("PXNE660720HMCXTN06", &p);
        assert_eq!(p, person("PXNE660720HMCXTN06", 0));
        assert_ne!(p, person("PXNE660720HMCXTN06", 1));
    }

    #[test]
    fn inconvenient_word_and_vowelless_surnames() {
        // PXDO: PEDO was replaced. IXRA: a surname without internal vowel.
        for first16 in [
            "PXDO800101MDFDMF",
            "IXRA800101HDFCDN",
            "KXKA800101HDFKKK",
            "BXZZ800101HNEZZZ",
        ] {
            let mut c = format!("{first16}0");
            c.push(check_digit(&c).unwrap());
            for seed in 0..20 {
                assert_consistent(&c, &person(&c, seed));
            }
        }
    }

    #[test]
    fn json_shape() {
        let v = serde_json::to_value(person("PXNE660720HMCXTN06", 3)).unwrap();
        assert_eq!(v["birth_date"], "1966-07-20");
        assert_eq!(v["sex"], "H");
        assert_eq!(v["birth_state"], "MC");
        assert!(v["registry"]["municipality_code"].is_string());
        assert!(v["ine"]["issue_year"].is_number());
    }

    #[test]
    fn loose_only_curps_never_panic() {
        for c in [
            "ABCD570805HYNHLC52",
            "XAXX010101XAXAXA00",
            "XAXA010101XXXXXX01",
            "AAAA991399MZZAAA00",
            "ZZZZ000000XZZZZZZ9",
            "",
            "Ñ",
            "PXNE660720HMCXTN06EXTRA",
        ] {
            let p = person(c, 0);
            assert!(nss_fits(&p), "{c}");
            assert!(rfc_fits(&p), "{c}: {}", p.rfc);
            assert!(domain().catalogs.entity_by_renapo(&p.birth_state).is_some());
        }
        assert_eq!(
            person("AAAA991399MZZAAA00", 0).birth_date,
            Date::new(1999, 12, 31).unwrap()
        );
        assert!(is_loose("AAAA991399MZZAAA00"));
    }

    /// `curp` with `at` (a position before the check digit) replaced by
    /// `with`, and its check digit recomputed.
    fn with_char(curp: &str, at: usize, with: &str) -> String {
        let mut c = format!("{}{with}{}", &curp[..at], &curp[at + with.len()..17]);
        c.push(check_digit(&c).unwrap());
        c
    }

    /// Synthetic people, seen many at a time, are drawn as the registries'
    /// own are: each draw's branches all show, none past its bounds.
    #[test]
    fn synthetic_people_vary_as_registered_ones_do() {
        let names = &domain().names;
        let listed = |w: &str| names.male.iter().chain(&names.female).any(|n| n == w);
        let mut rng = StdRng::seed_from_u64(7);
        let curps: Vec<String> = (0..600).map(|_| random_curp(&mut rng, names)).collect();
        let people: Vec<Person> = curps.iter().map(|c| person(c, 11)).collect();

        let statuses: std::collections::BTreeSet<&str> =
            people.iter().map(|p| p.status.as_str()).collect();
        assert_eq!(statuses, ["AN", "RCC", "RCN"].into(), "first holders");
        // A later holder of the same 16 positions is a homonym, whose RFC
        // the SAT sets apart by its rank.
        for (curp, nth) in curps.iter().take(40).zip([1, 2, 3, 9].iter().cycle()) {
            let later = if curp.as_bytes()[16].is_ascii_digit() {
                char::from(b'0' + *nth as u8)
            } else {
                char::from(b'A' + *nth as u8)
            };
            let p = person(&with_char(curp, 16, &later.to_string()), 11);
            assert_eq!(p.status, "AH", "{}", p.curp);
            if p.birth_date.year + 16 > REFERENCE_YEAR {
                assert_eq!(p.rfc, "", "{}: under 16, no RFC", p.curp);
                continue;
            }
            let rfc = rfc::rfc_of_holder(
                &p.first_surname,
                &p.second_surname,
                &p.names,
                p.birth_date,
                *nth,
            );
            assert_eq!(p.rfc, rfc, "{}", p.curp);
        }

        // Most given names are listed ones; some are two names, some
        // MARIA / JOSE before the one the rules read.
        let given: Vec<Vec<&str>> = people
            .iter()
            .map(|p| p.names.split(' ').collect())
            .collect();
        let from_lists = given.iter().filter(|w| w.iter().any(|w| listed(w))).count();
        assert!(from_lists > 500, "{from_lists} of 600 from the lists");
        let skipped = |w: &str| SKIPPED_FIRST_NAMES.contains(&w);
        let two = given
            .iter()
            .filter(|w| w.len() > 1 && !skipped(w[0]))
            .count();
        let prefixed = given
            .iter()
            .filter(|w| w.len() > 1 && skipped(w[0]))
            .count();
        assert!(
            two > 30 && prefixed > 15,
            "{two} two names, {prefixed} prefixed"
        );

        // A birth registered the year it happened mostly, some one or a
        // few later; paper books before 1990; a listed municipality.
        let births = people.iter().filter(|p| p.proof_document == 1);
        let delays: Vec<i32> = births
            .filter(|p| p.birth_date.year + 6 <= REFERENCE_YEAR)
            .map(|p| i32::from(p.registry.year) - p.birth_date.year)
            .collect();
        assert!(delays.iter().all(|d| (0..=6).contains(d)), "{delays:?}");
        for d in [0, 1] {
            assert!(delays.contains(&d), "no delay of {d}");
        }
        assert!(delays.iter().any(|d| *d > 1), "no later registration");
        // The other proofs later in life: a migration document at 0 to 40,
        // a naturalization letter at 18 to 50, a certificate of
        // nationality at 0 to 30 (none after 2025).
        let mut later = 0;
        for p in &people {
            let (born, year) = (p.birth_date.year, i32::from(p.registry.year));
            let paper_until = if p.proof_document == 1 { born } else { year };
            assert_eq!(!p.registry.book.is_empty(), paper_until < 1990, "{p:?}");
            assert!(!p.registry.municipality_name.is_empty(), "{p:?}");
            let ages = match p.proof_document {
                3 => 0..=40,
                4 => 18..=50,
                7 => 0..=30,
                _ => continue,
            };
            assert!(year >= born && year <= REFERENCE_YEAR, "{p:?}");
            // Naturalized before registering to vote.
            if p.proof_document == 4 {
                assert!(p.registry.year <= p.ine.registration_year, "{p:?}");
            }
            let capped = year == REFERENCE_YEAR && year - born <= *ages.end();
            assert!(ages.contains(&(year - born)) || capped, "{p:?}");
            later += usize::from(year - born > 6);
        }
        assert!(later > 0, "every other proof issued at birth");

        // Born in Mexico: a birth certificate, Mexican. Born abroad: also
        // a migration document (3, foreign) or another proof.
        for p in &people {
            if p.birth_state != "NE" {
                assert_eq!((p.proof_document, p.nationality.as_str()), (1, "MEX"));
            }
        }
        let abroad: Vec<Person> = curps
            .iter()
            .take(200)
            .map(|c| person(&with_char(c, 11, "NE"), 11))
            .collect();
        let proofs: std::collections::BTreeSet<u8> =
            abroad.iter().map(|p| p.proof_document).collect();
        assert_eq!(proofs, DRAWN_PROOF_DOCUMENTS.into());
        for p in &abroad {
            assert_eq!(p.nationality == "MEX", p.proof_document != 3, "{p:?}");
        }
    }

    /// `curp random`'s people: men and women about evenly, a few X, whose
    /// names come from either list.
    #[test]
    fn random_inputs_draw_every_sex() {
        let names = &domain().names;
        let only = |w: &str, of: &[String], not: &[String]| {
            of.iter().any(|n| n == w) && !not.iter().any(|n| n == w)
        };
        let mut rng = StdRng::seed_from_u64(3);
        let inputs: Vec<CalcInput> = (0..3000).map(|_| random_input(&mut rng, names)).collect();
        let count = |s: Sex| inputs.iter().filter(|i| i.sex == s).count();
        let (h, m, x) = (count(Sex::H), count(Sex::M), count(Sex::X));
        assert!(h > 1300 && m > 1300 && x > 20 && x < 150, "{h} {m} {x}");
        let first = |i: &CalcInput| i.names.split(' ').next().unwrap_or("").to_string();
        let x_names: Vec<String> = inputs
            .iter()
            .filter(|i| i.sex == Sex::X)
            .map(first)
            .collect();
        assert!(x_names.iter().any(|w| only(w, &names.male, &names.female)));
        assert!(x_names.iter().any(|w| only(w, &names.female, &names.male)));
    }

    /// A random strictly valid CURP built character by character, not from
    /// names, so that letter combinations no list covers are exercised.
    fn random_raw_curp(rng: &mut StdRng) -> String {
        let letter = |rng: &mut StdRng| (b'A' + rng.random_range(0..26u8)) as char;
        let consonant = |rng: &mut StdRng| loop {
            let c = letter(rng);
            if !VOWELS.contains(&c) {
                break c;
            }
        };
        loop {
            let year = rng.random_range(1900..=2099);
            let month = rng.random_range(1..=12u8);
            let day = rng.random_range(1..=days_in_month(year, month));
            let vowel = ['A', 'E', 'I', 'O', 'U', 'X'][rng.random_range(0..6)];
            let diff = if year < 2000 {
                char::from_digit(rng.random_range(0..10), 10).unwrap_or('0')
            } else {
                letter(rng)
            };
            let sex = ['H', 'M', 'X'][rng.random_range(0..3)];
            let state = RENAPO_STATES[rng.random_range(0..RENAPO_STATES.len())];
            let mut c = format!(
                "{}{vowel}{}{}{:02}{month:02}{day:02}{sex}{state}{}{}{}{diff}",
                letter(rng),
                letter(rng),
                letter(rng),
                year % 100,
                consonant(rng),
                consonant(rng),
                consonant(rng),
            );
            c.push(check_digit(&c).unwrap());
            if check_strict(&c).is_ok() {
                return c;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

        #[test]
        fn calculated_curps_round_trip(seed in any::<u64>(), person_seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let curp = random_curp(&mut rng, &domain().names);
            prop_assert!(check_strict(&curp).is_ok(), "{}", curp);
            let p = person(&curp, person_seed);
            assert_consistent(&curp, &p);
            prop_assert_eq!(&p, &person(&curp, person_seed));
        }

        #[test]
        fn raw_curps_round_trip(seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let curp = random_raw_curp(&mut rng);
            let p = person(&curp, seed);
            assert_consistent(&curp, &p);
            prop_assert_eq!(&p, &person(&curp, seed));
        }

        #[test]
        fn any_loose_curp_gives_a_person(curp in "[A-Z]{4}[0-9]{6}[HMX][A-Z]{5}[A-Z0-9][0-9]") {
            prop_assert!(is_loose(&curp));
            let p = person(&curp, 0);
            prop_assert!(nss_fits(&p), "{}", p.nss);
            prop_assert!(rfc_fits(&p), "{}", p.rfc);
        }
    }
}

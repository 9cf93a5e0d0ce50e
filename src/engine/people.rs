//! A bounded cache of the people behind CURPs. Building a person (names,
//! registry, NSS, RFC, INE data) is a pure function of the CURP, the seed
//! and the fixtures, and was a fifth of a request's CPU time; a test suite
//! asks about the same CURPs over and over. Lives with the fixtures, so a
//! reload starts it afresh.
//!
//! Kept in a [`Cache`]: sharded and bounded.

use std::sync::{Arc, OnceLock};

use super::cache::Cache;
use crate::curp::person::Text;
use crate::curp::{Domain, Person};
use crate::fnv::FnvMap;

/// People kept: a few MB.
const CAPACITY: usize = 4096;

/// CURP → (seed, person). A CURP fits inside its key, so finding one reads
/// no separate allocation.
pub struct People {
    cache: Cache<Text, (u64, Arc<Person>)>,
    /// The personas' INE credentials (see [`People::personas_holding`]),
    /// for one seed: indexed as the files are read to serve, else built on
    /// first use.
    credentials: OnceLock<(u64, Credentials)>,
}

/// An elector code (upper case) or a CIC → the CURPs of the personas whose
/// credential it is.
type Credentials = FnvMap<String, Vec<Text>>;

impl Default for People {
    fn default() -> People {
        People {
            cache: Cache::new(CAPACITY),
            credentials: OnceLock::new(),
        }
    }
}

impl People {
    /// The person behind `curp` with `seed`, built on first use.
    pub fn get(&self, domain: &Domain, curp: &str, seed: u64) -> Arc<Person> {
        if let Some((s, p)) = self.cache.get(curp) {
            if s == seed {
                return p;
            }
        }
        let person = Arc::new(domain.person(curp, seed));
        self.cache.insert(curp.into(), (seed, person.clone()));
        person
    }

    /// Builds the index [`People::personas_holding`] reads for `seed`, when
    /// it is not built yet.
    pub fn index_credentials(&self, domain: &Domain, seed: u64) {
        self.credentials
            .get_or_init(|| (seed, credentials(domain, seed)));
    }

    /// Whether the index is built, for `seed`.
    #[cfg(test)]
    pub fn indexed(&self, seed: u64) -> bool {
        self.credentials.get().is_some_and(|(s, _)| *s == seed)
    }

    /// The CURPs of the personas whose INE credential has `id` for its
    /// elector code (in any letter case) or its CIC. A persona's credential
    /// is not always the one its CURP's numbers would be (it may give its
    /// own codes, or a birth date or state its CURP does not state), so
    /// IneNominalList looks the personas up by their credentials first.
    /// Indexed at load ([`People::index_credentials`]); built here for
    /// fixtures loaded without it.
    pub fn personas_holding(&self, domain: &Domain, id: &str, seed: u64) -> Vec<Text> {
        let key = id.to_ascii_uppercase();
        let (built, map) = self
            .credentials
            .get_or_init(|| (seed, credentials(domain, seed)));
        if *built == seed {
            return map.get(&key).cloned().unwrap_or_default();
        }
        credentials(domain, seed).remove(&key).unwrap_or_default()
    }
}

/// Every persona's elector code and CIC, with its CURP: the personas that
/// write a code out first, then those whose code is derived, each in the
/// file's order (a persona that gives a credential wins it over one that
/// only happens to have it).
fn credentials(domain: &Domain, seed: u64) -> Credentials {
    let (mut written, mut derived) = (Credentials::default(), Credentials::default());
    for persona in &domain.personas {
        let given = persona.ine.as_ref();
        let ine = domain.person(&persona.curp, seed).ine;
        let ids = [
            (
                given.is_some_and(|g| g.elector_code.is_some()),
                ine.elector_code.to_ascii_uppercase().to_string(),
            ),
            (given.is_some_and(|g| g.cic.is_some()), ine.cic.to_string()),
        ];
        for (gave, id) in ids {
            let map = if gave { &mut written } else { &mut derived };
            map.entry(id)
                .or_default()
                .push(persona.curp.as_str().into());
        }
    }
    for (id, curps) in derived {
        written.entry(id).or_default().extend(curps);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_person_as_built_bounded_and_seeded() {
        let domain = crate::curp::tests::domain();
        let people = People::default();
        let curp = "PXNE660720HMCXTN06";
        let a = people.get(domain, curp, 0);
        assert_eq!(*a, domain.person(curp, 0));
        assert!(Arc::ptr_eq(&a, &people.get(domain, curp, 0)));
        // Another seed is another person.
        let b = people.get(domain, "BAMH351130HSRTRC00", 1);
        assert_eq!(*b, domain.person("BAMH351130HSRTRC00", 1));
        assert!(!Arc::ptr_eq(
            &b,
            &people.get(domain, "BAMH351130HSRTRC00", 2)
        ));
        // Never more than the bound.
        for i in 0..(CAPACITY + CAPACITY / 4) {
            people.get(domain, &format!("AAAA{i:06}HDFXXX00"), 0);
        }
        let held = people.cache.len();
        assert!(held <= CAPACITY, "{held}");
    }
}

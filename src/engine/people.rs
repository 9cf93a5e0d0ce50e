//! A bounded cache of the people behind CURPs. Building a person (names,
//! registry, NSS, RFC, INE data) is a pure function of the CURP, the seed
//! and the fixtures, and was a fifth of a request's CPU time; a test suite
//! asks about the same CURPs over and over. Lives with the fixtures, so a
//! reload starts it afresh.
//!
//! Kept in a [`Cache`]: sharded and bounded.

use std::sync::Arc;

use super::cache::Cache;
use crate::curp::person::Text;
use crate::curp::{Domain, Person};

/// People kept: a few MB.
const CAPACITY: usize = 4096;

/// CURP → (seed, person). A CURP fits inside its key, so finding one reads
/// no separate allocation.
pub struct People {
    cache: Cache<Text, (u64, Arc<Person>)>,
}

impl Default for People {
    fn default() -> People {
        People {
            cache: Cache::new(CAPACITY),
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

//! A bounded cache of the people behind CURPs. Building a person (names,
//! registry, NSS, RFC, INE data) is a pure function of the CURP, the seed
//! and the fixtures, and was a fifth of a request's CPU time; a test suite
//! asks about the same CURPs over and over. Lives with the fixtures, so a
//! reload starts it afresh.
//!
//! Sharded so that two requests rarely meet on a lock, and each lock is held
//! only for a lookup or an insert (never while a person is built). A full
//! shard is emptied: the bound is a bound on memory, not an LRU.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use crate::curp::{Domain, Person};

const SHARDS: usize = 16;
/// People per shard: 4,096 in all, a few MB.
const PER_SHARD: usize = 256;

/// CURP → (seed, person), hashed with FNV rather than SipHash: a key is 18
/// bytes, and a shard holds at most `PER_SHARD` of them, so even keys made
/// to collide cost no more than a short scan.
type Shard = Mutex<HashMap<String, (u64, Arc<Person>), BuildHasherDefault<Fnv>>>;

/// FNV-1a as a `Hasher`.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub struct People {
    shards: [Shard; SHARDS],
}

impl Default for People {
    fn default() -> People {
        People {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::default())),
        }
    }
}

impl People {
    /// The person behind `curp` with `seed`, built on first use.
    pub fn get(&self, domain: &Domain, curp: &str, seed: u64) -> Arc<Person> {
        let shard = &self.shards[shard_of(curp)];
        if let Some((s, p)) = shard.lock().unwrap_or_else(|p| p.into_inner()).get(curp) {
            if *s == seed {
                return p.clone();
            }
        }
        let person = Arc::new(domain.person(curp, seed));
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PER_SHARD {
            map.clear();
        }
        map.insert(curp.to_string(), (seed, person.clone()));
        person
    }
}

/// FNV-1a of the CURP, folded onto a shard.
fn shard_of(curp: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in curp.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h as usize % SHARDS
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
        for i in 0..(SHARDS * PER_SHARD + SHARDS * PER_SHARD / 4) {
            people.get(domain, &format!("AAAA{i:06}HDFXXX00"), 0);
        }
        let held: usize = people.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= SHARDS * PER_SHARD, "{held}");
    }
}

//! FNV-1a, the hash of the sandbox's own short keys (names, CURPs,
//! credentials), and the maps keyed with it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a as a `Hasher`: fast on the short keys the sandbox hashes (names,
/// CURPs). Not SipHash: a cache shard holds a few hundred keys at most, so
/// even keys made to collide cost no more than a short scan.
pub struct Fnv(u64);

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

/// A map hashed with [`Fnv`]: for the caches (bounded), and for keys the
/// fixtures fix (credentials, persona CURPs), which a request only looks
/// up, so no client can fill one with keys made to collide.
pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// [`FnvMap`], in file order.
pub type FnvIndexMap<K, V> = indexmap::IndexMap<K, V, BuildHasherDefault<Fnv>>;

/// A set hashed with [`Fnv`], in file order.
pub type FnvIndexSet<T> = indexmap::IndexSet<T, BuildHasherDefault<Fnv>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_1a_as_published() {
        let fnv = |bytes: &[u8]| {
            let mut h = Fnv::default();
            h.write(bytes);
            h.finish()
        };
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

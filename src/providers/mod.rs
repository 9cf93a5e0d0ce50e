//! One module per provider, each with the same shape: its routes and
//! scenarios in `scenarios/<id>.yaml`, and in Rust only what its document
//! asks for — where its credential and CURP are, its test switch, its input
//! checks and counters, the values its templates need. Adding a provider is
//! one module here (its `mod` line, and one line in [`all`]), and one YAML
//! file (and, beside them, a block in `fixtures/credentials.yaml`, its
//! README section and its rows in the tests' per-provider tables: the
//! checklist is README "Architecture", "Adding a sixth provider").
//! Its answer for a CURP no one holds is named `not_found`: the not-found
//! persona (`scenario: not_found`) and `curp person` read that name.

use std::sync::Arc;

use crate::engine::provider::Provider;

pub mod accuauth;
pub mod async_verification;
pub mod common;
pub mod curpv5;
pub mod nss;
pub mod pdf;
pub mod validacurp;

/// Every provider module, in the order the catalog lists them.
pub fn all() -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(curpv5::Curpv5),
        Arc::new(validacurp::ValidaCurp),
        Arc::new(accuauth::Accuauth::default()),
        Arc::new(nss::Nss::default()),
        Arc::new(async_verification::AsyncVerification::default()),
    ]
}

#[cfg(test)]
mod tests {
    /// A key declared a whole number or a CURP status but not read would
    /// make the load check call a typo in it text, or check nothing.
    #[test]
    fn every_typed_key_is_a_key_the_module_reads() {
        for m in super::all() {
            for k in m.data_numbers().iter().chain(m.data_statuses()) {
                assert!(m.data_keys().contains(k), "{}: {k}", m.id());
            }
        }
    }
}

//! The YAML loaders: a provider's scenario file (checked against the real
//! curpv5 module's declarations, and its paths built into the router), the
//! catalogs, and the whole CURP domain
//! (catalogs, names, personas). A bad file must be an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxid_sandbox::curp::{catalogs::Catalogs, Domain};
use mxid_sandbox::engine::parse_module;
use mxid_sandbox::providers::curpv5::Curpv5;
use mxid_sandbox::router::Router;

const CATALOGS: &str = include_str!("../../fixtures/catalogs.yaml");
const NAMES: &str = include_str!("../../fixtures/names.yaml");
const PERSONAS: &str = include_str!("../../fixtures/personas.yaml");

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(def) = parse_module(&Curpv5, "fuzz.yaml", text) {
                let _ = Router::build(&[def]);
            }
        }
        1 => {
            let _ = Catalogs::from_yaml(text);
        }
        2 => {
            let _ = Domain::from_yaml(CATALOGS, text, PERSONAS);
        }
        3 => {
            let _ = Domain::from_yaml(CATALOGS, NAMES, text);
        }
        _ => {
            let _ = Domain::from_yaml(text, NAMES, PERSONAS);
        }
    }
});

//! The YAML loaders, each behind `model::check_yaml` as a user's file is
//! (`engine::read_yaml`): every provider's scenario file (checked against
//! the real module's declarations and `settings:`, and its paths built into
//! the router), the catalogs, the whole CURP domain (catalogs, names,
//! personas), and credentials.yaml through `engine::load`, with and without
//! `--strict-auth`. A bad file must be an error, never a panic; and every
//! path a scenario file declares, its parameters filled in, reaches an
//! endpoint under each of its methods.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxid_sandbox::config::{Config, Source};
use mxid_sandbox::curp::{catalogs::Catalogs, Domain};
use mxid_sandbox::engine::model::ProviderDef;
use mxid_sandbox::engine::{self, model, parse_module};
use mxid_sandbox::providers;
use mxid_sandbox::router::{Match, Router};

const CATALOGS: &str = include_str!("../../fixtures/catalogs.yaml");
const NAMES: &str = include_str!("../../fixtures/names.yaml");
const PERSONAS: &str = include_str!("../../fixtures/personas.yaml");

fuzz_target!(|data: &[u8]| {
    let Some((&which, mut rest)) = data.split_first() else {
        return;
    };
    let mode = which % 7;
    // A scenario file's second byte picks the provider module.
    let mut pick = 0;
    if mode == 0 {
        let Some((&p, r)) = rest.split_first() else {
            return;
        };
        (pick, rest) = (p, r);
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode >= 5 {
        // The user's path whole: read_yaml (byte-order mark, check_yaml),
        // the typed parse, webhook URLs, then the checks against the
        // embedded scenario files. Credentials are read only from a folder
        // (`Fixtures::load` takes no text): this process's, removed after
        // each input.
        let dir = std::env::temp_dir().join(format!("mxid-fuzz-yaml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary fixtures folder");
        std::fs::write(dir.join("credentials.yaml"), text).expect("write credentials.yaml");
        let config = Config {
            fixtures: Source::Dir(dir.clone()),
            strict_auth: mode == 6,
            ..Config::default()
        };
        let _ = engine::load(&config, &providers::all());
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // What read_yaml does before the typed loaders. They run whatever it
    // says, so that they are fuzzed on every text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let _ = model::check_yaml("fuzz.yaml", text);
    match mode {
        0 => {
            let modules = providers::all();
            let m = &modules[usize::from(pick) % modules.len()];
            if let Ok(def) = parse_module(&**m, "fuzz.yaml", text) {
                every_path_reaches_an_endpoint(&def);
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

/// Every path `def` declares, its parameters filled in, reaches an
/// endpoint under each of its methods. A parameter's value is `x`, or a
/// segment that has text around a parameter, filled with `x` (`x.mx` for
/// `{tenant}.mx`): a value that leads matchit's tree into that parameter
/// from another path's.
fn every_path_reaches_an_endpoint(def: &ProviderDef) {
    let Ok(router) = Router::build(std::slice::from_ref(def)) else {
        return;
    };
    let paths = || def.endpoints.iter().flat_map(|e| e.paths.iter());
    let mut values = vec!["x".to_string()];
    values.extend(
        paths()
            .flat_map(|p| p.split('/'))
            .filter(|s| s.contains('{') && !s.contains("{*"))
            .map(|s| instance(s, "x"))
            .filter(|v| v != "x")
            .take(16),
    );
    for e in &def.endpoints {
        for method in &e.methods {
            for (path, value) in e
                .paths
                .iter()
                .flat_map(|p| values.iter().map(move |v| (p, v)))
            {
                let path = instance(path, value);
                assert!(
                    matches!(router.find(method, &path), Match::Found { .. }),
                    "{method} {path}, an instance of a declared path, reaches nothing"
                );
            }
        }
    }
}

/// `route` as a request sends it: each parameter (`{id}`, `{*rest}`)
/// `value`, an escaped brace (`{{`, `}}`) the brace.
fn instance(route: &str, value: &str) -> String {
    let mut out = String::new();
    let mut chars = route.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                out.push(c);
            }
            '{' => {
                chars.by_ref().take_while(|&c| c != '}').for_each(drop);
                out.push_str(value);
            }
            c => out.push(c),
        }
    }
    out
}

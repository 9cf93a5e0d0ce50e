//! `mxid-sandbox check DIR`: a folder of the user's scenario files, or of
//! their fixture files, loaded as `serve` would load it, with the other
//! kind from a second folder or the embedded files.

use std::path::{Path, PathBuf};

use crate::config::{Config, Source};
use crate::engine::{self, fixtures, fixtures::EMBEDDED};
use crate::providers;

/// Why a folder did not pass, and what to add under the error when the
/// other kind of files were the embedded ones.
#[derive(Debug)]
pub struct Refusal {
    pub message: String,
    pub note: Option<String>,
}

impl Refusal {
    fn new(message: String) -> Refusal {
        Refusal {
            message,
            note: None,
        }
    }
}

/// Checks `dir` (as `serve --strict-auth` loads it, with `strict_auth`);
/// the line to print when it passes.
pub fn run(
    dir: &Path,
    scenarios: Option<PathBuf>,
    fixtures: Option<PathBuf>,
    strict_auth: bool,
) -> Result<String, Refusal> {
    // A folder that is missing or is not one, in `serve`'s words without
    // its `cannot read folder:` (the folder is what `check` was given, not
    // a flag's); one it cannot look at, as `serve` words it.
    if let Some(why) = engine::not_a_folder(dir) {
        let why = match why.as_str() {
            engine::NOT_A_FOLDER | engine::NO_SUCH_FOLDER => why,
            _ => format!("cannot read folder: {why}"),
        };
        return Err(Refusal::new(format!("{}: {why}", dir.display())));
    }
    let modules = providers::all();
    let is_provider = |stem: &str| modules.iter().any(|m| m.id() == stem);
    let is_fixture = |stem: &str| {
        EMBEDDED
            .iter()
            .any(|(n, _)| n.trim_end_matches(".yaml") == stem)
    };
    // As `serve` words a folder it cannot read.
    let stems = engine::yaml_stems(dir)
        .map_err(|e| Refusal::new(format!("{}: cannot read folder: {e}", dir.display())))?;
    if stems.is_empty() {
        return Err(Refusal::new(format!(
            "{}: no scenario or fixture files (*.yaml) to check",
            dir.display()
        )));
    }
    let has_scenarios = stems.iter().any(|(s, _)| is_provider(s));
    let has_fixtures = stems.iter().any(|(s, _)| is_fixture(s));
    if has_scenarios && has_fixtures {
        return Err(Refusal::new(format!(
            "{}: holds both scenario and fixture files; check them in separate folders (check DIR --fixtures DIR2 checks scenario files with their fixtures)",
            dir.display()
        )));
    }
    // A folder of neither kind's names: its first file is named with both
    // kinds' names, for either may be misspelled (persona.yaml).
    if !has_scenarios && !has_fixtures {
        let (stem, ext) = stems.iter().min().expect("stems is not empty");
        // `CURPV5.yaml`: a name of either kind in another case, told as
        // `serve` tells it.
        let lower = stem.to_ascii_lowercase();
        if is_provider(&lower) || is_fixture(&lower) {
            return Err(Refusal::new(format!(
                "{}: write the name in lower case ({lower}.{}): files are read by that name",
                dir.join(format!("{stem}.{ext}")).display(),
                ext.to_ascii_lowercase()
            )));
        }
        let providers: Vec<&str> = modules.iter().map(|m| m.id()).collect();
        return Err(Refusal::new(format!(
            "{}: no provider '{stem}' and no fixture file '{stem}'; scenario files are named after {}, fixture files are named {}",
            dir.join(format!("{stem}.{ext}")).display(),
            providers.join(", "),
            fixtures::file_names()
        )));
    }
    // The companion flag names the other kind: one of DIR's own kind would
    // be ignored without a word.
    let (kind, other, own_given, companion_given) = if has_fixtures {
        (
            "fixture",
            "scenario",
            fixtures.is_some(),
            scenarios.is_some(),
        )
    } else {
        (
            "scenario",
            "fixture",
            scenarios.is_some(),
            fixtures.is_some(),
        )
    };
    if own_given {
        return Err(Refusal::new(format!(
            "{}: holds {kind} files, and --{kind}s gives {kind} files too; give {other} files there (check DIR --{other}s DIR2)",
            dir.display()
        )));
    }
    let companion = if has_fixtures { &scenarios } else { &fixtures }.clone();
    let (scenarios, fixtures) = if has_fixtures {
        (scenarios, Some(dir.to_path_buf()))
    } else {
        (Some(dir.to_path_buf()), fixtures)
    };
    let config = Config {
        scenarios: scenarios.map(Source::Dir).unwrap_or_default(),
        fixtures: fixtures.map(Source::Dir).unwrap_or_default(),
        strict_auth,
        ..Config::default()
    };
    match engine::load(&config, &modules) {
        Ok(defs) => {
            let scenarios: usize = defs
                .providers
                .iter()
                .flat_map(|p| &p.endpoints)
                .map(|e| e.scenarios.len())
                .sum();
            // A fixture folder is checked with scenario files it does not
            // hold: the count is theirs, and says whose.
            let with = match (kind, companion_given) {
                ("fixture", false) => "fixture files, with the embedded scenario files: ",
                ("fixture", true) => "fixture files, with the --scenarios files: ",
                _ => "",
            };
            Ok(format!(
                "{}: ok ({with}{} providers, {scenarios} scenarios)",
                crate::stderr::printable(&dir.display().to_string()),
                defs.providers.len()
            ))
        }
        Err(mut e) => {
            // The companion folder itself refused (it cannot be read) is
            // named after its flag, as `serve` names its folders.
            if companion.is_some_and(|c| c.display().to_string() == e.file) {
                e.file = format!("--{other}s {}", e.file);
            }
            Err(Refusal {
                message: e.to_string(),
            note: (!companion_given).then(|| {
                format!("(checked with the embedded {other} files; check DIR --{other}s DIR2 checks with yours)")
            }),
            })
        }
    }
}

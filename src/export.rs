//! `mxid-sandbox export DIR`: the embedded scenario and fixture files,
//! written out as the start of a user's own folders. A scenarios or
//! fixtures folder replaces an embedded file whole, so a user who changes
//! one setting (validacurp's token quota, async's `processing_delay`)
//! starts from the whole file, which the binary alone would not show.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::fixtures::EMBEDDED;
use crate::providers;
use crate::stderr::printable;

/// Writes `DIR/scenarios/<provider>.yaml` and `DIR/fixtures/<file>.yaml`;
/// the line to print when done. Nothing is written over: when any of the
/// files is there already (or its `.yml` spelling, which `serve` would
/// refuse beside it), nothing is written.
pub fn run(dir: &Path) -> Result<String, String> {
    let shown = |p: &Path| printable(&p.display().to_string()).into_owned();
    let (scenarios, fixtures) = (dir.join("scenarios"), dir.join("fixtures"));
    let modules = providers::all();
    let files: Vec<(PathBuf, &str)> = modules
        .iter()
        .map(|m| (scenarios.join(format!("{}.yaml", m.id())), m.yaml()))
        .chain(
            EMBEDDED
                .iter()
                .map(|(name, text)| (fixtures.join(name), *text)),
        )
        .collect();
    for (path, _) in &files {
        let yml = path.with_extension("yml");
        let there = [path.as_path(), yml.as_path()]
            .into_iter()
            .find(|p| p.symlink_metadata().is_ok());
        if let Some(there) = there {
            return Err(format!(
                "{}: is there already; export writes over nothing (name a new folder)",
                shown(there)
            ));
        }
    }
    for folder in [&scenarios, &fixtures] {
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("{}: cannot make the folder: {e}", shown(folder)))?;
    }
    for (path, text) in &files {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: cannot write: {e}", shown(path)))?;
    }
    Ok(format!(
        "wrote {} scenario files to {} and {} fixture files to {}: edit them, then serve --scenarios {} --fixtures {}",
        modules.len(),
        shown(&scenarios),
        EMBEDDED.len(),
        shown(&fixtures),
        shown(&scenarios),
        shown(&fixtures),
    ))
}

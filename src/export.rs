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
    // What this run makes, taken back if a write fails (a full disk, a
    // file-size limit): a cut file left behind would refuse the run that
    // follows, as being there already, and read as a broken scenario file.
    let mut made: Vec<&Path> = Vec::new();
    let mut written: Vec<&Path> = Vec::new();
    let take_back = |written: &[&Path], made: &[&Path]| {
        for path in written {
            let _ = std::fs::remove_file(path);
        }
        // Emptied, the folders this run made go too (a folder that was
        // there stays); the innermost first.
        for folder in made.iter().rev() {
            let _ = std::fs::remove_dir(folder);
        }
    };
    // `DIR` and those of its parents that are not there, outermost first.
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && a.symlink_metadata().is_err())
        .collect();
    let folders = missing.into_iter().rev();
    for folder in folders.chain([scenarios.as_path(), fixtures.as_path()]) {
        if folder.symlink_metadata().is_err() {
            if let Err(e) = std::fs::create_dir(folder) {
                take_back(&written, &made);
                return Err(format!("{}: cannot make the folder: {e}", shown(folder)));
            }
            made.push(folder);
        }
    }
    for (path, text) in &files {
        let wrote = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| {
                written.push(path);
                f.write_all(text.as_bytes())
            });
        if let Err(e) = wrote {
            take_back(&written, &made);
            return Err(format!(
                "{}: cannot write: {e} (nothing written is left)",
                shown(path)
            ));
        }
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

//! "Every error path has a test" (the brief): the error paths no other
//! module reached, found by listing each message and refusal in `src/` and
//! looking for a test of it. `engine`: the admin API, the server, the
//! router, the CLI and the loaders; `domain`: the CURP domain, the body
//! parsers and the providers.

mod domain;
mod engine;

/// `mxid-sandbox ARGS` exits 1 with every needle in its stderr: the stderr.
fn refused_with(args: &[&str], needles: &[&str]) -> String {
    let out = crate::engine::run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: no {n:?} in {stderr}");
    }
    stderr
}

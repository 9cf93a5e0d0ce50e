#!/usr/bin/env bash
# The whole suite (`cargo test`) built with AddressSanitizer, the server
# processes the tests start included: a read or write outside an
# allocation, a use after free or a double free, in our code or in the
# unsafe code of a dependency (hyper, h2, bytes, tokio, compact_str…),
# ends the process with a report; and memory that nothing points to when
# a process ends is reported as a leak. Each report goes into one folder;
# the run fails when there is any.
#
#   tests/sanitize.sh     # ~6 minutes on 2 CPUs; writes target/sanitize/
#
# Needs rustup's nightly toolchain (`-Zsanitizer` is unstable), added when
# missing. Built with the system allocator (`--no-default-features`): the
# sanitizer sees the allocations it intercepts, and jemalloc's are not
# among them. The standard library is not rebuilt with it, so its own
# code is not checked, only what it is given. What a process still points
# to at its end (a static, a thread's stack) is no leak. A process a test
# kills with SIGKILL ends without the leak check.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
host=$(rustc -vV | sed -n 's/^host: //p')

target=${SANITIZE_TARGET:-$PWD/target/sanitize}
reports="$target/reports"
rm -rf "$reports"
mkdir -p "$reports"
# Writable by every user, for the tests that run the server as another one.
chmod 1777 "$reports"
export CARGO_TARGET_DIR="$target"
# With --target, the flags reach the crates of the suite and the server,
# not build scripts and proc macros. Each allocation's stack is taken by
# frame pointers: taken by DWARF, it slows the suite sixfold.
export RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers=yes"
# A report goes to the folder; a leak does not change an exit status the
# tests read (an error still ends its process).
export ASAN_OPTIONS="detect_leaks=1:exitcode=0:log_path=$reports/asan"

# First, that a report is seen: a program that leaks 4 KB, built the same
# way.
canary="$target/canary"
rm -rf "$canary"
mkdir -p "$canary"
cat >"$canary/main.rs" <<'EOF'
#[inline(never)]
fn lose() {
    std::mem::forget(vec![7u8; 4096]);
}
fn main() {
    lose();
}
EOF
# shellcheck disable=SC2086
rustup run nightly rustc $RUSTFLAGS --edition 2021 -o "$canary/leaks" "$canary/main.rs"
ASAN_OPTIONS="detect_leaks=1:exitcode=0:log_path=$canary/asan" "$canary/leaks"
if ! grep -qs "4096 byte(s) leaked" "$canary"/asan.*; then
    echo "sanitize: the canary's leak was not reported; the check sees nothing" >&2
    exit 1
fi

# What the sanitizer itself changes: it makes the code some three times
# slower, and keeps freed memory aside for a while (its quarantine), so a
# test that bounds a cost in time or measures the process's memory reads
# the sanitizer, not the server.
skip=(
    a_router_of_150_000_paths_is_built_within_the_bound
    listing_the_journal_costs_about_its_text
)
status=0
cargo +nightly test --no-default-features --target "$host" --no-fail-fast -- \
    "${skip[@]/#/--skip=}" >"$target/test.log" 2>&1 || status=$?
grep -E '^test result|FAILED' "$target/test.log" || true
if [ "$status" != 0 ]; then
    echo "sanitize: the tests did not all pass (see $target/test.log)"
fi

if compgen -G "$reports/asan.*" >/dev/null; then
    grep -h "^SUMMARY" "$reports"/asan.* | sort | uniq -c
    echo "sanitize: reports written, in $reports"
    exit 1
fi
echo "sanitize: no reports"
exit $status

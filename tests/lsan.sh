#!/usr/bin/env bash
# Memory that nothing points to any more when a process ends: the whole
# suite (`cargo test`) built with LeakSanitizer, the server processes the
# tests start included. A process that leaked writes a report into one
# folder; the run fails when there is any.
#
#   tests/lsan.sh     # ~8 minutes on 2 CPUs; writes target/lsan/
#
# Needs rustup's nightly toolchain (`-Zsanitizer` is unstable), added when
# missing. Built with the system allocator (`--no-default-features`): the
# sanitizer sees the allocations it intercepts, and jemalloc's are not
# among them. What a process still points to at its end (a static, a
# thread's stack) is no leak. A process a test kills with SIGKILL, or that
# aborts, ends without the check. The sanitizer takes each allocation's
# stack by frame pointers: taken by DWARF (`fast_unwind_on_malloc=0`),
# it slows the suite sixfold, and the tests that hold a cost to a bound of
# time fail.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
host=$(rustc -vV | sed -n 's/^host: //p')

target=${LSAN_TARGET:-$PWD/target/lsan}
reports="$target/reports"
rm -rf "$reports"
mkdir -p "$reports"
# Writable by every user, for the tests that run the server as another one.
chmod 1777 "$reports"
export CARGO_TARGET_DIR="$target"
# With --target, the flags reach the crates of the suite and the server,
# not build scripts and proc macros.
export RUSTFLAGS="-Zsanitizer=leak -Cforce-frame-pointers=yes"
# A leak is reported in the folder and does not change an exit status the
# tests read.
export LSAN_OPTIONS="exitcode=0:log_path=$reports/lsan"

# First, that a leak is seen: a program that leaks 4 KB, built the same way.
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
LSAN_OPTIONS="exitcode=0:log_path=$canary/lsan" "$canary/leaks"
if ! grep -qs "4096 byte(s) leaked" "$canary"/lsan.*; then
    echo "lsan: the canary's leak was not reported; the check sees nothing" >&2
    exit 1
fi

status=0
cargo +nightly test --no-default-features --target "$host" --no-fail-fast \
    >"$target/test.log" 2>&1 || status=$?
grep -E '^test result|FAILED' "$target/test.log" || true
if [ "$status" != 0 ]; then
    echo "lsan: the tests did not all pass (see $target/test.log)"
fi

if compgen -G "$reports/lsan.*" >/dev/null; then
    grep -h "SUMMARY" "$reports"/lsan.*
    echo "lsan: leaks reported, in $reports"
    exit 1
fi
echo "lsan: no leaks reported"
exit $status

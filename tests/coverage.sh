#!/usr/bin/env bash
# The lines of src/ that no test runs: the whole suite (`cargo test`) built
# with LLVM's source-based coverage, the server processes the tests start
# included, then a summary per file and the list of lines missed.
#
#   tests/coverage.sh     # ~5 minutes on 2 CPUs; writes target/coverage/out/
#
# Needs rustup's llvm-tools (added when missing) and python3. A process a
# test kills (SIGKILL) or starts under a limit on file size writes no
# profile, or half of one (merged without it): the lines only such a
# process runs read as missed. The profile folder is writable by every
# user, for the tests that run the server as another one.
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
if [ ! -x "$tools/llvm-profdata" ]; then
    rustup component add llvm-tools
fi

target=${COVERAGE_TARGET:-$PWD/target/coverage}
out="$target/out"
rm -rf "$out"
mkdir -p "$out/profiles"
chmod 1777 "$out/profiles"
export CARGO_TARGET_DIR="$target"
export RUSTFLAGS="-C instrument-coverage"
export LLVM_PROFILE_FILE="$out/profiles/%p-%m.profraw"

# The executables the report reads: the test binaries and the server's.
if ! cargo test --no-run --message-format=json 2>"$out/build.log" |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])
' | sort -u >"$out/objects"; then
    cat "$out/build.log" >&2
    exit 1
fi

status=0
cargo test --no-fail-fast >"$out/test.log" 2>&1 || status=$?
grep -E '^test result|FAILED' "$out/test.log" || true
if [ "$status" != 0 ]; then
    echo "coverage: the tests did not all pass (see $out/test.log); the report covers the run as it was"
fi

"$tools/llvm-profdata" merge -sparse --failure-mode=all "$out"/profiles/*.profraw \
    -o "$out/merged.profdata" 2>"$out/merge.log" || {
    cat "$out/merge.log"
    exit 1
}
# The first executable named as such, the others after `--object`; the
# report is of src/ alone, wherever the dependencies' sources are.
objects=$(sed '1!s/^/--object=/' "$out/objects")
# shellcheck disable=SC2086
"$tools/llvm-cov" report --instr-profile="$out/merged.profdata" $objects "$PWD/src" |
    tee "$out/report.txt" | tail -1
# shellcheck disable=SC2086
"$tools/llvm-cov" export --format=lcov --instr-profile="$out/merged.profdata" $objects \
    "$PWD/src" >"$out/lcov.info"

# Each line no test ran, under its file: a line counts as run when any
# object ran it.
python3 - "$out/lcov.info" "$out/missed.txt" "$PWD/" <<'EOF'
import sys
lcov, missed_path, root = sys.argv[1:]
missed, file = {}, None
for line in open(lcov):
    if line.startswith("SF:"):
        file = line[3:].strip()
    elif line.startswith("DA:"):
        number, count = line[3:].split(",")[:2]
        if int(count) == 0:
            missed.setdefault(file, set()).add(int(number))
with open(missed_path, "w") as out:
    for file in sorted(missed):
        text = open(file).read().split("\n")
        out.write(f"== {file.removeprefix(root)} ({len(missed[file])})\n")
        for n in sorted(missed[file]):
            out.write(f"{n:5}: {text[n - 1]}\n")
print(f"{sum(map(len, missed.values()))} lines missed, listed in {missed_path}")
EOF
echo "report: $out/report.txt"
exit $status

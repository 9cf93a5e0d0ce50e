#!/usr/bin/env bash
# The soak: 100,000 mixed requests over every registered provider at 64
# connections — the success path, every scenario of every endpoint forced by
# header (those answering 5xx on purpose included), bad input (broken JSON,
# missing fields, bad CURPs, unknown paths) and connection faults
# (connection_reset, empty_response, malformed_body). It fails unless there
# is no 5xx other than the intended ones, no wrong scenario, no broken
# connection that was not a fault, the server is still up, and its RSS is
# flat (the last quarter of the run grows it by at most 10 %, once the
# bounded store of async verifications has been filled up front).
#
#   bench/soak.sh                  # 100k requests
#   SOAK_REQUESTS=20000 bench/soak.sh
#
# Runs with the embedded scenarios and limits: counters may answer their
# documented limits (4xx), which is part of the mix.
set -euo pipefail
. "$(dirname "$0")/common.sh"
require curl python3
OUT=$ROOT/bench/out
N=${SOAK_REQUESTS:-100000}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --release --quiet --bin mxid-sandbox --example load
BIN=$ROOT/target/release/mxid-sandbox
LOAD=$ROOT/target/release/examples/load

CURPS=$OUT/soak_curps.txt
# A thousand CURPs, as a large test suite would use: the per-CURP state
# (counters, cached people) reaches its size early, so growth after that
# would be a leak.
"$BIN" curp random --n 1000 --seed 1 | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))' >"$CURPS"

"$BIN" serve --port 0 >"$OUT/soak_server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 500); do
  grep -q "listening on http://" "$OUT/soak_server.log" && break
  sleep 0.01
done
ADDR=$(sed -n 's#.*listening on http://\([^ ]*\).*#\1#p' "$OUT/soak_server.log" | head -1)
[ -n "$ADDR" ] || { echo "no ready line in $OUT/soak_server.log" >&2; cat "$OUT/soak_server.log" >&2; exit 1; }
# 0 once the server is gone: the summary then says it died.
# (A zombie's status has no VmRSS line.)
rss() { awk '/^VmRSS/ {print $2; found = 1} END {if (!found) print 0}' "/proc/$PID/status" 2>/dev/null || echo 0; }

sleep 0.5
IDLE=$(rss)
# The bounded stores fill first: the async provider keeps up to 10,000
# verifications per namespace (about 2 KB each), more than the soak itself
# creates, so they are created up front. The journal, counters, histories
# and caches reach their size within the first quarter.
# A load run that ends in error (the server gone) is said in the summary,
# not left to end the script.
clients=ok
"$LOAD" fill "$ADDR" 10000 64 | tee "$OUT/soak_fill.txt" || clients=failed
RSS=("$(rss)")
for q in 1 2 3 4; do
  : >"$OUT/soak$q.txt"
  if [ $clients = ok ]; then
    "$LOAD" soak "$ADDR" $((N / 4)) 64 "$CURPS" | tee "$OUT/soak$q.txt" || clients=failed
  fi
  RSS+=("$(rss)")
done

alive=yes
kill -0 "$PID" 2>/dev/null || alive=no
health=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/__admin/health" || echo 000)
sum() { cat "$OUT"/soak[1-4].txt | sed -n "s/.*$1=\([0-9]*\).*/\1/p" | awk '{s += $1} END {print s + 0}'; }
failures=$(sum failures)
intended=$(sum intended_5xx)
panics=$(grep -c "panicked" "$OUT/soak_server.log" || true)
# Flat: the bounded stores (journal, counters, async verifications, cached
# people) fill in the first quarters; the last quarter may add at most 10 %.
flat=$(python3 -c "print('yes' if ${RSS[4]} <= ${RSS[3]} * 1.10 else 'no')")

echo
echo "soak summary: $N requests at 64 connections"
echo "  failures (unintended 5xx, wrong scenario, broken connection): $failures"
echo "  intended 5xx (forced scenarios): $intended"
echo "  server alive: $alive, health: $health, panics in its log: $panics, load runs: $clients"
echo "  RSS (MB) idle $((IDLE / 1024)); with the async store filled and after each quarter: $(for r in "${RSS[@]}"; do printf '%s ' $((r / 1024)); done)(flat: $flat)"
if [ "$failures" -ne 0 ] || [ $clients != ok ] || [ "$alive" != yes ] || [ "$health" != 200 ] || [ "$panics" -ne 0 ] || [ "$flat" != yes ]; then
  echo "SOAK FAILED"
  exit 1
fi
echo "SOAK OK"

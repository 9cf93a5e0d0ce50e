#!/usr/bin/env bash
# The benchmark against the limit: one run, one machine, release builds.
#
# Starts the sandbox and a bare hyper 1 + tokio server (examples/bare_hyper.rs,
# the physical limit: it answers every request with the same bytes as the
# provider's success answer) and drives both with wrk. Prints a table of
# ratios against the targets of issue 6, then the calibration of those
# ratios (bare hyper with busy CPU per request; the engine alone, hot and
# with cold caches). Providers not registered in this build are skipped.
#
#   bench/run.sh                 # everything, 10 s per wrk run
#   BENCH_SECS=3 bench/run.sh    # shorter runs
#   BENCH_ROUNDS=1 bench/run.sh  # one wrk run per cell instead of three
#   BENCH_ONLY=curpv5 BENCH_CONNS=50 BENCH_ROUNDS=5 bench/run.sh
#                                # only those providers' throughput cells, at
#                                # those connection counts (a cell read again)
#
# Needs: cargo, curl, python3; installs wrk when missing. Writes its raw
# output under bench/out/ (ignored by git).
set -euo pipefail
. "$(dirname "$0")/common.sh"
OUT=$ROOT/bench/out
SECS=${BENCH_SECS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
ONLY=${BENCH_ONLY:-}
CONNS=${BENCH_CONNS:-1 50}
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq wrk >/dev/null
fi
require curl python3
# Ten thousand connections need as many descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
  echo "warning: ulimit -n is $(ulimit -n); the 10,000-connection test needs more" >&2
fi

echo "building (release)…" >&2
cargo build --release --quiet --bin mxid-sandbox --example bare_hyper --example load --example handle
BIN=$ROOT/target/release/mxid-sandbox
BARE=$ROOT/target/release/examples/bare_hyper
LOAD=$ROOT/target/release/examples/load
HANDLE=$ROOT/target/release/examples/handle

# The servers and clients still running: killed on every way out.
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# Starts a server in the background; sets SERVER_PID and SERVER_ADDR.
start() {
  local log=$OUT/$1.log
  shift
  "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 500); do
    if grep -q "listening on http://" "$log" 2>/dev/null; then break; fi
    sleep 0.01
  done
  SERVER_ADDR=$(sed -n 's#.*listening on http://\([^ ]*\).*#\1#p' "$log" | head -1)
  [ -n "$SERVER_ADDR" ] || { echo "no ready line in $log" >&2; cat "$log" >&2; exit 1; }
}
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  # Reaped: its number may be another process's from now on.
  local left=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || left+=("$p"); done
  PIDS=("${left[@]}")
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
result() { echo "$*" >>"$RESULTS"; }

# --- inputs ------------------------------------------------------------------
CURPS=$OUT/curps.txt
# Adults' CURPs (born by 2007: position 17 a digit is the 1900s, a letter
# the 2000s): the success path of every provider (nss finds no NSS for
# someone under 16, as IMSS would not).
"$BIN" curp random --n 20000 --seed 1 | python3 -c '
import json, sys
adults = [c for c in json.load(sys.stdin) if c[16].isdigit() or int(c[4:6]) <= 7]
print("\n".join(adults))' >"$CURPS"
REGISTERED=$("$BIN" scenarios --json | python3 -c 'import json,sys; print(" ".join(dict.fromkeys(r["provider"] for r in json.load(sys.stdin))))')
echo "registered providers: $REGISTERED" >&2

# The embedded scenario files with every `settings:` limit raised to a
# billion, those off by default (`null`: validacurp's token quota,
# accuauth's rate and quota) included: every counter counts, but no limit
# turns the success path into an error during the run. (`webhook_attempts`
# is a count of tries, not a limit: left as it is.) And async's
# `processing_delay` is 0s: the status read measured is the completed
# answer from the first request on, the body bare hyper is given. Written
# by examples/handle, which times the engine on the same files.
SCEN=$OUT/scenarios
rm -rf "$SCEN"
"$HANDLE" raised "$SCEN"
"$BIN" check "$SCEN" >&2

SANDBOX=("$BIN" serve --port 0 --scenarios "$SCEN")
CREDS='apikey: bench-key|x-api-key: bench-key|authorization: Bearer bench-token|x-df-api-id: bench-id|x-df-api-secret: bench-secret'
CURL_CREDS=(-H 'apikey: bench-key' -H 'x-api-key: bench-key' -H 'authorization: Bearer bench-token' -H 'x-df-api-id: bench-id' -H 'x-df-api-secret: bench-secret')

# --- 1. start time -----------------------------------------------------------
if [ -z "$ONLY" ]; then
  echo "ready time…" >&2
  result "ready $("$LOAD" ready 20 "${SANDBOX[@]}")"
  result "ready_bare $("$LOAD" ready 20 "$BARE" 0)"
fi

# --- 2. throughput and latency per provider -----------------------------------
# provider id | method | path | body. async: the status read of one
# verification created before the run (the call a client repeats while it
# waits; creating one schedules work and webhooks, which is not a hot path).
PROVIDERS=(
  "curpv5|POST|/api/curp/bycurp|{\"curp\":\"{CURP}\"}"
  "validacurp|POST|/curp/getData|{\"curp\":\"{CURP}\"}"
  "accuauth|POST|/verify/id_check|{\"id_number\":\"{CURP}\"}"
  "nss|POST|/api/v1/imss/nss|{\"curp\":\"{CURP}\"}"
  "async|GET|ASYNC_STATUS|"
)
# A provider named in BENCH_ONLY that the list does not have would
# otherwise measure nothing, silently.
for want in ${ONLY//,/ }; do
  if ! printf '%s\n' "${PROVIDERS[@]}" | grep -q "^$want|"; then
    echo "BENCH_ONLY: no provider '$want' (measured: $(printf '%s\n' "${PROVIDERS[@]}" | cut -d'|' -f1 | xargs))" >&2
    exit 2
  fi
done
start sandbox "${SANDBOX[@]}"
SB_PID=$SERVER_PID
SB=$SERVER_ADDR
sleep 1
result "rss_idle_kb $(rss_kb "$SB_PID")"

# Runs wrk with the provider's request; prints the WRK line.
run_wrk() { # addr conns
  local t=2
  [ "$2" -lt 2 ] && t=1
  BENCH_CURPS=$CURPS wrk -t"$t" -c"$2" -d"${SECS}s" --latency -s bench/wrk/provider.lua "http://$1" 2>&1 |
    grep '^WRK' || echo "WRK rps=0 p50_us=0 p99_us=0 requests=0 non2xx=0 errors=-1"
}

for spec in "${PROVIDERS[@]}"; do
  IFS='|' read -r id method path body <<<"$spec"
  if [ -n "$ONLY" ] && ! grep -qw "$id" <<<"${ONLY//,/ }"; then
    continue
  fi
  if ! grep -qw "$id" <<<"$REGISTERED"; then
    result "skip $id not registered in this build"
    continue
  fi
  if [ "$path" = ASYNC_STATUS ]; then
    vid=$(curl -s "${CURL_CREDS[@]}" -H 'content-type: application/json' \
      -d '{"curp":"PXNE660720HMCXTN06"}' "http://$SB/api/AsyncVerication/NssByCurp" |
      python3 -c 'import json,sys; print(json.load(sys.stdin).get("verificationId",""))' 2>/dev/null || true)
    if [ -z "$vid" ]; then
      result "skip $id no verificationId from NssByCurp"
      continue
    fi
    path="/api/AsyncVerication/verificationStatus?verificationId=$vid"
  fi
  first=$(head -1 "$CURPS")
  url="http://$SB${path//\{CURP\}/$first}"
  data=${body//\{CURP\}/$first}
  args=(-s -D "$OUT/$id.headers" -o "$OUT/$id.body" -X "$method" "${CURL_CREDS[@]}" -H 'content-type: application/json')
  [ -n "$data" ] && args+=(-d "$data")
  code=$(curl "${args[@]}" -w '%{http_code}' "$url")
  scenario=$(awk -F': ' 'tolower($1)=="x-sandbox-scenario" {gsub("\r",""); print $2}' "$OUT/$id.headers")
  if [ "$code" != 200 ]; then
    result "skip $id success path answered $code ($scenario)"
    continue
  fi
  if [ "$id" = async ] && ! grep -q '"verificationStatus":4' "$OUT/$id.body"; then
    result "skip $id the verification did not complete: $(head -c 200 "$OUT/$id.body")"
    continue
  fi
  echo "$id: $method $path → 200 $scenario, $(wc -c <"$OUT/$id.body") bytes" >&2
  start "bare_$id" "$BARE" 0 "$OUT/$id.body"
  BARE_PID=$SERVER_PID
  export BENCH_METHOD=$method BENCH_PATH=$path BENCH_BODY=$body BENCH_HEADERS=$CREDS
  # Rounds alternate which server goes first: the machine's speed drifts
  # over minutes, and the report compares the medians.
  for c in $CONNS; do
    for r in $(seq 1 "$ROUNDS"); do
      if [ $((r % 2)) = 1 ]; then
        s=$(run_wrk "$SB" "$c")
        b=$(run_wrk "$SERVER_ADDR" "$c")
      else
        b=$(run_wrk "$SERVER_ADDR" "$c")
        s=$(run_wrk "$SB" "$c")
      fi
      echo "  c=$c round $r sandbox: $s | bare: $b" >&2
      result "wrk $id $c sandbox $s"
      result "wrk $id $c bare $b"
    done
  done
  stop "$BARE_PID"
  # The last answers of the run are still the success path.
  last=$(curl -s "http://$SB/__admin/requests?provider=$id&limit=200" |
    python3 -c 'import json,sys,collections; print(dict(collections.Counter(e.get("scenario") for e in json.load(sys.stdin))))')
  result "journal $id $last"
done
stop "$SB_PID"
if [ -n "$ONLY" ]; then
  python3 bench/report.py "$RESULTS" "$SECS"
  exit 0
fi

# --- 2b. what a microsecond costs on this machine -----------------------------
# The calibration for the ratios above: bare hyper again, and bare hyper
# keeping the CPU busy BUSY nanoseconds before each answer (curpv5's body
# and request), rounds rotating which goes first. Next to it, the engine's
# own cost per request of each provider, timed without a socket
# (examples/handle): together they say how much of a ratio the emulation's
# work accounts for.
if [ -s "$OUT/curpv5.body" ]; then
  echo "calibration: bare hyper with busy CPU per request…" >&2
  export BENCH_METHOD=POST BENCH_PATH=/api/curp/bycurp BENCH_BODY='{"curp":"{CURP}"}' BENCH_HEADERS=$CREDS
  BUSY=(0 1000 2000 4000)
  for c in 1 50; do
    for r in $(seq 1 "$ROUNDS"); do
      for k in "${!BUSY[@]}"; do
        ns=${BUSY[$(((k + r) % ${#BUSY[@]}))]}
        start "busy_$ns" "$BARE" 0 "$OUT/curpv5.body" 0 "$ns"
        result "busy $ns $c $(run_wrk "$SERVER_ADDR" "$c")"
        stop "$SERVER_PID"
      done
    done
  done
fi
# Hot (one request after another), then with the CPU's caches written over
# before each request: 4 MB (past both L2 caches of this machine kind), and
# 64 MB (past its L3): what the same work costs when other work ran in between.
"$HANDLE" 200000 | awk '{print "engine", $1, "hot", "ns=" $2}' >>"$RESULTS"
COLD=4000000 "$HANDLE" 20000 | awk '{print "engine", $1, "4MB", "ns=" $2}' >>"$RESULTS"
COLD=64000000 "$HANDLE" 2000 | awk '{print "engine", $1, "64MB", "ns=" $2}' >>"$RESULTS"

# --- 3. memory: idle, after 100k and after 200k requests ----------------------
echo "memory over 200k requests…" >&2
start sandbox_mem "${SANDBOX[@]}"
sleep 1
result "mem idle_kb=$(rss_kb "$SERVER_PID")"
result "mem100k $("$LOAD" count "$SERVER_ADDR" 100000 50 "$CURPS") rss_kb=$(rss_kb "$SERVER_PID")"
result "mem200k $("$LOAD" count "$SERVER_ADDR" 100000 50 "$CURPS") rss_kb=$(rss_kb "$SERVER_PID")"
stop "$SERVER_PID"

# --- 4. ten thousand concurrent requests, each delayed 1 s -------------------
# The connections are opened first (timed apart), then every one sends its
# request at once; they are closed after the last answer, as a client pool
# keeps them. Bare hyper waiting 1 s on a tokio timer is the floor.
echo "10,000 delayed requests…" >&2
start sandbox_10k "${SANDBOX[@]}"
result "delayed $("$LOAD" delayed "$SERVER_ADDR" 10000 1s) hwm_kb=$(hwm_kb "$SERVER_PID")"
stop "$SERVER_PID"
start bare_10k "$BARE" 0 "$OUT/curpv5.body" 1000
result "delayed_bare $("$LOAD" delayed "$SERVER_ADDR" 10000 1s) hwm_kb=$(hwm_kb "$SERVER_PID")"
stop "$SERVER_PID"
# The floor for memory: what 10,000 served connections cost bare hyper, and
# the sandbox, when they stay open.
for who in bare sandbox; do
  if [ $who = bare ]; then start hold_bare "$BARE" 0; else start hold_sandbox "${SANDBOX[@]}"; fi
  "$LOAD" hold "$SERVER_ADDR" 10000 2 >"$OUT/hold_$who.txt" &
  HOLD=$!
  PIDS+=("$HOLD")
  until grep -q held "$OUT/hold_$who.txt" 2>/dev/null || ! kill -0 "$HOLD" 2>/dev/null; do sleep 0.05; done
  sleep 0.5
  result "hold_$who $(cat "$OUT/hold_$who.txt") rss_kb=$(rss_kb "$SERVER_PID")"
  stop "$HOLD"
  stop "$SERVER_PID"
done

# --- 5. injected latency ------------------------------------------------------
echo "injected latency…" >&2
start sandbox_lat "${SANDBOX[@]}"
result "latency $("$LOAD" latency "$SERVER_ADDR" 400 100)"
stop "$SERVER_PID"

# --- the table ----------------------------------------------------------------
python3 bench/report.py "$RESULTS" "$SECS"

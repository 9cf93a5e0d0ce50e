#!/usr/bin/env bash
# The soak's mix with the admin API moving underneath it: for CHAOS_SECS
# (default 90), six clients send provider requests in thirteen namespaces
# (forced scenarios, bad bodies, latencies, faults, a `hang` given up on),
# while one admin client posts and deletes overrides, moves, scales and
# resets clocks, lists and clears journals and counters, points webhooks
# at a receiver that confirms and one that does not, and redelivers; and a
# third reloads the scenario files every 0.1–0.6 s, a scenario added and
# removed each time (overrides and forced requests naming it come and go).
# It fails on a panic, a 5xx no scenario intends, an admin 5xx (but the
# documented 503 with retry-after), a request with no answer in 60 s, a
# refused reload, a journal longer than its limit or out of order, the
# server gone or not ending within 10 s of SIGTERM, or any namespace not
# answering `success` to every provider once reset.
#
#   bench/chaos.sh
#   CHAOS_SECS=300 CHAOS_SEED=2 bench/chaos.sh
#
# The webhook receivers are `examples/bare_hyper` processes: a receiver in
# the script's own Python shares its lock with the clients, and every clock
# move waits for the deliveries it makes due (README, async, Webhooks).
set -euo pipefail
. "$(dirname "$0")/common.sh"
require python3
OUT=$ROOT/bench/out/chaos
rm -rf "$OUT"
mkdir -p "$OUT"

cargo build --release --quiet --bin mxid-sandbox --example bare_hyper
BIN=$ROOT/target/release/mxid-sandbox
BARE=$ROOT/target/release/examples/bare_hyper
"$BIN" export "$OUT" >/dev/null
printf '{"completed": true}' >"$OUT/confirmed.json"

exec python3 - "$BIN" "$BARE" "$OUT" "${CHAOS_SECS:-90}" "${CHAOS_SEED:-1}" <<'EOF'
import atexit, http.client, json, random, re, signal, socket, subprocess, sys, threading, time

BIN, BARE, OUT, SECS, SEED = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
JOURNAL_LIMIT = 50
NAMESPACES = ["default"] + [f"ns{i}" for i in range(12)]
CURPS = json.loads(subprocess.run([BIN, "curp", "random", "--n", "300", "--seed", "7"],
                                  capture_output=True, text=True, check=True).stdout)
REQUESTS = {
    "curpv5": ("/api/curp/bycurp", {"apikey": "k"}, "curp"),
    "nss": ("/api/v1/imss/nss", {"x-api-key": "k"}, "curp"),
    "accuauth": ("/verify/id_check", {"x-df-api-id": "id", "x-df-api-secret": "s"}, "id_number"),
    "validacurp": ("/curp/getData", {"authorization": "Bearer t"}, "curp"),
    "async": ("/api/AsyncVerication/NssByCurp", {"apikey": "k"}, "curp"),
}
FAULTS = ["connection_reset", "empty_response", "malformed_body"]
problems, counts, lock = [], {}, threading.Lock()
server, stop = None, threading.Event()


def problem(what):
    with lock:
        problems.append(what)
        if len(problems) <= 200:
            print("PROBLEM:", what, flush=True)
    # A server gone ends the run: every request after it would say so.
    if server is not None and server.poll() is not None:
        stop.set()


def count(what):
    with lock:
        counts[what] = counts.get(what, 0) + 1


# The reload thread writes curpv5.yaml with and without this scenario.
scenario_file = f"{OUT}/scenarios/curpv5.yaml"
plain = open(scenario_file).read()
anchor = "    scenarios:\n"
assert plain.count(anchor) == 1, "curpv5.yaml has one endpoint's scenarios"
extra = plain.replace(anchor, anchor + "      chaos_extra:\n        description: added and removed by bench/chaos.sh\n"
                      "        status: 503\n        body: {chaos: true}\n")
open(scenario_file, "w").write(extra)

# Every process started here is killed however the script ends: a
# summary, an exception, SIGTERM (a CI job's time limit) or Ctrl-C.
children = []
atexit.register(lambda: [child.kill() for child in children])
signal.signal(signal.SIGTERM, lambda *_: sys.exit("chaos.sh: stopped by SIGTERM"))


def start(args, **kw):
    children.append(subprocess.Popen(args, **kw))
    return children[-1]


# Two receivers on free ports: one confirms, one answers bare hyper's
# own body (no "completed": a failed attempt, retried).
HOOKS = []
for confirms in (True, False):
    r = start([BARE, "0"] + ([f"{OUT}/confirmed.json"] if confirms else []),
              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    m = re.search(r"listening on (http://\S+)", r.stdout.readline())
    if not m:
        sys.exit("a webhook receiver did not start")
    HOOKS.append(m.group(1) + "/hook")

log = open(f"{OUT}/server.log", "w")
server = start([BIN, "serve", "--port", "0", "--scenarios", f"{OUT}/scenarios", "--fixtures", f"{OUT}/fixtures",
                "--journal-limit", str(JOURNAL_LIMIT)], stdout=log, stderr=subprocess.STDOUT)
addr = None
for _ in range(500):
    m = re.search(r"listening on http://([\d.]+):(\d+)", open(f"{OUT}/server.log").read())
    if m:
        addr = (m.group(1), int(m.group(2)))
        break
    time.sleep(0.01)
if not addr:
    sys.exit("no ready line: " + open(f"{OUT}/server.log").read())


def connection(timeout=60):
    return http.client.HTTPConnection(*addr, timeout=timeout)


def call(c, method, path, headers=None, body=None):
    data = None if body is None else body if isinstance(body, str) else json.dumps(body)
    c.request(method, path, body=data, headers={"content-type": "application/json", **(headers or {})})
    r = c.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def admin(c, method, path, body=None, ns="default"):
    status, headers, answer = call(c, method, path, {"x-sandbox-namespace": ns}, body)
    count(f"admin {status}")
    if status >= 500 and not (status == 503 and "retry-after" in headers):
        problem(f"admin {method} {path} {body} in {ns}: {status} {answer[:300]!r}")
    return status, answer


# Which scenarios answer 5xx on purpose, and each provider's names.
c = connection()
catalog = json.loads(call(c, "GET", "/__admin/scenarios")[2])
names = {p: sorted({r["name"] for r in catalog if r["provider"] == p and r["path"] == path})
         for p, (path, _, _) in REQUESTS.items()}
names["curpv5"].append("chaos_extra")
intended = {}
for p, (path, headers, field) in REQUESTS.items():
    for name in names[p]:
        status, _, _ = call(c, "POST", path, {**headers, "x-sandbox-scenario": name, "x-sandbox-namespace": "probe"},
                            {field: CURPS[0]})
        if status >= 500:
            intended.setdefault(p, set()).add(name)
call(c, "POST", "/__admin/reset", {"x-sandbox-namespace": "probe"}, {})


def clients(n):
    rnd = random.Random(SEED * 1000 + n)
    c = connection()
    while not stop.is_set():
        p = rnd.choice(list(REQUESTS))
        path, headers, field = REQUESTS[p]
        headers = dict(headers, **{"x-sandbox-namespace": rnd.choice(NAMESPACES)})
        if rnd.random() < 0.3:
            headers["x-sandbox-scenario"] = rnd.choice(names[p])
        if rnd.random() < 0.05:
            headers["x-sandbox-latency"] = rnd.choice(["5ms", "1ms..30ms"])
        fault = rnd.choice(FAULTS) if rnd.random() < 0.05 else None
        if fault:
            headers["x-sandbox-fault"] = fault
        body = {field: rnd.choice(CURPS)} if rnd.random() < 0.95 else rnd.choice(["{", "", '{"curp": 5}', "[]"])
        if rnd.random() < 0.002:
            # A hang, given up on: the server goes on.
            h = connection(timeout=0.2)
            try:
                _, answered, _ = call(h, "POST", path, dict(headers, **{"x-sandbox-fault": "hang"}), body)
                # Only the sandbox's refusal of a header (a scenario the
                # last reload removed) comes before the fault.
                if answered.get("x-sandbox-scenario") != "sandbox_error":
                    problem(f"a hang answered: {p} {headers}")
            except socket.timeout:
                count("hang given up")
            except (http.client.HTTPException, OSError) as e:
                problem(f"a hang's connection: {p} {headers}: {e!r}")
            h.close()
            continue
        try:
            status, answered, text = call(c, "POST", path, headers, body)
        except (http.client.HTTPException, OSError) as e:
            if fault in ("connection_reset", "empty_response") and not isinstance(e, socket.timeout):
                count("fault")
            else:
                problem(f"{p} {headers}: {e!r}")
            c.close()
            c = connection()
            continue
        count(f"{p} {status}")
        scenario = answered.get("x-sandbox-scenario")
        if fault in ("connection_reset", "empty_response") and scenario != "sandbox_error":
            problem(f"{fault} answered {status} {scenario} {headers}")
        if status >= 500 and scenario not in intended.get(p, set()):
            problem(f"{status} no scenario intends: {p} {headers} {scenario} {text[:200]!r}")
        if fault == "malformed_body":
            c.close()
            c = connection()


def admin_client():
    rnd = random.Random(SEED)
    c = connection()
    while not stop.is_set():
        ns, op = rnd.choice(NAMESPACES), rnd.random()
        try:
            if op < 0.25:
                p = rnd.choice(list(REQUESTS))
                body = {"provider": p, "scenario": rnd.choice(names[p])}
                if rnd.random() < 0.5:
                    body["times"] = rnd.randint(1, 5)
                if rnd.random() < 0.2:
                    body["latency"] = "10ms"
                if rnd.random() < 0.3:
                    body["path"] = REQUESTS[p][0]
                admin(c, "POST", "/__admin/overrides", body, ns)
            elif op < 0.32:
                status, listed = admin(c, "GET", "/__admin/overrides", None, ns)
                ids = [o["id"] for o in json.loads(listed)] if status == 200 else []
                if ids:
                    admin(c, "DELETE", f"/__admin/overrides/{rnd.choice(ids)}", None, ns)
            elif op < 0.36:
                admin(c, "DELETE", "/__admin/overrides", None, ns)
            elif op < 0.46:
                move = rnd.choice([{"advance": "1h"}, {"advance": "1d"}, {"advance": "10s"}, {"scale": rnd.choice([0, 1, 10])}])
                admin(c, "POST", "/__admin/clock", move, ns)
            elif op < 0.50:
                admin(c, "POST", "/__admin/reset", {}, ns)
            elif op < 0.58:
                listing = rnd.choice(["/__admin/requests", "/__admin/requests?limit=5", "/__admin/counters",
                                      "/__admin/verifications", "/__admin/webhooks/deliveries", "/__admin/webhooks"])
                status, listed = admin(c, "GET", listing, None, ns)
                if status == 200 and listing == "/__admin/requests":
                    ids = [e["id"] for e in json.loads(listed)]
                    if len(ids) > JOURNAL_LIMIT or ids != sorted(set(ids)):
                        problem(f"journal of {ns}: {len(ids)} entries, ids {ids[:5]} … {ids[-5:]}")
            elif op < 0.62:
                admin(c, "DELETE", rnd.choice(["/__admin/requests", "/__admin/counters"]), None, ns)
            elif op < 0.72:
                admin(c, "PUT", "/__admin/webhooks/k", {"url": rnd.choice(HOOKS)}, ns)
            elif op < 0.74:
                admin(c, "DELETE", "/__admin/webhooks/k", None, ns)
            elif op < 0.80:
                status, listed = admin(c, "GET", "/__admin/verifications", None, ns)
                made = json.loads(listed) if status == 200 else []
                if made:
                    v = rnd.choice(made)["verificationId"]
                    admin(c, "POST", f"/__admin/webhooks/deliveries/{v}/redeliver", {}, ns)
                    status, answered, text = call(c, "GET", f"/api/AsyncVerication/verificationStatus?verificationId={v}",
                                                  {"apikey": "k", "x-sandbox-namespace": ns})
                    count(f"verificationStatus {status}")
                    if status >= 500 and answered.get("x-sandbox-scenario") not in intended.get("async", set()):
                        problem(f"verificationStatus {status} {text[:200]!r}")
            else:
                time.sleep(0.002)
        except (http.client.HTTPException, OSError) as e:
            problem(f"admin client: {e!r}")
            c.close()
            c = connection()


def reloads():
    rnd = random.Random(SEED + 1)
    c = connection()
    with_extra = True
    while not stop.is_set():
        time.sleep(rnd.uniform(0.1, 0.6))
        with_extra = not with_extra
        open(scenario_file, "w").write(extra if with_extra else plain)
        try:
            status, answer = admin(c, "POST", "/__admin/reload", {})
            if status != 200:
                problem(f"reload {status} {answer[:300]!r}")
        except (http.client.HTTPException, OSError) as e:
            problem(f"reload client: {e!r}")
            c.close()
            c = connection()


# Daemons: an exception in the main thread ends the script, not waiting
# for them.
threads = [threading.Thread(target=clients, args=(n,), name=f"client {n}", daemon=True) for n in range(6)]
threads += [threading.Thread(target=admin_client, name="admin", daemon=True),
            threading.Thread(target=reloads, name="reloads", daemon=True)]
for t in threads:
    t.start()
rss, began = [], time.time()
while time.time() - began < SECS and server.poll() is None:
    time.sleep(2)
    try:
        m = re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{server.pid}/status").read())
    except OSError:
        m = None  # gone, and reaped: said below
    if m:
        rss.append(int(m.group(1)) // 1024)
stop.set()
for t in threads:
    t.join(90)
    if t.is_alive():
        problem(f"{t.name} still waiting 90 s after the run")
if server.poll() is not None:
    problem(f"the server ended: {server.returncode}")
else:
    c = connection()
    try:
        for ns in NAMESPACES:
            admin(c, "POST", "/__admin/reset", {}, ns)
            for p, (path, headers, field) in REQUESTS.items():
                status, answered, text = call(c, "POST", path, dict(headers, **{"x-sandbox-namespace": ns}), {field: CURPS[1]})
                if status != 200 or answered.get("x-sandbox-scenario") != "success":
                    problem(f"after a reset, {p} in {ns}: {status} {answered.get('x-sandbox-scenario')} {text[:200]!r}")
    except (http.client.HTTPException, OSError) as e:
        problem(f"after the run: {e!r}")
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        problem("the server did not end within 10 s of SIGTERM")
panics = open(f"{OUT}/server.log").read().count("panicked")
if panics:
    problem(f"{panics} panics in {OUT}/server.log")

sent = sum(n for k, n in counts.items() if k.split()[0] in REQUESTS)
print(f"\nchaos summary: {SECS:g} s, seed {SEED}")
print(f"  provider answers {sent:,}; faults that cut the answer {counts.get('fault', 0):,}; hangs given up {counts.get('hang given up', 0)}")
print("  admin answers " + ", ".join(f"{k.split()[1]}: {n:,}" for k, n in sorted(counts.items()) if k.startswith("admin ")))
print(f"  RSS (MB) every 2 s: min {min(rss, default=0)}, max {max(rss, default=0)}, last {rss[-1] if rss else 0}")
print(f"  problems: {len(problems)}")
for p in problems[:40]:
    print("   ", p)
print("CHAOS FAILED" if problems else "CHAOS OK")
sys.exit(1 if problems else 0)
EOF

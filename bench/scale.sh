#!/usr/bin/env bash
# A QA team's own files at scale: N personas (random adults' CURPs) and, for
# every provider, N accepted and N rejected credentials, served with
# --strict-auth. For each N it prints the median of three runs of:
# `check` of the folder, start to the ready line, RSS idle, the first
# IneNominalList (which looks the personas up by their INE credentials),
# a --strict-auth request with the last accepted key (µs, over a kept-alive
# connection), and a reload. Everything should grow linearly with N, and a
# request not at all.
#
#   bench/scale.sh                       # N = 1,000 and 10,000
#   SCALE_SIZES="1000 10000 50000" bench/scale.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"
require python3
OUT=$ROOT/bench/out/scale
rm -rf "$OUT"
mkdir -p "$OUT"

cargo build --release --quiet --bin mxid-sandbox
BIN=$ROOT/target/release/mxid-sandbox
"$BIN" export "$OUT/base" >/dev/null

python3 - "$BIN" "$OUT" ${SCALE_SIZES:-1000 10000} <<'EOF'
import http.client, json, re, statistics, subprocess, sys, time

BIN, OUT, sizes = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3:]]
PROVIDERS = ["curpv5", "validacurp", "accuauth", "nss", "async"]

def folder(n):
    d = f"{OUT}/fixtures-{n}"
    subprocess.run(["cp", "-r", f"{OUT}/base/fixtures", d], check=True)
    curps = json.loads(subprocess.run([BIN, "curp", "random", "--n", str(n), "--seed", "3"],
                                      capture_output=True, text=True, check=True).stdout)
    with open(f"{d}/personas.yaml", "a") as f:
        f.write("\n" + "".join(f"- curp: {c}\n  names: PERSONA {i}\n" for i, c in enumerate(curps)))
    with open(f"{d}/credentials.yaml", "w") as f:
        for p in PROVIDERS:
            f.write(f"{p}:\n  accept:\n")
            f.write("".join(f"    - {p}-key-{i}\n" for i in range(n)))
            f.write("  reject:\n")
            f.write("".join(f"    {p}-bad-{i}: invalid_credentials\n" for i in range(n)))
    return d, curps[-1]

def ms(t0):
    return (time.perf_counter() - t0) * 1000

def check(d):
    t0 = time.perf_counter()
    subprocess.run([BIN, "check", d, "--strict-auth"], capture_output=True, check=True)
    return ms(t0)

def serve(d, last, n):
    t0 = time.perf_counter()
    err = open(f"{d}.stderr", "w+")
    p = subprocess.Popen([BIN, "serve", "--port", "0", "--strict-auth", "--fixtures", d],
                         stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = p.stdout.readline()
        ready = ms(t0)
        url = re.search(r"http://([\d.]+):(\d+)", line)
        if not url:
            p.wait()
            err.seek(0)
            sys.exit(f"serve {d}: no ready line\n{err.read()}")
        host, port = url.groups()
        rss = next(int(l.split()[1]) for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")) / 1024
        c = http.client.HTTPConnection(host, int(port))
        def send(method, path, headers, body=None):
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            return r.status
        person = json.loads(subprocess.run([BIN, "curp", "person", last, "--fixtures", d],
                                           capture_output=True, text=True, check=True).stdout)
        ine = json.dumps({"type": "D", "id": person["ine"]["cic"], "ocr": person["ine"]["ocr"]})
        t0 = time.perf_counter()
        status = send("POST", "/api/AsyncVerication/IneNominalList",
                      {"apikey": f"async-key-{n - 1}", "content-type": "application/json"}, ine)
        first_ine = ms(t0)
        assert status == 200, status
        body = json.dumps({"curp": last})
        headers = {"apikey": f"curpv5-key-{n - 1}", "content-type": "application/json"}
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            assert send("POST", "/api/curp/bycurp", headers, body) == 200
            times.append(ms(t0) * 1000)
        t0 = time.perf_counter()
        assert send("POST", "/__admin/reload", {}) == 200
        reload = ms(t0)
        return ready, rss, first_ine, statistics.median(times), reload
    finally:
        p.kill()
        p.wait()
        err.close()

print(f"{'N':>7} {'check':>9} {'ready':>9} {'RSS idle':>9} {'1st INE':>9} {'auth req':>9} {'reload':>9}")
for n in sizes:
    d, last = folder(n)
    checks = [check(d) for _ in range(3)]
    runs = [serve(d, last, n) for _ in range(3)]
    col = lambda i: statistics.median(r[i] for r in runs)
    print(f"{n:>7} {statistics.median(checks):>6.0f} ms {col(0):>6.0f} ms {col(1):>6.1f} MB"
          f" {col(2):>6.1f} ms {col(3):>6.0f} µs {col(4):>6.0f} ms", flush=True)
EOF

#!/usr/bin/env python3
"""Turns bench/out/results.txt (written by bench/run.sh) into the table of
ratios against the targets of issue 6."""
import ast
import re
import sys

path, secs = sys.argv[1], sys.argv[2]
lines = open(path).read().splitlines()


def kv(line):
    return dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))


wrk, skips, journal, other, busy, engine = {}, [], {}, {}, {}, {}
for line in lines:
    parts = line.split()
    if not parts:
        continue
    if parts[0] == 'wrk':
        _, pid, conns, who = parts[:4]
        wrk.setdefault((pid, int(conns), who), []).append({k: float(v) for k, v in kv(line).items()})
    elif parts[0] == 'busy':
        _, ns, conns = parts[:3]
        busy.setdefault((int(ns), int(conns)), []).append({'rps': float(kv(line)['rps'])})
    elif parts[0] == 'engine':
        engine.setdefault(parts[1], {})[parts[2]] = float(kv(line)['ns'])
    elif parts[0] == 'skip':
        skips.append(' '.join(parts[1:]))
    elif parts[0] == 'journal':
        journal[parts[1]] = ' '.join(parts[2:])
    else:
        other[parts[0]] = kv(line) | ({'value': parts[1]} if len(parts) == 2 else {})

rows = []


def row(measure, value, limit, ratio, target, ok=None):
    """`ok` None: a measure without a target."""
    met = '—' if ok is None else 'yes' if ok else '**no**'
    rows.append((measure, value, limit, ratio, target, met))


def success_path(pid):
    """Whether the journal's last answers of `pid` were all the success
    path (no journal line: not checked, taken as yes)."""
    j = journal.get(pid, '')
    return not j.startswith('{') or set(ast.literal_eval(j)) == {'success'}


providers = sorted({k[0] for k in wrk}, key=lambda p: ['curpv5', 'validacurp', 'accuauth', 'nss', 'async'].index(p)
                   if p in ['curpv5', 'validacurp', 'accuauth', 'nss', 'async'] else 9)


def median_run(runs):
    """The run whose requests/s is the median (the lower one of an even
    count): its latencies come with it."""
    return sorted(runs, key=lambda r: r['rps'])[(len(runs) - 1) // 2] if runs else None


rounds = {}
p99_rounds = {}
for pid in providers:
    for c in (1, 50):
        ss, bs = wrk.get((pid, c, 'sandbox'), []), wrk.get((pid, c, 'bare'), [])
        s, b = median_run(ss), median_run(bs)
        if not s or not b or not b['rps']:
            continue
        rounds[(pid, c)] = [x['rps'] / y['rps'] for x, y in zip(ss, bs) if y['rps']]
        if c == 50:
            p99_rounds[pid] = [x['p99_us'] / max(y['p99_us'], 1) for x, y in zip(ss, bs)]
        r = s['rps'] / b['rps']
        # A cell off the success path, or with failed requests, measured
        # something else: it meets no target.
        bad = f", {int(s['non2xx'])} non-2xx, {int(s['errors'])} errors" if s['non2xx'] or s['errors'] > 0 else ''
        if s['errors'] < 0:
            bad = ', wrk failed'
        if not success_path(pid):
            bad += ', not all the success path (journal below)'
        row(f'{pid} req/s, {c} conn', f"{s['rps']:,.0f}{bad}", f"{b['rps']:,.0f}", f'{r:.2f}', '≥ 0.80',
            r >= 0.8 and not bad)
        row(f'{pid} p50, {c} conn', f"{s['p50_us']/1000:.3f} ms", f"{b['p50_us']/1000:.3f} ms",
            f"{s['p50_us']/max(b['p50_us'],1):.2f}", '—')
        r99 = s['p99_us'] / max(b['p99_us'], 1)
        row(f'{pid} p99, {c} conn', f"{s['p99_us']/1000:.3f} ms", f"{b['p99_us']/1000:.3f} ms",
            f'{r99:.2f}', '≤ 1.30' if c == 50 else '—', (r99 <= 1.3 and not bad) if c == 50 else None)

rd, rb = other.get('ready', {}), other.get('ready_bare', {})
if rd:
    m = float(rd['ready_median_ms'])
    row('start → ready line (median of 20)', f"{m:.1f} ms (worst {float(rd['ready_max_ms']):.1f})",
        f"{float(rb.get('ready_median_ms', 'nan')):.1f} ms", '—', '≤ 20 ms', m <= 20)
idle = other.get('rss_idle_kb', {}).get('value')
mem = other.get('mem', {})
m1, m2 = other.get('mem100k', {}), other.get('mem200k', {})
if mem:
    i = int(mem['idle_kb'])
    row('RSS idle', f'{i/1024:.1f} MB', '—', '—', '≤ 15 MB', i <= 15 * 1024)
if m1 and m2:
    a, b = int(m1['rss_kb']), int(m2['rss_kb'])
    row('RSS after 100k requests', f'{a/1024:.1f} MB', '—', '—', '—')
    growth = (b - a) / a
    row('RSS after 200k requests (flat)', f'{b/1024:.1f} MB', '—', f'{b/a:.2f} × the 100k RSS', '≤ 1.10 ×', growth <= 0.10)
d, db = other.get('delayed', {}), other.get('delayed_bare', {})
if d:
    w, h = float(d['wall_ms']), int(d['hwm_kb'])
    fail = int(d.get('failed', 0))
    bw = float(db['wall_ms']) if db else float('nan')
    bh = int(db['hwm_kb']) if db else 0
    row('10,000 concurrent 1 s requests: wall (connections open)', f"{w:,.0f} ms ({fail} failed)",
        f"{bw:,.0f} ms", f'{w/bw:.2f}', '≤ 1.2 s', w <= 1200 and fail == 0)
    row('10,000 concurrent 1 s requests: wall with opening the connections', f"{float(d.get('total_ms', 'nan')):,.0f} ms",
        f"{float(db.get('total_ms', 'nan')):,.0f} ms", '—', '—')
    if 'each_max_ms' in d:
        row('10,000 concurrent 1 s requests: slowest one, sent to answered', f"{float(d['each_max_ms']):,.0f} ms",
            f"{float(db.get('each_max_ms', 'nan')):,.0f} ms", '—', '—')
        row('10,000 concurrent 1 s requests: the client writing them all', f"{float(d['last_sent_ms']):,.0f} ms",
            f"{float(db.get('last_sent_ms', 'nan')):,.0f} ms", '—', '—')
    row('10,000 concurrent 1 s requests: opening the connections first', f"{float(d['connect_ms']):,.0f} ms",
        f"{float(db.get('connect_ms', 'nan')):,.0f} ms", '—', '—')
    row('10,000 concurrent 1 s requests: peak RSS', f'{h/1024:.0f} MB', f'{bh/1024:.0f} MB',
        f'{h/bh:.2f}' if bh else '—', '≤ 100 MB', h <= 100 * 1024)
hb, hs = other.get('hold_bare', {}), other.get('hold_sandbox', {})
if hb and hs:
    b, s = int(hb['rss_kb']), int(hs['rss_kb'])
    row('10,000 open served connections: RSS', f'{s/1024:.0f} MB', f'{b/1024:.0f} MB', f'{s/b:.2f}', '—')
lat = other.get('latency', {})
if lat:
    p50, p99 = float(lat['err_p50_ms']), float(lat['err_p99_ms'])
    row(f"injected latency {lat['asked_ms']} ms: error p50", f'{p50:+.2f} ms', '—', '—', '—')
    row(f"injected latency {lat['asked_ms']} ms: error p99", f'{p99:+.2f} ms', '—', '—', '± 5 ms', abs(p99) <= 5)

print()
print('| measure | sandbox | bare hyper | ratio | target | met |')
print('|---|---|---|---|---|---|')
for r in rows:
    print('| ' + ' | '.join(r) + ' |')
print()
n = max((len(v) for v in wrk.values()), default=0)
runs = (f'{n} runs per cell alternating which server goes first; each cell is the median run by requests/s '
        '(its latencies with it), each ratio one of medians' if n > 1 else 'one run per cell')
print(f'wrk -t2 (-t1 for one connection), {secs} s per run, {runs}; '
      'journal and counters on; limits raised through a generated --scenarios folder.')
if n > 1:
    print('requests/s ratio of each round (sandbox / bare hyper of the same round):')
    for (pid, c), rs in rounds.items():
        print(f'- {pid}, {c} conn: ' + ' / '.join(f'{r:.2f}' for r in rs))
    # The p99 cell pairs the two median runs by requests/s, which need not
    # be of the same round: each round's own ratio says how much of a miss
    # or a pass is the round drawn.
    if p99_rounds:
        print('p99 ratio at 50 connections of each round (sandbox / bare hyper of the same round):')
        for pid, rs in p99_rounds.items():
            print(f'- {pid}: ' + ' / '.join(f'{r:.2f}' for r in rs))
if busy:
    print()
    print('Calibration: bare hyper keeping the CPU busy before each answer '
          '(curpv5\'s request and body), median requests/s of the rounds as a ratio of '
          'bare hyper\'s in the same rounds:')
    print()
    print('| CPU added per request | 1 conn | 50 conn |')
    print('|---|---|---|')
    for ns in sorted({k[0] for k in busy if k[0]}):
        cells = []
        for c in (1, 50):
            base, with_busy = median_run(busy.get((0, c), [])), median_run(busy.get((ns, c), []))
            cells.append(f"{with_busy['rps'] / base['rps']:.2f}" if base and with_busy and base['rps'] else '—')
        print(f'| {ns / 1000:g} µs | ' + ' | '.join(cells) + ' |')
if engine:
    print()
    print('The engine alone (examples/handle: `Engine::handle` and the request\'s parsing, no socket), '
          'µs per request, hot and with the caches written over before each request:')
    print()
    print('| provider | hot | after 4 MB | after 64 MB |')
    print('|---|---|---|---|')
    for pid, by in engine.items():
        print(f'| {pid} | ' + ' | '.join(f"{by[k] / 1000:.1f}" if k in by else '—'
                                        for k in ('hot', '4MB', '64MB')) + ' |')
for s in skips:
    print(f'skipped: {s}')
for pid, j in journal.items():
    # `j` is the journal's count by scenario as the script printed it.
    counts = ast.literal_eval(j) if j.startswith('{') else {}
    off_path = '' if set(counts) == {'success'} else ' — NOT ALL SUCCESS: the cell did not measure the success path'
    print(f'journal, last 200 {pid} answers by scenario: {j}{off_path}')

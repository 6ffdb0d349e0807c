#!/usr/bin/env python3
"""Compares vPDQ verdicts and percentages of python-threatexchange's matcher
(`VPDQSignal.compare_hash`, which HMA runs) with ours (`nigehbaan match
--vpdq` against a list imported from the same reference files), for every
(query, list video) pair. Run by bench/video-te-parity.sh, which prepares OUT:
`list/*.vpdq.txt` (the list), `ref-queries/*.txt` (the queries),
`ours-all.jsonl` (ours with both thresholds at 0: every percentage) and
`ours-default.jsonl` (ours with the default thresholds: the verdicts).

Usage: video-te-parity.py OUT     (exit 1 when anything differs)
"""
import json, os, sys
from threatexchange.extensions.vpdq.vpdq import VPDQSignal
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, vpdq_to_json

out = sys.argv[1]

def signal(path):
    feats = []
    for line in open(path):
        f = line.strip().split(",")
        if len(f) == 4:
            feats.append(VpdqCompactFeature(f[2], int(f[1]), float(f[3])))
    return vpdq_to_json(feats)

def stem(name):
    name = os.path.basename(name)
    for ext in (".vpdq.txt", ".txt"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return os.path.splitext(name)[0]

lists = {stem(n): signal(os.path.join(out, "list", n)) for n in sorted(os.listdir(f"{out}/list"))}
queries = {stem(n): signal(os.path.join(out, "ref-queries", n)) for n in sorted(os.listdir(f"{out}/ref-queries"))}

def ours(path):
    got = {}
    for line in open(path):
        row = json.loads(line)
        q = stem(row.get("input") or row.get("path") or row.get("file") or "")
        for h in row.get("matches", row.get("hits", [])):
            name = stem(h.get("record_name") or h.get("record_id") or "")
            got[(q, name)] = (h["query_match_percent"], h["compared_match_percent"])
    return got

all_pct, verdict = ours(f"{out}/ours-all.jsonl"), ours(f"{out}/ours-default.jsonl")
pairs = agree = found = expected = 0
max_diff = 0.0
bad = []
for q, qs in queries.items():
    for o, os_ in lists.items():
        try:
            te = VPDQSignal.compare_hash(qs, os_)
            te_v, te_q, te_c = te.match, te.distance.query_match_percent, te.distance.compared_match_percent
        except ZeroDivisionError:  # a side with no usable frame
            te_v, te_q, te_c = False, 0.0, 0.0
        our_q, our_c = all_pct.get((q, o), (0.0, 0.0))
        our_v = (q, o) in verdict
        pairs += 1
        diff = max(abs(te_q - our_q), abs(te_c - our_c))
        max_diff = max(max_diff, diff)
        same = te_v == our_v and diff < 1e-9
        agree += same
        if not same:
            bad.append(f"  {q} vs {o}: threatexchange {te_v} {te_q:.2f}/{te_c:.2f}, ours {our_v} {our_q:.2f}/{our_c:.2f}")
        copy = q.rsplit("-", 1)[0] == o
        expected += copy
        found += copy and our_v
print(f"{len(queries)} query videos x {len(lists)} list videos = {pairs} pairs")
print(f"same verdict and percentages: {agree}/{pairs}; largest percentage difference {max_diff:.3g}")
print(f"copies found (ours, default thresholds): {found}/{expected}")
kinds = {}
for q in queries:
    k = q.rsplit("-", 1)[1]
    o = q.rsplit("-", 1)[0]
    kinds.setdefault(k, [0, 0])
    kinds[k][1] += 1
    kinds[k][0] += any(qq == q and oo == o for (qq, oo) in verdict) if k != "unrelated" else any(qq == q for (qq, _) in verdict)
for k, (n, t) in sorted(kinds.items()):
    print(f"  {k:10} {'matched' if k != 'unrelated' else 'falsely matched'}: {n}/{t}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)

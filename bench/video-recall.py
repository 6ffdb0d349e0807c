#!/usr/bin/env python3
"""--fast recall for video: how many copies of an original still match it when hashed on key frames
only, compared with exact sampling. Reads per-video reference files (`nigehbaan hash --format vpdq
--out DIR`: `frame,quality,pdq,timestamp`) from four directories and matches as python-threatexchange
does (quality >= 50 on both sides, identical frame hashes de-duplicated, a frame matches at Hamming
distance <= 31, verdict: query >= 80 %, compared >= 0 %).

Usage: video-recall.py ORIG_EXACT ORIG_FAST COPIES_EXACT COPIES_FAST
A copy belongs to the original whose file name (without extension) starts its own name
(`vid000-phone-1080p-reenc.mp4` is a copy of `vid000-phone-1080p.mp4`); the part after the last `-`
names the kind of copy.
"""
import os, sys
from collections import defaultdict

def load(path):
    out = []
    for line in open(path):
        f = line.strip().split(",")
        if len(f) == 4 and int(f[1]) >= 50:
            out.append(int(f[2], 16))
    return list(dict.fromkeys(out))

def percent(a, b):
    if not a:
        return 0.0
    return 100.0 * sum(any(bin(x ^ y).count("1") <= 31 for y in b) for x in a) / len(a)

def videos(d):
    return {n[: -len(".vpdq.txt")]: load(os.path.join(d, n)) for n in sorted(os.listdir(d)) if n.endswith(".vpdq.txt")}

orig_exact, orig_fast, copy_exact, copy_fast = (videos(d) for d in sys.argv[1:5])
stem = lambda n: os.path.splitext(n)[0]
modes = {"exact vs exact": (copy_exact, orig_exact), "fast vs exact": (copy_fast, orig_exact), "fast vs fast": (copy_fast, orig_fast)}
for label, (queries, lists) in modes.items():
    found, total, false = defaultdict(int), defaultdict(int), 0
    for q, qh in queries.items():
        kind = stem(q).rsplit("-", 1)[1]
        for o, oh in lists.items():
            hit = percent(qh, oh) >= 80.0
            if stem(q).startswith(stem(o) + "-"):
                total[kind] += 1
                found[kind] += hit
            else:
                false += hit
    cells = ", ".join(f"{k} {found[k]}/{total[k]}" for k in sorted(total))
    print(f"{label:15}: {sum(found.values())}/{sum(total.values())} copies found ({cells}); {false} matches with other videos")

#!/usr/bin/env bash
# Benchmark: `nigehbaan hash` against the Hasher-Matcher-Actioner photo
# pipeline (../shared/bench/peer-pdqhash.py: PIL + the reference C++ via the
# pdqhash bindings), on the same 400-image benign corpus, in the same run.
#
# Usage: bench/hash.sh [COUNT]      (default 400 images)
# Needs: python3 with venv; ../shared/bench. Installs the peer into
# target/bench-venv (never into the project).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared/bench"
count=${1:-400}
[ -d "$shared" ] || { echo "bench: $shared not found" >&2; exit 2; }

venv="$root/target/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pdqhash pillow numpy scikit-image threatexchange
fi
corpus="$root/target/bench-corpus-$count"
if [ ! -f "$corpus/manifest.csv" ]; then
  "$venv/bin/python" "$shared/make-corpus.py" "$corpus" --count "$count"
fi
cargo build --release -q -p nigehbaan
bin="$root/target/release/nigehbaan"
out="$root/target/bench-out"
mkdir -p "$out"

now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "corpus: $count images, $(du -shL "$corpus" | cut -f1) ($corpus)"

# Warm the page cache so that both sides read from memory.
cat "$corpus"/*/* > /dev/null

t0=$(now)
"$venv/bin/python" "$shared/peer-pdqhash.py" --workers 2 "$corpus" > "$out/peer.csv" 2> "$out/peer.err"
t1=$(now)
"$bin" hash "$corpus" > "$out/ours-full.jsonl" || true
t2=$(now)
"$bin" hash --fast "$corpus" > "$out/ours-fast.jsonl" || true
t3=$(now)

"$venv/bin/python" - "$out" "$t0" "$t1" "$t2" "$t3" <<'PY'
import csv, json, sys
out, t0, t1, t2, t3 = sys.argv[1], *map(float, sys.argv[2:])
peer = {r["path"]: r for r in csv.DictReader(open(f"{out}/peer.csv"))}
def load(name):
    rows = {}
    for line in open(f"{out}/{name}"):
        r = json.loads(line)
        if r["pdq"] is not None:
            rows[r["path"]] = r
    return rows
full, fast = load("ours-full.jsonl"), load("ours-fast.jsonl")
n = len(peer)
dt_peer, dt_full, dt_fast = t1 - t0, t2 - t1, t3 - t2
ips = lambda dt: n / dt
print(f"peer-pdqhash --workers 2 : {dt_peer:7.2f} s  {ips(dt_peer):7.1f} images/s")
print(f"nigehbaan hash           : {dt_full:7.2f} s  {ips(dt_full):7.1f} images/s  ratio {dt_peer/dt_full:5.2f}x  (md5+sha1+sha256+PDQ)")
print(f"nigehbaan hash --fast    : {dt_fast:7.2f} s  {ips(dt_fast):7.1f} images/s  ratio {dt_peer/dt_fast:5.2f}x")
def dist(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")
d_peer = {p: dist(full[p]["pdq"], peer[p]["pdq"]) for p in peer if p in full and peer[p]["pdq"]}
exact = sum(d == 0 for d in d_peer.values())
# The peer hashes palette indices (mode P) and raw CMYK channels; we hash the
# true picture, so those differ by design. Name the modes of the others.
from collections import Counter
from PIL import Image
modes = Counter(Image.open(p).mode for p, d in d_peer.items() if d)
print(f"full vs peer hashes      : {exact}/{len(d_peer)} identical; the others by PIL mode: {dict(modes)}")
d_fast = [dist(fast[p]["pdq"], full[p]["pdq"]) for p in full if p in fast]
reduced = [dist(fast[p]["pdq"], full[p]["pdq"]) for p in full if p in fast and fast[p]["pdq_pipeline"] == "fast"]
print(f"--fast vs full           : mean {sum(d_fast)/len(d_fast):.2f} bits, max {max(d_fast)} over all {len(d_fast)} images;"
      f" over the {len(reduced)} approximate (luma-only or reduced-scale) decodes mean {sum(reduced)/max(1,len(reduced)):.2f}, max {max(reduced or [0])}")
PY

# The PDQ core alone on one 12 MP RGB image, single thread: ours against the
# reference C++ (the pdqhash bindings), same run.
echo
cargo build --release -q -p nigehbaan-pdq --example core_time
"$root/target/release/examples/core_time" 4032 3024
"$venv/bin/python" - <<'PY'
import time, numpy as np, pdqhash
rng = np.random.default_rng(1)
a = rng.integers(0, 256, size=(3024, 4032, 3), dtype=np.uint8)
pdqhash.compute(a)
t = time.process_time(); n = 5
for _ in range(n):
    pdqhash.compute(a)
print("reference C++ (pdqhash.compute), 4032x3024 RGB, single thread: %.1f ms CPU per image" % ((time.process_time() - t) * 1e3 / n))
PY

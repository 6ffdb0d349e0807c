#!/usr/bin/env bash
# Benchmark: `nigehbaan scan` against what an examiner would otherwise run on
# the same evidence — the Hasher-Matcher-Actioner photo pipeline
# (../shared/bench/peer-pdqhash.py --workers 2) plus `hashdeep -c
# md5,sha1,sha256` — in the same run, on the 400-image benign corpus as
# plain files, as a zip and as a tar.gz. Our scan does more than both peers
# together: three digests + PDQ (with the 8 rotations/flips) + matching
# against a 1M-record list + the report.
#
# Usage: bench/scan.sh [COUNT]      (default 400 images)
# Needs: python3 with venv, hashdeep (Debian package), ../shared/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared/bench"
count=${1:-400}
[ -d "$shared" ] || { echo "bench: $shared not found" >&2; exit 2; }
command -v hashdeep >/dev/null || { echo "bench: hashdeep not found (apt-get install hashdeep)" >&2; exit 2; }

venv="$root/target/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import pdqhash, PIL, numpy, skimage" 2>/dev/null ||
  "$venv/bin/pip" install -q pdqhash pillow numpy scikit-image threatexchange
corpus="$root/target/bench-corpus-$count"
[ -f "$corpus/manifest.csv" ] || "$venv/bin/python" "$shared/make-corpus.py" "$corpus" --count "$count"
cargo build --release -q -p nigehbaan
bin="$root/target/release/nigehbaan"
out="$root/target/bench-out/scan"
rm -rf "$out"
mkdir -p "$out"

# The corpus as a zip and as a tar.gz (made once, outside the corpus).
arch="$root/target/bench-archives-$count"
if [ ! -f "$arch/corpus.tar.gz" ]; then
  mkdir -p "$arch"
  "$venv/bin/python" - "$corpus" "$arch" <<'PY'
import os, sys, tarfile, zipfile
src, dst = sys.argv[1], sys.argv[2]
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)
with zipfile.ZipFile(f"{dst}/corpus.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in files:
        z.write(f, os.path.relpath(f, src))
with tarfile.open(f"{dst}/corpus.tar.gz", "w:gz") as t:
    for f in files:
        t.add(f, os.path.relpath(f, src))
PY
fi

# A 1M-record list (TEST DATA: random hashes, plus the MD5s of 20 corpus
# files so that there are hits), imported into a library of its own.
lib="$root/target/bench-library-1m"
if [ ! -f "$lib/bench-1m/manifest.json" ]; then
  "$venv/bin/python" - "$corpus" "$out/list-1m.csv" <<'PY'
import hashlib, os, random, sys
src, dst = sys.argv[1], sys.argv[2]
rnd = random.Random(1)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if not f.endswith(".csv"))
with open(dst, "w") as o:
    o.write("md5,sha1,sha256,pdq,pdq_quality,other_hashes,category_scheme,category,status,"
            "victim_identified,offender_identified,distributed,series,tags,id,name,size,media,"
            "list,source,version,list_date\n")
    def row(md5, sha1, sha256, pdq, i):
        q = "100" if pdq else ""
        o.write(f"{md5},{sha1},{sha256},{pdq},{q},,custom:bench,X,notable,,,,,,{i},TEST DATA,,,,,,\n")
    for i, f in enumerate(files[:20]):
        b = open(f, "rb").read()
        row(hashlib.md5(b).hexdigest(), hashlib.sha1(b).hexdigest(), hashlib.sha256(b).hexdigest(), "", i)
    for i in range(20, 1_000_000):
        h = rnd.getrandbits(256).to_bytes(32, "big").hex()
        row(h[:32], h[:40], h, rnd.getrandbits(256).to_bytes(32, "big").hex(), i)
PY
  head -1 "$out/list-1m.csv" > /dev/null
  "$bin" lists import "$out/list-1m.csv" --name bench-1m --format nigehbaan-csv --library "$lib" > /dev/null
fi

now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "corpus: $count images, $(du -shL "$corpus" | cut -f1); zip $(du -h "$arch/corpus.zip" | cut -f1), tar.gz $(du -h "$arch/corpus.tar.gz" | cut -f1)"
echo "list: $("$bin" lists ls --library "$lib" | awk 'NR==2 {print $5}') records"
cat "$corpus"/*/* "$arch"/* > /dev/null   # page cache warm for everyone

t() { local s; s=$(now); "$@" > /dev/null 2>&1 || true; python3 -c "print(f'{$(now) - $s:.3f}')"; }
peer=$(t "$venv/bin/python" "$shared/peer-pdqhash.py" --workers 2 "$corpus")
deep=$(t hashdeep -c md5,sha1,sha256 -r "$corpus")
full=$(t "$bin" scan "$corpus" --library "$lib" --quiet -o "$out/full")
zip=$(t "$bin" scan "$arch/corpus.zip" --library "$lib" --quiet -o "$out/zip")
tgz=$(t "$bin" scan "$arch/corpus.tar.gz" --library "$lib" --quiet -o "$out/tgz")
nopdq=$(t "$bin" scan "$corpus" --no-pdq --library "$lib" --quiet -o "$out/nopdq")

python3 - "$peer" "$deep" "$full" "$zip" "$tgz" "$nopdq" "$out" <<'PY'
import json, sys
peer, deep, full, zp, tgz, nopdq = map(float, sys.argv[1:7])
out = sys.argv[7]
both = peer + deep
items = lambda d: json.load(open(f"{out}/{d}/report.json"))["summary"]["total"]
print(f"peer-pdqhash --workers 2          : {peer:7.2f} s")
print(f"hashdeep -c md5,sha1,sha256 -r    : {deep:7.2f} s")
print(f"peers together                    : {both:7.2f} s")
for name, dt, d in [("nigehbaan scan (files)", full, "full"), ("nigehbaan scan (zip)", zp, "zip"),
                    ("nigehbaan scan (tar.gz)", tgz, "tgz")]:
    c = items(d)
    print(f"{name:34}: {dt:7.2f} s  {c['files']} items, {c['hits']} hits  -> {both/dt:5.2f}x the peers together")
c = items("nopdq")
print(f"{'nigehbaan scan --no-pdq (files)':34}: {nopdq:7.2f} s  {c['files']} items -> {deep/nopdq:5.2f}x hashdeep")
PY

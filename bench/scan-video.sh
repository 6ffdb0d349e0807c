#!/usr/bin/env bash
# Benchmark: `nigehbaan scan` of a folder holding the 400-image corpus and
# a 20-video corpus, against what an examiner would otherwise run on it —
# the Hasher-Matcher-Actioner pipelines (../shared/bench/peer-pdqhash.py
# --workers 2 on the images, ../shared/bench/peer-vpdq.py --workers 2 on
# the videos) plus `hashdeep -c md5,sha1,sha256 -r` on everything — in the
# same run, paired (ours, peer, ours, peer, …), medians printed with their
# ratio. Our scan does more than the peers together: three digests, PDQ
# (with the 8 rotations/flips) and vPDQ, matching against a list (the vPDQ
# of two of the videos and the MD5s of ten images), groups, the report.
#
# Usage: bench/scan-video.sh [IMAGE_CORPUS] [VIDEO_CORPUS] [PAIRS]
#   IMAGE_CORPUS: a make-corpus.py corpus (default: /work/main/target/bench-corpus-400
#     or /tmp/corpus400 when one exists, else target/bench-corpus-400, made here)
#   VIDEO_CORPUS: a make-video-corpus.py corpus (default target/video-corpus/c20, made here)
#   PAIRS: paired runs (default 3)
# BENCH_PY=PYTHON (or VENV=DIR) chooses the peer's Python (default
# ../bench-venv beside the repository when it exists, else target/bench-venv).
# BIN=PATH uses an already built release `nigehbaan`.
# Needs: python3 with venv, ffmpeg, hashdeep, ../shared/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared/bench"
[ -d "$shared" ] || { echo "bench: $shared not found" >&2; exit 2; }
command -v ffmpeg > /dev/null || { echo "bench: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 2; }
command -v hashdeep > /dev/null || { echo "bench: hashdeep not found (apt-get install hashdeep)" >&2; exit 2; }

images=${1:-}
if [ -z "$images" ]; then
  images="$root/target/bench-corpus-400"
  for c in /work/main/target/bench-corpus-400 /tmp/corpus400; do
    [ -f "$c/manifest.csv" ] && images="$c" && break
  done
fi
videos=${2:-$root/target/video-corpus/c20}
pairs=${3:-3}

if [ -n "${BENCH_PY:-}" ]; then
  py="$BENCH_PY"
else
  venv="${VENV:-$root/target/bench-venv}"
  [ -z "${VENV:-}" ] && [ -x "$root/../bench-venv/bin/python" ] && venv="$root/../bench-venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import pdqhash, PIL, numpy, skimage' 2> /dev/null ||
    "$venv/bin/pip" install -q pdqhash pillow numpy scikit-image
  "$venv/bin/python" -c 'import vpdq' 2> /dev/null || "$venv/bin/pip" install -q vpdq
  py="$venv/bin/python"
fi
[ -f "$images/manifest.csv" ] || "$py" "$shared/make-corpus.py" "$images" --count 400
[ -f "$videos/manifest.csv" ] || "$py" "$shared/make-video-corpus.py" "$videos" --count 20

bin="${BIN:-$root/target/release/nigehbaan}"
[ -n "${BIN:-}" ] || CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --release -q -p nigehbaan
out="$root/target/bench-out/scan-video"
rm -rf "$out"
mkdir -p "$out"

# The evidence folder: both corpora side by side (hard links when they
# share a file system, else copies; never symbolic links, which a scan
# does not follow).
ev="$out/evidence"
mkdir -p "$ev"
cp -rl "$images" "$ev/images" 2> /dev/null || cp -r "$images" "$ev/images"
cp -rl "$videos" "$ev/videos" 2> /dev/null || cp -r "$videos" "$ev/videos"

# A list (TEST DATA): the vPDQ of two corpus videos and the MD5s of ten
# corpus images, so that both kinds of hit are found.
lib="$out/library"
mkdir -p "$out/vpdq"
for v in $(ls "$videos" | grep -v '\.csv$' | head -2); do
  "$bin" hash --format vpdq --out "$out/vpdq" "$videos/$v" > /dev/null
done
"$bin" lists import --format vpdq --name bench-videos --library "$lib" "$out/vpdq" > /dev/null
{
  echo "md5,sha1,sha256,pdq,pdq_quality,other_hashes,category_scheme,category,status,victim_identified,offender_identified,distributed,series,tags,id,name,size,media,list,source,version,list_date,vpdq"
  find "$images" -type f ! -name '*.csv' | sort | head -10 | while read -r f; do
    echo "$(md5sum "$f" | cut -d' ' -f1),,,,,,,,notable,,,,,,$(basename "$f"),TEST DATA,,,,,,,"
  done
} > "$out/images.csv"
"$bin" lists import --format nigehbaan-csv --name bench-images --library "$lib" "$out/images.csv" > /dev/null

now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr), $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
echo "evidence: $(find "$images" -type f ! -name '*.csv' | wc -l) images ($images), $(find "$videos" -type f ! -name '*.csv' | wc -l) videos ($videos), $(du -shL "$ev" | cut -f1)"
find "$ev" -type f -exec cat {} + > /dev/null # page cache warm for everyone

times="$out/times.txt"
: > "$times"
for pair in $(seq "$pairs"); do
  t0=$(now)
  "$bin" scan "$ev" --library "$lib" --quiet -o "$out/ours-$pair" > /dev/null 2> "$out/ours.err" || [ $? -le 2 ]
  t1=$(now)
  "$py" "$shared/peer-pdqhash.py" --workers 2 "$ev/images" > /dev/null 2> "$out/peer-pdq.err"
  t2=$(now)
  "$py" "$shared/peer-vpdq.py" --workers 2 "$ev/videos" > /dev/null 2> "$out/peer-vpdq.err"
  t3=$(now)
  hashdeep -c md5,sha1,sha256 -r "$ev" > /dev/null
  t4=$(now)
  echo "$t0 $t1 $t2 $t3 $t4" >> "$times"
  echo "pair $pair: ours $(echo "$t1 - $t0" | bc) s, peer $(echo "$t4 - $t1" | bc) s (pdqhash $(echo "$t2 - $t1" | bc), vpdq $(echo "$t3 - $t2" | bc), hashdeep $(echo "$t4 - $t3" | bc)), load $(cut -d' ' -f1 /proc/loadavg)"
done

python3 - "$out" "$pairs" <<'PY'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
runs = [list(map(float, l.split())) for l in open(f"{out}/times.txt")]
ours = [r[1] - r[0] for r in runs]
peer = [r[4] - r[1] for r in runs]
ratios = [p / o for o, p in zip(ours, peer)]
s = json.load(open(f"{out}/ours-{pairs}/report.json"))["summary"]["total"]
print(f"medians of {len(runs)} paired runs")
print(f"nigehbaan scan            : {statistics.median(ours):7.2f} s  ({s['files']} items, {s['hits']} hits, {s['errors']} errors)")
print(f"peers together            : {statistics.median(peer):7.2f} s  (pdqhash {statistics.median(r[2]-r[1] for r in runs):.2f} + vpdq {statistics.median(r[3]-r[2] for r in runs):.2f} + hashdeep {statistics.median(r[4]-r[3] for r in runs):.2f})")
print(f"ratio (median of pairs)   : {statistics.median(ratios):5.2f}x the peers together (target >= 2x)")
PY

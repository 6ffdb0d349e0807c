#!/usr/bin/env bash
# Benchmark: vPDQ hashing with nigehbaan-video against Meta's vPDQ as
# Hasher-Matcher-Actioner runs it (../shared/bench/peer-vpdq.py: the `vpdq`
# bindings to the reference C++ with FFmpeg's libraries), one frame per
# second, on the same generated benign corpus, in the same run; then
# frame-for-frame parity of the hashes.
#
# Usage: bench/video.sh [COUNT] [WORKERS] [PAIRS]   (default 10 videos, 2 workers,
# 3 paired runs: peer, ours exact, ours --fast, repeated; medians reported)
# VENV=DIR uses that virtual environment for the peer (default: ../bench-venv
# beside the repository when it exists, else target/bench-venv);
# CORPUS=DIR uses an existing make-video-corpus.py corpus.
# DECODER_THREADS=N bench/video.sh gives each ffmpeg child N decoder
# threads; by default the cores are shared among the videos being hashed
# (one thread each when both workers are busy, as the peer decodes).
# Needs: python3 with venv, ffmpeg, ../shared/bench. The peer is installed
# into target/bench-venv (never into the project); building it needs
# apt-get install libavcodec-dev libavformat-dev libavutil-dev
# libswscale-dev libavdevice-dev libavfilter-dev pkg-config cmake.
# Ours is the crate's example binary (`vpdq_hash`) until `nigehbaan hash`
# hashes videos.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared/bench"
count=${1:-10}
workers=${2:-2}
pairs=${3:-3}
[ -d "$shared" ] || { echo "bench: $shared not found" >&2; exit 2; }
command -v ffmpeg > /dev/null || { echo "bench: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 2; }

venv="${VENV:-$root/target/bench-venv}"
[ -z "${VENV:-}" ] && [ -x "$root/../bench-venv/bin/python" ] && venv="$root/../bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import numpy, PIL' 2> /dev/null || "$venv/bin/pip" install -q numpy pillow
"$venv/bin/python" -c 'import vpdq' 2> /dev/null || "$venv/bin/pip" install -q vpdq
corpus="${CORPUS:-$root/target/video-corpus/c$count}"
if [ ! -f "$corpus/manifest.csv" ]; then
  "$venv/bin/python" "$shared/make-video-corpus.py" "$corpus" --count "$count"
fi
# BIN=PATH uses an already built vpdq_hash example instead of building one.
bin="${BIN:-$root/target/release/examples/vpdq_hash}"
[ -n "${BIN:-}" ] || CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --release -q -p nigehbaan-video --example vpdq_hash
out="$root/target/bench-video-out"
rm -rf "$out"
mkdir -p "$out/peer" "$out/ours" "$out/fast"

now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr), $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
echo "corpus: $count videos, $(du -shL "$corpus" | cut -f1) ($corpus)"
cat "$corpus"/* > /dev/null

threads=()
[ -n "${DECODER_THREADS:-}" ] && threads=(--threads "$DECODER_THREADS")
times="$out/times.txt"
: > "$times"
for pair in $(seq "$pairs"); do
  t0=$(now)
  "$venv/bin/python" "$shared/peer-vpdq.py" --workers 2 --out "$out/peer" "$corpus" > "$out/peer.csv" 2> "$out/peer.err"
  t1=$(now)
  "$bin" --workers "$workers" "${threads[@]}" --out "$out/ours" "$corpus" > "$out/ours.csv" 2> "$out/ours.err"
  t2=$(now)
  "$bin" --workers "$workers" "${threads[@]}" --fast --out "$out/fast" "$corpus" > "$out/fast.csv" 2> "$out/fast.err"
  t3=$(now)
  echo "$t0 $t1 $t2 $t3" >> "$times"
  echo "pair $pair: peer $(echo "$t1 - $t0" | bc) s, exact $(echo "$t2 - $t1" | bc) s, fast $(echo "$t3 - $t2" | bc) s, load $(cut -d' ' -f1 /proc/loadavg)"
done

n=$(grep -c . "$out/peer.csv")
python3 - "$out" "$n" "$workers" <<'PY'
import os, statistics, sys
out, n, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = [list(map(float, l.split())) for l in open(f"{out}/times.txt")]
med = lambda i: statistics.median(r[i + 1] - r[i] for r in runs)
dp, do, df = med(0), med(1), med(2)
print(f"medians of {len(runs)} paired runs, {n} videos")
print(f"peer-vpdq --workers 2          : {dp:7.2f} s  {n / dp:6.2f} videos/s")
print(f"ours exact --workers {workers:<9} : {do:7.2f} s  {n / do:6.2f} videos/s  {dp / do:5.2f}x the peer")
print(f"ours --fast --workers {workers:<8} : {df:7.2f} s  {n / df:6.2f} videos/s  {dp / df:5.2f}x the peer")
def load(path):
    frames = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) == 4:
            frames[int(f[0])] = (int(f[1]), int(f[2], 16), f[3])
    return frames
total = same = missing = extra = 0
worst = 0
for name in sorted(os.listdir(f"{out}/peer")):
    p = load(f"{out}/peer/{name}")
    o = load(f"{out}/ours/{name}") if os.path.exists(f"{out}/ours/{name}") else {}
    missing += len(set(p) - set(o)); extra += len(set(o) - set(p))
    for k in set(p) & set(o):
        total += 1
        d = bin(p[k][1] ^ o[k][1]).count("1")
        same += d == 0 and p[k][0] == o[k][0] and p[k][2] == o[k][2]
        worst = max(worst, d)
        if d:
            print(f"  {name} frame {k}: distance {d}")
print(f"parity: {same}/{total} frames identical (hash, quality, timestamp) = {100 * same / max(total, 1):.2f} %, "
      f"largest distance {worst} bits, {missing} peer frames missing from ours, {extra} extra")
PY

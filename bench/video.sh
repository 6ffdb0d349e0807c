#!/usr/bin/env bash
# Benchmark: vPDQ hashing with nigehbaan-video against Meta's vPDQ as
# Hasher-Matcher-Actioner runs it (../shared/bench/peer-vpdq.py: the `vpdq`
# bindings to the reference C++ with FFmpeg's libraries), one frame per
# second, on the same generated benign corpus, in the same run; then
# frame-for-frame parity of the hashes.
#
# Usage: bench/video.sh [COUNT] [WORKERS]   (default 10 videos, 2 workers)
# DECODER_THREADS=1 bench/video.sh gives each ffmpeg child one decoder
# thread (the peer decodes with one thread per video); by default FFmpeg
# chooses.
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
[ -d "$shared" ] || { echo "bench: $shared not found" >&2; exit 2; }
command -v ffmpeg > /dev/null || { echo "bench: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 2; }

venv="$root/target/bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import numpy, PIL' 2> /dev/null || "$venv/bin/pip" install -q numpy pillow
"$venv/bin/python" -c 'import vpdq' 2> /dev/null || "$venv/bin/pip" install -q vpdq
corpus="$root/target/video-corpus/c$count"
if [ ! -f "$corpus/manifest.csv" ]; then
  "$venv/bin/python" "$shared/make-video-corpus.py" "$corpus" --count "$count"
fi
cargo build --release -q -p nigehbaan-video --example vpdq_hash
bin="$root/target/release/examples/vpdq_hash"
out="$root/target/bench-video-out"
rm -rf "$out"
mkdir -p "$out/peer" "$out/ours" "$out/fast"

now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr), $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
echo "corpus: $count videos, $(du -shL "$corpus" | cut -f1) ($corpus)"
cat "$corpus"/* > /dev/null

t0=$(now)
"$venv/bin/python" "$shared/peer-vpdq.py" --workers 2 --out "$out/peer" "$corpus" > "$out/peer.csv" 2> "$out/peer.err"
t1=$(now)
threads=()
[ -n "${DECODER_THREADS:-}" ] && threads=(--threads "$DECODER_THREADS")
"$bin" --workers "$workers" "${threads[@]}" --out "$out/ours" "$corpus" > "$out/ours.csv" 2> "$out/ours.err"
t2=$(now)
"$bin" --workers "$workers" "${threads[@]}" --fast --out "$out/fast" "$corpus" > "$out/fast.csv" 2> "$out/fast.err"
t3=$(now)

python3 - "$out" "$count" "$workers" "$t0" "$t1" "$t2" "$t3" <<'PY'
import os, sys
out, n, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0, t1, t2, t3 = map(float, sys.argv[4:])
dp, do, df = t1 - t0, t2 - t1, t3 - t2
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

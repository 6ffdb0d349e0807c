#!/usr/bin/env bash
# Parity of vPDQ matching with python-threatexchange (the matcher HMA
# runs): the same reference vPDQ files (written by Meta's vPDQ through
# ../shared/bench/peer-vpdq.py) are matched by python-threatexchange's
# `VPDQSignal.compare_hash` and by ours (`nigehbaan lists import --format
# vpdq` of the originals, `nigehbaan match --vpdq` of every query), for
# every (query, list video) pair; the verdicts (query ≥ 80 %, compared ≥
# 0 %, distance ≤ 31, quality ≥ 50) and both percentages are compared.
#
# Queries: for each of ORIGINALS corpus videos, a re-encode, a half-size
# copy, other codecs and containers (MPEG-4 Part 2 in AVI, VP9 in WebM), a
# frame-rate change (to 15 fps) and a trim (from 2 s); plus the corpus's
# other videos, unrelated to the list.
#
# Usage: bench/video-te-parity.sh [VIDEO_CORPUS] [ORIGINALS]
#   VIDEO_CORPUS: a make-video-corpus.py corpus (default target/video-corpus/c20, made here)
#   ORIGINALS: how many of its videos form the list (default 4)
# BENCH_PY=PYTHON (or VENV=DIR) chooses the Python with `vpdq` and
# `threatexchange`; BIN=PATH an already built `nigehbaan`.
# Exit status 1 when a verdict or a percentage differs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared/bench"
[ -d "$shared" ] || { echo "bench: $shared not found" >&2; exit 2; }
command -v ffmpeg > /dev/null || { echo "bench: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 2; }
corpus=${1:-$root/target/video-corpus/c20}
originals=${2:-4}
if [ -n "${BENCH_PY:-}" ]; then
  py="$BENCH_PY"
else
  venv="${VENV:-$root/target/bench-venv}"
  [ -z "${VENV:-}" ] && [ -x "$root/../bench-venv/bin/python" ] && venv="$root/../bench-venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import vpdq, threatexchange, numpy, PIL' 2> /dev/null ||
    "$venv/bin/pip" install -q vpdq threatexchange numpy pillow
  py="$venv/bin/python"
fi
[ -f "$corpus/manifest.csv" ] || "$py" "$shared/make-video-corpus.py" "$corpus" --count 20
bin="${BIN:-$root/target/release/nigehbaan}"
[ -n "${BIN:-}" ] || CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --release -q -p nigehbaan

out="$root/target/bench-out/video-te-parity"
rm -rf "$out"
mkdir -p "$out/orig" "$out/queries" "$out/ref-orig" "$out/ref-queries"
mapfile -t videos < <(tail -n +2 "$corpus/manifest.csv" | cut -d, -f1)
ff() { ffmpeg -v error -nostdin -y "$@"; }
for i in "${!videos[@]}"; do
  v="${videos[$i]}"
  src="$corpus/$v"
  stem="${v%.*}"
  if [ "$i" -ge "$originals" ]; then
    cp "$src" "$out/queries/$stem-unrelated.${v##*.}"
    continue
  fi
  cp "$src" "$out/orig/$v"
  q="$out/queries/$stem"
  ff -i "$src" -an -c:v libx264 -preset veryfast -crf 32 "$q-reenc.mp4"
  ff -i "$src" -an -vf "scale=trunc(iw/4)*2:trunc(ih/4)*2" -c:v libx264 -preset veryfast "$q-half.mp4"
  ff -i "$src" -an -c:v mpeg4 -q:v 6 "$q-mpeg4.avi"
  ff -i "$src" -an -c:v libvpx-vp9 -b:v 600k -deadline realtime -cpu-used 8 "$q-vp9.webm"
  ff -i "$src" -an -vf fps=15 -c:v libx264 -preset veryfast "$q-fps15.mp4"
  ff -ss 2 -i "$src" -an -c:v libx264 -preset veryfast "$q-trim.mkv"
done

# The reference hashes (Meta's vPDQ), one file per video.
"$py" "$shared/peer-vpdq.py" --workers 2 --out "$out/ref-orig" "$out/orig" > /dev/null
"$py" "$shared/peer-vpdq.py" --workers 2 --out "$out/ref-queries" "$out/queries" > /dev/null
# Our importer reads `<name>.vpdq.txt`.
mkdir -p "$out/list"
for f in "$out/ref-orig"/*.txt; do
  b=$(basename "$f" .txt)
  cp "$f" "$out/list/${b%.vpdq}.vpdq.txt"
done
"$bin" lists import --format vpdq --name parity --library "$out/lib" "$out/list" > /dev/null

# Ours: every query against the list, with both thresholds at 0 (every
# list video sharing a frame, with its percentages), and with the defaults
# (the verdicts).
for f in "$out/ref-queries"/*.txt; do
  "$bin" match --library "$out/lib" --vpdq-query-percent 0 --vpdq "$f" >> "$out/ours-all.jsonl" || [ $? -le 1 ]
  "$bin" match --library "$out/lib" --vpdq "$f" >> "$out/ours-default.jsonl" || [ $? -le 1 ]
done

"$py" bench/video-te-parity.py "$out"

#!/bin/sh
# Bounded memory on a huge disk image (issue 12, point 7): `nigehbaan scan
# --no-pdq` of a sparse raw image (default 1 TiB: an MBR with one 16 MiB FAT16
# partition holding a benign demo picture, the rest never written), once with
# --no-carve and once carving. Each run is watched for SECONDS (default 60):
# resident memory (VmRSS, VmHWM) and bytes read (rchar) sampled every 5 s,
# then the run is stopped (by its own pid) unless it finished; prints the
# read rate and how long reading the whole image would take at that rate.
# Without carving the scan reads only the partition's files (the image file
# itself is digested only with --verify-image); carving reads every byte
# no file system holds.
# Usage: bench/disk-sparse.sh [SECONDS] [SIZE]   (SIZE as truncate takes it)
# Needs sfdisk, mkfs.fat, mcopy. Writes only the sparse file (in TMPDIR).
set -eu
secs=${1:-60}
size=${2:-1T}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/nigehbaan-disk-sparse.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
export PATH="$PATH:/usr/sbin:/sbin" MTOOLS_SKIP_CHECK=1
bin=${NIGEHBAAN_BIN:-$root/target/release/nigehbaan}
[ -x "$bin" ] || (cd "$root" && cargo build --release -q -p nigehbaan)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

img=$work/sparse.img
truncate -s "$size" "$img"
printf 'label: dos\nstart=2048, size=32768, type=6\n' | sfdisk -q --no-reread --no-tell-kernel "$img"
mkfs.fat -F 16 -n SPARSE --offset 2048 "$img" 16384 >/dev/null
"$bin" demo --out "$work/demo" >/dev/null
mcopy -i "$img@@1048576" "$work/demo/originals/landscape.png" ::/LAND.PNG
bytes=$(stat -c %s "$img")
echo "image: $size ($bytes bytes, $(du -k "$img" | cut -f1) KiB on disk)"

watch_run() {
  label=$1; shift
  rm -rf "$work/r"
  start=$(date +%s.%N)
  "$bin" scan "$img" --out "$work/r" --case S --quiet --no-pdq --threads 2 \
    --library "$work/demo/library" "$@" >/dev/null 2>&1 &
  pid=$!
  t=0 rchar=0 peak=0 rss=0
  running() { grep -q '^State:[[:space:]]*[RSD]' "/proc/$pid/status" 2>/dev/null; }
  while [ "$t" -lt "$secs" ] && running; do
    sleep 5; t=$((t + 5))
    running || break
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    peak=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    rchar=$(awk '/^rchar/ {print $2}' "/proc/$pid/io" 2>/dev/null || echo "$rchar")
    echo "  $label t=${t}s rss=${rss:-0} KB peak=${peak:-0} KB read=$((rchar / 1048576)) MiB"
  done
  now=$(date +%s.%N)
  if running; then
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    awk -v r="$rchar" -v s="$start" -v n="$now" -v b="$bytes" -v l="$label" 'BEGIN {
      el = n - s; rate = r / el;
      printf "  %s: stopped after %.0f s; %.0f MB/s read; the whole image at this rate: about %.0f min\n", l, el, rate / 1e6, b / rate / 60 }'
  else
    wait "$pid" && code=0 || code=$?
    pid=
    awk -v s="$start" -v n="$now" -v c="$code" -v l="$label" \
      'BEGIN { printf "  %s: finished in %.1f s, exit %d\n", l, n - s, c }'
  fi
  echo "  $label: peak RSS ${peak:-0} KB"
}
watch_run "no-carve" --no-carve
watch_run "carving"

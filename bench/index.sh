#!/usr/bin/env bash
# Benchmark: the PDQ index against faiss IndexBinaryMultiHash (what HMA
# uses), on the very same hashes and queries, in the same run; proves the
# match sets identical. Runs our default layout and the compact one.
#
# Usage: bench/index.sh [N...]        (default: 1000000 10000000)
# Needs python3; installs faiss-cpu + numpy into target/bench-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared/bench"
[ -d "$shared" ] || { echo "bench: $shared not found" >&2; exit 2; }
venv="$root/target/bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import faiss, numpy" 2>/dev/null || "$venv/bin/pip" install -q faiss-cpu numpy
cargo build --release -q -p nigehbaan-index --example pdq_bench
out="$root/target/bench-out"
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in "${@:-1000000 10000000}"; do
  for n1 in $n; do
    peer=$(/usr/bin/time -f "peak_rss_kb=%M" "$venv/bin/python" "$shared/peer-faiss-mih.py" --n "$n1" --queries 1000 \
      --write-hashes "$out/h$n1.txt" --dump "$out/faiss$n1.dump" 2>&1)
    echo "$peer"
    ours=$("$root/target/release/examples/pdq_bench" "$out/h$n1.txt" "$out/ours$n1.dump")
    echo "$ours"
    qp=$(echo "$peer" | grep -o 'qps=[0-9]*' | cut -d= -f2)
    qo=$(echo "$ours" | grep -o 'qps=[0-9]*' | cut -d= -f2)
    echo "n=$n1: queries/s ratio (ours / faiss) = $(python3 -c "print(f'{$qo/$qp:.1f}x')")"
    if cmp -s "$out/faiss$n1.dump" "$out/ours$n1.dump"; then
      echo "n=$n1: identical match sets ($(wc -l < "$out/ours$n1.dump") matches)"
    else
      echo "n=$n1: MATCH SETS DIFFER"; exit 1
    fi
    # The compact layout (lists import --compact-pdq): less memory, slower.
    compact=$("$root/target/release/examples/pdq_bench" "$out/h$n1.txt" "$out/compact$n1.dump" 31 compact)
    echo "$compact"
    qc=$(echo "$compact" | grep -o 'qps=[0-9]*' | cut -d= -f2)
    echo "n=$n1: compact layout queries/s ratio (ours / faiss) = $(python3 -c "print(f'{$qc/$qp:.1f}x')")"
    cmp -s "$out/faiss$n1.dump" "$out/compact$n1.dump" && echo "n=$n1: compact: identical match sets" \
      || { echo "n=$n1: compact: MATCH SETS DIFFER"; exit 1; }
  done
done

#!/usr/bin/env bash
# Load benchmark of `nigehbaan serve` on loopback only (wrk), bounded in time.
#
#   bench/serve.sh [ENTRIES...]        default: 1000000
#
# For each size: seeds a SQLite database with ENTRIES random PDQ hashes
# through the hidden bulk path (`nigehbaan serve bench-seed`: multi-row
# inserts, then the index snapshot written directly), starts the server,
# measures the time to ready from the snapshot, runs wrk with single PDQ
# lookups (random hashes: the no-match case) and then hash-and-match
# uploads of a generated 1600x1004 JPEG, and prints requests/s, p50/p99
# latency and resident memory per entry.
#
# Environment: DURATION (wrk run, default 15s), CONNS (default 8),
# THREADS (wrk threads, default 1), SKIP_BUILD=1 uses an existing release
# build, WORKDIR=DIR keeps the databases there and reuses them on the next
# run (seeding 10M takes minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNS=${CONNS:-8}
THREADS=${THREADS:-1}
TARGET=${CARGO_TARGET_DIR:-target}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 2; }
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release -p nigehbaan
fi
BIN=$TARGET/release/nigehbaan
WORK=${WORKDIR:-$(mktemp -d /tmp/nigehbaan-serve-bench.XXXXXX)}
mkdir -p "$WORK"
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  [ -z "${WORKDIR:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# start DB: starts the server; sets PID, ADDR and READY (seconds from
# launch to /health/ready answering 200).
start() {
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" serve --db "$1" --listen 127.0.0.1:0 >/dev/null 2>"$WORK/log" &
  PID=$!
  for _ in $(seq 1 600); do
    ADDR=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$WORK/log" | head -1)
    if [ -n "$ADDR" ] && curl -fs "http://$ADDR/health/ready" >/dev/null; then
      t1=$(date +%s.%N)
      READY=$(echo "$t1 - $t0" | bc)
      return
    fi
    sleep 0.01
  done
  echo "server did not become ready:"; cat "$WORK/log"; exit 1
}

stop() { kill -TERM "$PID"; wait "$PID" || true; PID=; }

# wrk_run NAME SCRIPT KEY: prints "NAME: R req/s, p50 X, p99 Y".
wrk_run() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$2" \
        -H "Authorization: Bearer $3" "http://$ADDR" 2>&1)
  echo "$out" > "$WORK/wrk-$1.txt"
  local rps p50 p99 errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  echo "  $1: ${rps} req/s, p50 ${p50}, p99 ${p99}${errs:+, NON-2XX: $errs}"
}

"$BIN" serve bench-image --out "$WORK/upload.jpg" --width 1600 --height 1004

# Baseline resident memory of an empty service.
EMPTY="$WORK/empty.sqlite"
rm -f "$EMPTY" "${EMPTY%.sqlite}.pdqidx"
"$BIN" serve --db "$EMPTY" keys create --role matcher --name bench >/dev/null 2>&1
start "$EMPTY"
RSS0=$(rss_kib "$PID")
stop
echo "machine: $(nproc) cores; wrk -t$THREADS -c$CONNS -d$DURATION on 127.0.0.1 (same machine)"
echo "empty service: RSS ${RSS0} KiB"

for N in "${@:-1000000}"; do
  DB="$WORK/bench-$N.sqlite"
  echo "== $N entries"
  t0=$(date +%s.%N)
  if [ -e "$DB" ]; then
    echo "  reusing $DB"
  else
    "$BIN" serve --db "$DB" bench-seed --entries "$N" 2>&1 | sed 's/^/  /'
  fi
  echo "  seed: $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-6) s (database $(du -m "$DB" | cut -f1) MiB, snapshot $(du -m "${DB%.sqlite}.pdqidx" | cut -f1) MiB)"
  KEY=$("$BIN" serve --db "$DB" keys create --role matcher --name bench --rate-limit 1000000000 2>/dev/null)
  start "$DB"
  echo "  start to ready (snapshot): ${READY} s"
  wrk_run "pdq lookup" bench/serve/lookup.lua "$KEY"
  RSS=$(rss_kib "$PID")
  echo "  RSS after lookups: ${RSS} KiB = $(( RSS * 1024 / N )) B/entry ($(( (RSS - RSS0) * 1024 / N )) B/entry over the empty service)"
  UPLOAD="$WORK/upload.jpg" wrk_run "hash-and-match 1600x1004 JPEG" bench/serve/upload.lua "$KEY"
  stop
done

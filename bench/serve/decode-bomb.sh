#!/usr/bin/env bash
# Peak memory of `nigehbaan serve` under the decode-bomb load (issue 13,
# point 15), on loopback only: one matcher key sends N (default 6) copies
# of a 16000x16000 all-zero PNG (~750 KB each, 256 megapixels declared) to
# /v1/hash at once; the script prints each answer's status and the
# server's peak resident memory (VmHWM).
#
#   bench/serve/decode-bomb.sh [BIN] [-- SERVE_ARGS...]
#
# BIN defaults to target/release/nigehbaan (built if SKIP_BUILD is unset).
# SERVE_ARGS go to `nigehbaan serve`, e.g. `--max-megapixels 256` to let
# the bombs be decoded (one at a time within the default 1 GiB budget)
# instead of refused from their headers. N=... changes the number of
# uploads.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-6}
BIN=${1:-}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
if [ -z "$BIN" ]; then
  BIN=${CARGO_TARGET_DIR:-target}/release/nigehbaan
  [ -z "${SKIP_BUILD:-}" ] && cargo build --release -p nigehbaan
fi
WORK=$(mktemp -d /tmp/nigehbaan-bomb.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A 16000x16000 RGB PNG of zeros, written as a stream (never 768 MB in memory).
python3 - "$WORK/bomb.png" <<'EOF'
import struct, sys, zlib
w = h = 16000
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
z = zlib.compressobj(9)
row = b"\0" * (1 + 3 * w)
data = b"".join(z.compress(row) for _ in range(h)) + z.flush()
with open(sys.argv[1], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n")
    f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
    f.write(chunk(b"IDAT", data))
    f.write(chunk(b"IEND", b""))
EOF
echo "bomb: $(stat -c %s "$WORK/bomb.png") bytes, 16000x16000"

DB="$WORK/serve.sqlite"
KEY=$("$BIN" serve --db "$DB" keys create --role matcher --name bomb 2>/dev/null)
"$BIN" serve --db "$DB" --listen 127.0.0.1:0 "$@" >/dev/null 2>"$WORK/log" &
PID=$!
ADDR=
for _ in $(seq 1 500); do
  ADDR=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$WORK/log" | head -1)
  [ -n "$ADDR" ] && break
  sleep 0.02
done
[ -n "$ADDR" ] || { cat "$WORK/log"; exit 1; }
base=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  curl -s -o "$WORK/out$i" -w "%{http_code}\n" --max-time 600 \
    -H "Authorization: Bearer $KEY" --data-binary @"$WORK/bomb.png" \
    "http://$ADDR/v1/hash" > "$WORK/status$i" &
done
wait $(jobs -p | grep -v "^$PID$") 2>/dev/null || true
t1=$(date +%s.%N)
statuses=$(cat "$WORK"/status* | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}')
peak=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
echo "answers: ${statuses%, } in $(echo "$t1 - $t0" | bc) s"
echo "rss before: $((base / 1024)) MiB; peak rss (VmHWM): $((peak / 1024)) MiB"

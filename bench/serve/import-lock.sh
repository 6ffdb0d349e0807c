#!/usr/bin/env bash
# A bulk import on loopback (issue 13, point 18): imports a generated
# md5sum list of LINES (default 1,000,000; benign random digests) into a
# new bank, creates another bank DELAY seconds (default 6) into the import
# and prints how long that creation waited, the import's time and the
# server's peak resident memory (VmHWM).
#
#   bench/serve/import-lock.sh BIN [QUERY]
#
# QUERY is the import's query string (default `?create=true`; give "" for
# builds from before imports needed create=true).
set -euo pipefail
BIN=$1
Q=${2-?create=true}
LINES=${LINES:-1000000}
DELAY=${DELAY:-6}
W=$(mktemp -d /tmp/nigehbaan-import.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
python3 - "$W/list.txt" "$LINES" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("%032x  f%d.jpg\n" % ((i * 0x9E3779B97F4A7C15) & ((1 << 128) - 1), i))
PY
KEY=$("$BIN" serve --db "$W/s.sqlite" keys create --role admin --name a 2>/dev/null)
"$BIN" serve --db "$W/s.sqlite" --listen 127.0.0.1:0 >/dev/null 2>"$W/log" &
PID=$!
ADDR=
for _ in $(seq 1 500); do
  ADDR=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$W/log" | head -1)
  [ -n "$ADDR" ] && break
  sleep 0.02
done
curl -s -o "$W/out" -w "import: %{http_code} in %{time_total} s\n" \
  -H "Authorization: Bearer $KEY" --data-binary @"$W/list.txt" \
  "http://$ADDR/v1/banks/big/import$Q" &
CP=$!
sleep "$DELAY"
curl -s -o /dev/null -w "bank creation ${DELAY} s into the import: %{http_code} in %{time_total} s\n" \
  -H "Authorization: Bearer $KEY" -d '{"name":"other"}' "http://$ADDR/v1/banks"
wait $CP
grep -v "listening on" "$W/log" | head -5 || true
echo "peak rss (VmHWM): $(( $(awk '/^VmHWM/ {print $2}' "/proc/$PID/status") / 1024 )) MiB"

#!/bin/sh
# The scan-level disk-image benchmark (issue 12): see bench/disk.sh (part 3).
# Usage: bench/disk-scan.sh [CORPUS_DIR] [PAIRS]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-}
pairs=${2:-3}
py=${BENCH_PY:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/nigehbaan-disk-scan.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PATH="$PATH:/usr/sbin:/sbin" MTOOLS_SKIP_CHECK=1
bin=${NIGEHBAAN_BIN:-$root/target/release/nigehbaan}
[ -x "$bin" ] || (cd "$root" && CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --release -q -p nigehbaan)
if [ -z "$corpus" ]; then
  corpus=$work/corpus
  "$py" "$root/../shared/bench/make-corpus.py" "$corpus" --count 400 >/dev/null
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# The disk: MBR, p1 FAT32 1 GiB at 1 MiB, p2 ext4 1.2 GiB after it.
img=$work/disk.img
mib=1048576
p1=$((1 * mib)); p1len=$((1024 * mib))
p2=$((p1 + p1len)); p2len=$((1200 * mib))
truncate -s $((p2 + p2len)) "$img"
printf 'label: dos\nstart=2048, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
  $((p1len / 512)) $((p2 / 512)) $((p2len / 512)) | sfdisk -q --no-reread --no-tell-kernel "$img"
find "$corpus" -type f | sort > "$work/all"
n=$(wc -l < "$work/all")
half=$((n / 2))
head -n $half "$work/all" > "$work/fat"
tail -n +$((half + 1)) "$work/all" > "$work/ext"
mkfs.fat -F 32 -n BENCH --offset $((p1 / 512)) "$img" $((p1len / 1024)) >/dev/null
mmd -i "$img@@$p1" ::/DCIM
i=0
while read -r f; do
  i=$((i + 1)); mcopy -i "$img@@$p1" "$f" "::/DCIM/F$i.$(echo "${f##*.}" | cut -c1-3)"
done < "$work/fat"
# Delete every tenth (FAT keeps the entry, marked, and the data).
j=0
while [ $j -lt $i ]; do j=$((j + 10)); [ $j -le $i ] && mdel -i "$img@@$p1" "::/DCIM/F$j.*"; done
mkdir -p "$work/extdir/pics"
while read -r f; do cp "$f" "$work/extdir/pics/"; done < "$work/ext"
mkfs.ext4 -q -F -E offset=$p2 -d "$work/extdir" "$img" $((p2len / 1024))k
rm -rf "$work/extdir"
ls -l "$img"

"$bin" demo --out "$work/demo" >/dev/null
lib=$work/demo/library
t() { /usr/bin/time -f "%e s  %M KB" "$@"; }
ours() {
  rm -rf "$work/r"
  t "$bin" scan "$img" --out "$work/r" --case B --quiet --threads 2 --library "$lib" "$@" >/dev/null || true
}
peer() {
  rm -rf "$work/x"
  t sh -c "tsk_recover -e '$img' '$work/x' >/dev/null && hashdeep -c md5,sha1,sha256 -r '$work/x' >/dev/null && '$py' '$root/../shared/bench/peer-pdqhash.py' --workers 2 '$work/x' > '$work/peer.csv'"
}
for k in $(seq "$pairs"); do
  echo "--- pair $k: ours (scan, carving on)"; ours
  echo "--- pair $k: peer (tsk_recover -e + hashdeep + pdqhash)"; peer
done
echo "--- raw read: cat vs scan --no-pdq --no-carve"
for k in $(seq "$pairs"); do
  t sh -c "cat '$img' > /dev/null"
  ours --no-pdq --no-carve
done
ours
"$py" - "$work/all" "$work/r/report.json" "$work/x" <<'PY'
import hashlib, json, os, sys
allf, rep, export = sys.argv[1:]
corpus = {}
for p in open(allf).read().split("\n"):
    if p:
        corpus[hashlib.sha256(open(p, "rb").read()).hexdigest()] = os.path.basename(p)
r = json.load(open(rep))
ours = {}
for it in r["items"]:
    if it.get("sha256") in corpus:
        ours.setdefault(it["sha256"], []).append(it["path"].split("!", 1)[1])
peer = {}
n_export = 0
for d, _, fs in os.walk(export):
    for f in fs:
        n_export += 1
        h = hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
        if h in corpus:
            peer.setdefault(h, []).append(os.path.relpath(os.path.join(d, f), export))
print(f"corpus pictures: {len(corpus)}; found by ours: {len(ours)}; by the peer: {len(peer)}")
print(f"items ours: {len(r['items'])}; files the peer exported: {n_export}")
for h in sorted(set(ours) - set(peer)):
    print("only ours:", corpus[h], ours[h])
for h in sorted(set(peer) - set(ours)):
    print("only peer:", corpus[h], peer[h])
print("images section:", json.dumps(r.get("images", [{}])[0].get("totals")))
PY

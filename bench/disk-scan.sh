#!/bin/sh
# The scan-level disk-image benchmark (issue 12): see bench/disk.sh (part 3).
# Usage: bench/disk-scan.sh [CORPUS_DIR] [PAIRS]
# Prints, for PAIRS paired runs (medians at the end):
#  1. `nigehbaan scan` (digests, PDQ, carving) against The Sleuth Kit's
#     `tsk_recover -e` of each partition + `hashdeep -c md5,sha1,sha256 -r`
#     + `peer-pdqhash.py --workers 2` over the export: times, ratio, peak
#     RSS, and the corpus pictures each found (and which only one found);
#  2. raw read: `cat IMAGE > /dev/null` against `scan --no-pdq` (carving on,
#     and --no-carve), page cache warm, then cold (the image's pages dropped
#     with posix_fadvise before each run: only this file's); cold again on
#     a dense copy of the image (`cp --sparse=never`: the generated image's
#     free space is holes, which `cat` reads without touching the disk,
#     while a seized disk's free space is data); and, like with like,
#     `hashdeep -c md5,sha1,sha256 IMAGE` against
#     `scan --no-pdq --no-carve --verify-image` (which digests the image
#     file as hashdeep does, and verifies its data), warm;
#  3. E01: `ewfverify -d sha1` against our verification alone
#     (`disk_image verify`, the code `--verify-image` runs) and the whole
#     `scan --verify-image --no-pdq --no-carve` of the E01.
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
bytes=$(stat -c %s "$img")
# `timed LABEL SCRIPT`: runs the shell SCRIPT under /usr/bin/time (peak RSS
# is the largest process's), appends "LABEL secs KB" to $work/times and
# prints it.
timed() {
  /usr/bin/time -o "$work/t1" -f "%e %M" sh -c "$2" >/dev/null 2>"$work/err" || {
    echo "$1 failed:"; tail -5 "$work/err"; }
  read -r secs kb < "$work/t1" || { secs=0; kb=0; }
  echo "$1 $secs $kb" >> "$work/times"
  printf '  %-28s %8.2f s %8d KB\n' "$1" "$secs" "$kb"
}
: > "$work/times"
# A finished scan exits 0 (no hits), 1 (hits) or 2 (incomplete).
ours() {
  echo "rm -rf '$work/r'; '$bin' scan $* --out '$work/r' --case B --quiet --threads 2 --library '$lib'; [ \$? -le 2 ]"
}
peer="rm -rf '$work/x' && tsk_recover -e -o $((p1 / 512)) '$img' '$work/x/p1' >/dev/null &&
  tsk_recover -e -o $((p2 / 512)) '$img' '$work/x/p2' >/dev/null &&
  hashdeep -c md5,sha1,sha256 -r '$work/x' > '$work/peer-digests' &&
  '$py' '$root/../shared/bench/peer-pdqhash.py' --workers 2 '$work/x' > '$work/peer.csv'"
drop_cache() {
  "$py" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "${1:-$img}"
}
echo "--- 1. scan vs The Sleuth Kit ($pairs pairs; load $(cut -d' ' -f1-3 /proc/loadavg))"
# The image was just written: both sides start with it on disk and in the
# page cache, as the first pair would otherwise pay for it alone.
sync
cat "$img" > /dev/null
for k in $(seq "$pairs"); do
  timed "ours-$k" "$(ours "'$img'")"
  cp "$work/r/report.json" "$work/ours.json"
  timed "peer-$k" "$peer"
done
echo "--- 2. raw read (image $bytes bytes; load $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$img" > /dev/null
for k in $(seq "$pairs"); do
  timed "cat-warm-$k" "cat '$img' > /dev/null"
  timed "hashdeep-image-warm-$k" "hashdeep -c md5,sha1,sha256 '$img'"
  timed "nopdq-warm-$k" "$(ours "'$img' --no-pdq")"
  timed "nopdq-nocarve-warm-$k" "$(ours "'$img' --no-pdq --no-carve")"
  timed "verify-nocarve-warm-$k" "$(ours "'$img' --no-pdq --no-carve --verify-image")"
done
for k in $(seq "$pairs"); do
  drop_cache; timed "cat-cold-$k" "cat '$img' > /dev/null"
  drop_cache; timed "nopdq-cold-$k" "$(ours "'$img' --no-pdq")"
  drop_cache; timed "nopdq-nocarve-cold-$k" "$(ours "'$img' --no-pdq --no-carve")"
done
dense=$work/dense.img
cp --sparse=never "$img" "$dense"
sync
for k in $(seq "$pairs"); do
  drop_cache "$dense"; timed "cat-dense-cold-$k" "cat '$dense' > /dev/null"
  drop_cache "$dense"; timed "nopdq-dense-cold-$k" "$(ours "'$dense' --no-pdq")"
done
rm -f "$dense"
echo "--- 3. E01 verification (load $(cut -d' ' -f1-3 /proc/loadavg))"
ex="$root/target/release/examples/disk_image"
[ -x "$ex" ] || (cd "$root" && cargo build --release -q -p nigehbaan-disk --example disk_image)
mkdir -p "$work/e01"
ewfacquire -u -q -t "$work/e01/disk" -f encase6 -c deflate:fast -S 4GiB -d sha1 "$img" >/dev/null
ls -l "$work/e01"
for k in $(seq "$pairs"); do
  timed "ewfverify-$k" "ewfverify -q -d sha1 '$work/e01/disk.E01'"
  timed "verify-$k" "'$ex' verify '$work/e01/disk.E01'"
  timed "scan-verify-$k" "$(ours "'$work/e01/disk.E01' --verify-image --no-pdq --no-carve")"
done
echo "--- summary (medians of $pairs; load $(cut -d' ' -f1-3 /proc/loadavg))"
"$py" - "$work/times" "$bytes" "$work/all" "$work/ours.json" "$work/x" <<'PY'
import hashlib, json, os, statistics, sys
times, size, allf, rep, export = sys.argv[1:]
size = int(size)
t, kb = {}, {}
for line in open(times):
    label, secs, k = line.split()
    name = label.rsplit("-", 1)[0]
    t.setdefault(name, []).append(float(secs))
    kb.setdefault(name, []).append(int(k))
m = {n: statistics.median(v) for n, v in t.items()}
pairs = [p / o for o, p in zip(t["ours"], t["peer"]) if o > 0]
print(f"scan: ours {m['ours']:.2f} s, peer {m['peer']:.2f} s; ratio per pair "
      f"{', '.join(f'{r:.2f}x' for r in pairs)}; median {statistics.median(pairs):.2f}x (target >= 5x)")
print(f"peak RSS: ours scan max {max(kb['ours']) / 1024:.0f} MB (target < 500 MB), "
      f"peer {max(kb['peer']) / 1024:.0f} MB")
for mode in ("warm", "cold", "dense-cold"):
    cat = size / m[f"cat-{mode}"] / 1e6
    for what in ("nopdq", "nopdq-nocarve"):
        if f"{what}-{mode}" not in m:
            continue
        ours = size / m[f"{what}-{mode}"] / 1e6
        flags = what.replace('nopdq', 'no-pdq').replace('-nocarve', ' --no-carve')
        if what == "nopdq-nocarve":
            # Without carving the scan reads only its files' bytes, not the
            # image: the image's size over its time is no read rate.
            print(f"  (scan --{flags} {mode}: {m[f'{what}-{mode}']:.2f} s; it reads only the files)")
            continue
        print(f"raw read {mode}: cat {cat:.0f} MB/s; scan --{flags} "
              f"{ours:.0f} MB/s = {100 * ours / cat:.0f} % of cat (target >= 70 %)")
hd = size / m["hashdeep-image-warm"] / 1e6
ours = size / m["verify-nocarve-warm"] / 1e6
print(f"like with like, warm: hashdeep -c md5,sha1,sha256 of the image file {hd:.0f} MB/s; "
      f"scan --no-pdq --no-carve --verify-image (the same three digests of the image file, its data's MD5/SHA-1, then its files) "
      f"{ours:.0f} MB/s = {100 * ours / hd:.0f} % of hashdeep")
print(f"E01: ewfverify {m['ewfverify']:.2f} s; ours verify {m['verify']:.2f} s "
      f"({m['ewfverify'] / m['verify']:.2f}x); scan --verify-image --no-pdq --no-carve "
      f"{m['scan-verify']:.2f} s ({m['ewfverify'] / m['scan-verify']:.2f}x) (target >= 1x)")
corpus = {}
for p in open(allf).read().split("\n"):
    if p:
        corpus[hashlib.sha256(open(p, "rb").read()).hexdigest()] = os.path.basename(p)
r = json.load(open(rep))
ours = {}
for it in r["items"]:
    if it.get("sha256") in corpus:
        ours.setdefault(it["sha256"], []).append((it["path"].split("!", 1)[1], it))
peer, n_export = {}, 0
for d, _, fs in os.walk(export):
    for f in fs:
        n_export += 1
        h = hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
        if h in corpus:
            peer.setdefault(h, []).append(os.path.relpath(os.path.join(d, f), export))
print(f"corpus pictures: {len(corpus)}; found intact by ours: {len(ours)}; by the peer: {len(peer)}")
print(f"items ours: {len(r['items'])} (deleted {sum(1 for i in r['items'] if i.get('deleted'))}, "
      f"carved {sum(1 for i in r['items'] if 'carved' in i.get('notes', []))}); "
      f"files the peer exported: {n_export}")
for h in sorted(set(ours) - set(peer)):
    path, it = ours[h][0]
    why = "carved" if "carved" in it.get("notes", []) else (
        f"deleted, {it.get('recovery')}" if it.get("deleted") else "live")
    print(f"only ours: {corpus[h]} as {path} ({why})")
for h in sorted(set(peer) - set(ours)):
    print("only peer:", corpus[h], peer[h])
print("images section totals:", json.dumps(r.get("images", [{}])[0].get("totals")))
PY

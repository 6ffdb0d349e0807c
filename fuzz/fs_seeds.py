#!/usr/bin/env python3
"""Seeds for the fs_* fuzz targets: small FAT, exFAT, NTFS and ext images
made with the standard tools (benign files only), written in the sparse
volume format of fuzz_targets/fs_common.rs into corpus/fs_*/.

Usage: python3 fuzz/fs_seeds.py   (needs mkfs.fat, mtools, mkntfs, ntfscp,
mkfs.ext2/ext4, debugfs, mkfs.exfat; /usr/sbin is searched too)
"""
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin", MTOOLS_SKIP_CHECK="1")


def sh(*args):
    subprocess.run(args, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sparse(path):
    """Non-uniform 512-byte sectors as (offset, bytes) records, merged.
    Uniform sectors (zeros, NTFS's 0xFF-filled $LogFile) are left out: the
    readers never need them."""
    b = open(path, "rb").read()
    out = [struct.pack("<I", len(b))]
    i = 0
    while i < len(b):
        s = b[i:i + 512]
        if len(set(s)) > 1:
            j = i
            while j < len(b) and j - i < 65024 and len(set(b[j:j + 512])) > 1:
                j += 512
            out.append(struct.pack("<IH", i, j - i) + b[i:j])
            i = j
        else:
            i += 512
    return b"".join(out)


def main():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        os.makedirs(os.path.join(src, "dir", "sub"))
        for name, data in [("dir/sub/a.txt", b"benign test data\n" * 40), ("b.txt", b"x" * 3000), ("c.txt", b"tiny")]:
            open(os.path.join(src, name), "wb").write(data)
        seeds = {}

        def img(name, size):
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.truncate(size)
            return p

        for fat, size in [("12", 256 << 10), ("16", 4200 << 10)]:
            p = img(f"fat{fat}.img", size)
            sh("mkfs.fat", "-F", fat, "-s", "1" if fat == "16" else "4", p)
            sh("mmd", "-i", p, "::/dir")
            sh("mcopy", "-i", p, os.path.join(src, "b.txt"), "::/dir/Long file name.txt")
            sh("mcopy", "-i", p, os.path.join(src, "c.txt"), "::/gone.txt")
            sh("mdel", "-i", p, "::/gone.txt")
            seeds.setdefault("fs_fat", []).append(p)
        p = img("ntfs.img", 2 << 20)
        sh("mkntfs", "-F", "-f", "-q", "-c", "1024", p)
        sh("ntfscp", "-q", p, os.path.join(src, "b.txt"), "b.txt")
        sh("ntfscp", "-q", "-N", "ads", p, os.path.join(src, "c.txt"), "b.txt")
        seeds["fs_ntfs"] = [p]
        for mk in ["mkfs.ext2", "mkfs.ext4"]:
            p = img(mk + ".img", 512 << 10)
            sh(mk, "-q", "-d", src, p)
            sh("debugfs", "-w", "-R", "rm /c.txt", p)
            seeds.setdefault("fs_ext", []).append(p)
        p = img("exfat.img", 2 << 20)
        sh("mkfs.exfat", "-b", "4096", p)
        seeds["fs_exfat"] = [p]
        for target, paths in seeds.items():
            out = os.path.join(HERE, "corpus", target)
            os.makedirs(out, exist_ok=True)
            for p in paths:
                data = sparse(p)
                open(os.path.join(out, os.path.basename(p) + ".seed"), "wb").write(data)
                print(target, os.path.basename(p), len(data), "bytes")


main()

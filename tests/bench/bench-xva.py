#!/usr/bin/env python3
"""bench-xva.py: convoy's XVA import against the baselines, in one run.

On a generated XVA (default 2 GiB virtual disk: pseudo-random data mixed
with all-zero and half-zero chunks, as mkxva.py synthesizes it):

  cat          cat FILE > OUT, then sync OUT        (the disk's own speed)
  tar+concat   tar -xf FILE, then the chunks written at their offsets
               into one raw image by one Python process, then sync
               (the fastest way to do it by hand)
  convoy raw   convoy xva extract --format raw      (checksums verified)
  qemu-img     qemu-img convert -O qcow2 of convoy's raw result, then sync
  convoy qcow2 convoy xva extract --format qcow2

Every command's output is made durable before its clock stops (convoy
flushes its own output), so no command is timed against the page cache.
Each measurement is the best of --repeat runs; page cache is not dropped
(root is not assumed), so the XVA is read warm by every command alike.

Peak RSS is the child's ru_maxrss; it is measured for convoy on the full
size and on a disk 1/8 of it, to show it does not grow with disk size.

Goals (issue #2): convoy raw >= 0.8 x cat; >= 3 x tar+concat;
convoy qcow2 at least as fast as qemu-img convert; peak RSS < 64 MiB.
Prints a table and writes bench-xva.json beside the scratch folder.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

CHUNK = 1024 * 1024


def run(argv, **kw):
    """Run argv; return (seconds, peak RSS in KiB)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("bench: %s exited %d" % (" ".join(argv), p.returncode))
    return secs, ru.ru_maxrss


def best(n, fn):
    results = [fn() for _ in range(n)]
    return min(results, key=lambda r: r[0])


def sync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tar_concat(xva, work, size):
    """tar -xf, then one process writes the chunks at their offsets."""
    d = os.path.join(work, "untar")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    t0 = time.monotonic()
    subprocess.run(["tar", "-xf", xva, "-C", d], check=True)
    refs = [e for e in os.listdir(d) if e.startswith("Ref:")]
    out = os.path.join(work, "concat.raw")
    with open(out, "wb") as f:
        f.truncate(size)
        for ref in refs:
            for name in sorted(os.listdir(os.path.join(d, ref))):
                if not name.isdigit():
                    continue
                with open(os.path.join(d, ref, name), "rb") as c:
                    f.seek(int(name) * CHUNK)
                    f.write(c.read())
        f.flush()
        os.fsync(f.fileno())
    secs = time.monotonic() - t0
    shutil.rmtree(d)
    return secs, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convoy", required=True)
    ap.add_argument("--mkxva", required=True)
    ap.add_argument("--size", default="2G", help="virtual disk size (default 2G)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()

    mult = {"M": 1 << 20, "G": 1 << 30}
    size = int(a.size[:-1]) * mult[a.size[-1]]
    work = tempfile.mkdtemp(prefix="convoy-bench.", dir=a.workdir)
    try:
        xva = os.path.join(work, "bench.xva")
        small = os.path.join(work, "small.xva")
        subprocess.run([sys.executable, a.mkxva, "-o", xva, "--name", "bench",
                        "--disk", "xvda=size:%s,ref=Ref:1,pattern=11" % a.size],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, a.mkxva, "-o", small, "--name", "small",
                        "--disk", "xvda=size:%dM,ref=Ref:1,pattern=11" % (size // 8 >> 20)],
                       check=True, stdout=subprocess.DEVNULL)
        xva_bytes = os.path.getsize(xva)
        # Warm the cache for everyone alike.
        subprocess.run(["cat", xva], check=True, stdout=subprocess.DEVNULL)

        out_cat = os.path.join(work, "cat.out")

        def do_cat():
            with open(out_cat, "wb") as f:
                t0 = time.monotonic()
                r = run(["cat", xva], stdout=f)
                f.flush()
                os.fsync(f.fileno())
                return time.monotonic() - t0, r[1]

        raw_dir = os.path.join(work, "raw")
        q_dir = os.path.join(work, "qcow2")

        def do_convoy(fmt, d, f=xva):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            return run([a.convoy, "xva", "extract", "-o", d, "--format", fmt, f],
                       stdout=subprocess.DEVNULL)

        def do_qemu_img():
            raw = os.path.join(raw_dir, "bench-xvda.raw")
            out = os.path.join(work, "qemu-img.qcow2")
            t0 = time.monotonic()
            r = run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out])
            sync_file(out)
            return time.monotonic() - t0, r[1]

        res = {}
        res["cat"] = best(a.repeat, do_cat)
        res["tar+concat"] = best(a.repeat, lambda: tar_concat(xva, work, size))
        res["convoy raw"] = best(a.repeat, lambda: do_convoy("raw", raw_dir))
        res["qemu-img convert"] = best(a.repeat, do_qemu_img)
        res["convoy qcow2"] = best(a.repeat, lambda: do_convoy("qcow2", q_dir))
        small_rss = do_convoy("raw", os.path.join(work, "small"), small)[1]

        # Correctness before speed: both convoy outputs equal the baseline.
        concat = os.path.join(work, "concat.raw")
        subprocess.run(["cmp", concat, os.path.join(raw_dir, "bench-xvda.raw")], check=True)
        subprocess.run(["qemu-img", "compare", "-q", concat,
                        os.path.join(q_dir, "bench-xvda.qcow2")], check=True)

        mib = xva_bytes / (1 << 20)
        print("XVA: %.0f MiB for a %s virtual disk, %s" % (mib, a.size, work))
        print("%-18s %8s %10s %10s" % ("command", "seconds", "MiB/s", "peak RSS"))
        for k, (secs, rss) in res.items():
            print("%-18s %8.2f %10.0f %10s" % (k, secs, mib / secs,
                                              "%d MiB" % (rss // 1024) if rss else "-"))
        r_cat = res["cat"][0] / res["convoy raw"][0]
        r_tar = res["tar+concat"][0] / res["convoy raw"][0]
        r_qemu = res["qemu-img convert"][0] / res["convoy qcow2"][0]
        rss_full = max(res["convoy raw"][1], res["convoy qcow2"][1]) // 1024
        goals = [
            ("convoy raw vs cat (goal >= 0.8)", r_cat, r_cat >= 0.8),
            ("convoy raw vs tar+concat (goal >= 3)", r_tar, r_tar >= 3),
            ("convoy qcow2 vs qemu-img convert (goal >= 1)", r_qemu, r_qemu >= 1),
        ]
        for name, val, ok in goals:
            print("%-46s %5.2f  %s" % (name, val, "met" if ok else "MISSED"))
        print("%-46s %5d MiB at %s, %d MiB at 1/8 of it  %s" % (
            "convoy peak RSS (goal < 64 MiB)", rss_full, a.size, small_rss // 1024,
            "met" if rss_full < 64 else "MISSED"))
        summary = {
            "xva_bytes": xva_bytes, "virtual_size": size,
            "results": {k: {"seconds": s, "max_rss_kib": r} for k, (s, r) in res.items()},
            "ratios": {"raw_vs_cat": r_cat, "raw_vs_tar_concat": r_tar,
                       "qcow2_vs_qemu_img": r_qemu},
            "peak_rss_mib": {"full": rss_full, "eighth": small_rss // 1024},
        }
        with open(os.path.join(os.path.dirname(work), "bench-xva.json"), "w") as f:
            json.dump(summary, f, indent=2)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

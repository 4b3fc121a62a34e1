#!/usr/bin/env python3
"""bench-apply.py: apply throughput with 4 workers against 1 worker, on
the same generated XVAs (8 VMs, one 256 MiB disk each by default) and the
same disk, in one run.  Each apply starts from an empty state and target;
the qcow2 and raw writers are both measured.  Prints a table and the
ratio sequential/parallel (above 1: the workers help)."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convoy", required=True)
    ap.add_argument("--mkxva", required=True)
    ap.add_argument("--vms", type=int, default=8)
    ap.add_argument("--size", default="256M")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="convoy-bench-apply.", dir=a.workdir)
    try:
        os.makedirs(os.path.join(work, "exports"))
        for i in range(a.vms):
            subprocess.run([sys.executable, a.mkxva, "-o",
                            os.path.join(work, "exports", "vm%d.xva" % i),
                            "--name", "vm%d" % i, "--pv", "--bootloader", "pygrub",
                            "--disk", "xvda=size:%s,ref=Ref:%d,pattern=%d" % (a.size, i + 1, i + 1),
                            "--vif", "0=aa:bb:cc:00:09:%02x,bridge=xenbr0" % i],
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run("cat %s/exports/*.xva > /dev/null" % work, shell=True, check=True)
        rows = []
        for fmt in ("raw", "qcow2"):
            secs = {}
            for workers in (1, 4):
                for d in ("out", ".convoy"):
                    shutil.rmtree(os.path.join(work, d), ignore_errors=True)
                with open(os.path.join(work, "manifest.yaml"), "w") as f:
                    f.write("version: 1\ndefaults: {target: t, disk_format: %s, guest: {fixup: false}}\n"
                            "sources:\n  x: {type: xva, path: exports}\n"
                            "targets:\n  t: {type: directory, path: out, networks: [{from: any, to: {network: default}}]}\n"
                            "waves:\n  - name: w\n    max_parallel: %d\n    vms:\n" % (fmt, workers))
                    for i in range(a.vms):
                        f.write("      - {name: vm%d, source: x}\n" % i)
                t0 = time.monotonic()
                subprocess.run([a.convoy, "apply", "--yes", "manifest.yaml"], cwd=work,
                               check=True, stdout=subprocess.DEVNULL)
                secs[workers] = time.monotonic() - t0
            rows.append((fmt, secs[1], secs[4]))
        print("%d VMs x %s, apply wall time:" % (a.vms, a.size))
        print("%-6s %10s %10s %8s" % ("format", "1 worker", "4 workers", "ratio"))
        for fmt, s1, s4 in rows:
            print("%-6s %9.2fs %9.2fs %8.2f" % (fmt, s1, s4, s1 / s4))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

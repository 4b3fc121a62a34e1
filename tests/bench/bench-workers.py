#!/usr/bin/env python3
"""bench-workers.py: several conversion hosts on one PostgreSQL state.

Against the XenAPI TEST DOUBLE (tests/xenapi/xenapi-server.py, a XenAPI
server for tests, not a XenServer) with every export stream throttled
(--slow-ms 1 between 64 KiB blocks: about 50-60 MiB/s a stream, as a real
host's per-stream rate), 1, 2 and 4 workers (convoy apply --worker-id,
--max-vms 1: one stream each, as one conversion host's link) convert the
same 16 VMs of 64 MiB from a PostgreSQL test server (tests/tools/pgserver.sh).
Reported: the aggregate throughput of each run and the 4-to-1 ratio
(goal >= 3.5); the per-VM overhead of claims, leases and the state on
PostgreSQL against SQLite in the same run (40 tiny VMs, one worker;
goal < 20 ms); and `convoy plan` of 10,000 VMs on PostgreSQL against
SQLite (goal < 3 s)."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def start_xs(work, xvas, slow):
    pw = os.path.join(work, "xs-pw")
    with open(pw, "w") as f:
        f.write("bench-pw\n")
    pf = os.path.join(work, "xs-port")
    cmd = [sys.executable, os.path.join(TOP, "tests/xenapi/xenapi-server.py"),
           "--port-file", pf, "--password-file", pw, "--trust-sessions"]
    if slow:
        cmd += ["--slow-ms", str(slow)]
    for x in xvas:
        cmd += ["--vm", x + ":Halted"]
    p = subprocess.Popen(cmd)
    for _ in range(200):
        if os.path.exists(pf) and open(pf).read().strip():
            return p, int(open(pf).read())
        time.sleep(0.05)
    p.kill()
    sys.exit("bench: the XenAPI test double did not start")


def manifest(path, names, source):
    with open(path, "w") as f:
        f.write("version: 1\ndefaults: {target: lab, disk_format: raw, source_power: leave, guest: {fixup: false}}\n"
                "sources:\n" + source +
                "targets:\n  lab: {type: directory, path: out, networks: [{from: any, to: {network: default}}]}\n"
                "waves:\n  - name: all\n    max_parallel: 8\n    vms:\n")
        for n in names:
            f.write("      - {name: %s, source: src}\n" % n)


def workers(convoy, cwd, state, n, env):
    for d in ("out",):
        shutil.rmtree(os.path.join(cwd, d), ignore_errors=True)
    t0 = time.monotonic()
    wid = (lambda i: ["--worker-id", "bench-%d" % i]) if state.startswith("postgresql") \
        else (lambda i: [])
    ps = [subprocess.Popen([convoy, "apply", "--yes", "--max-vms", "1"] + wid(i) +
                           ["--state", state, "manifest.yaml"],
                           cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(cwd, "w%d.log" % i), "w"))
          for i in range(n)]
    for p in ps:
        if p.wait() != 0:
            sys.exit("bench: a worker exited %d: %s" % (p.returncode, open(os.path.join(cwd, "w0.log")).read()))
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convoy", required=True)
    ap.add_argument("--mkxva", required=True)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--vms", type=int, default=16)
    ap.add_argument("--size-mib", type=int, default=64)
    ap.add_argument("--plan-vms", type=int, default=10000)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="convoy-bench-workers.", dir=a.workdir)
    pgdir = os.path.join(work, "pg")
    xs = None
    try:
        r = subprocess.run(["sh", os.path.join(TOP, "tests/tools/pgserver.sh"), "start", pgdir],
                           stdout=subprocess.PIPE, text=True)
        if r.returncode == 77:
            print("SKIP: PostgreSQL is not installed")
            return
        r.check_returncode()
        url = r.stdout.strip()
        env = dict(os.environ, CONVOY_BENCH_XS_PW="bench-pw")

        # -- throughput: 1, 2 and 4 workers --
        names = ["bvm%d" % i for i in range(a.vms)]
        xvas = []
        os.makedirs(os.path.join(work, "x"))
        for i, n in enumerate(names):
            x = os.path.join(work, "x", n + ".xva")
            run([sys.executable, a.mkxva, "-o", x, "--name", n, "--hvm", "--seed", str(i + 1), "--disk",
                 "hda=size:%dM,ref=Ref:%d,pattern=%d" % (a.size_mib, i + 1, i + 1)],
                stdout=subprocess.DEVNULL)
            xvas.append(x)
        xs, port = start_xs(work, xvas, 1)
        src = ("  src: {type: xenserver, url: \"http://127.0.0.1:%d/\", username: root,"
               " password_env: CONVOY_BENCH_XS_PW}\n" % port)
        manifest(os.path.join(work, "manifest.yaml"), names, src)
        total = a.vms * a.size_mib
        rates = {}
        for n in (1, 2, 4):
            secs = workers(a.convoy, work, "%s&project=tp%d" % (url, n), n, env)
            rates[n] = total / secs
            print("%d worker%s: %d VMs of %d MiB in %.2f s: %.1f MiB/s"
                  % (n, "" if n == 1 else "s", a.vms, a.size_mib, secs, rates[n]))
        ratio = rates[4] / rates[1]
        print("aggregate throughput 4 workers / 1 worker: %.2fx (goal >= 3.5x: %s)"
              % (ratio, "met" if ratio >= 3.5 else "MISSED"))
        xs.terminate()
        xs.wait()
        xs = None

        # -- per-VM overhead of claims and leases: PostgreSQL vs SQLite --
        tiny = os.path.join(work, "tiny")
        os.makedirs(os.path.join(tiny, "exports"))
        tn = ["tvm%d" % i for i in range(40)]
        for i, n in enumerate(tn):
            run([sys.executable, a.mkxva, "-o", os.path.join(tiny, "exports", n + ".xva"),
                 "--name", n, "--hvm", "--disk", "hda=size:4K,ref=Ref:1,pattern=1"],
                stdout=subprocess.DEVNULL)
        manifest(os.path.join(tiny, "manifest.yaml"), tn, "  src: {type: xva, path: exports}\n")
        best = {}
        for name, state in (("sqlite", "sqlite:" + os.path.join(tiny, "s%d.db")),
                            ("postgresql", url + "&project=ov%d")):
            for k in range(3):
                secs = workers(a.convoy, tiny, state % k, 1, env)
                best[name] = min(best.get(name, secs), secs)
        per = (best["postgresql"] - best["sqlite"]) / len(tn) * 1000
        print("40 tiny VMs, one worker: SQLite %.2f s, PostgreSQL %.2f s: %.1f ms more per VM "
              "for claims, leases and the state (goal < 20 ms: %s)"
              % (best["sqlite"], best["postgresql"], per, "met" if per < 20 else "MISSED"))

        # -- plan of 10,000 VMs --
        plan = os.path.join(work, "plan")
        os.makedirs(os.path.join(plan, "exports"))
        tmpl = os.path.join(plan, "tmpl.xva")
        run([sys.executable, a.mkxva, "-o", tmpl, "--name", "benchvm-00000", "--pv",
             "--bootloader", "pygrub", "--ova-minimal", "--disk", "xvda=size:4K,ref=Ref:1,pattern=1",
             "--vif", "0=aa:bb:cc:00:00:01,bridge=xenbr0"], stdout=subprocess.DEVNULL)
        t = open(tmpl, "rb").read()
        pn = ["benchvm-%05d" % i for i in range(a.plan_vms)]
        for n in pn:
            with open(os.path.join(plan, "exports", n + ".xva"), "wb") as f:
                f.write(t.replace(b"benchvm-00000", n.encode()))
        manifest(os.path.join(plan, "manifest.yaml"), pn, "  src: {type: xva, path: exports}\n")
        res = {}
        for name, state in (("sqlite", "sqlite:" + os.path.join(plan, "s.db")),
                            ("postgresql", url + "&project=plan")):
            for _ in range(3):
                t0 = time.monotonic()
                r = subprocess.run([a.convoy, "plan", "--state", state, "manifest.yaml"],
                                   cwd=plan, stdout=subprocess.DEVNULL)
                secs = time.monotonic() - t0
                if r.returncode != 2:
                    sys.exit("bench: plan exited %d" % r.returncode)
                res[name] = min(res.get(name, secs), secs)
        print("convoy plan, %d VMs: PostgreSQL %.2f s (goal < 3 s: %s), SQLite %.2f s; "
              "load average %.1f" % (a.plan_vms, res["postgresql"],
                                     "met" if res["postgresql"] < 3 else "MISSED",
                                     res["sqlite"], os.getloadavg()[0]))
    finally:
        if xs is not None:
            xs.kill()
        subprocess.run(["sh", os.path.join(TOP, "tests/tools/pgserver.sh"), "stop", pgdir])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

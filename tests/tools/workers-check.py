#!/usr/bin/env python3
"""workers-check.py MAX_ALL GROUP=MAX:VM,VM… …: read the events of a
shared state ("step_key|kind|time|worker" lines on standard input) and
check what several workers did: a VM is in flight under a worker from its
first event there to its last; no VM is in flight under two workers at
once, at most MAX_ALL VMs are in flight at once, at most MAX of each
GROUP, and no step finished twice.  Prints "all N", "GROUP N" and
"workers W" lines; exits 1 with the reason on a violation."""
import sys

spans = {}
done = {}
workers = set()
for line in sys.stdin:
    key, kind, t, worker = line.rstrip("\n").split("|")
    if kind == "not-started" or not worker:
        continue
    t = float(t)
    vm = key.split("/", 1)[0]
    workers.add(worker)
    lo, hi = spans.get((vm, worker), (t, t))
    spans[(vm, worker)] = (min(lo, t), max(hi, t))
    if kind == "done":
        done[key] = done.get(key, 0) + 1

bad = [k for k, n in done.items() if n > 1]
if bad:
    sys.exit("steps finished more than once: %s" % ", ".join(sorted(bad)))
for (vm, w), (lo, hi) in spans.items():
    for (vm2, w2), (lo2, hi2) in spans.items():
        if vm == vm2 and w < w2 and lo < hi2 and lo2 < hi:
            sys.exit("%s was held by %s and %s at once" % (vm, w, w2))


def most(keep):
    edges = []
    for (vm, w), (lo, hi) in spans.items():
        if keep(vm):
            edges += [(lo, 1), (hi, -1)]
    edges.sort(key=lambda e: (e[0], e[1]))
    cur = best = 0
    for _, d in edges:
        cur += d
        best = max(best, cur)
    return best


n = most(lambda vm: True)
print("all", n)
print("workers", len(workers))
if n > int(sys.argv[1]):
    sys.exit("%d VMs in flight at once, the limit is %s" % (n, sys.argv[1]))
for g in sys.argv[2:]:
    name, rest = g.split("=", 1)
    lim, vms = rest.split(":", 1)
    vms = set(vms.split(","))
    n = most(lambda vm: vm in vms)
    print(name, n)
    if n > int(lim):
        sys.exit("%d VMs of %s in flight at once, the limit is %s" % (n, name, lim))

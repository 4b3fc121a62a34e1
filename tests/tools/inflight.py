#!/usr/bin/env python3
"""inflight.py STATE.db|- [GROUP=VM,VM… …]: the most VMs that were in flight
at once, from the state store's events (a VM is in flight from its first
step's begin to its last step's end), overall and per named group.
Prints "all N" and "GROUP N" lines, then "span S" (the first begin to
the last end, seconds) and "sum S" (the VMs' own spans added up)."""
import sqlite3
import sys

def rows():
    """(step_key, kind, time) of the events: from the SQLite file, or from
    standard input ("-": "KEY|KIND|TIME" lines, any backend)."""
    if sys.argv[1] == "-":
        for line in sys.stdin:
            key, kind, t = line.rstrip("\n").split("|")
            yield key, kind, float(t)
        return
    db = sqlite3.connect(sys.argv[1])
    yield from db.execute(
        "SELECT step_key, kind, time FROM events WHERE step_key IS NOT NULL"
        " AND kind != 'not-started' ORDER BY id")


spans = {}
for key, kind, t in rows():
    vm = key.split("/", 1)[0]
    lo, hi = spans.get(vm, (t, t))
    spans[vm] = (min(lo, t), max(hi, t))


def most(vms):
    edges = []
    for vm in vms:
        if vm in spans:
            lo, hi = spans[vm]
            edges += [(lo, 1), (hi, -1)]
    edges.sort(key=lambda e: (e[0], e[1]))   # an end before a start at a tie
    cur = best = 0
    for _, d in edges:
        cur += d
        best = max(best, cur)
    return best


print("all", most(spans))
# The run's wall span (first begin to last end) and the sum of the VMs'
# own spans: what one worker doing them back to back would at least take.
if spans:
    print("span %.3f" % (max(hi for _, hi in spans.values()) - min(lo for lo, _ in spans.values())))
    print("sum %.3f" % sum(hi - lo for lo, hi in spans.values()))
for g in sys.argv[2:]:
    name, vms = g.split("=", 1)
    print(name, most(vms.split(",")))

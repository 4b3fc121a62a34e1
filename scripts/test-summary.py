#!/usr/bin/env python3
"""Add up meson's testlog.json of several build dirs; print the closing line
"N passed, N failed, N skipped" and list failures.  Exit 1 on any failure."""
import glob
import json
import sys

passed = failed = skipped = 0
bad = []
for d in sys.argv[1:]:
    lines = []
    for log in sorted(glob.glob(f"{d}/meson-logs/testlog*.json")):
        with open(log) as f:
            lines += f.readlines()
    for line in lines:
        t = json.loads(line)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            bad.append(f"{d}: {t.get('name')}: {r}")
for b in bad:
    print("FAILED", b)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
# Configure-time check (STYLE.md 6): every golden case on disk is listed
# in tests/manifest/meson.build and every listed case exists.
import os
import sys

srcdir = sys.argv[1]
listed = set(sys.argv[2:])
on_disk = set()
for e in os.listdir(srcdir):
    if e.endswith('.yaml'):
        on_disk.add(e[:-5])
    elif e.endswith('.d') and os.path.isdir(os.path.join(srcdir, e)):
        on_disk.add(e[:-2])
    elif e.endswith('.out') or e.endswith('.err'):
        on_disk.add(e[:-4])
problems = []
for c in sorted(on_disk - listed):
    problems.append("case '%s' is on disk but not listed in tests/manifest/meson.build" % c)
for c in sorted(listed - on_disk):
    problems.append("case '%s' is listed in tests/manifest/meson.build but not on disk" % c)
for c in sorted(listed & on_disk):
    has_in = os.path.exists(os.path.join(srcdir, c + '.yaml')) or \
        os.path.isdir(os.path.join(srcdir, c + '.d'))
    if not has_in:
        problems.append("case '%s' has no %s.yaml or %s.d input" % (c, c, c))
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)

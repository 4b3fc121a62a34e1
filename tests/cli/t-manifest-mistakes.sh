#!/bin/sh
# Operators' mistakes in manifests get an error or a warning in their own
# words, with FILE:LINE:COL, never a crash (issue #20).
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 1M
cd "$d"

# An empty manifest (0 bytes, /dev/null, an empty file in a folder) is an
# error naming the file (exit 3), not a libyaml assertion (exit 134).
: > empty.yaml
expect_exit 3 "$CONVOY" validate empty.yaml 2> e.txt
expect_grep "^empty.yaml:1:1: error: empty manifest" e.txt
expect_exit 3 "$CONVOY" plan /dev/null 2> e.txt
expect_grep "^/dev/null:1:1: error: empty manifest" e.txt
mkdir m.d
cp manifest.yaml m.d/a.yaml
: > m.d/b.yaml
expect_exit 3 "$CONVOY" validate m.d 2> e.txt
expect_grep "^m.d/b.yaml:1:1: error: empty manifest" e.txt
exit 0

#!/bin/sh
# Without a terminal and without --yes, apply refuses and changes nothing.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
expect_exit 64 "$CONVOY" apply manifest.yaml < /dev/null > out.txt 2> err.txt
expect_grep "refusing to apply without confirmation: standard input is not a terminal; pass --yes to apply" err.txt
[ ! -e out ] || fail "apply without confirmation created outputs"
exit 0

#!/bin/sh
# Without a terminal and without --yes, apply refuses and changes nothing,
# not even an empty state store.  On a terminal (a pty from script(1)) it
# asks; any answer but "yes" applies nothing, "yes" applies.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
expect_exit 64 "$CONVOY" apply manifest.yaml < /dev/null > out.txt 2> err.txt
expect_grep "refusing to apply without confirmation: standard input is not a terminal; pass --yes to apply (review first with 'convoy plan')" err.txt
[ ! -e out ] || fail "apply without confirmation created outputs"
[ ! -e .convoy ] || fail "a refused apply created the state store"

requires script
# script(1) runs the command on a new pty and passes our stdin to it;
# its own exit status is the command's (-e).
printf 'no\n' | script -qec "'$CONVOY' apply manifest.yaml" /dev/null > no.txt 2>&1 ||
    { cat no.txt; fail "apply answered 'no' did not exit 0"; }
expect_grep "Apply this plan? Only 'yes' is accepted:" no.txt
expect_grep "Not applied." no.txt
[ ! -e out ] || fail "apply answered 'no' created outputs"
printf 'yes\n' | script -qec "'$CONVOY' apply manifest.yaml" /dev/null > yes.txt 2>&1 ||
    { cat yes.txt; fail "apply answered 'yes' failed"; }
expect_grep "Applied: 4 steps done, 0 failed, 0 skipped." yes.txt
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
exit 0

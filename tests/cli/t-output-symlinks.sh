#!/bin/sh
# Outputs never go through a symbolic link, and a file that is already
# there is never replaced by xva extract: a planted link is an error that
# names it, and what it points at is left as it was (issue #20 item 3).
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
echo precious > victim
sum=$(sha256sum victim)
same_victim() { [ "$(sha256sum victim)" = "$sum" ] || fail "$1 wrote through the link into victim"; }

# xva extract -o: a link where a disk image goes.
mkdir x1
ln -s ../victim x1/web1-xvda.raw
expect_exit 1 "$CONVOY" xva extract -o x1 exports/web1.xva 2> x1.err
expect_grep "'x1/web1-xvda.raw' is a symbolic link" x1.err
same_victim "xva extract"
[ -L x1/web1-xvda.raw ] || fail "xva extract removed the planted link"
# ... a dangling one, and a regular file that is already there.
mkdir x2
ln -s ../nowhere x2/web1-xvda.qcow2
expect_exit 1 "$CONVOY" xva extract -f qcow2 -o x2 exports/web1.xva 2> x2.err
expect_grep "'x2/web1-xvda.qcow2' is a symbolic link" x2.err
[ -e nowhere ] && fail "xva extract created the link's target"
mkdir x3
cp victim x3/web1-xvdb.raw
expect_exit 1 "$CONVOY" xva extract -o x3 exports/web1.xva 2> x3.err
expect_grep "'x3/web1-xvdb.raw' already exists and convoy did not create it" x3.err
cmp victim x3/web1-xvdb.raw || fail "xva extract replaced a file it did not create"
[ -e x3/web1-xvda.raw ] && fail "the failed extract left x3/web1-xvda.raw behind"

# apply: a link where a disk image goes, then where the domain XML goes.
mkdir out
ln -s ../victim out/web1-kvm-vdb.raw
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > a1.log 2>&1
expect_grep "out/web1-kvm-vdb.raw' is a symbolic link" a1.log
same_victim "apply (disk)"
rm out/web1-kvm-vdb.raw
ln -s ../victim out/web1-kvm.xml
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > a2.log 2>&1
expect_grep "out/web1-kvm.xml' is a symbolic link" a2.log
same_victim "apply (domain XML)"
[ -L out/web1-kvm.xml ] || fail "apply replaced the planted link"

# report -o and plan -o.
ln -s victim r.txt
expect_exit 1 "$CONVOY" report -o r.txt manifest.yaml 2> r.err
expect_grep "'r.txt' is a symbolic link" r.err
same_victim "report -o"
[ -L r.txt ] || fail "report -o replaced the planted link"
ln -s victim p.json
"$CONVOY" plan -o p.json manifest.yaml > /dev/null 2> p.err && fail "plan -o wrote through a link"
expect_grep "'p.json' is a symbolic link" p.err
same_victim "plan -o"
exit 0

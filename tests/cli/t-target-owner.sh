#!/bin/sh
# Two checkouts of one manifest (two state stores) writing one target: the
# first marks the folder with its store's id (.convoy-owner), the second's
# plan shows the conflict and its apply refuses, writing nothing.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
# Both checkouts write to one folder, given by absolute path.
sed -i "s|path: out|path: $d/out|" manifest.yaml
mkdir a b
cp manifest.yaml a/ && cp manifest.yaml b/
sed -i "s|path: exports}|path: $d/exports}|" a/manifest.yaml b/manifest.yaml
expect_exit 0 "$CONVOY" apply --yes a/manifest.yaml > /dev/null
[ -f out/.convoy-owner ] || fail "the target folder has no owner mark"
id=$(python3 -c "import sqlite3; print(sqlite3.connect('a/.convoy/state.db').execute(\"select value from meta where key='store_id'\").fetchone()[0])")
expect_grep "^store_id $id\$" out/.convoy-owner
expect_grep "^state $d/a/.convoy/state.db\$" out/.convoy-owner
expect_exit 0 "$CONVOY" plan a/manifest.yaml > /dev/null

# The second checkout (was: "No changes" for both, each rewriting the other).
msg="target 'lab': folder '$d/out' holds the outputs of another state store ('$d/a/.convoy/state.db', store id $id; see '$d/out/.convoy-owner'), not of '[^']*state.db': apply from the checkout that made them, or move them away and delete '$d/out/.convoy-owner'"
expect_exit 1 "$CONVOY" plan b/manifest.yaml > plan.txt 2> plan.err
expect_grep "$msg" plan.txt
cp out/web1-kvm-vdb.raw before.raw
before=$(stat -c %Y.%i out/web1-kvm-vdb.raw)
expect_exit 1 "$CONVOY" apply --yes b/manifest.yaml > apply.txt 2>&1
expect_grep "$msg" apply.txt
[ "$(stat -c %Y.%i out/web1-kvm-vdb.raw)" = "$before" ] || fail "the second store wrote the first one's disk"
expect_exit 0 "$CONVOY" plan a/manifest.yaml > /dev/null

# The first checkout's plans and applies go on as before.
rm out/web1-kvm.xml
expect_exit 0 "$CONVOY" apply --yes a/manifest.yaml > /dev/null
[ -f out/web1-kvm.xml ] || fail "the owner could not apply"
exit 0

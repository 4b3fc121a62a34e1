#!/bin/sh
# Every example repository under examples/ runs as its README says: the
# lab's exports are generated, both waves applied in order (wave-2 first
# is refused), and a last plan has nothing left to do.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires qemu-img
d=$(scratch)
# A copy laid out as in the tree: make-exports.sh finds tests/tools two
# levels up.
mkdir -p "$d/examples" "$d/tests"
cp -r "$abs_top_srcdir/examples/lab" "$d/examples/lab"
ln -s "$abs_top_srcdir/tests/tools" "$d/tests/tools"
cd "$d/examples/lab"
./make-exports.sh > /dev/null
expect_exit 0 "$CONVOY" validate manifest.yaml > /dev/null
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep 'Plan: 7 to do, 0 to resume, 0 to redo, 0 done.' plan.txt
expect_exit 1 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > w2.log 2> w2.err
expect_grep "runs after wave 'wave-1', which is not complete" w2.err
[ ! -e out/db1.xml ] || fail "wave-2 ran before wave-1"
expect_exit 0 "$CONVOY" apply --yes --wave wave-1 manifest.yaml > w1.log
expect_exit 0 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > w2.log
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
qemu-img info out/web1-kvm-vda.qcow2 | grep -q 'file format: qcow2' || fail "web1 disk is not qcow2"
[ "$(stat -c %s out/db1-vda.raw)" -eq $((16 * 1024 * 1024)) ] || fail "db1 vda has the wrong size"
expect_grep "<source network='default'/>" out/db1.xml
expect_grep "<source bridge='br20'/>" out/db1.xml
if command -v virt-xml-validate > /dev/null; then
    for x in out/*.xml; do virt-xml-validate "$x" domain > /dev/null || fail "$x does not validate"; done
fi
# The .gitignore keeps state and outputs out of git.
expect_grep '^.convoy/$' .gitignore
expect_grep '^out/$' .gitignore
exit 0

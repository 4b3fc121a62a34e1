#!/bin/sh
# The README's demo (scripts/demo.sh) runs to its end and leaves what it
# says: the qcow2 disks and the KVM domain XML, a plan that then has
# nothing left to do, and a source XVA that did not change.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires sfdisk
requires qemu-img
d=$(scratch)
sh "$abs_top_srcdir/scripts/demo.sh" "$d/demo" > "$d/demo.log" 2>&1 < /dev/null ||
    { cat "$d/demo.log"; fail "the demo failed"; }
expect_grep 'Plan: 4 to do, 0 to resume, 0 to redo, 0 done.' "$d/demo.log"
expect_grep 'Applied: 4 steps done, 0 failed, 0 skipped.' "$d/demo.log"
cd "$d/demo"
for f in out/web1-kvm-vda.qcow2 out/web1-kvm-vdb.qcow2 out/web1-kvm.xml; do
    [ -s "$f" ] || fail "the demo did not write $f"
done
qemu-img compare -q -f qcow2 -F raw out/web1-kvm-vda.qcow2 src/xvda.raw || fail "vda differs from the guest image"
qemu-img compare -q -f qcow2 -F raw out/web1-kvm-vdb.qcow2 src/xvdb.raw || fail "vdb differs from the data disk"
expect_grep "^<domain type='kvm'>" out/web1-kvm.xml
expect_exit 0 "$CONVOY" plan manifest.yaml > plan.txt
exit 0

#!/bin/sh
# An XVA with two disks (Ref:10 before Ref:9 in the stream) becomes raw
# images and a KVM domain XML; plan then says nothing to do, apply again
# does nothing, and the domain XML validates with libvirt's schema.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires qemu-img
d=$(scratch)
make_fixture "$d"
cd "$d"

expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt
expect_grep '+ todo   disk-copy vda' plan1.txt
expect_grep '+ todo   disk-copy vdb' plan1.txt
expect_grep 'Plan: 4 to do, 0 to resume, 0 to redo, 0 done.' plan1.txt
[ ! -e .convoy ] || fail "plan created the state directory"
[ ! -e out ] || fail "plan created the target directory"

expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply1.txt
expect_grep 'Applied: 4 steps done, 0 failed, 0 skipped.' apply1.txt
[ -f out/web1-kvm-vda.raw ] && [ -f out/web1-kvm-vdb.raw ] && [ -f out/web1-kvm.xml ] ||
    fail "outputs missing: $(ls out)"
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
# Sparse: the synthesized disk has gaps; the copy keeps them as holes.
alloc=$(du -k out/web1-kvm-vdb.raw | cut -f1)
apparent=$(du -k --apparent-size out/web1-kvm-vdb.raw | cut -f1)
[ "$alloc" -lt "$apparent" ] || fail "vdb is not sparse ($alloc KiB of $apparent KiB)"

expect_grep "<name>web1-kvm</name>" out/web1-kvm.xml
expect_grep "<domain type='kvm'" out/web1-kvm.xml
expect_grep "$d/out/web1-kvm-vda.raw" out/web1-kvm.xml
expect_grep "aa:bb:cc:00:00:01" out/web1-kvm.xml
expect_grep "<source network='default'" out/web1-kvm.xml
if command -v virt-xml-validate >/dev/null; then
    virt-xml-validate out/web1-kvm.xml domain >/dev/null || fail "domain XML does not validate"
fi
[ "$(stat -c %a .convoy/state.db)" = 600 ] || fail "state.db is not mode 0600"

expect_exit 0 "$CONVOY" plan manifest.yaml > plan2.txt
expect_grep 'No changes: 4 steps up to date.' plan2.txt
before=$(stat -c %Y out/web1-kvm-vda.raw)
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply2.txt
expect_grep 'Nothing to do.' apply2.txt
[ "$(stat -c %Y out/web1-kvm-vda.raw)" = "$before" ] || fail "second apply touched a disk"
ls .convoy | grep -q -- '-wal' && fail "plan/apply left a WAL file behind"
exit 0

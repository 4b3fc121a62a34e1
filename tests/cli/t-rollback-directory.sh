#!/bin/sh
# convoy rollback on a directory target: removes the files convoy wrote
# (disks and domain XML), forgets the steps, never touches the source;
# --keep-volumes keeps the disks and their done copies.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d"
cd "$d"
sum0=$(sha256sum exports/web1.xva)
"$CONVOY" apply --yes manifest.yaml > apply.log 2>&1 || { cat apply.log; fail "apply failed"; }
echo keep > out/unrelated.raw
[ -f out/web1-kvm-vda.raw ] && [ -f out/web1-kvm.xml ] || fail "apply wrote no output"

expect_exit 64 "$CONVOY" rollback manifest.yaml
expect_exit 1 "$CONVOY" rollback --yes manifest.yaml nosuchvm 2> err.txt
expect_grep "vm 'nosuchvm' is not in the manifest" err.txt
expect_exit 64 "$CONVOY" rollback manifest.yaml web1 < /dev/null 2> err.txt
expect_grep "pass --yes" err.txt

# --keep-volumes: the domain goes, the disks and their copies stay.
"$CONVOY" rollback --yes --keep-volumes manifest.yaml web1 > rb.txt
expect_grep "kept disk" rb.txt
[ -f out/web1-kvm.xml ] && fail "domain XML still there"
[ -f out/web1-kvm-vda.raw ] || fail "disk removed despite --keep-volumes"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "= done   disk-copy vda" plan.txt
expect_grep "+ todo   domain-define" plan.txt
"$CONVOY" apply --yes manifest.yaml > apply2.log 2>&1 || fail "re-apply failed"
grep -q "disk-copy.*starting" apply2.log && fail "disks copied again after --keep-volumes"

# Full rollback: exactly convoy's files go, the steps are forgotten.
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt
expect_grep "deleted disk .*web1-kvm-vda.raw" rb.txt
for f in web1-kvm-vda.raw web1-kvm-vdb.raw web1-kvm.xml; do
    [ -e "out/$f" ] && fail "out/$f still there"
done
[ -f out/unrelated.raw ] || fail "rollback removed a file convoy did not write"
[ "$(sha256sum exports/web1.xva)" = "$sum0" ] || fail "the source changed"
"$CONVOY" status manifest.yaml > status.txt
expect_grep "(nothing recorded)" status.txt
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "Plan: 4 to do" plan.txt
# Nothing left to roll back is fine.
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt
expect_grep "nothing recorded" rb.txt
exit 0

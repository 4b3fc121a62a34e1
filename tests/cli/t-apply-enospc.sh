#!/bin/sh
# A target that runs out of space fails clearly, keeps the checkpoint,
# and the next apply resumes once space is freed.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 96M
cd "$d"
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
mkdir out
mount -t tmpfs -o size=24m tmpfs out 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
cleanup_fn "umount '$d/out'"
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.log 2> apply.err
expect_grep "no space left on device" apply.log
expect_grep "step.* failed" apply.err
[ ! -e out/web1-kvm.xml ] || fail "domain XML written after a failed copy"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep '~ resume' plan.txt
mount -o remount,size=256m out
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply2.log
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
exit 0

#!/bin/sh
# Ctrl-C in a terminal sends SIGINT to the whole foreground process
# group.  convoy's helpers (qemu-nbd writing a qcow2 image here) run in
# their own process group, so the signal reaches convoy alone: it stops
# at its checkpoint, stops qemu-nbd itself, exits 4 with the resume line,
# records nothing as failed and retries nothing.  convoy runs in a new
# session (setsid) so that the group signal does not hit this test.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires setsid
requires qemu-nbd
requires ps
export CONVOY_CHECKPOINT_INTERVAL=$((16 * 1024 * 1024)) CONVOY_RETRY_DELAY_MS=100
d=$(scratch)
make_fixture "$d" 1G
cd "$d"
set_default "$d" disk_format qcow2
setsid "$CONVOY" apply --yes manifest.yaml > apply.log 2> apply.err &
pid=$!
cleanup_fn "kill -KILL -$pid"
pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
[ "$pgid" = "$pid" ] || fail "convoy is not the leader of its process group ($pgid, pid $pid)"
for i in $(seq 1 600); do
    grep -q 'web1/disk-copy/vdb: 10%' apply.log 2>/dev/null && break
    sleep 0.05
done
grep -q 'web1/disk-copy/vdb: 10%' apply.log || { cat apply.log apply.err; fail "the copy of vdb never reached 10%"; }
# qemu-nbd is convoy's child, in a process group of its own.
nbd=$(ps -o pid=,comm= --ppid "$pid" | awk '$2 == "qemu-nbd" {print $1}')
[ -n "$nbd" ] || { ps -o pid,pgid,comm --ppid "$pid"; fail "no qemu-nbd child of convoy"; }
nbd_pgid=$(ps -o pgid= -p "$nbd" | tr -d ' ')
[ "$nbd_pgid" != "$pgid" ] || fail "qemu-nbd ($nbd) is in convoy's process group $pgid"
# What Ctrl-C does: SIGINT to every process of the group.
kill -INT "-$pgid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 4 ] || { cat apply.log apply.err; fail "exit $rc, expected 4"; }
expect_grep "progress is saved, run 'convoy apply manifest.yaml' again to resume" apply.err
! grep -q 'retrying' apply.log apply.err || { cat apply.log; fail "a step was retried after Ctrl-C"; }
! grep -q ': failed' apply.log apply.err || { cat apply.log; fail "a step was recorded failed after Ctrl-C"; }
# convoy stopped qemu-nbd before it exited.
! kill -0 "$nbd" 2>/dev/null || fail "qemu-nbd ($nbd) outlived convoy"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep '~ resume disk-copy vdb' plan.txt
"$CONVOY" apply --yes manifest.yaml > apply2.log 2>&1 || { cat apply2.log; fail "resume failed"; }
same_content src/xvdb.raw out/web1-kvm-vdb.qcow2
exit 0

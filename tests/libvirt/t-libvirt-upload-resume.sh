#!/bin/sh
# A qcow2 written to a remote volume is built in a staged local image,
# then uploaded; that upload checkpoints on its own.  kill -9 in the
# middle of it: the plan offers to resume the upload, and the next apply
# sends only the rest (the source is not read again, the staged image is
# reused).  A dropped connection in the middle of an upload resumes it
# from its checkpoint in the same apply.  SIGINT in the middle of it
# stops it within 2 seconds, with a checkpoint there, even when no
# interval checkpoint is due.  The volume is a valid qcow2
# with the source's content, and no staged image is left behind.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
requires qemu-img
daemon_up
[ -S /run/libvirt/libvirt-sock ] || skip "no /run/libvirt/libvirt-sock"
d=$(scratch)
make_fixture "$d" 256M
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
bridge_up convoy-br0
vm=convoy-t-upr-$$
cleanup_fn "domain_down '$vm'"
cd "$d"
# A slow link (about 40 MB/s) in front of the daemon, so that the test
# can act in the middle of an upload.
export PROXY_RATE=40000000
proxy() { proxy_up "$d/proxy.sock"; }
proxy
cleanup_fn 'kill $proxy_pid'
export LV_TARGET_URI="qemu+unix:///system?socket=$d/proxy.sock"
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
export CONVOY_TMPDIR="$d/tmp"
mkdir -p "$CONVOY_TMPDIR"
LV_VM=$vm libvirt_manifest "$d" "$pool"
set_default "$d" disk_format qcow2
outputs() {
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select outputs from steps where key=?", (sys.argv[2],)).fetchone()[0])' .convoy/state.db "$1"
}
# wait_for PATTERN FILE PID: until PATTERN is in FILE (or PID ends).
wait_for() {
    for i in $(seq 1 1500); do
        grep -q -- "$1" "$2" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

# a. kill -9 during vdb's upload.
"$CONVOY" apply --yes manifest.yaml > apply.a.log 2>&1 &
pid=$!
wait_for 'web1/disk-copy/vdb: note: uploaded [3-6]0%' apply.a.log "$pid" ||
    { cat apply.a.log; fail "vdb's upload never reached 30%"; }
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
expect_grep 'web1/disk-copy/vdb: note: uploading the staged qcow2 image' apply.a.log
[ -n "$(ls "$CONVOY_TMPDIR")" ] || fail "the staged image is gone after the kill"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.a.txt
expect_grep '~ resume disk-copy vdb' plan.a.txt
expect_grep 'interrupted; resume from the upload of its staged image at' plan.a.txt
"$CONVOY" apply --yes manifest.yaml > apply.b.log 2>&1 || { cat apply.b.log; fail "the resumed apply failed"; }
expect_grep 'web1/disk-copy/vdb: note: resuming the upload of the staged qcow2 image at' apply.b.log
grep 'resuming the upload' apply.b.log
# Only the upload was left: the source was not copied again.
grep -q 'web1/disk-copy/vdb: [0-9]*% ' apply.b.log && { cat apply.b.log; fail "the source was copied again"; }
out=$(outputs web1/disk-copy/vdb)
echo "vdb outputs: $out"
from=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["upload_from"])')
[ "$from" -gt 0 ] || fail "the upload started over (upload_from $from)"
qemu-img check -q "pool/$vm-vdb.qcow2" || fail "vdb is not a valid qcow2"
same_content "pool/$vm-vda.qcow2" src/xvda.raw
same_content "pool/$vm-vdb.qcow2" src/xvdb.raw
[ -z "$(ls "$CONVOY_TMPDIR")" ] || fail "staged images left: $(ls "$CONVOY_TMPDIR")"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# b. the link drops during vdb's upload and comes back: the same apply
# resumes the upload from its checkpoint.
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt || { cat rb.txt; fail "rollback failed"; }
"$CONVOY" apply --yes manifest.yaml > apply.c.log 2>&1 &
pid=$!
wait_for 'web1/disk-copy/vdb: note: uploaded [3-6]0%' apply.c.log "$pid" ||
    { cat apply.c.log; fail "vdb's upload never reached 30%"; }
kill -9 "$proxy_pid"
rm -f "$d/proxy.sock"
sleep 1
proxy
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat apply.c.log; fail "apply exited $rc after the link came back"; }
expect_grep 'reconnecting and resuming the upload from' apply.c.log
expect_grep 'web1/disk-copy/vdb: note: resuming the upload of the staged qcow2 image at' apply.c.log
qemu-img check -q "pool/$vm-vdb.qcow2" || fail "vdb is not a valid qcow2 after the reconnect"
same_content "pool/$vm-vdb.qcow2" src/xvdb.raw
[ -z "$(ls "$CONVOY_TMPDIR")" ] || fail "staged images left: $(ls "$CONVOY_TMPDIR")"

# c. SIGINT during vdb's upload, with no checkpoint due before its end
# (a 256 MiB interval, the most there is): the upload stops within 2
# seconds, with a checkpoint where it got to, and the next apply sends
# only the rest.  (Stopping at the next interval took 3.9 s here.)
"$CONVOY" rollback --yes manifest.yaml web1 > rb.c.txt || { cat rb.c.txt; fail "rollback failed"; }
CONVOY_CHECKPOINT_INTERVAL=$((256 * 1024 * 1024)) \
    "$CONVOY" apply --yes manifest.yaml > apply.d.log 2>&1 &
pid=$!
wait_for 'web1/disk-copy/vdb: note: uploading the staged qcow2 image' apply.d.log "$pid" ||
    { cat apply.d.log; fail "vdb's upload never started"; }
sleep 1
signal_wait INT "$pid"
echo "stopped ${ms} ms after SIGINT, exit $rc"
[ "$rc" -eq 4 ] || { cat apply.d.log; fail "apply exited $rc after SIGINT, not 4"; }
[ "$ms" -le 2000 ] || { cat apply.d.log; fail "apply took $ms ms to stop after SIGINT"; }
expect_grep 'interrupted uploading the staged image at [1-9][0-9]* of [0-9]* bytes' apply.d.log
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.d.txt
expect_grep 'interrupted; resume from the upload of its staged image at' plan.d.txt
"$CONVOY" apply --yes manifest.yaml > apply.e.log 2>&1 || { cat apply.e.log; fail "the apply after SIGINT failed"; }
expect_grep 'web1/disk-copy/vdb: note: resuming the upload of the staged qcow2 image at' apply.e.log
from=$(outputs web1/disk-copy/vdb | python3 -c 'import json,sys; print(json.load(sys.stdin)["upload_from"])')
[ "$from" -gt 0 ] || fail "the upload after SIGINT started over (upload_from $from)"
qemu-img check -q "pool/$vm-vdb.qcow2" || fail "vdb is not a valid qcow2 after SIGINT"
same_content "pool/$vm-vdb.qcow2" src/xvdb.raw
[ -z "$(ls "$CONVOY_TMPDIR")" ] || fail "staged images left: $(ls "$CONVOY_TMPDIR")"
exit 0

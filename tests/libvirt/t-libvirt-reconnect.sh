#!/bin/sh
# The connection to the target drops in the middle of an upload (a proxy
# in front of the daemon's socket is killed, and comes back a second
# later): the copy reconnects with backoff and resumes from its last
# checkpoint in the same apply, and the volumes come out right.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
requires qemu-img
daemon_up
[ -S /run/libvirt/libvirt-sock ] || skip "no /run/libvirt/libvirt-sock"
d=$(scratch)
make_fixture "$d" 512M
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
bridge_up convoy-br0
vm=convoy-t-rec-$$
cleanup_fn "domain_down '$vm'"
cd "$d"
proxy() { proxy_up "$d/proxy.sock"; }
proxy
cleanup_fn 'kill $proxy_pid'
export LV_TARGET_URI="qemu+unix:///system?socket=$d/proxy.sock"
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
LV_VM=$vm libvirt_manifest "$d" "$pool"

"$CONVOY" apply --yes manifest.yaml > apply.log 2>&1 &
apid=$!
for i in $(seq 1 300); do
    grep -q 'web1/disk-copy/vdb: [1-9]0%' apply.log 2>/dev/null && break
    sleep 0.05
done
kill -9 "$proxy_pid"
rm -f "$d/proxy.sock"
sleep 1
proxy
set +e
wait "$apid"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat apply.log; fail "apply exited $rc after the connection came back"; }
grep -q "reconnecting and resuming from" apply.log || { cat apply.log; fail "the copy did not reconnect"; }
grep "reconnecting" apply.log | head -1
same_content "pool/$vm-vda.raw" src/xvda.raw
same_content "pool/$vm-vdb.raw" src/xvdb.raw
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
exit 0

#!/bin/sh
# A second concurrent apply on the same state is refused at once, naming
# the holder; the holder itself is unaffected.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
# Point the VM at a FIFO: the first apply takes the lock, then blocks in
# discovery opening the "XVA" — a deterministic way to hold the lock.
mkfifo exports/slow.xva
sed -i 's|{name: web1, source: exports, rename: web1-kvm}|{name: web1, source: exports, rename: web1-kvm, file: exports/slow.xva}|' manifest.yaml
"$CONVOY" apply --yes manifest.yaml > first.log 2>&1 &
pid=$!
for i in $(seq 1 100); do
    [ -e .convoy/state.db.lock ] && break
    sleep 0.05
done
sleep 0.2
start=$(date +%s)
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > second.log 2> second.err
[ $(( $(date +%s) - start )) -le 2 ] || fail "second apply did not fail at once"
expect_grep "is locked by pid $pid on host" second.err
expect_grep "convoy apply" second.err
# The holder is unaffected: it stops cleanly on SIGTERM (exit 4, nothing
# started), and with the lock released the next apply runs normally.
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 4 ] || { cat first.log; fail "first apply exited $rc, expected 4"; }
[ ! -e .convoy/state.db.lock ] || ! fuser .convoy/state.db.lock 2>/dev/null || fail "lock still held"
sed -i 's|, file: exports/slow.xva}|}|' manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > third.log 2>&1
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
exit 0

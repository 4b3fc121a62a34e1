#!/bin/sh
# Retries: a disk copy whose transfer drops (a transient error) is tried
# again after a backoff, up to the wave's retries, resuming from its
# checkpoint; with retries: 0 it fails and the next apply finishes it; a
# checksum error is never retried.  The HTTP source's own retries are
# turned off (CONVOY_HTTP_ATTEMPTS=1) so the step's are what is tested.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
SERVE="python3 $abs_top_srcdir/tests/tools/xva-http-server.py"
export CONVOY_HTTP_ATTEMPTS=1 CONVOY_RETRY_DELAY_MS=100
d=$(scratch)
make_fixture "$d" 8M
cd "$d"
# GET 1 is the plan's discovery (it stops after ova.xml); GETs 2 and 3,
# the first two tries of vda, are cut at 3 MB.
start_server port sh -c "exec $SERVE exports --port-file \"\$PORT_FILE\" --log http.log --drop 3:3000000"
sed -i "s|exports: {type: xva, path: exports}|exports: {type: xva, url: \"http://127.0.0.1:$port/web1.xva\"}|" manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a1.log 2>&1 || { cat a1.log; exit 1; }
expect_grep '^web1/disk-copy/vda: note: attempt 1 of 3 failed (.*); retrying in 0.1 s$' a1.log
expect_grep '^web1/disk-copy/vda: note: attempt 2 of 3 failed (.*); retrying in 0.2 s$' a1.log
expect_grep 'Applied: 4 steps done, 0 failed, 0 skipped' a1.log
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
"$CONVOY" status --json manifest.yaml | python3 -c '
import json, sys
st = {s["key"]: s for s in json.load(sys.stdin)}
assert st["web1/disk-copy/vda"]["attempts"] == 3, st["web1/disk-copy/vda"]
assert st["web1/disk-copy/vdb"]["attempts"] == 1
' || fail "attempts not recorded"

# retries: 0 — the cut copy fails; the next apply finishes it.
rm -rf out .convoy
start_server port2 sh -c "exec $SERVE exports --port-file \"\$PORT_FILE\" --drop 2:3000000"
sed -i "s|127.0.0.1:$port/|127.0.0.1:$port2/|; s|  - name: wave-1|  - name: wave-1\n    retries: 0|" manifest.yaml
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > a2.log 2>&1
! grep -q 'retrying' a2.log || fail "retried with retries: 0"
expect_grep '^web1/disk-copy/vda: failed: ' a2.log
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a3.log 2>&1
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs after the second apply"

# A checksum error is not transient: one attempt, whatever retries says.
d2=$(scratch)
make_fixture "$d2" 4M
cd "$d2"
$MKXVA -o exports/web1.xva --name web1 --pv --bootloader pygrub \
    --disk "xvda=src/xvda.raw,ref=Ref:10" --disk "xvdb=size:4M,ref=Ref:9,pattern=7" \
    --corrupt-chunk Ref:9/0 --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0" > /dev/null
sed -i 's|  - name: wave-1|  - name: wave-1\n    retries: 5|' manifest.yaml
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > a4.log 2>&1
! grep -q 'retrying' a4.log || fail "a checksum error was retried"
expect_grep 'checksum mismatch (xxhash' a4.log
exit 0

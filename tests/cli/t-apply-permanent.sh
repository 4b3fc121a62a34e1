#!/bin/sh
# A permanent error is not retried: a directory target whose path runs
# through a regular file (ENOTDIR) fails the disk copy at once, whatever
# the wave's retries say, with the system's message; the transient case
# (a dropped transfer) is t-apply-retry.
. "$abs_top_srcdir/tests/functions.sh"
set -e
export CONVOY_RETRY_DELAY_MS=100
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
sed -i 's|    path: out$|    path: blocker/out|; s|  - name: wave-1|  - name: wave-1\n    retries: 5|' manifest.yaml
echo "not a directory" > blocker
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > a.log 2>&1
! grep -q 'retrying' a.log || { cat a.log; fail "a permanent error was retried"; }
expect_grep "^web1/disk-copy/vda: failed: cannot create directory '.*/blocker/out': Not a directory$" a.log
"$CONVOY" status --json manifest.yaml | python3 -c '
import json, sys
st = {s["key"]: s for s in json.load(sys.stdin)}
assert st["web1/disk-copy/vda"]["attempts"] == 1, st["web1/disk-copy/vda"]
' || fail "more than one attempt recorded"
exit 0

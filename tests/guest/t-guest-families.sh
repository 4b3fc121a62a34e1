#!/bin/sh
# Golden tests of the shipped guest rule sets (rules/guest/) on one small
# Xen-style image per family (tests/tools/mkfamily.sh): convoy guest
# fixup twice (the second run must change nothing), then the repaired
# files, the guest's tree, the fake tools' log and the boot sector
# against tests/guest/golden/FAMILY/.  Two families at a time: each fixup
# is one appliance launch.
#   CONVOY_TEST_REGENERATE=1 rewrites the golden files.
#   GUEST_FAMILIES="debian-12 sles-12" runs only those.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/guest/guest-lib.sh"
set -e
guest_requires
d=$(scratch)
families=${GUEST_FAMILIES:-"debian-12 ubuntu-22.04 centos-7 rhel-8 sles-12 sles-11"}
jobs=${GUEST_JOBS:-2}
q=0
while [ $q -lt "$jobs" ]; do
    (
        i=0
        for f in $families; do
            if [ $((i % jobs)) -eq $q ]; then
                rc=0
                ( run_family "$f" "$d/$f" ) > "$d/$f.log" 2>&1 || rc=$?
                echo $rc > "$d/$f.rc"
            fi
            i=$((i + 1))
        done
    ) &
    q=$((q + 1))
done
wait
failed=0 passed=0
for f in $families; do
    if [ "$(cat "$d/$f.rc" 2>/dev/null)" = 0 ]; then
        passed=$((passed + 1)); echo "== $f: ok"
    else
        failed=$((failed + 1)); echo "== $f: FAILED"
    fi
    cat "$d/$f.log"
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

#!/bin/sh
# kill -9 at random moments during a two-disk import, resume each time, and
# compare the result byte for byte with an uninterrupted run.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires shuf
d=$(scratch)
make_fixture "$d" 256M
cp -r "$d" "$d.ref"
cleanup_fn "rm -rf '$d.ref'"
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))

# The uninterrupted reference, timed: kill moments are drawn from it.
t0=$(date +%s%N)
(cd "$d.ref" && "$CONVOY" apply --yes manifest.yaml > apply.log) ||
    fail "reference apply failed"
tref=$(( ($(date +%s%N) - t0) / 1000000 ))
lo=$(( tref / 30 + 5 ))
hi=$(( tref / 5 + 10 ))
echo "uninterrupted apply: $tref ms; killing after $lo..$hi ms"

cd "$d"
kills=0
resumed=0
for i in $(seq 1 24); do
    [ "$kills" -ge 6 ] && break
    ms=$(shuf -i "$lo-$hi" -n 1)
    "$CONVOY" apply --yes manifest.yaml >> apply.log 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then
        kills=$((kills + 1))
        wait "$pid" 2>/dev/null || true
    else
        # The resumed apply finished before the kill: start the import
        # over, so that every kill lands in the middle of one.
        wait "$pid" 2>/dev/null || true
        rm -rf out .convoy
    fi
    # After a kill, the plan must be readable and say resume/todo/done.
    set +e
    "$CONVOY" plan manifest.yaml > plan.$i.txt 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || { cat plan.$i.txt; fail "plan after kill $i exited $rc"; }
    grep -q '~ resume' plan.$i.txt && resumed=$((resumed + 1))
done
echo "killed $kills times; $resumed plans offered to resume from a checkpoint"
[ "$kills" -ge 5 ] || fail "only $kills kills landed"
[ "$resumed" -ge 1 ] || fail "no kill left a resumable checkpoint"

"$CONVOY" apply --yes manifest.yaml >> apply.log 2>&1 || fail "final apply failed"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
cmp out/web1-kvm-vda.raw "$d.ref/out/web1-kvm-vda.raw" || fail "vda differs from the uninterrupted run"
cmp out/web1-kvm-vdb.raw "$d.ref/out/web1-kvm-vdb.raw" || fail "vdb differs from the uninterrupted run"
cmp out/web1-kvm-vdb.raw src/xvdb.raw || fail "vdb differs from the source"
sed "s|$d.ref|DIR|g" "$d.ref/out/web1-kvm.xml" > ref.xml
sed "s|$d|DIR|g" out/web1-kvm.xml > got.xml
cmp ref.xml got.xml || fail "domain XML differs from the uninterrupted run"
# A resumed copy re-reads the stream before its checkpoint without
# re-writing it: the recorded outputs say where it resumed from.
grep -q 'resuming' apply.log || fail "no apply resumed"
exit 0

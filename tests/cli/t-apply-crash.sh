#!/bin/sh
# kill -9 at random moments during a two-disk import, resume each time, and
# compare the result byte for byte with an uninterrupted run: raw, then
# qcow2 (through qemu-nbd).  The kills are drawn over the whole length of
# an uninterrupted run.  The final apply's resumed copy re-read what lay
# before its checkpoint without writing it again.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires shuf
requires python3
d0=$(scratch)
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))

# same_disk A B FORMAT: the two images hold the same bytes.
same_disk() {
    if [ "$3" = qcow2 ]; then
        qemu-img compare -q -f qcow2 -F qcow2 "$1" "$2"
    else
        cmp "$1" "$2"
    fi
}

crash_run() {
    fmt=$1
    d=$d0/$fmt
    make_fixture "$d" 256M
    sed -i "s/disk_format: raw/disk_format: $fmt/" "$d/manifest.yaml"
    cp -r "$d" "$d.ref"

    # The uninterrupted reference, timed: kill moments are drawn from it.
    t0=$(date +%s%N)
    (cd "$d.ref" && "$CONVOY" apply --yes manifest.yaml > apply.log) ||
        fail "$fmt: reference apply failed"
    tref=$(( ($(date +%s%N) - t0) / 1000000 ))
    lo=$(( tref / 20 + 5 ))
    hi=$(( tref * 9 / 10 + 10 ))
    echo "$fmt: uninterrupted apply: $tref ms; killing after $lo..$hi ms"

    cd "$d"
    kills=0
    resumed=0
    for i in $(seq 1 30); do
        [ "$kills" -ge 6 ] && break
        ms=$(shuf -i "$lo-$hi" -n 1)
        "$CONVOY" apply --yes manifest.yaml >> apply.log 2>&1 &
        pid=$!
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        if kill -9 "$pid" 2>/dev/null; then
            kills=$((kills + 1))
            wait "$pid" 2>/dev/null || true
            echo "$fmt: kill $kills after $ms ms"
        else
            # The resumed apply finished before the kill: start the
            # import over, so that every kill lands in the middle of one.
            wait "$pid" 2>/dev/null || true
            rm -rf out; state_reset
        fi
        # After a kill, the plan must be readable and say resume/todo/done.
        set +e
        "$CONVOY" plan manifest.yaml > plan.$i.txt 2>&1
        rc=$?
        set -e
        [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || { cat plan.$i.txt; fail "$fmt: plan after kill $i exited $rc"; }
        grep -q '~ resume' plan.$i.txt && resumed=$((resumed + 1))
    done
    echo "$fmt: killed $kills times; $resumed plans offered to resume from a checkpoint"
    [ "$kills" -ge 5 ] || fail "$fmt: only $kills kills landed"
    # Random kills on a loaded machine may all land outside a copy (a
    # fast qcow2 import is mostly start-up): not counted on; the kill in
    # the middle of vdb below always leaves a checkpoint to resume.
    [ "$resumed" -ge 1 ] || echo "$fmt: note: no random kill left a resumable checkpoint"

    # Make sure the last apply resumes a copy: kill one more time in the
    # middle of vdb, then finish.
    rm -rf out; state_reset
    "$CONVOY" apply --yes manifest.yaml > last.log 2>&1 &
    pid=$!
    for k in $(seq 1 600); do
        grep -q 'web1/disk-copy/vdb: [3-9]0%' last.log 2>/dev/null && break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # The XVA cannot seek: the resume re-reads vdb from its start, and the
    # plan counts all of it in what is left to read.
    "$CONVOY" plan --json manifest.yaml > resume.json || true
    python3 - resume.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
s = [s for s in p["vms"][0]["steps"] if s["key"] == "web1/disk-copy/vdb"][0]
assert s["action"] == "resume" and s["resume_from"] > 0, s
assert s["bytes_to_read"] == s["bytes"], s
assert p["waves"][0]["bytes_to_copy"] >= s["bytes"], p["waves"]
PY
    "$CONVOY" apply --yes manifest.yaml > final.log 2>&1 || { cat final.log; fail "$fmt: final apply failed"; }
    expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
    same_disk out/web1-kvm-vda.$fmt "$d.ref/out/web1-kvm-vda.$fmt" $fmt || fail "$fmt: vda differs from the uninterrupted run"
    same_disk out/web1-kvm-vdb.$fmt "$d.ref/out/web1-kvm-vdb.$fmt" $fmt || fail "$fmt: vdb differs from the uninterrupted run"
    if [ "$fmt" = raw ]; then
        cmp out/web1-kvm-vdb.raw src/xvdb.raw || fail "raw: vdb differs from the source"
    else
        qemu-img compare -q -f qcow2 -F raw out/web1-kvm-vdb.qcow2 src/xvdb.raw || fail "qcow2: vdb differs from the source"
    fi
    sed "s|$d.ref|DIR|g" "$d.ref/out/web1-kvm.xml" > ref.xml
    sed "s|$d|DIR|g" out/web1-kvm.xml > got.xml
    cmp ref.xml got.xml || fail "$fmt: domain XML differs from the uninterrupted run"
    grep -q 'web1/disk-copy/vdb: resuming' final.log || { cat final.log; fail "$fmt: the final apply did not resume vdb"; }
    state_query "SELECT outputs FROM steps WHERE key = 'web1/disk-copy/vdb'" > vdb.json
    python3 - vdb.json "$fmt" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
r = o["resumed_from"]
assert r > 0, o
# re-read, not re-written: what was written lies after the checkpoint
# (nothing before it was damaged, so nothing was repaired)
assert o["repaired"] == 0, o
assert o["written"] <= o["size"] - r, o
print("%s: vdb resumed at %d MiB, wrote %d MiB of %d" %
      (sys.argv[2], r >> 20, o["written"] >> 20, o["size"] >> 20))
PY
    cd "$d0"
}

crash_run raw
if command -v qemu-nbd > /dev/null && command -v qemu-img > /dev/null; then
    crash_run qcow2
else
    echo "qemu-nbd or qemu-img is not installed: qcow2 not tested"
fi
exit 0

#!/bin/sh
# SIGINT and SIGTERM stop apply promptly at a consistent point, exit 4
# and say how to resume; the next apply resumes and finishes.  "Promptly"
# is within 2 s of the signal (the contract; by hand it is 10-50 ms, as
# at most one checkpoint interval of data is unsynced), and the saved
# position is short of the whole disk, so the copy stopped instead of
# running on to its end.  The resume re-checks what lies before the
# checkpoint, holes included, and rewrites only what was damaged.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 1G
cd "$d"
export CONVOY_CHECKPOINT_INTERVAL=$((16 * 1024 * 1024))
for sig in INT TERM; do
    # (the log goes first: the wait below must not see the last run's)
    rm -rf out .convoy apply.log apply.err
    "$CONVOY" apply --yes manifest.yaml > apply.log 2> apply.err &
    pid=$!
    # wait until a tenth of the big disk is copied (past a checkpoint:
    # CONVOY_CHECKPOINT_INTERVAL is 16 MiB), however loaded the machine is
    for i in $(seq 1 600); do
        grep -q 'web1/disk-copy/vdb: 10%' apply.log 2>/dev/null && break
        sleep 0.05
    done
    grep -q 'web1/disk-copy/vdb: 10%' apply.log || { cat apply.log; fail "the copy of vdb never reached 10%"; }
    signal_wait "$sig" "$pid"
    echo "SIG$sig: exit $rc after $ms ms"
    [ "$rc" -eq 4 ] || { cat apply.log apply.err; fail "SIG$sig: exit $rc, expected 4"; }
    [ "$ms" -lt 2000 ] || fail "SIG$sig: took $ms ms to stop, more than 2 s"
    expect_grep "progress is saved, run 'convoy apply manifest.yaml' again to resume" apply.err
    expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
    expect_grep '~ resume disk-copy vdb' plan.txt
    expect_exit 2 "$CONVOY" plan --json manifest.yaml > plan.json
    python3 - plan.json <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
pos = [s["resume_from"] for vm in plan["vms"] for s in vm["steps"]
       if s["kind"] == "disk-copy" and s["disk"] == "vdb"]
assert len(pos) == 1, "no resumable disk-copy vdb step in the plan"
size = 1 << 30
# past the first checkpoint (16 MiB), short of three quarters of the disk
assert 16 << 20 <= pos[0] <= size * 3 // 4, "resume_from %d of %d" % (pos[0], size)
print("stopped at %d MiB of %d" % (pos[0] >> 20, size >> 20))
PY
    [ ! -e out/web1-kvm.xml ] || fail "domain XML written before the disks"
done
# Before resuming, damage the copy short of the checkpoint: a 1 MiB chunk
# that holds data and one that is a hole in the source.  The resume
# re-reads that part of the stream and puts both right, without writing
# the rest of it again.
python3 - src/xvdb.raw out/web1-kvm-vdb.raw plan.json > tamper.txt <<'PY'
import json, sys
src, out, plan = sys.argv[1:4]
pos = [s["resume_from"] for vm in json.load(open(plan))["vms"] for s in vm["steps"]
       if s["kind"] == "disk-copy" and s["disk"] == "vdb"][0]
mib = 1 << 20
data = hole = None
with open(src, "rb") as f:
    for off in range(0, pos - mib + 1, mib):
        f.seek(off)
        b = f.read(mib)
        if data is None and b.count(0) < mib // 2:
            data = off
        if hole is None and b == bytes(mib):
            hole = off
assert data is not None and hole is not None, (data, hole, pos)
with open(out, "r+b") as f:
    for off in (data, hole):
        f.seek(off)
        f.write(b"\xa5" * mib)
print(pos)
PY
pos=$(cat tamper.txt)
"$CONVOY" apply --yes manifest.yaml > apply2.log || fail "resume failed"
expect_grep 'web1/disk-copy/vdb: resuming' apply2.log
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs after resume"
python3 - .convoy/state.db "$pos" <<'PY'
import json, sqlite3, sys
(o,) = sqlite3.connect(sys.argv[1]).execute(
    "SELECT outputs FROM steps WHERE key = 'web1/disk-copy/vdb'").fetchone()
o = json.loads(o)
pos = int(sys.argv[2])
assert o["resumed_from"] == pos, (o, pos)
# both damaged MiB (a re-check goes by the pieces the stream delivers:
# a piece that straddles the damage is rewritten whole)
assert 2 << 20 <= o["repaired"] <= 8 << 20, o
# what was written: the two repaired MiB and what came after the checkpoint
assert o["written"] <= o["repaired"] + o["size"] - pos, o
print("resumed at %d MiB; repaired %d MiB; wrote %d MiB of %d" %
      (pos >> 20, o["repaired"] >> 20, o["written"] >> 20, o["size"] >> 20))
PY
exit 0

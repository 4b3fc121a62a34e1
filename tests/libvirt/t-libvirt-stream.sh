#!/bin/sh
# The remote path: a qemu+unix URI (treated as remote) writes volumes with
# virStorageVolUpload sparse streams.  Holes stay holes; kill -9 during an
# upload then resume gives the right content and no second volume or
# domain; re-apply is a no-op; rollback removes exactly what convoy made;
# a qcow2 volume uploaded this way is a valid qcow2.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
requires qemu-img
requires shuf
daemon_up
[ -S /run/libvirt/libvirt-sock ] || skip "no /run/libvirt/libvirt-sock"
d=$(scratch)
make_fixture "$d" 256M
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
bridge_up convoy-br0
vm=convoy-t-str-$$
cleanup_fn "domain_down '$vm'"
export LV_TARGET_URI="qemu+unix:///system?socket=/run/libvirt/libvirt-sock"
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
cd "$d"
LV_VM=$vm libvirt_manifest "$d" "$pool"
# A volume convoy did not make: rollback must leave it.
$VIRSH vol-create-as "$pool" other.raw 1M --format raw >/dev/null
vols() { $VIRSH vol-list "$pool" | awk '{print $1}' | sort | tr '\n' ' '; }

# a. uninterrupted raw upload: content, holes, no-op re-apply.
t0=$(date +%s%N)
"$CONVOY" apply --yes manifest.yaml > apply.a.log 2>&1 || { cat apply.a.log; fail "apply failed"; }
tref=$(( ($(date +%s%N) - t0) / 1000000 ))
same_content "pool/$vm-vda.raw" src/xvda.raw
same_content "pool/$vm-vdb.raw" src/xvdb.raw
src_k=$(du -k src/xvdb.raw | cut -f1)
vol_k=$(du -k "pool/$vm-vdb.raw" | cut -f1)
echo "vdb: 262144 KiB virtual, source allocates $src_k KiB, volume $vol_k KiB (upload $tref ms)"
[ "$vol_k" -le $((src_k + 2048)) ] || fail "holes were not preserved: $vol_k KiB allocated for $src_k KiB of data"
# vda is a small file system on a 64 MiB disk: mostly holes.
data_k=$(qemu-img map --output=json src/xvda.raw | python3 -c 'import json,sys; print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]) // 1024)')
vola_k=$(du -k "pool/$vm-vda.raw" | cut -f1)
echo "vda: 65536 KiB virtual, $data_k KiB non-hole data in the source, volume allocates $vola_k KiB"
[ "$vola_k" -le $((data_k + 1024)) ] || fail "vda holes were not preserved: $vola_k KiB for $data_k KiB of data"
expect_exit 0 "$CONVOY" plan manifest.yaml > replan.txt
[ "$(vols)" = "$vm-vda.raw $vm-vdb.raw other.raw " ] || fail "volumes: $(vols)"

# rollback: exactly convoy's volumes and domain go.
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt || { cat rb.txt; fail "rollback failed"; }
[ "$(vols)" = "other.raw " ] || fail "after rollback, volumes: $(vols)"
$VIRSH dominfo "$vm" >/dev/null 2>&1 && fail "domain still defined after rollback"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "Plan: 4 to do" plan.txt

# b. kill -9 during uploads, resume each time.
lo=$(( tref / 10 + 20 ))
hi=$(( tref * 8 / 10 + 30 ))
kills=0
resumed=0
for i in $(seq 1 8); do
    [ "$kills" -ge 3 ] && break
    # Kill while vdb streams: after its first progress line, plus a
    # random delay.
    ms=$(shuf -i 0-300 -n 1)
    "$CONVOY" apply --yes manifest.yaml > apply.b.$i.log 2>&1 &
    pid=$!
    for k in $(seq 1 400); do
        grep -q 'web1/disk-copy/vdb: [0-9]*%' apply.b.$i.log 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    sleep "$(printf '0.%03d' "$ms")"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
    set +e
    "$CONVOY" plan manifest.yaml > plan.$i.txt 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || { cat plan.$i.txt; fail "plan after kill $i exited $rc"; }
    grep -q '~ resume' plan.$i.txt && resumed=$((resumed + 1))
done
echo "killed $kills times; $resumed plans offered to resume"
# One more kill past a third of vdb, so that the last apply resumes it
# (the random kills above may all land before a checkpoint, or after the
# upload on a fast machine, so they are not counted on): from scratch, so
# there is a copy to cut.
"$CONVOY" rollback --yes manifest.yaml web1 > rb.last.txt 2>&1 || { cat rb.last.txt; fail "rollback before the last kill failed"; }
"$CONVOY" apply --yes manifest.yaml > apply.b.last.log 2>&1 &
pid=$!
for k in $(seq 1 600); do
    grep -q 'web1/disk-copy/vdb: [4-9]0%' apply.b.last.log 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.last.txt
expect_grep '~ resume disk-copy vdb' plan.last.txt
"$CONVOY" apply --yes manifest.yaml > apply.b.log 2>&1 || { tail -20 apply.b.log; fail "final apply failed"; }
expect_grep 'web1/disk-copy/vdb: resuming' apply.b.log
same_content "pool/$vm-vda.raw" src/xvda.raw
same_content "pool/$vm-vdb.raw" src/xvdb.raw
[ "$(vols)" = "$vm-vda.raw $vm-vdb.raw other.raw " ] || fail "after resume, volumes: $(vols)"
[ "$($VIRSH list --all --name | grep -c "^$vm\$")" -eq 1 ] || fail "not exactly one domain $vm"
expect_exit 0 "$CONVOY" plan manifest.yaml > replan.txt
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt
[ "$(vols)" = "other.raw " ] || fail "after rollback, volumes: $(vols)"

# c. qcow2 through the stream: built locally, its file uploaded.
rm -rf .convoy
set_default "$d" disk_format qcow2
export CONVOY_TMPDIR="$d/tmp"
mkdir -p "$CONVOY_TMPDIR"
"$CONVOY" apply --yes manifest.yaml > apply.c.log 2>&1 || { cat apply.c.log; fail "qcow2 apply failed"; }
qemu-img check -q "pool/$vm-vdb.qcow2" || fail "uploaded vdb is not a valid qcow2"
same_content "pool/$vm-vda.qcow2" src/xvda.raw
same_content "pool/$vm-vdb.qcow2" src/xvdb.raw
$VIRSH vol-dumpxml --pool "$pool" "$vm-vdb.qcow2" | grep -q "<capacity unit='bytes'>268435456</capacity>" ||
    fail "libvirt does not see the qcow2 capacity"
[ -z "$(ls "$CONVOY_TMPDIR")" ] || fail "temporary qcow2 files left: $(ls "$CONVOY_TMPDIR")"
expect_exit 0 "$CONVOY" plan manifest.yaml > replan.txt

# After kill -9, the killed apply's qemu-nbd (building the local qcow2)
# exits on its own once it sees the disconnect, holding the image's lock
# until then; one killed before libnbd connected waits for a client
# forever (known limitation, see the internals doc): stop those, which
# this test's applies started, by PID.
nbd_gone() {
    for i in $(seq 1 20); do
        pgrep -f "qemu-nbd.*$CONVOY_TMPDIR" >/dev/null || return 0
        sleep 0.1
    done
    for p in $(pgrep -f "qemu-nbd.*$CONVOY_TMPDIR"); do
        echo "stopping orphaned qemu-nbd $p"
        kill "$p" 2>/dev/null || true
    done
    sleep 0.3
}

# d. qcow2 through the stream, killed (local build or upload) and resumed;
# a rollback of an interrupted one removes its temporary qcow2 too.
"$CONVOY" rollback --yes manifest.yaml web1 > /dev/null
"$CONVOY" apply --yes manifest.yaml > apply.d.log 2>&1 &
pid=$!
for i in $(seq 1 200); do
    [ -n "$(ls "$CONVOY_TMPDIR")" ] && break
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
nbd_gone
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt || { cat rb.txt; fail "rollback failed"; }
[ -z "$(ls "$CONVOY_TMPDIR")" ] || fail "rollback left temporary files: $(ls "$CONVOY_TMPDIR")"
[ "$(vols)" = "other.raw " ] || fail "after rollback, volumes: $(vols)"
kills=0
for i in $(seq 1 6); do
    [ "$kills" -ge 2 ] && break
    ms=$(shuf -i "$lo-$hi" -n 1)
    "$CONVOY" apply --yes manifest.yaml >> apply.d.log 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
    nbd_gone
done
echo "qcow2: killed $kills times"
"$CONVOY" apply --yes manifest.yaml >> apply.d.log 2>&1 || { tail -20 apply.d.log; fail "final qcow2 apply failed"; }
qemu-img check -q "pool/$vm-vdb.qcow2" || fail "resumed vdb is not a valid qcow2"
same_content "pool/$vm-vda.qcow2" src/xvda.raw
same_content "pool/$vm-vdb.qcow2" src/xvdb.raw
[ "$(vols)" = "$vm-vda.qcow2 $vm-vdb.qcow2 other.raw " ] || fail "after resume, volumes: $(vols)"
[ -z "$(ls "$CONVOY_TMPDIR")" ] || fail "temporary qcow2 files left: $(ls "$CONVOY_TMPDIR")"
expect_exit 0 "$CONVOY" plan manifest.yaml > replan.txt
exit 0

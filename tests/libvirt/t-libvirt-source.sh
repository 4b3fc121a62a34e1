#!/bin/sh
# The libvirt source against a real libvirtd.  A directory pool holds a
# raw volume (data and holes) and a qcow2 volume; qemu domains (defined,
# not started) use them.
#  a. Through qemu+unix:///system (a transport: remote for convoy) the
#     raw volume (and a 300-byte one) is read with virStorageVolDownload sparse streams into a
#     directory target: byte for byte, holes kept; re-plan is a no-op.
#  b. A qcow2 volume over a stream is refused at plan time, naming it.
#  c. A disk that is in no pool, over the stream: a plan-time error.
#  d. The same domain through qemu:///system (local): its disks are read
#     by path, the qcow2 as its guest content (qemu-img compare).
#  e. SIGINT during a download, then resume: the stream starts at the
#     checkpoint, the result is byte for byte.
#  g. A <disk type='volume'> (pool + volume name), streamed and by path.
#  f. The connection drops mid-download (a proxy in front of the daemon's
#     socket is killed and comes back a second later): the same apply
#     reconnects and resumes from its checkpoint.
# Sources are unchanged (sha256sum).
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires qemu-img
requires qemu-nbd
requires sha256sum
daemon_up
[ -S /run/libvirt/libvirt-sock ] || skip "no /run/libvirt/libvirt-sock"
d=$(scratch)
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
p=$d/pool
cd "$d"
REMOTE="qemu+unix:///system?socket=/run/libvirt/libvirt-sock"
vm=convoy-t-src-$$
cleanup_fn "domain_down '$vm-a'; domain_down '$vm-b'; domain_down '$vm-c'; domain_down '$vm-e'"

# 64 MiB raw volume: data at 0, 1 MiB, 33 MiB and the last 64 KiB, holes
# between; 48 MiB of content as qcow2; 192 MiB of dense data for e.
$VIRSH vol-create-as "$pool" data.raw 64M --format raw >/dev/null
python3 - "$p/data.raw" "$d/content.raw" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    for off, b in ((0, 1), (1 << 20, 2), (33 << 20, 3), ((64 << 20) - 65536, 4)):
        f.seek(off); f.write(bytes([b]) * 65536)
with open(sys.argv[2], "wb") as f:
    f.truncate(48 << 20)
    f.seek(7 << 20); f.write(os.urandom(3 << 20))
PY
qemu-img convert -q -f raw -O qcow2 content.raw "$p/sys.qcow2"
head -c $((192 << 20)) /dev/urandom > "$p/big.raw"
truncate -s 4M loose.raw
printf 'a volume of 300 bytes, smaller than a header probe' > "$p/tiny.raw"
truncate -s 300 "$p/tiny.raw"
chmod 644 "$p"/*
$VIRSH pool-refresh "$pool" >/dev/null
sums0=$(sha256sum "$p/data.raw" "$p/sys.qcow2" "$p/big.raw")

domain() { # NAME DISK:FORMAT…
    _n=$1; shift
    {
        echo "<domain type='qemu'><name>$_n</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        echo "<os><type arch='x86_64'>hvm</type></os><devices>"
        _i=0
        for _x in "$@"; do
            _dev=$(printf "vd\\$(printf %o $((97 + _i)))")
            echo "<disk type='file' device='disk'><driver name='qemu' type='${_x#*:}'/><source file='${_x%:*}'/><target dev='$_dev' bus='virtio'/></disk>"
            _i=$((_i + 1))
        done
        echo "</devices></domain>"
    } > "$_n.xml"
    $VIRSH define "$_n.xml" >/dev/null || fail "cannot define $_n"
}
domain "$vm-a" "$p/data.raw:raw" "$p/tiny.raw:raw"
domain "$vm-b" "$p/data.raw:raw" "$p/sys.qcow2:qcow2"
domain "$vm-c" "$d/loose.raw:raw"
domain "$vm-e" "$p/big.raw:raw"

manifest() { # VM SOURCE-URI [EXTRA]
    cat > manifest.yaml <<EOT
version: 1
defaults:
  guest: {fixup: false}
  target: lab
  disk_format: raw
sources:
  kvm0: {type: libvirt, uri: "$2"${3:-}}
targets:
  lab: {type: directory, path: out}
waves:
  - name: wave-1
    vms:
      - {name: $1, source: kvm0}
EOT
}

# a. stream
manifest "$vm-a" "$REMOTE"
expect_exit 2 "$CONVOY" plan manifest.yaml > a.plan 2>&1
expect_grep "disk-copy vda .*pool/data.raw 64.0 MiB" a.plan
t0=$(date +%s%N)
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a.log 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
cmp "$p/data.raw" "out/$vm-a-vda.raw" || fail "a: the streamed disk differs"
cmp "$p/tiny.raw" "out/$vm-a-vdb.raw" || fail "a: the streamed 300-byte disk differs"
out_k=$(du -k "out/$vm-a-vda.raw" | cut -f1)
echo "a: 64 MiB volume (256 KiB data) streamed in $ms ms; output allocates $out_k KiB"
[ "$out_k" -le 1024 ] || fail "a: holes were not kept: $out_k KiB allocated"
expect_exit 0 "$CONVOY" plan manifest.yaml > a.plan2 2>&1

# b. a qcow2 volume cannot be streamed
manifest "$vm-b" "$REMOTE"
expect_exit 1 "$CONVOY" plan manifest.yaml > b.plan 2>&1
expect_grep "disk vdb ('pool/sys.qcow2') is a qcow2 image; a volume download stream (the connection is remote) carries its qcow2 file bytes" b.plan
manifest "$vm-b" "qemu:///system" ", disk_access: stream"
expect_exit 1 "$CONVOY" plan manifest.yaml > b.plan2 2>&1
expect_grep "disk vdb ('pool/sys.qcow2') is a qcow2 image; a volume download stream (disk_access: stream)" b.plan2

# c. not in a pool
manifest "$vm-c" "$REMOTE"
expect_exit 1 "$CONVOY" plan manifest.yaml > c.plan 2>&1
expect_grep "vm '$vm-c': source 'kvm0': disk vda ('loose.raw'): no libvirt storage volume has this path (the connection is remote); a disk read over the connection must be in a libvirt storage pool" c.plan

# d. local: by path, qcow2 as guest content
rm -rf out .convoy
manifest "$vm-b" "qemu:///system"
expect_exit 2 "$CONVOY" plan manifest.yaml > d.plan 2>&1
expect_grep "disk-copy vdb .*pool/sys.qcow2 48.0 MiB" d.plan
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > d.log 2>&1
cmp "$p/data.raw" "out/$vm-b-vda.raw" || fail "d: vda differs"
qemu-img compare -q "$p/sys.qcow2" "out/$vm-b-vdb.raw" || fail "d: qemu-img compare: the qcow2's content differs"
cmp content.raw "out/$vm-b-vdb.raw" || fail "d: vdb differs from the qcow2's content"

# g. <disk type='volume'>
cat > "$vm-g.xml" <<EOT
<domain type='qemu'><name>$vm-g</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='$pool' volume='data.raw'/><target dev='vda' bus='virtio'/></disk>
<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='$pool' volume='sys.qcow2'/><target dev='vdb' bus='virtio'/></disk>
</devices></domain>
EOT
$VIRSH define "$vm-g.xml" >/dev/null || fail "cannot define $vm-g"
cleanup_fn "domain_down '$vm-g'"
rm -rf out .convoy
manifest "$vm-g" "qemu:///system"
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > g.log 2>&1
cmp "$p/data.raw" "out/$vm-g-vda.raw" || fail "g: vda (volume by path) differs"
cmp content.raw "out/$vm-g-vdb.raw" || fail "g: vdb (qcow2 volume by path) differs"
expect_grep "out/$vm-g-vda.raw" "out/$vm-g.xml"
rm -rf out .convoy
sed -e "/sys.qcow2/d" -e "s|<name>$vm-g</name>|<name>$vm-h</name>|" "$vm-g.xml" > "$vm-h.xml"
$VIRSH define "$vm-h.xml" >/dev/null || fail "cannot define $vm-h"
cleanup_fn "domain_down '$vm-h'"
manifest "$vm-h" "$REMOTE"
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > g2.log 2>&1
cmp "$p/data.raw" "out/$vm-h-vda.raw" || fail "g: vda (volume, streamed) differs"

# e. interrupt a download and resume at the checkpoint
rm -rf out .convoy
manifest "$vm-e" "$REMOTE"
export CONVOY_CHECKPOINT_INTERVAL=$((8 * 1024 * 1024))
"$CONVOY" apply --yes manifest.yaml > e1.log 2> e1.err &
pid=$!
for i in $(seq 1 600); do
    grep -q "$vm-e/disk-copy/vda: [1-9][0-9]*%" e1.log 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
done
kill -INT "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
if [ "$rc" -eq 4 ]; then
    expect_exit 2 "$CONVOY" plan manifest.yaml > e.plan 2>&1
    expect_grep "~ resume disk-copy vda" e.plan
    t0=$(date +%s%N)
    expect_exit 0 "$CONVOY" apply --yes manifest.yaml > e2.log 2>&1
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    expect_grep "the source stream starts at the checkpoint, [1-9][0-9]* bytes" e2.log
    echo "e: $(grep -o 'starts at the checkpoint, [0-9]* bytes' e2.log); the rest of 192 MiB in $ms ms"
else
    # The copy finished before the signal landed: nothing to resume.
    [ "$rc" -eq 0 ] || { cat e1.log e1.err; fail "e: apply exited $rc"; }
    echo "e: the download finished before SIGINT; resume not exercised"
fi
cmp "$p/big.raw" "out/$vm-e-vda.raw" || fail "e: the resumed disk differs"

# f. a dropped connection
rm -rf out .convoy
proxy() { proxy_up "$d/proxy.sock"; }
proxy
cleanup_fn 'kill $proxy_pid'
manifest "$vm-e" "qemu+unix:///system?socket=$d/proxy.sock"
"$CONVOY" apply --yes manifest.yaml > f.log 2>&1 &
apid=$!
for i in $(seq 1 600); do
    grep -q "$vm-e/disk-copy/vda: [1-9][0-9]*%" f.log 2>/dev/null && break
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.02
done
kill -9 "$proxy_pid"
rm -f "$d/proxy.sock"
sleep 1
proxy
set +e
wait "$apid"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat f.log; fail "f: apply exited $rc after the connection came back"; }
if grep -q "reconnecting and resuming from" f.log; then
    echo "f: $(grep -o 'reconnecting and resuming from [0-9]* bytes' f.log | head -1)"
else
    echo "f: the download finished before the cut; reconnect not exercised"
fi
cmp "$p/big.raw" "out/$vm-e-vda.raw" || fail "f: the disk differs after the reconnect"

[ "$(sha256sum "$p/data.raw" "$p/sys.qcow2" "$p/big.raw")" = "$sums0" ] || fail "a source volume changed"
exit 0

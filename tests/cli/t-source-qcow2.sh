#!/bin/sh
# qcow2 source disks of the libvirtxml and xl sources are read as their
# guest content (qemu-nbd --read-only + libnbd): the plan shows the
# virtual size, the output (raw and qcow2) compares equal with qemu-img
# compare, zero clusters stay holes, and the source images are unchanged
# (sha256sum).  A qcow2 the XML calls raw is read as qcow2 with a plan
# warning, unless its header names a backing file: then it is refused.
# kill -9 while a qcow2 is read leaves no qemu-nbd behind, and the
# resumed copy is byte for byte.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires qemu-img
requires qemu-nbd
requires sha256sum
d=$(scratch)
cd "$d"
mkdir -p img xml xen
# A 96 MiB raw disk: data at the start, in the middle and at the very
# end, holes between; its qcow2 (compressed clusters too) is the source.
python3 - img/content.raw <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.truncate(96 << 20)
    for off, byte in ((0, 1), (5 << 20, 2), (47 << 20, 3), ((96 << 20) - (192 << 10), 4)):
        f.seek(off)
        f.write(bytes([byte]) * 65536 + bytes(range(256)) * 256)
    f.seek((96 << 20) - 65536)
    f.write(b"end!" * 16384)
PY
[ "$(stat -c %s img/content.raw)" = $((96 << 20)) ] || fail "harness: content.raw has the wrong size"
qemu-img convert -q -f raw -O qcow2 img/content.raw img/disk.qcow2
qemu-img convert -q -f raw -O qcow2 -c img/content.raw img/packed.qcow2
truncate -s 8M img/data.raw
printf 'data' | dd of=img/data.raw bs=1 seek=4096 conv=notrunc 2>/dev/null
sums0=$(sha256sum img/disk.qcow2 img/packed.qcow2 img/data.raw)
phys=$(stat -c %s img/disk.qcow2)
[ "$phys" -lt $((96 << 20)) ] || fail "the qcow2 is not smaller than its virtual size"

disk_xml() { # FILE DEV TYPE
    cat <<EOT
    <disk type='file' device='disk'>
      <driver name='qemu' type='$3'/>
      <source file='$1'/>
      <target dev='$2' bus='xen'/>
    </disk>
EOT
}
domain_xml() { # NAME DISKS…
    _n=$1; shift
    echo "<domain type='xen'><name>$_n</name>"
    echo "<memory unit='KiB'>524288</memory><vcpu>1</vcpu>"
    echo "<os><type arch='x86_64' machine='xenpv'>linux</type></os><devices>"
    while [ $# -gt 0 ]; do disk_xml "$1" "$2" "$3"; shift 3; done
    echo "</devices></domain>"
}
domain_xml vm1 "$d/img/disk.qcow2" xvda qcow2 "$d/img/data.raw" xvdb raw > xml/vm1.xml
domain_xml vm2 "$d/img/packed.qcow2" xvda raw > xml/vm2.xml
cat > xen/vm3.cfg <<EOT
name = "vm3"
memory = 512
bootloader = "pygrub"
disk = [ 'format=qcow2, vdev=xvda, access=rw, target=$d/img/disk.qcow2' ]
EOT
cat > manifest.yaml <<'EOT'
version: 1
defaults:
  guest: {fixup: false}
  target: lab
  disk_format: raw
sources:
  dumps: {type: libvirtxml, path: xml}
  xen1: {type: xl, path: xen}
targets:
  lab: {type: directory, path: out}
waves:
  - name: wave-1
    vms:
      - {name: vm1, source: dumps}
      - {name: vm2, source: dumps}
      - {name: vm3, source: xen1, disk_format: qcow2}
EOT

expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt 2>&1
# The virtual size (96 MiB), not the file's size.
expect_grep "disk-copy vda .*img/disk.qcow2 96.0 MiB" plan1.txt
expect_grep "warning: vm 'vm2': disk xvda ('img/packed.qcow2'): the config says raw but the image is qcow2; it is read as qcow2" plan1.txt
if grep -q "warning: vm 'vm1'" plan1.txt; then fail "a correctly declared qcow2 was warned about"; fi
t0=$(date +%s%N)
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply1.txt 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_grep 'Applied: .* 0 failed' apply1.txt
cmp img/content.raw out/vm1-vda.raw || fail "vm1 vda differs from the qcow2's content"
cmp img/data.raw out/vm1-vdb.raw || fail "vm1 vdb (raw) differs"
qemu-img compare -q img/disk.qcow2 out/vm1-vda.raw || fail "qemu-img compare: vm1 vda"
qemu-img compare -q img/packed.qcow2 out/vm2-vda.raw || fail "qemu-img compare: vm2 vda (compressed qcow2)"
qemu-img compare -q img/disk.qcow2 out/vm3-vda.qcow2 || fail "qemu-img compare: vm3 vda (xl, qcow2 out)"
[ "$(qemu-img info --output=json out/vm3-vda.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = $((96 << 20)) ] ||
    fail "vm3 output has the wrong virtual size"
out_k=$(du -k out/vm1-vda.raw | cut -f1)
echo "3 VMs, 4 disks (3 x 96 MiB qcow2 virtual) in $ms ms; vm1 vda output allocates $out_k KiB"
[ "$out_k" -le 2048 ] || fail "zero clusters were not kept as holes: $out_k KiB allocated"
[ "$(sha256sum img/disk.qcow2 img/packed.qcow2 img/data.raw)" = "$sums0" ] || fail "a source image changed"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
if pgrep -f "qemu-nbd.*$d/img" >/dev/null; then fail "a qemu-nbd reader was left running"; fi

# A qcow2 header with a backing file in a disk the XML calls raw (a guest
# could write one into its raw disk) is refused, naming the disk.
qemu-img create -q -f qcow2 -b "$d/img/content.raw" -F raw img/overlay.qcow2
domain_xml vm4 "$d/img/overlay.qcow2" xvda raw > xml/vm4.xml
sed -i 's|      - {name: vm3, source: xen1, disk_format: qcow2}|      - {name: vm4, source: dumps}|' manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1
expect_grep "disk xvda ('img/overlay.qcow2') is declared raw but its content is a qcow2 header with a backing file; refusing to follow it" plan3.txt
# Declared qcow2, the overlay is read through its backing file.
domain_xml vm4 "$d/img/overlay.qcow2" xvda qcow2 > xml/vm4.xml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply4.txt 2>&1
cmp img/content.raw out/vm4-vda.raw || fail "vm4 (overlay over a backing file) differs"
[ "$(sha256sum img/disk.qcow2 img/packed.qcow2 img/data.raw)" = "$sums0" ] || fail "a source image changed"

# kill -9 mid-read: the qemu-nbd child goes with its socket; resume.
head -c $((128 << 20)) /dev/urandom > img/dense.raw
qemu-img convert -q -f raw -O qcow2 img/dense.raw img/dense.qcow2
domain_xml vm5 "$d/img/dense.qcow2" xvda qcow2 > xml/vm5.xml
sed -i 's|      - {name: vm4, source: dumps}|      - {name: vm5, source: dumps}|' manifest.yaml
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
"$CONVOY" apply --yes manifest.yaml > apply5.txt 2>&1 &
pid=$!
for i in $(seq 1 500); do
    grep -q 'vm5/disk-copy/vda: [1-9][0-9]*%' apply5.txt 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
for i in $(seq 1 50); do
    pgrep -f "qemu-nbd.*$d/img/dense.qcow2" >/dev/null || break
    sleep 0.1
done
if pgrep -f "qemu-nbd.*$d/img/dense.qcow2" >/dev/null; then
    for p in $(pgrep -f "qemu-nbd.*$d/img/dense.qcow2"); do kill -9 "$p"; done
    fail "qemu-nbd outlived a killed apply"
fi
set +e
"$CONVOY" plan manifest.yaml > plan5.txt 2>&1
set -e
grep -q '~ resume disk-copy vda' plan5.txt && echo "vm5: killed mid-read, $(grep -o 'resume from [0-9.]* MiB' plan5.txt)"
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply6.txt 2>&1
cmp img/dense.raw out/vm5-vda.raw || fail "vm5 differs after kill -9 and resume"
exit 0

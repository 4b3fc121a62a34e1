#!/bin/sh
# A disk whose size is not a whole number of 512-byte sectors (an XVA VDI
# of 4 MiB + 57 bytes, its last byte data) becomes a qcow2 image rounded
# up as qemu-img rounds it: the plan says so, apply succeeds with the
# guest's bytes in place and a zero tail, and the next plan has nothing
# to do (the rounded image counts as present).  A raw output keeps the
# exact size.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires qemu-img
requires qemu-nbd
d=$(scratch)
cd "$d"
mkdir -p src exports
size=$((4 * 1024 * 1024 + 57))
python3 - src/xvda.raw "$size" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.truncate(size)
    f.write(bytes(range(256)) * 4096)
    f.seek(size - 57)
    f.write(b"T" * 57)
PY
$MKXVA -o exports/web1.xva --name web1 --hvm --memory 1GiB --vcpus 1 \
    --disk "xvda=src/xvda.raw,ref=Ref:10" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0" >/dev/null || fail "mkxva failed"
cat > manifest.yaml <<EOT
version: 1
defaults:
  guest: {fixup: false}
  target: lab
  disk_format: qcow2
sources:
  exports: {type: xva, path: exports}
targets:
  lab:
    type: directory
    path: out
    networks:
      - {from: {bridge: xenbr0}, to: {network: default}}
waves:
  - name: wave-1
    vms:
      - {name: web1, source: exports}
EOT
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "note: $size bytes is not a whole number of 512-byte sectors; the qcow2 image is 4194816 bytes, the tail reads as zeros" plan.txt
"$CONVOY" apply --yes manifest.yaml > apply.log 2>&1 || { cat apply.log; fail "apply (qcow2) failed"; }
! grep -q 'retrying' apply.log || fail "retried"
vsize=$(qemu-img info --output=json out/web1-vda.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
[ "$vsize" -eq 4194816 ] || fail "virtual size $vsize, expected 4194816"
# The guest's bytes, then zeros up to the sector boundary.
cp src/xvda.raw padded.raw
truncate -s 4194816 padded.raw
qemu-img compare -q -f raw -F qcow2 padded.raw out/web1-vda.qcow2 || fail "content differs"
qemu-img compare -q -f raw -F qcow2 src/xvda.raw out/web1-vda.qcow2 ||
    fail "content differs from the source (a zero tail is allowed)"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan2.txt
expect_grep '^No changes: 3 steps up to date' plan2.txt

# raw: exact size, byte for byte.
rm -rf out .convoy
set_default "$d" disk_format raw
"$CONVOY" apply --yes manifest.yaml > apply2.log 2>&1 || { cat apply2.log; fail "apply (raw) failed"; }
cmp src/xvda.raw out/web1-vda.raw || fail "raw output differs"
exit 0

#!/bin/sh
# An xl source: an xl.cfg whose disks are a raw image file and a second
# raw file (as a phy: LVM volume would be read) becomes a KVM domain on a
# directory target through plan and apply, with the same conversion as
# convoy convert; uuid and MAC are kept; a truncated qcow2 disk is refused.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
cd "$d"
mkdir -p xen images
python3 - images <<'PY'
import os, sys
d = sys.argv[1]
with open(os.path.join(d, "root.img"), "wb") as f:
    f.truncate(8 << 20)
    for i in range(0, 8 << 20, 1 << 20):
        f.seek(i); f.write(bytes([(i >> 20) + 1]) * 4096)
with open(os.path.join(d, "data.img"), "wb") as f:
    f.truncate(3 << 20)
    f.seek(2 << 20); f.write(b"data" * 1024)
PY
cat > xen/app1.cfg <<EOT
name = "app1"
uuid = "2d4b6f80-1a3c-4e5f-9a7b-c1d2e3f4a5b6"
memory = 512
vcpus = 1
bootloader = "pygrub"
disk = [ 'file:$d/images/root.img,xvda,w',
         'format=raw, vdev=xvdb, access=rw, target=$d/images/data.img' ]
vif = [ 'mac=00:16:3e:42:00:01,bridge=xenbr0,vifname=vif-app1' ]
colour = "green"
EOT
cat > manifest.yaml <<'EOT'
version: 1
defaults:
  guest: {fixup: false}
  target: lab
  disk_format: raw
sources:
  xen1: {type: xl, path: xen}
targets:
  lab:
    type: directory
    path: out
    networks:
      - {from: {bridge: xenbr0}, to: {network: default}}
waves:
  - name: wave-1
    vms:
      - {name: app1, source: xen1}
EOT

expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt 2>&1
# an unknown xl.cfg key is dropped, and the plan says so with its line
expect_grep "vm 'app1': .*app1.cfg:9:1: warning: unknown setting 'colour'" plan1.txt
expect_grep 'disk-copy vda' plan1.txt
expect_grep 'disk-copy vdb' plan1.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply1.txt
expect_grep 'Applied: 4 steps done, 0 failed' apply1.txt
cmp images/root.img out/app1-vda.raw || fail "vda differs from the xl disk"
cmp images/data.img out/app1-vdb.raw || fail "vdb differs from the xl disk"
expect_grep "<uuid>2d4b6f80-1a3c-4e5f-9a7b-c1d2e3f4a5b6</uuid>" out/app1.xml
expect_grep "<mac address='00:16:3e:42:00:01'/>" out/app1.xml
expect_grep "<source network='default'/>" out/app1.xml
if grep -q 'vif-app1\|pygrub' out/app1.xml; then fail "Xen-only settings kept"; fi
if command -v virt-xml-validate > /dev/null 2>&1; then
    virt-xml-validate out/app1.xml domain > /dev/null || fail "domain XML does not validate"
fi
expect_exit 0 "$CONVOY" plan manifest.yaml > plan2.txt

# editing the xl.cfg re-plans the domain
sed -i 's/^memory = 512/memory = 1024/' xen/app1.cfg
expect_exit 2 "$CONVOY" plan manifest.yaml > plan3.txt
expect_grep 'redo' plan3.txt

# a qcow2 source disk with a truncated header: the VM is an error, named
printf 'QFI\373\000\000\000\003' > images/q.img
sed -i "s|file:$d/images/root.img|file:$d/images/q.img|" xen/app1.cfg
expect_exit 1 "$CONVOY" plan manifest.yaml > plan4.txt 2> plan4.err
cat plan4.txt >> plan4.err
expect_grep "images/q.img': truncated qcow2 header" plan4.err
exit 0

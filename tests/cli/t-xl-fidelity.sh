#!/bin/sh
# xl.cfg fidelity through plan and convert: an rbd disk stays on Ceph (no
# disk-copy step, a warning to define the secret, the cephx key nowhere:
# not in the plan, its JSON, the converted XML or convert's messages); a
# passed-through PCI device is kept with a plan warning; a guest-agent
# channel becomes a virtio channel, with --explain naming the rules.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
cd "$d"
mkdir -p xen images
key=AQBmaWRlbGl0eS10ZXN0LWtleS1ub3QtcmVhbA==
python3 -c 'import sys; f = open(sys.argv[1], "wb"); f.truncate(1 << 20)' images/root.img
cat > xen/db1.cfg <<EOT
name = "db1"
uuid = "8e0c4a2b-5d6f-4a1b-9c3d-7e8f9a0b1c2d"
type = "hvm"
memory = 1024
vcpus = [ 2 ]
EOT
# (a list where a number is wanted is an error, with its position)
expect_exit 3 "$CONVOY" convert xen/db1.cfg > bad.out 2> bad.err
expect_grep "db1.cfg:5:9: error: .vcpus.: expected an integer" bad.err
cat > xen/db1.cfg <<EOT
name = "db1"
uuid = "8e0c4a2b-5d6f-4a1b-9c3d-7e8f9a0b1c2d"
type = "hvm"
memory = 1024
vcpus = 2
serial = [ "pty", "/dev/ttyS1" ]
disk = [ 'file:$d/images/root.img,xvda,w',
         'backendtype=qdisk, vdev=xvdb, target=rbd:vms/db1-data:id=db:key=$key:mon_host=10.1.0.1' ]
pci = [ '0000:41:00.0' ]
channel = [ 'connection=socket, path=/run/xen/db1.qga, name=org.qemu.guest_agent.0' ]
vif = [ 'mac=00:16:3e:d8:00:01,bridge=xenbr0,rate=100Mb/s' ]
EOT
cat > manifest.yaml <<'EOT'
version: 1
defaults:
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
      - {name: db1, source: xen1}
EOT
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt 2>&1
expect_grep "vm 'db1': .*the cephx key is not carried over" plan.txt
expect_grep "vm 'db1': .*hostdev: a host device is passed through; it must exist on the KVM host" plan.txt
expect_grep "vm 'db1': .*serial '/dev/ttyS1' is not carried over" plan.txt
expect_grep 'disk-copy vda' plan.txt
if grep -q 'disk-copy vdb' plan.txt; then fail "the rbd disk is copied"; fi
"$CONVOY" plan --json manifest.yaml > plan.json 2>&1 || true
"$CONVOY" convert --explain xen/db1.cfg > db1.xml 2> convert.err
expect_grep "<source protocol='rbd' name='vms/db1-data'>" db1.xml
expect_grep "<secret type='ceph' usage='client.db secret'/>" db1.xml
expect_grep "<target type='virtio' name='org.qemu.guest_agent.0'/>" db1.xml
expect_grep "<address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/>" db1.xml
expect_grep "<outbound average='12207'/>" db1.xml
expect_grep "channel-virtio" convert.err
expect_grep "key=\*\*\*" convert.err
for f in plan.txt plan.json db1.xml convert.err; do
    if grep -q "$key" "$f"; then fail "the cephx key is in $f"; fi
done
if [ -d out ] && grep -rq "$key" out; then fail "the cephx key is on the target"; fi
exit 0

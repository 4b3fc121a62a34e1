#!/bin/sh
# The libvirt source on libvirt's test driver (test:///NODE.xml): a
# running Xen domain (pygrub, xvda/xvdb on bus xen) with local raw disks
# is discovered read-only, shut down (source_power: shutdown) and copied
# byte for byte; a re-plan is a no-op; an unknown domain is an error.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires virsh
d=$(scratch)
make_fixture "$d" 6M
cd "$d"
cat > node.xml <<EOT
<node>
  <domain type='xen'>
    <name>web1</name>
    <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
    <memory unit='KiB'>1048576</memory>
    <vcpu placement='static'>2</vcpu>
    <bootloader>/usr/bin/pygrub</bootloader>
    <os>
      <type arch='x86_64' machine='xenpv'>linux</type>
      <cmdline>console=hvc0 root=/dev/xvda1</cmdline>
    </os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$d/src/xvda.raw'/>
        <target dev='xvda' bus='xen'/>
      </disk>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$d/src/xvdb.raw'/>
        <target dev='xvdb' bus='xen'/>
      </disk>
      <interface type='bridge'>
        <mac address='aa:bb:cc:00:00:01'/>
        <source bridge='xenbr0'/>
      </interface>
    </devices>
  </domain>
</node>
EOT
virsh -c "test://$d/node.xml" domstate web1 | grep -q running || skip "the test driver did not load a running Xen domain"
sed -i "s|exports: {type: xva, path: exports}|exports: {type: libvirt, uri: \"test://$d/node.xml\"}|" manifest.yaml
set_default "$d" disk_format "raw\n  source_power: shutdown"
sum0=$(cat src/xvda.raw src/xvdb.raw | md5sum)

expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt 2>&1
expect_grep '+ todo   source-shutdown    web1 on .exports. (running' plan1.txt
expect_grep '+ todo   disk-copy vda' plan1.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply1.txt 2>&1
expect_grep 'Applied: 5 steps done, 0 failed, 0 skipped.' apply1.txt
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
expect_grep "<domain type='kvm'" out/web1-kvm.xml
expect_exit 0 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
[ "$(cat src/xvda.raw src/xvdb.raw | md5sum)" = "$sum0" ] || fail "a source disk changed"

sed -i 's|{name: web1, source: exports, rename: web1-kvm}|{name: nosuch, source: exports}|' manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1
expect_grep "libvirt: source 'exports': domain 'nosuch'" plan3.txt
exit 0

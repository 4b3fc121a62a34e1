#!/bin/sh
# The libvirtxml source: a dumped Xen domain XML (pygrub, xvda/xvdb on bus
# xen) with local raw disks, found by <name> in a directory, becomes a KVM
# domain with byte-for-byte disks; the source files are unchanged; a
# missing disk is a plan-time error naming it.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
d=$(scratch)
make_fixture "$d" 6M
cd "$d"
mkdir xml
cat > xml/web1.xml <<EOT
<domain type='xen'>
  <name>web1</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <bootloader>/usr/bin/pygrub</bootloader>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <cmdline>console=hvc0 root=/dev/xvda1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
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
      <script path='vif-bridge'/>
    </interface>
    <console type='pty'>
      <target type='xen' port='0'/>
    </console>
  </devices>
</domain>
EOT
cp xml/web1.xml other.xml
sed -i 's|<name>web1</name>|<name>other</name>|' other.xml
mv other.xml xml/
sed -i "s|exports: {type: xva, path: exports}|exports: {type: libvirtxml, path: xml}|" manifest.yaml
sum0=$(cat src/xvda.raw src/xvdb.raw xml/web1.xml | md5sum)

expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt 2>&1
expect_grep '+ todo   disk-copy vda' plan1.txt
expect_grep '+ todo   disk-copy vdb' plan1.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply1.txt 2>&1
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
expect_grep "<domain type='kvm'" out/web1-kvm.xml
expect_grep "$d/out/web1-kvm-vda.raw" out/web1-kvm.xml
expect_grep "<source network='default'" out/web1-kvm.xml
if command -v virt-xml-validate >/dev/null; then
    virt-xml-validate out/web1-kvm.xml domain >/dev/null || fail "domain XML does not validate"
fi
expect_exit 0 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
[ "$(cat src/xvda.raw src/xvdb.raw xml/web1.xml | md5sum)" = "$sum0" ] || fail "a source file changed"

# A disk that is gone is reported at plan time.
sed -i "s|$d/src/xvdb.raw|$d/src/gone.raw|" xml/web1.xml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1
expect_grep "disk xvdb: cannot open 'src/gone.raw'" plan3.txt

# A disk on a block device (<disk type='block'>, as an LVM volume on a
# Xen host): its size is the device's, its bytes are copied, it is left
# as it was.  A loop device stands in for the LV here (device-mapper,
# which LVM needs, may not exist on a test machine).
if [ "$(id -u)" -eq 0 ] && command -v losetup > /dev/null &&
   loop=$(losetup -f --show "$d/src/xvdb.raw" 2>/dev/null); then
    cleanup_fn "losetup -d '$loop'"
    python3 - xml/web1.xml "$d/src/gone.raw" "$loop" <<'PY'
import sys
p, old, dev = sys.argv[1:4]
s = open(p).read()
i = s.index("<source file='%s'/>" % old)
a = s.rindex("<disk type='file'", 0, i)
s = s[:a] + "<disk type='block'" + s[a + len("<disk type='file'"):]
s = s.replace("<source file='%s'/>" % old, "<source dev='%s'/>" % dev)
open(p, "w").write(s)
PY
    grep -q "<source dev='$loop'/>" xml/web1.xml || fail "the block disk is not in the XML"
    sum1=$(md5sum < "$loop")
    rm -rf out .convoy
    expect_exit 2 "$CONVOY" plan manifest.yaml > plan4.txt 2>&1 || { cat plan4.txt; exit 1; }
    expect_grep "+ todo   disk-copy vdb .*6.0 MiB" plan4.txt
    expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply4.txt 2>&1 || { cat apply4.txt; exit 1; }
    cmp "$loop" out/web1-kvm-vdb.raw || fail "the block device's copy differs"
    [ "$(md5sum < "$loop")" = "$sum1" ] || fail "the source block device changed"
else
    echo "no loop device here (not root, or no losetup): block disks not tested"
fi
exit 0

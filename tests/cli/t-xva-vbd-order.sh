#!/bin/sh
# An XVA whose VBDs come in any order (XenServer does not sort them):
# the disks are placed, named and booted by userdevice, never by export
# order.  web1's ova.xml lists xvdb (userdevice 1) before xvda
# (userdevice 0); the domain must list vda (the guest's xvda, the disk it
# boots from) first, with the boot on it, and each volume must hold its
# own disk's bytes.  A PV guest whose bootable VBD is not userdevice 0
# boots that disk.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
$MKXVA -o exports/web1.xva --name web1 --pv --bootloader pygrub \
    --pv-args "console=hvc0 root=/dev/xvda1" --memory 1GiB --vcpus 2 \
    --disk "xvdb=src/xvdb.raw,ref=Ref:9" \
    --disk "xvda=src/xvda.raw,ref=Ref:10" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0,network=Pool-wide network associated with eth0" \
    >/dev/null || fail "mkxva failed"
# The export really lists xvdb first.
tar -xOf exports/web1.xva ova.xml > ova.xml
first=$(grep -o '<name>device</name><value>xvd[ab]</value>' ova.xml | head -n 1)
[ "$first" = '<name>device</name><value>xvdb</value>' ] ||
    fail "the fixture's ova.xml does not list xvdb first ($first)"

# What the export holds, as inspect lists it: xvda first.
expect_exit 0 "$CONVOY" xva inspect exports/web1.xva > inspect.txt
order=$(sed -n 's/^  \(xvd[a-z]*\)  .*/\1/p' inspect.txt | tr '\n' ' ')
[ "$order" = "xvda xvdb " ] || { cat inspect.txt; fail "inspect lists the disks in order '$order', expected 'xvda xvdb '"; }
# The KVM domain XML of convert: vda first.
expect_exit 0 "$CONVOY" convert exports/web1.xva > kvm.xml
devs=$(sed -n "s|.*<target dev='\([a-z0-9]*\)'.*|\1|p" kvm.xml | tr '\n' ' ')
[ "$devs" = "vda vdb " ] || { cat kvm.xml; fail "convert: disks in order '$devs', expected 'vda vdb '"; }

expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
order=$(sed -n 's/.*disk-copy \(vd[a-z]\).*/\1/p' plan.txt | tr '\n' ' ')
[ "$order" = "vda vdb " ] || { cat plan.txt; fail "disk-copy steps in order '$order', expected 'vda vdb '"; }

expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply.txt
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda does not hold xvda's bytes"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb does not hold xvdb's bytes"
# The KVM domain: vda first and booted (boot dev='hd' boots the first disk).
devs=$(sed -n "s|.*<target dev='\([a-z0-9]*\)'.*|\1|p" out/web1-kvm.xml | tr '\n' ' ')
[ "$devs" = "vda vdb " ] || { cat out/web1-kvm.xml; fail "KVM domain disks in order '$devs', expected 'vda vdb '"; }
first_src=$(grep -m 1 "<source file=" out/web1-kvm.xml)
case $first_src in
*"/out/web1-kvm-vda.raw'"*) ;;
*) cat out/web1-kvm.xml; fail "the first disk of the domain is not vda: $first_src" ;;
esac
expect_grep "<boot dev='hd'/>" out/web1-kvm.xml
grep -q "<boot order=" out/web1-kvm.xml && fail "a per-disk boot order where vda boots"

# A PV guest whose bootable VBD is not userdevice 0 (XenServer runs
# pygrub on the bootable one): that disk, vdb, is booted, not vda.
$MKXVA -o boot2.xva --name web2 --pv --bootloader pygrub \
    --disk "xvdb=size:1M,ref=Ref:9,bootable=1" \
    --disk "xvda=size:1M,ref=Ref:10,bootable=0" >/dev/null || fail "mkxva failed"
expect_exit 0 "$CONVOY" convert boot2.xva > boot2.xml
tr -d '\n' < boot2.xml | grep -q "<target dev='vdb' bus='virtio'/>[[:space:]]*<boot order='1'/>" ||
    { cat boot2.xml; fail "vdb, the bootable disk, does not have boot order 1"; }
grep -q "<boot dev=" boot2.xml && { cat boot2.xml; fail "<os><boot dev> beside a per-disk boot order"; }
if command -v virt-xml-validate >/dev/null; then
    virt-xml-validate boot2.xml domain >/dev/null || fail "boot2.xml does not validate"
fi
exit 0

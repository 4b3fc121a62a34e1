#!/bin/sh
# Per-VM conversion inputs from the manifest: cdroms maps a converted
# CD-ROM drive to an ISO on the KVM host (without it the Xen ISO path is
# dropped, never left dangling); boot_dir keeps a PV guest's direct-kernel
# boot with the kernel and initrd from that folder (without it the guest
# boots from its disk).  Changing either redoes only the domain steps.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
$MKXVA -o exports/web1.xva --name web1 --pv --bootloader "" --kernel /boot/vmlinuz-5.10-xen \
    --ramdisk /boot/initrd-5.10-xen --pv-args "root=/dev/xvda1 console=hvc0" \
    --disk "xvda=src/xvda.raw,ref=Ref:10" --disk "xvdb=size:4M,ref=Ref:9,pattern=7" \
    --cd "xvdd=iso:xs-tools.iso" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0" > /dev/null
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a1.log 2>&1 || { cat a1.log; exit 1; }
! grep -q '<kernel>' out/web1-kvm.xml || fail "a Xen host kernel path was kept"
! grep -q 'xs-tools.iso' out/web1-kvm.xml || fail "the Xen ISO path was kept"
grep -q "device='cdrom'" out/web1-kvm.xml || fail "the CD-ROM drive is gone"

mkdir -p kernels isos
: > kernels/vmlinuz-5.10-xen
: > kernels/initrd-5.10-xen
: > isos/debian-12.iso
sed -i "s|{name: web1, source: exports, rename: web1-kvm}|{name: web1, source: exports, rename: web1-kvm, boot_dir: kernels, cdroms: {sdd: isos/debian-12.iso}}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep '= done   disk-copy vda' plan.txt
expect_grep '! redo   domain-convert' plan.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a2.log 2>&1 || { cat a2.log; exit 1; }
expect_grep "<kernel>$d/kernels/vmlinuz-5.10-xen</kernel>" out/web1-kvm.xml
expect_grep "<initrd>$d/kernels/initrd-5.10-xen</initrd>" out/web1-kvm.xml
expect_grep "<cmdline>root=/dev/vda1 console=ttyS0</cmdline>" out/web1-kvm.xml
expect_grep "<source file='$d/isos/debian-12.iso'/>" out/web1-kvm.xml
if command -v virt-xml-validate > /dev/null; then
    virt-xml-validate out/web1-kvm.xml domain > /dev/null || fail "the domain does not validate"
fi
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# A drive that is not a CD-ROM of the converted domain blocks the VM.
sed -i "s|cdroms: {sdd: isos/debian-12.iso}|cdroms: {sdz: isos/debian-12.iso}|" manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
expect_grep "sdz" plan2.txt
sed -i "s|cdroms: {sdz: isos/debian-12.iso}|cdroms: {xyz: isos/debian-12.iso}|" manifest.yaml
expect_exit 3 "$CONVOY" validate manifest.yaml 2> v.err
expect_grep "'cdroms': expected a CD-ROM drive of the converted domain such as sdc or hdc, got 'xyz'" v.err
exit 0

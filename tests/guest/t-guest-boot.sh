#!/bin/sh
# t-guest-boot.sh partitioned|whole-disk|part-as-disk|lvm: the end-to-end proof of guest
# repair.  A real Debian 12 guest shaped like a Xen PV guest (pygrub,
# /dev/xvdaN, hvc0, an initrd with xen-blkfront only), packed as an XVA,
# goes through `convoy apply` to a libvirt pool with guest: {fixup: true}
# and start: true, and must reach the login prompt on its serial console
# under TCG.  The XVA stays byte for byte the same, and the plan after
# apply has nothing to do.
#   partitioned: MBR + ext4, no boot code: convoy installs the guest's own
#                GRUB (the boot sector holds code; no <kernel>)
#   whole-disk:  ext4 on the whole disk: convoy boots the guest's kernel
#                directly (<kernel>/<initrd> in the pool, root=/dev/vda)
#   part-as-disk: Xen's disk = ['…,xvda1,w', '…,xvda2,w']: ext4 on the
#                whole of "xvda1" (root=/dev/xvda1, fstab /dev/xvda1), swap
#                on the whole of "xvda2" (fstab /dev/xvda2), and the export
#                lists xvda2's VBD first: on KVM the disks are vda (root,
#                booted directly, root=/dev/vda) and vdb (the swap, fstab
#                /dev/vdb), in that order
#   lvm:         MBR: /boot (fstab LABEL=boot), swap by device (/dev/xvda2),
#                LVM root (root=/dev/mapper/xendemo-root): convoy installs
#                GRUB; fstab's swap line becomes /dev/vda2
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
. "$abs_top_srcdir/tests/guest/guest.sh"
set -e
variant=${1:?usage: t-guest-boot.sh partitioned|whole-disk|part-as-disk|lvm}
case $variant in
partitioned) rootdev=/dev/xvda1 ;;
whole-disk) rootdev=/dev/xvda ;;
part-as-disk) rootdev=/dev/xvda1 ;;
lvm) rootdev=/dev/mapper/xendemo-root ;;
*) echo "unknown variant '$variant'" >&2; exit 99 ;;
esac
tstart=$(date +%s)
requires sha256sum
requires debugfs
# Without a guest rule set nothing would repair the guest (the step
# only inspects it and handles the boot): the test has nothing to prove.
ls "$abs_top_srcdir"/rules/guest/*.yaml >/dev/null 2>&1 ||
    fail "rules/guest/ has no rule sets"
d=$(scratch)
debian_images "$d/img"
daemon_up
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
vm=convoy-t-boot-$variant-$$
cleanup_fn "domain_down '$vm'"
cd "$d"

mkdir exports
t0=$(date +%s)
case $variant in
part-as-disk)
    # The swap's VBD first: XenServer lists VBDs in no order.
    disks="--disk xvda2=$d/img/xvda2.raw,userdevice=1,bootable=0
           --disk xvda1=$d/img/xvda1.raw,userdevice=0,bootable=1" ;;
*) disks="--disk xvda=$d/img/$variant.raw" ;;
esac
# shellcheck disable=SC2086
# A uuid of its own: boot tests of other trees may share the libvirtd.
$MKXVA -o exports/deb12.xva --name deb12 --uuid "$(cat /proc/sys/kernel/random/uuid)" \
    --pv --bootloader pygrub \
    --pv-args "console=hvc0 root=$rootdev ro" --memory 1GiB --vcpus 1 \
    $disks >/dev/null || fail "mkxva failed"
echo "XVA packed in $(( $(date +%s) - t0 )) s: $(du -h --apparent-size exports/deb12.xva | cut -f1)"
sum_before=$(sha256sum exports/deb12.xva | cut -d' ' -f1)

cat > manifest.yaml <<EOT
version: 1
defaults:
  target: kvm
  disk_format: raw
  allocation: sparse
  start: true
  guest: {fixup: true}
sources:
  exports: {type: xva, path: exports}
targets:
  kvm:
    type: libvirt
    uri: "$LV_URI"
    domain_type: qemu
    pools: {default: $pool}
waves:
  - name: wave-1
    vms:
      - {name: deb12, source: exports, rename: $vm}
EOT

t0=$(date +%s)
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "apply failed"; }
t1=$(date +%s)
cat apply.txt
echo "apply took $((t1 - t0)) s"
expect_grep "deb12/guest-fixup: done" apply.txt
$VIRSH domstate "$vm" | grep -q running || fail "domain '$vm' is not running after apply"

# What the guest-fixup step did, as the domain and the disk show it
# (checked first: it tells more than a console that stays silent).
$VIRSH dumpxml --inactive "$vm" > domain.xml
pooldir=$($VIRSH pool-dumpxml "$pool" | sed -n 's|.*<path>\(.*\)</path>.*|\1|p' | head -n 1)
[ -n "$pooldir" ] || fail "no path for pool $pool"
# The first disk: a pool volume (type='volume') or a file.
src=$(grep -m 1 "<source \(file\|pool\)=" domain.xml) || { cat domain.xml; fail "no disk source in the domain"; }
case $src in
*"pool="*)
    dpool=$(echo "$src" | sed -n "s|.*pool='\([^']*\)'.*|\1|p")
    dvol=$(echo "$src" | sed -n "s|.*volume='\([^']*\)'.*|\1|p")
    [ "$dpool" = "$pool" ] || fail "the domain's disk is in pool '$dpool', not $pool"
    disk=$($VIRSH vol-path --pool "$dpool" "$dvol") || fail "no volume '$dvol' in pool $dpool" ;;
*) disk=$(echo "$src" | sed -n "s|.*file='\([^']*\)'.*|\1|p") ;;
esac
case $disk in
"$pooldir"/*) ;;
*) fail "the domain's disk '$disk' is not in the pool ($pooldir)" ;;
esac
# The disks in the domain, in order: vda first.
devs=$(sed -n "s|.*<target dev='\(vd[a-z]*\)'.*|\1|p" domain.xml | tr '\n' ' ')
case $variant in
part-as-disk) [ "$devs" = "vda vdb " ] || { cat domain.xml; fail "disks '$devs', expected 'vda vdb '"; } ;;
*) [ "$devs" = "vda " ] || { cat domain.xml; fail "disks '$devs', expected 'vda '"; } ;;
esac
# The repaired /etc/fstab (read from the disk with debugfs).
fstab_of() { # IMAGE [OFFSET_MIB]
    if [ -n "${2:-}" ]; then
        dd if="$1" of=fs.img bs=1M skip="$2" status=none
        set -- fs.img
    fi
    debugfs -R "cat /etc/fstab" "$1" 2>/dev/null
}
case $variant in
part-as-disk)
    fstab_of "$disk" > fstab
    cat fstab
    grep -q '^/dev/vdb[[:space:]]\+none[[:space:]]\+swap' fstab || fail "fstab's swap line is not /dev/vdb"
    grep -q '^UUID=[0-9a-f-]*[[:space:]]\+/[[:space:]]' fstab || fail "fstab's root line is not by UUID"
    if grep -q 'xvd' fstab; then fail "fstab still names a Xen disk"; fi ;;
lvm)
    # The root LV's filesystem: partition 3 at 385 MiB, extents from 1 MiB.
    fstab_of "$disk" 386 > fstab
    rm -f fs.img
    cat fstab
    grep -q '^/dev/vda2[[:space:]]\+none[[:space:]]\+swap' fstab || fail "fstab's swap line is not /dev/vda2"
    grep -q '^LABEL=boot[[:space:]]\+/boot[[:space:]]' fstab || fail "fstab's /boot line is not by LABEL any more"
    grep -q '^/dev/mapper/xendemo-root[[:space:]]\+/[[:space:]]' fstab || fail "fstab's root line changed"
    if grep -q 'xvd' fstab; then fail "fstab still names a Xen disk"; fi ;;
esac
if [ "$variant" = whole-disk ] || [ "$variant" = part-as-disk ]; then
    kernel=$(sed -n 's|.*<kernel>\(.*\)</kernel>.*|\1|p' domain.xml)
    initrd=$(sed -n 's|.*<initrd>\(.*\)</initrd>.*|\1|p' domain.xml)
    cmdline=$(sed -n 's|.*<cmdline>\(.*\)</cmdline>.*|\1|p' domain.xml)
    case $kernel in "$pooldir"/*) ;; *) fail "<kernel> '$kernel' is not in the pool ($pooldir)" ;; esac
    case $initrd in "$pooldir"/*) ;; *) fail "<initrd> '$initrd' is not in the pool ($pooldir)" ;; esac
    [ -s "$kernel" ] && [ -s "$initrd" ] || fail "the kernel or initrd file is missing"
    $VIRSH pool-refresh "$pool" >/dev/null
    vols=$($VIRSH vol-list "$pool" | awk '{print $2}')
    for f in "$kernel" "$initrd"; do
        echo "$vols" | grep -qxF "$f" || fail "'$f' is not a volume of pool $pool"
    done
    echo " $cmdline " | grep -q " root=/dev/vda " || fail "cmdline '$cmdline' lacks root=/dev/vda"
    echo " $cmdline " | grep -q " console=ttyS0 " || fail "cmdline '$cmdline' lacks console=ttyS0"
else
    grep -q "<kernel>" domain.xml && { cat domain.xml; fail "a partitioned guest got a direct kernel boot"; }
    code=$(head -c 440 "$disk" | od -An -tx1 -v | tr -d ' \n' | tr -d 0)
    [ -n "$code" ] || fail "the boot sector of '$disk' still holds no code"
    head -c 440 "$disk" | grep -a -q GRUB || fail "the boot sector of '$disk' holds no GRUB boot code"
fi

# What it is all for: the guest boots on KVM to its login prompt.
echo "the domain boots by:"
grep -E "<(boot|kernel|initrd|cmdline|video|graphics)[ >/]" domain.xml || true
wait_login "$vm" console.log
t2=$(date +%s)
echo "$variant: login prompt $((t2 - t1)) s after apply returned ($((t2 - t0)) s after apply started)"
expect_grep "xen-demo login:" console.log

# The source is never written.
[ "$(sha256sum exports/deb12.xva | cut -d' ' -f1)" = "$sum_before" ] ||
    fail "the XVA changed during apply"

# Idempotent: nothing left to do.
expect_exit 0 "$CONVOY" plan manifest.yaml > plan.txt
echo "$variant: the whole case took $(( $(date +%s) - tstart )) s"
exit 0

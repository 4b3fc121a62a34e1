#!/bin/sh
# t-guest-boot.sh partitioned|whole-disk: the end-to-end proof of guest
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
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
. "$abs_top_srcdir/tests/guest/guest.sh"
set -e
variant=${1:?usage: t-guest-boot.sh partitioned|whole-disk}
case $variant in
partitioned) rootdev=/dev/xvda1 ;;
whole-disk) rootdev=/dev/xvda ;;
*) echo "unknown variant '$variant'" >&2; exit 99 ;;
esac
requires sha256sum
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
$MKXVA -o exports/deb12.xva --name deb12 --pv --bootloader pygrub \
    --pv-args "console=hvc0 root=$rootdev ro" --memory 1GiB --vcpus 1 \
    --disk "xvda=$d/img/$variant.raw" >/dev/null || fail "mkxva failed"
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
if [ "$variant" = whole-disk ]; then
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
exit 0

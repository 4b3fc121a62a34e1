#!/bin/sh
# Golden tests of the initrd decision (issue #24) on the debian-12 family
# image, with a real initrd made here: convoy reads its cpio parts in the
# image and rebuilds it only when it lacks a driver the converted domain
# needs (virtio disks and NICs by default) or was built for Xen only.
#   debian-12-initrd-virtio: an early-microcode cpio + a zstd cpio holding
#     virtio_blk, virtio_pci and virtio_net, ext4 built into the kernel
#     (modules.builtin): "no rebuild", update-initramfs never runs, the
#     initrd stays byte for byte the same.
#   debian-12-initrd-xen: a gzip cpio holding only xen-blkfront (and
#     ext4): "built for Xen only", rebuilt with update-initramfs -u -k.
# Each is fixed up twice (the second run changes nothing) and compared
# with tests/guest/golden/NAME/, as t-guest-families does.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/guest/guest-lib.sh"
set -e
guest_requires
requires cpio
requires zstd
requires gzip
d=$(scratch)
KVER=6.1.0-13-amd64
expect_no_grep() {
    ! grep -q -- "$1" "$2" || { grep -- "$1" "$2" >&2; fail "'$1' found in $2"; }
}

# stamp: give every file below . one fixed time, so that the cpio made
# of them (and the golden copies of it) is the same on every run.
stamp() {
    find . -exec touch -h -d @1700000000 {} +
}

# initrd OUT COMPRESS EARLY MODULE…: a newc cpio of usr/lib/modules/KVER/
# kernel/MODULE.ko files compressed by COMPRESS, after an uncompressed
# early-microcode cpio when EARLY is "early".
initrd() {
    _out=$1 _z=$2 _early=$3; shift 3
    _t=$d/tree.$$
    rm -rf "$_t" && mkdir -p "$_t/early/kernel/x86/microcode" "$_t/main"
    : > "$_out"
    if [ "$_early" = early ]; then
        echo microcode > "$_t/early/kernel/x86/microcode/GenuineIntel.bin"
        (cd "$_t/early" && stamp && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) >> "$_out"
    fi
    for m in "$@"; do
        mkdir -p "$_t/main/usr/lib/modules/$KVER/kernel/$(dirname "$m")"
        echo "module $m" > "$_t/main/usr/lib/modules/$KVER/kernel/$m.ko"
    done
    echo init > "$_t/main/init"
    (cd "$_t/main" && stamp && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) | $_z >> "$_out"
    rm -rf "$_t"
}

initrd "$d/virtio.img" "zstd -q -c" early drivers/block/virtio_blk drivers/virtio/virtio_pci \
    drivers/net/virtio_net drivers/block/xen-blkfront
initrd "$d/xen.img" "gzip -n -c" no drivers/block/xen-blkfront fs/ext4/ext4
printf 'kernel/fs/ext4/ext4.ko\nkernel/fs/mbcache.ko\n' > "$d/modules.builtin"

prep_virtio() {
    put_file "$1" "$d/virtio.img" /boot/initrd.img-$KVER
    put_file "$1" "$d/modules.builtin" /lib/modules/$KVER/modules.builtin
}
prep_xen() {
    put_file "$1" "$d/xen.img" /boot/initrd.img-$KVER
}

run_family debian-12 "$d/virtio" prep_virtio debian-12-initrd-virtio
expect_grep "^initrd: /boot/initrd.img-$KVER (plain cpio + zstd cpio) has virtio_blk, virtio_pci, virtio_net, ext4 (built in): no rebuild$" "$d/virtio/changes"
expect_no_grep "initrd-rebuild" "$d/virtio/changes"
cmp "$d/virtio.img" "$d/virtio/root/boot/initrd.img-$KVER" || fail "the initrd with virtio drivers changed"
[ ! -e "$d/virtio/root/boot/initrd.img-$KVER.convoy-orig" ] || fail "an initrd was kept as rebuilt"
expect_no_grep "update-initramfs" "$d/virtio/root/var/log/convoy-fake-tools.log"

run_family debian-12 "$d/xen" prep_xen debian-12-initrd-xen
expect_grep "^initrd: /boot/initrd.img-$KVER (gzip cpio) lacks virtio_blk, virtio_pci, virtio_net and is built for Xen only (xen_blkfront): rebuild$" "$d/xen/changes"
expect_grep "initrd-rebuild: ran # update-initramfs -u -k $KVER" "$d/xen/changes"
expect_grep "update-initramfs -u -k $KVER" "$d/xen/root/var/log/convoy-fake-tools.log"
cmp "$d/xen.img" "$d/xen/root/boot/initrd.img-$KVER.convoy-orig" || fail "the Xen initrd was not kept"
# The second run reads the rebuilt (fake) initrd, cannot list it, and
# still does nothing: the rebuild left its .convoy-orig.
expect_grep "^0 changes$" "$d/xen/changes-2"
echo "ok"

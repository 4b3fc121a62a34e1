#!/bin/sh
# mkdebian.sh OUT_DIR: a real minimal Debian 12 guest, shaped like a Xen
# PV guest booted by pygrub, as two raw disk images:
#   OUT_DIR/partitioned.raw  MBR, one ext4 partition, no boot code
#   OUT_DIR/whole-disk.raw   ext4 on the whole disk, no partition table
#   OUT_DIR/xvda1.raw, OUT_DIR/xvda2.raw
#                            a partition as a whole disk, as Xen's
#                            disk = ['…,xvda1,w', '…,xvda2,w'] gives it:
#                            ext4 on the whole of xvda1.raw (the guest
#                            says root=/dev/xvda1, fstab /dev/xvda1) and
#                            swap on the whole of xvda2.raw (fstab
#                            /dev/xvda2)
#   OUT_DIR/lvm.raw          MBR: 1 ext4 /boot (fstab LABEL=boot), 2 swap
#                            (fstab /dev/xvda2), 3 an LVM PV whose VG
#                            xendemo has the ext4 root LV (root=
#                            /dev/mapper/xendemo-root); no boot code
#   OUT_DIR/info             KERNEL=VERSION, the guest's kernel
#   OUT_DIR/vmlinuz, OUT_DIR/initrd-kvm
#                            that kernel and an initrd with virtio drivers,
#                            to boot whole-disk.raw by hand (harness check)
# The guest: debootstrap (minbase) + systemd-sysv, udev, linux-image-amd64,
# grub-pc-bin and grub2-common (grub-install exists, nothing is in a boot
# sector), lvm2; /etc/fstab names /dev/xvdaN, grub.cfg (pygrub style) and
# /etc/default/grub say console=hvc0 root=/dev/xvdaN, a getty on hvc0,
# and an initramfs (MODULES=list) holding xen-blkfront but no virtio.
#
# The mirror comes from this machine's apt sources at run time (one-line
# .list files and deb822 .sources); none is written here.  Exit 77 when
# no source answers.  Needs root (debootstrap, chroot).
#
# Cache: $CONVOY_TEST_CACHE (default $HOME/.cache/convoy-tests) keeps the
# debootstrap result, keyed by a digest of the debootstrap arguments, and
# the images, keyed by a digest of this script; OUT_DIR gets hard links
# to them (copies when on another filesystem).  Treat them as read-only.
set -eu
export LC_ALL=C TZ=UTC PATH="$PATH:/usr/sbin:/sbin"
out=${1:?usage: mkdebian.sh OUT_DIR}

SUITE=bookworm
INCLUDE=systemd-sysv,udev,kmod,e2fsprogs,linux-image-amd64,initramfs-tools,grub-pc-bin,grub2-common,lvm2
DEBOOTSTRAP_ARGS="--variant=minbase --arch=amd64 --include=$INCLUDE $SUITE"
SIZE=1536M
HOSTNAME=xen-demo

die() { echo "mkdebian: $*" >&2; exit 1; }
skip() { echo "mkdebian: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot)"
for t in debootstrap mkfs.ext4 mkswap sfdisk chroot sha256sum flock losetup lvm; do
    command -v $t >/dev/null 2>&1 || skip "'$t' is not installed"
done

cache=${CONVOY_TEST_CACHE:-$HOME/.cache/convoy-tests}
mkdir -p "$cache" "$out"
rootkey=$(printf '%s\n' "rootfs-1 $DEBOOTSTRAP_ARGS" | sha256sum | cut -c1-16)
imgkey=$(sha256sum "$0" | cut -c1-16)
rootfs=$cache/debian-$SUITE-rootfs-$rootkey
imgdir=$cache/debian-$SUITE-images-$imgkey

# One builder at a time; the others wait and then find the cache.
exec 9>"$cache/.mkdebian.lock"
flock 9

# The Debian mirrors this machine's apt uses for the main suite: URIs of
# deb822 stanzas whose Suites name it, and 'deb URL SUITE' lines.
mirrors() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
            awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2 }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v s="$SUITE" '
            function flush() {
                if (uris != "" && types ~ /(^| )deb( |$)/ && enabled != "no" &&
                    (" " suites " ") ~ (" " s " "))
                    print uris
                uris = types = suites = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "uris:"    { $1 = ""; uris = $0 }
            tolower($1) == "types:"   { $1 = ""; types = $0 " " }
            tolower($1) == "suites:"  { $1 = ""; suites = $0 }
            tolower($1) == "enabled:" { enabled = tolower($2) }
            END { flush() }' "$f" | tr ' ' '\n'
    done | grep -E '^(https?|file)://' | awk '!seen[$0]++'
}

# The first mirror whose Release file for the suite answers.
pick_mirror() {
    for m in $(mirrors); do
        m=${m%/}
        case $m in
        file://*) [ -f "${m#file://}/dists/$SUITE/Release" ] && { echo "$m"; return 0; } ;;
        *)
            if command -v curl >/dev/null 2>&1; then
                curl -fsS -m 15 -o /dev/null "$m/dists/$SUITE/Release" 2>/dev/null &&
                    { echo "$m"; return 0; }
            else
                wget -q -T 15 -O /dev/null "$m/dists/$SUITE/Release" 2>/dev/null &&
                    { echo "$m"; return 0; }
            fi ;;
        esac
    done
    return 1
}

now() { date +%s; }

build_rootfs() {
    mirror=$(pick_mirror) ||
        skip "no Debian mirror for '$SUITE' in this machine's apt sources answers (tried: $(mirrors | tr '\n' ' '))"
    echo "mkdebian: debootstrap $SUITE from the apt sources' mirror (once; cached in $rootfs)" >&2
    t0=$(now)
    tmp=$rootfs.tmp
    rm -rf "$tmp"
    # shellcheck disable=SC2086
    debootstrap $DEBOOTSTRAP_ARGS "$tmp" "$mirror" > "$cache/debootstrap.log" 2>&1 || {
        tail -n 30 "$cache/debootstrap.log" >&2
        rm -rf "$tmp"
        die "debootstrap failed (log: $cache/debootstrap.log)"
    }
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
    mv "$tmp" "$rootfs"
    echo "mkdebian: debootstrap took $(( $(now) - t0 )) s" >&2
}

# shape ROOT ROOTDEV [KPATH [FSTAB_EXTRA]]: make the tree look like a Xen
# PV guest's.  KPATH: where grub.cfg finds the kernel (/boot, or "" when
# /boot is a filesystem of its own); FSTAB_EXTRA: more /etc/fstab lines.
shape() {
    r=$1 dev=$2 kpath=${3-/boot} extra=${4:-}
    kver=$(ls "$r/lib/modules" | sort -V | tail -n 1)
    [ -n "$kver" ] && [ -f "$r/boot/vmlinuz-$kver" ] || die "no kernel in the debootstrap result"
    echo "$HOSTNAME" > "$r/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$HOSTNAME" > "$r/etc/hosts"
    cat > "$r/etc/fstab" <<EOT
# /etc/fstab of a Xen PV guest
$dev  /      ext4  defaults,errors=remount-ro  0  1
proc       /proc  proc  defaults                    0  0
EOT
    [ -z "$extra" ] || printf '%s\n' "$extra" >> "$r/etc/fstab"
    mkdir -p "$r/boot/grub"
    cat > "$r/etc/default/grub" <<EOT
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=hvc0 root=$dev"
EOT
    # What pygrub reads on Xen (grub 2 syntax, as update-grub writes it).
    cat > "$r/boot/grub/grub.cfg" <<EOT
set default=0
set timeout=1
menuentry 'Debian GNU/Linux, with Linux $kver' {
	insmod ext2
	linux $kpath/vmlinuz-$kver root=$dev ro console=hvc0
	initrd $kpath/initrd.img-$kver
}
EOT
    # A getty on the Xen console.
    mkdir -p "$r/etc/systemd/system/getty.target.wants"
    ln -sf /lib/systemd/system/serial-getty@.service \
        "$r/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service"
    # An initramfs of a Xen PV guest: its block and net drivers, no virtio.
    sed -i 's/^MODULES=.*/MODULES=list/' "$r/etc/initramfs-tools/initramfs.conf"
    printf '# Xen PV drivers\nxen-blkfront\nxen-netfront\next4\n' \
        >> "$r/etc/initramfs-tools/modules"
    in_chroot "$r" update-initramfs -u -k "$kver" >/dev/null
    echo "$kver"
}

# in_chroot ROOT CMD…: run CMD in ROOT with /proc, /sys and /dev, in a
# private mount namespace so nothing stays mounted.
in_chroot() {
    _r=$1; shift
    unshare -m --propagation private sh -c '
        r=$1; shift
        mount -t proc proc "$r/proc" && mount -t sysfs sys "$r/sys" &&
        mount --bind /dev "$r/dev" && exec chroot "$r" "$@"' sh "$_r" "$@"
}

# build_xvda1 DIR: DIR/xvda1.raw (ext4 root on the whole disk, named as
# partition 1) and DIR/xvda2.raw (swap on the whole disk, named as
# partition 2).
build_xvda1() {
    tree=$1/root
    rm -rf "$tree"
    cp -a "$rootfs" "$tree"
    shape "$tree" /dev/xvda1 /boot "/dev/xvda2  none   swap  sw                          0  0" >/dev/null
    rm -rf "$tree/tmp/"* "$tree/var/tmp/"*
    truncate -s $SIZE "$1/xvda1.raw"
    mkfs.ext4 -q -F -L root -d "$tree" "$1/xvda1.raw"
    rm -rf "$tree"
    truncate -s 64M "$1/xvda2.raw"
    mkswap "$1/xvda2.raw" >/dev/null 2>&1 || die "mkswap failed"
}

# LVM without device-mapper (none in a container): the PV, VG and LV are
# written as metadata only (--driverloaded n), and the root filesystem
# goes to the LV's extents, which lie one after the other from pe_start.
LVM_CONFIG="backup { backup = 0 archive = 0 } devices { use_devicesfile = 0 }"
export LVM_SUPPRESS_FD_WARNINGS=1
lvm_nodm() {
    _c=$1; shift
    lvm "$_c" --driverloaded n --config "$LVM_CONFIG" "$@" >/dev/null 2>"$cache/lvm.log" || {
        cat "$cache/lvm.log" >&2
        return 1
    }
}

# build_lvm DIR: DIR/lvm.raw, see the header.
build_lvm() {
    tree=$1/root bt=$1/bootfs img=$1/lvm.raw
    rm -rf "$tree" "$bt"
    cp -a "$rootfs" "$tree"
    shape "$tree" /dev/mapper/xendemo-root "" "LABEL=boot  /boot  ext4  defaults                    0  2
/dev/xvda2  none   swap  sw                          0  0" >/dev/null
    rm -rf "$tree/tmp/"* "$tree/var/tmp/"*
    mkdir "$bt"
    mv "$tree"/boot/* "$bt"/
    truncate -s $SIZE "$img"
    # 1: /boot, 256 MiB at 1 MiB; 2: swap, 128 MiB; 3: LVM, the rest.
    printf 'label: dos\nstart=2048, size=524288, type=83, bootable\nstart=526336, size=262144, type=82\nstart=788480, type=8e\n' |
        sfdisk -q "$img" >/dev/null
    dd if=/dev/zero of="$img" bs=440 count=1 conv=notrunc status=none
    part=$1/part.img
    rm -f "$part"; truncate -s 256M "$part"
    mkfs.ext4 -q -F -L boot -d "$bt" "$part"
    dd if="$part" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
    rm -f "$part"; truncate -s 128M "$part"
    mkswap "$part" >/dev/null 2>&1 || die "mkswap failed"
    dd if="$part" of="$img" bs=1M seek=257 conv=notrunc,sparse status=none
    rm -f "$part"
    off=$((788480 * 512))
    loop=$(losetup -f --show -o $off "$img") || die "losetup failed"
    lvm_nodm pvcreate -y -Zy "$loop" && lvm_nodm vgcreate xendemo "$loop" &&
        lvm_nodm lvcreate -an -Zn -Wn -n root -l 100%FREE xendemo || {
        losetup -d "$loop"
        die "cannot write the LVM metadata of $img"
    }
    pe_start=$(lvm pvs --driverloaded n --config "$LVM_CONFIG" --noheadings --units b --nosuffix -o pe_start "$loop" 2>/dev/null | tr -d ' ')
    lv_size=$(lvm lvs --driverloaded n --config "$LVM_CONFIG" --noheadings --units b --nosuffix -o lv_size xendemo/root 2>/dev/null | tr -d ' ')
    losetup -d "$loop"
    [ -n "$pe_start" ] && [ -n "$lv_size" ] || die "cannot read the LVM layout of $img"
    truncate -s "$lv_size" "$part"
    mkfs.ext4 -q -F -L root -d "$tree" "$part"
    dd if="$part" of="$img" bs=1M seek=$(( (off + pe_start) / 1048576 )) conv=notrunc,sparse status=none
    rm -rf "$part" "$tree" "$bt"
}

build_images() {
    t0=$(now)
    tmp=$imgdir.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp"
    for variant in partitioned whole-disk; do
        tree=$tmp/root
        rm -rf "$tree"
        cp -a "$rootfs" "$tree"
        if [ $variant = partitioned ]; then dev=/dev/xvda1; else dev=/dev/xvda; fi
        kver=$(shape "$tree" $dev)
        if [ $variant = whole-disk ]; then
            # The harness check's hand-made boot: same kernel, an initrd
            # with virtio (MODULES=most), outside the guest image.
            cp "$tree/boot/vmlinuz-$kver" "$tmp/vmlinuz"
            sed -i 's/^MODULES=.*/MODULES=most/' "$tree/etc/initramfs-tools/initramfs.conf"
            in_chroot "$tree" mkinitramfs -o /tmp/initrd-kvm "$kver" >/dev/null
            mv "$tree/tmp/initrd-kvm" "$tmp/initrd-kvm"
            sed -i 's/^MODULES=.*/MODULES=list/' "$tree/etc/initramfs-tools/initramfs.conf"
        fi
        rm -rf "$tree/tmp/"* "$tree/var/tmp/"*
        img=$tmp/$variant.raw
        truncate -s $SIZE "$img"
        if [ $variant = partitioned ]; then
            printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$img" >/dev/null
            # No boot loader: the code area of the MBR stays zero.
            dd if=/dev/zero of="$img" bs=440 count=1 conv=notrunc status=none
            part=$tmp/part.img
            truncate -s $(( $(stat -c %s "$img") - 1048576 )) "$part"
            mkfs.ext4 -q -F -L root -d "$tree" "$part"
            dd if="$part" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
            rm -f "$part"
        else
            mkfs.ext4 -q -F -L root -d "$tree" "$img"
        fi
        rm -rf "$tree"
    done
    build_xvda1 "$tmp"
    build_lvm "$tmp"
    echo "KERNEL=$kver" > "$tmp/info"
    rm -rf "$imgdir"
    mv "$tmp" "$imgdir"
    # Older image sets of other script versions.
    for old in "$cache"/debian-$SUITE-images-*; do
        [ "$old" = "$imgdir" ] || rm -rf "$old"
    done
    echo "mkdebian: images took $(( $(now) - t0 )) s" >&2
}

[ -d "$rootfs" ] || build_rootfs
[ -f "$imgdir/info" ] || build_images
for f in partitioned.raw whole-disk.raw xvda1.raw xvda2.raw lvm.raw info vmlinuz initrd-kvm; do
    rm -f "$out/$f"
    ln "$imgdir/$f" "$out/$f" 2>/dev/null || cp --sparse=always "$imgdir/$f" "$out/$f"
done

#!/bin/sh
# mkguest.sh OUT.raw [SIZE_MIB] [--whole-disk]
# Build a small Xen-PV-style guest disk image without root: an MBR
# partition table with one Linux partition holding an ext4 filesystem
# whose /etc/fstab, /boot/grub/menu.lst and /etc/inittab name /dev/xvda1
# and hvc0, as a guest booted by pygrub on Xen has them.  With
# --whole-disk the filesystem covers the whole disk (no partition table).
set -eu
out=$1
size_mib=${2:-64}
whole=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

root=$tmp/root
mkdir -p "$root/etc" "$root/boot/grub" "$root/var/log" "$root/home/demo"
if [ "$whole" = "--whole-disk" ]; then rootdev=/dev/xvda; else rootdev=/dev/xvda1; fi
cat > "$root/etc/fstab" <<EOT
# /etc/fstab of a Xen PV guest
$rootdev   /         ext4    defaults,errors=remount-ro  0  1
/dev/xvdb  /srv      ext4    defaults,nofail             0  2
proc       /proc     proc    defaults                    0  0
EOT
cat > "$root/etc/os-release" <<'EOT'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
EOT
echo "xen-demo" > "$root/etc/hostname"
cat > "$root/boot/grub/menu.lst" <<EOT
default 0
timeout 2
title Debian GNU/Linux (Xen PV)
  root (hd0,0)
  kernel /boot/vmlinuz root=$rootdev ro console=hvc0
  initrd /boot/initrd.img
EOT
cat > "$root/etc/inittab" <<'EOT'
id:2:initdefault:
co:2345:respawn:/sbin/getty hvc0 9600 linux
EOT
# Some non-zero data spread over the filesystem so the disk has both data
# and zero regions.
i=0
while [ $i -lt 8 ]; do
    head -c $((256 * 1024)) /dev/urandom > "$root/var/log/blob$i"
    i=$((i + 1))
done

if [ "$whole" = "--whole-disk" ]; then
    rm -f "$out"
    truncate -s "${size_mib}M" "$out"
    mkfs.ext4 -q -F -L root -d "$root" "$out" >/dev/null
    exit 0
fi

part_mib=$((size_mib - 1))
rm -f "$out"
truncate -s "${size_mib}M" "$out"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$out" >/dev/null
truncate -s "${part_mib}M" "$tmp/part.img"
mkfs.ext4 -q -F -L root -d "$root" "$tmp/part.img" >/dev/null
dd if="$tmp/part.img" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none

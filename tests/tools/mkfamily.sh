#!/bin/sh
# mkfamily.sh FAMILY OUT.img
# Build a small Xen-style Linux guest disk for the guest rule tests: an MBR
# disk with a root ext4 partition (/dev/xvda1 in the guest) and a swap
# partition (/dev/xvda2), whose files name Xen devices, Xen consoles and
# Xen initrd modules as guests booted by pygrub on Xen have them.
#
# FAMILY: debian-12 ubuntu-22.04 centos-7 rhel-8 sles-12 sles-11 (only a
# Xen kernel), noos (a filesystem, no OS), luks (LUKS-encrypted root).
#
# Each image holds Debian's busybox-static and its applets (and dash as
# /bin/sh, see base() below), and
# the fake guest tools of tests/tools/fake-guest-tools (test doubles of
# update-initramfs, dracut, mkinitrd, grub-install, grub-mkconfig, dpkg,
# apt-get, rpm), so command and remove-packages rules really run in the
# libguestfs appliance.  Filesystem UUIDs are fixed, so golden files can
# name them.
#
# Built images are cached under $CONVOY_TEST_CACHE (default
# ~/.cache/convoy-tests), keyed by the digest of this script, the fake
# tools, the busybox binary and FAMILY; OUT.img is a sparse copy.  Building
# needs no appliance (mkfs.ext4 -d), except luks (guestfish, ~20 s, once).
set -eu
family=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
fakes=$here/fake-guest-tools
busybox=${CONVOY_TEST_BUSYBOX:-/bin/busybox}
PATH=$PATH:/sbin:/usr/sbin
export LC_ALL=C

case $family in
    debian-12|ubuntu-22.04|centos-7|rhel-8|sles-12|sles-11|noos|luks) ;;
    *) echo "mkfamily.sh: unknown family '$family'" >&2; exit 2 ;;
esac
[ -x "$busybox" ] || { echo "mkfamily.sh: $busybox missing (install busybox-static)" >&2; exit 77; }
ldd "$busybox" 2>&1 | grep -q 'not a dynamic' ||
    { echo "mkfamily.sh: $busybox is not static (install busybox-static)" >&2; exit 77; }

cache=${CONVOY_TEST_CACHE:-${HOME:-/tmp}/.cache/convoy-tests}
key=$( { cat "$0"; cat "$fakes"/*; cat "$busybox" /bin/dash /lib/x86_64-linux-gnu/libc.so.6 | sha256sum; echo "$family"; } |
       sha256sum | cut -c1-16)
cached=$cache/family-$family-$key.img
if [ -f "$cached" ]; then
    cp --sparse=always "$cached" "$out"
    exit 0
fi
mkdir -p "$cache"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

# --- helpers ------------------------------------------------------------
# put PATH: write stdin to $root/PATH (parents made).
put() {
    mkdir -p "$(dirname "$root$1")"
    rm -f "$root$1"
    cat > "$root$1"
}
# base MERGED: the directory skeleton, busybox and its applets.  MERGED=yes
# makes /bin, /sbin and /lib symlinks into /usr, as in Debian 12, Ubuntu
# 22.04 and RHEL 7+.
base() {
    mkdir -p "$root"
    for d in etc boot dev proc sys run tmp root var/log var/lib var/tmp \
             usr/bin usr/sbin usr/lib srv home; do
        mkdir -p "$root/$d"
    done
    if [ "$1" = yes ]; then
        ln -s usr/bin "$root/bin"
        ln -s usr/sbin "$root/sbin"
        ln -s usr/lib "$root/lib"
        ln -s usr/lib "$root/lib64"
    else
        mkdir -p "$root/bin" "$root/sbin" "$root/lib" "$root/lib64"
    fi
    cp "$busybox" "$root/bin/busybox"
    # /bin/sh is the host's dash (with its C library), not busybox: this
    # busybox runs its own applets before PATH (FEATURE_SH_STANDALONE), so
    # "rpm" and "dpkg" in a busybox shell would never reach the fakes.
    mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
    cp -L /lib/x86_64-linux-gnu/libc.so.6 "$root/lib/x86_64-linux-gnu/libc.so.6"
    cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
    cp /bin/dash "$root/bin/dash"
    ln -s dash "$root/bin/sh"
    for a in $("$busybox" --list-full); do
        case ${a##*/} in
            busybox|sh|init|linuxrc|dpkg|dpkg-deb|rpm|rpm2cpio) continue ;;
            # busybox timeout leaves its watcher process in the guest for up
            # to a second after the command: the unmount then fails busy.
            timeout) continue ;;
        esac
        [ -e "$root/$a" ] || [ -L "$root/$a" ] || ln -s /bin/busybox "$root/$a"
    done
    echo "xen-guest" | put /etc/hostname
    printf '127.0.0.1\tlocalhost\n' | put /etc/hosts
    mkdir -p "$root/usr/lib/convoy-fake-tools"
    cp "$fakes/common.sh" "$root/usr/lib/convoy-fake-tools/common.sh"
}
# fake TOOL PATH…: install the fake tool TOOL under each PATH.
fake() {
    t=$1; shift
    for p in "$@"; do
        mkdir -p "$(dirname "$root$p")"
        rm -f "$root$p"
        cp "$fakes/$t" "$root$p"
        chmod 0755 "$root$p"
    done
}
# kernel VERSION INITRD: a fake kernel, its initrd and modules directory.
kernel() {
    echo "fake Linux kernel $1" | put "/boot/vmlinuz-$1"
    echo "fake initrd $1 (built on Xen)" | put "$2"
    mkdir -p "$root/lib/modules/$1/kernel/drivers/block"
    : > "$root/lib/modules/$1/modules.dep"
    for m in virtio_blk xen-blkfront; do
        : > "$root/lib/modules/$1/kernel/drivers/block/$m.ko"
    done
}
# systemd UNITDIR CONSOLE: systemd as init, a serial getty enabled on the
# Xen console CONSOLE.
systemd() {
    sd=$(dirname "$1")/systemd
    echo "fake systemd" | put "$sd"
    printf '[Unit]\nDescription=Serial Getty on %%I\n' | put "$1/serial-getty@.service"
    printf '[Unit]\nDescription=Getty on %%I\n' | put "$1/getty@.service"
    mkdir -p "$root/etc/systemd/system/getty.target.wants"
    ln -s "$1/serial-getty@.service" \
        "$root/etc/systemd/system/getty.target.wants/serial-getty@$2.service"
    ln -s "$1/getty@.service" "$root/etc/systemd/system/getty.target.wants/getty@tty1.service"
    rm -f "$root/sbin/init"
    ln -s "$sd" "$root/sbin/init"
}
# dpkg_status PKG…: a dpkg database with these packages installed.
dpkg_status() {
    mkdir -p "$root/var/lib/dpkg/info"
    for p in "$@"; do
        printf 'Package: %s\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n' "$p"
    done | put /var/lib/dpkg/status
}
# rpm_db "NAME VERSION"…: the rpm test double's database.
rpm_db() {
    for p in "$@"; do echo "$p"; done | put /var/lib/convoy-fake-rpm/packages
}
# owns DB PKG FILE…: FILE… belong to PKG (deleted when it is removed).
owns() {
    db=$1 pkg=$2; shift 2
    for f in "$@"; do
        echo "fake $pkg file" | put "$f"
        echo "$f"
    done > "$tmp/owns"
    if [ "$db" = dpkg ]; then
        put "/var/lib/dpkg/info/$pkg.list" < "$tmp/owns"
    else
        put "/var/lib/convoy-fake-rpm/$pkg.files" < "$tmp/owns"
    fi
}
securetty() {
    printf 'console\ntty1\ntty2\n' > "$tmp/st"
    for c in "$@"; do echo "$c" >> "$tmp/st"; done
    put /etc/securetty < "$tmp/st"
}

# fstab ROOTDEV [EXTRA_LINE…]
fstab() {
    {
        echo "# /etc/fstab of a Xen guest"
        printf '%-12s %-6s %-5s %-20s %s\n' "$1" / ext4 defaults,errors=remount-ro "0 1"
        printf '%-12s %-6s %-5s %-20s %s\n' /dev/xvda2 none swap sw "0 0"
        shift
        for l in "$@"; do echo "$l"; done
        printf '%-12s %-6s %-5s %-20s %s\n' proc /proc proc defaults "0 0"
    } | put /etc/fstab
}

# grub2_cfg PATH VERSION:INITRD… : a grub.cfg as grub-mkconfig wrote it on
# the Xen guest (pygrub reads it), entries in the order given.
grub2_cfg() {
    p=$1; shift
    {
        echo "# grub.cfg written by grub-mkconfig on Xen"
        echo 'set default="0"'
        echo 'set timeout=5'
        for e in "$@"; do
            v=${e%%:*} i=${e#*:}
            echo "menuentry 'Linux $v' --class gnu-linux \$menuentry_id_option 'gnulinux-$v-advanced-$uuid' {"
            echo "	insmod ext2"
            echo "	set root='hd0,msdos1'"
            echo "	linux	/boot/vmlinuz-$v root=/dev/xvda1 ro $cmdline"
            echo "	initrd	$i"
            echo "}"
        done
    } | put "$p"
}

# default_grub CMDLINE_LINUX CMDLINE_LINUX_DEFAULT [GRUB_DEFAULT]
default_grub() {
    {
        echo "GRUB_DEFAULT=${3:-0}"
        echo "GRUB_TIMEOUT=5"
        echo 'GRUB_DISTRIBUTOR="Linux"'
        echo "GRUB_CMDLINE_LINUX_DEFAULT=\"$2\""
        echo "GRUB_CMDLINE_LINUX=\"$1\""
        echo "GRUB_TERMINAL=console"
    } | put /etc/default/grub
}

# --- families ---------------------------------------------------------
uuid=
label=root
case $family in
debian-12|ubuntu-22.04)
    if [ "$family" = debian-12 ]; then
        uuid=0d1e0b1a-0012-4c0e-9a1e-000000000012
        kver=6.1.0-13-amd64
    else
        uuid=0b0a7a22-0422-4c0e-9a1e-000000002204
        kver=5.15.0-91-generic
    fi
    base yes
    if [ "$family" = debian-12 ]; then
        printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n' | put /etc/os-release
        echo 12.4 | put /etc/debian_version
        fstab /dev/xvda1 \
            "$(printf '%-12s %-6s %-5s %-20s %s' /dev/xvdb1 /srv ext4 defaults,nofail "0 2")"
        printf '# <target name> <source device> <key file> <options>\nsrv_crypt  /dev/xvdb2  none  luks,discard\n' | put /etc/crypttab
        cmdline="console=hvc0 quiet resume=/dev/xvda2"
        default_grub "console=hvc0" "quiet resume=/dev/xvda2"
        dpkg_status base-files xe-guest-utilities xenstore-utils linux-image-$kver
        owns dpkg xe-guest-utilities /usr/sbin/xe-daemon /usr/sbin/xe-linux-distribution
        owns dpkg xenstore-utils /usr/bin/xenstore-read /usr/bin/xenstore-write
    else
        printf 'PRETTY_NAME="Ubuntu 22.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION="22.04.3 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\n' | put /etc/os-release
        printf 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.3 LTS"\n' | put /etc/lsb-release
        fstab /dev/xvda1
        cmdline="console=hvc0"
        default_grub "" "console=hvc0"
        dpkg_status base-files xe-guest-utilities linux-image-$kver
        owns dpkg xe-guest-utilities /usr/sbin/xe-daemon /usr/sbin/xe-linux-distribution
    fi
    kernel $kver /boot/initrd.img-$kver
    grub2_cfg /boot/grub/grub.cfg "$kver:/boot/initrd.img-$kver"
    printf '# List of modules that you want to include in your initramfs.\n# They will be loaded at boot time in the order below.\nxen-blkfront\nxen-netfront\n' |
        put /etc/initramfs-tools/modules
    echo "RESUME=/dev/xvda2" | put /etc/initramfs-tools/conf.d/resume
    echo "MODULES=dep" | put /etc/initramfs-tools/initramfs.conf
    systemd /lib/systemd/system hvc0
    fake update-initramfs /usr/sbin/update-initramfs
    fake grub-install /usr/sbin/grub-install
    fake grub-mkconfig /usr/sbin/grub-mkconfig
    fake dpkg /usr/bin/dpkg /usr/bin/dpkg-query
    fake apt-get /usr/bin/apt-get
    mkdir -p "$root/boot/grub/i386-pc"
    ;;
centos-7)
    # The brief's Xen PV CentOS: GRUB legacy configuration for pygrub and
    # dracut, one (non-Xen) kernel.
    uuid=0c7e0b1a-0007-4c0e-9a1e-000000000007
    kver=3.10.0-1160.el7.x86_64
    base yes
    printf 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n' | put /etc/os-release
    echo "CentOS Linux release 7.9.2009 (Core)" | put /etc/centos-release
    ln -s centos-release "$root/etc/redhat-release"
    fstab /dev/xvda1
    kernel $kver /boot/initramfs-$kver.img
    {
        echo "default=0"
        echo "timeout=5"
        echo "title CentOS Linux ($kver)"
        echo "	root (hd0,0)"
        echo "	kernel /boot/vmlinuz-$kver ro root=/dev/xvda1 console=hvc0 xencons=tty"
        echo "	initrd /boot/initramfs-$kver.img"
    } | put /boot/grub/grub.conf
    ln -s ./grub.conf "$root/boot/grub/menu.lst"
    echo "(hd0)     /dev/xvda" | put /boot/grub/device.map
    echo "fake stage1" | put /boot/grub/stage1
    mkdir -p "$root/etc/dracut.conf.d"
    systemd /usr/lib/systemd/system hvc0
    securetty hvc0 xvc0
    rpm_db "bash 4.2.46-35.el7_9" "kernel 3.10.0-1160.el7" \
           "xe-guest-utilities 7.30.0-11" "xe-guest-utilities-xenstore 7.30.0-11"
    owns rpm xe-guest-utilities /usr/sbin/xe-daemon /usr/sbin/xe-linux-distribution
    owns rpm xe-guest-utilities-xenstore /usr/bin/xenstore-read
    fake dracut /usr/bin/dracut
    fake grub-install /usr/sbin/grub-install
    fake rpm /usr/bin/rpm
    ;;
rhel-8)
    uuid=0a8e0b1a-0008-4c0e-9a1e-000000000008
    kver=4.18.0-513.5.1.el8_9.x86_64
    base yes
    printf 'NAME="Red Hat Enterprise Linux"\nVERSION="8.9 (Ootpa)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="8.9"\nPRETTY_NAME="Red Hat Enterprise Linux 8.9 (Ootpa)"\n' | put /etc/os-release
    echo "Red Hat Enterprise Linux release 8.9 (Ootpa)" | put /etc/redhat-release
    fstab /dev/xvda1
    kernel $kver /boot/initramfs-$kver.img
    cmdline="console=hvc0 resume=/dev/xvda2"
    default_grub "console=hvc0 resume=/dev/xvda2" "" saved
    echo "GRUB_ENABLE_BLSCFG=false" >> "$root/etc/default/grub"
    grub2_cfg /boot/grub2/grub.cfg "$kver:/boot/initramfs-$kver.img"
    # A Boot Loader Specification entry, as kernel installs write them.
    mkdir -p "$root/boot/loader/entries"
    printf 'title Red Hat Enterprise Linux (%s) 8.9 (Ootpa)\nversion %s\nlinux /vmlinuz-%s\ninitrd /initramfs-%s.img $tuned_initrd\noptions root=/dev/xvda1 ro console=hvc0 resume=/dev/xvda2\nid rhel-%s\ngrub_class kernel\n' \
        "$kver" "$kver" "$kver" "$kver" "$kver" > "$root/boot/loader/entries/convoy-test.conf"
    mkdir -p "$root/etc/dracut.conf.d" "$root/boot/grub2/i386-pc"
    systemd /usr/lib/systemd/system hvc0
    securetty hvc0
    rpm_db "bash 4.4.20-4.el8_6" "kernel 4.18.0-513.5.1.el8_9" \
           "xe-guest-utilities 7.30.0-11" "xe-guest-utilities-xenstore 7.30.0-11"
    owns rpm xe-guest-utilities /usr/sbin/xe-daemon /usr/sbin/xe-linux-distribution
    owns rpm xe-guest-utilities-xenstore /usr/bin/xenstore-read
    fake dracut /usr/bin/dracut
    fake grub-install /usr/sbin/grub2-install
    fake grub-mkconfig /usr/sbin/grub2-mkconfig
    fake rpm /usr/bin/rpm
    ;;
sles-12|sles-11)
    base no
    if [ "$family" = sles-12 ]; then
        uuid=05e50b1a-0012-4c0e-9a1e-000000000512
        kx=3.12.28-4-xen kd=3.12.28-4-default
        printf 'NAME="SLES"\nVERSION="12"\nVERSION_ID="12"\nPRETTY_NAME="SUSE Linux Enterprise Server 12"\nID="sles"\nANSI_COLOR="0;32"\nCPE_NAME="cpe:/o:suse:sles:12"\n' | put /etc/os-release
        printf 'SUSE Linux Enterprise Server 12 (x86_64)\nVERSION = 12\nPATCHLEVEL = 0\n' | put /etc/SuSE-release
        kernel $kx /boot/initrd-$kx
        kernel $kd /boot/initrd-$kd
        cmdline="console=hvc0 resume=/dev/xvda2 splash=silent"
        default_grub "" "console=hvc0 resume=/dev/xvda2 splash=silent" saved
        grub2_cfg /boot/grub2/grub.cfg "$kx:/boot/initrd-$kx" "$kd:/boot/initrd-$kd"
        mkdir -p "$root/etc/dracut.conf.d" "$root/boot/grub2/i386-pc"
        systemd /usr/lib/systemd/system hvc0
        securetty xvc0 hvc0
        printf '## Path:\tSystem/Bootloader\nLOADER_TYPE="grub2"\nDEFAULT_APPEND="resume=/dev/xvda2 splash=silent quiet showopts console=hvc0"\nFAILSAFE_APPEND="showopts apm=off noresume edd=off powersaved=off nohz=off highres=off processor.max_cstate=1 nomodeset x11failsafe console=hvc0 xencons=tty"\n' |
            put /etc/sysconfig/bootloader
        mods="xenblk xennet"
        rpm_db "bash 4.2-68.1" "kernel-xen 3.12.28-4.6" "kernel-default 3.12.28-4.6" \
               "xen-tools-domU 4.4.1_06-2.2" "xe-guest-utilities 7.30.0-11"
        owns rpm xen-tools-domU /usr/bin/xenstore-read /usr/bin/xenstore-write
        owns rpm xe-guest-utilities /usr/sbin/xe-daemon
        fake dracut /usr/bin/dracut
        fake mkinitrd /sbin/mkinitrd
        fake grub-install /usr/sbin/grub2-install
        fake grub-mkconfig /usr/sbin/grub2-mkconfig
    else
        # SLES 11 SP4 with only kernel-xen: the rules must refuse it.
        uuid=05e50b1a-0011-4c0e-9a1e-000000000511
        kx=3.0.101-63-xen
        printf 'SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n' | put /etc/SuSE-release
        kernel $kx /boot/initrd-$kx
        {
            echo "default 0"
            echo "timeout 8"
            echo "title SUSE Linux Enterprise Server 11 SP4 - $kx"
            echo "    root (hd0,0)"
            echo "    kernel /boot/vmlinuz-$kx root=/dev/xvda1 resume=/dev/xvda2 splash=silent console=xvc0 xencons=xvc"
            echo "    initrd /boot/initrd-$kx"
        } | put /boot/grub/menu.lst
        echo "(hd0)   /dev/xvda" | put /boot/grub/device.map
        echo "fake stage1" | put /boot/grub/stage1
        printf 'id:3:initdefault:\nsi::bootwait:/etc/init.d/boot\nx0:12345:respawn:/sbin/agetty -L 9600 xvc0 xterm\n1:2345:respawn:/sbin/mingetty --noclear tty1\n' |
            put /etc/inittab
        rm -f "$root/sbin/init"
        echo "fake sysvinit" | put /sbin/init
        securetty xvc0
        mods="xenblk xennet processor thermal"
        rpm_db "bash 3.2-147.14.22.1" "kernel-xen 3.0.101-63.1" "xen-tools-domU 4.4.4_02-22.1"
        owns rpm xen-tools-domU /usr/bin/xenstore-read
        fake mkinitrd /sbin/mkinitrd
        fake grub-install /usr/sbin/grub-install
    fi
    fstab /dev/xvda1
    {
        echo "## Path:	System/Kernel"
        echo "## Description:"
        echo "## Type:	string"
        echo "## Command:	/sbin/mkinitrd"
        echo "#"
        echo "# This variable contains the list of modules to be added to the initial"
        echo "# ramdisk by calling the script \"mkinitrd\""
        echo "INITRD_MODULES=\"$mods\""
        echo ""
        echo "## Type:	string"
        echo "## Command:	/sbin/mkinitrd"
        echo "#"
        echo "# This variable contains the list of modules to be added to the initial"
        echo "# ramdisk that is created for unprivilegd Xen domains (domU)"
        echo "DOMU_INITRD_MODULES=\"xennet xenblk\""
        echo ""
        echo "MODULES_LOADED_ON_BOOT=\"\""
    } | put /etc/sysconfig/kernel
    fake rpm /bin/rpm
    ;;
noos)
    uuid=00000000-0000-4c0e-9a1e-0000000000aa
    mkdir -p "$root/data"
    echo "no operating system here" > "$root/data/README"
    ;;
esac

# --- the disk ---------------------------------------------------------
size_mib=48
if [ "$family" = luks ]; then
    # An installer's "encrypt the disk" layout: /boot in the clear (a GRUB
    # configuration, no OS), the root a LUKS volume.  Only the LUKS header
    # matters to the test: cryptsetup formats a partition image on the
    # host, or guestfish luks-format does it in an appliance.
    mkdir -p "$root/grub"
    printf 'default 0\ntitle Debian\n  root (hd0,0)\n  kernel /vmlinuz root=/dev/mapper/root\n' > "$root/grub/menu.lst"
    mkfs.ext4 -q -F -L boot -U 00000000-0000-4c0e-9a1e-0000000000bb -E root_owner=0:0 \
        -d "$root" "$tmp/boot.img" 16M >/dev/null
    truncate -s "${size_mib}M" "$tmp/disk.img"
    printf 'label: dos\nstart=2048, size=32768, type=83, bootable\nstart=34816, type=83\n' |
        sfdisk -q "$tmp/disk.img" >/dev/null
    dd if="$tmp/boot.img" of="$tmp/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
    if command -v cryptsetup >/dev/null 2>&1; then
        truncate -s 24M "$tmp/luks.img"
        printf convoy-test | cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 \
            --pbkdf-force-iterations 1000 --key-file - "$tmp/luks.img" 2>/dev/null
        dd if="$tmp/luks.img" of="$tmp/disk.img" bs=1M seek=17 conv=notrunc,sparse status=none
    else
        echo convoy-test | guestfish -a "$tmp/disk.img" --keys-from-stdin \
            run : luks-format /dev/sda2 0 >/dev/null
    fi
    cp --sparse=always "$tmp/disk.img" "$cached.tmp"
    mv "$cached.tmp" "$cached"
    cp --sparse=always "$cached" "$out"
    exit 0
fi

# A 40 MiB root at 1 MiB, then swap to the end.
mkfs.ext4 -q -F -L "$label" -U "$uuid" -E root_owner=0:0 -d "$root" "$tmp/root.img" 40M >/dev/null
truncate -s 6M "$tmp/swap.img"
mkswap -L swap -U "${uuid%?}f" "$tmp/swap.img" >/dev/null 2>&1
truncate -s "${size_mib}M" "$tmp/disk.img"
printf 'label: dos\nstart=2048, size=81920, type=83, bootable\nstart=83968, type=82\n' |
    sfdisk -q "$tmp/disk.img" >/dev/null
dd if="$tmp/root.img" of="$tmp/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$tmp/swap.img" of="$tmp/disk.img" bs=1M seek=41 conv=notrunc,sparse status=none
cp --sparse=always "$tmp/disk.img" "$cached.tmp"
mv "$cached.tmp" "$cached"
cp --sparse=always "$cached" "$out"

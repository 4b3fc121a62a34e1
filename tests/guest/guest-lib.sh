# Helpers of the guest golden tests (sourced after tests/functions.sh).
MKFAMILY="sh $abs_top_srcdir/tests/tools/mkfamily.sh"
GOLDEN=$abs_top_srcdir/tests/guest/golden
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
export CONVOY_RULESDIR=${CONVOY_RULESDIR:-$abs_top_srcdir/rules}

guest_requires() {
    requires guestfish
    requires debugfs
    requires sfdisk
    requires mkfs.ext4
    [ -x /bin/busybox ] || skip "busybox-static is not installed"
    [ -e /dev/kvm ] || [ -n "$LIBGUESTFS_BACKEND_SETTINGS" ] || skip "no KVM and no force_tcg"
}

# The files whose bytes the golden tests compare, where a guest has them.
GOLDEN_FILES="etc/fstab etc/crypttab etc/default/grub etc/inittab etc/securetty
etc/initramfs-tools/modules etc/initramfs-tools/conf.d/resume etc/sysconfig/kernel
etc/sysconfig/bootloader
etc/dracut.conf.d/convoy-virtio.conf etc/modprobe.conf
boot/grub/grub.cfg boot/grub/grub.cfg.convoy-old boot/grub2/grub.cfg
boot/grub2/grub.cfg.convoy-old boot/grub/grub.conf boot/grub/menu.lst
boot/grub/menu.lst.convoy-old boot/grub/device.map boot/loader/entries/convoy-test.conf
var/lib/dpkg/status var/lib/convoy-fake-rpm/packages var/log/convoy-fake-tools.log"

# golden_paths DIR GOLDEN: GOLDEN_FILES and the initrds (rebuilt ones and
# the kept *.convoy-orig) found in the extracted guest or the golden files.
golden_paths() {
    echo $GOLDEN_FILES
    for r in "$1/root" "$2/files"; do
        [ -d "$r/boot" ] || continue
        (cd "$r" && ls -d boot/initrd* boot/initramfs* 2>/dev/null) || true
    done | sort -u
}

# extract IMG DIR: the root filesystem (partition 1 at 1 MiB, 40 MiB) of a
# family image into DIR, with debugfs: no appliance.
extract() {
    dd if="$1" of="$2.part" bs=1M skip=1 count=40 status=none
    mkdir -p "$2"
    debugfs -R "rdump /etc /boot /var /usr $2" "$2.part" >/dev/null 2>&1 ||
        fail "debugfs cannot read $1"
    rm -f "$2.part"
}

# tree DIR: every path under etc, boot, var and usr of an extracted guest
# (symlinks with their target; busybox applet links left out).
tree() {
    (cd "$1" && find etc boot var usr \( -type l -printf '%p -> %l\n' \) -o \
         \( ! -type l -printf '%p %y\n' \)) | grep -v -- '-> /bin/busybox$' | LC_ALL=C sort
}

# check_golden NAME DIR WHAT…: compare (or, with CONVOY_TEST_REGENERATE=1,
# write) golden/NAME/WHAT against DIR/WHAT, for files given as paths in
# DIR; "files" means every GOLDEN_FILES path.
check_golden() {
    _name=$1 _dir=$2
    _g=$GOLDEN/$_name
    if [ -n "${CONVOY_TEST_REGENERATE:-}" ]; then
        rm -rf "$_g"
        mkdir -p "$_g/files"
        for f in $(golden_paths "$_dir" "$_g"); do
            [ -f "$_dir/root/$f" ] || continue
            mkdir -p "$_g/files/$(dirname "$f")"
            cp "$_dir/root/$f" "$_g/files/$f"
        done
        for f in changes changes-2 tree boot-sector err; do
            [ -f "$_dir/$f" ] && cp "$_dir/$f" "$_g/$f"
        done
        echo "regenerated $_g"
        return 0
    fi
    [ -d "$_g" ] || fail "no golden files in $_g (CONVOY_TEST_REGENERATE=1)"
    _bad=0
    for f in $(golden_paths "$_dir" "$_g"); do
        if [ -f "$_g/files/$f" ]; then
            if ! cmp -s "$_g/files/$f" "$_dir/root/$f"; then
                echo "--- $_name: $f differs:" >&2
                diff -u "$_g/files/$f" "$_dir/root/$f" >&2 || true
                _bad=1
            fi
        elif [ -f "$_dir/root/$f" ]; then
            echo "--- $_name: $f exists but has no golden file" >&2; _bad=1
        fi
    done
    for f in changes changes-2 tree boot-sector err; do
        if [ -f "$_g/$f" ] || [ -f "$_dir/$f" ]; then
            if ! cmp -s "$_g/$f" "$_dir/$f"; then
                echo "--- $_name: $f differs:" >&2
                diff -u "$_g/$f" "$_dir/$f" >&2 || true
                _bad=1
            fi
        fi
    done
    [ $_bad -eq 0 ] || fail "$_name: differs from $_g"
}

# The change list with the source tree's path made neutral.
normalize() {
    sed -e "s|$abs_top_srcdir/|@SRCDIR@/|g" -e "s|$_scratch_root/[^ :]*/|@TMP@/|g"
}

# run_family FAMILY DIR [PREPARE [NAME]]: build, fix up twice, extract,
# compare.  The first fixup's change list, the second's (a fixed point: "0
# changes"), the files, the tree, the fake-tools log and the boot sector
# are golden (golden/NAME, default FAMILY).  PREPARE IMG, when given,
# changes the built image before the fixups.
run_family() {
    _f=$1 _d=$2 _prep=${3:-} _gname=${4:-$1}
    mkdir -p "$_d"
    $MKFAMILY "$_f" "$_d/disk.img" || fail "mkfamily $_f"
    [ -z "$_prep" ] || $_prep "$_d/disk.img" || fail "$_prep $_f"
    _t0=$(date +%s)
    set +e
    "$CONVOY" guest fixup -q "$_d/disk.img" > "$_d/out1" 2> "$_d/err1"
    _rc=$?
    set -e
    if [ -f "$GOLDEN/$_gname/err" ] || { [ -n "${CONVOY_TEST_REGENERATE:-}" ] && [ $_rc -ne 0 ]; }; then
        # A guest the rules refuse: exit 1, the message, nothing changed.
        [ $_rc -eq 1 ] || { cat "$_d/err1" >&2; fail "$_f: expected exit 1, got $_rc"; }
        normalize < "$_d/err1" > "$_d/err"
    else
        [ $_rc -eq 0 ] || { cat "$_d/err1" >&2; fail "$_f: fixup exited $_rc"; }
        normalize < "$_d/out1" > "$_d/changes"
        "$CONVOY" guest fixup -q "$_d/disk.img" > "$_d/out2" 2> "$_d/err2" ||
            { cat "$_d/err2" >&2; fail "$_f: second fixup failed"; }
        normalize < "$_d/out2" > "$_d/changes-2"
    fi
    extract "$_d/disk.img" "$_d/root"
    tree "$_d/root" > "$_d/tree"
    dd if="$_d/disk.img" bs=1 count=26 status=none | tr -d '\000' > "$_d/boot-sector"
    echo >> "$_d/boot-sector"
    echo "$_gname: $(( $(date +%s) - _t0 )) s" >&2
    check_golden "$_gname" "$_d"
}

# put_file IMG LOCAL GUESTPATH: replace a file of a family image's root
# filesystem (partition 1) with debugfs: no appliance.
put_file() {
    _start=$(sfdisk -d "$1" | sed -n 's/.*img1 : start= *\([0-9]*\), size= *\([0-9]*\).*/\1/p')
    _size=$(sfdisk -d "$1" | sed -n 's/.*img1 : start= *\([0-9]*\), size= *\([0-9]*\).*/\2/p')
    [ -n "$_start" ] && [ -n "$_size" ] || fail "no partition 1 in $1"
    dd if="$1" of="$1.part" bs=512 skip="$_start" count="$_size" status=none
    printf 'cd %s\nrm %s\nwrite %s %s\n' "$(dirname "$3")" "$(basename "$3")" "$2" \
        "$(basename "$3")" > "$1.cmds"
    debugfs -w -f "$1.cmds" "$1.part" >/dev/null 2>&1
    debugfs -R "stat $3" "$1.part" 2>/dev/null | grep -q "Size: $(stat -c %s "$2")\b" ||
        fail "debugfs did not write $3"
    rm -f "$1.cmds"
    dd if="$1.part" of="$1" bs=512 seek="$_start" conv=notrunc status=none
    rm -f "$1.part"
}

# Sourced by the guest boot tests (after tests/functions.sh and
# tests/libvirt/daemon.sh): the Debian guest images and the console.
#
# debian_images DIR: DIR/partitioned.raw, DIR/whole-disk.raw, DIR/info,
# DIR/vmlinuz, DIR/initrd-kvm from tests/tools/mkdebian.sh (cached under
# $CONVOY_TEST_CACHE); skips (77) with its reason when it cannot build.
# wait_login DOMAIN LOG [TIMEOUT]: wait for the login prompt on the
# domain's serial console (tests/tools/console-wait.py); fails with the
# console's last lines.
CONSOLE_WAIT="python3 $abs_top_srcdir/tests/tools/console-wait.py"
GUEST_BOOT_TIMEOUT=${GUEST_BOOT_TIMEOUT:-300}

debian_images() {
    requires debootstrap
    requires mkfs.ext4
    requires sfdisk
    [ "$(id -u)" -eq 0 ] || skip "building the Debian guest needs root (debootstrap, chroot)"
    _t0=$(date +%s)
    set +e
    sh "$abs_top_srcdir/tests/tools/mkdebian.sh" "$1" 2> "$1.mkdebian.log"
    _rc=$?
    set -e
    cat "$1.mkdebian.log" >&2
    case $_rc in
    0) ;;
    77) skip "$(tail -n 1 "$1.mkdebian.log")" ;;
    *) fail "mkdebian.sh failed ($_rc)" ;;
    esac
    echo "guest images ready in $(( $(date +%s) - _t0 )) s"
}

wait_login() {
    $CONSOLE_WAIT --uri "$LV_URI" --timeout "${3:-$GUEST_BOOT_TIMEOUT}" --log "$2" "$1" ||
        fail "no login prompt on the console of '$1' (log: $2)"
}

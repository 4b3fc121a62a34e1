# Shared part of convoy's fake guest tools (test doubles, see
# tests/README.md "Fake guest tools").  Sourced by each tool: logs the
# tool's name and argv to /var/log/convoy-fake-tools.log, one line per
# call, so golden tests can check which tool ran with which arguments.
FAKE_LOG=/var/log/convoy-fake-tools.log
fake_log() {
    [ -n "${CONVOY_FAKE_NOLOG:-}" ] && return 0
    printf '%s\n' "$*" >> "$FAKE_LOG"
}
fake_log "$(basename "$0")" "$@"

# The initrd file of kernel $1, by the guest's naming convention.
fake_initrd_of() {
    for f in "/boot/initrd.img-$1" "/boot/initramfs-$1.img" "/boot/initrd-$1" "/boot/initrd-$1.img"; do
        [ -e "$f" ] && { echo "$f"; return 0; }
    done
    echo "/boot/initrd-$1"
}

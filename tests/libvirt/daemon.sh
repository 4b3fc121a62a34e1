# Sourced by the libvirt integration tests (after tests/functions.sh):
# a real qemu:///system daemon and a private directory pool.
#
# daemon_up: reuse a running libvirtd (another test or engineer may own
# it: it is never stopped here); otherwise start virtlogd and libvirtd
# and stop exactly those, by PID, at exit.
# pool_up NAME_PREFIX: a directory pool in a fresh scratch folder with a
# unique name (printed), destroyed and undefined at exit with its volumes.
# Skips (77) when libvirtd or qemu-system-x86_64 is missing.
LV_URI=qemu:///system
VIRSH="virsh -q -c $LV_URI"

daemon_up() {
    requires virsh
    requires libvirtd
    requires qemu-system-x86_64
    if $VIRSH version >/dev/null 2>&1; then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || skip "no libvirtd is running and starting one needs root"
    mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt
    if [ ! -S /run/libvirt/virtlogd-sock ]; then
        virtlogd -d || fail "cannot start virtlogd"
        for i in $(seq 1 50); do [ -s /run/virtlogd.pid ] && break; sleep 0.1; done
        _lv_logd=$(cat /run/virtlogd.pid 2>/dev/null || true)
        [ -n "$_lv_logd" ] && cleanup_fn "kill $_lv_logd"
    fi
    libvirtd -d || fail "cannot start libvirtd"
    for i in $(seq 1 300); do
        $VIRSH version >/dev/null 2>&1 && break
        sleep 0.2
    done
    $VIRSH version >/dev/null 2>&1 || fail "libvirtd did not answer on $LV_URI"
    _lv_pid=$(cat /run/libvirtd.pid 2>/dev/null || true)
    [ -n "$_lv_pid" ] && cleanup_fn "kill $_lv_pid"
    return 0
}

# pool_up DIR: prints the new pool's name.
pool_up() {
    _p="convoy-t-$$-$(date +%s%N | tail -c 7)"
    mkdir -p "$1/pool"
    # qemu runs as its own user: it must reach the volumes.
    chmod 755 "$(dirname "$1")" "$1" "$1/pool"
    $VIRSH pool-define-as "$_p" dir --target "$1/pool" >/dev/null ||
        fail "cannot define pool $_p"
    $VIRSH pool-start "$_p" >/dev/null || fail "cannot start pool $_p"
    echo "$_p"
}

# pool_down NAME: delete its volumes, stop and undefine it.
pool_down() {
    # Files a test (or convoy) put in the folder without libvirt, too.
    $VIRSH pool-refresh "$1" >/dev/null 2>&1 || true
    for v in $($VIRSH vol-list "$1" 2>/dev/null | awk '{print $1}'); do
        $VIRSH vol-delete --pool "$1" "$v" >/dev/null 2>&1 || true
    done
    $VIRSH pool-destroy "$1" >/dev/null 2>&1 || true
    $VIRSH pool-undefine "$1" >/dev/null 2>&1 || true
    return 0
}

# domain_down NAME: destroy and undefine a domain if it exists.
domain_down() {
    $VIRSH destroy "$1" >/dev/null 2>&1 || true
    $VIRSH undefine --nvram "$1" >/dev/null 2>&1 ||
        $VIRSH undefine "$1" >/dev/null 2>&1 || true
    return 0
}

# libvirt_manifest DIR POOL [EXTRA_TARGET_LINES]: rewrite DIR/manifest.yaml
# (from make_fixture) to target the pool on qemu:///system.  The NIC maps
# to a bridge, so nothing depends on a running libvirt network.
libvirt_manifest() {
    _d=$1 _pool=$2 _extra=${3:-}
    _vm=${LV_VM:-convoy-t-$$}
    cat > "$_d/manifest.yaml" <<EOT
version: 1
defaults:
  target: kvm
  disk_format: raw
  allocation: sparse
  start: false
sources:
  exports: {type: xva, path: exports}
targets:
  kvm:
    type: libvirt
    uri: "${LV_TARGET_URI:-$LV_URI}"
    domain_type: qemu
    pools: {default: $_pool}
$_extra
    networks:
      - {from: {bridge: xenbr0}, to: {bridge: ${LV_BRIDGE:-convoy-br0}}}
waves:
  - name: wave-1
    vms:
      - {name: web1, source: exports, rename: $_vm}
EOT
}

# bridge_up NAME: a host bridge for the NIC (ip link), removed at exit.
bridge_up() {
    requires ip
    if [ ! -d "/sys/class/net/$1" ]; then
        ip link add "$1" type bridge 2>/dev/null || skip "cannot create bridge $1"
        ip link set "$1" up 2>/dev/null || true
        cleanup_fn "ip link del '$1'"
    fi
}

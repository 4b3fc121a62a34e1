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

# stop_pid PID: SIGTERM, then wait for it to be gone (SIGKILL after 10 s),
# so that the next test never finds a daemon that is still going away
# (a socket file that answers no more).
stop_pid() {
    kill "$1" 2>/dev/null || return 0
    for _i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
}

# unix_answers PATH: something accepts connections on the socket.
unix_answers() {
    python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])' "$1" 2>/dev/null
}

# virtlogd_up: qemu domains log through virtlogd; libvirtd may answer
# while virtlogd is gone (another test stopped the one it started).
virtlogd_up() {
    unix_answers /run/libvirt/virtlogd-sock && return 0
    requires virtlogd
    rm -f /run/libvirt/virtlogd-sock /run/libvirt/virtlogd-admin-sock
    _lv_logd_pid=$(scratch)/virtlogd.pid
    virtlogd -d -p "$_lv_logd_pid" || fail "cannot start virtlogd"
    for i in $(seq 1 50); do unix_answers /run/libvirt/virtlogd-sock && break; sleep 0.1; done
    unix_answers /run/libvirt/virtlogd-sock || fail "virtlogd does not answer on /run/libvirt/virtlogd-sock"
    _lv_logd=$(cat "$_lv_logd_pid" 2>/dev/null || true)
    [ -n "$_lv_logd" ] && cleanup_fn "stop_pid $_lv_logd"
    return 0
}

daemon_up() {
    requires virsh
    requires libvirtd
    requires qemu-system-x86_64
    if $VIRSH version >/dev/null 2>&1; then
        [ "$(id -u)" -eq 0 ] && virtlogd_up
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || skip "no libvirtd is running and starting one needs root"
    mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt
    virtlogd_up
    _lv_pidf=$(scratch)/libvirtd.pid
    libvirtd -d -p "$_lv_pidf" || fail "cannot start libvirtd"
    for i in $(seq 1 300); do
        $VIRSH version >/dev/null 2>&1 && break
        sleep 0.2
    done
    $VIRSH version >/dev/null 2>&1 || fail "libvirtd did not answer on $LV_URI"
    _lv_pid=$(cat "$_lv_pidf" 2>/dev/null || true)
    [ -n "$_lv_pid" ] && cleanup_fn "stop_pid $_lv_pid"
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
  guest: {fixup: false}
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

# private_daemon_up DIR HOSTNAME UUID: a libvirtd of its own (privileged,
# qemu:///system flavour) in a private mount and UTS namespace: its
# /etc/libvirt, /var/lib/libvirt, /run/libvirt, /var/cache/libvirt and
# /var/log/libvirt are folders under DIR, its host name and host uuid its
# own (libvirt refuses to migrate a domain to "the same host").  Only a
# unix socket, DIR/run/libvirt-sock; no TCP.  Sets PRIVATE_URI (call it
# directly, not in $(…): it registers its cleanup).  With PRIVATE_TCP=1
# (tcp_daemon_up) it listens on a free loopback TCP port as well.  At exit its
# domains are destroyed and undefined, then the daemon is stopped by PID.
# Skips (77) when namespaces cannot be made here.
private_daemon_up() {
    _pd=$1 _host=$2 _uuid=$3
    requires unshare
    requires libvirtd
    requires qemu-system-x86_64
    [ "$(id -u)" -eq 0 ] || skip "a private libvirtd needs root (mount namespaces)"
    unshare -m -u true 2>/dev/null || skip "cannot make mount/UTS namespaces here"
    mkdir -p "$_pd/etc/qemu" "$_pd/lib" "$_pd/run" "$_pd/cache" "$_pd/log"
    chmod 755 "$_pd"
    printf 'host_uuid = "%s"\n' "$_uuid" > "$_pd/etc/libvirtd.conf"
    _listen=
    if [ -n "${PRIVATE_TCP:-}" ]; then
        # tcp mode: also reachable as qemu+tcp://127.0.0.1:PORT/system,
        # loopback only, no authentication (a test daemon, never more).
        _tport=$(python3 -c 'import socket
s=socket.socket()
s.bind(("127.0.0.1",0))
print(s.getsockname()[1])')
        printf 'listen_tcp = 1\nlisten_tls = 0\nlisten_addr = "127.0.0.1"\ntcp_port = "%s"\nauth_tcp = "none"\n' \
            "$_tport" >> "$_pd/etc/libvirtd.conf"
        _listen=--listen
    fi
    # No virtlogd and no cgroups: two daemons on one kernel would share
    # them (both number their domains from 1).
    printf 'stdio_handler = "file"\ncgroup_controllers = [ ]\n' > "$_pd/etc/qemu.conf"
    unshare -m -u sh -c "
        mount --bind '$_pd/etc' /etc/libvirt &&
        mount --bind '$_pd/lib' /var/lib/libvirt &&
        mkdir -p /run/libvirt /var/cache/libvirt /var/log/libvirt &&
        mount --bind '$_pd/run' /run/libvirt &&
        mount --bind '$_pd/cache' /var/cache/libvirt &&
        mount --bind '$_pd/log' /var/log/libvirt &&
        hostname '$_host' &&
        exec libvirtd $_listen --config '$_pd/etc/libvirtd.conf' --pid-file '$_pd/libvirtd.pid'
    " > "$_pd/libvirtd.log" 2>&1 &
    _ppid=$!
    _puri="qemu+unix:///system?socket=$_pd/run/libvirt-sock"
    cleanup_fn "private_daemon_down '$_puri' $_ppid"
    for i in $(seq 1 300); do
        virsh -q -c "$_puri" version >/dev/null 2>&1 && break
        kill -0 $_ppid 2>/dev/null || break
        sleep 0.2
    done
    virsh -q -c "$_puri" version >/dev/null 2>&1 ||
        { tail -5 "$_pd/libvirtd.log" >&2; fail "private libvirtd in $_pd did not answer"; }
    PRIVATE_URI=$_puri
    if [ -n "$_listen" ]; then
        TCP_URI="qemu+tcp://127.0.0.1:$_tport/system"
        virsh -q -c "$TCP_URI" version >/dev/null 2>&1 ||
            { tail -5 "$_pd/libvirtd.log" >&2; fail "private libvirtd does not answer on $TCP_URI"; }
    fi
}

# tcp_daemon_up DIR HOSTNAME UUID: private_daemon_up in tcp mode; sets
# TCP_URI (qemu+tcp://127.0.0.1:PORT/system) besides PRIVATE_URI.  Its
# /var/lib/libvirt is DIR/lib: a pool it keeps there is not what this
# machine sees at the same path.
tcp_daemon_up() {
    PRIVATE_TCP=1
    private_daemon_up "$@"
    PRIVATE_TCP=
}

# private_daemon_down URI PID
private_daemon_down() {
    for _dom in $(virsh -q -c "$1" list --all --name 2>/dev/null); do
        virsh -q -c "$1" destroy "$_dom" >/dev/null 2>&1 || true
        virsh -q -c "$1" undefine "$_dom" >/dev/null 2>&1 || true
    done
    kill "$2" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
    return 0
}

# proxy_up SOCK: a forwarder (unixproxy.py) on SOCK in front of the
# daemon's socket, which a test kills to cut the link (PROXY_RATE in the
# environment slows it down); sets proxy_pid.
proxy_up() {
    python3 "$abs_top_srcdir/tests/libvirt/unixproxy.py" "$1" /run/libvirt/libvirt-sock &
    proxy_pid=$!
    for i in $(seq 1 50); do [ -S "$1" ] && break; sleep 0.1; done
}

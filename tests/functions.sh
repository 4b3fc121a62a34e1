# Shared helpers for shell tests (sourced).  Tests get from meson:
#   CONVOY       the convoy binary
#   abs_top_srcdir, abs_top_builddir
# Exit codes: 0 pass, 77 skip (with a reason), 99 harness error, else fail.
set -u

: "${abs_top_srcdir:?}" "${CONVOY:?}"
MKXVA="python3 $abs_top_srcdir/tests/tools/mkxva.py"
MKGUEST="sh $abs_top_srcdir/tests/tools/mkguest.sh"
export PATH="$PATH:/sbin:/usr/sbin"
export LC_ALL=C TZ=UTC

_cleanup_fns=""
cleanup_fn() { _cleanup_fns="$* ; $_cleanup_fns"; }
_run_cleanup() { eval "$_cleanup_fns" 2>/dev/null || true; }
trap _run_cleanup EXIT INT TERM

# Every scratch directory of this test lives under one root made here, in
# the test's own shell, and removed at exit: scratch is called as
# d=$(scratch), in a subshell, which could not register a cleanup itself.
_scratch_root=$(mktemp -d "${TMPDIR:-/tmp}/convoy-test.XXXXXX")
cleanup_fn "rm -rf '$_scratch_root'"

# A fresh scratch directory, removed at exit.
scratch() {
    mktemp -d "$_scratch_root/s.XXXXXX"
}

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
requires() { command -v "$1" >/dev/null 2>&1 || skip "'$1' is not installed"; }

# expect_exit CODE CMD…: run CMD, fail unless it exits with CODE.
expect_exit() {
    want=$1; shift
    set +e
    "$@"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
}

# signal_wait SIG PID: send SIG to PID and wait for it; sets rc (its exit
# status) and ms (milliseconds from the signal to its end).
signal_wait() {
    kill -"$1" "$2"
    _t0=$(date +%s%N)
    set +e
    wait "$2"
    rc=$?
    set -e
    ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
}

# expect_grep PATTERN FILE
expect_grep() {
    grep -q -- "$1" "$2" || { echo "--- $2:" >&2; cat "$2" >&2; fail "'$1' not found in $2"; }
}

# The raw content digest of any image format, via qemu-img.
same_content() {
    qemu-img compare -q "$1" "$2" || fail "content differs: $1 vs $2"
}

# make_fixture DIR [XVDB_SIZE]: DIR/exports/web1.xva — a PV guest (pygrub)
# with xvda = a real partitioned ext4 guest image (DIR/src/xvda.raw) and
# xvdb = synthesized data with gaps (DIR/src/xvdb.raw), one NIC on xenbr0;
# DIR/manifest.yaml migrating it to a directory target DIR/out.
# MKXVA_EXTRA: more mkxva options for web1.xva (--keepalive N, say).
make_fixture() {
    _d=$1
    _xvdb=${2:-40M}
    mkdir -p "$_d/src" "$_d/exports"
    $MKGUEST "$_d/src/xvda.raw" 64 || fail "mkguest failed"
    $MKXVA -o "$_d/exports/web1.xva" --name web1 --pv --bootloader pygrub \
        --pv-args "console=hvc0 root=/dev/xvda1" --memory 1GiB --vcpus 2 \
        --disk "xvda=$_d/src/xvda.raw,ref=Ref:10" \
        --disk "xvdb=size:$_xvdb,ref=Ref:9,pattern=7,save=$_d/src/xvdb.raw" \
        --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0,network=Pool-wide network associated with eth0" \
        ${MKXVA_EXTRA:-} >/dev/null || fail "mkxva failed"
    cat > "$_d/manifest.yaml" <<EOT
version: 1
defaults:
  target: lab
  disk_format: raw
  guest: {fixup: false}
sources:
  exports: {type: xva, path: exports}
targets:
  lab:
    type: directory
    path: out
    networks:
      - {from: {bridge: xenbr0}, to: {network: default}}
waves:
  - name: wave-1
    vms:
      - {name: web1, source: exports, rename: web1-kvm}
EOT
}

# fixture_inspectable DIR: make make_fixture's DIR/src/xvda.raw a guest
# that libguestfs inspection accepts (/bin, a kernel and its modules
# folder beside its /etc/fstab and /etc/os-release) and pack it alone as
# DIR/exports/web1.xva, with the appliance set up as convoy sets it up
# (direct backend, TCG when this machine is a VM).  Skips when the
# appliance cannot start here.
fixture_inspectable() {
    requires guestfish
    [ -e /dev/kvm ] || [ -x /usr/bin/qemu-system-x86_64 ] || skip "no qemu to run the libguestfs appliance"
    export LIBGUESTFS_BACKEND=direct
    grep -q " hypervisor" /proc/cpuinfo && export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
    guestfish -a "$1/src/xvda.raw" run : mount /dev/sda1 / : mkdir-p /bin : \
        mkdir-p /lib/modules/6.1.0-13-amd64 : write /boot/vmlinuz-6.1.0-13-amd64 kernel : \
        write /boot/initrd.img-6.1.0-13-amd64 initrd >/dev/null 2>&1 ||
        skip "guestfish cannot start the libguestfs appliance here"
    $MKXVA -o "$1/exports/web1.xva" --name web1 --pv --bootloader pygrub \
        --pv-args "console=hvc0 root=/dev/xvda1" --memory 1GiB --vcpus 2 \
        --disk "xvda=$1/src/xvda.raw,ref=Ref:10" \
        --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0,network=Pool-wide network associated with eth0" \
        >/dev/null || fail "mkxva failed"
}

# set_default DIR KEY VALUE: change a defaults: key in DIR/manifest.yaml
set_default() {
    sed -i "s|^  $2: .*|  $2: $3|" "$1/manifest.yaml"
}

# start_server PORTVAR CMD…: run a test server in the background (killed at
# exit by its pid); CMD must write its port to the file named by
# $_portfile, which is given to it as the environment variable PORT_FILE.
# Sets PORTVAR.
start_server() {
    _var=$1; shift
    _portfile=$(mktemp -u "${TMPDIR:-/tmp}/convoy-port.XXXXXX")
    PORT_FILE=$_portfile "$@" &
    _pid=$!
    cleanup_fn "kill $_pid; rm -f '$_portfile'"
    for _i in $(seq 1 100); do
        [ -s "$_portfile" ] && break
        kill -0 $_pid 2>/dev/null || fail "server died: $*"
        sleep 0.1
    done
    [ -s "$_portfile" ] || fail "server did not start: $*"
    eval "$_var=$(cat "$_portfile")"
}

# make_ca DIR: a self-signed CA (DIR/ca.pem) and a server certificate for
# 127.0.0.1 signed by it (DIR/server.pem, DIR/server.key).
make_ca() {
    requires openssl
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=convoy test CA" \
        -keyout "$1/ca.key" -out "$1/ca.pem" >/dev/null 2>&1 || fail "openssl: CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$1/server.key" -out "$1/server.csr" >/dev/null 2>&1 || fail "openssl: csr"
    printf 'subjectAltName=IP:127.0.0.1\n' > "$1/ext.cnf"
    openssl x509 -req -in "$1/server.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
        -CAcreateserial -days 2 -extfile "$1/ext.cnf" -out "$1/server.pem" \
        >/dev/null 2>&1 || fail "openssl: sign"
}

# no_secret SECRET FILE…: fail if SECRET appears in any FILE (the state db
# through strings).
no_secret() {
    _s=$1; shift
    for _f in "$@"; do
        [ -e "$_f" ] || continue
        if strings "$_f" | grep -qF -- "$_s"; then
            fail "secret found in $_f"
        fi
    done
}

# ---- the state store's backend ----
# CONVOY_TEST_STATE=postgresql (set by meson for the tests registered
# twice, tests/cli/meson.build) runs a test against PostgreSQL: a server
# of its own (tests/tools/pgserver.sh, stopped by PID at exit), and
# $CONVOY wrapped so that every command that reads or writes the state
# gets --state with the database and a project per working folder (as
# .convoy/state.db is per folder).  state_reset, state_query and inflight
# work on either backend.
PGSERVER="sh $abs_top_srcdir/tests/tools/pgserver.sh"
# pg_server_up DIR: start a PostgreSQL server of the test's own in DIR
# (stopped by PID at exit); its URL in $PG_URL.  Skips without PostgreSQL.
pg_server_up() {
    set +e
    PG_URL=$($PGSERVER start "$1")
    _rc=$?
    set -e
    [ "$_rc" -eq 77 ] && skip "PostgreSQL is not installed"
    [ "$_rc" -eq 0 ] || fail "the PostgreSQL test server did not start"
    cleanup_fn "$PGSERVER stop '$1'"
}
CONVOY_REAL=$CONVOY
if [ "${CONVOY_TEST_STATE:-sqlite}" = postgresql ]; then
    _pgdir=$_scratch_root/pg
    pg_server_up "$_pgdir"
    STATE_URL=$PG_URL
    export STATE_URL CONVOY_REAL
    cat > "$_scratch_root/convoy" <<'EOT'
#!/bin/sh
# convoy with the test's PostgreSQL state: a project per folder.
p=t_$(pwd -P | md5sum | cut -c1-12)
case ${1:-} in
apply|plan|status|report|rollback|state)
    c=$1; shift
    exec "$CONVOY_REAL" "$c" --state "$STATE_URL&project=$p" "$@" ;;
esac
exec "$CONVOY_REAL" "$@"
EOT
    chmod +x "$_scratch_root/convoy"
    CONVOY=$_scratch_root/convoy
fi

# The project of the working folder (PostgreSQL).
_project() {
    echo "t_$(pwd -P | md5sum | cut -c1-12)"
}

# state_reset: forget the working folder's state (.convoy, or its project).
state_reset() {
    rm -rf .convoy
    if [ -n "${STATE_URL:-}" ]; then
        $PGSERVER psql "$_pgdir" -c "DROP SCHEMA IF EXISTS $(_project) CASCADE; DROP SCHEMA IF EXISTS $(_project)_bak CASCADE" >/dev/null 2>&1
    fi
}

# state_query SQL: the rows of SQL on the working folder's state, one a
# line, columns separated by '|'.
state_query() {
    if [ -n "${STATE_URL:-}" ]; then
        $PGSERVER psql "$_pgdir" -At -c "SET search_path = $(_project)" -c "$1"
    else
        sqlite3 .convoy/state.db "$1"
    fi
}

# inflight [GROUP=VM,VM… …]: tests/tools/inflight.py on the working
# folder's state.
inflight() {
    state_query "SELECT step_key, kind, time FROM events WHERE step_key IS NOT NULL AND kind != 'not-started' ORDER BY id" |
        python3 "$abs_top_srcdir/tests/tools/inflight.py" - "$@"
}

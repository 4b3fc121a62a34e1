#!/bin/sh
# Plan-time checks of the libvirt target, each a clear error that blocks
# the VM with nothing written or lost: a same-named domain or volume convoy
# did not create (and adopt: true taking the domain over), one that is
# not convoy's any more (another pool, a domain replaced), a missing
# pool, network or bridge, a pool without room, a stopped daemon.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
daemon_up
d=$(scratch)
make_fixture "$d"
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
bridge_up convoy-br0
vm=convoy-t-cfl-$$
cleanup_fn "domain_down '$vm'"
cd "$d"
vols() { $VIRSH vol-list "$pool" | awk '{print $1}' | sort | tr '\n' ' '; }

# blocked MESSAGE: plan and apply both fail on it, and nothing is made.
blocked() {
    before=$(vols)
    set +e
    "$CONVOY" plan manifest.yaml > plan.txt 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || { cat plan.txt; fail "plan exited $rc, expected 1"; }
    expect_grep "$1" plan.txt
    expect_grep "x error: " plan.txt
    set +e
    "$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || { cat apply.txt; fail "apply exited $rc, expected 1"; }
    expect_grep "$1" apply.txt
    [ "$(vols)" = "$before" ] || fail "volumes changed: '$before' → '$(vols)'"
}

# A domain of the same name, not convoy's.
cat > other.xml <<EOT
<domain type='qemu'><name>$vm</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>
EOT
$VIRSH define other.xml >/dev/null
uuid0=$($VIRSH domuuid "$vm")
LV_VM=$vm libvirt_manifest "$d" "$pool"
blocked "conflict: domain '$vm' already exists on 'qemu:///system' and convoy did not define it"
[ "$($VIRSH domuuid "$vm")" = "$uuid0" ] || fail "the existing domain changed"
$VIRSH dumpxml "$vm" | grep -q "<disk" && fail "the existing domain was redefined"

# adopt: true takes it over (same uuid, convoy's XML).
sed -i "s|{name: web1, source: exports, rename: $vm}|{name: web1, source: exports, rename: $vm, adopt: true}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "adopting apply failed"; }
$VIRSH dumpxml "$vm" | grep -q "volume='$vm-vda.raw'" || fail "the adopted domain was not redefined"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
"$CONVOY" rollback --yes manifest.yaml web1 > /dev/null
rm -rf .convoy

# A volume of the same name, not convoy's: kept, with its content.
$VIRSH vol-create-as "$pool" "$vm-vdb.raw" 1M --format raw >/dev/null
printf 'precious' | dd of="pool/$vm-vdb.raw" conv=notrunc 2>/dev/null
LV_VM=$vm libvirt_manifest "$d" "$pool"
blocked "conflict: volume '$vm-vdb.raw' already exists in pool '$pool' and convoy did not create it"
[ "$(head -c 8 "pool/$vm-vdb.raw")" = precious ] || fail "the existing volume was overwritten"
$VIRSH dominfo "$vm" >/dev/null 2>&1 && fail "a domain was defined"
$VIRSH vol-delete --pool "$pool" "$vm-vdb.raw" >/dev/null

# Ownership is by identity, not by a step record: after convoy made the
# VM in one pool, a same-named volume in another pool the manifest moves
# the disks to is not convoy's; a domain replaced outside convoy (same
# name, new uuid) is not convoy's either, and rollback leaves it alone.
LV_VM=$vm libvirt_manifest "$d" "$pool"
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "apply failed"; }
uuid1=$($VIRSH domuuid "$vm")
mkdir -p other
pool2=$(pool_up "$d/other")
cleanup_fn "pool_down '$pool2'"
$VIRSH vol-create-as "$pool2" "$vm-vdb.raw" 1M --format raw >/dev/null
printf 'precious' | dd of="other/pool/$vm-vdb.raw" conv=notrunc 2>/dev/null
LV_VM=$vm libvirt_manifest "$d" "$pool2"
blocked "conflict: volume '$vm-vdb.raw' already exists in pool '$pool2' and convoy did not create it"
[ "$(head -c 8 "other/pool/$vm-vdb.raw")" = precious ] || fail "the other pool's volume was overwritten"
LV_VM=$vm libvirt_manifest "$d" "$pool"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
$VIRSH undefine "$vm" >/dev/null
$VIRSH define other.xml >/dev/null
uuid2=$($VIRSH domuuid "$vm")
[ "$uuid2" != "$uuid1" ] || fail "libvirt reused the uuid"
blocked "conflict: domain '$vm' on 'qemu:///system' is not the one convoy defined (its uuid is $uuid2, convoy's was $uuid1)"
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt 2>&1 || { cat rb.txt; fail "rollback failed"; }
expect_grep "web1: left domain $vm@qemu:///system alone: its uuid is $uuid2, not the $uuid1 convoy defined" rb.txt
expect_grep "web1: deleted disk $pool/$vm-vda.raw" rb.txt
[ "$($VIRSH domuuid "$vm")" = "$uuid2" ] || fail "rollback removed a domain convoy did not define"
$VIRSH undefine "$vm" >/dev/null
rm -rf .convoy

# adopt: true takes a same-named volume over: overwritten with the
# source's bytes.  rollback --keep-volumes then removes the domain only.
$VIRSH vol-create-as "$pool" "$vm-vdb.raw" 1M --format raw >/dev/null
printf 'precious' | dd of="pool/$vm-vdb.raw" conv=notrunc 2>/dev/null
LV_VM=$vm libvirt_manifest "$d" "$pool"
sed -i "s|{name: web1, source: exports, rename: $vm}|{name: web1, source: exports, rename: $vm, adopt: true}|" manifest.yaml
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "adopting the volume failed"; }
cmp src/xvdb.raw "pool/$vm-vdb.raw" || fail "the adopted volume does not hold the source's bytes"
"$CONVOY" rollback --yes --keep-volumes manifest.yaml web1 > rbk.txt 2>&1 || { cat rbk.txt; fail "rollback --keep-volumes failed"; }
expect_grep "web1: kept disk $pool/$vm-vdb.raw" rbk.txt
$VIRSH dominfo "$vm" >/dev/null 2>&1 && fail "rollback --keep-volumes left the domain"
$VIRSH vol-info --pool "$pool" "$vm-vda.raw" >/dev/null 2>&1 || fail "rollback --keep-volumes deleted vda"
$VIRSH vol-delete --pool "$pool" "$vm-vda.raw" >/dev/null
$VIRSH vol-delete --pool "$pool" "$vm-vdb.raw" >/dev/null
rm -rf .convoy

# A pool that exists but is not started.
mkdir -p stopped/pool
stopped=convoy-t-stopped-$$
$VIRSH pool-define-as "$stopped" dir --target "$d/stopped/pool" >/dev/null
cleanup_fn "$VIRSH pool-undefine '$stopped' >/dev/null 2>&1 || true"
LV_VM=$vm libvirt_manifest "$d" "$stopped"
blocked "libvirt: storage pool '$stopped' on 'qemu:///system' is not active (disk vda); start it with virsh pool-start"

# A missing pool.
LV_VM=$vm libvirt_manifest "$d" convoy-no-such-pool
blocked "storage pool 'convoy-no-such-pool' does not exist on 'qemu:///system' (disk vda)"

# A missing network, a missing bridge.
LV_VM=$vm libvirt_manifest "$d" "$pool"
sed -i 's|to: {bridge: convoy-br0}|to: {network: convoy-no-such-net}|' manifest.yaml
blocked "network 'convoy-no-such-net' does not exist on 'qemu:///system'"
LV_VM=$vm LV_BRIDGE=convoy-nobr libvirt_manifest "$d" "$pool"
blocked "bridge 'convoy-nobr' does not exist on this host"

# A pool without room for preallocated disks (a 16 MiB tmpfs pool).
mkdir -p small
if mount -t tmpfs -o size=16M tmpfs small 2>/dev/null; then
    cleanup_fn "umount '$d/small'"
    small=$(pool_up "$d/small")
    cleanup_fn "pool_down '$small'"
    LV_VM=$vm libvirt_manifest "$d" "$small"
    set_default "$d" allocation preallocated
    blocked "storage pool '$small' has 16.0 MiB available, but the preallocated disks planned there need 104.0 MiB"
    # Sparse: a warning only (the data may fit).
    set_default "$d" allocation sparse
    expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
    expect_grep "warning: vm 'web1': storage pool '$small' has 16.0 MiB available" plan.txt
else
    echo "no tmpfs mount here: pool room not tested"
fi

# A stopped daemon: a socket that does not exist.
LV_VM=$vm LV_TARGET_URI="qemu+unix:///system?socket=$d/no-such-sock" libvirt_manifest "$d" "$pool"
blocked "libvirt: cannot connect to 'qemu+unix:///system?socket=.*no-such-sock': Failed to connect socket"
$VIRSH dominfo "$vm" >/dev/null 2>&1 && fail "a domain was defined"
exit 0

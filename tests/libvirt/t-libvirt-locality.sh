#!/bin/sh
# Locality is proven, never assumed (issue 18 item 2).
# a. convoy runs in its own mount namespace where the pool's folder is
#    another folder of the same name holding same-named files (a container
#    whose /var/lib/libvirt is not the host's): qemu:///system is a local
#    URI, but the marker written through the API does not read back, so the
#    volumes are uploaded; the decoy files stay untouched.
# b. a daemon reached only as qemu+tcp://127.0.0.1:PORT/system whose pool
#    path also exists on this machine (with a decoy file): convoy uploads,
#    the bytes land in the daemon's volume, the decoy is untouched.
# c. the plain local case still writes through the path (no probe volume
#    left behind).
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
requires qemu-img
requires unshare
[ "$(id -u)" -eq 0 ] || skip "bind mounts need root"
daemon_up
d=$(scratch)
make_fixture "$d" 64M
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
bridge_up convoy-br0
vm=convoy-t-loc-$$
cleanup_fn "domain_down '$vm'"
cd "$d"
LV_VM=$vm libvirt_manifest "$d" "$pool"
vols() { $VIRSH pool-refresh "$1" >/dev/null; $VIRSH vol-list "$1" | awk '{print $1}' | sort | tr '\n' ' '; }

# a. the decoy folder, bind-mounted over the pool folder for convoy only.
mkdir decoy
for f in "$vm-vda.raw" "$vm-vdb.raw"; do
    printf 'DECOY' > "decoy/$f"
    truncate -s 64M "decoy/$f"
done
cp decoy/"$vm-vdb.raw" decoy.ref
unshare -m sh -c "mount --bind '$d/decoy' '$d/pool' && exec '$CONVOY' apply --yes manifest.yaml" \
    > apply.a.log 2>&1 || { cat apply.a.log; fail "apply in the mount namespace failed"; }
cmp -s decoy/"$vm-vda.raw" decoy.ref || fail "convoy wrote the decoy vda (a same-named path taken as proof)"
cmp -s decoy/"$vm-vdb.raw" decoy.ref || fail "convoy wrote the decoy vdb (a same-named path taken as proof)"
same_content "pool/$vm-vda.raw" src/xvda.raw
same_content "pool/$vm-vdb.raw" src/xvdb.raw
[ "$(vols "$pool")" = "$vm-vda.raw $vm-vdb.raw " ] || fail "volumes (a probe volume left?): $(vols "$pool")"
"$CONVOY" rollback --yes manifest.yaml web1 > rb.a.log 2>&1 || { cat rb.a.log; fail "rollback failed"; }
rm -rf .convoy

# c. no namespace: proven local, written through the path.
"$CONVOY" apply --yes manifest.yaml > apply.c.log 2>&1 || { cat apply.c.log; fail "local apply failed"; }
same_content "pool/$vm-vdb.raw" src/xvdb.raw
[ "$(vols "$pool")" = "$vm-vda.raw $vm-vdb.raw " ] || fail "volumes (a probe volume left?): $(vols "$pool")"
[ -z "$(ls -A pool | grep convoy-probe)" ] || fail "probe file left in the pool folder"
"$CONVOY" rollback --yes manifest.yaml web1 > rb.c.log 2>&1 || { cat rb.c.log; fail "rollback failed"; }
rm -rf .convoy

# b. a daemon that is elsewhere, over TCP.
pd=$d/daemon
mkdir -p "$pd"
tcp_daemon_up "$pd" convoy-kvm-remote 5b0e4f7a-9c11-4d0e-a3c2-6f1d2e3b4a5c
rpool=convoy-loc-$$
mkdir -p "$pd/lib/images/$rpool" "/var/lib/libvirt/images/$rpool"
cleanup_fn "rm -rf '/var/lib/libvirt/images/$rpool'"
for f in "$vm-vda.raw" "$vm-vdb.raw"; do
    cp decoy.ref "/var/lib/libvirt/images/$rpool/$f"
done
virsh -q -c "$TCP_URI" pool-define-as "$rpool" dir --target "/var/lib/libvirt/images/$rpool" >/dev/null
virsh -q -c "$TCP_URI" pool-start "$rpool" >/dev/null
LV_TARGET_URI=$TCP_URI LV_VM=$vm libvirt_manifest "$d" "$rpool"
"$CONVOY" apply --yes manifest.yaml > apply.b.log 2>&1 || { cat apply.b.log; fail "apply over tcp failed"; }
cmp -s "/var/lib/libvirt/images/$rpool/$vm-vdb.raw" decoy.ref || fail "convoy wrote the same-named local file of a remote pool"
same_content "$pd/lib/images/$rpool/$vm-vda.raw" src/xvda.raw
same_content "$pd/lib/images/$rpool/$vm-vdb.raw" src/xvdb.raw
exit 0

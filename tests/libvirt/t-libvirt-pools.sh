#!/bin/sh
# Storage mapping: each disk lands in the pool that the target's pools.map
# gives its XenServer SR (by name_label), else in pools.default; without a
# default, a disk on an unmapped SR is a plan-time error naming it, and
# nothing is created.  Volumes are checked in the real pools.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
daemon_up
bridge_up convoy-br0
d=$(scratch)
make_fixture "$d" 4M
vm=convoy-t-pools-$$
cleanup_fn "domain_down '$vm'"
mkdir -p "$d/a" "$d/b"
pa=$(pool_up "$d/a")
cleanup_fn "pool_down '$pa'"
pb=$(pool_up "$d/b")
cleanup_fn "pool_down '$pb'"
cd "$d"
# web1: vda on "Local storage", vdb on "NFS SR".
$MKXVA -o exports/web1.xva --name web1 --pv --bootloader pygrub \
    --disk "xvda=src/xvda.raw,ref=Ref:10" \
    --disk "xvdb=size:4M,ref=Ref:9,pattern=7,sr=NFS SR" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0" > /dev/null
LV_VM=$vm libvirt_manifest "$d" "$pa"
sed -i "s|    pools: {default: $pa}|    pools: {default: $pa, map: {\"NFS SR\": $pb}}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "Ref:10 64.0 MiB (raw, sparse) → $pa/$vm-vda.raw" plan.txt
expect_grep "Ref:9 4.0 MiB (raw, sparse) → $pb/$vm-vdb.raw" plan.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply.log 2>&1 || { cat apply.log; exit 1; }
$VIRSH vol-list "$pa" | grep -q "$vm-vda.raw" || fail "vda is not in pool $pa"
$VIRSH vol-list "$pb" | grep -q "$vm-vdb.raw" || fail "vdb is not in pool $pb"
$VIRSH vol-list "$pa" | grep -q "$vm-vdb.raw" && fail "vdb is in the default pool too"
cmp src/xvda.raw "$d/a/pool/$vm-vda.raw" || fail "vda differs"
$VIRSH dumpxml "$vm" | grep -q "<source pool='$pb' volume='$vm-vdb.raw'/>" || fail "the domain does not use vdb in $pb"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# A pools.map entry that no disk matches (a typo, a stale SR) is warned
# about; the plan still succeeds.
sed -i "s|map: {\"NFS SR\": $pb}}|map: {\"NFS SR\": $pb, \"NFS SR2\": $pb}}|" manifest.yaml
expect_exit 0 "$CONVOY" plan manifest.yaml > planw.txt 2>&1
expect_grep "target 'kvm': pools.map entry 'NFS SR2' matches no disk of the VMs planned on it" planw.txt
grep -q "entry 'NFS SR'" planw.txt && fail "a used pools.map entry was warned about"
sed -i "s|, \"NFS SR2\": $pb}}|}}|" manifest.yaml

# No default and an unmapped SR: blocked at plan time, naming the disk.
"$CONVOY" rollback --yes manifest.yaml web1 > /dev/null
sed -i "s|    pools: {default: $pa, map: {\"NFS SR\": $pb}}|    pools: {map: {\"NFS SR\": $pb}}|" manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
expect_grep "disk 'xvda' (SR 'Local storage') has no storage pool on target 'kvm': add it to pools.map, or set pools.default" plan2.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply2.log 2>&1
$VIRSH vol-list "$pb" | grep -q "$vm" && fail "a volume was created for a blocked VM"

# File sources map by path: the longest folder above the disk wins.
mkdir -p vg/fast
cp src/xvda.raw vg/fast/root.raw
cp src/xvdb.raw vg/data.raw
cat > web2.xml <<EOT
<domain type='xen'>
  <name>web2</name>
  <memory unit='KiB'>524288</memory>
  <vcpu>1</vcpu>
  <bootloader>/usr/bin/pygrub</bootloader>
  <os><type arch='x86_64' machine='xenpv'>linux</type></os>
  <devices>
    <disk type='file' device='disk'><source file='$d/vg/fast/root.raw'/><target dev='xvda' bus='xen'/></disk>
    <disk type='file' device='disk'><source file='$d/vg/data.raw'/><target dev='xvdb' bus='xen'/></disk>
    <interface type='bridge'><mac address='aa:bb:cc:00:00:09'/><source bridge='xenbr0'/></interface>
  </devices>
</domain>
EOT
sed -i "s|  exports: {type: xva, path: exports}|  exports: {type: xva, path: exports}\n  dumps: {type: libvirtxml, path: web2.xml}|; s|    pools: {map: {\"NFS SR\": $pb}}|    pools: {map: {\"$d/vg\": $pb, \"$d/vg/fast/\": $pa}}|; s|      - {name: web1, source: exports, rename: $vm}|      - {name: web2, source: dumps, rename: $vm}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1 || { cat plan3.txt manifest.yaml; exit 1; }
expect_grep "→ $pa/$vm-vda.raw" plan3.txt
expect_grep "→ $pb/$vm-vdb.raw" plan3.txt
# volumes: names the volume in its mapped pool.
sed -i "s|      - {name: web2, source: dumps, rename: $vm}|      - {name: web2, source: dumps, rename: $vm, volumes: {vdb: data-$vm.img}}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan3b.txt 2>&1 || { cat plan3b.txt; exit 1; }
expect_grep "→ $pb/data-$vm.img" plan3b.txt

# per_pool counts the pools the disks land in (by pools.map), not the
# default pool: two VMs on two SRs mapped to two pools, per_pool 1,
# start side by side.
for n in 1 2; do
    $MKXVA -o exports/pp$n.xva --name pp$n --hvm --uuid "5e1f0000-0000-4000-8000-00000000000$n" \
        --disk "hda=size:64M,ref=Ref:5,pattern=$n,sr=SR $n" > /dev/null
    cleanup_fn "domain_down '$vm-pp$n'"
done
LV_VM=$vm libvirt_manifest "$d" "$pa"
sed -i "s|    pools: {default: $pa}|    pools: {default: $pa, map: {\"SR 1\": $pa, \"SR 2\": $pb}}|" manifest.yaml
python3 - manifest.yaml "$vm" <<'PY'
import sys
p, vm = sys.argv[1:3]
s = open(p).read()
s = s.replace("      - {name: web1, source: exports, rename: %s}\n" % vm,
              "    max_parallel: 2\n    limits: {per_pool: 1}\n"
              "      - {name: pp1, source: exports, rename: %s-pp1}\n"
              "      - {name: pp2, source: exports, rename: %s-pp2}\n" % (vm, vm))
s = s.replace("    vms:\n    max_parallel: 2\n    limits: {per_pool: 1}\n",
              "    max_parallel: 2\n    limits: {per_pool: 1}\n    vms:\n")
open(p, "w").write(s)
PY
rm -rf .convoy
"$CONVOY" apply --yes manifest.yaml > apply4.log 2>&1 || { cat apply4.log manifest.yaml; fail "apply of pp1 and pp2 failed"; }
python3 "$abs_top_srcdir/tests/tools/inflight.py" .convoy/state.db > inflight.txt
cat inflight.txt
expect_grep '^all 2$' inflight.txt
$VIRSH vol-list "$pb" | grep -q "$vm-pp2-sda.raw\|$vm-pp2-vda.raw" || fail "pp2 is not in pool $pb"
exit 0

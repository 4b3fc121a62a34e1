#!/bin/sh
# convoy discover against a real libvirtd (qemu:///system): two defined
# domains of this test (one named with a space, its disks listed vdb
# first, one NIC on a libvirt network) are listed read-only with their
# state, disks (device, size, path) and NICs; -o writes a wave with a
# safe target name, which validate accepts; nothing on the host changes.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires python3
daemon_up
d=$(scratch)
cd "$d"
vm=convoy-t-disc-$$
cleanup_fn "domain_down '$vm-a'; domain_down '$vm b'"
truncate -s 3M a.raw
truncate -s 1M b.raw
chmod 644 a.raw b.raw
cat > a.xml <<EOT
<domain type='qemu'><name>$vm-a</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$d/b.raw'/><target dev='vdb' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$d/a.raw'/><target dev='vda' bus='virtio'/></disk>
<interface type='network'><mac address='52:54:00:aa:00:01'/><source network='default'/><model type='virtio'/></interface>
</devices></domain>
EOT
sed "s|<name>$vm-a</name>|<name>$vm b</name>|; s|52:54:00:aa:00:01|52:54:00:aa:00:02|" a.xml > b.xml
$VIRSH define a.xml > /dev/null || fail "cannot define $vm-a"
$VIRSH define b.xml > /dev/null || fail "cannot define '$vm b'"
xml0=$($VIRSH dumpxml --inactive "$vm-a" | md5sum)
cat > manifest.yaml <<EOT
version: 1
defaults: {target: lab, guest: {fixup: false}}
sources:
  kvm0: {type: libvirt, uri: "$LV_URI"}
targets:
  lab: {type: directory, path: out, networks: [{from: any, to: {network: default}}]}
waves:
  - name: w1
    vms:
      - {name: $vm-a, source: kvm0}
EOT
# Other domains of the host may be listed too, and fail to describe:
# only this test's are checked.
set +e
"$CONVOY" discover --json manifest.yaml > inv.json 2> inv.err
"$CONVOY" discover manifest.yaml -o new.yaml > inv.txt 2>&1
set -e
python3 - inv.json "$vm" "$d" <<'PY'
import json, sys
vms = {v["name"]: v for v in json.load(open(sys.argv[1]))["vms"]}
vm, d = sys.argv[2], sys.argv[3]
a, b = vms[vm + "-a"], vms[vm + " b"]
assert a["in_manifest"] and a["wave"] == "w1", a
assert a["power_state"] == "halted", a
assert a["disks"] == [{"device": "vda", "size": 3 << 20, "storage": d + "/a.raw"},
                      {"device": "vdb", "size": 1 << 20, "storage": d + "/b.raw"}], a["disks"]
assert a["vifs"][0]["mac"] == "52:54:00:aa:00:01" and a["vifs"][0]["network"] == "default", a["vifs"]
assert not b["in_manifest"] and b["target_name"] == vm + "-b", b
PY
expect_grep "^  '$vm b'  halted  os: unknown  new, target name '$vm-b'$" inv.txt
expect_grep "^      - {name: \"$vm b\", source: kvm0, rename: \"$vm-b\"}$" new.yaml
grep -q "\"$vm-a\"" new.yaml && fail "new.yaml names the VM the manifest has"
expect_exit 0 "$CONVOY" validate manifest.yaml new.yaml > /dev/null
[ "$($VIRSH dumpxml --inactive "$vm-a" | md5sum)" = "$xml0" ] || fail "discover changed a domain"
$VIRSH domstate "$vm-a" | grep -q 'shut off' || fail "discover started a domain"
exit 0

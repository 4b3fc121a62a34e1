#!/bin/sh
# convoy discover, read-only, on four kinds of source:
#  a. an XVA folder: an export whose VBDs list xvdb before xvda (shown by
#     device), a VM named with a space and a slash (a safe target name,
#     pinned by file), two exports of one name, a file that is no XVA;
#     -o writes one wave of the new VMs with a stub for the unmapped
#     bridge; validate accepts it at once, plan once the stub is filled;
#  b. an xl folder: a cfg whose file name is not its VM's (pinned);
#  c. the XenAPI test double: power states, the guest metrics' OS, a
#     template left out, two VMs of one name (by uuid), an SR no pools.map
#     entry covers (a stub), --source and --json;
#  d. libvirt's test driver: domains with their state and libosinfo OS.
# The sources are unchanged.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires python3
d=$(scratch)
cd "$d"
mkdir exports xen images out

# a. XVA folder
$MKXVA -o exports/web1.xva --name web1 --pv --disk "xvdb=size:2M,ref=Ref:9" \
    --disk "xvda=size:4M,ref=Ref:10" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0,network=Pool net" >/dev/null
$MKXVA -o exports/odd.xva --name "my app/2" --seed 2 --disk "xvda=size:1M,ref=Ref:10" \
    --vif "0=aa:bb:cc:00:00:02,bridge=xenbr1,network=VLAN 20" >/dev/null
$MKXVA -o exports/twin-a.xva --name "twin" --seed 3 --disk "xvda=size:1M,ref=Ref:10" >/dev/null
$MKXVA -o exports/twin-b.xva --name "twin" --seed 4 --disk "xvda=size:1M,ref=Ref:10" >/dev/null
echo "not an export" > exports/junk.xva
sums0=$(cat exports/* | md5sum)
cat > manifest.yaml <<'EOT'
version: 1
defaults: {target: lab, disk_format: raw, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  lab:
    type: directory
    path: out
    networks:
      - {from: {bridge: xenbr0}, to: {network: default}}
waves:
  - name: w1
    vms:
      - {name: web1, source: exports}
EOT
expect_exit 1 "$CONVOY" discover manifest.yaml -o new.yaml > d1.txt 2> d1.err
cat d1.txt
expect_grep "^source 'exports' (xva): 5 VMs, 1 in the manifest$" d1.txt
expect_grep "^  'web1'  exported  os: debian 12  in the manifest (wave w1)$" d1.txt
expect_grep "^  'my app/2'  exported  os: debian 12  new, target name 'my-app-2'$" d1.txt
expect_grep "^  'junk.xva': cannot describe it: .*junk.xva': archive: unrecognized archive format$" d1.txt
# web1's disks by device, though its export lists xvdb first
grep -A4 "^  'web1'" d1.txt | grep '^    disk' > web1-disks.txt
printf '    disk xvda  4.0 MiB  SR Local storage\n    disk xvdb  2.0 MiB  SR Local storage\n' | diff - web1-disks.txt
expect_grep "^    vif 0  aa:bb:cc:00:00:02  network VLAN 20  bridge xenbr1$" d1.txt
expect_grep "one VM could not be described" d1.err
cat new.yaml
expect_grep '^version: 1$' new.yaml
expect_grep '^  - name: discovered$' new.yaml
expect_grep "^      - {name: \"my-app-2\", source: exports, file: \"$d/exports/odd.xva\"}   # 'my app/2'$" new.yaml
expect_grep "^      - {name: \"twin\", source: exports, file: \"$d/exports/twin-a.xva\"}" new.yaml
expect_grep "^      - {name: \"twin-2\", source: exports, file: \"$d/exports/twin-b.xva\"}" new.yaml
expect_grep '^#       - {from: {bridge: "xenbr1"}, to: {network: CHANGE-ME}}   # network "VLAN 20"$' new.yaml
if grep -q 'web1\|junk' new.yaml; then fail "new.yaml names a VM the manifest has, or an unreadable file"; fi
expect_exit 0 "$CONVOY" validate manifest.yaml new.yaml > v.txt
expect_grep 'valid: 2 files, 1 source, 1 target, 2 waves, 4 VMs' v.txt
# The bridge is not mapped yet: the plan says so; with the stub filled in
# the target, it plans every VM.
expect_exit 1 "$CONVOY" plan manifest.yaml new.yaml > p1.txt 2>&1
expect_grep "xenbr1" p1.txt
sed -i 's|      - {from: {bridge: xenbr0}, to: {network: default}}|&\n      - {from: {bridge: xenbr1}, to: {network: vlan20}}|' manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml new.yaml > p2.txt 2>&1
expect_grep 'my-app-2' p2.txt
# Everything known now: a second discover writes an empty wave.
expect_exit 1 "$CONVOY" discover manifest.yaml new.yaml -o again.yaml > d2.txt 2>/dev/null
expect_grep "^source 'exports' (xva): 5 VMs, 4 in the manifest$" d2.txt
expect_grep '^  - name: discovered-2$' again.yaml
expect_grep '^    vms: \[\]' again.yaml
expect_exit 0 "$CONVOY" validate manifest.yaml new.yaml again.yaml > /dev/null
[ "$(cat exports/* | md5sum)" = "$sums0" ] || fail "an export changed"

# b. xl folder: app1.cfg holds app1; other.cfg holds "db 1".
truncate -s 3M images/root.img
truncate -s 1M images/db.img
cat > xen/app1.cfg <<EOT
name = "app1"
memory = 512
disk = [ 'file:$d/images/root.img,xvda,w' ]
vif = [ 'mac=00:16:3e:42:00:01,bridge=xenbr0' ]
EOT
cat > xen/other.cfg <<EOT
name = "db 1"
memory = 512
disk = [ 'file:$d/images/db.img,xvdb,w', 'file:$d/images/root.img,xvda,r' ]
vif = [ 'mac=00:16:3e:42:00:02,bridge=xenbr9' ]
EOT
cat > xl.yaml <<'EOT'
version: 1
defaults: {target: lab, disk_format: raw, guest: {fixup: false}}
sources:
  xen1: {type: xl, path: xen}
targets:
  lab: {type: directory, path: out2, networks: [{from: {bridge: xenbr0}, to: {network: default}}]}
waves: []
EOT
expect_exit 0 "$CONVOY" discover xl.yaml -o xl-new.yaml > x1.txt
expect_grep "^  'app1'  unknown  os: unknown  new$" x1.txt
expect_grep "^  'db 1'  unknown  os: unknown  new, target name 'db-1'$" x1.txt
expect_grep "^    disk xvda  3.0 MiB  path $d/images/root.img$" x1.txt
expect_grep "^      - {name: \"app1\", source: xen1}$" xl-new.yaml
expect_grep "^      - {name: \"db 1\", source: xen1, rename: \"db-1\", file: \"$d/xen/other.cfg\"}$" xl-new.yaml
expect_grep '{from: {bridge: "xenbr9"}' xl-new.yaml
sed -i 's|networks: \[{from: {bridge: xenbr0}, to: {network: default}}\]|networks: [{from: any, to: {network: default}}]|' xl.yaml
expect_exit 0 "$CONVOY" discover xl.yaml -o xl-new.yaml > /dev/null
if grep -q CHANGE-ME xl-new.yaml; then fail "a stub for a network that 'any' covers"; fi
expect_exit 2 "$CONVOY" plan xl.yaml xl-new.yaml > x2.txt 2>&1
expect_grep 'db-1' x2.txt

# c. the XenAPI test double
requires openssl
XS="python3 $abs_top_srcdir/tests/xenapi/xenapi-server.py"
mkdir pool
$MKXVA -o pool/a.xva --name "web 1" --seed 11 --disk "xvda=size:2M,ref=Ref:10" \
    --vif "0=aa:bb:cc:00:01:01,bridge=xenbr0,network=Pool net" --extra-vm template >/dev/null
$MKXVA -o pool/b.xva --name "web 1" --seed 12 --uuid 7d3c0e2a-51b4-4c2e-9f0a-2b1c3d4e5f60 --disk "xvda=size:1M,ref=Ref:10" >/dev/null
$MKXVA -o pool/c.xva --name "db1" --seed 13 --disk "xvdb=size:1M,ref=Ref:9" \
    --disk "xvda=size:3M,ref=Ref:10" >/dev/null
make_ca "$d"
printf 'pw-%s\n' "$$" > server-pw
start_server port sh -c "exec $XS --port-file \"\$PORT_FILE\" --tls $d/server.pem $d/server.key --password-file server-pw --vm pool/a.xva:Running --vm pool/b.xva:Halted --vm pool/c.xva:Halted --state xs.json"
uuid_b=7d3c0e2a-51b4-4c2e-9f0a-2b1c3d4e5f60
cat > xs.yaml <<EOT
version: 1
defaults: {target: kvm1, guest: {fixup: false}}
sources:
  pool: {type: xenserver, url: "https://127.0.0.1:$port/", username: root,
         password_file: server-pw, ca_file: ca.pem}
  exports: {type: xva, path: exports}
targets:
  kvm1:
    type: libvirt
    uri: "test:///default"
    pools: {map: {"Other SR": default}}
waves:
  - name: w1
    vms:
      - {name: db1, source: pool}
EOT
expect_exit 0 "$CONVOY" discover --source pool xs.yaml -o xs-new.yaml > s1.txt
cat s1.txt xs-new.yaml
expect_grep "^source 'pool' (xenserver): 3 VMs, 1 in the manifest$" s1.txt
if grep -q "exports" s1.txt; then fail "--source pool listed another source"; fi
# One name twice: sorted by uuid, found by uuid, two safe target names.
expect_grep "^  'web 1'  halted  os: debian 12  new, target name 'web-1'$" s1.txt
expect_grep "^  'web 1'  running  os: debian 12  new, target name 'web-1-2'$" s1.txt
expect_grep "^  'db1'  halted  os: debian 12  in the manifest (wave w1)$" s1.txt
if grep -q template s1.txt; then fail "a template was listed"; fi
expect_grep "^      - {name: \"$uuid_b\", source: pool, rename: \"web-1\"}   # 'web 1'$" xs-new.yaml
expect_grep '^#         "Local storage": CHANGE-ME$' xs-new.yaml
expect_exit 0 "$CONVOY" validate xs.yaml xs-new.yaml > /dev/null
expect_exit 0 "$CONVOY" discover --json --source pool xs.yaml > s.json
python3 - s.json "$uuid_b" <<'PY'
import json, sys
vms = json.load(open(sys.argv[1]))["vms"]
assert len(vms) == 3, vms
b = [v for v in vms if v["uuid"] == sys.argv[2]][0]
assert b["name"] == "web 1" and b["power_state"] == "halted" and b["os"] == "debian 12", b
assert not b["in_manifest"] and b["target_name"] == "web-1", b
db = [v for v in vms if v["name"] == "db1"][0]
assert db["in_manifest"] and db["wave"] == "w1", db
assert [x["device"] for x in db["disks"]] == ["xvda", "xvdb"], db["disks"]
assert db["disks"][0] == {"device": "xvda", "size": 3 << 20, "storage": "Local storage"}, db["disks"]
a = [v for v in vms if v["power_state"] == "running"][0]
assert a["vifs"] == [{"device": "0", "mac": "aa:bb:cc:00:01:01", "network": "Pool net", "bridge": "xenbr0"}], a["vifs"]
PY
grep -q 'shutdown' xs.json && fail "discover called a shutdown"
no_secret "pw-$$" s1.txt
no_secret "pw-$$" s.json
expect_exit 64 "$CONVOY" discover --source nosuch xs.yaml 2> s2.err
expect_grep "'nosuch': the manifest has no such source" s2.err

# d. libvirt's test driver
if command -v virsh > /dev/null; then
    cat > node.xml <<EOT
<node>
  <domain type='xen'>
    <name>lv web</name>
    <memory unit='KiB'>524288</memory>
    <metadata>
      <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
        <libosinfo:os id="http://debian.org/debian/12"/>
      </libosinfo:libosinfo>
    </metadata>
    <os><type arch='x86_64' machine='xenpv'>linux</type></os>
    <devices>
      <disk type='file' device='disk'>
        <source file='$d/images/root.img'/>
        <target dev='xvda' bus='xen'/>
      </disk>
      <interface type='bridge'>
        <mac address='AA:BB:CC:00:02:01'/>
        <source bridge='xenbr0'/>
      </interface>
    </devices>
  </domain>
  <domain type='xen'>
    <name>-lv odd</name>
    <uuid>5c1f0a3e-9d2b-4e6f-8a7c-1b2d3e4f5a6b</uuid>
    <memory unit='KiB'>524288</memory>
    <os><type arch='x86_64' machine='xenpv'>linux</type></os>
    <devices>
      <disk type='file' device='disk'>
        <source file='$d/images/db.img'/>
        <target dev='xvda' bus='xen'/>
      </disk>
    </devices>
  </domain>
</node>
EOT
    cat > lv.yaml <<EOT
version: 1
defaults: {target: lab, guest: {fixup: false}}
sources:
  xen2: {type: libvirt, uri: "test://$d/node.xml"}
targets:
  lab: {type: directory, path: out3, networks: [{from: any, to: {network: default}}]}
waves: []
EOT
    expect_exit 0 "$CONVOY" discover lv.yaml -o lv-new.yaml > l1.txt
    expect_grep "^  'lv web'  running  os: debian 12  new, target name 'lv-web'$" l1.txt
    expect_grep "^    vif 0  aa:bb:cc:00:02:01  network xenbr0  bridge xenbr0$" l1.txt
    expect_grep '^      - {name: "lv web", source: xen2, rename: "lv-web"}$' lv-new.yaml
    # A name a manifest cannot hold (a leading '-'): found by its uuid.
    expect_grep "^  '-lv odd'  running  os: unknown  new, target name 'lv-odd'$" l1.txt
    expect_grep '^      - {name: "5c1f0a3e-9d2b-4e6f-8a7c-1b2d3e4f5a6b", source: xen2, rename: "lv-odd"}   # '"'-lv odd'"'$' lv-new.yaml
    expect_exit 0 "$CONVOY" validate lv.yaml lv-new.yaml > /dev/null
    expect_exit 2 "$CONVOY" plan lv.yaml lv-new.yaml > l2.txt 2>&1
    expect_grep 'vm 5c1f0a3e-9d2b-4e6f-8a7c-1b2d3e4f5a6b → lv-odd' l2.txt
fi
exit 0

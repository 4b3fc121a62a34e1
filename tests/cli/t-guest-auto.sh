#!/bin/sh
# guest: {fixup: auto}, the default, at plan time (no appliance runs):
#  a. a VM from an XVA gets a guest-fixup step without asking;
#  b. fixup: false (written) drops it, fixup: true keeps it, and a value
#     that is neither is a manifest error;
#  c. a Windows guest, named by the XenServer guest metrics, is blocked
#     with what to do, and apply refuses it (nothing written); with
#     guest: {fixup: false} for it, it is planned and copied;
#  d. a KVM domain read from a libvirt host gets no repair.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires python3
d=$(scratch)
make_fixture "$d" 4M
cd "$d"

# a. the default
sed -i '/^  guest: {fixup: false}$/d' manifest.yaml
grep -q guest manifest.yaml && fail "the fixture still sets guest:"
expect_exit 2 "$CONVOY" plan manifest.yaml > a.txt 2>&1
expect_grep '^    + todo   guest-fixup ' a.txt
expect_grep 'Plan: 5 to do' a.txt

# b. explicit values
set_default_guest() { sed -i "/^  guest: /d; s/^  target: lab$/  target: lab\n  guest: $1/" manifest.yaml; }
set_default_guest "{fixup: false}"
expect_exit 2 "$CONVOY" plan manifest.yaml > b1.txt 2>&1
grep -q 'guest-fixup' b1.txt && fail "fixup: false still plans a guest-fixup"
set_default_guest "{fixup: true}"
expect_exit 2 "$CONVOY" plan manifest.yaml > b2.txt 2>&1
expect_grep '^    + todo   guest-fixup ' b2.txt
set_default_guest "{fixup: sometimes}"
expect_exit 3 "$CONVOY" validate manifest.yaml 2> b3.err
expect_grep "manifest.yaml:[0-9]*:[0-9]*: error: 'fixup': expected true, false or auto, got 'sometimes'" b3.err

# c. a Windows guest on a XenServer pool (the XenAPI test double)
requires openssl
XS="python3 $abs_top_srcdir/tests/xenapi/xenapi-server.py"
$MKXVA -o win1.xva --name win1 --hvm --seed 21 --os-name "Microsoft Windows Server 2019 Standard|C:\\Windows|\\Device\\Harddisk0\\Partition2" \
    --disk "xvda=size:2M,ref=Ref:10" --vif "0=aa:bb:cc:00:00:09,bridge=xenbr0,network=Pool net" >/dev/null
make_ca "$d"
printf 'pw-%s\n' "$$" > server-pw
start_server port sh -c "exec $XS --port-file \"\$PORT_FILE\" --tls $d/server.pem $d/server.key --password-file server-pw --vm win1.xva:Halted"
cat > win.yaml <<EOT
version: 1
defaults: {target: lab, disk_format: raw}
sources:
  pool: {type: xenserver, url: "https://127.0.0.1:$port/", username: root,
         password_file: server-pw, ca_file: ca.pem}
targets:
  lab: {type: directory, path: wout, networks: [{from: any, to: {network: default}}]}
waves:
  - name: w
    vms:
      - {name: win1, source: pool}
EOT
expect_exit 1 "$CONVOY" plan win.yaml > c1.txt 2>&1
expect_grep "vm 'win1': the source says the guest is 'Microsoft Windows Server 2019 Standard', which no guest rule set repairs (convoy repairs Linux guests only): make it ready for KVM yourself (virtio drivers, see convoy-manifest(5)), then set guest: {fixup: false} for it" c1.txt
expect_exit 1 "$CONVOY" apply --yes win.yaml > c2.txt 2>&1
expect_grep "the source says the guest is 'Microsoft Windows Server 2019 Standard'" c2.txt
[ ! -e wout/win1-vda.raw ] || fail "apply copied a guest it refused"
sed -i 's/{name: win1, source: pool}/{name: win1, source: pool, guest: {fixup: false}}/' win.yaml
expect_exit 2 "$CONVOY" plan win.yaml > c3.txt 2>&1
grep -q 'guest-fixup' c3.txt && fail "fixup: false still plans a guest-fixup"
expect_exit 0 "$CONVOY" apply --yes win.yaml > c4.txt 2>&1
[ -e wout/win1-vda.raw ] || fail "win1 with fixup: false was not copied"

# d. a KVM domain from a libvirt host (libvirt's test driver)
if command -v virsh > /dev/null; then
    cat > node.xml <<EOT
<node>
  <domain type='kvm'>
    <name>kvm1</name>
    <memory unit='KiB'>524288</memory>
    <os><type arch='x86_64'>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <source file='$d/src/xvdb.raw'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
  </domain>
</node>
EOT
    cat > kvm.yaml <<EOT
version: 1
defaults: {target: lab, disk_format: raw}
sources:
  host: {type: libvirt, uri: "test://$d/node.xml"}
targets:
  lab: {type: directory, path: kout}
waves:
  - name: w
    vms:
      - {name: kvm1, source: host}
EOT
    expect_exit 2 "$CONVOY" plan kvm.yaml > d1.txt 2>&1
    expect_grep 'disk-copy vda' d1.txt
    grep -q 'guest-fixup' d1.txt && fail "a KVM domain got a guest-fixup"
fi
exit 0

#!/bin/sh
# Host moves (a wave's moves:, the host-migrate step) between two libvirt
# daemons of this test's own, each in a private mount and UTS namespace
# (tests/libvirt/daemon.sh private_daemon_up), on unix sockets only:
# an offline move with persist and undefine_source, run twice; a live
# peer-to-peer move of a running TCG guest; a domain on neither host and
# two different domains of one name block their moves.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
requires virsh
d=$(scratch)
chmod 755 "$(dirname "$d")" "$d"
private_daemon_up "$d/a" convoy-move-a-$$ "6c6f6f70-6d76-0000-0000-$(printf '%012d' $$)"
A=$PRIVATE_URI
private_daemon_up "$d/b" convoy-move-b-$$ "6c6f6f70-6d76-0000-0001-$(printf '%012d' $$)"
B=$PRIVATE_URI
cd "$d"

# domain_xml NAME [DISK]: a small TCG domain, with a raw disk if given.
domain_xml() {
    disk=""
    [ -n "${2:-}" ] && disk="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$2'/><target dev='vda' bus='virtio'/></disk>"
    cat <<EOT
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>$disk</devices>
</domain>
EOT
}

off=convoy-mv-off-$$
truncate -s 16M "$d/off.raw"
domain_xml "$off" "$d/off.raw" > off.xml
virsh -q -c "$A" define off.xml >/dev/null || fail "cannot define $off on A"

cat > manifest.yaml <<EOT
version: 1
targets:
  kvm-a: {type: libvirt, uri: "$A"}
  kvm-b: {type: libvirt, uri: "$B"}
waves:
  - name: rebalance
    moves:
      - {domain: $off, from: kvm-a, to: kvm-b, persist: true, undefine_source: true}
EOT

expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "convoy plan: 0 VMs, 1 move " plan.txt
expect_grep "  move $off (from kvm-a; to kvm-b)" plan.txt
expect_grep "+ todo   host-migrate       kvm-a → kvm-b (offline, persist, undefine source)" plan.txt
expect_grep "not moved yet: on kvm-a (shut off)" plan.txt
"$CONVOY" plan --json manifest.yaml > plan.json || true
expect_grep '"kind": "host-migrate"' plan.json
expect_grep '"move": true' plan.json
# plan changed nothing anywhere
virsh -q -c "$A" dominfo "$off" >/dev/null || fail "plan touched the source"

"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "apply failed"; }
expect_grep "$off/host-migrate: done" apply.txt
virsh -q -c "$B" dominfo "$off" > info.txt || fail "$off is not on B"
expect_grep "Persistent: *yes" info.txt
expect_grep "State: *shut off" info.txt
virsh -q -c "$A" dominfo "$off" >/dev/null 2>&1 && fail "$off is still defined on A"

# status and report list the move with its step.
"$CONVOY" status manifest.yaml > status.txt
expect_grep "$off (wave rebalance, move from kvm-a to kvm-b)" status.txt
expect_grep "host-migrate  *done" status.txt
"$CONVOY" report manifest.yaml > report.txt
expect_grep "$off" report.txt
expect_grep "host-migrate" report.txt

# The second time: nothing to do, nothing done.
expect_exit 0 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "= done   host-migrate" plan.txt
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "second apply failed"; }
grep -q "starting" apply.txt && { cat apply.txt; fail "the second apply did something"; }
# Done also for a new state store: the hosts say where the domain is.
expect_exit 0 "$CONVOY" plan --state "$d/other.db" manifest.yaml > plan.txt

# On neither host: a clear error, exit 1, the other move unaffected.
none=convoy-mv-none-$$
cat >> manifest.yaml <<EOT
      - {domain: $none, from: kvm-a, to: kvm-b}
EOT
expect_exit 1 "$CONVOY" plan manifest.yaml > plan.txt
# (plan shows paths under the manifest's folder relative to it)
expect_grep "error: move '$none': domain '$none' is on neither host: not on kvm-a (qemu+unix:///system?socket=a/run/libvirt-sock) and not on kvm-b (qemu+unix:///system?socket=b/run/libvirt-sock)" plan.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1
virsh -q -c "$B" dominfo "$off" >/dev/null || fail "$off moved away from B"

# Two different domains of one name, one on each host: a conflict.
twin=convoy-mv-twin-$$
domain_xml "$twin" > twin.xml
virsh -q -c "$A" define twin.xml >/dev/null
virsh -q -c "$B" define twin.xml >/dev/null
sed -i "s|^      - {domain: $none.*|      - {domain: $twin, from: kvm-a, to: kvm-b}|" manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "domain '$twin' on kvm-a (uuid [0-9a-f-]*) and domain '$twin' on kvm-b (uuid [0-9a-f-]*) are different domains" plan.txt
virsh -q -c "$A" undefine "$twin" >/dev/null
virsh -q -c "$B" undefine "$twin" >/dev/null

# Live, peer to peer (A's daemon connects to B's socket itself), over a
# loopback migration URI, under TCG.
live=convoy-mv-live-$$
domain_xml "$live" > live.xml
virsh -q -c "$A" define live.xml >/dev/null
virsh -q -c "$A" start "$live" >/dev/null 2>start.err || { cat start.err >&2; fail "cannot start a TCG guest on A"; }
sed -i "s|^      - {domain: $twin.*|      - {domain: $live, from: \"$A\", to: kvm-b, live: true, peer_to_peer: true, migrate_uri: \"tcp://127.0.0.1\", bandwidth: 1000, undefine_source: true}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "(live, peer-to-peer, persist, undefine source, via tcp://127.0.0.1, 1000 MiB/s)" plan.txt
expect_grep "not moved yet: on qemu+unix:///system?socket=a/run/libvirt-sock (running)" plan.txt
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "live move failed"; }
virsh -q -c "$B" domstate "$live" > state.txt
expect_grep "running" state.txt
virsh -q -c "$A" dominfo "$live" >/dev/null 2>&1 && fail "$live is still on A"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan.txt

# A live move of a shut-off domain is refused before anything runs.
virsh -q -c "$B" destroy "$live" >/dev/null
sed -i "s|from: \"$A\", to: kvm-b|from: kvm-b, to: kvm-a|" manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "live: true moves a running domain, and '$live' is shut off on kvm-b" plan.txt
exit 0

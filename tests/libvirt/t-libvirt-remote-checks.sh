#!/bin/sh
# The checks `convoy plan` makes for a remote libvirt target (issue 18
# item 4), against a daemon reached only as qemu+tcp://127.0.0.1:PORT/system:
# a bad URI names the URI and libvirt's message; an inactive pool, a
# missing network, an inactive network, a domain name taken by a domain
# convoy did not define, and a machine type the host lacks are each
# reported with their exact message; nothing on the daemon changes.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
d=$(scratch)
make_fixture "$d" 16M
pd=$d/daemon
mkdir -p "$pd"
tcp_daemon_up "$pd" convoy-kvm-checks 7c1f0a2e-3b4d-4e5f-8a6b-9c0d1e2f3a4b
R="virsh -q -c $TCP_URI"
rpool=convoy-chk-$$
mkdir -p "$pd/lib/images/$rpool" "$pd/lib/images/$rpool-off"
$R pool-define-as "$rpool" dir --target "/var/lib/libvirt/images/$rpool" >/dev/null
$R pool-start "$rpool" >/dev/null
$R pool-define-as "$rpool-off" dir --target "/var/lib/libvirt/images/$rpool-off" >/dev/null
cat > "$d/net.xml" <<EOT
<network><name>convoy-off</name><bridge name='cvychk$$'/></network>
EOT
$R net-define "$d/net.xml" >/dev/null
vm=convoy-t-chk-$$
cd "$d"
manifest() {   # POOL NETWORK_MAPPING [RULES]
    cat > manifest.yaml <<EOT
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
    uri: "$URI"
    domain_type: qemu
    pools: {default: $1}
    networks:
      - {from: {bridge: xenbr0}, to: $2}
waves:
  - name: wave-1
    vms:
      - {name: web1, source: exports, rename: $vm${3:+, rules: [$3]}}
EOT
}
# plan_exit WANT FILE: convoy plan exits WANT, its output in FILE.
plan_exit() {
    set +e
    "$CONVOY" plan manifest.yaml > "$2" 2>&1
    _got=$?
    set -e
    [ "$_got" -eq "$1" ] || { cat "$2" >&2; fail "convoy plan exited $_got, expected $1 ($2)"; }
}
# has FILE LINE: FILE has exactly this line.
has() { grep -qxF -- "$2" "$1" || { cat "$1"; fail "$1 lacks the line: $2"; }; }
state() { { $R list --all --name; $R pool-list --all --name; $R net-list --all --name; $R vol-list "$rpool"; } | sort; }
before=$(state)

# a. a URI where nothing listens.
port=$(python3 -c 'import socket
s=socket.socket()
s.bind(("127.0.0.1",0))
print(s.getsockname()[1])')
URI="qemu+tcp://127.0.0.1:$port/system"
manifest "$rpool" "{network: convoy-off}"
plan_exit 1 a.txt
has a.txt "error: vm 'web1': target 'kvm': libvirt: cannot connect to '$URI': unable to connect to server at '127.0.0.1:$port': Connection refused"

URI=$TCP_URI
# b. an inactive pool, a network that does not exist.
manifest "$rpool-off" "{network: convoy-none}"
plan_exit 1 b.txt
has b.txt "error: vm 'web1': libvirt: storage pool '$rpool-off' on '$URI' is not active (disk vda); start it with virsh pool-start; libvirt: network 'convoy-none' does not exist on '$URI'; define it or map the interface to another network"

# c. an inactive network (a note), a domain of the same name convoy did not define.
$R define /dev/stdin >/dev/null <<EOT
<domain type='qemu'><name>$vm</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>
EOT
manifest "$rpool" "{network: convoy-off}"
plan_exit 1 c.txt
has c.txt "warning: vm 'web1': network 'convoy-off' on '$URI' is not active; the domain cannot start until it is"
has c.txt "error: vm 'web1': conflict: domain '$vm' already exists on '$URI' and convoy did not define it; it is never overwritten (set 'adopt: true' on the vm to take it over)"
$R undefine "$vm" >/dev/null

# d. a machine type the host lacks (a rule set of the manifest's sets it).
mkdir -p rules/domain
cat > rules/domain/old-machine.yaml <<EOT
name: old-machine
version: 1
description: ask for a machine type no host has
rules:
  - id: machine
    description: a machine type that does not exist
    select: /domain/os/type
    set-attr: {machine: pc-q35-0.1}
EOT
manifest "$rpool" "{network: convoy-off}" "xen-to-kvm, old-machine"
plan_exit 1 d.txt
has d.txt "error: vm 'web1': libvirt: the host of '$URI' cannot run the converted domain (domain type 'qemu', arch 'x86_64', machine 'pc-q35-0.1'): invalid argument: the machine 'pc-q35-0.1' is not supported by emulator '/usr/bin/qemu-system-x86_64'"

# e. all good but the inactive network: the plan is clean of problems.
manifest "$rpool" "{network: convoy-off}"
plan_exit 2 e.txt
has e.txt "Plan: 4 to do, 0 to resume, 0 to redo, 0 done."
grep -q "error" e.txt && { cat e.txt; fail "a plan with only an inactive network has errors"; }
[ "$(state)" = "$before" ] || fail "the plans changed the daemon: $(state) (was $before)"
exit 0

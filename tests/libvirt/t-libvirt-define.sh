#!/bin/sh
# domain-define on a real daemon: an XML libvirt rejects fails the step
# with libvirt's message and keeps the XML in the state store; a domain
# changed or removed outside convoy is drift the plan redoes.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
requires sqlite3
daemon_up
d=$(scratch)
make_fixture "$d"
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
bridge_up convoy-br0
vm=convoy-t-def-$$
cleanup_fn "domain_down '$vm'"
cd "$d"
LV_VM=$vm libvirt_manifest "$d" "$pool"

# A user rule set that makes the XML invalid for libvirt's schema.
mkdir -p rules/domain
cat > rules/domain/break-it.yaml <<'EOT'
name: break-it
version: 1
rules:
  - id: bogus-device
    select: /domain/devices
    add: <bogus-device/>
EOT
sed -i 's|^  start: false|  start: false\n  rules: [xen-to-kvm, break-it]|' manifest.yaml
# convoy checks the converted XML against libvirt's domain schema first.
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1
expect_grep "web1/domain-convert: failed: domain '$vm': libvirt's domain schema rejects the converted XML" apply.txt
$VIRSH dominfo "$vm" >/dev/null 2>&1 && fail "a domain the schema rejects was defined"
# With that check off (CONVOY_LIBVIRT_SCHEMA empty), libvirt itself
# refuses it at define time, and the XML is kept for inspection.
expect_exit 1 env CONVOY_LIBVIRT_SCHEMA= "$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1
expect_grep "web1/domain-define: failed: libvirt: domain '$vm': define rejected: " apply.txt
expect_grep "kept in the state store as event 'rejected-xml'" apply.txt
$VIRSH dominfo "$vm" >/dev/null 2>&1 && fail "a rejected domain was defined"
xml=$(sqlite3 .convoy/state.db "SELECT message FROM events WHERE kind = 'rejected-xml' ORDER BY id DESC LIMIT 1")
echo "$xml" | grep -q "<bogus-device/>" || fail "the rejected XML is not in the state store"
"$CONVOY" status manifest.yaml > status.txt
expect_grep "define rejected" status.txt

# Fixed rules: only the define (and convert) run again.
sed -i 's|rules: \[xen-to-kvm, break-it\]|rules: [xen-to-kvm]|' manifest.yaml
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "apply failed"; }
grep -q "disk-copy.*starting" apply.txt && fail "disks copied again"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# Drift: changed outside convoy, then removed outside convoy.
$VIRSH setmaxmem "$vm" 524288 --config >/dev/null
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "! redo   domain-define" plan.txt
expect_grep "was changed outside convoy" plan.txt
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "re-define failed"; }
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
$VIRSH undefine "$vm" >/dev/null
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "domain '$vm@qemu:///system' is missing" plan.txt
"$CONVOY" apply --yes manifest.yaml > apply.txt 2>&1 || { cat apply.txt; fail "re-define failed"; }
$VIRSH dominfo "$vm" >/dev/null || fail "domain not defined again"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
exit 0

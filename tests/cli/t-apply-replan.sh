#!/bin/sh
# Changing the manifest or a rule file re-plans exactly the affected steps.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires qemu-img
d=$(scratch)
make_fixture "$d" 8M
cd "$d"
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null

# disk_format raw → qcow2: every step is redone, and the plan says why.
set_default "$d" disk_format qcow2
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep '! redo   disk-copy vda' plan.txt
expect_grep 'inputs changed: disk_format (raw → qcow2), location' plan.txt
expect_grep '! redo   domain-define' plan.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
qemu-img info out/web1-kvm-vda.qcow2 | grep -q 'file format: qcow2' || fail "vda is not qcow2"
same_content src/xvda.raw out/web1-kvm-vda.qcow2
same_content src/xvdb.raw out/web1-kvm-vdb.qcow2
expect_grep "type='qcow2'" out/web1-kvm.xml
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# A user rule set beside the manifest overrides the shipped one by name:
# only the domain steps are redone, never the disk copies.
mkdir -p rules/domain
cp "$abs_top_srcdir/rules/domain/xen-to-kvm.yaml" rules/domain/
printf '\n' >> rules/domain/xen-to-kvm.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan2.txt
expect_grep '= done   disk-copy vda' plan2.txt
expect_grep '= done   disk-copy vdb' plan2.txt
expect_grep '! redo   domain-convert' plan2.txt
expect_grep 'inputs changed: rules' plan2.txt
expect_grep 'Plan: 0 to do, 0 to resume, 2 to redo, 2 done.' plan2.txt

# Drift: a deleted output is noticed by the probe and redone.
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
rm out/web1-kvm.xml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan3.txt
expect_grep "domain 'out/web1-kvm.xml' is missing" plan3.txt
exit 0

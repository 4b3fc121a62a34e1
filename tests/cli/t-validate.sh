#!/bin/sh
# validate: 0 for a valid manifest, 3 with FILE:LINE:COL errors otherwise,
# 64 for usage errors.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 1M
cd "$d"
expect_exit 0 "$CONVOY" validate manifest.yaml > v.txt
expect_grep '^valid: 1 file, 1 source, 1 target, 1 wave, 1 VM' v.txt
sed -i 's/disk_format: raw/disk_format: vmdk/; s/rename: web1-kvm/renam: web1-kvm/' manifest.yaml
expect_exit 3 "$CONVOY" validate manifest.yaml 2> e.txt
expect_grep "^manifest.yaml:4:16: error: 'disk_format': expected raw or qcow2, got 'vmdk'" e.txt
expect_grep "manifest.yaml:17:.*: error: unknown key 'renam'.*did you mean 'rename'" e.txt
expect_exit 3 "$CONVOY" plan manifest.yaml 2> /dev/null
expect_exit 3 "$CONVOY" apply --yes manifest.yaml 2> /dev/null
[ ! -e .convoy ] || fail "an invalid manifest created state"
# A rule set the manifest names that does not load: validate, plan and
# apply all exit 3 naming its file, line and column; nothing is created.
sed -i 's/disk_format: vmdk/disk_format: raw/; s/renam: web1-kvm}/rename: web1-kvm, rules: [xen-to-kvm, broken]}/' manifest.yaml
mkdir -p rules/domain
printf 'name: broken\nversion: 1\nrules:\n  - id: x\n    selct: /domain\n' > rules/domain/broken.yaml
for cmd in validate plan "apply --yes"; do
    expect_exit 3 "$CONVOY" $cmd manifest.yaml > r.out 2> r.err
    expect_grep "rules/domain/broken.yaml:5:5: error: unknown key 'selct' in rule; did you mean 'select'?" r.err
done
[ ! -e .convoy ] && [ ! -e out ] || fail "invalid rules created state or outputs"
sed -i 's/rules: \[xen-to-kvm, broken\]/rules: [xen-to-kvm, no-such-set]/' manifest.yaml
expect_exit 3 "$CONVOY" validate manifest.yaml 2> r.err
expect_grep "manifest.yaml:17:.*: error: rule set 'no-such-set' not found" r.err
expect_exit 64 "$CONVOY" validate 2> u.txt
expect_grep 'expected at least one MANIFEST' u.txt
expect_exit 64 "$CONVOY" plan --bogus manifest.yaml 2> /dev/null
expect_exit 64 "$CONVOY" frob 2> /dev/null
"$CONVOY" --version | grep -q '^convoy [0-9]' || fail "--version"
exit 0

#!/bin/sh
# Names in domain XML are text, not markup (issue #20): a rename with '&'
# or an entity reference is written escaped, and reads back the same.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 1M
cd "$d"
sed -i 's/rename: web1-kvm/rename: "a\&b"/' manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a.out 2>&1
expect_grep '^  <name>a&amp;b</name>$' 'out/a&b.xml'
if command -v virt-xml-validate > /dev/null 2>&1; then
    virt-xml-validate 'out/a&b.xml' domain > /dev/null || fail "the domain does not validate"
fi
rm -rf out .convoy
sed -i 's/rename: "a&b"/rename: "x\&amp;y"/' manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a.out 2>&1
expect_grep '^  <name>x&amp;amp;y</name>$' 'out/x&amp;y.xml'
exit 0

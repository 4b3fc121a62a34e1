#!/bin/sh
# Where the state store lives: .convoy/state.db beside the first manifest
# whatever the working directory; the manifest's state: key (relative to
# the manifest) instead; --state PATH over both; a directory of manifests
# counts as its folder.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 1M
mkdir "$d/elsewhere"

# From another directory: next to the manifest, not in the cwd.
cd "$d/elsewhere"
expect_exit 0 "$CONVOY" apply --yes ../manifest.yaml > a.log
[ -f "$d/.convoy/state.db" ] || fail "no state beside the manifest"
[ ! -e .convoy ] || fail "state created in the working directory"
[ -f "$d/out/web1-kvm.xml" ] || fail "the directory target's path is not relative to the manifest"
expect_exit 0 "$CONVOY" plan ../manifest.yaml > p.txt
expect_grep "(state ../.convoy/state.db)\|(state $d/.convoy/state.db)\|(state .convoy/state.db)" p.txt
expect_exit 0 "$CONVOY" status ../manifest.yaml > s.txt
cd "$d"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# state: in the manifest, relative to the manifest's folder.
rm -rf .convoy out
sed -i 's|^version: 1$|version: 1\nstate: var/convoy.db|' manifest.yaml
cd elsewhere
expect_exit 0 "$CONVOY" apply --yes ../manifest.yaml > a2.log
cd ..
[ -f var/convoy.db ] && [ ! -e .convoy ] || fail "state: var/convoy.db not honoured"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# --state over state:.  A fresh store did not make the outputs that are
# there: the folder's .convoy-owner names the first store, and the files
# are conflicts, never overwritten; without them, everything is to do
# again.
expect_exit 1 "$CONVOY" plan --state "$d/other.db" manifest.yaml > p3.txt
expect_grep "holds the outputs of another state store ('[^']*var/convoy.db', store id [0-9a-f]*; see '[^']*out/.convoy-owner'), not of '[^']*other.db'" p3.txt
[ ! -e "$d/other.db" ] || fail "plan created the --state store"
rm out/.convoy-owner
expect_exit 1 "$CONVOY" plan --state "$d/other.db" manifest.yaml > p3.txt
expect_grep "conflict: disk vda: file '.*out/web1-kvm-vda.raw' already exists and convoy did not create it" p3.txt
rm -rf out
expect_exit 2 "$CONVOY" plan --state "$d/other.db" manifest.yaml > p3.txt
expect_grep 'Plan: 4 to do' p3.txt
[ ! -e "$d/other.db" ] || fail "plan created the --state store"
expect_exit 0 "$CONVOY" apply --yes --state "$d/other.db" manifest.yaml > a3.log
[ -f "$d/other.db" ] || fail "--state store not created"
expect_exit 0 "$CONVOY" plan --state "$d/other.db" manifest.yaml > /dev/null

# A directory of manifests: the state is in that directory.
rm -rf out var other.db
mkdir m.d
sed '/^state:/d' manifest.yaml > m.d/10-all.yaml
sed -i 's|    path: out|    path: ../out|; s|path: exports}|path: ../exports}|' m.d/10-all.yaml
expect_exit 0 "$CONVOY" apply --yes m.d > a4.log
[ -f m.d/.convoy/state.db ] || fail "no state in the manifest directory"

# sqlite:PATH is the same store as PATH, relative to the manifest too.
rm -rf out var
sed -i 's|^state: var/convoy.db$|state: sqlite:var/convoy.db|' manifest.yaml
cd elsewhere
expect_exit 0 "$CONVOY" apply --yes ../manifest.yaml > a5.log
cd ..
[ -f var/convoy.db ] || fail "state: sqlite:var/convoy.db not honoured"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# A scheme this build has no backend for: a state error naming the
# scheme, the URL's password not echoed; a PostgreSQL URL with a
# password is refused, the password not echoed either.
expect_exit 1 "$CONVOY" plan --state etcd://convoy:secret@db1/convoy manifest.yaml > p6.txt 2> p6.err
expect_grep "scheme 'etcd' is not supported by this build (supported: sqlite, postgresql, or a plain path)" p6.err
! grep -q secret p6.err || fail "the password was echoed"
expect_exit 1 "$CONVOY" plan --state postgresql://convoy:secret@db1/convoy manifest.yaml > p6.txt 2> p6.err
expect_grep "state 'postgresql://convoy@db1/convoy': a password in the state URL is refused" p6.err
! grep -q secret p6.err || fail "the password was echoed"
# A scheme without a path: FILE:LINE:COL, invalid manifest.
sed -i 's|^state: sqlite:var/convoy.db$|state: "sqlite:"|' manifest.yaml
expect_exit 3 "$CONVOY" plan manifest.yaml > p7.txt 2> p7.err
expect_grep "manifest.yaml:2:8: error: 'state': expected a path after the scheme, got 'sqlite:'" p7.err
exit 0

#!/bin/sh
# A PostgreSQL state that cannot be used: a server that does not answer,
# a URL with a password or without a database, a schema a newer convoy
# wrote.  Each is a clear error naming the URL (never the password),
# exit 1, and nothing is started: no output, no local state.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
pgdir=$(scratch)/pg
pg_server_up "$pgdir"
url=$PG_URL
make_fixture "$d" 4M
cd "$d"

nothing_started() {
    [ ! -e out ] && [ ! -e .convoy ] || fail "$1: something was started"
}

# No server there.
expect_exit 1 "$CONVOY_REAL" apply --yes --state "postgresql:///convoy?host=$d/none" manifest.yaml > a.out 2> a.err
expect_grep "^convoy: error: postgresql: state 'postgresql:///convoy?host=$d/none': cannot connect: connection to server on socket \"$d/none/.s.PGSQL.5432\" failed: No such file or directory" a.err
nothing_started unreachable
expect_exit 1 "$CONVOY_REAL" plan --state "postgresql:///convoy?host=$d/none" manifest.yaml > /dev/null 2> p.err
expect_grep "cannot connect" p.err

# A password in the URL (the manifest's state:): refused, never shown.
sed -i "1a state: postgresql://convoy:Sekr1tPw@db.example/convoy" manifest.yaml
expect_exit 1 "$CONVOY_REAL" apply --yes manifest.yaml > b.out 2> b.err
expect_grep "state 'postgresql://convoy@db.example/convoy': a password in the state URL is refused" b.err
! grep -q Sekr1tPw b.out b.err || fail "the password was shown"
nothing_started password
sed -i '2d' manifest.yaml

# No database.
expect_exit 1 "$CONVOY_REAL" apply --yes --state "postgresql://db.example" manifest.yaml 2> c.err
expect_grep "state 'postgresql://db.example': expected a database name: postgresql://\[USER@\]HOST\[:PORT\]/DATABASE" c.err
nothing_started "no database"

# A newer convoy's schema.
expect_exit 0 "$CONVOY_REAL" apply --yes --state "$url&project=newer" manifest.yaml > /dev/null
rm -rf out .convoy
$PGSERVER psql "$pgdir" -c "UPDATE newer.schema_version SET version = 99"
for cmd in "apply --yes" plan status; do
    expect_exit 1 "$CONVOY_REAL" $cmd --state "$url&project=newer" manifest.yaml > n.out 2> n.err
    expect_grep "(project 'newer') has schema version 99, newer than this convoy knows (1 to 2): a newer convoy wrote it; run that convoy or a newer one" n.err
done
nothing_started "newer schema"
exit 0

#!/bin/sh
# examples/fleet/postgresql: the fleet's wave-1 by two workers against a
# PostgreSQL server of the test's own (its URL in place of the example's
# db.example); the example's files say what the documentation says.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
d=$(scratch)
pgdir=$(scratch)/pg
pg_server_up "$pgdir"
url=$PG_URL
# A copy laid out as in the tree: make-exports.sh finds tests/tools.
mkdir -p "$d/examples" "$d/tests"
cp -r "$abs_top_srcdir/examples/fleet" "$d/examples/fleet"
ln -s "$abs_top_srcdir/tests/tools" "$d/tests/tools"
cd "$d/examples/fleet"
./make-exports.sh > /dev/null

# The example's URL: no password, a project, a lease; and the unit runs it.
expect_grep '^CONVOY_STATE="postgresql://convoy@db.example/migrations?project=fleet&lease=60&sslmode=verify-full"$' postgresql/convoy-state.env
expect_grep '^PGPASSFILE=' postgresql/convoy-state.env
expect_grep '^ExecStart=/usr/local/bin/convoy apply --yes --log-format=json --worker-id %H --max-vms 4 --state ${CONVOY_STATE} --wave %i manifests/$' postgresql/convoy-worker@.service
expect_grep '^EnvironmentFile=/srv/migration/postgresql/convoy-state.env$' postgresql/convoy-worker@.service

# The same with this test's server.
grep -v '^CONVOY_STATE=' postgresql/convoy-state.env > env.tmp
printf 'CONVOY_STATE="%s&project=fleet&lease=60"\n' "$url" >> env.tmp
mv env.tmp postgresql/convoy-state.env
. postgresql/convoy-state.env
unset PGPASSFILE PGSSLROOTCERT
expect_exit 2 "$CONVOY" plan --state "$CONVOY_STATE" manifests/ > plan.txt
expect_grep '    pinned to the host that first takes it: its files are local to that host' plan.txt
for w in host-a host-b; do
    CONVOY_NOW=2026-12-05T22:30:00Z "$CONVOY" apply --yes --worker-id $w --max-vms 2 \
        --state "$CONVOY_STATE" --wave wave-1 manifests/ > $w.log 2>&1 &
    eval "pid_$(echo $w | tr - _)=$!"
done
wait "$pid_host_a" || { cat host-a.log; fail "worker host-a failed"; }
wait "$pid_host_b" || { cat host-b.log; fail "worker host-b failed"; }
[ "$(grep -c ' pre web' log/hooks.log)" -eq 3 ] || fail "pre-hooks did not run once for each of the three web VMs"
expect_exit 0 "$CONVOY" status --state "$CONVOY_STATE" manifests/ > status.txt
expect_grep '^2 workers:' status.txt
expect_grep '^  host-a ' status.txt
expect_grep '^  host-b ' status.txt
expect_exit 2 "$CONVOY" plan --state "$CONVOY_STATE" manifests/ > after.txt
expect_grep 'wave wave-2' after.txt
for n in web1 web2 web3; do
    [ -f "out/$n-kvm.xml" ] || fail "$n was not migrated"
done
exit 0

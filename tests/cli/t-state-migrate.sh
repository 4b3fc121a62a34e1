#!/bin/sh
# convoy state migrate --to postgresql://…: an SQLite store of an apply
# killed in the middle of a copy is copied, checkpoint included, into a
# PostgreSQL project (a server of the test's own); an apply against it
# resumes the copy from that checkpoint and every disk is byte-exact.
# A second migrate into the same project is refused; so is a destination
# that cannot be migrated to, and a migrate without --to.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
pgdir=$(scratch)/pg
pg_server_up "$pgdir"
url=$PG_URL
pg="$url&project=fleet"

make_fixture "$d" 256M
cd "$d"
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
"$CONVOY_REAL" apply --yes manifest.yaml > a.log 2>&1 &
pid=$!
for k in $(seq 1 600); do
    grep -q 'web1/disk-copy/vdb: [3-9]0%' a.log 2>/dev/null && break
    sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
ckpt=$(sqlite3 .convoy/state.db "SELECT position FROM checkpoints WHERE step_key = 'web1/disk-copy/vdb'")
[ -n "$ckpt" ] && [ "$ckpt" -gt 0 ] || fail "the killed apply left no checkpoint of vdb"
steps=$(sqlite3 .convoy/state.db "SELECT count(*) FROM steps")
events=$(sqlite3 .convoy/state.db "SELECT count(*) FROM events")

expect_exit 64 "$CONVOY_REAL" state migrate manifest.yaml 2> u.err
expect_grep "migrate: expected --to URL (postgresql://HOST/DATABASE)" u.err
expect_exit 1 "$CONVOY_REAL" state migrate --to "sqlite:$d/other.db" manifest.yaml 2> s.err
expect_grep "a sqlite store cannot be migrated to (supported: postgresql)" s.err

expect_exit 0 "$CONVOY_REAL" state migrate --to "$pg" manifest.yaml > m.log
expect_grep "state '$d/.convoy/state.db' copied to '$pg': 1 run, $steps steps, 1 checkpoint, $events events; " m.log
# The copy is the same: the checkpoint, the steps, the store's id.
q() { $PGSERVER psql "$pgdir" -At -c "SET search_path = fleet" -c "$1"; }
[ "$(q "SELECT position FROM checkpoints WHERE step_key = 'web1/disk-copy/vdb'")" = "$ckpt" ] ||
    fail "the checkpoint was not copied"
[ "$(q "SELECT value FROM meta WHERE key = 'store_id'")" = "$(sqlite3 .convoy/state.db "SELECT value FROM meta WHERE key = 'store_id'")" ] ||
    fail "the store id was not kept"
expect_exit 1 "$CONVOY_REAL" state migrate --to "$pg" manifest.yaml 2> again.err
expect_grep "(project 'fleet') is not empty (" again.err

# The fleet goes on against PostgreSQL, from the checkpoint.
expect_exit 2 "$CONVOY_REAL" plan --state "$pg" manifest.yaml > plan.txt
expect_grep "~ resume disk-copy vdb" plan.txt
expect_exit 0 "$CONVOY_REAL" apply --yes --state "$pg" manifest.yaml > f.log 2>&1
expect_grep "web1/disk-copy/vdb: resuming" f.log
cmp out/web1-kvm-vdb.raw src/xvdb.raw || fail "vdb differs from the source"
expect_exit 0 "$CONVOY_REAL" plan --state "$pg" manifest.yaml > /dev/null
r=$(q "SELECT outputs::json->>'resumed_from' FROM steps WHERE key = 'web1/disk-copy/vdb'")
[ "$r" = "$ckpt" ] || fail "vdb resumed from $r, the checkpoint was $ckpt"
exit 0

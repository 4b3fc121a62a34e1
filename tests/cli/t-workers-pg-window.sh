#!/bin/sh
# Windows go by the database's clock on a PostgreSQL state, not by the
# worker's: a worker whose clock is a day ahead (CONVOY_TEST_CLOCK_OFFSET)
# still runs a wave whose window is open now by the database's clock, and
# one whose clock is two hours behind does not run a wave whose window
# closed an hour ago.  On SQLite the machine's clock is the clock: the
# same skewed worker finds the open window closed.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
d=$(scratch)
pgdir=$(scratch)/pg
pg_server_up "$pgdir"
url=$PG_URL

at() { python3 -c "import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(hours=$1)).strftime('%Y-%m-%dT%H:%M:%SZ'))"; }
# fixture DIR STATE NOT_BEFORE NOT_AFTER: one VM in a wave with a window.
fixture() {
    mkdir -p "$1/exports"
    $MKXVA -o "$1/exports/vm1.xva" --name vm1 --pv --bootloader pygrub \
        --disk "xvda=size:2M,ref=Ref:1,pattern=1" \
        --vif "0=aa:bb:cc:00:03:01,bridge=xenbr0" > /dev/null
    cat > "$1/manifest.yaml" <<EOT
version: 1
state: $2
defaults: {disk_format: raw, target: a, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  a: {type: directory, path: out, networks: [{from: any, to: {network: default}}]}
waves:
  - name: night
    window: {not_before: "$3", not_after: "$4"}
    vms:
      - {name: vm1, source: exports}
EOT
}

# Open now (real time), the worker a day ahead: it runs, by the database.
fixture "$d/open" "$url&project=open" "$(at -1)" "$(at 1)"
cd "$d/open"
CONVOY_TEST_CLOCK_OFFSET=86400 expect_exit 0 "$CONVOY" apply --yes --worker-id w1 manifest.yaml > apply.log 2>&1 ||
    { cat apply.log; fail "the apply of the skewed worker failed"; }
[ -e out/vm1-vda.raw ] || { cat apply.log; fail "a worker whose clock is a day ahead did not run an open window"; }
! grep -q "outside its window" apply.log || fail "the window was checked on the worker's clock"

# Closed an hour ago, the worker two hours behind (inside by its clock).
fixture "$d/closed" "$url&project=closed" "$(at -3)" "$(at -1)"
cd "$d/closed"
CONVOY_TEST_CLOCK_OFFSET=-7200 expect_exit 0 "$CONVOY" apply --yes --worker-id w1 manifest.yaml > apply.log 2>&1 ||
    { cat apply.log; fail "the apply of the skewed worker failed"; }
[ ! -e out/vm1-vda.raw ] || fail "a worker whose clock is behind ran a closed window"
expect_grep "^vm1: not started: wave 'night' is outside its window (it closed at $(at -1 | cut -c1-13)" apply.log

# SQLite: this machine's clock, skewed by the hook, is the clock.
fixture "$d/sqlite" ".convoy/state.db" "$(at -1)" "$(at 1)"
cd "$d/sqlite"
CONVOY_TEST_CLOCK_OFFSET=86400 expect_exit 0 "$CONVOY_REAL" apply --yes manifest.yaml > apply.log 2>&1 ||
    { cat apply.log; fail "the apply on SQLite failed"; }
[ ! -e out/vm1-vda.raw ] || fail "the clock hook did not skew the clock on SQLite"
expect_grep "^vm1: not started: wave 'night' is outside its window (it closed at " apply.log
exit 0

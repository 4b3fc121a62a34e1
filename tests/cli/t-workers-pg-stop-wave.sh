#!/bin/sh
# on_failure: stop-wave across workers: a VM that fails on one worker
# stops its wave for every worker at once (the stop is in the database,
# written with the failed step), not only when another worker next claims
# the failed VM.  Two workers, max_parallel 1: w2 waits for the wave's
# slot while w1 runs 'bad'; once bad's pre-hook fails, w2 starts none of
# the wave's other VMs.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
pgdir=$(scratch)/pg
pg_server_up "$pgdir"
url=$PG_URL
pg="$url&project=stopwave&lease=10"
q() { $PGSERVER psql "$pgdir" -At -c "SET search_path = stopwave" -c "$1"; }

mkdir -p "$d/exports"
cd "$d"
cat > manifest.yaml <<EOT
version: 1
state: $pg
defaults: {disk_format: raw, target: a, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  a: {type: directory, path: out, networks: [{from: any, to: {network: default}}]}
waves:
  - name: night
    max_parallel: 1
    on_failure: stop-wave
    vms:
      - {name: bad, source: exports, hooks: {pre: 'touch $d/bad-started; while [ ! -e $d/go ]; do sleep 0.1; done; exit 3', timeout: 120s}}
EOT
for i in 1 2 3 4; do
    n=vm$i; [ "$i" -eq 1 ] && n=bad
    $MKXVA -o exports/$n.xva --name $n --pv --bootloader pygrub \
        --disk "xvda=size:2M,ref=Ref:$i,pattern=$i" \
        --vif "0=aa:bb:cc:00:02:0$i,bridge=xenbr0" > /dev/null
    [ "$i" -gt 1 ] && echo "      - {name: $n, source: exports}" >> manifest.yaml
done

"$CONVOY" apply --yes --worker-id w1 manifest.yaml > w1.log 2>&1 &
pid1=$!
for k in $(seq 1 600); do [ -e bad-started ] && break; sleep 0.05; done
[ -e bad-started ] || { cat w1.log; fail "w1 did not start bad"; }
"$CONVOY" apply --yes --worker-id w2 manifest.yaml > w2.log 2>&1 &
pid2=$!
# w2 is up and waits: bad is w1's, the wave's one slot is taken.
for k in $(seq 1 600); do
    grep -q "^bad: held by worker 'w1'; this worker waits for it" w2.log && break
    sleep 0.05
done
expect_grep "^bad: held by worker 'w1'; this worker waits for it" w2.log
touch go
set +e
wait $pid1; rc1=$?
wait $pid2; rc2=$?
set -e
[ "$rc1" -eq 1 ] || { cat w1.log; fail "w1 exited $rc1, not 1"; }
[ "$rc2" -eq 1 ] || { cat w2.log; fail "w2 exited $rc2, not 1"; }
expect_grep "^bad: failed; on_failure: stop-wave, so no other VM of wave 'night' starts" w1.log
for n in vm2 vm3 vm4; do
    [ ! -e out/$n-vda.raw ] || { cat w2.log; fail "$n started after bad failed (stop-wave)"; }
    expect_grep "^$n: not started: wave 'night' was stopped: VM 'bad' failed on worker 'w1' (on_failure: stop-wave)" w2.log
done
[ "$(q "SELECT count(*) FROM steps WHERE vm <> 'bad'")" -eq 0 ] || fail "a step of another VM of the wave ran"
[ "$(q "SELECT wave || ' ' || vm || ' ' || worker FROM wave_stops")" = "night bad w1" ] ||
    fail "the wave's stop is not recorded: $(q "SELECT * FROM wave_stops")"

# The cause fixed, the next apply runs the wave: the stop was that run's.
sed -i "s|pre: 'touch .*exit 3', timeout: 120s|pre: 'true'|" manifest.yaml
expect_exit 0 "$CONVOY" apply --yes --worker-id w1 manifest.yaml > again.log 2>&1 || { cat again.log; fail "the apply after the fix failed"; }
for n in vm2 vm3 vm4; do [ -e out/$n-vda.raw ] || fail "$n was not migrated after the fix"; done
exit 0

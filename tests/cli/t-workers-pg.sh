#!/bin/sh
# Several conversion hosts, one plan: three workers (convoy apply
# --worker-id) on 12 VMs against one PostgreSQL state (a server of the
# test's own), max_parallel 4 and per_pool 2 over two targets.  One
# worker is killed with SIGKILL in the middle of a copy and another takes
# its VM over from the checkpoint (its process is gone: its lease ends
# at once on this host); the
# database is restarted while the others run, and they carry on.  Every
# disk is byte-exact; the recorded events show no VM held by two workers
# at once, no limit exceeded, no step finished twice.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
d=$(scratch)
pgdir=$(scratch)/pg
pg_server_up "$pgdir"
url=$PG_URL
pg="$url&project=fleet&lease=10"
q() { $PGSERVER psql "$pgdir" -At -c "SET search_path = fleet" -c "$1"; }

mkdir -p "$d/exports" "$d/src"
cd "$d"
cat > manifest.yaml <<EOT
version: 1
state: $pg
defaults: {disk_format: raw, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  a: {type: directory, path: out-a, networks: [{from: any, to: {network: default}}]}
  b: {type: directory, path: out-b, networks: [{from: any, to: {network: default}}]}
waves:
  - name: night
    max_parallel: 4
    limits: {per_pool: 2}
    vms:
EOT
for i in $(seq 1 12); do
    size=24M
    [ "$i" -le 2 ] && size=192M
    $MKXVA -o exports/vm$i.xva --name vm$i --pv --bootloader pygrub \
        --disk "xvda=size:$size,ref=Ref:$i,pattern=$i,save=src/vm$i.raw" \
        --vif "0=aa:bb:cc:00:01:$(printf %02x "$i"),bridge=xenbr0" > /dev/null
    t=a; [ $((i % 2)) -eq 0 ] && t=b
    echo "      - {name: vm$i, source: exports, target: $t}" >> manifest.yaml
done
# The plan says which VMs are pinned to the host that converts them.
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep "    pinned to the host that first takes it: its files are local to that host" plan.txt

export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
for w in w1 w2 w3; do
    "$CONVOY" apply --yes --worker-id $w manifest.yaml > $w.log 2>&1 &
    eval "pid_$w=$!"
done
# plan is read-only and works while the workers run (once they made the
# project: a plan of a store that does not exist yet reads it as empty).
for k in $(seq 1 600); do
    grep -q 'disk-copy/vda: starting' w1.log w2.log w3.log 2>/dev/null && break
    sleep 0.05
done
set +e
"$CONVOY" plan manifest.yaml > plan-during.txt 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || { cat plan-during.txt; fail "plan while the workers run exited $rc"; }
expect_grep "^Plan: " plan-during.txt
# Kill the worker that copies vm1, once it is well into it.
victim=""
for k in $(seq 1 600); do
    if grep -q 'vm1/disk-copy/vda: [2-8]0%' w1.log w2.log w3.log 2>/dev/null; then
        victim=$(q "SELECT owner FROM vm_claims WHERE vm = 'vm1'")
        break
    fi
    sleep 0.05
done
[ -n "$victim" ] || fail "vm1's copy was not seen under way"
eval "kill -9 \$pid_$victim"
echo "killed $victim in the middle of vm1's copy"
# Restart the database under the others.
$PGSERVER restart "$pgdir"
echo "database restarted"
for w in w1 w2 w3; do
    [ "$w" = "$victim" ] && continue
    eval "p=\$pid_$w"
    set +e
    wait "$p"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || { cat $w.log; fail "worker $w exited $rc"; }
done
wait 2>/dev/null || true

for i in $(seq 1 12); do
    t=a; [ $((i % 2)) -eq 0 ] && t=b
    cmp "src/vm$i.raw" "out-$t/vm$i-vda.raw" || fail "vm$i differs"
done
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
# vm1 was taken over and resumed from the killed worker's checkpoint.
grep -q "vm1: taken over from worker '$victim' (its lease ran out); resuming from its last checkpoint" w1.log w2.log w3.log || fail "no worker took vm1 over"
r=$(q "SELECT outputs::json->>'resumed_from' FROM steps WHERE key = 'vm1/disk-copy/vda'")
[ -n "$r" ] && [ "$r" -gt 0 ] || fail "vm1 was not resumed from a checkpoint (resumed_from '$r')"
owner=$(q "SELECT owner FROM steps WHERE key = 'vm1/disk-copy/vda'")
[ "$owner" != "$victim" ] || fail "vm1's copy is recorded as the killed worker's"
q "SELECT step_key, kind, time, worker FROM events WHERE step_key IS NOT NULL ORDER BY id" |
    python3 "$abs_top_srcdir/tests/tools/workers-check.py" 4 \
        pool-a=2:vm1,vm3,vm5,vm7,vm9,vm11 pool-b=2:vm2,vm4,vm6,vm8,vm10,vm12 > check.txt ||
    fail "the workers broke a rule: $(cat check.txt)"
cat check.txt
nw=$(awk '$1 == "workers" {print $2}' check.txt)
[ "$nw" -ge 2 ] || fail "only $nw worker ran VMs"
all=$(awk '$1 == "all" {print $2}' check.txt)
[ "$all" -ge 3 ] || fail "the workers never ran VMs side by side ($all at most)"
# status and report list the workers and which one ran each step.
expect_exit 0 "$CONVOY" status manifest.yaml > status.txt
expect_grep "^3 workers:" status.txt
for w in w1 w2 w3; do
    grep -q "^  $w  *host $(hostname), pid [0-9]*, started " status.txt || { cat status.txt; fail "status does not list $w"; }
done
grep -q "^  $victim .*, gone, holds 0 VMs" status.txt || { cat status.txt; fail "status does not show $victim gone"; }
grep -A1 "^vm1 " status.txt | grep -q "disk-copy/vda  *done .*, worker w[123]" || { cat status.txt; fail "status does not say which worker copied vm1"; }
expect_exit 0 "$CONVOY" report manifest.yaml > report.txt
expect_grep "^workers:" report.txt
expect_grep ", worker w[123]" report.txt
expect_exit 0 "$CONVOY" report --format json manifest.yaml > report.json
python3 - report.json "$victim" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ids = sorted(w["id"] for w in r["workers"])
assert ids == ["w1", "w2", "w3"], ids
# All done: none of them holds anything or runs now.
assert all(not w["live"] and w["vms_held"] == 0 for w in r["workers"]), r["workers"]
steps = [s for v in r["vms"] for s in v["steps"]]
assert all(s["worker"] in ("w1", "w2", "w3") for s in steps), steps
PY
exit 0

#!/bin/sh
# Eight VMs, max_parallel 3 and per_pool 2 over two target folders: the
# recorded events never show more in flight than the limits, the limit is
# reached (the VMs really ran side by side), and every disk is byte-exact;
# then each limit alone binds to exactly its value.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
d=$(scratch)
mkdir -p "$d/exports" "$d/src"
cd "$d"
cat > manifest.yaml <<EOT
version: 1
defaults: {disk_format: raw, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  a: {type: directory, path: out-a, networks: [{from: any, to: {network: default}}]}
  b: {type: directory, path: out-b, networks: [{from: any, to: {network: default}}]}
waves:
  - name: night
    max_parallel: 3
    limits: {per_pool: 2}
    vms:
EOT
for i in 1 2 3 4 5 6 7 8; do
    $MKXVA -o exports/vm$i.xva --name vm$i --pv --bootloader pygrub \
        --disk "xvda=size:48M,ref=Ref:$i,pattern=$i,save=src/vm$i.raw" \
        --vif "0=aa:bb:cc:00:01:0$i,bridge=xenbr0" > /dev/null
    t=a; [ $((i % 2)) -eq 0 ] && t=b
    echo "      - {name: vm$i, source: exports, target: $t}" >> manifest.yaml
done
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply.log 2>&1 || { cat apply.log; exit 1; }
expect_grep 'Applied: 24 steps done, 0 failed, 0 skipped' apply.log
inflight \
    pool-a=vm1,vm3,vm5,vm7 pool-b=vm2,vm4,vm6,vm8 > inflight.txt
cat inflight.txt
all=$(awk '$1 == "all" {print $2}' inflight.txt)
pa=$(awk '$1 == "pool-a" {print $2}' inflight.txt)
pb=$(awk '$1 == "pool-b" {print $2}' inflight.txt)
[ "$all" -le 3 ] || fail "$all VMs in flight, max_parallel is 3"
[ "$pa" -le 2 ] && [ "$pb" -le 2 ] || fail "per_pool 2 exceeded: $pa in out-a, $pb in out-b"
[ "$all" -ge 2 ] || fail "the VMs never ran side by side"
# Faster than one after the other: the night took less than the VMs' own
# times added up (from the recorded events, not a clock in the test).
awk '$1 == "span" {s = $2} $1 == "sum" {t = $2} END {exit !(s < t)}' inflight.txt ||
    fail "the parallel run took as long as the VMs one after the other"
for i in 1 2 3 4 5 6 7 8; do
    t=a; [ $((i % 2)) -eq 0 ] && t=b
    cmp "src/vm$i.raw" "out-$t/vm$i-vda.raw" || fail "vm$i differs"
done
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# max_parallel 1 is sequential: never two at once.
rm -rf out-a out-b; state_reset
sed -i 's/max_parallel: 3/max_parallel: 1/' manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply1.log 2>&1
inflight > inflight1.txt
expect_grep '^all 1$' inflight1.txt

# Each limit binds on its own with room to spare elsewhere (max_parallel
# 4): per_pool 1 over two folders gives exactly 2 at once; per_source_host
# 1 (every file source is this host) and per_target_host 1 (so is every
# directory target) give 1.
for limit in "per_pool: 1=2" "per_source_host: 1=1" "per_target_host: 1=1"; do
    rm -rf out-a out-b; state_reset
    sed -i "s/max_parallel: 1/max_parallel: 4/; s/max_parallel: 4$/max_parallel: 4/; s/    limits: .*/    limits: {${limit%=*}}/" manifest.yaml
    grep -q "limits: {${limit%=*}}" manifest.yaml || fail "manifest not updated for $limit"
    expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply-l.log 2>&1
    inflight > inflight-l.txt
    got=$(awk '$1 == "all" {print $2}' inflight-l.txt)
    [ "$got" = "${limit#*=}" ] || fail "limits: {${limit%=*}} with max_parallel 4: $got VMs at most in flight, expected ${limit#*=}"
done
# Without limits, max_parallel alone: more than two at once.
rm -rf out-a out-b; state_reset
sed -i "s/    limits: .*/    limits: {}/" manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply-n.log 2>&1
inflight > inflight-n.txt
got=$(awk '$1 == "all" {print $2}' inflight-n.txt)
[ "$got" -ge 3 ] || fail "max_parallel 4 without limits: only $got VMs at once"
# --max-vms caps this apply (one conversion host) below the wave's limit.
rm -rf out-a out-b; state_reset
expect_exit 0 "$CONVOY" apply --yes --max-vms 2 manifest.yaml > apply-m.log 2>&1
inflight > inflight-m.txt
expect_grep '^all 2$' inflight-m.txt
expect_exit 64 "$CONVOY" apply --yes --max-vms -1 manifest.yaml 2> m.err
expect_grep "'--max-vms': expected 0 to 10000, got -1" m.err
exit 0

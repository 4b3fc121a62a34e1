#!/bin/sh
# --wave applies one wave; a wave whose 'after:' waves are not complete is
# refused; a VM of another wave is untouched.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
$MKXVA -o exports/db1.xva --name db1 --hvm --disk "hda=size:6M,pattern=3,save=src/db1.raw" \
    --vif "0=aa:bb:cc:00:00:02,bridge=xenbr1" > /dev/null
cat >> manifest.yaml <<'EOT'
  - name: wave-2
    after: wave-1
    vms:
      - {name: db1, source: exports}
EOT
sed -i 's|      - {from: {bridge: xenbr0}, to: {network: default}}|      - {from: {bridge: xenbr0}, to: {network: default}}\n      - {from: any, to: {bridge: br0}}|' manifest.yaml

expect_exit 1 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > a.log 2> a.err
expect_grep "wave 'wave-2' runs after wave 'wave-1', which is not complete (1 VM left); apply 'wave-1' first" a.err
[ ! -e out ] || fail "a refused wave wrote outputs"
expect_exit 64 "$CONVOY" plan --wave nope manifest.yaml 2> p.err
expect_grep "unknown wave 'nope'; the manifest defines 'wave-1', 'wave-2'" p.err

expect_exit 0 "$CONVOY" apply --yes --wave wave-1 manifest.yaml > /dev/null
[ -f out/web1-kvm.xml ] && [ ! -e out/db1.xml ] || fail "wave-1 did the wrong VMs"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep 'Plan: 3 to do, 0 to resume, 0 to redo, 4 done.' plan.txt
expect_exit 0 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > /dev/null
cmp src/db1.raw out/db1-vda.raw || fail "db1 disk differs"
expect_grep "<source bridge='br0'" out/db1.xml
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
exit 0

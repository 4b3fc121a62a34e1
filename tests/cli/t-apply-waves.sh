#!/bin/sh
# --wave applies one wave; a wave whose 'after:' waves are not complete is
# refused; a VM of another wave is untouched.  A plain apply runs a wave
# after the waves its 'after:' names, even when the manifest lists it
# first, and starts nothing of it when one of those failed.
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

# Plain apply: 'first' is listed last but the others wait for it.
d2=$(scratch)
mkdir -p "$d2/exports"
cd "$d2"
for n in a1 b1 c1; do
    $MKXVA -o exports/$n.xva --name $n --hvm --disk "hda=size:1M,pattern=2" > /dev/null
done
write_manifest() {
    cat > manifest.yaml <<EOT
version: 1
defaults: {target: lab, disk_format: raw, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  lab: {type: directory, path: out}
waves:
  - name: last
    after: [middle, first]
    vms:
      - {name: c1, source: exports}
  - name: middle
    after: first
    vms:
      - {name: b1, source: exports}
  - name: first
    vms:
      - {name: a1, source: exports$1}
EOT
}
write_manifest ", hooks: {pre: 'echo a1 is busy; exit 1'}"
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > f.log 2> f.err
[ ! -e out/b1.xml ] && [ ! -e out/c1.xml ] || fail "a wave ran after its 'after' wave failed"
expect_grep "b1: not started: wave 'middle' runs after wave 'first', which did not complete" f.log
expect_grep "c1: not started: wave 'last' runs after wave 'middle', which did not complete" f.log
expect_grep ", 2 VMs waiting for an earlier wave." f.log
write_manifest ""
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > o.log 2> o.err
for n in a1 b1 c1; do [ -f out/$n.xml ] || fail "$n was not migrated"; done
# The VMs in the order their copies started.
order=$(sed -n 's,^\([abc]1\)/disk-copy/vda: starting.*,\1,p' o.log | tr '\n' ' ')
[ "$order" = "a1 b1 c1 " ] || fail "waves ran in the order '$order', expected 'a1 b1 c1 '"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
exit 0

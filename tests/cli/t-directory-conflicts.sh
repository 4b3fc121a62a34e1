#!/bin/sh
# A directory target never overwrites nor deletes a file convoy did not
# make: a disk file or domain XML already there is a conflict in the plan,
# apply refuses it, rollback leaves it; adopt: true takes it over
# (issue #20 item 2).
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
mkdir out
echo "someone else's" > out/web1-kvm-vda.raw
cp out/web1-kvm-vda.raw theirs

expect_exit 1 "$CONVOY" plan manifest.yaml > plan.txt 2>&1
expect_grep "conflict: disk vda: file '.*out/web1-kvm-vda.raw' already exists and convoy did not create it" plan.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.log 2>&1
cmp theirs out/web1-kvm-vda.raw || fail "apply replaced a file convoy did not create"
[ -e out/web1-kvm.xml ] && fail "apply defined the domain of a blocked VM"
"$CONVOY" rollback --yes manifest.yaml web1 > rb.txt 2>&1 || true
cmp theirs out/web1-kvm-vda.raw || fail "rollback removed a file convoy did not create"

# volumes: naming a file that is already in the folder.
rm out/web1-kvm-vda.raw
echo "root:x:0:0" > out/passwd
cp out/passwd passwd0
sed -i 's/rename: web1-kvm}/rename: web1-kvm, volumes: {vda: passwd}}/' manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
expect_grep "conflict: disk vda: file '.*out/passwd' already exists and convoy did not create it" plan2.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply2.log 2>&1
cmp passwd0 out/passwd || fail "apply replaced out/passwd"
"$CONVOY" rollback --yes manifest.yaml web1 > rb2.txt 2>&1 || true
cmp passwd0 out/passwd || fail "rollback removed out/passwd"

# A file that appears after the plan (a pre hook plants it): the copy
# refuses it at apply, and rollback leaves it.
rm out/passwd
sed -i 's/, volumes: {vda: passwd}}/, hooks: {pre: "echo late > out\/web1-kvm-vda.raw"}}/' manifest.yaml
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply5.log 2>&1
expect_grep "conflict: file '.*out/web1-kvm-vda.raw' already exists and convoy did not create it" apply5.log
[ "$(cat out/web1-kvm-vda.raw)" = late ] || fail "apply replaced a file planted after the plan"
"$CONVOY" rollback --yes manifest.yaml web1 > rb5.txt 2>&1 || true
[ "$(cat out/web1-kvm-vda.raw)" = late ] || fail "rollback removed a file planted after the plan"
rm out/web1-kvm-vda.raw
sed -i 's/, hooks: {pre: .*}}$/}/' manifest.yaml
grep -q hooks manifest.yaml && fail "harness: hook not removed"

# A domain XML that is already there.
echo "<domain/>" > out/web1-kvm.xml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1
expect_grep "conflict: domain file '.*out/web1-kvm.xml' already exists" plan3.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply3.log 2>&1
[ "$(cat out/web1-kvm.xml)" = "<domain/>" ] || fail "apply replaced out/web1-kvm.xml"
[ -e out/web1-kvm-vda.raw ] && fail "apply copied the disks of a blocked VM"

# adopt: true takes the files over: apply writes them, and they are
# convoy's from then on.
echo "someone else's" > out/web1-kvm-vda.raw
sed -i 's/rename: web1-kvm}/rename: web1-kvm, adopt: true}/' manifest.yaml
"$CONVOY" plan manifest.yaml > plan4.txt 2>&1 || [ $? -eq 2 ] || { cat plan4.txt; fail "plan with adopt failed"; }
"$CONVOY" apply --yes manifest.yaml > apply4.log 2>&1 || { cat apply4.log; fail "apply with adopt failed"; }
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "the adopted disk was not written"
grep -q "<name>web1-kvm</name>" out/web1-kvm.xml || fail "the adopted domain XML was not written"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan5.txt

# A done copy redone (its inputs changed) rewrites convoy's own file.
sed -i 's/, adopt: true}/}/; s/^  disk_format: raw$/  disk_format: raw\n  allocation: preallocated/' manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan6.txt
expect_grep "redo   disk-copy vda" plan6.txt
"$CONVOY" apply --yes manifest.yaml > apply6.log 2>&1 || { cat apply6.log; fail "the redo of convoy's own disk failed"; }
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "the redone disk differs"
exit 0

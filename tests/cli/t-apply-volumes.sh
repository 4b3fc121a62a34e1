#!/bin/sh
# volumes: names a VM's disks on the target.  The name is used as given
# (no extension added); the domain XML points at it; renaming a disk
# later redoes that disk's copy only.  Plan refuses a name for a disk the
# converted domain does not have and two VMs' disks on one file;
# validate refuses a bad drive, a bad name and one name for two disks.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
sed -i "s|{name: web1, source: exports, rename: web1-kvm}|{name: web1, source: exports, rename: web1-kvm, volumes: {vdb: web1-data.img}}|" manifest.yaml
expect_exit 0 "$CONVOY" validate manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt 2>&1
expect_grep "→ out/web1-kvm-vda.raw" plan.txt
expect_grep "→ out/web1-data.img" plan.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a1.log 2>&1 || { cat a1.log; exit 1; }
[ -f out/web1-data.img ] || fail "vdb is not out/web1-data.img"
[ ! -e out/web1-kvm-vdb.raw ] || fail "vdb was written under its default name too"
cmp src/xvdb.raw out/web1-data.img || fail "vdb differs"
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
expect_grep "<source file='$d/out/web1-data.img'/>" out/web1-kvm.xml
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# Another name for vdb: only vdb's copy (and the domain) is redone.
sed -i "s|volumes: {vdb: web1-data.img}|volumes: {vdb: web1-data2.img}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
expect_grep '= done   disk-copy vda' plan2.txt
expect_grep 'disk-copy vdb' plan2.txt
! grep -q '= done   disk-copy vdb' plan2.txt || fail "vdb's copy was not redone"
# The copy under the former name is not convoy's to remove: listed, left.
expect_grep "^    leave   out/web1-data.img: made before web1/disk-copy/vdb's inputs changed; apply leaves it" plan2.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a2.log 2>&1 || { cat a2.log; exit 1; }
cmp src/xvdb.raw out/web1-data2.img || fail "vdb differs under its new name"
expect_grep "<source file='$d/out/web1-data2.img'/>" out/web1-kvm.xml
[ -f out/web1-data.img ] || fail "the old copy was deleted"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# A drive the converted domain does not have.
sed -i "s|volumes: {vdb: web1-data2.img}|volumes: {vdz: web1-data2.img}|" manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1
expect_grep "vm 'web1': volumes: 'vdz' is not a disk of the converted domain; its disks are vda, vdb" plan3.txt

# Two VMs on one file: web2's vda named after web1's default vda.
$MKXVA -o exports/web2.xva --name web2 --hvm --uuid 5e1f0000-0000-4000-8000-0000000000a2 \
    --disk "hda=size:4M,ref=Ref:5,pattern=3" > /dev/null
sed -i "s|volumes: {vdz: web1-data2.img}|volumes: {vdb: web1-data2.img}|" manifest.yaml
printf '      - {name: web2, source: exports, volumes: {vda: web1-kvm-vda.raw}}\n' >> manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan4.txt 2>&1
expect_grep "vm 'web2': disk vda lands on 'out/web1-kvm-vda.raw', where vm 'web1' already puts a disk; give one of them another name with volumes:" plan4.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > a4.log 2>&1
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "web1's vda was touched"

# Validation: a bad drive, a bad name, one name for two disks.
cat > bad.yaml <<EOT
version: 1
defaults: {target: lab, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  lab: {type: directory, path: out}
waves:
  - name: w
    vms:
      - {name: a, source: exports, volumes: {xvdb: a.img}}
      - {name: b, source: exports, volumes: {vda: ../b.img}}
      - {name: c, source: exports, volumes: {vda: c.img, vdb: c.img}}
EOT
expect_exit 3 "$CONVOY" validate bad.yaml 2> v.err
expect_grep "bad.yaml:10:46: error: 'volumes': expected a disk of the converted domain such as vda or sdb, got 'xvdb'" v.err
expect_grep "bad.yaml:11:51: error: 'vda': expected a name of letters, digits, '.', '_' and '-' starting with a letter or digit, got '../b.img'" v.err
expect_grep "bad.yaml:12:63: error: vm 'c': volume name 'c.img' is given to two disks" v.err
expect_grep "bad.yaml:12:51: note: first given here" v.err
exit 0

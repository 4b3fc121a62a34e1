#!/bin/sh
# A finished disk is recorded with its identity (inode, mtime, size and a
# sampled xxh64), which every plan re-checks: a same-size edit, a touched
# or a replaced file is redone with a reason.  `convoy plan --verify`
# reads the whole disk against the xxh64 of its copy.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
vdb=out/web1-kvm-vdb.raw
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
python3 - <<'EOT' || fail "disk-copy's outputs record no identity"
import json, sqlite3
o = json.loads(sqlite3.connect(".convoy/state.db").execute(
    "select outputs from steps where key='web1/disk-copy/vdb'").fetchone()[0])
i = o["identity"]
assert i["size"] == 4 * 1024 * 1024 and len(i["sample_xxh64"]) == 16 and i["inode"] > 0, i
EOT
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
expect_exit 0 "$CONVOY" plan --verify manifest.yaml > verify0.txt
expect_grep 'No changes: 4 steps up to date.' verify0.txt

# A same-size edit inside a sampled range (was: "No changes").
printf 'XXXX' | dd of=$vdb bs=1 seek=1000 conv=notrunc status=none
expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt
expect_grep "! redo   disk-copy vdb" plan1.txt
expect_grep "output '$vdb' changed since convoy wrote it (its sampled content differs)" plan1.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
cmp src/xvdb.raw $vdb || fail "vdb was not copied again"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null

# Outside the samples, the modification time tells (once the kernel's
# coarse clock has moved on from the copy's last write).
sleep 0.1
printf 'YYYY' | dd of=$vdb bs=1 seek=150000 conv=notrunc status=none
expect_exit 2 "$CONVOY" plan manifest.yaml > plan2.txt
expect_grep "output '$vdb' was replaced or modified since convoy wrote it (its modification time differs)" plan2.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
cmp src/xvdb.raw $vdb || fail "vdb was not copied again"

# With the time put back, only --verify sees it.
touch -r $vdb ref
printf 'ZZZZ' | dd of=$vdb bs=1 seek=150000 conv=notrunc status=none
touch -r ref $vdb
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
expect_exit 2 "$CONVOY" plan --verify manifest.yaml > plan3.txt
expect_grep "! redo   disk-copy vdb" plan3.txt
expect_grep "output '$vdb' differs from what convoy wrote (xxh64 [0-9a-f]*, recorded [0-9a-f]*)" plan3.txt
expect_grep "= done   disk-copy vda" plan3.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply3.txt
expect_grep 'Nothing to do' apply3.txt
# A plan saved with --verify is applied with it.
expect_exit 2 "$CONVOY" plan --verify -o verify.json manifest.yaml > /dev/null
expect_exit 0 "$CONVOY" apply verify.json > /dev/null
cmp src/xvdb.raw $vdb || fail "vdb was not copied again"
printf 'ZZZZ' | dd of=$vdb bs=1 seek=150000 conv=notrunc status=none
touch -r ref $vdb
expect_exit 0 "$CONVOY" apply --yes --verify manifest.yaml > /dev/null
cmp src/xvdb.raw $vdb || fail "vdb was not copied again"

# A replaced file, same bytes: another file than the one convoy wrote.
cp $vdb copy.raw && mv copy.raw $vdb
expect_exit 2 "$CONVOY" plan manifest.yaml > plan4.txt
expect_grep "output '$vdb' was replaced or modified since convoy wrote it (its inode differs)" plan4.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
expect_exit 0 "$CONVOY" plan --verify manifest.yaml > /dev/null

# qcow2: --verify reads the guest content through qemu-nbd.
requires qemu-nbd
set_default . disk_format qcow2
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
expect_exit 0 "$CONVOY" plan --verify manifest.yaml > verify5.txt
expect_grep 'No changes: 4 steps up to date.' verify5.txt
exit 0

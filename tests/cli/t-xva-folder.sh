#!/bin/sh
# How an xva source folder finds a VM's export: NAME.xva holding VM NAME
# at once; otherwise by the name_label of every *.xva (once per source);
# two exports with the same name_label are an error naming both, unless
# the VM pins one with file:; a missing VM lists what was found.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
# Renamed export: found by its name_label.
mv exports/web1.xva exports/export-2026-11-30.xva
expect_exit 2 "$CONVOY" plan manifest.yaml > p1.txt
expect_grep 'source exports: exports/export-2026-11-30.xva' p1.txt
# Two exports of web1 under other names: which one is meant is unclear.
cp exports/export-2026-11-30.xva exports/web1-old.xva
expect_exit 1 "$CONVOY" plan manifest.yaml > p2.txt 2>&1
expect_grep "more than one XVA has name_label 'web1' ('exports/export-2026-11-30.xva' and 'exports/web1-old.xva'); pin one with file:" p2.txt
# web1.xva holding web1 is taken at once, whatever else the folder has.
cp exports/web1-old.xva exports/web1.xva
expect_exit 2 "$CONVOY" plan manifest.yaml > p3.txt
expect_grep 'source exports: exports/web1.xva' p3.txt
# A web1.xva that holds another VM is not taken for web1.
$MKXVA -o exports/web1.xva --name other --pv --disk "xvda=size:1M,ref=Ref:1" > /dev/null
rm exports/web1-old.xva
expect_exit 2 "$CONVOY" plan manifest.yaml > p4.txt
expect_grep 'source exports: exports/export-2026-11-30.xva' p4.txt
# Not there at all: the error lists the name_labels found.
sed -i 's/{name: web1, /{name: web9, /' manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > p5.txt 2>&1
expect_grep "no XVA in 'exports' has name_label 'web9' (found: 'other', 'web1')" p5.txt
# Files the scan could not read are named, each with why.
mkdir exports/folder.xva
echo 'not an export' > exports/junk.xva
expect_exit 1 "$CONVOY" plan manifest.yaml > p6.txt 2>&1
expect_grep "no XVA in 'exports' has name_label 'web9' (found: 'other', 'web1'; skipped 'exports/folder.xva' is a directory, not an XVA file; skipped 'exports/junk.xva': archive: unrecognized archive format)" p6.txt
# A folder given as an XVA file is said to be one.
expect_exit 1 "$CONVOY" xva verify exports/folder.xva 2> v.err
expect_grep "^convoy: error: 'exports/folder.xva' is a directory, not an XVA file\$" v.err
exit 0

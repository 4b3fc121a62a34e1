#!/bin/sh
# convoy xva inspect / verify / extract, from a file and from stdin.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires qemu-img
d=$(scratch)
make_fixture "$d" 12M
cd "$d"
x=exports/web1.xva

"$CONVOY" xva inspect "$x" > inspect.txt
expect_grep '^vm web1' inspect.txt
expect_grep 'xvda .*Ref:10' inspect.txt
expect_grep 'xvdb .*Ref:9 .*12.0 MiB' inspect.txt
expect_grep 'aa:bb:cc:00:00:01 bridge xenbr0' inspect.txt
"$CONVOY" xva inspect --json - < "$x" > inspect.json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["name"]=="web1"; assert [x["device"] for x in j["disks"]]==["xvda","xvdb"], j' inspect.json

"$CONVOY" xva verify "$x" > verify.txt
expect_grep '^ok: 2 disks' verify.txt
"$CONVOY" xva verify - < "$x" > verify2.txt
expect_grep '^ok: 2 disks' verify2.txt

"$CONVOY" xva extract "$x" -o raw > /dev/null
cmp src/xvda.raw raw/web1-xvda.raw || fail "extracted xvda differs"
cmp src/xvdb.raw raw/web1-xvdb.raw || fail "extracted xvdb differs"
"$CONVOY" xva extract --format qcow2 -o q - < "$x" > /dev/null
same_content src/xvda.raw q/web1-xvda.qcow2
same_content src/xvdb.raw q/web1-xvdb.qcow2

$MKXVA -o bad.xva --name bad --disk "xvda=size:6M,ref=Ref:3" --corrupt-chunk Ref:3/2 > /dev/null
expect_exit 1 "$CONVOY" xva verify bad.xva 2> bad.err
expect_grep "chunk 0*2" bad.err
expect_exit 1 "$CONVOY" xva extract -o badout bad.xva 2> bad2.err
[ -z "$(ls badout 2>/dev/null)" ] || fail "a failed extract left files: $(ls badout)"
expect_exit 64 "$CONVOY" xva frobnicate "$x" 2> use.err
expect_grep "unknown subcommand 'frobnicate'" use.err
exit 0

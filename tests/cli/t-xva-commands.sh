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

# A compressed export's own checksums are checked: ova.xml edited (one
# byte), recompressed, with the gzip CRC-32 / zstd frame checksum of the
# original put back.
$MKXVA -o c.xva.gz --name comp --disk "xvda=size:3M,ref=Ref:3" --compress gzip > /dev/null
$MKXVA -o c.xva.zst --name comp --disk "xvda=size:3M,ref=Ref:3" --compress zstd > /dev/null
"$CONVOY" xva verify c.xva.gz > cgz.txt
expect_grep '^ok: 1 disk' cgz.txt
"$CONVOY" xva verify c.xva.zst > czst.txt
expect_grep '^ok: 1 disk' czst.txt
python3 - <<'PY'
import gzip, subprocess
def edit(raw):
    i = raw.index(b"<name>name_label</name>")
    j = raw.index(b"comp", i)
    return raw[:j] + b"X" + raw[j + 1:]
orig = open("c.xva.gz", "rb").read()
bad = gzip.compress(edit(gzip.decompress(orig)), mtime=0)
open("bad.xva.gz", "wb").write(bad[:-8] + orig[-8:])
orig = open("c.xva.zst", "rb").read()
raw = subprocess.run(["zstd", "-d", "-c", "c.xva.zst"], check=True, capture_output=True).stdout
bad = subprocess.run(["zstd", "-q", "-1", "-c"], input=edit(raw), check=True, capture_output=True).stdout
open("bad.xva.zst", "wb").write(bad[:-4] + orig[-4:])
PY
! gzip -t bad.xva.gz 2>/dev/null || fail "bad.xva.gz has a good CRC"
expect_exit 1 "$CONVOY" xva verify bad.xva.gz 2> badgz.err
expect_grep "^convoy: error: 'bad.xva.gz': gzip checksum mismatch: the CRC-32 of the decompressed data differs from the one in the gzip trailer\$" badgz.err
expect_exit 1 "$CONVOY" xva verify - < bad.xva.gz 2> badgz2.err
expect_grep "^convoy: error: '-': gzip checksum mismatch" badgz2.err
expect_exit 1 "$CONVOY" xva extract -o badgz bad.xva.gz 2> badgz3.err
expect_grep "gzip checksum mismatch" badgz3.err
[ -z "$(ls badgz 2>/dev/null)" ] || fail "a failed extract left files: $(ls badgz)"
expect_exit 1 "$CONVOY" xva verify bad.xva.zst 2> badzst.err
expect_grep "^convoy: error: 'bad.xva.zst': zstd checksum mismatch: the checksum of the decompressed data differs from the one in the zstd frame\$" badzst.err
exit 0

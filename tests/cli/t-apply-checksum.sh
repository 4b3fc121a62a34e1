#!/bin/sh
# A corrupt chunk fails the disk naming the chunk, leaves no domain XML
# behind, and lets nothing else of that VM run.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 8M
cd "$d"
$MKXVA -o exports/web1.xva --name web1 --pv \
    --disk "xvda=src/xvda.raw,ref=Ref:10" --disk "xvdb=size:8M,ref=Ref:9,pattern=7" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0" --corrupt-chunk Ref:9/3 > /dev/null
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.log 2> apply.err
expect_grep "web1/disk-copy/vdb: failed: disk 'vdb': .*chunk 0*3" apply.log
expect_grep 'Applied: 2 steps done, 1 failed, 1 skipped.' apply.log
[ ! -e out/web1-kvm.xml ] || fail "domain XML written despite a checksum error"
"$CONVOY" status manifest.yaml > status.txt
expect_grep 'disk-copy/vdb  *failed' status.txt
exit 0

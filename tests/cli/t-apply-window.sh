#!/bin/sh
# Maintenance windows: outside the window nothing starts (exit 0); near
# its end a VM whose copy would not fit is deferred while a small one
# starts; the next window finishes it; --ignore-window overrides loudly.
# The wall clock is pinned with CONVOY_NOW.  2026-12-05 is a Saturday.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
d=$(scratch)
make_fixture "$d" 8M
cd "$d"
$MKXVA -o exports/big.xva --name big --pv --bootloader pygrub \
    --disk "xvda=size:512M,ref=Ref:40,pattern=5,save=src/big.raw" \
    --vif "0=aa:bb:cc:00:00:04,bridge=xenbr0" > /dev/null
$MKXVA -o exports/small.xva --name small --pv --bootloader pygrub \
    --disk "xvda=size:1M,ref=Ref:41,pattern=6,save=src/small.raw" \
    --vif "0=aa:bb:cc:00:00:05,bridge=xenbr0" > /dev/null
$MKXVA -o exports/late.xva --name late --pv --bootloader pygrub \
    --disk "xvda=size:1M,ref=Ref:42,pattern=7" \
    --vif "0=aa:bb:cc:00:00:06,bridge=xenbr0" > /dev/null
cat >> manifest.yaml <<EOT
  - name: wave-2
    after: [wave-1]
    window: {weekly: "Sat 22:00-Sun 04:00", timezone: Europe/Paris}
    vms:
      - {name: big, source: exports}
      - {name: small, source: exports}
  - name: wave-3
    window: {not_before: "2020-01-01T00:00:00Z", not_after: "2020-01-02T00:00:00Z"}
    vms:
      - {name: late, source: exports}
EOT

# wave-1 has no window: it runs, and its copies give the throughput.
expect_exit 0 "$CONVOY" apply --yes --wave wave-1 manifest.yaml > w1.log

# 21:30 in Paris on Saturday: the window opens at 22:00 local.
CONVOY_NOW=2026-12-05T20:30:00Z expect_exit 0 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > out1.log
expect_grep 'outside window, nothing started: 2 VMs wait' out1.log
expect_grep "opens next at 2026-12-05T22:00:00+01:00" out1.log
[ ! -e out/big-vda.raw ] && [ ! -e out/small-vda.raw ] || fail "a VM started outside the window"

# Shortly before Sunday 04:00 in Paris (03:00Z): left is what 448 MiB take
# at the measured throughput, so the 1 MiB VM fits and the 512 MiB one
# does not (448 MiB, not less: the apply's own start-up on a loaded
# machine must not use up the window before the VMs are considered).
left=$(python3 - .convoy/state.db <<'PY'
import json, sqlite3, sys
b = s = 0
for (o,) in sqlite3.connect(sys.argv[1]).execute(
        "SELECT outputs FROM steps WHERE kind = 'disk-copy' AND status = 'done'"):
    j = json.loads(o); b += j["size"]; s += j["seconds"]
print("%.3f" % (448 * 2**20 / (b / s)))
PY
)
now=$(python3 -c "import datetime as d; t = d.datetime(2026, 12, 6, 3, 0, 0, tzinfo=d.timezone.utc) - d.timedelta(seconds=$left); print(t.strftime('%Y-%m-%dT%H:%M:%S.%fZ'))")
echo "window closes in $left s: CONVOY_NOW=$now"
CONVOY_NOW=$now expect_exit 0 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > out2.log
expect_grep '^big: deferred: 512.0 MiB to copy would take about' out2.log
expect_grep '1 VM deferred to the next window' out2.log
cmp src/small.raw out/small-vda.raw || fail "small was not copied"
[ ! -e out/big-vda.raw ] || fail "big started although it does not fit"
expect_exit 2 "$CONVOY" plan --wave wave-2 manifest.yaml > plan2.txt

# The next Saturday night finishes it.
CONVOY_NOW=2026-12-12T23:00:00Z expect_exit 0 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > out3.log
cmp src/big.raw out/big-vda.raw || fail "big differs"
expect_exit 0 "$CONVOY" plan --wave wave-2 manifest.yaml > /dev/null

# A window long past: nothing starts, unless --ignore-window, which warns.
expect_exit 0 "$CONVOY" apply --yes --wave wave-3 manifest.yaml > out4.log
expect_grep "outside window, nothing started" out4.log
expect_grep "it closed at 2020-01-02T00:00:00Z" out4.log
expect_exit 0 "$CONVOY" apply --yes --ignore-window --wave wave-3 manifest.yaml > out5.log 2> out5.err
expect_grep "warning: --ignore-window: wave 'wave-3' starts whatever its window" out5.err
[ -e out/late-vda.raw ] || fail "--ignore-window did not start the VM"

# Nothing measured yet, so no estimate: the first VM starts 3 s before
# the window closes and outlives it; the second, waiting for a worker,
# does not start once the window has closed.
d2=$(scratch)
mkdir -p "$d2/exports"
cd "$d2"
for n in first second; do
    $MKXVA -o exports/$n.xva --name $n --hvm --disk "hda=size:1M,pattern=2" > /dev/null
done
cat > manifest.yaml <<EOT
version: 1
defaults: {target: lab, disk_format: raw, guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  lab: {type: directory, path: out}
waves:
  - name: night
    max_parallel: 1
    window: {not_before: "2026-12-05T22:00:00Z", not_after: "2026-12-06T04:00:00Z"}
    vms:
      - {name: first, source: exports, hooks: {pre: 'sleep 5'}}
      - {name: second, source: exports}
EOT
CONVOY_NOW=2026-12-06T03:59:57Z expect_exit 0 "$CONVOY" apply --yes manifest.yaml > c.log
expect_grep "^second: deferred: wave 'night' window closed at 2026-12-06T04:00:00Z before this VM could start" c.log
expect_grep '1 VM deferred to the next window' c.log
[ -f out/first.xml ] && [ ! -e out/second.xml ] || fail "the wrong VMs ran after the window closed"
exit 0

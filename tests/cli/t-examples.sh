#!/bin/sh
# Every example repository under examples/ runs as its README says: the
# lab's exports are generated, both waves applied in order (wave-2 first
# is refused), and a last plan has nothing left to do.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires qemu-img
d=$(scratch)
# A copy laid out as in the tree: make-exports.sh finds tests/tools two
# levels up.
mkdir -p "$d/examples" "$d/tests"
cp -r "$abs_top_srcdir/examples/lab" "$d/examples/lab"
ln -s "$abs_top_srcdir/tests/tools" "$d/tests/tools"
cd "$d/examples/lab"
./make-exports.sh > /dev/null
expect_exit 0 "$CONVOY" validate manifest.yaml > /dev/null
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep 'Plan: 7 to do, 0 to resume, 0 to redo, 0 done.' plan.txt
expect_exit 1 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > w2.log 2> w2.err
expect_grep "runs after wave 'wave-1', which is not complete" w2.err
[ ! -e out/db1.xml ] || fail "wave-2 ran before wave-1"
expect_exit 0 "$CONVOY" apply --yes --wave wave-1 manifest.yaml > w1.log
expect_exit 0 "$CONVOY" apply --yes --wave wave-2 manifest.yaml > w2.log
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
qemu-img info out/web1-kvm-vda.qcow2 | grep -q 'file format: qcow2' || fail "web1 disk is not qcow2"
[ "$(stat -c %s out/db1-vda.raw)" -eq $((16 * 1024 * 1024)) ] || fail "db1 vda has the wrong size"
expect_grep "<source network='default'/>" out/db1.xml
expect_grep "<source bridge='br20'/>" out/db1.xml
if command -v virt-xml-validate > /dev/null; then
    for x in out/*.xml; do virt-xml-validate "$x" domain > /dev/null || fail "$x does not validate"; done
fi
# The .gitignore keeps state and outputs out of git.
expect_grep '^.convoy/$' .gitignore
expect_grep '^out/$' .gitignore

# examples/fleet: three waves in one file each, hooks, windows, the CI
# summary script, cron and systemd units.
cp -r "$abs_top_srcdir/examples/fleet" "$d/examples/fleet"
cd "$d/examples/fleet"
./make-exports.sh > /dev/null
expect_exit 0 "$CONVOY" validate manifests/ > v.txt
expect_grep 'valid: 4 files, 1 source, 1 target, 3 waves, 6 VMs' v.txt
expect_exit 2 "$CONVOY" plan --json manifests/ > plan.json
python3 ci/plan-comment.py < plan.json > plan.md
expect_grep '^## convoy plan$' plan.md
expect_grep '^19 to do, 0 to resume, 0 to redo, 0 done, 0 blocked.$' plan.md
expect_grep '^### wave wave-3$' plan.md
expect_grep '^| web1 → web1-kvm | disk-copy vda | todo | not done yet |$' plan.md
# Friday night: outside wave-1's window, nothing starts.
CONVOY_NOW=2026-12-04T22:30:00Z expect_exit 0 "$CONVOY" apply --yes --wave wave-1 manifests/ > fri.log
expect_grep 'outside window, nothing started' fri.log
# Saturday 23:30 in Paris: wave-1 runs, its hooks log each VM.
CONVOY_NOW=2026-12-05T22:30:00Z expect_exit 0 "$CONVOY" apply --yes --wave wave-1 manifests/ > sat.log
[ "$(grep -c ' pre web' log/hooks.log)" -eq 3 ] || fail "pre-hooks did not run for the three web VMs"
expect_grep ' post web2 -> web2-kvm (wave wave-1): done$' log/hooks.log
CONVOY_NOW=2026-12-05T23:00:00Z expect_exit 0 "$CONVOY" apply --yes --wave wave-2 manifests/ > sat2.log
# wave-3 waits for its own night.
CONVOY_NOW=2026-12-05T23:30:00Z expect_exit 0 "$CONVOY" apply --yes --wave wave-3 manifests/ > sat3.log
expect_grep "it opens at 2026-12-19T22:00:00Z" sat3.log
CONVOY_NOW=2026-12-19T23:00:00Z expect_exit 0 "$CONVOY" apply --yes --wave wave-3 manifests/ > db.log
expect_exit 0 "$CONVOY" plan manifests/ > /dev/null
expect_exit 0 "$CONVOY" plan --json manifests/ | python3 ci/plan-comment.py > done.md
expect_grep 'Nothing to do: every step is up to date.' done.md
expect_exit 0 "$CONVOY" report --format html -o log/night.html manifests/
expect_grep "6 VMs: <b class='s-done'>6 done</b>" log/night.html
# The scheduling files name real commands and wave names of the manifests.
for w in wave-1 wave-2; do
    expect_grep "convoy apply --yes --wave $w manifests/" cron/convoy.cron
done
grep -v '^#' cron/convoy.cron | grep -v '^[A-Z_]*=' | grep -v '^$' |
    while read -r min hour dom mon dow user cmd; do
        [ -n "$cmd" ] && [ "$user" = convoy ] || fail "cron line without user and command"
    done
expect_grep '^ExecStart=/usr/local/bin/convoy apply --yes --log-format=json --wave %i manifests/$' systemd/convoy-apply@.service
expect_grep '^OnCalendar=Sat .* Europe/Paris$' systemd/convoy-apply@.timer
# Every OnCalendar= parses, and the timer fires inside the waves' window
# (Sat 22:00-Sun 04:00 Europe/Paris) only.
if command -v systemd-analyze > /dev/null; then
    sed -n 's/^OnCalendar=//p' systemd/convoy-apply@.timer | while read -r spec; do
        systemd-analyze calendar --iterations=3 "$spec" > cal.txt 2>&1 || { cat cal.txt; fail "OnCalendar '$spec' does not parse"; }
    done
    python3 - systemd/convoy-apply@.timer <<'PY'
import re, sys
# Sat 22:00, Sat 23:00, Sun 00:00 .. 03:00, all in the window's zone
ok = {("Sat", h) for h in (22, 23)} | {("Sun", h) for h in range(0, 4)}
got = set()
for line in open(sys.argv[1]):
    m = re.match(r"OnCalendar=(\w+) \*-\*-\* (\d+)(?:\.\.(\d+))?:00:00 Europe/Paris$", line.strip())
    if m:
        lo = int(m.group(2)); hi = int(m.group(3) or lo)
        got |= {(m.group(1), h) for h in range(lo, hi + 1)}
assert got == ok, sorted(got)
PY
fi
grep -q '^CRON_TZ=Europe/Paris$' cron/convoy.cron || fail "the cron file does not say its time zone"
# examples/moves: host moves between placeholder hosts; validated only
# (tests/libvirt/t-libvirt-move.sh runs moves against real daemons).
expect_exit 0 "$CONVOY" validate "$abs_top_srcdir/examples/moves/manifest.yaml" > moves.txt
expect_grep 'valid: 1 file, 0 sources, 3 targets, 1 wave, 0 VMs, 4 moves' moves.txt
python3 -c 'import sys, yaml' 2>/dev/null && python3 - .github/workflows/convoy-plan.yml <<'PY'
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
steps = w["jobs"]["plan"]["steps"]
assert any("convoy plan --json" in s.get("run", "") for s in steps)
PY
exit 0

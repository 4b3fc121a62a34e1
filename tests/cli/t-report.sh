#!/bin/sh
# convoy report after a night with one good VM, one failed VM (a damaged
# chunk) and one never started: every format says so, the JSON parses,
# and the HTML page renders in headless Chromium (a screenshot is taken).
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 8M
cd "$d"
$MKXVA -o exports/db1.xva --name db1 --pv --bootloader pygrub \
    --disk "xvda=size:6M,ref=Ref:20,pattern=3" --corrupt-chunk Ref:20/0 \
    --vif "0=aa:bb:cc:00:00:02,bridge=xenbr0" > /dev/null
$MKXVA -o exports/app1.xva --name app1 --pv --bootloader pygrub \
    --disk "xvda=size:2M,ref=Ref:30,pattern=4" \
    --vif "0=aa:bb:cc:00:00:03,bridge=xenbr0" > /dev/null
cat >> manifest.yaml <<EOT
      - {name: db1, source: exports}
  - name: wave-2
    after: [wave-1]
    vms:
      - {name: app1, source: exports}
EOT
expect_exit 0 "$CONVOY" report manifest.yaml > before.txt
expect_grep '3 VMs: 0 done, 0 failed, 0 partial, 0 deferred, 3 not started' before.txt

expect_exit 1 "$CONVOY" apply --yes --wave wave-1 manifest.yaml > apply.log 2>&1

expect_exit 0 "$CONVOY" report manifest.yaml > r.txt
expect_grep '3 VMs: 1 done, 1 failed, 0 partial, 0 deferred, 1 not started' r.txt
expect_grep '^app1 → app1 (wave wave-2): pending' r.txt
expect_grep '^web1 → web1-kvm (wave wave-1): done, copied 72.0 MiB' r.txt
expect_grep '^  disk-copy/vda          done .*64.0 MiB at .*, xxh64:[0-9a-f]\{16\}' r.txt
expect_grep '^db1 → db1 (wave wave-1): failed' r.txt
expect_grep "error: disk 'vda': disk 'Ref:20' chunk 00000000: checksum mismatch (xxhash" r.txt
# The whole domain XML only when asked for.
expect_grep "^  domain XML: recorded ('convoy report --xml' prints it)$" r.txt
! grep -q "<domain" r.txt || fail "the text report prints the domain XML without --xml"
expect_exit 0 "$CONVOY" report --xml manifest.yaml > rx.txt
expect_grep "^  domain XML:$" rx.txt
expect_grep "^    <domain type='kvm'>" rx.txt
# --vm: one VM.
expect_exit 0 "$CONVOY" report --vm db1 manifest.yaml > rv.txt
expect_grep '^convoy report, vm db1 (state ' rv.txt
expect_grep '^1 VM: 0 done, 1 failed, 0 partial, 0 deferred, 0 not started' rv.txt
! grep -q '^web1' rv.txt || fail "report --vm db1 shows web1"
expect_exit 64 "$CONVOY" report --vm nope manifest.yaml 2> vnope.err
expect_grep "no vm 'nope' in the manifest" vnope.err

expect_exit 0 "$CONVOY" report --wave wave-1 --format markdown manifest.yaml > r.md
expect_grep '^# convoy report: wave wave-1' r.md
expect_grep '^| disk-copy/vda | failed |' r.md
expect_grep "^<domain type='kvm'>" r.md

expect_exit 0 "$CONVOY" report --format json -o r.json manifest.yaml
python3 - r.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["format_version"] == 1
assert r["summary"] == {**r["summary"], "vms": 3, "done": 1, "failed": 1, "not_started": 1}, r["summary"]
web1 = r["vms"][0]
assert web1["name"] == "web1" and web1["status"] == "done"
assert web1["bytes_copied"] == (64 + 8) * 1024 * 1024
copies = [s for s in web1["steps"] if s["kind"] == "disk-copy"]
assert len(copies) == 2 and all(s["checksum"].startswith("xxh64:") for s in copies)
assert all(s["attempts_log"][-1]["outcome"] == "done" for s in web1["steps"])
assert "<uuid>" in web1["domain_xml"]
db1 = r["vms"][1]
assert db1["status"] == "failed" and "checksum mismatch (xxhash" in db1["steps"][0]["error"]
PY

expect_exit 0 "$CONVOY" report --format html -o r.html manifest.yaml
expect_grep "<div class='bar done'" r.html
expect_grep "<div class='bar failed'" r.html
# one bar per recorded attempt, no more, no fewer
python3 - r.json r.html <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
attempts = sum(len(s["attempts_log"]) for v in r["vms"] for s in v["steps"])
bars = len(re.findall(r"<div class='bar ", open(sys.argv[2]).read()))
assert attempts > 0 and bars == attempts, (bars, attempts)
PY
expect_grep '&lt;domain type=' r.html
# The header: the manifest, when, and which convoy made it.
version=$("$CONVOY" --version | sed 's/^convoy //')
expect_grep "^<dt>manifest</dt><dd id='manifest'>manifest.yaml</dd>$" r.html
expect_grep "^<dt>made</dt><dd id='made'>20[0-9-]*T[0-9:]*Z</dd>$" r.html
expect_grep "^<dt>convoy</dt><dd id='version'>$version</dd>$" r.html
# Failures in red, since there is one.
expect_grep "<b class='s-failed'>1 failed</b>" r.html
expect_grep "<span><i class='failed'></i>failed</span>" r.html
# One timeline (one run so far) on a time axis: five ticks from its
# start to its end.
python3 - r.html <<'PY'
import re, sys
h = open(sys.argv[1]).read()
tables = re.findall(r"<table class='tl' data-run='(\d+)'>\n(.*?)</table>", h, re.S)
assert len(tables) == 1, len(tables)
run, body = tables[0]
assert re.search(r"<h3 id='run-%s'>Run %s: \S+Z to \S+Z \(\d+ s\)</h3>" % (run, run), h), h
ticks = re.findall(r"<span class='tick' style='left:(\d+)%'>(\d\d:\d\d:\d\d)</span>", body)
assert [t[0] for t in ticks] == ["0", "25", "50", "75", "100"], ticks
assert ticks[0][1] <= ticks[-1][1], ticks
assert "<td class='lbl'>time (UTC)</td>" in body
PY
# Without failures nothing is red.
expect_exit 0 "$CONVOY" report --format html --vm web1 manifest.yaml > web1.html
expect_grep "1 VM: <b class='s-done'>1 done</b>, 0 failed, 0 partial" web1.html
# (the style sheet names the colours; the page uses none of the red ones)
! sed 's|<style>.*</style>||' web1.html | grep -q "s-failed\|class='failed'\|class='bar failed'" ||
    fail "red without failures"
expect_exit 64 "$CONVOY" report --format pdf manifest.yaml 2> bad.err
expect_grep "'--format': expected text, markdown, html or json, got 'pdf'" bad.err
expect_exit 64 "$CONVOY" report --wave nope manifest.yaml 2> nope.err
expect_grep "no wave 'nope' in the manifest" nope.err

# A plain apply: db1 fails again, so app1 (wave-2 runs after wave-1) is
# not started; the report says so, and why, instead of "pending".
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply2.log 2>&1
expect_exit 0 "$CONVOY" report manifest.yaml > r2.txt
expect_grep '3 VMs: 1 done, 1 failed, 0 partial, 1 deferred, 0 not started' r2.txt
expect_grep '^app1 → app1 (wave wave-2): deferred' r2.txt
expect_grep "^  (not started: wave 'wave-2' runs after wave 'wave-1', which did not complete)" r2.txt
expect_exit 0 "$CONVOY" report --format json manifest.yaml > r2.json
# Two runs now: two timelines, each on its own axis.
expect_exit 0 "$CONVOY" report --format html manifest.yaml > r2.html
[ "$(grep -c "^<table class='tl' data-run=" r2.html)" = 2 ] || fail "not one timeline per run"
[ "$(grep -o "<span class='tick' " r2.html | wc -l)" = 10 ] || fail "not one axis per run"
python3 - r2.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["summary"]["deferred"] == 1 and r["summary"]["not_started"] == 0, r["summary"]
app1 = [v for v in r["vms"] if v["name"] == "app1"][0]
assert app1["status"] == "deferred" and "runs after wave 'wave-1'" in app1["reason"], app1
PY

# The page as a person sees it: headless Chromium, no network.
chromium=""
for c in chromium chromium-browser; do
    command -v "$c" > /dev/null && chromium=$c && break
done
[ -n "$chromium" ] || skip "chromium is not installed (the report checks above passed)"
shot=${CONVOY_REPORT_SCREENSHOT:-$d/report.png}
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$d/chromium" --window-size=1200,900 \
    --screenshot="$shot" "file://$d/r.html" > chromium.log 2>&1 ||
    { cat chromium.log; fail "chromium failed"; }
[ -s "$shot" ] || fail "no screenshot"
python3 - "$shot" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert w == 1200 and h == 900, (w, h)
PY
exit 0

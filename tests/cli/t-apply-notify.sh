#!/bin/sh
# notify: at the end of each wave, apply posts the wave's report as JSON
# to the webhook with the bearer token from token_file; the token appears
# nowhere else; a webhook that fails is a warning, not a failed run.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
mkdir hook
python3 "$abs_top_srcdir/tests/tools/webhook-server.py" hook --fail 1 &
srv=$!
cleanup_fn "kill $srv"
for i in $(seq 1 100); do [ -e hook/port ] && break; sleep 0.05; done
port=$(cat hook/port)
printf 's3cr3t-t0ken-4711\n' > token
chmod 600 token
cat >> manifest.yaml <<EOT
notify: {url: "http://127.0.0.1:$port/convoy/night", token_file: token, timeout: 5}
EOT
# The first POST gets a 500: a warning, and the run still succeeds.
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a1.log 2> a1.err
expect_grep "warning: notify: wave 'wave-1': " a1.err
expect_grep '^POST /convoy/night' hook/1.headers
# The second apply has nothing to do: no wave ran, nothing is posted.
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a2.log 2>&1
[ ! -e hook/2.json ] || fail "posted although nothing ran"
# A VM redone: its wave's summary arrives.
rm out/web1-kvm.xml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a3.log 2> a3.err
expect_grep "posted the summary of wave 'wave-1' to the notify webhook" a3.err
expect_grep '^Authorization: Bearer s3cr3t-t0ken-4711' hook/2.headers
expect_grep '^Content-Type: application/json' hook/2.headers
python3 - hook/2.json <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
assert b["event"] == "wave-finished" and b["wave"] == "wave-1", b
r = b["report"]
assert r["summary"]["vms"] == 1 and r["summary"]["done"] == 1, r["summary"]
assert r["vms"][0]["name"] == "web1" and r["vms"][0]["status"] == "done"
PY
# Outside its window nothing starts, and the summary still arrives, with
# the reason web1 (its define to redo) did not start.
rm out/web1-kvm.xml
sed -i 's|^  - name: wave-1$|  - name: wave-1\n    window: {not_before: "2020-01-01T00:00:00Z", not_after: "2020-01-02T00:00:00Z"}|' manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > a4.log 2> a4.err
expect_grep "outside window, nothing started" a4.log
expect_grep "posted the summary of wave 'wave-1' to the notify webhook" a4.err
python3 - hook/3.json <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
v = b["report"]["vms"][0]
assert v["name"] == "web1" and "is outside its window" in v["reason"], v
PY
# The token is in no output, log, report or the state store.
"$CONVOY" report manifest.yaml > report.txt
for f in a1.log a1.err a2.log a3.log a3.err a4.log a4.err report.txt .convoy/state.db; do
    ! grep -q 's3cr3t-t0ken-4711' "$f" || fail "the token leaked into $f"
done
# A bad notify: block is a manifest error.
sed -i 's|^notify: .*|notify: {url: "ftp://example/x", insecure: true, ca_file: token}|' manifest.yaml
expect_exit 3 "$CONVOY" validate manifest.yaml 2> bad.err
expect_grep "'url': expected an http:// or https:// URL, got 'ftp://example/x'" bad.err
expect_grep "'insecure': not with 'ca_file'" bad.err
exit 0

#!/bin/sh
# Progress as people and machines see it: on a terminal (script(1) gives
# apply a pty) a live block with a line per running step and a total,
# each with an ETA while a copy runs;
# without one, a line per step start/finish and every 10 % of a copy;
# with --log-format=json, one JSON object per line and nothing else on
# standard output (the plan and the summary are events too).
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires script
d=$(scratch)
make_fixture "$d" 64M
cd "$d"
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))

# Without a terminal.
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > plain.log 2> plain.err
expect_grep '^web1/disk-copy/vdb: starting…$' plain.log
expect_grep '^web1/disk-copy/vdb: 50% (32.0 MiB of 64.0 MiB, .*/s)$' plain.log
expect_grep '^web1/disk-copy/vdb: done in ' plain.log
! grep -q "$(printf '\033')" plain.log plain.err || fail "escape sequences without a terminal"

# On a terminal: the live block is drawn on it (and erased at the end).
rm -rf out .convoy
script -qec "'$CONVOY' apply --yes manifest.yaml" tty.log > /dev/null 2>&1 < /dev/null ||
    { cat tty.log; fail "apply under script(1) failed"; }
grep -q 'total: 1 running, ' tty.log || { cat -v tty.log | tail -20; fail "no total line on the terminal"; }
grep -q "$(printf '\033')\[K" tty.log || fail "no live redraw on the terminal"
grep -Eq '  web1/disk-copy/vd[ab] +([0-9]+% .*/s|disk-copy…)' tty.log || fail "no per-step live line"
expect_grep 'Applied: 4 steps done' tty.log

# JSON lines.
rm -rf out .convoy
expect_exit 0 "$CONVOY" apply --yes --log-format=json manifest.yaml > json.log
expect_exit 0 "$CONVOY" apply --yes --log-format=json manifest.yaml > again.log
python3 - json.log again.log <<'PY'
import json, sys
# every line of standard output is a JSON object: the plan, the events,
# the summary
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["event"] == "plan" and ev[0]["plan"]["summary"]["todo"] == 4, ev[0]
assert ev[-1]["event"] == "summary", ev[-1]
s = ev[-1]
assert (s["outcome"], s["done"], s["failed"], s["skipped"], s["vms_started"]) == ("applied", 4, 0, 0, 1), s
steps = ev[1:-1]
kinds = {e["event"] for e in steps}
assert {"step-begin", "step-progress", "step-done"} <= kinds, kinds
assert all(e["time"].endswith("Z") for e in ev)
assert all(e["vm"] == "web1" for e in steps)
prog = [e for e in steps if e["event"] == "step-progress" and e["step"] == "web1/disk-copy/vdb"]
assert len(prog) == 10, len(prog)
again = [json.loads(l) for l in open(sys.argv[2])]
assert [e["event"] for e in again] == ["plan", "summary"], again
assert again[1]["outcome"] == "nothing-to-do", again[1]
PY
expect_exit 64 "$CONVOY" apply --yes --log-format=xml manifest.yaml 2> bad.err
expect_grep "'--log-format': expected text or json, got 'xml'" bad.err

# A copy slow enough to be watched (the XenAPI double pauses every 64 KiB
# of its export): the live lines carry an ETA, the step's and the total's.
requires python3
printf 'pw-%s\n' "$$" > pw
start_server port sh -c "exec python3 '$abs_top_srcdir/tests/xenapi/xenapi-server.py' --port-file \"\$PORT_FILE\" --password-file pw --vm exports/web1.xva:Halted --slow-ms 3"
sed -i "s|exports: {type: xva, path: exports}|exports: {type: xenserver, url: \"http://127.0.0.1:$port/\", username: root, password_file: pw}|" manifest.yaml
rm -rf out .convoy
script -qec "'$CONVOY' apply --yes manifest.yaml" eta.log > /dev/null 2>&1 < /dev/null ||
    { cat eta.log; fail "the slow apply under script(1) failed"; }
grep -Eq '  web1/disk-copy/vd[ab] +[0-9]+% .*/s ETA [0-9]+m[0-9][0-9]s' eta.log ||
    { cat -v eta.log | tail -20; fail "no ETA on a running copy's line"; }
grep -Eq '  total: 1 running, .*/s ETA [0-9]+m[0-9][0-9]s' eta.log || fail "no ETA on the total line"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs after the slow copy"
exit 0

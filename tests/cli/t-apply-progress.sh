#!/bin/sh
# Progress as people and machines see it: on a terminal (script(1) gives
# apply a pty) a live block with a line per running step and a total,
# each with an ETA while a copy runs;
# without one, a line per step start/finish and every 10 % of a copy;
# with --log-format=json, one JSON object per line and nothing else on
# standard output (the plan and the summary are events too), with a
# "progress" event of numbers every --progress-interval; status --watch
# follows a running apply until it ends.
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

# Unattended: JSON "progress" events with numbers at every interval,
# while the same slow copy runs; and status --watch follows it, refreshing
# until the apply ends.
rm -rf out .convoy
"$CONVOY" apply --yes --log-format=json --progress-interval 0.5 manifest.yaml > slow.json 2> slow.err &
apid=$!
cleanup_fn "kill $apid"
for i in $(seq 1 100); do
    "$CONVOY" status manifest.yaml 2> /dev/null | grep -q ' running ' && break
    sleep 0.1
done
expect_exit 0 "$CONVOY" status --watch --interval 0.2 manifest.yaml > watch.log
wait $apid || { cat slow.err; fail "the JSON apply failed"; }
[ "$(grep -c ': apply running ([^ ]*:[0-9]* convoy apply manifest.yaml); refreshing every 0.2 s, Ctrl-C stops$' watch.log)" -ge 2 ] ||
    { cat watch.log; fail "status --watch did not refresh while the apply ran"; }
tail -n 9 watch.log > watch-last.log
expect_grep '^20[0-9T:-]*Z: no apply is running$' watch-last.log
expect_grep '^4 steps done, 0 not done\.$' watch-last.log
python3 - slow.json <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
prog = [e for e in ev if e["event"] == "progress"]
copies = [e for e in prog if e["kind"] == "disk-copy"]
# 128 MiB at a few tens of MiB/s: several events, each with numbers
assert len(copies) >= 3, len(prog)
for e in copies:
    for k in ("bytes_done", "bytes_total", "rate", "eta_s", "total_bytes_done",
              "total_bytes", "total_rate", "total_eta_s", "running"):
        assert isinstance(e[k], int) and e[k] >= 0, (k, e)
    assert isinstance(e["elapsed_s"], float), e
    assert (e["vm"], e["wave"], e["kind"]) == ("web1", "wave-1", "disk-copy"), e
    assert e["step"] in ("web1/disk-copy/vda", "web1/disk-copy/vdb"), e
    assert e["bytes_total"] == 64 << 20 and e["total_bytes"] == 128 << 20, e
    assert e["slow_steps_left"] == 0, e
done = [e["total_bytes_done"] for e in copies]
assert done == sorted(done) and done[-1] > done[0], done
# the ETA falls as the copy goes on
assert copies[0]["total_eta_s"] >= copies[-1]["total_eta_s"], copies
sp = [e for e in ev if e["event"] == "step-progress"]
assert all(isinstance(e["bytes_done"], int) and e["bytes_total"] == 64 << 20 and e["wave"] == "wave-1" for e in sp), sp[:2]
PY

# The total ETA covers guest repair: with guest-fixup planned (its
# appliance made to fail at once here: the copies are what is watched),
# every event counts its expected 2 minutes (nothing measured yet).
rm -rf out .convoy
set_default . guest '{fixup: true}'
LIBGUESTFS_PATH=/nonexistent-convoy-test expect_exit 1 "$CONVOY" apply --yes --log-format=json --progress-interval 0.5 manifest.yaml > fix.json 2> fix.err
python3 - fix.json <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
copies = [e for e in ev if e["event"] == "progress" and e["kind"] == "disk-copy"]
assert len(copies) >= 3, len(copies)
for e in copies:
    assert e["slow_steps_left"] == 1, e
    left = (e["total_bytes"] - e["total_bytes_done"]) / max(e["total_rate"], 1)
    assert e["total_eta_s"] >= 120 and abs(e["total_eta_s"] - 120 - left) <= 2, e
assert any(e["event"] == "step-failed" and e["step"] == "web1/guest-fixup" for e in ev), [e["event"] for e in ev]
PY
exit 0

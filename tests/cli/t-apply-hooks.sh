#!/bin/sh
# Hooks and failures: pre/post hooks see the VM's facts; a failing or
# timed-out pre-hook skips its VM (exit 1) while the others go on; the
# report keeps the hooks' output; on_failure: stop-wave starts no other VM
# of the wave after a failure.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
for n in db1 slow1; do
    $MKXVA -o exports/$n.xva --name $n --pv --bootloader pygrub \
        --disk "xvda=size:2M,ref=Ref:50,pattern=2" \
        --vif "0=aa:bb:cc:00:00:07,bridge=xenbr0" > /dev/null
done
python3 - manifest.yaml <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("  - name: wave-1\n", """  - name: wave-1
    max_parallel: 3
    hooks:
      pre: 'echo "pre $CONVOY_HOOK $CONVOY_VM $CONVOY_VM_TARGET_NAME $CONVOY_WAVE $CONVOY_SOURCE_TYPE $CONVOY_TARGET_TYPE"; echo "$CONVOY_DISKS" > disks.$CONVOY_VM'
      post: 'echo "post $CONVOY_VM $CONVOY_STATUS" >> post.log'
""")
s += """      - {name: db1, source: exports, hooks: {pre: 'echo draining db1; exit 3'}}
      - {name: slow1, source: exports, hooks: {pre: 'sleep 30', timeout: 1s}}
"""
open(p, "w").write(s)
PY
start=$(date +%s)
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.log 2>&1
[ $(( $(date +%s) - start )) -lt 20 ] || fail "the timed-out hook was not killed"
expect_grep "^web1: pre-hook ok" apply.log
expect_grep "^db1: pre-hook pre-hook 'echo draining db1; exit 3' exited 3" apply.log
expect_grep "^slow1: pre-hook pre-hook 'sleep 30' timed out after 1 s and was killed" apply.log
expect_grep "Applied: 4 steps done, 2 failed, 6 skipped" apply.log
# web1 was migrated; its hooks saw its facts; the others were not touched.
[ -e out/web1-kvm.xml ] || fail "web1 was not migrated"
[ ! -e out/db1.xml ] && [ ! -e out/slow1.xml ] || fail "a VM whose pre-hook failed was migrated"
expect_grep "^$d/out/web1-kvm-vda.raw $d/out/web1-kvm-vdb.raw\$" disks.web1
expect_grep '^post web1 done$' post.log
! grep -q 'post db1' post.log || fail "a skipped VM ran its post-hook"

expect_exit 0 "$CONVOY" report manifest.yaml > report.txt
expect_grep '^db1 → db1 (wave wave-1): failed' report.txt
expect_grep '^  hook pre               ok' report.txt
expect_grep '^    | pre pre web1 web1-kvm wave-1 xva directory' report.txt
expect_grep "^  hook pre               failed: pre-hook 'echo draining db1; exit 3' exited 3" report.txt
expect_grep '^    | draining db1' report.txt
"$CONVOY" report --format json manifest.yaml | python3 -c '
import json, sys
r = json.load(sys.stdin)
vms = {v["name"]: v for v in r["vms"]}
assert [h["hook"] for h in vms["web1"]["hooks"]] == ["pre", "post"]
assert vms["db1"]["hooks"][0]["ok"] is False
' || fail "report JSON hooks"

# The cause fixed, the next apply redoes only what failed: db1 and slow1,
# not a single step of web1.
sed -i "s|hooks: {pre: 'echo draining db1; exit 3'}|hooks: {pre: 'echo drained'}|; s|hooks: {pre: 'sleep 30', timeout: 1s}|hooks: {pre: 'true'}|" manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply2.log 2>&1 || { cat apply2.log; fail "the second apply failed"; }
expect_grep "Applied: 6 steps done, 0 failed, 0 skipped" apply2.log
grep -q '^web1/' apply2.log && fail "the second apply ran steps of web1 again"
expect_grep '^db1/disk-copy/vda: starting' apply2.log
expect_grep '^slow1/domain-define: done' apply2.log

# stop-wave: the first VM fails, so no other VM of the wave starts.
d2=$(scratch)
make_fixture "$d2" 4M
cd "$d2"
$MKXVA -o exports/bad.xva --name bad --pv --bootloader pygrub \
    --disk "xvda=size:2M,ref=Ref:60,pattern=2" --corrupt-chunk Ref:60/0 \
    --vif "0=aa:bb:cc:00:00:08,bridge=xenbr0" > /dev/null
sed -i 's|  - name: wave-1|  - name: wave-1\n    on_failure: stop-wave|; s|      - {name: web1|      - {name: bad, source: exports}\n      - {name: web1|' manifest.yaml
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.log 2>&1
expect_grep "^bad: failed; on_failure: stop-wave, so no other VM of wave 'wave-1' starts" apply.log
expect_grep "^web1: not started: an earlier VM of wave 'wave-1' failed (on_failure: stop-wave)" apply.log
[ ! -e out/web1-kvm-vda.raw ] || fail "web1 started after a failure with stop-wave"

# Hooks never see convoy's secrets: the variables any source's
# password_env names, and CONVOY_*PASSWORD*/TOKEN*/SECRET*.
d3=$(scratch)
make_fixture "$d3" 2M
cd "$d3"
sed -i 's|^  exports: {type: xva, path: exports}|  exports: {type: xva, path: exports}\n  pool: {type: xenserver, url: "https://xs.invalid", username: root, password_env: XS_POOL_PW}|' manifest.yaml
sed -i "s|^      - {name: web1, source: exports, rename: web1-kvm}|      - {name: web1, source: exports, rename: web1-kvm, hooks: {pre: 'env > hook.env'}}|" manifest.yaml
XS_POOL_PW=hunter2-pool CONVOY_API_TOKEN=tok-123 CONVOY_SMTP_PASSWORD=pw-456 \
    HOOK_VISIBLE=kept expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply.log 2>&1 ||
    { cat apply.log; fail "apply with a secret in the environment failed"; }
expect_grep '^CONVOY_VM=web1$' hook.env
expect_grep '^HOOK_VISIBLE=kept$' hook.env
for s in hunter2-pool tok-123 pw-456 XS_POOL_PW CONVOY_API_TOKEN CONVOY_SMTP_PASSWORD; do
    ! grep -q -- "$s" hook.env || fail "the hook saw the secret '$s'"
done
exit 0

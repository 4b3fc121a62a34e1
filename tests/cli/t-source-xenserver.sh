#!/bin/sh
# The xenserver source against the XenAPI test double over HTTPS with a
# test CA: a wrong password (the error names neither the password nor a
# session), HOST_IS_SLAVE from the pool member the manifest names, a 302
# on /export_raw_vdi (export: auto, the default) to another host whose
# first raw disk is cut (retried), the same for the whole-VM /export
# (export: xva), a clean shutdown with source_power: shutdown, an interrupted apply that
# resumes, byte-for-byte disks, a no-op re-plan, the source XVA unchanged
# and no secret in plans, logs or the state db.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires python3
requires strings
requires openssl
XS="python3 $abs_top_srcdir/tests/xenapi/xenapi-server.py"
export CONVOY_HTTP_RETRY_MS=50
d=$(scratch)
# xapi's way: empty keep-alive chunks among the chunks, every 3.
MKXVA_EXTRA="--keepalive 3" make_fixture "$d" 24M
cd "$d"
cp -p exports/web1.xva web1.xva.orig
make_ca "$d"
secret="xs-pw-$$-Kd2"
printf '%s\n' "$secret" > server-pw
TLS="--tls $d/server.pem $d/server.key"

# The export host (302 target; its first export is cut at 2 MB and slow
# enough to interrupt), the master (redirects /export), the member.
start_server p_exp sh -c "exec $XS --port-file \"\$PORT_FILE\" $TLS --password-file server-pw --vm exports/web1.xva:Halted --trust-sessions --drop-export 1:2000000 --slow-ms 8 --state exp.json"
start_server p_master sh -c "exec $XS --port-file \"\$PORT_FILE\" $TLS --password-file server-pw --vm exports/web1.xva:Running --export-redirect https://127.0.0.1:$p_exp --state master.json"
start_server p_member sh -c "exec $XS --port-file \"\$PORT_FILE\" $TLS --password-file server-pw --slave-of 127.0.0.1:$p_master --state member.json"

cat > manifest.yaml <<EOT
version: 1
defaults:
  guest: {fixup: false}
  target: lab
  disk_format: raw
  source_power: shutdown
sources:
  pool: {type: xenserver, url: "https://127.0.0.1:$p_member/", username: root,
         password_env: CONVOY_TEST_XS_PW, ca_file: ca.pem}
targets:
  lab:
    type: directory
    path: out
    networks:
      - {from: {bridge: xenbr0}, to: {network: default}}
waves:
  - name: wave-1
    vms:
      - {name: web1, source: pool, rename: web1-kvm}
EOT

# Wrong password.
export CONVOY_TEST_XS_PW="not-$secret"
expect_exit 1 "$CONVOY" plan manifest.yaml > plan0.txt 2>&1
expect_grep 'SESSION_AUTHENTICATION_FAILED' plan0.txt
expect_grep "login as 'root' failed" plan0.txt
no_secret "$secret" plan0.txt
grep -q 'OpaqueRef:session' plan0.txt && fail "a session id in the output"

export CONVOY_TEST_XS_PW="$secret"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt 2>&1
expect_grep '+ todo   source-shutdown    web1 on .pool. (running' plan1.txt
expect_grep '+ todo   disk-copy vda' plan1.txt
grep -q 'HOST_IS_SLAVE\|login' member.json || fail "the member saw no login"
grep -q '"web1": "Running"' master.json || fail "plan changed the power state"

# Interrupt the apply during the (slow) second export, then resume.
export CONVOY_CHECKPOINT_INTERVAL=$((4 * 1024 * 1024))
"$CONVOY" apply --yes manifest.yaml > apply1.txt 2> apply1.err &
pid=$!
for i in $(seq 1 300); do
    grep -q 'web1/disk-copy/vdb: .*MiB of' apply1.txt 2>/dev/null && break
    sleep 0.05
done
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 4 ] || { cat apply1.txt apply1.err; fail "exit $rc, expected 4"; }
expect_grep '"web1": "Halted"' master.json
grep -q 'VM.clean_shutdown' master.json || fail "no clean shutdown"
grep -q 'VM.hard_shutdown' master.json && fail "a hard shutdown"
grep -q 'raw sent 2000000 (cut)' exp.json || fail "the raw export was not cut: $(cat exp.json)"
grep -q 'GET /export_raw_vdi 302' master.json || fail "no 302 on /export_raw_vdi"
grep -q '"GET /export"' exp.json master.json && fail "a whole-VM export with export: auto"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
expect_grep '= done   source-shutdown' plan2.txt
expect_grep '~ resume disk-copy vdb' plan2.txt
"$CONVOY" apply --yes manifest.yaml > apply2.txt 2>&1 || { cat apply2.txt; fail "resume failed"; }
expect_grep 'web1/disk-copy/vdb: resuming' apply2.txt
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
expect_grep "aa:bb:cc:00:00:01" out/web1-kvm.xml
expect_exit 0 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1
cmp exports/web1.xva web1.xva.orig || fail "the source XVA changed"
grep -q 'session.logout' master.json || fail "no logout"

# export: xva: the whole-VM /export, redirected by the master to an
# export host whose first export is cut (and retried).
start_server p_exp2 sh -c "exec $XS --port-file \"\$PORT_FILE\" $TLS --password-file server-pw --vm exports/web1.xva:Halted --trust-sessions --drop-export 1:2000000 --state exp2.json"
start_server p_master2 sh -c "exec $XS --port-file \"\$PORT_FILE\" $TLS --password-file server-pw --vm exports/web1.xva:Halted --export-redirect https://127.0.0.1:$p_exp2 --state master2.json"
sed -e "s|127.0.0.1:$p_member/\", |127.0.0.1:$p_master2/\", export: xva, |" \
    -e 's|path: out$|path: out2|' manifest.yaml > xva.yaml
"$CONVOY" apply --yes --state xva.db xva.yaml > apply3.txt 2>&1 || { cat apply3.txt xva.yaml; fail "export: xva failed"; }
grep -q 'GET /export_raw_vdi' master2.json exp2.json && fail "export: xva asked for a raw VDI"
grep -q '"GET /export"' master2.json || fail "no /export on the master"
grep -q 'export sent 2000000 (cut)' exp2.json || fail "the export was not cut: $(cat exp2.json)"
cmp src/xvda.raw out2/web1-kvm-vda.raw || fail "vda differs (export: xva)"
cmp src/xvdb.raw out2/web1-kvm-vdb.raw || fail "vdb differs (export: xva)"

for f in plan1.txt apply1.txt apply1.err plan2.txt apply2.txt plan3.txt apply3.txt .convoy/state.db xva.db; do
    no_secret "$secret" "$f"
    strings "$f" | grep -q 'OpaqueRef:session' && fail "a session id in $f"
done
exit 0

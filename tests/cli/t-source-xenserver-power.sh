#!/bin/sh
# Source power policy with the XenAPI test double (plain HTTP): a guest
# that ignores the clean shutdown fails the apply within shutdown_timeout
# and is never forced off unless hard_shutdown_after says so; then it is
# hard-shut down and copied (compressed export).  source_power: leave
# plans no shutdown and a running VM cannot be exported.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires python3
XS="python3 $abs_top_srcdir/tests/xenapi/xenapi-server.py"
d=$(scratch)
# keep-alive chunks (xapi's way) in the exports: /export_raw_vdi must
# place the data after them where it belongs
MKXVA_EXTRA="--keepalive 2" make_fixture "$d" 4M
cd "$d"
printf 'pw-%s\n' "$$" > pw
start_server port sh -c "exec $XS --port-file \"\$PORT_FILE\" --password-file pw --vm exports/web1.xva:Running --shutdown-hangs 3 --state xs.json"
write_manifest() {
    cat > manifest.yaml <<EOT
version: 1
defaults: {target: lab, disk_format: raw, source_power: $1, guest: {fixup: false}}
sources:
  pool: {type: xenserver, url: "http://127.0.0.1:$port/", username: root,
         password_file: pw $2}
targets:
  lab: {type: directory, path: out, networks: [{from: {bridge: xenbr0}, to: {network: default}}]}
waves:
  - name: w
    vms: [{name: web1, source: pool}]
EOT
}

# leave: no shutdown step; the copy refuses a running VM.
write_manifest leave ""
expect_exit 2 "$CONVOY" plan manifest.yaml > plan0.txt 2>&1
grep -q 'source-shutdown' plan0.txt && fail "leave planned a shutdown"
expect_grep "vm 'web1' is running and source_power is leave" plan0.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply0.txt 2>&1
expect_grep "VM 'web1' is Running; /export needs it halted" apply0.txt
expect_grep '"web1": "Running"' xs.json

# shutdown without a hard fallback: fails after shutdown_timeout.
write_manifest shutdown ", shutdown_timeout: 1"
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply1.txt 2>&1
expect_grep "did not shut down cleanly within 1 s" apply1.txt
expect_grep "set hard_shutdown_after to force it off" apply1.txt
expect_grep '"web1": "Running"' xs.json
grep -q 'VM.hard_shutdown' xs.json && fail "forced off without hard_shutdown_after"

# hard_shutdown_after: clean first, then hard (use_compression means the
# whole-VM /export, zstd-compressed).
write_manifest shutdown ", use_compression: true, hard_shutdown_after: 1"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
expect_grep 'source-shutdown    web1 on .pool. (running; clean, then hard after 1 s)' plan2.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply2.txt 2>&1
expect_grep '"web1": "Halted"' xs.json
grep -q 'VM.hard_shutdown' xs.json || fail "no hard shutdown"
if command -v zstd >/dev/null; then
    grep -q 'GET /export zstd' xs.json || fail "use_compression did not ask for zstd"
fi
cmp src/xvda.raw out/web1-vda.raw || fail "vda differs"
cmp src/xvdb.raw out/web1-vdb.raw || fail "vdb differs"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1

# export: auto (the default) streams each disk alone from
# /export_raw_vdi (a first transfer cut and retried); the VM is already
# halted, so nothing is shut down.
start_server port2 sh -c "exec $XS --port-file \"\$PORT_FILE\" --password-file pw --vm exports/web1.xva:Halted --drop-export 1:1500000 --state xs2.json"
port=$port2
write_manifest shutdown ""
rm -rf out .convoy
export CONVOY_HTTP_RETRY_MS=50
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply4.txt 2>&1
grep -q 'GET /export_raw_vdi' xs2.json || fail "no raw VDI export"
grep -q 'raw sent 1500000 (cut)' xs2.json || fail "the raw export was not cut"
grep -q '"GET /export"' xs2.json && fail "a whole-VM export"
grep -q 'VM.clean_shutdown' xs2.json && fail "a halted VM was shut down"
cmp src/xvda.raw out/web1-vda.raw || fail "vda differs (raw_vdi)"
cmp src/xvdb.raw out/web1-vdb.raw || fail "vdb differs (raw_vdi)"

# The same VM reverted to a snapshot on the pool (its snapshot_time moved):
# the next plan redoes its copies, naming that input.
cp exports/web1.xva web1.xva.keep
cp -r src src.keep
MKXVA_EXTRA="--keepalive 2 --snapshot-time 20261201T22:00:00Z" make_fixture "$d" 4M
start_server port5 sh -c "exec $XS --port-file \"\$PORT_FILE\" --password-file pw --vm exports/web1.xva:Halted --state xs5.json"
port=$port5
write_manifest shutdown ", export: raw_vdi"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan5.txt 2>&1 || { cat plan5.txt; exit 1; }
expect_grep '! redo   disk-copy vda' plan5.txt
expect_grep 'inputs changed: xenserver_snapshot_time' plan5.txt
mv web1.xva.keep exports/web1.xva
rm -rf src && mv src.keep src

# /export_raw_vdi has no compression: asking for both is a manifest error.
write_manifest shutdown ", use_compression: true, export: raw_vdi"
expect_exit 3 "$CONVOY" validate manifest.yaml > val1.txt 2>&1
expect_grep "manifest.yaml:5:[0-9]*: error: 'export': raw_vdi streams uncompressed disks, so it cannot go with 'use_compression: true'" val1.txt

# A host without /export_raw_vdi (404): export: raw_vdi fails the copy
# with the way out; export: auto (the default) takes the whole-VM export
# instead, asked for once per disk, not the raw one again after the first
# 404.
start_server port3 sh -c "exec $XS --port-file \"\$PORT_FILE\" --password-file pw --vm exports/web1.xva:Halted --no-raw-vdi --state xs3.json"
port=$port3
write_manifest shutdown ", export: raw_vdi"
rm -rf out .convoy
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply5a.txt 2>&1
expect_grep "GET /export_raw_vdi of VM 'web1' disk xvda: .*404" apply5a.txt
expect_grep "set export: auto (or xva) to export the whole VM instead" apply5a.txt
grep -q '"GET /export"' xs3.json && fail "export: raw_vdi fell back to /export"
write_manifest shutdown ""
rm -rf out .convoy
before=$(grep -c 'GET /export_raw_vdi 404' xs3.json)
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply5.txt 2>&1 || { cat apply5.txt; exit 1; }
[ "$(grep -c 'GET /export_raw_vdi 404' xs3.json)" -eq $((before + 1)) ] || fail "asked /export_raw_vdi more than once in the second apply"
[ "$(grep -c '"GET /export"' xs3.json)" -ge 2 ] || fail "no whole-VM export after the 404"
cmp src/xvda.raw out/web1-vda.raw || fail "vda differs (fallback)"
cmp src/xvdb.raw out/web1-vdb.raw || fail "vdb differs (fallback)"

# Two VMs of one pool on parallel workers while the pool keeps expiring
# sessions: the workers share one session and log in again once per
# expiry, not once each, and never use a freed one.
$MKXVA -o exports/web2.xva --name web2 --uuid 0f1e2d3c-0000-4000-8000-000000000002 --seed 2 --hvm \
    --disk "hda=size:8M,ref=Ref:3,pattern=5,save=src/web2.raw" > /dev/null
start_server port4 sh -c "exec $XS --port-file \"\$PORT_FILE\" --password-file pw --vm exports/web1.xva:Halted --vm exports/web2.xva:Halted --trust-sessions --expire-sessions 4 --slow-ms 2 --state xs4.json"
port=$port4
write_manifest leave ""
sed -i 's|    vms: \[{name: web1, source: pool}\]|    max_parallel: 2\n    vms: [{name: web1, source: pool}, {name: web2, source: pool}]|' manifest.yaml
rm -rf out .convoy
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply6.txt 2>&1 || { cat apply6.txt; exit 1; }
cmp src/xvda.raw out/web1-vda.raw || fail "web1 vda differs (parallel)"
cmp src/web2.raw out/web2-vda.raw || fail "web2 differs (parallel)"
python3 - xs4.json <<'PY'
import json, sys
calls = json.load(open(sys.argv[1]))["calls"]
expired = calls.count("sessions expired")
logins = calls.count("session.login_with_password")
assert expired >= 2, "the pool expired sessions %d times" % expired
# one login per expiry, plus the first (a plan and an apply: two processes)
assert logins <= expired + 2, "%d logins for %d expiries" % (logins, expired)
print("%d calls, %d expiries, %d logins" % (len(calls), expired, logins))
PY

# A VM named by its uuid; two VMs of one name_label: refused, asking for
# the uuid; source_power set on the wave reaches its VMs.
$MKXVA -o exports/twin.xva --name web1 --uuid 0f1e2d3c-0000-4000-8000-0000000000aa --seed 3 --hvm \
    --disk "hda=size:1M,ref=Ref:4,pattern=6" > /dev/null
start_server port6 sh -c "exec $XS --port-file \"\$PORT_FILE\" --password-file pw --vm exports/web1.xva:Halted --vm exports/twin.xva:Running --state xs6.json"
port=$port6
write_manifest leave ""
expect_exit 1 "$CONVOY" plan manifest.yaml > plan6.txt 2>&1
expect_grep "source 'pool': 2 VMs are named 'web1'; name the VM by its uuid" plan6.txt
sed -i 's|    vms: \[{name: web1, source: pool}\]|    source_power: shutdown\n    vms: [{name: 0f1e2d3c-0000-4000-8000-0000000000aa, source: pool, rename: twin}]|' manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan7.txt 2>&1 || { cat plan7.txt manifest.yaml; exit 1; }
expect_grep 'source-shutdown' plan7.txt
rm -rf out .convoy
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply7.txt 2>&1 || { cat apply7.txt; exit 1; }
expect_grep '"web1": "Halted"' xs6.json
[ -f out/twin.xml ] || fail "the VM named by its uuid was not migrated"

# The password (from password_file) and the sessions are in no plan, log,
# report or state store of this test.
requires strings
"$CONVOY" report manifest.yaml > report.txt
no_secret "pw-$$" plan*.txt apply*.txt report.txt .convoy/state.db
for f in plan*.txt apply*.txt report.txt; do
    grep -q 'OpaqueRef:session' "$f" && fail "a session id in $f"
done
exit 0

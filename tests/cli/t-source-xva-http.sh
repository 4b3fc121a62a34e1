#!/bin/sh
# xva sources with url: over HTTP (basic auth, a dropped connection and a
# 500 in the middle, both retried) and HTTPS (a self-signed CA, a bearer
# token; insecure: true warns in every plan).  Discovery reads only up to
# ova.xml; the disks arrive byte for byte; no secret leaks.
. "$abs_top_srcdir/tests/functions.sh"
set -e; [ -n "${TRACE:-}" ] && set -x
requires qemu-img
requires python3
requires strings
SERVE="python3 $abs_top_srcdir/tests/tools/xva-http-server.py"
export CONVOY_HTTP_RETRY_MS=50
d=$(scratch)
make_fixture "$d" 64M
cd "$d"
cp -p exports/web1.xva exports/web1.xva.orig
size=$(stat -c %s exports/web1.xva)
secret="pw-$$-Zq8"
printf "%s\n" "$secret" > pw; cp pw server-pw

# --- HTTP with basic auth: the first 3 GETs are cut at 3 MB, the 5th is a 500.
start_server port1 sh -c "exec $SERVE exports --port-file \"\$PORT_FILE\" --log http.log --drop 3:3000000 --fail-at 5 --basic admin:$d/server-pw"
sed -i "s|exports: {type: xva, path: exports}|exports: {type: xva, url: \"http://127.0.0.1:$port1/web1.xva\", username: admin, password_file: pw}|" manifest.yaml
expect_exit 2 "$CONVOY" plan manifest.yaml > plan1.txt 2>&1
expect_grep '+ todo   disk-copy vda' plan1.txt
expect_grep "source 'exports': url is plain http:// — the password and the disks cross the network unencrypted; use https://" plan1.txt
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply1.txt 2>&1
expect_grep 'Applied: 4 steps done, 0 failed, 0 skipped.' apply1.txt
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
grep -q ' 500 ' http.log || fail "no 500 was served"
grep -q ' 200 3000000 cut$' http.log || fail "no transfer was cut"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan2.txt 2>&1
cat http.log >&2
# Discovery (this last plan, no faults left) stopped after ova.xml.
tail -n 1 http.log | awk -v s="$size" '{ if ($2 != 200 || $3 >= s / 4 || NF != 3) exit 1 }' ||
    fail "discovery read $(tail -n 1 http.log | cut -d' ' -f3) of $size bytes"
cmp exports/web1.xva exports/web1.xva.orig || fail "the source XVA changed"
no_secret "$secret" plan1.txt apply1.txt plan2.txt .convoy/state.db

# A wrong password is a clear error, without the password.
printf 'wrong-%s\n' "$secret" > pw
rm -rf out .convoy
expect_exit 1 "$CONVOY" plan manifest.yaml > plan3.txt 2>&1
expect_grep 'HTTP 401' plan3.txt
no_secret "$secret" plan3.txt
printf "%s\n" "$secret" > pw; cp pw server-pw

# --- HTTPS with our own CA and a bearer token.
make_ca "$d"
tok="tok-$$-Yx3"
printf '%s\n' "$tok" > token
start_server port2 sh -c "exec $SERVE exports --port-file \"\$PORT_FILE\" --tls $d/server.pem $d/server.key --token $d/token"
sed -i "s|exports: {type: xva, url: .*|exports: {type: xva, url: \"https://127.0.0.1:$port2/web1.xva\", token_file: token, ca_file: ca.pem}|" manifest.yaml
rm -rf out .convoy
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > apply4.txt 2>&1
cmp src/xvda.raw out/web1-kvm-vda.raw || fail "vda differs (https)"
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs (https)"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan4.txt 2>&1
no_secret "$tok" apply4.txt plan4.txt .convoy/state.db

# Without the CA the certificate is refused; insecure: true is explicit
# and warned about in every plan.
sed -i "s|, ca_file: ca.pem}|}|" manifest.yaml
expect_exit 1 "$CONVOY" plan manifest.yaml > plan5.txt 2>&1
expect_grep 'curl: ' plan5.txt
grep -qi 'certificate' plan5.txt || fail "no certificate error: $(cat plan5.txt)"
sed -i "s|token_file: token}|token_file: token, insecure: true}|" manifest.yaml
expect_exit 0 "$CONVOY" plan manifest.yaml > plan6.txt 2>&1
expect_grep "insecure: true" plan6.txt
exit 0

#!/bin/sh
# convoy convert: --explain, --format json, --network, --pool, --rules, and
# the exit statuses 0, 1, 3 and 64 (never any XML on a failure).
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
cd "$d"
g=$abs_top_srcdir/tests/convert
in=$g/xen-to-kvm/pv-pygrub/in.xml

# --explain: one line per change, naming the rule file and line
"$CONVOY" convert --explain "$in" > out.xml 2> explain.txt
expect_grep "xen-to-kvm.yaml:[0-9]*: domain-type: set /domain/@type to 'kvm' (was 'xen')" explain.txt
expect_grep "xen-to-kvm.yaml:[0-9]*: drop-bootloader: remove /domain/bootloader" explain.txt
expect_grep "xen-to-kvm.yaml:[0-9]*: nic-drop-vifname: remove /domain/devices/interface/target" explain.txt
n=$(wc -l < explain.txt)
[ "$n" -ge 10 ] || fail "expected at least 10 explained changes, got $n"

# --format json
"$CONVOY" convert --format json "$g/xl/unknown-keys/in.cfg" > out.json 2> json.err
python3 - out.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["input"] == "xl.cfg", j["input"]
assert j["xml"].startswith("<domain type='kvm'>"), j["xml"][:40]
assert any(c["rule"] == "domain-type" and c["line"] > 0 for c in j["changes"]), j["changes"]
assert any("unknown setting 'frobnicate'" in m for m in j["messages"]), j["messages"]
PY
[ ! -s json.err ] || fail "--format json printed on stderr: $(cat json.err)"

# unknown xl.cfg settings: warned with positions, still converted
"$CONVOY" convert "$g/xl/unknown-keys/in.cfg" > u.xml 2> u.err
expect_grep "unknown-keys/in.cfg:4:1: warning: unknown setting 'frobnicate'" u.err
expect_grep "^<domain type='kvm'>" u.xml

# --network and --pool
"$CONVOY" convert --network xenbr0=bridge:br-lan --pool /dev/vg0=lvm --pool '*=images' \
    "$in" > mapped.xml
expect_grep "<source bridge='br-lan'/>" mapped.xml
expect_grep "<source pool='lvm' volume='web1-root'/>" mapped.xml
expect_grep "<source pool='images' volume='web1-data.img'/>" mapped.xml
# --explain names the option and mapping behind each of those changes
"$CONVOY" convert --explain --network xenbr0=bridge:br-lan --pool /dev/vg0=lvm --pool '*=images' \
    "$in" > /dev/null 2> mapped.err
expect_grep "^--network bridge:xenbr0=bridge:br-lan: connect interface .*00:16:3e:10:20:30.* to bridge 'br-lan'" mapped.err
expect_grep "^--pool /dev/vg0=lvm: put disk /dev/vg0/web1-root in storage pool 'lvm' as volume 'web1-root'" mapped.err
expect_grep "^--pool \\*=images: put disk .*web1-data.img in storage pool 'images'" mapped.err

# unmapped NIC / disk: exit 1, no XML
expect_exit 1 "$CONVOY" convert --network xenbr9=default "$in" > no.xml 2> no.err
expect_grep "interface 00:16:3e:10:20:30 (bridge 'xenbr0') has no network mapping" no.err
[ ! -s no.xml ] || fail "a failed conversion printed XML"
expect_exit 1 "$CONVOY" convert --pool /srv=images "$in" > no.xml 2> no.err
expect_grep "disk '/dev/vg0/web1-root' has no storage pool mapping" no.err
[ ! -s no.xml ] || fail "a failed conversion printed XML"

# --rules: by file, applied after the shipped set
cat > extra.yaml <<'EOT'
name: site
version: 1
rules:
  - id: site-desc
    select: /domain[not(description)]
    add: "<description>migrated by convoy</description>"
EOT
"$CONVOY" convert --rules xen-to-kvm --rules ./extra.yaml --explain "$in" > r.xml 2> r.err
expect_grep "<description>migrated by convoy</description>" r.xml
expect_grep "extra.yaml:4: site-desc: add" r.err

# --boot-dir keeps a PV direct-kernel boot from the KVM host's files
pvk=$g/xen-to-kvm/pv-direct-kernel/in.xml
"$CONVOY" convert "$pvk" > nok.xml
if grep -q '<kernel>' nok.xml; then fail "a Xen host kernel path was kept"; fi
"$CONVOY" convert --boot-dir /boot/guests --explain "$pvk" > k.xml 2> k.err
expect_grep "<kernel>/boot/guests/vmlinuz-5.10</kernel>" k.xml
expect_grep "<cmdline>root=/dev/vda1 ro console=ttyS0</cmdline>" k.xml
expect_grep "^--boot-dir /boot/guests: add <kernel>/boot/guests/vmlinuz-5.10</kernel> to /domain/os" k.err

# --cdrom puts an ISO of the KVM host into an emptied drive
cd1=$g/xen-to-kvm/cdrom/in.xml
"$CONVOY" convert "$cd1" > cd0.xml
if grep -q '/srv/iso/debian-12.iso' cd0.xml; then fail "a Xen host ISO path was kept"; fi
"$CONVOY" convert --explain --cdrom sdc=/var/lib/libvirt/images/debian-12.iso "$cd1" > cd.xml 2> cd.ex
expect_grep "<source file='/var/lib/libvirt/images/debian-12.iso'/>" cd.xml
expect_grep "^--cdrom sdc=/var/lib/libvirt/images/debian-12.iso: insert /var/lib/libvirt/images/debian-12.iso into CD-ROM drive sdc" cd.ex
expect_exit 1 "$CONVOY" convert --cdrom sdz=/x.iso "$cd1" > no.xml 2> cd.err
expect_grep "no CD-ROM drive 'sdz'" cd.err
expect_exit 64 "$CONVOY" convert --cdrom sdc "$cd1" > /dev/null 2> use.err

# invalid input or rules: exit 3 with FILE:LINE:COL
expect_exit 3 "$CONVOY" convert "$g/xl/syntax-error-invalid/in.cfg" > no.xml 2> syn.err
expect_grep "syntax-error-invalid/in.cfg:2:8: error: expected '=' after 'memory'" syn.err
[ ! -s no.xml ] || fail "a failed conversion printed XML"
expect_exit 3 "$CONVOY" convert "$g/xen-to-kvm/malformed-xml-invalid/in.xml" > no.xml 2> bad.err
expect_grep "malformed-xml-invalid/in.xml:4:10: error: malformed XML" bad.err
expect_exit 3 "$CONVOY" convert "$g/xen-to-kvm/not-a-domain-invalid/in.xml" > no.xml 2> nd.err
expect_grep "error: not a libvirt domain" nd.err
expect_exit 3 "$CONVOY" convert "$g/xen-to-kvm/disk-no-source-invalid/in.xml" > no.xml 2> ns.err
expect_grep "disk 'xvda' has no source" ns.err
expect_exit 3 "$CONVOY" convert --rules "$g/rules-invalid/unknown-key/in.yaml" "$in" > no.xml 2> rules.err
expect_grep "unknown-key/in.yaml:[0-9]*:[0-9]*: error: unknown key" rules.err

# usage
expect_exit 64 "$CONVOY" convert > /dev/null 2> use.err
expect_grep "expected exactly one FILE" use.err
expect_exit 64 "$CONVOY" convert --format yaml "$in" > /dev/null 2> use.err
expect_grep "expected xml or json" use.err
expect_exit 64 "$CONVOY" convert --network nonsense "$in" > /dev/null 2> use.err
expect_exit 1 "$CONVOY" convert /nonexistent/file > /dev/null 2> nf.err
expect_grep "cannot read '/nonexistent/file'" nf.err
exit 0

#!/bin/sh
# The old virt-v2v.conf files of the shared corpus (their network mappings,
# the idea convoy's networks: takes up) as convoy convert --network
# options: what those files map lands where virt-v2v would put it, and a
# NIC they do not map is the error convoy gives for an unmapped NIC.  The
# mappings in the files are commented-out examples; they are read as
# written, with the comment markers taken off.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
corpus=$abs_top_srcdir/tests/corpus/old-virt-v2v
[ -f "$corpus/virt-v2v.conf" ] || fail "no corpus at $corpus"
d=$(scratch)
cd "$d"

# netmaps FILE [PROFILE|--rhev]: one --network option per mapping of FILE
# (and of PROFILE's <network type="default">, a catch-all).  The 2010 file
# gives each mapping twice, for libvirt and (after "If importing to RHEV")
# for RHEV: the first is taken, or with --rhev the second.
netmaps() {
    python3 - "$@" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
text = open(sys.argv[1]).read()
# the examples are inside comments: drop the markers, keep the XML
text = re.sub(r"<!--|-->", "", text)
# prose left from the comments is not XML: keep only the elements
text = text[text.index("<virt-v2v>"):text.rindex("</virt-v2v>") + len("</virt-v2v>")]
root = ET.fromstring(re.sub(r"(?s)>[^<]*<", "><", text))
def side(e):
    t, n = e.get("type"), e.get("name")
    return "*" if t == "default" else "%s:%s" % (t, n)
maps = []
rhev = len(sys.argv) > 2 and sys.argv[2] == "--rhev"
seen = {}
for e in root.findall("network"):
    seen.setdefault(side(e), []).append(side(e.find("network")))
for a, tos in seen.items():
    maps.append((a, tos[-1] if rhev else tos[0]))
if len(sys.argv) > 2 and not rhev:
    for p in root.findall("profile"):
        if p.get("name") == sys.argv[2]:
            for e in p.findall("network"):
                maps.append((side(e), side(e.find("network"))))
for a, b in maps:
    print("--network=%s=%s" % (a, b))
PY
}

# convert_with MAPS FILE: convoy convert FILE with MAPS's options.
convert_with() {
    _m=$1 _in=$2
    set --
    while IFS= read -r _l; do set -- "$@" "$_l"; done < "$_m"
    "$CONVOY" convert "$@" "$_in"
}

cat > dom.xml <<'EOT'
<domain type='xen'>
  <name>v2vconf</name>
  <uuid>5a5a0000-0000-4000-8000-0000000000c0</uuid>
  <memory unit='KiB'>524288</memory>
  <vcpu>1</vcpu>
  <bootloader>/usr/bin/pygrub</bootloader>
  <os><type arch='x86_64' machine='xenpv'>linux</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/srv/xen/v2v.img'/><target dev='xvda' bus='xen'/></disk>
    <interface type='bridge'><mac address='00:16:3e:00:00:c1'/><source bridge='xenbr1'/><script path='vif-bridge'/></interface>
    <interface type='bridge'><mac address='00:16:3e:00:00:c2'/><source bridge='VM Network'/></interface>
    <interface type='network'><mac address='00:16:3e:00:00:c3'/><source network='default'/></interface>
  </devices>
</domain>
EOT

# The 2010 file: xenbr1, "VM Network" and the network default all go to
# libvirt's network default.
netmaps "$corpus/virt-v2v.conf.2010" > maps.2010
[ "$(wc -l < maps.2010)" -eq 3 ] || { cat maps.2010; fail "expected 3 mappings in virt-v2v.conf.2010"; }
convert_with maps.2010 dom.xml > out.2010.xml
python3 - out.2010.xml <<'PY'
import sys
import xml.etree.ElementTree as ET
ifs = ET.parse(sys.argv[1]).getroot().findall("devices/interface")
got = [(i.get("type"), i.find("source").get("network"), i.find("mac").get("address")) for i in ifs]
assert got == [("network", "default", "00:16:3e:00:00:c%d" % n) for n in (1, 2, 3)], got
PY
netmaps "$corpus/virt-v2v.conf.2010" --rhev > maps.rhev2010
convert_with maps.rhev2010 dom.xml > out.rhev2010.xml
[ "$(grep -c "<source network='rhevm'/>" out.rhev2010.xml)" -eq 3 ] || fail "the RHEV mappings did not send every NIC to rhevm"
# A NIC on a bridge the file does not map: the unmapped-NIC error.
sed 's|<source bridge=.xenbr1./>|<source bridge="xenbr0"/>|' dom.xml > dom0.xml
expect_exit 1 convert_with maps.2010 dom0.xml > /dev/null 2> err.2010
expect_grep "interface 00:16:3e:00:00:c1 (bridge 'xenbr0') has no network mapping" err.2010

# The later file, with its "libvirt" profile: the same three mappings, and
# the profile's default sends every other NIC to network default too.
netmaps "$corpus/virt-v2v.conf" libvirt > maps.libvirt
expect_grep '^--network=\*=network:default$' maps.libvirt
convert_with maps.libvirt dom0.xml > out.libvirt.xml
expect_grep "<source network='default'/>" out.libvirt.xml
if grep -q "<source bridge=" out.libvirt.xml; then fail "a NIC kept its Xen bridge"; fi
# The "rhev-sparse" profile sends the catch-all to rhevm instead.
netmaps "$corpus/virt-v2v.conf" rhev-sparse > maps.rhev
convert_with maps.rhev dom0.xml > out.rhev.xml
expect_grep "<mac address='00:16:3e:00:00:c1'/>" out.rhev.xml
python3 - out.rhev.xml <<'PY'
import sys
import xml.etree.ElementTree as ET
ifs = ET.parse(sys.argv[1]).getroot().findall("devices/interface")
nets = [i.find("source").get("network") for i in ifs]
assert nets == ["rhevm", "default", "default"], nets
PY
exit 0

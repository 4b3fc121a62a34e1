#!/bin/sh
# convoy plan --inspect, with a real libguestfs appliance: the source disks
# of a libvirtxml VM (a qcow2 image) are inspected read-only before
# anything is copied; the plan shows the guest found and the guest rule
# sets that match it, text and JSON; an XVA VM says why it cannot be
# inspected before its copy; a blank disk becomes a plan warning naming
# the VM; --inspect-copy inspects the XVA VM too, from a scratch copy that
# is removed.  The source images stay byte for byte the same and nothing
# is recorded: the plan without --inspect shows none of it.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires qemu-img
d=$(scratch)
make_fixture "$d"
cd "$d"
fixture_inspectable "$d"
mkdir img xml
qemu-img convert -q -f raw -O qcow2 src/xvda.raw img/web2.qcow2
truncate -s 16M img/blank.raw
domain_xml() { # NAME FILE TYPE
    cat <<EOT
<domain type='xen'><name>$1</name>
<memory unit='KiB'>524288</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='xenpv'>linux</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='$3'/>
<source file='$d/$2'/><target dev='xvda' bus='xen'/></disk>
</devices></domain>
EOT
}
domain_xml web2 img/web2.qcow2 qcow2 > xml/web2.xml
domain_xml blank img/blank.raw raw > xml/blank.xml
sums0=$(sha256sum img/web2.qcow2 img/blank.raw exports/web1.xva)
mkdir -p rules/guest
cat > rules/guest/lab-fix.yaml <<'EOF'
name: lab-fix
version: 1
when: {os: linux, distro: debian}
rules:
  - id: fstab
    replace: {file: /etc/fstab, regex: '/dev/xvd([a-z])', with: '/dev/vd\1'}
EOF
cat > rules/guest/lab-rhel.yaml <<'EOF'
name: lab-rhel
version: 1
when: {os: linux, distro: [rhel, centos]}
rules:
  - id: fstab
    replace: {file: /etc/fstab, regex: '/dev/xvd([a-z])', with: '/dev/vd\1'}
EOF
cat > manifest.yaml <<'EOT'
version: 1
defaults:
  target: lab
  disk_format: raw
  guest: {fixup: true, rules: [lab-fix, lab-rhel]}
sources:
  exports: {type: xva, path: exports}
  dumps: {type: libvirtxml, path: xml}
targets:
  lab:
    type: directory
    path: out
    networks:
      - {from: {bridge: xenbr0}, to: {network: default}}
waves:
  - name: wave-1
    vms:
      - {name: web1, source: exports, rename: web1-kvm}
      - {name: web2, source: dumps}
      - {name: blank, source: dumps}
EOT

expect_exit 2 "$CONVOY" plan --inspect manifest.yaml > plan.txt 2> plan.err
cat plan.txt
# The decisions (issue #24): the fixture's initrd is not a cpio archive,
# so it is rebuilt; menu.lst names Xen's disk and console.
expect_grep "inspected now: debian [0-9]*, root /dev/sda1 (partitioned), kernel 6.1.0-13-amd64, boot [a-z' ]*; /boot/initrd.img-6.1.0-13-amd64 cannot be read (part 1 at byte 0 is not a cpio archive .*): rebuild; /boot/grub/menu.lst names /dev/xvda1, console=hvc0: regenerate; no boot code on vda: install; rule sets that match: lab-fix$" plan.txt
expect_grep "not inspected: disk xvda of source 'exports' (xva) is not a local file or device; it is read only by copying it, .* (plan --inspect-copy copies it to look)" plan.txt
expect_grep "^warning: vm 'blank': guest inspection of the source disks failed, so its guest-fixup would fail too: .*no operating system" plan.txt
expect_grep "inspection failed: .*no operating system" plan.txt
expect_grep "^web2: inspecting the source disks: " plan.err

# --inspect-copy looks into the XVA too, through a scratch copy in TMPDIR
# that is gone afterwards.
mkdir tmp
TMPDIR=$d/tmp expect_exit 2 "$CONVOY" plan --inspect-copy --json manifest.yaml > plan.json 2> plan-json.err
expect_grep "^web1: inspecting the source disks: copying disk xvda (64.0 MiB) to a scratch folder$" plan-json.err
[ -z "$(ls tmp)" ] || fail "the scratch copy was left in TMPDIR: $(ls tmp)"
python3 - plan.json <<'PY' || { cat plan-json.err >&2; fail "plan --json: wrong inspection objects"; }
import json, sys
p = json.load(open(sys.argv[1]))
fix = {}
for v in p["vms"]:
    for s in v["steps"]:
        if s["kind"] == "guest-fixup":
            fix[v["name"]] = s.get("inspection")
assert any("vm 'blank'" in w for w in p["warnings"]), p["warnings"]
w2 = fix["web2"]
assert w2["facts"]["distro"] == "debian", w2
assert w2["facts"]["kernel"] == "6.1.0-13-amd64", w2
assert w2["rule_sets"] == ["lab-fix@1"], w2
# The drivers come from the converted domain: xen-to-kvm makes the disk
# virtio; the VM has no NIC.
assert w2["facts"]["initrd_drivers"] == "virtio_blk virtio_pci ext4", w2
assert w2["facts"]["needs_initrd"] is True and w2["facts"]["needs_boot_config"] is True, w2
w1 = fix["web1"]
assert "facts" in w1, w1
assert w1["facts"]["distro"] == "debian" and w1["rule_sets"] == ["lab-fix@1"], w1
assert "no operating system" in fix["blank"]["error"], fix["blank"]
PY

# Nothing was written: not the sources, not the state, not the target.
[ "$(sha256sum img/web2.qcow2 img/blank.raw exports/web1.xva)" = "$sums0" ] ||
    fail "plan --inspect changed a source image"
[ ! -e out ] || [ -z "$(ls out)" ] || fail "plan --inspect wrote to the target"
expect_exit 2 "$CONVOY" plan manifest.yaml > plan2.txt
grep -q "inspected now\|not inspected\|inspection failed" plan2.txt &&
    fail "the inspection was kept: plan without --inspect shows it"
exit 0

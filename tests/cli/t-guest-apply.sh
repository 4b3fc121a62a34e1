#!/bin/sh
# guest-fixup inside apply, with a real libguestfs appliance: the step runs
# the manifest's own guest rules on the copied disk, never on the source;
# a rule that fails half-way fails the step, leaves the disk as it is, and
# the next apply copies the disk again before the fix-up, so a rule that is
# not idempotent still runs exactly once on the disk that is kept.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d"
cd "$d"
fixture_inspectable "$d"
before=$(sha256sum exports/web1.xva | cut -d' ' -f1)
# boot: keep, as the fixture has no bootloader for a fix-up to install.
sed -i 's/^  guest: .*/  guest: {fixup: true, rules: [lab-fix], boot: keep}/' manifest.yaml
mkdir -p rules/guest
cat > rules/guest/lab-fix.yaml <<'EOF'
name: lab-fix
version: 1
when: {os: linux, distro: debian}
rules:
  - id: hostname
    description: not idempotent on purpose
    replace: {file: /etc/hostname, regex: '^(.+)$', with: '\1-kvm'}
  - id: fstab
    description: a glob names the file
    replace: {file: '/etc/fst[a]b*', regex: '/dev/xvd([a-z])', with: '/dev/vd\1'}
  - id: note
    description: a fact in a path
    write: {file: '/etc/convoy-${kernel}.note', content: "root ${root_device}\n"}
  - id: break
    command: {run: "exit 3"}
EOF

expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep '+ todo   guest-fixup  *rules lab-fix@1 (by inspection facts); boot keep' plan.txt

# 1. The rule 'break' fails (the fixture has no /bin/sh): the step fails
# after 'hostname' changed the disk.
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply1.log 2> apply1.err
cat apply1.log apply1.err > apply1.all
expect_grep 'guest rule lab-fix@1 .*lab-fix.yaml:14 break: the guest has no /bin/sh' apply1.all
guestfish --ro -a out/web1-kvm-vda.raw -i cat /etc/hostname > host1.txt 2>/dev/null
expect_grep '^xen-demo-kvm$' host1.txt
[ ! -e out/web1-kvm.xml ] || fail "domain XML written although guest-fixup failed"

# 2. The plan copies the half-repaired disk again before the next fix-up.
expect_exit 2 "$CONVOY" plan manifest.yaml > plan2.txt
expect_grep 'disk-copy vda.*' plan2.txt
grep -q "guest-fixup's last attempt failed and may have left it half-changed; starting over" plan2.txt ||
    { cat plan2.txt; fail "plan does not redo the copy"; }

# 3. Fixed rules: copy, fix-up (once), define; then nothing to do.
sed -i '/id: break/,$d' rules/guest/lab-fix.yaml
"$CONVOY" apply --yes manifest.yaml > apply2.log 2> apply2.err || { cat apply2.log apply2.err; fail "second apply failed"; }
guestfish --ro -a out/web1-kvm-vda.raw -i cat /etc/hostname : cat /etc/fstab : \
    cat /etc/convoy-6.1.0-13-amd64.note > host2.txt 2>/dev/null
expect_grep '^xen-demo-kvm$' host2.txt
expect_grep '^/dev/vda1 ' host2.txt
expect_grep '^root /dev/sda1$' host2.txt
grep -q 'xen-demo-kvm-kvm' host2.txt && fail "the fix-up ran twice on one disk"
expect_exit 0 "$CONVOY" plan manifest.yaml > plan3.txt
"$CONVOY" report --format json manifest.yaml > report.json
expect_grep 'guest-fixup' report.json
# The HTML report shows the repair per VM: what inspection found and
# every change, as the JSON report has them.
"$CONVOY" report --format html manifest.yaml > report.html
python3 - report.json report.html <<'PY'
import json, sys
def esc(t):  # as g_markup_escape_text
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("'", "&apos;"), ('"', "&quot;")):
        t = t.replace(a, b)
    return t
r = json.load(open(sys.argv[1]))
page = open(sys.argv[2]).read()
fix = [s for s in r["vms"][0]["steps"] if s["kind"] == "guest-fixup"][0]
assert fix["changes"], fix
n = len(fix["changes"])
want = "<div class='guest'><h4>Guest repair</h4><p>%s; %d change%s</p>" % (
    esc(fix["guest"]), n, "" if n == 1 else "s")
assert want in page, want
for c in fix["changes"]:
    assert "<li>%s</li>" % esc(c) in page, c
PY
# Per-action timings (issue #24): in the step's progress, and in the
# report from the step's outputs, each applied rule as SET/ID.
cat apply2.log apply2.err > apply2.all
expect_grep 'timing: launch [0-9]*\.[0-9] s' apply2.all
expect_grep 'timing: inspect [0-9]*\.[0-9] s' apply2.all
expect_grep 'timing: initrd [0-9]*\.[0-9] s' apply2.all
expect_grep 'timing: shutdown [0-9]*\.[0-9] s' apply2.all
expect_grep '"guest_timings": "launch [0-9]*\.[0-9] s, inspect [0-9]*\.[0-9] s, initrd [0-9]*\.[0-9] s, lab-fix/[a-z-]* [0-9]*\.[0-9] s' report.json

# The source was only read.
after=$(sha256sum exports/web1.xva | cut -d' ' -f1)
[ "$before" = "$after" ] || fail "the source XVA changed"
exit 0

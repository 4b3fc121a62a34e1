#!/bin/sh
# Guests and rules convoy guest fixup must refuse, with their messages:
# an invalid rules file (exit 3, FILE:LINE:COL, before any appliance), a
# disk without an operating system, one whose root is on LUKS, and a
# partitioned guest without boot code whose rules install no bootloader,
# and a rule command that fails, whose message gives its time limit (four
# times the 600 s default under TCG) (exit 1, one appliance each, run
# side by side).  The Xen-only-kernel guest is
# the sles-11 case of t-guest-families.sh.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/guest/guest-lib.sh"
set -e
guest_requires
d=$(scratch)
passed=0

# --- invalid rules: syntax, then semantics (all errors at once) --------
$MKFAMILY noos "$d/noos.img" || fail "mkfamily noos"
printf 'name: bad\nversion: 1\nrules:\n  - id: a\n    replace: {file: /etc/fstab, regex: "x\n' > "$d/syntax.yaml"
expect_exit 3 "$CONVOY" guest fixup -q --rules "$d/syntax.yaml" "$d/noos.img" 2> "$d/syntax.err"
expect_grep "^$d/syntax.yaml:5:40: error: unclosed quote: the file ends inside this quoted string" "$d/syntax.err"
passed=$((passed + 1))
cat > "$d/semantic.yaml" <<'EOT'
name: bad-semantics
version: 1
rules:
  - id: a
    when: {distor: debian}
    replace: {file: etc/fstab, regex: '(', with: x}
  - id: a
    command: {run: 'echo ${nofact}'}
  - id: b
    remove-packages: [x]
    refuse: two operations
EOT
expect_exit 3 "$CONVOY" guest fixup -q --rules "$d/semantic.yaml" "$d/noos.img" 2> "$d/semantic.err"
sed "s|$d/|@D@/|" "$d/semantic.err" > "$d/semantic.got"
cat > "$d/semantic.want" <<'EOT'
@D@/semantic.yaml:5:12: error: when: unknown fact 'distor'; did you mean 'distro'?
@D@/semantic.yaml:6:21: error: 'file': expected an absolute path in the guest, got 'etc/fstab'
@D@/semantic.yaml:6:39: error: 'regex': Error while compiling regular expression ‘(’ at char 1: missing terminating )
@D@/semantic.yaml:7:9: error: 'id': duplicate rule id 'a'
@D@/semantic.yaml:8:20: error: 'run': unknown fact '${nofact}'
@D@/semantic.yaml:11:13: error: rule 'b': one operation per rule ('remove-packages' and 'refuse' given)
EOT
diff -u "$d/semantic.want" "$d/semantic.got" || fail "semantic.yaml: unexpected errors"
passed=$((passed + 1))

# --- no OS, LUKS root: one appliance each, in parallel ------------------
$MKFAMILY luks "$d/luks.img" || fail "mkfamily luks"
$MKFAMILY debian-12 "$d/noboot.img" || fail "mkfamily debian-12"
$MKFAMILY debian-12 "$d/cmd.img" || fail "mkfamily debian-12"
cat > "$d/cmd.yaml" <<'EOT'
name: failing-command
version: 1
rules:
  - id: fails
    command: {run: 'echo broken >&2; exit 3'}
EOT
( set +e; "$CONVOY" guest fixup -q "$d/noos.img" > /dev/null 2> "$d/noos.err"; echo $? > "$d/noos.rc" ) &
( set +e; "$CONVOY" guest fixup -q "$d/luks.img" > /dev/null 2> "$d/luks.err"; echo $? > "$d/luks.rc" ) &
( set +e; "$CONVOY" guest fixup -q --rules linux-common "$d/noboot.img" > /dev/null 2> "$d/noboot.err"
  echo $? > "$d/noboot.rc" ) &
( set +e; "$CONVOY" guest fixup -q --rules "$d/cmd.yaml" "$d/cmd.img" > /dev/null 2> "$d/cmd.err"
  echo $? > "$d/cmd.rc" ) &
wait
[ "$(cat "$d/noos.rc")" = 1 ] || { cat "$d/noos.err" >&2; fail "noos: expected exit 1"; }
expect_grep "no operating system found on $d/noos.img" "$d/noos.err"
passed=$((passed + 1))
[ "$(cat "$d/luks.rc")" = 1 ] || { cat "$d/luks.err" >&2; fail "luks: expected exit 1"; }
expect_grep "is encrypted (LUKS) on $d/luks.img: convoy cannot inspect or repair an encrypted root" "$d/luks.err"
passed=$((passed + 1))
[ "$(cat "$d/noboot.rc")" = 1 ] || { cat "$d/noboot.err" >&2; fail "noboot: expected exit 1"; }
expect_grep "the guest needed a bootloader on $d/noboot.img (bootloader 'grub2'), but after the fix-up its boot sector still holds no boot code, so it would not boot from its disk" "$d/noboot.err"
passed=$((passed + 1))
[ "$(cat "$d/cmd.rc")" = 1 ] || { cat "$d/cmd.err" >&2; fail "cmd: expected exit 1"; }
case $LIBGUESTFS_BACKEND_SETTINGS in
    *force_tcg*) limit="2400 s: 600 s ×4 under TCG" ;;
    *) limit="600 s" ;;
esac
expect_grep "command failed in the guest (time limit $limit): echo broken >&2; exit 3: .*broken" "$d/cmd.err"
passed=$((passed + 1))
echo "$passed passed, 0 failed"

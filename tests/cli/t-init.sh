#!/bin/sh
# convoy init writes a repository skeleton that validates and keeps what
# is there; the bash completion script (sourced, called as bash calls it
# with COMP_WORDS) completes commands, options, wave and VM names from the
# manifests on the line, and formats; zsh's when zsh is installed.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
d=$(scratch)
cd "$d"

expect_exit 0 "$CONVOY" init repo > i1.txt
for f in manifests/migration.yaml rules/README.md .gitignore .github/workflows/convoy-plan.yml \
         ci/plan-comment.py cron/convoy.cron systemd/convoy-apply@.service systemd/convoy-apply@.timer; do
    [ -s "repo/$f" ] || fail "init did not write $f"
    expect_grep "^created  repo/$f$" i1.txt
done
[ -d repo/rules/domain ] && [ -d repo/rules/guest ] || fail "no rules/domain and rules/guest folders"
[ -x repo/ci/plan-comment.py ] || fail "ci/plan-comment.py is not executable"
expect_grep '^\.convoy/$' repo/.gitignore
expect_grep '^# convoy' repo/.gitignore
cmp repo/cron/convoy.cron "$abs_top_srcdir/examples/fleet/cron/convoy.cron" || fail "the cron file is not examples/fleet's"
expect_exit 0 "$CONVOY" validate repo/manifests/ > v.txt
expect_grep '^valid: 1 file,' v.txt
# A second init keeps everything, edited files included.
echo "# mine" >> repo/.gitignore
expect_exit 0 "$CONVOY" init repo > i2.txt
expect_grep '^kept     repo/.gitignore (already there)$' i2.txt
expect_grep '^0 files created, 8 kept' i2.txt
expect_grep '^# mine$' repo/.gitignore
expect_exit 64 "$CONVOY" init a b 2> u.txt
expect_grep 'expected at most one DIR' u.txt
# init in the current folder
mkdir here && (cd here && "$CONVOY" init > /dev/null) && [ -s here/manifests/migration.yaml ] ||
    fail "init without DIR did not write ./manifests"

# convoy complete: the helper itself
"$CONVOY" complete -- "" > c1.txt
expect_grep '^discover$' c1.txt
expect_grep '^init$' c1.txt
grep -q '^complete$' c1.txt && fail "the hidden helper offers itself"
"$CONVOY" --help | grep -q ' complete ' && fail "convoy --help lists the hidden helper"

# bash: source the script, set the words, call the function.
requires bash
cat > comp.bash <<EOT
PATH="$(dirname "$CONVOY"):\$PATH"
. "$abs_top_srcdir/engine/cli/completion/convoy.bash"
c() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); _convoy; printf '%s\n' "\${COMPREPLY[@]}"; }
echo "== commands"; c convoy di
echo "== options"; c convoy plan --w
echo "== waves"; c convoy apply repo/manifests/ --wave ""
echo "== waves-p"; c convoy apply --wave w repo/manifests/
echo "== vms"; c convoy rollback repo/manifests/ w
echo "== formats"; c convoy report --format h
echo "== files"; c convoy validate rep
EOT
bash comp.bash > comp.txt 2>&1
cat comp.txt
sed -n '/^== commands$/,/^== options$/p' comp.txt | grep -v '^==' > got.txt
printf 'discover\n' | diff - got.txt
sed -n '/^== options$/,/^== waves$/p' comp.txt | grep -v '^==' > got.txt
printf -- '--wave\n' | diff - got.txt
sed -n '/^== waves$/,/^== waves-p$/p' comp.txt | grep -v '^==' > got.txt
printf 'pilot\nwave-1\n' | diff - got.txt
sed -n '/^== vms$/,/^== formats$/p' comp.txt | grep -v '^==' > got.txt
printf 'web1\nwin-app1\n' | diff - got.txt
sed -n '/^== formats$/,/^== files$/p' comp.txt | grep -v '^==' > got.txt
printf 'html\n' | diff - got.txt
# no candidates: bash completes file names itself (complete -o default)
sed -n '/^== files$/,$p' comp.txt | grep -v '^==' | grep -v '^$' > got.txt || true
[ ! -s got.txt ] || fail "file names were not left to bash"
complete_line=$(bash -c ". '$abs_top_srcdir/engine/cli/completion/convoy.bash'; complete -p convoy")
case "$complete_line" in *"-o default"*"-F _convoy convoy") ;; *) fail "bash: $complete_line";; esac

# zsh, when it is there: load the function in a non-interactive zsh with
# compadd replaced by a printer.
if command -v zsh > /dev/null; then
    PATH="$(dirname "$CONVOY"):$PATH" zsh -f -c "
        compadd() { shift; print -l -- \${(P)1}; }
        _files() { print FILES; }
        words=(convoy plan repo/manifests/ --wave ''); CURRENT=5
        source '$abs_top_srcdir/engine/cli/completion/_convoy'" > z.txt 2>&1
    printf 'pilot\nwave-1\n' | diff - z.txt || fail "zsh: $(cat z.txt)"
fi
exit 0

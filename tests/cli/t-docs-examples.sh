#!/bin/sh
# The examples of the documentation work with the tool as it is:
#  - every ```yaml manifest block of docs/*.md passes `convoy validate`
#    (which also loads the rule sets it names), not only the YAML loader;
#  - every starter manifest validates, and the commands the XVA starter
#    tells the reader to run work as written, next to a real export.
. "$abs_top_srcdir/tests/functions.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
requires python3
d=$(scratch)
cd "$d"
mkdir blocks
python3 - "$abs_top_srcdir"/docs/*.md <<'PY'
import os, sys
n = 0
for md in sys.argv[1:]:
    lines = open(md, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```yaml manifest":
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            name = "blocks/%s-line%d.yaml" % (os.path.basename(md)[:-3], i + 2)
            open(name, "w", encoding="utf-8").write("\n".join(lines[i + 1:j]) + "\n")
            n += 1
            i = j
        i += 1
print("%d manifest blocks" % n)
PY
n=0
for f in blocks/*.yaml; do
    "$CONVOY" validate "$f" > v.out 2> v.err || { cat v.err >&2; fail "$f (a block of docs/) does not validate"; }
    n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "only $n manifest blocks found in docs/"

for f in "$abs_top_srcdir"/manifests/starter/*.yaml; do
    expect_exit 0 "$CONVOY" validate "$f" > /dev/null
done

# The XVA starter, as its comment says: exports/ beside it, then the
# commands of its "then run:" lines, each naming the manifest.
mkdir starter
cp "$abs_top_srcdir/manifests/starter/xva-to-directory.yaml" starter/
mkdir starter/exports
$MKXVA -o starter/exports/web1.xva --name web1 --pv --disk "xvda=size:4M,ref=Ref:10" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0,network=Pool net" >/dev/null
cd starter
sed -n 's/^#   \(convoy [a-z]* .*\)$/\1/p' xva-to-directory.yaml | sed 's/ *(.*$//' > commands.txt
[ "$(wc -l < commands.txt)" -eq 3 ] || { cat commands.txt; fail "the starter does not list validate, plan and apply"; }
while read -r convoy cmd rest; do
    case "$rest" in *xva-to-directory.yaml*) ;; *) fail "'$convoy $cmd $rest' names no manifest";; esac
    case $cmd in
        validate) expect_exit 0 "$CONVOY" $cmd $rest > "$cmd.out" ;;
        plan) expect_exit 2 "$CONVOY" $cmd $rest > "$cmd.out"
              # repair is on by default: a guest-fixup step is planned
              expect_grep '^    + todo   guest-fixup ' plan.out ;;
        # apply would repair the guest in a libguestfs appliance (which
        # t-guest-apply runs); without a terminal it must ask for --yes.
        apply) expect_exit 64 "$CONVOY" $cmd $rest < /dev/null > apply.out 2>&1
               expect_grep 'pass --yes to apply' apply.out ;;
        *) fail "unexpected command '$cmd' in the starter" ;;
    esac
done < commands.txt

# The README's way to read the man pages before installing names pages
# that exist.
cd "$abs_top_srcdir"
grep -o 'perldoc docs/[a-z0-9-]*\.pod' README.md > "$d/perldoc.txt" || fail "README: no perldoc line"
grep -o 'man \./build/docs/[a-z0-9-]*\.[15]' README.md > "$d/man.txt" || fail "README: no man line"
while read -r _ pod; do [ -f "$pod" ] || fail "README names '$pod', which does not exist"; done < "$d/perldoc.txt"
while read -r _ page; do
    pod=docs/$(basename "${page%.*}").pod
    [ -f "$pod" ] || fail "README names '$page', made from no docs/*.pod"
done < "$d/man.txt"
exit 0

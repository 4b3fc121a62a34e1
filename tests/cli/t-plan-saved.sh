#!/bin/sh
# Saved plans: `convoy plan -o plan.json` then `convoy apply plan.json`
# applies exactly that plan, and refuses (exit 1, saying what moved) after
# a manifest edit, a changed source (naming the input), an edited rule set
# or another apply.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
expect_exit 2 "$CONVOY" plan -o plan.json manifest.yaml > plan.txt
expect_grep "Saved the plan to 'plan.json'" plan.txt
[ ! -e .convoy/state.db ] || fail "plan -o created the state store"
python3 -c 'import json,sys; d=json.load(open("plan.json")); assert d["saved_plan"] == 1 and d["plan"]["summary"]["todo"] == 4' ||
    fail "plan.json is not a saved plan"
# Applied from another folder: the plan knows its manifests and state.
mkdir elsewhere
(cd elsewhere && expect_exit 0 "$CONVOY" apply ../plan.json > ../apply.log 2>&1) || { cat apply.log; fail "apply plan.json"; }
expect_grep 'Applied: 4 steps done, 0 failed, 0 skipped' apply.log
cmp src/xvdb.raw out/web1-kvm-vdb.raw || fail "vdb differs"
expect_exit 0 "$CONVOY" plan manifest.yaml > /dev/null
# The same plan once more: it says it was applied (not "inputs changed").
expect_exit 1 "$CONVOY" apply plan.json > again.log 2> again.err
expect_grep "convoy: error: saved plan 'plan.json' was already applied: its 4 steps to do are done; run 'convoy plan' to see whether anything is left to do" again.err
grep -q 'inputs changed' again.err && fail "a second apply of a plan blames its inputs"

# An edited plan.json is refused, whatever was edited, before anything runs.
rm out/web1-kvm.xml
expect_exit 2 "$CONVOY" plan -o edit.json manifest.yaml > /dev/null
body_refused() {
    expect_exit 1 "$CONVOY" apply edit2.json > /dev/null 2> body.err
    expect_grep "convoy: error: saved plan 'edit2.json' was modified after it was saved (its content does not match its body_sha256); run 'convoy plan -o' again and review it" body.err
    [ ! -e out/web1-kvm.xml ] || fail "an edited plan was applied"
}
python3 -c 'import json; d=json.load(open("edit.json")); d["plan"]["vms"][0]["steps"][3]["action"]="done"; json.dump(d, open("edit2.json","w"))'
body_refused
python3 -c 'import json; d=json.load(open("edit.json")); d["step_inputs"]["web1/domain-define"]+="x"; json.dump(d, open("edit2.json","w"))'
body_refused
python3 -c 'import json; d=json.load(open("edit.json")); d["wave"]="wave-1"; json.dump(d, open("edit2.json","w"))'
body_refused
python3 -c 'import json; d=json.load(open("edit.json")); del d["body_sha256"]; json.dump(d, open("edit2.json","w"))'
expect_exit 1 "$CONVOY" apply edit2.json > /dev/null 2> body.err
expect_grep "'edit2.json' is not a saved plan of this convoy version (expected body_sha256 and model_sha256)" body.err
# Layout is not content: the same JSON re-indented, keys reordered, applies.
python3 -c 'import json; d=json.load(open("edit.json")); d["plan"]=dict(reversed(list(d["plan"].items()))); json.dump(d, open("edit2.json","w"), indent=1)'
expect_exit 0 "$CONVOY" apply edit2.json > /dev/null
[ -e out/web1-kvm.xml ] || fail "the re-indented plan was not applied"

# A comment-only edit of a manifest does not make a saved plan stale.
rm out/web1-kvm.xml
expect_exit 2 "$CONVOY" plan -o comment.json manifest.yaml > /dev/null
printf '# reviewed by the night shift\n' >> manifest.yaml
sed -i 's/^version: 1$/version: 1   # format/' manifest.yaml
expect_exit 0 "$CONVOY" apply comment.json > comment.log 2>&1 || { cat comment.log; fail "a comment made the plan stale"; }
[ -e out/web1-kvm.xml ] || fail "the plan was not applied after a comment edit"

# A manifest edit after saving: refused, naming the file and the steps.
expect_exit 0 "$CONVOY" plan -o plan2.json manifest.yaml > /dev/null
set_default . disk_format qcow2
expect_exit 1 "$CONVOY" apply plan2.json > /dev/null 2> edit.err
expect_grep "the manifests changed ('$d/manifest.yaml')" edit.err
expect_grep "step 'web1/disk-copy/vda' was done, is now redo" edit.err
[ ! -e out/web1-kvm-vda.qcow2 ] || fail "a stale plan was applied"

# A changed source after saving: refused, though the manifest is the same.
expect_exit 2 "$CONVOY" plan -o plan3.json manifest.yaml > /dev/null
touch -d '2001-01-01' exports/web1.xva
expect_exit 1 "$CONVOY" apply plan3.json > /dev/null 2> src.err
expect_grep "step 'web1/disk-copy/vda': its inputs changed: xva_mtime (" src.err
[ ! -e out/web1-kvm-vda.qcow2 ] || fail "a stale plan was applied"
expect_exit 2 "$CONVOY" plan -o plan4.json manifest.yaml > /dev/null
expect_exit 0 "$CONVOY" apply plan4.json > /dev/null
qemu-img compare -q src/xvda.raw out/web1-kvm-vda.qcow2 || fail "vda differs after the saved plan"

# A rule set edited after saving: refused, naming the rules as what moved.
mkdir -p rules/domain
cat > rules/domain/site.yaml <<'EOT'
name: site
version: 1
rules:
  - id: site-desc
    select: /domain[not(description)]
    add: "<description>migrated by convoy</description>"
EOT
sed -i 's/rename: web1-kvm}/rename: web1-kvm, rules: [xen-to-kvm, site]}/' manifest.yaml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
expect_exit 0 "$CONVOY" plan -o plan6.json manifest.yaml > /dev/null
sed -i 's/migrated by convoy/migrated by the night shift/' rules/domain/site.yaml
expect_exit 1 "$CONVOY" apply plan6.json > /dev/null 2> rules.err
expect_grep "step 'web1/domain-convert' was done, is now redo: its inputs changed: .*rules" rules.err
grep -q "migrated by the night shift" out/web1-kvm.xml && fail "a stale plan was applied"
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
expect_grep "migrated by the night shift" out/web1-kvm.xml

# Not a saved plan, and options that contradict it.
echo '{"saved_plan": 2}' > bogus.json
expect_exit 1 "$CONVOY" apply bogus.json 2> bogus.err
expect_grep "'bogus.json' is not a saved plan of this convoy version" bogus.err
expect_exit 0 "$CONVOY" plan -o plan5.json --wave wave-1 manifest.yaml > /dev/null
expect_exit 64 "$CONVOY" apply --wave wave-2 plan5.json 2> wave.err
expect_grep "differs from the saved plan's wave 'wave-1'" wave.err
exit 0

#!/bin/sh
# Golden plans: plantest.sh CASE.  Builds the standard fixture (a two-disk
# PV XVA and a manifest, tests/functions.sh make_fixture) in a scratch
# folder, runs the setup commands of CASE.case there (they make the state:
# apply, edit the manifest or a rule file, delete an output…), then runs
# `convoy plan $PLAN_ARGS manifest.yaml` and compares its exit status and
# output with CASE.plan.  CONVOY_TEST_REGENERATE=1 rewrites CASE.plan;
# review the diff before committing.
. "$abs_top_srcdir/tests/functions.sh"
set -e
case=$1
here=$abs_top_srcdir/tests/plan
[ -f "$here/$case.case" ] || { echo "no case '$case'" >&2; exit 99; }
d=$(scratch)
make_fixture "$d" 8M
cd "$d"
PLAN_ARGS=""
quiet() { "$@" > /dev/null 2>&1; }
. "$here/$case.case"
# The estimate's rate: measured copies (any case that applied) would make
# it vary from run to run, so those cases fix it; the others show the
# default rate.
[ -e .convoy/state.db ] && export CONVOY_COPY_RATE=64MiB
set +e
"$CONVOY" plan $PLAN_ARGS manifest.yaml > got.out 2>&1
rc=$?
set -e
# Fingerprints cover the source identity (the XVA's mtime among it), so
# the JSON cases compare them by shape; state-fingerprint tests the values.
{ echo "exit: $rc"; sed -e "s|$d|DIR|g" \
    -e 's/"fingerprint": "[0-9a-f]\{64\}"/"fingerprint": "SHA-256"/' got.out; } > got.plan
if [ "${CONVOY_TEST_REGENERATE:-}" = 1 ]; then
    cp got.plan "$here/$case.plan"
    echo "regenerated $case.plan"
    exit 0
fi
if ! cmp -s got.plan "$here/$case.plan"; then
    diff -u "$here/$case.plan" got.plan >&2 || true
    fail "plan differs from $case.plan"
fi
exit 0

#!/bin/sh
# The fuzzers' corpora grow with the golden inputs: every xl.cfg golden
# input (tests/convert/xl/CASE/in.cfg) is a seed of fuzz-xl, byte for byte
# (tests/fuzz/corpus/xl/CASE.cfg), and every rules-invalid golden input is
# a seed of fuzz-rules.  A new golden case without its seed fails here;
# the message says which file to copy.
# Usage: check-seeds.sh SOURCE_ROOT.  Exit 0 ok, 1 missing, 99 harness.
set -u
root=${1:-}
[ -d "$root/tests/convert/xl" ] || { echo "usage: $0 SOURCE_ROOT" >&2; exit 99; }
bad=0
n=0
check() { # GOLDEN SEED
    n=$((n + 1))
    if ! cmp -s "$1" "$2"; then
        echo "fuzz seed missing or stale: cp ${1#$root/} ${2#$root/}"
        bad=$((bad + 1))
    fi
}
for f in "$root"/tests/convert/xl/*/in.cfg; do
    c=$(basename "$(dirname "$f")")
    check "$f" "$root/tests/fuzz/corpus/xl/$c.cfg"
done
for f in "$root"/tests/convert/rules-invalid/*/in.yaml; do
    c=$(basename "$(dirname "$f")")
    check "$f" "$root/tests/fuzz/corpus/rules/$c.yaml"
done
echo "$((n - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]

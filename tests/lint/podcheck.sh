#!/bin/sh
# POD syntax of every man page: podchecker must find no error and no
# warning, and pod2man must render it without a complaint.
# Usage: podcheck.sh DOCSDIR.  Exit 0 ok, 1 problems, 77 no podchecker,
# 99 harness error.
set -u

docs=${1:-}
if [ -z "$docs" ] || [ ! -d "$docs" ]; then
    echo "usage: $0 DOCSDIR" >&2
    exit 99
fi
for tool in podchecker pod2man; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "podcheck: $tool not found (it comes with perl)" >&2
        exit 77
    fi
done

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

pass=0
fail=0
found=0
for pod in "$docs"/*.pod; do
    [ -f "$pod" ] || continue
    found=1
    name=$(basename "$pod")
    podchecker "$pod" > "$tmp/out" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || grep -Eq '\*\*\* (WARNING|ERROR)' "$tmp/out"; then
        fail=$((fail + 1))
        echo "FAIL: podchecker $name (exit $rc):"
        grep -v 'pod syntax OK' "$tmp/out" | sed 's/^/  /'
        continue
    fi
    pod2man --utf8 --errors=stderr "$pod" > /dev/null 2> "$tmp/err"
    rc=$?
    if [ $rc -ne 0 ] || [ -s "$tmp/err" ]; then
        fail=$((fail + 1))
        echo "FAIL: pod2man $name (exit $rc):"
        sed 's/^/  /' "$tmp/err"
        continue
    fi
    pass=$((pass + 1))
    echo "ok: $name"
done
if [ $found -eq 0 ]; then
    echo "podcheck: no .pod files in '$docs'" >&2
    exit 99
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/sh
# docs/errors.md versus the code: every CONVOY_ERROR code of
# engine/util/error.h is a row of the table with its number and the exit
# status convoy_exit_for_error() (engine/util/error.c) maps it to, and the
# table lists no code the header lacks.
# Usage: errors-doc.sh ERROR_H ERROR_C ERRORS_MD.  Exit 0 ok, 1 mismatch,
# 99 harness error.
set -u

h=${1:-}
c=${2:-}
md=${3:-}
for f in "$h" "$c" "$md"; do
    if [ -z "$f" ] || [ ! -f "$f" ]; then
        echo "usage: $0 ERROR_H ERROR_C ERRORS_MD ('$f' is not a file)" >&2
        exit 99
    fi
done

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# NAME NUMBER for codes and for exit statuses.
sed -n 's/^[ \t]*CONVOY_ERROR_\([A-Z0-9_]*\)[ \t]*=[ \t]*\([0-9][0-9]*\).*/\1 \2/p' "$h" |
    sort > "$tmp/codes"
sed -n 's/^[ \t]*CONVOY_EXIT_\([A-Z0-9_]*\)[ \t]*=[ \t]*\([0-9][0-9]*\).*/\1 \2/p' "$h" |
    sort > "$tmp/exits"
if [ ! -s "$tmp/codes" ] || [ ! -s "$tmp/exits" ]; then
    echo "errors-doc: found no CONVOY_ERROR_* or CONVOY_EXIT_* values in '$h'" >&2
    exit 99
fi

# CODE EXIT_NAME from the switch of convoy_exit_for_error(); codes it does
# not name take the default branch.
awk '
    /^convoy_exit_for_error/ { fn = 1 }
    fn && /switch/ { sw = 1; next }
    sw && /^}/ { exit }
    sw {
        while (match($0, /case CONVOY_ERROR_[A-Z0-9_]+/)) {
            labels[++n] = substr($0, RSTART + 18, RLENGTH - 18)
            $0 = substr($0, RSTART + RLENGTH)
        }
        if ($0 ~ /default[ \t]*:/)
            dflt = 1
        if (match($0, /return CONVOY_EXIT_[A-Z0-9_]+/)) {
            e = substr($0, RSTART + 19, RLENGTH - 19)
            for (i = 1; i <= n; i++)
                print labels[i], e
            if (dflt)
                print "*", e
            n = 0
            dflt = 0
        }
    }
' "$c" | sort > "$tmp/map"
if [ ! -s "$tmp/map" ]; then
    echo "errors-doc: cannot read the switch of convoy_exit_for_error() in '$c'" >&2
    exit 99
fi
default_exit=$(awk '$1 == "*" { print $2 }' "$tmp/map")
default_exit=${default_exit:-FAILURE}

# NUMBER NAME EXIT rows of the table.
sed -n 's/^|[ \t]*\([0-9][0-9]*\)[ \t]*|[ \t]*`\{0,1\}CONVOY_ERROR_\([A-Z0-9_]*\)`\{0,1\}[ \t]*|[ \t]*\([0-9][0-9]*\)[ \t]*|.*/\1 \2 \3/p' "$md" > "$tmp/rows"

pass=0
fail=0
while read -r name num; do
    [ "$name" = LAST ] && continue
    ename=$(awk -v n="$name" '$1 == n { print $2 }' "$tmp/map")
    ename=${ename:-$default_exit}
    enum=$(awk -v n="$ename" '$1 == n { print $2 }' "$tmp/exits")
    row=$(awk -v n="$name" '$2 == n' "$tmp/rows")
    count=$(awk -v n="$name" '$2 == n' "$tmp/rows" | wc -l)
    if [ "$count" -eq 0 ]; then
        fail=$((fail + 1))
        echo "FAIL: CONVOY_ERROR_$name ($num) is not in $(basename "$md")"
    elif [ "$count" -gt 1 ]; then
        fail=$((fail + 1))
        echo "FAIL: CONVOY_ERROR_$name is listed $count times"
    elif [ "$row" != "$num $name $enum" ]; then
        fail=$((fail + 1))
        echo "FAIL: CONVOY_ERROR_$name: the table says '$row' (number, name, exit), the code says '$num $name $enum'"
    else
        pass=$((pass + 1))
        echo "ok: CONVOY_ERROR_$name = $num, exit $enum"
    fi
done < "$tmp/codes"
while read -r num name e; do
    if ! grep -q "^$name " "$tmp/codes" || [ "$name" = LAST ]; then
        fail=$((fail + 1))
        echo "FAIL: $(basename "$md") lists CONVOY_ERROR_$name ($num), which error.h does not define"
    fi
done < "$tmp/rows"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

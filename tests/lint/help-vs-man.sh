#!/bin/sh
# --help versus the man pages (git t0450-txt-doc-vs-help, curl test1139):
# every command of the command table answers --help with exit 0, its usage
# line is the first line of the SYNOPSIS of docs/convoy-CMD.pod, every
# option --help shows is an =item of that page's OPTIONS (and the page
# documents no option the program lacks), every command has a page and
# every convoy-*.pod page (but the file formats) is a command.
# Usage: help-vs-man.sh CONVOY DOCSDIR.  Exit 0 ok, 1 mismatch, 99 harness.
set -u

convoy=${1:-}
docs=${2:-}
if [ -z "$convoy" ] || [ -z "$docs" ]; then
    echo "usage: $0 CONVOY DOCSDIR" >&2
    exit 99
fi
if [ ! -x "$convoy" ]; then
    echo "help-vs-man: '$convoy' is not an executable" >&2
    exit 99
fi
if [ ! -d "$docs" ]; then
    echo "help-vs-man: '$docs' is not a directory" >&2
    exit 99
fi

# GLib converts its help text to the locale's charset: under plain C the
# "…" of "[OPTION…]" prints as "?".  Prefer a UTF-8 locale; otherwise
# compare the pages with "…" read as "?".
utf8=no
for l in C.UTF-8 C.utf8 en_US.UTF-8; do
    if [ "$(LC_ALL=$l locale charmap 2>/dev/null)" = "UTF-8" ]; then
        LC_ALL=$l
        utf8=yes
        break
    fi
done
[ $utf8 = yes ] || LC_ALL=C
export LC_ALL
unset LANGUAGE

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

pass=0
fail=0
ok() {
    pass=$((pass + 1))
    echo "ok: $*"
}
not_ok() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}

# POD helpers.  section FILE NAME: the body of "=head1 NAME".
section() {
    awk -v want="$2" '
        /^=head1[ \t]/ { name = $0; sub(/^=head1[ \t]+/, "", name); on = (name == want); next }
        on { print }
    ' "$1"
}
# Without a UTF-8 locale read every "…" as "?" (on both sides).
norm() {
    if [ $utf8 = yes ]; then cat; else sed 's/…/?/g'; fi
}
# Drop POD formatting codes (single-angle form).
plain() {
    sed -e ':a' -e 's/[BICFLSX]<\([^<>]*\)>/\1/' -e 'ta' \
        -e 's/E<lt>/</g' -e 's/E<gt>/>/g' -e 's/E<verbar>/|/g' | norm
}
# The verbatim (indented, non-blank) lines of SYNOPSIS, unindented.
synopsis_lines() {
    section "$1" SYNOPSIS | awk '/^[ \t]+[^ \t]/ { sub(/^[ \t]+/, ""); sub(/[ \t]+$/, ""); print }' | plain
}
# The =item texts of OPTIONS that name an option.
option_items() {
    section "$1" OPTIONS | awk '/^=item[ \t]/ { sub(/^=item[ \t]+/, ""); sub(/[ \t]+$/, ""); print }' |
        plain | grep '^-' || true
}
# The option column of a --help text: "  -w, --wave=NAME   Plan…" → "-w, --wave=NAME".
help_options() {
    awk '/^  +-/ { sub(/^ +/, ""); i = index($0, "  "); if (i) $0 = substr($0, 1, i - 1); print }' "$1"
}
# Option names (--long, -s) in some text, one per line.
option_names() {
    tr '[]|= ,' '\n\n\n\n\n\n' | grep -E '^(--[A-Za-z0-9][A-Za-z0-9-]*|-[A-Za-z0-9])$' | sort -u || true
}
# The line after "Usage:" (GLib) or the text after "Usage: " (main).
usage_line() {
    awk 'u { sub(/^ +/, ""); print; exit }
         /^Usage:$/ { u = 1; next }
         /^Usage: / { sub(/^Usage: /, ""); print; exit }' "$1" | norm
}

# --- The program itself ---------------------------------------------------
if "$convoy" --help > "$tmp/main.help" 2> "$tmp/main.err"; then
    ok "convoy --help exits 0"
else
    not_ok "convoy --help exits $?: $(cat "$tmp/main.err")"
fi
version=$("$convoy" --version 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$version" | grep -Eq '^convoy [0-9]+\.[0-9]+(\.[0-9]+)?'; then
    ok "convoy --version: $version"
else
    not_ok "convoy --version exits $rc and prints '$version' (expected 'convoy X.Y.Z')"
fi

commands=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$tmp/main.help")
if [ -z "$commands" ]; then
    not_ok "convoy --help lists no commands under 'Commands:'"
fi

if [ -f "$docs/convoy.pod" ]; then
    want=$(usage_line "$tmp/main.help")
    have=$(synopsis_lines "$docs/convoy.pod" | head -n 1)
    if [ -n "$want" ] && [ "$want" = "$have" ]; then
        ok "convoy.pod SYNOPSIS matches '$want'"
    else
        not_ok "convoy.pod SYNOPSIS starts with '$have', convoy --help says '$want'"
    fi
    for cmd in $commands; do
        if grep -Eq "^=item (B<)?$cmd(>)?\$" "$docs/convoy.pod"; then
            ok "convoy.pod lists command '$cmd'"
        else
            not_ok "convoy.pod has no '=item B<$cmd>' for command '$cmd'"
        fi
    done
else
    not_ok "docs/convoy.pod is missing"
fi

# --- One page per command ----------------------------------------------
for cmd in $commands; do
    pod="$docs/convoy-$cmd.pod"
    help="$tmp/$cmd.help"
    if "$convoy" "$cmd" --help > "$help" 2> "$tmp/$cmd.err"; then
        ok "convoy $cmd --help exits 0"
    else
        not_ok "convoy $cmd --help exits $?: $(cat "$tmp/$cmd.err")"
        continue
    fi
    if [ ! -f "$pod" ]; then
        not_ok "command '$cmd' has no man page docs/convoy-$cmd.pod"
        continue
    fi
    ok "command '$cmd' has docs/convoy-$cmd.pod"

    for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" "SEE ALSO"; do
        grep -q "^=head1 $s\$" "$pod" || not_ok "convoy-$cmd.pod has no '=head1 $s'"
    done

    want=$(usage_line "$help")
    synopsis_lines "$pod" > "$tmp/$cmd.syn"
    have=$(head -n 1 "$tmp/$cmd.syn")
    if [ -n "$want" ] && [ "$want" = "$have" ]; then
        ok "convoy-$cmd.pod SYNOPSIS matches '$want'"
    else
        not_ok "convoy-$cmd.pod SYNOPSIS starts with '$have', convoy $cmd --help says '$want'"
    fi

    help_options "$help" | sort -u > "$tmp/$cmd.hopts"
    option_items "$pod" | sort -u > "$tmp/$cmd.mopts"
    if [ ! -s "$tmp/$cmd.hopts" ]; then
        not_ok "convoy $cmd --help shows no options (expected at least -h, --help)"
    fi
    while IFS= read -r o; do
        if grep -Fxq -- "$o" "$tmp/$cmd.mopts"; then
            ok "convoy-$cmd.pod documents '$o'"
        else
            not_ok "convoy-$cmd.pod OPTIONS has no '=item $o' (shown by convoy $cmd --help)"
        fi
    done < "$tmp/$cmd.hopts"
    while IFS= read -r o; do
        grep -Fxq -- "$o" "$tmp/$cmd.hopts" ||
            not_ok "convoy-$cmd.pod documents '$o', which convoy $cmd --help does not show"
    done < "$tmp/$cmd.mopts"

    # Every option named in the SYNOPSIS exists.
    option_names < "$tmp/$cmd.hopts" > "$tmp/$cmd.hnames"
    option_names < "$tmp/$cmd.syn" > "$tmp/$cmd.snames"
    while IFS= read -r o; do
        grep -Fxq -- "$o" "$tmp/$cmd.hnames" ||
            not_ok "convoy-$cmd.pod SYNOPSIS names '$o', which convoy $cmd --help does not show"
    done < "$tmp/$cmd.snames"
done

# --- And every page is a command ----------------------------------------
for pod in "$docs"/convoy-*.pod; do
    [ -f "$pod" ] || continue
    name=$(basename "$pod" .pod)
    cmd=${name#convoy-}
    case $name in
    *manifest* | *rules*) continue ;;   # file formats, section 5
    esac
    if echo "$commands" | grep -Fxq -- "$cmd"; then
        ok "$name.pod is the page of command '$cmd'"
    else
        not_ok "$name.pod documents '$cmd', which is not in convoy's command table"
    fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

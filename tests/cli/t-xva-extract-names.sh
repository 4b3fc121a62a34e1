#!/bin/sh
# convoy xva extract names its images after a sanitised, capped VM name:
# no line breaks, tabs, bidirectional overrides, leading '-' or '.', never
# an empty name, at most 64 bytes (issue #20 item 14).
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
cd "$d"
nl='
'
rlo=$(printf '\342\200\256')
one() {     # one NAME DIR: make an XVA named NAME, extract it into DIR
    $MKXVA -o "$2.xva" --name="$1" --disk "xvda=size:1M,ref=Ref:3" > /dev/null
    "$CONVOY" xva extract -o "$2" "$2.xva" > "$2.out" 2> "$2.err" || { cat "$2.err"; fail "extract $2 failed"; }
}
one "a${nl}b	c${rlo}gpj.exe" x1
[ -f "x1/a_b_c_gpj.exe-xvda.raw" ] || fail "control and format characters not replaced: $(ls x1 | od -c | head -3)"
[ "$(cat x1.out)" = "x1/a_b_c_gpj.exe-xvda.raw" ] || fail "printed path: $(cat x1.out)"
one "" x2
[ -f "x2/vm-xvda.raw" ] || fail "an empty name did not become 'vm': $(ls x2)"
one "-rf" x3
[ -f "x3/_rf-xvda.raw" ] || fail "a leading '-' was kept: $(ls x3)"
one "../up" x4
[ -f "x4/_._up-xvda.raw" ] || fail "'../up' not made one file name: $(ls x4)"
[ -e up-xvda.raw ] && fail "'../up' escaped the output folder"
long=$(python3 -c 'print("é" * 50000)')
one "$long" x5
f=$(ls x5)
[ "$(printf '%s' "$f" | wc -c)" -le $((64 + 10)) ] || fail "the long name was not capped: $(printf '%s' "$f" | wc -c) bytes"
[ "$f" = "$(python3 -c 'print("é" * 32)')-xvda.raw" ] || fail "the long name was not cut between characters: $f"
exit 0

#!/bin/sh
# Outside text is shown as text: a name_label, a network name or a tar
# member name holding terminal escape sequences, C1 controls or a
# right-to-left override reaches the terminal escaped (xva inspect and
# verify, apply's progress, status, the text report), and HTML or
# Markdown in names, errors and hook output reads as text in the Markdown
# report.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
cd "$d"
mkdir exports
ESC=$(printf '\033')
CSI8=$(printf '\302\233')
RLO=$(printf '\342\200\256')
# no_raw FILE…: none of the raw characters is in FILE.
no_raw() {
    for f in "$@"; do
        for c in "$ESC" "$CSI8" "$RLO"; do
            ! grep -q "$c" "$f" || { cat -v "$f" >&2; fail "a raw control character reached $f"; }
        done
    done
}

# ova.xml values: XML 1.0 has no ESC, but C1 controls and U+202E pass.
$MKXVA -o exports/e.xva --name "evil${CSI8}2JX${RLO}gnp" --pv \
    --disk "xvda=size:1M,ref=Ref:1" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0,network=net${CSI8}31m" > /dev/null
"$CONVOY" xva inspect exports/e.xva > inspect.txt
no_raw inspect.txt
expect_grep '^vm evil\\u009b2JX\\u202egnp$' inspect.txt
expect_grep "network 'net\\\\u009b31m'\$" inspect.txt

# A tar member name: anything but NUL and '/'.
$MKXVA -o exports/t.xva --name '<img src=x onerror=alert(1)>' --pv \
    --disk "xvda=size:1M,ref=Ref:1" \
    --vif "0=aa:bb:cc:00:00:02,bridge=xenbr0" \
    --bad-entry "x${ESC}[2J${RLO}y" > /dev/null
expect_exit 1 "$CONVOY" xva verify exports/t.xva 2> verify.err
no_raw verify.err
expect_grep "unexpected entry 'x\\\\x1b\\[2J\\\\u202ey'" verify.err

cat > manifest.yaml <<'EOT'
version: 1
defaults: {guest: {fixup: false}}
sources:
  exports: {type: xva, path: exports}
targets:
  lab:
    type: directory
    path: out
    networks:
      - {from: {bridge: xenbr0}, to: {network: default}}
waves:
  - name: wave-1
    vms:
      - name: "<img src=x onerror=alert(1)>"
        source: exports
        target: lab
        rename: web1
        disk_format: raw
        hooks: {pre: "printf '%s\\n' '```' '<script>alert(1)</script>' '| a | b |'"}
EOT
expect_exit 2 "$CONVOY" plan manifest.yaml > plan.txt
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.log 2>&1
no_raw plan.txt apply.log
expect_grep "unexpected entry 'x\\\\x1b\\[2J\\\\u202ey'" apply.log
"$CONVOY" status manifest.yaml > status.txt
no_raw status.txt
expect_grep "unexpected entry 'x\\\\x1b\\[2J\\\\u202ey'" status.txt
"$CONVOY" report manifest.yaml > report.txt
no_raw report.txt
"$CONVOY" report --format markdown manifest.yaml > report.md
no_raw report.md
expect_grep '^## &lt;img src=x onerror=alert(1)&gt; → web1 (wave wave-1): failed$' report.md
# Outside code blocks no tag survives and a table row keeps its four
# cells; inside, the hook's ``` cannot close the block.
python3 - report.md <<'PY'
import re, sys
fence = None
rows = 0
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    m = re.match(r"^(`{3,})", line)
    if fence is None and m:
        fence = m.group(1)
        continue
    if fence is not None:
        if line == fence:
            fence = None
        continue
    assert "<img" not in line and "<script" not in line, line
    if line.startswith("| disk-copy/"):
        rows += 1
        cells = re.split(r"(?<!\\)\|", line)
        assert len(cells) == 6, (len(cells), line)
assert fence is None, "a code block was left open"
assert rows == 1, rows
PY
expect_grep '^````$' report.md
exit 0

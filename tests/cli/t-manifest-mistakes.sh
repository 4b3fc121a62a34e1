#!/bin/sh
# Operators' mistakes in manifests get an error or a warning in their own
# words, with FILE:LINE:COL, never a crash (issue #20).
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 1M
cd "$d"

# An empty manifest (0 bytes, /dev/null, an empty file in a folder) is an
# error naming the file (exit 3), not a libyaml assertion (exit 134).
: > empty.yaml
expect_exit 3 "$CONVOY" validate empty.yaml 2> e.txt
expect_grep "^empty.yaml:1:1: error: empty manifest" e.txt
expect_exit 3 "$CONVOY" plan /dev/null 2> e.txt
expect_grep "^/dev/null:1:1: error: empty manifest" e.txt
mkdir m.d
cp manifest.yaml m.d/a.yaml
: > m.d/b.yaml
expect_exit 3 "$CONVOY" validate m.d 2> e.txt
expect_grep "^m.d/b.yaml:1:1: error: empty manifest" e.txt

# A size needs a unit: 'memory: 512' (512 bytes) is refused with the
# unit to write; less than 64 MiB is refused.
sed 's/rename: web1-kvm}/rename: web1-kvm, memory: 512}/' manifest.yaml > mem.yaml
expect_exit 3 "$CONVOY" validate mem.yaml 2> e.txt
expect_grep "^mem.yaml:17:65: error: 'memory': a size needs a unit, got the bare number 512; write 512MiB, 512GiB or 512B for bytes$" e.txt
sed 's/rename: web1-kvm}/rename: web1-kvm, memory: 32MiB}/' manifest.yaml > mem.yaml
expect_exit 3 "$CONVOY" validate mem.yaml 2> e.txt
expect_grep "^mem.yaml:17:65: error: 'memory': expected at least 64MiB, got 32MiB$" e.txt
sed 's/rename: web1-kvm}/rename: web1-kvm, memory: 512MiB}/' manifest.yaml > mem.yaml
expect_exit 0 "$CONVOY" apply --yes mem.yaml > a.out 2>&1
expect_grep "<memory unit='KiB'>524288</memory>" out/web1-kvm.xml
# report -o into a missing folder says so, and leaks no temporary name
expect_exit 1 "$CONVOY" report -o nodir/r.md mem.yaml 2> e.txt
expect_grep "cannot write 'nodir/r.md': folder 'nodir' does not exist$" e.txt
! grep -q 'XXXXXX\|/\.r\.md' e.txt || fail "a temporary file name leaked"
rm -rf out .convoy

# YAML syntax errors are said in the operator's words.
sed 's/^  exports: /\texports: /' manifest.yaml > tab.yaml
expect_exit 3 "$CONVOY" validate tab.yaml 2> e.txt
expect_grep "^tab.yaml:7:1: error: tab character in indentation; YAML indents with spaces$" e.txt
sed 's/path: exports}/path: exports/' manifest.yaml > brace.yaml
expect_exit 3 "$CONVOY" plan brace.yaml 2> e.txt
expect_grep "^brace.yaml:8:8: error: unclosed '{': expected ',' or '}' before this$" e.txt
expect_grep "^brace.yaml:7:12: note: the '{' opens here$" e.txt

# A key indented too little is read as a target (or source) of that
# name: warn.  A mistyped command gets a suggestion.
sed 's/^    networks:/  networks:/' manifest.yaml > mis.yaml
expect_exit 3 "$CONVOY" validate mis.yaml 2> e.txt
expect_grep "^mis.yaml:12:3: warning: target 'networks' is named like a key of a target; if it belongs to the target above, indent it under that target$" e.txt
sed 's/^  exports: {type: xva, path: exports}/  exports: {type: xva, path: exports}\n  path: {type: xva, path: exports}/' manifest.yaml > mis.yaml
expect_exit 0 "$CONVOY" validate mis.yaml > v.txt 2> e.txt
expect_grep "^mis.yaml:8:3: warning: source 'path' is named like a key of a source; if it belongs to the source above, indent it under that source$" e.txt
expect_exit 64 "$CONVOY" plna manifest.yaml 2> e.txt
expect_grep "^convoy: unknown command 'plna'; did you mean 'plan'? see 'convoy --help'$" e.txt
exit 0

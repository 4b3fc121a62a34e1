#!/bin/sh
# A bad guest rules file is refused before any appliance starts: exit 3,
# every problem as FILE:LINE:COL with what was expected.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
cd "$d"
: > disk.img
cat > bad.yaml <<'EOT'
name: bad
version: 0
when: {distro: debian, exists: /etc/fstab}
rules:
  - id: two-ops
    delete: /etc/a
    write: {file: /etc/b, content: x}
  - id: no-op
    description: nothing to do
  - id: fact
    when: {distroo: debian}
    command: "echo ${kernel_version}"
  - id: regex
    replace: {file: /etc/fstab, regex: '(unclosed', with: x}
  - id: relative
    delete: etc/passwd
  - id: mode
    write: {file: /etc/x, content: y, mode: 0999}
  - id: upload
    upload: {file: missing.conf, to: /etc/missing.conf}
  - id: cmp
    when: {distro: ">=7"}
    refuse: no
  - id: two-ops
    refuse: duplicate id
  - id: path-fact
    write: {file: '/boot/${kernell}.cfg', content: x}
  - id: empty-tagged
    when: {distro: !!str }
    refuse: never
EOT
expect_exit 3 "$CONVOY" guest fixup --rules ./bad.yaml disk.img 2> err.txt
cat err.txt
expect_grep '^./bad.yaml:2:10: error: .version.: expected a whole number from 1 to' err.txt
expect_grep "^./bad.yaml:3:.*'exists' is not allowed in a rule set's own when:" err.txt
expect_grep "^./bad.yaml:6:13: error: rule 'two-ops': one operation per rule ('write' and 'delete' given)" err.txt
expect_grep "^./bad.yaml:8:5: error: rule 'no-op': no operation" err.txt
expect_grep "^./bad.yaml:11:12: error: when: unknown fact 'distroo'; did you mean 'distro'?" err.txt
expect_grep "^./bad.yaml:12:14: error: 'command': unknown fact '\${kernel_version}'" err.txt
expect_grep "^./bad.yaml:14:.*'regex':" err.txt
expect_grep "^./bad.yaml:16:13: error: 'delete': expected an absolute path in the guest, got 'etc/passwd'" err.txt
expect_grep "^./bad.yaml:18:.*'mode': expected an octal file mode" err.txt
expect_grep "^./bad.yaml:20:.*upload: no file 'missing.conf'" err.txt
expect_grep "^./bad.yaml:22:.*comparisons work on major and minor only" err.txt
expect_grep "^./bad.yaml:24:.*duplicate rule id 'two-ops'" err.txt
expect_grep "^./bad.yaml:27:19: error: 'file': unknown fact '\${kernell}'; did you mean 'kernels'?" err.txt
expect_grep "^./bad.yaml:29:20: error: when: 'distro': expected a value, got an empty string" err.txt
# not YAML at all
printf 'name: [unclosed\n' > broken.yaml
expect_exit 3 "$CONVOY" guest fixup --rules ./broken.yaml disk.img 2> err2.txt
expect_grep '^./broken.yaml:' err2.txt
# a set that is not there
expect_exit 3 "$CONVOY" guest fixup --rules no-such-set disk.img 2> err3.txt
expect_grep "guest rule set 'no-such-set' not found" err3.txt
exit 0

#!/bin/sh
# A damaged state store is refused by every command, with how to recover,
# never read as "nothing done": a dropped table, an unknown or wrong
# user_version, a damaged page.  apply keeps a copy (<state>.bak, 0600)
# taken before it changes anything, and `convoy state check` runs the full
# integrity check.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
make_fixture "$d" 4M
cd "$d"
db=.convoy/state.db
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
[ -f $db.bak ] || fail "apply kept no backup of the store"
[ "$(stat -c %a $db.bak)" = 600 ] || fail "the backup is mode $(stat -c %a $db.bak), expected 600"
[ ! -e $db.bak.tmp ] || fail "the backup's temporary file is left behind"
expect_exit 0 "$CONVOY" state check manifest.yaml > check.txt
expect_grep "state '$d/$db': ok" check.txt
expect_exit 0 "$CONVOY" state check --state $db > check2.txt
expect_grep "state '$db': ok" check2.txt
# The backup is the store as it was before the last apply: empty before
# the first, the first's 4 steps before the second.
done_in_bak() {
    python3 -c "import sqlite3; print(sqlite3.connect('$db.bak').execute(\"select count(*) from steps where status='done'\").fetchone()[0])"
}
[ "$(done_in_bak)" = 0 ] || fail "the first apply's backup holds $(done_in_bak) done steps, expected 0"
rm out/web1-kvm.xml
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > /dev/null
n=$(done_in_bak)
[ "$n" -ge 4 ] || fail "the backup holds $n done steps, expected the 4 of the first apply"
cp $db good.db

sqlq() { python3 -c "import sqlite3,sys; c=sqlite3.connect('$db'); c.executescript(sys.argv[1]); c.commit()" "$1"; }
refused() {
    # refused WHAT: plan, apply, status and state check all refuse the store.
    expect_exit 1 "$CONVOY" plan manifest.yaml > plan.out 2> plan.err
    expect_grep "convoy: error: state '$d/$db' is damaged: $1; restore the copy taken before the last apply with 'cp $d/$db.bak $d/$db' (if it is there), or move '$d/$db' aside to start with an empty store" plan.err
    grep -q 'Nothing to do\|to do' plan.out && fail "plan planned on a damaged store"
    expect_exit 1 "$CONVOY" apply --yes manifest.yaml > apply.out 2> apply.err
    expect_grep "is damaged: $1" apply.err
    expect_exit 1 "$CONVOY" status manifest.yaml > /dev/null 2> status.err
    expect_grep "is damaged: $1" status.err
    expect_exit 1 "$CONVOY" state check manifest.yaml > /dev/null 2> check.err
    expect_grep "is damaged: $1" check.err
    cp good.db $db
}

# A dropped table (was: "3 to do" from plan, "Nothing to do" from apply).
sqlq 'DROP TABLE steps'
refused "the table 'steps' is missing"
sqlq 'ALTER TABLE checkpoints DROP COLUMN detail'
refused "the table 'checkpoints' has no column 'detail'"
# An unknown schema version, and a version that does not match the tables.
sqlq 'PRAGMA user_version = 7'
refused "its schema version 7 is unknown (this convoy knows versions 1 to 3; a newer convoy may have written it)"
sqlq 'PRAGMA user_version = 0'
refused "its schema version is 0 but it holds tables"
# A damaged page: the steps table's pages overwritten.
python3 - "$db" <<'EOT'
import sqlite3, sys
path = sys.argv[1]
c = sqlite3.connect(path)
root = c.execute("select rootpage from sqlite_master where name='steps'").fetchone()[0]
ps = c.execute("pragma page_size").fetchone()[0]
c.close()
with open(path, "r+b") as f:
    f.seek((root - 1) * ps + 8)
    f.write(b"\xa5" * (ps - 16))
EOT
refused "sqlite: quick_check: On tree page [0-9]* cell [0-9]*: .*"
# The advice works: the backup restores a store the plan trusts.
sqlq 'DROP TABLE steps'
cp $db.bak $db
expect_exit 0 "$CONVOY" state check manifest.yaml > /dev/null
expect_exit 0 "$CONVOY" plan manifest.yaml > plan.txt
expect_grep 'No changes: 4 steps up to date.' plan.txt

# Usage.
expect_exit 64 "$CONVOY" state 2> usage.err
expect_grep "expected check" usage.err
expect_exit 64 "$CONVOY" state fix manifest.yaml 2> usage2.err
expect_grep "unknown subcommand 'fix'; expected check" usage2.err
exit 0

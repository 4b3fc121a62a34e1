#!/bin/sh
# A plan a reviewer can sign: per wave its window now and an estimate of
# its copies against it; per VM its domain in short; what an earlier
# apply left elsewhere (a disk_format change replaces the old image,
# re-apply removes it and rollback removes the new one; a rename leaves
# the old outputs, listed); sizes in bytes
# in the JSON plan; --vm on plan, apply and status; status --wave counts
# the steps not started yet, in run order.  CONVOY_NOW pins the clock.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires python3
d=$(scratch)
make_fixture "$d" 8M
cd "$d"
$MKXVA -o exports/app1.xva --name app1 --pv --bootloader pygrub --vcpus 1 \
    --disk "xvda=size:2M,ref=Ref:30,pattern=4" \
    --vif "0=aa:bb:cc:00:00:03,bridge=xenbr0" > /dev/null
cat >> manifest.yaml <<EOT
  - name: wave-2
    after: [wave-1]
    window: {not_before: "2026-12-05T22:00:00Z", not_after: "2026-12-06T04:00:00Z"}
    vms:
      - {name: app1, source: exports}
EOT
# line N of FILE is exactly TEXT
line_is() {
    got=$(sed -n "$2p" "$3")
    [ "$got" = "$1" ] || { cat "$3" >&2; fail "line $2 of $3: expected '$1', got '$got'"; }
}

# Before wave-2's window: closed, nothing of it will start.  The rate is
# the default one: nothing has been copied yet.
CONVOY_NOW=2026-12-05T20:00:00Z expect_exit 2 "$CONVOY" plan manifest.yaml > closed.txt
line_is 'wave wave-1' 3 closed.txt
line_is '  window: none (starts at once)' 4 closed.txt
line_is '  to copy: 72.0 MiB (75497472 bytes) in 2 disks, under 1 s at 100.0 MiB/s (default rate); under 1 s in all' 5 closed.txt
line_is '  vm web1 → web1-kvm (source exports: exports/web1.xva; target lab)' 6 closed.txt
line_is '    domain: 2 vCPUs, 1.0 GiB memory; boot hd' 7 closed.txt
line_is '      nic aa:bb:cc:00:00:01 → network default (virtio)' 8 closed.txt
line_is '      disk out/web1-kvm-vda.raw → virtio vda (raw)' 9 closed.txt
line_is '      disk out/web1-kvm-vdb.raw → virtio vdb (raw)' 10 closed.txt
expect_grep '^wave wave-2$' closed.txt
expect_grep '^  window: closed: nothing will start (it opens at 2026-12-05T22:00:00Z)$' closed.txt
expect_grep '^  to copy: 2.0 MiB (2097152 bytes) in 1 disk, under 1 s at 100.0 MiB/s (default rate); under 1 s in all$' closed.txt
expect_grep '^    domain: 1 vCPU, ' closed.txt

# Inside it: open, when it closes, and whether the estimate fits.
CONVOY_NOW=2026-12-06T03:00:00Z expect_exit 2 "$CONVOY" plan --wave wave-2 manifest.yaml > open.txt
expect_grep '^  window: open, closes at 2026-12-06T04:00:00Z (in 1h00m): the estimate fits$' open.txt
CONVOY_COPY_RATE=512K CONVOY_NOW=2026-12-06T03:59:58Z expect_exit 2 "$CONVOY" plan --wave wave-2 manifest.yaml > late.txt
expect_grep '^  window: open, closes at 2026-12-06T04:00:00Z (in 2 s): the estimate runs past it; a VM that would not finish before it is deferred$' late.txt
expect_grep '^  to copy: 2.0 MiB (2097152 bytes) in 1 disk, about 4 s at 512.0 KiB/s (CONVOY_COPY_RATE); about 4 s in all$' late.txt

# JSON: sizes are numbers of bytes; the window and the domain in fields.
CONVOY_NOW=2026-12-05T20:00:00Z expect_exit 2 "$CONVOY" plan --json manifest.yaml > plan.json
python3 - plan.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
w1, w2 = p["waves"]
assert (w1["name"], w1["window"], w1["bytes_to_copy"], w1["copies"]) == ("wave-1", "none", 75497472, 2), w1
assert w1["rate_bytes_per_second"] == 100 * 2**20 and w1["rate_source"] == "default", w1
assert isinstance(w1["estimated_seconds"], int), w1
assert (w2["window"], w2["starts"], w2["window_closed"]) == ("closed", False, "it opens at 2026-12-05T22:00:00Z"), w2
assert w2["bytes_to_copy"] == 2097152, w2
web1 = p["vms"][0]
assert web1["bytes_to_copy"] == 75497472, web1
assert [(s["key"], s["bytes"], s["bytes_to_read"]) for s in web1["steps"] if "bytes" in s] == \
    [("web1/disk-copy/vda", 67108864, 67108864), ("web1/disk-copy/vdb", 8388608, 8388608)]
dom = web1["domain"]
assert (dom["vcpus"], dom["memory_bytes"], dom["boot"]) == (2, 1073741824, ["hd"]), dom
assert dom["nics"] == [{"mac": "aa:bb:cc:00:00:01", "type": "network", "to": "default", "model": "virtio"}], dom
assert [(k["source"], k["bus"], k["target"]) for k in dom["disks"]] == \
    [("out/web1-kvm-vda.raw", "virtio", "vda"), ("out/web1-kvm-vdb.raw", "virtio", "vdb")], dom
assert web1["replace"] == [] and web1["leave"] == [], web1
PY

# --vm: one VM; an unknown one is a usage error.
expect_exit 2 "$CONVOY" plan --vm app1 manifest.yaml > vm.txt
line_is 'convoy plan: 1 VM, vm app1 (state .convoy/state.db)' 1 vm.txt
! grep -q 'web1' vm.txt || fail "plan --vm app1 shows web1"
# Its wave runs after wave-1, which is not done: blocked, as with --wave.
line_is "blocked: wave 'wave-2' runs after wave 'wave-1', which is not complete (1 VM left); apply 'wave-1' first" 2 vm.txt
expect_exit 1 "$CONVOY" apply --yes --vm app1 manifest.yaml > blocked.log 2> blocked.err
expect_grep "^convoy: error: wave 'wave-2' runs after wave 'wave-1', which is not complete" blocked.err
[ ! -e out/app1-vda.raw ] || fail "apply --vm started a VM whose wave is blocked"
expect_exit 64 "$CONVOY" plan --vm nope manifest.yaml 2> nope.err
expect_grep "^convoy: error: no vm 'nope' in the manifest$" nope.err
expect_exit 64 "$CONVOY" plan --wave wave-1 --vm app1 manifest.yaml 2> nope2.err
expect_grep "^convoy: error: no vm 'app1' in wave 'wave-1'$" nope2.err
expect_exit 64 "$CONVOY" status --vm nope manifest.yaml 2> nope3.err
expect_grep "no vm 'nope' in the manifest" nope3.err

# status --wave before any apply: every step, not started, in run order.
expect_exit 0 "$CONVOY" status --wave wave-1 manifest.yaml > st0.txt
line_is 'wave wave-1: 4 steps: 0 done, 0 failed, 0 running, 4 pending' 1 st0.txt
line_is 'web1' 3 st0.txt
line_is '  disk-copy/vda            pending  not started' 4 st0.txt
line_is '  disk-copy/vdb            pending  not started' 5 st0.txt
line_is '  domain-convert           pending  not started' 6 st0.txt
line_is '  domain-define            pending  not started' 7 st0.txt

# apply --vm: only web1.
expect_exit 0 "$CONVOY" apply --yes --vm web1 manifest.yaml > a1.log 2>&1
[ -e out/web1-kvm-vda.raw ] && [ ! -e out/app1-vda.raw ] || fail "apply --vm web1 did not apply only web1"
expect_exit 0 "$CONVOY" status --wave wave-1 manifest.yaml > st1.txt
line_is 'wave wave-1: 4 steps: 4 done, 0 failed, 0 running, 0 pending' 1 st1.txt
expect_grep '^  disk-copy/vda            done     attempts 1, ' st1.txt
expect_exit 0 "$CONVOY" status --wave wave-2 --json manifest.yaml > st2.json
python3 - st2.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert (s["wave"], s["done"], s["failed"], s["running"], s["pending"], s["steps_total"]) == ("wave-2", 0, 0, 0, 3, 3), s
assert [x["key"] for x in s["steps"]] == ["app1/disk-copy/vda", "app1/domain-convert", "app1/domain-define"], s
assert all(x["status"] == "pending" and x["attempts"] == 0 for x in s["steps"]), s
PY
expect_exit 0 "$CONVOY" status --vm web1 manifest.yaml > stv.txt
line_is 'web1 (wave wave-1)' 1 stv.txt
! grep -q app1 stv.txt || fail "status --vm web1 shows app1"

# The copies now give the measured rate.
CONVOY_NOW=2026-12-06T03:00:00Z expect_exit 2 "$CONVOY" plan --wave wave-2 manifest.yaml > measured.txt
expect_grep '^  to copy: 2.0 MiB (2097152 bytes) in 1 disk, .* at [0-9.]* [KMG]iB/s (measured by earlier copies); ' measured.txt

# raw → qcow2: the old images are listed as replaced; apply removes them
# and rollback removes the new ones: nothing convoy made is left.
set_default . disk_format qcow2
expect_exit 2 "$CONVOY" plan --vm web1 manifest.yaml > replace.txt
expect_grep '^    replace out/web1-kvm-vda.raw: an earlier apply made it; web1/disk-copy/vda removes it and writes its new output$' replace.txt
expect_grep '^    replace out/web1-kvm-vdb.raw: an earlier apply made it; web1/disk-copy/vdb removes it and writes its new output$' replace.txt
expect_exit 2 "$CONVOY" plan --json --vm web1 manifest.yaml > replace.json
python3 - replace.json <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["vms"][0]
assert v["replace"] == ["out/web1-kvm-vda.raw", "out/web1-kvm-vdb.raw"], v["replace"]
PY
expect_exit 0 "$CONVOY" apply --yes --vm web1 manifest.yaml > a2.log 2>&1
expect_grep "^web1/disk-copy/vda: note: removed $d/out/web1-kvm-vda.raw, which $d/out/web1-kvm-vda.qcow2 replaces$" a2.log
[ ! -e out/web1-kvm-vda.raw ] && [ ! -e out/web1-kvm-vdb.raw ] || fail "the raw images were left behind"
[ -e out/web1-kvm-vda.qcow2 ] && [ -e out/web1-kvm-vdb.qcow2 ] || fail "no qcow2 images"
expect_exit 0 "$CONVOY" plan --vm web1 manifest.yaml > after.txt
! grep -q '^    replace' after.txt || fail "a replace is listed after it was done"
expect_exit 0 "$CONVOY" rollback --yes manifest.yaml web1 > rb.log 2>&1
[ -z "$(ls out | grep web1)" ] || { ls out; fail "rollback left what convoy made"; }

# A rename leaves the earlier disks and domain: listed as left, and left.
expect_exit 0 "$CONVOY" apply --yes --vm web1 manifest.yaml > a3.log 2>&1
sed -i 's/rename: web1-kvm/rename: web1-new/' manifest.yaml
expect_exit 2 "$CONVOY" plan --vm web1 manifest.yaml > rename.txt
expect_grep "^    leave   out/web1-kvm-vda.qcow2: made before web1/disk-copy/vda's inputs changed; apply leaves it (remove it by hand when no longer wanted)$" rename.txt
! grep -q '^    replace' rename.txt || fail "a rename replaces"
expect_exit 0 "$CONVOY" apply --yes --vm web1 manifest.yaml > a4.log 2>&1
[ -e out/web1-kvm-vda.qcow2 ] && [ -e out/web1-kvm.xml ] && [ -e out/web1-new-vda.qcow2 ] ||
    { ls out; fail "a rename removed the earlier outputs"; }
expect_grep "^    leave   out/web1-kvm.xml: made before web1/domain-define's inputs changed; apply leaves it (remove it by hand when no longer wanted)$" rename.txt
exit 0

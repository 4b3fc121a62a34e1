#!/bin/sh
# source_power: shutdown on a running qemu domain (TCG) of the libvirt
# source.  The guest has no OS (SeaBIOS finds nothing to boot), so it
# never acts on virDomainShutdown's ACPI request:
#  a. without hard_shutdown_after the source-shutdown step fails after
#     shutdown_timeout with a clear message, no disk is copied, and the
#     domain is left running with the same definition;
#  b. with hard_shutdown_after it is forced off (virDomainDestroy) once
#     that time has passed, and its disk (a pool volume, streamed over
#     qemu+unix) is copied byte for byte.
# Not covered: a guest that honours the ACPI request (that needs a
# bootable OS image, which these tests do not build).
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
set -e
[ -n "${TRACE:-}" ] && set -x
daemon_up
[ -S /run/libvirt/libvirt-sock ] || skip "no /run/libvirt/libvirt-sock"
d=$(scratch)
pool=$(pool_up "$d")
cleanup_fn "pool_down '$pool'"
cd "$d"
vm=convoy-t-sd-$$
cleanup_fn "domain_down '$vm'"
$VIRSH vol-create-as "$pool" tiny.raw 2M --format raw >/dev/null
printf 'tiny disk' | dd of=pool/tiny.raw bs=1 seek=4096 conv=notrunc 2>/dev/null
cat > "$vm.xml" <<EOT
<domain type='qemu'>
  <name>$vm</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$d/pool/tiny.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOT
$VIRSH define "$vm.xml" >/dev/null || fail "cannot define $vm"
$VIRSH start "$vm" >/dev/null 2>start.err || { cat start.err; fail "cannot start a TCG domain"; }
$VIRSH domstate "$vm" | grep -q running || fail "$vm is not running"
xml0=$($VIRSH dumpxml --inactive "$vm" | sha256sum)

manifest() { # EXTRA
    cat > manifest.yaml <<EOT
version: 1
defaults:
  guest: {fixup: false}
  target: lab
  disk_format: raw
  source_power: shutdown
sources:
  kvm0: {type: libvirt, uri: "qemu+unix:///system?socket=/run/libvirt/libvirt-sock", shutdown_timeout: 3$1}
targets:
  lab: {type: directory, path: out}
waves:
  - name: wave-1
    vms:
      - {name: $vm, source: kvm0}
EOT
}

# a. the timeout, no fallback
manifest ""
expect_exit 2 "$CONVOY" plan manifest.yaml > a.plan 2>&1
expect_grep "+ todo   source-shutdown .*(running; clean, timeout 3 s)" a.plan
t0=$(date +%s%N)
expect_exit 1 "$CONVOY" apply --yes manifest.yaml > a.log 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_grep "source 'kvm0': domain '$vm' did not shut down within 3 s and is left running; shut it down, or set hard_shutdown_after to force it off" a.log
echo "a: source-shutdown failed after $ms ms (shutdown_timeout 3 s)"
$VIRSH domstate "$vm" | grep -q running || fail "a: the domain is not running any more"
[ "$($VIRSH dumpxml --inactive "$vm" | sha256sum)" = "$xml0" ] || fail "a: the domain's definition changed"
[ ! -e "out/$vm-vda.raw" ] || fail "a: a disk was copied from a running domain"

# b. hard fallback
manifest ", hard_shutdown_after: 2"
expect_exit 2 "$CONVOY" plan manifest.yaml > b.plan 2>&1
expect_grep "clean, then hard after 2 s" b.plan
t0=$(date +%s%N)
expect_exit 0 "$CONVOY" apply --yes manifest.yaml > b.log 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "b: forced off and copied in $ms ms (hard_shutdown_after 2 s)"
$VIRSH domstate "$vm" | grep -q "shut off" || fail "b: the domain is still running"
[ "$($VIRSH dumpxml --inactive "$vm" | sha256sum)" = "$xml0" ] || fail "b: the domain's definition changed"
cmp pool/tiny.raw "out/$vm-vda.raw" || fail "b: the disk differs"
"$CONVOY" status manifest.yaml > b.status 2>&1 || true
exit 0

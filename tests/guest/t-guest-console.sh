#!/bin/sh
# The harness itself, without convoy: the whole-disk Debian guest, fixed
# by hand (its own kernel, an initrd with virtio drivers, root=/dev/vda
# console=ttyS0, booted directly under TCG), reaches the login prompt on
# its serial console as console-wait.py reads it.  If this fails, a
# failing t-guest-boot-* says nothing about convoy.
. "$abs_top_srcdir/tests/functions.sh"
. "$abs_top_srcdir/tests/libvirt/daemon.sh"
. "$abs_top_srcdir/tests/guest/guest.sh"
set -e
d=$(scratch)
debian_images "$d/img"
daemon_up
chmod 755 "$(dirname "$d")" "$d"
# Copies: libvirt relabels what a domain uses; the cache stays as it is.
cp --sparse=always "$d/img/whole-disk.raw" "$d/disk.raw"
cp "$d/img/vmlinuz" "$d/img/initrd-kvm" "$d/"
vm=convoy-t-console-$$
cleanup_fn "domain_down '$vm'"
cat > "$d/domain.xml" <<EOT
<domain type='qemu'>
  <name>$vm</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$d/vmlinuz</kernel>
    <initrd>$d/initrd-kvm</initrd>
    <cmdline>root=/dev/vda ro console=ttyS0 fstab=0</cmdline>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$d/disk.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
EOT
$VIRSH define "$d/domain.xml" >/dev/null || fail "cannot define $vm"
t0=$(date +%s)
$VIRSH start "$vm" >/dev/null || fail "cannot start $vm"
wait_login "$vm" "$d/console.log"
echo "hand-fixed guest: login prompt $(( $(date +%s) - t0 )) s after start"
expect_grep "xen-demo login:" "$d/console.log"
exit 0

#!/bin/sh
# The demo: a Xen PV guest exported from XenServer becomes a KVM disk image
# and a libvirt domain XML, through a reviewed plan.  Needs only what
# scripts/setup.sh installs and builds; no daemon, no root.
#
#   ./scripts/setup.sh && ./scripts/demo.sh [DIR]     (default: ./convoy-demo)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
convoy=$top/build/engine/cli/convoy
demo=${1:-$top/convoy-demo}
export PATH="$PATH:/sbin:/usr/sbin"

[ -x "$convoy" ] || { echo "demo: $convoy is missing; run ./scripts/setup.sh first" >&2; exit 1; }
rm -rf "$demo"
mkdir -p "$demo/exports" "$demo/src"
cd "$demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "1. A Xen PV guest disk: MBR partition table, ext4, /etc/fstab naming /dev/xvda1"
sh "$top/tests/tools/mkguest.sh" src/xvda.raw 64
show sfdisk -l src/xvda.raw

step "2. Packed as a XenServer export (.xva), with a second, sparse data disk"
show python3 "$top/tests/tools/mkxva.py" -o exports/web1.xva --name web1 --pv \
    --bootloader pygrub --pv-args "console=hvc0 root=/dev/xvda1" \
    --memory 1GiB --vcpus 2 \
    --disk "xvda=src/xvda.raw,ref=Ref:10" \
    --disk "xvdb=size:48M,ref=Ref:9,pattern=7,save=src/xvdb.raw" \
    --vif "0=aa:bb:cc:00:00:01,bridge=xenbr0,network=Pool-wide network associated with eth0"
show "$convoy" xva inspect exports/web1.xva

step "3. The manifest, as it would sit in git"
cat > manifest.yaml <<'EOT'
version: 1
defaults:
  target: lab
  disk_format: qcow2
  # Guest repair is on by default for Xen VMs (fixup: auto); this demo's
  # disk is a bare filesystem with no kernel to repair, so it is copied
  # as it is.  A real guest keeps the default (it needs libguestfs).
  guest: {fixup: false}
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
      - {name: web1, source: exports, rename: web1-kvm}
EOT
cat manifest.yaml
show "$convoy" validate manifest.yaml

step "4. convoy plan: what apply would do (exit 2: changes pending)"
set +e
"$convoy" plan manifest.yaml
rc=$?
set -e
echo "(plan exit status: $rc)"
[ "$rc" -eq 2 ] || { echo "demo: expected plan to exit 2" >&2; exit 1; }

step "5. convoy apply --yes"
show "$convoy" apply --yes manifest.yaml

step "6. What landed in out/"
show ls -ls out
show qemu-img info out/web1-kvm-vda.qcow2
show qemu-img compare src/xvda.raw out/web1-kvm-vda.qcow2
show qemu-img compare src/xvdb.raw out/web1-kvm-vdb.qcow2
show cat out/web1-kvm.xml
if command -v virt-xml-validate >/dev/null 2>&1; then
    show virt-xml-validate out/web1-kvm.xml domain
fi

step "7. Running it again changes nothing (plan exit 0)"
show "$convoy" plan manifest.yaml
show "$convoy" status manifest.yaml

printf '\nThe demo is in %s: manifest.yaml, exports/web1.xva, out/.\n' "$demo"
printf 'Try: kill an apply with Ctrl-C half-way (after editing disk_format to raw) and run it again.\n'

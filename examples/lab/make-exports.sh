#!/bin/sh
# Write the lab's two XenServer exports with convoy's own test tooling:
# web1, a PV guest booted by pygrub (partitioned ext4 root naming
# /dev/xvda1), and db1, an HVM guest with a data disk on VLAN 20.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$here/exports"
sh "$top/tests/tools/mkguest.sh" "$tmp/web1.raw" 64
python3 "$top/tests/tools/mkxva.py" -o "$here/exports/web1.xva" --name web1 \
    --pv --bootloader pygrub --pv-args "console=hvc0 root=/dev/xvda1" \
    --memory 1GiB --vcpus 2 --disk "xvda=$tmp/web1.raw,ref=Ref:10" \
    --vif "0=aa:bb:cc:00:01:01,bridge=xenbr0" > /dev/null
python3 "$top/tests/tools/mkxva.py" -o "$here/exports/db1.xva" --name db1 --hvm \
    --memory 2GiB --vcpus 2 \
    --disk "xvda=size:16M,ref=Ref:20,pattern=1" \
    --disk "xvdb=size:8M,ref=Ref:21,pattern=2" \
    --vif "0=aa:bb:cc:00:01:02,bridge=xenbr0" \
    --vif "1=aa:bb:cc:00:01:03,bridge=xapi1,network=VLAN 20" > /dev/null
echo "wrote $here/exports/web1.xva and $here/exports/db1.xva"

#!/bin/sh
# Write the fleet's six XenServer exports with convoy's test tooling, so
# the example runs anywhere.  On a real migration, exports/ holds what
# `xe vm-export` wrote, or the source is the pool itself.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mkxva="python3 $top/tests/tools/mkxva.py"
mkdir -p "$here/exports"
n=0
for vm in web1 web2 web3 app1 app2 db1; do
    n=$((n + 1))
    extra=""
    [ "$vm" = db1 ] && extra="--disk xvdb=size:8M,ref=Ref:${n}1,pattern=${n}1"
    $mkxva -o "$here/exports/$vm.xva" --name "$vm" --pv --bootloader pygrub \
        --pv-args "console=hvc0 root=/dev/xvda1" \
        --disk "xvda=size:16M,ref=Ref:${n}0,pattern=$n" $extra \
        --vif "0=aa:bb:cc:00:02:0$n,bridge=xenbr0" > /dev/null
done
echo "wrote 6 exports in $here/exports"

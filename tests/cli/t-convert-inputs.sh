#!/bin/sh
# convoy convert: every input kind (domain XML, xl.cfg, ova.xml, .xva,
# standard input), detected by content, gives a KVM domain.
. "$abs_top_srcdir/tests/functions.sh"
set -e
d=$(scratch)
cd "$d"
g=$abs_top_srcdir/tests/convert

# libvirt Xen domain XML, under a name that says nothing
cp "$g/xen-to-kvm/pv-pygrub/in.xml" pv.data
"$CONVOY" convert pv.data > pv.xml
expect_grep "^<domain type='kvm'>" pv.xml
expect_grep "<target dev='vda' bus='virtio'/>" pv.xml
expect_grep "<mac address='00:16:3e:10:20:30'/>" pv.xml
expect_grep "<uuid>8f2d6a3e-1c4b-4e0a-9d7f-2b6c1a9e5f01</uuid>" pv.xml

# xl.cfg: the same result as the golden case
"$CONVOY" convert "$g/xl/pv-pygrub/in.cfg" > xl.xml
cmp xl.xml "$g/xl/pv-pygrub/out.xml" || fail "xl.cfg conversion differs from the golden case"
# standard input
"$CONVOY" convert - < "$g/xl/hvm-ovmf/in.cfg" > stdin.xml
cmp stdin.xml "$g/xl/hvm-ovmf/out.xml" || fail "conversion from stdin differs"

# ova.xml
"$CONVOY" convert --pool "*=images" "$g/ova/pv-pygrub/in.ova.xml" > ova.xml
expect_grep "^<domain type='kvm'>" ova.xml
expect_grep "<source pool=.images. volume=" ova.xml

# an .xva: only ova.xml is read
requires python3
$MKXVA -o vm.xva --name xva1 --pv --bootloader pygrub --memory 512MiB --vcpus 1 \
    --disk "xvda=size:2M,ref=Ref:5" \
    --vif "0=aa:bb:cc:00:00:09,bridge=xenbr0,network=Lab net" > /dev/null || fail "mkxva failed"
"$CONVOY" convert --network 'network:Lab net=default' vm.xva > xva.xml
expect_grep "<name>xva1</name>" xva.xml
expect_grep "<source network='default'/>" xva.xml
expect_grep "<mac address='aa:bb:cc:00:00:09'/>" xva.xml
# its disk is the image 'xva extract' writes, here or in --disk-dir
expect_grep "<source file='$d/xva1-xvda.raw'/>" xva.xml
mkdir imgs
"$CONVOY" xva extract -o imgs vm.xva > /dev/null
[ -f imgs/xva1-xvda.raw ] || fail "xva extract wrote $(ls imgs)"
"$CONVOY" convert --disk-dir imgs vm.xva > dir.xml
expect_grep "<source file='$d/imgs/xva1-xvda.raw'/>" dir.xml
"$CONVOY" convert --pool '*=images' vm.xva > vol.xml
expect_grep "<source pool='images' volume='xva1-xvda.raw'/>" vol.xml
# --pool by the disk's SR name (the manifest's pools.map idea)
$MKXVA -o sr.xva --name sr1 --hvm --disk "hda=size:1M,ref=Ref:5,sr=Fast SAN" \
    --disk "hdb=size:1M,ref=Ref:6,sr=Slow NAS" > /dev/null
"$CONVOY" convert --pool 'Fast SAN=fast' --pool 'Slow NAS=slow' sr.xva > sr.xml
expect_grep "<source pool='fast' volume='sr1-hda.raw'/>" sr.xml
expect_grep "<source pool='slow' volume='sr1-hdb.raw'/>" sr.xml
expect_exit 1 "$CONVOY" convert --pool 'Fast SAN=fast' sr.xva > /dev/null 2> sr.err
expect_grep "disk '$d/sr1-hdb.raw' has no storage pool mapping" sr.err
if grep -q "xva-vdi:" xva.xml dir.xml vol.xml sr.xml; then fail "a placeholder source is left"; fi

# the shared corpus: a real XenServer ova.xml converts; an XVA whose
# ova.xml holds no VM is invalid input
corpus=$abs_top_srcdir/tests/corpus/xva
"$CONVOY" convert --pool '*=images' "$corpus/ova.xml" > corpus.xml
expect_grep "^<domain type='kvm'>" corpus.xml
expect_exit 3 "$CONVOY" convert "$corpus/small.xva" > no.xml 2> small.err
expect_grep "ova.xml: expected an XML-RPC <value> holding a <struct>" small.err
[ ! -s no.xml ] || fail "a failed conversion printed XML"

# the real image format wins over the configured one
printf 'QFI\373\000\000\000\003' > q.img
cat > fmt.cfg <<EOT
name = "fmt1"
disk = [ 'format=raw, vdev=xvda, access=rw, target=$d/q.img' ]
EOT
"$CONVOY" convert fmt.cfg > fmt.xml 2> fmt.err
expect_grep "<driver name='qemu' type='qcow2'/>" fmt.xml
expect_grep "note: disk 'vda' ($d/q.img) is a qcow2 image, not raw as configured" fmt.err
"$CONVOY" convert --explain fmt.cfg > /dev/null 2> fmt.ex
expect_grep "^(format probe) $d/q.img: set the driver type of disk vda to 'qcow2' (the image is qcow2, not raw)" fmt.ex

# a domain already of type kvm: printed unchanged, with a note
"$CONVOY" convert "$g/xen-to-kvm/already-kvm/in.xml" > kvm.xml 2> kvm.err
expect_grep "note: the domain is already of type 'kvm'" kvm.err
expect_grep "<source network='default'/>" kvm.xml

# virt-xml-validate accepts what convert prints
if command -v virt-xml-validate > /dev/null 2>&1; then
    for f in pv.xml xl.xml stdin.xml ova.xml xva.xml vol.xml sr.xml $( [ -f corpus.xml ] && echo corpus.xml); do
        virt-xml-validate "$f" domain > /dev/null || fail "virt-xml-validate rejects $f"
    done
fi
exit 0

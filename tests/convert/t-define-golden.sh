#!/bin/sh
# Integration: every expected KVM domain of the golden tests (xen-to-kvm and
# xl families) is defined on a real libvirt daemon (qemu:///system), its
# uuid and MACs survive the round trip through virsh dumpxml, and it is
# undefined again.  A daemon that already answers is reused and left
# running; otherwise this test starts virtlogd/libvirtd (HOST-NOTES.md)
# and stops, by PID, only what it started.  Skips (77) only when no
# daemon answers and none can be started.
. "$abs_top_srcdir/tests/functions.sh"
set -e
requires virsh
uri=qemu:///system
d=$(scratch)

answers() { virsh -c "$uri" version > /dev/null 2>&1; }

started=""
stop_started() {
    for p in $started; do
        kill "$p" 2> /dev/null || continue
        # Gone before the next test looks for a daemon.
        for i in $(seq 1 100); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    done
}
cleanup_fn stop_started

if ! answers; then
    command -v libvirtd > /dev/null 2>&1 || skip "no libvirt daemon answers on $uri and libvirtd is not installed"
    [ "$(id -u)" -eq 0 ] || skip "no libvirt daemon answers on $uri and starting one needs root"
    mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt
    if [ ! -S /run/libvirt/virtlogd-sock ] && command -v virtlogd > /dev/null 2>&1; then
        virtlogd -d -p "$d/virtlogd.pid" > "$d/virtlogd.log" 2>&1 || true
        for i in $(seq 1 50); do [ -s "$d/virtlogd.pid" ] && break; sleep 0.1; done
        [ -s "$d/virtlogd.pid" ] && started="$(cat "$d/virtlogd.pid") $started"
    fi
    # Another test may be starting one at this very moment: look again.
    if ! answers; then
        libvirtd -d -p "$d/libvirtd.pid" > "$d/libvirtd.log" 2>&1 ||
            { answers || skip "libvirtd cannot start: $(tail -n 3 "$d/libvirtd.log")"; }
        for i in $(seq 1 50); do [ -s "$d/libvirtd.pid" ] && break; sleep 0.1; done
        [ -s "$d/libvirtd.pid" ] && started="$(cat "$d/libvirtd.pid") $started"
    fi
    for i in $(seq 1 150); do answers && break; sleep 0.2; done
    answers || skip "libvirtd started but $uri does not answer: $(tail -n 3 "$d/libvirtd.log" 2>/dev/null)"
fi

n=0
defined=""
undefine_all() {
    for dom in $defined; do
        virsh -c "$uri" undefine --nvram "$dom" > /dev/null 2>&1 ||
            virsh -c "$uri" undefine "$dom" > /dev/null 2>&1 || true
    done
}
cleanup_fn undefine_all

for f in "$abs_top_srcdir"/tests/convert/xen-to-kvm/*/out.xml \
         "$abs_top_srcdir"/tests/convert/xl/*/out.xml \
         "$abs_top_srcdir"/tests/convert/ova/*/out.xml; do
    case=$(basename "$(dirname "$(dirname "$f")")")/$(basename "$(dirname "$f")")
    n=$((n + 1))
    name="convoy-it-$$-$n"
    # KVM cannot run guests here; define as TCG (the manifest's
    # domain_type: qemu does the same).
    # An XVA's disk placeholders (xva-vdi:REF) become absolute paths, as
    # the plan or 'convoy convert' makes them.
    sed -e "s|^<domain type='[a-z]*'>|<domain type='qemu'>|" \
        -e "s|'xva-vdi:|'/xva-vdi/|" \
        -e "0,/<name>[^<]*<\/name>/s||<name>$name</name>|" "$f" > "$d/in.xml"
    if ! virsh -c "$uri" define "$d/in.xml" > "$d/define.out" 2>&1; then
        cat "$d/define.out" >&2
        fail "$case: virsh define rejects the converted domain"
    fi
    defined="$defined $name"
    virsh -c "$uri" dumpxml --inactive "$name" > "$d/out.xml"
    uuid=$(sed -n 's|.*<uuid>\(.*\)</uuid>.*|\1|p' "$d/in.xml")
    if [ -n "$uuid" ]; then
        grep -q "<uuid>$uuid</uuid>" "$d/out.xml" || fail "$case: uuid $uuid not kept by libvirt"
    fi
    for mac in $(sed -n "s|.*<mac address='\([^']*\)'/>.*|\1|p" "$d/in.xml"); do
        grep -qi "<mac address='$mac'/>" "$d/out.xml" || fail "$case: MAC $mac not kept by libvirt"
    done
    virsh -c "$uri" undefine --nvram "$name" > /dev/null 2>&1 ||
        virsh -c "$uri" undefine "$name" > /dev/null ||
        fail "$case: undefine failed"
    defined=""
    echo "ok: $case defined, uuid and MACs kept, undefined"
done
[ "$n" -gt 0 ] || fail "no golden outputs found"
echo "$n domains defined and undefined"
exit 0

#!/usr/bin/env python3
"""mkxva.py: write XenServer/XCP-ng export files (.xva) the way xapi does.

Layout (xen-api ocaml/xapi/export.ml + stream_vdi.ml):
  ova.xml                  first entry: an XML-RPC <value><struct> with
                           'version' and 'objects' (VM, VBD, VDI, VIF,
                           network, SR, VM_guest_metrics, host)
  REF/NNNNNNNN             1 MiB chunks of each data-carrying VDI, VDIs in
                           string order of their ref ("Ref:10" < "Ref:9"),
                           numbered from 0; all-zero chunks are omitted
                           except chunk 0 and the last one; the last chunk
                           may be short
  REF/NNNNNNNN.xxhash      after each chunk: XXH64 (seed 0), "%016X"
  REF/NNNNNNNN.checksum    ... or SHA-1, 40 lower-case hex digits
Headers are V7 by default (ocaml-tar's default level, what xapi writes).

Disk data comes from a raw image file (DEV=PATH) or is synthesized
(DEV=size:SIZE[,pattern=SEED]): deterministic pseudo-random chunks mixed
with all-zero chunks (so the stream has gaps) and half-zero chunks; a SIZE
that is not a multiple of 1 MiB gives a short last chunk.  save=PATH writes
the synthesized image as a sparse raw file, to compare with what a reader
delivers.  Everything streams: at most a few MiB are in memory.

XXH64 is computed with libxxhash through ctypes when the library is
installed (Debian: libxxhash0, pulled in by libxxhash-dev); otherwise a
pure-Python XXH64 is used, which is correct but slow (~10 MB/s), so big
files should then use --checksum sha1.  zstd compression pipes through the
zstd program (Python 3.11 has no zstd module); gzip uses the gzip module.

The --corrupt-chunk, --decreasing, --oversize-chunk, --bad-entry,
--no-checksum, --wrong-order, --omit-disk, --pad-last, --ova-pad,
--ova-doctype, --truncate and --flip-byte options write damaged files for
tests.
"""

import argparse
import ctypes
import ctypes.util
import gzip
import hashlib
import os
import random
import re
import struct
import subprocess
import sys
from xml.sax.saxutils import escape

CHUNK = 1024 * 1024
BLOCK = 512
MTIME = 1700000000
NULL_REF = "OpaqueRef:NULL"

# ---------------------------------------------------------------- XXH64

_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 1609587929392839161
_P4 = 9650029242287828579
_P5 = 2870177450012600261
_M = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc, lane):
    acc = (acc + lane * _P2) & _M
    return (_rotl(acc, 31) * _P1) & _M


def _merge(acc, val):
    acc ^= _round(0, val)
    return (acc * _P1 + _P4) & _M


def xxh64_py(data, seed=0):
    """Reference XXH64; slow, used only when libxxhash is missing."""
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M
        v2 = (seed + _P2) & _M
        v3 = seed
        v4 = (seed - _P1) & _M
        while i + 32 <= n:
            a, b, c, d = struct.unpack_from("<4Q", data, i)
            v1 = _round(v1, a)
            v2 = _round(v2, b)
            v3 = _round(v3, c)
            v4 = _round(v4, d)
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        (k,) = struct.unpack_from("<Q", data, i)
        h ^= _round(0, k)
        h = (_rotl(h, 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        (k,) = struct.unpack_from("<I", data, i)
        h ^= (k * _P1) & _M
        h = (_rotl(h, 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M
        h = (_rotl(h, 11) * _P1) & _M
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M
    h ^= h >> 29
    h = (h * _P3) & _M
    h ^= h >> 32
    return h


def _load_libxxhash():
    for name in (ctypes.util.find_library("xxhash"), "libxxhash.so.0"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.XXH64.restype = ctypes.c_uint64
            lib.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.c_uint64]
            return lib
        except OSError:
            continue
    return None


_LIBXXH = _load_libxxhash()


def xxh64(data):
    if _LIBXXH is not None:
        return _LIBXXH.XXH64(bytes(data), len(data), 0)
    return xxh64_py(data)


# ---------------------------------------------------------------- sizes

def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(i?B)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError("bad size '%s'" % text)
    mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(m.group(1)) * mult[m.group(2).upper()]


# ---------------------------------------------------------------- tar

def _octal(value, width):
    """NUL-terminated octal field of width bytes."""
    s = "%0*o" % (width - 1, value)
    if len(s) > width - 1:
        raise ValueError("value %d does not fit a %d-byte tar field"
                         % (value, width))
    return s.encode() + b"\0"


def _header(name, size, typeflag, fmt, linkname=b""):
    name_b = name.encode() if isinstance(name, str) else name
    prefix_b = b""
    if len(name_b) > 100:
        if fmt == "ustar" and b"/" in name_b[-101:]:
            cut = name_b.rindex(b"/", 0, len(name_b) - 1)
            while len(name_b) - cut - 1 > 100:
                cut = name_b.rindex(b"/", 0, cut)
            prefix_b, name_b = name_b[:cut], name_b[cut + 1:]
        else:
            raise ValueError("name '%s' too long for %s" % (name, fmt))
    h = bytearray(BLOCK)
    h[0:len(name_b)] = name_b
    h[100:108] = _octal(0o644 if typeflag != b"5" else 0o755, 8)
    h[108:116] = _octal(0, 8)
    h[116:124] = _octal(0, 8)
    h[124:136] = _octal(size, 12)
    h[136:148] = _octal(MTIME, 12)
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[157:157 + len(linkname)] = linkname
    if fmt in ("ustar", "pax"):
        h[257:263] = b"ustar\0"
        h[263:265] = b"00"
    elif fmt == "gnu":
        h[257:265] = b"ustar  \0"
    if fmt != "v7":
        h[265:269] = b"root"
        h[297:301] = b"root"
        h[345:345 + len(prefix_b)] = prefix_b
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    return bytes(h)


def _pax_records(pairs):
    out = b""
    for key, value in pairs:
        body = (" %s=%s\n" % (key, value)).encode()
        n = len(body) + 1
        while len(str(n).encode()) + len(body) != n:
            n = len(str(n).encode()) + len(body)
        out += str(n).encode() + body
    return out


class TarWriter:
    """Writes tar entries in one of the four header formats."""

    def __init__(self, out, fmt):
        self.out = out
        self.fmt = fmt
        self.count = 0

    def _raw_entry(self, header, data):
        self.out.write(header)
        if data:
            self.out.write(data)
            pad = -len(data) % BLOCK
            if pad:
                self.out.write(b"\0" * pad)

    def entry(self, name, data, directory=False):
        self.count += 1
        typeflag = b"5" if directory else (b"\0" if self.fmt == "v7" else b"0")
        if self.fmt == "pax":
            rec = _pax_records([("path", name), ("mtime", str(MTIME))])
            self._raw_entry(_header("PaxHeaders/%d" % self.count, len(rec),
                                    b"x", "pax"), rec)
            # The ustar name is a placeholder: a reader that ignored the
            # pax 'path' record would see the wrong name.
            name = "pax-placeholder-%d%s" % (self.count,
                                             "/" if directory else "")
        elif self.fmt == "gnu" and len(name.encode()) > 100:
            long_name = name.encode() + b"\0"
            self._raw_entry(_header("././@LongLink", len(long_name), b"L",
                                    "gnu"), long_name)
            name = name.encode()[:100]
        self._raw_entry(_header(name, len(data), typeflag, self.fmt), data)

    def end(self):
        self.out.write(b"\0" * (2 * BLOCK))


# ---------------------------------------------------------------- ova.xml

def _v(x):
    """Python value -> XML-RPC <value> text, as xapi's Xmlrpc.to_string."""
    if isinstance(x, bool):
        return "<value><boolean>%d</boolean></value>" % (1 if x else 0)
    if isinstance(x, float):
        return "<value><double>%r</double></value>" % x
    if isinstance(x, int):
        return "<value>%d</value>" % x        # xapi writes int64 as strings
    if isinstance(x, str):
        return "<value>%s</value>" % escape(x) if x else "<value/>"
    if isinstance(x, list):
        if not x:
            return "<value><array><data/></array></value>"
        return "<value><array><data>%s</data></array></value>" % "".join(
            _v(e) for e in x)
    if isinstance(x, dict):
        if not x:
            return "<value><struct/></value>"
        return "<value><struct>%s</struct></value>" % "".join(
            "<member><name>%s</name>%s</member>" % (escape(k), _v(v))
            for k, v in x.items())
    raise TypeError(type(x))


class Refs:
    def __init__(self):
        self.n = 0
        self.used = set()

    def take(self, want=None):
        if want is None:
            while "Ref:%d" % self.n in self.used:
                self.n += 1
            want = "Ref:%d" % self.n
            self.n += 1
        if want in self.used:
            raise SystemExit("mkxva: ref '%s' used twice" % want)
        self.used.add(want)
        return want


def _uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def userdevice_of(dev):
    m = re.fullmatch(r"(?:xvd|hd|sd|vd)([a-z])", dev)
    return str(ord(m.group(1)) - ord("a")) if m else "0"


# What --ova-minimal keeps: the fields convoy reads (small fuzz seeds).
MINIMAL_CLASSES = {"VM", "VBD", "VDI", "VIF", "network", "SR"}
MINIMAL_KEYS = {
    "uuid", "name_label", "power_state", "is_a_template", "is_a_snapshot",
    "is_control_domain", "suspend_VDI", "memory_static_max",
    "memory_dynamic_max", "VCPUs_max", "VCPUs_at_startup", "VIFs", "VBDs",
    "PV_bootloader", "PV_bootloader_args", "PV_kernel", "PV_ramdisk",
    "PV_args", "HVM_boot_policy", "HVM_boot_params", "platform",
    "domain_type", "VDI", "device", "userdevice", "bootable", "type",
    "empty", "SR", "virtual_size", "content_type", "network", "MAC",
    "bridge",
}


def build_ova(args, disks, cds, vifs, rng):
    refs = Refs()
    # Explicit refs first, so generated ones never collide with them.
    for d in disks:
        if d.get("ref"):
            refs.used.add(d["ref"])
    vm_ref = refs.take()
    host_ref = refs.take()
    gm_ref = refs.take()
    objects = []
    sr_ref = refs.take()
    iso_sr_ref = None
    # Disks given sr=NAME live on an SR of that name (one per name), the
    # others on "Local storage".
    other_srs = {}
    vbd_refs, vif_refs = [], []
    vbd_objs, vdi_objs, vif_objs, net_objs = [], [], [], []

    def disk_sr(d):
        name = d.get("sr")
        if name is None or name == "Local storage":
            return sr_ref
        if name not in other_srs:
            other_srs[name] = refs.take()
        return other_srs[name]

    for d in disks:
        vbd = refs.take()
        vdi = d.get("ref")
        if vdi:
            refs.used.discard(vdi)
            vdi = refs.take(vdi)
        else:
            vdi = refs.take()
        d["ref"] = vdi
        vbd_refs.append(vbd)
        vbd_objs.append(("VBD", vbd, {
            "uuid": _uuid(rng), "allowed_operations": [],
            "current_operations": {}, "VM": vm_ref, "VDI": vdi,
            "device": d["device"],
            "userdevice": d.get("userdevice") or userdevice_of(d["device"]),
            "bootable": d["bootable"], "mode": "RW", "type": "Disk",
            "unpluggable": False, "storage_lock": False, "empty": False,
            "other_config": {}, "currently_attached": False,
            "status_code": "0", "status_detail": "", "runtime_properties": {},
            "qos_algorithm_type": "", "qos_algorithm_params": {},
            "qos_supported_algorithms": [], "metrics": NULL_REF}))
        vdi_objs.append(("VDI", vdi, {
            "uuid": d.get("uuid") or _uuid(rng),
            "name_label": d.get("label", "%s disk %s" % (args.name,
                                                          d["device"])),
            "name_description": "", "allowed_operations": [],
            "current_operations": {}, "SR": disk_sr(d), "VBDs": [vbd],
            "crash_dumps": [], "virtual_size": str(d["size"]),
            "physical_utilisation": str(d["size"]), "type": "user",
            "sharable": False, "read_only": False, "other_config": {},
            "storage_lock": False, "location": _uuid(rng), "managed": True,
            "missing": False, "parent": NULL_REF, "xenstore_data": {},
            "sm_config": {"vdi_type": "vhd"}, "is_a_snapshot": False,
            "snapshot_of": NULL_REF, "snapshots": [], "tags": [],
            "allow_caching": False, "on_boot": "persist",
            "metadata_of_pool": "", "metadata_latest": False,
            "is_tools_iso": False}))
    for c in cds:
        vbd = refs.take()
        vbd_refs.append(vbd)
        vdi = NULL_REF
        if c["iso"] is not None:
            if iso_sr_ref is None:
                iso_sr_ref = refs.take()
            vdi = refs.take()
            c["ref"] = vdi
            vdi_objs.append(("VDI", vdi, {
                "uuid": _uuid(rng), "name_label": c["iso"],
                "name_description": "", "SR": iso_sr_ref, "VBDs": [vbd],
                "virtual_size": str(c["iso_size"]), "type": "user",
                "read_only": True, "sharable": False, "other_config": {},
                "sm_config": {}, "is_a_snapshot": False,
                "is_tools_iso": False}))
        vbd_objs.append(("VBD", vbd, {
            "uuid": _uuid(rng), "VM": vm_ref, "VDI": vdi,
            "device": c["device"], "userdevice": userdevice_of(c["device"]),
            "bootable": False, "mode": "RO", "type": "CD",
            "unpluggable": True, "empty": c["iso"] is None,
            "other_config": {}, "currently_attached": False,
            "metrics": NULL_REF}))
    nets = {}
    for f in vifs:
        key = (f["bridge"], f["network"])
        if key not in nets:
            nets[key] = refs.take()
            net_objs.append(("network", nets[key], {
                "uuid": _uuid(rng), "name_label": f["network"],
                "name_description": "", "allowed_operations": [],
                "current_operations": {}, "VIFs": [], "PIFs": [],
                "MTU": "1500", "other_config": {}, "bridge": f["bridge"],
                "blobs": {}, "tags": [], "default_locking_mode": "unlocked",
                "assigned_ips": {}}))
        ref = refs.take()
        vif_refs.append(ref)
        for _, r, o in net_objs:
            if r == nets[key]:
                o["VIFs"].append(ref)
        vif_objs.append(("VIF", ref, {
            "uuid": _uuid(rng), "allowed_operations": [],
            "current_operations": {}, "device": f["device"],
            "network": nets[key], "VM": vm_ref, "MAC": f["mac"],
            "MTU": "1500", "other_config": {}, "currently_attached": False,
            "status_code": "0", "status_detail": "", "runtime_properties": {},
            "qos_algorithm_type": "", "qos_algorithm_params": {},
            "qos_supported_algorithms": [], "metrics": NULL_REF,
            "MAC_autogenerated": False, "locking_mode": "network_default",
            "ipv4_allowed": [], "ipv6_allowed": []}))

    pv = args.boot == "pv"
    hvm_params = {} if pv else {"order": args.boot_order}
    if args.uefi:
        hvm_params["firmware"] = "uefi"
    platform = {"timeoffset": "0", "acpi": "1", "apic": "true", "pae": "true",
                "nx": "true", "viridian": "false"}
    other_config = {"mac_seed": _uuid(rng),
                    "base_template_name": "Debian Bookworm 12"}
    if args.ova_pad:
        other_config["padding"] = ""
    vm = {
        "uuid": args.uuid or _uuid(rng), "allowed_operations": [],
        "current_operations": {}, "power_state": "Halted",
        "name_label": args.name, "name_description": args.description,
        "user_version": "1", "is_a_template": False,
        "suspend_VDI": NULL_REF, "resident_on": host_ref,
        "affinity": host_ref, "memory_overhead": "11534336",
        "memory_target": "0", "memory_static_max": str(args.memory),
        "memory_dynamic_max": str(args.memory),
        "memory_dynamic_min": str(args.memory),
        "memory_static_min": str(min(args.memory, 16 << 20)),
        "VCPUs_params": {}, "VCPUs_max": str(args.vcpus),
        "VCPUs_at_startup": str(args.vcpus),
        "actions_after_shutdown": "destroy",
        "actions_after_reboot": "restart", "actions_after_crash": "restart",
        "consoles": [], "VIFs": vif_refs, "VBDs": vbd_refs,
        "crash_dumps": [], "VTPMs": [],
        "PV_bootloader": args.bootloader if pv else "",
        "PV_kernel": args.kernel if pv else "",
        "PV_ramdisk": args.ramdisk if pv else "",
        "PV_args": args.pv_args if pv else "",
        "PV_bootloader_args": args.bootloader_args if pv else "",
        "PV_legacy_args": "",
        "HVM_boot_policy": "" if pv else "BIOS order",
        "HVM_boot_params": hvm_params, "HVM_shadow_multiplier": 1.0,
        "platform": platform, "PCI_bus": "", "other_config": other_config,
        "domid": "-1", "domarch": "", "last_boot_CPU_flags": {},
        "is_control_domain": False, "metrics": NULL_REF,
        "guest_metrics": gm_ref, "last_booted_record": "",
        "recommendations": "", "xenstore_data": {}, "ha_always_run": False,
        "ha_restart_priority": "", "is_a_snapshot": False,
        "snapshot_of": NULL_REF, "snapshots": [], "tags": [],
        "snapshot_time": args.snapshot_time,
        "blocked_operations": {}, "snapshot_info": {},
        "snapshot_metadata": "", "parent": NULL_REF, "children": [],
        "bios_strings": {}, "protection_policy": NULL_REF,
        "is_snapshot_from_vmpp": False, "appliance": NULL_REF,
        "start_delay": "0", "shutdown_delay": "0", "order": "0",
        "VGPUs": [], "attached_PCIs": [], "suspend_SR": NULL_REF,
        "version": "0", "generation_id": "", "hardware_platform_version": "0",
        "has_vendor_device": False,
        "domain_type": args.domain_type or ("pv" if pv else "hvm"),
    }
    objects.append(("VM", vm_ref, vm))
    if args.extra_vm:
        extra = dict(vm, uuid=_uuid(rng), name_label=args.name + " " +
                     args.extra_vm, VBDs=[], VIFs=[])
        extra["is_a_template"] = args.extra_vm == "template"
        extra["is_a_snapshot"] = args.extra_vm == "snapshot"
        objects.append(("VM", refs.take(), extra))
    objects.append(("VM_guest_metrics", gm_ref, {
        "uuid": _uuid(rng), "os_version": ({"name": args.os_name} if args.os_name
                                           else {"distro": "debian", "major": "12"}),
        "PV_drivers_up_to_date": True, "live": False}))
    objects.append(("host", host_ref, {
        "uuid": _uuid(rng), "name_label": "xenhost1",
        "hostname": "xenhost1"}))
    objects += vbd_objs + vif_objs + net_objs + vdi_objs
    objects.append(("SR", sr_ref, {
        "uuid": _uuid(rng), "name_label": "Local storage",
        "name_description": "", "VDIs": [o[1] for o in vdi_objs
                                         if o[2].get("SR") == sr_ref],
        "PBDs": [], "type": "lvm", "content_type": "user", "shared": False,
        "other_config": {}, "tags": [], "sm_config": {}, "blobs": {}}))
    for name, ref in other_srs.items():
        objects.append(("SR", ref, {
            "uuid": _uuid(rng), "name_label": name, "name_description": "",
            "VDIs": [o[1] for o in vdi_objs if o[2].get("SR") == ref],
            "PBDs": [], "type": "nfs", "content_type": "user", "shared": True,
            "other_config": {}, "tags": [], "sm_config": {}, "blobs": {}}))
    if iso_sr_ref:
        objects.append(("SR", iso_sr_ref, {
            "uuid": _uuid(rng), "name_label": "ISO library",
            "VDIs": [o[1] for o in vdi_objs if o[2].get("SR") == iso_sr_ref],
            "PBDs": [], "type": "iso", "content_type": "iso", "shared": True,
            "other_config": {}, "sm_config": {}}))
    if args.ova_minimal:
        objects = [(c, r, {k: v for k, v in o.items() if k in MINIMAL_KEYS})
                   for c, r, o in objects if c in MINIMAL_CLASSES]
    header = {
        "version": {"hostname": "xenhost1", "date": "2024-05-14",
                    "product_version": "8.2.1", "product_brand": "XCP-ng",
                    "build_number": "release/yangtze/master/58",
                    "xapi_major": "1", "xapi_minor": "20",
                    "export_vsn": "2"},
        "objects": [{"class": c, "id": r, "snapshot": s}
                    for c, r, s in objects],
    }
    text = _v(header)
    if args.ova_pad:
        # "<value/>" becomes "<value>" + padding + "</value>": 7 more.
        need = args.ova_pad - len(text.encode()) - 7
        if need > 0:
            text = text.replace(
                "<member><name>padding</name><value/></member>",
                "<member><name>padding</name><value>%s</value></member>"
                % ("x" * need), 1)
    if args.ova_doctype:
        text = ('<!DOCTYPE value [<!ENTITY boom "boom">]>\n'
                + text.replace(escape(args.name), "&boom;", 1))
    return text.encode()


# ---------------------------------------------------------------- disks

class Synth:
    """Deterministic disk content: chunk i is zero, half zero or data."""

    def __init__(self, size, seed):
        self.size = size
        self.seed = seed
        self.base = random.Random(seed).randbytes(CHUNK)

    def kind(self, i):
        h = (self.seed * 1000003 + i * 7919 + (i * i) % 13) % 10
        return "zero" if h < 3 else ("half" if h == 3 else "data")

    def chunk(self, i):
        n = min(CHUNK, self.size - i * CHUNK)
        k = self.kind(i)
        if k == "zero":
            return bytes(n)
        r = (i * 4099 + self.seed) % CHUNK
        data = bytearray(self.base[r:] + self.base[:r])
        data[0:16] = struct.pack("<QQ", i, self.seed)
        if k == "half":
            data[CHUNK // 2:] = bytes(CHUNK // 2)
        return bytes(data[:n])


def disk_chunks(d):
    """Yield (index, bytes) for every CHUNK-sized slice of the disk."""
    n = (d["size"] + CHUNK - 1) // CHUNK
    if d["path"] is not None:
        with open(d["path"], "rb", buffering=0) as f:
            for i in range(n):
                want = min(CHUNK, d["size"] - i * CHUNK)
                buf = f.read(want)
                if len(buf) != want:
                    raise SystemExit("mkxva: '%s' is shorter than expected"
                                     % d["path"])
                yield i, buf
        return
    synth = Synth(d["size"], d["pattern"])
    save = open(d["save"], "wb") if d["save"] else None
    try:
        for i in range(n):
            buf = synth.chunk(i)
            if save is not None and buf.count(0) != len(buf):
                save.seek(i * CHUNK)
                save.write(buf)
            yield i, buf
    finally:
        if save is not None:
            save.truncate(d["size"])
            save.close()


ZERO = bytes(CHUNK)


def stream_entries(args, disks):
    """Yield (name, data) entries of the disk part, xapi's way."""
    order = sorted(disks, key=lambda d: d["ref"])
    if args.wrong_order:
        order.reverse()
    csum_n = 0
    for d in order:
        if d["ref"] in args.omit_disk:
            continue
        if args.dir_entries:
            yield d["ref"] + "/", None
        nchunks = (d["size"] + CHUNK - 1) // CHUNK
        number = 0
        since_keepalive = 0
        for i, buf in disk_chunks(d):
            first_or_last = i == 0 or i == nchunks - 1
            if (args.keepalive and not first_or_last
                    and since_keepalive >= args.keepalive):
                # xapi's keep-alive: an empty chunk that consumes a number
                # but no disk space.
                since_keepalive = 0
                yield from chunk_pair(args, d, number, b"", csum_n)
                csum_n += 1
                number += 1
            since_keepalive += 1
            if i == nchunks - 1 and args.pad_last and len(buf) < CHUNK:
                fill = b"\0" if args.pad_last == "zero" else b"\xee"
                buf = buf + fill * (CHUNK - len(buf))
            if first_or_last or buf != ZERO[:len(buf)]:
                if args.oversize_chunk and i == 0 and d is order[0]:
                    buf = buf + b"\x55" * (CHUNK + 512 - len(buf))
                yield from chunk_pair(args, d, number, buf, csum_n)
                csum_n += 1
            number += 1


def chunk_pair(args, d, number, buf, n):
    name = "%s/%0*d" % (d["ref"], args.chunk_width, number)
    kind = args.checksum
    if kind == "mixed":
        kind = "xxhash" if n % 2 == 0 else "sha1"
    if kind == "xxhash":
        ext, text = ".xxhash", "%016X" % xxh64(buf)
    else:
        ext, text = ".checksum", hashlib.sha1(buf).hexdigest()
    if (d["ref"], number) in args.corrupt or (None, number) in args.corrupt:
        text = text[:-1] + ("0" if text[-1] != "0" else "1")
    yield name, buf
    if (d["ref"], number) in args.no_sum or (None, number) in args.no_sum:
        return
    yield name + ext, text.encode()


def mangle(args, entries):
    """Apply --decreasing and --bad-entry to the entry sequence."""
    held = []
    pair = -1
    bad_done = False
    for name, data in entries:
        is_sum = name.endswith(".xxhash") or name.endswith(".checksum")
        is_dir = name.endswith("/")
        if not is_sum and not is_dir:
            pair += 1
            if held and pair == 3:
                # The 2nd chunk pair comes after the 3rd: numbers decrease.
                yield from held
                held = []
        if args.decreasing and pair == 1 and not is_dir:
            held.append((name, data))
            continue
        yield name, data
        if is_sum and args.bad_entry and not bad_done:
            bad_done = True
            for b in args.bad_entry:
                bname, _, bdata = b.partition("=")
                yield bname, (bdata or "x").encode()
    yield from held


# ---------------------------------------------------------------- output

class Output:
    def __init__(self, path, compress):
        self.path = path
        self.raw = (open(path, "wb", buffering=4 << 20) if path != "-"
                    else sys.stdout.buffer)
        self.proc = None
        if compress == "gzip":
            self.out = gzip.GzipFile(fileobj=self.raw, mode="wb",
                                     compresslevel=1, mtime=0)
        elif compress == "zstd":
            self.raw.flush()
            self.proc = subprocess.Popen(["zstd", "-q", "-1", "-c"],
                                         stdin=subprocess.PIPE,
                                         stdout=self.raw)
            self.out = self.proc.stdin
        else:
            self.out = self.raw

    def write(self, b):
        self.out.write(b)

    def close(self):
        if self.out is not self.raw:
            self.out.close()
        if self.proc is not None and self.proc.wait() != 0:
            raise SystemExit("mkxva: zstd failed")
        if self.raw is not sys.stdout.buffer:
            self.raw.close()
        else:
            self.raw.flush()


# ---------------------------------------------------------------- CLI

def parse_disk(text):
    dev, eq, rest = text.partition("=")
    if not eq or not dev:
        raise argparse.ArgumentTypeError(
            "--disk: expected DEV=PATH or DEV=size:SIZE, got '%s'" % text)
    parts = rest.split(",")
    d = {"device": dev, "path": None, "size": None, "pattern": 1,
         "save": None, "ref": None, "bootable": dev.endswith("a"),
         "label": None, "uuid": None}
    src = parts[0]
    if src.startswith("size:"):
        d["size"] = parse_size(src[5:])
    else:
        d["path"] = src
        d["size"] = os.path.getsize(src)
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k == "ref":
            d["ref"] = v
        elif k == "pattern":
            d["pattern"] = int(v)
        elif k == "save":
            d["save"] = v
        elif k == "bootable":
            d["bootable"] = v in ("", "1", "true", "yes")
        elif k == "label":
            d["label"] = v
        elif k == "sr":
            d["sr"] = v
        elif k == "uuid":
            d["uuid"] = v
        elif k == "userdevice":
            d["userdevice"] = v
        elif k == "size" and d["path"] is not None:
            d["size"] = parse_size(v)
        else:
            raise argparse.ArgumentTypeError("--disk: unknown option '%s'" % k)
    if d["label"] is None:
        del d["label"]
    return d


def parse_cd(text):
    dev, eq, rest = text.partition("=")
    c = {"device": dev, "iso": None, "iso_size": 0, "ref": None}
    if eq and rest.startswith("iso:"):
        c["iso"] = rest[4:] or "install.iso"
        c["iso_size"] = 512 << 20
    elif eq and rest not in ("", "empty"):
        raise argparse.ArgumentTypeError(
            "--cd: expected DEV, DEV=empty or DEV=iso:NAME, got '%s'" % text)
    return c


def parse_vif(text):
    dev, eq, rest = text.partition("=")
    if not eq:
        raise argparse.ArgumentTypeError(
            "--vif: expected N=MAC[,bridge=B][,network=NAME], got '%s'"
            % text)
    parts = rest.split(",")
    f = {"device": dev, "mac": parts[0], "bridge": "xenbr0",
         "network": "Pool-wide network associated with eth0"}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k not in ("bridge", "network"):
            raise argparse.ArgumentTypeError("--vif: unknown option '%s'" % k)
        f[k] = v
    return f


def parse_chunk_ref(text):
    """[REF/]NUMBER -> (ref or None, number)."""
    ref, slash, num = text.rpartition("/")
    return (ref if slash else None, int(num))


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="mkxva.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True,
                    help="output file, - for standard output")
    g = ap.add_argument_group("the VM")
    g.add_argument("--name", default="vm1", help="name_label (default: vm1)")
    g.add_argument("--description", default="exported by mkxva.py")
    g.add_argument("--uuid", help="VM uuid (default: derived from --seed)")
    g.add_argument("--snapshot-time", default="19700101T00:00:00Z",
                   help="VM snapshot_time, as xapi writes it (default: the epoch, never)")
    g.add_argument("--memory", type=parse_size, default=1 << 30,
                   help="memory_static_max, e.g. 512M, 2GiB (default: 1GiB)")
    g.add_argument("--vcpus", type=int, default=1, help="(default: 1)")
    b = g.add_mutually_exclusive_group()
    b.add_argument("--pv", dest="boot", action="store_const", const="pv",
                   help="PV guest: HVM_boot_policy '' (the default)")
    b.add_argument("--hvm", dest="boot", action="store_const", const="hvm",
                   help="HVM guest: HVM_boot_policy 'BIOS order'")
    g.add_argument("--uefi", action="store_true",
                   help="HVM_boot_params firmware=uefi")
    g.add_argument("--boot-order", default="cd",
                   help="HVM_boot_params order (default: cd)")
    g.add_argument("--domain-type", help="domain_type (default: pv or hvm)")
    g.add_argument("--bootloader", default="pygrub",
                   help="PV_bootloader (default: pygrub; '' for none)")
    g.add_argument("--bootloader-args", default="")
    g.add_argument("--kernel", default="", help="PV_kernel")
    g.add_argument("--ramdisk", default="", help="PV_ramdisk")
    g.add_argument("--pv-args", default="", help="PV_args (kernel command line)")
    g.add_argument("--disk", type=parse_disk, action="append", default=[],
                   metavar="DEV=SRC[,OPT...]",
                   help="a disk: SRC is a raw image PATH or size:SIZE "
                        "(synthesized); options ref=Ref:N, pattern=SEED, "
                        "save=RAW (write the synthesized image), "
                        "bootable[=0|1], label=NAME, uuid=U, size=SIZE, "
                        "sr=NAME (the SR it lives on; default Local storage), "
                        "userdevice=N (default: from DEV, 0 for xvda)")
    g.add_argument("--cd", type=parse_cd, action="append", default=[],
                   metavar="DEV[=empty|iso:NAME]",
                   help="a CD drive: empty, or with an ISO from an ISO SR "
                        "(no data in the stream)")
    g.add_argument("--vif", type=parse_vif, action="append", default=[],
                   metavar="N=MAC[,bridge=B][,network=NAME]",
                   help="a NIC (default bridge xenbr0, network 'Pool-wide "
                        "network associated with eth0')")
    g.add_argument("--os-name", help="the guest metrics' os_version name "
                   "(default: distro debian, major 12)")
    g.add_argument("--extra-vm", choices=["template", "snapshot"],
                   help="add a second VM object of that kind")
    g.add_argument("--seed", type=int, default=1,
                   help="seed for uuids (default: 1)")
    s = ap.add_argument_group("the stream")
    s.add_argument("--checksum", choices=["xxhash", "sha1", "mixed"],
                   default="xxhash", help="(default: xxhash, as xapi >= 8.2)")
    s.add_argument("--tar-format", choices=["v7", "ustar", "gnu", "pax"],
                   default="v7", help="(default: v7, as ocaml-tar in xapi)")
    s.add_argument("--compress", choices=["none", "gzip", "zstd"],
                   default="none")
    s.add_argument("--keepalive", type=int, default=0, metavar="N",
                   help="insert an empty keep-alive chunk every N chunks")
    s.add_argument("--chunk-width", type=int, default=8,
                   help="digits in chunk numbers (default: 8)")
    s.add_argument("--dir-entries", action="store_true",
                   help="write a 'REF/' folder entry before each disk")
    s.add_argument("--ova-xml-only", action="store_true",
                   help="write only ova.xml (not a tar)")
    s.add_argument("--ova-minimal", action="store_true",
                   help="keep only the objects and fields convoy reads")
    d = ap.add_argument_group("damage, for tests")
    d.add_argument("--corrupt-chunk", dest="corrupt", action="append",
                   type=parse_chunk_ref, default=[], metavar="[REF/]N",
                   help="write a wrong checksum for chunk number N")
    d.add_argument("--no-checksum", dest="no_sum", action="append",
                   type=parse_chunk_ref, default=[], metavar="[REF/]N",
                   help="leave out the checksum entry of chunk N")
    d.add_argument("--decreasing", action="store_true",
                   help="swap the 2nd and 3rd chunks of the first disk")
    d.add_argument("--oversize-chunk", action="store_true",
                   help="make chunk 0 of the first disk 1 MiB + 512 bytes")
    d.add_argument("--bad-entry", action="append", default=[],
                   metavar="NAME[=DATA]",
                   help="add an entry after the first chunk pair")
    d.add_argument("--wrong-order", action="store_true",
                   help="write the disks in reverse string order")
    d.add_argument("--omit-disk", action="append", default=[],
                   metavar="REF", help="leave a disk's chunks out")
    d.add_argument("--pad-last", choices=["zero", "garbage"],
                   help="pad a short last chunk to 1 MiB")
    d.add_argument("--ova-pad", type=parse_size, default=0, metavar="SIZE",
                   help="pad ova.xml to SIZE bytes")
    d.add_argument("--ova-doctype", action="store_true",
                   help="give ova.xml a DOCTYPE with an entity")
    d.add_argument("--first-entry", default="ova.xml", metavar="NAME",
                   help="name the ova.xml entry NAME instead")
    d.add_argument("--truncate", type=int, metavar="BYTES",
                   help="cut the output to BYTES (negative: drop that many "
                        "bytes from the end)")
    d.add_argument("--flip-byte", type=int, metavar="OFFSET",
                   help="invert the byte at OFFSET of the written file "
                        "(negative: from the end), e.g. -8 for a gzip "
                        "trailer's CRC-32, -1 for a zstd frame checksum")
    args = ap.parse_args(argv)
    if args.boot is None:
        args.boot = "pv"

    rng = random.Random(args.seed)
    ova = build_ova(args, args.disk, args.cd, args.vif, rng)
    if args.ova_xml_only:
        with open(args.output, "wb") as f:
            f.write(ova)
        return 0
    out = Output(args.output, args.compress)
    tar = TarWriter(out, args.tar_format)
    tar.entry(args.first_entry, ova)
    for name, data in mangle(args, stream_entries(args, args.disk)):
        if data is None:
            tar.entry(name, b"", directory=True)
        else:
            tar.entry(name, data)
    tar.end()
    out.close()
    if args.truncate is not None and args.output != "-":
        size = os.path.getsize(args.output)
        cut = args.truncate if args.truncate >= 0 else size + args.truncate
        os.truncate(args.output, max(0, min(size, cut)))
    if args.flip_byte is not None and args.output != "-":
        with open(args.output, "r+b") as f:
            f.seek(args.flip_byte, os.SEEK_END if args.flip_byte < 0 else os.SEEK_SET)
            pos = f.tell()
            b = f.read(1)
            f.seek(pos)
            f.write(bytes([b[0] ^ 0xff]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

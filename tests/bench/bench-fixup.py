#!/usr/bin/env python3
"""bench-fixup.py: guest repair of one VM, convoy against virt-v2v, on the
same debootstrapped Debian 12 guest shaped as a Xen PV guest
(tests/tools/mkdebian.sh: partitioned, pygrub-style grub.cfg, /dev/xvda1,
hvc0, no boot code) in the same run, both under TCG.

The guest of issue #24: its initrd is Debian's default MODULES=most one
(mkdebian's initrd-kvm, which holds virtio_blk, virtio_scsi and ext4) and
initramfs.conf says MODULES=most; it is put in place with debugfs, so no
appliance runs before the clocks start.

Measured (wall time, each on its own copy of the image):
  virt-v2v   virt-v2v -i disk IMG -o local -os DIR -of raw (copying
             included, as virt-v2v always copies);
  convoy     convoy guest fixup IMG (in place: no copy), default appliance.
Goal: convoy <= 0.5 x virt-v2v (stretch 0.3 x).  Then the repaired image
boots under TCG (qemu, virtio disk, serial console) to its login: prompt.

With --rebuild also: the Xen-only initrd of mkdebian (xen-blkfront, no
virtio), which convoy must rebuild, with the default appliance (2 vCPUs,
2048 MiB) and with libguestfs's own defaults (1 vCPU, its default
memory), which convoy uses unless --appliance-cpus/--appliance-memory.

Exit 77 (skipped) with a reason when virt-v2v, qemu or the Debian image
cannot be had here."""

import argparse
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time


def skip(why):
    print("bench-fixup: skipped: %s" % why)
    sys.exit(77)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def part_offset(img):
    out = subprocess.run(["sfdisk", "-d", img], check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"1 : start=\s*(\d+), size=\s*(\d+)", out)
    if m is None:
        sys.exit("bench-fixup: no partition 1 in %s" % img)
    return int(m.group(1)), int(m.group(2))


def debugfs_edit(img, work, kver, initrd):
    """Put initrd in as /boot/initrd.img-KVER and MODULES=most in
    initramfs.conf, by debugfs on partition 1 (no appliance)."""
    start, size = part_offset(img)
    part = os.path.join(work, "part.img")
    run(["dd", "if=" + img, "of=" + part, "bs=512", "skip=%d" % start,
         "count=%d" % size, "status=none", "conv=sparse"])
    conf = os.path.join(work, "initramfs.conf")
    run(["debugfs", "-R", "dump /etc/initramfs-tools/initramfs.conf " + conf, part],
        stderr=subprocess.DEVNULL)
    text = open(conf).read()
    open(conf, "w").write(re.sub(r"(?m)^MODULES=.*$", "MODULES=most", text))
    cmds = os.path.join(work, "cmds")
    with open(cmds, "w") as f:
        f.write("cd /boot\nrm initrd.img-%s\nwrite %s initrd.img-%s\n" % (kver, initrd, kver))
        f.write("cd /etc/initramfs-tools\nrm initramfs.conf\nwrite %s initramfs.conf\n" % conf)
    run(["debugfs", "-w", "-f", cmds, part], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    run(["dd", "if=" + part, "of=" + img, "bs=512", "seek=%d" % start, "conv=notrunc,sparse",
         "status=none"])
    os.unlink(part)


def timed(cmd, log, env=None):
    t0 = time.monotonic()
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        sys.stdout.write(open(log).read()[-3000:])
        sys.exit("bench-fixup: %s exited %d (log %s)" % (cmd[0], r.returncode, log))
    return secs


def boots(img, log, timeout):
    """Boot img under TCG to login: on the serial console; seconds or None."""
    qemu = shutil.which("qemu-system-x86_64")
    cmd = [qemu, "-machine", "pc,accel=tcg", "-m", "1024", "-nodefaults", "-display", "none",
           "-vga", "std", "-serial", "stdio", "-drive",
           "file=%s,format=raw,if=virtio,snapshot=on" % img]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.PIPE)
    seen = b""
    found = None
    with open(log, "wb") as f:
        while time.monotonic() - t0 < timeout:
            r, _, _ = select.select([p.stdout], [], [], 5)
            if not r:
                if p.poll() is not None:
                    break
                continue
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            f.write(chunk)
            seen = (seen + chunk)[-4096:]
            if re.search(rb"login: *$", seen) or b"login:" in seen:
                found = time.monotonic() - t0
                break
            if b"Kernel panic" in seen or b"(initramfs)" in seen:
                break
    p.kill()
    p.wait()
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convoy", required=True)
    ap.add_argument("--mkdebian", required=True)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--rebuild", action="store_true",
                    help="also time the Xen-only initrd (rebuilt), 2 vCPUs vs 1")
    ap.add_argument("--boot-timeout", type=int, default=900)
    a = ap.parse_args()
    for tool in ("virt-v2v", "qemu-system-x86_64", "debugfs", "sfdisk"):
        if shutil.which(tool) is None:
            skip("%s is not installed (apt-get install virt-v2v nbdkit qemu-system-x86 e2fsprogs fdisk)" % tool)
    env = dict(os.environ)
    env["LIBGUESTFS_BACKEND"] = "direct"
    env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
    work = tempfile.mkdtemp(prefix="convoy-bench-fixup.", dir=a.workdir)
    try:
        deb = os.path.join(work, "debian")
        r = subprocess.run(["sh", a.mkdebian, deb])
        if r.returncode == 77:
            skip("mkdebian.sh cannot build the Debian guest here")
        if r.returncode != 0:
            sys.exit("bench-fixup: mkdebian.sh failed")
        kver = open(os.path.join(deb, "info")).read().strip().split("=", 1)[1]
        base = os.path.join(work, "guest.raw")
        run(["cp", "--sparse=always", os.path.join(deb, "partitioned.raw"), base])
        debugfs_edit(base, work, kver, os.path.join(deb, "initrd-kvm"))

        # virt-v2v first, then convoy, each on its own copy.
        v2v_in = os.path.join(work, "v2v-in.raw")
        v2v_out = os.path.join(work, "v2v-out")
        os.makedirs(v2v_out)
        run(["cp", "--sparse=always", base, v2v_in])
        v2v = timed(["virt-v2v", "-i", "disk", v2v_in, "-o", "local", "-os", v2v_out,
                     "-of", "raw", "-on", "bench"], os.path.join(work, "v2v.log"), env)
        os.unlink(v2v_in)
        shutil.rmtree(v2v_out, ignore_errors=True)

        img = os.path.join(work, "convoy.raw")
        run(["cp", "--sparse=always", base, img])
        clog = os.path.join(work, "convoy.log")
        conv = timed([a.convoy, "guest", "fixup", img], clog, env)
        out = open(clog).read()
        decisions = [l for l in out.splitlines()
                     if l.startswith("initrd: ") or l.startswith("boot: ")
                     or "timings:" in l]
        ratio = conv / v2v
        print("guest %s: virt-v2v -i disk -o local: %.1f s; convoy guest fixup: %.1f s; "
              "ratio %.2f (goal <= 0.5: %s; stretch 0.3: %s); load average %.1f"
              % (kver, v2v, conv, ratio, "met" if ratio <= 0.5 else "MISSED",
                 "met" if ratio <= 0.3 else "missed", os.getloadavg()[0]))
        for l in decisions:
            print("  convoy: " + l)
        secs = boots(img, os.path.join(work, "boot.log"), a.boot_timeout)
        if secs is None:
            sys.stdout.write(open(os.path.join(work, "boot.log"), "rb").read()[-2000:]
                             .decode("utf-8", "replace"))
            sys.exit("bench-fixup: the guest convoy repaired did not reach login: under TCG")
        print("the guest convoy repaired boots under TCG to login: in %.1f s" % secs)
        os.unlink(img)

        if a.rebuild:
            xen = os.path.join(deb, "partitioned.raw")
            for label, extra in (("libguestfs defaults", []),
                                 ("2 vCPUs, 2048 MiB", ["--appliance-cpus", "2",
                                                        "--appliance-memory", "2048"])):
                img = os.path.join(work, "xen.raw")
                run(["cp", "--sparse=always", xen, img])
                log = os.path.join(work, "xen.log")
                secs = timed([a.convoy, "guest", "fixup"] + extra + [img], log, env)
                tl = [l for l in open(log).read().splitlines()
                      if "timings:" in l or l.startswith("initrd: ")]
                print("Xen-only initrd, rebuilt, appliance %s: %.1f s" % (label, secs))
                for l in tl:
                    print("  convoy: " + l)
                os.unlink(img)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

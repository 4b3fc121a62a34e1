#!/usr/bin/env python3
"""console-wait.py: wait for a pattern on a libvirt domain's serial console.

  console-wait.py [--uri URI] [--timeout S] [--log FILE] [--pattern RE] DOMAIN

Finds the domain's console pty with `virsh ttyconsole` (retrying while the
domain starts), opens it in raw mode and reads until RE (default
'login: *$' at the end of what was read) appears, or the timeout passes.
Everything read goes to FILE.  When the console stays silent for a while,
it sends a carriage return, so that a getty whose prompt was printed before
the pty was opened prints it again.  It stops early on the usual signs of a
guest that will not come up (kernel panic, the initramfs shell, systemd's
emergency mode), which saves minutes under TCG.

Prints "console: PATTERN after N.N s" and exits 0; exits 1 on timeout or an
early stop (the last lines of the console go to stderr), 99 when no console
pty can be found.
"""

import argparse
import os
import re
import select
import subprocess
import sys
import termios
import time
import tty

FATAL = [
    (re.compile(rb"Kernel panic"), "kernel panic"),
    (re.compile(rb"\(initramfs\) ?$"), "dropped to the initramfs shell"),
    (re.compile(rb"Gave up waiting for root"), "the initramfs found no root device"),
    (re.compile(rb"You are in emergency mode"), "systemd emergency mode"),
    (re.compile(rb"Cannot open access to console, the root account is locked"),
     "systemd emergency mode (root locked)"),
    (re.compile(rb"No bootable device"), "the firmware found no boot code"),
]


def ttyconsole(uri, domain, deadline):
    while True:
        r = subprocess.run(["virsh", "-q", "-c", uri, "ttyconsole", domain],
                           capture_output=True, text=True)
        path = r.stdout.strip()
        if r.returncode == 0 and path.startswith("/dev/"):
            return path
        if time.monotonic() > deadline:
            sys.stderr.write("console-wait: no console pty for '%s': %s\n"
                             % (domain, (r.stderr or r.stdout).strip()))
            sys.exit(99)
        time.sleep(0.5)


def tail(buf, n=40):
    lines = buf.decode("utf-8", "replace").replace("\r", "").split("\n")
    return "\n".join(lines[-n:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--uri", default="qemu:///system")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--log", help="write the console output here")
    ap.add_argument("--pattern", default=r"login: *$")
    ap.add_argument("--nudge", type=float, default=10,
                    help="seconds of silence before sending a CR (0: never)")
    ap.add_argument("domain")
    args = ap.parse_args()

    start = time.monotonic()
    deadline = start + args.timeout
    path = ttyconsole(args.uri, args.domain, min(deadline, start + 60))
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    pattern = re.compile(args.pattern.encode(), re.M)
    log = open(args.log, "wb") if args.log else None
    buf = b""
    last = time.monotonic()
    why = None
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                why = "timeout after %.0f s" % args.timeout
                break
            r, _, _ = select.select([fd], [], [], 1.0)
            if r:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    data = b""
                except OSError:
                    # EIO: the other side closed (qemu stopped).
                    why = "the console closed (the domain stopped?)"
                    break
                if data:
                    if log:
                        log.write(data)
                        log.flush()
                    buf += data
                    last = time.monotonic()
                    # Match on what is on screen: drop CRs and escapes.
                    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\r", b"", buf[-8192:])
                    if pattern.search(text):
                        print("console: '%s' after %.1f s"
                              % (args.pattern, time.monotonic() - start))
                        return 0
                    for rx, what in FATAL:
                        if rx.search(text):
                            why = what
                            break
                    if why:
                        # Let the reason's context arrive, then stop.
                        time.sleep(2)
                        try:
                            buf += os.read(fd, 65536)
                        except OSError:
                            pass
                        break
                    continue
            if args.nudge and time.monotonic() - last > args.nudge:
                try:
                    os.write(fd, b"\r")
                except OSError:
                    pass
                last = time.monotonic()
    finally:
        os.close(fd)
        if log:
            log.close()
    sys.stderr.write("console-wait: %s on '%s' (%s); the console's last lines:\n%s\n"
                     % (why, args.domain, path, tail(buf)))
    return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# A byte-for-byte forwarder from a Unix socket LISTEN to a Unix socket
# TARGET, so a test can cut every connection (kill it) and bring the
# endpoint back (start it again), as a network cut would.
# Usage: unixproxy.py LISTEN TARGET  (runs until killed)
# PROXY_RATE=BYTES: forward client-to-target bytes at about that many per
# second (a slow link, so that a test can act in the middle of an upload).
import os
import socket
import sys
import threading
import time

RATE = int(os.environ.get('PROXY_RATE', '0'))


def pump(a, b, rate=0):
    try:
        while True:
            data = a.recv(1 << 16)
            if not data:
                break
            b.sendall(data)
            if rate:
                time.sleep(len(data) / rate)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    listen, target = sys.argv[1], sys.argv[2]
    try:
        os.unlink(listen)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen)
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            u.connect(target)
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, u, RATE), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()


main()

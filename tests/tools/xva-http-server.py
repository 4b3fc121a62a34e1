#!/usr/bin/env python3
"""xva-http-server.py: serve the files of a directory over HTTP(S) on
127.0.0.1 for the xva url: tests, with injected faults.

  --port-file F      write the chosen (free) port to F once listening
  --log F            append one line per GET: "PATH STATUS BYTES-SENT"
  --drop N:BYTES     the first N GETs of a file are cut (connection closed)
                     after BYTES bytes of body
  --fail-at K        the K-th GET (1-based) answers 500
  --tls CERT KEY     HTTPS with this certificate
  --basic USER:FILE  require basic auth (password = first line of FILE)
  --token FILE       require "Authorization: Bearer <first line of FILE>"
  --no-length        no Content-Length: the body ends at connection close

Listens only on 127.0.0.1.  Python 3 standard library only.
"""

import argparse
import base64
import http.server
import os
import ssl
import sys
import threading


def first_line(path):
    with open(path) as f:
        return f.readline().rstrip('\r\n')


class State:
    gets = 0
    lock = threading.Lock()


def make_handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def log_get(self, status, sent, cut=None):
            if args.log:
                with State.lock, open(args.log, 'a') as f:
                    f.write('%s %d %d%s\n' % (self.path, status, sent,
                                              ' cut' if cut is not None and sent >= cut else ''))

        def authorized(self):
            got = self.headers.get('Authorization', '')
            if args.basic:
                user, pwfile = args.basic.split(':', 1)
                want = 'Basic ' + base64.b64encode(
                    ('%s:%s' % (user, first_line(pwfile))).encode()).decode()
                return got == want
            if args.token:
                return got == 'Bearer ' + first_line(args.token)
            return True

        def do_GET(self):
            with State.lock:
                State.gets += 1
                n = State.gets
            if not self.authorized():
                self.send_response(401)
                self.send_header('WWW-Authenticate', 'Basic realm="xva"')
                self.send_header('Content-Length', '0')
                self.end_headers()
                self.log_get(401, 0)
                return
            if args.fail_at and n == args.fail_at:
                body = b'injected failure\n'
                self.send_response(500)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.log_get(500, 0)
                return
            name = os.path.basename(self.path.split('?', 1)[0])
            path = os.path.join(args.root, name)
            if not name or not os.path.isfile(path):
                self.send_response(404)
                self.send_header('Content-Length', '0')
                self.end_headers()
                self.log_get(404, 0)
                return
            size = os.path.getsize(path)
            cut = None
            if args.drop:
                count, nbytes = args.drop.split(':')
                with State.lock:
                    done = State.drops.get(name, 0)
                    if done < int(count):
                        State.drops[name] = done + 1
                        cut = int(nbytes)
            self.send_response(200)
            if args.no_length:
                self.send_header('Connection', 'close')
                self.close_connection = True
            else:
                self.send_header('Content-Length', str(size))
            st = os.stat(path)
            self.send_header('ETag', '"%x-%x"' % (st.st_size, int(st.st_mtime)))
            self.end_headers()
            sent = 0
            try:
                with open(path, 'rb') as f:
                    while True:
                        want = 65536
                        if cut is not None:
                            want = min(want, cut - sent)
                            if want <= 0:
                                break
                        buf = f.read(want)
                        if not buf:
                            break
                        self.wfile.write(buf)
                        sent += len(buf)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.log_get(200, sent, cut)
            if cut is not None:
                self.close_connection = True
                try:
                    self.wfile.flush()
                    self.connection.shutdown(2)
                except OSError:
                    pass

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('root')
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--log')
    ap.add_argument('--drop')
    ap.add_argument('--fail-at', type=int, default=0)
    ap.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
    ap.add_argument('--basic')
    ap.add_argument('--token')
    ap.add_argument('--no-length', action='store_true')
    args = ap.parse_args()
    State.drops = {}

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # clients that hang up early are what the tests do

    srv = Server(('127.0.0.1', 0), make_handler(args))
    srv.daemon_threads = True
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())

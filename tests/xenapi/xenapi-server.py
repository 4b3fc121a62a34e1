#!/usr/bin/env python3
"""xenapi-server.py: a XenAPI TEST DOUBLE for convoy's xenserver source.

Not a XenServer: it speaks just the XML-RPC calls and HTTP handlers the
driver uses, with the wire format of xen-api doc/content/xen-api/
wire-protocol.md (every result a struct {Status, Value | ErrorDescription}),
and serves GET /export from XVA files made by tests/tools/mkxva.py.  The
VM, VBD, VDI, VIF, network and SR records are the snapshots recorded in
each XVA's ova.xml, so the records and the export agree.  See
docs/internals/xenapi-test-double.md for what it does not cover.

  xenapi-server.py --port-file F --user root --password-file PW
                   --vm XVA[:POWER] ... [options]

  --vm XVA[:POWER]     a VM backed by this XVA; POWER Running (default) or
                       Halted
  --state F            JSON written after every change: power states and
                       the list of calls (method names, never arguments)
  --slave-of ADDR      a pool member: login fails with HOST_IS_SLAVE ADDR
  --export-redirect B  GET /export and /export_raw_vdi answer 302 to B + the
                       same path+query
  --drop-export N:B    the first N /export bodies are cut after B bytes
  --slow-ms MS         sleep MS between 64 KiB blocks of an export or raw VDI
  --shutdown-hangs S   VM.clean_shutdown waits S seconds and leaves the
                       VM running (a guest that ignores the request)
  --tls CERT KEY       HTTPS with this certificate

Listens on 127.0.0.1 only.  Python 3 standard library only (zstd for
use_compression=zstd needs the zstd program).
"""

import argparse
import http.server
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
import xmlrpc.client

LOCK = threading.Lock()


def load_ova(path):
    with tarfile.open(path, 'r|*') as t:
        for m in t:
            if m.name == 'ova.xml':
                return t.extractfile(m).read().decode()
    raise SystemExit('%s: no ova.xml' % path)


def fix_ints(v):
    """XenAPI sends int64 as strings; xmlrpc.client cannot send big ints."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return {k: fix_ints(x) for k, x in v.items()}
    if isinstance(v, list):
        return [fix_ints(x) for x in v]
    return v


class Pool:
    def __init__(self, args):
        self.args = args
        self.sessions = set()
        self.expire_count = 0
        self.calls = []
        self.records = {}      # class -> ref -> record
        self.xva = {}          # VM ref -> path
        self.raw = {}          # VDI uuid -> (xva path, ref in the XVA, size)
        self.password = open(args.password_file).readline().rstrip('\r\n')
        for i, spec in enumerate(args.vm):
            path, _, power = spec.partition(':')
            self.add_vm(i, path, power or 'Running')

    def add_vm(self, i, path, power):
        ova = load_ova(path)
        doc = '<methodResponse><params><param>%s</param></params></methodResponse>' % ova
        (top,), _ = xmlrpc.client.loads(doc)
        prefix = 'OpaqueRef:vm%d-' % i

        def ref(r):
            return r if r in ('OpaqueRef:NULL', '') else prefix + r

        def fix_refs(v):
            if isinstance(v, str) and v.startswith('Ref:'):
                return ref(v)
            if isinstance(v, list):
                return [fix_refs(x) for x in v]
            if isinstance(v, dict):
                return {k: fix_refs(x) for k, x in v.items()}
            return v

        for o in top['objects']:
            rec = fix_ints(fix_refs(o['snapshot']))
            r = ref(o['id'])
            if o['class'] == 'VDI':
                # A pool's VDI uuids are unique: two exports made with the
                # same mkxva --seed would alias each other's disks.
                if rec.get('uuid') in self.raw and self.raw[rec['uuid']][0] != path:
                    sys.exit('xenapi-server: VDI %s is in both %s and %s; give mkxva a different --seed'
                             % (rec['uuid'], self.raw[rec['uuid']][0], path))
                self.raw[rec.get('uuid')] = (path, o['id'],
                                             int(rec.get('virtual_size', '0')))
            self.records.setdefault(o['class'], {})[r] = rec
            if o['class'] == 'VM' and not rec.get('is_a_template') \
                    and not rec.get('is_a_snapshot'):
                rec['power_state'] = power
                self.xva[r] = path

    def save(self):
        if not self.args.state:
            return
        st = {'power': {rec['name_label']: rec['power_state']
                        for r, rec in self.records.get('VM', {}).items()
                        if r in self.xva},
              'calls': self.calls}
        tmp = self.args.state + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(st, f, indent=1)
        os.rename(tmp, self.args.state)

    # -- XML-RPC --

    def call(self, method, params):
        with LOCK:
            self.calls.append(method)
            self.save()
        if method == 'session.login_with_password':
            if self.args.slave_of:
                return fail('HOST_IS_SLAVE', self.args.slave_of)
            user, pw = params[0], params[1]
            if user != self.args.user or pw != self.password:
                return fail('SESSION_AUTHENTICATION_FAILED', user,
                            'Authentication failure')
            s = 'OpaqueRef:session-' + secrets.token_hex(8)
            with LOCK:
                self.sessions.add(s)
            return ok(s)
        if self.args.expire_sessions:
            # every N calls, every session expires (as after a pool
            # master's restart)
            with LOCK:
                self.expire_count += 1
                if self.expire_count % self.args.expire_sessions == 0:
                    self.sessions.clear()
                    self.calls.append('sessions expired')
        if not params or params[0] not in self.sessions:
            return fail('SESSION_INVALID', params[0] if params else '')
        if method == 'session.logout':
            with LOCK:
                self.sessions.discard(params[0])
            return ok('')
        cls, _, op = method.partition('.')
        table = self.records.get(cls, {})
        if op == 'get_record':
            rec = table.get(params[1])
            return ok(rec) if rec is not None else fail('HANDLE_INVALID', cls, params[1])
        if op == 'get_all':
            return ok(list(table))
        if op == 'get_by_uuid':
            for r, rec in table.items():
                if rec.get('uuid') == params[1]:
                    return ok(r)
            return fail('UUID_INVALID', cls, params[1])
        if op == 'get_by_name_label':
            return ok([r for r, rec in table.items()
                       if rec.get('name_label') == params[1]])
        if cls == 'VM' and op in ('get_power_state', 'clean_shutdown',
                                  'hard_shutdown'):
            rec = table.get(params[1])
            if rec is None:
                return fail('HANDLE_INVALID', cls, params[1])
            if op == 'get_power_state':
                return ok(rec['power_state'])
            if rec['power_state'] == 'Halted':
                return fail('VM_BAD_POWER_STATE', params[1], 'running', 'halted')
            if op == 'clean_shutdown' and self.args.shutdown_hangs:
                time.sleep(self.args.shutdown_hangs)
                return fail('VM_SHUTDOWN_TIMEOUT', params[1])
            with LOCK:
                rec['power_state'] = 'Halted'
                self.save()
            return ok('')
        return fail('MESSAGE_METHOD_UNKNOWN', method)


def ok(v):
    return {'Status': 'Success', 'Value': v}


def fail(*desc):
    return {'Status': 'Failure', 'ErrorDescription': list(desc)}


def make_handler(pool, args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def simple(self, code, body=b'', extra=()):
            self.send_response(code)
            for k, v in extra:
                self.send_header(k, v)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get('Content-Length', '0'))
            params, method = xmlrpc.client.loads(self.rfile.read(n))
            res = pool.call(method, list(params))
            body = xmlrpc.client.dumps((res,), methodresponse=True,
                                       allow_none=True).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'text/xml')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == '/export_raw_vdi' and args.no_raw_vdi:
                with LOCK:
                    pool.calls.append('GET /export_raw_vdi 404')
                    pool.save()
                return self.simple(404)
            if u.path == '/export_raw_vdi':
                if args.export_redirect:
                    with LOCK:
                        pool.calls.append('GET /export_raw_vdi 302')
                        pool.save()
                    return self.simple(302, extra=[('Location', args.export_redirect + self.path)])
                return self.raw_vdi(q)
            if u.path != '/export':
                return self.simple(404)
            with LOCK:
                pool.calls.append('GET /export' + (' zstd' if q.get('use_compression') == 'zstd' else ''))
                pool.save()
            if args.export_redirect:
                return self.simple(302, extra=[('Location', args.export_redirect + self.path)])
            if q.get('session_id') not in pool.sessions and not args.trust_sessions:
                return self.simple(401)
            ref = None
            for r, rec in pool.records.get('VM', {}).items():
                if rec.get('uuid') == q.get('uuid') and r in pool.xva:
                    ref = r
            if ref is None:
                return self.simple(404)
            if pool.records['VM'][ref]['power_state'] != 'Halted':
                return self.simple(500, b'VM_BAD_POWER_STATE\n')
            cut = None
            if args.drop_export:
                count, nbytes = args.drop_export.split(':')
                with LOCK:
                    if pool.drops < int(count):
                        pool.drops += 1
                        cut = int(nbytes)
            # No Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Connection', 'close')
            self.end_headers()
            self.close_connection = True
            src = open(pool.xva[ref], 'rb')
            proc = None
            if q.get('use_compression') == 'zstd' and shutil.which('zstd'):
                proc = subprocess.Popen(['zstd', '-q', '-c'], stdin=src,
                                        stdout=subprocess.PIPE)
                src.close()
                src = proc.stdout
            sent = 0
            try:
                while True:
                    want = 65536 if cut is None else min(65536, cut - sent)
                    if want <= 0:
                        break
                    buf = src.read(want)
                    if not buf:
                        break
                    self.wfile.write(buf)
                    sent += len(buf)
                    if args.slow_ms:
                        time.sleep(args.slow_ms / 1000.0)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                src.close()
                if proc is not None:
                    proc.kill()
                    proc.wait()
            with LOCK:
                pool.calls.append('export sent %d%s' % (sent, ' (cut)' if cut is not None else ''))
                pool.save()

        def raw_vdi(self, q):
            """The VDI's content rebuilt from its XVA chunks, with a length."""
            with LOCK:
                pool.calls.append('GET /export_raw_vdi')
                pool.save()
            if q.get('session_id') not in pool.sessions and not args.trust_sessions:
                return self.simple(401)
            if q.get('vdi') not in pool.raw or q.get('format') != 'raw':
                return self.simple(404)
            path, ref, size = pool.raw[q['vdi']]
            cut = None
            if args.drop_export:
                count, nbytes = args.drop_export.split(':')
                with LOCK:
                    if pool.drops < int(count):
                        pool.drops += 1
                        cut = int(nbytes)
            self.send_response(200)
            self.send_header('Content-Length', str(size))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.close_connection = True
            pos = 0
            sent = 0

            def out(buf):
                nonlocal sent
                if cut is not None and sent + len(buf) > cut:
                    buf = buf[:cut - sent]
                for i in range(0, len(buf), 65536):
                    self.wfile.write(buf[i:i + 65536])
                    if args.slow_ms:
                        time.sleep(args.slow_ms / 1000.0)
                sent += len(buf)
                if cut is not None and sent >= cut:
                    with LOCK:
                        pool.calls.append('raw sent %d (cut)' % sent)
                        pool.save()
                    return False
                return True

            try:
                with tarfile.open(path, 'r|*') as t:
                    # An empty chunk is xapi's keep-alive: it takes a
                    # number but no disk space, so the chunks after it sit
                    # one MiB lower than their numbers say.
                    keepalives = 0
                    for m in t:
                        name = m.name
                        if not name.startswith(ref + '/') or '.' in name[len(ref) + 1:]:
                            continue
                        if m.size == 0:
                            keepalives += 1
                            continue
                        off = (int(name[len(ref) + 1:]) - keepalives) * 1024 * 1024
                        while pos < off:
                            n = min(off - pos, 1 << 20)
                            if not out(b'\0' * n):
                                return
                            pos += n
                        data = t.extractfile(m).read()
                        if not out(data):
                            return
                        pos += len(data)
                while pos < size:
                    n = min(size - pos, 1 << 20)
                    if not out(b'\0' * n):
                        return
                    pos += n
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--user', default='root')
    ap.add_argument('--password-file', required=True)
    ap.add_argument('--vm', action='append', default=[])
    ap.add_argument('--state')
    ap.add_argument('--slave-of')
    ap.add_argument('--export-redirect')
    ap.add_argument('--trust-sessions', action='store_true',
                    help='serve /export for any session id (the redirect '
                    'target of another instance, which holds the sessions)')
    ap.add_argument('--drop-export')
    ap.add_argument('--slow-ms', type=int, default=0)
    ap.add_argument('--expire-sessions', type=int, default=0, metavar='N',
                    help='every N calls, drop every session')
    ap.add_argument('--no-raw-vdi', action='store_true',
                    help='answer 404 on /export_raw_vdi (an older host)')
    ap.add_argument('--shutdown-hangs', type=int, default=0)
    ap.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
    args = ap.parse_args()

    pool = Pool(args)
    pool.drops = 0
    pool.save()
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # clients that hang up early are what the tests do

    srv = Server(('127.0.0.1', 0), make_handler(pool, args))
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

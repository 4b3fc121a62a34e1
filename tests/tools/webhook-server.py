#!/usr/bin/env python3
"""webhook-server.py DIR: a webhook receiver for tests, on 127.0.0.1 and a
free port (written to DIR/port).  Every POST is saved as DIR/N.json (the
body) and DIR/N.headers; answers 200, or 500 for the first --fail
requests.  Stops after --seconds (default 120)."""
import argparse
import http.server
import os
import threading

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--fail", type=int, default=0)
ap.add_argument("--seconds", type=int, default=120)
a = ap.parse_args()
count = [0]


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = count[0] = count[0] + 1
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(a.dir, "%d.json" % n), "wb") as f:
            f.write(body)
        with open(os.path.join(a.dir, "%d.headers" % n), "w") as f:
            f.write("%s %s\n%s" % (self.command, self.path, self.headers))
        code = 500 if n <= a.fail else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(a.dir, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(a.dir, "port.tmp"), os.path.join(a.dir, "port"))
threading.Timer(a.seconds, srv.shutdown).start()
srv.serve_forever()

"""A stand-in for kube-apiserver's ``/readyz``: HTTPS on 127.0.0.1, 200 or 500 by a file.

Run inside a test's namespace: ``python readyz_stub.py PORT CERT KEY MODE_FILE``. Each GET
reads MODE_FILE: ``ok`` answers 200 ("ok"), ``hang`` never answers (a wedged apiserver that
still accepts connections), anything else 500 (an apiserver whose etcd is down). Stdlib only, so it starts in a fraction of a second.
"""

from __future__ import annotations

import http.server
import pathlib
import ssl
import sys
import time


def main() -> None:
    port, cert, key, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], pathlib.Path(sys.argv[4])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state = mode.read_text().strip()
            if state == "hang":
                time.sleep(3600)
            ok = state == "ok"
            body = b"ok" if ok else b"[-]etcd failed: reason withheld\nreadyz check failed"
            self.send_response(200 if ok else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The benchmark's local link origin, on loopback only: `GET /links/{domain}/o{n}`
answers 200 with a generated record for any n, anything else 404. HTTP/1.1
with keep-alive, a thread per connection, so Viceroy can pool connections.

Usage: origin.py PORT"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Links(BaseHTTPRequestHandler):
    """Answers `/links/{domain}/{slug}`."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (the standard library's name)
        parts = self.path.split("/")
        if len(parts) == 4 and parts[1] == "links" and parts[3].startswith("o") and parts[3][1:].isdigit():
            status, body = 200, json.dumps({"url": f"https://example.com/o/{parts[3][1:]}", "tags": ["bench"]})
        else:
            status, body = 404, '{"error":"not found"}'
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        """Quiet: one line per request would cost more than the answer."""


if __name__ == "__main__":
    # The default listen backlog (5) drops connections under 16-way load.
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Links)
    server.daemon_threads = True
    print(f"origin listening on http://127.0.0.1:{sys.argv[1]}/", flush=True)
    server.serve_forever()

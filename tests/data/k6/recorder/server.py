"""A tiny loopback HTTP service for recording k6 fixtures.

Paths: /api/items (JSON list), /api/items/<id> (one item), /api/flaky (500 on every
fifth call), /healthz. `--burn-ms` spends that much CPU per request, so CPU limits show.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLAKY_CALLS = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    burn_s = 0.0

    def log_message(self, format: str, *args: object) -> None:  # keep the output quiet
        pass

    def do_GET(self) -> None:  # the name http.server looks for
        deadline = time.thread_time() + self.burn_s
        while time.thread_time() < deadline:
            pass
        status, body = 200, {"ok": True}
        if self.path == "/api/items":
            body = [{"id": i, "name": f"item-{i}"} for i in range(20)]
        elif self.path.startswith("/api/items/"):
            body = {"id": self.path.rsplit("/", 1)[-1], "name": "item"}
        elif self.path == "/api/flaky":
            if next(FLAKY_CALLS) % 5 == 0:
                status, body = 500, {"error": "flaky"}
        elif self.path != "/healthz":
            status, body = 404, {"error": "not found"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--burn-ms", type=float, default=0.0)
    args = parser.parse_args()
    Handler.burn_s = args.burn_ms / 1000
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()

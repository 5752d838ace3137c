"""A small HTTP service for the workflow's tests: answers, spends a fixed CPU time per
request or serves a fixed number of requests at once for a fixed time each, allocates
memory at start or on request, crashes after some requests, stays unhealthy, or burns a
core, as its environment says."""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

HEALTHY = os.environ.get("HEALTHY", "1") == "1"
HELD = []
# CPU time each GET /work spends, whatever the CPU limit: a service of known cost.
COST_NS = int(float(os.environ.get("COST_MS", "2")) * 1e6)
# Memory taken at start (a runtime too big for a small tier), and requests served before
# the process dies (a runtime that crashes mid-load).
START_MB = int(os.environ.get("ALLOC_AT_START_MB", "0"))
CRASH_AFTER = int(os.environ.get("CRASH_AFTER", "0"))
SERVED = [0]
# With CONCURRENCY, GET /work is served at most CONCURRENCY at once, each for SERVICE_MS
# of wall time with the CPU idle (a pool of connections to a slow upstream): its capacity
# is CONCURRENCY / SERVICE_MS whatever the CPU limit.
CONCURRENCY_BOUND = "CONCURRENCY" in os.environ
SLOTS = threading.BoundedSemaphore(int(os.environ.get("CONCURRENCY", "4")))
SERVICE_S = float(os.environ.get("SERVICE_MS", "20")) / 1000


def spend_cpu(nanoseconds):
    """Spin until this thread has used `nanoseconds` of CPU time (not wall time, so a
    throttled container takes longer but does the same work)."""
    until = time.thread_time_ns() + nanoseconds
    while time.thread_time_ns() < until:
        pass


def burn():
    """Spin on one core for as long as the service runs (BURN=1)."""
    while True:
        pass


if os.environ.get("BURN") == "1":
    threading.Thread(target=burn, daemon=True).start()
if START_MB:
    print(f"allocating {START_MB} MiB at start", flush=True)
    HELD.append(b"\x01" * (START_MB * 1024 * 1024))  # filled, so every page is touched


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if CRASH_AFTER and url.path != "/healthz":
            SERVED[0] += 1
            if SERVED[0] > CRASH_AFTER:
                print(f"crashing after {CRASH_AFTER} requests", flush=True)
                os._exit(3)
        if url.path == "/healthz":
            self.reply(200 if HEALTHY else 503, {"healthy": HEALTHY})
        elif url.path == "/work" and CONCURRENCY_BOUND:
            with SLOTS:
                time.sleep(SERVICE_S)
            self.reply(200, {"service_ms": SERVICE_S * 1000})
        elif url.path == "/work":
            spend_cpu(COST_NS)
            self.reply(200, {"cost_ms": COST_NS / 1e6})
        elif url.path == "/alloc":
            megabytes = int(parse_qs(url.query).get("mb", ["1"])[0])
            HELD.append(bytearray(megabytes * 1024 * 1024))
            self.reply(200, {"held_mb": sum(len(b) for b in HELD) // 2**20})
        else:
            self.reply(200, {"path": url.path})


print(f"listening on 127.0.0.1:{os.environ['PORT']} (healthy={HEALTHY})", flush=True)


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # k6's VUs connect at once: none is refused
    daemon_threads = True


Server(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()

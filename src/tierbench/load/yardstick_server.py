"""The yardstick's service: a fixed HTTP/1.1 keep-alive server, the same on every host.

It answers every request head (a GET, with no body) with the same small 200, after the
same fixed piece of work a web request does: it builds a document of ROWS small records
from the request's path and serialises it to JSON. Loopback TCP, the event loop, request
parsing and that work: what a runtime spends its CPU on, in a fixed amount.

Standard library only, so it runs on any Python 3.8+ as it is (the yardstick runs it in a
container of the reference stack's base image):

    python3 yardstick_server.py PORT [PORT ...]

One process per port, each bound to 127.0.0.1 and single-threaded; each load generator
connection goes to one port, so the work is spread evenly over the processes.
"""

import asyncio
import json
import os
import sys

ROWS = 400
RESPONSE = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
)


def render(path: str) -> int:
    """The fixed work of one request: a document of ROWS records, as JSON."""
    rows = [
        {"id": index, "name": f"item-{index}", "path": path, "even": index % 2 == 0}
        for index in range(ROWS)
    ]
    return len(json.dumps({"path": path, "rows": rows}, separators=(",", ":")))


class Yardstick(asyncio.Protocol):
    """Keep-alive HTTP/1.1: every complete request head gets the fixed 200, in order."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        replies = []
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            request_line = head.split(b"\r\n", 1)[0].split(b" ")
            render(request_line[1].decode("latin-1") if len(request_line) > 1 else "/")
            replies.append(RESPONSE)
        if replies:
            self.transport.write(b"".join(replies))


async def serve(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Yardstick, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


def main(ports):
    """Serve each port in a process of its own (the first in this one)."""
    for port in ports[1:]:
        if os.fork() == 0:
            asyncio.run(serve(port))
            return
    asyncio.run(serve(ports[0]))


if __name__ == "__main__":
    if len(sys.argv) < 2 or not all(arg.isdigit() for arg in sys.argv[1:]):
        sys.exit("usage: python3 yardstick_server.py PORT [PORT ...]")
    main([int(arg) for arg in sys.argv[1:]])

"""Reading k6 `--out json` files (plain or gzip) in chunks that never split a request."""

from __future__ import annotations

import gzip
import queue
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# Where each HTTP request's run of Points starts.
REQUEST_ANCHOR = b'\n{"metric":"http_reqs","type":"Point"'


class K6FormatError(ValueError):
    """A k6 JSON file that cannot be read: names the file and, where known, the line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(
            f"{where}: {problem}. Expected k6 `--out json` NDJSON (plain or .gz); "
            "rerun k6 or the cell to get a complete file."
        )
        self.path, self.line = Path(path), line


def open_k6(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if is_gzip else path.open("rb")  # type: ignore[return-value]


def prefetched(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Read (and decompress) the next chunk in a thread while polars works on this one."""
    ready: queue.Queue[tuple[bytes | None, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item: tuple[bytes | None, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not hand_over((chunk, None)):
                    return
            hand_over((None, None))
        except BaseException as error:  # handed to the consumer, raised there
            hand_over((None, error))

    reader = threading.Thread(target=produce, name="k6-reader", daemon=True)
    reader.start()
    try:
        while True:
            chunk, error = ready.get()
            if error is not None:
                raise error
            if chunk is None:
                return
            yield chunk
    finally:
        stop.set()
        reader.join()


def k6_chunks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """Yield whole lines, each chunk ending before a request's first Point so that no
    request's Points are split between chunks."""
    carry = b""
    try:
        with open_k6(path) as handle:
            while True:
                block = handle.read(chunk_bytes)
                if not block:
                    break
                buffer = carry + block
                cut = buffer.rfind(REQUEST_ANCHOR)
                if cut < 0 and len(buffer) > 4 * chunk_bytes:
                    # Long stretches without requests (only other samples) still flow.
                    cut = buffer.rfind(b"\n")
                if cut < 0:
                    carry = buffer
                    continue
                yield buffer[: cut + 1]
                carry = buffer[cut + 1 :]
    except (EOFError, OSError, zlib.error) as error:
        raise K6FormatError(path, None, f"cannot read the file ({error})") from error
    if carry:
        yield carry

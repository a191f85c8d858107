"""A loopback server whose answer is a function writing raw bytes: floods, trickles, silence.

Each test gives the bytes to send as a `Script` (a callable given the socket's write function).
Every script stops on its own: when the client hangs up (the write fails) or after `MAX_SECONDS`,
and the server is shut down when the `with` block ends.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time
import zlib
from collections.abc import Callable, Iterator

MAX_SECONDS = 30.0
Write = Callable[[bytes], None]
Script = Callable[[Write], None]


class RawScriptServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script: Script) -> None:
        self.script = script
        self.hits = 0
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> RawScriptServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(socketserver.StreamRequestHandler):
    server: RawScriptServer

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        self.server.hits += 1
        with contextlib.suppress(OSError):  # the client hung up: the script is over
            self.server.script(self.wfile.write)


def head(status: str = "200 OK", length: int | None = None, **headers: str) -> bytes:
    """A response head; keyword names become header names (`content_type` → Content-Type)."""
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{k.replace('_', '-').title()}: {v}" for k, v in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def until_hang_up(write: Write, data: bytes, *, pause: float = 0.0) -> None:
    """Send `data` again and again until the client hangs up (or `MAX_SECONDS` pass)."""
    end = time.monotonic() + MAX_SECONDS
    while time.monotonic() < end:
        write(data)
        if pause:
            time.sleep(pause)


def trickle(write: Write, data: bytes, per_second: float = 5.0) -> None:
    """One byte at a time, `per_second` bytes a second (slowloris)."""
    end = time.monotonic() + MAX_SECONDS
    for i in range(len(data)):
        if time.monotonic() > end:
            return
        write(data[i : i + 1])
        time.sleep(1.0 / per_second)


def gzip_bomb(inflated: int) -> bytes:
    """A gzip body of zeros that inflates to `inflated` bytes (about 1,000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(inflated // len(block))]
    return b"".join([*parts, compressor.flush()])


@contextlib.contextmanager
def serving(script: Script) -> Iterator[RawScriptServer]:
    with RawScriptServer(script) as server:
        yield server

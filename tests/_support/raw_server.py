"""The one scriptable loopback server of the tests: it sends whatever bytes a script says.

The emulator speaks correct HTTP; a broken proxy or a hostile host does not. `RawServer` accepts
connections on 127.0.0.1, reads each request (head and `Content-Length` body), keeps it in
`requests`, and hands it to a script that writes any bytes it likes, slowly or not at all::

    with RawServer(reply(b"HTTP/1.1 200 OK\\r\\nbroken header line\\r\\n\\r\\n")) as server:
        client = AzureLlamaClient(server.url, api_key=KEY)

A script is `script(request, conn)`: `request` is the raw request bytes, `conn` a `Connection`
(`write`, `send`, `pause`, `next_request`, `close`). Pass one script for every connection, or a
sequence: connection `n` runs `scripts[min(n, len - 1)]`. The connection closes when the script
returns; a script that keeps it alive reads the next request with `conn.next_request()` (see
`responder`, a keep-alive HTTP/1.1 server made of a function). `answer(...)` swaps in one
canned response for every later connection (the fault suite's shared `raw_server` fixture).

What the tests script with it: canned replies (`reply`, `http_response`, `chat_completion`),
SSE streams and bad chunked framing (`sse_head`, `sse_event`, `chunked`, `stream_events`),
delays and cut-offs (`reply(..., pause=)`, a script that returns early), floods
(`until_hang_up`), slowloris (`trickle`), gzip bombs (`gzip_bomb`), silence (`conn.pause`), and
a "write-only" script given just a write function (`serving`, `Write`).

Bounded: at most `max_connections` handled at once (more are closed unanswered), a request that
does not arrive within `read_timeout` is dropped, the server stops accepting after `lifetime`
seconds even if the test forgets to stop it (None for a session fixture's), and stopping it
wakes every paused script and closes every open connection (a script still writing gets an error
and ends).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

__all__ = [
    "MAX_SECONDS",
    "Connection",
    "RawServer",
    "Request",
    "Script",
    "Write",
    "chat_completion",
    "chunked",
    "closed_port_url",
    "delta",
    "gzip_bomb",
    "head",
    "http_response",
    "reply",
    "responder",
    "serving",
    "sse_event",
    "sse_head",
    "stream_events",
    "trickle",
    "until_hang_up",
]

_MAX_HEAD = 64 * 1024
# How long a flood or a trickle goes on when the client never hangs up.
MAX_SECONDS = 30.0


class Connection:
    """The server side of one accepted connection, as a script sees it."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self._sock = sock
        self._stopping = stopping
        self.closed = False

    def write(self, data: bytes) -> bool:
        """Send bytes; False once the peer has gone (a script may stop there)."""
        try:
            self.send(data)
        except OSError:
            return False
        return True

    def send(self, data: bytes) -> None:
        """Send bytes; raises `OSError` once the peer has gone (or the server stopped)."""
        if self.closed:
            raise ConnectionAbortedError("the connection is closed")
        try:
            self._sock.sendall(data)
        except OSError:
            self.closed = True
            raise

    def pause(self, seconds: float) -> bool:
        """Sleep; returns False (early) when the server is stopping."""
        return not self._stopping.wait(seconds)

    def next_request(self) -> bytes | None:
        """The next request on this (keep-alive) connection; None once the peer or the server
        closes it."""
        try:
            return _read_request(self._sock, self._stopping)
        except OSError:
            return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()


Script = Callable[[bytes, Connection], None]
Write = Callable[[bytes], object]


class RawServer:
    """A loopback server whose replies are scripts; a context manager (see the module doc)."""

    def __init__(
        self,
        script: Script | Sequence[Script] | None = None,
        *,
        max_connections: int = 32,
        read_timeout: float = 5.0,
        lifetime: float | None = 60.0,
    ) -> None:
        self._scripts: list[Script] = [reply()] if script is None else _scripts(script)
        self.requests: list[bytes] = []
        self._read_timeout = read_timeout
        self._lifetime = lifetime
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._open: set[Connection] = set()
        self._count = 0
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=max(max_connections, 128))
        self._listener.settimeout(0.1)
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.requests)

    def answer(self, body: bytes, content_type: str, status: str = "200 OK") -> None:
        """From now on answer every connection with this one response; `requests` starts over."""
        response = http_response(status, body, content_type=content_type)
        with self._lock:
            self._scripts = [reply(response)]
            self._count = 0
            self.requests.clear()

    def __enter__(self) -> RawServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)
        self._listener.close()
        with self._lock:
            still_open = list(self._open)
        for conn in still_open:  # wakes a script blocked in a write or a read
            conn.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    def _accept_loop(self) -> None:
        deadline = threading.Timer(self._lifetime or 0.0, self._stopping.set)
        deadline.daemon = True
        if self._lifetime is not None:
            deadline.start()
        try:
            while not self._stopping.is_set():
                try:
                    sock, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not self._slots.acquire(blocking=False):
                    sock.close()
                    continue
                with self._lock:
                    script = self._scripts[min(self._count, len(self._scripts) - 1)]
                    self._count += 1
                thread = threading.Thread(target=self._serve, args=(sock, script), daemon=True)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()
        finally:
            deadline.cancel()

    def _serve(self, sock: socket.socket, script: Script) -> None:
        conn = Connection(sock, self._stopping)
        with self._lock:
            self._open.add(conn)
        try:
            sock.settimeout(self._read_timeout)
            request = _read_request(sock)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            sock.settimeout(None)
            script(request, conn)
        except OSError:
            pass  # the peer went away: nothing more to send
        finally:
            conn.close()
            with self._lock:
                self._open.discard(conn)
            self._slots.release()


def _scripts(script: Script | Sequence[Script]) -> list[Script]:
    scripts = [script] if callable(script) else list(script)
    if not scripts:
        raise ValueError("RawServer needs at least one script")
    return scripts


def _read_request(sock: socket.socket, stopping: threading.Event | None = None) -> bytes | None:
    """One request (head and `Content-Length` body). With `stopping`, waits for it until the
    server stops (a keep-alive connection idling in the client's pool)."""
    if stopping is not None:
        sock.settimeout(0.1)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = _recv(sock, stopping)
        if not piece or len(data) > _MAX_HEAD:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        piece = _recv(sock, stopping)
        if not piece:
            break
        body += piece
    if stopping is not None:
        sock.settimeout(None)
    return head + b"\r\n\r\n" + body


def _recv(sock: socket.socket, stopping: threading.Event | None) -> bytes:
    while True:
        try:
            return sock.recv(65536)
        except TimeoutError:
            if stopping is None or stopping.is_set():
                raise


def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- a keep-alive HTTP server made of a function ------------------------------------------------


@dataclass
class Request:
    """A request as `responder` hands it to its function: header names lower-cased."""

    method: str
    target: str  # the path and query, as sent
    headers: dict[str, str]
    body: bytes

    @classmethod
    def parse(cls, raw: bytes) -> Request:
        head, _, body = raw.partition(b"\r\n\r\n")
        first, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = first.split(" ", 2)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return cls(method, target, headers, body)

    def json(self) -> Any:
        return json.loads(self.body)


Respond = Callable[[Request], tuple[int, Mapping[str, str], bytes]]


def responder(respond: Respond) -> Script:
    """A script serving HTTP/1.1 keep-alive: every request on the connection is answered with
    `respond(request) -> (status, headers, body)` (`Content-Length` added) until the client
    hangs up or the server stops."""

    def script(request: bytes, conn: Connection) -> None:
        raw: bytes | None = request
        while raw is not None:
            status, headers, body = respond(Request.parse(raw))
            lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            lines.append(f"Content-Length: {len(body)}")
            if not conn.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body):
                return
            raw = conn.next_request()

    return script


# -- replies ------------------------------------------------------------------------------------


def reply(*parts: bytes, pause: float = 0.0) -> Script:
    """A script that sends `parts` in order (pausing `pause` seconds between them), then closes."""

    def script(request: bytes, conn: Connection) -> None:
        for n, part in enumerate(parts):
            if n and pause and not conn.pause(pause):
                return
            if not conn.write(part):
                return

    return script


def http_response(
    status: str = "200 OK",
    body: bytes = b"",
    *,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """A well-formed HTTP/1.1 response with `Content-Length` and `Connection: close`."""
    lines = [
        f"HTTP/1.1 {status}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def head(status: str = "200 OK", length: int | None = None, **headers: str) -> bytes:
    """A response head; keyword names become header names (`content_type` → Content-Type)."""
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{k.replace('_', '-').title()}: {v}" for k, v in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chat_completion(text: str = "hello") -> bytes:
    """A minimal valid completion body, for `/chat/completions` (`message`) and `/completions`
    (`text`) alike, so one script serves both kinds of model."""
    return json.dumps(
        {
            "id": "hostile-1",
            "object": "chat.completion",
            "created": 0,
            "model": "hostile",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "text": text,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


def sse_head(*, chunked_encoding: bool = True) -> bytes:
    """The head of an SSE response: chunked (so bad chunks can follow), else read to close."""
    framing = "Transfer-Encoding: chunked" if chunked_encoding else "Connection: close"
    return (f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n{framing}\r\n\r\n").encode()


def sse_event(data: Any = None, **fields: str) -> bytes:
    """One SSE block: `data` (JSON-encoded unless bytes/str) and any other fields (`id`, ...)."""
    lines = [f"{name}: {value}" for name, value in fields.items()]
    if data is not None:
        text = data if isinstance(data, str) else json.dumps(data)
        lines.append(f"data: {text}")
    return ("\n".join(lines) + "\n\n").encode()


def chunked(*pieces: bytes) -> bytes:
    """Pieces framed as HTTP/1.1 chunks (without the terminating zero chunk)."""
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)


def delta(text: str) -> dict[str, Any]:
    """A chat completion stream chunk carrying `text`."""
    return {
        "id": "hostile-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "hostile",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }


def stream_events(texts: Iterable[str], *, done: bool = True) -> list[bytes]:
    """The SSE blocks of a chat stream answering `texts`, then `[DONE]` unless told not to."""
    events = [sse_event(delta(text)) for text in texts]
    if done:
        events.append(sse_event("[DONE]"))
    return events


# -- write-only scripts: floods, trickles, bombs ------------------------------------------------


def serving(script: Callable[[Write], None], **settings: Any) -> RawServer:
    """A server whose script is given only a write function that raises once the client hangs
    up (the script is over then): `with serving(script) as server: ...`."""
    return RawServer(lambda request, conn: script(conn.send), **settings)


def until_hang_up(
    write: Write, data: bytes, *, pause: float = 0.0, seconds: float = MAX_SECONDS
) -> None:
    """Send `data` again and again until the client hangs up (or `seconds` pass)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        write(data)
        if pause:
            time.sleep(pause)


def trickle(
    write: Write, data: bytes, per_second: float = 5.0, *, seconds: float = MAX_SECONDS
) -> None:
    """One byte at a time, `per_second` bytes a second (slowloris), for `seconds` at most."""
    end = time.monotonic() + seconds
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

"""A hostile endpoint: a raw-socket loopback server that sends whatever bytes a script says.

The emulator speaks correct HTTP; a broken proxy or a hostile host does not. `HostileServer`
accepts connections on 127.0.0.1, reads each request (head and `Content-Length` body), keeps it
in `requests`, and hands it to a script that writes any bytes it likes, slowly or not at all::

    with HostileServer(reply(b"HTTP/1.1 200 OK\\r\\nbroken header line\\r\\n\\r\\n")) as server:
        client = AzureLlamaClient(server.url, api_key=KEY)

A script is `script(request, conn)`: `request` is the raw request bytes, `conn` a `Connection`
(`write`, `pause`, `close`). Pass one script for every connection, or a sequence: connection `n`
runs `scripts[min(n, len - 1)]`. One request per connection; the connection closes when the
script returns.

Bounded: at most `max_connections` handled at once (more are closed unanswered), a request that
does not arrive within `read_timeout` is dropped, and the server stops itself after `lifetime`
seconds even if the test forgets to; `pause` wakes up early when the server stops.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "Connection",
    "HostileServer",
    "Script",
    "chat_completion",
    "chunked",
    "delta",
    "http_response",
    "reply",
    "sse_event",
    "sse_head",
    "stream_events",
]

_MAX_HEAD = 64 * 1024


class Connection:
    """The server side of one accepted connection, as a script sees it."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self._sock = sock
        self._stopping = stopping
        self.closed = False

    def write(self, data: bytes) -> bool:
        """Send bytes; False once the peer has gone (a script may stop there)."""
        if self.closed:
            return False
        try:
            self._sock.sendall(data)
        except OSError:
            self.closed = True
            return False
        return True

    def pause(self, seconds: float) -> bool:
        """Sleep; returns False (early) when the server is stopping."""
        return not self._stopping.wait(seconds)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()


Script = Callable[[bytes, Connection], None]


class HostileServer:
    """A loopback server whose replies are scripts; a context manager (see the module doc)."""

    def __init__(
        self,
        script: Script | Sequence[Script],
        *,
        max_connections: int = 32,
        read_timeout: float = 5.0,
        lifetime: float = 60.0,
    ) -> None:
        self._scripts = [script] if callable(script) else list(script)
        if not self._scripts:
            raise ValueError("HostileServer needs at least one script")
        self.requests: list[bytes] = []
        self._read_timeout = read_timeout
        self._lifetime = lifetime
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
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

    def __enter__(self) -> HostileServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    def _accept_loop(self) -> None:
        deadline = threading.Timer(self._lifetime, self._stopping.set)
        deadline.daemon = True
        deadline.start()
        count = 0
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
                script = self._scripts[min(count, len(self._scripts) - 1)]
                count += 1
                thread = threading.Thread(target=self._serve, args=(sock, script), daemon=True)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()
        finally:
            deadline.cancel()

    def _serve(self, sock: socket.socket, script: Script) -> None:
        conn = Connection(sock, self._stopping)
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
            self._slots.release()


def _read_request(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
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
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return head + b"\r\n\r\n" + body


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

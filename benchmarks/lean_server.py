"""A lean server speaking just enough of the Azure AI Model Inference wire for the benchmark.

Run:  python benchmarks/lean_server.py --port N   (prints "listening" once bound)

Raw asyncio, no framework, no validation: every answer is serialised once and cached, so the
server costs almost nothing per request and the clients are what gets measured. The shapes are
Azure's (recorded, see the emulator): a non-streamed `chat.completion` with usage; a stream
whose first chunk carries the role, one chunk per token, usage on the finish chunk, then
`data: [DONE]`, sent with `Transfer-Encoding: chunked` (the first event alone, so time to
first chunk stays honest). `x-emulator-reply-tokens: N` sets the reply length, as on the
emulator (`--reply-tokens` sets the default, for clients that cannot send headers: the LiteLLM
proxy). Any `POST .../chat/completions` is answered (the peers use different prefixes);
`GET /bench/last` answers when the latest request body was complete (`time.monotonic()`);
anything else gets a 404. Auth is not checked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import time

MODEL = "Meta-Llama-3.1-8B-Instruct"
_ID = "0123456789abcdef0123456789abcdef"
_CREATED = 1_700_000_000
_BATCH = 64 * 1024
_NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 9\r\n\r\nNOT FOUND"
)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _tokens(n: int) -> list[str]:
    return [f"tok{i}" if i == 0 else f" tok{i}" for i in range(n)]


@functools.lru_cache(maxsize=32)
def whole_answer(n: int) -> bytes:
    body = _dumps(
        {
            "id": _ID,
            "object": "chat.completion",
            "created": _CREATED,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(_tokens(n))},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1},
        }
    )
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        f"x-request-id: bench\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _event(delta: dict[str, str], finish: str | None, usage: dict[str, int] | None) -> bytes:
    chunk: dict[str, object] = {
        "choices": [{"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}],
        "created": _CREATED,
        "id": _ID,
        "model": MODEL,
        "object": "chat.completion.chunk",
    }
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + _dumps(chunk) + b"\n\n"


def _http_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@functools.lru_cache(maxsize=32)
def stream_answer(n: int) -> tuple[bytes, bytes]:
    """(headers + the role chunk, everything after it) for a stream of n one-token chunks."""
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"x-request-id: bench\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    first = head + _http_chunk(_event({"role": "assistant", "content": ""}, None, None))
    usage = {"completion_tokens": n, "prompt_tokens": 1, "total_tokens": n + 1}
    events = [
        _event({"content": token}, "stop" if i == n - 1 else None, usage if i == n - 1 else None)
        for i, token in enumerate(_tokens(n))
    ]
    events.append(b"data: [DONE]\n\n")
    body = b"".join(events)
    rest = b"".join(_http_chunk(body[i : i + _BATCH]) for i in range(0, len(body), _BATCH))
    return first, rest + b"0\r\n\r\n"


class _Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time, bodies by content-length only.

    The buffer is a bytearray and a request's head is parsed once, so a body of megabytes
    (the payload benchmarks) costs the server one copy, not one per read.
    """

    default_tokens = 16

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._head: tuple[str, dict[str, str], int] | None = None  # request line, headers, end
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            if self._head is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                lines = self._buffer[:end].decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                self._head = (lines[0], headers, end + 4)
            request_line, headers, start = self._head
            length = int(headers.get("content-length", "0"))
            if len(self._buffer) < start + length:
                return
            if not request_line.startswith("GET"):
                LAST_BODY[0] = time.monotonic()  # the last request byte is in
            body = bytes(self._buffer[start : start + length])
            del self._buffer[: start + length]
            self._head = None
            self._answer(request_line, headers, body)

    def _answer(self, request_line: str, headers: dict[str, str], body: bytes) -> None:
        assert self._transport is not None
        method, path, _ = request_line.split(" ", 2)
        if method == "GET" and path == "/bench/last":
            self._transport.write(_plain(repr(LAST_BODY[0]).encode()))
            return
        if method != "POST" or not path.split("?", 1)[0].endswith("/chat/completions"):
            self._transport.write(_NOT_FOUND)
            return
        n = int(headers.get("x-emulator-reply-tokens", self.default_tokens))
        if b'"stream":true' in body or b'"stream": true' in body:
            first, rest = stream_answer(n)
            self._transport.write(first)
            self._transport.write(rest)
        else:
            self._transport.write(whole_answer(n))


# When the body of the latest request was complete (time.monotonic(), a clock every process on
# the machine shares): `GET /bench/last` answers it, so a client can time its last request byte.
LAST_BODY = [0.0]


def _plain(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, host, port, backlog=1024)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply-tokens", type=int, default=16, help="when no header says")
    args = parser.parse_args()
    _Connection.default_tokens = args.reply_tokens
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()

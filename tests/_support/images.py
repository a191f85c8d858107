"""A loopback endpoint that records each request body and answers whole or streamed, for the
image tests of both front ends (the emulator does not take images yet: issue 21, item 6)."""

from __future__ import annotations

import json
from typing import Any

from tests._support.raw_server import (
    Connection,
    RawServer,
    chat_completion,
    http_response,
    sse_head,
    stream_events,
)

MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
TEXT_ONLY = "Llama-3.3-70B-Instruct"
KEY = "image-suite-key"
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAIAAAUAAeIhvDMAAAAASUVORK5CYII="
)
PNG_URL = f"data:image/png;base64,{PNG_B64}"
# What Azure answered a second image on Maverick (meta-llama/llama-cookbook#938).
AZURE_400 = json.dumps(
    {
        "object": "error",
        "message": "At most 1 image(s) may be provided in one request.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
).encode()


def answer(request: bytes, conn: Connection) -> None:
    """A chat answer ("A dog."), as SSE when the request asked for a stream."""
    body = json.loads(request.partition(b"\r\n\r\n")[2])
    if body.get("stream"):
        conn.write(sse_head(chunked_encoding=False) + b"".join(stream_events(["A ", "dog."])))
    else:
        conn.write(http_response(body=chat_completion("A dog.")))


def refuse_second_image(request: bytes, conn: Connection) -> None:
    conn.write(http_response("400 Bad Request", AZURE_400))


def bodies(server: RawServer) -> list[dict[str, Any]]:
    """The JSON bodies the server received, in order."""
    return [json.loads(raw.partition(b"\r\n\r\n")[2]) for raw in server.requests]

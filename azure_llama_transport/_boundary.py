"""The one place where errors from below the transport become transport errors.

Below us: httpx and httpcore (sync, and async with `backend="httpx"` or a caller's client),
aiohttp (the default async path, used directly; through a caller's httpx-aiohttp client its
exceptions come half-mapped: a server disconnect becomes `ConnectTimeout`), sockets and TLS.
Like httpx's `map_httpcore_exceptions`, every one of them is translated here:

```
lower-layer exception (any in the chain)         → before the answer       mid-stream
a timeout at the root (TimeoutError, httpx /     → APITimeoutError          StreamInterruptedError
  httpcore TimeoutException, aiohttp timeouts)
httpx.DecodingError (bad Content-Encoding)       → ResponseDecodeError      StreamInterruptedError
not HTTP: aiohttp ClientResponseError, httpx     → APIConnectionError       StreamInterruptedError
  RemoteProtocolError (bad status line, broken
  or oversized header, bad chunk, CL with TE)
anything else: httpx.TransportError/StreamError, → APIConnectionError       StreamInterruptedError
  aiohttp.ClientError (disconnect, payload),
  OSError (refused, reset, TLS)
```

Lower-layer exceptions hold the request: aiohttp's `request_info.headers` and httpx's `Request`
carry `api-key` and `Authorization`. So the translated error never chains to them: it is raised
outside the `except` block (no `__cause__`, no `__context__`), and its message holds only the
exception's type and the first line of its text, with control characters escaped and anything
after a quoted byte string dropped.
"""

from __future__ import annotations

import re
import sys

import httpx

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    AzureLlamaError,
    ResponseDecodeError,
)

__all__ = ["describe", "is_lower_layer", "sanitize", "translate"]

_TIMEOUTS: tuple[type[BaseException], ...] = (TimeoutError, httpx.TimeoutException)
_LOWER: tuple[type[BaseException], ...] = (httpx.HTTPError, httpx.StreamError, OSError, EOFError)
_PROTOCOL: tuple[type[BaseException], ...] = (httpx.RemoteProtocolError,)
_MAX_DETAIL = 120
# Control characters (C0, DEL, C1) and the bidirectional overrides that reorder what a terminal
# shows: escaped, never reflected.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"\s*[\r\n\t]+\s*")
# Parser messages quote the offending bytes (`b'...'`), URLs hold the query: cut there.
_QUOTED = re.compile(r"""(\s*:?\s*(bytearray\()?b['"].*|,?\s*url=.*)$""", re.S)


def sanitize(text: str, limit: int | None = None) -> str:
    """Text from the other side, safe to put in a message: one line, no escape sequences."""
    text = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", _BREAKS.sub(" ", text))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.strip()


def _aiohttp_errors() -> tuple[type[BaseException], ...]:
    # aiohttp is only imported by the async client: if it is not loaded, nothing came from it.
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return ()
    return (aiohttp.ClientError,)


def _httpcore(kind: str) -> tuple[type[BaseException], ...]:
    # httpx imports httpcore only when a transport is built, and so do we: if it is not loaded,
    # nothing came from it. Its exceptions share no base; httpx maps them, a custom transport
    # may not.
    httpcore = sys.modules.get("httpcore")
    if httpcore is None:
        return ()
    if kind == "timeout":
        return (httpcore.TimeoutException,)
    if kind == "protocol":
        return (httpcore.RemoteProtocolError,)
    return (
        httpcore.ConnectionNotAvailable,
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.ProxyError,
        httpcore.TimeoutException,
        httpcore.UnsupportedProtocol,
    )


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def is_lower_layer(exc: BaseException) -> bool:
    """True for an exception from httpx, httpcore, aiohttp, sockets or TLS."""
    return isinstance(exc, _LOWER + _httpcore("lower") + _aiohttp_errors()) and not isinstance(
        exc, AzureLlamaError
    )


def describe(exc: BaseException) -> str:
    """`Type: first line of the text` of the exception that tells what happened (the root of
    the chain that is still a lower-layer error), never header values or the URL."""
    lower = [e for e in _chain(exc) if is_lower_layer(e)] or [exc]
    root = lower[-1]
    aiohttp = sys.modules.get("aiohttp")
    # aiohttp wraps its parser error (`BadHttpMessage`, `LineTooLong`...) in ClientResponseError,
    # whose own text adds the URL: name the wrapper, read the parser's message.
    if aiohttp is not None and isinstance(root, aiohttp.ClientResponseError):
        text = str(root.message or "")
    else:
        text = str(root)
    first = text.strip().splitlines()[0] if text.strip() else ""
    detail = sanitize(_QUOTED.sub("", first), _MAX_DETAIL).rstrip(":").strip()
    name = type(root).__name__
    return f"{name}: {detail}" if detail else name


def _is_timeout(exc: BaseException) -> bool:
    """The deepest error decides: httpx-aiohttp (in a caller's client) raises `ConnectTimeout`
    for a refused or dropped connection, with aiohttp's real reason as its cause."""
    timeouts = _TIMEOUTS + _httpcore("timeout")
    for error in reversed(_chain(exc)):
        if isinstance(error, timeouts):
            return True
        if is_lower_layer(error):
            return False
    return False


def _is_protocol(exc: BaseException) -> bool:
    aiohttp = sys.modules.get("aiohttp")
    kinds = (
        _PROTOCOL
        + _httpcore("protocol")
        + ((aiohttp.ClientResponseError,) if aiohttp is not None else ())
    )
    return any(isinstance(error, kinds) for error in _chain(exc))


def translate(exc: BaseException, host: str) -> AzureLlamaError | None:
    """The transport error for a lower-layer exception; None for anything else (ours included)."""
    if not is_lower_layer(exc):
        return None
    if _is_timeout(exc):
        return APITimeoutError(
            f"Request to Azure AI endpoint {host} timed out ({describe(exc)}).", host=host
        )
    if any(isinstance(error, httpx.DecodingError) for error in _chain(exc)):
        return ResponseDecodeError(
            f"Azure AI endpoint {host} sent a body that could not be decoded ({describe(exc)})."
        )
    if _is_protocol(exc):
        return APIConnectionError(
            f"Azure AI endpoint {host} (or a proxy in front of it) sent a response that is not "
            f"valid HTTP: {describe(exc)}",
            host=host,
        )
    return APIConnectionError(
        f"Could not reach Azure AI endpoint {host}: {describe(exc)}", host=host
    )

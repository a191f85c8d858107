"""Loaded by every recipe the cookbook tests start (on PYTHONPATH via `offline_env`).

A recipe runs offline whichever way it is started: any attempt to resolve or reach a host that
is not loopback is written to stderr as ``network attempt: <host>`` (the tests fail on it) and
refused at once, so nothing waits on a network that is not there.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect


def _refuse(host: object) -> None:
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text.startswith(_LOOPBACK) or text in ("", "None"):
        return
    sys.stderr.write(f"network attempt: {text}\n")
    raise OSError(f"network attempt refused by the cookbook tests: {text}")


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse(address[0])
    _connect(self, address)


socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]

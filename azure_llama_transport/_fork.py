"""Fork safety: a connection pool belongs to the process that opened it.

A forked child (gunicorn ``--preload``, Celery prefork, ``multiprocessing`` with "fork") inherits
its parent's open sockets. Two processes writing requests into one keep-alive connection read
each other's answers. So every pool records the process that made it, and a child that finds a
pool from another process replaces it with its own before sending.

The parent's pools are never closed from the child. Closing would be harmless for a plain
socket (close() only drops the child's copy of the descriptor), but not in general: a pool's
lock may have been held by another thread at the moment of the fork (it would never be
released in the child), and closing an aiohttp session unregisters its sockets from the event
loop's epoll instance, which the child shares with the parent. So:

- a sync pool (httpx/httpcore, no finalizer) is dropped; its sockets close with the garbage
  collector, descriptor only, with no shutdown() and no TLS close_notify;
- async pools are kept referenced in `_inherited`, untouched, until the child exits.

Forks are seen two ways: `os.register_at_fork` bumps a generation counter in the child, and the
process id is compared too, for forks that bypass `os.fork` (a C extension calling fork()).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from ._errors import RequestValidationError

__all__ = ["ProcessLocal", "inherit", "on_fork", "process"]

_generation = 0
# Objects a forked child inherited from its parent and must neither use nor close.
_inherited: list[object] = []
_callbacks: weakref.WeakSet[_ForkAware] = weakref.WeakSet()


class _ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


def process() -> tuple[int, int]:
    """This process, as (pid, fork generation): different in every forked child."""
    return os.getpid(), _generation


def on_fork(obj: Any) -> None:
    """Call ``obj._after_fork_in_child()`` in every forked child, while it has one thread.

    For what must be fixed before any thread can touch it, such as a lock a parent's thread
    held at the fork. The callback must be quick and must not raise.
    """
    _callbacks.add(obj)


def inherit(obj: object) -> None:
    """Keep the parent's `obj` alive, unused and unclosed, for the rest of this process."""
    _inherited.append(obj)


def _in_child() -> None:
    global _generation
    _generation += 1
    for obj in list(_callbacks):
        obj._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # POSIX; there is no fork on Windows
    os.register_at_fork(after_in_child=_in_child)


class ProcessLocal(Generic[C]):
    """A sync pool (the own transport, or a caller's ``httpx.Client``), built on first use and
    rebuilt in a forked child.

    The own pool is made by the first `get`: building one imports httpcore and may load the
    CA bundle, which a client never used for sync calls should not pay for. `close` before
    that has nothing to close and builds nothing.

    A caller-supplied client cannot be rebuilt (its settings are the caller's): in a child it
    is refused with `RequestValidationError` if this process's parent sent through it (its pool may
    hold a connection the parent still uses); one that was never used before the fork is safe
    to adopt, which keeps "build the model at import, call it in the workers" working.
    """

    def __init__(self, supplied: C | None, make: Callable[[], C]) -> None:
        self._supplied = supplied is not None
        self._make = make
        self._value = supplied  # None until the first `get` builds the own client
        self._owner = process()
        self._used = False
        self._lock = threading.Lock()
        on_fork(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()

    def get(self) -> C:
        """The pool for this process (for sending), built on first use."""
        value = self._value
        if value is None or self._owner != process():
            with self._lock:
                if self._owner != process():
                    self._renew()
                if self._value is None:
                    self._value = self._make()
                value = self._value
        self._used = True
        return value

    @property
    def supplied(self) -> bool:
        """True for the caller's own client (its settings, hooks and auth are the caller's)."""
        return self._supplied

    def close(self) -> None:
        """Close the client if it belongs to this process (a parent's is left alone); one
        never built is not built to be closed."""
        if self._value is not None and self._owner == process():
            self._value.close()

    def close_own(self) -> None:
        """`close`, but never a caller-supplied client (for the finalizer of a dropped client)."""
        if not self._supplied:
            self.close()

    def _renew(self) -> None:
        if self._supplied:
            if self._used:
                raise RequestValidationError(
                    "The http_client passed in was used in a parent process before this one "
                    "was forked: its connections are shared with that process, so answers "
                    "could cross. Build the model (or the http_client) in each worker after "
                    "the fork, or leave http_client unset (the default pool is rebuilt in a "
                    "forked child).",
                    param="http_client",
                )
        else:
            self._value = None  # the parent's client is dropped, never closed here; `get` builds
            self._used = False
        self._owner = process()

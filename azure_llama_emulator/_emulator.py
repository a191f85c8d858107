"""`Emulator`: the aiohttp server on its own thread and event loop, driven from any thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

from aiohttp import web

from ._config import EmulatorConfig
from ._faults import Fault
from ._server import build_app
from ._state import RecordedRequest, State

_SHUTDOWN_TIMEOUT = 0.25  # in-flight streams are cancelled after this, so `stop` stays quick
_BACKLOG = 1024  # benchmarks open hundreds of connections at once


class Emulator:
    """A local Azure AI endpoint serving Meta Llama, for tests and benchmarks.

    Use it as a context manager (`with Emulator(cfg) as emu:`) or call `start()`/`stop()`.
    The server runs on a background thread with its own event loop, so sync and async clients
    in the caller's thread can both talk to it.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._state = State(self.config)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:54321" (no trailing slash)."""
        if self._sock is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._sock.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received since start or the last `clear()`."""
        return self._state.requests()

    def clear(self) -> None:
        """Forget recorded requests, rate-limit counters and pending faults."""
        self._state.clear()

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Queue `fault` for the next `times` inference requests it applies to (FIFO)."""
        self._state.faults.push(fault, times)

    def start(self) -> Emulator:
        """Bind the port and serve in the background; returns self."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        sock = _bind(self.config.host, self.config.port)
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve,
            args=(loop, sock, started, failure),
            name="azure-llama-emulator",
            daemon=True,
        )
        thread.start()
        started.wait()
        if failure:
            thread.join()
            sock.close()
            raise RuntimeError("the emulator failed to start") from failure[0]
        self._thread, self._loop, self._sock = thread, loop, sock
        return self

    def stop(self) -> None:
        """Stop serving and release the port; a no-op when not running."""
        thread, loop, sock = self._thread, self._loop, self._sock
        if thread is None or loop is None or sock is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        sock.close()
        self._thread = self._loop = self._sock = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        started: threading.Event,
        failure: list[BaseException],
    ) -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(
            build_app(self._state),
            access_log=None,
            handler_cancellation=True,  # a client that hangs up cancels its handler
            # A body left unread (a request refused on its head: see `_server`) is not drained
            # for aiohttp's default 10 s: the connection closes after the answer.
            lingering_time=0,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        try:
            loop.run_until_complete(_open(runner, sock))
        except BaseException as exc:  # handed to the starting thread
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        _close(loop, runner)


async def _open(runner: web.AppRunner, sock: socket.socket) -> None:
    await runner.setup()
    await web.SockSite(runner, sock, backlog=_BACKLOG).start()


def _close(loop: asyncio.AbstractEventLoop, runner: web.AppRunner) -> None:
    loop.run_until_complete(runner.cleanup())
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=_BACKLOG)

"""The public names of the LangChain front end, pinned; the package root stays lazy; the old paths
of the transport and the emulator are deprecated aliases."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

import langchain_azure_llama
from azure_llama_emulator import Emulator
from tests._support.langchain import EMULATOR_KEY, MODEL

EXPORTS = {
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AzureLlama",
    "AzureLlamaError",
    "BadRequestError",
    "ChatAzureLlama",
    "ContentFilterError",
    "ContentFilterWarning",
    "CredentialError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ContextWindowExceededError",
    "RedirectError",
    "StructuredOutputError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "RetiredModelWarning",
    "StreamInterruptedError",
    "UnprocessableEntityError",
}


def test_exports() -> None:
    assert set(langchain_azure_llama.__all__) == EXPORTS | {"__version__"}
    for name in EXPORTS:
        assert getattr(langchain_azure_llama, name).__name__ == name


def test_the_retired_model_warning_is_the_transports_own_class() -> None:
    # One class, so one filter silences it whichever front end warned.
    import azure_llama_transport as t
    from langchain_azure_llama import RetiredModelWarning

    assert RetiredModelWarning is t.RetiredModelWarning
    assert issubclass(RetiredModelWarning, UserWarning)


@pytest.fixture
def fresh_import() -> Iterator[Callable[[str], None]]:
    """Forget a module so that the next import runs it again; restored afterwards."""
    saved: dict[str, ModuleType] = {}

    def forget(name: str) -> None:
        saved.update((n, m) for n, m in sys.modules.items() if n == name)
        sys.modules.pop(name, None)

    yield forget
    sys.modules.update(saved)


def test_the_old_transport_path_is_a_deprecated_alias(
    fresh_import: Callable[[str], None],
) -> None:
    """`langchain_azure_llama.transport` warns, naming the new package, at the importing line,
    and its public names are the transport's own objects."""
    import azure_llama_transport

    fresh_import("langchain_azure_llama.transport")
    with pytest.warns(DeprecationWarning, match="import azure_llama_transport instead") as caught:
        import langchain_azure_llama.transport as old
    assert [w.filename for w in caught] == [__file__]
    assert old.__all__ == azure_llama_transport.__all__
    for name in old.__all__:
        assert getattr(old, name) is getattr(azure_llama_transport, name), name
    with pytest.raises(ModuleNotFoundError):  # private submodules are not aliased
        importlib.import_module("langchain_azure_llama.transport._client")


def test_the_old_emulator_path_is_a_deprecated_alias(
    fresh_import: Callable[[str], None],
) -> None:
    import azure_llama_emulator

    fresh_import("langchain_azure_llama.emulator")
    with pytest.warns(DeprecationWarning, match="import azure_llama_emulator instead") as caught:
        import langchain_azure_llama.emulator as old
    assert [w.filename for w in caught] == [__file__]
    assert old.__all__ == azure_llama_emulator.__all__
    assert old.Emulator is Emulator and old.Fault is azure_llama_emulator.Fault
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("langchain_azure_llama.emulator._faults")


def test_the_old_emulator_command_still_starts_it() -> None:
    """`python -m langchain_azure_llama.emulator` runs the same command line (`--help` here)."""
    for module in ("azure_llama_emulator", "langchain_azure_llama.emulator"):
        command = [sys.executable, "-W", "error::DeprecationWarning:__main__", "-m", module]
        out = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "--kind" in out.stdout


def test_a_model_loads_the_protocol_and_the_sync_pool_when_first_used(native_emu: Emulator) -> None:
    """Building a model is cheap: the Llama protocol (`transport._llama`) loads on its first
    call, and the sync connection pool (httpcore, the CA bundle) on its first sync call; async
    calls never build it."""
    code = """
        import asyncio, sys
        import httpx
        print("httpcore" in sys.modules)
        from langchain_azure_llama import ChatAzureLlama
        url, key, name = sys.argv[1:]
        model = ChatAzureLlama(endpoint=url, api_key=key, model=name, max_tokens=5)
        def loaded():
            names = ("azure_llama_transport._llama", "httpcore")
            return [name in sys.modules for name in names]
        print(loaded())
        print(type(asyncio.run(model.ainvoke("hi")).content).__name__, loaded())
        print(type(model.invoke("hi").content).__name__, loaded())
    """
    # Tracing, if a developer has it on, is not what is measured here.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    command = [sys.executable, "-c", textwrap.dedent(code), native_emu.url, EMULATOR_KEY, MODEL]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    first, *loaded = out.stdout.splitlines()
    eager = str(first == "True")  # httpx < 0.28 imports httpcore with itself
    assert loaded == [f"[False, {eager}]", f"str [True, {eager}]", "str [True, True]"]

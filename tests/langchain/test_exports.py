"""The public names of the LangChain front end, pinned; the package root stays lazy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

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


def test_transport_import_loads_no_framework() -> None:
    code = (
        "import sys, azure_llama_transport; "
        "print('langchain_core' in sys.modules, 'litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


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

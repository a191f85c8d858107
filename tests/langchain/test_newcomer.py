"""A new user's first hour (issue 24): the names typed are the names checked, fields explain
themselves, and unknown keywords are handled the same way everywhere."""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import textwrap
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from azure_llama_emulator import Emulator
from langchain_azure_llama import AzureLlama, ChatAzureLlama, _typos
from tests._support.langchain import EMULATOR_KEY, MODEL, Api

ENDPOINT = "https://my-llama.eastus2.models.ai.azure.com"
CLASSES = [pytest.param(ChatAzureLlama, id="chat"), pytest.param(AzureLlama, id="text")]


@pytest.fixture(autouse=True)
def fresh_typo_memory() -> Iterator[None]:
    _typos._warned.clear()
    yield
    _typos._warned.clear()


@pytest.mark.parametrize("cls", CLASSES)
def test_signature_lists_the_names_users_type(cls: type[Any]) -> None:
    parameters = inspect.signature(cls).parameters
    for name in ("model", "endpoint", "api_key", "credential", "deployment", "stop", "timeout"):
        assert name in parameters, name
    assert not {"model_name", "base_url", "stop_sequences"} & set(parameters)


@pytest.mark.parametrize("cls", CLASSES)
def test_every_own_field_has_a_description(cls: type[Any]) -> None:
    cls.model_rebuild()
    own = set(cls.model_fields) - set(cls.__mro__[2].model_fields)  # minus BaseChatModel/BaseLLM
    assert {"endpoint", "api_key", "model", "deployment"} <= own
    missing = [name for name in own if not cls.model_fields[name].description]
    assert missing == []
    assert "Endpoint URL" in (cls.model_fields["endpoint"].description or "")


@pytest.mark.parametrize("cls", CLASSES)
def test_old_spellings_still_accepted(cls: type[Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unknown keyword" warning for them
        llm = cls(model_name=MODEL, base_url=ENDPOINT, stop_sequences=["END"], api_key="k")
    assert (llm.model, llm.endpoint, llm.stop) == (MODEL, ENDPOINT, ["END"])
    assert llm.model_extras is None


@pytest.mark.parametrize("cls", CLASSES)
def test_repr_shows_what_was_set_and_no_secret(cls: type[Any]) -> None:
    llm = cls(model=MODEL, endpoint=ENDPOINT, api_key="sk-secret-value", temperature=0)
    text = repr(llm)
    assert text == (f"{cls.__name__}(model='{MODEL}', endpoint='{ENDPOINT}', temperature=0.0)")
    assert "secret" not in text and "lc_versions" not in text and "profile" not in text


def test_constructor_typo_warning_points_at_the_callers_line() -> None:
    with pytest.warns(UserWarning, match=r"'temprature' \(did you mean 'temperature'\?\)") as rec:
        llm = ChatAzureLlama(endpoint=ENDPOINT, api_key="k", temprature=0)
    assert rec[0].filename == __file__
    assert llm.model_extras == {"temprature": 0}


def test_model_kwargs_are_model_extras_with_a_note() -> None:
    with pytest.warns(UserWarning, match="model_kwargs is model_extras here") as rec:
        llm = ChatAzureLlama(endpoint=ENDPOINT, api_key="k", model_kwargs={"top_k": 40})
    assert rec[0].filename == __file__
    assert llm.model_extras == {"top_k": 40}
    assert "model_kwargs" not in (llm.model_extras or {})


@pytest.mark.parametrize("spelling", ["max_completion_tokens", "max_output_tokens"])
def test_other_max_tokens_spellings_set_max_tokens(spelling: str) -> None:
    llm = ChatAzureLlama(endpoint=ENDPOINT, api_key="k", **{spelling: 9})
    assert llm.max_tokens == 9 and llm.model_extras is None


def _models(native_emu: Emulator) -> ChatAzureLlama:
    return ChatAzureLlama(endpoint=native_emu.url, api_key=EMULATOR_KEY, model=MODEL)


@pytest.mark.parametrize("how", ["invoke", "bind"])
async def test_call_time_typo_warned_once_and_still_sent(
    api: Api, native_emu: Emulator, how: str
) -> None:
    llm = _models(native_emu)
    runnable = llm.bind(temprature=0) if how == "bind" else llm
    kwargs = {"temprature": 0} if how == "invoke" else {}
    with pytest.warns(UserWarning, match=r"'temprature'.*did you mean 'temperature'") as rec:
        await api.invoke(runnable, "hi", **kwargs)
    assert len(rec) == 1
    if not api.is_async:  # an awaiting line is not on the stack: only sync calls point at it
        assert rec[0].filename.endswith("tests/_support/langchain.py"), rec[0].filename
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per key: the second call is quiet
        await api.invoke(runnable, "hi", **kwargs)
    assert [r.json.get("temprature") for r in native_emu.requests] == [0, 0]  # still sent
    llm.close()
    await llm.aclose()


async def test_pass_through_extras_are_not_typos(api: Api, native_emu: Emulator) -> None:
    llm = _models(native_emu)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await api.invoke(llm, "hi", top_k=40, repetition_penalty=1.1)
    assert native_emu.requests[-1].json["top_k"] == 40
    llm.close()
    await llm.aclose()


@pytest.mark.parametrize("spelling", ["max_completion_tokens", "max_output_tokens"])
async def test_call_time_max_tokens_spellings_are_sent_as_max_tokens(
    api: Api, native_emu: Emulator, spelling: str
) -> None:
    llm = _models(native_emu)
    await api.invoke(llm, "hi", **{spelling: 5})
    body = native_emu.requests[-1].json
    assert body["max_tokens"] == 5 and spelling not in body
    llm.close()
    await llm.aclose()


# -- the class docstring is the manual (help(ChatAzureLlama)) -------------------------------------

SECTIONS = [
    "Setup:",
    "Key init args — completion params:",
    "Key init args — client params:",
    "Instantiate:",
    "Endpoints & routes:",
    "Invoke:",
    "Stream:",
    "Async:",
    "Token usage:",
    "Response metadata:",
]
CHAT_ONLY = ["Tool calling:", "Structured output:", "Images (Llama 4):"]
_CODE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _help(cls: type[Any]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        help(cls)
    return out.getvalue()


@pytest.mark.parametrize("cls", CLASSES)
def test_help_is_a_manual_with_every_section(cls: type[Any]) -> None:
    text = _help(cls)
    expected = SECTIONS + (CHAT_ONLY if cls is ChatAzureLlama else [])
    assert [s for s in expected if s not in text] == []
    assert "Llama-3.3-70B-Instruct" in text or cls is AzureLlama  # today's default model
    assert "create_agent" in text or cls is AzureLlama  # LangChain v1 agents first


@pytest.mark.parametrize("cls", CLASSES)
def test_the_manual_names_every_setting_and_langchains_own(cls: type[Any]) -> None:
    doc = inspect.getdoc(cls) or ""
    cls.model_rebuild()
    inherited = set(cls.__mro__[2].model_fields)
    own = set(cls.model_fields) - inherited
    assert [name for name in sorted(own) if not re.search(rf"\b{name}\b", doc)] == []
    # LangChain's own fields have no description in langchain-core: the manual names them.
    for name in ("callbacks", "tags", "metadata", "cache"):
        assert name in inherited and re.search(rf"``{name}``", doc), name


@pytest.mark.parametrize("cls", CLASSES)
def test_the_manuals_examples_are_python(cls: type[Any]) -> None:
    blocks = _CODE.findall(inspect.getdoc(cls) or "")
    assert len(blocks) >= 5
    for block in blocks:  # top-level `await` as in a notebook
        compile(textwrap.dedent(block), cls.__name__, "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

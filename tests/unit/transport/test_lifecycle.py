"""`RetiredModelWarning` is for retired models only: a model Azure sells today never warns.

Every catalogue row without a retirement is called on every Azure-run endpoint kind (where a
retired model does warn), by its own name and by a deployment name of the user's own whose
answer names it, whole and streamed, sync and async. The same calls to a retired model are the
control: they warn, so the harness reaches the warning.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest

from azure_llama_transport import CATALOGUE, CatalogueEntry, RetiredModelWarning
from tests._support.transport import make_async, make_sync, sse, sse_response

CURRENT = [entry for entry in CATALOGUE if entry.retired is None]
RETIRED = next(entry for entry in CATALOGUE if entry.name == "Meta-Llama-3.1-8B-Instruct")
# The kinds Azure runs (serverless, Foundry's /models, the OpenAI v1 route): where retired warns.
AZURE_RUN = ["serverless", "foundry", "openai-v1"]
USER = [{"role": "user", "content": "Hi"}]
PROMPT = "Math is"


def _cases(entries: list[CatalogueEntry]) -> list[Any]:
    cases = []
    for entry in entries:
        for kind in AZURE_RUN:
            if entry.model_type == "text-generation" and kind == "openai-v1":
                continue  # the v1 route serves chat only (refused before sending)
            for by in ("name", "deployment"):
                cases.append(pytest.param(entry, kind, by, id=f"{entry.name}-{kind}-{by}"))
    return cases


def _handler(entry: CatalogueEntry, stream: bool) -> Any:
    """An endpoint whose answers name `entry` in their `model` field, as Azure's do."""
    return _answering(entry.name, stream, text=entry.model_type == "text-generation")


def _answering(model: str, stream: bool, *, text: bool = False) -> Any:
    """An endpoint whose answers name `model` in their `model` field."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    if text:
        choice["text"] = "fun"
    elif stream:
        choice["delta"] = {"role": "assistant", "content": "Hello"}
    else:
        choice["message"] = {"role": "assistant", "content": "Hello"}
    obj = "text_completion" if text else "chat.completion" + (".chunk" if stream else "")
    answer = {"id": "a1", "object": obj, "created": 1, "model": model, "choices": [choice]}
    answer["usage"] = {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}

    def handler(request: httpx.Request) -> httpx.Response:
        if stream:
            return sse_response(sse(answer))
        return httpx.Response(200, content=json.dumps(answer).encode())

    return handler


async def _call(entry: CatalogueEntry, kind: str, by: str, api: str, stream: bool) -> None:
    model = entry.name if by == "name" else "my-deployment"
    params = {"model": model}
    make = make_sync if api == "sync" else make_async
    client: Any = make(_handler(entry, stream), endpoint_kind=kind)
    text = entry.model_type == "text-generation"
    method = ("complete" if text else "chat") + ("_stream" if stream else "")
    first = PROMPT if text else USER
    result = getattr(client, method)(first, params)
    if api == "async":
        result = await result
    if stream:
        chunks = list(result) if api == "sync" else [chunk async for chunk in result]
        assert chunks and chunks[-1]["model"] == entry.name
    else:
        assert result["model"] == entry.name


API = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
STREAM = [pytest.param(False, id="whole"), pytest.param(True, id="stream")]


def test_the_current_models_are_todays() -> None:
    today = {entry.name for entry in CURRENT if entry.listed_today}
    assert today == {
        "Llama-3.3-70B-Instruct",
        "Llama-4-Maverick-17B-128E-Instruct-FP8",
        "Llama-4-Scout-17B-16E-Instruct",
    }


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("api", API)
@pytest.mark.parametrize(("entry", "kind", "by"), _cases(CURRENT))
async def test_a_current_model_never_warns_retired(
    entry: CatalogueEntry,
    kind: str,
    by: str,
    api: str,
    stream: bool,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetiredModelWarning)
        await _call(entry, kind, by, api, stream)


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("api", API)
@pytest.mark.parametrize(("entry", "kind", "by"), _cases([RETIRED]))
async def test_the_same_call_to_a_retired_model_warns(
    entry: CatalogueEntry,
    kind: str,
    by: str,
    api: str,
    stream: bool,
) -> None:
    with pytest.warns(RetiredModelWarning, match=entry.name):
        await _call(entry, kind, by, api, stream)


async def _chat(handler: Any, kind: str, model: str, api: str, stream: bool) -> str:
    client: Any = (make_sync if api == "sync" else make_async)(handler, endpoint_kind=kind)
    result = getattr(client, "chat_stream" if stream else "chat")(USER, {"model": model})
    if api == "async":
        result = await result
    if stream:
        chunks = list(result) if api == "sync" else [c async for c in result]
        return str(chunks[-1]["model"])
    return str(result["model"])


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("api", API)
async def test_an_answers_model_is_read_as_a_model_name_not_as_a_learned_deployment(
    api: str, stream: bool
) -> None:
    # A deployment "alias" behind a proxy answered as the retired 3.1 (no warning: not an
    # Azure-run endpoint; "alias" is now remembered as 3.1 for what callers send). A Foundry
    # endpoint whose answers name their model "alias" says nothing about 3.1.
    alias = f"alias-{api}-{stream}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetiredModelWarning)
        assert await _chat(_answering(RETIRED.name, stream), "other", alias, api, stream)
        assert await _chat(_answering(alias, stream), "foundry", "prod", api, stream) == alias

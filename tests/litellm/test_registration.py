"""Public API, registration, model facts and cost."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import litellm
import pytest
from litellm.llms.custom_llm import CustomLLM

import azure_llama_transport as t
import litellm_azure_llama
from azure_llama_emulator import Emulator, EmulatorConfig
from litellm_azure_llama import AzureLlamaLLM
from tests._support.litellm import KEY, call_kwargs, run


def test_exported_members() -> None:
    assert litellm_azure_llama.__all__ == [
        "MODELS",
        "PROVIDER",
        "AzureLlamaLLM",
        "ModelFacts",
        "RetiredModelWarning",
        "aget_model_info",
        "get_model_info",
        "handler",
        "model_cost_map",
        "register",
        "register_models",
    ]
    for name in litellm_azure_llama.__all__:
        assert getattr(litellm_azure_llama, name) is not None
    assert litellm_azure_llama.PROVIDER == "azure_llama"
    # The transport's class: one filter silences it whichever front end warned.
    assert litellm_azure_llama.RetiredModelWarning is t.RetiredModelWarning


def test_handler_implements_all_four_entry_points() -> None:
    handler = litellm_azure_llama.handler
    assert isinstance(handler, AzureLlamaLLM) and isinstance(handler, CustomLLM)
    for name in ("completion", "acompletion", "streaming", "astreaming"):
        assert getattr(type(handler), name) is not getattr(CustomLLM, name), name


@pytest.fixture
def empty_map(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    provider_map: list[dict[str, object]] = []
    monkeypatch.setattr(litellm, "custom_provider_map", provider_map)
    return provider_map


def test_register_appends_once(empty_map: list[dict[str, object]]) -> None:
    other = {"provider": "someone-else", "custom_handler": object()}
    empty_map.append(other)
    first = litellm_azure_llama.register()
    second = litellm_azure_llama.register()
    assert first is second is litellm_azure_llama.handler
    assert empty_map == [other, {"provider": "azure_llama", "custom_handler": first}]
    assert "azure_llama" in litellm.provider_list
    assert "azure_llama" in litellm._custom_providers


def test_register_never_replaces_an_existing_entry(empty_map: list[dict[str, object]]) -> None:
    mine = AzureLlamaLLM()
    empty_map.append({"provider": "azure_llama", "custom_handler": mine})
    assert litellm_azure_llama.register() is mine
    assert litellm_azure_llama.register(AzureLlamaLLM()) is mine
    assert len(empty_map) == 1


def test_register_accepts_a_custom_handler(empty_map: list[dict[str, object]]) -> None:
    mine = AzureLlamaLLM()
    assert litellm_azure_llama.register(mine) is mine
    assert empty_map == [{"provider": "azure_llama", "custom_handler": mine}]


def test_proxy_style_reference_resolves_to_the_handler() -> None:
    """The proxy's `custom_handler: litellm_azure_llama.handler` is `module.attribute`."""
    module_name, _, attribute = "litellm_azure_llama.handler".rpartition(".")
    module = __import__(module_name)
    assert getattr(module, attribute) is litellm_azure_llama.handler


@pytest.fixture
def forget_old_name() -> Iterator[None]:
    """Let `litellm_provider` be imported afresh (so it warns again); restored afterwards."""
    saved = sys.modules.pop("litellm_provider", None)
    yield
    sys.modules.pop("litellm_provider", None)
    if saved is not None:
        sys.modules["litellm_provider"] = saved


@pytest.mark.usefixtures("forget_old_name")
def test_the_old_name_is_a_deprecated_alias() -> None:
    """`import litellm_provider` warns at the importing line, naming the new package, and its
    public names are `litellm_azure_llama`'s own objects; private modules are not aliased."""
    with pytest.warns(DeprecationWarning, match="import litellm_azure_llama instead") as caught:
        import litellm_provider
    assert [w.filename for w in caught] == [__file__]
    assert litellm_provider.__all__ == litellm_azure_llama.__all__
    for name in litellm_provider.__all__:
        assert getattr(litellm_provider, name) is getattr(litellm_azure_llama, name), name
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("litellm_provider._handler")


@pytest.mark.usefixtures("forget_old_name")
def test_a_proxy_config_naming_the_old_handler_still_serves(
    emu: Emulator, empty_map: list[dict[str, object]]
) -> None:
    """A proxy config's ``custom_handler: litellm_provider.handler``, resolved as the proxy does
    (`get_instance_fn`) and registered in `litellm.custom_provider_map`, answers a completion."""
    from litellm.proxy.types_utils.utils import get_instance_fn
    from litellm.utils import custom_llm_setup

    with pytest.warns(DeprecationWarning, match="litellm_provider is deprecated"):
        handler = get_instance_fn("litellm_provider.handler")
    assert handler is litellm_azure_llama.handler
    empty_map.append({"provider": "azure_llama", "custom_handler": handler})
    custom_llm_setup()  # type: ignore[no-untyped-call]
    answer = litellm.completion(**call_kwargs(emu))
    assert answer.choices[0].message.content
    assert [r.path for r in emu.requests] == ["/chat/completions"]


def test_import_boundaries() -> None:
    """Importing the package does not load LiteLLM; the handler never loads LangChain."""
    script = textwrap.dedent(
        """
        import sys
        import litellm_azure_llama
        assert "litellm" not in sys.modules, "package import loaded litellm"
        litellm_azure_llama.handler
        banned = ("langchain_core", "langchain_azure_llama.chat")
        loaded = [m for m in sys.modules if m.startswith(banned)]
        assert not loaded, loaded
        """
    )
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "PATH": ""}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)


PRICED = [
    pytest.param("Meta-Llama-3.1-8B-Instruct", 3e-07, 6.1e-07, id="3.1-8b"),
    pytest.param("Meta-Llama-3.1-70B-Instruct", 2.68e-06, 3.54e-06, id="3.1-70b"),
    pytest.param("Meta-Llama-3.1-405B-Instruct", 5.33e-06, 1.6e-05, id="3.1-405b"),
    pytest.param("Llama-3.3-70B-Instruct", 7.1e-07, 7.1e-07, id="3.3-70b"),
]
UNPRICED = [
    pytest.param("Meta-Llama-3-8B-Instruct", id="3-8b"),
    pytest.param("Meta-Llama-3-70B-Instruct", id="3-70b"),
    pytest.param("Llama-2-7b-chat", id="2-7b-chat"),
    pytest.param("Llama-2-13b-chat", id="2-13b-chat"),
    pytest.param("Llama-2-70b-chat", id="2-70b-chat"),
]


@pytest.mark.parametrize(("model", "cin", "cout"), PRICED)
def test_priced_models_are_registered(model: str, cin: float, cout: float) -> None:
    entry = litellm.model_cost[f"azure_llama/{model}"]
    assert (entry["input_cost_per_token"], entry["output_cost_per_token"]) == (cin, cout)
    assert entry["litellm_provider"] == "azure_llama" and entry["mode"] == "chat"
    assert entry["max_input_tokens"] >= 128_000 and entry["max_output_tokens"] == 8_192


@pytest.mark.parametrize("model", UNPRICED)
def test_unpriced_models_carry_limits_but_no_invented_price(model: str) -> None:
    entry = litellm.model_cost[f"azure_llama/{model}"]
    assert "input_cost_per_token" not in entry and "output_cost_per_token" not in entry
    assert entry["max_input_tokens"] in (4_096, 8_192)


def test_every_model_names_its_sources() -> None:
    for facts in litellm_azure_llama.MODELS:
        assert facts.limits_source and facts.price_source, facts.name
        priced = facts.input_cost_per_token is not None
        assert priced == (facts.output_cost_per_token is not None), facts.name
        assert priced or "unpriced" in facts.price_source or "per VM hour" in facts.price_source


@pytest.mark.parametrize(("model", "cin", "cout"), PRICED)
@pytest.mark.parametrize(
    "mode", [pytest.param("sync", id="completion"), pytest.param("async", id="acompletion")]
)
async def test_response_cost(model: str, cin: float, cout: float, mode: str) -> None:
    with Emulator(EmulatorConfig(api_key=KEY, model_name=model)) as emu:
        result = await run(mode, **call_kwargs(emu, model=f"azure_llama/{model}"))
    usage = result.usage
    expected = usage.prompt_tokens * cin + usage.completion_tokens * cout
    assert result.response._hidden_params["response_cost"] == pytest.approx(expected)
    assert litellm.completion_cost(result.response) == pytest.approx(expected)


async def test_stream_cost_uses_azures_usage(emu: Emulator) -> None:
    result = await run("stream", **call_kwargs(emu))
    whole = litellm.stream_chunk_builder(result.chunks)
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (2, 6)
    assert litellm.completion_cost(whole) == pytest.approx(2 * 3e-07 + 6 * 6.1e-07)

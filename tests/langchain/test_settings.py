"""The settings `ChatAzureLlama` and `AzureLlama` share: unknown keywords, the environment, auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.load import dumpd, load

from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import AzureLlama, ChatAzureLlama

KEY = "settings-key-8d1f0c2b7a"
TOKEN = "settings-entra-token"
CHAT_MODEL = "Meta-Llama-3.1-8B-Instruct"
BASE_MODEL = "Meta-Llama-3.1-8B"
CLASSES = [
    pytest.param(ChatAzureLlama, id="chat"),
    pytest.param(AzureLlama, id="text"),
]
PATHS = {ChatAzureLlama: "/chat/completions", AzureLlama: "/completions"}


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[type[Any], Emulator]]:
    """A chat deployment and a base-model deployment; both take the key and an Entra token."""
    chat = EmulatorConfig(
        api_key=KEY, kind="managed", model_name=CHAT_MODEL, accepted_tokens=(TOKEN,)
    )
    text = EmulatorConfig(
        api_key=KEY,
        kind="managed",
        model_name=BASE_MODEL,
        model_type="text-generation",
        accepted_tokens=(TOKEN,),
    )
    with Emulator(chat) as chat_emu, Emulator(text) as text_emu:
        yield {ChatAzureLlama: chat_emu, AzureLlama: text_emu}


@pytest.fixture
def emu(emulators: dict[type[Any], Emulator], cls: type[Any]) -> Emulator:
    emulators[cls].clear()
    return emulators[cls]


class _Credential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return (TOKEN, 4_102_444_800)


def _answer(model: Any) -> str:
    answer = model.invoke("hi")
    return answer if isinstance(answer, str) else str(answer.content)


# -- unknown keywords --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES)
def test_unknown_keyword_warns_and_reaches_the_wire(cls: type[Any], emu: Emulator) -> None:
    with pytest.warns(UserWarning, match=r"no setting 'temprature'.*model_extras"):
        model = cls(endpoint=emu.url, api_key=KEY, temprature=0.2, max_tokens=5)
    assert model.model_extras == {"temprature": 0.2}
    assert _answer(model)
    [request] = emu.requests
    assert request.path == PATHS[cls]
    assert request.json["temprature"] == 0.2
    assert request.headers["extra-parameters"] == "pass-through"
    model.close()


@pytest.mark.parametrize("cls", CLASSES)
def test_unknown_keywords_join_explicit_model_extras(cls: type[Any]) -> None:
    with pytest.warns(UserWarning, match=r"'repetition_penalty', 'top_k'"):
        model = cls(
            endpoint="https://x.models.ai.azure.com",
            api_key=KEY,
            model_extras={"safe_prompt": True},
            top_k=5,
            repetition_penalty=1.1,
        )
    assert model.model_extras == {"safe_prompt": True, "top_k": 5, "repetition_penalty": 1.1}
    model.close()


@pytest.mark.parametrize("cls", CLASSES)
def test_a_keyword_also_in_model_extras_is_refused(cls: type[Any]) -> None:
    with pytest.raises(ValueError, match="top_k"):
        cls(
            endpoint="https://x.models.ai.azure.com",
            api_key=KEY,
            top_k=5,
            model_extras={"top_k": 6},
        )


@pytest.mark.parametrize("cls", CLASSES)
def test_fields_aliases_and_langchain_settings_do_not_warn(cls: type[Any]) -> None:
    # pytest turns any warning into an error: none may fire for known names.
    model = cls(
        base_url="https://x.models.ai.azure.com",
        api_key=KEY,
        model_name=CHAT_MODEL,
        stop_sequences=["END"],
        tags=["t"],
        metadata={"m": 1},
        verbose=False,
    )
    assert model.model_extras is None
    assert (model.endpoint, model.model, model.stop) == (
        "https://x.models.ai.azure.com",
        CHAT_MODEL,
        ["END"],
    )
    model.close()


# -- the environment and the key-vs-credential rule ---------------------------------------------


@pytest.mark.parametrize("cls", CLASSES)
def test_endpoint_and_key_from_the_environment(
    cls: type[Any], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_INFERENCE_ENDPOINT", emu.url)
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", KEY)
    model = cls(max_tokens=5)
    assert model.endpoint == emu.url
    assert model.api_key is not None and model.api_key.get_secret_value() == KEY
    assert _answer(model)
    assert emu.requests[0].headers["api-key"] == KEY
    model.close()


@pytest.mark.parametrize("cls", CLASSES)
def test_explicit_credential_beats_a_key_in_the_environment(
    cls: type[Any], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", "a-stale-key-from-the-env")
    model = cls(endpoint=emu.url, credential=_Credential(), max_tokens=5)
    assert model.api_key is None
    assert _answer(model)
    [request] = emu.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "api-key" not in request.headers
    model.close()


@pytest.mark.parametrize("cls", CLASSES)
def test_explicit_key_beats_the_environment(
    cls: type[Any], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", "a-stale-key-from-the-env")
    model = cls(endpoint=emu.url, api_key=KEY, max_tokens=5)
    assert _answer(model)
    assert emu.requests[0].headers["api-key"] == KEY
    model.close()


@pytest.mark.parametrize("cls", CLASSES)
def test_explicit_key_and_credential_together_are_refused(cls: type[Any]) -> None:
    with pytest.raises(ValueError, match="either api_key or credential"):
        cls(endpoint="https://x.inference.ml.azure.com", api_key=KEY, credential=_Credential())


@pytest.mark.parametrize("cls", CLASSES)
def test_no_endpoint_anywhere_is_a_clear_error(cls: type[Any]) -> None:
    with pytest.raises(ValueError, match="AZURE_INFERENCE_ENDPOINT"):
        cls(api_key=KEY)


# -- serialisation -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
@pytest.mark.parametrize("cls", CLASSES)
def test_round_trip_keeps_settings_and_extras(cls: type[Any], emu: Emulator) -> None:
    model = cls(endpoint=emu.url, api_key=KEY, max_tokens=5, model_extras={"top_k": 3})
    data = dumpd(model)
    assert data["id"] == ["langchain_azure_llama", cls.__module__.split(".")[-1], cls.__name__]
    loaded = load(
        data,
        valid_namespaces=["langchain_azure_llama"],
        allowed_objects=[cls],
        secrets_map={"AZURE_INFERENCE_CREDENTIAL": KEY},
    )
    assert type(loaded) is cls
    assert (loaded.max_tokens, loaded.model_extras) == (5, {"top_k": 3})
    assert _answer(loaded)
    assert emu.requests[0].json["top_k"] == 3
    model.close()
    loaded.close()


@pytest.mark.parametrize("cls", CLASSES)
def test_model_copy_shares_clients_unless_a_client_setting_changes(cls: Any) -> None:
    model = cls(endpoint="http://127.0.0.1:1", api_key=KEY, max_retries=1)
    cooler = model.model_copy(update={"temperature": 0.1})
    assert cooler._client is model._client and cooler._async_client is model._async_client
    patient = model.model_copy(update={"max_retries": 5})
    assert patient._client is not model._client
    assert patient._client.retry.max_retries == 5 and patient._async_client.retry.max_retries == 5
    assert model._client.retry.max_retries == 1

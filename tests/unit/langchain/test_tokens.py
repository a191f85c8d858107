"""Token counting offline: exact with a local tokenizer, else the measured estimate.

The estimate's table holds real Llama 3 counts (Meta's tokenizer and chat layout) of the
published sample prompts and of held-out texts, recorded by benchmarks/token_estimate.py. The
bounds are what that benchmark measured over 2,000 chats: 4.0 % mean, 10.5 % at the 95th
percentile. The Azure pages' own `usage.prompt_tokens` figures are not in the table: the two
given for known prompts (7 for "What's the distance to the moon?", 10 for the two-message
translation chat) are below what Llama 3's tokenizer yields for the text alone (8 and 24), so
they are illustrations, not recordings (README "Token counting").
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import trim_messages
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from langchain_azure_llama import AzureLlama, ChatAzureLlama, RequestValidationError
from langchain_azure_llama._tokens import family_of
from tests._support.model_names import NAMES, Expected

TABLE = json.loads((Path(__file__).parent / "data" / "llama3_token_counts.json").read_text())
MEAN_ERROR, P95_ERROR = 0.040, 0.105
ENDPOINT = "http://127.0.0.1:9"
WORDS = "system user assistant you are terse hello there how many tokens is this [INST] [/INST]"


@pytest.fixture
def no_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    """langchain-core's fallback imports transformers: make that fail loudly if it is tried."""
    monkeypatch.setitem(sys.modules, "transformers", None)


@pytest.fixture(scope="module")
def word_tokenizer() -> Tokenizer:
    """A word-level tokenizer trained in memory: every word or punctuation mark is one token."""
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordLevelTrainer(special_tokens=["[UNK]"])
    tokenizer.train_from_iterator([WORDS, WORDS.upper()], trainer=trainer)
    return tokenizer


def _chat(**kwargs: Any) -> Iterator[ChatAzureLlama]:
    model = ChatAzureLlama(endpoint=ENDPOINT, api_key="k", **kwargs)
    yield model
    model.close()


@pytest.fixture
def estimating() -> Iterator[ChatAzureLlama]:
    yield from _chat(model="Meta-Llama-3.1-8B-Instruct")


def _messages(chat: list[dict[str, str]]) -> list[Any]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](m["content"]) for m in chat]


# -- offline, without a tokenizer --------------------------------------------------------------


@pytest.mark.usefixtures("no_transformers")
def test_trim_messages_with_the_model_as_counter(estimating: ChatAzureLlama) -> None:
    history = [SystemMessage("You are terse.")]
    for turn in range(20):
        history += [HumanMessage(f"Question {turn}: how many tokens is this?"), AIMessage("Six.")]
    history.append(HumanMessage("And this one?"))
    trimmed = trim_messages(
        history,
        token_counter=estimating,
        max_tokens=100,
        strategy="last",
        include_system=True,
        start_on="human",
    )
    assert trimmed[0] == history[0]
    assert trimmed[-1] == history[-1]
    assert 3 < len(trimmed) < len(history)
    assert estimating.get_num_tokens_from_messages(trimmed) <= 100
    assert estimating.get_num_tokens_from_messages(history) > 100


@pytest.mark.usefixtures("no_transformers")
def test_counts_without_a_tokenizer(estimating: ChatAzureLlama) -> None:
    assert estimating.get_num_tokens("This is a test sentence.") == 6
    assert estimating.get_num_tokens("") == 0
    with pytest.raises(RequestValidationError, match="tokenizer="):
        estimating.get_token_ids("hello")


def test_custom_get_token_ids_still_wins() -> None:
    for model in _chat(custom_get_token_ids=lambda text: [1] * len(text)):
        assert model.get_num_tokens("abc") == 3
        assert model.get_token_ids("ab") == [1, 1]


@pytest.mark.parametrize(
    "row", TABLE["chats"], ids=[f"{i}-{r['llama3_tokens']}" for i, r in enumerate(TABLE["chats"])]
)
def test_estimate_within_the_measured_error(estimating: ChatAzureLlama, row: Any) -> None:
    estimate = estimating.get_num_tokens_from_messages(_messages(row["messages"]))
    assert abs(estimate / row["llama3_tokens"] - 1) <= P95_ERROR, (estimate, row)


def test_estimate_mean_error_on_the_table(estimating: ChatAzureLlama) -> None:
    errors = [
        abs(
            estimating.get_num_tokens_from_messages(_messages(r["messages"])) / r["llama3_tokens"]
            - 1
        )
        for r in TABLE["chats"]
    ]
    assert sum(errors) / len(errors) <= MEAN_ERROR


def test_tools_and_tool_calls_are_counted(estimating: ChatAzureLlama) -> None:
    def get_weather(city: str) -> str:
        """Weather in a city."""
        return city

    asked = [HumanMessage("Weather in Paris?")]
    called = [
        *asked,
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "1"}]),
        ToolMessage("Sunny, 21 C", tool_call_id="1"),
    ]
    plain = estimating.get_num_tokens_from_messages(asked)
    assert estimating.get_num_tokens_from_messages(asked, tools=[get_weather]) > plain + 10
    # The call as Llama 3.1's JSON ({"name": …, "parameters": …}) and the result as ipython.
    assert estimating.get_num_tokens_from_messages(called) > plain + 20


# -- exact, with a tokenizer -------------------------------------------------------------------


def test_exact_llama3_counts(word_tokenizer: Tokenizer) -> None:
    for model in _chat(model="Meta-Llama-3.1-8B-Instruct", tokenizer=word_tokenizer):
        assert model.get_num_tokens("how many tokens is this ?") == 6
        assert model.get_token_ids("hello there") == word_tokenizer.encode("hello there").ids
        messages = [SystemMessage("you are terse"), HumanMessage("hello there")]
        # <|begin_of_text|> 1; system: start, "system", end, "\n\n" (no word here: 0),
        # 3 words, eot = 7; user: 2 + 1 + 2 words + 1 = 6; the assistant header: 2 + 1 = 3.
        assert model.get_num_tokens_from_messages(messages) == 1 + 7 + 6 + 3


def test_exact_llama2_counts(word_tokenizer: Tokenizer) -> None:
    for model in _chat(model="Llama-2-7b-chat", tokenizer=word_tokenizer):
        messages = [HumanMessage("hello there"), AIMessage("hello"), HumanMessage("how many")]
        # <s>[INST] hello there [/INST] 1+4, " hello " </s> 1+1, <s>[INST] how many [/INST] 1+4.
        assert model.get_num_tokens_from_messages(messages) == 5 + 2 + 5


def test_tokenizer_json_path(word_tokenizer: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    word_tokenizer.save(str(path))
    for model in _chat(tokenizer=str(path)):
        assert model.get_num_tokens("hello there , you") == 4
    llm = AzureLlama(endpoint=ENDPOINT, api_key="k", tokenizer=path)
    assert llm.get_num_tokens("hello there") == 2
    assert llm.get_token_ids("hello") == word_tokenizer.encode("hello").ids
    llm.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("/nonexistent/tokenizer.json", "tokenizer file not found", id="missing-file"),
        pytest.param(42, "tokenizer must be a path", id="not-a-tokenizer"),
    ],
)
def test_bad_tokenizer_is_refused_at_construction(value: Any, message: str) -> None:
    # The one type of every client-side refusal (a `ValueError`), as for any other bad setting.
    with pytest.raises(RequestValidationError, match=message) as info:
        ChatAzureLlama(endpoint=ENDPOINT, api_key="k", tokenizer=value)
    assert isinstance(info.value, ValueError)
    assert info.value.param == "tokenizer"


@pytest.mark.usefixtures("no_transformers")
def test_text_model_estimates_offline() -> None:
    llm = AzureLlama(endpoint=ENDPOINT, api_key="k", model="Meta-Llama-3.1-8B")
    assert llm.get_num_tokens("This is a test sentence.") == 6
    llm.close()


# -- Llama 3.3 and 4 (issue 21, item 5), images -----------------------------------------------

LLAMA4 = "Llama-4-Maverick-17B-128E-Instruct-FP8"
LLAMA4_SPECIALS = ["<|begin_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>"]


@pytest.mark.parametrize(
    ("model", "family"),
    [
        pytest.param("Llama-3.3-70B-Instruct", "llama3", id="llama-3.3-shares-3.1"),
        pytest.param("Meta-Llama-3.1-8B-Instruct", "llama3", id="llama-3.1"),
        pytest.param(LLAMA4, "llama4", id="llama-4-maverick"),
        pytest.param("azure_llama/llama-4-scout-17b-16e-instruct", "llama4", id="llama-4-scout"),
        pytest.param("Llama-2-7b-chat", "llama2", id="llama-2"),
        pytest.param("blue", "llama3", id="unknown"),
    ],
)
def test_family_of(model: str, family: str) -> None:
    assert family_of(model) == family


TEMPLATE_OF = {"llama2": "Llama-2-7b-chat", "llama3": "Llama-3.3-70B-Instruct", "llama4": LLAMA4}


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_the_chat_template_follows_the_transports_reading_of_the_name(
    name: str, expected: Expected
) -> None:
    """The same table as the prompt format and the image limit (tests/_support/model_names.py):
    Llama 2 (Code Llama too) counts with Llama 2's template, Llama 4 with its own."""
    assert family_of(name) == expected.chat_template
    chat = [SystemMessage("you are terse"), HumanMessage("how many tokens is this?")]
    counts = [
        ChatAzureLlama(endpoint=ENDPOINT, api_key="k", model=model).get_num_tokens_from_messages(
            chat
        )
        for model in (name or None, TEMPLATE_OF[expected.chat_template])
    ]
    assert counts[0] == counts[1]


def test_exact_llama4_counts_follow_metas_template(word_tokenizer: Tokenizer) -> None:
    """Encode the prompt as Meta's llama4 prompt_format.md lays it out, special tokens included,
    with a Llama-4-style tokenizer; the count from the messages must be the same."""
    tokenizer = Tokenizer.from_str(word_tokenizer.to_str())
    tokenizer.add_special_tokens(LLAMA4_SPECIALS)
    rendered = (
        "<|begin_of_text|><|header_start|>system<|header_end|>\n\nyou are terse<|eot|>"
        "<|header_start|>user<|header_end|>\n\nhello there<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\nhello<|eot|>"
        "<|header_start|>user<|header_end|>\n\nhow many tokens is this ?<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\n"
    )
    messages = [
        SystemMessage("you are terse"),
        HumanMessage("hello there"),
        AIMessage("hello"),
        HumanMessage("how many tokens is this ?"),
    ]
    for model in _chat(model=LLAMA4, tokenizer=tokenizer):
        assert model.get_num_tokens_from_messages(messages) == len(tokenizer.encode(rendered).ids)


PNG_B64 = "iVBORw0KGgo" + "A" * (5 * 1024 * 1024)  # a 5 MB image, as base64


@pytest.mark.parametrize(
    ("model", "per_image"),
    [
        # Meta's Llama 4 layout at its largest: 16 tiles + a global one
        # (azure_llama_transport/_images.py).
        pytest.param(LLAMA4, 2467, id="llama-4-upper-bound"),
        pytest.param("Llama-3.2-11B-Vision-Instruct", 1, id="llama-3.2-vision-one-token"),
    ],
)
@pytest.mark.parametrize(
    "block",
    [
        pytest.param({"type": "image", "base64": PNG_B64, "mime_type": "image/png"}, id="base64"),
        pytest.param({"type": "image", "url": "https://x.test/dog.jpg"}, id="https"),
    ],
)
def test_an_image_is_counted_per_image_not_as_text(
    model: str, per_image: int, block: dict[str, Any]
) -> None:
    for chat in _chat(model=model):
        text = [{"type": "text", "text": "What is this?"}]
        plain = chat.get_num_tokens_from_messages([HumanMessage(text)])
        one = chat.get_num_tokens_from_messages([HumanMessage([*text, block])])
        two = chat.get_num_tokens_from_messages([HumanMessage([*text, block, block])])
        assert one == plain + per_image
        assert two == plain + 2 * per_image

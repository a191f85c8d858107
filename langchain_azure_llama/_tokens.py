"""Counting Llama tokens offline: exact with a local tokenizer, else a measured estimate.

langchain-core's default counter loads GPT-2 through `transformers`, which this package does not
install and which would count the wrong vocabulary anyway. Here:

* With ``tokenizer=`` (a path to a Hugging Face ``tokenizer.json`` or a `tokenizers.Tokenizer`,
  the ``[tokenizers]`` extra) text is encoded by it and a chat is counted as the model's chat
  template lays it out: Llama 3 ``<|begin_of_text|>`` + per message
  ``<|start_header_id|>role<|end_header_id|>\\n\\n`` content ``<|eot_id|>`` + the assistant
  header the model completes (Meta's `ChatFormat.encode_dialog_prompt`, llama-models
  `models/llama3/chat_format.py`); Llama 2 ``<s>[INST] <<SYS>>…<</SYS>> … [/INST] … </s>``
  (Meta's llama `generation.py`). Special tokens count one each. Llama 3.3 uses Llama 3.1's
  template (Meta's `models/llama3_3/prompt_format.md`); Llama 4 lays a chat out the same way with
  its own special tokens, ``<|begin_of_text|>`` + ``<|header_start|>role<|header_end|>\\n\\n``
  content ``<|eot|>`` + the assistant header (Meta's `models/llama4/prompt_format.md` and
  `chat_format.py`), so its overhead is the same number of tokens.
* An image is never counted as text (its base64 or URL is not the prompt): each `image_url`
  part costs `transport.image_tokens(model)`, an upper bound from Meta's Llama 4 image layout
  (2,467 tokens: 16 tiles and a global one of 144 patch tokens each, with their separators;
  see `azure_llama_transport/_images.py`), or 1 for Llama 3.2 Vision (one ``<|image|>`` token;
  the image enters through cross-attention).
* Without one, the text of each message is estimated from the pieces Llama 3's pre-tokenizer
  splits it into (its split pattern, with `re` classes): a word of up to 8 letters is one token
  and every further 5 letters one more; a number group of up to 3 digits is one; punctuation
  runs cost one per 1.5 characters (a run of one repeated character, one per 16); other scripts
  one per 1.6 characters (CJK, Indic) or 3 (Cyrillic, Greek, ...). The template overhead is
  counted exactly as above. Against the real Llama 3 tokenizer on held-out texts
  (benchmarks/token_estimate.py; README "Token counting") a chat prompt's estimate is off by
  4.0 % on average and 10.5 % at the 95th percentile (32 % at worst); a bare text's by 7.4 %
  and 20 %; non-English sentences by 17.5 % on average.
  Llama 2's SentencePiece vocabulary needs about 15 % more tokens than Llama 3's for the same
  English (Meta, "Introducing Meta Llama 3"): its estimate is scaled by that, unmeasured.
  Llama 4's vocabulary is larger (about 202k entries against 128k) and its estimate is Llama 3's,
  unscaled and unmeasured: no Llama 4 tokenizer file was measured (Meta's `llama-models`
  package may carry one, as benchmarks/token_estimate.py reads Llama 3's); a larger vocabulary
  usually needs fewer tokens for the same text (Meta publishes no ratio), so the estimate
  presumably errs high.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal, Protocol

import azure_llama_transport as _t

from ._errors import RequestValidationError

__all__ = [
    "Family",
    "TokenCounter",
    "checked_tokenizer",
    "count_messages",
    "counter_of",
    "family_of",
    "load_tokenizer",
    "num_tokens",
    "token_ids",
]

Family = Literal["llama4", "llama3", "llama2"]
_INSTALL = "pip install 'langchain-azure-llama[tokenizers]'"
# Llama 3's split pattern (llama-models `Tokenizer.pat_str`) with \p{L} as [^\W\d_] and \p{N}
# as \d, so that the estimate needs nothing beyond the standard library.
_PIECES = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[^\r\n\w]|_)?[^\W\d_]+|\d{1,3}| ?(?:[^\s\w]|_)+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Fitted on half of the benchmark corpus, measured on the other half (module docstring).
_WORD_LETTERS, _LETTERS_PER_TOKEN = 8, 5.0
_PUNCT_PER_TOKEN, _RUN_PER_TOKEN, _SPACES_PER_TOKEN = 1.5, 16.0, 32.0
# Other scripts, per character: 3-byte UTF-8 (CJK, Indic) and 2-byte (Cyrillic, Greek, ...).
_WIDE_PER_TOKEN, _NARROW_PER_TOKEN = 1.6, 3.0
_LLAMA2_FACTOR = 1.15
# Llama 3 headers: "system", "user", "assistant" are one token each, "ipython" two.
_ROLE_TOKENS = {"system": 1, "user": 1, "assistant": 1, "ipython": 2}


class Encoding(Protocol):
    @property
    def ids(self) -> list[int]: ...


class TokenizerLike(Protocol):
    """What is used of a `tokenizers.Tokenizer`."""

    def encode(self, sequence: str, /, *args: Any, **kwargs: Any) -> Encoding: ...


def load_tokenizer(value: Any) -> TokenizerLike | None:
    """The ``tokenizer=`` setting, loaded: None, a tokenizer object, or a ``tokenizer.json`` path.

    Raises:
        RequestValidationError: (a `ValueError`) the path is not a file, or the object has no
            `encode`.
        ImportError: A path was given and the `tokenizers` package is not installed.
    """
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return _from_file(os.fspath(value))
    if not callable(getattr(value, "encode", None)):
        raise RequestValidationError(
            f"tokenizer must be a path to a tokenizer.json or a tokenizers.Tokenizer, "
            f"not {type(value).__name__}",
            param="tokenizer",
        )
    tokenizer: TokenizerLike = value
    return tokenizer


@lru_cache(maxsize=8)
def _from_file(path: str) -> TokenizerLike:
    if not os.path.isfile(path):
        raise RequestValidationError(f"tokenizer file not found: {path}", param="tokenizer")
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ImportError(f"tokenizer= needs the `tokenizers` package: {_INSTALL}") from exc
    tokenizer: TokenizerLike = Tokenizer.from_file(path)
    return tokenizer


def family_of(model: str | None) -> Family:
    """The chat template of `model`: Llama 2's for a Llama 2 (Code Llama included), Llama 4's
    for a Llama 4, else Llama 3's (3, 3.1, 3.2, 3.3: Meta's llama3_3 prompt-format page keeps
    3.1's template; unknown names too). The family is the transport's reading of the
    catalogue's name for `model`, else of `model` itself (`transport.parse_model_name`)."""
    entry = _t.lookup(model)
    major = _t.parse_model_name(entry.name if entry is not None else model).major
    return "llama2" if major == 2 else "llama4" if major == 4 else "llama3"


class TokenCounter:
    """Counts the tokens of a text, or of a chat prompt made of wire messages.

    Args:
        tokenizer: A loaded tokenizer (`load_tokenizer`) for exact counts, or None to estimate.
        model: The model name, which picks the chat template (Llama 2 or Llama 3).
    """

    def __init__(self, tokenizer: TokenizerLike | None, model: str | None) -> None:
        self.tokenizer = tokenizer
        self.family = family_of(model)
        self.image_tokens = _t.image_tokens(model)

    @property
    def exact(self) -> bool:
        return self.tokenizer is not None

    def token_ids(self, text: str) -> list[int]:
        """The ids of `text`; only a tokenizer has them."""
        if self.tokenizer is None:
            raise RequestValidationError(
                "Token ids need a Llama tokenizer: pass tokenizer= (a tokenizer.json path or a "
                "tokenizers.Tokenizer). get_num_tokens estimates without one.",
                param="tokenizer",
            )
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def text(self, text: str) -> int:
        """Tokens of `text`, without any special token."""
        if self.tokenizer is not None:
            return len(self.token_ids(text))
        return self._rounded(estimate(text))

    def chat(self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] = ()) -> int:
        """Tokens of the prompt these wire messages (and tool schemas) become."""
        total = self._llama2(messages) if self.family == "llama2" else self._llama3(messages)
        if tools:
            total += self.text(json.dumps(list(tools), ensure_ascii=False))
        return total

    def _llama3(self, messages: Sequence[Mapping[str, Any]]) -> int:
        # <|begin_of_text|>, then each header+content+<|eot_id|>, then the assistant header.
        # Llama 4 has the same layout with its own special tokens (<|header_start|>,
        # <|header_end|>, <|eot|>), one token each: the counts are the same.
        total = 1 + self._header("assistant")
        for message in messages:
            role = "ipython" if message.get("role") == "tool" else str(message.get("role"))
            total += self._header(role) + self.text(message_text(message)) + 1
            total += self.image_tokens * _t.count_images((message,))
        return total

    def _header(self, role: str) -> int:
        # <|start_header_id|> role <|end_header_id|> "\n\n"
        if self.tokenizer is None:
            return 3 + _ROLE_TOKENS.get(role, self.text(role))
        return 2 + self.text(role) + self.text("\n\n")

    def _llama2(self, messages: Sequence[Mapping[str, Any]]) -> int:
        # Meta's chat_completion: the system prompt joins the first user turn; each user turn
        # is <s>[INST] … [/INST], each answer " … " followed by </s>.
        total, system = 0, ""
        for message in messages:
            text = message_text(message).strip()
            total += self.image_tokens * _t.count_images((message,))
            if message.get("role") == "system":
                system = f"<<SYS>>\n{text}\n<</SYS>>\n\n"
            elif message.get("role") == "assistant":
                total += self.text(f" {text} ") + 1
            else:
                total += self.text(f"[INST] {system}{text} [/INST]") + 1
                system = ""
        return total

    def _rounded(self, estimated: float) -> int:
        factor = _LLAMA2_FACTOR if self.family == "llama2" else 1.0
        return math.ceil(estimated * factor) if estimated else 0


def message_text(message: Mapping[str, Any]) -> str:
    """The text a wire message puts into the prompt: content, then tool calls as Llama 3.1's
    JSON ``{"name": …, "parameters": …}``."""
    content = message.get("content") or ""
    if not isinstance(content, str):
        content = "\n".join(
            str(part.get("text", "")) for part in content if part.get("type") == "text"
        )
    calls = [_call_text(call) for call in message.get("tool_calls") or ()]
    return "".join([content, *calls])


def _call_text(call: Mapping[str, Any]) -> str:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        parameters = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError:
        parameters = arguments
    return json.dumps({"name": function.get("name", ""), "parameters": parameters})


def estimate(text: str) -> float:
    """Estimated Llama 3 tokens of `text`, from its pre-tokenizer pieces (module docstring)."""
    return sum(_piece_cost(piece) for piece in _PIECES.findall(text))


def _piece_cost(piece: str) -> float:
    if not piece.isascii() and not _mostly_latin(piece):
        wide = sum(1 for char in piece if ord(char) >= 0x800)
        return max(1.0, wide / _WIDE_PER_TOKEN + (len(piece) - wide) / _NARROW_PER_TOKEN)
    last = piece[-1]
    if last.isalpha():
        return 1 + max(0, len(piece.lstrip(" ")) - _WORD_LETTERS) / _LETTERS_PER_TOKEN
    if last.isdigit():
        return 1.0
    if piece.isspace():
        # Line breaks merge into one token; long runs of spaces (indentation) barely cost.
        return 1.0 if "\n" in piece else 1 + (len(piece) - 1) / _SPACES_PER_TOKEN
    core = piece.strip(" \r\n")
    per_token = _RUN_PER_TOKEN if len(set(core)) == 1 else _PUNCT_PER_TOKEN
    return max(1.0, len(core) / per_token)


def _mostly_latin(piece: str) -> bool:
    """A word with a few accented letters ("modèle") splits like an English one."""
    return sum(1 for char in piece if ord(char) >= 0x80) * 2 <= len(piece)


# -- the LangChain models' methods (ChatAzureLlama, AzureLlama) ---------------------------------


def checked_tokenizer(value: Any) -> Any:
    """Pydantic check of the ``tokenizer`` field: a path is loaded (once) at construction."""
    return load_tokenizer(value)


def counter_of(model: Any) -> TokenCounter:
    """The counter of a LangChain model with `tokenizer` and `model` fields."""
    return TokenCounter(model.tokenizer, model.model)


def token_ids(model: Any, text: str) -> list[int]:
    """`get_token_ids`: `custom_get_token_ids` first, else the tokenizer's ids."""
    if model.custom_get_token_ids is not None:
        return list(model.custom_get_token_ids(text))
    return counter_of(model).token_ids(text)


def num_tokens(model: Any, text: str) -> int:
    """`get_num_tokens`: exact with a tokenizer (or `custom_get_token_ids`), else estimated."""
    if model.custom_get_token_ids is not None:
        return len(model.custom_get_token_ids(text))
    return counter_of(model).text(text)


def count_messages(model: Any, messages: Sequence[Any], tools: Sequence[Any] | None) -> int:
    """`get_num_tokens_from_messages`: the whole prompt, chat template included."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from ._convert import messages_to_wire

    schemas = [convert_to_openai_tool(tool) for tool in tools or ()]
    return counter_of(model).chat(messages_to_wire(messages), schemas)

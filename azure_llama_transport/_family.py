"""Which Llama a model or deployment name says it is: the one rule every name-based choice uses.

`parse_model_name(name)` reads a name (a model name, a deployment name, a provider-prefixed or
Azure ML asset name) and returns a `ModelName`. The prompt format (`_llama._formats.family_of`),
the image rule for names the catalogue does not know (`_images`) and the LangChain front end's
chat template for token counting all derive from it, so they agree on every spelling.

The rule, case-insensitive:

1. A Llama is named by the word "llama": at the start of the name or after a character that
   is not a letter ("Meta-Llama-3.1-8B", "meta-llama/Llama-3.3-70B", "azure_llama/llama-4-scout",
   "LLAMA_4_MAVERICK"), or glued to "meta" ("MetaLlama3"). Inside another word it names a
   different model: TinyLlama (not Meta's), Ollama. Each such "llama" is tried in turn; the first
   that carries a version decides.
2. Its version follows at once, after at most one separator (``-``, ``_``, ``.``, space) and an
   optional ``v`` (Fireworks' "llama-v3p1-8b"): a run of digits, the major. Meta has released
   2, 3 and 4; a run followed by "b" is a parameter count, not a version ("llama-40b",
   LLaMA 1's "llama-33b"); any other number is not a version either ("llama40-custom").
3. Llama 3's minor (3.1, 3.2, 3.3) follows the major after ``.`` or ``p`` ("3.1", "v3p1"), or
   after ``-``, ``_`` or a space when it is not a parameter count ("llama-3-3-70b" is 3.3,
   "llama-3-8b" and "llama-3-1b" are Llama 3 with their sizes), or is glued to it as "31", "32",
   "33" ("llama-31-8b": Azure ML deployment names allow neither dots nor underscores). A minor
   no release has ("llama-3.10", "llama-4.1") leaves the major alone: Llama 3, Llama 4.
4. "CodeLlama" is Code Llama, which Meta built on Llama 2 (same tokenizer and chat template,
   text only): family "2", variant "code", whatever follows.
5. For a Llama name only: "vision" anywhere makes it a Vision model (Llama 3.2 11B/90B Vision);
   in a Llama 4 name, "maverick" or "scout" is the variant.

Anything else ("my-deployment", "blue", "", "Llama-Guard-3-8B", whose number is the Guard's
version, not Llama's) has no family: the callers then fall back to what they do for unknown
models (the catalogue first, where they have it).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["LlamaFamily", "ModelName", "parse_model_name"]

LlamaFamily = Literal["2", "3", "3.1", "3.2", "3.3", "4"]
Variant = Literal["maverick", "scout", "code"]

_MAJORS: dict[str, LlamaFamily] = {"2": "2", "3": "3", "4": "4"}
_MINORS: dict[str, LlamaFamily] = {"1": "3.1", "2": "3.2", "3": "3.3"}
# "llama" at a word start (rule 1), with "meta" (one word) or "code" (Code Llama) glued before.
_LLAMA = re.compile(r"(?<![a-z])(meta|code)?llama")
_MAJOR = re.compile(r"[-_ .]?v?(\d+)")
_MINOR = re.compile(r"(?:([.p])|[-_ ])(\d+)")


@dataclass(frozen=True, slots=True)
class ModelName:
    """What a model name says (`parse_model_name`; the rule: this module's docstring).

    Attributes:
        family: "2", "3", "3.1", "3.2", "3.3", "4", or None (not a Llama name, or no version).
        vision: A Llama 3.2 Vision name ("Llama-3.2-11B-Vision-Instruct").
        variant: "maverick" or "scout" for Llama 4, "code" for Code Llama, else None.
    """

    family: LlamaFamily | None = None
    vision: bool = False
    variant: Variant | None = None

    @property
    def major(self) -> int | None:
        """2, 3, 4, or None."""
        return None if self.family is None else int(self.family[0])


_UNKNOWN = ModelName()


@functools.lru_cache(maxsize=256)  # a process sees a few names, each on every request
def parse_model_name(name: str | None) -> ModelName:
    """The Llama family (and vision, variant) a model or deployment name says it is."""
    text = (name or "").lower()
    for found in _LLAMA.finditer(text):
        if found.group(1) == "code":
            return ModelName("2", variant="code")
        family = _version(text, found.end())
        if family is not None:
            return _named(text, family)
    return _UNKNOWN


def _version(text: str, index: int) -> LlamaFamily | None:
    """The version starting at `index` (just after "llama"), if any (rules 2 and 3)."""
    major = _MAJOR.match(text, index)
    if major is None or _is_size(text, major.end()):
        return None
    digits = major.group(1)
    if len(digits) == 2 and digits[0] == "3" and not _is_alnum(text, major.end()):
        return _MINORS.get(digits[1])  # "llama-31-8b"
    family = _MAJORS.get(digits)
    minor = _MINOR.match(text, major.end())
    if family != "3" or minor is None:
        return family
    if minor.group(1) is None and _is_alnum(text, minor.end()):
        return family  # "llama-3-8b": a size, not a minor
    return _MINORS.get(minor.group(2), family)


def _is_size(text: str, index: int) -> bool:
    return text[index : index + 1] == "b"


def _is_alnum(text: str, index: int) -> bool:
    return text[index : index + 1].isalnum()


def _named(text: str, family: LlamaFamily) -> ModelName:
    variant: Variant | None = None
    if family == "4":
        variant = "maverick" if "maverick" in text else "scout" if "scout" in text else None
    return ModelName(family, vision="vision" in text, variant=variant)

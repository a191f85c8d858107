"""The emulator's own facts about the Llama models it plays (not the transport's catalogue).

Exact rows for the models Azure sells today; other names fall back to their family, read from
the name. Sources:

* Llama-3.3-70B-Instruct: text only, 128,000 tokens of context (Azure's "models sold directly
  by Azure" table, MicrosoftDocs/azure-ai-docs).
* Llama-4-Maverick-17B-128E-Instruct-FP8: text + images, 1M tokens (same table); one image per
  request, refused with vLLM's `At most 1 image(s) may be provided in one request.`
  (meta-llama/llama-cookbook#938, a serverless Azure deployment).
* Llama-4-Scout-17B-16E-Instruct: text + images (Azure's "models from partners" table, which
  gives no context window here: Meta's model card's 10M is used). The same #938 reports that
  Scout took several images where Maverick refused them, so no image limit is enforced.
* Llama 3.2 Vision (managed compute): one image per request (Meta's Llama 3.2 vision prompt
  format supports a single image; vLLM's default limit for it).

Family (3.1, 3.2, 3.3 or 4) decides the prompted tool-calling format the emulator answers in
when the prompt does not say (see `_responder`): Meta's JSON format for 3.1, the pythonic list
for 3.2, 3.3 and 4 (meta-llama/llama-models prompt-format pages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Family = Literal["3.1", "3.2", "3.3", "4"]


@dataclass(frozen=True)
class ModelFacts:
    """What the emulator enforces for one served model.

    Attributes:
        family: The Llama generation, or None for a name the emulator cannot place.
        context_window: Prompt + completion tokens the model takes, or None (not checked).
        images: Whether `image_url` content parts are accepted; None when unknown (accepted).
        max_images: Images per request, or None for no limit.
    """

    family: Family | None
    context_window: int | None = None
    images: bool | None = None
    max_images: int | None = None


TABLE: dict[str, ModelFacts] = {
    "Llama-3.3-70B-Instruct": ModelFacts("3.3", 128_000, images=False),
    "Llama-4-Maverick-17B-128E-Instruct-FP8": ModelFacts("4", 1_000_000, True, max_images=1),
    "Llama-4-Scout-17B-16E-Instruct": ModelFacts("4", 10_000_000, images=True),
}

_FAMILY = re.compile(r"llama[-_ ]?(3[.\-_][123]|4)(?![\d])", re.IGNORECASE)


def facts(model: str) -> ModelFacts:
    """The table's row for `model`, else what its name says (family, vision or not)."""
    row = TABLE.get(model)
    if row is not None:
        return row
    match = _FAMILY.search(model)
    if match is None:
        return ModelFacts(None)
    family: Family = "4" if match.group(1) == "4" else _dotted(match.group(1))
    vision = family == "4" or "vision" in model.lower()
    return ModelFacts(family, images=vision, max_images=1 if family == "3.2" and vision else None)


def _dotted(version: str) -> Family:
    minor = version[-1]
    return "3.1" if minor == "1" else "3.2" if minor == "2" else "3.3"

"""Images in chat requests: which models take them, how many, and what they cost in tokens.

The one place the transport's image rules live. An image travels as an OpenAI `image_url` part
(`{"type": "image_url", "image_url": {"url": ..., "detail": ...}}`) in a `user` or `tool`
message, its URL a `data:image/<type>;base64,...` URL or an `https://` URL; the request build
(`_request`) checks each part's shape, and `check_image_count` the number against the model.

`image_limit(model)`: 0 = text only, N = at most N images per request, None = not known (an
unknown or custom deployment name, or a model whose per-request count no source gives): the
request is sent and Azure decides. It reads the catalogue row (`inputs` / `max_images`, when the
row has them), else a rule on what the name says (`parse_model_name`, `_family`: the one reading
of model names, which the prompt format and token counting share):

* Llama 4 Maverick: 1. Azure refused two images with vLLM's `At most 1 image(s) may be provided
  in one request.` (meta-llama/llama-cookbook#938, 2025-05, serverless
  Llama-4-Maverick-17B-128E-Instruct-FP8).
* Llama 4 Scout (and any other Llama 4): None. The same report says several images worked on
  Llama-4-Scout-17B-16E-Instruct; no source gives its limit (Meta's model card: tested with up
  to 5 input images), so Azure decides.
* A Llama "Vision" name (Llama 3.2 11B/90B Vision, on managed compute): 1, assumed. vLLM's
  `mllama` serves one image per prompt by default (`limit_mm_per_prompt`), and Meta's model card
  recommends a single image per prompt.
* Any other Llama 2 / 3.x name (Code Llama, built on Llama 2, included): 0, text only.
* Anything else (a deployment named "blue" or "my-vision", a name without a Llama version):
  None.

`image_tokens(model)`: what one image adds to the prompt, for token counting. Llama 4 (Meta's
llama-models `models/llama4/chat_format.py`, `_encode_image`): an image is cut into at most 16
tiles of 336x336 (`max_num_chunks=16`) plus a global tile when it needs more than one; each
tile is (336/14)^2 = 576 patches, pixel-shuffled 4:1 into 144 `<|patch|>` tokens, with
`<|image_start|>`, `<|image|>`, `<|image_end|>` and one separator per tile. Without decoding the
image its size is not known, so the count is the upper bound, 16 tiles + the global one:
1 + 16*144 + 16 + 1 + 144 + 1 = 2,467 tokens (a small, one-tile image takes 147). A prompt
counted to fit therefore fits. Llama 3.2 Vision (mllama) feeds the image through cross-attention:
one `<|image|>` token in the prompt. Other models, unknown ones included, are counted as Llama 4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import RequestValidationError
from ._family import parse_model_name

__all__ = [
    "IMAGE_ROLES",
    "check_image_count",
    "check_image_part",
    "count_images",
    "image_count_hint",
    "image_limit",
    "image_tokens",
    "pick_model",
]

# Meta's formats put images in user turns; vLLM also reads them in tool results.
IMAGE_ROLES = frozenset({"user", "tool"})
_DATA_URL = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,", re.IGNORECASE)
_DETAILS = frozenset({"auto", "low", "high"})
# Llama 4: 16 tiles of 144 patch tokens, 16 separators, the global tile, start/image/end.
_LLAMA4_IMAGE_TOKENS = 1 + 16 * 144 + 16 + 1 + 144 + 1
_MLLAMA_IMAGE_TOKENS = 1
# vLLM's sentence when a prompt has more images than the server takes (any count, any noun).
_AZURE_LIMIT = re.compile(r"At most (\d+) image\(s\) may be provided", re.IGNORECASE)


def _name_rule(model: str) -> int | None:
    """The limit a name implies (`parse_model_name`'s rule; module docstring for the numbers)."""
    name = parse_model_name(model)
    if name.major == 4:
        return 1 if name.variant == "maverick" else None
    if name.vision:
        return 1  # assumed (module docstring)
    return None if name.family is None else 0


def image_limit(model: str | None) -> int | None:
    """Images one request may carry for `model`: 0 (text only), N, or None (not known)."""
    if not model:
        return None
    from ._catalogue import lookup

    entry = lookup(model)
    if entry is None:
        return _name_rule(model)
    if not entry.image_inputs:
        return 0
    return entry.max_images if entry.max_images is not None else _name_rule(entry.name)


def _display(model: str) -> str:
    from ._catalogue import lookup

    entry = lookup(model)
    return entry.name if entry is not None else model


def pick_model(*names: str | None) -> str | None:
    """The name to check images against: the first whose limit is known, else the first set.

    The call's `model`, a per-call deployment header and the client's deployment, in that order:
    a custom deployment name ("blue") says nothing, a model name does.
    """
    given = [name for name in names if isinstance(name, str) and name]
    for name in given:
        if image_limit(name) is not None:
            return name
    return given[0] if given else None


def image_tokens(model: str | None) -> int:
    """Prompt tokens counted for one image of `model` (the module docstring's rule)."""
    name = parse_model_name(model)
    if name.vision and name.major == 3:
        return _MLLAMA_IMAGE_TOKENS
    return _LLAMA4_IMAGE_TOKENS


def check_image_part(where: str, role: Any, part: Mapping[str, Any]) -> None:
    """Refuse an `image_url` part that Azure would refuse or misread, naming it (`where`)."""
    if role not in IMAGE_ROLES:
        raise RequestValidationError(
            f"{where} is an image in a {role!r} message; Llama reads images in user messages "
            "(and tool results) only.",
            param="messages",
        )
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else None
    if not isinstance(url, str) or not _is_image_url(url):
        shown = url[:40] if isinstance(url, str) else type(url).__name__
        raise RequestValidationError(
            f"{where} has image_url {shown!r}: an image must be {{'url': "
            "'data:image/<type>;base64,<data>'}} or {'url': 'https://...'}.",
            param="messages",
        )
    detail = image.get("detail") if isinstance(image, Mapping) else None
    if detail is not None and detail not in _DETAILS:
        raise RequestValidationError(
            f"{where} has image_url detail {detail!r}; use 'auto', 'low' or 'high'.",
            param="messages",
        )


def _is_image_url(url: str) -> bool:
    if url[:8].lower() == "https://":
        return len(url) > 8
    match = _DATA_URL.match(url)
    return match is not None and len(url) > match.end()


def count_images(messages: Sequence[Mapping[str, Any]]) -> int:
    """The `image_url` parts of these wire messages."""
    total = 0
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list):
            total += sum(
                1 for p in content if isinstance(p, Mapping) and p.get("type") == "image_url"
            )
    return total


def check_image_count(count: int, model: str | None) -> None:
    """Refuse `count` images for a model that takes none, or fewer (known models only)."""
    limit = image_limit(model)
    if not count or limit is None or count <= limit or model is None:
        return
    name = _display(model)
    if limit == 0:
        raise RequestValidationError(
            f"{name} is text-only: it does not take images, and this request has {count}. "
            "Send text only, or use a Llama 4 deployment (Llama-4-Maverick-17B-128E-Instruct-FP8, "
            "Llama-4-Scout-17B-16E-Instruct) for images.",
            param="messages",
        )
    raise RequestValidationError(
        f"{name} takes at most {limit} image(s) per request on Azure, and this request has "
        f"{count} (the images of earlier turns count too): send fewer, e.g. one request per "
        "image.",
        param="messages",
    )


def image_count_hint(message: str, model: str | None) -> str | None:
    """The hint added to Azure's image-count 400, or None when the message is another one."""
    found = _AZURE_LIMIT.search(message)
    if found is None:
        return None
    limit = int(found.group(1))
    who = _display(model) if model else "This deployment"
    return (
        f"{who} takes at most {limit} image(s) per request, counting the images of every turn "
        "sent: send fewer, e.g. one request per image."
    )

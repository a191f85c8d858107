"""What a Llama deployment on Azure can do, as a langchain-core `ModelProfile`.

Context and output sizes are Azure's model tables (azure-wire.md §14); everything else holds
for every Llama chat deployment through this package: text only, tools and structured output
(prompted when the endpoint has no native tools), no JSON mode.
"""

from __future__ import annotations

from langchain_core.language_models.model_profile import ModelProfile

__all__ = ["profile_for"]

_LIMITS: tuple[tuple[str, int, int], ...] = (
    # (name prefix, lower-cased; max input tokens; max output tokens)
    ("meta-llama-3.1-", 131_072, 8_192),
    ("llama-3.3-", 131_072, 8_192),
    ("meta-llama-3-", 8_192, 2_048),
    ("llama-2-", 4_096, 2_048),
)


def profile_for(model: str | None) -> ModelProfile:
    """The profile of `model` (limits only for the Llama families Azure documents)."""
    profile = ModelProfile(
        text_inputs=True,
        image_inputs=False,
        image_url_inputs=False,
        pdf_inputs=False,
        audio_inputs=False,
        video_inputs=False,
        image_tool_message=False,
        pdf_tool_message=False,
        text_outputs=True,
        image_outputs=False,
        audio_outputs=False,
        video_outputs=False,
        reasoning_output=False,
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,
        structured_output=True,
        open_weights=True,
    )
    name = (model or "").lower()
    for prefix, max_input, max_output in _LIMITS:
        if name.startswith(prefix):
            profile["max_input_tokens"] = max_input
            profile["max_output_tokens"] = max_output
            break
    return profile

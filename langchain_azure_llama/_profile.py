"""What a Llama deployment on Azure can do, as a langchain-core `ModelProfile`.

Context and output sizes come from the transport's one model catalogue (`transport.CATALOGUE`,
docs/wire-protocol.md §14), so LangChain and LiteLLM never disagree about a model. Everything else
holds for every Llama chat deployment through this package: no JSON mode, and tools and
structured output on every endpoint, because the transport's Llama protocol prompts for them
(and validates the answer) where the endpoint refuses them natively. So `structured_output=True`
is true even on a deployment that answers `response_format` with a 422, and LangChain's agents
may pick their provider strategy. Image input is the catalogue's (Llama 4 takes images): a fact
about the model, shown here; sending image parts is another matter (the transport decides).
"""

from __future__ import annotations

from langchain_core.language_models.model_profile import ModelProfile

import azure_llama_transport as _t

__all__ = ["profile_for"]


def profile_for(model: str | None) -> ModelProfile:
    """The profile of `model` (limits only for the models the catalogue knows, in any spelling
    `transport.lookup` folds)."""
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
    entry = _t.lookup(model)
    if entry is not None:
        profile["max_input_tokens"] = entry.context_window
        profile["image_inputs"] = entry.image_inputs
        if entry.max_output_tokens is not None:
            profile["max_output_tokens"] = entry.max_output_tokens
    return profile

"""The Llama protocol on wire dicts: tools native or prompted, structured output, refusals.

Modules, in the order a call uses them: `_plan` (request → wire request), `_capabilities`
(what an endpoint refused, and recognising a refusal), `_formats` (Meta's prompt format by
family), `_tools` (prompted tools there and back), `_parse` (the one tolerant parser of the calls
Llama writes, whole and streamed), `_schema` (prompted JSON schema, validation, repair), `_chat`
(the sync and async calls and streams), `_text` (the text-completion calls).
"""

from ._capabilities import (
    CAPABILITIES,
    Capabilities,
    CapabilityStore,
    capability_key,
    refused_feature,
)
from ._chat import AsyncLlamaStream, LlamaStream, achat, achat_stream, chat, chat_stream
from ._plan import ChatRequest, Plan, plan_chat
from ._schema import Schema, extract_json, schema_of
from ._text import TextRequest, acomplete, acomplete_stream, complete, complete_stream
from ._tools import ToolCallBuffer, parse_tool_calls, tools_prompt

__all__ = [
    "CAPABILITIES",
    "AsyncLlamaStream",
    "Capabilities",
    "CapabilityStore",
    "ChatRequest",
    "LlamaStream",
    "Plan",
    "Schema",
    "TextRequest",
    "ToolCallBuffer",
    "achat",
    "achat_stream",
    "acomplete",
    "acomplete_stream",
    "capability_key",
    "chat",
    "chat_stream",
    "complete",
    "complete_stream",
    "extract_json",
    "parse_tool_calls",
    "plan_chat",
    "refused_feature",
    "schema_of",
    "tools_prompt",
]

"""`with_structured_output`: LangChain runnable glue over the transport's structured output.

Two methods:

* ``"json_schema"`` (the default; ``"json_mode"`` is the same, Llama on Azure has no JSON mode):
  the model is bound with ``response_format={"type": "json_schema", ...}``. The transport sends
  it natively, or as a prompted schema where the endpoint refuses it, validates the answer
  (one repair round) and returns its canonical JSON text, which is parsed here into the
  pydantic model or dict. An answer still invalid after the repair is the transport's
  `StructuredOutputError` (an `OutputParserException`).
* ``"function_calling"``: the schema becomes a forced tool, native or prompted according to
  the model's `tool_calling`.

A completion cut by content safety raises `ModelRefusalError` (or is returned as
`parsing_error` with ``include_raw=True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.exceptions import ModelRefusalError
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableLambda,
    RunnableMap,
    RunnablePassthrough,
)
from langchain_core.utils.function_calling import (
    convert_to_openai_function,
    convert_to_openai_tool,
)
from langchain_core.utils.pydantic import is_basemodel_subclass

import azure_llama_transport as _t

from ._errors import RequestValidationError, StructuredOutputError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["Method", "check_refusal", "response_format_of", "structured_runnable"]

Method = Literal["function_calling", "json_schema", "json_mode"]


def structured_runnable(
    model: BaseChatModel, schema: Any, *, method: Method, include_raw: bool
) -> Runnable[Any, Any]:
    """The runnable behind `ChatAzureLlama.with_structured_output`."""
    if schema is None:
        raise RequestValidationError(
            "with_structured_output needs a schema: Llama on Azure has no JSON mode, so the "
            "schema is what the answer is asked for and validated against.",
            param="schema",
        )
    if method not in ("function_calling", "json_schema", "json_mode"):
        raise RequestValidationError(
            f"Unknown method {method!r}; use 'json_schema', 'function_calling' or 'json_mode'.",
            param="method",
        )
    ls_format = {"kwargs": {"method": method}, "schema": schema}
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools([schema], tool_choice=name, ls_structured_output_format=ls_format)
        return _with_parser(llm, _tool_parser(schema, name), include_raw)
    llm = model.bind(
        response_format=response_format_of(schema), ls_structured_output_format=ls_format
    )
    return _with_parser(llm, _json_parser(schema), include_raw)


def response_format_of(schema: Any) -> dict[str, Any]:
    """A pydantic model, TypedDict or JSON schema as a json_schema `response_format`."""
    if isinstance(schema, Mapping) and not ({"title", "name"} & schema.keys()):
        spec: dict[str, Any] = {"name": "response", "schema": dict(schema)}
    else:
        function = convert_to_openai_function(schema)
        spec = {"name": function["name"], "schema": function["parameters"]}
        if function.get("description"):
            spec["description"] = function["description"]
    return {"type": "json_schema", "json_schema": spec}


def check_refusal(message: AIMessage) -> AIMessage:
    """Raise `ModelRefusalError` when content safety cut the answer."""
    reason = message.response_metadata.get("finish_reason")
    if _t.content_filtered(reason):
        raise ModelRefusalError(
            f"Azure AI Content Safety cut the answer (finish_reason={reason!r}), so there is "
            "no structured output.",
            raw_message=message,
        )
    return message


def _json_parser(schema: Any) -> Runnable[Any, Any]:
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def _tool_parser(schema: Any, name: str) -> Runnable[Any, Any]:
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        return PydanticToolsParser(tools=[schema], first_tool_only=True)
    return JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)


def _with_parser(
    llm: Runnable[Any, Any], parser: Runnable[Any, Any], include_raw: bool
) -> Runnable[Any, Any]:
    checked = RunnableLambda(check_refusal, name="check_refusal") | parser
    if not include_raw:
        return llm | checked
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | checked, parsing_error=lambda _: None
    ).with_fallbacks(
        [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
    )
    return _RawOrInvalid(llm, parse).runnable()


class _RawOrInvalid:
    """``{"raw": answer}`` then `parse`; an answer the transport found invalid after its
    repair round is ``{"raw": <its text>, "parsed": None, "parsing_error": error}``, as
    `include_raw` promises, instead of an exception."""

    def __init__(self, llm: Runnable[Any, Any], parse: Runnable[Any, Any]) -> None:
        self._map = RunnableMap(raw=llm)
        self._parse = parse

    def runnable(self) -> Runnable[Any, Any]:
        return RunnableLambda(self._invoke, afunc=self._ainvoke, name="AzureLlamaRaw")

    def _invoke(self, value: Any, config: RunnableConfig) -> Any:
        try:
            raw = self._map.invoke(value, config)
        except StructuredOutputError as error:
            return _invalid(error)
        return self._parse.invoke(raw, config)

    async def _ainvoke(self, value: Any, config: RunnableConfig) -> Any:
        try:
            raw = await self._map.ainvoke(value, config)
        except StructuredOutputError as error:
            return _invalid(error)
        return await self._parse.ainvoke(raw, config)


def _invalid(error: StructuredOutputError) -> dict[str, Any]:
    raw = AIMessage(content=error.partial_text or "")
    return {"raw": raw, "parsed": None, "parsing_error": error}

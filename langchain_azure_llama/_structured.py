"""Structured output for Llama on Azure, which has neither JSON mode nor native schemas.

Two methods:

* ``"json_schema"`` (the default): a system message says ``Respond only with a JSON object
  that matches this JSON schema`` followed by the schema; the answer is parsed and validated
  (a pydantic model, or the JSON schema of a TypedDict / dict). On failure, ONE repair round
  sends the conversation, the bad answer as the assistant turn and a user turn naming the
  error; a second failure raises `OutputParserException`. ``"json_mode"`` takes the same path
  (no `response_format` is ever sent: Azure answers 422 for Llama).
* ``"function_calling"``: the schema becomes a forced tool, native or prompted according to
  the model's `tool_calling`.

A completion cut by content safety raises `ModelRefusalError` (or is returned as
`parsing_error` with ``include_raw=True``).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
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
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from ._convert import FILTERED_FINISH_REASONS

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "JSON_SCHEMA_INSTRUCTION",
    "Method",
    "SchemaSpec",
    "check_refusal",
    "extract_json",
    "structured_runnable",
]

Method = Literal["function_calling", "json_schema", "json_mode"]
JSON_SCHEMA_INSTRUCTION = "Respond only with a JSON object that matches this JSON schema"
_FENCE = re.compile(r"^```[A-Za-z]*[ \t]*\n?(.*?)\s*```$", re.DOTALL)
_DECODER = json.JSONDecoder()
Steps = Generator[list[BaseMessage], AIMessage, Any]


def structured_runnable(
    model: BaseChatModel, schema: Any, *, method: Method, include_raw: bool
) -> Runnable[Any, Any]:
    """The runnable behind `ChatAzureLlama.with_structured_output`."""
    if schema is None:
        raise ValueError(
            "with_structured_output needs a schema: Llama on Azure has no JSON mode, so the "
            "schema is what the prompt asks for and what the answer is validated against."
        )
    if method == "function_calling":
        return _function_calling(model, schema, include_raw)
    if method in ("json_schema", "json_mode"):
        return _json_schema(model, schema, include_raw, method)
    raise ValueError(
        f"Unknown method {method!r}; use 'json_schema', 'function_calling' or 'json_mode'."
    )


def check_refusal(message: AIMessage) -> AIMessage:
    """Raise `ModelRefusalError` when content safety cut the answer."""
    reason = message.response_metadata.get("finish_reason")
    if reason in FILTERED_FINISH_REASONS:
        raise ModelRefusalError(
            f"Azure AI Content Safety cut the answer (finish_reason={reason!r}), so there is "
            "no structured output.",
            raw_message=message,
        )
    return message


# -- function calling -------------------------------------------------------------------------


def _function_calling(model: BaseChatModel, schema: Any, include_raw: bool) -> Runnable[Any, Any]:
    name = convert_to_openai_tool(schema)["function"]["name"]
    llm = model.bind_tools(
        [schema],
        tool_choice=name,
        ls_structured_output_format={"kwargs": {"method": "function_calling"}, "schema": schema},
    )
    parser: Runnable[Any, Any]
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        parser = PydanticToolsParser(tools=[schema], first_tool_only=True)
    else:
        parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    checked = RunnableLambda(check_refusal, name="check_refusal") | parser
    if not include_raw:
        return llm | checked
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | checked, parsing_error=lambda _: None
    ).with_fallbacks(
        [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
    )
    return RunnableMap(raw=llm) | parse


# -- prompted JSON schema ---------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaSpec:
    """A schema as the prompt shows it and as the answer is checked against it."""

    json_schema: dict[str, Any]
    validate: Callable[[Any], Any]

    @classmethod
    def of(cls, schema: Any) -> SchemaSpec:
        if isinstance(schema, type) and is_basemodel_subclass(schema):
            model: Any = schema
            if hasattr(model, "model_json_schema"):  # pydantic 2
                return cls(model.model_json_schema(), model.model_validate)
            return cls(model.schema(), model.parse_obj)  # pydantic.v1
        json_schema = _json_schema_of(schema)
        return cls(json_schema, lambda value: _validate_dict(value, json_schema))

    def parse(self, text: str) -> Any:
        """Parse and validate an answer; any failure is an `OutputParserException`."""
        try:
            return self.validate(extract_json(text))
        except Exception as exc:
            raise OutputParserException(
                f"The answer does not match the JSON schema: {exc}", llm_output=text
            ) from exc


def _json_schema_of(schema: Any) -> dict[str, Any]:
    try:
        return convert_to_json_schema(schema)
    except (ValueError, TypeError, KeyError):
        if isinstance(schema, dict):
            return schema
        raise


def _validate_dict(value: Any, json_schema: dict[str, Any]) -> Any:
    try:
        jsonschema = importlib.import_module("jsonschema")
    except ImportError:  # pragma: no cover - jsonschema ships with the dependencies
        if not isinstance(value, dict):
            raise ValueError("the answer is not a JSON object") from None
        missing = [k for k in json_schema.get("required", []) if k not in value]
        if missing:
            raise ValueError(f"missing required keys {missing}") from None
        return value
    jsonschema.validate(value, json_schema)
    return value


def extract_json(text: str) -> Any:
    """The JSON value of an answer: whole, fenced, or the first object after some prose."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        return json.loads(body)
    except ValueError:
        start = body.find("{")
        if start < 0:
            raise ValueError("the answer holds no JSON object") from None
        value, _ = _DECODER.raw_decode(body, start)
        return value


def _instruction(spec: SchemaSpec) -> str:
    schema = json.dumps(spec.json_schema, ensure_ascii=False)
    return f"{JSON_SCHEMA_INSTRUCTION}:\n{schema}\n\nWrite nothing before or after the JSON object."


def _with_instruction(messages: list[BaseMessage], text: str) -> list[BaseMessage]:
    """Append the instruction to the leading system message, or add one first."""
    if messages and isinstance(messages[0], SystemMessage) and isinstance(messages[0].content, str):
        first = SystemMessage(content=f"{messages[0].content}\n\n{text}")
        return [first, *messages[1:]]
    return [SystemMessage(content=text), *messages]


def _repair_request(error: OutputParserException) -> HumanMessage:
    reason = str(error).split("\nFor troubleshooting", 1)[0]
    return HumanMessage(
        content=(
            f"That answer cannot be used. {reason}. Reply again with only the corrected JSON "
            "object that matches the JSON schema."
        )
    )


def _steps(messages: list[BaseMessage], spec: SchemaSpec) -> Steps:
    """The conversation, one model call per `yield`: first answer, then one repair round."""
    raw = check_refusal((yield messages))
    try:
        return spec.parse(raw.text)
    except OutputParserException as error:
        repair = [*messages, AIMessage(content=raw.text), _repair_request(error)]
        second = check_refusal((yield repair))
        return spec.parse(second.text)


class _Driver:
    """Runs `_steps` against a model, sync or async, keeping the last raw answer."""

    def __init__(self, model: BaseChatModel, schema: Any, method: str, include_raw: bool) -> None:
        self.model = model
        self.spec = SchemaSpec.of(schema)
        self.instruction = _instruction(self.spec)
        self.include_raw = include_raw
        self.ls_format = {"kwargs": {"method": method}, "schema": schema}

    def _start(self, value: Any) -> tuple[Steps, list[BaseMessage]]:
        messages = self.model._convert_input(value).to_messages()
        steps = _steps(_with_instruction(messages, self.instruction), self.spec)
        return steps, next(steps)

    def _outcome(self, raw: AIMessage | None, parsed: Any, error: Exception | None) -> Any:
        if self.include_raw:
            return {"raw": raw, "parsed": parsed, "parsing_error": error}
        if error is not None:
            raise error
        return parsed

    def invoke(self, value: Any, config: RunnableConfig) -> Any:
        steps, request = self._start(value)
        raw: AIMessage | None = None
        try:
            while True:
                raw = self.model.invoke(request, config, ls_structured_output_format=self.ls_format)
                request = steps.send(raw)
        except StopIteration as done:
            return self._outcome(raw, done.value, None)
        except (OutputParserException, ModelRefusalError) as error:
            return self._outcome(raw, None, error)

    async def ainvoke(self, value: Any, config: RunnableConfig) -> Any:
        steps, request = self._start(value)
        raw: AIMessage | None = None
        try:
            while True:
                raw = await self.model.ainvoke(
                    request, config, ls_structured_output_format=self.ls_format
                )
                request = steps.send(raw)
        except StopIteration as done:
            return self._outcome(raw, done.value, None)
        except (OutputParserException, ModelRefusalError) as error:
            return self._outcome(raw, None, error)


def _json_schema(
    model: BaseChatModel, schema: Any, include_raw: bool, method: str
) -> Runnable[Any, Any]:
    driver = _Driver(model, schema, method, include_raw)
    return RunnableLambda(driver.invoke, afunc=driver.ainvoke, name="AzureLlamaJsonSchema")

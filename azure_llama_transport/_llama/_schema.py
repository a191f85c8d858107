"""Structured output on wire dicts: a JSON schema asked for in the prompt, validated on return.

`response_format` arrives as ``{"type": "json_schema", "json_schema": {"name", "schema",
"strict"}}`` or as a pydantic model class (LiteLLM passes the class through): `schema_of` reads
either. Sent natively where the endpoint takes it; otherwise (Azure answers 422 for Llama,
docs/wire-protocol.md §6 and §11) the schema goes into the system prompt. Either way the answer is
extracted (whole, fenced, or the first object after some prose), validated with `jsonschema`,
and one repair round shows the model its error (`repair_messages`).

Bounded (`_bounds`): an answer over `Limits.max_model_text` characters or nested deeper than
`Limits.max_json_depth` is not parsed (it is invalid, with a reason); what is wrong is said in
at most `EXCERPT_CHARS` characters (jsonschema's messages embed the repr of the whole value),
and the repair round echoes at most `REPAIR_ECHO_CHARS` characters of the bad answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._limits import DEFAULT_LIMITS, Limits
from ._bounds import REPAIR_ECHO_CHARS, TooDeep, check_depth, excerpt, loads, unfence

__all__ = [
    "JSON_SCHEMA_INSTRUCTION",
    "Schema",
    "extract_json",
    "repair_messages",
    "schema_of",
]

JSON_SCHEMA_INSTRUCTION = "Respond only with a JSON object that matches this JSON schema"
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Schema:
    """A requested output schema: its name, the JSON schema, and the native `response_format`."""

    name: str
    json_schema: dict[str, Any]
    strict: bool | None = None

    @property
    def response_format(self) -> dict[str, Any]:
        """The native `response_format` body value (OpenAI's json_schema shape)."""
        spec: dict[str, Any] = {"name": self.name, "schema": self.json_schema}
        if self.strict is not None:
            spec["strict"] = self.strict
        return {"type": "json_schema", "json_schema": spec}

    @property
    def instruction(self) -> str:
        schema = json.dumps(self.json_schema, ensure_ascii=False)
        return (
            f"{JSON_SCHEMA_INSTRUCTION}:\n{schema}\n\n"
            "Write nothing before or after the JSON object."
        )

    def parse(self, text: str, *, limits: Limits | None = None) -> tuple[Any, str | None]:
        """(value, None) for a valid answer, else (None, what is wrong with it, in short)."""
        limits = limits or DEFAULT_LIMITS
        if len(text) > limits.max_model_text:
            return None, (
                f"The answer is longer than {limits.max_model_text:,} characters "
                "(Limits.max_model_text); it was not parsed"
            )
        try:
            value = extract_json(text, limits=limits)
        except ValueError as exc:
            return None, f"The answer is not JSON ({excerpt(str(exc))})"
        # Imported here: it costs ~40 ms, and most calls never validate.
        import jsonschema  # type: ignore[import-untyped]

        try:
            jsonschema.validate(value, self.json_schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
            return None, excerpt(f"The JSON does not match the schema at {where}: {exc.message}")
        except jsonschema.SchemaError as exc:
            return None, excerpt(f"The requested schema itself is invalid: {exc.message}")
        except RecursionError:  # a recursive schema, walked deeper than the stack allows
            return None, "The JSON is nested too deep to validate against the schema"
        return value, None


def schema_of(response_format: Any) -> Schema | None:
    """The `Schema` of a json_schema `response_format` (dict or pydantic class), else None.

    `{"type": "text"}` and anything else that asks for no schema is None (sent as given).
    """
    if response_format is None:
        return None  # most calls: skip the attribute and ABC checks below
    to_schema = getattr(response_format, "model_json_schema", None)
    if isinstance(response_format, type) and callable(to_schema):
        return Schema(response_format.__name__, to_schema(), True)
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
        from .._errors import RequestValidationError

        raise RequestValidationError(
            "response_format json_schema needs {'json_schema': {'name': ..., 'schema': {...}}}.",
            param="response_format",
        )
    strict = spec.get("strict")
    return Schema(
        str(spec.get("name") or "response"),
        dict(spec["schema"]),
        strict if isinstance(strict, bool) else None,
    )


def extract_json(text: str, *, limits: Limits | None = None) -> Any:
    """The JSON value of an answer: whole, fenced, or the first object after some prose.

    Raises `ValueError` when there is none, or when it nests deeper than
    `Limits.max_json_depth` (checked before parsing, in linear time).
    """
    body = unfence(text.strip())
    try:
        return loads(body, limits)
    except TooDeep:
        raise
    except ValueError:
        start = body.find("{")
        if start < 0:
            raise ValueError("no JSON object in the answer") from None
    # Strings are told apart from the object's start now: the prose before may hold a quote.
    rest = body[start:]
    check_depth(rest, limits)
    try:
        value, _ = _DECODER.raw_decode(rest)
    except RecursionError:  # not reached under the depth check
        raise TooDeep((limits or DEFAULT_LIMITS).max_json_depth) from None
    return value


def repair_messages(
    messages: Sequence[Mapping[str, Any]], answer: str, problem: str
) -> list[dict[str, Any]]:
    """The repair round: the conversation, the bad answer, and a user turn naming the error.

    Both are bounded: the answer is echoed up to `REPAIR_ECHO_CHARS` characters (past that it
    cannot be a sane answer anyway), the problem up to `EXCERPT_CHARS`.
    """
    request = (
        f"That answer cannot be used. {excerpt(problem)}. Reply again with only the corrected "
        "JSON object that matches the JSON schema."
    )
    return [
        *(dict(m) for m in messages),
        {"role": "assistant", "content": excerpt(answer, REPAIR_ECHO_CHARS)},
        {"role": "user", "content": request},
    ]

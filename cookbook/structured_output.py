"""Structured output: free text in, a validated pydantic object out.

Shows: `ChatAzureLlama.with_structured_output(Model)`. Llama on Azure has no JSON mode
(`json_object` is answered with a 422), and real deployments refuse `response_format:
json_schema` with a 422 too. The default method sends the schema as `response_format`; once
the endpoint has refused it, the transport writes the JSON schema into a system message
instead, validates the answer against it, and, if it does not validate, asks once more with
the error (one repair round). `include_raw=True` also returns the raw message (here for its
token usage). `method="function_calling"` instead forces a tool call, prompted when the
endpoint refuses native tools, and gives the same object.

Run:  make install && .venv/bin/python cookbook/structured_output.py
Azure: set AZURE_INFERENCE_ENDPOINT, AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL);
otherwise the built-in emulator answers, set to refuse native tools and schemas as real Llama
does (deterministically: it fills the schema from the
`field: value` pairs of the text, which is also how this text is written).
"""

from __future__ import annotations

from typing import Literal

from _target import target  # cookbook/ is on sys.path when a recipe runs as a script
from pydantic import BaseModel, Field

from langchain_azure_llama import ChatAzureLlama

EMAIL = """Hello, we would like a quote for your analytics product.
name: "Ada Lovelace"
company: "Analytical Engines Ltd"
email: ada@example.com
seats: 12
We need it before the end of the quarter, so this is fairly urgent."""


class Lead(BaseModel):
    """A sales lead extracted from an email."""

    name: str = Field(description="the sender's full name")
    company: str
    email: str
    seats: int = Field(description="how many licences they ask for", ge=1)
    urgency: Literal["high", "normal", "low"]


def main() -> None:
    with target(tool_mode="reject", response_format_mode="reject") as t:
        print(f"Talking to {t.describe()}\n")
        llm = ChatAzureLlama(
            model=t.model, endpoint=t.endpoint, api_key=t.api_key, temperature=0, max_tokens=256
        )
        extract = llm.with_structured_output(Lead, include_raw=True)
        result = extract.invoke([("system", "Extract the sales lead."), ("user", EMAIL)])
        assert isinstance(result, dict)  # include_raw=True: {"raw", "parsed", "parsing_error"}
        lead: Lead = result["parsed"]
        print("json_schema      :", repr(lead))
        usage = result["raw"].usage_metadata or {}
        print(
            f"usage            : {usage.get('input_tokens')} in + {usage.get('output_tokens')} out"
        )
        print("parsing_error    :", result["parsing_error"])

        as_tool = llm.with_structured_output(Lead, method="function_calling")
        same = as_tool.invoke([("system", "Extract the sales lead."), ("user", EMAIL)])
        print("function_calling :", repr(same))
        print("same object      :", same == lead)


if __name__ == "__main__":
    main()

"""The emulator's configuration: one frozen dataclass, varied with `dataclasses.replace`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["serverless", "managed", "foundry", "openai-v1"]
ModelType = Literal["chat-completion", "text-generation"]
ToolMode = Literal["native", "reject", "ignore"]
KINDS = ("serverless", "managed", "foundry", "openai-v1")
TOOL_MODES = ("native", "reject", "ignore")
ResponseFormatMode = Literal["accept", "reject"]


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated Azure endpoint behaves.

    Attributes:
        api_key: The endpoint key, accepted as `Authorization: Bearer <key>` or `api-key: <key>`.
        kind: "serverless" (MaaS: key only, content safety on the Model Inference routes),
            "managed" (managed compute: key or Entra tokens, no content safety, deployments) or
            "foundry" (a Foundry Models endpoint: the Model Inference routes under `/models`,
            key or Entra tokens, content safety, the deployment chosen by `model` in the body)
            or "openai-v1" (a Foundry resource's Azure OpenAI v1 route: `POST /openai/v1/chat/
            completions` and `GET /openai/v1/models`, `model` = a deployment name, required and
            case-sensitive, no `api-version`, key or Entra tokens, content safety, Azure
            OpenAI's `{"error": {code, message, param, type, innererror}}` error bodies).
        model_name: The model served (reported by `/info` and in every response's `model`).
        model_type: "chat-completion" serves the chat routes, "text-generation" the completion
            routes; the other family answers 404 `NOT FOUND`, as a real deployment does.
        info_spelling: The raw `model_type` that `/info` reports for a chat model:
            "chat-completion" (real), "chat-completions" (docs) or "chat_completion" (SDK enum).
        deployments: Managed only. Deployment name -> model name, selected with the request
            header `azureml-model-deployment`; every deployment shares `model_type`.
        models: Foundry and openai-v1 only. The deployments served, chosen by the body's
            `model` (on foundry also the `x-ms-model-mesh-model-name` header); defaults to
            `model_name` alone. An entry `NAME=MODEL` names a deployment of MODEL: answers
            then say MODEL in their `model` field, as Azure does for a custom deployment name.
        accepted_tokens: Managed or foundry only. Entra bearer tokens accepted besides the key.
        tool_mode: "native" answers `tools` with tool calls; "reject" answers any request with
            `tools` with the 400 that vLLM-backed Llama deployments return; "ignore" answers as
            if no `tools` had been sent (plain text), as Llama-3.3-70B on Azure did
            (microsoft/semantic-kernel#10221).
        response_format_mode: "accept" answers a `response_format` of type `json_schema` with
            JSON that validates against its schema; "reject" answers it with the documented
            422 `parameter_not_supported` (REF-API), as Llama on Azure does for JSON output.
            `json_object` gets that 422 in both modes (LLAMA-DOC: no JSON mode).
        json_fence: Wrap the JSON the responder writes for a prompted tool call or a schema
            found in the prompt in a ```json fence, to exercise clients' extraction.
        prompt_filter_trigger: A message containing it gets the 400 `content_filter` (LLAMA-DOC
            shape). Empty string disables it.
        jailbreak_trigger: A message containing it gets the 400 `content_filter` in the
            AOAI/Foundry shape with `innererror.content_filter_result`. Empty disables it.
        output_filter_trigger: The last user message containing it cuts the reply after three
            tokens with `finish_reason: "content_filter"`. Empty disables it.
        rpm_limit: Requests per rolling minute before a 429 (inference routes only).
        tpm_limit: Tokens (prompt + max_tokens, or prompt + completion) per rolling minute.
        upstream_url: Base URL of an OpenAI-compatible server (llama.cpp, Ollama, vLLM) that
            answers instead of the deterministic responder; its answers are re-shaped.
        upstream_model: The `model` sent upstream; defaults to the request's, else model_name.
        chunk_delay: Seconds to sleep between streamed chunks (0 = write as fast as possible).
        record_requests: Keep every request in `Emulator.requests` (turn off for soak runs).
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
    """

    api_key: str = "emulator-key"
    kind: Kind = "serverless"
    model_name: str = "Meta-Llama-3.1-8B-Instruct"
    model_type: ModelType = "chat-completion"
    info_spelling: str = "chat-completion"
    deployments: Mapping[str, str] | None = None
    models: tuple[str, ...] = ()
    accepted_tokens: tuple[str, ...] = ()
    tool_mode: ToolMode = "native"
    response_format_mode: ResponseFormatMode = "accept"
    json_fence: bool = False
    prompt_filter_trigger: str = "BLOCKME"
    jailbreak_trigger: str = "JAILBREAK"
    output_filter_trigger: str = "FILTERME"
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    upstream_url: str | None = None
    upstream_model: str | None = None
    chunk_delay: float = 0.0
    record_requests: bool = True
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.model_type not in ("chat-completion", "text-generation"):
            raise ValueError(f"unknown model_type {self.model_type!r}")
        if self.tool_mode not in TOOL_MODES:
            raise ValueError(f"unknown tool_mode {self.tool_mode!r}")
        if self.response_format_mode not in ("accept", "reject"):
            raise ValueError(f"unknown response_format_mode {self.response_format_mode!r}")
        if self.kind == "serverless" and (self.deployments or self.accepted_tokens):
            # Serverless endpoints host one model and never accept Entra tokens
            # (docs/wire-protocol.md §4).
            raise ValueError("deployments and accepted_tokens need kind='managed'")
        if self.models and self.kind not in _BY_MODEL:
            raise ValueError(
                "models needs kind='foundry' or 'openai-v1' (managed compute uses deployments)"
            )
        if self.kind in _BY_MODEL and self.deployments:
            raise ValueError(f"kind={self.kind!r} chooses by model: use models, not deployments")
        for entry in self.models:
            name, sep, model = entry.partition("=")
            if not name or (sep and not model):
                raise ValueError(f"models entries are NAME or NAME=MODEL, not {entry!r}")
        if self.deployments is not None and not self.deployments:
            raise ValueError("deployments, when given, must name at least one deployment")

    @property
    def foundry_models(self) -> tuple[str, ...]:
        """The deployments a foundry or openai-v1 endpoint serves, by name."""
        return tuple(self.served_models)

    @property
    def served_models(self) -> dict[str, str]:
        """Deployment name -> the model it serves (a foundry or openai-v1 endpoint)."""
        entries = self.models or (self.model_name,)
        pairs = (entry.partition("=") for entry in entries)
        return {name: model or name for name, _, model in pairs}


_BY_MODEL = ("foundry", "openai-v1")

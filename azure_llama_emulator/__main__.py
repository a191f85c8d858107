"""`azure-llama-emulator` / `python -m azure_llama_emulator`: serve until Ctrl-C.

Kinds: serverless (default; one model, key only), managed (--deployment / --token), foundry
(--models: the Model Inference routes under /models) and openai-v1 (--kind openai-v1 --models:
a Foundry resource's Azure OpenAI v1 route, POST /openai/v1/chat/completions with `model` = a
deployment name, GET /openai/v1/models). Control headers: x-emulator-fault,
x-emulator-reply-tokens: N, x-emulator-parallel-calls: N.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from ._config import KINDS, TOOL_MODES, EmulatorConfig, Kind
from ._emulator import Emulator


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground; SIGINT or SIGTERM stops it."""
    args = _parser().parse_args(argv)
    deployments = dict(_deployment(d) for d in args.deployment) or None
    models = tuple(name.strip() for name in (args.models or "").split(",") if name.strip())
    config = EmulatorConfig(
        api_key=args.api_key,
        kind=args.kind or _kind(deployments, args.token, models),
        model_name=models[0] if models else args.model,
        models=models,
        model_type=args.model_type,
        info_spelling=args.info_spelling,
        deployments=deployments,
        accepted_tokens=tuple(args.token),
        tool_mode=args.tool_mode,
        response_format_mode=args.response_format_mode,
        json_fence=args.json_fence,
        rpm_limit=args.rpm,
        tpm_limit=args.tpm,
        upstream_url=args.upstream,
        upstream_model=args.upstream_model,
        chunk_delay=args.chunk_delay,
        record_requests=False,  # a long-running server would grow without bound
        host=args.host,
        port=args.port,
    )
    stop = _stop_on_signals()  # before the banner: a client may signal as soon as it reads it
    with Emulator(config) as emu:
        served = (
            sorted(deployments.values()) if deployments else config.models or (config.model_name,)
        )
        model = ", ".join(served)
        banner = (
            f"Azure Llama emulator listening on {emu.url} (model {model}, key {config.api_key})"
        )
        print(banner, flush=True)
        stop.wait()  # the handlers run in this (main) thread, interrupting the wait
    return 0


def _kind(deployments: object, tokens: Sequence[str], models: Sequence[str]) -> Kind:
    if models:
        return "foundry"
    return "managed" if deployments or tokens else "serverless"


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _deployment(spec: str) -> tuple[str, str]:
    name, sep, model = spec.partition("=")
    if not sep or not name or not model:
        raise SystemExit(f"--deployment expects NAME=MODEL, got {spec!r}")
    return name, model


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azure-llama-emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add(
        "--port",
        type=int,
        default=8089,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    add(
        "--api-key",
        default="emulator-key",
        help="the endpoint key, as Authorization: Bearer or api-key (default: %(default)s)",
    )
    add(
        "--kind",
        choices=KINDS,
        default=None,
        help="endpoint kind (default: foundry with --models, managed with --deployment or "
        "--token, else serverless); openai-v1 serves the Azure OpenAI v1 route",
    )
    add(
        "--model",
        default="Meta-Llama-3.1-8B-Instruct",
        help="the model served, reported by /info and in every answer (default: %(default)s)",
    )
    add(
        "--model-type",
        choices=["chat-completion", "text-generation"],
        default="chat-completion",
        help="chat-completion serves the chat routes, text-generation the completion routes",
    )
    add(
        "--info-spelling",
        default="chat-completion",
        help="the raw model_type /info reports for a chat model (default: %(default)s)",
    )
    add(
        "--tool-mode",
        "--tools-mode",
        dest="tool_mode",
        choices=TOOL_MODES,
        default="native",
        help="native `tools`: answer with tool calls (native), refuse with vLLM's 400 "
        "(reject) or answer in plain text as if none were sent (ignore)",
    )
    add(
        "--response-format-mode",
        choices=["accept", "reject"],
        default="accept",
        help="json_schema response_format: answered (accept) or Azure's 422 (reject)",
    )
    add("--json-fence", action="store_true", help="fence prompted JSON answers in ```json")
    add("--rpm", type=int, default=None, help="requests per rolling minute before a 429")
    add("--tpm", type=int, default=None, help="tokens per rolling minute before a 429")
    add("--upstream", default=None, help="OpenAI-compatible base URL to forward to")
    add("--upstream-model", default=None, help="the model sent upstream (default: the request's)")
    add(
        "--chunk-delay",
        type=float,
        default=0.0,
        help="seconds between streamed chunks (default: %(default)s)",
    )
    add(
        "--deployment",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="managed: a deployment, chosen by the azureml-model-deployment header (repeat)",
    )
    add(
        "--token",
        action="append",
        default=[],
        help="Entra token accepted (managed, foundry, openai-v1)",
    )
    add(
        "--models",
        default=None,
        help="foundry / openai-v1: deployments served, chosen by the body's `model` (a,b,c); "
        "NAME=MODEL names a deployment of MODEL, e.g. "
        "my-maverick=Llama-4-Maverick-17B-128E-Instruct-FP8",
    )
    return parser


if __name__ == "__main__":
    raise SystemExit(main())

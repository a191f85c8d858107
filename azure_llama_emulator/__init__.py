"""A local emulator of Azure's routes for Meta Llama deployments: the Model Inference API, the
Llama-native `/v1` routes, Foundry's `/models` and a Foundry resource's Azure OpenAI v1 route.

Built from the wire protocol's public sources (`docs/wire-protocol.md`) alone and importing no
other package of this project (not `azure_llama_transport`), so one misreading of the protocol
cannot hide in both; ``langchain_azure_llama.emulator`` is a deprecated alias of it.
Answers come from a deterministic responder (not a model) that reads prompts in Meta's
documented Llama 3.1 JSON and Llama 3.2 / 3.3 / 4 pythonic formats, or, optionally, from an
OpenAI-compatible upstream server re-shaped into Azure's wire shapes.

    from azure_llama_emulator import Emulator, EmulatorConfig, Fault

    with Emulator(EmulatorConfig(rpm_limit=2)) as emu:
        emu.inject(Fault.status(503, retry_after=1), times=2)
        ...  # talk to emu.url; inspect emu.requests

Control headers (the emulator's own, never Azure's):
    x-emulator-fault: a fault for this request only, e.g. `cut-after=3` or
        `status=429; retry-after=2` (full syntax in `_faults`).
    x-emulator-reply-tokens: N -- reply with exactly N tokens `tok0 ... tok{N-1}` (N <= 100,000).
    x-emulator-parallel-calls: N -- answer tools with N calls (native or a pythonic list).
    Each at most once and at most 256 characters; an unknown `x-emulator-*` header, a repeated
    one or a longer one is a 400 `EmulatorBadHeader`, checked (after auth) before the body is
    read. A request that fails auth gets its 401 without its body being read.

Where no source records a real shape, the choice made is noted in `_wire`.
"""

from __future__ import annotations

from ._config import EmulatorConfig
from ._emulator import Emulator
from ._faults import Fault
from ._state import RecordedRequest

__all__ = ["Emulator", "EmulatorConfig", "Fault", "RecordedRequest"]

"""Say once per process that a model is one Azure has retired.

Azure retires models on the routes it runs itself: serverless (pay-as-you-go) deployments and
Foundry resources (the Model Inference API and the OpenAI v1 route). There, a call to a retired
model warns with `RetiredModelWarning`, naming the retirement date and Azure's suggested
replacement, once per model per process. Managed compute hosts the customer's own copy of the
weights (nothing is retired under it) and "other" endpoints (proxies, local servers) are not
Azure's: neither ever warns.

Both the name the caller sent and the name each answer carries are checked: on a Foundry resource
the deployment name is the user's own ("my-llama"), and only the answer's `model` says what it
serves. Dates and replacements: the catalogue (`_catalogue`, docs/wire-protocol.md §21).
"""

from __future__ import annotations

import threading
import warnings

from ._config import EndpointKind

__all__ = ["RetiredModelWarning", "warn_if_retired"]

_AZURE_RUN: frozenset[str] = frozenset({"serverless", "foundry", "openai-v1"})
_warned: set[str] = set()
_lock = threading.Lock()


class RetiredModelWarning(UserWarning):
    """The model called is one Azure has retired on its serverless and Foundry routes.

    Filter it like any warning, e.g.
    ``warnings.filterwarnings("ignore", category=RetiredModelWarning)``.
    """


def warn_if_retired(model: object, kind: EndpointKind, *, answered: bool = False) -> None:
    """Warn (once per model per process) when `model` is retired and `kind` is Azure-run.

    `answered`: `model` is the name an answer carries, a model name, so it is read in the
    catalogue only; a name the caller sent may be a deployment name, known by the model its
    answers named (`_catalogue.remember_served`), so it is read through that memory too.
    """
    if kind not in _AZURE_RUN or not isinstance(model, str) or not model:
        return
    from ._catalogue import listed, lookup  # the catalogue loads on first use

    entry = listed(model) if answered else lookup(model)
    if entry is None or entry.retired is None:
        return
    with _lock:
        if entry.name in _warned:
            return
        _warned.add(entry.name)
    gone = entry.retired
    served = "" if entry.name == model else f" (served as {model!r})"
    text = (
        f"{entry.name}{served} was retired by Azure on {gone.date} for serverless and Foundry "
        "deployments (Azure: 'attempts to use existing deployments return 404 errors'). "
        f"Suggested replacement: {gone.replacement}. Source: {gone.source}. Filter "
        "RetiredModelWarning to silence this."
    )
    warnings.warn(RetiredModelWarning(text), stacklevel=2)

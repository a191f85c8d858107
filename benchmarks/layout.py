"""The transport and the LiteLLM provider of the tree under test, whichever layout it has.

`compare_trees.py` runs this directory's probes against an older tree too, and one from before
the package split (issue 23) has the transport at `langchain_azure_llama.transport` and the
provider at `litellm_provider`. The tree is where `langchain_azure_llama` comes from (the probe's
working directory, first on `sys.path`), never a newer package found further down the path.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType


def _split() -> bool:
    spec = importlib.util.find_spec("langchain_azure_llama")
    assert spec is not None and spec.origin is not None
    return (Path(spec.origin).parent.parent / "azure_llama_transport").is_dir()


SPLIT = _split()
TRANSPORT = "azure_llama_transport" if SPLIT else "langchain_azure_llama.transport"
PROVIDER = "litellm_azure_llama" if SPLIT else "litellm_provider"


def transport(submodule: str = "") -> ModuleType:
    """The transport package, or one of its modules (``"._request"``)."""
    return importlib.import_module(TRANSPORT + submodule)


def provider() -> ModuleType:
    return importlib.import_module(PROVIDER)

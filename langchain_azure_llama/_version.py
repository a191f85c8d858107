"""The version, from the installed distribution's metadata (pyproject.toml declares it once).

A leaf module, so that ``langchain_azure_llama.__version__`` loads nothing else; a source tree
without installed metadata reports ``0+unknown``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("langchain-azure-llama")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

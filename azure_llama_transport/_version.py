"""The version, from the installed distribution's metadata (pyproject.toml declares it once).

Read here rather than from the LangChain package, which the transport never imports; a source
tree without installed metadata reports ``0+unknown``.
"""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "langchain-azure-llama"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

"""What installing the package gives: four top-level packages (and the deprecated aliases), one
version from the metadata, LiteLLM only with its extra, real types for type checkers."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

import azure_llama_transport as transport
import langchain_azure_llama
from tests._support.layout import PACKAGES, ROOT, TOP_LEVEL_ALIASES
from tests._support.transport import make_sync

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev group installs tomli there
    import tomli as tomllib

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Extras for measuring peers, not for using the library: `make install` need not pull them.
_NOT_INSTALLED_BY_MAKE = {"bench"}


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_the_langchain_half_works_without_litellm() -> None:
    # `sys.modules[name] = None` makes `import litellm` fail, as on an install without the extra.
    out = _run(
        """
        import sys
        sys.modules["litellm"] = None
        from langchain_azure_llama import AzureLlama, ChatAzureLlama
        from azure_llama_emulator import Emulator, EmulatorConfig
        with Emulator(EmulatorConfig(api_key="k", model_name="Meta-Llama-3.1-8B-Instruct")) as emu:
            model = ChatAzureLlama(endpoint=emu.url, api_key="k", max_tokens=5)
            print(type(model.invoke("hi").content).__name__)
        print(AzureLlama.__name__)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["str", "AzureLlama"]


@pytest.mark.parametrize("package", ["litellm_azure_llama", "litellm_provider"])
def test_the_litellm_provider_without_litellm_names_the_extra(package: str) -> None:
    out = _run(
        f"""
        import sys, warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # litellm_provider: the old name
        sys.modules["litellm"] = None
        try:
            import {package}
        except ImportError as exc:
            print(exc.name, "|", exc)
        else:
            print("imported")
        """
    )
    assert out.returncode == 0, out.stderr
    name, _, message = out.stdout.strip().partition(" | ")
    assert name == "litellm"
    assert "pip install 'langchain-azure-llama[litellm]'" in message


def test_the_wheel_holds_the_four_packages_and_the_old_name() -> None:
    """The wheel's packages are the four of the picture plus `litellm_provider` (the deprecated
    alias; the other two aliases live inside `langchain_azure_llama`), and every one of them is a
    package in this tree; mypy checks the same list, and no other package sits at the top."""
    wheel = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert wheel == [*PACKAGES, *TOP_LEVEL_ALIASES]
    assert PYPROJECT["tool"]["mypy"]["packages"] == wheel
    here = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks", "cookbook"}
    assert here == set(wheel)
    aliases = [ROOT / "langchain_azure_llama" / "transport.py"]
    aliases += [ROOT / "langchain_azure_llama" / "emulator" / "__init__.py"]
    assert all(path.is_file() for path in aliases)


def test_the_console_script_starts_the_emulator_package() -> None:
    script = PYPROJECT["project"]["scripts"]["azure-llama-emulator"]
    assert script == "azure_llama_emulator.__main__:main"
    out = _run(
        """
        import importlib, sys
        module = importlib.import_module("azure_llama_emulator.__main__")
        print(callable(module.main), "langchain_azure_llama" in sys.modules)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]


def test_one_version_read_from_the_metadata() -> None:
    """pyproject.toml declares the version once; both packages report the installed
    distribution's, and the transport sends it in its User-Agent."""
    assert "version" not in PYPROJECT["project"].get("dynamic", [])
    installed = version("langchain-azure-llama")
    assert transport.__version__ == installed == langchain_azure_llama.__version__
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["user-agent"])
        return httpx.Response(401, json={"error": {"code": "Unauthorized", "message": "no"}})

    with pytest.raises(transport.AuthenticationError):
        make_sync(handler, max_retries=0).chat([{"role": "user", "content": "hi"}])
    assert sent == [f"langchain-azure-llama/{installed} httpx/{httpx.__version__}"]


@pytest.mark.parametrize("package", ["azure_llama_transport", "langchain_azure_llama"])
def test_a_tree_without_metadata_says_its_version_is_unknown(package: str) -> None:
    out = _run(
        f"""
        import importlib.metadata as metadata

        def missing(name):
            raise metadata.PackageNotFoundError(name)

        metadata.version = missing
        import {package}
        print({package}.__version__)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0+unknown"


def test_litellm_is_an_extra_not_a_dependency() -> None:
    core = {Requirement(r).name for r in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "litellm" not in core
    assert [Requirement(r).name for r in extras["litellm"]] == ["litellm"]


def test_installed_litellm_is_inside_the_declared_range() -> None:
    # The range is what the provider's tests ran against; the pinned CI version must be in it.
    (spec,) = PYPROJECT["project"]["optional-dependencies"]["litellm"]
    assert Requirement(spec).specifier.contains(version("litellm"))


def test_make_install_installs_every_extra() -> None:
    """The README's two commands (`make quickstart`, `make check`) must set everything up."""
    install = re.search(r"^install:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert install is not None
    extras = re.search(r'-e "\.\[([^\]]*)\]"', install.group(1))
    assert extras is not None
    wanted = set(PYPROJECT["project"]["optional-dependencies"]) - _NOT_INSTALLED_BY_MAKE
    assert set(extras.group(1).split(",")) == wanted


def _revealed(tmp_path: Path, module: str, names: list[str]) -> list[str]:
    """What mypy says each of `names`, imported from `module`, is.

    Frameworks are skipped so that the check takes seconds: only our own names matter here.
    """
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        f"from {module} import {', '.join(names)}\n"
        + "".join(f"reveal_type({name})\n" for name in names)
    )
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\nfollow_imports = silent\nignore_missing_imports = true\n"
        "[mypy-langchain_core.*,pydantic.*,pydantic_core.*,httpx.*,httpx_sse.*,"
        "aiohttp.*,langsmith.*]\nfollow_imports = skip\n"
    )
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-error-summary"]
    out = subprocess.run(
        [*command, "--cache-dir", "/dev/null", str(snippet)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    revealed = re.findall(r'Revealed type is "(.*)"', out.stdout)
    assert len(revealed) == len(names), out.stdout + out.stderr
    return revealed


def test_type_checkers_see_the_real_classes(tmp_path: Path) -> None:
    """`from langchain_azure_llama import ChatAzureLlama` is the class under mypy, not `Any`.

    The root is lazy at run time (`__getattr__`); its `TYPE_CHECKING` imports are what mypy reads.
    """
    names = sorted(name for name in langchain_azure_llama.__all__ if name != "__version__")
    revealed = _revealed(tmp_path, "langchain_azure_llama", names)
    for name, shown in zip(names, revealed, strict=True):
        # The warning is the transport's own class (one filter silences it for both front ends).
        home = "azure_llama_transport" if name == "RetiredModelWarning" else "langchain_azure_llama"
        assert re.search(rf"-> {home}\.[\w.]+\.{name}$", shown), (name, shown)


def test_type_checkers_see_the_transports_lazy_names(tmp_path: Path) -> None:
    """The transport root's lazy names (the Llama protocol and the catalogue, loaded on first
    use) are their real types under mypy, not the `Any` of the module's `__getattr__`; its
    `TYPE_CHECKING` imports name exactly the lazy names, each from the module `_LAZY` says."""
    names = sorted(transport._LAZY)
    revealed = _revealed(tmp_path, "azure_llama_transport", names)
    assert [name for name, shown in zip(names, revealed, strict=True) if shown == "Any"] == []
    assert _type_checking_imports(Path(transport.__file__)) == transport._LAZY


def _type_checking_imports(path: Path) -> dict[str, str]:
    """name -> relative module of every import under `if TYPE_CHECKING:` in `path`."""
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                module = "." * statement.level + (statement.module or "")
                found.update((alias.name, module) for alias in statement.names)
    return found

"""The console script and `python -m`: start, print the URL, answer /info, stop on SIGTERM."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.emulator import get, post

SCRIPT = Path(sys.executable).parent / "azure-llama-emulator"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([str(SCRIPT)], id="console-script"),
        pytest.param([sys.executable, "-m", "azure_llama_emulator"], id="python-m"),
    ],
)
def test_cli_serves_until_terminated(command: list[str]) -> None:
    if not Path(command[0]).exists():
        pytest.skip("console script not installed")
    args = [
        "--port",
        "0",
        "--api-key",
        "cli-key",
        "--deployment",
        "a=Meta-Llama-3.1-70B-Instruct",
        "--rpm",
        "5",
        "--response-format-mode",
        "reject",
    ]
    with subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.fullmatch(
                r"Azure Llama emulator listening on (http://127\.0\.0\.1:\d+) "
                r"\(model Meta-Llama-3\.1-70B-Instruct, key cli-key\)\n",
                line,
            )
            assert match, line
            info = get(f"{match.group(1)}/info", headers={"api-key": "cli-key"})
            assert info.status_code == 200
            assert info.json()["model_name"] == "Meta-Llama-3.1-70B-Instruct"
            response_format = {"type": "json_schema", "json_schema": {"schema": {}}}
            refused = post(
                f"{match.group(1)}/chat/completions",
                headers={"api-key": "cli-key", "azureml-model-deployment": "a"},
                json={
                    "messages": [{"role": "user", "content": "hi"}],
                    "response_format": response_format,
                },
            )
            assert refused.status_code == 422
            assert refused.json()["detail"] == {
                "loc": ["body", "response_format"],
                "input": "json_schema",
            }
        finally:
            proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_rejects_a_bad_deployment_flag() -> None:
    from azure_llama_emulator.__main__ import main

    with pytest.raises(SystemExit):
        main(["--deployment", "no-equals-sign"])


def test_help_documents_every_flag() -> None:
    from azure_llama_emulator.__main__ import _parser

    actions = [a for a in _parser()._actions if a.option_strings]
    assert len(actions) >= 17
    undocumented = [a.option_strings[0] for a in actions if not (a.help or "").strip()]
    assert undocumented == []

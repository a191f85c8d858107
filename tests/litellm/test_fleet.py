"""A fleet: two LiteLLM proxy instances on `cookbook/litellm_proxy_fleet.yaml`, one real Redis.

Shows what the instances share through the Router's Redis: each deployment's rpm usage, cooldowns,
and the provider's learned endpoint capabilities (one refused native-tools request per endpoint
for the whole fleet); and, without any proxy, the provider's fleet layer on the same Redis.

Needs the `redis-server` binary (Debian's `redis-server` package; `.ci/run` installs it) and the
`proxy` extra. When `CI` is set, a missing one fails this module instead of skipping it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

import azure_llama_transport as t
from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from tests._support.litellm import KEY


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


_missing = [
    name
    for name in ("fastapi", "uvicorn", "backoff", "apscheduler", "fastapi_sso", "mcp", "redis")
    if importlib.util.find_spec(name) is None
]
if _missing:
    _unavailable(f"the `proxy` extra is not installed (missing {', '.join(_missing)})")
REDIS_SERVER = shutil.which("redis-server")
if REDIS_SERVER is None:
    _unavailable("redis-server is not installed (Debian: apt-get install -y redis-server)")

import redis  # noqa: E402  (after the check above)
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from litellm_azure_llama._fleet import (  # noqa: E402
    DEFAULT_TTL_SECONDS,
    KEY_PREFIX,
    FleetCapabilities,
    find_redis,
)
from tests.litellm import test_proxy as single  # noqa: E402  (its helpers, not its tests)

ROOT = Path(__file__).parents[2]
FLEET_CONFIG = ROOT / "cookbook" / "litellm_proxy_fleet.yaml"
RPM, COOL, NO_TOOLS = "fleet-rpm-3", "fleet-cool", "fleet-no-tools"
LLAMA33, MAVERICK = "Llama-3.3-70B-Instruct", "Llama-4-Maverick-17B-128E-Instruct-FP8"
MESSAGES = [{"role": "user", "content": "hello there"}]
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


# -- Redis ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    assert REDIS_SERVER is not None
    port = single._free_port()
    workdir = str(tmp_path_factory.mktemp("redis"))
    options = ["--bind", "127.0.0.1", "--dir", workdir, "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if process.poll() is not None or time.monotonic() > deadline:
                    _unavailable(f"redis-server did not start on 127.0.0.1:{port}")
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def db(redis_port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=redis_port, socket_timeout=1)
    yield client
    for name in client.scan_iter(match=f"{KEY_PREFIX}*"):
        client.delete(name)
    client.close()


def _store(db: redis.Redis) -> t.CapabilityStore:
    store = t.CapabilityStore()
    store.add_listener(FleetCapabilities(db, miss_seconds=0))
    return store


ENDPOINT = "https://secret-host.eastus2.models.ai.azure.com"
CAP_KEY = (ENDPOINT, "my-deployment", "Meta-Llama-3.1-8B-Instruct")


# -- the fleet layer alone -------------------------------------------------------------------------


def test_a_refusal_one_process_learns_is_known_to_another(db: redis.Redis) -> None:
    one, other = _store(db), _store(db)
    assert not other.get(CAP_KEY).refuses_tools
    one.record_refusal(CAP_KEY, "tools")
    assert other.get(CAP_KEY).refuses_tools
    assert not other.get(CAP_KEY).refuses_response_format
    assert not other.get((ENDPOINT, None, "another-model")).refuses_tools


def test_entries_expire_hold_json_and_name_no_endpoint(db: redis.Redis) -> None:
    _store(db).record_refusal(CAP_KEY, "response_format")
    names = list(db.scan_iter(match=f"{KEY_PREFIX}*"))
    assert len(names) == 1
    assert 0 < db.ttl(names[0]) <= DEFAULT_TTL_SECONDS
    value = db.get(names[0])
    assert value is not None
    assert json.loads(value)["refuses"] == "response_format"
    for text in (names[0].decode(), value.decode()):
        assert "secret-host" not in text and "my-deployment" not in text


def test_forget_reaches_the_fleet(db: redis.Redis) -> None:
    one = _store(db)
    one.record_refusal(CAP_KEY, "tools")
    one.record_refusal(("https://other.example", None, None), "tools")
    one.forget(ENDPOINT)
    assert not _store(db).get(CAP_KEY).refuses_tools
    assert _store(db).get(("https://other.example", None, None)).refuses_tools


def test_without_redis_the_memory_stays_in_process(caplog: pytest.LogCaptureFixture) -> None:
    closed = redis.Redis(port=single._free_port(), retry=Retry(NoBackoff(), 0))
    sent: list[str] = []
    store = t.CapabilityStore()
    layer = FleetCapabilities(closed, miss_seconds=0)
    store.add_listener(layer)
    original = closed.execute_command

    def counted(*args: Any, **kwargs: Any) -> Any:
        sent.append(str(args[0]))
        return original(*args, **kwargs)

    closed.execute_command = counted  # type: ignore[method-assign]
    assert not store.get(CAP_KEY).refuses_tools  # Redis down: a miss, not an error
    store.record_refusal(CAP_KEY, "tools")
    assert store.get(CAP_KEY).refuses_tools
    assert not store.get((ENDPOINT, None, "other")).refuses_tools
    assert sent == ["MGET"]  # then Redis is left alone for RETRY_SECONDS
    assert "Redis read failed" in caplog.text


@pytest.mark.parametrize("where", ["proxy-router", "environment"])
def test_the_provider_finds_the_redis_litellm_has(
    redis_port: int, db: redis.Redis, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the proxy, its Router's Redis (router_settings.redis_host/port); else LiteLLM's
    REDIS_HOST / REDIS_PORT."""
    import litellm

    for name in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    if where == "proxy-router":
        deployment = {"model_name": "m", "litellm_params": {"model": "azure_llama/x"}}
        proxy = types.ModuleType("litellm.proxy.proxy_server")
        proxy.llm_router = litellm.Router(  # type: ignore[attr-defined]
            model_list=[deployment], redis_host="127.0.0.1", redis_port=redis_port
        )
        monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", proxy)
    else:
        monkeypatch.delitem(sys.modules, "litellm.proxy.proxy_server", raising=False)
        monkeypatch.setenv("REDIS_HOST", "127.0.0.1")
        monkeypatch.setenv("REDIS_PORT", str(redis_port))
    decided, client = find_redis()
    assert decided and client is not None
    store = t.CapabilityStore()
    store.add_listener(FleetCapabilities(client))
    store.record_refusal(CAP_KEY, "tools")
    assert len(list(db.scan_iter(match=f"{KEY_PREFIX}*"))) == 1


def test_no_redis_anywhere_means_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "litellm.proxy.proxy_server", raising=False)
    assert find_redis() == (True, None)


# -- two proxy instances -------------------------------------------------------------------------


@dataclass
class Fleet:
    urls: tuple[str, str]
    limited: Emulator
    flaky: Emulator
    steady: Emulator
    no_tools: Emulator


def _config(path: Path) -> Path:
    """The fleet config plus three test groups on Foundry resources' v1 route: rpm 3, two
    regions to cool down, and a deployment under the operator's own name ("my-llama") that
    refuses native tools: the catalogue cannot tell its model from that name, so "auto" tries
    native tools there once (the cookbook's Llama 3.3 and Maverick are prompted from the first
    call, as Azure lists them without tool calling: nothing to refuse, nothing to learn)."""
    config = yaml.safe_load(FLEET_CONFIG.read_text())

    def deployment(group: str, env: str, name: str = LLAMA33, **extra: Any) -> dict[str, Any]:
        params = {
            "model": f"azure_llama/{name}",
            "api_base": f"os.environ/AZURE_LLAMA_{env}_ENDPOINT",
            "api_key": f"os.environ/AZURE_LLAMA_{env}_KEY",
            "endpoint_kind": "openai-v1",  # a loopback URL's host says nothing
            "timeout": 60,
            **extra,
        }
        return {"model_name": group, "litellm_params": params}

    config["model_list"] += [
        deployment(RPM, "LIMITED", rpm=3),
        deployment(COOL, "FLAKY"),
        deployment(COOL, "STEADY"),
        deployment(NO_TOOLS, "TOOLS", name="my-llama"),
    ]
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def fleet(redis_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    assert cli is not None, "the `litellm` CLI is not installed next to this Python"
    folder = tmp_path_factory.mktemp("fleet")
    config = _config(folder / "config.yaml")
    v1 = EmulatorConfig(api_key=KEY, kind="openai-v1", models=(LLAMA33,))
    with (
        Emulator(replace(v1, models=(LLAMA33, MAVERICK))) as default,
        Emulator(v1) as limited,
        Emulator(v1) as flaky,
        Emulator(v1) as steady,
        Emulator(replace(v1, models=(f"my-llama={LLAMA33}",), tool_mode="reject")) as no_tools,
    ):
        env = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
            "LITELLM_MASTER_KEY": single.MASTER_KEY,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis_port),
        }
        emulators = {
            "EASTUS2": default,
            "SWEDEN": default,
            "LIMITED": limited,
            "FLAKY": flaky,
            "STEADY": steady,
            "TOOLS": no_tools,
        }
        for name, emu in emulators.items():
            env[f"AZURE_LLAMA_{name}_ENDPOINT"] = f"{emu.url}/openai/v1"
            env[f"AZURE_LLAMA_{name}_KEY"] = KEY
        ports = (single._free_port(), single._free_port())
        # Logs go to files: a pipe nobody reads blocks the proxy once ~64 KB are logged.
        logs = [folder / f"proxy-{port}.log" for port in ports]
        sinks = [log.open("wb") for log in logs]
        processes = [
            subprocess.Popen(
                [cli, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=sink,
                cwd=ROOT,
            )
            for port, sink in zip(ports, sinks, strict=True)
        ]
        urls = (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
        try:
            for url, process, log in zip(urls, processes, logs, strict=True):
                single._wait_ready(url, process, log)
            yield Fleet(urls, limited, flaky, steady, no_tools)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for sink in sinks:
                sink.close()


@pytest.fixture(scope="module")
def clients(fleet: Fleet) -> Iterator[tuple[Any, Any]]:
    import openai

    one, two = (
        openai.OpenAI(base_url=url, api_key=single.MASTER_KEY, max_retries=0, timeout=60)
        for url in fleet.urls
    )
    with one, two:
        yield one, two


def _chats(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith("/chat/completions"))


def test_a_deployments_rpm_counts_the_whole_fleets_calls(
    fleet: Fleet, clients: tuple[Any, Any]
) -> None:
    """rpm 3: three calls spread over both instances pass, the fourth (on either) is a 429."""
    import openai

    one, two = clients
    for client in (one, two, one):
        answer = client.chat.completions.create(model=RPM, messages=MESSAGES)
        assert answer.choices[0].message.content.endswith("hello there")
    with pytest.raises(openai.RateLimitError) as caught:
        two.chat.completions.create(model=RPM, messages=MESSAGES)
    assert caught.value.status_code == 429
    assert _chats(fleet.limited) == 3  # the refused call never reached Azure


def test_a_region_one_instance_cooled_down_gets_nothing_from_the_other(
    fleet: Fleet, clients: tuple[Any, Any]
) -> None:
    """Instance 1 meets a failing region until it cools it down (the config's allowed_fails and
    cooldown_time); then instance 2, which never saw it fail, sends it nothing either."""
    import openai

    one, two = clients
    fleet.flaky.inject(Fault.status(500), times=1000)
    try:
        quiet = 0  # instance 1's calls in a row that sent nothing to the failing region
        for _ in range(60):
            before = _chats(fleet.flaky)
            with contextlib.suppress(openai.InternalServerError):  # a retry may pick it again
                one.chat.completions.create(model=COOL, messages=MESSAGES)
            quiet = quiet + 1 if _chats(fleet.flaky) == before and before else 0
            if quiet == 8:  # 1 in 256 by chance for a region not cooled down
                break
        assert quiet == 8, "instance 1 never cooled the failing region down"
        # An instance reads cooldowns from Redis at most once a second (LiteLLM's
        # DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS): a peer knows within about that.
        time.sleep(1.5)
        hit, steady = _chats(fleet.flaky), _chats(fleet.steady)
        for _ in range(10):  # 1 in 1024 to miss the region by chance were it not cooled down
            answer = two.chat.completions.create(model=COOL, messages=MESSAGES)
            assert answer.choices[0].message.content.endswith("hello there")
        assert _chats(fleet.flaky) == hit
        assert _chats(fleet.steady) == steady + 10
    finally:
        fleet.flaky.clear()


def test_one_refused_native_tools_request_for_the_whole_fleet(
    fleet: Fleet, clients: tuple[Any, Any]
) -> None:
    one, two = clients
    for client in (one, two, two, one):
        answer = client.chat.completions.create(
            model=NO_TOOLS,
            messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=[TOOL],
        )
        calls = answer.choices[0].message.tool_calls
        assert calls and calls[0].function.name == "get_weather"
    native = [
        r for r in fleet.no_tools.requests if isinstance(r.json, dict) and r.json.get("tools")
    ]
    assert len(native) == 1
    assert _chats(fleet.no_tools) == 5  # the refused one, then four prompted answers


def test_the_fleet_config_is_the_cookbook_config_plus_redis() -> None:
    fleet = yaml.safe_load(FLEET_CONFIG.read_text())
    cookbook = yaml.safe_load(single.CONFIG.read_text())
    shared = fleet["router_settings"]
    assert shared.pop("redis_host") == "os.environ/REDIS_HOST"
    assert shared.pop("redis_port") == "os.environ/REDIS_PORT"
    assert fleet == cookbook

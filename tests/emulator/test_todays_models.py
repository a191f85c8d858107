"""The emulator plays today's Llama on Azure: Meta's pythonic tool format for Llama 3.2 / 3.3 / 4,
parallel calls, images with Azure's per-request limit, context windows and `tool_mode="ignore"`.

The prompts are written the way Meta documents them (meta-llama/llama-models
`models/llama3_2/text_prompt_format.md`, `models/llama4/prompt_format.md`), not in any client's
words.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator
from tests._support.emulator import AUTH, chunks

LLAMA33 = "Llama-3.3-70B-Instruct"
MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
SCOUT = "Llama-4-Scout-17B-16E-Instruct"
LLAMA31 = "Meta-Llama-3.1-8B-Instruct"
FUNCTIONS = [
    {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {
            "type": "dict",
            "required": ["city"],
            "properties": {"city": {"type": "string", "description": "The city"}},
        },
    },
    {
        "name": "get_time",
        "description": "Current clock time in a timezone",
        "parameters": {
            "type": "dict",
            "required": ["tz"],
            "properties": {"tz": {"type": "string", "description": "IANA timezone"}},
        },
    },
]
# Meta's zero-shot pythonic system prompt (llama3_2 text_prompt_format.md, llama4 likewise).
PYTHONIC_SYSTEM = (
    "You are an expert in composing functions. You are given a question and a set of possible "
    "functions.\nBased on the question, you will need to make one or more function/tool calls "
    "to achieve the purpose.\nIf none of the function can be used, point it out. If the given "
    "question lacks the parameters required by the function,\nalso point it out. You should "
    "only return the function call in tools call sections.\n\nIf you decide to invoke any of "
    "the function(s), you MUST put it in the format of [func_name1(params_name1=params_value1, "
    "params_name2=params_value2...), func_name2(params)]\nYou SHOULD NOT include any other text "
    "in the response.\n\nHere is a list of functions in JSON format that you can invoke.\n\n"
    + json.dumps(FUNCTIONS, indent=4)
)
# Meta's Llama 3.1 JSON wording (llama3_1 prompt_format.md, chat template).
JSON_SYSTEM = (
    "You have access to the following functions. To call a function, please respond with JSON "
    'for a function call.Respond in the format {"name": function name, "parameters": '
    "dictionary of argument name and its value}.Do not use variables.\n\n"
    + "\n\n".join(json.dumps(f) for f in FUNCTIONS)
)
# Neither wording: only the definitions, so the served model's family decides.
PLAIN_SYSTEM = "Tools you may call:\n" + "\n".join(json.dumps(f) for f in FUNCTIONS)
PNG = (  # a 1x1 PNG
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwAB"
    "BAEAwS2OUAAAAABJRU5ErkJggg=="
)


def serve(make_emulator: Callable[..., Emulator], model: str, **settings: Any) -> httpx.Client:
    emu = make_emulator(model_name=model, **settings)
    return httpx.Client(base_url=emu.url, headers=AUTH, timeout=10)


def ask(system: str, question: str) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    return {"messages": messages}


def content(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(answer.json()["choices"][0]["message"]["content"])


def pythonic_calls(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse Meta's `[f(a=1), g(b='x')]` the way vLLM's pythonic parser does (ast, no eval)."""
    tree = ast.parse(text, mode="eval").body
    assert isinstance(tree, ast.List)
    calls = []
    for node in tree.elts:
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        calls.append(
            (node.func.id, {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg})
        )
    return calls


@pytest.mark.parametrize(
    ("model", "system", "form"),
    [
        pytest.param(LLAMA33, PYTHONIC_SYSTEM, "pythonic", id="3.3-pythonic-prompt"),
        pytest.param(MAVERICK, PYTHONIC_SYSTEM, "pythonic", id="4-pythonic-prompt"),
        pytest.param(LLAMA31, PYTHONIC_SYSTEM, "pythonic", id="3.1-follows-a-pythonic-prompt"),
        pytest.param(LLAMA33, JSON_SYSTEM, "json", id="3.3-follows-meta-json-prompt"),
        pytest.param(LLAMA31, JSON_SYSTEM, "json", id="3.1-json-prompt"),
        pytest.param(LLAMA33, PLAIN_SYSTEM, "pythonic", id="3.3-family-default"),
        pytest.param(SCOUT, PLAIN_SYSTEM, "pythonic", id="4-family-default"),
        pytest.param("Llama-3.2-90B-Vision-Instruct", PLAIN_SYSTEM, "pythonic", id="3.2-default"),
        pytest.param(LLAMA31, PLAIN_SYSTEM, "json", id="3.1-family-default"),
    ],
)
def test_prompted_call_form_follows_the_prompt_then_the_family(
    make_emulator: Callable[..., Emulator], model: str, system: str, form: str
) -> None:
    with serve(make_emulator, model) as http:
        text = content(http.post("/chat/completions", json=ask(system, "get_weather city=Paris")))
    if form == "pythonic":
        assert text.startswith("[get_weather(") and text.endswith(")]")
        assert pythonic_calls(text) == [("get_weather", {"city": "Paris"})]
    else:
        assert json.loads(text) == {"name": "get_weather", "parameters": {"city": "Paris"}}


def test_pythonic_calls_every_tool_the_request_names(
    make_emulator: Callable[..., Emulator],
) -> None:
    question = "What is get_time for tz=Europe/Paris and the get_weather there?"
    with serve(make_emulator, MAVERICK) as http:
        text = content(http.post("/chat/completions", json=ask(PYTHONIC_SYSTEM, question)))
    assert [name for name, _ in pythonic_calls(text)] == ["get_weather", "get_time"]
    assert pythonic_calls(text)[1][1] == {"tz": "Europe/Paris"}


@pytest.mark.parametrize("count", [pytest.param(1, id="one"), pytest.param(3, id="three")])
def test_parallel_calls_header_asks_for_n_prompted_calls(
    make_emulator: Callable[..., Emulator], count: int
) -> None:
    with serve(make_emulator, LLAMA33) as http:
        answer = http.post(
            "/chat/completions",
            json=ask(PYTHONIC_SYSTEM, "get_weather city=Oslo"),
            headers={"x-emulator-parallel-calls": str(count)},
        )
    names = [name for name, _ in pythonic_calls(content(answer))]
    assert names == ["get_weather", "get_time", "get_weather"][:count]


def test_pythonic_values_are_python_literals(make_emulator: Callable[..., Emulator]) -> None:
    functions = [
        {
            "name": "book",
            "description": "Book a table",
            "parameters": {
                "type": "dict",
                "properties": {
                    "name": {"type": "string"},
                    "seats": {"type": "integer"},
                    "terrace": {"type": "boolean"},
                    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                },
            },
        }
    ]
    system = PYTHONIC_SYSTEM.split("Here is a list")[0] + json.dumps(functions)
    with serve(make_emulator, LLAMA33) as http:
        text = content(http.post("/chat/completions", json=ask(system, 'book name="O\'Neil"')))
    ((name, arguments),) = pythonic_calls(text)
    assert name == "book"
    # The array item takes the user's quoted phrase too (the schema filler's rule, `_schema`).
    assert arguments == {"name": "O'Neil", "seats": 1, "terrace": True, "tags": ["O'Neil"]}
    assert "terrace=True" in text  # Python's spelling, not JSON's


@pytest.mark.parametrize(
    "result_turn",
    [
        pytest.param({"role": "tool", "content": "18C", "tool_call_id": "x"}, id="tool-role"),
        pytest.param({"role": "user", "content": "18C"}, id="user-after-the-call"),
    ],
)
def test_result_of_a_pythonic_call_is_answered(
    make_emulator: Callable[..., Emulator], result_turn: dict[str, Any]
) -> None:
    body = ask(PYTHONIC_SYSTEM, "get_weather city=Paris")
    body["messages"] += [
        {"role": "assistant", "content": "[get_weather(city='Paris')]"},
        result_turn,
    ]
    with serve(make_emulator, LLAMA33) as http:
        assert content(http.post("/chat/completions", json=body)) == (
            "The tool get_weather returned: 18C."
        )


def test_native_parallel_calls_have_distinct_ids(make_emulator: Callable[..., Emulator]) -> None:
    tools = [{"type": "function", "function": f} for f in FUNCTIONS]
    body = {"messages": [{"role": "user", "content": "get_time please"}], "tools": tools}
    with serve(make_emulator, LLAMA31) as http:
        answer = http.post(
            "/chat/completions", json=body, headers={"x-emulator-parallel-calls": "3"}
        )
        streamed = http.post(
            "/chat/completions",
            json={**body, "stream": True},
            headers={"x-emulator-parallel-calls": "2"},
        )
    calls = answer.json()["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_time", "get_weather", "get_time"]
    assert len({c["id"] for c in calls}) == 3
    delta_calls = chunks(streamed.text)[-1]["choices"][0]["delta"]["tool_calls"]
    assert [c["function"]["name"] for c in delta_calls] == ["get_time", "get_weather"]


@pytest.mark.parametrize(
    "value",
    [pytest.param("0", id="zero"), pytest.param("x", id="word"), pytest.param("99", id="big")],
)
def test_bad_parallel_calls_header_is_refused(client: httpx.Client, value: str) -> None:
    answer = client.post(
        "/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers={"x-emulator-parallel-calls": value},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "EmulatorBadHeader"


# -- images -----------------------------------------------------------------------------------


def with_images(*urls: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "What is in the picture?"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return {"messages": [{"role": "user", "content": parts}]}


def vllm_error(answer: httpx.Response) -> dict[str, Any]:
    """The vLLM error inside Azure's pass-through wrapper (a JSON string in `message`)."""
    assert answer.status_code == 400
    wrapper = answer.json()["error"]
    assert wrapper["code"] == "Bad Request"
    inner: dict[str, Any] = json.loads(wrapper["message"])
    return inner


@pytest.mark.parametrize(
    ("model", "urls"),
    [
        pytest.param(MAVERICK, [PNG], id="maverick-data-url"),
        pytest.param(MAVERICK, ["https://example.com/cat.jpg"], id="maverick-https-url"),
        pytest.param(SCOUT, [PNG, "https://example.com/cat.jpg"], id="scout-takes-two"),
        pytest.param("Llama-3.2-11B-Vision-Instruct", [PNG], id="3.2-vision"),
    ],
)
def test_vision_models_take_images(
    make_emulator: Callable[..., Emulator], model: str, urls: list[str]
) -> None:
    with serve(make_emulator, model) as http:
        text = content(http.post("/chat/completions", json=with_images(*urls)))
    assert text == f"Emulated reply from {model}: What is in the picture?"


def test_maverick_refuses_a_second_image_as_azure_does(
    make_emulator: Callable[..., Emulator],
) -> None:
    with serve(make_emulator, MAVERICK) as http:
        answer = http.post("/chat/completions", json=with_images(PNG, PNG))
    # meta-llama/llama-cookbook#938, byte for byte.
    assert json.loads(answer.json()["error"]["message"]) == {
        "object": "error",
        "message": "At most 1 image(s) may be provided in one request.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    assert answer.json()["error"]["message"] == (
        '{"object":"error","message":"At most 1 image(s) may be provided in one request.",'
        '"type":"BadRequestError","param":null,"code":400}'
    )


@pytest.mark.parametrize(
    "model", [pytest.param(LLAMA33, id="3.3"), pytest.param(LLAMA31, id="3.1")]
)
def test_text_only_models_refuse_images(make_emulator: Callable[..., Emulator], model: str) -> None:
    with serve(make_emulator, model) as http:
        inner = vllm_error(http.post("/chat/completions", json=with_images(PNG)))
    assert inner["message"] == "At most 0 image(s) may be provided in one request."


def test_image_url_must_be_data_or_http(make_emulator: Callable[..., Emulator]) -> None:
    with serve(make_emulator, MAVERICK) as http:
        inner = vllm_error(http.post("/chat/completions", json=with_images("ftp://x/cat.png")))
    assert "HTTP, data or file URL" in inner["message"]


def test_image_limit_on_the_v1_route(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(kind="openai-v1", models=(f"vision={MAVERICK}",))
    with httpx.Client(base_url=emu.url + "/openai/v1", headers=AUTH) as http:
        one = http.post("/chat/completions", json={**with_images(PNG), "model": "vision"})
        two = http.post("/chat/completions", json={**with_images(PNG, PNG), "model": "vision"})
    assert one.status_code == 200
    assert two.status_code == 400
    error = two.json()["error"]
    assert "At most 1 image(s) may be provided in one request." in error["message"]
    assert set(error) == {"code", "message", "param", "type", "innererror"}


# -- context windows --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "max_tokens", "status"),
    [
        pytest.param(LLAMA33, 127_000, 200, id="3.3-fits"),
        pytest.param(LLAMA33, 128_000, 400, id="3.3-128k-passed"),
        pytest.param(MAVERICK, 128_000, 200, id="maverick-1m"),
        pytest.param(MAVERICK, 1_000_000, 400, id="maverick-1m-passed"),
        pytest.param(SCOUT, 1_000_000, 200, id="scout-10m"),
    ],
)
def test_context_window_is_enforced(
    make_emulator: Callable[..., Emulator], model: str, max_tokens: int, status: int
) -> None:
    body = {
        "messages": [{"role": "user", "content": "four words of prompt"}],
        "max_tokens": max_tokens,
    }
    with serve(make_emulator, model) as http:
        answer = http.post("/chat/completions", json=body)
    assert answer.status_code == status
    if status == 400:
        message = vllm_error(answer)["message"]
        assert message.startswith("This model's maximum context length is")
        assert f"(4 in the messages, {max_tokens} in the completion)" in message


# -- tool_mode ignore -------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [pytest.param(False, id="whole"), pytest.param(True, id="sse")])
def test_tool_mode_ignore_answers_tools_in_plain_text(
    make_emulator: Callable[..., Emulator], stream: bool
) -> None:
    tools = [{"type": "function", "function": f} for f in FUNCTIONS]
    body = {
        "messages": [{"role": "user", "content": "get_weather city=Paris"}],
        "tools": tools,
        "tool_choice": "auto",
        "stream": stream,
    }
    with serve(make_emulator, LLAMA33, tool_mode="ignore") as http:
        answer = http.post("/chat/completions", json=body)
    assert answer.status_code == 200
    if stream:
        events = chunks(answer.text)
        assert all("tool_calls" not in e["choices"][0]["delta"] for e in events)
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
        finish = events[-1]["choices"][0]["finish_reason"]
    else:
        choice = answer.json()["choices"][0]
        assert choice["message"]["tool_calls"] is None
        text, finish = choice["message"]["content"], choice["finish_reason"]
    assert finish == "stop"
    assert text == f"Emulated reply from {LLAMA33}: get_weather city=Paris"


def test_cli_tools_mode_ignore_is_documented_and_served() -> None:
    command = [sys.executable, "-m", "azure_llama_emulator"]
    usage = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True)
    for documented in ("--tools-mode", "ignore", "openai-v1", "NAME=MODEL", "parallel-calls"):
        assert documented in usage.stdout
    args = ["--port", "0", "--model", LLAMA33, "--tools-mode", "ignore"]
    with subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split(" listening on ")[1].split()[0]
            body = {
                "messages": [{"role": "user", "content": "get_weather"}],
                "tools": [{"type": "function", "function": FUNCTIONS[0]}],
            }
            with httpx.Client(base_url=url, headers=AUTH) as http:
                choice = http.post("/chat/completions", json=body).json()["choices"][0]
            assert choice["message"]["tool_calls"] is None
            assert choice["finish_reason"] == "stop"
        finally:
            proc.terminate()
        assert proc.wait(timeout=10) == 0

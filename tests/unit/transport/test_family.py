"""One reading of model names (`parse_model_name`), and the transport's two users of it: the
prompted-tool format and the image limit agree with it on every spelling."""

from __future__ import annotations

import pytest

from azure_llama_transport import ModelName, image_limit, image_tokens, parse_model_name
from azure_llama_transport._images import _name_rule
from azure_llama_transport._llama._formats import family_of
from tests._support.model_names import NAMES, Expected

LLAMA4_IMAGE, MLLAMA_IMAGE = 2467, 1


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_what_a_name_says(name: str, expected: Expected) -> None:
    parsed = parse_model_name(name)
    assert isinstance(parsed, ModelName)
    assert (parsed.family, parsed.vision, parsed.variant) == expected[:3]
    assert parsed.major == (int(expected.family[0]) if expected.family else None)


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_the_prompt_format_follows_the_name(name: str, expected: Expected) -> None:
    assert family_of(name) == expected.prompt_format


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_the_image_limit_follows_the_name(name: str, expected: Expected) -> None:
    """The name rule alone, and `image_limit` (the catalogue first: it agrees on its rows)."""
    assert _name_rule(name) == expected.images
    assert image_limit(name) == expected.images


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_one_image_costs_what_the_family_lays_out(name: str, expected: Expected) -> None:
    """Llama 3.2 Vision: one `<|image|>` token; anything else the Llama 4 upper bound."""
    mllama = expected.vision and (expected.family or "").startswith("3")
    assert image_tokens(name) == (MLLAMA_IMAGE if mllama else LLAMA4_IMAGE)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("LLAMA-3.3-70B-INSTRUCT", id="upper-case"),
        pytest.param("llama 3.3 70b", id="spaces"),
        pytest.param("llama_3_3_70b", id="underscores"),
        pytest.param("llama-v3p3-70b-instruct", id="fireworks"),
        pytest.param("llama33-70b", id="glued"),
        pytest.param("azureml://registries/azureml-meta/models/Llama-3.3-70B-Instruct/versions/4"),
        pytest.param("ollama-llama3.3", id="ollama-prefix"),
    ],
)
def test_spellings_of_one_model_read_alike(name: str) -> None:
    assert parse_model_name(name) == parse_model_name("Llama-3.3-70B-Instruct")
    assert family_of(name) == "llama3.3"


@pytest.mark.parametrize(
    ("name", "family"),
    [
        pytest.param("Phi-3-vision-128k-instruct", None, id="another-vision-model"),
        pytest.param("llama-33b", None, id="llama-1-size"),
        pytest.param("CodeLlama-70b-Instruct-hf", "2", id="code-llama"),
        pytest.param("MetaLlama3", "3", id="meta-glued"),
        pytest.param("llama-guard-3-11b-vision", None, id="guard-vision"),
    ],
)
def test_only_a_llama_version_makes_a_family(name: str, family: str | None) -> None:
    """A vision model that is not a Llama (or has no Llama version) is left to Azure."""
    assert parse_model_name(name).family == family
    assert _name_rule(name) == (None if family is None else 0)

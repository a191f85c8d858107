"""LiteLLM Router across two Azure regions, with failover; then the proxy's config.yaml.

Shows: one model group ("llama") made of two deployments of Llama-3.3-70B-Instruct on two
Foundry resources' OpenAI v1 route (`https://<resource>.openai.azure.com/openai/v1`, `model` =
`azure_llama/<deployment name>`), in eastus2 and swedencentral, each with a per-deployment quota
as `rpm`/`tpm` (the seed page's serverless figures, 1,000 requests/min and 200,000 tokens/min;
a Foundry deployment's own rate limit is in the Azure AI Foundry portal: put yours), enforced by
`optional_pre_call_checks=["enforce_model_rate_limits"]` (without it LiteLLM reads them as
load-balancing weights only; with it a deployment at its limit is skipped, and with every one at
its limit the call raises litellm.RateLimitError, a 429).
`order` prefers eastus2; when it fails (503, or 429 with retry-after), the Router retries on
swedencentral and cools eastus2 down. Then `litellm_proxy_config.yaml`, the LiteLLM proxy's
config, is loaded into a Router in-process and answers. The proxy server itself is
`litellm --config ... --host 127.0.0.1`, installed from this checkout with `pip install -e
'.[proxy]'` (the `proxy` extra lists the proxy's real dependencies, since litellm's own
`litellm[proxy]` pins a distribution PyPI does not have); it is not started here.

Run:  make install && .venv/bin/python cookbook/router_failover.py
Azure: AZURE_LLAMA_{EASTUS2,SWEDEN}_{ENDPOINT,KEY} (each a Foundry resource's .../openai/v1, with
deployments named Llama-3.3-70B-Instruct and Llama-4-Maverick-17B-128E-Instruct-FP8, as in the
config file; AZURE_LLAMA_MODEL for another deployment name in the Router part). Unset, one
emulator plays each resource, and eastus2 is made to fail (503s, then 429s); against Azure
nothing is injected, so you see whichever region answered.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's bundled price map
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # and no tokenizer download

import litellm
import yaml
from _target import DEFAULT_MODEL, Target, deployments  # cookbook/ is on sys.path when run

import litellm_azure_llama
from azure_llama_emulator import Fault

CONFIG = Path(__file__).with_name("litellm_proxy_config.yaml")
RPM, TPM = 1000, 200_000  # the seed page's quota per deployment; a Foundry one's: the portal
# rpm/tpm are limits only with this check (LiteLLM 1.110); a deployment at its limit is skipped.
LIMITS = ["enforce_model_rate_limits"]
MESSAGES = [{"role": "user", "content": "Say hello from your region."}]
# The deployments litellm_proxy_config.yaml names (its model groups and content fallback).
LLAMA33, MAVERICK = "Llama-3.3-70B-Instruct", "Llama-4-Maverick-17B-128E-Instruct-FP8"
# Offline, each region is an emulated Foundry resource serving the deployments the Router and
# the config name (Llama 3.3 under AZURE_LLAMA_MODEL's name too, when that is set).
_SERVED = dict.fromkeys((os.environ.get("AZURE_LLAMA_MODEL", DEFAULT_MODEL), LLAMA33, MAVERICK))
RESOURCE = {"kind": "openai-v1", "models": tuple(_SERVED)}


def region(t: Target, order: int) -> dict[str, Any]:
    params = {
        "model": f"azure_llama/{t.model}",  # the deployment's name on the resource
        "api_base": t.endpoint,  # https://<resource>.openai.azure.com/openai/v1
        "api_key": t.api_key,
        "endpoint_kind": "openai-v1",  # read from an Azure host; the emulator's says nothing
    }
    return {
        "model_name": "llama",
        "litellm_params": {**params, "rpm": RPM, "tpm": TPM, "order": order},
    }


def failover(east: Target, sweden: Target) -> None:
    print("== Router: eastus2 first (order=1), swedencentral second (order=2) ==")
    names = {east.endpoint: "eastus2", sweden.endpoint: "swedencentral"}
    for fault in (Fault.status(503), Fault.status(429, retry_after=10)):
        model_list = [region(east, 1), region(sweden, 2)]
        router = litellm.Router(
            model_list=model_list,
            num_retries=2,
            allowed_fails=0,
            optional_pre_call_checks=LIMITS,
        )
        if east.emulator is not None:
            east.emulator.inject(fault, times=100)
            print(f"eastus2 now answers {fault.status_code}")
        answered: Counter[str] = Counter()
        for _ in range(5):
            response = router.completion(model="llama", messages=MESSAGES, max_tokens=32)
            answered[names[response._hidden_params["api_base"]]] += 1
        print(f"5 calls answered by: {dict(answered)}")
        if east.emulator is not None:
            refused = len(east.emulator.requests)
            print(f"eastus2 refused {refused} request(s), then the Router cooled it down\n")
            east.emulator.clear()


def proxy_config() -> None:
    print("== cookbook/litellm_proxy_config.yaml loaded into a Router ==")
    config = yaml.safe_load(CONFIG.read_text())
    # The proxy registers the provider from litellm_settings.custom_provider_map; in-process:
    litellm_azure_llama.register()
    router = litellm.Router(model_list=config["model_list"], **config["router_settings"])
    print("model groups:", sorted({d["model_name"] for d in config["model_list"]}))
    response = router.completion(model="llama-3.3-70b", messages=MESSAGES, max_tokens=32)
    print("llama-3.3-70b:", response.choices[0].message.content)


def main() -> None:
    with deployments({"EASTUS2": RESOURCE, "SWEDEN": RESOURCE}) as found:
        if found["EASTUS2"].emulated:
            litellm.disable_hf_tokenizer_download = True  # offline: no tokenizer download
        litellm_azure_llama.register()
        failover(found["EASTUS2"], found["SWEDEN"])
        proxy_config()


if __name__ == "__main__":
    main()

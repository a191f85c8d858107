#!/usr/bin/env bash
# A local fleet against the emulator: one redis-server, two emulated Foundry resources (the two
# regions; each serves Llama-3.3-70B-Instruct and Llama-4-Maverick-17B-128E-Instruct-FP8 on its
# OpenAI v1 route), two LiteLLM proxy instances on 127.0.0.1 sharing the Redis
# (cookbook/litellm_proxy_fleet.yaml).
# `make proxy` runs it; Ctrl-C stops everything it started. Needs Debian's `redis-server` package.
#
#   curl -s http://127.0.0.1:4000/v1/chat/completions -H "Authorization: Bearer sk-local-fleet" \
#     -H 'content-type: application/json' \
#     -d '{"model": "llama-3.3-70b", "messages": [{"role": "user", "content": "hello"}]}'
#
# Ports: REDIS_PORT (6390), EMULATOR_PORT (8089 for eastus2, the next one for swedencentral),
# PROXY_PORTS ("4000 4001").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
REDIS_PORT=${REDIS_PORT:-6390}
EMULATOR_PORT=${EMULATOR_PORT:-8089}
PROXY_PORTS=${PROXY_PORTS:-"4000 4001"}
KEY=local-fleet-emulator-key
if ! command -v redis-server >/dev/null; then
    echo "redis-server is not installed (Debian: apt-get install -y redis-server)" >&2
    exit 1
fi

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
MODELS=Llama-3.3-70B-Instruct,Llama-4-Maverick-17B-128E-Instruct-FP8
for port in "$EMULATOR_PORT" $((EMULATOR_PORT + 1)); do
    "$BIN/azure-llama-emulator" --host 127.0.0.1 --port "$port" --api-key "$KEY" \
        --kind openai-v1 --models "$MODELS" &
    pids+=($!)
done

export REDIS_HOST=127.0.0.1 REDIS_PORT
east=http://127.0.0.1:$EMULATOR_PORT/openai/v1 sweden=http://127.0.0.1:$((EMULATOR_PORT + 1))/openai/v1
export AZURE_LLAMA_EASTUS2_ENDPOINT=$east AZURE_LLAMA_EASTUS2_KEY=$KEY
export AZURE_LLAMA_SWEDEN_ENDPOINT=$sweden AZURE_LLAMA_SWEDEN_KEY=$KEY
export LITELLM_MASTER_KEY=${LITELLM_MASTER_KEY:-sk-local-fleet}
for port in $PROXY_PORTS; do
    "$BIN/litellm" --config cookbook/litellm_proxy_fleet.yaml --host 127.0.0.1 --port "$port" &
    pids+=($!)
done
echo "fleet: proxies on 127.0.0.1 ports $PROXY_PORTS (master key \$LITELLM_MASTER_KEY)," \
    "Redis on 127.0.0.1:$REDIS_PORT; Ctrl-C stops it" >&2
wait -n

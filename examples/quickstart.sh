#!/usr/bin/env bash
# The main job, end to end on one machine (no registry, no cluster):
#   1. build the add-header filter for wasm32-wasip1 into an OCI image in the local store;
#   2. send a request through that image's module in the harness (the Envoy emulation) and show
#      what the client and the upstream receive, the filter's logs and the hostcall trace.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building cargo-wasme"
cargo build --quiet -p cargo-wasme
wasme=target/debug/cargo-wasme

echo "== cargo wasme build -p add-header --tag add-header:quickstart"
"$wasme" build -p add-header --tag add-header:quickstart

echo "== cargo wasme images"
"$wasme" images

echo "== cargo wasme run add-header:quickstart"
"$wasme" run add-header:quickstart --config '{"name": "x-wasme", "value": "quickstart"}' \
  --path /hello -H 'user-agent: quickstart' --trace

echo "== quickstart wall time: ${SECONDS}s"

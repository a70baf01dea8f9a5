#!/usr/bin/env bash
# The main job, end to end on one machine (no registry, no cluster):
#   1. build the add-header filter for wasm32-wasip1 into an OCI image in the local store;
#   2. send a request through that image's module in the harness (the Envoy emulation) and show
#      what the client and the upstream receive, the filter's logs and the hostcall trace.
#
# Every phase prints its elapsed time, and a long compile is never silent: cargo's own lines
# pass through, and when nothing has been printed for 20 s a "still compiling" line says so.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() { echo "== [${SECONDS}s] $*"; }

# Runs a command, passing its output through and printing a line whenever it has been quiet
# for 20 s; fails with the command's status.
with_heartbeat() {
  local started=$SECONDS
  "$@" 2>&1 | while true; do
    if IFS= read -r -t 20 line; then
      printf '%s\n' "$line"
    elif [ $? -gt 128 ]; then
      # a partial line read when the time ran out: print it, its rest follows
      if [ -n "$line" ]; then printf '%s' "$line"; continue; fi
      printf '   ... still working (%ss in this phase, %ss in all)\n' "$((SECONDS - started))" "$SECONDS"
    else
      if [ -n "$line" ]; then printf '%s\n' "$line"; fi  # a last line without a newline
      break
    fi
  done
}

# The `quickstart` profile (Cargo.toml): dev without debug info and with the compiler crates
# unoptimised, the cheapest build of a working cargo-wasme (it lands in target/quickstart/).
phase "building cargo-wasme (the first build compiles ~290 crates: a few minutes on 2 cores)"
# WASME_QUICKSTART_TIMINGS=1 adds cargo's `--timings` report (target/cargo-timings/), where a
# cold build's time goes.
with_heartbeat cargo build -p cargo-wasme --profile quickstart ${WASME_QUICKSTART_TIMINGS:+--timings}
wasme=target/quickstart/cargo-wasme

phase "cargo wasme build -p add-header --tag add-header:quickstart"
with_heartbeat "$wasme" build -p add-header --tag add-header:quickstart

phase "cargo wasme images"
"$wasme" images

phase "cargo wasme run add-header:quickstart"
"$wasme" run add-header:quickstart --config '{"name": "x-wasme", "value": "quickstart"}' \
  --path /hello -H 'user-agent: quickstart' --trace

echo "== quickstart wall time: ${SECONDS}s"

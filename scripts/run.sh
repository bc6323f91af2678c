#!/usr/bin/env bash
# Builds the release preset and starts flume-broker on its built-in defaults: UDP port 7337 on
# every address, a self-signed certificate made on the first start (and reused after) in the
# data directory (`flume-broker --help` says where). Extra arguments go to flume-broker.
# Installs only what building and running the broker needs (scripts/setup-deps.sh run).
# Stop it with Ctrl-C (graceful: clients are told SHUTTING_DOWN).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh run
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target flume-broker flume-cli flume-inspect
exec build/release/broker/flume-broker "$@"

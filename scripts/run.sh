#!/usr/bin/env bash
# Builds the release preset and starts Flume's main program on its built-in defaults.
# Today that is flume-inspect's demo (the codec and router on a sample byte stream); once the
# QUIC broker lands, this starts flume-broker. Extra arguments go to the program.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target flume-inspect
if [ $# -eq 0 ]; then
  exec build/release/broker/flume-inspect --demo
fi
exec build/release/broker/flume-inspect "$@"

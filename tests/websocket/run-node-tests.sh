#!/usr/bin/env bash
# Runs the WebSocket edge's Node tests (protocol.test.mjs, browser.test.mjs) against the
# flume-broker and flume CLI of a build; ctest calls it. Installs the test tools (ws,
# playwright-core, typescript: package-lock.json) on first use.
#
#   tests/websocket/run-node-tests.sh FLUME_BROKER_BIN FLUME_CLI_BIN [TEST_FILE...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export FLUME_BROKER_BIN=$1 FLUME_CLI_BIN=$2
shift 2
command -v node >/dev/null || { echo "run-node-tests: node not found (Node.js >= 20 is needed)" >&2; exit 1; }
cd "$here"
# ctest runs these tests in parallel: one installs while the others wait (npm ci first deletes
# node_modules, which would pull it from under a test already running).
exec 9>"${TMPDIR:-/tmp}/flume-websocket-npm.lock"
flock 9
if [ ! -d node_modules/ws ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --ignore-scripts --no-audit --no-fund --no-progress >/dev/null
fi
flock -u 9
# The broker embeds the browser client's build: it must be the build of the TypeScript source.
node ../../bindings/node/scripts/copy-browser-client.js --check
# 1000 clients at once need more descriptors than the usual soft limit of 1024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node --test --test-concurrency=1 "${@:-protocol.test.mjs}"

#!/usr/bin/env bash
# The Node.js binding, built and installed the ways users do, then its node --test suite:
#   1. npm ci in bindings/node (its build tools and test tools, from package-lock.json);
#   2. the addon compiled from source by cmake-js, as `npm install` does when no prebuild fits
#      (libflume and the addon from the one CMake tree, warnings fatal);
#   3. `npm install <checkout>/bindings/node` in a scratch project, and a script that publishes
#      and receives through it;
#   4. `npm pack` (which bundles the C++ sources) with the addon as a prebuild, installed with
#      --ignore-scripts in another scratch project, and the same script;
#   5. node --test (tests against embedded brokers, and against FLUME_BROKER_BIN if given).
#
#   scripts/test-node.sh [FLUME_BROKER_BIN]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
node_dir=$root/bindings/node
export FLUME_BROKER_BIN=${1:-${FLUME_BROKER_BIN:-}}
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
command -v node >/dev/null || { echo "test-node: node not found (Node.js >= 20.17 is needed)" >&2; exit 1; }
t0=$SECONDS
say() { echo "test-node: $* ($((SECONDS - t0)) s in)"; }

cd "$node_dir"
say "npm ci"
npm ci --ignore-scripts --no-progress >/dev/null

say "compiling the addon from source with cmake-js (libflume included)"
start=$SECONDS
mkdir -p build
FLUME_CMAKE_DEFINES="FLUME_WERROR=ON" node scripts/build.js --jobs "$(nproc)" >build/build-log.txt 2>&1 || {
  cat build/build-log.txt >&2
  exit 1
}
say "compiled in $((SECONDS - start)) s"

scratch=$(mktemp -d /tmp/flume-node-install.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/smoke.mjs" <<'JS'
import { Broker, connect } from 'flume'
const broker = await Broker.start({ dataDir: process.argv[2] })
const client = await connect(broker.url, { ca: broker.certificatePath })
const sub = await client.subscribe('smoke.>')
client.publish('smoke.test', 'installed')
for await (const m of sub) { console.log(m.subject, m.string()); break }
await client.close()
await broker.stop()
JS

say "npm install $node_dir in a scratch project"
mkdir -p "$scratch/app" && cd "$scratch/app" && npm init -y >/dev/null
npm install --no-progress "$node_dir" >/dev/null
cp "$scratch/smoke.mjs" . && out=$(timeout 60 node smoke.mjs "$scratch/data1")
[ "$out" = "smoke.test installed" ] || { echo "test-node: the installed package printed '$out'" >&2; exit 1; }

say "npm pack with a prebuild, installed with --ignore-scripts"
cd "$node_dir"
rm -rf prebuilds && mkdir -p prebuilds/linux-x64
# The name prebuildify gives a Node-API build (npm run prebuildify makes it the same way, with
# one more compile); node-gyp-build picks it by platform, arch and libc.
cp build/Release/flume.node prebuilds/linux-x64/flume.glibc.node
tarball=$(npm pack --pack-destination "$scratch" 2>/dev/null | tail -1)
rm -rf prebuilds
mkdir -p "$scratch/app2" && cd "$scratch/app2" && npm init -y >/dev/null
npm install --no-progress --ignore-scripts "$scratch/$tarball" >/dev/null
tar -tzf "$scratch/$tarball" >"$scratch/contents.txt"
grep -q '^package/native/capi/include/flume/flume.h$' "$scratch/contents.txt" || {
  echo "test-node: the tarball lacks the C++ sources (native/)" >&2; exit 1; }
cp "$scratch/smoke.mjs" . && out=$(timeout 60 node smoke.mjs "$scratch/data2")
[ "$out" = "smoke.test installed" ] || { echo "test-node: the packed package printed '$out'" >&2; exit 1; }

say "node --test"
cd "$node_dir"
# Bounded: a test that leaves a handle open would otherwise keep its file (and this) waiting.
timeout 900 npm test
say "done"

#!/usr/bin/env node
// npm's install script. With a prebuilt addon for this platform (prebuilds/, made by
// prebuildify) or an addon already compiled (build/Release), it does nothing: node-gyp-build
// loads that at run time, which is also why `npm install --ignore-scripts` works when a prebuild
// is there. Otherwise it compiles the addon from source, saying so first.
//
// `npm install <checkout>/bindings/node` links the folder and runs this script in it without
// installing the folder's own dependencies (npm's rule for folder installs), so when cmake-js or
// node-gyp-build is missing here, it installs them first with `npm ci` (package-lock.json).
'use strict'
const path = require('node:path')
const { existsSync } = require('node:fs')
const { spawnSync } = require('node:child_process')

const here = path.resolve(__dirname, '..')

function resolvable(name) {
  try {
    require.resolve(name, { paths: [here] })
    return true
  } catch {
    return false
  }
}

if (process.env.FLUME_BUILD_FROM_SOURCE !== '1' && resolvable('node-gyp-build')) {
  try {
    require(require.resolve('node-gyp-build', { paths: [here] })).path(here)
    process.exit(0) // a prebuild or a local build is there
  } catch {
    // neither: compile below
  }
}

console.error(
  `flume: no prebuilt addon for ${process.platform}-${process.arch}; compiling Flume's native ` +
  'addon from source (libflume and the addon: about 1 minute on an idle 2-core machine, up to 3 ' +
  'when it is busy). It needs a C++20 compiler, CMake >= 3.25, GnuTLS and ngtcp2/nghttp3 1.x ' +
  '(in a checkout: scripts/setup-deps.sh run).')

if (!resolvable('cmake-js') || !resolvable('node-addon-api')) {
  if (!existsSync(path.join(here, 'package-lock.json'))) {
    console.error('flume: cmake-js and node-addon-api are missing and there is no package-lock.json')
    process.exit(1)
  }
  console.error(`flume: installing the build tools into ${path.join(here, 'node_modules')} (npm ci)`)
  const npm = process.env.npm_execpath
  const cmd = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []]
  const r = spawnSync(cmd[0], [...cmd[1], 'ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'],
    { cwd: here, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

const r = spawnSync(process.execPath, [path.join(__dirname, 'build.js')], { cwd: here, stdio: 'inherit' })
process.exit(r.status ?? 1)

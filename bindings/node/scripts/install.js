#!/usr/bin/env node
// npm's install script. With a prebuilt addon for this platform (prebuilds/, made by
// prebuildify) or an addon already compiled (build/Release), it does nothing: node-gyp-build
// loads that at run time, which is also why `npm install --ignore-scripts` works when a prebuild
// is there. Otherwise it compiles the addon from source, saying so first.
'use strict'
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const here = path.resolve(__dirname, '..')
if (process.env.FLUME_BUILD_FROM_SOURCE !== '1') {
  try {
    require('node-gyp-build').path(here)
    process.exit(0)
  } catch {
    // no prebuild, no local build: compile below
  }
}
console.error(
  'flume: no prebuilt addon for ' + process.platform + '-' + process.arch + '; compiling ' +
  "Flume's native addon from source (libflume and the addon: about 3 minutes on 2 cores). " +
  'It needs a C++20 compiler, CMake >= 3.25, GnuTLS and ngtcp2/nghttp3 >= 1.x ' +
  '(scripts/setup-deps.sh run, in a checkout).')
const r = spawnSync(process.execPath, [path.join(__dirname, 'build.js')], { cwd: here, stdio: 'inherit' })
process.exit(r.status ?? 1)

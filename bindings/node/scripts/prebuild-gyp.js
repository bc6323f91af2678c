#!/usr/bin/env node
// What prebuildify runs in place of node-gyp (`prebuildify --node-gyp scripts/prebuild-gyp.js`):
// the addon is a CMake build, so this takes node-gyp's `rebuild [--debug]` and compiles with
// cmake-js (scripts/build.js) into build/Release/flume.node, where prebuildify picks it up, strips
// it and copies it into prebuilds/<platform>-<arch>/. It is a Node-API build: one per platform.
'use strict'
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const args = process.argv.slice(2)
if (args[0] !== 'rebuild') {
  console.error(`prebuild-gyp: only 'rebuild' is supported (got ${args.join(' ')})`)
  process.exit(2)
}
const r = spawnSync(process.execPath, [path.join(__dirname, 'build.js'), ...(args.includes('--debug') ? ['--debug'] : [])],
  { stdio: 'inherit', cwd: path.resolve(__dirname, '..') })
process.exit(r.status ?? 1)

#!/usr/bin/env node
// Compiles the addon from source with cmake-js: libflume (core/ and capi/ of the checkout, or of
// the copy in native/ that `npm pack` bundles) and src/, into build/Release/flume.node.
//
//   node scripts/build.js [--debug] [--jobs N]
//
// cmake-js is given this folder (its package.json says Node-API, so no Node headers are
// downloaded); CMakeLists.txt here adds the root tree. The CMake build tree is build/cmake.
'use strict'
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const os = require('node:os')

const here = path.resolve(__dirname, '..')
const args = process.argv.slice(2)
const debug = args.includes('--debug')
const jobsAt = args.indexOf('--jobs')
const jobs = jobsAt >= 0 ? args[jobsAt + 1] : String(Math.min(os.availableParallelism?.() ?? os.cpus().length, 8))
let cmakeJs
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [here] })
} catch {
  console.error('flume: cmake-js is not installed: run `npm install` in ' + here)
  process.exit(1)
}
const extra = (process.env.FLUME_CMAKE_DEFINES || '').split(/\s+/).filter(Boolean).map((d) => `--CD${d}`)
const cmd = [cmakeJs, 'compile', '--directory', here, '--out', path.join(here, 'build', 'cmake'),
  '--target', 'flume_node', '--parallel', jobs, ...(debug ? ['--debug'] : []), ...extra]
// CMake's generator: Ninja when it is there (setup-deps.sh installs it), else Make.
if (spawnSync('ninja', ['--version'], { stdio: 'ignore' }).status === 0) cmd.push('--generator', 'Ninja')
const r = spawnSync(process.execPath, cmd, { cwd: here, stdio: 'inherit' })
process.exit(r.status ?? 1)

#!/usr/bin/env node
// npm pack's prepack (and, with --clean, postpack) step: copies into native/ the parts of the
// checkout the source build needs (the root CMake tree with only libflume: CMakeLists.txt,
// VERSION, LICENSE, cmake/, core/, capi/, bindings/CMakeLists.txt), so that the tarball builds
// where there is no checkout around it. CMakeLists.txt here uses native/ when ../../ is not a
// checkout.
'use strict'
const { cpSync, rmSync, mkdirSync, existsSync } = require('node:fs')
const path = require('node:path')

const here = path.resolve(__dirname, '..')
const root = path.resolve(here, '../..')
const out = path.join(here, 'native')

rmSync(out, { recursive: true, force: true })
if (process.argv.includes('--clean')) process.exit(0)
if (!existsSync(path.join(root, 'capi', 'include', 'flume', 'flume.h'))) {
  console.error(`bundle-sources: ${root} is not a Flume checkout`)
  process.exit(1)
}
mkdirSync(path.join(out, 'bindings'), { recursive: true })
for (const item of ['CMakeLists.txt', 'VERSION', 'LICENSE', 'cmake', 'core', 'capi']) {
  cpSync(path.join(root, item), path.join(out, item), { recursive: true })
}
cpSync(path.join(root, 'bindings', 'CMakeLists.txt'), path.join(out, 'bindings', 'CMakeLists.txt'))
console.error(`bundle-sources: copied the C++ sources into ${out}`)

'use strict'
// docs/node.md is executed: each ```js block is written to build/docs-examples/, type-checked with
// tsc (with examples/, strict) and run with node. A `// text` comment after a console.log() is
// output the example must print (the printed lines must contain those, in order). The package
// version must be the tree's VERSION.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { readFileSync, writeFileSync, mkdirSync, rmSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { root } = require('./helpers')

const here = path.resolve(__dirname, '..')
const doc = readFileSync(path.join(root, 'docs', 'node.md'), 'utf8')
const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
const outDir = path.join(here, 'build', 'docs-examples')
const tsc = path.join(here, 'node_modules', 'typescript', 'bin', 'tsc')

rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
blocks.forEach((code, i) => writeFileSync(path.join(outDir, `example-${i + 1}.mjs`), code))

test('docs/node.md has examples', () => {
  assert.ok(blocks.length >= 4, `${blocks.length} examples`)
})

test('package.json has the version of VERSION', () => {
  const pkg = JSON.parse(readFileSync(path.join(here, 'package.json'), 'utf8'))
  assert.equal(pkg.version, readFileSync(path.join(root, 'VERSION'), 'utf8').trim())
  assert.equal(pkg.name, 'flume')
})

test('the examples and the declarations pass tsc --noEmit (strict)', { timeout: 120000 }, () => {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(here, 'tsconfig.json')], { encoding: 'utf8', cwd: here })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

blocks.forEach((code, i) => {
  test(`docs/node.md example ${i + 1} runs and prints what it says`, { timeout: 60000 }, () => {
    const file = path.join(outDir, `example-${i + 1}.mjs`)
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: here, timeout: 50000 })
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal}\n${r.stdout}\n${r.stderr}`)
    const expected = [...code.matchAll(/console\.log\(.*\)\s*\/\/ (.*)$/gm)].map((m) => m[1].trim())
    const lines = r.stdout.split('\n').map((l) => l.trim())
    let at = 0
    for (const e of expected) {
      const want = e
      const found = lines.findIndex((l, k) => k >= at && l === want)
      assert.ok(found >= 0, `example ${i + 1}: expected a line "${want}" in:\n${r.stdout}`)
      at = found + 1
    }
  })
})

test('examples/pubsub.mts compiles and runs', { timeout: 120000 }, () => {
  let r = spawnSync(process.execPath, [tsc, '-p', path.join(here, 'tsconfig.examples.json')], { encoding: 'utf8', cwd: here })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  r = spawnSync(process.execPath, [path.join(here, 'build', 'examples', 'pubsub.mjs')], { encoding: 'utf8', cwd: here, timeout: 50000 })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n'), ['true typed.a=hi typed.b=there', 'true'])
})

test('import and require give the same module (one addon, one set of classes)', async () => {
  const esm = await import('flume')
  const cjs = require('flume')
  assert.equal(esm.FlumeError, cjs.FlumeError)
  assert.equal(esm.connect, cjs.connect)
  assert.equal(esm.default, cjs)
  assert.equal(typeof cjs.version, 'string')
})

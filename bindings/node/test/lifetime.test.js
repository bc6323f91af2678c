'use strict'
// A process with an open subscription stays alive; one that closed everything exits by itself.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const path = require('node:path')
const { within } = require('./helpers')

const fixture = path.join(__dirname, 'fixtures', 'lifetime.js')

test('closing everything lets the process exit, with no active resources', { timeout: 30000 }, () => {
  const r = spawnSync(process.execPath, [fixture, 'close'], { encoding: 'utf8', timeout: 20000 })
  assert.equal(r.status, 0, `${r.signal} ${r.stdout} ${r.stderr}`)
  const lines = r.stdout.trim().split('\n')
  assert.equal(lines[0], 'got bye')
  // The child's own stdout and stderr pipes are all that may be left.
  assert.deepEqual(JSON.parse(lines[1]).filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap'), [])
})

test('an open subscription keeps the process alive', { timeout: 30000 }, async () => {
  const child = spawn(process.execPath, [fixture, 'open'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  await within(10000, (async () => { while (!out.includes('open')) await new Promise((r) => setTimeout(r, 20)) })(), 'child start')
  const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 1500))])
  assert.equal(early, null, `the process exited with its subscription open: ${JSON.stringify(early)}`)
  child.kill('SIGTERM')
  const { signal } = await within(10000, exited, 'child exit')
  assert.equal(signal, 'SIGTERM')
})

'use strict'
// Garbage collection: thousands of clients and subscriptions made, dropped and collected, with
// no crash, no leak of handles (the process exits by itself) and a bounded RSS.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

test('thousands of subscriptions and clients come and go with bounded RSS', { timeout: 120000 }, () => {
  const r = spawnSync(process.execPath,
    ['--expose-gc', path.join(__dirname, 'fixtures', 'gc-cycles.js'), '10000', '60000'],
    { encoding: 'utf8', timeout: 110000 })
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}\n${r.stdout}\n${r.stderr}`)
  const { cycles, rssWarm, rssEnd } = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.ok(cycles >= 1000, `only ${cycles} cycles in the time allowed`)
  // After the warm-up (a quarter of the cycles), RSS grows by less than 32 MiB over the rest.
  const growth = (rssEnd - rssWarm) / (1024 * 1024)
  assert.ok(growth < 32, `RSS grew ${growth.toFixed(1)} MiB after the warm-up (${rssWarm} -> ${rssEnd})`)
})

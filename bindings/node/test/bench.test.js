'use strict'
// npm run bench, briefly: it runs against flume-broker and flume bench and reports both
// subscribers. A smoke run (1 s), not the measurement: docs/benchmarks.md has that.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const path = require('node:path')
const { root } = require('./helpers')

const built = ['release', 'dev-release'].some((p) =>
  existsSync(path.join(root, 'build', p, 'tools', 'flume')) && existsSync(path.join(root, 'build', p, 'broker', 'flume-broker')))

test('bench.js runs and reports both subscribers', { skip: built || process.env.FLUME_BIN_DIR ? false : 'flume and flume-broker not built', timeout: 60000 }, () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'bench.js'), '--duration', '1', '--warmup', '0.5', '--mode', 'callback', '--rate', '20000', '--json'],
    { encoding: 'utf8', timeout: 50000 })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  const [run] = out.results
  assert.equal(run.mode, 'callback')
  // Paced at 20k msg/s: both subscribers get (nearly) all of it.
  assert.ok(run.node.rate > 15000, JSON.stringify(run))
  assert.ok(run.cpp.rate > 15000, JSON.stringify(run))
  assert.ok(run.node.latency_us.p50 > 0)
})

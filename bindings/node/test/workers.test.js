'use strict'
// Worker threads, each with its own client (and its own copy of the addon's state).
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { Worker } = require('node:worker_threads')
const path = require('node:path')
const { startBroker, connectTo, closeAll, within, take } = require('./helpers')

let broker
before(async () => { broker = await startBroker() })
after(async () => {
  await closeAll()
  await broker.stop()
})

function runWorker(data) {
  const w = new Worker(path.join(__dirname, 'fixtures', 'worker.js'), { workerData: data })
  const result = new Promise((resolve, reject) => {
    let message
    w.on('message', (m) => { message = m })
    w.on('error', reject)
    w.on('exit', (code) => (code === 0 ? resolve(message) : reject(new Error(`worker exit ${code}`))))
  })
  return { w, result }
}

test('four workers, each with its own client, and the main thread', { timeout: 60000 }, async () => {
  const main = await connectTo(broker)
  const done = await main.subscribe('worker.done')
  const workers = [0, 1, 2, 3].map((index) =>
    runWorker({ url: broker.url, ca: broker.certificatePath, index, count: 2000 }))
  const results = await within(30000, Promise.all(workers.map((w) => w.result)), 'workers')
  assert.deepEqual(results.map((r) => r.received), [2000, 2000, 2000, 2000])
  const got = await take(done, 4)
  assert.deepEqual(got.map((m) => m.string()).sort(), ['0', '1', '2', '3'])
  await main.close()
})

test('a worker that exits with its client open is cleaned up', { timeout: 60000 }, async () => {
  const { w, result } = runWorker({ url: broker.url, ca: broker.certificatePath, index: 9, count: 10, leaveOpen: true })
  const r = await within(20000, result, 'worker exit')
  assert.equal(r.received, 10)
  const t = runWorker({ url: broker.url, ca: broker.certificatePath, index: 10, count: 10, leaveOpen: true })
  // terminate() while it may still be running: no crash in the main thread.
  setTimeout(() => t.w.terminate(), 5)
  await within(20000, t.result.catch(() => {}), 'terminated worker')
  assert.equal(w.threadId, -1) // exited
})

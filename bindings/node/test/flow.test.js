'use strict'
// Flow: publish never blocks the event loop and reports back-pressure; a slow consumer holds up
// only itself.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { flume, startBroker, connectTo, closeAll, within, take } = require('./helpers')

let broker
before(async () => { broker = await startBroker() })
after(async () => {
  await closeAll()
  await broker.stop()
})

test('publish returns false past maxPendingBytes, keeps order, and drained() resolves', { timeout: 60000 }, async () => {
  const sink = await connectTo(broker)
  const sub = await sink.subscribe('bp', { queueLimit: 65536, localQueueLimit: 65536 })
  const client = await connectTo(broker, { maxPendingBytes: 64 * 1024, maxBacklogBytes: 64 * 1024 * 1024 })
  const payload = new Uint8Array(4096)
  let sent = 0
  let refused = -1
  // Synchronous: the event loop cannot run, so libflume's queue fills faster than QUIC drains it.
  const started = process.hrtime.bigint()
  while (sent < 20000) {
    new DataView(payload.buffer).setUint32(0, sent)
    const took = client.publish('bp', payload)
    sent++
    if (!took && refused < 0) refused = sent
    if (refused >= 0 && sent >= refused + 500) break
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  assert.ok(refused > 0, 'publish never reported back-pressure')
  // Never blocked: thousands of publishes in far less than any network wait.
  assert.ok(ms < 5000, `publishing took ${ms} ms`)
  assert.ok(client.backlog.messages > 0)
  await within(30000, client.drained(), 'drained()')
  assert.equal(client.backlog.messages, 0)
  const got = await take(sub, sent, 30000)
  assert.equal(got.length, sent)
  got.forEach((m, i) => assert.equal(new DataView(m.data.buffer, m.data.byteOffset).getUint32(0), i))
  await Promise.all([client.close(), sink.close()])
})

test('a full backlog throws FLUME_EAGAIN instead of growing', { timeout: 60000 }, async () => {
  const client = await connectTo(broker, { maxPendingBytes: 16 * 1024, maxBacklogBytes: 32 * 1024 })
  const payload = new Uint8Array(4096)
  let error
  for (let i = 0; i < 100000 && !error; i++) {
    try {
      client.publish('bp.full', payload)
    } catch (e) {
      error = e
    }
  }
  assert.ok(error instanceof flume.TimeoutError, String(error))
  assert.equal(error.code, 'FLUME_EAGAIN')
  assert.match(error.message, /backlog/)
  assert.ok(client.backlog.bytes <= 32 * 1024)
  await within(30000, client.drained())
  client.publish('bp.full', payload) // room again
  await client.close()
})

test('close() with a backlog waiting rejects drained() and returns', { timeout: 60000 }, async () => {
  const client = await connectTo(broker, { maxPendingBytes: 16 * 1024 })
  const payload = new Uint8Array(4096)
  for (let i = 0; i < 2000; i++) {
    try { client.publish('bp.close', payload) } catch { break }
  }
  const drained = client.drained().then(() => 'drained', (e) => e.code)
  await within(15000, client.close(), 'close')
  assert.ok(['drained', 'FLUME_ECLOSED'].includes(await drained))
})

test('a slow async consumer does not hold up a fast one on the same client', { timeout: 60000 }, async () => {
  const client = await connectTo(broker)
  const slow = await client.subscribe('both.>', { highWaterMark: 8 })
  const fast = await client.subscribe('both.>')
  const n = 5000
  let slowDone = 0
  const slowLoop = (async () => {
    for await (const _ of slow) {
      await new Promise((r) => setTimeout(r, 20))
      slowDone++
    }
  })()
  const pub = await connectTo(broker)
  for (let i = 0; i < n; i++) pub.publish('both.x', String(i))
  const started = Date.now()
  const got = await take(fast, n, 20000)
  const elapsed = Date.now() - started
  assert.equal(got.length, n)
  assert.equal(got[n - 1].string(), String(n - 1))
  // The slow one is far behind: at 20 ms a message it has handled a small share.
  assert.ok(slowDone < n / 4, `slow consumer handled ${slowDone}`)
  assert.ok(elapsed < 15000)
  await Promise.all([client.close(), pub.close()])
  await within(10000, slowLoop)
})

test('publish does not block the event loop while a subscriber is slow', { timeout: 60000 }, async () => {
  // A timer keeps firing while thousands of messages go out and come back.
  const client = await connectTo(broker)
  const sub = await client.subscribe('tick', { callback: () => {} })
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 1)
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 200; i++) client.publish('tick', 'x')
    await new Promise((r) => setImmediate(r))
  }
  await client.flush()
  await new Promise((r) => setTimeout(r, 20))
  clearInterval(timer)
  assert.ok(ticks > 0)
  assert.ok(sub.stats().received > 0)
  await client.close()
})

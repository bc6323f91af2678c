'use strict'
// Message.sequence and Gap items: where a subscription missed messages (the broker's drops, the
// local queue's, a resubscription after the broker restarted), against embedded brokers.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { flume, tempDir, startBroker, connectTo, closeAll, within, take } = require('./helpers')

let broker
before(async () => { broker = await startBroker() })
after(async () => {
  await closeAll()
  await broker.stop()
})

/** ~1 KiB, numbered in its first 8 bytes. */
function numbered(i) {
  const b = new Uint8Array(1024)
  new DataView(b.buffer).setBigUint64(0, BigInt(i))
  return b
}
const number = (m) => Number(new DataView(m.data.buffer, m.data.byteOffset).getBigUint64(0))

/** Everything the iterator yields until it is quiet for `quiet` ms. */
async function drainItems(sub, quiet = 500) {
  const items = []
  const it = sub[Symbol.asyncIterator]()
  for (;;) {
    let timer
    const r = await Promise.race([it.next(), new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), quiet)
    })])
    clearTimeout(timer)
    if (r === null || r.done) break
    items.push(r.value)
  }
  return { items, it }
}

test('messages are numbered 1, 2, 3, ... in their subscription; stats say the last', async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('numbered.>')
  for (let i = 0; i < 100; i++) client.publish('numbered.x', numbered(i))
  const got = await take(sub, 100)
  assert.deepEqual(got.map((m) => m.sequence), Array.from({ length: 100 }, (_, i) => i + 1))
  assert.ok(got.every((m) => m.kind === 'message' && m instanceof flume.Message))
  const stats = sub.stats()
  assert.equal(stats.lastSequence, 100)
  assert.equal(stats.resubscribed, 0)
  await client.close()
})

for (const gaps of [false, true]) {
  test(`a subscriber that does not read: messages + what was counted = published (gaps: ${gaps})`, { timeout: 60000 }, async () => {
    const client = await connectTo(broker)
    // highWaterMark 1: JavaScript takes one batch and stops; libflume's 16 fill, then the
    // broker's 16 overflow.
    const sub = await client.subscribe('drops.x', { queueLimit: 16, localQueueLimit: 16, highWaterMark: 1, gaps })
    const published = 2000
    for (let i = 0; i < published; i++) client.publish('drops.x', numbered(i))
    await client.flush(10000)
    const { items } = await within(30000, drainItems(sub), 'draining')
    const stats = sub.stats()
    const dropped = stats.droppedByBroker + stats.droppedLocally
    assert.ok(dropped > 0, 'nothing dropped: nothing tested')
    const messages = items.filter((m) => m.kind === 'message')
    const gapItems = items.filter((m) => m.kind === 'gap')
    assert.equal(messages.length + dropped, published)
    let previous = null
    let since = 0 // what the gaps since the previous message count
    for (const item of items) {
      if (item.kind === 'gap') {
        assert.ok(item instanceof flume.Gap)
        assert.equal(item.resubscribed, false)
        assert.ok(item.droppedByBroker + item.droppedLocally > 0)
        // flume.h says two gaps never follow each other, but libflume merges a new gap only
        // into one still queued: one already taken can be followed by another. The second then
        // stands after what the first counts.
        assert.equal(item.sequence, (previous ? previous.sequence : 0) + since)
        since += item.droppedByBroker + item.droppedLocally
        continue
      }
      if (previous !== null) {
        // With gap items the jump is what the gaps count; without, it is still exact.
        if (gaps) assert.equal(item.sequence, previous.sequence + 1 + since)
        assert.equal(item.sequence - previous.sequence, number(item) - number(previous))
      }
      previous = item
      since = 0
    }
    if (gaps) {
      const counted = gapItems.reduce((n, g) => n + g.droppedByBroker + g.droppedLocally, 0)
      assert.equal(counted, dropped)
      assert.ok(gapItems.length > 0)
    } else {
      assert.equal(gapItems.length, 0)
    }
    assert.equal(stats.lastSequence, published)
    await client.close()
  })
}

test('a callback subscription gets its gaps too', { timeout: 60000 }, async () => {
  const client = await connectTo(broker)
  const items = []
  const sub = await client.subscribe('drops.cb', {
    queueLimit: 16, localQueueLimit: 16, gaps: true,
    // The first message's callback blocks the event loop a while: the queues overflow meanwhile.
    callback: (err, m) => {
      assert.equal(err, null)
      if (items.length === 0) {
        const until = Date.now() + 300
        while (Date.now() < until) {}
      }
      items.push(m)
    },
  })
  for (let i = 0; i < 2000; i++) client.publish('drops.cb', numbered(i))
  await client.flush(10000)
  await new Promise((r) => setTimeout(r, 500))
  const stats = sub.stats()
  const dropped = stats.droppedByBroker + stats.droppedLocally
  assert.ok(dropped > 0, 'nothing dropped: nothing tested')
  const messages = items.filter((m) => m.kind === 'message')
  const gapItems = items.filter((m) => m.kind === 'gap')
  assert.ok(gapItems.every((g) => g instanceof flume.Gap && g.subscription === sub))
  assert.equal(gapItems.reduce((n, g) => n + g.droppedByBroker + g.droppedLocally, 0), dropped)
  assert.equal(messages.length + dropped, 2000)
  await client.close()
})

test('a broker restart comes as one gap with resubscribed true', { timeout: 60000 }, async () => {
  const data = tempDir()
  try {
    const first = await flume.Broker.start({ dataDir: data.dir, shutdownGrace: 200 })
    const port = first.port
    const client = await connectTo(first, { connectTimeout: 5000, reconnectMin: 50, reconnectMax: 250 })
    const sub = await client.subscribe('restart.>', { gaps: true })
    const it = sub[Symbol.asyncIterator]()
    client.publish('restart.x', numbered(0))
    const before = (await within(5000, it.next())).value
    assert.equal(before.kind, 'message')
    assert.equal(before.sequence, 1)
    await first.stop()
    const second = await flume.Broker.start({ listen: `127.0.0.1:${port}`, dataDir: data.dir, shutdownGrace: 200 })
    try {
      const deadline = Date.now() + 10000
      while (sub.stats().resubscribed === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20))
      }
      assert.equal(sub.stats().resubscribed, 1)
      await client.flush(5000)
      client.publish('restart.x', numbered(1))
      const gap = (await within(5000, it.next())).value
      assert.ok(gap instanceof flume.Gap, `not a gap: ${gap && gap.kind}`)
      assert.equal(gap.kind, 'gap')
      assert.equal(gap.resubscribed, true)
      assert.equal(gap.droppedByBroker + gap.droppedLocally, 0)
      assert.equal(gap.sequence, 1)
      assert.ok(gap.disconnectedMs > 0 && gap.disconnectedMs < 10000, `${gap.disconnectedMs} ms`)
      const afterGap = (await within(5000, it.next())).value
      assert.equal(afterGap.kind, 'message')
      assert.equal(number(afterGap), 1)
      assert.equal(afterGap.sequence, 2)
      await client.close()
    } finally {
      await second.stop()
    }
  } finally {
    data.remove()
  }
})

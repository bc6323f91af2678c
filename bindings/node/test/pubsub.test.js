'use strict'
// Publish and subscribe through an embedded broker: round trips, patterns, many subscriptions,
// fan-in and fan-out, the ways a subscription ends.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { flume, startBroker, connectTo, closeAll, within, take } = require('./helpers')

let broker
before(async () => { broker = await startBroker() })
after(async () => {
  await closeAll()
  await broker.stop()
})

test('a published message comes back with its subject and bytes', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('round.trip')
  assert.equal(client.publish('round.trip', new Uint8Array([0, 1, 2, 255])), true)
  client.publish('round.trip', 'héllo')
  client.publish('round.trip', Buffer.from('buffer'))
  client.publish('round.trip', new Uint8Array([9, 8, 7, 6]).buffer)
  client.publish('round.trip', new Uint8Array(0))
  const big = new Uint8Array(60000).map((_, i) => i & 0xff)
  client.publish('round.trip', big)
  const got = await take(sub, 6)
  assert.equal(got[0].subject, 'round.trip')
  assert.ok(got[0].data instanceof Uint8Array)
  assert.deepEqual([...got[0].data], [0, 1, 2, 255])
  assert.equal(got[1].string(), 'héllo')
  assert.equal(got[2].string(), 'buffer')
  assert.deepEqual([...got[3].data], [9, 8, 7, 6])
  assert.equal(got[4].data.length, 0)
  assert.deepEqual(got[5].data, big)
  assert.equal(got[0].subscription, sub)
  assert.equal(got[0].subscriptionId, sub.id)
  await client.close()
})

test('received data is owned by JavaScript and outlives the batch', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('own.>')
  for (let i = 0; i < 100; i++) client.publish(`own.${i}`, `payload-${i}`)
  const got = await take(sub, 100)
  await client.close() // frees everything native
  got.forEach((m, i) => {
    assert.equal(m.subject, `own.${i}`)
    assert.equal(m.string(), `payload-${i}`)
  })
})

test('wildcards: * matches one token, > one or more', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const star = await client.subscribe('w.*.x')
  const tail = await client.subscribe('w.>')
  for (const s of ['w.a.x', 'w.a.b.x', 'w.b.x', 'w.c', 'v.a.x']) client.publish(s, s)
  await client.flush()
  const a = await take(star, 2)
  assert.deepEqual(a.map((m) => m.subject), ['w.a.x', 'w.b.x'])
  const b = await take(tail, 4)
  assert.deepEqual(b.map((m) => m.subject), ['w.a.x', 'w.a.b.x', 'w.b.x', 'w.c'])
  assert.equal(flume.patternMatches('w.*.x', 'w.q.x'), true)
  assert.equal(flume.patternMatches('w.*.x', 'w.q.y.x'), false)
  await client.close()
})

test('1000 subscriptions on one client each get their own messages', { timeout: 60000 }, async () => {
  const client = await connectTo(broker)
  const subs = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => client.subscribe(`many.${i}`)))
  assert.equal(new Set(subs.map((s) => s.id)).size, 1000)
  for (let i = 0; i < 1000; i++) client.publish(`many.${i}`, String(i))
  await client.flush()
  for (let i = 0; i < 1000; i++) {
    const [m] = await take(subs[i], 1)
    assert.equal(m.subject, `many.${i}`)
    assert.equal(m.string(), String(i))
  }
  const stats = await broker.stats()
  assert.ok(stats.subscriptions >= 1000)
  await client.close()
  for (const s of subs) assert.equal(await within(5000, s.closed), undefined)
})

test('fan-in: three publishers, one subscriber, each publisher in order', { timeout: 30000 }, async () => {
  const sink = await connectTo(broker)
  const sub = await sink.subscribe('fanin.*')
  const pubs = await Promise.all([0, 1, 2].map(() => connectTo(broker)))
  const n = 500
  for (let i = 0; i < n; i++) pubs.forEach((p, k) => p.publish(`fanin.${k}`, String(i)))
  await Promise.all(pubs.map((p) => p.flush()))
  const got = await take(sub, 3 * n, 10000)
  for (let k = 0; k < 3; k++) {
    const seq = got.filter((m) => m.subject === `fanin.${k}`).map((m) => Number(m.string()))
    assert.deepEqual(seq, Array.from({ length: n }, (_, i) => i))
  }
  await Promise.all([sink, ...pubs].map((c) => c.close()))
})

test('fan-out: one publisher, five subscribers on their own clients', { timeout: 30000 }, async () => {
  const clients = await Promise.all([0, 1, 2, 3, 4].map(() => connectTo(broker)))
  const subs = await Promise.all(clients.map((c) => c.subscribe('fanout')))
  const pub = await connectTo(broker)
  for (let i = 0; i < 300; i++) pub.publish('fanout', String(i))
  await pub.flush()
  for (const s of subs) {
    const got = await take(s, 300)
    assert.deepEqual(got.map((m) => Number(m.string())), Array.from({ length: 300 }, (_, i) => i))
  }
  await Promise.all([pub, ...clients].map((c) => c.close()))
})

test('the callback form gets every message, in order', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const seen = []
  let done
  const all = new Promise((resolve) => { done = resolve })
  await client.subscribe('cb.>', {
    callback: (err, m) => {
      assert.equal(err, null)
      seen.push(m.subject)
      if (seen.length === 2000) done()
    },
  })
  for (let i = 0; i < 2000; i++) client.publish(`cb.${i % 7}`, 'x')
  await within(10000, all, 'callbacks')
  assert.equal(seen[0], 'cb.0')
  assert.equal(seen[1999], `cb.${1999 % 7}`)
  await client.close()
})

test('unsubscribe() ends the iteration and resolves closed', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('unsub')
  client.publish('unsub', 'one')
  const got = []
  const loop = (async () => {
    for await (const m of sub) {
      got.push(m.string())
      sub.unsubscribe()
    }
  })()
  await within(5000, loop, 'the loop ending')
  assert.deepEqual(got, ['one'])
  assert.equal(await within(5000, sub.closed), undefined)
  assert.equal(sub.isClosed, true)
  // Published after: nobody gets it, and nothing fails.
  client.publish('unsub', 'two')
  await client.flush()
  await client.close()
})

test('break out of for-await unsubscribes', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('brk')
  client.publish('brk', '1')
  for await (const m of sub) {
    assert.equal(m.string(), '1')
    break
  }
  assert.equal(await within(5000, sub.closed), undefined)
  await client.close()
})

test('drain() delivers what was received, then ends', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('drain')
  for (let i = 0; i < 50; i++) client.publish('drain', String(i))
  await client.flush()
  const got = []
  const loop = (async () => { for await (const m of sub) got.push(Number(m.string())) })()
  await within(5000, sub.drain(), 'drain')
  await within(5000, loop, 'the loop ending')
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i))
  await client.close()
})

test('closing the client ends every iteration without an error', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const subs = await Promise.all(['c.1', 'c.2', 'c.3'].map((p) => client.subscribe(p)))
  const loops = subs.map(async (s) => { for await (const _ of s) { /* none */ } })
  await client.close()
  await within(5000, Promise.all(loops), 'iterations ending')
  for (const s of subs) assert.equal(await s.closed, undefined)
  await within(5000, client.closed(), 'client closed()')
  assert.equal(client.isClosed, true)
  await client.close() // twice is fine
})

test('Symbol.asyncDispose (await using) closes the client and the subscription', { timeout: 20000 }, async () => {
  // Node 20 has the symbol but not the `await using` syntax (TypeScript compiles it to this).
  const client = await connectTo(broker)
  const sub = await client.subscribe('dispose')
  client.publish('dispose', 'x')
  await take(sub, 1)
  await sub[Symbol.asyncDispose]()
  assert.equal(sub.isClosed, true)
  await client[Symbol.asyncDispose]()
  assert.equal(client.isClosed, true)
})

test('client.drain() lets subscriptions finish, then closes', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('cdrain')
  for (let i = 0; i < 10; i++) client.publish('cdrain', String(i))
  await client.flush()
  const got = []
  const loop = (async () => { for await (const m of sub) got.push(m.string()) })()
  await within(10000, client.drain(), 'client drain')
  await within(5000, loop)
  assert.equal(got.length, 10)
  assert.equal(client.isClosed, true)
})

test('stats and pending counts', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('stats')
  for (let i = 0; i < 20; i++) client.publish('stats', 'x')
  await client.flush()
  await within(5000, (async () => { while (sub.getPending() < 20) await new Promise((r) => setTimeout(r, 5)) })())
  assert.equal(sub.getPending(), 20)
  const s = client.stats()
  assert.equal(s.messagesOut, 20)
  assert.equal(s.connected, true)
  assert.equal(sub.stats().state, 'active')
  assert.equal(typeof client.maxPayload, 'number')
  await client.close()
})

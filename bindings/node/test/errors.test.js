'use strict'
// Every bad input gets a FlumeError of the right class, with the C ABI's error name as its code
// and libflume's message saying why.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { flume, startBroker, connectTo, closeAll, freeUdpPort, tempDir } = require('./helpers')

let broker
before(async () => { broker = await startBroker({ maxPayload: 1024 }) })
after(async () => {
  await closeAll()
  await broker.stop()
})

function throwsFlume(fn, Class, code, message) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Class, `${e.name} is not a ${Class.name}: ${e.message}`)
    assert.ok(e instanceof flume.FlumeError)
    assert.equal(e.code, code)
    assert.ok(e.message.length > 0)
    if (message) assert.match(e.message, message)
    return true
  })
}

async function rejectsFlume(promise, Class, code, message) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Class, `${e.name} is not a ${Class.name}: ${e.message}`)
    assert.equal(e.code, code)
    if (message) assert.match(e.message, message)
    return true
  })
}

test('the error classes follow capi/error_codes.def', () => {
  const e = new flume.TLSError('x', 'FLUME_ETLS', -32)
  assert.ok(e instanceof flume.ConnectionError)
  assert.ok(e instanceof flume.FlumeError)
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'TLSError')
  assert.ok(new flume.InvalidSubject('x') instanceof flume.InvalidArgument)
})

test('a subject over 255 bytes', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  throwsFlume(() => client.publish('a'.repeat(256), 'x'), flume.InvalidSubject,
    'FLUME_EINVALID_SUBJECT', /255/)
  throwsFlume(() => flume.validateSubject('b'.repeat(300)), flume.InvalidSubject, 'FLUME_EINVALID_SUBJECT')
  client.publish('a'.repeat(255), 'x') // at the limit: fine
  await client.close()
})

test('invalid subjects and patterns', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  for (const bad of ['', 'a..b', 'has space', 'a.*', 'a.>', '.a']) {
    throwsFlume(() => client.publish(bad, 'x'), flume.InvalidSubject, 'FLUME_EINVALID_SUBJECT')
  }
  for (const bad of ['', 'a.>.b', 'a..b', 'a b', 'a.b*']) {
    await rejectsFlume(client.subscribe(bad), flume.InvalidPattern, 'FLUME_EINVALID_PATTERN')
    throwsFlume(() => flume.validatePattern(bad), flume.InvalidPattern, 'FLUME_EINVALID_PATTERN')
  }
  await client.close()
})

test('a payload over the broker limit', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  assert.equal(client.maxPayload, 1024)
  throwsFlume(() => client.publish('big', new Uint8Array(1025)), flume.PayloadTooLarge,
    'FLUME_EPAYLOAD_TOO_LARGE')
  client.publish('big', new Uint8Array(1024))
  await client.close()
})

test('use after close', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  const sub = await client.subscribe('after')
  await client.close()
  throwsFlume(() => client.publish('after', 'x'), flume.ClosedError, 'FLUME_ECLOSED')
  await rejectsFlume(client.subscribe('after'), flume.ClosedError, 'FLUME_ECLOSED')
  assert.throws(() => client.flush(), flume.ClosedError)
  assert.throws(() => client.stats(), flume.ClosedError)
  assert.equal(sub.isClosed, true)
  sub.unsubscribe() // harmless
  const b = await startBroker()
  await b.stop()
  await rejectsFlume(b.stats(), flume.ClosedError, 'FLUME_ECLOSED')
})

test('wrong types from JavaScript', { timeout: 20000 }, async () => {
  const client = await connectTo(broker)
  for (const bad of [1, null, undefined, {}, Symbol('s')]) {
    throwsFlume(() => client.publish(bad, 'x'), flume.InvalidArgument, 'FLUME_EINVAL', /subject/)
  }
  for (const bad of [1, {}, [1, 2], true, 1n]) {
    throwsFlume(() => client.publish('ok', bad), flume.InvalidArgument, 'FLUME_EINVAL', /data/)
  }
  await rejectsFlume(client.subscribe(42), flume.InvalidArgument, 'FLUME_EINVAL')
  await rejectsFlume(client.subscribe('x', 'opts'), flume.InvalidArgument, 'FLUME_EINVAL')
  await rejectsFlume(client.subscribe('x', { overflow: 'sometimes' }), flume.InvalidArgument, 'FLUME_EINVAL', /overflow/)
  await rejectsFlume(client.subscribe('x', { callback: 'no' }), flume.InvalidArgument, 'FLUME_EINVAL')
  await rejectsFlume(client.subscribe('x', { queueLimit: 'many' }), flume.InvalidArgument, 'FLUME_EINVAL', /queueLimit/)
  await rejectsFlume(client.subscribe('x', { highWaterMark: 0 }), flume.InvalidArgument, 'FLUME_EINVAL')
  await rejectsFlume(flume.connect(5), flume.InvalidArgument, 'FLUME_EINVAL')
  await rejectsFlume(flume.connect(broker.url, { connectTimeout: 'soon' }), flume.InvalidArgument, 'FLUME_EINVAL', /connectTimeout/)
  await rejectsFlume(flume.connect(broker.url, { reconnect: 'yes' }), flume.InvalidArgument, 'FLUME_EINVAL', /reconnect/)
  await rejectsFlume(flume.connect(broker.url, { ca: 7 }), flume.InvalidArgument, 'FLUME_EINVAL', /ca/)
  await rejectsFlume(flume.Broker.start({ maxPayload: -1 }), flume.InvalidArgument, 'FLUME_EINVAL')
  await rejectsFlume(flume.Broker.start({ listen: 'not an address' }), flume.FlumeError, 'FLUME_EINVAL')
  const sub = await client.subscribe('cbsub', { callback: () => {} })
  assert.throws(() => sub[Symbol.asyncIterator](), flume.InvalidArgument)
  await client.close()
})

test('nobody listening: a ConnectionError, in time', { timeout: 20000 }, async () => {
  const port = await freeUdpPort()
  const started = Date.now()
  await rejectsFlume(flume.connect(`flume://127.0.0.1:${port}`, { connectTimeout: 1000 }),
    flume.ConnectionError, 'FLUME_EUNREACHABLE')
  assert.ok(Date.now() - started < 5000)
  await rejectsFlume(flume.connect('flume://127.0.0.1:99999'), flume.InvalidArgument, 'FLUME_EINVAL')
  await rejectsFlume(flume.connect('flume://no-such-host.invalid:1', { connectTimeout: 1000 }), flume.ConnectionError, 'FLUME_EUNREACHABLE')
})

test('an untrusted certificate: a TLSError that says why', { timeout: 20000 }, async () => {
  const other = tempDir()
  const b2 = await flume.Broker.start({ dataDir: other.dir })
  try {
    // Trusting the first broker's certificate, not this one's.
    await rejectsFlume(flume.connect(b2.url, { ca: broker.certificatePath, connectTimeout: 2000 }),
      flume.TLSError, 'FLUME_ETLS')
    // Pinned by fingerprint instead: accepted.
    const c = await flume.connect(b2.url, { pinSha256: b2.fingerprint })
    await c.close()
  } finally {
    await b2.stop()
    other.remove()
  }
})

test('a subscription the broker refuses rejects, and its closed says why', { timeout: 20000 }, async () => {
  const small = await startBroker({ maxSubscriptions: 2 })
  try {
    const client = await connectTo(small)
    await client.subscribe('one')
    await client.subscribe('two')
    await rejectsFlume(client.subscribe('three'), flume.ConnectionError, 'FLUME_EREJECTED', /refused/)
    // The client goes on.
    const ok = await client.subscribe('one.more').catch((e) => e)
    assert.ok(ok instanceof flume.ConnectionError) // still at the limit
    client.publish('one', 'still works')
    await client.flush()
    await client.close()
  } finally {
    await small.stop()
  }
})

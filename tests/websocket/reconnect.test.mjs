// The browser client after a lost connection: it reconnects with back-off to a broker that comes
// back on the same address and makes its subscriptions again, so messages flow without the
// application doing anything.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import WebSocket from 'ws'
import { connect } from '../../bindings/node/lib/browser/flume.mjs'
import { startBroker } from './harness.mjs'

async function nextWithin(iterator, ms) {
  const result = await Promise.race([iterator.next(), new Promise((r) => setTimeout(() => r(null), ms))])
  assert.ok(result && !result.done, `no message within ${ms} ms`)
  return result.value
}

test('after the broker restarts the client reconnects and its subscription works again', async () => {
  const first = await startBroker()
  let second
  try {
    const client = await connect(first.url, { WebSocket, reconnectMin: 50, reconnectMax: 500 })
    const sub = await client.subscribe('again.>')
    const it = sub[Symbol.asyncIterator]()
    client.publish('again.one', '1')
    assert.equal((await nextWithin(it, 5000)).string(), '1')
    await first.stop()
    second = await startBroker([], { wsPort: first.port })
    // Publishes while disconnected wait in the backlog; once the session is back (resubscribed
    // first, then the backlog) one of them arrives. Bounded: 10 s.
    const deadline = Date.now() + 10000
    const next = it.next() // one waiter for the whole loop, so no message goes to a stale one
    let got = null
    while (!got && Date.now() < deadline) {
      client.publish('again.two', '2')
      got = await Promise.race([next, new Promise((r) => setTimeout(() => r(null), 200))])
    }
    assert.ok(got && !got.done, 'no message after the restart')
    assert.equal(got.value.string(), '2')
    assert.ok(client.reconnects >= 1)
    await client.close()
  } finally {
    await first.stop()
    await second?.stop()
  }
})

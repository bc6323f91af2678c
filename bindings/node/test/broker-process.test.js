'use strict'
// Against the flume-broker program ($FLUME_BROKER_BIN, or the tree's build): what a deployment
// looks like. Skipped, saying why, when no flume-broker was built.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { flume, brokerBinary, startBrokerProcess, take, within } = require('./helpers')

const bin = brokerBinary()
let broker
before(async () => { if (bin) broker = await startBrokerProcess(bin) })
after(async () => { if (broker) await broker.stop() })

test('round trip through flume-broker', { skip: bin ? false : 'no flume-broker: set FLUME_BROKER_BIN', timeout: 30000 }, async () => {
  const client = await flume.connect(broker.url, { ca: broker.ca })
  const sub = await client.subscribe('proc.>')
  for (let i = 0; i < 1000; i++) client.publish(`proc.${i % 3}`, String(i))
  const got = await take(sub, 1000)
  assert.deepEqual(got.map((m) => Number(m.string())), Array.from({ length: 1000 }, (_, i) => i))
  await client.close()
})

test('the broker going away ends nothing silently: the client reconnects', { skip: bin ? false : 'no flume-broker', timeout: 30000 }, async () => {
  const client = await flume.connect(broker.url, { ca: broker.ca, reconnect: false })
  const sub = await client.subscribe('proc.end')
  await broker.stop()
  broker = null
  // With reconnect off, the lost connection ends the subscription with an error.
  const result = await within(15000, sub.closed, 'subscription end')
  assert.ok(result instanceof flume.FlumeError, String(result))
  await client.close()
})

// The WebSocket edge against a real flume-broker (docs/protocol.md 19): WebSocket and QUIC
// clients see each other's messages, every WebSocket protocol violation gets its close code,
// refused upgrades get their HTTP status, and the broker goes on serving others after each.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import WebSocket from 'ws'
import { connect } from '../../bindings/node/lib/browser/flume.mjs'
import { cli, closeCodeIn, frame, rawConnect, spawnCli, startBroker } from './harness.mjs'

let broker
before(async () => {
  broker = await startBroker(['--max-payload', '65536'])
})
after(async () => {
  await broker?.stop()
})

const open = (options = {}) => connect(broker.url, { WebSocket, reconnect: false, ...options })

async function nextWithin(sub, ms) {
  const it = sub[Symbol.asyncIterator]()
  const result = await Promise.race([it.next(), new Promise((r) => setTimeout(() => r(null), ms))])
  assert.ok(result && !result.done, `no message within ${ms} ms`)
  return result.value
}

async function stillServes() {
  const c = await open()
  const sub = await c.subscribe('alive')
  c.publish('alive', 'yes')
  assert.equal((await nextWithin(sub, 5000)).string(), 'yes')
  await c.close()
}

test('a QUIC publisher reaches a WebSocket subscriber', async () => {
  const c = await open()
  const sub = await c.subscribe('rt.>')
  await cli(broker, ['pub', 'rt.quic', 'from quic'])
  const m = await nextWithin(sub, 5000)
  assert.equal(m.subject, 'rt.quic')
  assert.equal(m.string(), 'from quic')
  await c.close()
})

test('a WebSocket publisher reaches a QUIC subscriber', async () => {
  const c = await open()
  const sub = spawnCli(broker, ['sub', 'rt.ws', '--count', '1', '--timeout', '10000'])
  let out = ''
  sub.stdout.on('data', (d) => (out += d))
  const exited = new Promise((r) => sub.on('exit', r))
  // The QUIC subscriber's SUBSCRIBE may not be in yet: publish until it has one (bounded).
  for (let i = 0; i < 100 && sub.exitCode === null && !out; i++) {
    c.publish('rt.ws', 'from websocket')
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(await exited, 0)
  assert.equal(out.trim().split('\n')[0], 'from websocket')
  await c.close()
})

for (const [what, bytes, code] of [
  ['an unmasked client frame', frame(0x2, [0, 1], { masked: false }), 1002],
  ['a reserved opcode', frame(0x3, [0]), 1002],
  ['a fragmented control frame', frame(0x9, [1], { fin: false }), 1002],
  ['an oversized message', frame(0x2, Buffer.alloc(65536 + 1024 + 1)), 1009],
  ['invalid UTF-8 in a close reason', frame(0x8, [0x03, 0xe8, 0xc3, 0x28]), 1007],
  ['a text message', frame(0x1, 'hello'), 1003],
]) {
  test(`${what} is closed with ${code}, and the broker serves others after it`, async () => {
    const raw = await rawConnect(broker.port)
    await raw.until((d) => d.includes('\r\n\r\n'))
    assert.match(raw.received().toString('latin1'), /^HTTP\/1\.1 101/)
    raw.socket.write(bytes)
    const data = await raw.until((d) => closeCodeIn(d) !== null)
    assert.equal(closeCodeIn(data), code)
    raw.socket.destroy()
    await stillServes()
  })
}

test('an upgrade without the flume.v1 subprotocol is refused with 426 and a reason', async () => {
  const raw = await rawConnect(broker.port, { 'Sec-WebSocket-Protocol': 'chat' })
  const data = (await raw.until(() => false, 3000)).toString()
  assert.match(data, /^HTTP\/1\.1 426 /)
  assert.match(data, /flume\.v1 is required/)
  assert.ok(raw.ended(), 'the connection is closed after the refusal')
  await stillServes()
})

test('a forbidden Origin is refused with 403', async () => {
  const strict = await startBroker(['--ws-origin', 'https://allowed.example'])
  try {
    const bad = await rawConnect(strict.port, { Origin: 'https://evil.example' })
    assert.match((await bad.until(() => false, 3000)).toString(), /^HTTP\/1\.1 403 [^]*evil\.example is not allowed/)
    const good = await rawConnect(strict.port, { Origin: 'https://allowed.example' })
    assert.match((await good.until((d) => d.includes('\r\n\r\n'))).toString(), /^HTTP\/1\.1 101/)
    good.socket.destroy()
  } finally {
    await strict.stop()
  }
})

test('the demo page and the browser client are served', async () => {
  const page = await fetch(`http://${broker.ws}/`)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /import \{ connect \} from "\/flume\.js"/)
  const js = await fetch(`http://${broker.ws}/flume.js`)
  assert.equal(js.status, 200)
  assert.match(js.headers.get('content-type'), /javascript/)
  assert.match(await js.text(), /export async function connect/)
  assert.equal((await fetch(`http://${broker.ws}/nothing`)).status, 404)
})

test('1000 WebSocket clients at once each subscribe and receive one message', async () => {
  const n = 1000
  const clients = []
  for (let i = 0; i < n; i += 100) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => open()))))
  }
  const subs = await Promise.all(clients.map((c, i) => c.subscribe(`load.${i}`)))
  // Each publishes to the next one's subject; PING as flush so every publish is routed.
  clients.forEach((c, i) => c.publish(`load.${(i + 1) % n}`, String(i)))
  await Promise.all(clients.map((c) => c.flush()))
  const got = await Promise.all(subs.map((s) => nextWithin(s, 20000)))
  got.forEach((m, i) => assert.equal(m.string(), String((i + n - 1) % n)))
  await Promise.all(clients.map((c) => c.close()))
  await stillServes()
})

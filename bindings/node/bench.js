#!/usr/bin/env node
'use strict'
// npm run bench: how many messages one Node process receives, next to the C++ subscriber of
// `flume bench` in the same run. One flume-broker; `flume bench` runs its publisher (as fast as
// possible) and its own C++ subscriber; this process subscribes to the same subject, so both
// subscribers get the same stream from the same broker at the same time. Latency is one-way
// (every payload carries the CLOCK_MONOTONIC time it was sent; process.hrtime is the same clock).
//
//   node bench.js [--mode callback|iterator|both] [--duration S] [--warmup S] [--size B]
//                 [--queue N] [--rate MSG_PER_S] [--json]
//
// Needs flume-broker and flume: $FLUME_BIN_DIR (holding both), else the tree's build/release
// (cmake --preset release && cmake --build --preset release --target flume-broker flume-cli).
const { spawn } = require('node:child_process')
const { existsSync, mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const path = require('node:path')
const dgram = require('node:dgram')
const flume = require('.')

function args() {
  const o = { mode: 'both', duration: 5, warmup: 1, size: 128, queue: 65536, rate: 0, json: false }
  const a = process.argv.slice(2)
  for (let i = 0; i < a.length; i++) {
    const k = a[i].replace(/^--/, '')
    if (k === 'json') o.json = true
    else if (k in o) o[k] = k === 'mode' ? a[++i] : Number(a[++i])
    else throw new Error(`bench.js: unknown option ${a[i]}`)
  }
  return o
}

function binaries() {
  const root = path.resolve(__dirname, '../..')
  const dirs = process.env.FLUME_BIN_DIR
    ? [[process.env.FLUME_BIN_DIR, process.env.FLUME_BIN_DIR]]
    : ['release', 'dev-release'].map((p) => [path.join(root, 'build', p, 'broker'), path.join(root, 'build', p, 'tools')])
  for (const [b, t] of dirs) {
    const broker = path.join(b, 'flume-broker')
    const cli = path.join(t, 'flume')
    if (existsSync(broker) && existsSync(cli)) return { broker, cli }
  }
  throw new Error('bench.js: flume-broker and flume not found: set FLUME_BIN_DIR, or build them ' +
    '(cmake --preset release && cmake --build --preset release --target flume-broker flume-cli)')
}

function freePort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function startBroker(bin) {
  const dir = mkdtempSync(path.join(tmpdir(), 'flume-bench-'))
  const port = await freePort()
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--data-dir', dir], { stdio: 'ignore' })
  const url = `flume://127.0.0.1:${port}`
  const ca = path.join(dir, 'cert.pem')
  for (let i = 0; i < 200; i++) {
    if (existsSync(ca)) {
      try {
        const c = await flume.connect(url, { ca, connectTimeout: 500 })
        await c.close()
        return { url, ca, child, dir }
      } catch {}
    }
    await sleep(50)
  }
  child.kill()
  throw new Error('bench.js: flume-broker did not start')
}

// Log-linear latency histogram, as flume bench's: 128 buckets per power of two.
class Histogram {
  constructor() {
    this.counts = new Float64Array(64 * 128)
    this.n = 0
    this.max = 0
  }

  record(ns) {
    if (ns < 1) ns = 1
    const e = Math.floor(Math.log2(ns))
    const sub = Math.floor((ns / 2 ** e - 1) * 128)
    this.counts[e * 128 + sub]++
    this.n++
    if (ns > this.max) this.max = ns
  }

  percentile(f) {
    if (this.n === 0) return 0
    const target = Math.ceil(this.n * f)
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]
      if (seen >= target) {
        const e = Math.floor(i / 128)
        return 2 ** e * (1 + ((i % 128) + 0.5) / 128)
      }
    }
    return this.max
  }
}

async function runOnce(o, bins, broker, mode) {
  const client = await flume.connect(broker.url, { ca: broker.ca })
  const hist = new Histogram()
  let t0 = 0 // the first intended send time seen: the publisher's start
  let measureFrom = 0
  let measureTo = Infinity
  let received = 0
  let measured = 0
  let lastBuffer = null
  let now = 0
  const take = (m) => {
    received++
    const d = m.data
    // One clock read per batch: the messages of one wake-up share one ArrayBuffer.
    if (d.buffer !== lastBuffer) {
      lastBuffer = d.buffer
      now = Number(process.hrtime.bigint())
    }
    const dv = new DataView(d.buffer, d.byteOffset, 8)
    const intended = dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296
    if (t0 === 0) {
      t0 = intended
      measureFrom = t0 + o.warmup * 1e9
      measureTo = measureFrom + o.duration * 1e9
    }
    if (now >= measureFrom && now < measureTo) measured++
    if (intended >= measureFrom && intended < measureTo) hist.record(now - intended)
  }
  let sub
  let loop
  if (mode === 'callback') {
    sub = await client.subscribe('bench.node', { queueLimit: o.queue, callback: (err, m) => { if (m) take(m) } })
  } else {
    sub = await client.subscribe('bench.node', { queueLimit: o.queue })
    loop = (async () => { for await (const m of sub) take(m) })()
  }
  const cliArgs = ['bench', '--server', broker.url, '--ca', broker.ca, '--json', '-q', '--subject', 'bench.node',
    '--duration', String(o.duration), '--warmup', String(o.warmup), '--size', String(o.size), '--queue', String(o.queue)]
  if (o.rate > 0) cliArgs.push('--rate', String(o.rate))
  const cpp = spawn(bins.cli, cliArgs, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  cpp.stdout.on('data', (d) => { out += d })
  const code = await new Promise((resolve) => cpp.on('exit', resolve))
  if (code !== 0) throw new Error(`flume bench exited with ${code}`)
  await sleep(300) // what is still in flight
  const stats = sub.stats()
  sub.unsubscribe()
  if (loop) await loop
  await client.close()
  const c = JSON.parse(out.trim().split('\n').pop())
  const us = (ns) => Math.round(ns / 100) / 10
  return {
    mode,
    node: {
      rate: Math.round(measured / o.duration),
      received,
      latency_us: { p50: us(hist.percentile(0.5)), p90: us(hist.percentile(0.9)), p99: us(hist.percentile(0.99)), p99_9: us(hist.percentile(0.999)), max: us(hist.max) },
      drops: { broker: stats?.droppedByBroker ?? 0, local: stats?.droppedLocally ?? 0 },
    },
    cpp: { rate: Math.round(c.receive.per_subscriber[0]), publish_rate: Math.round(c.publish.rate), latency_us: c.latency_us, drops: c.drops },
  }
}

async function main() {
  const o = args()
  const bins = binaries()
  const broker = await startBroker(bins.broker)
  const results = []
  try {
    const modes = o.mode === 'both' ? ['callback', 'iterator'] : [o.mode]
    for (const mode of modes) results.push(await runOnce(o, bins, broker, mode))
  } finally {
    broker.child.kill('SIGTERM')
    await new Promise((r) => broker.child.on('exit', r))
    rmSync(broker.dir, { recursive: true, force: true })
  }
  if (o.json) {
    console.log(JSON.stringify({ size: o.size, duration_s: o.duration, queue: o.queue, rate_target: o.rate, results }))
    return
  }
  console.log(`${o.size}-byte messages, ${o.duration} s measured after ${o.warmup} s, broker queue ${o.queue}, ` +
    `publisher: flume bench ${o.rate ? `at ${o.rate} msg/s` : 'as fast as possible'}`)
  for (const r of results) {
    const ratio = r.cpp.rate ? (r.node.rate / r.cpp.rate).toFixed(2) : 'n/a'
    console.log(`\n${r.mode}: publisher sent ${r.cpp.publish_rate} msg/s`)
    console.log(`  Node subscriber   ${String(r.node.rate).padStart(9)} msg/s  latency p50 ${r.node.latency_us.p50} µs, p99 ${r.node.latency_us.p99} µs, max ${r.node.latency_us.max} µs; drops broker ${r.node.drops.broker}, local ${r.node.drops.local}`)
    console.log(`  C++ subscriber    ${String(r.cpp.rate).padStart(9)} msg/s  latency p50 ${r.cpp.latency_us.p50} µs, p99 ${r.cpp.latency_us.p99} µs, max ${r.cpp.latency_us.max} µs; drops broker ${r.cpp.drops.broker}, local ${r.cpp.drops.local}`)
    console.log(`  Node / C++        ${ratio}  (target: Node >= 300000 msg/s and >= 0.8x C++)`)
  }
}

main().catch((e) => {
  console.error(e.message)
  process.exit(1)
})

'use strict'
// What the tests share: brokers (embedded, or the flume-broker program), bounded waits.
const { mkdtempSync, rmSync, existsSync } = require('node:fs')
const { tmpdir } = require('node:os')
const path = require('node:path')
const dgram = require('node:dgram')
const { spawn } = require('node:child_process')
const flume = require('..')

const root = path.resolve(__dirname, '../../..')

/** A fresh data directory (its own self-signed certificate), removed by the returned cleanup. */
function tempDir(prefix = 'flume-node-test-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** An embedded broker on 127.0.0.1 with a port of its own; stop() also removes its data. */
async function startBroker(options = {}) {
  const data = tempDir()
  const broker = await flume.Broker.start({ dataDir: data.dir, shutdownGrace: 200, ...options })
  const stop = broker.stop.bind(broker)
  broker.stop = async () => {
    await stop()
    data.remove()
  }
  return broker
}

const opened = new Set()
/** A client of `broker`; closeAll() closes what a failed test left open, so its file can exit. */
async function connectTo(broker, options = {}) {
  const client = await flume.connect(broker.url, { ca: broker.certificatePath, ...options })
  opened.add(client)
  return client
}

async function closeAll() {
  const all = [...opened]
  opened.clear()
  await Promise.allSettled(all.map((c) => c.close()))
}

/** Rejects after `ms` with `what`, so that no await in a test waits forever. */
function within(ms, promise, what = 'operation') {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The next `n` messages of an async iterator, within `ms`. */
async function take(sub, n, ms = 5000) {
  const out = []
  const it = sub[Symbol.asyncIterator]()
  await within(ms, (async () => {
    while (out.length < n) {
      const r = await it.next()
      if (r.done) break
      out.push(r.value)
    }
  })(), `receiving ${n} messages`)
  return out
}

/** A UDP port free on 127.0.0.1 now. */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4')
    s.on('error', reject)
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** The flume-broker program: $FLUME_BROKER_BIN, else one of the tree's builds, else null. */
function brokerBinary() {
  const candidates = [process.env.FLUME_BROKER_BIN,
    ...['release', 'dev-release'].map((p) => path.join(root, 'build', p, 'broker', 'flume-broker'))]
  return candidates.find((p) => p && existsSync(p)) ?? null
}

/** Starts flume-broker on a free port; resolves once it accepts a client. */
async function startBrokerProcess(bin) {
  const data = tempDir()
  const port = await freeUdpPort()
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--data-dir', data.dir],
    { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  const url = `flume://127.0.0.1:${port}`
  const ca = path.join(data.dir, 'cert.pem')
  const deadline = Date.now() + 10000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`flume-broker exited: ${output}`)
    if (existsSync(ca)) {
      try {
        const c = await flume.connect(url, { ca, connectTimeout: 1000 })
        await c.close()
        break
      } catch (e) {
        if (Date.now() > deadline) throw e
      }
    }
    if (Date.now() > deadline) throw new Error(`flume-broker did not start: ${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url, ca, child, output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await within(10000, exited, 'flume-broker exiting')
      data.remove()
    },
  }
}

module.exports = { flume, root, tempDir, startBroker, connectTo, closeAll, within, take, freeUdpPort,
  brokerBinary, startBrokerProcess }

// Test harness for the WebSocket edge: a real flume-broker with --ws-listen on loopback, the real
// `flume` CLI as the QUIC client, and a raw TCP WebSocket client for bytes no library would send.
import { spawn, execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

export const brokerBin = process.env.FLUME_BROKER_BIN
export const cliBin = process.env.FLUME_CLI_BIN

// Starts a broker on free ports; resolves with its addresses once it printed them.
// `wsPort` 0: any free port.
export async function startBroker(extraArgs = [], { wsPort = 0 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'flume-ws-test-'))
  const child = spawn(brokerBin, ['--listen', '127.0.0.1:0', '--ws-listen', `127.0.0.1:${wsPort}`,
    '--data-dir', dir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('broker did not start: ' + out)), 15000)
    child.stdout.on('data', (d) => {
      out += d
      const quic = /listening on (\S+) \(QUIC/.exec(out)
      const ws = /WebSocket clients on ws:\/\/(\S+)/.exec(out)
      if (quic && ws) {
        clearTimeout(timer)
        resolve({ quic: quic[1], ws: ws[1] })
      }
    })
    child.stderr.on('data', (d) => (out += d))
    child.on('exit', (code) => reject(new Error(`broker exited (${code}): ${out}`)))
  })
  const addresses = await ready
  return {
    ...addresses,
    dir,
    url: `ws://${addresses.ws}/`,
    port: Number(addresses.ws.split(':').pop()),
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

// Runs the QUIC CLI against the broker.
export function cli(broker, args, options = {}) {
  return promisify(execFile)(cliBin, [...args, '--server', `flume://${broker.quic}`, '--ca',
    path.join(broker.dir, 'cert.pem'), '--quiet'], { timeout: 15000, ...options })
}

export function spawnCli(broker, args) {
  return spawn(cliBin, [...args, '--server', `flume://${broker.quic}`, '--ca',
    path.join(broker.dir, 'cert.pem')], { stdio: ['ignore', 'pipe', 'pipe'] })
}

// A raw WebSocket client: sends the request head, then whatever bytes the test builds.
export function rawConnect(port, headers = {}) {
  const all = {
    Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': 'flume.v1', ...headers,
  }
  const head = 'GET / HTTP/1.1\r\n' + Object.entries(all).filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n'
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let data = Buffer.alloc(0)
    let ended = false
    socket.on('data', (d) => (data = Buffer.concat([data, d])))
    socket.on('end', () => (ended = true))
    socket.on('close', () => (ended = true))
    socket.on('error', () => (ended = true))
    socket.on('connect', () => {
      socket.write(head)
      resolve({
        socket,
        received: () => data,
        ended: () => ended,
        // Waits until `predicate(data)` or the connection ended, at most `ms`.
        async until(predicate, ms = 5000) {
          const start = Date.now()
          while (!predicate(data) && !ended && Date.now() - start < ms) {
            await new Promise((r) => setTimeout(r, 10))
          }
          return data
        },
      })
    })
    socket.on('error', reject)
  })
}

// A client frame (masked unless told otherwise).
export function frame(opcode, payload, { fin = true, masked = true } = {}) {
  const p = Buffer.from(payload)
  const header = [(fin ? 0x80 : 0) | opcode]
  const m = masked ? 0x80 : 0
  if (p.length < 126) header.push(m | p.length)
  else if (p.length < 65536) header.push(m | 126, p.length >> 8, p.length & 0xff)
  else header.push(m | 127, 0, 0, 0, 0, (p.length >>> 24) & 0xff, (p.length >> 16) & 0xff, (p.length >> 8) & 0xff, p.length & 0xff)
  const mask = Buffer.from([1, 2, 3, 4])
  const body = masked ? Buffer.from(p.map((b, i) => b ^ mask[i % 4])) : p
  return Buffer.concat([Buffer.from(header), masked ? mask : Buffer.alloc(0), body])
}

// The close code in the server's bytes after the 101, or null.
export function closeCodeIn(data) {
  const text = data.toString('latin1')
  let at = text.indexOf('\r\n\r\n')
  if (at < 0) return null
  at += 4
  while (at + 2 <= data.length) {
    const opcode = data[at] & 0x0f
    let length = data[at + 1] & 0x7f
    let header = 2
    if (length === 126) { length = data.readUInt16BE(at + 2); header = 4 }
    else if (length === 127) { length = Number(data.readBigUInt64BE(at + 2)); header = 10 }
    if (at + header + length > data.length) return null
    if (opcode === 0x8) return length >= 2 ? data.readUInt16BE(at + header) : 1005
    at += header + length
  }
  return null
}

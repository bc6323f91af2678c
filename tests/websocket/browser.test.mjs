// The demo page in a real Chromium (Debian's, driven by playwright-core): it loads the browser
// client from the broker, connects over WebSocket, and exchanges messages with a QUIC client.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { cli, spawnCli, startBroker } from './harness.mjs'

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
const skip = chromiumPath ? false : 'Chromium is not installed (Debian package chromium)'

let broker, browser, page
before(async () => {
  if (skip) return
  const { chromium } = await import('playwright-core')
  broker = await startBroker()
  // --no-sandbox: the tests may run as root (containers), where Chromium's sandbox cannot start.
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] })
  page = await browser.newPage()
  await page.goto(`http://${broker.ws}/`)
  await page.waitForFunction(() => window.flumeClient !== undefined, null, { timeout: 15000 })
})
after(async () => {
  await browser?.close()
  await broker?.stop()
})

test('the page receives what a QUIC client publishes', { skip }, async () => {
  await page.evaluate(async () => {
    window.received = []
    const sub = await window.flumeClient.subscribe('browser.in')
    ;(async () => {
      for await (const m of sub) window.received.push(m.subject + ' ' + m.string())
    })()
  })
  await cli(broker, ['pub', 'browser.in', 'from quic'])
  await page.waitForFunction(() => window.received.length > 0, null, { timeout: 10000 })
  assert.deepEqual(await page.evaluate(() => window.received), ['browser.in from quic'])
})

test('a QUIC client receives what the page publishes, through the page buttons', { skip }, async () => {
  const sub = spawnCli(broker, ['sub', 'browser.out', '--count', '1', '--timeout', '10000'])
  let out = ''
  sub.stdout.on('data', (d) => (out += d))
  const exited = new Promise((r) => sub.on('exit', r))
  await page.fill('#subject', 'browser.out')
  await page.fill('#payload', 'from chromium')
  for (let i = 0; i < 100 && sub.exitCode === null && !out; i++) {
    await page.click('#publish')
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(await exited, 0)
  // The demo page sends "<sent at ms>|<text>" so it can show latency.
  assert.match(out.split('\n')[0], /^\d+\|from chromium$/)
})

test('the page shows its own messages in the log, with latency', { skip }, async () => {
  await page.fill('#pattern', 'browser.demo')
  await page.click('#subscribe')
  await page.waitForFunction(() => document.getElementById('log').textContent.includes('subscribed'))
  await page.fill('#subject', 'browser.demo')
  await page.fill('#payload', 'round trip')
  await page.click('#publish')
  await page.waitForFunction(() => document.getElementById('log').textContent.includes('round trip'), null, { timeout: 10000 })
  assert.match(await page.textContent('#log'), /browser\.demo: round trip {2}\(\d+ ms\)/)
})

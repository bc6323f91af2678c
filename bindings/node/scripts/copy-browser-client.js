// Copies the browser client's single-file build (lib/browser/flume.mjs, from
// src/browser/flume.mts) to where flume-broker embeds it and serves it at /flume.js.
// `--check` only says whether the copy is current (tests/websocket runs it).
'use strict'
const fs = require('fs')
const path = require('path')

const built = path.join(__dirname, '..', 'lib', 'browser', 'flume.mjs')
const embedded = path.join(__dirname, '..', '..', '..', 'core', 'websocket', 'assets', 'flume.js')
const text = fs.readFileSync(built, 'utf8')
if (process.argv.includes('--check')) {
  const current = fs.existsSync(embedded) && fs.readFileSync(embedded, 'utf8') === text
  if (!current) {
    console.error(`${embedded} is not the build of src/browser/flume.mts: run npm run build:browser`)
    process.exit(1)
  }
} else {
  fs.writeFileSync(embedded, text)
}

'use strict'
// The shared codec vectors (tests/vectors/frames.json) through the C ABI from JavaScript: the
// same bytes the C++, C and Python tests check, decoded whole and byte by byte, and re-encoded.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { readFileSync } = require('node:fs')
const path = require('node:path')
const { flume, root } = require('./helpers')

const vectors = JSON.parse(readFileSync(path.join(root, 'tests', 'vectors', 'frames.json'), 'utf8'))
const hex = (s) => Buffer.from(s, 'hex')

test('the vector file has entries', () => {
  assert.ok(vectors.frames.length >= 10)
  assert.ok(vectors.malformed.length >= 10)
})

for (const v of vectors.frames) {
  test(`valid: ${v.name}`, () => {
    const bytes = hex(v.hex)
    for (const chunk of [0, 1]) {
      const r = flume.codec.decodeFrames(bytes, v.max_payload, chunk)
      assert.equal(r.error, undefined, `chunk ${chunk}: ${r.error}`)
      assert.equal(r.frames.length, 1)
      const f = r.frames[0]
      assert.equal(f.type, v.type)
      assert.equal(f.typeName, v.type_name)
      assert.deepEqual(Buffer.from(f.subjectBytes), hex(v.subject_hex))
      assert.deepEqual(Buffer.from(f.payload), hex(v.payload_hex))
      assert.equal(r.consumed, bytes.length)
    }
    const encoded = flume.codec.encodeFrame(v.type, hex(v.subject_hex), hex(v.payload_hex), v.max_payload)
    assert.deepEqual(Buffer.from(encoded), bytes)
  })
}

for (const v of vectors.malformed) {
  test(`malformed: ${v.name} gives ${v.code}`, () => {
    for (const chunk of [0, 1]) {
      const r = flume.codec.decodeFrames(hex(v.hex), v.max_payload, chunk)
      assert.equal(r.error, v.code, `chunk ${chunk}`)
      if (v.error !== 'truncated') assert.equal(r.recoverable, v.recoverable, `chunk ${chunk}`)
    }
  })
}

test('encoding refuses what the codec refuses, with the same codes', () => {
  assert.throws(() => flume.codec.encodeFrame(8, '', 'x'), { code: 'FLUME_EMISSING_SUBJECT' })
  assert.throws(() => flume.codec.encodeFrame(4, 'a', ''), { code: 'FLUME_EUNEXPECTED_SUBJECT' })
  assert.throws(() => flume.codec.encodeFrame(8, 'a', new Uint8Array(11), 10), flume.PayloadTooLarge)
  assert.throws(() => flume.codec.encodeFrame(6, 'a..b', ''), flume.InvalidPattern)
})

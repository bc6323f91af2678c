'use strict'
// Flume for Node.js: the public API over the native addon (src/, which speaks only flume.h).
// The addon does the C calls, waits on libuv's thread pool and watches file descriptors; this
// file shapes that into promises, async iterators and error classes.

const path = require('node:path')
const { TextDecoder } = require('node:util')

const native = loadAddon()

function loadAddon() {
  const root = path.join(__dirname, '..')
  try {
    return require('node-gyp-build')(root)
  } catch (e) {
    const err = new Error(
      `flume: the native addon is neither prebuilt for ${process.platform}-${process.arch} ` +
        `nor compiled: run \`npm run build\` in ${root} (compiles libflume and the addon, ` +
        `about 3 minutes on 2 cores; see docs/node.md) [${e.message}]`)
    err.code = 'FLUME_ADDON_MISSING'
    throw err
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: one class per family, chosen by capi/error_codes.def (the table Python uses too).

class FlumeError extends Error {
  constructor(message, code = 'FLUME_E?', errno = 0) {
    super(message)
    this.name = new.target.name
    /** The C ABI's error name, "FLUME_ETLS". */
    this.code = code
    /** The negative FLUME_E* number. */
    this.errno = errno
  }
}
class ConnectionError extends FlumeError {}
class TLSError extends ConnectionError {}
class ProtocolError extends FlumeError {}
class FrameError extends ProtocolError {}
class TimeoutError extends FlumeError {}
class InvalidArgument extends FlumeError {}
class InvalidSubject extends InvalidArgument {}
class InvalidPattern extends InvalidArgument {}
class PayloadTooLarge extends InvalidArgument {}
class ClosedError extends FlumeError {}

const errorClasses = {
  FlumeError, ConnectionError, TLSError, ProtocolError, FrameError, TimeoutError,
  InvalidArgument, InvalidSubject, InvalidPattern, PayloadTooLarge, ClosedError,
}
const errorByCode = new Map()
for (const [errno, name, className] of native.errorCodes()) {
  errorByCode.set(errno, [name, errorClasses[className] ?? FlumeError])
}

function makeError(errno, message) {
  const [name, Class] = errorByCode.get(errno) ?? [native.errorName(errno), FlumeError]
  return new Class(message || name, name, errno)
}
native.setErrorFactory(makeError)

const EINVAL = -1
const ECLOSED = -36
function invalid(message) {
  return makeError(EINVAL, message)
}

// ---------------------------------------------------------------------------------------------

const utf8 = new TextDecoder()

/** A received message. `data` is a Uint8Array over memory JavaScript owns (see docs/node.md). */
class Message {
  constructor(subject, data, subscription, sequence) {
    this.subject = subject
    this.data = data
    this.subscription = subscription
    /** Its number in its subscription, 1, 2, 3, ... (a jump of n + 1: n were dropped). */
    this.sequence = sequence
  }

  /** 'message' (a Gap's is 'gap'). */
  get kind() {
    return 'message'
  }

  get subscriptionId() {
    return this.subscription.id
  }

  /** The payload decoded as UTF-8. */
  string() {
    return utf8.decode(this.data)
  }

  /** The payload parsed as JSON. */
  json() {
    return JSON.parse(utf8.decode(this.data))
  }
}

/**
 * Where messages are missing, in their place in the order: only from a subscription made with
 * `{ gaps: true }`. Gaps that wait in libflume together are merged; one already taken can be
 * followed by another (whose sequence is then the first's plus what the first counts).
 */
class Gap {
  constructor(sequence, counts, subscription) {
    /** The sequence of the last message before the gap (0: none). */
    this.sequence = sequence
    /** Messages the broker dropped (its queue for the subscription was full). */
    this.droppedByBroker = counts[0]
    /** Messages dropped here (the local queue was full). */
    this.droppedLocally = counts[1]
    /** The connection was lost and the subscription made again: what was published meanwhile
     * was missed, and how much is unknown. */
    this.resubscribed = counts[2] !== 0
    /** From noticing the lost connection to subscribing again. */
    this.disconnectedMs = counts[3]
    this.subscription = subscription
  }

  get kind() {
    return 'gap'
  }
}

const overflowPolicies = { 'drop-oldest': 1, 'drop-newest': 2, close: 3 }

function checkOptions(options, what) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object') throw invalid(`${what} options must be an object`)
  return options
}

// A queue of messages with O(1) shift.
class Queue {
  constructor() {
    this.items = []
    this.head = 0
  }

  get length() {
    return this.items.length - this.head
  }

  push(m) {
    this.items.push(m)
  }

  shift() {
    const m = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return m
  }

  clear() {
    this.items = []
    this.head = 0
  }
}

const kStart = Symbol('start')
const kReady = Symbol('abort')
const kClientClosing = Symbol('clientClosing')

/**
 * A subscription: an async iterator of messages (or a callback), fed by the addon one batch per
 * wake-up of the event loop. Made by Client.subscribe().
 */
class Subscription {
  #native
  #client
  #queue = new Queue()
  #callback
  #highWater
  #paused = false
  #waiter = null // the pending next() of the iterator: [resolve, reject]
  #ended = false
  #endError = null
  #byUser = false // unsubscribe(), drain() or the client's close(): the end is not an error
  #readyPending = false
  #freed = false
  #finalStats = null
  #id
  #resolveClosed
  #iterating = false
  #draining = false // taking everything libflume holds, past highWaterMark

  constructor(client, nativeSub, pattern, options) {
    this.#client = client
    this.#native = nativeSub
    this.#id = nativeSub.id()
    /** The pattern subscribed to. */
    this.pattern = pattern
    this.#callback = options.callback
    this.#highWater = options.highWaterMark ?? 4096
    /** Resolves once the subscription has ended: with undefined when ended by unsubscribe(),
     * drain() or closing the client, with the error otherwise (nats.js' `closed`). Never
     * rejects. */
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
  }

  /** The subscription's id, as libflume numbers it (0 once it has been freed). */
  get id() {
    return this.#id
  }

  [kStart]() {
    this.#native.start((count, a, b, c, d, e, f) => this.#onBatch(count, a, b, c, d, e, f))
  }

  async [kReady](wait) {
    this.#readyPending = true
    try {
      await wait
    } catch (e) {
      this.#byUser = true
      this.#native.unsubscribe()
      throw e
    } finally {
      this.#readyPending = false
      if (this.#ended) this.#free()
    }
  }

  #onBatch(count, subjects, packed, lengths, big, sequences, gaps) {
    if (count < 0) {
      this.#onEnd(subjects, packed)
      return
    }
    const cb = this.#callback
    let offset = 0
    for (let i = 0; i < count; i++) {
      let m
      if (gaps !== undefined && gaps[i] !== undefined) {
        m = new Gap(sequences[i], gaps[i], this)
      } else {
        const length = lengths[i]
        let data
        if (big !== undefined && big[i] !== undefined) {
          data = new Uint8Array(big[i])
        } else {
          data = new Uint8Array(packed, offset, length)
          offset += length
        }
        m = new Message(subjects[i], data, this, sequences[i])
      }
      if (cb !== undefined) {
        cb(null, m)
      } else {
        this.#queue.push(m)
      }
    }
    if (cb !== undefined) return
    const w = this.#waiter
    if (w !== null && this.#queue.length > 0) {
      this.#waiter = null
      w[0]({ value: this.#queue.shift(), done: false })
    }
    if (!this.#paused && !this.#draining && this.#queue.length >= this.#highWater) {
      // The consumer is behind: stop taking batches. Messages wait in libflume's local queue
      // (localQueueLimit), then in the broker's queue for this subscription (its overflow
      // policy); other subscriptions go on.
      this.#paused = true
      this.#native.pause()
    }
  }

  #onEnd(errno, message) {
    if (this.#ended) return
    this.#ended = true
    if (!this.#byUser) {
      this.#endError = makeError(errno, message)
    }
    this.#free()
    const w = this.#waiter
    if (w !== null && this.#queue.length === 0) {
      this.#waiter = null
      if (this.#endError) w[1](this.#endError)
      else w[0]({ value: undefined, done: true })
    }
    if (this.#callback !== undefined && this.#endError) {
      this.#callback(this.#endError, undefined)
    }
    this.#resolveClosed(this.#endError ?? undefined)
  }

  #free() {
    if (this.#freed || this.#readyPending) return
    this.#freed = true
    try {
      this.#finalStats = this.#native.stats()
    } catch {
      // already freed
    }
    this.#native.close()
  }

  [kClientClosing]() {
    this.#byUser = true
  }

  /** Messages received and not yet taken by the iterator, plus those waiting in libflume. */
  getPending() {
    let queued = 0
    if (!this.#freed) {
      try {
        queued = this.#native.stats().queued
      } catch {}
    }
    return this.#queue.length + queued
  }

  /** libflume's counters for this subscription (the last ones, once it has ended). */
  stats() {
    if (this.#freed) return this.#finalStats
    return this.#native.stats()
  }

  /** Whether the subscription has ended. */
  get isClosed() {
    return this.#ended
  }

  /** Ends the subscription now: the iteration ends, messages not yet taken are dropped. */
  unsubscribe() {
    if (this.#ended) return
    this.#byUser = true
    this.#queue.clear()
    this.#native.unsubscribe()
    // What libflume still holds for us is dropped with the handle: no need to read it through.
    this.#onEnd(0, 'unsubscribed')
  }

  /**
   * Unsubscribes, but hands over what libflume already received first: resolves once all of it
   * is in this subscription's queue (for the iterator, which then ends) or has been given to the
   * callback.
   */
  async drain() {
    if (!this.#ended) {
      this.#byUser = true
      this.#draining = true
      this.#native.unsubscribe()
      if (this.#paused) {
        this.#paused = false
        this.#native.resume()
      }
    }
    await this.closed
  }

  /** Lets the process exit while this subscription is open (like socket.unref()). */
  unref() {
    if (!this.#freed) this.#native.ref(false)
    return this
  }

  ref() {
    if (!this.#freed) this.#native.ref(true)
    return this
  }

  #next() {
    if (this.#queue.length > 0) {
      const m = this.#queue.shift()
      if (this.#paused && !this.#ended && this.#queue.length <= this.#highWater >> 1) {
        this.#paused = false
        this.#native.resume()
      }
      return Promise.resolve({ value: m, done: false })
    }
    if (this.#ended) {
      if (this.#endError) return Promise.reject(this.#endError)
      return Promise.resolve({ value: undefined, done: true })
    }
    if (this.#waiter !== null) {
      return Promise.reject(invalid('next() called again before the previous one settled'))
    }
    if (this.#paused) {
      this.#paused = false
      this.#native.resume()
    }
    return new Promise((resolve, reject) => {
      this.#waiter = [resolve, reject]
    })
  }

  [Symbol.asyncIterator]() {
    if (this.#callback !== undefined) {
      throw invalid('a subscription with a callback cannot be iterated')
    }
    if (this.#iterating) throw invalid('the subscription is already being iterated')
    this.#iterating = true
    return {
      next: () => this.#next(),
      // `break` out of for-await ends the subscription, as nats.js does.
      return: () => {
        this.unsubscribe()
        this.#iterating = false
        return Promise.resolve({ value: undefined, done: true })
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  async [Symbol.asyncDispose]() {
    this.unsubscribe()
    await this.closed
  }
}

function onBacklogDone(err) {
  const client = this[kOwner]
  if (client !== undefined) client._backlogDone(err)
}
const kOwner = Symbol('owner')

/** A connection to a broker. Made by connect(). */
class Client {
  #native
  #url
  #closing = null
  #closedResolve
  #closedPromise
  #subs = new Set()
  #inFlight = new Set() // flushes and subscribes: close() waits for them
  #drainWaiters = []

  constructor(nativeClient, url) {
    this.#native = nativeClient
    this.#url = url
    nativeClient[kOwner] = this
    nativeClient.setDrainCallback(onBacklogDone)
    this.#closedPromise = new Promise((resolve) => {
      this.#closedResolve = resolve
    })
  }

  /** The URL connected to. */
  get url() {
    return this.#url
  }

  /** Whether close() was called. */
  get isClosed() {
    return this.#closing !== null
  }

  /** The broker's payload limit in bytes. */
  get maxPayload() {
    this.#check()
    return this.#native.maxPayload()
  }

  #check() {
    if (this.#closing !== null) throw makeError(ECLOSED, 'the client is closed')
  }

  /**
   * Publishes `data` (Uint8Array, Buffer, ArrayBuffer, DataView or string, sent as UTF-8) to
   * `subject`. Never waits: returns true when libflume took the message, false when libflume
   * already holds maxPendingBytes and the message waits in this client's backlog (sent in order
   * as the network takes the rest; `await client.drained()` before publishing more). Throws a
   * FlumeError for a bad subject or payload, a closed client, a lost connection, or a full
   * backlog (FLUME_EAGAIN).
   */
  publish(subject, data) {
    return this.#native.publish(subject, data)
  }

  /** Resolves once nothing waits in the publish backlog (at once if nothing does). */
  drained() {
    const [count] = this.#native.backlog()
    if (count === 0) return Promise.resolve()
    return new Promise((resolve, reject) => this.#drainWaiters.push([resolve, reject]))
  }

  /** Bytes and messages waiting in the publish backlog. */
  get backlog() {
    const [messages, bytes] = this.#native.backlog()
    return { messages, bytes }
  }

  _backlogDone(err) {
    // A worker that emptied the backlog may report after more was published and another worker
    // started: the waiters then wait for that one.
    if (!err && this.#closing === null && this.#native.backlog()[0] > 0) return
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const [resolve, reject] of waiters) {
      if (err) reject(err)
      else resolve()
    }
  }

  #track(promise) {
    this.#inFlight.add(promise)
    const done = () => this.#inFlight.delete(promise)
    promise.then(done, done)
    return promise
  }

  /**
   * Subscribes to `pattern` and resolves once the broker accepted the subscription (rejects with
   * a ConnectionError when it refused). Options: callback(err, msg) for the fastest path instead
   * of iterating; overflow ('drop-oldest' | 'drop-newest' | 'close'); queueLimit (the broker's
   * queue for it); localQueueLimit; highWaterMark (messages held here before the subscription
   * stops taking more); timeout (ms to wait for the broker's answer); gaps (true: Gap items
   * come in the iteration or the callback where messages were missed).
   */
  async subscribe(pattern, options) {
    this.#check()
    const o = checkOptions(options, 'subscribe')
    if (typeof pattern !== 'string') throw invalid('subscribe(pattern): pattern must be a string')
    if (o.callback !== undefined && typeof o.callback !== 'function') {
      throw invalid('option callback must be a function')
    }
    let overflowPolicy = 0
    if (o.overflow !== undefined) {
      overflowPolicy = overflowPolicies[o.overflow]
      if (overflowPolicy === undefined) {
        throw invalid(`option overflow must be one of ${Object.keys(overflowPolicies).join(', ')}`)
      }
    }
    if (o.highWaterMark !== undefined &&
        (!Number.isInteger(o.highWaterMark) || o.highWaterMark < 1)) {
      throw invalid('option highWaterMark must be a positive integer')
    }
    const nativeSub = this.#native.subscribe(pattern, {
      overflowPolicy,
      queueLimit: o.queueLimit,
      localQueueLimit: o.localQueueLimit,
      gaps: o.gaps,
    })
    const sub = new Subscription(this, nativeSub, pattern, o)
    this.#subs.add(sub)
    sub.closed.then(() => this.#subs.delete(sub))
    sub[kStart]()
    await this.#track(sub[kReady](nativeSub.waitReady(o.timeout ?? 5000)))
    return sub
  }

  /** A round trip to the broker: resolves once it has processed everything sent before. */
  flush(timeout = 5000) {
    this.#check()
    return this.#track(this.#native.flush(timeout))
  }

  /** libflume's counters for this client. */
  stats() {
    this.#check()
    return this.#native.stats()
  }

  /** Closes the connection; every subscription ends (their iterations finish). */
  close() {
    if (this.#closing === null) {
      for (const sub of this.#subs) sub[kClientClosing]()
      this.#closing = (async () => {
        await Promise.allSettled([...this.#inFlight])
        await this.#native.close()
        // libflume lets each subscription's queue be read through first; here the iterations
        // end now, as after unsubscribe().
        for (const sub of this.#subs) sub.unsubscribe()
        this._backlogDone(makeError(ECLOSED, 'the client was closed'))
        this.#closedResolve(undefined)
      })()
    }
    return this.#closing
  }

  /** Drains every subscription (delivering what was received), then closes. */
  async drain() {
    this.#check()
    await Promise.all([...this.#subs].map((s) => s.drain()))
    await this.flush().catch(() => {})
    await this.close()
  }

  /** Resolves once the client is closed (nats.js' closed()). */
  closed() {
    return this.#closedPromise
  }

  /** Lets the process exit while this client is open (its subscriptions still hold it). */
  unref() {
    this.#native.ref(false)
    return this
  }

  ref() {
    this.#native.ref(true)
    return this
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }
}

/**
 * Connects to a broker and resolves once it accepted the client. `url`: "flume://host:port",
 * "host:port" or "host" (port 7337). Options (times in milliseconds): ca, pinSha256, insecure,
 * serverName, name, token, connectTimeout, reconnect, reconnectMin, reconnectMax,
 * maxPendingBytes, maxBacklogBytes, publishTimeout, keepAlive (null: none).
 */
async function connect(url = 'flume://127.0.0.1:7337', options) {
  if (typeof url !== 'string') throw invalid('connect(url): url must be a string')
  const o = checkOptions(options, 'connect')
  const nativeClient = await native.connect(url, o)
  return new Client(nativeClient, url)
}

/** A broker inside this process, on its own thread. Made by Broker.start(). */
class Broker {
  #native
  #info
  #stopping = null

  constructor(nativeBroker) {
    this.#native = nativeBroker
    this.#info = nativeBroker.info()
  }

  /**
   * Starts a broker. Options: listen ("127.0.0.1:0", the default, picks a free port), certFile
   * and keyFile, dataDir (where a self-signed certificate is made), maxPayload, maxConnections,
   * maxSubscriptions, queueLimit, maxPendingBytes, shutdownGrace (ms), maxMemoryBytes.
   */
  static async start(options) {
    const o = checkOptions(options, 'Broker.start')
    return new Broker(await native.startBroker(o))
  }

  get port() {
    return this.#info.port
  }

  /** "127.0.0.1:40001". */
  get address() {
    return this.#info.address
  }

  /** What a client connects to: "flume://127.0.0.1:40001". */
  get url() {
    const a = this.#info.address
    const local = a.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')
    return `flume://${local}`
  }

  /** The certificate it presents: clients trust it with `{ ca: broker.certificatePath }`. */
  get certificatePath() {
    return this.#info.certificatePath
  }

  /** Its certificate's SHA-256 fingerprint: clients may pin it with `{ pinSha256 }`. */
  get fingerprint() {
    return this.#info.fingerprint
  }

  /** The broker's counters. */
  stats() {
    if (this.#stopping !== null) return Promise.reject(makeError(ECLOSED, 'the broker is stopped'))
    return this.#native.stats()
  }

  /** Stops the broker gracefully (its clients see their connection end). */
  stop() {
    if (this.#stopping === null) this.#stopping = this.#native.stop()
    return this.#stopping
  }

  unref() {
    this.#native.ref(false)
    return this
  }

  ref() {
    this.#native.ref(true)
    return this
  }

  async [Symbol.asyncDispose]() {
    await this.stop()
  }
}

function validateSubject(subject) {
  if (typeof subject !== 'string') throw invalid('subject must be a string')
  native.validateSubject(subject)
}

function validatePattern(pattern) {
  if (typeof pattern !== 'string') throw invalid('pattern must be a string')
  native.validatePattern(pattern)
}

function patternMatches(pattern, subject) {
  return native.patternMatches(pattern, subject)
}

/** The wire codec, for tests and tools: the C ABI's encoder and decoder. */
const codec = {
  encodeFrame: (type, subject, payload, maxPayload = 0) =>
    native.encodeFrame(type, subject, payload, maxPayload),
  decodeFrames: (bytes, maxPayload = 0, chunk = 0) => native.decodeFrames(bytes, maxPayload, chunk),
}

module.exports = {
  connect,
  Broker,
  Client,
  Subscription,
  Message,
  Gap,
  FlumeError,
  ConnectionError,
  TLSError,
  ProtocolError,
  FrameError,
  TimeoutError,
  InvalidArgument,
  InvalidSubject,
  InvalidPattern,
  PayloadTooLarge,
  ClosedError,
  validateSubject,
  validatePattern,
  patternMatches,
  codec,
  /** libflume's version ("1.1.0") and the version its header had when the addon was built. */
  version: native.version,
  versionNumber: native.versionNumber,
  maxSubjectLength: native.maxSubjectLength,
}

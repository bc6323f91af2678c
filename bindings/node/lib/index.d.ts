// Types of the `flume` package (lib/index.js), written by hand. Times are milliseconds.

/** What publish() takes: bytes as they are, a string as UTF-8. */
export type Payload = Uint8Array | ArrayBuffer | DataView | string

export interface ConnectOptions {
  /** PEM file with the CA or the broker's self-signed certificate. */
  ca?: string
  /** The broker certificate's SHA-256 fingerprint, "AB:CD:..." (Broker.fingerprint). */
  pinSha256?: string
  /** No certificate verification at all. */
  insecure?: boolean
  /** The name the certificate must carry (default: the URL's host). */
  serverName?: string
  /** Sent to the broker in HELLO (default "flume-node"). */
  name?: string
  /** Sent to the broker in HELLO for authentication. */
  token?: string | Uint8Array
  /** The handshake and HELLO (default 5000; -1: no limit). */
  connectTimeout?: number
  /** Reconnect and resubscribe after a lost connection (default true). */
  reconnect?: boolean
  reconnectMin?: number
  reconnectMax?: number
  /** Bytes of published messages libflume holds for the network (default 8 MiB). */
  maxPendingBytes?: number
  /** Bytes the publish backlog holds on top of that before publish() throws (default: maxPendingBytes). */
  maxBacklogBytes?: number
  /** How long the backlog waits for room before failing (default 5000; -1: no limit). */
  publishTimeout?: number
  /** A QUIC PING after this long without sending (default 1000; null: none). */
  keepAlive?: number | null
}

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'close'

export interface SubscribeOptions {
  /** Receive each message in this callback (the fastest path) instead of iterating. */
  callback?: (err: FlumeError | null, msg: Message | undefined) => void
  /** Gap items where messages were missed, in their place among the messages (default false):
   * see subscribe()'s overload with `gaps: true`. */
  gaps?: boolean
  /** What the broker does when its queue for this subscription is full (default 'drop-oldest'). */
  overflow?: OverflowPolicy
  /** Messages the broker queues for this subscription (default: the broker's). */
  queueLimit?: number
  /** Messages libflume holds for this process before dropping (default 65536). */
  localQueueLimit?: number
  /** Messages held in JavaScript, not yet iterated, before the subscription stops taking more (default 4096). */
  highWaterMark?: number
  /** How long to wait for the broker's answer (default 5000). */
  timeout?: number
}

export interface ClientStats {
  messagesOut: number
  bytesOut: number
  messagesIn: number
  bytesIn: number
  droppedByBroker: number
  reconnects: number
  publishErrors: number
  publishesUnsent: number
  connected: boolean
}

export interface SubscriptionStats {
  received: number
  droppedByBroker: number
  droppedLocally: number
  queued: number
  queuedHighWater: number
  queueLimit: number
  state: 'pending' | 'active' | 'ended'
  /** Times the subscription was made again on a new connection after one was lost. */
  resubscribed: number
  /** The sequence of the last message received (0: none yet). */
  lastSequence: number
}

export interface BrokerOptions {
  /** "host:port" (default "127.0.0.1:0": a free port). */
  listen?: string
  certFile?: string
  keyFile?: string
  /** Where a self-signed certificate is made when none is given. */
  dataDir?: string
  maxPayload?: number
  maxConnections?: number
  maxSubscriptions?: number
  queueLimit?: number
  maxPendingBytes?: number
  /** How long stop() lets clients go on their own (default 2000). */
  shutdownGrace?: number
  maxMemoryBytes?: number
}

export interface BrokerStats {
  connections: number
  subscriptions: number
  messagesIn: number
  bytesIn: number
  messagesOut: number
  bytesOut: number
  messagesUnmatched: number
  publishesInvalid: number
  droppedOldest: number
  droppedNewest: number
  droppedSlowConsumer: number
  queuedMessages: number
  queuedBytes: number
  memoryBudgetBytes: number
}

export class Message {
  private constructor()
  /** The subject it was published to. */
  readonly subject: string
  /** The payload, in memory JavaScript owns. */
  readonly data: Uint8Array
  /** The subscription it came through. */
  readonly subscription: Subscription
  readonly subscriptionId: number
  /** Its number in its subscription: 1, 2, 3, ..., counting what was dropped on the way (a jump
   * of n + 1: n dropped), continued after a resubscription. A number, exact up to 2^53. */
  readonly sequence: number
  readonly kind: 'message'
  /** The payload decoded as UTF-8. */
  string(): string
  /** The payload parsed as JSON. */
  json<T = unknown>(): T
}

/** Where messages are missing, in their place in the order; only with `subscribe(p, { gaps: true })`.
 * Gaps waiting together are merged; one already taken can be followed by another. */
export class Gap {
  private constructor()
  readonly kind: 'gap'
  /** The sequence of the last message before it (0: none). */
  readonly sequence: number
  /** Messages the broker dropped (its queue for the subscription was full). */
  readonly droppedByBroker: number
  /** Messages dropped here (the local queue was full). */
  readonly droppedLocally: number
  /** The connection was lost and the subscription made again: what was published meanwhile
   * was missed, and how much is unknown. */
  readonly resubscribed: boolean
  /** From noticing the lost connection to subscribing again. */
  readonly disconnectedMs: number
  readonly subscription: Subscription<Message | Gap>
}

/** A subscription yields Message items, and Gap items too when made with `{ gaps: true }`. */
export class Subscription<T extends Message | Gap = Message> implements AsyncIterable<T>, AsyncDisposable {
  private constructor()
  readonly pattern: string
  readonly id: number
  readonly isClosed: boolean
  /** Resolves once the subscription ended: undefined when ended by unsubscribe(), drain() or
   * closing the client, the error otherwise. Never rejects. */
  readonly closed: Promise<void | FlumeError>
  /** Ends it now; messages not yet taken are dropped and the iteration ends. */
  unsubscribe(): void
  /** Unsubscribes; resolves once what libflume had received is handed over (queued or called back). */
  drain(): Promise<void>
  getPending(): number
  stats(): SubscriptionStats | null
  unref(): this
  ref(): this
  [Symbol.asyncIterator](): AsyncIterator<T>
  [Symbol.asyncDispose](): Promise<void>
}

export class Client implements AsyncDisposable {
  private constructor()
  readonly url: string
  readonly isClosed: boolean
  /** The broker's payload limit in bytes. */
  readonly maxPayload: number
  /** What waits in the publish backlog. */
  readonly backlog: { messages: number; bytes: number }
  /** true: libflume took the message; false: it waits in the backlog (await drained()). Never blocks. */
  publish(subject: string, data?: Payload): boolean
  /** Resolves once the publish backlog is empty. */
  drained(): Promise<void>
  subscribe(
    pattern: string,
    options: Omit<SubscribeOptions, 'gaps' | 'callback'> & {
      gaps: true
      callback?: (err: FlumeError | null, item: Message | Gap | undefined) => void
    },
  ): Promise<Subscription<Message | Gap>>
  subscribe(pattern: string, options?: SubscribeOptions & { gaps?: false }): Promise<Subscription>
  /** A round trip: resolves once the broker processed everything sent before. */
  flush(timeout?: number): Promise<void>
  stats(): ClientStats
  close(): Promise<void>
  /** Drains every subscription, then closes. */
  drain(): Promise<void>
  closed(): Promise<void>
  unref(): this
  ref(): this
  [Symbol.asyncDispose](): Promise<void>
}

export function connect(url?: string, options?: ConnectOptions): Promise<Client>

export class Broker implements AsyncDisposable {
  private constructor()
  static start(options?: BrokerOptions): Promise<Broker>
  readonly port: number
  readonly address: string
  /** "flume://127.0.0.1:PORT": what clients connect to. */
  readonly url: string
  readonly certificatePath: string
  readonly fingerprint: string
  stats(): Promise<BrokerStats>
  stop(): Promise<void>
  unref(): this
  ref(): this
  [Symbol.asyncDispose](): Promise<void>
}

/** Every error Flume throws or rejects with. */
export class FlumeError extends Error {
  constructor(message?: string, code?: string, errno?: number)
  /** The C ABI's error name: "FLUME_ETLS", "FLUME_EINVALID_SUBJECT", ... */
  readonly code: string
  /** The negative FLUME_E* number. */
  readonly errno: number
}
export class ConnectionError extends FlumeError {}
export class TLSError extends ConnectionError {}
export class ProtocolError extends FlumeError {}
export class FrameError extends ProtocolError {}
export class TimeoutError extends FlumeError {}
export class InvalidArgument extends FlumeError {}
export class InvalidSubject extends InvalidArgument {}
export class InvalidPattern extends InvalidArgument {}
export class PayloadTooLarge extends InvalidArgument {}
export class ClosedError extends FlumeError {}

export function validateSubject(subject: string): void
export function validatePattern(pattern: string): void
export function patternMatches(pattern: string, subject: string): boolean

export interface Frame {
  type: number
  typeName: string
  subject: string
  subjectBytes: Uint8Array
  payload: Uint8Array
}

export const codec: {
  encodeFrame(type: number, subject: Payload, payload?: Payload, maxPayload?: number): Uint8Array
  decodeFrames(
    bytes: Payload,
    maxPayload?: number,
    chunk?: number,
  ): { frames: Frame[]; consumed: number; error?: string; recoverable?: boolean }
}

export const version: string
export const versionNumber: number
export const maxSubjectLength: number

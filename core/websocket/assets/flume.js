// Flume in the browser: the client side of the WebSocket transport (docs/protocol.md 19), with
// the same API shape as the Node binding (connect, publish, subscribe as an async iterator,
// close). No runtime dependencies; an ES module. Reconnects with back-off and makes every live
// subscription again on the new connection.
//
// Outside a browser pass the WebSocket class in options.WebSocket (for example the `ws` package).
export class FlumeError extends Error {
    code;
    constructor(message, code) {
        super(message);
        this.code = code;
        this.name = 'FlumeError';
    }
}
const enc = new TextEncoder();
const dec = new TextDecoder();
// Frame types (docs/protocol.md 3.2) and property ids (5.2).
const HELLO = 0x01, OK = 0x02, ERROR = 0x03, PING = 0x04, PONG = 0x05, SUBSCRIBE = 0x06;
const UNSUBSCRIBE = 0x07, PUBLISH = 0x08, MESSAGE = 0x09, SUBSCRIPTION = 0x0a, DROPPED = 0x0b;
const P_REQUEST_ID = 0x01, P_VERSION = 0x02, P_CLIENT_NAME = 0x03, P_CLIENT_LIBRARY = 0x04;
const P_TOKEN = 0x05, P_SUBSCRIPTION_ID = 0x06, P_OVERFLOW = 0x07, P_QUEUE_LIMIT = 0x08;
const P_ERROR_CODE = 0x09, P_ERROR_MESSAGE = 0x0a, P_MAX_PAYLOAD = 0x0c;
// Stream ops (19.2).
const OP_DATA = 0x00, OP_DATA_FIN = 0x01, OP_RESET = 0x02, OP_STOP = 0x03;
function bytesOf(data) {
    if (typeof data === 'string')
        return enc.encode(data);
    return data instanceof Uint8Array ? data : new Uint8Array(data);
}
function u32(value) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value);
    return b;
}
function readUint(b) {
    let v = 0;
    for (const x of b)
        v = v * 256 + x;
    return v;
}
function encodeProps(props) {
    const size = props.reduce((n, [, v]) => n + 3 + v.length, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const [id, value] of props) {
        out[at] = id;
        out[at + 1] = value.length >> 8;
        out[at + 2] = value.length & 0xff;
        out.set(value, at + 3);
        at += 3 + value.length;
    }
    return out;
}
function decodeProps(payload) {
    const props = new Map();
    let at = 0;
    while (at + 3 <= payload.length) {
        const length = (payload[at + 1] << 8) | payload[at + 2];
        props.set(payload[at], payload.subarray(at + 3, at + 3 + length));
        at += 3 + length;
    }
    return props;
}
function encodeFrame(type, subject, payload) {
    const s = enc.encode(subject);
    const out = new Uint8Array(6 + s.length + payload.length);
    out[0] = type;
    out[1] = s.length;
    new DataView(out.buffer).setUint32(2, payload.length);
    out.set(s, 6);
    out.set(payload, 6 + s.length);
    return out;
}
function varint(value) {
    if (value < 64)
        return Uint8Array.of(value);
    if (value < 16384)
        return Uint8Array.of(0x40 | (value >> 8), value & 0xff);
    const b = u32(value);
    b[0] |= 0x80;
    return b;
}
// One WebSocket message: stream id, op, rest (19.2).
function streamMessage(streamId, op, rest) {
    const id = varint(streamId);
    const out = new Uint8Array(id.length + 1 + rest.length);
    out.set(id, 0);
    out[id.length] = op;
    out.set(rest, id.length + 1);
    return out;
}
function readVarint(b, at) {
    const length = 1 << (b[at] >> 6);
    let v = b[at] & 0x3f;
    for (let i = 1; i < length; i++)
        v = v * 256 + b[at + i];
    return [v, at + length];
}
// Reassembles the frames of one stream from its DATA messages.
class FrameReader {
    buffer = new Uint8Array(0);
    push(bytes) {
        if (this.buffer.length === 0) {
            this.buffer = bytes;
        }
        else {
            const joined = new Uint8Array(this.buffer.length + bytes.length);
            joined.set(this.buffer);
            joined.set(bytes, this.buffer.length);
            this.buffer = joined;
        }
        const frames = [];
        while (this.buffer.length >= 6) {
            const b = this.buffer;
            const subjectLength = b[1];
            const payloadLength = new DataView(b.buffer, b.byteOffset, b.length).getUint32(2);
            const total = 6 + subjectLength + payloadLength;
            if (b.length < total)
                break;
            frames.push({
                type: b[0],
                subject: dec.decode(b.subarray(6, 6 + subjectLength)),
                payload: b.slice(6 + subjectLength, total),
            });
            this.buffer = b.subarray(total);
        }
        return frames;
    }
}
export class Message {
    subject;
    data;
    subscriptionId;
    kind = 'message';
    constructor(subject, data, subscriptionId) {
        this.subject = subject;
        this.data = data;
        this.subscriptionId = subscriptionId;
    }
    string() {
        return dec.decode(this.data);
    }
    json() {
        return JSON.parse(this.string());
    }
}
export class Subscription {
    client;
    pattern;
    id;
    options;
    queue = [];
    waiting = [];
    ended = false;
    resolveClosed;
    /** Resolves when the subscription ends: undefined after unsubscribe(), else the error. */
    closed = new Promise((r) => (this.resolveClosed = r));
    /** Messages the broker reported dropped for this subscription (its queue was full). */
    droppedByBroker = 0;
    constructor(client, pattern, id, options) {
        this.client = client;
        this.pattern = pattern;
        this.id = id;
        this.options = options;
    }
    get isClosed() {
        return this.ended;
    }
    unsubscribe() {
        if (this.ended)
            return;
        this.client._unsubscribe(this);
        this.end();
    }
    /** @internal */
    _deliver(message) {
        if (this.ended)
            return;
        const waiter = this.waiting.shift();
        if (waiter)
            waiter({ value: message, done: false });
        else
            this.queue.push(message);
    }
    /** @internal */
    end(error) {
        if (this.ended)
            return;
        this.ended = true;
        this.resolveClosed(error);
        for (const waiter of this.waiting.splice(0))
            waiter({ value: undefined, done: true });
    }
    [Symbol.asyncIterator]() {
        return {
            next: () => {
                const message = this.queue.shift();
                if (message)
                    return Promise.resolve({ value: message, done: false });
                if (this.ended)
                    return Promise.resolve({ value: undefined, done: true });
                return new Promise((resolve) => this.waiting.push(resolve));
            },
            return: () => {
                this.unsubscribe();
                return Promise.resolve({ value: undefined, done: true });
            },
        };
    }
}
export class Client {
    url;
    options;
    maxPayload = 65536;
    ws = null;
    ready = false;
    closing = false;
    requestId = 1;
    subscriptionId = 1;
    pending = new Map();
    pongs = new Map();
    subscriptions = new Map();
    byStream = new Map();
    control = new FrameReader();
    backlog = [];
    backlogBytes = 0;
    attempt = 0;
    timer = null;
    firstSession = null;
    reconnects = 0;
    constructor(url, options) {
        this.url = url;
        this.options = options;
    }
    get isClosed() {
        return this.closing;
    }
    /** @internal */
    _start() {
        return new Promise((resolve, reject) => {
            this.firstSession = { resolve, reject };
            const timeout = this.options.connectTimeout ?? 10000;
            this.timer = setTimeout(() => {
                this.firstSession = null;
                this.close();
                reject(new FlumeError(`no session with ${this.url} within ${timeout} ms`, 0));
            }, timeout);
            this.open();
        });
    }
    open() {
        const WS = this.options.WebSocket ?? globalThis.WebSocket;
        if (!WS)
            throw new Error('no WebSocket class: pass options.WebSocket');
        const ws = new WS(this.url, 'flume.v1');
        this.ws = ws;
        ws.binaryType = 'arraybuffer';
        this.control = new FrameReader();
        this.byStream.clear();
        ws.onopen = () => this.hello();
        ws.onmessage = (event) => this.onMessage(new Uint8Array(event.data));
        ws.onerror = () => { };
        ws.onclose = (event) => this.onClose(event.code, event.reason);
    }
    hello() {
        const props = [
            [P_REQUEST_ID, u32(0)],
            [P_VERSION, Uint8Array.of(0, 1)],
            [P_CLIENT_LIBRARY, enc.encode('flume-browser/1')],
        ];
        if (this.options.name)
            props.splice(2, 0, [P_CLIENT_NAME, enc.encode(this.options.name)]);
        if (this.options.token)
            props.push([P_TOKEN, bytesOf(this.options.token)]);
        this.sendControl(encodeFrame(HELLO, '', encodeProps(props)));
        this.pending.set(0, {
            resolve: (ok) => this.onSession(ok),
            reject: (error) => this.firstSession?.reject(error),
        });
    }
    onSession(ok) {
        this.ready = true;
        this.attempt = 0;
        const max = ok.get(P_MAX_PAYLOAD);
        if (max)
            this.maxPayload = readUint(max);
        // Subscriptions made before a lost connection are made again, with the same ids.
        for (const sub of this.subscriptions.values())
            this.sendSubscribe(sub).catch((e) => sub.end(e));
        for (const frame of this.backlog.splice(0))
            this.sendControl(frame);
        this.backlogBytes = 0;
        if (this.firstSession) {
            if (this.timer)
                clearTimeout(this.timer);
            this.timer = null;
            this.firstSession.resolve();
            this.firstSession = null;
        }
    }
    sendControl(frame) {
        this.ws?.send(streamMessage(0, OP_DATA, frame));
    }
    request(frame, id) {
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            this.sendControl(frame);
        });
    }
    onMessage(message) {
        const [streamId, at] = readVarint(message, 0);
        const op = message[at];
        const rest = message.subarray(at + 1);
        if (streamId === 0) {
            for (const frame of this.control.push(rest))
                this.onControlFrame(frame);
            return;
        }
        let stream = this.byStream.get(streamId);
        if (!stream) {
            stream = { reader: new FrameReader() };
            this.byStream.set(streamId, stream);
        }
        if (op === OP_DATA || op === OP_DATA_FIN) {
            for (const frame of stream.reader.push(rest))
                this.onStreamFrame(streamId, stream, frame);
        }
        if (op !== OP_DATA)
            this.byStream.delete(streamId);
    }
    onControlFrame(frame) {
        if (frame.type === PING) {
            this.sendControl(encodeFrame(PONG, '', frame.payload));
            return;
        }
        if (frame.type === PONG) {
            // PONG echoes the PING's payload: flush() waits for its own.
            const token = dec.decode(frame.payload);
            this.pongs.get(token)?.();
            this.pongs.delete(token);
            return;
        }
        if (frame.type !== OK && frame.type !== ERROR)
            return;
        const props = decodeProps(frame.payload);
        const idBytes = props.get(P_REQUEST_ID);
        const waiter = idBytes ? this.pending.get(readUint(idBytes)) : undefined;
        if (idBytes)
            this.pending.delete(readUint(idBytes));
        if (frame.type === OK) {
            waiter?.resolve(props);
        }
        else {
            const error = errorOf(props);
            if (waiter)
                waiter.reject(error);
            else
                console.warn('flume:', error.message);
        }
    }
    onStreamFrame(streamId, stream, frame) {
        if (frame.type === SUBSCRIPTION) {
            const id = decodeProps(frame.payload).get(P_SUBSCRIPTION_ID);
            stream.sub = id ? this.subscriptions.get(readUint(id)) : undefined;
            // A stream of a subscription no longer held: tell the broker to stop (6.3).
            if (!stream.sub)
                this.ws?.send(streamMessage(streamId, OP_STOP, varint(0)));
            return;
        }
        const sub = stream.sub;
        if (!sub)
            return;
        if (frame.type === MESSAGE) {
            sub._deliver(new Message(frame.subject, frame.payload, sub.id));
        }
        else if (frame.type === DROPPED) {
            sub.droppedByBroker += readUint(decodeProps(frame.payload).get(0x0d) ?? new Uint8Array());
        }
        else if (frame.type === ERROR) {
            this.subscriptions.delete(sub.id);
            sub.end(errorOf(decodeProps(frame.payload)));
        }
    }
    onClose(code, reason) {
        this.ws = null;
        this.ready = false;
        const error = new FlumeError(`connection closed: ${code}${reason ? ' ' + reason : ''}`, code >= 4000 && code < 5000 ? code - 4000 : 0);
        for (const waiter of this.pending.values())
            waiter.reject(error);
        this.pending.clear();
        if (this.closing)
            return;
        const permanent = code === 4008 || code === 4009; // UNSUPPORTED_VERSION, AUTHENTICATION_FAILED
        if (this.options.reconnect === false || permanent) {
            this.closing = true;
            for (const sub of this.subscriptions.values())
                sub.end(error);
            this.subscriptions.clear();
            return;
        }
        const min = this.options.reconnectMin ?? 100;
        const max = this.options.reconnectMax ?? 5000;
        const delay = Math.min(max, min * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
        this.timer = setTimeout(() => {
            this.timer = null;
            if (this.closing)
                return;
            this.reconnects++;
            this.open();
        }, delay);
    }
    /** Publishes `data` to `subject`. False when it cannot: disconnected and the backlog full. */
    publish(subject, data = new Uint8Array()) {
        if (this.closing)
            throw new FlumeError('the client is closed', 0);
        const payload = bytesOf(data);
        if (payload.length > this.maxPayload) {
            throw new FlumeError(`payload of ${payload.length} bytes over the broker's ${this.maxPayload}`, 6);
        }
        const frame = encodeFrame(PUBLISH, subject, payload);
        if (this.ready) {
            this.sendControl(frame);
            return true;
        }
        if (this.backlogBytes + frame.length > (this.options.maxBacklogBytes ?? 1 << 20))
            return false;
        this.backlog.push(frame);
        this.backlogBytes += frame.length;
        return true;
    }
    /** Subscribes to `pattern`; resolves once the broker accepted it. */
    async subscribe(pattern, options = {}) {
        if (this.closing)
            throw new FlumeError('the client is closed', 0);
        const sub = new Subscription(this, pattern, this.subscriptionId++, options);
        this.subscriptions.set(sub.id, sub);
        if (this.ready) {
            try {
                await this.sendSubscribe(sub);
            }
            catch (error) {
                this.subscriptions.delete(sub.id);
                sub.end(error);
                throw error;
            }
        }
        return sub;
    }
    sendSubscribe(sub) {
        const id = this.requestId++;
        const props = [
            [P_REQUEST_ID, u32(id)],
            [P_SUBSCRIPTION_ID, u32(sub.id)],
        ];
        const policy = { 'drop-oldest': 1, 'drop-newest': 2, close: 3 }[sub.options.overflow ?? 'drop-oldest'];
        props.push([P_OVERFLOW, Uint8Array.of(policy)]);
        if (sub.options.queueLimit)
            props.push([P_QUEUE_LIMIT, u32(sub.options.queueLimit)]);
        return this.request(encodeFrame(SUBSCRIBE, sub.pattern, encodeProps(props)), id);
    }
    /** @internal */
    _unsubscribe(sub) {
        this.subscriptions.delete(sub.id);
        if (!this.ready)
            return;
        const id = this.requestId++;
        const frame = encodeFrame(UNSUBSCRIBE, '', encodeProps([
            [P_REQUEST_ID, u32(id)],
            [P_SUBSCRIPTION_ID, u32(sub.id)],
        ]));
        this.request(frame, id).catch(() => { });
    }
    /** Resolves once the broker processed everything sent before on the control stream. */
    flush() {
        if (!this.ready)
            return Promise.reject(new FlumeError('not connected', 0));
        const token = String(this.requestId++);
        return new Promise((resolve) => {
            this.pongs.set(token, resolve);
            this.sendControl(encodeFrame(PING, '', enc.encode(token)));
        });
    }
    /** Ends the session: subscriptions end, nothing more is sent. */
    async close() {
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = null;
        this.closing = true;
        for (const sub of this.subscriptions.values())
            sub.end();
        this.subscriptions.clear();
        const ws = this.ws;
        if (!ws)
            return;
        await new Promise((resolve) => {
            const done = setTimeout(resolve, 2000);
            ws.onclose = () => {
                clearTimeout(done);
                resolve();
            };
            ws.close(1000, 'client closing');
        });
        this.ws = null;
    }
}
function errorOf(props) {
    const code = readUint(props.get(P_ERROR_CODE) ?? new Uint8Array());
    const message = dec.decode(props.get(P_ERROR_MESSAGE) ?? new Uint8Array());
    return new FlumeError(message || `error ${code}`, code);
}
/** Opens a session with the broker at `url` (ws://host:port/); resolves once HELLO is answered. */
export async function connect(url, options = {}) {
    const client = new Client(url, options);
    await client._start();
    return client;
}

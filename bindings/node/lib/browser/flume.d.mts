export type Payload = Uint8Array | ArrayBuffer | string;
export interface ConnectOptions {
    /** Name of the application, for the broker's logs. */
    name?: string;
    /** HELLO's token (docs/protocol.md 18), passed through as is. */
    token?: string | Uint8Array;
    /** Reconnect and resubscribe after a lost connection (default true). */
    reconnect?: boolean;
    /** Back-off between attempts, doubling from reconnectMin to reconnectMax ms (100, 5000). */
    reconnectMin?: number;
    reconnectMax?: number;
    /** How long connect() waits for the first session, in ms (default 10000). */
    connectTimeout?: number;
    /** Bytes publish() holds while disconnected before it returns false (default 1 MiB). */
    maxBacklogBytes?: number;
    /** The WebSocket class; default globalThis.WebSocket. */
    WebSocket?: WebSocketClass;
}
export interface SubscribeOptions {
    overflow?: 'drop-oldest' | 'drop-newest' | 'close';
    queueLimit?: number;
}
interface WebSocketLike {
    binaryType: string;
    readyState: number;
    send(data: Uint8Array): void;
    close(code?: number, reason?: string): void;
    onopen: ((event: unknown) => void) | null;
    onclose: ((event: {
        code: number;
        reason: string;
    }) => void) | null;
    onerror: ((event: unknown) => void) | null;
    onmessage: ((event: {
        data: unknown;
    }) => void) | null;
}
export type WebSocketClass = new (url: string, protocols: string | string[]) => WebSocketLike;
export declare class FlumeError extends Error {
    readonly code: number;
    constructor(message: string, code: number);
}
export declare class Message {
    readonly subject: string;
    readonly data: Uint8Array;
    readonly subscriptionId: number;
    readonly kind = "message";
    constructor(subject: string, data: Uint8Array, subscriptionId: number);
    string(): string;
    json<T = unknown>(): T;
}
export declare class Subscription implements AsyncIterable<Message> {
    private readonly client;
    readonly pattern: string;
    readonly id: number;
    readonly options: SubscribeOptions;
    private queue;
    private waiting;
    private ended;
    private resolveClosed;
    /** Resolves when the subscription ends: undefined after unsubscribe(), else the error. */
    readonly closed: Promise<void | FlumeError>;
    /** Messages the broker reported dropped for this subscription (its queue was full). */
    droppedByBroker: number;
    constructor(client: Client, pattern: string, id: number, options: SubscribeOptions);
    get isClosed(): boolean;
    unsubscribe(): void;
    /** @internal */
    _deliver(message: Message): void;
    /** @internal */
    end(error?: FlumeError): void;
    [Symbol.asyncIterator](): AsyncIterator<Message>;
}
export declare class Client {
    readonly url: string;
    private readonly options;
    maxPayload: number;
    private ws;
    private ready;
    private closing;
    private requestId;
    private subscriptionId;
    private pending;
    private pongs;
    private subscriptions;
    private byStream;
    private control;
    private backlog;
    private backlogBytes;
    private attempt;
    private timer;
    private firstSession;
    reconnects: number;
    constructor(url: string, options: ConnectOptions);
    get isClosed(): boolean;
    /** @internal */
    _start(): Promise<void>;
    private open;
    private hello;
    private onSession;
    private sendControl;
    private request;
    private onMessage;
    private onControlFrame;
    private onStreamFrame;
    private onClose;
    /** Publishes `data` to `subject`. False when it cannot: disconnected and the backlog full. */
    publish(subject: string, data?: Payload): boolean;
    /** Subscribes to `pattern`; resolves once the broker accepted it. */
    subscribe(pattern: string, options?: SubscribeOptions): Promise<Subscription>;
    private sendSubscribe;
    /** @internal */
    _unsubscribe(sub: Subscription): void;
    /** Resolves once the broker processed everything sent before on the control stream. */
    flush(): Promise<void>;
    /** Ends the session: subscriptions end, nothing more is sent. */
    close(): Promise<void>;
}
/** Opens a session with the broker at `url` (ws://host:port/); resolves once HELLO is answered. */
export declare function connect(url: string, options?: ConnectOptions): Promise<Client>;
export {};

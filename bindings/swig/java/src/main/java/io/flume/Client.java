package io.flume;

import io.flume.internal.NativeClient;
import java.time.Duration;

/**
 * One connection to a broker, with its own loop thread in libflume; it reconnects after a lost
 * connection (unless told not to) and subscribes again to everything. Any number of threads may
 * use it at once. {@link #close()} waits for calls in progress on other threads, ends every
 * subscription (a thread blocked in {@link Subscription#next} wakes with {@code ECLOSED}) and
 * frees the connection; calls after it throw {@code ECLOSED}.
 */
public final class Client implements AutoCloseable {
  private final NativeClient handle;

  Client(String url, ClientOptions o) {
    io.flume.internal.ClientOptions n = new io.flume.internal.ClientOptions();
    n.setClientName(o.clientName);
    n.setServerName(o.serverName);
    n.setCaFile(o.caFile);
    n.setPinSha256(o.pinSha256);
    n.setTokenBytes(o.token);
    n.setInsecure(o.insecure);
    n.setReconnect(o.reconnect);
    n.setConnectTimeoutMs(Timeouts.optionMillis(o.connectTimeout, "connectTimeout"));
    n.setPublishTimeoutMs(o.publishTimeout != null && o.publishTimeout.isZero()
        ? Timeouts.NO_WAIT : Timeouts.optionMillis(o.publishTimeout, "publishTimeout"));
    n.setKeepAliveMs(Timeouts.optionMillis(o.keepAlive, "keepAlive"));
    n.setMaxPendingBytes(o.maxPendingBytes);
    try {
      handle = new NativeClient(url, n);
    } finally {
      n.delete();
    }
  }

  /**
   * Publishes {@code data} to {@code subject}: copies both into the client's send queue and
   * returns without waiting for the network (unless the queue is full: then it waits up to the
   * publish timeout and throws {@code ETIMEDOUT}). Throws {@code EINVALID_SUBJECT},
   * {@code EPAYLOAD_TOO_LARGE}, {@code ENOTCONN} while reconnecting, {@code ECLOSED}.
   */
  public void publish(String subject, byte[] data) {
    handle.publish(Utf8.bytes(subject, "subject"), data == null ? new byte[0] : data);
  }

  /**
   * Waits until the broker has processed everything this client published and subscribed
   * before the call: {@code ETIMEDOUT}, {@code ENOTCONN} (what was not processed is lost).
   */
  public void flush(Duration timeout) {
    handle.flush(Timeouts.toMillis(timeout));
  }

  /** Subscribes with the default options. */
  public Subscription subscribe(String pattern) {
    return subscribe(pattern, new SubscriptionOptions());
  }

  /**
   * Subscribes to {@code pattern} ("orders.*.created", "orders.>"). Returns at once; messages
   * may arrive before the broker's answer, which {@link Subscription#waitReady} waits for.
   * Throws {@code EINVALID_PATTERN}, {@code ECLOSED}.
   */
  public Subscription subscribe(String pattern, SubscriptionOptions options) {
    SubscriptionOptions o = options == null ? new SubscriptionOptions() : options;
    io.flume.internal.SubscriptionOptions n = native_(o);
    try {
      return new Subscription(handle.subscribe(Utf8.bytes(pattern, "pattern"), n), pattern);
    } finally {
      n.delete();
    }
  }

  /**
   * The callback form: {@code handler} receives each message on the client's loop thread (a
   * native thread attached to the JVM for each call), one call at a time for all of this client's
   * handler subscriptions, so a slow handler delays the others; hand long work to an executor.
   * What a handler throws goes to the calling thread's uncaught-exception handler and delivery
   * goes on. It must not close this client nor block in {@link Subscription#next} of it (both
   * would wait for the thread they run on: libflume refuses with {@code EINVAL}). The returned
   * subscription's {@code next} is not for use ({@code EINVAL}); close it to stop the calls.
   */
  public Subscription subscribe(String pattern, SubscriptionOptions options,
      java.util.function.Consumer<Message> handler) {
    if (handler == null) throw new FlumeException(FlumeException.EINVAL, "handler is null");
    SubscriptionOptions o = options == null ? new SubscriptionOptions() : options;
    io.flume.internal.SubscriptionOptions n = native_(o);
    HandlerBridge bridge = new HandlerBridge(handler);
    byte[] bytes = Utf8.bytes(pattern, "pattern");
    // The native subscription owns the bridge from subscribe on (a strong global reference,
    // released by flume.h's drop after the last call). Handed over before the call: once it
    // returns, another thread closing the client could already have run drop.
    bridge.swigReleaseOwnership();
    try {
      return new Subscription(handle.subscribeWithHandler(bytes, n, bridge), pattern);
    } catch (RuntimeException e) {
      bridge.swigTakeOwnership(); // refused: neither call nor drop will ever run
      throw e;
    } finally {
      n.delete();
    }
  }

  /** Runs the user's handler for the native director; never lets a Throwable into native code. */
  private static final class HandlerBridge extends io.flume.internal.MessageHandler {
    private final java.util.function.Consumer<Message> handler;

    HandlerBridge(java.util.function.Consumer<Message> handler) {
      this.handler = handler;
    }

    @Override
    public void onMessage(io.flume.internal.NativeMessage message) {
      try {
        handler.accept(Message.of(message));
      } catch (Throwable t) {
        Thread current = Thread.currentThread();
        try {
          current.getUncaughtExceptionHandler().uncaughtException(current, t);
        } catch (Throwable ignored) {
          // Nothing more can be done on a native thread.
        }
      }
    }
  }

  private static io.flume.internal.SubscriptionOptions native_(SubscriptionOptions o) {
    io.flume.internal.SubscriptionOptions n = new io.flume.internal.SubscriptionOptions();
    n.setOverflowPolicy(o.overflow.code);
    n.setQueueLimit(o.queueLimit);
    n.setLocalQueueLimit(o.localQueueLimit);
    n.setReportGaps(o.reportGaps);
    return n;
  }

  /** The broker's payload limit in bytes, as it announced it (0 once closed). */
  public long maxPayload() {
    return handle.maxPayload();
  }

  /** Whether the client is connected now (false while reconnecting). */
  public boolean isConnected() {
    io.flume.internal.ClientStats s = handle.stats();
    try {
      return s.getConnected();
    } finally {
      s.delete();
    }
  }

  /**
   * Closes the connection; idempotent. The small native object behind this one stays until the
   * garbage collector takes it, so that a call racing close() on another thread meets a closed
   * handle (ECLOSED), never freed memory.
   */
  @Override
  public void close() {
    handle.close();
  }
}
